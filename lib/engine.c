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

typedef struct engine_transfer {
    assay__transfer pub; /* first, so the two pointers convert */
    CURL *easy;
    struct curl_slist *headers;
    struct engine_transfer *next_free;
    bool too_large;
    char errbuf[CURL_ERROR_SIZE];
} engine_transfer;

struct assay__engine {
    CURLM *multi;
    long timeout_ms;
    size_t max_response;
    assay__engine_done_fn done;
    void *user_data;
    engine_transfer *free_list;
    size_t in_flight;
};

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    engine_transfer *t = user;
    size_t n = size * count;
    if (assay__buf_append(&t->pub.response_body, data, n) != ASSAY_OK) {
        t->too_large = true;
        return 0; /* libcurl stops the transfer with CURLE_WRITE_ERROR */
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
    curl_slist_free_all(t->headers);
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
    assay__buf_reset(&t->pub.request_body);
    assay__buf_reset(&t->pub.response_body);
    return &t->pub;
}

void assay__engine_recycle(assay__engine *e, assay__transfer *pub)
{
    engine_transfer *t = (engine_transfer *)pub;
    curl_slist_free_all(t->headers);
    t->headers = NULL;
    t->next_free = e->free_list;
    e->free_list = t;
}

static assay_status build_headers(engine_transfer *t, const char *api_key)
{
    curl_slist_free_all(t->headers);
    t->headers = NULL;
    struct curl_slist *h =
        curl_slist_append(NULL, "Content-Type: application/json");
    if (h && api_key && *api_key) {
        assay__buf line;
        assay__buf_init(&line, 0);
        if (assay__buf_printf(&line, "Authorization: Bearer %s", api_key) !=
            ASSAY_OK) {
            curl_slist_free_all(h);
            return ASSAY_ERR_NOMEM;
        }
        struct curl_slist *more = curl_slist_append(h, line.data);
        /* The key must not linger in freed memory longer than needed. */
        memset(line.data, 0, line.len);
        assay__buf_release(&line);
        if (!more) {
            curl_slist_free_all(h);
            return ASSAY_ERR_NOMEM;
        }
        h = more;
    }
    if (!h)
        return ASSAY_ERR_NOMEM;
    /* Without this libcurl sends "Expect: 100-continue" for large bodies
       and waits a round trip for a reply most servers never send. */
    struct curl_slist *more = curl_slist_append(h, "Expect:");
    if (!more) {
        curl_slist_free_all(h);
        return ASSAY_ERR_NOMEM;
    }
    t->headers = more;
    return ASSAY_OK;
}

assay_status assay__engine_submit(assay__engine *e, assay__transfer *pub,
                                  const char *url, const char *api_key)
{
    engine_transfer *t = (engine_transfer *)pub;
    assay_status st = build_headers(t, api_key);
    if (st != ASSAY_OK)
        return st;
    CURL *c = t->easy;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, pub->request_body.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)pub->request_body.len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_PRIVATE, t);
    t->errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     e->timeout_ms < 10000 ? e->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "assay/" ASSAY_VERSION_STRING);
    if (curl_multi_add_handle(e->multi, c) != CURLM_OK)
        return ASSAY_ERR_TRANSPORT;
    e->in_flight++;
    return ASSAY_OK;
}

size_t assay__engine_in_flight(const assay__engine *e)
{
    return e->in_flight;
}

static void describe_failure(engine_transfer *t, CURLcode rc)
{
    if (t->too_large)
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
    curl_multi_remove_handle(e->multi, easy);
    e->in_flight--;

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
    if (e->in_flight == 0 || e->in_flight < before)
        return ASSAY_OK;
    if (curl_multi_poll(e->multi, NULL, 0, wait_ms, NULL) != CURLM_OK)
        return ASSAY_ERR_TRANSPORT;
    if (curl_multi_perform(e->multi, &running) != CURLM_OK)
        return ASSAY_ERR_TRANSPORT;
    drain_finished(e);
    return ASSAY_OK;
}
