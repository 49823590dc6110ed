/*
 * checks/text.c - the check families that compare the answer with a piece
 * of text: equals, contains, icontains, starts-with, ends-with.
 *
 * All compare bytes exactly as they come: nothing is trimmed or normalised
 * (no Unicode normalisation, no whitespace folding), because exactness is
 * what these checks promise; a looser comparison is a regex away.
 *
 * icontains ignores case with PCRE2's caseless UTF matching, which uses
 * Unicode's simple case folding: 'é' matches 'É' and 'K' the Kelvin sign,
 * but 'ß' does not match "SS" (that is full folding). When both the value
 * and the answer are ASCII, a plain ASCII fold gives the same answer and
 * skips PCRE2. A value that is not valid UTF-8 is compared with the ASCII
 * fold only.
 *
 * The searches are linear (the C library's memmem for exact ones, which
 * is two-way; Knuth-Morris-Pratt for folded ones), so that a long answer
 * and an unlucky value cannot make them quadratic.
 */
/* memmem(), where the C library has it. */
#define _GNU_SOURCE // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): a feature-test macro is the program's to define
#include "checks/checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t assay__checks_utf8_char(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    size_t need;
    if (n == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        need = 2;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        need = 3;
        lo = p[0] == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
        hi = p[0] == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        need = 4;
        lo = p[0] == 0xF0 ? 0x90 : 0x80;
        hi = p[0] == 0xF4 ? 0x8F : 0xBF; /* nothing past U+10FFFF */
    } else
        return 0;
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return need;
}

