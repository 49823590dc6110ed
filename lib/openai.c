/*
 * openai.c - request bodies for, and replies from, OpenAI-compatible APIs.
 *
 * Builds the JSON body of a /chat/completions request and parses what comes
 * back, whole or streamed as SSE chunks: the answer text, refusal, tool
 * calls, logprobs, finish reason, usage and the fields that tell which
 * model and build answered. It does no I/O; the engine moves the bytes.
 * Servers differ (llama.cpp adds `timings`, some omit `usage`), so unknown
 * fields are ignored and missing optional ones stay "unknown", but a body
 * that is not a completion at all is an error that quotes its first bytes.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define EXCERPT_BYTES 200

void assay__response_init(assay__response *r)
{
    memset(r, 0, sizeof *r);
    assay__buf_init(&r->content, 0);
    assay__buf_init(&r->refusal, 0);
    assay__response_reset(r);
}

static void clear_tool_calls(assay__response *r)
{
    for (size_t i = 0; i < r->n_tool_calls; i++) {
        free(r->tool_calls[i].id);
        free(r->tool_calls[i].name);
        assay__buf_release(&r->tool_calls[i].arguments);
    }
    r->n_tool_calls = 0;
}

void assay__response_reset(assay__response *r)
{
    assay__buf_reset(&r->content);
    assay__buf_reset(&r->refusal);
    clear_tool_calls(r);
    cJSON_Delete(r->logprobs);
    r->logprobs = NULL;
    cJSON_Delete(r->choices);
    r->choices = NULL;
    r->http_status = 0;
    r->finish_reason[0] = '\0';
    r->model[0] = '\0';
    r->id[0] = '\0';
    r->system_fingerprint[0] = '\0';
    r->error_code[0] = '\0';
    r->prompt_tokens = -1;
    r->completion_tokens = -1;
    r->total_tokens = -1;
    r->cached_tokens = -1;
    r->reasoning_tokens = -1;
}

void assay__response_release(assay__response *r)
{
    assay__response_reset(r);
    free(r->tool_calls);
    r->tool_calls = NULL;
    r->cap_tool_calls = 0;
    assay__buf_release(&r->content);
    assay__buf_release(&r->refusal);
}

/* ------------------------------------------------------------ requests */

static assay_status put_member_name(assay__buf *body, const char *name)
{
    assay_status st = assay__buf_putc(body, ',');
    if (st == ASSAY_OK)
        st = assay__text_put_json_string(body, name, strlen(name));
    if (st == ASSAY_OK)
        st = assay__buf_putc(body, ':');
    return st;
}

/* Parameters go through as the suite wrote them (numbers, strings, lists). */
static assay_status put_params(assay__buf *body, const cJSON *params)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, params)
    {
        if (!strcmp(p->string, "model") || !strcmp(p->string, "messages") ||
            !strcmp(p->string, "prompt"))
            continue; /* the suite's own fields win; see suite.c */
        char *json = cJSON_PrintUnformatted(p);
        if (!json)
            return ASSAY_ERR_NOMEM;
        assay_status st = put_member_name(body, p->string);
        if (st == ASSAY_OK)
            st = assay__buf_puts(body, json);
        cJSON_free(json);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

assay_status assay__openai_chat_request(assay__buf *body, const char *model,
                                        const cJSON *params,
                                        const char *const *roles,
                                        const assay__buf *contents,
                                        size_t n_messages)
{
    assay_status st = assay__buf_puts(body, "{\"model\":");
    if (st == ASSAY_OK)
        st = assay__text_put_json_string(body, model, strlen(model));
    if (st == ASSAY_OK)
        st = assay__buf_puts(body, ",\"messages\":[");
    for (size_t i = 0; st == ASSAY_OK && i < n_messages; i++) {
        st = assay__buf_puts(body, i ? ",{\"role\":" : "{\"role\":");
        if (st == ASSAY_OK)
            st = assay__text_put_json_string(body, roles[i], strlen(roles[i]));
        if (st == ASSAY_OK)
            st = assay__buf_puts(body, ",\"content\":");
        if (st == ASSAY_OK)
            st = assay__text_put_json_string(body, contents[i].data,
                                             contents[i].len);
        if (st == ASSAY_OK)
            st = assay__buf_putc(body, '}');
    }
    if (st == ASSAY_OK)
        st = assay__buf_putc(body, ']');
    if (st == ASSAY_OK && params)
        st = put_params(body, params);
    if (st == ASSAY_OK)
        st = assay__buf_putc(body, '}');
    return st;
}

/*
 * A /completions body: the messages' texts joined by a blank line make the
 * one prompt string (a plain `prompt:` gives exactly its text).
 */
assay_status assay__openai_completion_request(assay__buf *body,
                                              const char *model,
                                              const cJSON *params,
                                              const assay__buf *contents,
                                              size_t n_messages)
{
    assay__buf prompt;
    assay__buf_init(&prompt, body->max);
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < n_messages; i++) {
        if (i)
            st = assay__buf_puts(&prompt, "\n\n");
        if (st == ASSAY_OK)
            st = assay__buf_append(&prompt, contents[i].data,
                                   contents[i].len);
    }
    if (st == ASSAY_OK)
        st = assay__buf_puts(body, "{\"model\":");
    if (st == ASSAY_OK)
        st = assay__text_put_json_string(body, model, strlen(model));
    if (st == ASSAY_OK)
        st = assay__buf_puts(body, ",\"prompt\":");
    if (st == ASSAY_OK)
        st = assay__text_put_json_string(body, prompt.data, prompt.len);
    if (st == ASSAY_OK && params)
        st = put_params(body, params);
    if (st == ASSAY_OK)
        st = assay__buf_putc(body, '}');
    assay__buf_release(&prompt);
    return st;
}

