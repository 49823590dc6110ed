/*
 * test_json_checks.c - is-json, contains-json, json-path and json-schema as
 * a suite writes them: verdicts and reasons, the not- forms, answers in a
 * code fence or wrapped in prose, templated values, and the errors a suite
 * author sees for a bad schema, path or pattern (at their line and column).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check_fixture.h"

/* ------------------------------------------------------------ is-json */

static void test_is_json(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - is-json\n", NULL);
    fixture_expect(&f, "{\"a\": 1, \"b\": [2]}", true,
                   "expected to be JSON; found an object with 2 keys");
    fixture_expect(&f, "  [1, 2, 3]\n", true,
                   "expected to be JSON; found an array of 3 items");
    fixture_expect(&f, "42", true, "expected to be JSON; found a number");
    fixture_expect(&f, "Sure! {\"a\": 1}", false,
                   "expected to be JSON; found 'Sure! {\"a\": 1}' (not JSON: "
                   "invalid at offset 0)");
    fixture_expect(&f, "{\"a\": 1} and more", false,
                   "expected to be JSON; found '{\"a\": 1} and more' (not "
                   "JSON: more text after the value, at offset 9)");
    fixture_expect(&f, "{\"a\": 1,}", false, NULL); /* strict JSON */
    fixture_expect(&f, "", false, "expected to be JSON; found an empty answer");
    fixture_expect(&f, " \n", false,
                   "expected to be JSON; found no JSON, only white space");
    /* one code fence around the whole answer is taken off */
    fixture_expect(&f, "```json\n{\"a\": 1}\n```", true,
                   "expected to be JSON; found an object with 1 key");
    fixture_expect(&f, "```\n[true]\n```\n", true, NULL);
    fixture_expect(&f, "Here:\n```json\n{\"a\": 1}\n```", false, NULL);
    fixture_teardown(&f);

    /* the other ways to write it */
    check_one("checks:\n  - is-json: true\n", NULL, "null", true,
              "expected to be JSON; found null");
    check_one("checks:\n  - is-json:\n", NULL, "\"text\"", true, NULL);
    check_one("checks:\n  - not-is-json\n", NULL, "plain words", true,
              "expected not to be JSON; found 'plain words' (not JSON: "
              "invalid at offset 0)");
    check_one("checks:\n  - not-is-json\n", NULL, "{}", false,
              "expected not to be JSON; found an object with 0 keys");
}

static void test_is_json_schema(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - is-json:\n"
                  "      type: object\n"
                  "      required: [name, age]\n"
                  "      properties:\n"
                  "        age: {type: integer, minimum: 0}\n",
                  NULL);
    fixture_expect(&f, "{\"name\": \"Ann\", \"age\": 7}", true,
                   "expected to be JSON valid against the schema; found an "
                   "object with 2 keys, valid");
    fixture_expect(&f, "{\"name\": \"Ann\", \"age\": -3}", false,
                   "expected to be JSON valid against the schema; found "
                   "$.age: -3 is less than the minimum 0");
    fixture_expect(&f, "{\"age\": 3}", false,
                   "expected to be JSON valid against the schema; found $: "
                   "the required property \"name\" is missing");
    fixture_expect(&f, "not json", false,
                   "expected to be JSON valid against the schema; found 'not "
                   "json' (not JSON: invalid at offset 0)");
    fixture_teardown(&f);
}

/* ------------------------------------------------------------ contains-json */

static void test_contains_json(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - contains-json\n", NULL);
    fixture_expect(&f, "The answer is {\"city\": \"Paris\"}. Hope it helps!",
                   true,
                   "expected to contain JSON; found an object with 1 key at "
                   "offset 14");
    fixture_expect(&f, "Here it is:\n```json\n[1, 2]\n```\n", true,
                   "expected to contain JSON; found an array of 2 items at "
                   "offset 20");
    /* a brace that starts no JSON is passed over */
    fixture_expect(&f, "use {curly} braces, then {\"ok\": true}", true,
                   "expected to contain JSON; found an object with 1 key at "
                   "offset 25");
    fixture_expect(&f, "no braces at all", false,
                   "expected to contain JSON; found no JSON object or array "
                   "in 'no braces at all'");
    /* a bare number is not looked for in prose */
    fixture_expect(&f, "the answer is 42", false, NULL);
    fixture_teardown(&f);

    check_one("checks:\n  - not-contains-json\n", NULL, "just prose", true,
              "expected not to contain JSON; found no JSON object or array "
              "in 'just prose'");
}

