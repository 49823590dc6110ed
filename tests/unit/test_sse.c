/*
 * test_sse.c - the SSE push parser and streamed completions: the real
 * llama-server streams fed whole, a byte at a time and in odd pieces give
 * the same answer as a plain reading of the file; line endings, comments,
 * multi-line data, caps, cut streams, error events and tool call deltas.
 */
#include "internal.h"

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
#define FIXTURES SHARED_DIR "/fixtures/llama-server/"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    assay__buf b;
    assay__buf_init(&b, 0);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assay__buf_append(&b, chunk, n);
    fclose(f);
    return assay__buf_detach(&b, len);
}

/* ------------------------------------------------------------ raw events */

typedef struct events {
    int count;
    assay__buf all; /* "event|data\n" for each */
} events;

static assay_status collect(const char *event, const char *data, size_t len,
                            void *user_data)
{
    events *e = user_data;
    e->count++;
    assay__buf_printf(&e->all, "%s|%.*s\n", event, (int)len, data);
    return ASSAY_OK;
}

static void parse_in_pieces(const char *text, size_t piece, events *e)
{
    assay__sse p;
    assay__sse_init(&p, 1024, collect, e);
    size_t len = strlen(text);
    for (size_t i = 0; i < len; i += piece)
        assert_int_equal(assay__sse_feed(&p, text + i,
                                         len - i < piece ? len - i : piece),
                         ASSAY_OK);
    assay__sse_release(&p);
}

static void expect_events(const char *text, int count, const char *want)
{
    for (size_t piece = 1; piece <= strlen(text) + 1; piece++) {
        events e = {0};
        assay__buf_init(&e.all, 0);
        parse_in_pieces(text, piece, &e);
        assert_int_equal(e.count, count);
        assert_string_equal(e.all.data, want);
        assay__buf_release(&e.all);
    }
}

static void test_sse_rules(void **state)
{
    (void)state;
    expect_events("data: a\n\ndata: b\n\n", 2, "message|a\nmessage|b\n");
    expect_events("data: a\r\n\r\ndata:b\r\rdata:  c\n\n", 3,
                  "message|a\nmessage|b\nmessage| c\n");
    expect_events(": comment\ndata: x\n: more\ndata: y\n\n", 1,
                  "message|x\ny\n");
    expect_events("event: error\ndata: {\"e\":1}\n\n", 1, "error|{\"e\":1}\n");
    expect_events("\xEF\xBB\xBF" "data: bom\n\n", 1, "message|bom\n");
    expect_events("id: 7\nretry: 10\n\ndata\n\n", 1, "message|\n");
    /* An event the stream never finished is dropped. */
    expect_events("data: whole\n\ndata: cut", 1, "message|whole\n");
}

static void test_sse_cap(void **state)
{
    (void)state;
    events e = {0};
    assay__buf_init(&e.all, 0);
    assay__sse p;
    assay__sse_init(&p, 16, collect, &e);
    assert_int_equal(assay__sse_feed(&p, "data: 0123456789abcdef\n\n", 24),
                     ASSAY_ERR_LIMIT);
    assay__sse_release(&p);
    assay__buf_release(&e.all);
}

/* ------------------------------------------------------------ streams */

/* A plain reading of a captured stream, independent of the parser: the
   deltas' contents of every "data: {...}" line, concatenated. */
static void reference_content(const char *sse, assay__buf *out)
{
    const char *line = sse;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n > 6 && !strncmp(line, "data: {", 7)) {
            cJSON *chunk = cJSON_ParseWithLength(line + 6, n - 6);
            const cJSON *choice = cJSON_GetArrayItem(
                cJSON_GetObjectItem(chunk, "choices"), 0);
            const cJSON *delta = cJSON_GetObjectItem(choice, "delta");
            const cJSON *text = delta ? cJSON_GetObjectItem(delta, "content")
                                      : cJSON_GetObjectItem(choice, "text");
            if (cJSON_IsString(text))
                assay__buf_puts(out, text->valuestring);
            cJSON_Delete(chunk);
        }
        line = end ? end + 1 : NULL;
    }
}

