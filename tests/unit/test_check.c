/*
 * test_check.c - check specs as a suite writes them, each family's verdicts
 * and reasons, negation, templated values, and the errors a suite author
 * sees (with file:line:col).
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/*
 * Compiles the first entry of `checks:` in a YAML text named suite.yaml.
 * Returns the status; on success *c is the check and *doc the document.
 */
static assay_status compile(const char *yaml, assay__doc **doc,
                            assay__check **c, assay_error *err)
{
    *c = NULL;
    assay_status st =
        assay__doc_parse("suite.yaml", yaml, strlen(yaml), doc, err);
    if (st != ASSAY_OK)
        fail_msg("the test's YAML does not parse: %s", err->message);
    const cJSON *list =
        cJSON_GetObjectItemCaseSensitive(assay__doc_root(*doc), "checks");
    assert_non_null(list);
    return assay__check_compile(*doc, cJSON_GetArrayItem(list, 0), c, err);
}

/* The error a spec gives, which must be ASSAY_ERR_CHECK with `message`. */
static void expect_compile_error(const char *yaml, assay_status want,
                                 const char *message)
{
    assay__doc *doc;
    assay__check *c;
    assay_error err;
    assay_error_clear(&err);
    assay_status st = compile(yaml, &doc, &c, &err);
    if (st != want)
        fail_msg("got status %s (%s), want %s", assay_status_name(st),
                 err.message, assay_status_name(want));
    assert_null(c);
    assert_int_equal(err.status, want);
    assert_string_equal(err.message, message);
    assay__doc_free(doc);
}

typedef struct fixture {
    assay__doc *doc;
    assay__check *check;
    cJSON *vars;
    assay__verdict verdict;
    assay_error err;
} fixture;

/* A check from YAML, ready to run; vars from JSON text (may be NULL). */
static void setup(fixture *f, const char *yaml, const char *vars)
{
    memset(f, 0, sizeof *f);
    assay_status st = compile(yaml, &f->doc, &f->check, &f->err);
    if (st != ASSAY_OK)
        fail_msg("compile: %s: %s", assay_status_name(st), f->err.message);
    f->vars = vars ? cJSON_Parse(vars) : NULL;
    if (vars)
        assert_non_null(f->vars);
    assay__verdict_init(&f->verdict);
}

static void teardown(fixture *f)
{
    assay__verdict_release(&f->verdict);
    cJSON_Delete(f->vars);
    assay__check_free(f->check);
    assay__doc_free(f->doc);
}

static assay_status run_len(fixture *f, const char *output, size_t len)
{
    assay_error_clear(&f->err);
    return assay__check_run(f->check, output, len, f->vars, "q1", NULL,
                            &f->verdict, &f->err);
}

/* Runs on `output` and compares pass, score and reason. */
static void expect(fixture *f, const char *output, bool pass,
                   const char *reason)
{
    assay_status st = run_len(f, output, strlen(output));
    if (st != ASSAY_OK)
        fail_msg("run on '%s': %s: %s", output, assay_status_name(st),
                 f->err.message);
    if (f->verdict.pass != pass)
        fail_msg("on '%s': pass is %d, want %d (reason: %s)", output,
                 f->verdict.pass, pass, f->verdict.reason.data);
    assert_true(f->verdict.score == (pass ? 1.0 : 0.0));
    if (reason)
        assert_string_equal(f->verdict.reason.data, reason);
}

/* Runs a one-check suite on `output` for a verdict only. */
static void check_one(const char *yaml, const char *vars, const char *output,
                      bool pass, const char *reason)
{
    fixture f;
    setup(&f, yaml, vars);
    expect(&f, output, pass, reason);
    teardown(&f);
}

/* ------------------------------------------------------------ families */

