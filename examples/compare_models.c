/*
 * compare_models.c - two models side by side, from C.
 *
 * Loads a suite with two targets (by default examples/compare_models.yaml:
 * the quickstart questions put to a small and a large model), sends every
 * case to both in one run, prints the run's summary, then pairs the two
 * targets case by case: for each metric, the difference with a bootstrap
 * interval, McNemar's exact test on the cases where they disagree, and a
 * verdict. The first target plays the baseline and the second the
 * candidate, so the program exits 1 when the second regressed against the
 * first, as `assay compare BASE CAND` does for two records.
 *
 *   compare_models [SUITE.yaml [RECORD.jsonl]]
 *
 * Targets without a `base_url` are sent to OPENAI_BASE_URL with the key in
 * OPENAI_API_KEY. The library reads no environment variable on its own, so
 * the program lends it getenv(). The run record goes to RECORD.jsonl
 * (default compare_models.jsonl), where `assay report` and `assay compare`
 * can read it again.
 *
 * Exit codes, those of the assay command: 0 no regression, 1 the second
 * target regressed, 2 a bad suite or arguments, 3 the run or the
 * comparison could not be completed.
 */
#include <assay.h>

#include <stdio.h>
#include <stdlib.h>

enum {
    EXIT_NO_REGRESSION = 0,
    EXIT_REGRESSED = 1,
    EXIT_BAD_INPUT = 2,
    EXIT_INCOMPLETE = 3
};

static const char *lookup_environment(const char *name, void *user_data)
{
    (void)user_data;
    return getenv(name);
}

/* Prints why a call failed: its message when it filled one (calls
   without an assay_error argument leave it empty), else its status. */
static void report_failure(const char *doing, assay_status status,
                           const assay_error *err)
{
    const char *why = err->message[0] ? err->message : assay_strerror(status);
    fprintf(stderr, "compare_models: %s: %s\n", doing, why);
}

/* Loads the suite and makes sure it has the two targets to compare. */
static int load_suite(const char *path, assay_suite **out)
{
    assay_error err;
    assay_error_clear(&err);
    assay_status st = assay_suite_load(path, out, &err);
    if (st != ASSAY_OK) {
        report_failure("loading the suite", st, &err);
        return EXIT_BAD_INPUT;
    }
    size_t targets = assay_suite_target_count(*out);
    if (targets != 2) {
        fprintf(stderr,
                "compare_models: %s: has %zu targets; this example compares "
                "exactly two (a baseline, then a candidate)\n",
                path, targets);
        assay_suite_free(*out);
        *out = NULL;
        return EXIT_BAD_INPUT;
    }
    return EXIT_NO_REGRESSION;
}

/* Sends every case to both targets, records each result in `record_path`
   and prints the summary (a row per target, the gates). */
static int run_suite(const assay_suite *suite, const char *record_path)
{
    assay_error err;
    assay_error_clear(&err);
    assay_run *run;
    assay_status st = assay_run_new(suite, &run, &err);
    if (st != ASSAY_OK) {
        report_failure("creating the run", st, &err);
        return EXIT_INCOMPLETE;
    }
    assay_run_set_env(run, lookup_environment, NULL);
    st = assay_run_set_record_path(run, record_path);
    if (st == ASSAY_OK)
        st = assay_run_execute(run, &err);
    if (st == ASSAY_OK)
        st = assay_summary_write(assay_run_summary(run), ASSAY_FORMAT_TEXT,
                                 stdout, &err);
    if (st != ASSAY_OK)
        report_failure("running the suite", st, &err);
    assay_run_free(run);
    return st == ASSAY_OK ? EXIT_NO_REGRESSION : EXIT_INCOMPLETE;
}

/* One line per metric that regressed: which target, against which, and
   by how much. */
static void print_regressions(const assay_compare *cmp)
{
    for (size_t i = 0; i < assay_compare_count(cmp); i++) {
        for (size_t m = 0; m < assay_compare_metric_count(cmp, i); m++) {
            if (assay_compare_metric_verdict(cmp, i, m) !=
                ASSAY_VERDICT_REGRESSED)
                continue;
            printf("regressed: '%s' against '%s' on %s: %+.3f (p = %.4f)\n",
                   assay_compare_target(cmp, i, true),
                   assay_compare_target(cmp, i, false),
                   assay_compare_metric_name(cmp, i, m),
                   assay_compare_metric_stat(cmp, i, m, ASSAY_DIFF_MEAN),
                   assay_compare_metric_stat(cmp, i, m, ASSAY_DIFF_P_VALUE));
        }
    }
}

/* Pairs the record's two targets and prints the comparison; the exit code
   says whether the second regressed. */
static int compare_targets(const char *record_path)
{
    assay_error err;
    assay_error_clear(&err);
    assay_compare *cmp;
    assay_status st = assay_compare_load_matrix(record_path, &cmp, &err);
    if (st != ASSAY_OK) {
        report_failure("pairing the targets", st, &err);
        return EXIT_INCOMPLETE;
    }
    putchar('\n');
    st = assay_compare_write(cmp, ASSAY_FORMAT_TEXT, stdout, &err);
    if (st != ASSAY_OK) {
        report_failure("writing the comparison", st, &err);
        assay_compare_free(cmp);
        return EXIT_INCOMPLETE;
    }
    bool passed = assay_compare_passed(cmp);
    print_regressions(cmp);
    printf("verdict: %s\n", passed ? "no regression" : "REGRESSED");
    assay_compare_free(cmp);
    return passed ? EXIT_NO_REGRESSION : EXIT_REGRESSED;
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "usage: %s [SUITE.yaml [RECORD.jsonl]]\n", argv[0]);
        return EXIT_BAD_INPUT;
    }
    const char *suite_path = argc > 1 ? argv[1] : "examples/compare_models.yaml";
    const char *record_path = argc > 2 ? argv[2] : "compare_models.jsonl";

    assay_status st = assay_global_init();
    if (st != ASSAY_OK) {
        fprintf(stderr, "compare_models: %s\n", assay_strerror(st));
        return EXIT_INCOMPLETE;
    }
    assay_suite *suite;
    int code = load_suite(suite_path, &suite);
    if (code == EXIT_NO_REGRESSION) {
        code = run_suite(suite, record_path);
        if (code == EXIT_NO_REGRESSION)
            code = compare_targets(record_path);
        assay_suite_free(suite);
    }
    assay_global_cleanup();
    return code;
}
