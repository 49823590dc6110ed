/*
 * cmd_rescore.c - `assay rescore RUN.jsonl SUITE [-o NEW.jsonl] [-q]`:
 * scores the answers of an earlier run again, with the suite's checks as
 * they are now. Nothing is sent to the targets (model-graded checks still
 * ask their grader).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rescore_usage(FILE *out)
{
    fprintf(out,
            "usage: assay rescore RUN.jsonl SUITE [-o NEW.jsonl] [-q]\n\n"
            "Grades the answers recorded in RUN.jsonl with SUITE's checks "
            "and writes a new\nrecord (default: RUN.rescored.jsonl), then "
            "prints its summary. Exit codes as\nfor 'assay run'.\n\n"
            "example:\n  assay rescore .assay/runs/capitals.jsonl "
            "capitals.yaml -o rescored.jsonl\n");
}

/* RUN.jsonl gives RUN.rescored.jsonl. */
static char *default_output(const char *record)
{
    size_t len = strlen(record);
    size_t stem = len > 6 && !strcmp(record + len - 6, ".jsonl") ? len - 6
                                                                  : len;
    char *out = malloc(stem + sizeof ".rescored.jsonl");
    if (out)
        snprintf(out, stem + sizeof ".rescored.jsonl", "%.*s.rescored.jsonl",
                 (int)stem, record);
    return out;
}

static int rescore(const char *record, const char *suite_path,
                   const char *output, bool quiet)
{
    assay_suite *suite;
    assay_run *run = NULL;
    assay_error err;
    assay_status st = assay_suite_load_env(suite_path, cli_getenv, NULL,
                                           &suite, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    st = assay_run_new(suite, &run, &err);
    if (st == ASSAY_OK) {
        assay_run_set_env(run, cli_getenv, NULL);
        assay_run_set_answers_from(run, record);
        assay_run_set_record_path(run, output);
        st = assay_run_execute(run, &err);
    }
    assay_run_free(run);
    assay_suite_free(suite);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    int code = cli_print_record(output, quiet ? NULL : stdout);
    if (quiet)
        printf("%s\n", code == EXIT_GATES_HOLD ? "PASS" : "FAIL");
    else
        printf("\nrun record: %s\n", output);
    return code;
}

int cmd_rescore(int argc, char **argv)
{
    const char *args[2] = {NULL, NULL}, *output = NULL;
    bool quiet = false;
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            rescore_usage(stdout);
            return EXIT_GATES_HOLD;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            output = argv[++i];
        } else if (!strcmp(argv[i], "-q")) {
            quiet = true;
        } else if (argv[i][0] != '-' && n < 2) {
            args[n++] = argv[i];
        } else {
            rescore_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (n != 2) {
        rescore_usage(stderr);
        return EXIT_USAGE;
    }
    char *fallback = output ? NULL : default_output(args[0]);
    if (!output && !fallback) {
        cli_error("out of memory");
        return EXIT_INCOMPLETE;
    }
    int code = rescore(args[0], args[1], output ? output : fallback, quiet);
    free(fallback);
    return code;
}
