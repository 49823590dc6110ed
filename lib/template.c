/*
 * template.c - the prompt and check-value templates.
 *
 * A template is compiled once into a flat list of nodes (literal text,
 * variables with their filters, `#if` branches and `#each` loops, each block
 * knowing where its body ends), plus side tables of path segments, filters
 * and condition terms. Rendering walks the nodes and appends to the caller's
 * buffer; it allocates nothing of its own except for the `json` filter over
 * text that an earlier filter already produced, and the lists that
 * `shuffle` and `keys` make (freed once the tag is rendered).
 *
 * Syntax (docs/suites.md is the reference):
 *  - `{{name}}`, `{{ a.b.c }}`, `{{items.0}}`: a field of the case; objects
 *    by member name, arrays by index from 0. A name is segments of letters,
 *    digits, `_` and `-`, joined by single dots.
 *  - `{{ name | upper | join(", ") | default("none") }}`: filters, applied
 *    left to right: upper, lower, trim, json, join(sep), default(text),
 *    shuffle (a list or object in an order drawn from the case id: the
 *    same for every rendering of the case), keys (an object's member
 *    names) and letter (0 as A, 1 as B, ...).
 *  - `{{#each list | filters}}...{{else}}...{{/each}}`: once per item of an
 *    array or member of an object; the `else` part when it is empty. Inside,
 *    `{{.}}` or `{{this}}` is the item, `{{@index}}` counts from 0,
 *    `{{@key}}` is the member's name, `{{@first}}` and `{{@last}}` are
 *    booleans, and a name is looked up in the item first, then outwards.
 *  - `{{#if cond}}...{{else if cond}}...{{else}}...{{/if}}`, where a
 *    condition is a name or a literal, optionally compared with `==` or `!=`,
 *    negated with `not`, and joined with `and` / `or`. A missing variable in
 *    a condition is false, never an error: that is what `#if` is for.
 *  - `{{! comment }}` and `{{!-- comment that may hold }} --}}`.
 *  - Escaping: only `{{` starts a tag, and `{{{{` is a literal `{{`.
 *  - A line that holds nothing but one block tag (`#each`, `#if`, `else`,
 *    `/each`, `/if`) or comment, and blanks, is left out entirely, newline
 *    included, so that loops can be laid out one tag per line.
 *
 * Values: strings are inserted as they are; numbers in the shortest form
 * that reads back to the same double, integers without a fraction, the same
 * in every locale, with `inf`, `-inf` and `nan` for the values JSON lacks;
 * true and false as words; null as `null` (never as an empty string, which
 * would hide a missing answer key); objects and arrays as compact JSON. A
 * variable that the case lacks is an error naming the case, the variable and
 * the fields the case does have, unless a `default` filter stands in.
 *
 * What this file does not do: escaping for a target language (HTML, shell),
 * arithmetic, or user-defined filters. Templates fill in text; they are not
 * a program.
 */
#include "internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many of the case's fields a "not defined" message lists. */
#define TPL_LIST_KEYS 10
/* How much of a bad name a compile error quotes. */
#define TPL_QUOTE_MAX 60
/* Nesting of a value printed as JSON (cJSON's parser stops at 1000). */
#define TPL_JSON_DEPTH 1000
/* Blocks nested in blocks, and terms in one condition. */
#define TPL_MAX_DEPTH 32
#define TPL_MAX_TERMS 64
#define NONE ((size_t)-1)

/* ------------------------------------------------------------ the code */

typedef struct tpl_seg {
    size_t name; /* offset of the NUL-terminated segment in `store` */
    size_t len;
    int index; /* the segment as an array index; -1 when not digits */
} tpl_seg;

enum tpl_special { SP_NONE, SP_THIS, SP_INDEX, SP_KEY, SP_FIRST, SP_LAST };

/* A variable reference: a dotted path, or one of the loop's names. */
typedef struct tpl_path {
    size_t text; /* the name as written, NUL-terminated in `store` */
    size_t seg;  /* first segment */
    size_t nseg;
    enum tpl_special special;
} tpl_path;

enum tpl_filter_kind {
    F_UPPER,
    F_LOWER,
    F_TRIM,
    F_JSON,
    F_JOIN,
    F_DEFAULT,
    F_SHUFFLE,
    F_KEYS,
    F_LETTER
};

typedef struct tpl_filter {
    enum tpl_filter_kind kind;
    size_t arg; /* offset of the argument in `store` */
    size_t arg_len;
} tpl_filter;

enum tpl_term_kind {
    T_PATH,
    T_STRING,
    T_NUMBER,
    T_TRUE,
    T_FALSE,
    T_NULL,
    T_NOT,
    T_AND,
    T_OR,
    T_EQ,
    T_NE
};

/* A condition as a tree: operands are leaves, operators point at terms. */
typedef struct tpl_term {
    enum tpl_term_kind kind;
    size_t a, b;      /* operators: the operand terms */
    tpl_path path;    /* T_PATH */
    size_t text, len; /* T_STRING: the literal in `store` */
    double number;    /* T_NUMBER */
} tpl_term;

enum tpl_node_kind { N_TEXT, N_VAR, N_IF, N_ELSE, N_EACH };

typedef struct tpl_node {
    enum tpl_node_kind kind;
    size_t text, len;     /* N_TEXT */
    tpl_path path;        /* N_VAR, N_EACH */
    size_t filter, nfilter; /* N_VAR */
    size_t cond;          /* N_IF, N_ELSE: root term, NONE for a bare else */
    size_t end;           /* blocks: where this branch's body ends */
    size_t alt;           /* blocks: the next branch (else), or NONE */
    size_t next;          /* N_IF, N_EACH: the node after the whole block */
} tpl_node;

struct assay__template {
    char *store; /* literal runs, names, segments and filter arguments */
    tpl_node *nodes;
    size_t nnodes;
    tpl_seg *segs;
    size_t nsegs;
    tpl_filter *filters;
    size_t nfilters;
    tpl_term *terms;
    size_t nterms;
    bool has_vars;
};

/* ------------------------------------------------------------ compile */

typedef struct tpl_open {
    size_t head;   /* the #if or #each node */
    size_t branch; /* the branch whose body is being read */
    size_t at;     /* where the opening tag is in the text, for errors */
} tpl_open;

typedef struct tpl_builder {
    const char *text;
    const char *where;
    assay_error *err;
    assay__buf store;
    tpl_node *nodes;
    size_t nnodes, nodes_cap;
    tpl_seg *segs;
    size_t nsegs, segs_cap;
    tpl_filter *filters;
    size_t nfilters, filters_cap;
    tpl_term *terms;
    size_t nterms, terms_cap;
    tpl_open open[TPL_MAX_DEPTH];
    size_t depth;
    size_t literal; /* where the current literal run starts in `store` */
    bool has_vars;
} tpl_builder;

static bool grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = realloc(*items, c * size);
    if (!p)
        return false;
    *items = p;
    *cap = c;
    return true;
}

/* One push function per table, so that no pointer is type-punned. */
static bool push_node(tpl_builder *b, tpl_node item)
{
    void *items = b->nodes;
    if (!grow(&items, &b->nodes_cap, b->nnodes, sizeof item))
        return false;
    b->nodes = items;
    b->nodes[b->nnodes++] = item;
    return true;
}

static bool push_seg(tpl_builder *b, tpl_seg item)
{
    void *items = b->segs;
    if (!grow(&items, &b->segs_cap, b->nsegs, sizeof item))
        return false;
    b->segs = items;
    b->segs[b->nsegs++] = item;
    return true;
}

