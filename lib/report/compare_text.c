/*
 * report/compare_text.c - a comparison as the text a terminal shows:
 *
 *   compare: basic (base.jsonl) -> basic (cand.jsonl)
 *   ...
 *   target 'alpha': 40 pairs
 *   metric  pairs  baseline  candidate   diff  95% CI          p       MDE
 * verdict pass       40     92.5%      67.5%  -25.0  [-38.8, -12.5] 0.0020  7.0
 * regressed
 *
 *   newly failing (10):
 *     de
 *   ...
 *   verdict: FAIL (1 metric regressed)
 *
 * Rates, means and differences are shown in percent (scores lie in [0, 1]);
 * differences, intervals and the MDE are in percentage points. At most 50
 * transitions of each kind are listed; the API gives them all. Plain text
 * only, through the public accessors; numbers are formatted without the
 * locale (the library never calls setlocale).
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LISTED_TRANSITIONS 50

enum { N_COLUMNS = 9, CELL = 64, MAX_ROWS = 2 + ASSAY__MAX_METRICS + 1 };

static const char *const headings[N_COLUMNS] = {
    "metric", "pairs", "baseline", "candidate", "diff",
    "CI",     "p",     "MDE",      "verdict",
};

static void percent(char *cell, double v)
{
    if (isnan(v))
        snprintf(cell, CELL, "-");
    else
        snprintf(cell, CELL, "%.1f%%", 100 * v);
}

static void points(char *cell, double v, bool sign)
{
    if (isnan(v))
        snprintf(cell, CELL, "-");
    else
        snprintf(cell, CELL, sign ? "%+.1f" : "%.1f", 100 * v);
}

static void p_value(char *cell, double p)
{
    if (isnan(p))
        snprintf(cell, CELL, "-");
    else if (p < 0.0001)
        snprintf(cell, CELL, "<0.0001");
    else
        snprintf(cell, CELL, "%.4f", p);
}

static void fill_metric(char cells[N_COLUMNS][CELL], const assay_compare *c,
                        size_t i, size_t m)
{
    snprintf(cells[0], CELL, "%s", assay_compare_metric_name(c, i, m));
    snprintf(cells[1], CELL, "%.0f",
             assay_compare_metric_stat(c, i, m, ASSAY_DIFF_N));
    percent(cells[2], assay_compare_metric_stat(c, i, m, ASSAY_DIFF_BASE_MEAN));
    percent(cells[3],
            assay_compare_metric_stat(c, i, m, ASSAY_DIFF_CANDIDATE_MEAN));
    points(cells[4], assay_compare_metric_stat(c, i, m, ASSAY_DIFF_MEAN), true);
    double lo = assay_compare_metric_stat(c, i, m, ASSAY_DIFF_LOW);
    double hi = assay_compare_metric_stat(c, i, m, ASSAY_DIFF_HIGH);
    if (isnan(lo) || isnan(hi))
        snprintf(cells[5], CELL, "-");
    else
        snprintf(cells[5], CELL, "[%+.1f, %+.1f]", 100 * lo, 100 * hi);
    p_value(cells[6], assay_compare_metric_stat(c, i, m, ASSAY_DIFF_P_VALUE));
    points(cells[7], assay_compare_metric_stat(c, i, m, ASSAY_DIFF_MDE), false);
    snprintf(cells[8], CELL, "%s",
             assay_verdict_text(assay_compare_metric_verdict(c, i, m)));
}

static assay_status put_table(assay__buf *b, char (*cells)[N_COLUMNS][CELL],
                              size_t rows)
{
    size_t widths[N_COLUMNS] = {0};
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < N_COLUMNS; k++)
            if (strlen(cells[r][k]) > widths[k])
                widths[k] = strlen(cells[r][k]);
    assay_status st = ASSAY_OK;
    for (size_t r = 0; st == ASSAY_OK && r < rows; r++) {
        for (size_t k = 0; st == ASSAY_OK && k < N_COLUMNS; k++) {
            int w = (int)widths[k];
            bool left = k == 0 || k == N_COLUMNS - 1;
            bool last = k + 1 == N_COLUMNS;
            if (last)
                st = assay__buf_printf(b, "%s", cells[r][k]);
            else if (left)
                st = assay__buf_printf(b, "%-*s  ", w, cells[r][k]);
            else
                st = assay__buf_printf(b, "%*s  ", w, cells[r][k]);
        }
        if (st == ASSAY_OK)
            st = assay__buf_putc(b, '\n');
    }
    return st;
}

/* "target 'a'", "target 'a', prompt 'p'", or "'a' -> 'b'" when they differ. */
static assay_status put_side(assay__buf *b, const assay_compare *c, size_t i,
                             bool candidate)
{
    const char *prompt = assay_compare_prompt(c, i, candidate);
    assay_status st =
        assay__buf_printf(b, "'%s'", assay_compare_target(c, i, candidate));
    if (st == ASSAY_OK && strcmp(prompt, ASSAY__DEFAULT_PROMPT))
        st = assay__buf_printf(b, " prompt '%s'", prompt);
    return st;
}

