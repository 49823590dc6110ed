/*
 * internal.h - what the library's files share with each other and with the
 * white-box unit tests. Nothing here is public: names are assay__module_verb.
 */
#ifndef ASSAY_INTERNAL_H
#define ASSAY_INTERNAL_H

#include "assay.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define ASSAY__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define ASSAY__PRINTF(fmt, args)
#endif

/* ------------------------------------------------------------ buf.c */

/*
 * A growable byte buffer with a cap. `data` is never NULL and always NUL
 * terminated after _init, so it can be used as a C string at any time.
 * Appends past `max` fail with ASSAY_ERR_LIMIT and leave the buffer as it was.
 */
typedef struct assay__buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} assay__buf;

#define ASSAY__BUF_DEFAULT_MAX ((size_t)64 << 20)

void assay__buf_init(assay__buf *b, size_t max);
void assay__buf_release(assay__buf *b);
void assay__buf_reset(assay__buf *b);
assay_status assay__buf_append(assay__buf *b, const void *data, size_t n);
assay_status assay__buf_puts(assay__buf *b, const char *s);
assay_status assay__buf_putc(assay__buf *b, char c);
assay_status assay__buf_printf(assay__buf *b, const char *fmt, ...)
    ASSAY__PRINTF(2, 3);
/* Takes the bytes (caller frees) and leaves the buffer empty and usable. */
char *assay__buf_detach(assay__buf *b, size_t *len);

/* ------------------------------------------------------------ error.c */

/*
 * Fills `err` (which may be NULL) and returns `status`, so that callers can
 * write `return assay__error(err, ASSAY_ERR_SUITE, file, line, col, ...)`.
 * With a file, the message becomes "file:line:col: text" (":col" left out
 * when col is 0, ":line" when line is 0).
 */
assay_status assay__error(assay_error *err, assay_status status,
                          const char *file, int line, int col,
                          const char *fmt, ...) ASSAY__PRINTF(6, 7);
assay_status assay__error_v(assay_error *err, assay_status status,
                            const char *file, int line, int col,
                            const char *fmt, va_list ap);
/* Adds "prefix: " in front of an already filled message. */
void assay__error_prefix(assay_error *err, const char *fmt, ...)
    ASSAY__PRINTF(2, 3);

/* ------------------------------------------------------------ text.c */

/*
 * Copies at most `max` bytes of `s` into `out` as a quoted, escaped excerpt
 * for messages ('...' with \n and control bytes escaped), never cutting a
 * UTF-8 sequence, and marks a cut with an ellipsis.
 */
assay_status assay__text_excerpt(assay__buf *out, const char *s, size_t len,
                                 size_t max);
/* Prints a double the same way in every locale (shortest round-trip form). */
assay_status assay__text_put_double(assay__buf *out, double v);
/* Appends `s` as a JSON string literal, quotes included. */
assay_status assay__text_put_json_string(assay__buf *out, const char *s,
                                         size_t len);

/* ------------------------------------------------------------ yaml.c */

/*
 * A parsed YAML or JSON document: a cJSON tree plus the source position of
 * every node, for error messages. JSON is read through the YAML parser too,
 * so both formats report positions. Scalars follow the YAML 1.2 core schema:
 * plain `true`/`false`, `null`/`~`/empty, integers and floats become JSON
 * booleans, null and numbers; quoted scalars are always strings.
 */
typedef struct assay__doc assay__doc;

assay_status assay__doc_load(const char *path, assay__doc **out,
                             assay_error *err);
/* Parses text held in memory; `name` stands for the file in messages. */
assay_status assay__doc_parse(const char *name, const char *text, size_t len,
                              assay__doc **out, assay_error *err);
void assay__doc_free(assay__doc *doc);
cJSON *assay__doc_root(const assay__doc *doc);
const char *assay__doc_name(const assay__doc *doc);
/* Where `node`'s value starts (line and column from 1); false if unknown. */
bool assay__doc_where(const assay__doc *doc, const cJSON *node, int *line,
                      int *col);
