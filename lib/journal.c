/*
 * journal.c - writing the run record, the JSON Lines file every other
 * output is computed from.
 *
 * Line 1 is the `run` header (suite, targets, configuration hash, gates),
 * then one `result` line per (case, target, repeat) in the order results
 * arrive, then a closing `summary` line. Lines are built straight into a
 * buffer (no JSON tree per result) and pushed to the file once per batch of
 * finished requests, so a killed run loses at most what was in flight.
 * The format is documented in the README; its version is `format`.
 *
 * A resumed run reopens its record for appending (resume.c has repaired
 * it first) and writes no second header. Space for the record is asked
 * of the file system (or the header synced) before the run sends
 * anything, so a full disk is an error that costs no request.
 */
/* fallocate() and FALLOC_FL_KEEP_SIZE, where the C library has them. */
#define _GNU_SOURCE // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): a feature-test macro is the program's to define
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECORD_FORMAT 1
#define RESERVE_BYTES ((off_t)4096) /* the header's block, at the start */

struct assay__journal {
    FILE *file;
    char *path;
    assay__buf line;
    cJSON *header_extra; /* fields added to the header, or NULL */
    bool interrupted;    /* said on the summary line */
    bool unflushed;      /* lines written since the last flush */
    /* stdio's buffer: lines reach the file at each flush (see the run's
       loop) or when it fills. glibc ignores the size setvbuf is given
       without a buffer and keeps its 4 KiB one: a write every five
       result lines. */
    char iobuf[64 << 10];
};

static assay_status write_error(const assay__journal *j, int e,
                                assay_error *err)
{
    return assay__error(err, ASSAY_ERR_IO, j->path, 0, 0,
                        "cannot write the run record: %s", strerror(e));
}

/* "wb" for a new record, "ab" to append to one being resumed. */
static assay_status open_mode(const char *path, const char *mode,
                              assay__journal **out, assay_error *err)
{
    *out = NULL;
    assay__journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory");
    }
    assay__buf_init(&j->line, 0);
    j->file = fopen(path, mode);
    if (!j->file) {
        int e = errno;
        assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                     "cannot %s the run record: %s",
                     *mode == 'a' ? "append to" : "create", strerror(e));
        free(j->path);
        free(j);
        return ASSAY_ERR_IO;
    }
    setvbuf(j->file, j->iobuf, _IOFBF, sizeof j->iobuf);
    *out = j;
    return ASSAY_OK;
}

assay_status assay__journal_open(const char *path, assay__journal **out,
                                 assay_error *err)
{
    return open_mode(path, "wb", out, err);
}

assay_status assay__journal_open_append(const char *path,
                                        assay__journal **out,
                                        assay_error *err)
{
    return open_mode(path, "ab", out, err);
}

void assay__journal_header_extra(assay__journal *j, cJSON *fields)
{
    cJSON_Delete(j->header_extra);
    j->header_extra = fields;
}

void assay__journal_mark_interrupted(assay__journal *j)
{
    j->interrupted = true;
}

assay_status assay__journal_flush(assay__journal *j, assay_error *err)
{
    if (fflush(j->file) != 0 || ferror(j->file))
        return write_error(j, errno, err);
    j->unflushed = false;
    return ASSAY_OK;
}

bool assay__journal_unflushed(const assay__journal *j)
{
    return j && j->unflushed;
}

assay_status assay__journal_close(assay__journal *j, assay_error *err)
{
    if (!j)
        return ASSAY_OK;
    assay_status st = assay__journal_flush(j, err);
    if (fclose(j->file) != 0 && st == ASSAY_OK)
        st = write_error(j, errno, err);
    assay__buf_release(&j->line);
    cJSON_Delete(j->header_extra);
    free(j->path);
    free(j);
    return st;
}

