/*
 * test_yaml.c - YAML and JSON documents: the core schema's scalars, JSON
 * read through the YAML parser (checked against cJSON's own parser on a
 * real file), positions of values and keys, and every refusal with its
 * message: duplicate keys, syntax errors, depth, aliases, documents, UTF-8.
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif
#ifndef SHARED_DIR
#define SHARED_DIR SOURCE_ROOT "/../shared"
#endif

/* ------------------------------------------------------------ helpers */

static assay__doc *parse_ok(const char *text)
{
    assay__doc *doc = NULL;
    assay_error err;
    assay_error_clear(&err);
    assay_status st =
        assay__doc_parse("t.yaml", text, strlen(text), &doc, &err);
    if (st != ASSAY_OK)
        fail_msg("parse failed: %s: %s", assay_status_name(st), err.message);
    assert_non_null(doc);
    return doc;
}

/* Parses text that must fail with `status` and exactly `message`. */
static void parse_fails(const char *text, assay_status status,
                        const char *message)
{
    assay__doc *doc = (assay__doc *)&doc; /* must be reset to NULL */
    assay_error err;
    assay_error_clear(&err);
    assay_status st =
        assay__doc_parse("t.yaml", text, strlen(text), &doc, &err);
    assert_string_equal(assay_status_name(st), assay_status_name(status));
    assert_null(doc);
    assert_int_equal(err.status, status);
    assert_string_equal(err.message, message);
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item)
        fail_msg("no member '%s'", key);
    return item;
}

static void assert_str(const cJSON *item, const char *want)
{
    if (!cJSON_IsString(item))
        fail_msg("expected the string '%s', got type %d", want,
                 item ? item->type : -1);
    assert_string_equal(item->valuestring, want);
}

static void assert_num(const cJSON *item, double want)
{
    if (!cJSON_IsNumber(item))
        fail_msg("expected the number %g, got type %d", want,
                 item ? item->type : -1);
    assert_float_equal(item->valuedouble, want, 0.0);
}

static void assert_where(const assay__doc *doc, const cJSON *node, int line,
                         int col)
{
    int l = -1, c = -1;
    assert_true(assay__doc_where(doc, node, &l, &c));
    assert_int_equal(l, line);
    assert_int_equal(c, col);
}

static void assert_where_key(const assay__doc *doc, const cJSON *node, int line,
                             int col)
{
    int l = -1, c = -1;
    assert_true(assay__doc_where_key(doc, node, &l, &c));
    assert_int_equal(l, line);
    assert_int_equal(c, col);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assay__buf b;
    assay__buf_init(&b, 0);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(assay__buf_append(&b, chunk, n), ASSAY_OK);
    fclose(f);
    return assay__buf_detach(&b, len);
}

/* ------------------------------------------------------------ scalars */

static void test_plain_scalars(void **state)
{
    (void)state;
    assay__doc *doc = parse_ok("n1: null\nn2: Null\nn3: NULL\nn4: ~\nn5:\n"
                               "t1: true\nt2: True\nt3: TRUE\n"
                               "f1: false\nf2: False\nf3: FALSE\n"
                               "i1: 42\ni2: -7\ni3: +5\ni4: 0x1F\ni5: 0o17\n"
                               "i6: 012\n"
                               "x1: 1.5\nx2: -2e3\nx3: .5\nx4: 1.\nx5: 6E+2\n"
                               "s1: yes\ns2: no\ns3: on\ns4: off\ns5: 1_000\n"
                               "s6: 0x\ns7: 1e\ns8: .\ns9: hello world\n"
                               "s10: nul\n");
    const cJSON *r = assay__doc_root(doc);
    assert_true(cJSON_IsObject(r));
    const char *nulls[] = {"n1", "n2", "n3", "n4", "n5"};
    for (size_t i = 0; i < 5; i++)
        assert_true(cJSON_IsNull(get(r, nulls[i])));
    assert_true(cJSON_IsTrue(get(r, "t1")));
    assert_true(cJSON_IsTrue(get(r, "t2")));
    assert_true(cJSON_IsTrue(get(r, "t3")));
    assert_true(cJSON_IsFalse(get(r, "f1")));
    assert_true(cJSON_IsFalse(get(r, "f2")));
    assert_true(cJSON_IsFalse(get(r, "f3")));
    assert_num(get(r, "i1"), 42);
    assert_num(get(r, "i2"), -7);
    assert_num(get(r, "i3"), 5);
    assert_num(get(r, "i4"), 31);
    assert_num(get(r, "i5"), 15);
    assert_num(get(r, "i6"), 12);
    assert_int_equal(get(r, "i2")->valueint, -7);
    assert_num(get(r, "x1"), 1.5);
    assert_num(get(r, "x2"), -2000);
    assert_num(get(r, "x3"), 0.5);
    assert_num(get(r, "x4"), 1);
    assert_num(get(r, "x5"), 600);
    assert_str(get(r, "s1"), "yes");
    assert_str(get(r, "s2"), "no");
    assert_str(get(r, "s3"), "on");
    assert_str(get(r, "s4"), "off");
    assert_str(get(r, "s5"), "1_000");
    assert_str(get(r, "s6"), "0x");
    assert_str(get(r, "s7"), "1e");
    assert_str(get(r, "s8"), ".");
    assert_str(get(r, "s9"), "hello world");
    assert_str(get(r, "s10"), "nul");
    assay__doc_free(doc);
}

