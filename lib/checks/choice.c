/*
 * checks/choice.c - the `choice` check: which option of a multiple-choice
 * question a free-form answer picked, compared with the expected one.
 *
 * The expected value is an option letter ("B", "(B)", "b"), or, when the
 * check has `choices`, a 0-based index ("1", as MMLU's `answer` field
 * holds it) or an option's text. The options are letters A, B, C, ...:
 * as many as `choices` has, else A to J.
 *
 * The answer is read in this order, the first rule that finds an option
 * deciding:
 *   1. the whole answer is a letter, maybe dressed: "B", "b)", "(B).",
 *      "**B**";
 *   2. the last "answer is X" / "answer: X" / "final answer X" (and "the
 *      answer would be", "correct answer is"...), X maybe in brackets;
 *   3. the first "option X" or "choice X";
 *   4. an answer starting "X)", "(X)", "X." or "X:";
 *   5. the last "(X)" anywhere;
 *   6. with `choices`: the answer is an option's text, or contains exactly
 *      one option's text (ASCII case ignored).
 * In rules 2 and 3 an uppercase letter may be followed by any word
 * ("The answer is A because"), but a lowercase one only by punctuation or
 * the end, so that "the answer is a dog" picks nothing. A pick that is not
 * an option (E of four) counts as no pick.
 */
#include "checks/checks.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_OPTIONS 10 /* A to J without `choices` */
#define MAX_OPTIONS 26

typedef struct choice_state {
    assay__check_list *choices; /* NULL: letters only */
} choice_state;

typedef struct pick {
    int option; /* 0-based, -1: none */
    const char *how;
    size_t at; /* where in the answer */
} pick;

static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* The option a letter names, or -1. */
static int letter_option(char c, int n_options)
{
    int k = c >= 'a' && c <= 'z'   ? c - 'a'
            : c >= 'A' && c <= 'Z' ? c - 'A'
                                   : -1;
    return k >= 0 && k < n_options ? k : -1;
}

static bool is_dress(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '*' ||
           c == '_' || c == '`' || c == '"' || c == '\'' || c == '(' ||
           c == ')' || c == '[' || c == ']' || c == '.' || c == ':' ||
           c == ',' || c == '!';
}

/* Rule 1: the answer is one letter, with only brackets and marks around. */
static pick whole_letter(const char *s, size_t n, int n_options)
{
    size_t a = 0, b = n;
    while (a < b && is_dress(s[a]))
        a++;
    while (b > a && is_dress(s[b - 1]))
        b--;
    if (b - a == 1 && letter_option(s[a], n_options) >= 0)
        return (pick){letter_option(s[a], n_options), "the answer is a letter",
                      a};
    return (pick){-1, NULL, 0};
}

/*
 * The option letter right after a cue at s[i]: spaces, ':', '*', '(',
 * '[', quotes and the words "is", "be", "option", "choice" and "letter"
 * may come between. -1 when none.
 */
static int letter_after(const char *s, size_t n, size_t i, int n_options,
                        size_t *at)
{
    static const char *const fillers[] = {"is ", "be ", "option ", "choice ",
                                          "letter "};
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == ':' || s[i] == '*' ||
                         s[i] == '(' || s[i] == '[' || s[i] == '"' ||
                         s[i] == '\'' || s[i] == '\n' || s[i] == '\t'))
            i++;
        bool skipped = false;
        for (size_t f = 0; f < sizeof fillers / sizeof *fillers; f++) {
            size_t len = strlen(fillers[f]);
            size_t k = 0;
            while (k < len && i + k < n && lower(s[i + k]) == fillers[f][k])
                k++;
            if (k == len) {
                i += len;
                skipped = true;
                break;
            }
        }
        if (!skipped)
            break;
    }
    if (i >= n || letter_option(s[i], n_options) < 0)
        return -1;
    if (i + 1 < n && is_alnum(s[i + 1]))
        return -1; /* a word, not a letter */
    bool upper = s[i] >= 'A' && s[i] <= 'Z';
    if (s[i] == 'I' && i + 2 < n && s[i + 1] == ' ' && s[i + 2] >= 'a' &&
        s[i + 2] <= 'z')
        return -1; /* "the answer is I think B": the pronoun */
    if (!upper) {
        /* "a dog" is an article: a lowercase pick needs punctuation */
        size_t k = i + 1;
        bool ok = k >= n || s[k] == ')' || s[k] == ']' || s[k] == '.' ||
                  s[k] == ':' || s[k] == ',' || s[k] == '*' || s[k] == '"' ||
                  s[k] == '\'' || s[k] == '\n';
        if (!ok) {
            while (k < n && (s[k] == ' ' || s[k] == '\t'))
                k++;
            ok = k >= n;
        }
        if (!ok)
            return -1;
    }
    *at = i;
    return letter_option(s[i], n_options);
}

