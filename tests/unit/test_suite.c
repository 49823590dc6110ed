/*
 * test_suite.c - loading suites: the fields, their defaults, and an error
 * at the right line and column for each kind of mistake.
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef SHARED_DIR
#define SHARED_DIR "../shared"
#endif
#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

static void test_basic_suite(void **state)
{
    (void)state;
    assay_suite *s;
    assay_error err;
    assert_int_equal(assay_suite_load(SOURCE_ROOT "/tests/cli/cases/basic.yaml",
                                      &s, &err),
                     ASSAY_OK);
    assert_string_equal(assay_suite_name(s), "basic");
    assert_int_equal(assay_suite_target_count(s), 2);
    assert_string_equal(assay_suite_target_name(s, 0), "alpha");
    assert_string_equal(assay_suite_target_name(s, 1), "beta");
    assert_null(assay_suite_target_name(s, 2));
    assert_string_equal(s->targets[0].model, "model-a");
    assert_null(s->targets[0].base_url);
    assert_string_equal(s->targets[0].api_key_env, "OPENAI_API_KEY");
    assert_int_equal(cJSON_GetObjectItem(s->targets[0].params, "max_tokens")
                         ->valueint,
                     16);
    assert_int_equal(cJSON_GetArraySize(s->targets[1].params), 0);
    assert_int_equal(s->n_prompts, 1);
    assert_string_equal(s->prompts[0].name, "default");
    assert_int_equal(s->prompts[0].n_messages, 2);
    assert_string_equal(s->prompts[0].messages[0].role, "system");
    assert_true(assay__template_is_constant(s->prompts[0].messages[0].content));
    assert_false(
        assay__template_is_constant(s->prompts[0].messages[1].content));
    assert_int_equal(s->n_checks, 1);
    assert_string_equal(assay__check_type(s->checks[0]), "icontains");
    assert_non_null(s->dataset.inline_cases);
    assert_null(s->dataset.path);
    assert_int_equal(s->repeat, 1);
    assert_true(fabs(s->gates.pass_rate_min - 0.7) < 1e-12);
    assert_int_equal(strlen(s->config_hash), 64);
    assay_suite_free(s);
}

static void test_json_suite_resolves_dataset(void **state)
{
    (void)state;
    assay_suite *s;
    assay_error err;
    assert_int_equal(assay_suite_load(SOURCE_ROOT "/tests/cli/cases/basic.json",
                                      &s, &err),
                     ASSAY_OK);
    assert_string_equal(s->dataset.path,
                        SOURCE_ROOT "/tests/cli/cases/capitals.jsonl");
    assert_string_equal(s->prompts[0].messages[0].role, "user");
    assert_true(fabs(s->gates.pass_rate_min - 0.5) < 1e-12);
    assay_suite_free(s);
}

/* Loads `text` as a suite file and expects `message` after "FILE:". */
static void expect_error(const char *text, assay_status status,
                         const char *message)
{
    char path[] = "/tmp/assay-test-suite-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    assay_suite *s = (assay_suite *)1;
    assay_error err;
    assay_status st = assay_suite_load(path, &s, &err);
    unlink(path);
    assert_null(s);
    assert_int_equal(st, status);
    assert_string_equal(err.file, path);
    const char *after = err.message + strlen(path) + 1;
    if (message && strcmp(after, message))
        fail_msg("expected '%s'\n     got '%s'", message, after);
}

#define HEAD                                                                   \
    "targets:\n  - model: m\nprompt: \"{{q}}\"\ncases:\n  - {q: x}\n"

