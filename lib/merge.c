/*
 * merge.c - joining the records of the shards of one run (`--shard I/N`)
 * into the record the unsharded run would have written.
 *
 * Every shard's header must name the same configuration: the suite's
 * config_hash, the same selection (filters, sample, limit) and the same
 * shard count N, and each shard index must come once. Missing shards and
 * shards that did not finish (no closing summary, or one that says
 * "interrupted") are refused unless the caller allows a partial merge;
 * the error names them. The output is the first shard's header without
 * its `shard` (plus `merged`: which shards went in), every result line
 * copied byte for byte, shard by shard in index order, and a summary line
 * recomputed from those results by the same reader every report uses, so
 * its statistics are those of the unsharded run. A result key (case,
 * target, prompt, repeat) found twice is refused: shards of one selection
 * never share a case.
 *
 * It streams: memory holds the result keys (about 40 bytes a result), not
 * the records. The output is written to a temporary file beside it and
 * renamed into place, so a failed merge leaves no half record behind.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_SHARDS 1000000L
#define MAX_KEY_BYTES ((size_t)1 << 30)

typedef struct shard {
    const char *path;
    cJSON *header;
    long index;
} shard;

typedef struct merger {
    shard *shards;
    size_t n;
    long count;           /* N */
    assay__intern *ids;   /* case ids, and "target\x1fprompt" groups */
    assay__slotmap *keys; /* (case, group, repeat) */
    assay__buf scratch;
    FILE *out;
    const char *tmp_path;
    assay_merge_info *info;
} merger;

/* ------------------------------------------------------------ headers */

static assay_status read_header(const char *path, cJSON **out, assay_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "cannot open the shard record: %s",
                            strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    fclose(f);
    if (len > 0)
        *out = cJSON_ParseWithLength(line, (size_t)len);
    free(line);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(*out, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "run")) {
        cJSON_Delete(*out);
        *out = NULL;
        return assay__error(err, ASSAY_ERR_RECORD, path, 1, 0,
                            "not a run record: the first line must be the "
                            "'run' header");
    }
    return ASSAY_OK;
}

/* A whole number in [min, max] at `key` of `obj`, else -1. */
static long whole_at(const cJSON *obj, const char *key, long min, long max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < (double)min ||
        v->valuedouble > (double)max ||
        v->valuedouble != (double)(long)v->valuedouble)
        return -1;
    return (long)v->valuedouble;
}

static assay_status read_shard(shard *s, assay_error *err)
{
    assay_status st = read_header(s->path, &s->header, err);
    if (st != ASSAY_OK)
        return st;
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(s->header, "shard");
    long count = whole_at(sh, "count", 2, MAX_SHARDS);
    s->index = count > 0 ? whole_at(sh, "index", 0, count - 1) : -1;
    if (s->index < 0)
        return assay__error(err, ASSAY_ERR_RECORD, s->path, 1, 0,
                            "not a shard record: its header has no "
                            "'shard': {index, count} (run it with "
                            "--shard I/N)");
    return ASSAY_OK;
}

static const char *string_at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Absent and {} are the same selection. */
static bool same_selection(const cJSON *a, const cJSON *b)
{
    bool a_empty = !a || !a->child, b_empty = !b || !b->child;
    if (a_empty || b_empty)
        return a_empty == b_empty;
    return cJSON_Compare(a, b, true);
}

/* The shard against the first: the same run, another index. */
static assay_status check_same_run(const shard *first, const shard *s,
                                   long count, assay_error *err)
{
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(s->header, "shard");
    if (strcmp(string_at(first->header, "config_hash"),
               string_at(s->header, "config_hash")))
        return assay__error(err, ASSAY_ERR_RECORD, s->path, 1, 0,
                            "this shard is of another suite or "
                            "configuration than %s (config_hash %.12s... "
                            "against %.12s...)",
                            first->path, string_at(s->header, "config_hash"),
                            string_at(first->header, "config_hash"));
    if (!same_selection(
            cJSON_GetObjectItemCaseSensitive(first->header, "selection"),
            cJSON_GetObjectItemCaseSensitive(s->header, "selection")))
        return assay__error(err, ASSAY_ERR_RECORD, s->path, 1, 0,
                            "this shard selected its cases otherwise than "
                            "%s (--filter, --sample, --seed or --limit "
                            "differ)",
                            first->path);
    if (whole_at(sh, "count", 2, MAX_SHARDS) != count)
        return assay__error(err, ASSAY_ERR_RECORD, s->path, 1, 0,
                            "this shard is one of %ld, %s one of %ld",
                            whole_at(sh, "count", 2, MAX_SHARDS), first->path,
                            count);
    return ASSAY_OK;
}

