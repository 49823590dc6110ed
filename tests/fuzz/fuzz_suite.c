/*
 * fuzz_suite.c - fuzzes suite files (YAML and JSON) as far as they can be
 * read from memory: the document parser with its positions (yaml.c), and
 * the parts of a suite that the loader hands to other files: `gates:`
 * (gates.c), `checks:` and `defaults.checks` (check.c and every check
 * family), the templates of `prompt:` and `prompts:` (template.c), and
 * inline `cases:` (dataset.c), whose cases are then rendered and scored
 * (model-graded checks with the rendering as their grader's reply). No
 * `exec` check is allowed, as in a suite without `allow_exec`, and any
 * program start aborts (fuzz_input.c).
 *
 * What it does not reach: suite.c's own loader, which reads a path and
 * resolves `file:` references and dataset paths on the disk. Feeding it
 * fuzzed paths would read whatever files they name; its checks of the
 * tree's shape are covered by the unit and end-to-end tests instead.
 */
#include "fuzz.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define MAX_TEMPLATES 16
#define MAX_CHECKS 16
#define MAX_CASES 16
#define MAX_POSITIONS 4096
#define OUTPUT_MAX ((size_t)1 << 20)

typedef struct suite_parts {
    assay__template *templates[MAX_TEMPLATES];
    size_t n_templates;
    assay__check *checks[MAX_CHECKS];
    size_t n_checks;
} suite_parts;

/* Asks for the place of every node, as an error message would. */
static void walk_positions(const assay__doc *doc, const cJSON *node,
                           size_t *budget)
{
    for (; node && *budget > 0; node = node->next, (*budget)--) {
        int line, col;
        assay__doc_where(doc, node, &line, &col);
        assay__doc_where_key(doc, node, &line, &col);
        walk_positions(doc, node->child, budget);
    }
}

/* Every string in a `prompt:` or `prompts:` node is a template. */
static void compile_templates(const assay__doc *doc, const cJSON *node,
                              suite_parts *p)
{
    if (!node || p->n_templates == MAX_TEMPLATES)
        return;
    if (cJSON_IsString(node)) {
        char where[64];
        int line = 0, col = 0;
        assay__doc_where(doc, node, &line, &col);
        snprintf(where, sizeof where, "suite.yaml:%d:%d", line, col);
        assay_error err;
        assay__template *t = NULL;
        if (assay__template_compile(node->valuestring, where, &t, &err) ==
            ASSAY_OK)
            p->templates[p->n_templates++] = t;
        return;
    }
    for (const cJSON *child = node->child; child; child = child->next)
        compile_templates(doc, child, p);
}

static void compile_checks(const assay__doc *doc, const cJSON *list,
                           suite_parts *p)
{
    if (!cJSON_IsArray(list))
        return;
    const cJSON *spec;
    cJSON_ArrayForEach(spec, list) {
        if (p->n_checks == MAX_CHECKS)
            return;
        assay_error err;
        assay__check *c = NULL;
        if (assay__check_compile(doc, spec, &c, &err) == ASSAY_OK)
            p->checks[p->n_checks++] = c;
    }
}

static void read_gates(const assay__doc *doc, const cJSON *node)
{
    assay__gates g, back;
    assay_error err;
    if (assay__gates_parse(doc, node, &g, &err) != ASSAY_OK)
        return;
    cJSON *json = assay__gates_to_json(&g);
    assay__gates_from_json(json, &back);
    cJSON_Delete(json);
}

/*
 * Renders the prompt templates for a case and scores the last rendering,
 * which also stands for the server's reply body: read as a completion, it
 * gives the tool-call, token and finish-reason checks something to read.
 */
static void run_case(const suite_parts *p, const assay__case *c)
{
    assay__buf out;
    assay__response reply;
    assay_error err;
    assay__buf_init(&out, OUTPUT_MAX);
    assay__response_init(&reply);
    for (size_t i = 0; i < p->n_templates; i++) {
        assay__buf_reset(&out);
        assay__template_render(p->templates[i], c->vars, c->id, &out, &err);
    }
    bool parsed = assay__openai_parse_chat(200, out.data, out.len, &reply,
                                           &err) == ASSAY_OK;
    for (size_t i = 0; i < p->n_checks; i++)
        fuzz_score(p->checks[i], out.data, out.len, c->vars, c->id,
                   parsed ? &reply : NULL);
    fuzz_run_case_checks(c, out.data, out.len);
    assay__response_release(&reply);
    assay__buf_release(&out);
}

static void run_cases(const assay__doc *doc, const cJSON *cases,
                      const suite_parts *p)
{
    assay__dataset *d = NULL;
    assay_error err;
    if (!cJSON_IsArray(cases) ||
        assay__dataset_open_inline(doc, cases, &d, &err) != ASSAY_OK)
        return;
    assay__case *c = NULL;
    for (int n = 0; n < MAX_CASES &&
                    assay__dataset_next(d, &c, &err) == ASSAY_OK && c;
         n++) {
        run_case(p, c);
        assay__case_unref(c);
    }
    assay__dataset_free(d);
}

static void read_suite(const assay__doc *doc, const cJSON *root)
{
    suite_parts p = {.n_templates = 0};
    const cJSON *defaults = cJSON_GetObjectItemCaseSensitive(root, "defaults");
    read_gates(doc, cJSON_GetObjectItemCaseSensitive(root, "gates"));
    compile_checks(doc, cJSON_GetObjectItemCaseSensitive(defaults, "checks"),
                   &p);
    compile_checks(doc, cJSON_GetObjectItemCaseSensitive(root, "checks"), &p);
    compile_templates(doc, cJSON_GetObjectItemCaseSensitive(root, "prompt"),
                      &p);
    compile_templates(doc, cJSON_GetObjectItemCaseSensitive(root, "prompts"),
                      &p);
    run_cases(doc, cJSON_GetObjectItemCaseSensitive(root, "cases"), &p);
    for (size_t i = 0; i < p.n_templates; i++)
        assay__template_free(p.templates[i]);
    for (size_t i = 0; i < p.n_checks; i++)
        assay__check_free(p.checks[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    assay__doc *doc = NULL;
    assay_error err;
    if (assay__doc_parse("suite.yaml", (const char *)data, size, &doc, &err) !=
        ASSAY_OK)
        return 0;
    const cJSON *root = assay__doc_root(doc);
    size_t budget = MAX_POSITIONS;
    walk_positions(doc, root, &budget);
    if (cJSON_IsObject(root))
        read_suite(doc, root);
    assay__doc_free(doc);
    return 0;
}
