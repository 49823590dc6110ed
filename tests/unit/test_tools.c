/*
 * test_tools.c - is-valid-openai-tools-call, tool-call and tool-call-f1 on
 * responses whose tool calls are built by hand: verdicts, reasons, the
 * JSON comparison rules, the tools' schemas compiled once per list, and
 * what they say when there is nothing to judge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check_fixture.h"
#include "checks/checks.h"

#include <pthread.h>

/* Appends a tool call to the fixture's response, as openai.c fills it. */
static void add_call(check_fixture *f, const char *name, const char *args)
{
    assay__response *r = &f->response;
    if (r->n_tool_calls == r->cap_tool_calls) {
        size_t cap = r->cap_tool_calls ? 2 * r->cap_tool_calls : 4;
        r->tool_calls = realloc(r->tool_calls, cap * sizeof *r->tool_calls);
        assert_non_null(r->tool_calls);
        r->cap_tool_calls = cap;
    }
    assay__tool_call *c = &r->tool_calls[r->n_tool_calls++];
    c->id = strdup("call_1");
    c->name = strdup(name);
    assert_non_null(c->id);
    assert_non_null(c->name);
    assay__buf_init(&c->arguments, 0);
    assert_int_equal(assay__buf_puts(&c->arguments, args), ASSAY_OK);
    f->ctx.response = r;
}

/* Empties the response's calls (the response stays given). */
static void no_calls(check_fixture *f)
{
    assay__response_reset(&f->response);
    f->ctx.response = &f->response;
}

/* One call, then the verdict and maybe the reason. */
static void expect_call(check_fixture *f, const char *name, const char *args,
                        bool pass, const char *reason)
{
    no_calls(f);
    add_call(f, name, args);
    fixture_expect(f, "", pass, reason);
}

#define TOOLS                                                                  \
    "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "     \
    "\"description\": \"The weather in a city\", \"parameters\": {\"type\": "  \
    "\"object\", \"properties\": {\"city\": {\"type\": \"string\"}, "          \
    "\"units\": {\"enum\": [\"c\", \"f\"]}}, \"required\": [\"city\"], "       \
    "\"additionalProperties\": false}}}, {\"type\": \"function\", "            \
    "\"function\": {\"name\": \"get_time\"}}]"

static cJSON *tools_json(const char *text)
{
    cJSON *t = cJSON_Parse(text);
    assert_non_null(t);
    return t;
}

/* ------------------------------------------------------------ valid calls */

static void test_valid_calls(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - is-valid-openai-tools-call\n", NULL);
    cJSON *tools = tools_json(TOOLS);
    f.ctx.tools = tools;

    expect_call(&f, "get_weather", "{\"city\": \"Paris\", \"units\": \"c\"}",
                true,
                "expected to call the target's tools (get_weather, get_time) "
                "with valid arguments; found "
                "get_weather({\"city\":\"Paris\",\"units\":\"c\"}), valid");
    expect_call(&f, "get_weather", "{\"units\": \"k\"}", false,
                "expected to call the target's tools (get_weather, get_time) "
                "with valid arguments; found get_weather({\"units\":\"k\"}): "
                "$: the required property \"city\" is missing");
    expect_call(&f, "get_weather", "{\"city\": \"Paris\", \"units\": \"k\"}",
                false, NULL);
    expect_call(&f, "get_wether", "{\"city\": \"Paris\"}", false,
                "expected to call the target's tools (get_weather, get_time) "
                "with valid arguments; found "
                "get_wether({\"city\":\"Paris\"}): no tool of the target has "
                "that name");
    expect_call(&f, "get_weather", "{\"city\": \"Paris\"", false,
                "expected to call the target's tools (get_weather, get_time) "
                "with valid arguments; found get_weather('{\"city\": "
                "\"Paris\"'): its arguments are not JSON (invalid at offset "
                "15)");
    expect_call(&f, "get_weather", "[\"Paris\"]", false, NULL);
    /* a function without parameters takes {} (or nothing at all) */
    expect_call(&f, "get_time", "{}", true, NULL);
    expect_call(&f, "get_time", "  ", true, NULL);
    expect_call(&f, "get_time", "{\"zone\": \"UTC\"}", false,
                "expected to call the target's tools (get_weather, get_time) "
                "with valid arguments; found get_time({\"zone\":\"UTC\"}): "
                "the tool takes no arguments (it has no 'parameters')");

    /* every call is judged; the first bad one is named */
    no_calls(&f);
    add_call(&f, "get_time", "{}");
    add_call(&f, "get_weather", "{\"city\": 7}");
    fixture_expect(&f, "", false,
                   "expected to call the target's tools (get_weather, "
                   "get_time) with valid arguments; found call 2 of 2, "
                   "get_weather({\"city\":7}): $.city: 7 is not of type "
                   "string");
    no_calls(&f);
    add_call(&f, "get_time", "{}");
    add_call(&f, "get_weather", "{\"city\": \"Oslo\"}");
    fixture_expect(&f, "", true,
                   "expected to call the target's tools (get_weather, "
                   "get_time) with valid arguments; found 2 calls: "
                   "get_time({}), get_weather({\"city\":\"Oslo\"}), all "
                   "valid");

    /* no call at all fails */
    no_calls(&f);
    fixture_expect(&f, "It is sunny in Paris.", false,
                   "expected to call the target's tools (get_weather, "
                   "get_time) with valid arguments; found no tool call (the "
                   "answer: 'It is sunny in Paris.')");

    fixture_teardown(&f);
    cJSON_Delete(tools);
}

