/*
 * test_buf.c - the growable buffer: always a C string, grows, detaches, and
 * refuses to pass its cap.
 */
#include "internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_empty_is_a_string(void **state)
{
    (void)state;
    assay__buf b;
    assay__buf_init(&b, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(b.len, 0);
    assay__buf_reset(&b);
    assay__buf_release(&b);
    assert_string_equal(b.data, "");
}

static void test_appends_and_grows(void **state)
{
    (void)state;
    assay__buf b;
    assay__buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(assay__buf_printf(&b, "%d,", i % 10), ASSAY_OK);
    assert_int_equal(b.len, 2000);
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_int_equal(b.data[b.len], '\0');
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(assay__buf_printf(&b, "[%s]", big), ASSAY_OK);
    assert_int_equal(b.len, 2000 + 1001);
    assert_int_equal(b.data[b.len - 1], ']');
    assay__buf_release(&b);
}

static void test_cap_refuses_and_keeps(void **state)
{
    (void)state;
    assay__buf b;
    assay__buf_init(&b, 8);
    assert_int_equal(assay__buf_puts(&b, "12345"), ASSAY_OK);
    assert_int_equal(assay__buf_puts(&b, "6789"), ASSAY_ERR_LIMIT);
    assert_string_equal(b.data, "12345");
    assert_int_equal(assay__buf_printf(&b, "%s", "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789"),
                     ASSAY_ERR_LIMIT);
    assert_string_equal(b.data, "12345");
    assert_int_equal(assay__buf_puts(&b, "678"), ASSAY_OK);
    assert_string_equal(b.data, "12345678");
    assay__buf_release(&b);
}

static void test_detach(void **state)
{
    (void)state;
    assay__buf b;
    assay__buf_init(&b, 0);
    size_t len = 99;
    char *empty = assay__buf_detach(&b, &len);
    assert_string_equal(empty, "");
    assert_int_equal(len, 0);
    free(empty);
    assay__buf_putc(&b, 'a');
    char *a = assay__buf_detach(&b, &len);
    assert_string_equal(a, "a");
    assert_int_equal(len, 1);
    assert_string_equal(b.data, "");
    free(a);
    assay__buf_release(&b);
}

static void test_error_messages(void **state)
{
    (void)state;
    assay_error err;
    assert_int_equal(assay__error(&err, ASSAY_ERR_SUITE, "s.yaml", 12, 5,
                                  "unknown check '%s'", "regx"),
                     ASSAY_ERR_SUITE);
    assert_string_equal(err.message, "s.yaml:12:5: unknown check 'regx'");
    assert_string_equal(err.file, "s.yaml");
    assert_int_equal(err.line, 12);
    assert_int_equal(err.column, 5);
    assay__error(&err, ASSAY_ERR_IO, "d.jsonl", 3, 0, "bad");
    assert_string_equal(err.message, "d.jsonl:3: bad");
    assay__error(&err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    assert_string_equal(err.message, "out of memory");
    assay__error_prefix(&err, "case '%s'", "q1");
    assert_string_equal(err.message, "case 'q1': out of memory");
    assert_int_equal(assay__error(NULL, ASSAY_ERR_IO, NULL, 0, 0, "x"),
                     ASSAY_ERR_IO);
    assert_string_equal(assay_status_name(ASSAY_ERR_NOMEM), "ASSAY_ERR_NOMEM");
    assert_string_equal(assay_strerror(ASSAY_OK), "success");
    assert_string_equal(assay_status_name((assay_status)-999), "ASSAY_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_a_string),
        cmocka_unit_test(test_appends_and_grows),
        cmocka_unit_test(test_cap_refuses_and_keeps),
        cmocka_unit_test(test_detach),
        cmocka_unit_test(test_error_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
