/*
 * control.c - steering a run from outside its loop: cancelling it (from a
 * signal handler), capping what it spends, resuming an interrupted record,
 * running one shard, and handing each result to the program as it is
 * recorded.
 *
 * run.c owns the loop and calls in at a few fixed points: when it opens
 * the record, before each request (skip and admit), once per turn of the
 * loop (poll) and after each result. Everything else about these features
 * lives here, so the loop stays about sending and scoring.
 *
 * What it does not do: read records (resume.c), pick cases (select.c) or
 * print anything: stopping is an error status with a message, which the
 * caller shows.
 */
#include "internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/checks.h"

/* assay_run_cancel runs in signal handlers: only a lock-free atomic will
   do there. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a lock-free atomic int is needed");

/* The completion a request without max_tokens is assumed to need, at
   least, before replies show how long they are. */
#define DEFAULT_COMPLETION_TOKENS 256

/* A result as the result hook sees it. */
struct assay_result {
    const assay__result *r;
    char error[1200];
};

void assay__control_init(assay__control *c, const assay_suite *suite,
                         assay__select *select, assay_progress *progress)
{
    memset(c, 0, sizeof *c);
    c->suite = suite;
    c->select = select;
    c->progress = progress;
    c->expected_total = -1;
    c->max_cost = NAN;
    atomic_init(&c->cancels, 0);
}

void assay__control_release(assay__control *c)
{
    assay__resume_free(c->resume);
    c->resume = NULL;
    free(c->resume_path);
    c->resume_path = NULL;
}

/* ------------------------------------------------------------ setters */

void assay_run_cancel(assay_run *run)
{
    assay__control *c = assay__run_control(run);
    /* Lock-free, so safe in a signal handler as well as from a thread. */
    atomic_fetch_add(&c->cancels, 1);
}

assay_status assay_run_set_resume(assay_run *run, const char *path)
{
    if (!path || !*path)
        return ASSAY_ERR_INVALID;
    assay__control *c = assay__run_control(run);
    char *copy = strdup(path);
    if (!copy)
        return ASSAY_ERR_NOMEM;
    assay_status st = assay_run_set_record_path(run, path);
    if (st != ASSAY_OK) {
        free(copy);
        return st;
    }
    free(c->resume_path);
    c->resume_path = copy;
    return ASSAY_OK;
}

assay_status assay_run_set_shard(assay_run *run, long index, long count)
{
    if (count < 1 || count > 1000000 || index < 0 || index >= count)
        return ASSAY_ERR_INVALID;
    assay__select *sel = assay__run_control(run)->select;
    sel->shard_index = (uint32_t)index;
    sel->shard_count = (uint32_t)count;
    return ASSAY_OK;
}

assay_status assay_run_set_max_cost(assay_run *run, double usd,
                                    assay_error *err)
{
    assay__control *c = assay__run_control(run);
    if (isnan(usd)) {
        c->max_cost = NAN;
        return ASSAY_OK;
    }
    if (!(usd >= 0) || isinf(usd))
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "a cost limit is a number of US dollars from 0");
    const assay_suite *s = c->suite;
    for (size_t i = 0; i < s->n_targets; i++) {
        double in, out;
        if (!assay__price_of(s->targets[i].model, &in, &out))
            return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                                "no price is known for model '%s' (target "
                                "'%s'), so its spending cannot be "
                                "estimated: a cost limit needs the list "
                                "price of every target's model",
                                s->targets[i].model, s->targets[i].name);
    }
    c->max_cost = usd;
    return ASSAY_OK;
}

void assay_run_set_result_hook(assay_run *run, assay_result_fn fn,
                               void *user_data)
{
    assay__control *c = assay__run_control(run);
    c->result_fn = fn;
    c->result_data = user_data;
}

/* ------------------------------------------------------------ record */

/* {"index": I, "count": N}, or NULL when the run is not a shard. */
static cJSON *shard_json(const assay__select *sel, bool *oom)
{
    *oom = false;
    if (sel->shard_count < 2)
        return NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddNumberToObject(j, "index", sel->shard_index) ||
        !cJSON_AddNumberToObject(j, "count", sel->shard_count)) {
        cJSON_Delete(j);
        *oom = true;
        return NULL;
    }
    return j;
}

