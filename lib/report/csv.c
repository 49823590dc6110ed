/*
 * report/csv.c - one row per result, for spreadsheets and data frames.
 *
 * RFC 4180: a header row, CRLF line ends, fields quoted when they hold a
 * comma, a quote or a line break, quotes doubled. The record is streamed
 * row by row, so memory does not grow with it. Text that came from a model
 * or a dataset (case ids, answers, reasons, error messages) and begins with
 * = + - @ or a tab or carriage return gets a leading apostrophe, so that a
 * spreadsheet shows it rather than running it as a formula (the usual
 * defence against CSV injection); numbers are ours and are left alone.
 * Invalid UTF-8 is passed through as it is in the record.
 *
 * Columns: case, target, prompt, repeat, outcome (pass, fail or error),
 * score, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cost,
 * attempts, cached, finish_reason, model, error_kind, error_status,
 * error_message, failed_checks (one "type: reason" line per failed check),
 * checks (the result's checks as JSON) and output (the answer, last since
 * it is the longest).
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#define SPILL_BYTES (256 * 1024)

static const char *const columns[] = {
    "case",          "target",
    "prompt",        "repeat",
    "outcome",       "score",
    "latency_ms",    "ttft_ms",
    "prompt_tokens", "completion_tokens",
    "cost",          "attempts",
    "cached",        "finish_reason",
    "model",         "error_kind",
    "error_status",  "error_message",
    "failed_checks", "checks",
    "output",
};

static bool starts_a_formula(const char *s)
{
    return s[0] && strchr("=+-@\t\r", s[0]) != NULL;
}

/* A text field: quoted when needed, guarded against formulas. */
static assay_status put_text(assay__buf *b, const char *s, bool comma)
{
    assay_status st = comma ? assay__buf_putc(b, ',') : ASSAY_OK;
    if (!s || st != ASSAY_OK)
        return st;
    bool guard = starts_a_formula(s);
    bool quote = guard || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        st = assay__buf_putc(b, '"');
    if (st == ASSAY_OK && guard)
        st = assay__buf_putc(b, '\'');
    for (const char *p = s; st == ASSAY_OK && *p; p++) {
        const char *q = strchr(p, '"');
        size_t n = q ? (size_t)(q - p) + 1 : strlen(p);
        st = assay__buf_append(b, p, n);
        if (st == ASSAY_OK && q)
            st = assay__buf_putc(b, '"'); /* the quote, doubled */
        p += n - 1;
    }
    if (st == ASSAY_OK && quote)
        st = assay__buf_putc(b, '"');
    return st;
}

static assay_status put_number(assay__buf *b, double v)
{
    assay_status st = assay__buf_putc(b, ',');
    if (st == ASSAY_OK && isfinite(v))
        st = assay__text_put_double(b, v);
    return st;
}

static double number_at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *string_at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "type: reason" for each failed check, one per line. */
static assay_status put_failed_checks(assay__buf *b, assay__buf *scratch,
                                      const cJSON *checks)
{
    assay__buf_reset(scratch);
    assay_status st = ASSAY_OK;
    const cJSON *c;
    cJSON_ArrayForEach (c, checks) {
        if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(c, "pass")))
            continue;
        const char *type = string_at(c, "type");
        const char *reason = string_at(c, "reason");
        st = assay__buf_printf(scratch, "%s%s: %s", scratch->len ? "\n" : "",
                               type ? type : "?", reason ? reason : "");
        if (st != ASSAY_OK)
            return st;
    }
    return put_text(b, scratch->data, true);
}

static assay_status put_checks_json(assay__buf *b, const cJSON *checks)
{
    if (!checks)
        return assay__buf_putc(b, ',');
    char *text = cJSON_PrintUnformatted(checks);
    if (!text)
        return ASSAY_ERR_NOMEM;
    assay_status st = put_text(b, text, true);
    cJSON_free(text);
    return st;
}

