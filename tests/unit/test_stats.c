/*
 * test_stats.c - the statistics: counts, the Wilson interval, latency
 * quantiles, moments, normal quantiles, McNemar's exact test, pass@k, the
 * seeded generator and bootstrap, the minimum detectable effect, the
 * compact indexes, and a summary's clustered errors, repeat statistics and
 * gates.
 *
 * Reference values are literals computed apart from the code under test:
 * the Wilson bounds as the two roots of the quadratic
 *   (1 + z^2/n) p^2 - (2k/n + z^2/n) p + (k/n)^2 = 0
 * solved with Python's decimal module at 40 digits, and quantiles by sorting
 * the latencies and taking the nearest rank. The others were computed with
 * python3 (no scipy): McNemar p-values and pass@k exactly with
 * fractions.Fraction and math.comb, normal quantiles by bisection on
 * math.erfc, the generator's outputs with a Python transcription of
 * splitmix64 and xoshiro256**, and a summary's statistics from their
 * definitions with the statistics module (each test says which).
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

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

/* Newcombe (1998), "Two-sided confidence intervals for the single
   proportion", table I, method 3 (Wilson, no continuity correction),
   printed to 4 decimals. */
static void test_wilson_published(void **state)
{
    (void)state;
    static const struct {
        long k, n;
        double low, high;
    } v[] = {
        {81, 263, 0.2553, 0.3662},
        {15, 148, 0.0624, 0.1605},
        {0, 20, 0.0, 0.1611},
        {1, 29, 0.0061, 0.1718},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        double low, high;
        assay__wilson(v[i].k, v[i].n, ASSAY__Z_95, &low, &high);
        near(low, v[i].low, 0.00005 + 1e-12, "published wilson low");
        near(high, v[i].high, 0.00005 + 1e-12, "published wilson high");
    }
}

static void test_moments(void **state)
{
    (void)state;
    assay__moments m = {0};
    is_nan(assay__moments_mean(&m, 0), "empty mean");
    is_nan(assay__moments_se(&m, 0), "empty se");
    const double x[] = {1, 0, 0.5, 1, 0.25};
    for (size_t i = 0; i < 5; i++)
        assay__moments_add(&m, x[i] == 1, x[i]);
    near((double)m.passed, 2, 0, "passed");
    near(assay__moments_mean(&m, 0), 0.55, 1e-15, "mean");
    /* python3: statistics.variance([1, 0, .5, 1, .25]) / 5, square root */
    near(assay__moments_se(&m, 0), 0.2, 1e-15, "se");
    /* three errors as zeros: mean 2.75 / 8; python3 as above with 0, 0, 0 */
    near(assay__moments_mean(&m, 3), 2.75 / 8, 1e-15, "mean with errors");
    near(assay__moments_se(&m, 3), 0.15625, 1e-15,
         "se with errors");
    assay__moments one = {0};
    assay__moments_add(&one, true, 1);
    is_nan(assay__moments_se(&one, 0), "se of one value");
    near(assay__moments_se(&one, 1), 0.5, 1e-15, "one value and one error");
}

