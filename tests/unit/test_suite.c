/*
 * test_suite.c - loading suites: the fields, their defaults, and an error
 * at the right line and column for each kind of mistake.
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

static void test_basic_suite(void **state)
{
    (void)state;
    assay_suite *s;
    assay_error err;
    assert_int_equal(assay_suite_load(SOURCE_ROOT "/tests/cli/cases/basic.yaml",
                                      &s, &err),
                     ASSAY_OK);
    assert_string_equal(assay_suite_name(s), "basic");
    assert_int_equal(assay_suite_target_count(s), 2);
    assert_string_equal(assay_suite_target_name(s, 0), "alpha");
    assert_string_equal(assay_suite_target_name(s, 1), "beta");
    assert_null(assay_suite_target_name(s, 2));
    assert_string_equal(s->targets[0].model, "model-a");
    assert_null(s->targets[0].base_url);
    assert_string_equal(s->targets[0].api_key_env, "OPENAI_API_KEY");
    assert_int_equal(cJSON_GetObjectItem(s->targets[0].params, "max_tokens")
                         ->valueint,
                     16);
    assert_int_equal(cJSON_GetArraySize(s->targets[1].params), 0);
    assert_int_equal(s->n_messages, 2);
    assert_string_equal(s->messages[0].role, "system");
    assert_true(assay__template_is_constant(s->messages[0].content));
    assert_false(assay__template_is_constant(s->messages[1].content));
    assert_int_equal(s->n_checks, 1);
    assert_string_equal(assay__check_type(s->checks[0]), "icontains");
    assert_non_null(s->inline_cases);
    assert_null(s->dataset_path);
    assert_int_equal(s->repeat, 1);
    assert_true(fabs(s->gates.pass_rate_min - 0.7) < 1e-12);
    assert_int_equal(strlen(s->config_hash), 64);
    assay_suite_free(s);
}

static void test_json_suite_resolves_dataset(void **state)
{
    (void)state;
    assay_suite *s;
    assay_error err;
    assert_int_equal(assay_suite_load(SOURCE_ROOT "/tests/cli/cases/basic.json",
                                      &s, &err),
                     ASSAY_OK);
    assert_string_equal(s->dataset_path,
                        SOURCE_ROOT "/tests/cli/cases/capitals.jsonl");
    assert_string_equal(s->messages[0].role, "user");
    assert_true(fabs(s->gates.pass_rate_min - 0.5) < 1e-12);
    assay_suite_free(s);
}

/* Loads `text` as a suite file and expects `message` after "FILE:". */
static void expect_error(const char *text, assay_status status,
                         const char *message)
{
    char path[] = "/tmp/assay-test-suite-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    assay_suite *s = (assay_suite *)1;
    assay_error err;
    assay_status st = assay_suite_load(path, &s, &err);
    unlink(path);
    assert_null(s);
    assert_int_equal(st, status);
    assert_string_equal(err.file, path);
    const char *after = err.message + strlen(path) + 1;
    if (message && strcmp(after, message))
        fail_msg("expected '%s'\n     got '%s'", message, after);
}

#define HEAD                                                                   \
    "targets:\n  - model: m\nprompt: \"{{q}}\"\ncases:\n  - {q: x}\n"

static void test_errors(void **state)
{
    (void)state;
    expect_error("- a\n- b\n", ASSAY_ERR_SUITE,
                 "1:1: a suite must be a mapping with 'targets', 'prompt', "
                 "'dataset' or 'cases', and 'checks'");
    expect_error(HEAD "checks:\n  - contains: x\nrepat: 2\n", ASSAY_ERR_SUITE,
                 "8:1: unknown key 'repat' in the suite (expected one of: "
                 "name, description, targets, prompt, dataset, cases, checks, "
                 "repeat, gates)");
    expect_error("prompt: x\ncases: []\nchecks: [{contains: x}]\n",
                 ASSAY_ERR_SUITE,
                 "1:1: missing 'targets' (the models to evaluate)");
    expect_error("targets: []\n", ASSAY_ERR_SUITE,
                 "1:10: 'targets' must be a non-empty list");
    expect_error("targets:\n  - name: a\n", ASSAY_ERR_SUITE,
                 "2:5: missing 'model'");
    expect_error("targets:\n  - {model: m, modle: x}\n", ASSAY_ERR_SUITE,
                 "2:16: unknown key 'modle' in target (expected one of: name, "
                 "model, base_url, api_key_env, params)");
    expect_error("targets:\n  - model: a\n  - model: a\n", ASSAY_ERR_SUITE,
                 "3:5: two targets are named 'a'; give each a distinct "
                 "'name'");
    expect_error("targets:\n  - {model: m, params: {model: x}}\n",
                 ASSAY_ERR_SUITE,
                 "2:25: 'model' is set by the suite, not in 'params'");
    expect_error("targets:\n  - model: m\nprompt:\n  - sistem: hi\n",
                 ASSAY_ERR_SUITE,
                 "4:5: a message is {system|user|assistant: text} or {role: "
                 "..., content: text}");
    expect_error("targets:\n  - model: m\nprompt: \"{{q\"\n", ASSAY_ERR_TEMPLATE,
                 NULL);
    expect_error(HEAD "dataset: d.jsonl\n", ASSAY_ERR_SUITE,
                 "4:1: give either 'dataset' or 'cases', not both");
    expect_error(HEAD, ASSAY_ERR_SUITE,
                 "1:1: missing 'checks' (how to score an answer)");
    expect_error(HEAD "checks:\n  - contains: x\nrepeat: 0\n", ASSAY_ERR_SUITE,
                 "8:9: 'repeat' must be a whole number from 1 to 100000");
    expect_error(HEAD "checks:\n  - contains: x\ngates:\n  pass_rat: 0.9\n",
                 ASSAY_ERR_SUITE,
                 "9:3: unknown gate 'pass_rat' (known: pass_rate)");
    expect_error(HEAD "checks:\n  - contains: x\ngates:\n  pass_rate: {min: 2}\n",
                 ASSAY_ERR_SUITE, "9:20: expected a number from 0 to 1");
}

static void test_missing_file(void **state)
{
    (void)state;
    assay_suite *s;
    assay_error err;
    assert_int_equal(assay_suite_load("/nonexistent.yaml", &s, &err),
                     ASSAY_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err.message, "/nonexistent.yaml"));
    assert_int_equal(assay_suite_load(NULL, &s, &err), ASSAY_ERR_INVALID);
    assay_suite_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_suite),
        cmocka_unit_test(test_json_suite_resolves_dataset),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
