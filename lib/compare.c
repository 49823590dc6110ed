/*
 * compare.c - paired comparisons of runs: a baseline record against a
 * candidate record, or every pair of groups within one record.
 *
 * Pairing. The baseline's results are kept in a compact table (20 bytes a
 * result, plus 4 per check metric it carries) indexed by (group, case,
 * repeat); case ids are interned once. The candidate is streamed: each of
 * its results finds its partner by that key and adds one difference per
 * metric to its comparison, so the candidate costs memory only for those
 * differences (4 bytes a pair and metric) and for its transitions.
 *
 * Statistics, per comparison and metric (errors count as not passed and
 * score 0, as in summaries):
 *  - the mean difference (candidate - baseline) and a percentile
 *    paired-bootstrap interval at 1 - alpha (2000 resamples, seed 1 by
 *    default; each interval draws from its own stream derived from the seed
 *    and the positions of its comparison and metric);
 *  - the p-value: McNemar's exact test on the discordant pairs for "pass"
 *    and for every metric whose values were all 0 or 1 (an exact test where
 *    one exists: the bootstrap is too eager on a few discordant pairs), the
 *    bootstrap p-value for the others;
 *  - the minimum detectable effect at 80% power, from the standard deviation
 *    of the differences. When they vary less than one pair differing by the
 *    whole range would (variance 1/n), that is used instead, so a small
 *    suite that happened to agree everywhere does not claim to see tiny
 *    changes;
 *  - the verdict (assay.h, assay_verdict).
 *
 * It does not format anything (report/compare_text.c does) nor decide exit
 * codes (the CLI does).
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RESAMPLES 2000
#define DEFAULT_SEED 1u
#define MIN_RESAMPLES 100
#define MAX_RESAMPLES 1000000
#define DRAW_BUDGET 1e8 /* bootstrap draws per interval */
#define POWER 0.8
#define INTERN_MAX_BYTES ((size_t)1 << 30)
#define MAX_DIFFS ((size_t)1 << 31)
#define N_METRICS (2 + ASSAY__MAX_METRICS) /* "pass", "score", checks */
#define METRIC_PASS 0
#define METRIC_SCORE 1

typedef struct cmp_group {
    char *target;
    char *prompt;
    long entries; /* results in this group */
    bool matched;
} cmp_group;

typedef struct cmp_entry {
    uint32_t case_id;
    uint32_t repeat;
    uint32_t group;
    uint8_t outcome;
    uint8_t paired; /* a candidate result took it: a second would be a twin */
    float score;    /* 0 for an error */
} cmp_entry;

/* One record's groups and, for the baseline, its results. */
typedef struct cmp_record {
    char *path;
    char *suite;
    size_t n_targets; /* in the header */
    char **targets;
    cmp_group *groups;
    size_t n_groups;
    size_t groups_cap;
    cmp_entry *entries;
    size_t n_entries;
    size_t entries_cap;
    float *columns[N_METRICS]; /* check metric values, NaN when absent */
    assay__slotmap *index;     /* (group, case, repeat) -> entry */
    assay__gates gates;
} cmp_record;

/* One side of a pair, as pair_up sees it. */
typedef struct side_view {
    assay__outcome outcome;
    float score;
    float values[N_METRICS];
} side_view;

typedef struct cmp_transition {
    uint32_t case_id;
    uint32_t repeat;
    uint8_t base;
    uint8_t cand;
} cmp_transition;

typedef struct cmp_metric {
    float *diffs;
    size_t n;
    size_t cap;
    double base_sum;
    double cand_sum;
    long down, up;   /* pairs going from 1 to 0, and from 0 to 1 */
    bool continuous; /* a value other than 0 and 1 was seen */
    double *means;   /* sorted bootstrap means */
    size_t resamples;
    double low, high, p, mde;
    assay_verdict verdict;
} cmp_metric;

typedef struct comparison {
    size_t base_group;
    size_t cand_group; /* in the candidate record (the base one in a matrix) */
    long pairs, base_only, cand_only, newly_failing, newly_passing;
    cmp_transition *transitions;
    size_t n_transitions;
    size_t transitions_cap;
    cmp_metric metrics[N_METRICS];
    size_t listed[N_METRICS]; /* the metrics shown, by compare-wide index */
    size_t n_listed;
} comparison;

struct assay_compare {
    bool matrix;
    assay__intern *case_ids;
    char *metric_names[N_METRICS];
    size_t n_metric_names;
    cmp_record base;
    cmp_record cand;       /* groups and header only; results are streamed */
    long *cand_comparison; /* per candidate group: its comparison or -1 */
    size_t cand_comparison_cap;
    comparison *items;
    size_t n_items;
    size_t items_cap;
    long unmatched[2];
    double max_drop;
    double alpha;
    size_t resamples;
    uint64_t seed;
};

/* ------------------------------------------------------------ freeing */

