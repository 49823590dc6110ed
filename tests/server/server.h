/*
 * server.h - what the files of the fake OpenAI server share: its options,
 * the answer table, the reply a handler builds, and the server state.
 *
 * The fake server is one program split by concept: options.c (command
 * line), answers.c (the scripted answer table and attempt counts),
 * faults.c (fault modes and their rates), ratelimit.c (the rolling-minute
 * limiter and its headers), bodies.c (the pieces of OpenAI JSON bodies),
 * sse.c (streamed replies), endpoints.c (what the POST endpoints share,
 * and the request log), chat.c, completions.c and embeddings.c (one
 * endpoint each), and fake_server.c (HTTP glue, routes, lifecycle).
 * Nothing here is part of libassay.
 */
#ifndef ASSAY_FAKE_SERVER_H
#define ASSAY_FAKE_SERVER_H

#include <cjson/cJSON.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PRINTF_LIKE(fmt, args)
#endif

#define MODEL_ID "fake-model"
#define DEFAULT_REPLY "I don't know."
#define MAX_DELAY_MS 3600000L          /* one hour */
#define MAX_HUGE_BYTES ((long)1 << 30) /* --huge-bytes: 1 GiB */
#define MAX_EMBEDDING_DIM 4096L
#define MAX_RATELIMIT 10000000L        /* --ratelimit-rpm and --ratelimit-tpm */

enum { EXIT_STARTUP = 1, EXIT_USAGE = 2 };

/* ------------------------------------------------------------ options */

enum stream_shape {
    STREAM_SHAPE_OPENAI, /* a role chunk first; usage in its own chunk, only when asked */
    STREAM_SHAPE_LLAMA,  /* no role chunk; usage always on the finish_reason chunk */
};

struct fault_mode;

/* How often each fault mode fires at random, from --faults and --fail-rate. */
#define MAX_RATED_FAULTS 32
struct fault_rate {
    const struct fault_mode *mode;
    double rate;
};

struct server_options {
    unsigned port;
    const char *answers_path;
    const char *log_path;
    const char *default_reply;
    long delay_ms;
    long chunk_delay_ms;
    long stream_chunks; /* 0: one chunk per word */
    enum stream_shape stream_shape;
    bool no_echo;
    bool list_in_one; /* a prompt list answered with one object (OpenAI, vLLM) */
    long embedding_dim;
    struct fault_rate fault_rates[MAX_RATED_FAULTS];
    size_t fault_rate_count;
    uint64_t seed;
    long retry_after_s;
    long stall_ms;
    long huge_bytes;
    long ratelimit_rpm; /* 0: no request limit */
    long ratelimit_tpm; /* 0: no token limit */
    bool concurrency_report;
};

enum options_result { OPTIONS_RUN, OPTIONS_HELP, OPTIONS_BAD };

enum options_result options_parse(int argc, char **argv, struct server_options *opt);
void options_print_usage(FILE *to);

/* ------------------------------------------------------------ answer table */

/* What a Retry-After should say; each part is sent only when set. */
struct retry_hint {
    long seconds;      /* -1: not set */
    char *date;        /* an HTTP date sent as it is, or NULL */
    long date_in_s;    /* -1: not set; else send the HTTP date this many seconds ahead */
    long ms;           /* -1: not set; sent as retry-after-ms */
};

struct answer {
    char *match;                    /* the prompt, or a part of it: */
    bool contains;                  /* "contains": any prompt holding `match` */
    char *reply;                    /* NULL: use the default reply */
    char *finish_reason;
    char *tool_calls;               /* OpenAI's message.tool_calls as JSON, or NULL */
    int status;                     /* 200, or a scripted failure in 400..599 */
    const struct fault_mode *fault; /* NULL: none */
    long fail_times;                /* -1: fail every time; N: only the first N requests */
    long delay_ms;                  /* -1: use the global delay */
    long chunk_delay_ms;            /* -1: use the global chunk delay */
    struct retry_hint retry;
    long line;
};

/*
 * Sorted by `match` once loaded, so that a lookup is a binary search.
 * `attempts[i]` counts the requests answered from items[i]; requests that
 * match no answer are counted per prompt text in `others`.
 */
struct prompt_counts;
struct answer_table {
    struct answer *items;
    size_t count;
    size_t cap;
    atomic_ulong *attempts;
    struct prompt_counts *others;
};

bool answer_table_load(struct answer_table *t, const char *path);
bool answer_table_init_counts(struct answer_table *t);
void answer_table_release(struct answer_table *t);
/* Borrowed; valid until the table is released. NULL when nothing matches. */
const struct answer *answer_table_find(const struct answer_table *t, const char *match);
/*
 * Counts one more request for `prompt` (answered from `answer`, or from
 * the default reply when it is NULL) and says which one it is, from 1.
 * Returns 0 when the prompt cannot be counted (past the counter's cap).
 */
unsigned long answer_table_count_attempt(struct answer_table *t, const struct answer *answer,
                                         const char *prompt);
