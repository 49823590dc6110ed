/*
 * prompt.c - one prompt variant rendered for one case: the message list a
 * request sends.
 *
 * A prompt is either the suite's message templates, rendered with the
 * case's fields, or (when the suite gives none) the case's own `input`: a
 * text, sent as one user message, or a list of {role, content} messages as
 * OpenAI-evals samples hold them. The buffers are kept from case to case,
 * so that rendering allocates only while they grow.
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

static assay_status from_case(const assay__case *c, assay__rendered *out,
                              assay_error *err)
{
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(c->vars, "input");
    if (!input)
        return assay__error(err, ASSAY_ERR_TEMPLATE, NULL, 0, 0,
                            "case '%s': nothing to send: the suite has no "
                            "'prompt' and the case no 'input' (give the "
                            "suite a prompt, or map a field to input)",
                            c->id);
    if (cJSON_IsString(input)) {
        if (!reserve(out, 1))
            return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                "out of memory");
        out->roles[0] = "user";
        out->n = 1;
        return assay__buf_puts(&out->contents[0], input->valuestring);
    }
    size_t n = (size_t)cJSON_GetArraySize(input);
    if (!cJSON_IsArray(input) || n == 0)
        return assay__error(err, ASSAY_ERR_TEMPLATE, NULL, 0, 0,
                            "case '%s': 'input' must be a text or a "
                            "non-empty list of {role, content} messages",
                            c->id);
    if (!reserve(out, n))
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, input)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsString(role) || !is_role(role->valuestring) ||
            !cJSON_IsString(content))
            return assay__error(err, ASSAY_ERR_TEMPLATE, NULL, 0, 0,
                                "case '%s': message %zu of 'input' must be "
                                "{role: system|user|assistant, content: "
                                "text}",
                                c->id, i + 1);
        out->roles[i] = role->valuestring;
        assay_status st = assay__buf_puts(&out->contents[i],
                                          content->valuestring);
        if (st != ASSAY_OK)
            return st;
        i++;
    }
    out->n = n;
    return ASSAY_OK;
}

assay_status assay__prompt_render(const assay__prompt *p, const assay__case *c,
                                  assay__rendered *out, assay_error *err)
{
    for (size_t i = 0; i < out->cap; i++)
        assay__buf_reset(&out->contents[i]);
    out->n = 0;
    if (p->from_case) {
        assay_status st = from_case(c, out, err);
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
