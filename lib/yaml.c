/*
 * yaml.c - YAML and JSON documents as cJSON trees that remember where each
 * value came from.
 *
 * The text goes through libyaml's event parser and the events are built
 * into a cJSON tree. JSON is YAML's flow style, so JSON files take the same
 * road and their errors carry a line and column too. Beside the tree, a
 * position table records for every node where its value starts and, for an
 * object member, where its key starts; it is only searched when an error is
 * reported, so it is a flat array appended to in creation order.
 *
 * Scalars follow the YAML 1.2 core schema: plain null/~/empty, true/false
 * (three spellings each), integers (decimal, 0x, 0o) and floats (.inf,
 * .nan included) become JSON null, booleans and numbers; everything else,
 * and every quoted or block scalar, is a string (`yes` and `on` too). The
 * tags !!str, !!int, !!float, !!bool and !!null are honoured.
 *
 * Aliases are expanded by copying the anchored node. What is refused, each
 * with a position: keys that are not scalars, duplicate keys, merge keys
 * (`<<`), more than one document, nesting deeper than 256, aliases that
 * expand to more than a million values (so that an alias bomb stops
 * early), more than ten million values in all, texts over 64 MiB, and NUL
 * characters in strings (cJSON strings end at the first NUL, so the value
 * would be changed silently). This file does not know what a suite is; the
 * callers check the shape of the tree and use assay__doc_error to point at the
 * culprit.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define DOC_MAX_BYTES ((size_t)64 << 20)
#define DOC_MAX_DEPTH 256
/* Values in all, so that memory stays bounded (about 100 bytes each)... */
#define DOC_MAX_NODES ((size_t)10000000)
/* ...and values made by expanding aliases, so that an alias bomb stops. */
#define DOC_MAX_ALIAS_NODES ((size_t)1000000)
/* Mappings up to this size are checked for duplicates pair by pair. */
#define DOC_SMALL_MAPPING 8
/* How much of a key or alias name is quoted in a message. */
#define DOC_QUOTE_MAX 80

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef struct doc_pos {
    const cJSON *node;
    int key_line; /* 0 when the node is no object member */
    int key_col;
    int line;
    int col;
} doc_pos;

struct assay__doc {
    char *name;
    cJSON *root;
    doc_pos *pos;
    size_t npos;
    size_t pos_cap;
};

/* A completed anchored node; its subtree is pos[first, end) in pre-order. */
typedef struct doc_anchor {
    char *name;
    const cJSON *node;
    size_t first;
    size_t end;
    int height;
} doc_anchor;

/* Where a JSON surrogate pair was shortened (see fix_surrogates). */
typedef struct doc_shift {
    size_t line;
    size_t col;
} doc_shift;

typedef struct doc_key {
    const cJSON *node;
    size_t order;
} doc_key;

typedef struct doc_parser {
    yaml_parser_t yaml;
    assay__doc *doc;
    assay_error *err;
    const char *text; /* what libyaml reads */
    size_t len;
    size_t nodes;
    size_t alias_nodes;
    doc_anchor *anchors;
    size_t nanchors;
    size_t anchors_cap;
    doc_key *keys; /* scratch for the duplicate check */
    size_t keys_cap;
    doc_shift *shifts;
    size_t nshifts;
} doc_parser;

/* ------------------------------------------------------------ helpers */

/* Converts with the "C" locale whatever the process's locale is. */
static double c_strtod(const char *s)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t old = c ? uselocale(c) : (locale_t)0;
    double v = strtod(s, NULL);
    if (c) {
        uselocale(old);
        freelocale(c);
    }
    return v;
}

/* How much of `s` to quote: at most DOC_QUOTE_MAX bytes, whole characters. */
static int quote_len(const char *s, bool *cut)
{
    size_t n = strlen(s);
    *cut = n > DOC_QUOTE_MAX;
    if (!*cut)
        return (int)n;
    n = DOC_QUOTE_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

static int clamp_int(size_t v)
{
    return v >= (size_t)INT_MAX ? INT_MAX : (int)v;
}

/* Characters removed on `line` before `col` of the text libyaml read. */
static size_t shift_before(const doc_parser *p, size_t line, size_t col)
{
    /* Binary search for the first shift at or after (line, col). */
    size_t lo = 0, hi = p->nshifts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const doc_shift *s = &p->shifts[mid];
        if (s->line < line || (s->line == line && s->col < col))
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t at = lo;
    lo = 0;
    hi = at;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->shifts[mid].line < line)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 2 * (at - lo);
}

