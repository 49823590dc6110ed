/*
 * test_template.c - `{{var}}` templates: compiling (whitespace, escapes and
 * every compile error with its column), rendering each kind of value, and
 * the message for a variable the case does not have.
 */
#include "internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ------------------------------------------------------------ helpers */

static assay__template *compile_ok(const char *text)
{
    assay__template *t = NULL;
    assay_error err;
    assay_error_clear(&err);
    assay_status st = assay__template_compile(text, "t.yaml:1:1", &t, &err);
    if (st != ASSAY_OK)
        fail_msg("compile failed: %s: %s", assay_status_name(st), err.message);
    assert_non_null(t);
    return t;
}

static cJSON *json(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    if (!v)
        fail_msg("bad JSON in the test: %s", text);
    return v;
}

/* Renders `text` with the fields `vars_json` and compares to `want`. */
static void renders(const char *text, const char *vars_json, const char *want)
{
    assay__template *t = compile_ok(text);
    cJSON *vars = json(vars_json);
    assay__buf out;
    assay__buf_init(&out, 0);
    assay_error err;
    assay_status st = assay__template_render(t, vars, "c1", &out, &err);
    if (st != ASSAY_OK)
        fail_msg("render failed: %s: %s", assay_status_name(st), err.message);
    assert_string_equal(out.data, want);
    assert_int_equal(out.len, strlen(want));
    assay__buf_release(&out);
    cJSON_Delete(vars);
    assay__template_free(t);
}

static void compile_fails(const char *text, const char *where,
                          const char *message)
{
    assay__template *t = (assay__template *)&t; /* must be reset */
    assay_error err;
    assay_error_clear(&err);
    assay_status st = assay__template_compile(text, where, &t, &err);
    assert_string_equal(assay_status_name(st), "ASSAY_ERR_TEMPLATE");
    assert_null(t);
    assert_int_equal(err.status, ASSAY_ERR_TEMPLATE);
    assert_string_equal(err.message, message);
}

/* Rendering must fail with `message` and leave the buffer as it was. */
static void render_fails(const char *text, const char *vars_json,
                         const char *case_id, const char *message)
{
    assay__template *t = compile_ok(text);
    cJSON *vars = vars_json ? json(vars_json) : NULL;
    assay__buf out;
    assay__buf_init(&out, 0);
    assert_int_equal(assay__buf_puts(&out, "before|"), ASSAY_OK);
    assay_error err;
    assay_error_clear(&err);
    assay_status st = assay__template_render(t, vars, case_id, &out, &err);
    assert_string_equal(assay_status_name(st), "ASSAY_ERR_TEMPLATE");
    assert_int_equal(err.status, ASSAY_ERR_TEMPLATE);
    assert_string_equal(err.message, message);
    assert_string_equal(out.data, "before|");
    assert_int_equal(out.len, 7);
    assay__buf_release(&out);
    cJSON_Delete(vars);
    assay__template_free(t);
}

/* ------------------------------------------------------------ compile */

static void test_literal_only(void **state)
{
    (void)state;
    assay__template *t = compile_ok("Hello, } world }} { x");
    assert_true(assay__template_is_constant(t));
    assay__buf out;
    assay__buf_init(&out, 0);
    assert_int_equal(assay__buf_puts(&out, ">"), ASSAY_OK);
    /* No variables: vars may be NULL; the text is appended. */
    assert_int_equal(assay__template_render(t, NULL, NULL, &out, NULL),
                     ASSAY_OK);
    assert_string_equal(out.data, ">Hello, } world }} { x");
    assay__buf_release(&out);
    assay__template_free(t);

    t = compile_ok("");
    assert_true(assay__template_is_constant(t));
    assay__buf_init(&out, 0);
    assert_int_equal(assay__template_render(t, NULL, NULL, &out, NULL),
                     ASSAY_OK);
    assert_string_equal(out.data, "");
    assert_int_equal(out.len, 0);
    assay__buf_release(&out);
    assay__template_free(t);
}

