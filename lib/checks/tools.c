/*
 * checks/tools.c - the checks on the tool calls of a response:
 * `is-valid-openai-tools-call`, `tool-call` and `tool-call-f1`.
 *
 * All three read the calls the endpoint returned (message.tool_calls, or
 * the deltas of a stream put together), never tool calls written as text
 * in the answer. An arguments string that is empty or only white space
 * counts as {} (some servers send that for a function without
 * parameters); any other that is not one JSON value is not JSON.
 *
 *  - is-valid-openai-tools-call: there is at least one call, and each
 *    names a function in the target's `params.tools` and has arguments
 *    that are a JSON object valid against that function's `parameters`
 *    (JSON Schema, Draft 2020-12 unless the schema's $schema says Draft
 *    7). A function without `parameters` takes no arguments: {} only.
 *    The tools' schemas are compiled once per distinct `tools` list and
 *    kept with the check; a list is found again by its address, confirmed
 *    by its content (each run copies the target's params, and a later copy
 *    may take an address an earlier list had).
 *  - tool-call: the calls are exactly the expected ones, in order. An
 *    expected call is {name, arguments}; the arguments are compared as
 *    JSON, with the rules of match_value() below; `partial: true` lets the
 *    actual arguments have keys the expected ones lack.
 *  - tool-call-f1: F1 of the set of expected calls against the set of
 *    actual calls (duplicates count once), by name and arguments, or by
 *    name alone with `by: name` (the default when no expected call gives
 *    arguments, as promptfoo's tool-call-f1 compares names).
 *
 * Expected calls are written as one mapping {name: get_weather,
 * arguments: {city: "{{city}}"}}, a list of mappings and names, or one
 * text: a template rendered per case and read as JSON (an object is one
 * call, an array a list of calls and names; OpenAI's {type: function,
 * function: {name, arguments}} shape is read too) or, when it is no JSON,
 * as names separated by commas. Every string in written arguments is a
 * template. A call without `arguments` matches any arguments.
 */
#include "checks/checks.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CALLS 1024 /* actual or expected calls judged in one answer */
#define SHOWN_CALLS 8  /* calls listed in a reason */
#define TOOL_TABLES 64 /* distinct tools lists kept compiled */
#define NAMES_SHOWN 16 /* tool names listed in a reason */
#define TEXT_MAX ((size_t)16 << 20) /* a rendered template */
#define PATH_MAX_BYTES 512          /* a JSON path in a reason */

static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

static assay_status oom(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static void trim(const char *s, size_t *from, size_t *to)
{
    while (*from < *to && is_space(s[*from]))
        (*from)++;
    while (*to > *from && is_space(s[*to - 1]))
        (*to)--;
}

/* ------------------------------------------------------------ describing */

/*
 * Appends at most `max` bytes of `s` as they are, never cutting a UTF-8
 * character; control bytes and bytes that start no character become \xNN;
 * "..." marks a cut.
 */
static assay_status put_cut(assay__buf *out, const char *s, size_t len,
                            size_t max)
{
    assay_status st = ASSAY_OK;
    size_t i = 0;
    while (i < len && st == ASSAY_OK) {
        size_t n = assay__checks_utf8_char(s + i, len - i);
        if (i + (n ? n : 1) > max)
            break;
        unsigned char c = (unsigned char)s[i];
        if (n == 0 || c < 0x20 || c == 0x7F)
            st = assay__buf_printf(out, "\\x%02X", (unsigned)c);
        else
            st = assay__buf_append(out, s + i, n);
        i += n ? n : 1;
    }
    if (st == ASSAY_OK && i < len)
        st = assay__buf_puts(out, "...");
    return st;
}

/* A JSON value, compact and cut: {"city":"Paris"} */
static assay_status put_json(assay__buf *out, const cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    if (!text)
        return ASSAY_ERR_NOMEM;
    assay_status st = put_cut(out, text, strlen(text), ASSAY__CHECK_EXCERPT);
    cJSON_free(text);
    return st;
}

/* A value in a comparison: strings quoted, the rest as JSON. */
static assay_status put_value(assay__buf *out, const cJSON *j)
{
    if (cJSON_IsString(j))
        return assay__text_excerpt(out, j->valuestring, strlen(j->valuestring),
                                   ASSAY__CHECK_EXCERPT);
    return put_json(out, j);
}

/* ------------------------------------------------------------ actual calls */

typedef struct actual {
    const char *name;
    const char *args; /* as the model wrote them */
    size_t args_len;
    cJSON *json; /* the arguments parsed; NULL when they are not JSON */
    size_t stop; /* without JSON: where parsing stopped */
} actual;

/* Parses a call's arguments; white space alone reads as {}. */
static assay_status parse_args(actual *a)
{
    size_t from = 0, to = a->args_len;
    trim(a->args, &from, &to);
    if (from == to) {
        a->json = cJSON_CreateObject();
        return a->json ? ASSAY_OK : ASSAY_ERR_NOMEM;
    }
    const char *end = NULL;
    cJSON *j =
        cJSON_ParseWithLengthOpts(a->args + from, to - from, &end, false);
    size_t stop = end ? (size_t)(end - a->args) : from;
    if (j && stop < to) { /* a value, then more */
        cJSON_Delete(j);
        j = NULL;
    }
    a->json = j;
    a->stop = stop < to ? stop : to;
    return ASSAY_OK;
}

static void actuals_free(actual *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        cJSON_Delete(list[i].json);
    free(list);
}

/* The response's calls, their arguments parsed. */
static assay_status actuals_read(const assay__check_input *in, actual **out,
                                 size_t *n_out, assay_error *err)
{
    *out = NULL;
    *n_out = 0;
    const assay__response *r = in->response;
    if (!r)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "there is no response to read tool calls from");
    if (r->n_tool_calls > MAX_CALLS)
        return assay__error(err, ASSAY_ERR_LIMIT, NULL, 0, 0,
                            "the response has %zu tool calls; at most %d "
                            "are judged",
                            r->n_tool_calls, MAX_CALLS);
    if (r->n_tool_calls == 0)
        return ASSAY_OK;
    actual *list = calloc(r->n_tool_calls, sizeof *list);
    if (!list)
        return oom(err);
    for (size_t i = 0; i < r->n_tool_calls; i++) {
        const assay__tool_call *c = &r->tool_calls[i];
        list[i].name = c->name ? c->name : "";
        list[i].args = c->arguments.data;
        list[i].args_len = c->arguments.len;
        if (parse_args(&list[i]) != ASSAY_OK) {
            actuals_free(list, i);
            return oom(err);
        }
    }
    *out = list;
    *n_out = r->n_tool_calls;
    return ASSAY_OK;
}

/* get_weather({"city":"Lyon"}), or its raw arguments when not JSON. */
static assay_status put_actual(assay__buf *out, const actual *a)
{
    assay_status st =
        put_cut(out, a->name, strlen(a->name), ASSAY__CHECK_EXCERPT);
    if (st == ASSAY_OK)
        st = assay__buf_putc(out, '(');
    if (st == ASSAY_OK)
        st = a->json ? put_json(out, a->json)
                     : assay__text_excerpt(out, a->args, a->args_len,
                                           ASSAY__CHECK_EXCERPT);
    if (st == ASSAY_OK)
        st = assay__buf_putc(out, ')');
    return st;
}