/* The fields a header adds after the suite's: the selection and shard. */
static cJSON *header_fields(const assay__select *sel)
{
    cJSON *fields = cJSON_CreateObject();
    cJSON *selection = assay__select_to_json(sel);
    bool oom;
    cJSON *shard = shard_json(sel, &oom);
    if (!fields || !selection || oom) {
        cJSON_Delete(fields);
        cJSON_Delete(selection);
        cJSON_Delete(shard);
        return NULL;
    }
    if (selection->child)
        cJSON_AddItemToObject(fields, "selection", selection);
    else
        cJSON_Delete(selection);
    if (shard)
        cJSON_AddItemToObject(fields, "shard", shard);
    return fields;
}

static assay_status open_fresh(assay__control *c, const char *path,
                               const char *const *base_urls,
                               assay__journal **out, assay_error *err)
{
    cJSON *fields = header_fields(c->select);
    if (!fields)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    assay_status st = assay__journal_open(path, out, err);
    if (st != ASSAY_OK) {
        cJSON_Delete(fields);
        return st;
    }
    assay__journal_header_extra(*out, fields);
    return assay__journal_header(*out, c->suite, base_urls, err);
}

assay_status assay__control_load_resume(assay__control *c, bool repair,
                                        assay_summary *summary,
                                        assay_progress *progress,
                                        assay__resume **out, assay_error *err)
{
    cJSON *selection = assay__select_to_json(c->select);
    bool oom;
    cJSON *shard = shard_json(c->select, &oom);
    assay_status st =
        !selection || oom
            ? assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory")
            : assay__resume_load(c->resume_path, c->suite, selection, shard,
                                 repair, summary, progress, out, err);
    cJSON_Delete(selection);
    cJSON_Delete(shard);
    return st;
}

