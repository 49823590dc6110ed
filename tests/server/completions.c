/*
 * completions.c - POST /v1/completions, the legacy text endpoint: each
 * prompt is answered from the answer table by its exact text, as
 * choices[0].text of an object "text_completion". A list of prompts gets a
 * JSON array of such objects (choice index i for prompt i), as llama-server
 * answers it; a list of one gets a single object. With "stream": true the
 * prompts' chunks follow one another in one event stream.
 *
 * "echo" puts the prompt before the text; "logprobs": N adds legacy
 * logprobs (tokens, token_logprobs, top_logprobs, text_offset) whose tokens
 * are whitespace-separated words with a logprob from the word's SHA-256
 * (bodies.c), so that log-likelihood scoring can be checked by hand.
 * "max_tokens": 0 generates nothing, which is how such scoring asks.
 *
 * What it does not do: token-array prompts, suffix, best_of, n > 1, echo
 * or logprobs in streams (stream chunks carry "logprobs": null), or echo
 * at all under --no-echo (a 500, as llama-server answers it). Only the
 * first prompt of a list decides whether a fault is injected.
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PROMPTS 4096
#define MAX_LOGPROBS 5

struct completion_exchange {
    struct exchange ex; /* first, so that answer_normally can find the rest */
    const cJSON *prompt; /* a string, or an array of strings */
    bool echo;
    long logprobs; /* -1: none */
    bool generate_nothing;
};

static size_t prompt_count(const cJSON *prompt)
{
    return cJSON_IsArray(prompt) ? (size_t)cJSON_GetArraySize(prompt) : 1;
}

static const char *prompt_text(const cJSON *prompt, size_t i)
{
    return cJSON_IsArray(prompt) ? cJSON_GetArrayItem(prompt, (int)i)->valuestring
                                 : prompt->valuestring;
}

/* Why the request cannot be answered; *status is 400, or 500 for llama-server's refusals. */
static const char *completion_problem(const struct fake_server *srv, const cJSON *request,
                                      unsigned *status)
{
    *status = 400;
    if (!cJSON_IsObject(request))
        return "request body must be a JSON object";
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(request, "prompt");
    if (!prompt)
        return "'prompt' is required";
    if (cJSON_IsArray(prompt)) {
        int n = cJSON_GetArraySize(prompt);
        if (n < 1 || n > MAX_PROMPTS)
            return "'prompt' must be a string or a list of 1 to 4096 strings";
        const cJSON *item;
        cJSON_ArrayForEach(item, prompt) {
            if (!cJSON_IsString(item))
                return "'prompt' must be a string or a list of strings";
        }
    } else if (!cJSON_IsString(prompt)) {
        return "'prompt' must be a string or a list of strings";
    }
    const cJSON *logprobs = cJSON_GetObjectItemCaseSensitive(request, "logprobs");
    if (logprobs && !cJSON_IsNull(logprobs)
        && (!cJSON_IsNumber(logprobs) || logprobs->valuedouble < 0
            || logprobs->valuedouble > MAX_LOGPROBS
            || logprobs->valuedouble != (double)(long)logprobs->valuedouble))
        return "'logprobs' must be an integer in 0..5";
    if (srv->options.no_echo && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(request, "echo"))) {
        *status = 500;
        return "Unsupported param: echo";
    }
    return NULL;
}

static const char *finish_reason_for(const struct completion_exchange *cx,
                                     const struct answer *answer)
{
    if (cx->generate_nothing)
        return "length";
    return answer && !cx->ex.reply_override ? answer->finish_reason : "stop";
}

static const char *generated_text(const struct completion_exchange *cx,
                                  const struct answer *answer)
{
    return cx->generate_nothing ? "" : exchange_reply_text(&cx->ex, answer);
}

/* The choice's text, with the prompt before it under "echo"; malloc'd. */
static char *choice_text(const struct completion_exchange *cx, const char *prompt,
                         const char *generated)
{
    const char *head = cx->echo ? prompt : "";
    size_t a = strlen(head), b = strlen(generated);
    char *text = malloc(a + b + 1);
    if (text) {
        memcpy(text, head, a);
        memcpy(text + a, generated, b + 1);
    }
    return text;
}

/* ------------------------------------------------------------ whole */