static void test_valid_calls_errors(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - is-valid-openai-tools-call\n", NULL);
    add_call(&f, "get_time", "{}");
    fixture_expect_error(&f, "", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'is-valid-openai-tools-call' "
                         "on case 'q1': the target has no tools to check the "
                         "calls against: give it params: {tools: [{type: "
                         "function, function: {name, parameters}}]}");

    cJSON *bad = tools_json("[{\"type\": \"function\", \"function\": "
                            "{\"name\": \"f\", \"parameters\": {\"type\": "
                            "\"objet\"}}}]");
    f.ctx.tools = bad;
    fixture_expect_error(&f, "", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'is-valid-openai-tools-call' "
                         "on case 'q1': the parameters of tool 'f' are not a "
                         "valid JSON Schema: #/type: unknown type 'objet' "
                         "(the types are null, boolean, object, array, "
                         "number, string and integer)");
    cJSON *not_list = tools_json("{\"name\": \"f\"}");
    f.ctx.tools = not_list;
    fixture_expect_error(&f, "", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'is-valid-openai-tools-call' "
                         "on case 'q1': the target's params.tools must be a "
                         "list of {type: function, function: {name, "
                         "parameters}}");
    cJSON *nameless = tools_json("[{\"type\": \"function\", \"function\": "
                                 "{}}]");
    f.ctx.tools = nameless;
    fixture_expect_error(&f, "", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'is-valid-openai-tools-call' "
                         "on case 'q1': the target's params.tools[0] is no "
                         "{type: function, function: {name, parameters}}");

    /* bare text: no response to read calls from */
    cJSON *tools = tools_json(TOOLS);
    f.ctx.tools = tools;
    f.ctx.response = NULL;
    fixture_expect_error(&f, "", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'is-valid-openai-tools-call' "
                         "on case 'q1': there is no response to read tool "
                         "calls from");
    fixture_teardown(&f);
    cJSON_Delete(bad);
    cJSON_Delete(not_list);
    cJSON_Delete(nameless);
    cJSON_Delete(tools);

    fixture_compile_error("checks:\n  - is-valid-openai-tools-call: {}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:5: check "
                          "'is-valid-openai-tools-call' takes no value; write "
                          "it as `- is-valid-openai-tools-call`");
}

/*
 * A run copies the target's params, so the tools a check sees may sit at
 * an address another list had before: the verdict must follow the content.
 */
static void test_valid_calls_follow_content(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - is-valid-openai-tools-call\n", NULL);
    for (int round = 0; round < 40; round++) {
        bool strict = round % 2;
        cJSON *tools = tools_json(
            strict ? "[{\"type\": \"function\", \"function\": {\"name\": "
                     "\"f\", \"parameters\": {\"type\": \"object\", "
                     "\"required\": [\"x\"]}}}]"
                   : "[{\"type\": \"function\", \"function\": {\"name\": "
                     "\"f\", \"parameters\": {\"type\": \"object\"}}}]");
        f.ctx.tools = tools;
        expect_call(&f, "f", "{}", !strict, NULL);
        cJSON_Delete(tools);
    }
    fixture_teardown(&f);
}

