/*
 * assay.h - the whole public API of libassay, an LLM evaluation harness.
 *
 * A suite (targets, a prompt, a dataset, checks, gates) is loaded from a
 * YAML or JSON file or built in code, its targets models or the program's
 * own functions (callback targets); a run sends every case to every
 * target through one libcurl multi loop, scores each answer with the
 * suite's checks, appends a result line to a JSON Lines run record as it
 * arrives, and aggregates a summary whose gates decide pass or fail.
 * docs/api.md is the guided tour.
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
    X(ERR_STATE, -15, "call not allowed in this state")                  \
    X(ERR_INTERRUPTED, -16, "interrupted")                                \
    X(ERR_CALLBACK, -17, "the application's callback failed")

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

/*
 * The same, with `${NAME}` and `${NAME:-default}` in the suite's values
 * expanded through `env` (`$${` is a literal `${`). A `${NAME}` that `env`
 * does not know (or any, when `env` is NULL, as for assay_suite_load) and
 * that has no default is an error at its line and column.
 */
ASSAY_API assay_status assay_suite_load_env(const char *path, assay_env_fn env,
                                            void *env_data, assay_suite **out,
                                            assay_error *err);

/*
 * Called for each dataset record that cannot be a case (not UTF-8, not
 * JSON, a wrong type, a missing field, a duplicate id) when bad records are
 * skipped; `why` says "file:line: what is wrong". Without such a function
 * the first bad record is an error.
 */
typedef void (*assay_skip_fn)(const assay_error *why, void *user_data);

/* What assay_suite_validate found. */
typedef struct assay_suite_counts {
    long cases;    /* cases read */
    long skipped;  /* bad records skipped */
    long renders;  /* prompts rendered: cases x prompts */
    long requests; /* what a run would send: cases x targets x prompts x
                      repeat */
} assay_suite_counts;

/*
 * Checks a loaded suite without sending anything: reads every case of its
 * dataset and renders every prompt for it. Fails at the first bad record
 * (unless `skip` is given) or missing template variable, with the file,
 * line and case. *out (may be NULL) gets the counts, also on failure.
 */
ASSAY_API assay_status assay_suite_validate(const assay_suite *suite,
                                            assay_skip_fn skip,
                                            void *user_data,
                                            assay_suite_counts *out,
                                            assay_error *err);

/* The suite's `name` (the file's base name when it has none). */
ASSAY_API const char *assay_suite_name(const assay_suite *suite);
ASSAY_API size_t assay_suite_target_count(const assay_suite *suite);
/* The name of target `index`, or NULL when out of range. */
ASSAY_API const char *assay_suite_target_name(const assay_suite *suite,
                                              size_t index);
/* The prompt variants: 1 for the `prompt:` form, whose name is "default". */
ASSAY_API size_t assay_suite_prompt_count(const assay_suite *suite);
/* The name of prompt `index`, or NULL when out of range. */
ASSAY_API const char *assay_suite_prompt_name(const assay_suite *suite,
                                              size_t index);
/* The suite-wide checks (cases may add their own). */
ASSAY_API size_t assay_suite_check_count(const assay_suite *suite);

/*
 * The endpoint of target `index` as the suite wrote it (NULL when the suite
 * leaves it to OPENAI_BASE_URL), and the name of the environment variable
 * its API key comes from. NULL when out of range.
 */
ASSAY_API const char *assay_suite_target_base_url(const assay_suite *suite,
                                                  size_t index);
ASSAY_API const char *assay_suite_target_key_variable(const assay_suite *suite,
                                                      size_t index);
/* False when target `index` turned TLS verification off (`verify_tls:
   false`), which a program should warn about. */
ASSAY_API bool assay_suite_target_verifies_tls(const assay_suite *suite,
                                               size_t index);

/* ---------------------------------------------------------------- suites in code */

/*
 * A suite built by the program instead of read from a file, and additions
 * to a loaded one. Every text argument below named `text` is YAML or JSON,
 * read by the same code as a suite file; its mistakes are reported as
 * "WHAT:LINE:COLUMN: message" with the line and column within that text
 * and the field named. Make every addition before creating a run of the
 * suite: a run borrows the suite as it is. Each addition changes the
 * suite's config_hash, so records of different suites are never resumed or
 * merged together. On failure the suite is left as it was.
 */

/*
 * An empty suite named `name`: no target, no check, no case, one prompt
 * "default" that sends the case's `input` field as the user message (as a
 * suite file without `prompt:` does) until a prompt is added, repeat 1, no
 * gates. Free it with assay_suite_free.
 */
ASSAY_API assay_status assay_suite_new(const char *name, assay_suite **out,
                                       assay_error *err);

/*
 * Adds an OpenAI-compatible target: `base_url` NULL leaves it to
 * OPENAI_BASE_URL (see assay_run_set_env), `model` is required; `name`
 * NULL is the model. ASSAY_ERR_SUITE when the name is taken.
 */
ASSAY_API assay_status assay_suite_add_target(assay_suite *suite,
                                              const char *name,
                                              const char *base_url,
                                              const char *model,
                                              assay_error *err);
/*
 * Adds a target from the text of one entry of a suite file's `targets:`
 * list ("{name: small, model: gpt-4o-mini, params: {temperature: 0}}"),
 * with every key a file's entry takes (params, headers, rate_limit,
 * output, echo, ...). The suite's `defaults.params` do not apply.
 */
ASSAY_API assay_status assay_suite_add_target_text(assay_suite *suite,
                                                   const char *text,
                                                   assay_error *err);
/*
 * Sets the model that judges the suite's model-graded checks (llm-rubric,
 * factuality, select-best, ...) or that embeds answers for `similar`,
 * from the text of a suite file's `grader:` or `embedder:` mapping
 * ("{model: gpt-4o-mini, params: {temperature: 0}}"), replacing any the
 * suite had. Without one, such checks give `grader` errors at run time.
 * On error the suite keeps the one it had.
 */
ASSAY_API assay_status assay_suite_set_grader(assay_suite *suite,
                                              const char *text,
                                              assay_error *err);
