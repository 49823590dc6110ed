/*
 * template.c - `{{var}}` substitution in prompts and check values.
 *
 * A template is compiled once into a list of parts, each either a run of
 * literal text or a variable whose dotted path has been split into
 * segments; rendering then walks the parts and appends to the caller's
 * buffer, with no allocation of its own.
 *
 * Syntax:
 *  - `{{name}}`, `{{ name }}`: the case's field `name` (spaces, tabs and
 *    line breaks inside the braces are ignored).
 *  - `{{a.b.c}}` goes into objects, `{{items.0}}` into arrays (indexes from
 *    0). A name is made of segments of letters, digits, `_` and `-`, joined
 *    by single dots.
 *  - `{{{{` is a literal `{{` (so `{{{{name}}` renders as `{{name}}`);
 *    anything else, a lone `}}` included, is literal text.
 *  - An unclosed `{{`, or braces that hold no valid name, is a compile
 *    error.
 *
 * Values: strings are inserted as they are; numbers in the shortest form
 * that reads back to the same double, integers without a fraction
 * (3, 2.5, 1e+300), the same in every locale, with `inf`, `-inf` and `nan`
 * for the values JSON lacks; true and false as words; null as `null`
 * (never as an empty string, which would hide a missing answer key);
 * objects and arrays as compact JSON. A variable that the case lacks is an
 * error naming the case, the variable and the fields the case does have.
 *
 * What this file does not do: conditionals, loops, filters or escaping for
 * a target language. Templates fill in text; they are not a program.
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

typedef struct tpl_seg {
    size_t name; /* offset of the NUL-terminated segment in `store` */
    size_t len;
    int index; /* the segment as an array index; -1 when not digits */
} tpl_seg;

typedef struct tpl_part {
    size_t text; /* literal: its offset in `store`; variable: the name's */
    size_t len;  /* literal: its length; variable: the name's */
    size_t seg;  /* variable: its first segment */
    size_t nseg; /* 0 for a literal */
} tpl_part;

struct assay__template {
    char *store; /* literal runs, then each name and its segments */
    tpl_part *parts;
    size_t nparts;
    tpl_seg *segs;
    size_t nsegs;
};

/* ------------------------------------------------------------ compile */

