/*
 * cmd_cache.c - `assay cache stats` and `assay cache clear`: what the
 * response cache holds, per base URL and model, and emptying it.
 *
 * It reads and clears a cache file; it never fills one (runs do).
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void cache_usage(FILE *out)
{
    fprintf(out,
            "usage: assay cache stats [--cache PATH]\n"
            "       assay cache clear [--cache PATH]\n\n"
            "The response cache keeps complete, successful responses, so "
            "that a run sends\nonly what it has not sent before.\n\n"
            "  stats         entries and stored bytes, per base URL and "
            "model\n"
            "  clear         remove every entry (the file stays, other runs "
            "may use it)\n"
            "  --cache PATH  the cache file (default %s)\n\n"
            "example:\n  assay cache stats --cache ci/cache.db\n\n"
            "exit codes: 0 done, 2 bad arguments or a file that is not a "
            "cache.\n",
            CLI_CACHE_DEFAULT_PATH);
}

/* Reads `--cache PATH` after the subcommand; -1 when --help was shown. */
static int parse_cache_options(int argc, char **argv, const char **path)
{
    static const struct option longopts[] = {
        {"cache", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *path = CLI_CACHE_DEFAULT_PATH;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (!*optarg) {
                cli_error("--cache takes a file path, not an empty string");
                return EXIT_USAGE;
            }
            *path = optarg;
            break;
        case 'h':
            cache_usage(stdout);
            return -1;
        default:
            cache_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        cache_usage(stderr);
        return EXIT_USAGE;
    }
    return EXIT_GATES_HOLD;
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

typedef struct target_rows {
    int n;
} target_rows;

static void print_target(const char *base_url, const char *model,
                         long long entries, long long bytes, void *user_data)
{
    target_rows *rows = user_data;
    if (rows->n++ == 0)
        printf("\n%-40s %-24s %10s %12s\n", "base url", "model", "entries",
               "bytes");
    printf("%-40s %-24s %10lld %12lld\n", base_url, *model ? model : "-",
           entries, bytes);
}

static int cache_stats(const char *path)
{
    if (!file_exists(path)) {
        printf("cache: %s (no file yet)\nentries: 0\n", path);
        return EXIT_GATES_HOLD;
    }
    long long entries, bytes;
    assay_error err;
    assay_status st = assay_cache_stats(path, &entries, &bytes, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    printf("cache: %s\nentries: %lld (%lld bytes of responses)\n", path,
           entries, bytes);
    target_rows rows = {0};
    st = assay_cache_stats_by_target(path, print_target, &rows, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    return EXIT_GATES_HOLD;
}

static int cache_clear(const char *path)
{
    if (!file_exists(path)) {
        printf("cache: %s (no file, nothing to clear)\n", path);
        return EXIT_GATES_HOLD;
    }
    long long removed;
    assay_error err;
    assay_status st = assay_cache_clear(path, &removed, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    printf("cache: %s\nremoved: %lld entries\n", path, removed);
    return EXIT_GATES_HOLD;
}

int cmd_cache(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cache_usage(stdout);
        return EXIT_GATES_HOLD;
    }
    if (argc < 2 || (strcmp(argv[1], "stats") && strcmp(argv[1], "clear"))) {
        if (argc >= 2)
            cli_error("unknown cache command '%s' (stats or clear)", argv[1]);
        cache_usage(stderr);
        return EXIT_USAGE;
    }
    const char *path;
    int code = parse_cache_options(argc - 1, argv + 1, &path);
    if (code != EXIT_GATES_HOLD)
        return code < 0 ? EXIT_GATES_HOLD : code;
    return !strcmp(argv[1], "stats") ? cache_stats(path) : cache_clear(path);
}
