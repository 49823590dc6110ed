/*
 * cmd_run.c - `assay run SUITE`: runs a suite, shows progress on stderr,
 * prints the summary of the run record on stdout, and exits with the gates'
 * verdict.
 *
 * The options come from the command line, then from ASSAY_* variables
 * (env.c), and override the suite file (--target, --prompt, --repeat).
 * Ctrl-C stops the run cleanly (signals.c) and the message says how to go
 * on with --resume. Progress and -v are in progress.c.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Repeatable options keep at most this many values. */
#define MAX_NAMES 32
/* The cases whose prompts --dry-run shows. */
#define DRY_RUN_SHOWN 3

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
    bool verbose;
    bool json;
    bool dry_run;
    const char *resume;
    long shard_index;
    long shard_count; /* 0: not sharded */
    double max_cost;  /* NaN: no limit */
    int repeat;       /* 0: the suite's */
    const char *targets[MAX_NAMES];
    int n_targets;
    const char *prompts[MAX_NAMES];
    int n_prompts;
    const char *reports[MAX_NAMES]; /* --report FORMAT:PATH, borrowed */
    int n_reports;
    struct selection {
        long limit;
        long sample;
        unsigned long long seed;
        const char *filters[MAX_NAMES]; /* "key=value", borrowed */
        int n_filters;
        bool skip_bad_lines;
    } select;
} run_options;

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: assay run SUITE [-j N] [-o RUN.jsonl] [--resume RUN.jsonl] "
            "[--shard I/N]\n"
            "                 [--target NAME] [--prompt NAME] [--repeat K] "
            "[--dry-run] [-q|-v] [--json]\n\n"
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
            "      --max-cost USD   stop sending before the estimated spend "
            "passes USD\n"
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
            "  -v, --verbose        print each failing case and its reasons "
            "as it comes\n"
            "      --json           print the summary as JSON on stdout\n"
            "      --report F:PATH  also write the report in format F "
            "(json, junit,\n"
            "                       markdown, html, csv, text) to PATH "
            "(repeatable)\n"
            "      --dry-run        render the first prompts, count the "
            "requests and\n"
            "                       estimate tokens and cost; send nothing\n"
            "      --resume RUN.jsonl  finish an interrupted run, sending "
            "only what it lacks\n"
            "      --shard I/N      run shard I (0 to N-1) of N; see "
            "'assay merge'\n"
            "      --target NAME    only this target (repeatable)\n"
            "      --prompt NAME    only this prompt variant (repeatable)\n"
            "      --repeat K       send each case K times (overrides the "
            "suite)\n"
            "      --limit N        the first N cases (after --filter and "
            "--sample)\n"
            "      --sample N       N cases drawn at random (see --seed)\n"
            "      --seed S         the draw of --sample (default 0)\n"
            "      --filter K=V     only cases whose field K reads V "
            "(repeatable)\n"
            "      --skip-bad-lines report bad dataset lines and go on\n\n"
            "Ctrl-C stops sending and lets the requests in flight finish "
            "(twice: abandons\nthem); the summary of what is done is "
            "printed, with the command that\nfinishes the run.\n\n"
            "OPENAI_BASE_URL (targets without base_url), OPENAI_API_KEY (or "
            "the variable a\ntarget's api_key_env names).\n");
    cli_env_help(out);
    fprintf(out,
            "\nexamples:\n"
            "  assay run examples/quickstart.yaml -j 16 -o run.jsonl\n"
            "  assay run examples/quickstart.yaml --resume run.jsonl\n"
            "  assay run suite.yaml --shard 0/4 -o shard-0.jsonl\n\n"
            "exit codes: 0 every gate holds, 1 a gate failed, 2 bad input, "
            "3 the run\ncould not be completed or was interrupted.\n");
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
        if (sel->n_filters == MAX_NAMES) {
            cli_error("at most %d --filter options", MAX_NAMES);
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

/* ------------------------------------------------------------ options */

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

/* "I/N" with 0 <= I < N <= 1000000. */
static bool parse_shard(const char *text, long *index, long *count)
{
    const char *slash = strchr(text, '/');
    char first[32];
    if (!slash || slash == text || (size_t)(slash - text) >= sizeof first)
        return false;
    snprintf(first, sizeof first, "%.*s", (int)(slash - text), text);
    return parse_long(first, 0, 999999, index) &&
           parse_long(slash + 1, 1, 1000000, count) && *index < *count;
}

static bool parse_dollars(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= 0) || isinf(v))
        return false;
    *out = v;
    return true;
}