static void test_errors(void **state)
{
    (void)state;
    expect_error("- a\n- b\n", ASSAY_ERR_SUITE,
                 "1:1: a suite must be a mapping with 'targets', 'prompt', "
                 "'dataset' or 'cases', and 'checks'");
    expect_error(HEAD "checks:\n  - contains: x\nrepat: 2\n", ASSAY_ERR_SUITE,
                 "8:1: unknown key 'repat' in the suite (did you mean "
                 "'repeat'?)");
    expect_error(HEAD "checks:\n  - contains: x\nzzz: 2\n", ASSAY_ERR_SUITE,
                 "8:1: unknown key 'zzz' in the suite (expected one of: "
                 "name, description, targets, prompt, prompts, dataset, "
                 "cases, checks, defaults, fewshot, repeat, case_threshold, "
                 "grader, embedder, allow_exec, gates)");
    /* Every unknown key is named, and wins over what it caused. */
    expect_error("targets:\n  - {model: m, temprature: 0}\nprompt: x\n"
                 "cases: []\nchekcs: []\ndefault: {}\n",
                 ASSAY_ERR_SUITE,
                 "5:1: unknown key 'chekcs' in the suite (did you mean "
                 "'checks'?); 2 more unknown keys: 'default' at 6:1, "
                 "'temprature' at 2:16");
    expect_error("prompt: x\ncases: []\nchecks: [{contains: x}]\n",
                 ASSAY_ERR_SUITE,
                 "1:1: missing 'targets' (the models to evaluate)");
    expect_error("targets: []\n", ASSAY_ERR_SUITE,
                 "1:10: 'targets' must be a non-empty list");
    expect_error("targets:\n  - name: a\n", ASSAY_ERR_SUITE,
                 "2:5: missing 'model'");
    expect_error("targets:\n  - {model: m, modle: x}\n", ASSAY_ERR_SUITE,
                 "2:16: unknown key 'modle' in target (expected one of: name, "
                 "model, base_url, api_key_env, params, output, echo, "
                 "headers, azure, "
                 "rate_limit, endpoint, verify_tls, max_concurrency, extra)");
    expect_error("targets:\n  - model: a\n  - model: a\n", ASSAY_ERR_SUITE,
                 "3:5: two targets are named 'a'; give each a distinct "
                 "'name'");
    expect_error("targets:\n  - {model: m, params: {model: x}}\n",
                 ASSAY_ERR_SUITE,
                 "2:25: 'model' is set by the suite, not in 'params'");
    expect_error("targets:\n  - model: m\nprompt:\n  - sistem: hi\n",
                 ASSAY_ERR_SUITE,
                 "4:5: a message is {system|user|assistant: text} or {role: "
                 "..., content: text}");
    expect_error("targets:\n  - model: m\nprompt: \"{{q\"\n", ASSAY_ERR_TEMPLATE,
                 NULL);
    expect_error("targets:\n  - model: m\nprompt: x\n"
                 "dataset: {path: d.jsonl, format: xml}\n",
                 ASSAY_ERR_SUITE, "4:34: 'format' is jsonl, csv or json");
    expect_error(HEAD "dataset: d.jsonl\n", ASSAY_ERR_SUITE,
                 "4:1: give either 'dataset' or 'cases', not both");
    expect_error(HEAD "prompts: [a]\n", ASSAY_ERR_SUITE,
                 "6:1: give either 'prompt' or 'prompts', not both");
    expect_error("targets:\n  - model: m\nprompts: [a, {name: prompt-1, "
                 "prompt: b}]\ncases: []\n",
                 ASSAY_ERR_SUITE,
                 "3:14: two prompts are named 'prompt-1'; give each a "
                 "distinct 'name'");
    expect_error(HEAD "defaults: {params: {messages: []}}\n", ASSAY_ERR_SUITE,
                 "6:21: 'messages' is set by the suite, not in 'params'");
    expect_error("targets:\n  - model: m\nprompt: file:nowhere.txt\n"
                 "cases: []\n",
                 ASSAY_ERR_SUITE, NULL);
    expect_error(HEAD "fewshot: {k: 2}\n", ASSAY_ERR_SUITE,
                 "6:10: missing 'from' (the dataset of solved examples)");
    expect_error(HEAD "checks:\n  - contains: x\nrepeat: 0\n", ASSAY_ERR_SUITE,
                 "8:9: 'repeat' must be a whole number from 1 to 100000");
    expect_error(HEAD "checks:\n  - contains: x\ngates:\n  pass_rat: 0.9\n",
                 ASSAY_ERR_SUITE, NULL); /* gates.c words the rest */
    expect_error(HEAD "checks:\n  - contains: x\ngates:\n  pass_rate: {min: 2}\n",
                 ASSAY_ERR_SUITE, "9:20: expected a number from 0 to 1");
}

static void test_missing_file(void **state)
{
    (void)state;
    assay_suite *s;
    assay_error err;
    assert_int_equal(assay_suite_load("/nonexistent.yaml", &s, &err),
                     ASSAY_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err.message, "/nonexistent.yaml"));
    assert_int_equal(assay_suite_load(NULL, &s, &err), ASSAY_ERR_INVALID);
    assay_suite_free(NULL);
}


/* ------------------------------------------------------------ features */

static char dir[64];

