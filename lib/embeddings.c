/*
 * embeddings.c - /embeddings request bodies and replies.
 *
 * The similarity checks compare texts through a target's embedding model;
 * this file builds {"model", "input": [...]} and reads back the vectors,
 * ordered by their `index` (servers may answer out of order), all of one
 * dimension. It does no I/O and computes no similarity.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void assay__embeddings_init(assay__embeddings *e)
{
    memset(e, 0, sizeof *e);
    e->prompt_tokens = -1;
}

void assay__embeddings_release(assay__embeddings *e)
{
    free(e->values);
    assay__embeddings_init(e);
}

const double *assay__embeddings_vector(const assay__embeddings *e, size_t i)
{
    return i < e->count ? e->values + i * e->dim : NULL;
}

assay_status assay__openai_embeddings_request(assay__buf *body,
                                              const char *model,
                                              const char *const *inputs,
                                              size_t n)
{
    assay_status st = assay__buf_puts(body, "{\"model\":");
    if (st == ASSAY_OK)
        st = assay__text_put_json_string(body, model, strlen(model));
    if (st == ASSAY_OK)
        st = assay__buf_puts(body, ",\"input\":[");
    for (size_t i = 0; st == ASSAY_OK && i < n; i++) {
        if (i)
            st = assay__buf_putc(body, ',');
        if (st == ASSAY_OK)
            st = assay__text_put_json_string(body, inputs[i],
                                             strlen(inputs[i]));
    }
    if (st == ASSAY_OK)
        st = assay__buf_puts(body, "]}");
    return st;
}

static assay_status bad(assay_error *err, long status, const char *why)
{
    return assay__error(err, ASSAY_ERR_RESPONSE, NULL, 0, 0,
                        "HTTP %ld: not an embeddings reply: %s", status, why);
}

/* Copies one vector into its slot; the first one fixes the dimension. */
static assay_status take_vector(assay__embeddings *e, size_t slot,
                                const cJSON *vector, long status,
                                assay_error *err)
{
    size_t dim = (size_t)cJSON_GetArraySize(vector);
    if (!cJSON_IsArray(vector) || dim == 0)
        return bad(err, status, "an 'embedding' is not a list of numbers");
    if (!e->values) {
        e->dim = dim;
        e->values = calloc(e->count * dim, sizeof *e->values);
        if (!e->values)
            return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                "out of memory");
    } else if (dim != e->dim) {
        return bad(err, status, "the vectors differ in dimension");
    }
    size_t k = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, vector)
    {
        if (!cJSON_IsNumber(x))
            return bad(err, status, "an 'embedding' holds a non-number");
        e->values[slot * dim + k++] = x->valuedouble;
    }
    return ASSAY_OK;
}

static assay_status read_data(const cJSON *data, long status,
                              assay__embeddings *e, assay_error *err)
{
    e->count = (size_t)cJSON_GetArraySize(data);
    size_t position = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, data)
    {
        const cJSON *index = cJSON_GetObjectItemCaseSensitive(item, "index");
        bool in_range = cJSON_IsNumber(index) && index->valuedouble >= 0 &&
                        index->valuedouble < (double)e->count;
        size_t slot = !cJSON_IsNumber(index) ? position
                      : in_range             ? (size_t)index->valuedouble
                                             : e->count;
        position++;
        if (slot >= e->count)
            return bad(err, status, "an 'index' is out of range");
        assay_status st = take_vector(
            e, slot, cJSON_GetObjectItemCaseSensitive(item, "embedding"),
            status, err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

assay_status assay__openai_parse_embeddings(long http_status,
                                            const char *body, size_t len,
                                            assay__embeddings *out,
                                            assay_error *err)
{
    assay__embeddings_release(out);
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    assay_status st;
    if (http_status < 200 || http_status > 299 || !cJSON_IsArray(data)) {
        /* Errors read the same as for completions. */
        assay__response scratch;
        assay__response_init(&scratch);
        st = assay__openai_parse_chat(http_status, body, len, &scratch, err);
        assay__response_release(&scratch);
        if (st == ASSAY_OK || st == ASSAY_ERR_RESPONSE)
            st = bad(err, http_status, "no 'data' list");
    } else if (!cJSON_GetArraySize(data)) {
        st = bad(err, http_status, "the 'data' list is empty");
    } else {
        st = read_data(data, http_status, out, err);
        const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
        const cJSON *tokens =
            cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
        if (cJSON_IsNumber(tokens) && tokens->valuedouble >= 0 &&
            tokens->valuedouble <= 1e15)
            out->prompt_tokens = (long)tokens->valuedouble;
    }
    cJSON_Delete(root);
    if (st != ASSAY_OK)
        assay__embeddings_release(out);
    return st;
}
