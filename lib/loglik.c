/*
 * loglik.c - the requests and replies of log-likelihood multiple choice
 * (loglik-choice), over /completions with `echo`.
 *
 * lm-evaluation-harness scores a multiple-choice question by the
 * log-likelihood of each choice's continuation after the context: it
 * sends context + continuation with `echo: true`, `logprobs` and a token
 * or none to generate, and sums the logprobs of the continuation's
 * tokens. Here one request per case carries every continuation, as a
 * list of prompts (the context is the case's prompt, the messages joined
 * as any /completions request joins them). The reply has one choice per
 * prompt: one object with `choices[i]` (OpenAI, vLLM), or from
 * llama-server a JSON array of completions. Each prompt's choice is kept,
 * with the prompt as sent, in the response's `choices`, for the checks
 * (checks/loglik.c) to find where each continuation starts.
 *
 * Servers that do not echo refuse the request (llama-server: 500
 * "Unsupported param: echo"); that error says so and points at the
 * estimate a chat endpoint allows, choice-logprob.
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ requests */

/* Request fields this request sets itself, or must not send. */
static const char *const owned_fields[] = {"model",
                                           "prompt",
                                           "messages",
                                           "echo",
                                           "logprobs",
                                           "max_tokens",
                                           "max_completion_tokens",
                                           "temperature",
                                           "n",
                                           "best_of",
                                           "stream",
                                           "stream_options",
                                           "top_logprobs",
                                           NULL};

static bool is_owned(const char *name)
{
    for (size_t i = 0; owned_fields[i]; i++)
        if (!strcmp(owned_fields[i], name))
            return true;
    return false;
}

