/*
 * promptfoo.c - a promptfoo config (promptfooconfig.yaml) loaded into the
 * same struct assay_suite that suite.c fills from assay's own format, so
 * that `assay run promptfooconfig.yaml` runs it unchanged.
 *
 * A config is told apart by its keys: `providers`, or `prompts` with
 * `tests`, and no `targets`. What is read, and how it maps:
 *
 *   providers    openai:chat:M, openai:completion:M, openai:M, with
 *                config.apiBaseUrl / apiHost / apiKeyEnvar / headers /
 *                organization / passthrough and the request parameters
 *                (temperature, max_tokens, seed, ...)  -> targets
 *   prompts      texts, JSON chat message lists, file:// .txt (split at
 *                `---` lines), .json, .yaml; {raw|id, label}  -> prompts
 *   tests        inline, or file:// CSV, JSON Lines, JSON or YAML; vars
 *                (array values expand into one test per combination),
 *                assert, threshold, options.prefix/suffix  -> inline cases
 *   defaultTest  vars and assert for every test, threshold, and
 *                options.prefix/suffix
 *   assert       type (with not-), value, threshold, weight, metric  ->
 *                checks; rouge-n becomes rouge-1, levenshtein's threshold
 *                its `max`, latency's and cost's threshold their value
 *
 * Templates are Nunjucks in promptfoo: `{{ var }}`, `{{ a.b }}`, `{{ a[0] }}`
 * and the filters assay has (upper, lower, trim, dump as json, join,
 * default) are rewritten into assay's syntax; `{# comments #}` are dropped.
 *
 * What assay cannot run (JavaScript and Python assertions, providers and
 * prompts, webhooks, other providers, Nunjucks tags and other expressions,
 * assertion types this build has no check for, per-test settings assay has
 * no place for) is collected while the whole config is read, and the load
 * then fails with every item named at its file, line and column, so that
 * nothing is sent and nothing is skipped in silence.
 *
 * Test files are read whole when the config loads (as promptfoo does), so
 * that everything in them is checked before anything is sent; assay's own
 * suites stream their datasets instead. What this file does not do: run
 * anything, or read the environment (only through the caller's lookup, for
 * `{{ env.NAME }}`).
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A file the config refers to is read whole, up to this. */
#define PF_MAX_FILE ((size_t)64 << 20)
/* Tests, after array vars are expanded. */
#define PF_MAX_CASES 1000000L
/* Distinct kinds of unsupported things kept, and places listed per kind. */
#define PF_MAX_GROUPS 48
#define PF_PLACES_LISTED 3
/* Where the made cases and the nodes taken out of the tree live in it. */
#define PF_CASES_KEY "x-assay-cases"
#define PF_REMOVED_KEY "x-assay-removed"

/* One kind of thing assay cannot run, and where it was found. */
typedef struct pf_group {
    char *what;
    assay__buf places; /* "12:5, other.csv:3" */
    long count;
    bool in_config;  /* first found in the config itself */
    char *last_file; /* of the last place listed */
    long line;       /* where it was first found, for the order */
    int col;
} pf_group;

/* A prompt message's text, translated, waiting to be compiled. */
typedef struct pf_pending {
    size_t prompt;
    size_t message;
    char *text;
    char where[600];
} pf_pending;

typedef struct pf {
    assay_suite *s;
    assay_env_fn env;
    void *env_data;
    assay_error *err;
    pf_group groups[PF_MAX_GROUPS];
    size_t n_groups;
    long n_issues;
    long n_ungrouped; /* issues past PF_MAX_GROUPS kinds */
    cJSON *cases;     /* the cases made from the tests, in s->doc */
    long n_cases;
    cJSON *removed; /* nodes taken out of s->doc (their positions stay) */
    const cJSON *default_test; /* defaultTest, or NULL */
    const assay__doc *default_doc;
    assay__doc *default_file; /* defaultTest from a file (owned) */
    double threshold;         /* the tests' case threshold */
    bool have_threshold;
    bool threshold_differs;
    bool affixes;        /* some test has a prefix or a suffix */
    bool needs_grader;   /* some check is model-graded */
    bool needs_embedder; /* some check compares embeddings */
    pf_pending *pending; /* message texts waiting to be compiled */
    size_t n_pending;
} pf;

/* Where a test came from: a document with positions, or a record's line. */
typedef struct pf_src {
    const assay__doc *doc; /* nodes are compiled and placed in it */
    const char *file;      /* for nodes without a position */
    long line;             /* the record's line (CSV, JSON Lines), or 0 */
    bool own_tree;         /* the nodes are the suite's: move, don't copy */
} pf_src;

static assay_status oom(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return true;
    return false;
}

/* ------------------------------------------------------------ detection */

bool assay__promptfoo_detect(const cJSON *root)
{
    if (!cJSON_IsObject(root) ||
        cJSON_GetObjectItemCaseSensitive(root, "targets"))
        return false;
    return cJSON_GetObjectItemCaseSensitive(root, "providers") ||
           (cJSON_GetObjectItemCaseSensitive(root, "prompts") &&
            cJSON_GetObjectItemCaseSensitive(root, "tests"));
}

/* ------------------------------------------------------------ issues */

/* Notes one thing assay cannot run; the load fails at its end. */
static void issue_at(pf *p, const char *file, long line, int col,
                     const char *fmt, ...) ASSAY__PRINTF(5, 6);
static void issue_at(pf *p, const char *file, long line, int col,
                     const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    p->n_issues++;
    pf_group *g = NULL;
    for (size_t i = 0; i < p->n_groups && !g; i++)
        if (!strcmp(p->groups[i].what, what))
            g = &p->groups[i];
    if (!g && p->n_groups == PF_MAX_GROUPS) {
        p->n_ungrouped++;
        return;
    }
    /* Places in the config itself are written without its name. */
    bool in_config = file && !strcmp(file, p->s->path);
    if (!g) {
        char *copy = strdup(what);
        if (!copy)
            return; /* the count still fails the load */
        g = &p->groups[p->n_groups++];
        *g = (pf_group){
            .what = copy, .in_config = in_config, .line = line, .col = col};
        assay__buf_init(&g->places, 4096);
    }
    if (g->count++ >= PF_PLACES_LISTED)
        return;
    if (g->count > 1)
        assay__buf_puts(&g->places, ", ");
    /* A file is named once for the places in it that follow each other. */
    bool same = g->last_file && file && !strcmp(g->last_file, file);
    bool named = !in_config && !same;
    if (named || line <= 0)
        assay__buf_puts(&g->places, file ? file : "?");
    if (line > 0)
        assay__buf_printf(&g->places, "%s%ld", named ? ":" : "", line);
    if (!same && file) {
        free(g->last_file);
        g->last_file = strdup(file);
    }
    if (line > 0 && col > 0)
        assay__buf_printf(&g->places, ":%d", col);
}

/* Where `node` is: its position in src's document, else the record. */
static void place_of(const pf_src *src, const cJSON *node, bool at_key,
                     const char **file, long *line, int *col)
{
    int l = 0, c = 0;
    bool known = node && (at_key ? assay__doc_where_key(src->doc, node, &l, &c)
                                 : assay__doc_where(src->doc, node, &l, &c));
    *file = known ? assay__doc_name(src->doc) : src->file;
    *line = known ? l : src->line;
    *col = known ? c : 0;
}

/* A message about `node`: the text from `fmt` and where it stands. */
typedef struct pf_said {
    char what[900];
    const char *file;
    long line;
    int col;
} pf_said;

static void say(pf_said *out, const pf_src *src, const cJSON *node,
                bool at_key, const char *fmt, va_list ap)
    ASSAY__PRINTF(5, 0);
static void say(pf_said *out, const pf_src *src, const cJSON *node,
                bool at_key, const char *fmt, va_list ap)
{
    vsnprintf(out->what, sizeof out->what, fmt, ap);
    place_of(src, node, at_key, &out->file, &out->line, &out->col);
}

static void issue(pf *p, const pf_src *src, const cJSON *node, bool at_key,
                  const char *fmt, ...) ASSAY__PRINTF(5, 6);
static void issue(pf *p, const pf_src *src, const cJSON *node, bool at_key,
                  const char *fmt, ...)
{
    pf_said said = {.line = 0};
    va_list ap;
    va_start(ap, fmt);
    say(&said, src, node, at_key, fmt, ap);
    va_end(ap);
    issue_at(p, said.file, said.line, said.col, "%s", said.what);
}

/* A mistake in the config: an error at `node`, or at the record's line. */
static assay_status fail(pf *p, const pf_src *src, const cJSON *node,
                         const char *fmt, ...) ASSAY__PRINTF(4, 5);
static assay_status fail(pf *p, const pf_src *src, const cJSON *node,
                         const char *fmt, ...)
{
    pf_said said = {.line = 0};
    va_list ap;
    va_start(ap, fmt);
    say(&said, src, node, false, fmt, ap);
    va_end(ap);
    return assay__error(p->err, ASSAY_ERR_SUITE, said.file, (int)said.line,
                        said.col, "%s", said.what);
}

/* The config's own places first, in the order of the file. */
static int group_order(const void *a, const void *b)
{
    const pf_group *x = a, *y = b;
    if (x->in_config != y->in_config)
        return x->in_config ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

/*
 * Every issue in one message, a line per kind with its places ("12:5" in
 * the config, "file:line" elsewhere). What does not fit in the error's
 * room is counted at the end, never dropped without a word.
 */
static assay_status issues_error(pf *p)
{
    qsort(p->groups, p->n_groups, sizeof *p->groups, group_order);
    const size_t room = sizeof((assay_error *)NULL)->message - 64;
    assay__buf msg, line;
    assay__buf_init(&msg, 0);
    assay__buf_init(&line, 0);
    assay__buf_printf(&msg, "%ld thing%s assay cannot run (nothing was sent):",
                      p->n_issues, p->n_issues == 1 ? "" : "s");
    long left = 0;
    for (size_t i = 0; i < p->n_groups; i++) {
        const pf_group *g = &p->groups[i];
        assay__buf_reset(&line);
        assay__buf_printf(&line, "\n  %s: %s", g->places.data, g->what);
        if (g->count > PF_PLACES_LISTED)
            assay__buf_printf(&line, " (and %ld more)",
                              g->count - PF_PLACES_LISTED);
        if (left || msg.len + strlen(p->s->path) + line.len > room)
            left += g->count;
        else
            assay__buf_puts(&msg, line.data);
    }
    left += p->n_ungrouped;
    if (left)
        assay__buf_printf(&msg, "\n  and %ld more", left);
    assay_status st =
        assay__error(p->err, ASSAY_ERR_SUITE, p->s->path, 0, 0, "%s", msg.data);
    assay__buf_release(&line);
    assay__buf_release(&msg);
    return st;
}

/* ------------------------------------------------------------ files */

static const char *file_ref(const cJSON *node)
{
    if (!cJSON_IsString(node) || !starts_with(node->valuestring, "file://"))
        return NULL;
    return node->valuestring + 7;
}

/* JavaScript, TypeScript or Python: code assay does not run. */
static const char *code_language(const char *ref)
{
    static const struct {
        const char *ext;
        const char *language;
    } code[] = {
        {".js", "JavaScript"}, {".cjs", "JavaScript"}, {".mjs", "JavaScript"},
        {".ts", "TypeScript"}, {".mts", "TypeScript"}, {".py", "Python"},
    };
    /* `file://x.py:function_name` names a function in the file. */
    const char *colon = strrchr(ref, ':');
    size_t len = colon ? (size_t)(colon - ref) : strlen(ref);
    for (size_t i = 0; i < sizeof code / sizeof *code; i++) {
        size_t e = strlen(code[i].ext);
        if (len >= e && !strncmp(ref + len - e, code[i].ext, e))
            return code[i].language;
    }
    return NULL;
}

static bool is_glob(const char *ref)
{
    return strpbrk(ref, "*?[{") != NULL;
}

/* A path relative to the config's folder. */
static char *resolve(const pf *p, const char *path)
{
    const char *slash = strrchr(p->s->path, '/');
    if (path[0] == '/' || !slash)
        return strdup(path);
    assay__buf b;
    assay__buf_init(&b, 0);
    if (assay__buf_append(&b, p->s->path, (size_t)(slash - p->s->path + 1)) ||
        assay__buf_puts(&b, path)) {
        assay__buf_release(&b);
        return NULL;
    }
    return assay__buf_detach(&b, NULL);
}

/* The offset of the first byte that is not valid UTF-8, or `len`. */
static size_t utf8_bad_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (!n || i + n > len || (n == 2 && c < 0xC2) || (n == 4 && c > 0xF4))
            return i;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        /* Overlong forms, surrogates and code points past U+10FFFF. */
        if ((n == 3 && c == 0xE0 && s[i + 1] < 0xA0) ||
            (n == 3 && c == 0xED && s[i + 1] >= 0xA0) ||
            (n == 4 && c == 0xF0 && s[i + 1] < 0x90) ||
            (n == 4 && c == 0xF4 && s[i + 1] >= 0x90))
            return i;
        i += n;
    }
    return len;
}

