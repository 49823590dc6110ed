/*
 * checks/numeric.c - the `numeric` check: the number an answer ends on,
 * compared with the expected number within a tolerance.
 *
 * Which number: the first one after the last "####" (GSM8K's answer
 * marker), else the last one inside the last \boxed{...} (LaTeX answers),
 * else the last number of the answer. The expected value is read the same
 * way, so it may be a bare number or a whole worked solution.
 *
 * What a number is: an optional sign (-, +, or U+2212 when nothing
 * alphanumeric comes right before it), an optional '$', digits with
 * optional thousands commas (groups of exactly three, so "1,2,3" is three
 * numbers), an optional decimal part, an optional exponent; then maybe
 * "/" and a denominator (3/4 is 0.75; \frac{3}{4} too), and maybe a "%".
 * A sentence's final period is not a decimal point. A percentage also
 * counts as its hundredth: "45%" matches both 45 and 0.45.
 *
 * Two numbers agree as Python's math.isclose decides:
 * |a - b| <= max(rel_tol * max(|a|, |b|), abs_tol), with rel_tol 1e-9 and
 * abs_tol 0 unless the check says otherwise. Spelled-out numbers ("five")
 * are not read.
 */
#include "checks/checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct numeric_state {
    double abs_tol;
    double rel_tol;
} numeric_state;

typedef struct number {
    bool found;
    double value;
    bool percent;
    size_t start, end; /* where it was read */
    const char *how;   /* "after '####'", "in \\boxed{}", "the last number" */
} number;

static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

/* Digits, with thousands commas only in groups of three. Returns the end. */
static size_t scan_digits(const char *s, size_t n, size_t i, char *out,
                          size_t *o, size_t room)
{
    size_t run = 0;
    while (i < n && is_digit(s[i])) {
        if (*o < room)
            out[(*o)++] = s[i];
        i++;
        run++;
    }
    /* ",ddd" continues the number only when exactly three digits follow
       and the digits before it were a group of one to three */
    while (run >= 1 && run <= 3 && i + 3 < n && s[i] == ',' &&
           is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
           !(i + 4 < n && is_digit(s[i + 4]))) {
        for (size_t k = 1; k <= 3; k++)
            if (*o < room)
                out[(*o)++] = s[i + k];
        i += 4;
        run = 3;
    }
    return i;
}

/*
 * Reads an unsigned decimal at s[i] ("1,234.5e3", ".5") into *v; returns
 * the end, or i when there is none.
 */
static size_t scan_decimal(const char *s, size_t n, size_t i, double *v)
{
    char buf[128];
    size_t o = 0;
    size_t j = scan_digits(s, n, i, buf, &o, sizeof buf - 8);
    bool int_part = j > i;
    if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1])) {
        buf[o++] = '.';
        j++;
        while (j < n && is_digit(s[j])) {
            if (o < sizeof buf - 8)
                buf[o++] = s[j];
            j++;
        }
    } else if (!int_part) {
        return i;
    }
    if (j + 1 < n && (s[j] == 'e' || s[j] == 'E')) { /* an exponent */
        size_t k = j + 1;
        if (k < n && (s[k] == '+' || s[k] == '-'))
            k++;
        if (k < n && is_digit(s[k])) {
            size_t e = k;
            while (e < n && is_digit(s[e]))
                e++;
            if (e == n || !is_alnum(s[e])) { /* "2e5", not "3eggs" */
                if (o + (e - j) < sizeof buf - 1) {
                    memcpy(buf + o, s + j, e - j);
                    o += e - j;
                }
                j = e;
            }
        }
    }
    buf[o] = '\0';
    /* strtod follows the locale's decimal point: parse by hand instead */
    double whole = 0, frac = 0, scale = 1;
    size_t p = 0;
    for (; buf[p] && buf[p] != '.' && buf[p] != 'e' && buf[p] != 'E'; p++)
        whole = whole * 10 + (buf[p] - '0');
    if (buf[p] == '.')
        for (p++; is_digit(buf[p]); p++) {
            scale /= 10;
            frac += (buf[p] - '0') * scale;
        }
    double value = whole + frac;
    if (buf[p] == 'e' || buf[p] == 'E') {
        p++;
        int sign = 1, exp = 0;
        if (buf[p] == '+' || buf[p] == '-')
            sign = buf[p++] == '-' ? -1 : 1;
        for (; is_digit(buf[p]) && exp < 10000; p++)
            exp = exp * 10 + (buf[p] - '0');
        value *= pow(10, sign * exp);
    }
    *v = value;
    return j;
}

