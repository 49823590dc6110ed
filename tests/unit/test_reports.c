/*
 * test_reports.c - every report format on a small record written here,
 * whose names, answers, reasons and errors carry what breaks formats:
 * <script>, quotes, ampersands, pipes, commas, line breaks, a control
 * character, a byte that is not UTF-8 and a spreadsheet formula.
 *
 * Each format is read back by a parser of its own kind: JSON by cJSON and
 * the documented schema (docs/report-schema.json, through the project's
 * validator), JUnit by expat with the constraints of the JUnit schema
 * Jenkins, GitLab and the GitHub reporters read (tests/cli/cases/junit.xsd
 * has them as an XSD for xmllint), CSV by the project's RFC 4180 reader,
 * Markdown by its table structure, HTML by what the page may and may not
 * hold (two script elements, the CSP hashes of exactly those). Chromium
 * renders the page in tests/cli/test_html_chromium.sh.
 */
#include "internal.h"

#include <expat.h>
#include <math.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

#define HOSTILE "<script>alert(1)</script>"

static char record_path[256];

/*
 * Two targets ("alpha" and one with a quote and a pipe), four results: a
 * pass, a failure whose case id, answer and reason are hostile, an error,
 * and a pass whose case id is a formula. The pass-rate gate fails.
 */
static const char *const record_lines[] = {
    "{\"type\":\"run\",\"format\":1,\"suite\":\"s&<x>\",\"targets\":"
    "[{\"name\":\"alpha\"},{\"name\":\"b|e\\\"ta\"}],\"repeat\":1,"
    "\"gates\":{\"pass_rate\":{\"min\":0.9}}}",
    "{\"type\":\"result\",\"case\":\"c1\",\"target\":\"alpha\",\"repeat\":0,"
    "\"output\":\"Paris, \\\"the\\\" city\\nof light\",\"pass\":true,"
    "\"score\":1,\"checks\":[{\"type\":\"icontains\",\"pass\":true,"
    "\"score\":1,\"reason\":\"found 'Paris'\"}],\"latency_ms\":120.5,"
    "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5},"
    "\"attempts\":1,\"cached\":false,\"error\":null}",
    "{\"type\":\"result\",\"case\":\"" HOSTILE "\",\"target\":\"alpha\","
    "\"repeat\":0,\"output\":\"" HOSTILE "]]>&amp; | \\u0001 \xff end\","
    "\"pass\":false,\"score\":0.25,\"checks\":[{\"type\":\"icontains\","
    "\"pass\":false,\"score\":0,\"reason\":\"expected 'x' | found <b>y</b>\"},"
    "{\"type\":\"regex\",\"pass\":true,\"score\":1,\"reason\":\"matched\"}],"
    "\"latency_ms\":340,\"attempts\":1,\"cached\":false,\"error\":null}",
    "{\"type\":\"result\",\"case\":\"c3\",\"target\":\"b|e\\\"ta\",\"repeat\":"
    "0,"
    "\"output\":null,\"pass\":null,\"score\":null,\"checks\":[],"
    "\"latency_ms\":null,\"attempts\":3,\"cached\":false,\"error\":{\"kind\":"
    "\"http\",\"status\":500,\"message\":\"<img src=x onerror=alert(1)>\"}}",
    "{\"type\":\"result\",\"case\":\"=HYPERLINK(\\\"x\\\")\",\"target\":"
    "\"b|e\\\"ta\",\"repeat\":0,\"output\":\"ok\",\"pass\":true,\"score\":1,"
    "\"checks\":[{\"type\":\"icontains\",\"pass\":true,\"score\":1,"
    "\"reason\":\"found 'ok'\"}],\"latency_ms\":80,\"attempts\":1,"
    "\"cached\":true,\"error\":null}",
};

