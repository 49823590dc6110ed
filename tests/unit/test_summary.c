/*
 * test_summary.c - gates evaluated on a summary, and the run record round
 * trip: what the journal writes, the record reader reads back to the same
 * numbers, and a line cut short by a crash is skipped.
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

static void test_gates(void **state)
{
    (void)state;
    assay__gates gates;
    assay__gates_init(&gates);
    gates.pass_rate_min = 0.75;
    const char *targets[] = {"a", "b"};
    assay_summary *s = assay__summary_new("suite", targets, 2, &gates);
    for (int i = 0; i < 4; i++)
        assay__summary_add(s, 0, i < 3 ? ASSAY__OUTCOME_PASS
                                       : ASSAY__OUTCOME_FAIL,
                           10, 5, 1);
    assay__summary_add(s, 1, ASSAY__OUTCOME_PASS, 10, 5, 1);
    assay__summary_add(s, 1, ASSAY__OUTCOME_ERROR, -1, -1, -1);
    assert_int_equal(assay__summary_finish(s), ASSAY_OK);
    assert_int_equal(assay_summary_gate_count(s), 2);
    assert_string_equal(assay_summary_gate_text(s, 0),
                        "pass_rate >= 0.75 for target 'a'");
    assert_true(assay_summary_gate_passed(s, 0));
    assert_false(assay_summary_gate_passed(s, 1)); /* 1 of 2: an error */
    assert_false(assay_summary_passed(s));
    assert_int_equal(assay__summary_group(s, "b"), 1);
    assert_int_equal(assay__summary_group(s, "c"), -1);
    assert_true(isnan(assay_summary_stat(s, 5, ASSAY_STAT_RESULTS)));
    assay_summary_free(s);
}

static void test_no_results_fail_the_gate(void **state)
{
    (void)state;
    assay__gates gates;
    assay__gates_init(&gates);
    const char *targets[] = {"a"};
    assay_summary *s = assay__summary_new("suite", targets, 1, &gates);
    assert_int_equal(assay__summary_finish(s), ASSAY_OK);
    assert_true(assay_summary_passed(s)); /* no gates at all */
    assay_summary_free(s);
    gates.pass_rate_min = 0;
    s = assay__summary_new("suite", targets, 1, &gates);
    assert_int_equal(assay__summary_finish(s), ASSAY_OK);
    assert_false(assay_summary_passed(s)); /* nothing ran: nothing proven */
    assay_summary_free(s);
}

static void write_result(assay__journal *j, const char *id, const char *target,
                         bool pass, bool error)
{
    assay__response resp;
    assay__response_init(&resp);
    assay__buf_puts(&resp.content, pass ? "Paris" : "Lyon");
    resp.prompt_tokens = 10;
    resp.completion_tokens = 2;
    resp.total_tokens = 12;
    assay__check_outcome check = {.type = "icontains",
                                  .weight = 1,
                                  .pass = pass,
                                  .score = pass ? 1 : 0,
                                  .reason = "why"};
    assay__result r = {
        .case_id = id,
        .target = target,
        .response = error ? NULL : &resp,
        .has_verdict = !error,
        .pass = pass,
        .score = pass ? 1 : 0,
        .checks = &check,
        .n_checks = error ? 0 : 1,
        .latency_ms = error ? -1 : 42.5,
        .attempts = 1,
        .error_kind = error ? "http" : NULL,
        .error_status = 500,
        .error_message = "HTTP 500: boom",
    };
    assay_error err;
    assert_int_equal(assay__journal_result(j, &r, &err), ASSAY_OK);
    assay__response_release(&resp);
}

