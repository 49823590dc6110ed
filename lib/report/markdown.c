/*
 * report/markdown.c - the report as GitHub-flavoured Markdown, for a
 * pull-request comment or $GITHUB_STEP_SUMMARY.
 *
 * The verdict comes first, then what regressed (the comparison's metrics
 * that regressed and its newly failing cases), then the failed gates, the
 * results per target and prompt, and the first failing results with their
 * reasons. Lists are cut to their first entries (LISTED) with a count of
 * the rest and tables to MAX_GROUPS rows, so the comment stays readable,
 * and well under GitHub's 1 MiB step-summary limit, at 10 targets and
 * 10,000 cases; the HTML report has everything.
 *
 * Escaping: names from the suite (suite, targets, prompts, gate texts)
 * are written mid-line, where only inline syntax matters: \ ` * _ [ ] | ~
 * and $ (GitHub's maths) are backslash-escaped and < > & written as
 * entities, so a name cannot open a link, an image, an HTML tag, a table
 * cell or emphasis. Text from a dataset or a model (case ids, answers,
 * reasons, error messages) goes in code spans, where nothing renders and
 * no @mention notifies, with | escaped (GFM splits table cells on it even
 * in code) and line breaks as spaces.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#define LISTED 20         /* entries of each list */
#define MAX_GROUPS 100    /* rows of the results table */
#define EXCERPT_BYTES 160 /* of an answer or a reason */

/* ------------------------------------------------------------ escaping */

/* Names: plain text that renders as itself. */
static assay_status put_name(assay__buf *b, const char *s)
{
    assay_status st = ASSAY_OK;
    for (const unsigned char *p = (const unsigned char *)s;
         st == ASSAY_OK && *p; p++) {
        if (*p == '<')
            st = assay__buf_puts(b, "&lt;");
        else if (*p == '>')
            st = assay__buf_puts(b, "&gt;");
        else if (*p == '&')
            st = assay__buf_puts(b, "&amp;");
        else if (*p == '\n' || *p == '\r' || *p == '\t')
            st = assay__buf_putc(b, ' ');
        else if (*p < 0x20 || *p == 0x7F)
            continue;
        else if (strchr("\\`*_[]|~$", *p))
            st = assay__buf_printf(b, "\\%c", *p);
        else
            st = assay__buf_putc(b, (char)*p);
    }
    return st;
}

/* The longest run of backticks in s[0..len). */
static size_t longest_backticks(const char *s, size_t len)
{
    size_t longest = 0, run = 0;
    for (size_t i = 0; i < len; i++) {
        run = s[i] == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    return longest;
}

/* Model text in a code span: `text`, cut to `max` bytes. */
static assay_status put_code(assay__buf *b, const char *s, size_t max)
{
    if (!s || !*s)
        return assay__buf_puts(b, "(empty)");
    size_t len = strlen(s);
    size_t take = assay__report_utf8_prefix(s, len, max);
    size_t ticks = longest_backticks(s, take) + 1;
    if (ticks > 16)
        ticks = 16;
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < ticks; i++)
        st = assay__buf_putc(b, '`');
    /* A space on each side keeps a leading or trailing backtick apart. */
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ' ');
    for (size_t i = 0; st == ASSAY_OK && i < take; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '|')
            st = assay__buf_puts(b, "\\|");
        else if (c == '\n' || c == '\r' || c == '\t')
            st = assay__buf_putc(b, ' ');
        else if (c < 0x20 || c == 0x7F)
            continue;
        else if (c == '`' && ticks == 16)
            st = assay__buf_putc(b, '\''); /* a fence that long: give up */
        else
            st = assay__buf_putc(b, (char)c);
    }
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ' ');
    for (size_t i = 0; st == ASSAY_OK && i < ticks; i++)
        st = assay__buf_putc(b, '`');
    if (st == ASSAY_OK && take < len)
        st = assay__buf_puts(b, "...");
    return st;
}

static assay_status put_percent(assay__buf *b, double v)
{
    if (isnan(v))
        return assay__buf_puts(b, "-");
    assay_status st = assay__report_put_fixed(b, 100 * v, 1);
    return st == ASSAY_OK ? assay__buf_putc(b, '%') : st;
}

