/*
 * sse.c - a push parser for Server-Sent Events (text/event-stream).
 *
 * Bytes go in as they arrive, in pieces of any size (an event, a line, even
 * a CRLF pair may be split across reads); each complete event comes out
 * through the callback. It follows the WHATWG rules that matter for API
 * streams: lines end in LF, CRLF or CR; a line starting with ':' is a
 * comment; "field: value" loses one space after the colon; several `data`
 * lines join with '\n'; a blank line dispatches the event; an event still
 * incomplete when the stream ends is dropped. It does no I/O and knows
 * nothing of JSON. An event larger than the cap is an error, not a reason
 * to grow without bound.
 */
#include "internal.h"

#include <string.h>

void assay__sse_init(assay__sse *p, size_t max_event, assay__sse_event_fn fn,
                     void *user_data)
{
    memset(p, 0, sizeof *p);
    assay__buf_init(&p->line, max_event);
    assay__buf_init(&p->data, max_event);
    p->fn = fn;
    p->user_data = user_data;
    p->at_start = true;
}

void assay__sse_release(assay__sse *p)
{
    assay__buf_release(&p->line);
    assay__buf_release(&p->data);
}

static assay_status dispatch(assay__sse *p)
{
    if (!p->has_data) {
        p->event[0] = '\0';
        return ASSAY_OK;
    }
    assay_status st = p->fn(p->event[0] ? p->event : "message", p->data.data,
                            p->data.len, p->user_data);
    assay__buf_reset(&p->data);
    p->has_data = false;
    p->event[0] = '\0';
    return st;
}

static assay_status take_field(assay__sse *p, const char *name, size_t name_len,
                               const char *value, size_t value_len)
{
    if (name_len == 4 && !memcmp(name, "data", 4)) {
        assay_status st = ASSAY_OK;
        if (p->has_data)
            st = assay__buf_putc(&p->data, '\n');
        if (st == ASSAY_OK)
            st = assay__buf_append(&p->data, value, value_len);
        p->has_data = true;
        return st;
    }
    if (name_len == 5 && !memcmp(name, "event", 5)) {
        size_t n = value_len < sizeof p->event - 1 ? value_len
                                                   : sizeof p->event - 1;
        memcpy(p->event, value, n);
        p->event[n] = '\0';
    }
    return ASSAY_OK; /* id, retry and unknown fields do not matter here */
}

static assay_status take_line(assay__sse *p)
{
    const char *line = p->line.data;
    size_t len = p->line.len;
    if (p->at_start && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
        line += 3;
        len -= 3;
    }
    p->at_start = false;
    if (len == 0)
        return dispatch(p);
    if (line[0] == ':')
        return ASSAY_OK;
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return take_field(p, line, len, "", 0);
    size_t name_len = (size_t)(colon - line);
    const char *value = colon + 1;
    size_t value_len = len - name_len - 1;
    if (value_len && *value == ' ') {
        value++;
        value_len--;
    }
    return take_field(p, line, name_len, value, value_len);
}

assay_status assay__sse_feed(assay__sse *p, const char *bytes, size_t n)
{
    for (size_t i = 0; i < n;) {
        char c = bytes[i];
        if (p->after_cr && c == '\n') { /* the LF of a CRLF split by reads */
            p->after_cr = false;
            i++;
            continue;
        }
        p->after_cr = false;
        if (c == '\n' || c == '\r') {
            p->after_cr = c == '\r';
            assay_status st = take_line(p);
            assay__buf_reset(&p->line);
            if (st != ASSAY_OK)
                return st;
            i++;
            continue;
        }
        /* Copy the run of ordinary bytes at once. */
        size_t end = i;
        while (end < n && bytes[end] != '\n' && bytes[end] != '\r')
            end++;
        assay_status st = assay__buf_append(&p->line, bytes + i, end - i);
        if (st != ASSAY_OK)
            return st;
        i = end;
    }
    return ASSAY_OK;
}
