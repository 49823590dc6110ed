/*
 * prompt.c - one prompt variant rendered for one case: the message list a
 * request sends.
 *
 * A prompt is either the suite's message templates, rendered with the
 * case's fields, or (when the suite gives none) the case's own `input`: a
 * text, sent as one user message, or a list of {role, content} messages as
 * OpenAI-evals samples hold them; the suite's few-shot messages then go
 * after the case's leading system messages. The buffers are kept from case
 * to case, so that rendering allocates only while they grow.
 *
 * What it does not do: build the request body (openai.c) or decide which
 * prompts a run sends (run.c loops over them).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void assay__rendered_init(assay__rendered *r)
{
    memset(r, 0, sizeof *r);
}

void assay__rendered_release(assay__rendered *r)
{
    for (size_t i = 0; i < r->cap; i++)
        assay__buf_release(&r->contents[i]);
    free(r->contents);
    free(r->roles);
    memset(r, 0, sizeof *r);
}

/* Room for `n` messages. */
static bool reserve(assay__rendered *r, size_t n)
{
    if (n <= r->cap)
        return true;
    assay__buf *c = realloc(r->contents, n * sizeof *c);
    if (!c)
        return false;
    r->contents = c;
    const char **roles = realloc(r->roles, n * sizeof *roles);
    if (!roles)
        return false;
    r->roles = roles;
    for (size_t i = r->cap; i < n; i++)
        assay__buf_init(&r->contents[i], 0);
    r->cap = n;
    return true;
}

static bool is_role(const char *s)
{
    return !strcmp(s, "system") || !strcmp(s, "user") ||
           !strcmp(s, "assistant") || !strcmp(s, "developer");
}

/* Copies message `m` of a case's `input` list into slot `k` of `out`. */
static assay_status case_message(const assay__case *c, const cJSON *m,
                                 size_t i, assay__rendered *out, size_t k,
                                 assay_error *err)
{
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!cJSON_IsString(role) || !is_role(role->valuestring) ||
        !cJSON_IsString(content))
        return assay__error(err, ASSAY_ERR_TEMPLATE, NULL, 0, 0,
                            "case '%s': message %zu of 'input' must be "
                            "{role: system|user|assistant, content: text}",
                            c->id, i + 1);
    out->roles[k] = role->valuestring;
    return assay__buf_puts(&out->contents[k], content->valuestring);
}

/* The prompt's few-shot messages (rendered once at load) into `out`. */
static assay_status put_shots(const assay__prompt *p, const assay__case *c,
                              assay__rendered *out, size_t k,
                              assay_error *err)
{
    for (size_t i = 0; i < p->n_messages; i++) {
        out->roles[k + i] = p->messages[i].role;
        assay_status st = assay__template_render(
            p->messages[i].content, c->vars, c->id, &out->contents[k + i],
            err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static bool is_system(const cJSON *m)
{
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    return cJSON_IsString(role) && (!strcmp(role->valuestring, "system") ||
                                    !strcmp(role->valuestring, "developer"));
}

/*
 * The case's own `input`, with the prompt's few-shot messages (the suite's
 * `fewshot` as user/assistant pairs) after its leading system messages.
 */
static assay_status from_case(const assay__prompt *p, const assay__case *c,
                              assay__rendered *out, assay_error *err)
{
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(c->vars, "input");
    if (!input)
        return assay__error(err, ASSAY_ERR_TEMPLATE, NULL, 0, 0,
                            "case '%s': nothing to send: the suite has no "
                            "'prompt' and the case no 'input' (give the "
                            "suite a prompt, or map a field to input)",
                            c->id);
    bool text = cJSON_IsString(input);
    size_t n = text ? 1 : (size_t)cJSON_GetArraySize(input);
    if (!text && (!cJSON_IsArray(input) || n == 0))
        return assay__error(err, ASSAY_ERR_TEMPLATE, NULL, 0, 0,
                            "case '%s': 'input' must be a text or a "
                            "non-empty list of {role, content} messages",
                            c->id);
    if (!reserve(out, n + p->n_messages))
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    out->n = n + p->n_messages;
    if (text) {
        out->roles[p->n_messages] = "user";
        assay_status st = put_shots(p, c, out, 0, err);
        return st == ASSAY_OK ? assay__buf_puts(&out->contents[p->n_messages],
                                                input->valuestring)
                              : st;
    }
    size_t i = 0, k = 0;
    const cJSON *m = input->child;
    for (; m && is_system(m); m = m->next, i++, k++) {
        assay_status st = case_message(c, m, i, out, k, err);
        if (st != ASSAY_OK)
            return st;
    }
    assay_status st = put_shots(p, c, out, k, err);
    for (k += p->n_messages; st == ASSAY_OK && m; m = m->next, i++, k++)
        st = case_message(c, m, i, out, k, err);
    return st;
}

assay_status assay__prompt_render(const assay__prompt *p, const assay__case *c,
                                  assay__rendered *out, assay_error *err)
{
    for (size_t i = 0; i < out->cap; i++)
        assay__buf_reset(&out->contents[i]);
    out->n = 0;
    if (p->from_case) {
        assay_status st = from_case(p, c, out, err);
        if (st == ASSAY_ERR_LIMIT || st == ASSAY_ERR_NOMEM)
            return assay__error(err, st, NULL, 0, 0,
                                "case '%s': the input is too large", c->id);
        return st;
    }
    if (!reserve(out, p->n_messages))
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < p->n_messages; i++) {
        out->roles[i] = p->messages[i].role;
        assay_status st = assay__template_render(
            p->messages[i].content, c->vars, c->id, &out->contents[i], err);
        if (st != ASSAY_OK)
            return st;
    }
    out->n = p->n_messages;
    return ASSAY_OK;
}
