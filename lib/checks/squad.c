/*
 * checks/squad.c - normalised exact match and token-level F1, as the
 * official SQuAD evaluation script computes them (and lm-evaluation-harness
 * after it): `exact-match` and `f1`.
 *
 * Normalisation follows SQuAD's normalize_answer step by step: lowercase
 * (Python's str.lower(), see unicode.c), drop ASCII punctuation (Python's
 * string.punctuation, removed and not replaced), replace the words "a",
 * "an" and "the" by a space (at Unicode word boundaries, with PCRE2), and
 * collapse whitespace. F1 is the harmonic mean of token precision and
 * recall over the multiset of normalised tokens; when either side has no
 * token, F1 is 1 if both have none and 0 otherwise (SQuAD 2.0's rule).
 * With several references, the best one counts, as in SQuAD.
 *
 * What this does not do: stemming, synonyms, or numbers written two ways
 * ("5" and "five" differ); those are other checks' business.
 */
#include "checks/checks.h"

#include <stdlib.h>
#include <string.h>

#define NORM_MAX ((size_t)16 << 20) /* bytes of a normalised text */
#define ARTICLES "\\b(?:a|an|the)\\b"

typedef struct squad_state {
    pcre2_code *articles; /* read-only once made: shared by threads */
} squad_state;

static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

static assay_status squad_compile(const assay__check_spec *spec, void **state,
                                  assay_error *err)
{
    (void)spec;
    int code;
    PCRE2_SIZE offset;
    squad_state *s = calloc(1, sizeof *s);
    if (!s)
        return failed(ASSAY_ERR_NOMEM, err);
    s->articles = pcre2_compile((PCRE2_SPTR)ARTICLES, PCRE2_ZERO_TERMINATED,
                                PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
                                &code, &offset, NULL);
    if (!s->articles) {
        free(s);
        return failed(ASSAY_ERR_NOMEM, err);
    }
    *state = s;
    return ASSAY_OK;
}

static void squad_free(void *state)
{
    squad_state *s = state;
    if (!s)
        return;
    pcre2_code_free(s->articles);
    free(s);
}

static bool is_punctuation(unsigned char c)
{
    return c < 0x80 && c > 0x20 && c != 0x7F && !(c >= '0' && c <= '9') &&
           !((c | 32) >= 'a' && (c | 32) <= 'z');
}

/* Lowercase, without punctuation: SQuAD's lower() then remove_punc(). */
static assay_status lower_unpunct(const char *s, size_t n, assay__buf *out)
{
    assay_status st = ASSAY_OK;
    for (size_t i = 0, k; i < n && st == ASSAY_OK; i += k) {
        if (is_punctuation((unsigned char)s[i])) {
            k = 1;
            continue;
        }
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) { /* ASCII, the common case, without a lookup */
            k = 1;
            st = assay__buf_putc(out, b >= 'A' && b <= 'Z' ? (char)(b + 32)
                                                           : (char)b);
            continue;
        }
        char low[8];
        size_t m = assay__checks_lower_utf8(s, n, i, &k, low);
        st = assay__buf_append(out, low, m);
    }
    return st;
}

/* SQuAD's normalize_answer(): the steps in its order. */
static assay_status normalize(const squad_state *state, const char *s, size_t n,
                              assay__buf *out, assay_error *err)
{
    assay__buf low;
    assay__buf_init(&low, NORM_MAX);
    assay_status st = failed(lower_unpunct(s, n, &low), err);
    /* "a" -> " " never grows the text, so its length is room enough */
    PCRE2_SIZE room = low.len + 1;
    char *bare = st == ASSAY_OK ? malloc(room) : NULL;
    if (st == ASSAY_OK && !bare)
        st = failed(ASSAY_ERR_NOMEM, err);
    if (st == ASSAY_OK) {
        int rc =
            pcre2_substitute(state->articles, (PCRE2_SPTR)low.data, low.len, 0,
                             PCRE2_SUBSTITUTE_GLOBAL, NULL, NULL,
                             (PCRE2_SPTR) " ", 1, (PCRE2_UCHAR *)bare, &room);
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            st =
                assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                             "removing articles failed: %s", (const char *)msg);
        }
    }
    if (st == ASSAY_OK)
        st = failed(assay__checks_collapse_space(bare, room, out), err);
    free(bare);
    assay__buf_release(&low);
    return st;
}

