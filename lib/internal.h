/*
 * internal.h - what the library's files share with each other and with the
 * white-box unit tests. Nothing here is public: names are assay__module_verb.
 */
#ifndef ASSAY_INTERNAL_H
#define ASSAY_INTERNAL_H

#include "assay.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
/* The general append, which grows the buffer (buf.c). */
assay_status assay__buf_append_grow(assay__buf *b, const void *data, size_t n);

/*
 * Appends are inline for the common case, where the bytes fit without
 * growing: a result's record line alone takes some hundred of them, and
 * the call and the checks cost more than the copying.
 */
static inline assay_status assay__buf_append(assay__buf *b, const void *data,
                                             size_t n)
{
    if (n >= b->cap - b->len || b->len + n > b->max)
        return assay__buf_append_grow(b, data, n);
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return ASSAY_OK;
}

static inline assay_status assay__buf_puts(assay__buf *b, const char *s)
{
    return assay__buf_append(b, s, strlen(s));
}

static inline assay_status assay__buf_putc(assay__buf *b, char c)
{
    if (1 >= b->cap - b->len || b->len + 1 > b->max)
        return assay__buf_append_grow(b, &c, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return ASSAY_OK;
}
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
 * Prompt and check-value templates: `{{var}}`, `{{a.b.0}}`, filters
 * (`{{ x | upper | default("none") }}`), `{{#each}}` loops over arrays and
 * objects, `{{#if}}` conditions, `{{! comments }}`; `{{{{` is a literal
 * `{{`. docs/suites.md is the reference. A template is compiled once and
 * rendered per case; a variable that the case lacks is an error naming the
 * case and the variable, never an empty string.
 */
typedef struct assay__template assay__template;

/* `where` ("suite.yaml:12:9") prefixes compile errors. */
assay_status assay__template_compile(const char *text, const char *where,
                                     assay__template **out, assay_error *err);
/* A template whose rendering is `text` exactly, braces and all. */
assay_status assay__template_literal(const char *text, size_t len,
                                     assay__template **out, assay_error *err);
void assay__template_free(assay__template *t);
/* True when the text reads no variable, so rendering needs no case. */
bool assay__template_is_constant(const assay__template *t);
/*
 * Appends the rendering to `out`, or leaves `out` as it was on failure.
 * `case_id` names the case in errors.
 */
assay_status assay__template_render(const assay__template *t,
                                    const cJSON *vars, const char *case_id,
                                    assay__buf *out, assay_error *err);

/* ------------------------------------------------------------ check.c */

/* One check's verdict on one answer. */
typedef struct assay__verdict {
    bool pass;
    double score;      /* in [0, 1] */
    assay__buf reason; /* what was expected and what was found */
    /* Scratch of assay__check_run, kept from one check to the next so
       that each does not allocate its own: the rendered value and the
       two halves of the reason. */
    assay__buf rendered, want, found;
} assay__verdict;

void assay__verdict_init(assay__verdict *v);
void assay__verdict_release(assay__verdict *v);

typedef struct assay__check assay__check;
struct assay__response;
struct assay__check_outcome;

/* What the endpoint said besides the text, for the operational checks. */
typedef struct assay__check_context {
    const struct assay__response *response; /* NULL when there is none */
    double latency_ms; /* < 0 or NaN when unknown */
    double ttft_ms;    /* < 0 or NaN when unknown (not streamed) */
    const cJSON *tools; /* the target's params.tools, or NULL */
    bool cached; /* the reply came from the cache */
    /* A model-graded check judges what its grader answered. */
    const char *grader_reply;
    size_t grader_reply_len;
} assay__check_context;

/*
 * Compiles one entry of a suite's `checks:` list: the short form
 * `{icontains: "{{expected}}"}`, the long form `{type: regex, value: "...",
 * weight: 2, metric: accuracy, threshold: 0.5}` or, for a check without a
 * value, its bare name `is-xml`. A `not-` prefix on the type negates the
 * check. Errors point at the node.
 */
assay_status assay__check_compile(const assay__doc *doc, const cJSON *spec,
                                  assay__check **out, assay_error *err);
void assay__check_free(assay__check *c);
/* The type as written ("not-contains"). */
const char *assay__check_type(const assay__check *c);
/* How much the check counts in the case's score (default 1, 0: not at all). */
double assay__check_weight(const assay__check *c);
/* The name its scores are aggregated under: `metric`, else the type. */
const char *assay__check_metric(const assay__check *c);
/* The score a scored check passes at; NaN for checks that are not scored. */
double assay__check_threshold(const assay__check *c);
/*
 * Scores `output` for the case whose variables are `vars`. A failure of the
 * check itself (a template variable missing, a regex that cannot run) is an
 * error; a wrong answer is a verdict with pass false.
 */
assay_status assay__check_run(const assay__check *c, const char *output,
                              size_t len, const cJSON *vars,
                              const char *case_id,
                              const assay__check_context *ctx,
                              assay__verdict *out, assay_error *err);
/*
 * True for a model-graded check: before it can judge an answer, a grader
 * model must be asked (assay__check_ask) and its reply handed to
 * assay__check_run in ctx->grader_reply.
 */
bool assay__check_needs_grader(const assay__check *c);
/* For a check that needs a grader: true when it wants the embeddings of
   the two texts assay__check_ask gives (system, user) from the embedder. */
bool assay__check_embeds(const assay__check *c);
/*
 * The grader's messages for one answer: `system` (may stay empty) and
 * `user`, rendered from the family's prompt (or the check's `prompt`
 * option) with the answer, the value and the case's variables.
 */
assay_status assay__check_ask(const assay__check *c, const char *output,
                              size_t len, const cJSON *vars,
                              const char *case_id,
                              const assay__check_context *ctx,
                              assay__buf *system, assay__buf *user,
                              assay_error *err);
/*
 * True for a check that scores the log-likelihoods of continuations
 * (loglik-choice): its case's requests to /completions are built by
 * assay__loglik_request.
 */
bool assay__check_scores_loglik(const assay__check *c);
/*
 * For such a check: the continuations it scores for the case `vars`,
 * appended to `out` each followed by a NUL; *n says how many (0 for any
 * other check).
 */
assay_status assay__check_continuations(const assay__check *c,
                                        const cJSON *vars,
                                        const char *case_id, assay__buf *out,
                                        size_t *n, assay_error *err);

/*
 * Comparative checks (select-best, max-score) judge the answers of every
 * target to one (case, prompt, repeat) together, once all are in
 * (pending.c holds the results until then). The answers, in the suite's
 * target order, one per target that answered:
 */
typedef struct assay__compare_input {
    size_t n;
    const char *const *outputs; /* NUL-terminated */
    const size_t *output_lens;
    const char *const *targets; /* the targets' names, for reasons */
    /* Each answer's outcomes of the case's other (not comparative) checks. */
    const struct assay__check_outcome *const *others;
    const size_t *n_others;
} assay__compare_input;

/* Puts "FILE:LINE:COL: check 'TYPE': " in front of err's message. */
void assay__check_locate(const assay__check *c, assay_status st,
                         assay_error *err);
/* True for a comparative check: a run never calls assay__check_run on it. */
bool assay__check_compares(const assay__check *c);
/* For a comparative check: true when a grader is asked (select-best). */
bool assay__check_compare_asks(const assay__check *c);
/* The grader's messages for a comparative check that asks one. */
assay_status assay__check_compare_ask(const assay__check *c,
                                      const assay__compare_input *answers,
                                      const cJSON *vars, const char *case_id,
                                      assay__buf *system, assay__buf *user,
                                      assay_error *err);
/*
 * One verdict per answer (out[0..answers->n), initialised by the caller),
 * from the grader's reply (`reply`, for a check that asks one) or from the
 * answers' other outcomes. An error means the check cannot judge these
 * answers (max-score with no other check to rank by); a reply that names
 * no answer is a failed verdict for every answer, with the reason.
 */
assay_status assay__check_compare(const assay__check *c,
                                  const assay__compare_input *answers,
                                  const cJSON *vars, const char *case_id,
                                  const char *reply, size_t reply_len,
                                  assay__verdict *out, assay_error *err);

/*
 * A case's verdict from its checks' outcomes, each carrying its weight.
 * *score is the weighted mean of the scores (1 when no check counts).
 * With case_threshold NaN the case passes when every counted check passes;
 * otherwise when *score >= case_threshold. Checks of weight 0 never count.
 */
bool assay__verdict_combine(const struct assay__check_outcome *outcomes,
                            size_t n, double case_threshold, double *score);

/* ------------------------------------------------------------ schema.c */

/*
 * A JSON Schema validator for Draft 7 and Draft 2020-12. A schema is
 * compiled once (its mistakes are errors with a JSON pointer into it) and
 * then validates any number of instances, from several threads at once.
 * It never fetches anything: references leave the schema only for the
 * bundled meta-schemas of the two drafts and for the caller's resolver.
 */
typedef struct assay__schema assay__schema;

typedef enum assay__schema_draft {
    ASSAY__SCHEMA_2020_12 = 0, /* the default */
    ASSAY__SCHEMA_DRAFT_7 = 7
} assay__schema_draft;

/*
 * Gives the document at `uri` (absolute, without a fragment) as a new tree
 * that the validator then owns, or NULL when the URI is unknown. Called
 * only while compiling.
 */
typedef cJSON *(*assay__schema_resolve_fn)(const char *uri, void *user_data);

typedef struct assay__schema_options {
    assay__schema_draft draft; /* for a schema without $schema */
    assay__schema_resolve_fn resolve; /* NULL: bundled meta-schemas only */
    void *user_data;
} assay__schema_options;

#define ASSAY__SCHEMA_TEXT 256

/* Where a compile error is: a node of the schema given, or elsewhere. */
typedef struct assay__schema_fault {
    bool in_schema; /* true: at `pointer` in the schema given */
    char pointer[ASSAY__SCHEMA_TEXT];
} assay__schema_fault;

/* One way an instance fails its schema. Texts are cut to fit. */
typedef struct assay__schema_issue {
    char pointer[ASSAY__SCHEMA_TEXT]; /* "/items/0/age"; "" is the whole */
    char path[ASSAY__SCHEMA_TEXT];    /* "$.items[0].age"; "$" the whole */
    char message[ASSAY__SCHEMA_TEXT]; /* "-3 is less than the minimum 0" */
} assay__schema_issue;

/*
 * Compiles `schema` (copied; the caller keeps it). `opts` may be NULL. A
 * mistake in the schema is ASSAY_ERR_CHECK with a message naming the place
 * ("#/properties/age/minimum: 'minimum' must be a number, found a
 * string"), and `fault` (may be NULL) says where it is.
 */
assay_status assay__schema_compile(const cJSON *schema,
                                   const assay__schema_options *opts,
                                   assay__schema **out,
                                   assay__schema_fault *fault,
                                   assay_error *err);
void assay__schema_free(assay__schema *s);
/*
 * Validates `instance`. Fills up to `max_issues` issues (the first one
 * found when max_issues is 1; `issues` may be NULL when max_issues is 0)
 * and sets *n_issues (may be NULL) to how many were filled. An error means
 * validation could not finish: nesting beyond the depth limit, a $ref loop
 * that consumes no input, or a pattern over its match limits.
 */
assay_status assay__schema_validate(const assay__schema *s,
                                    const cJSON *instance, bool *valid,
                                    assay__schema_issue *issues,
                                    size_t max_issues, size_t *n_issues,
                                    assay_error *err);
/* The node at JSON pointer `pointer` under `root` ("" is root), or NULL. */
const cJSON *assay__schema_pointer_get(const cJSON *root, const char *pointer);

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
    double cost;  /* the sum of the costs reported */
    long cost_n;  /* results that reported a cost */
    long long attempts; /* requests sent for the results */
    long long retries;  /* of them, the ones after a result's first */
} assay__stats;

