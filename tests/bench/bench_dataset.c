/*
 * bench_dataset.c - how fast cases load and render, and how much memory it
 * takes: writes a JSON Lines file of N GSM8K-like cases, then validates a
 * suite over it through the public API (every case read, checked and
 * mapped, every prompt rendered), and prints cases per second and the
 * process's peak resident memory.
 *
 * usage: bench_dataset N [ids] [DIR]
 *   N    cases to generate
 *   ids  give each case an `id` field (duplicate detection keeps 16 bytes
 *        per explicit id; without ids the line numbers are the ids)
 *   DIR  where the files go (default /tmp)
 */
#include <assay.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* KiB on Linux */
}

static int write_dataset(const char *path, long n, int ids)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (long i = 0; i < n; i++) {
        if (ids)
            fprintf(f, "{\"id\":\"q%ld\",", i);
        else
            fputc('{', f);
        fprintf(f,
                "\"question\":\"Natalia sold clips to %ld of her friends in "
                "April, and then she sold half as many clips in May. How many "
                "clips did Natalia sell altogether in April and May?\","
                "\"answer\":\"Natalia sold %ld/2 = <<%ld/2=%ld>>%ld clips in "
                "May.\\n#### %ld\",\"meta\":{\"level\":%ld,\"tags\":"
                "[\"arithmetic\",\"word\"]}}\n",
                i, i, i, i / 2, i / 2, i + i / 2, i % 5);
    }
    return fclose(f);
}

static int write_suite(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "name: bench\n"
            "targets: [{model: m}]\n"
            "dataset: {path: %s, map: {input: question, expected: answer}}\n"
            "prompt:\n"
            "  - system: Solve the problem. End with '#### N'.\n"
            "  - user: |\n"
            "      {{#if meta.level}}Level {{meta.level}}. {{/if}}"
            "Tags: {{meta.tags | join(\", \")}}\n"
            "      Question: {{input | trim}}\n"
            "checks: [{contains: \"{{expected}}\"}]\n",
            data);
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_dataset N [ids] [DIR]\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    int ids = argc > 2 && !strcmp(argv[2], "ids");
    const char *dir = argc > 3 ? argv[3] : "/tmp";
    char data[512], suite_path[512];
    snprintf(data, sizeof data, "%s/assay-bench-%ld%s.jsonl", dir, n,
             ids ? "-ids" : "");
    snprintf(suite_path, sizeof suite_path, "%s/assay-bench-%ld%s.yaml", dir,
             n, ids ? "-ids" : "");
    if (write_dataset(data, n, ids) || write_suite(suite_path, data)) {
        perror("writing the files");
        return 1;
    }
    FILE *f = fopen(data, "rb");
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fclose(f);
    long rss_before = peak_rss_kib();

    double t0 = now();
    assay_suite *suite;
    assay_error err;
    if (assay_suite_load(suite_path, &suite, &err) != ASSAY_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    assay_suite_counts counts;
    if (assay_suite_validate(suite, NULL, NULL, &counts, &err) != ASSAY_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double t = now() - t0;
    assay_suite_free(suite);
    remove(data);
    remove(suite_path);

    printf("%9ld cases%s  %6.1f MiB file  %6.2f s  %9.0f cases/s  "
           "peak RSS %6.1f MiB (%.1f MiB before loading)\n",
           counts.cases, ids ? " with ids" : "         ",
           (double)bytes / 1048576.0, t, (double)counts.cases / t,
           (double)peak_rss_kib() / 1024.0, (double)rss_before / 1024.0);
    return counts.cases == n ? 0 : 1;
}
