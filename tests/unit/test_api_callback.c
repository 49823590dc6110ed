/*
 * test_api_callback.c - evaluating the application's own function through
 * the public header only: callback targets run concurrently on worker
 * threads, see the rendered request, answer with text, tool calls, usage
 * or an error; callback checks judge answers with weight, metric and
 * threshold; the result hook reads answers, scores and latencies; cancel
 * and deadline wait for the calls in flight.
 */
#include <assay.h>

#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_ok.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* What the application's function saw, across threads. */
typedef struct app {
    pthread_mutex_t lock;
    int calls;
    int in_flight;
    int most_in_flight;
    long delay_ms;
    assay_run *cancel_run; /* cancels this run on the first call */
    char bad_request[256]; /* the first thing found wrong, or "" */
} app;

static void app_init(app *a, long delay_ms)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    a->delay_ms = delay_ms;
}

static void note_bad(app *a, const char *what)
{
    pthread_mutex_lock(&a->lock);
    if (!a->bad_request[0])
        snprintf(a->bad_request, sizeof a->bad_request, "%s", what);
    pthread_mutex_unlock(&a->lock);
}

/*
 * The application: answers "positive" when the review says "good", else
 * "negative"; the case "boom" makes it fail, "tool" makes it call a tool.
 * Checks the request it is given.
 */
static void classify(const assay_request *req, assay_response *resp,
                     void *user_data)
{
    app *a = user_data;
    pthread_mutex_lock(&a->lock);
    a->calls++;
    if (++a->in_flight > a->most_in_flight)
        a->most_in_flight = a->in_flight;
    assay_run *cancel = a->calls == 1 ? a->cancel_run : NULL;
    pthread_mutex_unlock(&a->lock);
    if (cancel)
        assay_run_cancel(cancel);

    const assay_case *c = assay_request_case(req);
    const char *text = assay_case_var(c, "text");
    if (assay_request_message_count(req) != 2)
        note_bad(a, "not two messages");
    else if (strcmp(assay_request_message_role(req, 0), "system") ||
             strcmp(assay_request_message_content(req, 0), "Classify."))
        note_bad(a, "wrong system message");
    else if (!text || !strstr(assay_request_message_content(req, 1), text))
        note_bad(a, "the user message lacks the text");
    if (!strstr(assay_request_params_json(req), "\"temperature\":0"))
        note_bad(a, assay_request_params_json(req));
    if (strcmp(assay_request_target(req), "app") ||
        strcmp(assay_request_prompt(req), "default") ||
        assay_request_repeat(req) != 0)
        note_bad(a, "wrong target, prompt or repeat");
    if (!strstr(assay_case_vars_json(c), assay_case_id(c)))
        note_bad(a, "the variables lack the id");
    const char *level = assay_case_var(c, "meta.level");
    if (!level || strcmp(level, "3"))
        note_bad(a, "meta.level is not printed as 3");
    if (assay_case_var(c, "no.such.field"))
        note_bad(a, "a missing field was found");

    if (a->delay_ms)
        sleep_ms(a->delay_ms);
    if (!strcmp(assay_case_id(c), "boom")) {
        assay_response_set_error(resp, "the classifier crashed");
    } else if (!strcmp(assay_case_id(c), "tool")) {
        assay_response_add_tool_call(resp, "lookup", "{\"q\": \"x\"}");
    } else {
        assay_response_set_text(resp, text && strstr(text, "good")
                                          ? "positive"
                                          : "negative");
        assay_response_set_usage(resp, 10, 1);
    }
    pthread_mutex_lock(&a->lock);
    a->in_flight--;
    pthread_mutex_unlock(&a->lock);
}

