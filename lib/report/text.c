/*
 * report/text.c - the summary as the aligned table a terminal shows.
 *
 *   target  results  passed  failed  errors  pass rate [95% CI]   ...
 *   local        40      37       3       0  92.5% [80.1, 97.4]   ...
 *
 * then one line per gate and the verdict. With colour (ASSAY_FORMAT_TEXT_COLOR,
 * chosen by the caller: the library never looks at the terminal or at
 * NO_COLOR), failures are red, errors yellow, passes green; the escape
 * codes wrap padded cells, so the columns stay aligned. Numbers are
 * formatted by hand-picked printf conversions that do not depend on the
 * locale (no thousands grouping, '.' as the decimal point because the
 * library never calls setlocale). As a whole report, a comparison follows
 * the summary.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

enum { N_COLUMNS = 9, CELL = 48 };

#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

enum { COLUMN_FAILED = 3, COLUMN_ERRORS = 4 };

static const char *const headings[N_COLUMNS] = {
    "target",       "results",     "passed",
    "failed",       "errors",      "pass rate [95% CI]",
    "latency mean", "latency p95", "tokens in/out",
};

/* Right-aligned, except the target's name. */
static bool right_aligned(size_t column)
{
    return column != 0;
}

static void format_count(char *cell, double v)
{
    if (isnan(v))
        snprintf(cell, CELL, "-");
    else
        snprintf(cell, CELL, "%.0f", v);
}

static void format_ms(char *cell, double v)
{
    if (isnan(v))
        snprintf(cell, CELL, "-");
    else if (v < 10)
        snprintf(cell, CELL, "%.2f ms", v);
    else
        snprintf(cell, CELL, "%.0f ms", v);
}

static void format_rate(char *cell, const assay_summary *s, size_t g)
{
    double rate = assay_summary_stat(s, g, ASSAY_STAT_PASS_RATE);
    double lo = assay_summary_stat(s, g, ASSAY_STAT_PASS_RATE_LOW);
    double hi = assay_summary_stat(s, g, ASSAY_STAT_PASS_RATE_HIGH);
    if (isnan(rate))
        snprintf(cell, CELL, "-");
    else
        snprintf(cell, CELL, "%.1f%% [%.1f, %.1f]", 100 * rate, 100 * lo,
                 100 * hi);
}

static void fill_row(char cells[N_COLUMNS][CELL], const assay_summary *s,
                     size_t g)
{
    snprintf(cells[0], CELL, "%s", assay_summary_group_target(s, g));
    format_count(cells[1], assay_summary_stat(s, g, ASSAY_STAT_RESULTS));
    format_count(cells[2], assay_summary_stat(s, g, ASSAY_STAT_PASSED));
    format_count(cells[3], assay_summary_stat(s, g, ASSAY_STAT_FAILED));
    format_count(cells[4], assay_summary_stat(s, g, ASSAY_STAT_ERRORS));
    format_rate(cells[5], s, g);
    format_ms(cells[6], assay_summary_stat(s, g, ASSAY_STAT_LATENCY_MEAN_MS));
    format_ms(cells[7], assay_summary_stat(s, g, ASSAY_STAT_LATENCY_P95_MS));
    snprintf(cells[8], CELL, "%.0f/%.0f",
             assay_summary_stat(s, g, ASSAY_STAT_PROMPT_TOKENS),
             assay_summary_stat(s, g, ASSAY_STAT_COMPLETION_TOKENS));
}

/* The colour of a body cell: failures red and errors yellow when not 0. */
static const char *cell_color(size_t column, const char *cell)
{
    bool some = strcmp(cell, "0") && strcmp(cell, "-");
    if (column == COLUMN_FAILED && some)
        return RED;
    if (column == COLUMN_ERRORS && some)
        return YELLOW;
    return NULL;
}

/* `color`: colour the body cells that call for it (never the headings). */
static assay_status put_row(assay__buf *b, char cells[N_COLUMNS][CELL],
                            const size_t *widths, bool color)
{
    assay_status st = ASSAY_OK;
    for (size_t c = 0; st == ASSAY_OK && c < N_COLUMNS; c++) {
        int pad = (int)(widths[c] - strlen(cells[c]));
        bool last = c + 1 == N_COLUMNS;
        const char *on = color ? cell_color(c, cells[c]) : NULL;
        if (right_aligned(c))
            st = assay__buf_printf(b, "%*s%s%s%s%s", pad, "", on ? on : "",
                                   cells[c], on ? RESET : "", last ? "" : "  ");
        else
            st = assay__buf_printf(b, "%s%s%s%*s  ", on ? on : "", cells[c],
                                   on ? RESET : "", pad, "");
    }
    return st == ASSAY_OK ? assay__buf_putc(b, '\n') : st;
}