/* "no tool call (the answer: '...')", one call, or "2 calls: a(), b()". */
static assay_status put_actuals(assay__buf *out, const actual *list, size_t n,
                                const assay__check_input *in)
{
    if (n == 0) {
        if (in->output_len == 0)
            return assay__buf_puts(out, "no tool call and no answer");
        assay_status st = assay__buf_puts(out, "no tool call (the answer: ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out, in->output, in->output_len,
                                     ASSAY__CHECK_EXCERPT);
        if (st == ASSAY_OK)
            st = assay__buf_putc(out, ')');
        return st;
    }
    assay_status st =
        n > 1 ? assay__buf_printf(out, "%zu calls: ", n) : ASSAY_OK;
    for (size_t i = 0; i < n && i < SHOWN_CALLS && st == ASSAY_OK; i++) {
        if (i)
            st = assay__buf_puts(out, ", ");
        if (st == ASSAY_OK)
            st = put_actual(out, &list[i]);
    }
    if (st == ASSAY_OK && n > SHOWN_CALLS)
        st = assay__buf_printf(out, " and %zu more", n - SHOWN_CALLS);
    return st;
}

/* ------------------------------------------------------------ comparing */

/* Where a comparison is, and the first difference it found. */
typedef struct compare {
    bool partial;    /* actual objects may have keys the expected lack */
    assay__buf *why; /* NULL: only whether they match */
    assay__buf path; /* "$.city", "$.items[2]" */
    assay_status st;
} compare;

