/*
 * suite.c - loading a suite file into the in-memory suite a run executes.
 *
 * The file (YAML or JSON, read by yaml.c into one tree with positions) is
 * first rewritten in place: `${NAME}` and `${NAME:-default}` in string
 * values are expanded through the caller's environment lookup, and
 * `file:` references (prompts, message texts, check values) are replaced
 * by the text of the file they name, relative to the suite. Then it is
 * checked field by field; every mistake is reported at its line and column
 * with what was expected, and every unknown key is listed, since a
 * misspelt key is the likeliest cause of whatever else looks wrong.
 * Templates and checks are compiled here, once, and the few-shot examples
 * drawn, so that a run only renders and scores.
 *
 * What is not done here: opening the dataset (the run streams it through
 * dataset.c from the spec filled here) or sending anything. A second front
 * end (a promptfoo config) fills the same struct assay_suite.
 */
#include "callback.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* A file a `file:` reference names is read whole, up to this. */
#define MAX_FILE_BYTES ((size_t)16 << 20)
/* Unknown keys named in one message. */
#define MAX_UNKNOWN_LISTED 8

static const char *const top_level_keys[] = {
    "name", "description", "targets", "prompt", "prompts", "dataset",
    "cases", "checks", "defaults", "fewshot", "repeat", "case_threshold",
    "grader", "embedder", "allow_exec", "gates", NULL,
};
/* And the connection keys of target.c. */
static const char *const target_keys[] = {
    "name",     "model", "base_url",   "api_key_env", "params",
    "output",   "echo",
    "headers",  "azure", "rate_limit", "endpoint",    "verify_tls",
    "max_concurrency",   "extra",      NULL,
};
static const char *const prompt_keys[] = {"name", "prompt", "params", NULL};
static const char *const dataset_keys[] = {"path", "format", "map", NULL};
static const char *const defaults_keys[] = {"params", "checks", NULL};
static const char *const fewshot_keys[] = {
    "k", "from", "seed", "user", "assistant", NULL,
};

typedef struct loader {
    assay_suite *s;
    assay_env_fn env;
    void *env_data;
    assay_error *err;
    /* Unknown keys: the first one's error, and a list of the others. */
    long n_unknown;
    assay_error first_unknown;
    assay__buf more_unknown;
} loader;

static assay_status oom(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

/* ------------------------------------------------------------ keys */

/* Edit distance (insertions, deletions, substitutions), for suggestions. */
static size_t distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return SIZE_MAX;
    size_t row[64];
    for (size_t j = 0; j <= m; j++)
        row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m];
}

static bool is_known(const char *key, const char *const *known)
{
    for (; *known; known++)
        if (!strcmp(key, *known))
            return true;
    return false;
}

/* Notes one unknown key; the load fails at its end, naming them all. */
static void unknown_key(loader *l, const assay__doc *doc, const cJSON *item,
                        const char *const *known, const char *what)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (const char *const *k = known; *k; k++) {
        size_t d = distance(item->string, *k);
        size_t allowed = strlen(*k) / 3 ? strlen(*k) / 3 : 1;
        if (d <= allowed && d < best_d) {
            best = *k;
            best_d = d;
        }
    }
    int line = 0, col = 0;
    assay__doc_where_key(doc, item, &line, &col);
    if (l->n_unknown++ > 0) {
        if (l->n_unknown <= MAX_UNKNOWN_LISTED)
            assay__buf_printf(&l->more_unknown, "%s'%s' at %d:%d",
                              l->n_unknown > 2 ? ", " : "", item->string,
                              line, col);
        return;
    }
    if (best) {
        assay__doc_error(doc, item, true, &l->first_unknown, ASSAY_ERR_SUITE,
                         "unknown key '%s' in %s (did you mean '%s'?)",
                         item->string, what, best);
        return;
    }
    assay__buf list;
    assay__buf_init(&list, 0);
    for (const char *const *k = known; *k; k++)
        assay__buf_printf(&list, "%s%s", k == known ? "" : ", ", *k);
    assay__doc_error(doc, item, true, &l->first_unknown, ASSAY_ERR_SUITE,
                     "unknown key '%s' in %s (expected one of: %s)",
                     item->string, what, list.data);
    assay__buf_release(&list);
}

static void check_keys(loader *l, const assay__doc *doc, const cJSON *map,
                       const char *const *known, const char *what)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, map)
    {
        if (!is_known(item->string, known))
            unknown_key(l, doc, item, known, what);
    }
}

