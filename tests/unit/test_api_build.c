/*
 * test_api_build.c - suites built in code through the public header only:
 * targets, prompts, checks and cases added to a new suite and to a loaded
 * one, run without a server (echo and output targets answer locally), and
 * every bad text reported with its field and its line within the text.
 */
#include <assay.h>

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_ok.h"
#include "fake_server.h" /* test support, not the library's */

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

/* Asserts that the message holds `part`, printing it when not. */
static void assert_mentions(const assay_error *err, const char *part)
{
    if (!strstr(err->message, part))
        fail_msg("expected '%s' in: %s", part, err->message);
}

static void tmp_path(char *out, size_t size, const char *what)
{
    snprintf(out, size, "/tmp/assay-api-build-%ld-%s", (long)getpid(), what);
}

/* Runs the suite; returns its summary's passed count (errors fail). */
typedef struct run_counts {
    double passed, failed, errors, results;
} run_counts;

static run_counts run_suite(const assay_suite *suite, const char *record)
{
    assay_run *run;
    ok(assay_run_new(suite, &run, E));
    if (record)
        ok(assay_run_set_record_path(run, record));
    ok(assay_run_execute(run, E));
    const assay_summary *sum = assay_run_summary(run);
    run_counts c = {0, 0, 0, 0};
    for (size_t g = 0; g < assay_summary_group_count(sum); g++) {
        c.passed += assay_summary_stat(sum, g, ASSAY_STAT_PASSED);
        c.failed += assay_summary_stat(sum, g, ASSAY_STAT_FAILED);
        c.errors += assay_summary_stat(sum, g, ASSAY_STAT_ERRORS);
        c.results += assay_summary_stat(sum, g, ASSAY_STAT_RESULTS);
    }
    assay_run_free(run);
    return c;
}

static void test_suite_in_code(void **state)
{
    (void)state;
    assay_suite *s;
    ok(assay_suite_new("sentiment", &s, E));
    assert_string_equal(assay_suite_name(s), "sentiment");
    assert_int_equal(assay_suite_target_count(s), 0);
    assert_int_equal(assay_suite_prompt_count(s), 1);
    ok(assay_suite_add_target_text(s, "{name: mirror, echo: true}", E));
    ok(assay_suite_add_target(s, "remote", "http://127.0.0.1:9/v1",
                              "some-model", E));
    assert_int_equal(assay_suite_target_count(s), 2);
    assert_string_equal(assay_suite_target_name(s, 1), "remote");
    assert_string_equal(assay_suite_target_base_url(s, 1),
                        "http://127.0.0.1:9/v1");
    /* Only the echo target is run: the other needs a server. */
    const char *keep[] = {"mirror"};
    ok(assay_suite_keep_targets(s, keep, 1, E));

    ok(assay_suite_add_prompt(s, "plain", "Review: {{text}}", E));
    assert_int_equal(assay_suite_prompt_count(s), 1); /* replaced */
    assert_string_equal(assay_suite_prompt_name(s, 0), "plain");
    const char *roles[] = {"system", "user"};
    const char *contents[] = {"Label the review.", "{{text | upper}}"};
    ok(assay_suite_add_prompt_messages(s, "shouting", roles, contents, 2, E));
    assert_int_equal(assay_suite_prompt_count(s), 2);

    ok(assay_suite_add_check(s, "icontains", "{{expected}}", E));
    ok(assay_suite_add_check_text(
        s, "type: not-contains\nvalue: banana\nweight: 0\nmetric: fruit\n",
        E));
    ok(assay_suite_add_check(s, "is-json", NULL, E));
    assert_int_equal(assay_suite_check_count(s), 3);
    ok(assay_suite_set_gate(s, "pass_rate.min", 0.5, E));

    /* is-json fails every echo: only the weight-0 check is spared. */
    ok(assay_suite_add_case(s, "c1", "{\"text\": \"good film\", "
                                     "\"expected\": \"good\"}",
                            E));
    ok(assay_suite_add_case(s, NULL, "{id: c2, text: bad plot, expected: bad}",
                            E));
    run_counts c = run_suite(s, NULL);
    assert_int_equal((int)c.results, 4); /* 2 cases x 2 prompts */
    assert_int_equal((int)c.failed, 4);
    assay_suite_free(s);

    /* Without is-json, both prompts pass both cases. */
    ok(assay_suite_new("sentiment", &s, E));
    ok(assay_suite_add_target_text(s, "{name: mirror, echo: true}", E));
    ok(assay_suite_add_prompt(s, NULL, "Review: {{text}}", E));
    ok(assay_suite_add_check(s, "icontains", "{{expected}}", E));
    ok(assay_suite_add_case(s, "c1", "{text: good film, expected: GOOD}", E));
    ok(assay_suite_add_case(s, "c2", "{text: bad plot, expected: plot}", E));
    /* A case's own checks work as in a suite file's `cases:`. */
    ok(assay_suite_add_case(s, "c3", "{text: meh, expected: meh, checks: "
                                     "[{contains: not in the answer}]}",
                            E));
    c = run_suite(s, NULL);
    assert_int_equal((int)c.results, 3);
    assert_int_equal((int)c.passed, 2);
    assay_suite_free(s);
}