/* Where the key of object member `node` starts; the value's place if none. */
bool assay__doc_where_key(const assay__doc *doc, const cJSON *node,
                          int *line, int *col);
/* Fills err with "file:line:col: text" at `node`'s value (or key). */
assay_status assay__doc_error(const assay__doc *doc, const cJSON *node,
                              bool at_key, assay_error *err,
                              assay_status status, const char *fmt, ...)
    ASSAY__PRINTF(6, 7);

/* ------------------------------------------------------------ template.c */

/*
 * `{{name}}` and `{{a.b.0}}` substitution into message text. A template is
 * compiled once and rendered per case; a variable that the case lacks is an
 * error naming the case and the variable, never an empty string.
 * Strings are inserted as they are, numbers in their shortest form, true and
 * false as words, objects and arrays as compact JSON. `{{{{` is a literal
 * `{{`.
 */
typedef struct assay__template assay__template;

/* `where` ("suite.yaml:12:9") prefixes compile errors. */
assay_status assay__template_compile(const char *text, const char *where,
                                     assay__template **out, assay_error *err);
void assay__template_free(assay__template *t);
/* True when the text has no variable, so rendering gives it unchanged. */
bool assay__template_is_constant(const assay__template *t);
/* Appends the rendering to `out`. `case_id` names the case in errors. */
assay_status assay__template_render(const assay__template *t,
                                    const cJSON *vars, const char *case_id,
                                    assay__buf *out, assay_error *err);

/* ------------------------------------------------------------ check.c */

/* One check's verdict on one answer. */
typedef struct assay__verdict {
    bool pass;
    double score;      /* in [0, 1] */
    assay__buf reason; /* what was expected and what was found */
} assay__verdict;

void assay__verdict_init(assay__verdict *v);
void assay__verdict_release(assay__verdict *v);

typedef struct assay__check assay__check;

/*
 * Compiles one entry of a suite's `checks:` list: either the short form
 * `{icontains: "{{expected}}"}` or the long form `{type: regex, value: "..."}`.
 * A `not-` prefix on the type negates the check. Errors point at the node.
 */
assay_status assay__check_compile(const assay__doc *doc, const cJSON *spec,
                                  assay__check **out, assay_error *err);
void assay__check_free(assay__check *c);
/* The type as written ("not-contains"). */
const char *assay__check_type(const assay__check *c);
/*
 * Scores `output` for the case whose variables are `vars`. A failure of the
 * check itself (a template variable missing, a regex that cannot run) is an
 * error; a wrong answer is a verdict with pass false.
 */
assay_status assay__check_run(const assay__check *c, const char *output,
                              size_t len, const cJSON *vars,
                              const char *case_id, assay__verdict *out,
                              assay_error *err);

/* ------------------------------------------------------------ stats.c */

/*
 * Constant-memory aggregate of one group's results (one target). Latency is
 * kept in a log-bucketed histogram of 1% relative width, so quantiles are
 * within 1% and memory does not grow with the number of results.
 */
#define ASSAY__LATENCY_BUCKETS 2560

typedef enum assay__outcome {
    ASSAY__OUTCOME_PASS,
    ASSAY__OUTCOME_FAIL,
    ASSAY__OUTCOME_ERROR
} assay__outcome;

typedef struct assay__stats {
    long results;
    long passed;
    long failed;
    long errors;
    long latency_n;
    double latency_sum_ms;
    uint32_t latency_hist[ASSAY__LATENCY_BUCKETS];
    long long prompt_tokens;
    long long completion_tokens;
} assay__stats;

void assay__stats_init(assay__stats *s);
/* latency_ms < 0 when there was no response; tokens < 0 when unknown. */
void assay__stats_add(assay__stats *s, assay__outcome outcome,
                      double latency_ms, long prompt_tokens,
                      long completion_tokens);
