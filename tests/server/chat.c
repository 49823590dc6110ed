/*
 * chat.c - POST /v1/chat/completions: the reply is looked up by the exact
 * text of the last user message, and sent whole or, with "stream": true,
 * as server-sent events (a role chunk, content deltas, a finish_reason
 * chunk, a usage chunk when stream_options.include_usage asks, [DONE]).
 *
 * What it does not do: tools, logprobs, n > 1, or real tokens (usage
 * counts whitespace-separated words, plus 4 per message). Content given as
 * an array of parts is matched as its "text" parts concatenated.
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

/* Why a parsed request cannot be answered, or NULL if it can. */
static const char *chat_problem(const cJSON *request)
{
    if (!cJSON_IsObject(request))
        return "request body must be a JSON object";
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages");
    if (!messages)
        return "'messages' is required";
    if (!cJSON_IsArray(messages))
        return "'messages' must be an array";
    const cJSON *message;
    cJSON_ArrayForEach(message, messages) {
        if (!cJSON_IsObject(message))
            return "each entry of 'messages' must be an object";
    }
    return NULL;
}

static const char *finish_reason_of(const struct exchange *ex)
{
    return ex->answer && !ex->reply_override ? ex->answer->finish_reason : "stop";
}

static size_t completion_tokens(const char *text)
{
    size_t words = count_words(text);
    return words ? words : 1;
}

static char *chat_body(struct exchange *ex, const char *text)
{
    struct completion_meta meta;
    completion_meta_init(&meta, ex->srv, ex->request, "chat.completion");
    cJSON *choices = NULL, *choice, *message;
    cJSON *root = completion_envelope(&meta, &choices);
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(ex->request, "messages");
    /* An answer that scripts tool calls answers with them instead of text. */
    const char *calls = ex->answer && !ex->reply_override ? ex->answer->tool_calls : NULL;
    cJSON *parsed = calls ? cJSON_Parse(calls) : NULL;
    bool ok = root && (choice = cJSON_CreateObject()) && cJSON_AddItemToArray(choices, choice)
              && cJSON_AddNumberToObject(choice, "index", 0)
              && (message = cJSON_AddObjectToObject(choice, "message"))
              && cJSON_AddStringToObject(message, "role", "assistant")
              && (parsed ? cJSON_AddNullToObject(message, "content") != NULL
                         : cJSON_AddStringToObject(message, "content", text) != NULL)
              && (!parsed || cJSON_AddItemToObject(message, "tool_calls", parsed))
              && cJSON_AddStringToObject(choice, "finish_reason",
                                         parsed ? "tool_calls" : finish_reason_of(ex))
              && add_usage(root, prompt_tokens(messages), completion_tokens(text));
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return print_and_delete(root);
}

/* ------------------------------------------------------------ streaming */

struct chat_stream {
    struct exchange *ex;
    struct completion_meta meta;
    struct sse_stream *events;
    bool usage_null; /* OpenAI sends "usage": null on every chunk when usage was asked for */
};

/*
 * One chunk: a delta with `role` and/or `content` (NULL: left out), or an
 * empty delta with `finish_reason`; "usage" when `usage` holds counts.
 */
static bool add_chunk(struct chat_stream *cs, const char *role, const char *content,
                      const char *finish_reason, const size_t *usage)
{
    cJSON *choices = NULL, *choice, *delta;
    cJSON *root = completion_envelope(&cs->meta, &choices);
    bool ok = root && (choice = cJSON_CreateObject()) && cJSON_AddItemToArray(choices, choice)
              && cJSON_AddNumberToObject(choice, "index", 0)
              && (delta = cJSON_AddObjectToObject(choice, "delta"))
              && (!role || cJSON_AddStringToObject(delta, "role", role))
              && (!content || cJSON_AddStringToObject(delta, "content", content))
              && (finish_reason ? cJSON_AddStringToObject(choice, "finish_reason", finish_reason)
                                : cJSON_AddNullToObject(choice, "finish_reason"))
              && (usage ? add_usage(root, usage[0], usage[1])
                        : (!cs->usage_null || cJSON_AddNullToObject(root, "usage")));
    if (!ok) {
        cJSON_Delete(root);
        return false;
    }
    return sse_stream_take_event(cs->events, print_and_delete(root));
}

