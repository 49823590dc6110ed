/*
 * summary.c - the statistics of a run per group, a group being one
 * (target, prompt), and the verdict of its gates.
 *
 * A summary is fed one result at a time, either by a live run or by
 * record.c reading a run record back, so both give the same numbers.
 *
 * Memory. The plain statistics (counts, pass rate, mean score and its
 * standard error, every metric's mean, latency, tokens, cost) are sums kept
 * in constant memory per group, whatever the number of results. Two things
 * need more, and only they allocate as results come:
 *  - clusters (a result's cluster key, or its case when the run has
 *    repeats): per cluster and metric, a count and two sums, for the
 *    clustered standard error;
 *  - repeats: per case, its samples, passes and score sums, for the
 *    per-case variances, pass@k and the flaky cases.
 *
 * Errors. Every rate and mean counts an error as a result that did not pass
 * and scored 0, in the result-level statistics and in every metric of its
 * group, so an endpoint that fails cannot raise a mean by leaving results
 * out.
 *
 * Clustered standard error (Miller 2024, eq. 4): with N values x_i of mean
 * m grouped in clusters c,
 *   SE_clustered = sqrt( sum_c ( sum_{i in c} (x_i - m) )^2 ) / N
 * where a result without a cluster is a cluster of its own; its share is
 * computed from the sums of such results, so they cost no memory.
 *
 * Repeats (Miller 2024, section 3): a case i with K samples of variance
 * s_i^2 has a mean whose variance is Var(x) + E[s^2] / K, so more repeats
 * can remove at most E[s^2] / (K n) of the variance of the overall mean
 * (n cases); that is ASSAY_STAT_REPEAT_VARIANCE_SAVED.
 *
 * It does not read records (record.c), parse gates (gates.c) or compare
 * runs (compare.c).
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The third part of a slot-map key: what the number in the middle is. */
enum { KEY_CLUSTER = 0, KEY_CASE = 1, KEY_CASE_CLUSTER = 2 };

/* The strings of case ids and cluster keys of one summary. */
#define INTERN_MAX_BYTES ((size_t)1 << 30)

typedef struct cluster_sums {
    long n;
    long passed;
    double sum;
} cluster_sums;

typedef struct summary_metric {
    char *name;             /* NULL for the result-level metric */
    assay__moments all;     /* every value */
    assay__moments loose;   /* the values outside any cluster */
    cluster_sums *clusters; /* by the group's cluster index */
    size_t clusters_cap;
} summary_metric;

typedef struct case_sums {
    uint32_t case_id; /* in the summary's intern table */
    long n;           /* samples, errors included */
    long passed;
    double sum; /* errors as 0 */
    double sumsq;
} case_sums;

typedef struct repeat_stats {
    double cases, samples_per_case, within, between, se_infinite, saved;
} repeat_stats;

typedef struct summary_group {
    char *target;
    char *prompt;
    assay__stats stats;
    summary_metric result; /* pass and score of whole results */
    summary_metric *metrics;
    size_t n_metrics;
    long *cluster_errors; /* errors per cluster */
    size_t n_clusters;
    size_t clusters_cap;
    long loose_errors; /* errors outside any cluster */
    case_sums *cases;
    size_t n_cases;
    size_t cases_cap;
    size_t *flaky; /* indexes into cases, sorted by case id */
    size_t n_flaky;
    repeat_stats repeats;
} summary_group;

typedef struct summary_gate {
    char *text;
    bool passed;
    assay_gate kind;
    double value;
    double limit;
} summary_gate;

struct assay_summary {
    char *suite_name;
    summary_group *groups;
    size_t n_groups;
    size_t groups_cap;
    assay__gates gates;
    summary_gate *verdicts;
    size_t n_verdicts;
    int repeats;
    assay__intern *case_ids;
    assay__intern *cluster_keys;
    assay__slotmap *slots; /* (group, id, KEY_*) -> index in the group */
    assay_status failure;  /* the first failure of an add, for finish */
};

/* ------------------------------------------------------------ groups */

static void release_metric(summary_metric *m)
{
    free(m->name);
    free(m->clusters);
}

static void release_group(summary_group *g)
{
    free(g->target);
    free(g->prompt);
    release_metric(&g->result);
    for (size_t i = 0; i < g->n_metrics; i++)
        release_metric(&g->metrics[i]);
    free(g->metrics);
    free(g->cluster_errors);
    free(g->cases);
    free(g->flaky);
}

static summary_group *add_group(assay_summary *s, const char *target,
                                const char *prompt)
{
    if (s->n_groups == s->groups_cap) {
        size_t cap = s->groups_cap ? s->groups_cap * 2 : 4;
        summary_group *groups = realloc(s->groups, cap * sizeof *groups);
        if (!groups)
            return NULL;
        s->groups = groups;
        s->groups_cap = cap;
    }
    summary_group *g = &s->groups[s->n_groups];
    memset(g, 0, sizeof *g);
    assay__stats_init(&g->stats);
    g->target = strdup(target);
    g->prompt = strdup(prompt ? prompt : ASSAY__DEFAULT_PROMPT);
    if (!g->target || !g->prompt) {
        release_group(g);
        return NULL;
    }
    s->n_groups++;
    return g;
}

