/*
 * test_group.c - assert-set: its score as the weighted mean of its checks,
 * passing by all of them or by its threshold, the reason that lists every
 * check's verdict, nesting, what reaches the checks inside (the response,
 * the target's tools) and the mistakes it reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check_fixture.h"
#include "checks/checks.h"

static void expect_score(const check_fixture *f, double want)
{
    if (fabs(f->verdict.score - want) > 1e-12)
        fail_msg("score %.17g, want %.17g (reason: %s)", f->verdict.score, want,
                 f->verdict.reason.data);
}

static void test_all_pass(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - type: assert-set\n"
                  "    checks:\n"
                  "      - contains: \"{{city}}\"\n"
                  "      - regex: '^\\w+'\n",
                  "{\"city\": \"Paris\"}");
    fixture_expect(&f, "Paris is the capital.", true,
                   "expected to pass all 2 checks of the set; found 2 of 2 "
                   "passed, score 1: #1 contains passed: expected to contain "
                   "'Paris'; found 'Paris' at offset 0 | #2 regex passed: "
                   "expected to match /^\\w+/; found 'Paris' at offset 0");
    expect_score(&f, 1.0);
    fixture_expect(&f, "It is Lyon.", false,
                   "expected to pass all 2 checks of the set; found 1 of 2 "
                   "passed, score 0.5: #1 contains failed: expected to "
                   "contain 'Paris'; found 'It is Lyon.' | #2 regex passed: "
                   "expected to match /^\\w+/; found 'It' at offset 0");
    expect_score(&f, 0.5);
    assert_true(isnan(assay__check_threshold(f.check)));
    fixture_teardown(&f);
}

static void test_threshold_and_weights(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - type: assert-set\n"
                  "    threshold: 0.7\n"
                  "    weight: 2\n"
                  "    metric: geography\n"
                  "    checks:\n"
                  "      - {type: contains, value: Paris, weight: 3}\n"
                  "      - contains: France\n"
                  "      - {type: contains, value: Europe, weight: 0}\n",
                  NULL);
    assert_true(assay__check_weight(f.check) == 2.0);
    assert_string_equal(assay__check_metric(f.check), "geography");
    assert_true(assay__check_threshold(f.check) == 0.7);
    /* 3 of 4 by weight: 0.75 >= 0.7, though a check fails */
    fixture_expect(&f, "Paris.", true, NULL);
    expect_score(&f, 0.75);
    assert_non_null(strstr(f.verdict.reason.data,
                           "expected to have a score >= 0.7 over the 3 "
                           "checks of the set; found 1 of 3 passed, score "
                           "0.75: "));
    fixture_expect(&f, "France.", false, NULL);
    expect_score(&f, 0.25);
    /* the weight-0 check is reported, never counted */
    fixture_expect(&f, "Paris, France.", true, NULL);
    expect_score(&f, 1.0);
    assert_non_null(strstr(f.verdict.reason.data,
                           "| #3 contains failed: expected to contain "
                           "'Europe'"));
    fixture_teardown(&f);

    /* a set whose checks all weigh 0 asks nothing */
    fixture_setup(&f,
                  "checks:\n"
                  "  - assert-set: [{type: contains, value: x, weight: 0}]\n",
                  NULL);
    fixture_expect(&f, "y", true, NULL);
    expect_score(&f, 1.0);
    fixture_teardown(&f);
}

static void test_nested_and_negated(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - not-assert-set:\n"
                  "      - contains: a\n"
                  "      - type: assert-set\n"
                  "        threshold: 0.5\n"
                  "        checks: [contains: b, contains: c]\n",
                  NULL);
    fixture_expect(&f, "a b", false,
                   "expected not to pass all 2 checks of the set; found 2 of "
                   "2 passed, score 0.75: #1 contains passed: expected to "
                   "contain 'a'; found 'a' at offset 0 | #2 assert-set "
                   "passed: expected to have a score >= 0.5 over the 2 "
                   "checks of the set; found 1 of 2 passed, score 0.5: #1 "
                   "contains passed: expected to contain 'b'; found 'b' at "
                   "offset 2 | #2 contains failed: expected to contain 'c'; "
                   "found 'a b'");
    /* the inner set passes at 0.5 and scores 0.5: the outer 0.75, negated */
    expect_score(&f, 0.25);
    fixture_expect(&f, "a", true, NULL);
    expect_score(&f, 0.5); /* 1 and 0, negated */
    fixture_teardown(&f);
}

