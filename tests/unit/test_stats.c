/*
 * test_stats.c - counts, the Wilson interval and latency quantiles.
 *
 * Reference values are literals computed apart from the code under test:
 * the Wilson bounds as the two roots of the quadratic
 *   (1 + z^2/n) p^2 - (2k/n + z^2/n) p + (k/n)^2 = 0
 * solved with Python's decimal module at 40 digits, and quantiles by sorting
 * the latencies and taking the nearest rank.
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define Z_95 1.959963984540054

static void near(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.17g, want %.17g (tolerance %g)", what, got, want,
                 tol);
}

static void near_rel(double got, double want, double rel, const char *what)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("%s: got %.17g, want %.17g (relative tolerance %g)", what, got,
                 want, rel);
}

static void is_nan(double got, const char *what)
{
    if (!isnan(got))
        fail_msg("%s: got %.17g, want NaN", what, got);
}

static void test_wilson_vectors(void **state)
{
    (void)state;
    /* python3, decimal, prec 40: roots of the quadratic above, z = 1.96 */
    static const struct {
        long k, n;
        double low, high;
    } v[] = {
        {0, 10, 0.0, 0.27754016876661658},
        {10, 10, 0.72245983123338342, 1.0},
        {37, 40, 0.80135469840902473, 0.97416444322814177},
        {81, 263, 0.25528761306366965, 0.36621068405342155},
        {1, 1, 0.20654329147389291, 1.0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        double low, high;
        assay__wilson(v[i].k, v[i].n, 1.96, &low, &high);
        char what[64];
        snprintf(what, sizeof what, "wilson(%ld, %ld) low", v[i].k, v[i].n);
        near(low, v[i].low, 1e-12, what);
        snprintf(what, sizeof what, "wilson(%ld, %ld) high", v[i].k, v[i].n);
        near(high, v[i].high, 1e-12, what);
    }
}

static void test_wilson_undefined(void **state)
{
    (void)state;
    double low = 0, high = 0;
    assay__wilson(0, 0, 1.96, &low, &high);
    is_nan(low, "n = 0 low");
    is_nan(high, "n = 0 high");
    assay__wilson(3, 2, 1.96, &low, &high);
    is_nan(low, "k > n low");
    assay__wilson(-1, 2, 1.96, &low, &high);
    is_nan(high, "k < 0 high");
}

static void test_empty(void **state)
{
    (void)state;
    assay__stats s;
    assay__stats_init(&s);
    near(assay__stats_get(&s, ASSAY_STAT_RESULTS), 0, 0, "results");
    near(assay__stats_get(&s, ASSAY_STAT_PASSED), 0, 0, "passed");
    is_nan(assay__stats_get(&s, ASSAY_STAT_PASS_RATE), "pass rate");
    is_nan(assay__stats_get(&s, ASSAY_STAT_PASS_RATE_LOW), "low");
    is_nan(assay__stats_get(&s, ASSAY_STAT_PASS_RATE_HIGH), "high");
    is_nan(assay__stats_get(&s, ASSAY_STAT_LATENCY_MEAN_MS), "mean");
    is_nan(assay__stats_get(&s, ASSAY_STAT_LATENCY_P95_MS), "p95");
    is_nan(assay__stats_latency_quantile(&s, 0.5), "p50");
    near(assay__stats_get(&s, ASSAY_STAT_PROMPT_TOKENS), 0, 0, "tokens");
    is_nan(assay__stats_get(&s, (assay_stat)99), "unknown statistic");
}

static void test_counts_and_rate(void **state)
{
    (void)state;
    assay__stats s;
    assay__stats_init(&s);
    for (int i = 0; i < 263; i++) {
        assay__outcome o = i < 81    ? ASSAY__OUTCOME_PASS
                           : i < 250 ? ASSAY__OUTCOME_FAIL
                                     : ASSAY__OUTCOME_ERROR;
        assay__stats_add(&s, o, 100.0, 10, i % 2 ? -1 : 3);
    }
    near(assay__stats_get(&s, ASSAY_STAT_RESULTS), 263, 0, "results");
    near(assay__stats_get(&s, ASSAY_STAT_PASSED), 81, 0, "passed");
    near(assay__stats_get(&s, ASSAY_STAT_FAILED), 169, 0, "failed");
    near(assay__stats_get(&s, ASSAY_STAT_ERRORS), 13, 0, "errors");
    /* errors count as not passed: 81 of 263 */
    near(assay__stats_get(&s, ASSAY_STAT_PASS_RATE), 81.0 / 263.0, 1e-15,
         "pass rate");
    /* python3, decimal, prec 40, z = 1.959963984540054, k = 81, n = 263 */
    near(assay__stats_get(&s, ASSAY_STAT_PASS_RATE_LOW), 0.25528851987827422,
         1e-12, "low");
    near(assay__stats_get(&s, ASSAY_STAT_PASS_RATE_HIGH), 0.36620957698280004,
         1e-12, "high");
    /* every result reported 10 prompt tokens; completions 3 on even i */
    near(assay__stats_get(&s, ASSAY_STAT_PROMPT_TOKENS), 2630, 0, "prompt");
    near(assay__stats_get(&s, ASSAY_STAT_COMPLETION_TOKENS), 132 * 3, 0,
         "completion");
    /* the 13 errors had no latency counted */
    near((double)s.latency_n, 250, 0, "latency count");
}

