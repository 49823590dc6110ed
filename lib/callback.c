/*
 * callback.c - one call of a callback target: the request the application
 * function is given, the response it fills, and the public accessors and
 * setters of both, and of the case.
 *
 * The call is prepared on the run's thread from the job's OpenAI request
 * body (the messages and parameters are read back from it, so a callback
 * target sees exactly what a model would be sent), runs on a worker
 * thread (workers.c), and is read back on the run's thread. Everything it
 * hands out is its own copy, or the case's, which the job keeps alive and
 * nobody changes while the call runs.
 *
 * What it does not do: schedule calls (run.c) or judge answers (checks).
 */
#include "callback.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An answer, a tool call's arguments or an error message, at most. */
#define MAX_TEXT ((size_t)64 << 20)

struct assay_request {
    const char *target;
    const char *prompt;
    int repeat;
    char **roles;
    char **contents;
    size_t n_messages;
    char *params_json;
    struct assay_case kase;
};

struct assay_response {
    assay__response reply;
    assay__buf error;
    bool failed;
    bool no_memory; /* a setter ran out: the call becomes an error */
};

struct assay__call {
    assay__task task;
    assay_target_fn fn;
    void *fn_data;
    void *job;
    struct assay_request req;
    struct assay_response resp;
    double latency_ms;
};

/* ------------------------------------------------------------ the case */

void assay__case_view_init(struct assay_case *view, const assay__case *c)
{
    memset(view, 0, sizeof *view);
    view->id = c->id;
    view->vars = c->vars;
}

void assay__case_view_release(struct assay_case *view)
{
    for (size_t i = 0; i < view->n_texts; i++)
        free(view->texts[i]);
    free(view->texts);
    cJSON_free(view->vars_json);
    view->texts = NULL;
    view->n_texts = 0;
    view->vars_json = NULL;
}

const char *assay_case_id(const assay_case *kase)
{
    return kase->id;
}

/* Keeps `text` with the view, to be freed with it; NULL when out of
   memory (and `text` is freed). */
static const char *keep_text(assay_case *view, char *text)
{
    char **texts = text ? realloc(view->texts,
                                  (view->n_texts + 1) * sizeof *texts)
                        : NULL;
    if (!texts) {
        cJSON_free(text);
        return NULL;
    }
    view->texts = texts;
    view->texts[view->n_texts++] = text;
    return text;
}

const char *assay_case_var(const assay_case *kase, const char *path)
{
    if (!path)
        return NULL;
    const cJSON *v = strcmp(path, "id") ? assay__json_at_path(kase->vars, path)
                                        : NULL;
    if (!v && !strcmp(path, "id"))
        return kase->id;
    if (!v)
        return NULL;
    if (cJSON_IsString(v))
        return v->valuestring;
    /* The view is the caller's for the time of the call: printing into
       it changes nothing the library reads. */
    assay_case *view = (assay_case *)kase;
    char *text = cJSON_PrintUnformatted(v);
    if (!text)
        return NULL;
    size_t n = strlen(text) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, text, n);
    cJSON_free(text);
    return keep_text(view, copy);
}

const char *assay_case_vars_json(const assay_case *kase)
{
    assay_case *view = (assay_case *)kase;
    if (!view->vars_json)
        view->vars_json = cJSON_PrintUnformatted(kase->vars);
    return view->vars_json;
}

/* ------------------------------------------------------------ requests */

size_t assay_request_message_count(const assay_request *req)
{
    return req->n_messages;
}

const char *assay_request_message_role(const assay_request *req, size_t index)
{
    return index < req->n_messages ? req->roles[index] : NULL;
}

const char *assay_request_message_content(const assay_request *req,
                                          size_t index)
{
    return index < req->n_messages ? req->contents[index] : NULL;
}

const char *assay_request_params_json(const assay_request *req)
{
    return req->params_json;
}

const char *assay_request_target(const assay_request *req)
{
    return req->target;
}

const char *assay_request_prompt(const assay_request *req)
{
    return req->prompt;
}

int assay_request_repeat(const assay_request *req)
{
    return req->repeat;
}

