/*
 * checks/graded.c - model-graded checks: a grader model reads the answer
 * and judges it.
 *
 *   llm-rubric              the answer against a rubric (the value); the
 *                           grader answers {"reason", "pass", "score"}
 *   model-graded-closedqa   does the answer meet a criterion? Y or N, after
 *                           reasoning (OpenAI evals' closed-QA grading)
 *   factuality              the answer against an expert answer, one of the
 *                           five relations of OpenAI evals' fact check;
 *                           only (D), disagreement, fails
 *   g-eval                  a score from 1 to 10 on stated criteria
 *   answer-relevance        how well the answer addresses the question
 *   context-faithfulness    how much of the answer the context supports
 *   context-recall          how much of the expected answer the context holds
 *   context-relevance       how much of the context serves the question
 *
 * A family here only writes the grader's messages (ask) and reads its reply
 * (run); the run sends the question through the engine to the suite's
 * grader target, with the cache, retries and rate limits of any request.
 * Every prompt can be replaced with the check's `prompt` option, a template
 * that sees the case's fields and `output`, `value`, `question` and
 * `context`. The question is the `question` option, else the case's
 * `question` or `input` field; the context is the `context` option, else
 * the case's `context` field. Replies are read leniently: the JSON object
 * may be wrapped in prose or a code fence, and a verdict letter may follow
 * the reasoning.
 */
#include "checks.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How a family reads its grader's reply. */
typedef enum reply_kind {
    REPLY_JSON_SCORE, /* {"reason", "score" (0..1), "pass"} */
    REPLY_JSON_TEN,   /* {"reason", "score" (1..10)} */
    REPLY_YES_NO,     /* Y or N on the last line */
    REPLY_LETTER      /* A to E on the last line */
} reply_kind;

typedef struct graded_kind {
    const char *system;
    const char *user;
    reply_kind reply;
    const char *want; /* the finding's "expected to ..." phrase */
} graded_kind;

typedef struct graded_state {
    const graded_kind *kind;
    assay__template *prompt;   /* the `prompt` option, else the kind's */
    bool custom;               /* the prompt came from the option */
    assay__template *question; /* the `question` option, else NULL */
    assay__template *context;  /* the `context` option, else NULL */
} graded_state;

#define JSON_SCORE_RULE                                                        \
    "Reply with one JSON object and nothing else: {\"reason\": \"<one "    \
    "sentence>\", \"score\": <a number from 0 to 1>}."

static const graded_kind rubric_kind = {
    "You grade an answer against a rubric. Reply with one JSON object and "
    "nothing else: {\"reason\": \"<one sentence>\", \"pass\": true or false, "
    "\"score\": <a number from 0 to 1>}.",
    "Rubric:\n{{value}}\n\nAnswer:\n{{output}}",
    REPLY_JSON_SCORE,
    "satisfy the rubric",
};

static const graded_kind closedqa_kind = {
    NULL,
    "You are assessing a submitted answer on a given task based on a "
    "criterion.\n[Task]: {{question}}\n[Submission]: {{output}}\n"
    "[Criterion]: {{value}}\nDoes the submission meet the criterion? Reason "
    "step by step, then write Y or N alone on the last line.",
    REPLY_YES_NO,
    "meet the criterion",
};

static const graded_kind factuality_kind = {
    NULL,
    "You are comparing a submitted answer with an expert answer to a "
    "question.\n[Question]: {{question}}\n[Expert]: {{value}}\n"
    "[Submission]: {{output}}\nCompare the factual content of the submission "
    "with the expert answer; ignore style, grammar and punctuation. The "
    "submission is:\n(A) a subset of the expert answer and fully consistent "
    "with it\n(B) a superset of the expert answer and fully consistent with "
    "it\n(C) the same in every detail as the expert answer\n(D) in "
    "disagreement with the expert answer\n(E) different from the expert "
    "answer, but the differences do not matter for factuality\nReason "
    "briefly, then write the letter of your choice alone on the last line.",
    REPLY_LETTER,
    "agree with the expert answer",
};

