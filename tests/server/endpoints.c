/*
 * endpoints.c - what the API endpoints share: reading a JSON body, the
 * order in which limits and faults are applied to a request, and the
 * request log line.
 *
 * The endpoints themselves are chat.c (/v1/chat/completions),
 * completions.c (/v1/completions) and embeddings.c (/v1/embeddings). This
 * file does not build a body of its own beyond the errors of a body that
 * cannot be read.
 */
#include "server.h"

#include <microhttpd.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQUEST_BODY_TEXT "16 MiB"

const char *exchange_reply_text(const struct exchange *ex, const struct answer *answer)
{
    if (ex->reply_override)
        return ex->reply_override;
    return answer && answer->reply ? answer->reply : ex->srv->options.default_reply;
}

long exchange_chunk_delay(const struct exchange *ex, const struct answer *answer)
{
    return answer && answer->chunk_delay_ms >= 0 ? answer->chunk_delay_ms
                                                 : ex->srv->options.chunk_delay_ms;
}

/* A scripted "status": an error body, and a retry-after when it is a 429. */
static void fail_with_status(struct exchange *ex, struct http_reply *out)
{
    unsigned status = (unsigned)ex->answer->status;
    reply_set_error(out, status, "scripted failure",
                    status >= 500 ? "server_error" : "invalid_request_error");
    fault_add_retry_headers(ex, out, status == 429);
}

void exchange_run(struct exchange *ex, struct http_reply *out)
{
    if (ex->answer && ex->answer->delay_ms >= 0)
        out->delay_ms = ex->answer->delay_ms;
    if (!rate_limiter_admit(&ex->srv->limiter, ex->tokens, out)) {
        out->fault = "ratelimit"; /* for the log: not a fault mode, the limiter said no */
        return;
    }
    if (answer_fails_on(ex->answer, ex->attempt)) {
        if (ex->answer->fault)
            fault_apply(ex->answer->fault, ex, out);
        else
            fail_with_status(ex, out);
        return;
    }
    const struct fault_mode *mode = fault_choose(ex);
    if (mode)
        fault_apply(mode, ex, out);
    else
        ex->answer_normally(ex, out);
}

/* ------------------------------------------------------------ request log */

static bool add_body(cJSON *line, const struct request_info *req, const cJSON *parsed)
{
    if (parsed)
        return cJSON_AddItemReferenceToObject(line, "body", (cJSON *)parsed);
    if (req->body_too_large)
        return cJSON_AddTrueToObject(line, "body_too_large") != NULL;
    return cJSON_AddStringToObject(line, "body_raw", req->body ? req->body : "") != NULL;
}

/* What was answered: the status, or "reset" for a connection closed unanswered. */
static bool add_outcome(cJSON *line, const struct http_reply *reply)
{
    bool ok = reply->reset ? cJSON_AddTrueToObject(line, "reset") != NULL
                           : cJSON_AddNumberToObject(line, "status", reply->status) != NULL;
    if (ok && reply->fault)
        ok = cJSON_AddStringToObject(line, "fault", reply->fault) != NULL;
    return ok;
}

/* One line of the request log; `parsed` is NULL when the body is not JSON. */
static void request_log_write(struct fake_server *srv, const struct request_info *req,
                              const cJSON *parsed, unsigned long attempt,
                              const struct http_reply *reply)
{
    if (!srv->log)
        return;
    cJSON *line = cJSON_CreateObject();
    /* Rounded to microseconds, which is all a test can use. */
    double t_ms = round((req->arrived_ms - srv->started_ms) * 1000.0) / 1000.0;
    bool ok = line && cJSON_AddNumberToObject(line, "t_ms", t_ms)
              && cJSON_AddStringToObject(line, "path", req->path)
              && cJSON_AddNumberToObject(line, "attempt", (double)attempt);
    if (ok && req->authorization)
        ok = cJSON_AddStringToObject(line, "authorization", req->authorization) != NULL;
    ok = ok && add_body(line, req, parsed) && add_outcome(line, reply);
    char *text = ok ? cJSON_PrintUnformatted(line) : NULL;
    cJSON_Delete(line);
    if (!text) {
        fputs("assay-fake-server: could not log a request: out of memory\n", stderr);
        return;
    }
    pthread_mutex_lock(&srv->log_lock);
    fputs(text, srv->log);
    fputc('\n', srv->log);
    fflush(srv->log);
    pthread_mutex_unlock(&srv->log_lock);
    free(text);
}

void handle_json_post(struct fake_server *srv, const struct request_info *req,
                      endpoint_fn endpoint, struct http_reply *out)
{
    out->delay_ms = srv->options.delay_ms;
    unsigned long attempt = 0;
    cJSON *request = NULL;
    if (req->body_too_large) {
        reply_set_error(out, MHD_HTTP_CONTENT_TOO_LARGE,
                        "request body is larger than " MAX_REQUEST_BODY_TEXT,
                        "invalid_request_error");
    } else if (req->body_out_of_memory) {
        reply_set_error(out, 500, "out of memory", "server_error");
    } else {
        const char *body = req->body ? req->body : "";
        const char *end = NULL;
        /* A NUL inside the body would end the parse early and hide what follows. */
        if (strlen(body) == req->body_len)
            request = cJSON_ParseWithLengthOpts(body, req->body_len + 1, &end, true);
        if (request) {
            endpoint(srv, request, out, &attempt);
        } else {
            char message[96];
            snprintf(message, sizeof message, "request body is not valid JSON (at byte %zu)",
                     end ? (size_t)(end - body) : req->body_len);
            reply_set_error(out, 400, message, "invalid_request_error");
        }
    }
    request_log_write(srv, req, request, attempt, out);
    cJSON_Delete(request);
}