assay_summary *
assay__summary_new_groups(const char *suite_name, const char *const *targets,
                          size_t n_targets, const char *const *prompts,
                          size_t n_prompts, const assay__gates *gates)
{
    assay_summary *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->gates = *gates;
    s->repeats = 1;
    s->suite_name = strdup(suite_name);
    bool ok = s->suite_name != NULL;
    for (size_t t = 0; ok && t < n_targets; t++)
        for (size_t p = 0; ok && p < (n_prompts ? n_prompts : 1); p++)
            ok =
                add_group(s, targets[t], n_prompts ? prompts[p] : NULL) != NULL;
    if (!ok) {
        assay_summary_free(s);
        return NULL;
    }
    return s;
}

assay_summary *assay__summary_new(const char *suite_name,
                                  const char *const *targets, size_t n,
                                  const assay__gates *gates)
{
    return assay__summary_new_groups(suite_name, targets, n, NULL, 0, gates);
}

void assay__summary_set_repeat(assay_summary *s, int repeats)
{
    s->repeats = repeats > 1 ? repeats : 1;
}

static void free_verdicts(assay_summary *s)
{
    for (size_t i = 0; i < s->n_verdicts; i++)
        free(s->verdicts[i].text);
    free(s->verdicts);
    s->verdicts = NULL;
    s->n_verdicts = 0;
}

void assay_summary_free(assay_summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_groups; i++)
        release_group(&s->groups[i]);
    free(s->groups);
    free_verdicts(s);
    assay__intern_free(s->case_ids);
    assay__intern_free(s->cluster_keys);
    assay__slotmap_free(s->slots);
    free(s->suite_name);
    free(s);
}

long assay__summary_group_of(const assay_summary *s, const char *target,
                             const char *prompt)
{
    if (!prompt)
        prompt = ASSAY__DEFAULT_PROMPT;
    for (size_t i = 0; i < s->n_groups; i++)
        if (!strcmp(s->groups[i].target, target) &&
            !strcmp(s->groups[i].prompt, prompt))
            return (long)i;
    return -1;
}

long assay__summary_group(const assay_summary *s, const char *target)
{
    return assay__summary_group_of(s, target, NULL);
}

static bool known_target(const assay_summary *s, const char *target)
{
    for (size_t i = 0; i < s->n_groups; i++)
        if (!strcmp(s->groups[i].target, target))
            return true;
    return false;
}

/* ------------------------------------------------------------ adding */

static assay_status lazy_tables(assay_summary *s)
{
    if (!s->slots && !(s->slots = assay__slotmap_new()))
        return ASSAY_ERR_NOMEM;
    if (!s->case_ids && !(s->case_ids = assay__intern_new(INTERN_MAX_BYTES)))
        return ASSAY_ERR_NOMEM;
    if (!s->cluster_keys &&
        !(s->cluster_keys = assay__intern_new(INTERN_MAX_BYTES)))
        return ASSAY_ERR_NOMEM;
    return ASSAY_OK;
}

/* Grows an array of `size`-byte items to hold index `need`, zeroing what
   is new. */
static assay_status grow_zeroed(void **array, size_t *cap, size_t need,
                                size_t size)
{
    if (need < *cap)
        return ASSAY_OK;
    size_t n = *cap ? *cap : 16;
    while (n <= need)
        n *= 2;
    char *a = realloc(*array, n * size);
    if (!a)
        return ASSAY_ERR_NOMEM;
    memset(a + *cap * size, 0, (n - *cap) * size);
    *array = a;
    *cap = n;
    return ASSAY_OK;
}

/* The index of the result's cluster in its group, or -1 when it has none. */
static assay_status cluster_of(assay_summary *s, size_t group,
                               const assay__observation *o, long *out)
{
    *out = -1;
    bool by_case = !o->cluster && s->repeats > 1 && o->case_id;
    if (!o->cluster && !by_case)
        return ASSAY_OK;
    assay_status st = lazy_tables(s);
    uint32_t id;
    if (st == ASSAY_OK)
        st = by_case ? assay__intern_id(s->case_ids, o->case_id, &id)
                     : assay__intern_id(s->cluster_keys, o->cluster, &id);
    if (st != ASSAY_OK)
        return st;
    summary_group *g = &s->groups[group];
    uint32_t index = (uint32_t)g->n_clusters;
    bool inserted;
    st = assay__slotmap_put(s->slots, (uint32_t)group, id,
                            by_case ? KEY_CASE_CLUSTER : KEY_CLUSTER, &index,
                            &inserted);
    if (st == ASSAY_OK && inserted) {
        st = grow_zeroed((void **)&g->cluster_errors, &g->clusters_cap,
                         g->n_clusters, sizeof *g->cluster_errors);
        if (st == ASSAY_OK)
            g->n_clusters++;
    }
    *out = (long)index;
    return st;
}

