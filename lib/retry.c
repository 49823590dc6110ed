/*
 * retry.c - whether a failed request is tried again, and after how long.
 *
 * Retried: connection failures and timeouts, HTTP 408, 409, 429 and 5xx,
 * replies that are not the expected JSON and streams cut short (a server
 * hiccup, not the model's answer). Not retried: other 4xx (the request
 * itself is wrong: 400, 401, 403, 404, 422), a 429 whose error says the
 * quota is spent or the request is larger than the limit (waiting cannot
 * help), a 5xx saying a parameter is unsupported (llama-server's answer to
 * `echo`), a response over the size cap. `x-should-retry: true|false` from
 * the server overrides the rule. The wait is exponential backoff with full
 * jitter (uniform in [0, min(cap, base * 2^n))), or what `retry-after` /
 * `retry-after-ms` says, plus up to 10% so that clients told the same time
 * do not return together. A case never waits past its deadline and never
 * makes more than max_attempts attempts. This file decides only; the run
 * does the waiting.
 */
#include "internal.h"

#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void assay__retry_policy_init(assay__retry_policy *p)
{
    p->max_attempts = 5;
    p->base_delay_ms = 500;
    p->max_delay_ms = 30000;
    p->case_deadline_ms = 600000;
}

/* splitmix64: small, fast, and the same sequence on every machine. */
double assay__random_unit(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0; /* [0, 1) */
}

static bool transport_retryable(int curl_code)
{
    switch (curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false; /* e.g. the response size cap, a bad URL */
    }
}

static bool status_retryable(long status)
{
    return status == 408 || status == 409 || status == 429 || status >= 500;
}

/* A 429 that waiting cannot cure. */
static bool hopeless_429(const assay__attempt *a)
{
    if (a->error_code && (!strcmp(a->error_code, "insufficient_quota") ||
                          !strcmp(a->error_code, "billing_hard_limit_reached")))
        return true;
    return a->error_message && strstr(a->error_message, "Request too large");
}

/* A 5xx that names a parameter the server does not implement, as
   llama-server answers `echo`: the same request fails the same way. */
static bool unsupported_parameter(const assay__attempt *a)
{
    return a->http_status >= 500 && a->error_message &&
           strstr(a->error_message, "Unsupported param");
}

/* Why the attempt may not be retried, or NULL when it may. */
static const char *refusal(const assay__attempt *a)
{
    if (a->curl_code != CURLE_OK)
        return transport_retryable(a->curl_code)
                   ? NULL
                   : "the error is not one that retrying can fix";
    if (a->http_status >= 200 && a->http_status < 300)
        return a->body_ok ? "the attempt succeeded" : NULL;
    if (a->http_status == 429 && hopeless_429(a))
        return "the quota is spent or the request exceeds the limit";
    if (unsupported_parameter(a))
        return "the server does not support a parameter of the request";
    if (!status_retryable(a->http_status))
        return "the server refused the request itself";
    return NULL;
}

static double backoff_ms(const assay__retry_policy *p, int attempt,
                         uint64_t *rng)
{
    double ceiling = p->base_delay_ms * pow(2.0, attempt - 1);
    if (ceiling > p->max_delay_ms)
        ceiling = p->max_delay_ms;
    return ceiling * assay__random_unit(rng);
}

bool assay__retry_decide(const assay__retry_policy *p, const assay__attempt *a,
                         double elapsed_ms, uint64_t *rng, double *delay_ms,
                         const char **why_not)
{
    *delay_ms = 0;
    const char *no = refusal(a);
    if (a->should_retry == 0)
        no = "the server said x-should-retry: false";
    else if (a->should_retry == 1 &&
             !(a->http_status >= 200 && a->http_status < 300 && a->body_ok))
        no = NULL;
    if (!no && a->attempt >= p->max_attempts)
        no = "the last allowed attempt failed";
    if (no) {
        *why_not = no;
        return false;
    }
    double wait = a->retry_after_ms >= 0
                      ? a->retry_after_ms *
                            (1.0 + 0.1 * assay__random_unit(rng))
                      : backoff_ms(p, a->attempt, rng);
    if (p->case_deadline_ms > 0 && elapsed_ms + wait > p->case_deadline_ms) {
        *why_not = "the case's deadline would pass before the next attempt";
        return false;
    }
    *delay_ms = wait;
    *why_not = NULL;
    return true;
}

/* `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`. */
double assay__retry_after_ms(const char *value, time_t now)
{
    while (*value == ' ' || *value == '\t')
        value++;
    char *end;
    double seconds = strtod(value, &end);
    if (end != value && seconds >= 0 && isfinite(seconds)) {
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (!*end)
            return seconds * 1000.0;
    }
    time_t when = curl_getdate(value, NULL);
    if (when < 0)
        return -1;
    return when > now ? (double)(when - now) * 1000.0 : 0.0;
}
