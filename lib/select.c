/*
 * select.c - which cases of a dataset a run takes: `--filter key=value`,
 * `--sample N --seed S` and `--limit N`, applied in that order, and then
 * `--shard I/N`.
 *
 * The selector sits between the dataset's reader and its user and pulls
 * cases one at a time. Filters and the limit keep nothing. The sample is a
 * reservoir (Algorithm R): it holds N cases while the whole dataset streams
 * past, so memory follows N and not the file, and the same seed over the
 * same data always gives the same cases. They are handed out in dataset
 * order, so that a sampled run reads like a shorter dataset.
 *
 * The shard comes last, so the N shards of a selection split exactly the
 * cases the unsharded run takes. A case belongs to shard
 * SHA-256(id) mod N (the digest's first 8 bytes, big-endian): it depends
 * on the id alone, so shards stay stable when the dataset grows or is
 * reordered.
 *
 * What it does not do: read files, or know what makes a record bad
 * (dataset.c does both).
 */
#include "internal.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest sample; its cases are all held at once. */
#define MAX_SAMPLE 10000000L

struct assay__selector {
    const assay__select *sel;
    long emitted;
    /* The reservoir, filled before the first case goes out. */
    assay__case **pool;
    long *order; /* each pooled case's position among the matching ones */
    long n_pool;
    bool filled;
    long next_out;
    uint64_t rng;
};

void assay__select_init(assay__select *sel)
{
    memset(sel, 0, sizeof *sel);
    sel->limit = -1;
    sel->sample = -1;
}

void assay__select_release(assay__select *sel)
{
    for (size_t i = 0; i < sel->n_filters; i++) {
        free(sel->filters[i].path);
        free(sel->filters[i].value);
    }
    free(sel->filters);
    sel->filters = NULL;
    sel->n_filters = 0;
}

assay_status assay__select_add_filter(assay__select *sel, const char *path,
                                      const char *value)
{
    if (!path || !*path || !value)
        return ASSAY_ERR_INVALID;
    assay__filter *f = realloc(sel->filters,
                               (sel->n_filters + 1) * sizeof *f);
    if (!f)
        return ASSAY_ERR_NOMEM;
    sel->filters = f;
    f = &sel->filters[sel->n_filters];
    f->path = strdup(path);
    f->value = strdup(value);
    if (!f->path || !f->value) {
        free(f->path);
        free(f->value);
        return ASSAY_ERR_NOMEM;
    }
    sel->n_filters++;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ filters */

/* Equal to `want` as a template would print `v`. */
static bool reads_as(const cJSON *v, const char *want)
{
    if (cJSON_IsString(v))
        return !strcmp(v->valuestring, want);
    if (cJSON_IsTrue(v))
        return !strcmp(want, "true");
    if (cJSON_IsFalse(v))
        return !strcmp(want, "false");
    if (cJSON_IsNull(v))
        return !strcmp(want, "null");
    if (cJSON_IsNumber(v)) {
        char *end;
        double d = strtod(want, &end);
        return end != want && !*end && d == v->valuedouble;
    }
    return false;
}

bool assay__select_matches(const assay__select *sel, const assay__case *c)
{
    for (size_t i = 0; i < sel->n_filters; i++) {
        const assay__filter *f = &sel->filters[i];
        const cJSON *v = assay__json_at_path(c->vars, f->path);
        bool ok = v ? reads_as(v, f->value)
                    : !strcmp(f->path, "id") && !strcmp(c->id, f->value);
        if (!ok)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ sampling */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), without the bias of a plain modulo. */
static uint64_t below(uint64_t *state, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do
        r = splitmix64(state);
    while (r >= limit);
    return r % n;
}

assay_status assay__selector_new(const assay__select *sel,
                                 assay__selector **out, assay_error *err)
{
    *out = NULL;
    if (sel->sample > MAX_SAMPLE)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "a sample holds at most %ld cases",
                            MAX_SAMPLE);
    assay__selector *s = calloc(1, sizeof *s);
    if (!s)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory");
    s->sel = sel;
    s->rng = sel->seed;
    if (sel->sample > 0) {
        s->pool = calloc((size_t)sel->sample, sizeof *s->pool);
        s->order = calloc((size_t)sel->sample, sizeof *s->order);
        if (!s->pool || !s->order) {
            assay__selector_free(s);
            return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                "out of memory for a sample of %ld cases",
                                sel->sample);
        }
    }
    *out = s;
    return ASSAY_OK;
}

void assay__selector_free(assay__selector *s)
{
    if (!s)
        return;
    for (long i = s->next_out; i < s->n_pool; i++)
        assay__case_unref(s->pool[i]);
    free(s->pool);
    free(s->order);
    free(s);
}

