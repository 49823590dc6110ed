/*
 * pending.c - the results of a case with a comparative check (select-best,
 * max-score), held until every target has answered it, then judged
 * together and handed back to the run to be recorded.
 *
 * One group per (case, prompt, repeat) holds one result per target. The
 * run sends a case's jobs together, so a group is open from the case's
 * first job to the last: when every target has answered (or, with targets
 * a resumed record already holds, when the next case starts and no more
 * can join), its comparative checks are judged. max-score is computed at
 * once; select-best asks the grader one question listing every answer,
 * through the run's hooks, so the request has the cache, retries and rate
 * limits of any other. Then each result gets the comparative verdicts and
 * its own combined verdict, and goes to the run's record hook; its
 * memory is freed there and then. Only the cases in flight are held.
 *
 * Answers whose result is an error take no part; a comparison needs two
 * answers. When it cannot be made (fewer than two answers, the run
 * stopped first, the grader failed) every answer of the group is recorded
 * with an error that says why, never lost and never given a verdict it
 * did not earn.
 *
 * What it does not do: send anything, or decide what a comparative check
 * says (checks/comparative.c).
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct member {
    bool present;
    assay__result r; /* its pointers lead into what follows */
    assay__response response;
    assay__check_outcome *checks;
    char **reasons;
    size_t n_reasons;
    char *error_message;
} member;

typedef enum group_state {
    COLLECTING, /* results coming in */
    ASKING,     /* every result in; graders asked */
    RECORDED    /* handed back; only references remain */
} group_state;

struct assay__group {
    assay__pending *owner;
    assay__group *prev;
    assay__group *next;
    assay__case *c;
    size_t prompt;
    int repeat;
    /* Jobs that point here, one while the group may still be joined, and
       one while it is being settled. */
    size_t refs;
    size_t joined;
    size_t held;
    bool sealed; /* no job will join any more */
    bool broken; /* a job that joined will give no result */
    group_state state;
    member *members; /* one per target */
    size_t n_checks; /* the case's: the suite's, then its own */
    char **replies;  /* per check: the grader's reply, or NULL */
    size_t *reply_lens;
    size_t asks; /* grader questions unanswered */
    /* Why the comparison could not be made (the first reason), and the
       error kind it gives the results. */
    char *failure;
    const char *failure_kind;
    long requests;
    long prompt_tokens;
    long completion_tokens;
};

struct assay__pending {
    const assay_suite *suite;
    assay__pending_hooks hooks;
    assay__group *groups; /* every group not freed */
    assay__case *current; /* the case whose jobs join now, or NULL */
    assay__group **slots; /* its groups: [prompt * repeat + repeat] */
    size_t n_slots;
    bool flushed;
};

/* ------------------------------------------------------------ checks */

static const assay__check *check_at(const assay_suite *s, const assay__case *c,
                                    size_t i)
{
    return i < s->n_checks ? s->checks[i] : c->checks[i - s->n_checks];
}

static bool case_compares(const assay_suite *s, const assay__case *c)
{
    for (size_t i = 0; i < s->n_checks + c->n_checks; i++)
        if (assay__check_compares(check_at(s, c, i)))
            return true;
    return false;
}