static void test_special_floats(void **state)
{
    (void)state;
    assay__doc *doc = parse_ok("[.inf, -.inf, +.Inf, .NaN, .nan]");
    const cJSON *r = assay__doc_root(doc);
    assert_int_equal(cJSON_GetArraySize(r), 5);
    double v0 = cJSON_GetArrayItem(r, 0)->valuedouble;
    double v1 = cJSON_GetArrayItem(r, 1)->valuedouble;
    double v2 = cJSON_GetArrayItem(r, 2)->valuedouble;
    assert_true(isinf(v0) && v0 > 0);
    assert_true(isinf(v1) && v1 < 0);
    assert_true(isinf(v2) && v2 > 0);
    assert_true(isnan(cJSON_GetArrayItem(r, 3)->valuedouble));
    assert_true(isnan(cJSON_GetArrayItem(r, 4)->valuedouble));
    assay__doc_free(doc);
}

static void test_quoted_scalars_are_strings(void **state)
{
    (void)state;
    assay__doc *doc = parse_ok("a: \"true\"\nb: 'null'\nc: \"12\"\nd: ''\n"
                               "e: |\n  line 1\n  line 2\n"
                               "f: >\n  folded\n  text\n"
                               "g: \"esc\\t\\u00e9\"\n");
    const cJSON *r = assay__doc_root(doc);
    assert_str(get(r, "a"), "true");
    assert_str(get(r, "b"), "null");
    assert_str(get(r, "c"), "12");
    assert_str(get(r, "d"), "");
    assert_str(get(r, "e"), "line 1\nline 2\n");
    assert_str(get(r, "f"), "folded text\n");
    assert_str(get(r, "g"), "esc\t\xC3\xA9");
    assay__doc_free(doc);
}

static void test_tags(void **state)
{
    (void)state;
    assay__doc *doc = parse_ok("a: !!str 12\nb: !!int \"12\"\nc: !!float 3\n"
                               "d: !!bool \"true\"\ne: !!null ''\nf: ! 7\n"
                               "g: !!map {x: 1}\nh: !!seq [1]\n");
    const cJSON *r = assay__doc_root(doc);
    assert_str(get(r, "a"), "12");
    assert_num(get(r, "b"), 12);
    assert_num(get(r, "c"), 3);
    assert_true(cJSON_IsTrue(get(r, "d")));
    assert_true(cJSON_IsNull(get(r, "e")));
    assert_str(get(r, "f"), "7");
    assert_true(cJSON_IsObject(get(r, "g")));
    assert_true(cJSON_IsArray(get(r, "h")));
    assay__doc_free(doc);

    parse_fails("a: !!int twelve\n", ASSAY_ERR_SYNTAX,
                "t.yaml:1:4: 'twelve' is not a valid !!int");
    parse_fails("a: !secret x\n", ASSAY_ERR_SYNTAX,
                "t.yaml:1:4: unsupported tag '!secret' (understood: !!str, "
                "!!int, !!float, !!bool, !!null)");
    parse_fails("a: !!seq {x: 1}\n", ASSAY_ERR_SYNTAX,
                "t.yaml:1:4: unsupported tag 'tag:yaml.org,2002:seq' on a "
                "mapping");
}

