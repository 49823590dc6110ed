/*
 * ratelimit.c - the limiter behind --ratelimit-rpm and --ratelimit-tpm: a
 * rolling minute of admitted requests (and of their token costs), the
 * x-ratelimit-* headers OpenAI sends on every reply, and a 429 with
 * retry-after once a limit is reached.
 *
 * Only admitted requests count against a limit, so a client that backs off
 * gets through once the oldest of them is a minute old. What it does not
 * do: estimate a request's tokens (the endpoints do) or share state with
 * the fault modes.
 */
#include "server.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_MS 60000.0
#define MAX_TOKEN_ENTRIES ((size_t)1 << 20)

struct rate_entry {
    double at_ms;
    long cost;
};

/* A ring of the admissions of the last minute, oldest at `head`. */
struct rate_window {
    struct rate_entry *ring;
    size_t cap, head, count;
    long sum; /* of the costs in the ring */
};

static struct rate_window *rate_window_new(size_t cap)
{
    struct rate_window *w = calloc(1, sizeof *w);
    if (w) {
        w->cap = cap;
        w->ring = calloc(cap, sizeof *w->ring);
    }
    if (w && !w->ring) {
        free(w);
        w = NULL;
    }
    return w;
}

static void rate_window_free(struct rate_window *w)
{
    if (w)
        free(w->ring);
    free(w);
}

static void rate_window_expire(struct rate_window *w, double now)
{
    while (w->count && w->ring[w->head].at_ms <= now - WINDOW_MS) {
        w->sum -= w->ring[w->head].cost;
        w->head = (w->head + 1) % w->cap;
        w->count--;
    }
}

static const struct rate_entry *rate_window_at(const struct rate_window *w, size_t i)
{
    return &w->ring[(w->head + i) % w->cap];
}

static void rate_window_push(struct rate_window *w, double now, long cost)
{
    w->ring[(w->head + w->count) % w->cap] = (struct rate_entry){now, cost};
    w->count++;
    w->sum += cost;
}

/* Milliseconds until the window is empty again (OpenAI's "reset"). */
static double rate_window_reset_ms(const struct rate_window *w, double now)
{
    if (!w->count)
        return 0.0;
    return rate_window_at(w, w->count - 1)->at_ms + WINDOW_MS - now;
}

/* Milliseconds until `cost` more fits under `limit`: the oldest entries must expire first. */
static double rate_window_wait_ms(const struct rate_window *w, long limit, long cost,
                                  double now)
{
    long sum = w->sum;
    for (size_t i = 0; i < w->count; i++) {
        if (sum + cost <= limit && w->count - i < w->cap)
            return i ? rate_window_at(w, i - 1)->at_ms + WINDOW_MS - now : 0.0;
        sum -= rate_window_at(w, i)->cost;
    }
    return rate_window_reset_ms(w, now);
}

/* ------------------------------------------------------------ the limiter */

bool rate_limiter_init(struct rate_limiter *l, long rpm, long tpm)
{
    *l = (struct rate_limiter){.rpm = rpm, .tpm = tpm};
    pthread_mutex_init(&l->lock, NULL);
    if (rpm && !(l->requests = rate_window_new((size_t)rpm)))
        return false;
    if (tpm && !(l->tokens = rate_window_new(MAX_TOKEN_ENTRIES)))
        return false;
    return true;
}

void rate_limiter_release(struct rate_limiter *l)
{
    rate_window_free(l->requests);
    rate_window_free(l->tokens);
    pthread_mutex_destroy(&l->lock);
    *l = (struct rate_limiter){0};
}

/* A duration the way OpenAI writes one: "20ms", "1.5s", "6m0s". */
static void format_duration(double ms, char *out, size_t size)
{
    long total_ms = (long)ceil(ms > 0 ? ms : 0);
    if (total_ms < 1000) {
        snprintf(out, size, "%ldms", total_ms);
        return;
    }
    long minutes = total_ms / 60000, rest_ms = total_ms % 60000;
    char seconds[24];
    snprintf(seconds, sizeof seconds, "%ld.%03ld", rest_ms / 1000, rest_ms % 1000);
    size_t n = strlen(seconds);
    while (seconds[n - 1] == '0')
        seconds[--n] = '\0';
    if (seconds[n - 1] == '.')
        seconds[--n] = '\0';
    if (minutes)
        snprintf(out, size, "%ldm%ss", minutes, seconds);
    else
        snprintf(out, size, "%ss", seconds);
}

static void add_limit_headers(struct http_reply *out, const char *kind, long limit,
                              long remaining, double reset_ms)
{
    /* The header names must outlive the reply: pick them from literals. */
    bool requests = !strcmp(kind, "requests");
    char reset[48];
    format_duration(reset_ms, reset, sizeof reset);
    reply_add_header(out, requests ? "x-ratelimit-limit-requests" : "x-ratelimit-limit-tokens",
                     "%ld", limit);
    reply_add_header(out,
                     requests ? "x-ratelimit-remaining-requests"
                              : "x-ratelimit-remaining-tokens",
                     "%ld", remaining > 0 ? remaining : 0);
    reply_add_header(out, requests ? "x-ratelimit-reset-requests" : "x-ratelimit-reset-tokens",
                     "%s", reset);
}

bool rate_limiter_admit(struct rate_limiter *l, long tokens, struct http_reply *out)
{
    if (!l->requests && !l->tokens)
        return true;
    pthread_mutex_lock(&l->lock);
    double now = monotonic_ms();
    double wait_ms = 0.0;
    if (l->requests) {
        rate_window_expire(l->requests, now);
        if (l->requests->count >= (size_t)l->rpm)
            wait_ms = rate_window_wait_ms(l->requests, l->rpm, 1, now);
    }
    if (l->tokens) {
        rate_window_expire(l->tokens, now);
        /* A request larger than the whole limit still goes through an empty window. */
        bool fits = l->tokens->sum + tokens <= l->tpm || l->tokens->count == 0;
        if (!fits || l->tokens->count == l->tokens->cap) {
            double w = rate_window_wait_ms(l->tokens, l->tpm, tokens, now);
            wait_ms = w > wait_ms ? w : wait_ms;
        }
    }
    bool admitted = wait_ms <= 0.0;
    if (admitted && l->requests)
        rate_window_push(l->requests, now, 1);
    if (admitted && l->tokens)
        rate_window_push(l->tokens, now, tokens);
    if (l->requests)
        add_limit_headers(out, "requests", l->rpm, l->rpm - (long)l->requests->count,
                          rate_window_reset_ms(l->requests, now));
    if (l->tokens)
        add_limit_headers(out, "tokens", l->tpm, l->tpm - l->tokens->sum,
                          rate_window_reset_ms(l->tokens, now));
    pthread_mutex_unlock(&l->lock);
    if (!admitted) {
        long seconds = (long)ceil(wait_ms / 1000.0);
        reply_set_error_code(out, 429, "Rate limit reached: the fake server's --ratelimit",
                             "requests", "rate_limit_exceeded");
        reply_add_header(out, "retry-after", "%ld", seconds > 0 ? seconds : 1);
    }
    return admitted;
}
