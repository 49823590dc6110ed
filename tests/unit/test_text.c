/*
 * test_text.c - excerpts, locale-independent doubles and JSON strings.
 */
#include "internal.h"

#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Excerpts `s` and compares the whole buffer. */
static void expect_excerpt(const char *s, size_t len, size_t max,
                           const char *want)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    assert_int_equal(assay__text_excerpt(&b, s, len, max), ASSAY_OK);
    assert_string_equal(b.data, want);
    assert_int_equal(b.len, strlen(want));
    assay__buf_release(&b);
}

static void test_excerpt_plain(void **state)
{
    (void)state;
    expect_excerpt("Paris", 5, 80, "'Paris'");
    expect_excerpt("", 0, 80, "''");
    expect_excerpt(NULL, 0, 80, "''");
    expect_excerpt("Paris", 5, 5, "'Paris'"); /* an exact fit is no cut */
}

static void test_excerpt_escapes(void **state)
{
    (void)state;
    expect_excerpt("a\nb\tc\\d'e", 9, 80, "'a\\nb\\tc\\\\d\\'e'");
    expect_excerpt("x\r\x01\x1f\x7fy", 6, 80, "'x\\r\\x01\\x1F\\x7Fy'");
    expect_excerpt("nul\0byte", 8, 80, "'nul\\x00byte'");
    /* bytes that are not UTF-8 are shown as such, good UTF-8 is kept */
    expect_excerpt("caf\xc3\xa9 \xff\xc3(", 9, 80, "'caf\xc3\xa9 \\xFF\\xC3('");
    /* overlong '/' and an encoded surrogate are not UTF-8 either */
    expect_excerpt("\xc0\xaf\xed\xa0\x80", 5, 80,
                   "'\\xC0\\xAF\\xED\\xA0\\x80'");
}

static void test_excerpt_cut(void **state)
{
    (void)state;
    expect_excerpt("Paris is the capital of France.", 31, 15,
                   "'Paris is the ca'...");
    expect_excerpt("abc", 3, 0, "''...");
    /* "é" is two bytes at offsets 4-5: a cut at 5 leaves it out whole */
    expect_excerpt("caf\xc3\xa9!", 6, 4, "'caf'...");
    expect_excerpt("caf\xc3\xa9!", 6, 5, "'caf\xc3\xa9'...");
    expect_excerpt("caf\xc3\xa9!", 6, 6, "'caf\xc3\xa9!'");
    /* a four-byte emoji is not split either */
    expect_excerpt("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 8, 7,
                   "'\xf0\x9f\x98\x80'...");
    /* the limit counts bytes of the text, not of the escapes */
    expect_excerpt("\n\n\n\n", 4, 2, "'\\n\\n'...");
}

static void test_excerpt_appends_and_cap(void **state)
{
    (void)state;
    assay__buf b;
    assay__buf_init(&b, 12);
    assert_int_equal(assay__buf_puts(&b, "found "), ASSAY_OK);
    assert_int_equal(assay__text_excerpt(&b, "ab", 2, 80), ASSAY_OK);
    assert_string_equal(b.data, "found 'ab'");
    /* does not fit the cap of 12: the buffer is left as it was */
    assert_int_equal(assay__text_excerpt(&b, "abcdef", 6, 80), ASSAY_ERR_LIMIT);
    assert_string_equal(b.data, "found 'ab'");
    assert_int_equal(b.len, 10);
    assay__buf_release(&b);
}

static void expect_double(double v, const char *want)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    assert_int_equal(assay__text_put_double(&b, v), ASSAY_OK);
    assert_string_equal(b.data, want);
    assay__buf_release(&b);
}

static void test_double_forms(void **state)
{
    (void)state;
    expect_double(0.0, "0");
    expect_double(-0.0, "-0");
    expect_double(1.0, "1");
    expect_double(-42.0, "-42");
    expect_double(0.1, "0.1");
    expect_double(412.5, "412.5");
    expect_double(0.1 + 0.2, "0.30000000000000004");
    expect_double(1.0 / 3.0, "0.3333333333333333");
    expect_double(1e21, "1e+21");
    expect_double(5.1e-6, "5.1e-06");
    expect_double(9007199254740993.0, "9007199254740992");
    expect_double(NAN, "null");
    expect_double(INFINITY, "null");
    expect_double(-INFINITY, "null");
}