static assay_status put_table(assay__buf *b, const assay_summary *s, bool color)
{
    size_t n = assay_summary_group_count(s);
    size_t widths[N_COLUMNS];
    char cells[N_COLUMNS][CELL];
    for (size_t c = 0; c < N_COLUMNS; c++)
        widths[c] = strlen(headings[c]);
    for (size_t g = 0; g < n; g++) {
        fill_row(cells, s, g);
        for (size_t c = 0; c < N_COLUMNS; c++)
            if (strlen(cells[c]) > widths[c])
                widths[c] = strlen(cells[c]);
    }
    for (size_t c = 0; c < N_COLUMNS; c++)
        snprintf(cells[c], CELL, "%s", headings[c]);
    assay_status st = put_row(b, cells, widths, false);
    for (size_t g = 0; st == ASSAY_OK && g < n; g++) {
        fill_row(cells, s, g);
        st = put_row(b, cells, widths, color);
    }
    return st;
}

/* "pass"/"FAIL", green or red when `color`. */
static assay_status put_verdict_word(assay__buf *b, bool passed, bool color,
                                     const char *yes, const char *no)
{
    if (!color)
        return assay__buf_puts(b, passed ? yes : no);
    return assay__buf_printf(b, "%s%s%s", passed ? GREEN : BOLD RED,
                             passed ? yes : no, RESET);
}

static assay_status put_gates(assay__buf *b, const assay_summary *s, bool color)
{
    size_t n = assay_summary_gate_count(s);
    assay_status st = ASSAY_OK;
    if (n)
        st = assay__buf_puts(b, "\ngates:\n");
    for (size_t i = 0; st == ASSAY_OK && i < n; i++) {
        st = assay__buf_puts(b, "  ");
        if (st == ASSAY_OK)
            st = put_verdict_word(b, assay_summary_gate_passed(s, i), color,
                                  "pass", "FAIL");
        if (st == ASSAY_OK)
            st = assay__buf_printf(b, "  %s\n", assay_summary_gate_text(s, i));
    }
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "\nverdict: ");
    if (st == ASSAY_OK)
        st =
            put_verdict_word(b, assay_summary_passed(s), color, "PASS", "FAIL");
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "%s\n", n ? "" : " (the suite has no gates)");
    return st;
}

static assay_status write_summary(const assay_summary *s, bool color, FILE *out,
                                  assay_error *err)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    assay_status st =
        assay__buf_printf(&b, "suite: %s\n", assay_summary_suite_name(s));
    if (st == ASSAY_OK)
        st = assay__buf_puts(&b, "errors count as not passed\n\n");
    if (st == ASSAY_OK)
        st = put_table(&b, s, color);
    if (st == ASSAY_OK)
        st = put_gates(&b, s, color);
    if (st != ASSAY_OK) {
        assay__buf_release(&b);
        return assay__error(err, st, NULL, 0, 0, "cannot format the report: %s",
                            assay_strerror(st));
    }
    bool complete = fwrite(b.data, 1, b.len, out) == b.len;
    assay__buf_release(&b);
    if (!complete || fflush(out) != 0)
        return assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                            "cannot write the report: %s", strerror(errno));
    return ASSAY_OK;
}

assay_status assay__report_text(const assay_summary *s, FILE *out,
                                assay_error *err)
{
    return write_summary(s, false, out, err);
}

assay_status assay__report_text_color(const assay_summary *s, FILE *out,
                                      assay_error *err)
{
    return write_summary(s, true, out, err);
}

/* The summary, then the comparison as `assay compare` prints it. */
assay_status assay__report_text_input(const assay__report_input *in, FILE *out,
                                      assay_error *err)
{
    assay_status st = ASSAY_OK;
    if (in->summary)
        st = write_summary(in->summary, in->color, out, err);
    if (st == ASSAY_OK && in->summary && in->compare && fputs("\n", out) == EOF)
        st = assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                          "cannot write the report: %s", strerror(errno));
    if (st == ASSAY_OK && in->compare)
        st = assay__report_compare_text(in->compare, out, err);
    if (st == ASSAY_OK && !in->summary && !in->compare)
        st = assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                          "a text report needs a summary or a comparison");
    return st;
}