static assay_status metric_add(summary_metric *m, long cluster, bool pass,
                               double value)
{
    assay__moments_add(&m->all, pass, value);
    if (cluster < 0) {
        assay__moments_add(&m->loose, pass, value);
        return ASSAY_OK;
    }
    assay_status st = grow_zeroed((void **)&m->clusters, &m->clusters_cap,
                                  (size_t)cluster, sizeof *m->clusters);
    if (st != ASSAY_OK)
        return st;
    cluster_sums *c = &m->clusters[cluster];
    c->n++;
    c->passed += pass;
    c->sum += value;
    return ASSAY_OK;
}

/* The group's metric of that name, added when new. */
static assay_status named_metric(summary_group *g, const char *name,
                                 summary_metric **out)
{
    for (size_t i = 0; i < g->n_metrics; i++)
        if (!strcmp(g->metrics[i].name, name)) {
            *out = &g->metrics[i];
            return ASSAY_OK;
        }
    if (g->n_metrics >= ASSAY__MAX_METRICS)
        return ASSAY_ERR_LIMIT;
    if (!g->metrics &&
        !(g->metrics = calloc(ASSAY__MAX_METRICS, sizeof *g->metrics)))
        return ASSAY_ERR_NOMEM;
    summary_metric *m = &g->metrics[g->n_metrics];
    if (!(m->name = strdup(name)))
        return ASSAY_ERR_NOMEM;
    g->n_metrics++;
    *out = m;
    return ASSAY_OK;
}

static assay_status add_case(assay_summary *s, size_t group,
                             const assay__observation *o, bool pass,
                             double value)
{
    uint32_t id;
    assay_status st = lazy_tables(s);
    if (st == ASSAY_OK)
        st = assay__intern_id(s->case_ids, o->case_id, &id);
    if (st != ASSAY_OK)
        return st;
    summary_group *g = &s->groups[group];
    uint32_t index = (uint32_t)g->n_cases;
    bool inserted;
    st = assay__slotmap_put(s->slots, (uint32_t)group, id, KEY_CASE, &index,
                            &inserted);
    if (st == ASSAY_OK && inserted) {
        st = grow_zeroed((void **)&g->cases, &g->cases_cap, g->n_cases,
                         sizeof *g->cases);
        if (st == ASSAY_OK)
            g->cases[g->n_cases++].case_id = id;
    }
    if (st != ASSAY_OK)
        return st;
    case_sums *c = &g->cases[index];
    c->n++;
    c->passed += pass;
    c->sum += value;
    c->sumsq += value * value;
    return ASSAY_OK;
}

static assay_status observe_group(assay_summary *s, size_t group,
                                  const assay__observation *o)
{
    summary_group *g = &s->groups[group];
    bool error = o->outcome == ASSAY__OUTCOME_ERROR;
    bool pass = o->outcome == ASSAY__OUTCOME_PASS;
    double score = error || !isfinite(o->score) ? 0.0 : o->score;
    assay__stats_add(&g->stats, o->outcome, o->latency_ms, o->prompt_tokens,
                     o->completion_tokens);
    assay__stats_add_cost(&g->stats, o->cost);
    assay__stats_add_attempts(&g->stats, o->attempts);
    long cluster;
    assay_status st = cluster_of(s, group, o, &cluster);
    if (st != ASSAY_OK)
        return st;
    if (error) {
        if (cluster < 0)
            g->loose_errors++;
        else
            g->cluster_errors[cluster]++;
    } else {
        st = metric_add(&g->result, cluster, pass, score);
        for (size_t i = 0; st == ASSAY_OK && i < o->n_metrics; i++) {
            summary_metric *m;
            double v = o->metrics[i].score;
            st = named_metric(g, o->metrics[i].name, &m);
            if (st == ASSAY_OK)
                st = metric_add(m, cluster, o->metrics[i].pass,
                                isfinite(v) ? v : 0.0);
        }
    }
    if (st == ASSAY_OK && s->repeats > 1 && o->case_id)
        st = add_case(s, group, o, pass, score);
    return st;
}

assay_status assay__summary_observe(assay_summary *s,
                                    const assay__observation *o)
{
    long group = assay__summary_group_of(s, o->target, o->prompt);
    if (group < 0) {
        if (!known_target(s, o->target))
            return ASSAY_ERR_INVALID;
        if (!add_group(s, o->target, o->prompt))
            return ASSAY_ERR_NOMEM;
        group = (long)s->n_groups - 1;
    }
    return observe_group(s, (size_t)group, o);
}

