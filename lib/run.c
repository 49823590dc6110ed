/*
 * run.c - one execution of a suite: cases × targets × repeats, through the
 * engine, scored by the checks, written to the journal, counted in the
 * summary.
 *
 * The run pulls one case at a time from the dataset and renders its
 * messages once for every target and repeat. It keeps at most
 * `concurrency` requests in flight, and no more for a target than that
 * target's rate limiter admits; a request that must wait, or that failed in
 * a way worth retrying (retry.c), waits in a queue ordered by the time it
 * may go. As each request finishes for good, its result is scored,
 * journaled and counted, then forgotten, so memory follows the requests in
 * flight and waiting, not the size of the dataset. A failure that stops the run (a
 * bad dataset line, a missing template variable, an unwritable record)
 * stops sending, lets the requests in flight finish and be recorded, and
 * then ends the run with that error.
 */
#include "callback.h"

#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BASE_URL "https://api.openai.com/v1"
#define DEFAULT_MAX_RESPONSE ((size_t)8 << 20)
/* How long a result may wait in memory before the record is flushed: at
   most this much is lost to a crash, besides what is in flight, and a run
   of many fast requests writes once per interval, not once per batch. */
#define FLUSH_EVERY_MS 5.0

typedef struct run_job run_job;

/* What a target job keeps while its model-graded checks are judged. */
typedef struct grading {
    assay__response reply; /* the target's answer, kept for the checks */
    double latency_ms;
    bool cached;
    char **replies; /* the grader's reply per check index, or NULL */
    size_t *reply_lens;
    size_t n_checks;
    int pending; /* grader requests not yet answered */
    char *failure; /* why a grader could not answer, or NULL */
    long requests;
    long prompt_tokens;
    long completion_tokens;
} grading;

struct run_job {
    assay__case *c;
    size_t target;
    size_t prompt;
    int repeat;
    char *body; /* the request, kept for retries */
    size_t body_len;
    double estimated_tokens;
    int attempts;         /* attempts sent so far */
    double first_sent_ms; /* for the case's deadline */
    double due_ms;        /* when a waiting job may go; INFINITY: when a
                             request finishes and makes room */
    double ttft_ms;       /* NaN until a stream's first token */
    unsigned char key[ASSAY__CACHE_KEY_SIZE]; /* in the response cache */
    assay__openai_stream *stream; /* while a streamed attempt runs */
    assay__response *streamed;
    /* A grader job asks the grader about check `check` of its parent (or
       the embedder, for `embed`). */
    run_job *parent;
    size_t check;
    bool embed;
    bool loglik; /* its request scores continuations (loglik.c) */
    grading *grading; /* a target job whose graders are at work */
    /* A target job of a case with a comparative check: the group its
       result is held in (pending.c). A grader job asking about the
       group's comparative check `check` has `compares` set too. */
    assay__group *group;
    bool compares;
};

typedef struct run_target {
    char *base_url;
    char *url;
    cJSON *params; /* the suite's, plus what streaming needs */
    bool stream;
    struct curl_slist *headers;
    assay__endpoint endpoint;
    assay__limiter limiter;
} run_target;

struct assay_run {
    const assay_suite *suite;
    int concurrency;
    long timeout_ms;
    size_t max_response;
    double deadline_ms; /* for the whole run; 0: none */
    double deadline_at; /* when it passes, on the engine's clock */
    double flushed_at;  /* the last flush of the outputs */
    char *record_path;
    assay_env_fn env;
    void *env_data;
    assay_progress_fn progress_fn;
    void *progress_data;
    assay__select select; /* which cases, and what a bad one does */
    assay__control control; /* cancel, cost limit, resume (control.c) */

    bool executed;
    assay_summary *summary;

    /* Only while executing. */
    run_target *targets;
    run_target grader;   /* used when the suite has a grader */
    run_target embedder; /* used when the suite has an embedder */
    assay__engine *engine;
    assay__journal *journal;
    assay__dataset *dataset;
    assay__case *current; /* the case whose requests are being sent */
    size_t next_target;
    size_t next_prompt;
    int next_repeat;
    bool dataset_done;
    assay__rendered *rendered; /* the current case, one per prompt */
    assay__response response;
    assay__verdict verdict;
    assay__check_outcome *outcomes;
    /* The outcomes' reasons: each takes the verdict's buffer, and gives
       its own back to be written next, so none is allocated per check. */
    assay__buf *reasons;
    size_t cap_checks; /* of outcomes and reasons */
    assay_progress progress;
    assay_status failure; /* what stopped the run, or ASSAY_OK */
    assay_error failure_err;

    /* Jobs not in flight: rate-limited or waiting to retry; a min-heap
       on due_ms. */
    run_job **waiting;
    size_t n_waiting;
    size_t cap_waiting;
    assay__retry_policy retry;
    uint64_t rng;

    char *cache_path;
    assay_cache_mode cache_mode;
    assay__cache *cache; /* only while executing */

    char *answers_path;       /* rescoring: answers from this record */
    assay__answers *answers; /* only while executing */
    assay__pending *pending; /* results held for comparison; executing */

    int n_workers;            /* threads for callback targets */
    assay__workers *workers; /* only while executing, with callbacks */
};

assay_status assay_run_new(const assay_suite *suite, assay_run **out,
                           assay_error *err)
{
    if (!out)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_run_new needs somewhere to put the run");
    *out = NULL;
    if (!suite)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_run_new needs a suite");
    assay_run *run = calloc(1, sizeof *run);
    if (!run)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    run->suite = suite;
    run->concurrency = 8;
    run->timeout_ms = 60000;
    run->max_response = DEFAULT_MAX_RESPONSE;
    assay__select_init(&run->select);
    assay__control_init(&run->control, suite, &run->select, &run->progress);
    assay__retry_policy_init(&run->retry);
    run->rng = 0x5EED;
    run->n_workers = 4;
    *out = run;
    return ASSAY_OK;
}

static void release_target(run_target *t)
{
    assay__engine_headers_free(t->headers);
    cJSON_Delete(t->params);
    free(t->base_url);
    free(t->url);
    assay__engine_url_free(t->endpoint.parsed);
    memset(t, 0, sizeof *t);
}

static void free_targets(assay_run *run)
{
    release_target(&run->grader);
    release_target(&run->embedder);
    if (!run->targets)
        return;
    for (size_t i = 0; i < run->suite->n_targets; i++)
        release_target(&run->targets[i]);
    free(run->targets);
    run->targets = NULL;
}

void assay_run_free(assay_run *run)
{
    if (!run)
        return;
    free(run->cache_path);
    free(run->answers_path);
    free_targets(run);
    assay_summary_free(run->summary);
    free(run->record_path);
    assay__select_release(&run->select);
    assay__control_release(&run->control);
    free(run);
}

assay__control *assay__run_control(assay_run *run)
{
    return &run->control;
}

assay_status assay_run_set_concurrency(assay_run *run, int n)
{
    if (n < 1 || n > 65536)
        return ASSAY_ERR_INVALID;
    run->concurrency = n;
    return ASSAY_OK;
}

assay_status assay_run_set_max_response_bytes(assay_run *run, size_t bytes)
{
    if (bytes < 1024)
        return ASSAY_ERR_INVALID;
    run->max_response = bytes;
    return ASSAY_OK;
}

assay_status assay_run_set_deadline_ms(assay_run *run, long ms)
{
    if (ms < 0)
        return ASSAY_ERR_INVALID;
    run->deadline_ms = (double)ms;
    return ASSAY_OK;
}

assay_status assay_run_set_timeout_ms(assay_run *run, long ms)
{
    if (ms < 1)
        return ASSAY_ERR_INVALID;
    run->timeout_ms = ms;
    return ASSAY_OK;
}

assay_status assay_run_set_cache(assay_run *run, const char *path,
                                 assay_cache_mode mode)
{
    if (mode != ASSAY_CACHE_OFF && !path)
        return ASSAY_ERR_INVALID;
    char *copy = NULL;
    if (path && !(copy = strdup(path)))
        return ASSAY_ERR_NOMEM;
    free(run->cache_path);
    run->cache_path = copy;
    run->cache_mode = mode;
    return ASSAY_OK;
}

assay_status assay_run_set_answers_from(assay_run *run, const char *path)
{
    char *copy = NULL;
    if (path && !(copy = strdup(path)))
        return ASSAY_ERR_NOMEM;
    free(run->answers_path);
    run->answers_path = copy;
    return ASSAY_OK;
}

assay_status assay_run_set_workers(assay_run *run, int n)
{
    if (n < 1 || n > 1024)
        return ASSAY_ERR_INVALID;
    run->n_workers = n;
    return ASSAY_OK;
}

assay_status assay_run_set_max_attempts(assay_run *run, int n)
{
    if (n < 1 || n > 100)
        return ASSAY_ERR_INVALID;
    run->retry.max_attempts = n;
    return ASSAY_OK;
}

assay_status assay_run_set_record_path(assay_run *run, const char *path)
{
    char *copy = NULL;
    if (path && !(copy = strdup(path)))
        return ASSAY_ERR_NOMEM;
    free(run->record_path);
    run->record_path = copy;
    return ASSAY_OK;
}