/* A libyaml mark (from 0) as a 1-based line and column of the original. */
static void mark_pos(const doc_parser *p, yaml_mark_t m, int *line, int *col)
{
    size_t c = m.column;
    if (p->nshifts)
        c += shift_before(p, m.line, m.column);
    *line = clamp_int(m.line + 1);
    *col = clamp_int(c + 1);
}

static assay_status error_at(doc_parser *p, yaml_mark_t m, assay_status st,
                             const char *fmt, ...) ASSAY__PRINTF(4, 5);

static assay_status error_at(doc_parser *p, yaml_mark_t m, assay_status st,
                             const char *fmt, ...)
{
    int line, col;
    mark_pos(p, m, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    assay__error_v(p->err, st, p->doc->name, line, col, fmt, ap);
    va_end(ap);
    return st;
}

static assay_status nomem(doc_parser *p)
{
    return assay__error(p->err, ASSAY_ERR_NOMEM, p->doc->name, 0, 0,
                        "out of memory while reading the document");
}

static assay_status push_pos(doc_parser *p, const cJSON *node, int key_line,
                             int key_col, int line, int col)
{
    assay__doc *d = p->doc;
    if (d->npos == d->pos_cap) {
        size_t cap = d->pos_cap ? d->pos_cap * 2 : 64;
        doc_pos *pos = realloc(d->pos, cap * sizeof *pos);
        if (!pos)
            return nomem(p);
        d->pos = pos;
        d->pos_cap = cap;
    }
    d->pos[d->npos++] = (doc_pos){node, key_line, key_col, line, col};
    return ASSAY_OK;
}

/* Records a new node made from the event at `m`, after a key at `key`. */
static assay_status note_node(doc_parser *p, const cJSON *node,
                              const yaml_mark_t *key, yaml_mark_t m)
{
    if (++p->nodes > DOC_MAX_NODES)
        return error_at(p, m, ASSAY_ERR_LIMIT,
                        "the document has more than %zu values", DOC_MAX_NODES);
    int line, col, key_line = 0, key_col = 0;
    mark_pos(p, m, &line, &col);
    if (key)
        mark_pos(p, *key, &key_line, &key_col);
    return push_pos(p, node, key_line, key_col, line, col);
}

/* A number node; cJSON_CreateNumber converts NaN to int, which is undefined. */
static cJSON *make_number(double v)
{
    cJSON *n = cJSON_CreateNumber(0);
    if (!n)
        return NULL;
    n->valuedouble = v;
    if (isnan(v))
        n->valueint = 0;
    else if (v >= (double)INT_MAX)
        n->valueint = INT_MAX;
    else if (v <= (double)INT_MIN)
        n->valueint = INT_MIN;
    else
        n->valueint = (int)v;
    return n;
}

/* ------------------------------------------------------------ JSON text */

/* Length of a line break at s (libyaml's set), or 0. */
static size_t break_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n >= 2 && u[0] == '\r' && u[1] == '\n')
        return 2;
    if (u[0] == '\r' || u[0] == '\n')
        return 1;
    if (n >= 2 && u[0] == 0xC2 && u[1] == 0x85)
        return 2;
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 &&
        (u[2] == 0xA8 || u[2] == 0xA9))
        return 3;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits of a "\uXXXX" at s; -1 when it is not one. */