typedef struct tpl_builder {
    assay__buf store;
    tpl_part *parts;
    size_t nparts;
    size_t parts_cap;
    tpl_seg *segs;
    size_t nsegs;
    size_t segs_cap;
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

static bool add_part(tpl_builder *b, tpl_part part)
{
    void *items = b->parts;
    if (!grow(&items, &b->parts_cap, b->nparts, sizeof *b->parts))
        return false;
    b->parts = items;
    b->parts[b->nparts++] = part;
    return true;
}

static bool add_seg(tpl_builder *b, tpl_seg seg)
{
    void *items = b->segs;
    if (!grow(&items, &b->segs_cap, b->nsegs, sizeof *b->segs))
        return false;
    b->segs = items;
    b->segs[b->nsegs++] = seg;
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

enum tpl_problem { TPL_UNCLOSED, TPL_EMPTY, TPL_INVALID };

/* Reports a compile error about the `{{` at text[at] and what it holds. */
static assay_status compile_error(assay_error *err, const char *where,
                                  const char *text, size_t at,
                                  enum tpl_problem what, const char *name,
                                  size_t name_len)
{
    int line, col;
    text_pos(text, at, &line, &col);
    char place[96];
    if (line > 1)
        snprintf(place, sizeof place, "at line %d, column %d of the template",
                 line, col);
    else
        snprintf(place, sizeof place, "at column %d of the template", col);

    /* Quote the name on one line, cut at a character boundary. */
    char quoted[TPL_QUOTE_MAX + 4];
    size_t n = name_len;
    bool cut = n > TPL_QUOTE_MAX;
    if (cut) {
        n = TPL_QUOTE_MAX;
        while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++)
        quoted[i] = (unsigned char)name[i] < 0x20 ? ' ' : name[i];
    memcpy(quoted + n, cut ? "..." : "", cut ? 4 : 1);

    char message[512];
    if (what == TPL_UNCLOSED)
        snprintf(message, sizeof message, "unclosed '{{' %s", place);
    else if (what == TPL_EMPTY)
        snprintf(message, sizeof message, "empty variable name in '{{%s}}' %s",
                 quoted, place);
    else
        snprintf(message, sizeof message,
                 "invalid variable name '%s' %s (a name is letters, digits, "
                 "'_' and '-', with '.' between parts, as in "
                 "{{item.answer}})",
                 quoted, place);
    if (where && *where)
        return assay__error(err, ASSAY_ERR_TEMPLATE, NULL, 0, 0, "%s: %s",
                            where, message);
    return assay__error(err, ASSAY_ERR_TEMPLATE, NULL, 0, 0, "%s", message);
}

/* Ends the literal run that started at store offset `start`, if any. */
static bool close_literal(tpl_builder *b, size_t start)
{
    if (b->store.len == start)
        return true;
    return add_part(b, (tpl_part){start, b->store.len - start, 0, 0});
}

/*
 * Adds the variable `name` (already trimmed); false with *bad set when it
 * is not a valid name, false with *bad clear when memory ran out.
 */
static bool add_variable(tpl_builder *b, const char *name, size_t len,
                         bool *bad)
{
    *bad = true;
    if (len == 0 || name[0] == '.' || name[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '.' ? name[i + 1] == '.' : !is_name_char(name[i]))
            return false;
    }
    *bad = false;

    size_t off = b->store.len;
    if (assay__buf_append(&b->store, name, len) != ASSAY_OK ||
        assay__buf_putc(&b->store, '\0') != ASSAY_OK)
        return false;
    size_t first = b->nsegs;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && name[j] != '.')
            j++;
        size_t seg_off = b->store.len;
        if (assay__buf_append(&b->store, name + i, j - i) != ASSAY_OK ||
            assay__buf_putc(&b->store, '\0') != ASSAY_OK)
            return false;
        int index = 0;
        for (size_t k = i; k < j && index >= 0; k++) {
            if (name[k] < '0' || name[k] > '9')
                index = -1;
            else if (index > (INT_MAX - 9) / 10)
                index = INT_MAX; /* no array is that long */
            else
                index = index * 10 + (name[k] - '0');
        }
        if (!add_seg(b, (tpl_seg){seg_off, j - i, index}))
            return false;
        i = j + 1;
    }
    return add_part(b, (tpl_part){off, len, first, b->nsegs - first});
}

static void builder_release(tpl_builder *b)
{
    assay__buf_release(&b->store);
    free(b->parts);
    free(b->segs);
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
    assay__buf_init(&b.store, 0);
    size_t literal = 0; /* where the current literal run starts in store */
    bool ok = true;
    const char *p = text;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            ok = assay__buf_puts(&b.store, p) == ASSAY_OK;
            break;
        }
        ok = assay__buf_append(&b.store, p, (size_t)(open - p)) == ASSAY_OK;
        if (!ok)
            break;
        if (!strncmp(open, "{{{{", 4)) {
            ok = assay__buf_append(&b.store, "{{", 2) == ASSAY_OK;
            if (!ok)
                break;
            p = open + 4;
            continue;
        }
        const char *close = strstr(open + 2, "}}");
        size_t at = (size_t)(open - text);
        if (!close) {
            builder_release(&b);
            return compile_error(err, where, text, at, TPL_UNCLOSED, NULL, 0);
        }
        const char *name = open + 2, *end = close;
        while (name < end && is_space(*name))
            name++;
        while (end > name && is_space(end[-1]))
            end--;
        size_t inner = (size_t)(close - (open + 2));
        if (name == end) {
            builder_release(&b);
            return compile_error(err, where, text, at, TPL_EMPTY, open + 2,
                                 inner);
        }
        ok = close_literal(&b, literal);
        bool bad = false;
        if (ok)
            ok = add_variable(&b, name, (size_t)(end - name), &bad);
        if (bad) {
            builder_release(&b);
            return compile_error(err, where, text, at, TPL_INVALID, name,
                                 (size_t)(end - name));
        }
        if (!ok)
            break;
        literal = b.store.len;
        p = close + 2;
    }
    if (ok)
        ok = close_literal(&b, literal);

    assay__template *t = ok ? calloc(1, sizeof *t) : NULL;
    if (!t) {
        builder_release(&b);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory compiling a template");
    }
    t->store = assay__buf_detach(&b.store, NULL);
    t->parts = b.parts;
    t->nparts = b.nparts;
    t->segs = b.segs;
    t->nsegs = b.nsegs;
    if (!t->store) {
        assay__template_free(t);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory compiling a template");
    }
    *out = t;
    return ASSAY_OK;
}