void assay_run_set_env(assay_run *run, assay_env_fn lookup, void *user_data)
{
    run->env = lookup;
    run->env_data = user_data;
}

void assay_run_set_progress(assay_run *run, assay_progress_fn fn,
                            void *user_data)
{
    run->progress_fn = fn;
    run->progress_data = user_data;
}

const assay_summary *assay_run_summary(const assay_run *run)
{
    return run->executed ? run->summary : NULL;
}

/* ------------------------------------------------------------ setup */

static const char *env_get(const assay_run *run, const char *name)
{
    return run->env ? run->env(name, run->env_data) : NULL;
}

/* Streams ask for the usage chunk too, unless the suite said otherwise. */
static assay_status stream_params(run_target *rt, const cJSON *params)
{
    rt->params = cJSON_Duplicate(params, true);
    if (!rt->params)
        return ASSAY_ERR_NOMEM;
    rt->stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params,
                                                               "stream"));
    if (!rt->stream ||
        cJSON_GetObjectItemCaseSensitive(params, "stream_options"))
        return ASSAY_OK;
    cJSON *options = cJSON_AddObjectToObject(rt->params, "stream_options");
    if (!options || !cJSON_AddTrueToObject(options, "include_usage"))
        return ASSAY_ERR_NOMEM;
    return ASSAY_OK;
}

/* The suite's params, the target's `extra` merged in (the body's fields
   win over nothing: both come from the suite's author). */
static assay_status merge_extra(run_target *rt, const cJSON *extra)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, extra)
    {
        cJSON *copy = cJSON_Duplicate(item, true);
        if (!copy)
            return ASSAY_ERR_NOMEM;
        cJSON_DeleteItemFromObjectCaseSensitive(rt->params, item->string);
        cJSON_AddItemToObject(rt->params, item->string, copy);
    }
    return ASSAY_OK;
}

static assay_status resolve_target(assay_run *run, const assay__target *t,
                                   run_target *rt)
{
    const char *base = t->base_url;
    if (!base)
        base = env_get(run, "OPENAI_BASE_URL");
    if (!base || !*base)
        base = DEFAULT_BASE_URL;
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    rt->base_url = strndup(base, len);
    if (!rt->base_url)
        return ASSAY_ERR_NOMEM;
    assay__buf url;
    assay__buf_init(&url, 0);
    assay_status st = assay__connection_url(&t->conn, rt->base_url, &url);
    rt->url = assay__buf_detach(&url, NULL);
    if (st == ASSAY_OK && !rt->url)
        st = ASSAY_ERR_NOMEM;
    if (st == ASSAY_OK)
        st = assay__connection_headers(&t->conn, env_get(run, t->api_key_env),
                                       &rt->headers);
    if (st == ASSAY_OK)
        st = stream_params(rt, t->params);
    if (st == ASSAY_OK)
        st = merge_extra(rt, t->conn.extra);
    rt->endpoint = (assay__endpoint){rt->url, NULL, rt->headers,
                                     t->conn.verify_tls};
    if (st == ASSAY_OK)
        rt->endpoint.parsed = assay__engine_parse_url(rt->url);
    int window = t->conn.max_concurrency && t->conn.max_concurrency <
                                                run->concurrency
                     ? t->conn.max_concurrency
                     : run->concurrency;
    assay__limiter_init(&rt->limiter, window, t->conn.rpm, t->conn.tpm);
    return st;
}

static assay_status resolve_targets(assay_run *run, assay_error *err)
{
    run->targets = calloc(run->suite->n_targets, sizeof *run->targets);
    if (!run->targets)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < run->suite->n_targets; i++)
        if (resolve_target(run, &run->suite->targets[i], &run->targets[i]) !=
            ASSAY_OK)
            return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                "out of memory");
    if (run->suite->grader &&
        resolve_target(run, run->suite->grader, &run->grader) != ASSAY_OK)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (run->suite->embedder &&
        resolve_target(run, run->suite->embedder, &run->embedder) != ASSAY_OK)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    return ASSAY_OK;
}

/* The target a job's request goes to: the grader for grader jobs. */
static run_target *job_target(assay_run *run, const run_job *job)
{
    if (job->parent)
        return job->embed ? &run->embedder : &run->grader;
    if (job->compares)
        return &run->grader;
    return &run->targets[job->target];
}

/* One group per (target, prompt), as reports read them back. */
static assay_status make_summary(assay_run *run, assay_error *err)
{
    const assay_suite *s = run->suite;
    const char **names = calloc(s->n_targets, sizeof *names);
    const char **prompts = calloc(s->n_prompts ? s->n_prompts : 1,
                                  sizeof *prompts);
    if (!names || !prompts) {
        free(names);
        free(prompts);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    for (size_t i = 0; i < s->n_targets; i++)
        names[i] = s->targets[i].name;
    for (size_t i = 0; i < s->n_prompts; i++)
        prompts[i] = s->prompts[i].name;
    run->summary = assay__summary_new_groups(s->name, names, s->n_targets,
                                             prompts, s->n_prompts, &s->gates);
    free(names);
    free(prompts);
    if (run->summary)
        assay__summary_set_repeat(run->summary, s->repeat);
    return run->summary ? ASSAY_OK
                        : assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                       "out of memory");
}

static assay_status open_dataset(assay_run *run, assay_error *err)
{
    const assay_suite *s = run->suite;
    const assay__select *sel = &run->select;
    if (!s->dataset.path && !sel->n_filters && sel->sample < 0 &&
        sel->shard_count < 2) {
        long n = (long)cJSON_GetArraySize(s->dataset.inline_cases);
        if (sel->limit >= 0 && sel->limit < n)
            n = sel->limit;
        run->progress.total = n * (long)s->n_targets * (long)s->n_prompts *
                              s->repeat;
    }
    return assay__dataset_open(&s->dataset, sel, &run->dataset, err);
}

static void on_done(assay__transfer *t, void *user_data);
static assay_status start_workers(assay_run *run, assay_error *err);

static assay_status alloc_scratch(assay_run *run, assay_error *err)
{
    const assay_suite *s = run->suite;
    run->rendered = calloc(s->n_prompts, sizeof *run->rendered);
    if (!run->rendered)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < s->n_prompts; i++)
        assay__rendered_init(&run->rendered[i]);
    assay__response_init(&run->response);
    assay__verdict_init(&run->verdict);
    return ASSAY_OK;
}

static void free_scratch(assay_run *run)
{
    const assay_suite *s = run->suite;
    if (run->rendered)
        for (size_t i = 0; i < s->n_prompts; i++)
            assay__rendered_release(&run->rendered[i]);
    if (run->reasons)
        for (size_t i = 0; i < run->cap_checks; i++)
            assay__buf_release(&run->reasons[i]);
    free(run->rendered);
    free(run->outcomes);
    free(run->reasons);
    run->rendered = NULL;
    run->cap_checks = 0;
    run->outcomes = NULL;
    run->reasons = NULL;
    assay__response_release(&run->response);
    assay__verdict_release(&run->verdict);
}

static assay_status start_pending(assay_run *run, assay_error *err);

static assay_status setup(assay_run *run, assay_error *err)
{
    assay_status st = resolve_targets(run, err);
    if (st == ASSAY_OK)
        st = start_pending(run, err);
    if (st == ASSAY_OK)
        st = make_summary(run, err);
    if (st == ASSAY_OK)
        st = alloc_scratch(run, err);
    if (st == ASSAY_OK && run->record_path) {
        const char **urls = calloc(run->suite->n_targets, sizeof *urls);
        if (st == ASSAY_OK && !urls)
            st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                              "out of memory");
        for (size_t i = 0; st == ASSAY_OK && i < run->suite->n_targets; i++)
            urls[i] = run->targets[i].base_url;
        if (st == ASSAY_OK) /* a new record, or the resumed one */
            st = assay__control_open_record(&run->control, run->record_path,
                                            urls, run->summary,
                                            &run->journal, err);
        free(urls);
    }
    if (st == ASSAY_OK && run->answers_path)
        st = assay__answers_load(run->answers_path, &run->answers, err);
    if (st == ASSAY_OK && run->cache_mode != ASSAY_CACHE_OFF &&
        !run->answers_path)
        st = assay__cache_open(run->cache_path,
                               run->cache_mode == ASSAY_CACHE_READ,
                               &run->cache, err);
    if (st == ASSAY_OK)
        st = open_dataset(run, err);
    if (st == ASSAY_OK &&
        assay__engine_new(run->concurrency, run->timeout_ms,
                          run->max_response, on_done, run,
                          &run->engine) != ASSAY_OK)
        st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (st == ASSAY_OK)
        st = start_workers(run, err);
    return st;
}

/* ------------------------------------------------------------ results */

/* Remembers the first failure that stops the run; later ones are effects. */
static void stop_run(assay_run *run, assay_status st, const assay_error *err)
{
    if (run->failure != ASSAY_OK)
        return;
    run->failure = st;
    if (err)
        run->failure_err = *err;
    else
        assay__error(&run->failure_err, st, NULL, 0, 0, "%s",
                     assay_strerror(st));
}