static long u_escape(const char *s, size_t n)
{
    if (n < 6 || s[0] != '\\' || s[1] != 'u')
        return -1;
    long v = 0;
    for (int i = 2; i < 6; i++) {
        int h = hex_value(s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static bool looks_like_json(const char *s, size_t n)
{
    size_t i = 0;
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n &&
           (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i < n && (s[i] == '{' || s[i] == '[');
}

/*
 * JSON writes characters beyond U+FFFF as UTF-16 surrogate pairs
 * ("\ud83d\ude00", Python's json.dumps does so by default), which libyaml
 * refuses. In text that is JSON, each pair inside a string becomes YAML's
 * 8-digit escape ("\U0001F600"), two characters shorter; the places are
 * kept in p->shifts so that reported columns match the original. Sets
 * *fixed to NULL when there is nothing to rewrite.
 */
static assay_status fix_surrogates(doc_parser *p, const char *text, size_t len,
                                   char **fixed, size_t *fixed_len)
{
    *fixed = NULL;
    if (!looks_like_json(text, len))
        return ASSAY_OK;
    bool any = false;
    const char *s = text, *end = text + len;
    while (!any && (s = memchr(s, '\\', (size_t)(end - s))) != NULL) {
        long hi = u_escape(s, (size_t)(end - s));
        any = hi >= 0xD800 && hi <= 0xDBFF;
        s++;
    }
    if (!any)
        return ASSAY_OK;

    char *out = malloc(len + 1);
    if (!out)
        return nomem(p);
    size_t o = 0, line = 0, col = 0, cap = 0;
    bool in_string = false;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (in_string && c == '\\') {
            long hi = u_escape(text + i, len - i);
            long lo = hi >= 0xD800 && hi <= 0xDBFF
                          ? u_escape(text + i + 6, len - i - 6)
                          : -1;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                unsigned long cp = 0x10000 +
                                   (((unsigned long)hi - 0xD800) << 10) +
                                   ((unsigned long)lo - 0xDC00);
                if (p->nshifts == cap) {
                    cap = cap ? cap * 2 : 16;
                    doc_shift *sh = realloc(p->shifts, cap * sizeof *sh);
                    if (!sh) {
                        free(out);
                        return nomem(p);
                    }
                    p->shifts = sh;
                }
                p->shifts[p->nshifts++] = (doc_shift){line, col};
                o += (size_t)snprintf(out + o, 11, "\\U%08lX", cp);
                col += 10;
                i += 12;
                continue;
            }
            /* Any other escape: copy the backslash and what it escapes. */
            out[o++] = c;
            col++;
            i++;
            if (i < len && !break_len(text + i, len - i)) {
                if (((unsigned char)text[i] & 0xC0) != 0x80)
                    col++;
                out[o++] = text[i++];
            }
            continue;
        }
        size_t br = break_len(text + i, len - i);
        if (br) {
            memcpy(out + o, text + i, br);
            o += br;
            i += br;
            line++;
            col = 0;
            continue;
        }
        if (c == '"')
            in_string = !in_string;
        if (((unsigned char)c & 0xC0) != 0x80)
            col++;
        out[o++] = c;
        i++;
    }
    out[o] = '\0';
    *fixed = out;
    *fixed_len = o;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ libyaml errors
 */

/* libyaml's reader errors have a byte offset only: find line and column. */
static void offset_pos(const doc_parser *p, size_t offset, yaml_mark_t *m)
{
    const char *s = p->text;
    size_t n = offset < p->len ? offset : p->len;
    size_t i = 0;
    memset(m, 0, sizeof *m);
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n) {
        size_t br = break_len(s + i, p->len - i);
        if (br) {
            m->line++;
            m->column = 0;
            i += br;
            continue;
        }
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            m->column++;
        i++;
    }
}

static assay_status parse_failure(doc_parser *p)
{
    yaml_parser_t *y = &p->yaml;
    const char *problem = y->problem ? y->problem : "unknown problem";
    if (y->error == YAML_MEMORY_ERROR)
        return nomem(p);
    if (y->error == YAML_READER_ERROR) {
        yaml_mark_t m;
        offset_pos(p, y->problem_offset, &m);
        if (strstr(problem, "UTF-8") || strstr(problem, "Unicode")) {
            if (y->problem_value >= 0)
                return error_at(p, m, ASSAY_ERR_SYNTAX,
                                "the text is not valid UTF-8: %s (byte 0x%02X "
                                "at offset %zu)",
                                problem, (unsigned)y->problem_value,
                                y->problem_offset);
            return error_at(p, m, ASSAY_ERR_SYNTAX,
                            "the text is not valid UTF-8: %s (at offset %zu)",
                            problem, y->problem_offset);
        }
        if (y->problem_value >= 0)
            return error_at(p, m, ASSAY_ERR_SYNTAX, "%s (U+%04X)", problem,
                            (unsigned)y->problem_value);
        return error_at(p, m, ASSAY_ERR_SYNTAX, "%s", problem);
    }
    if (y->context) {
        int line, col;
        mark_pos(p, y->context_mark, &line, &col);
        return error_at(p, y->problem_mark, ASSAY_ERR_SYNTAX,
                        "%s (%s at line %d, column %d)", problem, y->context,
                        line, col);
    }
    return error_at(p, y->problem_mark, ASSAY_ERR_SYNTAX, "%s", problem);
}

static assay_status next_event(doc_parser *p, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&p->yaml, ev)) {
        memset(ev, 0, sizeof *ev);
        return parse_failure(p);
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ scalars */

static bool is_null_word(const char *s, size_t n)
{
    return n == 0 || (n == 1 && s[0] == '~') || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* 1 for true, 0 for false, -1 for neither. */
static int bool_word(const char *s)
{
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return 1;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return 0;
    return -1;
}

enum { NUM_NONE, NUM_INT, NUM_FLOAT };

static size_t digits(const char *s, int base)
{
    size_t n = 0;
    while (s[n] && hex_value(s[n]) >= 0 && hex_value(s[n]) < base)
        n++;
    return n;
}

/* Classifies `s` by the core schema and converts it when it is a number. */
static int core_number(const char *s, size_t n, double *v)
{
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        int base = s[1] == 'x' ? 16 : 8;
        if (digits(s + 2, base) != n - 2)
            return NUM_NONE;
        double acc = 0;
        for (size_t i = 2; i < n; i++)
            acc = acc * base + hex_value(s[i]);
        *v = acc;
        return NUM_INT;
    }
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (!strcmp(s + i, ".inf") || !strcmp(s + i, ".Inf") ||
        !strcmp(s + i, ".INF")) {
        *v = s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
        return NUM_FLOAT;
    }
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
        *v = (double)NAN;
        return NUM_FLOAT;
    }
    size_t whole = digits(s + i, 10);
    i += whole;
    bool is_float = false;
    if (s[i] == '.') {
        size_t frac = digits(s + i + 1, 10);
        if (!whole && !frac)
            return NUM_NONE;
        i += 1 + frac;
        is_float = true;
    } else if (!whole) {
        return NUM_NONE;
    }
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '-' || s[j] == '+')
            j++;
        size_t exp = digits(s + j, 10);
        if (!exp)
            return NUM_NONE;
        i = j + exp;
        is_float = true;
    }
    if (i != n)
        return NUM_NONE;
    *v = c_strtod(s);
    return is_float ? NUM_FLOAT : NUM_INT;
}