static int setup(void **state)
{
    (void)state;
    snprintf(record_path, sizeof record_path, "/tmp/assay-reports-%ld.jsonl",
             (long)getpid());
    FILE *f = fopen(record_path, "wb");
    if (!f)
        return -1;
    for (size_t i = 0; i < sizeof record_lines / sizeof *record_lines; i++)
        fprintf(f, "%s\n", record_lines[i]);
    return fclose(f);
}

static int teardown(void **state)
{
    (void)state;
    remove(record_path);
    return 0;
}

/* The report in `format` as a string (caller frees); *st gets the status. */
static char *write_report(const assay_compare *cmp, assay_format format,
                          size_t *len)
{
    assay_report *report;
    assay_error err;
    assert_int_equal(assay_report_open(record_path, &report, &err), ASSAY_OK);
    assay_report_set_compare(report, cmp);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    assay_status st = assay_report_write(report, format, out, &err);
    if (st != ASSAY_OK)
        fail_msg("%s", err.message);
    fclose(out);
    assay_report_free(report);
    if (len)
        *len = size;
    return text;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ------------------------------------------------------------ names */

static void test_format_names(void **state)
{
    (void)state;
    static const char *const names[] = {"text", "json", "junit",     "markdown",
                                        "html", "csv",  "text-color"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        assay_format f;
        assert_int_equal(assay_format_parse(names[i], &f, NULL), ASSAY_OK);
        assert_string_equal(assay_format_name(f), names[i]);
    }
    assay_format f;
    assert_int_equal(assay_format_parse("md", &f, NULL), ASSAY_OK);
    assert_int_equal(f, ASSAY_FORMAT_MARKDOWN);
    assay_error err;
    assert_int_equal(assay_format_parse("pdf", &f, &err), ASSAY_ERR_INVALID);
    assert_non_null(strstr(err.message, "unknown report format 'pdf'"));
    assert_non_null(strstr(err.message, "junit"));
    assert_null(assay_format_name((assay_format)99));
}

/* ------------------------------------------------------------ text */

/* Drops ESC [ ... m sequences. */
static void strip_ansi(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (r[0] == '\033' && r[1] == '[') {
            r += 2;
            while (*r && *r != 'm')
                r++;
            continue;
        }
        *w++ = *r;
    }
    *w = '\0';
}

static void test_text_colour(void **state)
{
    (void)state;
    char *plain = write_report(NULL, ASSAY_FORMAT_TEXT, NULL);
    char *color = write_report(NULL, ASSAY_FORMAT_TEXT_COLOR, NULL);
    assert_null(strchr(plain, '\033'));
    assert_non_null(strstr(color, "\033[31m1\033[0m")); /* one failure */
    assert_non_null(strstr(color, "\033[33m1\033[0m")); /* one error */
    assert_non_null(strstr(color, "\033[1m\033[31mFAIL\033[0m"));
    /* Without the escapes, the coloured table is the plain one: the
       columns stay aligned. */
    strip_ansi(color);
    assert_string_equal(plain, color);
    free(plain);
    free(color);
}

/* ------------------------------------------------------------ JSON */

static cJSON *load_schema(void)
{
    FILE *f = fopen(SOURCE_ROOT "/docs/report-schema.json", "rb");
    assert_non_null(f);
    char text[32768];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    assert_true(n > 0 && n < sizeof text - 1);
    text[n] = '\0';
    cJSON *schema = cJSON_Parse(text);
    assert_non_null(schema);
    return schema;
}

static void assert_valid(const cJSON *doc)
{
    cJSON *schema_doc = load_schema();
    assay__schema *schema;
    assay_error err;
    assert_int_equal(
        assay__schema_compile(schema_doc, NULL, &schema, NULL, &err), ASSAY_OK);
    bool valid = false;
    assay__schema_issue issue;
    size_t n = 0;
    assert_int_equal(
        assay__schema_validate(schema, doc, &valid, &issue, 1, &n, &err),
        ASSAY_OK);
    if (!valid)
        fail_msg("%s: %s", issue.path, issue.message);
    assay__schema_free(schema);
    cJSON_Delete(schema_doc);
}