static const char *transport_kind(int curl_code)
{
    return curl_code == CURLE_OPERATION_TIMEDOUT ? "timeout" : "transport";
}

/* Outcomes for `n` checks: the suite's and the case's own. */
static bool room_for_checks(assay_run *run, size_t n)
{
    if (n <= run->cap_checks)
        return true;
    assay__check_outcome *o = realloc(run->outcomes, n * sizeof *o);
    if (o)
        run->outcomes = o;
    assay__buf *r = o ? realloc(run->reasons, n * sizeof *r) : NULL;
    if (!r)
        return false;
    for (size_t i = run->cap_checks; i < n; i++)
        assay__buf_init(&r[i], run->verdict.reason.max);
    run->reasons = r;
    run->cap_checks = n;
    return true;
}

/*
 * Runs every check (a failing one does not stop the others). The case
 * passes when all pass; its score is the mean. A check that cannot run is
 * an error of the result, reported in *error_message.
 */
static assay_status score(assay_run *run, const run_job *job,
                          const assay__response *resp, double latency_ms,
                          bool cached, size_t *n_done, assay_error *check_err)
{
    const assay_suite *s = run->suite;
    const assay__buf *out = &resp->content;
    assay__check_context ctx = {.response = resp,
                                .latency_ms = latency_ms,
                                .ttft_ms = job->ttft_ms,
                                .cached = cached};
    ctx.tools = cJSON_GetObjectItemCaseSensitive(
        run->targets[job->target].params, "tools");
    const grading *g = job->grading;
    *n_done = 0;
    size_t n = s->n_checks + job->c->n_checks;
    if (n == 0)
        return assay__error(check_err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "case '%s' has no checks: give the suite "
                            "'checks' or the case its own",
                            job->c->id);
    if (!room_for_checks(run, n))
        return assay__error(check_err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory");
    for (size_t i = 0; i < n; i++) {
        const assay__check *check = i < s->n_checks
                                        ? s->checks[i]
                                        : job->c->checks[i - s->n_checks];
        const char *type = assay__check_type(check);
        if (!s->allow_exec &&
            (!strcmp(type, "exec") || !strcmp(type, "not-exec")))
            return assay__error(check_err, ASSAY_ERR_CHECK, NULL, 0, 0,
                                "case '%s' has an 'exec' check, and the "
                                "suite does not allow them (allow_exec)",
                                job->c->id);
        if (assay__check_compares(check)) {
            /* judged with the other targets' answers (pending.c) */
            run->outcomes[i] = (assay__check_outcome){
                .type = type,
                .metric = assay__check_metric(check),
                .weight = assay__check_weight(check),
                .reason = "",
            };
            *n_done = i + 1;
            continue;
        }
        assay__buf_reset(&run->verdict.reason);
        ctx.grader_reply = g && i < g->n_checks ? g->replies[i] : NULL;
        ctx.grader_reply_len = g && i < g->n_checks ? g->reply_lens[i] : 0;
        assay_status st =
            assay__check_run(check, out->data, out->len, job->c->vars,
                             job->c->id, &ctx, &run->verdict, check_err);
        if (st != ASSAY_OK)
            return st;
        assay__buf written = run->verdict.reason;
        run->verdict.reason = run->reasons[i];
        run->reasons[i] = written;
        run->outcomes[i] = (assay__check_outcome){
            .type = assay__check_type(check),
            .metric = assay__check_metric(check),
            .weight = assay__check_weight(check),
            .pass = run->verdict.pass,
            .score = run->verdict.score,
            .reason = run->reasons[i].data,
        };
        *n_done = i + 1;
    }
    return ASSAY_OK;
}

/* Every counted check passes, or (when the suite sets case_threshold)
   the weighted score reaches it. */
static void set_verdict(const assay_run *run, assay__result *r)
{
    r->has_verdict = true;
    r->pass = assay__verdict_combine(r->checks, r->n_checks,
                                     run->suite->case_threshold, &r->score);
}

static assay__outcome outcome_of(const assay__result *r)
{
    if (r->error_kind)
        return ASSAY__OUTCOME_ERROR;
    return r->pass ? ASSAY__OUTCOME_PASS : ASSAY__OUTCOME_FAIL;
}

static void count(assay_run *run, const run_job *job, const assay__result *r)
{
    assay__outcome outcome = outcome_of(r);
    long group = assay__summary_group_of(run->summary, r->target, r->prompt);
    if (group >= 0 &&
        assay__summary_add_result(run->summary, (size_t)group, r) != ASSAY_OK)
        stop_run(run, ASSAY_ERR_NOMEM, NULL);
    run->progress.done++;
    run->progress.passed += outcome == ASSAY__OUTCOME_PASS;
    run->progress.failed += outcome == ASSAY__OUTCOME_FAIL;
    run->progress.errors += outcome == ASSAY__OUTCOME_ERROR;
    if (run->progress_fn)
        run->progress_fn(&run->progress, run->progress_data);
}

static void record(assay_run *run, const run_job *job, assay__result *r)
{
    if (run->journal) {
        assay_error err;
        assay_status st = assay__journal_result(run->journal, r, &err);
        if (st != ASSAY_OK)
            stop_run(run, st, &err);
    }
    assay__control_result(&run->control, r);
    count(run, job, r);
}

/* ------------------------------------------------------------ jobs */

static void job_end_stream(run_job *job)
{
    if (job->stream) {
        assay__openai_stream_release(job->stream);
        free(job->stream);
        job->stream = NULL;
    }
    if (job->streamed) {
        assay__response_release(job->streamed);
        free(job->streamed);
        job->streamed = NULL;
    }
}

static void grading_free(grading *g)
{
    if (!g)
        return;
    assay__response_release(&g->reply);
    for (size_t i = 0; g->replies && i < g->n_checks; i++)
        free(g->replies[i]);
    free(g->replies);
    free(g->reply_lens);
    free(g->failure);
    free(g);
}

static void job_free(run_job *job);

/* A grader job is gone; its parent goes with the last of them when the
   run drops them unanswered (it is stopping). */
static void release_parent(run_job *parent)
{
    if (parent && --parent->grading->pending == 0)
        job_free(parent);
}

static void job_free(run_job *job)
{
    if (!job)
        return;
    run_job *parent = job->parent;
    /* Gone without a result (the run is stopping): its group knows. */
    if (job->group && job->compares)
        assay__group_grader_gone(job->group, job->check);
    else if (job->group)
        assay__group_leave(job->group);
    job_end_stream(job);
    grading_free(job->grading);
    assay__case_unref(job->c);
    free(job->body);
    free(job);
    release_parent(parent);
}

/* The waiting jobs form a min-heap on due_ms. */
static bool waiting_push(assay_run *run, run_job *job)
{
    if (run->n_waiting == run->cap_waiting) {
        size_t cap = run->cap_waiting ? 2 * run->cap_waiting : 64;
        run_job **w = realloc(run->waiting, cap * sizeof *w);
        if (!w)
            return false;
        run->waiting = w;
        run->cap_waiting = cap;
    }
    size_t i = run->n_waiting++;
    while (i > 0 && run->waiting[(i - 1) / 2]->due_ms > job->due_ms) {
        run->waiting[i] = run->waiting[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    run->waiting[i] = job;
    return true;
}

static run_job *waiting_pop(assay_run *run)
{
    run_job *top = run->waiting[0];
    run_job *last = run->waiting[--run->n_waiting];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= run->n_waiting)
            break;
        if (child + 1 < run->n_waiting &&
            run->waiting[child + 1]->due_ms < run->waiting[child]->due_ms)
            child++;
        if (run->waiting[child]->due_ms >= last->due_ms)
            break;
        run->waiting[i] = run->waiting[child];
        i = child;
    }
    if (run->n_waiting)
        run->waiting[i] = last;
    return top;
}

/* A request finished: jobs waiting for room may try again now. Setting a
   due time to `now` keeps the heap ordered only if all were INFINITY at
   the bottom, so rebuild it; the queue is at most a few times the
   concurrency long. */
static void wake_waiting(assay_run *run, double now)
{
    size_t n = run->n_waiting;
    bool changed = false;
    for (size_t i = 0; i < n; i++)
        if (isinf(run->waiting[i]->due_ms)) {
            run->waiting[i]->due_ms = now;
            changed = true;
        }
    if (!changed)
        return;
    run->n_waiting = 0;
    for (size_t i = 0; i < n; i++)
        waiting_push(run, run->waiting[i]); /* no growth: cannot fail */
}

/* ------------------------------------------------------------ replies */

/*
 * A whole (not streamed) reply: a completion, or for an embedder's job the
 * vectors, checked here and handed on as the body itself for the check to
 * read.
 */
static assay_status parse_body(const run_job *job, long status,
                               const char *body, size_t len,
                               assay__response *resp, assay_error *err)
{
    if (job->loglik)
        return assay__loglik_parse(job->body, job->body_len, status, body,
                                   len, resp, err);
    if (!job->embed)
        return assay__openai_parse_chat(status, body, len, resp, err);
    assay__response_reset(resp);
    assay__embeddings e;
    assay__embeddings_init(&e);
    assay_status st = assay__openai_parse_embeddings(status, body, len, &e,
                                                     err);
    if (st == ASSAY_OK)
        st = assay__buf_append(&resp->content, body, len);
    resp->prompt_tokens = e.prompt_tokens;
    assay__embeddings_release(&e);
    return st;
}

/* How an attempt ended: the reply parsed into *resp, or an error. */
static assay_status read_reply(assay_run *run, run_job *job,
                               assay__transfer *t, assay__response **resp,
                               assay_error *err)
{
    if (job->stream) {
        *resp = job->streamed;
        if (t->curl_code != CURLE_OK)
            return ASSAY_ERR_TRANSPORT;
        return assay__openai_stream_finish(job->stream, t->http_status,
                                           t->response_body.data,
                                           t->response_body.len, err);
    }
    *resp = &run->response;
    assay__response_reset(&run->response);
    if (t->curl_code != CURLE_OK)
        return ASSAY_ERR_TRANSPORT;
    return parse_body(job, t->http_status, t->response_body.data,
                      t->response_body.len, &run->response, err);
}

/* `t` is NULL for a reply that came from the cache. */
static void describe_error(assay__result *r, const assay__transfer *t,
                           assay_status st, const assay_error *err)
{
    if (st == ASSAY_ERR_TRANSPORT) {
        r->latency_ms = -1;
        r->error_kind = transport_kind(t->curl_code);
        r->error_message = t->curl_error;
        return;
    }
    r->error_kind = st == ASSAY_ERR_HTTP       ? "http"
                    : st == ASSAY_ERR_CALLBACK ? "callback"
                                               : "response";
    r->error_status = t ? t->http_status : 0;
    r->error_message = err->message;
}

/* Tells the target's limiter how the attempt went. */
static void inform_limiter(run_target *rt, const run_job *job,
                           const assay__transfer *t,
                           const assay__response *resp, double now)
{
    bool throttled = t->curl_code == CURLE_OK && t->http_status == 429;
    double used = resp && resp->total_tokens >= 0 ? (double)resp->total_tokens
                                                  : -1;
    assay__limiter_finished(&rt->limiter, now, throttled,
                            job->estimated_tokens, used);
    assay__limiter_observe(&rt->limiter, now, &t->limits);
    if (throttled && t->retry_after_ms > 0)
        assay__limiter_pause(&rt->limiter, now + t->retry_after_ms);
}

/* Puts the job back in the queue when the failure is worth another try. */
static bool retry_later(assay_run *run, run_job *job, const assay__transfer *t,
                        const assay__response *resp, const assay_error *err,
                        double now)
{
    assay__attempt a = {
        .attempt = job->attempts,
        .curl_code = t->curl_code,
        .http_status = t->http_status,
        .body_ok = false,
        .retry_after_ms = t->retry_after_ms,
        .should_retry = t->should_retry,
        .error_code = resp && resp->error_code[0] ? resp->error_code : NULL,
        .error_message = err->message,
    };
    double delay;
    const char *why_not;
    if (!assay__retry_decide(&run->retry, &a, now - job->first_sent_ms,
                             &run->rng, &delay, &why_not))
        return false;
    job_end_stream(job);
    job->due_ms = now + delay;
    if (!waiting_push(run, job))
        return false;
    run->progress.retries++;
    return true;
}

static void hold(assay_run *run, run_job *job, const assay__result *r,
                 assay__response *resp);

/*
 * Scores, records and forgets a target job. `resp` is its reply (NULL with
 * an error); `t` is NULL for a reply from the cache or one that waited for
 * its graders. A result with a comparative check waits in its group for
 * the other targets' (the reply moves there); the group records it.
 */
static void finish_target_job(assay_run *run, run_job *job,
                              const assay__transfer *t, assay_status st,
                              assay__response *resp, assay_error *err,
                              double latency_ms, bool cached)
{
    const grading *g = job->grading;
    assay__result r = {
        .case_id = job->c->id,
        .target = run->suite->targets[job->target].name,
        .prompt = run->suite->prompts[job->prompt].name,
        .repeat = job->repeat,
        .latency_ms = latency_ms,
        .ttft_ms = job->ttft_ms,
        .attempts = job->attempts,
        .cached = cached,
        .checks = run->outcomes,
        .grader_requests = g ? g->requests : 0,
        .grader_prompt_tokens = g ? g->prompt_tokens : -1,
        .grader_completion_tokens = g ? g->completion_tokens : -1,
    };
    if (st != ASSAY_OK) {
        describe_error(&r, t, st, err);
    } else if (g && g->failure) {
        r.response = resp;
        r.error_kind = "grader";
        r.error_message = g->failure;
    } else {
        r.response = resp;
        st = score(run, job, resp, latency_ms, cached, &r.n_checks, err);
        r.checks = run->outcomes; /* score() may have grown them */
        if (st != ASSAY_OK) {
            r.error_kind = "check";
            r.error_message = err->message;
        } else {
            set_verdict(run, &r);
        }
    }
    if (job->group)
        hold(run, job, &r, r.response ? resp : NULL);
    else
        record(run, job, &r);
    job_free(job);
}

/* ------------------------------------------------------------ graders */

static const assay__check *check_at(const assay_run *run, const run_job *job,
                                    size_t i)
{
    const assay_suite *s = run->suite;
    return i < s->n_checks ? s->checks[i] : job->c->checks[i - s->n_checks];
}

static bool needs_graders(const assay_run *run, const run_job *job)
{
    size_t n = run->suite->n_checks + job->c->n_checks;
    for (size_t i = 0; i < n; i++)
        if (assay__check_needs_grader(check_at(run, job, i)))
            return true;
    return false;
}

/* "check 'TYPE': WHAT WHY"; the first failure is the one kept. */
static void grading_fail(grading *g, const char *type, const char *what,
                         const char *why)
{
    if (g->failure)
        return;
    assay__buf b;
    assay__buf_init(&b, 0);
    assay__buf_printf(&b, "check '%s': %s%s", type, what, why);
    g->failure = assay__buf_detach(&b, NULL);
}

static void finish_grading(assay_run *run, run_job *job)
{
    grading *g = job->grading;
    assay_error err;
    assay_error_clear(&err);
    finish_target_job(run, job, NULL, ASSAY_OK, &g->reply, &err,
                      g->latency_ms, g->cached);
}

static assay_status dispatch(assay_run *run, run_job *job, double now,
                             assay_error *err);
static double estimate_tokens(const cJSON *params, size_t body_len);

/* The grader job for check `i` of `job`: its question as a request. */
static assay_status ask_grader(assay_run *run, run_job *job, size_t i,
                               run_job **out, assay_error *err)
{
    grading *g = job->grading;
    const assay__check *check = check_at(run, job, i);
    assay__check_context ctx = {.response = &g->reply,
                                .latency_ms = g->latency_ms,
                                .ttft_ms = job->ttft_ms};
    assay__buf contents[2], body;
    assay__buf_init(&contents[0], 0);
    assay__buf_init(&contents[1], 0);
    assay__buf_init(&body, 0);
    assay_status st = assay__check_ask(check, g->reply.content.data,
                                       g->reply.content.len, job->c->vars,
                                       job->c->id, &ctx, &contents[0],
                                       &contents[1], err);
    bool has_system = contents[0].len > 0;
    const char *roles[] = {"system", "user"};
    bool embed = assay__check_embeds(check);
    const assay__target *helper = embed ? run->suite->embedder
                                        : run->suite->grader;
    const run_target *rt = embed ? &run->embedder : &run->grader;
    const char *texts[] = {contents[0].data, contents[1].data};
    if (st == ASSAY_OK && embed)
        st = assay__openai_embeddings_request(&body, helper->model, texts, 2);
    else if (st == ASSAY_OK)
        st = assay__openai_chat_request(
            &body, helper->model, rt->params, roles + !has_system,
            contents + !has_system, has_system ? 2 : 1);
    run_job *gj = st == ASSAY_OK ? calloc(1, sizeof *gj) : NULL;
    if (st == ASSAY_OK && !gj)
        st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (gj) {
        *gj = (run_job){.c = assay__case_ref(job->c),
                        .target = job->target,
                        .prompt = job->prompt,
                        .repeat = job->repeat,
                        .ttft_ms = NAN,
                        .due_ms = NAN,
                        .parent = job,
                        .check = i,
                        .embed = embed};
        gj->body_len = body.len;
        gj->body = assay__buf_detach(&body, NULL);
        gj->estimated_tokens = estimate_tokens(rt->params, gj->body_len);
        if (run->cache)
            st = assay__cache_key(rt->base_url,
                                  embed ? "/embeddings" : "/chat/completions",
                                  gj->body, gj->body_len, gj->repeat,
                                  gj->key);
    }
    assay__buf_release(&contents[0]);
    assay__buf_release(&contents[1]);
    assay__buf_release(&body);
    if (st != ASSAY_OK && gj) {
        gj->parent = NULL;
        job_free(gj);
        gj = NULL;
    }
    *out = gj;
    return st;
}

/*
 * Keeps the job's reply and sends one grader request per model-graded
 * check; the job is scored when the last grader answers. False when
 * nothing could be sent (the reason is then the job's error).
 */
static void start_grading(assay_run *run, run_job *job,
                          assay__response *reply, double latency_ms,
                          bool cached, double now)
{
    size_t n = run->suite->n_checks + job->c->n_checks;
    grading *g = calloc(1, sizeof *g);
    if (g) {
        g->replies = calloc(n, sizeof *g->replies);
        g->reply_lens = calloc(n, sizeof *g->reply_lens);
    }
    if (!g || !g->replies || !g->reply_lens) {
        grading_free(g);
        stop_run(run, ASSAY_ERR_NOMEM, NULL);
        job_free(job);
        return;
    }
    job->grading = g;
    g->n_checks = n;
    g->latency_ms = latency_ms;
    g->cached = cached;
    g->prompt_tokens = 0;
    g->completion_tokens = 0;
    /* The reply moves into the job: its source is reused for others. */
    g->reply = *reply;
    assay__response_init(reply);
    g->pending = 1; /* held until every question is out */
    for (size_t i = 0; i < n; i++) {
        const assay__check *check = check_at(run, job, i);
        if (!assay__check_needs_grader(check))
            continue;
        bool embed = assay__check_embeds(check);
        if (!(embed ? run->suite->embedder : run->suite->grader)) {
            grading_fail(g, assay__check_type(check),
                         "it needs a model to judge with: ",
                         embed ? "give the suite an `embedder:` target"
                               : "give the suite a `grader:` target");
            continue;
        }
        run_job *gj;
        assay_error err;
        if (ask_grader(run, job, i, &gj, &err) != ASSAY_OK) {
            grading_fail(g, assay__check_type(check), "", err.message);
            continue;
        }
        g->pending++;
        if (dispatch(run, gj, now, &err) != ASSAY_OK) {
            grading_fail(g, assay__check_type(check), "", err.message);
            gj->parent = NULL;
            job_free(gj);
            g->pending--;
        }
    }
    if (--g->pending == 0)
        finish_grading(run, job);
}

/* A grader answered (or failed for good): the parent hears of it. */
static void grader_answered(assay_run *run, run_job *gj,
                            const assay__transfer *t, assay_status st,
                            const assay__response *resp,
                            const assay_error *err)
{
    run_job *parent = gj->parent;
    grading *g = parent->grading;
    const char *type = assay__check_type(check_at(run, parent, gj->check));
    if (st == ASSAY_OK) {
        g->replies[gj->check] = strndup(resp->content.data, resp->content.len);
        g->reply_lens[gj->check] = resp->content.len;
        if (!g->replies[gj->check])
            grading_fail(g, type, "", "out of memory");
        g->requests++;
        if (resp->prompt_tokens > 0)
            g->prompt_tokens += resp->prompt_tokens;
        if (resp->completion_tokens > 0)
            g->completion_tokens += resp->completion_tokens;
    } else {
        grading_fail(g, type, "the grader failed: ",
                     st == ASSAY_ERR_TRANSPORT && t ? t->curl_error
                                                    : err->message);
    }
    gj->parent = NULL;
    job_free(gj);
    if (--g->pending == 0)
        finish_grading(run, parent);
}

/* ------------------------------------------------------------ comparisons */

/* A result its group has judged (pending.c): recorded as any other. */
static void record_held(void *data, assay__result *r)
{
    record(data, NULL, r);
}

/*
 * Gives a result to its group, which records it once every target has
 * answered. One it cannot keep is recorded at once, as an error.
 */
static void hold(assay_run *run, run_job *job, const assay__result *r,
                 assay__response *resp)
{
    assay__group *g = job->group;
    job->group = NULL; /* it gives its result: it does not leave */
    assay_status st = assay__group_hold(g, job->target, r, resp);
    if (st == ASSAY_OK)
        return;
    assay__result kept = *r;
    if (!kept.error_kind) {
        kept.error_kind = "check";
        kept.error_message = "not compared: the result could not be held "
                             "for its comparison";
        kept.n_checks = 0;
        kept.has_verdict = false;
    }
    record(run, job, &kept);
    stop_run(run, st, NULL);
}

/*
 * Asks the grader the question of comparative check `check` of a group,
 * as a job like a model-graded check's: the grader target's cache,
 * retries and rate limits apply.
 */
static assay_status ask_for_group(void *data, assay__group *g, assay__case *c,
                                  size_t prompt, int repeat, size_t check,
                                  const assay__buf *system,
                                  const assay__buf *user, assay_error *err)
{
    assay_run *run = data;
    if (!run->suite->grader)
        return assay__error(err, ASSAY_ERR_SUITE, NULL, 0, 0,
                            "it needs a model to judge with: give the suite "
                            "a `grader:` target");
    const char *roles[] = {"system", "user"};
    const assay__buf contents[] = {*system, *user};
    bool has_system = system->len > 0;
    assay__buf body;
    assay__buf_init(&body, 0);
    assay_status st = assay__openai_chat_request(
        &body, run->suite->grader->model, run->grader.params,
        roles + !has_system, contents + !has_system, has_system ? 2 : 1);
    run_job *gj = st == ASSAY_OK ? calloc(1, sizeof *gj) : NULL;
    if (st == ASSAY_OK && !gj)
        st = ASSAY_ERR_NOMEM;
    if (gj) {
        *gj = (run_job){.c = assay__case_ref(c),
                        .prompt = prompt,
                        .repeat = repeat,
                        .ttft_ms = NAN,
                        .due_ms = NAN,
                        .check = check,
                        .compares = true};
        gj->body_len = body.len;
        gj->body = assay__buf_detach(&body, NULL);
        if (!gj->body)
            st = ASSAY_ERR_NOMEM;
        gj->estimated_tokens = estimate_tokens(run->grader.params,
                                               gj->body_len);
        if (st == ASSAY_OK && run->cache)
            st = assay__cache_key(run->grader.base_url, "/chat/completions",
                                  gj->body, gj->body_len, gj->repeat,
                                  gj->key);
    }
    assay__buf_release(&body);
    if (st != ASSAY_OK) {
        job_free(gj);
        return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    }
    gj->group = g; /* from here the group hears of it */
    st = dispatch(run, gj, assay__now_ms(), err);
    if (st != ASSAY_OK) {
        gj->group = NULL;
        job_free(gj);
    }
    return st;
}

/* The grader answered a group's question, or failed for good. */
static void group_grader_answered(run_job *gj, const assay__transfer *t,
                                  assay_status st,
                                  const assay__response *resp,
                                  const assay_error *err)
{
    assay__group *g = gj->group;
    gj->group = NULL;
    if (st == ASSAY_OK)
        assay__group_graded(g, gj->check, resp->content.data,
                            resp->content.len, resp->prompt_tokens,
                            resp->completion_tokens, NULL);
    else
        assay__group_graded(g, gj->check, NULL, 0, -1, -1,
                            st == ASSAY_ERR_TRANSPORT && t ? t->curl_error
                                                           : err->message);
    job_free(gj);
}

/* A new job joins the group of its (case, prompt, repeat), if the case
   has a comparative check. */
static assay_status join_group(assay_run *run, run_job *job, assay_error *err)
{
    assay_status st = assay__pending_join(run->pending, job->c, job->prompt,
                                          job->repeat, &job->group);
    if (st != ASSAY_OK)
        assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    return st;
}

static assay_status start_pending(assay_run *run, assay_error *err)
{
    assay__pending_hooks hooks = {
        .data = run,
        .record = record_held,
        .ask = ask_for_group,
    };
    return assay__pending_new(run->suite, &hooks, &run->pending, err);
}

/*
 * A job's reply (or final error) is in, from the wire (`t`) or from the
 * cache (`t` NULL, `latency_ms` as measured when it was first fetched).
 */
static void complete_job(assay_run *run, run_job *job,
                         const assay__transfer *t, assay_status st,
                         assay__response *resp, assay_error *err,
                         double latency_ms, bool cached)
{
    if (job->parent) {
        grader_answered(run, job, t, st, resp, err);
        return;
    }
    if (job->compares) {
        group_grader_answered(job, t, st, resp, err);
        return;
    }
    if (st == ASSAY_OK && needs_graders(run, job)) {
        start_grading(run, job, resp, latency_ms, cached, assay__now_ms());
        return;
    }
    finish_target_job(run, job, t, st, resp, err, latency_ms, cached);
}

/* The answer of a target that calls no model: a field of the case, or
   the rendered prompt's messages joined by a blank line. */
static assay_status local_answer(const assay_run *run, const run_job *job,
                                 assay__buf *out, assay_error *err)
{
    const assay__target *target = &run->suite->targets[job->target];
    if (target->echo) {
        const assay__rendered *msgs = &run->rendered[job->prompt];
        assay_status st = ASSAY_OK;
        for (size_t i = 0; st == ASSAY_OK && i < msgs->n; i++) {
            if (i)
                st = assay__buf_puts(out, "\n\n");
            if (st == ASSAY_OK)
                st = assay__buf_append(out, msgs->contents[i].data,
                                       msgs->contents[i].len);
        }
        return st;
    }
    const cJSON *v = assay__json_at_path(job->c->vars, target->output_field);
    if (!v)
        return assay__error(err, ASSAY_ERR_RESPONSE, NULL, 0, 0,
                            "the case has no field '%s' to answer with",
                            target->output_field);
    if (cJSON_IsString(v))
        return assay__buf_puts(out, v->valuestring);
    char *json = cJSON_PrintUnformatted(v);
    assay_status st = json ? assay__buf_puts(out, json) : ASSAY_ERR_NOMEM;
    cJSON_free(json);
    return st;
}

/* The answer an earlier run recorded for the job (rescoring). */
static assay_status recorded_answer(const assay_run *run, const run_job *job,
                                    assay__response *resp, double *latency,
                                    assay_error *err)
{
    const char *target = run->suite->targets[job->target].name;
    const char *prompt = run->suite->prompts[job->prompt].name;
    const assay__recorded *r = assay__answers_find(
        run->answers, job->c->id, target, prompt, job->repeat);
    if (!r)
        return assay__error(err, ASSAY_ERR_RESPONSE, NULL, 0, 0,
                            "%s has no answer for case '%s', target '%s', "
                            "prompt '%s', repeat %d",
                            run->answers_path, job->c->id, target, prompt,
                            job->repeat);
    if (r->error)
        return assay__error(err, ASSAY_ERR_RESPONSE, NULL, 0, 0,
                            "the recorded result was an error: %s", r->error);
    *latency = r->latency_ms;
    resp->prompt_tokens = r->prompt_tokens;
    resp->completion_tokens = r->completion_tokens;
    if (r->finish_reason)
        snprintf(resp->finish_reason, sizeof resp->finish_reason, "%s",
                 r->finish_reason);
    return r->output ? assay__buf_puts(&resp->content, r->output) : ASSAY_OK;
}

/*
 * Answers a job at once, without a request: an output or echo target, or
 * any target when rescoring an earlier record.
 */
static bool answer_locally(assay_run *run, run_job *job)
{
    const assay__target *target = &run->suite->targets[job->target];
    if (job->parent || job->compares ||
        (!target->echo && !target->output_field && !run->answers))
        return false;
    assay__response *resp = &run->response;
    assay__response_reset(resp);
    assay_error err;
    assay_error_clear(&err);
    double latency = 0;
    assay_status st =
        run->answers ? recorded_answer(run, job, resp, &latency, &err)
                     : local_answer(run, job, &resp->content, &err);
    if (st == ASSAY_OK && !resp->finish_reason[0])
        snprintf(resp->finish_reason, sizeof resp->finish_reason, "stop");
    complete_job(run, job, NULL, st, resp, &err, latency, false);
    return true;
}

/* Keeps a complete, successful reply for the next run. */
static void store_reply(assay_run *run, const run_job *job,
                        const assay__transfer *t, const assay__response *resp)
{
    if (!run->cache || run->cache_mode == ASSAY_CACHE_READ)
        return;
    assay__cache_entry e = {
        .body = t->response_body.data,
        .len = t->response_body.len,
        .stream = job->stream != NULL,
        .latency_ms = t->latency_ms,
        .ttft_ms = isnan(job->ttft_ms) ? -1 : job->ttft_ms,
        .base_url = job_target(run, job)->base_url,
        .model = resp->model[0] ? resp->model : NULL,
    };
    assay_error err;
    assay_status st = assay__cache_put(run->cache, job->key, &e, &err);
    if (st != ASSAY_OK)
        stop_run(run, st, &err);
}

static void on_done(assay__transfer *t, void *user_data)
{
    assay_run *run = user_data;
    run_job *job = t->user;
    run_target *rt = job_target(run, job);
    double now = assay__now_ms();
    assay_error err;
    assay_error_clear(&err);
    assay__response *resp;
    assay_status st = read_reply(run, job, t, &resp, &err);
    inform_limiter(rt, job, t, st == ASSAY_OK ? resp : NULL, now);
    wake_waiting(run, now);
    if (st != ASSAY_OK && run->failure == ASSAY_OK &&
        retry_later(run, job, t, resp, &err, now))
        return;
    if (st == ASSAY_OK)
        store_reply(run, job, t, resp);
    complete_job(run, job, t, st, resp, &err, t->latency_ms, false);
}

/*
 * Answers a job from the cache when it holds the reply: true when the job
 * is done. A miss in replay mode stops the run: the suite asked for
 * something the cache was never given.
 */
static bool answer_from_cache(assay_run *run, run_job *job)
{
    if (!run->cache || run->cache_mode == ASSAY_CACHE_WRITE)
        return false;
    assay__buf body;
    assay__buf_init(&body, run->max_response);
    bool stream = false, found = false;
    double latency = -1, ttft = -1;
    assay_error err;
    assay_status st = assay__cache_get(run->cache, job->key, &body, &stream,
                                       &latency, &ttft, &found, &err);
    if (st == ASSAY_OK && !found && run->cache_mode == ASSAY_CACHE_READ)
        st = assay__error(&err, ASSAY_ERR_STATE, NULL, 0, 0,
                          "case '%s', target '%s': the reply is not in the "
                          "cache %s, and --cache-mode read only replays "
                          "(run once with the cache writable to fill it)",
                          job->c->id, run->suite->targets[job->target].name,
                          run->cache_path);
    if (st != ASSAY_OK) {
        assay__buf_release(&body);
        stop_run(run, st, &err);
        job_free(job);
        return true;
    }
    if (!found) {
        assay__buf_release(&body);
        return false;
    }
    assay__response *resp = &run->response;
    if (stream) {
        assay__openai_stream replay;
        assay__openai_stream_init(&replay, resp);
        assay__openai_stream_feed(&replay, body.data, body.len);
        st = assay__openai_stream_finish(&replay, 200, body.data, body.len,
                                         &err);
        assay__openai_stream_release(&replay);
    } else {
        st = parse_body(job, 200, body.data, body.len, resp, &err);
    }
    assay__buf_release(&body);
    job->ttft_ms = ttft >= 0 ? ttft : NAN;
    complete_job(run, job, NULL, st, resp, &err, latency, true);
    return true;
}

/* ------------------------------------------------------------ callbacks */

/* A job of a callback target: answered by the application's function on
   a worker thread (workers.c, callback.c), never by the cache. */
static bool calls_back(const assay_run *run, const run_job *job)
{
    return !job->parent && !job->compares &&
           run->suite->targets[job->target].call;
}

static size_t calls_in_flight(const assay_run *run)
{
    return run->workers ? assay__workers_pending(run->workers) : 0;
}

static void wake_loop(void *engine)
{
    assay__engine_wakeup(engine);
}

static assay_status start_workers(assay_run *run, assay_error *err)
{
    bool any = false;
    for (size_t i = 0; i < run->suite->n_targets; i++)
        any = any || run->suite->targets[i].call;
    if (!any)
        return ASSAY_OK;
    if (assay__workers_new(run->n_workers, wake_loop, run->engine,
                           &run->workers) != ASSAY_OK)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "cannot start %d worker threads", run->n_workers);
    return ASSAY_OK;
}