/* The statistic named by `stat`; NaN when undefined. */
double assay__stats_get(const assay__stats *s, assay_stat stat);
/* The q-quantile (0..1) of the latencies; NaN when there are none. */
double assay__stats_latency_quantile(const assay__stats *s, double q);
/* Wilson score interval for k successes of n at normal quantile z. */
void assay__wilson(long k, long n, double z, double *low, double *high);


/* ------------------------------------------------------------ dataset.c */

/*
 * One case of a dataset: its fields (the template variables) and its id.
 * Shared by the requests of every target and repeat, so it is counted.
 */
typedef struct assay__case {
    cJSON *vars;
    char *id;
    long line; /* where it came from, 0 for inline cases without a place */
    int refs;
} assay__case;

assay__case *assay__case_ref(assay__case *c);
void assay__case_unref(assay__case *c);

/*
 * Streams cases one at a time, from a JSON Lines file (memory does not grow
 * with the file) or from a suite's inline `cases:` list.
 */
typedef struct assay__dataset assay__dataset;

assay_status assay__dataset_open_jsonl(const char *path, assay__dataset **out,
                                       assay_error *err);
/* `cases` is borrowed from `doc`, which must outlive the dataset. */
assay_status assay__dataset_open_inline(const assay__doc *doc,
                                        const cJSON *cases,
                                        assay__dataset **out,
                                        assay_error *err);
/* The next case (the caller owns a reference), or *out NULL at the end. */
assay_status assay__dataset_next(assay__dataset *d, assay__case **out,
                                 assay_error *err);
void assay__dataset_free(assay__dataset *d);

/* ------------------------------------------------------------ gates.c */

/* The suite's `gates:` block; NaN means "no such gate". */
typedef struct assay__gates {
    double pass_rate_min;
} assay__gates;

void assay__gates_init(assay__gates *g);
/* Reads a `gates:` node (NULL: none); errors point at the offending key. */
assay_status assay__gates_parse(const assay__doc *doc, const cJSON *node,
                                assay__gates *out, assay_error *err);
/* The gates as JSON, for the run record's header; NULL when out of memory. */
cJSON *assay__gates_to_json(const assay__gates *g);
/* Reads what assay__gates_to_json wrote; false when malformed. */
bool assay__gates_from_json(const cJSON *json, assay__gates *out);

/* ------------------------------------------------------------ suite.c */

typedef struct assay__target {
    char *name;
    char *base_url;    /* NULL: OPENAI_BASE_URL or the OpenAI API */
    char *model;
    char *api_key_env; /* the variable holding the key */
    cJSON *params;     /* request parameters, an object (owned) */
} assay__target;

typedef struct assay__message {
    char *role;
    assay__template *content;
} assay__message;

struct assay_suite {
    assay__doc *doc;
    char *path;
    char *name;
    assay__target *targets;
    size_t n_targets;
    assay__message *messages;
    size_t n_messages;
    char *dataset_path;       /* resolved against the suite's folder */
    const cJSON *inline_cases; /* borrowed from doc; NULL with a dataset */
    assay__check **checks;
    size_t n_checks;
    int repeat;
    assay__gates gates;
    char config_hash[65]; /* SHA-256 of the suite as loaded, in hex */
};

/* ------------------------------------------------------------ sse.c */

/* Called for each complete event; a non-OK status stops the feed. */
typedef assay_status (*assay__sse_event_fn)(const char *event,
                                            const char *data, size_t len,
                                            void *user_data);

/* A Server-Sent Events push parser; the fields are private to sse.c. */
typedef struct assay__sse {
    assay__buf line;
    assay__buf data;
    char event[64];
    bool has_data;
    bool after_cr;
    bool at_start;
    assay__sse_event_fn fn;
    void *user_data;
} assay__sse;

/* `max_event` caps one line and one event's data (ASSAY_ERR_LIMIT past it). */
void assay__sse_init(assay__sse *p, size_t max_event, assay__sse_event_fn fn,
                     void *user_data);