/* Whether the answer's fault or status applies to its `attempt`-th request. */
bool answer_fails_on(const struct answer *answer, unsigned long attempt);

void PRINTF_LIKE(3, 4) report_line(const char *path, long line, const char *fmt, ...);

/* ------------------------------------------------------------ replies */

#define MAX_REPLY_HEADERS 12
#define HEADER_VALUE_MAX 80

struct http_header {
    const char *name;
    char value[HEADER_VALUE_MAX];
};

struct sse_stream;

/* What a handler decided to answer. `body` is malloc'd and owned here. */
struct http_reply {
    unsigned status;
    char *body;                /* NULL with status 0: out of memory */
    size_t body_len;           /* may be shorter than strlen(body): a truncated body */
    const char *content_type;  /* NULL: application/json */
    const char *allow;         /* the Allow header of a 405, or NULL */
    struct http_header headers[MAX_REPLY_HEADERS];
    size_t header_count;
    struct sse_stream *stream; /* non-NULL: the body is this stream, not `body` */
    long delay_ms;             /* wait before sending anything */
    bool reset;                /* after the delay, close the connection with no answer */
    const char *fault;         /* the fault mode's name, for the log, or NULL */
};

void reply_set_error(struct http_reply *out, unsigned status, const char *message,
                     const char *type);
void reply_set_error_code(struct http_reply *out, unsigned status, const char *message,
                          const char *type, const char *code);
void reply_set_body(struct http_reply *out, unsigned status, const char *json_text);
void reply_take_body(struct http_reply *out, unsigned status, char *json_text);
void PRINTF_LIKE(3, 4) reply_add_header(struct http_reply *out, const char *name,
                                        const char *fmt, ...);
void reply_release(struct http_reply *out);

/* ------------------------------------------------------------ streams */

struct sse_stream *sse_stream_new(long chunk_delay_ms);
void sse_stream_free(struct sse_stream *s);
/* Appends "data: TEXT\n\n"; takes `json_text` (malloc'd). False if out of memory. */
bool sse_stream_take_event(struct sse_stream *s, char *json_text);
/* Appends the raw "data: [DONE]\n\n" terminator. */
bool sse_stream_add_done(struct sse_stream *s);
/* Ends the stream cleanly after its first `events` events, whatever follows. */
void sse_stream_cut_after(struct sse_stream *s, size_t events);
size_t sse_stream_event_count(const struct sse_stream *s);
/* Hands the stream to MHD, which frees it with the response; NULL if out of memory. */
struct MHD_Response *sse_stream_response(struct sse_stream *s);

/* ------------------------------------------------------------ server state */

/* xorshift64* behind a mutex: reproducible for a seed, safe across threads. */
struct fault_prng {
    pthread_mutex_t lock;
    uint64_t state;
};

void fault_prng_init(struct fault_prng *p, uint64_t seed);
void fault_prng_release(struct fault_prng *p);

struct rate_window;
struct rate_limiter {
    pthread_mutex_t lock;
    long rpm, tpm;
    struct rate_window *requests; /* NULL without --ratelimit-rpm */
    struct rate_window *tokens;   /* NULL without --ratelimit-tpm */
};

struct fake_server {
    struct server_options options;
    struct answer_table answers;
    FILE *log; /* NULL without --log */
    pthread_mutex_t log_lock;
    struct fault_prng prng;
    struct rate_limiter limiter;
    atomic_ullong completions; /* numbers the chatcmpl-fake-N ids */
    atomic_long in_flight;     /* API requests being handled now */
    atomic_long max_in_flight;
    double started_ms; /* CLOCK_MONOTONIC at start, in ms */
    struct MHD_Daemon *daemon;
};

/* Milliseconds on CLOCK_MONOTONIC, with fractions. */
double monotonic_ms(void);
/* Sleeps up to `ms`, waking every 50 ms; false if the server is stopping. */
bool sleep_unless_stopping(long ms);

/* ------------------------------------------------------------ rate limits */

bool rate_limiter_init(struct rate_limiter *l, long rpm, long tpm);
void rate_limiter_release(struct rate_limiter *l);
/*
 * Admits a request that costs `tokens`, or refuses it with a 429 and a
 * retry-after. Either way it adds the x-ratelimit-* headers to `out`.
 * True when admitted (or when no limit is set).
 */
bool rate_limiter_admit(struct rate_limiter *l, long tokens, struct http_reply *out);

/* ------------------------------------------------------------ one exchange */

/*
 * One POST to a completion-like endpoint, from parsed request to reply.
 * An endpoint fills `prompt`, `answer` and `attempt`; faults.c may ask it
 * to answer normally (perhaps with `reply_override`) and then spoil it.
 */
struct exchange;
typedef void (*answer_fn)(struct exchange *ex, struct http_reply *out);

