/*
 * schema.c - a JSON Schema validator for Draft 7 and Draft 2020-12.
 *
 * Compiling a schema indexes every schema object it holds by base URI,
 * $anchor and $dynamicAnchor (Draft 7: $id fragments), loads the documents
 * its references name, and turns each schema object into a node whose
 * keywords are checked and whose patterns are compiled once, so that a
 * mistake in the schema is an error with a JSON pointer before any answer
 * is validated. Validating walks the nodes over an instance and reports the
 * first failure (or several, up to the caller's cap), each with the
 * instance location as a JSON pointer and as a JSONPath and a message that
 * says what was found and what the schema wanted.
 *
 * What it does not do:
 *  - Fetch anything. A reference outside the schema goes to the bundled
 *    meta-schemas of the two drafts, then to the caller's resolver; a URI
 *    neither knows is a compile error.
 *  - Assert `format`, `content*`, `default` or the other annotations: both
 *    drafts make them annotations by default. A meta-schema that requires
 *    the format-assertion vocabulary is refused rather than half-honoured.
 *  - ECMA-262 regexes exactly. Patterns run on PCRE2 with UTF, JavaScript
 *    escapes (\uXXXX, \u{...}), `$` only at the very end, the long
 *    General_Category names (\p{Letter}) mapped to PCRE2's short ones, and
 *    \s and \S widened to ECMA-262's Unicode spaces (\S inside a class
 *    stays ASCII). \d and \w are ASCII, as in ECMA-262.
 *  - Draft 2019-09 or older drafts ($recursiveRef is 2019-09's): a $schema
 *    naming one is refused. A custom meta-schema's $vocabulary is honoured
 *    (validation keywords are ignored when it leaves that vocabulary out).
 *    Draft 7's `dependencies` is also read in 2020-12 schemas, whose
 *    meta-schema still describes it.
 *
 * Limits: evaluation nests at most MAX_DEPTH schemas deep; a $ref that
 * comes back to itself without consuming input is an error, not a hang;
 * patterns run under PCRE2 match, depth and heap limits; URIs are capped.
 */
#include "internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define URI_MAX 4096        /* bytes of one URI */
#define MAX_DEPTH 1024      /* nested evaluations: under 1 MiB of stack */
#define MAX_WALK 2048       /* nesting of schema objects in a document */
#define MAX_DOCS 256        /* documents one schema may load */
#define MAX_NODES (1 << 20) /* schema objects in all documents */
#define MAX_DIALECT_CHAIN 8 /* meta-schemas of meta-schemas */
#define MATCH_LIMIT 1000000 /* PCRE2 backtracking steps per match */
#define DEPTH_LIMIT 100000
#define HEAP_LIMIT_KIB 65536
#define QUOTE_MAX 48 /* bytes of a value quoted in a message */
/* The base URI of a schema without $id: hierarchical, so that relative
 * references resolve against it, and in a scheme nothing fetches. */
#define DEFAULT_BASE "assay:///schema.json"

enum { DRAFT7 = 7, DRAFT2020 = 2020 };

/* The 2020-12 vocabularies a meta-schema may select. */
enum {
    VOCAB_CORE = 1u << 0,
    VOCAB_APPLICATOR = 1u << 1,
    VOCAB_UNEVALUATED = 1u << 2,
    VOCAB_VALIDATION = 1u << 3,
    VOCAB_ANNOTATIONS = 1u << 4, /* meta-data, format-annotation, content */
    VOCAB_ALL = 0x1Fu
};

/* Instance types, as a mask for `type`. */
enum {
    T_NULL = 1u << 0,
    T_BOOLEAN = 1u << 1,
    T_OBJECT = 1u << 2,
    T_ARRAY = 1u << 3,
    T_NUMBER = 1u << 4,
    T_STRING = 1u << 5,
    T_INTEGER = 1u << 6
};
static const char *const type_names[] = {"null",   "boolean", "object", "array",
                                         "number", "string",  "integer"};
#define N_TYPES 7

/* ------------------------------------------------------------ structures */

typedef struct snode snode;

typedef struct anchor {
    char *name;
    const cJSON *json;
    bool dynamic;
    snode *node; /* compiled for dynamic anchors, for run-time lookups */
} anchor;

/* A schema resource: a document root or a schema object with an $id. */
typedef struct resource {
    char *uri; /* absolute, without a fragment */
    const cJSON *root;
    /* A retrieval URI whose document names itself otherwise with $id. */
    struct resource *alias;
    int draft;
    unsigned vocab;
    anchor *anchors;
    size_t n_anchors, cap_anchors;
} resource;

/* What the index knows of one schema object. */
typedef struct place {
    const cJSON *json; /* NULL: an empty slot */
    resource *res;
    snode *node;
} place;

typedef struct prop {
    const char *name;
    snode *schema;
} prop;

typedef struct pattern_prop {
    const char *source;
    pcre2_code *re;
    snode *schema;
} pattern_prop;

typedef struct dep_required {
    const char *name;
    const cJSON *names; /* an array of strings */
} dep_required;

/* One compiled schema object. Absent numbers are NaN. */
struct snode {
    const cJSON *json;
    const resource *res;
    bool boolean, bool_value;
    bool has_unevaluated;

    snode *ref;
    snode *dynamic_ref;
    const char *dynamic_name; /* set when the $dynamicRef looks up scope */

    unsigned types;
    const cJSON *enum_values, *const_value;
    double multiple_of, minimum, maximum, exclusive_minimum, exclusive_maximum;
    double min_length, max_length;
    const char *pattern_source;
    pcre2_code *pattern;

    snode **prefix; /* prefixItems, or Draft 7's array form of items */
    size_t n_prefix;
    snode *items; /* the items after the prefix */
    snode *contains;
    double min_contains, max_contains;
    double min_items, max_items;
    bool unique_items;
    snode *unevaluated_items;

    prop *props;
    size_t n_props;
    pattern_prop *pattern_props;
    size_t n_pattern_props;
    snode *additional_props;
    snode *property_names;
    snode *unevaluated_props;
    const cJSON *required;
    dep_required *dep_required;
    size_t n_dep_required;
    prop *dep_schemas;
    size_t n_dep_schemas;
    double min_props, max_props;

    snode **all_of, **any_of, **one_of;
    size_t n_all_of, n_any_of, n_one_of;
    snode *not_schema, *if_schema, *then_schema, *else_schema;
};

struct assay__schema {
    cJSON **docs; /* docs[0] is the schema given */
    size_t n_docs, cap_docs;
    resource **res;
    size_t n_res, cap_res;
    place *places; /* open addressing on the node's address */
    size_t n_places, cap_places;
    snode **nodes;
    size_t n_nodes, cap_nodes;
    snode *root;
    pcre2_compile_context *cctx;
    pcre2_match_context *mctx; /* read-only once made: shared by threads */
};

/* ------------------------------------------------------------ helpers */

