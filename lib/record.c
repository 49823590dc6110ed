/*
 * record.c - reading a run record back into a summary.
 *
 * Reports and later comparisons are computed from records, never from a
 * run's memory, so this reader and the journal must agree line for line.
 * It streams the file (memory does not grow with it), recomputes every
 * statistic from the result lines, and ignores the stored summary line,
 * which is there for people and for tools that only want the totals.
 * A last line cut short by a crash is skipped, not misread.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct record_reader {
    const char *path;
    FILE *file;
    char *line;
    size_t cap;
    ssize_t len;
    long line_no;
} record_reader;

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
        r->len = getline(&r->line, &r->cap, r->file);
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

static assay_status summary_from_header(const record_reader *r,
                                        const cJSON *header,
                                        assay_summary **out, assay_error *err)
{
    const cJSON *suite = cJSON_GetObjectItemCaseSensitive(header, "suite");
    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(header, "targets");
    assay__gates gates;
    if (strcmp(type_of(header), "run") || !cJSON_IsString(suite) ||
        !cJSON_IsArray(targets) ||
        !assay__gates_from_json(
            cJSON_GetObjectItemCaseSensitive(header, "gates"), &gates))
        return bad_line(r, err,
                        "not a run record: the first line must be the "
                        "'run' header with 'suite', 'targets' and 'gates'");
    size_t n = (size_t)cJSON_GetArraySize(targets);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!names)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    size_t i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, targets)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (!cJSON_IsString(name)) {
            free(names);
            return bad_line(r, err, "a target in the header has no 'name'");
        }
        names[i++] = name->valuestring;
    }
    *out = assay__summary_new(suite->valuestring, names, n, &gates);
    free(names);
    return *out ? ASSAY_OK
                : assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                               "out of memory");
}

static long usage_count(const cJSON *usage, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, key);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

static assay_status add_result(const record_reader *r, assay_summary *s,
                               const cJSON *line, assay_error *err)
{
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(line, "target");
    long group = cJSON_IsString(target)
                     ? assay__summary_group(s, target->valuestring)
                     : -1;
    if (group < 0)
        return bad_line(r, err, "the result's 'target' is not in the header");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(line, "error");
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(line, "pass");
    assay__outcome outcome;
    if (error && !cJSON_IsNull(error))
        outcome = ASSAY__OUTCOME_ERROR;
    else if (cJSON_IsBool(pass))
        outcome = cJSON_IsTrue(pass) ? ASSAY__OUTCOME_PASS
                                     : ASSAY__OUTCOME_FAIL;
    else
        return bad_line(r, err, "a result needs 'pass' or an 'error'");
    const cJSON *latency = cJSON_GetObjectItemCaseSensitive(line, "latency_ms");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(line, "usage");
    assay__summary_add(s, (size_t)group, outcome,
                       cJSON_IsNumber(latency) ? latency->valuedouble : -1,
                       usage_count(usage, "prompt_tokens"),
                       usage_count(usage, "completion_tokens"));
    return ASSAY_OK;
}

static assay_status read_all(record_reader *r, assay_summary **out,
                             assay_error *err)
{
    cJSON *line;
    assay_status st = next_line(r, &line, err);
    if (st != ASSAY_OK)
        return st;
    if (!line)
        return assay__error(err, ASSAY_ERR_RECORD, r->path, 0, 0,
                            "the run record is empty");
    st = summary_from_header(r, line, out, err);
    cJSON_Delete(line);
    while (st == ASSAY_OK && (st = next_line(r, &line, err)) == ASSAY_OK &&
           line) {
        if (!strcmp(type_of(line), "result"))
            st = add_result(r, *out, line, err);
        cJSON_Delete(line);
    }
    if (st == ASSAY_OK)
        st = assay__summary_finish(*out);
    return st;
}

assay_status assay__record_read(const char *path, assay_summary **out,
                                assay_error *err)
{
    *out = NULL;
    record_reader r = {.path = path};
    r.file = fopen(path, "rb");
    if (!r.file)
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "cannot open the run record: %s", strerror(errno));
    assay_status st = read_all(&r, out, err);
    fclose(r.file);
    free(r.line);
    if (st != ASSAY_OK) {
        assay_summary_free(*out);
        *out = NULL;
    }
    return st;
}
