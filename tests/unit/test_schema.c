/*
 * test_schema.c - the JSON Schema validator against the official
 * JSON-Schema-Test-Suite (shared/data/json-schema-test-suite), every
 * required file of Draft 7 and Draft 2020-12, plus the validator's own
 * interface: issue locations and messages, compile errors with their
 * pointer, the resolver, and the limits.
 *
 * The suite's remote references (http://localhost:1234/...) are served
 * from its remotes/ folder by the resolver callback below; nothing goes to
 * the network. Files are read with cJSON_Parse directly, because the suite
 * holds strings with NUL characters that the YAML reader refuses.
 */
#include "internal.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SUITE_DIR SHARED_DIR "/data/json-schema-test-suite"
#define REMOTE_PREFIX "http://localhost:1234/"
#define FILE_MAX ((size_t)8 << 20)

/*
 * Tests deliberately not run: {draft folder, file, group description}.
 * Each entry says why. It is empty: every required test passes.
 */
typedef struct skip {
    const char *draft;
    const char *file;
    const char *group;
    const char *why;
} skip;
static const skip skips[] = {
    {NULL, NULL, NULL, NULL}, /* no entry: keeps the array non-empty */
};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = malloc(FILE_MAX + 1);
    size_t n = text ? fread(text, 1, FILE_MAX, f) : 0;
    fclose(f);
    if (text)
        text[n] = '\0';
    return text;
}

static cJSON *load_json(const char *path)
{
    char *text = read_file(path);
    cJSON *json = text ? cJSON_Parse(text) : NULL;
    free(text);
    return json;
}

/* Serves http://localhost:1234/... from the suite's remotes/ folder. */
static cJSON *suite_resolver(const char *uri, void *user_data)
{
    int *calls = user_data;
    if (calls)
        (*calls)++;
    size_t n = strlen(REMOTE_PREFIX);
    if (strncmp(uri, REMOTE_PREFIX, n) != 0 || strstr(uri, ".."))
        return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/remotes/%s", SUITE_DIR, uri + n);
    return load_json(path);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of `dir`, sorted; *n is their count. */
static char **list_json(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            assert_non_null(grown);
            names = grown;
        }
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, compare_names);
    return names;
}

static const skip *skipped(const char *draft, const char *file,
                           const char *group)
{
    for (size_t i = 0; i < sizeof skips / sizeof skips[0]; i++)
        if (skips[i].draft && !strcmp(skips[i].draft, draft) &&
            !strcmp(skips[i].file, file) && !strcmp(skips[i].group, group))
            return &skips[i];
    return NULL;
}

typedef struct tally {
    long passed, failed, skipped;
} tally;

/* Runs one file of the suite; prints each failure when `loud`. */
static void run_file(const char *draft, const char *dir, const char *file,
                     bool loud, tally *t)
{
    char path[2048]; /* room for a folder name of up to 1024 bytes */
    snprintf(path, sizeof path, "%s/%s", dir, file);
    cJSON *groups = load_json(path);
    if (!groups)
        fail_msg("cannot read or parse %s", path);
    assay__schema_options opts = {
        .draft = !strcmp(draft, "draft7") ? ASSAY__SCHEMA_DRAFT_7
                                          : ASSAY__SCHEMA_2020_12,
        .resolve = suite_resolver,
    };
    const cJSON *group;
    cJSON_ArrayForEach (group, groups) {
        const char *desc =
            cJSON_GetObjectItemCaseSensitive(group, "description")->valuestring;
        const cJSON *tests = cJSON_GetObjectItemCaseSensitive(group, "tests");
        long n = cJSON_GetArraySize(tests);
        if (skipped(draft, file, desc)) {
            t->skipped += n;
            continue;
        }
        assay__schema *s = NULL;
        assay_error err;
        assay_error_clear(&err);
        assay_status st = assay__schema_compile(
            cJSON_GetObjectItemCaseSensitive(group, "schema"), &opts, &s, NULL,
            &err);
        if (st != ASSAY_OK) {
            t->failed += n;
            if (loud)
                printf("  FAIL %s/%s: %s: the schema does not compile: %s\n",
                       draft, file, desc, err.message);
            continue;
        }
        const cJSON *test;
        cJSON_ArrayForEach (test, tests) {
            const char *what =
                cJSON_GetObjectItemCaseSensitive(test, "description")
                    ->valuestring;
            bool want =
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(test, "valid"));
            bool valid = false;
            assay__schema_issue issue;
            size_t n_issues = 0;
            st = assay__schema_validate(
                s, cJSON_GetObjectItemCaseSensitive(test, "data"), &valid,
                &issue, 1, &n_issues, &err);
            if (st == ASSAY_OK && valid == want) {
                t->passed++;
                /* an invalid instance always says why */
                if (!valid && n_issues != 1)
                    fail_msg("%s/%s: %s: %s: invalid without an issue", draft,
                             file, desc, what);
                continue;
            }
            t->failed++;
            if (loud)
                printf("  FAIL %s/%s: %s: %s: want %s, got %s\n", draft, file,
                       desc, what, want ? "valid" : "invalid",
                       st != ASSAY_OK ? err.message
                       : valid        ? "valid"
                                      : issue.message);
        }
        assay__schema_free(s);
    }
    cJSON_Delete(groups);
}