static assay_status oom(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
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

/* Makes room for `need` elements of `size` bytes in *array. */
static bool reserve(void **array, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *p = realloc(*array, n * size);
    if (!p)
        return false;
    *array = p;
    *cap = n;
    return true;
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static const char *kind(const cJSON *j)
{
    if (cJSON_IsString(j))
        return "a string";
    if (cJSON_IsNumber(j))
        return "a number";
    if (cJSON_IsBool(j))
        return "a boolean";
    if (cJSON_IsNull(j))
        return "null";
    if (cJSON_IsArray(j))
        return "an array";
    if (cJSON_IsObject(j))
        return "an object";
    return "nothing";
}

static bool is_integral(double x)
{
    return isfinite(x) && floor(x) == x;
}

/* ------------------------------------------------------------ URIs */

typedef struct span {
    const char *p;
    size_t n;
} span;

/* A URI reference split as RFC 3986 appendix B does. */
typedef struct uri_parts {
    bool has_scheme, has_auth, has_query, has_frag;
    span scheme, auth, path, query, frag;
} uri_parts;

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void uri_split(const char *s, uri_parts *u)
{
    memset(u, 0, sizeof *u);
    size_t i = 0, n = strlen(s);
    if (n && is_alpha(s[0])) {
        size_t j = 1;
        while (j < n && (is_alpha(s[j]) || (s[j] >= '0' && s[j] <= '9') ||
                         s[j] == '+' || s[j] == '-' || s[j] == '.'))
            j++;
        if (j < n && s[j] == ':') {
            u->has_scheme = true;
            u->scheme = (span){s, j};
            i = j + 1;
        }
    }
    if (i + 1 < n && s[i] == '/' && s[i + 1] == '/') {
        size_t j = i + 2;
        while (j < n && s[j] != '/' && s[j] != '?' && s[j] != '#')
            j++;
        u->has_auth = true;
        u->auth = (span){s + i + 2, j - i - 2};
        i = j;
    }
    size_t j = i;
    while (j < n && s[j] != '?' && s[j] != '#')
        j++;
    u->path = (span){s + i, j - i};
    i = j;
    if (i < n && s[i] == '?') {
        j = i + 1;
        while (j < n && s[j] != '#')
            j++;
        u->has_query = true;
        u->query = (span){s + i + 1, j - i - 1};
        i = j;
    }
    if (i < n && s[i] == '#') {
        u->has_frag = true;
        u->frag = (span){s + i + 1, n - i - 1};
    }
}

static bool starts(const char *p, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && !memcmp(p, prefix, k);
}

static bool is_exactly(const char *p, size_t n, const char *s)
{
    return n == strlen(s) && !memcmp(p, s, n);
}

/* Drops the last segment of `out` and its slash (RFC 3986 5.2.4). */
static void drop_segment(assay__buf *out)
{
    while (out->len > 0 && out->data[out->len - 1] != '/')
        out->len--;
    if (out->len > 0)
        out->len--;
    out->data[out->len] = '\0';
}

/* Appends `in` with its "." and ".." segments resolved (RFC 3986 5.2.4). */
static assay_status remove_dots(const char *in, size_t n, assay__buf *out)
{
    size_t i = 0;
    assay_status st = ASSAY_OK;
    size_t start = out->len;
    while (i < n && st == ASSAY_OK) {
        const char *r = in + i;
        size_t m = n - i;
        if (starts(r, m, "../")) {
            i += 3;
        } else if (starts(r, m, "./")) { // NOLINT(bugprone-branch-clone): RFC 3986 5.2.4 steps A and B, kept apart
            i += 2;
        } else if (starts(r, m, "/./")) {
            i += 2;
        } else if (is_exactly(r, m, "/.")) {
            st = assay__buf_putc(out, '/');
            i = n;
        } else if (starts(r, m, "/../")) {
            i += 3;
            if (out->len > start)
                drop_segment(out);
        } else if (is_exactly(r, m, "/..")) {
            if (out->len > start)
                drop_segment(out);
            st = assay__buf_putc(out, '/');
            i = n;
        } else if (is_exactly(r, m, ".") || is_exactly(r, m, "..")) {
            i = n;
        } else {
            size_t j = i + (in[i] == '/');
            while (j < n && in[j] != '/')
                j++;
            st = assay__buf_append(out, in + i, j - i);
            i = j;
        }
    }
    return st;
}

static assay_status put_span(assay__buf *out, span s)
{
    return assay__buf_append(out, s.p, s.n);
}

/* Resolves reference `ref` against absolute `base` (RFC 3986 5.2.2). */
static assay_status uri_resolve(const char *base, const char *ref,
                                assay__buf *out)
{
    uri_parts b, r;
    uri_split(base, &b);
    uri_split(ref, &r);
    assay__buf_reset(out);
    assay__buf merged;
    assay__buf_init(&merged, URI_MAX * 2);
    const uri_parts *auth_from = &r, *query_from = &r;
    assay_status st = ASSAY_OK;

    span path_in = r.path;
    bool resolve_dots = true;
    if (r.has_scheme) {
        b.scheme = r.scheme;
    } else if (r.has_auth) {
        /* the reference's authority, path and query */
    } else {
        auth_from = &b;
        if (r.path.n == 0) {
            path_in = b.path;
            resolve_dots = false;
            if (!r.has_query)
                query_from = &b;
        } else if (r.path.p[0] != '/') {
            if (b.has_auth && b.path.n == 0) {
                st = assay__buf_putc(&merged, '/');
            } else {
                size_t k = b.path.n;
                while (k > 0 && b.path.p[k - 1] != '/')
                    k--;
                st = assay__buf_append(&merged, b.path.p, k);
            }
            if (st == ASSAY_OK)
                st = put_span(&merged, r.path);
            path_in = (span){merged.data, merged.len};
        }
    }
    if (st == ASSAY_OK && (r.has_scheme || b.has_scheme)) {
        st = put_span(out, b.scheme);
        if (st == ASSAY_OK)
            st = assay__buf_putc(out, ':');
    }
    if (st == ASSAY_OK && auth_from->has_auth) {
        st = assay__buf_puts(out, "//");
        if (st == ASSAY_OK)
            st = put_span(out, auth_from->auth);
    }
    if (st == ASSAY_OK)
        st = resolve_dots ? remove_dots(path_in.p, path_in.n, out)
                          : put_span(out, path_in);
    if (st == ASSAY_OK && query_from->has_query) {
        st = assay__buf_putc(out, '?');
        if (st == ASSAY_OK)
            st = put_span(out, query_from->query);
    }
    if (st == ASSAY_OK && r.has_frag) {
        st = assay__buf_putc(out, '#');
        if (st == ASSAY_OK)
            st = put_span(out, r.frag);
    }
    assay__buf_release(&merged);
    return st;
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

/* Decodes %XX escapes of `s` in place. */
static void percent_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (*r == '%' && (hi = hex_value(r[1])) >= 0 &&
            (lo = hex_value(r[2])) >= 0 && (hi || lo)) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* ------------------------------------------------------------ JSON pointer */

/*
 * Follows one reference token (`tok`, `n` bytes, still ~-escaped) from
 * `node`; NULL when there is nothing there.
 */
static const cJSON *pointer_step(const cJSON *node, const char *tok, size_t n)
{
    char key[1024];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k + 1 >= sizeof key)
            return NULL;
        if (tok[i] == '~' && i + 1 < n &&
            (tok[i + 1] == '0' || tok[i + 1] == '1')) {
            key[k++] = tok[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            key[k++] = tok[i];
        }
    }
    key[k] = '\0';
    if (cJSON_IsObject(node))
        return get(node, key);
    if (!cJSON_IsArray(node) || k == 0 || (k > 1 && key[0] == '0'))
        return NULL;
    size_t index = 0;
    for (size_t i = 0; i < k; i++) {
        if (key[i] < '0' || key[i] > '9' || index > 100000000)
            return NULL;
        index = index * 10 + (size_t)(key[i] - '0');
    }
    return cJSON_GetArrayItem(node, (int)index);
}

const cJSON *assay__schema_pointer_get(const cJSON *root, const char *pointer)
{
    const cJSON *node = root;
    const char *p = pointer;
    if (*p && *p != '/')
        return NULL;
    while (node && *p == '/') {
        const char *tok = ++p;
        while (*p && *p != '/')
            p++;
        node = pointer_step(node, tok, (size_t)(p - tok));
    }
    return node;
}

/* Appends one ~-escaped reference token. */
static assay_status put_token(assay__buf *out, const char *s)
{
    assay_status st = assay__buf_putc(out, '/');
    for (; *s && st == ASSAY_OK; s++) {
        if (*s == '~')
            st = assay__buf_puts(out, "~0");
        else if (*s == '/')
            st = assay__buf_puts(out, "~1");
        else
            st = assay__buf_putc(out, *s);
    }
    return st;
}

/* Builds the pointer from `from` down to `target`; false when not below. */
static bool pointer_to(const cJSON *from, const cJSON *target, assay__buf *out,
                       int depth)
{
    if (from == target)
        return true;
    if (depth > MAX_WALK || (!cJSON_IsObject(from) && !cJSON_IsArray(from)))
        return false;
    size_t mark = out->len;
    size_t index = 0;
    for (const cJSON *c = from->child; c; c = c->next, index++) {
        assay_status st;
        if (cJSON_IsObject(from)) {
            st = put_token(out, c->string);
        } else {
            st = assay__buf_printf(out, "/%zu", index);
        }
        if (st == ASSAY_OK && pointer_to(c, target, out, depth + 1))
            return true;
        out->len = mark;
        out->data[mark] = '\0';
    }
    return false;
}

/* ------------------------------------------------------------ compiling */

typedef struct cctx {
    assay__schema *s;
    assay__schema_resolve_fn resolve;
    void *user_data;
    int default_draft;
    snode **queue;
    size_t n_queue, cap_queue;
    assay__schema_fault *fault;
    assay_error *err;
} cctx;

/* A mistake at `node` of a schema document; says where. */
static assay_status fault(cctx *c, const cJSON *node, const char *fmt, ...)
    ASSAY__PRINTF(3, 4);
static assay_status fault(cctx *c, const cJSON *node, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);

    assay__buf where;
    assay__buf_init(&where, ASSAY__SCHEMA_TEXT - 1);
    size_t doc = 0;
    for (; doc < c->s->n_docs; doc++) {
        assay__buf_reset(&where);
        if (pointer_to(c->s->docs[doc], node, &where, 0))
            break;
    }
    if (c->fault) {
        c->fault->in_schema = doc == 0;
        snprintf(c->fault->pointer, sizeof c->fault->pointer, "%s",
                 doc == 0 ? where.data : "");
    }
    const char *doc_uri = "";
    for (size_t i = 0; doc > 0 && doc < c->s->n_docs && i < c->s->n_res; i++)
        if (c->s->res[i]->root == c->s->docs[doc]) {
            doc_uri = c->s->res[i]->uri;
            break;
        }
    assay_status st;
    if (doc == 0)
        st = assay__error(c->err, ASSAY_ERR_CHECK, NULL, 0, 0, "#%s: %s",
                          where.data, what);
    else if (doc < c->s->n_docs)
        st = assay__error(c->err, ASSAY_ERR_CHECK, NULL, 0, 0,
                          "in the schema '%s', at #%s: %s", doc_uri, where.data,
                          what);
    else
        st = assay__error(c->err, ASSAY_ERR_CHECK, NULL, 0, 0, "%s", what);
    assay__buf_release(&where);
    return st;
}

static size_t hash_ptr(const void *p)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 33;
    x *= (uintptr_t)0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static place *find_place(const assay__schema *s, const cJSON *json)
{
    if (!s->cap_places)
        return NULL;
    size_t mask = s->cap_places - 1;
    for (size_t i = hash_ptr(json) & mask;; i = (i + 1) & mask) {
        if (s->places[i].json == json)
            return &s->places[i];
        if (!s->places[i].json)
            return NULL;
    }
}

static bool place_grow(assay__schema *s)
{
    size_t cap = s->cap_places ? s->cap_places * 2 : 64;
    place *fresh = calloc(cap, sizeof *fresh);
    if (!fresh)
        return false;
    for (size_t i = 0; i < s->cap_places; i++) {
        if (!s->places[i].json)
            continue;
        size_t j = hash_ptr(s->places[i].json) & (cap - 1);
        while (fresh[j].json)
            j = (j + 1) & (cap - 1);
        fresh[j] = s->places[i];
    }
    free(s->places);
    s->places = fresh;
    s->cap_places = cap;
    return true;
}

static assay_status add_place(cctx *c, const cJSON *json, resource *res)
{
    assay__schema *s = c->s;
    if (s->n_places >= MAX_NODES)
        return assay__error(c->err, ASSAY_ERR_LIMIT, NULL, 0, 0,
                            "the schema has more than %d schema objects",
                            MAX_NODES);
    if ((s->n_places + 1) * 2 > s->cap_places && !place_grow(s))
        return oom(c->err);
    size_t mask = s->cap_places - 1;
    size_t i = hash_ptr(json) & mask;
    while (s->places[i].json)
        i = (i + 1) & mask;
    s->places[i] = (place){json, res, NULL};
    s->n_places++;
    return ASSAY_OK;
}

static resource *find_resource(const assay__schema *s, const char *uri)
{
    for (size_t i = 0; i < s->n_res; i++)
        if (!strcmp(s->res[i]->uri, uri)) {
            resource *r = s->res[i];
            for (int hops = 0; r->alias && hops < 8; hops++)
                r = r->alias;
            return r;
        }
    return NULL;
}

static resource *new_resource(cctx *c, const char *uri, size_t n,
                              const cJSON *root, int draft, unsigned vocab)
{
    assay__schema *s = c->s;
    if (!reserve((void **)&s->res, &s->cap_res, s->n_res + 1, sizeof *s->res))
        return NULL;
    resource *r = calloc(1, sizeof *r);
    if (!r || !(r->uri = dup_n(uri, n))) {
        free(r);
        return NULL;
    }
    r->root = root;
    r->draft = draft;
    r->vocab = vocab;
    s->res[s->n_res++] = r;
    return r;
}

static assay_status add_anchor(cctx *c, resource *r, const cJSON *name_node,
                               const char *name, const cJSON *json,
                               bool dynamic)
{
    for (size_t i = 0; i < r->n_anchors; i++)
        if (!strcmp(r->anchors[i].name, name)) {
            if (r->anchors[i].json == json) {
                r->anchors[i].dynamic |= dynamic;
                return ASSAY_OK;
            }
            return fault(c, name_node,
                         "the anchor '%s' is defined twice in '%s'", name,
                         r->uri);
        }
    if (!reserve((void **)&r->anchors, &r->cap_anchors, r->n_anchors + 1,
                 sizeof *r->anchors))
        return oom(c->err);
    char *copy = dup_n(name, strlen(name));
    if (!copy)
        return oom(c->err);
    r->anchors[r->n_anchors++] = (anchor){copy, json, dynamic, NULL};
    return ASSAY_OK;
}

static const anchor *find_anchor(const resource *r, const char *name,
                                 bool dynamic_only)
{
    for (size_t i = 0; i < r->n_anchors; i++)
        if (!strcmp(r->anchors[i].name, name) &&
            (!dynamic_only || r->anchors[i].dynamic))
            return &r->anchors[i];
    return NULL;
}

/* The text of a bundled meta-schema, or NULL (defined at the end). */
static const char *bundled_text(const char *uri);

static assay_status walk(cctx *c, const cJSON *json, resource *res, int depth);

/*
 * The resource named `uri` (absolute, no fragment): one already indexed, a
 * bundled meta-schema, or what the resolver gives. *out is NULL when none
 * knows it.
 */
static assay_status find_or_load(cctx *c, const char *uri, int draft,
                                 resource **out)
{
    assay__schema *s = c->s;
    *out = find_resource(s, uri);
    if (*out)
        return ASSAY_OK;
    cJSON *doc = NULL;
    const char *text = bundled_text(uri);
    if (text && !(doc = cJSON_Parse(text)))
        return oom(c->err);
    if (!doc && c->resolve)
        doc = c->resolve(uri, c->user_data);
    if (!doc)
        return ASSAY_OK;
    if (s->n_docs >= MAX_DOCS) {
        cJSON_Delete(doc);
        return assay__error(c->err, ASSAY_ERR_LIMIT, NULL, 0, 0,
                            "the schema refers to more than %d documents",
                            MAX_DOCS);
    }
    if (!reserve((void **)&s->docs, &s->cap_docs, s->n_docs + 1,
                 sizeof *s->docs)) {
        cJSON_Delete(doc);
        return oom(c->err);
    }
    s->docs[s->n_docs++] = doc;
    resource *r = new_resource(c, uri, strlen(uri), doc, draft, VOCAB_ALL);
    if (!r)
        return oom(c->err);
    assay_status st = walk(c, doc, r, 0);
    if (st != ASSAY_OK)
        return st;
    place *p = find_place(s, doc);
    if (p && p->res != r)
        r->alias = p->res; /* the document's own $id names it */
    *out = find_resource(s, uri);
    return ASSAY_OK;
}

static const char *const vocab_uris[] = {
    "https://json-schema.org/draft/2020-12/vocab/core",
    "https://json-schema.org/draft/2020-12/vocab/applicator",
    "https://json-schema.org/draft/2020-12/vocab/unevaluated",
    "https://json-schema.org/draft/2020-12/vocab/validation",
    "https://json-schema.org/draft/2020-12/vocab/meta-data",
    "https://json-schema.org/draft/2020-12/vocab/format-annotation",
    "https://json-schema.org/draft/2020-12/vocab/content",
};
static const unsigned vocab_bits[] = {
    VOCAB_CORE,        VOCAB_APPLICATOR,  VOCAB_UNEVALUATED, VOCAB_VALIDATION,
    VOCAB_ANNOTATIONS, VOCAB_ANNOTATIONS, VOCAB_ANNOTATIONS,
};

/* The vocabularies a meta-schema's $vocabulary selects. */
static assay_status read_vocabulary(cctx *c, const cJSON *vocabulary,
                                    const char *meta_uri, unsigned *vocab)
{
    if (!cJSON_IsObject(vocabulary))
        return fault(c, vocabulary, "'$vocabulary' must be an object");
    *vocab = VOCAB_CORE;
    const cJSON *v;
    cJSON_ArrayForEach (v, vocabulary) {
        size_t i = 0;
        while (i < sizeof vocab_uris / sizeof vocab_uris[0] &&
               strcmp(vocab_uris[i], v->string))
            i++;
        if (i < sizeof vocab_uris / sizeof vocab_uris[0])
            *vocab |= vocab_bits[i];
        else if (cJSON_IsTrue(v))
            return fault(c, v,
                         "the meta-schema '%s' requires the vocabulary '%s', "
                         "which this validator does not support",
                         meta_uri, v->string);
    }
    return ASSAY_OK;
}

/* Strips an empty fragment ("...schema#") into `out`. */
static void without_empty_fragment(const char *uri, char *out, size_t size)
{
    size_t n = strlen(uri);
    if (n && uri[n - 1] == '#')
        n--;
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), uri);
}

/*
 * The draft and vocabularies that `$schema` names: one of the two drafts,
 * or a meta-schema (bundled or resolved) built on one of them.
 */
static assay_status dialect(cctx *c, const cJSON *schema_node, int *draft,
                            unsigned *vocab)
{
    char uri[URI_MAX];
    without_empty_fragment(schema_node->valuestring, uri, sizeof uri);
    bool vocab_known = false;
    *vocab = VOCAB_ALL;
    for (int level = 0; level < MAX_DIALECT_CHAIN; level++) {
        if (!strcmp(uri, "http://json-schema.org/draft-07/schema")) {
            *draft = DRAFT7;
            *vocab = VOCAB_ALL;
            return ASSAY_OK;
        }
        if (!strcmp(uri, "https://json-schema.org/draft/2020-12/schema")) {
            *draft = DRAFT2020;
            return ASSAY_OK;
        }
        resource *meta;
        assay_status st = find_or_load(c, uri, DRAFT2020, &meta);
        if (st != ASSAY_OK)
            return st;
        if (!meta)
            return fault(c, schema_node,
                         "unsupported $schema '%s' (this validator knows "
                         "Draft 7 and Draft 2020-12, and meta-schemas the "
                         "suite can resolve)",
                         schema_node->valuestring);
        const cJSON *vocabulary = get(meta->root, "$vocabulary");
        if (vocabulary && !vocab_known) {
            st = read_vocabulary(c, vocabulary, uri, vocab);
            if (st != ASSAY_OK)
                return st;
            vocab_known = true;
        }
        const cJSON *next = get(meta->root, "$schema");
        if (!cJSON_IsString(next))
            return fault(c, schema_node, "the meta-schema '%s' has no $schema",
                         uri);
        without_empty_fragment(next->valuestring, uri, sizeof uri);
    }
    return fault(c, schema_node,
                 "the meta-schemas of '%s' refer to each other in a loop",
                 schema_node->valuestring);
}

static bool is_resource_root(const cJSON *json, const resource *res)
{
    return res->root == json;
}

