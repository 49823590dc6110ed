/*
 * test_ratelimit.c - token buckets, the server's headers and the
 * congestion window, on a clock the test moves by hand.
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

/* Sends as fast as the limiter allows for `ms` and counts what went. */
static int sent_within(assay__limiter *l, double ms, double tokens)
{
    int sent = 0;
    for (double now = 0; now < ms; now += 1) {
        while (assay__limiter_admit(l, now, tokens) == 0) {
            sent++;
            assay__limiter_finished(l, now, false, tokens, tokens);
        }
    }
    return sent;
}

static void test_requests_per_minute(void **state)
{
    (void)state;
    assay__limiter l;
    assay__limiter_init(&l, 1000, 600, 0); /* 10 a second */
    int sent = sent_within(&l, 60000, 1);
    /* A minute: the one-second burst plus 600 refills. */
    assert_in_range(sent, 600, 611);
}

static void test_tokens_per_minute(void **state)
{
    (void)state;
    assay__limiter l;
    assay__limiter_init(&l, 1000, 0, 60000); /* 1000 tokens a second */
    int sent = sent_within(&l, 10000, 100);
    assert_in_range(sent, 100, 111);
    /* A request larger than a second's worth still goes, when full. */
    assay__limiter_init(&l, 1000, 0, 60000);
    assert_true(assay__limiter_admit(&l, 0, 5000) == 0);
    assert_true(assay__limiter_admit(&l, 1, 10) > 0);
}

static void test_usage_corrects_the_estimate(void **state)
{
    (void)state;
    assay__limiter l;
    assay__limiter_init(&l, 10, 0, 60000);
    assert_true(assay__limiter_admit(&l, 0, 900) == 0);
    assay__limiter_finished(&l, 0, false, 900, 100); /* it used 100 */
    assert_true(assay__limiter_admit(&l, 0, 800) == 0);
}

static void test_window_halves_and_grows(void **state)
{
    (void)state;
    assay__limiter l;
    assay__limiter_init(&l, 64, 0, 0);
    for (int i = 0; i < 64; i++)
        assert_true(assay__limiter_admit(&l, 0, 1) == 0);
    assert_true(isinf(assay__limiter_admit(&l, 0, 1)));
    /* A burst of 429s at once halves the window once. */
    for (int i = 0; i < 10; i++)
        assay__limiter_finished(&l, 10, true, 1, -1);
    assert_true(l.window == 32);
    assay__limiter_finished(&l, 2000, true, 1, -1);
    assert_true(l.window == 16);
    assert_int_equal(l.throttled, 11);
    /* Additive increase: about one more per window's worth of successes. */
    for (int i = 0; i < 16; i++)
        assay__limiter_finished(&l, 3000, false, 1, -1);
    assert_true(l.window > 16.9 && l.window < 17.1);
    /* Never past the configured concurrency. */
    for (int i = 0; i < 100000; i++)
        assay__limiter_finished(&l, 4000, false, 1, -1);
    assert_true(l.window == 64);
}

static void test_server_headers_and_pause(void **state)
{
    (void)state;
    assay__limiter l;
    assay__limiter_init(&l, 8, 0, 0);
    assay__ratelimit_headers h;
    assay__ratelimit_headers_init(&h);
    h.remaining_requests = 0;
    h.reset_requests_ms = 1500;
    assay__limiter_observe(&l, 100, &h);
    assert_true(assay__limiter_admit(&l, 200, 1) == 1400);
    assert_true(assay__limiter_admit(&l, 1600, 1) == 0);
    assay__limiter_pause(&l, 5000);
    assert_true(assay__limiter_admit(&l, 4000, 1) == 1000);
}

static void test_durations(void **state)
{
    (void)state;
    assert_true(assay__ratelimit_duration_ms("1s") == 1000);
    assert_true(assay__ratelimit_duration_ms("6m0s") == 360000);
    assert_true(assay__ratelimit_duration_ms("20ms") == 20);
    assert_true(assay__ratelimit_duration_ms("1h2m3.5s") == 3723500);
    assert_true(assay__ratelimit_duration_ms("2") == 2000);
    assert_true(assay__ratelimit_duration_ms("soon") == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_per_minute),
        cmocka_unit_test(test_tokens_per_minute),
        cmocka_unit_test(test_usage_corrects_the_estimate),
        cmocka_unit_test(test_window_halves_and_grows),
        cmocka_unit_test(test_server_headers_and_pause),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