static assay_status put_params(assay__buf *body, const cJSON *params)
{
    const cJSON *p;
    cJSON_ArrayForEach (p, params) {
        if (is_owned(p->string))
            continue;
        char *json = cJSON_PrintUnformatted(p);
        if (!json)
            return ASSAY_ERR_NOMEM;
        assay_status st = assay__buf_putc(body, ',');
        if (st == ASSAY_OK)
            st =
                assay__text_put_json_string(body, p->string, strlen(p->string));
        if (st == ASSAY_OK)
            st = assay__buf_putc(body, ':');
        if (st == ASSAY_OK)
            st = assay__buf_puts(body, json);
        cJSON_free(json);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* The first check of the suite or the case that scores log-likelihoods. */
static const assay__check *loglik_check(const assay_suite *s,
                                        const assay__case *c)
{
    for (size_t i = 0; i < s->n_checks; i++)
        if (assay__check_scores_loglik(s->checks[i]))
            return s->checks[i];
    for (size_t i = 0; i < c->n_checks; i++)
        if (assay__check_scores_loglik(c->checks[i]))
            return c->checks[i];
    return NULL;
}

/* One prompt of the list: the context, then continuation `cont`. */
static assay_status put_prompt(assay__buf *body, assay__buf *prompt,
                               const assay__buf *context, const char *cont)
{
    assay__buf_reset(prompt);
    assay_status st = assay__buf_append(prompt, context->data, context->len);
    if (st == ASSAY_OK)
        st = assay__buf_puts(prompt, cont);
    if (st == ASSAY_OK)
        st = assay__text_put_json_string(body, prompt->data, prompt->len);
    return st;
}

static assay_status put_body(assay__buf *body, const char *model,
                             const cJSON *params, const assay__buf *context,
                             const assay__buf *conts, size_t n)
{
    assay__buf prompt;
    assay__buf_init(&prompt, body->max);
    assay_status st = assay__buf_puts(body, "{\"model\":");
    if (st == ASSAY_OK)
        st = assay__text_put_json_string(body, model, strlen(model));
    if (st == ASSAY_OK)
        st = assay__buf_puts(body, ",\"prompt\":[");
    const char *cont = conts->data;
    for (size_t i = 0; st == ASSAY_OK && i < n; i++) {
        if (i)
            st = assay__buf_putc(body, ',');
        if (st == ASSAY_OK)
            st = put_prompt(body, &prompt, context, cont);
        cont += strlen(cont) + 1;
    }
    if (st == ASSAY_OK)
        st = assay__buf_putc(body, ']');
    if (st == ASSAY_OK && params)
        st = put_params(body, params);
    if (st == ASSAY_OK)
        st = assay__buf_puts(body, ",\"echo\":true,\"logprobs\":1,"
                                   "\"max_tokens\":1,\"temperature\":0}");
    assay__buf_release(&prompt);
    return st;
}

assay_status assay__loglik_request(const assay_suite *s, const assay__case *c,
                                   const char *model, const cJSON *params,
                                   const assay__buf *contents,
                                   size_t n_messages, assay__buf *body,
                                   bool *built, assay_error *err)
{
    *built = false;
    const assay__check *check = loglik_check(s, c);
    if (!check)
        return ASSAY_OK;
    assay__buf conts, context;
    assay__buf_init(&conts, 0);
    assay__buf_init(&context, 0);
    size_t n;
    assay_status st =
        assay__check_continuations(check, c->vars, c->id, &conts, &n, err);
    if (st != ASSAY_OK) {
        assay__buf_release(&conts);
        return st;
    }
    for (size_t i = 0; st == ASSAY_OK && i < n_messages; i++) {
        if (i)
            st = assay__buf_puts(&context, "\n\n");
        if (st == ASSAY_OK)
            st = assay__buf_append(&context, contents[i].data, contents[i].len);
    }
    if (st == ASSAY_OK)
        st = put_body(body, model, params, &context, &conts, n);
    assay__buf_release(&conts);
    assay__buf_release(&context);
    if (st != ASSAY_OK)
        return assay__error(err, st, NULL, 0, 0,
                            "cannot build the log-likelihood request of "
                            "case '%s': %s",
                            c->id, assay_strerror(st));
    *built = true;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ replies */

static bool mentions(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == word[i])
            i++;
        if (i == n)
            return true;
    }
    return false;
}

/*
 * A refusal of `echo` (or, with a 4xx, of `logprobs`) means the server
 * cannot score log-likelihoods at all: the error says that, not only the
 * server's words.
 */
static void explain_refusal(long status, assay_error *err)
{
    if (!err || status < 400)
        return;
    if (!mentions(err->message, "echo") &&
        !(status < 500 && mentions(err->message, "logprobs")))
        return;
    char said[sizeof err->message];
    memcpy(said, err->message, sizeof said);
    assay__error(err, err->status, NULL, 0, 0,
                 "the server does not support echo log-likelihoods (%s): "
                 "loglik-choice needs a /completions endpoint that returns "
                 "the prompt's logprobs with `echo` (vLLM does, llama-server "
                 "does not); on a chat endpoint, estimate the choice from "
                 "the first token's top_logprobs with choice-logprob",
                 said);
}

/* Adds another completion's token counts to the reply's. */
static void add_usage(assay__response *out, const cJSON *completion)
{
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(completion, "usage");
    long *fields[] = {&out->prompt_tokens, &out->completion_tokens,
                      &out->total_tokens};
    const char *names[] = {"prompt_tokens", "completion_tokens",
                           "total_tokens"};
    for (size_t i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, names[i]);
        if (*fields[i] >= 0 && cJSON_IsNumber(v) && v->valuedouble >= 0 &&
            v->valuedouble < 1e15)
            *fields[i] += (long)v->valuedouble;
        else
            *fields[i] = -1;
    }
}

/* One prompt's entry: {prompt, text, logprobs}. */
static cJSON *entry_of(const cJSON *prompt, const cJSON *choice)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(choice, "text");
    const cJSON *logprobs =
        cJSON_GetObjectItemCaseSensitive(choice, "logprobs");
    cJSON *e = cJSON_CreateObject();
    cJSON *lp = logprobs ? cJSON_Duplicate(logprobs, true) : cJSON_CreateNull();
    if (!e || !lp || !cJSON_AddItemToObject(e, "logprobs", lp)) {
        cJSON_Delete(lp);
        cJSON_Delete(e);
        return NULL;
    }
    bool ok = cJSON_IsString(prompt)
                  ? cJSON_AddStringToObject(e, "prompt", prompt->valuestring)
                  : cJSON_AddNullToObject(e, "prompt");
    ok = ok && (cJSON_IsString(text)
                    ? cJSON_AddStringToObject(e, "text", text->valuestring)
                    : cJSON_AddNullToObject(e, "text"));
    if (!ok) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