static void test_contains_json_schema(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - contains-json: {required: [answer]}\n",
                  NULL);
    /* the first JSON that is valid counts, not just the first JSON */
    fixture_expect(&f, "Draft: {\"notes\": 1}. Final: {\"answer\": \"B\"}",
                   true,
                   "expected to contain JSON valid against the schema; found "
                   "an object with 1 key at offset 28, valid");
    fixture_expect(&f, "A {\"x\": 1} and B {\"y\": 2}", false,
                   "expected to contain JSON valid against the schema; found "
                   "an object with 1 key at offset 2, but $: the required "
                   "property \"answer\" is missing (and 1 more, none valid)");
    /* nested objects are part of their JSON, not tried alone */
    fixture_expect(&f, "{\"outer\": {\"answer\": 1}}", false, NULL);
    fixture_teardown(&f);
}

static void test_contains_json_is_linear(void **state)
{
    (void)state;
    /* brackets everywhere: the search gives up within its budget */
    size_t n = 200000;
    char *text = malloc(n + 1);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        text[i] = i % 2 ? '[' : '{';
    text[n] = '\0';
    check_fixture f;
    fixture_setup(&f, "checks:\n  - contains-json\n", NULL);
    fixture_expect(&f, text, false, NULL);
    assert_non_null(
        strstr(f.verdict.reason.data, "(the search stopped after 256 tries)"));
    fixture_teardown(&f);
    free(text);
}

/* ------------------------------------------------------------ json-schema */

static void test_json_schema(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - json-schema:\n"
                  "      type: object\n"
                  "      properties:\n"
                  "        tags: {type: array, items: {enum: [a, b]}, "
                  "uniqueItems: true}\n"
                  "      additionalProperties: false\n",
                  NULL);
    fixture_expect(&f, "{\"tags\": [\"a\", \"b\"]}", true, NULL);
    fixture_expect(&f, "```json\n{\"tags\": [\"a\", \"c\"]}\n```", false,
                   "expected to be JSON valid against the schema; found "
                   "$.tags[1]: \"c\" is not one of [\"a\",\"b\"]");
    fixture_expect(&f, "{\"tags\": [\"a\", \"a\"]}", false,
                   "expected to be JSON valid against the schema; found "
                   "$.tags: items 0 and 1 are equal; the items must be "
                   "unique");
    fixture_expect(&f, "{\"other\": 1}", false,
                   "expected to be JSON valid against the schema; found $: "
                   "the property \"other\" is not allowed");
    fixture_teardown(&f);

    /* Draft 7 when the schema says so */
    check_one("checks:\n"
              "  - json-schema:\n"
              "      $schema: 'http://json-schema.org/draft-07/schema#'\n"
              "      items: [{type: string}, {type: integer}]\n",
              NULL, "[\"a\", \"b\"]", false,
              "expected to be JSON valid against the schema; found $[1]: "
              "\"b\" is not of type integer");
    check_one("checks:\n  - not-json-schema: {type: string}\n", NULL, "12",
              true,
              "expected not to be JSON valid against the schema; found $: 12 "
              "is not of type string");
}

/* A bad schema is an error at its line and column, when the suite loads. */
static void test_schema_errors(void **state)
{
    (void)state;
    fixture_compile_error("checks:\n"
                          "  - json-schema:\n"
                          "      type: object\n"
                          "      properties:\n"
                          "        age: {type: integer, minimum: zero}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:5:39: invalid JSON Schema: "
                          "#/properties/age/minimum: 'minimum' must be a "
                          "number, found a string");
    fixture_compile_error("checks:\n"
                          "  - is-json:\n"
                          "      type: [object, dict]\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:3:22: invalid JSON Schema: #/type/1: "
                          "unknown type 'dict' (the types are null, boolean, "
                          "object, array, number, string and integer)");
    fixture_compile_error("checks:\n"
                          "  - contains-json:\n"
                          "      properties:\n"
                          "        a: {$ref: '#/$defs/missing'}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:4:19: invalid JSON Schema: "
                          "#/properties/a/$ref: the reference "
                          "'#/$defs/missing' points at nothing: "
                          "the schema has no '#/$defs/missing'");
    fixture_compile_error("checks:\n"
                          "  - json-schema: {pattern: '(unclosed'}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:28: invalid JSON Schema: #/pattern: "
                          "invalid pattern '(unclosed': missing closing "
                          "parenthesis at offset 9");
    fixture_compile_error("checks:\n  - is-json: false\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:14: check 'is-json' takes nothing or "
                          "a JSON Schema (a mapping such as {type: object, "
                          "required: [answer]}), found false (for an answer "
                          "that is not JSON, write not-is-json)");
    fixture_compile_error("checks:\n  - json-schema: \"object\"\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:18: check 'json-schema' takes a JSON "
                          "Schema (a mapping such as {type: object, "
                          "required: [answer]})");
}