/* Occurrences of `cue` (lowercase, ASCII case ignored) with a letter after. */
static pick after_cue(const char *s, size_t n, const char *cue, bool last,
                      int n_options, const char *how)
{
    pick p = {-1, NULL, 0};
    size_t len = strlen(cue);
    for (size_t i = 0; i + len <= n; i++) {
        if (i > 0 && is_alnum(s[i - 1]))
            continue;
        size_t k = 0;
        while (k < len && lower(s[i + k]) == cue[k])
            k++;
        if (k < len)
            continue;
        size_t at;
        int option = letter_after(s, n, i + len, n_options, &at);
        if (option < 0)
            continue;
        if (p.option < 0 || last)
            p = (pick){option, how, at};
        if (!last)
            break;
    }
    return p;
}

/* Rule 2: the last of the answer cues, wherever it is. */
static pick answer_cue(const char *s, size_t n, int n_options)
{
    static const char *const cues[] = {
        "answer is",      "answer:",      "answer would be",
        "answer will be", "final answer", "answer -"};
    pick best = {-1, NULL, 0};
    for (size_t c = 0; c < sizeof cues / sizeof *cues; c++) {
        pick p = after_cue(s, n, cues[c], true, n_options,
                           "an 'answer is' statement");
        if (p.option >= 0 && (best.option < 0 || p.at > best.at))
            best = p;
    }
    return best;
}

/* Rule 3: the first "option X" or "choice X". */
static pick option_cue(const char *s, size_t n, int n_options)
{
    pick a = after_cue(s, n, "option", false, n_options, "'option X'");
    pick b = after_cue(s, n, "choice", false, n_options, "'choice X'");
    if (a.option < 0)
        return b;
    if (b.option < 0)
        return a;
    return a.at < b.at ? a : b;
}

/* Rule 4: "B) Paris", "(B) Paris", "B. Paris", "B: Paris". */
static pick leading_letter(const char *s, size_t n, int n_options)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' ||
                     s[i] == '*' || s[i] == '_'))
        i++;
    bool bracket = i < n && (s[i] == '(' || s[i] == '[');
    i += bracket;
    if (i + 1 >= n || letter_option(s[i], n_options) < 0)
        return (pick){-1, NULL, 0};
    char next = s[i + 1];
    bool closes = bracket ? next == ')' || next == ']'
                          : next == ')' || next == '.' || next == ':';
    if (!closes)
        return (pick){-1, NULL, 0};
    return (pick){letter_option(s[i], n_options), "the leading letter", i};
}

/* Rule 5: the last "(X)". */
static pick bracketed(const char *s, size_t n, int n_options)
{
    pick p = {-1, NULL, 0};
    for (size_t i = 0; i + 2 < n; i++)
        if (s[i] == '(' && s[i + 2] == ')' &&
            letter_option(s[i + 1], n_options) >= 0)
            p = (pick){letter_option(s[i + 1], n_options), "'(X)'", i + 1};
    return p;
}