static tally run_folder(const char *draft, const char *sub, bool loud)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/%s%s", SUITE_DIR, draft, sub);
    size_t n;
    char **files = list_json(dir, &n);
    if (!files)
        fail_msg("cannot list %s (the shared test data is expected in "
                 "../shared beside the checkout)",
                 dir);
    tally t = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        run_file(draft, dir, files[i], loud, &t);
        free(files[i]);
    }
    free(files);
    return t;
}

static void run_required(const char *draft, long at_least)
{
    tally t = run_folder(draft, "", true);
    printf("%s: %ld of %ld passed, %ld skipped\n", draft, t.passed,
           t.passed + t.failed + t.skipped, t.skipped);
    bool any = false;
    for (size_t i = 0; i < sizeof skips / sizeof skips[0]; i++)
        if (skips[i].draft && !strcmp(skips[i].draft, draft)) {
            printf("  unsupported: %s: %s (%s)\n", skips[i].file,
                   skips[i].group, skips[i].why);
            any = true;
        }
    if (!any)
        printf("  unsupported: none (format is an annotation, as both "
               "drafts define it by default)\n");
    assert_int_equal(t.failed, 0);
    assert_true(t.passed >= at_least);
}

static void test_suite_draft7(void **state)
{
    (void)state;
    run_required("draft7", 900);
}

static void test_suite_draft2020_12(void **state)
{
    (void)state;
    run_required("draft2020-12", 1250);
}

/* The optional tests, for information: printed, not required. */
static void test_suite_optional(void **state)
{
    (void)state;
    const char *drafts[] = {"draft7", "draft2020-12"};
    for (size_t i = 0; i < 2; i++) {
        tally t = run_folder(drafts[i], "/optional", getenv("LOUD") != NULL);
        printf("%s/optional (for information): %ld of %ld passed "
               "(optional/format/ is not run: formats are annotations)\n",
               drafts[i], t.passed, t.passed + t.failed);
        assert_true(t.passed + t.failed > 0);
    }
}

/* ------------------------------------------------------------ the API */

static assay__schema *compile_text(const char *schema_json)
{
    cJSON *json = cJSON_Parse(schema_json);
    assert_non_null(json);
    assay__schema *s = NULL;
    assay_error err;
    assay_error_clear(&err);
    assay_status st = assay__schema_compile(json, NULL, &s, NULL, &err);
    cJSON_Delete(json); /* the validator keeps its own copy */
    if (st != ASSAY_OK)
        fail_msg("compile %s: %s", schema_json, err.message);
    return s;
}

/* Validates `instance` and checks the verdict and, if given, the issue. */
static void expect(const assay__schema *s, const char *instance, bool valid,
                   const char *path, const char *pointer, const char *message)
{
    cJSON *x = cJSON_Parse(instance);
    assert_non_null(x);
    bool got = !valid;
    assay__schema_issue issue;
    size_t n = 9;
    assay_error err;
    assay_status st = assay__schema_validate(s, x, &got, &issue, 1, &n, &err);
    cJSON_Delete(x);
    if (st != ASSAY_OK)
        fail_msg("validate %s: %s", instance, err.message);
    if (got != valid)
        fail_msg("%s: valid is %d, want %d (%s)", instance, got, valid,
                 n ? issue.message : "");
    assert_int_equal(n, valid ? 0 : 1);
    if (path)
        assert_string_equal(issue.path, path);
    if (pointer)
        assert_string_equal(issue.pointer, pointer);
    if (message)
        assert_string_equal(issue.message, message);
}

