/*
 * test_loglik.c - log-likelihood multiple choice: the /completions body,
 * the replies of both shapes, the sum of a continuation's logprobs and
 * the loglik-choice checks (acc and acc_norm).
 */
#include "checks/checks.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* The first check of a `checks:` list written in YAML. */
static assay__check *compile(const char *yaml, assay__doc **doc)
{
    assay_error err;
    assert_int_equal(assay__doc_parse("s.yaml", yaml, strlen(yaml), doc, &err),
                     ASSAY_OK);
    assay__check *c;
    if (assay__check_compile(
            *doc,
            cJSON_GetArrayItem(
                cJSON_GetObjectItem(assay__doc_root(*doc), "checks"), 0),
            &c, &err) != ASSAY_OK)
        fail_msg("%s", err.message);
    return c;
}

static const char *plain =
    "checks:\n"
    "  - {type: loglik-choice, value: \"{{answer}}\", choices: "
    "\"{{choices}}\"}\n";
static const char *norm =
    "checks:\n"
    "  - {type: loglik-choice-norm, value: \"{{answer}}\", choices: "
    "\"{{choices}}\"}\n";

/* ------------------------------------------------------------ the body */

static void test_request_body(void **state)
{
    (void)state;
    assay__doc *doc;
    assay__check *check = compile(plain, &doc);
    assay_suite s = {.checks = &check, .n_checks = 1};
    assay__case c = {.vars = cJSON_Parse("{\"answer\": 1, \"choices\": "
                                         "[\"Paris\", \"Lyon\"]}"),
                     .id = "q1"};
    /* The target's sampling fields give way; the others go through. */
    cJSON *params = cJSON_Parse("{\"temperature\": 0.7, \"max_tokens\": 64, "
                                "\"seed\": 3, \"stream\": true, \"n\": 2, "
                                "\"stop\": [\"\\n\"]}");
    assay__buf contents[2], body;
    assay__buf_init(&contents[0], 0);
    assay__buf_init(&contents[1], 0);
    assay__buf_init(&body, 0);
    assay__buf_puts(&contents[0], "About France.");
    assay__buf_puts(&contents[1], "The capital?\nAnswer:");
    bool built;
    assay_error err;
    assert_int_equal(assay__loglik_request(&s, &c, "m", params, contents, 2,
                                           &body, &built, &err),
                     ASSAY_OK);
    assert_true(built);
    assert_string_equal(
        body.data,
        "{\"model\":\"m\",\"prompt\":[\"About France.\\n\\nThe capital?"
        "\\nAnswer: Paris\",\"About France.\\n\\nThe capital?\\nAnswer: "
        "Lyon\"],\"seed\":3,\"stop\":[\"\\n\"],\"echo\":true,"
        "\"logprobs\":1,\"max_tokens\":1,\"temperature\":0}");

    /* A suite without such a check builds nothing. */
    assay_suite none = {0};
    assay__buf_reset(&body);
    assert_int_equal(assay__loglik_request(&none, &c, "m", params, contents, 2,
                                           &body, &built, &err),
                     ASSAY_OK);
    assert_false(built);
    assert_int_equal(body.len, 0);

    /* Fewer than two choices is the case's error, named. */
    cJSON_ReplaceItemInObject(c.vars, "choices", cJSON_Parse("[\"Paris\"]"));
    assert_int_equal(assay__loglik_request(&s, &c, "m", params, contents, 2,
                                           &body, &built, &err),
                     ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "case 'q1'"));
    assert_non_null(strstr(err.message, "two or more"));

    cJSON_Delete(params);
    cJSON_Delete(c.vars);
    assay__buf_release(&contents[0]);
    assay__buf_release(&contents[1]);
    assay__buf_release(&body);
    assay__check_free(check);
    assay__doc_free(doc);
}

/* ------------------------------------------------------------ the sum */

/* assay__loglik_sum over `text`, whose prompt is `prompt` and context
   `context` (both prefixes of it), with logprobs given as JSON. */
static assay_status sum_of(const char *text, const char *prompt,
                           const char *context, const char *logprobs,
                           double *sum, size_t *n, assay_error *err)
{
    cJSON *lp = cJSON_Parse(logprobs);
    assert_non_null(lp);
    assay_status st = assay__loglik_sum(text, strlen(text), strlen(prompt),
                                        strlen(context), lp, sum, n, err);
    cJSON_Delete(lp);
    return st;
}

/* OpenAI's legacy shape, with text_offset; the generated " The" is not
   the continuation's. */
