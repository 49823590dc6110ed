/*
 * test_similarity.c - BLEU, ROUGE and Levenshtein against published and
 * independently computed values.
 *
 * Published: sacreBLEU's README example (corpus BLEU 48.53, precisions
 * 82.4/50.0/45.5/37.5, BP 0.943, hyp_len 17, ref_len 18) and the ROUGE-L
 * example of Lin (2004), "ROUGE: A Package for Automatic Evaluation of
 * Summaries", section 3.1 (S1 0.75, S2 0.5). The other values come from
 * tests/unit/reference/similarity.py, a Python re-derivation of
 * sacreBLEU's and rouge-score's published definitions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "check_fixture.h"
#include "checks/checks.h"

static void expect_close(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-9)
        fail_msg("%s: got %.12f, want %.12f", what, got, want);
}

static void expect_tokens(const char *text, const char *want)
{
    assay__buf out;
    assay__buf_init(&out, 0);
    assert_int_equal(assay__bleu_tokenize(text, strlen(text), &out), ASSAY_OK);
    assert_string_equal(out.data, want);
    assay__buf_release(&out);
}

static void test_tokenize_13a(void **state)
{
    (void)state;
    expect_tokens("The dog bit the man.", "The dog bit the man .");
    expect_tokens("It wasn't surprising.", "It wasn't surprising .");
    expect_tokens("Hello, world! Pi is 3.14 and 1,000 items cost $5-3.",
                  "Hello , world ! Pi is 3.14 and 1,000 items cost $ 5 - 3 .");
    expect_tokens("Tom &amp; Jerry &lt;3 &quot;cartoons&quot;",
                  "Tom & Jerry < 3 \" cartoons \"");
    expect_tokens("well-known co-operation in 2019-2020",
                  "well-known co-operation in 2019 - 2020");
    expect_tokens("Caf\xc3\xa9 cr\xc3\xa8me, s'il vous pla\xc3\xaet.",
                  "Caf\xc3\xa9 cr\xc3\xa8me , s'il vous pla\xc3\xaet .");
    /* a hyphen at a line's end joins; a trailing one survives rstrip */
    expect_tokens("co-\noperate\nnow  \n", "cooperate now");
    expect_tokens("<skipped> a", "a");
    expect_tokens("", "");
}

static void corpus_case(const char *hyp, const char *r1, const char *r2,
                        assay__bleu_stats *sum)
{
    assay__text_ref refs[2] = {{r1, strlen(r1)}, {r2, strlen(r2)}};
    assay__bleu_stats s;
    assert_int_equal(assay__bleu_sentence_stats(hyp, strlen(hyp), refs, 2, &s),
                     ASSAY_OK);
    assay__bleu_add(sum, &s);
}

static void test_corpus_bleu_published(void **state)
{
    (void)state;
    assay__bleu_stats sum;
    memset(&sum, 0, sizeof sum);
    corpus_case("The dog bit the man.", "The dog bit the man.",
                "The dog had bit the man.", &sum);
    corpus_case("It wasn't surprising.", "It was not unexpected.",
                "No one was surprised.", &sum);
    corpus_case("The man had just bitten him.", "The man bit him first.",
                "The man had bitten the dog.", &sum);
    double bp;
    double bleu = assay__bleu_score(&sum, false, &bp);
    print_message("corpus BLEU %.4f (published 48.53), BP %.3f\n", bleu, bp);
    assert_true(fabs(bleu - 48.53) < 0.005);
    expect_close(bleu, 48.530827009930, "corpus BLEU");
    assert_true(fabs(bp - 0.943) < 0.0005);
    assert_true(sum.sys_len == 17 && sum.ref_len == 18);
    const double correct[4] = {14, 7, 5, 3}, total[4] = {17, 14, 11, 8};
    for (int k = 0; k < 4; k++)
        assert_true(sum.correct[k] == correct[k] && sum.total[k] == total[k]);
}

static double sentence(const char *hyp, const char *ref, const char *ref2)
{
    assay__text_ref refs[2] = {{ref, strlen(ref)},
                               {ref2, ref2 ? strlen(ref2) : 0}};
    assay__bleu_stats s;
    assert_int_equal(
        assay__bleu_sentence_stats(hyp, strlen(hyp), refs, ref2 ? 2 : 1, &s),
        ASSAY_OK);
    return assay__bleu_score(&s, true, NULL);
}

