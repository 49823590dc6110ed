/*
 * validate.c - checking a loaded suite without sending anything: every
 * case of its dataset is read (and so checked: UTF-8, JSON, ids, mapped
 * fields, its own checks) and every prompt rendered for it, which finds a
 * template variable that some case lacks before a run spends anything.
 *
 * What it does not do: run checks (a check may call a grading model) or
 * reach an endpoint.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* A case that no check would score would pass by default: refuse it. */
static assay_status needs_checks(const assay_suite *s, const assay__case *c,
                                 assay_error *err)
{
    if (s->n_checks > 0 || c->n_checks > 0)
        return ASSAY_OK;
    const char *file = s->dataset.path ? s->dataset.path
                                       : assay__doc_name(s->doc);
    return assay__error(err, ASSAY_ERR_SUITE, file, (int)c->line, 0,
                        "case '%s' has no checks: give the suite 'checks' "
                        "or the case its own",
                        c->id);
}

/* A comparative check of the case's own needs two targets to compare. */
static assay_status comparable(const assay_suite *s, const assay__case *c,
                               assay_error *err)
{
    for (size_t i = 0; s->n_targets < 2 && i < c->n_checks; i++) {
        if (!assay__check_compares(c->checks[i]))
            continue;
        const char *file = s->dataset.path ? s->dataset.path
                                           : assay__doc_name(s->doc);
        return assay__error(err, ASSAY_ERR_SUITE, file, (int)c->line, 0,
                            "case '%s': check '%s' compares the answers of "
                            "two or more targets, and the suite has %zu",
                            c->id, assay__check_type(c->checks[i]),
                            s->n_targets);
    }
    return ASSAY_OK;
}

/* A model-graded or embedding check of the case's own needs the suite's
   grader or embedder, as the suite's own checks do when it is loaded. */
static assay_status judged(const assay_suite *s, const assay__case *c,
                           assay_error *err)
{
    for (size_t i = 0; i < c->n_checks; i++) {
        const assay__check *k = c->checks[i];
        bool asks = assay__check_needs_grader(k) ||
                    (assay__check_compares(k) && assay__check_compare_asks(k));
        if (!asks)
            continue;
        bool embeds = assay__check_embeds(k);
        if (embeds ? s->embedder != NULL : s->grader != NULL)
            continue;
        const char *file = s->dataset.path ? s->dataset.path
                                           : assay__doc_name(s->doc);
        return assay__error(err, ASSAY_ERR_SUITE, file, (int)c->line, 0,
                            "case '%s': check '%s' needs the suite's %s, "
                            "and it has none",
                            c->id, assay__check_type(k),
                            embeds ? "embedder" : "grader");
    }
    return ASSAY_OK;
}

static assay_status render_all(const assay_suite *s, const assay__case *c,
                               assay__rendered *r, assay_suite_counts *n,
                               assay_error *err)
{
    for (size_t p = 0; p < s->n_prompts; p++) {
        assay_status st = assay__prompt_render(&s->prompts[p], c, r, err);
        if (st != ASSAY_OK) {
            if (s->n_prompts > 1)
                assay__error_prefix(err, "prompt '%s'", s->prompts[p].name);
            return st;
        }
        n->renders++;
    }
    return ASSAY_OK;
}

assay_status assay_suite_validate(const assay_suite *s, assay_skip_fn skip,
                                  void *user_data, assay_suite_counts *out,
                                  assay_error *err)
{
    assay_suite_counts n = {0, 0, 0, 0};
    if (!s)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_suite_validate needs a suite");
    assay__select sel;
    assay__select_init(&sel);
    sel.skip = skip;
    sel.skip_data = user_data;
    assay__rendered r;
    assay__rendered_init(&r);
    assay__dataset *d = NULL;
    assay_status st = assay__dataset_open(&s->dataset, &sel, &d, err);
    while (st == ASSAY_OK) {
        assay__case *c;
        st = assay__dataset_next(d, &c, err);
        if (st != ASSAY_OK || !c)
            break;
        st = needs_checks(s, c, err);
        if (st == ASSAY_OK)
            st = comparable(s, c, err);
        if (st == ASSAY_OK)
            st = judged(s, c, err);
        if (st == ASSAY_OK)
            st = render_all(s, c, &r, &n, err);
        n.cases += st == ASSAY_OK;
        assay__case_unref(c);
    }
    n.skipped = d ? assay__dataset_skipped(d) : 0;
    n.requests = n.cases * (long)s->n_targets * (long)s->n_prompts *
                 (long)s->repeat;
    assay__dataset_free(d);
    assay__rendered_release(&r);
    if (out)
        *out = n;
    return st;
}
