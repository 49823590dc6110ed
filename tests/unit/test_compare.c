/*
 * test_compare.c - paired comparisons of run records, and what the record
 * reader gives summaries beyond the journal's own fields (prompts, cluster
 * keys, costs, check metrics).
 *
 * Records are written by the tests as JSON Lines, so each test states the
 * exact results it pairs. Expected p-values were computed with python3
 * exactly: min(1, 2 * sum(Fraction(comb(m, i), 2**m) for i <= min(b, c))).
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void near(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.17g, want %.17g (tolerance %g)", what, got, want,
                 tol);
}

/* A scratch record: the header, then the lines the test adds. */
typedef struct record {
    char path[64];
    FILE *file;
} record;

static void record_open(record *r, const char *targets, const char *extra)
{
    snprintf(r->path, sizeof r->path, "/tmp/assay-test-compare-XXXXXX");
    int fd = mkstemp(r->path);
    assert_true(fd >= 0);
    r->file = fdopen(fd, "w");
    fprintf(r->file,
            "{\"type\":\"run\",\"format\":1,\"suite\":\"s\",\"targets\":%s,"
            "\"repeat\":1,\"gates\":{%s}}\n",
            targets, extra ? extra : "");
}

static void result(record *r, const char *target, const char *id,
                   const char *outcome, double score)
{
    if (!strcmp(outcome, "error"))
        fprintf(r->file,
                "{\"type\":\"result\",\"case\":\"%s\",\"target\":\"%s\","
                "\"repeat\":0,\"pass\":null,\"score\":null,\"checks\":[],"
                "\"error\":{\"kind\":\"http\",\"status\":500}}\n",
                id, target);
    else
        fprintf(r->file,
                "{\"type\":\"result\",\"case\":\"%s\",\"target\":\"%s\","
                "\"repeat\":0,\"pass\":%s,\"score\":%g,\"checks\":["
                "{\"type\":\"contains\",\"metric\":\"accuracy\",\"pass\":%s,"
                "\"score\":%g}],\"error\":null}\n",
                id, target, outcome, score, outcome, score);
}

static void record_close(record *r)
{
    fclose(r->file);
}

static size_t metric_named(const assay_compare *c, size_t i, const char *name)
{
    for (size_t m = 0; m < assay_compare_metric_count(c, i); m++)
        if (!strcmp(assay_compare_metric_name(c, i, m), name))
            return m;
    fail_msg("no metric '%s'", name);
    return 0;
}

/* 20 cases: the candidate breaks 3 and 7, errs on 9, fixes 15; the
   baseline alone has "gone", the candidate alone "new". */
static void write_pair(record *base, record *cand)
{
    record_open(base, "[{\"name\":\"m\"}]", NULL);
    record_open(cand, "[{\"name\":\"m\"}]",
                "\"regression\":{\"max_drop\":0.05,\"alpha\":0.1}");
    char id[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "c%02d", i);
        bool base_pass = i != 15;
        result(base, "m", id, base_pass ? "true" : "false", base_pass);
        if (i == 9)
            result(cand, "m", id, "error", 0);
        else if (i == 3 || i == 7)
            result(cand, "m", id, "false", 0);
        else
            result(cand, "m", id, "true", 1);
    }
    result(base, "m", "gone", "true", 1);
    result(cand, "m", "new", "true", 1);
    record_close(base);
    record_close(cand);
}