/* Hands the job to a worker thread; it comes back in collect_calls. */
static assay_status send_call(assay_run *run, run_job *job, double now,
                              assay_error *err)
{
    assay__call *call;
    assay_status st = assay__call_new(
        &run->suite->targets[job->target], run->suite->prompts[job->prompt].name,
        job->repeat, job->c, job->body, job->body_len, job, &call, err);
    if (st != ASSAY_OK)
        return st;
    assay__workers_submit(run->workers, assay__call_task(call));
    if (job->attempts++ == 0)
        job->first_sent_ms = now;
    return ASSAY_OK;
}

/* The calls that finished: their room goes to waiting jobs, their
   answers are scored and recorded here, on the run's thread. */
static void collect_calls(assay_run *run)
{
    if (!run->workers)
        return;
    assay__task *next;
    for (assay__task *t = assay__workers_take(run->workers); t; t = next) {
        next = t->next;
        assay__call *call = assay__call_of(t);
        run_job *job = assay__call_job(call);
        double now = assay__now_ms();
        assay__limiter_finished(&run->targets[job->target].limiter, now,
                                false, job->estimated_tokens, -1);
        wake_waiting(run, now);
        assay_error err;
        assay_error_clear(&err);
        assay__response *resp;
        double latency;
        assay_status st = assay__call_result(call, &resp, &latency, &err);
        complete_job(run, job, NULL, st, resp, &err, latency, false);
        assay__call_free(call);
    }
}