static assay_status stream_in_pieces(const char *body, size_t len,
                                     size_t piece, long status,
                                     assay__response *r, assay_error *err,
                                     bool *first_token)
{
    assay__openai_stream s;
    assay__openai_stream_init(&s, r);
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < len; i += piece)
        st = assay__openai_stream_feed(&s, body + i,
                                       len - i < piece ? len - i : piece);
    st = assay__openai_stream_finish(&s, status, body, len, err);
    *first_token = s.first_token;
    assay__openai_stream_release(&s);
    return st;
}

static void check_capture(const char *name, const char *finish_reason,
                          long completion_tokens)
{
    char path[1024];
    snprintf(path, sizeof path, FIXTURES "%s.sse", name);
    size_t len;
    char *body = read_file(path, &len);
    assay__buf want;
    assay__buf_init(&want, 0);
    reference_content(body, &want);
    assert_true(want.len > 0);
    const size_t pieces[] = {1, 2, 3, 7, 64, 1000, len};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        assay__response r;
        assay__response_init(&r);
        assay_error err;
        bool first;
        assay_status st = stream_in_pieces(body, len, pieces[i], 200, &r,
                                           &err, &first);
        if (st != ASSAY_OK)
            fail_msg("%s in pieces of %zu: %s", name, pieces[i], err.message);
        assert_string_equal(r.content.data, want.data);
        assert_string_equal(r.finish_reason, finish_reason);
        assert_int_equal(r.completion_tokens, completion_tokens);
        assert_string_equal(r.model, "llama-2-tiny-random");
        assert_string_equal(r.system_fingerprint, "b4748-c392e5094");
        assert_true(first);
        assay__response_release(&r);
    }
    assay__buf_release(&want);
    free(body);
}

static void test_captured_streams(void **state)
{
    (void)state;
    check_capture("chat-stream", "length", 16);
    check_capture("chat-stream-no-usage", "length", 4);
    check_capture("chat-stream-logprobs", "length", 3);
    check_capture("completions-stream", "length", 4);
}

static void test_stream_logprobs_collected(void **state)
{
    (void)state;
    size_t len;
    char *body = read_file(FIXTURES "chat-stream-logprobs.sse", &len);
    assay__response r;
    assay__response_init(&r);
    assay_error err;
    bool first;
    assert_int_equal(stream_in_pieces(body, len, 5, 200, &r, &err, &first),
                     ASSAY_OK);
    assert_non_null(r.logprobs);
    assert_int_equal(cJSON_GetArraySize(r.logprobs), 3);
    const cJSON *top = cJSON_GetObjectItem(cJSON_GetArrayItem(r.logprobs, 0),
                                           "top_logprobs");
    assert_int_equal(cJSON_GetArraySize(top), 2);
    assay__response_release(&r);
    free(body);
}

static assay_status stream_text(const char *text, assay__response *r,
                                assay_error *err)
{
    bool first;
    return stream_in_pieces(text, strlen(text), 3, 200, r, err, &first);
}