static bool plain_key(const char *k)
{
    if (!*k)
        return false;
    for (const char *c = k; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return false;
    return true;
}

/* Adds a step to the path; returns its old length, to go back to. */
static size_t path_push(compare *c, const char *key, int index)
{
    size_t mark = c->path.len;
    assay_status st;
    if (key && plain_key(key))
        st = assay__buf_printf(&c->path, ".%s", key);
    else if (key) { /* $['a key'] */
        st = assay__buf_putc(&c->path, '[');
        if (st == ASSAY_OK)
            st = assay__text_excerpt(&c->path, key, strlen(key), 64);
        if (st == ASSAY_OK)
            st = assay__buf_putc(&c->path, ']');
    } else
        st = assay__buf_printf(&c->path, "[%d]", index);
    if (st != ASSAY_OK) { /* a deep path is cut; the comparison goes on */
        c->path.len = mark;
        c->path.data[mark] = '\0';
    }
    return mark;
}

static void path_pop(compare *c, size_t mark)
{
    c->path.len = mark;
    c->path.data[mark] = '\0';
}

/* "$.city is 'Lyon', not 'Paris'" */
static void differ(compare *c, const cJSON *e, const cJSON *a)
{
    if (!c->why || c->st != ASSAY_OK)
        return;
    c->st = assay__buf_printf(c->why, "%s is ", c->path.data);
    if (c->st == ASSAY_OK)
        c->st = put_value(c->why, a);
    if (c->st == ASSAY_OK)
        c->st = assay__buf_puts(c->why, ", not ");
    if (c->st == ASSAY_OK)
        c->st = put_value(c->why, e);
}

static void say(compare *c, const char *what)
{
    if (c->why && c->st == ASSAY_OK)
        c->st = assay__buf_printf(c->why, "%s %s", c->path.data, what);
}

static bool match_value(compare *c, const cJSON *e, const cJSON *a);

/*
 * A string expected where the actual value is no string: templates
 * render text, so "3" stands for 3, "true" for true and '{"a": 1}' for
 * that object.
 */
static bool match_text(compare *c, const cJSON *e, const cJSON *a)
{
    const char *s = e->valuestring;
    size_t from = 0, to = strlen(s);
    trim(s, &from, &to);
    const char *end = NULL;
    cJSON *j = from < to
                   ? cJSON_ParseWithLengthOpts(s + from, to - from, &end, false)
                   : NULL;
    if (!j || end != s + to || cJSON_IsString(j)) {
        cJSON_Delete(j);
        differ(c, e, a);
        return false;
    }
    bool same = match_value(c, j, a);
    cJSON_Delete(j);
    return same;
}

static bool match_object(compare *c, const cJSON *e, const cJSON *a)
{
    const cJSON *item;
    cJSON_ArrayForEach (item, e) {
        size_t mark = path_push(c, item->string, 0);
        const cJSON *other = cJSON_GetObjectItemCaseSensitive(a, item->string);
        bool same = other != NULL;
        if (!other)
            say(c, "is missing");
        else
            same = match_value(c, item, other);
        path_pop(c, mark);
        if (!same)
            return false;
    }
    if (c->partial)
        return true;
    cJSON_ArrayForEach (item, a) {
        if (cJSON_GetObjectItemCaseSensitive(e, item->string))
            continue;
        size_t mark = path_push(c, item->string, 0);
        say(c, "is not expected");
        path_pop(c, mark);
        return false;
    }
    return true;
}

static bool match_array(compare *c, const cJSON *e, const cJSON *a)
{
    int n = cJSON_GetArraySize(e), m = cJSON_GetArraySize(a);
    if (n != m) {
        if (c->why && c->st == ASSAY_OK)
            c->st = assay__buf_printf(c->why, "%s has %d item%s, not %d",
                                      c->path.data, m, m == 1 ? "" : "s", n);
        return false;
    }
    const cJSON *x = e->child, *y = a->child;
    for (int i = 0; x && y; i++, x = x->next, y = y->next) {
        size_t mark = path_push(c, NULL, i);
        bool same = match_value(c, x, y);
        path_pop(c, mark);
        if (!same)
            return false;
    }
    return true;
}

/*
 * Whether actual value `a` is expected value `e`: numbers numerically
 * (1 is 1.0), strings by their bytes, objects key by key whatever their
 * order, arrays item by item. An expected string matches a non-string
 * that it spells as JSON (see match_text).
 */
static bool match_value(compare *c, const cJSON *e, const cJSON *a)
{
    if (cJSON_IsString(e) && !cJSON_IsString(a))
        return match_text(c, e, a);
    bool same;
    if (cJSON_IsString(e))
        same = !strcmp(e->valuestring, a->valuestring);
    else if (cJSON_IsNumber(e))
        same = cJSON_IsNumber(a) && e->valuedouble == a->valuedouble;
    else if (cJSON_IsObject(e))
        return cJSON_IsObject(a) ? match_object(c, e, a)
                                 : (differ(c, e, a), false);
    else if (cJSON_IsArray(e))
        return cJSON_IsArray(a) ? match_array(c, e, a)
                                : (differ(c, e, a), false);
    else /* true, false, null */
        same = (e->type & 0xFF) == (a->type & 0xFF);
    if (!same)
        differ(c, e, a);
    return same;
}

static void compare_init(compare *c, bool partial, assay__buf *why)
{
    c->partial = partial;
    c->why = why;
    c->st = ASSAY_OK;
    assay__buf_init(&c->path, PATH_MAX_BYTES);
    assay__buf_putc(&c->path, '$');
}

/*
 * Whether actual call `a` is expected call `e` ({name, arguments?});
 * the first difference goes to `why` (may be NULL).
 */
static bool match_call(const cJSON *e, const actual *a, bool partial,
                       assay__buf *why, assay_status *st)
{
    const char *name = cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring;
    if (strcmp(name, a->name) != 0) {
        if (why && *st == ASSAY_OK) {
            *st = put_cut(why, a->name, strlen(a->name), ASSAY__CHECK_EXCERPT);
            if (*st == ASSAY_OK)
                *st = assay__buf_puts(why, " is called, not ");
            if (*st == ASSAY_OK)
                *st = put_cut(why, name, strlen(name), ASSAY__CHECK_EXCERPT);
        }
        return false;
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "arguments");
    if (!args)
        return true;
    if (!a->json) {
        if (why && *st == ASSAY_OK)
            *st = assay__buf_printf(why,
                                    "its arguments are not JSON (invalid at "
                                    "offset %zu)",
                                    a->stop);
        return false;
    }
    compare c;
    compare_init(&c, partial, why);
    bool same = match_value(&c, args, a->json);
    if (*st == ASSAY_OK)
        *st = c.st;
    assay__buf_release(&c.path);
    return same;
}

/* ---------------------------------------------------------- expected calls */

/* One expected call as written: its name and arguments are templates. */
typedef struct call_spec {
    assay__template *name;
    cJSON *args;             /* as written, or NULL: any arguments */
    assay__template **texts; /* the templates of args' strings, in order */
    size_t n_texts;
} call_spec;

typedef struct expected {
    call_spec *calls;
    size_t n;
    assay__template *whole; /* a value written as one text */
    cJSON *fixed;           /* the calls when nothing in them varies */
} expected;

static void expected_release(expected *x)
{
    for (size_t i = 0; i < x->n; i++) {
        call_spec *c = &x->calls[i];
        assay__template_free(c->name);
        for (size_t k = 0; k < c->n_texts; k++)
            assay__template_free(c->texts[k]);
        free(c->texts);
        cJSON_Delete(c->args);
    }
    free(x->calls);
    assay__template_free(x->whole);
    cJSON_Delete(x->fixed);
    memset(x, 0, sizeof *x);
}

/* "suite.yaml:12:9", for template errors. */
static void where_of(const assay__doc *doc, const cJSON *node, char *out,
                     size_t size)
{
    int line = 0, col = 0;
    if (assay__doc_where(doc, node, &line, &col))
        snprintf(out, size, "%s:%d:%d", assay__doc_name(doc), line, col);
    else
        snprintf(out, size, "%s", assay__doc_name(doc));
}

static assay_status compile_text(const assay__doc *doc, const cJSON *node,
                                 assay__template **out, assay_error *err)
{
    char where[600];
    where_of(doc, node, where, sizeof where);
    return assay__template_compile(node->valuestring, where, out, err);
}

static size_t count_strings(const cJSON *node)
{
    if (cJSON_IsString(node))
        return 1;
    size_t n = 0;
    const cJSON *child;
    cJSON_ArrayForEach (child, node)
        n += count_strings(child);
    return n;
}

/* Compiles the strings under `node`, depth first, into c->texts. */
static assay_status compile_strings(const assay__doc *doc, const cJSON *node,
                                    call_spec *c, assay_error *err)
{
    if (cJSON_IsString(node))
        return compile_text(doc, node, &c->texts[c->n_texts++], err);
    const cJSON *child;
    cJSON_ArrayForEach (child, node) {
        assay_status st = compile_strings(doc, child, c, err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static const char *const call_keys[] = {"name", "arguments", NULL};

static assay_status compile_call(const assay__check_spec *spec,
                                 const cJSON *node, call_spec *c,
                                 assay_error *err)
{
    if (cJSON_IsString(node))
        return compile_text(spec->doc, node, &c->name, err);
    const cJSON *member;
    cJSON_ArrayForEach (member, node) {
        bool known = false;
        for (const char *const *k = call_keys; *k; k++)
            known = known || !strcmp(*k, member->string);
        if (!known)
            return assay__doc_error(spec->doc, member, true, err,
                                    ASSAY_ERR_CHECK,
                                    "unknown key '%s' in an expected tool "
                                    "call (it takes 'name' and "
                                    "'arguments')",
                                    member->string);
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(node, "name");
    if (!cJSON_IsString(name) || !name->valuestring[0])
        return assay__doc_error(spec->doc, name ? name : node, false, err,
                                ASSAY_ERR_CHECK,
                                "an expected tool call needs a 'name', as in "
                                "{name: get_weather, arguments: {city: "
                                "Paris}}");
    assay_status st = compile_text(spec->doc, name, &c->name, err);
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(node, "arguments");
    if (st != ASSAY_OK || !args || cJSON_IsNull(args))
        return st;
    size_t n = count_strings(args);
    c->args = cJSON_Duplicate(args, true);
    c->texts = calloc(n ? n : 1, sizeof *c->texts);
    if (!c->args || !c->texts)
        return oom(err);
    return compile_strings(spec->doc, args, c, err);
}

/* A rendered template's text, appended to `out`. */
static assay_status render_text(const assay__template *t, const cJSON *vars,
                                const char *case_id, assay__buf *out,
                                assay_error *err)
{
    assay__buf_reset(out);
    return assay__template_render(t, vars, case_id, out, err);
}

/* The arguments with their strings rendered. */
static cJSON *render_args(const cJSON *node, const call_spec *c, size_t *next,
                          const cJSON *vars, const char *case_id,
                          assay__buf *text, assay_status *st, assay_error *err)
{
    if (cJSON_IsString(node)) {
        *st = render_text(c->texts[(*next)++], vars, case_id, text, err);
        if (*st != ASSAY_OK)
            return NULL;
        cJSON *s = cJSON_CreateString(text->data);
        if (!s)
            *st = oom(err);
        return s;
    }
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node)) {
        cJSON *copy = cJSON_Duplicate(node, false);
        if (!copy)
            *st = oom(err);
        return copy;
    }
    cJSON *out =
        cJSON_IsObject(node) ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!out) {
        *st = oom(err);
        return NULL;
    }
    const cJSON *child;
    cJSON_ArrayForEach (child, node) {
        cJSON *r = render_args(child, c, next, vars, case_id, text, st, err);
        if (!r) {
            cJSON_Delete(out);
            return NULL;
        }
        if (cJSON_IsObject(node))
            cJSON_AddItemToObject(out, child->string, r);
        else
            cJSON_AddItemToArray(out, r);
    }
    return out;
}

/* Appends {name, arguments?} to `calls`. */
static bool add_call(cJSON *calls, const char *name, const cJSON *args)
{
    cJSON *call = cJSON_CreateObject();
    if (!call || !cJSON_AddItemToArray(calls, call) ||
        !cJSON_AddStringToObject(call, "name", name))
        return false;
    if (!args || cJSON_IsNull(args))
        return true;
    cJSON *copy = cJSON_Duplicate(args, true);
    if (!copy)
        return false;
    cJSON_AddItemToObject(call, "arguments", copy);
    return true;
}

/*
 * Reads a rendered text as calls (see the top of the file); `why` says
 * what is wrong with it. Returns NULL with why[0] '\0' when out of memory.
 */
static cJSON *read_calls(const char *s, size_t len, char *why, size_t size)
{
    why[0] = '\0';
    cJSON *calls = cJSON_CreateArray();
    if (!calls)
        return NULL;
    size_t from = 0, to = len;
    trim(s, &from, &to);
    if (from < to && (s[from] == '{' || s[from] == '[')) {
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(s + from, to - from, &end, false);
        if (!j || end != s + to) {
            cJSON_Delete(j);
            cJSON_Delete(calls);
            snprintf(why, size, "it is not JSON (invalid at offset %zu)",
                     end ? (size_t)(end - s) : from);
            return NULL;
        }
        const cJSON *item = cJSON_IsObject(j) ? j : j->child;
        for (; item; item = cJSON_IsObject(j) ? NULL : item->next) {
            const cJSON *fn =
                cJSON_GetObjectItemCaseSensitive(item, "function");
            const cJSON *call = cJSON_IsObject(fn) ? fn : item;
            const cJSON *name =
                cJSON_IsString(item)
                    ? item
                    : cJSON_GetObjectItemCaseSensitive(call, "name");
            if (!cJSON_IsString(name) || !name->valuestring[0]) {
                snprintf(why, size, "a call has no 'name'");
                break;
            }
            const cJSON *args =
                cJSON_IsString(item)
                    ? NULL
                    : cJSON_GetObjectItemCaseSensitive(call, "arguments");
            if (!add_call(calls, name->valuestring, args)) {
                cJSON_Delete(j);
                cJSON_Delete(calls);
                return NULL;
            }
        }
        cJSON_Delete(j);
    } else {
        while (from < to) { /* names separated by commas */
            size_t end = from;
            while (end < to && s[end] != ',')
                end++;
            size_t a = from, b = end;
            trim(s, &a, &b);
            if (b > a) {
                char *name = malloc(b - a + 1);
                bool ok = name != NULL;
                if (ok) {
                    memcpy(name, s + a, b - a);
                    name[b - a] = '\0';
                    ok = add_call(calls, name, NULL);
                }
                free(name);
                if (!ok) {
                    cJSON_Delete(calls);
                    return NULL;
                }
            }
            from = end + 1;
        }
    }
    if (!why[0] && cJSON_GetArraySize(calls) > MAX_CALLS)
        snprintf(why, size, "it lists more than %d calls", MAX_CALLS);
    if (why[0]) {
        cJSON_Delete(calls);
        return NULL;
    }
    return calls;
}

/* The calls of a whole-text value, rendered for a case. */
static assay_status render_whole(const expected *x, const cJSON *vars,
                                 const char *case_id, cJSON **out,
                                 assay_error *err)
{
    assay__buf text;
    assay__buf_init(&text, TEXT_MAX);
    assay_status st = render_text(x->whole, vars, case_id, &text, err);
    if (st == ASSAY_OK) {
        char why[128];
        *out = read_calls(text.data, text.len, why, sizeof why);
        if (!*out && why[0]) {
            assay__buf quoted;
            assay__buf_init(&quoted, 1024);
            assay__text_excerpt(&quoted, text.data, text.len,
                                ASSAY__CHECK_EXCERPT);
            st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                              "the expected calls render to %s, and %s "
                              "(write JSON, or names separated by commas)",
                              quoted.data, why);
            assay__buf_release(&quoted);
        } else if (!*out) {
            st = oom(err);
        }
    }
    assay__buf_release(&text);
    return st;
}

/* The expected calls for a case, as [{name, arguments?}, ...] (owned). */
static assay_status expected_render(const expected *x, const cJSON *vars,
                                    const char *case_id, cJSON **out,
                                    assay_error *err)
{
    *out = NULL;
    if (x->fixed) {
        *out = cJSON_Duplicate(x->fixed, true);
        return *out ? ASSAY_OK : oom(err);
    }
    if (x->whole)
        return render_whole(x, vars, case_id, out, err);
    cJSON *calls = cJSON_CreateArray();
    assay__buf text;
    assay__buf_init(&text, TEXT_MAX);
    assay_status st = calls ? ASSAY_OK : oom(err);
    for (size_t i = 0; i < x->n && st == ASSAY_OK; i++) {
        const call_spec *c = &x->calls[i];
        cJSON *args = NULL;
        size_t next = 0;
        if (c->args)
            args =
                render_args(c->args, c, &next, vars, case_id, &text, &st, err);
        if (st == ASSAY_OK) /* the name last: `text` holds it for add_call */
            st = render_text(c->name, vars, case_id, &text, err);
        if (st == ASSAY_OK && !add_call(calls, text.data, args))
            st = oom(err);
        cJSON_Delete(args);
    }
    assay__buf_release(&text);
    if (st != ASSAY_OK) {
        cJSON_Delete(calls);
        return st;
    }
    *out = calls;
    return ASSAY_OK;
}

static bool is_constant(const expected *x)
{
    if (x->whole)
        return assay__template_is_constant(x->whole);
    for (size_t i = 0; i < x->n; i++) {
        if (!assay__template_is_constant(x->calls[i].name))
            return false;
        for (size_t k = 0; k < x->calls[i].n_texts; k++)
            if (!assay__template_is_constant(x->calls[i].texts[k]))
                return false;
    }
    return true;
}

/* Renders constant calls now, so a mistake in them is a load error. */
static assay_status fix_constant(const assay__check_spec *spec,
                                 const cJSON *node, expected *x,
                                 assay_error *err)
{
    if (!is_constant(x))
        return ASSAY_OK;
    assay_error why;
    assay_error_clear(&why);
    assay_status st = expected_render(x, NULL, NULL, &x->fixed, &why);
    if (st == ASSAY_ERR_CHECK)
        return assay__doc_error(spec->doc, node, false, err, st, "%s",
                                why.message);
    if (st != ASSAY_OK && err)
        *err = why;
    return st;
}

/* Reads the expected calls from `node` (a mapping, a list or a text). */
static assay_status expected_compile(const assay__check_spec *spec,
                                     const cJSON *node, expected *x,
                                     assay_error *err)
{
    memset(x, 0, sizeof *x);
    if (cJSON_IsString(node)) {
        assay_status st = compile_text(spec->doc, node, &x->whole, err);
        return st == ASSAY_OK ? fix_constant(spec, node, x, err) : st;
    }
    bool list = cJSON_IsArray(node);
    if (!list && !cJSON_IsObject(node))
        return assay__doc_error(spec->doc, node, false, err, ASSAY_ERR_CHECK,
                                "check '%s' expects a tool call {name: ..., "
                                "arguments: {...}}, a list of them, or a "
                                "text",
                                spec->type);
    int n = list ? cJSON_GetArraySize(node) : 1;
    if (n > MAX_CALLS)
        return assay__doc_error(spec->doc, node, false, err, ASSAY_ERR_CHECK,
                                "check '%s' takes at most %d calls", spec->type,
                                MAX_CALLS);
    x->calls = calloc(n ? (size_t)n : 1, sizeof *x->calls);
    if (!x->calls)
        return oom(err);
    const cJSON *item = list ? node->child : node;
    for (; item && x->n < (size_t)n; item = item->next) {
        if (!cJSON_IsString(item) && !cJSON_IsObject(item))
            return assay__doc_error(spec->doc, item, false, err,
                                    ASSAY_ERR_CHECK,
                                    "an expected tool call is a name or "
                                    "{name: ..., arguments: {...}}");
        assay_status st = compile_call(spec, item, &x->calls[x->n++], err);
        if (st != ASSAY_OK)
            return st;
        if (!list)
            break;
    }
    return fix_constant(spec, node, x, err);
}

static const char *call_name(const cJSON *call)
{
    return cJSON_GetObjectItemCaseSensitive(call, "name")->valuestring;
}

/* get_weather({"city":"Paris"}), or get_weather(...) for any arguments. */
static assay_status put_expected(assay__buf *out, const cJSON *call,
                                 bool names_only)
{
    const char *name = call_name(call);
    assay_status st = put_cut(out, name, strlen(name), ASSAY__CHECK_EXCERPT);
    if (names_only || st != ASSAY_OK)
        return st;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(call, "arguments");
    st = assay__buf_putc(out, '(');
    if (st == ASSAY_OK)
        st = args ? put_json(out, args) : assay__buf_puts(out, "...");
    if (st == ASSAY_OK)
        st = assay__buf_putc(out, ')');
    return st;
}

static assay_status put_expected_list(assay__buf *out, const cJSON *calls,
                                      const char *sep, bool names_only)
{
    assay_status st = ASSAY_OK;
    size_t i = 0, n = (size_t)cJSON_GetArraySize(calls);
    const cJSON *call;
    cJSON_ArrayForEach (call, calls) {
        if (i == SHOWN_CALLS || st != ASSAY_OK)
            break;
        if (i++)
            st = assay__buf_puts(out, sep);
        if (st == ASSAY_OK)
            st = put_expected(out, call, names_only);
    }
    if (st == ASSAY_OK && n > SHOWN_CALLS)
        st = assay__buf_printf(out, " and %zu more", n - SHOWN_CALLS);
    return st;
}

/* ------------------------------------------------------------ tool-call */

typedef struct tool_call_state {
    expected x;
    bool partial;
} tool_call_state;

static void tool_call_free(void *state)
{
    tool_call_state *s = state;
    if (!s)
        return;
    expected_release(&s->x);
    free(s);
}

static assay_status read_bool(const assay__check_spec *spec, const char *key,
                              bool *out, assay_error *err)
{
    const cJSON *v = spec->options
                         ? cJSON_GetObjectItemCaseSensitive(spec->options, key)
                         : NULL;
    if (!v)
        return ASSAY_OK;
    if (!cJSON_IsBool(v))
        return assay__doc_error(spec->doc, v, false, err, ASSAY_ERR_CHECK,
                                "'%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return ASSAY_OK;
}

/* The expected calls: the value or, in the long form, `calls`. */
static const cJSON *calls_node(const assay__check_spec *spec)
{
    const cJSON *calls =
        spec->options ? cJSON_GetObjectItemCaseSensitive(spec->options, "calls")
                      : NULL;
    return calls ? calls : spec->value;
}

static assay_status tool_call_compile(const assay__check_spec *spec,
                                      void **state, assay_error *err)
{
    const cJSON *calls =
        spec->options ? cJSON_GetObjectItemCaseSensitive(spec->options, "calls")
                      : NULL;
    if (calls && spec->value)
        return assay__doc_error(spec->doc, calls, true, err, ASSAY_ERR_CHECK,
                                "give the expected calls once, as 'value' "
                                "or as 'calls'");
    const cJSON *node = calls_node(spec);
    if (!node)
        return assay__doc_error(spec->doc, spec->options, false, err,
                                ASSAY_ERR_CHECK,
                                "check 'tool-call' needs the expected call, "
                                "as in {tool-call: {name: get_weather, "
                                "arguments: {city: Paris}}}");
    tool_call_state *s = calloc(1, sizeof *s);
    if (!s)
        return oom(err);
    assay_status st = read_bool(spec, "partial", &s->partial, err);
    if (st == ASSAY_OK)
        st = expected_compile(spec, node, &s->x, err);
    if (st != ASSAY_OK) {
        tool_call_free(s);
        return st;
    }
    *state = s;
    return ASSAY_OK;
}

/* "call a({...}), then b(...)" */
static assay_status tool_call_want(const tool_call_state *s, const cJSON *calls,
                                   assay__buf *want)
{
    if (cJSON_GetArraySize(calls) == 0)
        return assay__buf_puts(want, "make no tool call");
    assay_status st = assay__buf_puts(want, "call ");
    if (st == ASSAY_OK)
        st = put_expected_list(want, calls, ", then ", false);
    if (st == ASSAY_OK && s->partial)
        st = assay__buf_puts(want, " (other arguments allowed)");
    return st;
}

/* Compares in order; the first difference goes to `why`. */
static bool tool_call_judge(const tool_call_state *s, const cJSON *calls,
                            const actual *list, size_t n, assay__buf *why,
                            assay_status *st)
{
    size_t n_e = (size_t)cJSON_GetArraySize(calls), i = 0;
    const cJSON *e = calls->child;
    for (; e && i < n; e = e->next, i++) {
        if (n_e > 1 || n > 1)
            *st = assay__buf_printf(why, "call %zu: ", i + 1);
        if (!match_call(e, &list[i], s->partial, why, st))
            return false;
        assay__buf_reset(why); /* this one matched: no prefix wanted */
    }
    if (n > n_e && n_e > 0) {
        *st = assay__buf_printf(why, "call %zu, ", n_e + 1);
        if (*st == ASSAY_OK)
            *st = put_cut(why, list[n_e].name, strlen(list[n_e].name),
                          ASSAY__CHECK_EXCERPT);
        if (*st == ASSAY_OK)
            *st = assay__buf_puts(why, ", is not expected");
        return false;
    }
    if (n < n_e && n > 0) {
        *st = assay__buf_printf(why, "call %zu, %s, is missing", n + 1,
                                call_name(e));
        return false;
    }
    return n == n_e;
}

static assay_status tool_call_run(void *state, const assay__check_input *in,
                                  assay__check_finding *out, assay_error *err)
{
    const tool_call_state *s = state;
    cJSON *calls;
    assay_status st =
        expected_render(&s->x, in->vars, in->case_id, &calls, err);
    if (st != ASSAY_OK)
        return st;
    actual *list;
    size_t n;
    st = actuals_read(in, &list, &n, err);
    if (st != ASSAY_OK) {
        cJSON_Delete(calls);
        return st;
    }
    assay__buf why;
    assay__buf_init(&why, 4096);
    assay_status put = ASSAY_OK;
    out->pass = tool_call_judge(s, calls, list, n, &why, &put);
    out->score = out->pass ? 1.0 : 0.0;
    if (put == ASSAY_OK)
        put = tool_call_want(s, calls, out->want);
    if (put == ASSAY_OK)
        put = put_actuals(out->found, list, n, in);
    if (put == ASSAY_OK && !out->pass && why.len)
        put = assay__buf_printf(out->found, ": %s", why.data);
    assay__buf_release(&why);
    actuals_free(list, n);
    cJSON_Delete(calls);
    return failed(put, err);
}

static const char *const tool_call_options[] = {"calls", "partial", NULL};

const assay__check_family assay__checks_tool_call = {
    .name = "tool-call",
    .value_use = ASSAY__VALUE_OPTIONAL,
    .options = tool_call_options,
    .compile = tool_call_compile,
    .run = tool_call_run,
    .free = tool_call_free,
};

/* ------------------------------------------------------------ tool-call-f1 */

typedef enum f1_by { BY_AUTO, BY_CALL, BY_NAME } f1_by;

typedef struct f1_state {
    expected x;
    f1_by by;
} f1_state;

static void f1_free(void *state)
{
    f1_state *s = state;
    if (!s)
        return;
    expected_release(&s->x);
    free(s);
}

static assay_status f1_compile(const assay__check_spec *spec, void **state,
                               assay_error *err)
{
    f1_state *s = calloc(1, sizeof *s);
    if (!s)
        return oom(err);
    const cJSON *by =
        spec->options ? cJSON_GetObjectItemCaseSensitive(spec->options, "by")
                      : NULL;
    assay_status st = ASSAY_OK;
    if (by && cJSON_IsString(by) && !strcmp(by->valuestring, "call"))
        s->by = BY_CALL;
    else if (by && cJSON_IsString(by) && !strcmp(by->valuestring, "name"))
        s->by = BY_NAME;
    else if (by)
        st = assay__doc_error(spec->doc, by, false, err, ASSAY_ERR_CHECK,
                              "'by' is 'call' (name and arguments) or "
                              "'name'");
    if (st == ASSAY_OK)
        st = expected_compile(spec, spec->value, &s->x, err);
    if (st != ASSAY_OK) {
        f1_free(s);
        return st;
    }
    *state = s;
    return ASSAY_OK;
}

/* Whether two expected calls are one member of the set. */
static bool same_expected(const cJSON *a, const cJSON *b, bool by_name)
{
    if (strcmp(call_name(a), call_name(b)) != 0)
        return false;
    if (by_name)
        return true;
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, "arguments");
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, "arguments");
    if (!x || !y)
        return !x && !y;
    compare c;
    compare_init(&c, false, NULL);
    bool same = match_value(&c, x, y) && match_value(&c, y, x);
    assay__buf_release(&c.path);
    return same;
}