static void test_double_round_trips(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15u;
    assay__buf b;
    assay__buf_init(&b, 0);
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13; /* xorshift64 over the bit patterns of doubles */
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v))
            continue;
        assay__buf_reset(&b);
        assert_int_equal(assay__text_put_double(&b, v), ASSAY_OK);
        double back = strtod(b.data, NULL);
        if (memcmp(&back, &v, sizeof v) != 0)
            fail_msg("%.17g printed as %s", v, b.data);
        if (b.len > 24)
            fail_msg("%.17g printed as %s: too long", v, b.data);
    }
    assay__buf_release(&b);
}

/*
 * The library never sets the locale, but its caller may. Any locale that
 * writes a decimal comma will do; the test is skipped when none is
 * installed.
 */
static void test_double_in_comma_locale(void **state)
{
    (void)state;
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "de_DE",
                                        "fr_FR.UTF-8", "fr_FR.utf8", "fr_FR",
                                        "ru_RU.UTF-8", "nl_NL.UTF-8"};
    const char *found = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++)
        found = setlocale(LC_NUMERIC, names[i]);
    if (!found || strcmp(localeconv()->decimal_point, ".") == 0) {
        setlocale(LC_NUMERIC, "C");
        skip();
    }
    assay__buf b;
    assay__buf_init(&b, 0);
    assert_int_equal(assay__text_put_double(&b, 412.5), ASSAY_OK);
    assert_int_equal(assay__text_put_double(&b, 0.30000000000000004), ASSAY_OK);
    setlocale(LC_NUMERIC, "C");
    assert_string_equal(b.data, "412.50.30000000000000004");
    assay__buf_release(&b);
}

static void expect_json(const char *s, size_t len, const char *want)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    assert_int_equal(assay__text_put_json_string(&b, s, len), ASSAY_OK);
    assert_int_equal(b.len, strlen(want));
    assert_string_equal(b.data, want);
    /* and cJSON reads back the same bytes */
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    assert_non_null(j);
    assert_true(cJSON_IsString(j));
    if (memchr(s ? s : "", '\0', len) == NULL) {
        assert_int_equal(strlen(j->valuestring), len);
        assert_memory_equal(j->valuestring, s, len);
    }
    cJSON_Delete(j);
    assay__buf_release(&b);
}

static void test_json_string(void **state)
{
    (void)state;
    expect_json("Paris", 5, "\"Paris\"");
    expect_json("", 0, "\"\"");
    expect_json(NULL, 0, "\"\"");
    expect_json("say \"hi\"\\", 9, "\"say \\\"hi\\\"\\\\\"");
    expect_json("a\nb\rc\td\be\ff", 11, "\"a\\nb\\rc\\td\\be\\ff\"");
    expect_json("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
    expect_json("nul\0", 4, "\"nul\\u0000\"");
    expect_json("caf\xc3\xa9 \xe2\x80\xa8", 9,
                "\"caf\xc3\xa9 \xe2\x80\xa8\""); /* UTF-8 passes through */
    expect_json("/", 1, "\"/\"");
}

static void test_json_string_cap(void **state)
{
    (void)state;
    assay__buf b;
    assay__buf_init(&b, 8);
    assert_int_equal(assay__buf_puts(&b, "x="), ASSAY_OK);
    assert_int_equal(assay__text_put_json_string(&b, "\n\n\n", 3),
                     ASSAY_ERR_LIMIT);
    assert_string_equal(b.data, "x=");
    assay__buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_excerpt_plain),
        cmocka_unit_test(test_excerpt_escapes),
        cmocka_unit_test(test_excerpt_cut),
        cmocka_unit_test(test_excerpt_appends_and_cap),
        cmocka_unit_test(test_double_forms),
        cmocka_unit_test(test_double_round_trips),
        cmocka_unit_test(test_double_in_comma_locale),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_json_string_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