/* Reads the text at `path` (resolved) whole; errors point at `node`. */
static assay_status read_text(pf *p, const pf_src *src, const cJSON *node,
                              const char *path, assay__buf *text)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return fail(p, src, node, "cannot read %s: %s", path, strerror(e));
    }
    char chunk[65536];
    size_t n;
    assay_status st = ASSAY_OK;
    while (st == ASSAY_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        st = assay__buf_append(text, chunk, n);
    bool failed = ferror(f);
    fclose(f);
    if (st == ASSAY_ERR_LIMIT)
        return fail(p, src, node, "%s is larger than %zu MiB", path,
                    PF_MAX_FILE >> 20);
    if (st != ASSAY_OK)
        return oom(p->err);
    if (failed)
        return fail(p, src, node, "cannot read %s", path);
    if (memchr(text->data, '\0', text->len))
        return fail(p, src, node, "%s holds a NUL byte: it is not text", path);
    size_t bad = utf8_bad_at((const unsigned char *)text->data, text->len);
    if (bad < text->len) {
        long line = 1;
        for (size_t i = 0; i < bad; i++)
            line += text->data[i] == '\n';
        return assay__error(p->err, ASSAY_ERR_SUITE, path, (int)line, 0,
                            "not valid UTF-8 (byte 0x%02X)",
                            (unsigned char)text->data[bad]);
    }
    return ASSAY_OK;
}

/* The text a file:// reference names, less the line break ending it. */
static assay_status read_ref(pf *p, const pf_src *src, const cJSON *node,
                             assay__buf *text)
{
    char *path = resolve(p, file_ref(node));
    if (!path)
        return oom(p->err);
    assay_status st = read_text(p, src, node, path, text);
    free(path);
    if (st == ASSAY_OK && text->len && text->data[text->len - 1] == '\n')
        text->data[--text->len] = '\0';
    if (st == ASSAY_OK && text->len && text->data[text->len - 1] == '\r')
        text->data[--text->len] = '\0';
    return st;
}

static bool is_yaml_or_json(const char *ref)
{
    return ends_with(ref, ".yaml") || ends_with(ref, ".yml") ||
           ends_with(ref, ".json");
}

/* Keeps a node taken out of the suite's tree, so that no freed node's
   address can come back and pick up its position. */
static void bury(pf *p, cJSON *node)
{
    if (node && !cJSON_AddItemToArray(p->removed, node))
        cJSON_Delete(node);
}

static bool set_string(cJSON *node, const char *text)
{
    if (cJSON_IsString(node))
        return cJSON_SetValuestring(node, text) != NULL;
    char *copy = strdup(text);
    if (!copy)
        return false;
    node->type = cJSON_String | (node->type & cJSON_StringIsConst);
    node->valuestring = copy;
    node->valueint = 0;
    node->valuedouble = 0;
    return true;
}

static bool rename_key(cJSON *item, const char *name)
{
    char *copy = strdup(name);
    if (!copy)
        return false;
    if (!(item->type & cJSON_StringIsConst))
        cJSON_free(item->string);
    item->type &= ~cJSON_StringIsConst;
    item->string = copy;
    return true;
}

/* ------------------------------------------------------------ Nunjucks */

/* Where a template's text is, for issues inside it. */
typedef struct pf_text_at {
    const char *file;
    long line;
    int col;
    bool exact; /* the text is the file's: count lines and columns in it */
} pf_text_at;