void assay__template_free(assay__template *t)
{
    if (!t)
        return;
    free(t->store);
    free(t->parts);
    free(t->segs);
    free(t);
}

bool assay__template_is_constant(const assay__template *t)
{
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].nseg)
            return false;
    return true;
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
    return "not an object";
}

/*
 * Explains why the variable of `part` is missing: segment `failed` is not
 * found in `parent`.
 */
static assay_status missing(const assay__template *t, const tpl_part *part,
                            size_t failed, const cJSON *parent,
                            const char *case_id, assay_error *err)
{
    const char *name = t->store + part->text;
    char why[768];
    why[0] = '\0';
    if (failed == 0) {
        if (cJSON_IsObject(parent) && parent->child) {
            snprintf(why, sizeof why, "the case has: ");
            list_keys(why, sizeof why, parent);
        } else {
            snprintf(why, sizeof why, "the case has no fields");
        }
    } else {
        /* The path up to the parent is the start of the name. */
        const tpl_seg *seg = &t->segs[part->seg + failed];
        size_t prefix = failed - 1; /* the dots */
        for (size_t i = 0; i < failed; i++)
            prefix += t->segs[part->seg + i].len;
        int plen = prefix > INT_MAX ? INT_MAX : (int)prefix;
        const char *child = t->store + seg->name;
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
    if (case_id && *case_id)
        return assay__error(err, ASSAY_ERR_TEMPLATE, NULL, 0, 0,
                            "case '%s': variable '%s' is not defined (%s)",
                            case_id, name, why);
    return assay__error(err, ASSAY_ERR_TEMPLATE, NULL, 0, 0,
                        "variable '%s' is not defined (%s)", name, why);
}

assay_status assay__template_render(const assay__template *t, const cJSON *vars,
                                    const char *case_id, assay__buf *out,
                                    assay_error *err)
{
    size_t start = out->len;
    assay_status st = ASSAY_OK;
    const tpl_part *part = NULL;
    for (size_t i = 0; i < t->nparts && st == ASSAY_OK; i++) {
        part = &t->parts[i];
        if (!part->nseg) {
            st = assay__buf_append(out, t->store + part->text, part->len);
            continue;
        }
        const cJSON *v = vars;
        for (size_t k = 0; k < part->nseg && st == ASSAY_OK; k++) {
            const tpl_seg *seg = &t->segs[part->seg + k];
            const cJSON *next = NULL;
            if (cJSON_IsObject(v))
                next =
                    cJSON_GetObjectItemCaseSensitive(v, t->store + seg->name);
            else if (cJSON_IsArray(v) && seg->index >= 0)
                next = cJSON_GetArrayItem(v, seg->index);
            if (next)
                v = next;
            else
                st = missing(t, part, k, v, case_id, err);
        }
        if (st == ASSAY_OK)
            st = put_value(out, v);
    }
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
    if (part && part->nseg)
        return assay__error(err, st, NULL, 0, 0,
                            "%svariable '%s' makes the text longer than %zu "
                            "bytes or is nested deeper than %d levels",
                            where, t->store + part->text, out->max,
                            TPL_JSON_DEPTH);
    return assay__error(err, st, NULL, 0, 0,
                        "%sthe rendered text is longer than %zu bytes", where,
                        out->max);
}
