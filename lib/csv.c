/*
 * csv.c - an RFC 4180 reader: bytes in, records out, no I/O.
 *
 * The caller feeds the text in pieces of any size and pulls records; each
 * byte is looked at once, by a small state machine, so a record split
 * across two pieces costs nothing extra. What it accepts:
 *  - fields separated by commas, records ended by LF, CRLF or a lone CR;
 *  - quoted fields holding commas, line breaks and doubled quotes ("");
 *  - a UTF-8 byte order mark at the very start, which is dropped;
 *  - a quote in the middle of an unquoted field, taken as text (as
 *    spreadsheets write `5" disk` and as most readers accept it);
 *  - blank lines, which are no records.
 * What it refuses, with the line and column: text after the closing quote
 * of a field, a quoted field still open at the end, and a record larger
 * than 16 MiB. After an error it resumes at the next line, so that a
 * caller may skip the bad record and go on.
 *
 * It does not know about headers, column names, types or encodings: the
 * dataset reader (dataset.c) makes cases of the records.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define CSV_MAX_RECORD ((size_t)16 << 20)
/* Consumed input is dropped once this much has piled up. */
#define CSV_COMPACT_AT ((size_t)64 << 10)

enum csv_state {
    CSV_FIELD_START, /* at the start of a field */
    CSV_UNQUOTED,
    CSV_QUOTED,
    CSV_QUOTE_SEEN,  /* a quote inside a quoted field: "" or the end */
    CSV_SKIP_LINE    /* after an error, up to the next line break */
};

struct assay__csv {
    char *name;
    assay__buf in; /* fed bytes not consumed yet start at `pos` */
    size_t pos;
    bool eof;
    bool bom_checked;
    bool after_cr; /* a CR ended the last line: a following LF is its pair */
    enum csv_state state;
    bool in_record;  /* something of the current record has been read */
    bool quoted;     /* the current field was quoted */
    assay__buf data; /* the record's fields, each NUL-terminated */
    size_t *starts;
    size_t n_fields;
    size_t cap_fields;
    size_t field_start;
    long line;     /* the line at `pos`, from 1 */
    long col;      /* the column at `pos`, from 1, in bytes */
    long rec_line; /* where the current record starts */
    long open_line; /* where the current quoted field opened */
    bool ready;    /* a record was handed out: clear it first */
};

assay_status assay__csv_new(const char *name, assay__csv **out,
                            assay_error *err)
{
    *out = NULL;
    assay__csv *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name ? name : "<csv>"))) {
        free(r);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    assay__buf_init(&r->in, 0);
    assay__buf_init(&r->data, CSV_MAX_RECORD);
    r->line = 1;
    r->col = 1;
    r->rec_line = 1;
    *out = r;
    return ASSAY_OK;
}

void assay__csv_free(assay__csv *r)
{
    if (!r)
        return;
    assay__buf_release(&r->in);
    assay__buf_release(&r->data);
    free(r->starts);
    free(r->name);
    free(r);
}

assay_status assay__csv_feed(assay__csv *r, const char *data, size_t len,
                             assay_error *err)
{
    if (r->pos >= CSV_COMPACT_AT && r->pos * 2 >= r->in.len) {
        memmove(r->in.data, r->in.data + r->pos, r->in.len - r->pos);
        r->in.len -= r->pos;
        r->in.data[r->in.len] = '\0';
        r->pos = 0;
    }
    if (assay__buf_append(&r->in, data, len) != ASSAY_OK)
        return assay__error(err, ASSAY_ERR_NOMEM, r->name, 0, 0,
                            "out of memory reading the file");
    return ASSAY_OK;
}

void assay__csv_finish(assay__csv *r)
{
    r->eof = true;
}

size_t assay__csv_field_count(const assay__csv *r)
{
    return r->n_fields;
}

const char *assay__csv_field(const assay__csv *r, size_t i, size_t *len)
{
    size_t start = r->starts[i];
    size_t end = i + 1 < r->n_fields ? r->starts[i + 1] - 1 : r->data.len - 1;
    if (len)
        *len = end - start;
    return r->data.data + start;
}

long assay__csv_line(const assay__csv *r)
{
    return r->rec_line;
}

static assay_status too_big(assay__csv *r, assay_error *err)
{
    r->state = CSV_SKIP_LINE;
    return assay__error(err, ASSAY_ERR_LIMIT, r->name, (int)r->rec_line, 0,
                        "the record is larger than %zu MiB",
                        CSV_MAX_RECORD >> 20);
}

static assay_status put(assay__csv *r, char c, assay_error *err)
{
    return assay__buf_putc(&r->data, c) == ASSAY_OK ? ASSAY_OK
                                                      : too_big(r, err);
}

/* Ends the current field. */
static assay_status end_field(assay__csv *r, assay_error *err)
{
    if (r->n_fields == r->cap_fields) {
        size_t cap = r->cap_fields ? 2 * r->cap_fields : 16;
        size_t *s = realloc(r->starts, cap * sizeof *s);
        if (!s)
            return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                "out of memory");
        r->starts = s;
        r->cap_fields = cap;
    }
    r->starts[r->n_fields++] = r->field_start;
    assay_status st = put(r, '\0', err);
    r->field_start = r->data.len;
    r->quoted = false;
    r->state = CSV_FIELD_START;
    return st;
}