static const cJSON *at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        fail_msg("no '%s'", key);
    return v;
}

static void test_json(void **state)
{
    (void)state;
    char *text = write_report(NULL, ASSAY_FORMAT_JSON, NULL);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_valid(doc);
    assert_string_equal(at(doc, "suite")->valuestring, "s&<x>");
    assert_false(cJSON_IsTrue(at(doc, "pass")));
    assert_true(cJSON_IsNull(at(doc, "comparison")));
    const cJSON *groups = at(doc, "groups");
    assert_int_equal(cJSON_GetArraySize(groups), 2);
    const cJSON *alpha = cJSON_GetArrayItem(groups, 0);
    assert_string_equal(at(alpha, "target")->valuestring, "alpha");
    assert_int_equal(at(alpha, "results")->valuedouble, 2);
    assert_int_equal(at(alpha, "failed")->valuedouble, 1);
    const cJSON *beta = cJSON_GetArrayItem(groups, 1);
    assert_string_equal(at(beta, "target")->valuestring, "b|e\"ta");
    assert_int_equal(at(beta, "errors")->valuedouble, 1);
    assert_true(cJSON_IsNull(at(beta, "repeats")));
    assert_int_equal(cJSON_GetArraySize(at(doc, "gates")), 2);
    cJSON_Delete(doc);
    free(text);

    /* With a comparison: the record against itself, which pairs every
       result with itself and changes nothing. */
    assay_compare *cmp;
    assert_int_equal(assay_compare_load(record_path, record_path, &cmp, NULL),
                     ASSAY_OK);
    text = write_report(cmp, ASSAY_FORMAT_JSON, NULL);
    doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_valid(doc);
    const cJSON *comparison = at(doc, "comparison");
    assert_int_equal(cJSON_GetArraySize(at(comparison, "comparisons")), 2);
    const cJSON *first = cJSON_GetArrayItem(at(comparison, "comparisons"), 0);
    assert_int_equal(at(first, "pairs")->valuedouble, 2);
    assert_int_equal(cJSON_GetArraySize(at(first, "transitions")), 0);
    cJSON_Delete(doc);
    free(text);
    assay_compare_free(cmp);
}

/* ------------------------------------------------------------ JUnit */

typedef struct junit_check {
    int depth;
    char stack[8][32];
    long suites, cases, failures, errors;
    long suite_tests, suite_failures, suite_errors; /* the open suite's */
    long seen_tests, seen_failures, seen_errors;
    bool hostile_name, failure_reason, script_element;
    bool in_failure;
    char failure_text[4096];
    size_t failure_len;
    const char *problem;
} junit_check;

static const char *attr_of(const XML_Char **attrs, const char *name)
{
    for (size_t i = 0; attrs[i]; i += 2)
        if (!strcmp(attrs[i], name))
            return attrs[i + 1];
    return NULL;
}

/* A count attribute: digits only. */
static long count_attr(junit_check *jc, const XML_Char **attrs,
                       const char *name)
{
    const char *v = attr_of(attrs, name);
    if (!v || !*v || strspn(v, "0123456789") != strlen(v)) {
        jc->problem = "a testsuite count attribute is missing or not a count";
        return -1;
    }
    return strtol(v, NULL, 10);
}

/* Time as plain decimal seconds, as the schema's pattern takes it. */
static bool time_ok(const char *v)
{
    size_t digits = strspn(v, "0123456789");
    if (!digits)
        return false;
    if (!v[digits])
        return true;
    return v[digits] == '.' &&
           strspn(v + digits + 1, "0123456789") == strlen(v + digits + 1);
}

static void open_suite(junit_check *jc, const XML_Char **attrs)
{
    jc->suites++;
    if (!attr_of(attrs, "name"))
        jc->problem = "a testsuite has no name";
    jc->suite_tests = count_attr(jc, attrs, "tests");
    jc->suite_failures = count_attr(jc, attrs, "failures");
    jc->suite_errors = count_attr(jc, attrs, "errors");
    jc->seen_tests = jc->seen_failures = jc->seen_errors = 0;
}