/* Reads $id: may start a new resource (and, in Draft 7, name an anchor). */
static assay_status read_id(cctx *c, const cJSON *json, const cJSON *id,
                            int draft, unsigned vocab, resource **res)
{
    assay__buf abs;
    assay__buf_init(&abs, URI_MAX);
    assay_status st = uri_resolve((*res)->uri, id->valuestring, &abs);
    if (st != ASSAY_OK) {
        assay__buf_release(&abs);
        return fault(c, id, "the $id '%s' is too long", id->valuestring);
    }
    char *hash = strchr(abs.data, '#');
    const char *frag = hash ? hash + 1 : "";
    size_t base_len = hash ? (size_t)(hash - abs.data) : abs.len;
    if (base_len > 0 && (strlen((*res)->uri) != base_len ||
                         memcmp((*res)->uri, abs.data, base_len))) {
        char *base = dup_n(abs.data, base_len);
        if (!base) {
            assay__buf_release(&abs);
            return oom(c->err);
        }
        resource *existing = find_resource(c->s, base);
        if (existing && existing->root != json) {
            st = fault(c, id, "the $id '%s' names two different schemas", base);
        } else if (existing) {
            *res = existing;
        } else {
            resource *fresh =
                new_resource(c, base, base_len, json, draft, vocab);
            if (!fresh)
                st = oom(c->err);
            else
                *res = fresh;
        }
        free(base);
    } else if (is_resource_root(json, *res)) {
        (*res)->draft = draft;
        (*res)->vocab = vocab;
    }
    if (st == ASSAY_OK && draft == DRAFT7 && *frag) {
        char *name = dup_n(frag, strlen(frag));
        if (!name) {
            st = oom(c->err);
        } else {
            percent_decode(name);
            st = add_anchor(c, *res, id, name, json, false);
            free(name);
        }
    }
    assay__buf_release(&abs);
    return st;
}

/* Keywords whose value is a schema, a list of them, or a map of them. */
static const char *const single_2020[] = {"additionalProperties",
                                          "propertyNames",
                                          "items",
                                          "contains",
                                          "if",
                                          "then",
                                          "else",
                                          "not",
                                          "unevaluatedItems",
                                          "unevaluatedProperties",
                                          NULL};
static const char *const list_2020[] = {"prefixItems", "allOf", "anyOf",
                                        "oneOf", NULL};
static const char *const map_2020[] = {"$defs",
                                       "definitions",
                                       "properties",
                                       "patternProperties",
                                       "dependentSchemas",
                                       "dependencies",
                                       NULL};
static const char *const single_7[] = {"additionalProperties",
                                       "propertyNames",
                                       "additionalItems",
                                       "contains",
                                       "if",
                                       "then",
                                       "else",
                                       "not",
                                       "items",
                                       NULL};
static const char *const list_7[] = {"allOf", "anyOf", "oneOf", "items", NULL};
static const char *const map_7[] = {"definitions", "properties",
                                    "patternProperties", "dependencies", NULL};

static assay_status walk_children(cctx *c, const cJSON *json, resource *res,
                                  int draft, int depth)
{
    const char *const *single = draft == DRAFT7 ? single_7 : single_2020;
    const char *const *list = draft == DRAFT7 ? list_7 : list_2020;
    const char *const *map = draft == DRAFT7 ? map_7 : map_2020;
    assay_status st = ASSAY_OK;
    for (size_t i = 0; single[i] && st == ASSAY_OK; i++) {
        const cJSON *v = get(json, single[i]);
        if (v && (cJSON_IsObject(v) || cJSON_IsBool(v)))
            st = walk(c, v, res, depth + 1);
    }
    for (size_t i = 0; list[i] && st == ASSAY_OK; i++) {
        const cJSON *v = get(json, list[i]), *e;
        if (cJSON_IsArray(v))
            cJSON_ArrayForEach (e, v) {
                if (st == ASSAY_OK)
                    st = walk(c, e, res, depth + 1);
            }
    }
    for (size_t i = 0; map[i] && st == ASSAY_OK; i++) {
        const cJSON *v = get(json, map[i]), *e;
        if (cJSON_IsObject(v))
            cJSON_ArrayForEach (e, v) {
                if (st == ASSAY_OK && (cJSON_IsObject(e) || cJSON_IsBool(e)))
                    st = walk(c, e, res, depth + 1);
            }
    }
    return st;
}

/*
 * Indexes the schema object `json` and the schemas inside it: base URIs,
 * resources, anchors. `res` is the resource of the enclosing schema.
 */
static assay_status walk(cctx *c, const cJSON *json, resource *res, int depth)
{
    if (depth > MAX_WALK)
        return fault(c, json, "the schema nests deeper than %d levels",
                     MAX_WALK);
    if (find_place(c->s, json))
        return ASSAY_OK;
    if (cJSON_IsBool(json))
        return add_place(c, json, res);
    if (!cJSON_IsObject(json))
        return ASSAY_OK;

    int draft = res->draft;
    unsigned vocab = res->vocab;
    const cJSON *id = get(json, "$id");
    const cJSON *schema_kw = get(json, "$schema");
    assay_status st = ASSAY_OK;
    if (schema_kw && (is_resource_root(json, res) || cJSON_IsString(id))) {
        if (!cJSON_IsString(schema_kw))
            return fault(c, schema_kw, "'$schema' must be a URI string");
        st = dialect(c, schema_kw, &draft, &vocab);
        if (st != ASSAY_OK)
            return st;
        if (is_resource_root(json, res)) {
            res->draft = draft;
            res->vocab = vocab;
        }
    }
    /* Draft 7 ignores every keyword beside $ref, $id included. */
    bool ref_only = draft == DRAFT7 && get(json, "$ref");
    if (id && !ref_only) {
        if (!cJSON_IsString(id))
            return fault(c, id, "'$id' must be a URI string, found %s",
                         kind(id));
        st = read_id(c, json, id, draft, vocab, &res);
    }
    if (st == ASSAY_OK && draft == DRAFT2020) {
        const cJSON *a = get(json, "$anchor");
        const cJSON *d = get(json, "$dynamicAnchor");
        if (a && !cJSON_IsString(a))
            return fault(c, a, "'$anchor' must be a string");
        if (d && !cJSON_IsString(d))
            return fault(c, d, "'$dynamicAnchor' must be a string");
        if (a)
            st = add_anchor(c, res, a, a->valuestring, json, false);
        if (st == ASSAY_OK && d)
            st = add_anchor(c, res, d, d->valuestring, json, true);
    }
    if (st == ASSAY_OK)
        st = add_place(c, json, res);
    if (st == ASSAY_OK)
        st = walk_children(c, json, res, draft, depth);
    return st;
}

/* The compiled node of schema `json`, made (and queued) on first use. */
static assay_status node_for(cctx *c, const cJSON *json, resource *fallback,
                             snode **out)
{
    assay__schema *s = c->s;
    if (!cJSON_IsObject(json) && !cJSON_IsBool(json))
        return fault(c, json,
                     "a schema must be an object or a boolean, found %s",
                     kind(json));
    place *p = find_place(s, json);
    if (!p) {
        assay_status st = walk(c, json, fallback, 0);
        if (st != ASSAY_OK)
            return st;
        p = find_place(s, json);
        if (!p)
            return oom(c->err);
    }
    if (p->node) {
        *out = p->node;
        return ASSAY_OK;
    }
    if (!reserve((void **)&s->nodes, &s->cap_nodes, s->n_nodes + 1,
                 sizeof *s->nodes) ||
        !reserve((void **)&c->queue, &c->cap_queue, c->n_queue + 1,
                 sizeof *c->queue))
        return oom(c->err);
    snode *n = calloc(1, sizeof *n);
    if (!n)
        return oom(c->err);
    n->json = json;
    n->res = p->res;
    n->multiple_of = n->minimum = n->maximum = NAN;
    n->exclusive_minimum = n->exclusive_maximum = NAN;
    n->min_length = n->max_length = NAN;
    n->min_contains = n->max_contains = NAN;
    n->min_items = n->max_items = n->min_props = n->max_props = NAN;
    s->nodes[s->n_nodes++] = n;
    p->node = n;
    c->queue[c->n_queue++] = n;
    *out = n;
    return ASSAY_OK;
}

/*
 * Resolves reference `ref` (written at `at`) from resource `from`: sets
 * *target to the schema it names and *fragment (may be NULL) to the
 * decoded fragment, which the caller frees.
 */
static assay_status resolve_ref(cctx *c, const resource *from, const cJSON *at,
                                snode **target, char **fragment)
{
    const char *ref = at->valuestring;
    assay__buf abs;
    assay__buf_init(&abs, URI_MAX);
    assay_status st = uri_resolve(from->uri, ref, &abs);
    if (st != ASSAY_OK) {
        assay__buf_release(&abs);
        return fault(c, at, "the reference '%s' is too long", ref);
    }
    char *hash = strchr(abs.data, '#');
    char *frag = dup_n(hash ? hash + 1 : "", hash ? strlen(hash + 1) : 0);
    if (hash)
        *hash = '\0';
    if (!frag) {
        assay__buf_release(&abs);
        return oom(c->err);
    }
    percent_decode(frag);

    resource *r = NULL;
    st = find_or_load(c, abs.data, from->draft, &r);
    const cJSON *json = NULL;
    resource *res = r;
    /* a schema without $id has a made-up URI: call it "the schema" */
    char named[URI_MAX + 2];
    snprintf(named, sizeof named, "'%s'", r ? r->uri : "");
    const char *name =
        r && !strcmp(r->uri, DEFAULT_BASE) ? "the schema" : named;
    if (st == ASSAY_OK && !r) {
        st = fault(c, at,
                   "cannot resolve the reference '%s': no schema has the "
                   "URI '%s'",
                   ref, abs.data);
    } else if (st == ASSAY_OK && frag[0] == '/') {
        /* walk the pointer, keeping the resource of the last schema met */
        json = r->root;
        const char *p = frag;
        while (json && *p == '/') {
            const char *tok = ++p;
            while (*p && *p != '/')
                p++;
            json = pointer_step(json, tok, (size_t)(p - tok));
            const place *pl = json ? find_place(c->s, json) : NULL;
            if (pl)
                res = pl->res;
        }
        if (!json)
            st = fault(c, at,
                       "the reference '%s' points at nothing: %s has no "
                       "'#%s'",
                       ref, name, frag);
    } else if (st == ASSAY_OK && frag[0]) {
        const anchor *a = find_anchor(r, frag, false);
        if (!a)
            st = fault(c, at,
                       "the reference '%s' points at nothing: %s has no "
                       "anchor '%s'",
                       ref, name, frag);
        else
            json = a->json;
    } else if (st == ASSAY_OK) {
        json = r->root;
    }
    if (st == ASSAY_OK)
        st = node_for(c, json, res, target);
    assay__buf_release(&abs);
    if (st == ASSAY_OK && fragment)
        *fragment = frag;
    else
        free(frag);
    return st;
}

/* ------------------------------------------------------------ keywords */

static assay_status need_number(cctx *c, const cJSON *json, const char *kw,
                                double *out)
{
    const cJSON *v = get(json, kw);
    if (!v)
        return ASSAY_OK;
    if (!cJSON_IsNumber(v))
        return fault(c, v, "'%s' must be a number, found %s", kw, kind(v));
    *out = v->valuedouble;
    return ASSAY_OK;
}

static assay_status need_count(cctx *c, const cJSON *json, const char *kw,
                               double *out)
{
    const cJSON *v = get(json, kw);
    if (!v)
        return ASSAY_OK;
    if (!cJSON_IsNumber(v) || !is_integral(v->valuedouble) ||
        v->valuedouble < 0)
        return fault(c, v,
                     "'%s' must be a whole number of 0 or more, "
                     "found %s",
                     kw, kind(v));
    *out = v->valuedouble;
    return ASSAY_OK;
}

static assay_status need_schema(cctx *c, const snode *n, const char *kw,
                                snode **out)
{
    const cJSON *v = get(n->json, kw);
    if (!v)
        return ASSAY_OK;
    if (!cJSON_IsObject(v) && !cJSON_IsBool(v))
        return fault(c, v,
                     "'%s' must be a schema (an object or a boolean), "
                     "found %s",
                     kw, kind(v));
    return node_for(c, v, (resource *)n->res, out);
}

