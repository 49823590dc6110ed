/*
 * test_comparative.c - the comparative checks' pure parts: max-score's
 * score of an answer and its choice (ties to the first, the threshold),
 * select-best's reading of a grader's reply, whole comparisons with their
 * reasons, and the specs they refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check_fixture.h"
#include "checks/checks.h"

#define NONE ((size_t)-1)

static void expect_pick(const double *scores, size_t n, double threshold,
                        size_t want)
{
    size_t got = assay__max_score_pick(scores, n, threshold);
    if (got != want)
        fail_msg("picked %zu, want %zu", got, want);
}

static void test_pick_highest(void **state)
{
    (void)state;
    double s[] = {0.25, 0.9, 0.5};
    expect_pick(s, 3, NAN, 1);
}

static void test_pick_tie_goes_to_the_first(void **state)
{
    (void)state;
    double s[] = {0.5, 0.75, 0.75, 0.1};
    expect_pick(s, 4, NAN, 1);
    double all[] = {1, 1, 1};
    expect_pick(all, 3, NAN, 0);
}

static void test_pick_threshold(void **state)
{
    (void)state;
    double s[] = {0.4, 0.6};
    expect_pick(s, 2, 0.7, NONE);
    expect_pick(s, 2, 0.6, 1); /* reaching it is enough */
    expect_pick(s, 0, NAN, NONE);
}

static void test_pick_skips_nan(void **state)
{
    (void)state;
    double s[] = {NAN, 0.2, NAN};
    expect_pick(s, 3, NAN, 1);
}

static void expect_near(double got, double want)
{
    if (fabs(got - want) > 1e-12)
        fail_msg("got %.17g, want %.17g", got, want);
}

static void test_score_of(void **state)
{
    (void)state;
    assay__check_outcome o[] = {
        {.type = "contains", .weight = 1, .score = 1},
        {.type = "llm-rubric", .weight = 1, .score = 0.5},
        {.type = "equals", .weight = 2, .score = 0},
    };
    /* own weights: (1 + 0.5 + 0) / 4 */
    expect_near(assay__max_score_of(o, 3, NULL, false), 0.375);
    expect_near(assay__max_score_of(o, 3, NULL, true), 1.5);
    /* promptfoo's example: weights by type, the others 1 */
    cJSON *w = cJSON_Parse("{\"llm-rubric\": 3, \"equals\": 0}");
    expect_near(assay__max_score_of(o, 3, w, false), 2.5 / 4);
    expect_near(assay__max_score_of(o, 3, w, true), 2.5);
    cJSON_Delete(w);
    /* nothing weighs: 0, as promptfoo has it */
    assay__check_outcome zero[] = {
        {.type = "contains", .weight = 0, .score = 1}};
    expect_near(assay__max_score_of(zero, 1, NULL, false), 0);
}

static void expect_read(const char *reply, bool ok, long want)
{
    long got = -7;
    bool read = assay__select_best_read(reply, strlen(reply), &got);
    if (read != ok)
        fail_msg("'%s': read %d, want %d", reply, read, ok);
    if (ok && got != want)
        fail_msg("'%s': index %ld, want %ld", reply, got, want);
}

static void test_read_replies(void **state)
{
    (void)state;
    expect_read("{\"reason\": \"shorter\", \"best\": 1}", true, 1);
    expect_read("I compared them.\n```json\n{\"best\": 0, \"reason\": "
                "\"x\"}\n```\nDone.",
                true, 0);
    expect_read("{\"index\": 2}", true, 2);
    expect_read("{\"best\": \"3\"}", true, 3);
    expect_read("  2\n", true, 2);
    expect_read("I cannot choose between them.", false, 0);
    expect_read("Answer 1 is best.", false, 0); /* a number in prose */
    expect_read("{\"reason\": \"no index\"}", false, 0);
    expect_read("{\"best\": -1}", false, 0);
    expect_read("{\"best\": 1.5}", false, 0);
    expect_read("", false, 0);
}

/* A comparison of `n` answers by entry 0 of `yaml`'s checks. */
typedef struct comparison {
    check_fixture f;
    assay__verdict v[4];
    assay_status st;
} comparison;

static void compare(comparison *c, const char *yaml, size_t n,
                    const char *const *outputs,
                    const assay__check_outcome *const *others,
                    const size_t *n_others, const char *reply)
{
    static const char *const names[] = {"a", "b", "c", "d"};
    size_t lens[4];
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(outputs[i]);
    fixture_setup(&c->f, yaml, "{\"id\": \"q1\"}");
    assert_true(assay__check_compares(c->f.check));
    for (size_t i = 0; i < n; i++)
        assay__verdict_init(&c->v[i]);
    assay__compare_input in = {
        .n = n,
        .outputs = outputs,
        .output_lens = lens,
        .targets = names,
        .others = others,
        .n_others = n_others,
    };
    c->st = assay__check_compare(c->f.check, &in, c->f.vars, "q1", reply,
                                 reply ? strlen(reply) : 0, c->v, &c->f.err);
}

