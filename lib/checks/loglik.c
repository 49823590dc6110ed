/*
 * checks/loglik.c - `loglik-choice` and `loglik-choice-norm`: which
 * continuation of the prompt the model finds most likely, scored as
 * lm-evaluation-harness scores `output_type: multiple_choice`.
 *
 * The check's `choices` (a list, or a template giving one, as `choice`
 * takes them) are the options; each continuation is the `delimiter` (the
 * harness's target_delimiter, " " unless given) then the option. The
 * case's request goes to /completions with the prompt followed by each
 * continuation and `echo` on (loglik.c builds it), so that the reply gives
 * the logprob of every prompt token. A continuation's log-likelihood is
 * the sum of the logprobs of the tokens that hold it.
 *
 * `loglik-choice` picks the largest sum: the harness's `acc`.
 * `loglik-choice-norm` divides each sum by the option's length in
 * characters first (the harness's `acc_norm`; `length: bytes` divides by
 * its UTF-8 bytes, the harness's `acc_bytes`). Either passes when it
 * picks the expected option (its value: an option letter, a 0-based
 * index, or the option's text) and scores 1 or 0, so a metric's mean is
 * the accuracy. Ties go to the first option, as numpy's argmax has them.
 *
 * Several of these checks on one case share the one request, so they must
 * list the same choices; a reply from another request (a cache entry, a
 * server that ignored `echo`) is an error that says so, never a verdict.
 */
#include "checks/checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHOWN 8 /* options whose log-likelihoods a reason lists */

typedef struct loglik_state {
    assay__check_list *choices;
    char *delimiter;
    size_t delimiter_len;
    bool normalise;
    bool by_bytes; /* normalise by UTF-8 bytes rather than characters */
} loglik_state;

static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

/* ------------------------------------------------------------ the sum */

/* A token of an echoed reply, where it sits in the text's units. */
typedef struct loglik_token {
    const char *text;
    double logprob; /* NaN: none (the first token of a prompt) */
    double offset;  /* NaN: not given */
    long start;
    long end;
} loglik_token;

/* Characters (UTF-8 lead bytes), or bytes. */
static long units_of(const char *s, size_t n, bool chars)
{
    if (!chars)
        return (long)n;
    long k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static double number_or_nan(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

/*
 * The tokens of either logprobs shape, into a new array (*n of them); NULL
 * with *n 0 when there are none, NULL with *n 1 when out of memory.
 */
static loglik_token *read_tokens(const cJSON *logprobs, size_t *n)
{
    const cJSON *legacy = cJSON_GetObjectItemCaseSensitive(logprobs, "tokens");
    const cJSON *content =
        cJSON_GetObjectItemCaseSensitive(logprobs, "content");
    const cJSON *list = cJSON_IsArray(legacy) ? legacy : content;
    int count = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
    *n = 0;
    if (count <= 0)
        return NULL;
    loglik_token *t = calloc((size_t)count, sizeof *t);
    if (!t) {
        *n = 1;
        return NULL;
    }
    const cJSON *lps =
        cJSON_GetObjectItemCaseSensitive(logprobs, "token_logprobs");
    const cJSON *offsets =
        cJSON_GetObjectItemCaseSensitive(logprobs, "text_offset");
    const cJSON *item = list->child;
    for (int i = 0; i < count; i++, item = item->next) {
        const cJSON *token =
            legacy ? item : cJSON_GetObjectItemCaseSensitive(item, "token");
        t[i].text = cJSON_IsString(token) ? token->valuestring : NULL;
        t[i].logprob = number_or_nan(
            legacy ? cJSON_GetArrayItem(lps, i)
                   : cJSON_GetObjectItemCaseSensitive(item, "logprob"));
        t[i].offset =
            legacy ? number_or_nan(cJSON_GetArrayItem(offsets, i)) : NAN;
    }
    *n = (size_t)count;
    return t;
}

/*
 * Places the tokens by their text_offset (characters, as OpenAI and vLLM
 * count them): a token ends where the next starts. The offsets are shifted
 * so that the last token ends with the text, since a server may count a
 * leading special token ("<s>") that the text does not hold. False when
 * some token has no offset or they go backwards.
 */
static bool place_by_offsets(loglik_token *t, size_t n, long text_units)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(t[i].offset) || t[i].offset < 0 || t[i].offset > 1e12 ||
            (i && t[i].offset < t[i - 1].offset))
            return false;
    for (size_t i = 0; i < n; i++) {
        t[i].start = (long)t[i].offset;
        t[i].end = i + 1 < n ? (long)t[i + 1].offset
                             : t[i].start +
                                   units_of(t[i].text, strlen(t[i].text), true);
    }
    long shift = t[n - 1].end - text_units;
    for (size_t i = 0; i < n; i++) {
        t[i].start -= shift;
        t[i].end -= shift;
    }
    return true;
}