static void test_sum_legacy_offsets(void **state)
{
    (void)state;
    const char *text = "Answer: blue sky The";
    double sum;
    size_t n;
    assay_error err;
    assert_int_equal(
        sum_of(text, "Answer: blue sky", "Answer:",
               "{\"tokens\": [\"Answer\", \":\", \" blue\", \" sky\", "
               "\" The\"], \"token_logprobs\": [null, -1, -0.5, -0.25, -3], "
               "\"top_logprobs\": [null, {\":\": -1}, {\" blue\": -0.5}, "
               "{\" sky\": -0.25}, {\" The\": -3}], "
               "\"text_offset\": [0, 6, 7, 12, 16]}",
               &sum, &n, &err),
        ASSAY_OK);
    assert_true(fabs(sum + 0.75) < 1e-12);
    assert_int_equal(n, 2);

    /* A server that counts a leading "<s>" in its offsets: shifted back. */
    assert_int_equal(
        sum_of(text, "Answer: blue sky", "Answer:",
               "{\"tokens\": [\"<s>\", \"Answer\", \":\", \" blue\", "
               "\" sky\", \" The\"], \"token_logprobs\": [null, -9, -1, "
               "-0.5, -0.25, -3], \"text_offset\": [0, 3, 9, 10, 15, 19]}",
               &sum, &n, &err),
        ASSAY_OK);
    assert_true(fabs(sum + 0.75) < 1e-12);
    assert_int_equal(n, 2);

    /* Offsets count characters: "é" is one, two bytes. */
    assert_int_equal(sum_of("Réponse: é", "Réponse: é", "Réponse:",
                            "{\"tokens\": [\"Réponse\", \":\", \" é\"], "
                            "\"token_logprobs\": [null, -2, -0.125], "
                            "\"text_offset\": [0, 7, 8]}",
                            &sum, &n, &err),
                     ASSAY_OK);
    assert_true(fabs(sum + 0.125) < 1e-12);
    assert_int_equal(n, 1);
}

/* llama-server's shape: no offsets, the tokens' texts end to end. */
static void test_sum_llama_shape(void **state)
{
    (void)state;
    const char *lp = "{\"content\": ["
                     "{\"id\": 1, \"token\": \"Answer\", \"logprob\": -9},"
                     "{\"id\": 2, \"token\": \":\", \"logprob\": -1},"
                     "{\"id\": 3, \"token\": \" blue\", \"logprob\": -0.5},"
                     "{\"id\": 4, \"token\": \" sky\", \"logprob\": -0.25},"
                     "{\"id\": 5, \"token\": \" The\", \"logprob\": -3}]}";
    double sum;
    size_t n;
    assay_error err;
    assert_int_equal(sum_of("Answer: blue sky The", "Answer: blue sky",
                            "Answer:", lp, &sum, &n, &err),
                     ASSAY_OK);
    assert_true(fabs(sum + 0.75) < 1e-12);
    assert_int_equal(n, 2);
    /* The context ends inside " blue": that token holds both, and counts. */
    assert_int_equal(sum_of("Answer: blue sky The", "Answer: blue sky",
                            "Answer: ", lp, &sum, &n, &err),
                     ASSAY_OK);
    assert_true(fabs(sum + 0.75) < 1e-12);
    assert_int_equal(n, 2);
}

static void test_sum_errors(void **state)
{
    (void)state;
    double sum;
    size_t n;
    assay_error err;
    assert_int_equal(
        sum_of("Answer: B", "Answer: B", "Answer:", "null", &sum, &n, &err),
        ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "no token logprobs"));
    /* An empty context leaves the continuation's first token without a
       logprob: nothing came before it. */
    assert_int_equal(sum_of("B", "B", "",
                            "{\"tokens\": [\"B\"], \"token_logprobs\": "
                            "[null], \"text_offset\": [0]}",
                            &sum, &n, &err),
                     ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "has no logprob"));
    /* Logprobs of the generated text only: nothing holds the prompt. */
    assert_int_equal(sum_of("Answer: B The", "Answer: B", "Answer:",
                            "{\"content\": [{\"token\": \" The\", "
                            "\"logprob\": -1}]}",
                            &sum, &n, &err),
                     ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "did not echo"));
}

/* ------------------------------------------------------------ replies */

static const char *request =
    "{\"model\":\"m\",\"prompt\":[\"Q: Paris\",\"Q: Lyon\"],\"echo\":true,"
    "\"logprobs\":1,\"max_tokens\":1,\"temperature\":0}";