static int by_index(const void *a, const void *b)
{
    long x = ((const shard *)a)->index, y = ((const shard *)b)->index;
    return (x > y) - (x < y);
}

/* "1, 4, 7" (the first ten) of the indexes no record covers. */
static void list_missing(const bool *have, long count, char *out, size_t size)
{
    size_t used = 0;
    int listed = 0;
    out[0] = '\0';
    for (long i = 0; i < count && used < size; i++) {
        if (have[i])
            continue;
        int w = listed < 10 ? snprintf(out + used, size - used, "%s%ld",
                                       listed ? ", " : "", i)
                            : snprintf(out + used, size - used, ", ...");
        if (w < 0 || listed++ >= 10)
            break;
        used += (size_t)w;
    }
}

static assay_status check_shards(merger *m, bool allow_partial,
                                 assay_error *err)
{
    const cJSON *sh =
        cJSON_GetObjectItemCaseSensitive(m->shards[0].header, "shard");
    m->count = whole_at(sh, "count", 2, MAX_SHARDS);
    bool *have = calloc((size_t)m->count, sizeof *have);
    if (!have)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < m->n; i++) {
        const shard *s = &m->shards[i];
        st = check_same_run(&m->shards[0], s, m->count, err);
        if (st == ASSAY_OK && have[s->index])
            st = assay__error(err, ASSAY_ERR_RECORD, s->path, 1, 0,
                              "shard %ld of %ld is given twice", s->index,
                              m->count);
        if (st == ASSAY_OK)
            have[s->index] = true;
    }
    m->info->count = m->count;
    m->info->missing = m->count - (long)m->n;
    if (st == ASSAY_OK && m->info->missing > 0 && !allow_partial) {
        char missing[128];
        list_missing(have, m->count, missing, sizeof missing);
        st = assay__error(err, ASSAY_ERR_RECORD, NULL, 0, 0,
                          "%ld of the %ld shards are missing (index %s); "
                          "merge them all, or allow a partial merge",
                          m->info->missing, m->count, missing);
    }
    free(have);
    return st;
}

/* ------------------------------------------------------------ output */

static assay_status write_error(const merger *m, assay_error *err)
{
    return assay__error(err, ASSAY_ERR_IO, m->tmp_path, 0, 0,
                        "cannot write the merged record: %s", strerror(errno));
}

/* The first shard's header, its shard replaced by what was merged. */
static assay_status write_header(merger *m, assay_error *err)
{
    cJSON *h = cJSON_Duplicate(m->shards[0].header, true);
    cJSON *merged = cJSON_CreateObject();
    cJSON *indexes = cJSON_CreateArray();
    bool ok = h && merged && indexes &&
              cJSON_AddNumberToObject(merged, "count", (double)m->count);
    for (size_t i = 0; ok && i < m->n; i++)
        ok = cJSON_AddItemToArray(
            indexes, cJSON_CreateNumber((double)m->shards[i].index));
    char *text = NULL;
    if (ok) {
        cJSON_AddItemToObject(merged, "shards", indexes);
        indexes = NULL;
        cJSON_DeleteItemFromObjectCaseSensitive(h, "shard");
        cJSON_AddItemToObject(h, "merged", merged);
        merged = NULL;
        text = cJSON_PrintUnformatted(h);
    }
    cJSON_Delete(h);
    cJSON_Delete(merged);
    cJSON_Delete(indexes);
    if (!text)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    bool written = fputs(text, m->out) >= 0 && fputc('\n', m->out) != EOF;
    cJSON_free(text);
    return written ? ASSAY_OK : write_error(m, err);
}

