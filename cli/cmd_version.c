/*
 * cmd_version.c - `assay version`: the version of the library in use.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cmd_version(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: assay version\n\n"
               "Prints the version of the assay library in use.\n\n"
               "example:\n  assay version\n");
        return EXIT_GATES_HOLD;
    }
    if (argc > 1) {
        cli_error("version takes no arguments (try 'assay version --help')");
        return EXIT_USAGE;
    }
    printf("assay %s\n", assay_version());
    return EXIT_GATES_HOLD;
}