static void XMLCALL on_start(void *user, const XML_Char *name,
                             const XML_Char **attrs)
{
    junit_check *jc = user;
    const char *parent = jc->depth ? jc->stack[jc->depth - 1] : "";
    if (jc->depth == 0 && strcmp(name, "testsuites"))
        jc->problem = "the root is not testsuites";
    if (!strcmp(name, "testsuite")) {
        if (strcmp(parent, "testsuites"))
            jc->problem = "a testsuite outside testsuites";
        open_suite(jc, attrs);
    } else if (!strcmp(name, "testcase")) {
        if (strcmp(parent, "testsuite"))
            jc->problem = "a testcase outside a testsuite";
        const char *case_name = attr_of(attrs, "name");
        const char *time = attr_of(attrs, "time");
        if (!case_name || !attr_of(attrs, "classname"))
            jc->problem = "a testcase without name or classname";
        if (time && !time_ok(time))
            jc->problem = "a testcase time is not decimal seconds";
        jc->hostile_name |= case_name && !strcmp(case_name, HOSTILE);
        jc->cases++;
        jc->seen_tests++;
    } else if (!strcmp(name, "failure") || !strcmp(name, "error")) {
        if (strcmp(parent, "testcase"))
            jc->problem = "a failure or error outside a testcase";
        bool failure = !strcmp(name, "failure");
        *(failure ? &jc->failures : &jc->errors) += 1;
        *(failure ? &jc->seen_failures : &jc->seen_errors) += 1;
        jc->in_failure = failure;
    } else if (!strcmp(name, "script")) {
        jc->script_element = true;
    } else if (strcmp(name, "properties") && strcmp(name, "property") &&
               strcmp(name, "system-out") && strcmp(name, "testsuites")) {
        jc->problem = "an element the JUnit schema does not have";
    }
    if (jc->depth < 8)
        snprintf(jc->stack[jc->depth], sizeof jc->stack[0], "%s", name);
    jc->depth++;
}

static void XMLCALL on_end(void *user, const XML_Char *name)
{
    junit_check *jc = user;
    jc->depth--;
    if (!strcmp(name, "failure"))
        jc->in_failure = false;
    if (!strcmp(name, "testsuite") &&
        (jc->seen_tests != jc->suite_tests ||
         jc->seen_failures != jc->suite_failures ||
         jc->seen_errors != jc->suite_errors))
        jc->problem = "a testsuite's counts differ from its test cases";
}

static void XMLCALL on_text(void *user, const XML_Char *s, int len)
{
    junit_check *jc = user;
    if (!jc->in_failure)
        return;
    size_t room = sizeof jc->failure_text - 1 - jc->failure_len;
    size_t n = (size_t)len < room ? (size_t)len : room;
    memcpy(jc->failure_text + jc->failure_len, s, n);
    jc->failure_len += n;
    jc->failure_text[jc->failure_len] = '\0';
}