/* Whether two actual calls are one member of the set. */
static bool same_actual(const actual *a, const actual *b, bool by_name)
{
    if (strcmp(a->name, b->name) != 0)
        return false;
    if (by_name)
        return true;
    if (!a->json || !b->json)
        return !a->json && !b->json && a->args_len == b->args_len &&
               !memcmp(a->args, b->args, a->args_len);
    compare c;
    compare_init(&c, false, NULL);
    bool same = match_value(&c, a->json, b->json);
    assay__buf_release(&c.path);
    return same;
}

/* The sets' sizes and their overlap, matching each member once. */
typedef struct f1_count {
    size_t n_expected;
    size_t n_actual;
    size_t matched;
    bool *e_unique; /* per expected call: the first of its kind */
    bool *a_unique;
    bool *e_matched;
    bool *a_matched;
} f1_count;

static void f1_count_release(f1_count *f)
{
    free(f->e_unique);
    free(f->a_unique);
    free(f->e_matched);
    free(f->a_matched);
}

/* Pairs expected with actual calls: the ones with arguments first, so a
   call that matches any arguments takes only what the others leave. */
static void f1_match(f1_count *f, const cJSON **e, size_t n_e, const actual *a,
                     size_t n_a, bool by_name)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n_e; i++) {
            bool any =
                by_name || !cJSON_GetObjectItemCaseSensitive(e[i], "arguments");
            if (!f->e_unique[i] || any != (pass == 1))
                continue;
            for (size_t k = 0; k < n_a; k++) {
                if (!f->a_unique[k] || f->a_matched[k])
                    continue;
                assay_status ignored = ASSAY_OK;
                bool hit = by_name
                               ? !strcmp(call_name(e[i]), a[k].name)
                               : match_call(e[i], &a[k], false, NULL, &ignored);
                if (hit) {
                    f->e_matched[i] = f->a_matched[k] = true;
                    f->matched++;
                    break;
                }
            }
        }
    }
}

