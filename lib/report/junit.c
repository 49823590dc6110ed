/*
 * report/junit.c - the results as JUnit XML, the test report that GitHub
 * Actions reporters, GitLab and Jenkins read.
 *
 *   <testsuites name="SUITE" tests failures errors time>
 *     <testsuite name="SUITE / TARGET[ / PROMPT]" tests failures errors
 *                skipped="0" time timestamp?>
 *       <properties> target, prompt, record </properties>
 *       <testcase name="CASE[ (repeat R)]" classname="SUITE.TARGET[.PROMPT]"
 *                 time="SECONDS">
 *         <failure type="CHECK" message="CHECK: REASON">every failed check,
 *           one per line, and the answer</failure>       (a failed result)
 *         <error type="KIND" message="...">...</error>  (a request error)
 *         <system-out>the answer</system-out>      (failures and errors)
 *       </testcase>
 *
 * One test suite per group (target and prompt), one test case per result:
 * per (case, target, prompt), and per repeat when the run repeats cases,
 * each sample then named "CASE (repeat R)". The shape follows the JUnit
 * schema Jenkins' xunit plugin publishes (required: a suite's name, tests,
 * failures and errors; a case's name; time as plain decimal seconds), which
 * GitLab and the GitHub reporters also accept; tests/cli/cases/junit.xsd
 * states it and the tests validate against it.
 *
 * Results arrive in the record in any order across groups, and a suite's
 * counts come before its cases, so each group's test cases are written to
 * a temporary file as the record streams, then copied out after the
 * suite's opening tag: memory stays small whatever the record's size.
 * Every text is escaped (assay__report_put_xml): answers cannot break the
 * XML, and characters XML cannot carry become U+FFFD.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SPILL_BYTES (64 * 1024)
#define MESSAGE_BYTES 1000 /* a failure's message attribute */
#define REASON_BYTES 4000  /* each reason in a failure's text */
#define OUTPUT_BYTES 8000  /* the answer in system-out */

typedef struct junit_group {
    FILE *cases; /* its test cases, until the suite is written */
    assay__buf buf;
    long tests;
    long failures;
    long errors;
    double seconds;
} junit_group;

typedef struct junit_state {
    const assay__report_input *in;
    junit_group *groups;
    size_t n_groups;
    bool repeats; /* name every case with its repeat */
} junit_state;

static assay_status put_attr(assay__buf *b, const char *name, const char *v,
                             size_t max)
{
    assay_status st = assay__buf_printf(b, " %s=\"", name);
    if (st == ASSAY_OK)
        st = assay__report_put_xml(b, v, strlen(v), max, true);
    return st == ASSAY_OK ? assay__buf_putc(b, '"') : st;
}

static assay_status put_text(assay__buf *b, const char *v, size_t max)
{
    return v ? assay__report_put_xml(b, v, strlen(v), max, false) : ASSAY_OK;
}

static assay_status put_seconds(assay__buf *b, double ms)
{
    assay_status st = assay__buf_puts(b, " time=\"");
    if (st == ASSAY_OK)
        st = assay__report_put_fixed(b, isfinite(ms) && ms > 0 ? ms / 1000 : 0,
                                     3);
    return st == ASSAY_OK ? assay__buf_putc(b, '"') : st;
}

/* "SUITE.TARGET" or "SUITE.TARGET.PROMPT": the class of a group's cases. */
static assay_status put_group_name(assay__buf *b, const char *attr,
                                   const char *suite, const char *target,
                                   const char *prompt, const char *sep)
{
    assay__buf name;
    assay__buf_init(&name, 0);
    assay_status st = assay__buf_printf(&name, "%s%s%s", suite, sep, target);
    if (st == ASSAY_OK && strcmp(prompt, ASSAY__DEFAULT_PROMPT))
        st = assay__buf_printf(&name, "%s%s", sep, prompt);
    if (st == ASSAY_OK)
        st = put_attr(b, attr, name.data, name.len);
    assay__buf_release(&name);
    return st;
}