/* Plain scalar without a tag, resolved by the core schema. */
static cJSON *resolve_plain(const char *s, size_t n)
{
    if (is_null_word(s, n))
        return cJSON_CreateNull();
    int b = bool_word(s);
    if (b >= 0)
        return cJSON_CreateBool(b);
    double v;
    if (core_number(s, n, &v) != NUM_NONE)
        return make_number(v);
    return cJSON_CreateString(s);
}

static assay_status scalar_node(doc_parser *p, const yaml_event_t *ev,
                                cJSON **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    *out = NULL;
    if (memchr(s, '\0', n))
        return error_at(p, ev->start_mark, ASSAY_ERR_SYNTAX,
                        "a NUL character (\\0) in a string is not supported");

    if (!tag) {
        *out = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                   ? resolve_plain(s, n)
                   : cJSON_CreateString(s);
        return *out ? ASSAY_OK : nomem(p);
    }
    const char *kind = strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0
                           ? tag + strlen(TAG_PREFIX)
                           : NULL;
    double v;
    int b = -1;
    bool valid = true;
    if (!strcmp(tag, "!") || (kind && !strcmp(kind, "str"))) {
        *out = cJSON_CreateString(s);
    } else if (kind && !strcmp(kind, "null")) {
        if ((valid = is_null_word(s, n)))
            *out = cJSON_CreateNull();
    } else if (kind && !strcmp(kind, "bool")) {
        if ((valid = (b = bool_word(s)) >= 0))
            *out = cJSON_CreateBool(b);
    } else if (kind && !strcmp(kind, "int")) {
        if ((valid = core_number(s, n, &v) == NUM_INT))
            *out = make_number(v);
    } else if (kind && !strcmp(kind, "float")) {
        if ((valid = core_number(s, n, &v) != NUM_NONE))
            *out = make_number(v);
    } else {
        return error_at(p, ev->start_mark, ASSAY_ERR_SYNTAX,
                        "unsupported tag '%s' (understood: !!str, !!int, "
                        "!!float, !!bool, !!null)",
                        tag);
    }
    if (!valid) {
        bool cut;
        int q = quote_len(s, &cut);
        return error_at(p, ev->start_mark, ASSAY_ERR_SYNTAX,
                        "'%.*s%s' is not a valid !!%s", q, s, cut ? "..." : "",
                        kind);
    }
    return *out ? ASSAY_OK : nomem(p);
}

/* ------------------------------------------------------------ tree */

static assay_status parse_node(doc_parser *p, const yaml_event_t *ev, int depth,
                               const yaml_mark_t *key, cJSON **out,
                               int *height);

static const char *event_kind(yaml_event_type_t t)
{
    switch (t) {
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_ALIAS_EVENT:
        return "an alias";
    default:
        return "something else";
    }
}