typedef struct worker {
    const assay__check *check;
    const cJSON *tools[2];
    const assay__response *responses[2];
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    assay__verdict v;
    assay__verdict_init(&v);
    for (int i = 0; i < 300; i++) {
        int k = i % 2;
        assay__check_context ctx = {.response = w->responses[k],
                                    .latency_ms = NAN,
                                    .ttft_ms = NAN,
                                    .tools = w->tools[k]};
        assay_error err;
        if (assay__check_run(w->check, "", 0, NULL, "q", &ctx, &v, &err) !=
                ASSAY_OK ||
            v.pass != (k == 0))
            w->failures++;
    }
    assay__verdict_release(&v);
    return NULL;
}

/* Several threads on one check, with two tools lists: one cache, no race. */
static void test_valid_calls_threads(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - is-valid-openai-tools-call\n", NULL);
    cJSON *tools[2] = {tools_json(TOOLS),
                       tools_json("[{\"type\": \"function\", \"function\": "
                                  "{\"name\": \"other\"}}]")};
    add_call(&f, "get_weather", "{\"city\": \"Rome\"}");
    worker w[8];
    pthread_t threads[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){.check = f.check,
                        .tools = {tools[0], tools[1]},
                        .responses = {&f.response, &f.response}};
        assert_int_equal(pthread_create(&threads[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    fixture_teardown(&f);
    cJSON_Delete(tools[0]);
    cJSON_Delete(tools[1]);
}

/* ------------------------------------------------------------ tool-call */

static void test_tool_call(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - tool-call: {name: get_weather, arguments: {city: "
                  "\"{{city}}\"}}\n",
                  "{\"city\": \"Paris\"}");
    expect_call(&f, "get_weather", "{\"city\": \"Paris\"}", true,
                "expected to call get_weather({\"city\":\"Paris\"}); found "
                "get_weather({\"city\":\"Paris\"})");
    expect_call(&f, "get_weather", "{\"city\": \"Lyon\"}", false,
                "expected to call get_weather({\"city\":\"Paris\"}); found "
                "get_weather({\"city\":\"Lyon\"}): $.city is 'Lyon', not "
                "'Paris'");
    expect_call(&f, "get_weather", "{\"city\": \"Paris\", \"units\": \"c\"}",
                false,
                "expected to call get_weather({\"city\":\"Paris\"}); found "
                "get_weather({\"city\":\"Paris\",\"units\":\"c\"}): $.units "
                "is not expected");
    expect_call(&f, "get_weather", "{}", false,
                "expected to call get_weather({\"city\":\"Paris\"}); found "
                "get_weather({}): $.city is missing");
    expect_call(&f, "get_time", "{\"city\": \"Paris\"}", false,
                "expected to call get_weather({\"city\":\"Paris\"}); found "
                "get_time({\"city\":\"Paris\"}): get_time is called, not "
                "get_weather");
    expect_call(&f, "get_weather", "city=Paris", false,
                "expected to call get_weather({\"city\":\"Paris\"}); found "
                "get_weather('city=Paris'): its arguments are not JSON "
                "(invalid at offset 0)");
    no_calls(&f);
    fixture_expect(&f, "Paris is sunny.", false,
                   "expected to call get_weather({\"city\":\"Paris\"}); found "
                   "no tool call (the answer: 'Paris is sunny.')");
    no_calls(&f);
    add_call(&f, "get_weather", "{\"city\": \"Paris\"}");
    add_call(&f, "get_weather", "{\"city\": \"Rome\"}");
    fixture_expect(&f, "", false,
                   "expected to call get_weather({\"city\":\"Paris\"}); found "
                   "2 calls: get_weather({\"city\":\"Paris\"}), "
                   "get_weather({\"city\":\"Rome\"}): call 2, get_weather, is "
                   "not expected");
    fixture_teardown(&f);

    /* partial: other arguments are allowed, at any depth */
    fixture_setup(&f,
                  "checks:\n"
                  "  - type: tool-call\n"
                  "    value: {name: book, arguments: {trip: {to: Oslo}}}\n"
                  "    partial: true\n",
                  NULL);
    expect_call(&f, "book",
                "{\"trip\": {\"to\": \"Oslo\", \"seats\": 2}, "
                "\"note\": \"\"}",
                true,
                "expected to call book({\"trip\":{\"to\":\"Oslo\"}}) (other "
                "arguments allowed); found book({\"trip\":{\"to\":\"Oslo\","
                "\"seats\":2},\"note\":\"\"})");
    expect_call(&f, "book", "{\"trip\": {\"to\": \"Bergen\"}}", false, NULL);
    fixture_teardown(&f);

    /* a name alone: any arguments */
    fixture_setup(&f, "checks:\n  - tool-call: get_time\n", NULL);
    expect_call(&f, "get_time", "{\"zone\": \"UTC\"}", true,
                "expected to call get_time(...); found "
                "get_time({\"zone\":\"UTC\"})");
    fixture_teardown(&f);
}

/* Numbers compare as numbers, and a template's text stands for JSON. */
static void test_tool_call_values(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - tool-call:\n"
                  "      name: plan\n"
                  "      arguments: {days: 3, ratio: 0.5, ok: true, "
                  "none: null, tags: [a, b], n: \"{{n}}\", ids: \"{{ids}}\"}\n",
                  "{\"n\": 12, \"ids\": [1, 2]}");
    const char *good = "{\"days\": 3.0, \"ratio\": 5e-1, \"ok\": true, "
                       "\"none\": null, \"tags\": [\"a\", \"b\"], \"n\": 12, "
                       "\"ids\": [1, 2]}";
    expect_call(&f, "plan", good, true, NULL);
    /* a model may write the number as text too: "12" renders as "12" */
    expect_call(&f, "plan",
                "{\"days\": 3, \"ratio\": 0.5, \"ok\": true, \"none\": null, "
                "\"tags\": [\"a\", \"b\"], \"n\": \"12\", \"ids\": [1, 2]}",
                true, NULL);
    /* but a number written in the suite is no string */
    expect_call(&f, "plan",
                "{\"days\": \"3\", \"ratio\": 0.5, \"ok\": true, \"none\": "
                "null, \"tags\": [\"a\", \"b\"], \"n\": 12, \"ids\": [1, 2]}",
                false, NULL);
    assert_non_null(strstr(f.verdict.reason.data, ": $.days is '3', not 3"));
    expect_call(&f, "plan",
                "{\"days\": 3, \"ratio\": 0.5, \"ok\": false, \"none\": null, "
                "\"tags\": [\"a\", \"b\"], \"n\": 12, \"ids\": [1, 2]}",
                false, NULL);
    assert_non_null(strstr(f.verdict.reason.data, ": $.ok is false, not true"));
    expect_call(&f, "plan",
                "{\"days\": 3, \"ratio\": 0.5, \"ok\": true, \"none\": null, "
                "\"tags\": [\"a\", \"b\", \"c\"], \"n\": 12, \"ids\": [1, 2]}",
                false, NULL);
    assert_non_null(
        strstr(f.verdict.reason.data, ": $.tags has 3 items, not 2"));
    expect_call(&f, "plan",
                "{\"days\": 3, \"ratio\": 0.5, \"ok\": true, \"none\": null, "
                "\"tags\": [\"a\", \"b\"], \"n\": 12, \"ids\": [1, 3]}",
                false, NULL);
    assert_non_null(strstr(f.verdict.reason.data, ": $.ids[1] is 3, not 2"));
    expect_call(&f, "plan",
                "{\"days\": 3, \"ratio\": 0.5, \"ok\": true, \"none\": null, "
                "\"tags\": [\"a\", \"b\"], \"n\": 13, \"ids\": [1, 2]}",
                false, NULL);
    assert_non_null(strstr(f.verdict.reason.data, ": $.n is 13, not 12"));
    fixture_teardown(&f);

    /* keys that are no plain names are quoted in the path */
    fixture_setup(&f,
                  "checks:\n"
                  "  - tool-call: {name: f, arguments: {\"a key\": 1}}\n",
                  NULL);
    expect_call(&f, "f", "{\"a key\": 2}", false,
                "expected to call f({\"a key\":1}); found f({\"a key\":2}): "
                "$['a key'] is 2, not 1");
    fixture_teardown(&f);
}

static void test_tool_call_several(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - type: tool-call\n"
                  "    calls:\n"
                  "      - {name: get_weather, arguments: {city: Paris}}\n"
                  "      - get_time\n",
                  NULL);
    no_calls(&f);
    add_call(&f, "get_weather", "{\"city\": \"Paris\"}");
    add_call(&f, "get_time", "{}");
    fixture_expect(&f, "", true,
                   "expected to call get_weather({\"city\":\"Paris\"}), then "
                   "get_time(...); found 2 calls: "
                   "get_weather({\"city\":\"Paris\"}), get_time({})");
    /* in order */
    no_calls(&f);
    add_call(&f, "get_time", "{}");
    add_call(&f, "get_weather", "{\"city\": \"Paris\"}");
    fixture_expect(&f, "", false,
                   "expected to call get_weather({\"city\":\"Paris\"}), then "
                   "get_time(...); found 2 calls: get_time({}), "
                   "get_weather({\"city\":\"Paris\"}): call 1: get_time is "
                   "called, not get_weather");
    no_calls(&f);
    add_call(&f, "get_weather", "{\"city\": \"Paris\"}");
    fixture_expect(&f, "", false,
                   "expected to call get_weather({\"city\":\"Paris\"}), then "
                   "get_time(...); found get_weather({\"city\":\"Paris\"}): "
                   "call 2, get_time, is missing");
    fixture_teardown(&f);

    /* an empty list expects no call */
    fixture_setup(&f, "checks:\n  - tool-call: []\n", NULL);
    no_calls(&f);
    fixture_expect(&f, "Hello.", true,
                   "expected to make no tool call; found no tool call (the "
                   "answer: 'Hello.')");
    add_call(&f, "get_time", "{}");
    fixture_expect(&f, "", false,
                   "expected to make no tool call; found get_time({})");
    fixture_teardown(&f);

    /* negated */
    fixture_setup(&f, "checks:\n  - not-tool-call: get_time\n", NULL);
    expect_call(&f, "get_weather", "{}", true,
                "expected not to call get_time(...); found get_weather({}): "
                "get_weather is called, not get_time");
    fixture_teardown(&f);
}

/* A value written as one text is read per case: JSON, or names. */
static void test_tool_call_text(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - tool-call: \"{{expected}}\"\n",
                  "{\"expected\": \"{\\\"type\\\": \\\"function\\\", "
                  "\\\"function\\\": {\\\"name\\\": \\\"get_weather\\\", "
                  "\\\"arguments\\\": \\\"{\\\\\\\"city\\\\\\\": "
                  "\\\\\\\"Paris\\\\\\\"}\\\"}}\"}");
    /* OpenAI's shape, its arguments a JSON text as the API writes them */
    expect_call(&f, "get_weather", "{\"city\": \"Paris\"}", true,
                "expected to call get_weather(\"{\\\"city\\\": "
                "\\\"Paris\\\"}\"); found get_weather({\"city\":\"Paris\"})");
    expect_call(&f, "get_weather", "{\"city\": \"Rome\"}", false, NULL);
    cJSON_Delete(f.vars);
    f.vars = cJSON_Parse("{\"expected\": \"[{\\\"name\\\": \\\"a\\\"}, "
                         "\\\"b\\\"]\"}");
    no_calls(&f);
    add_call(&f, "a", "{\"x\": 1}");
    add_call(&f, "b", "{}");
    fixture_expect(&f, "", true, NULL);
    cJSON_Delete(f.vars);
    f.vars = cJSON_Parse("{\"expected\": \"b, a\"}");
    fixture_expect(&f, "", false, NULL);
    cJSON_Delete(f.vars);
    f.vars = cJSON_Parse("{\"expected\": \"{\\\"name\\\": \"}");
    fixture_expect_error(&f, "", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'tool-call' on case 'q1': the "
                         "expected calls render to '{\"name\": ', and it is "
                         "not JSON (invalid at offset 7) (write JSON, or "
                         "names separated by commas)");
    cJSON_Delete(f.vars);
    f.vars = cJSON_Parse("{}");
    /* json-path's templates name the case the same way, twice */
    fixture_expect_error(&f, "", ASSAY_ERR_TEMPLATE,
                         "suite.yaml:2:5: check 'tool-call' on case 'q1': "
                         "case 'q1': variable 'expected' is not defined (the "
                         "case has no fields)");
    fixture_teardown(&f);
}

static void test_tool_call_errors(void **state)
{
    (void)state;
    fixture_compile_error("checks:\n  - tool-call: {nam: f}\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:17: unknown key 'nam' in an expected "
                          "tool call (it takes 'name' and 'arguments')");
    fixture_compile_error("checks:\n  - tool-call: {arguments: {}}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:16: an expected tool call needs a "
                          "'name', as in {name: get_weather, arguments: "
                          "{city: Paris}}");
    fixture_compile_error("checks:\n  - tool-call: 42\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:16: check 'tool-call' expects a tool "
                          "call {name: ..., arguments: {...}}, a list of "
                          "them, or a text");
    fixture_compile_error("checks:\n  - tool-call: [f, 3]\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:20: an expected tool call is a name "
                          "or {name: ..., arguments: {...}}");
    fixture_compile_error("checks:\n"
                          "  - {type: tool-call, value: f, calls: [g]}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:33: give the expected calls once, as "
                          "'value' or as 'calls'");
    fixture_compile_error("checks:\n"
                          "  - {type: tool-call, value: f, partial: yes}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:42: 'partial' must be true or false");
    fixture_compile_error("checks:\n  - tool-call: '{\"name\": 1}'\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:16: the expected calls render to "
                          "'{\"name\": 1}', and a call has no 'name' (write "
                          "JSON, or names separated by commas)");
    fixture_compile_error("checks:\n"
                          "  - tool-call: {name: f, arguments: {a: "
                          "\"{{x\"}}\n",
                          ASSAY_ERR_TEMPLATE,
                          "suite.yaml:2:41: unclosed '{{' at column 1 of the "
                          "template");

    check_fixture f;
    fixture_setup(&f, "checks:\n  - tool-call: f\n", NULL);
    fixture_expect_error(&f, "x", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'tool-call' on case 'q1': "
                         "there is no response to read tool calls from");
    fixture_teardown(&f);
}

/* ------------------------------------------------------------ tool-call-f1 */

/* Runs with the calls given as name, args pairs (NULL-terminated). */
static void expect_f1(check_fixture *f, double score, bool pass,
                      const char *reason, ...)
{
    no_calls(f);
    va_list ap;
    va_start(ap, reason);
    for (const char *name; (name = va_arg(ap, const char *));)
        add_call(f, name, va_arg(ap, const char *));
    va_end(ap);
    fixture_expect(f, "", pass, reason);
    if (fabs(f->verdict.score - score) > 1e-9)
        fail_msg("score %.17g, want %.17g (reason: %s)", f->verdict.score,
                 score, f->verdict.reason.data);
}

static void test_f1_names(void **state)
{
    (void)state;
    check_fixture f;
    /* promptfoo's form: names, and a default threshold of 1 */
    fixture_setup(&f, "checks:\n  - tool-call-f1: [get_weather, get_time]\n",
                  NULL);
    expect_f1(&f, 2.0 / 3.0, false,
              "expected to have tool-call F1 >= 1 against get_weather, "
              "get_time; found F1 0.667 (precision 1, recall 0.5) for "
              "get_weather({\"city\":\"Paris\"}); missing get_time",
              "get_weather", "{\"city\": \"Paris\"}", NULL);
    expect_f1(&f, 1.0, true, NULL, "get_time", "{}", "get_weather", "{}", NULL);
    /* a set: the same name twice counts once */
    expect_f1(&f, 1.0, true, NULL, "get_time", "{}", "get_weather",
              "{\"city\": \"A\"}", "get_weather", "{\"city\": \"B\"}", NULL);
    expect_f1(&f, 0.8, false,
              "expected to have tool-call F1 >= 1 against get_weather, "
              "get_time; found F1 0.8 (precision 0.667, recall 1) for 3 "
              "calls: get_time({}), search({}), get_weather({}); unexpected "
              "search",
              "get_time", "{}", "search", "{}", "get_weather", "{}", NULL);
    expect_f1(&f, 0.0, false,
              "expected to have tool-call F1 >= 1 against get_weather, "
              "get_time; found F1 0 (precision 0, recall 0) for no tool call "
              "and no answer; missing get_weather, get_time",
              NULL);
    fixture_teardown(&f);

    /* one text with commas, and a threshold of its own */
    fixture_setup(&f,
                  "checks:\n"
                  "  - {type: tool-call-f1, value: \"get_weather, get_time\", "
                  "threshold: 0.6}\n",
                  NULL);
    expect_f1(&f, 2.0 / 3.0, true, NULL, "get_time", "{}", NULL);
    fixture_teardown(&f);

    /* nothing expected: no call is right, any call wrong */
    fixture_setup(&f, "checks:\n  - tool-call-f1: []\n", NULL);
    expect_f1(&f, 1.0, true,
              "expected to have tool-call F1 >= 1 against no tool call; found "
              "F1 1 (precision 1, recall 1) for no tool call and no answer",
              NULL);
    expect_f1(&f, 0.0, false, NULL, "get_time", "{}", NULL);
    fixture_teardown(&f);
}

static void test_f1_calls(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - tool-call-f1:\n"
                  "      - {name: get_weather, arguments: {city: Paris}}\n"
                  "      - {name: get_weather, arguments: {city: London}}\n",
                  NULL);
    expect_f1(&f, 0.5, false,
              "expected to have tool-call F1 >= 1 against "
              "get_weather({\"city\":\"Paris\"}), "
              "get_weather({\"city\":\"London\"}); found F1 0.5 (precision "
              "0.5, recall 0.5) for 2 calls: "
              "get_weather({\"city\":\"Berlin\"}), "
              "get_weather({\"city\":\"Paris\"}); missing "
              "get_weather({\"city\":\"London\"}); unexpected "
              "get_weather({\"city\":\"Berlin\"})",
              "get_weather", "{\"city\": \"Berlin\"}", "get_weather",
              "{ \"city\" : \"Paris\" }", NULL);
    /* arguments compare as JSON: order and spacing do not matter */
    expect_f1(&f, 1.0, true, NULL, "get_weather", "{\"city\":\"London\"}",
              "get_weather", "{\"city\": \"Paris\"}", "get_weather",
              "{\"city\": \"Paris\"}", NULL);
    fixture_teardown(&f);

    /* by: name */
    fixture_setup(
        &f,
        "checks:\n"
        "  - type: tool-call-f1\n"
        "    by: name\n"
        "    value: [{name: get_weather, arguments: {city: Paris}}]\n",
        NULL);
    expect_f1(&f, 1.0, true,
              "expected to have tool-call F1 >= 1 against get_weather; found "
              "F1 1 (precision 1, recall 1) for "
              "get_weather({\"city\":\"Rome\"})",
              "get_weather", "{\"city\": \"Rome\"}", NULL);
    fixture_teardown(&f);

    /* a call without arguments takes what the specific ones leave */
    fixture_setup(&f,
                  "checks:\n"
                  "  - tool-call-f1:\n"
                  "      - get_weather\n"
                  "      - {name: get_weather, arguments: {city: Paris}}\n",
                  NULL);
    expect_f1(&f, 1.0, true, NULL, "get_weather", "{\"city\": \"Paris\"}",
              "get_weather", "{\"city\": \"Oslo\"}", NULL);
    expect_f1(&f, 2.0 / 3.0, false, NULL, "get_weather",
              "{\"city\": \"Paris\"}", NULL);
    fixture_teardown(&f);

    fixture_compile_error("checks:\n"
                          "  - {type: tool-call-f1, value: [f], by: args}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:42: 'by' is 'call' (name and "
                          "arguments) or 'name'");
    fixture_compile_error("checks:\n"
                          "  - {type: tool-call-f1, value: [f], partial: "
                          "true}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:38: unknown key 'partial' in a "
                          "'tool-call-f1' check (it takes 'type', 'value', "
                          "'weight', 'metric', 'threshold', 'by')");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_calls),
        cmocka_unit_test(test_valid_calls_errors),
        cmocka_unit_test(test_valid_calls_follow_content),
        cmocka_unit_test(test_valid_calls_threads),
        cmocka_unit_test(test_tool_call),
        cmocka_unit_test(test_tool_call_values),
        cmocka_unit_test(test_tool_call_several),
        cmocka_unit_test(test_tool_call_text),
        cmocka_unit_test(test_tool_call_errors),
        cmocka_unit_test(test_f1_names),
        cmocka_unit_test(test_f1_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