static void comparison_release(comparison *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assay__verdict_release(&c->v[i]);
    fixture_teardown(&c->f);
}

static void expect_verdict(const comparison *c, size_t i, bool pass,
                           const char *reason)
{
    if (c->v[i].pass != pass)
        fail_msg("answer %zu: pass %d, want %d (%s)", i, c->v[i].pass, pass,
                 c->v[i].reason.data);
    assert_string_equal(c->v[i].reason.data, reason);
}

static void test_max_score_compares(void **state)
{
    (void)state;
    assay__check_outcome a[] = {{.type = "contains", .weight = 1, .score = 1},
                                {.type = "equals", .weight = 1, .score = 0}};
    assay__check_outcome b[] = {{.type = "contains", .weight = 1, .score = 1},
                                {.type = "equals", .weight = 1, .score = 1}};
    const assay__check_outcome *others[] = {a, b, a};
    size_t n_others[] = {2, 2, 2};
    const char *outputs[] = {"Paris.", "Paris", "It is Paris."};
    comparison c;
    compare(&c, "checks:\n  - max-score\n", 3, outputs, others, n_others, NULL);
    assert_int_equal(c.st, ASSAY_OK);
    expect_verdict(&c, 0, false,
                   "expected to have the highest mean score of the other "
                   "checks; found score 0.5, below target 'b' with 1");
    expect_verdict(&c, 1, true,
                   "expected to have the highest mean score of the other "
                   "checks; found score 1, the highest of 3 answers");
    assert_true(c.v[1].score == 1 && c.v[0].score == 0);
    comparison_release(&c, 3);

    /* a tie: the first target wins, and both reasons say so */
    const assay__check_outcome *tied[] = {a, a};
    compare(&c, "checks:\n  - {max-score: {method: sum}}\n", 2, outputs, tied,
            n_others, NULL);
    assert_int_equal(c.st, ASSAY_OK);
    expect_verdict(&c, 0, true,
                   "expected to have the highest summed score of the other "
                   "checks; found score 1, the highest of 2 answers (tied "
                   "with target 'b'; the first target wins a tie)");
    expect_verdict(&c, 1, false,
                   "expected to have the highest summed score of the other "
                   "checks; found score 1, tied with target 'a', which "
                   "comes first");
    comparison_release(&c, 2);

    /* below the threshold no answer is chosen */
    compare(&c, "checks:\n  - type: max-score\n    value: {threshold: 0.75}\n",
            2, outputs, tied, n_others, NULL);
    expect_verdict(&c, 0, false,
                   "expected to have the highest mean score of the other "
                   "checks, at least 0.75; found score 0.5; the highest, "
                   "0.5, is below the threshold 0.75");
    expect_verdict(&c, 1, false,
                   "expected to have the highest mean score of the other "
                   "checks, at least 0.75; found score 0.5; the highest, "
                   "0.5, is below the threshold 0.75");
    comparison_release(&c, 2);
}

static void test_max_score_needs_other_checks(void **state)
{
    (void)state;
    const char *outputs[] = {"x", "y"};
    const assay__check_outcome *others[] = {NULL, NULL};
    size_t n_others[] = {0, 0};
    comparison c;
    compare(&c, "checks:\n  - max-score\n", 2, outputs, others, n_others, NULL);
    assert_int_equal(c.st, ASSAY_ERR_CHECK);
    assert_string_equal(c.f.err.message,
                        "suite.yaml:2:5: check 'max-score' on case 'q1': "
                        "there is no other check to rank the answers by: "
                        "give the case checks that score them");
    comparison_release(&c, 2);
}

static void test_select_best_compares(void **state)
{
    (void)state;
    const char *outputs[] = {"Paris.", "Paris"};
    const assay__check_outcome *others[] = {NULL, NULL};
    size_t n_others[] = {0, 0};
    comparison c;
    compare(&c, "checks:\n  - select-best: the shortest answer\n", 2, outputs,
            others, n_others,
            "Sure.\n{\"reason\": \"It is shorter.\", \"best\": 1}");
    assert_int_equal(c.st, ASSAY_OK);
    expect_verdict(&c, 0, false,
                   "expected to be chosen as the best for 'the shortest "
                   "answer'; found answer 1 (target 'b') chosen instead: "
                   "'It is shorter.'");
    expect_verdict(&c, 1, true,
                   "expected to be chosen as the best for 'the shortest "
                   "answer'; found chosen by the grader among 2 answers: "
                   "'It is shorter.'");
    comparison_release(&c, 2);

    /* a reply that names no answer fails every answer, quoting it */
    compare(&c, "checks:\n  - select-best: the shortest answer\n", 2, outputs,
            others, n_others, "They are both fine.");
    assert_int_equal(c.st, ASSAY_OK);
    for (size_t i = 0; i < 2; i++)
        expect_verdict(&c, i, false,
                       "expected to be chosen as the best for 'the shortest "
                       "answer'; found no answer chosen: the grader's reply "
                       "names no index: 'They are both fine.'");
    comparison_release(&c, 2);

    compare(&c, "checks:\n  - select-best: the shortest answer\n", 2, outputs,
            others, n_others, "{\"best\": 2}");
    expect_verdict(&c, 0, false,
                   "expected to be chosen as the best for 'the shortest "
                   "answer'; found no answer chosen: the grader named "
                   "answer 2 of 2 (0 to 1): '{\"best\": 2}'");
    comparison_release(&c, 2);
}