static bool push_filter(tpl_builder *b, tpl_filter item)
{
    void *items = b->filters;
    if (!grow(&items, &b->filters_cap, b->nfilters, sizeof item))
        return false;
    b->filters = items;
    b->filters[b->nfilters++] = item;
    return true;
}

static bool push_term(tpl_builder *b, tpl_term item)
{
    void *items = b->terms;
    if (!grow(&items, &b->terms_cap, b->nterms, sizeof item))
        return false;
    b->terms = items;
    b->terms[b->nterms++] = item;
    return true;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The line and column (in characters, from 1) of text[at]. */
static void text_pos(const char *text, size_t at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            if (*line < INT_MAX)
                (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80 && *col < INT_MAX) {
            (*col)++;
        }
    }
}

/* `s` quoted on one line, cut at a character boundary. */
static void quote_name(char *out, const char *s, size_t n)
{
    bool cut = n > TPL_QUOTE_MAX;
    if (cut) {
        n = TPL_QUOTE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    memcpy(out + n, cut ? "..." : "", cut ? 4 : 1);
}

/* A compile error about the tag at text[at]:
   "WHERE: what at column N of the template tail". */
static assay_status report(tpl_builder *b, size_t at, const char *what,
                           const char *tail)
{
    int line, col;
    text_pos(b->text, at, &line, &col);
    char place[96];
    if (line > 1)
        snprintf(place, sizeof place, "at line %d, column %d of the template",
                 line, col);
    else
        snprintf(place, sizeof place, "at column %d of the template", col);
    if (b->where && *b->where)
        return assay__error(b->err, ASSAY_ERR_TEMPLATE, NULL, 0, 0,
                            "%s: %s %s%s", b->where, what, place, tail);
    return assay__error(b->err, ASSAY_ERR_TEMPLATE, NULL, 0, 0, "%s %s%s",
                        what, place, tail);
}

static assay_status fail_at(tpl_builder *b, size_t at, const char *fmt, ...)
    ASSAY__PRINTF(3, 4);
static assay_status fail_at(tpl_builder *b, size_t at, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return report(b, at, what, "");
}

static assay_status nomem(tpl_builder *b)
{
    return assay__error(b->err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                        "out of memory compiling a template");
}

/* Appends `s` NUL-terminated to the store; its offset in *off. */
static bool store_string(tpl_builder *b, const char *s, size_t n, size_t *off)
{
    *off = b->store.len;
    return assay__buf_append(&b->store, s, n) == ASSAY_OK &&
           assay__buf_putc(&b->store, '\0') == ASSAY_OK;
}

/* Ends the literal run that started at store offset b->literal, if any. */
static bool close_literal(tpl_builder *b)
{
    size_t start = b->literal;
    if (b->store.len == start)
        return true;
    tpl_node n = {.kind = N_TEXT, .text = start, .len = b->store.len - start};
    return push_node(b, n);
}

/* Starts a new literal run after what the store holds now. */
static void open_literal(tpl_builder *b)
{
    b->literal = b->store.len;
}

/* ---- a tiny scanner over the inside of one tag */

typedef struct tpl_scan {
    const char *p;   /* next character */
    const char *end; /* the closing braces */
    size_t base;     /* offset of the tag in the text, for errors */
} tpl_scan;

static void skip_blanks(tpl_scan *s)
{
    while (s->p < s->end && is_space(*s->p))
        s->p++;
}

static bool at_word(tpl_scan *s, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(s->end - s->p) >= n && !strncmp(s->p, word, n) &&
           (s->p + n == s->end || !is_name_char(s->p[n]));
}

/* The extent of a name: letters, digits, '_', '-', '.', '@'. */
static size_t name_span(const tpl_scan *s)
{
    const char *q = s->p;
    while (q < s->end && (is_name_char(*q) || *q == '.' || *q == '@'))
        q++;
    return (size_t)(q - s->p);
}

/* Checks and stores a path; *bad set when the name is not valid. */
static bool add_path(tpl_builder *b, const char *name, size_t len,
                     tpl_path *out, bool *bad)
{
    *bad = false;
    memset(out, 0, sizeof *out);
    static const struct {
        const char *name;
        enum tpl_special special;
    } specials[] = {{".", SP_THIS},        {"this", SP_THIS},
                    {"@index", SP_INDEX},  {"@key", SP_KEY},
                    {"@first", SP_FIRST},  {"@last", SP_LAST}};
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++)
        if (strlen(specials[i].name) == len &&
            !strncmp(specials[i].name, name, len)) {
            out->special = specials[i].special;
            return store_string(b, name, len, &out->text);
        }
    /* `this.x` reaches into the item explicitly. */
    size_t from = 0;
    if (len > 5 && !strncmp(name, "this.", 5)) {
        out->special = SP_THIS;
        from = 5;
    }
    if (len == from || name[from] == '.' || name[len - 1] == '.') {
        *bad = true;
        return false;
    }
    for (size_t i = from; i < len; i++)
        if (name[i] == '.' ? name[i + 1] == '.' : !is_name_char(name[i])) {
            *bad = true;
            return false;
        }
    if (!store_string(b, name, len, &out->text))
        return false;
    out->seg = b->nsegs;
    for (size_t i = from; i < len;) {
        size_t j = i;
        while (j < len && name[j] != '.')
            j++;
        tpl_seg seg = {0, j - i, 0};
        if (!store_string(b, name + i, j - i, &seg.name))
            return false;
        for (size_t k = i; k < j && seg.index >= 0; k++) {
            if (name[k] < '0' || name[k] > '9')
                seg.index = -1;
            else if (seg.index > (INT_MAX - 9) / 10)
                seg.index = INT_MAX; /* no array is that long */
            else
                seg.index = seg.index * 10 + (name[k] - '0');
        }
        if (!push_seg(b, seg))
            return false;
        i = j + 1;
    }
    out->nseg = b->nsegs - out->seg;
    return true;
}

static assay_status invalid_name(tpl_builder *b, size_t at, const char *name,
                                 size_t len)
{
    char quoted[TPL_QUOTE_MAX + 4];
    quote_name(quoted, name, len);
    char what[TPL_QUOTE_MAX + 64];
    snprintf(what, sizeof what, "invalid variable name '%s'", quoted);
    return report(b, at, what,
                  " (a name is letters, digits, '_' and '-', with '.' "
                  "between parts, as in {{item.answer}})");
}

/* Reads a path at the scanner; errors are reported. */
static assay_status scan_path(tpl_builder *b, tpl_scan *s, tpl_path *out)
{
    size_t n = name_span(s);
    if (n == 0) {
        size_t rest = (size_t)(s->end - s->p);
        return invalid_name(b, s->base, s->p, rest);
    }
    bool bad;
    if (!add_path(b, s->p, n, out, &bad))
        return bad ? invalid_name(b, s->base, s->p, n) : nomem(b);
    s->p += n;
    return ASSAY_OK;
}