/* ------------------------------------------------------------ json-path */

static void test_json_path_equals(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - {type: json-path, path: \"$.answer\", "
                  "value: \"{{expected}}\"}\n",
                  "{\"expected\": \"Paris\"}");
    fixture_expect(&f, "{\"answer\": \"Paris\"}", true,
                   "expected to have $.answer equal to 'Paris'; found "
                   "$.answer is 'Paris'");
    fixture_expect(&f, "{\"answer\": \"Lyon\"}", false,
                   "expected to have $.answer equal to 'Paris'; found "
                   "$.answer is 'Lyon'");
    fixture_expect(&f, "{\"result\": \"Paris\"}", false,
                   "expected to have $.answer equal to 'Paris'; found no "
                   "$.answer in '{\"result\": \"Paris\"}'");
    /* JSON in prose is found as contains-json finds it */
    fixture_expect(&f, "My answer: {\"answer\": \"Paris\"}.", true, NULL);
    fixture_expect(&f, "Paris", false,
                   "expected to have $.answer equal to 'Paris'; found no "
                   "JSON in 'Paris'");
    fixture_teardown(&f);

    /* numbers compare as numbers when both sides are numbers */
    fixture_setup(&f,
                  "checks:\n"
                  "  - {type: json-path, path: \"$.total\", value: 42}\n",
                  NULL);
    fixture_expect(&f, "{\"total\": 42.0}", true,
                   "expected to have $.total equal to '42'; found $.total "
                   "is 42");
    fixture_expect(&f, "{\"total\": \"42\"}", true, NULL);
    fixture_expect(&f, "{\"total\": 4.2e1}", true, NULL);
    fixture_expect(&f, "{\"total\": 43}", false, NULL);
    fixture_expect(&f, "{\"total\": \"forty-two\"}", false, NULL);
    fixture_teardown(&f);

    /* true, false, null by name; objects and lists as JSON */
    check_one("checks:\n  - {type: json-path, path: $.ok, value: 'true'}\n",
              NULL, "{\"ok\": true}", true, NULL);
    check_one("checks:\n  - {type: json-path, path: $.ok, value: 'true'}\n",
              NULL, "{\"ok\": \"yes\"}", false, NULL);
    check_one("checks:\n"
              "  - {type: json-path, path: $.xs, value: \"{{want}}\"}\n",
              "{\"want\": [1, {\"b\": 2}]}", "{\"xs\": [1, {\"b\": 2.0}]}",
              true,
              "expected to have $.xs equal to '[1,{\"b\":2}]'; found $.xs is "
              "'[1,{\"b\":2}]'");
    check_one("checks:\n  - {type: not-json-path, path: $.a, value: x}\n", NULL,
              "{\"a\": \"y\"}", true,
              "expected not to have $.a equal to 'x'; found $.a is 'y'");
}