static void test_equals(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - equals: Paris\n", NULL);
    expect(&f, "Paris", true, "expected to be exactly 'Paris'; found 'Paris'");
    expect(&f, "Paris.", false,
           "expected to be exactly 'Paris'; found 'Paris.' (differing from "
           "byte 5)");
    /* exactness is the contract: no trimming, no case folding */
    expect(&f, " Paris", false, NULL);
    expect(&f, "Paris\n", false,
           "expected to be exactly 'Paris'; found 'Paris\\n' (differing from "
           "byte 5)");
    expect(&f, "paris", false, NULL);
    expect(&f, "", false, NULL);
    assert_string_equal(assay__check_type(f.check), "equals");
    teardown(&f);

    check_one("checks:\n  - equals: ''\n", NULL, "", true, NULL);
}

static void test_equals_embedded_nul(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - equals: a\n", NULL);
    assert_int_equal(run_len(&f, "a\0b", 3), ASSAY_OK);
    assert_false(f.verdict.pass);
    assert_string_equal(f.verdict.reason.data,
                        "expected to be exactly 'a'; found 'a\\x00b' "
                        "(differing from byte 1)");
    teardown(&f);
}

static void test_contains(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - contains: Paris\n", NULL);
    expect(&f, "The capital is Paris.", true,
           "expected to contain 'Paris'; found 'Paris' at offset 15");
    expect(&f, "The capital is Lyon.", false,
           "expected to contain 'Paris'; found 'The capital is Lyon.'");
    expect(&f, "the capital is paris", false, NULL);
    expect(&f, "Pari", false, NULL);
    expect(&f, "PaParis", true, NULL); /* a restart inside a partial match */
    teardown(&f);

    /* a periodic needle, where a naive restart would go wrong */
    check_one("checks:\n  - contains: abab\n", NULL, "abaabab", true,
              "expected to contain 'abab'; found 'abab' at offset 3");
    check_one("checks:\n  - contains: ''\n", NULL, "anything", true, NULL);
}

static void test_icontains_ascii(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - icontains: paris\n", NULL);
    expect(&f, "The capital is PARIS.", true,
           "expected to contain (case-insensitive) 'paris'; found 'PARIS' at "
           "offset 15");
    expect(
        &f, "The capital is Lyon.", false,
        "expected to contain (case-insensitive) 'paris'; found 'The capital is "
        "Lyon.'");
    expect(&f, "pArIs", true, NULL);
    /* an answer with non-ASCII text goes through PCRE2: same verdict */
    expect(&f, "La capitale est PARIS, évidemment.", true,
           "expected to contain (case-insensitive) 'paris'; found 'PARIS' at "
           "offset 16");
    teardown(&f);
}

static void test_icontains_unicode(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - icontains: \"élan ΣΟΦΊΑ\"\n", NULL);
    expect(&f, "avec ÉLAN σοφία!", true,
           "expected to contain (case-insensitive) '\xc3\xa9lan "
           "\xce\xa3\xce\x9f\xce\xa6\xce\x8a\xce\x91'; found '\xc3\x89LAN "
           "\xcf\x83\xce\xbf\xcf\x86\xce\xaf\xce\xb1' at offset 5");
    expect(&f, "elan sofia", false, NULL); /* no accent stripping */
    teardown(&f);

    /* simple folding only: final sigma is a case variant of sigma */
    check_one("checks:\n  - icontains: \"ΣΟΦΟΣ\"\n", NULL, "σοφος", true, NULL);
    check_one("checks:\n  - icontains: \"ΣΟΦΟΣ\"\n", NULL, "σοφοσ", true, NULL);
    /* the Kelvin sign (U+212A) folds to k */
    check_one("checks:\n  - icontains: kelvin\n", NULL,
              "\xe2\x84\xaa"
              "elvin",
              true, NULL);
    /* full folding (ß = ss) is not done: documented */
    check_one("checks:\n  - icontains: STRASSE\n", NULL, "straße", false, NULL);
    /* invalid UTF-8 in the answer is no error */
    check_one("checks:\n  - icontains: \"ÉTÉ\"\n", NULL, "\xff\xfe l'été \xc3",
              true, NULL);
    /* templated: compiled per rendering */
    check_one("checks:\n  - icontains: \"{{city}}\"\n",
              "{\"city\": \"Zürich\"}", "ZÜRICH!", true,
              "expected to contain (case-insensitive) 'Z\xc3\xbcrich'; found "
              "'Z\xc3\x9cRICH' at offset 0");
    /* a value that is not UTF-8 falls back to the ASCII fold */
    check_one("checks:\n  - icontains: \"{{v}}\"\n", "{\"v\": \"AB\xff\"}",
              "xab\xff", true, NULL);
}

