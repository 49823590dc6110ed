/*
 * checks/comparative.c - checks that compare the answers of every target
 * to one case and choose among them, as promptfoo's:
 *
 *   select-best   the grader reads every answer, numbered from 0, with the
 *                 criteria (the value) and names the best: {"reason",
 *                 "best": INDEX}. The chosen answer passes, the others fail.
 *   max-score     the answer whose other checks score highest passes, the
 *                 others fail. The value's `method` (average, the default,
 *                 or sum) combines the other checks' scores, weighted by
 *                 `weights` (per check type; else the check's own weight);
 *                 with `threshold`, no answer passes when the best score is
 *                 below it. The first answer (in target order) wins a tie.
 *
 * A family here judges answers already gathered; holding the results of a
 * case until every target has answered is pending.c's, and asking the
 * grader is the run's. A grader reply that names no answer fails every
 * answer with a reason that quotes it.
 */
#include "checks.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of an answer, or of the criteria, quoted in a reason. */
#define QUOTE_BYTES 80

/* ------------------------------------------------------------ shared */

static assay_status not_alone(void *state, const assay__check_input *in,
                              assay__check_finding *out, assay_error *err)
{
    (void)state;
    (void)in;
    (void)out;
    return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                        "it compares the answers of every target to a case "
                        "and has no verdict on one answer alone");
}

/* "target 'NAME'" */
static assay_status put_target(assay__buf *b, const assay__compare_input *a,
                               size_t i)
{
    assay_status st = assay__buf_puts(b, "target ");
    return st == ASSAY_OK ? assay__text_excerpt(b, a->targets[i],
                                                strlen(a->targets[i]), 64)
                          : st;
}

/* ------------------------------------------------------------ max-score */

typedef struct max_score_state {
    bool sum;
    cJSON *weights;   /* type -> weight, or NULL */
    double threshold; /* NaN: none */
} max_score_state;

static void max_score_free(void *state)
{
    max_score_state *m = state;
    if (!m)
        return;
    cJSON_Delete(m->weights);
    free(m);
}

static assay_status read_method(const assay__check_spec *spec,
                                const cJSON *node, max_score_state *m,
                                assay_error *err)
{
    if (!cJSON_IsString(node) || (strcmp(node->valuestring, "average") &&
                                  strcmp(node->valuestring, "sum")))
        return assay__doc_error(spec->doc, node, false, err, ASSAY_ERR_CHECK,
                                "'method' is 'average' or 'sum'");
    m->sum = !strcmp(node->valuestring, "sum");
    return ASSAY_OK;
}

static assay_status read_weights(const assay__check_spec *spec,
                                 const cJSON *node, max_score_state *m,
                                 assay_error *err)
{
    if (!cJSON_IsObject(node))
        return assay__doc_error(spec->doc, node, false, err, ASSAY_ERR_CHECK,
                                "'weights' maps check types to numbers, as "
                                "in {llm-rubric: 3, contains: 1}");
    const cJSON *w;
    cJSON_ArrayForEach (w, node) {
        if (!cJSON_IsNumber(w) || !isfinite(w->valuedouble) ||
            w->valuedouble < 0)
            return assay__doc_error(spec->doc, w, false, err, ASSAY_ERR_CHECK,
                                    "the weight of '%s' must be a number "
                                    ">= 0",
                                    w->string);
    }
    m->weights = cJSON_Duplicate(node, true);
    return m->weights ? ASSAY_OK
                      : assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                     "out of memory");
}

/* The value: nothing, or {method, weights, threshold}. */
static assay_status max_score_compile(const assay__check_spec *spec,
                                      void **state, assay_error *err)
{
    const cJSON *v = spec->value;
    if (v && !cJSON_IsObject(v))
        return assay__doc_error(spec->doc, v, false, err, ASSAY_ERR_CHECK,
                                "the value of 'max-score' is a mapping of "
                                "its options: method (average or sum), "
                                "weights and threshold");
    max_score_state *m = calloc(1, sizeof *m);
    if (!m)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    m->threshold = NAN;
    assay_status st = ASSAY_OK;
    const cJSON *key;
    cJSON_ArrayForEach (key, v) {
        if (!strcmp(key->string, "method")) {
            st = read_method(spec, key, m, err);
        } else if (!strcmp(key->string, "weights")) {
            st = read_weights(spec, key, m, err);
        } else if (!strcmp(key->string, "threshold")) {
            if (cJSON_IsNumber(key) && isfinite(key->valuedouble))
                m->threshold = key->valuedouble;
            else
                st = assay__doc_error(spec->doc, key, false, err,
                                      ASSAY_ERR_CHECK,
                                      "'threshold' must be a number");
        } else {
            st = assay__doc_error(spec->doc, key, true, err, ASSAY_ERR_CHECK,
                                  "'max-score' has no option '%s' (it "
                                  "takes method, weights and threshold)",
                                  key->string);
        }
        if (st != ASSAY_OK)
            break;
    }
    if (st != ASSAY_OK) {
        max_score_free(m);
        return st;
    }
    *state = m;
    return ASSAY_OK;
}

