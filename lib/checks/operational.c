/*
 * checks/operational.c - checks on how the answer came rather than what it
 * says: `latency` and `ttft` (milliseconds, at most), `cost` (US dollars,
 * at most), `prompt-tokens`, `completion-tokens` and `total-tokens`
 * (bounds on the usage the server reported) and `finish-reason`.
 *
 * These read what the run measured and what the endpoint said (the
 * check's input carries the response). When that is not known (no usage
 * in the reply, a request that was not streamed has no time to first
 * token, a model with no price) the check cannot judge and says so as an
 * error of the result, rather than passing or failing on a guess.
 *
 * Cost is prompt tokens times the input price plus completion tokens times
 * the output price, in US dollars per million tokens. The built-in prices
 * are OpenAI's standard-tier list prices as published in June 2025
 * (cached-input discounts and batch prices left out); a check's `prices`
 * adds models or overrides these. The model is the one the response
 * names: an exact entry, else the longest entry it extends with a dated
 * suffix ("gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini"), and a
 * provider prefix ("openai/gpt-4o") is tried without it.
 */
#include "checks/checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

/* ------------------------------------------------------------ prices */

typedef struct price {
    const char *model;
    double input;  /* USD per million prompt tokens */
    double output; /* USD per million completion tokens */
} price;

/* OpenAI's list prices, June 2025, standard tier. */
static const price builtin_prices[] = {
    {"gpt-4.1", 2.00, 8.00},       {"gpt-4.1-mini", 0.40, 1.60},
    {"gpt-4.1-nano", 0.10, 0.40},  {"gpt-4.5-preview", 75.00, 150.00},
    {"gpt-4o", 2.50, 10.00},       {"gpt-4o-2024-05-13", 5.00, 15.00},
    {"gpt-4o-mini", 0.15, 0.60},   {"o1", 15.00, 60.00},
    {"o1-preview", 15.00, 60.00},  {"o1-pro", 150.00, 600.00},
    {"o1-mini", 1.10, 4.40},       {"o3", 2.00, 8.00},
    {"o3-pro", 20.00, 80.00},      {"o3-mini", 1.10, 4.40},
    {"o4-mini", 1.10, 4.40},       {"gpt-4-turbo", 10.00, 30.00},
    {"gpt-4", 30.00, 60.00},       {"gpt-4-32k", 60.00, 120.00},
    {"gpt-3.5-turbo", 0.50, 1.50},
};

/*
 * How well `entry` names `model`: its length when equal or when the model
 * adds a dated suffix ("-2024-07-18", "-0613"), else 0.
 */
static size_t name_match(const char *entry, const char *model)
{
    size_t n = strlen(entry);
    if (strncmp(entry, model, n) != 0)
        return 0;
    if (model[n] == '\0')
        return n + 1; /* an exact name beats any prefix */
    if (model[n] == '-' && model[n + 1] >= '0' && model[n + 1] <= '9')
        return n;
    return 0;
}

typedef struct cost_state {
    double max_usd;
    price *prices; /* the check's own, searched first */
    size_t n_prices;
} cost_state;

static const price *lookup_in(const price *table, size_t n, const char *model)
{
    const price *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = name_match(table[i].model, model);
        if (len > best_len) {
            best = &table[i];
            best_len = len;
        }
    }
    return best;
}

static const price *lookup(const cost_state *s, const char *model)
{
    const char *names[2] = {model, strrchr(model, '/')};
    for (int k = 0; k < 2; k++) {
        if (!names[k] || !names[k][0])
            continue;
        const char *name = k ? names[k] + 1 : names[k];
        const price *p = lookup_in(s->prices, s->n_prices, name);
        if (!p)
            p = lookup_in(builtin_prices,
                          sizeof builtin_prices / sizeof *builtin_prices, name);
        if (p)
            return p;
    }
    return NULL;
}

bool assay__price_of(const char *model, double *input, double *output)
{
    cost_state none = {0};
    const price *p = lookup(&none, model);
    if (p) {
        *input = p->input;
        *output = p->output;
    }
    return p != NULL;
}

/* ------------------------------------------------------------ limits */

/* A number >= 0 from `value`, for latency, ttft and cost. */
static assay_status read_limit(const assay__check_spec *spec, double *out,
                               assay_error *err)
{
    const cJSON *v = spec->value;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || isinf(v->valuedouble))
        return assay__doc_error(spec->doc, v, false, err, ASSAY_ERR_CHECK,
                                "check '%s' expects a number >= 0 (the most "
                                "it may be)",
                                spec->type);
    *out = v->valuedouble;
    return ASSAY_OK;
}

