/*
 * test_merge.c - joining shard records: the merged record holds every
 * result once and a summary recomputed from them; shards of another
 * configuration or selection, a shard given twice, a missing or unfinished
 * shard, a duplicate result and an output that would overwrite a shard are
 * refused, and a refused merge leaves no file behind.
 */
#include "internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define HASH "aaaa"
#define SUMMARY "{\"type\":\"summary\",\"groups\":[],\"pass\":true}\n"

static char *write_record(const char *hash, int index, int count,
                          const char *extra, const char *results,
                          const char *ending)
{
    char *path = strdup("/tmp/assay-test-merge-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f,
            "{\"type\":\"run\",\"format\":1,\"suite\":\"s\","
            "\"config_hash\":\"%s\",\"targets\":[{\"name\":\"t\"}],"
            "\"repeat\":1,\"gates\":{\"pass_rate\":{\"min\":0.5}}%s",
            hash, extra);
    if (count)
        fprintf(f, ",\"shard\":{\"index\":%d,\"count\":%d}", index, count);
    fprintf(f, "}\n%s%s", results, ending);
    fclose(f);
    return path;
}

#define RESULT(c, pass)                                                        \
    "{\"type\":\"result\",\"case\":\"" c "\",\"target\":\"t\","                \
    "\"repeat\":0,\"pass\":" pass ",\"score\":" pass ",\"checks\":[],"         \
    "\"error\":null}\n"

static char out_path[64];

static void new_out_path(void)
{
    snprintf(out_path, sizeof out_path, "/tmp/assay-test-merged-%d.jsonl",
             (int)getpid());
    unlink(out_path);
}

static void test_merge_of_three_shards(void **state)
{
    (void)state;
    new_out_path();
    char *a = write_record(HASH, 0, 3, "", RESULT("x", "true"), SUMMARY);
    char *b = write_record(HASH, 1, 3, "",
                           RESULT("y", "false") RESULT("z", "true"), SUMMARY);
    /* A crash after the summary: a cut line at the end is left out. */
    char *c = write_record(HASH, 2, 3, "", "", SUMMARY "{\"type\":\"res");
    const char *paths[] = {c, a, b};
    assay_merge_info info;
    assay_error err;
    assert_int_equal(assay_merge(paths, 3, out_path, false, &info, &err),
                     ASSAY_OK);
    assert_int_equal(info.count, 3);
    assert_int_equal(info.merged, 3);
    assert_int_equal(info.results, 3);
    assert_int_equal(info.missing, 0);

    assay_summary *s;
    assert_int_equal(assay_summary_load(out_path, &s, &err), ASSAY_OK);
    assert_float_equal(assay_summary_stat(s, 0, ASSAY_STAT_RESULTS), 3, 0);
    assert_float_equal(assay_summary_stat(s, 0, ASSAY_STAT_PASSED), 2, 0);
    assert_true(assay_summary_passed(s));
    assay_summary_free(s);

    FILE *f = fopen(out_path, "r");
    char line[2048];
    assert_non_null(fgets(line, sizeof line, f));
    assert_null(strstr(line, "\"shard\""));
    assert_non_null(
        strstr(line, "\"merged\":{\"count\":3,\"shards\":[0,1,2]}"));
    assert_non_null(fgets(line, sizeof line, f)); /* shard 0 first */
    assert_non_null(strstr(line, "\"case\":\"x\""));
    char last[2048] = "";
    while (fgets(line, sizeof line, f))
        snprintf(last, sizeof last, "%s", line);
    fclose(f);
    assert_non_null(strstr(last, "{\"type\":\"summary\""));
    assert_non_null(strstr(last, "\"results\":3,\"passed\":2"));
    unlink(out_path);
    for (int i = 0; i < 3; i++) {
        unlink(paths[i]);
        free((char *)paths[i]);
    }
}

static void expect_refused(char **paths, size_t n, bool partial,
                           const char *message_part)
{
    new_out_path();
    assay_merge_info info;
    assay_error err;
    assay_status st = assay_merge((const char *const *)paths, n, out_path,
                                  partial, &info, &err);
    assert_int_not_equal(st, ASSAY_OK);
    if (!strstr(err.message, message_part))
        fail_msg("'%s' not in '%s'", message_part, err.message);
    assert_int_not_equal(access(out_path, F_OK), 0);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%s.merging", out_path);
    assert_int_not_equal(access(tmp, F_OK), 0);
    for (size_t i = 0; i < n; i++) {
        unlink(paths[i]);
        free(paths[i]);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    char *other[] = {write_record(HASH, 0, 2, "", RESULT("x", "true"), SUMMARY),
                     write_record("bbbb", 1, 2, "", "", SUMMARY)};
    expect_refused(other, 2, false, "another suite or configuration");

    char *selection[] = {
        write_record(HASH, 0, 2, ",\"selection\":{\"limit\":5}", "", SUMMARY),
        write_record(HASH, 1, 2, "", "", SUMMARY)};
    expect_refused(selection, 2, false, "selected its cases otherwise");

    char *twice[] = {write_record(HASH, 1, 2, "", "", SUMMARY),
                     write_record(HASH, 1, 2, "", "", SUMMARY)};
    expect_refused(twice, 2, false, "shard 1 of 2 is given twice");

    char *counts[] = {write_record(HASH, 0, 2, "", "", SUMMARY),
                      write_record(HASH, 1, 3, "", "", SUMMARY)};
    expect_refused(counts, 2, false, "one of 3");

    char *missing[] = {write_record(HASH, 0, 4, "", "", SUMMARY),
                       write_record(HASH, 2, 4, "", "", SUMMARY)};
    expect_refused(missing, 2, false,
                   "2 of the 4 shards are missing "
                   "(index 1, 3)");

    char *unfinished[] = {
        write_record(HASH, 0, 2, "", RESULT("x", "true"), ""),
        write_record(HASH, 1, 2, "", "",
                     "{\"type\":\"summary\",\"interrupted\":true}\n")};
    expect_refused(unfinished, 2, false, "did not finish");

    char *dup[] = {write_record(HASH, 0, 2, "", RESULT("x", "true"), SUMMARY),
                   write_record(HASH, 1, 2, "", RESULT("x", "false"), SUMMARY)};
    expect_refused(dup, 2, false, "is in another shard too");

    char *plain[] = {write_record(HASH, 0, 0, "", "", SUMMARY)};
    expect_refused(plain, 1, false, "not a shard record");
}

static void test_partial_and_overwrite(void **state)
{
    (void)state;
    new_out_path();
    char *a = write_record(HASH, 0, 3, "", RESULT("x", "true"), "");
    const char *paths[] = {a};
    assay_merge_info info;
    assay_error err;
    assert_int_equal(assay_merge(paths, 1, out_path, true, &info, &err),
                     ASSAY_OK);
    assert_int_equal(info.missing, 2);
    assert_int_equal(info.unfinished, 1);
    assert_int_equal(info.results, 1);
    unlink(out_path);

    assert_int_equal(assay_merge(paths, 1, a, true, &info, &err),
                     ASSAY_ERR_INVALID);
    assert_non_null(strstr(err.message, "may not overwrite a shard"));
    unlink(a);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_of_three_shards),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_partial_and_overwrite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
