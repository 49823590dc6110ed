/*
 * sse.c - a streamed reply (text/event-stream): a list of events that
 * libmicrohttpd pulls one at a time through a content reader callback, so
 * that each event leaves as its own chunk, with an optional pause before
 * every event but the first (a client can measure time to first token).
 *
 * What it does not do: build the events' JSON (chat.c, completions.c) or
 * decide when to cut a stream short (faults.c calls sse_stream_cut_after).
 * A pause gives up when the server is stopping, and the connection is then
 * closed with an error rather than ended cleanly.
 */
#include "server.h"

#include <microhttpd.h>

#include <stdlib.h>
#include <string.h>

#define MAX_STREAM_EVENTS 1000000u
#define STREAM_BLOCK_SIZE (64u * 1024u)

struct sse_event {
    char *text; /* "data: ...\n\n", malloc'd */
    size_t len;
};

struct sse_stream {
    struct sse_event *events;
    size_t count, cap;
    size_t end;    /* events sent before the stream ends: count, or less when cut */
    size_t next;   /* the event being sent */
    size_t offset; /* bytes of it already sent */
    long chunk_delay_ms;
};

struct sse_stream *sse_stream_new(long chunk_delay_ms)
{
    struct sse_stream *s = calloc(1, sizeof *s);
    if (s) {
        s->chunk_delay_ms = chunk_delay_ms;
        s->end = (size_t)-1;
    }
    return s;
}

void sse_stream_free(struct sse_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        free(s->events[i].text);
    free(s->events);
    free(s);
}

static bool push_event(struct sse_stream *s, char *event, size_t len)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct sse_event *events =
            cap <= MAX_STREAM_EVENTS ? realloc(s->events, cap * sizeof *events) : NULL;
        if (!events) {
            free(event);
            return false;
        }
        s->events = events;
        s->cap = cap;
    }
    s->events[s->count++] = (struct sse_event){event, len};
    return true;
}

bool sse_stream_take_event(struct sse_stream *s, char *json_text)
{
    if (!json_text)
        return false;
    size_t len = strlen(json_text);
    char *event = malloc(len + sizeof "data: \n\n");
    if (event) {
        memcpy(event, "data: ", 6);
        memcpy(event + 6, json_text, len);
        memcpy(event + 6 + len, "\n\n", 3);
    }
    free(json_text);
    return event && push_event(s, event, len + 8);
}

bool sse_stream_add_done(struct sse_stream *s)
{
    static const char done_event[] = "data: [DONE]\n\n";
    char *done = strdup(done_event);
    return done && push_event(s, done, sizeof done_event - 1);
}

void sse_stream_cut_after(struct sse_stream *s, size_t events)
{
    s->end = events;
}

size_t sse_stream_event_count(const struct sse_stream *s)
{
    return s->count;
}

/* MHD asks for more body; hands over (part of) one event per call. */
static ssize_t read_next_event(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sse_stream *s = cls;
    (void)pos;
    size_t end = s->end < s->count ? s->end : s->count;
    if (s->next >= end)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->offset == 0 && s->next > 0 && s->chunk_delay_ms > 0
        && !sleep_unless_stopping(s->chunk_delay_ms))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    const struct sse_event *event = &s->events[s->next];
    size_t left = event->len - s->offset;
    size_t n = left < max ? left : max;
    memcpy(buf, event->text + s->offset, n);
    s->offset += n;
    if (s->offset == event->len) {
        s->next++;
        s->offset = 0;
    }
    return (ssize_t)n;
}

static void free_stream(void *cls)
{
    sse_stream_free(cls);
}

struct MHD_Response *sse_stream_response(struct sse_stream *s)
{
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, read_next_event, s, free_stream);
    if (!r)
        sse_stream_free(s);
    return r;
}