static bool f1_count_make(f1_count *f, const cJSON **e, size_t n_e,
                          const actual *a, size_t n_a, bool by_name)
{
    memset(f, 0, sizeof *f);
    f->e_unique = calloc(n_e + 1, sizeof *f->e_unique);
    f->e_matched = calloc(n_e + 1, sizeof *f->e_matched);
    f->a_unique = calloc(n_a + 1, sizeof *f->a_unique);
    f->a_matched = calloc(n_a + 1, sizeof *f->a_matched);
    if (!f->e_unique || !f->e_matched || !f->a_unique || !f->a_matched)
        return false;
    for (size_t i = 0; i < n_e; i++) {
        f->e_unique[i] = true;
        for (size_t k = 0; k < i && f->e_unique[i]; k++)
            f->e_unique[i] =
                !(f->e_unique[k] && same_expected(e[k], e[i], by_name));
        f->n_expected += f->e_unique[i];
    }
    for (size_t i = 0; i < n_a; i++) {
        f->a_unique[i] = true;
        for (size_t k = 0; k < i && f->a_unique[i]; k++)
            f->a_unique[i] =
                !(f->a_unique[k] && same_actual(&a[k], &a[i], by_name));
        f->n_actual += f->a_unique[i];
    }
    f1_match(f, e, n_e, a, n_a, by_name);
    return true;
}