static assay_status put_number(assay__buf *b, double v, int decimals)
{
    return isnan(v) ? assay__buf_puts(b, "-")
                    : assay__report_put_fixed(b, v, decimals);
}

/* ------------------------------------------------------------ verdict */

static long regressed_metrics(const assay_compare *c)
{
    long n = 0;
    for (size_t i = 0; c && i < assay_compare_count(c); i++)
        for (size_t m = 0; m < assay_compare_metric_count(c, i); m++)
            n += assay_compare_metric_verdict(c, i, m) ==
                 ASSAY_VERDICT_REGRESSED;
    return n;
}

static long failed_gates(const assay_summary *s)
{
    long n = 0;
    for (size_t i = 0; s && i < assay_summary_gate_count(s); i++)
        n += !assay_summary_gate_passed(s, i);
    return n;
}

static double total_of(const assay_summary *s, assay_stat stat)
{
    double sum = 0;
    for (size_t g = 0; s && g < assay_summary_group_count(s); g++) {
        double v = assay_summary_stat(s, g, stat);
        if (!isnan(v))
            sum += v;
    }
    return sum;
}

static assay_status put_verdict(assay__buf *b, const assay__report_input *in)
{
    const assay_summary *s = in->summary;
    long gates = failed_gates(s), regressed = regressed_metrics(in->compare);
    bool pass = !gates && !regressed;
    assay_status st = assay__buf_printf(
        b, "## %s assay: ", pass ? "\xE2\x9C\x85" : "\xE2\x9D\x8C");
    if (st == ASSAY_OK)
        st = put_name(b, s ? assay_summary_suite_name(s)
                           : assay_compare_suite(in->compare, true));
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, " \xE2\x80\x94 %s\n\n**%s**",
                               pass ? "PASS" : "FAIL", pass ? "PASS" : "FAIL");
    if (st == ASSAY_OK && s)
        st = assay__buf_printf(b, ": %ld of %zu gates failed", gates,
                               assay_summary_gate_count(s));
    if (st == ASSAY_OK && in->compare)
        st = assay__buf_printf(b,
                               "%s%ld metric%s regressed against the "
                               "baseline",
                               s ? "; " : ": ", regressed,
                               regressed == 1 ? "" : "s");
    if (st == ASSAY_OK && s)
        st = assay__buf_printf(
            b,
            ". %.0f results, %.0f passed, %.0f failed, "
            "%.0f errors (%s).",
            total_of(s, ASSAY_STAT_RESULTS), total_of(s, ASSAY_STAT_PASSED),
            total_of(s, ASSAY_STAT_FAILED), total_of(s, ASSAY_STAT_ERRORS),
            assay_summary_error_policy(s));
    return st == ASSAY_OK ? assay__buf_puts(b, "\n") : st;
}

/* ------------------------------------------------------------ comparison */

static assay_status put_side(assay__buf *b, const assay_compare *c, size_t i,
                             bool candidate)
{
    const char *prompt = assay_compare_prompt(c, i, candidate);
    assay_status st = put_name(b, assay_compare_target(c, i, candidate));
    if (st == ASSAY_OK && strcmp(prompt, ASSAY__DEFAULT_PROMPT)) {
        st = assay__buf_puts(b, " / ");
        if (st == ASSAY_OK)
            st = put_name(b, prompt);
    }
    return st;
}

