/*
 * test_squad.c - exact-match and f1 as the official SQuAD script computes
 * them. The expected normalisations and scores were produced by SQuAD's
 * normalize_answer and f1_score (2.0's rule for empty answers) in Python.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "check_fixture.h"
#include "checks/checks.h"

static void expect_normal(const char *text, const char *want)
{
    assay__buf out;
    assay__buf_init(&out, 0);
    assay_error err;
    assert_int_equal(assay__squad_normalize(text, strlen(text), &out, &err),
                     ASSAY_OK);
    if (strcmp(out.data, want) != 0)
        fail_msg("'%s' normalises to '%s', want '%s'", text, out.data, want);
    assay__buf_release(&out);
}

static void test_normalize(void **state)
{
    (void)state;
    expect_normal("The Denver Broncos!", "denver broncos");
    expect_normal("  An apple,  a day. ", "apple day");
    /* "—" is no word character, so "the" after it is an article */
    expect_normal("THE Th\xc3\xa9\xc3\xa2tre\xe2\x80\x94the end",
                  "th\xc3\xa9\xc3\xa2tre\xe2\x80\x94 end");
    /* Python's lower(): a final capital sigma becomes ς */
    expect_normal("\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\xa3\xce\xbf\xcf\x86"
                  "\xce\xaf\xce\xb1",
                  "\xce\xbf\xce\xb4\xce\xbf\xcf\x82 \xcf\x83\xce\xbf\xcf\x86"
                  "\xce\xaf\xce\xb1");
    /* İ lowercases to i and a combining dot */
    expect_normal("\xc4\xb0stanbul", "i\xcc\x87stanbul");
    expect_normal("the_the an-an", "thethe anan");
    expect_normal("don't stop", "dont stop");
    expect_normal("a\xc2\xa0"
                  "b",
                  "b"); /* U+00A0 is whitespace */
    expect_normal("", "");
}

static void test_exact_match(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - exact-match: Denver Broncos\n", NULL);
    fixture_expect(&f, "The Denver Broncos!", true,
                   "expected to equal 'Denver Broncos' once normalised (case, "
                   "punctuation, articles, whitespace); found 'denver "
                   "broncos' (normalised)");
    fixture_expect(&f, "Denver Broncos won", false, NULL);
    fixture_teardown(&f);
    /* several answers: any one will do, as SQuAD's max over ground truths */
    check_one("checks:\n  - exact-match: \"{{answers}}\"\n",
              "{\"answers\": [\"Saint Bernadette Soubirous\", \"Bernadette\"]}",
              "bernadette.", true, NULL);
    check_one("checks:\n  - exact-match: 42\n", NULL, "42.", true, NULL);
}

static void test_f1(void **state)
{
    (void)state;
    check_one("checks:\n  - f1: Denver Broncos\n", NULL,
              "the Denver Broncos won", true,
              "expected to have token F1 >= 0.5 against 'Denver Broncos'; "
              "found F1 0.8 (precision 0.667, recall 1) for 'denver broncos "
              "won'");
    check_one("checks:\n  - {type: f1, value: Denver Broncos, threshold: "
              "0.7}\n",
              NULL, "Broncos", false,
              "expected to have token F1 >= 0.7 against 'Denver Broncos'; "
              "found F1 0.667 (precision 1, recall 0.5) for 'broncos'");
    check_one("checks:\n  - f1: Denver Broncos\n", NULL, "Carolina Panthers",
              false, NULL);
    /* both empty once normalised: SQuAD 2.0 counts that as a match */
    check_one("checks:\n  - {type: f1, value: a, threshold: 1}\n", NULL, "the",
              true, NULL);
    /* repeated tokens count as a multiset */
    check_one("checks:\n  - {type: f1, value: x x y, threshold: 0.8}\n", NULL,
              "x y y", false, NULL);

    /* the score is kept, not just pass or fail */
    check_fixture f;
    fixture_setup(&f, "checks:\n  - f1: Denver Broncos\n", NULL);
    assert_int_equal(fixture_run(&f, "the Denver Broncos won"), ASSAY_OK);
    assert_true(fabs(f.verdict.score - 0.8) < 1e-12);
    fixture_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_exact_match),
        cmocka_unit_test(test_f1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