/* Without offsets (llama-server's shape): the tokens' texts laid end to
   end so that the last ends with the text, in bytes. */
static void place_by_lengths(loglik_token *t, size_t n, long text_len)
{
    long end = text_len;
    for (size_t i = n; i-- > 0;) {
        t[i].end = end;
        t[i].start = end - (long)strlen(t[i].text);
        end = t[i].start;
    }
}

assay_status assay__loglik_sum(const char *text, size_t text_len,
                               size_t prompt_len, size_t context_len,
                               const cJSON *logprobs, double *sum, size_t *n,
                               assay_error *err)
{
    *sum = 0;
    *n = 0;
    if (context_len > prompt_len || prompt_len > text_len)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the reply's text is shorter than its prompt");
    size_t count;
    loglik_token *t = read_tokens(logprobs, &count);
    if (!t)
        return count ? failed(ASSAY_ERR_NOMEM, err)
                     : assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                                    "the reply has no token logprobs (it "
                                    "needs `logprobs` and `echo`)");
    for (size_t i = 0; i < count; i++)
        if (!t[i].text) {
            free(t);
            return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                                "token %zu of the reply's logprobs is not "
                                "a string",
                                i);
        }
    bool chars = place_by_offsets(t, count, units_of(text, text_len, true));
    if (!chars)
        place_by_lengths(t, count, (long)text_len);
    long from = units_of(text, context_len, chars);
    long to = units_of(text, prompt_len, chars);
    assay_status st = ASSAY_OK;
    for (size_t i = 0; i < count && st == ASSAY_OK; i++) {
        if (t[i].end <= from || t[i].start >= to)
            continue; /* context, or what was generated after the prompt */
        if (isnan(t[i].logprob)) {
            st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                              "token %zu ('%s') of the continuation has no "
                              "logprob (is the context empty?)",
                              i, t[i].text);
            break;
        }
        *sum += t[i].logprob;
        ++*n;
    }
    free(t);
    if (st == ASSAY_OK && *n == 0)
        st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                          "no token of the reply holds the continuation "
                          "(the server did not echo the prompt's tokens)");
    return st;
}

/* ------------------------------------------------------------ the family */

static assay_status compile_common(const assay__check_spec *spec,
                                   bool normalise, void **state,
                                   assay_error *err)
{
    const cJSON *choices =
        cJSON_GetObjectItemCaseSensitive(spec->options, "choices");
    const cJSON *delimiter =
        cJSON_GetObjectItemCaseSensitive(spec->options, "delimiter");
    const cJSON *length =
        cJSON_GetObjectItemCaseSensitive(spec->options, "length");
    if (!choices)
        return assay__doc_error(spec->doc,
                                spec->options ? spec->options : spec->value,
                                false, err, ASSAY_ERR_CHECK,
                                "check '%s' needs 'choices': the options "
                                "whose log-likelihoods are compared, as in "
                                "{type: %s, value: \"{{answer}}\", choices: "
                                "\"{{choices}}\"}",
                                spec->type, spec->type);
    if (delimiter && !cJSON_IsString(delimiter))
        return assay__doc_error(spec->doc, delimiter, false, err,
                                ASSAY_ERR_CHECK,
                                "'delimiter' is the text between the prompt "
                                "and each choice (default \" \")");
    if (length && !(cJSON_IsString(length) &&
                    (!strcmp(length->valuestring, "characters") ||
                     !strcmp(length->valuestring, "bytes"))))
        return assay__doc_error(spec->doc, length, false, err, ASSAY_ERR_CHECK,
                                "'length' is characters or bytes");
    loglik_state *s = calloc(1, sizeof *s);
    const char *d = delimiter ? delimiter->valuestring : " ";
    if (!s || !(s->delimiter = strdup(d))) {
        free(s);
        return failed(ASSAY_ERR_NOMEM, err);
    }
    s->delimiter_len = strlen(d);
    s->normalise = normalise;
    s->by_bytes = length && !strcmp(length->valuestring, "bytes");
    assay_status st = assay__check_list_compile(
        spec->doc, choices, ASSAY__LIST_ITEMS, "'choices'", &s->choices, err);
    if (st != ASSAY_OK) {
        free(s->delimiter);
        free(s);
        return st;
    }
    *state = s;
    return ASSAY_OK;
}