static void test_sentence_bleu(void **state)
{
    (void)state;
    expect_close(sentence("The dog bit the man.", "The dog bit the man.", NULL),
                 100.0, "identical");
    expect_close(sentence("It wasn't surprising.", "It was not unexpected.",
                          "No one was surprised."),
                 14.794015674776, "two references");
    expect_close(sentence("The man had just bitten him.",
                          "The man bit him first.",
                          "The man had bitten the dog."),
                 29.071536848411, "closest reference length");
    expect_close(sentence("Hello, world! Pi is 3.14 and 1,000 items cost "
                          "$5-3.",
                          "Hello world: pi is 3.14, and 1,000 items cost $5.",
                          NULL),
                 37.502289167669, "punctuation and numbers");
    expect_close(sentence("Tom &amp; Jerry &lt;3 &quot;cartoons&quot;",
                          "Tom & Jerry <3 \"cartoons\"", NULL),
                 100.0, "entities");
    expect_close(sentence("a b c d e f", "a b c x e f g h", NULL),
                 27.222302983033, "exp smoothing of a zero 4-gram count");
    expect_close(sentence("completely different", "nothing shared here", NULL),
                 0.0, "no match");
    expect_close(sentence("Caf\xc3\xa9 cr\xc3\xa8me, s'il vous pla\xc3\xaet.",
                          "Un caf\xc3\xa9 cr\xc3\xa8me s'il vous pla\xc3\xaet "
                          "!",
                          NULL),
                 26.269098944242, "UTF-8");
    expect_close(sentence("well-known co-operation in 2019-2020",
                          "a well-known co-operation, 2019-2020.", NULL),
                 27.222302983033, "hyphens");
    expect_close(sentence("", "something", NULL), 0.0, "empty answer");
}

static void expect_rouge(const char *pred, const char *target, double r1,
                         double r2, double rl)
{
    assay__text_ref ref = {target, strlen(target)};
    assay__rouge_score s;
    size_t at;
    const int kinds[3] = {1, 2, 'L'};
    const double want[3] = {r1, r2, rl};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(
            assay__rouge(pred, strlen(pred), &ref, 1, kinds[k], &s, &at),
            ASSAY_OK);
        char what[160];
        snprintf(what, sizeof what, "ROUGE-%d of '%s'", k == 2 ? 'L' : k + 1,
                 pred);
        expect_close(s.fmeasure, want[k], what);
    }
}

static void test_rouge(void **state)
{
    (void)state;
    /* Lin (2004), section 3.1: ROUGE-L of S1 is 3/4, of S2 2/4 */
    expect_rouge("police kill the gunman", "police killed the gunman", 0.75,
                 1.0 / 3, 0.75);
    expect_rouge("the gunman kill police", "police killed the gunman", 0.75,
                 1.0 / 3, 0.5);
    expect_rouge("The quick brown dog jumps on the log.",
                 "The quick brown fox jumps over the lazy dog", 0.705882352941,
                 0.266666666667, 0.588235294118);
    expect_rouge("the cat was under the bed", "the cat was found under the bed",
                 0.923076923077, 0.727272727273, 0.923076923077);
    expect_rouge("hello world hello", "Hello, World! HELLO world.",
                 0.857142857143, 0.8, 0.857142857143);
    expect_rouge("zebra", "nothing in common", 0, 0, 0);
    /* rouge-score drops what is not a-z or 0-9: é splits "café" */
    expect_rouge("cafe deja vu 42", "Caf\xc3\xa9 d\xc3\xa9j\xc3\xa0 vu 42",
                 0.444444444444, 0.285714285714, 0.444444444444);
    expect_rouge("", "anything", 0, 0, 0);

    assay__buf out;
    assay__buf_init(&out, 0);
    assert_int_equal(
        assay__rouge_tokenize("Don't STOP-believing, 2024!", 27, &out),
        ASSAY_OK);
    assert_string_equal(out.data, "don t stop believing 2024");
    assay__buf_release(&out);
}