static void test_nesting(void **state)
{
    (void)state;
    assay__doc *doc = parse_ok("targets:\n"
                               "  - name: small\n"
                               "    params: {temperature: 0, stop: [\"\\n\"]}\n"
                               "  - name: big\n"
                               "checks:\n"
                               "  - contains: x\n");
    const cJSON *r = assay__doc_root(doc);
    const cJSON *targets = get(r, "targets");
    assert_int_equal(cJSON_GetArraySize(targets), 2);
    const cJSON *t0 = cJSON_GetArrayItem(targets, 0);
    assert_str(get(t0, "name"), "small");
    const cJSON *params = get(t0, "params");
    assert_num(get(params, "temperature"), 0);
    assert_str(cJSON_GetArrayItem(get(params, "stop"), 0), "\n");
    assert_str(get(cJSON_GetArrayItem(targets, 1), "name"), "big");
    assert_str(get(cJSON_GetArrayItem(get(r, "checks"), 0), "contains"), "x");
    /* Members keep the order of the file. */
    assert_string_equal(r->child->string, "targets");
    assert_string_equal(r->child->next->string, "checks");
    assay__doc_free(doc);
}

static void test_scalar_root(void **state)
{
    (void)state;
    assay__doc *doc = parse_ok("just text\n");
    assert_str(assay__doc_root(doc), "just text");
    assert_where(doc, assay__doc_root(doc), 1, 1);
    assay__doc_free(doc);
}

/* ------------------------------------------------------------ JSON */

static void test_json_inline(void **state)
{
    (void)state;
    const char *json = "{\"a\": [1, 2.5, -3e-2, true, false, null, \"x\"],\n"
                       " \"b\": {\"c\": \"d\\\"e\\\\f\\/g\\u00e9\"},\n"
                       " \"compact\":{\"k\":1,\"l\":[]}, \"empty\": {},\n"
                       " \"yes\": \"no\", \"n\": -0}";
    assay__doc *doc = parse_ok(json);
    cJSON *want = cJSON_Parse(json);
    assert_non_null(want);
    if (!cJSON_Compare(want, assay__doc_root(doc), 1)) {
        char *got = cJSON_PrintUnformatted(assay__doc_root(doc));
        char *exp = cJSON_PrintUnformatted(want);
        fail_msg("got %s, expected %s", got, exp);
    }
    cJSON_Delete(want);
    assay__doc_free(doc);
}

/* Loads a real JSON file and checks it against cJSON_Parse of its bytes. */
static void assert_json_file_matches(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SHARED_DIR, rel);
    assay__doc *doc = NULL;
    assay_error err;
    assay_status st = assay__doc_load(path, &doc, &err);
    if (st != ASSAY_OK)
        fail_msg("%s: %s", assay_status_name(st), err.message);
    size_t len;
    char *bytes = read_all(path, &len);
    cJSON *want = cJSON_ParseWithLength(bytes, len);
    assert_non_null(want);
    assert_true(cJSON_IsArray(assay__doc_root(doc)));
    assert_int_equal(cJSON_GetArraySize(assay__doc_root(doc)),
                     cJSON_GetArraySize(want));
    if (!cJSON_Compare(want, assay__doc_root(doc), 1))
        fail_msg("%s: the tree differs from cJSON_Parse of the same bytes",
                 rel);
    assert_string_equal(assay__doc_name(doc), path);
    cJSON_Delete(want);
    free(bytes);
    assay__doc_free(doc);
}

static void test_json_file(void **state)
{
    (void)state;
    assert_json_file_matches("data/json-schema-test-suite/tests/draft7/"
                             "type.json");
}

/* JSON's surrogate-pair escapes (which libyaml alone refuses). */
static void test_json_file_with_surrogate_pairs(void **state)
{
    (void)state;
    assert_json_file_matches("data/json-schema-test-suite/tests/draft7/"
                             "minLength.json");
}

