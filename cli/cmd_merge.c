/*
 * cmd_merge.c - `assay merge SHARD.jsonl... -o RUN.jsonl`: joins the
 * records of the shards of one run (`assay run --shard I/N`) into the
 * record of the whole run, whose statistics are those of an unsharded run,
 * and prints its summary.
 *
 * Shards of different suites or configurations are refused, and so are a
 * missing shard or one that did not finish, unless --partial says a
 * merge of what is there is wanted (a warning says what is missing).
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void merge_usage(FILE *out)
{
    fprintf(out,
            "usage: assay merge SHARD.jsonl... -o RUN.jsonl [--partial] "
            "[-q]\n\n"
            "Joins the records of the shards of one run into one record and "
            "prints its\nsummary. Every shard 0..N-1 must be there and have "
            "finished, all of the same\nsuite and configuration.\n\n"
            "  -o, --output PATH  the merged record (required; not one of "
            "the shards)\n"
            "      --partial      merge the shards given even if some are "
            "missing or did\n"
            "                     not finish (a warning says which)\n"
            "  -q, --quiet        print only the verdict\n\n"
            "example:\n"
            "  assay merge shard-*.jsonl -o run.jsonl\n\n"
            "exit codes: 0 every gate of the merged run holds, 1 a gate "
            "failed, 2 bad\nrecords or arguments (shards that do not "
            "belong together), 3 the merged\nrecord could not be "
            "written.\n");
}

typedef struct merge_options {
    const char *output;
    bool partial;
    bool quiet;
} merge_options;

static int parse_options(int argc, char **argv, merge_options *o)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"partial", no_argument, NULL, 'p'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (merge_options){0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->output = optarg;
            break;
        case 'p':
            o->partial = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            merge_usage(stdout);
            return -1;
        default:
            merge_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!o->output || optind >= argc) {
        if (!o->output)
            cli_error("merge needs -o RUN.jsonl, the record to write");
        merge_usage(stderr);
        return EXIT_USAGE;
    }
    return EXIT_GATES_HOLD;
}

static void warn_partial(const assay_merge_info *info)
{
    if (info->missing)
        cli_error("warning: %ld of the %ld shards are missing: the "
                  "statistics cover the others only",
                  info->missing, info->count);
    if (info->unfinished)
        cli_error("warning: %ld merged shard(s) did not finish: their "
                  "missing results are not counted",
                  info->unfinished);
}

int cmd_merge(int argc, char **argv)
{
    merge_options o;
    int code = parse_options(argc, argv, &o);
    if (code != EXIT_GATES_HOLD)
        return code < 0 ? EXIT_GATES_HOLD : code;
    assay_merge_info info;
    assay_error err;
    assay_status st =
        assay_merge((const char *const *)argv + optind, (size_t)(argc - optind),
                    o.output, o.partial, &info, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        /* Shards that cannot be read or do not belong together are bad
           input; only writing the output is the merge's own failure. */
        return st == ASSAY_ERR_IO && !strstr(err.message, o.output)
                   ? EXIT_USAGE
                   : cli_exit_for(st);
    }
    warn_partial(&info);
    code = cli_print_record(o.output, o.quiet ? NULL : stdout);
    if (o.quiet)
        printf("%s\n", code == EXIT_GATES_HOLD ? "PASS" : "FAIL");
    else
        printf("\nmerged %ld of %ld shards, %ld results: %s\n", info.merged,
               info.count, info.results, o.output);
    return code;
}
