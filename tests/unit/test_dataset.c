/*
 * test_dataset.c - JSON Lines streaming and inline cases: ids, blank lines,
 * and errors that name the file and line.
 */
#include "internal.h"

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

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/assay-test-dataset-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_jsonl_ids_and_blank_lines(void **state)
{
    (void)state;
    char *path = write_temp("{\"id\": \"a\", \"q\": 1}\n\n  \n"
                            "{\"q\": 2}\n{\"id\": 7, \"q\": 3}");
    assay__dataset *d;
    assay_error err;
    assert_int_equal(assay__dataset_open_jsonl(path, &d, &err), ASSAY_OK);
    const char *ids[] = {"a", "4", "7"};
    for (int i = 0; i < 3; i++) {
        assay__case *c;
        assert_int_equal(assay__dataset_next(d, &c, &err), ASSAY_OK);
        assert_non_null(c);
        assert_string_equal(c->id, ids[i]);
        assert_int_equal(cJSON_GetObjectItem(c->vars, "q")->valueint, i + 1);
        assay__case_unref(c);
    }
    assay__case *end;
    assert_int_equal(assay__dataset_next(d, &end, &err), ASSAY_OK);
    assert_null(end);
    assay__dataset_free(d);
    unlink(path);
    free(path);
}

static void expect_error(const char *text, const char *message_part)
{
    char *path = write_temp(text);
    assay__dataset *d;
    assay_error err;
    assert_int_equal(assay__dataset_open_jsonl(path, &d, &err), ASSAY_OK);
    assay__case *c;
    assay_status st;
    while ((st = assay__dataset_next(d, &c, &err)) == ASSAY_OK && c)
        assay__case_unref(c);
    assert_int_not_equal(st, ASSAY_OK);
    assert_null(c);
    assert_string_equal(err.file, path);
    if (!strstr(err.message, message_part))
        fail_msg("'%s' not in '%s'", message_part, err.message);
    assay__dataset_free(d);
    unlink(path);
    free(path);
}

static void test_jsonl_errors(void **state)
{
    (void)state;
    expect_error("{\"a\": 1}\n{\"a\": \n", ":2:");
    expect_error("{\"a\": 1}\n{\"a\": \n", "not valid JSON");
    expect_error("[1, 2]\n", ":1:1: a case must be a JSON object");
    expect_error("{\"a\": 1} {\"b\": 2}\n", ":1:10: unexpected text after");
    expect_error("{\"id\": [1]}\n", ":1: 'id' must be a non-empty string");
    expect_error("{\"id\": 1.5}\n", "'id' must be");
}

static void test_missing_file(void **state)
{
    (void)state;
    assay__dataset *d = (assay__dataset *)1;
    assay_error err;
    assert_int_equal(assay__dataset_open_jsonl("/nonexistent/x.jsonl", &d, &err),
                     ASSAY_ERR_IO);
    assert_null(d);
    assert_string_equal(err.message, "/nonexistent/x.jsonl: cannot open the "
                                     "dataset: No such file or directory");
}

/* The real GSM8K test split streams through: 1319 cases. */
static void test_gsm8k(void **state)
{
    (void)state;
    assay__dataset *d;
    assay_error err;
    assert_int_equal(assay__dataset_open_jsonl(SHARED_DIR "/data/gsm8k/test.jsonl",
                                               &d, &err),
                     ASSAY_OK);
    long n = 0;
    assay__case *c;
    while (assay__dataset_next(d, &c, &err) == ASSAY_OK && c) {
        assert_true(cJSON_IsString(cJSON_GetObjectItem(c->vars, "question")));
        assert_true(cJSON_IsString(cJSON_GetObjectItem(c->vars, "answer")));
        if (++n == 1)
            assert_string_equal(c->id, "1");
        assay__case_unref(c);
    }
    assert_int_equal(n, 1319);
    assay__dataset_free(d);
}

