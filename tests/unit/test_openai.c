/*
 * test_openai.c - request bodies and reply parsing against the real
 * llama-server captures in ../shared/fixtures/llama-server.
 */
#include "internal.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef SHARED_DIR
#define SHARED_DIR "../shared"
#endif
#define FIXTURES SHARED_DIR "/fixtures/llama-server"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    assay__buf b;
    assay__buf_init(&b, 0);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(assay__buf_append(&b, chunk, n), ASSAY_OK);
    fclose(f);
    return assay__buf_detach(&b, len);
}

static char *fixture(const char *name, const char *suffix, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s%s", FIXTURES, name, suffix);
    char *text = read_file(path, len);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

/* The status code from the first line of NAME.response.headers. */
static long fixture_status(const char *name)
{
    char *headers = fixture(name, ".response.headers", NULL);
    long status = 0;
    assert_int_equal(sscanf(headers, "HTTP/%*s %ld", &status), 1);
    free(headers);
    return status;
}

/* What parsing each captured body must give. */
typedef enum { COMPLETION, HTTP_ERROR, NOT_A_COMPLETION } expectation;

static const struct {
    const char *name;
    expectation expect;
    const char *detail; /* finish_reason, or a part of the error message */
} cases[] = {
    {"chat", COMPLETION, "length"},
    {"chat-logprobs", COMPLETION, "length"},
    {"chat-max-tokens-1", COMPLETION, "length"},
    {"chat-multi-turn", COMPLETION, "length"},
    {"chat-seed-temp1", COMPLETION, "length"},
    {"chat-stop", COMPLETION, "stop"},
    {"model-name-ignored", COMPLETION, NULL},
    {"completions", COMPLETION, "length"},
    {"completions-logprobs", COMPLETION, "length"},
    {"completions-prompt-truncated", COMPLETION, "length"},
    {"completions-prompt-list", NOT_A_COMPLETION, "not a completion"},
    {"completions-echo", HTTP_ERROR, "Unsupported param: echo"},
    {"chat-on-embeddings-server", HTTP_ERROR, "not_supported_error"},
    {"embeddings-on-chat-server", HTTP_ERROR, "invalid_request_error"},
    {"error-bad-json", HTTP_ERROR, "HTTP 500: server_error: [json.exception"},
    {"error-messages-not-array", HTTP_ERROR, "Expected 'messages'"},
    {"error-missing-messages", HTTP_ERROR, "key 'messages' not found"},
    {"error-missing-prompt", HTTP_ERROR, "\"prompt\" is required"},
    {"error-n-2", HTTP_ERROR, "Only one completion choice"},
    {"error-unknown-path", HTTP_ERROR, "HTTP 404: not_found_error"},
    {"error-wrong-method", HTTP_ERROR, "HTTP 404"},
    {"embeddings", NOT_A_COMPLETION, "no 'choices'"},
    {"embeddings-list", NOT_A_COMPLETION, "no 'choices'"},
    {"health", NOT_A_COMPLETION, "no 'choices'"},
    {"models", NOT_A_COMPLETION, "no 'choices'"},
    {"models-embeddings-server", NOT_A_COMPLETION, "no 'choices'"},
    {"props", NOT_A_COMPLETION, "no 'choices'"},
};

static void check_completion(const char *name, const assay__response *r,
                             const char *finish_reason)
{
    assert_true(r->content.len > 0);
    if (finish_reason)
        assert_string_equal(r->finish_reason, finish_reason);
    assert_true(r->prompt_tokens > 0);
    assert_true(r->completion_tokens > 0);
    assert_int_equal(r->total_tokens, r->prompt_tokens + r->completion_tokens);
    assert_string_equal(r->system_fingerprint, "b4748-c392e5094");
    assert_true(strncmp(r->id, "chatcmpl-", 9) == 0);
    if (strcmp(name, "model-name-ignored"))
        assert_string_equal(r->model, "llama-2-tiny-random");
}

static void parse_fixture(size_t i)
{
    const char *name = cases[i].name;
    size_t len;
    char *body = fixture(name, ".json", &len);
    long status = fixture_status(name);
    assay__response r;
    assay__response_init(&r);
    assay_error err;
    assay_error_clear(&err);
    assay_status st = assay__openai_parse_chat(status, body, len, &r, &err);
    print_message("%s: HTTP %ld -> %s %s\n", name, status,
                  assay_status_name(st), err.message);
    switch (cases[i].expect) {
    case COMPLETION:
        assert_int_equal(st, ASSAY_OK);
        check_completion(name, &r, cases[i].detail);
        break;
    case HTTP_ERROR:
        assert_int_equal(st, ASSAY_ERR_HTTP);
        assert_non_null(strstr(err.message, cases[i].detail));
        break;
    case NOT_A_COMPLETION:
        assert_int_equal(st, ASSAY_ERR_RESPONSE);
        assert_non_null(strstr(err.message, cases[i].detail));
        assert_non_null(strstr(err.message, "the body starts '"));
        break;
    }
    assay__response_release(&r);
    free(body);
}

static void test_every_capture(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        parse_fixture(i);
}

/* A capture added to the folder must be added to the table above. */
static void test_no_capture_left_out(void **state)
{
    (void)state;
    DIR *dir = opendir(FIXTURES);
    assert_non_null(dir);
    struct dirent *e;
    size_t bodies = 0;
    while ((e = readdir(dir))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") ||
            strstr(e->d_name, ".request.json"))
            continue;
        bodies++;
        bool listed = false;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            listed = listed || (strlen(cases[i].name) == n - 5 &&
                                !strncmp(cases[i].name, e->d_name, n - 5));
        if (!listed)
            fail_msg("%s is not in the table of captures", e->d_name);
    }
    closedir(dir);
    assert_int_equal(bodies, sizeof cases / sizeof *cases);
}