/* A quoted literal: "..." or '...', with \" \' \\ \n \t escapes. */
static assay_status scan_string(tpl_builder *b, tpl_scan *s, size_t *off,
                                size_t *len)
{
    char quote = *s->p++;
    size_t start = b->store.len;
    while (s->p < s->end && *s->p != quote) {
        char c = *s->p++;
        if (c == '\\' && s->p < s->end) {
            c = *s->p++;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        if (assay__buf_putc(&b->store, c) != ASSAY_OK)
            return nomem(b);
    }
    if (s->p >= s->end)
        return fail_at(b, s->base, "unterminated %c...%c text", quote, quote);
    s->p++;
    *off = start;
    *len = b->store.len - start;
    return assay__buf_putc(&b->store, '\0') == ASSAY_OK ? ASSAY_OK : nomem(b);
}

static const struct {
    const char *name;
    enum tpl_filter_kind kind;
    bool takes_text;
} filter_table[] = {
    {"upper", F_UPPER, false},     {"lower", F_LOWER, false},
    {"trim", F_TRIM, false},       {"json", F_JSON, false},
    {"join", F_JOIN, true},        {"default", F_DEFAULT, true},
    {"shuffle", F_SHUFFLE, false}, {"keys", F_KEYS, false},
    {"letter", F_LETTER, false},
};
#define N_FILTERS (sizeof filter_table / sizeof *filter_table)

static assay_status scan_filter(tpl_builder *b, tpl_scan *s)
{
    skip_blanks(s);
    size_t n = 0;
    while (s->p + n < s->end && is_name_char(s->p[n]))
        n++;
    size_t which = N_FILTERS;
    for (size_t i = 0; i < N_FILTERS; i++)
        if (strlen(filter_table[i].name) == n &&
            !strncmp(filter_table[i].name, s->p, n))
            which = i;
    if (which == N_FILTERS) {
        char quoted[TPL_QUOTE_MAX + 4];
        quote_name(quoted, s->p, n ? n : (size_t)(s->end - s->p));
        return fail_at(b, s->base,
                       "unknown filter '%s' (the filters are upper, lower, "
                       "trim, json, join(\", \"), default(\"...\"), shuffle, "
                       "keys and letter)",
                       quoted);
    }
    s->p += n;
    tpl_filter f = {filter_table[which].kind, 0, 0};
    skip_blanks(s);
    if (filter_table[which].takes_text) {
        if (s->p >= s->end || *s->p != '(')
            return fail_at(b, s->base, "filter '%s' takes a text, as in %s",
                           filter_table[which].name,
                           f.kind == F_JOIN ? "join(\", \")"
                                            : "default(\"none\")");
        s->p++;
        skip_blanks(s);
        if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
            return fail_at(b, s->base, "filter '%s' takes a quoted text",
                           filter_table[which].name);
        assay_status st = scan_string(b, s, &f.arg, &f.arg_len);
        if (st != ASSAY_OK)
            return st;
        skip_blanks(s);
        if (s->p >= s->end || *s->p != ')')
            return fail_at(b, s->base, "missing ')' after the text of "
                                       "filter '%s'",
                           filter_table[which].name);
        s->p++;
    }
    return push_filter(b, f) ? ASSAY_OK : nomem(b);
}

/* The `| filter | filter(...)` after a name, up to the end of the tag;
   text that is not a filter is `bad` (no message yet). */
static assay_status scan_filters(tpl_builder *b, tpl_scan *s, tpl_node *n,
                                 bool *bad)
{
    *bad = false;
    n->filter = b->nfilters;
    for (;;) {
        skip_blanks(s);
        if (s->p >= s->end)
            break;
        if (*s->p != '|') {
            *bad = true;
            return ASSAY_ERR_TEMPLATE;
        }
        s->p++;
        assay_status st = scan_filter(b, s);
        if (st != ASSAY_OK)
            return st;
    }
    n->nfilter = b->nfilters - n->filter;
    return ASSAY_OK;
}

/* `name | filter | filter(...)` */
static assay_status compile_var(tpl_builder *b, tpl_scan *s)
{
    tpl_node n = {.kind = N_VAR};
    const char *start = s->p;
    assay_status st = scan_path(b, s, &n.path);
    bool bad = false;
    if (st == ASSAY_OK)
        st = scan_filters(b, s, &n, &bad);
    if (bad)
        return invalid_name(b, s->base, start, (size_t)(s->end - start));
    if (st != ASSAY_OK)
        return st;
    b->has_vars = true;
    return push_node(b, n) ? ASSAY_OK : nomem(b);
}

/* ---- conditions: or_expr := and_expr ('or' and_expr)* ... */

static assay_status add_term(tpl_builder *b, tpl_term t, size_t *out)
{
    if (b->nterms >= TPL_MAX_TERMS * TPL_MAX_DEPTH)
        return fail_at(b, 0, "too many conditions in one template");
    *out = b->nterms;
    return push_term(b, t) ? ASSAY_OK : nomem(b);
}

static assay_status scan_operand(tpl_builder *b, tpl_scan *s, size_t *out)
{
    skip_blanks(s);
    tpl_term t;
    memset(&t, 0, sizeof t);
    if (s->p >= s->end)
        return fail_at(b, s->base, "a condition is missing a value");
    if (*s->p == '"' || *s->p == '\'') {
        t.kind = T_STRING;
        assay_status st = scan_string(b, s, &t.text, &t.len);
        if (st != ASSAY_OK)
            return st;
    } else if ((*s->p >= '0' && *s->p <= '9') || *s->p == '-') {
        char buf[64];
        size_t n = 0;
        while (s->p + n < s->end && n + 1 < sizeof buf &&
               strchr("0123456789.-+eE", s->p[n]))
            n++;
        memcpy(buf, s->p, n);
        buf[n] = '\0';
        char *stop;
        t.kind = T_NUMBER;
        t.number = strtod(buf, &stop);
        if (stop != buf + n || n == 0)
            return fail_at(b, s->base, "'%s' is not a number", buf);
        s->p += n;
    } else if (at_word(s, "true") || at_word(s, "false") ||
               at_word(s, "null")) {
        t.kind = *s->p == 't' ? T_TRUE : *s->p == 'f' ? T_FALSE : T_NULL;
        s->p += *s->p == 'f' ? 5 : 4;
    } else {
        t.kind = T_PATH;
        assay_status st = scan_path(b, s, &t.path);
        if (st != ASSAY_OK)
            return st;
        b->has_vars = true;
    }
    return add_term(b, t, out);
}

static assay_status scan_compare(tpl_builder *b, tpl_scan *s, size_t *out)
{
    skip_blanks(s);
    if (at_word(s, "not")) {
        s->p += 3;
        size_t a;
        assay_status st = scan_compare(b, s, &a);
        return st == ASSAY_OK
                   ? add_term(b, (tpl_term){.kind = T_NOT, .a = a}, out)
                   : st;
    }
    size_t a = 0;
    assay_status st = scan_operand(b, s, &a);
    if (st != ASSAY_OK)
        return st;
    skip_blanks(s);
    if (s->end - s->p >= 2 && (!strncmp(s->p, "==", 2) ||
                               !strncmp(s->p, "!=", 2))) {
        enum tpl_term_kind kind = s->p[0] == '=' ? T_EQ : T_NE;
        s->p += 2;
        size_t c;
        st = scan_operand(b, s, &c);
        if (st != ASSAY_OK)
            return st;
        return add_term(b, (tpl_term){.kind = kind, .a = a, .b = c}, out);
    }
    *out = a;
    return ASSAY_OK;
}

static assay_status scan_chain(tpl_builder *b, tpl_scan *s, size_t *out,
                               const char *word, enum tpl_term_kind kind,
                               assay_status (*inner)(tpl_builder *,
                                                     tpl_scan *, size_t *))
{
    assay_status st = inner(b, s, out);
    for (;;) {
        if (st != ASSAY_OK)
            return st;
        skip_blanks(s);
        if (!at_word(s, word))
            return ASSAY_OK;
        s->p += strlen(word);
        size_t right;
        st = inner(b, s, &right);
        if (st == ASSAY_OK)
            st = add_term(b, (tpl_term){.kind = kind, .a = *out, .b = right},
                          out);
    }
}

static assay_status scan_and(tpl_builder *b, tpl_scan *s, size_t *out)
{
    return scan_chain(b, s, out, "and", T_AND, scan_compare);
}

static assay_status scan_condition(tpl_builder *b, tpl_scan *s, size_t *out)
{
    assay_status st = scan_chain(b, s, out, "or", T_OR, scan_and);
    skip_blanks(s);
    if (st == ASSAY_OK && s->p < s->end)
        return fail_at(b, s->base,
                       "unexpected '%.*s' in a condition (a condition is "
                       "names and \"texts\" joined by ==, !=, not, and, or)",
                       (int)(s->end - s->p > 40 ? 40 : s->end - s->p), s->p);
    return st;
}

/* ---- blocks */

static const char *block_name(const tpl_builder *b, size_t head)
{
    return b->nodes[head].kind == N_EACH ? "each" : "if";
}

static assay_status open_block(tpl_builder *b, tpl_scan *s, bool each)
{
    if (b->depth >= TPL_MAX_DEPTH)
        return fail_at(b, s->base, "blocks are nested deeper than %d levels",
                       TPL_MAX_DEPTH);
    tpl_node n = {.kind = each ? N_EACH : N_IF, .cond = NONE, .alt = NONE,
                  .end = NONE, .next = NONE};
    skip_blanks(s);
    if (s->p >= s->end)
        return fail_at(b, s->base, "'{{#%s}}' needs %s", each ? "each" : "if",
                       each ? "a list, as in {{#each items}}"
                            : "a condition, as in {{#if context}}");
    assay_status st;
    if (each) {
        bool bad = false;
        st = scan_path(b, s, &n.path);
        if (st == ASSAY_OK)
            st = scan_filters(b, s, &n, &bad);
        if (bad)
            st = fail_at(b, s->base, "'{{#each}}' takes one name, maybe "
                                     "with filters, as in {{#each options "
                                     "| shuffle}}");
        b->has_vars = true;
    } else {
        st = scan_condition(b, s, &n.cond);
    }
    if (st != ASSAY_OK)
        return st;
    if (!push_node(b, n))
        return nomem(b);
    b->open[b->depth++] = (tpl_open){b->nnodes - 1, b->nnodes - 1, s->base};
    return ASSAY_OK;
}

static assay_status else_branch(tpl_builder *b, tpl_scan *s)
{
    if (b->depth == 0)
        return fail_at(b, s->base, "'{{else}}' outside of {{#if}} or "
                                   "{{#each}}");
    tpl_open *o = &b->open[b->depth - 1];
    tpl_node *branch = &b->nodes[o->branch];
    if (branch->kind == N_ELSE && branch->cond == NONE)
        return fail_at(b, s->base, "a second '{{else}}' in one block");
    tpl_node n = {.kind = N_ELSE, .cond = NONE, .alt = NONE, .end = NONE,
                  .next = NONE};
    skip_blanks(s);
    if (s->p < s->end) {
        if (!at_word(s, "if") || b->nodes[o->head].kind != N_IF)
            return fail_at(b, s->base, "'{{else}}' takes nothing, or 'if' "
                                       "and a condition inside {{#if}}");
        s->p += 2;
        assay_status st = scan_condition(b, s, &n.cond);
        if (st != ASSAY_OK)
            return st;
    }
    size_t index = b->nnodes;
    if (!push_node(b, n))
        return nomem(b);
    b->nodes[o->branch].end = index;
    b->nodes[o->branch].alt = index;
    o->branch = index;
    return ASSAY_OK;
}

static assay_status close_block(tpl_builder *b, tpl_scan *s)
{
    skip_blanks(s);
    size_t n = name_span(s);
    bool each = n == 4 && !strncmp(s->p, "each", 4);
    bool cond = n == 2 && !strncmp(s->p, "if", 2);
    if (!each && !cond)
        return fail_at(b, s->base, "'{{/%.*s}}' closes nothing: blocks end "
                                   "with {{/if}} or {{/each}}",
                       (int)(s->end - s->p > 40 ? 40 : s->end - s->p), s->p);
    if (b->depth == 0)
        return fail_at(b, s->base, "'{{/%s}}' without a matching "
                                   "'{{#%s}}'",
                       each ? "each" : "if", each ? "each" : "if");
    tpl_open *o = &b->open[b->depth - 1];
    if ((b->nodes[o->head].kind == N_EACH) != each) {
        int line, col;
        text_pos(b->text, o->at, &line, &col);
        return fail_at(b, s->base, "'{{/%s}}' closes the '{{#%s}}' opened at "
                                   "line %d, column %d",
                       each ? "each" : "if", block_name(b, o->head), line,
                       col);
    }
    b->nodes[o->branch].end = b->nnodes;
    b->nodes[o->head].next = b->nnodes;
    b->depth--;
    return ASSAY_OK;
}

/* ---- the tags */

enum tpl_tag { TAG_VAR, TAG_BLOCK, TAG_COMMENT };

/* What kind of tag the inside [p, end) is, without compiling it. */
static enum tpl_tag tag_kind(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    if (p < end && *p == '!')
        return TAG_COMMENT;
    if (p < end && (*p == '#' || *p == '/'))
        return TAG_BLOCK;
    if (end - p >= 4 && !strncmp(p, "else", 4) &&
        (end - p == 4 || !is_name_char(p[4])))
        return TAG_BLOCK;
    return TAG_VAR;
}

static assay_status compile_tag(tpl_builder *b, const char *open,
                                const char *close)
{
    tpl_scan s = {open + 2, close, (size_t)(open - b->text)};
    skip_blanks(&s);
    if (s.p >= s.end) {
        char quoted[TPL_QUOTE_MAX + 4];
        quote_name(quoted, open + 2, (size_t)(close - open - 2));
        return fail_at(b, s.base, "empty variable name in '{{%s}}'", quoted);
    }
    if (*s.p == '#') {
        s.p++;
        if (at_word(&s, "each") || at_word(&s, "if")) {
            bool each = *s.p == 'e';
            s.p += each ? 4 : 2;
            return open_block(b, &s, each);
        }
        return fail_at(b, s.base, "unknown block '{{#%.*s}}' (the blocks "
                                  "are {{#if}} and {{#each}})",
                       (int)name_span(&s), s.p);
    }
    if (*s.p == '/') {
        s.p++;
        return close_block(b, &s);
    }
    if (at_word(&s, "else")) {
        s.p += 4;
        return else_branch(b, &s);
    }
    /* Trailing blanks belong to no name. */
    while (s.end > s.p && is_space(s.end[-1]))
        s.end--;
    return compile_var(b, &s);
}

static bool is_comment(const char *open)
{
    const char *p = open + 2;
    while (is_space(*p))
        p++;
    return *p == '!';
}

/* The extent of a comment tag: `{{!-- ... --}}` may hold `}}`. */
static const char *comment_close(const char *open)
{
    const char *p = open + 2;
    while (is_space(*p))
        p++;
    if (!strncmp(p, "!--", 3)) {
        const char *end = strstr(p + 3, "--}}");
        return end ? end + 2 : NULL;
    }
    return strstr(p, "}}");
}

/*
 * When the tag [open, close+2) stands alone on its line (blanks around it),
 * drops the blanks before it from the literal and returns where the text
 * resumes after its line break; else returns close + 2.
 */
static const char *standalone(tpl_builder *b, const char *open,
                              const char *after)
{
    const char *line = open;
    while (line > b->text && (line[-1] == ' ' || line[-1] == '\t'))
        line--;
    if (line > b->text && line[-1] != '\n')
        return after;
    size_t lead = (size_t)(open - line);
    if (b->store.len - b->literal < lead)
        return after; /* the blanks were not all literal text */
    const char *p = after;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\r' && p[1] == '\n')
        p += 2;
    else if (*p == '\n')
        p++;
    else if (*p != '\0')
        return after;
    b->store.len -= lead;
    b->store.data[b->store.len] = '\0';
    return p;
}

static void builder_release(tpl_builder *b)
{
    assay__buf_release(&b->store);
    free(b->nodes);
    free(b->segs);
    free(b->filters);
    free(b->terms);
}

static assay_status compile_body(tpl_builder *b)
{
    const char *p = b->text;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open)
            return assay__buf_puts(&b->store, p) == ASSAY_OK ? ASSAY_OK
                                                             : nomem(b);
        if (assay__buf_append(&b->store, p, (size_t)(open - p)) != ASSAY_OK)
            return nomem(b);
        if (!strncmp(open, "{{{{", 4)) {
            if (assay__buf_append(&b->store, "{{", 2) != ASSAY_OK)
                return nomem(b);
            p = open + 4;
            continue;
        }
        bool comment = is_comment(open);
        const char *close = comment ? comment_close(open) : strstr(open + 2,
                                                                   "}}");
        if (!close)
            return fail_at(b, (size_t)(open - b->text), "unclosed '{{'");
        enum tpl_tag kind = comment ? TAG_COMMENT : tag_kind(open + 2, close);
        const char *after = close + 2;
        if (kind != TAG_VAR)
            after = standalone(b, open, after);
        if (kind != TAG_COMMENT) {
            if (!close_literal(b))
                return nomem(b);
            assay_status st = compile_tag(b, open, close);
            if (st != ASSAY_OK)
                return st;
            open_literal(b);
        }
        p = after;
    }
}