static int add_name(const char *option, const char *arg, const char **names,
                    int *n)
{
    if (*n == MAX_NAMES) {
        cli_error("at most %d --%s options", MAX_NAMES, option);
        return EXIT_USAGE;
    }
    names[(*n)++] = arg;
    return 0;
}

static const struct option run_longopts[] = {
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
    {"verbose", no_argument, NULL, 'v'},
    {"json", no_argument, NULL, 'J'},
    {"dry-run", no_argument, NULL, 'n'},
    {"resume", required_argument, NULL, 'r'},
    {"shard", required_argument, NULL, 'H'},
    {"max-cost", required_argument, NULL, '$'},
    {"target", required_argument, NULL, 'T'},
    {"prompt", required_argument, NULL, 'P'},
    {"repeat", required_argument, NULL, 'K'},
    {"help", no_argument, NULL, 'h'},
    {"limit", required_argument, NULL, 'L'},
    {"sample", required_argument, NULL, 'S'},
    {"seed", required_argument, NULL, 'E'},
    {"filter", required_argument, NULL, 'F'},
    {"skip-bad-lines", no_argument, NULL, 'B'},
    {"report", required_argument, NULL, 'W'},
    {NULL, 0, NULL, 0},
};

/* The options about what is run and how it is shown; 0 when taken. */
static int apply_run_option(int c, const char *arg, run_options *o)
{
    long v;
    switch (c) {
    case 'q':
        o->quiet = true;
        return 0;
    case 'v':
        o->verbose = true;
        return 0;
    case 'J':
        o->json = true;
        return 0;
    case 'n':
        o->dry_run = true;
        return 0;
    case 'r':
        o->resume = arg;
        return 0;
    case 'H':
        if (!parse_shard(arg, &o->shard_index, &o->shard_count)) {
            cli_error("--shard takes I/N, the shard from 0 to N-1 of N "
                      "shards (as in --shard 0/4), not '%s'",
                      arg);
            return EXIT_USAGE;
        }
        return 0;
    case '$':
        if (!parse_dollars(arg, &o->max_cost)) {
            cli_error("--max-cost takes US dollars, as in --max-cost 2.50, "
                      "not '%s'",
                      arg);
            return EXIT_USAGE;
        }
        return 0;
    case 'T':
        return add_name("target", arg, o->targets, &o->n_targets);
    case 'P':
        return add_name("prompt", arg, o->prompts, &o->n_prompts);
    case 'W': {
        assay_format format;
        const char *path;
        if (!cli_parse_report_spec(arg, &format, &path))
            return EXIT_USAGE;
        return add_name("report", arg, o->reports, &o->n_reports);
    }
    case 'K':
        if (!parse_long(arg, 1, 100000, &v)) {
            cli_error("--repeat takes a number from 1 to 100000, not '%s'",
                      arg);
            return EXIT_USAGE;
        }
        o->repeat = (int)v;
        return 0;
    default: {
        int sel = parse_selection(c, arg, &o->select);
        if (sel == 2) {
            run_usage(stderr);
            return EXIT_USAGE;
        }
        return sel ? EXIT_USAGE : 0;
    }
    }
}