static void test_is_constant(void **state)
{
    (void)state;
    assay__template *t = compile_ok("Answer: {{answer}}");
    assert_false(assay__template_is_constant(t));
    assay__template_free(t);
    t = compile_ok("{{x}}");
    assert_false(assay__template_is_constant(t));
    assay__template_free(t);
    /* An escaped brace pair is literal text. */
    t = compile_ok("use {{{{name}} here");
    assert_true(assay__template_is_constant(t));
    assay__template_free(t);
}

static void test_variables(void **state)
{
    (void)state;
    renders("Q: {{question}}", "{\"question\": \"What is 2+2?\"}",
            "Q: What is 2+2?");
    renders("{{question}}", "{\"question\": \"alone\"}", "alone");
    renders("{{a}}+{{b}}={{c}}!", "{\"a\": \"1\", \"b\": \"2\", \"c\": \"3\"}",
            "1+2=3!");
    renders("{{a}}{{a}}", "{\"a\": \"x\"}", "xx");
    /* Strings go in verbatim: no escaping, no re-expansion. */
    renders("<{{s}}>", "{\"s\": \"a \\\"q\\\" \\\\ {{b}}\\n\"}",
            "<a \"q\" \\ {{b}}\n>");
    renders("[{{e}}]", "{\"e\": \"\"}", "[]");
    renders("{{first_name}} {{last-name}} {{x2}}",
            "{\"first_name\": \"Ada\", \"last-name\": \"Lovelace\", "
            "\"x2\": \"!\"}",
            "Ada Lovelace !");
}

static void test_nested_and_index(void **state)
{
    (void)state;
    const char *vars = "{\"a\": {\"b\": {\"c\": \"deep\"}},"
                       " \"items\": [\"zero\", \"one\", {\"name\": \"two\"}],"
                       " \"map\": {\"0\": \"key zero\"},"
                       " \"grid\": [[1, 2], [3, 4]]}";
    renders("{{a.b.c}}", vars, "deep");
    renders("{{items.0}} {{items.1}} {{items.2.name}}", vars, "zero one two");
    renders("{{map.0}}", vars, "key zero");
    renders("{{grid.1.0}}", vars, "3");
    renders("{{items.2}}", vars, "{\"name\":\"two\"}");
}

static void test_numbers(void **state)
{
    (void)state;
    renders("{{n}}", "{\"n\": 3}", "3");
    renders("{{n}}", "{\"n\": 3.0}", "3");
    renders("{{n}}", "{\"n\": 2.5}", "2.5");
    renders("{{n}}", "{\"n\": -7}", "-7");
    renders("{{n}}", "{\"n\": -0.125}", "-0.125");
    renders("{{n}}", "{\"n\": 0.1}", "0.1");
    renders("{{n}}", "{\"n\": 0.30000000000000004}", "0.30000000000000004");
    renders("{{n}}", "{\"n\": 0.3333333333333333}", "0.3333333333333333");
    renders("{{n}}", "{\"n\": 123456789012345}", "123456789012345");
    renders("{{n}}", "{\"n\": 9007199254740992}", "9007199254740992");
    renders("{{n}}", "{\"n\": -9007199254740992}", "-9007199254740992");
    renders("{{n}}", "{\"n\": 1e21}", "1e+21");
    renders("{{n}}", "{\"n\": 1.5e300}", "1.5e+300");
    renders("{{n}}", "{\"n\": 5e-324}", "5e-324");
    renders("{{n}}", "{\"n\": 1.7976931348623157e308}",
            "1.7976931348623157e+308");
    renders("{{n}}", "{\"n\": 0}", "0");
}

static void test_special_numbers(void **state)
{
    (void)state;
    cJSON *vars = cJSON_CreateObject();
    cJSON_AddNumberToObject(vars, "inf", 1.0 / 0.0);
    cJSON_AddNumberToObject(vars, "ninf", -1.0 / 0.0);
    cJSON_AddNumberToObject(vars, "zero", -0.0);
    cJSON *list = cJSON_AddArrayToObject(vars, "list");
    cJSON_AddItemToArray(list, cJSON_CreateNumber(1.0 / 0.0));
    assay__template *t = compile_ok("{{inf}} {{ninf}} {{zero}} {{list}}");
    assay__buf out;
    assay__buf_init(&out, 0);
    assert_int_equal(assay__template_render(t, vars, "c", &out, NULL),
                     ASSAY_OK);
    /* Inside JSON, a number JSON cannot hold is null, as cJSON prints it. */
    assert_string_equal(out.data, "inf -inf -0 [null]");
    assay__buf_release(&out);
    assay__template_free(t);
    cJSON_Delete(vars);
}

