/*
 * test_operational.c - latency, ttft, cost (built-in and suite prices),
 * token bounds and finish-reason, and what they say when the run did not
 * measure what they need.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check_fixture.h"
#include "checks/checks.h"

static void test_latency(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - latency: 500\n", NULL);
    fixture_expect_error(&f, "x", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'latency' on case 'q1': the "
                         "latency of this answer is not known");
    f.ctx.latency_ms = 412.5;
    fixture_expect(&f, "x", true,
                   "expected to take at most 500 ms to answer; found 412.5 "
                   "ms");
    f.ctx.latency_ms = 500.25;
    fixture_expect(&f, "x", false, NULL);
    fixture_teardown(&f);

    fixture_compile_error("checks:\n  - latency: fast\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:14: check 'latency' expects a number "
                          ">= 0 (the most it may be)");
}

static void test_ttft(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - ttft: 200\n", NULL);
    fixture_expect_error(&f, "x", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'ttft' on case 'q1': the time "
                         "to first token is not known (it is measured on "
                         "streamed requests only)");
    f.ctx.ttft_ms = 120;
    fixture_expect(&f, "x", true,
                   "expected to take at most 200 ms to the first token; "
                   "found 120 ms");
    fixture_teardown(&f);
}

static void test_cost(void **state)
{
    (void)state;
    double in, out;
    assert_true(assay__price_of("gpt-4o-mini-2024-07-18", &in, &out));
    assert_true(in == 0.15 && out == 0.60);
    assert_true(assay__price_of("gpt-4o-2024-05-13", &in, &out));
    assert_true(in == 5.00 && out == 15.00); /* its own, older price */
    assert_true(assay__price_of("gpt-4o-2024-08-06", &in, &out));
    assert_true(in == 2.50 && out == 10.00);
    assert_true(assay__price_of("openai/gpt-4.1-mini", &in, &out));
    assert_true(in == 0.40 && out == 1.60);
    assert_false(assay__price_of("gpt-4o-audio-preview", &in, &out));
    assert_false(assay__price_of("llama-3-8b", &in, &out));

    check_fixture f;
    fixture_setup(&f, "checks:\n  - cost: 0.001\n", NULL);
    /* 1000 x 0.15 + 500 x 0.60 = 450 per million: $0.00045 */
    fixture_response(&f, "gpt-4o-mini-2024-07-18", "stop", 1000, 500);
    fixture_expect(&f, "x", true,
                   "expected to cost at most $0.001; found $0.00045 (1000 "
                   "prompt and 500 completion tokens of "
                   "'gpt-4o-mini-2024-07-18' at $0.15 and $0.6 per million)");
    fixture_response(&f, "gpt-4o", "stop", 1000, 500); /* $0.0075 */
    fixture_expect(&f, "x", false, NULL);
    fixture_response(&f, "local-model", "stop", 10, 10);
    fixture_expect_error(&f, "x", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'cost' on case 'q1': no price "
                         "for model 'local-model': give one in the check, as "
                         "prices: {local-model: {input: X, output: Y}} (US "
                         "dollars per million tokens)");
    fixture_response(&f, "gpt-4o", "stop", -1, -1);
    fixture_expect_error(&f, "x", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'cost' on case 'q1': the cost "
                         "is not known: the server reported no token usage");
    fixture_teardown(&f);

    /* the check's own prices add models and override built-in ones */
    fixture_setup(&f,
                  "checks:\n"
                  "  - type: cost\n"
                  "    value: 0.01\n"
                  "    prices:\n"
                  "      local-model: {input: 1, output: 2}\n"
                  "      gpt-4o: {input: 100, output: 100}\n",
                  NULL);
    fixture_response(&f, "local-model", "stop", 2000, 1000); /* $0.004 */
    fixture_expect(&f, "x", true, NULL);
    fixture_response(&f, "gpt-4o-2024-08-06", "stop", 100, 100); /* $0.02 */
    fixture_expect(&f, "x", false, NULL);
    fixture_teardown(&f);

    fixture_compile_error("checks:\n"
                          "  - type: cost\n"
                          "    value: 1\n"
                          "    prices: {m: {input: 1}}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:4:17: the price of 'm' needs 'output': "
                          "US dollars per million tokens, a number >= 0");
}

static void test_tokens(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - completion-tokens: 100\n", NULL);
    fixture_response(&f, "m", "stop", 20, 64);
    fixture_expect(&f, "x", true,
                   "expected to use at most 100 completion tokens; found 64");
    fixture_response(&f, "m", "stop", 20, 101);
    fixture_expect(&f, "x", false, NULL);
    fixture_response(&f, "m", "stop", -1, -1);
    fixture_expect_error(&f, "x", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'completion-tokens' on case "
                         "'q1': the server reported no completion token "
                         "count");
    fixture_teardown(&f);

    fixture_setup(&f, "checks:\n  - {type: total-tokens, min: 10, max: 50}\n",
                  NULL);
    fixture_response(&f, "m", "stop", 20, 25);
    fixture_expect(&f, "x", true,
                   "expected to use 10 to 50 total tokens; found 45");
    fixture_teardown(&f);

    fixture_setup(&f, "checks:\n  - {type: prompt-tokens, min: 5}\n", NULL);
    fixture_response(&f, "m", "stop", 4, 1);
    fixture_expect(&f, "x", false,
                   "expected to use at least 5 prompt tokens; found 4");
    fixture_teardown(&f);

    fixture_setup(&f, "checks:\n  - completion-tokens: 10\n", NULL);
    fixture_expect_error(&f, "x", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'completion-tokens' on case "
                         "'q1': this check needs the endpoint's response, "
                         "and there is none");
    fixture_teardown(&f);

    fixture_compile_error("checks:\n  - {type: total-tokens}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:5: check 'total-tokens' needs a "
                          "bound: a maximum as its value, or 'min' and/or "
                          "'max'");
}

static void test_finish_reason(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - finish-reason: stop\n", NULL);
    fixture_response(&f, "m", "length", 1, 1);
    fixture_expect(&f, "x", false,
                   "expected to finish with 'stop'; found 'length'");
    fixture_response(&f, "m", "stop", 1, 1);
    fixture_expect(&f, "x", true, NULL);
    fixture_teardown(&f);
    fixture_setup(&f, "checks:\n  - not-finish-reason: length\n", NULL);
    fixture_response(&f, "m", "stop", 1, 1);
    fixture_expect(&f, "x", true, NULL);
    fixture_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency),       cmocka_unit_test(test_ttft),
        cmocka_unit_test(test_cost),          cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_finish_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
