/*
 * test_engine.c - the curl multi loop against the fake server: many
 * transfers in flight, each handed back once with its status, body and
 * timing; refused connections, timeouts and the response size cap.
 */
#include "internal.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fake_server.h"

typedef struct finished {
    int count;
    int ok;
    int http_errors;
    int transport_errors;
    int timeouts;
    long last_status;
    char last_error[256];
    char last_body[256];
} finished;

static void on_done(assay__transfer *t, void *user_data)
{
    finished *f = user_data;
    f->count++;
    assert_ptr_equal(t->user, f);
    f->last_status = t->http_status;
    snprintf(f->last_error, sizeof f->last_error, "%s", t->curl_error);
    snprintf(f->last_body, sizeof f->last_body, "%s", t->response_body.data);
    if (t->curl_code == CURLE_OPERATION_TIMEDOUT)
        f->timeouts++;
    else if (t->curl_code != CURLE_OK)
        f->transport_errors++;
    else if (t->http_status == 200) {
        f->ok++;
        assert_true(t->latency_ms >= 0);
    } else
        f->http_errors++;
}

/* Submits one chat request whose transfer carries `f`. */
static void submit_hello(assay__engine *e, const assay__endpoint *endpoint,
                         finished *f)
{
    assay__transfer *t = assay__engine_transfer(e);
    assert_non_null(t);
    t->user = f;
    assay__buf_puts(&t->request_body,
                    "{\"model\":\"m\",\"messages\":[{\"role\":"
                    "\"user\",\"content\":\"hello\"}]}");
    assert_int_equal(assay__engine_submit(e, t, endpoint), ASSAY_OK);
}

/* The headers every request of these tests carries. */
static struct curl_slist *test_headers(void)
{
    struct curl_slist *headers;
    assert_int_equal(assay__engine_headers("Authorization", "Bearer sk-test",
                                           NULL, 0, &headers),
                     ASSAY_OK);
    return headers;
}

/* Sends `n` chat requests, `in_flight` at a time, and waits for all; the
   URL is parsed once, as the run does. */
static void send_all(const char *url, int n, int in_flight, long timeout_ms,
                     size_t max_response, finished *f)
{
    assay__engine *e;
    assert_int_equal(assay__engine_new(in_flight, timeout_ms, max_response,
                                       on_done, f, &e),
                     ASSAY_OK);
    struct curl_slist *headers = test_headers();
    assay__endpoint endpoint = {.url = url,
                                .parsed = assay__engine_parse_url(url),
                                .headers = headers,
                                .verify_tls = true};
    assert_non_null(endpoint.parsed);
    int sent = 0;
    while (sent < n || assay__engine_in_flight(e) > 0) {
        while (sent < n && assay__engine_in_flight(e) < (size_t)in_flight) {
            submit_hello(e, &endpoint, f);
            sent++;
        }
        assert_int_equal(assay__engine_step(e, 100), ASSAY_OK);
    }
    assay__engine_free(e);
    assay__engine_headers_free(headers);
    assay__engine_url_free(endpoint.parsed);
}

static void test_many_in_flight(void **state)
{
    (void)state;
    fake_server fs;
    const char *args[] = {"--delay-ms", "20", NULL};
    assert_int_equal(fake_server_start(&fs, args), 0);
    char url[128];
    snprintf(url, sizeof url, "%s/chat/completions", fs.base_url);
    finished f = {0};
    send_all(url, 200, 50, 10000, 1 << 20, &f);
    fake_server_stop(&fs);
    assert_int_equal(f.count, 200);
    assert_int_equal(f.ok, 200);
    assert_non_null(strstr(f.last_body, "I don't know."));
}

static void test_http_error_status(void **state)
{
    (void)state;
    fake_server fs;
    const char *args[] = {"--fail-rate", "1", NULL};
    assert_int_equal(fake_server_start(&fs, args), 0);
    char url[128];
    snprintf(url, sizeof url, "%s/chat/completions", fs.base_url);
    finished f = {0};
    send_all(url, 5, 2, 10000, 1 << 20, &f);
    fake_server_stop(&fs);
    assert_int_equal(f.http_errors, 5);
    assert_int_equal(f.last_status, 500);
}