static assay_status put_heading(assay__buf *b, const assay_compare *c, size_t i)
{
    bool same = !strcmp(assay_compare_target(c, i, false),
                        assay_compare_target(c, i, true)) &&
                !strcmp(assay_compare_prompt(c, i, false),
                        assay_compare_prompt(c, i, true));
    assay_status st = assay__buf_puts(b, "\ntarget ");
    if (st == ASSAY_OK)
        st = put_side(b, c, i, false);
    if (st == ASSAY_OK && !same) {
        st = assay__buf_puts(b, " -> ");
        if (st == ASSAY_OK)
            st = put_side(b, c, i, true);
    }
    if (st == ASSAY_OK)
        st = assay__buf_printf(
            b, ": %ld pairs", assay_compare_stat_of(c, i, ASSAY_COMPARE_PAIRS));
    long base_only = assay_compare_stat_of(c, i, ASSAY_COMPARE_BASE_ONLY);
    long cand_only = assay_compare_stat_of(c, i, ASSAY_COMPARE_CANDIDATE_ONLY);
    if (st == ASSAY_OK && (base_only || cand_only))
        st = assay__buf_printf(b,
                               " (%ld results only in the baseline, %ld only "
                               "in the candidate: not compared)",
                               base_only, cand_only);
    return st == ASSAY_OK ? assay__buf_putc(b, '\n') : st;
}

static const char *outcome_word(assay_outcome o)
{
    return o == ASSAY_OUTCOME_PASS   ? "pass"
           : o == ASSAY_OUTCOME_FAIL ? "fail"
                                     : "error";
}

static assay_status put_transitions(assay__buf *b, const assay_compare *c,
                                    size_t i, bool passing)
{
    long total = assay_compare_stat_of(c, i,
                                       passing ? ASSAY_COMPARE_NEWLY_PASSING
                                               : ASSAY_COMPARE_NEWLY_FAILING);
    assay_status st = assay__buf_printf(
        b, "%s (%ld)%s\n", passing ? "newly passing" : "newly failing", total,
        total ? ":" : "");
    long shown = 0;
    size_t n = assay_compare_transition_count(c, i);
    for (size_t t = 0; st == ASSAY_OK && t < n; t++) {
        int repeat;
        assay_outcome was, now;
        const char *id = assay_compare_transition(c, i, t, &repeat, &was, &now);
        if ((now == ASSAY_OUTCOME_PASS) != passing)
            continue;
        if (shown++ == LISTED_TRANSITIONS) {
            st = assay__buf_printf(b, "  ... and %ld more\n",
                                   total - LISTED_TRANSITIONS);
            break;
        }
        st = assay__buf_printf(b, "  %s", id);
        if (st == ASSAY_OK && repeat)
            st = assay__buf_printf(b, " (repeat %d)", repeat);
        if (st == ASSAY_OK &&
            (was == ASSAY_OUTCOME_ERROR || now == ASSAY_OUTCOME_ERROR))
            st = assay__buf_printf(b, "  [%s -> %s]", outcome_word(was),
                                   outcome_word(now));
        if (st == ASSAY_OK)
            st = assay__buf_putc(b, '\n');
    }
    return st;
}

