/*
 * test_csv.c - the RFC 4180 reader: quoting, line breaks of every kind, the
 * byte order mark, blank lines, input split at every byte, errors with
 * their line and column and the recovery after them, and the real
 * TruthfulQA file.
 */
#include "internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef SHARED_DIR
#define SHARED_DIR "../shared"
#endif

/* Every record of `text`, fed in pieces of `step` bytes, as "a|b;c|d;". */
static char *records_of(const char *text, size_t step)
{
    assay__csv *r;
    assert_int_equal(assay__csv_new("t.csv", &r, NULL), ASSAY_OK);
    assay__buf all;
    assay__buf_init(&all, 0);
    size_t len = strlen(text), fed = 0;
    for (;;) {
        assay__csv_result res;
        assay_error err;
        assay_status st = assay__csv_next(r, &res, &err);
        if (st != ASSAY_OK) {
            assay__buf_printf(&all, "ERR(%s);", err.message);
            continue;
        }
        if (res == ASSAY__CSV_END)
            break;
        if (res == ASSAY__CSV_MORE) {
            size_t n = len - fed < step ? len - fed : step;
            if (n == 0)
                assay__csv_finish(r);
            else
                assert_int_equal(assay__csv_feed(r, text + fed, n, NULL),
                                 ASSAY_OK);
            fed += n;
            continue;
        }
        assay__buf_printf(&all, "@%ld:", assay__csv_line(r));
        for (size_t i = 0; i < assay__csv_field_count(r); i++)
            assay__buf_printf(&all, "%s%s", i ? "|" : "",
                              assay__csv_field(r, i, NULL));
        assay__buf_putc(&all, ';');
    }
    assay__csv_free(r);
    return assay__buf_detach(&all, NULL);
}

/* The same records whatever the pieces the text comes in. */
static void reads(const char *text, const char *want)
{
    size_t steps[] = {1, 2, 3, 7, 4096};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        char *got = records_of(text, steps[i]);
        if (strcmp(got, want))
            fail_msg("step %zu:\n  want %s\n  got  %s", steps[i], want, got);
        free(got);
    }
}

static void test_plain(void **state)
{
    (void)state;
    reads("a,b,c\n1,2,3\n", "@1:a|b|c;@2:1|2|3;");
    reads("a,b\n1,2", "@1:a|b;@2:1|2;");           /* no final newline */
    reads("a,b\r\n1,2\r\n", "@1:a|b;@2:1|2;");     /* CRLF */
    reads("a,b\r1,2\r", "@1:a|b;@2:1|2;");         /* lone CR */
    reads("a,,\n,,\n", "@1:a||;@2:||;");           /* empty fields */
    reads("a\n\n\nb\n", "@1:a;@4:b;");             /* blank lines */
    reads("", "");
}

static void test_quoted(void **state)
{
    (void)state;
    reads("\"a,b\",c\n", "@1:a,b|c;");
    reads("\"say \"\"hi\"\"\",x\n", "@1:say \"hi\"|x;");
    reads("\"line 1\nline 2\",x\ny,z\n", "@1:line 1\nline 2|x;@3:y|z;");
    reads("\"crlf\r\ninside\",x\r\n", "@1:crlf\r\ninside|x;");
    reads("\"\",\"\"\n", "@1:|;");
    reads("\"\"\n", "@1:;"); /* a quoted empty field is a record */
    reads("5\" disk,x\n", "@1:5\" disk|x;");
    reads("{\"\"tone\"\":1}\n", "@1:{\"\"tone\"\":1};");
}

static void test_bom(void **state)
{
    (void)state;
    reads("\xEF\xBB\xBFType,Q\nA,B\n", "@1:Type|Q;@2:A|B;");
    reads("\xEF\xBB", "@1:\xEF\xBB;"); /* too short to be one */
}

static void test_errors_and_recovery(void **state)
{
    (void)state;
    reads("a,b\n\"x\"y,z\nc,d\n",
          "@1:a|b;ERR(t.csv:2:4: text after the closing quote of a field (a "
          "quote inside a quoted field is written \"\"));@3:c|d;");
    reads("a\n\"open\nstill\n",
          "@1:a;ERR(t.csv:2: a quoted field opened on this line is never "
          "closed);");
}

/* The real TruthfulQA CSV: UTF-8 with a BOM, 817 rows of 7 columns. */
static void test_truthfulqa(void **state)
{
    (void)state;
    FILE *f = fopen(SHARED_DIR "/data/truthfulqa/TruthfulQA.csv", "rb");
    assert_non_null(f);
    assay__csv *r;
    assert_int_equal(assay__csv_new("TruthfulQA.csv", &r, NULL), ASSAY_OK);
    char block[8192];
    long records = 0;
    for (;;) {
        assay__csv_result res;
        assay_error err;
        assay_status st = assay__csv_next(r, &res, &err);
        if (st != ASSAY_OK)
            fail_msg("%s", err.message);
        if (res == ASSAY__CSV_END)
            break;
        if (res == ASSAY__CSV_MORE) {
            size_t n = fread(block, 1, sizeof block, f);
            if (n == 0)
                assay__csv_finish(r);
            else
                assay__csv_feed(r, block, n, NULL);
            continue;
        }
        assert_int_equal(assay__csv_field_count(r), 7);
        if (records == 0)
            assert_string_equal(assay__csv_field(r, 0, NULL), "Type");
        if (records == 1)
            assert_string_equal(assay__csv_field(r, 2, NULL),
                                "What happens to you if you eat watermelon "
                                "seeds?");
        records++;
    }
    assert_int_equal(records, 818); /* the header and 817 questions */
    fclose(f);
    assay__csv_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_quoted),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_errors_and_recovery),
        cmocka_unit_test(test_truthfulqa),
    };
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
