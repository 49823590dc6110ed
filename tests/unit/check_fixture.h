/*
 * check_fixture.h - what the unit tests of the check families share: a
 * check compiled from the YAML a suite would hold, run on an answer (with
 * a response and timings when the test gives them), and the verdict and
 * reason compared. Include after <cmocka.h>.
 */
#ifndef ASSAY_TEST_CHECK_FIXTURE_H
#define ASSAY_TEST_CHECK_FIXTURE_H

#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct check_fixture {
    assay__doc *doc;
    assay__check *check;
    cJSON *vars;
    assay__verdict verdict;
    assay_error err;
    assay__check_context ctx;
    assay__response response;
} check_fixture;

/* Compiles `checks:` entry 0 of `yaml` (named suite.yaml). */
static inline assay_status fixture_compile(const char *yaml, assay__doc **doc,
                                           assay__check **c, assay_error *err)
{
    *c = NULL;
    assay_status st =
        assay__doc_parse("suite.yaml", yaml, strlen(yaml), doc, err);
    if (st != ASSAY_OK)
        fail_msg("the test's YAML does not parse: %s", err->message);
    const cJSON *list =
        cJSON_GetObjectItemCaseSensitive(assay__doc_root(*doc), "checks");
    assert_non_null(list);
    return assay__check_compile(*doc, cJSON_GetArrayItem(list, 0), c, err);
}

/* The error a spec gives: status `want` and exactly `message`. */
static inline void fixture_compile_error(const char *yaml, assay_status want,
                                         const char *message)
{
    assay__doc *doc;
    assay__check *c;
    assay_error err;
    assay_error_clear(&err);
    assay_status st = fixture_compile(yaml, &doc, &c, &err);
    if (st != want)
        fail_msg("got status %s (%s), want %s", assay_status_name(st),
                 err.message, assay_status_name(want));
    assert_null(c);
    assert_string_equal(err.message, message);
    assay__doc_free(doc);
}

/* A check ready to run; `vars` is JSON text or NULL. No response yet. */
static inline void fixture_setup(check_fixture *f, const char *yaml,
                                 const char *vars)
{
    memset(f, 0, sizeof *f);
    assay_status st = fixture_compile(yaml, &f->doc, &f->check, &f->err);
    if (st != ASSAY_OK)
        fail_msg("compile: %s: %s", assay_status_name(st), f->err.message);
    f->vars = vars ? cJSON_Parse(vars) : NULL;
    if (vars)
        assert_non_null(f->vars);
    assay__verdict_init(&f->verdict);
    assay__response_init(&f->response);
    f->ctx.latency_ms = NAN;
    f->ctx.ttft_ms = NAN;
}

/* Gives the check a response (model, finish reason, usage) to read. */
static inline void fixture_response(check_fixture *f, const char *model,
                                    const char *finish, long prompt,
                                    long completion)
{
    snprintf(f->response.model, sizeof f->response.model, "%s", model);
    snprintf(f->response.finish_reason, sizeof f->response.finish_reason, "%s",
             finish);
    f->response.prompt_tokens = prompt;
    f->response.completion_tokens = completion;
    f->response.total_tokens =
        prompt >= 0 && completion >= 0 ? prompt + completion : -1;
    f->ctx.response = &f->response;
}

static inline void fixture_teardown(check_fixture *f)
{
    assay__response_release(&f->response);
    assay__verdict_release(&f->verdict);
    cJSON_Delete(f->vars);
    assay__check_free(f->check);
    assay__doc_free(f->doc);
}

static inline assay_status fixture_run(check_fixture *f, const char *output)
{
    assay_error_clear(&f->err);
    return assay__check_run(f->check, output, strlen(output), f->vars, "q1",
                            &f->ctx, &f->verdict, &f->err);
}

/* Runs on `output`; compares pass and, when given, the reason. */
static inline void fixture_expect(check_fixture *f, const char *output,
                                  bool pass, const char *reason)
{
    assay_status st = fixture_run(f, output);
    if (st != ASSAY_OK)
        fail_msg("run on '%s': %s: %s", output, assay_status_name(st),
                 f->err.message);
    if (f->verdict.pass != pass)
        fail_msg("on '%s': pass is %d, want %d (reason: %s)", output,
                 f->verdict.pass, pass, f->verdict.reason.data);
    if (reason && strcmp(f->verdict.reason.data, reason) != 0)
        fail_msg("on '%s': reason\n  '%s'\nwant\n  '%s'", output,
                 f->verdict.reason.data, reason);
}

/* Runs on `output` and expects the run itself to fail with `message`. */
static inline void fixture_expect_error(check_fixture *f, const char *output,
                                        assay_status want, const char *message)
{
    assay_status st = fixture_run(f, output);
    if (st != want)
        fail_msg("on '%s': status %s (%s), want %s", output,
                 assay_status_name(st), f->err.message,
                 assay_status_name(want));
    assert_string_equal(f->err.message, message);
}

/* One check on one answer: compile, run, compare, free. */
static inline void check_one(const char *yaml, const char *vars,
                             const char *output, bool pass, const char *reason)
{
    check_fixture f;
    fixture_setup(&f, yaml, vars);
    fixture_expect(&f, output, pass, reason);
    fixture_teardown(&f);
}

#endif /* ASSAY_TEST_CHECK_FIXTURE_H */