/* Adds the result's key; a key seen before is an error. */
static assay_status add_key(merger *m, const shard *s, long line_no,
                            const cJSON *line, assay_error *err)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(line, "case");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(line, "prompt");
    long repeat = cJSON_GetObjectItemCaseSensitive(line, "repeat")
                      ? whole_at(line, "repeat", 0, 1000000)
                      : 0;
    if (!cJSON_IsString(c) || repeat < 0)
        return assay__error(err, ASSAY_ERR_RECORD, s->path, (int)line_no, 0,
                            "a result needs a 'case' and a whole 'repeat'");
    assay__buf_reset(&m->scratch);
    assay_status st = assay__buf_printf(
        &m->scratch, "%s\x1f%s", string_at(line, "target"),
        cJSON_IsString(p) ? p->valuestring : ASSAY__DEFAULT_PROMPT);
    uint32_t id, group, slot = 0;
    bool inserted = false;
    if (st == ASSAY_OK)
        st = assay__intern_id(m->ids, c->valuestring, &id);
    if (st == ASSAY_OK)
        st = assay__intern_id(m->ids, m->scratch.data, &group);
    if (st == ASSAY_OK)
        st = assay__slotmap_put(m->keys, id, group, (uint32_t)repeat, &slot,
                                &inserted);
    if (st != ASSAY_OK)
        return assay__error(err, st, s->path, (int)line_no, 0,
                            "cannot hold the result keys: %s",
                            assay_strerror(st));
    if (!inserted)
        return assay__error(err, ASSAY_ERR_RECORD, s->path, (int)line_no, 0,
                            "case '%s', target '%s', repeat %ld is in "
                            "another shard too",
                            c->valuestring, string_at(line, "target"), repeat);
    return ASSAY_OK;
}

/* A shard finished when its last line is a summary not interrupted. */
static bool finished_summary(const cJSON *line)
{
    return !strcmp(string_at(line, "type"), "summary") &&
           !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(line, "interrupted"));
}

/* Copies the shard's result lines; *finished: it closed with a summary. */
static assay_status copy_results(merger *m, const shard *s, bool *finished,
                                 assay_error *err)
{
    *finished = false;
    FILE *f = fopen(s->path, "rb");
    if (!f)
        return assay__error(err, ASSAY_ERR_IO, s->path, 0, 0,
                            "cannot open the shard record: %s",
                            strerror(errno));
    char *text = NULL;
    size_t cap = 0;
    ssize_t len;
    long line_no = 0;
    assay_status st = ASSAY_OK;
    while (st == ASSAY_OK && (len = getline(&text, &cap, f)) > 0) {
        line_no++;
        if (line_no == 1 || text[len - 1] != '\n')
            continue; /* the header; a line cut short by a crash */
        cJSON *line = cJSON_ParseWithLength(text, (size_t)len);
        if (!cJSON_IsObject(line)) {
            st = assay__error(err, ASSAY_ERR_RECORD, s->path, (int)line_no, 0,
                              "not a JSON object");
        } else if (!strcmp(string_at(line, "type"), "result")) {
            *finished = false;
            st = add_key(m, s, line_no, line, err);
            if (st == ASSAY_OK &&
                fwrite(text, 1, (size_t)len, m->out) != (size_t)len)
                st = write_error(m, err);
            m->info->results += st == ASSAY_OK;
        } else {
            *finished = finished_summary(line);
        }
        cJSON_Delete(line);
    }
    if (st == ASSAY_OK && ferror(f))
        st = assay__error(err, ASSAY_ERR_IO, s->path, 0, 0, "read error: %s",
                          strerror(errno));
    free(text);
    fclose(f);
    return st;
}

static assay_status copy_all(merger *m, bool allow_partial, assay_error *err)
{
    assay_status st = write_header(m, err);
    for (size_t i = 0; st == ASSAY_OK && i < m->n; i++) {
        bool finished;
        st = copy_results(m, &m->shards[i], &finished, err);
        if (st != ASSAY_OK || finished)
            continue;
        m->info->unfinished++;
        if (!allow_partial)
            st = assay__error(err, ASSAY_ERR_RECORD, m->shards[i].path, 0, 0,
                              "shard %ld of %ld did not finish (no closing "
                              "summary, or an interrupted one): resume it "
                              "with --resume, or allow a partial merge",
                              m->shards[i].index, m->count);
    }
    if (st == ASSAY_OK && fflush(m->out) != 0)
        st = write_error(m, err);
    return st;
}