static assay_status put_metric_row(assay__buf *b, const assay_compare *c,
                                   size_t i, size_t m)
{
    assay_verdict v = assay_compare_metric_verdict(c, i, m);
    assay_status st = assay__buf_puts(b, "| ");
    if (st == ASSAY_OK)
        st = put_side(b, c, i, true);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " | ");
    if (st == ASSAY_OK)
        st = put_name(b, assay_compare_metric_name(c, i, m));
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " | ");
    if (st == ASSAY_OK)
        st = put_percent(
            b, assay_compare_metric_stat(c, i, m, ASSAY_DIFF_BASE_MEAN));
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " | ");
    if (st == ASSAY_OK)
        st = put_percent(
            b, assay_compare_metric_stat(c, i, m, ASSAY_DIFF_CANDIDATE_MEAN));
    double d = assay_compare_metric_stat(c, i, m, ASSAY_DIFF_MEAN);
    double lo = assay_compare_metric_stat(c, i, m, ASSAY_DIFF_LOW);
    double hi = assay_compare_metric_stat(c, i, m, ASSAY_DIFF_HIGH);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, d > 0 ? " | +" : " | ");
    if (st == ASSAY_OK)
        st = put_number(b, 100 * d, 1);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " [");
    if (st == ASSAY_OK)
        st = put_number(b, 100 * lo, 1);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, ", ");
    if (st == ASSAY_OK)
        st = put_number(b, 100 * hi, 1);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "] | ");
    if (st == ASSAY_OK)
        st = put_number(
            b, assay_compare_metric_stat(c, i, m, ASSAY_DIFF_P_VALUE), 4);
    if (st == ASSAY_OK)
        st = assay__buf_printf(
            b, " | %s%s%s |\n", v == ASSAY_VERDICT_REGRESSED ? "**" : "",
            assay_verdict_text(v), v == ASSAY_VERDICT_REGRESSED ? "**" : "");
    return st;
}

/* Regressed metrics first, then the others; `regressed` picks which. */
static assay_status put_metric_rows(assay__buf *b, const assay_compare *c,
                                    bool regressed)
{
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < assay_compare_count(c); i++)
        for (size_t m = 0;
             st == ASSAY_OK && m < assay_compare_metric_count(c, i); m++)
            if ((assay_compare_metric_verdict(c, i, m) ==
                 ASSAY_VERDICT_REGRESSED) == regressed)
                st = put_metric_row(b, c, i, m);
    return st;
}

static assay_status put_transitions(assay__buf *b, const assay_compare *c,
                                    size_t i, bool passing)
{
    long total = assay_compare_stat_of(c, i,
                                       passing ? ASSAY_COMPARE_NEWLY_PASSING
                                               : ASSAY_COMPARE_NEWLY_FAILING);
    if (!total)
        return ASSAY_OK;
    assay_status st = assay__buf_printf(b, "\n**Newly %s** (",
                                        passing ? "passing" : "failing");
    if (st == ASSAY_OK)
        st = put_side(b, c, i, true);
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, ", %ld): ", total);
    long shown = 0;
    for (size_t t = 0;
         st == ASSAY_OK && t < assay_compare_transition_count(c, i); t++) {
        int repeat;
        assay_outcome was, now;
        const char *id = assay_compare_transition(c, i, t, &repeat, &was, &now);
        if ((now == ASSAY_OUTCOME_PASS) != passing)
            continue;
        if (shown++ == LISTED) {
            st = assay__buf_printf(b, " and %ld more", total - LISTED);
            break;
        }
        st = assay__buf_puts(b, shown > 1 ? ", " : "");
        if (st == ASSAY_OK)
            st = put_code(b, id, EXCERPT_BYTES);
        if (st == ASSAY_OK && repeat)
            st = assay__buf_printf(b, " (repeat %d)", repeat);
        if (st == ASSAY_OK && now == ASSAY_OUTCOME_ERROR)
            st = assay__buf_puts(b, " (error)");
    }
    return st == ASSAY_OK ? assay__buf_putc(b, '\n') : st;
}

static assay_status put_comparison(assay__buf *b, const assay_compare *c)
{
    assay_status st = assay__buf_puts(b, "\n### Comparison\n\n");
    if (st == ASSAY_OK)
        st = assay__buf_printf(
            b,
            "A regression is a significant drop of more than %g points at "
            "alpha %g; paired by (case, prompt, repeat).\n\n",
            100 * assay_compare_max_drop(c), assay_compare_alpha(c));
    if (st == ASSAY_OK)
        st = assay__buf_printf(b,
                               "| target | metric | baseline | candidate | "
                               "diff [%g%% CI] | p | verdict |\n"
                               "| --- | --- | ---: | ---: | ---: | ---: | "
                               "--- |\n",
                               100 * (1 - assay_compare_alpha(c)));
    if (st == ASSAY_OK)
        st = put_metric_rows(b, c, true);
    if (st == ASSAY_OK)
        st = put_metric_rows(b, c, false);
    for (size_t i = 0; st == ASSAY_OK && i < assay_compare_count(c); i++)
        st = put_transitions(b, c, i, false);
    for (size_t i = 0; st == ASSAY_OK && i < assay_compare_count(c); i++)
        st = put_transitions(b, c, i, true);
    return st;
}