/* ------------------------------------------------------------ replies */

/*
 * Several members of `object` found in one walk over it: found[i] is the
 * first member named names[i], as cJSON_GetObjectItemCaseSensitive finds
 * it, or NULL. A reply's objects are read for most of their members, and
 * one walk per name cost as much as a third of parsing the reply.
 */
static void find_members(const cJSON *object, const char *const names[],
                         size_t n, const cJSON *found[])
{
    size_t missing = n;
    for (size_t i = 0; i < n; i++)
        found[i] = NULL;
    const cJSON *m = object ? object->child : NULL;
    for (; m && m->string && missing; m = m->next)
        for (size_t i = 0; i < n; i++)
            if (!found[i] && m->string[0] == names[i][0] &&
                !strcmp(m->string, names[i])) {
                found[i] = m;
                missing--;
                break;
            }
}

/* The members of a reply (or of a stream chunk) that are read. */
enum {
    ROOT_ERROR,
    ROOT_CHOICES,
    ROOT_MODEL,
    ROOT_ID,
    ROOT_FINGERPRINT,
    ROOT_USAGE,
    ROOT_MEMBERS
};

static void find_root_members(const cJSON *root,
                              const cJSON *found[ROOT_MEMBERS])
{
    static const char *const names[ROOT_MEMBERS] = {
        [ROOT_ERROR] = "error", [ROOT_CHOICES] = "choices",
        [ROOT_MODEL] = "model", [ROOT_ID] = "id",
        [ROOT_FINGERPRINT] = "system_fingerprint", [ROOT_USAGE] = "usage",
    };
    find_members(root, names, ROOT_MEMBERS, found);
}

static void copy_string(const cJSON *v, char *dst, size_t size)
{
    if (!cJSON_IsString(v))
        return;
    size_t n = strnlen(v->valuestring, size - 1); /* cut like snprintf */
    memcpy(dst, v->valuestring, n);
    dst[n] = '\0';
}

static long count(const cJSON *v)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
        return -1;
    return (long)v->valuedouble;
}

/* The reply's `usage` member. */
static void read_usage(const cJSON *usage, assay__response *out)
{
    if (!cJSON_IsObject(usage))
        return;
    static const char *const names[] = {
        "prompt_tokens", "completion_tokens", "total_tokens",
        "prompt_tokens_details", "completion_tokens_details"};
    const cJSON *m[sizeof names / sizeof *names];
    find_members(usage, names, sizeof names / sizeof *names, m);
    out->prompt_tokens = count(m[0]);
    out->completion_tokens = count(m[1]);
    out->total_tokens = count(m[2]);
    out->cached_tokens =
        count(cJSON_GetObjectItemCaseSensitive(m[3], "cached_tokens"));
    out->reasoning_tokens =
        count(cJSON_GetObjectItemCaseSensitive(m[4], "reasoning_tokens"));
}

