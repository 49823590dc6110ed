/*
 * dryrun.c - what a run would send, found without sending it: the selected
 * cases read, the prompts rendered (the first few handed to the caller to
 * look at), the requests counted and their tokens and cost estimated the
 * way the cost limit estimates them (request bytes / 4 as prompt tokens,
 * max_tokens as the most a completion may take, list prices).
 *
 * The walk is validate.c's (read each case, render each prompt) over the
 * run's own selection, so filters, sample, limit, shard and a resumed
 * record are all taken into account. It writes no file and opens no
 * connection.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checks/checks.h"

typedef struct dry_walk {
    const assay_suite *suite;
    const assay__resume *resume; /* NULL: nothing finished */
    size_t show;
    assay_render_fn fn;
    void *user;
    bool estimate;             /* false: count only, render nothing */
    assay__rendered *rendered; /* one per prompt */
    assay__buf body;
    assay_dry_run out;
} dry_walk;

static void silent_skip(const assay_error *why, void *user_data)
{
    (void)why;
    (void)user_data;
}

static const cJSON *max_tokens_of(const cJSON *params)
{
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(params, "max_tokens");
    if (!cJSON_IsNumber(max))
        max = cJSON_GetObjectItemCaseSensitive(params, "max_completion_tokens");
    return cJSON_IsNumber(max) ? max : NULL;
}

static void show_prompt(dry_walk *w, const assay__case *c, size_t p)
{
    const assay__rendered *r = &w->rendered[p];
    for (size_t m = 0; m < r->n; m++)
        w->fn(c->id, w->suite->prompts[p].name, m, r->roles[m],
              r->contents[m].data, w->user);
}

/* The body the run would send to target `t` with `params` for rendered
   prompt `r` of case `c`: for a log-likelihood check, one prompt per
   continuation, which is what makes those requests long. */
static assay_status build_body(dry_walk *w, const assay__target *t,
                               const cJSON *params, const assay__case *c,
                               const assay__rendered *r, assay_error *err)
{
    assay__buf_reset(&w->body);
    if (t->conn.endpoint == ASSAY__ENDPOINT_COMPLETIONS) {
        bool loglik = false;
        assay_status st =
            assay__loglik_request(w->suite, c, t->model, params, r->contents,
                                  r->n, &w->body, &loglik, err);
        if (st != ASSAY_OK || loglik)
            return st;
        return assay__openai_completion_request(&w->body, t->model, params,
                                                r->contents, r->n);
    }
    return assay__openai_chat_request(&w->body, t->model, params, r->roles,
                                      r->contents, r->n);
}

/* Adds one request of `body_len` bytes to target `t` to the estimate. */
static void estimate(dry_walk *w, const assay__target *t,
                     const cJSON *params, size_t body_len)
{
    double prompt = (double)body_len / 4.0;
    const cJSON *max = max_tokens_of(params);
    double completion = max ? max->valuedouble : 0;
    w->out.prompt_tokens += prompt;
    w->out.completion_tokens += completion;
    w->out.unbounded += max == NULL;
    double in, out;
    if (assay__price_of(t->model, &in, &out))
        w->out.cost += (prompt * in + completion * out) / 1e6;
    else
        w->out.unpriced++;
}

static assay_status walk_target(dry_walk *w, const assay__case *c, size_t t,
                                size_t p, assay_error *err)
{
    const assay_suite *s = w->suite;
    size_t body_len = 0;
    bool built = false;
    assay_status st = ASSAY_OK;
    cJSON *own = w->estimate ? assay__prompt_params(s->targets[t].params,
                                                    &s->prompts[p], &st)
                             : NULL;
    const cJSON *params = own ? own : s->targets[t].params;
    if (err)
        assay_error_clear(err); /* so that an error said below is told */
    for (int k = 0; st == ASSAY_OK && k < s->repeat; k++) {
        w->out.requests_total++;
        if (w->resume && assay__resume_done(w->resume, c->id, t, p, k))
            continue;
        w->out.requests++;
        if (!w->estimate)
            continue;
        if (!built) {
            st = build_body(w, &s->targets[t], params, c, &w->rendered[p],
                            err);
            body_len = w->body.len;
            built = true;
        }
        if (st == ASSAY_OK)
            estimate(w, &s->targets[t], params, body_len);
    }
    cJSON_Delete(own);
    if (st != ASSAY_OK && err && err->status == st)
        return st; /* said already, e.g. by a log-likelihood check */
    if (st != ASSAY_OK)
        return assay__error(err, st, NULL, 0, 0,
                            "cannot build the request of case '%s': %s",
                            c->id, assay_strerror(st));
    return ASSAY_OK;
}

