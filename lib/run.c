/*
 * run.c - one execution of a suite: cases × targets × repeats, through the
 * engine, scored by the checks, written to the journal, counted in the
 * summary.
 *
 * The run pulls one case at a time from the dataset and renders its
 * messages once for every target and repeat. It keeps at most
 * `concurrency` requests in flight; as each finishes, its result is scored,
 * journaled and counted, then forgotten, so memory follows the requests in
 * flight and not the size of the dataset. A failure that stops the run (a
 * bad dataset line, a missing template variable, an unwritable record)
 * stops sending, lets the requests in flight finish and be recorded, and
 * then ends the run with that error.
 */
#include "internal.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BASE_URL "https://api.openai.com/v1"
#define MAX_RESPONSE_BYTES ((size_t)8 << 20)

typedef struct run_job {
    assay__case *c;
    size_t target;
    int repeat;
} run_job;

typedef struct run_target {
    char *base_url;
    char *url;
    char *api_key;
} run_target;

struct assay_run {
    const assay_suite *suite;
    int concurrency;
    long timeout_ms;
    char *record_path;
    assay_env_fn env;
    void *env_data;
    assay_progress_fn progress_fn;
    void *progress_data;

    bool executed;
    assay_summary *summary;

    /* Only while executing. */
    run_target *targets;
    assay__engine *engine;
    assay__journal *journal;
    assay__dataset *dataset;
    assay__case *current; /* the case whose requests are being sent */
    size_t next_target;
    int next_repeat;
    bool dataset_done;
    assay__buf *rendered; /* the current case's messages */
    const char **roles;
    assay__response response;
    assay__verdict verdict;
    assay__check_outcome *outcomes;
    char **reasons;
    assay_progress progress;
    assay_status failure; /* what stopped the run, or ASSAY_OK */
    assay_error failure_err;
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
    *out = run;
    return ASSAY_OK;
}

static void free_targets(assay_run *run)
{
    if (!run->targets)
        return;
    for (size_t i = 0; i < run->suite->n_targets; i++) {
        run_target *t = &run->targets[i];
        if (t->api_key)
            memset(t->api_key, 0, strlen(t->api_key));
        free(t->api_key);
        free(t->base_url);
        free(t->url);
    }
    free(run->targets);
    run->targets = NULL;
}

void assay_run_free(assay_run *run)
{
    if (!run)
        return;
    free_targets(run);
    assay_summary_free(run->summary);
    free(run->record_path);
    free(run);
}

assay_status assay_run_set_concurrency(assay_run *run, int n)
{
    if (n < 1 || n > 65536)
        return ASSAY_ERR_INVALID;
    run->concurrency = n;
    return ASSAY_OK;
}

assay_status assay_run_set_timeout_ms(assay_run *run, long ms)
{
    if (ms < 1)
        return ASSAY_ERR_INVALID;
    run->timeout_ms = ms;
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

static assay_status resolve_target(assay_run *run, size_t i)
{
    const assay__target *t = &run->suite->targets[i];
    run_target *rt = &run->targets[i];
    const char *base = t->base_url;
    if (!base)
        base = env_get(run, "OPENAI_BASE_URL");
    if (!base || !*base)
        base = DEFAULT_BASE_URL;
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    rt->base_url = strndup(base, len);
    assay__buf url;
    assay__buf_init(&url, 0);
    if (!rt->base_url || assay__buf_printf(&url, "%s/chat/completions",
                                           rt->base_url) != ASSAY_OK)
        return ASSAY_ERR_NOMEM;
    rt->url = assay__buf_detach(&url, NULL);
    const char *key = env_get(run, t->api_key_env);
    if (key && *key && !(rt->api_key = strdup(key)))
        return ASSAY_ERR_NOMEM;
    return rt->url ? ASSAY_OK : ASSAY_ERR_NOMEM;
}

static assay_status resolve_targets(assay_run *run, assay_error *err)
{
    run->targets = calloc(run->suite->n_targets, sizeof *run->targets);
    if (!run->targets)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < run->suite->n_targets; i++)
        if (resolve_target(run, i) != ASSAY_OK)
            return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                "out of memory");
    return ASSAY_OK;
}

static assay_status make_summary(assay_run *run, assay_error *err)
{
    const assay_suite *s = run->suite;
    const char **names = calloc(s->n_targets, sizeof *names);
    if (!names)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < s->n_targets; i++)
        names[i] = s->targets[i].name;
    run->summary = assay__summary_new(s->name, names, s->n_targets, &s->gates);
    free(names);
    return run->summary ? ASSAY_OK
                        : assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                       "out of memory");
}