static void test_dataset_and_output_target(void **state)
{
    (void)state;
    assay_suite *s;
    ok(assay_suite_new("classification", &s, E));
    /* Answers with the case's own `answer` field: every case passes. */
    ok(assay_suite_add_target_text(s, "name: oracle\noutput: answer\n", E));
    ok(assay_suite_add_prompt(s, NULL, "{{question}}", E));
    ok(assay_suite_add_check_text(s, "{type: equals, value: '{{answer}}'}",
                                  E));
    ok(assay_suite_set_dataset(
        s, SOURCE_ROOT "/datasets/classification.jsonl", E));
    assay_error err;
    assert_int_equal(assay_suite_add_case(s, "x", "{a: 1}", &err),
                     ASSAY_ERR_STATE);
    assert_mentions(&err, "classification.jsonl");
    run_counts c = run_suite(s, NULL);
    assert_int_equal((int)c.passed, 100);
    assay_suite_free(s);
}

static void test_loaded_suite_accepts_additions(void **state)
{
    (void)state;
    char path[256], record[256];
    tmp_path(path, sizeof path, "suite.yaml");
    tmp_path(record, sizeof record, "record.jsonl");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name: loaded\n"
          "targets:\n"
          "  - {name: mirror, echo: true}\n"
          "prompt: 'Q: {{q}}'\n"
          "cases:\n"
          "  - {id: a, q: alpha}\n"
          "checks:\n"
          "  - contains: 'Q:'\n",
          f);
    fclose(f);
    assay_suite *s;
    ok(assay_suite_load(path, &s, E));
    ok(assay_suite_add_case(s, "b", "{q: beta}", E));
    ok(assay_suite_add_check(s, "contains", "{{q}}", E));
    ok(assay_suite_add_target_text(s, "{name: second, echo: true}", E));
    ok(assay_suite_add_prompt(s, "other", "Question {{q}}?", E));
    /* The file's prompt stays: a second variant was added. */
    assert_int_equal(assay_suite_prompt_count(s), 2);
    assay_error err;
    assert_int_equal(assay_suite_add_case(s, "a", "{q: again}", &err),
                     ASSAY_ERR_DATASET);
    assert_mentions(&err, "'a'");
    run_counts c = run_suite(s, record);
    /* 2 cases x 2 targets x 2 prompts; "other" has no "Q:". */
    assert_int_equal((int)c.results, 8);
    assert_int_equal((int)c.passed, 4);
    assay_suite_free(s);

    /* The record reads back into the same summary. */
    assay_summary *sum;
    ok(assay_summary_load(record, &sum, E));
    assert_int_equal(assay_summary_group_count(sum), 4);
    assay_summary_free(sum);
    unlink(record);
    unlink(path);
}

