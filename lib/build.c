/*
 * build.c - suites built in code: a new empty suite, and targets, prompts,
 * checks and cases added to it (or to a loaded one) by a program that
 * embeds the library.
 *
 * Every text a caller hands in (a target entry, a check entry, a case's
 * fields) is parsed by yaml.c into a document of its own and read by the
 * same code that reads a suite file, so every key works the same and every
 * mistake is reported at its line and column within that text. Those
 * documents are kept with the suite (its extras): what was compiled from
 * them may point into them. Each addition is mixed into the suite's
 * config_hash, so records of different suites are never resumed or merged
 * together.
 *
 * What it does not do: run anything (run.c), or read files other than the
 * dataset the caller names, which is only opened by a run.
 */
#include "callback.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 256

struct assay__suite_extras {
    assay__doc **docs; /* what the added texts were parsed into */
    size_t n_docs;
    cJSON *cases;       /* inline cases added to a suite that had none */
    bool prompt_added;  /* the implicit "default" prompt is gone */
};

void assay__suite_extras_free(assay__suite_extras *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n_docs; i++)
        assay__doc_free(x->docs[i]);
    free(x->docs);
    cJSON_Delete(x->cases);
    free(x);
}

static assay_status oom(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

static assay_status need(const void *p, const char *what, assay_error *err)
{
    return p ? ASSAY_OK
             : assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0, "%s is NULL",
                            what);
}

static assay__suite_extras *extras_of(assay_suite *s)
{
    if (!s->extras)
        s->extras = calloc(1, sizeof *s->extras);
    return s->extras;
}

/* Parses `text` as YAML or JSON; `name` stands for it in messages. The
   document is kept with the suite once the addition succeeds. */
static assay_status parse_text(const char *name, const char *text,
                               assay__doc **out, assay_error *err)
{
    *out = NULL;
    if (!text)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "the %s text is NULL", name);
    assay_status st = assay__doc_parse(name, text, strlen(text), out, err);
    if (st == ASSAY_OK && !assay__doc_root(*out)) {
        assay__doc_free(*out);
        *out = NULL;
        return assay__error(err, ASSAY_ERR_SYNTAX, name, 1, 1,
                            "the %s text is empty", name);
    }
    return st;
}

/* Makes room to keep one more document, before anything is changed, so
   that keeping it cannot fail once the addition is made. */
static assay_status room_for_doc(assay_suite *s, assay_error *err)
{
    assay__suite_extras *x = extras_of(s);
    assay__doc **docs = x ? realloc(x->docs, (x->n_docs + 1) * sizeof *docs)
                          : NULL;
    if (!docs)
        return oom(err);
    x->docs = docs;
    return ASSAY_OK;
}

static void keep_doc(assay_suite *s, assay__doc *doc)
{
    s->extras->docs[s->extras->n_docs++] = doc;
}

/* config_hash := SHA-256(config_hash, what, text), the text NUL-ended. */
static assay_status mix_hash(assay_suite *s, const char *what,
                             const char *text, assay_error *err)
{
    const char *parts[] = {text ? text : ""};
    return assay__suite_mix_hash(s, what, parts, 1, err);
}

/* Mixes a node's JSON text into the hash. */
static assay_status mix_node(assay_suite *s, const char *what,
                             const cJSON *node, assay_error *err)
{
    char *text = cJSON_PrintUnformatted(node);
    if (!text)
        return oom(err);
    assay_status st = mix_hash(s, what, text, err);
    cJSON_free(text);
    return st;
}

static assay_status check_name(const char *name, const char *what,
                               assay_error *err)
{
    if (!name || !*name || strlen(name) >= NAME_MAX_BYTES)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "a %s's name must be 1 to %d bytes", what,
                            NAME_MAX_BYTES - 1);
    return ASSAY_OK;
}

/* ------------------------------------------------------------ suites */

/* The prompt a suite without `prompt:` has: the case's own `input`. */
static assay_status implicit_prompt(assay_suite *s, assay_error *err)
{
    s->prompts = calloc(1, sizeof *s->prompts);
    if (!s->prompts || !(s->prompts[0].name = strdup("default")))
        return oom(err);
    s->prompts[0].from_case = true;
    s->n_prompts = 1;
    return ASSAY_OK;
}