static void test_pairing_and_transitions(void **state)
{
    (void)state;
    record base, cand;
    write_pair(&base, &cand);
    assay_compare *c;
    assay_error err;
    assert_int_equal(assay_compare_load(base.path, cand.path, &c, &err),
                     ASSAY_OK);
    assert_false(assay_compare_is_matrix(c));
    assert_int_equal(assay_compare_count(c), 1);
    assert_string_equal(assay_compare_target(c, 0, true), "m");
    assert_string_equal(assay_compare_prompt(c, 0, false), "default");
    assert_int_equal(assay_compare_stat_of(c, 0, ASSAY_COMPARE_PAIRS), 20);
    assert_int_equal(assay_compare_stat_of(c, 0, ASSAY_COMPARE_BASE_ONLY), 1);
    assert_int_equal(assay_compare_stat_of(c, 0, ASSAY_COMPARE_CANDIDATE_ONLY),
                     1);
    assert_int_equal(assay_compare_stat_of(c, 0, ASSAY_COMPARE_NEWLY_FAILING),
                     3);
    assert_int_equal(assay_compare_stat_of(c, 0, ASSAY_COMPARE_NEWLY_PASSING),
                     1);
    /* newly failing first, by case id; then newly passing */
    assert_int_equal(assay_compare_transition_count(c, 0), 4);
    static const char *const ids[] = {"c03", "c07", "c09", "c15"};
    for (size_t t = 0; t < 4; t++) {
        int repeat = -1;
        assay_outcome was, now;
        assert_string_equal(
            assay_compare_transition(c, 0, t, &repeat, &was, &now), ids[t]);
        assert_int_equal(repeat, 0);
        if (t == 2)
            assert_true(was == ASSAY_OUTCOME_PASS &&
                        now == ASSAY_OUTCOME_ERROR);
        if (t == 3)
            assert_true(was == ASSAY_OUTCOME_FAIL && now == ASSAY_OUTCOME_PASS);
    }
    assert_null(assay_compare_transition(c, 0, 4, NULL, NULL, NULL));

    /* the regression gate came from the candidate's header */
    near(assay_compare_max_drop(c), 0.05, 0, "max_drop");
    near(assay_compare_alpha(c), 0.1, 0, "alpha");
    size_t pass = metric_named(c, 0, "pass");
    assert_int_equal(pass, 0);
    near(assay_compare_metric_stat(c, 0, pass, ASSAY_DIFF_N), 20, 0, "n");
    near(assay_compare_metric_stat(c, 0, pass, ASSAY_DIFF_BASE_MEAN), 0.95,
         1e-15, "base");
    near(assay_compare_metric_stat(c, 0, pass, ASSAY_DIFF_CANDIDATE_MEAN), 0.85,
         1e-15, "candidate");
    near(assay_compare_metric_stat(c, 0, pass, ASSAY_DIFF_MEAN), -0.1, 1e-15,
         "diff");
    /* b = 3, c = 1: p = 2 * (1 + 4) / 16 */
    near(assay_compare_metric_stat(c, 0, pass, ASSAY_DIFF_P_VALUE), 0.625,
         1e-15, "mcnemar");
    double low = assay_compare_metric_stat(c, 0, pass, ASSAY_DIFF_LOW);
    double high = assay_compare_metric_stat(c, 0, pass, ASSAY_DIFF_HIGH);
    assert_true(low < -0.1 && -0.1 < high);
    /* MDE: sd of {-1 x3, +1, 0 x16} with alpha 0.1, by python3:
       (z_0.95 + z_0.8) * statistics.stdev(d) / sqrt(20) */
    near(assay_compare_metric_stat(c, 0, pass, ASSAY_DIFF_MDE),
         0.24864748605243853, 1e-12, "mde");
    assert_int_equal(assay_compare_metric_verdict(c, 0, pass),
                     ASSAY_VERDICT_TOO_SMALL);
    /* the check metric is there, its values 0/1, so also McNemar */
    size_t accuracy = metric_named(c, 0, "accuracy");
    near(assay_compare_metric_stat(c, 0, accuracy, ASSAY_DIFF_P_VALUE), 0.625,
         1e-15, "accuracy mcnemar");
    assert_true(assay_compare_passed(c));

    /* a tolerance beyond the MDE: no significant change */
    assert_int_equal(assay_compare_set_regression(c, 0.3, NAN, &err), ASSAY_OK);
    assert_int_equal(assay_compare_metric_verdict(c, 0, pass),
                     ASSAY_VERDICT_NO_CHANGE);
    assert_int_equal(assay_compare_set_regression(c, 2, NAN, &err),
                     ASSAY_ERR_INVALID);
    assert_int_equal(assay_compare_set_bootstrap(c, 10, 1, &err),
                     ASSAY_ERR_INVALID);
    assay_compare_free(c);
    unlink(base.path);
    unlink(cand.path);
}

