/*
 * checks/json.c - the JSON check families: is-json, contains-json,
 * json-path and json-schema.
 *
 * How each reads the answer (JSON is parsed by cJSON, strictly: one value,
 * no comments, no trailing commas):
 *  - is-json: the whole answer, less surrounding whitespace and less one
 *    Markdown code fence around all of it (```json ... ``` or ``` ... ```,
 *    whatever the fence's info string), must be one JSON value of any type.
 *  - contains-json: the first JSON object or array anywhere in the answer:
 *    in prose, in a code fence, after "Here you go:". Each '{' or '[' is
 *    tried in order; a candidate that parses is taken whole (the objects
 *    nested in it are not tried on their own). With a schema, the first
 *    candidate valid against it. The search tries at most MAX_CANDIDATES
 *    starts and reads at most BUDGET_FACTOR times the answer's length, so
 *    an answer full of brackets stays linear.
 *  - json-schema: the answer read as is-json reads it, which must be valid
 *    against the schema. It is is-json with a schema, under the name users
 *    of other harnesses know.
 *  - json-path: the answer read as is-json reads it or, when that is not
 *    JSON, its first JSON object or array as contains-json finds it.
 *
 * is-json and contains-json take an optional schema as their value
 * (`- is-json`, `{is-json: {type: object, required: [answer]}}`);
 * json-schema requires one. Schemas are JSON Schema Draft 2020-12 unless
 * their $schema says Draft 7 (lib/schema.c); a mistake in one is an error
 * at its line and column when the suite loads. They cannot refer to other
 * files or URLs, only to the drafts' meta-schemas, which are bundled.
 *
 * json-path takes the long form
 *   {type: json-path, path: "$.answer", value: "{{expected}}"}
 * and passes when the value at `path` equals the rendered value: a string
 * by its text, and numbers numerically whenever both sides read as JSON
 * numbers ("42" equals 42.0), true, false and null by their names, objects
 * and arrays as JSON. `matches: "^\\d+$"` (a PCRE2 pattern, a template too,
 * with regex's `flags`) tests the value's text instead, or as well; with
 * neither `value` nor `matches` the check passes when the path exists.
 * Paths are a subset of JSONPath: `$` (the whole JSON), `.name` (a key
 * without dots, brackets or spaces), `['any key']` or `["any key"]`
 * (backslash escapes the quote), and `[2]` (an array index; `[-1]` is the
 * last item). No wildcards, filters or slices: a check names one value.
 */
#include "checks/checks.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CANDIDATES 256 /* '{' and '[' tried by the contains- search */
#define BUDGET_FACTOR 16   /* bytes the search may parse per answer byte */
#define MAX_STEPS 64       /* steps of a json-path */
#define PATTERN_MAX ((size_t)1 << 20)

static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* ------------------------------------------------------------ reading */

/* Where the JSON of an answer is, or why there is none. */
typedef struct reading {
    cJSON *json; /* owned; NULL when the answer is not JSON */
    size_t at;   /* the JSON's bytes in the answer: [at, end) */
    size_t end;
    size_t stop;   /* without JSON: where parsing stopped */
    bool trailing; /* without JSON: a value, then more text */
    bool empty;    /* without JSON: nothing but whitespace (and a fence) */
} reading;

static void trim(const char *s, size_t *from, size_t *to)
{
    while (*from < *to && is_space(s[*from]))
        (*from)++;
    while (*to > *from && is_space(s[*to - 1]))
        (*to)--;
}

/* Narrows [from, to) to the inside of a code fence around all of it. */
static void strip_fence(const char *s, size_t *from, size_t *to)
{
    size_t a = *from, b = *to;
    if (b - a < 6 || memcmp(s + a, "```", 3) || memcmp(s + b - 3, "```", 3))
        return;
    size_t line = a + 3; /* the info string ("json") ends the first line */
    while (line < b - 3 && s[line] != '\n')
        line++;
    if (line >= b - 3)
        return; /* ```{"a":1}``` on one line: no fence, just backticks */
    *from = line + 1;
    *to = b - 3;
    trim(s, from, to);
}