static void release_record(cmp_record *r)
{
    free(r->path);
    free(r->suite);
    for (size_t i = 0; i < r->n_targets; i++)
        free(r->targets[i]);
    free(r->targets);
    for (size_t i = 0; i < r->n_groups; i++) {
        free(r->groups[i].target);
        free(r->groups[i].prompt);
    }
    free(r->groups);
    free(r->entries);
    for (size_t i = 0; i < N_METRICS; i++)
        free(r->columns[i]);
    assay__slotmap_free(r->index);
}

static void release_comparison(comparison *c)
{
    free(c->transitions);
    for (size_t i = 0; i < N_METRICS; i++) {
        free(c->metrics[i].diffs);
        free(c->metrics[i].means);
    }
}

void assay_compare_free(assay_compare *cmp)
{
    if (!cmp)
        return;
    release_record(&cmp->base);
    release_record(&cmp->cand);
    for (size_t i = 0; i < cmp->n_items; i++)
        release_comparison(&cmp->items[i]);
    free(cmp->items);
    free(cmp->cand_comparison);
    for (size_t i = 0; i < cmp->n_metric_names; i++)
        free(cmp->metric_names[i]);
    assay__intern_free(cmp->case_ids);
    free(cmp);
}

static assay_status nomem(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

static assay_compare *compare_new(void)
{
    assay_compare *cmp = calloc(1, sizeof *cmp);
    if (!cmp)
        return NULL;
    cmp->max_drop = ASSAY__DEFAULT_MAX_DROP;
    cmp->alpha = ASSAY__DEFAULT_ALPHA;
    cmp->resamples = DEFAULT_RESAMPLES;
    cmp->seed = DEFAULT_SEED;
    cmp->case_ids = assay__intern_new(INTERN_MAX_BYTES);
    cmp->base.index = assay__slotmap_new();
    const char *fixed[] = {"pass", "score"};
    for (size_t i = 0; i < 2; i++)
        if ((cmp->metric_names[i] = strdup(fixed[i])))
            cmp->n_metric_names++;
    if (!cmp->case_ids || !cmp->base.index || cmp->n_metric_names != 2) {
        assay_compare_free(cmp);
        return NULL;
    }
    return cmp;
}

/* Grows an array to hold one more item of `size` bytes. */
static bool grow(void **array, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t more = *cap ? *cap * 2 : 16;
    void *a = realloc(*array, more * size);
    if (!a)
        return false;
    *array = a;
    *cap = more;
    return true;
}

/* ------------------------------------------------------------ records */

static assay_status take_header(cmp_record *r, const assay__record_header *h,
                                assay_error *err)
{
    r->suite = strdup(h->suite);
    r->targets = calloc(h->n_targets ? h->n_targets : 1, sizeof *r->targets);
    if (!r->suite || !r->targets)
        return nomem(err);
    for (size_t i = 0; i < h->n_targets; i++) {
        if (!(r->targets[i] = strdup(h->targets[i])))
            return nomem(err);
        r->n_targets++;
    }
    r->gates = h->gates;
    return ASSAY_OK;
}

static long find_group(const cmp_record *r, const char *target,
                       const char *prompt)
{
    for (size_t i = 0; i < r->n_groups; i++)
        if (!strcmp(r->groups[i].target, target) &&
            !strcmp(r->groups[i].prompt, prompt))
            return (long)i;
    return -1;
}

static long group_of(cmp_record *r, const char *target, const char *prompt)
{
    if (!prompt)
        prompt = ASSAY__DEFAULT_PROMPT;
    long g = find_group(r, target, prompt);
    if (g >= 0)
        return g;
    if (r->n_groups >= UINT16_MAX || !grow((void **)&r->groups, &r->groups_cap,
                                           r->n_groups, sizeof *r->groups))
        return -1;
    cmp_group *grp = &r->groups[r->n_groups];
    *grp = (cmp_group){strdup(target), strdup(prompt), 0, false};
    if (!grp->target || !grp->prompt) {
        free(grp->target);
        free(grp->prompt);
        return -1;
    }
    return (long)r->n_groups++;
}

/* The compare-wide index of a metric name, added when new; -1 past the
   cap. */
static long metric_index(assay_compare *cmp, const char *name)
{
    for (size_t i = 2; i < cmp->n_metric_names; i++)
        if (!strcmp(cmp->metric_names[i], name))
            return (long)i;
    if (cmp->n_metric_names >= N_METRICS)
        return -1;
    char *copy = strdup(name);
    if (!copy)
        return -1;
    cmp->metric_names[cmp->n_metric_names] = copy;
    return (long)cmp->n_metric_names++;
}

static bool grow_columns(cmp_record *r, size_t cap)
{
    for (size_t m = 0; m < N_METRICS; m++) {
        if (!r->columns[m])
            continue;
        float *c = realloc(r->columns[m], cap * sizeof *c);
        if (!c)
            return false;
        for (size_t i = r->entries_cap; i < cap; i++)
            c[i] = NAN;
        r->columns[m] = c;
    }
    return true;
}

static float *column(cmp_record *r, size_t m)
{
    if (r->columns[m])
        return r->columns[m];
    float *c = malloc((r->entries_cap ? r->entries_cap : 1) * sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < r->entries_cap; i++)
        c[i] = NAN;
    return r->columns[m] = c;
}

static assay_status record_error(assay_error *err, const char *path, long line,
                                 const char *what, const assay__observation *o)
{
    return assay__error(err, ASSAY_ERR_RECORD, path, (int)line, 0,
                        "%s: case '%s', repeat %d, target '%s', prompt '%s'",
                        what, o->case_id ? o->case_id : "?", o->repeat,
                        o->target,
                        o->prompt ? o->prompt : ASSAY__DEFAULT_PROMPT);
}

/* Fills the check metric values of an observation, by compare-wide index. */
static assay_status metric_values(assay_compare *cmp,
                                  const assay__observation *o, float *values,
                                  const char *path, long line, assay_error *err)
{
    for (size_t m = 0; m < N_METRICS; m++)
        values[m] = NAN;
    for (size_t i = 0; i < o->n_metrics; i++) {
        long m = metric_index(cmp, o->metrics[i].name);
        if (m < 0)
            return assay__error(err, ASSAY_ERR_RECORD, path, (int)line, 0,
                                "more than %d metrics", ASSAY__MAX_METRICS);
        double v = o->metrics[i].score;
        values[m] = isfinite(v) ? (float)v : 0.0f;
    }
    return ASSAY_OK;
}

static assay_status base_header(void *user, const assay__record_header *h,
                                assay_error *err)
{
    assay_compare *cmp = user;
    return take_header(&cmp->base, h, err);
}

static assay_status store_entry(assay_compare *cmp, const assay__observation *o,
                                const char *path, long line, assay_error *err)
{
    cmp_record *r = &cmp->base;
    if (!o->case_id)
        return record_error(err, path, line,
                            "a result without 'case' cannot be paired", o);
    long group = group_of(r, o->target, o->prompt);
    uint32_t case_id;
    if (group < 0 ||
        assay__intern_id(cmp->case_ids, o->case_id, &case_id) != ASSAY_OK)
        return nomem(err);
    if (r->n_entries == r->entries_cap) {
        size_t cap = r->entries_cap ? r->entries_cap * 2 : 256;
        cmp_entry *e = realloc(r->entries, cap * sizeof *e);
        if (!e)
            return nomem(err);
        r->entries = e;
        if (!grow_columns(r, cap))
            return nomem(err);
        r->entries_cap = cap;
    }
    uint32_t index = (uint32_t)r->n_entries;
    bool inserted;
    assay_status st =
        assay__slotmap_put(r->index, (uint32_t)group, case_id,
                           (uint32_t)o->repeat, &index, &inserted);
    if (st != ASSAY_OK)
        return assay__error(err, st, path, (int)line, 0, "%s",
                            assay_strerror(st));
    if (!inserted)
        return record_error(err, path, line, "a result appears twice", o);
    bool error = o->outcome == ASSAY__OUTCOME_ERROR;
    r->entries[index] = (cmp_entry){
        .case_id = case_id,
        .repeat = (uint32_t)o->repeat,
        .group = (uint32_t)group,
        .outcome = (uint8_t)o->outcome,
        .score = error || !isfinite(o->score) ? 0.0f : (float)o->score,
    };
    r->n_entries++;
    r->groups[group].entries++;
    float values[N_METRICS];
    st = metric_values(cmp, o, values, path, line, err);
    for (size_t m = 2; st == ASSAY_OK && m < N_METRICS; m++) {
        if (isnan(values[m]))
            continue;
        float *c = column(r, m);
        if (!c)
            return nomem(err);
        c[index] = values[m];
    }
    return st;
}

/* The record reader has checked that repeats are whole numbers from 0. */
static assay_status base_result(void *user, const assay__observation *o,
                                const char *path, long line, assay_error *err)
{
    return store_entry(user, o, path, line, err);
}

static void base_view(const cmp_record *r, size_t entry, side_view *v)
{
    const cmp_entry *e = &r->entries[entry];
    v->outcome = (assay__outcome)e->outcome;
    v->score = e->score;
    for (size_t m = 0; m < N_METRICS; m++)
        v->values[m] = r->columns[m] ? r->columns[m][entry] : NAN;
}

/* ------------------------------------------------------------ pairing */

static comparison *add_comparison(assay_compare *cmp, size_t base_group,
                                  size_t cand_group)
{
    if (!grow((void **)&cmp->items, &cmp->items_cap, cmp->n_items,
              sizeof *cmp->items))
        return NULL;
    comparison *c = &cmp->items[cmp->n_items++];
    memset(c, 0, sizeof *c);
    c->base_group = base_group;
    c->cand_group = cand_group;
    return c;
}

static bool add_diff(cmp_metric *m, double base, double cand)
{
    if (m->n >= MAX_DIFFS ||
        !grow((void **)&m->diffs, &m->cap, m->n, sizeof *m->diffs))
        return false;
    m->diffs[m->n++] = (float)(cand - base);
    m->base_sum += base;
    m->cand_sum += cand;
    m->down += base == 1 && cand == 0;
    m->up += base == 0 && cand == 1;
    m->continuous =
        m->continuous || (base != 0 && base != 1) || (cand != 0 && cand != 1);
    return true;
}

static bool add_transition(comparison *c, const cmp_entry *base,
                           assay__outcome cand)
{
    if (!grow((void **)&c->transitions, &c->transitions_cap, c->n_transitions,
              sizeof *c->transitions))
        return false;
    c->transitions[c->n_transitions++] = (cmp_transition){
        base->case_id, base->repeat, base->outcome, (uint8_t)cand};
    return true;
}

/* Errors count as not passed with score 0, in every metric. */
static float value_of(const side_view *v, size_t m)
{
    if (m == METRIC_PASS)
        return v->outcome == ASSAY__OUTCOME_PASS ? 1.0f : 0.0f;
    if (v->outcome == ASSAY__OUTCOME_ERROR)
        return 0.0f;
    return m == METRIC_SCORE ? v->score : v->values[m];
}

static assay_status pair_up(assay_compare *cmp, comparison *c,
                            const cmp_entry *be, const side_view *base,
                            const side_view *cand)
{
    bool was = base->outcome == ASSAY__OUTCOME_PASS;
    bool now = cand->outcome == ASSAY__OUTCOME_PASS;
    c->pairs++;
    if (was != now) {
        if (was)
            c->newly_failing++;
        else
            c->newly_passing++;
        if (!add_transition(c, be, cand->outcome))
            return ASSAY_ERR_NOMEM;
    }
    for (size_t m = 0; m < cmp->n_metric_names; m++) {
        float b = value_of(base, m), n = value_of(cand, m);
        if (isnan(b) || isnan(n))
            continue;
        if (!add_diff(&c->metrics[m], b, n))
            return ASSAY_ERR_NOMEM;
    }
    return ASSAY_OK;
}

/* The baseline group a candidate group is compared with, or -1. */
static long match_group(const assay_compare *cmp, const cmp_group *g)
{
    long b = find_group(&cmp->base, g->target, g->prompt);
    if (b >= 0)
        return b;
    if (cmp->base.n_targets == 1 && cmp->cand.n_targets == 1)
        return find_group(&cmp->base, cmp->base.targets[0], g->prompt);
    return -1;
}

/* The comparison of a candidate group, made when the group is first seen. */
static assay_status comparison_of(assay_compare *cmp, long cand_group,
                                  long *out)
{
    size_t n = cmp->cand_comparison_cap;
    if ((size_t)cand_group >= n) {
        size_t cap = n ? n * 2 : 16;
        while ((size_t)cand_group >= cap)
            cap *= 2;
        long *a = realloc(cmp->cand_comparison, cap * sizeof *a);
        if (!a)
            return ASSAY_ERR_NOMEM;
        for (size_t i = n; i < cap; i++)
            a[i] = -2; /* not decided yet */
        cmp->cand_comparison = a;
        cmp->cand_comparison_cap = cap;
    }
    long *slot = &cmp->cand_comparison[cand_group];
    if (*slot == -2) {
        long b = match_group(cmp, &cmp->cand.groups[cand_group]);
        *slot = -1;
        if (b >= 0 && !cmp->base.groups[b].matched) {
            if (!add_comparison(cmp, (size_t)b, (size_t)cand_group))
                return ASSAY_ERR_NOMEM;
            cmp->base.groups[b].matched = true;
            *slot = (long)cmp->n_items - 1;
        }
    }
    *out = *slot;
    return ASSAY_OK;
}

static assay_status cand_header(void *user, const assay__record_header *h,
                                assay_error *err)
{
    assay_compare *cmp = user;
    return take_header(&cmp->cand, h, err);
}

static assay_status cand_result(void *user, const assay__observation *o,
                                const char *path, long line, assay_error *err)
{
    assay_compare *cmp = user;
    long group = group_of(&cmp->cand, o->target, o->prompt);
    long which;
    if (group < 0 || comparison_of(cmp, group, &which) != ASSAY_OK)
        return nomem(err);
    cmp->cand.groups[group].entries++;
    if (which < 0) {
        cmp->unmatched[1]++;
        return ASSAY_OK;
    }
    comparison *c = &cmp->items[which];
    long id = o->case_id ? assay__intern_find(cmp->case_ids, o->case_id) : -1;
    long entry =
        id < 0 ? -1
               : assay__slotmap_get(cmp->base.index, (uint32_t)c->base_group,
                                    (uint32_t)id, (uint32_t)o->repeat);
    if (entry < 0) {
        c->cand_only++;
        return ASSAY_OK;
    }
    cmp_entry *be = &cmp->base.entries[entry];
    if (be->paired)
        return record_error(err, path, line, "a result appears twice", o);
    be->paired = 1;
    side_view base, cand = {.outcome = o->outcome,
                            .score = o->outcome == ASSAY__OUTCOME_ERROR ||
                                             !isfinite(o->score)
                                         ? 0.0f
                                         : (float)o->score};
    assay_status st = metric_values(cmp, o, cand.values, path, line, err);
    if (st != ASSAY_OK)
        return st;
    base_view(&cmp->base, (size_t)entry, &base);
    st = pair_up(cmp, c, be, &base, &cand);
    return st == ASSAY_OK ? st : nomem(err);
}

/* The position of a group's target in its record's header (unknown last). */
static size_t target_rank(const cmp_record *r, size_t group)
{
    for (size_t i = 0; i < r->n_targets; i++)
        if (!strcmp(r->targets[i], r->groups[group].target))
            return i;
    return r->n_targets;
}

typedef struct order_key {
    size_t rank;
    const char *prompt;
    size_t group;
} order_key;

static int by_order(const void *a, const void *b)
{
    const order_key *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return strcmp(x->prompt, y->prompt);
}

/*
 * Results arrive in completion order, so groups are numbered in an order
 * that varies from run to run; reports show them in the header's order of
 * targets, then by prompt. *out[k] is the group shown k-th (caller frees).
 */
static assay_status group_order(const cmp_record *r, size_t **out)
{
    order_key *keys = malloc((r->n_groups ? r->n_groups : 1) * sizeof *keys);
    *out = malloc((r->n_groups ? r->n_groups : 1) * sizeof **out);
    if (!keys || !*out) {
        free(keys);
        free(*out);
        *out = NULL;
        return ASSAY_ERR_NOMEM;
    }
    for (size_t g = 0; g < r->n_groups; g++)
        keys[g] = (order_key){target_rank(r, g), r->groups[g].prompt, g};
    qsort(keys, r->n_groups, sizeof *keys, by_order);
    for (size_t k = 0; k < r->n_groups; k++)
        (*out)[k] = keys[k].group;
    free(keys);
    return ASSAY_OK;
}

static assay_status pair_groups(assay_compare *cmp, size_t i, size_t j)
{
    cmp_record *r = &cmp->base;
    comparison *c = add_comparison(cmp, i, j);
    if (!c)
        return ASSAY_ERR_NOMEM;
    for (size_t e = 0; e < r->n_entries; e++) {
        const cmp_entry *ce = &r->entries[e];
        if (ce->group != j)
            continue;
        long b =
            assay__slotmap_get(r->index, (uint32_t)i, ce->case_id, ce->repeat);
        if (b < 0) {
            c->cand_only++;
            continue;
        }
        side_view base, cand;
        base_view(r, (size_t)b, &base);
        base_view(r, e, &cand);
        assay_status st = pair_up(cmp, c, &r->entries[b], &base, &cand);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* Every pair of groups of one record: each against each earlier one. */
static assay_status pair_matrix(assay_compare *cmp, assay_error *err)
{
    size_t *order;
    if (group_order(&cmp->base, &order) != ASSAY_OK)
        return nomem(err);
    assay_status st = ASSAY_OK;
    for (size_t j = 0; st == ASSAY_OK && j < cmp->base.n_groups; j++)
        for (size_t i = 0; st == ASSAY_OK && i < j; i++)
            st = pair_groups(cmp, order[i], order[j]);
    free(order);
    return st == ASSAY_OK ? st : nomem(err);
}

/* Comparisons of two records in the baseline's group order. */
static assay_status order_comparisons(assay_compare *cmp)
{
    if (cmp->matrix || cmp->n_items < 2)
        return ASSAY_OK;
    size_t *order;
    comparison *items = malloc(cmp->n_items * sizeof *items);
    if (!items || group_order(&cmp->base, &order) != ASSAY_OK) {
        free(items);
        return ASSAY_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t k = 0; k < cmp->base.n_groups; k++)
        for (size_t i = 0; i < cmp->n_items; i++)
            if (cmp->items[i].base_group == order[k])
                items[n++] = cmp->items[i];
    free(order);
    free(cmp->items);
    cmp->items = items;
    cmp->items_cap = cmp->n_items;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ statistics */

static double sd_of(const cmp_metric *m)
{
    if (m->n < 2)
        return 0;
    double sum = 0, sumsq = 0;
    for (size_t i = 0; i < m->n; i++) {
        sum += m->diffs[i];
        sumsq += (double)m->diffs[i] * m->diffs[i];
    }
    double n = (double)m->n;
    double var = (sumsq - sum * sum / n) / (n - 1);
    return var > 0 ? sqrt(var) : 0;
}

static size_t resamples_for(const assay_compare *cmp, size_t n)
{
    size_t b = cmp->resamples;
    if ((double)n * (double)b > DRAW_BUDGET) {
        b = (size_t)(DRAW_BUDGET / (double)n);
        if (b < MIN_RESAMPLES)
            b = MIN_RESAMPLES;
    }
    return b;
}

/* The bootstrap means of one metric; done once per seed and resamples. */
static assay_status bootstrap(const assay_compare *cmp, size_t item,
                              size_t metric, cmp_metric *m)
{
    free(m->means);
    m->means = NULL;
    m->resamples = 0;
    if (m->n == 0)
        return ASSAY_OK;
    size_t b = resamples_for(cmp, m->n);
    m->means = malloc(b * sizeof *m->means);
    if (!m->means)
        return ASSAY_ERR_NOMEM;
    uint64_t stream = (uint64_t)item * N_METRICS + metric + 1;
    assay__bootstrap_means(m->diffs, m->n, b,
                           cmp->seed + 0x9e3779b97f4a7c15u * stream, m->means);
    m->resamples = b;
    return ASSAY_OK;
}

static assay_verdict verdict_of(const assay_compare *cmp, const cmp_metric *m,
                                double diff)
{
    if (m->n == 0 || isnan(m->p))
        return ASSAY_VERDICT_TOO_SMALL;
    if (m->p < cmp->alpha) {
        if (diff > 0)
            return ASSAY_VERDICT_IMPROVED;
        if (diff < -cmp->max_drop)
            return ASSAY_VERDICT_REGRESSED;
        if (diff < 0)
            return ASSAY_VERDICT_ALLOWED_DROP;
        return ASSAY_VERDICT_NO_CHANGE;
    }
    return m->mde <= cmp->max_drop ? ASSAY_VERDICT_NO_CHANGE
                                   : ASSAY_VERDICT_TOO_SMALL;
}

/* Everything that depends on alpha and max_drop: cheap, no resampling. */
static void judge(const assay_compare *cmp, comparison *c)
{
    for (size_t i = 0; i < c->n_listed; i++) {
        size_t idx = c->listed[i];
        cmp_metric *m = &c->metrics[idx];
        double n = (double)m->n;
        double diff = m->n ? (m->cand_sum - m->base_sum) / n : NAN;
        assay__bootstrap_interval(m->means, m->resamples, 1 - cmp->alpha,
                                  &m->low, &m->high);
        m->p = m->continuous ? assay__bootstrap_p(m->means, m->resamples)
                             : assay__mcnemar_exact_p(m->down, m->up);
        double sd = sd_of(m);
        if (m->n && sd * sd < 1 / n)
            sd = sqrt(1 / n);
        m->mde = m->n ? assay__mde(sd, n, cmp->alpha, POWER) : NAN;
        m->verdict = verdict_of(cmp, m, diff);
    }
}

static assay_status resample_all(assay_compare *cmp)
{
    for (size_t i = 0; i < cmp->n_items; i++) {
        comparison *c = &cmp->items[i];
        for (size_t k = 0; k < c->n_listed; k++) {
            assay_status st =
                bootstrap(cmp, i, c->listed[k], &c->metrics[c->listed[k]]);
            if (st != ASSAY_OK)
                return st;
        }
        judge(cmp, c);
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ ordering */

static const char *case_name(const assay_compare *cmp, uint32_t id)
{
    return assay__intern_str(cmp->case_ids, id);
}

typedef struct sort_key {
    const char *id;
    const cmp_transition *t;
} sort_key;

static int by_transition(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    bool x_fails = x->t->base == ASSAY__OUTCOME_PASS;
    bool y_fails = y->t->base == ASSAY__OUTCOME_PASS;
    if (x_fails != y_fails)
        return x_fails ? -1 : 1; /* newly failing first */
    int c = strcmp(x->id, y->id);
    if (c)
        return c;
    return (x->t->repeat > y->t->repeat) - (x->t->repeat < y->t->repeat);
}

static assay_status sort_transitions(const assay_compare *cmp, comparison *c)
{
    if (c->n_transitions < 2)
        return ASSAY_OK;
    sort_key *keys = malloc(c->n_transitions * sizeof *keys);
    cmp_transition *sorted = malloc(c->n_transitions * sizeof *sorted);
    if (!keys || !sorted) {
        free(keys);
        free(sorted);
        return ASSAY_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n_transitions; i++)
        keys[i] = (sort_key){case_name(cmp, c->transitions[i].case_id),
                             &c->transitions[i]};
    qsort(keys, c->n_transitions, sizeof *keys, by_transition);
    for (size_t i = 0; i < c->n_transitions; i++)
        sorted[i] = *keys[i].t;
    free(keys);
    free(c->transitions);
    c->transitions = sorted;
    c->transitions_cap = c->n_transitions;
    return ASSAY_OK;
}

/* Counts what could not be paired, lists the metrics, sorts, computes. */
static assay_status finish(assay_compare *cmp, assay_error *err)
{
    if (cmp->n_items == 0 && !cmp->matrix)
        return assay__error(err, ASSAY_ERR_RECORD, cmp->cand.path, 0, 0,
                            "no target and prompt in common with %s, so no "
                            "result can be paired",
                            cmp->base.path);
    for (size_t g = 0; !cmp->matrix && g < cmp->base.n_groups; g++)
        if (!cmp->base.groups[g].matched)
            cmp->unmatched[0] += cmp->base.groups[g].entries;
    assay_status st = order_comparisons(cmp);
    for (size_t i = 0; st == ASSAY_OK && i < cmp->n_items; i++) {
        comparison *c = &cmp->items[i];
        // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.ArraySubscript): order_comparisons copies every item, each being of one of the baseline's groups
        c->base_only = cmp->base.groups[c->base_group].entries - c->pairs;
        if (cmp->matrix)
            c->cand_only = cmp->base.groups[c->cand_group].entries - c->pairs;
        for (size_t m = 0; m < cmp->n_metric_names; m++)
            if (m < 2 || c->metrics[m].n > 0)
                c->listed[c->n_listed++] = m;
        st = sort_transitions(cmp, c);
    }
    if (st == ASSAY_OK)
        st = resample_all(cmp);
    return st == ASSAY_OK ? st : nomem(err);
}

/* The candidate's (or the matrix record's) regression gate, if any. */
static void take_regression(assay_compare *cmp, const assay__gates *g)
{
    if (!isnan(g->regression_max_drop))
        cmp->max_drop = g->regression_max_drop;
    if (!isnan(g->regression_alpha))
        cmp->alpha = g->regression_alpha;
}

assay_status assay_compare_load(const char *base_path,
                                const char *candidate_path, assay_compare **out,
                                assay_error *err)
{
    *out = NULL;
    if (!base_path || !candidate_path)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_compare_load needs two records");
    assay_compare *cmp = compare_new();
    if (!cmp || !(cmp->base.path = strdup(base_path)) ||
        !(cmp->cand.path = strdup(candidate_path))) {
        assay_compare_free(cmp);
        return nomem(err);
    }
    assay_status st =
        assay__record_scan(base_path, base_header, base_result, cmp, err);
    if (st == ASSAY_OK)
        st = assay__record_scan(candidate_path, cand_header, cand_result, cmp,
                                err);
    if (st == ASSAY_OK) {
        take_regression(cmp, &cmp->cand.gates);
        st = finish(cmp, err);
    }
    if (st != ASSAY_OK) {
        assay_compare_free(cmp);
        return st;
    }
    *out = cmp;
    return ASSAY_OK;
}

assay_status assay_compare_load_matrix(const char *record_path,
                                       assay_compare **out, assay_error *err)
{
    *out = NULL;
    if (!record_path)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_compare_load_matrix needs a record");
    assay_compare *cmp = compare_new();
    if (!cmp || !(cmp->base.path = strdup(record_path))) {
        assay_compare_free(cmp);
        return nomem(err);
    }
    cmp->matrix = true;
    assay_status st =
        assay__record_scan(record_path, base_header, base_result, cmp, err);
    if (st == ASSAY_OK) {
        take_regression(cmp, &cmp->base.gates);
        st = pair_matrix(cmp, err);
    }
    if (st == ASSAY_OK)
        st = finish(cmp, err);
    if (st != ASSAY_OK) {
        assay_compare_free(cmp);
        return st;
    }
    *out = cmp;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ settings */

assay_status assay_compare_set_regression(assay_compare *cmp, double max_drop,
                                          double alpha, assay_error *err)
{
    if (!cmp || (!isnan(max_drop) && !(max_drop >= 0 && max_drop <= 1)) ||
        (!isnan(alpha) && !(alpha > 0 && alpha < 1)))
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "the regression gate takes a max_drop from 0 to 1 "
                            "and an alpha strictly between 0 and 1");
    if (!isnan(max_drop))
        cmp->max_drop = max_drop;
    if (!isnan(alpha))
        cmp->alpha = alpha;
    for (size_t i = 0; i < cmp->n_items; i++)
        judge(cmp, &cmp->items[i]);
    return ASSAY_OK;
}

assay_status assay_compare_set_bootstrap(assay_compare *cmp, long resamples,
                                         unsigned long long seed,
                                         assay_error *err)
{
    if (!cmp || resamples < MIN_RESAMPLES || resamples > MAX_RESAMPLES)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "the bootstrap takes from %d to %d resamples",
                            MIN_RESAMPLES, MAX_RESAMPLES);
    cmp->resamples = (size_t)resamples;
    cmp->seed = (uint64_t)seed;
    assay_status st = resample_all(cmp);
    return st == ASSAY_OK ? st : nomem(err);
}

/* ------------------------------------------------------------ public */

double assay_compare_max_drop(const assay_compare *cmp)
{
    return cmp->max_drop;
}

double assay_compare_alpha(const assay_compare *cmp)
{
    return cmp->alpha;
}

long assay_compare_resamples(const assay_compare *cmp)
{
    return (long)cmp->resamples;
}

unsigned long long assay_compare_seed(const assay_compare *cmp)
{
    return cmp->seed;
}

bool assay_compare_is_matrix(const assay_compare *cmp)
{
    return cmp->matrix;
}

const char *assay_compare_suite(const assay_compare *cmp, bool candidate)
{
    return candidate && !cmp->matrix ? cmp->cand.suite : cmp->base.suite;
}

long assay_compare_unmatched(const assay_compare *cmp, bool candidate)
{
    return cmp->unmatched[candidate ? 1 : 0];
}

size_t assay_compare_count(const assay_compare *cmp)
{
    return cmp->n_items;
}

static const cmp_group *side_group(const assay_compare *cmp, size_t index,
                                   bool candidate)
{
    if (index >= cmp->n_items)
        return NULL;
    const comparison *c = &cmp->items[index];
    if (!candidate)
        return &cmp->base.groups[c->base_group];
    return cmp->matrix ? &cmp->base.groups[c->cand_group]
                       : &cmp->cand.groups[c->cand_group];
}

const char *assay_compare_target(const assay_compare *cmp, size_t index,
                                 bool candidate)
{
    const cmp_group *g = side_group(cmp, index, candidate);
    return g ? g->target : NULL;
}

const char *assay_compare_prompt(const assay_compare *cmp, size_t index,
                                 bool candidate)
{
    const cmp_group *g = side_group(cmp, index, candidate);
    return g ? g->prompt : NULL;
}

long assay_compare_stat_of(const assay_compare *cmp, size_t index,
                           assay_compare_stat stat)
{
    if (index >= cmp->n_items)
        return -1;
    const comparison *c = &cmp->items[index];
    switch (stat) {
    case ASSAY_COMPARE_PAIRS:
        return c->pairs;
    case ASSAY_COMPARE_BASE_ONLY:
        return c->base_only;
    case ASSAY_COMPARE_CANDIDATE_ONLY:
        return c->cand_only;
    case ASSAY_COMPARE_NEWLY_FAILING:
        return c->newly_failing;
    case ASSAY_COMPARE_NEWLY_PASSING:
        return c->newly_passing;
    }
    return -1;
}

const char *assay_verdict_text(assay_verdict verdict)
{
    switch (verdict) {
    case ASSAY_VERDICT_NO_CHANGE:
        return "no significant change";
    case ASSAY_VERDICT_REGRESSED:
        return "regressed";
    case ASSAY_VERDICT_IMPROVED:
        return "improved";
    case ASSAY_VERDICT_TOO_SMALL:
        return "suite too small to tell";
    case ASSAY_VERDICT_ALLOWED_DROP:
        return "dropped within the allowed margin";
    }
    return "unknown";
}

size_t assay_compare_metric_count(const assay_compare *cmp, size_t index)
{
    return index < cmp->n_items ? cmp->items[index].n_listed : 0;
}

static const cmp_metric *metric_at(const assay_compare *cmp, size_t index,
                                   size_t metric, size_t *which)
{
    if (index >= cmp->n_items || metric >= cmp->items[index].n_listed)
        return NULL;
    *which = cmp->items[index].listed[metric];
    return &cmp->items[index].metrics[*which];
}

const char *assay_compare_metric_name(const assay_compare *cmp, size_t index,
                                      size_t metric)
{
    size_t which;
    return metric_at(cmp, index, metric, &which) ? cmp->metric_names[which]
                                                 : NULL;
}

double assay_compare_metric_stat(const assay_compare *cmp, size_t index,
                                 size_t metric, assay_diff_stat stat)
{
    size_t which;
    const cmp_metric *m = metric_at(cmp, index, metric, &which);
    if (!m)
        return NAN;
    double n = (double)m->n;
    switch (stat) {
    case ASSAY_DIFF_N:
        return n;
    case ASSAY_DIFF_BASE_MEAN:
        return m->n ? m->base_sum / n : NAN;
    case ASSAY_DIFF_CANDIDATE_MEAN:
        return m->n ? m->cand_sum / n : NAN;
    case ASSAY_DIFF_MEAN:
        return m->n ? (m->cand_sum - m->base_sum) / n : NAN;
    case ASSAY_DIFF_LOW:
        return m->low;
    case ASSAY_DIFF_HIGH:
        return m->high;
    case ASSAY_DIFF_P_VALUE:
        return m->p;
    case ASSAY_DIFF_MDE:
        return m->mde;
    }
    return NAN;
}

assay_verdict assay_compare_metric_verdict(const assay_compare *cmp,
                                           size_t index, size_t metric)
{
    size_t which;
    const cmp_metric *m = metric_at(cmp, index, metric, &which);
    return m ? m->verdict : ASSAY_VERDICT_TOO_SMALL;
}

size_t assay_compare_transition_count(const assay_compare *cmp, size_t index)
{
    return index < cmp->n_items ? cmp->items[index].n_transitions : 0;
}

const char *assay_compare_transition(const assay_compare *cmp, size_t index,
                                     size_t t, int *repeat, assay_outcome *base,
                                     assay_outcome *candidate)
{
    if (index >= cmp->n_items || t >= cmp->items[index].n_transitions)
        return NULL;
    const cmp_transition *tr = &cmp->items[index].transitions[t];
    if (repeat)
        *repeat = (int)tr->repeat;
    /* the internal and public outcome enums are listed in the same order */
    if (base)
        *base = (assay_outcome)tr->base;
    if (candidate)
        *candidate = (assay_outcome)tr->cand;
    return case_name(cmp, tr->case_id);
}

bool assay_compare_passed(const assay_compare *cmp)
{
    for (size_t i = 0; i < cmp->n_items; i++)
        for (size_t m = 0; m < cmp->items[i].n_listed; m++)
            if (cmp->items[i].metrics[cmp->items[i].listed[m]].verdict ==
                ASSAY_VERDICT_REGRESSED)
                return false;
    return true;
}
