/*
 * cmd_version.c - `assay version`: the version of the library in use.
 */
#include "cli.h"

#include <stdio.h>

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("assay %s\n", assay_version());
    return EXIT_GATES_HOLD;
}