static void test_junit(void **state)
{
    (void)state;
    size_t len;
    char *text = write_report(NULL, ASSAY_FORMAT_JUNIT, &len);
    junit_check jc = {0};
    XML_Parser parser = XML_ParserCreate("UTF-8");
    XML_SetUserData(parser, &jc);
    XML_SetElementHandler(parser, on_start, on_end);
    XML_SetCharacterDataHandler(parser, on_text);
    /* expat rejects ill-formed XML, invalid UTF-8 and forbidden
       characters: the \x01 and \xff of the answer must be gone. */
    if (XML_Parse(parser, text, (int)len, 1) != XML_STATUS_OK)
        fail_msg("not well-formed at line %lu: %s\n%s",
                 (unsigned long)XML_GetCurrentLineNumber(parser),
                 XML_ErrorString(XML_GetErrorCode(parser)), text);
    XML_ParserFree(parser);
    if (jc.problem)
        fail_msg("%s\n%s", jc.problem, text);
    assert_int_equal(jc.suites, 2);
    assert_int_equal(jc.cases, 4); /* one per result */
    assert_int_equal(jc.failures, 1);
    assert_int_equal(jc.errors, 1);
    assert_true(jc.hostile_name); /* the case id, read back exactly */
    assert_false(jc.script_element);
    assert_non_null(
        strstr(jc.failure_text, "icontains: expected 'x' | found <b>y</b>"));
    assert_null(strstr(jc.failure_text, "regex"));     /* it passed */
    assert_non_null(strstr(text, "\xEF\xBF\xBD end")); /* \xff replaced */
    assert_non_null(strstr(text, "classname=\"s&amp;&lt;x&gt;.b|e&quot;ta\""));
    free(text);
}

/* ------------------------------------------------------------ Markdown */

/* Pipes that split cells: those not escaped by a backslash. */
static int cell_pipes(const char *line, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '|' && (i == 0 || line[i - 1] != '\\'))
            n++;
    return n;
}

static void test_markdown(void **state)
{
    (void)state;
    char *text = write_report(NULL, ASSAY_FORMAT_MARKDOWN, NULL);
    /* The verdict comes first. */
    assert_memory_equal(text,
                        "## \xE2\x9D\x8C assay: s&amp;&lt;x&gt; "
                        "\xE2\x80\x94 FAIL",
                        strlen("## \xE2\x9D\x8C assay: s&amp;&lt;x&gt; "
                               "\xE2\x80\x94 FAIL"));
    /* Failed gates before passing ones. */
    const char *fail = strstr(text, "- **FAIL**: pass\\_rate");
    assert_non_null(fail);
    assert_null(strstr(text, "- pass: pass\\_rate"));
    /* Every row of every table has the cells of its header. */
    int columns = -1;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len && line[0] == '|') {
            int pipes = cell_pipes(line, len);
            if (columns < 0)
                columns = pipes;
            else if (pipes != columns)
                fail_msg("a row with %d cell borders, not %d: %.*s", pipes,
                         columns, (int)len, line);
        } else {
            columns = -1;
        }
        line += len + (end != NULL);
    }
    /* Model and dataset text only in code spans; names escaped. */
    assert_non_null(strstr(text, "| ` " HOSTILE " ` | alpha | icontains: "
                                 "` expected 'x' \\| found <b>y</b> ` |"));
    assert_non_null(strstr(text, "b\\|e\"ta"));
    assert_non_null(
        strstr(text, "error (http) ` <img src=x onerror=alert(1)> `"));
    assert_null(strstr(text, "\x01"));
    free(text);
}

/* ------------------------------------------------------------ HTML */

/* The text between `open` and `close` after `from`; NULL when absent. */
static char *between(const char *from, const char *open, const char *close)
{
    const char *start = strstr(from, open);
    if (!start)
        return NULL;
    start += strlen(open);
    const char *end = strstr(start, close);
    assert_non_null(end);
    return strndup(start, (size_t)(end - start));
}

static void assert_csp_allows(const char *html, const char *code)
{
    unsigned char digest[EVP_MAX_MD_SIZE], b64[128];
    unsigned int n = 0;
    assert_true(EVP_Digest(code, strlen(code), digest, &n, EVP_sha256(), NULL));
    EVP_EncodeBlock(b64, digest, (int)n);
    char source[160];
    snprintf(source, sizeof source, "'sha256-%s'", (const char *)b64);
    char *csp = between(html, "Content-Security-Policy\" content=\"", "\"");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "default-src 'none'"));
    if (!strstr(csp, source))
        fail_msg("the CSP %s does not allow %s", csp, source);
    free(csp);
}