void assay__stats_init(assay__stats *s);
/* latency_ms < 0 when there was no response; tokens < 0 when unknown. */
void assay__stats_add(assay__stats *s, assay__outcome outcome,
                      double latency_ms, long prompt_tokens,
                      long completion_tokens);
/* Adds a result's cost; NaN or negative (unknown) is ignored. */
void assay__stats_add_cost(assay__stats *s, double cost);
/* Adds the attempts a result took (0 for a cache hit). */
void assay__stats_add_attempts(assay__stats *s, int attempts);
/* The statistic named by `stat`; NaN when undefined or not kept here. */
double assay__stats_get(const assay__stats *s, assay_stat stat);
/* The q-quantile (0..1) of the latencies; NaN when there are none. */
double assay__stats_latency_quantile(const assay__stats *s, double q);
/* Wilson score interval for k successes of n at normal quantile z. */
void assay__wilson(long k, long n, double z, double *low, double *high);

/*
 * The sums of one metric's values (errors not included): enough for its
 * pass rate, mean and standard error. `zeros` below is the number of errors
 * to count as extra observations that failed with value 0, so that errors
 * stay in every denominator.
 */
typedef struct assay__moments {
    long n;
    long passed;
    double sum;
    double sumsq;
} assay__moments;

void assay__moments_add(assay__moments *m, bool pass, double value);
/* sum / (n + zeros); NaN when there is no observation. */
double assay__moments_mean(const assay__moments *m, long zeros);
/* sqrt(sample variance / N) with N = n + zeros; NaN below 2 observations. */
double assay__moments_se(const assay__moments *m, long zeros);

/* ------------------------------------------------------------ inference.c */

/* The 0.975 quantile of the standard normal law. */
#define ASSAY__Z_95 1.959963984540054

/* The p-quantile of the standard normal law (AS 241); +-inf at 0 and 1. */
double assay__normal_quantile(double p);
/* Two-sided exact McNemar p-value for b and c discordant pairs. */
double assay__mcnemar_exact_p(long b, long c);
/* The unbiased pass@k of n samples with c passes (Chen et al. 2021). */
double assay__pass_at_k(long n, long c, long k);

/* xoshiro256** seeded through splitmix64: reproducible on every platform. */
typedef struct assay__rng {
    uint64_t s[4];
} assay__rng;

void assay__rng_seed(assay__rng *rng, uint64_t seed);
uint64_t assay__rng_next(assay__rng *rng);
/* Uniform in [0, n), without modulo bias. */
uint64_t assay__rng_below(assay__rng *rng, uint64_t n);
/*
 * Fills means[0..resamples) with the sorted means of `resamples` bootstrap
 * resamples of d[0..n), drawn from a generator seeded with `seed`.
 */
void assay__bootstrap_means(const float *d, size_t n, size_t resamples,
                            uint64_t seed, double *means);
/* The percentile interval at `level` from sorted bootstrap means. */
void assay__bootstrap_interval(const double *means, size_t resamples,
                               double level, double *low, double *high);
/* Two-sided percentile-bootstrap p-value of "the mean is 0". */
double assay__bootstrap_p(const double *means, size_t resamples);
/* Minimum detectable effect of a mean of n values with deviation sd. */
double assay__mde(double sd, double n, double alpha, double power);

/* ------------------------------------------------------------ keymap.c */

/* Strings interned to dense ids 0, 1, 2, ... in one capped arena. */
typedef struct assay__intern assay__intern;

/* NULL when out of memory; the arena holds at most max_bytes. */
assay__intern *assay__intern_new(size_t max_bytes);
void assay__intern_free(assay__intern *t);
/* The id of `s`, added when new; ASSAY_ERR_LIMIT past the cap. */
assay_status assay__intern_id(assay__intern *t, const char *s, uint32_t *id);
/* The id of `s`, or -1 when it was never added. */
long assay__intern_find(const assay__intern *t, const char *s);
/* The string of an id (valid until the table is freed); NULL if unknown. */
const char *assay__intern_str(const assay__intern *t, uint32_t id);
size_t assay__intern_count(const assay__intern *t);

/* A map from three numbers (group, case, repeat) to a slot number. */
typedef struct assay__slotmap assay__slotmap;

assay__slotmap *assay__slotmap_new(void);
void assay__slotmap_free(assay__slotmap *m);
/*
 * Looks the key up and, when it is absent, stores *value under it
 * (*inserted true); when present, sets *value to the stored slot.
 */
