/*
 * test_perplexity.c - perplexity and perplexity-score on a real
 * llama-server capture and on logprobs built by hand, and the error a
 * response without logprobs gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check_fixture.h"
#include "checks/checks.h"

#ifndef SHARED_DIR
#define SHARED_DIR "../shared"
#endif

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    assert_true(size >= 0);
    rewind(fp);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    text[size] = '\0';
    *len = (size_t)size;
    return text;
}

/* Parses a captured chat completion into the fixture's response. */
static void capture(check_fixture *f, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fixtures/llama-server/%s", SHARED_DIR,
             name);
    size_t len;
    char *body = read_file(path, &len);
    assay__response_reset(&f->response);
    assay_error err;
    assay_status st =
        assay__openai_parse_chat(200, body, len, &f->response, &err);
    if (st != ASSAY_OK)
        fail_msg("%s: %s", name, err.message);
    free(body);
    f->ctx.response = &f->response;
}

/* Gives the response logprobs written as JSON (the per-token items). */
static void logprobs(check_fixture *f, const char *items)
{
    cJSON_Delete(f->response.logprobs);
    f->response.logprobs = cJSON_Parse(items);
    assert_non_null(f->response.logprobs);
    f->ctx.response = &f->response;
}

/*
 * chat-logprobs.json: a tiny random llama answering "alph zesificate
 * successo" in 4 tokens, all near -10.14. Computed from the file:
 *   python3 -c "import json, math; c = json.load(open('chat-logprobs.json'))
 *     ['choices'][0]['logprobs']['content']; l = [t['logprob'] for t in c];
 *     p = math.exp(-sum(l) / len(l)); print(repr(p), repr(1 / (1 + p)))"
 *   25489.778565279434 3.922987277297538e-05
 */
#define CAPTURE_SCORE 3.922987277297538e-05

static void test_perplexity_capture(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - perplexity: 30000\n", NULL);
    capture(&f, "chat-logprobs.json");
    fixture_expect(&f, "alph zesificate successo", true,
                   "expected to have a perplexity of at most 30000; found "
                   "25489.779 over 4 tokens");
    fixture_teardown(&f);

    /* the value to 1e-8: just above it passes, just below it fails */
    fixture_setup(&f, "checks:\n  - {type: perplexity, max: 25489.7786}\n",
                  NULL);
    capture(&f, "chat-logprobs.json");
    fixture_expect(&f, "", true, NULL);
    fixture_teardown(&f);
    fixture_setup(&f, "checks:\n  - {type: perplexity, max: 25489.7785}\n",
                  NULL);
    capture(&f, "chat-logprobs.json");
    fixture_expect(&f, "", false,
                   "expected to have a perplexity of at most 25489.7785; "
                   "found 25489.779 over 4 tokens");
    fixture_teardown(&f);

    fixture_setup(&f, "checks:\n  - perplexity-score\n", NULL);
    capture(&f, "chat-logprobs.json");
    fixture_expect(&f, "", true,
                   "expected to have a perplexity score 1/(1 + perplexity) "
                   ">= 0; found 0.000039 (perplexity 25489.779 over 4 tokens)");
    if (fabs(f.verdict.score - CAPTURE_SCORE) > 1e-15)
        fail_msg("score %.17g, want %.17g", f.verdict.score, CAPTURE_SCORE);
    fixture_teardown(&f);
}

static void test_perplexity_by_hand(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - perplexity: 8\n", NULL);
    /* the null logprob (an echoed first token) is skipped: exp(2) */
    logprobs(&f,
             "[{\"token\": \"The\", \"logprob\": null}, "
             "{\"token\": \" sky\", \"logprob\": -1}, "
             "{\"token\": \" is\", \"logprob\": -3, \"top_logprobs\": []}]");
    fixture_expect(&f, "The sky is", true,
                   "expected to have a perplexity of at most 8; found 7.389 "
                   "over 2 tokens");
    logprobs(&f, "[{\"token\": \"x\", \"logprob\": 0}]");
    fixture_expect(&f, "x", true,
                   "expected to have a perplexity of at most 8; found 1 over "
                   "1 token");
    logprobs(&f, "[{\"token\": \"x\", \"logprob\": -2.5}]"); /* 12.18 */
    fixture_expect(&f, "x", false, NULL);
    fixture_teardown(&f);

    fixture_setup(&f, "checks:\n  - {type: perplexity-score, threshold: 0.1}\n",
                  NULL);
    logprobs(&f, "[{\"token\": \"a\", \"logprob\": -1}, "
                 "{\"token\": \"b\", \"logprob\": -3}]");
    /* 1 / (1 + e^2) = 0.1192... */
    fixture_expect(&f, "ab", true,
                   "expected to have a perplexity score 1/(1 + perplexity) "
                   ">= 0.1; found 0.119203 (perplexity 7.389 over 2 tokens)");
    assert_true(fabs(f.verdict.score - 1.0 / (1.0 + exp(2.0))) < 1e-12);
    fixture_teardown(&f);
}

static void test_perplexity_errors(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - perplexity: 10\n", NULL);
    fixture_expect_error(&f, "x", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'perplexity' on case 'q1': "
                         "the response has no logprobs: ask for them with "
                         "params: {logprobs: true} (on /completions, "
                         "logprobs: 1)");
    /* a capture made without logprobs */
    capture(&f, "chat.json");
    fixture_expect_error(&f, "x", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'perplexity' on case 'q1': "
                         "the response has no logprobs: ask for them with "
                         "params: {logprobs: true} (on /completions, "
                         "logprobs: 1)");
    logprobs(&f, "[{\"token\": \"\", \"logprob\": null}]");
    fixture_expect_error(&f, "", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'perplexity' on case 'q1': "
                         "the response's logprobs give no token a logprob "
                         "(an empty answer?)");
    fixture_teardown(&f);

    fixture_compile_error("checks:\n  - perplexity: 0.5\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:17: check 'perplexity' expects a "
                          "number >= 1 (the highest perplexity allowed; 1 is "
                          "a model sure of every token)");
    fixture_compile_error("checks:\n  - perplexity: low\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:17: check 'perplexity' expects a "
                          "number >= 1 (the highest perplexity allowed; 1 is "
                          "a model sure of every token)");
    fixture_compile_error("checks:\n  - {type: perplexity, value: 5, max: "
                          "6}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:34: give the highest perplexity "
                          "allowed once, as 'value' or as 'max'");
    fixture_compile_error("checks:\n  - {type: perplexity}\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:5: check 'perplexity' needs the "
                          "highest perplexity allowed, as in {perplexity: "
                          "20}");
    /* promptfoo writes perplexity's limit as `threshold`; here it is refused
       (the list of scored checks that follows grows with the registry) */
    assay__doc *doc;
    assay__check *c;
    assay_error err;
    assert_int_equal(fixture_compile("checks:\n  - {type: perplexity, value: "
                                     "5, threshold: 20}\n",
                                     &doc, &c, &err),
                     ASSAY_ERR_CHECK);
    assert_null(c);
    assert_non_null(strstr(err.message,
                           "suite.yaml:2:34: 'perplexity' passes or fails by "
                           "its value and options and takes no 'threshold' "
                           "(the scored checks are "));
    assay__doc_free(doc);
    fixture_compile_error("checks:\n  - perplexity-score: 5\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:5: check 'perplexity-score' takes no "
                          "value; write it as `- perplexity-score`");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perplexity_capture),
        cmocka_unit_test(test_perplexity_by_hand),
        cmocka_unit_test(test_perplexity_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