static const char *outcome_name(assay__outcome o)
{
    return o == ASSAY__OUTCOME_PASS   ? "pass"
           : o == ASSAY__OUTCOME_FAIL ? "fail"
                                      : "error";
}

typedef struct csv_state {
    assay__buf out;
    assay__buf scratch;
    FILE *file;
} csv_state;

static assay_status put_usage(assay__buf *b, const cJSON *line)
{
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(line, "usage");
    assay_status st = put_number(b, number_at(usage, "prompt_tokens"));
    if (st == ASSAY_OK)
        st = put_number(b, number_at(usage, "completion_tokens"));
    return st;
}

static assay_status put_row(assay__buf *b, assay__buf *scratch,
                            const assay__report_row *r)
{
    const cJSON *line = r->json;
    assay_status st = put_text(b, r->case_id, false);
    if (st == ASSAY_OK)
        st = put_text(b, r->target, true);
    if (st == ASSAY_OK)
        st = put_text(b, r->prompt, true);
    if (st == ASSAY_OK)
        st =
            assay__buf_printf(b, ",%d,%s", r->repeat, outcome_name(r->outcome));
    if (st == ASSAY_OK)
        st = put_number(b, r->score);
    if (st == ASSAY_OK)
        st = put_number(b, r->latency_ms);
    if (st == ASSAY_OK)
        st = put_number(b, number_at(line, "ttft_ms"));
    if (st == ASSAY_OK)
        st = put_usage(b, line);
    if (st == ASSAY_OK)
        st = put_number(b, number_at(line, "cost"));
    if (st == ASSAY_OK)
        st = put_number(b, number_at(line, "attempts"));
    const cJSON *cached = cJSON_GetObjectItemCaseSensitive(line, "cached");
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, !cJSON_IsBool(cached)  ? ","
                                : cJSON_IsTrue(cached) ? ",true"
                                                       : ",false");
    if (st == ASSAY_OK)
        st = put_text(b, string_at(line, "finish_reason"), true);
    if (st == ASSAY_OK)
        st = put_text(b, string_at(line, "model"), true);
    if (st == ASSAY_OK)
        st = put_text(b, r->error_kind, true);
    if (st == ASSAY_OK)
        st = put_number(b, r->error_status ? (double)r->error_status : NAN);
    if (st == ASSAY_OK)
        st = put_text(b, r->error_message, true);
    if (st == ASSAY_OK)
        st = put_failed_checks(b, scratch, r->checks);
    if (st == ASSAY_OK)
        st = put_checks_json(b, r->checks);
    if (st == ASSAY_OK)
        st = put_text(b, r->output, true);
    return st == ASSAY_OK ? assay__buf_puts(b, "\r\n") : st;
}

static assay_status on_row(void *user, const assay__report_row *row,
                           assay_error *err)
{
    csv_state *cs = user;
    assay_status st = put_row(&cs->out, &cs->scratch, row);
    if (st != ASSAY_OK)
        return st;
    return assay__report_spill(&cs->out, cs->file, SPILL_BYTES, err);
}

assay_status assay__report_csv(const assay__report_input *in, FILE *out,
                               assay_error *err)
{
    csv_state cs = {.file = out};
    assay__buf_init(&cs.out, 0);
    assay__buf_init(&cs.scratch, 0);
    assay_status st = ASSAY_OK;
    if (!in->record_path)
        st = assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                          "the CSV report has one row per result: it needs "
                          "the run record (assay_report_write)");
    for (size_t i = 0; st == ASSAY_OK && i < sizeof columns / sizeof *columns;
         i++)
        st = assay__buf_printf(&cs.out, "%s%s", i ? "," : "", columns[i]);
    if (st == ASSAY_OK)
        st = assay__buf_puts(&cs.out, "\r\n");
    if (st == ASSAY_OK)
        st = assay__report_rows(in->record_path, on_row, &cs, err);
    assay__buf_release(&cs.scratch);
    return assay__report_finish(&cs.out, out, st, "CSV", err);
}