static void clear_record(assay__csv *r)
{
    assay__buf_reset(&r->data);
    r->n_fields = 0;
    r->field_start = 0;
    r->in_record = false;
    r->quoted = false;
    r->ready = false;
    r->rec_line = r->line;
}

static void new_line(assay__csv *r)
{
    r->line++;
    r->col = 1;
}

/* A blank line is one unquoted empty field: no record. */
static bool is_blank_record(const assay__csv *r)
{
    return r->n_fields == 1 && !r->quoted && r->data.len == 1;
}

/*
 * Handles a line break outside quotes: ends the record. Returns true when
 * a record is ready to hand out.
 */
static bool end_line(assay__csv *r, char c, assay_status *st,
                     assay_error *err)
{
    bool quoted = r->quoted;
    *st = end_field(r, err);
    r->quoted = quoted;
    r->after_cr = c == '\r';
    new_line(r);
    if (*st != ASSAY_OK)
        return false;
    if (is_blank_record(r)) {
        clear_record(r);
        return false;
    }
    r->ready = true;
    return true;
}

/* A byte of an unquoted field (or what ends it). */
static bool unquoted(assay__csv *r, char c, assay_status *st,
                     assay_error *err)
{
    if (c == ',') {
        *st = end_field(r, err);
        return false;
    }
    if (c == '\n' || c == '\r')
        return end_line(r, c, st, err);
    r->state = CSV_UNQUOTED;
    *st = put(r, c, err);
    return false;
}

/* One byte outside of the error path; true when a record is complete. */
static bool step(assay__csv *r, char c, assay_status *st, assay_error *err)
{
    *st = ASSAY_OK;
    if (r->after_cr) {
        r->after_cr = false;
        if (c == '\n') {
            r->rec_line = r->line;
            return false;
        }
    }
    if (!r->in_record) {
        r->in_record = true;
        r->rec_line = r->line;
    }
    r->col++;
    switch (r->state) {
    case CSV_FIELD_START:
        if (c == '"') {
            r->state = CSV_QUOTED;
            r->quoted = true;
            r->open_line = r->line;
            return false;
        }
        return unquoted(r, c, st, err);
    case CSV_UNQUOTED:
        return unquoted(r, c, st, err);
    case CSV_QUOTED:
        if (c == '"') {
            r->state = CSV_QUOTE_SEEN;
            return false;
        }
        if (c == '\n')
            new_line(r);
        *st = put(r, c, err);
        return false;
    case CSV_QUOTE_SEEN:
        if (c == '"') {
            r->state = CSV_QUOTED;
            *st = put(r, c, err);
            return false;
        }
        if (c == ',') {
            *st = end_field(r, err);
            r->quoted = false;
            return false;
        }
        if (c == '\n' || c == '\r')
            return end_line(r, c, st, err);
        r->state = CSV_SKIP_LINE;
        *st = assay__error(err, ASSAY_ERR_DATASET, r->name, (int)r->line,
                           (int)(r->col - 1),
                           "text after the closing quote of a field (a "
                           "quote inside a quoted field is written \"\")");
        return false;
    case CSV_SKIP_LINE:
        break;
    }
    return false;
}

/* Skips to the next line break after an error; true once past it. */
static bool skip_line(assay__csv *r, char c)
{
    if (c != '\n' && c != '\r')
        return false;
    r->after_cr = c == '\r';
    new_line(r);
    r->state = CSV_FIELD_START;
    clear_record(r);
    return true;
}

assay_status assay__csv_next(assay__csv *r, assay__csv_result *result,
                             assay_error *err)
{
    *result = ASSAY__CSV_MORE;
    if (r->ready)
        clear_record(r);
    if (!r->bom_checked) {
        if (r->in.len - r->pos < 3 && !r->eof)
            return ASSAY_OK;
        if (r->in.len - r->pos >= 3 &&
            !memcmp(r->in.data + r->pos, "\xEF\xBB\xBF", 3))
            r->pos += 3;
        r->bom_checked = true;
    }
    while (r->pos < r->in.len) {
        char c = r->in.data[r->pos++];
        if (r->state == CSV_SKIP_LINE) {
            skip_line(r, c);
            continue;
        }
        assay_status st;
        bool done = step(r, c, &st, err);
        if (st != ASSAY_OK) {
            if (c == '\n' || c == '\r') { /* the break is consumed */
                r->state = CSV_FIELD_START;
                clear_record(r);
            } else {
                r->state = CSV_SKIP_LINE;
            }
            return st;
        }
        if (done) {
            *result = ASSAY__CSV_RECORD;
            return ASSAY_OK;
        }
    }
    if (!r->eof)
        return ASSAY_OK;
    if (r->state == CSV_SKIP_LINE) {
        r->state = CSV_FIELD_START;
        clear_record(r);
    }
    if (!r->in_record) {
        *result = ASSAY__CSV_END;
        return ASSAY_OK;
    }
    if (r->state == CSV_QUOTED) {
        long opened = r->open_line;
        clear_record(r);
        r->state = CSV_FIELD_START;
        return assay__error(err, ASSAY_ERR_DATASET, r->name, (int)opened, 0,
                            "a quoted field opened on this line is never "
                            "closed");
    }
    assay_status st;
    if (!end_line(r, '\n', &st, err)) {
        if (st != ASSAY_OK)
            return st;
        *result = ASSAY__CSV_END;
        return ASSAY_OK;
    }
    *result = ASSAY__CSV_RECORD;
    return ASSAY_OK;
}