/* ------------------------------------------------------------ summary */

/* Failed gates first: they are why the verdict is what it is. */
static assay_status put_gates(assay__buf *b, const assay_summary *s)
{
    size_t n = assay_summary_gate_count(s);
    if (!n)
        return assay__buf_puts(b, "\nThe suite has no gates.\n");
    assay_status st = assay__buf_puts(b, "\n### Gates\n\n");
    for (int pass = 0; st == ASSAY_OK && pass < 2; pass++)
        for (size_t i = 0; st == ASSAY_OK && i < n; i++) {
            if (assay_summary_gate_passed(s, i) != (bool)pass)
                continue;
            st = assay__buf_puts(b, pass ? "- pass: " : "- **FAIL**: ");
            if (st == ASSAY_OK)
                st = put_name(b, assay_summary_gate_text(s, i));
            if (st == ASSAY_OK && !pass) {
                st = assay__buf_puts(b, " (measured ");
                if (st == ASSAY_OK)
                    st = put_number(b, assay_summary_gate_value(s, i), 4);
                if (st == ASSAY_OK)
                    st = assay__buf_putc(b, ')');
            }
            if (st == ASSAY_OK)
                st = assay__buf_putc(b, '\n');
        }
    return st;
}

static assay_status put_group_row(assay__buf *b, const assay_summary *s,
                                  size_t g)
{
    const char *prompt = assay_summary_group_prompt(s, g);
    assay_status st = assay__buf_puts(b, "| ");
    if (st == ASSAY_OK)
        st = put_name(b, assay_summary_group_target(s, g));
    if (st == ASSAY_OK && strcmp(prompt, ASSAY__DEFAULT_PROMPT)) {
        st = assay__buf_puts(b, " / ");
        if (st == ASSAY_OK)
            st = put_name(b, prompt);
    }
    static const assay_stat counts[] = {ASSAY_STAT_RESULTS, ASSAY_STAT_PASSED,
                                        ASSAY_STAT_FAILED, ASSAY_STAT_ERRORS};
    for (size_t i = 0; st == ASSAY_OK && i < 4; i++) {
        st = assay__buf_puts(b, " | ");
        if (st == ASSAY_OK)
            st = put_number(b, assay_summary_stat(s, g, counts[i]), 0);
    }
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " | ");
    if (st == ASSAY_OK)
        st = put_percent(b, assay_summary_stat(s, g, ASSAY_STAT_PASS_RATE));
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " [");
    if (st == ASSAY_OK)
        st = put_percent(b, assay_summary_stat(s, g, ASSAY_STAT_PASS_RATE_LOW));
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, ", ");
    if (st == ASSAY_OK)
        st =
            put_percent(b, assay_summary_stat(s, g, ASSAY_STAT_PASS_RATE_HIGH));
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "] | ");
    if (st == ASSAY_OK)
        st = put_number(b, assay_summary_stat(s, g, ASSAY_STAT_SCORE_MEAN), 3);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " | ");
    if (st == ASSAY_OK)
        st = put_number(b, assay_summary_stat(s, g, ASSAY_STAT_LATENCY_P95_MS),
                        0);
    return st == ASSAY_OK ? assay__buf_puts(b, " |\n") : st;
}

static assay_status put_results(assay__buf *b, const assay_summary *s)
{
    size_t n = assay_summary_group_count(s);
    assay_status st = assay__buf_puts(
        b, "\n### Results\n\n"
           "| target | results | passed | failed | errors | pass rate "
           "[95% CI] | mean score | p95 latency (ms) |\n"
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t g = 0; st == ASSAY_OK && g < n && g < MAX_GROUPS; g++)
        st = put_group_row(b, s, g);
    if (st == ASSAY_OK && n > MAX_GROUPS)
        st = assay__buf_printf(b,
                               "\n%zu more groups are in the JSON and "
                               "HTML reports.\n",
                               n - MAX_GROUPS);
    return st;
}

/* ------------------------------------------------------------ failures */

typedef struct failures {
    assay__buf *b;
    const assay_summary *s;
    long shown;
    long total;
} failures;

