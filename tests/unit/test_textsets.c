/*
 * test_textsets.c - contains-all, contains-any and their case-insensitive
 * forms (lists written, split at commas, or rendered from a case's list),
 * word-count, length and is-refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check_fixture.h"

static void test_contains_all(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - contains-all: [red, blue]\n", NULL);
    fixture_expect(&f, "red and blue", true,
                   "expected to contain all of 'red', 'blue'; found all 2");
    fixture_expect(&f, "red and green", false,
                   "expected to contain all of 'red', 'blue'; found no "
                   "'blue' in 'red and green'");
    fixture_expect(&f, "Red and Blue", false, NULL);
    fixture_teardown(&f);

    /* one text is split at commas and trimmed, as promptfoo does */
    check_one("checks:\n  - contains-all: \"red, blue ,green\"\n", NULL,
              "green blue red", true,
              "expected to contain all of 'red', 'blue', 'green'; found all "
              "3");
    check_one("checks:\n  - not-contains-all: [a, b]\n", NULL, "a only", true,
              "expected not to contain all of 'a', 'b'; found no 'b' in 'a "
              "only'");
}

static void test_contains_any(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - contains-any: [Berlin, Munich]\n", NULL);
    fixture_expect(&f, "I would say Munich.", true,
                   "expected to contain any of 'Berlin', 'Munich'; found "
                   "'Munich' at offset 12");
    fixture_expect(&f, "Hamburg", false,
                   "expected to contain any of 'Berlin', 'Munich'; found none "
                   "of them in 'Hamburg'");
    fixture_teardown(&f);
    /* numbers in the list are their text */
    check_one("checks:\n  - contains-any: [42, 7]\n", NULL, "it is 7", true,
              NULL);
}

static void test_icontains_sets(void **state)
{
    (void)state;
    check_one("checks:\n  - icontains-all: [PARIS, lyon]\n", NULL,
              "paris and LYON", true, NULL);
    check_one("checks:\n  - icontains-all: [paris, lyon]\n", NULL, "paris",
              false,
              "expected to contain (case-insensitive) all of 'paris', "
              "'lyon'; found no 'lyon' in 'paris'");
    /* beyond ASCII, through PCRE2's caseless matching */
    check_one("checks:\n  - icontains-any: [\"ÉCOLE\", gare]\n", NULL,
              "une école", true,
              "expected to contain (case-insensitive) any of 'ÉCOLE', "
              "'gare'; found 'ÉCOLE' at offset 4");
}

static void test_list_from_case(void **state)
{
    (void)state;
    /* a case's list field renders to a JSON array: its items are the list */
    check_fixture f;
    fixture_setup(&f, "checks:\n  - contains-any: \"{{ideal}}\"\n",
                  "{\"ideal\": [\"[5619]\", \"[5619.0000]\"]}");
    fixture_expect(&f, "x = [5619.0000]", true, NULL);
    fixture_expect(&f, "x = 5619", false, NULL);
    fixture_teardown(&f);
    /* one field holding "[5619]" stays that one text */
    check_one("checks:\n  - contains-all: \"{{ideal}}\"\n",
              "{\"ideal\": \"[5619]\"}", "5619", false, NULL);
    /* list items are templates too */
    check_one("checks:\n  - contains-all: [\"{{a}}\", \"{{b}}\"]\n",
              "{\"a\": \"x, y\", \"b\": \"z\"}", "x, y and z", true, NULL);
}

static void test_list_errors(void **state)
{
    (void)state;
    fixture_compile_error("checks:\n  - contains-all: []\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:19: check 'contains-all' expects at "
                          "least one text, found an empty list");
    fixture_compile_error("checks:\n  - contains-any: [a, [b]]\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:23: check 'contains-any' expects "
                          "texts in its list, found a list");
    fixture_compile_error("checks:\n  - contains-any: {a: 1}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:19: check 'contains-any' expects a "
                          "text or a list of texts, found a mapping");
}

static void test_word_count(void **state)
{
    (void)state;
    check_one("checks:\n  - word-count: 3\n", NULL, "one  two\tthree\n", true,
              "expected to have exactly 3 words; found 3");
    check_one("checks:\n  - word-count: {min: 2, max: 4}\n", NULL, "a", false,
              "expected to have 2 to 4 words; found 1");
    check_one("checks:\n  - {type: word-count, max: 2}\n", NULL, "", true,
              "expected to have at most 2 words; found 0");
    /* Unicode spaces separate words too (U+3000, U+00A0) */
    check_one("checks:\n  - word-count: 3\n", NULL,
              "a\xe3\x80\x80"
              "b\xc2\xa0"
              "c",
              true, NULL);
    fixture_compile_error("checks:\n  - word-count: -1\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:17: check 'word-count' expects a "
                          "whole number >= 0 here");
    fixture_compile_error("checks:\n  - word-count: {min: 5, max: 2}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:31: check 'word-count' has min 5 "
                          "above max 2");
    fixture_compile_error("checks:\n  - {type: word-count}\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:5: check 'word-count' needs a bound: "
                          "a number, or 'min' and/or 'max'");
}

static void test_length(void **state)
{
    (void)state;
    /* code points, not bytes: "héllo" is 5 long in 6 bytes */
    check_one("checks:\n  - length: 5\n", NULL, "h\xc3\xa9llo", true,
              "expected to have exactly 5 characters; found 5");
    check_one("checks:\n  - {type: length, min: 10}\n", NULL, "short", false,
              "expected to have at least 10 characters; found 5");
    check_one("checks:\n  - not-length: {max: 3}\n", NULL, "long enough", true,
              NULL);
}

static void test_is_refusal(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - is-refusal\n", NULL);
    fixture_expect(&f, "I'm sorry, but I can't help with that.", true,
                   "expected to be a refusal; found the refusal phrase "
                   "'i'm sorry, but' in 'I\\'m sorry, but I can\\'t help "
                   "with that.'");
    /* the typographic apostrophe counts as ' */
    fixture_expect(&f, "I\xe2\x80\x99m unable to provide that information.",
                   true, NULL);
    fixture_expect(&f, "As an AI language model, I do not have opinions.", true,
                   NULL);
    fixture_expect(&f, "   \n", true,
                   "expected to be a refusal; found an empty answer");
    fixture_expect(&f, "The capital of France is Paris.", false,
                   "expected to be a refusal; found no refusal phrase in "
                   "'The capital of France is Paris.'");
    fixture_expect(&f, "I can't believe how easy this is: 4.", false, NULL);
    fixture_response(&f, "m", "content_filter", 1, 0);
    fixture_expect(&f, "partial", true,
                   "expected to be a refusal; found finish_reason "
                   "'content_filter' (the endpoint withheld the answer)");
    fixture_teardown(&f);

    check_one("checks:\n  - not-is-refusal:\n", NULL, "Paris.", true, NULL);
    check_one("checks:\n  - {is-refusal: true}\n", NULL, "I must decline.",
              true, NULL);
    fixture_compile_error("checks:\n  - is-refusal: sorry\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:5: check 'is-refusal' takes no value; "
                          "write it as `- is-refusal`");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contains_all),
        cmocka_unit_test(test_contains_any),
        cmocka_unit_test(test_icontains_sets),
        cmocka_unit_test(test_list_from_case),
        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_word_count),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_is_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