/* The options of the engine and the record; 0 when taken. */
static int apply_option(int c, const char *arg, void *options)
{
    run_options *o = options;
    long v;
    switch (c) {
    case 'j':
        if (!parse_long(arg, 1, 65536, &v)) {
            cli_error("-j takes a number from 1 to 65536, not '%s'", arg);
            return EXIT_USAGE;
        }
        o->concurrency = (int)v;
        return 0;
    case 'o':
        o->record_path = arg;
        return 0;
    case 't':
        if (!parse_long(arg, 1, 86400, &v)) {
            cli_error("--timeout takes seconds from 1 to 86400, not '%s'",
                      arg);
            return EXIT_USAGE;
        }
        o->timeout_ms = v * 1000;
        return 0;
    case 'A':
        if (!parse_long(arg, 1, 100, &v)) {
            cli_error("--max-attempts takes a number from 1 to 100, not "
                      "'%s'",
                      arg);
            return EXIT_USAGE;
        }
        o->max_attempts = (int)v;
        return 0;
    case 'D':
        if (!parse_long(arg, 1, 31 * 86400, &v)) {
            cli_error("--deadline takes seconds, not '%s'", arg);
            return EXIT_USAGE;
        }
        o->deadline_s = v;
        return 0;
    case 'b':
        o->baseline = arg;
        return 0;
    case 'R':
        if (!parse_long(arg, 1, 4096, &v)) {
            cli_error("--max-response-mb takes a number from 1 to 4096, "
                      "not '%s'",
                      arg);
            return EXIT_USAGE;
        }
        o->max_response_mb = v;
        return 0;
    case 'C':
        o->cache_path = arg;
        return 0;
    case 'M':
        if (!parse_cache_mode(arg, &o->cache_mode)) {
            cli_error("--cache-mode takes read-write, read, write or off, "
                      "not '%s'",
                      arg);
            return EXIT_USAGE;
        }
        return 0;
    case 'N':
        o->cache_mode = ASSAY_CACHE_OFF;
        return 0;
    default:
        return apply_run_option(c, arg, o);
    }
}

static int check_options(const run_options *o)
{
    if (o->quiet && o->verbose) {
        cli_error("-q and -v contradict each other: choose one");
        return EXIT_USAGE;
    }
    if (o->resume && o->record_path && strcmp(o->resume, o->record_path)) {
        cli_error("--resume goes on writing %s: leave -o out", o->resume);
        return EXIT_USAGE;
    }
    if (o->resume && access(o->resume, F_OK) != 0) {
        cli_error("%s: cannot resume it: %s", o->resume, strerror(errno));
        return EXIT_USAGE;
    }
    return EXIT_GATES_HOLD;
}

static int parse_options(int argc, char **argv, run_options *o)
{
    *o = (run_options){.concurrency = 8, .timeout_ms = 60000,
                       .max_attempts = 5,
                       .cache_path = CLI_CACHE_DEFAULT_PATH,
                       .cache_mode = ASSAY_CACHE_READ_WRITE,
                       .max_cost = NAN,
                       .select = {.limit = -1, .sample = -1}};
    bool given[256] = {false};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:o:qvh", run_longopts, NULL)) !=
           -1) {
        if (c == 'h') {
            run_usage(stdout);
            return -1;
        }
        if (c == '?' || c == ':') {
            run_usage(stderr);
            return EXIT_USAGE;
        }
        int code = apply_option(c, optarg, o);
        if (code != 0)
            return code;
        given[c & 0xff] = true;
    }
    if (optind + 1 != argc) {
        run_usage(stderr);
        return EXIT_USAGE;
    }
    o->suite_path = argv[optind];
    int code = cli_env_options(run_longopts, given, apply_option, o);
    return code ? code : check_options(o);
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
static void default_record_path(const char *suite_name, char *out,
                                size_t size)
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
}

/* Where the record goes, its folder made; an exit code on failure. */
static int record_path_of(const run_options *o, const assay_suite *suite,
                          char *out, size_t size)
{
    if (o->resume)
        snprintf(out, size, "%s", o->resume);
    else if (o->record_path)
        snprintf(out, size, "%s", o->record_path);
    else
        default_record_path(assay_suite_name(suite), out, size);
    if (make_dirs(out) != 0) {
        cli_error("cannot create the folder of %s: %s", out,
                  strerror(errno));
        return EXIT_INCOMPLETE;
    }
    return EXIT_GATES_HOLD;
}

/* ------------------------------------------------------------ suite */

/* --target, --prompt and --repeat override the suite file. */
static int narrow_suite(const run_options *o, assay_suite *suite)
{
    assay_error err;
    assay_status st = ASSAY_OK;
    if (o->n_targets)
        st = assay_suite_keep_targets(suite, o->targets,
                                      (size_t)o->n_targets, &err);
    if (st == ASSAY_OK && o->n_prompts)
        st = assay_suite_keep_prompts(suite, o->prompts,
                                      (size_t)o->n_prompts, &err);
    if (st == ASSAY_OK && o->repeat)
        st = assay_suite_set_repeat(suite, o->repeat, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for(st);
    }
    return EXIT_GATES_HOLD;
}