static void test_messages(void **state)
{
    (void)state;
    assay__schema *s = compile_text(
        "{\"type\":\"object\",\"required\":[\"name\",\"age\"],"
        "\"properties\":{\"name\":{\"type\":\"string\",\"minLength\":2},"
        "\"age\":{\"type\":\"integer\",\"minimum\":0},"
        "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\"]}},"
        "\"odd key\":{\"const\":1}},"
        "\"additionalProperties\":false}");
    expect(s, "{\"name\":\"Ann\",\"age\":3}", true, NULL, NULL, NULL);
    expect(s, "{\"name\":\"Ann\",\"age\":-3}", false, "$.age", "/age",
           "-3 is less than the minimum 0");
    expect(s, "{\"name\":\"Ann\",\"age\":\"3\"}", false, "$.age", "/age",
           "\"3\" is not of type integer");
    expect(s, "{\"name\":\"Ann\"}", false, "$", "",
           "the required property \"age\" is missing");
    expect(s, "{\"name\":\"A\",\"age\":1}", false, "$.name", "/name",
           "\"A\" is shorter than 2 characters");
    expect(s, "{\"name\":\"Ann\",\"age\":1,\"tags\":[\"a\",\"c\"]}", false,
           "$.tags[1]", "/tags/1", "\"c\" is not one of [\"a\",\"b\"]");
    expect(s, "{\"name\":\"Ann\",\"age\":1,\"odd key\":2}", false,
           "$['odd key']", "/odd key", "2 is not equal to the constant 1");
    expect(s, "{\"name\":\"Ann\",\"age\":1,\"extra\":true}", false, "$", "",
           "the property \"extra\" is not allowed");
    expect(s, "[1]", false, "$", "",
           "an array of 1 item is not of type "
           "object");
    assay__schema_free(s);

    s = compile_text("{\"anyOf\":[{\"type\":\"string\"},{\"type\":"
                     "\"number\",\"maximum\":5}]}");
    expect(s, "7", false, "$", "",
           "matches none of the anyOf schemas (first: $: 7 is not of type "
           "string)");
    assay__schema_free(s);

    s = compile_text("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}");
    expect(s, "3", false, NULL, NULL,
           "matches oneOf schemas 0 and 1; exactly one must match");
    expect(s, "1", true, NULL, NULL, NULL);
    assay__schema_free(s);

    s = compile_text("{\"type\":[\"integer\",\"null\",\"string\"]}");
    expect(s, "1.5", false, NULL, NULL,
           "1.5 is not of type null, string or integer");
    assay__schema_free(s);

    s = compile_text("{\"pattern\":\"^\\\\d+$\",\"maxLength\":3}");
    expect(s, "\"12a\"", false, NULL, NULL,
           "\"12a\" does not match the pattern /^\\d+$/");
    expect(s, "\"12\\n\"", false, NULL, NULL, NULL); /* $ is the very end */
    expect(s, "\"1234\"", false, NULL, NULL,
           "\"1234\" is longer than 3 characters");
    assay__schema_free(s);
}

static void test_all_issues(void **state)
{
    (void)state;
    assay__schema *s =
        compile_text("{\"properties\":{\"a\":{\"type\":\"string\"},"
                     "\"b\":{\"type\":\"string\"}},\"required\":[\"c\"]}");
    cJSON *x = cJSON_Parse("{\"a\":1,\"b\":2}");
    assay__schema_issue issues[8];
    size_t n = 0;
    bool valid = true;
    assert_int_equal(assay__schema_validate(s, x, &valid, issues, 8, &n, NULL),
                     ASSAY_OK);
    assert_false(valid);
    assert_int_equal(n, 3);
    assert_string_equal(issues[0].message,
                        "the required property \"c\" is missing");
    assert_string_equal(issues[1].path, "$.a");
    assert_string_equal(issues[2].path, "$.b");
    /* capped: two wanted, two given */
    assert_int_equal(assay__schema_validate(s, x, &valid, issues, 2, &n, NULL),
                     ASSAY_OK);
    assert_int_equal(n, 2);
    /* no issues wanted: the verdict alone */
    assert_int_equal(assay__schema_validate(s, x, &valid, NULL, 0, &n, NULL),
                     ASSAY_OK);
    assert_false(valid);
    assert_int_equal(n, 0);
    cJSON_Delete(x);
    assay__schema_free(s);
}