assay_status assay__slotmap_put(assay__slotmap *m, uint32_t a, uint32_t b,
                                uint32_t c, uint32_t *value, bool *inserted);
/* The slot stored under the key, or -1. */
long assay__slotmap_get(const assay__slotmap *m, uint32_t a, uint32_t b,
                        uint32_t c);


/* ------------------------------------------------------------ rescore.c */

/* One answer of an earlier run, as its result line gave it. */
typedef struct assay__recorded {
    char *output;        /* NULL when the line had none */
    char *finish_reason; /* NULL when unknown */
    char *error;         /* the error's message when it was an error */
    double latency_ms;   /* < 0 when unknown */
    long prompt_tokens;  /* -1 when unknown */
    long completion_tokens;
} assay__recorded;

typedef struct assay__answers assay__answers;

/* Reads every result line of a run record (a line cut short by a crash
   at the end is skipped). */
assay_status assay__answers_load(const char *record_path,
                                 assay__answers **out, assay_error *err);
void assay__answers_free(assay__answers *a);
/* The answer of (case, target, prompt, repeat), or NULL. */
const assay__recorded *assay__answers_find(const assay__answers *a,
                                           const char *case_id,
                                           const char *target,
                                           const char *prompt, int repeat);

/* ------------------------------------------------------------ csv.c */

/*
 * An RFC 4180 reader with no I/O: bytes are fed in, records are pulled
 * out. Quoted fields may hold commas, doubled quotes and line breaks; CRLF
 * and LF both end a record; a UTF-8 byte order mark at the start is
 * dropped. A quote inside an unquoted field is taken as text (as most
 * spreadsheets write it); text after a closing quote is an error.
 */
typedef struct assay__csv assay__csv;

typedef enum assay__csv_result {
    ASSAY__CSV_RECORD, /* a record is ready */
    ASSAY__CSV_MORE,   /* feed more bytes, or finish */
    ASSAY__CSV_END     /* finished and nothing is left */
} assay__csv_result;

/* `name` stands for the file in messages. */
assay_status assay__csv_new(const char *name, assay__csv **out,
                            assay_error *err);
void assay__csv_free(assay__csv *r);
/* More bytes of the text; ASSAY_ERR_LIMIT when a record passes 16 MiB. */
assay_status assay__csv_feed(assay__csv *r, const char *data, size_t len,
                             assay_error *err);
/* No more bytes will come: the last record may end without a newline. */
void assay__csv_finish(assay__csv *r);
/*
 * The next record. Its fields stay valid until the next call; `line` is
 * where it starts (from 1). A malformed record is ASSAY_ERR_DATASET with
 * its line and column; the reader then goes on at the next line.
 */
assay_status assay__csv_next(assay__csv *r, assay__csv_result *result,
                             assay_error *err);
size_t assay__csv_field_count(const assay__csv *r);
const char *assay__csv_field(const assay__csv *r, size_t i, size_t *len);
long assay__csv_line(const assay__csv *r);

/* ------------------------------------------------------------ dataset.c */

/*
 * One case of a dataset: its fields (the template variables) and its id.
 * Shared by the requests of every target, prompt and repeat, so it is
 * counted.
 */
typedef struct assay__case {
    cJSON *vars;
    char *id;
    long line; /* where it came from, 0 for inline cases without a place */
    int refs;
    /* The case's own checks (its `checks:` field, or CSV `__expected`
       columns), scored after the suite's. */
    assay__check **checks;
    size_t n_checks;
    assay__doc *doc; /* what those checks were compiled from, or NULL */
} assay__case;

assay__case *assay__case_ref(assay__case *c);
void assay__case_unref(assay__case *c);

typedef enum assay__data_format {
    ASSAY__DATA_AUTO = 0, /* from the extension: .csv, .json, else JSONL */
    ASSAY__DATA_JSONL,
    ASSAY__DATA_CSV,
    ASSAY__DATA_JSON
} assay__data_format;

/* A `map:` entry: the case's field `name` is the record's at `path`. */
typedef struct assay__field_map {
    char *name;
    char *path; /* dotted, as in templates: "answer", "choices.0" */
} assay__field_map;

/*
 * Where cases come from and how records become cases. Any front end (the
 * suite loader, a promptfoo config) fills one of these.
 */
typedef struct assay__dataset_spec {
    char *path;                 /* a file; NULL for inline cases */
    assay__data_format format;
    const assay__doc *doc;      /* inline cases: the document holding them */
    const cJSON *inline_cases;  /* borrowed from `doc` */
    assay__field_map *map;
    size_t n_map;
    const cJSON *shots;         /* few-shot examples, given to every case
                                   as `fewshot` (borrowed); NULL: none */
} assay__dataset_spec;

void assay__dataset_spec_release(assay__dataset_spec *spec);

/* `--filter key=value`: the field at `path` (or the case id) reads `value`. */
typedef struct assay__filter {
    char *path;
    char *value;
} assay__filter;

/* Which cases a run takes, and what a bad record does. */
typedef struct assay__select {
    long limit;  /* < 0: every case */
    long sample; /* < 0: no sampling */
    uint64_t seed;
    assay__filter *filters; /* all must hold */
    size_t n_filters;
    assay_skip_fn skip; /* NULL: a bad record stops the dataset */
    void *skip_data;
    uint32_t shard_index; /* with shard_count > 1, only the cases of */
    uint32_t shard_count; /*   this shard (select.c says which) */
} assay__select;

void assay__select_init(assay__select *sel);
void assay__select_release(assay__select *sel);
assay_status assay__select_add_filter(assay__select *sel, const char *path,
                                      const char *value);

/*
 * Streams cases one at a time, from a JSON Lines or CSV file (memory does
 * not grow with the file), a JSON array, or a suite's inline `cases:`.
 * Each record is checked (UTF-8, a mapping, a usable and unique id), mapped,
 * and selected (filters, then the sample, then the limit).
 */
typedef struct assay__dataset assay__dataset;

/* `spec` and `sel` are borrowed and must outlive the dataset. */
assay_status assay__dataset_open(const assay__dataset_spec *spec,
                                 const assay__select *sel,
                                 assay__dataset **out, assay_error *err);
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
/* Bad records skipped so far. */
long assay__dataset_skipped(const assay__dataset *d);
/* The value at dotted `path` ("choices.0", "meta.level") in `v`, or NULL. */
const cJSON *assay__json_at_path(const cJSON *v, const char *path);
/* One promptfoo assertion string (a CSV `__expected` cell) as a check
   spec {type, value, threshold}; NULL when out of memory. */
cJSON *assay__dataset_assertion_spec(const char *text);
void assay__dataset_free(assay__dataset *d);

/* ------------------------------------------------------------ select.c */

/*
 * Selection over a stream of cases: filters, a reservoir sample (memory
 * holds the sample, never the stream) and a limit.
 */
typedef struct assay__selector assay__selector;
typedef assay_status (*assay__pull_fn)(void *source, assay__case **out,
                                       assay_error *err);

assay_status assay__selector_new(const assay__select *sel,
                                 assay__selector **out, assay_error *err);
void assay__selector_free(assay__selector *s);
/* The next selected case pulled through `pull`; *out NULL at the end. */
assay_status assay__selector_next(assay__selector *s, assay__pull_fn pull,
                                  void *source, assay__case **out,
                                  assay_error *err);
/* True when `c` passes every filter. */
bool assay__select_matches(const assay__select *sel, const assay__case *c);
/* True when the case with this id belongs to the selection's shard. */
bool assay__select_in_shard(const assay__select *sel, const char *case_id);
/* The filters, sample and limit as JSON (only those set), for run
   headers; the shard is not in it. NULL when out of memory. */
cJSON *assay__select_to_json(const assay__select *sel);

/* ------------------------------------------------------------ gates.c */

#define ASSAY__MAX_METRIC_GATES 32
#define ASSAY__METRIC_NAME_MAX 64 /* bytes, the NUL included */

/* `metrics: {NAME: {min: X}}`: the mean of a metric must reach X. */
typedef struct assay__metric_gate {
    char name[ASSAY__METRIC_NAME_MAX];
    double min;
} assay__metric_gate;

/*
 * The suite's `gates:` block; NaN means "no such gate". A plain value with
 * no pointer, so suites, summaries and records copy it freely.
 */
