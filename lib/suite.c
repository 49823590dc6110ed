/*
 * suite.c - loading a suite file into the in-memory suite a run executes.
 *
 * The file (YAML or JSON, read by yaml.c into one tree with positions) is
 * checked field by field; every mistake is reported at its line and column
 * with what was expected. Templates and checks are compiled here, once, so
 * that a run only renders and scores. The dataset is not opened here: it is
 * streamed by the run.
 */
#include "internal.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static const char *const top_level_keys[] = {
    "name", "description", "targets", "prompt", "dataset",
    "cases", "checks", "repeat", "gates", NULL,
};
static const char *const target_keys[] = {
    "name", "model", "base_url", "api_key_env", "params", NULL,
};

static bool is_known(const char *key, const char *const *known)
{
    for (; *known; known++)
        if (!strcmp(key, *known))
            return true;
    return false;
}

static assay_status check_keys(const assay__doc *doc, const cJSON *map,
                               const char *const *known, const char *what,
                               assay_error *err)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, map)
    {
        if (is_known(item->string, known))
            continue;
        assay__buf list;
        assay__buf_init(&list, 0);
        for (const char *const *k = known; *k; k++)
            assay__buf_printf(&list, "%s%s", k == known ? "" : ", ", *k);
        assay_status st =
            assay__doc_error(doc, item, true, err, ASSAY_ERR_SUITE,
                             "unknown key '%s' in %s (expected one of: %s)",
                             item->string, what, list.data);
        assay__buf_release(&list);
        return st;
    }
    return ASSAY_OK;
}

static assay_status oom(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

/* A required or optional string member; *out stays NULL when absent. */
static assay_status get_string(const assay__doc *doc, const cJSON *map,
                               const char *key, bool required, char **out,
                               assay_error *err)
{
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(map, key);
    if (!v) {
        if (required)
            return assay__doc_error(doc, map, false, err, ASSAY_ERR_SUITE,
                                    "missing '%s'", key);
        return ASSAY_OK;
    }
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return assay__doc_error(doc, v, false, err, ASSAY_ERR_SUITE,
                                "'%s' must be a non-empty string", key);
    *out = strdup(v->valuestring);
    return *out ? ASSAY_OK : oom(err);
}

/* ------------------------------------------------------------ targets */

static void target_release(assay__target *t)
{
    free(t->name);
    free(t->base_url);
    free(t->model);
    free(t->api_key_env);
    cJSON_Delete(t->params);
}

static assay_status load_params(const assay__doc *doc, const cJSON *node,
                                assay__target *t, assay_error *err)
{
    if (!node) {
        t->params = cJSON_CreateObject();
        return t->params ? ASSAY_OK : oom(err);
    }
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "'params' must be a mapping of request "
                                "parameters (temperature, max_tokens, ...)");
    const cJSON *p;
    cJSON_ArrayForEach(p, node)
    {
        if (!strcmp(p->string, "model") || !strcmp(p->string, "messages"))
            return assay__doc_error(
                doc, p, true, err, ASSAY_ERR_SUITE,
                "'%s' is set by the suite, not in 'params'", p->string);
    }
    t->params = cJSON_Duplicate(node, true);
    return t->params ? ASSAY_OK : oom(err);
}

static assay_status load_target(const assay__doc *doc, const cJSON *node,
                                assay__target *t, assay_error *err)
{
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "a target must be a mapping with at least "
                                "'model'");
    assay_status st = check_keys(doc, node, target_keys, "target", err);
    if (st == ASSAY_OK)
        st = get_string(doc, node, "model", true, &t->model, err);
    if (st == ASSAY_OK)
        st = get_string(doc, node, "name", false, &t->name, err);
    if (st == ASSAY_OK && !t->name && !(t->name = strdup(t->model)))
        st = oom(err);
    if (st == ASSAY_OK)
        st = get_string(doc, node, "base_url", false, &t->base_url, err);
    if (st == ASSAY_OK)
        st = get_string(doc, node, "api_key_env", false, &t->api_key_env, err);
    if (st == ASSAY_OK && !t->api_key_env &&
        !(t->api_key_env = strdup("OPENAI_API_KEY")))
        st = oom(err);
    if (st == ASSAY_OK)
        st = load_params(doc, cJSON_GetObjectItemCaseSensitive(node, "params"),
                         t, err);
    return st;
}

