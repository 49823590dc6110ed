/*
 * cmd_compare.c - `assay compare BASE.jsonl CAND.jsonl`: pairs two run
 * records case by case, prints the transitions and the paired tests, and
 * exits 1 when a metric regressed; `assay compare RUN.jsonl`: the
 * comparison matrix of one run's targets and prompts (exit 0 unless the
 * input is bad, since no run there is the baseline of another).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct compare_options {
    const char *base;
    const char *candidate; /* NULL: the matrix of `base` */
    double max_drop;       /* NaN: the candidate's gate or the default */
    double alpha;
    long resamples;
    unsigned long long seed;
    bool bootstrap_set;
} compare_options;

static void compare_usage(FILE *out)
{
    fprintf(out,
            "usage: assay compare BASE.jsonl CAND.jsonl [--max-drop X] "
            "[--alpha A]\n"
            "                     [--resamples N] [--seed S]\n"
            "       assay compare RUN.jsonl\n\n"
            "Pairs the results of two run records by (case, prompt, repeat) "
            "and says, per\nmetric, whether the candidate regressed: "
            "McNemar's exact test on pass/fail, a\nseeded paired bootstrap "
            "interval for each mean, and the smallest change the\nsuite "
            "could detect. With one record, compares its targets and "
            "prompts pairwise.\n\n"
            "  --max-drop X    the largest drop tolerated, 0 to 1 (default: "
            "the candidate's\n"
            "                  gates.regression.max_drop, else 0.02)\n"
            "  --alpha A       significance level (default: "
            "gates.regression.alpha, else 0.05)\n"
            "  --resamples N   bootstrap resamples, 100 to 1000000 "
            "(default 2000)\n"
            "  --seed S        bootstrap seed (default 1)\n\n"
            "example:\n  assay compare main.jsonl branch.jsonl --max-drop "
            "0.01\n\n"
            "exit codes: 0 no metric regressed, 1 a metric regressed, 2 bad "
            "arguments or\nrecords.\n");
}

static bool parse_fraction(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= 0 && v <= 1))
        return false;
    *out = v;
    return true;
}

static int parse_options(int argc, char **argv, compare_options *o)
{
    static const struct option longopts[] = {
        {"max-drop", required_argument, NULL, 'd'},
        {"alpha", required_argument, NULL, 'a'},
        {"resamples", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (compare_options){
        .max_drop = NAN, .alpha = NAN, .resamples = 2000, .seed = 1};
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (!parse_fraction(optarg, &o->max_drop)) {
                cli_error("--max-drop takes a number from 0 to 1, not '%s'",
                          optarg);
                return EXIT_USAGE;
            }
            break;
        case 'a':
            if (!parse_fraction(optarg, &o->alpha) || o->alpha <= 0 ||
                o->alpha >= 1) {
                cli_error("--alpha takes a number strictly between 0 and 1, "
                          "not '%s'",
                          optarg);
                return EXIT_USAGE;
            }
            break;
        case 'r':
            errno = 0;
            o->resamples = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || o->resamples < 100 ||
                o->resamples > 1000000) {
                cli_error("--resamples takes a number from 100 to 1000000, "
                          "not '%s'",
                          optarg);
                return EXIT_USAGE;
            }
            o->bootstrap_set = true;
            break;
        case 's':
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                cli_error("--seed takes a whole number, not '%s'", optarg);
                return EXIT_USAGE;
            }
            o->bootstrap_set = true;
            break;
        case 'h':
            compare_usage(stdout);
            return -1;
        default:
            compare_usage(stderr);
            return EXIT_USAGE;
        }
    }
    int left = argc - optind;
    if (left != 1 && left != 2) {
        compare_usage(stderr);
        return EXIT_USAGE;
    }
    o->base = argv[optind];
    o->candidate = left == 2 ? argv[optind + 1] : NULL;
    return EXIT_GATES_HOLD;
}

static assay_status configure(assay_compare *cmp, const compare_options *o,
                              assay_error *err)
{
    assay_status st = ASSAY_OK;
    if (!isnan(o->max_drop) || !isnan(o->alpha))
        st = assay_compare_set_regression(cmp, o->max_drop, o->alpha, err);
    if (st == ASSAY_OK && o->bootstrap_set)
        st = assay_compare_set_bootstrap(cmp, o->resamples, o->seed, err);
    return st;
}

int cmd_compare(int argc, char **argv)
{
    compare_options o;
    int code = parse_options(argc, argv, &o);
    if (code != EXIT_GATES_HOLD)
        return code < 0 ? EXIT_GATES_HOLD : code;

    assay_compare *cmp;
    assay_error err;
    assay_status st = o.candidate
                          ? assay_compare_load(o.base, o.candidate, &cmp, &err)
                          : assay_compare_load_matrix(o.base, &cmp, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    st = configure(cmp, &o, &err);
    if (st == ASSAY_OK)
        st = assay_compare_write(cmp, ASSAY_FORMAT_TEXT, stdout, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        assay_compare_free(cmp);
        return st == ASSAY_ERR_INVALID ? EXIT_USAGE : EXIT_INCOMPLETE;
    }
    code = o.candidate && !assay_compare_passed(cmp) ? EXIT_GATE_FAILED
                                                     : EXIT_GATES_HOLD;
    assay_compare_free(cmp);
    return code;
}