typedef struct assay__gates {
    double pass_rate_min;
    double error_rate_max;
    double latency_p95_ms_max;
    double cost_max;
    double regression_max_drop; /* NaN: no regression block */
    double regression_alpha;
    size_t n_metrics;
    assay__metric_gate metrics[ASSAY__MAX_METRIC_GATES];
} assay__gates;

/* What `regression:` means when a key, or the whole block, is left out. */
#define ASSAY__DEFAULT_MAX_DROP 0.02
#define ASSAY__DEFAULT_ALPHA 0.05

void assay__gates_init(assay__gates *g);
/* Reads a `gates:` node (NULL: none); errors point at the offending key. */
assay_status assay__gates_parse(const assay__doc *doc, const cJSON *node,
                                assay__gates *out, assay_error *err);
/*
 * Sets one gate by its dotted name ("pass_rate.min", "metrics.NAME.min",
 * "error_rate.max", "latency_p95_ms.max", "cost.max", "regression.max_drop",
 * "regression.alpha"); NaN removes it. ASSAY_ERR_INVALID names the problem.
 */
assay_status assay__gates_set(assay__gates *g, const char *name, double value,
                              assay_error *err);
/* The gates as JSON, for the run record's header; NULL when out of memory. */
cJSON *assay__gates_to_json(const assay__gates *g);
/* Reads what assay__gates_to_json wrote; false when malformed. Gates this
   version does not know are skipped, so newer records still load. */
bool assay__gates_from_json(const cJSON *json, assay__gates *out);

/* ------------------------------------------------------------ suite.c */

/* ------------------------------------------------------------ promptfoo.c */

/* True for a promptfoo config: `providers`, or `prompts` with `tests`, and
   no `targets`. */
bool assay__promptfoo_detect(const cJSON *root);
/*
 * Fills `s` (its doc and path already set) from a promptfoo config. What
 * assay cannot run is listed in one ASSAY_ERR_SUITE error, each item with
 * its file, line and column. `env` (may be NULL) serves `{{ env.NAME }}`.
 */
assay_status assay__promptfoo_load(assay_suite *s, assay_env_fn env,
                                   void *env_data, assay_error *err);

/* ------------------------------------------------------------ target.c */

typedef enum assay__endpoint_kind {
    ASSAY__ENDPOINT_CHAT,       /* /chat/completions */
    ASSAY__ENDPOINT_COMPLETIONS, /* /completions: one prompt string */
    ASSAY__ENDPOINT_EMBEDDINGS   /* /embeddings */
} assay__endpoint_kind;

/* How a target is reached, from its connection keys in the suite. */
typedef struct assay__connection {
    char **headers; /* "Name: value" lines */
    size_t n_headers;
    char *azure_deployment; /* NULL unless an Azure OpenAI target */
    char *azure_api_version;
    bool verify_tls;
    double rpm; /* 0: no limit */
    double tpm;
    int max_concurrency; /* 0: the run's */
    cJSON *extra;        /* merged into every body; NULL: none */
    assay__endpoint_kind endpoint;
} assay__connection;

void assay__connection_init(assay__connection *c);
void assay__connection_release(assay__connection *c);
/* Reads the connection keys of a target's mapping (others are ignored). */
assay_status assay__connection_load(const assay__doc *doc,
                                    const cJSON *target, assay__connection *c,
                                    assay_error *err);
/* The request URL for `base_url` (no trailing slash). */
assay_status assay__connection_url(const assay__connection *c,
                                   const char *base_url, assay__buf *out);
struct curl_slist;
/* The request headers, with the key as Azure's api-key or as a bearer. */
assay_status assay__connection_headers(const assay__connection *c,
                                       const char *api_key,
                                       struct curl_slist **out);

typedef struct assay__target {
    char *name;
    char *base_url;    /* NULL: OPENAI_BASE_URL or the OpenAI API */
    char *model;
    char *api_key_env; /* the variable holding the key */
    cJSON *params;     /* request parameters, an object (owned) */
    assay__connection conn;
    char *output_field; /* answers with this field of the case, or NULL */
    bool echo;          /* answers with the rendered prompt */
    assay_target_fn call; /* a callback target's function, or NULL */
    void *call_data;
} assay__target;

typedef struct assay__message {
    char *role;
    assay__template *content;
} assay__message;

/*
 * One prompt variant: a list of message templates, or (`from_case`) the
 * case's own `input` field sent as it is, a text or a list of
 * {role, content} (OpenAI-evals samples); `messages` then holds only the
 * few-shot messages, put after the case's leading system messages.
 */
typedef struct assay__prompt {
    char *name; /* "default" for the single `prompt:` form */
    assay__message *messages;
    size_t n_messages;
    bool from_case;
    cJSON *params; /* request parameters over the target's, or NULL */
} assay__prompt;

/*
 * The request parameters for prompt variant `p` to a target whose own are
 * `base`: a new object with the prompt's params over `base`, or NULL
 * (with *st ASSAY_OK) when the prompt has none and `base` applies as it is.
 */
cJSON *assay__prompt_params(const cJSON *base, const assay__prompt *p,
                            assay_status *st);
/* `over`'s members replacing or joining those of a copy of `base`. */
cJSON *assay__params_over(const cJSON *base, const cJSON *over);

/* One prompt rendered for one case; the buffers are reused case to case. */
typedef struct assay__rendered {
    assay__buf *contents;
    const char **roles; /* borrowed from the suite or the case */
    size_t n;
    size_t cap;
} assay__rendered;

void assay__rendered_init(assay__rendered *r);
void assay__rendered_release(assay__rendered *r);
/* Renders prompt `p` for case `c` into `out` (replacing what it held). */
assay_status assay__prompt_render(const assay__prompt *p, const assay__case *c,
                                  assay__rendered *out, assay_error *err);

typedef struct assay__suite_extras assay__suite_extras;

struct assay_suite {
    assay__doc *doc;
    char *path;
    char *name;
    assay__target *targets;
    size_t n_targets;
    assay__prompt *prompts; /* targets x prompts is the comparison matrix */
    size_t n_prompts;
    assay__dataset_spec dataset;
    cJSON *shots; /* the drawn `fewshot` examples (owned), or NULL */
    assay__check **checks; /* `defaults.checks`, then `checks` */
    size_t n_checks;
    assay__target *grader;   /* for model-graded checks; NULL: none */
    assay__target *embedder; /* for similarity checks; NULL: none */
    int repeat;
    double case_threshold; /* NaN: a case passes when all checks pass */
    bool allow_exec;       /* `exec` checks may run programs */
    assay__gates gates;
    char config_hash[65]; /* SHA-256 of the suite as loaded, in hex */
    assay__suite_extras *extras; /* what building it in code added (build.c) */
};

/*
 * Reads one entry of a `targets:` list (a node of `doc`, which may be
 * another document than the suite's) into `t`, as a suite file's entry
 * is read, unknown keys included; the suite's defaults do not apply.
 */
/* config_hash := SHA-256(config_hash, what, each of `names`), every text
   NUL-ended: what changes a suite after loading changes its hash, so that
   records of different suites are never resumed or merged together. */
assay_status assay__suite_mix_hash(assay_suite *s, const char *what,
                                   const char *const *names, size_t n,
                                   assay_error *err);