/* Without a score, a pass scores 1 and a failure 0. */
void assay__summary_add(assay_summary *s, size_t group, assay__outcome outcome,
                        double latency_ms, long prompt_tokens,
                        long completion_tokens)
{
    assay__observation o = {
        .target = s->groups[group].target,
        .outcome = outcome,
        .score = outcome == ASSAY__OUTCOME_PASS ? 1.0 : 0.0,
        .latency_ms = latency_ms,
        .prompt_tokens = prompt_tokens,
        .completion_tokens = completion_tokens,
        .cost = NAN,
    };
    assay_status st = observe_group(s, group, &o);
    if (st != ASSAY_OK && s->failure == ASSAY_OK)
        s->failure = st;
}

assay_status assay__summary_add_result(assay_summary *s, size_t group,
                                       const assay__result *r)
{
    assay__metric_value values[ASSAY__MAX_METRICS];
    int counts[ASSAY__MAX_METRICS];
    size_t n = 0;
    for (size_t i = 0; r->has_verdict && i < r->n_checks; i++) {
        const assay__check_outcome *c = &r->checks[i];
        if (!assay__metric_merge(values, counts, &n,
                                 c->metric ? c->metric : c->type, c->pass,
                                 c->score))
            return ASSAY_ERR_LIMIT;
    }
    const assay__response *resp = r->response;
    assay__observation o = {
        .target = s->groups[group].target,
        .prompt = s->groups[group].prompt,
        .case_id = r->case_id,
        .repeat = r->repeat,
        .outcome = r->error_kind ? ASSAY__OUTCOME_ERROR
                   : r->pass     ? ASSAY__OUTCOME_PASS
                                 : ASSAY__OUTCOME_FAIL,
        .score = r->score,
        .metrics = values,
        .n_metrics = r->error_kind ? 0 : n,
        .latency_ms = r->latency_ms,
        .prompt_tokens = resp ? resp->prompt_tokens : -1,
        .completion_tokens = resp ? resp->completion_tokens : -1,
        .cost = NAN,
        .attempts = r->attempts,
    };
    return observe_group(s, group, &o);
}

bool assay__metric_merge(assay__metric_value *values, int *counts, size_t *n,
                         const char *name, bool pass, double score)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(values[i].name, name))
            continue;
        /* the running mean of the scores of the checks of this metric */
        counts[i]++;
        values[i].score += (score - values[i].score) / counts[i];
        values[i].pass = values[i].pass && pass;
        return true;
    }
    if (*n >= ASSAY__MAX_METRICS)
        return false;
    values[*n] = (assay__metric_value){name, pass, score};
    counts[(*n)++] = 1;
    return true;
}

const assay__stats *assay__summary_stats(const assay_summary *s, size_t group)
{
    return &s->groups[group].stats;
}

/* ------------------------------------------------------------ statistics */

static double wilson_end(long k, long n, bool high)
{
    double low, hi;
    assay__wilson(k, n, ASSAY__Z_95, &low, &hi);
    return high ? hi : low;
}

/* See the top of the file; pass_rate: of the passes rather than scores. */
static double clustered_se(const summary_group *g, const summary_metric *m,
                           bool pass_rate)
{
    long errors = g->stats.errors;
    long n = m->all.n + errors;
    if (g->n_clusters == 0 || n < 1)
        return NAN;
    double mean = (pass_rate ? (double)m->all.passed : m->all.sum) / (double)n;
    double ssd = 0;
    for (size_t k = 0; k < g->n_clusters; k++) {
        double nk = (double)g->cluster_errors[k], sk = 0;
        if (k < m->clusters_cap) {
            nk += (double)m->clusters[k].n;
            sk = pass_rate ? (double)m->clusters[k].passed : m->clusters[k].sum;
        }
        ssd += (sk - nk * mean) * (sk - nk * mean);
    }
    double nl = (double)(m->loose.n + g->loose_errors);
    double sl = pass_rate ? (double)m->loose.passed : m->loose.sum;
    double ql = pass_rate ? (double)m->loose.passed : m->loose.sumsq;
    ssd += ql - 2 * mean * sl + nl * mean * mean;
    return ssd > 0 ? sqrt(ssd) / (double)n : 0.0;
}