/* Puts the choices of one completion object where their index says. */
static assay_status place_choices(const cJSON *completion, const cJSON *prompts,
                                  cJSON *slots, size_t *position)
{
    int n = cJSON_GetArraySize(slots);
    const cJSON *choice;
    cJSON_ArrayForEach (
        choice, cJSON_GetObjectItemCaseSensitive(completion, "choices")) {
        const cJSON *index = cJSON_GetObjectItemCaseSensitive(choice, "index");
        double at =
            cJSON_IsNumber(index) ? index->valuedouble : (double)*position;
        ++*position;
        if (!(at >= 0 && at < n))
            continue; /* no prompt of ours; the check finds it missing */
        cJSON *e = entry_of(cJSON_GetArrayItem(prompts, (int)at), choice);
        if (!e || !cJSON_ReplaceItemInArray(slots, (int)at, e)) {
            cJSON_Delete(e);
            return ASSAY_ERR_NOMEM;
        }
    }
    return ASSAY_OK;
}

/* out->choices: one slot per prompt of the request, filled from `root`. */
static assay_status collect(const cJSON *root, const char *request,
                            size_t request_len, assay__response *out)
{
    cJSON *req = cJSON_ParseWithLength(request, request_len);
    const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(req, "prompt");
    int n = cJSON_IsArray(prompts) ? cJSON_GetArraySize(prompts) : 0;
    assay_status st =
        (out->choices = cJSON_CreateArray()) ? ASSAY_OK : ASSAY_ERR_NOMEM;
    for (int i = 0; st == ASSAY_OK && i < n; i++) {
        cJSON *slot = cJSON_CreateNull();
        if (!slot || !cJSON_AddItemToArray(out->choices, slot)) {
            cJSON_Delete(slot);
            st = ASSAY_ERR_NOMEM;
        }
    }
    size_t position = 0;
    if (st == ASSAY_OK && cJSON_IsArray(root)) {
        const cJSON *completion;
        cJSON_ArrayForEach (completion, root) {
            st = place_choices(completion, prompts, out->choices, &position);
            if (st != ASSAY_OK)
                break;
        }
    } else if (st == ASSAY_OK) {
        st = place_choices(root, prompts, out->choices, &position);
    }
    cJSON_Delete(req);
    return st;
}

/* llama-server's answer to a list of prompts: the first completion is the
   reply; the others add their token counts. */
static assay_status parse_list(long status, const cJSON *root,
                               assay__response *out, assay_error *err)
{
    char *first = cJSON_PrintUnformatted(cJSON_GetArrayItem(root, 0));
    if (!first)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory reading a reply");
    assay_status st =
        assay__openai_parse_chat(status, first, strlen(first), out, err);
    cJSON_free(first);
    for (const cJSON *c = root->child ? root->child->next : NULL;
         st == ASSAY_OK && c; c = c->next)
        add_usage(out, c);
    return st;
}

assay_status assay__loglik_parse(const char *request, size_t request_len,
                                 long http_status, const char *body, size_t len,
                                 assay__response *out, assay_error *err)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    bool ok = http_status >= 200 && http_status <= 299;
    assay_status st =
        ok && cJSON_IsArray(root) && cJSON_IsObject(cJSON_GetArrayItem(root, 0))
            ? parse_list(http_status, root, out, err)
            : assay__openai_parse_chat(http_status, body, len, out, err);
    if (st != ASSAY_OK)
        explain_refusal(http_status, err);
    else if (collect(root, request, request_len, out) != ASSAY_OK)
        st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                          "out of memory reading a reply");
    cJSON_Delete(root);
    return st;
}

/* ------------------------------------------------------------ suites */

assay_status assay__loglik_validate(const assay_suite *s, const cJSON *targets,
                                    assay_error *err)
{
    const assay__check *check = NULL;
    for (size_t i = 0; i < s->n_checks && !check; i++)
        if (assay__check_scores_loglik(s->checks[i]))
            check = s->checks[i];
    if (!check)
        return ASSAY_OK;
    const char *type = assay__check_type(check);
    for (size_t i = 0; i < s->n_targets; i++) {
        const assay__target *t = &s->targets[i];
        const cJSON *node = cJSON_GetArrayItem(targets, (int)i);
        if (t->output_field || t->echo ||
            t->conn.endpoint != ASSAY__ENDPOINT_COMPLETIONS)
            return assay__doc_error(
                s->doc, node, false, err, ASSAY_ERR_SUITE,
                "check '%s' scores log-likelihoods over /completions, and "
                "target '%s' is not a completions target: give it "
                "`endpoint: completions` (a server that echoes the prompt's "
                "logprobs, as vLLM does), or score a chat endpoint with "
                "choice-logprob, the estimate from the first token's "
                "top_logprobs",
                type, t->name);
    }
    return ASSAY_OK;
}
