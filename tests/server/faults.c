/*
 * faults.c - the ways the fake server misbehaves on purpose, one small
 * function per mode in fault_modes[], and the seeded draw that picks one
 * at random (--faults NAME=RATE,..., --seed).
 *
 * A mode turns the reply to one API request into a failure: an error
 * status (with the headers a client's retry logic reads), a closed
 * connection, a stall, a body that is not JSON, a cut body or stream, or a
 * body too large to keep. Modes that spoil a real answer ask the endpoint
 * for it first (exchange.answer_normally).
 *
 * What it does not do: decide that an answer's own fault applies to this
 * attempt (endpoints.c, with answer_fails_on), or send anything.
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*fault_fn)(struct exchange *ex, struct http_reply *out);

struct fault_mode {
    const char *name;
    fault_fn apply;
};

/* ------------------------------------------------------------ seeded PRNG */

void fault_prng_init(struct fault_prng *p, uint64_t seed)
{
    /* A splitmix64 step spreads small seeds over all bits; xorshift must not start at 0. */
    uint64_t z = seed + 0x9E3779B97F4A7C15u;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    p->state = z ? z : 0x9E3779B97F4A7C15u;
    pthread_mutex_init(&p->lock, NULL);
}

void fault_prng_release(struct fault_prng *p)
{
    pthread_mutex_destroy(&p->lock);
}

/* A uniform double in [0, 1). */
static double fault_prng_next(struct fault_prng *p)
{
    pthread_mutex_lock(&p->lock);
    uint64_t x = p->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->state = x;
    pthread_mutex_unlock(&p->lock);
    return (double)((x * 0x2545F4914F6CDD1Du) >> 11) * 0x1.0p-53;
}

/* ------------------------------------------------------------ retry hints */