void assay__sse_release(assay__sse *p);
/* Feeds bytes as they arrive; calls the callback for each whole event. */
assay_status assay__sse_feed(assay__sse *p, const char *bytes, size_t n);

/* ------------------------------------------------------------ openai.c */

/* One function call the model asked for. */
typedef struct assay__tool_call {
    char *id;
    char *name;
    assay__buf arguments; /* a JSON text, as the model wrote it */
} assay__tool_call;

/* What a chat completion (or an error reply) said, parsed. */
typedef struct assay__response {
    long http_status;
    assay__buf content;
    assay__buf refusal;
    assay__tool_call *tool_calls;
    size_t n_tool_calls;
    size_t cap_tool_calls;
    cJSON *logprobs; /* the array of per-token logprobs, or NULL */
    char finish_reason[32];
    char model[128];
    char id[128];
    char system_fingerprint[128];
    long prompt_tokens; /* -1 when the server did not say */
    long completion_tokens;
    long total_tokens;
    long cached_tokens;    /* prompt_tokens_details.cached_tokens */
    long reasoning_tokens; /* completion_tokens_details.reasoning_tokens */
} assay__response;

void assay__response_init(assay__response *r);
void assay__response_reset(assay__response *r);
void assay__response_release(assay__response *r);

/* Appends a /chat/completions request body for `model` and `params`. */
assay_status assay__openai_chat_request(assay__buf *body, const char *model,
                                        const cJSON *params,
                                        const char *const *roles,
                                        const assay__buf *contents,
                                        size_t n_messages);
/*
 * Parses a reply to /chat/completions (or /completions: `choices[].text`).
 * A non-2xx status or an error body gives ASSAY_ERR_HTTP with the server's
 * own message; a body that is not the expected JSON gives ASSAY_ERR_RESPONSE
 * with the status and the first bytes.
 */
assay_status assay__openai_parse_chat(long http_status, const char *body,
                                      size_t len, assay__response *out,
                                      assay_error *err);

/*
 * A streamed reply (`stream: true`) being put together from its SSE chunks
 * into the same response the non-streaming path gives: content and tool
 * call deltas appended, finish_reason, usage from the final chunk, an error
 * event turned into an error.
 */
typedef struct assay__openai_stream {
    assay__sse sse;
    assay__response *out;
    bool events;      /* at least one data event arrived */
    bool done;        /* [DONE] arrived */
    bool first_token; /* content, a refusal or a tool call arrived */
    assay_status status;
    assay_error err;
} assay__openai_stream;

void assay__openai_stream_init(assay__openai_stream *s, assay__response *out);
void assay__openai_stream_release(assay__openai_stream *s);
/* Feeds received bytes; a bad chunk stops the stream with an error. */
assay_status assay__openai_stream_feed(assay__openai_stream *s,
                                       const char *bytes, size_t n);
/*
 * Ends the stream once the transfer is over. A non-2xx reply, or a server
 * that answered with plain JSON instead of a stream, is parsed as
 * assay__openai_parse_chat would; a stream cut before `[DONE]` (and before
 * a finish_reason) is ASSAY_ERR_RESPONSE.
 */
assay_status assay__openai_stream_finish(assay__openai_stream *s,
                                         long http_status, const char *body,
                                         size_t len, assay_error *err);

/* ------------------------------------------------------------ engine.c */

/*
 * One libcurl multi loop. A transfer is a POST of a prepared body; when it
 * ends, the done callback gets it back with the response body, the HTTP
 * status and the timing, or a transport error.
 */
typedef struct assay__engine assay__engine;

typedef struct assay__transfer {
    void *user;                /* the caller's job */
    assay__buf request_body;   /* filled by the caller before submit */
    assay__buf response_body;
    long http_status;
    double latency_ms;
    int curl_code;             /* CURLE_OK when the exchange completed */
    char curl_error[256];
} assay__transfer;

