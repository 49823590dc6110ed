/*
 * fuzz_sse.c - fuzzes the Server-Sent Events parser (sse.c) and the
 * streamed chat completion built on it (openai.c's assay__openai_stream_*).
 *
 * The input is the body of a text/event-stream reply. It is fed twice:
 * whole, and in small pieces whose sizes come from the input itself, so
 * that lines, CRLF pairs and events are split across reads. Both feeds
 * must give the same events and the same response: a difference is a bug
 * as real as a crash, and aborts. The event cap is small here so that the
 * limit is reached by short inputs.
 */
#include "fuzz.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_MAX_EVENT 4096

/* What the events of one feed added up to. */
typedef struct event_log {
    uint64_t hash;
    size_t events;
} event_log;

static uint64_t mix(uint64_t h, const void *bytes, size_t n)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL; /* FNV-1a */
    return h ^ (uint64_t)n;
}

static assay_status on_event(const char *event, const char *data, size_t len,
                             void *user_data)
{
    event_log *log = user_data;
    log->hash = mix(log->hash, event, strlen(event));
    log->hash = mix(log->hash, data, len);
    log->events++;
    /* A callback may stop the feed; make sure that path is walked too. */
    return strcmp(event, "stop") ? ASSAY_OK : ASSAY_ERR_STATE;
}

/* Size of the next piece: 1 to 16 bytes, driven by the input. */
static size_t piece_size(const uint8_t *data, size_t size, size_t k)
{
    return (size_t)(data[k % size] & 15) + 1;
}

static assay_status feed_sse(const uint8_t *data, size_t size, bool split,
                             event_log *log)
{
    assay__sse p;
    *log = (event_log){.hash = 0xcbf29ce484222325ULL};
    assay__sse_init(&p, SSE_MAX_EVENT, on_event, log);
    assay_status st = ASSAY_OK;
    for (size_t at = 0, k = 0; at < size && st == ASSAY_OK; k++) {
        size_t n = split ? piece_size(data, size, k) : size;
        if (n > size - at)
            n = size - at;
        st = assay__sse_feed(&p, (const char *)data + at, n);
        at += n;
    }
    assay__sse_release(&p);
    return st;
}

static void check_sse(const uint8_t *data, size_t size)
{
    event_log whole, pieces;
    assay_status a = feed_sse(data, size, false, &whole);
    assay_status b = feed_sse(data, size, true, &pieces);
    if (a != b || whole.events != pieces.events || whole.hash != pieces.hash) {
        fprintf(stderr, "sse: whole feed (status %d, %zu events) differs from "
                "split feed (status %d, %zu events)\n", (int)a, whole.events,
                (int)b, pieces.events);
        abort();
    }
}

/* The stream's outcome, reduced to what must not depend on the pieces. */
typedef struct stream_result {
    assay_status status;
    uint64_t hash;
} stream_result;

static stream_result feed_stream(const uint8_t *data, size_t size, bool split,
                                 long http_status)
{
    assay__response r;
    assay__openai_stream s;
    assay_error err;
    assay__response_init(&r);
    assay__openai_stream_init(&s, &r);
    for (size_t at = 0, k = 0; at < size; k++) {
        size_t n = split ? piece_size(data, size, k) : size;
        if (n > size - at)
            n = size - at;
        if (assay__openai_stream_feed(&s, (const char *)data + at, n) !=
            ASSAY_OK)
            break;
        at += n;
    }
    stream_result out;
    out.status = assay__openai_stream_finish(&s, http_status, (const char *)data,
                                             size, &err);
    out.hash = mix(0xcbf29ce484222325ULL, r.content.data, r.content.len);
    out.hash = mix(out.hash, r.refusal.data, r.refusal.len);
    out.hash = mix(out.hash, r.finish_reason, strlen(r.finish_reason));
    out.hash = mix(out.hash, &r.n_tool_calls, sizeof r.n_tool_calls);
    for (size_t i = 0; i < r.n_tool_calls; i++)
        out.hash = mix(out.hash, r.tool_calls[i].arguments.data,
                       r.tool_calls[i].arguments.len);
    assay__openai_stream_release(&s);
    assay__response_release(&r);
    return out;
}

static void check_stream(const uint8_t *data, size_t size)
{
    /* Mostly a success; sometimes an error status, which parses the body. */
    long http_status = size % 7 == 3 ? 429 : 200;
    stream_result whole = feed_stream(data, size, false, http_status);
    stream_result pieces = feed_stream(data, size, true, http_status);
    if (whole.status != pieces.status || whole.hash != pieces.hash) {
        fprintf(stderr, "stream: whole feed (status %d) differs from split "
                "feed (status %d)\n", (int)whole.status, (int)pieces.status);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_sse(data, size);
    check_stream(data, size);
    return 0;
}