/* The run with every option set; NULL (said) on failure. */
static assay_run *new_run(const run_options *o, const assay_suite *suite,
                          int *code)
{
    assay_run *run;
    assay_error err;
    assay_status st = assay_run_new(suite, &run, &err);
    if (st == ASSAY_OK && o->shard_count > 1 &&
        (st = assay_run_set_shard(run, o->shard_index, o->shard_count)) !=
            ASSAY_OK)
        snprintf(err.message, sizeof err.message, "--shard %ld/%ld: %s",
                 o->shard_index, o->shard_count, assay_strerror(st));
    if (st == ASSAY_OK && !isnan(o->max_cost))
        st = assay_run_set_max_cost(run, o->max_cost, &err);
    if (st == ASSAY_OK && o->resume)
        st = assay_run_set_resume(run, o->resume);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        *code = cli_exit_for(st);
        assay_run_free(run);
        return NULL;
    }
    assay_run_set_concurrency(run, o->concurrency);
    assay_run_set_timeout_ms(run, o->timeout_ms);
    assay_run_set_max_attempts(run, o->max_attempts);
    assay_run_set_deadline_ms(run, o->deadline_s * 1000);
    if (o->max_response_mb)
        assay_run_set_max_response_bytes(run,
                                         (size_t)o->max_response_mb << 20);
    assay_run_set_cache(run, o->cache_path, o->cache_mode);
    assay_run_set_env(run, cli_getenv, NULL);
    *code = apply_selection(run, &o->select);
    if (*code != EXIT_GATES_HOLD) {
        assay_run_free(run);
        return NULL;
    }
    return run;
}

/* ------------------------------------------------------------ dry run */

static void show_message(const char *case_id, const char *prompt,
                         size_t index, const char *role, const char *content,
                         void *user_data)
{
    (void)user_data;
    if (index == 0)
        printf("\ncase '%s', prompt '%s':\n", case_id, prompt);
    printf("  %s: ", role);
    /* Indented so that a multi-line message reads as one. */
    for (const char *c = content; *c; c++) {
        putchar(*c);
        if (*c == '\n' && c[1])
            fputs("    ", stdout);
    }
    putchar('\n');
}

static void print_dry_run(const assay_suite *suite, const assay_dry_run *d,
                          bool json)
{
    if (json) {
        printf("{\"cases\":%ld,\"skipped\":%ld,\"requests\":%ld,"
               "\"requests_total\":%ld,\"prompt_tokens\":%.0f,"
               "\"completion_tokens\":%.0f,\"unbounded\":%ld,"
               "\"cost\":%.6f,\"unpriced\":%ld}\n",
               d->cases, d->skipped, d->requests, d->requests_total,
               d->prompt_tokens, d->completion_tokens, d->unbounded, d->cost,
               d->unpriced);
        return;
    }
    printf("\ndry run of suite '%s': nothing was sent\n",
           assay_suite_name(suite));
    printf("  cases      %ld", d->cases);
    if (d->skipped)
        printf(" (%ld bad lines skipped)", d->skipped);
    printf("\n  requests   %ld", d->requests);
    if (d->requests != d->requests_total)
        printf(" (%ld of %ld are in the record already)",
               d->requests_total - d->requests, d->requests_total);
    printf(" = cases x %zu target(s) x %zu prompt(s) x repeat\n",
           assay_suite_target_count(suite), assay_suite_prompt_count(suite));
    printf("  tokens     ~%.0f prompt, at most %.0f completion",
           d->prompt_tokens, d->completion_tokens);
    if (d->unbounded)
        printf(" (+ %ld requests without max_tokens)", d->unbounded);
    printf("\n  cost       ~$%.4f at list prices", d->cost);
    if (d->unpriced)
        printf(" (+ %ld requests to models with no known price)",
               d->unpriced);
    putchar('\n');
}