static assay_status load_targets(assay_suite *s, const cJSON *root,
                                 assay_error *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "targets");
    if (!list)
        return assay__doc_error(s->doc, root, false, err, ASSAY_ERR_SUITE,
                                "missing 'targets' (the models to evaluate)");
    if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
        return assay__doc_error(s->doc, list, false, err, ASSAY_ERR_SUITE,
                                "'targets' must be a non-empty list");
    size_t n = (size_t)cJSON_GetArraySize(list);
    s->targets = calloc(n, sizeof *s->targets);
    if (!s->targets)
        return oom(err);
    const cJSON *node;
    cJSON_ArrayForEach(node, list)
    {
        assay__target *t = &s->targets[s->n_targets++];
        assay_status st = load_target(s->doc, node, t, err);
        if (st != ASSAY_OK)
            return st;
        for (size_t i = 0; i + 1 < s->n_targets; i++)
            if (!strcmp(s->targets[i].name, t->name))
                return assay__doc_error(s->doc, node, false, err,
                                        ASSAY_ERR_SUITE,
                                        "two targets are named '%s'; give "
                                        "each a distinct 'name'",
                                        t->name);
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ prompt */

static bool is_role(const char *s)
{
    return !strcmp(s, "system") || !strcmp(s, "user") ||
           !strcmp(s, "assistant") || !strcmp(s, "developer");
}

static assay_status add_message(assay_suite *s, const char *role,
                                const cJSON *text, assay_error *err)
{
    if (!cJSON_IsString(text))
        return assay__doc_error(s->doc, text, false, err, ASSAY_ERR_SUITE,
                                "a message's text must be a string");
    int line = 0, col = 0;
    assay__doc_where(s->doc, text, &line, &col);
    char where[600];
    snprintf(where, sizeof where, "%s:%d:%d", assay__doc_name(s->doc), line,
             col);
    assay__message *m = &s->messages[s->n_messages];
    if (!(m->role = strdup(role)))
        return oom(err);
    s->n_messages++;
    assay_status st = assay__template_compile(text->valuestring, where,
                                              &m->content, err);
    if (st != ASSAY_OK && err && !err->file[0]) {
        /* The message already starts with `where`; fill the fields too. */
        snprintf(err->file, sizeof err->file, "%s", assay__doc_name(s->doc));
        err->line = line;
        err->column = col;
    }
    return st;
}

/* `{user: "..."}` or `{role: user, content: "..."}`. */
static assay_status load_message(assay_suite *s, const cJSON *node,
                                 assay_error *err)
{
    const char *expected = "a message is {system|user|assistant: text} or "
                           "{role: ..., content: text}";
    if (!cJSON_IsObject(node))
        return assay__doc_error(s->doc, node, false, err, ASSAY_ERR_SUITE,
                                "%s", expected);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(node, "role");
    if (role) {
        if (!cJSON_IsString(role) || !is_role(role->valuestring))
            return assay__doc_error(s->doc, role, false, err, ASSAY_ERR_SUITE,
                                    "'role' must be system, developer, user "
                                    "or assistant");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(node,
                                                                "content");
        if (!content || cJSON_GetArraySize(node) != 2)
            return assay__doc_error(s->doc, node, false, err, ASSAY_ERR_SUITE,
                                    "%s", expected);
        return add_message(s, role->valuestring, content, err);
    }
    const cJSON *only = node->child;
    if (!only || only->next || !is_role(only->string))
        return assay__doc_error(s->doc, only ? only : node, only != NULL, err,
                                ASSAY_ERR_SUITE, "%s", expected);
    return add_message(s, only->string, only, err);
}

static assay_status load_prompt(assay_suite *s, const cJSON *root,
                                assay_error *err)
{
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    if (!prompt)
        return assay__doc_error(s->doc, root, false, err, ASSAY_ERR_SUITE,
                                "missing 'prompt' (a string, or a list of "
                                "messages)");
    if (cJSON_IsString(prompt)) {
        s->messages = calloc(1, sizeof *s->messages);
        return s->messages ? add_message(s, "user", prompt, err) : oom(err);
    }
    if (!cJSON_IsArray(prompt) || !cJSON_GetArraySize(prompt))
        return assay__doc_error(s->doc, prompt, false, err, ASSAY_ERR_SUITE,
                                "'prompt' must be a string or a non-empty "
                                "list of messages");
    s->messages = calloc((size_t)cJSON_GetArraySize(prompt),
                         sizeof *s->messages);
    if (!s->messages)
        return oom(err);
    const cJSON *node;
    cJSON_ArrayForEach(node, prompt)
    {
        assay_status st = load_message(s, node, err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ cases */

/* A relative dataset path is relative to the suite file's folder. */
static char *resolve_path(const char *suite_path, const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    const char *slash = strrchr(suite_path, '/');
    if (!slash)
        return strdup(path);
    assay__buf b;
    assay__buf_init(&b, 0);
    if (assay__buf_append(&b, suite_path, (size_t)(slash - suite_path + 1)) ||
        assay__buf_puts(&b, path)) {
        assay__buf_release(&b);
        return NULL;
    }
    return assay__buf_detach(&b, NULL);
}

static assay_status load_cases(assay_suite *s, const cJSON *root,
                               assay_error *err)
{
    const cJSON *dataset = cJSON_GetObjectItemCaseSensitive(root, "dataset");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    if (dataset && cases)
        return assay__doc_error(s->doc, cases, true, err, ASSAY_ERR_SUITE,
                                "give either 'dataset' or 'cases', not both");
    if (cases) {
        if (!cJSON_IsArray(cases))
            return assay__doc_error(s->doc, cases, false, err, ASSAY_ERR_SUITE,
                                    "'cases' must be a list of mappings");
        s->inline_cases = cases;
        return ASSAY_OK;
    }
    if (!dataset)
        return assay__doc_error(s->doc, root, false, err, ASSAY_ERR_SUITE,
                                "missing 'dataset' (a JSON Lines file) or "
                                "'cases'");
    if (!cJSON_IsString(dataset) || !dataset->valuestring[0])
        return assay__doc_error(s->doc, dataset, false, err, ASSAY_ERR_SUITE,
                                "'dataset' must be the path of a JSON Lines "
                                "file");
    s->dataset_path = resolve_path(s->path, dataset->valuestring);
    return s->dataset_path ? ASSAY_OK : oom(err);
}

/* ------------------------------------------------------------ checks */

static assay_status load_checks(assay_suite *s, const cJSON *root,
                                assay_error *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "checks");
    if (!list)
        return assay__doc_error(s->doc, root, false, err, ASSAY_ERR_SUITE,
                                "missing 'checks' (how to score an answer)");
    if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
        return assay__doc_error(s->doc, list, false, err, ASSAY_ERR_SUITE,
                                "'checks' must be a non-empty list");
    s->checks = calloc((size_t)cJSON_GetArraySize(list), sizeof *s->checks);
    if (!s->checks)
        return oom(err);
    const cJSON *node;
    cJSON_ArrayForEach(node, list)
    {
        assay_status st = assay__check_compile(s->doc, node,
                                               &s->checks[s->n_checks], err);
        if (st != ASSAY_OK)
            return st;
        s->n_checks++;
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ the rest */

static assay_status load_repeat(assay_suite *s, const cJSON *root,
                                assay_error *err)
{
    const cJSON *repeat = cJSON_GetObjectItemCaseSensitive(root, "repeat");
    s->repeat = 1;
    if (!repeat)
        return ASSAY_OK;
    double v = cJSON_IsNumber(repeat) ? repeat->valuedouble : 0;
    if (v < 1 || v > 100000 || v != (double)(int)v)
        return assay__doc_error(s->doc, repeat, false, err, ASSAY_ERR_SUITE,
                                "'repeat' must be a whole number from 1 to "
                                "100000");
    s->repeat = (int)v;
    return ASSAY_OK;
}

static assay_status load_name(assay_suite *s, const cJSON *root,
                              assay_error *err)
{
    assay_status st = get_string(s->doc, root, "name", false, &s->name, err);
    if (st != ASSAY_OK || s->name)
        return st;
    const char *base = strrchr(s->path, '/');
    base = base ? base + 1 : s->path;
    size_t len = strcspn(base, ".");
    s->name = strndup(base, len ? len : strlen(base));
    return s->name ? ASSAY_OK : oom(err);
}

/* The identity of the configuration, so records of different suites are
   told apart (merge and resume refuse to mix them). */
static assay_status hash_config(assay_suite *s, assay_error *err)
{
    char *text = cJSON_PrintUnformatted(assay__doc_root(s->doc));
    if (!text)
        return oom(err);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok = EVP_Digest(text, strlen(text), digest, &n, EVP_sha256(), NULL);
    cJSON_free(text);
    if (!ok)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "SHA-256 is not available");
    for (unsigned int i = 0; i < n && i < 32; i++)
        snprintf(s->config_hash + 2 * i, 3, "%02x", digest[i]);
    return ASSAY_OK;
}

static assay_status load_root(assay_suite *s, assay_error *err)
{
    const cJSON *root = assay__doc_root(s->doc);
    if (!cJSON_IsObject(root))
        return assay__doc_error(s->doc, root, false, err, ASSAY_ERR_SUITE,
                                "a suite must be a mapping with 'targets', "
                                "'prompt', 'dataset' or 'cases', and 'checks'");
    assay_status st = check_keys(s->doc, root, top_level_keys, "the suite",
                                 err);
    if (st == ASSAY_OK)
        st = load_name(s, root, err);
    if (st == ASSAY_OK)
        st = load_targets(s, root, err);
    if (st == ASSAY_OK)
        st = load_prompt(s, root, err);
    if (st == ASSAY_OK)
        st = load_cases(s, root, err);
    if (st == ASSAY_OK)
        st = load_checks(s, root, err);
    if (st == ASSAY_OK)
        st = load_repeat(s, root, err);
    if (st == ASSAY_OK)
        st = assay__gates_parse(s->doc,
                                cJSON_GetObjectItemCaseSensitive(root, "gates"),
                                &s->gates, err);
    if (st == ASSAY_OK)
        st = hash_config(s, err);
    return st;
}

assay_status assay_suite_load(const char *path, assay_suite **out,
                              assay_error *err)
{
    if (!out)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_suite_load needs somewhere to put the "
                            "suite");
    *out = NULL;
    if (!path)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "no suite path given");
    assay_suite *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return oom(err);
    }
    assay__gates_init(&s->gates);
    assay_status st = assay__doc_load(path, &s->doc, err);
    if (st == ASSAY_OK)
        st = load_root(s, err);
    if (st != ASSAY_OK) {
        assay_suite_free(s);
        return st;
    }
    *out = s;
    return ASSAY_OK;
}

void assay_suite_free(assay_suite *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_targets; i++)
        target_release(&s->targets[i]);
    free(s->targets);
    for (size_t i = 0; i < s->n_messages; i++) {
        free(s->messages[i].role);
        assay__template_free(s->messages[i].content);
    }
    free(s->messages);
    for (size_t i = 0; i < s->n_checks; i++)
        assay__check_free(s->checks[i]);
    free(s->checks);
    free(s->dataset_path);
    free(s->name);
    free(s->path);
    assay__doc_free(s->doc);
    free(s);
}

const char *assay_suite_name(const assay_suite *s)
{
    return s->name;
}

size_t assay_suite_target_count(const assay_suite *s)
{
    return s->n_targets;
}

const char *assay_suite_target_name(const assay_suite *s, size_t index)
{
    return index < s->n_targets ? s->targets[index].name : NULL;
}
