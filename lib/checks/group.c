/*
 * checks/group.c - `assert-set`: a group of checks judged as one.
 *
 *   - type: assert-set
 *     checks:
 *       - contains: Paris
 *       - type: regex
 *         value: '^\w+'
 *         weight: 2
 *     threshold: 0.5      # optional
 *     weight: 2           # how much the whole set counts in the case
 *     metric: geography
 *
 * The short form {assert-set: [...]} takes the checks as its value.
 * The checks of a set are compiled as the suite's own are (another
 * assert-set included) and run in order on the same answer, case and
 * response. The set's score is the weighted mean of their scores
 * (weight 0 ones reported only), as a case's is. Without a `threshold` the
 * set passes when every counted check passes; with one, when its score
 * reaches it. Its reason holds each check's verdict and reason in order.
 *
 * Only the set reaches the record: the checks inside it have no outcome,
 * metric or weight of their own outside it. Model-graded, embedding and
 * exec checks cannot be in a set: the run asks graders and embedders, and
 * holds exec to the suite's allow_exec, for a case's own checks only.
 */
#include "checks/checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of the children's verdicts kept in the set's reason. */
#define FOUND_MAX ((size_t)32 << 10)
/* A child's verdict is listed only when this much of the budget is left. */
#define CHILD_MIN 64

typedef struct group {
    assay__check **checks;
    size_t n;
} group;

static void group_free(void *state)
{
    group *g = state;
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        assay__check_free(g->checks[i]);
    free(g->checks);
    free(g);
}

/*
 * Why check `c` cannot be in a set, or NULL. What the run does for a check
 * before judging (asking its grader or embedder, holding `exec` to the
 * suite's allow_exec) it does for the case's own checks only.
 */
static const char *refused(const assay__check *c)
{
    const char *type = assay__check_type(c);
    if (assay__check_embeds(c)) /* asks the embedder as graders are asked */
        return "it needs the suite's embedder, which is asked only for the "
               "case's own checks";
    if (assay__check_needs_grader(c))
        return "it is model-graded, and the grader is asked only for the "
               "case's own checks";
    if (!strcmp(type, "exec") || !strcmp(type, "not-exec"))
        return "it runs a program, and allow_exec is enforced on the case's "
               "own checks";
    if (assay__check_compares(c))
        return "it compares the answers of every target, which the run "
               "does for the case's own checks";
    return NULL;
}