static cJSON *completion_object(struct completion_exchange *cx,
                                const struct completion_meta *meta, size_t i)
{
    const char *prompt = prompt_text(cx->prompt, i);
    const struct answer *answer = answer_table_find(&cx->ex.srv->answers, prompt);
    const char *generated = generated_text(cx, answer);
    char *text = choice_text(cx, prompt, generated);
    cJSON *choices = NULL;
    cJSON *root = text ? completion_envelope(meta, &choices) : NULL;
    cJSON *choice = root ? cJSON_CreateObject() : NULL;
    if (choice)
        cJSON_AddItemToArray(choices, choice);
    cJSON *logprobs;
    bool ok = choice && cJSON_AddStringToObject(choice, "text", text)
              && cJSON_AddNumberToObject(choice, "index", (double)i)
              && (logprobs = cx->logprobs >= 0
                                 ? legacy_logprobs(text, cx->echo ? strlen(prompt) : 0,
                                                   cx->logprobs)
                                 : cJSON_CreateNull())
              && cJSON_AddItemToObject(choice, "logprobs", logprobs)
              && cJSON_AddStringToObject(choice, "finish_reason", finish_reason_for(cx, answer))
              && add_usage(root, count_words(prompt), count_words(generated));
    if (!ok) {
        cJSON_Delete(root);
        root = NULL;
    }
    free(text);
    return root;
}

/* OpenAI's and vLLM's answer to a list of prompts: one object whose
   choices hold one choice per prompt (index i for prompt i), the usage
   summed over them. */
static cJSON *completion_in_one(struct completion_exchange *cx,
                                const struct completion_meta *meta, size_t n)
{
    cJSON *root = completion_object(cx, meta, 0);
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    for (size_t i = 1; root && i < n; i++) {
        cJSON *one = completion_object(cx, meta, i);
        cJSON *choice = one ? cJSON_DetachItemFromArray(
                                  cJSON_GetObjectItemCaseSensitive(one, "choices"), 0)
                            : NULL;
        if (!choice) {
            cJSON_Delete(one);
            cJSON_Delete(root);
            return NULL;
        }
        cJSON_AddItemToArray(choices, choice);
        const cJSON *more = cJSON_GetObjectItemCaseSensitive(one, "usage");
        static const char *const counts[] = {"prompt_tokens", "completion_tokens",
                                             "total_tokens"};
        for (size_t k = 0; k < 3; k++) {
            cJSON *sum = cJSON_GetObjectItemCaseSensitive(usage, counts[k]);
            const cJSON *add = cJSON_GetObjectItemCaseSensitive(more, counts[k]);
            if (cJSON_IsNumber(sum) && cJSON_IsNumber(add))
                cJSON_SetNumberValue(sum, sum->valuedouble + add->valuedouble);
        }
        cJSON_Delete(one);
    }
    return root;
}

static char *completion_body(struct completion_exchange *cx)
{
    struct completion_meta meta;
    completion_meta_init(&meta, cx->ex.srv, cx->ex.request, "text_completion");
    size_t n = prompt_count(cx->prompt);
    if (!cJSON_IsArray(cx->prompt) || n == 1)
        return print_and_delete(completion_object(cx, &meta, 0));
    if (cx->ex.srv->options.list_in_one)
        return print_and_delete(completion_in_one(cx, &meta, n));
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; list && i < n; i++) {
        cJSON *one = completion_object(cx, &meta, i);
        if (!one) {
            cJSON_Delete(list);
            return NULL;
        }
        cJSON_AddItemToArray(list, one);
    }
    return print_and_delete(list);
}

/* ------------------------------------------------------------ streaming */

static bool add_text_chunk(struct sse_stream *s, const struct completion_meta *meta, size_t i,
                           const char *text, const char *finish_reason, const size_t *usage)
{
    cJSON *choices = NULL, *choice;
    cJSON *root = completion_envelope(meta, &choices);
    bool ok = root && (choice = cJSON_CreateObject()) && cJSON_AddItemToArray(choices, choice)
              && cJSON_AddStringToObject(choice, "text", text)
              && cJSON_AddNumberToObject(choice, "index", (double)i)
              && cJSON_AddNullToObject(choice, "logprobs")
              && (finish_reason ? cJSON_AddStringToObject(choice, "finish_reason", finish_reason)
                                : cJSON_AddNullToObject(choice, "finish_reason"))
              && (!usage || add_usage(root, usage[0], usage[1]));
    if (!ok) {
        cJSON_Delete(root);
        return false;
    }
    return sse_stream_take_event(s, print_and_delete(root));
}

