/*
 * report.c - the registry of report formats: adding a format is one file
 * under report/ and one line in a table below. Also the report object
 * (assay_report_*), which holds a record's summary and its path, so that
 * formats with one row per result can stream the record again.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    assay_format format;
    assay__report_fn write;
} formats[] = {
    {ASSAY_FORMAT_TEXT, assay__report_text},
    {ASSAY_FORMAT_TEXT_COLOR, assay__report_text_color},
};

/*
 * Whole reports (assay_report_write): a summary, a comparison and the
 * record's result lines, each format taking the parts it shows. The
 * summary and comparison writers above fall back to this table.
 */
static const struct {
    assay_format format;
    const char *name;
    assay__report_input_fn write;
} report_formats[] = {
    {ASSAY_FORMAT_TEXT, "text", assay__report_text_input},
    {ASSAY_FORMAT_JSON, "json", assay__report_json},
    {ASSAY_FORMAT_JUNIT, "junit", assay__report_junit},
    {ASSAY_FORMAT_MARKDOWN, "markdown", assay__report_markdown},
    {ASSAY_FORMAT_HTML, "html", assay__report_html},
    {ASSAY_FORMAT_CSV, "csv", assay__report_csv},
    {ASSAY_FORMAT_TEXT_COLOR, "text-color", assay__report_text_input},
};

#define N_REPORT_FORMATS (sizeof report_formats / sizeof *report_formats)

static assay_status write_input(assay__report_input *in, assay_format format,
                                FILE *out, assay_error *err)
{
    assay_error_clear(err);
    in->color = format == ASSAY_FORMAT_TEXT_COLOR;
    for (size_t i = 0; i < N_REPORT_FORMATS; i++)
        if (report_formats[i].format == format)
            return report_formats[i].write(in, out, err);
    return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                        "unknown report format %d", (int)format);
}

const char *assay_format_name(assay_format format)
{
    for (size_t i = 0; i < N_REPORT_FORMATS; i++)
        if (report_formats[i].format == format)
            return report_formats[i].name;
    return NULL;
}

assay_status assay_format_parse(const char *name, assay_format *out,
                                assay_error *err)
{
    if (!out || !name)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_format_parse needs a name and a place "
                            "for the format");
    if (!strcmp(name, "md"))
        name = "markdown";
    for (size_t i = 0; i < N_REPORT_FORMATS; i++)
        if (!strcmp(report_formats[i].name, name)) {
            *out = report_formats[i].format;
            return ASSAY_OK;
        }
    return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                        "unknown report format '%s' (text, json, junit, "
                        "markdown, html or csv)",
                        name);
}

assay_status assay_summary_write(const assay_summary *summary,
                                 assay_format format, FILE *out,
                                 assay_error *err)
{
    if (!summary || !out)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_summary_write needs a summary and a file");
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (formats[i].format == format)
            return formats[i].write(summary, out, err);
    assay__report_input in = {.summary = summary};
    return write_input(&in, format, out, err);
}

/* Comparisons have their own writers, registered the same way. */
static const struct {
    assay_format format;
    assay__compare_report_fn write;
} compare_formats[] = {
    {ASSAY_FORMAT_TEXT, assay__report_compare_text},
    {ASSAY_FORMAT_TEXT_COLOR, assay__report_compare_text},
};

assay_status assay_compare_write(const assay_compare *cmp,
                                 assay_format format, FILE *out,
                                 assay_error *err)
{
    if (!cmp || !out)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_compare_write needs a comparison and a "
                            "file");
    for (size_t i = 0; i < sizeof compare_formats / sizeof *compare_formats;
         i++)
        if (compare_formats[i].format == format)
            return compare_formats[i].write(cmp, out, err);
    assay__report_input in = {.compare = cmp};
    return write_input(&in, format, out, err);
}

/* ------------------------------------------------------------ reports */

struct assay_report {
    char *record_path;
    assay_summary *summary;
    const assay_compare *compare;
};

assay_status assay_report_open(const char *record_path, assay_report **out,
                               assay_error *err)
{
    if (!out || !record_path) {
        if (out)
            *out = NULL;
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_report_open needs a record path");
    }
    *out = NULL;
    assay_report *r = calloc(1, sizeof *r);
    if (!r || !(r->record_path = strdup(record_path))) {
        free(r);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory");
    }
    assay_status st = assay_summary_load(record_path, &r->summary, err);
    if (st != ASSAY_OK) {
        assay_report_free(r);
        return st;
    }
    *out = r;
    return ASSAY_OK;
}

void assay_report_free(assay_report *report)
{
    if (!report)
        return;
    assay_summary_free(report->summary);
    free(report->record_path);
    free(report);
}

const assay_summary *assay_report_summary(const assay_report *report)
{
    return report ? report->summary : NULL;
}

void assay_report_set_compare(assay_report *report, const assay_compare *cmp)
{
    if (report)
        report->compare = cmp;
}

assay_status assay_report_write(const assay_report *report,
                                assay_format format, FILE *out,
                                assay_error *err)
{
    if (!report || !out)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_report_write needs a report and a file");
    assay__report_input in = {.summary = report->summary,
                              .compare = report->compare,
                              .record_path = report->record_path};
    return write_input(&in, format, out, err);
}