static int dry_run(const run_options *o, const assay_suite *suite,
                   assay_run *run)
{
    assay_dry_run d;
    assay_error err;
    if (!o->json)
        printf("the first %d case(s), rendered:\n", DRY_RUN_SHOWN);
    assay_status st = assay_run_dry(run, o->json ? 0 : DRY_RUN_SHOWN,
                                    show_message, NULL, &d, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for(st);
    }
    print_dry_run(suite, &d, o->json);
    return EXIT_GATES_HOLD;
}

/* ------------------------------------------------------------ resuming */

/* `arg` as the shell reads it back: quoted unless plainly safe. */
static void put_shell_word(const char *arg, FILE *out)
{
    if (*arg && strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                            "TUVWXYZ0123456789_-./=:,@%+") == strlen(arg)) {
        fputs(arg, out);
        return;
    }
    fputc('\'', out);
    for (const char *c = arg; *c; c++)
        if (*c == '\'')
            fputs("'\\''", out);
        else
            fputc(*c, out);
    fputc('\'', out);
}

/* Whether argv[i] names the record (-o X, --resume=X, ...) or is
   --dry-run; *skip_next when its value is the next word. */
static bool names_record(const char *arg, bool *skip_next)
{
    static const char *const with_value[] = {"-o", "--output", "--resume"};
    *skip_next = false;
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++) {
        size_t n = strlen(with_value[k]);
        if (!strcmp(arg, with_value[k])) {
            *skip_next = true;
            return true;
        }
        if (!strncmp(arg, with_value[k], n) &&
            (arg[n] == '=' || (k == 0 && arg[n])))
            return true;
    }
    return false;
}