static int key_order_cmp(const void *a, const void *b)
{
    const doc_key *x = a, *y = b;
    int c = strcmp(x->node->string, y->node->string);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Finds the earliest member whose key appeared before in `obj`: pair by
 * pair for small mappings, by sorting for large ones (same answer).
 */
static assay_status check_duplicates(doc_parser *p, const cJSON *obj)
{
    size_t n = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        n++;
    if (n < 2)
        return ASSAY_OK;
    const cJSON *first = NULL, *second = NULL;
    if (n <= DOC_SMALL_MAPPING) {
        for (const cJSON *b = obj->child->next; b && !second; b = b->next)
            for (const cJSON *a = obj->child; a != b; a = a->next)
                if (!strcmp(a->string, b->string)) {
                    first = a;
                    second = b;
                    break;
                }
    } else {
        if (n > p->keys_cap) {
            doc_key *k = realloc(p->keys, n * sizeof *k);
            if (!k)
                return nomem(p);
            p->keys = k;
            p->keys_cap = n;
        }
        size_t i = 0;
        for (const cJSON *c = obj->child; c; c = c->next, i++)
            p->keys[i] = (doc_key){c, i};
        qsort(p->keys, n, sizeof *p->keys, key_order_cmp);
        size_t run = 0, best = SIZE_MAX;
        for (i = 1; i < n; i++) {
            if (strcmp(p->keys[i].node->string, p->keys[i - 1].node->string)) {
                run = i;
            } else if (i == run + 1 && p->keys[i].order < best) {
                best = p->keys[i].order;
                first = p->keys[run].node;
                second = p->keys[i].node;
            }
        }
    }
    if (!second)
        return ASSAY_OK;
    int line = 0, col = 0;
    assay__doc_where_key(p->doc, first, &line, &col);
    bool cut;
    int q = quote_len(second->string, &cut);
    return assay__doc_error(p->doc, second, true, p->err, ASSAY_ERR_SYNTAX,
                            "duplicate key '%.*s%s' (first at line %d)", q,
                            second->string, cut ? "..." : "", line);
}

static bool collection_tag_ok(const char *tag, const char *kind)
{
    return !tag || !strcmp(tag, "!") ||
           (!strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) &&
            !strcmp(tag + strlen(TAG_PREFIX), kind));
}

static assay_status parse_mapping(doc_parser *p, cJSON *obj, int depth,
                                  int *height)
{
    for (;;) {
        yaml_event_t kev;
        assay_status st = next_event(p, &kev);
        if (st != ASSAY_OK)
            return st;
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            return check_duplicates(p, obj);
        }
        if (kev.type != YAML_SCALAR_EVENT) {
            st = error_at(p, kev.start_mark, ASSAY_ERR_SYNTAX,
                          "a mapping key must be a scalar, not %s",
                          event_kind(kev.type));
            yaml_event_delete(&kev);
            return st;
        }
        const char *key = (const char *)kev.data.scalar.value;
        if (kev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
            !kev.data.scalar.tag && !strcmp(key, "<<")) {
            st = error_at(p, kev.start_mark, ASSAY_ERR_SYNTAX,
                          "merge keys ('<<') are not supported; write the "
                          "keys out, or use an alias as the whole value");
            yaml_event_delete(&kev);
            return st;
        }
        if (memchr(key, '\0', kev.data.scalar.length)) {
            st = error_at(p, kev.start_mark, ASSAY_ERR_SYNTAX,
                          "a NUL character (\\0) in a key is not supported");
            yaml_event_delete(&kev);
            return st;
        }

        yaml_event_t vev;
        st = next_event(p, &vev);
        cJSON *child = NULL;
        int h = 0;
        if (st == ASSAY_OK) {
            st = parse_node(p, &vev, depth, &kev.start_mark, &child, &h);
            yaml_event_delete(&vev);
        }
        if (st == ASSAY_OK && !cJSON_AddItemToObject(obj, key, child)) {
            cJSON_Delete(child);
            st = nomem(p);
        }
        yaml_event_delete(&kev);
        if (st != ASSAY_OK)
            return st;
        if (h + 1 > *height)
            *height = h + 1;
    }
}

static assay_status parse_sequence(doc_parser *p, cJSON *arr, int depth,
                                   int *height)
{
    for (;;) {
        yaml_event_t ev;
        assay_status st = next_event(p, &ev);
        if (st != ASSAY_OK)
            return st;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return ASSAY_OK;
        }
        cJSON *child = NULL;
        int h = 0;
        st = parse_node(p, &ev, depth, NULL, &child, &h);
        yaml_event_delete(&ev);
        if (st == ASSAY_OK && !cJSON_AddItemToArray(arr, child)) {
            cJSON_Delete(child);
            st = nomem(p);
        }
        if (st != ASSAY_OK)
            return st;
        if (h + 1 > *height)
            *height = h + 1;
    }
}

