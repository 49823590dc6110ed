/*
 * cmd_validate.c - `assay validate SUITE`: loads a suite (every field,
 * template and check, every unknown key named), reads every case of its
 * dataset and renders every prompt for it, without sending anything, and
 * prints what a run would do.
 *
 * Every bad dataset line is listed, not only the first, so that a file can
 * be fixed in one pass; they fail the validation unless --skip-bad-lines
 * says a run would skip them too.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bad lines listed before the rest are only counted. */
#define MAX_LISTED 20

static void validate_usage(FILE *out)
{
    fprintf(out,
            "usage: assay validate SUITE [--skip-bad-lines]\n\n"
            "Checks a suite without sending anything: loads it, reads every "
            "case of its\ndataset, renders every prompt for every case, and "
            "prints the counts. Exits 0\nwhen it is valid, 2 with the file, "
            "line and column of each problem when not.\n\n"
            "      --skip-bad-lines bad dataset lines are listed but do not "
            "fail it\n\n"
            "environment: ${NAME} in the suite is read from it.\n\n"
            "example:\n  assay validate examples/quickstart.yaml\n");
}

static void list_bad_line(const assay_error *why, void *user_data)
{
    long *listed = user_data;
    if ((*listed)++ < MAX_LISTED)
        cli_error("%s", why->message);
}

/* "a, b, c" of the names `name(suite, i)` gives, cut when long. */
static void print_names(const assay_suite *suite, size_t n,
                        const char *(*name)(const assay_suite *, size_t))
{
    for (size_t i = 0; i < n && i < 8; i++)
        printf("%s%s", i ? ", " : "", name(suite, i));
    if (n > 8)
        printf(", ... (%zu in all)", n);
}

static void print_counts(const char *path, const assay_suite *suite,
                         const assay_suite_counts *n)
{
    size_t targets = assay_suite_target_count(suite);
    size_t prompts = assay_suite_prompt_count(suite);
    printf("%s: suite '%s' is valid, with %zu target(s)\n", path,
           assay_suite_name(suite), targets);
    printf("  targets   %zu: ", targets);
    print_names(suite, targets, assay_suite_target_name);
    printf("\n  prompts   %zu: ", prompts);
    print_names(suite, prompts, assay_suite_prompt_name);
    printf("\n  checks    %zu for every case, plus each case's own\n",
           assay_suite_check_count(suite));
    printf("  cases     %ld", n->cases);
    if (n->skipped)
        printf(" (%ld bad line%s skipped)", n->skipped,
               n->skipped == 1 ? "" : "s");
    printf("\n  prompts rendered  %ld\n", n->renders);
    printf("  requests  %ld (cases x targets x prompts x repeat)\n",
           n->requests);
}

int cmd_validate(int argc, char **argv)
{
    const char *path = NULL;
    bool skip_bad_lines = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            validate_usage(stdout);
            return EXIT_GATES_HOLD;
        }
        if (!strcmp(argv[i], "--skip-bad-lines")) {
            skip_bad_lines = true;
        } else if (argv[i][0] == '-' || path) {
            validate_usage(stderr);
            return EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        validate_usage(stderr);
        return EXIT_USAGE;
    }
    assay_suite *suite;
    assay_error err;
    assay_status st = assay_suite_load_env(path, cli_getenv, NULL, &suite,
                                           &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    long listed = 0;
    assay_suite_counts n;
    st = assay_suite_validate(suite, list_bad_line, &listed, &n, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        assay_suite_free(suite);
        return cli_exit_for_input(st);
    }
    if (listed > MAX_LISTED)
        cli_error("... and %ld more bad lines", listed - MAX_LISTED);
    int code = EXIT_GATES_HOLD;
    if (n.skipped && !skip_bad_lines) {
        cli_error("%ld bad dataset line%s (a run stops at the first; "
                  "--skip-bad-lines skips them)",
                  n.skipped, n.skipped == 1 ? "" : "s");
        code = EXIT_USAGE;
    } else {
        print_counts(path, suite, &n);
    }
    assay_suite_free(suite);
    return code;
}