/* mean -+ z SE, with the clustered SE when there are clusters, in [0, 1]. */
static double score_bound(const summary_group *g, const summary_metric *m,
                          bool high)
{
    long errors = g->stats.errors;
    double mean = assay__moments_mean(&m->all, errors);
    double se = g->n_clusters ? clustered_se(g, m, false)
                              : assay__moments_se(&m->all, errors);
    if (isnan(mean) || isnan(se))
        return NAN;
    double v = high ? mean + ASSAY__Z_95 * se : mean - ASSAY__Z_95 * se;
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static double metric_stat(const summary_group *g, const summary_metric *m,
                          assay_stat stat)
{
    long errors = g->stats.errors;
    long n = m->all.n + errors;
    switch (stat) {
    case ASSAY_STAT_RESULTS:
        return (double)n;
    case ASSAY_STAT_PASSED:
        return (double)m->all.passed;
    case ASSAY_STAT_PASS_RATE:
        return n > 0 ? (double)m->all.passed / (double)n : NAN;
    case ASSAY_STAT_PASS_RATE_LOW:
    case ASSAY_STAT_PASS_RATE_HIGH:
        return wilson_end(m->all.passed, n, stat == ASSAY_STAT_PASS_RATE_HIGH);
    case ASSAY_STAT_PASS_RATE_SE: {
        if (n <= 0)
            return NAN;
        double p = (double)m->all.passed / (double)n;
        return sqrt(p * (1 - p) / (double)n);
    }
    case ASSAY_STAT_PASS_RATE_SE_CLUSTERED:
        return clustered_se(g, m, true);
    case ASSAY_STAT_SCORE_MEAN:
        return assay__moments_mean(&m->all, errors);
    case ASSAY_STAT_SCORE_SE:
        return assay__moments_se(&m->all, errors);
    case ASSAY_STAT_SCORE_LOW:
    case ASSAY_STAT_SCORE_HIGH:
        return score_bound(g, m, stat == ASSAY_STAT_SCORE_HIGH);
    case ASSAY_STAT_SCORE_SE_CLUSTERED:
        return clustered_se(g, m, false);
    case ASSAY_STAT_CLUSTERS:
        return (double)g->n_clusters;
    default:
        return NAN;
    }
}

static double repeat_stat(const assay_summary *s, const summary_group *g,
                          assay_stat stat)
{
    if (s->repeats <= 1)
        return NAN;
    const repeat_stats *r = &g->repeats;
    switch (stat) {
    case ASSAY_STAT_CASES:
        return r->cases;
    case ASSAY_STAT_SAMPLES_PER_CASE:
        return r->samples_per_case;
    case ASSAY_STAT_CASE_VARIANCE_WITHIN:
        return r->within;
    case ASSAY_STAT_CASE_VARIANCE_BETWEEN:
        return r->between;
    case ASSAY_STAT_SCORE_SE_INFINITE_REPEATS:
        return r->se_infinite;
    case ASSAY_STAT_REPEAT_VARIANCE_SAVED:
        return r->saved;
    case ASSAY_STAT_FLAKY_CASES:
        return (double)g->n_flaky;
    default:
        return NAN;
    }
}

static double group_stat(const assay_summary *s, const summary_group *g,
                         assay_stat stat)
{
    switch (stat) {
    case ASSAY_STAT_PASS_RATE_SE_CLUSTERED:
    case ASSAY_STAT_SCORE_MEAN:
    case ASSAY_STAT_SCORE_SE:
    case ASSAY_STAT_SCORE_LOW:
    case ASSAY_STAT_SCORE_HIGH:
    case ASSAY_STAT_SCORE_SE_CLUSTERED:
    case ASSAY_STAT_CLUSTERS:
        return metric_stat(g, &g->result, stat);
    case ASSAY_STAT_CASES:
    case ASSAY_STAT_SAMPLES_PER_CASE:
    case ASSAY_STAT_CASE_VARIANCE_WITHIN:
    case ASSAY_STAT_CASE_VARIANCE_BETWEEN:
    case ASSAY_STAT_SCORE_SE_INFINITE_REPEATS:
    case ASSAY_STAT_REPEAT_VARIANCE_SAVED:
    case ASSAY_STAT_FLAKY_CASES:
        return repeat_stat(s, g, stat);
    default:
        return assay__stats_get(&g->stats, stat);
    }
}

/* ------------------------------------------------------------ repeats */

static double case_variance(const case_sums *c)
{
    if (c->n < 2)
        return NAN;
    double n = (double)c->n;
    double var = (c->sumsq - c->sum * c->sum / n) / (n - 1);
    return var > 0 ? var : 0.0;
}

static void compute_repeats(summary_group *g)
{
    repeat_stats *r = &g->repeats;
    *r = (repeat_stats){NAN, NAN, NAN, NAN, NAN, NAN};
    if (g->n_cases == 0)
        return;
    double samples = 0, within = 0, mean_sum = 0, mean_sumsq = 0;
    long with_variance = 0;
    for (size_t i = 0; i < g->n_cases; i++) {
        const case_sums *c = &g->cases[i];
        double mean = c->sum / (double)c->n;
        samples += (double)c->n;
        mean_sum += mean;
        mean_sumsq += mean * mean;
        double v = case_variance(c);
        if (!isnan(v)) {
            within += v;
            with_variance++;
        }
    }
    double n = (double)g->n_cases;
    r->cases = n;
    r->samples_per_case = samples / n;
    if (with_variance == 0)
        return;
    r->within = within / (double)with_variance;
    r->saved = r->within / (r->samples_per_case * n);
    if (g->n_cases < 2)
        return;
    double of_means = (mean_sumsq - mean_sum * mean_sum / n) / (n - 1);
    double between = of_means - r->within / r->samples_per_case;
    r->between = between > 0 ? between : 0.0;
    r->se_infinite = sqrt(r->between / n);
}

typedef struct flaky_key {
    const char *id;
    size_t index;
} flaky_key;

static int by_case_id(const void *a, const void *b)
{
    return strcmp(((const flaky_key *)a)->id, ((const flaky_key *)b)->id);
}

static bool is_flaky(const case_sums *c)
{
    return c->passed > 0 && c->passed < c->n;
}

static assay_status find_flaky(const assay_summary *s, summary_group *g)
{
    free(g->flaky);
    g->flaky = NULL;
    g->n_flaky = 0;
    size_t n = 0;
    for (size_t i = 0; i < g->n_cases; i++)
        n += is_flaky(&g->cases[i]);
    if (n == 0)
        return ASSAY_OK;
    flaky_key *keys = malloc(n * sizeof *keys);
    g->flaky = malloc(n * sizeof *g->flaky);
    if (!keys || !g->flaky) {
        free(keys);
        free(g->flaky);
        g->flaky = NULL;
        return ASSAY_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < g->n_cases; i++)
        if (is_flaky(&g->cases[i]))
            keys[k++] = (flaky_key){
                assay__intern_str(s->case_ids, g->cases[i].case_id), i};
    qsort(keys, n, sizeof *keys, by_case_id);
    for (size_t i = 0; i < n; i++)
        g->flaky[i] = keys[i].index;
    g->n_flaky = n;
    free(keys);
    return ASSAY_OK;
}

/*
 * A record whose header names no prompts starts with one group per target
 * for the default prompt; when its results all name prompts, those empty
 * placeholders would fail every gate for a group that never existed. This
 * renumbers groups, so it runs at finish, once every result is in.
 */
static void drop_placeholders(assay_summary *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n_groups; i++) {
        summary_group *g = &s->groups[i];
        bool placeholder =
            g->stats.results == 0 && !strcmp(g->prompt, ASSAY__DEFAULT_PROMPT);
        bool sibling = false;
        for (size_t j = 0; placeholder && j < s->n_groups; j++)
            sibling = sibling || (j != i && s->groups[j].stats.results > 0 &&
                                  !strcmp(s->groups[j].target, g->target));
        if (placeholder && sibling) {
            release_group(g);
            continue;
        }
        s->groups[kept++] = *g;
    }
    s->n_groups = kept;
}