double assay__max_score_of(const assay__check_outcome *outcomes, size_t n,
                           const cJSON *weights, bool sum)
{
    double total = 0, weight_sum = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *named =
            cJSON_GetObjectItemCaseSensitive(weights, outcomes[i].type);
        double w =
            cJSON_IsNumber(named) ? named->valuedouble : outcomes[i].weight;
        total += w * outcomes[i].score;
        weight_sum += w;
    }
    if (sum)
        return total;
    return weight_sum > 0 ? total / weight_sum : 0;
}

size_t assay__max_score_pick(const double *scores, size_t n, double threshold)
{
    size_t best = (size_t)-1;
    for (size_t i = 0; i < n; i++)
        if (!isnan(scores[i]) &&
            (best == (size_t)-1 || scores[i] > scores[best]))
            best = i;
    if (best != (size_t)-1 && !isnan(threshold) && scores[best] < threshold)
        return (size_t)-1;
    return best;
}

/* The first answer other than `i` whose score equals i's, or -1. */
static size_t tied_with(const double *scores, size_t n, size_t i)
{
    for (size_t j = 0; j < n; j++)
        if (j != i && scores[j] == scores[i])
            return j;
    return (size_t)-1;
}

/* Why answer i did (not) win: its score against the best one's. */
static assay_status max_score_found(const max_score_state *m,
                                    const assay__compare_input *a,
                                    const double *scores, size_t best,
                                    size_t top, size_t i, assay__buf *found)
{
    assay_status st = assay__buf_puts(found, "score ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(found, scores[i], 3);
    if (st != ASSAY_OK)
        return st;
    if (best == (size_t)-1) {
        st = assay__buf_puts(found, "; the highest, ");
        if (st == ASSAY_OK)
            st = assay__checks_put_number(found, scores[top], 3);
        if (st == ASSAY_OK)
            st = assay__buf_puts(found, ", is below the threshold ");
        return st == ASSAY_OK ? assay__checks_put_number(found, m->threshold, 3)
                              : st;
    }
    size_t tie = tied_with(scores, a->n, i);
    if (i == best) {
        st = assay__buf_printf(found, ", the highest of %zu answers", a->n);
        if (st == ASSAY_OK && tie != (size_t)-1) {
            st = assay__buf_puts(found, " (tied with ");
            if (st == ASSAY_OK)
                st = put_target(found, a, tie);
            if (st == ASSAY_OK)
                st = assay__buf_puts(found, "; the first target wins a tie)");
        }
        return st;
    }
    st = assay__buf_puts(found, scores[i] == scores[best] ? ", tied with "
                                                          : ", below ");
    if (st == ASSAY_OK)
        st = put_target(found, a, best);
    if (st == ASSAY_OK && scores[i] == scores[best])
        return assay__buf_puts(found, ", which comes first");
    if (st == ASSAY_OK)
        st = assay__buf_puts(found, " with ");
    return st == ASSAY_OK ? assay__checks_put_number(found, scores[best], 3)
                          : st;
}

static assay_status max_score_compare(void *state, const assay__check_input *in,
                                      const assay__compare_input *a,
                                      assay__buf *want,
                                      assay__compare_finding *out,
                                      assay_error *err)
{
    (void)in;
    const max_score_state *m = state;
    for (size_t i = 0; i < a->n; i++)
        if (a->n_others[i] == 0)
            return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                                "there is no other check to rank the "
                                "answers by: give the case checks that "
                                "score them");
    double *scores = calloc(a->n ? a->n : 1, sizeof *scores);
    if (!scores)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < a->n; i++)
        scores[i] = assay__max_score_of(a->others[i], a->n_others[i],
                                        m->weights, m->sum);
    size_t best = assay__max_score_pick(scores, a->n, m->threshold);
    size_t top = assay__max_score_pick(scores, a->n, NAN);
    assay_status st =
        assay__buf_printf(want, "have the highest %s score of the other checks",
                          m->sum ? "summed" : "mean");
    if (st == ASSAY_OK && !isnan(m->threshold)) {
        st = assay__buf_puts(want, ", at least ");
        if (st == ASSAY_OK)
            st = assay__checks_put_number(want, m->threshold, 3);
    }
    for (size_t i = 0; st == ASSAY_OK && i < a->n; i++) {
        out[i].pass = i == best;
        out[i].score = i == best ? 1 : 0;
        st = max_score_found(m, a, scores, best, top, i, out[i].found);
    }
    free(scores);
    return st;
}