static void test_bad_texts_name_the_field(void **state)
{
    (void)state;
    assay_suite *s;
    ok(assay_suite_new("bad", &s, E));
    assay_error err;

    assert_int_equal(assay_suite_add_target_text(
                         s, "name: x\nmodle: gpt-4o-mini\n", &err),
                     ASSAY_ERR_SUITE);
    assert_mentions(&err, "target:2:");
    assert_mentions(&err, "'modle'");
    assert_int_equal(err.line, 2);

    assert_int_equal(assay_suite_add_target_text(s, "{name: x}", &err),
                     ASSAY_ERR_SUITE);
    assert_mentions(&err, "'model'");

    assert_int_equal(assay_suite_add_target_text(
                         s, "name: x\nmodel: m\nparams: [1]\n", &err),
                     ASSAY_ERR_SUITE);
    assert_mentions(&err, "target:3:");
    assert_mentions(&err, "'params'");

    ok(assay_suite_add_target(s, "dup", NULL, "m", E));
    assert_int_equal(assay_suite_add_target(s, "dup", NULL, "m", &err),
                     ASSAY_ERR_SUITE);
    assert_mentions(&err, "'dup'");
    assert_int_equal(assay_suite_add_target(s, "no-model", NULL, NULL, &err),
                     ASSAY_ERR_INVALID);

    assert_int_equal(assay_suite_add_check(s, "containz", "x", &err),
                     ASSAY_ERR_CHECK);
    assert_mentions(&err, "did you mean 'contains'");

    assert_int_equal(
        assay_suite_add_check_text(
            s, "type: f1\nvalue: '{{expected}}'\nthreshold: 2\n", &err),
        ASSAY_ERR_CHECK);
    assert_mentions(&err, "check:3:");
    assert_mentions(&err, "'threshold'");

    assert_int_equal(assay_suite_add_check_text(
                         s, "type: contains\nvalue: x\nweight: -1\n", &err),
                     ASSAY_ERR_CHECK);
    assert_mentions(&err, "check:3:");
    assert_mentions(&err, "'weight'");

    assert_int_equal(assay_suite_add_check_text(
                         s, "type: contains\nvalue: x\nflagz: i\n", &err),
                     ASSAY_ERR_CHECK);
    assert_mentions(&err, "check:3:");
    assert_mentions(&err, "'flagz'");

    assert_int_equal(assay_suite_add_check_text(s, "{exec: [./judge]}", &err),
                     ASSAY_ERR_SUITE);
    assert_mentions(&err, "allow_exec");

    assert_int_equal(assay_suite_add_check_text(s, "{contains: [", &err),
                     ASSAY_ERR_SYNTAX);
    assert_mentions(&err, "check:");
    assert_mentions(&err, "did not find expected node");

    assert_int_equal(assay_suite_add_case(s, "c", "[1, 2]", &err),
                     ASSAY_ERR_DATASET);
    assert_mentions(&err, "case 'c':1:");

    assert_int_equal(assay_suite_add_case(s, "c", "{\"a\": 1,\n \"b\": \"open}",
                                          &err),
                     ASSAY_ERR_SYNTAX);
    assert_mentions(&err, "case 'c':2:");

    assert_int_equal(assay_suite_add_prompt(s, "p", "{{#if x}}no end", &err),
                     ASSAY_ERR_TEMPLATE);
    assert_mentions(&err, "prompt 'p'");

    const char *roles[] = {"user", "narrator"};
    const char *contents[] = {"hi", "there"};
    assert_int_equal(
        assay_suite_add_prompt_messages(s, "p", roles, contents, 2, &err),
        ASSAY_ERR_SUITE);
    assert_mentions(&err, "message 2");
    assert_mentions(&err, "'role'");

    /* Failed additions left the suite as it was. */
    assert_int_equal(assay_suite_target_count(s), 1);
    assert_int_equal(assay_suite_check_count(s), 0);
    assert_int_equal(assay_suite_prompt_count(s), 1);
    assert_string_equal(assay_suite_prompt_name(s, 0), "default");
    assay_suite_free(s);

    assert_int_equal(assay_suite_new("", &s, &err), ASSAY_ERR_INVALID);
    assert_null(s);
}