static void test_refused_timeout_and_cap(void **state)
{
    (void)state;
    fake_server fs;
    const char *slow[] = {"--delay-ms", "2000", NULL};
    assert_int_equal(fake_server_start(&fs, slow), 0);
    char url[128];
    snprintf(url, sizeof url, "%s/chat/completions", fs.base_url);
    finished f = {0};
    send_all(url, 3, 3, 200, 1 << 20, &f);
    assert_int_equal(f.timeouts, 3);
    fake_server_stop(&fs);

    /* The server is gone: its port refuses connections. */
    memset(&f, 0, sizeof f);
    send_all(url, 2, 2, 2000, 1 << 20, &f);
    assert_int_equal(f.transport_errors, 2);
    assert_non_null(strstr(f.last_error, "127.0.0.1"));

    assert_int_equal(fake_server_start(&fs, NULL), 0);
    snprintf(url, sizeof url, "%s/chat/completions", fs.base_url);
    memset(&f, 0, sizeof f);
    send_all(url, 1, 1, 2000, 64, &f);
    fake_server_stop(&fs);
    assert_int_equal(f.transport_errors, 1);
    assert_string_equal(f.last_error, "the response is larger than 64 bytes");
}

/* Sends one request on the engine's one handle and waits for it. */
static void send_one(assay__engine *e, const assay__endpoint *endpoint,
                     finished *f)
{
    int before = f->count;
    submit_hello(e, endpoint, f);
    while (assay__engine_in_flight(e) > 0)
        assert_int_equal(assay__engine_step(e, 100), ASSAY_OK);
    assert_int_equal(f->count, before + 1);
    assert_int_equal(f->last_status, 200);
}

/* A pooled handle goes where each request says, whether its URL came
   parsed or as a string, whatever the last request on it used. */
static void test_parsed_and_plain_urls(void **state)
{
    (void)state;
    fake_server a, b;
    const char *to_a[] = {"--default-reply", "from A", NULL};
    const char *to_b[] = {"--default-reply", "from B", NULL};
    assert_int_equal(fake_server_start(&a, to_a), 0);
    assert_int_equal(fake_server_start(&b, to_b), 0);
    char url_a[128], url_b[128];
    snprintf(url_a, sizeof url_a, "%s/chat/completions", a.base_url);
    snprintf(url_b, sizeof url_b, "%s/chat/completions", b.base_url);
    finished f = {0};
    assay__engine *e;
    assert_int_equal(assay__engine_new(1, 10000, 1 << 20, on_done, &f, &e),
                     ASSAY_OK);
    struct curl_slist *headers = test_headers();
    assay__endpoint parsed_a = {.url = url_a,
                                .parsed = assay__engine_parse_url(url_a),
                                .headers = headers};
    assay__endpoint plain_b = {.url = url_b, .headers = headers};
    assert_non_null(parsed_a.parsed);

    send_one(e, &parsed_a, &f);
    assert_non_null(strstr(f.last_body, "from A"));
    send_one(e, &plain_b, &f);
    assert_non_null(strstr(f.last_body, "from B"));
    send_one(e, &parsed_a, &f);
    assert_non_null(strstr(f.last_body, "from A"));

    /* What libcurl's parser refuses is left to the request to report. */
    assert_null(assay__engine_parse_url("127.0.0.1:1/no-scheme"));
    assert_null(assay__engine_parse_url("http://"));

    assay__engine_free(e);
    assay__engine_headers_free(headers);
    assay__engine_url_free(parsed_a.parsed);
    fake_server_stop(&b);
    fake_server_stop(&a);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_in_flight),
        cmocka_unit_test(test_http_error_status),
        cmocka_unit_test(test_refused_timeout_and_cap),
        cmocka_unit_test(test_parsed_and_plain_urls),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