static void test_significant_regression(void **state)
{
    (void)state;
    record base, cand;
    record_open(&base, "[{\"name\":\"old-model\"}]", NULL);
    record_open(&cand, "[{\"name\":\"new-model\"}]", NULL);
    char id[16];
    for (int i = 0; i < 60; i++) {
        snprintf(id, sizeof id, "k%d", i);
        result(&base, "old-model", id, "true", 1);
        result(&cand, "new-model", id, i < 12 ? "false" : "true",
               i < 12 ? 0 : 1);
    }
    record_close(&base);
    record_close(&cand);
    assay_compare *c;
    assay_error err;
    /* one target each: paired whatever the targets are called */
    assert_int_equal(assay_compare_load(base.path, cand.path, &c, &err),
                     ASSAY_OK);
    assert_string_equal(assay_compare_target(c, 0, false), "old-model");
    assert_string_equal(assay_compare_target(c, 0, true), "new-model");
    near(assay_compare_metric_stat(c, 0, 0, ASSAY_DIFF_P_VALUE), 0.00048828125,
         1e-18, "p of 12 to 0");
    assert_int_equal(assay_compare_metric_verdict(c, 0, 0),
                     ASSAY_VERDICT_REGRESSED);
    assert_false(assay_compare_passed(c));
    assert_string_equal(assay_verdict_text(ASSAY_VERDICT_REGRESSED),
                        "regressed");
    /* a drop of 20 points tolerated up to 25: significant but allowed */
    assert_int_equal(assay_compare_set_regression(c, 0.25, 0.05, &err),
                     ASSAY_OK);
    assert_int_equal(assay_compare_metric_verdict(c, 0, 0),
                     ASSAY_VERDICT_ALLOWED_DROP);
    assert_true(assay_compare_passed(c));
    /* the text report says so */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(assay_compare_write(c, ASSAY_FORMAT_TEXT, out, &err),
                     ASSAY_OK);
    fclose(out);
    assert_non_null(strstr(text, "target 'old-model' -> 'new-model': 60 "
                                 "pairs\n"));
    assert_non_null(strstr(text, "dropped within the allowed margin"));
    assert_non_null(strstr(text, "newly failing (12):\n  k0\n  k1\n  k10\n"));
    assert_non_null(strstr(text, "\nverdict: PASS\n"));
    free(text);
    assay_compare_free(c);
    unlink(base.path);
    unlink(cand.path);
}

static void test_scores_and_bootstrap(void **state)
{
    (void)state;
    record base, cand;
    record_open(&base, "[{\"name\":\"m\"}]", NULL);
    record_open(&cand, "[{\"name\":\"m\"}]", NULL);
    char id[16];
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof id, "s%d", i);
        double b = (i % 10) / 10.0;
        result(&base, "m", id, b >= 0.5 ? "true" : "false", b);
        double c = b - 0.1 * (i % 3 == 0);
        result(&cand, "m", id, c >= 0.5 ? "true" : "false", c < 0 ? 0 : c);
    }
    record_close(&base);
    record_close(&cand);
    assay_compare *c;
    assay_error err;
    assert_int_equal(assay_compare_load(base.path, cand.path, &c, &err),
                     ASSAY_OK);
    size_t score = metric_named(c, 0, "score");
    double low = assay_compare_metric_stat(c, 0, score, ASSAY_DIFF_LOW);
    double high = assay_compare_metric_stat(c, 0, score, ASSAY_DIFF_HIGH);
    double diff = assay_compare_metric_stat(c, 0, score, ASSAY_DIFF_MEAN);
    assert_true(low < diff && diff < high && high < 0);
    assert_true(assay_compare_metric_stat(c, 0, score, ASSAY_DIFF_P_VALUE) <
                0.001);
    /* reproducible: the same seed gives the same interval */
    assert_int_equal(assay_compare_set_bootstrap(c, 2000, 1, &err), ASSAY_OK);
    near(assay_compare_metric_stat(c, 0, score, ASSAY_DIFF_LOW), low, 0,
         "same seed, same low");
    assert_int_equal(assay_compare_set_bootstrap(c, 2000, 99, &err), ASSAY_OK);
    assert_int_equal(assay_compare_seed(c), 99);
    assert_true(assay_compare_metric_stat(c, 0, score, ASSAY_DIFF_LOW) != low ||
                assay_compare_metric_stat(c, 0, score, ASSAY_DIFF_HIGH) !=
                    high);
    assay_compare_free(c);
    unlink(base.path);
    unlink(cand.path);
}