const assay_case *assay_request_case(const assay_request *req)
{
    return &req->kase;
}

/* ------------------------------------------------------------ responses */

static assay_status noted(assay_response *resp, assay_status st)
{
    if (st == ASSAY_ERR_NOMEM)
        resp->no_memory = true;
    return st;
}

assay_status assay_response_set_text(assay_response *resp, const char *text)
{
    if (!text)
        return ASSAY_ERR_INVALID;
    assay__buf_reset(&resp->reply.content);
    return noted(resp, assay__buf_puts(&resp->reply.content, text));
}

assay_status assay_response_add_tool_call(assay_response *resp,
                                          const char *name,
                                          const char *arguments)
{
    if (!name || !*name)
        return ASSAY_ERR_INVALID;
    assay__response *r = &resp->reply;
    if (r->n_tool_calls == r->cap_tool_calls) {
        size_t cap = r->cap_tool_calls ? 2 * r->cap_tool_calls : 4;
        assay__tool_call *calls = realloc(r->tool_calls, cap * sizeof *calls);
        if (!calls)
            return noted(resp, ASSAY_ERR_NOMEM);
        r->tool_calls = calls;
        r->cap_tool_calls = cap;
    }
    assay__tool_call *call = &r->tool_calls[r->n_tool_calls];
    memset(call, 0, sizeof *call);
    assay__buf_init(&call->arguments, MAX_TEXT);
    char id[32];
    snprintf(id, sizeof id, "call_%zu", r->n_tool_calls + 1);
    call->id = strdup(id);
    call->name = strdup(name);
    assay_status st = call->id && call->name ? ASSAY_OK : ASSAY_ERR_NOMEM;
    if (st == ASSAY_OK)
        st = assay__buf_puts(&call->arguments, arguments ? arguments : "{}");
    r->n_tool_calls++; /* released with the reply either way */
    return noted(resp, st);
}

void assay_response_set_usage(assay_response *resp, long prompt_tokens,
                              long completion_tokens)
{
    assay__response *r = &resp->reply;
    r->prompt_tokens = prompt_tokens < 0 ? -1 : prompt_tokens;
    r->completion_tokens = completion_tokens < 0 ? -1 : completion_tokens;
    r->total_tokens = prompt_tokens >= 0 && completion_tokens >= 0
                          ? prompt_tokens + completion_tokens
                          : -1;
}

assay_status assay_response_set_finish_reason(assay_response *resp,
                                              const char *reason)
{
    if (!reason || strlen(reason) >= sizeof resp->reply.finish_reason)
        return ASSAY_ERR_INVALID;
    snprintf(resp->reply.finish_reason, sizeof resp->reply.finish_reason, "%s",
             reason);
    return ASSAY_OK;
}

assay_status assay_response_set_error(assay_response *resp,
                                      const char *message)
{
    resp->failed = true;
    assay__buf_reset(&resp->error);
    return noted(resp, assay__buf_puts(&resp->error,
                                       message && *message
                                           ? message
                                           : "the callback reported an "
                                             "error"));
}

/* ------------------------------------------------------------ calls */

static void request_release(struct assay_request *req)
{
    for (size_t i = 0; i < req->n_messages; i++) {
        free(req->roles[i]);
        free(req->contents[i]);
    }
    free(req->roles);
    free(req->contents);
    cJSON_free(req->params_json);
    assay__case_view_release(&req->kase);
}

/* The messages of an OpenAI body; for a /completions body, its prompt as
   one user message. */
static assay_status read_messages(struct assay_request *req,
                                  const cJSON *body)
{
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(body, "messages");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(body, "prompt");
    size_t n = messages ? (size_t)cJSON_GetArraySize(messages) : !!prompt;
    req->roles = calloc(n ? n : 1, sizeof *req->roles);
    req->contents = calloc(n ? n : 1, sizeof *req->contents);
    if (!req->roles || !req->contents)
        return ASSAY_ERR_NOMEM;
    if (!messages) {
        if (prompt) {
            req->roles[0] = strdup("user");
            req->contents[0] = strdup(cJSON_IsString(prompt)
                                          ? prompt->valuestring
                                          : "");
            req->n_messages = 1;
            if (!req->roles[0] || !req->contents[0])
                return ASSAY_ERR_NOMEM;
        }
        return ASSAY_OK;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, messages)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        size_t i = req->n_messages++;
        req->roles[i] = strdup(cJSON_IsString(role) ? role->valuestring
                                                    : "user");
        req->contents[i] = strdup(cJSON_IsString(content)
                                      ? content->valuestring
                                      : "");
        if (!req->roles[i] || !req->contents[i])
            return ASSAY_ERR_NOMEM;
    }
    return ASSAY_OK;
}