assay_status assay__suite_load_target(assay_suite *s, const assay__doc *doc,
                                      const cJSON *node, assay__target *t,
                                      assay_error *err);

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
    /*
     * The reply to a log-likelihood request (loglik.c), one entry per
     * prompt of its list: {prompt, text, logprobs} with the prompt as
     * sent and the choice's text and `logprobs` as they came (null where
     * the reply has no choice for it). NULL for other replies.
     */
    cJSON *choices;
    char finish_reason[32];
    char model[128];
    char id[128];
    char system_fingerprint[128];
    char error_code[64]; /* an error body's `code` ("insufficient_quota") */
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
/* Appends a /completions body: the messages joined into one prompt. */
assay_status assay__openai_completion_request(assay__buf *body,
                                              const char *model,
                                              const cJSON *params,
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

/* ------------------------------------------------------------ loglik.c */

/*
 * Log-likelihood multiple choice over /completions, as
 * lm-evaluation-harness scores `output_type: multiple_choice`: one request
 * per case whose `prompt` is a list, the case's prompt (the context) then
 * each continuation, sent with `echo` so that the reply gives every
 * prompt token's logprob. The loglik-choice checks read the sums.
 *
 * The body for the case `c` to a /completions target, when one of the
 * suite's or the case's checks scores log-likelihoods (*built true);
 * else nothing is written and *built is false. `params` go through as for
 * any request, except the fields this request needs: prompt, echo,
 * logprobs (1), max_tokens (1: vLLM refuses 0; what is generated is left
 * out of the sums), temperature (0), and no n, best_of or stream.
 */
assay_status assay__loglik_request(const assay_suite *s, const assay__case *c,
                                   const char *model, const cJSON *params,
                                   const assay__buf *contents,
                                   size_t n_messages, assay__buf *body,
                                   bool *built, assay_error *err);
/*
 * Parses the reply to such a request (`request` is its body): as
 * assay__openai_parse_chat, for the whole reply or, from llama-server,
 * for the first of a JSON array of completions (usage summed over them),
 * and then out->choices holds each prompt's choice. A refusal that names
 * `echo` (llama-server's 500 "Unsupported param: echo") or, with a 4xx,
 * `logprobs`, says that the server cannot score log-likelihoods and what
 * to use instead.
 */
assay_status assay__loglik_parse(const char *request, size_t request_len,
                                 long http_status, const char *body,
                                 size_t len, assay__response *out,
                                 assay_error *err);
/*
 * A suite's targets, when one of its checks scores log-likelihoods: each
 * must send to /completions (such a request is never streamed, whatever
 * the target says). `targets` is the suite's `targets` node, for the
 * error's place.
 */
assay_status assay__loglik_validate(const assay_suite *s,
                                    const cJSON *targets, assay_error *err);

/* ------------------------------------------------------------ retry.c */

typedef struct assay__retry_policy {
    int max_attempts;        /* the first attempt included */
    double base_delay_ms;    /* backoff before the 2nd attempt, at most */
    double max_delay_ms;     /* backoff cap */
    double case_deadline_ms; /* from the first attempt; 0: none */
} assay__retry_policy;

/* How one attempt ended, as the retry rule needs it. */
typedef struct assay__attempt {
    int attempt;            /* 1 for the first */
    int curl_code;          /* CURLE_OK when an HTTP reply came */
    long http_status;
    bool body_ok;           /* a 2xx reply parsed as a completion */
    double retry_after_ms;  /* from retry-after(-ms); < 0 when absent */
    int should_retry;       /* x-should-retry: -1 absent, 0 false, 1 true */
    const char *error_code; /* the error body's `code`, or NULL */
    const char *error_message;
} assay__attempt;

/* 5 attempts, 0.5 s base, 30 s cap, 10 min per case. */
void assay__retry_policy_init(assay__retry_policy *p);
/*
 * True when attempt `a` should be followed by another after *delay_ms;
 * false with the reason in *why_not. `elapsed_ms` is the time since the
 * case's first attempt; `rng` is the caller's jitter state.
 */
bool assay__retry_decide(const assay__retry_policy *p, const assay__attempt *a,
                         double elapsed_ms, uint64_t *rng, double *delay_ms,
                         const char **why_not);
/* A Retry-After value (seconds or an HTTP date) in ms; -1 if unreadable. */
double assay__retry_after_ms(const char *value, time_t now);
/* A uniform number in [0, 1) from a splitmix64 state. */
double assay__random_unit(uint64_t *state);

/* ------------------------------------------------------------ ratelimit.c */

typedef struct assay__bucket {
    double capacity; /* 0: no limit */
    double level;
    double rate_per_ms;
} assay__bucket;

/* What the server's x-ratelimit-* headers said; -1 when absent. */
typedef struct assay__ratelimit_headers {
    long remaining_requests;
    long remaining_tokens;
    double reset_requests_ms;
    double reset_tokens_ms;
} assay__ratelimit_headers;

/* One target's limits; fields private to ratelimit.c. */
typedef struct assay__limiter {
    assay__bucket requests;
    assay__bucket tokens;
    double window; /* congestion window: requests allowed in flight */
    int max_window;
    int in_flight;
    double blocked_until_ms;
    double last_decrease_ms;
    double last_ms;
    long throttled; /* 429s seen */
} assay__limiter;

/* rpm, tpm: per minute, 0 for no limit. */
void assay__limiter_init(assay__limiter *l, int max_concurrency, double rpm,
                         double tpm);
/*
 * 0 when a request estimated at `tokens` may go now (it is then counted in
 * flight); otherwise the ms to wait, INFINITY when only a finishing request
 * can make room.
 */
double assay__limiter_admit(assay__limiter *l, double now_ms, double tokens);
/* A request admitted earlier ended; `actual_tokens` < 0 when unknown. */
void assay__limiter_finished(assay__limiter *l, double now_ms, bool throttled,
                             double estimated_tokens, double actual_tokens);
void assay__limiter_observe(assay__limiter *l, double now_ms,
                            const assay__ratelimit_headers *h);
/* Holds every request back until `until_ms` (a 429's retry-after). */
void assay__limiter_pause(assay__limiter *l, double until_ms);
void assay__ratelimit_headers_init(assay__ratelimit_headers *h);
/* "6m0s", "20ms", "1.5s" in ms; -1 when unreadable. */
double assay__ratelimit_duration_ms(const char *text);

/* ------------------------------------------------------------ embeddings.c */

/* Vectors from an /embeddings reply, in input order, all of one dimension. */
typedef struct assay__embeddings {
    double *values; /* count x dim, row by row */
    size_t count;
    size_t dim;
    long prompt_tokens; /* -1 when not reported */
} assay__embeddings;

void assay__embeddings_init(assay__embeddings *e);
void assay__embeddings_release(assay__embeddings *e);
/* Vector `i`, or NULL when out of range. */
const double *assay__embeddings_vector(const assay__embeddings *e, size_t i);
assay_status assay__openai_embeddings_request(assay__buf *body,
                                              const char *model,
                                              const char *const *inputs,
                                              size_t n);
/* Error statuses read as for completions (ASSAY_ERR_HTTP with the
   server's message); a body without vectors is ASSAY_ERR_RESPONSE. */
assay_status assay__openai_parse_embeddings(long http_status,
                                            const char *body, size_t len,
                                            assay__embeddings *out,
                                            assay_error *err);

/* ------------------------------------------------------------ engine.c */

/*
 * One libcurl multi loop. A transfer is a POST of a prepared body; when it
 * ends, the done callback gets it back with the response body, the HTTP
 * status and the timing, or a transport error.
 */
typedef struct assay__engine assay__engine;

typedef struct assay__transfer assay__transfer;

/* Called with each piece of the body as it arrives (streams, TTFT). */
typedef assay_status (*assay__transfer_data_fn)(assay__transfer *t,
                                                const char *bytes, size_t n);

struct assay__transfer {
    void *user;                /* the caller's job */
    assay__buf request_body;   /* filled by the caller before submit */
    assay__transfer_data_fn on_data; /* optional, set before submit */
    assay__buf response_body;
    long http_status;
    double latency_ms;
    int curl_code;             /* CURLE_OK when the exchange completed */
    char curl_error[256];
    /* From the response headers. */
    double retry_after_ms;     /* retry-after-ms or retry-after; -1 */
    int should_retry;          /* x-should-retry: -1 absent, 0, 1 */
    assay__ratelimit_headers limits;
};

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
struct curl_slist;
struct Curl_URL;

/* Where and how a transfer goes; the run keeps one per target. */
typedef struct assay__endpoint {
    const char *url;
    struct Curl_URL *parsed; /* url, from assay__engine_parse_url, or NULL */
    const struct curl_slist *headers; /* from assay__engine_headers */
    bool verify_tls;
} assay__endpoint;

/*
 * The url parsed once for all the requests to it (libcurl otherwise
 * parses it again for each), or NULL when libcurl's parser refuses it
 * (then the url itself is sent, and the first request says what is
 * wrong with it, as libcurl would) or without memory.
 */
struct Curl_URL *assay__engine_parse_url(const char *url);
void assay__engine_url_free(struct Curl_URL *parsed);

/*
 * The request headers of a target: JSON content type, the credential as
 * `auth_name: auth_value` (skipped when auth_value is NULL or empty; the
 * key goes nowhere else) and `extra` lines "Name: value".
 */
assay_status assay__engine_headers(const char *auth_name,
                                   const char *auth_value,
                                   const char *const *extra, size_t n_extra,
                                   struct curl_slist **out);
/* Frees headers, overwriting them first: they may hold a key. */
void assay__engine_headers_free(struct curl_slist *headers);
/* Starts a POST of t->request_body to the endpoint. */
assay_status assay__engine_submit(assay__engine *e, assay__transfer *t,
                                  const assay__endpoint *endpoint);
size_t assay__engine_in_flight(const assay__engine *e);
/* Makes a wait in assay__engine_step return early; safe from any thread. */
void assay__engine_wakeup(assay__engine *e);
/*
 * Stops every transfer in flight at once, without calling the done
 * callback: `abandon` gets each one instead (to free what its `user`
 * holds), and the transfer goes back to the pool.
 */
void assay__engine_abort_all(assay__engine *e,
                             void (*abandon)(assay__transfer *t, void *user),
                             void *user);
/* Milliseconds since `t` was submitted (for time to first token). */
double assay__engine_elapsed_ms(const assay__transfer *t);
/* A monotonic clock in milliseconds, the one the engine times with. */
double assay__now_ms(void);

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
    const char *metric; /* aggregated under; NULL: the type */
    double weight;      /* in the case's score; 0: reported only */
    bool pass;
    double score;
    const char *reason;
} assay__check_outcome;