/* Reads `body` as the reply to `request` into *r (initialised here),
   failing the test unless it is read. */
static void parse_ok(const char *body, assay__response *r)
{
    assay__response_init(r);
    assay_error err;
    assert_int_equal(assay__loglik_parse(request, strlen(request), 200, body,
                                         strlen(body), r, &err),
                     ASSAY_OK);
}

static const char *choice_json(int index, const char *prompt, double lp)
{
    static char buf[2][512];
    snprintf(buf[index], sizeof buf[index],
             "{\"index\": %d, \"text\": \"%s X\", \"finish_reason\": "
             "\"length\", \"logprobs\": {\"tokens\": [\"Q\", \":\", "
             "\" %s\", \" X\"], \"token_logprobs\": [null, -1, %g, -2], "
             "\"text_offset\": [0, 1, 2, %zu]}}",
             index, prompt, prompt + 3, lp, strlen(prompt));
    return buf[index];
}

static void test_parse_one_object(void **state)
{
    (void)state;
    char body[2048];
    /* vLLM and OpenAI: one object, a choice per prompt (here out of
       order). */
    const char *b = choice_json(1, "Q: Lyon", -4);
    const char *a = choice_json(0, "Q: Paris", -3);
    snprintf(body, sizeof body,
             "{\"id\": \"cmpl-1\", \"object\": \"text_completion\", "
             "\"model\": \"m\", \"choices\": [%s, %s], \"usage\": "
             "{\"prompt_tokens\": 6, \"completion_tokens\": 2, "
             "\"total_tokens\": 8}}",
             b, a);
    assay__response r;
    parse_ok(body, &r);
    assert_int_equal(cJSON_GetArraySize(r.choices), 2);
    const cJSON *first = cJSON_GetArrayItem(r.choices, 0);
    assert_string_equal(cJSON_GetObjectItem(first, "prompt")->valuestring,
                        "Q: Paris");
    assert_string_equal(cJSON_GetObjectItem(first, "text")->valuestring,
                        "Q: Paris X");
    assert_int_equal(r.prompt_tokens, 6);
    assert_string_equal(r.model, "m");
    assay__response_release(&r);
}

static void test_parse_llama_list(void **state)
{
    (void)state;
    char body[2048];
    const char *a = choice_json(0, "Q: Paris", -3);
    const char *b = choice_json(1, "Q: Lyon", -4);
    /* llama-server: a JSON array, one completion per prompt. */
    snprintf(body, sizeof body,
             "[{\"model\": \"m\", \"choices\": [%s], \"usage\": "
             "{\"prompt_tokens\": 3, \"completion_tokens\": 1, "
             "\"total_tokens\": 4}}, {\"model\": \"m\", \"choices\": [%s], "
             "\"usage\": {\"prompt_tokens\": 3, \"completion_tokens\": 1, "
             "\"total_tokens\": 4}}]",
             a, b);
    assay__response r;
    parse_ok(body, &r);
    assert_int_equal(cJSON_GetArraySize(r.choices), 2);
    const cJSON *second = cJSON_GetArrayItem(r.choices, 1);
    assert_string_equal(cJSON_GetObjectItem(second, "prompt")->valuestring,
                        "Q: Lyon");
    assert_int_equal(r.prompt_tokens, 6);
    assert_int_equal(r.total_tokens, 8);
    assert_string_equal(r.content.data, "Q: Paris X");
    assay__response_release(&r);
}

static void expect_refusal(long status, const char *body, bool explained)
{
    assay__response r;
    assay__response_init(&r);
    assay_error err;
    assert_int_equal(assay__loglik_parse(request, strlen(request), status, body,
                                         strlen(body), &r, &err),
                     ASSAY_ERR_HTTP);
    if (explained) {
        assert_non_null(strstr(err.message, "does not support echo "
                                            "log-likelihoods"));
        assert_non_null(strstr(err.message, "choice-logprob"));
    } else {
        assert_null(strstr(err.message, "log-likelihoods"));
    }
    assay__response_release(&r);
}

static void test_refusals(void **state)
{
    (void)state;
    /* llama-server's answer to `echo`. */
    expect_refusal(500,
                   "{\"error\": {\"code\": 500, \"message\": \"Unsupported "
                   "param: echo\", \"type\": \"server_error\"}}",
                   true);
    expect_refusal(400,
                   "{\"error\": {\"message\": \"logprobs are not available "
                   "for this model\", \"type\": "
                   "\"invalid_request_error\"}}",
                   true);
    /* Other failures keep their own words. */
    expect_refusal(500, "{\"error\": {\"message\": \"overloaded\"}}", false);
    expect_refusal(401, "{\"error\": {\"message\": \"bad key\"}}", false);
}