static const graded_kind geval_kind = {
    "You evaluate an answer on stated criteria. Think about each criterion, "
    "then reply with one JSON object and nothing else: {\"reason\": \"<one "
    "sentence>\", \"score\": <a whole number from 1 (worst) to 10 (best)>}.",
    "Criteria:\n{{value}}\n\nQuestion:\n{{question}}\n\nAnswer:\n{{output}}",
    REPLY_JSON_TEN,
    "meet the criteria",
};

static const graded_kind relevance_kind = {
    "You judge how well an answer addresses a question: 1 when it answers "
    "exactly what was asked, 0 when it is unrelated. " JSON_SCORE_RULE,
    "Question:\n{{question}}\n\nAnswer:\n{{output}}",
    REPLY_JSON_SCORE,
    "address the question",
};

static const graded_kind faithfulness_kind = {
    "You check an answer against a context. Split the answer into its "
    "claims; the score is the fraction of claims the context supports. "
    JSON_SCORE_RULE,
    "Context:\n{{context}}\n\nQuestion:\n{{question}}\n\nAnswer:\n{{output}}",
    REPLY_JSON_SCORE,
    "be supported by the context",
};

static const graded_kind recall_kind = {
    "You check whether a context holds what an expected answer says. Split "
    "the expected answer into statements; the score is the fraction of them "
    "the context supports. " JSON_SCORE_RULE,
    "Context:\n{{context}}\n\nExpected answer:\n{{value}}",
    REPLY_JSON_SCORE,
    "have a context that holds the expected answer",
};

static const graded_kind context_relevance_kind = {
    "You judge a retrieved context: the score is the fraction of its "
    "sentences that help answer the question. " JSON_SCORE_RULE,
    "Question:\n{{question}}\n\nContext:\n{{context}}",
    REPLY_JSON_SCORE,
    "have a context relevant to the question",
};

/* ------------------------------------------------------------ compile */

static void graded_free(void *state)
{
    graded_state *g = state;
    if (!g)
        return;
    assay__template_free(g->prompt);
    assay__template_free(g->question);
    assay__template_free(g->context);
    free(g);
}

static assay_status option_template(const assay__check_spec *spec,
                                    const char *key, assay__template **out,
                                    assay_error *err)
{
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(spec->options, key);
    if (!node)
        return ASSAY_OK;
    if (!cJSON_IsString(node))
        return assay__doc_error(spec->doc, node, false, err, ASSAY_ERR_CHECK,
                                "'%s' must be a text (a template)", key);
    int line = 0, col = 0;
    assay__doc_where(spec->doc, node, &line, &col);
    char where[600];
    snprintf(where, sizeof where, "%s:%d:%d", assay__doc_name(spec->doc),
             line, col);
    return assay__template_compile(node->valuestring, where, out, err);
}

