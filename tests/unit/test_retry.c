/*
 * test_retry.c - which failures are retried, how long the waits are, and
 * that no case retries forever.
 */
#include "internal.h"

#include <curl/curl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static assay__attempt http(long status, int attempt)
{
    return (assay__attempt){.attempt = attempt,
                            .curl_code = CURLE_OK,
                            .http_status = status,
                            .body_ok = false,
                            .retry_after_ms = -1,
                            .should_retry = -1};
}

static bool retried(const assay__attempt *a, double *delay)
{
    assay__retry_policy p;
    assay__retry_policy_init(&p);
    uint64_t rng = 42;
    const char *why = "unset";
    bool again = assay__retry_decide(&p, a, 0, &rng, delay, &why);
    if (again)
        assert_null(why);
    else
        assert_non_null(why);
    return again;
}

static void test_what_is_retried(void **state)
{
    (void)state;
    double d;
    const long yes[] = {408, 409, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        assay__attempt a = http(yes[i], 1);
        assert_true(retried(&a, &d));
    }
    const long no[] = {400, 401, 403, 404, 422};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        assay__attempt a = http(no[i], 1);
        assert_false(retried(&a, &d));
    }
    assay__attempt ok = http(200, 1);
    ok.body_ok = true;
    assert_false(retried(&ok, &d));
    assay__attempt malformed = http(200, 1); /* body not a completion */
    assert_true(retried(&malformed, &d));

    assay__attempt reset = http(0, 1);
    reset.curl_code = CURLE_RECV_ERROR;
    assert_true(retried(&reset, &d));
    reset.curl_code = CURLE_OPERATION_TIMEDOUT;
    assert_true(retried(&reset, &d));
    reset.curl_code = CURLE_WRITE_ERROR; /* the response size cap */
    assert_false(retried(&reset, &d));
}

static void test_hopeless_429s(void **state)
{
    (void)state;
    double d;
    assay__attempt quota = http(429, 1);
    quota.error_code = "insufficient_quota";
    assert_false(retried(&quota, &d));
    assay__attempt large = http(429, 1);
    large.error_message = "HTTP 429: tokens: Request too large for gpt-4o";
    assert_false(retried(&large, &d));
    assay__attempt busy = http(429, 1);
    busy.error_code = "rate_limit_exceeded";
    assert_true(retried(&busy, &d));
}

/* llama-server's answer to `echo` on /completions: a 500 every time. */
static void test_unsupported_parameter(void **state)
{
    (void)state;
    double d;
    assay__attempt echo = http(500, 1);
    echo.error_message = "HTTP 500: Unsupported param: echo";
    assert_false(retried(&echo, &d));
    assay__attempt crash = http(500, 1);
    crash.error_message = "HTTP 500: internal error";
    assert_true(retried(&crash, &d));
}

static void test_should_retry_header(void **state)
{
    (void)state;
    double d;
    assay__attempt a = http(503, 1);
    a.should_retry = 0;
    assert_false(retried(&a, &d));
    a = http(400, 1);
    a.should_retry = 1;
    assert_true(retried(&a, &d));
}

static void test_backoff_with_full_jitter(void **state)
{
    (void)state;
    assay__retry_policy p;
    assay__retry_policy_init(&p);
    p.max_attempts = 100;
    uint64_t rng = 7;
    for (int attempt = 1; attempt <= 10; attempt++) {
        double ceiling = fmin(p.max_delay_ms, 500.0 * pow(2, attempt - 1));
        double sum = 0;
        for (int i = 0; i < 2000; i++) {
            assay__attempt a = http(503, attempt);
            double d;
            const char *why;
            assert_true(assay__retry_decide(&p, &a, 0, &rng, &d, &why));
            assert_true(d >= 0 && d < ceiling);
            sum += d;
        }
        /* Uniform on [0, ceiling): the mean is near half of it. */
        double mean = sum / 2000;
        assert_true(fabs(mean - ceiling / 2) < ceiling * 0.05);
    }
}

static void test_retry_after_is_honoured(void **state)
{
    (void)state;
    double d;
    assay__attempt a = http(429, 1);
    a.retry_after_ms = 2000;
    for (int i = 0; i < 100; i++) {
        assert_true(retried(&a, &d));
        assert_true(d >= 2000 && d <= 2200);
    }
}

static void test_limits(void **state)
{
    (void)state;
    assay__retry_policy p;
    assay__retry_policy_init(&p);
    uint64_t rng = 1;
    double d;
    const char *why;
    assay__attempt last = http(503, 5);
    assert_false(assay__retry_decide(&p, &last, 0, &rng, &d, &why));
    assert_string_equal(why, "the last allowed attempt failed");
    assay__attempt late = http(429, 2);
    late.retry_after_ms = 60000;
    assert_false(assay__retry_decide(&p, &late, p.case_deadline_ms - 1000,
                                     &rng, &d, &why));
    assert_string_equal(why,
                        "the case's deadline would pass before the next "
                        "attempt");
}

static void test_retry_after_values(void **state)
{
    (void)state;
    time_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
    assert_true(assay__retry_after_ms("120", now) == 120000);
    assert_true(assay__retry_after_ms(" 1.5\r\n", now) == 1500);
    assert_true(assay__retry_after_ms("Wed, 21 Oct 2015 07:28:30 GMT", now) ==
                30000);
    assert_true(assay__retry_after_ms("Wed, 21 Oct 2015 07:27:00 GMT", now) ==
                0);
    assert_true(assay__retry_after_ms("soon", now) == -1);
}

static void test_random_is_reproducible(void **state)
{
    (void)state;
    uint64_t a = 99, b = 99;
    for (int i = 0; i < 10; i++) {
        double x = assay__random_unit(&a);
        assert_true(x >= 0 && x < 1);
        assert_true(x == assay__random_unit(&b));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_is_retried),
        cmocka_unit_test(test_hopeless_429s),
        cmocka_unit_test(test_unsupported_parameter),
        cmocka_unit_test(test_should_retry_header),
        cmocka_unit_test(test_backoff_with_full_jitter),
        cmocka_unit_test(test_retry_after_is_honoured),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_retry_after_values),
        cmocka_unit_test(test_random_is_reproducible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