static void test_html(void **state)
{
    (void)state;
    assay_compare *cmp;
    assert_int_equal(assay_compare_load(record_path, record_path, &cmp, NULL),
                     ASSAY_OK);
    char *html = write_report(cmp, ASSAY_FORMAT_HTML, NULL);
    assay_compare_free(cmp);
    assert_int_equal(count_of(html, "<script"), 2); /* data and ours */
    assert_int_equal(count_of(html, "</script>"), 2);
    assert_null(strstr(html, "<img"));
    /* Nothing to fetch: no source, no link out, before the data block. */
    char *page =
        strndup(html, (size_t)(strstr(html, "id=\"assay-data\"") - html));
    assert_null(strstr(page, "src="));
    assert_null(strstr(page, "https:"));
    assert_null(strstr(page, "href=\"http"));
    free(page);
    assert_non_null(strstr(html, "<title>assay report: s&amp;&lt;x&gt;"));
    assert_true(count_of(html, "<svg") >= 5); /* pass rates, scores, latency */
    assert_non_null(strstr(html, "id=\"chart-pass-rate\""));
    assert_non_null(strstr(html, "id=\"case-rows\""));
    assert_non_null(strstr(html, "id=\"comparison\""));

    char *style = between(html, "<style>", "</style>");
    char *script =
        between(strstr(html, "id=\"assay-data\""), "<script>", "</script>");
    assert_non_null(style);
    assert_non_null(script);
    assert_csp_allows(html, style);
    assert_csp_allows(html, script);
    assert_null(strstr(script, "innerHTML")); /* data goes in as text */
    free(style);
    free(script);

    /* The rows: valid JSON with every hostile text inside, escaped. */
    char *data = between(html, "id=\"assay-data\">", "</script>");
    assert_non_null(data);
    assert_null(strchr(data, '<'));
    cJSON *doc = cJSON_Parse(data);
    assert_non_null(doc);
    const cJSON *rows = cJSON_GetObjectItem(doc, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 4);
    const cJSON *bad = cJSON_GetArrayItem(rows, 1);
    assert_string_equal(cJSON_GetArrayItem(bad, 0)->valuestring, HOSTILE);
    assert_string_equal(cJSON_GetArrayItem(bad, 7)->valuestring,
                        HOSTILE "]]>&amp; | \x01 \xEF\xBF\xBD end");
    assert_int_equal(cJSON_GetArrayItem(bad, 4)->valueint, 1); /* fail */
    const cJSON *error = cJSON_GetArrayItem(rows, 2);
    assert_string_equal(cJSON_GetArrayItem(error, 9)->valuestring,
                        "http 500: <img src=x onerror=alert(1)>");
    const cJSON *targets = cJSON_GetObjectItem(doc, "targets");
    assert_string_equal(cJSON_GetArrayItem(targets, 1)->valuestring, "b|e\"ta");
    cJSON_Delete(doc);
    free(data);
    free(html);
}

/* ------------------------------------------------------------ CSV */