/* The summary of the copied results, appended as the journal writes it. */
static assay_status append_summary(const char *path, assay_error *err)
{
    assay_summary *summary;
    assay_status st = assay__record_read(path, &summary, err);
    if (st != ASSAY_OK)
        return st;
    assay__journal *j;
    st = assay__journal_open_append(path, &j, err);
    if (st == ASSAY_OK) {
        st = assay__journal_summary(j, summary, err);
        assay_status closed =
            assay__journal_close(j, st == ASSAY_OK ? err : NULL);
        if (st == ASSAY_OK)
            st = closed;
    }
    assay_summary_free(summary);
    return st;
}

/* ------------------------------------------------------------ merge */

static bool same_file(const char *a, const char *b)
{
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
           x.st_ino == y.st_ino;
}

static assay_status load_shards(merger *m, const char *const *paths,
                                const char *out_path, assay_error *err)
{
    for (size_t i = 0; i < m->n; i++) {
        m->shards[i].path = paths[i];
        if (!strcmp(paths[i], out_path) || same_file(paths[i], out_path))
            return assay__error(err, ASSAY_ERR_INVALID, paths[i], 0, 0,
                                "the merged record may not overwrite a "
                                "shard");
        assay_status st = read_shard(&m->shards[i], err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static assay_status write_merged(merger *m, const char *out_path,
                                 bool allow_partial, assay_error *err)
{
    assay__buf tmp;
    assay__buf_init(&tmp, 0);
    assay_status st = assay__buf_printf(&tmp, "%s.merging", out_path);
    if (st != ASSAY_OK) {
        assay__buf_release(&tmp);
        return assay__error(err, st, NULL, 0, 0, "out of memory");
    }
    m->tmp_path = tmp.data;
    m->out = fopen(tmp.data, "wb");
    if (!m->out)
        st = assay__error(err, ASSAY_ERR_IO, tmp.data, 0, 0,
                          "cannot create the merged record: %s",
                          strerror(errno));
    if (st == ASSAY_OK)
        st = copy_all(m, allow_partial, err);
    if (m->out && fclose(m->out) != 0 && st == ASSAY_OK)
        st = write_error(m, err);
    m->out = NULL;
    if (st == ASSAY_OK)
        st = append_summary(tmp.data, err);
    if (st == ASSAY_OK && rename(tmp.data, out_path) != 0)
        st = assay__error(err, ASSAY_ERR_IO, out_path, 0, 0,
                          "cannot put the merged record in place: %s",
                          strerror(errno));
    if (st != ASSAY_OK)
        remove(tmp.data);
    assay__buf_release(&tmp);
    return st;
}

assay_status assay_merge(const char *const *paths, size_t n,
                         const char *out_path, bool allow_partial,
                         assay_merge_info *info, assay_error *err)
{
    assay_merge_info local;
    if (!info)
        info = &local;
    *info = (assay_merge_info){0};
    if (!paths || n == 0 || !out_path)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "a merge needs shard records and an output");
    merger m = {.n = n, .info = info};
    m.shards = calloc(n, sizeof *m.shards);
    m.ids = assay__intern_new(MAX_KEY_BYTES);
    m.keys = assay__slotmap_new();
    assay__buf_init(&m.scratch, 0);
    assay_status st =
        m.shards && m.ids && m.keys
            ? ASSAY_OK
            : assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (st == ASSAY_OK)
        st = load_shards(&m, paths, out_path, err);
    if (st == ASSAY_OK) {
        qsort(m.shards, n, sizeof *m.shards, by_index);
        st = check_shards(&m, allow_partial, err);
    }
    if (st == ASSAY_OK)
        st = write_merged(&m, out_path, allow_partial, err);
    info->merged = st == ASSAY_OK ? (long)n : 0;
    for (size_t i = 0; m.shards && i < n; i++)
        cJSON_Delete(m.shards[i].header);
    free(m.shards);
    assay__intern_free(m.ids);
    assay__slotmap_free(m.keys);
    assay__buf_release(&m.scratch);
    return st;
}