typedef char row_cells[N_COLUMNS][CELL];

static assay_status put_comparison(assay__buf *b, const assay_compare *c,
                                   size_t i)
{
    row_cells *cells = malloc(MAX_ROWS * sizeof *cells);
    if (!cells)
        return ASSAY_ERR_NOMEM;
    assay_status st = put_heading(b, c, i);
    for (size_t k = 0; k < N_COLUMNS; k++)
        snprintf(cells[0][k], CELL, "%s", headings[k]);
    snprintf(cells[0][5], CELL, "%g%% CI", 100 * (1 - assay_compare_alpha(c)));
    size_t rows = 1;
    size_t n = assay_compare_metric_count(c, i);
    for (size_t m = 0; m < n && rows < MAX_ROWS; m++)
        fill_metric(cells[rows++], c, i, m);
    if (st == ASSAY_OK)
        st = put_table(b, cells, rows);
    free(cells);
    if (st == ASSAY_OK)
        st = put_transitions(b, c, i, false);
    if (st == ASSAY_OK)
        st = put_transitions(b, c, i, true);
    return st;
}

static assay_status put_header(assay__buf *b, const assay_compare *c)
{
    assay_status st;
    if (assay_compare_is_matrix(c))
        st = assay__buf_printf(b,
                               "comparison matrix: %s (each group against "
                               "each earlier one, which plays the baseline)\n",
                               assay_compare_suite(c, false));
    else
        st = assay__buf_printf(b, "compare: %s -> %s\n",
                               assay_compare_suite(c, false),
                               assay_compare_suite(c, true));
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "paired by (case, prompt, repeat); errors "
                                "count as not passed, with score 0\n");
    if (st == ASSAY_OK)
        st = assay__buf_printf(
            b,
            "regression: a significant drop of more than %g points at alpha "
            "%g; bootstrap: %ld resamples, seed %llu\n",
            100 * assay_compare_max_drop(c), assay_compare_alpha(c),
            assay_compare_resamples(c), assay_compare_seed(c));
    long base = assay_compare_unmatched(c, false);
    long cand = assay_compare_unmatched(c, true);
    if (st == ASSAY_OK && (base || cand))
        st = assay__buf_printf(b,
                               "not compared: %ld baseline and %ld candidate "
                               "results in groups the other run lacks\n",
                               base, cand);
    return st;
}

static assay_status put_verdict(assay__buf *b, const assay_compare *c)
{
    if (assay_compare_is_matrix(c))
        return ASSAY_OK;
    long regressed = 0;
    for (size_t i = 0; i < assay_compare_count(c); i++)
        for (size_t m = 0; m < assay_compare_metric_count(c, i); m++)
            regressed += assay_compare_metric_verdict(c, i, m) ==
                         ASSAY_VERDICT_REGRESSED;
    if (!regressed)
        return assay__buf_puts(b, "\nverdict: PASS\n");
    return assay__buf_printf(b, "\nverdict: FAIL (%ld metric%s regressed)\n",
                             regressed, regressed == 1 ? "" : "s");
}

assay_status assay__report_compare_text(const assay_compare *c, FILE *out,
                                        assay_error *err)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    assay_status st = put_header(&b, c);
    for (size_t i = 0; st == ASSAY_OK && i < assay_compare_count(c); i++)
        st = put_comparison(&b, c, i);
    if (st == ASSAY_OK)
        st = put_verdict(&b, c);
    if (st != ASSAY_OK) {
        assay__buf_release(&b);
        return assay__error(err, st, NULL, 0, 0,
                            "cannot format the comparison: %s",
                            assay_strerror(st));
    }
    bool complete = fwrite(b.data, 1, b.len, out) == b.len;
    assay__buf_release(&b);
    if (!complete || fflush(out) != 0)
        return assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                            "cannot write the comparison: %s", strerror(errno));
    return ASSAY_OK;
}