/* The identity fields; each chunk of a stream repeats them. */
static void read_identity(const cJSON *const root[ROOT_MEMBERS],
                          assay__response *out)
{
    copy_string(root[ROOT_MODEL], out->model, sizeof out->model);
    copy_string(root[ROOT_ID], out->id, sizeof out->id);
    copy_string(root[ROOT_FINGERPRINT], out->system_fingerprint,
                sizeof out->system_fingerprint);
}

static assay_status bad_body(assay_error *err, long status, const char *body,
                             size_t len, const char *why)
{
    assay__buf excerpt;
    assay__buf_init(&excerpt, 0);
    assay__text_excerpt(&excerpt, body, len, EXCERPT_BYTES);
    assay__error(err, ASSAY_ERR_RESPONSE, NULL, 0, 0,
                 "HTTP %ld: %s; the body starts %s", status, why,
                 excerpt.data);
    assay__buf_release(&excerpt);
    return ASSAY_ERR_RESPONSE;
}

/*
 * OpenAI error bodies are {"error": {"message", "type", "code"}}; some
 * servers send {"error": "text"} or {"message": "text"} instead.
 */
static bool error_text(const cJSON *root, const char **message,
                       const char **type)
{
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    *type = NULL;
    if (cJSON_IsString(error)) {
        *message = error->valuestring;
        return true;
    }
    const cJSON *holder = cJSON_IsObject(error) ? error : root;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(holder, "message");
    const cJSON *typ = cJSON_GetObjectItemCaseSensitive(holder, "type");
    if (!cJSON_IsString(msg))
        return false;
    *message = msg->valuestring;
    *type = cJSON_IsString(typ) ? typ->valuestring : NULL;
    return true;
}

/* The error's `code`, a string for OpenAI and a number for llama.cpp. */
static void read_error_code(const cJSON *error, assay__response *out)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
    if (cJSON_IsString(code))
        snprintf(out->error_code, sizeof out->error_code, "%s",
                 code->valuestring);
}

static assay_status http_error(assay_error *err, long status,
                               const cJSON *root, const char *body,
                               size_t len)
{
    const char *message, *type;
    if (!root || !error_text(root, &message, &type))
        return bad_body(err, status, body, len, "the server refused");
    return assay__error(err, ASSAY_ERR_HTTP, NULL, 0, 0, "HTTP %ld: %s%s%s",
                        status, type ? type : "", type ? ": " : "", message);
}

/* ------------------------------------------------------------ choices */

static assay_status append_string(assay__buf *b, const cJSON *v)
{
    return cJSON_IsString(v) ? assay__buf_puts(b, v->valuestring) : ASSAY_OK;
}

/* The tool call at `index`, created (empty) when it is new. */
static assay__tool_call *tool_call_at(assay__response *r, size_t index)
{
    if (index > 1024)
        return NULL; /* no model calls a thousand tools in one answer */
    while (r->n_tool_calls <= index) {
        if (r->n_tool_calls == r->cap_tool_calls) {
            size_t cap = r->cap_tool_calls ? 2 * r->cap_tool_calls : 4;
            assay__tool_call *calls =
                realloc(r->tool_calls, cap * sizeof *calls);
            if (!calls)
                return NULL;
            r->tool_calls = calls;
            r->cap_tool_calls = cap;
        }
        assay__tool_call *c = &r->tool_calls[r->n_tool_calls++];
        c->id = NULL;
        c->name = NULL;
        assay__buf_init(&c->arguments, 0);
    }
    return &r->tool_calls[index];
}

/* Replaces *field with the string's value when there is one. */
static assay_status set_text(char **field, const cJSON *v)
{
    if (!cJSON_IsString(v))
        return ASSAY_OK;
    char *copy = strdup(v->valuestring);
    if (!copy)
        return ASSAY_ERR_NOMEM;
    free(*field);
    *field = copy;
    return ASSAY_OK;
}

/*
 * Tool calls, whole or as stream deltas: a delta names its call by
 * `index` and carries a piece of the arguments; a whole message lists
 * calls in order. Both come through here.
 */