static void test_normal_quantile(void **state)
{
    (void)state;
    /* python3: bisection of 0.5 * erfc(-x / sqrt(2)) = p, 300 steps */
    static const struct {
        double p, z;
    } v[] = {
        {0.975, 1.9599639845400532}, {0.8, 0.8416212335729141},
        {0.995, 2.575829303548897},  {0.025, -1.9599639845400545},
        {0.9999, 3.719016485455568}, {1e-10, -6.3613409024040575},
        {0.3, -0.5244005127080409},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        near_rel(assay__normal_quantile(v[i].p), v[i].z, 1e-12,
                 "normal quantile");
    near(assay__normal_quantile(0.5), 0, 1e-15, "median");
    near(ASSAY__Z_95, assay__normal_quantile(0.975), 1e-15, "Z_95");
    assert_true(isinf(assay__normal_quantile(0)) &&
                assay__normal_quantile(0) < 0);
    assert_true(isinf(assay__normal_quantile(1)));
    is_nan(assay__normal_quantile(1.5), "p > 1");
    is_nan(assay__normal_quantile(NAN), "p NaN");
}

static void test_mcnemar_vectors(void **state)
{
    (void)state;
    /* python3: min(1, 2 * sum(Fraction(comb(m, i), 2**m) for i <= k)) */
    static const struct {
        long b, c;
        double p;
    } v[] = {
        {0, 0, 1.0},
        {1, 0, 1.0},
        {5, 0, 0.0625},
        {10, 0, 0.001953125},
        {3, 12, 0.03515625},
        {12, 3, 0.03515625},
        {7, 19, 0.028959274291992188},
        {25, 40, 0.08168153394154005},
        {100, 130, 0.055613577781392386},
        {1000, 1100, 0.030720707864242296},
        {5000, 5210, 0.03859772345145024},
        {0, 30, 1.862645149230957e-09},
        {12, 12, 1.0},
        {13, 12, 1.0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "mcnemar(%ld, %ld)", v[i].b, v[i].c);
        near_rel(assay__mcnemar_exact_p(v[i].b, v[i].c), v[i].p, 1e-9, what);
    }
    /* Published: Fagerland, Lydersen and Laake (2013), "The McNemar test
       for binary matched-pairs data", BMC Med Res Methodol 13:91, the
       airway hyper-responsiveness example (b = 1, c = 7): exact
       conditional p = 0.070. */
    near(assay__mcnemar_exact_p(1, 7), 0.070, 0.0005, "published example");
    is_nan(assay__mcnemar_exact_p(-1, 3), "negative count");
    /* far past 2^1023: no overflow, still a probability */
    double p = assay__mcnemar_exact_p(100000, 101000);
    assert_true(p > 0 && p < 0.05);
}

static void test_pass_at_k_vectors(void **state)
{
    (void)state;
    /* python3: 1 - Fraction(comb(n - c, k), comb(n, k)) */
    static const struct {
        long n, c, k;
        double v;
    } v[] = {
        {10, 3, 1, 0.3},
        {10, 3, 5, 0.9166666666666666},
        {10, 0, 3, 0.0},
        {10, 10, 3, 1.0},
        {5, 1, 5, 1.0},
        {200, 17, 1, 0.085},
        {200, 17, 10, 0.5974489015799118},
        {200, 17, 100, 0.99999636769084},
        {100, 1, 50, 0.5},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "pass@%ld of %ld with %ld", v[i].k,
                 v[i].n, v[i].c);
        near(assay__pass_at_k(v[i].n, v[i].c, v[i].k), v[i].v, 1e-13, what);
    }
    is_nan(assay__pass_at_k(3, 1, 4), "k > n");
    is_nan(assay__pass_at_k(3, 1, 0), "k = 0");
    is_nan(assay__pass_at_k(3, 4, 1), "c > n");
}

static void test_rng_vectors(void **state)
{
    (void)state;
    /* python3 transcription of splitmix64 seeding and xoshiro256** */
    assay__rng rng;
    assay__rng_seed(&rng, 1);
    assert_true(assay__rng_next(&rng) == 0xb3f2af6d0fc710c5u);
    assert_true(assay__rng_next(&rng) == 0x853b559647364ceau);
    assert_true(assay__rng_next(&rng) == 0x92f89756082a4514u);
    assert_true(assay__rng_next(&rng) == 0x642e1c7bc266a3a7u);
    assay__rng_seed(&rng, 0);
    assert_true(assay__rng_next(&rng) == 0x99ec5f36cb75f2b4u);
    assert_true(assay__rng_next(&rng) == 0xbf6e1f784956452au);
    /* below(n) stays below n and reaches every value */
    int seen[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint64_t x = assay__rng_below(&rng, 7);
        assert_true(x < 7);
        seen[x]++;
    }
    for (int i = 0; i < 7; i++)
        assert_true(seen[i] > 800 && seen[i] < 1200);
    assert_true(assay__rng_below(&rng, 1) == 0);
}

