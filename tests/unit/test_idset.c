/*
 * test_idset.c - the set of explicit case ids: every duplicate is found,
 * whether the first copy is still in memory or already merged to disk,
 * and no new id is taken for one.
 */
#include "idset.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void id_of(char *out, size_t size, const char *prefix, int i)
{
    snprintf(out, size, "%s%d", prefix, i);
}

static void test_in_memory(void **state)
{
    (void)state;
    assay__idset *s = assay__idset_new(0);
    assert_non_null(s);
    assay_error err;
    assert_int_equal(assay__idset_add(s, "a", &err), ASSAY_OK);
    assert_int_equal(assay__idset_add(s, "b", &err), ASSAY_OK);
    assert_int_equal(assay__idset_add(s, "a", &err), ASSAY_ERR_DATASET);
    assert_int_equal(assay__idset_add(s, "A", &err), ASSAY_OK);
    assert_int_equal(assay__idset_count(s), 3);
    assert_int_equal(assay__idset_on_disk(s), 0);
    assay__idset_free(s);
}

/* 100 ids in memory, so that 5,000 ids make 49 merges into the run. */
static void test_duplicates_found_on_disk(void **state)
{
    (void)state;
    enum { N = 5000 };
    assay__idset *s = assay__idset_new(100);
    assert_non_null(s);
    assay_error err;
    char id[32];
    for (int i = 0; i < N; i++) {
        id_of(id, sizeof id, "case-", i);
        if (assay__idset_add(s, id, &err) != ASSAY_OK)
            fail_msg("new id %s refused", id);
    }
    assert_int_equal(assay__idset_count(s), N);
    assert_true(assay__idset_on_disk(s) >= N - 100);
    for (int i = 0; i < N; i++) {
        id_of(id, sizeof id, "case-", i);
        if (assay__idset_add(s, id, &err) != ASSAY_ERR_DATASET)
            fail_msg("duplicate id %s not found", id);
    }
    for (int i = 0; i < N; i += 7) {
        id_of(id, sizeof id, "other-", i);
        if (assay__idset_add(s, id, &err) != ASSAY_OK)
            fail_msg("new id %s refused", id);
    }
    assert_int_equal(assay__idset_count(s), N + (N + 6) / 7);
    assay__idset_free(s);
}

/* A duplicate right after a merge, and one just before it. */
static void test_at_the_merge(void **state)
{
    (void)state;
    assay__idset *s = assay__idset_new(4);
    assert_non_null(s);
    assay_error err;
    const char *ids[] = {"w", "x", "y", "z"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(assay__idset_add(s, ids[i], &err), ASSAY_OK);
    assert_int_equal(assay__idset_add(s, "y", &err), ASSAY_ERR_DATASET);
    assert_int_equal(assay__idset_add(s, "z", &err), ASSAY_OK); /* merges */
    assert_int_equal(assay__idset_on_disk(s), 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(assay__idset_add(s, ids[i], &err),
                         ASSAY_ERR_DATASET);
    assay__idset_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_memory),
        cmocka_unit_test(test_duplicates_found_on_disk),
        cmocka_unit_test(test_at_the_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