/* Writes `text` to `name` in the test's folder; the path in a static. */
static const char *put(const char *name, const char *text)
{
    static char paths[8][256];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, sizeof paths[0], "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/assay-test-suite-dir-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    const char *names[] = {"s.yaml", "p.txt", "m.yaml", "r.txt", "d.jsonl",
                           "shots.jsonl"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    return rmdir(dir);
}

static assay_suite *load_ok(const char *path, assay_env_fn env)
{
    assay_suite *s;
    assay_error err;
    if (assay_suite_load_env(path, env, NULL, &s, &err) != ASSAY_OK)
        fail_msg("%s", err.message);
    return s;
}

/* Renders message `m` of prompt `p` for `vars_json`. */
static void renders(const assay_suite *s, size_t p, size_t m,
                    const char *vars_json, const char *want)
{
    assay__case c = {.vars = cJSON_Parse(vars_json), .id = "c1", .refs = 1};
    assay__rendered r;
    assay__rendered_init(&r);
    assay_error err;
    if (assay__prompt_render(&s->prompts[p], &c, &r, &err) != ASSAY_OK)
        fail_msg("%s", err.message);
    assert_true(m < r.n);
    assert_string_equal(r.contents[m].data, want);
    assay__rendered_release(&r);
    cJSON_Delete(c.vars);
}

static void test_prompt_variants_and_defaults(void **state)
{
    (void)state;
    const char *path = put("s.yaml",
                           "targets:\n"
                           "  - {name: cold, model: m, params: {max_tokens: 9}}\n"
                           "  - {name: warm, model: m, params: {temperature: 1}}\n"
                           "defaults:\n"
                           "  params: {temperature: 0, seed: 7}\n"
                           "  checks: [{contains: \"{{a}}\"}]\n"
                           "prompts:\n"
                           "  - \"Q: {{q}}\"\n"
                           "  - name: terse\n"
                           "    prompt:\n"
                           "      - system: Be terse.\n"
                           "      - user: \"{{q | upper}}\"\n"
                           "cases: [{q: why, a: because}]\n"
                           "checks: [{equals: \"{{a}}\"}]\n");
    assay_suite *s = load_ok(path, NULL);
    assert_int_equal(assay_suite_prompt_count(s), 2);
    assert_string_equal(assay_suite_prompt_name(s, 0), "prompt-1");
    assert_string_equal(assay_suite_prompt_name(s, 1), "terse");
    assert_null(assay_suite_prompt_name(s, 2));
    renders(s, 0, 0, "{\"q\": \"why\"}", "Q: why");
    renders(s, 1, 1, "{\"q\": \"why\"}", "WHY");
    /* Defaults under each target's own parameters. */
    const cJSON *cold = s->targets[0].params, *warm = s->targets[1].params;
    assert_int_equal(cJSON_GetObjectItem(cold, "temperature")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(cold, "max_tokens")->valueint, 9);
    assert_int_equal(cJSON_GetObjectItem(warm, "temperature")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(warm, "seed")->valueint, 7);
    /* The default checks first, then the suite's. */
    assert_int_equal(assay_suite_check_count(s), 2);
    assert_string_equal(assay__check_type(s->checks[0]), "contains");
    assert_string_equal(assay__check_type(s->checks[1]), "equals");
    assay_suite_free(s);
}

static const char *test_env(const char *name, void *user_data)
{
    (void)user_data;
    if (!strcmp(name, "MODEL"))
        return "gpt-test";
    if (!strcmp(name, "EMPTY"))
        return "";
    return NULL;
}