typedef void (*assay__engine_done_fn)(assay__transfer *t, void *user_data);

/* `concurrency` sizes the connection cache so connections are reused. */
assay_status assay__engine_new(int concurrency, long timeout_ms,
                               size_t max_response, assay__engine_done_fn done,
                               void *user_data, assay__engine **out);
void assay__engine_free(assay__engine *e);
/* A transfer from the engine's pool, with empty buffers. */
assay__transfer *assay__engine_transfer(assay__engine *e);
/* Gives a transfer back without submitting it. */
void assay__engine_recycle(assay__engine *e, assay__transfer *t);
/*
 * Starts a POST of t->request_body to `url`. `api_key` (may be NULL) goes
 * in an Authorization header and nowhere else.
 */
assay_status assay__engine_submit(assay__engine *e, assay__transfer *t,
                                  const char *url, const char *api_key);
size_t assay__engine_in_flight(const assay__engine *e);
/*
 * Waits up to `wait_ms` for activity, moves the transfers, and calls the
 * done callback for each finished one; the transfer goes back to the pool
 * when the callback returns.
 */
assay_status assay__engine_step(assay__engine *e, int wait_ms);

/* ------------------------------------------------------------ journal.c */

/* The writer of a run record: JSON Lines, flushed as results arrive. */
typedef struct assay__journal assay__journal;

typedef struct assay__check_outcome {
    const char *type;
    bool pass;
    double score;
    const char *reason;
} assay__check_outcome;

/* Everything one result line says. */
typedef struct assay__result {
    const char *case_id;
    const char *target;
    int repeat;
    const assay__response *response; /* NULL when no response came */
    bool has_verdict;
    bool pass;
    double score;
    const assay__check_outcome *checks;
    size_t n_checks;
    double latency_ms; /* < 0 when there was no response */
    int attempts;
    const char *error_kind; /* NULL when there is no error */
    long error_status;
    const char *error_message;
} assay__result;

assay_status assay__journal_open(const char *path, assay__journal **out,
                                 assay_error *err);
/* Closes the file; errors of the last flush are reported here. */
assay_status assay__journal_close(assay__journal *j, assay_error *err);
/* `base_urls` are the targets' endpoints as resolved for this run. */
assay_status assay__journal_header(assay__journal *j, const assay_suite *suite,
                                   const char *const *base_urls,
                                   assay_error *err);
assay_status assay__journal_result(assay__journal *j, const assay__result *r,
                                   assay_error *err);
assay_status assay__journal_summary(assay__journal *j,
                                    const assay_summary *summary,
                                    assay_error *err);
/* Pushes what is buffered to the file (once per batch of results). */
assay_status assay__journal_flush(assay__journal *j, assay_error *err);

/* ------------------------------------------------------------ summary.c */

/* A new summary with one group per target name. */
assay_summary *assay__summary_new(const char *suite_name,
                                  const char *const *targets, size_t n,
                                  const assay__gates *gates);
/* The group of a target, or -1. */
long assay__summary_group(const assay_summary *s, const char *target);
void assay__summary_add(assay_summary *s, size_t group, assay__outcome outcome,
                        double latency_ms, long prompt_tokens,
                        long completion_tokens);
/* Evaluates the gates on the counts so far; call before reading verdicts. */
assay_status assay__summary_finish(assay_summary *s);
const assay__stats *assay__summary_stats(const assay_summary *s, size_t group);

/* ------------------------------------------------------------ report/ */

/* One report format: writes a summary to a stream. Registered in report.c. */
typedef assay_status (*assay__report_fn)(const assay_summary *s, FILE *out,
                                         assay_error *err);

assay_status assay__report_text(const assay_summary *s, FILE *out,
                                assay_error *err);

/* ------------------------------------------------------------ record.c */

assay_status assay__record_read(const char *path, assay_summary **out,
                                assay_error *err);

#endif /* ASSAY_INTERNAL_H */
