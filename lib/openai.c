/*
 * openai.c - request bodies for, and replies from, OpenAI-compatible APIs.
 *
 * Builds the JSON body of a /chat/completions request and parses what comes
 * back: the answer text, finish reason, usage and the fields that tell which
 * model and build answered. It does no I/O; the engine moves the bytes.
 * Servers differ (llama.cpp adds `timings`, some omit `usage`), so unknown
 * fields are ignored and missing optional ones stay "unknown", but a body
 * that is not a completion at all is an error that quotes its first bytes.
 */
#include "internal.h"

#include <string.h>

#define EXCERPT_BYTES 200

void assay__response_init(assay__response *r)
{
    memset(r, 0, sizeof *r);
    assay__buf_init(&r->content, 0);
    assay__response_reset(r);
}

void assay__response_reset(assay__response *r)
{
    assay__buf_reset(&r->content);
    r->http_status = 0;
    r->finish_reason[0] = '\0';
    r->model[0] = '\0';
    r->id[0] = '\0';
    r->system_fingerprint[0] = '\0';
    r->prompt_tokens = -1;
    r->completion_tokens = -1;
    r->total_tokens = -1;
}

void assay__response_release(assay__response *r)
{
    assay__buf_release(&r->content);
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
        if (!strcmp(p->string, "model") || !strcmp(p->string, "messages"))
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

/* ------------------------------------------------------------ replies */

static void copy_string_field(const cJSON *obj, const char *name, char *dst,
                              size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (cJSON_IsString(v))
        snprintf(dst, size, "%s", v->valuestring);
}

static long count_field(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
        return -1;
    return (long)v->valuedouble;
}

static void read_usage(const cJSON *root, assay__response *out)
{
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (!cJSON_IsObject(usage))
        return;
    out->prompt_tokens = count_field(usage, "prompt_tokens");
    out->completion_tokens = count_field(usage, "completion_tokens");
    out->total_tokens = count_field(usage, "total_tokens");
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

/* The answer of the first choice: a chat message or a text completion. */
static assay_status read_choice(const cJSON *choice, assay__response *out,
                                bool *found)
{
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(choice, "message");
    const cJSON *content =
        cJSON_IsObject(message)
            ? cJSON_GetObjectItemCaseSensitive(message, "content")
            : cJSON_GetObjectItemCaseSensitive(choice, "text");
    *found = cJSON_IsObject(message) || cJSON_IsString(content);
    copy_string_field(choice, "finish_reason", out->finish_reason,
                      sizeof out->finish_reason);
    if (!cJSON_IsString(content))
        return ASSAY_OK; /* null content: a refusal or a tool call */
    return assay__buf_puts(&out->content, content->valuestring);
}

assay_status assay__openai_parse_chat(long http_status, const char *body,
                                      size_t len, assay__response *out,
                                      assay_error *err)
{
    assay__response_reset(out);
    out->http_status = http_status;
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (http_status < 200 || http_status > 299) {
        assay_status st = http_error(err, http_status, root, body, len);
        cJSON_Delete(root);
        return st == ASSAY_ERR_RESPONSE ? ASSAY_ERR_HTTP : st;
    }
    if (!root)
        return bad_body(err, http_status, body, len, "the body is not JSON");

    assay_status st = ASSAY_OK;
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const char *message, *type;
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
    }
    if (st == ASSAY_OK) {
        copy_string_field(root, "model", out->model, sizeof out->model);
        copy_string_field(root, "id", out->id, sizeof out->id);
        copy_string_field(root, "system_fingerprint", out->system_fingerprint,
                          sizeof out->system_fingerprint);
        read_usage(root, out);
    } else if (st == ASSAY_ERR_NOMEM) {
        assay__error(err, st, NULL, 0, 0, "out of memory reading a reply");
    }
    cJSON_Delete(root);
    return st;
}