static void test_starts_ends_with(void **state)
{
    (void)state;
    check_one("checks:\n  - starts-with: The\n", NULL, "The end", true,
              "expected to start with 'The'; found 'The end'");
    check_one("checks:\n  - starts-with: The\n", NULL, " The end", false,
              "expected to start with 'The'; found ' The end'");
    check_one("checks:\n  - starts-with: The\n", NULL, "Th", false, NULL);
    check_one("checks:\n  - ends-with: .\n", NULL, "Done.", true,
              "expected to end with '.'; found 'Done.'");
    check_one("checks:\n  - ends-with: .\n", NULL, "Done", false, NULL);
    check_one("checks:\n  - ends-with: abc\n", NULL, "bc", false, NULL);

    /* a long answer: ends-with shows its end, on a character boundary */
    char out[200];
    memset(out, 'x', sizeof out);
    memcpy(out + 118, "\xc3\xa9", 2); /* 'é' straddles the 80-byte cut */
    memcpy(out + sizeof out - 5, "END!", 4);
    out[sizeof out - 1] = '\0';
    fixture f;
    setup(&f, "checks:\n  - ends-with: END\n", NULL);
    assert_int_equal(run_len(&f, out, strlen(out)), ASSAY_OK);
    assert_false(f.verdict.pass);
    const char *found = strstr(f.verdict.reason.data, "; found ...'");
    assert_non_null(found);
    assert_non_null(strstr(found, "END!'"));
    assert_null(strstr(found, "\\xA9")); /* no half of 'é' */
    teardown(&f);
}

static void test_regex(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - regex: '\\d+'\n", NULL);
    expect(&f, "abc 42 x", true,
           "expected to match /\\d+/; found '42' at offset 4");
    expect(&f, "no digits", false,
           "expected to match /\\d+/; found 'no digits'");
    /* UCP: \d knows other digits (Arabic-Indic four) */
    expect(&f, "\xd9\xa4", true, NULL);
    /* invalid UTF-8 in the answer does not make it an error */
    expect(&f, "\xff\xfe 7 \xc3", true,
           "expected to match /\\d+/; found '7' at offset 3");
    teardown(&f);
}

static void test_regex_flags(void **state)
{
    (void)state;
    const char *text = "The answer:\nPARIS\n";
    check_one("checks:\n  - regex: '^paris$'\n", NULL, text, false, NULL);
    check_one("checks:\n  - {type: regex, value: '^paris$', flags: i}\n", NULL,
              text, false, NULL);
    check_one("checks:\n  - {type: regex, value: '^paris$', flags: mi}\n", NULL,
              text, true,
              "expected to match /^paris$/im; found 'PARIS' at offset 12");
    check_one("checks:\n  - {type: regex, value: 'answer:.PARIS'}\n", NULL,
              text, false, NULL);
    check_one("checks:\n  - {type: regex, value: 'answer:.PARIS', flags: s}\n",
              NULL, text, true, NULL);
    check_one("checks:\n"
              "  - type: regex\n"
              "    value: |\n"
              "      answer: \\s+ # the line break\n"
              "      PARIS\n"
              "    flags: x\n",
              NULL, text, true,
              "expected to match /answer: \\s+ # the line break\\nPARIS\\n/x; "
              "found 'answer:\\nPARIS' at offset 4");
}

