/*
 * checks/callback.c - a check the application decides with its own
 * function (assay_suite_add_check_callback), and the verdict setters that
 * function uses.
 *
 * It is no entry of the registry: a suite file cannot name it, since a
 * function pointer cannot be written in one. check.c treats it like any
 * family: weight, metric and threshold (optional: without one, the
 * function's pass stands) come from the long form's keys, `not-` is not
 * offered, and the reason reads "expected to pass 'NAME'; found REASON".
 */
#include "../callback.h"
#include "checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REASON_MAX ((size_t)64 << 10)

struct assay_check_verdict {
    bool pass;
    double score;
    assay__buf reason;
    assay__buf error;
    bool failed;
};

typedef struct callback_state {
    char *name;
    assay_check_fn fn;
    void *user_data;
} callback_state;

void assay_check_verdict_set(assay_check_verdict *verdict, bool pass,
                             double score)
{
    verdict->pass = pass;
    verdict->score = score >= 0 ? (score > 1 ? 1 : score) : 0; /* NaN: 0 */
}

assay_status assay_check_verdict_set_reason(assay_check_verdict *verdict,
                                            const char *reason)
{
    assay__buf_reset(&verdict->reason);
    return reason ? assay__buf_puts(&verdict->reason, reason) : ASSAY_OK;
}

assay_status assay_check_verdict_set_error(assay_check_verdict *verdict,
                                           const char *message)
{
    verdict->failed = true;
    assay__buf_reset(&verdict->error);
    return assay__buf_puts(&verdict->error, message && *message
                                                 ? message
                                                 : "the callback reported "
                                                   "an error");
}

static assay_status callback_run(void *state, const assay__check_input *in,
                                 assay__check_finding *out, assay_error *err)
{
    const callback_state *cb = state;
    /* The answer may not end with a NUL of its own. */
    char *answer = strndup(in->output, in->output_len);
    if (!answer)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory");
    assay__case c = {.id = (char *)(in->case_id ? in->case_id : ""),
                     .vars = (cJSON *)in->vars};
    struct assay_case view;
    assay__case_view_init(&view, &c);
    assay_check_verdict v = {.pass = false, .score = 0};
    assay__buf_init(&v.reason, REASON_MAX);
    assay__buf_init(&v.error, REASON_MAX);
    cb->fn(answer, in->output_len, &view, &v, cb->user_data);
    assay_status st = ASSAY_OK;
    if (v.failed) {
        st = assay__error(err, ASSAY_ERR_CALLBACK, NULL, 0, 0, "%s",
                          v.error.data);
    } else {
        out->pass = v.pass;
        out->score = v.score;
        st = assay__buf_printf(out->want, "pass '%s'", cb->name);
        if (st == ASSAY_OK)
            st = assay__buf_puts(out->found, v.reason.len
                                                 ? v.reason.data
                                                 : "no reason given");
        if (st != ASSAY_OK)
            assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    }
    assay__buf_release(&v.reason);
    assay__buf_release(&v.error);
    assay__case_view_release(&view);
    free(answer);
    return st;
}

static void callback_free(void *state)
{
    callback_state *cb = state;
    if (cb)
        free(cb->name);
    free(cb);
}

static const assay__check_family callback_family = {
    .name = "callback",
    .value_use = ASSAY__VALUE_NONE,
    .threshold_optional = true,
    .run = callback_run,
    .free = callback_free,
};

assay_status assay__check_callback_new(const char *name, assay_check_fn fn,
                                       void *user_data, const assay__doc *doc,
                                       const cJSON *options,
                                       assay__check **out, assay_error *err)
{
    *out = NULL;
    callback_state *cb = calloc(1, sizeof *cb);
    if (!cb || !(cb->name = strdup(name))) {
        free(cb);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory");
    }
    cb->fn = fn;
    cb->user_data = user_data;
    return assay__check_new(&callback_family, name, cb, doc, options, out,
                            err);
}