static assay_status plain_compile(const assay__check_spec *spec, void **state,
                                  assay_error *err)
{
    return compile_common(spec, false, state, err);
}

static assay_status norm_compile(const assay__check_spec *spec, void **state,
                                 assay_error *err)
{
    return compile_common(spec, true, state, err);
}

static void loglik_free(void *state)
{
    loglik_state *s = state;
    if (!s)
        return;
    assay__check_list_free(s->choices);
    free(s->delimiter);
    free(s);
}

/* The options of the case: at least two. */
static assay_status render_choices(const loglik_state *s, const cJSON *vars,
                                   const char *case_id,
                                   assay__check_items *scratch,
                                   const assay__text_ref **opts, size_t *n,
                                   assay_error *err)
{
    assay_status st = assay__check_list_render(s->choices, vars, case_id,
                                               scratch, opts, n, err);
    if (st == ASSAY_OK && *n < 2)
        st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                          "'choices' gave %zu option%s; there must be two "
                          "or more to choose from",
                          *n, *n == 1 ? "" : "s");
    return st;
}

static assay_status loglik_continuations(void *state, const cJSON *vars,
                                         const char *case_id, assay__buf *out,
                                         size_t *n, assay_error *err)
{
    const loglik_state *s = state;
    assay__check_items scratch;
    assay__check_items_init(&scratch);
    const assay__text_ref *opts;
    size_t count = 0;
    assay_status st =
        render_choices(s, vars, case_id, &scratch, &opts, &count, err);
    for (size_t i = 0; st == ASSAY_OK && i < count; i++) {
        st = assay__buf_append(out, s->delimiter, s->delimiter_len);
        if (st == ASSAY_OK)
            st = assay__buf_append(out, opts[i].s, opts[i].len);
        if (st == ASSAY_OK)
            st = assay__buf_putc(out, '\0');
        if (st != ASSAY_OK)
            st = failed(st, err);
    }
    assay__check_items_release(&scratch);
    *n = st == ASSAY_OK ? count : 0;
    return st;
}

/* The expected option: a letter, a 0-based index or an option's text. */
static long expected_option(const char *v, size_t len,
                            const assay__text_ref *opts, size_t n)
{
    size_t a = 0, b = len;
    while (a < b && (v[a] == ' ' || v[a] == '\n' || v[a] == '('))
        a++;
    while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\n' || v[b - 1] == ')' ||
                     v[b - 1] == '.'))
        b--;
    if (b - a == 1 && ((v[a] | 32) >= 'a' && (v[a] | 32) <= 'z')) {
        size_t k = (size_t)((v[a] | 32) - 'a');
        if (k < n)
            return (long)k;
    }
    if (b > a && b - a <= 6) {
        size_t k = 0, i = a;
        while (i < b && v[i] >= '0' && v[i] <= '9')
            k = k * 10 + (size_t)(v[i++] - '0');
        if (i == b)
            return k < n ? (long)k : -1;
    }
    for (size_t k = 0; k < n; k++)
        if (opts[k].len == len && !memcmp(opts[k].s, v, len))
            return (long)k;
    return -1;
}

/* "(B)", or "#27" past Z. */
static assay_status put_label(assay__buf *out, size_t k, size_t n)
{
    return n <= 26 ? assay__buf_printf(out, "(%c)", (int)('A' + k))
                   : assay__buf_printf(out, "#%zu", k);
}