/* ------------------------------------------------------------ the checks */

/*
 * A reply for the context "Q:" and continuations " Paris" (one token,
 * -3.0) and " blue orange grape" (three, -1.2 each): Paris has the larger
 * sum, the other the larger sum per character.
 */
static cJSON *crafted_choices(void)
{
    return cJSON_Parse(
        "[{\"prompt\": \"Q: Paris\", \"text\": \"Q: Paris\", \"logprobs\": "
        "{\"tokens\": [\"Q\", \":\", \" Paris\"], \"token_logprobs\": "
        "[null, -1, -3.0], \"text_offset\": [0, 1, 2]}},"
        " {\"prompt\": \"Q: blue orange grape\", \"text\": \"Q: blue orange "
        "grape\", \"logprobs\": {\"tokens\": [\"Q\", \":\", \" blue\", "
        "\" orange\", \" grape\"], \"token_logprobs\": [null, -1, -1.2, "
        "-1.2, -1.2], \"text_offset\": [0, 1, 2, 7, 14]}}]");
}

static assay_status judge(const char *yaml, cJSON *choices, const char *vars,
                          assay__verdict *v, assay_error *err)
{
    assay__doc *doc;
    assay__check *c = compile(yaml, &doc);
    assay__response r;
    assay__response_init(&r);
    r.choices = choices;
    cJSON *case_vars = cJSON_Parse(vars);
    assay__check_context ctx = {.response = &r};
    assay_status st = assay__check_run(c, "", 0, case_vars, "q1", &ctx, v, err);
    cJSON_Delete(case_vars);
    assay__response_release(&r);
    assay__check_free(c);
    assay__doc_free(doc);
    return st;
}

/* The case: its expected value, then the two options. */
#define CRAFTED_VARS                                                           \
    "{\"answer\": %s, \"choices\": [\"Paris\", \"blue orange grape\"]}"

static void test_acc_and_acc_norm_disagree(void **state)
{
    (void)state;
    assay__verdict v;
    assay__verdict_init(&v);
    assay_error err;
    char vars[256];
    snprintf(vars, sizeof vars, CRAFTED_VARS, "1");
    assert_int_equal(judge(plain, crafted_choices(), vars, &v, &err), ASSAY_OK);
    assert_false(v.pass);
    assert_true(v.score == 0.0);
    assert_non_null(strstr(v.reason.data, "(A) 'Paris'; log-likelihood "
                                          "(A) -3, (B) -3.6"));
    assert_int_equal(judge(norm, crafted_choices(), vars, &v, &err), ASSAY_OK);
    assert_true(v.pass);
    assert_true(v.score == 1.0);
    assert_non_null(strstr(v.reason.data, "per character"));
    /* The expected option as a letter, or as its text. */
    snprintf(vars, sizeof vars, CRAFTED_VARS, "\"A\"");
    assert_int_equal(judge(plain, crafted_choices(), vars, &v, &err), ASSAY_OK);
    assert_true(v.pass);
    snprintf(vars, sizeof vars, CRAFTED_VARS, "\"Paris\"");
    assert_int_equal(judge(norm, crafted_choices(), vars, &v, &err), ASSAY_OK);
    assert_false(v.pass);
    assay__verdict_release(&v);
}

/* By bytes, a two-byte "é" weighs double: -1 over "é" (2 bytes) beats
   -0.75 over "a" (1 byte), which wins by characters. */
static void test_norm_by_bytes(void **state)
{
    (void)state;
    const char *bytes =
        "checks:\n"
        "  - {type: loglik-choice-norm, value: \"{{answer}}\", choices: "
        "\"{{choices}}\", length: bytes, delimiter: \"\"}\n";
    const char *choices =
        "[{\"prompt\": \"Q:é\", \"text\": \"Q:é\", \"logprobs\": "
        "{\"tokens\": [\"Q\", \":\", \"é\"], \"token_logprobs\": [null, -1, "
        "-1], \"text_offset\": [0, 1, 2]}},"
        " {\"prompt\": \"Q:a\", \"text\": \"Q:a\", \"logprobs\": "
        "{\"tokens\": [\"Q\", \":\", \"a\"], \"token_logprobs\": [null, -1, "
        "-0.75], \"text_offset\": [0, 1, 2]}}]";
    const char *vars = "{\"answer\": 0, \"choices\": [\"é\", \"a\"]}";
    assay__verdict v;
    assay__verdict_init(&v);
    assay_error err;
    assert_int_equal(judge(bytes, cJSON_Parse(choices), vars, &v, &err),
                     ASSAY_OK);
    assert_true(v.pass);
    assert_non_null(strstr(v.reason.data, "per byte"));
    const char *chars =
        "checks:\n"
        "  - {type: loglik-choice-norm, value: \"{{answer}}\", choices: "
        "\"{{choices}}\", delimiter: \"\"}\n";
    assert_int_equal(judge(chars, cJSON_Parse(choices), vars, &v, &err),
                     ASSAY_OK);
    assert_false(v.pass);
    assert_non_null(strstr(v.reason.data, "(B) 'a'"));
    assay__verdict_release(&v);
}