/* ------------------------------------------------------------ gates */

static assay_status put_verdict(assay_summary *s, assay_gate kind, double value,
                                double limit, bool passed, assay__buf *text)
{
    summary_gate *grown =
        realloc(s->verdicts, (s->n_verdicts + 1) * sizeof *s->verdicts);
    if (!grown) {
        assay__buf_release(text);
        return ASSAY_ERR_NOMEM;
    }
    s->verdicts = grown;
    char *t = assay__buf_detach(text, NULL);
    if (!t)
        return ASSAY_ERR_NOMEM;
    s->verdicts[s->n_verdicts++] =
        (summary_gate){t, passed, kind, value, limit};
    return ASSAY_OK;
}

/* "for target 'a'", with the prompt when there is more than the default. */
static assay_status put_group_name(assay__buf *b, const summary_group *g)
{
    assay_status st = assay__buf_printf(b, " for target '%s'", g->target);
    if (st == ASSAY_OK && strcmp(g->prompt, ASSAY__DEFAULT_PROMPT))
        st = assay__buf_printf(b, ", prompt '%s'", g->prompt);
    return st;
}

/*
 * One gate on one group. A value that cannot be measured (no results, no
 * latency, no such metric) fails the gate: a run that measured nothing
 * proved nothing.
 */
static assay_status group_verdict(assay_summary *s, const summary_group *g,
                                  assay_gate kind, const char *what,
                                  double value, double limit, bool is_max)
{
    assay__buf text;
    assay__buf_init(&text, 0);
    assay_status st =
        assay__buf_printf(&text, "%s %s %g", what, is_max ? "<=" : ">=", limit);
    if (st == ASSAY_OK)
        st = put_group_name(&text, g);
    if (st == ASSAY_OK && isnan(value))
        st = assay__buf_puts(&text, kind == ASSAY_GATE_METRIC
                                        ? " (no such metric)"
                                        : " (nothing measured)");
    if (st != ASSAY_OK) {
        assay__buf_release(&text);
        return st;
    }
    bool passed = !isnan(value) && (is_max ? value <= limit : value >= limit);
    return put_verdict(s, kind, value, limit, passed, &text);
}

static double metric_mean(const summary_group *g, const char *name)
{
    if (!strcmp(name, "score"))
        return metric_stat(g, &g->result, ASSAY_STAT_SCORE_MEAN);
    for (size_t i = 0; i < g->n_metrics; i++)
        if (!strcmp(g->metrics[i].name, name))
            return metric_stat(g, &g->metrics[i], ASSAY_STAT_SCORE_MEAN);
    return NAN;
}