static void test_bool_and_null(void **state)
{
    (void)state;
    renders("{{t}}/{{f}}/{{n}}", "{\"t\": true, \"f\": false, \"n\": null}",
            "true/false/null");
}

static void test_object_and_array_as_json(void **state)
{
    (void)state;
    const char *vars = "{\"obj\": {\"k\": [1, \"a\\\"b\", null, true, "
                       "{\"x\": 2.5}], \"e\": {}, \"l\": []},"
                       " \"arr\": [1, 2, 3], \"ctl\": [\"\\n\\t\\u0001\\\\/\"],"
                       " \"uni\": [\"caf\\u00e9\"]}";
    renders("{{obj}}", vars,
            "{\"k\":[1,\"a\\\"b\",null,true,{\"x\":2.5}],\"e\":{},\"l\":[]}");
    renders("{{arr}}", vars, "[1,2,3]");
    renders("{{ctl}}", vars, "[\"\\n\\t\\u0001\\\\/\"]");
    renders("{{uni}}", vars, "[\"caf\xC3\xA9\"]");

    /* The same text as cJSON_PrintUnformatted for ordinary values. */
    cJSON *v = json(vars);
    char *want = cJSON_PrintUnformatted(cJSON_GetObjectItem(v, "obj"));
    renders("{{obj}}", vars, want);
    cJSON_free(want);
    cJSON_Delete(v);
}

static void test_whitespace_in_braces(void **state)
{
    (void)state;
    renders("{{ name }}|{{name  }}|{{\tname\n}}|{{  a.b  }}",
            "{\"name\": \"N\", \"a\": {\"b\": \"B\"}}", "N|N|N|B");
}

static void test_escape(void **state)
{
    (void)state;
    renders("{{{{name}}", "{}", "{{name}}");
    renders("a {{{{ b {{{{{{{{", "{}", "a {{ b {{{{");
    renders("{{{{{{x}}", "{\"x\": \"X\"}", "{{X");
    renders("{{{{x}} is {{x}}", "{\"x\": \"X\"}", "{{x}} is X");
}

static void test_unicode_untouched(void **state)
{
    (void)state;
    renders("R\xC3\xA9ponse\xC2\xA0: {{answer}} \xE2\x9C\x93 \xF0\x9F\x98\x80",
            "{\"answer\": \"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\"}",
            "R\xC3\xA9ponse\xC2\xA0: \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E "
            "\xE2\x9C\x93 \xF0\x9F\x98\x80");
}

/* ------------------------------------------------------------ errors */

static void test_unclosed(void **state)
{
    (void)state;
    compile_fails("Hello {{name", "suite.yaml:3:9",
                  "suite.yaml:3:9: unclosed '{{' at column 7 of the template");
    compile_fails("Hello {{name", NULL,
                  "unclosed '{{' at column 7 of the template");
    compile_fails("{{a}} {{b} c", "",
                  "unclosed '{{' at column 7 of the template");
    /* Columns count characters, and lines are named when there are several. */
    compile_fails("first line\n\xC3\xA9t\xC3\xA9 {{x", "w",
                  "w: unclosed '{{' at line 2, column 5 of the template");
}