/* ------------------------------------------------------------ tokens */

typedef struct tokens {
    assay__text_ref *t;
    size_t n;
} tokens;

static int token_cmp(const void *a, const void *b)
{
    const assay__text_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* The space-separated tokens of a normalised text, sorted. */
static assay_status tokenize(const assay__buf *norm, tokens *out)
{
    size_t n = 0;
    for (size_t i = 0; i < norm->len; i++)
        n += norm->data[i] == ' ';
    n += norm->len > 0;
    out->t = malloc((n ? n : 1) * sizeof *out->t);
    out->n = 0;
    if (!out->t)
        return ASSAY_ERR_NOMEM;
    size_t start = 0;
    for (size_t i = 0; i <= norm->len && norm->len; i++) {
        if (i < norm->len && norm->data[i] != ' ')
            continue;
        out->t[out->n++] = (assay__text_ref){norm->data + start, i - start};
        start = i + 1;
    }
    qsort(out->t, out->n, sizeof *out->t, token_cmp);
    return ASSAY_OK;
}

/* SQuAD 2.0's compute_f1 on two sorted token lists. */
static double token_f1(const tokens *pred, const tokens *gold, double *prec,
                       double *rec)
{
    *prec = *rec = 0;
    if (pred->n == 0 || gold->n == 0) {
        *prec = *rec = pred->n == gold->n;
        return pred->n == gold->n;
    }
    size_t same = 0;
    for (size_t i = 0, j = 0; i < pred->n && j < gold->n;) {
        int c = token_cmp(&pred->t[i], &gold->t[j]);
        same += c == 0;
        i += c <= 0;
        j += c >= 0;
    }
    if (same == 0)
        return 0;
    *prec = (double)same / (double)pred->n;
    *rec = (double)same / (double)gold->n;
    return 2 * *prec * *rec / (*prec + *rec);
}

/* ------------------------------------------------------------ families */

/* The best reference: its index, F1 (or exactness), precision, recall. */
typedef struct best {
    size_t at;
    double score;
    double prec;
    double rec;
} best;

static assay_status compare(const squad_state *state,
                            const assay__check_input *in, bool f1,
                            assay__buf *pred_norm, best *b, assay_error *err)
{
    *b = (best){0, -1, 0, 0};
    assay_status st =
        normalize(state, in->output, in->output_len, pred_norm, err);
    tokens pred = {0};
    if (st == ASSAY_OK && f1 && tokenize(pred_norm, &pred) != ASSAY_OK)
        st = failed(ASSAY_ERR_NOMEM, err);
    assay__buf gold;
    assay__buf_init(&gold, NORM_MAX);
    for (size_t i = 0; i < in->n_items && st == ASSAY_OK; i++) {
        assay__buf_reset(&gold);
        st = normalize(state, in->items[i].s, in->items[i].len, &gold, err);
        if (st != ASSAY_OK)
            break;
        double score, prec = 0, rec = 0;
        if (f1) {
            tokens g;
            if (tokenize(&gold, &g) != ASSAY_OK) {
                st = failed(ASSAY_ERR_NOMEM, err);
                break;
            }
            score = token_f1(&pred, &g, &prec, &rec);
            free(g.t);
        } else {
            score = gold.len == pred_norm->len &&
                    !memcmp(gold.data, pred_norm->data, gold.len);
        }
        if (score > b->score)
            *b = (best){i, score, prec, rec};
    }
    free(pred.t);
    assay__buf_release(&gold);
    if (b->score < 0)
        b->score = 0;
    return st;
}

static assay_status exact_match_run(void *state, const assay__check_input *in,
                                    assay__check_finding *out, assay_error *err)
{
    assay__buf norm;
    assay__buf_init(&norm, NORM_MAX);
    best b;
    assay_status st = compare(state, in, false, &norm, &b, err);
    if (st == ASSAY_OK) {
        out->pass = b.score == 1;
        out->score = b.score;
        st = assay__buf_puts(out->want, "equal ");
        if (st == ASSAY_OK)
            st = assay__checks_put_items(out->want, in, 8, 40);
        if (st == ASSAY_OK)
            st = assay__buf_puts(out->want,
                                 " once normalised (case, punctuation, "
                                 "articles, whitespace)");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->found, norm.data, norm.len,
                                     ASSAY__CHECK_EXCERPT);
        if (st == ASSAY_OK)
            st = assay__buf_puts(out->found, " (normalised)");
        st = failed(st, err);
    }
    assay__buf_release(&norm);
    return st;
}