/* A suite of `n` cases, half positive, for the callback target "app". */
static assay_suite *review_suite(app *a, int n, const char *extra_cases)
{
    assay_suite *s;
    ok(assay_suite_new("reviews", &s, E));
    ok(assay_suite_add_target_callback(s, "app", classify, a, E));
    const char *roles[] = {"system", "user"};
    const char *contents[] = {"Classify.", "Review: {{text}}"};
    ok(assay_suite_add_prompt_messages(s, NULL, roles, contents, 2, E));
    ok(assay_suite_add_check(s, "equals", "{{expected}}", E));
    for (int i = 0; i < n; i++) {
        char id[32], vars[200];
        snprintf(id, sizeof id, "r%02d", i);
        snprintf(vars, sizeof vars,
                 "{text: '%s review %d', expected: %s, meta: {level: 3}, "
                 "params: {temperature: 0}}",
                 i % 2 ? "a good" : "a dull", i, i % 2 ? "positive"
                                                       : "negative");
        ok(assay_suite_add_case(s, id, vars, E));
    }
    if (extra_cases)
        ok(assay_suite_add_case(s, "boom", extra_cases, E));
    return s;
}

static void test_callbacks_run_concurrently(void **state)
{
    (void)state;
    app a;
    app_init(&a, 20);
    assay_suite *s = review_suite(&a, 40, NULL);
    assay_run *run;
    ok(assay_run_new(s, &run, E));
    ok(assay_run_set_workers(run, 8));
    ok(assay_run_set_concurrency(run, 8));
    double start = now_ms();
    ok(assay_run_execute(run, E));
    double took = now_ms() - start;
    double serial = 40 * 20.0;
    /* Under memcheck (`meson test --setup valgrind` sets ASSAY_WRAPPER)
       threads take turns on one core and time says nothing; the overlap
       of calls below still shows they ran concurrently. */
    bool timed = !getenv("ASSAY_WRAPPER");
    if (timed && took >= 0.5 * serial)
        fail_msg("40 calls of 20 ms on 8 workers took %.0f ms (serial: "
                 "%.0f ms)",
                 took, serial);
    assert_int_equal(a.calls, 40);
    assert_true(a.most_in_flight > 1);
    assert_true(a.most_in_flight <= 8);
    if (a.bad_request[0])
        fail_msg("the request was wrong: %s", a.bad_request);
    const assay_summary *sum = assay_run_summary(run);
    assert_int_equal((int)assay_summary_stat(sum, 0, ASSAY_STAT_PASSED), 40);
    assert_int_equal((int)assay_summary_stat(sum, 0, ASSAY_STAT_PROMPT_TOKENS),
                     400);
    assert_true(assay_summary_stat(sum, 0, ASSAY_STAT_LATENCY_MEAN_MS) >= 19);
    assay_run_free(run);
    assay_suite_free(s);

    /* The concurrency limit holds whatever the workers. */
    app_init(&a, 5);
    s = review_suite(&a, 12, NULL);
    ok(assay_run_new(s, &run, E));
    ok(assay_run_set_workers(run, 8));
    ok(assay_run_set_concurrency(run, 2));
    ok(assay_run_execute(run, E));
    assert_int_equal(a.calls, 12);
    assert_true(a.most_in_flight <= 2);
    assay_run_free(run);
    assay_suite_free(s);
}

/* What the result hook saw. */
typedef struct seen_results {
    int results;
    int errors;
    char error[512];
    int tool_passed;
    double min_latency;
    double score_sum;
    int checks_seen;
    char reason[256];
} seen_results;

static void on_result(const assay_result *r, void *user_data)
{
    seen_results *s = user_data;
    s->results++;
    if (assay_result_outcome(r) == ASSAY_OUTCOME_ERROR) {
        s->errors++;
        snprintf(s->error, sizeof s->error, "%s", assay_result_error(r));
        assert_true(isnan(assay_result_score(r)));
        return;
    }
    double latency = assay_result_latency_ms(r);
    if (s->results == 1 || latency < s->min_latency)
        s->min_latency = latency;
    s->score_sum += assay_result_score(r);
    size_t len;
    const char *out = assay_result_output(r, &len);
    if (!strcmp(assay_result_case(r), "tool")) {
        assert_string_equal(assay_result_finish_reason(r), "tool_calls");
        s->tool_passed += assay_result_outcome(r) == ASSAY_OUTCOME_PASS;
        return;
    }
    assert_non_null(out);
    assert_int_equal(len, strlen(out));
    assert_true(!strcmp(out, "positive") || !strcmp(out, "negative"));
    assert_int_equal(assay_result_prompt_tokens(r), 10);
    assert_int_equal(assay_result_completion_tokens(r), 1);
    assert_false(assay_result_cached(r));
    for (size_t i = 0; i < assay_result_check_count(r); i++) {
        s->checks_seen++;
        double score = assay_result_check_score(r, i);
        assert_true(score >= 0 && score <= 1);
        if (!strcmp(assay_result_check_type(r, i), "short"))
            snprintf(s->reason, sizeof s->reason, "%s",
                     assay_result_check_reason(r, i));
    }
    assert_true(isnan(assay_result_check_score(r, 99)));
    assert_null(assay_result_check_metric(r, 99));
}

