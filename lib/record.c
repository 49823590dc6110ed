/*
 * record.c - reading a run record back: as a stream of observations (for
 * summaries and comparisons) or straight into a summary.
 *
 * Reports and comparisons are computed from records, never from a run's
 * memory, so this reader and the journal must agree line for line. It
 * streams the file (memory does not grow with it), recomputes every
 * statistic from the result lines, and ignores the stored summary line,
 * which is there for people and for tools that only want the totals.
 * A last line cut short by a crash is skipped, not misread. Fields a
 * result may carry beyond the journal's (`prompt`, `cluster`, `cost`,
 * `checks[].metric`) are read when present, so records from later
 * versions keep their meaning.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A result line holds at most one reply (8 MiB by default, a few times
   that with its logprobs); a longer line is refused, not read whole. */
#define MAX_RECORD_LINE ((size_t)64 << 20)

typedef struct record_reader {
    const char *path;
    FILE *file;
    char *line;
    size_t cap;
    ssize_t len;
    long line_no;
} record_reader;

/*
 * getline() with a cap: the next line (with its newline, if any) in
 * r->line; -1 at the end, -2 when it passes MAX_RECORD_LINE.
 */
static ssize_t read_line(record_reader *r)
{
    size_t len = 0;
    for (;;) {
        if (len + 4096 + 1 > r->cap) {
            if (r->cap >= MAX_RECORD_LINE)
                return -2;
            size_t cap = r->cap ? 2 * r->cap : 8192;
            char *line = realloc(r->line, cap);
            if (!line)
                return -2;
            r->line = line;
            r->cap = cap;
        }
        if (!fgets(r->line + len, (int)(r->cap - len), r->file))
            return len ? (ssize_t)len : -1;
        len += strlen(r->line + len);
        if (len && r->line[len - 1] == '\n')
            return (ssize_t)len;
    }
}

static assay_status bad_line(const record_reader *r, assay_error *err,
                             const char *what)
{
    return assay__error(err, ASSAY_ERR_RECORD, r->path, (int)r->line_no, 0,
                        "%s", what);
}

/* The next line as JSON; *out NULL at the end. */
static assay_status next_line(record_reader *r, cJSON **out, assay_error *err)
{
    *out = NULL;
    for (;;) {
        errno = 0;
        r->len = read_line(r);
        if (r->len == -2) {
            r->line_no++;
            return bad_line(r, err, "the line is longer than 64 MiB");
        }
        if (r->len < 0)
            return ferror(r->file)
                       ? assay__error(err, ASSAY_ERR_IO, r->path, 0, 0,
                                      "read error: %s", strerror(errno))
                       : ASSAY_OK;
        r->line_no++;
        if (r->len == 1 && r->line[0] == '\n')
            continue;
        *out = cJSON_ParseWithLength(r->line, (size_t)r->len);
        if (*out && cJSON_IsObject(*out))
            return ASSAY_OK;
        cJSON_Delete(*out);
        *out = NULL;
        bool cut_short = r->line[r->len - 1] != '\n';
        if (cut_short)
            return ASSAY_OK; /* the writer died mid-line: nothing follows */
        return bad_line(r, err, "not a JSON object");
    }
}

static const char *type_of(const cJSON *line)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(line, "type");
    return cJSON_IsString(type) ? type->valuestring : "";
}

/* ------------------------------------------------------------ header */

/* The names of a header list: strings, or objects with a "name". */
static bool names_of(const cJSON *list, const char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!list)
        return true;
    if (!cJSON_IsArray(list))
        return false;
    size_t count = (size_t)cJSON_GetArraySize(list);
    const char **names = calloc(count ? count : 1, sizeof *names);
    if (!names)
        return false;
    const cJSON *item;
    cJSON_ArrayForEach (item, list) {
        const cJSON *name = cJSON_IsObject(item)
                                ? cJSON_GetObjectItemCaseSensitive(item, "name")
                                : item;
        if (!cJSON_IsString(name)) {
            free(names);
            return false;
        }
        names[(*n)++] = name->valuestring;
    }
    *out = names;
    return true;
}

