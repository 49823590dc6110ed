/*
 * inference.c - the pure functions behind every interval and test: normal
 * quantiles, McNemar's exact test, the unbiased pass@k estimator, a seeded
 * paired bootstrap, and the minimum detectable effect.
 *
 * Nothing here allocates more than a scratch array, reads a record or knows
 * about groups and cases: summary.c and compare.c gather the numbers and
 * call these. Each function says which formula it follows, so the test
 * vectors in tests/unit/test_stats.c can be recomputed independently.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------------ normal law */

static double polynomial(const double *c, int n, double x)
{
    double v = c[n - 1];
    for (int i = n - 2; i >= 0; i--)
        v = v * x + c[i];
    return v;
}

/*
 * Wichura's algorithm AS 241 (PPND16, Applied Statistics 37(3), 1988),
 * accurate to about 1e-16: three rational approximations, for the centre
 * (|p - 0.5| <= 0.425), the near tails and the far tails. Coefficients are
 * listed from the constant term up.
 */
double assay__normal_quantile(double p)
{
    static const double a[8] = {
        3.3871328727963666080e+0, 1.3314166789178437745e+2,
        1.9715909503065514427e+3, 1.3731693765509461125e+4,
        4.5921953931549871457e+4, 6.7265770927008700853e+4,
        3.3430575583588128105e+4, 2.5090809287301226727e+3};
    static const double b[8] = {1.0,
                                4.2313330701600911252e+1,
                                6.8718700749205790830e+2,
                                5.3941960214247511077e+3,
                                2.1213794301586595867e+4,
                                3.9307895800092710610e+4,
                                2.8729085735721942674e+4,
                                5.2264952788528545610e+3};
    static const double c[8] = {
        1.42343711074968357734e+0, 4.63033784615654529590e+0,
        5.76949722146069140550e+0, 3.64784832476320460504e+0,
        1.27045825245236838258e+0, 2.41780725177450611770e-1,
        2.27238449892691845833e-2, 7.74545014278341407640e-4};
    static const double d[8] = {1.0,
                                2.05319162663775882187e+0,
                                1.67638483018380384940e+0,
                                6.89767334985100004550e-1,
                                1.48103976427480074590e-1,
                                1.51986665636164571966e-2,
                                5.47593808499534494600e-4,
                                1.05075007164441684324e-9};
    static const double e[8] = {
        6.65790464350110377720e+0, 5.46378491116411436990e+0,
        1.78482653991729133580e+0, 2.96560571828504891230e-1,
        2.65321895265761230930e-2, 1.24266094738807843860e-3,
        2.71155556874348757815e-5, 2.01033439929228813265e-7};
    static const double f[8] = {1.0,
                                5.99832206555887937690e-1,
                                1.36929880922735805310e-1,
                                1.48753612908506148525e-2,
                                7.86869131145613259100e-4,
                                1.84631831751005468180e-5,
                                1.42151175831644588870e-7,
                                2.04426310338993978564e-15};
    if (!(p > 0 && p < 1))
        return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
    double q = p - 0.5;
    if (fabs(q) <= 0.425) {
        double r = 0.180625 - q * q;
        return q * polynomial(a, 8, r) / polynomial(b, 8, r);
    }
    double r = sqrt(-log(q < 0 ? p : 1 - p));
    double x = r <= 5 ? polynomial(c, 8, r - 1.6) / polynomial(d, 8, r - 1.6)
                      : polynomial(e, 8, r - 5) / polynomial(f, 8, r - 5);
    return q < 0 ? -x : x;
}

/* ------------------------------------------------------------ McNemar */

/*
 * Two-sided exact McNemar test: under the null hypothesis each of the
 * m = b + c discordant pairs goes either way with probability 1/2, so
 *   p = min(1, 2 * P(X <= min(b, c))),  X ~ Binomial(m, 1/2).
 * The largest term, C(m, k) / 2^m with k = min(b, c), is found through
 * lgamma; the smaller ones follow by the ratio C(m, i-1) / C(m, i) =
 * i / (m - i + 1), which keeps full relative precision without computing
 * 2^m (which overflows past m = 1023).
 */
double assay__mcnemar_exact_p(long b, long c)
{
    if (b < 0 || c < 0)
        return NAN;
    long m = b + c;
    long k = b < c ? b : c;
    if (m == 0 || 2 * k == m)
        return 1.0;
    double md = (double)m;
    double log_top = lgamma(md + 1) - lgamma((double)k + 1) -
                     lgamma(md - (double)k + 1) - md * log(2.0);
    double sum = 1.0, term = 1.0; /* relative to the top term */
    for (long i = k; i > 0; i--) {
        term *= (double)i / (md - (double)i + 1);
        sum += term;
        if (term < sum * 1e-17)
            break;
    }
    double p = 2 * exp(log_top) * sum;
    return p < 1 ? p : 1.0;
}