/* The sign written just before s[i] (and a '$'), or none. */
static size_t scan_sign(const char *s, size_t i, double *sign)
{
    *sign = 1;
    size_t at = i;
    if (at > 0 && s[at - 1] == '$')
        at--;
    size_t k = 0;
    if (at > 0 && (s[at - 1] == '-' || s[at - 1] == '+'))
        k = 1;
    else if (at >= 3 && !memcmp(s + at - 3, "\xE2\x88\x92", 3)) /* U+2212 */
        k = 3;
    if (k == 0)
        return i;
    /* "3-5" is a range and "x-1" an expression, not negative numbers */
    if (at - k > 0 && (is_alnum(s[at - k - 1]) || s[at - k - 1] == ')'))
        return i;
    if (s[at - 1] == '-' || k == 3)
        *sign = -1;
    return at - k;
}

/*
 * The numbers of s[from, to), calling `take` for each; a fraction a/b
 * and \frac{a}{b} are one number.
 */
typedef void (*take_fn)(const number *num, void *user);

static void scan_numbers(const char *s, size_t from, size_t to, take_fn take,
                         void *user)
{
    size_t i = from;
    while (i < to) {
        bool frac_cmd = false;
        size_t cmd = i;
        if (s[i] == '\\') {
            static const char *const fracs[] = {"\\frac{", "\\dfrac{",
                                                "\\tfrac{"};
            for (size_t f = 0; f < 3 && !frac_cmd; f++) {
                size_t len = strlen(fracs[f]);
                if (i + len <= to && !memcmp(s + i, fracs[f], len)) {
                    frac_cmd = true;
                    i += len;
                }
            }
        }
        bool starts =
            i < to && (is_digit(s[i]) ||
                       (s[i] == '.' && i + 1 < to && is_digit(s[i + 1]) &&
                        !(i > from && is_digit(s[i - 1]))));
        if (!starts) {
            i += frac_cmd ? 0 : 1;
            continue;
        }
        /* a digit right after other digits was part of them */
        double sign;
        size_t start = scan_sign(s, frac_cmd ? cmd : i, &sign);
        double v = 0; /* scan_decimal sets it only when it finds a number */
        size_t end = scan_decimal(s, to, i, &v);
        number num = {.found = true, .start = start};
        if (frac_cmd) {
            double d = 0; /* scan_decimal sets it only when it finds one */
            size_t den;
            if (end + 1 < to && s[end] == '}' && s[end + 1] == '{' &&
                (den = scan_decimal(s, to, end + 2, &d)) > end + 2 &&
                den < to && s[den] == '}' && d != 0) {
                v /= d;
                end = den + 1;
            }
        } else if (end + 1 < to && s[end] == '/' && is_digit(s[end + 1])) {
            double d = 0; /* scan_decimal sets it only when it finds one */
            size_t den = scan_decimal(s, to, end + 1, &d);
            if (d != 0) {
                v /= d;
                end = den;
            }
        }
        size_t pct = end;
        while (pct < to && s[pct] == ' ')
            pct++;
        if (pct < to && s[pct] == '%') {
            num.percent = true;
            end = pct + 1;
        }
        num.value = sign * v;
        num.end = end;
        take(&num, user);
        i = end > i ? end : i + 1;
    }
}

static void take_last(const number *num, void *user)
{
    *(number *)user = *num;
}

static void take_first(const number *num, void *user)
{
    number *first = user;
    if (!first->found)
        *first = *num;
}

/* The end of the \boxed{...} whose content starts at `i`, or (size_t)-1. */
static size_t boxed_end(const char *s, size_t n, size_t i)
{
    int depth = 1;
    for (; i < n; i++) {
        depth += s[i] == '{';
        depth -= s[i] == '}';
        if (depth == 0)
            return i;
    }
    return (size_t)-1;
}

/* The number an answer gives, by the rules at the top of this file. */
static number final_number(const char *s, size_t n)
{
    number num = {0};
    size_t marker = (size_t)-1, at;
    for (size_t from = 0; assay__checks_find(s + from, n - from, "####", 4,
                                             false, &at) == ASSAY_OK &&
                          at != (size_t)-1;
         from += at + 4)
        marker = from + at;
    if (marker != (size_t)-1) {
        scan_numbers(s, marker + 4, n, take_first, &num);
        num.how = "after '####'";
        return num;
    }
    size_t boxed = (size_t)-1;
    for (size_t from = 0; assay__checks_find(s + from, n - from, "\\boxed{", 7,
                                             false, &at) == ASSAY_OK &&
                          at != (size_t)-1;
         from += at + 7)
        boxed = from + at + 7;
    size_t end;
    if (boxed != (size_t)-1 && (end = boxed_end(s, n, boxed)) != (size_t)-1) {
        scan_numbers(s, boxed, end, take_last, &num);
        num.how = "in \\boxed{}";
        if (num.found)
            return num;
    }
    scan_numbers(s, 0, n, take_last, &num);
    num.how = "the last number";
    return num;
}

static bool close_enough(const numeric_state *t, double a, double b)
{
    if (a == b)
        return true;
    double diff = fabs(a - b);
    double big = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return diff <= t->rel_tol * big || diff <= t->abs_tol;
}