static assay_status put_option(assay__buf *out, size_t k,
                               const assay__text_ref *opts, size_t n)
{
    assay_status st = put_label(out, k, n);
    if (st == ASSAY_OK)
        st = assay__buf_putc(out, ' ');
    if (st == ASSAY_OK)
        st = assay__text_excerpt(out, opts[k].s, opts[k].len, 40);
    return st;
}

/*
 * The reply's entry for continuation `k`: its prompt must end with the
 * continuation and start with the same context as every other (for k > 0,
 * *context_len holds the first one's on entry).
 */
static assay_status entry_of(const cJSON *choices, size_t k, const char *cont,
                             size_t cont_len, const cJSON *first,
                             const char **text, size_t *prompt_len,
                             size_t *context_len, const cJSON **logprobs,
                             assay_error *err)
{
    const cJSON *e = cJSON_GetArrayItem(choices, (int)k);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "prompt");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "text");
    if (!cJSON_IsString(p) || !cJSON_IsString(t))
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the reply has no choice for prompt %zu", k);
    size_t plen = strlen(p->valuestring);
    /* The first prompt's context is the one every other must have. */
    const char *p0 =
        k ? cJSON_GetObjectItemCaseSensitive(first, "prompt")->valuestring
          : p->valuestring;
    if (plen < cont_len ||
        memcmp(p->valuestring + plen - cont_len, cont, cont_len) ||
        (k && (plen - cont_len != *context_len ||
               memcmp(p->valuestring, p0, *context_len))))
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "prompt %zu of the request does not end with "
                            "this check's continuation: the log-likelihood "
                            "checks of a case must list the same choices "
                            "(and delimiter)",
                            k);
    if (strncmp(t->valuestring, p->valuestring, plen))
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the reply's text for prompt %zu does not start "
                            "with the prompt: the server ignored `echo`, so "
                            "it cannot score log-likelihoods (use "
                            "choice-logprob on a chat endpoint instead)",
                            k);
    *text = t->valuestring;
    *prompt_len = plen;
    *context_len = plen - cont_len;
    *logprobs = cJSON_GetObjectItemCaseSensitive(e, "logprobs");
    return ASSAY_OK;
}

/* What the check compares: each option's (maybe normalised) value. */
static assay_status option_values(const loglik_state *s,
                                  const assay__check_input *in,
                                  const assay__text_ref *opts, size_t n,
                                  double *values, assay_error *err)
{
    const cJSON *choices = in->response ? in->response->choices : NULL;
    if (!cJSON_IsArray(choices))
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the reply holds no log-likelihoods: the check "
                            "needs a target with `endpoint: completions` "
                            "(its request is sent with `echo`), and the "
                            "reply itself, not a recorded answer");
    if ((size_t)cJSON_GetArraySize(choices) != n)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the request asked for %d continuations and "
                            "this check has %zu choices: the "
                            "log-likelihood checks of a case must list the "
                            "same choices",
                            cJSON_GetArraySize(choices), n);
    assay__buf cont;
    assay__buf_init(&cont, 0);
    assay_status st = ASSAY_OK;
    const cJSON *first = cJSON_GetArrayItem(choices, 0);
    size_t context_len = 0;
    for (size_t k = 0; st == ASSAY_OK && k < n; k++) {
        assay__buf_reset(&cont);
        st = assay__buf_append(&cont, s->delimiter, s->delimiter_len);
        if (st == ASSAY_OK)
            st = assay__buf_append(&cont, opts[k].s, opts[k].len);
        if (st != ASSAY_OK) {
            st = failed(st, err);
            break;
        }
        const char *text;
        size_t prompt_len, n_tokens;
        const cJSON *logprobs;
        st = entry_of(choices, k, cont.data, cont.len, first, &text,
                      &prompt_len, &context_len, &logprobs, err);
        if (st == ASSAY_OK)
            st = assay__loglik_sum(text, strlen(text), prompt_len, context_len,
                                   logprobs, &values[k], &n_tokens, err);
        if (st != ASSAY_OK)
            assay__error_prefix(err, "choice %zu", k);
        else if (s->normalise) {
            long len = units_of(opts[k].s, opts[k].len, !s->by_bytes);
            if (len == 0)
                st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                                  "choice %zu is empty: there is no length "
                                  "to normalise by",
                                  k);
            else
                values[k] /= (double)len;
        }
    }
    assay__buf_release(&cont);
    return st;
}