/* An IMF-fixdate `seconds` from now, e.g. "Wed, 21 Oct 2015 07:28:00 GMT". */
static void http_date_ahead(long seconds, char *out, size_t size)
{
    time_t when = time(NULL) + seconds;
    struct tm tm;
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    gmtime_r(&when, &tm);
    /* Names from tables, not strftime: the date must not depend on the locale. */
    snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void fault_add_retry_headers(const struct exchange *ex, struct http_reply *out, bool need_one)
{
    const struct retry_hint *hint = ex->answer ? &ex->answer->retry : NULL;
    bool sent = false;
    if (hint && hint->seconds >= 0) {
        reply_add_header(out, "retry-after", "%ld", hint->seconds);
        sent = true;
    } else if (hint && hint->date) {
        reply_add_header(out, "retry-after", "%s", hint->date);
        sent = true;
    } else if (hint && hint->date_in_s >= 0) {
        char date[40];
        http_date_ahead(hint->date_in_s, date, sizeof date);
        reply_add_header(out, "retry-after", "%s", date);
        sent = true;
    }
    if (hint && hint->ms >= 0) {
        reply_add_header(out, "retry-after-ms", "%ld", hint->ms);
        sent = true;
    }
    if (need_one && !sent)
        reply_add_header(out, "retry-after", "%ld", ex->srv->options.retry_after_s);
}

/* ------------------------------------------------------------ the modes */

/* An error reply, with the answer's Retry-After hints if it gives any. */
static void fail_with(struct exchange *ex, struct http_reply *out, unsigned status,
                      const char *message, const char *type, const char *code)
{
    reply_set_error_code(out, status, message, type, code);
    fault_add_retry_headers(ex, out, false);
}

static void fault_500(struct exchange *ex, struct http_reply *out)
{
    fail_with(ex, out, 500, "scripted failure", "server_error", NULL);
}

static void fault_502(struct exchange *ex, struct http_reply *out)
{
    fail_with(ex, out, 502, "bad gateway", "server_error", NULL);
}

static void fault_503(struct exchange *ex, struct http_reply *out)
{
    fail_with(ex, out, 503, "the server is overloaded", "server_error", NULL);
}

static void fault_429(struct exchange *ex, struct http_reply *out)
{
    reply_set_error_code(out, 429, "Rate limit reached: scripted", "requests",
                         "rate_limit_exceeded");
    fault_add_retry_headers(ex, out, true);
}

/* A 429 that retrying cannot cure: clients must give up at once. */
static void fault_429_quota(struct exchange *ex, struct http_reply *out)
{
    fail_with(ex, out, 429, "You exceeded your current quota: scripted", "insufficient_quota",
              "insufficient_quota");
}

static void fault_400(struct exchange *ex, struct http_reply *out)
{
    fail_with(ex, out, 400, "scripted bad request", "invalid_request_error", NULL);
}

static void fault_401(struct exchange *ex, struct http_reply *out)
{
    fail_with(ex, out, 401, "Incorrect API key provided: scripted", "invalid_request_error",
              "invalid_api_key");
}

static void fault_404(struct exchange *ex, struct http_reply *out)
{
    fail_with(ex, out, 404, "The model does not exist: scripted", "invalid_request_error",
              "model_not_found");
}

static void fault_408(struct exchange *ex, struct http_reply *out)
{
    fail_with(ex, out, 408, "request timed out: scripted", "timeout_error", NULL);
}

static void fault_should_retry_false(struct exchange *ex, struct http_reply *out)
{
    fail_with(ex, out, 503, "the server is overloaded; do not retry", "server_error", NULL);
    reply_add_header(out, "x-should-retry", "false");
}

static void fault_reset(struct exchange *ex, struct http_reply *out)
{
    (void)ex;
    out->reset = true;
}

/* Holds the request for --stall-ms, then closes it unanswered: a client's timeout must end it. */
static void fault_stall(struct exchange *ex, struct http_reply *out)
{
    out->delay_ms += ex->srv->options.stall_ms;
    out->reset = true;
}

static void fault_malformed(struct exchange *ex, struct http_reply *out)
{
    static const char not_json[] = "{\"choices\": [{\"message\": not json: the malformed fault";
    if (!ex->stream) {
        reply_set_body(out, 200, not_json);
        return;
    }
    struct sse_stream *s = sse_stream_new(0);
    char *event = strdup(not_json);
    if (s && event && sse_stream_take_event(s, event) && sse_stream_add_done(s)) {
        out->status = 200;
        out->stream = s;
        out->content_type = "text/event-stream";
        return;
    }
    if (!s)
        free(event); /* a stream takes its event even when it cannot keep it */
    sse_stream_free(s);
    reply_take_body(out, 500, NULL);
}

/* A stream ends cleanly after its first content chunk, without [DONE]; a body after half. */
static void fault_truncate(struct exchange *ex, struct http_reply *out)
{
    ex->answer_normally(ex, out);
    if (out->status != 200)
        return;
    if (out->stream)
        sse_stream_cut_after(out->stream, ex->events_through_first_content);
    else
        out->body_len /= 2;
}

/* A valid 200 whose content is --huge-bytes long: tests a client's response cap. */
static void fault_huge(struct exchange *ex, struct http_reply *out)
{
    size_t n = (size_t)ex->srv->options.huge_bytes;
    char *text = malloc(n + 1);
    if (!text) {
        reply_take_body(out, 500, NULL);
        return;
    }
    memset(text, 'x', n);
    text[n] = '\0';
    ex->reply_override = text;
    ex->answer_normally(ex, out);
    ex->reply_override = NULL;
    free(text);
}

static const struct fault_mode fault_modes[] = {
    {"500", fault_500},
    {"502", fault_502},
    {"503", fault_503},
    {"429", fault_429},
    {"429-quota", fault_429_quota},
    {"400", fault_400},
    {"401", fault_401},
    {"404", fault_404},
    {"408", fault_408},
    {"reset", fault_reset},
    {"stall", fault_stall},
    {"malformed", fault_malformed},
    {"truncate", fault_truncate},
    {"huge", fault_huge},
    {"should-retry-false", fault_should_retry_false},
};

#define FAULT_MODE_COUNT (sizeof fault_modes / sizeof fault_modes[0])

const struct fault_mode *fault_mode_find(const char *name)
{
    for (size_t i = 0; i < FAULT_MODE_COUNT; i++)
        if (!strcmp(fault_modes[i].name, name))
            return &fault_modes[i];
    return NULL;
}

void fault_mode_list(FILE *to, const char *sep)
{
    for (size_t i = 0; i < FAULT_MODE_COUNT; i++)
        fprintf(to, "%s%s", i ? sep : "", fault_modes[i].name);
}

void fault_apply(const struct fault_mode *mode, struct exchange *ex, struct http_reply *out)
{
    mode->apply(ex, out);
    out->fault = mode->name;
}

/* ------------------------------------------------------------ rates */

bool fault_rates_set(struct server_options *opt, const struct fault_mode *mode, double rate)
{
    size_t i = 0;
    while (i < opt->fault_rate_count && opt->fault_rates[i].mode != mode)
        i++;
    if (i == MAX_RATED_FAULTS)
        return false;
    opt->fault_rates[i] = (struct fault_rate){mode, rate};
    if (i == opt->fault_rate_count)
        opt->fault_rate_count++;
    double total = 0.0;
    for (size_t j = 0; j < opt->fault_rate_count; j++)
        total += opt->fault_rates[j].rate;
    if (total > 1.0 + 1e-9) {
        fprintf(stderr, "assay-fake-server: fault rates add up to %g, more than 1\n", total);
        return false;
    }
    return true;
}

/* One "NAME=RATE" of --faults; `len` bytes at `item`. */
static bool parse_rate_item(struct server_options *opt, const char *item, size_t len)
{
    char text[64];
    if (len >= sizeof text) {
        fprintf(stderr, "assay-fake-server: --faults item too long: '%.*s'\n", (int)len, item);
        return false;
    }
    memcpy(text, item, len);
    text[len] = '\0';
    char *equals = strchr(text, '=');
    if (!equals) {
        fprintf(stderr, "assay-fake-server: --faults wants NAME=RATE, got '%s'\n", text);
        return false;
    }
    *equals = '\0';
    const struct fault_mode *mode = fault_mode_find(text);
    if (!mode) {
        fprintf(stderr, "assay-fake-server: unknown fault mode '%s' (expected ", text);
        fault_mode_list(stderr, ", ");
        fputs(")\n", stderr);
        return false;
    }
    char *end;
    double rate = strtod(equals + 1, &end);
    if (end == equals + 1 || *end || !(rate >= 0.0 && rate <= 1.0)) {
        fprintf(stderr, "assay-fake-server: fault rate for %s must be in 0..1, got '%s'\n", text,
                equals + 1);
        return false;
    }
    return fault_rates_set(opt, mode, rate);
}

bool fault_rates_parse(struct server_options *opt, const char *spec)
{
    const char *at = spec;
    for (;;) {
        size_t len = strcspn(at, ",");
        if (!parse_rate_item(opt, at, len))
            return false;
        if (!at[len])
            return true;
        at += len + 1;
    }
}

/* One uniform draw per request walks the cumulative rates, so the modes never overlap. */
const struct fault_mode *fault_choose(struct exchange *ex)
{
    const struct server_options *opt = &ex->srv->options;
    if (!opt->fault_rate_count)
        return NULL;
    double u = fault_prng_next(&ex->srv->prng);
    double sum = 0.0;
    for (size_t i = 0; i < opt->fault_rate_count; i++) {
        sum += opt->fault_rates[i].rate;
        if (u < sum)
            return opt->fault_rates[i].mode;
    }
    return NULL;
}