static assay_status read_header(const record_reader *r, const cJSON *header,
                                assay__record_header_fn on_header, void *user,
                                assay_error *err)
{
    const cJSON *suite = cJSON_GetObjectItemCaseSensitive(header, "suite");
    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(header, "targets");
    const cJSON *repeat = cJSON_GetObjectItemCaseSensitive(header, "repeat");
    assay__record_header h = {.repeat = 1};
    if (strcmp(type_of(header), "run") || !cJSON_IsString(suite) ||
        !cJSON_IsArray(targets) ||
        !assay__gates_from_json(
            cJSON_GetObjectItemCaseSensitive(header, "gates"), &h.gates))
        return bad_line(r, err,
                        "not a run record: the first line must be the "
                        "'run' header with 'suite', 'targets' and 'gates'");
    h.suite = suite->valuestring;
    if (cJSON_IsNumber(repeat) && repeat->valuedouble >= 1 &&
        repeat->valuedouble <= 1e6)
        h.repeat = (int)repeat->valuedouble;
    const char **target_names = NULL, **prompt_names = NULL;
    assay_status st = ASSAY_OK;
    if (!names_of(targets, &target_names, &h.n_targets))
        st = bad_line(r, err, "a target in the header has no 'name'");
    else if (!names_of(cJSON_GetObjectItemCaseSensitive(header, "prompts"),
                       &prompt_names, &h.n_prompts))
        st = bad_line(r, err, "a prompt in the header has no 'name'");
    if (st == ASSAY_OK) {
        h.targets = target_names;
        h.prompts = prompt_names;
        st = on_header(user, &h, err);
    }
    free(target_names);
    free(prompt_names);
    return st;
}

/* ------------------------------------------------------------ results */

/* A count the server reported; -1 when absent or not a sane count. */
static long usage_count(const cJSON *usage, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 1e15))
        return -1;
    return (long)v->valuedouble;
}

/* A result's repeat: a whole number from 0, 0 when absent; -1 when bad. */
static int repeat_of(const cJSON *line)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(line, "repeat");
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1e6) ||
        v->valuedouble != floor(v->valuedouble))
        return -1;
    return (int)v->valuedouble;
}

/* A result's attempts: a whole number up to 100, 0 when absent or bad. */
static int attempts_of(const cJSON *line)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(line, "attempts");
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 100))
        return 0;
    return (int)v->valuedouble;
}