/* The checks inside see the response and the target's tools. */
static void test_context_reaches_checks(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - assert-set:\n"
                  "      - finish-reason: tool_calls\n"
                  "      - is-valid-openai-tools-call\n"
                  "      - latency: 100\n",
                  NULL);
    fixture_response(&f, "m", "tool_calls", 10, 5);
    assay__tool_call *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->name = strdup("get_time");
    assay__buf_init(&c->arguments, 0);
    f.response.tool_calls = c;
    f.response.n_tool_calls = f.response.cap_tool_calls = 1;
    cJSON *tools = cJSON_Parse("[{\"type\": \"function\", \"function\": "
                               "{\"name\": \"get_time\"}}]");
    f.ctx.tools = tools;
    f.ctx.latency_ms = 42;
    fixture_expect(&f, "", true, NULL);
    assert_non_null(strstr(f.verdict.reason.data,
                           "found get_time({}), valid | #3 latency passed"));
    fixture_teardown(&f);
    cJSON_Delete(tools);
}

/* A check inside that cannot run stops the set, saying which and where. */
static void test_errors_inside(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - assert-set:\n"
                  "      - contains: a\n"
                  "      - contains: \"{{missing}}\"\n",
                  "{}");
    assay_status st = fixture_run(&f, "a");
    assert_int_equal(st, ASSAY_ERR_TEMPLATE);
    assert_non_null(strstr(f.err.message, "suite.yaml:2:5: check "
                                          "'assert-set' on case 'q1': "));
    assert_non_null(strstr(f.err.message, "missing"));
    fixture_teardown(&f);
}

/* Hundreds of checks: the reason is cut, never over its cap. */
static void test_long_reason(void **state)
{
    (void)state;
    assay__buf yaml;
    assay__buf_init(&yaml, 0);
    assert_int_equal(assay__buf_puts(&yaml, "checks:\n  - assert-set:\n"),
                     ASSAY_OK);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(assay__buf_printf(&yaml,
                                           "      - contains: "
                                           "%04d-xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
                                           i),
                         ASSAY_OK);
    check_fixture f;
    fixture_setup(&f, yaml.data, NULL);
    fixture_expect(&f, "nothing here", false, NULL);
    assert_true(f.verdict.reason.len < (size_t)40 << 10);
    assert_non_null(strstr(f.verdict.reason.data, "found 0 of 2000 passed"));
    assert_non_null(strstr(f.verdict.reason.data, " more"));
    fixture_teardown(&f);
    assay__buf_release(&yaml);
}

static void test_compile_errors(void **state)
{
    (void)state;
    fixture_compile_error("checks:\n  - {type: assert-set}\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:5: check 'assert-set' needs its "
                          "'checks', as in {type: assert-set, checks: "
                          "[{contains: Paris}]}");
    fixture_compile_error("checks:\n  - {type: assert-set, checks: []}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:32: the checks of an assert-set "
                          "must be a non-empty list");
    fixture_compile_error("checks:\n  - assert-set: {contains: a}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:17: the checks of an assert-set "
                          "must be a non-empty list");
    fixture_compile_error("checks:\n"
                          "  - type: assert-set\n"
                          "    checks:\n"
                          "      - contans: a\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:4:9: unknown check 'contans' (did you "
                          "mean 'contains'?)");
    fixture_compile_error("checks:\n"
                          "  - {type: assert-set, value: [contains: a], "
                          "checks: [contains: b]}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:46: give the set's checks once, as "
                          "'checks' or as 'value'");
    fixture_compile_error("checks:\n"
                          "  - {type: assert-set, checks: [contains: a], "
                          "threshold: 2}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:58: 'threshold' must be a score "
                          "between 0 and 1");
    fixture_compile_error("checks:\n"
                          "  - {type: assert-set, checks: [contains: a], "
                          "chekcs: 1}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:47: unknown key 'chekcs' in a "
                          "'assert-set' check (did you mean 'checks'?)");
    fixture_compile_error("checks:\n"
                          "  - assert-set:\n"
                          "      - llm-rubric: is polite\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:3:9: check 'llm-rubric' cannot be in "
                          "an assert-set: it is model-graded, and the grader "
                          "is asked only for the case's own checks; list it "
                          "among the case's checks");
    fixture_compile_error("checks:\n"
                          "  - assert-set:\n"
                          "      - similar: Paris\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:3:9: check 'similar' cannot be in an "
                          "assert-set: it needs the suite's embedder, which is "
                          "asked only for the case's own checks; list it "
                          "among the case's checks");
    /* an exec check in a set would escape the suite's allow_exec */
    fixture_compile_error(
        "checks:\n"
        "  - assert-set: [{type: not-exec, value: [\"true\"]}]\n",
        ASSAY_ERR_CHECK,
        "suite.yaml:2:18: check 'not-exec' cannot be in an "
        "assert-set: it runs a program, and allow_exec is "
        "enforced on the case's own checks; list it among "
        "the case's checks");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_pass),
        cmocka_unit_test(test_threshold_and_weights),
        cmocka_unit_test(test_nested_and_negated),
        cmocka_unit_test(test_context_reaches_checks),
        cmocka_unit_test(test_errors_inside),
        cmocka_unit_test(test_long_reason),
        cmocka_unit_test(test_compile_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