static assay_status graded_compile(const graded_kind *kind,
                                   const assay__check_spec *spec,
                                   void **state, assay_error *err)
{
    graded_state *g = calloc(1, sizeof *g);
    if (!g)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    g->kind = kind;
    assay_status st = option_template(spec, "prompt", &g->prompt, err);
    g->custom = g->prompt != NULL;
    if (st == ASSAY_OK && !g->prompt)
        st = assay__template_compile(kind->user, "the grader's prompt",
                                     &g->prompt, err);
    if (st == ASSAY_OK)
        st = option_template(spec, "question", &g->question, err);
    if (st == ASSAY_OK)
        st = option_template(spec, "context", &g->context, err);
    if (st != ASSAY_OK) {
        graded_free(g);
        return st;
    }
    *state = g;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ ask */

/* `option` rendered, else the first of the case's fields that is text. */
static assay_status field_or_option(const assay__template *option,
                                    const assay__check_input *in,
                                    const char *const *fields, assay__buf *out,
                                    assay_error *err)
{
    if (option)
        return assay__template_render(option, in->vars, in->case_id, out, err);
    for (; *fields; fields++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(in->vars, *fields);
        if (cJSON_IsString(v))
            return assay__buf_puts(out, v->valuestring);
    }
    return ASSAY_OK;
}

static bool add_text(cJSON *vars, const char *key, const char *text,
                     size_t len)
{
    char *copy = strndup(text, len);
    cJSON *item = copy ? cJSON_CreateString(copy) : NULL;
    free(copy);
    if (!item)
        return false;
    cJSON_DeleteItemFromObjectCaseSensitive(vars, key);
    cJSON_AddItemToObject(vars, key, item);
    return true;
}

/* The case's fields plus output, value, question and context. */
static assay_status prompt_vars(const graded_state *g,
                                const assay__check_input *in, cJSON **out,
                                assay_error *err)
{
    static const char *const question_fields[] = {"question", "input", NULL};
    static const char *const context_fields[] = {"context", NULL};
    assay__buf question, context;
    assay__buf_init(&question, 0);
    assay__buf_init(&context, 0);
    assay_status st = field_or_option(g->question, in, question_fields,
                                      &question, err);
    if (st == ASSAY_OK)
        st = field_or_option(g->context, in, context_fields, &context, err);
    cJSON *vars = in->vars ? cJSON_Duplicate(in->vars, true)
                           : cJSON_CreateObject();
    if (st == ASSAY_OK &&
        (!vars || !add_text(vars, "output", in->output, in->output_len) ||
         !add_text(vars, "value", in->value, in->value_len) ||
         !add_text(vars, "question", question.data, question.len) ||
         !add_text(vars, "context", context.data, context.len)))
        st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    assay__buf_release(&question);
    assay__buf_release(&context);
    if (st != ASSAY_OK) {
        cJSON_Delete(vars);
        return st;
    }
    *out = vars;
    return ASSAY_OK;
}

static assay_status graded_ask(void *state, const assay__check_input *in,
                               assay__buf *system, assay__buf *user,
                               assay_error *err)
{
    const graded_state *g = state;
    cJSON *vars;
    assay_status st = prompt_vars(g, in, &vars, err);
    if (st != ASSAY_OK)
        return st;
    if (!g->custom && g->kind->system)
        st = assay__buf_puts(system, g->kind->system);
    if (st == ASSAY_OK)
        st = assay__template_render(g->prompt, vars, in->case_id, user, err);
    cJSON_Delete(vars);
    return st;
}

/* ------------------------------------------------------------ replies */

cJSON *assay__checks_first_object(const char *text, size_t len)
{
    int tries = 0;
    for (const char *p = memchr(text, '{', len); p && tries < 64;
         p = memchr(p + 1, '{', len - (size_t)(p + 1 - text)), tries++) {
        const char *end = NULL;
        cJSON *obj = cJSON_ParseWithLengthOpts(p, len - (size_t)(p - text),
                                               &end, false);
        if (cJSON_IsObject(obj))
            return obj;
        cJSON_Delete(obj);
        if ((size_t)(p + 1 - text) >= len)
            break;
    }
    return NULL;
}

/* The last line's first letter or word, upper-cased ("(B)." gives 'B'). */
static char last_line_letter(const char *text, size_t len)
{
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    size_t start = len;
    while (start && text[start - 1] != '\n')
        start--;
    for (size_t i = start; i < len; i++)
        if (isalpha((unsigned char)text[i]))
            return (char)toupper((unsigned char)text[i]);
    return 0;
}

static assay_status quote_reason(assay__buf *found, const cJSON *reply)
{
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(reply, "reason");
    if (!cJSON_IsString(reason))
        return ASSAY_OK;
    assay_status st = assay__buf_puts(found, ": ");
    return st == ASSAY_OK
               ? assay__text_excerpt(found, reason->valuestring,
                                     strlen(reason->valuestring), 200)
               : st;
}

static assay_status unreadable(const assay__check_input *in, const char *what,
                               assay_error *err)
{
    assay__buf excerpt;
    assay__buf_init(&excerpt, 0);
    assay__text_excerpt(&excerpt, in->grader_reply, in->grader_reply_len, 160);
    assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                 "the grader's reply is not %s: %s", what, excerpt.data);
    assay__buf_release(&excerpt);
    return ASSAY_ERR_CHECK;
}

