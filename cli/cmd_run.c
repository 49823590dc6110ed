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
    int max_attempts;
    long deadline_s;
    long max_response_mb;
    const char *baseline;
    const char *cache_path;
    assay_cache_mode cache_mode;
    bool quiet;
    struct selection {
        long limit;
        long sample;
        unsigned long long seed;
        const char *filters[32]; /* "key=value", borrowed from argv */
        int n_filters;
        bool skip_bad_lines;
    } select;
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
            "      --max-attempts N attempts per request, retries included "
            "(default 5)\n"
            "      --deadline SEC   stop sending after SEC seconds; what "
            "is done is kept\n"
            "      --baseline RUN.jsonl  compare with an earlier run; a "
            "regression fails\n"
            "      --max-response-mb N  the largest reply accepted "
            "(default 8)\n"
            "      --cache PATH     the response cache (default "
            CLI_CACHE_DEFAULT_PATH ")\n"
            "      --cache-mode M   read-write (default), read (replay "
            "only: a miss is an\n"
            "                       error), write (refresh every reply) or "
            "off\n"
            "      --no-cache       the same as --cache-mode off\n"
            "  -q, --quiet          print only the verdict\n"
            "      --limit N        the first N cases (after --filter and "
            "--sample)\n"
            "      --sample N       N cases drawn at random (see --seed)\n"
            "      --seed S         the draw of --sample (default 0)\n"
            "      --filter K=V     only cases whose field K reads V "
            "(repeatable)\n"
            "      --skip-bad-lines report bad dataset lines and go on\n\n"
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

/* ------------------------------------------------------------ selection */

/* One selection option: 0 taken, 1 a bad value (said), 2 not one. */
static int parse_selection(int c, const char *arg, struct selection *sel)
{
    long v;
    char *end;
    switch (c) {
    case 'L':
    case 'S':
        if (!parse_long(arg, 0, LONG_MAX, &v)) {
            cli_error("--%s takes a number of cases, not '%s'",
                      c == 'L' ? "limit" : "sample", arg);
            return 1;
        }
        *(c == 'L' ? &sel->limit : &sel->sample) = v;
        return 0;
    case 'E':
        errno = 0;
        sel->seed = strtoull(arg, &end, 10);
        if (errno || end == arg || *end || *arg == '-') {
            cli_error("--seed takes a whole number, not '%s'", arg);
            return 1;
        }
        return 0;
    case 'F':
        if (!strchr(arg, '=') || *arg == '=') {
            cli_error("--filter takes KEY=VALUE, as in --filter "
                      "subject=astronomy, not '%s'", arg);
            return 1;
        }
        if (sel->n_filters == (int)(sizeof sel->filters /
                                    sizeof *sel->filters)) {
            cli_error("at most %zu --filter options",
                      sizeof sel->filters / sizeof *sel->filters);
            return 1;
        }
        sel->filters[sel->n_filters++] = arg;
        return 0;
    case 'B':
        sel->skip_bad_lines = true;
        return 0;
    default:
        return 2;
    }
}

static void report_skipped(const assay_error *why, void *user_data)
{
    (void)user_data;
    cli_error("skipped: %s", why->message);
}

static int apply_selection(assay_run *run, const struct selection *sel)
{
    assay_run_set_limit(run, sel->limit);
    assay_run_set_sample(run, sel->sample, sel->seed);
    if (sel->skip_bad_lines)
        assay_run_set_skip_bad_lines(run, report_skipped, NULL);
    for (int i = 0; i < sel->n_filters; i++) {
        const char *eq = strchr(sel->filters[i], '=');
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - sel->filters[i]),
                 sel->filters[i]);
        if (assay_run_add_filter(run, key, eq + 1) != ASSAY_OK) {
            cli_error("out of memory");
            return EXIT_INCOMPLETE;
        }
    }
    return EXIT_GATES_HOLD;
}