static void test_env_expansion(void **state)
{
    (void)state;
    const char *path = put("s.yaml",
                           "targets:\n"
                           "  - {model: \"${MODEL}\", name: \"t-${MODEL}\"}\n"
                           "  - model: ${UNSET:-fallback}\n"
                           "  - model: \"${EMPTY:-was empty}\"\n"
                           "prompt: \"cost: $${PRICE} {{q}}\"\n"
                           "cases: [{q: x}]\n"
                           "checks: [{contains: x}]\n");
    assay_suite *s = load_ok(path, test_env);
    assert_string_equal(s->targets[0].model, "gpt-test");
    assert_string_equal(s->targets[0].name, "t-gpt-test");
    assert_string_equal(s->targets[1].model, "fallback");
    assert_string_equal(s->targets[2].model, "was empty");
    renders(s, 0, 0, "{\"q\": \"x\"}", "cost: ${PRICE} x");
    assay_suite_free(s);

    assay_error err;
    put("s.yaml", "targets:\n  - model: m\nprompt: \"${NOPE}\"\n"
                  "cases: []\nchecks: [{contains: x}]\n");
    assert_int_equal(assay_suite_load_env(path, test_env, NULL, &s, &err),
                     ASSAY_ERR_SUITE);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 9);
    assert_non_null(strstr(err.message,
                           "environment variable 'NOPE' is not set (write "
                           "${NOPE:-default} to give a default)"));
    /* Without a lookup, nothing is set. */
    put("s.yaml", "targets:\n  - model: ${MODEL}\nprompt: x\n"
                  "cases: []\nchecks: [{contains: x}]\n");
    assert_int_equal(assay_suite_load(path, &s, &err), ASSAY_ERR_SUITE);
    put("s.yaml", "targets:\n  - model: ${1X}\nprompt: x\n"
                  "cases: []\nchecks: [{contains: x}]\n");
    assert_int_equal(assay_suite_load_env(path, test_env, NULL, &s, &err),
                     ASSAY_ERR_SUITE);
    assert_non_null(strstr(err.message, "2:12: '${' starts a variable"));
}

static void test_file_references(void **state)
{
    (void)state;
    put("p.txt", "Question: {{q}}\nAnswer:");
    put("m.yaml", "- system: From a file.\n- user: \"{{q}}?\"\n");
    put("r.txt", "because");
    const char *path = put("s.yaml",
                           "targets: [{model: m}]\n"
                           "prompts:\n"
                           "  - {name: text, prompt: file:p.txt}\n"
                           "  - {name: list, prompt: \"file://m.yaml\"}\n"
                           "  - name: part\n"
                           "    prompt: [{system: file:r.txt}, {user: hi}]\n"
                           "cases: [{q: why}]\n"
                           "checks: [{contains: file:r.txt}]\n");
    assay_suite *s = load_ok(path, NULL);
    renders(s, 0, 0, "{\"q\": \"why\"}", "Question: why\nAnswer:");
    assert_int_equal(s->prompts[1].n_messages, 2);
    renders(s, 1, 0, "{\"q\": \"why\"}", "From a file.");
    renders(s, 1, 1, "{\"q\": \"why\"}", "why?");
    renders(s, 2, 0, "{\"q\": \"why\"}", "because");
    assay__verdict v;
    assay__verdict_init(&v);
    assay_error err;
    assert_int_equal(assay__check_run(s->checks[0], "... because ...", 15,
                                      NULL, "c", NULL, &v, &err),
                     ASSAY_OK);
    assert_true(v.pass);
    assay__verdict_release(&v);
    assay_suite_free(s);
}

static void test_fewshot(void **state)
{
    (void)state;
    put("shots.jsonl", "{\"q\": \"1+1\", \"a\": \"2\"}\n"
                       "{\"q\": \"2+2\", \"a\": \"4\"}\n"
                       "{\"q\": \"3+3\", \"a\": \"6\"}\n"
                       "{\"q\": \"4+4\", \"a\": \"8\"}\n");
    const char *path = put("s.yaml",
                           "targets: [{model: m}]\n"
                           "prompt:\n"
                           "  - system: Add.\n"
                           "  - user: \"{{q}}\"\n"
                           "fewshot: {k: 2, from: shots.jsonl, seed: 3,\n"
                           "          user: \"{{q}}\", assistant: \"{{a}}\"}\n"
                           "cases: [{q: \"5+5\"}]\n"
                           "checks: [{contains: x}]\n");
    assay_suite *s = load_ok(path, NULL);
    assert_int_equal(cJSON_GetArraySize(s->shots), 2);
    const assay__prompt *p = &s->prompts[0];
    assert_int_equal(p->n_messages, 6);
    const char *roles[] = {"system", "user", "assistant", "user", "assistant",
                           "user"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(p->messages[i].role, roles[i]);
    renders(s, 0, 5, "{\"q\": \"5+5\"}", "5+5");
    /* The draw is the same every time for one seed. */
    char first[64];
    assay__buf b;
    assay__buf_init(&b, 0);
    assay__template_render(p->messages[1].content, NULL, NULL, &b, NULL);
    snprintf(first, sizeof first, "%s", b.data);
    assay__buf_release(&b);
    assay_suite_free(s);
    s = load_ok(path, NULL);
    renders(s, 0, 1, "{\"q\": \"5+5\"}", first);

    /* Cases see the examples as `fewshot`. */
    assay__dataset *d;
    assay_error err;
    assert_int_equal(assay__dataset_open(&s->dataset, NULL, &d, &err),
                     ASSAY_OK);
    assay__case *c;
    assert_int_equal(assay__dataset_next(d, &c, &err), ASSAY_OK);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c->vars,
                                                            "fewshot")),
                     2);
    assay__case_unref(c);
    assay__dataset_free(d);
    assay_suite_free(s);

    put("s.yaml", "targets: [{model: m}]\nprompt: x\n"
                  "fewshot: {k: 9, from: shots.jsonl}\n"
                  "cases: []\nchecks: [{contains: x}]\n");
    assert_int_equal(assay_suite_load(path, &s, &err), ASSAY_ERR_SUITE);
    assert_non_null(strstr(err.message, "'fewshot' asks for 9 examples"));
}