/* ------------------------------------------------------------ select-best */

typedef struct select_best_state {
    assay__template *prompt; /* the `prompt` option, else NULL */
} select_best_state;

static const char select_best_system[] =
    "You compare answers to the same request and choose the one that best "
    "meets the criteria. Reply with one JSON object and nothing else: "
    "{\"reason\": \"<one sentence>\", \"best\": <the index of the best "
    "answer>}.";

static void select_best_free(void *state)
{
    select_best_state *s = state;
    if (!s)
        return;
    assay__template_free(s->prompt);
    free(s);
}

static assay_status select_best_compile(const assay__check_spec *spec,
                                        void **state, assay_error *err)
{
    select_best_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    const cJSON *prompt =
        cJSON_GetObjectItemCaseSensitive(spec->options, "prompt");
    assay_status st = ASSAY_OK;
    if (prompt && !cJSON_IsString(prompt)) {
        st = assay__doc_error(spec->doc, prompt, false, err, ASSAY_ERR_CHECK,
                              "'prompt' must be a text (a template)");
    } else if (prompt) {
        int line = 0, col = 0;
        assay__doc_where(spec->doc, prompt, &line, &col);
        char where[600];
        snprintf(where, sizeof where, "%s:%d:%d", assay__doc_name(spec->doc),
                 line, col);
        st = assay__template_compile(prompt->valuestring, where, &s->prompt,
                                     err);
    }
    if (st != ASSAY_OK) {
        select_best_free(s);
        return st;
    }
    *state = s;
    return ASSAY_OK;
}

/* Every answer in a numbered tag, as promptfoo lists them. */
static assay_status put_answers(assay__buf *b, const assay__compare_input *a)
{
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < a->n; i++) {
        st = assay__buf_printf(b, "%s<answer index=\"%zu\">\n", i ? "\n\n" : "",
                               i);
        if (st == ASSAY_OK)
            st = assay__buf_append(b, a->outputs[i], a->output_lens[i]);
        if (st == ASSAY_OK)
            st = assay__buf_puts(b, "\n</answer>");
    }
    return st;
}

static bool add_text(cJSON *vars, const char *key, const char *text)
{
    cJSON *item = cJSON_CreateString(text);
    if (!item)
        return false;
    cJSON_DeleteItemFromObjectCaseSensitive(vars, key);
    cJSON_AddItemToObject(vars, key, item);
    return true;
}

/* The `prompt` option rendered with the case's fields, `value` (also as
   `criteria`), `answers` (the numbered list) and `count`. */
static assay_status custom_prompt(const select_best_state *s,
                                  const assay__check_input *in,
                                  const char *answers, size_t n,
                                  assay__buf *user, assay_error *err)
{
    cJSON *vars =
        in->vars ? cJSON_Duplicate(in->vars, true) : cJSON_CreateObject();
    cJSON *count = cJSON_CreateNumber((double)n);
    if (!vars || !count || !add_text(vars, "value", in->value) ||
        !add_text(vars, "criteria", in->value) ||
        !add_text(vars, "answers", answers)) {
        cJSON_Delete(vars);
        cJSON_Delete(count);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(vars, "count");
    cJSON_AddItemToObject(vars, "count", count);
    assay_status st =
        assay__template_render(s->prompt, vars, in->case_id, user, err);
    cJSON_Delete(vars);
    return st;
}

static assay_status select_best_ask(void *state, const assay__check_input *in,
                                    const assay__compare_input *a,
                                    assay__buf *system, assay__buf *user,
                                    assay_error *err)
{
    const select_best_state *s = state;
    assay__buf answers;
    assay__buf_init(&answers, 0);
    assay_status st = put_answers(&answers, a);
    bool told = false; /* err says why already */
    if (st == ASSAY_OK && s->prompt) {
        st = custom_prompt(s, in, answers.data, a->n, user, err);
        told = st != ASSAY_OK;
    } else if (st == ASSAY_OK) {
        st = assay__buf_puts(system, select_best_system);
        if (st == ASSAY_OK)
            st = assay__buf_puts(user, "Criteria:\n");
        if (st == ASSAY_OK)
            st = assay__buf_append(user, in->value, in->value_len);
        if (st == ASSAY_OK)
            st = assay__buf_puts(user, "\n\nAnswers:\n");
        if (st == ASSAY_OK)
            st = assay__buf_append(user, answers.data, answers.len);
    }
    if (st != ASSAY_OK && !told)
        assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    assay__buf_release(&answers);
    return st;
}

bool assay__select_best_read(const char *reply, size_t len, long *index)
{
    cJSON *obj = assay__checks_first_object(reply, len);
    if (obj) {
        const cJSON *best = cJSON_GetObjectItemCaseSensitive(obj, "best");
        if (!best)
            best = cJSON_GetObjectItemCaseSensitive(obj, "index");
        double v = cJSON_IsNumber(best) ? best->valuedouble
                   : cJSON_IsString(best) && best->valuestring[0] &&
                           strspn(best->valuestring, "0123456789") ==
                               strlen(best->valuestring) &&
                           strlen(best->valuestring) < 10
                       ? strtod(best->valuestring, NULL)
                       : NAN;
        cJSON_Delete(obj);
        if (!(v >= 0) || v != floor(v) || v > 1e9)
            return false;
        *index = (long)v;
        return true;
    }
    /* promptfoo's prompt asks for a bare integer: take one, alone. */
    while (len && isspace((unsigned char)*reply)) {
        reply++;
        len--;
    }
    while (len && isspace((unsigned char)reply[len - 1]))
        len--;
    if (len == 0 || len > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)reply[i]))
            return false;
        v = v * 10 + (reply[i] - '0');
    }
    *index = v;
    return true;
}