/* The OpenAI usage chunk: no choices, only usage. */
static bool add_usage_chunk(struct chat_stream *cs, const size_t *usage)
{
    cJSON *choices = NULL;
    cJSON *root = completion_envelope(&cs->meta, &choices);
    if (!root || !add_usage(root, usage[0], usage[1])) {
        cJSON_Delete(root);
        return false;
    }
    return sse_stream_take_event(cs->events, print_and_delete(root));
}

static bool add_content_chunks(struct chat_stream *cs, const char *text)
{
    struct text_piece *pieces = NULL;
    size_t count = split_for_stream(text, cs->ex->srv->options.stream_chunks, &pieces);
    bool ok = count || !text[0];
    for (size_t i = 0; ok && i < count; i++) {
        char *piece = strndup(pieces[i].text, pieces[i].len);
        ok = piece && add_chunk(cs, NULL, piece, NULL, NULL);
        free(piece);
        if (i == 0)
            cs->ex->events_through_first_content = sse_stream_event_count(cs->events);
    }
    free(pieces);
    return ok;
}

static bool chat_stream_events(struct chat_stream *cs, const char *text)
{
    struct exchange *ex = cs->ex;
    bool llama = ex->srv->options.stream_shape == STREAM_SHAPE_LLAMA;
    bool wants_usage = request_wants_usage(ex->request);
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(ex->request, "messages");
    size_t usage[2] = {prompt_tokens(messages), completion_tokens(text)};
    cs->usage_null = wants_usage && !llama;

    bool ok = llama || add_chunk(cs, "assistant", "", NULL, NULL);
    ex->events_through_first_content = sse_stream_event_count(cs->events);
    ok = ok && add_content_chunks(cs, text);
    /* llama-server puts usage on the finish_reason chunk, asked for or not. */
    ok = ok && add_chunk(cs, NULL, NULL, finish_reason_of(ex), llama ? usage : NULL);
    if (ok && wants_usage && !llama)
        ok = add_usage_chunk(cs, usage);
    return ok && sse_stream_add_done(cs->events);
}

static void chat_answer(struct exchange *ex, struct http_reply *out)
{
    const char *text = exchange_reply_text(ex, ex->answer);
    if (!ex->stream) {
        reply_take_body(out, 200, chat_body(ex, text));
        return;
    }
    struct chat_stream cs = {
        .ex = ex,
        .events = sse_stream_new(exchange_chunk_delay(ex, ex->answer)),
    };
    completion_meta_init(&cs.meta, ex->srv, ex->request, "chat.completion.chunk");
    if (!cs.events || !chat_stream_events(&cs, text)) {
        sse_stream_free(cs.events);
        reply_take_body(out, 500, NULL);
        return;
    }
    out->status = 200;
    out->stream = cs.events;
    out->content_type = "text/event-stream";
}

void endpoint_chat(struct fake_server *srv, const cJSON *request, struct http_reply *out,
                   unsigned long *attempt)
{
    const char *problem = chat_problem(request);
    if (problem) {
        reply_set_error(out, 400, problem, "invalid_request_error");
        return;
    }
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages");
    const cJSON *user = last_user_message(messages);
    char *prompt = content_text(user ? cJSON_GetObjectItemCaseSensitive(user, "content") : NULL);
    if (!prompt) {
        reply_set_error(out, 500, "out of memory", "server_error");
        return;
    }
    struct exchange ex = {
        .srv = srv,
        .request = request,
        .answer = answer_table_find(&srv->answers, prompt),
        .stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(request, "stream")),
        .answer_normally = chat_answer,
    };
    ex.attempt = answer_table_count_attempt(&srv->answers, ex.answer, prompt);
    ex.tokens = (long)(prompt_tokens(messages) + count_words(exchange_reply_text(&ex, ex.answer)));
    free(prompt);
    *attempt = ex.attempt;
    exchange_run(&ex, out);
}