/* A callback check: passes answers of at most 8 bytes, scored by
   shortness; the case "r00" cannot be judged. */
static void short_answer(const char *answer, size_t len,
                         const assay_case *kase, assay_check_verdict *v,
                         void *user_data)
{
    int *calls = user_data;
    (*calls)++;
    if (!strcmp(assay_case_id(kase), "r00")) {
        assay_check_verdict_set_error(v, "no judge for r00");
        return;
    }
    char reason[64];
    snprintf(reason, sizeof reason, "%zu bytes for '%s'", len,
             assay_case_var(kase, "expected"));
    assert_int_equal(strlen(answer), len);
    assay_check_verdict_set(v, len <= 8, 1.0 - (double)len / 20.0);
    assay_check_verdict_set_reason(v, reason);
}

static void test_errors_checks_and_hooks(void **state)
{
    (void)state;
    app a;
    app_init(&a, 0);
    assay_suite *s = review_suite(&a, 6, "{text: anything, expected: x, "
                                         "meta: {level: 3}, params: "
                                         "{temperature: 0}}");
    ok(assay_suite_add_case(s, "tool",
                            "{text: t, expected: '', meta: {level: 3}, "
                            "params: {temperature: 0}}",
                            E));
    int check_calls = 0;
    ok(assay_suite_add_check_callback(s, "short", short_answer, &check_calls,
                                      E));
    ok(assay_suite_add_check_callback_options(
        s, "shortness", "{weight: 0, metric: brevity, threshold: 0.9}",
        short_answer, &check_calls, E));
    assert_int_equal(assay_suite_check_count(s), 3);
    /* The tool case is judged by the finish reason only. */
    assay_run *run;
    seen_results seen = {0};
    char record[128];
    snprintf(record, sizeof record, "/tmp/assay-api-cb-%ld.jsonl",
             (long)getpid());
    ok(assay_run_new(s, &run, E));
    ok(assay_run_set_record_path(run, record));
    assay_run_set_result_hook(run, on_result, &seen);
    ok(assay_run_execute(run, E));
    /* 6 reviews + boom + tool */
    assert_int_equal(seen.results, 8);
    /* boom (callback), r00 (check), tool (equals '' passes, short fails
       on an empty answer? no: 0 bytes is short) */
    assert_int_equal(seen.errors, 2);
    assert_true(seen.checks_seen > 0);
    assert_true(seen.min_latency >= 0);
    assert_true(seen.score_sum > 0);
    assert_non_null(strstr(seen.reason, "bytes for"));
    const assay_summary *sum = assay_run_summary(run);
    assert_int_equal((int)assay_summary_stat(sum, 0, ASSAY_STAT_ERRORS), 2);
    /* The metric of the weight-0 check is "brevity", its threshold 0.9
       fails "positive" (8 bytes: 0.6) and "negative" alike. */
    bool brevity = false;
    for (size_t m = 0; m < assay_summary_metric_count(sum, 0); m++)
        if (!strcmp(assay_summary_metric_name(sum, 0, m), "brevity")) {
            brevity = true;
            assert_true(assay_summary_metric_stat(sum, 0, m,
                                                  ASSAY_STAT_PASS_RATE) <
                        0.5);
        }
    assert_true(brevity);
    assay_run_free(run);

    /* The record says what kind each error was. */
    FILE *f = fopen(record, "r");
    assert_non_null(f);
    char line[8192];
    bool callback_kind = false, check_kind = false;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "\"kind\":\"callback\"") &&
            strstr(line, "the classifier crashed"))
            callback_kind = true;
        if (strstr(line, "\"kind\":\"check\"") &&
            strstr(line, "no judge for r00"))
            check_kind = true;
    }
    fclose(f);
    unlink(record);
    assert_true(callback_kind);
    assert_true(check_kind);
    assay_suite_free(s);
}