/* Everything one result line says. */
typedef struct assay__result {
    const char *case_id;
    const char *target;
    const char *prompt; /* the prompt variant's name */
    int repeat;
    const assay__response *response; /* NULL when no response came */
    bool has_verdict;
    bool pass;
    double score;
    const assay__check_outcome *checks;
    size_t n_checks;
    double latency_ms; /* < 0 when there was no response */
    double ttft_ms;    /* NaN unless streamed */
    int attempts;      /* 0 when the reply came from the cache */
    bool cached;
    /* Requests to the grader for model-graded checks, and their usage
       (counted apart from the target's; -1 when unknown). */
    long grader_requests;
    long grader_prompt_tokens;
    long grader_completion_tokens;
    const char *error_kind; /* NULL when there is no error */
    long error_status;
    const char *error_message;
} assay__result;

assay_status assay__journal_open(const char *path, assay__journal **out,
                                 assay_error *err);
/* Opens a record to go on with (resume.c repaired it): no header. */
assay_status assay__journal_open_append(const char *path,
                                        assay__journal **out,
                                        assay_error *err);
/* Fields the header line will carry after its own (taken; NULL: none). */
void assay__journal_header_extra(assay__journal *j, cJSON *fields);
/* The summary line will say "interrupted": true. */
void assay__journal_mark_interrupted(assay__journal *j);
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
/* Pushes what is buffered to the file. */
assay_status assay__journal_flush(assay__journal *j, assay_error *err);
/* Whether lines were written since the last flush. */
bool assay__journal_unflushed(const assay__journal *j);

/* ------------------------------------------------------------ pending.c */

/*
 * The results of a case with a comparative check (select-best, max-score),
 * held until every target has answered it: one group per (case, prompt,
 * repeat). When the last is in, the group's comparative checks are judged
 * (select-best asks the grader once, through the run's hooks), each result
 * gets their verdicts and its own verdict, and goes back to the run to be
 * recorded. Only the cases being answered are held.
 */
typedef struct assay__pending assay__pending;
typedef struct assay__group assay__group;

typedef struct assay__pending_hooks {
    void *data;
    /* Records a result that is final: its verdict set, or an error. */
    void (*record)(void *data, assay__result *r);
    /*
     * Sends the grader the question of comparative check `check` (an
     * index into the case's checks: the suite's, then the case's own) of
     * group `g`. On ASSAY_OK exactly one of assay__group_graded and
     * assay__group_grader_gone follows, maybe before it returns.
     */
    assay_status (*ask)(void *data, assay__group *g, assay__case *c,
                        size_t prompt, int repeat, size_t check,
                        const assay__buf *system, const assay__buf *user,
                        assay_error *err);
} assay__pending_hooks;

/*
 * Refuses a suite whose comparative checks cannot run: fewer than two
 * targets to compare, or select-best without a grader. The error names
 * the check's place.
 */
assay_status assay__pending_check_suite(const assay_suite *s,
                                        assay_error *err);
assay_status assay__pending_new(const assay_suite *s,
                                const assay__pending_hooks *hooks,
                                assay__pending **out, assay_error *err);
/* After every job is gone. Accepts NULL. */
void assay__pending_free(assay__pending *p);
/*
 * The group a job for (c, prompt, repeat) joins; *out NULL when the case
 * has no comparative check. A job of another case closes the groups of
 * the one before: the run sends a case's jobs together.
 */
assay_status assay__pending_join(assay__pending *p, assay__case *c,
                                 size_t prompt, int repeat,
                                 assay__group **out);
/* No job will join any more: every group is closed. */
void assay__pending_seal(assay__pending *p);
/*
 * The run's loop has ended: each group still held is recorded now, its
 * comparison not made (an error of kind "check" on each answer that says
 * so). What happens to its jobs afterwards only releases them.
 */
void assay__pending_flush(assay__pending *p);
/*
 * The result of `target` for the group it joined; `resp` (the result's
 * response, or NULL) is moved in, the rest copied. Settles the group when
 * it is the last.
 */
assay_status assay__group_hold(assay__group *g, size_t target,
                               const assay__result *r, assay__response *resp);
/* A job that joined will give no result (the run is stopping). */
void assay__group_leave(assay__group *g);
/*
 * The grader's reply to the question of comparative check `check`, or
 * (reply NULL) why it could not answer. Usage < 0 is unknown.
 */
void assay__group_graded(assay__group *g, size_t check, const char *reply,
                         size_t len, long prompt_tokens,
                         long completion_tokens, const char *failure);
/* A grader job for `check` is gone unanswered (the run is stopping). */
void assay__group_grader_gone(assay__group *g, size_t check);

/* ------------------------------------------------------------ summary.c */

/* The prompt of results that name none. */
#define ASSAY__DEFAULT_PROMPT "default"
/* Distinct metrics kept per group (and per result line). */
#define ASSAY__MAX_METRICS 64

/* One metric's value in one result: checks sharing a metric are merged. */
typedef struct assay__metric_value {
    const char *name;
    bool pass;
    double score;
} assay__metric_value;

/* Everything the statistics take from one result. */
typedef struct assay__observation {
    const char *target;
    const char *prompt;  /* NULL: ASSAY__DEFAULT_PROMPT */
    const char *case_id; /* needed for repeats and comparisons */
    const char *cluster; /* NULL: the case has no cluster key */
    int repeat;
    assay__outcome outcome;
    double score; /* ignored for errors, which count as 0 */
    const assay__metric_value *metrics;
    size_t n_metrics;
    double latency_ms; /* < 0 when there was no response */
    long prompt_tokens; /* < 0 when unknown */
    long completion_tokens;
    double cost; /* NaN when unknown */
    int attempts; /* requests sent for it; 0 for a cache hit */
} assay__observation;

/*
 * A new summary with one group per target, each for the default prompt.
 * Group i is target i, as the run counts them.
 */
assay_summary *assay__summary_new(const char *suite_name,
                                  const char *const *targets, size_t n,
                                  const assay__gates *gates);
/*
 * A new summary with one group per (target, prompt): group t * n_prompts + p
 * is targets[t] with prompts[p]. No prompts (NULL, 0) means the default.
 */
assay_summary *assay__summary_new_groups(const char *suite_name,
                                         const char *const *targets,
                                         size_t n_targets,
                                         const char *const *prompts,
                                         size_t n_prompts,
                                         const assay__gates *gates);
/*
 * Keeps per-case state (samples, passes, score sums) for repeat statistics,
 * pass@k and flaky cases; with repeats > 1, repeats of a case are also
 * clustered together for the standard errors. Call before adding results.
 */
