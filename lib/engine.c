/*
 * engine.c - the one libcurl multi loop that moves every request.
 *
 * The engine POSTs prepared bodies and hands finished transfers back to its
 * owner through a callback; it knows nothing of suites, cases or checks.
 * Transfers and their easy handles are pooled and reused, so a long run
 * allocates per request only while the pool is still filling, and libcurl
 * keeps connections alive between requests to the same host.
 */
#include "internal.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct engine_transfer {
    assay__transfer pub; /* first, so the two pointers convert */
    CURL *easy;
    struct engine_transfer *next_free;
    struct engine_transfer *live_prev, *live_next; /* while in flight */
    double started_ms;
    bool too_large;
    assay_status data_status; /* what on_data said, when it stopped us */
    char errbuf[CURL_ERROR_SIZE];
} engine_transfer;

struct assay__engine {
    CURLM *multi;
    long timeout_ms;
    size_t max_response;
    assay__engine_done_fn done;
    void *user_data;
    engine_transfer *free_list;
    engine_transfer *live; /* the transfers in flight, for abort_all */
    size_t in_flight;
};

double assay__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    engine_transfer *t = user;
    size_t n = size * count;
    if (assay__buf_append(&t->pub.response_body, data, n) != ASSAY_OK) {
        t->too_large = true;
        return 0; /* libcurl stops the transfer with CURLE_WRITE_ERROR */
    }
    if (t->pub.on_data) {
        t->data_status = t->pub.on_data(&t->pub, data, n);
        if (t->data_status != ASSAY_OK)
            return 0;
    }
    return n;
}

/* Case-insensitive "Name:" at the start of a header line; the value. */
static const char *header_value(const char *line, size_t len,
                                const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
        return NULL;
    const char *v = line + n + 1;
    size_t vlen = len - n - 1;
    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
                    v[vlen - 1] == ' '))
        vlen--;
    if (vlen >= size)
        vlen = size - 1;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    return out;
}

static long header_count(const char *value)
{
    char *end;
    long v = strtol(value, &end, 10);
    return end == value || v < 0 ? -1 : v;
}

/* Reads the headers that steer retries and rate limits. Every one of
   them starts with 'r' or 'x' (and a status line with 'H'): the first byte
   sends the others (Date, Server, Content-Length...) straight back. */
static size_t on_header(char *data, size_t size, size_t count, void *user)
{
    engine_transfer *t = user;
    size_t n = size * count;
    char v[128];
    assay__transfer *p = &t->pub;
    switch (n ? data[0] : '\0') {
    case 'r':
    case 'R':
    case 'x':
    case 'X':
    case 'H':
        break;
    default:
        return n;
    }
    if (header_value(data, n, "retry-after-ms", v, sizeof v)) {
        char *end;
        double ms = strtod(v, &end);
        if (end != v && ms >= 0)
            p->retry_after_ms = ms;
    } else if (header_value(data, n, "retry-after", v, sizeof v)) {
        if (p->retry_after_ms < 0) /* retry-after-ms is more precise */
            p->retry_after_ms = assay__retry_after_ms(v, time(NULL));
    } else if (header_value(data, n, "x-should-retry", v, sizeof v)) {
        p->should_retry = !strcmp(v, "true") ? 1 : !strcmp(v, "false") ? 0
                                                                        : -1;
    } else if (header_value(data, n, "x-ratelimit-remaining-requests", v,
                            sizeof v)) {
        p->limits.remaining_requests = header_count(v);
    } else if (header_value(data, n, "x-ratelimit-remaining-tokens", v,
                            sizeof v)) {
        p->limits.remaining_tokens = header_count(v);
    } else if (header_value(data, n, "x-ratelimit-reset-requests", v,
                            sizeof v)) {
        p->limits.reset_requests_ms = assay__ratelimit_duration_ms(v);
    } else if (header_value(data, n, "x-ratelimit-reset-tokens", v,
                            sizeof v)) {
        p->limits.reset_tokens_ms = assay__ratelimit_duration_ms(v);
    } else if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
        /* A new response (after a 100 Continue): forget the last one's. */
        p->retry_after_ms = -1;
        p->should_retry = -1;
        assay__ratelimit_headers_init(&p->limits);
    }
    return n;
}

assay_status assay__engine_new(int concurrency, long timeout_ms,
                               size_t max_response, assay__engine_done_fn done,
                               void *user_data, assay__engine **out)
{
    *out = NULL;
    assay__engine *e = calloc(1, sizeof *e);
    if (!e)
        return ASSAY_ERR_NOMEM;
    e->multi = curl_multi_init();
    if (!e->multi) {
        free(e);
        return ASSAY_ERR_NOMEM;
    }
    e->timeout_ms = timeout_ms;
    e->max_response = max_response;
    e->done = done;
    e->user_data = user_data;
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)concurrency + 4);
    *out = e;
    return ASSAY_OK;
}