ASSAY_API assay_status assay_suite_set_embedder(assay_suite *suite,
                                                const char *text,
                                                assay_error *err);

/*
 * A prompt variant: one user message rendered from `template_text`
 * ("Classify: {{text}}"; the syntax is docs/suites.md's). The first prompt
 * added replaces the suite's implicit "default" prompt (the case's
 * `input`), so a suite with one prompt added has just that one; `name`
 * NULL is "default". ASSAY_ERR_TEMPLATE for a template that does not
 * compile, ASSAY_ERR_SUITE for a name already taken.
 */
ASSAY_API assay_status assay_suite_add_prompt(assay_suite *suite,
                                              const char *name,
                                              const char *template_text,
                                              assay_error *err);
/*
 * The same with `n` messages: roles[i] is "system", "developer", "user"
 * or "assistant" and contents[i] a template.
 */
ASSAY_API assay_status assay_suite_add_prompt_messages(
    assay_suite *suite, const char *name, const char *const *roles,
    const char *const *contents, size_t n, assay_error *err);

/*
 * Adds a suite-wide check in the short form {TYPE: VALUE} (`value` NULL
 * for a check that takes none, as "is-json"); "not-" before the type
 * negates it. ASSAY_ERR_CHECK names an unknown type or a bad value.
 */
ASSAY_API assay_status assay_suite_add_check(assay_suite *suite,
                                             const char *type,
                                             const char *value,
                                             assay_error *err);
/*
 * Adds a check from the text of one entry of a suite file's `checks:`
 * list, in either form ("{type: f1, value: '{{expected}}', threshold:
 * 0.8, weight: 2, metric: quality}"), so every type and option works.
 * An `exec` check needs the suite's `allow_exec: true`.
 */
ASSAY_API assay_status assay_suite_add_check_text(assay_suite *suite,
                                                  const char *text,
                                                  assay_error *err);

/*
 * Adds an inline case: `vars_json` is a mapping of its fields (JSON or
 * YAML, "{text: 'great film', expected: positive}"); `id` (may be NULL)
 * becomes its `id` field, else the field `id` or its position names it.
 * Fields `checks` (the case's own checks) and `params` work as in a suite
 * file's `cases:`. ASSAY_ERR_STATE when the suite reads a dataset file.
 */
ASSAY_API assay_status assay_suite_add_case(assay_suite *suite,
                                            const char *id,
                                            const char *vars_json,
                                            assay_error *err);
/*
 * Reads the cases from the dataset file at `path` (JSON Lines, CSV or a
 * JSON array, by its extension), taken as given (relative to the working
 * directory), instead of the suite's dataset or inline cases.
 */
ASSAY_API assay_status assay_suite_set_dataset(assay_suite *suite,
                                               const char *path,
                                               assay_error *err);

/* ---------------------------------------------------------------- callbacks */

/*
 * Evaluating the application's own function. A callback target is
 * answered by a function the program registers, instead of a model: it
 * gets each rendered request and fills the response, and that answer is
 * scored, journaled, counted and reported like a model's. A callback
 * check judges an answer with the program's own code.
 */

/* A rendered request, borrowed for the time of one call. */
typedef struct assay_request assay_request;
/* The answer a callback target fills in, for the time of one call. */
typedef struct assay_response assay_response;
/* A case, borrowed for the time of one call. */
typedef struct assay_case assay_case;

/*
 * A callback target. Runs on one of the run's worker threads
 * (assay_run_set_workers), so with more than one worker it is called from
 * several threads at once and must be thread-safe; the library's own work
 * (checks, the record, the summary, hooks) stays on the thread that runs
 * assay_run_execute. It must not call the run it serves. A response left
 * empty is an empty answer; assay_response_set_error makes the result an
 * error.
 */
typedef void (*assay_target_fn)(const assay_request *req,
                                assay_response *resp, void *user_data);

/*
 * Adds a target named `name` answered by `fn` (the issue's
 * assay_target_callback(name, fn, user_data), here on a suite handle like
 * every other addition). Its requests go through the run's scheduler like
 * any target's: the concurrency limit holds, results are recorded as they
 * finish, cancellation and the deadline stop new calls. A call cannot be
 * interrupted: a cancelled run (or one past its deadline) waits for the
 * calls in flight before assay_run_execute returns, and the per-request
 * timeout does not apply. Replies are never cached, and nothing is
 * retried. Latency is measured around each call. `fn` and `user_data`
 * must stay valid while runs of the suite execute.
 */
ASSAY_API assay_status assay_suite_add_target_callback(assay_suite *suite,
                                                       const char *name,
                                                       assay_target_fn fn,
                                                       void *user_data,
                                                       assay_error *err);

/* The messages of the rendered prompt, in order. */
ASSAY_API size_t assay_request_message_count(const assay_request *req);
/* The role and the text of message `index`; NULL when out of range. */
ASSAY_API const char *assay_request_message_role(const assay_request *req,
                                                 size_t index);
ASSAY_API const char *assay_request_message_content(const assay_request *req,
                                                    size_t index);
/* The request parameters as a JSON object text ("{}" when none): the
   case's `params` merged over the target's. */
ASSAY_API const char *assay_request_params_json(const assay_request *req);
/* The target's name, the prompt variant's name and the repeat index. */
ASSAY_API const char *assay_request_target(const assay_request *req);
ASSAY_API const char *assay_request_prompt(const assay_request *req);
ASSAY_API int assay_request_repeat(const assay_request *req);
/* The case the request was rendered for. */
ASSAY_API const assay_case *assay_request_case(const assay_request *req);

/* The case's id. */
ASSAY_API const char *assay_case_id(const assay_case *kase);
/*
 * The case's field at `path` ("text", "meta.level", "choices.0") as a
 * template prints it: a string as it is, anything else as compact JSON;
 * NULL when the case has no such field or out of memory. Valid until the
 * call it was given to returns.
 */
ASSAY_API const char *assay_case_var(const assay_case *kase,
                                     const char *path);
/* Every field of the case as one JSON object text (NULL when out of
   memory), valid until the call it was given to returns. */
ASSAY_API const char *assay_case_vars_json(const assay_case *kase);