/* A compile error names the place and the pointer comes back in `fault`. */
static void expect_fault(const char *schema_json, bool in_schema,
                         const char *pointer, const char *message)
{
    cJSON *json = cJSON_Parse(schema_json);
    assert_non_null(json);
    assay__schema *s = (assay__schema *)1;
    assay__schema_fault where;
    assay_error err;
    assay_error_clear(&err);
    assay_status st = assay__schema_compile(json, NULL, &s, &where, &err);
    cJSON_Delete(json);
    if (st != ASSAY_ERR_CHECK)
        fail_msg("%s: got %s (%s)", schema_json, assay_status_name(st),
                 err.message);
    assert_null(s);
    assert_int_equal(where.in_schema, in_schema);
    assert_string_equal(where.pointer, pointer);
    assert_string_equal(err.message, message);
}

static void test_compile_errors(void **state)
{
    (void)state;
    expect_fault("{\"properties\":{\"age\":{\"minimum\":\"0\"}}}", true,
                 "/properties/age/minimum",
                 "#/properties/age/minimum: 'minimum' must be a number, "
                 "found a string");
    expect_fault("{\"type\":\"text\"}", true, "/type",
                 "#/type: unknown type 'text' (the types are null, boolean, "
                 "object, array, number, string and integer)");
    expect_fault("{\"pattern\":\"(a\"}", true, "/pattern",
                 "#/pattern: invalid pattern '(a': missing closing "
                 "parenthesis at offset 2");
    expect_fault("{\"$ref\":\"#/$defs/nothing\"}", true, "/$ref",
                 "#/$ref: the reference '#/$defs/nothing' points at "
                 "nothing: the schema has no '#/$defs/nothing'");
    expect_fault("{\"$ref\":\"https://example.com/x.json\"}", true, "/$ref",
                 "#/$ref: cannot resolve the reference "
                 "'https://example.com/x.json': no schema has the URI "
                 "'https://example.com/x.json'");
    expect_fault("{\"items\":[{\"type\":\"string\"}]}", true, "/items",
                 "#/items: in Draft 2020-12 'items' takes one schema; a list "
                 "of schemas goes in 'prefixItems'");
    expect_fault("{\"allOf\":[{\"type\":\"string\"},3]}", true, "/allOf/1",
                 "#/allOf/1: a schema must be an object or a boolean, found "
                 "a number");
    expect_fault("{\"$schema\":\"http://json-schema.org/draft-04/schema#\"}",
                 true, "/$schema",
                 "#/$schema: unsupported $schema "
                 "'http://json-schema.org/draft-04/schema#' (this validator "
                 "knows Draft 7 and Draft 2020-12, and meta-schemas the "
                 "suite can resolve)");
    expect_fault("{\"minItems\":-1}", true, "/minItems",
                 "#/minItems: 'minItems' must be a whole number of 0 or "
                 "more, found a number");
}

/* Draft 7 reads `items` as a list; Draft 2020-12 refuses it (above). */
static void test_drafts(void **state)
{
    (void)state;
    assay__schema *s = compile_text(
        "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
        "\"items\":[{\"type\":\"string\"}],\"additionalItems\":false}");
    expect(s, "[\"a\"]", true, NULL, NULL, NULL);
    expect(s, "[\"a\",1]", false, "$", "",
           "the array has 2 items; no item is allowed after the first 1");
    assay__schema_free(s);

    /* the meta-schemas are bundled: a schema can be checked as a schema */
    s = compile_text("{\"$ref\":\"https://json-schema.org/draft/2020-12/"
                     "schema\"}");
    expect(s, "{\"type\":\"string\",\"minLength\":1}", true, NULL, NULL, NULL);
    expect(s, "{\"properties\":{\"a\":{\"minLength\":-1}}}", false,
           "$.properties.a.minLength", NULL, NULL);
    assay__schema_free(s);
}