static void transfer_destroy(engine_transfer *t)
{
    curl_easy_cleanup(t->easy);
    assay__buf_release(&t->pub.request_body);
    assay__buf_release(&t->pub.response_body);
    free(t);
}

void assay__engine_free(assay__engine *e)
{
    if (!e)
        return;
    /* Transfers still in flight belong to their owner's jobs; the owner
       drains the engine before freeing it, so only the pool is left. */
    while (e->free_list) {
        engine_transfer *t = e->free_list;
        e->free_list = t->next_free;
        transfer_destroy(t);
    }
    curl_multi_cleanup(e->multi);
    free(e);
}

/* The options every request of the engine shares, set once per handle:
   a handle is reused for request after request, and only what differs
   between them is set at each submit. */
static void set_fixed_options(const assay__engine *e, engine_transfer *t)
{
    CURL *c = t->easy;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(c, CURLOPT_PRIVATE, t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     e->timeout_ms < 10000 ? e->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "assay/" ASSAY_VERSION_STRING);
    /* HTTP/2 where the server offers it over TLS; several requests then
       share one connection, so new ones wait for it rather than open
       their own. Plain http is HTTP/1.1: there, waiting would queue
       requests behind each other on one connection (PIPEWAIT is set per
       request, by its scheme). */
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
}

static engine_transfer *transfer_create(const assay__engine *e)
{
    engine_transfer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->easy = curl_easy_init();
    if (!t->easy) {
        free(t);
        return NULL;
    }
    set_fixed_options(e, t);
    assay__buf_init(&t->pub.request_body, 0);
    assay__buf_init(&t->pub.response_body, e->max_response);
    return t;
}

assay__transfer *assay__engine_transfer(assay__engine *e)
{
    engine_transfer *t = e->free_list;
    if (t)
        e->free_list = t->next_free;
    else
        t = transfer_create(e);
    if (!t)
        return NULL;
    t->next_free = NULL;
    t->too_large = false;
    t->pub.user = NULL;
    t->pub.http_status = 0;
    t->pub.latency_ms = -1;
    t->pub.curl_code = CURLE_OK;
    t->pub.curl_error[0] = '\0';
    t->pub.on_data = NULL;
    t->pub.retry_after_ms = -1;
    t->pub.should_retry = -1;
    assay__ratelimit_headers_init(&t->pub.limits);
    t->data_status = ASSAY_OK;
    assay__buf_reset(&t->pub.request_body);
    assay__buf_reset(&t->pub.response_body);
    return &t->pub;
}

void assay__engine_recycle(assay__engine *e, assay__transfer *pub)
{
    engine_transfer *t = (engine_transfer *)pub;
    t->next_free = e->free_list;
    e->free_list = t;
}

struct Curl_URL *assay__engine_parse_url(const char *url)
{
    CURLU *u = curl_url();
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        u = NULL;
    }
    return u;
}

void assay__engine_url_free(struct Curl_URL *parsed)
{
    curl_url_cleanup(parsed);
}

void assay__engine_headers_free(struct curl_slist *headers)
{
    for (struct curl_slist *h = headers; h; h = h->next)
        memset(h->data, 0, strlen(h->data));
    curl_slist_free_all(headers);
}

static assay_status add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *more = curl_slist_append(*list, line);
    if (!more)
        return ASSAY_ERR_NOMEM;
    *list = more;
    return ASSAY_OK;
}

assay_status assay__engine_headers(const char *auth_name,
                                   const char *auth_value,
                                   const char *const *extra, size_t n_extra,
                                   struct curl_slist **out)
{
    struct curl_slist *list = NULL;
    /* Without "Expect:" libcurl sends "Expect: 100-continue" for large
       bodies and waits a round trip for a reply most servers never send. */
    assay_status st = add_header(&list, "Content-Type: application/json");
    if (st == ASSAY_OK)
        st = add_header(&list, "Expect:");
    if (st == ASSAY_OK && auth_value && *auth_value) {
        assay__buf line;
        assay__buf_init(&line, 0);
        st = assay__buf_printf(&line, "%s: %s", auth_name, auth_value);
        if (st == ASSAY_OK)
            st = add_header(&list, line.data);
        memset(line.data, 0, line.len); /* the key must not linger */
        assay__buf_release(&line);
    }
    for (size_t i = 0; st == ASSAY_OK && i < n_extra; i++)
        st = add_header(&list, extra[i]);
    if (st != ASSAY_OK) {
        assay__engine_headers_free(list);
        list = NULL;
    }
    *out = list;
    return st;
}