/* Hands the finished line to stdio; it reaches the file at the next flush. */
static assay_status emit(assay__journal *j, assay_error *err)
{
    assay_status st = assay__buf_putc(&j->line, '\n');
    if (st != ASSAY_OK)
        return assay__error(err, st, j->path, 0, 0,
                            "a result line is too large to write");
    if (fwrite(j->line.data, 1, j->line.len, j->file) != j->line.len)
        return write_error(j, errno, err);
    j->unflushed = true;
    assay__buf_reset(&j->line);
    return ASSAY_OK;
}

/* ------------------------------------------------------------ fields */

/* A JSON string literal (text.c scans it a word at a time, and copies
   the runs between escapes whole). */
static assay_status put_json_text(assay__buf *b, const char *s, size_t len)
{
    return assay__text_put_json_string(b, s, len);
}

/* `,"name":` for a name from anywhere (the fields a caller adds to the
   header), escaped as JSON needs. */
static assay_status put_key_escaped(assay__buf *b, const char *key)
{
    assay_status st = assay__buf_putc(b, ',');
    if (st == ASSAY_OK)
        st = put_json_text(b, key, strlen(key));
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ':');
    return st;
}

/* Each helper appends `,"name":value`; the caller opens the object. The
   names are the record format's own, plain ASCII that needs no escaping,
   so the key goes out in one piece: a result line has some thirty. */
static assay_status put_key(assay__buf *b, const char *key)
{
    char piece[64];
    size_t n = strlen(key);
    if (n + 4 > sizeof piece)
        return put_key_escaped(b, key);
    piece[0] = ',';
    piece[1] = '"';
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): bytes appended by length, not a string
    memcpy(piece + 2, key, n);
    piece[n + 2] = '"';
    piece[n + 3] = ':';
    return assay__buf_append(b, piece, n + 4);
}

static assay_status put_str(assay__buf *b, const char *key, const char *v)
{
    assay_status st = put_key(b, key);
    if (st != ASSAY_OK)
        return st;
    if (!v)
        return assay__buf_puts(b, "null");
    return put_json_text(b, v, strlen(v));
}

/* An optional text: a string when non-empty, null when not known. */
static assay_status put_opt_str(assay__buf *b, const char *key, const char *v)
{
    return put_str(b, key, v && *v ? v : NULL);
}

static assay_status put_num(assay__buf *b, const char *key, double v)
{
    assay_status st = put_key(b, key);
    if (st == ASSAY_OK)
        st = assay__text_put_double(b, v); /* NaN is written as null */
    return st;
}

/*
 * A duration in milliseconds. Latencies are whole microseconds, so most
 * are k / 1000 exactly: those are written as k's digits with the point
 * put in, trailing zeros dropped, which is the text the general writer
 * makes (the shortest that reads back as the same double: both that
 * text and v are the double nearest k / 1000) without its printf and
 * strtod. Anything else goes through the general writer.
 */
static assay_status put_millis(assay__buf *b, const char *key, double v)
{
    double k = nearbyint(v * 1000.0);
    if (!(v > 0 && v < 1e9) || k / 1000.0 != v)
        return put_num(b, key, v);
    assay_status st = put_key(b, key);
    if (st != ASSAY_OK)
        return st;
    long long whole = (long long)k / 1000, frac = (long long)k % 1000;
    char digits[32];
    size_t n = sizeof digits;
    int places = 3;
    while (places > 0 && frac % 10 == 0) {
        frac /= 10;
        places--;
    }
    for (int i = 0; i < places; i++) {
        digits[--n] = (char)('0' + frac % 10);
        frac /= 10;
    }
    if (places > 0)
        digits[--n] = '.';
    do {
        digits[--n] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    return assay__buf_append(b, digits + n, sizeof digits - n);
}

/* A count the server may not have reported (negative: unknown). */
static assay_status put_count(assay__buf *b, const char *key, long v)
{
    assay_status st = put_key(b, key);
    if (st != ASSAY_OK)
        return st;
    /* A whole number prints as digits, without printf. */
    return v < 0 ? assay__buf_puts(b, "null")
                 : assay__text_put_double(b, (double)v);
}

static assay_status put_bool(assay__buf *b, const char *key, bool v)
{
    assay_status st = put_key(b, key);
    return st == ASSAY_OK ? assay__buf_puts(b, v ? "true" : "false") : st;
}

static assay_status put_json(assay__buf *b, const char *key, const cJSON *v)
{
    char *text = cJSON_PrintUnformatted(v);
    if (!text)
        return ASSAY_ERR_NOMEM;
    assay_status st = put_key_escaped(b, key);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, text);
    cJSON_free(text);
    return st;
}