static assay_status limit_compile(const assay__check_spec *spec, void **state,
                                  assay_error *err)
{
    double *max = malloc(sizeof *max);
    if (!max)
        return failed(ASSAY_ERR_NOMEM, err);
    assay_status st = read_limit(spec, max, err);
    if (st != ASSAY_OK) {
        free(max);
        return st;
    }
    *state = max;
    return ASSAY_OK;
}

static void plain_free(void *state)
{
    free(state);
}

static assay_status time_judge(double max, double ms, const char *what,
                               bool cached, assay__check_finding *out,
                               assay_error *err)
{
    out->pass = ms <= max;
    out->score = out->pass ? 1.0 : 0.0;
    assay_status st = assay__buf_printf(out->want, "take at most ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->want, max, 1);
    if (st == ASSAY_OK)
        st = assay__buf_printf(out->want, " ms %s", what);
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, ms, 1);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, cached ? " ms (a cached reply: "
                                                  "measured when it was "
                                                  "first fetched)"
                                                : " ms");
    return failed(st, err);
}

static assay_status latency_run(void *state, const assay__check_input *in,
                                assay__check_finding *out, assay_error *err)
{
    if (isnan(in->latency_ms))
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the latency of this answer is not known");
    return time_judge(*(double *)state, in->latency_ms, "to answer",
                      in->cached, out, err);
}

static assay_status ttft_run(void *state, const assay__check_input *in,
                             assay__check_finding *out, assay_error *err)
{
    if (isnan(in->ttft_ms))
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the time to first token is not known (it is "
                            "measured on streamed requests only)");
    return time_judge(*(double *)state, in->ttft_ms, "to the first token",
                      in->cached, out, err);
}

const assay__check_family assay__checks_latency = {
    .name = "latency",
    .compile = limit_compile,
    .run = latency_run,
    .free = plain_free,
};

const assay__check_family assay__checks_ttft = {
    .name = "ttft",
    .compile = limit_compile,
    .run = ttft_run,
    .free = plain_free,
};

/* ------------------------------------------------------------ cost */

static void cost_free(void *state)
{
    cost_state *s = state;
    if (!s)
        return;
    for (size_t i = 0; i < s->n_prices; i++)
        free((char *)s->prices[i].model);
    free(s->prices);
    free(s);
}

static assay_status read_price(const assay__check_spec *spec,
                               const cJSON *entry, const char *key, double *out,
                               assay_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || isinf(v->valuedouble))
        return assay__doc_error(spec->doc, v ? v : entry, false, err,
                                ASSAY_ERR_CHECK,
                                "the price of '%s' needs '%s': US dollars per "
                                "million tokens, a number >= 0",
                                entry->string, key);
    *out = v->valuedouble;
    return ASSAY_OK;
}

static assay_status read_prices(const assay__check_spec *spec,
                                const cJSON *node, cost_state *s,
                                assay_error *err)
{
    if (!cJSON_IsObject(node))
        return assay__doc_error(spec->doc, node, false, err, ASSAY_ERR_CHECK,
                                "'prices' maps model names to {input: X, "
                                "output: Y} in US dollars per million "
                                "tokens");
    int n = cJSON_GetArraySize(node);
    s->prices = calloc(n > 0 ? (size_t)n : 1, sizeof *s->prices);
    if (!s->prices)
        return failed(ASSAY_ERR_NOMEM, err);
    const cJSON *entry;
    cJSON_ArrayForEach (entry, node) {
        if (!cJSON_IsObject(entry))
            return assay__doc_error(spec->doc, entry, false, err,
                                    ASSAY_ERR_CHECK,
                                    "the price of '%s' is {input: X, output: "
                                    "Y}",
                                    entry->string);
        const cJSON *k;
        cJSON_ArrayForEach (k, entry) {
            if (strcmp(k->string, "input") && strcmp(k->string, "output"))
                return assay__doc_error(spec->doc, k, true, err,
                                        ASSAY_ERR_CHECK,
                                        "unknown key '%s' in the price of "
                                        "'%s' (it takes 'input' and "
                                        "'output')",
                                        k->string, entry->string);
        }
        price *p = &s->prices[s->n_prices];
        assay_status st = read_price(spec, entry, "input", &p->input, err);
        if (st == ASSAY_OK)
            st = read_price(spec, entry, "output", &p->output, err);
        if (st != ASSAY_OK)
            return st;
        size_t len = strlen(entry->string) + 1;
        char *name = malloc(len);
        if (!name)
            return failed(ASSAY_ERR_NOMEM, err);
        memcpy(name, entry->string, len);
        p->model = name;
        s->n_prices++;
    }
    return ASSAY_OK;
}