static void test_json_path_syntax(void **state)
{
    (void)state;
    const char *answer = "{\"items\": [{\"name\": \"first\"}, {\"name\": "
                         "\"last\"}], \"odd key\": {\"a.b\": 5}, "
                         "\"quote'\": 1}";
    check_one("checks:\n"
              "  - {type: json-path, path: \"$.items[0].name\", value: "
              "first}\n",
              NULL, answer, true, NULL);
    check_one("checks:\n"
              "  - {type: json-path, path: \"$.items[-1].name\", value: "
              "last}\n",
              NULL, answer, true, NULL);
    check_one("checks:\n"
              "  - {type: json-path, path: \"$['odd key'][\\\"a.b\\\"]\", "
              "value: 5}\n",
              NULL, answer, true, NULL);
    check_one("checks:\n"
              "  - {type: json-path, path: \"$['quote\\\\'']\", value: 1}\n",
              NULL, answer, true, NULL);
    check_one("checks:\n  - {type: json-path, path: \"$.items[2]\"}\n", NULL,
              answer, false, NULL);
    /* without value or matches: the path must exist */
    check_one("checks:\n  - {type: json-path, path: \"$.items[1]\"}\n", NULL,
              answer, true,
              "expected to have $.items[1]; found $.items[1] is "
              "'{\"name\":\"last\"}'");
    check_one("checks:\n  - {type: json-path, path: \"$\"}\n", NULL, "[]", true,
              NULL);

    fixture_compile_error("checks:\n  - {type: json-path, path: answer}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:29: invalid path 'answer': a path "
                          "starts with '$' (the whole JSON), as in $.answer "
                          "(at offset 0)");
    fixture_compile_error("checks:\n  - {type: json-path, path: \"$.a[x]\"}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:29: invalid path '$.a[x]': '[' must "
                          "hold an index such as [0] or a quoted key such as "
                          "['name'] (at offset 3)");
    fixture_compile_error("checks:\n  - {type: json-path, path: \"$..a\"}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:29: invalid path '$..a': '.' must be "
                          "followed by a key (use ['...'] for keys with "
                          "spaces, dots or brackets) (at offset 1)");
    fixture_compile_error("checks:\n  - json-path: \"$.a\"\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:16: check 'json-path' needs a "
                          "'path', as in {type: json-path, path: "
                          "\"$.answer\", value: \"{{expected}}\"}");
}

static void test_json_path_matches(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(
        &f,
        "checks:\n"
        "  - {type: json-path, path: $.code, matches: '^[A-Z]{3}$'}\n",
        NULL);
    fixture_expect(&f, "{\"code\": \"CDG\"}", true,
                   "expected to have $.code matching /^[A-Z]{3}$/; found "
                   "$.code is 'CDG'");
    fixture_expect(&f, "{\"code\": \"cdg\"}", false, NULL);
    fixture_expect(&f, "{\"code\": 123}", false,
                   "expected to have $.code matching /^[A-Z]{3}$/; found "
                   "$.code is 123");
    fixture_teardown(&f);

    /* a templated pattern, flags, and value and pattern together */
    check_one("checks:\n"
              "  - {type: json-path, path: $.city, matches: '^{{city}}$', "
              "flags: i}\n",
              "{\"city\": \"paris\"}", "{\"city\": \"PARIS\"}", true,
              "expected to have $.city matching /^paris$/i; found $.city is "
              "'PARIS'");
    check_one("checks:\n"
              "  - {type: json-path, path: $.n, value: 7, matches: '^\\d$'}\n",
              NULL, "{\"n\": 7}", true,
              "expected to have $.n equal to '7' and matching /^\\d$/; found "
              "$.n is 7");
    /* numbers are matched as their shortest text */
    check_one("checks:\n"
              "  - {type: json-path, path: $.n, matches: '^0\\.5$'}\n",
              NULL, "{\"n\": 5e-1}", true, NULL);

    fixture_compile_error("checks:\n"
                          "  - {type: json-path, path: $.a, matches: '(x'}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:43: invalid regex: missing closing "
                          "parenthesis at offset 2");
    fixture_compile_error("checks:\n"
                          "  - {type: json-path, path: $.a, flags: i}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:34: 'flags' go with 'matches', the "
                          "regex they modify");
    fixture_compile_error("checks:\n"
                          "  - {type: json-path, path: $.a, matches: x, "
                          "flags: q}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:53: unknown regex flag in \"q\" (the "
                          "flags are i: ignore case, m: ^ and $ match at "
                          "lines, s: . matches newline, x: extended syntax)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_json),
        cmocka_unit_test(test_is_json_schema),
        cmocka_unit_test(test_contains_json),
        cmocka_unit_test(test_contains_json_schema),
        cmocka_unit_test(test_contains_json_is_linear),
        cmocka_unit_test(test_json_schema),
        cmocka_unit_test(test_schema_errors),
        cmocka_unit_test(test_json_path_equals),
        cmocka_unit_test(test_json_path_syntax),
        cmocka_unit_test(test_json_path_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