void assay__summary_set_repeat(assay_summary *s, int repeats);
/* The group of a target with the default prompt, or -1. */
long assay__summary_group(const assay_summary *s, const char *target);
/* The group of (target, prompt); prompt NULL is the default; -1 if none. */
long assay__summary_group_of(const assay_summary *s, const char *target,
                             const char *prompt);
/* Counts without scores, for callers that have only an outcome. */
void assay__summary_add(assay_summary *s, size_t group, assay__outcome outcome,
                        double latency_ms, long prompt_tokens,
                        long completion_tokens);
/*
 * Adds a result to the group of its (target, prompt), which is created when
 * the target is known but the prompt is new. ASSAY_ERR_INVALID when the
 * target is unknown; ASSAY_ERR_LIMIT past ASSAY__MAX_METRICS metrics.
 */
assay_status assay__summary_observe(assay_summary *s,
                                    const assay__observation *o);
/*
 * Merges one check's outcome into the metric values of a result: the first
 * check of a metric adds it, later ones average their scores into it (the
 * running mean over counts[i] checks) and pass only when all pass. False
 * past ASSAY__MAX_METRICS metrics. `name` is borrowed, not copied.
 */
bool assay__metric_merge(assay__metric_value *values, int *counts, size_t *n,
                         const char *name, bool pass, double score);
/* A statistic by the name reports give it. */
typedef struct assay__stat_field {
    const char *key;
    assay_stat stat;
} assay__stat_field;

/* What a group reports, in order: the summary line and the JSON report. */
extern const assay__stat_field assay__group_fields[];
extern const size_t assay__n_group_fields;

/* Adds a result as the journal writes it, to `group`. */
assay_status assay__summary_add_result(assay_summary *s, size_t group,
                                       const assay__result *r);
/*
 * Evaluates the gates on the counts so far; call before reading verdicts.
 * Also reports the first failure of an earlier add (out of memory).
 */
assay_status assay__summary_finish(assay_summary *s);
const assay__stats *assay__summary_stats(const assay_summary *s, size_t group);

/* ------------------------------------------------------------ report/ */

/* One report format: writes a summary to a stream. Registered in report.c. */
typedef assay_status (*assay__report_fn)(const assay_summary *s, FILE *out,
                                         assay_error *err);

assay_status assay__report_text(const assay_summary *s, FILE *out,
                                assay_error *err);

/* One format of comparison reports. Registered in report.c. */
typedef assay_status (*assay__compare_report_fn)(const assay_compare *c,
                                                 FILE *out, assay_error *err);

assay_status assay__report_compare_text(const assay_compare *c, FILE *out,
                                        assay_error *err);

/*
 * What a whole report is made of (assay_report_write): the summary, the
 * comparison and the record to stream per-result rows from. A format that
 * needs a part that is NULL fails with ASSAY_ERR_INVALID saying so.
 */
typedef struct assay__report_input {
    const assay_summary *summary; /* NULL: a comparison alone */
    const assay_compare *compare; /* NULL: no comparison */
    const char *record_path;      /* NULL: no per-result rows */
    bool color;                   /* ANSI colours (text only) */
} assay__report_input;

/* One format of whole reports. Registered in report.c. */
typedef assay_status (*assay__report_input_fn)(const assay__report_input *in,
                                               FILE *out, assay_error *err);

assay_status assay__report_text_input(const assay__report_input *in,
                                      FILE *out, assay_error *err);
assay_status assay__report_text_color(const assay_summary *s, FILE *out,
                                      assay_error *err);
assay_status assay__report_json(const assay__report_input *in, FILE *out,
                                assay_error *err);
assay_status assay__report_junit(const assay__report_input *in, FILE *out,
                                 assay_error *err);
assay_status assay__report_markdown(const assay__report_input *in, FILE *out,
                                    assay_error *err);
assay_status assay__report_html(const assay__report_input *in, FILE *out,
                                assay_error *err);
assay_status assay__report_csv(const assay__report_input *in, FILE *out,
                               assay_error *err);

/* report/common.c: what the formats share. */

/* One result line of a record as the per-result formats read it; every
   pointer is borrowed for the time of the callback. */
typedef struct assay__report_row {
    const cJSON *json;        /* the whole line */
    long line;                /* its line in the record, from 1 */
    const char *case_id;      /* "" when absent */
    const char *target;
    const char *prompt;       /* ASSAY__DEFAULT_PROMPT when absent */
    int repeat;
    assay__outcome outcome;
    double score;             /* NaN for errors */
    const char *output;       /* NULL when no answer came */
    const cJSON *checks;      /* the "checks" array; NULL when absent */
    double latency_ms;        /* NaN when unknown */
    const char *error_kind;   /* NULL unless the request failed */
    const char *error_message;
    long error_status;        /* 0 when none */
} assay__report_row;

typedef assay_status (*assay__report_row_fn)(void *user,
                                             const assay__report_row *row,
                                             assay_error *err);

/* Streams the result lines of a record to `fn`, in record order, with the
   record reader's rules (blank lines skipped, a last line cut short by a
   crash ignored). */
assay_status assay__report_rows(const char *record_path,
                                assay__report_row_fn fn, void *user,
                                assay_error *err);
/* The length of the valid UTF-8 sequence at p (n bytes left), or 0. */
size_t assay__report_utf8_sequence(const char *p, size_t n);
/* The longest prefix of s[0..len) of at most `max` bytes that does not
   cut a UTF-8 sequence. */
size_t assay__report_utf8_prefix(const char *s, size_t len, size_t max);
/*
 * Appends s[0..len) escaped for XML and HTML (text and attribute values
 * alike): & < > " ' as references, and in attributes also tab and line
 * breaks, which parsers would otherwise fold. Invalid UTF-8 and the
 * characters XML 1.0 forbids become U+FFFD. At most `max` bytes of `s` are
 * taken (whole characters), then "..." marks the cut.
 */
assay_status assay__report_put_xml(assay__buf *b, const char *s, size_t len,
                                   size_t max, bool attribute);
/* `v` with `decimals` digits after a '.', whatever the locale. */
assay_status assay__report_put_fixed(assay__buf *b, double v, int decimals);
/* Writes the buffer to `out` once it holds `at_least` bytes (0: always)
   and empties it. */
assay_status assay__report_spill(assay__buf *b, FILE *out, size_t at_least,
                                 assay_error *err);
/* Ends a report: on success writes and flushes what is left; turns a
   failure `st` that `err` does not describe yet (writers start with a
   cleared error) into a message; releases the buffer. */
assay_status assay__report_finish(assay__buf *b, FILE *out, assay_status st,
                                  const char *what, assay_error *err);
/* The group of a row in the summary; -1 when it has none. */
long assay__report_group(const assay_summary *s, const assay__report_row *row);

/* ------------------------------------------------------------ record.c */

/* What a run record's header says, borrowed for the time of a callback. */
typedef struct assay__record_header {
    const char *suite;
    const char *const *targets;
    size_t n_targets;
    const char *const *prompts; /* from "prompts", when the run names them */
    size_t n_prompts;
    int repeat;
    assay__gates gates;
} assay__record_header;

typedef assay_status (*assay__record_header_fn)(
    void *user, const assay__record_header *h, assay_error *err);
/* `path` and `line` place the result for error messages. */
typedef assay_status (*assay__record_result_fn)(void *user,
                                                const assay__observation *o,
                                                const char *path, long line,
                                                assay_error *err);

/*
 * Streams a run record: the header first, then every result line, each
 * parsed into an observation. Checks sharing a `metric` (else their
 * `type`) become one metric value: the mean score, passing when all pass.
 * A line cut short by a crash at the end is skipped. A callback's error
 * stops the scan and is returned.
 */
assay_status assay__record_scan(const char *path, assay__record_header_fn on_header,
                                assay__record_result_fn on_result, void *user,
                                assay_error *err);
/* A record's summary, recomputed from its result lines. */
assay_status assay__record_read(const char *path, assay_summary **out,
                                assay_error *err);

/* ------------------------------------------------------------ cache.c */