assay_status assay_suite_new(const char *name, assay_suite **out,
                             assay_error *err)
{
    if (!out)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_suite_new needs somewhere to put the "
                            "suite");
    *out = NULL;
    assay_status st = check_name(name, "suite", err);
    if (st != ASSAY_OK)
        return st;
    assay_suite *s = calloc(1, sizeof *s);
    if (!s)
        return oom(err);
    assay__gates_init(&s->gates);
    s->repeat = 1;
    s->case_threshold = NAN;
    char doc_name[NAME_MAX_BYTES + 16];
    snprintf(doc_name, sizeof doc_name, "suite '%s'", name);
    st = assay__doc_parse(doc_name, "{}", 2, &s->doc, err);
    if (st == ASSAY_OK && !(s->name = strdup(name)))
        st = oom(err);
    if (st == ASSAY_OK)
        st = implicit_prompt(s, err);
    assay__suite_extras *x = st == ASSAY_OK ? extras_of(s) : NULL;
    if (st == ASSAY_OK && (!x || !(x->cases = cJSON_CreateArray())))
        st = oom(err);
    if (st == ASSAY_OK) {
        s->dataset.doc = s->doc;
        s->dataset.inline_cases = x->cases;
        st = mix_hash(s, "suite", name, err);
    }
    if (st != ASSAY_OK) {
        assay_suite_free(s);
        return st;
    }
    *out = s;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ targets */

static bool target_named(const assay_suite *s, const char *name)
{
    for (size_t i = 0; i < s->n_targets; i++)
        if (!strcmp(s->targets[i].name, name))
            return true;
    return false;
}

/* Reads a target entry of `doc` and appends it; the doc is kept. */
static assay_status add_target_doc(assay_suite *s, assay__doc *doc,
                                   assay_target_fn fn, void *fn_data,
                                   assay_error *err)
{
    assay__target t;
    memset(&t, 0, sizeof t);
    const cJSON *root = assay__doc_root(doc);
    assay_status st = room_for_doc(s, err);
    if (st == ASSAY_OK)
        st = assay__suite_load_target(s, doc, root, &t, err);
    if (st == ASSAY_OK && target_named(s, t.name))
        st = assay__doc_error(doc, root, false, err, ASSAY_ERR_SUITE,
                              "the suite has a target named '%s' already; "
                              "give each a distinct 'name'",
                              t.name);
    if (st == ASSAY_OK && fn) {
        size_t n = strlen(t.name) + sizeof "callback:";
        free(t.base_url);
        t.base_url = malloc(n);
        if (t.base_url)
            snprintf(t.base_url, n, "callback:%s", t.name);
        else
            st = oom(err);
        t.call = fn;
        t.call_data = fn_data;
    }
    assay__target *grown = NULL;
    if (st == ASSAY_OK) {
        grown = realloc(s->targets, (s->n_targets + 1) * sizeof *grown);
        if (!grown)
            st = oom(err);
        else
            s->targets = grown;
    }
    if (st == ASSAY_OK)
        st = mix_node(s, fn ? "callback target" : "target", root, err);
    if (st != ASSAY_OK) {
        assay__target_release(&t);
        assay__doc_free(doc);
        return st;
    }
    s->targets[s->n_targets++] = t;
    keep_doc(s, doc);
    return ASSAY_OK;
}

assay_status assay_suite_add_target_text(assay_suite *suite, const char *text,
                                         assay_error *err)
{
    assay_status st = need(suite, "the suite", err);
    assay__doc *doc = NULL;
    if (st == ASSAY_OK)
        st = parse_text("target", text, &doc, err);
    return st == ASSAY_OK ? add_target_doc(suite, doc, NULL, NULL, err) : st;
}

/* The grader or the embedder, as a suite file's `grader:` or `embedder:`
   is read. */