static void test_regex_templated(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - regex: '^{{n}}\\b'\n", "{\"n\": 7}");
    expect(&f, "7 apples", true,
           "expected to match /^7\\b/; found '7' at offset 0");
    expect(&f, "70 apples", false, NULL);
    /* more distinct patterns than the cache holds, then an old one again */
    for (int i = 0; i < 40; i++) {
        char vars[32], out[32];
        snprintf(vars, sizeof vars, "{\"n\": %d}", i);
        snprintf(out, sizeof out, "%d apples", i);
        cJSON_Delete(f.vars);
        f.vars = cJSON_Parse(vars);
        expect(&f, out, true, NULL);
        expect(&f, "none", false, NULL);
    }
    cJSON_Delete(f.vars);
    f.vars = cJSON_Parse("{\"n\": 3}");
    expect(&f, "3", true, NULL);

    /* a rendering that is no valid regex fails at run time */
    cJSON_Delete(f.vars);
    f.vars = cJSON_Parse("{\"n\": \"(\"}");
    assert_int_equal(run_len(&f, "x", 1), ASSAY_ERR_CHECK);
    assert_string_equal(f.err.message,
                        "suite.yaml:2:5: check 'regex' on case 'q1': regex "
                        "/^(\\b/: missing closing parenthesis at offset 4");
    assert_int_equal(f.err.line, 2);
    teardown(&f);
}

static void test_regex_bad_pattern(void **state)
{
    (void)state;
    expect_compile_error("checks:\n  - regex: 'a(b'\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:12: invalid regex /a(b/: missing "
                         "closing parenthesis at offset 3");
    expect_compile_error("checks:\n  - {type: regex, value: 'x', flags: ig}\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:2:38: unknown regex flag 'g' (the flags "
                         "are i: ignore case, m: ^ and $ match at lines, s: . "
                         "matches newline, x: extended syntax)");
    expect_compile_error("checks:\n  - {type: regex, value: 'x', flags: 1}\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:2:38: 'flags' must be a string of regex "
                         "flags such as \"i\" or \"ms\"");
    /* \C could split a UTF-8 character: refused */
    assay__doc *doc;
    assay__check *c;
    assay_error err;
    assert_int_equal(compile("checks:\n  - regex: 'a\\C'\n", &doc, &c, &err),
                     ASSAY_ERR_CHECK);
    assay__doc_free(doc);
}

static void test_regex_match_limit(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - regex: '(a+)+$'\n", NULL);
    const char *evil = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
    clock_t t0 = clock();
    assay_status st = run_len(&f, evil, strlen(evil));
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    if (st != ASSAY_ERR_LIMIT)
        fail_msg("got %s (%s), want ASSAY_ERR_LIMIT", assay_status_name(st),
                 f.err.message);
    if (secs > 2.0)
        fail_msg("the match limit took %.2f s to trigger", secs);
    assert_string_equal(f.err.message,
                        "suite.yaml:2:5: check 'regex' on case 'q1': regex "
                        "/(a+)+$/: matching gave up after 1000000 "
                        "backtracking steps (the pattern backtracks too much "
                        "on this output)");
    assert_false(f.verdict.pass);
    /* the same check still works on a benign output */
    expect(&f, "aaa", true, NULL);
    teardown(&f);
}

/* ------------------------------------------------------------ negation */

static void test_not(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - not-contains: Paris\n", NULL);
    assert_string_equal(assay__check_type(f.check), "not-contains");
    expect(&f, "The capital is Lyon.", true,
           "expected not to contain 'Paris'; found 'The capital is Lyon.'");
    expect(&f, "The capital is Paris.", false,
           "expected not to contain 'Paris'; found 'Paris' at offset 15");
    teardown(&f);

    check_one("checks:\n  - {type: not-regex, value: '\\d'}\n", NULL, "42",
              false, "expected not to match /\\d/; found '4' at offset 0");
    check_one("checks:\n  - not-equals: x\n", NULL, "y", true,
              "expected not to be exactly 'x'; found 'y' (differing from "
              "byte 0)");
    check_one("checks:\n  - not-icontains: SORRY\n", NULL, "I'm sorry", false,
              NULL);
    check_one("checks:\n  - not-starts-with: I\n", NULL, "Yes", true, NULL);
    check_one("checks:\n  - not-ends-with: '?'\n", NULL, "Why?", false, NULL);
}

