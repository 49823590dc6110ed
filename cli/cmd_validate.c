/*
 * cmd_validate.c - `assay validate SUITE`: loads a suite (every field,
 * template and check) without sending anything.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void validate_usage(FILE *out)
{
    fprintf(out, "usage: assay validate SUITE\n\n"
                 "Checks a suite file and exits 0 when it is valid, 2 with "
                 "the file, line and column of the first problem when not.\n\n"
                 "example:\n  assay validate examples/quickstart.yaml\n");
}

int cmd_validate(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        validate_usage(stdout);
        return EXIT_GATES_HOLD;
    }
    if (argc != 2 || argv[1][0] == '-') {
        validate_usage(stderr);
        return EXIT_USAGE;
    }
    assay_suite *suite;
    assay_error err;
    assay_status st = assay_suite_load(argv[1], &suite, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    printf("%s: suite '%s' is valid, with %zu target(s)\n", argv[1],
           assay_suite_name(suite), assay_suite_target_count(suite));
    assay_suite_free(suite);
    return EXIT_GATES_HOLD;
}
