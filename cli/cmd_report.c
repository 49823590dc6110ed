/*
 * cmd_report.c - `assay report RUN.jsonl`: the summary of a run record,
 * recomputed from its result lines, with the exit code of its gates.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void report_usage(FILE *out)
{
    fprintf(out, "usage: assay report RUN.jsonl\n\n"
                 "Prints the summary of a run record and exits 0 when every "
                 "gate holds, 1 when one fails.\n\n"
                 "example:\n  assay report .assay/runs/quickstart.jsonl\n");
}

int cmd_report(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        report_usage(stdout);
        return EXIT_GATES_HOLD;
    }
    if (argc != 2 || argv[1][0] == '-') {
        report_usage(stderr);
        return EXIT_USAGE;
    }
    return cli_print_record(argv[1], stdout);
}