static void text_place(const pf_text_at *at, const char *text, const char *pos,
                       long *line, int *col)
{
    *line = at->line;
    *col = at->col;
    if (!at->exact)
        return;
    for (const char *c = text; c < pos; c++) {
        if (*c == '\n') {
            ++*line;
            *col = 1;
        } else if ((*c & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static const char *skip_blanks(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    return s;
}

/* A quoted literal at *s ('...' or "..."), without escapes; false if none. */
static bool scan_quoted(const char **s, const char *end, const char **text,
                        size_t *len)
{
    char q = **s;
    if (*s >= end || (q != '"' && q != '\''))
        return false;
    const char *close = memchr(*s + 1, q, (size_t)(end - *s - 1));
    if (!close || memchr(*s + 1, '\\', (size_t)(close - *s - 1)))
        return false;
    *text = *s + 1;
    *len = (size_t)(close - *s - 1);
    *s = close + 1;
    return true;
}

/* A number literal (for default(0)); false if none. */
static bool scan_number(const char **s, const char *end, const char **text,
                        size_t *len)
{
    const char *p = *s;
    if (p < end && *p == '-')
        p++;
    size_t digits = strspn(p, "0123456789.");
    if (!digits || p + digits > end)
        return false;
    *text = *s;
    *len = (size_t)(p + digits - *s);
    *s = p + digits;
    return true;
}

/* Appends `text` as a quoted filter argument of assay's syntax. */
static bool put_quoted(assay__buf *out, const char *text, size_t len)
{
    char q = memchr(text, '"', len) ? '\'' : '"';
    if (q == '\'' && memchr(text, '\'', len))
        return false;
    return !assay__buf_putc(out, q) && !assay__buf_append(out, text, len) &&
           !assay__buf_putc(out, q);
}

/* `| name` or `| name(args)`, translated; false when assay has no such
   filter (`*bad` names it). */
static bool translate_filter(const char **s, const char *end, assay__buf *out,
                             char *bad, size_t bad_size)
{
    const char *name = *s;
    while (*s < end && is_ident_char(**s))
        (*s)++;
    size_t n = (size_t)(*s - name);
    snprintf(bad, bad_size, "%.*s", (int)(n < 40 ? n : 40), name);
    if (!n)
        return false;
    const char *args = NULL, *args_end = NULL;
    *s = skip_blanks(*s, end);
    if (*s < end && **s == '(') {
        args = *s + 1;
        const char *q = args;
        while (q < end && *q != ')') {
            if (*q == '"' || *q == '\'') {
                const char *t;
                size_t tl;
                if (!scan_quoted(&q, end, &t, &tl))
                    return false;
            } else {
                q++;
            }
        }
        if (q >= end)
            return false;
        args_end = q;
        *s = q + 1;
    }
#define IS(x) (strlen(x) == n && !strncmp(name, x, n))
    if (IS("safe"))
        return !args; /* promptfoo escapes nothing: safe changes nothing */
    if (IS("upper") || IS("lower") || IS("trim"))
        return !args && !assay__buf_printf(out, " | %.*s", (int)n, name);
    if (IS("dump"))
        return !args && !assay__buf_puts(out, " | json");
    if (!IS("join") && !IS("default") && !IS("d"))
        return false;
    bool join = IS("join");
#undef IS
    const char *a = args ? skip_blanks(args, args_end) : NULL;
    const char *text = "";
    size_t len = 0;
    if (a && a < args_end && !scan_quoted(&a, args_end, &text, &len) &&
        (join || !scan_number(&a, args_end, &text, &len)))
        return false;
    if (a && skip_blanks(a, args_end) != args_end)
        return false; /* a second argument (default's boolean) */
    if (!join && !args)
        return false;
    return !assay__buf_puts(out, join ? " | join(" : " | default(") &&
           put_quoted(out, text, len) && !assay__buf_putc(out, ')');
}

/* The dotted path of `a.b[0]['c']` into `out`; false if it is no path. */
static bool translate_path(const char **s, const char *end, assay__buf *out)
{
    if (*s >= end || !is_ident_start(**s))
        return false;
    for (bool first = true;; first = false) {
        const char *seg = NULL;
        size_t len = 0;
        if (first || **s == '.') {
            if (!first)
                (*s)++;
            seg = *s;
            while (*s < end && is_ident_char(**s))
                (*s)++;
            len = (size_t)(*s - seg);
        } else if (**s == '[') {
            const char *q = skip_blanks(*s + 1, end);
            if (!scan_quoted(&q, end, &seg, &len)) {
                seg = q;
                len = strspn(q, "0123456789");
                q += len;
            }
            q = skip_blanks(q, end);
            if (q >= end || *q != ']')
                return false;
            *s = q + 1;
            for (size_t i = 0; i < len; i++)
                if (!is_ident_char(seg[i]) && seg[i] != '-')
                    return false;
        } else {
            return true;
        }
        if (!len || (!first && assay__buf_putc(out, '.')) ||
            assay__buf_append(out, seg, len))
            return false;
        if (*s >= end || (**s != '.' && **s != '['))
            return true;
    }
}

/*
 * `{{ expr }}`'s inside (between the braces) into `out` as an assay tag.
 * False when it is beyond a path and filters; `*why` then says what.
 */
static bool translate_expr(pf *p, const char *s, const char *end,
                           assay__buf *out, char *why, size_t why_size)
{
    s = skip_blanks(s, end);
    if ((s < end && *s == '-') || (end > s && end[-1] == '-')) {
        snprintf(why, why_size, "Nunjucks whitespace control ('{{-', '-}}')");
        return false;
    }
    if (end - s > 4 && !strncmp(s, "env.", 4) && p->env) {
        /* promptfoo's environment variables, read when the config loads. */
        const char *name = s + 4, *q = name;
        while (q < end && is_ident_char(*q))
            q++;
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(q - name), name);
        const char *value =
            skip_blanks(q, end) == end ? p->env(key, p->env_data) : NULL;
        if (value) { /* inserted as text: a `{{` in it stays literal */
            for (const char *v = value; *v;) {
                bool braces = !strncmp(v, "{{", 2);
                if (braces ? assay__buf_puts(out, "{{{{")
                           : assay__buf_putc(out, *v))
                    return false;
                v += braces ? 2 : 1;
            }
            return true;
        }
        snprintf(why, why_size, "{{ env.%s }} (not set, or with filters)", key);
        return false;
    }
    size_t mark = out->len;
    assay__buf_puts(out, "{{ ");
    if (!translate_path(&s, end, out)) {
        snprintf(why, why_size,
                 "Nunjucks expressions beyond a variable and filters");
        out->len = mark;
        out->data[mark] = '\0';
        return false;
    }
    for (s = skip_blanks(s, end); s < end; s = skip_blanks(s, end)) {
        char bad[48];
        if (*s != '|') {
            snprintf(why, why_size,
                     "Nunjucks expressions beyond a variable and filters");
            return false;
        }
        s = skip_blanks(s + 1, end);
        if (!translate_filter(&s, end, out, bad, sizeof bad)) {
            snprintf(why, why_size, "the Nunjucks filter '%s'", bad);
            return false;
        }
    }
    return !assay__buf_puts(out, " }}");
}

/*
 * Rewrites promptfoo's template `text` into assay's syntax in `out`. Each
 * part assay cannot render is an issue at its place; *ok is false then.
 */
static assay_status translate(pf *p, const char *text, const pf_text_at *at,
                              assay__buf *out, bool *ok)
{
    *ok = true;
    const char *s = text;
    while (*s) {
        const char *open = strchr(s, '{');
        if (!open) {
            if (assay__buf_puts(out, s))
                return oom(p->err);
            break;
        }
        if (assay__buf_append(out, s, (size_t)(open - s)))
            return oom(p->err);
        s = open;
        const char *close_tag = s[1] == '{'   ? "}}"
                                : s[1] == '%' ? "%}"
                                : s[1] == '#' ? "#}"
                                              : NULL;
        if (!close_tag) {
            if (assay__buf_putc(out, *s++))
                return oom(p->err);
            continue;
        }
        long line;
        int col;
        text_place(at, text, s, &line, &col);
        const char *close = strstr(s + 2, close_tag);
        if (!close) {
            issue_at(p, at->file, line, col, "an unclosed Nunjucks '%.2s'", s);
            *ok = false;
            break;
        }
        if (s[1] == '#') { /* a comment renders as nothing */
            s = close + 2;
            continue;
        }
        if (s[1] == '%') {
            const char *word = skip_blanks(s + 2, close);
            if (word < close && *word == '-')
                word = skip_blanks(word + 1, close);
            size_t n = 0;
            while (word + n < close && is_ident_char(word[n]))
                n++;
            /* A closing tag comes with its opening one, named already. */
            if (n < 3 || strncmp(word, "end", 3))
                issue_at(p, at->file, line, col,
                         "the Nunjucks tag '{%% %.*s %%}'",
                         (int)(n < 30 ? n : 30), word);
            *ok = false;
            s = close + 2;
            continue;
        }
        char why[160];
        if (!translate_expr(p, s + 2, close, out, why, sizeof why)) {
            issue_at(p, at->file, line, col, "%s", why);
            *ok = false;
        }
        s = close + 2;
    }
    return ASSAY_OK;
}

/* Translates a string node in place (its position stays). */
static assay_status translate_node(pf *p, const pf_src *src, cJSON *node)
{
    if (!cJSON_IsString(node) || !strpbrk(node->valuestring, "{"))
        return ASSAY_OK;
    pf_text_at at;
    place_of(src, node, false, &at.file, &at.line, &at.col);
    at.exact = false;
    assay__buf out;
    assay__buf_init(&out, PF_MAX_FILE);
    bool ok;
    assay_status st = translate(p, node->valuestring, &at, &out, &ok);
    if (st == ASSAY_OK && ok && strcmp(out.data, node->valuestring) &&
        !cJSON_SetValuestring(node, out.data))
        st = oom(p->err);
    assay__buf_release(&out);
    return st;
}

/* ------------------------------------------------------------ assertions */

/* promptfoo's assertion types: those assay lacks are listed, not refused as
   misspelt. */
static const char *const promptfoo_types[] = {
    "equals",
    "contains",
    "icontains",
    "contains-all",
    "contains-any",
    "icontains-all",
    "icontains-any",
    "starts-with",
    "regex",
    "is-json",
    "contains-json",
    "is-xml",
    "contains-xml",
    "is-html",
    "contains-html",
    "is-sql",
    "contains-sql",
    "is-refusal",
    "similar",
    "llm-rubric",
    "model-graded-closedqa",
    "factuality",
    "answer-relevance",
    "context-recall",
    "context-relevance",
    "context-faithfulness",
    "levenshtein",
    "rouge-n",
    "bleu",
    "gleu",
    "meteor",
    "f-score",
    "cost",
    "latency",
    "perplexity",
    "perplexity-score",
    "is-valid-openai-tools-call",
    "is-valid-openai-function-call",
    "is-valid-function-call",
    "finish-reason",
    "classifier",
    "moderation",
    "webhook",
    "g-eval",
    "javascript",
    "python",
    "word-count",
    "select-best",
    "max-score",
    "human",
    "assert-set",
    "guardrails",
    "pi",
    "conversation-relevance",
    "model-graded-factuality",
    "search-rubric",
    "trace-span-count",
    "trace-span-duration",
    "trace-error-spans",
    "tool-call-f1",
    NULL,
};

/* Types whose `threshold` promptfoo reads (it ignores the others'). */
static const char *const threshold_types[] = {
    "similar",
    "llm-rubric",
    "model-graded-closedqa",
    "factuality",
    "answer-relevance",
    "context-recall",
    "context-relevance",
    "context-faithfulness",
    "rouge-n",
    "bleu",
    "gleu",
    "meteor",
    "f-score",
    "perplexity",
    "perplexity-score",
    "classifier",
    "g-eval",
    "assert-set",
    "tool-call-f1",
    NULL,
};

/* Types whose value promptfoo compares as text, numbers included. */
static const char *const text_types[] = {
    "equals",       "contains",      "icontains",     "starts-with",
    "ends-with",    "regex",         "levenshtein",   "contains-all",
    "contains-any", "icontains-all", "icontains-any", NULL,
};

static const char *const assertion_keys[] = {
    "type", "value", "threshold", "weight", "metric", NULL,
};

/* Rewrites a compile error of a record's check as "file:line: what". */
static void restate(const pf_src *src, assay_error *err)
{
    if (!err || src->line <= 0)
        return;
    const char *what = err->message;
    size_t skip = strlen(err->file);
    if (skip && !strncmp(what, err->file, skip)) {
        what += skip;
        for (int colons = 0; colons < 2 && *what == ':'; colons++) {
            what++;
            what += strspn(what, "0123456789");
        }
        what += strspn(what, ": ");
    }
    char why[sizeof err->message];
    snprintf(why, sizeof why, "%s", what);
    assay__error(err, err->status, src->file, (int)src->line, 0, "%s", why);
}

/* A value given as a file:// reference: its text, or for a JSON or YAML
   schema, the document it holds. */
static assay_status value_from_file(pf *p, const pf_src *src, cJSON *spec,
                                    cJSON *value, const char *base)
{
    const char *ref = file_ref(value);
    bool schema = !strcmp(base, "is-json") || !strcmp(base, "contains-json");
    if (!schema || !is_yaml_or_json(ref)) {
        assay__buf text;
        assay__buf_init(&text, PF_MAX_FILE);
        assay_status st = read_ref(p, src, value, &text);
        if (st == ASSAY_OK && !cJSON_SetValuestring(value, text.data))
            st = oom(p->err);
        assay__buf_release(&text);
        return st;
    }
    char *path = resolve(p, ref);
    if (!path)
        return oom(p->err);
    assay__doc *doc = NULL;
    assay_status st = assay__doc_load(path, &doc, p->err);
    free(path);
    if (st != ASSAY_OK)
        return st;
    cJSON *copy = cJSON_Duplicate(assay__doc_root(doc), true);
    assay__doc_free(doc);
    if (!copy)
        return oom(p->err);
    cJSON *old = cJSON_DetachItemViaPointer(spec, value);
    if (src->own_tree)
        bury(p, old);
    else
        cJSON_Delete(old);
    cJSON_AddItemToObject(spec, "value", copy);
    return ASSAY_OK;
}

/* The value as promptfoo reads it: file:// texts, Nunjucks, numbers as
   text for the text checks. *ok false when part of it cannot run. */
static assay_status assertion_value(pf *p, const pf_src *src, cJSON *spec,
                                    const char *base, bool *ok)
{
    cJSON *value = cJSON_GetObjectItemCaseSensitive(spec, "value");
    if (!value)
        return ASSAY_OK;
    const char *ref = file_ref(value);
    if (ref && (code_language(ref) || is_glob(ref))) {
        issue(p, src, value, false, "%s files as assertion values",
              code_language(ref) ? code_language(ref) : "glob patterns of");
        *ok = false;
        return ASSAY_OK;
    }
    if (ref) {
        assay_status st = value_from_file(p, src, spec, value, base);
        if (st != ASSAY_OK)
            return st;
        value = cJSON_GetObjectItemCaseSensitive(spec, "value");
    }
    if (strstr(base, "-xml")) {
        issue(p, src, value, false, "'%s' with required elements", base);
        *ok = false;
        return ASSAY_OK;
    }
    bool text = in_list(base, text_types);
    if (!strcmp(base, "equals") &&
        (cJSON_IsObject(value) || cJSON_IsArray(value))) {
        issue(p, src, value, false,
              "'equals' with a JSON value (a deep comparison)");
        *ok = false;
        return ASSAY_OK;
    }
    cJSON *items = cJSON_IsArray(value) ? value->child : value;
    for (cJSON *v = items; v; v = cJSON_IsArray(value) ? v->next : NULL) {
        if (text && (cJSON_IsNumber(v) || cJSON_IsBool(v))) {
            char num[64];
            if (cJSON_IsBool(v))
                snprintf(num, sizeof num, "%s",
                         cJSON_IsTrue(v) ? "true" : "false");
            else if (v->valuedouble == (double)(long long)v->valuedouble &&
                     fabs(v->valuedouble) < 1e15)
                snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
            else
                snprintf(num, sizeof num, "%.17g", v->valuedouble);
            if (!set_string(v, num))
                return oom(p->err);
        }
        size_t before = (size_t)p->n_issues;
        assay_status st = translate_node(p, src, v);
        if (st != ASSAY_OK)
            return st;
        if ((size_t)p->n_issues != before)
            *ok = false;
    }
    return ASSAY_OK;
}

/* Moves `from`'s value under the name `to` (latency's threshold is its
   value); a `to` already there is dropped, as promptfoo ignores it. */
static assay_status move_key(pf *p, const pf_src *src, cJSON *spec,
                             const char *from, const char *to)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(spec, from);
    if (!item)
        return ASSAY_OK;
    cJSON *old = cJSON_GetObjectItemCaseSensitive(spec, to);
    if (old) {
        cJSON_DetachItemViaPointer(spec, old);
        if (src->own_tree)
            bury(p, old);
        else
            cJSON_Delete(old);
    }
    return rename_key(item, to) ? ASSAY_OK : oom(p->err);
}

/* Types, thresholds and keys, from promptfoo's meaning to assay's. */
static assay_status assertion_shape(pf *p, const pf_src *src, cJSON *spec,
                                    const char *base, bool negate, bool *ok)
{
    cJSON *type = cJSON_GetObjectItemCaseSensitive(spec, "type");
    if (!strcmp(base, "rouge-n")) {
        /* promptfoo's ROUGE-N is unigram overlap: assay's rouge-1. */
        if (!cJSON_SetValuestring(type, negate ? "not-rouge-1" : "rouge-1"))
            return oom(p->err);
    }
    assay_status st = ASSAY_OK;
    if (!strcmp(base, "levenshtein"))
        st = move_key(p, src, spec, "threshold", "max");
    else if (!strcmp(base, "latency") || !strcmp(base, "cost"))
        st = move_key(p, src, spec, "threshold", "value");
    else if (!in_list(base, threshold_types)) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(spec, "threshold");
        if (t) { /* promptfoo ignores it for this type: so does assay */
            cJSON_DetachItemViaPointer(spec, t);
            if (src->own_tree)
                bury(p, t);
            else
                cJSON_Delete(t);
        }
    }
    if (st != ASSAY_OK)
        return st;
    const cJSON *item;
    cJSON_ArrayForEach (item, spec) {
        if (in_list(item->string, assertion_keys) ||
            !strcmp(item->string, "max") ||
            (!strcmp(base, "assert-set") && !strcmp(item->string, "checks")))
            continue;
        if (!strcmp(item->string, "provider"))
            issue(p, src, item, true,
                  "'provider' on an assertion (a grading or embedding "
                  "model per assertion)");
        else if (!strcmp(item->string, "transform") ||
                 !strcmp(item->string, "contextTransform"))
            issue(p, src, item, true, "'%s' (JavaScript) on an assertion",
                  item->string);
        else
            issue(p, src, item, true, "the assertion key '%s'", item->string);
        *ok = false;
    }
    return ASSAY_OK;
}

/*
 * One assertion rewritten in place into an assay check's spec; *ok false
 * (after an issue) when part of it cannot run. promptfoo's `assert-set`
 * holds its assertions under `assert`, assay's under `checks`.
 */
static assay_status rewrite(pf *p, const pf_src *src, cJSON *spec, bool *ok)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(spec, "type");
    if (!cJSON_IsObject(spec) || !cJSON_IsString(type))
        return fail(p, src, spec,
                    "an assertion is {type: ..., value: ...}, "
                    "as in {type: contains, value: Paris}");
    char base[64];
    bool negate = starts_with(type->valuestring, "not-");
    snprintf(base, sizeof base, "%s", type->valuestring + (negate ? 4 : 0));
    if (!strcmp(base, "javascript") || !strcmp(base, "python") ||
        !strcmp(base, "webhook")) {
        issue(p, src, type, false, "%s assertions",
              !strcmp(base, "javascript") ? "JavaScript"
              : !strcmp(base, "python")   ? "Python"
                                          : "webhook");
        *ok = false;
        return ASSAY_OK;
    }
    cJSON *set = cJSON_GetObjectItemCaseSensitive(spec, "assert");
    if (!strcmp(base, "assert-set") && set) {
        if (!cJSON_IsArray(set))
            return fail(p, src, set,
                        "'assert' must be a list of "
                        "assertions");
        for (cJSON *a = set->child; a; a = a->next) {
            assay_status st = rewrite(p, src, a, ok);
            if (st != ASSAY_OK)
                return st;
        }
        if (!rename_key(set, "checks"))
            return oom(p->err);
    }
    assay_status st = assertion_value(p, src, spec, base, ok);
    if (st == ASSAY_OK)
        st = assertion_shape(p, src, spec, base, negate, ok);
    return st;
}

