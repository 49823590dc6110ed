/*
 * fuzz_record.c - fuzzes the reading of run records (record.c) and what is
 * computed from them: the summary with its gates (summary.c), its text
 * report, and comparisons (compare.c), of the record's groups with each
 * other and of the record with itself.
 *
 * The input is the record file, handed over as an in-memory file since
 * these readers take a path. The reports go to /dev/null; only the reading
 * and the arithmetic are under test, not the layout.
 */
#include "fuzz.h"
#include "internal.h"

#include <stdio.h>

/* Reads every statistic, so that each getter runs on odd summaries too. */
static void read_summary(const assay_summary *s, FILE *sink)
{
    assay_error err;
    for (size_t g = 0; g < assay_summary_group_count(s); g++) {
        for (int stat = 0; stat <= ASSAY_STAT_FLAKY_CASES; stat++)
            (void)assay_summary_stat(s, g, (assay_stat)stat);
        for (size_t m = 0; m < assay_summary_metric_count(s, g); m++)
            (void)assay_summary_metric_stat(s, g, m, ASSAY_STAT_SCORE_MEAN);
        (void)assay_summary_pass_at_k(s, g, 2);
    }
    (void)assay_summary_passed(s);
    assay_summary_write(s, ASSAY_FORMAT_TEXT, sink, &err);
}

static void read_compare(assay_compare *c, FILE *sink)
{
    assay_error err;
    /* The fewest resamples allowed: the bootstrap is not under test. */
    assay_compare_set_bootstrap(c, 100, 1, &err);
    for (size_t i = 0; i < assay_compare_count(c); i++)
        for (size_t m = 0; m < assay_compare_metric_count(c, i); m++)
            (void)assay_compare_metric_verdict(c, i, m);
    (void)assay_compare_passed(c);
    assay_compare_write(c, ASSAY_FORMAT_TEXT, sink, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[FUZZ_PATH_MAX];
    int fd = fuzz_file_open(data, size, path);
    FILE *sink = fopen("/dev/null", "w");
    if (!sink)
        return 0;
    assay_error err;

    assay_summary *s = NULL;
    if (assay_summary_load(path, &s, &err) == ASSAY_OK) {
        read_summary(s, sink);
        assay_summary_free(s);
    }
    assay_compare *c = NULL;
    if (assay_compare_load_matrix(path, &c, &err) == ASSAY_OK) {
        read_compare(c, sink);
        assay_compare_free(c);
    }
    if (assay_compare_load(path, path, &c, &err) == ASSAY_OK) {
        read_compare(c, sink);
        assay_compare_free(c);
    }

    fclose(sink);
    fuzz_file_close(fd);
    return 0;
}