/* ------------------------------------------------------------ header */

/*
 * A full disk often shows only when the data is written back: find out
 * now, before a request is paid for. Reserving the header's block (the
 * file's size unchanged) asks the file system for the space at once,
 * without waiting for the disk as fsync does; where that cannot be asked,
 * the header is synced instead.
 */
static assay_status reserve_space(assay__journal *j, assay_error *err)
{
    int fd = fileno(j->file);
#ifdef FALLOC_FL_KEEP_SIZE
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, RESERVE_BYTES) == 0)
        return ASSAY_OK;
    if (errno == ENOSPC || errno == EDQUOT || errno == EIO)
        return write_error(j, errno, err);
#endif
    if (fsync(fd) != 0 && errno != EINVAL)
        return write_error(j, errno, err);
    return ASSAY_OK;
}

static void utc_now(char *out, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static assay_status put_targets(assay__buf *b, const assay_suite *suite,
                                const char *const *base_urls)
{
    assay_status st = put_key(b, "targets");
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '[');
    for (size_t i = 0; st == ASSAY_OK && i < suite->n_targets; i++) {
        const assay__target *t = &suite->targets[i];
        st = assay__buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        if (st == ASSAY_OK)
            st = put_json_text(b, t->name, strlen(t->name));
        if (st == ASSAY_OK)
            st = put_str(b, "model", t->model);
        if (st == ASSAY_OK)
            st = put_str(b, "base_url", base_urls[i]);
        if (st == ASSAY_OK)
            st = put_json(b, "params", t->params);
        if (st == ASSAY_OK)
            st = assay__buf_putc(b, '}');
    }
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ']');
    return st;
}

assay_status assay__journal_header(assay__journal *j, const assay_suite *suite,
                                   const char *const *base_urls,
                                   assay_error *err)
{
    char started[32];
    utc_now(started, sizeof started);
    assay__buf *b = &j->line;
    cJSON *gates = assay__gates_to_json(&suite->gates);
    assay_status st = gates ? ASSAY_OK : ASSAY_ERR_NOMEM;
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "{\"type\":\"run\",\"format\":%d",
                               RECORD_FORMAT);
    if (st == ASSAY_OK)
        st = put_str(b, "assay_version", assay_version());
    if (st == ASSAY_OK)
        st = put_str(b, "suite", suite->name);
    if (st == ASSAY_OK)
        st = put_str(b, "suite_file", suite->path);
    if (st == ASSAY_OK)
        st = put_str(b, "config_hash", suite->config_hash);
    if (st == ASSAY_OK)
        st = put_str(b, "started", started);
    if (st == ASSAY_OK)
        st = put_targets(b, suite, base_urls);
    if (st == ASSAY_OK)
        st = put_num(b, "repeat", suite->repeat);
    if (st == ASSAY_OK)
        st = put_json(b, "gates", gates);
    const cJSON *extra;
    cJSON_ArrayForEach (extra, j->header_extra)
        if (st == ASSAY_OK)
            st = put_json(b, extra->string, extra);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '}');
    cJSON_Delete(gates);
    if (st != ASSAY_OK) {
        assay__buf_reset(b);
        return assay__error(err, st, j->path, 0, 0,
                            "cannot build the run header: %s",
                            assay_strerror(st));
    }
    st = emit(j, err);
    if (st == ASSAY_OK)
        st = assay__journal_flush(j, err);
    if (st == ASSAY_OK)
        st = reserve_space(j, err);
    return st;
}

