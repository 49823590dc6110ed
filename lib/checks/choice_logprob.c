/*
 * checks/choice_logprob.c - `choice-logprob`: which option letter a chat
 * model was most likely to answer, read from the top_logprobs of its first
 * token.
 *
 * This is the estimator for chat-only endpoints that cannot score a
 * continuation's log-likelihood: ask for a one-token answer with
 * `params: {max_tokens: 1, logprobs: true, top_logprobs: 20}`; the
 * probabilities of the option letters among the first token's
 * alternatives (" A", "A", "(A" count as A) are summed per letter and
 * normalised over the options found. The check passes when the expected
 * letter is the most probable, and its score is that letter's
 * probability. It is labelled as an estimate in its reason: a letter
 * outside the top alternatives has no probability at all.
 */
#include "checks/checks.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTIONS 26

static assay_status logprob_compile(const assay__check_spec *spec,
                                    void **state, assay_error *err)
{
    int *n = malloc(sizeof *n);
    if (!n)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    *n = 4;
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(spec->options,
                                                           "options");
    if (options) {
        double v = cJSON_IsNumber(options) ? options->valuedouble : 0;
        if (v < 2 || v > MAX_OPTIONS || v != (double)(int)v) {
            free(n);
            return assay__doc_error(spec->doc, options, false, err,
                                    ASSAY_ERR_CHECK,
                                    "'options' is how many letters there "
                                    "are, from 2 to 26");
        }
        *n = (int)v;
    }
    *state = n;
    return ASSAY_OK;
}

/* The option a token stands for (" B", "B", "(B", "B."), or -1. */
static int token_option(const char *t, int n_options)
{
    while (*t == ' ' || *t == '(' || *t == '*')
        t++;
    if (!isalpha((unsigned char)t[0]))
        return -1;
    if (isalpha((unsigned char)t[1]))
        return -1; /* a word, not a letter */
    int k = toupper((unsigned char)t[0]) - 'A';
    return k < n_options ? k : -1;
}

static int expected_letter(const char *v, size_t len, int n_options)
{
    while (len && (*v == ' ' || *v == '(')) {
        v++;
        len--;
    }
    if (!len || !isalpha((unsigned char)*v))
        return -1;
    int k = toupper((unsigned char)*v) - 'A';
    return k < n_options ? k : -1;
}

static assay_status logprob_run(void *state, const assay__check_input *in,
                                assay__check_finding *out, assay_error *err)
{
    int n_options = *(const int *)state;
    int want = expected_letter(in->value, in->value_len, n_options);
    if (want < 0)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the expected value must be an option letter "
                            "from A to %c", 'A' + n_options - 1);
    const cJSON *first = in->response && in->response->logprobs
                             ? cJSON_GetArrayItem(in->response->logprobs, 0)
                             : NULL;
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(first, "top_logprobs");
    if (!cJSON_IsArray(top))
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the reply has no top_logprobs: ask for them with "
                            "params: {logprobs: true, top_logprobs: 20}");
    double p[MAX_OPTIONS] = {0}, total = 0;
    const cJSON *alt;
    cJSON_ArrayForEach(alt, top)
    {
        const cJSON *token = cJSON_GetObjectItemCaseSensitive(alt, "token");
        const cJSON *lp = cJSON_GetObjectItemCaseSensitive(alt, "logprob");
        int k = cJSON_IsString(token) ? token_option(token->valuestring,
                                                     n_options)
                                      : -1;
        if (k >= 0 && cJSON_IsNumber(lp)) {
            p[k] += exp(lp->valuedouble);
            total += exp(lp->valuedouble);
        }
    }
    int best = 0;
    for (int k = 1; k < n_options; k++)
        if (p[k] > p[best])
            best = k;
    out->pass = total > 0 && best == want;
    out->score = total > 0 ? p[want] / total : 0;
    assay_status st = assay__buf_printf(out->want,
                                        "answer %c most probably (estimated "
                                        "from the first token's "
                                        "top_logprobs)",
                                        'A' + want);
    if (st == ASSAY_OK && total == 0)
        st = assay__buf_puts(out->found,
                             "no option letter among the alternatives");
    else if (st == ASSAY_OK)
        st = assay__buf_printf(out->found, "%c at p=%.3f (%c at p=%.3f)",
                               'A' + best, p[best] / total, 'A' + want,
                               out->score);
    return st;
}

static void logprob_free(void *state)
{
    free(state);
}

static const char *const logprob_options[] = {"options", NULL};

const assay__check_family assay__checks_choice_logprob = {
    .name = "choice-logprob",
    .value_is_template = true,
    .value_scalar = true,
    .options = logprob_options,
    .compile = logprob_compile,
    .run = logprob_run,
    .free = logprob_free,
};