static void test_record_round_trip(void **state)
{
    (void)state;
    assay_suite *suite;
    assay_error err;
    assert_int_equal(assay_suite_load(SOURCE_ROOT "/tests/cli/cases/basic.yaml",
                                      &suite, &err),
                     ASSAY_OK);
    char path[] = "/tmp/assay-test-record-XXXXXX";
    close(mkstemp(path));
    assay__journal *j;
    assert_int_equal(assay__journal_open(path, &j, &err), ASSAY_OK);
    const char *urls[] = {"http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1"};
    assert_int_equal(assay__journal_header(j, suite, urls, &err), ASSAY_OK);
    write_result(j, "fr", "alpha", true, false);
    write_result(j, "es", "alpha", false, false);
    write_result(j, "de", "beta", false, true);
    assert_int_equal(assay__journal_close(j, &err), ASSAY_OK);

    /* A crash in the middle of a line leaves a partial last line. */
    FILE *f = fopen(path, "ab");
    fputs("{\"type\":\"result\",\"case\":\"it\",\"tar", f);
    fclose(f);

    assay_summary *s;
    assert_int_equal(assay_summary_load(path, &s, &err), ASSAY_OK);
    assert_string_equal(assay_summary_suite_name(s), "basic");
    assert_int_equal(assay_summary_group_count(s), 2);
    assert_true(assay_summary_stat(s, 0, ASSAY_STAT_RESULTS) == 2);
    assert_true(assay_summary_stat(s, 0, ASSAY_STAT_PASSED) == 1);
    assert_true(assay_summary_stat(s, 0, ASSAY_STAT_PASS_RATE) == 0.5);
    assert_true(assay_summary_stat(s, 0, ASSAY_STAT_PROMPT_TOKENS) == 20);
    assert_true(fabs(assay_summary_stat(s, 0, ASSAY_STAT_LATENCY_MEAN_MS) -
                     42.5) < 1e-9);
    assert_true(assay_summary_stat(s, 1, ASSAY_STAT_ERRORS) == 1);
    assert_true(isnan(assay_summary_stat(s, 1, ASSAY_STAT_LATENCY_MEAN_MS)));
    /* The suite's gate (0.7) came back from the header. */
    assert_int_equal(assay_summary_gate_count(s), 2);
    assert_false(assay_summary_passed(s));
    assay_summary_free(s);
    unlink(path);
    assay_suite_free(suite);
}

static void test_record_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/assay-test-record-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("{\"type\":\"result\"}\n", f);
    fclose(f);
    assay_summary *s;
    assay_error err;
    assert_int_equal(assay_summary_load(path, &s, &err), ASSAY_ERR_RECORD);
    assert_null(s);
    assert_non_null(strstr(err.message, ":1: not a run record"));

    f = fopen(path, "w");
    fputs("{\"type\":\"run\",\"suite\":\"x\",\"targets\":[{\"name\":\"a\"}],"
          "\"gates\":{}}\n"
          "not json\n{\"type\":\"summary\"}\n",
          f);
    fclose(f);
    assert_int_equal(assay_summary_load(path, &s, &err), ASSAY_ERR_RECORD);
    assert_non_null(strstr(err.message, ":2: not a JSON object"));

    f = fopen(path, "w");
    fputs("{\"type\":\"run\",\"suite\":\"x\",\"targets\":[{\"name\":\"a\"}],"
          "\"gates\":{}}\n"
          "{\"type\":\"result\",\"target\":\"zz\",\"pass\":true}\n",
          f);
    fclose(f);
    assert_int_equal(assay_summary_load(path, &s, &err), ASSAY_ERR_RECORD);
    assert_non_null(strstr(err.message, ":2: the result's 'target' is not"));
    unlink(path);

    assert_int_equal(assay_summary_load("/nonexistent.jsonl", &s, &err),
                     ASSAY_ERR_IO);
}

/* A line longer than any record writes is refused, not read whole. */
static void test_record_line_cap(void **state)
{
    (void)state;
    char path[] = "/tmp/assay-test-record-XXXXXX";
    FILE *f = fdopen(mkstemp(path), "w");
    fputs("{\"type\":\"run\",\"suite\":\"x\",\"targets\":[{\"name\":"
          "\"a\"}],\"gates\":{}}\n{\"type\":\"result\",\"output\":\"",
          f);
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 65; i++)
        fwrite(chunk, 1, sizeof chunk, f);
    fputs("\"}\n", f);
    fclose(f);
    assay_summary *s;
    assay_error err;
    assert_int_equal(assay_summary_load(path, &s, &err), ASSAY_ERR_RECORD);
    assert_non_null(strstr(err.message, ":2: the line is longer than 64 MiB"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_line_cap),
        cmocka_unit_test(test_gates),
        cmocka_unit_test(test_no_results_fail_the_gate),
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_record_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
