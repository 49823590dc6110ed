/*
 * test_choice.c - the `choice` check: the option a free-form answer picks
 * ("The answer is (B)", "b)", "Answer: C.", "option D because..."), the
 * expected option as a letter, an index or a text, and MMLU's layout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "check_fixture.h"

/* The answer must pick `letter` (and no other) among A to J. */
static void expect_pick(const char *answer, char letter)
{
    for (char want = 'A'; want <= 'D'; want++) {
        char yaml[64];
        snprintf(yaml, sizeof yaml, "checks:\n  - choice: %c\n", want);
        check_fixture f;
        fixture_setup(&f, yaml, NULL);
        assert_int_equal(fixture_run(&f, answer), ASSAY_OK);
        if (f.verdict.pass != (want == letter))
            fail_msg("'%s' against %c: pass %d (%s)", answer, want,
                     f.verdict.pass, f.verdict.reason.data);
        fixture_teardown(&f);
    }
}

static void test_letters(void **state)
{
    (void)state;
    expect_pick("The answer is (B)", 'B');
    expect_pick("B", 'B');
    expect_pick("b)", 'B');
    expect_pick("Answer: C.", 'C');
    expect_pick("I think it's option D because the others are wrong.", 'D');
    expect_pick("**C**", 'C');
    expect_pick("(a)", 'A');
    expect_pick("the answer is d.", 'D');
    expect_pick("A) Paris, since it is the capital.", 'A');
    expect_pick("Let's think. (A) is wrong, (C) is wrong, so (B).", 'B');
    expect_pick("First I thought A, but the final answer is C", 'C');
    expect_pick("The correct answer is: [D]", 'D');
    /* "a" in prose is an article, and "I" a pronoun in "answer is I think" */
    expect_pick("The answer is a dog.", 0);
    expect_pick("I am not sure.", 0);
    expect_pick("", 0);
}

static void test_reasons(void **state)
{
    (void)state;
    check_one("checks:\n  - choice: B\n", NULL, "The answer is (B)", true,
              "expected to choose (B); found (B) (by an 'answer is' "
              "statement, at offset 15) in 'The answer is (B)'");
    check_one("checks:\n  - choice: \"(C)\"\n", NULL, "Option A.", false,
              "expected to choose (C); found (A) (by 'option X', at offset "
              "7) in 'Option A.'");
    check_one("checks:\n  - choice: c\n", NULL, "no idea", false,
              "expected to choose (C); found no choice in 'no idea'");
    check_one("checks:\n  - not-choice: A\n", NULL, "B", true, NULL);
}

/* MMLU's layout: `choices` a list, `answer` a 0-based index. */
static void test_with_choices(void **state)
{
    (void)state;
    const char *yaml = "checks:\n"
                       "  - type: choice\n"
                       "    value: \"{{answer}}\"\n"
                       "    choices: \"{{choices}}\"\n";
    const char *vars = "{\"answer\": 1, \"choices\": [\"London\", \"Paris\", "
                       "\"Rome\", \"Berlin\"]}";
    check_fixture f;
    fixture_setup(&f, yaml, vars);
    fixture_expect(&f, "The answer is (B)", true,
                   "expected to choose (B) 'Paris'; found (B) 'Paris' (by an "
                   "'answer is' statement, at offset 15) in 'The answer is "
                   "(B)'");
    /* the text of an option, alone or once in prose */
    fixture_expect(&f, "paris", true, NULL);
    fixture_expect(&f, "It is Paris, of course.", true,
                   "expected to choose (B) 'Paris'; found (B) 'Paris' (by the "
                   "one option's text it contains, at offset 6) in 'It is "
                   "Paris, of course.'");
    fixture_expect(&f, "Rome", false, NULL);
    /* two options named: no pick */
    fixture_expect(&f, "Paris or London?", false, NULL);
    /* E is no option of four */
    fixture_expect(&f, "The answer is E", false, NULL);
    fixture_teardown(&f);

    /* the expected option written as its text, choices written inline */
    check_one("checks:\n"
              "  - type: choice\n"
              "    value: Rome\n"
              "    choices: [London, Paris, Rome]\n",
              NULL, "I'd go with C.", false, NULL);
    check_one("checks:\n"
              "  - type: choice\n"
              "    value: Rome\n"
              "    choices: [London, Paris, Rome]\n",
              NULL, "Answer: C", true, NULL);
}

static void test_mmlu(void **state)
{
    (void)state;
    /* every MMLU item: its right letter passes, the next letter fails */
    FILE *in = fopen(SHARED_DIR "/data/mmlu/mmlu_dev.jsonl", "r");
    if (!in)
        fail_msg("cannot open mmlu_dev.jsonl");
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n"
                  "  - {type: choice, value: \"{{answer}}\", choices: "
                  "\"{{choices}}\"}\n",
                  NULL);
    char *line = NULL;
    size_t cap = 0;
    int items = 0;
    while (getline(&line, &cap, in) > 0) {
        cJSON *item = cJSON_Parse(line);
        assert_non_null(item);
        int answer = cJSON_GetObjectItemCaseSensitive(item, "answer")->valueint;
        f.vars = item;
        char reply[64];
        snprintf(reply, sizeof reply, "The answer is (%c).", 'A' + answer);
        assert_int_equal(fixture_run(&f, reply), ASSAY_OK);
        assert_true(f.verdict.pass);
        snprintf(reply, sizeof reply, "Answer: %c", 'A' + (answer + 1) % 4);
        assert_int_equal(fixture_run(&f, reply), ASSAY_OK);
        assert_false(f.verdict.pass);
        f.vars = NULL;
        cJSON_Delete(item);
        items++;
    }
    free(line);
    fclose(in);
    fixture_teardown(&f);
    assert_int_equal(items, 60);
}

static void test_errors(void **state)
{
    (void)state;
    fixture_compile_error("checks:\n  - choice: Paris\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:13: check 'choice' expects an option "
                          "letter A to J (or 'choices' to pick from by index "
                          "or text), found 'Paris'");
    check_fixture f;
    fixture_setup(&f,
                  "checks:\n  - {type: choice, value: \"{{a}}\", choices: "
                  "[x, y]}\n",
                  "{\"a\": \"z\"}");
    fixture_expect_error(&f, "A", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'choice' on case 'q1': the "
                         "expected choice 'z' is not one of the 2 options");
    fixture_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_letters),      cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_with_choices), cmocka_unit_test(test_mmlu),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