/* ": <the grader's reason>", when its reply gives one. */
static assay_status quote_reason(assay__buf *found, const char *reply,
                                 size_t len)
{
    cJSON *obj = assay__checks_first_object(reply, len);
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(obj, "reason");
    assay_status st = ASSAY_OK;
    if (cJSON_IsString(reason) && reason->valuestring[0]) {
        st = assay__buf_puts(found, ": ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(found, reason->valuestring,
                                     strlen(reason->valuestring), 200);
    }
    cJSON_Delete(obj);
    return st;
}

/* Every answer fails: the reply named none of them. */
static assay_status no_choice(const assay__check_input *in,
                              const assay__compare_input *a, long chosen,
                              assay__compare_finding *out)
{
    assay_status st = ASSAY_OK;
    for (size_t i = 0; st == ASSAY_OK && i < a->n; i++) {
        out[i].pass = false;
        out[i].score = 0;
        if (chosen >= 0)
            st = assay__buf_printf(out[i].found,
                                   "no answer chosen: the grader named "
                                   "answer %ld of %zu (0 to %zu): ",
                                   chosen, a->n, a->n - 1);
        else
            st = assay__buf_puts(out[i].found,
                                 "no answer chosen: the grader's reply names "
                                 "no index: ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out[i].found, in->grader_reply,
                                     in->grader_reply_len, 160);
    }
    return st;
}

static assay_status
select_best_compare(void *state, const assay__check_input *in,
                    const assay__compare_input *a, assay__buf *want,
                    assay__compare_finding *out, assay_error *err)
{
    (void)state;
    if (!in->grader_reply)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "it needs its grader's reply");
    assay_status st = assay__buf_puts(want, "be chosen as the best for ");
    if (st == ASSAY_OK)
        st = assay__text_excerpt(want, in->value, in->value_len, QUOTE_BYTES);
    if (st != ASSAY_OK)
        return st;
    long chosen = -1;
    if (!assay__select_best_read(in->grader_reply, in->grader_reply_len,
                                 &chosen) ||
        (size_t)chosen >= a->n)
        return no_choice(in, a, chosen, out);
    for (size_t i = 0; st == ASSAY_OK && i < a->n; i++) {
        out[i].pass = i == (size_t)chosen;
        out[i].score = out[i].pass ? 1 : 0;
        if (out[i].pass) {
            st = assay__buf_printf(
                out[i].found, "chosen by the grader among %zu answers", a->n);
        } else {
            st = assay__buf_printf(out[i].found, "answer %ld (", chosen);
            if (st == ASSAY_OK)
                st = put_target(out[i].found, a, (size_t)chosen);
            if (st == ASSAY_OK)
                st = assay__buf_puts(out[i].found, ") chosen instead");
        }
        if (st == ASSAY_OK)
            st = quote_reason(out[i].found, in->grader_reply,
                              in->grader_reply_len);
    }
    return st;
}

/* ------------------------------------------------------------ families */

static const char *const select_best_options[] = {"prompt", NULL};

const assay__check_family assay__checks_select_best = {
    .name = "select-best",
    .value_is_template = true,
    .value_use = ASSAY__VALUE_REQUIRED,
    .options = select_best_options,
    .compile = select_best_compile,
    .run = not_alone,
    .free = select_best_free,
    .compare = select_best_compare,
    .compare_ask = select_best_ask,
};

const assay__check_family assay__checks_max_score = {
    .name = "max-score",
    .value_use = ASSAY__VALUE_OPTIONAL,
    .compile = max_score_compile,
    .run = not_alone,
    .free = max_score_free,
    .compare = max_score_compare,
};