static assay_status metric_verdicts(assay_summary *s, const summary_group *g)
{
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < s->gates.n_metrics; i++) {
        const assay__metric_gate *m = &s->gates.metrics[i];
        char what[ASSAY__METRIC_NAME_MAX + 32];
        snprintf(what, sizeof what, "metric '%s' mean", m->name);
        st = group_verdict(s, g, ASSAY_GATE_METRIC, what,
                           metric_mean(g, m->name), m->min, false);
    }
    return st;
}

/* The cost gate is on the whole run: the sum over every group. */
static assay_status cost_verdict(assay_summary *s)
{
    double cost = 0;
    long known = 0;
    for (size_t i = 0; i < s->n_groups; i++) {
        cost += s->groups[i].stats.cost;
        known += s->groups[i].stats.cost_n;
    }
    assay__buf text;
    assay__buf_init(&text, 0);
    assay_status st =
        assay__buf_printf(&text, "cost <= %g for the run%s", s->gates.cost_max,
                          known ? "" : " (no result reported a cost)");
    if (st != ASSAY_OK) {
        assay__buf_release(&text);
        return st;
    }
    double value = known ? cost : NAN;
    return put_verdict(s, ASSAY_GATE_COST, value, s->gates.cost_max,
                       known && cost <= s->gates.cost_max, &text);
}

static assay_status evaluate_gates(assay_summary *s)
{
    const assay__gates *gt = &s->gates;
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < s->n_groups; i++) {
        const summary_group *g = &s->groups[i];
        if (!isnan(gt->pass_rate_min))
            st = group_verdict(s, g, ASSAY_GATE_PASS_RATE, "pass_rate",
                               group_stat(s, g, ASSAY_STAT_PASS_RATE),
                               gt->pass_rate_min, false);
        if (st == ASSAY_OK)
            st = metric_verdicts(s, g);
        if (st == ASSAY_OK && !isnan(gt->error_rate_max))
            st = group_verdict(s, g, ASSAY_GATE_ERROR_RATE, "error_rate",
                               group_stat(s, g, ASSAY_STAT_ERROR_RATE),
                               gt->error_rate_max, true);
        if (st == ASSAY_OK && !isnan(gt->latency_p95_ms_max))
            st = group_verdict(s, g, ASSAY_GATE_LATENCY_P95, "latency_p95_ms",
                               group_stat(s, g, ASSAY_STAT_LATENCY_P95_MS),
                               gt->latency_p95_ms_max, true);
    }
    if (st == ASSAY_OK && !isnan(gt->cost_max))
        st = cost_verdict(s);
    return st;
}

assay_status assay__summary_finish(assay_summary *s)
{
    free_verdicts(s);
    if (s->failure != ASSAY_OK)
        return s->failure;
    drop_placeholders(s);
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < s->n_groups; i++) {
        compute_repeats(&s->groups[i]);
        st = find_flaky(s, &s->groups[i]);
    }
    if (st == ASSAY_OK)
        st = evaluate_gates(s);
    if (st != ASSAY_OK)
        free_verdicts(s);
    return st;
}

/* ------------------------------------------------------------ public */

const char *assay_summary_suite_name(const assay_summary *s)
{
    return s->suite_name;
}

size_t assay_summary_group_count(const assay_summary *s)
{
    return s->n_groups;
}

const char *assay_summary_group_target(const assay_summary *s, size_t index)
{
    return index < s->n_groups ? s->groups[index].target : NULL;
}

const char *assay_summary_group_prompt(const assay_summary *s, size_t index)
{
    return index < s->n_groups ? s->groups[index].prompt : NULL;
}

double assay_summary_stat(const assay_summary *s, size_t index, assay_stat stat)
{
    if (index >= s->n_groups)
        return NAN;
    return group_stat(s, &s->groups[index], stat);
}

const char *assay_summary_error_policy(const assay_summary *s)
{
    (void)s;
    return "errors count as not passed, with score 0";
}

size_t assay_summary_metric_count(const assay_summary *s, size_t group)
{
    return group < s->n_groups ? s->groups[group].n_metrics : 0;
}

const char *assay_summary_metric_name(const assay_summary *s, size_t group,
                                      size_t metric)
{
    if (group >= s->n_groups || metric >= s->groups[group].n_metrics)
        return NULL;
    return s->groups[group].metrics[metric].name;
}

double assay_summary_metric_stat(const assay_summary *s, size_t group,
                                 size_t metric, assay_stat stat)
{
    if (group >= s->n_groups || metric >= s->groups[group].n_metrics)
        return NAN;
    const summary_group *g = &s->groups[group];
    return metric_stat(g, &g->metrics[metric], stat);
}

double assay_summary_pass_at_k(const assay_summary *s, size_t group, long k)
{
    if (group >= s->n_groups || s->repeats <= 1 || k < 1)
        return NAN;
    const summary_group *g = &s->groups[group];
    double sum = 0;
    long n = 0;
    for (size_t i = 0; i < g->n_cases; i++) {
        const case_sums *c = &g->cases[i];
        if (c->n < k)
            continue;
        sum += assay__pass_at_k(c->n, c->passed, k);
        n++;
    }
    return n ? sum / (double)n : NAN;
}

