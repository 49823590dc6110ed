/*
 * check.c - the registry of check families, and what all checks share:
 * reading a check's spec from the suite, the `not-` prefix, the value
 * template, and the reason given with every verdict.
 *
 * A spec is either the short form {icontains: "{{expected}}"} (one key,
 * the type) or the long form {type: regex, value: "...", flags: "i"}.
 * Mistakes are reported at the node that has them, with a suggestion for a
 * misspelt type or key. The value is a template, compiled once and, when it
 * has no variable, rendered once; the families in lib/checks/ only judge.
 *
 * Every reason reads "expected [not ]to <what>; found <what>", with the
 * texts quoted by assay__text_excerpt, so that a failed case can be
 * understood from the record alone.
 */
#include "checks/checks.h"

#include <stdlib.h>
#include <string.h>

/* The families. Adding one is one line here plus its own file. */
/* clang-format off */
static const assay__check_family *const registry[] = {
    &assay__checks_equals,
    &assay__checks_contains,
    &assay__checks_icontains,
    &assay__checks_starts_with,
    &assay__checks_ends_with,
    &assay__checks_regex,
};
/* clang-format on */

#define N_FAMILIES (sizeof registry / sizeof registry[0])
#define NOT_PREFIX "not-"
#define REASON_MAX ((size_t)64 << 10)
#define VALUE_MAX ((size_t)16 << 20) /* a rendered value */

struct assay__check {
    const assay__check_family *family;
    char *type; /* as written: "not-contains" */
    bool negate;
    assay__template *value; /* NULL when the family reads the node itself */
    char *constant;         /* the rendering of a constant value */
    size_t constant_len;
    void *state;
    char *file; /* where the check is written, for run-time errors */
    int line;
    int col;
};

void assay__verdict_init(assay__verdict *v)
{
    v->pass = false;
    v->score = 0.0;
    assay__buf_init(&v->reason, REASON_MAX);
}

void assay__verdict_release(assay__verdict *v)
{
    assay__buf_release(&v->reason);
}

static assay_status oom(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ------------------------------------------------------------ suggestions */

/*
 * Edit distance counting insertions, deletions, substitutions and swaps of
 * two neighbours (optimal string alignment), ignoring ASCII case. Names
 * longer than 63 bytes are not compared.
 */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return (size_t)-1;
    size_t rows[3][64]; /* two rows back, previous row, current row */
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            char x = a[i - 1], y = b[j - 1];
            x = x >= 'A' && x <= 'Z' ? (char)(x + 32) : x;
            y = y >= 'A' && y <= 'Z' ? (char)(y + 32) : y;
            size_t best = prev[j - 1] + (x != y);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && x != y) {
                char px = a[i - 2], py = b[j - 2];
                px = px >= 'A' && px <= 'Z' ? (char)(px + 32) : px;
                py = py >= 'A' && py <= 'Z' ? (char)(py + 32) : py;
                if (x == py && px == y && pp[j - 2] + 1 < best)
                    best = pp[j - 2] + 1;
            }
            cur[j] = best;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

/* Keeps `candidate` in *best when it is the closest plausible one so far. */
static void consider(const char *typed, const char *candidate,
                     const char **best, size_t *best_d)
{
    size_t d = edit_distance(typed, candidate);
    size_t allowed = strlen(candidate) / 3;
    if (allowed < 1)
        allowed = 1;
    if (d <= allowed && d < *best_d) {
        *best = candidate;
        *best_d = d;
    }
}

static const assay__check_family *family_named(const char *name)
{
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (!strcmp(registry[i]->name, name))
            return registry[i];
    return NULL;
}

static assay_status unknown_type(const assay__doc *doc, const cJSON *node,
                                 bool at_key, const char *typed,
                                 assay_error *err)
{
    bool negated = !strncmp(typed, NOT_PREFIX, strlen(NOT_PREFIX));
    const char *base = negated ? typed + strlen(NOT_PREFIX) : typed;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < N_FAMILIES; i++)
        consider(base, registry[i]->name, &best, &best_d);
    if (best)
        return assay__doc_error(doc, node, at_key, err, ASSAY_ERR_CHECK,
                                "unknown check '%s' (did you mean '%s%s'?)",
                                typed, negated ? NOT_PREFIX : "", best);
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < N_FAMILIES && used < sizeof list; i++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                         registry[i]->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return assay__doc_error(doc, node, at_key, err, ASSAY_ERR_CHECK,
                            "unknown check '%s' (the checks are %s, each "
                            "also with a '" NOT_PREFIX "' prefix)",
                            typed, list);
}

