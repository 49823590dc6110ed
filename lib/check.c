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
 *
 * The long form also takes the keys every check shares: `weight` (how much
 * the check counts in the case's score, default 1; 0 makes it
 * informational), `metric` (the name its scores are aggregated under,
 * default the type as written) and, for scored families only,
 * `threshold` (the score at which the check passes). A family that takes
 * no value can be written as a bare name (`- is-xml`). List values
 * (contains-any and friends) are compiled and rendered here too, so every
 * family sees plain texts. How a case's verdict comes from its checks is
 * assay__verdict_combine, at the end.
 */
#include "checks/checks.h"

#include <math.h>
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
    &assay__checks_contains_all,
    &assay__checks_contains_any,
    &assay__checks_icontains_all,
    &assay__checks_icontains_any,
    &assay__checks_word_count,
    &assay__checks_length,
    &assay__checks_is_refusal,
    &assay__checks_is_xml,
    &assay__checks_contains_xml,
    &assay__checks_is_html,
    &assay__checks_contains_html,
    &assay__checks_exact_match,
    &assay__checks_f1,
    &assay__checks_numeric,
    &assay__checks_choice,
    &assay__checks_levenshtein,
    &assay__checks_bleu,
    &assay__checks_rouge_1,
    &assay__checks_rouge_2,
    &assay__checks_rouge_l,
    &assay__checks_latency,
    &assay__checks_ttft,
    &assay__checks_cost,
    &assay__checks_prompt_tokens,
    &assay__checks_completion_tokens,
    &assay__checks_total_tokens,
    &assay__checks_finish_reason,
    &assay__checks_is_json,
    &assay__checks_contains_json,
    &assay__checks_json_path,
    &assay__checks_json_schema,
    &assay__checks_is_valid_openai_tools_call,
    &assay__checks_tool_call,
    &assay__checks_tool_call_f1,
    &assay__checks_perplexity,
    &assay__checks_perplexity_score,
    &assay__checks_assert_set,
    &assay__checks_llm_rubric,
    &assay__checks_closedqa,
    &assay__checks_factuality,
    &assay__checks_g_eval,
    &assay__checks_answer_relevance,
    &assay__checks_context_faithfulness,
    &assay__checks_context_recall,
    &assay__checks_context_relevance,
    &assay__checks_similar,
    &assay__checks_exec,
    &assay__checks_choice_logprob,
    &assay__checks_select_best,
    &assay__checks_max_score,
    &assay__checks_loglik_choice,
    &assay__checks_loglik_choice_norm,
};
/* clang-format on */

#define N_FAMILIES (sizeof registry / sizeof registry[0])
#define NOT_PREFIX "not-"
#define REASON_MAX ((size_t)64 << 10)
#define VALUE_MAX ((size_t)16 << 20) /* a rendered value */

#define METRIC_MAX 128 /* bytes of a metric's name */

struct assay__check {
    const assay__check_family *family;
    char *type; /* as written: "not-contains" */
    bool negate;
    assay__template *value; /* NULL when the family reads the node itself */
    char *constant;         /* the rendering of a constant value */
    size_t constant_len;
    assay__check_list *list; /* the value of a list family */
    double weight;
    char *metric;     /* NULL: the type */
    double threshold; /* scored families only; NaN otherwise */
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
    assay__buf_init(&v->rendered, VALUE_MAX);
    assay__buf_init(&v->want, REASON_MAX);
    assay__buf_init(&v->found, REASON_MAX);
}

