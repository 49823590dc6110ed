/*
 * ratelimit.c - how fast one target may be called.
 *
 * Three things hold a request back, each per target:
 *  - token buckets for requests per minute and tokens per minute, refilled
 *    continuously, holding one second's worth (at least one request), so
 *    that the rate is spread over the minute rather than spent in a burst.
 *    A request's tokens are estimated before it is sent and corrected from
 *    the reported usage afterwards;
 *  - the server's own word: `x-ratelimit-remaining-*` at 0 blocks until the
 *    matching `x-ratelimit-reset-*` time;
 *  - a congestion window on the requests in flight: halved on a 429 (at
 *    most once a second, so that one burst of 429s counts once), grown by
 *    1/window on each success (additive increase, multiplicative decrease),
 *    never above the configured concurrency.
 * It keeps time as milliseconds given by the caller, so it is tested
 * without sleeping. A cache hit never comes here.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void bucket_init(assay__bucket *b, double per_minute)
{
    b->rate_per_ms = per_minute / 60000.0;
    b->capacity = per_minute > 0 ? fmax(1.0, per_minute / 60.0) : 0;
    b->level = b->capacity;
}

static void bucket_refill(assay__bucket *b, double elapsed_ms)
{
    if (b->capacity > 0)
        b->level = fmin(b->capacity, b->level + b->rate_per_ms * elapsed_ms);
}

/* ms until `need` fits (a need above the capacity waits for a full one). */
static double bucket_wait(const assay__bucket *b, double need)
{
    if (b->capacity <= 0)
        return 0;
    double want = fmin(need, b->capacity);
    return b->level >= want ? 0 : (want - b->level) / b->rate_per_ms;
}

void assay__limiter_init(assay__limiter *l, int max_concurrency, double rpm,
                         double tpm)
{
    memset(l, 0, sizeof *l);
    bucket_init(&l->requests, rpm);
    bucket_init(&l->tokens, tpm);
    l->max_window = max_concurrency > 0 ? max_concurrency : 1;
    l->window = l->max_window;
    l->last_decrease_ms = -INFINITY;
    l->last_ms = NAN;
}

static void advance_clock(assay__limiter *l, double now_ms)
{
    if (!isnan(l->last_ms) && now_ms > l->last_ms) {
        bucket_refill(&l->requests, now_ms - l->last_ms);
        bucket_refill(&l->tokens, now_ms - l->last_ms);
    }
    if (isnan(l->last_ms) || now_ms > l->last_ms)
        l->last_ms = now_ms;
}

double assay__limiter_admit(assay__limiter *l, double now_ms, double tokens)
{
    advance_clock(l, now_ms);
    if (l->in_flight >= (int)l->window)
        return INFINITY; /* only a finished request makes room */
    double wait = fmax(0, l->blocked_until_ms - now_ms);
    wait = fmax(wait, bucket_wait(&l->requests, 1));
    wait = fmax(wait, bucket_wait(&l->tokens, tokens));
    if (wait > 0)
        return wait;
    if (l->requests.capacity > 0)
        l->requests.level -= 1;
    if (l->tokens.capacity > 0)
        l->tokens.level -= tokens;
    l->in_flight++;
    return 0;
}

void assay__limiter_finished(assay__limiter *l, double now_ms, bool throttled,
                             double estimated_tokens, double actual_tokens)
{
    advance_clock(l, now_ms);
    if (l->in_flight > 0)
        l->in_flight--;
    if (l->tokens.capacity > 0 && actual_tokens >= 0)
        l->tokens.level = fmin(l->tokens.capacity,
                               l->tokens.level + estimated_tokens -
                                   actual_tokens);
    if (throttled) {
        l->throttled++;
        if (now_ms - l->last_decrease_ms >= 1000) {
            l->window = fmax(1.0, l->window / 2);
            l->last_decrease_ms = now_ms;
        }
    } else {
        l->window = fmin((double)l->max_window, l->window + 1.0 / l->window);
    }
}

void assay__limiter_observe(assay__limiter *l, double now_ms,
                            const assay__ratelimit_headers *h)
{
    if (h->remaining_requests == 0 && h->reset_requests_ms > 0)
        l->blocked_until_ms =
            fmax(l->blocked_until_ms, now_ms + h->reset_requests_ms);
    if (h->remaining_tokens == 0 && h->reset_tokens_ms > 0)
        l->blocked_until_ms =
            fmax(l->blocked_until_ms, now_ms + h->reset_tokens_ms);
}

void assay__limiter_pause(assay__limiter *l, double until_ms)
{
    l->blocked_until_ms = fmax(l->blocked_until_ms, until_ms);
}

/* OpenAI writes durations like "1s", "6m0s", "20ms", "1h2m3.5s". */
double assay__ratelimit_duration_ms(const char *text)
{
    double total = 0;
    bool any = false;
    const char *p = text;
    while (*p == ' ')
        p++;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0)
            return -1;
        p = end;
        double unit;
        if (!strncmp(p, "ms", 2)) {
            unit = 1;
            p += 2;
        } else if (*p == 's') {
            unit = 1000;
            p++;
        } else if (*p == 'm') {
            unit = 60000;
            p++;
        } else if (*p == 'h') {
            unit = 3600000;
            p++;
        } else if (*p == '\0' || *p == '\r' || *p == '\n' || *p == ' ') {
            unit = 1000; /* a bare number is seconds */
        } else {
            return -1;
        }
        total += v * unit;
        any = true;
        while (*p == '\r' || *p == '\n' || *p == ' ')
            p++;
    }
    return any ? total : -1;
}

void assay__ratelimit_headers_init(assay__ratelimit_headers *h)
{
    h->remaining_requests = -1;
    h->remaining_tokens = -1;
    h->reset_requests_ms = -1;
    h->reset_tokens_ms = -1;
}