static assay_status open_dataset(assay_run *run, assay_error *err)
{
    const assay_suite *s = run->suite;
    if (s->dataset_path)
        return assay__dataset_open_jsonl(s->dataset_path, &run->dataset, err);
    run->progress.total = (long)cJSON_GetArraySize(s->inline_cases) *
                          (long)s->n_targets * s->repeat;
    return assay__dataset_open_inline(s->doc, s->inline_cases, &run->dataset,
                                      err);
}

static void on_done(assay__transfer *t, void *user_data);

static assay_status alloc_scratch(assay_run *run, assay_error *err)
{
    const assay_suite *s = run->suite;
    run->rendered = calloc(s->n_messages, sizeof *run->rendered);
    run->roles = calloc(s->n_messages, sizeof *run->roles);
    run->outcomes = calloc(s->n_checks, sizeof *run->outcomes);
    run->reasons = calloc(s->n_checks, sizeof *run->reasons);
    if (!run->rendered || !run->roles || !run->outcomes || !run->reasons)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < s->n_messages; i++) {
        assay__buf_init(&run->rendered[i], 0);
        run->roles[i] = s->messages[i].role;
    }
    assay__response_init(&run->response);
    assay__verdict_init(&run->verdict);
    return ASSAY_OK;
}

static void free_scratch(assay_run *run)
{
    const assay_suite *s = run->suite;
    if (run->rendered)
        for (size_t i = 0; i < s->n_messages; i++)
            assay__buf_release(&run->rendered[i]);
    if (run->reasons)
        for (size_t i = 0; i < s->n_checks; i++)
            free(run->reasons[i]);
    free(run->rendered);
    free(run->roles);
    free(run->outcomes);
    free(run->reasons);
    run->rendered = NULL;
    run->roles = NULL;
    run->outcomes = NULL;
    run->reasons = NULL;
    assay__response_release(&run->response);
    assay__verdict_release(&run->verdict);
}

static assay_status setup(assay_run *run, assay_error *err)
{
    assay_status st = resolve_targets(run, err);
    if (st == ASSAY_OK)
        st = make_summary(run, err);
    if (st == ASSAY_OK)
        st = alloc_scratch(run, err);
    if (st == ASSAY_OK && run->record_path) {
        st = assay__journal_open(run->record_path, &run->journal, err);
        const char **urls = calloc(run->suite->n_targets, sizeof *urls);
        if (st == ASSAY_OK && !urls)
            st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                              "out of memory");
        for (size_t i = 0; st == ASSAY_OK && i < run->suite->n_targets; i++)
            urls[i] = run->targets[i].base_url;
        if (st == ASSAY_OK)
            st = assay__journal_header(run->journal, run->suite, urls, err);
        free(urls);
    }
    if (st == ASSAY_OK)
        st = open_dataset(run, err);
    if (st == ASSAY_OK &&
        assay__engine_new(run->concurrency, run->timeout_ms,
                          MAX_RESPONSE_BYTES, on_done, run,
                          &run->engine) != ASSAY_OK)
        st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
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

/*
 * Runs every check (a failing one does not stop the others). The case
 * passes when all pass; its score is the mean. A check that cannot run is
 * an error of the result, reported in *error_message.
 */
static assay_status score(assay_run *run, const run_job *job, size_t *n_done,
                          assay_error *check_err)
{
    const assay_suite *s = run->suite;
    const assay__buf *out = &run->response.content;
    *n_done = 0;
    for (size_t i = 0; i < s->n_checks; i++) {
        assay__buf_reset(&run->verdict.reason);
        assay_status st =
            assay__check_run(s->checks[i], out->data, out->len, job->c->vars,
                             job->c->id, &run->verdict, check_err);
        if (st != ASSAY_OK)
            return st;
        free(run->reasons[i]);
        run->reasons[i] = assay__buf_detach(&run->verdict.reason, NULL);
        if (!run->reasons[i])
            return assay__error(check_err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                "out of memory");
        run->outcomes[i] = (assay__check_outcome){
            .type = assay__check_type(s->checks[i]),
            .pass = run->verdict.pass,
            .score = run->verdict.score,
            .reason = run->reasons[i],
        };
        *n_done = i + 1;
    }
    return ASSAY_OK;
}

static void set_verdict(assay__result *r)
{
    r->has_verdict = true;
    r->pass = true;
    double sum = 0;
    for (size_t i = 0; i < r->n_checks; i++) {
        r->pass = r->pass && r->checks[i].pass;
        sum += r->checks[i].score;
    }
    r->score = r->n_checks ? sum / (double)r->n_checks : 1.0;
}

static assay__outcome outcome_of(const assay__result *r)
{
    if (r->error_kind)
        return ASSAY__OUTCOME_ERROR;
    return r->pass ? ASSAY__OUTCOME_PASS : ASSAY__OUTCOME_FAIL;
}