/* The name in "unknown check 'NAME'", without `not-`, into `name`. */
static bool unknown_name(const assay_error *e, char *name, size_t size)
{
    const char *s = strstr(e->message, "unknown check '");
    if (e->status != ASSAY_ERR_CHECK || !s)
        return false;
    s += strlen("unknown check '");
    if (starts_with(s, "not-"))
        s += 4;
    size_t n = strcspn(s, "'");
    snprintf(name, size, "%.*s", (int)n, s);
    return true;
}

/*
 * One assertion, rewritten in place into an assay check and compiled to
 * see that it can run; `*out` (when not NULL) gets the check. Things assay
 * cannot run are issues (*out stays NULL, ASSAY_OK); other mistakes are
 * errors.
 */
static assay_status assertion(pf *p, const pf_src *src, cJSON *spec,
                              assay__check **out)
{
    if (out)
        *out = NULL;
    bool ok = true;
    assay_status st = rewrite(p, src, spec, &ok);
    if (st != ASSAY_OK || !ok)
        return st;
    assay__check *check = NULL;
    assay_error e;
    assay_error_clear(&e);
    st = assay__check_compile(src->doc, spec, &check, &e);
    char name[64];
    if (st != ASSAY_OK && unknown_name(&e, name, sizeof name) &&
        in_list(name, promptfoo_types)) {
        /* The error is at the unknown type, inside a set too. */
        const char *file;
        long line;
        int col;
        place_of(src, NULL, false, &file, &line, &col);
        if (e.line > 0) {
            file = e.file;
            line = e.line;
            col = e.column;
        }
        issue_at(p, file, line, col,
                 "'%s' assertions (assay has no such check)", name);
        return ASSAY_OK;
    }
    if (st != ASSAY_OK) {
        restate(src, &e);
        if (p->err)
            *p->err = e;
        return st;
    }
    if (assay__check_compares(check) && p->s->n_targets < 2) {
        /* promptfoo compares prompts too; assay compares targets */
        issue(p, src, spec, false,
              "'%s' with fewer than two providers (assay compares the "
              "providers' answers, each prompt apart)",
              assay__check_type(check));
        assay__check_free(check);
        return ASSAY_OK;
    }
    if (assay__check_needs_grader(check) && assay__check_embeds(check))
        p->needs_embedder = true;
    else if (assay__check_needs_grader(check) ||
             assay__check_compare_asks(check))
        p->needs_grader = true;
    if (out)
        *out = check;
    else
        assay__check_free(check);
    return ASSAY_OK;
}

/* ------------------------------------------------------------ providers */

static const char *const param_keys[] = {
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "stop",
    "response_format",
    "tools",
    "tool_choice",
    "functions",
    "function_call",
    "logprobs",
    "top_logprobs",
    "n",
    "user",
    "reasoning_effort",
    "logit_bias",
    "best_of",
    "parallel_tool_calls",
    "service_tier",
    "store",
    "metadata",
    "modalities",
    "prediction",
    "verbosity",
    "suffix",
    "echo",
    NULL,
};

/* A parameter given as a file:// reference (tools.json): its document. */
static assay_status param_value(pf *p, const pf_src *src, const cJSON *v,
                                cJSON **out)
{
    const char *ref = file_ref(v);
    *out = NULL;
    if (!ref) {
        *out = cJSON_Duplicate(v, true);
        return *out ? ASSAY_OK : oom(p->err);
    }
    if (code_language(ref) || !is_yaml_or_json(ref)) {
        issue(p, src, v, false, "provider options read from %s files",
              code_language(ref) ? code_language(ref) : "non-JSON");
        return ASSAY_OK;
    }
    char *path = resolve(p, ref);
    if (!path)
        return oom(p->err);
    assay__doc *doc = NULL;
    assay_status st = assay__doc_load(path, &doc, p->err);
    free(path);
    if (st == ASSAY_OK && !(*out = cJSON_Duplicate(assay__doc_root(doc), true)))
        st = oom(p->err);
    assay__doc_free(doc);
    return st;
}

static assay_status add_header(pf *p, assay__target *t, const char *name,
                               const char *value)
{
    char **h = realloc(t->conn.headers, (t->conn.n_headers + 1) * sizeof *h);
    if (!h)
        return oom(p->err);
    t->conn.headers = h;
    assay__buf line;
    assay__buf_init(&line, 0);
    if (assay__buf_printf(&line, "%s: %s", name, value))
        return oom(p->err);
    h[t->conn.n_headers++] = assay__buf_detach(&line, NULL);
    return ASSAY_OK;
}

static assay_status get_text(pf *p, const pf_src *src, const cJSON *v,
                             const char *key, char **out)
{
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return fail(p, src, v, "'%s' must be a non-empty string", key);
    free(*out);
    *out = strdup(v->valuestring);
    return *out ? ASSAY_OK : oom(p->err);
}

/* One key of a provider's `config`. */
static assay_status provider_option(pf *p, const pf_src *src, assay__target *t,
                                    const cJSON *v)
{
    const char *k = v->string;
    if (!strcmp(k, "apiBaseUrl"))
        return get_text(p, src, v, k, &t->base_url);
    if (!strcmp(k, "apiKeyEnvar"))
        return get_text(p, src, v, k, &t->api_key_env);
    if (!strcmp(k, "apiHost")) {
        if (!cJSON_IsString(v) || !v->valuestring[0])
            return fail(p, src, v, "'apiHost' must be a host name");
        assay__buf url;
        assay__buf_init(&url, 0);
        if (assay__buf_printf(&url, "https://%s/v1", v->valuestring))
            return oom(p->err);
        free(t->base_url);
        t->base_url = assay__buf_detach(&url, NULL);
        return t->base_url ? ASSAY_OK : oom(p->err);
    }
    if (!strcmp(k, "headers"))
        return ASSAY_OK; /* read by assay__connection_load */
    if (!strcmp(k, "organization")) {
        if (!cJSON_IsString(v) || strpbrk(v->valuestring, "\r\n"))
            return fail(p, src, v,
                        "'organization' must be a text on one "
                        "line");
        return add_header(p, t, "OpenAI-Organization", v->valuestring);
    }
    if (!strcmp(k, "passthrough")) {
        if (!cJSON_IsObject(v))
            return fail(p, src, v,
                        "'passthrough' must be a mapping of body "
                        "fields");
        cJSON_Delete(t->conn.extra);
        t->conn.extra = cJSON_Duplicate(v, true);
        return t->conn.extra ? ASSAY_OK : oom(p->err);
    }
    if (!strcmp(k, "apiKey")) {
        issue(p, src, v, true,
              "an API key written in the config (put it in an environment "
              "variable and name it with apiKeyEnvar)");
        return ASSAY_OK;
    }
    if (!in_list(k, param_keys)) {
        issue(p, src, v, true, "the provider option '%s'", k);
        return ASSAY_OK;
    }
    cJSON *copy = NULL;
    assay_status st = param_value(p, src, v, &copy);
    if (st == ASSAY_OK && copy && !cJSON_AddItemToObject(t->params, k, copy)) {
        cJSON_Delete(copy);
        st = oom(p->err);
    }
    return st;
}

/* What a provider is for: the models evaluated, the grader of
   model-graded checks, or the embedder of `similar`. */
typedef enum pf_role { ROLE_TARGET, ROLE_GRADER, ROLE_EMBEDDER } pf_role;

static bool is_embedding_id(const char *id)
{
    return starts_with(id, "openai:embedding:") ||
           starts_with(id, "openai:embeddings:");
}

/*
 * The model and endpoint of a provider id; *ok false (after an issue) when
 * it is not an OpenAI model of the kind its role needs.
 */
static bool provider_kind(pf *p, const pf_src *src, const cJSON *at,
                          const char *id, pf_role role, assay__target *t,
                          bool *ok)
{
    *ok = false;
    if (starts_with(id, "file://") || starts_with(id, "python:") ||
        starts_with(id, "exec:") || starts_with(id, "http:") ||
        starts_with(id, "https:") || starts_with(id, "ws:")) {
        const char *lang =
            starts_with(id, "file://") ? code_language(id + 7) : NULL;
        issue(p, src, at, false, "%s providers",
              lang                         ? lang
              : starts_with(id, "python:") ? "Python"
              : starts_with(id, "exec:")   ? "script (exec:)"
              : starts_with(id, "file://") ? "file://"
                                           : "HTTP and WebSocket");
        return true;
    }
    if (!starts_with(id, "openai:")) {
        const char *colon = strchr(id, ':');
        issue(p, src, at, false,
              "'%.*s' providers (assay sends to OpenAI-compatible "
              "endpoints: openai:chat:MODEL, openai:completion:MODEL)",
              (int)(colon ? colon - id : (long)strlen(id)), id);
        return true;
    }
    const char *rest = id + 7;
    static const char *const other[] = {
        "assistant:",  "responses:",     "realtime:", "image:",
        "moderation:", "transcription:", "agents:",   NULL};
    for (const char *const *o = other; *o; o++)
        if (starts_with(rest, *o)) {
            issue(p, src, at, false, "openai:%.*s providers",
                  (int)strlen(*o) - 1, *o);
            return true;
        }
    if (is_embedding_id(id) != (role == ROLE_EMBEDDER)) {
        issue(p, src, at, false, "%s",
              role == ROLE_EMBEDDER
                  ? "a chat model as the embedding provider of 'similar'"
                  : "an embedding model as a provider that answers (it "
                    "gives vectors, not answers)");
        return true;
    }
    if (role == ROLE_EMBEDDER) {
        rest = strchr(rest, ':') + 1;
        t->model = strdup(rest);
        *ok = t->model != NULL;
        return *rest != '\0';
    }
    bool completion = starts_with(rest, "completion:");
    if (completion)
        rest += strlen("completion:");
    else if (starts_with(rest, "chat:"))
        rest += strlen("chat:");
    else
        /* openai:MODEL is a chat model unless it only completes. */
        completion = strstr(rest, "-instruct") ||
                     !strcmp(rest, "davinci-002") ||
                     !strcmp(rest, "babbage-002");
    if (!*rest)
        return false;
    t->conn.endpoint =
        completion ? ASSAY__ENDPOINT_COMPLETIONS : ASSAY__ENDPOINT_CHAT;
    t->model = strdup(rest);
    *ok = t->model != NULL;
    return true;
}

static const char *const provider_keys[] = {"id", "label", "config", NULL};