static assay_status set_helper_model(assay_suite *s, const char *what,
                                     const char *text, bool embedder,
                                     assay_error *err)
{
    assay_status st = need(s, "the suite", err);
    assay__doc *doc = NULL;
    if (st == ASSAY_OK)
        st = parse_text(what, text, &doc, err);
    if (st == ASSAY_OK)
        st = room_for_doc(s, err);
    assay__target *t = st == ASSAY_OK ? calloc(1, sizeof *t) : NULL;
    if (st == ASSAY_OK && !t)
        st = oom(err);
    if (st == ASSAY_OK)
        st = assay__suite_load_target(s, doc, assay__doc_root(doc), t, err);
    if (st == ASSAY_OK)
        st = mix_node(s, what, assay__doc_root(doc), err);
    if (st != ASSAY_OK) {
        if (t) {
            assay__target_release(t);
            free(t);
        }
        assay__doc_free(doc);
        return st;
    }
    if (embedder)
        t->conn.endpoint = ASSAY__ENDPOINT_EMBEDDINGS;
    assay__target **slot = embedder ? &s->embedder : &s->grader;
    if (*slot) {
        assay__target_release(*slot);
        free(*slot);
    }
    *slot = t;
    keep_doc(s, doc);
    return ASSAY_OK;
}

assay_status assay_suite_set_grader(assay_suite *suite, const char *text,
                                    assay_error *err)
{
    return set_helper_model(suite, "grader", text, false, err);
}

assay_status assay_suite_set_embedder(assay_suite *suite, const char *text,
                                      assay_error *err)
{
    return set_helper_model(suite, "embedder", text, true, err);
}

/* A document of the mapping `fields` (name/value pairs, NULL values left
   out), so that its mistakes are reported like a text's. */
static assay_status doc_of_fields(const char *name,
                                  const char *const (*fields)[2], size_t n,
                                  assay__doc **out, assay_error *err)
{
    cJSON *map = cJSON_CreateObject();
    for (size_t i = 0; map && i < n; i++)
        if (fields[i][1] &&
            !cJSON_AddStringToObject(map, fields[i][0], fields[i][1])) {
            cJSON_Delete(map);
            map = NULL;
        }
    char *text = map ? cJSON_PrintUnformatted(map) : NULL;
    cJSON_Delete(map);
    if (!text)
        return oom(err);
    assay_status st = parse_text(name, text, out, err);
    cJSON_free(text);
    return st;
}

assay_status assay_suite_add_target(assay_suite *suite, const char *name,
                                    const char *base_url, const char *model,
                                    assay_error *err)
{
    assay_status st = need(suite, "the suite", err);
    if (st == ASSAY_OK && !model)
        st = assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                          "a target needs a model");
    const char *const fields[][2] = {
        {"name", name}, {"base_url", base_url}, {"model", model}};
    assay__doc *doc = NULL;
    if (st == ASSAY_OK)
        st = doc_of_fields("target", fields, 3, &doc, err);
    return st == ASSAY_OK ? add_target_doc(suite, doc, NULL, NULL, err) : st;
}

assay_status assay_suite_add_target_callback(assay_suite *suite,
                                             const char *name,
                                             assay_target_fn fn,
                                             void *user_data,
                                             assay_error *err)
{
    assay_status st = need(suite, "the suite", err);
    if (st == ASSAY_OK && !fn)
        st = assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                          "the target's function is NULL");
    if (st == ASSAY_OK)
        st = check_name(name, "target", err);
    /* The model names what answered in the record. */
    const char *const fields[][2] = {{"name", name}, {"model", "callback"}};
    assay__doc *doc = NULL;
    if (st == ASSAY_OK)
        st = doc_of_fields("callback target", fields, 2, &doc, err);
    return st == ASSAY_OK ? add_target_doc(suite, doc, fn, user_data, err)
                          : st;
}

/* ------------------------------------------------------------ prompts */

static bool is_role(const char *s)
{
    return !strcmp(s, "system") || !strcmp(s, "user") ||
           !strcmp(s, "assistant") || !strcmp(s, "developer");
}

