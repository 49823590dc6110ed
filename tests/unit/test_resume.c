/*
 * test_resume.c - reading an interrupted record back: a line cut by a
 * crash is cut off the file and never read, a closing summary is cut too,
 * the finished keys are found, and a record of another configuration,
 * selection or shard is refused with a message that says so.
 */
#include "internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const char suite_text[] = "name: resumed\n"
                                 "targets:\n"
                                 "  - {name: alpha, model: gpt-4o-mini}\n"
                                 "  - {name: beta, model: model-b}\n"
                                 "prompt: \"{{q}}\"\n"
                                 "cases:\n"
                                 "  - {id: a, q: one}\n"
                                 "  - {id: b, q: two}\n"
                                 "  - {id: c, q: three}\n"
                                 "checks:\n"
                                 "  - contains: \"x\"\n";

/* A new file "/tmp/assay-test-resume-XXXXXX/N.suffix" holding `text`. */
static char dir[64];

static char *write_temp(const char *suffix, const char *text)
{
    static int n;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/assay-test-resume-XXXXXX");
        assert_non_null(mkdtemp(dir));
    }
    char *path = malloc(96);
    snprintf(path, 96, "%s/%d%s", dir, n++, suffix);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static assay_suite *load_suite(char **path)
{
    *path = write_temp(".yaml", suite_text);
    assay_suite *s;
    assay_error err;
    assert_int_equal(assay_suite_load(*path, &s, &err), ASSAY_OK);
    return s;
}

static void header(char *out, size_t size, const char *hash, const char *extra)
{
    snprintf(out, size,
             "{\"type\":\"run\",\"format\":1,\"suite\":\"resumed\","
             "\"config_hash\":\"%s\",\"targets\":[{\"name\":\"alpha\"},"
             "{\"name\":\"beta\"}],\"repeat\":1,\"gates\":{}%s}\n",
             hash, extra);
}

#define RESULT(c, t, pass)                                                     \
    "{\"type\":\"result\",\"case\":\"" c "\",\"target\":\"" t "\","            \
    "\"repeat\":0,\"pass\":" pass ",\"score\":1,\"checks\":[],"                \
    "\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":500},"            \
    "\"error\":null}\n"

static void test_cut_line_is_repaired(void **state)
{
    (void)state;
    char *suite_path;
    assay_suite *s = load_suite(&suite_path);
    char text[4096];
    header(text, sizeof text, s->config_hash, "");
    strcat(text, RESULT("a", "alpha", "true") RESULT("b", "alpha", "false")
                     RESULT("a", "beta", "true"));
    size_t complete = strlen(text);
    strcat(text, "{\"type\":\"result\",\"case\":\"c\",\"tar");
    char *path = write_temp(".jsonl", text);

    assay_summary *summary = assay__summary_new(
        "resumed", (const char *const[]){"alpha", "beta"}, 2, &s->gates);
    assay_progress progress = {.total = -1};
    assay__resume *r;
    assay_error err;
    assert_int_equal(assay__resume_load(path, s, NULL, NULL, true, summary,
                                        &progress, &r, &err),
                     ASSAY_OK);
    assert_false(assay__resume_fresh(r));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, complete);

    assert_true(assay__resume_done(r, "a", 0, 0, 0));
    assert_true(assay__resume_done(r, "b", 0, 0, 0));
    assert_true(assay__resume_done(r, "a", 1, 0, 0));
    assert_false(assay__resume_done(r, "b", 1, 0, 0));
    assert_false(assay__resume_done(r, "c", 0, 0, 0)); /* the cut line */
    assert_false(assay__resume_done(r, "a", 0, 0, 1));

    assert_int_equal(progress.done, 3);
    assert_int_equal(progress.resumed, 3);
    assert_int_equal(progress.passed, 2);
    assert_int_equal(progress.failed, 1);
    assert_int_equal(progress.prompt_tokens, 3000);
    /* gpt-4o-mini: 2 results at $0.15 in, $0.60 out per million. */
    assert_float_equal(progress.cost, 2 * (1000 * 0.15 + 500 * 0.60) / 1e6,
                       1e-12);
    assert_int_equal(assay__summary_finish(summary), ASSAY_OK);
    assert_float_equal(assay_summary_stat(summary, 0, ASSAY_STAT_RESULTS), 2,
                       0);
    assay__resume_free(r);
    assay_summary_free(summary);
    unlink(path);
    free(path);
    unlink(suite_path);
    free(suite_path);
    assay_suite_free(s);
}

