/*
 * cmd_report.c - `assay report RUN.jsonl [--format F] [-o PATH]
 * [--baseline BASE.jsonl]`: the report of a run record in any format,
 * recomputed from its result lines, with the exit code of its gates (and,
 * with a baseline, of the regression gate).
 *
 * Also what `assay run --report F:PATH` uses to write its reports: the
 * parsing of F:PATH and the writing of one report to a file. Colour is
 * decided here, never in the library: text on a terminal, unless NO_COLOR
 * is set to something (https://no-color.org).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void report_usage(FILE *out)
{
    fprintf(out,
            "usage: assay report RUN.jsonl [--format F] [-o PATH] "
            "[--baseline BASE.jsonl]\n\n"
            "Writes the report of a run record, recomputed from its result "
            "lines, and exits\n0 when every gate holds, 1 when one fails.\n\n"
            "  -f, --format F     text (default), json, junit, markdown, "
            "html or csv\n"
            "  -o, --output PATH  write to PATH instead of stdout\n"
            "  -b, --baseline RUN.jsonl  add the comparison with an earlier "
            "run; a\n"
            "                     regression exits 1\n\n"
            "Text is coloured on a terminal unless NO_COLOR is set. "
            "docs/reports.md tells\nwhat each format holds.\n\n"
            "examples:\n"
            "  assay report .assay/runs/quickstart.jsonl\n"
            "  assay report run.jsonl --format junit -o junit.xml\n"
            "  assay report run.jsonl --format markdown --baseline "
            "main.jsonl >> \"$GITHUB_STEP_SUMMARY\"\n");
}

bool cli_wants_color(FILE *out)
{
    const char *no_color = getenv("NO_COLOR");
    return isatty(fileno(out)) == 1 && !(no_color && *no_color);
}

bool cli_parse_report_spec(const char *spec, assay_format *format,
                           const char **path)
{
    const char *colon = strchr(spec, ':');
    char name[32];
    if (!colon || colon == spec || !colon[1] ||
        (size_t)(colon - spec) >= sizeof name) {
        cli_error("--report takes FORMAT:PATH, as in --report "
                  "junit:results.xml, not '%s'",
                  spec);
        return false;
    }
    snprintf(name, sizeof name, "%.*s", (int)(colon - spec), spec);
    assay_error err;
    if (assay_format_parse(name, format, &err) != ASSAY_OK) {
        cli_error("%s", err.message);
        return false;
    }
    *path = colon + 1;
    return true;
}

/* The exit code of a report's gates and, with a comparison, regression. */
static int verdict_of(const assay_report *report, const assay_compare *cmp)
{
    const assay_summary *s = assay_report_summary(report);
    if (!assay_summary_completed(s))
        return EXIT_INCOMPLETE;
    if (!assay_summary_passed(s) || (cmp && !assay_compare_passed(cmp)))
        return EXIT_GATE_FAILED;
    return EXIT_GATES_HOLD;
}

/* Writes to `path`, or to stdout for NULL or "-"; a failed file is
   removed rather than left half written. */
static int write_to(const assay_report *report, assay_format format,
                    const char *path)
{
    bool to_stdout = !path || !strcmp(path, "-");
    FILE *out = to_stdout ? stdout : fopen(path, "wb");
    if (!out) {
        cli_error("cannot create %s: %s", path, strerror(errno));
        return EXIT_INCOMPLETE;
    }
    if (format == ASSAY_FORMAT_TEXT && cli_wants_color(out))
        format = ASSAY_FORMAT_TEXT_COLOR;
    assay_error err;
    assay_status st = assay_report_write(report, format, out, &err);
    if (st != ASSAY_OK)
        cli_error("%s%s%s", to_stdout ? "" : path, to_stdout ? "" : ": ",
                  err.message);
    if (!to_stdout && fclose(out) != 0 && st == ASSAY_OK) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        st = ASSAY_ERR_IO;
    }
    if (st != ASSAY_OK && !to_stdout)
        remove(path);
    if (st == ASSAY_OK)
        return EXIT_GATES_HOLD;
    return st == ASSAY_ERR_INVALID ? EXIT_USAGE : EXIT_INCOMPLETE;
}

int cli_write_report(const char *record_path, const char *baseline,
                     assay_format format, const char *path, int *verdict)
{
    assay_report *report;
    assay_compare *cmp = NULL;
    assay_error err;
    assay_status st = assay_report_open(record_path, &report, &err);
    if (st == ASSAY_OK && baseline)
        st = assay_compare_load(baseline, record_path, &cmp, &err);
    /* Without a baseline, a text report of several targets or prompts
       compares them with each other, as assay run shows it. */
    size_t groups = st == ASSAY_OK ? assay_summary_group_count(
                                         assay_report_summary(report))
                                   : 0;
    if (st == ASSAY_OK && !baseline && format == ASSAY_FORMAT_TEXT &&
        groups > 1 && groups <= CLI_MAX_MATRIX_GROUPS)
        st = assay_compare_load_matrix(record_path, &cmp, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        assay_report_free(report);
        return cli_exit_for_input(st);
    }
    assay_report_set_compare(report, cmp);
    int code = write_to(report, format, path);
    if (verdict)
        *verdict = verdict_of(report, cmp);
    assay_report_free(report);
    assay_compare_free(cmp);
    return code;
}

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"baseline", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    assay_format format = ASSAY_FORMAT_TEXT;
    const char *path = NULL, *baseline = NULL;
    assay_error err;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:b:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (assay_format_parse(optarg, &format, &err) != ASSAY_OK) {
                cli_error("%s", err.message);
                return EXIT_USAGE;
            }
            break;
        case 'o':
            path = optarg;
            break;
        case 'b':
            baseline = optarg;
            break;
        case 'h':
            report_usage(stdout);
            return EXIT_GATES_HOLD;
        default:
            report_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        report_usage(stderr);
        return EXIT_USAGE;
    }
    int verdict = EXIT_GATES_HOLD;
    int code = cli_write_report(argv[optind], baseline, format, path, &verdict);
    return code != EXIT_GATES_HOLD ? code : verdict;
}