static assay_status judge_json(const graded_state *g,
                               const assay__check_input *in,
                               assay__check_finding *out, assay_error *err)
{
    cJSON *reply = assay__checks_first_object(in->grader_reply,
                                             in->grader_reply_len);
    const cJSON *score = cJSON_GetObjectItemCaseSensitive(reply, "score");
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(reply, "pass");
    if (!reply || (!cJSON_IsNumber(score) && !cJSON_IsBool(pass))) {
        cJSON_Delete(reply);
        return unreadable(in, "a JSON object with a score", err);
    }
    double s = cJSON_IsNumber(score) ? score->valuedouble
                                     : (cJSON_IsTrue(pass) ? 1 : 0);
    if (g->kind->reply == REPLY_JSON_TEN)
        s = (s - 1) / 9; /* 1..10 onto 0..1 */
    out->score = s;
    out->pass = cJSON_IsBool(pass) ? cJSON_IsTrue(pass) : s >= 0.5;
    assay_status st = assay__buf_printf(out->found, "the grader's score %.2f",
                                        out->score < 0   ? 0
                                        : out->score > 1 ? 1
                                                         : out->score);
    if (st == ASSAY_OK)
        st = quote_reason(out->found, reply);
    cJSON_Delete(reply);
    return st;
}

static assay_status judge_letter(const graded_state *g,
                                 const assay__check_input *in,
                                 assay__check_finding *out, assay_error *err)
{
    char c = last_line_letter(in->grader_reply, in->grader_reply_len);
    bool yes_no = g->kind->reply == REPLY_YES_NO;
    if (yes_no ? (c != 'Y' && c != 'N') : (c < 'A' || c > 'E'))
        return unreadable(in, yes_no ? "Y or N on its last line"
                                     : "a letter from A to E on its last line",
                          err);
    out->pass = yes_no ? c == 'Y' : c != 'D';
    out->score = out->pass ? 1 : 0;
    return assay__buf_printf(out->found, "the grader's verdict %c", c);
}

static assay_status graded_run(void *state, const assay__check_input *in,
                               assay__check_finding *out, assay_error *err)
{
    const graded_state *g = state;
    if (!in->grader_reply)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "a model-graded check needs its grader's reply");
    assay_status st = assay__buf_puts(out->want, g->kind->want);
    if (st == ASSAY_OK && in->value_len) {
        st = assay__buf_putc(out->want, ' ');
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->want, in->value, in->value_len, 80);
    }
    if (st != ASSAY_OK)
        return st;
    if (g->kind->reply == REPLY_JSON_SCORE || g->kind->reply == REPLY_JSON_TEN)
        return judge_json(g, in, out, err);
    return judge_letter(g, in, out, err);
}

/* ------------------------------------------------------------ families */

static const char *const graded_options[] = {"prompt", "question", "context",
                                             NULL};

#define GRADED_FAMILY(var, fname, kind_var, use, is_scored, threshold)        \
    static assay_status var##_compile(const assay__check_spec *spec,          \
                                      void **state, assay_error *err)         \
    {                                                                         \
        return graded_compile(&(kind_var), spec, state, err);                 \
    }                                                                         \
    const assay__check_family assay__checks_##var = {                         \
        .name = (fname),                                                      \
        .value_is_template = true,                                            \
        .value_use = (use),                                                   \
        .scored = (is_scored),                                                \
        .default_threshold = (threshold),                                     \
        .options = graded_options,                                            \
        .compile = var##_compile,                                             \
        .run = graded_run,                                                    \
        .free = graded_free,                                                  \
        .ask = graded_ask,                                                    \
    }

GRADED_FAMILY(llm_rubric, "llm-rubric", rubric_kind, ASSAY__VALUE_REQUIRED,
              true, 0.5);
GRADED_FAMILY(closedqa, "model-graded-closedqa", closedqa_kind,
              ASSAY__VALUE_REQUIRED, false, 0);
GRADED_FAMILY(factuality, "factuality", factuality_kind,
              ASSAY__VALUE_REQUIRED, false, 0);
GRADED_FAMILY(g_eval, "g-eval", geval_kind, ASSAY__VALUE_REQUIRED, true, 0.7);
GRADED_FAMILY(answer_relevance, "answer-relevance", relevance_kind,
              ASSAY__VALUE_OPTIONAL, true, 0.7);
GRADED_FAMILY(context_faithfulness, "context-faithfulness", faithfulness_kind,
              ASSAY__VALUE_OPTIONAL, true, 0.7);
GRADED_FAMILY(context_recall, "context-recall", recall_kind,
              ASSAY__VALUE_REQUIRED, true, 0.7);
GRADED_FAMILY(context_relevance, "context-relevance", context_relevance_kind,
              ASSAY__VALUE_OPTIONAL, true, 0.7);