static assay_status compile_messages(assay__prompt *p, const char *name,
                                     const char *const *roles,
                                     const char *const *contents, size_t n,
                                     assay_error *err)
{
    p->messages = calloc(n, sizeof *p->messages);
    if (!p->messages)
        return oom(err);
    for (size_t i = 0; i < n; i++) {
        char where[NAME_MAX_BYTES + 64];
        snprintf(where, sizeof where, "prompt '%s', message %zu", name,
                 i + 1);
        if (!roles[i] || !is_role(roles[i]))
            return assay__error(err, ASSAY_ERR_SUITE, NULL, 0, 0,
                                "%s: 'role' must be system, developer, user "
                                "or assistant",
                                where);
        if (!contents[i])
            return assay__error(err, ASSAY_ERR_SUITE, NULL, 0, 0,
                                "%s: 'content' is NULL", where);
        assay__message *m = &p->messages[p->n_messages++];
        if (!(m->role = strdup(roles[i])))
            return oom(err);
        assay_status st = assay__template_compile(contents[i], where,
                                                  &m->content, err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static assay_status mix_prompt(assay_suite *s, const assay__prompt *p,
                               const char *const *contents, assay_error *err)
{
    char hash[sizeof s->config_hash];
    memcpy(hash, s->config_hash, sizeof hash);
    assay_status st = mix_hash(s, "prompt", p->name, err);
    for (size_t i = 0; st == ASSAY_OK && i < p->n_messages; i++) {
        st = mix_hash(s, "role", p->messages[i].role, err);
        if (st == ASSAY_OK)
            st = mix_hash(s, "content", contents[i], err);
    }
    if (st != ASSAY_OK) /* the suite stays as it was */
        memcpy(s->config_hash, hash, sizeof hash);
    return st;
}

assay_status assay_suite_add_prompt_messages(assay_suite *suite,
                                             const char *name,
                                             const char *const *roles,
                                             const char *const *contents,
                                             size_t n, assay_error *err)
{
    assay_status st = need(suite, "the suite", err);
    if (st == ASSAY_OK && (!n || !roles || !contents))
        st = assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                          "a prompt needs at least one message");
    if (!name)
        name = "default";
    if (st == ASSAY_OK)
        st = check_name(name, "prompt", err);
    assay__suite_extras *x = st == ASSAY_OK ? extras_of(suite) : NULL;
    if (st == ASSAY_OK && !x)
        st = oom(err);
    if (st != ASSAY_OK)
        return st;
    /* The first prompt added replaces the implicit one (the case's
       `input`), as writing `prompt:` in a file would. */
    bool replace = !x->prompt_added && suite->n_prompts == 1 &&
                   suite->prompts[0].from_case;
    for (size_t i = 0; !replace && i < suite->n_prompts; i++)
        if (!strcmp(suite->prompts[i].name, name))
            return assay__error(err, ASSAY_ERR_SUITE, NULL, 0, 0,
                                "the suite has a prompt named '%s' already; "
                                "give each a distinct name",
                                name);
    assay__prompt p;
    memset(&p, 0, sizeof p);
    if (!(p.name = strdup(name)))
        return oom(err);
    st = compile_messages(&p, name, roles, contents, n, err);
    if (st == ASSAY_OK && !replace) {
        assay__prompt *grown = realloc(suite->prompts,
                                       (suite->n_prompts + 1) * sizeof *grown);
        if (grown)
            suite->prompts = grown;
        else
            st = oom(err);
    }
    if (st == ASSAY_OK)
        st = mix_prompt(suite, &p, contents, err);
    if (st != ASSAY_OK) {
        assay__prompt_release(&p);
        return st;
    }
    if (replace) {
        assay__prompt_release(&suite->prompts[0]);
        suite->prompts[0] = p;
    } else {
        suite->prompts[suite->n_prompts++] = p;
    }
    x->prompt_added = true;
    return ASSAY_OK;
}

assay_status assay_suite_add_prompt(assay_suite *suite, const char *name,
                                    const char *template_text,
                                    assay_error *err)
{
    const char *roles[] = {"user"};
    const char *contents[] = {template_text};
    if (!template_text)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "the prompt's template is NULL");
    return assay_suite_add_prompt_messages(suite, name, roles, contents, 1,
                                           err);
}

/* ------------------------------------------------------------ checks */

static assay_status append_check(assay_suite *s, assay__check *c,
                                 assay_error *err)
{
    assay__check **grown = realloc(s->checks,
                                   (s->n_checks + 1) * sizeof *grown);
    if (!grown) {
        assay__check_free(c);
        return oom(err);
    }
    s->checks = grown;
    s->checks[s->n_checks++] = c;
    return ASSAY_OK;
}

static bool is_exec(const assay__check *c)
{
    const char *type = assay__check_type(c);
    return !strcmp(type, "exec") || !strcmp(type, "not-exec");
}

/* Compiles the check entry that is `doc`'s root and appends it. */
static assay_status add_check_doc(assay_suite *s, assay__doc *doc,
                                  assay_error *err)
{
    const cJSON *root = assay__doc_root(doc);
    assay__check *c = NULL;
    assay_status st = room_for_doc(s, err);
    if (st == ASSAY_OK)
        st = assay__check_compile(doc, root, &c, err);
    if (st == ASSAY_OK && is_exec(c) && !s->allow_exec)
        st = assay__doc_error(doc, root, false, err, ASSAY_ERR_SUITE,
                              "an 'exec' check runs a program: the suite "
                              "must allow it with `allow_exec: true`");
    if (st == ASSAY_OK)
        st = mix_node(s, "check", root, err);
    if (st != ASSAY_OK) {
        assay__check_free(c);
        assay__doc_free(doc);
        return st;
    }
    st = append_check(s, c, err);
    if (st != ASSAY_OK) {
        assay__doc_free(doc);
        return st;
    }
    keep_doc(s, doc);
    return ASSAY_OK;
}

assay_status assay_suite_add_check_text(assay_suite *suite, const char *text,
                                        assay_error *err)
{
    assay_status st = need(suite, "the suite", err);
    assay__doc *doc = NULL;
    if (st == ASSAY_OK)
        st = parse_text("check", text, &doc, err);
    return st == ASSAY_OK ? add_check_doc(suite, doc, err) : st;
}

assay_status assay_suite_add_check(assay_suite *suite, const char *type,
                                   const char *value, assay_error *err)
{
    assay_status st = need(suite, "the suite", err);
    if (st == ASSAY_OK && (!type || !*type))
        st = assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                          "a check needs a type");
    assay__doc *doc = NULL;
    if (st == ASSAY_OK) {
        /* {TYPE: VALUE}, or the bare name of a check without a value. */
        const char *const fields[][2] = {{type, value}};
        cJSON *bare = value ? NULL : cJSON_CreateString(type);
        char *text = bare ? cJSON_PrintUnformatted(bare) : NULL;
        cJSON_Delete(bare);
        if (value)
            st = doc_of_fields("check", fields, 1, &doc, err);
        else if (!text)
            st = oom(err);
        else
            st = parse_text("check", text, &doc, err);
        cJSON_free(text);
    }
    return st == ASSAY_OK ? add_check_doc(suite, doc, err) : st;
}

