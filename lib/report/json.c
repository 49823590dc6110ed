/*
 * report/json.c - the summary and the comparison as one JSON document, for
 * programs: every statistic of every group and metric, the gates with what
 * they measured, and each comparison with its metrics and transitions.
 *
 * The schema is docs/report-schema.json (described in docs/reports.md);
 * field names follow the run record's summary line where they overlap.
 * Unknown values (NaN statistics) are null. Per-result rows are not here:
 * they are the record itself, or the CSV report. The document is built as
 * a cJSON tree, whose size is that of the summary and the transitions,
 * not of the record.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define REPORT_FORMAT 1
/* pass@k is listed for k up to this (or up to the samples per case). */
#define MAX_PASS_AT_K 100

static bool add_number(cJSON *obj, const char *key, double v)
{
    cJSON *item = isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
    return item && cJSON_AddItemToObject(obj, key, item);
}

static bool add_string(cJSON *obj, const char *key, const char *v)
{
    return v ? cJSON_AddStringToObject(obj, key, v) != NULL
             : cJSON_AddNullToObject(obj, key) != NULL;
}

typedef assay__stat_field stat_field;

static bool add_stats(cJSON *obj, double (*get)(const void *, assay_stat),
                      const void *ctx, const stat_field *fields,
                      size_t n)
{
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++)
        ok = add_number(obj, fields[i].key, get(ctx, fields[i].stat));
    return ok;
}

/* ------------------------------------------------------------ summary */

typedef struct stat_source {
    const assay_summary *s;
    size_t group;
    size_t metric;
} stat_source;

static double group_stat(const void *ctx, assay_stat stat)
{
    const stat_source *src = ctx;
    return assay_summary_stat(src->s, src->group, stat);
}

static double metric_stat(const void *ctx, assay_stat stat)
{
    const stat_source *src = ctx;
    return assay_summary_metric_stat(src->s, src->group, src->metric, stat);
}


static const stat_field metric_fields[] = {
    {"n", ASSAY_STAT_RESULTS},
    {"passed", ASSAY_STAT_PASSED},
    {"pass_rate", ASSAY_STAT_PASS_RATE},
    {"pass_rate_low", ASSAY_STAT_PASS_RATE_LOW},
    {"pass_rate_high", ASSAY_STAT_PASS_RATE_HIGH},
    {"mean", ASSAY_STAT_SCORE_MEAN},
    {"se", ASSAY_STAT_SCORE_SE},
    {"low", ASSAY_STAT_SCORE_LOW},
    {"high", ASSAY_STAT_SCORE_HIGH},
    {"se_clustered", ASSAY_STAT_SCORE_SE_CLUSTERED},
};

static const stat_field repeat_fields[] = {
    {"cases", ASSAY_STAT_CASES},
    {"samples_per_case", ASSAY_STAT_SAMPLES_PER_CASE},
    {"variance_within", ASSAY_STAT_CASE_VARIANCE_WITHIN},
    {"variance_between", ASSAY_STAT_CASE_VARIANCE_BETWEEN},
    {"se_infinite_repeats", ASSAY_STAT_SCORE_SE_INFINITE_REPEATS},
    {"variance_saved", ASSAY_STAT_REPEAT_VARIANCE_SAVED},
    {"flaky_cases", ASSAY_STAT_FLAKY_CASES},
};

#define COUNT(a) (sizeof(a) / sizeof *(a))