static bool parse_cache_mode(const char *text, assay_cache_mode *mode)
{
    static const struct {
        const char *name;
        assay_cache_mode mode;
    } modes[] = {
        {"read-write", ASSAY_CACHE_READ_WRITE},
        {"read", ASSAY_CACHE_READ},
        {"write", ASSAY_CACHE_WRITE},
        {"off", ASSAY_CACHE_OFF},
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (!strcmp(text, modes[i].name)) {
            *mode = modes[i].mode;
            return true;
        }
    return false;
}

static int parse_options(int argc, char **argv, run_options *o)
{
    static const struct option longopts[] = {
        {"concurrency", required_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 't'},
        {"max-attempts", required_argument, NULL, 'A'},
        {"deadline", required_argument, NULL, 'D'},
        {"max-response-mb", required_argument, NULL, 'R'},
        {"baseline", required_argument, NULL, 'b'},
        {"cache", required_argument, NULL, 'C'},
        {"cache-mode", required_argument, NULL, 'M'},
        {"no-cache", no_argument, NULL, 'N'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"limit", required_argument, NULL, 'L'},
        {"sample", required_argument, NULL, 'S'},
        {"seed", required_argument, NULL, 'E'},
        {"filter", required_argument, NULL, 'F'},
        {"skip-bad-lines", no_argument, NULL, 'B'},
        {NULL, 0, NULL, 0},
    };
    *o = (run_options){.concurrency = 8, .timeout_ms = 60000,
                       .max_attempts = 5,
                       .cache_path = CLI_CACHE_DEFAULT_PATH,
                       .cache_mode = ASSAY_CACHE_READ_WRITE,
                       .select = {.limit = -1, .sample = -1}};
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
        case 'A':
            if (!parse_long(optarg, 1, 100, &v)) {
                cli_error("--max-attempts takes a number from 1 to 100, not "
                          "'%s'",
                          optarg);
                return EXIT_USAGE;
            }
            o->max_attempts = (int)v;
            break;
        case 'D':
            if (!parse_long(optarg, 1, 31 * 86400, &v)) {
                cli_error("--deadline takes seconds, not '%s'", optarg);
                return EXIT_USAGE;
            }
            o->deadline_s = v;
            break;
        case 'b':
            o->baseline = optarg;
            break;
        case 'R':
            if (!parse_long(optarg, 1, 4096, &v)) {
                cli_error("--max-response-mb takes a number from 1 to 4096, "
                          "not '%s'",
                          optarg);
                return EXIT_USAGE;
            }
            o->max_response_mb = v;
            break;
        case 'C':
            o->cache_path = optarg;
            break;
        case 'M':
            if (!parse_cache_mode(optarg, &o->cache_mode)) {
                cli_error("--cache-mode takes read-write, read, write or off, "
                          "not '%s'",
                          optarg);
                return EXIT_USAGE;
            }
            break;
        case 'N':
            o->cache_mode = ASSAY_CACHE_OFF;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            run_usage(stdout);
            return -1;
        default: {
            int sel = parse_selection(c, optarg, &o->select);
            if (sel == 0)
                break;
            if (sel == 2)
                run_usage(stderr);
            return EXIT_USAGE;
        }
        }
    }
    if (optind + 1 != argc) {
        run_usage(stderr);
        return EXIT_USAGE;
    }
    o->suite_path = argv[optind];
    return EXIT_GATES_HOLD;
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
    fprintf(stderr,
            "%s%ld/%s done, %.0f/s, %.1f%% passed, %ld errors, %ld retries%s",
            ps->tty ? "\r\033[K" : "", p->done, total, rate, pass, p->errors,
            p->retries, ps->tty ? "" : "\n");
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
    assay_run_set_max_attempts(run, o->max_attempts);
    assay_run_set_deadline_ms(run, o->deadline_s * 1000);
    if (o->max_response_mb)
        assay_run_set_max_response_bytes(run,
                                         (size_t)o->max_response_mb << 20);
    assay_run_set_cache(run, o->cache_path, o->cache_mode);
    assay_run_set_record_path(run, record_path);
    assay_run_set_env(run, cli_getenv, NULL);
    assay_run_set_progress(run, on_progress, &ps);
    if (apply_selection(run, &o->select) != EXIT_GATES_HOLD) {
        assay_run_free(run);
        return EXIT_INCOMPLETE;
    }
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

/* The paired comparison with a baseline run; its exit code. */
static int compare_with_baseline(const char *baseline, const char *record,
                                 FILE *out)
{
    assay_compare *cmp;
    assay_error err;
    assay_status st = assay_compare_load(baseline, record, &cmp, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    if (out) {
        fprintf(out, "\ncompared with %s:\n\n", baseline);
        st = assay_compare_write(cmp, ASSAY_FORMAT_TEXT, out, &err);
    }
    int code = assay_compare_passed(cmp) ? EXIT_GATES_HOLD : EXIT_GATE_FAILED;
    assay_compare_free(cmp);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return EXIT_INCOMPLETE;
    }
    return code;
}

int cmd_run(int argc, char **argv)
{
    run_options o;
    int code = parse_options(argc, argv, &o);
    if (code != EXIT_GATES_HOLD)
        return code < 0 ? EXIT_GATES_HOLD : code;

    assay_suite *suite;
    assay_error err;
    assay_status st = assay_suite_load_env(o.suite_path, cli_getenv, NULL,
                                           &suite, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    cli_warn_insecure(suite);
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
    if (o.baseline && code <= EXIT_GATE_FAILED) {
        int regression = compare_with_baseline(o.baseline, record_path,
                                               o.quiet ? NULL : stdout);
        if (regression > code)
            code = regression;
    }
    if (!o.quiet)
        printf("\nrun record: %s\n", record_path);
    else
        printf("%s\n", code == EXIT_GATES_HOLD ? "PASS" : "FAIL");
    return code;
}