assay_status assay__template_compile(const char *text, const char *where,
                                     assay__template **out, assay_error *err)
{
    if (!out)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay__template_compile: out is NULL");
    *out = NULL;
    if (!text)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay__template_compile: text is NULL");

    tpl_builder b;
    memset(&b, 0, sizeof b);
    b.text = text;
    b.where = where;
    b.err = err;
    assay__buf_init(&b.store, 0);
    assay_status st = compile_body(&b);
    if (st == ASSAY_OK && b.depth > 0) {
        const tpl_open *o = &b.open[b.depth - 1];
        st = fail_at(&b, o->at, "'{{#%s}}' is never closed with '{{/%s}}'",
                     block_name(&b, o->head), block_name(&b, o->head));
    }
    if (st == ASSAY_OK && !close_literal(&b))
        st = nomem(&b);
    assay__template *t = st == ASSAY_OK ? calloc(1, sizeof *t) : NULL;
    if (st == ASSAY_OK && !t)
        st = nomem(&b);
    if (st != ASSAY_OK) {
        builder_release(&b);
        return st;
    }
    t->nodes = b.nodes;
    t->nnodes = b.nnodes;
    t->segs = b.segs;
    t->nsegs = b.nsegs;
    t->filters = b.filters;
    t->nfilters = b.nfilters;
    t->terms = b.terms;
    t->nterms = b.nterms;
    t->has_vars = b.has_vars;
    t->store = assay__buf_detach(&b.store, NULL);
    if (!t->store) {
        assay__template_free(t);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory compiling a template");
    }
    *out = t;
    return ASSAY_OK;
}