/* The unknown keys as the load's error. */
static assay_status unknown_keys_error(loader *l)
{
    assay_error *err = l->err;
    if (err) {
        *err = l->first_unknown;
        if (l->n_unknown > 1) {
            size_t used = strlen(err->message);
            snprintf(err->message + used, sizeof err->message - used,
                     "; %ld more unknown key%s: %s%s", l->n_unknown - 1,
                     l->n_unknown > 2 ? "s" : "", l->more_unknown.data,
                     l->n_unknown > MAX_UNKNOWN_LISTED ? ", ..." : "");
        }
    }
    return ASSAY_ERR_SUITE;
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

/* ------------------------------------------------------------ ${ENV} */

static bool is_env_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_env_char(char c)
{
    return is_env_start(c) || (c >= '0' && c <= '9');
}

/* Expands one `${...}` at `p` (after "${") into `out`; *end past it. */
static assay_status expand_one(loader *l, const assay__doc *doc,
                               const cJSON *node, const char *p,
                               const char **end, assay__buf *out)
{
    const char *name = p;
    while (is_env_char(*p))
        p++;
    size_t len = (size_t)(p - name);
    const char *fallback = NULL;
    size_t fallback_len = 0;
    if (len && !strncmp(p, ":-", 2)) {
        fallback = p + 2;
        const char *close = strchr(fallback, '}');
        if (close) {
            fallback_len = (size_t)(close - fallback);
            p = close;
        }
    }
    if (!len || !is_env_start(*name) || *p != '}')
        return assay__doc_error(doc, node, false, l->err, ASSAY_ERR_SUITE,
                                "'${' starts a variable as in ${NAME} or "
                                "${NAME:-default} (write $${ for a literal "
                                "'${')");
    *end = p + 1;
    char key[256];
    if (len >= sizeof key)
        return assay__doc_error(doc, node, false, l->err, ASSAY_ERR_SUITE,
                                "environment variable name is too long");
    memcpy(key, name, len);
    key[len] = '\0';
    const char *value = l->env ? l->env(key, l->env_data) : NULL;
    if (fallback && (!value || !*value))
        return assay__buf_append(out, fallback, fallback_len) == ASSAY_OK
                   ? ASSAY_OK
                   : oom(l->err);
    if (!value)
        return assay__doc_error(doc, node, false, l->err, ASSAY_ERR_SUITE,
                                "environment variable '%s' is not set "
                                "(write ${%s:-default} to give a default)",
                                key, key);
    return assay__buf_puts(out, value) == ASSAY_OK ? ASSAY_OK : oom(l->err);
}

static assay_status expand_string(loader *l, const assay__doc *doc,
                                  cJSON *node)
{
    const char *s = node->valuestring;
    if (!strchr(s, '$'))
        return ASSAY_OK;
    assay__buf out;
    assay__buf_init(&out, MAX_FILE_BYTES);
    assay_status st = ASSAY_OK;
    bool changed = false;
    while (*s && st == ASSAY_OK) {
        if (!strncmp(s, "$${", 3)) {
            st = assay__buf_puts(&out, "${");
            s += 3;
            changed = true;
        } else if (!strncmp(s, "${", 2)) {
            st = expand_one(l, doc, node, s + 2, &s, &out);
            changed = true;
        } else {
            st = assay__buf_putc(&out, *s++);
        }
    }
    if (st == ASSAY_OK && changed &&
        !cJSON_SetValuestring(node, out.data))
        st = oom(l->err);
    if (st == ASSAY_ERR_LIMIT)
        st = assay__doc_error(doc, node, false, l->err, ASSAY_ERR_SUITE,
                              "the value is longer than %zu MiB once its "
                              "variables are expanded",
                              MAX_FILE_BYTES >> 20);
    assay__buf_release(&out);
    return st;
}

/* Expands every string value of the tree (keys stay as they are). */
static assay_status expand_tree(loader *l, const assay__doc *doc, cJSON *node,
                                int depth)
{
    if (depth > 512)
        return ASSAY_OK; /* yaml.c refuses deeper trees anyway */
    if (cJSON_IsString(node))
        return expand_string(l, doc, node);
    for (cJSON *c = node->child; c; c = c->next) {
        assay_status st = expand_tree(l, doc, c, depth + 1);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ file: */

/* A relative path is relative to the suite file's folder. */
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

/* The path of a `file:` (or promptfoo's `file://`) reference, or NULL. */
static const char *file_ref(const cJSON *node)
{
    if (!cJSON_IsString(node))
        return NULL;
    const char *s = node->valuestring;
    if (!strncmp(s, "file://", 7))
        return s + 7;
    if (!strncmp(s, "file:", 5))
        return s + 5;
    return NULL;
}

static bool has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && !strcmp(path + n - e, ext);
}

/* Reads the file a reference at `node` names; *path gets its full path. */
static assay_status read_ref(const assay_suite *s, const cJSON *node,
                             char **path, assay__buf *text, assay_error *err)
{
    *path = resolve_path(s->path, file_ref(node));
    if (!*path)
        return oom(err);
    FILE *f = fopen(*path, "rb");
    if (!f) {
        int e = errno;
        return assay__doc_error(s->doc, node, false, err, ASSAY_ERR_SUITE,
                                "cannot read %s: %s", *path, strerror(e));
    }
    char chunk[65536];
    size_t n;
    assay_status st = ASSAY_OK;
    while (st == ASSAY_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        st = assay__buf_append(text, chunk, n);
    bool failed = ferror(f);
    fclose(f);
    if (st == ASSAY_ERR_LIMIT)
        return assay__doc_error(s->doc, node, false, err, ASSAY_ERR_SUITE,
                                "%s is larger than %zu MiB", *path,
                                MAX_FILE_BYTES >> 20);
    if (st != ASSAY_OK)
        return oom(err);
    if (failed)
        return assay__doc_error(s->doc, node, false, err, ASSAY_ERR_SUITE,
                                "cannot read %s", *path);
    if (memchr(text->data, '\0', text->len))
        return assay__doc_error(s->doc, node, false, err, ASSAY_ERR_SUITE,
                                "%s holds a NUL byte: it is not text", *path);
    /* The line break that ends a text file is no part of the text. */
    if (text->len && text->data[text->len - 1] == '\n')
        text->data[--text->len] = '\0';
    if (text->len && text->data[text->len - 1] == '\r')
        text->data[--text->len] = '\0';
    return ASSAY_OK;
}

/* Replaces a `file:` string in the tree by the file's text. */
static assay_status inline_ref(const assay_suite *s, cJSON *node,
                               assay_error *err)
{
    if (!file_ref(node))
        return ASSAY_OK;
    char *path = NULL;
    assay__buf text;
    assay__buf_init(&text, MAX_FILE_BYTES);
    assay_status st = read_ref(s, node, &path, &text, err);
    if (st == ASSAY_OK && !cJSON_SetValuestring(node, text.data))
        st = oom(err);
    free(path);
    assay__buf_release(&text);
    return st;
}

/* Check values (and rubrics) given as `file:` references. */
static assay_status inline_check_refs(const assay_suite *s, cJSON *list,
                                      assay_error *err)
{
    cJSON *spec;
    cJSON_ArrayForEach(spec, list)
    {
        if (!cJSON_IsObject(spec))
            continue;
        cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, "type")
                       ? cJSON_GetObjectItemCaseSensitive(spec, "value")
                       : (spec->child && !spec->child->next ? spec->child
                                                            : NULL);
        assay_status st = v ? inline_ref(s, v, err) : ASSAY_OK;
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ targets */

static void target_release(assay__target *t)
{
    free(t->name);
    free(t->base_url);
    free(t->model);
    free(t->api_key_env);
    free(t->output_field);
    cJSON_Delete(t->params);
    assay__connection_release(&t->conn);
}

static assay_status check_params(const assay__doc *doc, const cJSON *node,
                                 assay_error *err)
{
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
    return ASSAY_OK;
}

/* The target's params over the defaults' (the target's win). */
static assay_status load_params(const assay__doc *doc, const cJSON *node,
                                const cJSON *defaults, assay__target *t,
                                assay_error *err)
{
    if (node) {
        assay_status st = check_params(doc, node, err);
        if (st != ASSAY_OK)
            return st;
    }
    t->params = defaults ? cJSON_Duplicate(defaults, true)
                         : cJSON_CreateObject();
    if (!t->params)
        return oom(err);
    const cJSON *p;
    cJSON_ArrayForEach(p, node)
    {
        cJSON *copy = cJSON_Duplicate(p, true);
        if (!copy)
            return oom(err);
        cJSON_DeleteItemFromObjectCaseSensitive(t->params, p->string);
        cJSON_AddItemToObject(t->params, p->string, copy);
    }
    return ASSAY_OK;
}

/*
 * Targets that call no model: `output: FIELD` answers with a field of the
 * case (an answer produced elsewhere), `echo: true` with the rendered
 * prompt (to try checks without a server).
 */
static assay_status load_local(const assay__doc *doc, const cJSON *node,
                               assay__target *t, assay_error *err)
{
    const cJSON *echo = cJSON_GetObjectItemCaseSensitive(node, "echo");
    if (echo && !cJSON_IsBool(echo))
        return assay__doc_error(doc, echo, false, err, ASSAY_ERR_SUITE,
                                "'echo' is true or false");
    t->echo = cJSON_IsTrue(echo);
    assay_status st = get_string(doc, node, "output", false, &t->output_field,
                                 err);
    if (st == ASSAY_OK && t->echo && t->output_field)
        return assay__doc_error(doc, echo, true, err, ASSAY_ERR_SUITE,
                                "a target answers with 'output' or 'echo', "
                                "not both");
    return st;
}

static assay_status load_target(loader *l, const assay__doc *doc,
                                const cJSON *node, const cJSON *defaults,
                                assay__target *t)
{
    assay_error *err = l->err;
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "a target must be a mapping with at least "
                                "'model'");
    check_keys(l, doc, node, target_keys, "target");
    assay_status st = load_local(doc, node, t, err);
    bool local = t->output_field || t->echo;
    if (st == ASSAY_OK)
        st = get_string(doc, node, "model", !local, &t->model, err);
    if (st == ASSAY_OK && !t->model &&
        !(t->model = strdup(t->echo ? "echo" : "output")))
        st = oom(err);
    if (st == ASSAY_OK)
        st = get_string(doc, node, "name", false, &t->name, err);
    if (st == ASSAY_OK && !t->name && !(t->name = strdup(t->model)))
        st = oom(err);
    if (st == ASSAY_OK)
        st = get_string(doc, node, "base_url", false, &t->base_url, err);
    if (st == ASSAY_OK)
        st = get_string(doc, node, "api_key_env", false, &t->api_key_env, err);
    if (st == ASSAY_OK)
        st = assay__connection_load(doc, node, &t->conn, err);
    if (st == ASSAY_OK && !t->api_key_env &&
        !(t->api_key_env = strdup(t->conn.azure_deployment
                                      ? "AZURE_OPENAI_API_KEY"
                                      : "OPENAI_API_KEY")))
        st = oom(err);
    if (st == ASSAY_OK)
        st = load_params(doc, cJSON_GetObjectItemCaseSensitive(node, "params"),
                         defaults, t, err);
    return st;
}

static assay_status load_targets(loader *l, const cJSON *root,
                                 const cJSON *defaults)
{
    assay_suite *s = l->s;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "targets");
    if (!list)
        return assay__doc_error(s->doc, root, false, l->err, ASSAY_ERR_SUITE,
                                "missing 'targets' (the models to evaluate)");
    if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
        return assay__doc_error(s->doc, list, false, l->err, ASSAY_ERR_SUITE,
                                "'targets' must be a non-empty list");
    size_t n = (size_t)cJSON_GetArraySize(list);
    s->targets = calloc(n, sizeof *s->targets);
    if (!s->targets)
        return oom(l->err);
    const cJSON *node;
    cJSON_ArrayForEach(node, list)
    {
        assay__target *t = &s->targets[s->n_targets++];
        assay_status st = load_target(l, s->doc, node, defaults, t);
        if (st != ASSAY_OK)
            return st;
        for (size_t i = 0; i + 1 < s->n_targets; i++)
            if (!strcmp(s->targets[i].name, t->name))
                return assay__doc_error(s->doc, node, false, l->err,
                                        ASSAY_ERR_SUITE,
                                        "two targets are named '%s'; give "
                                        "each a distinct 'name'",
                                        t->name);
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ prompts */

static bool is_role(const char *s)
{
    return !strcmp(s, "system") || !strcmp(s, "user") ||
           !strcmp(s, "assistant") || !strcmp(s, "developer");
}

/* Grows a prompt's message list by one. */
static assay__message *new_message(assay__prompt *p, assay_error *err)
{
    assay__message *m = realloc(p->messages,
                                (p->n_messages + 1) * sizeof *m);
    if (!m) {
        oom(err);
        return NULL;
    }
    p->messages = m;
    m = &p->messages[p->n_messages];
    memset(m, 0, sizeof *m);
    return m;
}

/* Compiles `text` (from `where`) as the next message of `p`. */
static assay_status add_text(assay__prompt *p, const char *role,
                             const char *text, const char *where,
                             const char *file, int line, int col,
                             assay_error *err)
{
    assay__message *m = new_message(p, err);
    if (!m)
        return ASSAY_ERR_NOMEM;
    if (!(m->role = strdup(role)))
        return oom(err);
    p->n_messages++;
    assay_status st = assay__template_compile(text, where, &m->content, err);
    if (st != ASSAY_OK && err && !err->file[0] && file) {
        /* The message already starts with `where`; fill the fields too. */
        snprintf(err->file, sizeof err->file, "%s", file);
        err->line = line;
        err->column = col;
    }
    return st;
}

/* A message text in `doc`: a string, or a `file:` reference to one. */
static assay_status add_message(const assay_suite *s, assay__prompt *p,
                                const assay__doc *doc, const char *role,
                                const cJSON *text, assay_error *err)
{
    if (!cJSON_IsString(text))
        return assay__doc_error(doc, text, false, err, ASSAY_ERR_SUITE,
                                "a message's text must be a string");
    int line = 0, col = 0;
    assay__doc_where(doc, text, &line, &col);
    if (file_ref(text) && doc == s->doc) {
        char *path = NULL;
        assay__buf body;
        assay__buf_init(&body, MAX_FILE_BYTES);
        assay_status st = read_ref(s, text, &path, &body, err);
        if (st == ASSAY_OK)
            st = add_text(p, role, body.data, path, NULL, 0, 0, err);
        free(path);
        assay__buf_release(&body);
        return st;
    }
    char where[600];
    snprintf(where, sizeof where, "%s:%d:%d", assay__doc_name(doc), line,
             col);
    return add_text(p, role, text->valuestring, where, assay__doc_name(doc),
                    line, col, err);
}

/* `{user: "..."}` or `{role: user, content: "..."}`. */
static assay_status load_message(const assay_suite *s, assay__prompt *p,
                                 const assay__doc *doc, const cJSON *node,
                                 assay_error *err)
{
    const char *expected = "a message is {system|user|assistant: text} or "
                           "{role: ..., content: text}";
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE, "%s",
                                expected);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(node, "role");
    if (role) {
        if (!cJSON_IsString(role) || !is_role(role->valuestring))
            return assay__doc_error(doc, role, false, err, ASSAY_ERR_SUITE,
                                    "'role' must be system, developer, user "
                                    "or assistant");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(node,
                                                                "content");
        if (!content || cJSON_GetArraySize(node) != 2)
            return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                    "%s", expected);
        return add_message(s, p, doc, role->valuestring, content, err);
    }
    const cJSON *only = node->child;
    if (!only || only->next || !is_role(only->string))
        return assay__doc_error(doc, only ? only : node, only != NULL, err,
                                ASSAY_ERR_SUITE, "%s", expected);
    return add_message(s, p, doc, only->string, only, err);
}

static assay_status load_messages(const assay_suite *s, assay__prompt *p,
                                  const assay__doc *doc, const cJSON *node,
                                  const char *key, assay_error *err);

/* `file:prompt.yaml` (or .json): a message list of its own. */
static assay_status load_prompt_file(const assay_suite *s, assay__prompt *p,
                                     const cJSON *node, const char *key,
                                     assay_error *err)
{
    char *path = resolve_path(s->path, file_ref(node));
    if (!path)
        return oom(err);
    assay__doc *doc = NULL;
    assay_status st = assay__doc_load(path, &doc, err);
    if (st == ASSAY_OK)
        st = load_messages(s, p, doc, assay__doc_root(doc), key, err);
    assay__doc_free(doc);
    free(path);
    return st;
}

/* A prompt: a string, a list of messages, or a `file:` reference. */
static assay_status load_messages(const assay_suite *s, assay__prompt *p,
                                  const assay__doc *doc, const cJSON *node,
                                  const char *key, assay_error *err)
{
    const char *ref = doc == s->doc ? file_ref(node) : NULL;
    if (ref && (has_extension(ref, ".yaml") || has_extension(ref, ".yml") ||
                has_extension(ref, ".json")))
        return load_prompt_file(s, p, node, key, err);
    if (cJSON_IsString(node))
        return add_message(s, p, doc, "user", node, err);
    if (!cJSON_IsArray(node) || !cJSON_GetArraySize(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "'%s' must be a string, a non-empty list of "
                                "messages or a file: reference",
                                key);
    const cJSON *m;
    cJSON_ArrayForEach(m, node)
    {
        assay_status st = load_message(s, p, doc, m, err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static void prompt_release(assay__prompt *p)
{
    for (size_t i = 0; i < p->n_messages; i++) {
        free(p->messages[i].role);
        assay__template_free(p->messages[i].content);
    }
    free(p->messages);
    free(p->name);
    cJSON_Delete(p->params);
}

/* A prompt variant's own `params`, e.g. the stop sequences of its format;
   `stream` stays the target's, since it changes how replies are read. */
static assay_status load_prompt_params(const assay__doc *doc,
                                       const cJSON *node, assay__prompt *p,
                                       assay_error *err)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(node, "params");
    if (!params)
        return ASSAY_OK;
    assay_status st = check_params(doc, params, err);
    if (st != ASSAY_OK)
        return st;
    const cJSON *streaming = cJSON_GetObjectItemCaseSensitive(params, "stream");
    if (!streaming)
        streaming = cJSON_GetObjectItemCaseSensitive(params, "stream_options");
    if (streaming)
        return assay__doc_error(doc, streaming, true, err, ASSAY_ERR_SUITE,
                                "'%s' belongs to the target, not to a "
                                "prompt's 'params'",
                                streaming->string);
    p->params = cJSON_Duplicate(params, true);
    return p->params ? ASSAY_OK : oom(err);
}

cJSON *assay__params_over(const cJSON *base, const cJSON *over)
{
    cJSON *merged = base ? cJSON_Duplicate(base, true) : cJSON_CreateObject();
    const cJSON *p;
    cJSON_ArrayForEach(p, over)
    {
        cJSON *copy = merged ? cJSON_Duplicate(p, true) : NULL;
        if (!copy) {
            cJSON_Delete(merged);
            return NULL;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(merged, p->string);
        cJSON_AddItemToObject(merged, p->string, copy);
    }
    return merged;
}

cJSON *assay__prompt_params(const cJSON *base, const assay__prompt *p,
                            assay_status *st)
{
    *st = ASSAY_OK;
    if (!p->params)
        return NULL;
    cJSON *merged = assay__params_over(base, p->params);
    if (!merged)
        *st = ASSAY_ERR_NOMEM;
    return merged;
}

static assay_status load_variant(loader *l, const cJSON *node, size_t index,
                                 assay__prompt *p)
{
    assay_suite *s = l->s;
    char fallback[32];
    snprintf(fallback, sizeof fallback, "prompt-%zu", index + 1);
    const cJSON *body = node;
    if (cJSON_IsObject(node) && cJSON_GetObjectItemCaseSensitive(node,
                                                                 "prompt")) {
        check_keys(l, s->doc, node, prompt_keys, "a prompt");
        assay_status st = get_string(s->doc, node, "name", false, &p->name,
                                     l->err);
        if (st == ASSAY_OK)
            st = load_prompt_params(s->doc, node, p, l->err);
        if (st != ASSAY_OK)
            return st;
        body = cJSON_GetObjectItemCaseSensitive(node, "prompt");
    } else if (!cJSON_IsString(node) && !cJSON_IsArray(node)) {
        return assay__doc_error(s->doc, node, false, l->err, ASSAY_ERR_SUITE,
                                "a prompt variant is a string, a list of "
                                "messages, or {name: ..., prompt: ...}");
    }
    if (!p->name && !(p->name = strdup(fallback)))
        return oom(l->err);
    for (size_t i = 0; i < index; i++)
        if (!strcmp(s->prompts[i].name, p->name))
            return assay__doc_error(s->doc, node, false, l->err,
                                    ASSAY_ERR_SUITE,
                                    "two prompts are named '%s'; give each "
                                    "a distinct 'name'",
                                    p->name);
    return load_messages(s, p, s->doc, body, "prompt", l->err);
}

static assay_status load_prompts(loader *l, const cJSON *root)
{
    assay_suite *s = l->s;
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    const cJSON *many = cJSON_GetObjectItemCaseSensitive(root, "prompts");
    if (one && many)
        return assay__doc_error(s->doc, many, true, l->err, ASSAY_ERR_SUITE,
                                "give either 'prompt' or 'prompts', not both");
    if (many && (!cJSON_IsArray(many) || !cJSON_GetArraySize(many)))
        return assay__doc_error(s->doc, many, false, l->err, ASSAY_ERR_SUITE,
                                "'prompts' must be a non-empty list of "
                                "prompt variants");
    size_t n = many ? (size_t)cJSON_GetArraySize(many) : 1;
    s->prompts = calloc(n, sizeof *s->prompts);
    if (!s->prompts)
        return oom(l->err);
    if (!many) {
        /* Without a prompt, the case's own `input` is sent. */
        assay__prompt *p = &s->prompts[s->n_prompts++];
        if (!(p->name = strdup("default")))
            return oom(l->err);
        p->from_case = !one;
        return one ? load_messages(s, p, s->doc, one, "prompt", l->err)
                   : ASSAY_OK;
    }
    const cJSON *node;
    cJSON_ArrayForEach(node, many)
    {
        assay_status st = load_variant(l, node, s->n_prompts,
                                       &s->prompts[s->n_prompts]);
        s->n_prompts++;
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ dataset */

static assay_status load_format(const assay__doc *doc, const cJSON *node,
                                assay__dataset_spec *spec, assay_error *err)
{
    static const struct {
        const char *name;
        assay__data_format format;
    } formats[] = {{"jsonl", ASSAY__DATA_JSONL}, {"csv", ASSAY__DATA_CSV},
                   {"json", ASSAY__DATA_JSON}};
    if (!node)
        return ASSAY_OK;
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (cJSON_IsString(node) && !strcmp(node->valuestring,
                                            formats[i].name)) {
            spec->format = formats[i].format;
            return ASSAY_OK;
        }
    return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                            "'format' is jsonl, csv or json");
}

static assay_status load_map(const assay__doc *doc, const cJSON *node,
                             assay__dataset_spec *spec, assay_error *err)
{
    if (!node)
        return ASSAY_OK;
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "'map' is a mapping from the names the suite "
                                "uses to the dataset's fields, as in "
                                "{input: question, expected: answer}");
    spec->map = calloc((size_t)cJSON_GetArraySize(node) + 1,
                       sizeof *spec->map);
    if (!spec->map)
        return oom(err);
    const cJSON *m;
    cJSON_ArrayForEach(m, node)
    {
        if (!cJSON_IsString(m) || !m->valuestring[0])
            return assay__doc_error(doc, m, false, err, ASSAY_ERR_SUITE,
                                    "'%s' must name a field of the dataset, "
                                    "as in answer or choices.0",
                                    m->string);
        assay__field_map *f = &spec->map[spec->n_map++];
        f->name = strdup(m->string);
        f->path = strdup(m->valuestring);
        if (!f->name || !f->path)
            return oom(err);
    }
    return ASSAY_OK;
}

/* `x.jsonl`, `file:x.csv`, or {path, format, map}. */
static assay_status load_dataset_spec(loader *l, const cJSON *node,
                                      const char *what,
                                      assay__dataset_spec *spec)
{
    assay_suite *s = l->s;
    const cJSON *path = node;
    if (cJSON_IsObject(node)) {
        check_keys(l, s->doc, node, dataset_keys, what);
        path = cJSON_GetObjectItemCaseSensitive(node, "path");
        if (!path)
            return assay__doc_error(s->doc, node, false, l->err,
                                    ASSAY_ERR_SUITE, "missing 'path'");
        assay_status st = load_format(
            s->doc, cJSON_GetObjectItemCaseSensitive(node, "format"), spec,
            l->err);
        if (st == ASSAY_OK)
            st = load_map(s->doc, cJSON_GetObjectItemCaseSensitive(node, "map"),
                          spec, l->err);
        if (st != ASSAY_OK)
            return st;
    }
    if (!cJSON_IsString(path) || !path->valuestring[0])
        return assay__doc_error(s->doc, path, false, l->err, ASSAY_ERR_SUITE,
                                "'%s' must be the path of a JSON Lines, CSV "
                                "or JSON file, or {path: ..., map: ...}",
                                what);
    const char *p = file_ref(path) ? file_ref(path) : path->valuestring;
    spec->path = resolve_path(s->path, p);
    return spec->path ? ASSAY_OK : oom(l->err);
}

static assay_status load_cases(loader *l, const cJSON *root)
{
    assay_suite *s = l->s;
    const cJSON *dataset = cJSON_GetObjectItemCaseSensitive(root, "dataset");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    if (dataset && cases)
        return assay__doc_error(s->doc, cases, true, l->err, ASSAY_ERR_SUITE,
                                "give either 'dataset' or 'cases', not both");
    s->dataset.shots = s->shots;
    if (cases) {
        if (!cJSON_IsArray(cases))
            return assay__doc_error(s->doc, cases, false, l->err,
                                    ASSAY_ERR_SUITE,
                                    "'cases' must be a list of mappings");
        s->dataset.doc = s->doc;
        s->dataset.inline_cases = cases;
        return ASSAY_OK;
    }
    if (!dataset)
        return assay__doc_error(s->doc, root, false, l->err, ASSAY_ERR_SUITE,
                                "missing 'dataset' (a JSON Lines, CSV or "
                                "JSON file) or 'cases'");
    return load_dataset_spec(l, dataset, "'dataset'", &s->dataset);
}

/* ------------------------------------------------------------ checks */

static assay_status add_checks(loader *l, cJSON *list, size_t *cap)
{
    assay_suite *s = l->s;
    if (!cJSON_IsArray(list))
        return assay__doc_error(s->doc, list, false, l->err, ASSAY_ERR_SUITE,
                                "'checks' must be a list of checks");
    assay_status st = inline_check_refs(s, list, l->err);
    if (st != ASSAY_OK)
        return st;
    size_t need = s->n_checks + (size_t)cJSON_GetArraySize(list);
    if (need > *cap) {
        assay__check **c = realloc(s->checks, need * sizeof *c);
        if (!c)
            return oom(l->err);
        s->checks = c;
        *cap = need;
    }
    const cJSON *node;
    cJSON_ArrayForEach(node, list)
    {
        st = assay__check_compile(s->doc, node, &s->checks[s->n_checks],
                                  l->err);
        if (st != ASSAY_OK)
            return st;
        s->n_checks++;
    }
    return ASSAY_OK;
}

static assay_status load_checks(loader *l, cJSON *root, cJSON *defaults)
{
    size_t cap = 0;
    cJSON *d = cJSON_GetObjectItemCaseSensitive(defaults, "checks");
    cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "checks");
    assay_status st = d ? add_checks(l, d, &cap) : ASSAY_OK;
    if (st == ASSAY_OK && list)
        st = add_checks(l, list, &cap);
    return st;
}

/* ------------------------------------------------------------ fewshot */

static assay_status get_count(const assay__doc *doc, const cJSON *map,
                              const char *key, double min, double max,
                              double fallback, double *out, assay_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(map, key);
    *out = fallback;
    if (!v)
        return ASSAY_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max ||
        v->valuedouble != (double)(long long)v->valuedouble)
        return assay__doc_error(doc, v, false, err, ASSAY_ERR_SUITE,
                                "'%s' must be a whole number from %.0f to "
                                "%.0f",
                                key, min, max);
    *out = v->valuedouble;
    return ASSAY_OK;
}

/* Draws the examples: a seeded reservoir sample of k, in dataset order. */
static assay_status draw_shots(loader *l, const cJSON *node,
                               const assay__dataset_spec *from, long k,
                               uint64_t seed)
{
    assay_suite *s = l->s;
    assay__select sel;
    assay__select_init(&sel);
    sel.sample = k;
    sel.seed = seed;
    assay__dataset *d = NULL;
    assay_status st = assay__dataset_open(from, &sel, &d, l->err);
    if (st == ASSAY_OK && !(s->shots = cJSON_CreateArray()))
        st = oom(l->err);
    for (assay__case *c = NULL; st == ASSAY_OK;) {
        st = assay__dataset_next(d, &c, l->err);
        if (st != ASSAY_OK || !c)
            break;
        cJSON *vars = cJSON_Duplicate(c->vars, true);
        if (!vars || !cJSON_AddItemToArray(s->shots, vars)) {
            cJSON_Delete(vars);
            st = oom(l->err);
        }
        assay__case_unref(c);
    }
    assay__dataset_free(d);
    if (st == ASSAY_OK && cJSON_GetArraySize(s->shots) < k)
        st = assay__doc_error(s->doc, node, false, l->err, ASSAY_ERR_SUITE,
                              "'fewshot' asks for %ld examples, and %s has "
                              "%d",
                              k, from->path, cJSON_GetArraySize(s->shots));
    return st;
}

/*
 * With `user` and `assistant` templates, each example becomes a user and an
 * assistant message, rendered now, put after the prompt's leading system
 * messages.
 */
static assay_status insert_shots(loader *l, assay__prompt *p,
                                 const assay__template *user,
                                 const assay__template *assistant)
{
    size_t lead = 0;
    while (lead < p->n_messages && !strcmp(p->messages[lead].role, "system"))
        lead++;
    size_t k = (size_t)cJSON_GetArraySize(l->s->shots);
    assay__message *m = realloc(p->messages,
                                (p->n_messages + 2 * k) * sizeof *m);
    if (!m)
        return oom(l->err);
    p->messages = m;
    memmove(m + lead + 2 * k, m + lead, (p->n_messages - lead) * sizeof *m);
    memset(m + lead, 0, 2 * k * sizeof *m);
    p->n_messages += 2 * k;
    assay__buf text;
    assay__buf_init(&text, 0);
    assay_status st = ASSAY_OK;
    const cJSON *shot = l->s->shots->child;
    for (size_t i = 0; i < 2 * k && st == ASSAY_OK; i++) {
        bool is_user = i % 2 == 0;
        assay__message *msg = &m[lead + i];
        char id[32];
        snprintf(id, sizeof id, "fewshot %zu", i / 2 + 1);
        assay__buf_reset(&text);
        st = assay__template_render(is_user ? user : assistant, shot, id,
                                    &text, l->err);
        if (st == ASSAY_OK &&
            !(msg->role = strdup(is_user ? "user" : "assistant")))
            st = oom(l->err);
        if (st == ASSAY_OK)
            st = assay__template_literal(text.data, text.len, &msg->content,
                                         l->err);
        if (!is_user)
            shot = shot->next;
    }
    assay__buf_release(&text);
    if (st == ASSAY_ERR_TEMPLATE)
        assay__error_prefix(l->err, "%s:'fewshot'",
                            assay__doc_name(l->s->doc));
    return st;
}

static assay_status compile_shot_template(loader *l, const cJSON *fs,
                                          const char *key,
                                          assay__template **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(fs, key);
    if (!cJSON_IsString(v))
        return assay__doc_error(l->s->doc, v ? v : fs, false, l->err,
                                ASSAY_ERR_SUITE,
                                "'fewshot' needs both 'user' and 'assistant' "
                                "templates to make messages, as in "
                                "{user: \"{{question}}\", assistant: "
                                "\"{{answer}}\"}");
    int line = 0, col = 0;
    assay__doc_where(l->s->doc, v, &line, &col);
    char where[600];
    snprintf(where, sizeof where, "%s:%d:%d", assay__doc_name(l->s->doc),
             line, col);
    return assay__template_compile(v->valuestring, where, out, l->err);
}

static assay_status load_fewshot(loader *l, const cJSON *root)
{
    assay_suite *s = l->s;
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(root, "fewshot");
    if (!fs)
        return ASSAY_OK;
    if (!cJSON_IsObject(fs))
        return assay__doc_error(s->doc, fs, false, l->err, ASSAY_ERR_SUITE,
                                "'fewshot' is {k: 5, from: dev.jsonl, seed: "
                                "1, user: ..., assistant: ...}");
    check_keys(l, s->doc, fs, fewshot_keys, "'fewshot'");
    double k, seed;
    assay_status st = get_count(s->doc, fs, "k", 1, 1000, 0, &k, l->err);
    if (st == ASSAY_OK && !cJSON_GetObjectItemCaseSensitive(fs, "k"))
        st = assay__doc_error(s->doc, fs, false, l->err, ASSAY_ERR_SUITE,
                              "missing 'k' (how many examples)");
    if (st == ASSAY_OK)
        st = get_count(s->doc, fs, "seed", 0, 9007199254740991.0, 0, &seed,
                       l->err);
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(fs, "from");
    if (st == ASSAY_OK && !from)
        st = assay__doc_error(s->doc, fs, false, l->err, ASSAY_ERR_SUITE,
                              "missing 'from' (the dataset of solved "
                              "examples)");
    assay__dataset_spec spec;
    memset(&spec, 0, sizeof spec);
    if (st == ASSAY_OK)
        st = load_dataset_spec(l, from, "'from'", &spec);
    if (st == ASSAY_OK)
        st = draw_shots(l, from, &spec, (long)k, (uint64_t)seed);
    assay__dataset_spec_release(&spec);
    bool messages = cJSON_GetObjectItemCaseSensitive(fs, "user") ||
                    cJSON_GetObjectItemCaseSensitive(fs, "assistant");
    if (st != ASSAY_OK || !messages)
        return st;
    assay__template *user = NULL, *assistant = NULL;
    st = compile_shot_template(l, fs, "user", &user);
    if (st == ASSAY_OK)
        st = compile_shot_template(l, fs, "assistant", &assistant);
    /* A prompt taken from the case keeps them in its message list too:
       prompt.c puts them among the case's messages. */
    for (size_t i = 0; st == ASSAY_OK && i < s->n_prompts; i++)
        st = insert_shots(l, &s->prompts[i], user, assistant);
    assay__template_free(user);
    assay__template_free(assistant);
    return st;
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

/* `case_threshold: 0.8`: a case passes when its checks' weighted score
   reaches it, instead of when every check passes. */
static assay_status load_case_threshold(assay_suite *s, const cJSON *root,
                                        assay_error *err)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "case_threshold");
    s->case_threshold = NAN;
    if (!t)
        return ASSAY_OK;
    if (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 1)
        return assay__doc_error(s->doc, t, false, err, ASSAY_ERR_SUITE,
                                "'case_threshold' must be a number from 0 "
                                "to 1");
    s->case_threshold = t->valuedouble;
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

static assay_status load_defaults(loader *l, cJSON *root, cJSON **out)
{
    cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "defaults");
    *out = d;
    if (!d)
        return ASSAY_OK;
    if (!cJSON_IsObject(d))
        return assay__doc_error(l->s->doc, d, false, l->err, ASSAY_ERR_SUITE,
                                "'defaults' is {params: {...}, checks: "
                                "[...]}, shared by every target and case");
    check_keys(l, l->s->doc, d, defaults_keys, "'defaults'");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(d, "params");
    return params ? check_params(l->s->doc, params, l->err) : ASSAY_OK;
}

/* The target whose `name` is `name`, as written in the suite. */
static const cJSON *target_node(const cJSON *root, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(root, "targets"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(t, "model");
        const cJSON *id = cJSON_IsString(n) ? n : m;
        if (cJSON_IsString(id) && !strcmp(id->valuestring, name))
            return t;
    }
    return NULL;
}

/*
 * `allow_exec: true` lets `exec` checks run programs; without it a suite
 * (or a dataset it reads) cannot make assay run anything.
 */
static assay_status load_allow_exec(assay_suite *s, const cJSON *root,
                                    assay_error *err)
{
    const cJSON *allow = cJSON_GetObjectItemCaseSensitive(root, "allow_exec");
    if (allow && !cJSON_IsBool(allow))
        return assay__doc_error(s->doc, allow, false, err, ASSAY_ERR_SUITE,
                                "'allow_exec' is true or false");
    s->allow_exec = cJSON_IsTrue(allow);
    for (size_t i = 0; i < s->n_checks && !s->allow_exec; i++)
        if (!strcmp(assay__check_type(s->checks[i]), "exec") ||
            !strcmp(assay__check_type(s->checks[i]), "not-exec"))
            return assay__doc_error(
                s->doc, cJSON_GetObjectItemCaseSensitive(root, "checks"),
                false, err, ASSAY_ERR_SUITE,
                "an 'exec' check runs a program: allow it with "
                "`allow_exec: true`");
    return ASSAY_OK;
}

/* A suite check that needs the grader (embeds false) or the embedder. */
static const assay__check *check_needing(const assay_suite *s, bool embeds)
{
    for (size_t i = 0; i < s->n_checks; i++) {
        if (assay__check_needs_grader(s->checks[i]) &&
            assay__check_embeds(s->checks[i]) == embeds)
            return s->checks[i];
        if (!embeds && assay__check_compares(s->checks[i]) &&
            assay__check_compare_asks(s->checks[i]))
            return s->checks[i]; /* select-best */
    }
    return NULL;
}

/*
 * `grader:` — the model that judges model-graded checks — and `embedder:`
 * — the embedding model of similarity checks: each a target of its own
 * ({model: ..., base_url: ...}) or the name of one of the targets, and
 * required when a check needs it.
 */
static assay_status load_helper_model(loader *l, const cJSON *root,
                                      bool embedder, assay__target **out)
{
    assay_suite *s = l->s;
    const char *key = embedder ? "embedder" : "grader";
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!node) {
        const assay__check *c = check_needing(s, embedder);
        if (!c)
            return ASSAY_OK;
        return assay__doc_error(
            s->doc, cJSON_GetObjectItemCaseSensitive(root, "checks"), false,
            l->err, ASSAY_ERR_SUITE,
            embedder ? "check '%s' compares embeddings: give the suite an "
                       "embedder, e.g. `embedder: {model: "
                       "text-embedding-3-small}`"
                     : "check '%s' is model-graded: give the suite a "
                       "grader, e.g. `grader: {model: gpt-4o-mini}`",
            assay__check_type(c));
    }
    if (cJSON_IsString(node)) {
        const cJSON *named = target_node(root, node->valuestring);
        if (!named)
            return assay__doc_error(s->doc, node, false, l->err,
                                    ASSAY_ERR_SUITE,
                                    "no target is named '%s'",
                                    node->valuestring);
        node = named;
    }
    *out = calloc(1, sizeof **out);
    if (!*out)
        return oom(l->err);
    assay_status st = load_target(l, s->doc, node, NULL, *out);
    if (embedder)
        (*out)->conn.endpoint = ASSAY__ENDPOINT_EMBEDDINGS;
    return st;
}

static assay_status load_root(loader *l)
{
    assay_suite *s = l->s;
    cJSON *root = assay__doc_root(s->doc);
    if (!cJSON_IsObject(root))
        return assay__doc_error(s->doc, root, false, l->err, ASSAY_ERR_SUITE,
                                "a suite must be a mapping with 'targets', "
                                "'prompt', 'dataset' or 'cases', and 'checks'");
    check_keys(l, s->doc, root, top_level_keys, "the suite");
    assay_status st = expand_tree(l, s->doc, root, 0);
    cJSON *defaults = NULL;
    if (st == ASSAY_OK)
        st = load_defaults(l, root, &defaults);
    if (st == ASSAY_OK)
        st = load_name(s, root, l->err);
    if (st == ASSAY_OK)
        st = load_targets(l, root,
                          cJSON_GetObjectItemCaseSensitive(defaults,
                                                           "params"));
    if (st == ASSAY_OK)
        st = load_prompts(l, root);
    if (st == ASSAY_OK)
        st = load_fewshot(l, root);
    if (st == ASSAY_OK)
        st = load_cases(l, root);
    if (st == ASSAY_OK)
        st = load_checks(l, root, defaults);
    if (st == ASSAY_OK)
        st = load_allow_exec(s, root, l->err);
    if (st == ASSAY_OK)
        st = assay__loglik_validate(
            s, cJSON_GetObjectItemCaseSensitive(root, "targets"), l->err);
    if (st == ASSAY_OK)
        st = load_helper_model(l, root, false, &s->grader);
    if (st == ASSAY_OK)
        st = load_helper_model(l, root, true, &s->embedder);
    if (st == ASSAY_OK) /* comparative checks need two targets */
        st = assay__pending_check_suite(s, l->err);
    if (st == ASSAY_OK)
        st = load_repeat(s, root, l->err);
    if (st == ASSAY_OK)
        st = load_case_threshold(s, root, l->err);
    if (st == ASSAY_OK)
        st = assay__gates_parse(s->doc,
                                cJSON_GetObjectItemCaseSensitive(root, "gates"),
                                &s->gates, l->err);
    if (st == ASSAY_OK)
        st = hash_config(s, l->err);
    /* A misspelt key explains most of what may have gone wrong after it. */
    if (l->n_unknown > 0 && st != ASSAY_ERR_NOMEM)
        return unknown_keys_error(l);
    return st;
}

assay_status assay_suite_load_env(const char *path, assay_env_fn env,
                                  void *env_data, assay_suite **out,
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
    loader l = {.s = s, .env = env, .env_data = env_data, .err = err};
    assay__buf_init(&l.more_unknown, 0);
    assay_status st = assay__doc_load(path, &s->doc, err);
    if (st == ASSAY_OK)
        st = assay__promptfoo_detect(assay__doc_root(s->doc))
                 ? assay__promptfoo_load(s, env, env_data, err)
                 : load_root(&l);
    assay__buf_release(&l.more_unknown);
    if (st != ASSAY_OK) {
        assay_suite_free(s);
        return st;
    }
    *out = s;
    return ASSAY_OK;
}

assay_status assay_suite_load(const char *path, assay_suite **out,
                              assay_error *err)
{
    return assay_suite_load_env(path, NULL, NULL, out, err);
}

void assay_suite_free(assay_suite *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_targets; i++)
        target_release(&s->targets[i]);
    free(s->targets);
    if (s->grader)
        target_release(s->grader);
    free(s->grader);
    if (s->embedder)
        target_release(s->embedder);
    free(s->embedder);
    for (size_t i = 0; i < s->n_prompts; i++)
        prompt_release(&s->prompts[i]);
    free(s->prompts);
    for (size_t i = 0; i < s->n_checks; i++)
        assay__check_free(s->checks[i]);
    free(s->checks);
    assay__dataset_spec_release(&s->dataset);
    cJSON_Delete(s->shots);
    free(s->name);
    free(s->path);
    assay__doc_free(s->doc);
    assay__suite_extras_free(s->extras);
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

const char *assay_suite_target_base_url(const assay_suite *s, size_t index)
{
    return index < s->n_targets ? s->targets[index].base_url : NULL;
}

const char *assay_suite_target_key_variable(const assay_suite *s,
                                            size_t index)
{
    return index < s->n_targets ? s->targets[index].api_key_env : NULL;
}

bool assay_suite_target_verifies_tls(const assay_suite *s, size_t index)
{
    return index >= s->n_targets || s->targets[index].conn.verify_tls;
}

size_t assay_suite_prompt_count(const assay_suite *s)
{
    return s->n_prompts;
}

const char *assay_suite_prompt_name(const assay_suite *s, size_t index)
{
    return index < s->n_prompts ? s->prompts[index].name : NULL;
}

size_t assay_suite_check_count(const assay_suite *s)
{
    return s->n_checks;
}

assay_status assay__suite_load_target(assay_suite *s, const assay__doc *doc,
                                      const cJSON *node, assay__target *t,
                                      assay_error *err)
{
    loader l = {.s = s, .err = err};
    assay__buf_init(&l.more_unknown, 0);
    assay_status st = load_target(&l, doc, node, NULL, t);
    if (l.n_unknown > 0 && st != ASSAY_ERR_NOMEM)
        st = unknown_keys_error(&l);
    assay__buf_release(&l.more_unknown);
    return st;
}

assay_status assay__suite_mix_hash(assay_suite *s, const char *what,
                                   const char *const *names, size_t n,
                                   assay_error *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, s->config_hash, strlen(s->config_hash)) &&
             EVP_DigestUpdate(ctx, what, strlen(what) + 1);
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, names[i], strlen(names[i]) + 1);
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "SHA-256 is not available");
    for (unsigned int i = 0; i < len && i < 32; i++)
        snprintf(s->config_hash + 2 * i, 3, "%02x", digest[i]);
    return ASSAY_OK;
}

/* What assay_suite_free does to one target or prompt, for narrow.c. */
void assay__target_release(assay__target *t)
{
    target_release(t);
}

void assay__prompt_release(assay__prompt *p)
{
    prompt_release(p);
}