static void test_json_surrogates_keep_positions(void **state)
{
    (void)state;
    const char *json = "{\"a\": \"\\ud83d\\ude00\", \"b\": 1,\n"
                       " \"c\": \"\\uD83D\\uDCA9\\uD83D\\uDCA9\", \"d\": 2}";
    assay__doc *doc = parse_ok(json);
    const cJSON *r = assay__doc_root(doc);
    assert_str(get(r, "a"), "\xF0\x9F\x98\x80");
    assert_str(get(r, "c"), "\xF0\x9F\x92\xA9\xF0\x9F\x92\xA9");
    assert_where_key(doc, get(r, "b"), 1, 23);
    assert_where(doc, get(r, "b"), 1, 28);
    assert_where(doc, get(r, "c"), 2, 7);
    assert_where_key(doc, get(r, "d"), 2, 35);
    assert_where(doc, get(r, "d"), 2, 40);
    assay__doc_free(doc);

    /* A lone surrogate is still an error, at its place. */
    parse_fails("[\"x\", \"\\ud83d\"]", ASSAY_ERR_SYNTAX,
                "t.yaml:1:10: found invalid Unicode character escape code "
                "(while parsing a quoted scalar at line 1, column 7)");
    /* In YAML the text is left alone: a surrogate escape is refused. */
    parse_fails("a: \"\\ud83d\\ude00\"\n", ASSAY_ERR_SYNTAX,
                "t.yaml:1:7: found invalid Unicode character escape code "
                "(while parsing a quoted scalar at line 1, column 4)");
}

/* ------------------------------------------------------------ positions */

static void test_positions(void **state)
{
    (void)state;
    assay__doc *doc = parse_ok("name: demo\n"
                               "items:\n"
                               "  - one\n"
                               "  -   key: 2\n"
                               "      \"quoted key\": [a, {b: c}]\n");
    const cJSON *r = assay__doc_root(doc);
    assert_where(doc, r, 1, 1);
    const cJSON *name = get(r, "name");
    assert_where_key(doc, name, 1, 1);
    assert_where(doc, name, 1, 7);
    const cJSON *items = get(r, "items");
    assert_where_key(doc, items, 2, 1);
    assert_where(doc, items, 3, 3);
    const cJSON *one = cJSON_GetArrayItem(items, 0);
    assert_where(doc, one, 3, 5);
    /* An array item has no key: its value's place stands in. */
    assert_where_key(doc, one, 3, 5);
    const cJSON *m = cJSON_GetArrayItem(items, 1);
    assert_where(doc, m, 4, 7);
    assert_where_key(doc, get(m, "key"), 4, 7);
    assert_where(doc, get(m, "key"), 4, 12);
    const cJSON *q = get(m, "quoted key");
    assert_where_key(doc, q, 5, 7);
    assert_where(doc, q, 5, 21);
    const cJSON *b = get(cJSON_GetArrayItem(q, 1), "b");
    assert_where_key(doc, b, 5, 26);
    assert_where(doc, b, 5, 29);

    /* Nodes that are not from this document are unknown. */
    cJSON *stranger = cJSON_CreateNull();
    int line = -1, col = -1;
    assert_false(assay__doc_where(doc, stranger, &line, &col));
    assert_int_equal(line, 0);
    assert_int_equal(col, 0);
    assert_false(assay__doc_where_key(doc, stranger, &line, &col));
    cJSON_Delete(stranger);
    assay__doc_free(doc);
}

static void test_doc_error(void **state)
{
    (void)state;
    assay__doc *doc = parse_ok("checks:\n  - regx: abc\n");
    const cJSON *check =
        cJSON_GetArrayItem(get(assay__doc_root(doc), "checks"), 0);
    const cJSON *member = get(check, "regx");
    assay_error err;
    assay_status st = assay__doc_error(doc, member, true, &err, ASSAY_ERR_SUITE,
                                       "unknown check '%s' (did you mean "
                                       "'%s'?)",
                                       member->string, "regex");
    assert_int_equal(st, ASSAY_ERR_SUITE);
    assert_int_equal(err.status, ASSAY_ERR_SUITE);
    assert_string_equal(err.message, "t.yaml:2:5: unknown check 'regx' (did "
                                     "you mean 'regex'?)");
    assert_string_equal(err.file, "t.yaml");
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 5);

    assay__doc_error(doc, member, false, &err, ASSAY_ERR_SUITE, "bad value");
    assert_string_equal(err.message, "t.yaml:2:11: bad value");

    /* Unknown node: the file alone. */
    cJSON *stranger = cJSON_CreateNull();
    assay__doc_error(doc, stranger, false, &err, ASSAY_ERR_SUITE, "x");
    assert_string_equal(err.message, "t.yaml: x");
    cJSON_Delete(stranger);
    /* A NULL err is allowed. */
    assert_int_equal(
        assay__doc_error(doc, member, false, NULL, ASSAY_ERR_SUITE, "x"),
        ASSAY_ERR_SUITE);
    assay__doc_free(doc);
}

/* ------------------------------------------------------------ refusals */