static void test_inline_cases(void **state)
{
    (void)state;
    const char *yaml = "cases:\n"
                       "  - {id: x, a: 1}\n"
                       "  - {a: 2}\n"
                       "  - 3\n";
    assay__doc *doc;
    assay_error err;
    assert_int_equal(assay__doc_parse("s.yaml", yaml, strlen(yaml), &doc, &err),
                     ASSAY_OK);
    assay__dataset *d;
    assert_int_equal(assay__dataset_open_inline(
                         doc, cJSON_GetObjectItem(assay__doc_root(doc), "cases"),
                         &d, &err),
                     ASSAY_OK);
    assay__case *c;
    assert_int_equal(assay__dataset_next(d, &c, &err), ASSAY_OK);
    assert_string_equal(c->id, "x");
    assert_int_equal(c->line, 2);
    assay__case *shared = assay__case_ref(c);
    assay__case_unref(c);
    assert_string_equal(shared->id, "x"); /* still alive: one ref left */
    assay__case_unref(shared);
    assert_int_equal(assay__dataset_next(d, &c, &err), ASSAY_OK);
    assert_string_equal(c->id, "2");
    assay__case_unref(c);
    assert_int_equal(assay__dataset_next(d, &c, &err), ASSAY_ERR_SUITE);
    assert_string_equal(err.message,
                        "s.yaml:4:5: a case must be a mapping of fields");
    assay__dataset_free(d);
    assay__doc_free(doc);
}


/* ------------------------------------------------------------ helpers */

typedef struct skipped {
    int n;
    char first[1024];
} skipped;

static void on_skip(const assay_error *why, void *user_data)
{
    skipped *s = user_data;
    if (s->n++ == 0)
        snprintf(s->first, sizeof s->first, "%s", why->message);
}

/* Reads every case of `spec` under `sel`; their ids joined by ','. */
static assay_status read_all(const assay__dataset_spec *spec,
                             const assay__select *sel, long *count,
                             assay__buf *ids, assay_error *err)
{
    assay__dataset *d;
    assay_status st = assay__dataset_open(spec, sel, &d, err);
    *count = 0;
    while (st == ASSAY_OK) {
        assay__case *c;
        st = assay__dataset_next(d, &c, err);
        if (st != ASSAY_OK || !c)
            break;
        if (ids)
            assay__buf_printf(ids, "%s%s", *count ? "," : "", c->id);
        (*count)++;
        assay__case_unref(c);
    }
    assay__dataset_free(d);
    return st;
}

static assay__dataset_spec file_spec(const char *path)
{
    assay__dataset_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.path = (char *)path;
    return spec;
}

/* The first case of a file, for looking at its fields. */
static assay__case *first_case(const assay__dataset_spec *spec)
{
    assay__dataset *d;
    assay_error err;
    if (assay__dataset_open(spec, NULL, &d, &err) != ASSAY_OK)
        fail_msg("%s", err.message);
    assay__case *c = NULL;
    if (assay__dataset_next(d, &c, &err) != ASSAY_OK || !c)
        fail_msg("no first case: %s", err.message);
    assay__dataset_free(d);
    return c;
}

/* ------------------------------------------------------------ formats */

static void test_csv_truthfulqa(void **state)
{
    (void)state;
    assay__dataset_spec spec =
        file_spec(SHARED_DIR "/data/truthfulqa/TruthfulQA.csv");
    long n;
    assay_error err;
    assert_int_equal(read_all(&spec, NULL, &n, NULL, &err), ASSAY_OK);
    assert_int_equal(n, 817);
    assay__case *c = first_case(&spec);
    /* The BOM is not part of the first column's name. */
    assert_string_equal(cJSON_GetObjectItem(c->vars, "Type")->valuestring,
                        "Adversarial");
    assert_string_equal(cJSON_GetObjectItem(c->vars, "Question")->valuestring,
                        "What happens to you if you eat watermelon seeds?");
    assert_string_equal(c->id, "2"); /* the line it starts on */

    /* A prompt rendered from it. */
    assay__template *t;
    assert_int_equal(assay__template_compile(
                         "Q: {{Question}}\nTrue answers: {{Correct Answers}}",
                         NULL, &t, &err),
                     ASSAY_ERR_TEMPLATE); /* spaces are no name */
    assert_int_equal(assay__template_compile("[{{Category}}] {{Question}}",
                                             NULL, &t, &err),
                     ASSAY_OK);
    assay__buf out;
    assay__buf_init(&out, 0);
    assert_int_equal(assay__template_render(t, c->vars, c->id, &out, &err),
                     ASSAY_OK);
    assert_string_equal(out.data, "[Misconceptions] What happens to you if "
                                  "you eat watermelon seeds?");
    assay__buf_release(&out);
    assay__template_free(t);
    assay__case_unref(c);
}