/*
 * The response cache: one SQLite file (WAL, shared safely by several
 * processes) of complete, successful responses. Key encoding and schema:
 * docs/cache.md. One cache object is used from one thread.
 *
 * Errors name the file: a missing file in read-only mode, a file that is
 * not SQLite or not an assay cache, another schema version, a lock held
 * by another process past the busy timeout (30 s) all give ASSAY_ERR_IO
 * with "PATH: what is wrong".
 */
typedef struct assay__cache assay__cache;

#define ASSAY__CACHE_KEY_SIZE 32

/* What is stored for one response. */
typedef struct assay__cache_entry {
    const char *body;     /* exactly as received: JSON, or raw SSE bytes */
    size_t len;
    bool stream;          /* true: `body` is the SSE stream */
    double latency_ms;    /* as measured when it was fetched */
    double ttft_ms;       /* time to first token; < 0 when not measured */
    const char *base_url; /* for stats; user:password@ is dropped */
    const char *model;    /* for stats; NULL: unknown */
} assay__cache_entry;

/*
 * Opens the cache at `path`. Writable: creates the file and its folders,
 * and the schema in a new file. Read-only: never creates anything, and a
 * missing file is an error. A file of another schema version is refused.
 */
assay_status assay__cache_open(const char *path, bool read_only,
                               assay__cache **out, assay_error *err);
/* Writes what is pending (errors are lost: call _flush first to see them)
   and closes. Accepts NULL. */
void assay__cache_close(assay__cache *c);
/* The path the cache was opened with. */
const char *assay__cache_path(const assay__cache *c);

/*
 * The key of one request: SHA-256 over length-prefixed fields (a tag, the
 * base URL without user:password@, the endpoint, the body) and the repeat
 * index, so repeated samples of one case are distinct entries. NULL
 * strings count as empty. Fails only when OpenSSL cannot allocate.
 */
assay_status assay__cache_key(const char *base_url, const char *endpoint,
                              const char *body, size_t body_len, int repeat,
                              unsigned char key[ASSAY__CACHE_KEY_SIZE]);
/* The key in lowercase hex, for messages and --verbose. */
void assay__cache_key_hex(const unsigned char key[ASSAY__CACHE_KEY_SIZE],
                          char hex[2 * ASSAY__CACHE_KEY_SIZE + 1]);

/*
 * Looks a key up. On a hit, *found is true, `body` holds the stored bytes
 * (its contents are replaced; ASSAY_ERR_LIMIT when they pass its cap),
 * and the flag and timings are those stored. A miss is ASSAY_OK with
 * *found false. Sees what was flushed (by any process), not what this
 * object still holds pending.
 */
assay_status assay__cache_get(assay__cache *c,
                              const unsigned char key[ASSAY__CACHE_KEY_SIZE],
                              assay__buf *body, bool *stream,
                              double *latency_ms, double *ttft_ms,
                              bool *found, assay_error *err);
/*
 * Holds a copy of `e` for the next flush (call it only for complete,
 * successful responses); an existing entry of the same key is replaced.
 * Flushes by itself past 1024 entries or 32 MiB pending. ASSAY_ERR_STATE
 * on a read-only cache.
 */
assay_status assay__cache_put(assay__cache *c,
                              const unsigned char key[ASSAY__CACHE_KEY_SIZE],
                              const assay__cache_entry *e, assay_error *err);
/*
 * Writes every pending entry in one transaction, holding the file's write
 * lock only for that; call once per batch of finished requests. Pending
 * entries are dropped even when this fails.
 */
assay_status assay__cache_flush(assay__cache *c, assay_error *err);

/* ------------------------------------------------------------ narrow.c */

/* What assay_suite_free does to one target or prompt (suite.c). */
void assay__target_release(assay__target *t);
void assay__prompt_release(assay__prompt *p);

/* ------------------------------------------------------------ resume.c */

/*
 * The finished work of an interrupted run, read from its record: a compact
 * set of (case, target, prompt, repeat) keys (interned case ids and a slot
 * map, about 40 bytes a result).
 */
typedef struct assay__resume assay__resume;

/*
 * Reads the record at `path` to go on with it. The header must carry the
 * suite's config_hash and the same `selection` and `shard` (JSON, NULL
 * when none). With `repair`, a last line cut short is cut off the file,
 * and a closing summary line too, so results can be appended. Each
 * finished result is counted in `summary` and `progress` when they are
 * given. A file with no complete line gives a set with fresh() true.
 */
assay_status assay__resume_load(const char *path, const assay_suite *suite,
                                const cJSON *selection, const cJSON *shard,
                                bool repair, assay_summary *summary,
                                assay_progress *progress,
                                assay__resume **out, assay_error *err);
void assay__resume_free(assay__resume *r);
/* True when the record holds this (case, target, prompt, repeat). */
bool assay__resume_done(const assay__resume *r, const char *case_id,
                        size_t target, size_t prompt, int repeat);
/* True when the file held no complete line: write a header and start. */
bool assay__resume_fresh(const assay__resume *r);
/* US dollars for a result's usage at list prices; NaN when unknown. */
double assay__list_cost(const char *model, long prompt_tokens,
                        long completion_tokens);

/* ------------------------------------------------------------ control.c */

/*
 * What steers a run from outside its loop: cancellation, the spending
 * limit, resuming a record, the shard and the per-result hook. One lives
 * in each run (run.c calls the hooks below); control.c keeps its fields.
 */
typedef struct assay__control {
    const assay_suite *suite;
    assay__select *select;    /* the run's: the shard goes there */
    assay_progress *progress; /* the run's: tokens and cost are added */
    atomic_int cancels; /* assay_run_cancel: signal handlers, threads */
    int cancels_seen;
    char *resume_path;
    assay__resume *resume;   /* while executing */
    assay__journal *journal; /* the run's, borrowed while executing */
    assay_result_fn result_fn;
    void *result_data;
    long expected_total; /* from assay_run_count_requests; -1: none */
    double max_cost;     /* USD; NaN: no limit */
    double spent;        /* priced results, the resumed ones included */
    long admitted;       /* requests let through under the limit */
    long finished;       /* results of this execution */
    double admitted_cost; /* the sum of the admitted requests' estimates */
    long most_completion; /* the longest completion seen, in tokens */
    /* The models last priced (a result names its reply's model and its
       target's, the same few over and over), so that each result does
       not search the price list again; a longer name is not kept. */
    struct assay__price_memo {
        char model[64];
        bool listed;
        double input, output; /* USD per million tokens, when listed */
    } prices[2];
    unsigned next_price; /* the slot the next new model takes */
} assay__control;

void assay__control_init(assay__control *c, const assay_suite *suite,
                         assay__select *select, assay_progress *progress);
void assay__control_release(assay__control *c);
/* The run's control, for the public setters in control.c (run.c). */
assay__control *assay__run_control(assay_run *run);
/*
 * Opens the run record: a new one with its header (and the selection and
 * shard), or the resumed one, repaired and opened for appending, with its
 * results counted in `summary` and the progress.
 */
assay_status assay__control_open_record(assay__control *c, const char *path,
                                        const char *const *base_urls,
                                        assay_summary *summary,
                                        assay__journal **out,
                                        assay_error *err);
/* The resume set of the run's resume path, read against its suite,
   selection and shard (see assay__resume_load). */
assay_status assay__control_load_resume(assay__control *c, bool repair,
                                        assay_summary *summary,
                                        assay_progress *progress,
                                        assay__resume **out,
                                        assay_error *err);
/* True when (case, target, prompt, repeat) is finished already. */
bool assay__control_skip(const assay__control *c, const char *case_id,
                         size_t target, size_t prompt, int repeat);
/*
 * Before a request of `body_len` bytes goes to target `target`: an
 * ASSAY_ERR_INTERRUPTED error when it would take the estimated spend past
 * the limit (the record is then marked interrupted).
 */
assay_status assay__control_admit(assay__control *c, size_t target,
                                  size_t body_len, assay_error *err);
/*
 * Once per turn of the run's loop: ASSAY_ERR_INTERRUPTED after the first
 * cancel, and *abandon true once after the second.
 */
assay_status assay__control_poll(assay__control *c, bool *abandon,
                                 assay_error *err);
/* Each result as it is recorded: usage, cost, the result hook. */
void assay__control_result(assay__control *c, const assay__result *r);

#endif /* ASSAY_INTERNAL_H */