static assay_status cost_compile(const assay__check_spec *spec, void **state,
                                 assay_error *err)
{
    cost_state *s = calloc(1, sizeof *s);
    if (!s)
        return failed(ASSAY_ERR_NOMEM, err);
    assay_status st = read_limit(spec, &s->max_usd, err);
    const cJSON *prices =
        spec->options
            ? cJSON_GetObjectItemCaseSensitive(spec->options, "prices")
            : NULL;
    if (st == ASSAY_OK && prices)
        st = read_prices(spec, prices, s, err);
    if (st != ASSAY_OK) {
        cost_free(s);
        return st;
    }
    *state = s;
    return ASSAY_OK;
}

static assay_status cost_run(void *state, const assay__check_input *in,
                             assay__check_finding *out, assay_error *err)
{
    const cost_state *s = state;
    const assay__response *r = in->response;
    if (!r || r->prompt_tokens < 0 || r->completion_tokens < 0)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the cost is not known: the server reported no "
                            "token usage");
    const price *p = lookup(s, r->model);
    if (!p)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "no price for model '%s': give one in the "
                            "check, as prices: {%s: {input: X, output: Y}} "
                            "(US dollars per million tokens)",
                            r->model, r->model[0] ? r->model : "MODEL");
    double usd = ((double)r->prompt_tokens * p->input +
                  (double)r->completion_tokens * p->output) /
                 1e6;
    out->pass = usd <= s->max_usd;
    out->score = out->pass ? 1.0 : 0.0;
    assay_status st = assay__buf_puts(out->want, "cost at most $");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->want, s->max_usd, 6);
    if (st == ASSAY_OK)
        st = assay__buf_putc(out->found, '$');
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, usd, 6);
    if (st == ASSAY_OK)
        st =
            assay__buf_printf(out->found,
                              " (%ld prompt and %ld completion tokens of "
                              "'%s' at $",
                              r->prompt_tokens, r->completion_tokens, r->model);
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, p->input, 4);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, " and $");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, p->output, 4);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, " per million)");
    return failed(st, err);
}

static const char *const cost_options[] = {"prices", NULL};

const assay__check_family assay__checks_cost = {
    .name = "cost",
    .options = cost_options,
    .compile = cost_compile,
    .run = cost_run,
    .free = cost_free,
};

/* ------------------------------------------------------------ tokens */

typedef struct token_bounds {
    double min; /* -1: none */
    double max; /* -1: none */
} token_bounds;

static assay_status read_tokens(const assay__check_spec *spec,
                                const cJSON *node, double *out,
                                assay_error *err)
{
    if (!cJSON_IsNumber(node) || !(node->valuedouble >= 0) ||
        node->valuedouble > 1e12 ||
        node->valuedouble != floor(node->valuedouble))
        return assay__doc_error(spec->doc, node, false, err, ASSAY_ERR_CHECK,
                                "check '%s' expects a whole number of tokens",
                                spec->type);
    *out = node->valuedouble;
    return ASSAY_OK;
}

/* `value` is the maximum; the long form adds `min` and may give `max`. */
static assay_status tokens_compile(const assay__check_spec *spec, void **state,
                                   assay_error *err)
{
    token_bounds b = {-1, -1};
    const cJSON *min = NULL, *max = spec->value;
    if (spec->options) {
        min = cJSON_GetObjectItemCaseSensitive(spec->options, "min");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(spec->options, "max");
        if (m && max)
            return assay__doc_error(spec->doc, m, true, err, ASSAY_ERR_CHECK,
                                    "check '%s' has both 'value' and 'max'; "
                                    "they are the same bound",
                                    spec->type);
        if (m)
            max = m;
    }
    assay_status st = ASSAY_OK;
    if (max)
        st = read_tokens(spec, max, &b.max, err);
    if (st == ASSAY_OK && min)
        st = read_tokens(spec, min, &b.min, err);
    if (st != ASSAY_OK)
        return st;
    if (b.min < 0 && b.max < 0)
        return assay__doc_error(spec->doc, spec->options, false, err,
                                ASSAY_ERR_CHECK,
                                "check '%s' needs a bound: a maximum as its "
                                "value, or 'min' and/or 'max'",
                                spec->type);
    if (b.min >= 0 && b.max >= 0 && b.min > b.max)
        return assay__doc_error(spec->doc, min, false, err, ASSAY_ERR_CHECK,
                                "check '%s' has min %.0f above max %.0f",
                                spec->type, b.min, b.max);
    token_bounds *s = malloc(sizeof *s);
    if (!s)
        return failed(ASSAY_ERR_NOMEM, err);
    *s = b;
    *state = s;
    return ASSAY_OK;
}