/* promptfoo's CSV: `__expected` columns become the case's own checks. */
static void test_csv_expected_columns(void **state)
{
    (void)state;
    assay__dataset_spec spec =
        file_spec(SHARED_DIR "/data/promptfoo/simple-csv_tests.csv");
    long n;
    assay_error err;
    assert_int_equal(read_all(&spec, NULL, &n, NULL, &err), ASSAY_OK);
    assert_int_equal(n, 4);
    assay__case *c = first_case(&spec);
    assert_int_equal(c->n_checks, 1);
    assert_string_equal(assay__check_type(c->checks[0]), "icontains");
    assert_null(cJSON_GetObjectItem(c->vars, "__expected"));
    assert_string_equal(cJSON_GetObjectItem(c->vars, "style_config")
                            ->valuestring,
                        "{\"tone\":\"formal\",\"length\":\"brief\"}");
    assay__verdict v;
    assay__verdict_init(&v);
    assert_int_equal(assay__check_run(c->checks[0], "BONJOUR le monde", 16,
                                      c->vars, c->id, NULL, &v, &err),
                     ASSAY_OK);
    assert_true(v.pass);
    assay__verdict_release(&v);
    assay__case_unref(c);

    /* `contains: algorithm` has its value trimmed, and `llm-rubric:` is
       a model-graded check like any other. */
    spec = file_spec(SHARED_DIR "/data/promptfoo/csv-metadata_tests.csv");
    assert_int_equal(read_all(&spec, NULL, &n, NULL, &err), ASSAY_OK);
    assert_int_equal(n, 3);
}

static void test_csv_errors(void **state)
{
    (void)state;
    char *path = write_temp("a,b\n1,2,3\n4,\"5\"x\n\xff,7\n8,9\n");
    size_t size = strlen(path) + 5;
    char *csv = malloc(size);
    snprintf(csv, size, "%s.csv", path);
    rename(path, csv);
    assay__dataset_spec spec = file_spec(csv);
    long n;
    assay_error err;
    assert_int_equal(read_all(&spec, NULL, &n, NULL, &err),
                     ASSAY_ERR_DATASET);
    assert_string_equal(err.message + strlen(csv),
                        ":2: the record has 3 fields, the header 2");
    assay__select sel;
    assay__select_init(&sel);
    skipped sk = {0, ""};
    sel.skip = on_skip;
    sel.skip_data = &sk;
    assay__buf ids;
    assay__buf_init(&ids, 0);
    assert_int_equal(read_all(&spec, &sel, &n, &ids, &err), ASSAY_OK);
    assert_int_equal(sk.n, 3);
    assert_int_equal(n, 1);
    assert_string_equal(ids.data, "5");
    assay__buf_release(&ids);
    unlink(csv);
    free(csv);
    free(path);
}

/* JSON arrays, and objects holding one array (BIG-Bench Hard). */
static void test_json_arrays(void **state)
{
    (void)state;
    long n;
    assay_error err;
    assay__dataset_spec spec =
        file_spec(SHARED_DIR "/data/truthfulqa/mc_task.json");
    assert_int_equal(read_all(&spec, NULL, &n, NULL, &err), ASSAY_OK);
    assert_int_equal(n, 817);
    spec = file_spec(SHARED_DIR "/data/bbh/boolean_expressions.json");
    assert_int_equal(read_all(&spec, NULL, &n, NULL, &err), ASSAY_OK);
    assert_int_equal(n, 250);
    assay__case *c = first_case(&spec);
    assert_non_null(cJSON_GetObjectItem(c->vars, "target"));
    assay__case_unref(c);
}

/* OpenAI-evals samples: `ideal` is the expected answer; `input` is sent. */
static void test_openai_evals(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        long n;
    } files[] = {{"born_first.jsonl", 122},
                 {"math_equations.jsonl", 100},
                 {"multi-step-equations.jsonl", 15},
                 {"test_fuzzy_match.jsonl", 3}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[512];
        snprintf(path, sizeof path, SHARED_DIR "/data/openai-evals/%s",
                 files[i].file);
        assay__dataset_spec spec = file_spec(path);
        long n;
        assay_error err;
        assert_int_equal(read_all(&spec, NULL, &n, NULL, &err), ASSAY_OK);
        assert_int_equal(n, files[i].n);
    }
    assay__dataset_spec spec =
        file_spec(SHARED_DIR "/data/openai-evals/born_first.jsonl");
    assay__case *c = first_case(&spec);
    assert_string_equal(cJSON_GetObjectItem(c->vars, "expected")->valuestring,
                        "N");
    assay__prompt p = {.name = "default", .from_case = true};
    assay__rendered r;
    assay__rendered_init(&r);
    assay_error err;
    assert_int_equal(assay__prompt_render(&p, c, &r, &err), ASSAY_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.roles[0], "system");
    assert_string_equal(r.contents[1].data,
                        "Was Abraham Lincoln born before Franklin Pierce? "
                        "Answer Y or N.");
    assay__rendered_release(&r);
    assay__case_unref(c);

    /* A list `ideal` stays a list. */
    spec = file_spec(SHARED_DIR "/data/openai-evals/test_fuzzy_match.jsonl");
    c = first_case(&spec);
    const cJSON *e = cJSON_GetObjectItem(c->vars, "expected");
    assert_true(cJSON_IsArray(e));
    assert_string_equal(e->child->valuestring, "Millie Bobby Brown");
    assay__case_unref(c);
}