/* ------------------------------------------------------------ results */

static assay_status put_checks(assay__buf *b, const assay__result *r)
{
    assay_status st = put_key(b, "checks");
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '[');
    for (size_t i = 0; st == ASSAY_OK && i < r->n_checks; i++) {
        const assay__check_outcome *c = &r->checks[i];
        st = assay__buf_puts(b, i ? ",{\"type\":" : "{\"type\":");
        if (st == ASSAY_OK)
            st = put_json_text(b, c->type, strlen(c->type));
        if (st == ASSAY_OK && c->metric && strcmp(c->metric, c->type))
            st = put_str(b, "metric", c->metric);
        if (st == ASSAY_OK && c->weight != 1)
            st = put_num(b, "weight", c->weight);
        if (st == ASSAY_OK)
            st = put_bool(b, "pass", c->pass);
        if (st == ASSAY_OK)
            st = put_num(b, "score", c->score);
        if (st == ASSAY_OK)
            st = put_str(b, "reason", c->reason);
        if (st == ASSAY_OK)
            st = assay__buf_putc(b, '}');
    }
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ']');
    return st;
}

/* "tool_calls":[{"id","name","arguments"}], arguments as the model wrote
   them (a string: it may not even be JSON, which checks want to see). */
static assay_status put_tool_calls(assay__buf *b, const assay__response *resp)
{
    assay_status st = put_key(b, "tool_calls");
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '[');
    for (size_t i = 0; st == ASSAY_OK && i < resp->n_tool_calls; i++) {
        const assay__tool_call *c = &resp->tool_calls[i];
        st = assay__buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        if (st == ASSAY_OK)
            st = c->id ? put_json_text(b, c->id, strlen(c->id))
                       : assay__buf_puts(b, "null");
        if (st == ASSAY_OK)
            st = put_str(b, "name", c->name);
        if (st == ASSAY_OK)
            st = put_key(b, "arguments");
        if (st == ASSAY_OK)
            st = put_json_text(b, c->arguments.data,
                                             c->arguments.len);
        if (st == ASSAY_OK)
            st = assay__buf_putc(b, '}');
    }
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ']');
    return st;
}

static assay_status put_response(assay__buf *b, const assay__response *resp)
{
    assay_status st = put_key(b, "output");
    if (st == ASSAY_OK)
        st = resp ? put_json_text(b, resp->content.data,
                                                resp->content.len)
                  : assay__buf_puts(b, "null");
    if (st == ASSAY_OK && resp && resp->refusal.len)
        st = put_str(b, "refusal", resp->refusal.data);
    if (st == ASSAY_OK && resp && resp->n_tool_calls)
        st = put_tool_calls(b, resp);
    if (st == ASSAY_OK && resp && resp->logprobs)
        st = put_json(b, "logprobs", resp->logprobs);
    if (st == ASSAY_OK)
        st = put_opt_str(b, "finish_reason", resp ? resp->finish_reason : NULL);
    if (st == ASSAY_OK)
        st = put_opt_str(b, "model", resp ? resp->model : NULL);
    if (st == ASSAY_OK)
        st = put_opt_str(b, "response_id", resp ? resp->id : NULL);
    if (st == ASSAY_OK)
        st = put_opt_str(b, "system_fingerprint",
                         resp ? resp->system_fingerprint : NULL);
    return st;
}

static assay_status put_usage(assay__buf *b, const assay__response *resp)
{
    assay_status st = put_key(b, "usage");
    if (st != ASSAY_OK)
        return st;
    if (!resp)
        return assay__buf_puts(b, "null");
    st = assay__buf_puts(b, "{\"prompt_tokens\":");
    if (st == ASSAY_OK)
        st = resp->prompt_tokens < 0
                 ? assay__buf_puts(b, "null")
                 : assay__text_put_double(b, (double)resp->prompt_tokens);
    if (st == ASSAY_OK)
        st = put_count(b, "completion_tokens", resp->completion_tokens);
    if (st == ASSAY_OK)
        st = put_count(b, "total_tokens", resp->total_tokens);
    if (st == ASSAY_OK && resp->cached_tokens >= 0)
        st = put_count(b, "cached_tokens", resp->cached_tokens);
    if (st == ASSAY_OK && resp->reasoning_tokens >= 0)
        st = put_count(b, "reasoning_tokens", resp->reasoning_tokens);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '}');
    return st;
}