/* A node of the same kind and value as `src`, without children. */
static cJSON *shallow_copy(const cJSON *src)
{
    switch (src->type & 0xFF) {
    case cJSON_False:
        return cJSON_CreateFalse();
    case cJSON_True:
        return cJSON_CreateTrue();
    case cJSON_NULL:
        return cJSON_CreateNull();
    case cJSON_Number:
        return make_number(src->valuedouble);
    case cJSON_String:
        return cJSON_CreateString(src->valuestring);
    case cJSON_Array:
        return cJSON_CreateArray();
    default:
        return cJSON_CreateObject();
    }
}

/*
 * Copies the anchored subtree `src` whose position entries start at
 * *cursor and end before `end` (in pre-order, as they were made), giving
 * the copies the same positions.
 */
static assay_status copy_tree(doc_parser *p, const cJSON *src, size_t *cursor,
                              size_t end, cJSON **out)
{
    *out = NULL;
    /* alias_node checked the counts beforehand. */
    p->nodes++;
    p->alias_nodes++;
    cJSON *copy = shallow_copy(src);
    if (!copy)
        return nomem(p);
    doc_pos where = {copy, 0, 0, 0, 0};
    if (*cursor < end && p->doc->pos[*cursor].node == src) {
        where = p->doc->pos[*cursor];
        where.node = copy;
        (*cursor)++;
    } else {
        *cursor = end; /* out of step: leave the rest unplaced */
    }
    assay_status st =
        push_pos(p, copy, where.key_line, where.key_col, where.line, where.col);
    for (const cJSON *c = src->child; c && st == ASSAY_OK; c = c->next) {
        cJSON *cc;
        st = copy_tree(p, c, cursor, end, &cc);
        if (st != ASSAY_OK)
            break;
        bool ok = c->string ? cJSON_AddItemToObject(copy, c->string, cc)
                            : cJSON_AddItemToArray(copy, cc);
        if (!ok) {
            cJSON_Delete(cc);
            st = nomem(p);
        }
    }
    if (st != ASSAY_OK) {
        cJSON_Delete(copy);
        return st;
    }
    *out = copy;
    return ASSAY_OK;
}

static assay_status alias_node(doc_parser *p, const yaml_event_t *ev, int depth,
                               const yaml_mark_t *key, cJSON **out, int *height)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const doc_anchor *a = NULL;
    for (size_t i = p->nanchors; i-- > 0;)
        if (!strcmp(p->anchors[i].name, name)) {
            a = &p->anchors[i];
            break;
        }
    if (!a) {
        bool cut;
        int q = quote_len(name, &cut);
        return error_at(p, ev->start_mark, ASSAY_ERR_SYNTAX,
                        "unknown alias '*%.*s%s' (an anchor '&%.*s%s' must "
                        "come earlier, outside the aliased node)",
                        q, name, cut ? "..." : "", q, name, cut ? "..." : "");
    }
    if (depth + a->height > DOC_MAX_DEPTH)
        return error_at(p, ev->start_mark, ASSAY_ERR_LIMIT,
                        "nesting deeper than %d levels (through this alias)",
                        DOC_MAX_DEPTH);
    size_t size = a->end - a->first;
    if (size > DOC_MAX_ALIAS_NODES - p->alias_nodes)
        return error_at(p, ev->start_mark, ASSAY_ERR_LIMIT,
                        "aliases expand to more than %zu values",
                        DOC_MAX_ALIAS_NODES);
    if (size > DOC_MAX_NODES - p->nodes)
        return error_at(p, ev->start_mark, ASSAY_ERR_LIMIT,
                        "the document has more than %zu values", DOC_MAX_NODES);
    size_t cursor = a->first, top = p->doc->npos;
    assay_status st = copy_tree(p, a->node, &cursor, a->end, out);
    if (st != ASSAY_OK)
        return st;
    /* The copy as a whole is where the alias is. */
    doc_pos *d = &p->doc->pos[top];
    mark_pos(p, ev->start_mark, &d->line, &d->col);
    d->key_line = d->key_col = 0;
    if (key)
        mark_pos(p, *key, &d->key_line, &d->key_col);
    *height = a->height;
    return ASSAY_OK;
}

static assay_status add_anchor(doc_parser *p, const char *name,
                               const cJSON *node, size_t first, int height)
{
    if (p->nanchors == p->anchors_cap) {
        size_t cap = p->anchors_cap ? p->anchors_cap * 2 : 8;
        doc_anchor *a = realloc(p->anchors, cap * sizeof *a);
        if (!a)
            return nomem(p);
        p->anchors = a;
        p->anchors_cap = cap;
    }
    char *copy = malloc(strlen(name) + 1);
    if (!copy)
        return nomem(p);
    memcpy(copy, name, strlen(name) + 1);
    p->anchors[p->nanchors++] =
        (doc_anchor){copy, node, first, p->doc->npos, height};
    /* The anchors table owns `copy` from here (freed with the parser). */
    // cppcheck-suppress memleak
    return ASSAY_OK;
}