/* One prompt's chunks; adds its token counts to `total`. */
static bool add_prompt_chunks(struct completion_exchange *cx, struct sse_stream *s,
                              const struct completion_meta *meta, size_t i, size_t *total)
{
    const char *prompt = prompt_text(cx->prompt, i);
    const struct answer *answer = answer_table_find(&cx->ex.srv->answers, prompt);
    const char *generated = generated_text(cx, answer);
    struct text_piece *pieces = NULL;
    size_t count = split_for_stream(generated, cx->ex.srv->options.stream_chunks, &pieces);
    bool ok = count || !generated[0];
    for (size_t p = 0; ok && p < count; p++) {
        char *piece = strndup(pieces[p].text, pieces[p].len);
        ok = piece && add_text_chunk(s, meta, i, piece, NULL, NULL);
        free(piece);
        if (i == 0 && p == 0)
            cx->ex.events_through_first_content = sse_stream_event_count(s);
    }
    free(pieces);
    size_t usage[2] = {count_words(prompt), count_words(generated)};
    total[0] += usage[0];
    total[1] += usage[1];
    bool llama = cx->ex.srv->options.stream_shape == STREAM_SHAPE_LLAMA;
    return ok && add_text_chunk(s, meta, i, "", finish_reason_for(cx, answer),
                                llama ? usage : NULL);
}

static bool completion_stream_events(struct completion_exchange *cx, struct sse_stream *s)
{
    struct completion_meta meta;
    completion_meta_init(&meta, cx->ex.srv, cx->ex.request, "text_completion");
    cx->ex.events_through_first_content = 1;
    size_t total[2] = {0, 0};
    bool ok = true;
    for (size_t i = 0; ok && i < prompt_count(cx->prompt); i++)
        ok = add_prompt_chunks(cx, s, &meta, i, total);
    bool llama = cx->ex.srv->options.stream_shape == STREAM_SHAPE_LLAMA;
    if (ok && !llama && request_wants_usage(cx->ex.request)) {
        cJSON *choices = NULL;
        cJSON *root = completion_envelope(&meta, &choices);
        ok = root && add_usage(root, total[0], total[1]);
        if (!ok)
            cJSON_Delete(root);
        ok = ok && sse_stream_take_event(s, print_and_delete(root));
    }
    return ok && sse_stream_add_done(s);
}

static void completion_answer(struct exchange *ex, struct http_reply *out)
{
    struct completion_exchange *cx = (struct completion_exchange *)ex;
    if (!ex->stream) {
        reply_take_body(out, 200, completion_body(cx));
        return;
    }
    struct sse_stream *s = sse_stream_new(exchange_chunk_delay(ex, ex->answer));
    if (!s || !completion_stream_events(cx, s)) {
        sse_stream_free(s);
        reply_take_body(out, 500, NULL);
        return;
    }
    out->status = 200;
    out->stream = s;
    out->content_type = "text/event-stream";
}

/* Counts one request for each prompt; the first prompt's count is the request's attempt. */
static unsigned long count_attempts(struct fake_server *srv, const cJSON *prompt)
{
    unsigned long first = 0;
    for (size_t i = 0; i < prompt_count(prompt); i++) {
        const char *text = prompt_text(prompt, i);
        unsigned long n =
            answer_table_count_attempt(&srv->answers, answer_table_find(&srv->answers, text), text);
        if (i == 0)
            first = n;
    }
    return first;
}

static long token_cost(const struct completion_exchange *cx)
{
    size_t words = 0;
    for (size_t i = 0; i < prompt_count(cx->prompt); i++) {
        const char *prompt = prompt_text(cx->prompt, i);
        words += count_words(prompt)
                 + count_words(generated_text(cx, answer_table_find(&cx->ex.srv->answers, prompt)));
    }
    return (long)words;
}

void endpoint_completions(struct fake_server *srv, const cJSON *request, struct http_reply *out,
                          unsigned long *attempt)
{
    unsigned status;
    const char *problem = completion_problem(srv, request, &status);
    if (problem) {
        reply_set_error(out, status, problem,
                        status >= 500 ? "server_error" : "invalid_request_error");
        return;
    }
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(request, "prompt");
    const cJSON *logprobs = cJSON_GetObjectItemCaseSensitive(request, "logprobs");
    const cJSON *max_tokens = cJSON_GetObjectItemCaseSensitive(request, "max_tokens");
    struct completion_exchange cx = {
        .ex = {
            .srv = srv,
            .request = request,
            .answer = answer_table_find(&srv->answers, prompt_text(prompt, 0)),
            .stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(request, "stream")),
            .answer_normally = completion_answer,
        },
        .prompt = prompt,
        .echo = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(request, "echo")),
        .logprobs = cJSON_IsNumber(logprobs) ? (long)logprobs->valuedouble : -1,
        .generate_nothing = cJSON_IsNumber(max_tokens) && max_tokens->valuedouble == 0,
    };
    cx.ex.attempt = count_attempts(srv, prompt);
    cx.ex.tokens = token_cost(&cx);
    *attempt = cx.ex.attempt;
    exchange_run(&cx.ex, out);
}