static void test_stream_faults(void **state)
{
    (void)state;
    assay__response r;
    assay__response_init(&r);
    assay_error err;
    /* Cut after the first chunk: neither [DONE] nor a finish_reason. */
    assert_int_equal(
        stream_text("data: {\"choices\":[{\"delta\":{\"content\":\"Pa\"}}]}\n\n",
                    &r, &err),
        ASSAY_ERR_RESPONSE);
    assert_non_null(strstr(err.message, "ended before [DONE]"));
    /* A chunk that is not JSON. */
    assert_int_equal(stream_text("data: {\"choices\":\n\n", &r, &err),
                     ASSAY_ERR_RESPONSE);
    assert_non_null(strstr(err.message, "not a JSON object"));
    /* An error in the stream. */
    assert_int_equal(stream_text("data: {\"error\":{\"message\":\"overloaded\","
                                 "\"type\":\"server_error\"}}\n\n",
                                 &r, &err),
                     ASSAY_ERR_HTTP);
    assert_string_equal(err.message,
                        "the stream reported an error: server_error: "
                        "overloaded");
    /* A server that ignored `stream` and answered plain JSON. */
    assert_int_equal(
        stream_text("{\"choices\":[{\"message\":{\"content\":\"Paris\"},"
                    "\"finish_reason\":\"stop\"}]}",
                    &r, &err),
        ASSAY_OK);
    assert_string_equal(r.content.data, "Paris");
    /* An HTTP error status with a JSON body. */
    const char *limit = "{\"error\":{\"message\":\"slow down\",\"type\":"
                        "\"rate_limit\"}}";
    bool first;
    assert_int_equal(stream_in_pieces(limit, strlen(limit), 4, 429, &r, &err,
                                      &first),
                     ASSAY_ERR_HTTP);
    assert_string_equal(err.message, "HTTP 429: rate_limit: slow down");
    assay__response_release(&r);
}

static void test_tool_call_deltas(void **state)
{
    (void)state;
    const char *text =
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
        "\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"arguments\":\"\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
        "\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,"
        "\"id\":\"call_2\",\"function\":{\"name\":\"get_time\","
        "\"arguments\":\"{}\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
        "\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":9,"
        "\"total_tokens\":29,\"prompt_tokens_details\":{\"cached_tokens\":"
        "16}}}\n\n"
        "data: [DONE]\n\n";
    assay__response r;
    assay__response_init(&r);
    assay_error err;
    assert_int_equal(stream_text(text, &r, &err), ASSAY_OK);
    assert_int_equal(r.n_tool_calls, 2);
    assert_string_equal(r.tool_calls[0].id, "call_1");
    assert_string_equal(r.tool_calls[0].name, "get_weather");
    assert_string_equal(r.tool_calls[0].arguments.data, "{\"city\":\"Paris\"}");
    assert_string_equal(r.tool_calls[1].name, "get_time");
    assert_string_equal(r.finish_reason, "tool_calls");
    assert_int_equal(r.cached_tokens, 16);
    assert_int_equal(r.content.len, 0);
    assay__response_release(&r);
}

static void test_whole_reply_tool_calls_and_refusal(void **state)
{
    (void)state;
    const char *body =
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
        "\"refusal\":\"I can't help with that.\",\"tool_calls\":[{\"id\":"
        "\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{\\\"x\\\":1}\"}}]},\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,"
        "\"total_tokens\":12,\"completion_tokens_details\":{"
        "\"reasoning_tokens\":3}}}";
    assay__response r;
    assay__response_init(&r);
    assay_error err;
    assert_int_equal(assay__openai_parse_chat(200, body, strlen(body), &r, &err),
                     ASSAY_OK);
    assert_string_equal(r.refusal.data, "I can't help with that.");
    assert_int_equal(r.n_tool_calls, 1);
    assert_string_equal(r.tool_calls[0].arguments.data, "{\"x\":1}");
    assert_int_equal(r.reasoning_tokens, 3);
    assert_int_equal(r.cached_tokens, -1);
    /* Reset leaves nothing of the last reply behind. */
    assay__response_reset(&r);
    assert_int_equal(r.n_tool_calls, 0);
    assert_int_equal(r.refusal.len, 0);
    assay__response_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_rules),
        cmocka_unit_test(test_sse_cap),
        cmocka_unit_test(test_captured_streams),
        cmocka_unit_test(test_stream_logprobs_collected),
        cmocka_unit_test(test_stream_faults),
        cmocka_unit_test(test_tool_call_deltas),
        cmocka_unit_test(test_whole_reply_tool_calls_and_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