static void test_bootstrap(void **state)
{
    (void)state;
    enum { N = 400, B = 2000 };
    static float d[N];
    static double a[B], b[B], c[B];
    double sum = 0;
    for (int i = 0; i < N; i++) { /* 60 pairs better, 20 worse */
        d[i] = i < 60 ? 1.0f : i < 80 ? -1.0f : 0.0f;
        sum += d[i];
    }
    assay__bootstrap_means(d, N, B, 1, a);
    assay__bootstrap_means(d, N, B, 1, b);
    assay__bootstrap_means(d, N, B, 2, c);
    assert_memory_equal(a, b, sizeof a); /* reproducible */
    assert_true(memcmp(a, c, sizeof a) != 0); /* and the seed matters */
    for (int i = 1; i < B; i++)
        assert_true(a[i - 1] <= a[i]);
    double low, high;
    assay__bootstrap_interval(a, B, 0.95, &low, &high);
    assert_true(low < sum / N && sum / N < high);
    /* the normal approximation of the same interval: the bootstrap agrees
       to within a few resampling errors */
    double var = (80.0 / N - (sum / N) * (sum / N)) * N / (N - 1);
    double half = ASSAY__Z_95 * sqrt(var / N);
    near(low, sum / N - half, 0.01, "bootstrap low vs normal");
    near(high, sum / N + half, 0.01, "bootstrap high vs normal");
    /* 0 is far outside: p is at the resolution of the bootstrap */
    assert_true(assay__bootstrap_p(a, B) < 0.001);
    /* differences that are all 0: a point */
    static float zero[N];
    assay__bootstrap_means(zero, N, B, 1, a);
    assay__bootstrap_interval(a, B, 0.95, &low, &high);
    near(low, 0, 0, "zero low");
    near(high, 0, 0, "zero high");
    near(assay__bootstrap_p(a, B), 1, 0, "zero p");
    assay__bootstrap_interval(a, 1, 0.95, &low, &high);
    is_nan(low, "one resample");
}

static void test_mde(void **state)
{
    (void)state;
    /* (z_0.975 + z_0.8) * sd / sqrt(n), with the bisection quantiles */
    near(assay__mde(0.5, 100, 0.05, 0.8),
         (1.9599639845400532 + 0.8416212335729141) * 0.05, 1e-12, "mde");
    near(assay__mde(0, 100, 0.05, 0.8), 0, 0, "no variance");
    is_nan(assay__mde(0.5, 0, 0.05, 0.8), "n = 0");
    is_nan(assay__mde(0.5, 10, 0, 0.8), "alpha 0");
}

static void test_keymap(void **state)
{
    (void)state;
    assay__intern *t = assay__intern_new(1 << 20);
    assert_non_null(t);
    char name[32];
    for (uint32_t i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "case-%u", i);
        uint32_t id;
        assert_int_equal(assay__intern_id(t, name, &id), ASSAY_OK);
        assert_int_equal(id, i);
    }
    uint32_t id;
    assert_int_equal(assay__intern_id(t, "case-1234", &id), ASSAY_OK);
    assert_int_equal(id, 1234);
    assert_string_equal(assay__intern_str(t, 4999), "case-4999");
    assert_int_equal(assay__intern_find(t, "case-77"), 77);
    assert_int_equal(assay__intern_find(t, "case-5000"), -1);
    assert_int_equal(assay__intern_count(t), 5000);
    assert_null(assay__intern_str(t, 5000));
    assay__intern_free(t);

    t = assay__intern_new(16); /* the cap holds */
    assert_int_equal(assay__intern_id(t, "0123456789", &id), ASSAY_OK);
    assert_int_equal(assay__intern_id(t, "abcdefghij", &id), ASSAY_ERR_LIMIT);
    assay__intern_free(t);

    assay__slotmap *m = assay__slotmap_new();
    for (uint32_t i = 0; i < 3000; i++) {
        uint32_t v = i;
        bool inserted;
        assert_int_equal(assay__slotmap_put(m, i % 3, i, i % 5, &v, &inserted),
                         ASSAY_OK);
        assert_true(inserted);
    }
    uint32_t v = 99999;
    bool inserted;
    assert_int_equal(assay__slotmap_put(m, 1, 1000, 0, &v, &inserted),
                     ASSAY_OK);
    assert_false(inserted);
    assert_int_equal(v, 1000);
    assert_int_equal(assay__slotmap_get(m, 2, 2999, 4), 2999);
    assert_int_equal(assay__slotmap_get(m, 0, 2999, 4), -1);
    assay__slotmap_free(m);
    assay__intern_free(NULL);
    assay__slotmap_free(NULL);
}

/* ------------------------------------------------------------ summaries */

static assay_summary *one_target(const char *target, int repeats,
                                 const assay__gates *gates)
{
    assay__gates none;
    assay__gates_init(&none);
    assay_summary *s = assay__summary_new("suite", &target, 1,
                                          gates ? gates : &none);
    assert_non_null(s);
    assay__summary_set_repeat(s, repeats);
    return s;
}