static void test_summary_line_is_cut(void **state)
{
    (void)state;
    char *suite_path;
    assay_suite *s = load_suite(&suite_path);
    char text[4096];
    header(text, sizeof text, s->config_hash, "");
    strcat(text, RESULT("a", "alpha", "true"));
    size_t keep = strlen(text);
    strcat(text, "{\"type\":\"summary\",\"groups\":[],\"interrupted\":true}\n");
    char *path = write_temp(".jsonl", text);
    assay__resume *r;
    assay_error err;
    assert_int_equal(
        assay__resume_load(path, s, NULL, NULL, true, NULL, NULL, &r, &err),
        ASSAY_OK);
    assert_int_equal(strlen(read_all(path)), keep);
    assay__resume_free(r);

    /* Without repair, nothing is touched. */
    FILE *f = fopen(path, "a");
    fputs("{\"type\":\"res", f);
    fclose(f);
    assert_int_equal(
        assay__resume_load(path, s, NULL, NULL, false, NULL, NULL, &r, &err),
        ASSAY_OK);
    assert_int_equal(strlen(read_all(path)), keep + 12);
    assay__resume_free(r);
    unlink(path);
    free(path);
    unlink(suite_path);
    free(suite_path);
    assay_suite_free(s);
}

static void test_empty_record_starts_afresh(void **state)
{
    (void)state;
    char *suite_path;
    assay_suite *s = load_suite(&suite_path);
    char *path = write_temp(".jsonl", "{\"type\":\"run\",\"suite");
    assay__resume *r;
    assay_error err;
    assert_int_equal(
        assay__resume_load(path, s, NULL, NULL, true, NULL, NULL, &r, &err),
        ASSAY_OK);
    assert_true(assay__resume_fresh(r));
    assert_string_equal(read_all(path), "");
    assay__resume_free(r);
    unlink(path);
    free(path);
    unlink(suite_path);
    free(suite_path);
    assay_suite_free(s);
}

static void expect_refused(const char *hash, const char *extra,
                           const cJSON *selection, const cJSON *shard,
                           const char *message_part)
{
    char *suite_path;
    assay_suite *s = load_suite(&suite_path);
    char text[4096];
    header(text, sizeof text, hash ? hash : s->config_hash, extra);
    strcat(text, RESULT("a", "alpha", "true"));
    /* A closing summary a resume would cut: a refusal must not. */
    strcat(text, "{\"type\":\"summary\",\"groups\":[]}\n");
    char *path = write_temp(".jsonl", text);
    assay__resume *r = (assay__resume *)1;
    assay_error err;
    assert_int_equal(assay__resume_load(path, s, selection, shard, true, NULL,
                                        NULL, &r, &err),
                     ASSAY_ERR_RECORD);
    assert_null(r);
    if (!strstr(err.message, message_part))
        fail_msg("'%s' not in '%s'", message_part, err.message);
    assert_int_equal(strlen(read_all(path)), strlen(text));
    unlink(path);
    free(path);
    unlink(suite_path);
    free(suite_path);
    assay_suite_free(s);
}

static void test_other_configurations_are_refused(void **state)
{
    (void)state;
    expect_refused("0123456789abcdef", "", NULL, NULL,
                   "another configuration of the suite");
    cJSON *limit = cJSON_Parse("{\"limit\":5}");
    expect_refused(NULL, "", limit, NULL, "another selection of cases");
    expect_refused(NULL, ",\"selection\":{\"limit\":4}", limit, NULL,
                   "{\"limit\":4}, this run has {\"limit\":5}");
    cJSON *shard = cJSON_Parse("{\"index\":1,\"count\":4}");
    expect_refused(NULL, ",\"shard\":{\"index\":0,\"count\":4}", NULL, shard,
                   "another shard");
    cJSON_Delete(limit);
    cJSON_Delete(shard);
}

static void test_narrowed_suite_has_its_own_hash(void **state)
{
    (void)state;
    char *suite_path;
    assay_suite *s = load_suite(&suite_path);
    char before[65];
    memcpy(before, s->config_hash, sizeof before);
    assay_error err;
    assert_int_equal(
        assay_suite_keep_targets(s, (const char *const[]){"nope"}, 1, &err),
        ASSAY_ERR_INVALID);
    assert_non_null(strstr(err.message, "it has: alpha, beta"));
    assert_int_equal(
        assay_suite_keep_targets(s, (const char *const[]){"beta"}, 1, &err),
        ASSAY_OK);
    assert_int_equal(s->n_targets, 1);
    assert_string_equal(s->targets[0].name, "beta");
    assert_string_not_equal(s->config_hash, before);
    char narrowed[65];
    memcpy(narrowed, s->config_hash, sizeof narrowed);
    assert_int_equal(assay_suite_set_repeat(s, 1, &err), ASSAY_OK);
    assert_string_equal(s->config_hash, narrowed); /* unchanged repeat */
    assert_int_equal(assay_suite_set_repeat(s, 3, &err), ASSAY_OK);
    assert_int_equal(s->repeat, 3);
    assert_string_not_equal(s->config_hash, narrowed);
    unlink(suite_path);
    free(suite_path);
    assay_suite_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_line_is_repaired),
        cmocka_unit_test(test_summary_line_is_cut),
        cmocka_unit_test(test_empty_record_starts_afresh),
        cmocka_unit_test(test_other_configurations_are_refused),
        cmocka_unit_test(test_narrowed_suite_has_its_own_hash),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (dir[0])
        rmdir(dir);
    return failed;
}
