/*
 * test_choice_logprob.c - the option letter read from a one-token
 * answer's top_logprobs.
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static assay__check *compile(const char *yaml, assay__doc **doc)
{
    assay_error err;
    assert_int_equal(assay__doc_parse("s.yaml", yaml, strlen(yaml), doc, &err),
                     ASSAY_OK);
    assay__check *c;
    if (assay__check_compile(*doc,
                             cJSON_GetArrayItem(cJSON_GetObjectItem(
                                                    assay__doc_root(*doc),
                                                    "checks"),
                                                0),
                             &c, &err) != ASSAY_OK)
        fail_msg("%s", err.message);
    return c;
}

/* Runs the check on a reply whose first token had these alternatives. */
static assay_status judge(const char *yaml, const char *top, const char *want,
                          assay__verdict *v, assay_error *err)
{
    assay__doc *doc;
    assay__check *c = compile(yaml, &doc);
    assay__response r;
    assay__response_init(&r);
    char items[1024];
    snprintf(items, sizeof items,
             "[{\"token\": \"x\", \"logprob\": -1, \"top_logprobs\": %s}]",
             top);
    r.logprobs = top ? cJSON_Parse(items) : NULL;
    cJSON *vars = cJSON_CreateObject();
    cJSON_AddStringToObject(vars, "answer", want);
    assay__check_context ctx = {.response = &r};
    assay_status st = assay__check_run(c, "x", 1, vars, "q1", &ctx, v, err);
    cJSON_Delete(vars);
    assay__response_release(&r);
    assay__check_free(c);
    assay__doc_free(doc);
    return st;
}

static const char *suite = "checks:\n  - choice-logprob: \"{{answer}}\"\n";

static void test_most_probable_letter(void **state)
{
    (void)state;
    assay__verdict v;
    assay__verdict_init(&v);
    assay_error err;
    const char *top = "[{\"token\": \" B\", \"logprob\": -0.5},"
                      " {\"token\": \"B\", \"logprob\": -2.0},"
                      " {\"token\": \" A\", \"logprob\": -1.5},"
                      " {\"token\": \" The\", \"logprob\": -0.1}]";
    assert_int_equal(judge(suite, top, "B", &v, &err), ASSAY_OK);
    assert_true(v.pass);
    /* B: e^-0.5 + e^-2, A: e^-1.5; " The" is no option. */
    double b = exp(-0.5) + exp(-2.0), a = exp(-1.5);
    assert_true(fabs(v.score - b / (a + b)) < 1e-12);
    assert_non_null(strstr(v.reason.data, "estimated from the first token"));
    assert_int_equal(judge(suite, top, "(A)", &v, &err), ASSAY_OK);
    assert_false(v.pass);
    assay__verdict_release(&v);
}

static void test_no_letters_or_logprobs(void **state)
{
    (void)state;
    assay__verdict v;
    assay__verdict_init(&v);
    assay_error err;
    assert_int_equal(judge(suite, "[{\"token\": \"Paris\", \"logprob\": -1}]",
                           "A", &v, &err),
                     ASSAY_OK);
    assert_false(v.pass);
    assert_non_null(strstr(v.reason.data, "no option letter"));
    assert_int_equal(judge(suite, NULL, "A", &v, &err), ASSAY_ERR_CHECK);
    assert_non_null(strstr(err.message, "top_logprobs: 20"));
    /* E is not one of four options. */
    assert_int_equal(judge(suite, "[]", "E", &v, &err), ASSAY_ERR_CHECK);
    assay__verdict_release(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_most_probable_letter),
        cmocka_unit_test(test_no_letters_or_logprobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
