/*
 * assay.h - the whole public API of libassay, an LLM evaluation harness.
 *
 * A suite (targets, a prompt, a dataset, checks, gates) is loaded from a
 * YAML or JSON file; a run sends every case to every target through one
 * libcurl multi loop, scores each answer with the suite's checks, appends a
 * result line to a JSON Lines run record as it arrives, and aggregates a
 * summary whose gates decide pass or fail.
 *
 * Conventions, for every function below:
 *  - Fallible calls return an assay_status (ASSAY_OK is 0, errors are
 *    negative), set *out to NULL on failure, and fill the optional
 *    caller-provided assay_error (which may be NULL).
 *  - The caller owns what a _new or _load call gives it and releases it with
 *    the matching _free; every _free accepts NULL.
 *  - Borrowed pointers (const char * results) stay valid until the object
 *    that returned them is freed.
 *  - The library never prints, never exits, never calls setlocale and reads
 *    no environment variable unless the caller hands it a lookup function.
 *  - Thread-compatible: distinct objects may be used from distinct threads;
 *    one object must not be used from two threads at once.
 */
#ifndef ASSAY_H
#define ASSAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ASSAY_VERSION_MAJOR 0
#define ASSAY_VERSION_MINOR 1
#define ASSAY_VERSION_PATCH 0
#define ASSAY_VERSION_STRING "0.1.0"

#if defined(ASSAY_BUILDING) && defined(__GNUC__)
#define ASSAY_API __attribute__((visibility("default")))
#else
#define ASSAY_API
#endif

/* ---------------------------------------------------------------- status */

/*
 * Every status, its numeric value and its one-line description. Values are
 * only ever appended, never renumbered.
 */
#define ASSAY_STATUS_TABLE(X)                                              \
    X(OK, 0, "success")                                                   \
    X(ERR_NOMEM, -1, "out of memory")                                     \
    X(ERR_INVALID, -2, "invalid argument")                                \
    X(ERR_IO, -3, "input/output error")                                   \
    X(ERR_SYNTAX, -4, "syntax error")                                     \
    X(ERR_SUITE, -5, "invalid suite")                                     \
    X(ERR_DATASET, -6, "invalid dataset")                                 \
    X(ERR_TEMPLATE, -7, "template error")                                 \
    X(ERR_CHECK, -8, "check error")                                       \
    X(ERR_LIMIT, -9, "size limit exceeded")                               \
    X(ERR_HTTP, -10, "HTTP error status")                                 \
    X(ERR_RESPONSE, -11, "unexpected response body")                      \
    X(ERR_TRANSPORT, -12, "connection error")                             \
    X(ERR_TIMEOUT, -13, "timed out")                                      \
    X(ERR_RECORD, -14, "invalid run record")                              \
    X(ERR_STATE, -15, "call not allowed in this state")

typedef enum assay_status {
#define ASSAY__STATUS_ENUM(name, value, text) ASSAY_##name = (value),
    ASSAY_STATUS_TABLE(ASSAY__STATUS_ENUM)
#undef ASSAY__STATUS_ENUM
} assay_status;

/* The enum's name ("ASSAY_ERR_NOMEM"); "ASSAY_UNKNOWN" for other values. */
ASSAY_API const char *assay_status_name(assay_status status);

/* A static one-line description of a status ("out of memory"). */
ASSAY_API const char *assay_strerror(assay_status status);

/*
 * What went wrong, filled by a failing call. `message` is complete and ready
 * to show, in the form "file:line:column: what is wrong" when the error is
 * about an input file; `file`, `line` and `column` repeat the position
 * (empty and 0 when there is none). Lines and columns count from 1.
 */
typedef struct assay_error {
    assay_status status;
    int line;
    int column;
    char file[512];
    char message[1024];
} assay_error;

/* Sets *err to "no error". */
ASSAY_API void assay_error_clear(assay_error *err);

/* ---------------------------------------------------------------- library */

/* "0.1.0": the version of the library actually linked. */
ASSAY_API const char *assay_version(void);

/*
 * Initialises libcurl for the process. Call once before any run, from one
 * thread, before other threads exist; pair with assay_global_cleanup().
 */
ASSAY_API assay_status assay_global_init(void);
ASSAY_API void assay_global_cleanup(void);

/*
 * An environment lookup the caller may lend the library: returns the value
 * of `name` or NULL. The CLI passes a wrapper around getenv(); an embedding
 * application may pass its own table, or nothing.
 */
typedef const char *(*assay_env_fn)(const char *name, void *user_data);

/* ---------------------------------------------------------------- suites */

typedef struct assay_suite assay_suite;

/*
 * Loads a suite from a YAML or JSON file. Relative paths inside it (the
 * dataset) are resolved against the suite file's folder. Every problem is
 * reported with the file, line and column of the offending field.
 */
ASSAY_API assay_status assay_suite_load(const char *path, assay_suite **out,
                                        assay_error *err);
ASSAY_API void assay_suite_free(assay_suite *suite);

/* The suite's `name` (the file's base name when it has none). */
ASSAY_API const char *assay_suite_name(const assay_suite *suite);
ASSAY_API size_t assay_suite_target_count(const assay_suite *suite);
/* The name of target `index`, or NULL when out of range. */
ASSAY_API const char *assay_suite_target_name(const assay_suite *suite,
                                              size_t index);