void assay__verdict_release(assay__verdict *v)
{
    assay__buf_release(&v->reason);
    assay__buf_release(&v->rendered);
    assay__buf_release(&v->want);
    assay__buf_release(&v->found);
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
    char list[2048] = "";
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

/* The long-form keys of every check. */
static const char *const common_keys[] = {"type",   "value",     "weight",
                                          "metric", "threshold", NULL};

static bool is_option(const assay__check_family *f, const char *key)
{
    for (const char *const *k = common_keys; *k; k++)
        if (!strcmp(*k, key))
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
    for (const char *const *k = common_keys; *k; k++)
        consider(member->string, *k, &best, &best_d);
    for (const char *const *o = f->options; o && *o; o++)
        consider(member->string, *o, &best, &best_d);
    if (best)
        return assay__doc_error(doc, member, true, err, ASSAY_ERR_CHECK,
                                "unknown key '%s' in a '%s' check (did you "
                                "mean '%s'?)",
                                member->string, f->name, best);
    char keys[256];
    snprintf(keys, sizeof keys, "'type'%s, 'weight', 'metric'%s",
             f->value_use == ASSAY__VALUE_NONE ? "" : ", 'value'",
             f->scored || f->threshold_optional ? ", 'threshold'" : "");
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

/* ------------------------------------------------------------ lists */

struct assay__check_list {
    assay__check_list_kind kind;
    assay__template **templates;
    size_t n;
    bool one_text; /* written as one string: it may expand (see kind) */
    bool constant; /* no template has a variable: `fixed` holds the items */
    assay__check_items fixed;
};

void assay__check_items_init(assay__check_items *it)
{
    memset(it, 0, sizeof *it);
    assay__buf_init(&it->text, VALUE_MAX);
}

void assay__check_items_release(assay__check_items *it)
{
    assay__buf_release(&it->text);
    free(it->offsets);
    free(it->refs);
    it->offsets = NULL;
    it->refs = NULL;
    it->n = it->cap = 0;
}

static void items_reset(assay__check_items *it)
{
    assay__buf_reset(&it->text);
    it->n = 0;
}

/* Starts an item at the end of the text; items_end() closes it. */
static assay_status items_begin(assay__check_items *it)
{
    if (it->n == ASSAY__CHECK_MAX_ITEMS)
        return ASSAY_ERR_LIMIT;
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 8;
        size_t *o = realloc(it->offsets, cap * sizeof *o);
        if (!o)
            return ASSAY_ERR_NOMEM;
        it->offsets = o;
        assay__text_ref *r = realloc(it->refs, cap * sizeof *r);
        if (!r)
            return ASSAY_ERR_NOMEM;
        it->refs = r;
        it->cap = cap;
    }
    it->offsets[it->n] = it->text.len;
    return ASSAY_OK;
}

static assay_status items_end(assay__check_items *it)
{
    assay_status st = assay__buf_putc(&it->text, '\0');
    if (st == ASSAY_OK)
        it->n++;
    return st;
}

/* Appends one item (a NUL follows its bytes). */
static assay_status items_push(assay__check_items *it, const char *s,
                               size_t len)
{
    assay_status st = items_begin(it);
    if (st == ASSAY_OK)
        st = assay__buf_append(&it->text, s, len);
    if (st == ASSAY_OK)
        st = items_end(it);
    return st;
}

/* Points the refs into the text, once it has stopped moving. */
static void items_fix(assay__check_items *it)
{
    for (size_t i = 0; i < it->n; i++) {
        size_t end = i + 1 < it->n ? it->offsets[i + 1] : it->text.len;
        it->refs[i].s = it->text.data + it->offsets[i];
        it->refs[i].len = end - it->offsets[i] - 1;
    }
}

static bool is_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/*
 * A JSON array of strings, or of two or more strings and numbers, is a
 * list: that is what `{{answers}}` renders when a case's field is a list.
 * A lone number in brackets ("[5619]") stays text.
 */
static bool expand_array(const char *text, size_t len, assay__check_items *out,
                         assay_status *st)
{
    size_t i = 0;
    while (i < len && is_ascii_space(text[i]))
        i++;
    if (i == len || text[i] != '[')
        return false;
    cJSON *a = cJSON_ParseWithLength(text, len);
    bool list = cJSON_IsArray(a);
    int n = list ? cJSON_GetArraySize(a) : 0;
    bool has_string = false;
    const cJSON *e;
    cJSON_ArrayForEach (e, a) {
        if (cJSON_IsString(e))
            has_string = true;
        else if (!cJSON_IsNumber(e))
            list = false;
    }
    if (!list || !(has_string || n >= 2)) {
        cJSON_Delete(a);
        return false;
    }
    *st = ASSAY_OK;
    items_reset(out);
    cJSON_ArrayForEach (e, a) {
        if (*st != ASSAY_OK)
            break;
        if (cJSON_IsString(e)) {
            *st = items_push(out, e->valuestring, strlen(e->valuestring));
        } else {
            assay__buf num;
            assay__buf_init(&num, 64);
            *st = assay__text_put_double(&num, e->valuedouble);
            if (*st == ASSAY_OK)
                *st = items_push(out, num.data, num.len);
            assay__buf_release(&num);
        }
    }
    cJSON_Delete(a);
    return true;
}

/* Splits at commas, trimming ASCII space and dropping empty pieces. */
static assay_status split_commas(const char *text, size_t len,
                                 assay__check_items *out)
{
    items_reset(out);
    size_t start = 0;
    assay_status st = ASSAY_OK;
    for (size_t i = 0; i <= len && st == ASSAY_OK; i++) {
        if (i < len && text[i] != ',')
            continue;
        size_t a = start, b = i;
        while (a < b && is_ascii_space(text[a]))
            a++;
        while (b > a && is_ascii_space(text[b - 1]))
            b--;
        if (b > a)
            st = items_push(out, text + a, b - a);
        start = i + 1;
    }
    return st;
}

/* One text that may become several items, by the list's kind. */
static assay_status expand_one(const assay__check_list *l,
                               assay__check_items *it)
{
    if (it->n != 1)
        return ASSAY_OK;
    assay__check_items tmp;
    assay__check_items_init(&tmp);
    const char *text = it->text.data;
    size_t len = it->text.len - 1;
    assay_status st = ASSAY_OK;
    bool expanded = expand_array(text, len, &tmp, &st);
    if (!expanded && l->kind == ASSAY__LIST_COMMAS) {
        st = split_commas(text, len, &tmp);
        expanded = true;
    }
    if (expanded && st == ASSAY_OK) {
        assay__check_items old = *it;
        *it = tmp;
        tmp = old;
    }
    assay__check_items_release(&tmp);
    return st;
}

static assay_status render_list(const assay__check_list *l, const cJSON *vars,
                                const char *case_id, assay__check_items *it,
                                assay_error *err)
{
    items_reset(it);
    for (size_t i = 0; i < l->n; i++) {
        assay_status st = items_begin(it);
        if (st != ASSAY_OK)
            return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
        st = assay__template_render(l->templates[i], vars, case_id, &it->text,
                                    err);
        if (st != ASSAY_OK)
            return st;
        st = items_end(it);
        if (st != ASSAY_OK)
            return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    }
    assay_status st = l->one_text ? expand_one(l, it) : ASSAY_OK;
    if (st != ASSAY_OK)
        return assay__error(err, st, NULL, 0, 0, "%s: %s",
                            st == ASSAY_ERR_LIMIT ? "too many items"
                                                  : "cannot list the items",
                            assay_strerror(st));
    items_fix(it);
    return ASSAY_OK;
}

void assay__check_list_free(assay__check_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        assay__template_free(l->templates[i]);
    free(l->templates);
    assay__check_items_release(&l->fixed);
    free(l);
}

/* "file:line:col" of a node, for template errors. */
static void where_of(const assay__doc *doc, const cJSON *node, char *where,
                     size_t size)
{
    int line = 0, col = 0;
    if (assay__doc_where(doc, node, &line, &col))
        snprintf(where, size, "%s:%d:%d", assay__doc_name(doc), line, col);
    else
        snprintf(where, size, "%s", assay__doc_name(doc));
}

/* A string node's text, or a number's shortest form, as a template. */
static assay_status compile_scalar(const assay__doc *doc, const cJSON *node,
                                   assay__template **out, assay_error *err)
{
    char where[600];
    where_of(doc, node, where, sizeof where);
    if (cJSON_IsString(node))
        return assay__template_compile(node->valuestring, where, out, err);
    assay__buf text;
    assay__buf_init(&text, 64);
    assay_status st;
    if (cJSON_IsBool(node))
        st = assay__buf_puts(&text, cJSON_IsTrue(node) ? "true" : "false");
    else
        st = assay__text_put_double(&text, node->valuedouble);
    if (st == ASSAY_OK)
        st = assay__template_compile(text.data, where, out, err);
    else
        st = oom(err);
    assay__buf_release(&text);
    return st;
}

assay_status assay__check_list_compile(const assay__doc *doc, const cJSON *node,
                                       assay__check_list_kind kind,
                                       const char *what,
                                       assay__check_list **out,
                                       assay_error *err)
{
    *out = NULL;
    bool one = cJSON_IsString(node) || cJSON_IsNumber(node);
    if (!one && !cJSON_IsArray(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_CHECK,
                                "%s expects a text or a list of texts, "
                                "found %s",
                                what, json_kind(node));
    int n = one ? 1 : cJSON_GetArraySize(node);
    if (n == 0)
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_CHECK,
                                "%s expects at least one text, found an "
                                "empty list",
                                what);
    if (n > ASSAY__CHECK_MAX_ITEMS)
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_CHECK,
                                "%s takes at most %d texts, found %d", what,
                                ASSAY__CHECK_MAX_ITEMS, n);
    assay__check_list *l = calloc(1, sizeof *l);
    if (l)
        l->templates = calloc((size_t)n, sizeof *l->templates);
    if (!l || !l->templates) {
        free(l);
        return oom(err);
    }
    l->kind = kind;
    l->one_text = one;
    assay__check_items_init(&l->fixed);
    assay_status st = ASSAY_OK;
    const cJSON *item = one ? node : node->child;
    for (; st == ASSAY_OK && item && l->n < (size_t)n; item = item->next) {
        if (!cJSON_IsString(item) && !cJSON_IsNumber(item)) {
            st = assay__doc_error(doc, item, false, err, ASSAY_ERR_CHECK,
                                  "%s expects texts in its list, found %s",
                                  what, json_kind(item));
            break;
        }
        st = compile_scalar(doc, item, &l->templates[l->n], err);
        if (st == ASSAY_OK)
            l->n++;
    }
    l->constant = st == ASSAY_OK;
    for (size_t i = 0; l->constant && i < l->n; i++)
        l->constant = assay__template_is_constant(l->templates[i]);
    if (st == ASSAY_OK && l->constant) {
        assay_error why;
        st = render_list(l, NULL, NULL, &l->fixed, &why);
        if (st != ASSAY_OK)
            assay__doc_error(doc, node, false, err, st, "%s: %s", what,
                             why.message);
    }
    if (st != ASSAY_OK) {
        assay__check_list_free(l);
        return st;
    }
    *out = l;
    return ASSAY_OK;
}