assay_status assay__template_literal(const char *text, size_t len,
                                     assay__template **out, assay_error *err)
{
    *out = NULL;
    assay__template *t = calloc(1, sizeof *t);
    tpl_node *node = calloc(1, sizeof *node);
    char *store = malloc(len + 1);
    if (!t || !node || !store) {
        free(t);
        free(node);
        free(store);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory");
    }
    memcpy(store, text, len);
    store[len] = '\0';
    *node = (tpl_node){.kind = N_TEXT, .text = 0, .len = len};
    t->store = store;
    t->nodes = node;
    t->nnodes = len ? 1 : 0;
    *out = t;
    return ASSAY_OK;
}

void assay__template_free(assay__template *t)
{
    if (!t)
        return;
    free(t->store);
    free(t->nodes);
    free(t->segs);
    free(t->filters);
    free(t->terms);
    free(t);
}

bool assay__template_is_constant(const assay__template *t)
{
    return !t->has_vars;
}

/* ------------------------------------------------------------ values */

/*
 * Integers that a double holds exactly print as plain digits; other finite
 * numbers in the shortest form that reads back exactly (text.c), which is
 * the same in every locale.
 */
static assay_status put_number(assay__buf *out, double v)
{
    if (isnan(v))
        return assay__buf_puts(out, "nan");
    if (isinf(v))
        return assay__buf_puts(out, v > 0 ? "inf" : "-inf");
    if (v == floor(v) && fabs(v) < 9007199254740992.0) /* 2^53 */
        return assay__buf_printf(out, "%.0f", v);
    return assay__text_put_double(out, v);
}

static assay_status put_json_string(assay__buf *out, const char *s)
{
    return assay__text_put_json_string(out, s, strlen(s));
}

/* Compact JSON, like cJSON_PrintUnformatted but into `out`. */
static assay_status put_json(assay__buf *out, const cJSON *v, int depth)
{
    if (depth > TPL_JSON_DEPTH)
        return ASSAY_ERR_LIMIT;
    if (cJSON_IsString(v))
        return put_json_string(out, v->valuestring ? v->valuestring : "");
    if (cJSON_IsNumber(v))
        return isfinite(v->valuedouble) ? put_number(out, v->valuedouble)
                                        : assay__buf_puts(out, "null");
    if (cJSON_IsTrue(v))
        return assay__buf_puts(out, "true");
    if (cJSON_IsFalse(v))
        return assay__buf_puts(out, "false");
    if (cJSON_IsRaw(v))
        return assay__buf_puts(out, v->valuestring ? v->valuestring : "null");
    bool object = cJSON_IsObject(v);
    if (!object && !cJSON_IsArray(v))
        return assay__buf_puts(out, "null");
    assay_status st = assay__buf_putc(out, object ? '{' : '[');
    for (const cJSON *c = v->child; c && st == ASSAY_OK; c = c->next) {
        if (c != v->child)
            st = assay__buf_putc(out, ',');
        if (st == ASSAY_OK && object) {
            st = put_json_string(out, c->string ? c->string : "");
            if (st == ASSAY_OK)
                st = assay__buf_putc(out, ':');
        }
        if (st == ASSAY_OK)
            st = put_json(out, c, depth + 1);
    }
    if (st == ASSAY_OK)
        st = assay__buf_putc(out, object ? '}' : ']');
    return st;
}

static assay_status put_value(assay__buf *out, const cJSON *v)
{
    if (cJSON_IsString(v))
        return assay__buf_puts(out, v->valuestring ? v->valuestring : "");
    if (cJSON_IsNumber(v))
        return put_number(out, v->valuedouble);
    return put_json(out, v, 0);
}

/* ------------------------------------------------------------ render */

/* One level of `#each`: the item, and the loop's own names. */
typedef struct tpl_scope {
    const cJSON *item;
    cJSON index;  /* @index, as a number that lives on the stack */
    cJSON key;    /* @key, a string borrowed from the object */
    bool first;
    bool last;
} tpl_scope;

typedef struct tpl_render {
    const assay__template *t;
    const cJSON *vars;
    const char *case_id;
    assay__buf *out;
    assay_error *err;
    tpl_scope scopes[TPL_MAX_DEPTH];
    size_t depth;
    const tpl_node *at; /* the variable being rendered, for limit errors */
    unsigned long steps; /* loop iterations so far: nested loops over a
                            few items multiply, and may print nothing */
} tpl_render;

