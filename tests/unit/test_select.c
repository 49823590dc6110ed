/*
 * test_select.c - shards: every case in exactly one shard, by a hash of
 * its id alone (so a grown dataset keeps its shards), taken after the
 * limit so that the shards split exactly the unsharded selection.
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
#include <openssl/sha.h>

#define N_CASES 1000

static void test_every_case_in_one_shard(void **state)
{
    (void)state;
    long sizes[4] = {0};
    for (int i = 0; i < N_CASES; i++) {
        char id[32];
        snprintf(id, sizeof id, "case-%d", i);
        int owners = 0;
        for (uint32_t k = 0; k < 4; k++) {
            assay__select sel;
            assay__select_init(&sel);
            sel.shard_index = k;
            sel.shard_count = 4;
            if (assay__select_in_shard(&sel, id)) {
                owners++;
                sizes[k]++;
            }
        }
        assert_int_equal(owners, 1);
    }
    for (int k = 0; k < 4; k++)
        if (sizes[k] < 200 || sizes[k] > 300)
            fail_msg("shard %d holds %ld of %d cases", k, sizes[k], N_CASES);
}

/* The rule is SHA-256(id), first 8 bytes big-endian, mod N. */
static void test_the_documented_rule(void **state)
{
    (void)state;
    const char *id = "gsm8k-0042";
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)id, strlen(id), d);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | d[i];
    assay__select sel;
    assay__select_init(&sel);
    sel.shard_count = 7;
    sel.shard_index = (uint32_t)(h % 7);
    assert_true(assay__select_in_shard(&sel, id));
    sel.shard_index = (uint32_t)((h + 1) % 7);
    assert_false(assay__select_in_shard(&sel, id));
    sel.shard_count = 1; /* not sharded: every case */
    assert_true(assay__select_in_shard(&sel, id));
}

static char *write_cases(int n)
{
    char *path = strdup("/tmp/assay-test-select-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < n; i++)
        fprintf(f, "{\"id\": \"q%d\", \"n\": %d}\n", i, i);
    fclose(f);
    return path;
}

/* Marks in `seen` the cases a selection takes (ids "qN"); returns how
   many. A case marked twice fails the test. */
static long take(const char *path, long limit, uint32_t index, uint32_t count,
                 bool *seen)
{
    assay__dataset_spec spec = {.path = strdup(path)};
    assay__select sel;
    assay__select_init(&sel);
    sel.limit = limit;
    sel.shard_index = index;
    sel.shard_count = count;
    assay__dataset *d;
    assay_error err;
    assert_int_equal(assay__dataset_open(&spec, &sel, &d, &err), ASSAY_OK);
    long n = 0;
    assay__case *c;
    while (assay__dataset_next(d, &c, &err) == ASSAY_OK && c) {
        long i = strtol(c->id + 1, NULL, 10);
        assert_false(seen[i]);
        seen[i] = true;
        n++;
        assay__case_unref(c);
    }
    assay__dataset_free(d);
    assay__dataset_spec_release(&spec);
    return n;
}

static void test_shards_split_the_limited_selection(void **state)
{
    (void)state;
    char *path = write_cases(200);
    bool whole[200] = {false}, parts[200] = {false};
    assert_int_equal(take(path, 60, 0, 0, whole), 60);
    long total = 0;
    for (uint32_t k = 0; k < 3; k++)
        total += take(path, 60, k, 3, parts);
    assert_int_equal(total, 60);
    assert_memory_equal(whole, parts, sizeof whole);
    unlink(path);
    free(path);
}

static void test_selection_as_json(void **state)
{
    (void)state;
    assay__select sel;
    assay__select_init(&sel);
    cJSON *j = assay__select_to_json(&sel);
    char *text = cJSON_PrintUnformatted(j);
    assert_string_equal(text, "{}");
    cJSON_free(text);
    cJSON_Delete(j);
    assert_int_equal(assay__select_add_filter(&sel, "level", "3"), ASSAY_OK);
    sel.sample = 10;
    sel.seed = 18446744073709551615ULL;
    sel.limit = 5;
    sel.shard_count = 4; /* not part of it */
    j = assay__select_to_json(&sel);
    text = cJSON_PrintUnformatted(j);
    assert_string_equal(text, "{\"filters\":[[\"level\",\"3\"]],\"sample\":10,"
                              "\"seed\":\"18446744073709551615\","
                              "\"limit\":5}");
    cJSON_free(text);
    cJSON_Delete(j);
    assay__select_release(&sel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_case_in_one_shard),
        cmocka_unit_test(test_the_documented_rule),
        cmocka_unit_test(test_shards_split_the_limited_selection),
        cmocka_unit_test(test_selection_as_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