static void test_csv(void **state)
{
    (void)state;
    size_t len;
    char *text = write_report(NULL, ASSAY_FORMAT_CSV, &len);
    assay__csv *csv;
    assert_int_equal(assay__csv_new("report.csv", &csv, NULL), ASSAY_OK);
    assert_int_equal(assay__csv_feed(csv, text, len, NULL), ASSAY_OK);
    assay__csv_finish(csv);
    char *fields[5][21] = {{0}};
    size_t records = 0;
    assay__csv_result result;
    while (assay__csv_next(csv, &result, NULL) == ASSAY_OK &&
           result == ASSAY__CSV_RECORD) {
        assert_int_equal(assay__csv_field_count(csv), 21);
        assert_true(records < 5);
        for (size_t i = 0; i < 21; i++)
            fields[records][i] = strdup(assay__csv_field(csv, i, NULL));
        records++;
    }
    assay__csv_free(csv);
    assert_int_equal(records, 5); /* the header and one row per result */
    assert_string_equal(fields[0][0], "case");
    assert_string_equal(fields[0][20], "output");
    assert_string_equal(fields[1][20], "Paris, \"the\" city\nof light");
    assert_string_equal(fields[1][4], "pass");
    assert_string_equal(fields[1][6], "120.5");
    assert_string_equal(fields[2][0], HOSTILE);
    assert_string_equal(fields[2][4], "fail");
    assert_string_equal(fields[2][18], "icontains: expected 'x' | found "
                                       "<b>y</b>");
    assert_string_equal(fields[3][1], "b|e\"ta");
    assert_string_equal(fields[3][4], "error");
    assert_string_equal(fields[3][16], "500");
    assert_string_equal(fields[3][17], "<img src=x onerror=alert(1)>");
    /* A formula is shown, not run. */
    assert_string_equal(fields[4][0], "'=HYPERLINK(\"x\")");
    assert_string_equal(fields[4][12], "true");
    for (size_t r = 0; r < 5; r++)
        for (size_t i = 0; i < 21; i++)
            free(fields[r][i]);
    assert_non_null(strstr(text, "\r\n"));
    free(text);
}

/* ------------------------------------------------------------ misuse */

static void test_parts_a_format_needs(void **state)
{
    (void)state;
    assay_summary *s;
    assert_int_equal(assay_summary_load(record_path, &s, NULL), ASSAY_OK);
    FILE *out = fopen("/dev/null", "wb");
    assert_non_null(out);
    assay_error err;
    static const assay_format per_result[] = {
        ASSAY_FORMAT_JUNIT, ASSAY_FORMAT_HTML, ASSAY_FORMAT_CSV};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(assay_summary_write(s, per_result[i], out, &err),
                         ASSAY_ERR_INVALID);
        assert_non_null(strstr(err.message, "needs the run record"));
    }
    assert_int_equal(assay_summary_write(s, ASSAY_FORMAT_JSON, out, &err),
                     ASSAY_OK);
    assert_int_equal(assay_summary_write(s, ASSAY_FORMAT_MARKDOWN, out, &err),
                     ASSAY_OK);
    assert_int_equal(assay_summary_write(s, (assay_format)99, out, &err),
                     ASSAY_ERR_INVALID);
    assay_compare *cmp;
    assert_int_equal(assay_compare_load(record_path, record_path, &cmp, NULL),
                     ASSAY_OK);
    assert_int_equal(assay_compare_write(cmp, ASSAY_FORMAT_JSON, out, &err),
                     ASSAY_OK);
    assert_int_equal(assay_compare_write(cmp, ASSAY_FORMAT_MARKDOWN, out, &err),
                     ASSAY_OK);
    assert_int_equal(assay_compare_write(cmp, ASSAY_FORMAT_CSV, out, &err),
                     ASSAY_ERR_INVALID);
    assay_compare_free(cmp);
    fclose(out);
    assay_summary_free(s);

    assay_report *report;
    assert_int_equal(assay_report_open("/nonexistent/run.jsonl", &report, &err),
                     ASSAY_ERR_IO);
    assert_null(report);
    assay_report_free(NULL);
}

/* A full disk is an error that says so, in every format. */
static void test_write_error(void **state)
{
    (void)state;
    assay_report *report;
    assert_int_equal(assay_report_open(record_path, &report, NULL), ASSAY_OK);
    for (int f = ASSAY_FORMAT_TEXT; f <= ASSAY_FORMAT_TEXT_COLOR; f++) {
        FILE *full = fopen("/dev/full", "wb");
        if (!full)
            skip();
        assay_error err;
        assert_int_equal(
            assay_report_write(report, (assay_format)f, full, &err),
            ASSAY_ERR_IO);
        assert_non_null(strstr(err.message, "cannot write"));
        fclose(full);
    }
    assay_report_free(report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_text_colour),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_junit),
        cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_parts_a_format_needs),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
