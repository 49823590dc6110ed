/*
 * test_numeric.c - the `numeric` check: which number an answer gives
 * (GSM8K's "####", \boxed{}, the last number), the forms a number takes,
 * tolerances, and every answer of the GSM8K test split against itself and
 * against its answer plus one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "check_fixture.h"
#include "checks/checks.h"

/* The number `numeric` reads from `text`, which must have one. */
static double read_number(const char *text, bool *percent)
{
    double v;
    bool pct;
    if (!assay__numeric_final(text, strlen(text), &v, &pct))
        fail_msg("no number read from '%s'", text);
    if (percent)
        *percent = pct;
    return v;
}

static void expect_number(const char *text, double want)
{
    double got = read_number(text, NULL);
    if (got != want)
        fail_msg("'%s' reads as %.17g, want %.17g", text, got, want);
}

static void test_extraction(void **state)
{
    (void)state;
    expect_number("The answer is 42.", 42);
    expect_number("First 3, then 5, finally 18", 18);
    expect_number("She makes $18 every day.\n#### 18", 18);
    expect_number("#### 1,000", 1000);
    expect_number("It costs $1,234.50 in total.", 1234.5);
    expect_number("The temperature fell to -7 degrees", -7);
    expect_number("The result is \xe2\x88\x92"
                  "12",
                  -12);                  /* U+2212 */
    expect_number("from 3-5 people", 5); /* a range, not -5 */
    expect_number("x-1 is not negative one", 1);
    expect_number("three quarters: 3/4", 0.75);
    expect_number("so \\boxed{\\frac{1}{2}} is it, not 7", 0.5);
    expect_number("\\boxed{12} and then 99", 12);
    expect_number("about .5 of them", 0.5);
    expect_number("roughly 2.5e3 units", 2500);
    expect_number("1,2,3", 3);      /* commas that are no thousands */
    expect_number("12,34", 34);     /* idem */
    expect_number("1234,567", 567); /* a first group of four is no group */
    expect_number("The answer is 7.\n", 7);
    bool pct;
    assert_true(read_number("a 45% rise", &pct) == 45 && pct);
    assert_true(read_number("45 %", &pct) == 45 && pct);
    double v;
    assert_false(assay__numeric_final("no digits here", 14, &v, &pct));
    /* the first number after the last ####, not the last one */
    expect_number("#### 5 apples and 6 pears", 5);
    expect_number("#### 1\n#### 2", 2);
}

static void test_check(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - numeric: \"{{answer}}\"\n",
                  "{\"answer\": \"1,000\"}");
    fixture_expect(&f, "So the total is 1000.", true,
                   "expected to give the number 1000; found 1000 (the last "
                   "number, '1000' at offset 16)");
    fixture_expect(&f, "#### 999", false,
                   "expected to give the number 1000; found 999 (after "
                   "'####', '999' at offset 5)");
    fixture_expect(&f, "I do not know.", false,
                   "expected to give the number 1000; found no number in "
                   "'I do not know.'");
    fixture_teardown(&f);

    /* a number in the suite is taken as its text */
    check_one("checks:\n  - numeric: 0.5\n", NULL, "1/2", true, NULL);
    check_one("checks:\n  - numeric: 0.45\n", NULL, "45%", true, NULL);
    check_one("checks:\n  - numeric: \"45%\"\n", NULL, "it is 0.45", true,
              NULL);
    check_one("checks:\n  - numeric: 3\n", NULL, "3.00001", false, NULL);
    check_one("checks:\n  - numeric: 3\n", NULL, "3.0000000001", true, NULL);
    check_one("checks:\n  - {type: numeric, value: 3, abs_tol: 0.01}\n", NULL,
              "3.004", true,
              "expected to give the number 3 within 0.01; found 3.004 (the "
              "last number, '3.004' at offset 0)");
    check_one("checks:\n  - {type: numeric, value: 200, rel_tol: 0.05}\n", NULL,
              "209", true,
              "expected to give the number 200 within 5%; found 209 (the "
              "last number, '209' at offset 0)");
    check_one("checks:\n  - not-numeric: 4\n", NULL, "5", true, NULL);
}