/* Calls cannot be interrupted: those not started are dropped, the
   running ones waited for; none is recorded (a resume sends them). */
static void abandon_calls(assay_run *run)
{
    if (!run->workers)
        return;
    assay__task *next;
    for (assay__task *t = assay__workers_drain(run->workers); t; t = next) {
        next = t->next;
        job_free(assay__call_job(assay__call_of(t)));
        assay__call_free(assay__call_of(t));
    }
    for (assay__task *t = assay__workers_take(run->workers); t; t = next) {
        next = t->next;
        job_free(assay__call_job(assay__call_of(t)));
        assay__call_free(assay__call_of(t));
    }
}

/* ------------------------------------------------------------ sending */

static assay_status render_case(assay_run *run, assay_error *err)
{
    const assay_suite *s = run->suite;
    for (size_t i = 0; i < s->n_prompts; i++) {
        assay_status st = assay__prompt_render(&s->prompts[i], run->current,
                                               &run->rendered[i], err);
        if (st != ASSAY_OK) {
            if (s->n_prompts > 1)
                assay__error_prefix(err, "prompt '%s'", s->prompts[i].name);
            return st;
        }
    }
    return ASSAY_OK;
}

/* Moves the cursor to the next (case, target, prompt, repeat); false at
   the end. */
static bool advance(assay_run *run, assay_error *err, assay_status *st)
{
    *st = ASSAY_OK;
    if (run->current && ++run->next_repeat >= run->suite->repeat) {
        run->next_repeat = 0;
        if (++run->next_prompt >= run->suite->n_prompts) {
            run->next_prompt = 0;
            if (++run->next_target >= run->suite->n_targets) {
                assay__case_unref(run->current);
                run->current = NULL;
            }
        }
    }
    if (run->current)
        return true;
    if (run->dataset_done)
        return false;
    run->next_target = 0;
    run->next_prompt = 0;
    run->next_repeat = 0;
    *st = assay__dataset_next(run->dataset, &run->current, err);
    if (*st == ASSAY_OK && run->current)
        *st = render_case(run, err);
    if (*st != ASSAY_OK || !run->current) {
        run->dataset_done = true;
        return false;
    }
    return true;
}

