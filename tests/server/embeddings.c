/*
 * embeddings.c - POST /v1/embeddings: "input" is a string or a list of
 * strings, and each gets a deterministic unit vector (--embedding-dim, or
 * the request's "dimensions") that is the normalised sum of per-word
 * vectors hashed from the words (bodies.c), so texts that share words lie
 * closer than texts that do not. usage.prompt_tokens counts words.
 *
 * Each input is also looked up in the answer table, so that an answer's
 * fault, status or delay apply to embeddings too (its reply is unused);
 * the first input decides. What it does not do: token-array inputs or
 * "encoding_format": "base64" (a 400 says so rather than send floats a
 * client would misread).
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INPUTS 4096
#define HUGE_PADDING_KEY "padding"

struct embedding_exchange {
    struct exchange ex; /* first, so that answer_normally can find the rest */
    const cJSON *input; /* a string, or an array of strings */
    long dim;
};

static size_t input_count(const cJSON *input)
{
    return cJSON_IsArray(input) ? (size_t)cJSON_GetArraySize(input) : 1;
}

static const char *input_text(const cJSON *input, size_t i)
{
    return cJSON_IsArray(input) ? cJSON_GetArrayItem(input, (int)i)->valuestring
                                : input->valuestring;
}

static const char *embedding_problem(const cJSON *request)
{
    if (!cJSON_IsObject(request))
        return "request body must be a JSON object";
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(request, "input");
    if (!input)
        return "'input' is required";
    if (cJSON_IsArray(input)) {
        int n = cJSON_GetArraySize(input);
        if (n < 1 || n > MAX_INPUTS)
            return "'input' must be a string or a list of 1 to 4096 strings";
        const cJSON *item;
        cJSON_ArrayForEach(item, input) {
            if (!cJSON_IsString(item))
                return "'input' must be a string or a list of strings";
        }
    } else if (!cJSON_IsString(input)) {
        return "'input' must be a string or a list of strings";
    }
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(request, "encoding_format");
    if (format && !(cJSON_IsString(format) && !strcmp(format->valuestring, "float")))
        return "the fake server only sends \"encoding_format\": \"float\"";
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(request, "dimensions");
    if (dims
        && (!cJSON_IsNumber(dims) || dims->valuedouble < 1
            || dims->valuedouble > MAX_EMBEDDING_DIM
            || dims->valuedouble != (double)(long)dims->valuedouble))
        return "'dimensions' must be an integer in 1..4096";
    return NULL;
}

static cJSON *embedding_item(const char *text, long dim, size_t index, double *scratch)
{
    embed_text(text, dim, scratch);
    cJSON *item = cJSON_CreateObject();
    cJSON *vector = cJSON_CreateDoubleArray(scratch, (int)dim);
    bool ok = item && vector && cJSON_AddStringToObject(item, "object", "embedding")
              && cJSON_AddNumberToObject(item, "index", (double)index);
    if (ok && cJSON_AddItemToObject(item, "embedding", vector))
        return item;
    cJSON_Delete(vector);
    cJSON_Delete(item);
    return NULL;
}

static char *embeddings_body(struct embedding_exchange *ee)
{
    double *scratch = malloc((size_t)ee->dim * sizeof *scratch);
    cJSON *root = scratch ? cJSON_CreateObject() : NULL;
    cJSON *data, *usage;
    size_t words = 0;
    bool ok = root && cJSON_AddStringToObject(root, "object", "list")
              && cJSON_AddStringToObject(root, "model", request_model(ee->ex.request))
              && (data = cJSON_AddArrayToObject(root, "data"));
    for (size_t i = 0; ok && i < input_count(ee->input); i++) {
        cJSON *item = embedding_item(input_text(ee->input, i), ee->dim, i, scratch);
        ok = item && cJSON_AddItemToArray(data, item);
        words += count_words(input_text(ee->input, i));
    }
    ok = ok && (usage = cJSON_AddObjectToObject(root, "usage"))
         && cJSON_AddNumberToObject(usage, "prompt_tokens", (double)words)
         && cJSON_AddNumberToObject(usage, "total_tokens", (double)words);
    /* The 'huge' fault: embeddings have no content to grow, so a padding field grows instead. */
    if (ok && ee->ex.reply_override)
        ok = cJSON_AddStringToObject(root, HUGE_PADDING_KEY, ee->ex.reply_override) != NULL;
    free(scratch);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return print_and_delete(root);
}

static void embeddings_answer(struct exchange *ex, struct http_reply *out)
{
    reply_take_body(out, 200, embeddings_body((struct embedding_exchange *)ex));
}

void endpoint_embeddings(struct fake_server *srv, const cJSON *request, struct http_reply *out,
                         unsigned long *attempt)
{
    const char *problem = embedding_problem(request);
    if (problem) {
        reply_set_error(out, 400, problem, "invalid_request_error");
        return;
    }
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(request, "input");
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(request, "dimensions");
    struct embedding_exchange ee = {
        .ex = {
            .srv = srv,
            .request = request,
            .answer = answer_table_find(&srv->answers, input_text(input, 0)),
            .answer_normally = embeddings_answer,
        },
        .input = input,
        .dim = cJSON_IsNumber(dims) ? (long)dims->valuedouble : srv->options.embedding_dim,
    };
    size_t words = 0;
    for (size_t i = 0; i < input_count(input); i++) {
        const char *text = input_text(input, i);
        unsigned long n =
            answer_table_count_attempt(&srv->answers, answer_table_find(&srv->answers, text), text);
        if (i == 0)
            ee.ex.attempt = n;
        words += count_words(text);
    }
    ee.ex.tokens = (long)words;
    *attempt = ee.ex.attempt;
    exchange_run(&ee.ex, out);
}