static assay_status walk_case(dry_walk *w, const assay__case *c,
                              assay_error *err)
{
    const assay_suite *s = w->suite;
    for (size_t p = 0; p < s->n_prompts; p++) {
        if (w->estimate) {
            assay_status st =
                assay__prompt_render(&s->prompts[p], c, &w->rendered[p], err);
            if (st != ASSAY_OK) {
                if (s->n_prompts > 1)
                    assay__error_prefix(err, "prompt '%s'", s->prompts[p].name);
                return st;
            }
            if (w->fn && (size_t)w->out.cases < w->show)
                show_prompt(w, c, p);
        }
        for (size_t t = 0; t < s->n_targets; t++) {
            assay_status st = walk_target(w, c, t, p, err);
            if (st != ASSAY_OK)
                return st;
        }
    }
    w->out.cases++;
    return ASSAY_OK;
}

static assay_status walk_dataset(dry_walk *w, const assay__select *run_sel,
                                 assay_error *err)
{
    assay__select sel = *run_sel; /* borrows the filters; never released */
    if (sel.skip)
        sel.skip = silent_skip; /* counted, said by the run itself */
    assay__dataset *d = NULL;
    assay_status st = assay__dataset_open(&w->suite->dataset, &sel, &d, err);
    while (st == ASSAY_OK) {
        assay__case *c;
        st = assay__dataset_next(d, &c, err);
        if (st != ASSAY_OK || !c)
            break;
        st = walk_case(w, c, err);
        assay__case_unref(c);
    }
    w->out.skipped = d ? assay__dataset_skipped(d) : 0;
    assay__dataset_free(d);
    return st;
}

static assay_status walk(assay_run *run, dry_walk *w, assay_error *err)
{
    assay__control *c = assay__run_control(run);
    w->suite = c->suite;
    assay__resume *resume = NULL;
    assay_status st = ASSAY_OK;
    /* A count is of everything; an estimate of what is left to send. */
    if (w->estimate && c->resume_path)
        st = assay__control_load_resume(c, false, NULL, NULL, &resume, err);
    w->resume = resume;
    size_t n_prompts = w->suite->n_prompts;
    w->rendered =
        st == ASSAY_OK ? calloc(n_prompts, sizeof *w->rendered) : NULL;
    if (st == ASSAY_OK && !w->rendered)
        st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; w->rendered && i < n_prompts; i++)
        assay__rendered_init(&w->rendered[i]);
    assay__buf_init(&w->body, 0);
    if (st == ASSAY_OK)
        st = walk_dataset(w, c->select, err);
    for (size_t i = 0; w->rendered && i < n_prompts; i++)
        assay__rendered_release(&w->rendered[i]);
    free(w->rendered);
    assay__buf_release(&w->body);
    assay__resume_free(resume);
    return st;
}

assay_status assay_run_dry(assay_run *run, size_t show, assay_render_fn fn,
                           void *user_data, assay_dry_run *out,
                           assay_error *err)
{
    dry_walk w = {.show = show, .fn = fn, .user = user_data, .estimate = true};
    assay_status st = walk(run, &w, err);
    if (out)
        *out = w.out;
    return st;
}

assay_status assay_run_count_requests(assay_run *run, long *out,
                                      assay_error *err)
{
    dry_walk w = {.estimate = false};
    assay_status st = walk(run, &w, err);
    *out = st == ASSAY_OK ? w.out.requests_total : -1;
    if (st == ASSAY_OK)
        assay__run_control(run)->expected_total = w.out.requests_total;
    return st;
}