/* ------------------------------------------------------------ cases */

static const char *string_at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *first_failed_check(const cJSON *checks)
{
    const cJSON *c;
    cJSON_ArrayForEach (c, checks)
        if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(c, "pass")))
            return c;
    return NULL;
}

/* "TYPE: REASON" lines for every failed check. */
static assay_status put_failed_checks(assay__buf *b, const cJSON *checks)
{
    assay_status st = ASSAY_OK;
    const cJSON *c;
    cJSON_ArrayForEach (c, checks) {
        if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(c, "pass")))
            continue;
        const char *type = string_at(c, "type");
        st = put_text(b, type ? type : "check", REASON_BYTES);
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, ": ");
        if (st == ASSAY_OK)
            st = put_text(b, string_at(c, "reason"), REASON_BYTES);
        if (st == ASSAY_OK)
            st = assay__buf_putc(b, '\n');
        if (st != ASSAY_OK)
            break;
    }
    return st;
}

static assay_status put_failure(assay__buf *b, const assay__report_row *r)
{
    const cJSON *first = first_failed_check(r->checks);
    const char *type = first ? string_at(first, "type") : NULL;
    const char *reason = first ? string_at(first, "reason") : NULL;
    assay__buf message;
    assay__buf_init(&message, 0);
    assay_status st;
    if (first)
        st = assay__buf_printf(&message, "%s: %s", type ? type : "check",
                               reason ? reason : "");
    else /* every check passed, yet the case's score missed its threshold */
        st = assay__buf_puts(&message, "the case's score is below its "
                                       "threshold");
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "<failure");
    if (st == ASSAY_OK)
        st = put_attr(b, "type", type ? type : "score", MESSAGE_BYTES);
    if (st == ASSAY_OK)
        st = put_attr(b, "message", message.data, MESSAGE_BYTES);
    assay__buf_release(&message);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '>');
    if (st == ASSAY_OK)
        st = put_failed_checks(b, r->checks);
    if (st == ASSAY_OK && isfinite(r->score))
        st = assay__buf_puts(b, "score: ");
    if (st == ASSAY_OK && isfinite(r->score))
        st = assay__report_put_fixed(b, r->score, 3);
    return st == ASSAY_OK ? assay__buf_puts(b, "</failure>") : st;
}

static assay_status put_error(assay__buf *b, const assay__report_row *r)
{
    assay__buf message;
    assay__buf_init(&message, 0);
    assay_status st = assay__buf_puts(&message, r->error_kind);
    if (st == ASSAY_OK && r->error_status)
        st = assay__buf_printf(&message, " %ld", r->error_status);
    if (st == ASSAY_OK && r->error_message)
        st = assay__buf_printf(&message, ": %s", r->error_message);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "<error");
    if (st == ASSAY_OK)
        st = put_attr(b, "type", r->error_kind, MESSAGE_BYTES);
    if (st == ASSAY_OK)
        st = put_attr(b, "message", message.data, MESSAGE_BYTES);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '>');
    if (st == ASSAY_OK)
        st = put_text(b, message.data, REASON_BYTES);
    assay__buf_release(&message);
    return st == ASSAY_OK ? assay__buf_puts(b, "</error>") : st;
}