/* The body we build for the captured request is byte for byte the one a
   real client sent. */
static void test_request_matches_capture(void **state)
{
    (void)state;
    size_t len;
    char *expected = fixture("chat", ".request.json", &len);
    while (len && (expected[len - 1] == '\n'))
        expected[--len] = '\0';
    cJSON *params = cJSON_Parse("{\"temperature\":0,\"max_tokens\":16}");
    const char *roles[] = {"system", "user"};
    assay__buf contents[2], body;
    assay__buf_init(&contents[0], 0);
    assay__buf_init(&contents[1], 0);
    assay__buf_init(&body, 0);
    assay__buf_puts(&contents[0], "You are a helpful assistant.");
    assay__buf_puts(&contents[1], "Say hello.");
    assert_int_equal(assay__openai_chat_request(&body, "llama-2-tiny-random",
                                                params, roles, contents, 2),
                     ASSAY_OK);
    assert_string_equal(body.data, expected);
    assay__buf_release(&body);
    assay__buf_release(&contents[0]);
    assay__buf_release(&contents[1]);
    cJSON_Delete(params);
    free(expected);
}

static void test_request_escapes_text(void **state)
{
    (void)state;
    const char *roles[] = {"user"};
    assay__buf content, body;
    assay__buf_init(&content, 0);
    assay__buf_init(&body, 0);
    assay__buf_puts(&content, "say \"hi\"\n\tand \\ bye \xc3\xa9");
    assert_int_equal(
        assay__openai_chat_request(&body, "m", NULL, roles, &content, 1),
        ASSAY_OK);
    cJSON *parsed = cJSON_Parse(body.data);
    assert_non_null(parsed);
    const cJSON *msg = cJSON_GetArrayItem(
        cJSON_GetObjectItem(parsed, "messages"), 0);
    assert_string_equal(cJSON_GetObjectItem(msg, "content")->valuestring,
                        content.data);
    cJSON_Delete(parsed);
    assay__buf_release(&body);
    assay__buf_release(&content);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    assay__response r;
    assay__response_init(&r);
    assay_error err;
    const char *html = "<html>502 Bad Gateway</html>";
    assert_int_equal(assay__openai_parse_chat(200, html, strlen(html), &r, &err),
                     ASSAY_ERR_RESPONSE);
    assert_string_equal(err.message,
                        "HTTP 200: the body is not JSON; the body starts "
                        "'<html>502 Bad Gateway</html>'");
    assert_int_equal(assay__openai_parse_chat(502, html, strlen(html), &r, &err),
                     ASSAY_ERR_HTTP);
    assert_non_null(strstr(err.message, "HTTP 502"));
    const char *no_text = "{\"choices\":[{\"index\":0}]}";
    assert_int_equal(
        assay__openai_parse_chat(200, no_text, strlen(no_text), &r, &err),
        ASSAY_ERR_RESPONSE);
    const char *plain_error = "{\"error\":\"model overloaded\"}";
    assert_int_equal(assay__openai_parse_chat(200, plain_error,
                                              strlen(plain_error), &r, &err),
                     ASSAY_ERR_HTTP);
    assert_string_equal(err.message, "HTTP 200: model overloaded");
    /* A null content (a refusal or a tool call) is an empty answer. */
    const char *null_content = "{\"choices\":[{\"message\":{\"role\":"
                               "\"assistant\",\"content\":null},"
                               "\"finish_reason\":\"tool_calls\"}]}";
    assert_int_equal(assay__openai_parse_chat(200, null_content,
                                              strlen(null_content), &r, &err),
                     ASSAY_OK);
    assert_int_equal(r.content.len, 0);
    assert_string_equal(r.finish_reason, "tool_calls");
    assert_int_equal(r.prompt_tokens, -1);
    assay__response_release(&r);
}