static assay_status group_compile(const assay__check_spec *spec, void **state,
                                  assay_error *err)
{
    const cJSON *list =
        spec->options
            ? cJSON_GetObjectItemCaseSensitive(spec->options, "checks")
            : NULL;
    if (list && spec->value)
        return assay__doc_error(spec->doc, list, true, err, ASSAY_ERR_CHECK,
                                "give the set's checks once, as 'checks' or "
                                "as 'value'");
    if (!list)
        list = spec->value;
    if (!list)
        return assay__doc_error(spec->doc, spec->options, false, err,
                                ASSAY_ERR_CHECK,
                                "check 'assert-set' needs its 'checks', as "
                                "in {type: assert-set, checks: [{contains: "
                                "Paris}]}");
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
    if (n == 0)
        return assay__doc_error(spec->doc, list, false, err, ASSAY_ERR_CHECK,
                                "the checks of an assert-set must be a "
                                "non-empty list");
    group *g = calloc(1, sizeof *g);
    if (g)
        g->checks = calloc((size_t)n, sizeof *g->checks);
    if (!g || !g->checks) {
        free(g);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    assay_status st = ASSAY_OK;
    const cJSON *item;
    cJSON_ArrayForEach (item, list) {
        if (g->n == (size_t)n)
            break;
        st = assay__check_compile(spec->doc, item, &g->checks[g->n], err);
        if (st != ASSAY_OK)
            break;
        const char *why = refused(g->checks[g->n++]);
        if (why) {
            st = assay__doc_error(spec->doc, item, false, err, ASSAY_ERR_CHECK,
                                  "check '%s' cannot be in an assert-set: "
                                  "%s; list it among the case's checks",
                                  assay__check_type(g->checks[g->n - 1]), why);
            break;
        }
    }
    if (st != ASSAY_OK) {
        group_free(g);
        return st;
    }
    *state = g;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ running */

/*
 * Appends up to `room` bytes of `s`, never cutting a UTF-8 character,
 * with "..." when it is cut. Returns the bytes of s appended.
 */
static size_t put_cut(assay__buf *b, const char *s, size_t room,
                      assay_status *st)
{
    size_t len = strlen(s), i = 0;
    if (len <= room) {
        *st = assay__buf_append(b, s, len);
        return len;
    }
    while (i < room) {
        size_t n = assay__checks_utf8_char(s + i, len - i);
        if (n == 0)
            n = 1; /* a stray byte: the reasons come from our own texts */
        if (i + n > room)
            break;
        i += n;
    }
    *st = assay__buf_append(b, s, i);
    if (*st == ASSAY_OK)
        *st = assay__buf_puts(b, "...");
    return i;
}

/*
 * "#2 regex failed: expected to match /x/; found 'y'", while `budget`
 * bytes last; *shown says whether it was written.
 */
static assay_status put_child(assay__buf *found, size_t i,
                              const assay__check *c, const assay__verdict *v,
                              size_t *budget, bool *shown)
{
    size_t start = found->len;
    *shown = *budget >= CHILD_MIN;
    if (!*shown)
        return ASSAY_OK;
    assay_status st =
        assay__buf_printf(found, "%s#%zu %s %s: ", i ? " | " : "", i + 1,
                          assay__check_type(c), v->pass ? "passed" : "failed");
    size_t used = found->len - start;
    if (st == ASSAY_OK)
        put_cut(found, v->reason.data, used < *budget ? *budget - used : 0,
                &st);
    used = found->len - start;
    *budget = used < *budget ? *budget - used : 0;
    return st;
}

/* "2 of 3 passed, score 0.667: ..." */
static assay_status put_summary(assay__buf *found, size_t passed, size_t n,
                                double score)
{
    assay_status st =
        assay__buf_printf(found, "%zu of %zu passed, score ", passed, n);
    if (st == ASSAY_OK)
        st = assay__checks_put_number(found, score, 3);
    if (st == ASSAY_OK)
        st = assay__buf_puts(found, ": ");
    return st;
}

/* Runs the children in order; their outcomes and reasons go to `found`. */
static assay_status run_children(const group *g, const assay__check_input *in,
                                 assay__check_outcome *outcomes,
                                 assay__buf *reasons, assay_error *err)
{
    assay__check_context ctx = {
        .response = in->response,
        .latency_ms = in->latency_ms,
        .ttft_ms = in->ttft_ms,
        .tools = in->tools,
    };
    assay__verdict v;
    assay__verdict_init(&v);
    size_t budget = FOUND_MAX, hidden = 0;
    assay_status st = ASSAY_OK;
    for (size_t i = 0; i < g->n && st == ASSAY_OK; i++) {
        const assay__check *c = g->checks[i];
        st = assay__check_run(c, in->output, in->output_len, in->vars,
                              in->case_id, &ctx, &v, err);
        if (st != ASSAY_OK) { /* err names the check, its place, the case */
            assay__verdict_release(&v);
            return st;
        }
        outcomes[i] = (assay__check_outcome){
            .type = assay__check_type(c),
            .metric = assay__check_metric(c),
            .weight = assay__check_weight(c),
            .pass = v.pass,
            .score = v.score,
        };
        bool shown;
        st = put_child(reasons, i, c, &v, &budget, &shown);
        hidden += !shown;
    }
    if (st == ASSAY_OK && hidden)
        st = assay__buf_printf(reasons, " | and %zu more", hidden);
    if (st != ASSAY_OK)
        st = assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    assay__verdict_release(&v);
    return st;
}

static assay_status group_run(void *state, const assay__check_input *in,
                              assay__check_finding *out, assay_error *err)
{
    const group *g = state;
    assay__check_outcome *outcomes = calloc(g->n, sizeof *outcomes);
    if (!outcomes)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    assay__buf reasons;
    assay__buf_init(&reasons, FOUND_MAX + 4096);
    assay_status st = run_children(g, in, outcomes, &reasons, err);
    if (st == ASSAY_OK) {
        out->pass = assay__verdict_combine(outcomes, g->n, NAN, &out->score);
        size_t passed = 0;
        for (size_t i = 0; i < g->n; i++)
            passed += outcomes[i].pass;
        if (isnan(in->threshold))
            st = assay__buf_printf(out->want, "pass all %zu checks of the set",
                                   g->n);
        else
            st = assay__buf_printf(out->want, "have a score >= ");
        if (st == ASSAY_OK && !isnan(in->threshold)) {
            st = assay__checks_put_number(out->want, in->threshold, 3);
            if (st == ASSAY_OK)
                st = assay__buf_printf(out->want,
                                       " over the %zu checks of "
                                       "the set",
                                       g->n);
        }
        if (st == ASSAY_OK)
            st = put_summary(out->found, passed, g->n, out->score);
        if (st == ASSAY_OK)
            st = assay__buf_append(out->found, reasons.data, reasons.len);
        if (st != ASSAY_OK)
            st = assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    }
    assay__buf_release(&reasons);
    free(outcomes);
    return st;
}

static const char *const group_options[] = {"checks", NULL};

const assay__check_family assay__checks_assert_set = {
    .name = "assert-set",
    .value_use = ASSAY__VALUE_OPTIONAL,
    .threshold_optional = true,
    .options = group_options,
    .compile = group_compile,
    .run = group_run,
    .free = group_free,
};
