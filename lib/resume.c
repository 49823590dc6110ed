/*
 * resume.c - reading an interrupted run record back so that a run can
 * finish it: the (case, target, prompt, repeat) keys it holds, its results
 * counted again, and the file made fit to append to.
 *
 * A run killed mid-write (kill -9, a crash, a full disk) leaves a last
 * line without its newline: with `repair` it is cut off the file, never
 * read as a result. A run stopped cleanly (Ctrl-C, the cost limit) closes
 * with a summary line: it is cut off too, since the resumed run writes the
 * summary of everything. The header must say the record was written by
 * the same configuration: the suite's config_hash, and the same selection
 * and shard, or results of another experiment would be mixed in.
 *
 * What it does not do: write results (journal.c) or decide what to send
 * (run.c asks assay__resume_done through control.c).
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "checks/checks.h"

/* Case ids of one record: enough for tens of millions of results. */
#define MAX_ID_BYTES ((size_t)1 << 30)

struct assay__resume {
    assay__intern *cases;
    assay__slotmap *keys; /* (case, target * n_prompts + prompt, repeat) */
    size_t n_prompts;
    bool fresh;
};

double assay__list_cost(const char *model, long prompt_tokens,
                        long completion_tokens)
{
    double in, out;
    if (!model || prompt_tokens < 0 || completion_tokens < 0 ||
        !assay__price_of(model, &in, &out))
        return NAN;
    return ((double)prompt_tokens * in + (double)completion_tokens * out) / 1e6;
}

/* ------------------------------------------------------------ repair */

/* Where the file's lines end: after the last complete line, and where
   that line starts. */
typedef struct line_ends {
    off_t complete;   /* bytes up to and with the last '\n' */
    off_t last_start; /* start of the last complete line */
    long lines;       /* complete lines */
    bool last_is_summary;
} line_ends;

static bool is_summary_line(const char *line)
{
    /* The journal writes the type first: no parse needed. */
    return !strncmp(line, "{\"type\":\"summary\"", 17);
}

static assay_status find_line_ends(FILE *f, const char *path, line_ends *e,
                                   char **header, assay_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    off_t at = 0;
    *e = (line_ends){0};
    *header = NULL;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n')
            break; /* cut short: not a line */
        if (e->lines == 0 && !(*header = strdup(line))) {
            free(line);
            return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                "out of memory");
        }
        e->last_start = at;
        at += len;
        e->complete = at;
        e->lines++;
        e->last_is_summary = e->lines > 1 && is_summary_line(line);
    }
    free(line);
    if (ferror(f)) {
        free(*header);
        *header = NULL;
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0, "read error: %s",
                            strerror(errno));
    }
    return ASSAY_OK;
}

static assay_status cut_file(FILE *f, const char *path, off_t size,
                             assay_error *err)
{
    if (fflush(f) != 0 || ftruncate(fileno(f), size) != 0)
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "cannot repair the run record: %s",
                            strerror(errno));
    return ASSAY_OK;
}

/* Reads the header line (NULL when no line is complete) and where the
   lines end, changing nothing. */
static assay_status read_ends(const char *path, line_ends *e, char **header,
                              assay_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "cannot open the run record to resume: %s",
                            strerror(errno));
    assay_status st = find_line_ends(f, path, e, header, err);
    fclose(f);
    return st;
}

/* Cuts a partial last line, and a closing summary, off the file. */
static assay_status repair(const char *path, const line_ends *e,
                           assay_error *err)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "cannot open the run record to resume: %s",
                            strerror(errno));
    off_t keep = e->last_is_summary ? e->last_start : e->complete;
    assay_status st = ASSAY_OK;
    if (fseeko(f, 0, SEEK_END) == 0 && ftello(f) != keep)
        st = cut_file(f, path, keep, err);
    if (fclose(f) != 0 && st == ASSAY_OK)
        st = assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                          "cannot repair the run record: %s", strerror(errno));
    return st;
}

