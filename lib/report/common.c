/*
 * report/common.c - what the report formats share: streaming the result
 * lines of a record again (for the formats with one row per result),
 * escaping for XML and HTML, locale-free fixed-point numbers, and buffered
 * output that is written as it fills, so that a report of a large record
 * never sits whole in memory.
 *
 * It reads records the way record.c does (blank lines skipped, a last line
 * cut short by a crash ignored) but hands out the result line itself:
 * summaries need the numbers only, reports also need the answer, the
 * checks' reasons and the error. It does not compute statistics.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ rows */

static const char *string_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double number_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void read_error(const cJSON *line, assay__report_row *row)
{
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(line, "error");
    if (!error || cJSON_IsNull(error))
        return;
    row->outcome = ASSAY__OUTCOME_ERROR;
    row->error_kind = string_of(error, "kind");
    if (!row->error_kind)
        row->error_kind = "error";
    row->error_message = string_of(error, "message");
    double status = number_of(error, "status");
    row->error_status = status > 0 && status < 1000 ? (long)status : 0;
}

/* False when the line is not a result the reader can use. */
static bool row_of(const cJSON *line, long line_no, assay__report_row *row)
{
    *row = (assay__report_row){.json = line, .line = line_no};
    row->target = string_of(line, "target");
    if (!row->target)
        return false;
    row->case_id = string_of(line, "case");
    if (!row->case_id)
        row->case_id = "";
    row->prompt = string_of(line, "prompt");
    if (!row->prompt)
        row->prompt = ASSAY__DEFAULT_PROMPT;
    double repeat = number_of(line, "repeat");
    row->repeat = repeat >= 0 && repeat <= 1e6 ? (int)repeat : 0;
    row->output = string_of(line, "output");
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(line, "checks");
    row->checks = cJSON_IsArray(checks) ? checks : NULL;
    row->latency_ms = number_of(line, "latency_ms");
    row->score = NAN;
    read_error(line, row);
    if (row->outcome == ASSAY__OUTCOME_ERROR)
        return true;
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(line, "pass");
    if (!cJSON_IsBool(pass))
        return false;
    row->outcome =
        cJSON_IsTrue(pass) ? ASSAY__OUTCOME_PASS : ASSAY__OUTCOME_FAIL;
    row->score = number_of(line, "score");
    if (isnan(row->score))
        row->score = cJSON_IsTrue(pass) ? 1 : 0;
    return true;
}

static bool is_result(const cJSON *line)
{
    const char *type = string_of(line, "type");
    return type && !strcmp(type, "result");
}

static assay_status scan_rows(FILE *f, const char *path,
                              assay__report_row_fn fn, void *user,
                              assay_error *err)
{
    char *text = NULL;
    size_t cap = 0;
    long line_no = 0;
    assay_status st = ASSAY_OK;
    ssize_t len;
    while (st == ASSAY_OK && (errno = 0, len = getline(&text, &cap, f)) >= 0) {
        line_no++;
        if (len == 1 && text[0] == '\n')
            continue;
        cJSON *line = cJSON_ParseWithLength(text, (size_t)len);
        assay__report_row row;
        if (!cJSON_IsObject(line)) {
            if (text[len - 1] != '\n') { /* cut short by a crash: the end */
                cJSON_Delete(line);
                break;
            }
            st = assay__error(err, ASSAY_ERR_RECORD, path, (int)line_no, 0,
                              "not a JSON object");
        } else if (is_result(line)) {
            if (row_of(line, line_no, &row))
                st = fn(user, &row, err);
            else
                st = assay__error(err, ASSAY_ERR_RECORD, path, (int)line_no, 0,
                                  "a result needs a 'target' and 'pass' "
                                  "or an 'error'");
        }
        cJSON_Delete(line);
    }
    if (st == ASSAY_OK && ferror(f))
        st = assay__error(err, ASSAY_ERR_IO, path, 0, 0, "read error: %s",
                          strerror(errno));
    free(text);
    return st;
}

assay_status assay__report_rows(const char *record_path,
                                assay__report_row_fn fn, void *user,
                                assay_error *err)
{
    FILE *f = fopen(record_path, "rb");
    if (!f)
        return assay__error(err, ASSAY_ERR_IO, record_path, 0, 0,
                            "cannot open the run record: %s", strerror(errno));
    assay_status st = scan_rows(f, record_path, fn, user, err);
    fclose(f);
    return st;
}