static assay_status explain(const loglik_state *s, const assay__text_ref *opts,
                            size_t n, const double *values, size_t want,
                            size_t best, assay__check_finding *out)
{
    const char *per = !s->normalise ? ""
                      : s->by_bytes ? " per byte"
                                    : " per character";
    assay_status st = assay__buf_puts(out->want, "find ");
    if (st == ASSAY_OK)
        st = put_option(out->want, want, opts, n);
    if (st == ASSAY_OK)
        st = assay__buf_printf(out->want, " most likely (log-likelihood%s)",
                               per);
    if (st == ASSAY_OK)
        st = put_option(out->found, best, opts, n);
    if (st == ASSAY_OK)
        st = assay__buf_printf(out->found, "; log-likelihood%s", per);
    for (size_t k = 0; st == ASSAY_OK && k < n && k < MAX_SHOWN; k++) {
        st = assay__buf_puts(out->found, k ? ", " : " ");
        if (st == ASSAY_OK)
            st = put_label(out->found, k, n);
        if (st == ASSAY_OK)
            st = assay__buf_putc(out->found, ' ');
        if (st == ASSAY_OK)
            st = assay__checks_put_number(out->found, values[k], 4);
    }
    if (st == ASSAY_OK && n > MAX_SHOWN)
        st = assay__buf_printf(out->found, " and %zu more", n - MAX_SHOWN);
    return st;
}

static assay_status loglik_run(void *state, const assay__check_input *in,
                               assay__check_finding *out, assay_error *err)
{
    const loglik_state *s = state;
    assay__check_items scratch;
    assay__check_items_init(&scratch);
    const assay__text_ref *opts;
    size_t n;
    double *values = NULL;
    assay_status st =
        render_choices(s, in->vars, in->case_id, &scratch, &opts, &n, err);
    long want = -1;
    if (st == ASSAY_OK) {
        want = expected_option(in->value, in->value_len, opts, n);
        if (want < 0) {
            assay__buf shown;
            assay__buf_init(&shown, 0);
            assay__text_excerpt(&shown, in->value, in->value_len, 40);
            st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                              "the expected choice %s is not one of the "
                              "%zu options (a letter, a 0-based index or "
                              "an option's text)",
                              shown.data, n);
            assay__buf_release(&shown);
        }
    }
    if (st == ASSAY_OK && !(values = calloc(n, sizeof *values)))
        st = failed(ASSAY_ERR_NOMEM, err);
    if (st == ASSAY_OK)
        st = option_values(s, in, opts, n, values, err);
    if (st == ASSAY_OK) {
        size_t best = 0;
        for (size_t k = 1; k < n; k++)
            if (values[k] > values[best])
                best = k;
        out->pass = best == (size_t)want;
        out->score = out->pass ? 1.0 : 0.0;
        st = failed(explain(s, opts, n, values, (size_t)want, best, out), err);
    }
    free(values);
    assay__check_items_release(&scratch);
    return st;
}

static const char *const plain_options[] = {"choices", "delimiter", NULL};
static const char *const norm_options[] = {"choices", "delimiter", "length",
                                           NULL};

const assay__check_family assay__checks_loglik_choice = {
    .name = "loglik-choice",
    .value_is_template = true,
    .value_scalar = true,
    .options = plain_options,
    .compile = plain_compile,
    .run = loglik_run,
    .free = loglik_free,
    .continuations = loglik_continuations,
};

const assay__check_family assay__checks_loglik_choice_norm = {
    .name = "loglik-choice-norm",
    .value_is_template = true,
    .value_scalar = true,
    .options = norm_options,
    .compile = norm_compile,
    .run = loglik_run,
    .free = loglik_free,
    .continuations = loglik_continuations,
};