static void test_embeddings(void **state)
{
    (void)state;
    assay__embeddings e;
    assay__embeddings_init(&e);
    assay_error err;
    size_t len;
    char *body = fixture("embeddings-list", ".json", &len);
    assert_int_equal(assay__openai_parse_embeddings(200, body, len, &e, &err),
                     ASSAY_OK);
    assert_int_equal(e.count, 2);
    assert_int_equal(e.dim, 8);
    assert_int_equal(e.prompt_tokens, 7);
    for (size_t i = 0; i < 2; i++) { /* llama-server L2-normalises */
        double norm = 0;
        for (size_t k = 0; k < e.dim; k++)
            norm += assay__embeddings_vector(&e, i)[k] *
                    assay__embeddings_vector(&e, i)[k];
        assert_true(norm > 0.999 && norm < 1.001);
    }
    assert_true(assay__embeddings_vector(&e, 1)[7] > 0.0076 &&
                assay__embeddings_vector(&e, 1)[7] < 0.0077);
    assert_null(assay__embeddings_vector(&e, 2));
    free(body);

    body = fixture("embeddings-on-chat-server", ".json", &len);
    assert_int_equal(assay__openai_parse_embeddings(400, body, len, &e, &err),
                     ASSAY_ERR_HTTP);
    assert_non_null(strstr(err.message, "HTTP 400: invalid_request_error"));
    assert_int_equal(e.count, 0);
    free(body);
    const char *shuffled = "{\"data\":[{\"index\":1,\"embedding\":[2,2]},"
                           "{\"index\":0,\"embedding\":[1,1]}]}";
    assert_int_equal(assay__openai_parse_embeddings(200, shuffled,
                                                    strlen(shuffled), &e, &err),
                     ASSAY_OK);
    assert_true(assay__embeddings_vector(&e, 0)[0] == 1);
    const char *ragged = "{\"data\":[{\"embedding\":[1,1]},"
                         "{\"embedding\":[1]}]}";
    assert_int_equal(assay__openai_parse_embeddings(200, ragged, strlen(ragged),
                                                    &e, &err),
                     ASSAY_ERR_RESPONSE);
    assert_non_null(strstr(err.message, "differ in dimension"));
    assay__embeddings_release(&e);

    /* The request body a real client sent, byte for byte. */
    char *expected = fixture("embeddings-list", ".request.json", &len);
    while (len && expected[len - 1] == '\n')
        expected[--len] = '\0';
    assay__buf req;
    assay__buf_init(&req, 0);
    const char *inputs[] = {"hello world", "goodbye moon"};
    assert_int_equal(assay__openai_embeddings_request(
                         &req, "llama-2-tiny-random", inputs, 2),
                     ASSAY_OK);
    assert_string_equal(req.data, expected);
    assay__buf_release(&req);
    free(expected);
}

static void test_logprobs(void **state)
{
    (void)state;
    assay__response r;
    assay__response_init(&r);
    assay_error err;
    size_t len;
    char *body = fixture("completions-logprobs", ".json", &len);
    assert_int_equal(assay__openai_parse_chat(200, body, len, &r, &err),
                     ASSAY_OK);
    assert_int_equal(cJSON_GetArraySize(r.logprobs), 4);
    free(body);
    /* OpenAI's legacy /completions shape becomes the same items. */
    const char *legacy =
        "{\"choices\":[{\"text\":\" Paris\",\"finish_reason\":\"stop\","
        "\"logprobs\":{\"tokens\":[\"The\",\" Paris\"],"
        "\"token_logprobs\":[null,-0.25],\"top_logprobs\":[null,"
        "{\" Paris\":-0.25,\" Lyon\":-2.5}],\"text_offset\":[0,3]}}]}";
    assert_int_equal(assay__openai_parse_chat(200, legacy, strlen(legacy), &r,
                                              &err),
                     ASSAY_OK);
    char *items = cJSON_PrintUnformatted(r.logprobs);
    assert_string_equal(items,
                        "[{\"token\":\"The\",\"logprob\":null,"
                        "\"text_offset\":0},{\"token\":\" Paris\","
                        "\"logprob\":-0.25,\"top_logprobs\":[{\"token\":"
                        "\" Paris\",\"logprob\":-0.25},{\"token\":\" Lyon\","
                        "\"logprob\":-2.5}],\"text_offset\":3}]");
    cJSON_free(items);
    assay__response_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_capture),
        cmocka_unit_test(test_no_capture_left_out),
        cmocka_unit_test(test_request_matches_capture),
        cmocka_unit_test(test_request_escapes_text),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_embeddings),
        cmocka_unit_test(test_logprobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