static assay_status put_case(assay__buf *b, const junit_state *js,
                             const assay__report_row *r)
{
    const char *suite = assay_summary_suite_name(js->in->summary);
    assay__buf name;
    assay__buf_init(&name, 0);
    assay_status st = js->repeats ? assay__buf_printf(&name, "%s (repeat %d)",
                                                      r->case_id, r->repeat)
                                  : assay__buf_puts(&name, r->case_id);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "    <testcase");
    if (st == ASSAY_OK)
        st = put_attr(b, "name", name.data, name.len);
    assay__buf_release(&name);
    if (st == ASSAY_OK)
        st = put_group_name(b, "classname", suite, r->target, r->prompt, ".");
    if (st == ASSAY_OK)
        st = put_seconds(b, r->latency_ms);
    if (st != ASSAY_OK || r->outcome == ASSAY__OUTCOME_PASS)
        return st == ASSAY_OK ? assay__buf_puts(b, "/>\n") : st;
    st = assay__buf_puts(b, ">\n      ");
    if (st == ASSAY_OK)
        st = r->outcome == ASSAY__OUTCOME_ERROR ? put_error(b, r)
                                                : put_failure(b, r);
    if (st == ASSAY_OK && r->output) {
        st = assay__buf_puts(b, "\n      <system-out>");
        if (st == ASSAY_OK)
            st = put_text(b, r->output, OUTPUT_BYTES);
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, "</system-out>");
    }
    return st == ASSAY_OK ? assay__buf_puts(b, "\n    </testcase>\n") : st;
}

static assay_status on_row(void *user, const assay__report_row *row,
                           assay_error *err)
{
    junit_state *js = user;
    long g = assay__report_group(js->in->summary, row);
    if (g < 0 || (size_t)g >= js->n_groups)
        return assay__error(err, ASSAY_ERR_RECORD, js->in->record_path,
                            (int)row->line, 0,
                            "the result's target is not in the header");
    junit_group *grp = &js->groups[g];
    if (!grp->cases && !(grp->cases = tmpfile()))
        return assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                            "cannot create a temporary file for the JUnit "
                            "report: %s",
                            strerror(errno));
    grp->tests++;
    grp->failures += row->outcome == ASSAY__OUTCOME_FAIL;
    grp->errors += row->outcome == ASSAY__OUTCOME_ERROR;
    if (isfinite(row->latency_ms) && row->latency_ms > 0)
        grp->seconds += row->latency_ms / 1000;
    assay_status st = put_case(&grp->buf, js, row);
    if (st != ASSAY_OK)
        return st;
    return assay__report_spill(&grp->buf, grp->cases, SPILL_BYTES, err);
}

/* ------------------------------------------------------------ suites */

static assay_status put_counts(assay__buf *b, long tests, long failures,
                               long errors, double seconds)
{
    assay_status st =
        assay__buf_printf(b, " tests=\"%ld\" failures=\"%ld\" errors=\"%ld\"",
                          tests, failures, errors);
    return st == ASSAY_OK ? put_seconds(b, seconds * 1000) : st;
}

static assay_status put_property(assay__buf *b, const char *name,
                                 const char *value)
{
    assay_status st = assay__buf_puts(b, "      <property");
    if (st == ASSAY_OK)
        st = put_attr(b, "name", name, strlen(name));
    if (st == ASSAY_OK)
        st = put_attr(b, "value", value, strlen(value));
    return st == ASSAY_OK ? assay__buf_puts(b, "/>\n") : st;
}

static assay_status copy_cases(junit_group *grp, FILE *out, assay_error *err)
{
    assay_status st = assay__report_spill(&grp->buf, grp->cases, 0, err);
    if (st != ASSAY_OK)
        return st;
    if (fflush(grp->cases) != 0 || fseek(grp->cases, 0, SEEK_SET) != 0)
        return assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                            "cannot read back the JUnit report's temporary "
                            "file: %s",
                            strerror(errno));
    char chunk[SPILL_BYTES];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, grp->cases)) > 0)
        if (fwrite(chunk, 1, n, out) != n)
            return assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                                "cannot write the report: %s", strerror(errno));
    if (ferror(grp->cases))
        return assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                            "cannot read back the JUnit report's temporary "
                            "file: %s",
                            strerror(errno));
    return ASSAY_OK;
}