static void test_resolver(void **state)
{
    (void)state;
    cJSON *json = cJSON_Parse(
        "{\"$ref\":\"http://localhost:1234/draft2020-12/integer.json\"}");
    int calls = 0;
    assay__schema_options opts = {.resolve = suite_resolver,
                                  .user_data = &calls};
    assay__schema *s = NULL;
    assert_int_equal(assay__schema_compile(json, &opts, &s, NULL, NULL),
                     ASSAY_OK);
    assert_int_equal(calls, 1); /* only while compiling */
    expect(s, "1", true, NULL, NULL, NULL);
    expect(s, "\"1\"", false, NULL, NULL, "\"1\" is not of type integer");
    assert_int_equal(calls, 1);
    assay__schema_free(s);

    /* without the resolver the same URI is an error, not a fetch */
    assay__schema_fault where;
    assay_error err;
    assert_int_equal(assay__schema_compile(json, NULL, &s, &where, &err),
                     ASSAY_ERR_CHECK);
    assert_string_equal(where.pointer, "/$ref");
    cJSON_Delete(json);
}

static void test_limits(void **state)
{
    (void)state;
    /* a reference loop that never consumes input is an error */
    assay__schema *s =
        compile_text("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},"
                     "\"b\":{\"allOf\":[{\"$ref\":\"#/$defs/a\"}]}},"
                     "\"$ref\":\"#/$defs/a\"}");
    cJSON *x = cJSON_Parse("1");
    bool valid = true;
    assay_error err;
    assay_error_clear(&err);
    assert_int_equal(assay__schema_validate(s, x, &valid, NULL, 0, NULL, &err),
                     ASSAY_ERR_CHECK);
    assert_false(valid);
    assert_string_equal(err.message,
                        "the schema loops: a reference reaches #/$defs/a "
                        "again at $ without consuming any of the instance");
    cJSON_Delete(x);
    assay__schema_free(s);

    /* recursion that consumes input is fine until the depth limit */
    s = compile_text("{\"items\":{\"$ref\":\"#\"}}");
    char deep[2 * 400 + 1];
    memset(deep, '[', 400);
    memset(deep + 400, ']', 400);
    deep[800] = '\0';
    x = cJSON_Parse(deep);
    assert_int_equal(assay__schema_validate(s, x, &valid, NULL, 0, NULL, NULL),
                     ASSAY_OK);
    assert_true(valid);
    cJSON_Delete(x);
    char deeper[2 * 900 + 1];
    memset(deeper, '[', 900);
    memset(deeper + 900, ']', 900);
    deeper[1800] = '\0';
    x = cJSON_Parse(deeper);
    assert_non_null(x);
    assert_int_equal(assay__schema_validate(s, x, &valid, NULL, 0, NULL, &err),
                     ASSAY_ERR_LIMIT);
    cJSON_Delete(x);
    assay__schema_free(s);

    /* a catastrophic pattern gives up instead of hanging */
    s = compile_text("{\"pattern\":\"^(a+)+$\"}");
    x = cJSON_Parse("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"");
    assay_status st = assay__schema_validate(s, x, &valid, NULL, 0, NULL, &err);
    /* PCRE2 may prove there is no match quickly; if not, it is a limit */
    assert_true(st == ASSAY_OK || st == ASSAY_ERR_LIMIT);
    assert_false(valid);
    cJSON_Delete(x);
    assay__schema_free(s);
}

static void test_pointer_get(void **state)
{
    (void)state;
    cJSON *root = cJSON_Parse("{\"a\":[{\"b/c\":1,\"d~e\":2}],\"\":3}");
    assert_ptr_equal(assay__schema_pointer_get(root, ""), root);
    assert_int_equal(assay__schema_pointer_get(root, "/a/0/b~1c")->valueint, 1);
    assert_int_equal(assay__schema_pointer_get(root, "/a/0/d~0e")->valueint, 2);
    assert_int_equal(assay__schema_pointer_get(root, "/")->valueint, 3);
    assert_null(assay__schema_pointer_get(root, "/a/1"));
    assert_null(assay__schema_pointer_get(root, "/a/01"));
    assert_null(assay__schema_pointer_get(root, "a"));
    cJSON_Delete(root);
    assay__schema_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_draft7),
        cmocka_unit_test(test_suite_draft2020_12),
        cmocka_unit_test(test_suite_optional),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_all_issues),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_drafts),
        cmocka_unit_test(test_resolver),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_pointer_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