static long skips;
static void count_skip(const assay_error *why, void *user_data)
{
    (void)why;
    (void)user_data;
    skips++;
}

static void test_validate(void **state)
{
    (void)state;
    /* OpenAI-evals samples as they are: no prompt, `ideal` as expected. */
    const char *path = put("s.yaml",
                           "targets: [{model: a}, {model: b}]\n"
                           "dataset: " SHARED_DIR
                           "/data/openai-evals/born_first.jsonl\n"
                           "checks: [{starts-with: \"{{expected}}\"}]\n"
                           "repeat: 2\n");
    assay_suite *s = load_ok(path, NULL);
    assert_true(s->prompts[0].from_case);
    assay_suite_counts n;
    assay_error err;
    assert_int_equal(assay_suite_validate(s, NULL, NULL, &n, &err), ASSAY_OK);
    assert_int_equal(n.cases, 122);
    assert_int_equal(n.renders, 122);
    assert_int_equal(n.requests, 122 * 2 * 2);
    assay_suite_free(s);

    /* GSM8K through a field map, with two prompts. */
    path = put("s.yaml",
               "targets: [{model: a}]\n"
               "dataset: {path: " SHARED_DIR "/data/gsm8k/test.jsonl,\n"
               "          map: {input: question, expected: answer}}\n"
               "prompts: [\"{{input}}\", \"Solve: {{input | trim}}\"]\n"
               "checks: [{contains: \"{{expected}}\"}]\n");
    s = load_ok(path, NULL);
    assert_int_equal(assay_suite_validate(s, NULL, NULL, &n, &err), ASSAY_OK);
    assert_int_equal(n.cases, 1319);
    assert_int_equal(n.renders, 2 * 1319);
    assert_int_equal(n.requests, 2 * 1319);
    assay_suite_free(s);

    /* A variable one case lacks is found before anything is sent. */
    put("d.jsonl", "{\"q\": 1}\n{\"x\": 2}\nnot json\n");
    path = put("s.yaml", "targets: [{model: a}]\ndataset: d.jsonl\n"
                         "prompt: \"{{q}}\"\nchecks: [{contains: x}]\n");
    s = load_ok(path, NULL);
    assert_int_equal(assay_suite_validate(s, NULL, NULL, &n, &err),
                     ASSAY_ERR_TEMPLATE);
    assert_string_equal(err.message, "case '2': variable 'q' is not defined "
                                     "(the case has: x)");
    assert_int_equal(n.cases, 1);
    assay_suite_free(s);
    put("d.jsonl", "{\"q\": 1}\nnot json\n{\"q\": 2}\n");
    s = load_ok(path, NULL);
    skips = 0;
    assert_int_equal(assay_suite_validate(s, count_skip, NULL, &n, &err),
                     ASSAY_OK);
    assert_int_equal(n.cases, 2);
    assert_int_equal(n.skipped, 1);
    assert_int_equal(skips, 1);
    assay_suite_free(s);

    /* A case no check would score is refused. */
    path = put("s.yaml", "targets: [{model: a}]\nprompt: x\n"
                         "cases: [{checks: [{contains: x}]}, {id: bare}]\n");
    s = load_ok(path, NULL);
    assert_int_equal(assay_suite_validate(s, NULL, NULL, &n, &err),
                     ASSAY_ERR_SUITE);
    assert_non_null(strstr(err.message, ":3: case 'bare' has no checks"));
    assay_suite_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_suite),
        cmocka_unit_test(test_json_suite_resolves_dataset),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_prompt_variants_and_defaults),
        cmocka_unit_test(test_env_expansion),
        cmocka_unit_test(test_file_references),
        cmocka_unit_test(test_fewshot),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
