/*
 * report/text.c - the summary as the aligned table a terminal shows.
 *
 *   target  results  passed  failed  errors  pass rate [95% CI]   ...
 *   local        40      37       3       0  92.5% [80.1, 97.4]   ...
 *
 * then one line per gate and the verdict. Plain text only: colour belongs
 * to the CLI. Numbers are formatted by hand-picked printf conversions that
 * do not depend on the locale (no thousands grouping, '.' as the decimal
 * point because the library never calls setlocale).
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

enum { N_COLUMNS = 9, CELL = 48 };

static const char *const headings[N_COLUMNS] = {
    "target",  "results",  "passed",       "failed",     "errors",
    "pass rate [95% CI]", "latency mean", "latency p95", "tokens in/out",
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

static assay_status put_row(assay__buf *b, char cells[N_COLUMNS][CELL],
                            const size_t *widths)
{
    assay_status st = ASSAY_OK;
    for (size_t c = 0; st == ASSAY_OK && c < N_COLUMNS; c++) {
        int w = (int)widths[c];
        bool last = c + 1 == N_COLUMNS;
        if (right_aligned(c))
            st = assay__buf_printf(b, "%*s%s", w, cells[c], last ? "" : "  ");
        else
            st = assay__buf_printf(b, "%-*s  ", w, cells[c]);
    }
    return st == ASSAY_OK ? assay__buf_putc(b, '\n') : st;
}

static assay_status put_table(assay__buf *b, const assay_summary *s)
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
    assay_status st = put_row(b, cells, widths);
    for (size_t g = 0; st == ASSAY_OK && g < n; g++) {
        fill_row(cells, s, g);
        st = put_row(b, cells, widths);
    }
    return st;
}

static assay_status put_gates(assay__buf *b, const assay_summary *s)
{
    size_t n = assay_summary_gate_count(s);
    assay_status st = ASSAY_OK;
    if (n)
        st = assay__buf_puts(b, "\ngates:\n");
    for (size_t i = 0; st == ASSAY_OK && i < n; i++)
        st = assay__buf_printf(b, "  %s  %s\n",
                               assay_summary_gate_passed(s, i) ? "pass"
                                                               : "FAIL",
                               assay_summary_gate_text(s, i));
    if (st == ASSAY_OK)
        st = assay__buf_printf(
            b, "\nverdict: %s%s\n", assay_summary_passed(s) ? "PASS" : "FAIL",
            n ? "" : " (the suite has no gates)");
    return st;
}

assay_status assay__report_text(const assay_summary *s, FILE *out,
                                assay_error *err)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    assay_status st = assay__buf_printf(&b, "suite: %s\n",
                                        assay_summary_suite_name(s));
    if (st == ASSAY_OK)
        st = assay__buf_puts(&b, "errors count as not passed\n\n");
    if (st == ASSAY_OK)
        st = put_table(&b, s);
    if (st == ASSAY_OK)
        st = put_gates(&b, s);
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
