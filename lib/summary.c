/*
 * summary.c - the per-target statistics of a run and the verdict of its
 * gates.
 *
 * A summary is fed one outcome at a time, either by a live run or by
 * record.c reading a run record back, so both give the same numbers. It
 * keeps constant memory per target whatever the number of results.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct summary_group {
    char *target;
    assay__stats stats;
} summary_group;

typedef struct summary_gate {
    char *text;
    bool passed;
} summary_gate;

struct assay_summary {
    char *suite_name;
    summary_group *groups;
    size_t n_groups;
    assay__gates gates;
    summary_gate *verdicts;
    size_t n_verdicts;
};

assay_summary *assay__summary_new(const char *suite_name,
                                  const char *const *targets, size_t n,
                                  const assay__gates *gates)
{
    assay_summary *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->gates = *gates;
    s->suite_name = strdup(suite_name);
    s->groups = calloc(n ? n : 1, sizeof *s->groups);
    if (!s->suite_name || !s->groups) {
        assay_summary_free(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        s->groups[i].target = strdup(targets[i]);
        if (!s->groups[i].target) {
            assay_summary_free(s);
            return NULL;
        }
        s->n_groups++;
        assay__stats_init(&s->groups[i].stats);
    }
    return s;
}

static void free_verdicts(assay_summary *s)
{
    for (size_t i = 0; i < s->n_verdicts; i++)
        free(s->verdicts[i].text);
    free(s->verdicts);
    s->verdicts = NULL;
    s->n_verdicts = 0;
}

void assay_summary_free(assay_summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_groups; i++)
        free(s->groups[i].target);
    free(s->groups);
    free_verdicts(s);
    free(s->suite_name);
    free(s);
}

long assay__summary_group(const assay_summary *s, const char *target)
{
    for (size_t i = 0; i < s->n_groups; i++)
        if (!strcmp(s->groups[i].target, target))
            return (long)i;
    return -1;
}

void assay__summary_add(assay_summary *s, size_t group, assay__outcome outcome,
                        double latency_ms, long prompt_tokens,
                        long completion_tokens)
{
    assay__stats_add(&s->groups[group].stats, outcome, latency_ms,
                     prompt_tokens, completion_tokens);
}

const assay__stats *assay__summary_stats(const assay_summary *s, size_t group)
{
    return &s->groups[group].stats;
}

static assay_status add_pass_rate_verdict(assay_summary *s,
                                          const summary_group *g)
{
    double rate = assay__stats_get(&g->stats, ASSAY_STAT_PASS_RATE);
    assay__buf text;
    assay__buf_init(&text, 0);
    assay_status st = assay__buf_printf(
        &text, "pass_rate >= %g for target '%s'", s->gates.pass_rate_min,
        g->target);
    if (st != ASSAY_OK)
        return st;
    summary_gate *v = &s->verdicts[s->n_verdicts++];
    v->text = assay__buf_detach(&text, NULL);
    /* No result at all is not a pass: a suite that ran nothing proved
       nothing. */
    v->passed = !isnan(rate) && rate >= s->gates.pass_rate_min;
    return v->text ? ASSAY_OK : ASSAY_ERR_NOMEM;
}

assay_status assay__summary_finish(assay_summary *s)
{
    free_verdicts(s);
    if (isnan(s->gates.pass_rate_min))
        return ASSAY_OK;
    s->verdicts = calloc(s->n_groups ? s->n_groups : 1, sizeof *s->verdicts);
    if (!s->verdicts)
        return ASSAY_ERR_NOMEM;
    for (size_t i = 0; i < s->n_groups; i++) {
        assay_status st = add_pass_rate_verdict(s, &s->groups[i]);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ public */

const char *assay_summary_suite_name(const assay_summary *s)
{
    return s->suite_name;
}

size_t assay_summary_group_count(const assay_summary *s)
{
    return s->n_groups;
}

const char *assay_summary_group_target(const assay_summary *s, size_t index)
{
    return index < s->n_groups ? s->groups[index].target : NULL;
}

double assay_summary_stat(const assay_summary *s, size_t index,
                          assay_stat stat)
{
    if (index >= s->n_groups)
        return NAN;
    return assay__stats_get(&s->groups[index].stats, stat);
}

size_t assay_summary_gate_count(const assay_summary *s)
{
    return s->n_verdicts;
}

const char *assay_summary_gate_text(const assay_summary *s, size_t index)
{
    return index < s->n_verdicts ? s->verdicts[index].text : NULL;
}

bool assay_summary_gate_passed(const assay_summary *s, size_t index)
{
    return index < s->n_verdicts && s->verdicts[index].passed;
}

bool assay_summary_passed(const assay_summary *s)
{
    for (size_t i = 0; i < s->n_verdicts; i++)
        if (!s->verdicts[i].passed)
            return false;
    return true;
}

assay_status assay_summary_load(const char *record_path, assay_summary **out,
                                assay_error *err)
{
    return assay__record_read(record_path, out, err);
}
