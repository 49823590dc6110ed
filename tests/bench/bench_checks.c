/*
 * bench_checks.c - how many checks a second the check families run: N
 * generated answers (English-like sentences of 12 to 60 words, with
 * numbers and punctuation), each case with its own reference that shares
 * about two thirds of the answer's words, scored by each check of the
 * table below through assay__check_run, as a run scores them (the value
 * rendered from the case, the reason written).
 *
 * usage: bench_checks [N]   (default 100000)
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One benchmarked check: its name and the suite entry that makes it. */
typedef struct bench_case {
    const char *name;
    const char *yaml;
} bench_case;

static const bench_case cases[] = {
    {"regex", "checks:\n  - {type: regex, value: '\\b(?:answer|total) is "
              "(\\d+)', flags: i}\n"},
    {"bleu", "checks:\n  - bleu: \"{{reference}}\"\n"},
    {"rouge-l", "checks:\n  - rouge-l: \"{{reference}}\"\n"},
    {"rouge-1", "checks:\n  - rouge-1: \"{{reference}}\"\n"},
    {"f1", "checks:\n  - f1: \"{{reference}}\"\n"},
    {"icontains", "checks:\n  - icontains: \"{{key}}\"\n"},
    {"numeric", "checks:\n  - numeric: \"{{number}}\"\n"},
};

static const char *const words[] = {
    "the",    "answer", "is",      "a",      "model",   "city",    "river",
    "number", "of",     "and",     "total",  "France",  "Paris",   "because",
    "we",     "add",    "then",    "divide", "by",      "two",     "so",
    "each",   "person", "gets",    "apples", "in",      "May",     "April",
    "sold",   "clips",  "friends", "half",   "as",      "many",    "more",
    "than",   "its",    "capital", "north",  "largest", "between", "which",
};
#define N_WORDS (sizeof words / sizeof *words)

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;

static unsigned next_rand(void)
{
    rng ^= rng << 13; /* xorshift64: the same answers every run */
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 32);
}

/* A sentence of `n` words into out; ends with "the answer is N." */
static void sentence(assay__buf *out, int n, unsigned number)
{
    for (int i = 0; i < n; i++) {
        assay__buf_puts(out, i ? " " : "");
        if (next_rand() % 11 == 0)
            assay__buf_printf(out, "%u", next_rand() % 1000);
        else
            assay__buf_puts(out, words[next_rand() % N_WORDS]);
        if (next_rand() % 9 == 0)
            assay__buf_putc(out, ',');
    }
    assay__buf_printf(out, ". So the answer is %u.", number);
}

/* Keeps about two thirds of the answer's words, replaces the rest. */
static void reference_of(const char *answer, assay__buf *out)
{
    const char *p = answer;
    while (*p) {
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (next_rand() % 3 == 0)
            assay__buf_puts(out, words[next_rand() % N_WORDS]);
        else
            assay__buf_append(out, p, len);
        if (!end)
            break;
        assay__buf_putc(out, ' ');
        p = end + 1;
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    if (n < 1) {
        fprintf(stderr, "usage: bench_checks [N]\n");
        return 2;
    }
    char **answers = calloc((size_t)n, sizeof *answers);
    cJSON **vars = calloc((size_t)n, sizeof *vars);
    if (!answers || !vars)
        return 3;
    size_t bytes = 0;
    for (long i = 0; i < n; i++) {
        assay__buf a, r;
        assay__buf_init(&a, 0);
        assay__buf_init(&r, 0);
        unsigned number = next_rand() % 10000;
        sentence(&a, 12 + (int)(next_rand() % 49), number);
        reference_of(a.data, &r);
        vars[i] = cJSON_CreateObject();
        cJSON_AddStringToObject(vars[i], "reference", r.data);
        cJSON_AddStringToObject(vars[i], "key", words[next_rand() % N_WORDS]);
        cJSON_AddNumberToObject(vars[i], "number", number);
        bytes += a.len;
        answers[i] = assay__buf_detach(&a, NULL);
        assay__buf_release(&r);
    }
    printf("%ld answers, %.0f bytes each on average\n", n,
           (double)bytes / (double)n);
    printf("%-10s %14s %10s %8s\n", "check", "checks/s", "seconds", "passed");

    int status = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        assay__doc *doc;
        assay__check *check;
        assay_error err;
        if (assay__doc_parse("bench.yaml", cases[c].yaml, strlen(cases[c].yaml),
                             &doc, &err) != ASSAY_OK ||
            assay__check_compile(
                doc,
                cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                                       assay__doc_root(doc), "checks"),
                                   0),
                &check, &err) != ASSAY_OK) {
            fprintf(stderr, "%s: %s\n", cases[c].name, err.message);
            return 3;
        }
        assay__verdict v;
        assay__verdict_init(&v);
        long passed = 0;
        double start = now();
        for (long i = 0; i < n; i++) {
            if (assay__check_run(check, answers[i], strlen(answers[i]), vars[i],
                                 "case", NULL, &v, &err) != ASSAY_OK) {
                fprintf(stderr, "%s: %s\n", cases[c].name, err.message);
                status = 3;
                break;
            }
            passed += v.pass;
        }
        double secs = now() - start;
        printf("%-10s %14.0f %10.3f %8ld\n", cases[c].name, (double)n / secs,
               secs, passed);
        assay__verdict_release(&v);
        assay__check_free(check);
        assay__doc_free(doc);
    }
    for (long i = 0; i < n; i++) {
        free(answers[i]);
        cJSON_Delete(vars[i]);
    }
    free(answers);
    free(vars);
    return status;
}