long assay__report_group(const assay_summary *s, const assay__report_row *row)
{
    return assay__summary_group_of(s, row->target, row->prompt);
}

/* ------------------------------------------------------------ UTF-8 */

size_t assay__report_utf8_sequence(const char *text, size_t n)
{
    const unsigned char *p = (const unsigned char *)text;
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

size_t assay__report_utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t end = max;
    /* Back off continuation bytes to the start of the cut character. */
    while (end > 0 && ((unsigned char)s[end] & 0xC0) == 0x80)
        end--;
    return end;
}

/* ------------------------------------------------------------ XML */

/* Characters XML 1.0 cannot hold even as references. */
static bool xml_forbidden(const unsigned char *p, size_t seq)
{
    if (seq == 1)
        return p[0] < 0x20 && p[0] != '\t' && p[0] != '\n' && p[0] != '\r';
    /* U+FFFE and U+FFFF: EF BF BE and EF BF BF. */
    return seq == 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] >= 0xBE;
}

static const char *xml_reference(unsigned char c, bool attribute)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    case '\t':
        return attribute ? "&#9;" : NULL;
    case '\n':
        return attribute ? "&#10;" : NULL;
    case '\r':
        return "&#13;"; /* parsers turn a raw CR into LF */
    default:
        return NULL;
    }
}

assay_status assay__report_put_xml(assay__buf *b, const char *s, size_t len,
                                   size_t max, bool attribute)
{
    if (!s)
        return ASSAY_OK;
    size_t take = assay__report_utf8_prefix(s, len, max);
    const unsigned char *p = (const unsigned char *)s;
    assay_status st = ASSAY_OK;
    size_t run = 0, i = 0;
    while (st == ASSAY_OK && i < take) {
        size_t seq = assay__report_utf8_sequence(s + i, take - i);
        const char *ref = seq == 1 ? xml_reference(p[i], attribute) : NULL;
        bool bad = seq == 0 || xml_forbidden(p + i, seq);
        if (!ref && !bad) {
            i += seq;
            continue;
        }
        st = assay__buf_append(b, s + run, i - run);
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, bad ? "\xEF\xBF\xBD" : ref);
        i += seq ? seq : 1;
        run = i;
    }
    if (st == ASSAY_OK)
        st = assay__buf_append(b, s + run, take - run);
    if (st == ASSAY_OK && take < len)
        st = assay__buf_puts(b, "...");
    return st;
}

/* ------------------------------------------------------------ numbers */

assay_status assay__report_put_fixed(assay__buf *b, double v, int decimals)
{
    static const double scales[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (decimals < 0)
        decimals = 0;
    if (decimals > 6)
        decimals = 6;
    double scaled = round(fabs(v) * scales[decimals]);
    if (!isfinite(v) || scaled > 9e15) /* beyond what long long holds */
        return assay__text_put_double(b, v);
    long long n = (long long)scaled;
    long long unit = (long long)scales[decimals];
    const char *sign = v < 0 && n ? "-" : "";
    if (!decimals)
        return assay__buf_printf(b, "%s%lld", sign, n);
    return assay__buf_printf(b, "%s%lld.%0*lld", sign, n / unit, decimals,
                             n % unit);
}

/* ------------------------------------------------------------ output */

assay_status assay__report_spill(assay__buf *b, FILE *out, size_t at_least,
                                 assay_error *err)
{
    if (b->len < at_least || !b->len)
        return ASSAY_OK;
    bool complete = fwrite(b->data, 1, b->len, out) == b->len;
    assay__buf_reset(b);
    if (!complete)
        return assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                            "cannot write the report: %s", strerror(errno));
    return ASSAY_OK;
}

assay_status assay__report_finish(assay__buf *b, FILE *out, assay_status st,
                                  const char *what, assay_error *err)
{
    /* The writers start with a cleared error: one that is set was
       described where it happened (a read or write error). */
    if (st != ASSAY_OK && (!err || err->status == ASSAY_OK))
        assay__error(err, st, NULL, 0, 0, "cannot format the %s report: %s",
                     what, assay_strerror(st));
    if (st == ASSAY_OK)
        st = assay__report_spill(b, out, 0, err);
    if (st == ASSAY_OK && fflush(out) != 0)
        st = assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                          "cannot write the report: %s", strerror(errno));
    assay__buf_release(b);
    return st;
}