assay_status assay_suite_add_check_callback_options(
    assay_suite *suite, const char *name, const char *options,
    assay_check_fn fn, void *user_data, assay_error *err)
{
    assay_status st = need(suite, "the suite", err);
    if (st == ASSAY_OK && !fn)
        st = assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                          "the check's function is NULL");
    if (st == ASSAY_OK)
        st = check_name(name, "check", err);
    char doc_name[NAME_MAX_BYTES + 32];
    snprintf(doc_name, sizeof doc_name, "options of check '%s'",
             name ? name : "");
    assay__doc *doc = NULL;
    if (st == ASSAY_OK)
        st = parse_text(doc_name, options ? options : "{}", &doc, err);
    assay__check *c = NULL;
    if (st == ASSAY_OK)
        st = room_for_doc(suite, err);
    if (st == ASSAY_OK)
        st = assay__check_callback_new(name, fn, user_data, doc,
                                       assay__doc_root(doc), &c, err);
    char hash[sizeof suite->config_hash];
    memcpy(hash, suite->config_hash, sizeof hash);
    if (st == ASSAY_OK)
        st = mix_hash(suite, "callback check", name, err);
    if (st == ASSAY_OK)
        st = mix_node(suite, "options", assay__doc_root(doc), err);
    if (st == ASSAY_OK) {
        st = append_check(suite, c, err);
        c = NULL;
    }
    assay__check_free(c);
    if (st != ASSAY_OK) {
        memcpy(suite->config_hash, hash, sizeof hash);
        assay__doc_free(doc);
        return st;
    }
    keep_doc(suite, doc);
    return ASSAY_OK;
}

