/*
 * report.c - the registry of report formats: adding a format is one file
 * under report/ and one line in the table below.
 */
#include "internal.h"

static const struct {
    assay_format format;
    assay__report_fn write;
} formats[] = {
    {ASSAY_FORMAT_TEXT, assay__report_text},
};

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
    return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                        "unknown report format %d", (int)format);
}

/* Comparisons have their own writers, registered the same way. */
static const struct {
    assay_format format;
    assay__compare_report_fn write;
} compare_formats[] = {
    {ASSAY_FORMAT_TEXT, assay__report_compare_text},
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
    return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                        "no comparison report in format %d", (int)format);
}