static void test_checks(void **state)
{
    (void)state;
    check_one("checks:\n  - bleu: The dog bit the man.\n", NULL,
              "The dog bit the man.", true,
              "expected to have BLEU >= 0.5 against 'The dog bit the man.'; "
              "found BLEU 1 (n-gram matches 6/6, 5/5, 4/4, 3/3; brevity "
              "penalty 1; 6 tokens, reference 6)");
    check_one("checks:\n  - {type: bleu, value: a b c x e f g h, threshold: "
              "0.25}\n",
              NULL, "a b c d e f", true, NULL);
    check_one("checks:\n  - {type: bleu, value: a b c x e f g h, threshold: "
              "0.3}\n",
              NULL, "a b c d e f", false, NULL);
    /* several references: a list, or a case's list field */
    check_one("checks:\n  - bleu: \"{{refs}}\"\n",
              "{\"refs\": [\"It was not unexpected.\", \"No one was "
              "surprised.\"]}",
              "It wasn't surprising.", false, NULL);
    check_one("checks:\n  - rouge-l: police killed the gunman\n", NULL,
              "the gunman kill police", false,
              "expected to have ROUGE-L >= 0.75 against 'police killed the "
              "gunman'; found ROUGE-L 0.5 (precision 0.5, recall 0.5)");
    check_one("checks:\n  - rouge-1: police killed the gunman\n", NULL,
              "police kill the gunman", true, NULL);
    check_one("checks:\n  - {type: rouge-2, value: police killed the gunman, "
              "threshold: 0.3}\n",
              NULL, "police kill the gunman", true, NULL);
    check_one("checks:\n  - rouge-l: [\"zebra\", \"police killed the "
              "gunman\"]\n",
              NULL, "police kill the gunman", true,
              "expected to have ROUGE-L >= 0.75 against one of 'zebra', "
              "'police killed the gunman'; found ROUGE-L 0.75 (precision "
              "0.75, recall 0.75, best against 'police killed the gunman')");
    /* negated scored checks pass below the threshold */
    check_one("checks:\n  - not-rouge-l: police killed the gunman\n", NULL,
              "the gunman kill police", true, NULL);
}

static void expect_distance(const char *a, const char *b, size_t max,
                            size_t want)
{
    uint32_t x[64], y[64];
    size_t n = 0, m = 0, k;
    for (size_t i = 0; a[i]; i += k)
        x[n++] = assay__checks_utf8_decode(a + i, strlen(a + i), &k);
    for (size_t i = 0; b[i]; i += k)
        y[m++] = assay__checks_utf8_decode(b + i, strlen(b + i), &k);
    size_t got = assay__levenshtein(x, n, y, m, max);
    if (got != want)
        fail_msg("levenshtein('%s', '%s', max %zu) = %zu, want %zu", a, b, max,
                 got, want);
}

static void test_levenshtein(void **state)
{
    (void)state;
    expect_distance("kitten", "sitting", 5, 3);
    expect_distance("kitten", "sitting", 3, 3);
    expect_distance("kitten", "sitting", 2, 3); /* more than 2: max + 1 */
    expect_distance("flaw", "lawn", 5, 2);
    expect_distance("", "abc", 5, 3);
    expect_distance("abc", "", 1, 2);
    expect_distance("same", "same", 0, 0);
    expect_distance("caf\xc3\xa9", "cafe", 5, 1); /* code points, not bytes */
    expect_distance("abcdefghij", "bcdefghijk", 5, 2);

    check_one("checks:\n  - levenshtein: sitting\n", NULL, "kitten", true,
              "expected to be within 5 edits of 'sitting'; found 3 edits in "
              "'kitten'");
    check_one("checks:\n  - {type: levenshtein, value: sitting, max: 2}\n",
              NULL, "kitten", false,
              "expected to be within 2 edits of 'sitting'; found more than 2 "
              "edits in 'kitten'");
    fixture_compile_error("checks:\n  - {type: levenshtein, value: a, "
                          "threshold: 3}\n",
                          ASSAY_ERR_CHECK,
                          "suite.yaml:2:35: 'levenshtein' passes or fails by "
                          "its value and options and takes no 'threshold' "
                          "(the scored checks are f1, bleu, rouge-1, "
                          "rouge-2, rouge-l, tool-call-f1, perplexity-score, "
                          "llm-rubric, g-eval, answer-relevance, "
                          "context-faithfulness, context-recall, "
                          "context-relevance, similar)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenize_13a),
        cmocka_unit_test(test_corpus_bleu_published),
        cmocka_unit_test(test_sentence_bleu),
        cmocka_unit_test(test_rouge),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_levenshtein),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