/* `map:` gives a public dataset's fields the names a suite uses. */
static void test_field_map(void **state)
{
    (void)state;
    assay__field_map map[] = {{"input", "question"}, {"expected", "answer"}};
    assay__dataset_spec spec = file_spec(SHARED_DIR "/data/gsm8k/test.jsonl");
    spec.map = map;
    spec.n_map = 2;
    assay__case *c = first_case(&spec);
    assert_true(!strncmp(cJSON_GetObjectItem(c->vars, "input")->valuestring,
                         "Janet", 5));
    assert_non_null(strstr(
        cJSON_GetObjectItem(c->vars, "expected")->valuestring, "#### 18"));
    assay__case_unref(c);

    assay__field_map bad[] = {{"expected", "solution"}};
    spec.map = bad;
    spec.n_map = 1;
    long n;
    assay_error err;
    assert_int_equal(read_all(&spec, NULL, &n, NULL, &err), ASSAY_ERR_DATASET);
    assert_non_null(strstr(err.message, "test.jsonl:1: missing field "
                                        "'solution' (the suite maps it to "
                                        "'expected')"));

    assay__field_map nested[] = {{"first", "choices.0"}, {"id", "subject"}};
    spec = file_spec(SHARED_DIR "/data/mmlu/mmlu_test.jsonl");
    spec.map = nested;
    spec.n_map = 1;
    c = first_case(&spec);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(c->vars, "first")));
    assay__case_unref(c);
    /* Mapping the id to a field that repeats makes duplicate ids. */
    spec.n_map = 2;
    assert_int_equal(read_all(&spec, NULL, &n, NULL, &err), ASSAY_ERR_DATASET);
    assert_non_null(strstr(err.message, ":2: duplicate id 'abstract_algebra'"));
}

/* ------------------------------------------------------------ bad data */

static void test_bad_records(void **state)
{
    (void)state;
    expect_error("{\"a\": \"\xC3\x28\"}\n", ":1:8: not valid UTF-8 (byte 0xC3)");
    expect_error("{\"id\": \"x\"}\n{\"id\": \"y\"}\n{\"id\": \"x\"}\n",
                 ":3: duplicate id 'x' (ids must be unique in a dataset)");
    expect_error("{\"id\": 5}\n{\"id\": \"5\"}\n", ":2: duplicate id '5'");
    expect_error("{\"checks\": {\"contains\": \"x\"}}\n",
                 ":1: 'checks' must be a list of checks");
    expect_error("{\"checks\": [{\"contans\": \"x\"}]}\n",
                 ":1: field 'checks': unknown check 'contans' (did you mean "
                 "'contains'?)");

    /* Skipping reports each bad line and goes on. */
    char *path = write_temp("{\"a\": 1}\nnot json\n{\"a\": \"\xff\"}\n[1]\n"
                            "{\"a\": 2}\n");
    assay__dataset_spec spec = file_spec(path);
    assay__select sel;
    assay__select_init(&sel);
    skipped sk = {0, ""};
    sel.skip = on_skip;
    sel.skip_data = &sk;
    long n;
    assay_error err;
    assay__buf ids;
    assay__buf_init(&ids, 0);
    assert_int_equal(read_all(&spec, &sel, &n, &ids, &err), ASSAY_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sk.n, 3);
    assert_string_equal(ids.data, "1,5");
    assert_non_null(strstr(sk.first, ":2:1: not valid JSON"));
    assay__buf_release(&ids);
    unlink(path);
    free(path);
}