/* ------------------------------------------------------------ pass@k */

/*
 * The unbiased estimator of Chen et al. (2021), "Evaluating Large Language
 * Models Trained on Code": with n samples of which c passed,
 *   pass@k = 1 - C(n - c, k) / C(n, k)
 *          = 1 - prod_{i = n - c + 1}^{n} (1 - k / i)
 * (the product form, as in their numerically stable implementation).
 */
double assay__pass_at_k(long n, long c, long k)
{
    if (n <= 0 || c < 0 || c > n || k < 1 || k > n)
        return NAN;
    if (n - c < k)
        return 1.0;
    double prod = 1.0;
    for (long i = n - c + 1; i <= n; i++)
        prod *= 1.0 - (double)k / (double)i;
    return 1.0 - prod;
}

/* ------------------------------------------------------------ random */

/*
 * xoshiro256** (Blackman and Vigna, 2018) seeded through splitmix64, as
 * its authors recommend, so that any 64-bit seed gives a good state. The
 * same seed gives the same stream on every platform.
 */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void assay__rng_seed(assay__rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t assay__rng_next(assay__rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) without modulo bias: draws in the biased tail of the
   64-bit range are rejected. */
uint64_t assay__rng_below(assay__rng *rng, uint64_t n)
{
    if (n <= 1)
        return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = assay__rng_next(rng);
    while (x >= limit);
    return x % n;
}

/* ------------------------------------------------------------ bootstrap */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * The bootstrap of the mean of d[0..n): `resamples` times, n values are
 * drawn from d with replacement and averaged. For paired data d holds the
 * per-pair differences, so each pair stays together in a resample. The
 * means are kept sorted, so that an interval at any level, and a p-value,
 * are lookups.
 */
void assay__bootstrap_means(const float *d, size_t n, size_t resamples,
                            uint64_t seed, double *means)
{
    assay__rng rng;
    assay__rng_seed(&rng, seed);
    for (size_t r = 0; r < resamples; r++) {
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += d[assay__rng_below(&rng, n)];
        means[r] = n ? sum / (double)n : NAN;
    }
    qsort(means, resamples, sizeof *means, compare_doubles);
}

/*
 * The percentile interval: the order statistics of ranks
 * floor(B (1 - level) / 2) + 1 and ceil(B (1 + level) / 2) of the B sorted
 * means (for B = 2000 at 95%: the 51st and the 1950th).
 */
void assay__bootstrap_interval(const double *means, size_t resamples,
                               double level, double *low, double *high)
{
    *low = *high = NAN;
    if (resamples < 2 || !(level > 0 && level < 1))
        return;
    double b = (double)resamples;
    size_t lo = (size_t)floor(b * (1 - level) / 2);
    size_t hi = (size_t)ceil(b * (1 + level) / 2);
    if (lo >= resamples)
        lo = resamples - 1;
    if (hi < 1)
        hi = 1;
    if (hi > resamples)
        hi = resamples;
    *low = means[lo];
    *high = means[hi - 1];
}

/*
 * The two-sided percentile-bootstrap p-value of "the true mean is 0":
 * twice the smaller share of resampled means on either side of 0 (a mean
 * of exactly 0 counts for both sides), at most 1. It is below alpha when,
 * and only when, 0 lies outside the (1 - alpha) percentile interval, up to
 * the interval's rounding of ranks.
 */
double assay__bootstrap_p(const double *means, size_t resamples)
{
    if (resamples == 0)
        return NAN;
    size_t below = 0, above = 0;
    for (size_t i = 0; i < resamples; i++) {
        below += means[i] <= 0;
        above += means[i] >= 0;
    }
    size_t fewer = below < above ? below : above;
    double p = 2.0 * (double)fewer / (double)resamples;
    return p < 1 ? p : 1.0;
}

/* ------------------------------------------------------------ power */

/*
 * The smallest true difference a two-sided test at level alpha detects
 * with probability `power`, for a mean of n paired differences whose
 * standard deviation is sd (the normal power formula that Miller 2024
 * applies to evals):
 *   MDE = (z_{1 - alpha/2} + z_{power}) * sd / sqrt(n).
 */
double assay__mde(double sd, double n, double alpha, double power)
{
    if (!(n >= 1) || !(sd >= 0) || !(alpha > 0 && alpha < 1) ||
        !(power > 0 && power < 1))
        return NAN;
    return (assay__normal_quantile(1 - alpha / 2) +
            assay__normal_quantile(power)) *
           sd / sqrt(n);
}