static void observe(assay_summary *s, const char *case_id,
                    const char *cluster, int outcome, double score)
{
    assay__observation o = {
        .target = "a",
        .case_id = case_id,
        .cluster = cluster,
        .outcome = (assay__outcome)outcome,
        .score = score,
        .latency_ms = 10,
        .prompt_tokens = -1,
        .completion_tokens = -1,
        .cost = NAN,
    };
    assert_int_equal(assay__summary_observe(s, &o), ASSAY_OK);
}

enum { P = ASSAY__OUTCOME_PASS, F = ASSAY__OUTCOME_FAIL,
       E = ASSAY__OUTCOME_ERROR };

static void test_clustered_errors(void **state)
{
    (void)state;
    assay_summary *s = one_target("a", 1, NULL);
    observe(s, "1", "c1", P, 1.0);
    observe(s, "2", "c1", F, 0.0);
    observe(s, "3", "c1", P, 1.0);
    observe(s, "4", "c2", F, 0.0);
    observe(s, "5", "c2", F, 0.5);
    observe(s, "6", "c3", P, 1.0);
    observe(s, "7", NULL, P, 0.8);
    observe(s, "8", NULL, F, 0.2);
    observe(s, "9", "c2", E, NAN);
    assert_int_equal(assay__summary_finish(s), ASSAY_OK);
    /* python3 from the definition, sqrt(sum_c (sum_i (x_i - m))^2) / N,
       with each result without a cluster its own cluster and the error as
       a 0 */
    near(assay_summary_stat(s, 0, ASSAY_STAT_SCORE_MEAN), 0.5, 1e-15, "mean");
    near(assay_summary_stat(s, 0, ASSAY_STAT_SCORE_SE), 0.15275252316519466,
         1e-15, "iid se");
    near(assay_summary_stat(s, 0, ASSAY_STAT_SCORE_SE_CLUSTERED),
         0.14401645996461912, 1e-15, "clustered se");
    near(assay_summary_stat(s, 0, ASSAY_STAT_PASS_RATE_SE), 0.16563466499998442,
         1e-15, "pass rate se");
    near(assay_summary_stat(s, 0, ASSAY_STAT_PASS_RATE_SE_CLUSTERED),
         0.1936344091525694, 1e-15, "pass rate clustered se");
    near(assay_summary_stat(s, 0, ASSAY_STAT_SCORE_LOW), 0.21773292528839194,
         1e-14, "low, from the clustered se");
    near(assay_summary_stat(s, 0, ASSAY_STAT_SCORE_HIGH), 0.7822670747116081,
         1e-14, "high");
    near(assay_summary_stat(s, 0, ASSAY_STAT_CLUSTERS), 3, 0, "clusters");
    near(assay_summary_stat(s, 0, ASSAY_STAT_ERROR_RATE), 1.0 / 9, 1e-15,
         "error rate");
    is_nan(assay_summary_stat(s, 0, ASSAY_STAT_CASES), "no repeats");
    is_nan(assay_summary_pass_at_k(s, 0, 1), "no pass@k without repeats");
    assay_summary_free(s);
}