assay_status assay_suite_add_check_callback(assay_suite *suite,
                                            const char *name,
                                            assay_check_fn fn,
                                            void *user_data, assay_error *err)
{
    return assay_suite_add_check_callback_options(suite, name, NULL, fn,
                                                  user_data, err);
}

/* ------------------------------------------------------------ cases */

/* The list inline cases go to: the suite's own, or a new one. */
static assay_status inline_cases(assay_suite *s, cJSON **out,
                                 assay_error *err)
{
    *out = NULL;
    if (s->dataset.path)
        return assay__error(err, ASSAY_ERR_STATE, NULL, 0, 0,
                            "the suite reads its cases from %s; add cases "
                            "to a suite with inline cases or none",
                            s->dataset.path);
    if (s->dataset.inline_cases) { /* the suite's `cases:`, in its doc */
        *out = (cJSON *)s->dataset.inline_cases;
        return ASSAY_OK;
    }
    assay__suite_extras *x = extras_of(s);
    if (!x || (!x->cases && !(x->cases = cJSON_CreateArray())))
        return oom(err);
    s->dataset.doc = s->doc;
    s->dataset.inline_cases = x->cases;
    *out = x->cases;
    return ASSAY_OK;
}

static bool has_case_id(const cJSON *cases, const char *id)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "id");
        if (cJSON_IsString(v) && !strcmp(v->valuestring, id))
            return true;
    }
    return false;
}

assay_status assay_suite_add_case(assay_suite *suite, const char *id,
                                  const char *vars_json, assay_error *err)
{
    assay_status st = need(suite, "the suite", err);
    if (st == ASSAY_OK && id && !*id)
        st = assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                          "a case's id must not be empty");
    cJSON *cases = NULL;
    if (st == ASSAY_OK)
        st = inline_cases(suite, &cases, err);
    if (st != ASSAY_OK)
        return st;
    char name[NAME_MAX_BYTES + 32];
    snprintf(name, sizeof name, "case '%.*s'", NAME_MAX_BYTES,
             id ? id : "(no id)");
    assay__doc *doc = NULL;
    st = parse_text(name, vars_json, &doc, err);
    const cJSON *root = st == ASSAY_OK ? assay__doc_root(doc) : NULL;
    if (st == ASSAY_OK && !cJSON_IsObject(root))
        st = assay__doc_error(doc, root, false, err, ASSAY_ERR_DATASET,
                              "a case is a mapping of its fields, as in "
                              "{text: \"great film\", expected: positive}");
    cJSON *vars = st == ASSAY_OK ? cJSON_Duplicate(root, true) : NULL;
    if (st == ASSAY_OK && !vars)
        st = oom(err);
    if (st == ASSAY_OK && id) {
        cJSON_DeleteItemFromObjectCaseSensitive(vars, "id");
        if (!cJSON_AddStringToObject(vars, "id", id))
            st = oom(err);
    }
    const cJSON *own_id = cJSON_GetObjectItemCaseSensitive(vars, "id");
    if (st == ASSAY_OK && cJSON_IsString(own_id) &&
        has_case_id(cases, own_id->valuestring))
        st = assay__error(err, ASSAY_ERR_DATASET, NULL, 0, 0,
                          "the suite has a case '%s' already (ids must be "
                          "unique)",
                          own_id->valuestring);
    if (st == ASSAY_OK)
        st = mix_node(suite, "case", vars, err);
    assay__doc_free(doc);
    if (st != ASSAY_OK) {
        cJSON_Delete(vars);
        return st;
    }
    cJSON_AddItemToArray(cases, vars);
    return ASSAY_OK;
}

assay_status assay_suite_set_dataset(assay_suite *suite, const char *path,
                                     assay_error *err)
{
    assay_status st = need(suite, "the suite", err);
    if (st == ASSAY_OK && (!path || !*path))
        st = assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                          "a dataset needs a path");
    char *copy = st == ASSAY_OK ? strdup(path) : NULL;
    if (st == ASSAY_OK && !copy)
        st = oom(err);
    if (st == ASSAY_OK)
        st = mix_hash(suite, "dataset", path, err);
    if (st != ASSAY_OK) {
        free(copy);
        return st;
    }
    assay__dataset_spec_release(&suite->dataset);
    suite->dataset.path = copy;
    suite->dataset.shots = suite->shots;
    return ASSAY_OK;
}
