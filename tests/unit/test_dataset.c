/*
 * test_dataset.c - JSON Lines streaming and inline cases: ids, blank lines,
 * and errors that name the file and line.
 */
#include "internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef SHARED_DIR
#define SHARED_DIR "../shared"
#endif

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/assay-test-dataset-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_jsonl_ids_and_blank_lines(void **state)
{
    (void)state;
    char *path = write_temp("{\"id\": \"a\", \"q\": 1}\n\n  \n"
                            "{\"q\": 2}\n{\"id\": 7, \"q\": 3}");
    assay__dataset *d;
    assay_error err;
    assert_int_equal(assay__dataset_open_jsonl(path, &d, &err), ASSAY_OK);
    const char *ids[] = {"a", "4", "7"};
    for (int i = 0; i < 3; i++) {
        assay__case *c;
        assert_int_equal(assay__dataset_next(d, &c, &err), ASSAY_OK);
        assert_non_null(c);
        assert_string_equal(c->id, ids[i]);
        assert_int_equal(cJSON_GetObjectItem(c->vars, "q")->valueint, i + 1);
        assay__case_unref(c);
    }
    assay__case *end;
    assert_int_equal(assay__dataset_next(d, &end, &err), ASSAY_OK);
    assert_null(end);
    assay__dataset_free(d);
    unlink(path);
    free(path);
}

static void expect_error(const char *text, const char *message_part)
{
    char *path = write_temp(text);
    assay__dataset *d;
    assay_error err;
    assert_int_equal(assay__dataset_open_jsonl(path, &d, &err), ASSAY_OK);
    assay__case *c;
    assay_status st;
    while ((st = assay__dataset_next(d, &c, &err)) == ASSAY_OK && c)
        assay__case_unref(c);
    assert_int_not_equal(st, ASSAY_OK);
    assert_null(c);
    assert_string_equal(err.file, path);
    if (!strstr(err.message, message_part))
        fail_msg("'%s' not in '%s'", message_part, err.message);
    assay__dataset_free(d);
    unlink(path);
    free(path);
}

static void test_jsonl_errors(void **state)
{
    (void)state;
    expect_error("{\"a\": 1}\n{\"a\": \n", ":2:");
    expect_error("{\"a\": 1}\n{\"a\": \n", "not valid JSON");
    expect_error("[1, 2]\n", ":1:1: a case must be a JSON object");
    expect_error("{\"a\": 1} {\"b\": 2}\n", ":1:10: unexpected text after");
    expect_error("{\"id\": [1]}\n", ":1: 'id' must be a non-empty string");
    expect_error("{\"id\": 1.5}\n", "'id' must be");
}

static void test_missing_file(void **state)
{
    (void)state;
    assay__dataset *d = (assay__dataset *)1;
    assay_error err;
    assert_int_equal(assay__dataset_open_jsonl("/nonexistent/x.jsonl", &d, &err),
                     ASSAY_ERR_IO);
    assert_null(d);
    assert_string_equal(err.message, "/nonexistent/x.jsonl: cannot open the "
                                     "dataset: No such file or directory");
}

/* The real GSM8K test split streams through: 1319 cases. */
static void test_gsm8k(void **state)
{
    (void)state;
    assay__dataset *d;
    assay_error err;
    assert_int_equal(assay__dataset_open_jsonl(SHARED_DIR "/data/gsm8k/test.jsonl",
                                               &d, &err),
                     ASSAY_OK);
    long n = 0;
    assay__case *c;
    while (assay__dataset_next(d, &c, &err) == ASSAY_OK && c) {
        assert_true(cJSON_IsString(cJSON_GetObjectItem(c->vars, "question")));
        assert_true(cJSON_IsString(cJSON_GetObjectItem(c->vars, "answer")));
        if (++n == 1)
            assert_string_equal(c->id, "1");
        assay__case_unref(c);
    }
    assert_int_equal(n, 1319);
    assay__dataset_free(d);
}

static void test_inline_cases(void **state)
{
    (void)state;
    const char *yaml = "cases:\n"
                       "  - {id: x, a: 1}\n"
                       "  - {a: 2}\n"
                       "  - 3\n";
    assay__doc *doc;
    assay_error err;
    assert_int_equal(assay__doc_parse("s.yaml", yaml, strlen(yaml), &doc, &err),
                     ASSAY_OK);
    assay__dataset *d;
    assert_int_equal(assay__dataset_open_inline(
                         doc, cJSON_GetObjectItem(assay__doc_root(doc), "cases"),
                         &d, &err),
                     ASSAY_OK);
    assay__case *c;
    assert_int_equal(assay__dataset_next(d, &c, &err), ASSAY_OK);
    assert_string_equal(c->id, "x");
    assert_int_equal(c->line, 2);
    assay__case *shared = assay__case_ref(c);
    assay__case_unref(c);
    assert_string_equal(shared->id, "x"); /* still alive: one ref left */
    assay__case_unref(shared);
    assert_int_equal(assay__dataset_next(d, &c, &err), ASSAY_OK);
    assert_string_equal(c->id, "2");
    assay__case_unref(c);
    assert_int_equal(assay__dataset_next(d, &c, &err), ASSAY_ERR_SUITE);
    assert_string_equal(err.message,
                        "s.yaml:4:5: a case must be a mapping of fields");
    assay__dataset_free(d);
    assay__doc_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_ids_and_blank_lines),
        cmocka_unit_test(test_jsonl_errors),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_gsm8k),
        cmocka_unit_test(test_inline_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
