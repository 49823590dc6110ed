/*
 * dataset.c - cases, streamed one at a time.
 *
 * A JSON Lines file is read line by line, so memory holds the cases in
 * flight and never the whole file. Each non-blank line must be a JSON
 * object; its `id` (a string or an integer) names the case, or else the
 * line number does. Inline `cases:` from a suite are walked the same way.
 * Selection, sampling, CSV and field mapping are not done here yet.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A line longer than this is an error, not a reason to eat the memory. */
#define MAX_LINE_BYTES ((size_t)16 << 20)

struct assay__dataset {
    char *path;        /* NULL for inline cases */
    FILE *file;
    char *line;
    size_t line_cap;
    long line_no;
    const assay__doc *doc;
    const cJSON *next_inline;
};

assay__case *assay__case_ref(assay__case *c)
{
    c->refs++;
    return c;
}

void assay__case_unref(assay__case *c)
{
    if (!c || --c->refs > 0)
        return;
    cJSON_Delete(c->vars);
    free(c->id);
    free(c);
}

assay_status assay__dataset_open_jsonl(const char *path, assay__dataset **out,
                                       assay_error *err)
{
    *out = NULL;
    assay__dataset *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        free(d);
        return assay__error(err, ASSAY_ERR_NOMEM, path, 0, 0,
                            "out of memory");
    }
    d->file = fopen(path, "rb");
    if (!d->file) {
        int e = errno;
        assay__dataset_free(d);
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "cannot open the dataset: %s", strerror(e));
    }
    *out = d;
    return ASSAY_OK;
}

assay_status assay__dataset_open_inline(const assay__doc *doc,
                                        const cJSON *cases,
                                        assay__dataset **out,
                                        assay_error *err)
{
    *out = NULL;
    assay__dataset *d = calloc(1, sizeof *d);
    if (!d)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory");
    d->doc = doc;
    d->next_inline = cases ? cases->child : NULL;
    *out = d;
    return ASSAY_OK;
}

void assay__dataset_free(assay__dataset *d)
{
    if (!d)
        return;
    if (d->file)
        fclose(d->file);
    free(d->line);
    free(d->path);
    free(d);
}

/* The case's id: its `id` field when it has a usable one, else `fallback`. */
static char *case_id(const cJSON *vars, long fallback, const char **why)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(vars, "id");
    char text[64];
    *why = NULL;
    if (!id) {
        snprintf(text, sizeof text, "%ld", fallback);
        return strdup(text);
    }
    if (cJSON_IsString(id) && id->valuestring[0])
        return strdup(id->valuestring);
    if (cJSON_IsNumber(id) && id->valuedouble == (double)(long)id->valuedouble) {
        snprintf(text, sizeof text, "%ld", (long)id->valuedouble);
        return strdup(text);
    }
    *why = "'id' must be a non-empty string or an integer";
    return NULL;
}

static assay_status make_case(cJSON *vars, long line, long fallback_id,
                              assay__case **out, const char **why)
{
    *out = NULL;
    assay__case *c = calloc(1, sizeof *c);
    if (!c) {
        cJSON_Delete(vars);
        return ASSAY_ERR_NOMEM;
    }
    c->vars = vars;
    c->line = line;
    c->refs = 1;
    c->id = case_id(vars, fallback_id, why);
    if (!c->id) {
        assay__case_unref(c);
        return *why ? ASSAY_ERR_DATASET : ASSAY_ERR_NOMEM;
    }
    *out = c;
    return ASSAY_OK;
}

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

/* The 1-based column of the byte where cJSON stopped. */
static int parse_column(const char *line, const char *stop)
{
    return stop && stop >= line ? (int)(stop - line) + 1 : 0;
}

static assay_status next_jsonl(assay__dataset *d, assay__case **out,
                               assay_error *err)
{
    for (;;) {
        errno = 0;
        ssize_t n = getline(&d->line, &d->line_cap, d->file);
        if (n < 0) {
            if (ferror(d->file))
                return assay__error(err, ASSAY_ERR_IO, d->path, 0, 0,
                                    "read error: %s", strerror(errno));
            return ASSAY_OK; /* the end */
        }
        d->line_no++;
        if ((size_t)n > MAX_LINE_BYTES)
            return assay__error(err, ASSAY_ERR_LIMIT, d->path, (int)d->line_no,
                                0, "line is longer than %zu bytes",
                                MAX_LINE_BYTES);
        if (is_blank(d->line, (size_t)n))
            continue;
        const char *stop = NULL;
        cJSON *vars = cJSON_ParseWithLengthOpts(d->line, (size_t)n, &stop, 0);
        if (!vars)
            return assay__error(err, ASSAY_ERR_DATASET, d->path,
                                (int)d->line_no, parse_column(d->line, stop),
                                "not valid JSON");
        if (!cJSON_IsObject(vars)) {
            cJSON_Delete(vars);
            return assay__error(err, ASSAY_ERR_DATASET, d->path,
                                (int)d->line_no, 1,
                                "a case must be a JSON object");
        }
        if (stop && !is_blank(stop, (size_t)(d->line + n - stop))) {
            stop += strspn(stop, " \t");
            cJSON_Delete(vars);
            return assay__error(err, ASSAY_ERR_DATASET, d->path,
                                (int)d->line_no, parse_column(d->line, stop),
                                "unexpected text after the case's JSON object");
        }
        const char *why;
        assay_status st = make_case(vars, d->line_no, d->line_no, out, &why);
        if (st != ASSAY_OK)
            return assay__error(err, st, d->path, (int)d->line_no, 0, "%s",
                                why ? why : "out of memory");
        return ASSAY_OK;
    }
}

static assay_status next_inline(assay__dataset *d, assay__case **out,
                                assay_error *err)
{
    const cJSON *node = d->next_inline;
    if (!node)
        return ASSAY_OK;
    d->next_inline = node->next;
    d->line_no++;
    int line = 0, col = 0;
    assay__doc_where(d->doc, node, &line, &col);
    if (!cJSON_IsObject(node))
        return assay__doc_error(d->doc, node, false, err, ASSAY_ERR_SUITE,
                                "a case must be a mapping of fields");
    cJSON *vars = cJSON_Duplicate(node, true);
    if (!vars)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    const char *why;
    assay_status st = make_case(vars, line, d->line_no, out, &why);
    if (st == ASSAY_ERR_DATASET)
        return assay__doc_error(
            d->doc, cJSON_GetObjectItemCaseSensitive(node, "id"), false, err,
            st, "%s", why);
    if (st != ASSAY_OK)
        return assay__error(err, st, NULL, 0, 0, "out of memory");
    return ASSAY_OK;
}

assay_status assay__dataset_next(assay__dataset *d, assay__case **out,
                                 assay_error *err)
{
    *out = NULL;
    return d->file ? next_jsonl(d, out, err) : next_inline(d, out, err);
}