/* One entry of `providers`: an id, {id, label, config}, or {ID: {...}}. */
static assay_status provider(pf *p, const pf_src *src, const cJSON *node,
                             pf_role role, assay__target *t)
{
    const cJSON *id = node, *options = NULL;
    if (cJSON_IsObject(node) && cJSON_GetObjectItemCaseSensitive(node, "id")) {
        options = node;
        id = cJSON_GetObjectItemCaseSensitive(node, "id");
    } else if (cJSON_IsObject(node) && node->child && !node->child->next) {
        options = node->child; /* the map form: {"openai:chat:m": {...}} */
        id = node->child;
        if (!cJSON_IsObject(options))
            return fail(p, src, options,
                        "a provider's options are a mapping "
                        "such as {label: ..., config: "
                        "{...}}");
    }
    const char *id_text = id == node->child && options == node->child
                              ? id->string
                              : (cJSON_IsString(id) ? id->valuestring : NULL);
    if (!id_text || !*id_text)
        return fail(p, src, node,
                    "a provider is an id such as "
                    "openai:chat:gpt-4o-mini, or {id: ..., "
                    "label: ..., config: {...}}");
    assay__connection_init(&t->conn);
    if (!(t->params = cJSON_CreateObject()))
        return oom(p->err);
    bool ok;
    if (!provider_kind(p, src, id, id_text, role, t, &ok))
        return fail(p, src, id, "'%s' names no model", id_text);
    if (!ok)
        return t->model || p->n_issues ? ASSAY_OK : oom(p->err);
    const cJSON *item;
    cJSON_ArrayForEach (item, options) {
        if (!in_list(item->string, provider_keys))
            issue(p, src, item, true, "the provider key '%s'", item->string);
    }
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(options, "label");
    assay_status st =
        label ? get_text(p, src, label, "label", &t->name) : ASSAY_OK;
    if (st == ASSAY_OK && !t->name && !(t->name = strdup(id_text)))
        st = oom(p->err);
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(options, "config");
    if (st == ASSAY_OK && config && !cJSON_IsObject(config))
        st = fail(p, src, config, "'config' must be a mapping");
    /* `headers` means what a target's does: target.c reads them first. */
    if (st == ASSAY_OK && config &&
        cJSON_GetObjectItemCaseSensitive(config, "headers"))
        st = assay__connection_load(src->doc, config, &t->conn, p->err);
    cJSON_ArrayForEach (item, config) {
        if (st == ASSAY_OK)
            st = provider_option(p, src, t, item);
    }
    if (st == ASSAY_OK && !t->api_key_env &&
        !(t->api_key_env = strdup("OPENAI_API_KEY")))
        st = oom(p->err);
    return st;
}