/* ------------------------------------------------------------ templates */

static void test_template_value(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - icontains: \"{{expected}}\"\n",
          "{\"expected\": \"Paris\", \"n\": 3}");
    expect(&f, "It is paris.", true,
           "expected to contain (case-insensitive) 'Paris'; found 'paris' at "
           "offset 6");
    cJSON_Delete(f.vars);
    f.vars = cJSON_Parse("{\"expected\": \"Rome\"}");
    expect(
        &f, "It is paris.", false,
        "expected to contain (case-insensitive) 'Rome'; found 'It is paris.'");
    teardown(&f);

    check_one("checks:\n  - equals: \"{{n}} items\"\n", "{\"n\": 3}", "3 items",
              true, NULL);
    check_one("checks:\n  - {type: contains, value: \"{{a.b}}!\"}\n",
              "{\"a\": {\"b\": \"yes\"}}", "oh yes!", true, NULL);
}

static void test_template_missing_var(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "checks:\n  - icontains: \"{{expected}}\"\n", "{\"other\": 1}");
    assay_status st = run_len(&f, "Paris", 5);
    assert_int_equal(st, ASSAY_ERR_TEMPLATE);
    assert_int_equal(f.err.status, ASSAY_ERR_TEMPLATE);
    /* the check's place, then template.c's words naming case and variable */
    const char *head = "suite.yaml:2:5: check 'icontains': case 'q1': ";
    assert_memory_equal(f.err.message, head, strlen(head));
    assert_non_null(strstr(f.err.message, "variable 'expected'"));
    assert_int_equal(f.err.line, 2);
    assert_int_equal(f.err.column, 5);
    assert_false(f.verdict.pass);
    assert_true(f.verdict.score == 0.0);
    teardown(&f);
}

static void test_template_compile_error(void **state)
{
    (void)state;
    assay__doc *doc;
    assay__check *c;
    assay_error err;
    assay_error_clear(&err);
    assay_status st =
        compile("checks:\n  - contains: \"{{unclosed\"\n", &doc, &c, &err);
    assert_int_equal(st, ASSAY_ERR_TEMPLATE);
    assert_null(c);
    /* the template's place in the file starts the message */
    assert_memory_equal(err.message, "suite.yaml:2:15: ", 17);
    assay__doc_free(doc);
}

/* ------------------------------------------------------------ spec errors */

static void test_unknown_type(void **state)
{
    (void)state;
    expect_compile_error("name: t\nchecks:\n  - icontain: \"{{expected}}\"\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:3:5: unknown check 'icontain' (did you "
                         "mean 'icontains'?)");
    expect_compile_error("checks:\n  - regx: a\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: unknown check 'regx' (did you mean "
                         "'regex'?)");
    expect_compile_error("checks:\n  - not-contain: a\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: unknown check 'not-contain' (did "
                         "you mean 'not-contains'?)");
    expect_compile_error("checks:\n  - startswith: a\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: unknown check 'startswith' (did "
                         "you mean 'starts-with'?)");
    expect_compile_error("checks:\n  - cnotains: a\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: unknown check 'cnotains' (did you "
                         "mean 'contains'?)");
    /* long form: at the type's value */
    expect_compile_error("checks:\n  - type: Equals\n    value: a\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:2:11: unknown check 'Equals' (did you "
                         "mean 'equals'?)");
    /* the list grows with the registry: its start and end are fixed */
    assay__doc *doc;
    assay__check *c;
    assay_error err;
    assert_int_equal(compile("checks:\n  - semantic-match: a\n", &doc, &c,
                             &err),
                     ASSAY_ERR_CHECK);
    const char *start = "suite.yaml:2:5: unknown check 'semantic-match' (the "
                        "checks "
                        "are equals, contains, icontains, starts-with, "
                        "ends-with, regex, contains-all, ";
    const char *end = ", each also with a 'not-' prefix)";
    assert_int_equal(strncmp(err.message, start, strlen(start)), 0);
    assert_string_equal(err.message + strlen(err.message) - strlen(end), end);
    assay__doc_free(doc);
}

