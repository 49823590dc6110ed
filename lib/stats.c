/*
 * stats.c - the aggregate of one group's results: counts, the pass rate
 * with its Wilson interval, latency mean and quantiles, token and cost
 * sums; and the moments (count, passes, sum, sum of squares) from which a
 * metric's mean and standard error follow.
 *
 * Memory is constant whatever the number of results: latencies go into a
 * log-bucketed histogram rather than a list. It does not compare runs or
 * evaluate gates (gates.c), and it does not read records (record.c feeds
 * it the same way a live run does, so both give the same numbers).
 *
 * The latency histogram. Bucket i holds [L * B^i, L * B^(i+1)) milliseconds
 * with L = 0.01 ms and B = 1.01; with ASSAY__LATENCY_BUCKETS = 2560 the last
 * bucket starts near 1.15e9 ms (13 days). Smaller latencies (0 included) go
 * into bucket 0 and larger ones into the last bucket, so only there is the
 * error unbounded. A quantile is found by the nearest-rank method: for q in
 * [0, 1] and n latencies, the value of rank ceil(q * n) (at least 1) in
 * sorted order. The histogram knows that value's bucket exactly and answers
 * with the bucket's geometric midpoint L * B^(i + 1/2), which is within a
 * factor sqrt(B) of every value in the bucket: a relative error below 0.5%.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#define LATENCY_LOWEST_MS 0.01
#define LATENCY_BASE 1.01

void assay__stats_init(assay__stats *s)
{
    memset(s, 0, sizeof *s);
}

static double bucket_low(int i)
{
    return LATENCY_LOWEST_MS * pow(LATENCY_BASE, i);
}

static int latency_bucket(double ms)
{
    if (!(ms >= LATENCY_LOWEST_MS))
        return 0;
    double x = floor(log(ms / LATENCY_LOWEST_MS) / log(LATENCY_BASE));
    if (x >= ASSAY__LATENCY_BUCKETS - 1)
        return ASSAY__LATENCY_BUCKETS - 1;
    int i = (int)x;
    /* log() may land one off right at a boundary; settle it exactly. */
    if (i > 0 && ms < bucket_low(i))
        i--;
    else if (i < ASSAY__LATENCY_BUCKETS - 1 && ms >= bucket_low(i + 1))
        i++;
    return i;
}

/*
 * An error's latency measures the failure (a timeout, a refused
 * connection), not the model, so only verdicts contribute latency; tokens
 * are counted whenever they are known, since they were paid for.
 */
void assay__stats_add(assay__stats *s, assay__outcome outcome,
                      double latency_ms, long prompt_tokens,
                      long completion_tokens)
{
    s->results++;
    switch (outcome) {
    case ASSAY__OUTCOME_PASS:
        s->passed++;
        break;
    case ASSAY__OUTCOME_FAIL:
        s->failed++;
        break;
    case ASSAY__OUTCOME_ERROR:
    default:
        s->errors++;
        outcome = ASSAY__OUTCOME_ERROR;
        break;
    }
    if (outcome != ASSAY__OUTCOME_ERROR && latency_ms >= 0 &&
        isfinite(latency_ms)) {
        s->latency_n++;
        s->latency_sum_ms += latency_ms;
        s->latency_hist[latency_bucket(latency_ms)]++;
    }
    if (prompt_tokens > 0)
        s->prompt_tokens += prompt_tokens;
    if (completion_tokens > 0)
        s->completion_tokens += completion_tokens;
}

void assay__stats_add_cost(assay__stats *s, double cost)
{
    if (!(cost >= 0) || !isfinite(cost))
        return;
    s->cost += cost;
    s->cost_n++;
}

void assay__stats_add_attempts(assay__stats *s, int attempts)
{
    if (attempts <= 0)
        return;
    s->attempts += attempts;
    s->retries += attempts - 1;
}

double assay__stats_latency_quantile(const assay__stats *s, double q)
{
    if (s->latency_n <= 0 || !(q >= 0 && q <= 1))
        return NAN;
    double r = ceil(q * (double)s->latency_n);
    long rank = r < 1 ? 1 : (long)r;
    if (rank > s->latency_n)
        rank = s->latency_n;
    long seen = 0;
    for (int i = 0; i < ASSAY__LATENCY_BUCKETS; i++) {
        seen += s->latency_hist[i];
        if (seen >= rank)
            return LATENCY_LOWEST_MS * pow(LATENCY_BASE, i + 0.5);
    }
    return NAN; /* the counts disagree with latency_n: not reachable */
}