/* The tokens a request may use, for the tokens-per-minute budget: about
   four bytes a token for the prompt, plus the most it may write. */
static double estimate_tokens(const cJSON *params, size_t body_len)
{
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(params, "max_tokens");
    if (!cJSON_IsNumber(max))
        max = cJSON_GetObjectItemCaseSensitive(params,
                                               "max_completion_tokens");
    return (double)body_len / 4.0 + (cJSON_IsNumber(max) ? max->valuedouble
                                                          : 0);
}

/*
 * The params of a case's requests: the case's own `params` field merged
 * over the target's, or NULL (and *st OK) when the case has none. Whether
 * to stream is the target's to say.
 */
static cJSON *case_params(const cJSON *base, const assay__case *c,
                          assay_status *st)
{
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(c->vars, "params");
    *st = ASSAY_OK;
    if (!own)
        return NULL;
    if (!cJSON_IsObject(own) ||
        cJSON_GetObjectItemCaseSensitive(own, "stream") ||
        cJSON_GetObjectItemCaseSensitive(own, "stream_options")) {
        *st = ASSAY_ERR_DATASET;
        return NULL;
    }
    cJSON *merged = assay__params_over(base, own);
    if (!merged)
        *st = ASSAY_ERR_NOMEM;
    return merged;
}