static void test_unknown_key(void **state)
{
    (void)state;
    expect_compile_error("checks:\n"
                         "  - type: regex\n"
                         "    value: a\n"
                         "    flag: i\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:4:5: unknown key 'flag' in a 'regex' "
                         "check (did you mean 'flags'?)");
    expect_compile_error("checks:\n"
                         "  - type: contains\n"
                         "    value: a\n"
                         "    flags: i\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:4:5: unknown key 'flags' in a 'contains' "
                         "check (it takes 'type', 'value', 'weight', "
                         "'metric')");
    expect_compile_error("checks:\n"
                         "  - type: regex\n"
                         "    value: a\n"
                         "    wieght: 2\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:4:5: unknown key 'wieght' in a 'regex' "
                         "check (did you mean 'weight'?)");
    expect_compile_error("checks:\n"
                         "  - type: regex\n"
                         "    value: a\n"
                         "    colour: 2\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:4:5: unknown key 'colour' in a 'regex' "
                         "check (it takes 'type', 'value', 'weight', "
                         "'metric', 'flags')");
}

static void test_bad_shapes(void **state)
{
    (void)state;
    expect_compile_error("checks:\n  - equals: 42\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:13: check 'equals' expects a string, "
                         "found a number (put it in quotes to compare text)");
    expect_compile_error("checks:\n  - contains: [a, b]\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:15: check 'contains' expects a "
                         "string, found a list");
    expect_compile_error("checks:\n  - contains:\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:14: check 'contains' expects a "
                         "string, found nothing");
    expect_compile_error("checks:\n  - {type: regex}\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'regex' needs a 'value'");
    expect_compile_error("checks:\n  - {type: 3, value: a}\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:12: 'type' must name a check, as in "
                         "{type: contains, value: \"Paris\"}; found a number");
    expect_compile_error("checks:\n  - {contains: a, icontains: b}\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: a check has one key, its type, as "
                         "in {contains: \"Paris\"}, or a 'type' key; found 2 "
                         "keys");
    expect_compile_error("checks:\n  - contains\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: check 'contains' needs a value, as "
                         "in {contains: \"Paris\"}");
    expect_compile_error("checks:\n  - 42\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:5: a check is a mapping such as "
                         "{contains: \"Paris\"} or {type: regex, value: "
                         "\"\\\\d+\"}; found a number");
}

/* ------------------------------------------------------------ reasons */

static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80         ? 1
                : (*p >> 5) == 6  ? 2
                : (*p >> 4) == 14 ? 3
                : (*p >> 3) == 30 ? 4
                                  : 0;
        if (!n)
            return false;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

static void test_reason_truncation(void **state)
{
    (void)state;
    /* 79 ASCII bytes, then 'é' across the 80-byte limit */
    char out[160];
    memset(out, 'a', 79);
    strcpy(out + 79, "\xc3\xa9 and more text after it");
    fixture f;
    setup(&f, "checks:\n  - contains: Paris\n", NULL);
    assert_int_equal(run_len(&f, out, strlen(out)), ASSAY_OK);
    const char *r = f.verdict.reason.data;
    assert_true(valid_utf8(r));
    size_t n = strlen(r);
    assert_true(n > 6);
    assert_string_equal(r + n - 6, "aa'..."); /* cut before the 'é' */
    teardown(&f);

    /* a long value is cut too, in the "expected" half */
    char yaml[400] = "checks:\n  - contains: \"";
    for (int i = 0; i < 60; i++)
        strcat(yaml, "\xce\xb1"); /* 120 bytes of alpha */
    strcat(yaml, "\"\n");
    setup(&f, yaml, NULL);
    assert_int_equal(run_len(&f, "x", 1), ASSAY_OK);
    assert_true(valid_utf8(f.verdict.reason.data));
    assert_non_null(strstr(f.verdict.reason.data, "\xce\xb1'...; found 'x'"));
    teardown(&f);
}