/* "; missing get_time(...)" and "; unexpected x({})" */
static assay_status put_leftovers(assay__buf *out, const f1_count *f,
                                  const cJSON **e, size_t n_e, const actual *a,
                                  size_t n_a, bool by_name)
{
    assay_status st = ASSAY_OK;
    size_t shown = 0;
    for (size_t i = 0; i < n_e && st == ASSAY_OK; i++) {
        if (!f->e_unique[i] || f->e_matched[i] || shown == SHOWN_CALLS)
            continue;
        st = assay__buf_puts(out, shown++ ? ", " : "; missing ");
        if (st == ASSAY_OK)
            st = put_expected(out, e[i], by_name);
    }
    shown = 0;
    for (size_t k = 0; k < n_a && st == ASSAY_OK; k++) {
        if (!f->a_unique[k] || f->a_matched[k] || shown == SHOWN_CALLS)
            continue;
        st = assay__buf_puts(out, shown++ ? ", " : "; unexpected ");
        if (st == ASSAY_OK)
            st = by_name ? put_cut(out, a[k].name, strlen(a[k].name),
                                   ASSAY__CHECK_EXCERPT)
                         : put_actual(out, &a[k]);
    }
    return st;
}

static bool any_arguments(const cJSON *calls)
{
    const cJSON *call;
    cJSON_ArrayForEach (call, calls)
        if (cJSON_GetObjectItemCaseSensitive(call, "arguments"))
            return true;
    return false;
}