/* The answer's text (copied; replaces an earlier one). */
ASSAY_API assay_status assay_response_set_text(assay_response *resp,
                                               const char *text);
/* Adds a tool call: the function's name and its arguments as a JSON text
   (copied), for the tool-call checks. */
ASSAY_API assay_status assay_response_add_tool_call(assay_response *resp,
                                                    const char *name,
                                                    const char *arguments);
/* Token usage, for the summary and the token checks (-1: unknown, the
   default). */
ASSAY_API void assay_response_set_usage(assay_response *resp,
                                        long prompt_tokens,
                                        long completion_tokens);
/* The finish reason (default "stop", "tool_calls" with tool calls). */
ASSAY_API assay_status assay_response_set_finish_reason(assay_response *resp,
                                                        const char *reason);
/* Makes the result an error (kind "callback") with this message (copied):
   what the application could not do. Errors get no verdict and are
   counted apart from failures. */
ASSAY_API assay_status assay_response_set_error(assay_response *resp,
                                                const char *message);

/* What a callback check says about one answer. */
typedef struct assay_check_verdict assay_check_verdict;

/*
 * A callback check: judges `answer` (`len` bytes, NUL-terminated) for
 * `kase` and says so through `verdict`. Called on the thread running the
 * run, in the order the checks are written, never from two threads at
 * once by one run. A verdict left unset fails with score 0.
 */
typedef void (*assay_check_fn)(const char *answer, size_t len,
                               const assay_case *kase,
                               assay_check_verdict *verdict, void *user_data);

/* Pass or fail, and a score in [0, 1] (clamped; NaN is 0). */
ASSAY_API void assay_check_verdict_set(assay_check_verdict *verdict,
                                       bool pass, double score);
/* Why (copied), shown in the record as "expected to pass 'NAME'; found
   REASON". */
ASSAY_API assay_status assay_check_verdict_set_reason(
    assay_check_verdict *verdict, const char *reason);
/* The check could not run: the result becomes an error of kind "check"
   with this message (copied). */
ASSAY_API assay_status assay_check_verdict_set_error(
    assay_check_verdict *verdict, const char *message);

/*
 * Adds a suite-wide check named `name` (its type in the record and its
 * metric) that `fn` decides. Like any check it runs in written order,
 * counts with weight 1, and its pass stands as given.
 */
ASSAY_API assay_status assay_suite_add_check_callback(assay_suite *suite,
                                                      const char *name,
                                                      assay_check_fn fn,
                                                      void *user_data,
                                                      assay_error *err);
/*
 * The same with options as YAML or JSON text (NULL: none): `weight`
 * (default 1; 0 reports it without counting it), `metric` (the name its
 * scores are aggregated under) and `threshold` (then it passes when its
 * score reaches the threshold, whatever pass `fn` gave).
 */
ASSAY_API assay_status assay_suite_add_check_callback_options(
    assay_suite *suite, const char *name, const char *options,
    assay_check_fn fn, void *user_data, assay_error *err);

/* ---------------------------------------------------------------- models */

/* Called once per model id a server lists. */
typedef void (*assay_model_fn)(const char *id, void *user_data);

/*
 * Asks an OpenAI-compatible server which models it serves (GET
 * BASE_URL/models) and calls `fn` for each id. `api_key` may be NULL.
 * Blocks for at most `timeout_ms` (30 s when 0).
 */
ASSAY_API assay_status assay_list_models(const char *base_url,
                                         const char *api_key, long timeout_ms,
                                         assay_model_fn fn, void *user_data,
                                         assay_error *err);

/* ---------------------------------------------------------------- runs */

/* How a run uses the response cache (more under "cache" below). */
typedef enum assay_cache_mode {
    ASSAY_CACHE_OFF = 0,   /* no cache: every request is sent */
    ASSAY_CACHE_READ,      /* replay: answers come only from the cache, a
                              miss is an error, nothing is written and no
                              file is created */
    ASSAY_CACHE_WRITE,     /* refresh: every request is sent and its
                              response stored, replacing an older one */
    ASSAY_CACHE_READ_WRITE /* a hit is used, a miss is sent and stored */
} assay_cache_mode;


typedef struct assay_run assay_run;
typedef struct assay_summary assay_summary;