static const char *string_at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The first failed check's "type: reason", or the error. */
static assay_status put_why(assay__buf *b, const assay__report_row *r)
{
    if (r->outcome == ASSAY__OUTCOME_ERROR) {
        assay_status st = assay__buf_printf(b, "error (%s) ", r->error_kind);
        return st == ASSAY_OK ? put_code(b, r->error_message, EXCERPT_BYTES)
                              : st;
    }
    const cJSON *c;
    cJSON_ArrayForEach (c, r->checks) {
        if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(c, "pass")))
            continue;
        const char *type = string_at(c, "type");
        assay_status st = put_name(b, type ? type : "check");
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, ": ");
        return st == ASSAY_OK
                   ? put_code(b, string_at(c, "reason"), EXCERPT_BYTES)
                   : st;
    }
    return assay__buf_puts(b, "score below the case's threshold");
}

static assay_status on_row(void *user, const assay__report_row *r,
                           assay_error *err)
{
    (void)err;
    failures *f = user;
    if (r->outcome == ASSAY__OUTCOME_PASS)
        return ASSAY_OK;
    f->total++;
    if (f->shown == LISTED)
        return ASSAY_OK;
    f->shown++;
    assay__buf *b = f->b;
    assay_status st = assay__buf_puts(b, "| ");
    if (st == ASSAY_OK)
        st = put_code(b, r->case_id, EXCERPT_BYTES);
    if (st == ASSAY_OK && r->repeat)
        st = assay__buf_printf(b, " (repeat %d)", r->repeat);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " | ");
    if (st == ASSAY_OK)
        st = put_name(b, r->target);
    if (st == ASSAY_OK && strcmp(r->prompt, ASSAY__DEFAULT_PROMPT)) {
        st = assay__buf_puts(b, " / ");
        if (st == ASSAY_OK)
            st = put_name(b, r->prompt);
    }
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " | ");
    if (st == ASSAY_OK)
        st = put_why(b, r);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " | ");
    if (st == ASSAY_OK)
        st = r->output ? put_code(b, r->output, EXCERPT_BYTES)
                       : assay__buf_puts(b, "-");
    return st == ASSAY_OK ? assay__buf_puts(b, " |\n") : st;
}

static assay_status put_failures(assay__buf *b, const assay__report_input *in,
                                 assay_error *err)
{
    double failing = total_of(in->summary, ASSAY_STAT_FAILED) +
                     total_of(in->summary, ASSAY_STAT_ERRORS);
    if (!in->record_path || failing == 0)
        return ASSAY_OK;
    assay_status st = assay__buf_printf(
        b,
        "\n### Failing results (the first %.0f of %.0f)\n\n"
        "| case | target | why | answer |\n| --- | --- | --- | --- |\n",
        failing < LISTED ? failing : LISTED, failing);
    failures f = {.b = b, .s = in->summary};
    return st == ASSAY_OK ? assay__report_rows(in->record_path, on_row, &f, err)
                          : st;
}

assay_status assay__report_markdown(const assay__report_input *in, FILE *out,
                                    assay_error *err)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    if (!in->summary && !in->compare)
        return assay__report_finish(
            &b, out,
            assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                         "a Markdown report needs a summary or a comparison"),
            "Markdown", err);
    assay_status st = put_verdict(&b, in);
    if (st == ASSAY_OK && in->compare)
        st = put_comparison(&b, in->compare);
    if (st == ASSAY_OK && in->summary)
        st = put_gates(&b, in->summary);
    if (st == ASSAY_OK && in->summary)
        st = put_results(&b, in->summary);
    if (st == ASSAY_OK && in->summary)
        st = put_failures(&b, in, err);
    if (st == ASSAY_OK)
        st = assay__buf_printf(&b, "\n<sub>assay %s", assay_version());
    if (st == ASSAY_OK && in->record_path) {
        st = assay__buf_puts(&b, ", from ");
        if (st == ASSAY_OK)
            st = put_code(&b, in->record_path, 400);
    }
    if (st == ASSAY_OK)
        st = assay__buf_puts(&b, "</sub>\n");
    return assay__report_finish(&b, out, st, "Markdown", err);
}