static assay_status read_tool_calls(const cJSON *calls, assay__response *out)
{
    if (!cJSON_IsArray(calls))
        return ASSAY_OK;
    size_t position = 0;
    const cJSON *call;
    cJSON_ArrayForEach(call, calls)
    {
        const cJSON *index = cJSON_GetObjectItemCaseSensitive(call, "index");
        /* An index no answer could have is ignored (and never converted:
           a double past size_t's range is undefined behaviour). */
        size_t i = cJSON_IsNumber(index) && index->valuedouble >= 0 &&
                           index->valuedouble <= 1024
                       ? (size_t)index->valuedouble
                       : position;
        position++;
        assay__tool_call *c = tool_call_at(out, i);
        if (!c)
            return ASSAY_ERR_NOMEM;
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
        assay_status st = set_text(&c->id,
                                   cJSON_GetObjectItemCaseSensitive(call, "id"));
        if (st == ASSAY_OK)
            st = set_text(&c->name,
                          cJSON_GetObjectItemCaseSensitive(fn, "name"));
        if (st == ASSAY_OK)
            st = append_string(&c->arguments, cJSON_GetObjectItemCaseSensitive(
                                                  fn, "arguments"));
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static assay_status append_item(cJSON *array, cJSON *item)
{
    if (!item || !cJSON_AddItemToArray(array, item)) {
        cJSON_Delete(item);
        return ASSAY_ERR_NOMEM;
    }
    return ASSAY_OK;
}

/* The legacy /completions top_logprobs entry {token: logprob, ...} as the
   chat shape's [{token, logprob}, ...]. */
static cJSON *legacy_top(const cJSON *top)
{
    cJSON *list = cJSON_CreateArray();
    if (!list || !cJSON_IsObject(top))
        return list;
    const cJSON *alt;
    cJSON_ArrayForEach(alt, top)
    {
        cJSON *entry = cJSON_CreateObject();
        if (!entry || !cJSON_AddStringToObject(entry, "token", alt->string) ||
            !cJSON_AddNumberToObject(entry, "logprob", alt->valuedouble) ||
            append_item(list, entry) != ASSAY_OK) {
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

/*
 * Legacy /completions logprobs are parallel arrays (tokens,
 * token_logprobs, top_logprobs, text_offset); they become the chat shape's
 * items, one per token, so that checks read one form. An echoed first
 * token has a null logprob, which stays null.
 */
static assay_status read_legacy_logprobs(const cJSON *logprobs, cJSON *out)
{
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(logprobs, "tokens");
    const cJSON *lps = cJSON_GetObjectItemCaseSensitive(logprobs,
                                                        "token_logprobs");
    const cJSON *tops = cJSON_GetObjectItemCaseSensitive(logprobs,
                                                         "top_logprobs");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(logprobs,
                                                            "text_offset");
    int n = cJSON_GetArraySize(tokens);
    for (int i = 0; i < n; i++) {
        const cJSON *token = cJSON_GetArrayItem(tokens, i);
        const cJSON *lp = cJSON_GetArrayItem(lps, i);
        cJSON *item = cJSON_CreateObject();
        bool ok = item && cJSON_IsString(token) &&
                  cJSON_AddStringToObject(item, "token", token->valuestring);
        ok = ok && (cJSON_IsNumber(lp)
                        ? cJSON_AddNumberToObject(item, "logprob",
                                                  lp->valuedouble) != NULL
                        : cJSON_AddNullToObject(item, "logprob") != NULL);
        const cJSON *top = cJSON_GetArrayItem(tops, i);
        if (ok && cJSON_IsObject(top)) {
            cJSON *list = legacy_top(top);
            ok = list && cJSON_AddItemToObject(item, "top_logprobs", list);
        }
        const cJSON *offset = cJSON_GetArrayItem(offsets, i);
        if (ok && cJSON_IsNumber(offset))
            ok = cJSON_AddNumberToObject(item, "text_offset",
                                         offset->valuedouble) != NULL;
        if (!ok) {
            cJSON_Delete(item);
            return cJSON_IsString(token) ? ASSAY_ERR_NOMEM : ASSAY_OK;
        }
        if (append_item(out, item) != ASSAY_OK)
            return ASSAY_ERR_NOMEM;
    }
    return ASSAY_OK;
}

/*
 * Appends the per-token logprobs of a choice: the chat shape
 * (`logprobs.content`, also what llama-server sends for /completions) or
 * the legacy /completions arrays.
 */
static assay_status read_logprobs(const cJSON *logprobs,
                                  assay__response *out)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(logprobs, "content");
    bool legacy = cJSON_IsArray(
        cJSON_GetObjectItemCaseSensitive(logprobs, "tokens"));
    if (!cJSON_IsArray(items) && !legacy)
        return ASSAY_OK;
    if (!out->logprobs && !(out->logprobs = cJSON_CreateArray()))
        return ASSAY_ERR_NOMEM;
    if (!cJSON_IsArray(items))
        return read_legacy_logprobs(logprobs, out->logprobs);
    const cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        if (append_item(out->logprobs, cJSON_Duplicate(item, true)) !=
            ASSAY_OK)
            return ASSAY_ERR_NOMEM;
    }
    return ASSAY_OK;
}

/*
 * The answer of the first choice: a chat `message`, a stream's `delta`, or
 * a text completion's `text`. *found says whether the choice had any.
 */
static assay_status read_choice(const cJSON *choice, assay__response *out,
                                bool *found)
{
    enum { MESSAGE, DELTA, TEXT, FINISH_REASON, LOGPROBS, N_CHOICE };
    static const char *const names[N_CHOICE] = {
        [MESSAGE] = "message", [DELTA] = "delta", [TEXT] = "text",
        [FINISH_REASON] = "finish_reason", [LOGPROBS] = "logprobs"};
    const cJSON *c[N_CHOICE];
    find_members(choice, names, N_CHOICE, c);
    const cJSON *message = cJSON_IsObject(c[MESSAGE]) ? c[MESSAGE] : c[DELTA];
    const cJSON *text = c[TEXT];
    *found = cJSON_IsObject(message) || cJSON_IsString(text);
    copy_string(c[FINISH_REASON], out->finish_reason,
                sizeof out->finish_reason);
    assay_status st = append_string(&out->content, text);
    if (st == ASSAY_OK && cJSON_IsObject(message)) {
        static const char *const parts[] = {"content", "refusal",
                                            "tool_calls"};
        const cJSON *m[sizeof parts / sizeof *parts];
        find_members(message, parts, sizeof parts / sizeof *parts, m);
        st = append_string(&out->content, m[0]);
        if (st == ASSAY_OK)
            st = append_string(&out->refusal, m[1]);
        if (st == ASSAY_OK)
            st = read_tool_calls(m[2], out);
    }
    if (st == ASSAY_OK)
        st = read_logprobs(c[LOGPROBS], out);
    return st;
}

static assay_status parse_root(long http_status, const cJSON *root,
                               const cJSON *const members[ROOT_MEMBERS],
                               const char *body, size_t len,
                               assay__response *out, assay_error *err)
{
    const cJSON *choices = members[ROOT_CHOICES];
    const char *message, *type;
    assay_status st = ASSAY_OK;
    if (!cJSON_IsArray(choices) && error_text(root, &message, &type)) {
        st = http_error(err, http_status, root, body, len);
    } else if (!cJSON_IsArray(choices) || !cJSON_GetArraySize(choices)) {
        st = bad_body(err, http_status, body, len,
                      "the body has no 'choices' (not a completion)");
    } else {
        bool found;
        st = read_choice(cJSON_GetArrayItem(choices, 0), out, &found);
        if (st == ASSAY_OK && !found)
            st = bad_body(err, http_status, body, len,
                          "the first choice has neither 'message' nor 'text'");
        else if (st == ASSAY_ERR_NOMEM)
            assay__error(err, st, NULL, 0, 0, "out of memory reading a reply");
    }
    if (st == ASSAY_OK) {
        read_identity(members, out);
        read_usage(members[ROOT_USAGE], out);
    }
    return st;
}

assay_status assay__openai_parse_chat(long http_status, const char *body,
                                      size_t len, assay__response *out,
                                      assay_error *err)
{
    assay__response_reset(out);
    out->http_status = http_status;
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *members[ROOT_MEMBERS];
    find_root_members(root, members);
    assay_status st;
    if (root)
        read_error_code(members[ROOT_ERROR], out);
    if (http_status < 200 || http_status > 299) {
        st = http_error(err, http_status, root, body, len);
        if (st == ASSAY_ERR_RESPONSE)
            st = ASSAY_ERR_HTTP;
    } else if (!root) {
        st = bad_body(err, http_status, body, len, "the body is not JSON");
    } else {
        st = parse_root(http_status, root, members, body, len, out, err);
    }
    cJSON_Delete(root);
    return st;
}

/* ------------------------------------------------------------ streams */

/* Events past this size are refused rather than buffered. */
#define MAX_EVENT_BYTES ((size_t)4 << 20)

static bool has_token(const assay__response *r)
{
    return r->content.len || r->refusal.len || r->n_tool_calls;
}

/* One chunk: a JSON object like a reply, with `delta` for `message`. */
static assay_status on_chunk(assay__openai_stream *s, const char *data,
                             size_t len)
{
    cJSON *chunk = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(chunk)) {
        cJSON_Delete(chunk);
        return bad_body(&s->err, 200, data, len,
                        "a stream chunk is not a JSON object");
    }
    const char *message, *type;
    const cJSON *members[ROOT_MEMBERS];
    find_root_members(chunk, members);
    const cJSON *choices = members[ROOT_CHOICES];
    assay_status st = ASSAY_OK;
    if (members[ROOT_ERROR] &&
        error_text(chunk, &message, &type)) {
        st = assay__error(&s->err, ASSAY_ERR_HTTP, NULL, 0, 0,
                          "the stream reported an error: %s%s%s",
                          type ? type : "", type ? ": " : "", message);
    } else if (cJSON_GetArraySize(choices) > 0) {
        bool found;
        st = read_choice(cJSON_GetArrayItem(choices, 0), s->out, &found);
        if (st != ASSAY_OK)
            assay__error(&s->err, st, NULL, 0, 0, "out of memory in a stream");
    }
    if (st == ASSAY_OK) {
        read_identity(members, s->out);
        read_usage(members[ROOT_USAGE], s->out);
    }
    cJSON_Delete(chunk);
    return st;
}

static assay_status on_event(const char *event, const char *data, size_t len,
                             void *user_data)
{
    assay__openai_stream *s = user_data;
    s->events = true;
    if (s->done)
        return ASSAY_OK; /* nothing after [DONE] counts */
    if (len == 6 && !memcmp(data, "[DONE]", 6)) {
        s->done = true;
        return ASSAY_OK;
    }
    if (!strcmp(event, "error"))
        return assay__error(&s->err, ASSAY_ERR_HTTP, NULL, 0, 0,
                            "the stream reported an error: %.*s",
                            (int)(len < 300 ? len : 300), data);
    assay_status st = on_chunk(s, data, len);
    if (st == ASSAY_OK && !s->first_token && has_token(s->out))
        s->first_token = true;
    return st;
}

void assay__openai_stream_init(assay__openai_stream *s, assay__response *out)
{
    memset(s, 0, sizeof *s);
    assay__sse_init(&s->sse, MAX_EVENT_BYTES, on_event, s);
    s->out = out;
    assay__response_reset(out);
}

void assay__openai_stream_release(assay__openai_stream *s)
{
    assay__sse_release(&s->sse);
}

assay_status assay__openai_stream_feed(assay__openai_stream *s,
                                       const char *bytes, size_t n)
{
    if (s->status != ASSAY_OK)
        return s->status;
    s->status = assay__sse_feed(&s->sse, bytes, n);
    if (s->status == ASSAY_ERR_LIMIT)
        assay__error(&s->err, ASSAY_ERR_LIMIT, NULL, 0, 0,
                     "a stream event is larger than %zu bytes",
                     MAX_EVENT_BYTES);
    return s->status;
}

assay_status assay__openai_stream_finish(assay__openai_stream *s,
                                         long http_status, const char *body,
                                         size_t len, assay_error *err)
{
    if (http_status < 200 || http_status > 299 || !s->events)
        return assay__openai_parse_chat(http_status, body, len, s->out, err);
    s->out->http_status = http_status;
    if (s->status != ASSAY_OK) {
        if (err)
            *err = s->err;
        return s->status;
    }
    if (!s->done && !s->out->finish_reason[0])
        return assay__error(err, ASSAY_ERR_RESPONSE, NULL, 0, 0,
                            "HTTP %ld: the stream ended before [DONE] and "
                            "before a finish_reason (cut short)",
                            http_status);
    return ASSAY_OK;
}