static void test_invalid_name(void **state)
{
    (void)state;
    compile_fails("{{}}", "w",
                  "w: empty variable name in '{{}}' at column 1 "
                  "of the template");
    compile_fails("ab {{  }}", "w",
                  "w: empty variable name in '{{  }}' at "
                  "column 4 of the template");
    const char *bad[][2] = {
        {"{{a b}}", "a b"},
        {"{{a..b}}", "a..b"},
        {"{{.a}}", ".a"},
        {"{{a.}}", "a."},
        {"{{a/b}}", "a/b"},
        {"{{{x}}}", "{x"},
        {"{{\xC3\xA9}}", "\xC3\xA9"},
        {"{{a\nb}}", "a b"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[512];
        snprintf(want, sizeof want,
                 "w: invalid variable name '%s' at column 1 of the template "
                 "(a name is letters, digits, '_' and '-', with '.' between "
                 "parts, as in {{item.answer}})",
                 bad[i][1]);
        compile_fails(bad[i][0], "w", want);
    }
    /* NULL text is a caller error. */
    assay__template *t = (assay__template *)&t;
    assert_int_equal(assay__template_compile(NULL, NULL, &t, NULL),
                     ASSAY_ERR_INVALID);
    assert_null(t);
}

static void test_missing_variable(void **state)
{
    (void)state;
    const char *vars = "{\"id\": \"q17\", \"question\": \"Why?\", "
                       "\"expected\": \"Because.\"}";
    render_fails("Q: {{question}} A: {{answer}}", vars, "q17",
                 "case 'q17': variable 'answer' is not defined (the case "
                 "has: id, question, expected)");
    /* Names are case-sensitive. */
    render_fails("{{Question}}", vars, "q17",
                 "case 'q17': variable 'Question' is not defined (the case "
                 "has: id, question, expected)");
    render_fails("{{answer}}", vars, NULL,
                 "variable 'answer' is not defined (the case has: id, "
                 "question, expected)");
    render_fails("{{answer}}", "{}", "q1",
                 "case 'q1': variable 'answer' is not defined (the case has "
                 "no fields)");
    render_fails("{{answer}}", NULL, "q1",
                 "case 'q1': variable 'answer' is not defined (the case has "
                 "no fields)");
    render_fails("{{z}}",
                 "{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,"
                 "\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12}",
                 "c",
                 "case 'c': variable 'z' is not defined (the case has: k1, "
                 "k2, k3, k4, k5, k6, k7, k8, k9, k10 and 2 more)");
}

static void test_missing_nested(void **state)
{
    (void)state;
    const char *vars = "{\"a\": {\"b\": {\"x\": 1, \"y\": 2}},"
                       " \"items\": [\"zero\", \"one\"], \"s\": \"text\","
                       " \"n\": null, \"e\": {}}";
    render_fails("{{a.b.c}}", vars, "c1",
                 "case 'c1': variable 'a.b.c' is not defined ('a.b' has no "
                 "member 'c'; it has: x, y)");
    render_fails("{{e.f}}", vars, "c1",
                 "case 'c1': variable 'e.f' is not defined ('e' has no member "
                 "'f')");
    render_fails("{{items.2}}", vars, "c1",
                 "case 'c1': variable 'items.2' is not defined ('items' has 2 "
                 "items)");
    render_fails("{{items.first}}", vars, "c1",
                 "case 'c1': variable 'items.first' is not defined ('items' "
                 "is an array of 2 items: use an index such as 'items.0')");
    render_fails("{{s.len}}", vars, "c1",
                 "case 'c1': variable 's.len' is not defined ('s' is a "
                 "string)");
    render_fails("{{n.x}}", vars, "c1",
                 "case 'c1': variable 'n.x' is not defined ('n' is null)");
    render_fails("{{a.b.x.y}}", vars, "c1",
                 "case 'c1': variable 'a.b.x.y' is not defined ('a.b.x' is a "
                 "number)");
}

static void test_output_limit(void **state)
{
    (void)state;
    assay__template *t = compile_ok("0123456789{{v}}");
    cJSON *vars = json("{\"v\": \"abcdefghij\"}");
    assay__buf out;
    assay__buf_init(&out, 16);
    assert_int_equal(assay__buf_puts(&out, "ab"), ASSAY_OK);
    assay_error err;
    assert_int_equal(assay__template_render(t, vars, "c9", &out, &err),
                     ASSAY_ERR_LIMIT);
    assert_string_equal(err.message, "case 'c9': variable 'v' makes the text "
                                     "longer than 16 bytes or is nested "
                                     "deeper than 1000 levels");
    assert_string_equal(out.data, "ab");
    assert_int_equal(out.len, 2);
    assay__buf_release(&out);

    assay__template_free(t);
    t = compile_ok("01234567890123456789");
    assay__buf_init(&out, 16);
    assert_int_equal(assay__template_render(t, vars, "c9", &out, &err),
                     ASSAY_ERR_LIMIT);
    assert_string_equal(err.message,
                        "case 'c9': the rendered text is longer than 16 bytes");
    assert_int_equal(out.len, 0);
    assay__buf_release(&out);
    assay__template_free(t);
    cJSON_Delete(vars);
}

static void test_render_many(void **state)
{
    (void)state;
    /* One compiled template, rendered per case into one buffer. */
    assay__template *t = compile_ok("{{id}}:{{n}};");
    assay__buf out;
    assay__buf_init(&out, 0);
    for (int i = 0; i < 1000; i++) {
        cJSON *vars = cJSON_CreateObject();
        char id[16];
        snprintf(id, sizeof id, "q%d", i);
        cJSON_AddStringToObject(vars, "id", id);
        cJSON_AddNumberToObject(vars, "n", i * 0.5);
        assert_int_equal(assay__template_render(t, vars, id, &out, NULL),
                         ASSAY_OK);
        cJSON_Delete(vars);
    }
    assert_true(!strncmp(out.data, "q0:0;q1:0.5;q2:1;q3:1.5;", 24));
    assert_non_null(strstr(out.data, ";q999:499.5;"));
    assay__buf_release(&out);
    assay__template_free(t);
    assay__template_free(NULL);
}


/* ------------------------------------------------------------ filters */

static void test_filters(void **state)
{
    (void)state;
    const char *vars = "{\"s\": \"  Hello World \", \"n\": 2.5,"
                       " \"list\": [\"a\", 1, true], \"nil\": null,"
                       " \"obj\": {\"k\": \"v\"}}";
    renders("{{ s | upper }}", vars, "  HELLO WORLD ");
    renders("{{ s | lower }}", vars, "  hello world ");
    renders("[{{ s | trim }}]", vars, "[Hello World]");
    renders("[{{ s | trim | upper }}]", vars, "[HELLO WORLD]");
    renders("{{ s | json }}", vars, "\"  Hello World \"");
    renders("{{ s | trim | json }}", vars, "\"Hello World\"");
    renders("{{ obj | json }}", vars, "{\"k\":\"v\"}");
    renders("{{ n | json }}", vars, "2.5");
    renders("{{ list | join(\", \") }}", vars, "a, 1, true");
    renders("{{ list | join('') }}", vars, "a1true");
    renders("{{ list | join(\"\\n\") }}", vars, "a\n1\ntrue");
    renders("{{ missing | default(\"none\") }}", vars, "none");
    renders("{{ nil | default('-') }}", vars, "-");
    renders("{{ s | default('x') | trim }}", vars, "Hello World");
    renders("{{ missing | default(\"a|b\") | upper }}", vars, "A|B");
    renders("{{n|upper}}", vars, "2.5");
}

static void test_filter_errors(void **state)
{
    (void)state;
    compile_fails("{{ x | uper }}", "w",
                  "w: unknown filter 'uper' (the filters are upper, lower, "
                  "trim, json, join(\", \"), default(\"...\"), shuffle, "
                  "keys and letter) at column 1 "
                  "of the template");
    compile_fails("{{ x | join }}", "w",
                  "w: filter 'join' takes a text, as in join(\", \") at "
                  "column 1 of the template");
    compile_fails("{{ x | default(none) }}", "w",
                  "w: filter 'default' takes a quoted text at column 1 of "
                  "the template");
    compile_fails("{{ x | default(\"a\" }}", "w",
                  "w: missing ')' after the text of filter 'default' at "
                  "column 1 of the template");
    render_fails("{{ s | join(\",\") }}", "{\"s\": \"text\"}", "c2",
                 "case 'c2': filter 'join' needs a list, and 's' is a string");
    render_fails("{{ gone | upper }}", "{\"s\": 1}", "c3",
                 "case 'c3': variable 'gone' is not defined (the case has: s)");
}

/* ------------------------------------------------------------ blocks */

static void test_each(void **state)
{
    (void)state;
    const char *vars =
        "{\"items\": [\"x\", \"y\", \"z\"], \"none\": [],"
        " \"shots\": [{\"q\": \"1+1\", \"a\": \"2\"}, {\"q\": \"2+2\", \"a\": \"4\"}],"
        " \"map\": {\"A\": \"apple\", \"B\": \"banana\"}, \"q\": \"3+3\","
        " \"grid\": [[1, 2], [3]]}";
    renders("{{#each items}}{{.}}{{/each}}", vars, "xyz");
    renders("{{#each items}}{{@index}}={{this}}{{#if @last}}.{{else}}, "
            "{{/if}}{{/each}}",
            vars, "0=x, 1=y, 2=z.");
    renders("{{#each shots}}Q: {{q}} A: {{a}}\n{{/each}}Q: {{q}}", vars,
            "Q: 1+1 A: 2\nQ: 2+2 A: 4\nQ: 3+3");
    renders("{{#each map}}{{@key}}:{{.}};{{/each}}", vars,
            "A:apple;B:banana;");
    renders("{{#each none}}x{{else}}empty{{/each}}", vars, "empty");
    renders("{{#each grid}}[{{#each .}}{{.}}{{/each}}]{{/each}}", vars,
            "[12][3]");
    renders("{{#each shots}}{{this.q}}{{#if @first}}!{{/if}} {{/each}}", vars,
            "1+1! 2+2 ");
    /* An outer name is still reachable inside the loop. */
    renders("{{#each items}}{{q}}{{/each}}", vars, "3+33+33+3");
    render_fails("{{#each q}}x{{/each}}", vars, "c1",
                 "case 'c1': '{{#each q}}' needs a list or an object, and "
                 "'q' is a string");
    render_fails("{{#each gone}}x{{/each}}", vars, "c1",
                 "case 'c1': variable 'gone' is not defined (the case has: "
                 "items, none, shots, map, q, grid)");
    render_fails("{{@index}}", vars, "c1",
                 "case 'c1': variable '@index' is only defined inside "
                 "{{#each}}");
}

static void test_if(void **state)
{
    (void)state;
    const char *vars = "{\"ctx\": \"doc\", \"empty\": \"\", \"zero\": 0,"
                       " \"list\": [], \"lang\": \"fr\", \"n\": 3, \"s3\": \"3\","
                       " \"yes\": true}";
    renders("{{#if ctx}}Context: {{ctx}}{{/if}}", vars, "Context: doc");
    renders("{{#if missing}}x{{else}}no{{/if}}", vars, "no");
    renders("{{#if empty}}x{{/if}}{{#if zero}}x{{/if}}{{#if list}}x{{/if}}",
            vars, "");
    renders("{{#if not missing}}ok{{/if}}", vars, "ok");
    renders("{{#if lang == \"fr\"}}Bonjour{{else if lang == 'de'}}Hallo"
            "{{else}}Hello{{/if}}",
            vars, "Bonjour");
    renders("{{#if lang != \"fr\"}}a{{else if n == 3}}b{{else}}c{{/if}}",
            vars, "b");
    renders("{{#if s3 == 3 and yes}}t{{/if}}{{#if n == 4 or lang}}u{{/if}}",
            vars, "tu");
    renders("{{#if yes == true and not x}}t{{/if}}", vars, "t");
    renders("{{#if 1 == 1.0 and null == missing}}{{else}}f{{/if}}", vars,
            "f");
}

static void test_comments_and_standalone(void **state)
{
    (void)state;
    renders("a{{! note }}b{{!-- has }} inside --}}c", "{}", "abc");
    renders("Examples:\n{{#each xs}}\n- {{.}}\n{{/each}}\nDone.",
            "{\"xs\": [1, 2]}", "Examples:\n- 1\n- 2\nDone.");
    renders("  {{#if t}}  \r\nyes\n  {{/if}}\nend", "{\"t\": 1}",
            "yes\nend");
    renders("{{! only a comment }}\nline", "{}", "line");
    /* A tag sharing its line with text keeps the line. */
    renders("x {{#if t}}y{{/if}}\n", "{\"t\": 1}", "x y\n");
}

static void test_block_errors(void **state)
{
    (void)state;
    compile_fails("{{#each xs}}a", "w",
                  "w: '{{#each}}' is never closed with '{{/each}}' at column "
                  "1 of the template");
    compile_fails("{{#if a}}x{{/each}}", "w",
                  "w: '{{/each}}' closes the '{{#if}}' opened at line 1, "
                  "column 1 at column 11 of the template");
    compile_fails("{{/if}}", "w",
                  "w: '{{/if}}' without a matching '{{#if}}' at column 1 of "
                  "the template");
    compile_fails("{{else}}", "w",
                  "w: '{{else}}' outside of {{#if}} or {{#each}} at column 1 "
                  "of the template");
    compile_fails("{{#if a}}{{else}}{{else}}{{/if}}", "w",
                  "w: a second '{{else}}' in one block at column 18 of the "
                  "template");
    compile_fails("{{#with a}}{{/with}}", "w",
                  "w: unknown block '{{#with}}' (the blocks are {{#if}} and "
                  "{{#each}}) at column 1 of the template");
    compile_fails("{{#if}}x{{/if}}", "w",
                  "w: '{{#if}}' needs a condition, as in {{#if context}} at "
                  "column 1 of the template");
    compile_fails("{{#if a b}}x{{/if}}", "w",
                  "w: unexpected 'b' in a condition (a condition is names and "
                  "\"texts\" joined by ==, !=, not, and, or) at column 1 of "
                  "the template");
    compile_fails("{{! never closed", "w",
                  "w: unclosed '{{' at column 1 of the template");
}

static void test_literal(void **state)
{
    (void)state;
    assay__template *t;
    assert_int_equal(assay__template_literal("a {{b}} {{#if}}", 15, &t, NULL),
                     ASSAY_OK);
    assert_true(assay__template_is_constant(t));
    assay__buf out;
    assay__buf_init(&out, 0);
    assert_int_equal(assay__template_render(t, NULL, NULL, &out, NULL),
                     ASSAY_OK);
    assert_string_equal(out.data, "a {{b}} {{#if}}");
    assay__buf_release(&out);
    assay__template_free(t);
}

/* Nested loops over a few items multiply: 10^7 iterations that print
   nothing are refused instead of running for minutes. */
static void test_loop_budget(void **state)
{
    (void)state;
    assay__template *t;
    assay_error err;
    const char *text = "{{#each a}}{{#each a}}{{#each a}}{{#each a}}"
                       "{{#each a}}{{#each a}}{{#each a}}"
                       "{{/each}}{{/each}}{{/each}}{{/each}}"
                       "{{/each}}{{/each}}{{/each}}";
    assert_int_equal(assay__template_compile(text, NULL, &t, &err), ASSAY_OK);
    cJSON *vars = cJSON_Parse("{\"a\": [0,1,2,3,4,5,6,7,8,9]}");
    assay__buf out;
    assay__buf_init(&out, 0);
    assert_int_equal(assay__template_render(t, vars, "c1", &out, &err),
                     ASSAY_ERR_TEMPLATE);
    assert_non_null(strstr(err.message, "more than 1000000 iterations"));
    assert_int_equal(out.len, 0);
    assay__buf_release(&out);
    cJSON_Delete(vars);
    assay__template_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_budget),
        cmocka_unit_test(test_literal_only),
        cmocka_unit_test(test_is_constant),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_nested_and_index),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_special_numbers),
        cmocka_unit_test(test_bool_and_null),
        cmocka_unit_test(test_object_and_array_as_json),
        cmocka_unit_test(test_whitespace_in_braces),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_unicode_untouched),
        cmocka_unit_test(test_unclosed),
        cmocka_unit_test(test_invalid_name),
        cmocka_unit_test(test_missing_variable),
        cmocka_unit_test(test_missing_nested),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_render_many),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_filter_errors),
        cmocka_unit_test(test_each),
        cmocka_unit_test(test_if),
        cmocka_unit_test(test_comments_and_standalone),
        cmocka_unit_test(test_block_errors),
        cmocka_unit_test(test_literal),
    };
    return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