/* Compares trimmed texts, ASCII case ignored. */
static bool same_text(const char *a, size_t n, const char *b, size_t m)
{
    while (n && (a[0] == ' ' || a[0] == '\n' || a[0] == '\t'))
        a++, n--;
    while (n && (a[n - 1] == ' ' || a[n - 1] == '\n' || a[n - 1] == '.' ||
                 a[n - 1] == '\t'))
        n--;
    while (m && (b[0] == ' ' || b[0] == '\n' || b[0] == '\t'))
        b++, m--;
    while (m && (b[m - 1] == ' ' || b[m - 1] == '\n' || b[m - 1] == '.' ||
                 b[m - 1] == '\t'))
        m--;
    if (n != m || n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

/* Rule 6: the answer is, or contains exactly one, option's text. */
static assay_status option_text(const char *s, size_t n,
                                const assay__text_ref *opts, int n_options,
                                pick *p)
{
    *p = (pick){-1, NULL, 0};
    for (int k = 0; k < n_options; k++)
        if (same_text(s, n, opts[k].s, opts[k].len)) {
            *p = (pick){k, "the option's text", 0};
            return ASSAY_OK;
        }
    int found = 0;
    for (int k = 0; k < n_options; k++) {
        size_t at;
        if (opts[k].len == 0)
            continue;
        assay_status st =
            assay__checks_find(s, n, opts[k].s, opts[k].len, true, &at);
        if (st != ASSAY_OK)
            return st;
        if (at != (size_t)-1) {
            found++;
            *p = (pick){k, "the one option's text it contains", at};
        }
    }
    if (found != 1)
        *p = (pick){-1, NULL, 0};
    return ASSAY_OK;
}

static assay_status extract(const char *s, size_t n,
                            const assay__text_ref *opts, int n_options, pick *p)
{
    pick (*const rules[])(const char *, size_t, int) = {
        whole_letter, answer_cue, option_cue, leading_letter, bracketed};
    for (size_t r = 0; r < sizeof rules / sizeof *rules; r++) {
        *p = rules[r](s, n, n_options);
        if (p->option >= 0)
            return ASSAY_OK;
    }
    if (opts)
        return option_text(s, n, opts, n_options, p);
    return ASSAY_OK;
}

/* The expected option from the value; -1 with a message when it is none. */
static int expected_option(const char *v, size_t len,
                           const assay__text_ref *opts, int n_options)
{
    pick p = whole_letter(v, len, n_options);
    if (p.option >= 0)
        return p.option;
    if (!opts)
        return -1;
    size_t a = 0, b = len;
    while (a < b && (v[a] == ' ' || v[a] == '\n'))
        a++;
    while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\n'))
        b--;
    if (b > a && b - a <= 2) {
        int k = 0;
        size_t i = a;
        while (i < b && v[i] >= '0' && v[i] <= '9')
            k = k * 10 + (v[i++] - '0');
        if (i == b)
            return k < n_options ? k : -1;
    }
    for (int k = 0; k < n_options; k++)
        if (same_text(v, len, opts[k].s, opts[k].len))
            return k;
    return -1;
}

/* ------------------------------------------------------------ the family */

static assay_status choice_compile(const assay__check_spec *spec, void **state,
                                   assay_error *err)
{
    choice_state *s = calloc(1, sizeof *s);
    if (!s)
        return failed(ASSAY_ERR_NOMEM, err);
    const cJSON *choices =
        spec->options
            ? cJSON_GetObjectItemCaseSensitive(spec->options, "choices")
            : NULL;
    assay_status st = ASSAY_OK;
    if (choices)
        st = assay__check_list_compile(spec->doc, choices, ASSAY__LIST_ITEMS,
                                       "'choices'", &s->choices, err);
    if (st == ASSAY_OK && !choices && spec->constant &&
        expected_option(spec->constant, spec->constant_len, NULL,
                        DEFAULT_OPTIONS) < 0)
        st = assay__doc_error(spec->doc, spec->value, false, err,
                              ASSAY_ERR_CHECK,
                              "check 'choice' expects an option letter A to "
                              "J (or 'choices' to pick from by index or "
                              "text), found '%s'",
                              spec->constant);
    if (st != ASSAY_OK) {
        free(s);
        return st;
    }
    *state = s;
    return ASSAY_OK;
}

static void choice_free(void *state)
{
    choice_state *s = state;
    if (!s)
        return;
    assay__check_list_free(s->choices);
    free(s);
}

/* "(B)" or "(B) 'Paris'" */
static assay_status put_option(assay__buf *out, int k,
                               const assay__text_ref *opts)
{
    assay_status st = assay__buf_printf(out, "(%c)", 'A' + k);
    if (st == ASSAY_OK && opts) {
        st = assay__buf_putc(out, ' ');
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out, opts[k].s, opts[k].len, 40);
    }
    return st;
}

static assay_status judge(const assay__check_input *in,
                          const assay__text_ref *opts, int n_options,
                          assay__check_finding *out, assay_error *err)
{
    int want = expected_option(in->value, in->value_len, opts, n_options);
    if (want < 0) {
        assay__buf shown;
        assay__buf_init(&shown, 0);
        assay__text_excerpt(&shown, in->value, in->value_len, 40);
        assay_status st =
            assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                         "the expected choice %s is not one of the %d options",
                         shown.data, n_options);
        assay__buf_release(&shown);
        return st;
    }
    pick got;
    assay_status st =
        extract(in->output, in->output_len, opts, n_options, &got);
    if (st != ASSAY_OK)
        return failed(st, err);
    out->pass = got.option == want;
    out->score = out->pass ? 1.0 : 0.0;
    st = assay__buf_puts(out->want, "choose ");
    if (st == ASSAY_OK)
        st = put_option(out->want, want, opts);
    if (st == ASSAY_OK && got.option >= 0) {
        st = put_option(out->found, got.option, opts);
        if (st == ASSAY_OK)
            st = assay__buf_printf(out->found, " (by %s, at offset %zu) in ",
                                   got.how, got.at);
    } else if (st == ASSAY_OK) {
        st = assay__buf_puts(out->found, "no choice in ");
    }
    if (st == ASSAY_OK)
        st = assay__text_excerpt(out->found, in->output, in->output_len,
                                 ASSAY__CHECK_EXCERPT);
    return failed(st, err);
}

static assay_status choice_run(void *state, const assay__check_input *in,
                               assay__check_finding *out, assay_error *err)
{
    const choice_state *s = state;
    if (!s->choices)
        return judge(in, NULL, DEFAULT_OPTIONS, out, err);
    assay__check_items scratch;
    assay__check_items_init(&scratch);
    const assay__text_ref *opts;
    size_t n;
    assay_status st = assay__check_list_render(
        s->choices, in->vars, in->case_id, &scratch, &opts, &n, err);
    if (st == ASSAY_OK && (n < 1 || n > MAX_OPTIONS))
        st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                          "'choices' gave %zu options; a question has 1 to "
                          "%d",
                          n, MAX_OPTIONS);
    if (st == ASSAY_OK)
        st = judge(in, opts, (int)n, out, err);
    assay__check_items_release(&scratch);
    return st;
}

static const char *const choice_options[] = {"choices", NULL};

const assay__check_family assay__checks_choice = {
    .name = "choice",
    .value_is_template = true,
    .value_scalar = true,
    .options = choice_options,
    .compile = choice_compile,
    .run = choice_run,
    .free = choice_free,
};