static assay_status put_error(assay__buf *b, const assay__result *r)
{
    assay_status st = put_key(b, "error");
    if (st != ASSAY_OK || !r->error_kind)
        return st == ASSAY_OK ? assay__buf_puts(b, "null") : st;
    st = assay__buf_puts(b, "{\"kind\":");
    if (st == ASSAY_OK)
        st = put_json_text(b, r->error_kind,
                                         strlen(r->error_kind));
    if (st == ASSAY_OK)
        st = put_count(b, "status", r->error_status > 0 ? r->error_status : -1);
    if (st == ASSAY_OK)
        st = put_str(b, "message", r->error_message);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '}');
    return st;
}

/* "grader":{"requests","prompt_tokens","completion_tokens"}: what the
   model-graded checks cost, apart from the target's usage. */
static assay_status put_grader(assay__buf *b, const assay__result *r)
{
    assay_status st = put_key(b, "grader");
    if (st == ASSAY_OK)
        st = assay__buf_printf(b, "{\"requests\":%ld", r->grader_requests);
    if (st == ASSAY_OK)
        st = put_count(b, "prompt_tokens", r->grader_prompt_tokens);
    if (st == ASSAY_OK)
        st = put_count(b, "completion_tokens", r->grader_completion_tokens);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '}');
    return st;
}

static assay_status build_result(assay__buf *b, const assay__result *r)
{
    assay_status st = assay__buf_puts(b, "{\"type\":\"result\"");
    if (st == ASSAY_OK)
        st = put_str(b, "case", r->case_id);
    if (st == ASSAY_OK)
        st = put_str(b, "target", r->target);
    if (st == ASSAY_OK && r->prompt)
        st = put_str(b, "prompt", r->prompt);
    if (st == ASSAY_OK)
        st = put_num(b, "repeat", r->repeat);
    if (st == ASSAY_OK)
        st = put_response(b, r->response);
    if (st == ASSAY_OK)
        st = r->has_verdict ? put_bool(b, "pass", r->pass)
                            : put_str(b, "pass", NULL);
    if (st == ASSAY_OK)
        st = put_num(b, "score", r->has_verdict ? r->score : NAN);
    if (st == ASSAY_OK)
        st = put_checks(b, r);
    if (st == ASSAY_OK)
        st = put_millis(b, "latency_ms",
                        r->latency_ms < 0 ? NAN : r->latency_ms);
    if (st == ASSAY_OK)
        st = put_millis(b, "ttft_ms", r->ttft_ms);
    if (st == ASSAY_OK)
        st = put_usage(b, r->response);
    if (st == ASSAY_OK)
        st = put_num(b, "attempts", r->attempts);
    if (st == ASSAY_OK && r->grader_requests > 0)
        st = put_grader(b, r);
    if (st == ASSAY_OK)
        st = put_bool(b, "cached", r->cached);
    if (st == ASSAY_OK)
        st = put_error(b, r);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '}');
    return st;
}

assay_status assay__journal_result(assay__journal *j, const assay__result *r,
                                   assay_error *err)
{
    assay_status st = build_result(&j->line, r);
    if (st != ASSAY_OK) {
        assay__buf_reset(&j->line);
        return assay__error(err, st, j->path, 0, 0,
                            "cannot build the result line of case '%s': %s",
                            r->case_id, assay_strerror(st));
    }
    return emit(j, err);
}

/* ------------------------------------------------------------ summary */