static assay_status tokens_judge(const token_bounds *b, long count,
                                 const char *which, assay__check_finding *out,
                                 assay_error *err)
{
    if (count < 0)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the server reported no %s token count", which);
    double c = (double)count;
    out->pass = (b->min < 0 || c >= b->min) && (b->max < 0 || c <= b->max);
    out->score = out->pass ? 1.0 : 0.0;
    assay_status st;
    if (b->min >= 0 && b->max >= 0)
        st = assay__buf_printf(out->want, "use %.0f to %.0f %s tokens", b->min,
                               b->max, which);
    else if (b->min >= 0)
        st = assay__buf_printf(out->want, "use at least %.0f %s tokens", b->min,
                               which);
    else
        st = assay__buf_printf(out->want, "use at most %.0f %s tokens", b->max,
                               which);
    if (st == ASSAY_OK)
        st = assay__buf_printf(out->found, "%ld", count);
    return failed(st, err);
}

static const assay__response *need_response(const assay__check_input *in,
                                            assay_error *err)
{
    if (!in->response)
        assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                     "this check needs the endpoint's response, and there "
                     "is none");
    return in->response;
}

static assay_status prompt_tokens_run(void *state, const assay__check_input *in,
                                      assay__check_finding *out,
                                      assay_error *err)
{
    const assay__response *r = need_response(in, err);
    return r ? tokens_judge(state, r->prompt_tokens, "prompt", out, err)
             : ASSAY_ERR_CHECK;
}

static assay_status completion_tokens_run(void *state,
                                          const assay__check_input *in,
                                          assay__check_finding *out,
                                          assay_error *err)
{
    const assay__response *r = need_response(in, err);
    return r ? tokens_judge(state, r->completion_tokens, "completion", out, err)
             : ASSAY_ERR_CHECK;
}

static assay_status total_tokens_run(void *state, const assay__check_input *in,
                                     assay__check_finding *out,
                                     assay_error *err)
{
    const assay__response *r = need_response(in, err);
    if (!r)
        return ASSAY_ERR_CHECK;
    long total = r->total_tokens;
    if (total < 0 && r->prompt_tokens >= 0 && r->completion_tokens >= 0)
        total = r->prompt_tokens + r->completion_tokens;
    return tokens_judge(state, total, "total", out, err);
}

static const char *const tokens_options[] = {"min", "max", NULL};

const assay__check_family assay__checks_prompt_tokens = {
    .name = "prompt-tokens",
    .value_use = ASSAY__VALUE_OPTIONAL,
    .options = tokens_options,
    .compile = tokens_compile,
    .run = prompt_tokens_run,
    .free = plain_free,
};

const assay__check_family assay__checks_completion_tokens = {
    .name = "completion-tokens",
    .value_use = ASSAY__VALUE_OPTIONAL,
    .options = tokens_options,
    .compile = tokens_compile,
    .run = completion_tokens_run,
    .free = plain_free,
};

const assay__check_family assay__checks_total_tokens = {
    .name = "total-tokens",
    .value_use = ASSAY__VALUE_OPTIONAL,
    .options = tokens_options,
    .compile = tokens_compile,
    .run = total_tokens_run,
    .free = plain_free,
};

/* ------------------------------------------------------------ finish */

static assay_status finish_reason_run(void *state, const assay__check_input *in,
                                      assay__check_finding *out,
                                      assay_error *err)
{
    (void)state;
    const assay__response *r = need_response(in, err);
    if (!r)
        return ASSAY_ERR_CHECK;
    const char *got = r->finish_reason;
    out->pass =
        strlen(got) == in->value_len && !memcmp(got, in->value, in->value_len);
    out->score = out->pass ? 1.0 : 0.0;
    assay_status st = assay__buf_puts(out->want, "finish with ");
    if (st == ASSAY_OK)
        st = assay__text_excerpt(out->want, in->value, in->value_len, 40);
    if (st == ASSAY_OK && got[0])
        st = assay__text_excerpt(out->found, got, strlen(got), 40);
    else if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, "no finish_reason");
    return failed(st, err);
}

const assay__check_family assay__checks_finish_reason = {
    .name = "finish-reason",
    .value_is_template = true,
    .run = finish_reason_run,
};