static void test_errors(void **state)
{
    (void)state;
    fixture_compile_error("checks:\n  - numeric: many\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:14: check 'numeric' expects a "
                          "number, found no number in 'many'");
    fixture_compile_error("checks:\n  - {type: numeric, value: 1, abs_tol: "
                          "-1}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:40: 'abs_tol' must be a number >= 0");
    check_fixture f;
    fixture_setup(&f, "checks:\n  - numeric: \"{{answer}}\"\n",
                  "{\"answer\": \"unknown\"}");
    fixture_expect_error(&f, "5", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'numeric' on case 'q1': the "
                         "expected value 'unknown' holds no number");
    fixture_teardown(&f);
}

/* GSM8K's final answer, read as its README says: "####", commas dropped. */
static bool gsm8k_final(const char *answer, long long *n)
{
    const char *mark = strstr(answer, "####");
    if (!mark)
        return false;
    char digits[64];
    size_t k = 0;
    for (const char *p = mark + 4; *p && k + 1 < sizeof digits; p++) {
        if (*p == ' ' && k == 0)
            continue;
        if (*p == ',')
            continue;
        if (!((*p >= '0' && *p <= '9') || (*p == '-' && k == 0)))
            break;
        digits[k++] = *p;
    }
    digits[k] = '\0';
    char *end;
    *n = strtoll(digits, &end, 10);
    return k > 0 && *end == '\0';
}

static void test_gsm8k(void **state)
{
    (void)state;
    FILE *in = fopen(SHARED_DIR "/data/gsm8k/test.jsonl", "r");
    if (!in)
        fail_msg("cannot open %s", SHARED_DIR "/data/gsm8k/test.jsonl");
    check_fixture f;
    fixture_setup(&f, "checks:\n  - numeric: \"{{answer}}\"\n", NULL);
    char *line = NULL;
    size_t cap = 0;
    int items = 0, passed_self = 0, failed_next = 0;
    while (getline(&line, &cap, in) > 0) {
        cJSON *item = cJSON_Parse(line);
        assert_non_null(item);
        const cJSON *answer = cJSON_GetObjectItemCaseSensitive(item, "answer");
        assert_true(cJSON_IsString(answer));
        long long n;
        assert_true(gsm8k_final(answer->valuestring, &n));
        f.vars = item;
        /* the worked answer against itself */
        assert_int_equal(fixture_run(&f, answer->valuestring), ASSAY_OK);
        passed_self += f.verdict.pass;
        if (!f.verdict.pass)
            print_message("item %d: %s\n", items + 1, f.verdict.reason.data);
        /* a model answer one more than the truth */
        char wrong[96];
        snprintf(wrong, sizeof wrong, "Let me think. The answer is %lld.",
                 n + 1);
        assert_int_equal(fixture_run(&f, wrong), ASSAY_OK);
        failed_next += !f.verdict.pass;
        if (f.verdict.pass)
            print_message("item %d: %s passed\n", items + 1, wrong);
        /* and the exact one in the same prose passes */
        snprintf(wrong, sizeof wrong, "Let me think. The answer is %lld.", n);
        assert_int_equal(fixture_run(&f, wrong), ASSAY_OK);
        assert_true(f.verdict.pass);
        f.vars = NULL;
        cJSON_Delete(item);
        items++;
    }
    free(line);
    fclose(in);
    fixture_teardown(&f);
    print_message("GSM8K: %d items, %d pass against themselves, %d fail "
                  "against N+1\n",
                  items, passed_self, failed_next);
    assert_int_equal(items, 1319);
    assert_int_equal(passed_self, 1319);
    assert_int_equal(failed_next, 1319);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extraction),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_gsm8k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