/* Counts handed to a progress callback; `total` is -1 while unknown. */
typedef struct assay_progress {
    long done;
    long total;
    long passed;
    long failed;
    long errors;
    long retries; /* attempts that failed and were tried again */
    long resumed; /* results read back from a resumed record (in done) */
    long long prompt_tokens; /* the usage reported so far */
    long long completion_tokens;
    double cost; /* US dollars so far at list prices (assay_run_set_max_cost
                    says which); 0 while no model has a known price */
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
/*
 * The threads that call callback targets, 1 to 1024 (default 4;
 * see assay_suite_add_target_callback). Calls
 * in flight are also bounded by the run's concurrency. Threads are
 * started only when the suite has a callback target.
 */
ASSAY_API assay_status assay_run_set_workers(assay_run *run, int n);
/*
 * Attempts per request, 1 to 100 (default 5; 1: never retry). Connection
 * errors, timeouts, 408, 409, 429, 5xx and malformed replies are retried
 * with exponential backoff and full jitter, or after the server's
 * retry-after.
 */
ASSAY_API assay_status assay_run_set_max_attempts(assay_run *run, int n);
/*
 * Where replies are kept and how (see assay_cache_mode above; default:
 * off). A hit costs no request and no rate-limit budget, and its result
 * line says "cached": true with the latency measured when it was fetched.
 * In ASSAY_CACHE_READ mode a miss stops the run with an error naming the
 * case.
 */
ASSAY_API assay_status assay_run_set_cache(assay_run *run, const char *path,
                                           assay_cache_mode mode);
/*
 * A deadline for the whole run in milliseconds (0, the default: none).
 * When it passes nothing more is sent, the requests in flight finish and
 * are recorded, and the run ends with ASSAY_ERR_TIMEOUT.
 */
ASSAY_API assay_status assay_run_set_deadline_ms(assay_run *run, long ms);
/* The largest reply accepted, in bytes (default 8 MiB, at least 1024);
   a larger one is an error result that says so. */
ASSAY_API assay_status assay_run_set_max_response_bytes(assay_run *run,
                                                        size_t bytes);
/*
 * Rescoring: every target's answers come from the run record at `path`
 * (an earlier run of the same cases) instead of from the targets; nothing
 * is sent. A (case, target, prompt, repeat) the record lacks is an error
 * result; one that was an error stays an error. NULL: off.
 */
ASSAY_API assay_status assay_run_set_answers_from(assay_run *run,
                                                  const char *path);
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
 * Which cases a run takes: the filters, then the sample, then the limit.
 * Takes at most `n` cases; n < 0 (the default) takes every one.
 */
ASSAY_API assay_status assay_run_set_limit(assay_run *run, long n);
/*
 * A uniform random sample of `n` cases (n < 0: none, the default), drawn
 * by reservoir sampling, so the dataset is still read once and memory holds
 * the sample only. The same seed and data give the same cases, which are
 * sent in dataset order.
 */
ASSAY_API assay_status assay_run_set_sample(assay_run *run, long n,
                                            unsigned long long seed);
/*
 * Keeps only the cases whose field `key` (a dotted path such as
 * `meta.level`, or `id` for the case's id) reads `value` as a template
 * would print it. Several filters must all hold.
 */
ASSAY_API assay_status assay_run_add_filter(assay_run *run, const char *key,
                                            const char *value);
/*
 * With `fn`, a bad dataset record is handed to `fn` and skipped; with NULL
 * (the default) it stops the run.
 */
ASSAY_API void assay_run_set_skip_bad_lines(assay_run *run, assay_skip_fn fn,
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

/*
 * The statistics kept per group, a group being one (target, prompt). Errors
 * are never dropped from a denominator: every rate and mean counts an error
 * as a result that did not pass and scored 0 (assay_summary_error_policy).
 * Values are only ever appended to this enum.
 */
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
    ASSAY_STAT_COMPLETION_TOKENS,
    ASSAY_STAT_ERROR_RATE,        /* errors / results */
    ASSAY_STAT_COST,              /* sum of the results' `cost` (NaN: none) */
    ASSAY_STAT_PASS_RATE_SE,      /* sqrt(p (1 - p) / results) */
    ASSAY_STAT_PASS_RATE_SE_CLUSTERED, /* NaN without clusters */
    ASSAY_STAT_SCORE_MEAN,        /* mean score, errors as 0 */
    ASSAY_STAT_SCORE_SE,          /* results taken as independent */
    ASSAY_STAT_SCORE_LOW,         /* 95%: mean -+ 1.96 SE (the clustered SE */
    ASSAY_STAT_SCORE_HIGH,        /*   when there are clusters), in [0, 1] */
    ASSAY_STAT_SCORE_SE_CLUSTERED, /* NaN without clusters */
    ASSAY_STAT_CLUSTERS,          /* cluster keys, or cases with repeats */
    /* With repeats (per-case state is kept); NaN otherwise: */
    ASSAY_STAT_CASES,             /* distinct cases */
    ASSAY_STAT_SAMPLES_PER_CASE,  /* results / cases */
    ASSAY_STAT_CASE_VARIANCE_WITHIN,  /* mean of the per-case variances */
    ASSAY_STAT_CASE_VARIANCE_BETWEEN, /* variance of the true case means */
    ASSAY_STAT_SCORE_SE_INFINITE_REPEATS, /* the SE with endless repeats */
    ASSAY_STAT_REPEAT_VARIANCE_SAVED, /* what more repeats could remove from
                                         the variance of the mean */
    ASSAY_STAT_FLAKY_CASES,       /* cases with passing and failing samples */
    ASSAY_STAT_ATTEMPTS,          /* requests sent (cache hits send none) */
    ASSAY_STAT_RETRIES            /* attempts after a result's first */
} assay_stat;

ASSAY_API const char *assay_summary_suite_name(const assay_summary *summary);
ASSAY_API size_t assay_summary_group_count(const assay_summary *summary);
/* The target of group `index`, or NULL when out of range. */
ASSAY_API const char *assay_summary_group_target(const assay_summary *summary,
                                                 size_t index);
/* The prompt of group `index` ("default" when the run has one prompt), or
   NULL when out of range. */
ASSAY_API const char *assay_summary_group_prompt(const assay_summary *summary,
                                                 size_t index);
/* A statistic of a group; NaN when it is undefined (no results, no latency). */
ASSAY_API double assay_summary_stat(const assay_summary *summary, size_t index,
                                    assay_stat stat);
/* How errors were counted, in words, for reports to print. */
ASSAY_API const char *assay_summary_error_policy(const assay_summary *summary);

/*
 * The metrics of a group: one per check `metric` name (a check without one
 * is its own type's metric), in the order first seen. Checks of one metric
 * in one result are merged: the mean of their scores, passing when all pass.
 */
ASSAY_API size_t assay_summary_metric_count(const assay_summary *summary,
                                            size_t group);
/* The name of metric `metric` of a group, or NULL when out of range. */
ASSAY_API const char *assay_summary_metric_name(const assay_summary *summary,
                                                size_t group, size_t metric);
/*
 * A statistic of one metric of a group: RESULTS (values, errors included),
 * PASSED, PASS_RATE and its Wilson bounds and SEs, the SCORE_* statistics
 * (of the metric's scores) and CLUSTERS. Others are NaN.
 */
ASSAY_API double assay_summary_metric_stat(const assay_summary *summary,
                                           size_t group, size_t metric,
                                           assay_stat stat);

/*
 * pass@k of a group with repeats: the unbiased estimator of Chen et al.
 * (2021) averaged over the cases with at least k samples (errors count as
 * samples that failed). NaN without repeats, for k < 1, or when no case
 * has k samples.
 */
ASSAY_API double assay_summary_pass_at_k(const assay_summary *summary,
                                         size_t group, long k);
/*
 * The flaky cases of a group (some samples passed, some did not), sorted by
 * case id: `index` from 0 to ASSAY_STAT_FLAKY_CASES - 1. Returns the case
 * id (NULL when out of range) and sets *passed and *samples when non-NULL.
 */
ASSAY_API const char *assay_summary_flaky_case(const assay_summary *summary,
                                               size_t group, size_t index,
                                               long *passed, long *samples);
/*
 * The per-case statistics of a group with repeats, in the order cases were
 * first seen: `index` from 0 to ASSAY_STAT_CASES - 1. Returns the case id
 * (NULL when out of range) and sets the mean score and its sample variance
 * over the case's samples (NaN below two samples) when non-NULL.
 */
ASSAY_API const char *assay_summary_case(const assay_summary *summary,
                                         size_t group, size_t index,
                                         double *mean, double *variance);

/* What a gate checks. Values are only ever appended. */
typedef enum assay_gate {
    ASSAY_GATE_PASS_RATE = 0, /* pass rate >= min, per group */
    ASSAY_GATE_METRIC,        /* a metric's mean >= min, per group */
    ASSAY_GATE_ERROR_RATE,    /* error rate <= max, per group */
    ASSAY_GATE_LATENCY_P95,   /* p95 latency <= max ms, per group */
    ASSAY_GATE_COST,          /* total cost <= max, for the whole run */
    ASSAY_GATE_REGRESSION     /* against a baseline: see assay_compare */
} assay_gate;

/* The gates of the suite, each evaluated for every group. */
ASSAY_API size_t assay_summary_gate_count(const assay_summary *summary);
/* A gate's description ("pass_rate >= 0.9 for target 'small'"). */
ASSAY_API const char *assay_summary_gate_text(const assay_summary *summary,
                                              size_t index);
ASSAY_API bool assay_summary_gate_passed(const assay_summary *summary,
                                         size_t index);
ASSAY_API assay_gate assay_summary_gate_kind(const assay_summary *summary,
                                             size_t index);
/* The value a gate measured (NaN when it could not be measured) and its
   limit. */
ASSAY_API double assay_summary_gate_value(const assay_summary *summary,
                                          size_t index);
ASSAY_API double assay_summary_gate_limit(const assay_summary *summary,
                                          size_t index);
/* True when every gate holds (and when there is none). */
ASSAY_API bool assay_summary_passed(const assay_summary *summary);
/*
 * False when an error_rate gate failed: too many requests got no answer
 * for the run to count as complete (the CLI's exit code 3).
 */
ASSAY_API bool assay_summary_completed(const assay_summary *summary);

/*
 * Adds or overrides one gate by its dotted name, as on a command line:
 * "pass_rate.min", "metrics.NAME.min" (NAME "score" is the mean score),
 * "error_rate.max", "latency_p95_ms.max", "cost.max", "regression.max_drop",
 * "regression.alpha". NaN removes the gate. The suite's version takes
 * effect for runs created afterwards; the summary's re-evaluates the gates
 * of a loaded summary at once. ASSAY_ERR_INVALID names a bad name or value.
 */
ASSAY_API assay_status assay_suite_set_gate(assay_suite *suite,
                                            const char *name, double value,
                                            assay_error *err);
ASSAY_API assay_status assay_summary_set_gate(assay_summary *summary,
                                              const char *name, double value,
                                              assay_error *err);

/* ---------------------------------------------------------------- reports */

/*
 * Report formats. Values are only ever appended. docs/reports.md tells what
 * each holds; JSON's schema is docs/report-schema.json.
 */
typedef enum assay_format {
    ASSAY_FORMAT_TEXT = 0, /* the aligned table a terminal shows */
    ASSAY_FORMAT_JSON,     /* summary and comparison as one JSON document */
    ASSAY_FORMAT_JUNIT,    /* JUnit XML, one test case per result */
    ASSAY_FORMAT_MARKDOWN, /* for pull requests and CI job summaries */
    ASSAY_FORMAT_HTML,     /* one self-contained page: charts and cases */
    ASSAY_FORMAT_CSV,      /* RFC 4180, one row per result */
    ASSAY_FORMAT_TEXT_COLOR /* TEXT with ANSI colours: the caller decides
                               (a terminal, no NO_COLOR), never the library */
} assay_format;

/*
 * The format named "text", "json", "junit", "markdown" (or "md"), "html",
 * "csv" or "text-color". ASSAY_ERR_INVALID, listing the names, otherwise.
 */
ASSAY_API assay_status assay_format_parse(const char *name, assay_format *out,
                                          assay_error *err);
/* The name of a format ("json"), or NULL for a value that is none. */
ASSAY_API const char *assay_format_name(assay_format format);

/*
 * Writes the summary in a format to `out`: TEXT, TEXT_COLOR, JSON and
 * MARKDOWN. The per-result formats (JUNIT, HTML, CSV) need the run record:
 * assay_report_write.
 */
ASSAY_API assay_status assay_summary_write(const assay_summary *summary,
                                           assay_format format, FILE *out,
                                           assay_error *err);

/*
 * A report of one run record, in any format: its summary, recomputed from
 * the result lines, optionally a comparison, and, for the per-result
 * formats, the result lines themselves, streamed from the file again at
 * each write so that memory does not grow with the record. The record must
 * stay in place until the report is freed.
 */
typedef struct assay_report assay_report;
typedef struct assay_compare assay_compare;

ASSAY_API assay_status assay_report_open(const char *record_path,
                                         assay_report **out,
                                         assay_error *err);
ASSAY_API void assay_report_free(assay_report *report);
/* The record's summary, borrowed until the report is freed. */
ASSAY_API const assay_summary *assay_report_summary(const assay_report *report);
/*
 * Adds a comparison to the report (NULL removes it): the candidate is
 * normally this record, against a baseline (assay_compare_load). Borrowed:
 * it must outlive the report's writes.
 */
ASSAY_API void assay_report_set_compare(assay_report *report,
                                        const assay_compare *cmp);
/* Writes the report in `format` to `out`. */
ASSAY_API assay_status assay_report_write(const assay_report *report,
                                          assay_format format, FILE *out,
                                          assay_error *err);

/*
 * The summary, or the report, in `format` to the file at `path`: written
 * to a temporary file beside it, flushed to disk and renamed over `path`,
 * so a reader never sees half a report and a failure leaves an older file
 * as it was. ASSAY_ERR_IO names the path.
 */
ASSAY_API assay_status assay_summary_write_path(const assay_summary *summary,
                                                assay_format format,
                                                const char *path,
                                                assay_error *err);
ASSAY_API assay_status assay_report_write_path(const assay_report *report,
                                               assay_format format,
                                               const char *path,
                                               assay_error *err);

/* ---------------------------------------------------------------- compare */

/*
 * A paired comparison of two run records (a baseline and a candidate), or
 * of every pair of groups within one record (the comparison matrix).
 *
 * Results are paired by (case id, prompt, repeat) within matching groups:
 * the same (target, prompt) in both records, or, when each record has a
 * single target, the same prompt whatever the targets are called. Each
 * pairing (a "comparison") lists its transitions and, per metric ("pass",
 * "score", then every check metric), the mean difference (candidate minus
 * baseline) with a paired bootstrap interval, a p-value (McNemar's exact
 * test for "pass" and any metric of 0/1 values, the bootstrap for the
 * others), the minimum detectable
 * effect and a verdict. Errors count as not passed with score 0, as in
 * summaries. The regression gate comes from the candidate's `gates:
 * regression` (the defaults are max_drop 0.02 and alpha 0.05).
 */
/* Reads and pairs two records. ASSAY_ERR_RECORD when they share no group
   or a record holds a (case, prompt, repeat) twice. */
ASSAY_API assay_status assay_compare_load(const char *base_path,
                                          const char *candidate_path,
                                          assay_compare **out,
                                          assay_error *err);
/* Compares every pair of groups (targets x prompts) of one record: group
   j against each earlier group i, which plays the baseline. */
ASSAY_API assay_status assay_compare_load_matrix(const char *record_path,
                                                 assay_compare **out,
                                                 assay_error *err);
ASSAY_API void assay_compare_free(assay_compare *cmp);

/*
 * Overrides the regression gate: the largest drop tolerated (0 to 1) and
 * the significance level (strictly between 0 and 1); NaN keeps a value.
 * Verdicts are recomputed at once.
 */
ASSAY_API assay_status assay_compare_set_regression(assay_compare *cmp,
                                                    double max_drop,
                                                    double alpha,
                                                    assay_error *err);
/*
 * The bootstrap: `resamples` (at least 100; default 2000) and the seed
 * (default 1). Intervals are recomputed at once, and the same inputs give
 * the same intervals on every platform. Past 10^8 draws per interval the
 * number of resamples is lowered to fit, down to 100.
 */
ASSAY_API assay_status assay_compare_set_bootstrap(assay_compare *cmp,
                                                   long resamples,
                                                   unsigned long long seed,
                                                   assay_error *err);
/* The regression gate in force. */
ASSAY_API double assay_compare_max_drop(const assay_compare *cmp);
ASSAY_API double assay_compare_alpha(const assay_compare *cmp);
ASSAY_API long assay_compare_resamples(const assay_compare *cmp);
ASSAY_API unsigned long long assay_compare_seed(const assay_compare *cmp);
/* True for a matrix from assay_compare_load_matrix. */
ASSAY_API bool assay_compare_is_matrix(const assay_compare *cmp);
/* The suite names of the baseline and of the candidate records. */
ASSAY_API const char *assay_compare_suite(const assay_compare *cmp,
                                          bool candidate);
/* Results in groups that have no counterpart on the other side. */
ASSAY_API long assay_compare_unmatched(const assay_compare *cmp,
                                       bool candidate);

/* The comparisons, one per pair of matched groups. */
ASSAY_API size_t assay_compare_count(const assay_compare *cmp);
/* The target and prompt of a comparison's baseline or candidate side;
   NULL when out of range. */
ASSAY_API const char *assay_compare_target(const assay_compare *cmp,
                                           size_t index, bool candidate);
ASSAY_API const char *assay_compare_prompt(const assay_compare *cmp,
                                           size_t index, bool candidate);

/* Counts of a comparison. */
typedef enum assay_compare_stat {
    ASSAY_COMPARE_PAIRS = 0,      /* results found on both sides */
    ASSAY_COMPARE_BASE_ONLY,      /* results with no candidate counterpart */
    ASSAY_COMPARE_CANDIDATE_ONLY, /* results with no baseline counterpart */
    ASSAY_COMPARE_NEWLY_FAILING,  /* passed in the baseline, not now */
    ASSAY_COMPARE_NEWLY_PASSING   /* did not pass in the baseline, passes now */
} assay_compare_stat;

ASSAY_API long assay_compare_stat_of(const assay_compare *cmp, size_t index,
                                     assay_compare_stat stat);

/* What a metric's difference says. Values are only ever appended. */
typedef enum assay_verdict {
    ASSAY_VERDICT_NO_CHANGE = 0, /* not significant, and the suite could
                                    have seen a drop beyond max_drop */
    ASSAY_VERDICT_REGRESSED,     /* significant drop larger than max_drop */
    ASSAY_VERDICT_IMPROVED,      /* significant rise */
    ASSAY_VERDICT_TOO_SMALL,     /* not significant, and the minimum
                                    detectable effect exceeds max_drop */
    ASSAY_VERDICT_ALLOWED_DROP   /* significant drop within max_drop */
} assay_verdict;

/* "no significant change", "regressed", "improved", "suite too small to
   tell", "dropped within the allowed margin". */
ASSAY_API const char *assay_verdict_text(assay_verdict verdict);

/* The metrics of a comparison: "pass", "score", then the check metrics
   that both sides have. */
ASSAY_API size_t assay_compare_metric_count(const assay_compare *cmp,
                                            size_t index);
ASSAY_API const char *assay_compare_metric_name(const assay_compare *cmp,
                                                size_t index, size_t metric);

typedef enum assay_diff_stat {
    ASSAY_DIFF_N = 0,       /* pairs in which both sides have the metric */
    ASSAY_DIFF_BASE_MEAN,   /* over those pairs */
    ASSAY_DIFF_CANDIDATE_MEAN,
    ASSAY_DIFF_MEAN,        /* candidate - baseline */
    ASSAY_DIFF_LOW,         /* paired bootstrap interval at 1 - alpha */
    ASSAY_DIFF_HIGH,
    ASSAY_DIFF_P_VALUE,     /* McNemar exact for 0/1 values, else bootstrap */
    ASSAY_DIFF_MDE          /* minimum detectable effect at alpha, 80% power */
} assay_diff_stat;

ASSAY_API double assay_compare_metric_stat(const assay_compare *cmp,
                                           size_t index, size_t metric,
                                           assay_diff_stat stat);
ASSAY_API assay_verdict assay_compare_metric_verdict(const assay_compare *cmp,
                                                     size_t index,
                                                     size_t metric);

/* How a result ended. */
typedef enum assay_outcome {
    ASSAY_OUTCOME_PASS = 0,
    ASSAY_OUTCOME_FAIL,
    ASSAY_OUTCOME_ERROR
} assay_outcome;

/*
 * The transitions of a comparison: pairs whose pass/fail changed, newly
 * failing first, then newly passing, each sorted by case id and repeat.
 */
ASSAY_API size_t assay_compare_transition_count(const assay_compare *cmp,
                                                size_t index);
/* The case id of transition `t` (NULL when out of range); sets *repeat and
   the two outcomes when non-NULL. */
ASSAY_API const char *assay_compare_transition(const assay_compare *cmp,
                                               size_t index, size_t t,
                                               int *repeat,
                                               assay_outcome *base,
                                               assay_outcome *candidate);

/* True when no metric of any comparison regressed. */
ASSAY_API bool assay_compare_passed(const assay_compare *cmp);

/* Writes the comparison in a format to `out`. */
ASSAY_API assay_status assay_compare_write(const assay_compare *cmp,
                                           assay_format format, FILE *out,
                                           assay_error *err);

/* ---------------------------------------------------------------- steering */

/*
 * What a program does to a run beyond its configuration: narrow the suite,
 * run one shard, stop it, resume it, cap what it spends, watch each result
 * and estimate it without sending anything; and merge shard records.
 */

/*
 * Keeps only the targets (or prompt variants) named, in the suite's own
 * order; `names` holds `n` names. ASSAY_ERR_INVALID names one the suite
 * does not have. The suite's config_hash changes with it, so records of a
 * narrowed suite are not resumed or merged with others. Call before
 * creating runs.
 */
ASSAY_API assay_status assay_suite_keep_targets(assay_suite *suite,
                                                const char *const *names,
                                                size_t n, assay_error *err);
ASSAY_API assay_status assay_suite_keep_prompts(assay_suite *suite,
                                                const char *const *names,
                                                size_t n, assay_error *err);
/* Overrides the suite's `repeat` (1 to 100000); the hash changes too. */
ASSAY_API assay_status assay_suite_set_repeat(assay_suite *suite, int repeat,
                                              assay_error *err);

/*
 * Runs shard `index` of `count` (0 <= index < count <= 1000000): the
 * cases whose id hashes there (SHA-256 of the id, modulo count), taken
 * after the filters, sample and limit, so the shards of a selection split
 * exactly the cases the unsharded run takes and stay stable when the
 * dataset grows. count 1 is no sharding. The record's header says
 * "shard": {"index", "count"}; assay_merge joins the records.
 */
ASSAY_API assay_status assay_run_set_shard(assay_run *run, long index,
                                           long count);

/*
 * Continues the interrupted run whose record is at `path`, which also
 * becomes the run's record. When the run starts, a last line cut short (a
 * crash during a write) is cut off the file, and so is a closing summary
 * line; the header must be of the same configuration (config_hash, filters,
 * sample, limit and shard), else ASSAY_ERR_RECORD says what differs. Every
 * (case, target, prompt, repeat) the record holds is finished and is not
 * sent again; the new results are appended, and the summary covers all.
 * A record with no complete line is started anew.
 */
ASSAY_API assay_status assay_run_set_resume(assay_run *run, const char *path);

/*
 * Stops a running run; safe to call from a signal handler (it only bumps a
 * counter) or another thread. The first call stops sending: the requests
 * in flight finish and are recorded. The second abandons them (they are
 * not recorded, and a resume sends them again). Either way the run writes
 * its summary line with "interrupted": true and assay_run_execute returns
 * ASSAY_ERR_INTERRUPTED ("interrupted"; the progress callback had the
 * counts). It takes effect within a second.
 */
ASSAY_API void assay_run_cancel(assay_run *run);

/*
 * Stops sending, like assay_run_cancel, before the estimated spend would
 * pass `usd`: what the results so far cost (their reported usage at the
 * list prices of the `cost` check, for the model the reply names, else the
 * target's), plus an estimate for each request in flight and for the next
 * one (its body's bytes / 4 as prompt tokens, and the target's max_tokens,
 * else the longest completion seen so far and at least 256, as completion
 * tokens). Results of a resumed record count; cached replies cost nothing.
 * NaN removes the limit. ASSAY_ERR_INVALID when a target's model has no
 * known price (err names it) or usd is negative.
 */
ASSAY_API assay_status assay_run_set_max_cost(assay_run *run, double usd,
                                              assay_error *err);

/* One result as it is recorded, borrowed for the time of a result hook. */
typedef struct assay_result assay_result;
typedef void (*assay_result_fn)(const assay_result *result, void *user_data);

/* Called after each result is recorded, before the progress callback, on
   the thread running the run. */
ASSAY_API void assay_run_set_result_hook(assay_run *run, assay_result_fn fn,
                                         void *user_data);
ASSAY_API const char *assay_result_case(const assay_result *result);
ASSAY_API const char *assay_result_target(const assay_result *result);
ASSAY_API const char *assay_result_prompt(const assay_result *result);
ASSAY_API int assay_result_repeat(const assay_result *result);
/* PASS, FAIL, or ERROR when no verdict could be given. */
ASSAY_API assay_outcome assay_result_outcome(const assay_result *result);
/* What went wrong when the outcome is ERROR ("http 500: ..."), else NULL. */
ASSAY_API const char *assay_result_error(const assay_result *result);
/* The checks that scored the answer (none for an error). */
ASSAY_API size_t assay_result_check_count(const assay_result *result);
ASSAY_API const char *assay_result_check_type(const assay_result *result,
                                              size_t index);
ASSAY_API bool assay_result_check_passed(const assay_result *result,
                                         size_t index);
ASSAY_API const char *assay_result_check_reason(const assay_result *result,
                                                size_t index);
/* The score (0 to 1) and metric of check `index`; NaN and NULL when out
   of range. */
ASSAY_API double assay_result_check_score(const assay_result *result,
                                          size_t index);
ASSAY_API const char *assay_result_check_metric(const assay_result *result,
                                                size_t index);
/* The answer (NULL when none came, as for most errors); *len (may be
   NULL) gets its length. */
ASSAY_API const char *assay_result_output(const assay_result *result,
                                          size_t *len);
/* The case's score: the weighted mean of its checks' scores (NaN for an
   error). */
ASSAY_API double assay_result_score(const assay_result *result);
/* Milliseconds from request to reply, or in the callback (NaN when no
   answer came). */
ASSAY_API double assay_result_latency_ms(const assay_result *result);
/* The usage the reply reported; -1 when unknown. */
ASSAY_API long assay_result_prompt_tokens(const assay_result *result);
ASSAY_API long assay_result_completion_tokens(const assay_result *result);
/* The reply's finish reason ("stop"), or NULL when unknown. */
ASSAY_API const char *assay_result_finish_reason(const assay_result *result);
/* True when the reply came from the response cache. */
ASSAY_API bool assay_result_cached(const assay_result *result);

/* What a run would send, from assay_run_dry. */
typedef struct assay_dry_run {
    long cases;             /* selected, after filters, sample, limit, shard */
    long skipped;           /* bad dataset records skipped */
    long requests;          /* to send: cases x targets x prompts x repeat,
                               less what a resumed record holds */
    long requests_total;    /* the same, with what the record holds */
    double prompt_tokens;   /* estimated: request bytes / 4 */
    double completion_tokens; /* at most: the targets' max_tokens */
    long unbounded;         /* requests to targets without max_tokens */
    double cost;            /* US dollars at list prices, priced models */
    long unpriced;          /* requests to models with no known price */
} assay_dry_run;

/* One message of a rendered prompt: `index` counts from 0 per prompt. */
typedef void (*assay_render_fn)(const char *case_id, const char *prompt,
                                size_t index, const char *role,
                                const char *content, void *user_data);

/*
 * Walks what the run would do without sending anything or writing any
 * file: reads the selected cases, renders every prompt, hands the messages
 * of the first `show` cases to `fn` (may be NULL), and estimates tokens
 * and cost into *out. Bad records are counted, not reported, when the run
 * skips them. With a resume set, the record is read (not repaired) and
 * what it holds is left out of `requests`.
 */
ASSAY_API assay_status assay_run_dry(assay_run *run, size_t show,
                                     assay_render_fn fn, void *user_data,
                                     assay_dry_run *out, assay_error *err);
/*
 * Only counts the requests of the selected cases (what a resumed record
 * holds included), reading the dataset without rendering; the count then
 * becomes the run's progress total. Silent about bad records.
 */
ASSAY_API assay_status assay_run_count_requests(assay_run *run, long *out,
                                                assay_error *err);

/* What assay_merge did. */
typedef struct assay_merge_info {
    long count;      /* N, the shards the run was split into */
    long merged;     /* shard records merged */
    long missing;    /* shards not given (only with allow_partial) */
    long unfinished; /* merged shards without a complete summary line
                        (only with allow_partial) */
    long results;    /* result lines written */
} assay_merge_info;

/*
 * Joins the records of the shards of one run (assay_run_set_shard) into
 * one record at `out_path`: the header of the first, without its shard,
 * every result line as it was, and a summary line recomputed from them,
 * so its statistics are those of the unsharded run. Refused with
 * ASSAY_ERR_RECORD: records of different suites or configurations
 * (config_hash, filters, sample, limit, shard count), a record that is not
 * a shard, two records of one shard, a result found twice; and, unless
 * `allow_partial`, missing shards or a shard that did not finish (err
 * names them). The output is written beside itself and renamed into place,
 * and may not be one of the inputs.
 */
ASSAY_API assay_status assay_merge(const char *const *paths, size_t n,
                                   const char *out_path, bool allow_partial,
                                   assay_merge_info *info, assay_error *err);

/* ---------------------------------------------------------------- cache */

/*
 * The response cache is one SQLite file (the CLI's default is
 * .assay/cache.db) of complete, successful responses, keyed by the SHA-256
 * of the target's base URL, the endpoint, the request body and the repeat
 * index. Several processes may use one file at once. It never holds a
 * request header, so never an API key. docs/cache.md tells more.
 */

/*
 * Counts the entries of the cache at `path` and the bytes of their stored
 * responses. A missing file is an empty cache (nothing is created); a file
 * that is not an assay cache, or of another schema version, is an
 * ASSAY_ERR_IO naming the path. On failure both counts are 0.
 */
ASSAY_API assay_status assay_cache_stats(const char *path, long long *entries,
                                         long long *bytes, assay_error *err);

/* Called once per (base URL, model) pair of a cache, in sorted order. */
typedef void (*assay_cache_target_fn)(const char *base_url, const char *model,
                                      long long entries, long long bytes,
                                      void *user_data);

/*
 * The same counts per base URL (without credentials) and model, handed to
 * `fn`. A missing file calls `fn` never and returns ASSAY_OK.
 */
ASSAY_API assay_status assay_cache_stats_by_target(const char *path,
                                                   assay_cache_target_fn fn,
                                                   void *user_data,
                                                   assay_error *err);

/*
 * Removes every entry of the cache at `path` and gives the space back,
 * keeping the file (other processes may hold it open). *removed (may be
 * NULL) gets how many entries went. A missing file is left missing.
 */
ASSAY_API assay_status assay_cache_clear(const char *path, long long *removed,
                                         assay_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ASSAY_H */