/* "continue with: assay run SUITE [its options] --resume RECORD". */
static void print_resume_command(int argc, char **argv, const char *record)
{
    fputs("; continue with: assay run", stderr);
    for (int i = 1; i < argc; i++) {
        bool skip_next;
        if (names_record(argv[i], &skip_next)) {
            i += skip_next;
            continue;
        }
        fputc(' ', stderr);
        put_shell_word(argv[i], stderr);
    }
    fputs(" --resume ", stderr);
    put_shell_word(record, stderr);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------ run */

/* Runs it with progress and Ctrl-C; the library's status. */
static assay_status execute(const run_options *o, assay_run *run,
                            cli_progress *ps, assay_error *err)
{
    long total;
    assay_error count_err;
    /* The total makes the bar and the time left; a dataset that cannot
       be counted fails the run below, with its message. */
    if (!o->quiet)
        assay_run_count_requests(run, &total, &count_err);
    cli_progress_init(ps, o->quiet, o->verbose);
    assay_run_set_progress(run, cli_progress_update, ps);
    assay_run_set_result_hook(run, cli_progress_result, ps);
    cli_signals_watch(run, ps->tty);
    assay_status st = assay_run_execute(run, err);
    cli_signals_release();
    cli_progress_end(ps);
    return st;
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

/* The --report files, written from the record after the run (with the
   comparison when there is a baseline); `code` becomes 3 when one cannot
   be written. */
static int write_reports(const run_options *o, const char *record_path,
                         int code)
{
    for (int i = 0; i < o->n_reports; i++) {
        assay_format format;
        const char *path;
        if (!cli_parse_report_spec(o->reports[i], &format, &path) ||
            cli_write_report(record_path, o->baseline, format, path, NULL) !=
                EXIT_GATES_HOLD)
            code = EXIT_INCOMPLETE;
    }
    return code;
}

/* The summary in `format`: the run's own when it has one (what the
   record's summary line says, without reading the record back), else the
   record's. */
static int print_summary(const assay_summary *live, const char *record_path,
                         FILE *out, assay_format format)
{
    return live ? cli_print_summary_as(live, record_path, out, format)
                : cli_print_record_as(record_path, out, format);
}

/* The summary (and comparison) of the record, in the format asked for;
   the exit code of the gates. `live` is the summary of the run that just
   wrote the record, or NULL to read it from the record. */
static int print_outcome(const run_options *o, const char *record_path,
                         const assay_summary *live, bool interrupted)
{
    if (o->json) {
        int code = print_summary(live, record_path, stdout,
                                 ASSAY_FORMAT_JSON);
        if (o->baseline && code <= EXIT_GATE_FAILED) {
            int regression = compare_with_baseline(o->baseline, record_path,
                                                   NULL);
            if (regression > code)
                code = regression;
        }
        return write_reports(o, record_path, code);
    }
    FILE *out = o->quiet ? NULL : stdout;
    int code = print_summary(live, record_path, out, ASSAY_FORMAT_TEXT);
    if (o->baseline && code <= EXIT_GATE_FAILED) {
        int regression = compare_with_baseline(o->baseline, record_path,
                                               out);
        if (regression > code)
            code = regression;
    }
    code = write_reports(o, record_path, code);
    if (!o->quiet)
        printf("\nrun record: %s\n", record_path);
    else
        printf("%s\n", interrupted               ? "INTERRUPTED"
                       : code == EXIT_GATES_HOLD ? "PASS"
                                                 : "FAIL");
    return code;
}

static int run_suite(int argc, char **argv, const run_options *o,
                     assay_suite *suite)
{
    int code = narrow_suite(o, suite);
    if (code != EXIT_GATES_HOLD)
        return code;
    assay_run *run = new_run(o, suite, &code);
    if (!run)
        return code;
    if (o->dry_run) {
        code = dry_run(o, suite, run);
        assay_run_free(run);
        return code;
    }
    char record_path[PATH_MAX];
    code = record_path_of(o, suite, record_path, sizeof record_path);
    if (code == EXIT_GATES_HOLD &&
        assay_run_set_record_path(run, record_path) != ASSAY_OK)
        code = EXIT_INCOMPLETE;
    if (code != EXIT_GATES_HOLD) {
        assay_run_free(run);
        return code;
    }
    cli_progress ps;
    assay_error err;
    assay_status st = execute(o, run, &ps, &err);
    if (st != ASSAY_OK)
        assay_run_free(run);
    if (st == ASSAY_ERR_INTERRUPTED) {
        /* What is done is summarised; the command says how to finish. */
        code = print_outcome(o, record_path, NULL, true);
        if (!cli_signals_caught()) /* the cost limit: say which */
            cli_error("%s", err.message);
        if (!ps.seen)
            fputs("assay: interrupted before any new result", stderr);
        else if (ps.last.total >= 0)
            fprintf(stderr, "assay: interrupted: %ld of %ld done",
                    ps.last.done, ps.last.total);
        else
            fprintf(stderr, "assay: interrupted: %ld done", ps.last.done);
        print_resume_command(argc, argv, record_path);
        return code == EXIT_USAGE ? code : EXIT_INCOMPLETE;
    }
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        /* A record refused for resuming holds nothing of this run. */
        if (st != ASSAY_ERR_RECORD && access(record_path, F_OK) == 0)
            cli_error("the results before this are in %s", record_path);
        return cli_exit_for(st);
    }
    /* The summary is the one the record's summary line holds, kept from
       the run rather than read back (every report reads the record). */
    code = print_outcome(o, record_path, assay_run_summary(run), false);
    assay_run_free(run);
    return code;
}

int cmd_run(int argc, char **argv)
{
    /* getopt_long reorders argv; the resume command repeats it as given. */
    char *given[256];
    if (argc >= (int)(sizeof given / sizeof *given)) {
        cli_error("too many arguments");
        return EXIT_USAGE;
    }
    memcpy(given, argv, (size_t)argc * sizeof *argv);
    run_options o;
    int code = parse_options(argc, argv, &o);
    if (code != EXIT_GATES_HOLD)
        return code < 0 ? EXIT_GATES_HOLD : code;
    /* A baseline that cannot be read is found before anything is spent. */
    if (o.baseline && access(o.baseline, R_OK) != 0) {
        cli_error("cannot read the baseline %s: %s", o.baseline,
                  strerror(errno));
        return EXIT_USAGE;
    }

    assay_suite *suite;
    assay_error err;
    assay_status st = assay_suite_load_env(o.suite_path, cli_getenv, NULL,
                                           &suite, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    cli_warn_insecure(suite);
    code = run_suite(argc, given, &o, suite);
    assay_suite_free(suite);
    return code;
}