/* ------------------------------------------------------------ header */

/* Absent and {} are the same selection. */
static bool same_json(const cJSON *a, const cJSON *b)
{
    bool a_empty = !a || (cJSON_IsObject(a) && !a->child);
    bool b_empty = !b || (cJSON_IsObject(b) && !b->child);
    if (a_empty || b_empty)
        return a_empty == b_empty;
    return cJSON_Compare(a, b, true);
}

static void describe(const cJSON *v, char *out, size_t size)
{
    char *text = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(out, size, "%s", text ? text : "none");
    cJSON_free(text);
}

static assay_status check_header(const char *path, const char *line,
                                 const assay_suite *suite,
                                 const cJSON *selection, const cJSON *shard,
                                 assay_error *err)
{
    cJSON *h = cJSON_Parse(line);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(h, "type");
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(h, "config_hash");
    assay_status st = ASSAY_OK;
    char had[256], have[256];
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "run")) {
        st = assay__error(err, ASSAY_ERR_RECORD, path, 1, 0,
                          "not a run record: the first line must be the "
                          "'run' header");
    } else if (!cJSON_IsString(hash) ||
               strcmp(hash->valuestring, suite->config_hash)) {
        st = assay__error(
            err, ASSAY_ERR_RECORD, path, 1, 0,
            "the record was written by another configuration of the suite "
            "(config_hash %.12s..., this one is %.12s...): resume it with "
            "the suite file and the --target, --prompt and --repeat options "
            "it was run with",
            cJSON_IsString(hash) ? hash->valuestring : "(none)",
            suite->config_hash);
    } else if (!same_json(cJSON_GetObjectItemCaseSensitive(h, "selection"),
                          selection)) {
        describe(cJSON_GetObjectItemCaseSensitive(h, "selection"), had,
                 sizeof had);
        describe(selection, have, sizeof have);
        st = assay__error(err, ASSAY_ERR_RECORD, path, 1, 0,
                          "the record was written with another selection of "
                          "cases (%s, this run has %s): resume it with the "
                          "same --filter, --sample, --seed and --limit",
                          had, have);
    } else if (!same_json(cJSON_GetObjectItemCaseSensitive(h, "shard"),
                          shard)) {
        describe(cJSON_GetObjectItemCaseSensitive(h, "shard"), had, sizeof had);
        describe(shard, have, sizeof have);
        st = assay__error(err, ASSAY_ERR_RECORD, path, 1, 0,
                          "the record is of another shard (%s, this run is "
                          "%s): resume it with the same --shard",
                          had, have);
    }
    cJSON_Delete(h);
    return st;
}

/* ------------------------------------------------------------ results */

typedef struct loader {
    assay__resume *r;
    const assay_suite *suite;
    assay_summary *summary;
    assay_progress *progress;
} loader;

static long index_of_target(const assay_suite *s, const char *name)
{
    for (size_t i = 0; i < s->n_targets; i++)
        if (!strcmp(s->targets[i].name, name))
            return (long)i;
    return -1;
}

static long index_of_prompt(const assay_suite *s, const char *name)
{
    if (!name)
        name = ASSAY__DEFAULT_PROMPT;
    for (size_t i = 0; i < s->n_prompts; i++)
        if (!strcmp(s->prompts[i].name, name))
            return (long)i;
    return -1;
}

static assay_status on_header(void *user, const assay__record_header *h,
                              assay_error *err)
{
    (void)user;
    (void)h;
    (void)err;
    return ASSAY_OK; /* checked before the scan */
}

static void count_progress(assay_progress *p, const assay__observation *o,
                           const char *model)
{
    p->done++;
    p->resumed++;
    p->passed += o->outcome == ASSAY__OUTCOME_PASS;
    p->failed += o->outcome == ASSAY__OUTCOME_FAIL;
    p->errors += o->outcome == ASSAY__OUTCOME_ERROR;
    if (o->prompt_tokens > 0)
        p->prompt_tokens += o->prompt_tokens;
    if (o->completion_tokens > 0)
        p->completion_tokens += o->completion_tokens;
    double cost =
        assay__list_cost(model, o->prompt_tokens, o->completion_tokens);
    if (!isnan(cost))
        p->cost += cost;
}

