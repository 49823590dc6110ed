/*
 * test_target.c - a target's connection keys: reading them (and their
 * mistakes, at the right place), the URL, and the headers with the key.
 */
#include "internal.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static assay__doc *parse(const char *yaml)
{
    assay__doc *doc;
    assay_error err;
    if (assay__doc_parse("t.yaml", yaml, strlen(yaml), &doc, &err) != ASSAY_OK)
        fail_msg("%s", err.message);
    return doc;
}

static void test_defaults(void **state)
{
    (void)state;
    assay__doc *doc = parse("model: m\n");
    assay__connection c;
    assay_error err;
    assert_int_equal(assay__connection_load(doc, assay__doc_root(doc), &c,
                                            &err),
                     ASSAY_OK);
    assert_true(c.verify_tls);
    assert_int_equal(c.endpoint, ASSAY__ENDPOINT_CHAT);
    assert_int_equal(c.n_headers, 0);
    assay__buf url;
    assay__buf_init(&url, 0);
    assert_int_equal(assay__connection_url(&c, "http://h/v1", &url), ASSAY_OK);
    assert_string_equal(url.data, "http://h/v1/chat/completions");
    assay__buf_release(&url);
    assay__connection_release(&c);
    assay__doc_free(doc);
}

static void test_everything(void **state)
{
    (void)state;
    assay__doc *doc = parse(
        "model: gpt-4o\n"
        "azure: {deployment: prod-4o, api_version: '2024-10-21'}\n"
        "headers: {X-Team: evals, X-Trace: 'a b'}\n"
        "rate_limit: {rpm: 500, tpm: 200000}\n"
        "max_concurrency: 32\n"
        "verify_tls: false\n"
        "extra: {cache_prompt: true}\n"
        "endpoint: completions\n");
    assay__connection c;
    assay_error err;
    assert_int_equal(assay__connection_load(doc, assay__doc_root(doc), &c,
                                            &err),
                     ASSAY_OK);
    assert_false(c.verify_tls);
    assert_true(c.rpm == 500 && c.tpm == 200000);
    assert_int_equal(c.max_concurrency, 32);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c.extra, "cache_prompt")));
    assay__buf url;
    assay__buf_init(&url, 0);
    assert_int_equal(assay__connection_url(&c, "https://r.openai.azure.com",
                                           &url),
                     ASSAY_OK);
    assert_string_equal(url.data, "https://r.openai.azure.com/openai/"
                                  "deployments/prod-4o/completions?"
                                  "api-version=2024-10-21");
    assay__buf_release(&url);

    struct curl_slist *headers;
    assert_int_equal(assay__connection_headers(&c, "k-123", &headers),
                     ASSAY_OK);
    const char *want[] = {"Content-Type: application/json", "Expect:",
                          "api-key: k-123", "X-Team: evals", "X-Trace: a b"};
    size_t i = 0;
    for (struct curl_slist *h = headers; h; h = h->next, i++) {
        assert_true(i < 5);
        assert_string_equal(h->data, want[i]);
    }
    assert_int_equal(i, 5);
    assay__engine_headers_free(headers);
    assay__connection_release(&c);
    assay__doc_free(doc);
}

static void test_bearer_and_no_key(void **state)
{
    (void)state;
    assay__connection c;
    assay__connection_init(&c);
    struct curl_slist *headers;
    assert_int_equal(assay__connection_headers(&c, "sk-1", &headers),
                     ASSAY_OK);
    assert_string_equal(headers->next->next->data, "Authorization: Bearer sk-1");
    assay__engine_headers_free(headers);
    assert_int_equal(assay__connection_headers(&c, NULL, &headers), ASSAY_OK);
    assert_null(headers->next->next); /* no credential at all */
    assay__engine_headers_free(headers);
}

static void expect_error(const char *yaml, const char *message)
{
    assay__doc *doc = parse(yaml);
    assay__connection c;
    assay_error err;
    assert_int_equal(assay__connection_load(doc, assay__doc_root(doc), &c,
                                            &err),
                     ASSAY_ERR_SUITE);
    assert_string_equal(err.message, message);
    assay__connection_release(&c);
    assay__doc_free(doc);
}

static void test_mistakes(void **state)
{
    (void)state;
    expect_error("headers: {'bad name': x}\n",
                 "t.yaml:1:11: 'bad name' is not a valid header name");
    expect_error("headers: {X-A: [1]}\n",
                 "t.yaml:1:16: a header's value must be a string on one "
                 "line");
    expect_error("azure: {deployment: d}\n",
                 "t.yaml:1:8: 'azure' needs 'api_version', a non-empty "
                 "string");
    expect_error("azure: {deploymnt: d}\n",
                 "t.yaml:1:9: unknown key 'deploymnt' in 'azure' (expected "
                 "deployment, api_version)");
    expect_error("rate_limit: {rpm: -1}\n",
                 "t.yaml:1:19: 'rpm' must be a positive number per minute");
    expect_error("rate_limit: {qps: 1}\n",
                 "t.yaml:1:14: unknown key 'qps' in 'rate_limit' (expected "
                 "rpm, tpm)");
    expect_error("max_concurrency: 0.5\n",
                 "t.yaml:1:18: 'max_concurrency' is a whole number from 1 "
                 "to 65536");
    expect_error("verify_tls: no\n", "t.yaml:1:13: 'verify_tls' is true or "
                                     "false");
    expect_error("endpoint: embeddings\n",
                 "t.yaml:1:11: 'endpoint' is chat or completions");
    expect_error("extra: 3\n", "t.yaml:1:8: 'extra' must be a mapping, "
                               "merged into every request body");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_everything),
        cmocka_unit_test(test_bearer_and_no_key),
        cmocka_unit_test(test_mistakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
