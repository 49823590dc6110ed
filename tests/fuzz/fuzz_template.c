/*
 * fuzz_template.c - fuzzes the prompt templates (template.c): compiling,
 * and rendering against a case.
 *
 * The input is the template text, then optionally a NUL byte and the
 * case's fields as JSON; without them (or when they are not JSON) a fixed
 * case with a string, a number, an array and an object stands in. Two
 * promises of internal.h are checked, and their breach aborts: a failed
 * render leaves the output as it was, and a literal template renders to
 * its text exactly. The output is capped at 1 MiB, so a loop that
 * multiplies text stops at the cap with an error.
 */
#include "fuzz.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTPUT_MAX ((size_t)1 << 20)
#define PREFIX "before|"

static const char default_case[] =
    "{\"name\": \"Ada\", \"n\": 3, \"ok\": true, \"none\": null,"
    " \"items\": [\"a\", \"b\", 1.5, {\"k\": \"v\"}],"
    " \"obj\": {\"x\": \"1\", \"y\": [2, 3]}}";

static void render(const assay__template *t, const cJSON *vars)
{
    assay__buf out;
    assay_error err;
    assay__buf_init(&out, OUTPUT_MAX);
    assay__buf_puts(&out, PREFIX);
    assay_status st = assay__template_render(t, vars, "case-1", &out, &err);
    if (st != ASSAY_OK &&
        (out.len != strlen(PREFIX) || strcmp(out.data, PREFIX))) {
        fprintf(stderr, "template: a failed render changed the output "
                "(%zu bytes)\n", out.len);
        abort();
    }
    assay__buf_release(&out);
}

static void check_literal(const char *text, size_t len)
{
    assay__template *t = NULL;
    assay_error err;
    if (assay__template_literal(text, len, &t, &err) != ASSAY_OK)
        return;
    assay__buf out;
    assay__buf_init(&out, OUTPUT_MAX);
    assay_status st = assay__template_render(t, NULL, "case-1", &out, &err);
    if (st == ASSAY_OK && (out.len != len || memcmp(out.data, text, len))) {
        fprintf(stderr, "template: a literal of %zu bytes rendered as %zu "
                "other bytes\n", len, out.len);
        abort();
    }
    assay__buf_release(&out);
    assay__template_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *head, *tail;
    size_t head_len, tail_len;
    fuzz_split(data, size, &head, &head_len, &tail, &tail_len);
    char *text = fuzz_strndup(head, head_len);

    cJSON *vars = tail ? cJSON_ParseWithLength((const char *)tail, tail_len)
                       : NULL;
    if (!vars)
        vars = cJSON_Parse(default_case);

    assay__template *t = NULL;
    assay_error err;
    if (assay__template_compile(text, "fuzz.yaml:1:1", &t, &err) == ASSAY_OK) {
        render(t, vars);
        if (assay__template_is_constant(t))
            render(t, NULL);
        assay__template_free(t);
    }
    check_literal(text, head_len);

    cJSON_Delete(vars);
    free(text);
    return 0;
}