static void test_identical_small_suite(void **state)
{
    (void)state;
    record base, cand;
    record_open(&base, "[{\"name\":\"m\"}]", NULL);
    record_open(&cand, "[{\"name\":\"m\"}]", NULL);
    for (int i = 0; i < 40; i++) {
        char id[16];
        snprintf(id, sizeof id, "i%d", i);
        result(&base, "m", id, "true", 1);
        result(&cand, "m", id, "true", 1);
    }
    record_close(&base);
    record_close(&cand);
    assay_compare *c;
    assay_error err;
    assert_int_equal(assay_compare_load(base.path, cand.path, &c, &err),
                     ASSAY_OK);
    /* no pair differs: the variance is taken as 1/n, so the MDE is
       (z_0.975 + z_0.8) / n, python3 with the bisection quantiles */
    near(assay_compare_metric_stat(c, 0, 0, ASSAY_DIFF_MDE),
         (1.9599639845400532 + 0.8416212335729141) / 40, 1e-12, "mde floor");
    near(assay_compare_metric_stat(c, 0, 0, ASSAY_DIFF_P_VALUE), 1, 0, "p");
    assert_int_equal(assay_compare_metric_verdict(c, 0, 0),
                     ASSAY_VERDICT_TOO_SMALL);
    assay_compare_free(c);
    unlink(base.path);
    unlink(cand.path);
}

static void test_matrix_and_prompts(void **state)
{
    (void)state;
    record r;
    record_open(&r, "[{\"name\":\"a\"},{\"name\":\"b\"}]", NULL);
    for (int i = 0; i < 10; i++)
        for (int p = 0; p < 2; p++) {
            const char *prompt = p ? "terse" : "plain";
            fprintf(r.file,
                    "{\"type\":\"result\",\"case\":\"x%d\",\"target\":\"a\","
                    "\"prompt\":\"%s\",\"repeat\":0,\"pass\":%s,\"score\":1}\n"
                    "{\"type\":\"result\",\"case\":\"x%d\",\"target\":\"b\","
                    "\"prompt\":\"%s\",\"repeat\":0,\"pass\":true,\"score\":1}"
                    "\n",
                    i, prompt, i < 3 ? "false" : "true", i, prompt);
        }
    record_close(&r);
    assay_compare *c;
    assay_error err;
    assert_int_equal(assay_compare_load_matrix(r.path, &c, &err), ASSAY_OK);
    assert_true(assay_compare_is_matrix(c));
    /* four groups (a, b) x (plain, terse): six pairs */
    assert_int_equal(assay_compare_count(c), 6);
    long newly_passing = 0, newly_failing = 0;
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(assay_compare_stat_of(c, i, ASSAY_COMPARE_PAIRS), 10);
        newly_passing +=
            assay_compare_stat_of(c, i, ASSAY_COMPARE_NEWLY_PASSING);
        newly_failing +=
            assay_compare_stat_of(c, i, ASSAY_COMPARE_NEWLY_FAILING);
    }
    /* groups in the header's order of targets, then by prompt: a plain,
       a terse, b plain, b terse. Each a group's three failures pass in each
       later b group: four pairs of groups, twelve transitions. */
    assert_int_equal(newly_passing, 12);
    assert_int_equal(newly_failing, 0);
    assert_string_equal(assay_compare_prompt(c, 0, false), "plain");
    assert_string_equal(assay_compare_prompt(c, 0, true), "terse");
    assert_string_equal(assay_compare_target(c, 5, false), "b");
    assay_compare_free(c);

    /* the same record against itself pairs (target, prompt) by name */
    assert_int_equal(assay_compare_load(r.path, r.path, &c, &err), ASSAY_OK);
    assert_int_equal(assay_compare_count(c), 4);
    assert_string_equal(assay_compare_prompt(c, 1, true), "terse");
    assert_int_equal(assay_compare_transition_count(c, 0), 0);
    assay_compare_free(c);
    unlink(r.path);
}