/*
 * Wilson score interval without continuity correction:
 *   centre = (p + z^2/2n) / (1 + z^2/n)
 *   half   = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)
 * with p = k/n. The ends at k = 0 and k = n are exactly 0 and 1; rounding
 * elsewhere is clipped to [0, 1].
 */
void assay__wilson(long k, long n, double z, double *low, double *high)
{
    if (n <= 0 || k < 0 || k > n || !(z >= 0)) {
        *low = NAN;
        *high = NAN;
        return;
    }
    double nn = (double)n;
    double p = (double)k / nn;
    double z2 = z * z;
    double denom = 1 + z2 / nn;
    double centre = (p + z2 / (2 * nn)) / denom;
    double half = z / denom * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    double lo = centre - half, hi = centre + half;
    *low = k == 0 ? 0 : lo < 0 ? 0 : lo;
    *high = k == n ? 1 : hi > 1 ? 1 : hi;
}

double assay__stats_get(const assay__stats *s, assay_stat stat)
{
    double low, high;
    switch (stat) {
    case ASSAY_STAT_RESULTS:
        return (double)s->results;
    case ASSAY_STAT_PASSED:
        return (double)s->passed;
    case ASSAY_STAT_FAILED:
        return (double)s->failed;
    case ASSAY_STAT_ERRORS:
        return (double)s->errors;
    case ASSAY_STAT_PASS_RATE:
        return s->results > 0 ? (double)s->passed / (double)s->results : NAN;
    case ASSAY_STAT_PASS_RATE_LOW:
        assay__wilson(s->passed, s->results, ASSAY__Z_95, &low, &high);
        return low;
    case ASSAY_STAT_PASS_RATE_HIGH:
        assay__wilson(s->passed, s->results, ASSAY__Z_95, &low, &high);
        return high;
    case ASSAY_STAT_LATENCY_MEAN_MS:
        return s->latency_n > 0 ? s->latency_sum_ms / (double)s->latency_n
                                : NAN;
    case ASSAY_STAT_LATENCY_P95_MS:
        return assay__stats_latency_quantile(s, 0.95);
    case ASSAY_STAT_PROMPT_TOKENS:
        return (double)s->prompt_tokens;
    case ASSAY_STAT_COMPLETION_TOKENS:
        return (double)s->completion_tokens;
    case ASSAY_STAT_ERROR_RATE:
        return s->results > 0 ? (double)s->errors / (double)s->results : NAN;
    case ASSAY_STAT_COST:
        return s->cost_n > 0 ? s->cost : NAN;
    case ASSAY_STAT_ATTEMPTS:
        return (double)s->attempts;
    case ASSAY_STAT_RETRIES:
        return (double)s->retries;
    case ASSAY_STAT_PASS_RATE_SE: {
        if (s->results <= 0)
            return NAN;
        double p = (double)s->passed / (double)s->results;
        return sqrt(p * (1 - p) / (double)s->results);
    }
    default:
        return NAN; /* kept by the summary, which has per-case state */
    }
}

/* ------------------------------------------------------------ moments */

void assay__moments_add(assay__moments *m, bool pass, double value)
{
    m->n++;
    m->passed += pass;
    m->sum += value;
    m->sumsq += value * value;
}

double assay__moments_mean(const assay__moments *m, long zeros)
{
    long n = m->n + zeros;
    return n > 0 ? m->sum / (double)n : NAN;
}

/*
 * sqrt(s^2 / N), s^2 the sample variance (divisor N - 1) computed from the
 * sums. Values lie in [0, 1], so the cancellation in sumsq - sum^2 / N
 * loses at most about 1e-16 * N of absolute precision: negligible next to
 * the variance at every N a run can reach; a negative rounding is clipped.
 */
double assay__moments_se(const assay__moments *m, long zeros)
{
    long n = m->n + zeros;
    if (n < 2)
        return NAN;
    double nn = (double)n;
    double var = (m->sumsq - m->sum * m->sum / nn) / (nn - 1);
    return var > 0 ? sqrt(var / nn) : 0.0;
}