uint32_t assay__checks_utf8_decode(const char *s, size_t n, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t k = assay__checks_utf8_char(s, n);
    *len = k ? k : 1;
    switch (k) {
    case 1:
        return p[0];
    case 2:
        return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
    case 3:
        return (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 |
               (p[2] & 0x3F);
    case 4:
        return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
               (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
    default:
        return 0xFFFD;
    }
}

/* The code points Python's str.isspace() accepts (Unicode 15). */
bool assay__checks_is_space(uint32_t c)
{
    if (c < 0x80)
        return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    return c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

assay_status assay__checks_put_number(assay__buf *out, double v, int digits)
{
    if (isnan(v) || isinf(v))
        return assay__buf_puts(out, isnan(v) ? "NaN" : v < 0 ? "-inf" : "inf");
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%.*f", digits, v);
    /* whatever the locale put for the decimal point becomes '.' */
    char clean[400] = "";
    size_t n = 0;
    bool point = false;
    for (const char *c = tmp; *c; c++) {
        if ((*c >= '0' && *c <= '9') || *c == '-')
            clean[n++] = *c;
        else if (!point) {
            clean[n++] = '.';
            point = true;
        }
    }
    if (point) { /* 0.500 -> 0.5, 2.000 -> 2 */
        while (clean[n - 1] == '0')
            n--;
        if (clean[n - 1] == '.')
            n--;
    }
    if (n == 2 && clean[0] == '-' && clean[1] == '0') { /* no "-0" */
        clean[0] = '0';
        n = 1;
    }
    return assay__buf_append(out, clean, n);
}

static bool is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

static bool is_utf8(const char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = assay__checks_utf8_char(s + i, n - i)))
            return false;
    return true;
}

static unsigned char fold(unsigned char c, bool ascii_fold)
{
    return ascii_fold && c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

assay_status assay__checks_find(const char *hay, size_t n, const char *needle,
                                size_t m, bool ascii_fold, size_t *at)
{
    const unsigned char *h = (const unsigned char *)hay;
    const unsigned char *p = (const unsigned char *)needle;
    *at = (size_t)-1;
    if (m == 0) {
        *at = 0;
        return ASSAY_OK;
    }
    if (m > n)
        return ASSAY_OK;
    if (!ascii_fold) {
        /* The C library's search finds the same first match, in linear
           time too, without the table's allocation (every `contains`). */
        const char *hit = memmem(hay, n, needle, m);
        if (hit)
            *at = (size_t)(hit - hay);
        return ASSAY_OK;
    }
    /* border[i]: length of the longest proper border of p[0..i] */
    size_t *border = malloc(m * sizeof *border);
    if (!border)
        return ASSAY_ERR_NOMEM;
    border[0] = 0;
    for (size_t i = 1, k = 0; i < m; i++) {
        while (k > 0 && fold(p[i], ascii_fold) != fold(p[k], ascii_fold))
            k = border[k - 1];
        if (fold(p[i], ascii_fold) == fold(p[k], ascii_fold))
            k++;
        border[i] = k;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        while (k > 0 && fold(h[i], ascii_fold) != fold(p[k], ascii_fold))
            k = border[k - 1];
        if (fold(h[i], ascii_fold) == fold(p[k], ascii_fold))
            k++;
        if (k == m) {
            *at = i + 1 - m;
            break;
        }
    }
    free(border);
    return ASSAY_OK;
}

/* The last ASSAY__CHECK_EXCERPT bytes of the output, from a boundary. */
static assay_status put_tail(assay__buf *out, const char *s, size_t len)
{
    if (len <= ASSAY__CHECK_EXCERPT)
        return assay__text_excerpt(out, s, len, len);
    size_t from = len - ASSAY__CHECK_EXCERPT;
    for (int back = 0;
         back < 3 && from < len && ((unsigned char)s[from] & 0xC0) == 0x80;
         back++)
        from++;
    assay_status st = assay__buf_puts(out, "...");
    if (st == ASSAY_OK)
        st = assay__text_excerpt(out, s + from, len - from, len - from);
    return st;
}

/* "<verb> 'value'" into want; the output's excerpt into found. */
static assay_status describe(assay__check_finding *out, const char *verb,
                             const char *suffix, const assay__check_input *in)
{
    assay_status st = assay__buf_puts(out->want, verb);
    if (st == ASSAY_OK)
        st = assay__text_excerpt(out->want, in->value, in->value_len,
                                 ASSAY__CHECK_EXCERPT);
    if (st == ASSAY_OK && suffix)
        st = assay__buf_puts(out->want, suffix);
    return st;
}

static assay_status put_match(assay__check_finding *out,
                              const assay__check_input *in, size_t at,
                              size_t len)
{
    assay_status st = assay__text_excerpt(out->found, in->output + at, len,
                                          ASSAY__CHECK_EXCERPT);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, " at offset ");
    if (st == ASSAY_OK) /* a whole number: digits, without printf */
        st = assay__text_put_double(out->found, (double)at);
    return st;
}

static assay_status verdict(assay__check_finding *out, bool pass)
{
    out->pass = pass;
    out->score = pass ? 1.0 : 0.0;
    return ASSAY_OK;
}

/* Families report only buffer failures, with the generic message. */
static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

/* ------------------------------------------------------------ equals */

static assay_status equals_run(void *state, const assay__check_input *in,
                               assay__check_finding *out, assay_error *err)
{
    (void)state;
    size_t n = in->output_len < in->value_len ? in->output_len : in->value_len;
    size_t diff = 0;
    while (diff < n && in->output[diff] == in->value[diff])
        diff++;
    bool same = diff == n && in->output_len == in->value_len;
    verdict(out, same);
    assay_status st = describe(out, "be exactly ", NULL, in);
    if (st == ASSAY_OK)
        st = assay__text_excerpt(out->found, in->output, in->output_len,
                                 ASSAY__CHECK_EXCERPT);
    if (st == ASSAY_OK && !same)
        st = assay__buf_printf(out->found, " (differing from byte %zu)", diff);
    return failed(st, err);
}

const assay__check_family assay__checks_equals = {
    .name = "equals",
    .value_is_template = true,
    .run = equals_run,
};

/* ------------------------------------------------------------ contains */

static assay_status contains_run(void *state, const assay__check_input *in,
                                 assay__check_finding *out, assay_error *err)
{
    (void)state;
    size_t at;
    assay_status st = assay__checks_find(in->output, in->output_len, in->value,
                                         in->value_len, false, &at);
    if (st == ASSAY_OK)
        st = describe(out, "contain ", NULL, in);
    if (st == ASSAY_OK && at != (size_t)-1)
        st = put_match(out, in, at, in->value_len);
    else if (st == ASSAY_OK)
        st = assay__text_excerpt(out->found, in->output, in->output_len,
                                 ASSAY__CHECK_EXCERPT);
    verdict(out, at != (size_t)-1);
    return failed(st, err);
}

const assay__check_family assay__checks_contains = {
    .name = "contains",
    .value_is_template = true,
    .run = contains_run,
};

/* ------------------------------------------------------------ icontains */

static assay_status icontains_compile(const assay__check_spec *spec,
                                      void **state, assay_error *err)
{
    bool constant_ok =
        spec->constant && is_utf8(spec->constant, spec->constant_len);
    assay__matcher *m;
    assay_status st = assay__matcher_new(PCRE2_LITERAL | PCRE2_CASELESS,
                                         constant_ok ? spec->constant : NULL,
                                         spec->constant_len, &m, err);
    if (st != ASSAY_OK)
        return st;
    *state = m;
    return ASSAY_OK;
}

assay_status assay__checks_ifind(assay__matcher *m, const char *hay, size_t n,
                                 const char *needle, size_t len, size_t *at,
                                 size_t *end, assay_error *err)
{
    *at = (size_t)-1;
    *end = 0;
    if ((is_ascii(needle, len) && is_ascii(hay, n)) || !is_utf8(needle, len)) {
        assay_status st = assay__checks_find(hay, n, needle, len, true, at);
        if (st != ASSAY_OK)
            return failed(st, err);
        *end = *at + len;
        return ASSAY_OK;
    }
    bool matched;
    size_t start;
    assay_status st =
        assay__matcher_find(m, needle, len, hay, n, &matched, &start, end, err);
    if (st == ASSAY_OK && matched)
        *at = start;
    return st;
}

static assay_status icontains_run(void *state, const assay__check_input *in,
                                  assay__check_finding *out, assay_error *err)
{
    size_t at, end;
    assay_status st =
        assay__checks_ifind(state, in->output, in->output_len, in->value,
                            in->value_len, &at, &end, err);
    if (st != ASSAY_OK)
        return st;
    st = describe(out, "contain (case-insensitive) ", NULL, in);
    if (st == ASSAY_OK && at != (size_t)-1)
        st = put_match(out, in, at, end - at);
    else if (st == ASSAY_OK)
        st = assay__text_excerpt(out->found, in->output, in->output_len,
                                 ASSAY__CHECK_EXCERPT);
    verdict(out, at != (size_t)-1);
    return failed(st, err);
}

static void icontains_free(void *state)
{
    assay__matcher_free(state);
}

const assay__check_family assay__checks_icontains = {
    .name = "icontains",
    .value_is_template = true,
    .compile = icontains_compile,
    .run = icontains_run,
    .free = icontains_free,
};

/* ------------------------------------------------------------ starts-with */

static assay_status starts_with_run(void *state, const assay__check_input *in,
                                    assay__check_finding *out, assay_error *err)
{
    (void)state;
    bool pass = in->output_len >= in->value_len &&
                !memcmp(in->output, in->value, in->value_len);
    verdict(out, pass);
    assay_status st = describe(out, "start with ", NULL, in);
    if (st == ASSAY_OK)
        st = assay__text_excerpt(out->found, in->output, in->output_len,
                                 ASSAY__CHECK_EXCERPT);
    return failed(st, err);
}

const assay__check_family assay__checks_starts_with = {
    .name = "starts-with",
    .value_is_template = true,
    .run = starts_with_run,
};

/* ------------------------------------------------------------ ends-with */

static assay_status ends_with_run(void *state, const assay__check_input *in,
                                  assay__check_finding *out, assay_error *err)
{
    (void)state;
    bool pass = in->output_len >= in->value_len &&
                !memcmp(in->output + (in->output_len - in->value_len),
                        in->value, in->value_len);
    verdict(out, pass);
    assay_status st = describe(out, "end with ", NULL, in);
    if (st == ASSAY_OK)
        st = put_tail(out->found, in->output, in->output_len);
    return failed(st, err);
}

const assay__check_family assay__checks_ends_with = {
    .name = "ends-with",
    .value_is_template = true,
    .run = ends_with_run,
};

assay_status assay__checks_put_items(assay__buf *out,
                                     const assay__check_input *in,
                                     size_t max_items, size_t bytes)
{
    assay_status st = ASSAY_OK;
    if (in->n_items != 1)
        st = assay__buf_puts(out, "one of ");
    for (size_t i = 0; i < in->n_items && i < max_items && st == ASSAY_OK;
         i++) {
        if (i)
            st = assay__buf_puts(out, ", ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out, in->items[i].s, in->items[i].len,
                                     bytes);
    }
    if (st == ASSAY_OK && in->n_items > max_items)
        st = assay__buf_printf(out, " (and %zu more)",
                               in->n_items - max_items);
    if (st == ASSAY_OK && !in->n_items)
        st = assay__buf_puts(out, "(no reference)");
    return st;
}