/* The job's request parameters: the case's over the prompt's over the
   target's. NULL (with *st ASSAY_OK) when the target's apply unchanged. */
static cJSON *job_params(const assay_run *run, const run_target *rt,
                         assay_status *st)
{
    const assay__prompt *p = &run->suite->prompts[run->next_prompt];
    cJSON *prompt = assay__prompt_params(rt->params, p, st);
    if (*st != ASSAY_OK)
        return NULL;
    cJSON *own = case_params(prompt ? prompt : rt->params, run->current, st);
    if (own || *st != ASSAY_OK) {
        cJSON_Delete(prompt);
        return own;
    }
    return prompt;
}

/* A job for the (case, target, repeat) under the cursor. */
static assay_status new_job(assay_run *run, run_job **out, assay_error *err)
{
    const assay__target *target = &run->suite->targets[run->next_target];
    const run_target *rt = &run->targets[run->next_target];
    assay_status st;
    cJSON *own = job_params(run, rt, &st);
    const cJSON *params = own ? own : rt->params;
    if (st == ASSAY_ERR_DATASET)
        return assay__error(err, st, NULL, 0, 0,
                            "case '%s': 'params' must be a mapping of "
                            "request parameters, without 'stream'",
                            run->current->id);
    run_job *job = st == ASSAY_OK ? calloc(1, sizeof *job) : NULL;
    if (!job) {
        cJSON_Delete(own);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    *job = (run_job){.c = assay__case_ref(run->current),
                     .target = run->next_target,
                     .prompt = run->next_prompt,
                     .repeat = run->next_repeat,
                     .ttft_ms = NAN,
                     .due_ms = NAN};
    assay__buf body;
    assay__buf_init(&body, 0);
    const assay__rendered *msgs = &run->rendered[run->next_prompt];
    bool completions = target->conn.endpoint == ASSAY__ENDPOINT_COMPLETIONS;
    if (completions &&
        assay__loglik_request(run->suite, run->current, target->model,
                              params, msgs->contents, msgs->n, &body,
                              &job->loglik, err) != ASSAY_OK) {
        assay__buf_release(&body);
        cJSON_Delete(own);
        job_free(job);
        return err->status;
    }
    st = job->loglik ? ASSAY_OK
         : completions
             ? assay__openai_completion_request(&body, target->model, params,
                                                msgs->contents, msgs->n)
             : assay__openai_chat_request(&body, target->model, params,
                                          msgs->roles, msgs->contents,
                                          msgs->n);
    job->body_len = body.len;
    job->body = assay__buf_detach(&body, NULL);
    if (st == ASSAY_OK && !job->body)
        st = ASSAY_ERR_NOMEM;
    if (st == ASSAY_OK && run->cache)
        st = assay__cache_key(rt->base_url,
                              completions ? "/completions"
                                          : "/chat/completions",
                              job->body,
                              job->body_len, job->repeat, job->key);
    if (st != ASSAY_OK) {
        cJSON_Delete(own);
        job_free(job);
        return assay__error(err, st, NULL, 0, 0,
                            "cannot build the request of case '%s': %s",
                            run->current->id, assay_strerror(st));
    }
    job->estimated_tokens = estimate_tokens(params, job->body_len);
    cJSON_Delete(own);
    *out = job;
    return ASSAY_OK;
}

static assay_status on_stream_data(assay__transfer *t, const char *bytes,
                                   size_t n)
{
    run_job *job = t->user;
    assay__openai_stream_feed(job->stream, bytes, n);
    if (job->stream->first_token && isnan(job->ttft_ms))
        job->ttft_ms = assay__engine_elapsed_ms(t);
    /* A bad chunk is remembered by the stream and reported at the end;
       reading on costs nothing and keeps the connection reusable. */
    return ASSAY_OK;
}

static assay_status start_stream(run_job *job, assay__transfer *t)
{
    job->stream = calloc(1, sizeof *job->stream);
    job->streamed = calloc(1, sizeof *job->streamed);
    if (!job->stream || !job->streamed) {
        free(job->stream);
        free(job->streamed);
        job->stream = NULL;
        job->streamed = NULL;
        return ASSAY_ERR_NOMEM;
    }
    assay__response_init(job->streamed);
    assay__openai_stream_init(job->stream, job->streamed);
    job->ttft_ms = NAN;
    t->on_data = on_stream_data;
    return ASSAY_OK;
}

static assay_status send_job(assay_run *run, run_job *job, double now,
                             assay_error *err)
{
    if (calls_back(run, job))
        return send_call(run, job, now, err);
    const run_target *rt = job_target(run, job);
    assay__transfer *t = assay__engine_transfer(run->engine);
    assay_status st = t ? ASSAY_OK : ASSAY_ERR_NOMEM;
    if (st == ASSAY_OK) {
        t->user = job;
        st = assay__buf_append(&t->request_body, job->body, job->body_len);
    }
    if (st == ASSAY_OK && rt->stream && !job->loglik)
        st = start_stream(job, t);
    if (st == ASSAY_OK)
        st = assay__engine_submit(run->engine, t, &rt->endpoint);
    if (st != ASSAY_OK) {
        job_end_stream(job);
        if (t)
            assay__engine_recycle(run->engine, t);
        return assay__error(err, st, NULL, 0, 0,
                            "cannot send the request of case '%s': %s",
                            job->c->id, assay_strerror(st));
    }
    if (job->attempts++ == 0)
        job->first_sent_ms = now;
    return ASSAY_OK;
}

/*
 * Sends the job when the target's limiter admits it; else queues it until
 * the time the limiter named (or until a request finishes).
 */
static assay_status dispatch(assay_run *run, run_job *job, double now,
                             assay_error *err)
{
    run_target *rt = job_target(run, job);
    if (answer_locally(run, job))
        return ASSAY_OK;
    if (job->attempts == 0 && isnan(job->due_ms) && !calls_back(run, job) &&
        answer_from_cache(run, job))
        return ASSAY_OK;
    double wait = assay__limiter_admit(&rt->limiter, now,
                                       job->estimated_tokens);
    if (wait == 0) {
        assay_status st = send_job(run, job, now, err);
        if (st != ASSAY_OK)
            assay__limiter_finished(&rt->limiter, now, false,
                                    job->estimated_tokens, 0);
        return st;
    }
    job->due_ms = isinf(wait) ? INFINITY : now + wait;
    if (!waiting_push(run, job))
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    return ASSAY_OK;
}

static bool wire_full(const assay_run *run)
{
    return assay__engine_in_flight(run->engine) + calls_in_flight(run) >=
           (size_t)run->concurrency;
}

/* Sends what is due from the queue, then new jobs while there is room. */
static void fill_the_wire(assay_run *run)
{
    double now = assay__now_ms();
    assay_error err;
    /* Each job is tried once a turn: those the limiter holds back go back
       in the queue with a later due time (or INFINITY). */
    for (size_t budget = run->n_waiting;
         budget > 0 && run->n_waiting && run->waiting[0]->due_ms <= now &&
         !wire_full(run);
         budget--) {
        run_job *job = waiting_pop(run);
        assay_status st = dispatch(run, job, now, &err);
        if (st != ASSAY_OK) {
            job_free(job);
            stop_run(run, st, &err);
            return;
        }
    }
    while (run->failure == ASSAY_OK && !wire_full(run) &&
           run->n_waiting < (size_t)run->concurrency) {
        assay_status st;
        if (!advance(run, &err, &st)) {
            assay__pending_seal(run->pending); /* no job will join */
            if (st != ASSAY_OK)
                stop_run(run, st, &err);
            return;
        }
        if (assay__control_skip(&run->control, run->current->id,
                                run->next_target, run->next_prompt,
                                run->next_repeat))
            continue; /* a resumed record holds it */
        run_job *job;
        st = new_job(run, &job, &err);
        if (st == ASSAY_OK) {
            st = join_group(run, job, &err);
            if (st == ASSAY_OK)
                st = assay__control_admit(&run->control, job->target,
                                          job->body_len, &err);
            if (st == ASSAY_OK)
                st = dispatch(run, job, now, &err);
            if (st != ASSAY_OK)
                job_free(job);
        }
        if (st != ASSAY_OK)
            stop_run(run, st, &err);
    }
}

/*
 * How long the loop may sleep: until the next queued job is due. With
 * every slot taken, a job that is due (a retry whose backoff ended, or one
 * a finished request woke) cannot go before a request finishes, and a
 * finishing request ends the wait: without that, the loop spun for as
 * long as the slots stayed full.
 */
static int wait_ms(const assay_run *run)
{
    if (!run->n_waiting || isinf(run->waiting[0]->due_ms) || wire_full(run))
        return 1000;
    double ms = run->waiting[0]->due_ms - assay__now_ms();
    return ms <= 0 ? 0 : ms >= 1000 ? 1000 : (int)ceil(ms);
}

static bool work_left(const assay_run *run)
{
    if (assay__engine_in_flight(run->engine) > 0 || calls_in_flight(run) > 0)
        return true;
    if (run->failure != ASSAY_OK)
        return false; /* queued jobs are dropped: the run is stopping */
    return run->n_waiting > 0 || run->current || !run->dataset_done;
}

/* What the last results wrote goes to disk: the record, so a killed run
   loses only what was in flight and what came in since the last flush,
   and the cache. */
static void flush_outputs(assay_run *run)
{
    assay_error err;
    assay_status st;
    run->flushed_at = assay__now_ms();
    if (run->journal &&
        (st = assay__journal_flush(run->journal, &err)) != ASSAY_OK)
        stop_run(run, st, &err);
    if (run->cache && run->cache_mode != ASSAY_CACHE_READ &&
        (st = assay__cache_flush(run->cache, &err)) != ASSAY_OK)
        stop_run(run, st, &err);
}

/* Past the run's deadline nothing more is sent; what is in flight ends
   within its own timeout and is recorded. */
static void check_deadline(assay_run *run)
{
    if (run->deadline_ms <= 0 || run->failure != ASSAY_OK ||
        assay__now_ms() < run->deadline_at)
        return;
    assay_error err;
    assay__error(&err, ASSAY_ERR_TIMEOUT, NULL, 0, 0,
                 "the run's deadline of %.0f s passed after %ld results",
                 run->deadline_ms / 1000, run->progress.done);
    stop_run(run, ASSAY_ERR_TIMEOUT, &err);
}

static void abandon_job(assay__transfer *t, void *user)
{
    (void)user;
    job_free(t->user);
}

/* assay_run_cancel: the first stops sending, the second abandons what is
   in flight (unrecorded, so a resume sends it again). */
static void check_control(assay_run *run)
{
    bool abandon;
    assay_error err;
    assay_status st = assay__control_poll(&run->control, &abandon, &err);
    if (st != ASSAY_OK)
        stop_run(run, st, &err);
    if (abandon) {
        assay__engine_abort_all(run->engine, abandon_job, run);
        abandon_calls(run);
    }
}

/* How long the loop may wait for the wire: no longer than until the
   next request is due, nor past the moment unflushed results must be
   flushed. */
static int loop_wait_ms(const assay_run *run)
{
    int wait = wait_ms(run);
    if (!assay__journal_unflushed(run->journal))
        return wait;
    double due = run->flushed_at + FLUSH_EVERY_MS - assay__now_ms();
    return due <= 0 ? 0 : due < wait ? (int)ceil(due) : wait;
}

static void loop(assay_run *run)
{
    run->deadline_at = assay__now_ms() + run->deadline_ms;
    run->flushed_at = assay__now_ms();
    for (;;) {
        check_deadline(run);
        check_control(run);
        fill_the_wire(run);
        if (!work_left(run))
            return;
        if (assay__engine_step(run->engine, loop_wait_ms(run)) != ASSAY_OK)
            stop_run(run, ASSAY_ERR_TRANSPORT, NULL);
        collect_calls(run);
        if (assay__now_ms() - run->flushed_at >= FLUSH_EVERY_MS)
            flush_outputs(run);
    }
}

static assay_status finish(assay_run *run, assay_error *err)
{
    assay__pending_flush(run->pending); /* what waited for its comparison */
    flush_outputs(run);
    assay_status st = assay__summary_finish(run->summary);
    if (st != ASSAY_OK)
        stop_run(run, st, NULL);
    if (run->journal) {
        assay_error jerr;
        if (run->failure == ASSAY_OK ||
            run->failure == ASSAY_ERR_INTERRUPTED) {
            st = assay__journal_summary(run->journal, run->summary, &jerr);
            if (st != ASSAY_OK)
                stop_run(run, st, &jerr);
        }
        st = assay__journal_close(run->journal, &jerr);
        run->journal = NULL;
        if (st != ASSAY_OK)
            stop_run(run, st, &jerr);
    }
    if (run->failure != ASSAY_OK && err)
        *err = run->failure_err;
    return run->failure;
}

static void teardown(assay_run *run)
{
    assay__answers_free(run->answers);
    run->answers = NULL;
    assay__cache_close(run->cache);
    run->cache = NULL;
    while (run->n_waiting)
        job_free(waiting_pop(run));
    free(run->waiting);
    run->waiting = NULL;
    run->cap_waiting = 0;
    abandon_calls(run); /* only when setup failed: the loop took them all */
    assay__workers_free(run->workers);
    run->workers = NULL;
    assay__engine_free(run->engine);
    run->engine = NULL;
    assay__pending_free(run->pending); /* after every job is gone */
    run->pending = NULL;
    assay__case_unref(run->current);
    run->current = NULL;
    assay__dataset_free(run->dataset);
    run->dataset = NULL;
    if (run->journal) {
        assay__journal_close(run->journal, NULL);
        run->journal = NULL;
    }
    free_scratch(run);
    free_targets(run);
}

assay_status assay_run_execute(assay_run *run, assay_error *err)
{
    if (run->executed)
        return assay__error(err, ASSAY_ERR_STATE, NULL, 0, 0,
                            "this run has already been executed");
    run->executed = true;
    run->progress = (assay_progress){.total = -1};
    assay_status st = setup(run, err);
    if (st == ASSAY_OK) {
        loop(run);
        st = finish(run, err);
    }
    teardown(run);
    return st;
}

/* ------------------------------------------------------------ selection */

assay_status assay_run_set_limit(assay_run *run, long n)
{
    run->select.limit = n < 0 ? -1 : n;
    return ASSAY_OK;
}

assay_status assay_run_set_sample(assay_run *run, long n,
                                  unsigned long long seed)
{
    run->select.sample = n < 0 ? -1 : n;
    run->select.seed = seed;
    return ASSAY_OK;
}

assay_status assay_run_add_filter(assay_run *run, const char *key,
                                  const char *value)
{
    return assay__select_add_filter(&run->select, key, value);
}

void assay_run_set_skip_bad_lines(assay_run *run, assay_skip_fn fn,
                                  void *user_data)
{
    run->select.skip = fn;
    run->select.skip_data = user_data;
}
