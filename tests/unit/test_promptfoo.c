/*
 * test_promptfoo.c - promptfoo configs loaded into suites: detection,
 * providers, prompts, tests from every kind of file, assertions mapped to
 * checks, Nunjucks rewritten, the models graded checks need, the list of
 * what assay cannot run with its places, and the promptfoo samples in
 * ../shared/data/promptfoo.
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

static char dir[256];
static assay__rendered rendered; /* reused by render() */

static int make_dir(void **state)
{
    (void)state;
    assay__rendered_init(&rendered);
    snprintf(dir, sizeof dir, "/tmp/assay-promptfoo-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    assay__rendered_release(&rendered);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes `text` to dir/name; returns the path (static, one at a time). */
static const char *put(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char *env_table(const char *name, void *data)
{
    (void)data;
    return !strcmp(name, "PF_GREETING") ? "Hi {{there}}" : NULL;
}

static assay_suite *load_ok(const char *name, const char *text)
{
    const char *path = put(name, text);
    assay_suite *s = NULL;
    assay_error err;
    assay_status st = assay_suite_load_env(path, env_table, NULL, &s, &err);
    if (st != ASSAY_OK)
        fail_msg("%s", err.message);
    return s;
}

/* Loads a config that must fail; its message must hold every part. */
static void load_fails(const char *name, const char *text, ...)
{
    const char *path = put(name, text);
    assay_suite *s = NULL;
    assay_error err;
    assay_status st = assay_suite_load(path, &s, &err);
    if (st == ASSAY_OK)
        fail_msg("%s loaded", name);
    assert_int_equal(err.status, st);
    assert_null(s);
    va_list ap;
    va_start(ap, text);
    for (const char *part; (part = va_arg(ap, const char *));)
        if (!strstr(err.message, part))
            fail_msg("'%s' not in: %s", part, err.message);
    va_end(ap);
}

/* The cases of a loaded suite, one at a time. */
typedef struct cases {
    assay__dataset *d;
    assay__case *c;
} cases;

static assay__case *next_case(cases *it, const assay_suite *s)
{
    assay_error err;
    if (!it->d && assay__dataset_open(&s->dataset, NULL, &it->d, &err))
        fail_msg("%s", err.message);
    assay__case_unref(it->c);
    it->c = NULL;
    if (assay__dataset_next(it->d, &it->c, &err) != ASSAY_OK)
        fail_msg("%s", err.message);
    return it->c;
}

static void cases_end(cases *it)
{
    assay__case_unref(it->c);
    assay__dataset_free(it->d);
}

static long count_cases(const assay_suite *s)
{
    cases it = {0};
    long n = 0;
    while (next_case(&it, s))
        n++;
    cases_end(&it);
    return n;
}

/* Prompt `p` rendered for `c`: message `m`'s text ("" past the end). */
static const char *render(const assay_suite *s, size_t p, const assay__case *c,
                          size_t m)
{
    assay_error err;
    if (assay__prompt_render(&s->prompts[p], c, &rendered, &err) != ASSAY_OK)
        fail_msg("%s", err.message);
    return m < rendered.n ? rendered.contents[m].data : "";
}

/* Runs check `i` of case `c` on `output`: its pass. */
static bool check_passes(const assay__case *c, size_t i, const char *output)
{
    assay__verdict v;
    assay__verdict_init(&v);
    assay_error err;
    assay__check_context ctx = {.latency_ms = 1200, .ttft_ms = NAN};
    if (assay__check_run(c->checks[i], output, strlen(output), c->vars, c->id,
                         &ctx, &v, &err))
        fail_msg("%s", err.message);
    bool pass = v.pass;
    assay__verdict_release(&v);
    return pass;
}

static void test_detect(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        bool promptfoo;
    } cases_[] = {
        {"{\"providers\": [\"openai:chat:m\"], \"prompts\": [\"x\"]}", true},
        {"{\"prompts\": [\"x\"], \"tests\": []}", true},
        {"{\"targets\": [{\"model\": \"m\"}], \"providers\": []}", false},
        {"{\"prompts\": [\"x\"]}", false},
        {"{\"targets\": [], \"prompt\": \"x\", \"cases\": []}", false},
        {"[1]", false},
    };
    for (size_t i = 0; i < sizeof cases_ / sizeof *cases_; i++) {
        cJSON *root = cJSON_Parse(cases_[i].json);
        assert_int_equal(assay__promptfoo_detect(root), cases_[i].promptfoo);
        cJSON_Delete(root);
    }
}

static void test_providers(void **state)
{
    (void)state;
    assay_suite *s = load_ok(
        "providers.yaml",
        "prompts: ['{{q}}']\n"
        "providers:\n"
        "  - openai:gpt-4o-mini\n"
        "  - openai:gpt-3.5-turbo-instruct\n"
        "  - id: openai:chat:local-model\n"
        "    label: local\n"
        "    config:\n"
        "      apiBaseUrl: http://127.0.0.1:8080/v1\n"
        "      apiKeyEnvar: LOCAL_KEY\n"
        "      temperature: 0.2\n"
        "      max_tokens: 5\n"
        "      seed: 11\n"
        "      stop: [\"\\n\"]\n"
        "      headers: {X-Team: evals}\n"
        "      organization: org-1\n"
        "      passthrough: {cache_prompt: true}\n"
        "  - openai:completion:davinci-002:\n"
        "      config: {apiHost: example.test}\n"
        "tests: [{vars: {q: hi}, assert: [{type: equals, value: hi}]}]\n");
    assert_int_equal(s->n_targets, 4);
    assert_string_equal(s->targets[0].name, "openai:gpt-4o-mini");
    assert_string_equal(s->targets[0].model, "gpt-4o-mini");
    assert_int_equal(s->targets[0].conn.endpoint, ASSAY__ENDPOINT_CHAT);
    assert_null(s->targets[0].base_url);
    assert_string_equal(s->targets[0].api_key_env, "OPENAI_API_KEY");
    assert_int_equal(s->targets[1].conn.endpoint, ASSAY__ENDPOINT_COMPLETIONS);
    const assay__target *t = &s->targets[2];
    assert_string_equal(t->name, "local");
    assert_string_equal(t->model, "local-model");
    assert_string_equal(t->base_url, "http://127.0.0.1:8080/v1");
    assert_string_equal(t->api_key_env, "LOCAL_KEY");
    char *params = cJSON_PrintUnformatted(t->params);
    assert_string_equal(params, "{\"temperature\":0.2,\"max_tokens\":5,"
                                "\"seed\":11,\"stop\":[\"\\n\"]}");
    free(params);
    assert_int_equal(t->conn.n_headers, 2);
    assert_string_equal(t->conn.headers[0], "X-Team: evals");
    assert_string_equal(t->conn.headers[1], "OpenAI-Organization: org-1");
    assert_true(
        cJSON_IsTrue(cJSON_GetObjectItem(t->conn.extra, "cache_prompt")));
    assert_string_equal(s->targets[3].model, "davinci-002");
    assert_string_equal(s->targets[3].base_url, "https://example.test/v1");
    assert_int_equal(s->targets[3].conn.endpoint, ASSAY__ENDPOINT_COMPLETIONS);
    assay_suite_free(s);

    /* One provider given as a text. */
    s = load_ok("one.yaml", "prompts: 'Say {{q}}'\n"
                            "providers: openai:chat:m\n"
                            "tests: [{vars: {q: a}, assert: [{type: "
                            "contains, value: a}]}]\n");
    assert_int_equal(s->n_targets, 1);
    assert_int_equal(s->n_prompts, 1);
    assay_suite_free(s);
}

static void test_prompts(void **state)
{
    (void)state;
    put("two.txt", "First {{q}}\n---\nSecond {{ q | upper }}\n");
    put("chat.yaml", "- role: system\n  content: Be terse.\n"
                     "- role: user\n  content: '{{q}}?'\n");
    put("chat.json", "[{\"role\": \"user\", \"content\": \"J {{q}}\"}]");
    assay_suite *s = load_ok(
        "prompts.yaml",
        "prompts:\n"
        "  - 'Plain {{q}}'\n"
        "  - '[{\"role\": \"system\", \"content\": \"S\"}, "
        "{\"role\": \"user\", \"content\": \"U {{q}}\"}]'\n"
        "  - file://two.txt\n"
        "  - {id: file://chat.yaml, label: yaml}\n"
        "  - {raw: 'Raw {{q}}', label: raw}\n"
        "  - file://chat.json\n"
        "  - [{role: user, content: 'Listed {{q}}'}]\n"
        "providers: [openai:chat:m]\n"
        "tests: [{vars: {q: x}, assert: [{type: contains, value: x}]}]\n");
    assert_int_equal(s->n_prompts, 8);
    const char *names[] = {"prompt-1", "prompt-2", "two.txt:1", "two.txt:2",
                           "yaml",     "raw",      "chat.json", "prompt-7"};
    for (size_t i = 0; i < 8; i++)
        assert_string_equal(s->prompts[i].name, names[i]);
    cases it = {0};
    const assay__case *c = next_case(&it, s);
    assert_string_equal(render(s, 0, c, 0), "Plain x");
    assert_int_equal(s->prompts[1].n_messages, 2);
    assert_string_equal(s->prompts[1].messages[0].role, "system");
    assert_string_equal(render(s, 1, c, 1), "U x");
    assert_string_equal(render(s, 2, c, 0), "First x");
    assert_string_equal(render(s, 3, c, 0), "Second X");
    assert_string_equal(render(s, 4, c, 0), "Be terse.");
    assert_string_equal(render(s, 4, c, 1), "x?");
    assert_string_equal(render(s, 5, c, 0), "Raw x");
    assert_string_equal(render(s, 6, c, 0), "J x");
    assert_string_equal(render(s, 7, c, 0), "Listed x");
    cases_end(&it);
    assay_suite_free(s);

    /* The map form: {file: label}. */
    s = load_ok("map.yaml", "prompts: {'file://two.txt': pair}\n"
                            "providers: [openai:chat:m]\n"
                            "tests: [{vars: {q: x}, assert: [{type: "
                            "contains, value: x}]}]\n");
    assert_int_equal(s->n_prompts, 2);
    assert_string_equal(s->prompts[1].name, "pair:2");
    assay_suite_free(s);
}

static void test_nunjucks(void **state)
{
    (void)state;
    assay_suite *s = load_ok(
        "nunjucks.yaml",
        "prompts:\n"
        "  - \"{# a note #}{{ items[1] }}|{{ obj['k'] }}|{{ obj.k | upper }}"
        "|{{ items | join(', ') }}|{{ items | dump }}|{{ gone | d('none') "
        "}}|{{ gone | default(0) }}|{{ q | trim | safe }}|{{ env.PF_GREETING"
        " }}\"\n"
        "providers: [openai:chat:m]\n"
        "tests:\n"
        "  - vars: {items: [[a, b]], obj: {k: v}, q: '  x  '}\n"
        "    assert: [{type: contains, value: '{{ obj.k }}'}]\n");
    cases it = {0};
    const assay__case *c = next_case(&it, s);
    assert_string_equal(render(s, 0, c, 0),
                        "b|v|V|a, b|[\"a\",\"b\"]|none|0|x|Hi {{there}}");
    assert_true(check_passes(c, 0, "a v b"));
    cases_end(&it);
    assay_suite_free(s);
}

static void test_tests_and_assertions(void **state)
{
    (void)state;
    assay_suite *s = load_ok(
        "asserts.yaml",
        "prompts: ['{{q}}']\n"
        "providers: [openai:chat:m]\n"
        "defaultTest:\n"
        "  vars: {q: default, lang: en}\n"
        "  assert: [{type: not-icontains, value: sorry}]\n"
        "  threshold: 0.5\n"
        "evaluateOptions: {repeat: 3, maxConcurrency: 2}\n"
        "tests:\n"
        "  - vars: {q: [one, two]}\n"
        "    assert:\n"
        "      - {type: levenshtein, value: kitten, threshold: 3}\n"
        "      - {type: contains, value: 42, threshold: 0.9, weight: 2, "
        "metric: m}\n"
        "      - {type: not-rouge-n, value: the cat sat}\n"
        "      - {type: latency, threshold: 1000}\n"
        "      - {type: cost, threshold: 0.01}\n"
        "      - {type: bleu, value: the cat, threshold: 0.2}\n"
        "  - vars: {lang: fr}\n"
        "    options: {suffix: ' Go.'}\n"
        "  - vars: {lang: []}\n"
        "    assert: [{type: equals, value: none}]\n");
    assert_int_equal(s->repeat, 3);
    assert_true(s->case_threshold == 0.5);
    assert_int_equal(s->n_checks, 1);
    assert_string_equal(assay__check_type(s->checks[0]), "not-icontains");
    cases it = {0};
    const assay__case *c = next_case(&it, s);
    assert_string_equal(cJSON_GetObjectItem(c->vars, "q")->valuestring, "one");
    assert_int_equal(c->n_checks, 6);
    assert_string_equal(assay__check_type(c->checks[2]), "not-rouge-1");
    assert_true(check_passes(c, 0, "sitting")); /* 3 edits, max 3 */
    assert_false(check_passes(c, 0, "sitting down"));
    assert_true(isnan(assay__check_threshold(c->checks[1])));
    assert_true(assay__check_weight(c->checks[1]) == 2);
    assert_string_equal(assay__check_metric(c->checks[1]), "m");
    assert_true(check_passes(c, 1, "it is 42"));
    assert_false(check_passes(c, 3, "late")); /* 1200 ms, at most 1000 */
    assert_true(assay__check_threshold(c->checks[5]) == 0.2);
    c = next_case(&it, s);
    assert_string_equal(cJSON_GetObjectItem(c->vars, "q")->valuestring, "two");
    c = next_case(&it, s);
    assert_string_equal(c->id, "3");
    assert_int_equal(c->n_checks, 0);
    assert_string_equal(render(s, 0, c, 0), "default Go.");
    assert_null(next_case(&it, s));
    cases_end(&it);
    assay_suite_free(s);
}

static void test_test_files(void **state)
{
    (void)state;
    put("tests.yaml", "- vars: {q: a}\n  assert: [{type: equals, value: a}]\n"
                      "- vars: {q: b}\n");
    put("tests.jsonl", "{\"vars\": {\"q\": \"c\"}, \"assert\": [{\"type\": "
                       "\"icontains\", \"value\": \"C\"}]}\n\n"
                       "{\"vars\": {\"q\": \"d\"}}\n");
    put("tests.csv", "q,__expected1,__expected2,__metric,__prefix,"
                     "__config:__expected2:threshold,__description\n"
                     "e,contains: e,similar(0.6):e,style,> ,0.9,first\n"
                     "f,,,,,,second\n");
    put("default.yaml", "assert: [{type: not-contains, value: zzz}]\n");
    assay_suite *s = load_ok(
        "files.yaml",
        "prompts: ['{{q}}']\n"
        "providers: [openai:chat:m]\n"
        "defaultTest: file://default.yaml\n"
        "tests: [file://tests.yaml, file://tests.jsonl, file://tests.csv]\n");
    assert_int_equal(s->n_checks, 1);
    assert_non_null(s->embedder);
    assert_string_equal(s->embedder->model, "text-embedding-3-large");
    assert_null(s->grader);
    cases it = {0};
    const char *qs[] = {"a", "b", "c", "d", "e", "f"};
    size_t checks[] = {1, 0, 1, 0, 2, 0};
    for (size_t i = 0; i < 6; i++) {
        const assay__case *c = next_case(&it, s);
        assert_non_null(c);
        assert_string_equal(cJSON_GetObjectItem(c->vars, "q")->valuestring,
                            qs[i]);
        assert_int_equal(c->n_checks, checks[i]);
        if (i == 4) {
            assert_string_equal(assay__check_metric(c->checks[0]), "style");
            assert_string_equal(assay__check_type(c->checks[1]), "similar");
            assert_true(assay__check_threshold(c->checks[1]) == 0.9);
            assert_string_equal(render(s, 0, c, 0), "> e");
        }
    }
    assert_null(next_case(&it, s));
    cases_end(&it);
    assay_suite_free(s);

    /* Mistakes in those files, at their place. */
    put("bad.jsonl", "{\"vars\": {\"q\": 1}}\n{\"vars\": \n");
    load_fails("badjsonl.yaml",
               "prompts: ['{{q}}']\nproviders: [openai:chat:m]\n"
               "tests: file://bad.jsonl\n",
               "bad.jsonl:2:", "not valid JSON", NULL);
    put("bad.csv", "q,__expected\nx,contains: x\ny\n");
    load_fails("badcsv.yaml",
               "prompts: ['{{q}}']\nproviders: [openai:chat:m]\n"
               "tests: file://bad.csv\n",
               "bad.csv:3: the record has 1 fields, the header 2", NULL);
    put("bad2.csv", "q,__expected\nx,regex:(\n");
    load_fails("badcsv2.yaml",
               "prompts: ['{{q}}']\nproviders: [openai:chat:m]\n"
               "tests: file://bad2.csv\n",
               "bad2.csv:2: ", NULL);
    put("bad.yaml", "- vars: {q: x}\n  assert:\n    - {type: containz, "
                    "value: x}\n");
    load_fails("badyaml.yaml",
               "prompts: ['{{q}}']\nproviders: [openai:chat:m]\n"
               "tests: file://bad.yaml\n",
               "bad.yaml:3:14: unknown check 'containz' (did you mean "
               "'contains'?)",
               NULL);
    put("latin1.csv", "q\n\xe9t\xe9\n");
    load_fails("latin1.yaml",
               "prompts: ['{{q}}']\nproviders: [openai:chat:m]\n"
               "tests: file://latin1.csv\n",
               "latin1.csv:2: not valid UTF-8 (byte 0xE9)", NULL);
    load_fails("missing.yaml",
               "prompts: ['{{q}}']\nproviders: [openai:chat:m]\n"
               "tests: file://nowhere.csv\n",
               "missing.yaml:3:8: cannot read ", NULL);
}

static void test_helpers(void **state)
{
    (void)state;
    assay_suite *s = load_ok(
        "graded.yaml",
        "prompts: ['{{q}}']\n"
        "providers: [openai:chat:m]\n"
        "tests: [{vars: {q: x}, assert: [{type: llm-rubric, value: polite, "
        "threshold: 0.7}]}]\n");
    assert_non_null(s->grader);
    assert_string_equal(s->grader->model, "gpt-4o");
    assert_null(s->embedder);
    assay_suite_free(s);

    s = load_ok("judged.yaml",
                "prompts: ['{{q}}']\n"
                "providers: [openai:chat:m]\n"
                "defaultTest:\n"
                "  options:\n"
                "    provider:\n"
                "      text: {id: openai:chat:judge, config: {apiBaseUrl: "
                "'http://127.0.0.1:9/v1'}}\n"
                "      embedding: openai:embedding:emb\n"
                "tests: [{vars: {q: x}, assert: [{type: factuality, value: "
                "x}, {type: similar, value: x}]}]\n");
    assert_string_equal(s->grader->model, "judge");
    assert_string_equal(s->grader->base_url, "http://127.0.0.1:9/v1");
    assert_string_equal(s->embedder->model, "emb");
    assay_suite_free(s);
}

static void test_unsupported(void **state)
{
    (void)state;
    load_fails("nope.yaml",
               "prompts:\n"
               "  - '{% for x in xs %}{{ x }}{% endfor %}'\n"
               "  - '{{ a + b }}'\n"
               "  - file://p.py\n"
               "providers:\n"
               "  - openai:embedding:emb\n"
               "  - exec:./run.sh\n"
               "  - {id: openai:chat:m, config: {functionToolCallbacks: "
               "x}}\n"
               "scenarios: []\n"
               "tests:\n"
               "  - vars: {img: file://cat.png}\n"
               "    provider: openai:chat:other\n"
               "    assert:\n"
               "      - {type: is-xml, value: {requiredElements: [a]}}\n"
               "      - {type: meteor, value: x}\n"
               "      - {type: llm-rubric, value: x, provider: "
               "openai:chat:j}\n"
               "  - file://gen.js\n",
               "nope.yaml: 13 things assay cannot run (nothing was sent):",
               "\n  2:5: the Nunjucks tag '{% for %}'",
               "\n  3:5: Nunjucks expressions beyond a variable and filters",
               "\n  4:5: Python prompts",
               "\n  6:5: an embedding model as a provider that answers",
               "\n  7:5: script (exec:) providers",
               "\n  8:34: the provider option 'functionToolCallbacks'",
               "\n  9:1: the config key 'scenarios'",
               "\n  11:17: images, audio and PDF files as vars",
               "\n  12:5: the test key 'provider'",
               "\n  14:31: 'is-xml' with required elements",
               "\n  15:16: 'meteor' assertions (assay has no such "
               "check)",
               "\n  16:38: 'provider' on an assertion",
               "\n  17:5: tests from JavaScript files", NULL);

    /* Many kinds: those past the message's room are counted, not lost. */
    char text[8192] = "prompts: ['x']\nproviders: [openai:chat:m]\n";
    for (int i = 0; i < 40; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "unknown_key_number_%d: 1\n", i);
    load_fails("many.yaml", text, "40 things assay cannot run",
               "\n  3:1: the config key 'unknown_key_number_0'", " more", NULL);
}

static void test_assert_set(void **state)
{
    (void)state;
    assay_suite *s =
        load_ok("set.yaml",
                "prompts: ['{{q}}']\n"
                "providers: [openai:chat:m]\n"
                "tests:\n"
                "  - vars: {q: x}\n"
                "    assert:\n"
                "      - type: assert-set\n"
                "        threshold: 0.5\n"
                "        assert:\n"
                "          - {type: rouge-n, value: a b c}\n"
                "          - {type: levenshtein, value: abc, threshold: 1}\n");
    cases it = {0};
    const assay__case *c = next_case(&it, s);
    assert_int_equal(c->n_checks, 1);
    assert_string_equal(assay__check_type(c->checks[0]), "assert-set");
    assert_true(check_passes(c, 0, "abc"));   /* 0 and 1: mean 0.5 */
    assert_false(check_passes(c, 0, "xyzw")); /* 0 and 0 */
    cases_end(&it);
    assay_suite_free(s);

    load_fails("badset.yaml",
               "prompts: ['{{q}}']\n"
               "providers: [openai:chat:m]\n"
               "tests:\n"
               "  - vars: {q: x}\n"
               "    assert:\n"
               "      - type: assert-set\n"
               "        assert:\n"
               "          - {type: gleu, value: a}\n"
               "          - {type: javascript, value: 'true'}\n",
               "\n  9:20: JavaScript assertions", NULL);
    load_fails("badset2.yaml",
               "prompts: ['{{q}}']\n"
               "providers: [openai:chat:m]\n"
               "tests:\n"
               "  - assert:\n"
               "      - type: assert-set\n"
               "        assert: [{type: gleu, value: a}]\n",
               "\n  6:25: 'gleu' assertions (assay has no such check)", NULL);
    load_fails("params.yaml",
               "prompts: ['{{q}}']\n"
               "providers: [openai:chat:m]\n"
               "tests: [{vars: {params: 1}}]\n",
               "params.yaml:3:9: a var named 'params'", NULL);
}

static void test_errors(void **state)
{
    (void)state;
    load_fails("noprov.yaml", "prompts: ['x']\ntests: []\n",
               "noprov.yaml:1:1: missing 'providers'", NULL);
    load_fails("badthr.yaml",
               "prompts: ['x']\nproviders: [openai:chat:m]\n"
               "tests: [{threshold: 2}]\n",
               "badthr.yaml:3:21: 'threshold' must be a number from 0 to 1",
               NULL);
    load_fails("dup.yaml",
               "prompts: ['x']\nproviders: [openai:chat:m, "
               "openai:chat:m]\ntests: []\n",
               "two providers are named 'openai:chat:m'", NULL);
    load_fails("checksvar.yaml",
               "prompts: ['x']\nproviders: [openai:chat:m]\n"
               "tests: [{vars: {checks: 1}}]\n",
               "a var named 'checks'", NULL);
    load_fails("badassert.yaml",
               "prompts: ['x']\nproviders: [openai:chat:m]\n"
               "tests: [{assert: [{type: regex, value: '('}]}]\n",
               "badassert.yaml:3:", NULL);
}

/* A config over one of the shared samples. */
static assay_suite *sample(const char *file, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "prompts: ['{{ body | default(\"\") }}{{ topic | default(\"\") "
             "}}']\nproviders: [openai:chat:m]\n"
             "tests: file://%s/data/promptfoo/%s\n%s",
             SHARED_DIR, file, extra);
    return load_ok("sample.yaml", text);
}

static void test_shared_samples(void **state)
{
    (void)state;
    assay_suite *s = sample("simple-csv_tests.csv", "");
    assert_int_equal(count_cases(s), 4);
    cases it = {0};
    const assay__case *c = next_case(&it, s);
    assert_string_equal(render(s, 0, c, 0), "Hello world");
    assert_string_equal(assay__check_type(c->checks[0]), "icontains");
    assert_true(check_passes(c, 0, "BONJOUR le monde"));
    cases_end(&it);
    assay_suite_free(s);

    s = sample("jsonl-test-cases_cases.jsonl", "");
    assert_int_equal(count_cases(s), 2);
    assay_suite_free(s);

    s = sample("mmlu_mmlu_data.csv",
               "defaultTest: {assert: [{type: contains, value: "
               "'{{answer}}'}]}\n");
    assert_int_equal(count_cases(s), 25);
    assay_suite_free(s);

    s = sample("config-csv-metadata_tests.csv", "");
    assert_string_equal(s->grader->model, "gpt-4o");
    it = (cases){0};
    double want[] = {0.8, 0.75, 0.675};
    for (size_t i = 0; i < 3; i++) {
        c = next_case(&it, s);
        assert_int_equal(c->n_checks, 2);
        assert_true(check_passes(c, 0, "an algorithm, quantum, temperature"));
        assert_string_equal(assay__check_type(c->checks[1]), "llm-rubric");
        assert_true(fabs(assay__check_threshold(c->checks[1]) - want[i]) <
                    1e-12);
    }
    cases_end(&it);
    assay_suite_free(s);

    s = sample("eval-self-grading_tests.csv", "");
    assert_int_equal(count_cases(s), 10);
    assay_suite_free(s);

    char path[512];
    assay_error err;
    put("fn.yaml",
        "prompts: ['{{body}}']\nproviders: [openai:chat:m]\n"
        "tests: file://" SHARED_DIR "/data/promptfoo/simple-test_tests.csv\n");
    snprintf(path, sizeof path, "%s/fn.yaml", dir);
    assert_int_equal(assay_suite_load(path, &s, &err), ASSAY_ERR_SUITE);
    if (!strstr(err.message, "simple-test_tests.csv:2, 3: JavaScript "
                             "assertions"))
        fail_msg("%s", err.message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_providers),
        cmocka_unit_test(test_prompts),
        cmocka_unit_test(test_nunjucks),
        cmocka_unit_test(test_tests_and_assertions),
        cmocka_unit_test(test_test_files),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_assert_set),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_shared_samples),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