static void test_null_output_and_free(void **state)
{
    (void)state;
    check_one("checks:\n  - equals: ''\n", NULL, "", true, NULL);
    fixture f;
    setup(&f, "checks:\n  - regex: '^$'\n", NULL);
    assert_int_equal(run_len(&f, NULL, 0), ASSAY_OK);
    assert_true(f.verdict.pass);
    teardown(&f);
    assay__check_free(NULL);
}

/* ------------------------------------------------------------ shared keys */

static void test_common_keys(void **state)
{
    (void)state;
    fixture f;
    setup(&f,
          "checks:\n  - {type: contains, value: a, weight: 2.5, "
          "metric: accuracy}\n",
          NULL);
    assert_true(assay__check_weight(f.check) == 2.5);
    assert_string_equal(assay__check_metric(f.check), "accuracy");
    assert_true(isnan(assay__check_threshold(f.check)));
    teardown(&f);

    /* defaults: weight 1, the metric is the type as written */
    setup(&f, "checks:\n  - not-contains: a\n", NULL);
    assert_true(assay__check_weight(f.check) == 1.0);
    assert_string_equal(assay__check_metric(f.check), "not-contains");
    teardown(&f);

    /* scored checks: their default threshold, or the suite's */
    setup(&f, "checks:\n  - rouge-1: a b\n", NULL);
    assert_true(assay__check_threshold(f.check) == 0.75);
    teardown(&f);
    setup(&f,
          "checks:\n  - {type: rouge-1, value: a b c d, threshold: "
          "0.5}\n",
          NULL);
    assert_true(assay__check_threshold(f.check) == 0.5);
    assert_int_equal(run_len(&f, "a b", 3), ASSAY_OK);
    assert_true(f.verdict.pass); /* F 0.667 >= 0.5 */
    assert_true(fabs(f.verdict.score - 2.0 / 3) < 1e-12);
    teardown(&f);
    setup(&f,
          "checks:\n  - {type: not-rouge-1, value: a b c d, threshold: "
          "0.5}\n",
          NULL);
    assert_int_equal(run_len(&f, "a b", 3), ASSAY_OK);
    assert_false(f.verdict.pass);
    assert_true(fabs(f.verdict.score - 1.0 / 3) < 1e-12); /* 1 - score */
    teardown(&f);

    expect_compile_error("checks:\n  - {type: contains, value: a, weight: "
                         "-1}\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:2:40: 'weight' must be a number >= 0 (0 "
                         "makes the check informational)");
    expect_compile_error("checks:\n  - {type: contains, value: a, metric: "
                         "''}\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:2:40: 'metric' must be a name of 1 to "
                         "127 bytes");
    expect_compile_error("checks:\n  - {type: bleu, value: a, threshold: "
                         "5}\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:2:39: 'threshold' must be a score "
                         "between 0 and 1");
    expect_compile_error("checks:\n  - {type: equals, value: a, threshold: "
                         "0.5}\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:2:30: 'equals' passes or fails by its "
                         "value and options and takes no 'threshold' (the "
                         "scored checks are f1, bleu, rouge-1, "
                         "rouge-2, rouge-l, tool-call-f1, perplexity-score, "
                         "llm-rubric, g-eval, answer-relevance, "
                         "context-faithfulness, context-recall, "
                         "context-relevance, similar)");
}