/* ---------------------------------------------------------------- runs */

typedef struct assay_run assay_run;
typedef struct assay_summary assay_summary;

/* Counts handed to a progress callback; `total` is -1 while unknown. */
typedef struct assay_progress {
    long done;
    long total;
    long passed;
    long failed;
    long errors;
} assay_progress;

/* Called after each result is recorded, on the thread running the run. */
typedef void (*assay_progress_fn)(const assay_progress *progress,
                                  void *user_data);

/*
 * Creates a run of `suite`, which must outlive the run. Defaults: 8
 * requests in flight, a 60 s timeout per request, no run record, no
 * environment lookup.
 */
ASSAY_API assay_status assay_run_new(const assay_suite *suite,
                                     assay_run **out, assay_error *err);
ASSAY_API void assay_run_free(assay_run *run);

/* Requests in flight at once, 1 to 65536. */
ASSAY_API assay_status assay_run_set_concurrency(assay_run *run, int n);
/* Whole-request timeout in milliseconds, at least 1. */
ASSAY_API assay_status assay_run_set_timeout_ms(assay_run *run, long ms);
/*
 * Where the JSON Lines run record goes. The file is created or truncated
 * when the run starts and each result is flushed as it arrives. NULL: none.
 */
ASSAY_API assay_status assay_run_set_record_path(assay_run *run,
                                                 const char *path);
/*
 * Lends the run an environment: a target's API key is read from the
 * variable its `api_key_env` names (OPENAI_API_KEY by default) and a target
 * without `base_url` uses OPENAI_BASE_URL. Without a lookup, neither is read.
 */
ASSAY_API void assay_run_set_env(assay_run *run, assay_env_fn lookup,
                                 void *user_data);
ASSAY_API void assay_run_set_progress(assay_run *run, assay_progress_fn fn,
                                      void *user_data);

/*
 * Runs every case against every target. Errors of single requests (HTTP
 * failures, timeouts, bad bodies) do not fail the call: they become error
 * results. The call fails for what stops the whole run: a dataset or
 * template error, or a record that cannot be written; the results recorded
 * before that stay in the record. A run executes once.
 */
ASSAY_API assay_status assay_run_execute(assay_run *run, assay_error *err);

/*
 * The summary of an executed run (NULL before), borrowed: valid until the
 * run is freed. It holds what the record's summary line holds.
 */
ASSAY_API const assay_summary *assay_run_summary(const assay_run *run);

/* ---------------------------------------------------------------- summaries */

/*
 * Reads a run record and computes its summary from the result lines, so the
 * numbers are those of the run that wrote it. Owned by the caller.
 */
ASSAY_API assay_status assay_summary_load(const char *record_path,
                                          assay_summary **out,
                                          assay_error *err);
/* Frees a summary from assay_summary_load (never one borrowed from a run). */
ASSAY_API void assay_summary_free(assay_summary *summary);

/* The statistics kept per group (one group per target). */
typedef enum assay_stat {
    ASSAY_STAT_RESULTS = 0,       /* result lines: passed + failed + errors */
    ASSAY_STAT_PASSED,
    ASSAY_STAT_FAILED,
    ASSAY_STAT_ERRORS,            /* no verdict: the request failed */
    ASSAY_STAT_PASS_RATE,         /* passed / results (errors count as not passed) */
    ASSAY_STAT_PASS_RATE_LOW,     /* 95% Wilson interval of the pass rate */
    ASSAY_STAT_PASS_RATE_HIGH,
    ASSAY_STAT_LATENCY_MEAN_MS,   /* over results that got a response */
    ASSAY_STAT_LATENCY_P95_MS,    /* within 1% (log-bucketed histogram) */
    ASSAY_STAT_PROMPT_TOKENS,     /* sums of the reported usage */
    ASSAY_STAT_COMPLETION_TOKENS
} assay_stat;

ASSAY_API const char *assay_summary_suite_name(const assay_summary *summary);
ASSAY_API size_t assay_summary_group_count(const assay_summary *summary);
/* The target of group `index`, or NULL when out of range. */
ASSAY_API const char *assay_summary_group_target(const assay_summary *summary,
                                                 size_t index);
/* A statistic of a group; NaN when it is undefined (no results, no latency). */
ASSAY_API double assay_summary_stat(const assay_summary *summary, size_t index,
                                    assay_stat stat);

/* The gates of the suite, each evaluated for every group. */
ASSAY_API size_t assay_summary_gate_count(const assay_summary *summary);
/* A gate's description ("pass_rate >= 0.9 for target 'small'"). */
ASSAY_API const char *assay_summary_gate_text(const assay_summary *summary,
                                              size_t index);
ASSAY_API bool assay_summary_gate_passed(const assay_summary *summary,
                                         size_t index);
/* True when every gate holds (and when there is none). */
ASSAY_API bool assay_summary_passed(const assay_summary *summary);

/* ---------------------------------------------------------------- reports */

typedef enum assay_format {
    ASSAY_FORMAT_TEXT = 0 /* the aligned table a terminal shows */
} assay_format;

/* Writes the summary in a format to `out`. */
ASSAY_API assay_status assay_summary_write(const assay_summary *summary,
                                           assay_format format, FILE *out,
                                           assay_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ASSAY_H */