/* A case's own checks, written in the JSON Lines file. */
static void test_case_checks(void **state)
{
    (void)state;
    char *path = write_temp("{\"q\": 1, \"checks\": [{\"equals\": \"{{q}}\"}, "
                            "{\"type\": \"contains\", \"value\": \"1\"}]}\n");
    assay__dataset_spec spec = file_spec(path);
    assay__case *c = first_case(&spec);
    assert_int_equal(c->n_checks, 2);
    assay__verdict v;
    assay__verdict_init(&v);
    assay_error err;
    assert_int_equal(assay__check_run(c->checks[0], "1", 1, c->vars, c->id,
                                      NULL, &v, &err),
                     ASSAY_OK);
    assert_true(v.pass);
    assay__verdict_release(&v);
    assay__case_unref(c);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------ selection */

static void test_selection(void **state)
{
    (void)state;
    assay__dataset_spec spec = file_spec(SHARED_DIR "/data/gsm8k/test.jsonl");
    assay__select sel;
    assay__select_init(&sel);
    long n;
    assay_error err;
    assay__buf a, b;
    assay__buf_init(&a, 0);
    assay__buf_init(&b, 0);

    sel.limit = 3;
    assert_int_equal(read_all(&spec, &sel, &n, &a, &err), ASSAY_OK);
    assert_string_equal(a.data, "1,2,3");

    /* A sample: n cases, in dataset order, the same for the same seed. */
    sel.limit = -1;
    sel.sample = 10;
    sel.seed = 42;
    assay__buf_reset(&a);
    assert_int_equal(read_all(&spec, &sel, &n, &a, &err), ASSAY_OK);
    assert_int_equal(n, 10);
    assert_int_equal(read_all(&spec, &sel, &n, &b, &err), ASSAY_OK);
    assert_string_equal(a.data, b.data);
    long prev = 0;
    for (char *p = a.data; *p;) {
        long id = strtol(p, &p, 10);
        assert_true(id > prev && id <= 1319);
        prev = id;
        p += *p == ',';
    }
    sel.seed = 43;
    assay__buf_reset(&b);
    assert_int_equal(read_all(&spec, &sel, &n, &b, &err), ASSAY_OK);
    assert_string_not_equal(a.data, b.data);

    /* Sample, then limit; a sample larger than the data is all of it. */
    sel.limit = 4;
    assert_int_equal(read_all(&spec, &sel, &n, NULL, &err), ASSAY_OK);
    assert_int_equal(n, 4);
    sel.limit = -1;
    sel.sample = 5000;
    assert_int_equal(read_all(&spec, &sel, &n, NULL, &err), ASSAY_OK);
    assert_int_equal(n, 1319);

    /* Filters, on fields and on the id. */
    assay__select_init(&sel);
    spec = file_spec(SHARED_DIR "/data/truthfulqa/TruthfulQA.csv");
    assert_int_equal(assay__select_add_filter(&sel, "Type", "Non-Adversarial"),
                     ASSAY_OK);
    assert_int_equal(read_all(&spec, &sel, &n, NULL, &err), ASSAY_OK);
    assert_int_equal(n, 380);
    assert_int_equal(assay__select_add_filter(&sel, "Category", "Misconceptions"),
                     ASSAY_OK);
    assert_int_equal(read_all(&spec, &sel, &n, NULL, &err), ASSAY_OK);
    assert_true(n > 0 && n < 380);
    assay__select_release(&sel);
    assay__select_init(&sel);
    assert_int_equal(assay__select_add_filter(&sel, "id", "10"), ASSAY_OK);
    assay__buf_reset(&a);
    assert_int_equal(read_all(&spec, &sel, &n, &a, &err), ASSAY_OK);
    assert_string_equal(a.data, "10");
    assay__select_release(&sel);
    assay__select_init(&sel);
    spec = file_spec(SHARED_DIR "/data/mmlu/mmlu_test.jsonl");
    assert_int_equal(assay__select_add_filter(&sel, "answer", "2"), ASSAY_OK);
    assert_int_equal(read_all(&spec, &sel, &n, NULL, &err), ASSAY_OK);
    assert_int_equal(n, 492);
    assay__select_release(&sel);
    assay__buf_release(&a);
    assay__buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_ids_and_blank_lines),
        cmocka_unit_test(test_jsonl_errors),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_gsm8k),
        cmocka_unit_test(test_inline_cases),
        cmocka_unit_test(test_csv_truthfulqa),
        cmocka_unit_test(test_csv_expected_columns),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_json_arrays),
        cmocka_unit_test(test_openai_evals),
        cmocka_unit_test(test_field_map),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_case_checks),
        cmocka_unit_test(test_selection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