static void count(assay_run *run, const run_job *job, const assay__result *r)
{
    const assay__response *resp = r->response;
    assay__outcome outcome = outcome_of(r);
    assay__summary_add(run->summary, job->target, outcome, r->latency_ms,
                       resp ? resp->prompt_tokens : -1,
                       resp ? resp->completion_tokens : -1);
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
    count(run, job, r);
}

static void on_done(assay__transfer *t, void *user_data)
{
    assay_run *run = user_data;
    run_job *job = t->user;
    assay__result r = {
        .case_id = job->c->id,
        .target = run->suite->targets[job->target].name,
        .repeat = job->repeat,
        .latency_ms = t->latency_ms,
        .attempts = 1,
        .checks = run->outcomes,
    };
    assay_error err;
    if (t->curl_code != CURLE_OK) {
        r.latency_ms = -1;
        r.error_kind = transport_kind(t->curl_code);
        r.error_message = t->curl_error;
    } else if (assay__openai_parse_chat(t->http_status, t->response_body.data,
                                        t->response_body.len, &run->response,
                                        &err) != ASSAY_OK) {
        r.error_kind = err.status == ASSAY_ERR_HTTP ? "http" : "response";
        r.error_status = t->http_status;
        r.error_message = err.message;
    } else {
        r.response = &run->response;
        if (score(run, job, &r.n_checks, &err) != ASSAY_OK) {
            r.error_kind = "check";
            r.error_message = err.message;
        } else {
            set_verdict(&r);
        }
    }
    record(run, job, &r);
    assay__case_unref(job->c);
    free(job);
}

/* ------------------------------------------------------------ sending */

static assay_status render_case(assay_run *run, assay_error *err)
{
    const assay_suite *s = run->suite;
    for (size_t i = 0; i < s->n_messages; i++) {
        assay__buf_reset(&run->rendered[i]);
        assay_status st = assay__template_render(
            s->messages[i].content, run->current->vars, run->current->id,
            &run->rendered[i], err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* Moves the cursor to the next (case, target, repeat); false at the end. */
static bool advance(assay_run *run, assay_error *err, assay_status *st)
{
    *st = ASSAY_OK;
    if (run->current && ++run->next_repeat >= run->suite->repeat) {
        run->next_repeat = 0;
        if (++run->next_target >= run->suite->n_targets) {
            assay__case_unref(run->current);
            run->current = NULL;
        }
    }
    if (run->current)
        return true;
    if (run->dataset_done)
        return false;
    run->next_target = 0;
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

static assay_status submit(assay_run *run, assay_error *err)
{
    const assay__target *target = &run->suite->targets[run->next_target];
    run_job *job = malloc(sizeof *job);
    assay__transfer *t = job ? assay__engine_transfer(run->engine) : NULL;
    if (!t) {
        free(job);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    *job = (run_job){assay__case_ref(run->current), run->next_target,
                     run->next_repeat};
    t->user = job;
    assay_status st = assay__openai_chat_request(
        &t->request_body, target->model, target->params, run->roles,
        run->rendered, run->suite->n_messages);
    const run_target *rt = &run->targets[run->next_target];
    if (st == ASSAY_OK)
        st = assay__engine_submit(run->engine, t, rt->url, rt->api_key);
    if (st != ASSAY_OK) {
        assay__case_unref(job->c);
        free(job);
        assay__engine_recycle(run->engine, t);
        return assay__error(err, st, NULL, 0, 0,
                            "cannot send the request of case '%s': %s",
                            run->current->id, assay_strerror(st));
    }
    return ASSAY_OK;
}

static void fill_the_wire(assay_run *run)
{
    while (run->failure == ASSAY_OK &&
           assay__engine_in_flight(run->engine) < (size_t)run->concurrency) {
        assay_error err;
        assay_status st;
        if (!advance(run, &err, &st)) {
            if (st != ASSAY_OK)
                stop_run(run, st, &err);
            return;
        }
        st = submit(run, &err);
        if (st != ASSAY_OK)
            stop_run(run, st, &err);
    }
}

static void loop(assay_run *run)
{
    for (;;) {
        fill_the_wire(run);
        if (assay__engine_in_flight(run->engine) == 0)
            return;
        if (assay__engine_step(run->engine, 1000) != ASSAY_OK)
            stop_run(run, ASSAY_ERR_TRANSPORT, NULL);
        if (run->journal) {
            assay_error err;
            assay_status st = assay__journal_flush(run->journal, &err);
            if (st != ASSAY_OK)
                stop_run(run, st, &err);
        }
    }
}

static assay_status finish(assay_run *run, assay_error *err)
{
    assay_status st = assay__summary_finish(run->summary);
    if (st != ASSAY_OK)
        stop_run(run, st, NULL);
    if (run->journal) {
        assay_error jerr;
        if (run->failure == ASSAY_OK) {
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
    assay__engine_free(run->engine);
    run->engine = NULL;
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