static assay_status f1_run(void *state, const assay__check_input *in,
                           assay__check_finding *out, assay_error *err)
{
    assay__buf norm;
    assay__buf_init(&norm, NORM_MAX);
    best b;
    assay_status st = compare(state, in, true, &norm, &b, err);
    if (st == ASSAY_OK) {
        out->score = b.score;
        st = assay__buf_puts(out->want, "have token F1 >= ");
        if (st == ASSAY_OK)
            st = assay__checks_put_number(out->want, in->threshold, 3);
        if (st == ASSAY_OK)
            st = assay__buf_puts(out->want, " against ");
        if (st == ASSAY_OK)
            st = assay__checks_put_items(out->want, in, 8, 40);
        if (st == ASSAY_OK)
            st = assay__buf_puts(out->found, "F1 ");
        if (st == ASSAY_OK)
            st = assay__checks_put_number(out->found, b.score, 3);
        if (st == ASSAY_OK)
            st = assay__buf_puts(out->found, " (precision ");
        if (st == ASSAY_OK)
            st = assay__checks_put_number(out->found, b.prec, 3);
        if (st == ASSAY_OK)
            st = assay__buf_puts(out->found, ", recall ");
        if (st == ASSAY_OK)
            st = assay__checks_put_number(out->found, b.rec, 3);
        if (st == ASSAY_OK && in->n_items > 1) {
            st = assay__buf_puts(out->found, ", best against ");
            if (st == ASSAY_OK)
                st = assay__text_excerpt(out->found, in->items[b.at].s,
                                         in->items[b.at].len, 40);
        }
        if (st == ASSAY_OK)
            st = assay__buf_puts(out->found, ") for ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->found, norm.data, norm.len,
                                     ASSAY__CHECK_EXCERPT);
        st = failed(st, err);
    }
    assay__buf_release(&norm);
    return st;
}

const assay__check_family assay__checks_exact_match = {
    .name = "exact-match",
    .value_is_template = true,
    .list = ASSAY__LIST_ITEMS,
    .value_scalar = true,
    .compile = squad_compile,
    .run = exact_match_run,
    .free = squad_free,
};

const assay__check_family assay__checks_f1 = {
    .name = "f1",
    .value_is_template = true,
    .list = ASSAY__LIST_ITEMS,
    .value_scalar = true,
    .scored = true,
    .default_threshold = 0.5,
    .compile = squad_compile,
    .run = f1_run,
    .free = squad_free,
};

/* For tests and the benchmark: SQuAD's normalize_answer() on `s`. */
assay_status assay__squad_normalize(const char *s, size_t n, assay__buf *out,
                                    assay_error *err)
{
    squad_state *state;
    assay_status st = squad_compile(NULL, (void **)&state, err);
    if (st != ASSAY_OK)
        return st;
    st = normalize(state, s, n, out, err);
    squad_free(state);
    return st;
}