/* Everything in the body but what the suite sets itself. */
static assay_status read_params(struct assay_request *req, cJSON *body)
{
    cJSON_DeleteItemFromObjectCaseSensitive(body, "model");
    cJSON_DeleteItemFromObjectCaseSensitive(body, "messages");
    cJSON_DeleteItemFromObjectCaseSensitive(body, "prompt");
    req->params_json = cJSON_PrintUnformatted(body);
    return req->params_json ? ASSAY_OK : ASSAY_ERR_NOMEM;
}

static void call_run(assay__task *task);

assay_status assay__call_new(const assay__target *target, const char *prompt,
                             int repeat, const assay__case *c,
                             const char *body, size_t body_len, void *job,
                             assay__call **out, assay_error *err)
{
    *out = NULL;
    assay__call *call = calloc(1, sizeof *call);
    if (!call)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    call->task.run = call_run;
    call->fn = target->call;
    call->fn_data = target->call_data;
    call->job = job;
    call->req.target = target->name;
    call->req.prompt = prompt;
    call->req.repeat = repeat;
    assay__case_view_init(&call->req.kase, c);
    assay__response_init(&call->resp.reply);
    assay__buf_init(&call->resp.error, MAX_TEXT);
    call->latency_ms = -1;
    cJSON *parsed = cJSON_ParseWithLength(body, body_len);
    assay_status st = parsed ? read_messages(&call->req, parsed)
                             : ASSAY_ERR_NOMEM;
    if (st == ASSAY_OK)
        st = read_params(&call->req, parsed);
    cJSON_Delete(parsed);
    if (st != ASSAY_OK) {
        assay__call_free(call);
        return assay__error(err, st, NULL, 0, 0,
                            "cannot prepare the call of case '%s': %s", c->id,
                            assay_strerror(st));
    }
    *out = call;
    return ASSAY_OK;
}

void assay__call_free(assay__call *call)
{
    if (!call)
        return;
    request_release(&call->req);
    assay__response_release(&call->resp.reply);
    assay__buf_release(&call->resp.error);
    free(call);
}

/* On a worker thread: the application's function, timed. */
static void call_run(assay__task *task)
{
    assay__call *call = assay__call_of(task);
    double start = assay__now_ms();
    call->fn(&call->req, &call->resp, call->fn_data);
    call->latency_ms = assay__now_ms() - start;
    /* What the case view printed is no longer borrowed by anyone. */
    assay__case_view_release(&call->req.kase);
}

assay__task *assay__call_task(assay__call *call)
{
    return &call->task;
}

assay__call *assay__call_of(assay__task *task)
{
    /* `task` is the call's first member. */
    return (assay__call *)(void *)task;
}

void *assay__call_job(const assay__call *call)
{
    return call->job;
}

assay_status assay__call_result(assay__call *call, assay__response **resp,
                                double *latency_ms, assay_error *err)
{
    struct assay_response *r = &call->resp;
    *resp = &r->reply;
    *latency_ms = call->latency_ms;
    if (r->no_memory)
        return assay__error(err, ASSAY_ERR_CALLBACK, NULL, 0, 0,
                            "out of memory while the callback answered");
    if (r->failed)
        return assay__error(err, ASSAY_ERR_CALLBACK, NULL, 0, 0, "%s",
                            r->error.data);
    if (!r->reply.finish_reason[0])
        snprintf(r->reply.finish_reason, sizeof r->reply.finish_reason, "%s",
                 r->reply.n_tool_calls ? "tool_calls" : "stop");
    return ASSAY_OK;
}