static void test_check_errors(void **state)
{
    (void)state;
    assay__verdict v;
    assay__verdict_init(&v);
    assay_error err;
    char vars[256];
    snprintf(vars, sizeof vars, CRAFTED_VARS, "1");
    /* No log-likelihoods: a chat reply, or a recorded answer. */
    assert_int_equal(judge(plain, NULL, vars, &v, &err), ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "endpoint: completions"));
    /* The request was made from other choices. */
    assert_int_equal(judge(plain, crafted_choices(),
                           "{\"answer\": 1, \"choices\": [\"Paris\", "
                           "\"Lyon\"]}",
                           &v, &err),
                     ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "same choices"));
    /* A server that ignored `echo`: the text is only what it generated. */
    cJSON *echoless = crafted_choices();
    cJSON *first = cJSON_GetArrayItem(echoless, 0);
    cJSON_ReplaceItemInObject(first, "text", cJSON_CreateString(" London"));
    assert_int_equal(judge(plain, echoless, vars, &v, &err), ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "ignored `echo`"));
    /* An expected value that is no option. */
    snprintf(vars, sizeof vars, CRAFTED_VARS, "7");
    assert_int_equal(judge(plain, crafted_choices(), vars, &v, &err),
                     ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "not one of the 2 options"));
    assay__verdict_release(&v);

    /* `choices` is required. */
    assay__doc *doc;
    const char *yaml = "checks:\n  - {type: loglik-choice, value: B}\n";
    assert_int_equal(assay__doc_parse("s.yaml", yaml, strlen(yaml), &doc, &err),
                     ASSAY_OK);
    assay__check *c;
    assert_int_equal(
        assay__check_compile(
            doc,
            cJSON_GetArrayItem(
                cJSON_GetObjectItem(assay__doc_root(doc), "checks"), 0),
            &c, &err),
        ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "needs 'choices'"));
    assay__doc_free(doc);
}

/* ------------------------------------------------------------ suites */

static assay_status load_text(const char *text, assay_suite **s,
                              assay_error *err)
{
    char path[] = "/tmp/assay-test-loglik-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    assay_status st = assay_suite_load(path, s, err);
    unlink(path);
    return st;
}

static void test_suite_needs_completions_target(void **state)
{
    (void)state;
    const char *chat = "targets:\n  - model: m\nprompt: \"{{q}}\"\n"
                       "cases:\n  - {q: x, a: 0}\n"
                       "checks:\n  - {type: loglik-choice, value: "
                       "\"{{a}}\", choices: [A, B]}\n";
    assay_suite *s;
    assay_error err;
    assert_int_equal(load_text(chat, &s, &err), ASSAY_ERR_SUITE);
    assert_null(s);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.message, "target 'm' is not a completions "
                                        "target"));
    assert_non_null(strstr(err.message, "choice-logprob"));
    const char *completions = "targets:\n  - {model: m, endpoint: "
                              "completions, params: {stream: true}}\n"
                              "prompt: \"{{q}}\"\ncases:\n  - {q: x, a: 0}\n"
                              "checks:\n  - {type: loglik-choice, value: "
                              "\"{{a}}\", choices: [A, B]}\n";
    assert_int_equal(load_text(completions, &s, &err), ASSAY_OK);
    assay_suite_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_sum_legacy_offsets),
        cmocka_unit_test(test_sum_llama_shape),
        cmocka_unit_test(test_sum_errors),
        cmocka_unit_test(test_parse_one_object),
        cmocka_unit_test(test_parse_llama_list),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_acc_and_acc_norm_disagree),
        cmocka_unit_test(test_norm_by_bytes),
        cmocka_unit_test(test_check_errors),
        cmocka_unit_test(test_suite_needs_completions_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