assay_status assay__engine_submit(assay__engine *e, assay__transfer *pub,
                                  const assay__endpoint *ep)
{
    engine_transfer *t = (engine_transfer *)pub;
    CURL *c = t->easy;
    /* The handle keeps its fixed options (set_fixed_options); these are
       what one request may change from the last on the same handle. A
       parsed URL overrides the string; NULL clears one that an earlier
       request on this handle set. */
    curl_easy_setopt(c, CURLOPT_CURLU, ep->parsed);
    if (!ep->parsed)
        curl_easy_setopt(c, CURLOPT_URL, ep->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, ep->headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, pub->request_body.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)pub->request_body.len);
    t->errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_PIPEWAIT,
                     strncmp(ep->url, "https:", 6) ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, ep->verify_tls ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, ep->verify_tls ? 2L : 0L);
    t->started_ms = assay__now_ms();
    if (curl_multi_add_handle(e->multi, c) != CURLM_OK)
        return ASSAY_ERR_TRANSPORT;
    e->in_flight++;
    t->live_prev = NULL;
    t->live_next = e->live;
    if (e->live)
        e->live->live_prev = t;
    e->live = t;
    return ASSAY_OK;
}

/* Takes a finished or aborted transfer off the multi handle. */
static void unlink_live(assay__engine *e, engine_transfer *t)
{
    curl_multi_remove_handle(e->multi, t->easy);
    e->in_flight--;
    if (t->live_prev)
        t->live_prev->live_next = t->live_next;
    else
        e->live = t->live_next;
    if (t->live_next)
        t->live_next->live_prev = t->live_prev;
    t->live_prev = t->live_next = NULL;
}

void assay__engine_abort_all(assay__engine *e,
                             void (*abandon)(assay__transfer *t, void *user),
                             void *user)
{
    while (e->live) {
        engine_transfer *t = e->live;
        unlink_live(e, t);
        abandon(&t->pub, user);
        assay__engine_recycle(e, &t->pub);
    }
}

double assay__engine_elapsed_ms(const assay__transfer *pub)
{
    return assay__now_ms() - ((const engine_transfer *)pub)->started_ms;
}

size_t assay__engine_in_flight(const assay__engine *e)
{
    return e->in_flight;
}

void assay__engine_wakeup(assay__engine *e)
{
    /* curl_multi_wakeup is the one multi call libcurl allows from another
       thread: it interrupts curl_multi_poll. */
    curl_multi_wakeup(e->multi);
}

static void describe_failure(engine_transfer *t, CURLcode rc)
{
    if (t->data_status != ASSAY_OK)
        snprintf(t->pub.curl_error, sizeof t->pub.curl_error,
                 "the response could not be read as it arrived (%s)",
                 assay_strerror(t->data_status));
    else if (t->too_large)
        snprintf(t->pub.curl_error, sizeof t->pub.curl_error,
                 "the response is larger than %zu bytes",
                 t->pub.response_body.max);
    else
        snprintf(t->pub.curl_error, sizeof t->pub.curl_error, "%s",
                 t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
}

static void finish(assay__engine *e, CURL *easy, CURLcode rc)
{
    engine_transfer *t;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    unlink_live(e, t);

    t->pub.curl_code = (int)rc;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t->pub.http_status);
    curl_off_t total_us = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    t->pub.latency_ms = (double)total_us / 1000.0;
    if (rc != CURLE_OK)
        describe_failure(t, rc);
    e->done(&t->pub, e->user_data);
    assay__engine_recycle(e, &t->pub);
}

static void drain_finished(assay__engine *e)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(e->multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            finish(e, msg->easy_handle, msg->data.result);
}

assay_status assay__engine_step(assay__engine *e, int wait_ms)
{
    int running = 0;
    if (curl_multi_perform(e->multi, &running) != CURLM_OK)
        return ASSAY_ERR_TRANSPORT;
    size_t before = e->in_flight;
    drain_finished(e);
    if (before > 0 && e->in_flight < before)
        return ASSAY_OK;
    /* Nothing finished: wait for the sockets, or for the caller's timer
       (with nothing in flight this is a plain sleep). */
    if (curl_multi_poll(e->multi, NULL, 0, wait_ms, NULL) != CURLM_OK)
        return ASSAY_ERR_TRANSPORT;
    if (curl_multi_perform(e->multi, &running) != CURLM_OK)
        return ASSAY_ERR_TRANSPORT;
    drain_finished(e);
    return ASSAY_OK;
}