static void test_repeats(void **state)
{
    (void)state;
    assay_summary *s = one_target("a", 3, NULL);
    /* three samples of four cases, interleaved as a run delivers them */
    static const struct {
        const char *id;
        int outcome;
        double score;
    } r[] = {
        {"A", P, 1}, {"B", P, 1}, {"C", F, 0}, {"D", F, 0.5},
        {"A", P, 1}, {"B", F, 0}, {"C", F, 0}, {"D", P, 1},
        {"A", P, 1}, {"B", F, 0}, {"C", E, 0}, {"D", P, 1},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        observe(s, r[i].id, NULL, r[i].outcome, r[i].score);
    assert_int_equal(assay__summary_finish(s), ASSAY_OK);
    /* python3: statistics.mean/variance over the per-case samples;
       between = variance(case means) - within / K; saved = within / (K n) */
    near(assay_summary_stat(s, 0, ASSAY_STAT_CASES), 4, 0, "cases");
    near(assay_summary_stat(s, 0, ASSAY_STAT_SAMPLES_PER_CASE), 3, 0, "K");
    near(assay_summary_stat(s, 0, ASSAY_STAT_CASE_VARIANCE_WITHIN),
         0.10416666666666666, 1e-15, "within");
    near(assay_summary_stat(s, 0, ASSAY_STAT_CASE_VARIANCE_BETWEEN),
         0.17592592592592596, 1e-15, "between");
    near(assay_summary_stat(s, 0, ASSAY_STAT_SCORE_SE_INFINITE_REPEATS),
         0.2097176232019653, 1e-15, "se at infinite repeats");
    near(assay_summary_stat(s, 0, ASSAY_STAT_REPEAT_VARIANCE_SAVED),
         0.008680555555555554, 1e-15, "variance saved");
    /* repeats of a case are clustered together */
    near(assay_summary_stat(s, 0, ASSAY_STAT_CLUSTERS), 4, 0, "clusters");
    near(assay_summary_stat(s, 0, ASSAY_STAT_SCORE_SE_CLUSTERED),
         0.19873733362853033, 1e-15, "se clustered by case");
    /* python3: mean over cases of 1 - comb(n - c, k) / comb(n, k) */
    near(assay_summary_pass_at_k(s, 0, 1), 0.5, 1e-15, "pass@1");
    near(assay_summary_pass_at_k(s, 0, 2), 0.6666666666666667, 1e-15,
         "pass@2");
    near(assay_summary_pass_at_k(s, 0, 3), 0.75, 1e-15, "pass@3");
    is_nan(assay_summary_pass_at_k(s, 0, 4), "no case has 4 samples");
    near(assay_summary_stat(s, 0, ASSAY_STAT_FLAKY_CASES), 2, 0, "flaky");
    long passed = 0, samples = 0;
    assert_string_equal(assay_summary_flaky_case(s, 0, 0, &passed, &samples),
                        "B");
    assert_true(passed == 1 && samples == 3);
    assert_string_equal(assay_summary_flaky_case(s, 0, 1, NULL, NULL), "D");
    assert_null(assay_summary_flaky_case(s, 0, 2, NULL, NULL));
    double mean, variance;
    assert_string_equal(assay_summary_case(s, 0, 3, &mean, &variance), "D");
    near(mean, 2.5 / 3, 1e-15, "case mean");
    near(variance, 0.08333333333333333, 1e-15, "case variance");
    assert_null(assay_summary_case(s, 0, 4, NULL, NULL));
    assay_summary_free(s);
}

static void observe_metrics(assay_summary *s, const char *prompt,
                            const assay__metric_value *m, size_t n,
                            double cost, double latency)
{
    assay__observation o = {
        .target = "a",
        .prompt = prompt,
        .case_id = "x",
        .outcome = m[0].pass ? ASSAY__OUTCOME_PASS : ASSAY__OUTCOME_FAIL,
        .score = m[0].score,
        .metrics = m,
        .n_metrics = n,
        .latency_ms = latency,
        .prompt_tokens = -1,
        .completion_tokens = -1,
        .cost = cost,
    };
    assert_int_equal(assay__summary_observe(s, &o), ASSAY_OK);
}

static void test_metrics_and_gates(void **state)
{
    (void)state;
    assay__gates gates;
    assay__gates_init(&gates);
    assay_error err;
    assert_int_equal(assay__gates_set(&gates, "metrics.accuracy.min", 0.6,
                                      &err),
                     ASSAY_OK);
    assert_int_equal(assay__gates_set(&gates, "metrics.missing.min", 0.1, &err),
                     ASSAY_OK);
    assert_int_equal(assay__gates_set(&gates, "error_rate.max", 0.2, &err),
                     ASSAY_OK);
    assert_int_equal(assay__gates_set(&gates, "latency_p95_ms.max", 150, &err),
                     ASSAY_OK);
    assert_int_equal(assay__gates_set(&gates, "cost.max", 0.05, &err),
                     ASSAY_OK);
    assert_int_equal(assay__gates_set(&gates, "pass_rate.mim", 0.5, &err),
                     ASSAY_ERR_INVALID);
    assert_non_null(strstr(err.message, "unknown gate 'pass_rate.mim'"));
    assert_int_equal(assay__gates_set(&gates, "error_rate.max", 2, &err),
                     ASSAY_ERR_INVALID);
    assay_summary *s = one_target("a", 1, &gates);
    assay__metric_value v1[] = {{"accuracy", true, 1.0}, {"style", true, 0.5}};
    assay__metric_value v2[] = {{"accuracy", false, 0.0}};
    assay__metric_value v3[] = {{"accuracy", true, 0.75}};
    observe_metrics(s, NULL, v1, 2, 0.01, 100);
    observe_metrics(s, NULL, v2, 1, 0.02, 120);
    observe_metrics(s, NULL, v3, 1, NAN, 140);
    observe_metrics(s, "terse", v3, 1, 0.03, 500);
    observe(s, "y", NULL, E, NAN);
    assert_int_equal(assay__summary_finish(s), ASSAY_OK);
    assert_int_equal(assay_summary_group_count(s), 2);
    assert_string_equal(assay_summary_group_prompt(s, 0), "default");
    assert_string_equal(assay_summary_group_prompt(s, 1), "terse");
    assert_int_equal(assay_summary_metric_count(s, 0), 2);
    assert_string_equal(assay_summary_metric_name(s, 0, 1), "style");
    /* accuracy: 1, 0, 0.75 and the error as 0: mean 1.75 / 4 */
    near(assay_summary_metric_stat(s, 0, 0, ASSAY_STAT_SCORE_MEAN), 0.4375,
         1e-15, "accuracy mean");
    near(assay_summary_metric_stat(s, 0, 0, ASSAY_STAT_RESULTS), 4, 0,
         "accuracy n, the error included");
    near(assay_summary_metric_stat(s, 0, 0, ASSAY_STAT_PASS_RATE), 0.5, 0,
         "accuracy pass rate");
    near(assay_summary_metric_stat(s, 0, 1, ASSAY_STAT_SCORE_MEAN), 0.25,
         1e-15, "style: one value and the error");
    near(assay_summary_stat(s, 0, ASSAY_STAT_COST), 0.03, 1e-15, "cost");
    is_nan(assay_summary_metric_stat(s, 0, 9, ASSAY_STAT_SCORE_MEAN),
           "no such metric");
    /* gates, group by group, then the run's cost */
    size_t n = assay_summary_gate_count(s);
    assert_int_equal(n, 9);
    assert_string_equal(assay_summary_gate_text(s, 0),
                        "metric 'accuracy' mean >= 0.6 for target 'a'");
    assert_false(assay_summary_gate_passed(s, 0));
    near(assay_summary_gate_value(s, 0), 0.4375, 1e-15, "gate value");
    near(assay_summary_gate_limit(s, 0), 0.6, 0, "gate limit");
    assert_int_equal(assay_summary_gate_kind(s, 0), ASSAY_GATE_METRIC);
    assert_string_equal(assay_summary_gate_text(s, 1),
                        "metric 'missing' mean >= 0.1 for target 'a' (no such "
                        "metric)");
    assert_string_equal(assay_summary_gate_text(s, 2),
                        "error_rate <= 0.2 for target 'a'");
    assert_false(assay_summary_gate_passed(s, 2)); /* 1 of 4 */
    assert_false(assay_summary_completed(s));
    assert_true(assay_summary_gate_passed(s, 3)); /* p95 of 100..140 */
    assert_string_equal(assay_summary_gate_text(s, 7),
                        "latency_p95_ms <= 150 for target 'a', prompt 'terse'");
    assert_false(assay_summary_gate_passed(s, 7)); /* 500 ms */
    assert_string_equal(assay_summary_gate_text(s, 8),
                        "cost <= 0.05 for the run");
    assert_false(assay_summary_gate_passed(s, 8)); /* 0.06 */
    assert_int_equal(assay_summary_gate_kind(s, 8), ASSAY_GATE_COST);

    /* overriding: the error gate removed, the run completes */
    assert_int_equal(assay_summary_set_gate(s, "error_rate.max", NAN, &err),
                     ASSAY_OK);
    assert_int_equal(assay_summary_gate_count(s), 7);
    assert_true(assay_summary_completed(s));
    assert_int_equal(assay_summary_set_gate(s, "metrics.missing.min", NAN,
                                            &err),
                     ASSAY_OK);
    assert_int_equal(assay_summary_set_gate(s, "metrics.score.min", 0.5, &err),
                     ASSAY_OK);
    assert_string_equal(assay_summary_gate_text(s, 1),
                        "metric 'score' mean >= 0.5 for target 'a'");
    assay_summary_free(s);
}

static void test_gates_parse_and_json(void **state)
{
    (void)state;
    static const char yaml[] =
        "gates:\n"
        "  pass_rate: 0.9\n"
        "  metrics:\n"
        "    accuracy: {min: 0.8}\n"
        "    score: 0.7\n"
        "  error_rate: {max: 0.05}\n"
        "  latency_p95_ms: {max: 2000}\n"
        "  cost: 1.5\n"
        "  regression: {alpha: 0.01}\n";
    assay__doc *doc;
    assay_error err;
    assert_int_equal(assay__doc_parse("s.yaml", yaml, strlen(yaml), &doc, &err),
                     ASSAY_OK);
    const cJSON *node =
        cJSON_GetObjectItemCaseSensitive(assay__doc_root(doc), "gates");
    assay__gates g;
    assert_int_equal(assay__gates_parse(doc, node, &g, &err), ASSAY_OK);
    near(g.pass_rate_min, 0.9, 0, "pass rate");
    near(g.error_rate_max, 0.05, 0, "error rate");
    near(g.latency_p95_ms_max, 2000, 0, "latency");
    near(g.cost_max, 1.5, 0, "cost");
    near(g.regression_max_drop, ASSAY__DEFAULT_MAX_DROP, 0, "default drop");
    near(g.regression_alpha, 0.01, 0, "alpha");
    assert_int_equal(g.n_metrics, 2);
    assert_string_equal(g.metrics[1].name, "score");
    /* the suite-level override, as a command line would use it */
    assay_suite *suite;
    assert_int_equal(assay_suite_load(SOURCE_ROOT "/tests/cli/cases/basic.yaml",
                                      &suite, &err),
                     ASSAY_OK);
    near(suite->gates.pass_rate_min, 0.7, 0, "the suite's own gate");
    assert_int_equal(assay_suite_set_gate(suite, "pass_rate.min", 0.95, &err),
                     ASSAY_OK);
    assert_int_equal(assay_suite_set_gate(suite, "regression.alpha", 0.01,
                                          &err),
                     ASSAY_OK);
    near(suite->gates.pass_rate_min, 0.95, 0, "overridden");
    near(suite->gates.regression_alpha, 0.01, 0, "added");
    assert_int_equal(assay_suite_set_gate(suite, "regression.alpha", 1, &err),
                     ASSAY_ERR_INVALID);
    assert_non_null(strstr(err.message, "strictly between 0 and 1"));
    assay_suite_free(suite);

    cJSON *json = assay__gates_to_json(&g);
    assay__gates back;
    assert_true(assay__gates_from_json(json, &back));
    assert_memory_equal(&g, &back, sizeof g);
    cJSON_Delete(json);
    assay__doc_free(doc);

    static const struct {
        const char *yaml, *message;
    } bad[] = {
        {"gates: {pass_rate: 1.5}\n", "1:20: expected a number from 0 to 1"},
        {"gates: {latency_p95: 3}\n", "1:9: unknown gate 'latency_p95'"},
        {"gates: {regression: {drop: 0.1}}\n",
         "1:22: unknown key 'drop' in 'regression'"},
        {"gates: {regression: {alpha: 1}}\n",
         "1:29: expected a number strictly between 0 and 1"},
        {"gates: {metrics: [a]}\n", "1:18: 'metrics' must map"},
        {"gates: {cost: {min: 3}}\n",
         "1:16: unknown key 'min' in gate (expected 'max')"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(assay__doc_parse("s.yaml", bad[i].yaml,
                                          strlen(bad[i].yaml), &doc, &err),
                         ASSAY_OK);
        node = cJSON_GetObjectItemCaseSensitive(assay__doc_root(doc), "gates");
        assert_int_equal(assay__gates_parse(doc, node, &g, &err),
                         ASSAY_ERR_SUITE);
        assay__doc_free(doc);
        if (!strstr(err.message, bad[i].message))
            fail_msg("got '%s', want '%s'", err.message, bad[i].message);
    }
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
        cmocka_unit_test(test_wilson_published),
        cmocka_unit_test(test_moments),
        cmocka_unit_test(test_normal_quantile),
        cmocka_unit_test(test_mcnemar_vectors),
        cmocka_unit_test(test_pass_at_k_vectors),
        cmocka_unit_test(test_rng_vectors),
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_mde),
        cmocka_unit_test(test_keymap),
        cmocka_unit_test(test_clustered_errors),
        cmocka_unit_test(test_repeats),
        cmocka_unit_test(test_metrics_and_gates),
        cmocka_unit_test(test_gates_parse_and_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