static double f1_of(const f1_count *f, double *precision, double *recall)
{
    if (f->n_expected == 0 || f->n_actual == 0) {
        *precision = *recall = f->n_expected == f->n_actual ? 1.0 : 0.0;
        return *precision;
    }
    *precision = (double)f->matched / (double)f->n_actual;
    *recall = (double)f->matched / (double)f->n_expected;
    double sum = *precision + *recall;
    return sum > 0 ? 2.0 * *precision * *recall / sum : 0.0;
}

static assay_status f1_reason(const f1_count *f, const cJSON *calls,
                              const cJSON **e, const actual *a, size_t n_a,
                              bool by_name, const assay__check_input *in,
                              double score, assay__check_finding *out)
{
    size_t n_e = (size_t)cJSON_GetArraySize(calls);
    double p, r;
    f1_of(f, &p, &r);
    assay_status st = assay__buf_puts(out->want, "have tool-call F1 >= ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->want, in->threshold, 3);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->want, " against ");
    if (st == ASSAY_OK)
        st = n_e ? put_expected_list(out->want, calls, ", ", by_name)
                 : assay__buf_puts(out->want, "no tool call");
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, "F1 ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, score, 3);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, " (precision ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, p, 3);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, ", recall ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, r, 3);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, ") for ");
    if (st == ASSAY_OK)
        st = put_actuals(out->found, a, n_a, in);
    if (st == ASSAY_OK)
        st = put_leftovers(out->found, f, e, n_e, a, n_a, by_name);
    return st;
}

static assay_status f1_run(void *state, const assay__check_input *in,
                           assay__check_finding *out, assay_error *err)
{
    const f1_state *s = state;
    cJSON *calls;
    assay_status st =
        expected_render(&s->x, in->vars, in->case_id, &calls, err);
    if (st != ASSAY_OK)
        return st;
    actual *a;
    size_t n_a;
    st = actuals_read(in, &a, &n_a, err);
    if (st != ASSAY_OK) {
        cJSON_Delete(calls);
        return st;
    }
    bool by_name =
        s->by == BY_NAME || (s->by == BY_AUTO && !any_arguments(calls));
    size_t n_e = (size_t)cJSON_GetArraySize(calls);
    const cJSON **e = calloc(n_e + 1, sizeof *e);
    f1_count f;
    bool made = false;
    if (e) {
        size_t i = 0;
        const cJSON *call;
        cJSON_ArrayForEach (call, calls)
            e[i++] = call;
        made = f1_count_make(&f, e, n_e, a, n_a, by_name);
    }
    if (made) {
        double p, r;
        out->score = f1_of(&f, &p, &r);
        st = f1_reason(&f, calls, e, a, n_a, by_name, in, out->score, out);
    } else {
        st = ASSAY_ERR_NOMEM;
    }
    if (e)
        f1_count_release(&f);
    free(e);
    actuals_free(a, n_a);
    cJSON_Delete(calls);
    return failed(st, err);
}

static const char *const f1_options[] = {"by", NULL};

const assay__check_family assay__checks_tool_call_f1 = {
    .name = "tool-call-f1",
    .value_use = ASSAY__VALUE_REQUIRED,
    .scored = true,
    .default_threshold = 1.0,
    .options = f1_options,
    .compile = f1_compile,
    .run = f1_run,
    .free = f1_free,
};

/* ------------------------------------------------------------ valid calls */

/* One function of a target's tools, its parameters compiled. */
typedef struct tool_fn {
    char *name;
    assay__schema *schema; /* NULL: the function takes no arguments */
} tool_fn;

/* A `tools` list compiled: its functions, or why it cannot be used. */
typedef struct tool_table {
    cJSON *tools;      /* a copy, to know the list again */
    const cJSON *seen; /* where it was last found; compared, never read */
    tool_fn *fns;
    size_t n;
    char *error; /* the list is unusable: this says why */
} tool_table;

typedef struct valid_state {
    /* The lock covers the list of tables; a table, once listed, is never
       changed or freed until the check is, so it is read unlocked. */
    pthread_mutex_t lock;
    tool_table *tables[TOOL_TABLES];
    size_t n;
} valid_state;

/*
 * Whether two JSON trees are the same, in linear time when their members
 * come in the same order (cJSON_Compare compares each object twice over,
 * which doubles at every level of a tools list's schemas).
 */
static bool same_json(const cJSON *a, const cJSON *b)
{
    if ((a->type & 0xFF) != (b->type & 0xFF))
        return false;
    if (cJSON_IsNumber(a))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a))
        return !strcmp(a->valuestring, b->valuestring);
    if (!cJSON_IsArray(a) && !cJSON_IsObject(a))
        return true; /* true, false, null */
    const cJSON *x = a->child, *y = b->child;
    bool object = cJSON_IsObject(a);
    for (; x && y; x = x->next, y = y->next) {
        if (object && strcmp(x->string, y->string) != 0)
            break; /* another order: looked up below */
        if (!same_json(x, y))
            return false;
    }
    if (!x || !y)
        return !x && !y;
    if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
        return false;
    for (; x; x = x->next) {
        const cJSON *other = cJSON_GetObjectItemCaseSensitive(b, x->string);
        if (!other || !same_json(x, other))
            return false;
    }
    return true;
}

static void table_free(tool_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->fns[i].name);
        assay__schema_free(t->fns[i].schema);
    }
    free(t->fns);
    free(t->error);
    cJSON_Delete(t->tools);
    free(t);
}

/* Marks the list unusable; false when out of memory. */
static bool table_fail(tool_table *t, const char *fmt, ...) ASSAY__PRINTF(2, 3);

static bool table_fail(tool_table *t, const char *fmt, ...)
{
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    t->error = strdup(why);
    return t->error != NULL;
}

/* Compiles one function of the list; false when out of memory. */
static bool table_add(tool_table *t, const cJSON *tool, int index)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(tool, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "function") != 0)
        return true; /* another kind of tool: no function to call */
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tool, "function");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
    if (!cJSON_IsString(name))
        return table_fail(t,
                          "the target's params.tools[%d] is no {type: "
                          "function, function: {name, parameters}}",
                          index);
    tool_fn *f = &t->fns[t->n];
    f->name = strdup(name->valuestring);
    if (!f->name)
        return false;
    t->n++;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
    if (!params || cJSON_IsNull(params))
        return true;
    assay_error why;
    assay_error_clear(&why);
    assay_status st =
        assay__schema_compile(params, NULL, &f->schema, NULL, &why);
    if (st == ASSAY_ERR_NOMEM)
        return false;
    if (st != ASSAY_OK)
        return table_fail(t,
                          "the parameters of tool '%s' are not a valid "
                          "JSON Schema: %s",
                          name->valuestring, why.message);
    return true;
}