static double number_or(const cJSON *line, const char *key, double fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(line, key);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

static const char *string_or_null(const cJSON *line, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(line, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The checks of a result merged into its metric values. */
static assay_status read_metrics(const record_reader *r, const cJSON *line,
                                 assay__metric_value *values, size_t *n,
                                 assay_error *err)
{
    int counts[ASSAY__MAX_METRICS];
    *n = 0;
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(line, "checks");
    if (!cJSON_IsArray(checks))
        return ASSAY_OK;
    const cJSON *c;
    cJSON_ArrayForEach (c, checks) {
        const char *name = string_or_null(c, "metric");
        if (!name)
            name = string_or_null(c, "type");
        const cJSON *pass = cJSON_GetObjectItemCaseSensitive(c, "pass");
        if (!name || !cJSON_IsBool(pass))
            return bad_line(r, err, "a check needs a 'type' and 'pass'");
        double score = number_or(c, "score", cJSON_IsTrue(pass) ? 1 : 0);
        if (!assay__metric_merge(values, counts, n, name, cJSON_IsTrue(pass),
                                 score))
            return bad_line(r, err, "a result has too many metrics");
    }
    return ASSAY_OK;
}

/* A cluster key given as a number is used in its shortest written form. */
static const char *cluster_of(const cJSON *line, assay__buf *scratch)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(line, "cluster");
    if (cJSON_IsString(v))
        return v->valuestring;
    if (!cJSON_IsNumber(v))
        return NULL;
    assay__buf_reset(scratch);
    return assay__text_put_double(scratch, v->valuedouble) == ASSAY_OK
               ? scratch->data
               : NULL;
}

static assay_status read_result(const record_reader *r, const cJSON *line,
                                assay__record_result_fn on_result, void *user,
                                assay__buf *scratch, assay_error *err)
{
    const char *target = string_or_null(line, "target");
    if (!target)
        return bad_line(r, err, "a result needs a 'target'");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(line, "error");
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(line, "pass");
    assay__observation o = {
        .target = target,
        .prompt = string_or_null(line, "prompt"),
        .case_id = string_or_null(line, "case"),
        .cluster = cluster_of(line, scratch),
        .repeat = repeat_of(line),
        .latency_ms = number_or(line, "latency_ms", -1),
        .cost = number_or(line, "cost", NAN),
        .attempts = attempts_of(line),
    };
    if (o.repeat < 0)
        return bad_line(r, err,
                        "a result's 'repeat' must be a whole number from 0");
    assay__metric_value values[ASSAY__MAX_METRICS];
    if (error && !cJSON_IsNull(error)) {
        o.outcome = ASSAY__OUTCOME_ERROR;
    } else if (cJSON_IsBool(pass)) {
        o.outcome =
            cJSON_IsTrue(pass) ? ASSAY__OUTCOME_PASS : ASSAY__OUTCOME_FAIL;
        o.score = number_or(line, "score", cJSON_IsTrue(pass) ? 1 : 0);
        assay_status st = read_metrics(r, line, values, &o.n_metrics, err);
        if (st != ASSAY_OK)
            return st;
        o.metrics = values;
    } else {
        return bad_line(r, err, "a result needs 'pass' or an 'error'");
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(line, "usage");
    o.prompt_tokens = usage_count(usage, "prompt_tokens");
    o.completion_tokens = usage_count(usage, "completion_tokens");
    return on_result(user, &o, r->path, r->line_no, err);
}

static assay_status scan_all(record_reader *r,
                             assay__record_header_fn on_header,
                             assay__record_result_fn on_result, void *user,
                             assay_error *err)
{
    cJSON *line;
    assay_status st = next_line(r, &line, err);
    if (st != ASSAY_OK)
        return st;
    if (!line)
        return assay__error(err, ASSAY_ERR_RECORD, r->path, 0, 0,
                            "the run record is empty");
    st = read_header(r, line, on_header, user, err);
    cJSON_Delete(line);
    assay__buf scratch;
    assay__buf_init(&scratch, 4096);
    while (st == ASSAY_OK && (st = next_line(r, &line, err)) == ASSAY_OK &&
           line) {
        if (!strcmp(type_of(line), "result"))
            st = read_result(r, line, on_result, user, &scratch, err);
        cJSON_Delete(line);
    }
    assay__buf_release(&scratch);
    return st;
}

assay_status assay__record_scan(const char *path,
                                assay__record_header_fn on_header,
                                assay__record_result_fn on_result, void *user,
                                assay_error *err)
{
    record_reader r = {.path = path};
    r.file = fopen(path, "rb");
    if (!r.file)
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "cannot open the run record: %s", strerror(errno));
    assay_status st = scan_all(&r, on_header, on_result, user, err);
    fclose(r.file);
    free(r.line);
    return st;
}

/* ------------------------------------------------------------ summary */

static assay_status summary_header(void *user, const assay__record_header *h,
                                   assay_error *err)
{
    assay_summary **out = user;
    *out = assay__summary_new_groups(h->suite, h->targets, h->n_targets,
                                     h->prompts, h->n_prompts, &h->gates);
    if (!*out)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    assay__summary_set_repeat(*out, h->repeat);
    return ASSAY_OK;
}

static assay_status summary_result(void *user, const assay__observation *o,
                                   const char *path, long line,
                                   assay_error *err)
{
    assay_summary **s = user;
    assay_status st = assay__summary_observe(*s, o);
    if (st == ASSAY_ERR_INVALID)
        return assay__error(err, ASSAY_ERR_RECORD, path, (int)line, 0,
                            "the result's 'target' is not in the header");
    if (st == ASSAY_ERR_LIMIT)
        return assay__error(err, ASSAY_ERR_RECORD, path, (int)line, 0,
                            "more than %d metrics in one group",
                            ASSAY__MAX_METRICS);
    if (st != ASSAY_OK)
        return assay__error(err, st, path, (int)line, 0, "%s",
                            assay_strerror(st));
    return ASSAY_OK;
}

assay_status assay__record_read(const char *path, assay_summary **out,
                                assay_error *err)
{
    *out = NULL;
    assay_status st =
        assay__record_scan(path, summary_header, summary_result, out, err);
    if (st == ASSAY_OK) {
        st = assay__summary_finish(*out);
        if (st != ASSAY_OK)
            assay__error(err, st, path, 0, 0, "%s", assay_strerror(st));
    }
    if (st != ASSAY_OK) {
        assay_summary_free(*out);
        *out = NULL;
    }
    return st;
}