static assay_status put_suite(assay__buf *b, const junit_state *js, size_t g,
                              FILE *out, assay_error *err)
{
    const assay_summary *s = js->in->summary;
    junit_group *grp = &js->groups[g];
    const char *target = assay_summary_group_target(s, g);
    const char *prompt = assay_summary_group_prompt(s, g);
    assay_status st = assay__buf_puts(b, "  <testsuite");
    if (st == ASSAY_OK)
        st = put_group_name(b, "name", assay_summary_suite_name(s), target,
                            prompt, " / ");
    if (st == ASSAY_OK)
        st =
            put_counts(b, grp->tests, grp->failures, grp->errors, grp->seconds);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, " skipped=\"0\">\n    <properties>\n");
    if (st == ASSAY_OK)
        st = put_property(b, "target", target);
    if (st == ASSAY_OK)
        st = put_property(b, "prompt", prompt);
    if (st == ASSAY_OK)
        st = put_property(b, "record", js->in->record_path);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "    </properties>\n");
    if (st == ASSAY_OK)
        st = assay__report_spill(b, out, 0, err);
    if (st == ASSAY_OK && grp->cases)
        st = copy_cases(grp, out, err);
    return st == ASSAY_OK ? assay__buf_puts(b, "  </testsuite>\n") : st;
}

static assay_status put_document(assay__buf *b, const junit_state *js,
                                 FILE *out, assay_error *err)
{
    long tests = 0, failures = 0, errors = 0;
    double seconds = 0;
    for (size_t g = 0; g < js->n_groups; g++) {
        tests += js->groups[g].tests;
        failures += js->groups[g].failures;
        errors += js->groups[g].errors;
        seconds += js->groups[g].seconds;
    }
    assay_status st =
        assay__buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<testsuites");
    if (st == ASSAY_OK)
        st = put_attr(b, "name", assay_summary_suite_name(js->in->summary),
                      MESSAGE_BYTES);
    if (st == ASSAY_OK)
        st = put_counts(b, tests, failures, errors, seconds);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, ">\n");
    /* Groups without results (a target that never answered) are left
       out: a suite of no tests tells a CI page nothing. */
    for (size_t g = 0; st == ASSAY_OK && g < js->n_groups; g++)
        if (js->groups[g].tests)
            st = put_suite(b, js, g, out, err);
    return st == ASSAY_OK ? assay__buf_puts(b, "</testsuites>\n") : st;
}

static bool has_repeats(const assay_summary *s)
{
    for (size_t g = 0; g < assay_summary_group_count(s); g++)
        if (!isnan(assay_summary_stat(s, g, ASSAY_STAT_SAMPLES_PER_CASE)))
            return true;
    return false;
}

assay_status assay__report_junit(const assay__report_input *in, FILE *out,
                                 assay_error *err)
{
    assay__buf b;
    assay__buf_init(&b, 0);
    if (!in->summary || !in->record_path)
        return assay__report_finish(
            &b, out,
            assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                         "the JUnit report has one test case per result: "
                         "it needs the run record (assay_report_write)"),
            "JUnit", err);
    junit_state js = {.in = in,
                      .n_groups = assay_summary_group_count(in->summary),
                      .repeats = has_repeats(in->summary)};
    js.groups = calloc(js.n_groups ? js.n_groups : 1, sizeof *js.groups);
    assay_status st = js.groups ? ASSAY_OK : ASSAY_ERR_NOMEM;
    for (size_t g = 0; st == ASSAY_OK && g < js.n_groups; g++)
        assay__buf_init(&js.groups[g].buf, 0);
    if (st == ASSAY_OK)
        st = assay__report_rows(in->record_path, on_row, &js, err);
    if (st == ASSAY_OK)
        st = put_document(&b, &js, out, err);
    for (size_t g = 0; js.groups && g < js.n_groups; g++) {
        if (js.groups[g].cases)
            fclose(js.groups[g].cases);
        assay__buf_release(&js.groups[g].buf);
    }
    free(js.groups);
    return assay__report_finish(&b, out, st, "JUnit", err);
}