/* One metric of a group: {"name","n","pass_rate","mean","se","low","high"}. */
static assay_status put_metric(assay__buf *b, const assay_summary *s,
                               size_t g, size_t m)
{
    const char *name = assay_summary_metric_name(s, g, m);
    assay_status st = assay__buf_puts(b, m ? ",{\"name\":" : "{\"name\":");
    if (st == ASSAY_OK)
        st = put_json_text(b, name, strlen(name));
    static const struct {
        const char *key;
        assay_stat stat;
    } fields[] = {
        {"n", ASSAY_STAT_RESULTS},
        {"pass_rate", ASSAY_STAT_PASS_RATE},
        {"mean", ASSAY_STAT_SCORE_MEAN},
        {"se", ASSAY_STAT_SCORE_SE},
        {"low", ASSAY_STAT_SCORE_LOW},
        {"high", ASSAY_STAT_SCORE_HIGH},
    };
    for (size_t f = 0; st == ASSAY_OK && f < sizeof fields / sizeof *fields;
         f++)
        st = put_num(b, fields[f].key,
                     assay_summary_metric_stat(s, g, m, fields[f].stat));
    return st == ASSAY_OK ? assay__buf_putc(b, '}') : st;
}

static assay_status put_group(assay__buf *b, const assay_summary *s, size_t i)
{
    const char *target = assay_summary_group_target(s, i);
    assay_status st = assay__buf_puts(b, i ? ",{\"target\":" : "{\"target\":");
    if (st == ASSAY_OK)
        st = put_json_text(b, target, strlen(target));
    if (st == ASSAY_OK)
        st = put_str(b, "prompt", assay_summary_group_prompt(s, i));
    for (size_t f = 0; st == ASSAY_OK && f < assay__n_group_fields; f++)
        st = put_num(b, assay__group_fields[f].key,
                     assay_summary_stat(s, i, assay__group_fields[f].stat));
    if (st == ASSAY_OK)
        st = put_key(b, "metrics");
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '[');
    for (size_t m = 0; st == ASSAY_OK && m < assay_summary_metric_count(s, i);
         m++)
        st = put_metric(b, s, i, m);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "]}");
    return st;
}

static assay_status build_summary(assay__buf *b, const assay_summary *s,
                                  bool interrupted)
{
    assay_status st = assay__buf_puts(b, "{\"type\":\"summary\",\"groups\":[");
    for (size_t i = 0; st == ASSAY_OK && i < assay_summary_group_count(s); i++)
        st = put_group(b, s, i);
    if (st == ASSAY_OK)
        st = assay__buf_puts(b, "],\"gates\":[");
    for (size_t i = 0; st == ASSAY_OK && i < assay_summary_gate_count(s);
         i++) {
        st = assay__buf_puts(b, i ? ",{\"gate\":" : "{\"gate\":");
        const char *text = assay_summary_gate_text(s, i);
        if (st == ASSAY_OK)
            st = put_json_text(b, text, strlen(text));
        if (st == ASSAY_OK)
            st = put_bool(b, "pass", assay_summary_gate_passed(s, i));
        if (st == ASSAY_OK)
            st = assay__buf_putc(b, '}');
    }
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, ']');
    if (st == ASSAY_OK)
        st = put_bool(b, "pass", assay_summary_passed(s));
    if (st == ASSAY_OK && interrupted)
        st = put_bool(b, "interrupted", true);
    if (st == ASSAY_OK)
        st = assay__buf_putc(b, '}');
    return st;
}

assay_status assay__journal_summary(assay__journal *j,
                                    const assay_summary *summary,
                                    assay_error *err)
{
    assay_status st = build_summary(&j->line, summary, j->interrupted);
    if (st != ASSAY_OK) {
        assay__buf_reset(&j->line);
        return assay__error(err, st, j->path, 0, 0,
                            "cannot build the summary line: %s",
                            assay_strerror(st));
    }
    st = emit(j, err);
    return st == ASSAY_OK ? assay__journal_flush(j, err) : st;
}