/* Whether got and want agree, a percentage also read as its hundredth. */
static bool agree(const numeric_state *t, const number *got, const number *want)
{
    for (int g = 0; g <= (int)got->percent; g++)
        for (int w = 0; w <= (int)want->percent; w++)
            if (close_enough(t, got->value / (g ? 100 : 1),
                             want->value / (w ? 100 : 1)))
                return true;
    return false;
}

/* ------------------------------------------------------------ the family */

static assay_status read_tol(const assay__check_spec *spec, const char *key,
                             double *out, assay_error *err)
{
    const cJSON *node =
        spec->options ? cJSON_GetObjectItemCaseSensitive(spec->options, key)
                      : NULL;
    if (!node)
        return ASSAY_OK;
    if (!cJSON_IsNumber(node) || !(node->valuedouble >= 0) ||
        isinf(node->valuedouble))
        return assay__doc_error(spec->doc, node, false, err, ASSAY_ERR_CHECK,
                                "'%s' must be a number >= 0", key);
    *out = node->valuedouble;
    return ASSAY_OK;
}

static assay_status numeric_compile(const assay__check_spec *spec, void **state,
                                    assay_error *err)
{
    numeric_state t = {.abs_tol = 0, .rel_tol = 1e-9};
    assay_status st = read_tol(spec, "abs_tol", &t.abs_tol, err);
    if (st == ASSAY_OK)
        st = read_tol(spec, "rel_tol", &t.rel_tol, err);
    if (st == ASSAY_OK && spec->constant &&
        !final_number(spec->constant, spec->constant_len).found)
        st = assay__doc_error(spec->doc, spec->value, false, err,
                              ASSAY_ERR_CHECK,
                              "check 'numeric' expects a number, found no "
                              "number in '%s'",
                              spec->constant);
    if (st != ASSAY_OK)
        return st;
    numeric_state *s = malloc(sizeof *s);
    if (!s)
        return failed(ASSAY_ERR_NOMEM, err);
    *s = t;
    *state = s;
    return ASSAY_OK;
}

static void numeric_free(void *state)
{
    free(state);
}

static assay_status put_tolerance(assay__buf *out, const numeric_state *t)
{
    assay_status st = ASSAY_OK;
    if (t->abs_tol > 0) {
        st = assay__buf_puts(out, " within ");
        if (st == ASSAY_OK)
            st = assay__checks_put_number(out, t->abs_tol, 12);
    }
    if (st == ASSAY_OK && t->rel_tol > 1e-9) {
        st = assay__buf_puts(out, t->abs_tol > 0 ? " or " : " within ");
        if (st == ASSAY_OK)
            st = assay__checks_put_number(out, t->rel_tol * 100, 9);
        if (st == ASSAY_OK)
            st = assay__buf_putc(out, '%');
    }
    return st;
}

static assay_status numeric_run(void *state, const assay__check_input *in,
                                assay__check_finding *out, assay_error *err)
{
    const numeric_state *t = state;
    number want = final_number(in->value, in->value_len);
    if (!want.found) {
        assay__buf shown;
        assay__buf_init(&shown, 0);
        assay__text_excerpt(&shown, in->value, in->value_len,
                            ASSAY__CHECK_EXCERPT);
        assay_status st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                                       "the expected value %s holds no "
                                       "number",
                                       shown.data);
        assay__buf_release(&shown);
        return st;
    }
    number got = final_number(in->output, in->output_len);
    out->pass = got.found && agree(t, &got, &want);
    out->score = out->pass ? 1.0 : 0.0;

    assay_status st = assay__buf_puts(out->want, "give the number ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->want, want.value, 12);
    if (st == ASSAY_OK && want.percent)
        st = assay__buf_putc(out->want, '%');
    if (st == ASSAY_OK)
        st = put_tolerance(out->want, t);
    if (st == ASSAY_OK && got.found) {
        st = assay__checks_put_number(out->found, got.value, 12);
        if (st == ASSAY_OK && got.percent)
            st = assay__buf_putc(out->found, '%');
        if (st == ASSAY_OK)
            st = assay__buf_printf(out->found, " (%s, ", got.how);
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->found, in->output + got.start,
                                     got.end - got.start, ASSAY__CHECK_EXCERPT);
        if (st == ASSAY_OK)
            st = assay__buf_printf(out->found, " at offset %zu)", got.start);
    } else if (st == ASSAY_OK) {
        st = assay__buf_puts(out->found, "no number in ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->found, in->output, in->output_len,
                                     ASSAY__CHECK_EXCERPT);
    }
    return failed(st, err);
}

static const char *const numeric_options[] = {"abs_tol", "rel_tol", NULL};

const assay__check_family assay__checks_numeric = {
    .name = "numeric",
    .value_is_template = true,
    .value_scalar = true,
    .options = numeric_options,
    .compile = numeric_compile,
    .run = numeric_run,
    .free = numeric_free,
};

bool assay__numeric_final(const char *s, size_t n, double *value, bool *percent)
{
    number num = final_number(s, n);
    *value = num.value;
    *percent = num.percent;
    return num.found;
}