static assay_status load_providers(pf *p, const pf_src *src, const cJSON *node)
{
    assay_suite *s = p->s;
    if (!node)
        return fail(p, src, assay__doc_root(s->doc),
                    "missing 'providers' (the models to evaluate, as in "
                    "openai:chat:gpt-4o-mini)");
    bool map =
        cJSON_IsObject(node) && !cJSON_GetObjectItemCaseSensitive(node, "id");
    size_t n =
        cJSON_IsArray(node) || map ? (size_t)cJSON_GetArraySize(node) : 1;
    if (n == 0 || (!cJSON_IsArray(node) && !map && !cJSON_IsString(node) &&
                   !cJSON_IsObject(node)))
        return fail(p, src, node,
                    "'providers' must be a provider id or a "
                    "non-empty list of them");
    s->targets = calloc(n, sizeof *s->targets);
    if (!s->targets)
        return oom(p->err);
    const cJSON *one = cJSON_IsArray(node) || map ? node->child : node;
    for (; one; one = cJSON_IsArray(node) || map ? one->next : NULL) {
        assay__target *t = &s->targets[s->n_targets++];
        assay_status st;
        if (map) { /* {"openai:chat:m": {config}}: one entry per member */
            cJSON wrapper;
            memset(&wrapper, 0, sizeof wrapper);
            wrapper.type = cJSON_Object;
            wrapper.child = (cJSON *)one;
            cJSON *next = one->next;
            ((cJSON *)one)->next = NULL;
            st = provider(p, src, &wrapper, ROLE_TARGET, t);
            ((cJSON *)one)->next = next;
        } else {
            st = provider(p, src, one, ROLE_TARGET, t);
        }
        if (st != ASSAY_OK)
            return st;
        for (size_t i = 0; t->name && i + 1 < s->n_targets; i++)
            if (s->targets[i].name && !strcmp(s->targets[i].name, t->name))
                return fail(p, src, one,
                            "two providers are named '%s'; give "
                            "each a distinct 'label'",
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

static assay__prompt *new_prompt(pf *p, const char *name)
{
    assay_suite *s = p->s;
    for (size_t i = 0; i < s->n_prompts; i++)
        if (!strcmp(s->prompts[i].name, name)) {
            assay__error(p->err, ASSAY_ERR_SUITE, s->path, 0, 0,
                         "two prompts are named '%s'; give each a distinct "
                         "'label'",
                         name);
            return NULL;
        }
    assay__prompt *more =
        realloc(s->prompts, (s->n_prompts + 1) * sizeof *more);
    if (!more) {
        oom(p->err);
        return NULL;
    }
    s->prompts = more;
    assay__prompt *pr = &s->prompts[s->n_prompts++];
    memset(pr, 0, sizeof *pr);
    if (!(pr->name = strdup(name))) {
        oom(p->err);
        return NULL;
    }
    return pr;
}

/* Adds a message whose text is promptfoo's template `text` at `at`; it is
   compiled once every test is read (see compile_prompts). */
static assay_status add_message(pf *p, assay__prompt *pr, const char *role,
                                const char *text, const pf_text_at *at)
{
    assay__buf out;
    assay__buf_init(&out, PF_MAX_FILE);
    bool ok;
    assay_status st = translate(p, text, at, &out, &ok);
    if (st != ASSAY_OK || !ok) {
        assay__buf_release(&out);
        return st;
    }
    assay__message *m = realloc(pr->messages, (pr->n_messages + 1) * sizeof *m);
    pf_pending *q = realloc(p->pending, (p->n_pending + 1) * sizeof *q);
    if (m)
        pr->messages = m;
    if (q)
        p->pending = q;
    if (!m || !q) {
        assay__buf_release(&out);
        return oom(p->err);
    }
    m = &pr->messages[pr->n_messages];
    memset(m, 0, sizeof *m);
    q = &p->pending[p->n_pending];
    q->prompt = (size_t)(pr - p->s->prompts);
    q->message = pr->n_messages;
    snprintf(q->where, sizeof q->where, "%s:%ld:%d", at->file, at->line,
             at->col);
    q->text = assay__buf_detach(&out, NULL);
    if (!q->text)
        return oom(p->err);
    p->n_pending++;
    pr->n_messages++;
    return (m->role = strdup(role)) ? ASSAY_OK : oom(p->err);
}

/* A message list in a document: [{role, content}, ...]. */
static assay_status messages_from(pf *p, assay__prompt *pr, const pf_src *src,
                                  const cJSON *list)
{
    const cJSON *m;
    cJSON_ArrayForEach (m, list) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsString(role) || !is_role(role->valuestring) || !content)
            return fail(p, src, m,
                        "a chat message is {role: system|user|"
                        "assistant, content: text}");
        if (!cJSON_IsString(content)) {
            issue(p, src, content, false,
                  "message content that is not text (images, parts)");
            continue;
        }
        const cJSON *item;
        cJSON_ArrayForEach (item, m) {
            if (strcmp(item->string, "role") && strcmp(item->string, "content"))
                issue(p, src, item, true, "the chat message key '%s'",
                      item->string);
        }
        pf_text_at at = {src->file, src->line, 0, false};
        place_of(src, content, false, &at.file, &at.line, &at.col);
        assay_status st =
            add_message(p, pr, role->valuestring, content->valuestring, &at);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* Whether a text is a JSON chat prompt ([{"role": ..., ...}, ...]). */
static cJSON *as_chat(const char *text)
{
    const char *t = text + strspn(text, " \t\r\n");
    if (*t != '[')
        return NULL;
    cJSON *json = cJSON_Parse(t);
    bool chat = cJSON_IsArray(json) && cJSON_GetArraySize(json) > 0;
    const cJSON *m;
    cJSON_ArrayForEach (m, json) {
        if (!cJSON_IsObject(m) || !cJSON_GetObjectItemCaseSensitive(m, "role"))
            chat = false;
    }
    if (!chat) {
        cJSON_Delete(json);
        return NULL;
    }
    return json;
}

/* One prompt's text: a JSON chat prompt, else one user message. */
static assay_status prompt_text(pf *p, const char *name, const char *text,
                                const pf_text_at *at)
{
    assay__prompt *pr = new_prompt(p, name);
    if (!pr)
        return p->err ? p->err->status : ASSAY_ERR_SUITE;
    cJSON *chat = as_chat(text);
    if (!chat)
        return add_message(p, pr, "user", text, at);
    /* The messages' positions are not known inside the text: the
       prompt's own place stands for them. */
    pf_src src = {NULL, at->file, at->line, false};
    assay_status st = messages_from(p, pr, &src, chat);
    cJSON_Delete(chat);
    return st;
}

/* A .txt (or other text) file: prompts separated by lines of `---`. */
static assay_status prompt_text_file(pf *p, const pf_src *src,
                                     const cJSON *node, const char *name)
{
    assay__buf text;
    assay__buf_init(&text, PF_MAX_FILE);
    char *path = resolve(p, file_ref(node));
    assay_status st = path ? read_ref(p, src, node, &text) : oom(p->err);
    size_t parts = 0;
    for (const char *s = text.data; st == ASSAY_OK && s;) {
        const char *sep = strstr(s, "\n---\n");
        const char *end = sep ? sep : s + strlen(s);
        char part_name[700];
        if (sep || parts)
            snprintf(part_name, sizeof part_name, "%s:%zu", name, parts + 1);
        else
            snprintf(part_name, sizeof part_name, "%s", name);
        long line = 1;
        for (const char *c = text.data; c < s; c++)
            line += *c == '\n';
        pf_text_at at = {path, line, 1, true};
        char *part = strndup(s, (size_t)(end - s));
        st = part ? prompt_text(p, part_name, part, &at) : oom(p->err);
        free(part);
        parts++;
        s = sep ? sep + 5 : NULL;
    }
    free(path);
    assay__buf_release(&text);
    return st;
}

/* A .json or .yaml file: a message list, or a text. */
static assay_status prompt_doc_file(pf *p, const cJSON *node, const char *name)
{
    char *path = resolve(p, file_ref(node));
    if (!path)
        return oom(p->err);
    assay__doc *doc = NULL;
    assay_status st = assay__doc_load(path, &doc, p->err);
    free(path);
    if (st != ASSAY_OK)
        return st;
    pf_src src = {doc, assay__doc_name(doc), 0, false};
    const cJSON *root = assay__doc_root(doc);
    if (cJSON_IsString(root)) {
        pf_text_at at = {assay__doc_name(doc), 1, 1, false};
        place_of(&src, root, false, &at.file, &at.line, &at.col);
        st = prompt_text(p, name, root->valuestring, &at);
    } else if (cJSON_IsArray(root) && cJSON_GetArraySize(root) > 0) {
        assay__prompt *pr = new_prompt(p, name);
        st = pr ? messages_from(p, pr, &src, root)
                : (p->err ? p->err->status : ASSAY_ERR_SUITE);
    } else {
        st = fail(p, &src, root,
                  "a prompt file holds a text or a list of "
                  "{role, content} messages");
    }
    assay__doc_free(doc);
    return st;
}

/* One entry of `prompts` (a text, a file, {raw|id, label}), at `index`. */
static assay_status prompt_entry(pf *p, const pf_src *src, const cJSON *node,
                                 const char *label, size_t index)
{
    const cJSON *body = node;
    if (cJSON_IsObject(node)) {
        const cJSON *item;
        cJSON_ArrayForEach (item, node) {
            if (strcmp(item->string, "id") && strcmp(item->string, "raw") &&
                strcmp(item->string, "label"))
                issue(p, src, item, true, "the prompt key '%s'", item->string);
        }
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(node, "label");
        if (cJSON_IsString(l))
            label = l->valuestring;
        body = cJSON_GetObjectItemCaseSensitive(node, "raw");
        if (!body)
            body = cJSON_GetObjectItemCaseSensitive(node, "id");
    }
    char fallback[32];
    snprintf(fallback, sizeof fallback, "prompt-%zu", index + 1);
    if (cJSON_IsArray(body)) { /* a message list written in the config */
        assay__prompt *pr = new_prompt(p, label ? label : fallback);
        return pr ? messages_from(p, pr, src, body)
                  : (p->err ? p->err->status : ASSAY_ERR_SUITE);
    }
    if (!cJSON_IsString(body))
        return fail(p, src, node,
                    "a prompt is a text, a file:// reference, "
                    "or {raw: ..., label: ...}");
    const char *ref = file_ref(body);
    if (ref && (code_language(ref) || is_glob(ref))) {
        issue(p, src, body, false, "%s prompts",
              code_language(ref) ? code_language(ref) : "glob patterns of");
        return ASSAY_OK;
    }
    if (ref && is_yaml_or_json(ref))
        return prompt_doc_file(p, body, label ? label : ref);
    if (ref)
        return prompt_text_file(p, src, body, label ? label : ref);
    pf_text_at at = {src->file, 0, 0, false};
    place_of(src, body, false, &at.file, &at.line, &at.col);
    return prompt_text(p, label ? label : fallback, body->valuestring, &at);
}

static assay_status load_prompts(pf *p, const pf_src *src, const cJSON *node)
{
    if (!node)
        return fail(p, src, assay__doc_root(p->s->doc),
                    "missing 'prompts' (what to send, with {{variables}})");
    assay_status st = ASSAY_OK;
    if (cJSON_IsString(node))
        return prompt_entry(p, src, node, NULL, 0);
    if (cJSON_IsObject(node) &&
        !cJSON_GetObjectItemCaseSensitive(node, "raw") &&
        !cJSON_GetObjectItemCaseSensitive(node, "id")) {
        /* {"file://a.txt": "label a", ...} */
        size_t i = 0;
        const cJSON *item;
        cJSON_ArrayForEach (item, node) {
            if (!cJSON_IsString(item))
                return fail(p, src, item,
                            "in the map form of 'prompts', "
                            "each value is the prompt's label");
            cJSON key;
            memset(&key, 0, sizeof key);
            key.type = cJSON_String | cJSON_IsReference;
            key.valuestring = item->string;
            if ((st = prompt_entry(p, src, &key, item->valuestring, i++)))
                return st;
        }
        return ASSAY_OK;
    }
    if (!cJSON_IsArray(node) || !cJSON_GetArraySize(node))
        return fail(p, src, node,
                    "'prompts' must be a prompt or a non-empty "
                    "list of them");
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach (item, node) {
        if ((st = prompt_entry(p, src, item, NULL, i++)) != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/*
 * Compiles every prompt message. With `options.prefix` or `suffix` in some
 * test, the first message starts and the last ends with a field of the
 * case that stands for them and defaults to nothing.
 */
static assay_status compile_prompts(pf *p)
{
    for (size_t i = 0; i < p->n_pending; i++) {
        pf_pending *q = &p->pending[i];
        assay__prompt *pr = &p->s->prompts[q->prompt];
        bool first = q->message == 0;
        bool last = q->message + 1 == pr->n_messages;
        assay__buf text;
        assay__buf_init(&text, 0);
        if ((p->affixes && first &&
             assay__buf_puts(&text, "{{ __prefix | default(\"\") }}")) ||
            assay__buf_puts(&text, q->text) ||
            (p->affixes && last &&
             assay__buf_puts(&text, "{{ __suffix | default(\"\") }}"))) {
            assay__buf_release(&text);
            return oom(p->err);
        }
        assay_status st = assay__template_compile(
            text.data, q->where, &pr->messages[q->message].content, p->err);
        assay__buf_release(&text);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ tests */

static const char *const test_keys[] = {
    "description", "vars", "assert", "threshold", "options", "metadata", NULL,
};
static const char *const option_keys[] = {"prefix", "suffix", NULL};

/* The case threshold: one for every test, since a suite has one. */
static void note_threshold(pf *p, const pf_src *src, const cJSON *at, double t)
{
    if (!p->have_threshold) {
        p->have_threshold = true;
        p->threshold = t;
        return;
    }
    bool same = (isnan(t) && isnan(p->threshold)) || t == p->threshold;
    if (!same && !p->threshold_differs) {
        p->threshold_differs = true;
        issue(p, src, at, false,
              "tests with different thresholds (assay has one case "
              "threshold per suite)");
    }
}

/* `options`: prefix and suffix become fields of the case; defaultTest's
   `provider` is the grader (read by load_grader). */
static assay_status test_options(pf *p, const pf_src *src, const cJSON *options,
                                 cJSON *vars, bool is_default)
{
    if (!options)
        return ASSAY_OK;
    if (!cJSON_IsObject(options))
        return fail(p, src, options, "'options' must be a mapping");
    const cJSON *item;
    cJSON_ArrayForEach (item, options) {
        if (is_default && !strcmp(item->string, "provider"))
            continue;
        if (!strcmp(item->string, "provider")) {
            issue(p, src, item, true, "a grading provider per test");
            continue;
        }
        if (!in_list(item->string, option_keys)) {
            issue(p, src, item, true, "the test option '%s'", item->string);
            continue;
        }
        if (!cJSON_IsString(item))
            return fail(p, src, item, "'%s' must be a text", item->string);
        const char *name =
            !strcmp(item->string, "prefix") ? "__prefix" : "__suffix";
        cJSON_DeleteItemFromObjectCaseSensitive(vars, name);
        if (!cJSON_AddStringToObject(vars, name, item->valuestring))
            return oom(p->err);
        p->affixes = true;
    }
    return ASSAY_OK;
}

/* A var's value given as file://: the file's text. */
static assay_status var_value(pf *p, const pf_src *src, const cJSON *v,
                              cJSON **out)
{
    const char *ref = file_ref(v);
    *out = NULL;
    if (!ref) {
        *out = cJSON_Duplicate(v, true);
        return *out ? ASSAY_OK : oom(p->err);
    }
    static const char *const binary[] = {
        ".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".mp3", ".wav", NULL};
    for (const char *const *b = binary; *b; b++)
        if (ends_with(ref, *b)) {
            issue(p, src, v, false, "images, audio and PDF files as vars");
            return ASSAY_OK;
        }
    if (code_language(ref) || is_glob(ref)) {
        issue(p, src, v, false, "vars computed by %s files",
              code_language(ref) ? code_language(ref) : "glob patterns of");
        return ASSAY_OK;
    }
    assay__buf text;
    assay__buf_init(&text, PF_MAX_FILE);
    assay_status st = read_ref(p, src, v, &text);
    if (st == ASSAY_OK && !(*out = cJSON_CreateString(text.data)))
        st = oom(p->err);
    assay__buf_release(&text);
    return st;
}

/* defaultTest's vars, then the test's own over them. */
static assay_status merge_vars(pf *p, const pf_src *src, const cJSON *vars,
                               cJSON *into)
{
    if (!vars)
        return ASSAY_OK;
    if (!cJSON_IsObject(vars))
        return fail(p, src, vars,
                    "'vars' must be a mapping of names to "
                    "values");
    const cJSON *v;
    cJSON_ArrayForEach (v, vars) {
        cJSON *copy = NULL;
        assay_status st = var_value(p, src, v, &copy);
        if (st != ASSAY_OK)
            return st;
        if (!copy)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(into, v->string);
        if (!cJSON_AddItemToObject(into, v->string, copy)) {
            cJSON_Delete(copy);
            return oom(p->err);
        }
    }
    return ASSAY_OK;
}

/* Adds one case: the vars, and the checks when there are any. */
static assay_status add_case(pf *p, cJSON *vars, cJSON *checks)
{
    if (p->n_cases >= PF_MAX_CASES) {
        cJSON_Delete(vars);
        cJSON_Delete(checks);
        return assay__error(p->err, ASSAY_ERR_LIMIT, p->s->path, 0, 0,
                            "more than %ld tests", PF_MAX_CASES);
    }
    if (checks && !cJSON_AddItemToObject(vars, "checks", checks)) {
        cJSON_Delete(checks);
        cJSON_Delete(vars);
        return oom(p->err);
    }
    if (!cJSON_AddItemToArray(p->cases, vars)) {
        cJSON_Delete(vars);
        return oom(p->err);
    }
    p->n_cases++;
    return ASSAY_OK;
}

/*
 * One case per combination of the values of array vars (promptfoo's
 * expansion), from var `from` on. Every case gets a copy of the checks;
 * the last gets `checks` itself (so a config's own nodes, and their
 * positions, stay in use).
 */
static assay_status expand(pf *p, cJSON *done, const cJSON *from, cJSON *checks,
                           bool last)
{
    for (; from && !cJSON_IsArray(from); from = from->next) {
        cJSON *copy = cJSON_Duplicate(from, true);
        if (!copy || !cJSON_AddItemToObject(done, from->string, copy)) {
            cJSON_Delete(copy);
            return oom(p->err);
        }
    }
    if (!from) {
        cJSON *vars_copy = cJSON_Duplicate(done, true);
        cJSON *checks_copy =
            checks && !last ? cJSON_Duplicate(checks, true) : checks;
        if (!vars_copy || (checks && !checks_copy)) {
            cJSON_Delete(vars_copy);
            if (checks_copy != checks)
                cJSON_Delete(checks_copy);
            return oom(p->err);
        }
        return add_case(p, vars_copy, checks_copy);
    }
    const cJSON *v;
    int n = cJSON_GetArraySize(from), i = 0;
    cJSON_ArrayForEach (v, from) {
        cJSON *sub = cJSON_Duplicate(done, true);
        cJSON *copy = cJSON_Duplicate(v, true);
        if (!sub || !copy || !cJSON_AddItemToObject(sub, from->string, copy)) {
            cJSON_Delete(sub);
            cJSON_Delete(copy);
            return oom(p->err);
        }
        assay_status st = expand(p, sub, from->next, checks, last && ++i == n);
        cJSON_Delete(sub);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* A test's assertions as a case's checks: moved out of the suite's own
   tree (keeping their positions), copied out of any other. */
static assay_status test_checks(pf *p, const pf_src *src, cJSON *list,
                                cJSON **out)
{
    *out = NULL;
    if (!list)
        return ASSAY_OK;
    if (!cJSON_IsArray(list))
        return fail(p, src, list, "'assert' must be a list of assertions");
    long before = p->n_issues;
    for (cJSON *a = list->child; a; a = a->next) {
        assay_status st = assertion(p, src, a, NULL);
        if (st != ASSAY_OK)
            return st;
    }
    if (p->n_issues != before || !list->child)
        return ASSAY_OK; /* the load fails anyway */
    if (!(*out = cJSON_CreateArray()))
        return oom(p->err);
    for (cJSON *a = list->child, *next; a; a = next) {
        next = a->next;
        cJSON *moved = src->own_tree ? cJSON_DetachItemViaPointer(list, a)
                                     : cJSON_Duplicate(a, true);
        if (!moved || !cJSON_AddItemToArray(*out, moved)) {
            cJSON_Delete(moved);
            return oom(p->err);
        }
    }
    return ASSAY_OK;
}

/* One promptfoo test (a mapping) into one or more cases. */
static assay_status test(pf *p, const pf_src *src, cJSON *node)
{
    if (!cJSON_IsObject(node))
        return fail(p, src, node,
                    "a test is a mapping such as {vars: {...}, "
                    "assert: [...]}");
    const cJSON *item;
    cJSON_ArrayForEach (item, node) {
        if (!in_list(item->string, test_keys))
            issue(p, src, item, true, "the test key '%s'", item->string);
    }
    cJSON *vars = cJSON_CreateObject();
    if (!vars)
        return oom(p->err);
    pf_src dsrc = {p->default_doc, assay__doc_name(p->default_doc), 0, false};
    assay_status st = merge_vars(
        p, &dsrc, cJSON_GetObjectItemCaseSensitive(p->default_test, "vars"),
        vars);
    if (st == ASSAY_OK)
        st = test_options(
            p, &dsrc,
            cJSON_GetObjectItemCaseSensitive(p->default_test, "options"), vars,
            true);
    if (st == ASSAY_OK)
        st = merge_vars(p, src, cJSON_GetObjectItemCaseSensitive(node, "vars"),
                        vars);
    if (st == ASSAY_OK)
        st = test_options(p, src,
                          cJSON_GetObjectItemCaseSensitive(node, "options"),
                          vars, false);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(node, "threshold");
    if (st == ASSAY_OK && t &&
        !(cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble <= 1))
        st = fail(p, src, t, "'threshold' must be a number from 0 to 1");
    if (st == ASSAY_OK && !t)
        t = cJSON_GetObjectItemCaseSensitive(p->default_test, "threshold");
    if (st == ASSAY_OK)
        note_threshold(p, src, node, t ? t->valuedouble : NAN);
    /* Two fields of a case are assay's own. */
    if (st == ASSAY_OK && cJSON_GetObjectItemCaseSensitive(vars, "checks"))
        st = fail(p, src, node,
                  "a var named 'checks' is where assay keeps "
                  "a case's own checks: rename it");
    if (st == ASSAY_OK && cJSON_GetObjectItemCaseSensitive(vars, "params"))
        st = fail(p, src, node,
                  "a var named 'params' is where assay keeps "
                  "a case's own request parameters: rename "
                  "it");
    cJSON *checks = NULL;
    if (st == ASSAY_OK)
        st = test_checks(
            p, src, cJSON_GetObjectItemCaseSensitive(node, "assert"), &checks);
    cJSON *done = st == ASSAY_OK ? cJSON_CreateObject() : NULL;
    if (st == ASSAY_OK && !done)
        st = oom(p->err);
    long before = p->n_cases;
    if (st == ASSAY_OK)
        st = expand(p, done, vars->child, checks, true);
    else
        cJSON_Delete(checks);
    /* An empty list var makes no case, and its checks go unused. */
    if (st == ASSAY_OK && p->n_cases == before && checks) {
        if (src->own_tree)
            bury(p, checks);
        else
            cJSON_Delete(checks);
    }
    cJSON_Delete(done);
    cJSON_Delete(vars);
    return st;
}

/* A tests file of YAML or JSON: a list of tests (or one). */
static assay_status tests_doc(pf *p, const char *path)
{
    assay__doc *doc = NULL;
    assay_status st = assay__doc_load(path, &doc, p->err);
    if (st != ASSAY_OK)
        return st;
    pf_src src = {doc, assay__doc_name(doc), 0, false};
    cJSON *root = assay__doc_root(doc);
    if (cJSON_IsArray(root)) {
        for (cJSON *t = root->child; t && st == ASSAY_OK; t = t->next)
            st = test(p, &src, t);
    } else {
        st = test(p, &src, root);
    }
    assay__doc_free(doc);
    return st;
}

/* A document that only names a file, for checks compiled from records. */
static assay_status name_doc(pf *p, const char *path, assay__doc **out)
{
    return assay__doc_parse(path, "null", 4, out, p->err);
}

/* A tests file of JSON Lines: one test object per line. */
static assay_status tests_jsonl(pf *p, const pf_src *at, const cJSON *node,
                                const char *path)
{
    assay__buf text;
    assay__buf_init(&text, PF_MAX_FILE);
    assay__doc *doc = NULL;
    assay_status st = read_text(p, at, node, path, &text);
    if (st == ASSAY_OK)
        st = name_doc(p, path, &doc);
    long line = 0;
    for (char *s = text.data; st == ASSAY_OK && *s;) {
        char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        line++;
        if (strspn(s, " \t\r") < n) {
            const char *stop = NULL;
            cJSON *t = cJSON_ParseWithLengthOpts(s, n, &stop, 0);
            pf_src src = {doc, path, line, false};
            if (!t)
                st = assay__error(p->err, ASSAY_ERR_SUITE, path, (int)line,
                                  stop ? (int)(stop - s) + 1 : 0,
                                  "not valid JSON");
            else
                st = test(p, &src, t);
            cJSON_Delete(t);
        }
        s = nl ? nl + 1 : s + n;
    }
    assay__doc_free(doc);
    assay__buf_release(&text);
    return st;
}

/* ---- CSV: promptfoo's columns */

typedef enum column_kind {
    COL_VAR,
    COL_EXPECTED,
    COL_DESCRIPTION,
    COL_THRESHOLD,
    COL_METRIC,
    COL_PREFIX,
    COL_SUFFIX,
    COL_METADATA,
    COL_CONFIG, /* __config:__expectedN:threshold */
    COL_UNSUPPORTED
} column_kind;

static column_kind column_of(const char *name)
{
    if (strncmp(name, "__", 2))
        return COL_VAR;
    if (starts_with(name, "__expected") &&
        strspn(name + 10, "0123456789") == strlen(name + 10))
        return COL_EXPECTED;
    static const struct {
        const char *name;
        column_kind kind;
    } named[] = {
        {"__description", COL_DESCRIPTION}, {"__threshold", COL_THRESHOLD},
        {"__metric", COL_METRIC},           {"__prefix", COL_PREFIX},
        {"__suffix", COL_SUFFIX},
    };
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (!strcmp(name, named[i].name))
            return named[i].kind;
    if (starts_with(name, "__metadata:"))
        return COL_METADATA;
    if (starts_with(name, "__config:") && ends_with(name, ":threshold"))
        return COL_CONFIG;
    if (starts_with(name, "__config:") || !strcmp(name, "__providerOutput"))
        return COL_UNSUPPORTED;
    return COL_VAR; /* other `__` columns stay fields, as in assay's CSV */
}

typedef struct csv_state {
    char **header;
    column_kind *kinds;
    size_t n;
} csv_state;

/* A number cell (a threshold); empty cells are no threshold. */
static assay_status csv_number(pf *p, const pf_src *src, const char *column,
                               const char *cell, double *out)
{
    char *end;
    *out = strtod(cell, &end);
    if (end == cell || *end || !(*out >= 0) || *out > 1e9)
        return fail(p, src, NULL, "column '%s': '%s' is not a threshold",
                    column, cell);
    return ASSAY_OK;
}

/* The assertion the column `__expectedN` made, for its __config column. */
static cJSON *assertion_of(cJSON *asserts, const char *const *columns, size_t n,
                           const char *column)
{
    for (size_t i = 0; i < n; i++)
        if (columns[i] && !strcmp(columns[i], column))
            return cJSON_GetArrayItem(asserts, (int)i);
    return NULL;
}

/* One CSV record into a promptfoo test object, then into cases. */
static assay_status csv_row(pf *p, const pf_src *src, const csv_state *h,
                            const assay__csv *csv)
{
    cJSON *t = cJSON_CreateObject();
    cJSON *vars = cJSON_AddObjectToObject(t, "vars");
    cJSON *asserts = cJSON_AddArrayToObject(t, "assert");
    cJSON *options = cJSON_AddObjectToObject(t, "options");
    const char **made = calloc(h->n ? h->n : 1, sizeof *made);
    assay_status st =
        t && vars && asserts && options && made ? ASSAY_OK : oom(p->err);
    const char *metric = NULL;
    for (size_t i = 0; st == ASSAY_OK && i < h->n; i++) {
        const char *cell = assay__csv_field(csv, i, NULL);
        switch (h->kinds[i]) {
        case COL_VAR:
            if (!cJSON_AddStringToObject(vars, h->header[i], cell))
                st = oom(p->err);
            break;
        case COL_EXPECTED:
            if (*cell) {
                cJSON *spec = assay__dataset_assertion_spec(cell);
                if (!spec)
                    st = oom(p->err);
                else {
                    made[cJSON_GetArraySize(asserts)] = h->header[i];
                    cJSON_AddItemToArray(asserts, spec);
                }
            }
            break;
        case COL_THRESHOLD:
            if (*cell) {
                double v;
                st = csv_number(p, src, h->header[i], cell, &v);
                if (st == ASSAY_OK &&
                    !cJSON_AddNumberToObject(t, "threshold", v))
                    st = oom(p->err);
            }
            break;
        case COL_METRIC:
            metric = *cell ? cell : NULL;
            break;
        case COL_PREFIX:
        case COL_SUFFIX:
            if (*cell &&
                !cJSON_AddStringToObject(
                    options, h->kinds[i] == COL_PREFIX ? "prefix" : "suffix",
                    cell))
                st = oom(p->err);
            break;
        case COL_UNSUPPORTED:
            if (*cell)
                issue(p, src, NULL, false, "the CSV column '%s'", h->header[i]);
            break;
        default: /* description, metadata: not used by a run */
            break;
        }
    }
    for (size_t i = 0; st == ASSAY_OK && i < h->n; i++) {
        const char *cell = assay__csv_field(csv, i, NULL);
        if (h->kinds[i] != COL_CONFIG || !*cell)
            continue;
        char column[256];
        const char *name = h->header[i] + strlen("__config:");
        snprintf(column, sizeof column, "%.*s",
                 (int)(strlen(name) - strlen(":threshold")), name);
        cJSON *spec = assertion_of(asserts, made, h->n, column);
        double v;
        st = csv_number(p, src, h->header[i], cell, &v);
        if (st == ASSAY_OK && spec) {
            cJSON_DeleteItemFromObjectCaseSensitive(spec, "threshold");
            if (!cJSON_AddNumberToObject(spec, "threshold", v))
                st = oom(p->err);
        }
    }
    cJSON *a;
    cJSON_ArrayForEach (a, asserts) {
        if (st == ASSAY_OK && metric &&
            !cJSON_GetObjectItemCaseSensitive(a, "metric") &&
            !cJSON_AddStringToObject(a, "metric", metric))
            st = oom(p->err);
    }
    if (st == ASSAY_OK && !options->child)
        cJSON_DeleteItemFromObjectCaseSensitive(t, "options");
    if (st == ASSAY_OK && !asserts->child)
        cJSON_DeleteItemFromObjectCaseSensitive(t, "assert");
    if (st == ASSAY_OK)
        st = test(p, src, t);
    free(made);
    cJSON_Delete(t);
    return st;
}

static assay_status csv_header(pf *p, const pf_src *src, const assay__csv *csv,
                               csv_state *h)
{
    h->n = assay__csv_field_count(csv);
    h->header = calloc(h->n, sizeof *h->header);
    h->kinds = calloc(h->n, sizeof *h->kinds);
    if (!h->header || !h->kinds)
        return oom(p->err);
    for (size_t i = 0; i < h->n; i++) {
        const char *name = assay__csv_field(csv, i, NULL);
        if (!*name)
            return fail(p, src, NULL, "column %zu of the header has no name",
                        i + 1);
        if (!(h->header[i] = strdup(name)))
            return oom(p->err);
        h->kinds[i] = column_of(name);
    }
    return ASSAY_OK;
}

static assay_status tests_csv(pf *p, const pf_src *at, const cJSON *node,
                              const char *path)
{
    assay__buf text;
    assay__buf_init(&text, PF_MAX_FILE);
    assay__csv *csv = NULL;
    assay__doc *doc = NULL;
    csv_state h = {0};
    assay_status st = read_text(p, at, node, path, &text);
    if (st == ASSAY_OK)
        st = name_doc(p, path, &doc);
    if (st == ASSAY_OK)
        st = assay__csv_new(path, &csv, p->err);
    if (st == ASSAY_OK)
        st = assay__csv_feed(csv, text.data, text.len, p->err);
    if (st == ASSAY_OK)
        assay__csv_finish(csv);
    bool header = true;
    while (st == ASSAY_OK) {
        assay__csv_result res;
        st = assay__csv_next(csv, &res, p->err);
        if (st != ASSAY_OK || res != ASSAY__CSV_RECORD)
            break;
        pf_src src = {doc, path, assay__csv_line(csv), false};
        if (header) {
            st = csv_header(p, &src, csv, &h);
            header = false;
        } else if (assay__csv_field_count(csv) != h.n) {
            st = fail(p, &src, NULL,
                      "the record has %zu fields, the header "
                      "%zu",
                      assay__csv_field_count(csv), h.n);
        } else {
            st = csv_row(p, &src, &h, csv);
        }
    }
    if (st == ASSAY_OK && header)
        st = assay__error(p->err, ASSAY_ERR_SUITE, path, 1, 0,
                          "the file is empty: a CSV of tests starts with a "
                          "header row");
    for (size_t i = 0; h.header && i < h.n; i++)
        free(h.header[i]);
    free(h.header);
    free(h.kinds);
    assay__csv_free(csv);
    assay__doc_free(doc);
    assay__buf_release(&text);
    return st;
}

/* A `tests` entry that names a file. */
static assay_status tests_file(pf *p, const pf_src *src, const cJSON *node)
{
    const char *ref = file_ref(node);
    if (code_language(ref) || is_glob(ref)) {
        issue(p, src, node, false, "tests from %s files",
              code_language(ref) ? code_language(ref) : "glob patterns of");
        return ASSAY_OK;
    }
    char *path = resolve(p, ref);
    if (!path)
        return oom(p->err);
    assay_status st;
    if (ends_with(ref, ".csv"))
        st = tests_csv(p, src, node, path);
    else if (ends_with(ref, ".jsonl"))
        st = tests_jsonl(p, src, node, path);
    else if (is_yaml_or_json(ref))
        st = tests_doc(p, path);
    else {
        issue(p, src, node, false,
              "tests from files other than CSV, JSON "
              "Lines, JSON and YAML");
        st = ASSAY_OK;
    }
    free(path);
    return st;
}

static assay_status load_tests(pf *p, const pf_src *src, cJSON *node)
{
    if (!node) { /* the prompts once, with defaultTest's vars */
        cJSON empty;
        memset(&empty, 0, sizeof empty);
        empty.type = cJSON_Object;
        return test(p, src, &empty);
    }
    if (cJSON_IsString(node) && !file_ref(node)) {
        issue(p, src, node, false, "tests from '%.*s' sources",
              (int)strcspn(node->valuestring, ":"), node->valuestring);
        return ASSAY_OK;
    }
    if (cJSON_IsString(node))
        return tests_file(p, src, node);
    if (!cJSON_IsArray(node))
        return fail(p, src, node,
                    "'tests' must be a list of tests or a "
                    "file:// reference");
    for (cJSON *t = node->child; t; t = t->next) {
        assay_status st =
            cJSON_IsString(t) ? load_tests(p, src, t) : test(p, src, t);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ defaultTest */

static const char *const default_keys[] = {
    "vars", "assert", "threshold", "options", "metadata", "description", NULL,
};

/* defaultTest's assertions become the suite's checks, run first. */
static assay_status default_checks(pf *p, const pf_src *src)
{
    cJSON *list =
        cJSON_GetObjectItemCaseSensitive((cJSON *)p->default_test, "assert");
    if (!list)
        return ASSAY_OK;
    if (!cJSON_IsArray(list))
        return fail(p, src, list, "'assert' must be a list of assertions");
    size_t n = (size_t)cJSON_GetArraySize(list);
    p->s->checks = calloc(n ? n : 1, sizeof *p->s->checks);
    if (!p->s->checks)
        return oom(p->err);
    for (cJSON *a = list->child; a; a = a->next) {
        assay__check *c = NULL;
        assay_status st = assertion(p, src, a, &c);
        if (st != ASSAY_OK)
            return st;
        if (c)
            p->s->checks[p->s->n_checks++] = c;
    }
    return ASSAY_OK;
}

static assay_status load_default(pf *p, const pf_src *src, const cJSON *node)
{
    p->default_doc = src->doc;
    if (!node)
        return ASSAY_OK;
    pf_src dsrc = *src;
    if (file_ref(node)) {
        const char *ref = file_ref(node);
        if (!is_yaml_or_json(ref)) {
            issue(p, src, node, false,
                  "defaultTest from files other than "
                  "JSON and YAML");
            return ASSAY_OK;
        }
        char *path = resolve(p, ref);
        if (!path)
            return oom(p->err);
        assay_status st = assay__doc_load(path, &p->default_file, p->err);
        free(path);
        if (st != ASSAY_OK)
            return st;
        node = assay__doc_root(p->default_file);
        dsrc = (pf_src){p->default_file, assay__doc_name(p->default_file), 0,
                        false};
        p->default_doc = p->default_file;
    }
    if (!cJSON_IsObject(node))
        return fail(p, &dsrc, node,
                    "'defaultTest' is a mapping such as "
                    "{vars: {...}, assert: [...]}");
    p->default_test = node;
    const cJSON *item;
    cJSON_ArrayForEach (item, node) {
        if (!in_list(item->string, default_keys))
            issue(p, &dsrc, item, true, "the defaultTest key '%s'",
                  item->string);
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(node, "threshold");
    if (t && !(cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble <= 1))
        return fail(p, &dsrc, t, "'threshold' must be a number from 0 to 1");
    return default_checks(p, &dsrc);
}

/* ------------------------------------------------------------ grader */

/* promptfoo's models when the config names none. */
#define PF_DEFAULT_GRADER "openai:chat:gpt-4o"
#define PF_DEFAULT_EMBEDDER "openai:embedding:text-embedding-3-large"

/* The id of a provider node (a text, or {id: ...}); NULL if none. */
static const char *provider_id(const cJSON *node)
{
    if (cJSON_IsObject(node))
        node = cJSON_GetObjectItemCaseSensitive(node, "id");
    return cJSON_IsString(node) ? node->valuestring : NULL;
}

/* Makes s->grader or s->embedder from `node`, else from `fallback`. */
static assay_status helper_model(pf *p, const pf_src *src, const cJSON *node,
                                 const char *fallback, pf_role role,
                                 assay__target **out)
{
    cJSON text;
    memset(&text, 0, sizeof text);
    text.type = cJSON_String | cJSON_IsReference;
    text.valuestring = (char *)fallback;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return oom(p->err);
    return provider(p, src, node ? node : &text, role, *out);
}

/*
 * The models model-graded checks need, from defaultTest's
 * options.provider: an id or {id, config} (an embedding model's for
 * `similar`, any other's for the grader), or {text: ..., embedding: ...};
 * else promptfoo's defaults. Each is made only when some check needs it.
 */
static assay_status load_helpers(pf *p)
{
    const cJSON *options =
        cJSON_GetObjectItemCaseSensitive(p->default_test, "options");
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(options, "provider");
    pf_src src = {p->default_doc, assay__doc_name(p->default_doc), 0, false};
    const cJSON *grader = NULL, *embedder = NULL;
    if (cJSON_IsObject(node) && !cJSON_GetObjectItemCaseSensitive(node, "id")) {
        const cJSON *item;
        cJSON_ArrayForEach (item, node) {
            if (strcmp(item->string, "text") &&
                strcmp(item->string, "embedding"))
                issue(p, &src, item, true,
                      "a '%s' grading provider (assay grades with a chat "
                      "model and compares with an embedding model)",
                      item->string);
        }
        grader = cJSON_GetObjectItemCaseSensitive(node, "text");
        embedder = cJSON_GetObjectItemCaseSensitive(node, "embedding");
    } else if (node) {
        const char *id = provider_id(node);
        if (id && is_embedding_id(id))
            embedder = node;
        else
            grader = node;
    }
    assay_status st = ASSAY_OK;
    if (p->needs_grader)
        st = helper_model(p, &src, grader, PF_DEFAULT_GRADER, ROLE_GRADER,
                          &p->s->grader);
    if (st == ASSAY_OK && p->needs_embedder)
        st = helper_model(p, &src, embedder, PF_DEFAULT_EMBEDDER, ROLE_EMBEDDER,
                          &p->s->embedder);
    return st;
}

/* ------------------------------------------------------------ the config */

static const char *const top_keys[] = {
    "description", "providers",       "prompts", "tests",
    "defaultTest", "evaluateOptions", NULL,
};
/* Keys about where results go or how they are shown: nothing to run. */
static const char *const quiet_keys[] = {
    "tags",     "sharing", "outputPath", "writeLatestResults",
    "metadata", "$schema", NULL,
};
static const char *const evaluate_keys[] = {
    "repeat", "maxConcurrency", "showProgressBar", "cache", NULL,
};

static assay_status load_evaluate(pf *p, const pf_src *src, const cJSON *node)
{
    p->s->repeat = 1;
    if (!node)
        return ASSAY_OK;
    if (!cJSON_IsObject(node))
        return fail(p, src, node, "'evaluateOptions' must be a mapping");
    const cJSON *item;
    cJSON_ArrayForEach (item, node) {
        if (!in_list(item->string, evaluate_keys))
            issue(p, src, item, true, "the evaluate option '%s'", item->string);
    }
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(node, "repeat");
    if (!r)
        return ASSAY_OK;
    if (!cJSON_IsNumber(r) || r->valuedouble < 1 || r->valuedouble > 100000 ||
        r->valuedouble != (double)(int)r->valuedouble)
        return fail(p, src, r,
                    "'repeat' must be a whole number from 1 to "
                    "100000");
    p->s->repeat = (int)r->valuedouble;
    return ASSAY_OK;
}

/* The config's name: its folder's for promptfooconfig.*, else the file's. */
static assay_status load_name(pf *p)
{
    const char *path = p->s->path;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t len = strcspn(base, ".");
    if (!strncmp(base, "promptfooconfig", len) && len == 15 && slash) {
        const char *dir = slash;
        while (dir > path && dir[-1] != '/')
            dir--;
        if (dir < slash && strncmp(dir, ".", (size_t)(slash - dir))) {
            base = dir;
            len = (size_t)(slash - dir);
        }
    }
    p->s->name = strndup(base, len ? len : strlen(base));
    return p->s->name ? ASSAY_OK : oom(p->err);
}

static assay_status hash_config(pf *p)
{
    char *text = cJSON_PrintUnformatted(assay__doc_root(p->s->doc));
    if (!text)
        return oom(p->err);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok = EVP_Digest(text, strlen(text), digest, &n, EVP_sha256(), NULL);
    cJSON_free(text);
    if (!ok)
        return assay__error(p->err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "SHA-256 is not available");
    for (unsigned int i = 0; i < n && i < 32; i++)
        snprintf(p->s->config_hash + 2 * i, 3, "%02x", digest[i]);
    return ASSAY_OK;
}

static void check_top_keys(pf *p, const pf_src *src, const cJSON *root)
{
    const cJSON *item;
    cJSON_ArrayForEach (item, root) {
        if (!in_list(item->string, top_keys) &&
            !in_list(item->string, quiet_keys))
            issue(p, src, item, true, "the config key '%s'", item->string);
    }
}

static assay_status load(pf *p)
{
    assay_suite *s = p->s;
    cJSON *root = assay__doc_root(s->doc);
    pf_src src = {s->doc, assay__doc_name(s->doc), 0, true};
    assay_status st = hash_config(p);
    if (st == ASSAY_OK)
        st = load_name(p);
    if (st == ASSAY_OK)
        check_top_keys(p, &src, root);
    p->cases = cJSON_AddArrayToObject(root, PF_CASES_KEY);
    p->removed = cJSON_AddArrayToObject(root, PF_REMOVED_KEY);
    if (st == ASSAY_OK && (!p->cases || !p->removed))
        st = oom(p->err);
    if (st == ASSAY_OK)
        st = load_evaluate(
            p, &src, cJSON_GetObjectItemCaseSensitive(root, "evaluateOptions"));
    if (st == ASSAY_OK)
        st = load_providers(
            p, &src, cJSON_GetObjectItemCaseSensitive(root, "providers"));
    if (st == ASSAY_OK)
        st = load_default(
            p, &src, cJSON_GetObjectItemCaseSensitive(root, "defaultTest"));
    if (st == ASSAY_OK)
        st = load_tests(p, &src,
                        cJSON_GetObjectItemCaseSensitive(root, "tests"));
    if (st == ASSAY_OK)
        st = load_prompts(p, &src,
                          cJSON_GetObjectItemCaseSensitive(root, "prompts"));
    if (st == ASSAY_OK)
        st = load_helpers(p);
    if (st == ASSAY_OK && p->n_issues)
        return issues_error(p);
    if (st == ASSAY_OK)
        st = compile_prompts(p);
    if (st != ASSAY_OK)
        return st;
    s->case_threshold = p->have_threshold ? p->threshold : NAN;
    s->dataset.doc = s->doc;
    s->dataset.inline_cases = p->cases;
    return ASSAY_OK;
}

assay_status assay__promptfoo_load(assay_suite *s, assay_env_fn env,
                                   void *env_data, assay_error *err)
{
    pf p;
    memset(&p, 0, sizeof p);
    p.s = s;
    p.env = env;
    p.env_data = env_data;
    p.err = err;
    s->repeat = 1;
    s->case_threshold = NAN;
    assay_status st = load(&p);
    for (size_t i = 0; i < p.n_groups; i++) {
        free(p.groups[i].what);
        free(p.groups[i].last_file);
        assay__buf_release(&p.groups[i].places);
    }
    for (size_t i = 0; i < p.n_pending; i++)
        free(p.pending[i].text);
    free(p.pending);
    assay__doc_free(p.default_file);
    return st;
}