static void test_select_best_question(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - select-best: \"{{goal}}\"\n",
                  "{\"goal\": \"the funniest\"}");
    const char *outputs[] = {"one", "two"};
    size_t lens[] = {3, 3};
    const char *names[] = {"a", "b"};
    assay__compare_input in = {
        .n = 2, .outputs = outputs, .output_lens = lens, .targets = names};
    assay__buf system, user;
    assay__buf_init(&system, 0);
    assay__buf_init(&user, 0);
    assert_int_equal(assay__check_compare_ask(f.check, &in, f.vars, "q1",
                                              &system, &user, &f.err),
                     ASSAY_OK);
    assert_non_null(strstr(system.data, "\"best\""));
    assert_string_equal(user.data, "Criteria:\nthe funniest\n\nAnswers:\n"
                                   "<answer index=\"0\">\none\n</answer>\n\n"
                                   "<answer index=\"1\">\ntwo\n</answer>");
    assay__buf_release(&system);
    assay__buf_release(&user);
    fixture_teardown(&f);

    /* a prompt of one's own sees the criteria, the answers and the case */
    fixture_setup(&f,
                  "checks:\n  - type: select-best\n    value: terse\n"
                  "    prompt: \"{{id}}: {{count}} answers, {{criteria}}\"\n",
                  "{\"id\": \"q9\"}");
    assay__buf_init(&system, 0);
    assay__buf_init(&user, 0);
    assert_int_equal(assay__check_compare_ask(f.check, &in, f.vars, "q9",
                                              &system, &user, &f.err),
                     ASSAY_OK);
    assert_string_equal(system.data, "");
    assert_string_equal(user.data, "q9: 2 answers, terse");
    assay__buf_release(&system);
    assay__buf_release(&user);
    fixture_teardown(&f);
}

static void test_refused_specs(void **state)
{
    (void)state;
    fixture_compile_error("checks:\n  - not-max-score\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:5: check 'max-score' cannot be "
                          "negated: it chooses one answer, and the others "
                          "fail already");
    fixture_compile_error("checks:\n  - {max-score: {method: median}}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:26: 'method' is 'average' or 'sum'");
    fixture_compile_error("checks:\n  - {max-score: {top: 2}}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:18: 'max-score' has no option 'top' "
                          "(it takes method, weights and threshold)");
    fixture_compile_error("checks:\n  - {max-score: {weights: {f1: -1}}}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:32: the weight of 'f1' must be a "
                          "number >= 0");
    fixture_compile_error("checks:\n  - select-best\n", ASSAY_ERR_CHECK,
                          "suite.yaml:2:5: check 'select-best' needs a value, "
                          "as in {contains: \"Paris\"}");
    fixture_compile_error(
        "checks:\n  - assert-set: [contains: a, max-score]\n", ASSAY_ERR_CHECK,
        "suite.yaml:2:31: check 'max-score' cannot be in an assert-set: it "
        "compares the answers of every target, which the run does for the "
        "case's own checks; list it among the case's checks");
}

/* Run on one answer alone, a comparative check is an error, not a
   verdict. */
static void test_no_verdict_alone(void **state)
{
    (void)state;
    check_fixture f;
    fixture_setup(&f, "checks:\n  - max-score\n", NULL);
    assert_int_equal(fixture_run(&f, "x"), ASSAY_ERR_CHECK);
    assert_non_null(strstr(f.err.message, "no verdict on one answer alone"));
    fixture_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_highest),
        cmocka_unit_test(test_pick_tie_goes_to_the_first),
        cmocka_unit_test(test_pick_threshold),
        cmocka_unit_test(test_pick_skips_nan),
        cmocka_unit_test(test_score_of),
        cmocka_unit_test(test_read_replies),
        cmocka_unit_test(test_max_score_compares),
        cmocka_unit_test(test_max_score_needs_other_checks),
        cmocka_unit_test(test_select_best_compares),
        cmocka_unit_test(test_select_best_question),
        cmocka_unit_test(test_refused_specs),
        cmocka_unit_test(test_no_verdict_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