static bool file_contains(const char *path, const char *part)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, part) != NULL;
}

/* A grader set in code judges the suite's model-graded checks; the fake
   server stands in for it and approves everything. */
static void test_grader_in_code(void **state)
{
    (void)state;
    fake_server fs;
    const char *args[] = {"--default-reply",
                          "{\"pass\": true, \"score\": 1, \"reason\": \"fine\"}",
                          NULL};
    assert_int_equal(fake_server_start(&fs, args), 0);
    assay_suite *suite;
    assay_error err;
    assay_error_clear(&err);
    ok(assay_suite_new("graded", &suite, E));
    ok(assay_suite_add_target_text(suite, "{name: app, echo: true}", E));
    ok(assay_suite_add_prompt(suite, "p", "{{q}}", E));
    ok(assay_suite_add_case(suite, "1", "{q: the sky is blue}", E));
    ok(assay_suite_add_check(suite, "llm-rubric", "states a fact", E));

    /* Without a grader the check cannot be judged. */
    run_counts none = run_suite(suite, NULL);
    assert_true(none.errors == 1);

    assert_int_equal(assay_suite_set_grader(suite, "{modle: judge}", &err),
                     ASSAY_ERR_SUITE);
    assert_mentions(&err, "grader:1:2: unknown key 'modle'");
    char text[256];
    snprintf(text, sizeof text,
             "{model: judge, base_url: \"%s\", api_key_env: PATH}",
             fs.base_url);
    ok(assay_suite_set_grader(suite, text, E));
    run_counts judged = run_suite(suite, NULL);
    assert_true(judged.passed == 1 && judged.errors == 0);

    ok(assay_suite_set_embedder(suite, "{model: embed-small}", E));
    assay_suite_free(suite);
    fake_server_stop(&fs);
}

static void test_write_path(void **state)
{
    (void)state;
    char record[256], out[256];
    tmp_path(record, sizeof record, "wp.jsonl");
    tmp_path(out, sizeof out, "wp-summary.md");
    assay_suite *s;
    ok(assay_suite_new("written", &s, E));
    ok(assay_suite_add_target_text(s, "{name: mirror, echo: true}", E));
    ok(assay_suite_add_check(s, "contains", "hello", E));
    ok(assay_suite_add_case(s, "1", "{input: hello there}", E));
    assay_run *run;
    ok(assay_run_new(s, &run, E));
    ok(assay_run_set_record_path(run, record));
    ok(assay_run_execute(run, E));
    ok(assay_summary_write_path(assay_run_summary(run), ASSAY_FORMAT_MARKDOWN,
                                out, E));
    assert_true(file_contains(out, "written"));
    assay_report *report;
    ok(assay_report_open(record, &report, E));
    ok(assay_report_write_path(report, ASSAY_FORMAT_JUNIT, out, E));
    assert_true(file_contains(out, "<testsuite"));
    assay_error err;
    assert_int_equal(assay_report_write_path(report, ASSAY_FORMAT_JSON,
                                             "/nonexistent-dir/x.json", &err),
                     ASSAY_ERR_IO);
    assert_mentions(&err, "/nonexistent-dir/x.json");
    assay_report_free(report);
    assay_run_free(run);
    assay_suite_free(s);
    unlink(out);
    unlink(record);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_in_code),
        cmocka_unit_test(test_dataset_and_output_target),
        cmocka_unit_test(test_loaded_suite_accepts_additions),
        cmocka_unit_test(test_bad_texts_name_the_field),
        cmocka_unit_test(test_grader_in_code),
        cmocka_unit_test(test_write_path),
    };
    assay_global_init();
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    assay_global_cleanup();
    return failed;
}