assay_status assay__control_open_record(assay__control *c, const char *path,
                                        const char *const *base_urls,
                                        assay_summary *summary,
                                        assay__journal **out, assay_error *err)
{
    *out = NULL;
    c->journal = NULL;
    c->cancels_seen = 0;
    c->spent = 0;
    c->admitted = c->finished = 0;
    c->admitted_cost = 0;
    c->most_completion = 0;
    assay__resume_free(c->resume);
    c->resume = NULL;
    assay_status st = ASSAY_OK;
    if (c->resume_path)
        st = assay__control_load_resume(c, true, summary, c->progress,
                                        &c->resume, err);
    if (st != ASSAY_OK)
        return st;
    if (c->resume && !assay__resume_fresh(c->resume))
        st = assay__journal_open_append(path, out, err);
    else
        st = open_fresh(c, path, base_urls, out, err);
    if (st != ASSAY_OK) {
        assay__journal_close(*out, NULL);
        *out = NULL;
        return st;
    }
    c->spent = c->progress->cost;
    c->journal = *out;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ hooks */

bool assay__control_skip(const assay__control *c, const char *case_id,
                         size_t target, size_t prompt, int repeat)
{
    return c->resume &&
           assay__resume_done(c->resume, case_id, target, prompt, repeat);
}

/* The run stops sending; its record will close as interrupted. The
   counts are left to the caller: requests in flight still finish. */
static assay_status interrupted(assay__control *c, assay_error *err,
                                const char *why)
{
    if (c->journal)
        assay__journal_mark_interrupted(c->journal);
    return assay__error(err, ASSAY_ERR_INTERRUPTED, NULL, 0, 0, "%s", why);
}

/* What one request may cost: its prompt at 4 bytes a token, and its
   completion at max_tokens or the longest seen so far. */
static double request_estimate(const assay__control *c, size_t target,
                               size_t body_len)
{
    const assay__target *t = &c->suite->targets[target];
    const cJSON *max =
        cJSON_GetObjectItemCaseSensitive(t->params, "max_tokens");
    if (!cJSON_IsNumber(max))
        max = cJSON_GetObjectItemCaseSensitive(t->params,
                                               "max_completion_tokens");
    double completion = cJSON_IsNumber(max) ? max->valuedouble
                        : c->most_completion > DEFAULT_COMPLETION_TOKENS
                            ? (double)c->most_completion
                            : DEFAULT_COMPLETION_TOKENS;
    double in = 0, out = 0;
    assay__price_of(t->model, &in, &out); /* checked by set_max_cost */
    return ((double)body_len / 4.0 * in + completion * out) / 1e6;
}

assay_status assay__control_admit(assay__control *c, size_t target,
                                  size_t body_len, assay_error *err)
{
    if (isnan(c->max_cost))
        return ASSAY_OK;
    double next = request_estimate(c, target, body_len);
    long open = c->admitted - c->finished;
    double pending =
        open > 0 ? (double)open * c->admitted_cost / (double)c->admitted : 0;
    if (c->spent + pending + next > c->max_cost) {
        char why[256];
        snprintf(why, sizeof why,
                 "stopped at the cost limit of $%.4f ($%.4f spent, $%.4f "
                 "in flight, $%.4f for the next request)",
                 c->max_cost, c->spent, pending, next);
        return interrupted(c, err, why);
    }
    c->admitted++;
    c->admitted_cost += next;
    return ASSAY_OK;
}

assay_status assay__control_poll(assay__control *c, bool *abandon,
                                 assay_error *err)
{
    *abandon = false;
    if (c->expected_total >= 0)
        c->progress->total = c->expected_total;
    int seen = c->cancels_seen;
    int now = atomic_load(&c->cancels);
    if (now == seen)
        return ASSAY_OK;
    c->cancels_seen = now;
    *abandon = seen < 2 && now >= 2;
    return seen == 0 ? interrupted(c, err, "interrupted") : ASSAY_OK;
}

/* "http 500: message", "timeout: message", "check: message". */
static void error_text(const assay__result *r, char *out, size_t size)
{
    if (r->error_status > 0)
        snprintf(out, size, "%s %ld: %s", r->error_kind, r->error_status,
                 r->error_message ? r->error_message : "");
    else
        snprintf(out, size, "%s: %s", r->error_kind,
                 r->error_message ? r->error_message : "");
}

/*
 * US dollars for a result's usage at list prices, NaN when unknown, as
 * assay__list_cost; the price looked up once per model (see `prices`).
 */
static double list_cost(assay__control *c, const char *model,
                        long prompt_tokens, long completion_tokens)
{
    size_t len = model ? strlen(model) : 0;
    if (!model || len >= sizeof c->prices[0].model)
        return assay__list_cost(model, prompt_tokens, completion_tokens);
    struct assay__price_memo *m = NULL;
    for (size_t i = 0; i < 2 && !m; i++)
        if (!strcmp(c->prices[i].model, model))
            m = &c->prices[i];
    if (!m) {
        m = &c->prices[c->next_price];
        c->next_price = (c->next_price + 1) % 2;
        memcpy(m->model, model, len + 1);
        m->listed = assay__price_of(model, &m->input, &m->output);
    }
    if (!m->listed || prompt_tokens < 0 || completion_tokens < 0)
        return NAN;
    return ((double)prompt_tokens * m->input +
            (double)completion_tokens * m->output) / 1e6;
}

void assay__control_result(assay__control *c, const assay__result *r)
{
    const assay__response *resp = r->response;
    c->finished++;
    if (resp) {
        assay_progress *p = c->progress;
        if (resp->prompt_tokens > 0)
            p->prompt_tokens += resp->prompt_tokens;
        if (resp->completion_tokens > 0)
            p->completion_tokens += resp->completion_tokens;
        if (resp->completion_tokens > c->most_completion)
            c->most_completion = resp->completion_tokens;
        double cost = NAN;
        if (!r->cached) {
            cost = list_cost(c, resp->model, resp->prompt_tokens,
                             resp->completion_tokens);
            if (isnan(cost)) {
                long t = -1;
                for (size_t i = 0; i < c->suite->n_targets && t < 0; i++)
                    if (!strcmp(c->suite->targets[i].name, r->target))
                        t = (long)i;
                if (t >= 0)
                    cost = list_cost(c, c->suite->targets[t].model,
                                     resp->prompt_tokens,
                                     resp->completion_tokens);
            }
        }
        if (!isnan(cost)) {
            p->cost += cost;
            c->spent += cost;
        }
    }
    /* What the model-graded checks' grader was paid for this answer. */
    double graded =
        r->grader_requests > 0 && c->suite->grader
            ? assay__list_cost(c->suite->grader->model, r->grader_prompt_tokens,
                               r->grader_completion_tokens)
            : NAN;
    if (!isnan(graded)) {
        c->progress->cost += graded;
        c->spent += graded;
    }
    if (!c->result_fn)
        return;
    struct assay_result view = {.r = r};
    if (r->error_kind)
        error_text(r, view.error, sizeof view.error);
    c->result_fn(&view, c->result_data);
}

/* ------------------------------------------------------------ results */

const char *assay_result_case(const assay_result *result)
{
    return result->r->case_id;
}

const char *assay_result_target(const assay_result *result)
{
    return result->r->target;
}

const char *assay_result_prompt(const assay_result *result)
{
    return result->r->prompt ? result->r->prompt : ASSAY__DEFAULT_PROMPT;
}

int assay_result_repeat(const assay_result *result)
{
    return result->r->repeat;
}

assay_outcome assay_result_outcome(const assay_result *result)
{
    const assay__result *r = result->r;
    if (r->error_kind || !r->has_verdict)
        return ASSAY_OUTCOME_ERROR;
    return r->pass ? ASSAY_OUTCOME_PASS : ASSAY_OUTCOME_FAIL;
}

const char *assay_result_error(const assay_result *result)
{
    return result->r->error_kind ? result->error : NULL;
}

size_t assay_result_check_count(const assay_result *result)
{
    return result->r->error_kind ? 0 : result->r->n_checks;
}

const char *assay_result_check_type(const assay_result *result, size_t index)
{
    return index < assay_result_check_count(result)
               ? result->r->checks[index].type
               : NULL;
}

bool assay_result_check_passed(const assay_result *result, size_t index)
{
    return index < assay_result_check_count(result) &&
           result->r->checks[index].pass;
}

const char *assay_result_check_reason(const assay_result *result, size_t index)
{
    return index < assay_result_check_count(result)
               ? result->r->checks[index].reason
               : NULL;
}

double assay_result_check_score(const assay_result *result, size_t index)
{
    return index < assay_result_check_count(result)
               ? result->r->checks[index].score
               : NAN;
}

const char *assay_result_check_metric(const assay_result *result,
                                      size_t index)
{
    if (index >= assay_result_check_count(result))
        return NULL;
    const assay__check_outcome *o = &result->r->checks[index];
    return o->metric ? o->metric : o->type;
}

const char *assay_result_output(const assay_result *result, size_t *len)
{
    const assay__response *resp = result->r->response;
    if (len)
        *len = resp ? resp->content.len : 0;
    return resp ? resp->content.data : NULL;
}

double assay_result_score(const assay_result *result)
{
    const assay__result *r = result->r;
    return r->error_kind || !r->has_verdict ? NAN : r->score;
}

double assay_result_latency_ms(const assay_result *result)
{
    const assay__result *r = result->r;
    return r->latency_ms >= 0 ? r->latency_ms : NAN;
}

long assay_result_prompt_tokens(const assay_result *result)
{
    const assay__response *resp = result->r->response;
    return resp && resp->prompt_tokens >= 0 ? resp->prompt_tokens : -1;
}

long assay_result_completion_tokens(const assay_result *result)
{
    const assay__response *resp = result->r->response;
    return resp && resp->completion_tokens >= 0 ? resp->completion_tokens
                                                : -1;
}

const char *assay_result_finish_reason(const assay_result *result)
{
    const assay__response *resp = result->r->response;
    return resp && resp->finish_reason[0] ? resp->finish_reason : NULL;
}

bool assay_result_cached(const assay_result *result)
{
    return result->r->cached;
}