static bool is_option(const assay__check_family *f, const char *key)
{
    if (!strcmp(key, "type") || !strcmp(key, "value"))
        return true;
    for (const char *const *o = f->options; o && *o; o++)
        if (!strcmp(*o, key))
            return true;
    return false;
}

static assay_status unknown_key(const assay__doc *doc, const cJSON *member,
                                const assay__check_family *f, assay_error *err)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    consider(member->string, "type", &best, &best_d);
    consider(member->string, "value", &best, &best_d);
    for (const char *const *o = f->options; o && *o; o++)
        consider(member->string, *o, &best, &best_d);
    if (best)
        return assay__doc_error(doc, member, true, err, ASSAY_ERR_CHECK,
                                "unknown key '%s' in a '%s' check (did you "
                                "mean '%s'?)",
                                member->string, f->name, best);
    char keys[256] = "'type', 'value'";
    size_t used = strlen(keys);
    for (const char *const *o = f->options; o && *o && used < sizeof keys;
         o++) {
        int n = snprintf(keys + used, sizeof keys - used, ", '%s'", *o);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return assay__doc_error(doc, member, true, err, ASSAY_ERR_CHECK,
                            "unknown key '%s' in a '%s' check (it takes %s)",
                            member->string, f->name, keys);
}

static const char *json_kind(const cJSON *node)
{
    if (cJSON_IsString(node))
        return "a string";
    if (cJSON_IsNumber(node))
        return "a number";
    if (cJSON_IsBool(node))
        return "a boolean";
    if (cJSON_IsArray(node))
        return "a list";
    if (cJSON_IsObject(node))
        return "a mapping";
    return "nothing";
}

/* ------------------------------------------------------------ compiling */

void assay__check_free(assay__check *c)
{
    if (!c)
        return;
    if (c->family && c->family->free)
        c->family->free(c->state);
    assay__template_free(c->value);
    free(c->constant);
    free(c->type);
    free(c->file);
    free(c);
}

const char *assay__check_type(const assay__check *c)
{
    return c->type;
}

/* Compiles the value template; renders it now when it has no variable. */
static assay_status compile_value(assay__check *c, const assay__doc *doc,
                                  const cJSON *value, assay_error *err)
{
    if (!cJSON_IsString(value)) {
        bool scalar = cJSON_IsNumber(value) || cJSON_IsBool(value);
        return assay__doc_error(doc, value, false, err, ASSAY_ERR_CHECK,
                                "check '%s' expects a string, found %s%s",
                                c->type, json_kind(value),
                                scalar ? " (put it in quotes to compare "
                                         "text)"
                                       : "");
    }
    int line = 0, col = 0;
    char where[600];
    if (assay__doc_where(doc, value, &line, &col))
        snprintf(where, sizeof where, "%s:%d:%d", assay__doc_name(doc), line,
                 col);
    else
        snprintf(where, sizeof where, "%s", assay__doc_name(doc));
    assay_status st =
        assay__template_compile(value->valuestring, where, &c->value, err);
    if (st != ASSAY_OK || !assay__template_is_constant(c->value))
        return st;

    assay__buf text;
    assay__buf_init(&text, VALUE_MAX);
    st = assay__template_render(c->value, NULL, NULL, &text, err);
    if (st != ASSAY_OK) {
        assay__buf_release(&text);
        return st;
    }
    c->constant = assay__buf_detach(&text, &c->constant_len);
    return c->constant ? ASSAY_OK : oom(err);
}