assay_status assay__check_list_render(const assay__check_list *l,
                                      const cJSON *vars, const char *case_id,
                                      assay__check_items *scratch,
                                      const assay__text_ref **refs, size_t *n,
                                      assay_error *err)
{
    const assay__check_items *it = &l->fixed;
    if (!l->constant) {
        assay_status st = render_list(l, vars, case_id, scratch, err);
        if (st != ASSAY_OK)
            return st;
        it = scratch;
    }
    *refs = it->refs;
    *n = it->n;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ compiling */

void assay__check_free(assay__check *c)
{
    if (!c)
        return;
    if (c->family && c->family->free)
        c->family->free(c->state);
    assay__template_free(c->value);
    assay__check_list_free(c->list);
    free(c->constant);
    free(c->metric);
    free(c->type);
    free(c->file);
    free(c);
}

const char *assay__check_type(const assay__check *c)
{
    return c->type;
}

double assay__check_weight(const assay__check *c)
{
    return c->weight;
}

const char *assay__check_metric(const assay__check *c)
{
    return c->metric ? c->metric : c->type;
}

double assay__check_threshold(const assay__check *c)
{
    return c->threshold;
}

/* Compiles the value template; renders it now when it has no variable. */
static assay_status compile_value(assay__check *c, const assay__doc *doc,
                                  const cJSON *value, assay_error *err)
{
    bool scalar = cJSON_IsNumber(value) || cJSON_IsBool(value);
    if (!cJSON_IsString(value) && !(scalar && c->family->value_scalar))
        return assay__doc_error(doc, value, false, err, ASSAY_ERR_CHECK,
                                "check '%s' expects a string, found %s%s",
                                c->type, json_kind(value),
                                scalar ? " (put it in quotes to compare "
                                         "text)"
                                       : "");
    assay_status st = compile_scalar(doc, value, &c->value, err);
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

/* The names of the scored families, for messages. */
static void scored_names(char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_FAMILIES && used < size; i++) {
        if (!registry[i]->scored)
            continue;
        int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "",
                         registry[i]->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* `weight`, `metric` and `threshold`, from the long form's object. */
static assay_status read_common(assay__check *c, const assay__doc *doc,
                                const cJSON *options, assay_error *err)
{
    c->weight = 1.0;
    c->threshold = c->family->scored ? c->family->default_threshold : NAN;
    if (!options)
        return ASSAY_OK;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(options, "weight");
    if (w) {
        if (!cJSON_IsNumber(w) || !isfinite(w->valuedouble) ||
            w->valuedouble < 0)
            return assay__doc_error(doc, w, false, err, ASSAY_ERR_CHECK,
                                    "'weight' must be a number >= 0 (0 "
                                    "makes the check informational)");
        c->weight = w->valuedouble;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(options, "metric");
    if (m) {
        if (!cJSON_IsString(m) || !m->valuestring[0] ||
            strlen(m->valuestring) >= METRIC_MAX)
            return assay__doc_error(doc, m, false, err, ASSAY_ERR_CHECK,
                                    "'metric' must be a name of 1 to %d "
                                    "bytes",
                                    METRIC_MAX - 1);
        c->metric = dup_string(m->valuestring);
        if (!c->metric)
            return oom(err);
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(options, "threshold");
    if (t && !c->family->scored && !c->family->threshold_optional) {
        char names[512];
        scored_names(names, sizeof names);
        return assay__doc_error(doc, t, true, err, ASSAY_ERR_CHECK,
                                "'%s' passes or fails by its value and "
                                "options and takes no 'threshold' (the "
                                "scored checks are %s)",
                                c->family->name, names);
    }
    if (t) {
        if (!cJSON_IsNumber(t) || !(t->valuedouble >= 0) ||
            !(t->valuedouble <= 1))
            return assay__doc_error(doc, t, false, err, ASSAY_ERR_CHECK,
                                    "'threshold' must be a score between 0 "
                                    "and 1");
        c->threshold = t->valuedouble;
    }
    return ASSAY_OK;
}

/* The parts of a spec, whichever form it is written in. */
typedef struct spec_parts {
    const char *typed;
    const cJSON *type_at; /* where to point when the type is wrong */
    bool type_at_key;
    const cJSON *value;   /* NULL when there is none */
    const cJSON *options; /* the long form's object, else NULL */
    bool short_form;
} spec_parts;

static assay_status split_spec(const assay__doc *doc, const cJSON *spec,
                               spec_parts *p, assay_error *err)
{
    memset(p, 0, sizeof *p);
    if (cJSON_IsString(spec)) { /* `- is-xml`: a family without a value */
        p->typed = spec->valuestring;
        p->type_at = spec;
        return ASSAY_OK;
    }
    if (!cJSON_IsObject(spec))
        return assay__doc_error(doc, spec, false, err, ASSAY_ERR_CHECK,
                                "a check is a mapping such as {contains: "
                                "\"Paris\"} or {type: regex, value: "
                                "\"\\\\d+\"}; found %s",
                                json_kind(spec));

    /* Which form: a `type` key makes the long one. */
    const cJSON *type_node = cJSON_GetObjectItemCaseSensitive(spec, "type");
    if (type_node) {
        if (!cJSON_IsString(type_node))
            return assay__doc_error(doc, type_node, false, err, ASSAY_ERR_CHECK,
                                    "'type' must name a check, as in "
                                    "{type: contains, value: \"Paris\"}; "
                                    "found %s",
                                    json_kind(type_node));
        p->typed = type_node->valuestring;
        p->type_at = type_node;
        p->value = cJSON_GetObjectItemCaseSensitive(spec, "value");
        p->options = spec;
        return ASSAY_OK;
    }
    int n = cJSON_GetArraySize(spec);
    if (n != 1)
        return assay__doc_error(doc, spec, false, err, ASSAY_ERR_CHECK,
                                "a check has one key, its type, as in "
                                "{contains: \"Paris\"}, or a 'type' key; "
                                "found %d keys",
                                n);
    p->value = spec->child;
    p->typed = spec->child->string;
    p->type_at = spec->child;
    p->type_at_key = true;
    p->short_form = true;
    return ASSAY_OK;
}

/* Whether the value (or its absence) suits the family. */
static assay_status check_value_use(const assay__doc *doc, const cJSON *spec,
                                    const assay__check_family *f, spec_parts *p,
                                    assay_error *err)
{
    if (f->value_use == ASSAY__VALUE_NONE) {
        /* {is-xml: true} and `is-xml:` (null) read as the bare name */
        if (p->short_form && (cJSON_IsNull(p->value) || cJSON_IsTrue(p->value)))
            p->value = NULL;
        if (p->value)
            return assay__doc_error(doc, p->value, p->short_form, err,
                                    ASSAY_ERR_CHECK,
                                    "check '%s' takes no value; write it as "
                                    "`- %s`",
                                    p->typed, p->typed);
        return ASSAY_OK;
    }
    if (f->value_use == ASSAY__VALUE_OPTIONAL && cJSON_IsNull(p->value))
        p->value = NULL;
    if (!p->value && f->value_use == ASSAY__VALUE_REQUIRED)
        return assay__doc_error(doc, spec, false, err, ASSAY_ERR_CHECK,
                                "check '%s' needs a %s", p->typed,
                                p->options ? "'value'"
                                           : "value, as in {contains: "
                                             "\"Paris\"}");
    return ASSAY_OK;
}

assay_status assay__check_compile(const assay__doc *doc, const cJSON *spec,
                                  assay__check **out, assay_error *err)
{
    *out = NULL;
    spec_parts p;
    assay_status st = split_spec(doc, spec, &p, err);
    if (st != ASSAY_OK)
        return st;

    bool negate = !strncmp(p.typed, NOT_PREFIX, strlen(NOT_PREFIX));
    const assay__check_family *family =
        family_named(negate ? p.typed + strlen(NOT_PREFIX) : p.typed);
    if (!family)
        return unknown_type(doc, p.type_at, p.type_at_key, p.typed, err);
    if (negate && family->compare)
        return assay__doc_error(doc, p.type_at, p.type_at_key, err,
                                ASSAY_ERR_CHECK,
                                "check '%s' cannot be negated: it chooses "
                                "one answer, and the others fail already",
                                family->name);
    if (p.options) {
        const cJSON *member;
        cJSON_ArrayForEach (member, p.options) {
            if (!is_option(family, member->string))
                return unknown_key(doc, member, family, err);
        }
    }
    st = check_value_use(doc, spec, family, &p, err);
    if (st != ASSAY_OK)
        return st;

    assay__check *c = calloc(1, sizeof *c);
    if (!c)
        return oom(err);
    int line = 0, col = 0;
    assay__doc_where(doc, spec, &line, &col);
    c->family = family;
    c->negate = negate;
    c->line = line;
    c->col = col;
    c->type = dup_string(p.typed);
    c->file = dup_string(assay__doc_name(doc));
    if (!c->type || !c->file) {
        assay__check_free(c);
        return oom(err);
    }

    st = read_common(c, doc, p.options, err);
    if (st == ASSAY_OK && p.value && family->value_is_template) {
        if (family->list) {
            char what[160];
            snprintf(what, sizeof what, "check '%s'", c->type);
            st = assay__check_list_compile(doc, p.value, family->list, what,
                                           &c->list, err);
        } else {
            st = compile_value(c, doc, p.value, err);
        }
    }
    if (st == ASSAY_OK && family->compile) {
        assay__check_spec s = {
            .doc = doc,
            .type = family->name,
            .value = p.value,
            .options = p.options,
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

/* The options a check made in code takes: those of the long form but
   its type and value. */
static assay_status check_code_options(const assay__doc *doc,
                                       const cJSON *options,
                                       const assay__check_family *family,
                                       const char *type, assay_error *err)
{
    if (!options)
        return ASSAY_OK;
    if (!cJSON_IsObject(options))
        return assay__doc_error(doc, options, false, err, ASSAY_ERR_CHECK,
                                "the options of check '%s' are a mapping "
                                "such as {weight: 2, metric: quality, "
                                "threshold: 0.5}; found %s",
                                type, json_kind(options));
    const cJSON *member;
    cJSON_ArrayForEach (member, options) {
        if (!strcmp(member->string, "type") ||
            !strcmp(member->string, "value") ||
            !is_option(family, member->string))
            return assay__doc_error(doc, member, true, err, ASSAY_ERR_CHECK,
                                    "unknown key '%s' in the options of "
                                    "check '%s' (it takes 'weight', "
                                    "'metric' and 'threshold')",
                                    member->string, type);
    }
    return ASSAY_OK;
}

assay_status assay__check_new(const assay__check_family *family,
                              const char *type, void *state,
                              const assay__doc *doc, const cJSON *options,
                              assay__check **out, assay_error *err)
{
    *out = NULL;
    assay_status st = check_code_options(doc, options, family, type, err);
    assay__check *c = st == ASSAY_OK ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        if (family->free)
            family->free(state);
        return st == ASSAY_OK ? oom(err) : st;
    }
    c->family = family;
    c->state = state;
    c->type = dup_string(type);
    c->file = dup_string(doc ? assay__doc_name(doc) : type);
    if (options)
        assay__doc_where(doc, options, &c->line, &c->col);
    st = c->type && c->file ? read_common(c, doc, options, err) : oom(err);
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

/* Renders what the check compares with: one value, or a list's items. */
static assay_status render_value(const assay__check *c, const cJSON *vars,
                                 const char *case_id, assay__buf *rendered,
                                 assay__check_items *items,
                                 assay__text_ref *one, assay__check_input *in,
                                 assay_error *err)
{
    assay_status st = ASSAY_OK;
    if (c->list) {
        st = assay__check_list_render(c->list, vars, case_id, items, &in->items,
                                      &in->n_items, err);
        if (st == ASSAY_OK && in->n_items) {
            in->value = in->items[0].s;
            in->value_len = in->items[0].len;
        }
        return st;
    }
    if (c->value && !c->constant) {
        st = assay__template_render(c->value, vars, case_id, rendered, err);
        in->value = rendered->data;
        in->value_len = rendered->len;
    }
    one->s = in->value;
    one->len = in->value_len;
    in->items = one;
    in->n_items = 1;
    return st;
}

static double clamp_score(double s)
{
    if (!(s >= 0.0)) /* NaN too */
        return 0.0;
    return s > 1.0 ? 1.0 : s;
}

/*
 * "expected [not ]to WANT; found FOUND", put together piece by piece: it
 * is written for every check of every result, and printf's parsing of
 * the format cost more than the copying. All or nothing, as printf was.
 */
static assay_status put_reason(assay__buf *reason, bool negate,
                               const char *want, const char *found)
{
    size_t mark = reason->len;
    assay_status st =
        assay__buf_puts(reason, negate ? "expected not to " : "expected to ");
    if (st == ASSAY_OK)
        st = assay__buf_puts(reason, want);
    if (st == ASSAY_OK)
        st = assay__buf_append(reason, "; found ", 8);
    if (st == ASSAY_OK)
        st = assay__buf_puts(reason, found);
    if (st != ASSAY_OK && reason->cap) {
        reason->len = mark;
        reason->data[mark] = '\0';
    }
    return st;
}

assay_status assay__check_run(const assay__check *c, const char *output,
                              size_t len, const cJSON *vars,
                              const char *case_id,
                              const assay__check_context *ctx,
                              assay__verdict *out, assay_error *err)
{
    out->pass = false;
    out->score = 0.0;
    assay__buf_reset(&out->reason);

    assay__buf *rendered = &out->rendered, *want = &out->want,
               *found = &out->found;
    assay__buf_reset(rendered);
    assay__buf_reset(want);
    assay__buf_reset(found);
    assay__check_items items;
    assay__check_items_init(&items);
    assay__text_ref one;
    bool known_latency = ctx && ctx->latency_ms >= 0;
    bool known_ttft = ctx && ctx->ttft_ms >= 0;
    assay__check_input in = {
        .output = output ? output : "",
        .output_len = output ? len : 0,
        .value = c->constant ? c->constant : "",
        .value_len = c->constant_len,
        .threshold = c->threshold,
        .vars = vars,
        .case_id = case_id,
        .response = ctx ? ctx->response : NULL,
        .latency_ms = known_latency ? ctx->latency_ms : NAN,
        .ttft_ms = known_ttft ? ctx->ttft_ms : NAN,
        .tools = ctx ? ctx->tools : NULL,
        .cached = ctx && ctx->cached,
        .grader_reply = ctx ? ctx->grader_reply : NULL,
        .grader_reply_len = ctx ? ctx->grader_reply_len : 0,
    };
    assay__check_finding finding = {.want = want, .found = found};

    assay_status st =
        render_value(c, vars, case_id, rendered, &items, &one, &in, err);
    if (st != ASSAY_OK) /* the message names the case already */
        at_check(c, NULL, st, err);
    if (st == ASSAY_OK) {
        st = c->family->run(c->state, &in, &finding, err);
        if (st != ASSAY_OK)
            at_check(c, case_id ? case_id : "?", st, err);
    }
    if (st == ASSAY_OK) {
        double score = clamp_score(finding.score);
        /* a threshold_optional family has one only when it was given */
        if (c->family->scored || !isnan(c->threshold))
            finding.pass = score >= c->threshold;
        out->pass = finding.pass != c->negate;
        out->score = c->negate ? 1.0 - score : score;
        st = put_reason(&out->reason, c->negate, want->data, found->data);
        if (st != ASSAY_OK)
            assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    }
    assay__check_items_release(&items);
    return st;
}

bool assay__check_needs_grader(const assay__check *c)
{
    return c->family->ask != NULL;
}

bool assay__check_embeds(const assay__check *c)
{
    return c->family->embeds;
}

bool assay__check_scores_loglik(const assay__check *c)
{
    return c->family->continuations != NULL;
}

assay_status assay__check_continuations(const assay__check *c,
                                        const cJSON *vars,
                                        const char *case_id, assay__buf *out,
                                        size_t *n, assay_error *err)
{
    *n = 0;
    if (!c->family->continuations)
        return ASSAY_OK;
    assay_status st =
        c->family->continuations(c->state, vars, case_id, out, n, err);
    if (st != ASSAY_OK)
        at_check(c, case_id ? case_id : "?", st, err);
    return st;
}

assay_status assay__check_ask(const assay__check *c, const char *output,
                              size_t len, const cJSON *vars,
                              const char *case_id,
                              const assay__check_context *ctx,
                              assay__buf *system, assay__buf *user,
                              assay_error *err)
{
    assay__buf rendered;
    assay__buf_init(&rendered, VALUE_MAX);
    assay__check_items items;
    assay__check_items_init(&items);
    assay__text_ref one;
    assay__check_input in = {
        .output = output ? output : "",
        .output_len = output ? len : 0,
        .value = c->constant ? c->constant : "",
        .value_len = c->constant_len,
        .threshold = c->threshold,
        .vars = vars,
        .case_id = case_id,
        .response = ctx ? ctx->response : NULL,
        .latency_ms = NAN,
        .ttft_ms = NAN,
    };
    assay_status st =
        render_value(c, vars, case_id, &rendered, &items, &one, &in, err);
    if (st != ASSAY_OK)
        at_check(c, NULL, st, err);
    if (st == ASSAY_OK) {
        st = c->family->ask(c->state, &in, system, user, err);
        if (st != ASSAY_OK)
            at_check(c, case_id ? case_id : "?", st, err);
    }
    assay__check_items_release(&items);
    assay__buf_release(&rendered);
    return st;
}

/* ------------------------------------------------------------ comparing */

void assay__check_locate(const assay__check *c, assay_status st,
                         assay_error *err)
{
    at_check(c, NULL, st, err);
}

bool assay__check_compares(const assay__check *c)
{
    return c->family->compare != NULL;
}

bool assay__check_compare_asks(const assay__check *c)
{
    return c->family->compare_ask != NULL;
}

/* What a comparative check is given: its value rendered for the case. */
typedef struct compare_scratch {
    assay__buf rendered;
    assay__check_items items;
    assay__text_ref one;
    assay__check_input in;
} compare_scratch;

static assay_status compare_begin(const assay__check *c, const cJSON *vars,
                                  const char *case_id, compare_scratch *x,
                                  assay_error *err)
{
    assay__buf_init(&x->rendered, VALUE_MAX);
    assay__check_items_init(&x->items);
    x->in = (assay__check_input){
        .output = "",
        .value = c->constant ? c->constant : "",
        .value_len = c->constant_len,
        .threshold = c->threshold,
        .vars = vars,
        .case_id = case_id,
        .latency_ms = NAN,
        .ttft_ms = NAN,
    };
    assay_status st = render_value(c, vars, case_id, &x->rendered, &x->items,
                                   &x->one, &x->in, err);
    if (st != ASSAY_OK)
        at_check(c, NULL, st, err);
    return st;
}

static void compare_end(compare_scratch *x)
{
    assay__check_items_release(&x->items);
    assay__buf_release(&x->rendered);
}

assay_status assay__check_compare_ask(const assay__check *c,
                                      const assay__compare_input *answers,
                                      const cJSON *vars, const char *case_id,
                                      assay__buf *system, assay__buf *user,
                                      assay_error *err)
{
    compare_scratch x;
    assay_status st = compare_begin(c, vars, case_id, &x, err);
    if (st == ASSAY_OK) {
        st = c->family->compare_ask(c->state, &x.in, answers, system, user,
                                    err);
        if (st != ASSAY_OK)
            at_check(c, case_id ? case_id : "?", st, err);
    }
    compare_end(&x);
    return st;
}

/* Each answer's verdict from the family's findings. */
static assay_status compare_verdicts(const assay__buf *want,
                                     const assay__compare_finding *findings,
                                     size_t n, assay__verdict *out)
{
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < n; i++) {
        out[i].pass = findings[i].pass;
        out[i].score = clamp_score(findings[i].score);
        assay__buf_reset(&out[i].reason);
        st = assay__buf_printf(&out[i].reason, "expected to %s; found %s",
                               want->data, findings[i].found->data);
    }
    return st;
}

assay_status assay__check_compare(const assay__check *c,
                                  const assay__compare_input *answers,
                                  const cJSON *vars, const char *case_id,
                                  const char *reply, size_t reply_len,
                                  assay__verdict *out, assay_error *err)
{
    size_t n = answers->n;
    assay__buf *found = calloc(n ? n : 1, sizeof *found);
    assay__compare_finding *findings = calloc(n ? n : 1, sizeof *findings);
    if (!found || !findings) {
        free(found);
        free(findings);
        return oom(err);
    }
    assay__buf want;
    assay__buf_init(&want, REASON_MAX);
    for (size_t i = 0; i < n; i++) {
        assay__buf_init(&found[i], REASON_MAX);
        findings[i].found = &found[i];
    }
    compare_scratch x;
    assay_status st = compare_begin(c, vars, case_id, &x, err);
    x.in.grader_reply = reply;
    x.in.grader_reply_len = reply_len;
    if (st == ASSAY_OK) {
        st = c->family->compare(c->state, &x.in, answers, &want, findings,
                                err);
        if (st != ASSAY_OK)
            at_check(c, case_id ? case_id : "?", st, err);
    }
    if (st == ASSAY_OK &&
        (st = compare_verdicts(&want, findings, n, out)) != ASSAY_OK)
        assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    compare_end(&x);
    for (size_t i = 0; i < n; i++)
        assay__buf_release(&found[i]);
    free(found);
    free(findings);
    assay__buf_release(&want);
    return st;
}

/* ------------------------------------------------------------ verdicts */

bool assay__verdict_combine(const struct assay__check_outcome *outcomes,
                            size_t n, double case_threshold, double *score)
{
    double sum = 0.0, weights = 0.0;
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        double w = outcomes[i].weight;
        if (w <= 0)
            continue; /* informational: reported, never counted */
        sum += w * outcomes[i].score;
        weights += w;
        all = all && outcomes[i].pass;
    }
    /* no counted check: nothing was asked of the answer */
    *score = weights > 0 ? sum / weights : 1.0;
    if (isnan(case_threshold))
        return all;
    return *score >= case_threshold;
}
