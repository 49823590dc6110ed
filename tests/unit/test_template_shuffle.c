/*
 * test_template_shuffle.c - the template filters for multiple-choice
 * prompts: `shuffle` (an order drawn from the case id, the same in the
 * prompt and in the check), `keys` and `letter`, and `#each` over a
 * filtered list.
 */
#include "internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ------------------------------------------------------------ helpers */

/* `text` compiled; fails the test on an error. */
static assay__template *compiled(const char *text)
{
    assay__template *t = NULL;
    assay_error err;
    assay_error_clear(&err);
    if (assay__template_compile(text, "t.yaml:1:1", &t, &err) != ASSAY_OK)
        fail_msg("compile failed: %s", err.message);
    return t;
}

/* `text` rendered for case `id` with the fields `vars_json`; the caller
   frees the result. Fails the test on an error. */
static char *render(const char *text, const char *vars_json, const char *id)
{
    assay__template *t = compiled(text);
    cJSON *vars = cJSON_Parse(vars_json);
    assert_non_null(vars);
    assay_error err;
    assay_error_clear(&err);
    assay__buf out;
    assay__buf_init(&out, 0);
    if (assay__template_render(t, vars, id, &out, &err) != ASSAY_OK)
        fail_msg("render failed: %s", err.message);
    char *s = strdup(out.data ? out.data : "");
    assert_non_null(s);
    assay__buf_release(&out);
    cJSON_Delete(vars);
    assay__template_free(t);
    return s;
}

static void renders(const char *text, const char *vars_json, const char *id,
                    const char *want)
{
    char *got = render(text, vars_json, id);
    assert_string_equal(got, want);
    free(got);
}

/* Rendering fails with a message holding `part`. */
static void render_fails(const char *text, const char *vars_json,
                         const char *part)
{
    assay__template *t = compiled(text);
    cJSON *vars = cJSON_Parse(vars_json);
    assert_non_null(vars);
    assay_error err;
    assay_error_clear(&err);
    assay__buf out;
    assay__buf_init(&out, 0);
    assert_int_equal(assay__template_render(t, vars, "c1", &out, &err),
                     ASSAY_ERR_TEMPLATE);
    if (!strstr(err.message, part))
        fail_msg("expected '%s' in: %s", part, err.message);
    assert_true(out.len == 0);
    assay__buf_release(&out);
    cJSON_Delete(vars);
    assay__template_free(t);
}

static void compile_fails(const char *text, const char *part)
{
    assay__template *t = NULL;
    assay_error err;
    assay_error_clear(&err);
    assert_int_equal(assay__template_compile(text, "t.yaml:1:1", &t, &err),
                     ASSAY_ERR_TEMPLATE);
    assert_null(t);
    if (!strstr(err.message, part))
        fail_msg("expected '%s' in: %s", part, err.message);
}

static const char *const options =
    "{\"opts\": [\"a\", \"b\", \"c\", \"d\"],"
    " \"mc\": {\"right\": 1, \"wrong one\": 0, \"wrong two\": 0}}";

/* ------------------------------------------------------------ shuffle */

static int by_char(const void *a, const void *b)
{
    return *(const char *)a - *(const char *)b;
}

static void test_shuffle_is_a_permutation_fixed_by_the_case(void **state)
{
    (void)state;
    const char *ten = "{\"l\": [0,1,2,3,4,5,6,7,8,9]}";
    char *first = render("{{#each l | shuffle}}{{.}}{{/each}}", ten, "q7");
    assert_int_equal(strlen(first), 10);
    char sorted[11];
    memcpy(sorted, first, sizeof sorted);
    qsort(sorted, 10, 1, by_char);
    assert_string_equal(sorted, "0123456789");
    /* Every rendering of the case draws the same order... */
    renders("{{#each l | shuffle}}{{.}}{{/each}}", ten, "q7", first);
    renders("{{l | shuffle | join(\"\")}}", ten, "q7", first);
    /* ...and other cases draw others. */
    int differ = 0;
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "q%d", 100 + i);
        char *other = render("{{l | shuffle | join(\"\")}}", ten, id);
        differ += strcmp(other, first) != 0;
        free(other);
    }
    assert_true(differ >= 19);
    free(first);
}

/* Over many cases, the first option lands in each place about as often. */
static void test_shuffle_spreads_the_first_option(void **state)
{
    (void)state;
    int at[4] = {0};
    for (int i = 0; i < 4000; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i + 1);
        char *got = render("{{opts | shuffle | join(\"\")}}", options, id);
        const char *a = strchr(got, 'a');
        assert_non_null(a);
        at[a - got]++;
        free(got);
    }
    for (int k = 0; k < 4; k++)
        if (at[k] < 850 || at[k] > 1150)
            fail_msg("the first option came %d times of 4000 at place %d",
                     at[k], k);
}