/* Parses one JSON value at s[from..to); sets *end past it (or the stop). */
static cJSON *parse_at(const char *s, size_t from, size_t to, size_t *end)
{
    const char *stop = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(s + from, to - from, &stop, false);
    *end = stop ? (size_t)(stop - s) : from;
    return json;
}

/* The whole answer, trimmed and out of its fence, as one JSON value. */
static void read_whole(const char *s, size_t n, reading *r)
{
    memset(r, 0, sizeof *r);
    size_t from = 0, to = n;
    trim(s, &from, &to);
    strip_fence(s, &from, &to);
    r->empty = from == to;
    if (r->empty)
        return;
    size_t end;
    cJSON *json = parse_at(s, from, to, &end);
    if (json && end < to) { /* the value ends early: text follows */
        cJSON_Delete(json);
        json = NULL;
        r->trailing = true;
        while (end < to && is_space(s[end]))
            end++; /* point at the text, not at the space before it */
    }
    if (!json) {
        r->stop = end < to ? end : to;
        return;
    }
    r->json = json;
    r->at = from;
    r->end = end;
}

/* The state of a contains- search through an answer. */
typedef struct search {
    const char *s;
    size_t n;
    size_t pos;
    size_t tried;
    size_t budget; /* bytes left to parse */
    bool gave_up;
} search;

static void search_init(search *z, const char *s, size_t n)
{
    z->s = s;
    z->n = n;
    z->pos = 0;
    z->tried = 0;
    z->budget = n * BUDGET_FACTOR + 65536;
    z->gave_up = false;
}