/* Compiles a `tools` list; NULL when out of memory. */
static tool_table *table_make(const cJSON *tools)
{
    tool_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    int n = cJSON_GetArraySize(tools);
    t->tools = cJSON_Duplicate(tools, true);
    t->fns = calloc(n > 0 ? (size_t)n : 1, sizeof *t->fns);
    bool ok = t->tools && t->fns;
    if (ok && !cJSON_IsArray(tools))
        ok = table_fail(t, "the target's params.tools must be a list of "
                           "{type: function, function: {name, "
                           "parameters}}");
    const cJSON *tool;
    int i = 0;
    if (ok && cJSON_IsArray(tools)) {
        cJSON_ArrayForEach (tool, tools) {
            ok = table_add(t, tool, i++);
            if (!ok || t->error)
                break;
        }
    }
    if (!ok) {
        table_free(t);
        return NULL;
    }
    return t;
}

/*
 * The compiled table of `tools`: the one last found at this address when
 * its content is still the same (a run's params are a fresh copy, and a
 * later run may get the same address for another list), else a kept one
 * with the same content, else a new one, kept when there is room.
 * *temporary says the caller must free it.
 */
static tool_table *table_for(valid_state *s, const cJSON *tools,
                             bool *temporary)
{
    *temporary = false;
    pthread_mutex_lock(&s->lock);
    tool_table *t = NULL;
    for (size_t i = 0; i < s->n && !t; i++)
        if (s->tables[i]->seen == tools &&
            same_json(s->tables[i]->tools, tools))
            t = s->tables[i];
    for (size_t i = 0; i < s->n && !t; i++)
        if (same_json(s->tables[i]->tools, tools))
            t = s->tables[i];
    if (t)
        t->seen = tools;
    if (!t) {
        t = table_make(tools);
        if (t && s->n < TOOL_TABLES) {
            t->seen = tools;
            s->tables[s->n++] = t;
        } else
            *temporary = t != NULL;
    }
    pthread_mutex_unlock(&s->lock);
    return t;
}

static void valid_free(void *state)
{
    valid_state *s = state;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        table_free(s->tables[i]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static assay_status valid_compile(const assay__check_spec *spec, void **state,
                                  assay_error *err)
{
    (void)spec;
    valid_state *s = calloc(1, sizeof *s);
    if (!s)
        return oom(err);
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "cannot create a lock");
    }
    *state = s;
    return ASSAY_OK;
}

static const tool_fn *fn_named(const tool_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->fns[i].name, name))
            return &t->fns[i];
    return NULL;
}

/* Why call `a` is not a valid call of the table's functions, or "". */
static assay_status judge_call(const tool_table *t, const actual *a,
                               assay__buf *why, assay_error *err)
{
    const tool_fn *fn = fn_named(t, a->name);
    if (!fn)
        return assay__buf_puts(why, "no tool of the target has that name");
    if (!a->json)
        return assay__buf_printf(why,
                                 "its arguments are not JSON (invalid at "
                                 "offset %zu)",
                                 a->stop);
    if (!cJSON_IsObject(a->json))
        return assay__buf_puts(why, "its arguments are not a JSON object");
    if (!fn->schema)
        return cJSON_GetArraySize(a->json) == 0
                   ? ASSAY_OK
                   : assay__buf_puts(why, "the tool takes no arguments (it "
                                          "has no 'parameters')");
    bool valid;
    assay__schema_issue issue;
    size_t n = 0;
    assay_status st =
        assay__schema_validate(fn->schema, a->json, &valid, &issue, 1, &n, err);
    if (st != ASSAY_OK || valid)
        return st;
    return n ? assay__buf_printf(why, "%s: %s", issue.path, issue.message)
             : assay__buf_puts(why, "its arguments do not fit the schema");
}

/* "call the target's tools (get_weather, get_time) with valid arguments" */
static assay_status valid_want(const tool_table *t, assay__buf *want)
{
    assay_status st = assay__buf_puts(want, "call the target's tools (");
    for (size_t i = 0; i < t->n && i < NAMES_SHOWN && st == ASSAY_OK; i++)
        st = assay__buf_printf(want, "%s%s", i ? ", " : "", t->fns[i].name);
    if (st == ASSAY_OK && t->n > NAMES_SHOWN)
        st = assay__buf_printf(want, " and %zu more", t->n - NAMES_SHOWN);
    if (st == ASSAY_OK && t->n == 0)
        st = assay__buf_puts(want, "none");
    if (st == ASSAY_OK)
        st = assay__buf_puts(want, ") with valid arguments");
    return st;
}

static assay_status valid_judge(const tool_table *t,
                                const assay__check_input *in,
                                assay__check_finding *out, assay_error *err)
{
    actual *list;
    size_t n;
    assay_status st = actuals_read(in, &list, &n, err);
    if (st != ASSAY_OK)
        return st;
    assay__buf why;
    assay__buf_init(&why, 4096);
    size_t bad = 0;
    for (; bad < n && st == ASSAY_OK; bad++) {
        st = judge_call(t, &list[bad], &why, err);
        if (why.len)
            break;
    }
    if (st == ASSAY_OK) {
        out->pass = n > 0 && why.len == 0;
        out->score = out->pass ? 1.0 : 0.0;
        st = valid_want(t, out->want);
        if (st == ASSAY_OK && why.len) {
            st = n > 1 ? assay__buf_printf(out->found, "call %zu of %zu, ",
                                           bad + 1, n)
                       : ASSAY_OK;
            if (st == ASSAY_OK)
                st = put_actual(out->found, &list[bad]);
            if (st == ASSAY_OK)
                st = assay__buf_printf(out->found, ": %s", why.data);
        } else if (st == ASSAY_OK) {
            st = put_actuals(out->found, list, n, in);
            if (st == ASSAY_OK && n)
                st = assay__buf_puts(out->found,
                                     n > 1 ? ", all valid" : ", valid");
        }
        st = failed(st, err);
    }
    assay__buf_release(&why);
    actuals_free(list, n);
    return st;
}

static assay_status valid_run(void *state, const assay__check_input *in,
                              assay__check_finding *out, assay_error *err)
{
    if (!in->tools)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "the target has no tools to check the calls "
                            "against: give it params: {tools: [{type: "
                            "function, function: {name, parameters}}]}");
    bool temporary;
    tool_table *t = table_for(state, in->tools, &temporary);
    if (!t)
        return oom(err);
    assay_status st = t->error ? assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                                              "%s", t->error)
                               : valid_judge(t, in, out, err);
    if (temporary)
        table_free(t);
    return st;
}

const assay__check_family assay__checks_is_valid_openai_tools_call = {
    .name = "is-valid-openai-tools-call",
    .value_use = ASSAY__VALUE_NONE,
    .compile = valid_compile,
    .run = valid_run,
    .free = valid_free,
};