struct exchange {
    struct fake_server *srv;
    const cJSON *request;
    const struct answer *answer; /* may be NULL */
    unsigned long attempt;
    bool stream;
    long tokens;                /* the request's cost for --ratelimit-tpm */
    answer_fn answer_normally;  /* builds the 200 reply */
    const char *reply_override; /* when set, the text to answer instead */
    /* Set by a streamed answer: how many events go up to its first content chunk. */
    size_t events_through_first_content;
};

/*
 * What every API request goes through once its endpoint has found the
 * prompt: the rate limiter, the answer's own fault or status (for the
 * attempts it fails), a random fault (--faults), else answer_normally.
 */
void exchange_run(struct exchange *ex, struct http_reply *out);

/* The text to answer for `answer`: its reply, or the default reply. */
const char *exchange_reply_text(const struct exchange *ex, const struct answer *answer);
long exchange_chunk_delay(const struct exchange *ex, const struct answer *answer);

/* ------------------------------------------------------------ fault modes */

const struct fault_mode *fault_mode_find(const char *name);
/* Writes every mode's name, separated by `sep`, to `to`. */
void fault_mode_list(FILE *to, const char *sep);
/* Parses "NAME=RATE,NAME=RATE" into `opt`; on error says why on stderr. */
bool fault_rates_parse(struct server_options *opt, const char *spec);
bool fault_rates_set(struct server_options *opt, const struct fault_mode *mode, double rate);
/* The mode a seeded random draw picks for this request (--faults), or NULL. */
const struct fault_mode *fault_choose(struct exchange *ex);
void fault_apply(const struct fault_mode *mode, struct exchange *ex, struct http_reply *out);
/* The Retry-After headers an answer asks for (429 also gets a default). */
void fault_add_retry_headers(const struct exchange *ex, struct http_reply *out, bool need_one);

/* ------------------------------------------------------------ JSON bodies */

size_t count_words(const char *s);
char *print_and_delete(cJSON *json);
char *content_text(const cJSON *content);
const cJSON *last_user_message(const cJSON *messages);
size_t prompt_tokens(const cJSON *messages);
const char *request_model(const cJSON *request);
bool request_wants_usage(const cJSON *request);

/* A piece of a reply as streamed: `len` bytes at `text`. */
struct text_piece {
    const char *text;
    size_t len;
};
/*
 * Splits `text` into at most `max_pieces` pieces at word starts (0: one per
 * word), each word carrying the whitespace before it, so that the pieces
 * put together give `text` back. Returns the count; *out is malloc'd.
 */
size_t split_for_stream(const char *text, long max_pieces, struct text_piece **out);

/* The first 8 bytes of the SHA-256 of `len` bytes, big-endian. */
uint64_t hash64_of(const void *data, size_t len);

/* Legacy completions logprobs: tokens, token_logprobs, top_logprobs, text_offset. */
cJSON *legacy_logprobs(const char *text, size_t echoed_len, long top_n);
/* A unit vector of `dim` floats: the sum of hashed per-word vectors, normalised. */
void embed_text(const char *text, long dim, double *out);

/* The fields every completion body and chunk starts with. */
struct completion_meta {
    char id[48];
    double created;
    const char *model;
    const char *object; /* "chat.completion", "chat.completion.chunk", "text_completion" */
};
void completion_meta_init(struct completion_meta *m, struct fake_server *srv,
                          const cJSON *request, const char *object);
/* The envelope {"id", "object", "created", "model", "system_fingerprint", "choices": []}. */
cJSON *completion_envelope(const struct completion_meta *m, cJSON **choices);
/* Adds "usage": {prompt_tokens, completion_tokens, total_tokens}; false if out of memory. */
bool add_usage(cJSON *obj, size_t prompt, size_t completion);

/* ------------------------------------------------------------ handlers */

/* One HTTP request as the handlers see it, gathered across MHD's calls. */
struct request_info {
    const char *path;
    const char *authorization; /* borrowed from MHD, or NULL */
    const char *body;          /* NUL-terminated, or NULL */
    size_t body_len;
    bool body_too_large;
    bool body_out_of_memory;
    double arrived_ms; /* monotonic_ms() when its headers came in */
};

/*
 * A POST endpoint answers one parsed JSON request. It sets *attempt to the
 * request's number among those for the same prompt (0 when it has none).
 */
typedef void (*endpoint_fn)(struct fake_server *srv, const cJSON *request,
                            struct http_reply *out, unsigned long *attempt);

void endpoint_chat(struct fake_server *srv, const cJSON *request, struct http_reply *out,
                   unsigned long *attempt);
void endpoint_completions(struct fake_server *srv, const cJSON *request, struct http_reply *out,
                          unsigned long *attempt);
void endpoint_embeddings(struct fake_server *srv, const cJSON *request, struct http_reply *out,
                         unsigned long *attempt);

/*
 * Parses the body, runs `endpoint` and logs the request (--log): what came
 * in (authorization, body), when (t_ms), where (path), which attempt, and
 * what was answered (status, or reset; fault when one was injected).
 */
void handle_json_post(struct fake_server *srv, const struct request_info *req,
                      endpoint_fn endpoint, struct http_reply *out);

#endif