/* The next JSON object or array in the answer, or false at the end. */
static bool search_next(search *z, reading *r)
{
    memset(r, 0, sizeof *r);
    for (; z->pos < z->n; z->pos++) {
        char c = z->s[z->pos];
        if (c != '{' && c != '[')
            continue;
        if (z->tried == MAX_CANDIDATES || z->budget == 0) {
            z->gave_up = true;
            return false;
        }
        z->tried++;
        size_t end;
        cJSON *json = parse_at(z->s, z->pos, z->n, &end);
        size_t used = end - z->pos + 1;
        z->budget = used < z->budget ? z->budget - used : 0;
        if (json) {
            r->json = json;
            r->at = z->pos;
            r->end = end;
            z->pos = end; /* what is nested in it is part of it */
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------ describing */

/* "an object with 2 keys", "an array of 3 items", "a string", ... */
static assay_status put_kind(assay__buf *b, const cJSON *j)
{
    int n = cJSON_GetArraySize(j);
    if (cJSON_IsObject(j))
        return assay__buf_printf(b, "an object with %d key%s", n,
                                 n == 1 ? "" : "s");
    if (cJSON_IsArray(j))
        return assay__buf_printf(b, "an array of %d item%s", n,
                                 n == 1 ? "" : "s");
    if (cJSON_IsString(j))
        return assay__buf_puts(b, "a string");
    if (cJSON_IsNumber(j))
        return assay__buf_puts(b, "a number");
    if (cJSON_IsBool(j))
        return assay__buf_puts(b, "a boolean");
    return assay__buf_puts(b, "null");
}

/* A value's text as a regex sees it: strings raw, the rest as JSON. */
static assay_status put_text(assay__buf *b, const cJSON *j)
{
    if (cJSON_IsString(j))
        return assay__buf_puts(b, j->valuestring);
    if (cJSON_IsNumber(j))
        return assay__text_put_double(b, j->valuedouble);
    char *text = cJSON_PrintUnformatted(j);
    if (!text)
        return ASSAY_ERR_NOMEM;
    assay_status st = assay__buf_puts(b, text);
    cJSON_free(text);
    return st;
}

/* A value as a reason quotes it: 'Paris', 42, true, '{"a":1}'. */
static assay_status put_value(assay__buf *b, const cJSON *j)
{
    if (cJSON_IsNumber(j) || cJSON_IsBool(j) || cJSON_IsNull(j))
        return put_text(b, j);
    assay__buf text;
    assay__buf_init(&text, ASSAY__BUF_DEFAULT_MAX);
    assay_status st = put_text(&text, j);
    if (st == ASSAY_OK)
        st = assay__text_excerpt(b, text.data, text.len, ASSAY__CHECK_EXCERPT);
    assay__buf_release(&text);
    return st;
}

/* "'Sure: {...' (not JSON: ... at offset 6)" */
static assay_status put_not_json(assay__buf *b, const char *s, size_t n,
                                 const reading *r)
{
    if (r->empty)
        return n ? assay__buf_puts(b, "no JSON, only white space")
                 : assay__buf_puts(b, "an empty answer");
    assay_status st = assay__text_excerpt(b, s, n, ASSAY__CHECK_EXCERPT);
    if (st == ASSAY_OK)
        st = assay__buf_printf(b,
                               r->trailing ? " (not JSON: more text after "
                                             "the value, at offset %zu)"
                                           : " (not JSON: invalid at offset "
                                             "%zu)",
                               r->stop);
    return st;
}

/* "$.age: -3 is less than the minimum 0" */
static assay_status put_issue(assay__buf *b, const assay__schema_issue *i)
{
    return assay__buf_printf(b, "%s: %s", i->path, i->message);
}

/* ------------------------------------------------------------ schemas */

static void json_free(void *state)
{
    assay__schema_free(state);
}

/* Compiles the schema `value`, with errors at its line and column. */
static assay_status compile_schema(const assay__check_spec *spec,
                                   const cJSON *value, void **state,
                                   assay_error *err)
{
    assay__schema *schema = NULL;
    assay__schema_fault where;
    assay_error inner;
    assay_error_clear(&inner);
    assay_status st =
        assay__schema_compile(value, NULL, &schema, &where, &inner);
    if (st == ASSAY_ERR_CHECK) {
        const cJSON *at = where.in_schema
                              ? assay__schema_pointer_get(value, where.pointer)
                              : NULL;
        return assay__doc_error(spec->doc, at ? at : value, false, err, st,
                                "invalid JSON Schema: %s", inner.message);
    }
    if (st != ASSAY_OK) {
        if (err)
            *err = inner;
        return st;
    }
    *state = schema;
    return ASSAY_OK;
}

/* is-json's and contains-json's optional schema. */
static assay_status optional_schema_compile(const assay__check_spec *spec,
                                            void **state, assay_error *err)
{
    const cJSON *v = spec->value;
    if (!v || cJSON_IsTrue(v))
        return ASSAY_OK; /* `- is-json`, {is-json: true}: any JSON */
    if (cJSON_IsObject(v))
        return compile_schema(spec, v, state, err);
    return assay__doc_error(spec->doc, v, false, err, ASSAY_ERR_CHECK,
                            "check '%s' takes nothing or a JSON Schema (a "
                            "mapping such as {type: object, required: "
                            "[answer]}), found %s%s",
                            spec->type,
                            cJSON_IsFalse(v)    ? "false"
                            : cJSON_IsString(v) ? "a string"
                            : cJSON_IsNumber(v) ? "a number"
                                                : "a list",
                            cJSON_IsFalse(v) ? " (for an answer that is not "
                                               "JSON, write not-is-json)"
                                             : "");
}

static assay_status required_schema_compile(const assay__check_spec *spec,
                                            void **state, assay_error *err)
{
    const cJSON *v = spec->value;
    if (!cJSON_IsObject(v) && !cJSON_IsBool(v))
        return assay__doc_error(spec->doc, v, false, err, ASSAY_ERR_CHECK,
                                "check '%s' takes a JSON Schema (a mapping "
                                "such as {type: object, required: "
                                "[answer]})",
                                spec->type);
    return compile_schema(spec, v, state, err);
}

/*
 * Validates `json`; *valid says the verdict and `issue` the first failure.
 * A validation that cannot finish (a schema loop, a limit) is an error.
 */
static assay_status validate(const assay__schema *schema, const cJSON *json,
                             bool *valid, assay__schema_issue *issue,
                             assay_error *err)
{
    size_t n = 0;
    assay_status st =
        assay__schema_validate(schema, json, valid, issue, 1, &n, err);
    if (st == ASSAY_OK && !*valid && n == 0) { /* always one; in case */
        snprintf(issue->path, sizeof issue->path, "$");
        snprintf(issue->message, sizeof issue->message, "not valid");
    }
    return st;
}

/* ------------------------------------------------------------ is-json */

/* is-json and json-schema: the whole answer is JSON (valid, if a schema). */
static assay_status is_json_run(void *state, const assay__check_input *in,
                                assay__check_finding *out, assay_error *err)
{
    const assay__schema *schema = state;
    reading r;
    read_whole(in->output, in->output_len, &r);
    assay_status st =
        assay__buf_puts(out->want, schema ? "be JSON valid against "
                                            "the schema"
                                          : "be JSON");
    out->pass = false;
    if (st == ASSAY_OK && !r.json) {
        st = put_not_json(out->found, in->output, in->output_len, &r);
    } else if (st == ASSAY_OK && schema) {
        assay__schema_issue issue;
        bool valid;
        st = validate(schema, r.json, &valid, &issue, err);
        if (st != ASSAY_OK) {
            cJSON_Delete(r.json);
            return st;
        }
        out->pass = valid;
        st = valid ? put_kind(out->found, r.json)
                   : put_issue(out->found, &issue);
        if (st == ASSAY_OK && valid)
            st = assay__buf_puts(out->found, ", valid");
    } else if (st == ASSAY_OK) {
        out->pass = true;
        st = put_kind(out->found, r.json);
    }
    out->score = out->pass ? 1.0 : 0.0;
    cJSON_Delete(r.json);
    return failed(st, err);
}

const assay__check_family assay__checks_is_json = {
    .name = "is-json",
    .value_use = ASSAY__VALUE_OPTIONAL,
    .compile = optional_schema_compile,
    .run = is_json_run,
    .free = json_free,
};

const assay__check_family assay__checks_json_schema = {
    .name = "json-schema",
    .value_use = ASSAY__VALUE_REQUIRED,
    .compile = required_schema_compile,
    .run = is_json_run,
    .free = json_free,
};

/* ------------------------------------------------------------ contains-json */

static assay_status contains_json_run(void *state, const assay__check_input *in,
                                      assay__check_finding *out,
                                      assay_error *err)
{
    const assay__schema *schema = state;
    search z;
    search_init(&z, in->output, in->output_len);
    reading r, first = {0};
    assay__schema_issue issue;
    memset(&issue, 0, sizeof issue);
    size_t seen = 0;
    bool valid = false;
    assay_status st = ASSAY_OK;
    while (!valid && search_next(&z, &r)) {
        seen++;
        valid = true;
        if (schema) {
            assay__schema_issue mine;
            st = validate(schema, r.json, &valid, &mine, err);
            if (st != ASSAY_OK) {
                cJSON_Delete(r.json);
                cJSON_Delete(first.json);
                return st;
            }
            if (seen == 1)
                issue = mine;
        }
        if (seen == 1 || valid) {
            cJSON_Delete(first.json);
            first = r;
        } else {
            cJSON_Delete(r.json);
        }
    }
    out->pass = valid;
    out->score = valid ? 1.0 : 0.0;
    st = assay__buf_puts(out->want, schema ? "contain JSON valid against the "
                                             "schema"
                                           : "contain JSON");
    if (st == ASSAY_OK && seen == 0) {
        st = assay__buf_puts(out->found, "no JSON object or array in ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->found, in->output, in->output_len,
                                     ASSAY__CHECK_EXCERPT);
    } else if (st == ASSAY_OK) {
        st = put_kind(out->found, first.json);
        if (st == ASSAY_OK)
            st = assay__buf_printf(out->found, " at offset %zu", first.at);
        if (st == ASSAY_OK && schema && valid)
            st = assay__buf_puts(out->found, ", valid");
        if (st == ASSAY_OK && !valid) {
            st = assay__buf_puts(out->found, ", but ");
            if (st == ASSAY_OK)
                st = put_issue(out->found, &issue);
            if (st == ASSAY_OK && seen > 1)
                st = assay__buf_printf(out->found,
                                       " (and %zu more, none valid)", seen - 1);
        }
    }
    if (st == ASSAY_OK && z.gave_up && !valid)
        st = assay__buf_printf(
            out->found, " (the search stopped after %zu tries)", z.tried);
    cJSON_Delete(first.json);
    return failed(st, err);
}

const assay__check_family assay__checks_contains_json = {
    .name = "contains-json",
    .value_use = ASSAY__VALUE_OPTIONAL,
    .compile = optional_schema_compile,
    .run = contains_json_run,
    .free = json_free,
};

/* ------------------------------------------------------------ json-path */

typedef struct path_step {
    char *key; /* NULL: an array index */
    long index;
} path_step;

typedef struct path_state {
    char *source; /* the path as written */
    path_step steps[MAX_STEPS];
    size_t n_steps;
    bool has_value;
    assay__template *pattern; /* `matches`, NULL without */
    char *pattern_constant;   /* its rendering when it has no variable */
    size_t pattern_len;
    assay__matcher *matcher;
    char flags[8];
} path_state;

static void path_free(void *state)
{
    path_state *p = state;
    if (!p)
        return;
    for (size_t i = 0; i < p->n_steps; i++)
        free(p->steps[i].key);
    free(p->source);
    assay__template_free(p->pattern);
    free(p->pattern_constant);
    assay__matcher_free(p->matcher);
    free(p);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Reads `[...]` at s[*i] (just past the '['); NULL message on success. */
static const char *parse_bracket(const char *s, size_t *i, path_step *step)
{
    char quote = s[*i];
    if (quote == '\'' || quote == '"') {
        size_t j = *i + 1, k = 0;
        char *key = malloc(strlen(s) + 1);
        if (!key)
            return "out of memory";
        while (s[j] && s[j] != quote) {
            if (s[j] == '\\' && s[j + 1])
                j++;
            key[k++] = s[j++];
        }
        key[k] = '\0';
        if (s[j] != quote || s[j + 1] != ']') {
            free(key);
            return "a quoted key must end with its quote and ']'";
        }
        step->key = key;
        *i = j + 2;
        return NULL;
    }
    size_t j = *i;
    bool negative = s[j] == '-';
    if (negative)
        j++;
    if (s[j] < '0' || s[j] > '9')
        return "'[' must hold an index such as [0] or a quoted key such as "
               "['name']";
    long index = 0;
    while (s[j] >= '0' && s[j] <= '9') {
        if (index > 100000000)
            return "the index is too large";
        index = index * 10 + (s[j++] - '0');
    }
    if (s[j] != ']')
        return "an index must end with ']'";
    step->index = negative ? -index : index;
    *i = j + 1;
    return NULL;
}

/* Parses a path into p->steps; a message and *at on a mistake. */
static const char *parse_path(const char *s, path_state *p, size_t *at)
{
    *at = 0;
    if (s[0] != '$')
        return "a path starts with '$' (the whole JSON), as in $.answer";
    size_t i = 1;
    while (s[i]) {
        *at = i;
        if (p->n_steps == MAX_STEPS)
            return "the path has too many steps";
        path_step *step = &p->steps[p->n_steps];
        step->key = NULL;
        step->index = 0;
        if (s[i] == '.') {
            size_t j = ++i;
            while (s[j] && s[j] != '.' && s[j] != '[' && s[j] != ']' &&
                   !is_space(s[j]))
                j++;
            if (j == i)
                return "'.' must be followed by a key (use ['...'] for "
                       "keys with spaces, dots or brackets)";
            if (!(step->key = dup_n(s + i, j - i)))
                return "out of memory";
            i = j;
        } else if (s[i] == '[') {
            i++;
            const char *why = parse_bracket(s, &i, step);
            if (why)
                return why;
        } else {
            return "expected '.key' or '[...]'";
        }
        p->n_steps++;
    }
    return NULL;
}

/* The value at the path, or NULL. */
static const cJSON *path_get(const path_state *p, const cJSON *json)
{
    for (size_t i = 0; i < p->n_steps && json; i++) {
        const path_step *step = &p->steps[i];
        if (step->key) {
            json = cJSON_IsObject(json)
                       ? cJSON_GetObjectItemCaseSensitive(json, step->key)
                       : NULL;
        } else if (cJSON_IsArray(json)) {
            long size = cJSON_GetArraySize(json);
            long index = step->index < 0 ? size + step->index : step->index;
            json = index >= 0 && index < size
                       ? cJSON_GetArrayItem(json, (int)index)
                       : NULL;
        } else {
            json = NULL;
        }
    }
    return json;
}

/* The `flags` letters of a `matches` pattern, as the regex check has them. */
static assay_status read_flags(const assay__check_spec *spec,
                               const cJSON *flags, path_state *p,
                               uint32_t *options, assay_error *err)
{
    static const char letters[] = "imsx";
    static const uint32_t bits[] = {PCRE2_CASELESS, PCRE2_MULTILINE,
                                    PCRE2_DOTALL, PCRE2_EXTENDED};
    if (!cJSON_IsString(flags))
        return assay__doc_error(spec->doc, flags, false, err, ASSAY_ERR_CHECK,
                                "'flags' must be a string of regex flags "
                                "such as \"i\" or \"ms\"");
    bool seen[4] = {false, false, false, false};
    for (const char *f = flags->valuestring; *f; f++) {
        const char *hit = strchr(letters, *f);
        if (!hit)
            return assay__doc_error(
                spec->doc, flags, false, err, ASSAY_ERR_CHECK,
                "unknown regex flag in \"%s\" (the flags are i: ignore "
                "case, m: ^ and $ match at lines, s: . matches newline, x: "
                "extended syntax)",
                flags->valuestring);
        seen[hit - letters] = true;
        *options |= bits[hit - letters];
    }
    size_t n = 0;
    for (size_t i = 0; i < 4; i++)
        if (seen[i])
            p->flags[n++] = letters[i];
    return ASSAY_OK;
}

/* "suite.yaml:12:9", for template errors. */
static void where_of(const assay__check_spec *spec, const cJSON *node,
                     char *out, size_t size)
{
    int line = 0, col = 0;
    if (assay__doc_where(spec->doc, node, &line, &col))
        snprintf(out, size, "%s:%d:%d", assay__doc_name(spec->doc), line, col);
    else
        snprintf(out, size, "%s", assay__doc_name(spec->doc));
}

static assay_status compile_matches(const assay__check_spec *spec,
                                    const cJSON *matches, path_state *p,
                                    assay_error *err)
{
    if (!cJSON_IsString(matches))
        return assay__doc_error(spec->doc, matches, false, err, ASSAY_ERR_CHECK,
                                "'matches' must be a regex in a string, as "
                                "in matches: \"^\\\\d+$\"");
    uint32_t options = PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C;
    const cJSON *flags =
        cJSON_GetObjectItemCaseSensitive(spec->options, "flags");
    assay_status st =
        flags ? read_flags(spec, flags, p, &options, err) : ASSAY_OK;
    char where[600];
    where_of(spec, matches, where, sizeof where);
    if (st == ASSAY_OK)
        st = assay__template_compile(matches->valuestring, where, &p->pattern,
                                     err);
    if (st == ASSAY_OK && assay__template_is_constant(p->pattern)) {
        assay__buf text;
        assay__buf_init(&text, PATTERN_MAX);
        st = assay__template_render(p->pattern, NULL, NULL, &text, err);
        if (st == ASSAY_OK &&
            !(p->pattern_constant = assay__buf_detach(&text, &p->pattern_len)))
            st =
                assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
        assay__buf_release(&text);
    }
    if (st == ASSAY_OK) {
        st = assay__matcher_new(options, p->pattern_constant, p->pattern_len,
                                &p->matcher, err);
        if (st == ASSAY_ERR_CHECK && err) {
            char why[sizeof err->message];
            memcpy(why, err->message, sizeof why);
            st = assay__doc_error(spec->doc, matches, false, err,
                                  ASSAY_ERR_CHECK, "invalid regex: %s", why);
        }
    }
    return st;
}

static assay_status path_compile(const assay__check_spec *spec, void **state,
                                 assay_error *err)
{
    const cJSON *path =
        spec->options ? cJSON_GetObjectItemCaseSensitive(spec->options, "path")
                      : NULL;
    if (!path)
        return assay__doc_error(
            spec->doc, spec->value, false, err, ASSAY_ERR_CHECK,
            "check 'json-path' needs a 'path', as in {type: json-path, "
            "path: \"$.answer\", value: \"{{expected}}\"}");
    if (!cJSON_IsString(path))
        return assay__doc_error(spec->doc, path, false, err, ASSAY_ERR_CHECK,
                                "'path' must be a string such as "
                                "\"$.answer\"");
    path_state *p = calloc(1, sizeof *p);
    if (!p ||
        !(p->source = dup_n(path->valuestring, strlen(path->valuestring)))) {
        free(p);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    size_t at = 0;
    const char *why = parse_path(path->valuestring, p, &at);
    assay_status st = ASSAY_OK;
    if (why)
        st = assay__doc_error(spec->doc, path, false, err, ASSAY_ERR_CHECK,
                              "invalid path '%s': %s (at offset %zu)",
                              path->valuestring, why, at);
    p->has_value = spec->value != NULL;
    const cJSON *matches =
        cJSON_GetObjectItemCaseSensitive(spec->options, "matches");
    const cJSON *flags =
        cJSON_GetObjectItemCaseSensitive(spec->options, "flags");
    if (st == ASSAY_OK && matches)
        st = compile_matches(spec, matches, p, err);
    else if (st == ASSAY_OK && flags)
        st = assay__doc_error(spec->doc, flags, true, err, ASSAY_ERR_CHECK,
                              "'flags' go with 'matches', the regex they "
                              "modify");
    if (st != ASSAY_OK) {
        path_free(p);
        return st;
    }
    *state = p;
    return ASSAY_OK;
}

/* Reads `s` as one JSON number (white space around allowed). */
static bool read_number(const char *s, size_t n, double *out)
{
    size_t from = 0, to = n, end;
    trim(s, &from, &to);
    if (from == to)
        return false;
    cJSON *j = parse_at(s, from, to, &end);
    bool ok = cJSON_IsNumber(j) && end == to;
    if (ok)
        *out = j->valuedouble;
    cJSON_Delete(j);
    return ok;
}

/* Whether the value found equals the rendered value. */
static bool same_value(const cJSON *found, const char *value, size_t len)
{
    double a, b;
    if (cJSON_IsString(found)) {
        size_t n = strlen(found->valuestring);
        if (n == len && !memcmp(found->valuestring, value, len))
            return true;
        return read_number(found->valuestring, n, &a) &&
               read_number(value, len, &b) && a == b;
    }
    if (cJSON_IsNumber(found))
        return read_number(value, len, &b) && found->valuedouble == b;
    if (cJSON_IsTrue(found))
        return len == 4 && !memcmp(value, "true", 4);
    if (cJSON_IsFalse(found))
        return len == 5 && !memcmp(value, "false", 5);
    if (cJSON_IsNull(found))
        return len == 4 && !memcmp(value, "null", 4);
    cJSON *want = cJSON_ParseWithLength(value, len);
    bool same = want && cJSON_Compare(found, want, true);
    cJSON_Delete(want);
    return same;
}

/* "/pattern/flags", line breaks and control bytes escaped, cut if long. */
static assay_status put_pattern(assay__buf *out, const char *p, size_t len,
                                const char *flags)
{
    assay_status st = assay__buf_putc(out, '/');
    size_t i = 0;
    while (i < len && i < ASSAY__CHECK_EXCERPT && st == ASSAY_OK) {
        size_t n = assay__checks_utf8_char(p + i, len - i);
        unsigned char c = (unsigned char)p[i];
        if (n == 0 || c < 0x20 || c == 0x7F)
            st = assay__buf_printf(out, "\\x%02X", (unsigned)c);
        else
            st = assay__buf_append(out, p + i, n);
        i += n ? n : 1;
    }
    if (st == ASSAY_OK && i < len)
        st = assay__buf_puts(out, "...");
    if (st == ASSAY_OK)
        st = assay__buf_printf(out, "/%s", flags);
    return st;
}

/* "have $.answer equal to '42' and matching /^\d+$/" */
static assay_status path_want(const path_state *p, const assay__check_input *in,
                              const char *pattern, size_t pattern_len,
                              assay__buf *want)
{
    assay_status st = assay__buf_printf(want, "have %s", p->source);
    if (st == ASSAY_OK && p->has_value) {
        st = assay__buf_puts(want, " equal to ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(want, in->value, in->value_len,
                                     ASSAY__CHECK_EXCERPT);
    }
    if (st == ASSAY_OK && p->pattern) {
        st = assay__buf_puts(want,
                             p->has_value ? " and matching " : " matching ");
        if (st == ASSAY_OK)
            st = put_pattern(want, pattern, pattern_len, p->flags);
    }
    return st;
}

/* The `matches` pattern for this case: its constant, or rendered. */
static assay_status render_pattern(const path_state *p,
                                   const assay__check_input *in,
                                   assay__buf *text, assay_error *err)
{
    if (p->pattern_constant)
        return assay__buf_append(text, p->pattern_constant, p->pattern_len);
    return assay__template_render(p->pattern, in->vars, in->case_id, text, err);
}

static assay_status path_run(void *state, const assay__check_input *in,
                             assay__check_finding *out, assay_error *err)
{
    const path_state *p = state;
    assay__buf pattern, subject;
    assay__buf_init(&pattern, PATTERN_MAX);
    assay__buf_init(&subject, ASSAY__BUF_DEFAULT_MAX);
    assay_status st = ASSAY_OK;
    if (p->pattern) {
        st = render_pattern(p, in, &pattern, err);
        if (st != ASSAY_OK) {
            assay__buf_release(&pattern);
            assay__buf_release(&subject);
            return st;
        }
    }
    reading r;
    read_whole(in->output, in->output_len, &r);
    if (!r.json) {
        search z;
        search_init(&z, in->output, in->output_len);
        search_next(&z, &r);
    }
    const cJSON *found = r.json ? path_get(p, r.json) : NULL;
    bool pass = found != NULL;
    if (pass && p->has_value)
        pass = same_value(found, in->value, in->value_len);
    if (pass && p->pattern) {
        size_t start, end;
        st = put_text(&subject, found);
        if (st == ASSAY_OK)
            st = assay__matcher_find(p->matcher, pattern.data, pattern.len,
                                     subject.data, subject.len, &pass, &start,
                                     &end, err);
        else
            st = failed(st, err);
        if (st != ASSAY_OK) {
            cJSON_Delete(r.json);
            assay__buf_release(&pattern);
            assay__buf_release(&subject);
            return st;
        }
    }
    out->pass = pass;
    out->score = pass ? 1.0 : 0.0;
    st = path_want(p, in, pattern.data, pattern.len, out->want);
    if (st == ASSAY_OK && !r.json) {
        st = assay__buf_puts(out->found, "no JSON in ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->found, in->output, in->output_len,
                                     ASSAY__CHECK_EXCERPT);
    } else if (st == ASSAY_OK && !found) {
        st = assay__buf_printf(out->found, "no %s in ", p->source);
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->found, in->output + r.at,
                                     r.end - r.at, ASSAY__CHECK_EXCERPT);
    } else if (st == ASSAY_OK) {
        st = assay__buf_printf(out->found, "%s is ", p->source);
        if (st == ASSAY_OK)
            st = put_value(out->found, found);
    }
    cJSON_Delete(r.json);
    assay__buf_release(&pattern);
    assay__buf_release(&subject);
    return failed(st, err);
}

static const char *const path_options[] = {"path", "matches", "flags", NULL};

const assay__check_family assay__checks_json_path = {
    .name = "json-path",
    .value_is_template = true,
    .value_use = ASSAY__VALUE_OPTIONAL,
    .value_scalar = true,
    .options = path_options,
    .compile = path_compile,
    .run = path_run,
    .free = path_free,
};