/* Loop iterations one rendering may take before it is refused. */
#define TPL_MAX_STEPS 1000000UL

/* Where a path lookup stopped: segment `failed` is not in `parent`. */
typedef struct tpl_miss {
    size_t failed;
    const cJSON *parent;
} tpl_miss;

static const cJSON true_value = {.type = cJSON_True};
static const cJSON false_value = {.type = cJSON_False};

/* Walks segments [from, nseg) of `path` from `v`; NULL with *miss set. */
static const cJSON *walk(const assay__template *t, const tpl_path *path,
                         size_t from, const cJSON *v, tpl_miss *miss)
{
    for (size_t k = from; k < path->nseg; k++) {
        const tpl_seg *seg = &t->segs[path->seg + k];
        const cJSON *next = NULL;
        if (cJSON_IsObject(v))
            next = cJSON_GetObjectItemCaseSensitive(v, t->store + seg->name);
        else if (cJSON_IsArray(v) && seg->index >= 0)
            next = cJSON_GetArrayItem(v, seg->index);
        if (!next) {
            miss->failed = k;
            miss->parent = v;
            return NULL;
        }
        v = next;
    }
    return v;
}

/* The value of `path` in the current scopes, or NULL with *miss set. */
static const cJSON *lookup(tpl_render *r, const tpl_path *path,
                           tpl_miss *miss)
{
    const assay__template *t = r->t;
    const tpl_scope *inner = r->depth ? &r->scopes[r->depth - 1] : NULL;
    miss->failed = NONE; /* NONE: a loop name outside of a loop */
    miss->parent = NULL;
    switch (path->special) {
    case SP_NONE:
        break;
    case SP_THIS:
        return walk(t, path, 0, inner ? inner->item : r->vars, miss);
    case SP_INDEX:
        return inner ? &inner->index : NULL;
    case SP_KEY:
        return inner && inner->key.valuestring ? &inner->key : NULL;
    case SP_FIRST:
        return inner ? (inner->first ? &true_value : &false_value) : NULL;
    case SP_LAST:
        return inner ? (inner->last ? &true_value : &false_value) : NULL;
    }
    const char *first = t->store + t->segs[path->seg].name;
    for (size_t d = r->depth; d > 0; d--) {
        const cJSON *item = r->scopes[d - 1].item;
        if (!cJSON_IsObject(item))
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, first);
        if (v)
            return walk(t, path, 1, v, miss);
    }
    return walk(t, path, 0, r->vars, miss);
}

/* Appends "a, b, c" (the first TPL_LIST_KEYS keys of `obj`) to `s`. */
static void list_keys(char *s, size_t size, const cJSON *obj)
{
    size_t used = strlen(s);
    int n = 0, total = cJSON_GetArraySize(obj);
    for (const cJSON *c = obj->child; c && n < TPL_LIST_KEYS; c = c->next) {
        int w = snprintf(s + used, size - used, "%s%s", n ? ", " : "",
                         c->string ? c->string : "");
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
        n++;
    }
    if (total > n)
        snprintf(s + used, size - used, " and %d more", total - n);
}

static const char *kind_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "a list";
    return "an object";
}

static assay_status render_error(const tpl_render *r, const char *fmt, ...)
    ASSAY__PRINTF(2, 3);