static assay_status need_schema_list(cctx *c, const snode *n, const char *kw,
                                     snode ***out, size_t *count)
{
    const cJSON *v = get(n->json, kw);
    if (!v)
        return ASSAY_OK;
    if (!cJSON_IsArray(v) || !v->child)
        return fault(c, v,
                     "'%s' must be a non-empty array of schemas, "
                     "found %s",
                     kw, cJSON_IsArray(v) ? "an empty array" : kind(v));
    size_t k = (size_t)cJSON_GetArraySize(v);
    *out = calloc(k, sizeof **out);
    if (!*out)
        return oom(c->err);
    *count = k;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, v) {
        assay_status st = node_for(c, e, (resource *)n->res, &(*out)[i++]);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static assay_status need_string_array(cctx *c, const cJSON *v, const char *kw)
{
    const cJSON *e;
    if (!cJSON_IsArray(v))
        return fault(c, v, "'%s' must be an array of strings, found %s", kw,
                     kind(v));
    cJSON_ArrayForEach (e, v) {
        if (!cJSON_IsString(e))
            return fault(c, e,
                         "'%s' must be an array of strings, found %s "
                         "in it",
                         kw, kind(e));
    }
    return ASSAY_OK;
}

/* An object of schemas ("properties", "dependentSchemas"). */
static assay_status need_schema_map(cctx *c, const snode *n, const cJSON *v,
                                    const char *kw, prop **out, size_t *count)
{
    if (!cJSON_IsObject(v))
        return fault(c, v, "'%s' must be an object of schemas, found %s", kw,
                     kind(v));
    /* grows the list: `dependencies` adds to `dependentSchemas` */
    size_t k = (size_t)cJSON_GetArraySize(v);
    prop *grown = realloc(*out, (*count + k + 1) * sizeof **out);
    if (!grown)
        return oom(c->err);
    *out = grown;
    const cJSON *e;
    cJSON_ArrayForEach (e, v) {
        prop *p = &(*out)[(*count)++];
        p->name = e->string;
        assay_status st = node_for(c, e, (resource *)n->res, &p->schema);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/*
 * The long General_Category names of ECMA-262's \p{...}, which PCRE2 10.42
 * knows only by their short names.
 */
static const char *const category_names[][2] = {
    {"Cased_Letter", "LC"},
    {"Close_Punctuation", "Pe"},
    {"Connector_Punctuation", "Pc"},
    {"Control", "Cc"},
    {"Currency_Symbol", "Sc"},
    {"Dash_Punctuation", "Pd"},
    {"Decimal_Number", "Nd"},
    {"Enclosing_Mark", "Me"},
    {"Final_Punctuation", "Pf"},
    {"Format", "Cf"},
    {"Initial_Punctuation", "Pi"},
    {"Letter", "L"},
    {"Letter_Number", "Nl"},
    {"Line_Separator", "Zl"},
    {"Lowercase_Letter", "Ll"},
    {"Mark", "M"},
    {"Math_Symbol", "Sm"},
    {"Modifier_Letter", "Lm"},
    {"Modifier_Symbol", "Sk"},
    {"Nonspacing_Mark", "Mn"},
    {"Number", "N"},
    {"Open_Punctuation", "Ps"},
    {"Other", "C"},
    {"Other_Letter", "Lo"},
    {"Other_Number", "No"},
    {"Other_Punctuation", "Po"},
    {"Other_Symbol", "So"},
    {"Paragraph_Separator", "Zp"},
    {"Private_Use", "Co"},
    {"Punctuation", "P"},
    {"Separator", "Z"},
    {"Space_Separator", "Zs"},
    {"Spacing_Mark", "Mc"},
    {"Surrogate", "Cs"},
    {"Symbol", "S"},
    {"Titlecase_Letter", "Lt"},
    {"Unassigned", "Cn"},
    {"Uppercase_Letter", "Lu"},
    {"digit", "Nd"},
    {"punct", "P"},
};

/* ECMA-262's white space beyond ASCII, which PCRE2's \s leaves out. */
#define ECMA_SPACES                                                            \
    "\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF"

/*
 * Rewrites what ECMA-262 means and PCRE2 reads otherwise: \p{Letter} ->
 * \p{L}, \p{General_Category=Letter} and \p{gc=L} -> \p{L}, \p{Script=Greek}
 * and \p{sc=Greek} -> \p{Greek}; \s and \S with ECMA-262's Unicode spaces
 * (\S inside a class stays ASCII). Everything else is kept.
 */
static assay_status ecma_pattern(const char *src, assay__buf *out)
{
    assay_status st = ASSAY_OK;
    bool in_class = false;
    for (size_t i = 0; src[i] && st == ASSAY_OK;) {
        if (src[i] == '\\' && (src[i + 1] == 's' || src[i + 1] == 'S') &&
            !(in_class && src[i + 1] == 'S')) {
            if (in_class)
                st = assay__buf_puts(out, "\\s" ECMA_SPACES);
            else
                st = assay__buf_puts(out, src[i + 1] == 's'
                                              ? "[\\s" ECMA_SPACES "]"
                                              : "[^\\s" ECMA_SPACES "]");
            i += 2;
            continue;
        }
        if (src[i] == '[' && !in_class)
            in_class = true;
        else if (src[i] == ']' && in_class)
            in_class = false;
        if (src[i] == '\\' && (src[i + 1] == 'p' || src[i + 1] == 'P') &&
            src[i + 2] == '{') {
            const char *name = src + i + 3;
            const char *close = strchr(name, '}');
            if (close) {
                const char *eq = memchr(name, '=', (size_t)(close - name));
                if (eq)
                    name = eq + 1;
                size_t n = (size_t)(close - name);
                const char *shortname = NULL;
                for (size_t k = 0;
                     k < sizeof category_names / sizeof category_names[0]; k++)
                    if (is_exactly(name, n, category_names[k][0]))
                        shortname = category_names[k][1];
                st = assay__buf_printf(out, "\\%c{", src[i + 1]);
                if (st == ASSAY_OK)
                    st = shortname ? assay__buf_puts(out, shortname)
                                   : assay__buf_append(out, name, n);
                if (st == ASSAY_OK)
                    st = assay__buf_putc(out, '}');
                i = (size_t)(close - src) + 1;
                continue;
            }
        }
        if (src[i] == '\\' && src[i + 1]) {
            st = assay__buf_append(out, src + i, 2);
            i += 2;
        } else {
            st = assay__buf_putc(out, src[i]);
            i++;
        }
    }
    return st;
}

static assay_status compile_regex(cctx *c, const cJSON *at, const char *src,
                                  pcre2_code **out)
{
    assay__buf text;
    assay__buf_init(&text, (size_t)1 << 20);
    if (ecma_pattern(src, &text) != ASSAY_OK) {
        assay__buf_release(&text);
        return fault(c, at, "the pattern is too long");
    }
    int code;
    PCRE2_SIZE offset;
    *out = pcre2_compile((PCRE2_SPTR)text.data, text.len,
                         PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_ALT_BSUX |
                             PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
                         &code, &offset, c->s->cctx);
    assay__buf_release(&text);
    if (*out)
        return ASSAY_OK;
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
        snprintf((char *)msg, sizeof msg, "error %d", code);
    return fault(c, at, "invalid pattern '%s': %s at offset %zu", src,
                 (const char *)msg, (size_t)offset);
}

static assay_status compile_type(cctx *c, snode *n, const cJSON *v)
{
    const cJSON *one = v, *e;
    if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach (e, v) {
            assay_status st = cJSON_IsString(e) ? compile_type(c, n, e)
                                                : fault(c, e,
                                                        "'type' lists type "
                                                        "names, found %s",
                                                        kind(e));
            if (st != ASSAY_OK)
                return st;
        }
        return ASSAY_OK;
    }
    if (!cJSON_IsString(one))
        return fault(c, one,
                     "'type' must be a type name or an array of "
                     "them, found %s",
                     kind(one));
    for (unsigned i = 0; i < N_TYPES; i++)
        if (!strcmp(one->valuestring, type_names[i])) {
            n->types |= 1u << i;
            return ASSAY_OK;
        }
    return fault(c, one,
                 "unknown type '%s' (the types are null, boolean, "
                 "object, array, number, string and integer)",
                 one->valuestring);
}

/* Room for the members of `v` more in n->dep_required. */
static bool grow_dep_required(snode *n, const cJSON *v)
{
    size_t k = (size_t)cJSON_GetArraySize(v);
    dep_required *grown =
        realloc(n->dep_required, (n->n_dep_required + k + 1) * sizeof *grown);
    if (grown)
        n->dep_required = grown;
    return grown != NULL;
}

static assay_status compile_validation(cctx *c, snode *n, int draft)
{
    const cJSON *j = n->json, *v;
    assay_status st = ASSAY_OK;
    if ((v = get(j, "type")))
        st = compile_type(c, n, v);
    if (st == ASSAY_OK && (v = get(j, "enum"))) {
        if (!cJSON_IsArray(v))
            return fault(c, v, "'enum' must be an array, found %s", kind(v));
        n->enum_values = v;
    }
    n->const_value = get(j, "const");
    if (st == ASSAY_OK)
        st = need_number(c, j, "multipleOf", &n->multiple_of);
    if (st == ASSAY_OK && !isnan(n->multiple_of) && n->multiple_of <= 0)
        return fault(c, get(j, "multipleOf"),
                     "'multipleOf' must be greater than 0");
    if (st == ASSAY_OK)
        st = need_number(c, j, "minimum", &n->minimum);
    if (st == ASSAY_OK)
        st = need_number(c, j, "maximum", &n->maximum);
    if (st == ASSAY_OK)
        st = need_number(c, j, "exclusiveMinimum", &n->exclusive_minimum);
    if (st == ASSAY_OK)
        st = need_number(c, j, "exclusiveMaximum", &n->exclusive_maximum);
    if (st == ASSAY_OK)
        st = need_count(c, j, "minLength", &n->min_length);
    if (st == ASSAY_OK)
        st = need_count(c, j, "maxLength", &n->max_length);
    if (st == ASSAY_OK && (v = get(j, "pattern"))) {
        if (!cJSON_IsString(v))
            return fault(c, v, "'pattern' must be a string, found %s", kind(v));
        n->pattern_source = v->valuestring;
        st = compile_regex(c, v, v->valuestring, &n->pattern);
    }
    if (st == ASSAY_OK)
        st = need_count(c, j, "minItems", &n->min_items);
    if (st == ASSAY_OK)
        st = need_count(c, j, "maxItems", &n->max_items);
    if (st == ASSAY_OK && (v = get(j, "uniqueItems"))) {
        if (!cJSON_IsBool(v))
            return fault(c, v, "'uniqueItems' must be true or false");
        n->unique_items = cJSON_IsTrue(v);
    }
    if (st == ASSAY_OK && draft == DRAFT2020)
        st = need_count(c, j, "minContains", &n->min_contains);
    if (st == ASSAY_OK && draft == DRAFT2020)
        st = need_count(c, j, "maxContains", &n->max_contains);
    if (st == ASSAY_OK)
        st = need_count(c, j, "minProperties", &n->min_props);
    if (st == ASSAY_OK)
        st = need_count(c, j, "maxProperties", &n->max_props);
    if (st == ASSAY_OK && (v = get(j, "required"))) {
        st = need_string_array(c, v, "required");
        n->required = v;
    }
    if (st == ASSAY_OK && draft == DRAFT2020 &&
        (v = get(j, "dependentRequired"))) {
        if (!cJSON_IsObject(v))
            return fault(c, v,
                         "'dependentRequired' must be an object, "
                         "found %s",
                         kind(v));
        if (!grow_dep_required(n, v))
            return oom(c->err);
        const cJSON *e;
        cJSON_ArrayForEach (e, v) {
            st = need_string_array(c, e, "dependentRequired");
            if (st != ASSAY_OK)
                return st;
            n->dep_required[n->n_dep_required++] = (dep_required){e->string, e};
        }
    }
    return st;
}

/* Draft 7's `dependencies`: each is a list of names or a schema. */
static assay_status compile_dependencies(cctx *c, snode *n, const cJSON *v)
{
    if (!cJSON_IsObject(v))
        return fault(c, v, "'dependencies' must be an object, found %s",
                     kind(v));
    size_t k = (size_t)cJSON_GetArraySize(v);
    prop *grown =
        realloc(n->dep_schemas, (n->n_dep_schemas + k + 1) * sizeof *grown);
    if (grown)
        n->dep_schemas = grown;
    if (!grown || !grow_dep_required(n, v))
        return oom(c->err);
    const cJSON *e;
    cJSON_ArrayForEach (e, v) {
        assay_status st;
        if (cJSON_IsArray(e)) {
            st = need_string_array(c, e, "dependencies");
            n->dep_required[n->n_dep_required++] = (dep_required){e->string, e};
        } else {
            prop *p = &n->dep_schemas[n->n_dep_schemas++];
            p->name = e->string;
            st = node_for(c, e, (resource *)n->res, &p->schema);
        }
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static assay_status compile_pattern_props(cctx *c, snode *n, const cJSON *v)
{
    if (!cJSON_IsObject(v))
        return fault(c, v,
                     "'patternProperties' must be an object of "
                     "schemas, found %s",
                     kind(v));
    size_t k = (size_t)cJSON_GetArraySize(v);
    n->pattern_props = calloc(k ? k : 1, sizeof *n->pattern_props);
    if (!n->pattern_props)
        return oom(c->err);
    const cJSON *e;
    cJSON_ArrayForEach (e, v) {
        pattern_prop *p = &n->pattern_props[n->n_pattern_props++];
        p->source = e->string;
        assay_status st = compile_regex(c, e, e->string, &p->re);
        if (st == ASSAY_OK)
            st = node_for(c, e, (resource *)n->res, &p->schema);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static assay_status compile_items(cctx *c, snode *n, int draft)
{
    const cJSON *j = n->json;
    const cJSON *items = get(j, "items");
    assay_status st = ASSAY_OK;
    if (draft == DRAFT7) {
        if (cJSON_IsArray(items)) {
            const cJSON *e;
            n->prefix = calloc((size_t)cJSON_GetArraySize(items) + 1,
                               sizeof *n->prefix);
            if (!n->prefix)
                return oom(c->err);
            cJSON_ArrayForEach (e, items) {
                st = node_for(c, e, (resource *)n->res,
                              &n->prefix[n->n_prefix++]);
                if (st != ASSAY_OK)
                    return st;
            }
            /* additionalItems counts only after an array of items */
            return need_schema(c, n, "additionalItems", &n->items);
        }
        return need_schema(c, n, "items", &n->items);
    }
    if (cJSON_IsArray(items))
        return fault(c, items,
                     "in Draft 2020-12 'items' takes one schema; a list of "
                     "schemas goes in 'prefixItems'");
    st = need_schema_list(c, n, "prefixItems", &n->prefix, &n->n_prefix);
    if (st == ASSAY_OK)
        st = need_schema(c, n, "items", &n->items);
    return st;
}

static assay_status compile_applicators(cctx *c, snode *n, int draft)
{
    const cJSON *j = n->json, *v;
    assay_status st = compile_items(c, n, draft);
    if (st == ASSAY_OK)
        st = need_schema(c, n, "contains", &n->contains);
    if (st == ASSAY_OK && (v = get(j, "properties")))
        st = need_schema_map(c, n, v, "properties", &n->props, &n->n_props);
    if (st == ASSAY_OK && (v = get(j, "patternProperties")))
        st = compile_pattern_props(c, n, v);
    if (st == ASSAY_OK)
        st = need_schema(c, n, "additionalProperties", &n->additional_props);
    if (st == ASSAY_OK)
        st = need_schema(c, n, "propertyNames", &n->property_names);
    if (st == ASSAY_OK && draft == DRAFT2020 &&
        (v = get(j, "dependentSchemas")))
        st = need_schema_map(c, n, v, "dependentSchemas", &n->dep_schemas,
                             &n->n_dep_schemas);
    /* Draft 7's keyword, kept in 2020-12 for the schemas that still use it
     * (its meta-schema still describes it) */
    if (st == ASSAY_OK && (v = get(j, "dependencies")))
        st = compile_dependencies(c, n, v);
    if (st == ASSAY_OK)
        st = need_schema_list(c, n, "allOf", &n->all_of, &n->n_all_of);
    if (st == ASSAY_OK)
        st = need_schema_list(c, n, "anyOf", &n->any_of, &n->n_any_of);
    if (st == ASSAY_OK)
        st = need_schema_list(c, n, "oneOf", &n->one_of, &n->n_one_of);
    if (st == ASSAY_OK)
        st = need_schema(c, n, "not", &n->not_schema);
    if (st == ASSAY_OK)
        st = need_schema(c, n, "if", &n->if_schema);
    /* then and else mean nothing without if */
    if (st == ASSAY_OK && n->if_schema)
        st = need_schema(c, n, "then", &n->then_schema);
    if (st == ASSAY_OK && n->if_schema)
        st = need_schema(c, n, "else", &n->else_schema);
    return st;
}

static assay_status compile_refs(cctx *c, snode *n)
{
    const cJSON *v = get(n->json, "$ref");
    assay_status st = ASSAY_OK;
    if (v) {
        if (!cJSON_IsString(v))
            return fault(c, v, "'$ref' must be a URI string, found %s",
                         kind(v));
        st = resolve_ref(c, n->res, v, &n->ref, NULL);
    }
    v = n->res->draft == DRAFT2020 ? get(n->json, "$dynamicRef") : NULL;
    if (st == ASSAY_OK && v) {
        if (!cJSON_IsString(v))
            return fault(c, v, "'$dynamicRef' must be a URI string, found %s",
                         kind(v));
        char *frag = NULL;
        st = resolve_ref(c, n->res, v, &n->dynamic_ref, &frag);
        /* The scope is searched only when the reference lands on a
         * $dynamicAnchor of the fragment's name (a "bookend"). */
        const cJSON *bookend = st == ASSAY_OK && frag[0] && frag[0] != '/'
                                   ? get(n->dynamic_ref->json, "$dynamicAnchor")
                                   : NULL;
        if (cJSON_IsString(bookend) && !strcmp(bookend->valuestring, frag))
            n->dynamic_name = bookend->valuestring;
        free(frag);
    }
    return st;
}

static assay_status compile_node(cctx *c, snode *n)
{
    const cJSON *j = n->json;
    if (cJSON_IsBool(j)) {
        n->boolean = true;
        n->bool_value = cJSON_IsTrue(j);
        return ASSAY_OK;
    }
    int draft = n->res->draft;
    unsigned vocab = n->res->vocab;
    assay_status st = compile_refs(c, n);
    if (st != ASSAY_OK || (draft == DRAFT7 && n->ref))
        return st; /* Draft 7: $ref overrides its siblings */
    if (draft == DRAFT7 || (vocab & VOCAB_APPLICATOR))
        st = compile_applicators(c, n, draft);
    if (st == ASSAY_OK && draft == DRAFT2020 && (vocab & VOCAB_UNEVALUATED)) {
        st = need_schema(c, n, "unevaluatedItems", &n->unevaluated_items);
        if (st == ASSAY_OK)
            st = need_schema(c, n, "unevaluatedProperties",
                             &n->unevaluated_props);
        n->has_unevaluated = n->unevaluated_items || n->unevaluated_props;
    }
    if (st == ASSAY_OK && (draft == DRAFT7 || (vocab & VOCAB_VALIDATION)))
        st = compile_validation(c, n, draft);
    return st;
}

/* Compiles queued nodes until none is left. */
static assay_status drain(cctx *c)
{
    while (c->n_queue > 0) {
        snode *n = c->queue[--c->n_queue];
        assay_status st = compile_node(c, n);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/*
 * Compiles every $dynamicAnchor's schema, which a $dynamicRef may reach at
 * run time through the dynamic scope; repeats while that loads more.
 */
static assay_status compile_dynamic_anchors(cctx *c)
{
    bool more = true;
    while (more) {
        more = false;
        for (size_t i = 0; i < c->s->n_res; i++) {
            resource *r = c->s->res[i];
            for (size_t k = 0; k < r->n_anchors; k++) {
                if (!r->anchors[k].dynamic || r->anchors[k].node)
                    continue;
                snode *n;
                assay_status st = node_for(c, r->anchors[k].json, r, &n);
                if (st == ASSAY_OK)
                    st = drain(c);
                if (st != ASSAY_OK)
                    return st;
                r = c->s->res[i]; /* the array may have moved */
                r->anchors[k].node = n;
                more = true;
            }
        }
    }
    return ASSAY_OK;
}

void assay__schema_free(assay__schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_nodes; i++) {
        snode *n = s->nodes[i];
        pcre2_code_free(n->pattern);
        for (size_t k = 0; k < n->n_pattern_props; k++)
            pcre2_code_free(n->pattern_props[k].re);
        free(n->pattern_props);
        free(n->prefix);
        free(n->props);
        free(n->dep_required);
        free(n->dep_schemas);
        free(n->all_of);
        free(n->any_of);
        free(n->one_of);
        free(n);
    }
    free(s->nodes);
    for (size_t i = 0; i < s->n_res; i++) {
        for (size_t k = 0; k < s->res[i]->n_anchors; k++)
            free(s->res[i]->anchors[k].name);
        free(s->res[i]->anchors);
        free(s->res[i]->uri);
        free(s->res[i]);
    }
    free(s->res);
    free(s->places);
    for (size_t i = 0; i < s->n_docs; i++)
        cJSON_Delete(s->docs[i]);
    free(s->docs);
    pcre2_compile_context_free(s->cctx);
    pcre2_match_context_free(s->mctx);
    free(s);
}

static assay_status make_contexts(assay__schema *s, assay_error *err)
{
    s->cctx = pcre2_compile_context_create(NULL);
    s->mctx = pcre2_match_context_create(NULL);
    if (!s->cctx || !s->mctx)
        return oom(err);
    pcre2_set_compile_extra_options(s->cctx, PCRE2_EXTRA_ALT_BSUX);
    pcre2_set_match_limit(s->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(s->mctx, DEPTH_LIMIT);
    pcre2_set_heap_limit(s->mctx, HEAP_LIMIT_KIB);
    return ASSAY_OK;
}

assay_status assay__schema_compile(const cJSON *schema,
                                   const assay__schema_options *opts,
                                   assay__schema **out,
                                   assay__schema_fault *where, assay_error *err)
{
    *out = NULL;
    if (where) {
        where->in_schema = false;
        where->pointer[0] = '\0';
    }
    assay__schema *s = calloc(1, sizeof *s);
    if (!s)
        return oom(err);
    cctx c = {
        .s = s,
        .resolve = opts ? opts->resolve : NULL,
        .user_data = opts ? opts->user_data : NULL,
        .default_draft =
            opts && opts->draft == ASSAY__SCHEMA_DRAFT_7 ? DRAFT7 : DRAFT2020,
        .fault = where,
        .err = err,
    };
    assay_status st = make_contexts(s, err);
    cJSON *copy = st == ASSAY_OK ? cJSON_Duplicate(schema, true) : NULL;
    if (st == ASSAY_OK && !copy)
        st = oom(err);
    if (st == ASSAY_OK &&
        !reserve((void **)&s->docs, &s->cap_docs, 1, sizeof *s->docs)) {
        cJSON_Delete(copy);
        st = oom(err);
    }
    resource *root = NULL;
    if (st == ASSAY_OK) {
        s->docs[s->n_docs++] = copy;
        root = new_resource(&c, DEFAULT_BASE, strlen(DEFAULT_BASE), copy,
                            c.default_draft, VOCAB_ALL);
        if (!root)
            st = oom(err);
    }
    if (st == ASSAY_OK)
        st = walk(&c, copy, root, 0);
    if (st == ASSAY_OK) {
        const place *p = find_place(s, copy);
        if (p && p->res != root)
            root->alias = p->res; /* the schema's own $id names it */
        st = node_for(&c, copy, root, &s->root);
    }
    if (st == ASSAY_OK)
        st = drain(&c);
    if (st == ASSAY_OK)
        st = compile_dynamic_anchors(&c);
    free(c.queue);
    if (st != ASSAY_OK) {
        assay__schema_free(s);
        return st;
    }
    *out = s;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ validating */

typedef struct segment {
    const char *key; /* NULL: an array index */
    size_t index;
} segment;

typedef struct ref_frame {
    const snode *target;
    const cJSON *instance;
} ref_frame;

typedef struct vctx {
    const assay__schema *s;
    pcre2_match_data *md;
    int depth;
    segment path[MAX_DEPTH + 1];
    int n_path;
    const resource *scope[MAX_DEPTH + 1];
    int n_scope;
    ref_frame refs[MAX_DEPTH + 1];
    int n_refs;
    int mute;  /* >0: inside anyOf, oneOf, not, if, contains... */
    bool all;  /* collect several issues, not just the first */
    bool stop; /* the outcome is known: unwind */
    assay__schema_issue *issues;
    size_t max_issues, n_issues;
    bool failed;
    char muted[ASSAY__SCHEMA_TEXT]; /* the first failure while muted */
    bool have_muted;
    assay_status status;
    assay_error *err;
} vctx;

/* A hard error: validation cannot finish. */
static bool abort_with(vctx *v, assay_status st, const char *fmt, ...)
    ASSAY__PRINTF(3, 4);
static bool abort_with(vctx *v, assay_status st, const char *fmt, ...)
{
    if (v->status == ASSAY_OK) {
        va_list ap;
        va_start(ap, fmt);
        v->status = assay__error_v(v->err, st, NULL, 0, 0, fmt, ap);
        va_end(ap);
    }
    v->stop = true;
    return false;
}

static bool is_identifier(const char *s)
{
    if (!is_alpha(*s) && *s != '_')
        return false;
    for (s++; *s; s++)
        if (!is_alpha(*s) && *s != '_' && !(*s >= '0' && *s <= '9'))
            return false;
    return true;
}

/* Writes the current location as a JSON pointer and as a JSONPath. */
static void put_location(const vctx *v, assay__schema_issue *issue)
{
    assay__buf pointer, path;
    assay__buf_init(&pointer, sizeof issue->pointer - 4);
    assay__buf_init(&path, sizeof issue->path - 4);
    bool cut = assay__buf_putc(&path, '$') != ASSAY_OK;
    for (int i = 0; i < v->n_path && !cut; i++) {
        const segment *g = &v->path[i];
        assay_status a, b;
        if (!g->key) {
            a = assay__buf_printf(&pointer, "/%zu", g->index);
            b = assay__buf_printf(&path, "[%zu]", g->index);
        } else {
            a = put_token(&pointer, g->key);
            if (is_identifier(g->key)) {
                b = assay__buf_printf(&path, ".%s", g->key);
            } else {
                b = assay__buf_puts(&path, "['");
                for (const char *k = g->key; *k && b == ASSAY_OK; k++)
                    b = *k == '\'' || *k == '\\'
                            ? assay__buf_printf(&path, "\\%c", *k)
                            : assay__buf_putc(&path, *k);
                if (b == ASSAY_OK)
                    b = assay__buf_puts(&path, "']");
            }
        }
        cut = a != ASSAY_OK || b != ASSAY_OK;
    }
    snprintf(issue->pointer, sizeof issue->pointer, "%s%s", pointer.data,
             cut ? "..." : "");
    snprintf(issue->path, sizeof issue->path, "%s%s", path.data,
             cut ? "..." : "");
    assay__buf_release(&pointer);
    assay__buf_release(&path);
}

/* Writes a, sep and b into dst (`size` bytes), cutting what does not fit. */
static void join(char *dst, size_t size, const char *a, const char *sep,
                 const char *b)
{
    size_t used = 0;
    const char *parts[3] = {a, sep, b};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(parts[i]);
        if (n > size - 1 - used)
            n = size - 1 - used;
        memcpy(dst + used, parts[i], n);
        used += n;
    }
    dst[used] = '\0';
}

/* Records a failure at the current location. */
static void fail(vctx *v, const char *fmt, ...) ASSAY__PRINTF(2, 3);
static void fail(vctx *v, const char *fmt, ...)
{
    if (v->mute) {
        if (v->have_muted)
            return;
        assay__schema_issue where;
        char what[ASSAY__SCHEMA_TEXT];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        put_location(v, &where);
        join(v->muted, sizeof v->muted, where.path, ": ", what);
        v->have_muted = true;
        return;
    }
    v->failed = true;
    if (v->n_issues < v->max_issues) {
        assay__schema_issue *issue = &v->issues[v->n_issues++];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(issue->message, sizeof issue->message, fmt, ap);
        va_end(ap);
        put_location(v, issue);
    }
    if (!v->all || v->n_issues >= v->max_issues)
        v->stop = true;
}

/* Enters a region whose failures are not the instance's (anyOf, not...). */
static void mute(vctx *v)
{
    if (v->mute++ == 0)
        v->have_muted = false;
}

static void unmute(vctx *v)
{
    v->mute--;
}

/* The first failure seen while muted, for a summary message. */
static const char *muted_reason(const vctx *v)
{
    return v->have_muted ? v->muted : "";
}
#define OPEN_REASON(v) ((v)->have_muted ? " (first: " : "")
#define CLOSE_REASON(v) ((v)->have_muted ? ")" : "")

/* A value as messages quote it: "abc", 12, true, an object, ... */
typedef struct quoted {
    char text[QUOTE_MAX * 4 + 16];
} quoted;

static void quote_string(const char *s, quoted *q)
{
    assay__buf b;
    assay__buf_init(&b, sizeof q->text - 1);
    assay_status st = assay__buf_putc(&b, '"');
    size_t i = 0, n = strlen(s);
    while (i < n && i < QUOTE_MAX && st == ASSAY_OK) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            st = assay__buf_printf(&b, "\\%c", ch);
        else if (ch == '\n')
            st = assay__buf_puts(&b, "\\n");
        else if (ch < 0x20 || ch == 0x7F)
            st = assay__buf_printf(&b, "\\u%04x", ch);
        else
            st = assay__buf_putc(&b, (char)ch);
        i++;
    }
    while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80 && st == ASSAY_OK)
        st = assay__buf_putc(&b, s[i++]); /* finish the character */
    if (st == ASSAY_OK) /* a quote the cap cuts short is still shown */
        (void)assay__buf_puts(&b, i < n ? "...\"" : "\"");
    snprintf(q->text, sizeof q->text, "%s", b.data);
    assay__buf_release(&b);
}

static void quote_number(double x, quoted *q)
{
    assay__buf b;
    assay__buf_init(&b, sizeof q->text - 1);
    if (assay__text_put_double(&b, x) == ASSAY_OK)
        snprintf(q->text, sizeof q->text, "%s", b.data);
    else
        snprintf(q->text, sizeof q->text, "a number");
    assay__buf_release(&b);
}

static void quote(const cJSON *x, quoted *q)
{
    if (cJSON_IsString(x))
        quote_string(x->valuestring, q);
    else if (cJSON_IsNumber(x))
        quote_number(x->valuedouble, q);
    else if (cJSON_IsTrue(x))
        snprintf(q->text, sizeof q->text, "true");
    else if (cJSON_IsFalse(x))
        snprintf(q->text, sizeof q->text, "false");
    else if (cJSON_IsNull(x))
        snprintf(q->text, sizeof q->text, "null");
    else if (cJSON_IsArray(x))
        snprintf(q->text, sizeof q->text, "an array of %d item%s",
                 cJSON_GetArraySize(x), cJSON_GetArraySize(x) == 1 ? "" : "s");
    else
        snprintf(q->text, sizeof q->text, "an object");
}

/* Compact JSON of a schema value (enum, const), cut for messages. */
static void quote_json(const cJSON *x, quoted *q)
{
    char *text = cJSON_PrintUnformatted(x);
    if (!text) {
        snprintf(q->text, sizeof q->text, "%s", kind(x));
        return;
    }
    size_t n = strlen(text);
    if (n > QUOTE_MAX * 2) {
        size_t cut = QUOTE_MAX * 2;
        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
            cut--;
        snprintf(q->text, sizeof q->text, "%.*s...", (int)cut, text);
    } else {
        snprintf(q->text, sizeof q->text, "%s", text);
    }
    cJSON_free(text);
}

static unsigned type_of(const cJSON *x)
{
    if (cJSON_IsNull(x))
        return T_NULL;
    if (cJSON_IsBool(x))
        return T_BOOLEAN;
    if (cJSON_IsObject(x))
        return T_OBJECT;
    if (cJSON_IsArray(x))
        return T_ARRAY;
    if (cJSON_IsString(x))
        return T_STRING;
    return is_integral(x->valuedouble) ? (T_NUMBER | T_INTEGER) : T_NUMBER;
}

static bool v_node(vctx *v, const snode *n, const cJSON *x, uint8_t *ev_out);

static bool push_key(vctx *v, const char *key)
{
    v->path[v->n_path++] = (segment){key, 0};
    return true;
}

static bool push_index(vctx *v, size_t index)
{
    v->path[v->n_path++] = (segment){NULL, index};
    return true;
}

static void pop(vctx *v)
{
    v->n_path--;
}

static bool v_child_key(vctx *v, const snode *n, const cJSON *x,
                        const char *key)
{
    push_key(v, key);
    bool ok = v_node(v, n, x, NULL);
    pop(v);
    return ok;
}

static bool v_child_index(vctx *v, const snode *n, const cJSON *x, size_t index)
{
    push_index(v, index);
    bool ok = v_node(v, n, x, NULL);
    pop(v);
    return ok;
}

/* Follows a reference, refusing one that loops without consuming input. */
static bool v_follow(vctx *v, const snode *target, const cJSON *x, uint8_t *ev)
{
    for (int i = 0; i < v->n_refs; i++)
        if (v->refs[i].target == target && v->refs[i].instance == x) {
            assay__schema_issue at;
            put_location(v, &at);
            assay__buf where;
            assay__buf_init(&where, 200);
            for (size_t d = 0; d < v->s->n_docs; d++)
                if (pointer_to(v->s->docs[d], target->json, &where, 0))
                    break;
            abort_with(v, ASSAY_ERR_CHECK,
                       "the schema loops: a reference reaches #%s again "
                       "at %s without consuming any of the instance",
                       where.data, at.path);
            assay__buf_release(&where);
            return false;
        }
    v->refs[v->n_refs++] = (ref_frame){target, x};
    bool ok = v_node(v, target, x, ev);
    v->n_refs--;
    return ok;
}

static bool v_dynamic_ref(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    const snode *target = n->dynamic_ref;
    if (n->dynamic_name) {
        /* the outermost resource in scope with that $dynamicAnchor */
        for (int i = 0; i < v->n_scope; i++) {
            const anchor *a = find_anchor(v->scope[i], n->dynamic_name, true);
            if (a && a->node) {
                target = a->node;
                break;
            }
        }
    }
    return v_follow(v, target, x, ev);
}

static bool v_type(vctx *v, const snode *n, const cJSON *x)
{
    if (type_of(x) & n->types)
        return true;
    char names[128] = "";
    size_t used = 0;
    int count = 0;
    for (unsigned i = 0; i < N_TYPES; i++)
        if (n->types & (1u << i))
            count++;
    int k = 0;
    for (unsigned i = 0; i < N_TYPES && used < sizeof names; i++) {
        if (!(n->types & (1u << i)))
            continue;
        int w = snprintf(names + used, sizeof names - used, "%s%s",
                         k == 0           ? ""
                         : k == count - 1 ? " or "
                                          : ", ",
                         type_names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
        k++;
    }
    quoted q;
    quote(x, &q);
    fail(v, "%s is not of type %s", q.text, names);
    return false;
}

/*
 * JSON equality: numbers by value (1 equals 1.0) but exactly, where
 * cJSON_Compare allows a relative epsilon that makes 2^53 equal 2^53 - 1;
 * objects regardless of member order.
 */
static bool json_equal(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    if ((a->type & 0xFF) != (b->type & 0xFF))
        return false;
    if (cJSON_IsString(a))
        return !strcmp(a->valuestring, b->valuestring);
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!json_equal(x, y))
                return false;
        return !x && !y;
    }
    if (cJSON_IsObject(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return false;
        const cJSON *x;
        cJSON_ArrayForEach (x, a) {
            const cJSON *y = get(b, x->string);
            if (!y || !json_equal(x, y))
                return false;
        }
        return true;
    }
    return true; /* null, true, false: the type says it all */
}

static bool v_enum_const(vctx *v, const snode *n, const cJSON *x)
{
    quoted q, want;
    if (n->const_value && !json_equal(x, n->const_value)) {
        quote(x, &q);
        quote_json(n->const_value, &want);
        fail(v, "%s is not equal to the constant %s", q.text, want.text);
        return false;
    }
    if (n->enum_values) {
        const cJSON *e;
        cJSON_ArrayForEach (e, n->enum_values)
            if (json_equal(x, e))
                return true;
        quote(x, &q);
        quote_json(n->enum_values, &want);
        fail(v, "%s is not one of %s", q.text, want.text);
        return false;
    }
    return true;
}

static bool is_multiple(double x, double m)
{
    if (is_integral(x) && is_integral(m) && fabs(x) < 9007199254740992.0 &&
        fabs(m) < 9007199254740992.0)
        return fmod(x, m) == 0;
    double q = x / m;
    if (!isfinite(q))
        return fmod(x, m) == 0; /* the quotient overflows; the rest may not */
    return fabs(q - round(q)) < 1e-9;
}

static bool v_number(vctx *v, const snode *n, const cJSON *x)
{
    double d = x->valuedouble;
    quoted q, lim;
    bool ok = true;
#define NUMBER_RULE(cond, limit, phrase)                                       \
    if (!isnan(limit) && !(cond)) {                                            \
        quote(x, &q);                                                          \
        quote_number(limit, &lim);                                             \
        fail(v, "%s " phrase " %s", q.text, lim.text);                         \
        ok = false;                                                            \
        if (v->stop || v->mute)                                                \
            return false;                                                      \
    }
    NUMBER_RULE(d >= n->minimum, n->minimum, "is less than the minimum")
    NUMBER_RULE(d <= n->maximum, n->maximum, "is greater than the maximum")
    NUMBER_RULE(d > n->exclusive_minimum, n->exclusive_minimum,
                "is not greater than the exclusive minimum")
    NUMBER_RULE(d < n->exclusive_maximum, n->exclusive_maximum,
                "is not less than the exclusive maximum")
    NUMBER_RULE(is_multiple(d, n->multiple_of), n->multiple_of,
                "is not a multiple of")
#undef NUMBER_RULE
    return ok;
}

static size_t code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Searches `subject` for a compiled pattern; *hit says whether it matched. */
static bool v_search(vctx *v, const pcre2_code *re, const char *source,
                     const char *subject, bool *hit)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, v->md,
                         v->s->mctx);
    *hit = rc >= 0;
    if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH)
        return true;
    if (rc == PCRE2_ERROR_NOMEMORY)
        return abort_with(v, ASSAY_ERR_NOMEM, "out of memory");
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT)
        return abort_with(v, ASSAY_ERR_LIMIT,
                          "the pattern '%s' backtracks too much on this "
                          "string (gave up at PCRE2's match limits)",
                          source);
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
        snprintf((char *)msg, sizeof msg, "error %d", rc);
    return abort_with(v, ASSAY_ERR_CHECK, "matching '%s' failed: %s", source,
                      (const char *)msg);
}

static bool v_string(vctx *v, const snode *n, const cJSON *x)
{
    quoted q;
    bool ok = true;
    if (!isnan(n->min_length) || !isnan(n->max_length)) {
        double len = (double)code_points(x->valuestring);
        if (len < n->min_length) {
            quote(x, &q);
            fail(v, "%s is shorter than %.0f character%s", q.text,
                 n->min_length, n->min_length == 1 ? "" : "s");
            ok = false;
        } else if (len > n->max_length) {
            quote(x, &q);
            fail(v, "%s is longer than %.0f character%s", q.text, n->max_length,
                 n->max_length == 1 ? "" : "s");
            ok = false;
        }
        if (!ok && (v->stop || v->mute))
            return false;
    }
    if (n->pattern) {
        bool hit;
        if (!v_search(v, n->pattern, n->pattern_source, x->valuestring, &hit))
            return false;
        if (!hit) {
            quote(x, &q);
            fail(v, "%s does not match the pattern /%s/", q.text,
                 n->pattern_source);
            ok = false;
        }
    }
    return ok;
}

static uint8_t *new_marks(vctx *v, size_t n)
{
    uint8_t *m = calloc(n ? n : 1, 1);
    if (!m)
        abort_with(v, ASSAY_ERR_NOMEM, "out of memory");
    return m;
}

static bool v_contains(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    size_t matched = 0, i = 0;
    const cJSON *e;
    mute(v);
    cJSON_ArrayForEach (e, x) {
        push_index(v, i);
        bool ok = v_node(v, n->contains, e, NULL);
        pop(v);
        if (v->status != ASSAY_OK)
            break;
        if (ok) {
            matched++;
            if (ev)
                ev[i] = 1;
        }
        i++;
    }
    unmute(v);
    if (v->status != ASSAY_OK)
        return false;
    double min = isnan(n->min_contains) ? 1 : n->min_contains;
    if ((double)matched < min) {
        if (matched == 0)
            fail(v, "no item matches the 'contains' schema");
        else
            fail(v,
                 "%zu item%s match%s the 'contains' schema, fewer than "
                 "minContains %.0f",
                 matched, matched == 1 ? "" : "s", matched == 1 ? "es" : "",
                 min);
        return false;
    }
    if ((double)matched > n->max_contains) {
        fail(v,
             "%zu items match the 'contains' schema, more than "
             "maxContains %.0f",
             matched, n->max_contains);
        return false;
    }
    return true;
}

static bool v_array_items(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    bool ok = true;
    size_t i = 0;
    const cJSON *e;
    size_t size = (size_t)cJSON_GetArraySize(x);
    cJSON_ArrayForEach (e, x) {
        const snode *sub = i < n->n_prefix ? n->prefix[i] : n->items;
        if (!sub)
            break;
        if (sub->boolean && !sub->bool_value) {
            fail(v,
                 "the array has %zu items; no item is allowed after "
                 "the first %zu",
                 size, i);
            return false;
        }
        if (v_child_index(v, sub, e, i)) {
            if (ev)
                ev[i] = 1;
        } else {
            ok = false;
            if (v->stop || v->mute)
                return false;
        }
        i++;
    }
    return ok;
}

static bool v_unique(vctx *v, const cJSON *x)
{
    size_t i = 0;
    for (const cJSON *a = x->child; a; a = a->next, i++) {
        size_t k = i + 1;
        for (const cJSON *b = a->next; b; b = b->next, k++)
            if (json_equal(a, b)) {
                fail(v,
                     "items %zu and %zu are equal; the items must be "
                     "unique",
                     i, k);
                return false;
            }
    }
    return true;
}

#define STEP(expr)                                                             \
    do {                                                                       \
        if (!(expr)) {                                                         \
            ok = false;                                                        \
            if (v->stop || v->mute)                                            \
                return false;                                                  \
        }                                                                      \
    } while (0)

static bool v_array(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    bool ok = true;
    double size = (double)cJSON_GetArraySize(x);
    if (size < n->min_items) {
        fail(v, "the array has %.0f item%s, fewer than the minimum %.0f", size,
             size == 1 ? "" : "s", n->min_items);
        STEP(false);
    }
    if (size > n->max_items) {
        fail(v, "the array has %.0f items, more than the maximum %.0f", size,
             n->max_items);
        STEP(false);
    }
    if (n->unique_items)
        STEP(v_unique(v, x));
    if (n->n_prefix || n->items)
        STEP(v_array_items(v, n, x, ev));
    if (n->contains)
        STEP(v_contains(v, n, x, ev));
    return ok;
}

static bool v_unevaluated_items(vctx *v, const snode *n, const cJSON *x,
                                uint8_t *ev)
{
    bool ok = true;
    size_t i = 0;
    const cJSON *e;
    const snode *sub = n->unevaluated_items;
    cJSON_ArrayForEach (e, x) {
        if (!ev[i]) {
            if (sub->boolean && !sub->bool_value) {
                fail(v,
                     "item %zu is not allowed (no keyword evaluates it "
                     "and unevaluatedItems is false)",
                     i);
                return false;
            }
            STEP(v_child_index(v, sub, e, i));
            ev[i] = 1;
        }
        i++;
    }
    return ok;
}

static const snode *find_prop(const snode *n, const char *name)
{
    for (size_t i = 0; i < n->n_props; i++)
        if (!strcmp(n->props[i].name, name))
            return n->props[i].schema;
    return NULL;
}

/* properties, patternProperties and additionalProperties, member by member */
static bool v_members(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    bool ok = true;
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach (m, x) {
        bool seen = false;
        const snode *sub = find_prop(n, m->string);
        if (sub) {
            seen = true;
            STEP(v_child_key(v, sub, m, m->string));
        }
        for (size_t k = 0; k < n->n_pattern_props; k++) {
            bool hit;
            const pattern_prop *pp = &n->pattern_props[k];
            if (!v_search(v, pp->re, pp->source, m->string, &hit))
                return false;
            if (hit) {
                seen = true;
                STEP(v_child_key(v, pp->schema, m, m->string));
            }
        }
        if (!seen && n->additional_props) {
            seen = true;
            if (n->additional_props->boolean &&
                !n->additional_props->bool_value) {
                quoted q;
                quote_string(m->string, &q);
                fail(v, "the property %s is not allowed", q.text);
                STEP(false);
            } else {
                STEP(v_child_key(v, n->additional_props, m, m->string));
            }
        }
        if (seen && ev)
            ev[i] = 1;
        i++;
    }
    return ok;
}

static bool v_property_names(vctx *v, const snode *n, const cJSON *x)
{
    const cJSON *m;
    cJSON_ArrayForEach (m, x) {
        cJSON name;
        memset(&name, 0, sizeof name);
        name.type = cJSON_String;
        name.valuestring = m->string;
        quoted q;
        quote_string(m->string, &q);
        mute(v);
        bool ok = v_node(v, n->property_names, &name, NULL);
        unmute(v);
        if (v->status != ASSAY_OK)
            return false;
        if (!ok) {
            if (n->property_names->boolean)
                fail(v, "the property name %s is not allowed", q.text);
            else
                fail(v, "the property name %s is not valid: %s", q.text,
                     muted_reason(v));
            return false;
        }
    }
    return true;
}

static bool v_required(vctx *v, const snode *n, const cJSON *x)
{
    bool ok = true;
    const cJSON *r;
    cJSON_ArrayForEach (r, n->required) {
        if (!get(x, r->valuestring)) {
            quoted q;
            quote_string(r->valuestring, &q);
            fail(v, "the required property %s is missing", q.text);
            STEP(false);
        }
    }
    for (size_t i = 0; i < n->n_dep_required; i++) {
        if (!get(x, n->dep_required[i].name))
            continue;
        cJSON_ArrayForEach (r, n->dep_required[i].names) {
            if (!get(x, r->valuestring)) {
                quoted q, d;
                quote_string(r->valuestring, &q);
                quote_string(n->dep_required[i].name, &d);
                fail(v, "the property %s is required when %s is present",
                     q.text, d.text);
                STEP(false);
            }
        }
    }
    return ok;
}

static bool v_object(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    bool ok = true;
    if (n->required || n->n_dep_required)
        STEP(v_required(v, n, x));
    double size = (double)cJSON_GetArraySize(x);
    if (size < n->min_props) {
        fail(v, "the object has %.0f propert%s, fewer than the minimum %.0f",
             size, size == 1 ? "y" : "ies", n->min_props);
        STEP(false);
    }
    if (size > n->max_props) {
        fail(v, "the object has %.0f properties, more than the maximum %.0f",
             size, n->max_props);
        STEP(false);
    }
    if (n->n_props || n->n_pattern_props || n->additional_props)
        STEP(v_members(v, n, x, ev));
    if (n->property_names)
        STEP(v_property_names(v, n, x));
    for (size_t i = 0; i < n->n_dep_schemas; i++)
        if (get(x, n->dep_schemas[i].name))
            STEP(v_node(v, n->dep_schemas[i].schema, x, ev));
    return ok;
}

static bool v_unevaluated_props(vctx *v, const snode *n, const cJSON *x,
                                uint8_t *ev)
{
    bool ok = true;
    size_t i = 0;
    const cJSON *m;
    const snode *sub = n->unevaluated_props;
    cJSON_ArrayForEach (m, x) {
        if (!ev[i]) {
            if (sub->boolean && !sub->bool_value) {
                quoted q;
                quote_string(m->string, &q);
                fail(v,
                     "the property %s is not allowed (no keyword "
                     "evaluates it and unevaluatedProperties is false)",
                     q.text);
                STEP(false);
            } else {
                STEP(v_child_key(v, sub, m, m->string));
            }
            ev[i] = 1;
        }
        i++;
    }
    return ok;
}

static bool v_any_of(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    bool any = false;
    mute(v);
    for (size_t i = 0; i < n->n_any_of && v->status == ASSAY_OK; i++) {
        if (v_node(v, n->any_of[i], x, ev)) {
            any = true;
            if (!ev)
                break; /* annotations need every passing branch */
        }
    }
    unmute(v);
    if (v->status != ASSAY_OK)
        return false;
    if (!any)
        fail(v, "matches none of the anyOf schemas%s%s%s", OPEN_REASON(v),
             muted_reason(v), CLOSE_REASON(v));
    return any;
}

static bool v_one_of(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    size_t passed = 0, first = 0, second = 0;
    mute(v);
    for (size_t i = 0; i < n->n_one_of && passed < 2 && v->status == ASSAY_OK;
         i++) {
        if (v_node(v, n->one_of[i], x, ev)) {
            if (passed++ == 0)
                first = i;
            else
                second = i;
        }
    }
    unmute(v);
    if (v->status != ASSAY_OK)
        return false;
    if (passed == 0)
        fail(v, "matches none of the oneOf schemas%s%s%s", OPEN_REASON(v),
             muted_reason(v), CLOSE_REASON(v));
    else if (passed > 1)
        fail(v, "matches oneOf schemas %zu and %zu; exactly one must match",
             first, second);
    return passed == 1;
}

static bool v_not(vctx *v, const snode *n, const cJSON *x)
{
    mute(v);
    bool matched = v_node(v, n->not_schema, x, NULL);
    unmute(v);
    if (v->status != ASSAY_OK)
        return false;
    if (matched) {
        quoted q;
        quote(x, &q);
        fail(v, "%s matches the 'not' schema, which it must not", q.text);
    }
    return !matched;
}

static bool v_conditional(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    mute(v);
    bool cond = v_node(v, n->if_schema, x, ev);
    unmute(v);
    if (v->status != ASSAY_OK)
        return false;
    const snode *branch = cond ? n->then_schema : n->else_schema;
    return !branch || v_node(v, branch, x, ev);
}

/* The in-place applicators, which evaluate the same instance location. */
static bool v_in_place(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    bool ok = true;
    if (n->ref)
        STEP(v_follow(v, n->ref, x, ev));
    if (n->dynamic_ref)
        STEP(v_dynamic_ref(v, n, x, ev));
    for (size_t i = 0; i < n->n_all_of; i++)
        STEP(v_node(v, n->all_of[i], x, ev));
    if (n->n_any_of)
        STEP(v_any_of(v, n, x, ev));
    if (n->n_one_of)
        STEP(v_one_of(v, n, x, ev));
    if (n->not_schema)
        STEP(v_not(v, n, x));
    if (n->if_schema)
        STEP(v_conditional(v, n, x, ev));
    return ok;
}

/* Every keyword of `n` but the unevaluated ones. */
static bool v_keywords(vctx *v, const snode *n, const cJSON *x, uint8_t *ev)
{
    bool ok = true;
    if (n->types)
        STEP(v_type(v, n, x));
    if (n->const_value || n->enum_values)
        STEP(v_enum_const(v, n, x));
    if (cJSON_IsNumber(x))
        STEP(v_number(v, n, x));
    else if (cJSON_IsString(x))
        STEP(v_string(v, n, x));
    else if (cJSON_IsArray(x))
        STEP(v_array(v, n, x, ev));
    else if (cJSON_IsObject(x))
        STEP(v_object(v, n, x, ev));
    STEP(v_in_place(v, n, x, ev));
    if (cJSON_IsArray(x) && n->unevaluated_items)
        STEP(v_unevaluated_items(v, n, x, ev));
    if (cJSON_IsObject(x) && n->unevaluated_props)
        STEP(v_unevaluated_props(v, n, x, ev));
    return ok;
}

/*
 * Validates `x` against node `n`. When `ev_out` is given (one byte per
 * member or item of `x`), the members and items that `n` evaluated are
 * marked in it, if `n` passes: that is what unevaluated* keywords read.
 */
static bool v_node(vctx *v, const snode *n, const cJSON *x, uint8_t *ev_out)
{
    if (n->boolean) {
        if (!n->bool_value)
            fail(v, "no value is allowed here (the schema is false)");
        return n->bool_value;
    }
    if (v->depth >= MAX_DEPTH)
        return abort_with(v, ASSAY_ERR_LIMIT,
                          "the instance and its schema nest deeper than %d "
                          "levels",
                          MAX_DEPTH);
    v->depth++;
    bool entered = v->n_scope == 0 || v->scope[v->n_scope - 1] != n->res;
    if (entered)
        v->scope[v->n_scope++] = n->res;

    /* the members and items evaluated, kept only when someone reads them */
    size_t count = 0;
    uint8_t *ev = NULL;
    if ((ev_out || n->has_unevaluated) &&
        (cJSON_IsObject(x) || cJSON_IsArray(x)))
        count = (size_t)cJSON_GetArraySize(x);
    if (count)
        ev = new_marks(v, count);
    bool ok = v->status == ASSAY_OK && v_keywords(v, n, x, ev);
    if (ok && ev_out && ev)
        for (size_t i = 0; i < count; i++)
            ev_out[i] |= ev[i];
    free(ev);

    if (entered)
        v->n_scope--;
    v->depth--;
    return ok;
}

assay_status assay__schema_validate(const assay__schema *s,
                                    const cJSON *instance, bool *valid,
                                    assay__schema_issue *issues,
                                    size_t max_issues, size_t *n_issues,
                                    assay_error *err)
{
    *valid = false;
    if (n_issues)
        *n_issues = 0;
    vctx *v = calloc(1, sizeof *v);
    if (!v)
        return oom(err);
    v->s = s;
    v->err = err;
    v->issues = issues;
    v->max_issues = issues ? max_issues : 0;
    v->all = v->max_issues > 1;
    v->md = pcre2_match_data_create(1, NULL);
    if (!v->md) {
        free(v);
        return oom(err);
    }
    bool ok = v_node(v, s->root, instance, NULL);
    assay_status st = v->status;
    if (st == ASSAY_OK) {
        *valid = ok && !v->failed;
        if (n_issues)
            *n_issues = v->n_issues;
    }
    pcre2_match_data_free(v->md);
    free(v);
    return st;
}

/* ------------------------------------------------------------ meta-schemas */

/*
 * The meta-schemas of the two drafts, as json-schema.org publishes them, so
 * that a schema may refer to them ("$ref": "http://json-schema.org/draft-07/
 * schema#") and validate schemas. Written compactly, one keyword a line.
 */
#define META_2020 "https://json-schema.org/draft/2020-12/"

static const char draft7_schema[] =
    "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
    "\"$id\":\"http://json-schema.org/draft-07/schema#\","
    "\"title\":\"Core schema meta-schema\","
    "\"definitions\":{"
    "\"schemaArray\":{\"type\":\"array\",\"minItems\":1,"
    "\"items\":{\"$ref\":\"#\"}},"
    "\"nonNegativeInteger\":{\"type\":\"integer\",\"minimum\":0},"
    "\"nonNegativeIntegerDefault0\":{\"allOf\":["
    "{\"$ref\":\"#/definitions/nonNegativeInteger\"},{\"default\":0}]},"
    "\"simpleTypes\":{\"enum\":[\"array\",\"boolean\",\"integer\",\"null\","
    "\"number\",\"object\",\"string\"]},"
    "\"stringArray\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
    "\"uniqueItems\":true,\"default\":[]}},"
    "\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{"
    "\"$id\":{\"type\":\"string\",\"format\":\"uri-reference\"},"
    "\"$schema\":{\"type\":\"string\",\"format\":\"uri\"},"
    "\"$ref\":{\"type\":\"string\",\"format\":\"uri-reference\"},"
    "\"$comment\":{\"type\":\"string\"},"
    "\"title\":{\"type\":\"string\"},"
    "\"description\":{\"type\":\"string\"},"
    "\"default\":true,"
    "\"readOnly\":{\"type\":\"boolean\",\"default\":false},"
    "\"writeOnly\":{\"type\":\"boolean\",\"default\":false},"
    "\"examples\":{\"type\":\"array\",\"items\":true},"
    "\"multipleOf\":{\"type\":\"number\",\"exclusiveMinimum\":0},"
    "\"maximum\":{\"type\":\"number\"},"
    "\"exclusiveMaximum\":{\"type\":\"number\"},"
    "\"minimum\":{\"type\":\"number\"},"
    "\"exclusiveMinimum\":{\"type\":\"number\"},"
    "\"maxLength\":{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
    "\"minLength\":{\"$ref\":\"#/definitions/nonNegativeIntegerDefault0\"},"
    "\"pattern\":{\"type\":\"string\",\"format\":\"regex\"},"
    "\"additionalItems\":{\"$ref\":\"#\"},"
    "\"items\":{\"anyOf\":[{\"$ref\":\"#\"},"
    "{\"$ref\":\"#/definitions/schemaArray\"}],\"default\":true},"
    "\"maxItems\":{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
    "\"minItems\":{\"$ref\":\"#/definitions/nonNegativeIntegerDefault0\"},"
    "\"uniqueItems\":{\"type\":\"boolean\",\"default\":false},"
    "\"contains\":{\"$ref\":\"#\"},"
    "\"maxProperties\":{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
    "\"minProperties\":"
    "{\"$ref\":\"#/definitions/nonNegativeIntegerDefault0\"},"
    "\"required\":{\"$ref\":\"#/definitions/stringArray\"},"
    "\"additionalProperties\":{\"$ref\":\"#\"},"
    "\"definitions\":{\"type\":\"object\","
    "\"additionalProperties\":{\"$ref\":\"#\"},\"default\":{}},"
    "\"properties\":{\"type\":\"object\","
    "\"additionalProperties\":{\"$ref\":\"#\"},\"default\":{}},"
    "\"patternProperties\":{\"type\":\"object\","
    "\"additionalProperties\":{\"$ref\":\"#\"},"
    "\"propertyNames\":{\"format\":\"regex\"},\"default\":{}},"
    "\"dependencies\":{\"type\":\"object\",\"additionalProperties\":{"
    "\"anyOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#/definitions/stringArray\"}]}},"
    "\"propertyNames\":{\"$ref\":\"#\"},"
    "\"const\":true,"
    "\"enum\":{\"type\":\"array\",\"items\":true},"
    "\"type\":{\"anyOf\":[{\"$ref\":\"#/definitions/simpleTypes\"},"
    "{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/simpleTypes\"},"
    "\"minItems\":1,\"uniqueItems\":true}]},"
    "\"format\":{\"type\":\"string\"},"
    "\"contentMediaType\":{\"type\":\"string\"},"
    "\"contentEncoding\":{\"type\":\"string\"},"
    "\"if\":{\"$ref\":\"#\"},"
    "\"then\":{\"$ref\":\"#\"},"
    "\"else\":{\"$ref\":\"#\"},"
    "\"allOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
    "\"anyOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
    "\"oneOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
    "\"not\":{\"$ref\":\"#\"}},"
    "\"default\":true}";

static const char schema_2020[] =
    "{\"$schema\":\"" META_2020 "schema\","
    "\"$id\":\"" META_2020 "schema\","
    "\"$vocabulary\":{"
    "\"" META_2020 "vocab/core\":true,"
    "\"" META_2020 "vocab/applicator\":true,"
    "\"" META_2020 "vocab/unevaluated\":true,"
    "\"" META_2020 "vocab/validation\":true,"
    "\"" META_2020 "vocab/meta-data\":true,"
    "\"" META_2020 "vocab/format-annotation\":true,"
    "\"" META_2020 "vocab/content\":true},"
    "\"$dynamicAnchor\":\"meta\","
    "\"title\":\"Core and Validation specifications meta-schema\","
    "\"allOf\":["
    "{\"$ref\":\"meta/core\"},"
    "{\"$ref\":\"meta/applicator\"},"
    "{\"$ref\":\"meta/unevaluated\"},"
    "{\"$ref\":\"meta/validation\"},"
    "{\"$ref\":\"meta/meta-data\"},"
    "{\"$ref\":\"meta/format-annotation\"},"
    "{\"$ref\":\"meta/content\"}],"
    "\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{"
    "\"definitions\":{\"type\":\"object\","
    "\"additionalProperties\":{\"$dynamicRef\":\"#meta\"},"
    "\"deprecated\":true,\"default\":{}},"
    "\"dependencies\":{\"type\":\"object\",\"additionalProperties\":{"
    "\"anyOf\":[{\"$dynamicRef\":\"#meta\"},"
    "{\"$ref\":\"meta/validation#/$defs/stringArray\"}]},"
    "\"deprecated\":true,\"default\":{}},"
    "\"$recursiveAnchor\":{\"$ref\":\"meta/core#/$defs/anchorString\","
    "\"deprecated\":true},"
    "\"$recursiveRef\":{\"$ref\":\"meta/core#/$defs/uriReferenceString\","
    "\"deprecated\":true}}}";

static const char core_2020[] =
    "{\"$schema\":\"" META_2020 "schema\","
    "\"$id\":\"" META_2020 "meta/core\","
    "\"$vocabulary\":{\"" META_2020 "vocab/core\":true},"
    "\"$dynamicAnchor\":\"meta\","
    "\"title\":\"Core vocabulary meta-schema\","
    "\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{"
    "\"$id\":{\"$ref\":\"#/$defs/uriReferenceString\","
    "\"pattern\":\"^[^#]*#?$\"},"
    "\"$schema\":{\"$ref\":\"#/$defs/uriString\"},"
    "\"$ref\":{\"$ref\":\"#/$defs/uriReferenceString\"},"
    "\"$anchor\":{\"$ref\":\"#/$defs/anchorString\"},"
    "\"$dynamicRef\":{\"$ref\":\"#/$defs/uriReferenceString\"},"
    "\"$dynamicAnchor\":{\"$ref\":\"#/$defs/anchorString\"},"
    "\"$vocabulary\":{\"type\":\"object\","
    "\"propertyNames\":{\"$ref\":\"#/$defs/uriString\"},"
    "\"additionalProperties\":{\"type\":\"boolean\"}},"
    "\"$comment\":{\"type\":\"string\"},"
    "\"$defs\":{\"type\":\"object\","
    "\"additionalProperties\":{\"$dynamicRef\":\"#meta\"}}},"
    "\"$defs\":{"
    "\"anchorString\":{\"type\":\"string\","
    "\"pattern\":\"^[A-Za-z_][-A-Za-z0-9._]*$\"},"
    "\"uriString\":{\"type\":\"string\",\"format\":\"uri\"},"
    "\"uriReferenceString\":{\"type\":\"string\","
    "\"format\":\"uri-reference\"}}}";

static const char applicator_2020[] =
    "{\"$schema\":\"" META_2020 "schema\","
    "\"$id\":\"" META_2020 "meta/applicator\","
    "\"$vocabulary\":{\"" META_2020 "vocab/applicator\":true},"
    "\"$dynamicAnchor\":\"meta\","
    "\"title\":\"Applicator vocabulary meta-schema\","
    "\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{"
    "\"prefixItems\":{\"$ref\":\"#/$defs/schemaArray\"},"
    "\"items\":{\"$dynamicRef\":\"#meta\"},"
    "\"contains\":{\"$dynamicRef\":\"#meta\"},"
    "\"additionalProperties\":{\"$dynamicRef\":\"#meta\"},"
    "\"properties\":{\"type\":\"object\","
    "\"additionalProperties\":{\"$dynamicRef\":\"#meta\"},\"default\":{}},"
    "\"patternProperties\":{\"type\":\"object\","
    "\"additionalProperties\":{\"$dynamicRef\":\"#meta\"},"
    "\"propertyNames\":{\"format\":\"regex\"},\"default\":{}},"
    "\"dependentSchemas\":{\"type\":\"object\","
    "\"additionalProperties\":{\"$dynamicRef\":\"#meta\"},\"default\":{}},"
    "\"propertyNames\":{\"$dynamicRef\":\"#meta\"},"
    "\"if\":{\"$dynamicRef\":\"#meta\"},"
    "\"then\":{\"$dynamicRef\":\"#meta\"},"
    "\"else\":{\"$dynamicRef\":\"#meta\"},"
    "\"allOf\":{\"$ref\":\"#/$defs/schemaArray\"},"
    "\"anyOf\":{\"$ref\":\"#/$defs/schemaArray\"},"
    "\"oneOf\":{\"$ref\":\"#/$defs/schemaArray\"},"
    "\"not\":{\"$dynamicRef\":\"#meta\"}},"
    "\"$defs\":{\"schemaArray\":{\"type\":\"array\",\"minItems\":1,"
    "\"items\":{\"$dynamicRef\":\"#meta\"}}}}";

static const char unevaluated_2020[] =
    "{\"$schema\":\"" META_2020 "schema\","
    "\"$id\":\"" META_2020 "meta/unevaluated\","
    "\"$vocabulary\":{\"" META_2020 "vocab/unevaluated\":true},"
    "\"$dynamicAnchor\":\"meta\","
    "\"title\":\"Unevaluated applicator vocabulary meta-schema\","
    "\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{"
    "\"unevaluatedItems\":{\"$dynamicRef\":\"#meta\"},"
    "\"unevaluatedProperties\":{\"$dynamicRef\":\"#meta\"}}}";

static const char validation_2020[] =
    "{\"$schema\":\"" META_2020 "schema\","
    "\"$id\":\"" META_2020 "meta/validation\","
    "\"$vocabulary\":{\"" META_2020 "vocab/validation\":true},"
    "\"$dynamicAnchor\":\"meta\","
    "\"title\":\"Validation vocabulary meta-schema\","
    "\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{"
    "\"type\":{\"anyOf\":[{\"$ref\":\"#/$defs/simpleTypes\"},"
    "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/simpleTypes\"},"
    "\"minItems\":1,\"uniqueItems\":true}]},"
    "\"const\":true,"
    "\"enum\":{\"type\":\"array\",\"items\":true},"
    "\"multipleOf\":{\"type\":\"number\",\"exclusiveMinimum\":0},"
    "\"maximum\":{\"type\":\"number\"},"
    "\"exclusiveMaximum\":{\"type\":\"number\"},"
    "\"minimum\":{\"type\":\"number\"},"
    "\"exclusiveMinimum\":{\"type\":\"number\"},"
    "\"maxLength\":{\"$ref\":\"#/$defs/nonNegativeInteger\"},"
    "\"minLength\":{\"$ref\":\"#/$defs/nonNegativeIntegerDefault0\"},"
    "\"pattern\":{\"type\":\"string\",\"format\":\"regex\"},"
    "\"maxItems\":{\"$ref\":\"#/$defs/nonNegativeInteger\"},"
    "\"minItems\":{\"$ref\":\"#/$defs/nonNegativeIntegerDefault0\"},"
    "\"uniqueItems\":{\"type\":\"boolean\",\"default\":false},"
    "\"maxContains\":{\"$ref\":\"#/$defs/nonNegativeInteger\"},"
    "\"minContains\":{\"$ref\":\"#/$defs/nonNegativeInteger\","
    "\"default\":1},"
    "\"maxProperties\":{\"$ref\":\"#/$defs/nonNegativeInteger\"},"
    "\"minProperties\":{\"$ref\":\"#/$defs/nonNegativeIntegerDefault0\"},"
    "\"required\":{\"$ref\":\"#/$defs/stringArray\"},"
    "\"dependentRequired\":{\"type\":\"object\","
    "\"additionalProperties\":{\"$ref\":\"#/$defs/stringArray\"}}},"
    "\"$defs\":{"
    "\"nonNegativeInteger\":{\"type\":\"integer\",\"minimum\":0},"
    "\"nonNegativeIntegerDefault0\":"
    "{\"$ref\":\"#/$defs/nonNegativeInteger\",\"default\":0},"
    "\"simpleTypes\":{\"enum\":[\"array\",\"boolean\",\"integer\",\"null\","
    "\"number\",\"object\",\"string\"]},"
    "\"stringArray\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
    "\"uniqueItems\":true,\"default\":[]}}}";

static const char meta_data_2020[] =
    "{\"$schema\":\"" META_2020 "schema\","
    "\"$id\":\"" META_2020 "meta/meta-data\","
    "\"$vocabulary\":{\"" META_2020 "vocab/meta-data\":true},"
    "\"$dynamicAnchor\":\"meta\","
    "\"title\":\"Meta-data vocabulary meta-schema\","
    "\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{"
    "\"title\":{\"type\":\"string\"},"
    "\"description\":{\"type\":\"string\"},"
    "\"default\":true,"
    "\"deprecated\":{\"type\":\"boolean\",\"default\":false},"
    "\"readOnly\":{\"type\":\"boolean\",\"default\":false},"
    "\"writeOnly\":{\"type\":\"boolean\",\"default\":false},"
    "\"examples\":{\"type\":\"array\",\"items\":true}}}";

static const char format_annotation_2020[] =
    "{\"$schema\":\"" META_2020 "schema\","
    "\"$id\":\"" META_2020 "meta/format-annotation\","
    "\"$vocabulary\":{\"" META_2020 "vocab/format-annotation\":true},"
    "\"$dynamicAnchor\":\"meta\","
    "\"title\":\"Format vocabulary meta-schema for annotation results\","
    "\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{\"format\":{\"type\":\"string\"}}}";

static const char format_assertion_2020[] =
    "{\"$schema\":\"" META_2020 "schema\","
    "\"$id\":\"" META_2020 "meta/format-assertion\","
    "\"$vocabulary\":{\"" META_2020 "vocab/format-assertion\":true},"
    "\"$dynamicAnchor\":\"meta\","
    "\"title\":\"Format vocabulary meta-schema for assertion results\","
    "\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{\"format\":{\"type\":\"string\"}}}";

static const char content_2020[] =
    "{\"$schema\":\"" META_2020 "schema\","
    "\"$id\":\"" META_2020 "meta/content\","
    "\"$vocabulary\":{\"" META_2020 "vocab/content\":true},"
    "\"$dynamicAnchor\":\"meta\","
    "\"title\":\"Content vocabulary meta-schema\","
    "\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{"
    "\"contentEncoding\":{\"type\":\"string\"},"
    "\"contentMediaType\":{\"type\":\"string\"},"
    "\"contentSchema\":{\"$dynamicRef\":\"#meta\"}}}";

typedef struct bundled {
    const char *uri;
    const char *text;
} bundled;

static const bundled metaschemas[] = {
    {"http://json-schema.org/draft-07/schema", draft7_schema},
    {META_2020 "schema", schema_2020},
    {META_2020 "meta/core", core_2020},
    {META_2020 "meta/applicator", applicator_2020},
    {META_2020 "meta/unevaluated", unevaluated_2020},
    {META_2020 "meta/validation", validation_2020},
    {META_2020 "meta/meta-data", meta_data_2020},
    {META_2020 "meta/format-annotation", format_annotation_2020},
    {META_2020 "meta/format-assertion", format_assertion_2020},
    {META_2020 "meta/content", content_2020},
};

static const char *bundled_text(const char *uri)
{
    for (size_t i = 0; i < sizeof metaschemas / sizeof metaschemas[0]; i++)
        if (!strcmp(metaschemas[i].uri, uri))
            return metaschemas[i].text;
    return NULL;
}