static assay_status on_result(void *user, const assay__observation *o,
                              const char *path, long line, assay_error *err)
{
    loader *l = user;
    long target = index_of_target(l->suite, o->target);
    long prompt = index_of_prompt(l->suite, o->prompt);
    if (target < 0 || prompt < 0 || !o->case_id)
        return assay__error(err, ASSAY_ERR_RECORD, path, (int)line, 0,
                            "a result of target '%s', prompt '%s' that the "
                            "suite does not have",
                            o->target, o->prompt ? o->prompt : "default");
    uint32_t id, slot = 0;
    bool inserted;
    assay_status st = assay__intern_id(l->r->cases, o->case_id, &id);
    if (st == ASSAY_OK)
        st = assay__slotmap_put(
            l->r->keys, id,
            (uint32_t)((size_t)target * l->r->n_prompts + (size_t)prompt),
            (uint32_t)o->repeat, &slot, &inserted);
    if (st != ASSAY_OK)
        return assay__error(err, st, path, (int)line, 0,
                            "cannot hold the finished results: %s",
                            assay_strerror(st));
    if (!inserted)
        return ASSAY_OK; /* counted once, as it will be sent no more */
    if (l->summary && (st = assay__summary_observe(l->summary, o)) != ASSAY_OK)
        return assay__error(err, st, path, (int)line, 0, "%s",
                            assay_strerror(st));
    if (l->progress)
        count_progress(l->progress, o, l->suite->targets[target].model);
    return ASSAY_OK;
}

/* ------------------------------------------------------------ the set */

static assay__resume *resume_new(const assay_suite *suite)
{
    assay__resume *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->n_prompts = suite->n_prompts ? suite->n_prompts : 1;
    r->cases = assay__intern_new(MAX_ID_BYTES);
    r->keys = assay__slotmap_new();
    if (!r->cases || !r->keys) {
        assay__resume_free(r);
        return NULL;
    }
    return r;
}

void assay__resume_free(assay__resume *r)
{
    if (!r)
        return;
    assay__intern_free(r->cases);
    assay__slotmap_free(r->keys);
    free(r);
}

assay_status assay__resume_load(const char *path, const assay_suite *suite,
                                const cJSON *selection, const cJSON *shard,
                                bool repair_file, assay_summary *summary,
                                assay_progress *progress, assay__resume **out,
                                assay_error *err)
{
    *out = NULL;
    char *header = NULL;
    line_ends ends = {0};
    assay_status st = read_ends(path, &ends, &header, err);
    if (st != ASSAY_OK)
        return st;
    /* Nothing is changed before the record is known to be this run's. */
    if (header)
        st = check_header(path, header, suite, selection, shard, err);
    free(header);
    if (st == ASSAY_OK && repair_file)
        st = repair(path, &ends, err);
    if (st != ASSAY_OK)
        return st;
    assay__resume *r = resume_new(suite);
    if (!r)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    r->fresh = ends.lines == 0;
    loader l = {r, suite, summary, progress};
    if (!r->fresh)
        st = assay__record_scan(path, on_header, on_result, &l, err);
    if (st != ASSAY_OK) {
        assay__resume_free(r);
        return st;
    }
    *out = r;
    return ASSAY_OK;
}

bool assay__resume_done(const assay__resume *r, const char *case_id,
                        size_t target, size_t prompt, int repeat)
{
    long id = assay__intern_find(r->cases, case_id);
    if (id < 0)
        return false;
    return assay__slotmap_get(r->keys, (uint32_t)id,
                              (uint32_t)(target * r->n_prompts + prompt),
                              (uint32_t)repeat) >= 0;
}

bool assay__resume_fresh(const assay__resume *r)
{
    return r->fresh;
}
