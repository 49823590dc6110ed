/*
 * rescore.c - the answers of an earlier run record, to score again.
 *
 * `assay rescore RUN.jsonl SUITE` grades old answers with a suite's
 * (new) checks: the run asks this table instead of the targets. It reads
 * every result line of the record once and keeps, per (case, target,
 * prompt, repeat), the answer, its finish reason, latency and usage; a
 * result that was an error keeps that, so it stays an error. Memory grows
 * with the record's answers, which is what rescoring needs.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES_BYTES ((size_t)1 << 30)

struct assay__answers {
    assay__intern *cases;
    assay__intern *groups; /* "target\x1fprompt" */
    assay__slotmap *slots;
    assay__recorded *items;
    size_t n;
    size_t cap;
};

static void recorded_release(assay__recorded *r)
{
    free(r->output);
    free(r->finish_reason);
    free(r->error);
}

void assay__answers_free(assay__answers *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        recorded_release(&a->items[i]);
    free(a->items);
    assay__intern_free(a->cases);
    assay__intern_free(a->groups);
    assay__slotmap_free(a->slots);
    free(a);
}

static char *group_key(const char *target, const char *prompt)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    if (assay__buf_printf(&b, "%s\x1f%s", target,
                          prompt ? prompt : "default") != ASSAY_OK) {
        assay__buf_release(&b);
        return NULL;
    }
    return assay__buf_detach(&b, NULL);
}

static const char *string_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double number_of(const cJSON *obj, const char *key, double otherwise)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : otherwise;
}

/* A whole number from 0 to `max`, else `otherwise`; converting a double
   out of range would be undefined behaviour. */
static long whole_of(const cJSON *obj, const char *key, long max,
                     long otherwise)
{
    double v = number_of(obj, key, -1);
    return v >= 0 && v <= (double)max && v == floor(v) ? (long)v : otherwise;
}

/* The slot of a result line's key, a new one when the key is new. */
static assay_status slot_of(assay__answers *a, const cJSON *line,
                            assay__recorded **out)
{
    const char *case_id = string_of(line, "case");
    const char *target = string_of(line, "target");
    if (!case_id || !target)
        return ASSAY_ERR_RECORD;
    char *key = group_key(target, string_of(line, "prompt"));
    uint32_t c, g, slot = (uint32_t)a->n;
    bool inserted = false;
    assay_status st = key ? assay__intern_id(a->groups, key, &g)
                          : ASSAY_ERR_NOMEM;
    free(key);
    if (st == ASSAY_OK)
        st = assay__intern_id(a->cases, case_id, &c);
    if (st == ASSAY_OK)
        st = assay__slotmap_put(a->slots, g, c,
                                (uint32_t)whole_of(line, "repeat", 1000000, 0),
                                &slot, &inserted);
    if (st != ASSAY_OK)
        return st;
    if (inserted && a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 256;
        assay__recorded *items = realloc(a->items, cap * sizeof *items);
        if (!items)
            return ASSAY_ERR_NOMEM;
        a->items = items;
        a->cap = cap;
    }
    if (inserted)
        memset(&a->items[a->n++], 0, sizeof *a->items);
    else
        recorded_release(&a->items[slot]); /* a later line wins */
    *out = &a->items[slot];
    return ASSAY_OK;
}

static assay_status take_result(assay__answers *a, const cJSON *line)
{
    assay__recorded *r;
    assay_status st = slot_of(a, line, &r);
    if (st != ASSAY_OK)
        return st;
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(line, "error");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(line, "usage");
    const char *output = string_of(line, "output");
    const char *finish = string_of(line, "finish_reason");
    const char *message = string_of(error, "message");
    *r = (assay__recorded){
        .output = output ? strdup(output) : NULL,
        .finish_reason = finish ? strdup(finish) : NULL,
        .error = cJSON_IsObject(error)
                     ? strdup(message ? message : "an error without a message")
                     : NULL,
        .latency_ms = number_of(line, "latency_ms", -1),
        .prompt_tokens = whole_of(usage, "prompt_tokens", 1000000000000L, -1),
        .completion_tokens =
            whole_of(usage, "completion_tokens", 1000000000000L, -1),
    };
    if ((output && !r->output) || (finish && !r->finish_reason) ||
        (cJSON_IsObject(error) && !r->error))
        return ASSAY_ERR_NOMEM;
    return ASSAY_OK;
}

static assay_status read_record(assay__answers *a, const char *path,
                                FILE *f, assay_error *err)
{
    char *text = NULL;
    size_t cap = 0;
    ssize_t n;
    long line_no = 0;
    assay_status st = ASSAY_OK;
    while (st == ASSAY_OK && (n = getline(&text, &cap, f)) >= 0) {
        line_no++;
        cJSON *line = cJSON_ParseWithLength(text, (size_t)n);
        const char *type = string_of(line, "type");
        if (!line && text[n - 1] != '\n')
            break; /* cut short by a crash: nothing follows */
        if (!line)
            st = assay__error(err, ASSAY_ERR_RECORD, path, (int)line_no, 0,
                              "not a JSON object");
        else if (line_no == 1 && (!type || strcmp(type, "run")))
            st = assay__error(err, ASSAY_ERR_RECORD, path, 1, 0,
                              "not a run record: the first line must be "
                              "the 'run' header");
        else if (type && !strcmp(type, "result") &&
                 (st = take_result(a, line)) != ASSAY_OK)
            assay__error(err, st, path, (int)line_no, 0, "%s",
                         st == ASSAY_ERR_RECORD
                             ? "a result needs 'case' and 'target'"
                             : assay_strerror(st));
        cJSON_Delete(line);
    }
    free(text);
    if (st == ASSAY_OK && line_no == 0)
        st = assay__error(err, ASSAY_ERR_RECORD, path, 0, 0,
                          "the run record is empty");
    return st;
}

assay_status assay__answers_load(const char *record_path,
                                 assay__answers **out, assay_error *err)
{
    *out = NULL;
    FILE *f = fopen(record_path, "rb");
    if (!f)
        return assay__error(err, ASSAY_ERR_IO, record_path, 0, 0,
                            "cannot open the run record: %s",
                            strerror(errno));
    assay__answers *a = calloc(1, sizeof *a);
    if (a) {
        a->cases = assay__intern_new(MAX_NAMES_BYTES);
        a->groups = assay__intern_new(MAX_NAMES_BYTES);
        a->slots = assay__slotmap_new();
    }
    assay_status st = a && a->cases && a->groups && a->slots
                          ? read_record(a, record_path, f, err)
                          : assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                         "out of memory");
    fclose(f);
    if (st != ASSAY_OK) {
        assay__answers_free(a);
        return st;
    }
    *out = a;
    return ASSAY_OK;
}

const assay__recorded *assay__answers_find(const assay__answers *a,
                                           const char *case_id,
                                           const char *target,
                                           const char *prompt, int repeat)
{
    char *key = group_key(target, prompt);
    long g = key ? assay__intern_find(a->groups, key) : -1;
    free(key);
    long c = assay__intern_find(a->cases, case_id);
    if (g < 0 || c < 0)
        return NULL;
    long slot = assay__slotmap_get(a->slots, (uint32_t)g, (uint32_t)c,
                                   (uint32_t)repeat);
    return slot < 0 ? NULL : &a->items[slot];
}