static void test_duplicate_keys(void **state)
{
    (void)state;
    parse_fails("a: 1\nb: 2\na: 3\n", ASSAY_ERR_SYNTAX,
                "t.yaml:3:1: duplicate key 'a' (first at line 1)");
    parse_fails("{\"x\": 1,\n \"x\": 2}", ASSAY_ERR_SYNTAX,
                "t.yaml:2:2: duplicate key 'x' (first at line 1)");
    parse_fails("outer:\n  inner: 1\n  inner: 2\n", ASSAY_ERR_SYNTAX,
                "t.yaml:3:3: duplicate key 'inner' (first at line 2)");
    /* A large mapping (checked by sorting) reports the earliest repeat. */
    parse_fails("k1: 1\nk2: 2\nk3: 3\nk4: 4\nk5: 5\nk6: 6\nk7: 7\nk8: 8\n"
                "k9: 9\nk5: 10\nk2: 11\nk5: 12\n",
                ASSAY_ERR_SYNTAX,
                "t.yaml:10:1: duplicate key 'k5' (first at line 5)");
    /* Keys are compared as text: 1 and "1" are the same key. */
    parse_fails("1: a\n\"1\": b\n", ASSAY_ERR_SYNTAX,
                "t.yaml:2:1: duplicate key '1' (first at line 1)");
    /* Distinct keys that only differ in case are fine. */
    assay__doc *doc = parse_ok("a: 1\nA: 2\n");
    assay__doc_free(doc);
}

static void test_syntax_error(void **state)
{
    (void)state;
    parse_fails("a: [1, 2\nb: 3\n", ASSAY_ERR_SYNTAX,
                "t.yaml:2:2: did not find expected ',' or ']' (while parsing "
                "a flow sequence at line 1, column 4)");
    parse_fails("a: 1\n b: 2\n", ASSAY_ERR_SYNTAX,
                "t.yaml:2:3: mapping values are not allowed in this context");
    parse_fails("{\"a\": 1,}x", ASSAY_ERR_SYNTAX,
                "t.yaml:1:10: did not find expected <document start>");
}

static void test_non_scalar_key(void **state)
{
    (void)state;
    parse_fails("? [a, b]\n: c\n", ASSAY_ERR_SYNTAX,
                "t.yaml:1:3: a mapping key must be a scalar, not a sequence");
    parse_fails("base: &k x\n*k : y\n", ASSAY_ERR_SYNTAX,
                "t.yaml:2:1: a mapping key must be a scalar, not an alias");
}

static void test_merge_key_refused(void **state)
{
    (void)state;
    parse_fails("base: &b {x: 1}\nuse:\n  <<: *b\n", ASSAY_ERR_SYNTAX,
                "t.yaml:3:3: merge keys ('<<') are not supported; write the "
                "keys out, or use an alias as the whole value");
    /* A quoted "<<" is an ordinary key. */
    assay__doc *doc = parse_ok("\"<<\": 1\n");
    assert_num(get(assay__doc_root(doc), "<<"), 1);
    assay__doc_free(doc);
}

static void test_multiple_documents(void **state)
{
    (void)state;
    parse_fails("a: 1\n---\nb: 2\n", ASSAY_ERR_SYNTAX,
                "t.yaml:2:1: expected one document, but another one starts "
                "here");
    /* One explicit document, with an end marker, is fine. */
    assay__doc *doc = parse_ok("---\na: 1\n...\n");
    assert_num(get(assay__doc_root(doc), "a"), 1);
    assay__doc_free(doc);
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 1);
    assert_non_null(s);
    memset(s, '[', (size_t)depth);
    memset(s + depth, ']', (size_t)depth);
    s[depth * 2] = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char *ok = nested(256);
    assay__doc *doc = parse_ok(ok);
    const cJSON *c = assay__doc_root(doc);
    int levels = 0;
    while (cJSON_IsArray(c)) {
        levels++;
        c = c->child;
    }
    assert_int_equal(levels, 256);
    assay__doc_free(doc);
    free(ok);

    char *deep = nested(257);
    parse_fails(deep, ASSAY_ERR_LIMIT,
                "t.yaml:1:257: nesting deeper than 256 levels");
    free(deep);

    /* Far deeper input stops at the same place, without recursing on. */
    char *deeper = nested(100000);
    parse_fails(deeper, ASSAY_ERR_LIMIT,
                "t.yaml:1:257: nesting deeper than 256 levels");
    free(deeper);
}