static void test_errors_have_no_latency(void **state)
{
    (void)state;
    assay__stats s;
    assay__stats_init(&s);
    assay__stats_add(&s, ASSAY__OUTCOME_ERROR, 60000.0, -1, -1);
    assay__stats_add(&s, ASSAY__OUTCOME_ERROR, -1.0, -1, -1);
    is_nan(assay__stats_get(&s, ASSAY_STAT_LATENCY_MEAN_MS), "mean");
    is_nan(assay__stats_get(&s, ASSAY_STAT_LATENCY_P95_MS), "p95");
    near(assay__stats_get(&s, ASSAY_STAT_PASS_RATE), 0, 0, "rate");
    near(assay__stats_get(&s, ASSAY_STAT_PROMPT_TOKENS), 0, 0, "tokens");

    assay__stats_add(&s, ASSAY__OUTCOME_PASS, 200.0, 5, 1);
    assay__stats_add(&s, ASSAY__OUTCOME_FAIL, 400.0, 5, 1);
    assay__stats_add(&s, ASSAY__OUTCOME_FAIL, -1.0, 5, 1); /* no response */
    near(assay__stats_get(&s, ASSAY_STAT_LATENCY_MEAN_MS), 300.0, 1e-12,
         "mean of the two verdicts with a latency");
}

static void test_uniform_quantiles(void **state)
{
    (void)state;
    assay__stats s;
    assay__stats_init(&s);
    for (int ms = 1000; ms >= 1; ms--) /* order must not matter */
        assay__stats_add(&s, ASSAY__OUTCOME_PASS, ms, -1, -1);
    near(assay__stats_get(&s, ASSAY_STAT_LATENCY_MEAN_MS), 500.5, 1e-9, "mean");
    /* nearest rank of 1..1000: the q-quantile is ceil(1000 q) */
    near_rel(assay__stats_get(&s, ASSAY_STAT_LATENCY_P95_MS), 950, 0.01, "p95");
    near_rel(assay__stats_latency_quantile(&s, 0.5), 500, 0.01, "p50");
    near_rel(assay__stats_latency_quantile(&s, 0.99), 990, 0.01, "p99");
    near_rel(assay__stats_latency_quantile(&s, 0.0), 1, 0.01, "p0");
    near_rel(assay__stats_latency_quantile(&s, 1.0), 1000, 0.01, "p100");
    is_nan(assay__stats_latency_quantile(&s, 1.5), "q > 1");
    is_nan(assay__stats_latency_quantile(&s, -0.1), "q < 0");
    is_nan(assay__stats_latency_quantile(&s, NAN), "q NaN");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Log-uniform latencies from 0.05 ms to 10^6 ms against a sorted list. */
static void test_log_spread_quantiles(void **state)
{
    (void)state;
    enum { N = 10007 };
    static double v[N];
    assay__stats s;
    assay__stats_init(&s);
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < N; i++) {
        x ^= x << 13; /* xorshift64 */
        x ^= x >> 7;
        x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0;
        v[i] = 0.05 * pow(2e7, u);
        assay__stats_add(&s, ASSAY__OUTCOME_FAIL, v[i], -1, -1);
    }
    qsort(v, N, sizeof v[0], cmp_double);
    for (int pct = 1; pct <= 99; pct++) {
        double q = pct / 100.0;
        long rank = (long)ceil(q * N);
        char what[32];
        snprintf(what, sizeof what, "q = %.2f", q);
        /* the bucket's midpoint is within a factor sqrt(1.01) */
        near_rel(assay__stats_latency_quantile(&s, q), v[rank - 1], 0.005,
                 what);
    }
}

static void test_extreme_latencies(void **state)
{
    (void)state;
    assay__stats s;
    assay__stats_init(&s);
    assay__stats_add(&s, ASSAY__OUTCOME_PASS, 0.0, -1, -1);
    double p = assay__stats_latency_quantile(&s, 0.5);
    assert_true(p > 0 && p < 0.0102); /* bucket 0 */

    assay__stats_init(&s);
    assay__stats_add(&s, ASSAY__OUTCOME_PASS, 1e15, -1, -1);
    p = assay__stats_latency_quantile(&s, 0.5);
    assert_true(p > 1.1e9 && isfinite(p)); /* the last bucket */
    near(s.latency_sum_ms, 1e15, 0, "the mean still sees the true value");

    assay__stats_add(&s, ASSAY__OUTCOME_PASS, INFINITY, -1, -1);
    assay__stats_add(&s, ASSAY__OUTCOME_PASS, NAN, -1, -1);
    near((double)s.latency_n, 1, 0, "non-finite latencies are ignored");

    /* a day and a half still lands in its own bucket */
    assay__stats_init(&s);
    assay__stats_add(&s, ASSAY__OUTCOME_PASS, 1.3e8, -1, -1);
    near_rel(assay__stats_latency_quantile(&s, 0.95), 1.3e8, 0.005, "1.3e8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wilson_vectors),
        cmocka_unit_test(test_wilson_undefined),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_counts_and_rate),
        cmocka_unit_test(test_errors_have_no_latency),
        cmocka_unit_test(test_uniform_quantiles),
        cmocka_unit_test(test_log_spread_quantiles),
        cmocka_unit_test(test_extreme_latencies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