static void test_bare_names(void **state)
{
    (void)state;
    /* a check without a value: its name, `name:` or {name: true} */
    check_one("checks:\n  - is-xml\n", NULL, "<a/>", true, NULL);
    check_one("checks:\n  - not-is-xml:\n", NULL, "<a>", true, NULL);
    check_one("checks:\n  - {is-xml: true}\n", NULL, "<a/>", true, NULL);
    check_one("checks:\n  - {type: is-xml, weight: 0}\n", NULL, "<a/>", true,
              NULL);
    expect_compile_error("checks:\n  - {type: is-xml, value: x}\n",
                         ASSAY_ERR_CHECK,
                         "suite.yaml:2:27: check 'is-xml' takes no value; "
                         "write it as `- is-xml`");
    expect_compile_error("checks:\n  - {is-xml: false}\n", ASSAY_ERR_CHECK,
                         "suite.yaml:2:6: check 'is-xml' takes no value; "
                         "write it as `- is-xml`");
}

/* A suite's checks and their outcomes, for assay__verdict_combine. */
static void combine(const char *yaml, const bool *pass, const double *score,
                    size_t n, double threshold, bool want_pass,
                    double want_score)
{
    assay__doc *doc;
    assay_error err;
    assert_int_equal(
        assay__doc_parse("suite.yaml", yaml, strlen(yaml), &doc, &err),
        ASSAY_OK);
    const cJSON *list =
        cJSON_GetObjectItemCaseSensitive(assay__doc_root(doc), "checks");
    assay__check *checks[8];
    assay__check_outcome outcomes[8];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(assay__check_compile(doc,
                                              cJSON_GetArrayItem(list, (int)i),
                                              &checks[i], &err),
                         ASSAY_OK);
        outcomes[i] = (assay__check_outcome){
            .type = "t",
            .weight = assay__check_weight(checks[i]),
            .pass = pass[i],
            .score = score[i],
            .reason = ""};
    }
    double got;
    bool verdict = assay__verdict_combine(outcomes, n, threshold, &got);
    if (verdict != want_pass || fabs(got - want_score) > 1e-12)
        fail_msg("verdict %d score %.6f, want %d %.6f", verdict, got, want_pass,
                 want_score);
    for (size_t i = 0; i < n; i++)
        assay__check_free(checks[i]);
    assay__doc_free(doc);
}

static void test_verdict_combine(void **state)
{
    (void)state;
    const char *suite = "checks:\n"
                        "  - contains: a\n"
                        "  - {type: rouge-l, value: b, weight: 3}\n"
                        "  - {type: is-refusal, weight: 0}\n";
    bool all[3] = {true, true, false};
    double scores[3] = {1.0, 0.8, 0.0};
    /* every counted check passes; the weight-0 one never counts */
    combine(suite, all, scores, 3, NAN, true, (1.0 + 3 * 0.8) / 4);
    bool one_fails[3] = {false, true, true};
    double s2[3] = {0.0, 0.9, 1.0};
    combine(suite, one_fails, s2, 3, NAN, false, 2.7 / 4);
    /* with a case threshold the weighted score decides */
    combine(suite, one_fails, s2, 3, 0.6, true, 2.7 / 4);
    combine(suite, one_fails, s2, 3, 0.7, false, 2.7 / 4);
    /* no check, or none that counts: nothing was asked, the case passes */
    combine(suite, NULL, NULL, 0, NAN, true, 1.0);
    combine("checks:\n  - {type: contains, value: a, weight: 0}\n",
            (bool[]){false}, (double[]){0.0}, 1, NAN, true, 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_keys),
        cmocka_unit_test(test_bare_names),
        cmocka_unit_test(test_verdict_combine),
        cmocka_unit_test(test_equals),
        cmocka_unit_test(test_equals_embedded_nul),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_icontains_ascii),
        cmocka_unit_test(test_icontains_unicode),
        cmocka_unit_test(test_starts_ends_with),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_regex_flags),
        cmocka_unit_test(test_regex_templated),
        cmocka_unit_test(test_regex_bad_pattern),
        cmocka_unit_test(test_regex_match_limit),
        cmocka_unit_test(test_not),
        cmocka_unit_test(test_template_value),
        cmocka_unit_test(test_template_missing_var),
        cmocka_unit_test(test_template_compile_error),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_reason_truncation),
        cmocka_unit_test(test_null_output_and_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