/*
 * Builds the node that event `ev` starts (the caller deletes `ev`), at
 * `depth` collections deep, as the value of the key at `key` if any.
 * *height is how many collection levels the node itself has.
 */
static assay_status parse_node(doc_parser *p, const yaml_event_t *ev, int depth,
                               const yaml_mark_t *key, cJSON **out, int *height)
{
    *out = NULL;
    *height = 0;
    const char *anchor = NULL;
    size_t first = p->doc->npos;
    cJSON *node = NULL;
    assay_status st;

    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return alias_node(p, ev, depth, key, out, height);
    case YAML_SCALAR_EVENT:
        anchor = (const char *)ev->data.scalar.anchor;
        st = scalar_node(p, ev, &node);
        if (st == ASSAY_OK)
            st = note_node(p, node, key, ev->start_mark);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        const char *tag = (const char *)(map ? ev->data.mapping_start.tag
                                             : ev->data.sequence_start.tag);
        anchor = (const char *)(map ? ev->data.mapping_start.anchor
                                    : ev->data.sequence_start.anchor);
        if (depth + 1 > DOC_MAX_DEPTH)
            return error_at(p, ev->start_mark, ASSAY_ERR_LIMIT,
                            "nesting deeper than %d levels", DOC_MAX_DEPTH);
        if (!collection_tag_ok(tag, map ? "map" : "seq"))
            return error_at(p, ev->start_mark, ASSAY_ERR_SYNTAX,
                            "unsupported tag '%s' on a %s", tag,
                            map ? "mapping" : "sequence");
        node = map ? cJSON_CreateObject() : cJSON_CreateArray();
        if (!node)
            return nomem(p);
        st = note_node(p, node, key, ev->start_mark);
        *height = 1;
        if (st == ASSAY_OK)
            st = map ? parse_mapping(p, node, depth + 1, height)
                     : parse_sequence(p, node, depth + 1, height);
        break;
    }
    default:
        /* libyaml only gives node events here; be safe anyway. */
        return error_at(p, ev->start_mark, ASSAY_ERR_SYNTAX,
                        "unexpected YAML event");
    }
    if (st == ASSAY_OK && anchor)
        st = add_anchor(p, anchor, node, first, *height);
    if (st != ASSAY_OK) {
        cJSON_Delete(node);
        return st;
    }
    *out = node;
    return ASSAY_OK;
}

static assay_status parse_stream(doc_parser *p)
{
    yaml_event_t ev;
    assay_status st = next_event(p, &ev); /* stream start */
    if (st != ASSAY_OK)
        return st;
    yaml_event_delete(&ev);
    if ((st = next_event(p, &ev)) != ASSAY_OK)
        return st;
    if (ev.type == YAML_STREAM_END_EVENT) {
        /* No document at all (empty, or only comments): a null root. */
        yaml_event_delete(&ev);
        p->doc->root = cJSON_CreateNull();
        if (!p->doc->root)
            return nomem(p);
        return push_pos(p, p->doc->root, 0, 0, 1, 1);
    }
    yaml_event_delete(&ev); /* document start */

    if ((st = next_event(p, &ev)) != ASSAY_OK)
        return st;
    int height;
    st = parse_node(p, &ev, 0, NULL, &p->doc->root, &height);
    yaml_event_delete(&ev);
    if (st != ASSAY_OK)
        return st;

    if ((st = next_event(p, &ev)) != ASSAY_OK) /* document end */
        return st;
    yaml_event_delete(&ev);
    if ((st = next_event(p, &ev)) != ASSAY_OK)
        return st;
    if (ev.type == YAML_DOCUMENT_START_EVENT)
        st = error_at(p, ev.start_mark, ASSAY_ERR_SYNTAX,
                      "expected one document, but another one starts here");
    yaml_event_delete(&ev);
    return st;
}

/* ------------------------------------------------------------ public */

void assay__doc_free(assay__doc *doc)
{
    if (!doc)
        return;
    cJSON_Delete(doc->root);
    free(doc->pos);
    free(doc->name);
    free(doc);
}