assay_status assay__pending_check_suite(const assay_suite *s, assay_error *err)
{
    for (size_t i = 0; i < s->n_checks; i++) {
        const assay__check *c = s->checks[i];
        if (!assay__check_compares(c))
            continue;
        if (s->n_targets < 2) {
            assay__error(err, ASSAY_ERR_SUITE, NULL, 0, 0,
                         "it compares the answers of two or more targets, "
                         "and the suite has %zu",
                         s->n_targets);
            assay__check_locate(c, ASSAY_ERR_SUITE, err);
            return ASSAY_ERR_SUITE;
        }
        if (assay__check_compare_asks(c) && !s->grader) {
            assay__error(err, ASSAY_ERR_SUITE, NULL, 0, 0,
                         "a grader chooses the best answer: give the suite "
                         "a grader, e.g. `grader: {model: gpt-4o-mini}`");
            assay__check_locate(c, ASSAY_ERR_SUITE, err);
            return ASSAY_ERR_SUITE;
        }
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ the set */

assay_status assay__pending_new(const assay_suite *s,
                                const assay__pending_hooks *hooks,
                                assay__pending **out, assay_error *err)
{
    *out = NULL;
    assay_status st = assay__pending_check_suite(s, err);
    if (st != ASSAY_OK)
        return st;
    assay__pending *p = calloc(1, sizeof *p);
    size_t n_slots = (s->n_prompts ? s->n_prompts : 1) *
                     (size_t)(s->repeat > 0 ? s->repeat : 1);
    if (p)
        p->slots = calloc(n_slots, sizeof *p->slots);
    if (!p || !p->slots) {
        free(p);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    p->suite = s;
    p->hooks = *hooks;
    p->n_slots = n_slots;
    *out = p;
    return ASSAY_OK;
}

static void release_member(member *m)
{
    if (!m->present)
        return;
    assay__response_release(&m->response);
    for (size_t i = 0; m->reasons && i < m->n_reasons; i++)
        free(m->reasons[i]);
    free(m->reasons);
    free(m->checks);
    free(m->error_message);
    memset(m, 0, sizeof *m);
}

/* Frees what the results held: they are recorded, or dropped. */
static void release_members(assay__group *g)
{
    size_t n = g->owner->suite->n_targets;
    for (size_t t = 0; g->members && t < n; t++)
        release_member(&g->members[t]);
    free(g->members);
    g->members = NULL;
    for (size_t i = 0; g->replies && i < g->n_checks; i++)
        free(g->replies[i]);
    free(g->replies);
    free(g->reply_lens);
    g->replies = NULL;
    g->reply_lens = NULL;
}

static void group_free(assay__group *g)
{
    assay__pending *p = g->owner;
    if (g->prev)
        g->prev->next = g->next;
    else
        p->groups = g->next;
    if (g->next)
        g->next->prev = g->prev;
    release_members(g);
    free(g->failure);
    assay__case_unref(g->c);
    free(g);
}

void assay__pending_free(assay__pending *p)
{
    if (!p)
        return;
    while (p->groups)
        group_free(p->groups); // NOLINT(clang-analyzer-unix.Malloc): group_free unlinks its group from p->groups (g->owner is p)
    free(p->slots);
    free(p);
}

static void unref(assay__group *g)
{
    if (--g->refs == 0 && g->state == RECORDED)
        group_free(g);
}

static assay__group *group_new(assay__pending *p, assay__case *c, size_t prompt,
                               int repeat)
{
    assay__group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->n_checks = p->suite->n_checks + c->n_checks;
    g->members = calloc(p->suite->n_targets ? p->suite->n_targets : 1,
                        sizeof *g->members);
    g->replies = calloc(g->n_checks, sizeof *g->replies);
    g->reply_lens = calloc(g->n_checks, sizeof *g->reply_lens);
    if (!g->members || !g->replies || !g->reply_lens) {
        free(g->members);
        free(g->replies);
        free(g->reply_lens);
        free(g);
        return NULL;
    }
    g->owner = p;
    g->c = assay__case_ref(c);
    g->prompt = prompt;
    g->repeat = repeat;
    g->refs = 1; /* may be joined */
    g->prompt_tokens = -1;
    g->completion_tokens = -1;
    g->next = p->groups;
    if (p->groups)
        p->groups->prev = g;
    p->groups = g;
    return g;
}

/* ------------------------------------------------------------ failing */

/* Keeps the first reason the comparison cannot be made. */
static void fail_group(assay__group *g, const char *kind, const char *fmt, ...)
    ASSAY__PRINTF(3, 4);

static void fail_group(assay__group *g, const char *kind, const char *fmt, ...)
{
    if (g->failure)
        return;
    char text[sizeof((assay_error *)0)->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    g->failure = strdup(text);
    g->failure_kind = kind;
}

/* ------------------------------------------------------------ judging */

/* The answers a comparison sees: the results without an error. */
typedef struct answers {
    assay__compare_input in;
    size_t *target; /* the target of each answer */
    const char **outputs;
    size_t *lens;
    const char **names;
    const assay__check_outcome **others;
    size_t *n_others;
    assay__check_outcome *other_store;
} answers;

static void answers_release(answers *a)
{
    free(a->target);
    free(a->outputs);
    free(a->lens);
    free(a->names);
    free(a->others);
    free(a->n_others);
    free(a->other_store);
    memset(a, 0, sizeof *a);
}

static bool answers_gather(const assay__group *g, answers *a)
{
    const assay_suite *s = g->owner->suite;
    size_t n = s->n_targets ? s->n_targets : 1;
    size_t k = g->n_checks ? g->n_checks : 1;
    memset(a, 0, sizeof *a);
    a->target = calloc(n, sizeof *a->target);
    a->outputs = calloc(n, sizeof *a->outputs);
    a->lens = calloc(n, sizeof *a->lens);
    a->names = calloc(n, sizeof *a->names);
    a->others = calloc(n, sizeof *a->others);
    a->n_others = calloc(n, sizeof *a->n_others);
    a->other_store = calloc(n * k, sizeof *a->other_store);
    if (!a->target || !a->outputs || !a->lens || !a->names || !a->others ||
        !a->n_others || !a->other_store) {
        answers_release(a);
        return false;
    }
    size_t m = 0;
    for (size_t t = 0; t < s->n_targets; t++) {
        const member *mb = &g->members[t];
        if (!mb->present || mb->r.error_kind)
            continue;
        a->target[m] = t;
        a->outputs[m] = mb->response.content.data;
        a->lens[m] = mb->response.content.len;
        a->names[m] = mb->r.target;
        assay__check_outcome *own = a->other_store + m * k;
        for (size_t i = 0; i < mb->r.n_checks; i++)
            if (!assay__check_compares(check_at(s, g->c, i)))
                own[a->n_others[m]++] = mb->checks[i];
        a->others[m] = own;
        m++;
    }
    a->in = (assay__compare_input){
        .n = m,
        .outputs = a->outputs,
        .output_lens = a->lens,
        .targets = a->names,
        .others = a->others,
        .n_others = a->n_others,
    };
    return true;
}

/* Why fewer than two answers cannot be compared. */
static void too_few(assay__group *g, const assay__check *c, size_t n)
{
    const assay_suite *s = g->owner->suite;
    if (s->n_targets < 2)
        fail_group(g, "check",
                   "check '%s': it compares the answers of two or more "
                   "targets, and the suite has %zu",
                   assay__check_type(c), s->n_targets);
    else
        fail_group(g, "check",
                   "check '%s': not compared: %zu of the %zu targets "
                   "answered case '%s' in this run (the others' results %s)",
                   assay__check_type(c), n, s->n_targets, g->c->id,
                   g->joined < s->n_targets ? "are in the resumed record"
                                            : "are errors");
}

/* The comparative verdicts of check `i` written into each answer's
   outcome. */
static void judge(assay__group *g, size_t i, const answers *a)
{
    const assay_suite *s = g->owner->suite;
    const assay__check *c = check_at(s, g->c, i);
    if (assay__check_compare_asks(c) && !g->replies[i]) {
        fail_group(g, "check",
                   "check '%s': not compared: the run stopped before the "
                   "grader answered",
                   assay__check_type(c));
        return;
    }
    assay__verdict *v = calloc(a->in.n, sizeof *v);
    if (!v) {
        fail_group(g, "check", "check '%s': out of memory",
                   assay__check_type(c));
        return;
    }
    for (size_t k = 0; k < a->in.n; k++)
        assay__verdict_init(&v[k]);
    assay_error err;
    assay_error_clear(&err);
    assay_status st =
        assay__check_compare(c, &a->in, g->c->vars, g->c->id, g->replies[i],
                             g->reply_lens[i], v, &err);
    if (st != ASSAY_OK)
        fail_group(g, "check", "%s", err.message);
    for (size_t k = 0; st == ASSAY_OK && k < a->in.n; k++) {
        member *m = &g->members[a->target[k]];
        char *reason = assay__buf_detach(&v[k].reason, NULL);
        if (!reason) {
            fail_group(g, "check", "check '%s': out of memory",
                       assay__check_type(c));
            break;
        }
        free(m->reasons[i]);
        m->reasons[i] = reason;
        m->checks[i].pass = v[k].pass;
        m->checks[i].score = v[k].score;
        m->checks[i].reason = reason;
    }
    for (size_t k = 0; k < a->in.n; k++)
        assay__verdict_release(&v[k]);
    free(v);
}

static void add_usage(long *to, long v)
{
    if (v >= 0)
        *to = *to < 0 ? v : *to + v;
}

/* The result of one answer, final: the group's failure, or its verdict. */
static void conclude(assay__group *g, member *m, bool first_answer)
{
    const assay_suite *s = g->owner->suite;
    assay__result *r = &m->r;
    if (r->error_kind)
        return; /* its own error stands */
    if (g->failure) {
        r->error_kind = g->failure_kind;
        r->error_message = g->failure;
        r->n_checks = 0;
        r->has_verdict = false;
    } else {
        r->has_verdict = true;
        r->pass = assay__verdict_combine(m->checks, r->n_checks,
                                         s->case_threshold, &r->score);
    }
    if (first_answer) { /* the group's grader requests count once */
        r->grader_requests += g->requests;
        add_usage(&r->grader_prompt_tokens, g->prompt_tokens);
        add_usage(&r->grader_completion_tokens, g->completion_tokens);
    }
}

static const assay__check *first_comparative(const assay__group *g)
{
    const assay_suite *s = g->owner->suite;
    size_t i = 0;
    while (i + 1 < g->n_checks && !assay__check_compares(check_at(s, g->c, i)))
        i++;
    return check_at(s, g->c, i);
}

/*
 * Judges what can be judged, records every result and lets them go. A
 * group still collecting is being flushed: the run stopped first.
 */
static void finalize(assay__group *g)
{
    assay__pending *p = g->owner;
    const assay_suite *s = p->suite;
    bool stopped = g->state == COLLECTING; /* by the run, not its end */
    g->state = RECORDED;
    if (stopped)
        fail_group(g, "check",
                   "check '%s': not compared: the run stopped before every "
                   "target answered case '%s'",
                   assay__check_type(first_comparative(g)), g->c->id);
    answers a;
    memset(&a, 0, sizeof a);
    if (!g->failure && !answers_gather(g, &a))
        fail_group(g, "check", "comparing the answers: out of memory");
    for (size_t i = 0; !g->failure && i < g->n_checks; i++) {
        const assay__check *c = check_at(s, g->c, i);
        if (!assay__check_compares(c))
            continue;
        if (a.in.n < 2)
            too_few(g, c, a.in.n);
        else
            judge(g, i, &a);
    }
    answers_release(&a);
    bool first = true;
    for (size_t t = 0; t < s->n_targets; t++) {
        member *m = &g->members[t];
        if (!m->present)
            continue;
        bool answered = !m->r.error_kind;
        conclude(g, m, answered && first);
        first = first && !answered;
        p->hooks.record(p->hooks.data, &m->r);
    }
    release_members(g);
}

/* ------------------------------------------------------------ asking */

static void answered(assay__group *g)
{
    if (--g->asks == 0 && g->state == ASKING)
        finalize(g);
}

/* Asks the grader the question of comparative check `i`. */
static void ask(assay__group *g, size_t i, const answers *a)
{
    assay__pending *p = g->owner;
    const assay__check *c = check_at(p->suite, g->c, i);
    assay__buf system, user;
    assay__buf_init(&system, 0);
    assay__buf_init(&user, 0);
    assay_error err;
    assay_error_clear(&err);
    assay_status st = assay__check_compare_ask(c, &a->in, g->c->vars, g->c->id,
                                               &system, &user, &err);
    if (st != ASSAY_OK) {
        fail_group(g, "check", "%s", err.message);
    } else {
        g->asks++;
        g->refs++; /* the grader job's, until it is answered or gone */
        st = p->hooks.ask(p->hooks.data, g, g->c, g->prompt, g->repeat, i,
                          &system, &user, &err);
        if (st != ASSAY_OK) {
            g->asks--;
            g->refs--;
            fail_group(g, "grader", "check '%s': %s", assay__check_type(c),
                       err.message);
        }
    }
    assay__buf_release(&system);
    assay__buf_release(&user);
}

static bool complete(const assay__group *g)
{
    if (g->broken)
        return false;
    return g->held == g->owner->suite->n_targets ||
           (g->sealed && g->held == g->joined);
}

/* Every result is in: judge them, asking the grader first if need be. */
static void settle(assay__group *g)
{
    if (g->state != COLLECTING || !complete(g))
        return;
    const assay_suite *s = g->owner->suite;
    g->state = ASKING;
    g->refs++;   /* answers may come before ask() returns */
    g->asks = 1; /* and are not the last while questions go out */
    answers a;
    if (!answers_gather(g, &a)) {
        fail_group(g, "check", "comparing the answers: out of memory");
    } else {
        for (size_t i = 0; !g->failure && a.in.n >= 2 && i < g->n_checks; i++)
            if (assay__check_compares(check_at(s, g->c, i)) &&
                assay__check_compare_asks(check_at(s, g->c, i)))
                ask(g, i, &a);
        answers_release(&a);
    }
    answered(g);
    unref(g);
}

/* ------------------------------------------------------------ the run's */

/* The groups of the current case: closed, since its jobs are all out. */
static void seal_current(assay__pending *p)
{
    for (size_t i = 0; i < p->n_slots; i++) {
        assay__group *g = p->slots[i];
        if (!g)
            continue;
        p->slots[i] = NULL;
        g->sealed = true;
        settle(g);
        unref(g); /* the slot's */
    }
    p->current = NULL;
}

assay_status assay__pending_join(assay__pending *p, assay__case *c,
                                 size_t prompt, int repeat, assay__group **out)
{
    *out = NULL;
    if (!case_compares(p->suite, c))
        return ASSAY_OK;
    /* The slots' groups hold their case, so no other case can have the
       address of the current one while they are there. */
    if (c != p->current)
        seal_current(p);
    p->current = c;
    size_t slot = prompt * (size_t)p->suite->repeat + (size_t)repeat;
    if (slot >= p->n_slots)
        return ASSAY_ERR_STATE;
    assay__group *g = p->slots[slot];
    if (!g && !(g = p->slots[slot] = group_new(p, c, prompt, repeat)))
        return ASSAY_ERR_NOMEM;
    g->refs++;
    g->joined++;
    *out = g;
    return ASSAY_OK;
}

void assay__pending_seal(assay__pending *p)
{
    seal_current(p);
}

void assay__pending_flush(assay__pending *p)
{
    if (!p)
        return;
    p->flushed = true;
    for (assay__group *g = p->groups; g; g = g->next)
        if (g->state != RECORDED)
            finalize(g);
    for (size_t i = 0; i < p->n_slots; i++) {
        assay__group *g = p->slots[i];
        p->slots[i] = NULL;
        if (g)
            unref(g);
    }
    p->current = NULL;
    assay__group *next;
    for (assay__group *g = p->groups; g; g = next) {
        next = g->next;
        if (g->refs == 0)
            group_free(g);
    }
}

/* ------------------------------------------------------------ members */

/* A deep copy of what `r` points at, into `m`. */
static bool copy_result(member *m, const assay__result *r)
{
    m->r = *r;
    m->r.response = NULL;
    size_t n = r->n_checks;
    m->checks = calloc(n ? n : 1, sizeof *m->checks);
    m->reasons = calloc(n ? n : 1, sizeof *m->reasons);
    if (!m->checks || !m->reasons)
        return false;
    m->n_reasons = n;
    for (size_t i = 0; i < n; i++) {
        m->checks[i] = r->checks[i];
        m->reasons[i] = strdup(r->checks[i].reason ? r->checks[i].reason : "");
        if (!m->reasons[i])
            return false;
        m->checks[i].reason = m->reasons[i];
    }
    m->r.checks = m->checks;
    if (r->error_message && !(m->error_message = strdup(r->error_message)))
        return false;
    m->r.error_message = m->error_message;
    return true;
}

assay_status assay__group_hold(assay__group *g, size_t target,
                               const assay__result *r, assay__response *resp)
{
    const assay_suite *s = g->owner->suite;
    member *m = target < s->n_targets ? &g->members[target] : NULL;
    if (g->state != COLLECTING || !m || m->present) {
        g->broken = true; /* a result twice, or after the run's end */
        unref(g);
        return ASSAY_ERR_STATE;
    }
    m->present = true;
    assay__response_init(&m->response);
    if (!copy_result(m, r)) {
        release_member(m);
        g->broken = true;
        unref(g);
        return ASSAY_ERR_NOMEM;
    }
    if (resp) { /* moved: its source is reused for other answers */
        assay__response_release(&m->response);
        m->response = *resp;
        assay__response_init(resp);
        m->r.response = &m->response;
    }
    g->held++;
    settle(g);
    // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): settle takes and drops its own reference; the caller's keeps g alive until here
    unref(g);
    return ASSAY_OK;
}

void assay__group_leave(assay__group *g)
{
    if (g->state == COLLECTING)
        g->broken = true;
    unref(g);
}

void assay__group_graded(assay__group *g, size_t check, const char *reply,
                         size_t len, long prompt_tokens, long completion_tokens,
                         const char *failure)
{
    const assay__check *c = check_at(g->owner->suite, g->c, check);
    if (g->state == ASKING && reply) {
        g->replies[check] = strndup(reply, len);
        g->reply_lens[check] = len;
        if (!g->replies[check])
            fail_group(g, "check", "check '%s': out of memory",
                       assay__check_type(c));
        g->requests++;
        add_usage(&g->prompt_tokens, prompt_tokens);
        add_usage(&g->completion_tokens, completion_tokens);
    } else if (g->state == ASKING) {
        fail_group(g, "grader", "check '%s': the grader failed: %s",
                   assay__check_type(c), failure ? failure : "no reply");
    }
    answered(g);
    unref(g);
}

void assay__group_grader_gone(assay__group *g, size_t check)
{
    (void)check;
    answered(g);
    unref(g);
}