static void test_alias_copies(void **state)
{
    (void)state;
    assay__doc *doc = parse_ok("base: &b\n"
                               "  x: 1\n"
                               "  y: [1, two]\n"
                               "use: *b\n"
                               "list: [*b, &s scalar, *s]\n");
    const cJSON *r = assay__doc_root(doc);
    const cJSON *base = get(r, "base");
    const cJSON *use = get(r, "use");
    assert_true(cJSON_Compare(base, use, 1));
    assert_ptr_not_equal(base, use);
    assert_ptr_not_equal(base->child, use->child);
    const cJSON *list = get(r, "list");
    assert_true(cJSON_Compare(base, cJSON_GetArrayItem(list, 0), 1));
    assert_str(cJSON_GetArrayItem(list, 1), "scalar");
    assert_str(cJSON_GetArrayItem(list, 2), "scalar");
    /* The copy is placed at the alias; its insides where they were written. */
    assert_where_key(doc, use, 4, 1);
    assert_where(doc, use, 4, 6);
    assert_where_key(doc, get(use, "y"), 3, 3);
    assert_where(doc, get(use, "y"), 3, 6);
    assert_where(doc, cJSON_GetArrayItem(list, 2), 5, 23);
    assay__doc_free(doc);

    /* An alias inside an anchored node: the copy of a copy keeps places. */
    doc = parse_ok("a: &a [1]\nb: &b [*a, 2]\nc: *b\n");
    const cJSON *c = get(assay__doc_root(doc), "c");
    assert_where(doc, c, 3, 4);
    assert_where(doc, cJSON_GetArrayItem(c, 0), 2, 8);
    assert_where(doc, cJSON_GetArrayItem(c, 0)->child, 1, 8);
    assert_where(doc, cJSON_GetArrayItem(c, 1), 2, 12);
    assert_num(cJSON_GetArrayItem(c, 0)->child, 1);
    assay__doc_free(doc);

    parse_fails("a: *nowhere\n", ASSAY_ERR_SYNTAX,
                "t.yaml:1:4: unknown alias '*nowhere' (an anchor '&nowhere' "
                "must come earlier, outside the aliased node)");
    /* A node cannot contain an alias of itself. */
    parse_fails("a: &r [1, *r]\n", ASSAY_ERR_SYNTAX,
                "t.yaml:1:11: unknown alias '*r' (an anchor '&r' must come "
                "earlier, outside the aliased node)");
}

static void test_alias_bomb(void **state)
{
    (void)state;
    /* Each level doubles: 2^30 values if expanded. */
    assay__buf b;
    assay__buf_init(&b, 0);
    assert_int_equal(assay__buf_puts(&b, "l0: &l0 [x, x]\n"), ASSAY_OK);
    for (int i = 1; i <= 30; i++)
        assert_int_equal(assay__buf_printf(&b, "l%d: &l%d [*l%d, *l%d]\n", i, i,
                                           i - 1, i - 1),
                         ASSAY_OK);
    assay__doc *doc = (assay__doc *)&b;
    assay_error err;
    assay_status st = assay__doc_parse("t.yaml", b.data, b.len, &doc, &err);
    assert_int_equal(st, ASSAY_ERR_LIMIT);
    assert_null(doc);
    assert_non_null(
        strstr(err.message, ": aliases expand to more than 1000000 values"));
    assert_string_equal(err.file, "t.yaml");
    assert_true(err.line > 15 && err.line <= 31);
    assay__buf_release(&b);

    /* Aliases may also not nest past the depth limit. */
    char *deep = nested(200);
    assay__buf_init(&b, 0);
    /* 200 levels under &d, used 1 + 60 levels deep: 261. */
    assert_int_equal(assay__buf_printf(&b, "a: &d %s\nb: ", deep), ASSAY_OK);
    for (int i = 0; i < 60; i++)
        assert_int_equal(assay__buf_putc(&b, '['), ASSAY_OK);
    assert_int_equal(assay__buf_puts(&b, "*d"), ASSAY_OK);
    for (int i = 0; i < 60; i++)
        assert_int_equal(assay__buf_putc(&b, ']'), ASSAY_OK);
    free(deep);
    doc = NULL;
    st = assay__doc_parse("t.yaml", b.data, b.len, &doc, &err);
    assert_int_equal(st, ASSAY_ERR_LIMIT);
    assert_string_equal(err.message, "t.yaml:2:64: nesting deeper than 256 "
                                     "levels (through this alias)");
    assay__buf_release(&b);
}