assay_status assay__check_compile(const assay__doc *doc, const cJSON *spec,
                                  assay__check **out, assay_error *err)
{
    *out = NULL;
    if (!cJSON_IsObject(spec))
        return assay__doc_error(doc, spec, false, err, ASSAY_ERR_CHECK,
                                "a check is a mapping such as {contains: "
                                "\"Paris\"} or {type: regex, value: "
                                "\"\\\\d+\"}; found %s",
                                json_kind(spec));

    /* Which form: a `type` key makes the long one. */
    const cJSON *type_node = cJSON_GetObjectItemCaseSensitive(spec, "type");
    const cJSON *value;
    const cJSON *options = NULL;
    const cJSON *type_at; /* where to point when the type is wrong */
    bool type_at_key;
    const char *typed;
    if (type_node) {
        if (!cJSON_IsString(type_node))
            return assay__doc_error(doc, type_node, false, err, ASSAY_ERR_CHECK,
                                    "'type' must name a check, as in "
                                    "{type: contains, value: \"Paris\"}; "
                                    "found %s",
                                    json_kind(type_node));
        typed = type_node->valuestring;
        type_at = type_node;
        type_at_key = false;
        value = cJSON_GetObjectItemCaseSensitive(spec, "value");
        options = spec;
    } else {
        int n = cJSON_GetArraySize(spec);
        if (n != 1)
            return assay__doc_error(doc, spec, false, err, ASSAY_ERR_CHECK,
                                    "a check has one key, its type, as in "
                                    "{contains: \"Paris\"}, or a 'type' key; "
                                    "found %d keys",
                                    n);
        value = spec->child;
        typed = value->string;
        type_at = value;
        type_at_key = true;
    }

    bool negate = !strncmp(typed, NOT_PREFIX, strlen(NOT_PREFIX));
    const assay__check_family *family =
        family_named(negate ? typed + strlen(NOT_PREFIX) : typed);
    if (!family)
        return unknown_type(doc, type_at, type_at_key, typed, err);
    if (options) {
        const cJSON *member;
        cJSON_ArrayForEach (member, options) {
            if (!is_option(family, member->string))
                return unknown_key(doc, member, family, err);
        }
        if (!value)
            return assay__doc_error(doc, spec, false, err, ASSAY_ERR_CHECK,
                                    "check '%s' needs a 'value'", typed);
    }

    assay__check *c = calloc(1, sizeof *c);
    if (!c)
        return oom(err);
    int line = 0, col = 0;
    assay__doc_where(doc, spec, &line, &col);
    c->family = family;
    c->negate = negate;
    c->line = line;
    c->col = col;
    c->type = dup_string(typed);
    c->file = dup_string(assay__doc_name(doc));
    if (!c->type || !c->file) {
        assay__check_free(c);
        return oom(err);
    }

    assay_status st = ASSAY_OK;
    if (family->value_is_template)
        st = compile_value(c, doc, value, err);
    if (st == ASSAY_OK && family->compile) {
        assay__check_spec s = {
            .doc = doc,
            .type = family->name,
            .value = value,
            .options = options,
            .constant = c->constant,
            .constant_len = c->constant_len,
        };
        st = family->compile(&s, &c->state, err);
    }
    if (st != ASSAY_OK) {
        assay__check_free(c);
        return st;
    }
    *out = c;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ running */

/* Puts the check's place, type and maybe the case in front of err. */
static void at_check(const assay__check *c, const char *case_id,
                     assay_status st, assay_error *err)
{
    if (!err)
        return;
    char why[sizeof err->message];
    memcpy(why, err->message, sizeof why);
    assay__error(err, st, c->file, c->line, c->col, "check '%s'%s%s%s: %s",
                 c->type, case_id ? " on case '" : "", case_id ? case_id : "",
                 case_id ? "'" : "", why);
}

assay_status assay__check_run(const assay__check *c, const char *output,
                              size_t len, const cJSON *vars,
                              const char *case_id, assay__verdict *out,
                              assay_error *err)
{
    out->pass = false;
    out->score = 0.0;
    assay__buf_reset(&out->reason);

    assay__buf rendered, want, found;
    assay__buf_init(&rendered, VALUE_MAX);
    assay__buf_init(&want, REASON_MAX);
    assay__buf_init(&found, REASON_MAX);
    assay__check_input in = {
        .output = output ? output : "",
        .output_len = output ? len : 0,
        .value = c->constant ? c->constant : "",
        .value_len = c->constant_len,
    };
    assay__check_finding finding = {.want = &want, .found = &found};
    assay_status st = ASSAY_OK;

    if (c->value && !c->constant) {
        st = assay__template_render(c->value, vars, case_id, &rendered, err);
        in.value = rendered.data;
        in.value_len = rendered.len;
        if (st != ASSAY_OK) /* the message names the case already */
            at_check(c, NULL, st, err);
    }
    if (st == ASSAY_OK) {
        st = c->family->run(c->state, &in, &finding, err);
        if (st != ASSAY_OK)
            at_check(c, case_id ? case_id : "?", st, err);
    }
    if (st == ASSAY_OK) {
        out->pass = finding.pass != c->negate;
        out->score = c->negate ? 1.0 - finding.score : finding.score;
        st = assay__buf_printf(&out->reason, "expected %sto %s; found %s",
                               c->negate ? "not " : "", want.data, found.data);
        if (st != ASSAY_OK)
            assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    }
    assay__buf_release(&rendered);
    assay__buf_release(&want);
    assay__buf_release(&found);
    return st;
}