static cJSON *metrics_of(const assay_summary *s, size_t g)
{
    cJSON *list = cJSON_CreateArray();
    size_t n = assay_summary_metric_count(s, g);
    for (size_t m = 0; list && m < n; m++) {
        stat_source src = {s, g, m};
        cJSON *metric = cJSON_CreateObject();
        bool ok =
            metric && cJSON_AddItemToArray(list, metric) &&
            add_string(metric, "name", assay_summary_metric_name(s, g, m)) &&
            add_stats(metric, metric_stat, &src, metric_fields,
                      COUNT(metric_fields));
        if (!ok) {
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

static bool add_pass_at_k(cJSON *repeats, const assay_summary *s, size_t g)
{
    cJSON *list = cJSON_AddArrayToObject(repeats, "pass_at_k");
    for (long k = 1; list && k <= MAX_PASS_AT_K; k++) {
        double v = assay_summary_pass_at_k(s, g, k);
        if (isnan(v))
            break;
        cJSON *item = cJSON_CreateObject();
        if (!item || !cJSON_AddItemToArray(list, item) ||
            !add_number(item, "k", (double)k) || !add_number(item, "value", v))
            return false;
    }
    return list != NULL;
}

static bool add_flaky(cJSON *repeats, const assay_summary *s, size_t g)
{
    cJSON *list = cJSON_AddArrayToObject(repeats, "flaky");
    double n = assay_summary_stat(s, g, ASSAY_STAT_FLAKY_CASES);
    for (size_t i = 0; list && i < (isnan(n) ? 0 : (size_t)n); i++) {
        long passed = 0, samples = 0;
        const char *id = assay_summary_flaky_case(s, g, i, &passed, &samples);
        cJSON *item = cJSON_CreateObject();
        if (!id || !item || !cJSON_AddItemToArray(list, item) ||
            !add_string(item, "case", id) ||
            !add_number(item, "passed", (double)passed) ||
            !add_number(item, "samples", (double)samples))
            return false;
    }
    return list != NULL;
}

/* null without repeats (no per-case state was kept). */
static bool add_repeats(cJSON *group, const assay_summary *s, size_t g)
{
    if (isnan(assay_summary_stat(s, g, ASSAY_STAT_CASES)))
        return cJSON_AddNullToObject(group, "repeats") != NULL;
    cJSON *repeats = cJSON_AddObjectToObject(group, "repeats");
    stat_source src = {s, g, 0};
    return repeats &&
           add_stats(repeats, group_stat, &src, repeat_fields,
                     COUNT(repeat_fields)) &&
           add_pass_at_k(repeats, s, g) && add_flaky(repeats, s, g);
}

static cJSON *group_of(const assay_summary *s, size_t g)
{
    cJSON *group = cJSON_CreateObject();
    stat_source src = {s, g, 0};
    bool ok =
        group &&
        add_string(group, "target", assay_summary_group_target(s, g)) &&
        add_string(group, "prompt", assay_summary_group_prompt(s, g)) &&
        add_stats(group, group_stat, &src, assay__group_fields,
                  assay__n_group_fields);
    cJSON *metrics = ok ? metrics_of(s, g) : NULL;
    ok = metrics && cJSON_AddItemToObject(group, "metrics", metrics);
    if (!ok)
        cJSON_Delete(metrics); /* not attached: the group does not own it */
    if (ok)
        ok = add_repeats(group, s, g);
    if (!ok) {
        cJSON_Delete(group);
        return NULL;
    }
    return group;
}

static const char *gate_kind_name(assay_gate kind)
{
    switch (kind) {
    case ASSAY_GATE_PASS_RATE:
        return "pass_rate";
    case ASSAY_GATE_METRIC:
        return "metric";
    case ASSAY_GATE_ERROR_RATE:
        return "error_rate";
    case ASSAY_GATE_LATENCY_P95:
        return "latency_p95_ms";
    case ASSAY_GATE_COST:
        return "cost";
    case ASSAY_GATE_REGRESSION:
        return "regression";
    }
    return "unknown";
}

static bool add_gates(cJSON *doc, const assay_summary *s)
{
    cJSON *list = cJSON_AddArrayToObject(doc, "gates");
    for (size_t i = 0; list && i < assay_summary_gate_count(s); i++) {
        cJSON *gate = cJSON_CreateObject();
        if (!gate || !cJSON_AddItemToArray(list, gate) ||
            !add_string(gate, "gate", assay_summary_gate_text(s, i)) ||
            !add_string(gate, "kind",
                        gate_kind_name(assay_summary_gate_kind(s, i))) ||
            !add_number(gate, "value", assay_summary_gate_value(s, i)) ||
            !add_number(gate, "limit", assay_summary_gate_limit(s, i)) ||
            !cJSON_AddBoolToObject(gate, "pass",
                                   assay_summary_gate_passed(s, i)))
            return false;
    }
    return list != NULL;
}

static bool add_summary(cJSON *doc, const assay_summary *s)
{
    cJSON *groups = cJSON_AddArrayToObject(doc, "groups");
    for (size_t g = 0; groups && g < assay_summary_group_count(s); g++) {
        cJSON *group = group_of(s, g);
        if (!group || !cJSON_AddItemToArray(groups, group)) {
            cJSON_Delete(group);
            return false;
        }
    }
    return groups && add_gates(doc, s);
}

/* ------------------------------------------------------------ comparison */

static const char *outcome_name(assay_outcome o)
{
    return o == ASSAY_OUTCOME_PASS   ? "pass"
           : o == ASSAY_OUTCOME_FAIL ? "fail"
                                     : "error";
}

static bool add_side(cJSON *cmp_obj, const char *key, const assay_compare *c,
                     size_t i, bool candidate)
{
    cJSON *side = cJSON_AddObjectToObject(cmp_obj, key);
    return side &&
           add_string(side, "target", assay_compare_target(c, i, candidate)) &&
           add_string(side, "prompt", assay_compare_prompt(c, i, candidate));
}

static const struct {
    const char *key;
    assay_diff_stat stat;
} diff_fields[] = {
    {"n", ASSAY_DIFF_N},
    {"baseline_mean", ASSAY_DIFF_BASE_MEAN},
    {"candidate_mean", ASSAY_DIFF_CANDIDATE_MEAN},
    {"diff", ASSAY_DIFF_MEAN},
    {"low", ASSAY_DIFF_LOW},
    {"high", ASSAY_DIFF_HIGH},
    {"p_value", ASSAY_DIFF_P_VALUE},
    {"mde", ASSAY_DIFF_MDE},
};

static bool add_diff_metrics(cJSON *obj, const assay_compare *c, size_t i)
{
    cJSON *list = cJSON_AddArrayToObject(obj, "metrics");
    for (size_t m = 0; list && m < assay_compare_metric_count(c, i); m++) {
        cJSON *metric = cJSON_CreateObject();
        assay_verdict v = assay_compare_metric_verdict(c, i, m);
        bool ok =
            metric && cJSON_AddItemToArray(list, metric) &&
            add_string(metric, "name", assay_compare_metric_name(c, i, m));
        for (size_t f = 0; ok && f < COUNT(diff_fields); f++)
            ok = add_number(
                metric, diff_fields[f].key,
                assay_compare_metric_stat(c, i, m, diff_fields[f].stat));
        if (!ok || !add_string(metric, "verdict", assay_verdict_text(v)) ||
            !cJSON_AddBoolToObject(metric, "regressed",
                                   v == ASSAY_VERDICT_REGRESSED))
            return false;
    }
    return list != NULL;
}

static bool add_transitions(cJSON *obj, const assay_compare *c, size_t i)
{
    cJSON *list = cJSON_AddArrayToObject(obj, "transitions");
    for (size_t t = 0; list && t < assay_compare_transition_count(c, i); t++) {
        int repeat = 0;
        assay_outcome was, now;
        const char *id = assay_compare_transition(c, i, t, &repeat, &was, &now);
        cJSON *item = cJSON_CreateObject();
        if (!id || !item || !cJSON_AddItemToArray(list, item) ||
            !add_string(item, "case", id) ||
            !add_number(item, "repeat", repeat) ||
            !add_string(item, "baseline", outcome_name(was)) ||
            !add_string(item, "candidate", outcome_name(now)))
            return false;
    }
    return list != NULL;
}

static const struct {
    const char *key;
    assay_compare_stat stat;
} pair_fields[] = {
    {"pairs", ASSAY_COMPARE_PAIRS},
    {"baseline_only", ASSAY_COMPARE_BASE_ONLY},
    {"candidate_only", ASSAY_COMPARE_CANDIDATE_ONLY},
    {"newly_failing", ASSAY_COMPARE_NEWLY_FAILING},
    {"newly_passing", ASSAY_COMPARE_NEWLY_PASSING},
};

static bool add_comparison(cJSON *list, const assay_compare *c, size_t i)
{
    cJSON *obj = cJSON_CreateObject();
    bool ok = obj && cJSON_AddItemToArray(list, obj) &&
              add_side(obj, "baseline", c, i, false) &&
              add_side(obj, "candidate", c, i, true);
    for (size_t f = 0; ok && f < COUNT(pair_fields); f++)
        ok = add_number(
            obj, pair_fields[f].key,
            (double)assay_compare_stat_of(c, i, pair_fields[f].stat));
    return ok && add_diff_metrics(obj, c, i) && add_transitions(obj, c, i);
}

static bool add_compare(cJSON *doc, const assay_compare *c)
{
    if (!c)
        return cJSON_AddNullToObject(doc, "comparison") != NULL;
    cJSON *obj = cJSON_AddObjectToObject(doc, "comparison");
    bool ok =
        obj &&
        cJSON_AddBoolToObject(obj, "matrix", assay_compare_is_matrix(c)) &&
        add_string(obj, "baseline_suite", assay_compare_suite(c, false)) &&
        add_string(obj, "candidate_suite", assay_compare_suite(c, true)) &&
        add_number(obj, "max_drop", assay_compare_max_drop(c)) &&
        add_number(obj, "alpha", assay_compare_alpha(c)) &&
        add_number(obj, "resamples", (double)assay_compare_resamples(c)) &&
        add_number(obj, "seed", (double)assay_compare_seed(c)) &&
        add_number(obj, "unmatched_baseline",
                   (double)assay_compare_unmatched(c, false)) &&
        add_number(obj, "unmatched_candidate",
                   (double)assay_compare_unmatched(c, true)) &&
        cJSON_AddBoolToObject(obj, "pass", assay_compare_passed(c));
    cJSON *list = ok ? cJSON_AddArrayToObject(obj, "comparisons") : NULL;
    for (size_t i = 0; list && i < assay_compare_count(c); i++)
        if (!add_comparison(list, c, i))
            return false;
    return list != NULL;
}

/* ------------------------------------------------------------ document */

static cJSON *build(const assay__report_input *in)
{
    const assay_summary *s = in->summary;
    bool pass = (!s || assay_summary_passed(s)) &&
                (!in->compare || assay_compare_passed(in->compare));
    cJSON *doc = cJSON_CreateObject();
    bool ok = doc && cJSON_AddStringToObject(doc, "type", "assay-report") &&
              add_number(doc, "format", REPORT_FORMAT) &&
              add_string(doc, "assay_version", assay_version()) &&
              add_string(doc, "suite",
                         s ? assay_summary_suite_name(s)
                           : assay_compare_suite(in->compare, true)) &&
              add_string(doc, "record", in->record_path) &&
              add_string(doc, "error_policy",
                         s ? assay_summary_error_policy(s) : NULL) &&
              cJSON_AddBoolToObject(doc, "pass", pass);
    if (ok)
        ok = s ? cJSON_AddBoolToObject(doc, "completed",
                                       assay_summary_completed(s)) != NULL
               : cJSON_AddNullToObject(doc, "completed") != NULL;
    if (ok && s)
        ok = add_summary(doc, s);
    else if (ok)
        ok = cJSON_AddArrayToObject(doc, "groups") &&
             cJSON_AddArrayToObject(doc, "gates");
    if (ok)
        ok = add_compare(doc, in->compare);
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

assay_status assay__report_json(const assay__report_input *in, FILE *out,
                                assay_error *err)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    if (!in->summary && !in->compare)
        return assay__report_finish(
            &b, out,
            assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                         "a JSON report needs a summary or a comparison"),
            "JSON", err);
    cJSON *doc = build(in);
    char *text = doc ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    /* Written as it is: the document may pass the buffer's cap. */
    assay_status st = text ? ASSAY_OK : ASSAY_ERR_NOMEM;
    if (text && (fputs(text, out) == EOF || fputc('\n', out) == EOF))
        st = assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                          "cannot write the report: %s", strerror(errno));
    cJSON_free(text);
    return assay__report_finish(&b, out, st, "JSON", err);
}