static void test_empty_document(void **state)
{
    (void)state;
    const char *empties[] = {"", "\n\n", "# only a comment\n", "---\n",
                             "--- # comment\n...\n"};
    for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
        assay__doc *doc = parse_ok(empties[i]);
        assert_non_null(assay__doc_root(doc));
        assert_true(cJSON_IsNull(assay__doc_root(doc)));
        assay__doc_free(doc);
    }
    /* NULL text with length 0 is an empty document too. */
    assay__doc *doc = NULL;
    assert_int_equal(assay__doc_parse("t.yaml", NULL, 0, &doc, NULL), ASSAY_OK);
    assert_true(cJSON_IsNull(assay__doc_root(doc)));
    assay__doc_free(doc);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    parse_fails("a: ok\nb: caf\xC3\xA9 \xFF\n", ASSAY_ERR_SYNTAX,
                "t.yaml:2:9: the text is not valid UTF-8: invalid leading "
                "UTF-8 octet (byte 0xFF at offset 15)");
    parse_fails("a: \xC3(\n", ASSAY_ERR_SYNTAX,
                "t.yaml:1:5: the text is not valid UTF-8: invalid trailing "
                "UTF-8 octet (byte 0x28 at offset 4)");
    parse_fails("a: \x01\n", ASSAY_ERR_SYNTAX,
                "t.yaml:1:4: control characters are not allowed (U+0001)");
}

static void test_nul_in_string(void **state)
{
    (void)state;
    parse_fails("a: \"x\\0y\"\n", ASSAY_ERR_SYNTAX,
                "t.yaml:1:4: a NUL character (\\0) in a string is not "
                "supported");
}

static void test_load(void **state)
{
    (void)state;
    assay__doc *doc = (assay__doc *)&doc;
    assay_error err;
    assay_status st = assay__doc_load("/nonexistent/suite.yaml", &doc, &err);
    assert_int_equal(st, ASSAY_ERR_IO);
    assert_null(doc);
    assert_string_equal(err.message, "cannot read /nonexistent/suite.yaml: "
                                     "No such file or directory");
    assert_string_equal(err.file, "/nonexistent/suite.yaml");

    /* A folder opens but cannot be read. */
    doc = (assay__doc *)&doc;
    st = assay__doc_load(SHARED_DIR, &doc, &err);
    assert_int_equal(st, ASSAY_ERR_IO);
    assert_null(doc);
    assert_non_null(strstr(err.message, "cannot read "));

    /* Errors in a loaded file carry its path. */
    char path[] = "/tmp/assay-test-yaml-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("a: 1\na: 2\n", f);
    fclose(f);
    st = assay__doc_load(path, &doc, &err);
    remove(path);
    assert_int_equal(st, ASSAY_ERR_SYNTAX);
    char want[256];
    snprintf(want, sizeof want, "%s:2:1: duplicate key 'a' (first at line 1)",
             path);
    assert_string_equal(err.message, want);
}

static void test_size_limit(void **state)
{
    (void)state;
    size_t len = ((size_t)64 << 20) + 1;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, ' ', len);
    assay__doc *doc = (assay__doc *)&doc;
    assay_error err;
    assert_int_equal(assay__doc_parse("big.yaml", big, len, &doc, &err),
                     ASSAY_ERR_LIMIT);
    assert_null(doc);
    assert_string_equal(err.message,
                        "big.yaml: the text is larger than the 64 MiB limit");
    free(big);
}

static void test_free_null(void **state)
{
    (void)state;
    assay__doc_free(NULL);
    assert_null(assay__doc_root(NULL));
    assert_null(assay__doc_name(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_scalars),
        cmocka_unit_test(test_special_floats),
        cmocka_unit_test(test_quoted_scalars_are_strings),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_scalar_root),
        cmocka_unit_test(test_json_inline),
        cmocka_unit_test(test_json_file),
        cmocka_unit_test(test_json_file_with_surrogate_pairs),
        cmocka_unit_test(test_json_surrogates_keep_positions),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_doc_error),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_non_scalar_key),
        cmocka_unit_test(test_merge_key_refused),
        cmocka_unit_test(test_multiple_documents),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_alias_copies),
        cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_empty_document),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_in_string),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests_name("yaml", tests, NULL, NULL);
}