const char *assay_summary_flaky_case(const assay_summary *s, size_t group,
                                     size_t index, long *passed, long *samples)
{
    if (group >= s->n_groups || index >= s->groups[group].n_flaky)
        return NULL;
    const summary_group *g = &s->groups[group];
    const case_sums *c = &g->cases[g->flaky[index]];
    if (passed)
        *passed = c->passed;
    if (samples)
        *samples = c->n;
    return assay__intern_str(s->case_ids, c->case_id);
}

const char *assay_summary_case(const assay_summary *s, size_t group,
                               size_t index, double *mean, double *variance)
{
    if (group >= s->n_groups || index >= s->groups[group].n_cases)
        return NULL;
    const case_sums *c = &s->groups[group].cases[index];
    if (mean)
        *mean = c->sum / (double)c->n;
    if (variance)
        *variance = case_variance(c);
    return assay__intern_str(s->case_ids, c->case_id);
}

size_t assay_summary_gate_count(const assay_summary *s)
{
    return s->n_verdicts;
}

const char *assay_summary_gate_text(const assay_summary *s, size_t index)
{
    return index < s->n_verdicts ? s->verdicts[index].text : NULL;
}

bool assay_summary_gate_passed(const assay_summary *s, size_t index)
{
    return index < s->n_verdicts && s->verdicts[index].passed;
}

assay_gate assay_summary_gate_kind(const assay_summary *s, size_t index)
{
    return index < s->n_verdicts ? s->verdicts[index].kind
                                 : ASSAY_GATE_PASS_RATE;
}

double assay_summary_gate_value(const assay_summary *s, size_t index)
{
    return index < s->n_verdicts ? s->verdicts[index].value : NAN;
}

double assay_summary_gate_limit(const assay_summary *s, size_t index)
{
    return index < s->n_verdicts ? s->verdicts[index].limit : NAN;
}

bool assay_summary_passed(const assay_summary *s)
{
    for (size_t i = 0; i < s->n_verdicts; i++)
        if (!s->verdicts[i].passed)
            return false;
    return true;
}

bool assay_summary_completed(const assay_summary *s)
{
    for (size_t i = 0; i < s->n_verdicts; i++)
        if (s->verdicts[i].kind == ASSAY_GATE_ERROR_RATE &&
            !s->verdicts[i].passed)
            return false;
    return true;
}

assay_status assay_summary_set_gate(assay_summary *s, const char *name,
                                    double value, assay_error *err)
{
    if (!s)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_summary_set_gate needs a summary");
    assay_status st = assay__gates_set(&s->gates, name, value, err);
    if (st != ASSAY_OK)
        return st;
    st = assay__summary_finish(s);
    return st == ASSAY_OK ? st
                          : assay__error(err, st, NULL, 0, 0,
                                         "cannot evaluate the gates: %s",
                                         assay_strerror(st));
}

assay_status assay_summary_load(const char *record_path, assay_summary **out,
                                assay_error *err)
{
    return assay__record_read(record_path, out, err);
}

/* The statistics a group reports under these names, in this order: the
   run record's summary line and the JSON report both write this list. */
const assay__stat_field assay__group_fields[] = {
    {"results", ASSAY_STAT_RESULTS},
    {"passed", ASSAY_STAT_PASSED},
    {"failed", ASSAY_STAT_FAILED},
    {"errors", ASSAY_STAT_ERRORS},
    {"pass_rate", ASSAY_STAT_PASS_RATE},
    {"pass_rate_low", ASSAY_STAT_PASS_RATE_LOW},
    {"pass_rate_high", ASSAY_STAT_PASS_RATE_HIGH},
    {"pass_rate_se", ASSAY_STAT_PASS_RATE_SE},
    {"pass_rate_se_clustered", ASSAY_STAT_PASS_RATE_SE_CLUSTERED},
    {"error_rate", ASSAY_STAT_ERROR_RATE},
    {"score_mean", ASSAY_STAT_SCORE_MEAN},
    {"score_se", ASSAY_STAT_SCORE_SE},
    {"score_low", ASSAY_STAT_SCORE_LOW},
    {"score_high", ASSAY_STAT_SCORE_HIGH},
    {"score_se_clustered", ASSAY_STAT_SCORE_SE_CLUSTERED},
    {"clusters", ASSAY_STAT_CLUSTERS},
    {"latency_mean_ms", ASSAY_STAT_LATENCY_MEAN_MS},
    {"latency_p95_ms", ASSAY_STAT_LATENCY_P95_MS},
    {"prompt_tokens", ASSAY_STAT_PROMPT_TOKENS},
    {"completion_tokens", ASSAY_STAT_COMPLETION_TOKENS},
    {"attempts", ASSAY_STAT_ATTEMPTS},
    {"retries", ASSAY_STAT_RETRIES},
    {"cost", ASSAY_STAT_COST},
};
const size_t assay__n_group_fields =
    sizeof assay__group_fields / sizeof assay__group_fields[0];