static void test_bad_records(void **state)
{
    (void)state;
    record a, b;
    record_open(&a, "[{\"name\":\"x\"},{\"name\":\"y\"}]", NULL);
    record_open(&b, "[{\"name\":\"z\"},{\"name\":\"w\"}]", NULL);
    result(&a, "x", "1", "true", 1);
    result(&b, "z", "1", "true", 1);
    record_close(&a);
    record_close(&b);
    assay_compare *c;
    assay_error err;
    assert_int_equal(assay_compare_load(a.path, b.path, &c, &err),
                     ASSAY_ERR_RECORD);
    assert_null(c);
    assert_non_null(strstr(err.message, "no target and prompt in common"));

    record_open(&a, "[{\"name\":\"x\"}]", NULL);
    result(&a, "x", "1", "true", 1);
    result(&a, "x", "1", "false", 0);
    record_close(&a);
    assert_int_equal(assay_compare_load(a.path, a.path, &c, &err),
                     ASSAY_ERR_RECORD);
    assert_non_null(strstr(err.message, ":3: a result appears twice: case "
                                        "'1', repeat 0, target 'x'"));

    record_open(&a, "[{\"name\":\"x\"}]", NULL);
    fputs("{\"type\":\"result\",\"target\":\"x\",\"pass\":true}\n", a.file);
    record_close(&a);
    assert_int_equal(assay_compare_load_matrix(a.path, &c, &err),
                     ASSAY_ERR_RECORD);
    assert_non_null(strstr(err.message, "without 'case' cannot be paired"));
    assert_int_equal(assay_compare_load("/nonexistent.jsonl", a.path, &c, &err),
                     ASSAY_ERR_IO);
    unlink(a.path);
    unlink(b.path);
    assay_compare_free(NULL);
}

/* The record reader: prompts, clusters, costs and metrics reach the
   summary. */
static void test_record_fields(void **state)
{
    (void)state;
    record r;
    record_open(&r, "[{\"name\":\"a\"}]",
                "\"cost\":{\"max\":0.5},\"metrics\":{\"fmt\":{\"min\":0.9}}");
    static const char *const lines[] = {
        "{\"type\":\"result\",\"case\":\"1\",\"target\":\"a\",\"prompt\":"
        "\"p\",\"cluster\":\"doc1\",\"pass\":true,\"score\":1,\"cost\":0.25,"
        "\"checks\":[{\"type\":\"contains\",\"metric\":\"fmt\",\"pass\":true,"
        "\"score\":1},{\"type\":\"regex\",\"metric\":\"fmt\",\"pass\":false,"
        "\"score\":0.5},{\"type\":\"equals\",\"pass\":true,\"score\":1}]}",
        "{\"type\":\"result\",\"case\":\"2\",\"target\":\"a\",\"prompt\":"
        "\"p\",\"cluster\":7,\"pass\":false,\"score\":0,\"cost\":0.5,"
        "\"checks\":[{\"type\":\"contains\",\"metric\":\"fmt\",\"pass\":false,"
        "\"score\":0}]}",
        "{\"type\":\"result\",\"case\":\"3\",\"target\":\"a\",\"prompt\":"
        "\"p\",\"cluster\":\"doc1\",\"pass\":null,\"error\":{\"kind\":"
        "\"timeout\"}}",
    };
    for (size_t i = 0; i < 3; i++)
        fprintf(r.file, "%s\n", lines[i]);
    record_close(&r);
    assay_summary *s;
    assay_error err;
    assert_int_equal(assay_summary_load(r.path, &s, &err), ASSAY_OK);
    /* the placeholder group for the default prompt is gone */
    assert_int_equal(assay_summary_group_count(s), 1);
    assert_string_equal(assay_summary_group_prompt(s, 0), "p");
    near(assay_summary_stat(s, 0, ASSAY_STAT_CLUSTERS), 2, 0, "clusters");
    near(assay_summary_stat(s, 0, ASSAY_STAT_COST), 0.75, 1e-15, "cost");
    assert_int_equal(assay_summary_metric_count(s, 0), 2);
    assert_string_equal(assay_summary_metric_name(s, 0, 0), "fmt");
    assert_string_equal(assay_summary_metric_name(s, 0, 1), "equals");
    /* fmt: 0.75 (two checks merged, failing), 0, and the error as 0 */
    near(assay_summary_metric_stat(s, 0, 0, ASSAY_STAT_SCORE_MEAN), 0.25, 1e-15,
         "fmt mean");
    near(assay_summary_metric_stat(s, 0, 0, ASSAY_STAT_PASS_RATE), 0, 0,
         "fmt pass rate");
    assert_int_equal(assay_summary_gate_count(s), 2);
    assert_string_equal(assay_summary_gate_text(s, 0),
                        "metric 'fmt' mean >= 0.9 for target 'a', prompt 'p'");
    assert_false(assay_summary_gate_passed(s, 1)); /* 0.75 > 0.5 */
    assay_summary_free(s);
    unlink(r.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairing_and_transitions),
        cmocka_unit_test(test_significant_regression),
        cmocka_unit_test(test_scores_and_bootstrap),
        cmocka_unit_test(test_identical_small_suite),
        cmocka_unit_test(test_matrix_and_prompts),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_record_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