static void test_tool_calls_and_bad_registrations(void **state)
{
    (void)state;
    app a;
    app_init(&a, 0);
    assay_suite *s;
    ok(assay_suite_new("tools", &s, E));
    ok(assay_suite_add_target_callback(s, "app", classify, &a, E));
    const char *roles[] = {"system", "user"};
    const char *contents[] = {"Classify.", "Review: {{text}}"};
    ok(assay_suite_add_prompt_messages(s, NULL, roles, contents, 2, E));
    ok(assay_suite_add_check_text(s, "{finish-reason: tool_calls}", E));
    ok(assay_suite_add_case(s, "tool", "{text: t, meta: {level: 3}, params: "
                                       "{temperature: 0}}",
                            E));
    seen_results seen = {0};
    assay_run *run;
    ok(assay_run_new(s, &run, E));
    assay_run_set_result_hook(run, on_result, &seen);
    ok(assay_run_execute(run, E));
    assert_int_equal(seen.tool_passed, 1);
    assay_run_free(run);

    assay_error err;
    assert_int_equal(
        assay_suite_add_target_callback(s, "app", classify, &a, &err),
        ASSAY_ERR_SUITE);
    assert_non_null(strstr(err.message, "'app'"));
    assert_int_equal(assay_suite_add_target_callback(s, "x", NULL, &a, &err),
                     ASSAY_ERR_INVALID);
    assert_int_equal(assay_suite_add_check_callback_options(
                         s, "c", "weight: 1\nmetrik: m\n", short_answer, NULL,
                         &err),
                     ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "options of check 'c':2:"));
    assert_non_null(strstr(err.message, "'metrik'"));
    assert_int_equal(assay_suite_add_check_callback_options(
                         s, "c", "{threshold: 3}", short_answer, NULL, &err),
                     ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "'threshold'"));
    assert_int_equal(assay_suite_check_count(s), 1);
    ok(assay_run_new(s, &run, E));
    assert_int_equal(assay_run_set_workers(run, 0), ASSAY_ERR_INVALID);
    assay_run_free(run);
    assay_suite_free(s);
}

static void test_cancel_and_deadline_wait_for_calls(void **state)
{
    (void)state;
    app a;
    app_init(&a, 30);
    assay_suite *s = review_suite(&a, 40, NULL);
    assay_run *run;
    ok(assay_run_new(s, &run, E));
    ok(assay_run_set_workers(run, 4));
    ok(assay_run_set_concurrency(run, 4));
    a.cancel_run = run;
    seen_results seen = {0};
    assay_run_set_result_hook(run, on_result, &seen);
    assay_error err;
    assert_int_equal(assay_run_execute(run, &err), ASSAY_ERR_INTERRUPTED);
    /* What was in flight finished and was recorded; nothing more went. */
    assert_true(a.calls >= 1 && a.calls <= 8);
    assert_int_equal(seen.results, a.calls);
    assert_int_equal(a.in_flight, 0);
    assay_run_free(run);
    assay_suite_free(s);

    app_init(&a, 30);
    s = review_suite(&a, 40, NULL);
    ok(assay_run_new(s, &run, E));
    ok(assay_run_set_workers(run, 2));
    ok(assay_run_set_concurrency(run, 2));
    ok(assay_run_set_deadline_ms(run, 50));
    memset(&seen, 0, sizeof seen);
    assay_run_set_result_hook(run, on_result, &seen);
    assert_int_equal(assay_run_execute(run, &err), ASSAY_ERR_TIMEOUT);
    assert_true(a.calls < 40);
    assert_int_equal(seen.results, a.calls);
    assert_int_equal(a.in_flight, 0);
    assay_run_free(run);
    assay_suite_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callbacks_run_concurrently),
        cmocka_unit_test(test_errors_checks_and_hooks),
        cmocka_unit_test(test_tool_calls_and_bad_registrations),
        cmocka_unit_test(test_cancel_and_deadline_wait_for_calls),
    };
    assay_global_init();
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    assay_global_cleanup();
    return failed;
}