static assay_status render_error(const tpl_render *r, const char *fmt, ...)
{
    char what[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (r->case_id && *r->case_id)
        return assay__error(r->err, ASSAY_ERR_TEMPLATE, NULL, 0, 0,
                            "case '%s': %s", r->case_id, what);
    return assay__error(r->err, ASSAY_ERR_TEMPLATE, NULL, 0, 0, "%s", what);
}

/* Explains why the variable `path` is missing. */
static assay_status missing(const tpl_render *r, const tpl_path *path,
                            const tpl_miss *miss)
{
    const assay__template *t = r->t;
    const char *name = t->store + path->text;
    char why[768];
    why[0] = '\0';
    if (miss->failed == NONE) {
        return render_error(r, "variable '%s' is only defined inside "
                               "{{#each}}%s",
                            name,
                            path->special == SP_KEY ? " over an object" : "");
    } else if (miss->failed == 0 && path->special == SP_NONE) {
        if (cJSON_IsObject(r->vars) && r->vars->child) {
            snprintf(why, sizeof why, "the case has: ");
            list_keys(why, sizeof why, r->vars);
        } else {
            snprintf(why, sizeof why, "the case has no fields");
        }
    } else {
        /* The path up to the parent is the start of the name. */
        const tpl_seg *seg = &t->segs[path->seg + miss->failed];
        size_t prefix = path->special == SP_THIS ? 4 : miss->failed - 1;
        for (size_t i = 0; i < miss->failed; i++)
            prefix += t->segs[path->seg + i].len +
                      (path->special == SP_THIS ? 1 : 0);
        int plen = prefix > INT_MAX ? INT_MAX : (int)prefix;
        const char *child = t->store + seg->name;
        const cJSON *parent = miss->parent;
        if (cJSON_IsObject(parent)) {
            int w = snprintf(why, sizeof why, "'%.*s' has no member '%s'", plen,
                             name, child);
            if (parent->child && w > 0 && (size_t)w < sizeof why) {
                snprintf(why + w, sizeof why - (size_t)w, "; it has: ");
                list_keys(why, sizeof why, parent);
            }
        } else if (cJSON_IsArray(parent)) {
            int size = cJSON_GetArraySize(parent);
            if (seg->index < 0)
                snprintf(why, sizeof why,
                         "'%.*s' is an array of %d item%s: use an index such "
                         "as '%.*s.0'",
                         plen, name, size, size == 1 ? "" : "s", plen, name);
            else
                snprintf(why, sizeof why, "'%.*s' has %d item%s", plen, name,
                         size, size == 1 ? "" : "s");
        } else {
            snprintf(why, sizeof why, "'%.*s' is %s", plen, name,
                     kind_name(parent));
        }
    }
    return render_error(r, "variable '%s' is not defined (%s)", name, why);
}

/* ---- filters: the value is either a JSON value or text already written */

typedef struct tpl_value {
    const cJSON *json; /* NULL: missing, or text (below) */
    bool text;         /* the value is out[start..len) */
    size_t start;
    cJSON *owned; /* a list a filter made (json points at it), or NULL */
} tpl_value;

static void value_release(tpl_value *v)
{
    cJSON_Delete(v->owned);
    v->owned = NULL;
}

static assay_status to_text(tpl_render *r, tpl_value *v)
{
    if (v->text)
        return ASSAY_OK;
    v->text = true;
    v->start = r->out->len;
    return put_value(r->out, v->json);
}

static void map_case(assay__buf *out, size_t start, bool upper)
{
    for (size_t i = start; i < out->len; i++) {
        char c = out->data[i];
        if (upper && c >= 'a' && c <= 'z')
            out->data[i] = (char)(c - 32);
        else if (!upper && c >= 'A' && c <= 'Z')
            out->data[i] = (char)(c + 32);
    }
}

static void trim_tail(assay__buf *out, size_t start)
{
    size_t a = start, z = out->len;
    while (a < z && is_space(out->data[a]))
        a++;
    while (z > a && is_space(out->data[z - 1]))
        z--;
    memmove(out->data + start, out->data + a, z - a);
    out->len = start + (z - a);
    out->data[out->len] = '\0';
}

/* The text written so far as a JSON string literal. */
static assay_status text_to_json(assay__buf *out, size_t start)
{
    size_t n = out->len - start;
    char *copy = malloc(n + 1);
    if (!copy)
        return ASSAY_ERR_NOMEM;
    memcpy(copy, out->data + start, n);
    out->len = start;
    assay_status st = assay__text_put_json_string(out, copy, n);
    free(copy);
    return st;
}

static assay_status join_list(tpl_render *r, tpl_value *v, const char *sep,
                              size_t sep_len, const tpl_path *path)
{
    if (!cJSON_IsArray(v->json))
        return render_error(r, "filter 'join' needs a list, and '%s' is %s",
                            r->t->store + path->text, kind_name(v->json));
    v->text = true;
    v->start = r->out->len;
    assay_status st = ASSAY_OK;
    for (const cJSON *c = v->json->child; c && st == ASSAY_OK; c = c->next) {
        if (c != v->json->child)
            st = assay__buf_append(r->out, sep, sep_len);
        if (st == ASSAY_OK)
            st = put_value(r->out, c);
    }
    return st;
}

/*
 * The case id as a seed (64-bit FNV-1a): every rendering of one case
 * shuffles a list of a given length the same way, so a prompt and the
 * check that scores its answer agree on the order.
 */
static uint64_t case_seed(const char *case_id)
{
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = case_id ? case_id : ""; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The value as a list of its own that a filter may reorder: the list
   itself when a filter made it, else a copy whose items refer to the
   case's. */
static assay_status own_list(tpl_value *v)
{
    if (v->owned)
        return ASSAY_OK;
    bool object = cJSON_IsObject(v->json);
    cJSON *copy = object ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!copy)
        return ASSAY_ERR_NOMEM;
    for (cJSON *c = v->json->child; c; c = c->next) {
        cJSON_bool ok = object ? cJSON_AddItemReferenceToObject(copy,
                                                                c->string, c)
                               : cJSON_AddItemReferenceToArray(copy, c);
        if (!ok) {
            cJSON_Delete(copy);
            return ASSAY_ERR_NOMEM;
        }
    }
    v->owned = copy;
    v->json = copy;
    return ASSAY_OK;
}

/* Fisher-Yates over the items of `list`, relinked in the new order. */
static assay_status permute(cJSON *list, const char *case_id)
{
    size_t n = 0;
    for (const cJSON *c = list->child; c; c = c->next)
        n++;
    if (n < 2)
        return ASSAY_OK;
    cJSON **items = malloc(n * sizeof *items);
    if (!items)
        return ASSAY_ERR_NOMEM;
    size_t i = 0;
    for (cJSON *c = list->child; c; c = c->next)
        items[i++] = c;
    assay__rng rng;
    assay__rng_seed(&rng, case_seed(case_id));
    for (i = n - 1; i > 0; i--) {
        size_t j = (size_t)assay__rng_below(&rng, (uint64_t)i + 1);
        cJSON *t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
    /* cJSON's list: `next` ends at NULL; the head's `prev` is the tail. */
    for (i = 0; i < n; i++) {
        items[i]->prev = items[i ? i - 1 : n - 1];
        items[i]->next = i + 1 < n ? items[i + 1] : NULL;
    }
    list->child = items[0];
    free(items);
    return ASSAY_OK;
}

static assay_status shuffle_list(tpl_render *r, tpl_value *v,
                                 const tpl_path *path)
{
    if (v->text || (!cJSON_IsArray(v->json) && !cJSON_IsObject(v->json)))
        return render_error(r, "filter 'shuffle' needs a list or an object, "
                               "and '%s' is %s",
                            r->t->store + path->text,
                            v->text ? "text by then" : kind_name(v->json));
    assay_status st = own_list(v);
    if (st == ASSAY_OK)
        st = permute(v->owned, r->case_id);
    return st;
}

/* An object's member names, in order, as a list of texts. */
static assay_status list_names(tpl_render *r, tpl_value *v,
                               const tpl_path *path)
{
    if (v->text || !cJSON_IsObject(v->json))
        return render_error(r, "filter 'keys' needs an object, and '%s' is "
                               "%s",
                            r->t->store + path->text,
                            v->text ? "text by then" : kind_name(v->json));
    cJSON *names = cJSON_CreateArray();
    for (const cJSON *c = v->json->child; names && c; c = c->next) {
        cJSON *name = cJSON_CreateString(c->string ? c->string : "");
        if (!name || !cJSON_AddItemToArray(names, name)) {
            cJSON_Delete(name);
            cJSON_Delete(names);
            names = NULL;
        }
    }
    if (!names)
        return ASSAY_ERR_NOMEM;
    value_release(v);
    v->owned = names;
    v->json = names;
    return ASSAY_OK;
}

/* 0 as "A", 1 as "B", ... 25 as "Z": an option's letter from its index. */
static assay_status index_letter(tpl_render *r, tpl_value *v,
                                 const tpl_path *path)
{
    double n = !v->text && cJSON_IsNumber(v->json) ? v->json->valuedouble
                                                   : -1;
    if (!(n >= 0 && n <= 25 && n == floor(n)))
        return render_error(r, "filter 'letter' needs a whole number from 0 "
                               "to 25, and '%s' is %s",
                            r->t->store + path->text,
                            v->text ? "text by then" : kind_name(v->json));
    v->text = true;
    v->start = r->out->len;
    return assay__buf_putc(r->out, (char)('A' + (int)n));
}

static assay_status apply_filter(tpl_render *r, const tpl_filter *f,
                                 tpl_value *v, const tpl_path *path,
                                 const tpl_miss *miss)
{
    const char *arg = r->t->store + f->arg;
    if (f->kind == F_DEFAULT) {
        if (v->text || (v->json && !cJSON_IsNull(v->json)))
            return ASSAY_OK;
        v->text = true;
        v->start = r->out->len;
        return assay__buf_append(r->out, arg, f->arg_len);
    }
    if (!v->text && !v->json)
        return missing(r, path, miss);
    switch (f->kind) {
    case F_UPPER:
    case F_LOWER: {
        assay_status st = to_text(r, v);
        if (st == ASSAY_OK)
            map_case(r->out, v->start, f->kind == F_UPPER);
        return st;
    }
    case F_TRIM: {
        assay_status st = to_text(r, v);
        if (st == ASSAY_OK)
            trim_tail(r->out, v->start);
        return st;
    }
    case F_JSON:
        if (v->text)
            return text_to_json(r->out, v->start);
        v->text = true;
        v->start = r->out->len;
        return put_json(r->out, v->json, 0);
    case F_JOIN:
        if (v->text)
            return render_error(r, "filter 'join' needs a list, and '%s' is "
                                   "text by then",
                                r->t->store + path->text);
        return join_list(r, v, arg, f->arg_len, path);
    case F_SHUFFLE:
        return shuffle_list(r, v, path);
    case F_KEYS:
        return list_names(r, v, path);
    case F_LETTER:
        return index_letter(r, v, path);
    case F_DEFAULT:
        break;
    }
    return ASSAY_OK;
}

/* The value of a variable or an #each list, through its filters; the
   caller releases it. */
static assay_status filtered(tpl_render *r, const tpl_node *n, tpl_value *v)
{
    tpl_miss miss;
    *v = (tpl_value){lookup(r, &n->path, &miss), false, 0, NULL};
    for (size_t i = 0; i < n->nfilter; i++) {
        assay_status st =
            apply_filter(r, &r->t->filters[n->filter + i], v, &n->path, &miss);
        if (st != ASSAY_OK)
            return st;
    }
    if (!v->text && !v->json)
        return missing(r, &n->path, &miss);
    return ASSAY_OK;
}

static assay_status render_var(tpl_render *r, const tpl_node *n)
{
    tpl_value v;
    r->at = n;
    assay_status st = filtered(r, n, &v);
    if (st == ASSAY_OK && !v.text)
        st = put_value(r->out, v.json);
    value_release(&v);
    return st;
}

/* ---- conditions */

static bool truthy(const cJSON *v)
{
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return false;
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    if (cJSON_IsString(v))
        return v->valuestring && v->valuestring[0];
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        return v->child != NULL;
    return true;
}

/* An operand as a value; literals live in `tmp`. */
static const cJSON *operand(tpl_render *r, const tpl_term *t, cJSON *tmp)
{
    memset(tmp, 0, sizeof *tmp);
    switch (t->kind) {
    case T_PATH: {
        tpl_miss miss;
        return lookup(r, &t->path, &miss);
    }
    case T_STRING:
        tmp->type = cJSON_String;
        tmp->valuestring = r->t->store + t->text;
        return tmp;
    case T_NUMBER:
        tmp->type = cJSON_Number;
        tmp->valuedouble = t->number;
        return tmp;
    case T_TRUE:
        return &true_value;
    case T_FALSE:
        return &false_value;
    default:
        tmp->type = cJSON_NULL;
        return tmp;
    }
}

/* Equal as the template would print them, when kinds differ ("1" == 1). */
static bool same(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return !strcmp(a->valuestring, b->valuestring);
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(b) && cJSON_IsNumber(a)) {
        const cJSON *t = a;
        a = b;
        b = t;
    }
    if (cJSON_IsString(a) && cJSON_IsNumber(b)) {
        assay__buf tmp;
        assay__buf_init(&tmp, 64);
        bool eq = put_number(&tmp, b->valuedouble) == ASSAY_OK &&
                  !strcmp(tmp.data, a->valuestring);
        assay__buf_release(&tmp);
        return eq;
    }
    if (cJSON_IsBool(a) || cJSON_IsNull(a))
        return (a->type & 0xFF) == (b->type & 0xFF);
    return cJSON_Compare(a, b, true);
}

static bool eval(tpl_render *r, size_t term)
{
    const tpl_term *t = &r->t->terms[term];
    cJSON x, y;
    switch (t->kind) {
    case T_NOT:
        return !eval(r, t->a);
    case T_AND:
        return eval(r, t->a) && eval(r, t->b);
    case T_OR:
        return eval(r, t->a) || eval(r, t->b);
    case T_EQ:
    case T_NE: {
        bool eq = same(operand(r, &r->t->terms[t->a], &x),
                       operand(r, &r->t->terms[t->b], &y));
        return t->kind == T_EQ ? eq : !eq;
    }
    default:
        return truthy(operand(r, t, &x));
    }
}

/* ---- blocks */

static assay_status render_range(tpl_render *r, size_t from, size_t to);

static assay_status render_if(tpl_render *r, size_t head)
{
    for (size_t b = head; b != NONE; b = r->t->nodes[b].alt) {
        const tpl_node *n = &r->t->nodes[b];
        if (n->cond == NONE || eval(r, n->cond))
            return render_range(r, b + 1, n->end);
    }
    return ASSAY_OK;
}

static assay_status render_item(tpl_render *r, size_t head, const cJSON *item,
                                int index, bool last)
{
    const tpl_node *n = &r->t->nodes[head];
    tpl_scope *s = &r->scopes[r->depth];
    memset(s, 0, sizeof *s);
    s->item = item;
    s->index.type = cJSON_Number;
    s->index.valuedouble = index;
    s->index.valueint = index;
    s->key.type = cJSON_String;
    s->key.valuestring = item->string;
    s->first = index == 0;
    s->last = last;
    r->depth++;
    assay_status st = render_range(r, head + 1, n->end);
    r->depth--;
    return st;
}

static assay_status render_items(tpl_render *r, size_t head,
                                 const cJSON *list)
{
    const tpl_node *n = &r->t->nodes[head];
    if (r->depth >= TPL_MAX_DEPTH)
        return render_error(r, "loops are nested deeper than %d levels",
                            TPL_MAX_DEPTH);
    int index = 0;
    for (const cJSON *c = list->child; c; c = c->next, index++) {
        if (++r->steps > TPL_MAX_STEPS)
            return render_error(r, "the loops take more than %lu "
                                   "iterations",
                                TPL_MAX_STEPS);
        assay_status st = render_item(r, head, c, index, c->next == NULL);
        if (st != ASSAY_OK)
            return st;
    }
    if (index == 0 && n->alt != NONE)
        return render_range(r, n->alt + 1, r->t->nodes[n->alt].end);
    return ASSAY_OK;
}

static assay_status render_each(tpl_render *r, size_t head)
{
    const tpl_node *n = &r->t->nodes[head];
    size_t mark = r->out->len;
    tpl_value v;
    assay_status st = filtered(r, n, &v);
    if (st == ASSAY_OK && (v.text || (!cJSON_IsArray(v.json) &&
                                      !cJSON_IsObject(v.json))))
        st = render_error(r, "'{{#each %s}}' needs a list or an object, "
                             "and '%s' is %s",
                          r->t->store + n->path.text,
                          r->t->store + n->path.text,
                          v.text ? "text after its filters"
                                 : kind_name(v.json));
    if (v.text) {
        /* A filter wrote text that the loop cannot use: take it back. */
        r->out->len = mark;
        if (r->out->cap)
            r->out->data[mark] = '\0';
    }
    if (st == ASSAY_OK)
        st = render_items(r, head, v.json);
    value_release(&v);
    return st;
}

static assay_status render_range(tpl_render *r, size_t from, size_t to)
{
    for (size_t i = from; i < to;) {
        const tpl_node *n = &r->t->nodes[i];
        assay_status st = ASSAY_OK;
        switch (n->kind) {
        case N_TEXT:
            r->at = NULL;
            st = assay__buf_append(r->out, r->t->store + n->text, n->len);
            i++;
            break;
        case N_VAR:
            st = render_var(r, n);
            i++;
            break;
        case N_IF:
            st = render_if(r, i);
            i = n->next;
            break;
        case N_EACH:
            st = render_each(r, i);
            i = n->next;
            break;
        case N_ELSE:
            i = to; /* only reached through its head */
            break;
        }
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

assay_status assay__template_render(const assay__template *t,
                                    const cJSON *vars, const char *case_id,
                                    assay__buf *out, assay_error *err)
{
    size_t start = out->len;
    /* Field by field: zeroing the scopes (some 4 KB, each set when its
       loop is entered) cost more than rendering a short prompt. */
    tpl_render r;
    r.t = t;
    r.vars = vars;
    r.case_id = case_id;
    r.out = out;
    r.err = err;
    r.depth = 0;
    r.at = NULL;
    r.steps = 0;
    assay_status st = render_range(&r, 0, t->nnodes);
    if (st == ASSAY_OK)
        return ASSAY_OK;

    /* Leave the buffer as it was. */
    out->len = start;
    if (out->cap)
        out->data[start] = '\0';
    if (st == ASSAY_ERR_TEMPLATE)
        return st;
    char where[256] = "";
    if (case_id && *case_id)
        snprintf(where, sizeof where, "case '%s': ", case_id);
    if (st == ASSAY_ERR_NOMEM)
        return assay__error(err, st, NULL, 0, 0,
                            "%sout of memory rendering a template", where);
    if (r.at)
        return assay__error(err, st, NULL, 0, 0,
                            "%svariable '%s' makes the text longer than %zu "
                            "bytes or is nested deeper than %d levels",
                            where, t->store + r.at->path.text, out->max,
                            TPL_JSON_DEPTH);
    return assay__error(err, st, NULL, 0, 0,
                        "%sthe rendered text is longer than %zu bytes", where,
                        out->max);
}
