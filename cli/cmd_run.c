/*
 * cmd_run.c - `assay run SUITE`: runs a suite, shows progress on stderr,
 * prints the summary of the run record on stdout, and exits with the gates'
 * verdict.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct run_options {
    const char *suite_path;
    const char *record_path;
    int concurrency;
    long timeout_ms;
    bool quiet;
} run_options;

typedef struct progress_state {
    bool tty;
    bool quiet;
    double last_draw;
    double started;
    bool drawn;
} progress_state;

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: assay run SUITE [-j N] [-o RUN.jsonl] [--timeout SEC] "
            "[-q]\n\n"
            "Sends every case of SUITE to every target, scores the answers, "
            "writes the run\nrecord and prints the summary.\n\n"
            "  -j, --concurrency N  requests in flight at once (default 8)\n"
            "  -o, --output PATH    the run record (default "
            ".assay/runs/SUITE-TIME.jsonl)\n"
            "      --timeout SEC    timeout of one request (default 60)\n"
            "  -q, --quiet          print only the verdict\n\n"
            "environment: OPENAI_BASE_URL (targets without base_url), "
            "OPENAI_API_KEY\n(or the variable a target's api_key_env "
            "names).\n\n"
            "example:\n  assay run examples/quickstart.yaml -j 16 -o "
            "run.jsonl\n\n"
            "exit codes: 0 every gate holds, 1 a gate failed, 2 bad input, "
            "3 the run\ncould not be completed.\n");
}

static bool parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_options(int argc, char **argv, run_options *o)
{
    static const struct option longopts[] = {
        {"concurrency", required_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (run_options){.concurrency = 8, .timeout_ms = 60000};
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (!parse_long(optarg, 1, 65536, &v)) {
                cli_error("-j takes a number from 1 to 65536, not '%s'",
                          optarg);
                return EXIT_USAGE;
            }
            o->concurrency = (int)v;
            break;
        case 'o':
            o->record_path = optarg;
            break;
        case 't':
            if (!parse_long(optarg, 1, 86400, &v)) {
                cli_error("--timeout takes seconds from 1 to 86400, not '%s'",
                          optarg);
                return EXIT_USAGE;
            }
            o->timeout_ms = v * 1000;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            run_usage(stdout);
            return -1;
        default:
            run_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        run_usage(stderr);
        return EXIT_USAGE;
    }
    o->suite_path = argv[optind];
    return EXIT_GATES_HOLD;
}

static const char *lookup_env(const char *name, void *user_data)
{
    (void)user_data;
    return getenv(name);
}

/* ------------------------------------------------------------ progress */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw_progress(const assay_progress *p, progress_state *ps)
{
    double elapsed = now_seconds() - ps->started;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    long judged = p->passed + p->failed + p->errors;
    double pass = judged ? 100.0 * (double)p->passed / (double)judged : 0;
    char total[32] = "?";
    if (p->total >= 0)
        snprintf(total, sizeof total, "%ld", p->total);
    fprintf(stderr, "%s%ld/%s done, %.0f/s, %.1f%% passed, %ld errors%s",
            ps->tty ? "\r\033[K" : "", p->done, total, rate, pass, p->errors,
            ps->tty ? "" : "\n");
    ps->drawn = true;
}

/* A live line on a terminal (10 times a second at most); in a log, a plain
   line every 5 seconds. */
static void on_progress(const assay_progress *p, void *user_data)
{
    progress_state *ps = user_data;
    if (ps->quiet)
        return;
    double t = now_seconds();
    double every = ps->tty ? 0.1 : 5.0;
    if (t - ps->last_draw < every)
        return;
    ps->last_draw = t;
    draw_progress(p, ps);
}

static void clear_progress(const progress_state *ps)
{
    if (ps->tty && ps->drawn)
        fputs("\r\033[K", stderr);
}

/* ------------------------------------------------------------ record */

static int make_dirs(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/* .assay/runs/SUITE-20261129T081500Z.jsonl */
static int default_record_path(const char *suite_name, char *out, size_t size)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, size, ".assay/runs/%s-%s.jsonl", suite_name, stamp);
    for (char *p = out + strlen(".assay/runs/"); *p; p++)
        if (*p == '/' || *p == ' ')
            *p = '_';
    return make_dirs(out);
}

/* ------------------------------------------------------------ run */

static int execute(const run_options *o, assay_suite *suite,
                   const char *record_path)
{
    assay_run *run;
    assay_error err;
    assay_status st = assay_run_new(suite, &run, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for(st);
    }
    progress_state ps = {.tty = isatty(STDERR_FILENO) == 1,
                         .quiet = o->quiet,
                         .started = now_seconds()};
    ps.last_draw = ps.started;
    assay_run_set_concurrency(run, o->concurrency);
    assay_run_set_timeout_ms(run, o->timeout_ms);
    assay_run_set_record_path(run, record_path);
    assay_run_set_env(run, lookup_env, NULL);
    assay_run_set_progress(run, on_progress, &ps);
    st = assay_run_execute(run, &err);
    clear_progress(&ps);
    assay_run_free(run);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        cli_error("the results before this are in %s", record_path);
        return cli_exit_for(st);
    }
    return EXIT_GATES_HOLD;
}

int cmd_run(int argc, char **argv)
{
    run_options o;
    int code = parse_options(argc, argv, &o);
    if (code != EXIT_GATES_HOLD)
        return code < 0 ? EXIT_GATES_HOLD : code;

    assay_suite *suite;
    assay_error err;
    assay_status st = assay_suite_load(o.suite_path, &suite, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    char record_path[PATH_MAX];
    if (o.record_path) {
        snprintf(record_path, sizeof record_path, "%s", o.record_path);
    } else if (default_record_path(assay_suite_name(suite), record_path,
                                   sizeof record_path) != 0) {
        cli_error("cannot create the folder of %s: %s", record_path,
                  strerror(errno));
        assay_suite_free(suite);
        return EXIT_INCOMPLETE;
    }
    code = execute(&o, suite, record_path);
    assay_suite_free(suite);
    if (code != EXIT_GATES_HOLD)
        return code;

    /* The summary comes from the record, as every report does. */
    code = cli_print_record(record_path, o.quiet ? NULL : stdout);
    if (!o.quiet)
        printf("\nrun record: %s\n", record_path);
    else
        printf("%s\n", code == EXIT_GATES_HOLD ? "PASS" : "FAIL");
    return code;
}
