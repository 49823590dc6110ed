/*
 * checks/perplexity.c - `perplexity` and `perplexity-score`: how surprised
 * the model was by its own answer, from the logprobs the endpoint returned.
 *
 * Perplexity is exp(-mean logprob) over the answer's tokens: 1 when every
 * token had probability 1, larger the less likely the tokens were. Tokens
 * whose logprob is null (the first token of an echoed prompt) or missing
 * are skipped. The logprobs are the response's, in the one shape openai.c
 * gives both endpoints ({token, logprob, top_logprobs} per token); with
 * `echo` on /completions they include the prompt's tokens, which then
 * count too.
 *
 * `perplexity` passes when the perplexity is at most its value (or `max`).
 * `perplexity-score` is scored with 1 / (1 + perplexity), promptfoo's
 * normalisation, so that a threshold carried over from a promptfoo suite
 * means the same here; without a threshold it passes and only reports.
 *
 * Neither asks for logprobs itself: the target must (`params: {logprobs:
 * true}` on /chat/completions, `logprobs: N` on /completions). A response
 * without them is an error of the result, not a failure.
 */
#include "checks/checks.h"

#include <math.h>
#include <stdlib.h>

static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

/* The perplexity of the response's tokens, and how many counted. */
static assay_status perplexity_of(const assay__check_input *in, double *ppl,
                                  size_t *n_tokens, assay_error *err)
{
    const cJSON *items = in->response ? in->response->logprobs : NULL;
    if (!cJSON_IsArray(items))
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the response has no logprobs: ask for them "
                            "with params: {logprobs: true} (on "
                            "/completions, logprobs: 1)");
    double sum = 0.0;
    size_t n = 0;
    const cJSON *item;
    cJSON_ArrayForEach (item, items) {
        const cJSON *lp = cJSON_GetObjectItemCaseSensitive(item, "logprob");
        if (!cJSON_IsNumber(lp) || !isfinite(lp->valuedouble))
            continue; /* null: a token the model did not choose */
        sum += lp->valuedouble;
        n++;
    }
    if (n == 0)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the response's logprobs give no token a "
                            "logprob (an empty answer?)");
    *ppl = exp(-sum / (double)n);
    *n_tokens = n;
    return ASSAY_OK;
}

/* "12.3 over 4 tokens" */
static assay_status put_found(assay__buf *found, double ppl, size_t n)
{
    assay_status st = assay__checks_put_number(found, ppl, 3);
    if (st == ASSAY_OK)
        st =
            assay__buf_printf(found, " over %zu token%s", n, n == 1 ? "" : "s");
    return st;
}

/* ------------------------------------------------------------ perplexity */

static assay_status perplexity_compile(const assay__check_spec *spec,
                                       void **state, assay_error *err)
{
    const cJSON *max =
        spec->options ? cJSON_GetObjectItemCaseSensitive(spec->options, "max")
                      : NULL;
    if (max && spec->value)
        return assay__doc_error(spec->doc, max, true, err, ASSAY_ERR_CHECK,
                                "give the highest perplexity allowed once, "
                                "as 'value' or as 'max'");
    const cJSON *v = max ? max : spec->value;
    if (!v)
        return assay__doc_error(spec->doc, spec->options, false, err,
                                ASSAY_ERR_CHECK,
                                "check 'perplexity' needs the highest "
                                "perplexity allowed, as in {perplexity: 20}");
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1) || isinf(v->valuedouble))
        return assay__doc_error(spec->doc, v, false, err, ASSAY_ERR_CHECK,
                                "check 'perplexity' expects a number >= 1 "
                                "(the highest perplexity allowed; 1 is a "
                                "model sure of every token)");
    double *limit = malloc(sizeof *limit);
    if (!limit)
        return failed(ASSAY_ERR_NOMEM, err);
    *limit = v->valuedouble;
    *state = limit;
    return ASSAY_OK;
}

static void perplexity_free(void *state)
{
    free(state);
}

static assay_status perplexity_run(void *state, const assay__check_input *in,
                                   assay__check_finding *out, assay_error *err)
{
    double max = *(const double *)state, ppl;
    size_t n;
    assay_status st = perplexity_of(in, &ppl, &n, err);
    if (st != ASSAY_OK)
        return st;
    out->pass = ppl <= max;
    out->score = out->pass ? 1.0 : 0.0;
    st = assay__buf_puts(out->want, "have a perplexity of at most ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->want, max, 6);
    if (st == ASSAY_OK)
        st = put_found(out->found, ppl, n);
    return failed(st, err);
}

static const char *const perplexity_options[] = {"max", NULL};

const assay__check_family assay__checks_perplexity = {
    .name = "perplexity",
    .value_use = ASSAY__VALUE_OPTIONAL,
    .options = perplexity_options,
    .compile = perplexity_compile,
    .run = perplexity_run,
    .free = perplexity_free,
};

/* ------------------------------------------------------------ the score */

static assay_status score_run(void *state, const assay__check_input *in,
                              assay__check_finding *out, assay_error *err)
{
    (void)state;
    double ppl = 0;
    size_t n = 0;
    assay_status st = perplexity_of(in, &ppl, &n, err);
    if (st != ASSAY_OK)
        return st;
    out->score = 1.0 / (1.0 + ppl);
    st = assay__buf_puts(out->want, "have a perplexity score 1/(1 + "
                                    "perplexity) >= ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->want, in->threshold, 3);
    if (st == ASSAY_OK) /* scores are small: 1 / 1001 at perplexity 1000 */
        st = assay__checks_put_number(out->found, out->score, 6);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, " (perplexity ");
    if (st == ASSAY_OK)
        st = put_found(out->found, ppl, n);
    if (st == ASSAY_OK)
        st = assay__buf_putc(out->found, ')');
    return failed(st, err);
}

const assay__check_family assay__checks_perplexity_score = {
    .name = "perplexity-score",
    .value_use = ASSAY__VALUE_NONE,
    .scored = true,
    .default_threshold = 0.0,
    .run = score_run,
};