static void test_shuffle_keeps_short_lists_and_the_case(void **state)
{
    (void)state;
    renders("{{l | shuffle}}", "{\"l\": []}", "c1", "[]");
    renders("{{l | shuffle}}", "{\"l\": [\"x\"]}", "c1", "[\"x\"]");
    renders("{{#each l | shuffle}}x{{else}}none{{/each}}", "{\"l\": []}", "c1",
            "none");
    /* The list printed as JSON, its items untouched. */
    char *got = render("{{l | shuffle}}", "{\"l\": [{\"k\": [1]}, 2.5]}", "c1");
    assert_true(!strcmp(got, "[{\"k\":[1]},2.5]") ||
                !strcmp(got, "[2.5,{\"k\":[1]}]"));
    free(got);
    /* The case itself keeps its order. */
    renders("{{#each l | shuffle}}{{/each}}{{l}}", "{\"l\": [1,2,3,4,5]}", "c1",
            "[1,2,3,4,5]");
    /* Without a case id there is still one order. */
    char *none = render("{{opts | shuffle}}", options, NULL);
    renders("{{opts | shuffle}}", options, NULL, none);
    free(none);
}

/* The correct option's letter and the option texts, in the prompt's
   order: what a multiple-choice check is given. */
static void test_shuffled_object_letter_and_keys_agree(void **state)
{
    (void)state;
    for (int i = 1; i <= 12; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i);
        char *prompt = render("{{#each mc | shuffle}}{{@index | letter}}. "
                              "{{@key}}\n{{/each}}",
                              options, id);
        char *letter = render("{{#each mc | shuffle}}{{#if this == 1}}"
                              "{{@index | letter}}{{/if}}{{/each}}",
                              options, id);
        char *names = render("{{mc | shuffle | keys}}", options, id);
        char line[32];
        snprintf(line, sizeof line, "%s. right\n", letter);
        assert_non_null(strstr(prompt, line));
        cJSON *list = cJSON_Parse(names);
        assert_true(cJSON_IsArray(list));
        assert_int_equal(cJSON_GetArraySize(list), 3);
        const cJSON *at = cJSON_GetArrayItem(list, letter[0] - 'A');
        assert_string_equal(at->valuestring, "right");
        cJSON_Delete(list);
        free(prompt);
        free(letter);
        free(names);
    }
}

static void test_filters_over_filtered_lists(void **state)
{
    (void)state;
    /* keys, then shuffle: the same order as shuffle, then keys. */
    char *a = render("{{mc | keys | shuffle}}", options, "9");
    char *b = render("{{mc | shuffle | keys}}", options, "9");
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* Shuffling twice is one more draw over the list it made. */
    char *twice =
        render("{{opts | shuffle | shuffle | join(\"\")}}", options, "9");
    assert_int_equal(strlen(twice), 4);
    free(twice);
    renders("{{mc | keys | json}}", options, "c1",
            "[\"right\",\"wrong one\",\"wrong two\"]");
    renders("{{#each mc | keys}}{{.}};{{/each}}", options, "c1",
            "right;wrong one;wrong two;");
    renders("{{mc | keys | join(\", \") | upper}}", options, "c1",
            "RIGHT, WRONG ONE, WRONG TWO");
}

/* ------------------------------------------------------------ letter */

static void test_letter(void **state)
{
    (void)state;
    renders("{{#each opts}}{{@index | letter}}{{/each}}", options, "c1",
            "ABCD");
    renders("{{n | letter}}", "{\"n\": 25}", "c1", "Z");
    renders("{{n | letter | lower}}", "{\"n\": 2}", "c1", "c");
    render_fails("{{n | letter}}", "{\"n\": 26}",
                 "filter 'letter' needs a whole number from 0 to 25, and "
                 "'n' is a number");
    render_fails("{{n | letter}}", "{\"n\": 1.5}", "needs a whole number");
    render_fails("{{n | letter}}", "{\"n\": \"1\"}", "'n' is a string");
    render_fails("{{n | trim | letter}}", "{\"n\": 1}", "text by then");
}

/* ------------------------------------------------------------ errors */

static void test_errors(void **state)
{
    (void)state;
    render_fails("{{s | shuffle}}", "{\"s\": \"abc\"}",
                 "filter 'shuffle' needs a list or an object, and 's' is a "
                 "string");
    render_fails("{{opts | join(\",\") | shuffle}}", options, "text by then");
    render_fails("{{opts | keys}}", options,
                 "filter 'keys' needs an object, and 'opts' is a list");
    render_fails("{{missing | shuffle}}", options,
                 "variable 'missing' is not defined");
    render_fails("x{{#each opts | join(\",\")}}{{.}}{{/each}}", options,
                 "'{{#each opts}}' needs a list or an object, and 'opts' is "
                 "text after its filters");
    render_fails("{{#each missing | shuffle}}{{.}}{{/each}}", options,
                 "variable 'missing' is not defined");
    compile_fails("{{#each opts shuffle}}{{/each}}",
                  "'{{#each}}' takes one name, maybe with filters");
    compile_fails("{{#each opts | shufle}}{{/each}}",
                  "unknown filter 'shufle' (the filters are upper, lower, "
                  "trim, json, join(\", \"), default(\"...\"), shuffle, keys "
                  "and letter)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shuffle_is_a_permutation_fixed_by_the_case),
        cmocka_unit_test(test_shuffle_spreads_the_first_option),
        cmocka_unit_test(test_shuffle_keeps_short_lists_and_the_case),
        cmocka_unit_test(test_shuffled_object_letter_and_keys_agree),
        cmocka_unit_test(test_filters_over_filtered_lists),
        cmocka_unit_test(test_letter),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