assay_status assay__doc_parse(const char *name, const char *text, size_t len,
                              assay__doc **out, assay_error *err)
{
    if (!out)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay__doc_parse: out is NULL");
    *out = NULL;
    if (!name)
        name = "<input>";
    if (!text && len)
        return assay__error(err, ASSAY_ERR_INVALID, name, 0, 0,
                            "no text to parse");
    if (len > DOC_MAX_BYTES)
        return assay__error(err, ASSAY_ERR_LIMIT, name, 0, 0,
                            "the text is larger than the %zu MiB limit",
                            DOC_MAX_BYTES >> 20);

    assay__doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return assay__error(err, ASSAY_ERR_NOMEM, name, 0, 0, "out of memory");
    doc->name = malloc(strlen(name) + 1);
    if (!doc->name) {
        free(doc);
        return assay__error(err, ASSAY_ERR_NOMEM, name, 0, 0, "out of memory");
    }
    memcpy(doc->name, name, strlen(name) + 1);

    doc_parser p;
    memset(&p, 0, sizeof p);
    p.doc = doc;
    p.err = err;
    p.text = text ? text : "";
    p.len = len;
    char *fixed = NULL;
    size_t fixed_len = 0;
    assay_status st = fix_surrogates(&p, p.text, len, &fixed, &fixed_len);
    if (st == ASSAY_OK && fixed) {
        p.text = fixed;
        p.len = fixed_len;
    }
    if (st == ASSAY_OK && !yaml_parser_initialize(&p.yaml)) {
        st = nomem(&p);
    } else if (st == ASSAY_OK) {
        yaml_parser_set_input_string(&p.yaml, (const unsigned char *)p.text,
                                     p.len);
        st = parse_stream(&p);
        yaml_parser_delete(&p.yaml);
    }

    for (size_t i = 0; i < p.nanchors; i++)
        free(p.anchors[i].name);
    free(p.anchors);
    free(p.keys);
    free(p.shifts);
    free(fixed);
    if (st != ASSAY_OK) {
        assay__doc_free(doc);
        return st;
    }
    *out = doc;
    return ASSAY_OK;
}

assay_status assay__doc_load(const char *path, assay__doc **out,
                             assay_error *err)
{
    if (!out || !path)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay__doc_load: path or out is NULL");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        assay__error(err, ASSAY_ERR_IO, NULL, 0, 0, "cannot read %s: %s", path,
                     strerror(e));
        if (err)
            snprintf(err->file, sizeof err->file, "%s", path);
        return ASSAY_ERR_IO;
    }
    assay__buf b;
    assay__buf_init(&b, DOC_MAX_BYTES);
    assay_status st = ASSAY_OK;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        st = assay__buf_append(&b, chunk, n);
        if (st != ASSAY_OK)
            break;
    }
    int e = errno;
    if (st == ASSAY_ERR_LIMIT)
        assay__error(err, st, path, 0, 0,
                     "the file is larger than the %zu MiB limit",
                     DOC_MAX_BYTES >> 20);
    else if (st != ASSAY_OK)
        assay__error(err, st, path, 0, 0, "out of memory reading the file");
    else if (ferror(f)) {
        st = assay__error(err, ASSAY_ERR_IO, NULL, 0, 0, "cannot read %s: %s",
                          path, strerror(e));
        if (err)
            snprintf(err->file, sizeof err->file, "%s", path);
    }
    fclose(f);
    if (st == ASSAY_OK)
        st = assay__doc_parse(path, b.data, b.len, out, err);
    assay__buf_release(&b);
    return st;
}

cJSON *assay__doc_root(const assay__doc *doc)
{
    return doc ? doc->root : NULL;
}

const char *assay__doc_name(const assay__doc *doc)
{
    return doc ? doc->name : NULL;
}

static const doc_pos *find_pos(const assay__doc *doc, const cJSON *node)
{
    if (!doc || !node)
        return NULL;
    for (size_t i = 0; i < doc->npos; i++)
        if (doc->pos[i].node == node)
            return &doc->pos[i];
    return NULL;
}

bool assay__doc_where(const assay__doc *doc, const cJSON *node, int *line,
                      int *col)
{
    const doc_pos *p = find_pos(doc, node);
    *line = p ? p->line : 0;
    *col = p ? p->col : 0;
    return p && p->line > 0;
}

bool assay__doc_where_key(const assay__doc *doc, const cJSON *node, int *line,
                          int *col)
{
    const doc_pos *p = find_pos(doc, node);
    if (p && p->key_line > 0) {
        *line = p->key_line;
        *col = p->key_col;
        return true;
    }
    *line = p ? p->line : 0;
    *col = p ? p->col : 0;
    return p && p->line > 0;
}

assay_status assay__doc_error(const assay__doc *doc, const cJSON *node,
                              bool at_key, assay_error *err,
                              assay_status status, const char *fmt, ...)
{
    int line = 0, col = 0;
    if (at_key)
        assay__doc_where_key(doc, node, &line, &col);
    else
        assay__doc_where(doc, node, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    assay__error_v(err, status, doc ? doc->name : NULL, line, col, fmt, ap);
    va_end(ap);
    return status;
}