/* The next case that passes the filters. */
static assay_status next_match(assay__selector *s, assay__pull_fn pull,
                               void *source, assay__case **out,
                               assay_error *err)
{
    for (;;) {
        assay_status st = pull(source, out, err);
        if (st != ASSAY_OK || !*out)
            return st;
        if (assay__select_matches(s->sel, *out))
            return ASSAY_OK;
        assay__case_unref(*out);
        *out = NULL;
    }
}

/* Sorts the pool into dataset order (a shell sort that moves `order` and
   `pool` together, since qsort cannot carry the pair). */
static void sort_pool(assay__selector *s)
{
    long n = s->n_pool;
    for (long gap = n / 2; gap > 0; gap /= 2)
        for (long i = gap; i < n; i++) {
            long o = s->order[i];
            assay__case *c = s->pool[i];
            long j = i;
            for (; j >= gap && s->order[j - gap] > o; j -= gap) {
                s->order[j] = s->order[j - gap];
                s->pool[j] = s->pool[j - gap];
            }
            s->order[j] = o;
            s->pool[j] = c;
        }
}

static assay_status fill_pool(assay__selector *s, assay__pull_fn pull,
                              void *source, assay_error *err)
{
    long k = s->sel->sample;
    for (long seen = 0;; seen++) {
        assay__case *c;
        assay_status st = next_match(s, pull, source, &c, err);
        if (st != ASSAY_OK)
            return st;
        if (!c)
            break;
        if (seen < k) {
            s->pool[s->n_pool] = c;
            s->order[s->n_pool++] = seen;
            continue;
        }
        uint64_t j = below(&s->rng, (uint64_t)seen + 1);
        if (j < (uint64_t)k) {
            assay__case_unref(s->pool[j]);
            s->pool[j] = c;
            s->order[j] = seen;
        } else {
            assay__case_unref(c);
        }
    }
    sort_pool(s);
    s->filled = true;
    return ASSAY_OK;
}

/* The next case after the filters, the sample and the limit. */
static assay_status next_selected(assay__selector *s, assay__pull_fn pull,
                                  void *source, assay__case **out,
                                  assay_error *err)
{
    *out = NULL;
    const assay__select *sel = s->sel;
    if (sel->limit >= 0 && s->emitted >= sel->limit)
        return ASSAY_OK;
    assay_status st = ASSAY_OK;
    if (sel->sample < 0) {
        st = next_match(s, pull, source, out, err);
    } else if (sel->sample > 0) {
        if (!s->filled)
            st = fill_pool(s, pull, source, err);
        if (st == ASSAY_OK && s->next_out < s->n_pool)
            *out = s->pool[s->next_out++];
    }
    if (*out)
        s->emitted++;
    return st;
}

assay_status assay__selector_next(assay__selector *s, assay__pull_fn pull,
                                  void *source, assay__case **out,
                                  assay_error *err)
{
    for (;;) {
        assay_status st = next_selected(s, pull, source, out, err);
        if (st != ASSAY_OK || !*out ||
            assay__select_in_shard(s->sel, (*out)->id))
            return st;
        assay__case_unref(*out);
        *out = NULL;
    }
}

/* ------------------------------------------------------------ shards */

bool assay__select_in_shard(const assay__select *sel, const char *case_id)
{
    if (sel->shard_count < 2)
        return true;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)case_id, strlen(case_id), digest);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | digest[i];
    return h % sel->shard_count == sel->shard_index;
}

/* {"filters":[[K,V],...],"sample":N,"seed":S,"limit":N}, the keys that are
   set only, so that records without a selection compare equal. */
cJSON *assay__select_to_json(const assay__select *sel)
{
    cJSON *json = cJSON_CreateObject();
    if (!json)
        return NULL;
    bool ok = true;
    if (sel->n_filters) {
        cJSON *filters = cJSON_AddArrayToObject(json, "filters");
        ok = filters != NULL;
        for (size_t i = 0; ok && i < sel->n_filters; i++) {
            cJSON *pair = cJSON_CreateArray();
            ok = pair && cJSON_AddItemToArray(filters, pair);
            ok = ok && cJSON_AddItemToArray(
                           pair, cJSON_CreateString(sel->filters[i].path));
            ok = ok && cJSON_AddItemToArray(
                           pair, cJSON_CreateString(sel->filters[i].value));
        }
    }
    if (ok && sel->sample >= 0) {
        /* a string: a double would round seeds past 2^53 */
        char seed[24];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)sel->seed);
        ok = cJSON_AddNumberToObject(json, "sample", (double)sel->sample) &&
             cJSON_AddStringToObject(json, "seed", seed);
    }
    if (ok && sel->limit >= 0)
        ok = cJSON_AddNumberToObject(json, "limit", (double)sel->limit);
    if (!ok) {
        cJSON_Delete(json);
        return NULL;
    }
    return json;
}
