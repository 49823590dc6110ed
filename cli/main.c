/*
 * main.c - the `assay` command: finds the subcommand and runs it.
 *
 * Each subcommand is one file (cmd_*.c) and one line in the table below.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `sends`: the command may make HTTP requests, so the HTTP library is
   initialised for it (which costs a start-up that commands reading files
   only have no use for). */
static const struct {
    const char *name;
    cli_command_fn fn;
    bool sends;
    const char *summary;
} commands[] = {
    {"run", cmd_run, true, "run a suite against its targets and gate on the result"},
    {"report", cmd_report, false, "print the summary of a run record"},
    {"compare", cmd_compare, false, "compare two run records, case by case"},
    {"validate", cmd_validate, false, "check a suite file without sending anything"},
    {"merge", cmd_merge, false, "join the records of a sharded run into one"},
    {"cache", cmd_cache, false, "show or clear the response cache"},
    {"models", cmd_models, true, "list the models a target's endpoint serves"},
    {"rescore", cmd_rescore, true, "score an earlier run's answers with a suite's checks"},
    {"version", cmd_version, false, "print the version"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: assay COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n'assay COMMAND --help' tells more.\n\n"
            "example:\n  assay run examples/quickstart.yaml -j 16\n\n"
            "exit codes:\n"
            "  0  the run completed and every gate holds\n"
            "  1  the run completed and a gate failed\n"
            "  2  bad arguments, or a bad suite or dataset\n"
            "  3  the run could not be completed, or was interrupted\n");
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("assay: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *cli_getenv(const char *name, void *user_data)
{
    (void)user_data;
    return getenv(name);
}

void cli_warn_insecure(const assay_suite *suite)
{
    for (size_t i = 0; i < assay_suite_target_count(suite); i++)
        if (!assay_suite_target_verifies_tls(suite, i))
            fprintf(stderr,
                    "assay: warning: target '%s' does not verify TLS "
                    "certificates (verify_tls: false)\n",
                    assay_suite_target_name(suite, i));
}

int cli_exit_for(assay_status status)
{
    switch (status) {
    case ASSAY_OK:
        return EXIT_GATES_HOLD;
    case ASSAY_ERR_INVALID:
    case ASSAY_ERR_SYNTAX:
    case ASSAY_ERR_SUITE:
    case ASSAY_ERR_DATASET:
    case ASSAY_ERR_TEMPLATE:
    case ASSAY_ERR_CHECK:
    case ASSAY_ERR_RECORD:
        return EXIT_USAGE;
    default:
        return EXIT_INCOMPLETE;
    }
}

int cli_exit_for_input(assay_status status)
{
    return status == ASSAY_ERR_IO ? EXIT_USAGE : cli_exit_for(status);
}

/* Every pair of targets (or prompts) of a record, each with its paired
   test. */
static assay_status print_matrix(const char *record_path, FILE *out,
                                 assay_error *err)
{
    assay_compare *cmp;
    assay_status st = assay_compare_load_matrix(record_path, &cmp, err);
    if (st != ASSAY_OK)
        return st;
    fprintf(out, "\n");
    st = assay_compare_write(cmp, ASSAY_FORMAT_TEXT, out, err);
    assay_compare_free(cmp);
    return st;
}

int cli_print_record(const char *record_path, FILE *out)
{
    return cli_print_record_as(record_path, out, ASSAY_FORMAT_TEXT);
}

int cli_print_record_as(const char *record_path, FILE *out,
                        assay_format format)
{
    assay_summary *summary;
    assay_error err;
    assay_status st = assay_summary_load(record_path, &summary, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    int code = cli_print_summary_as(summary, record_path, out, format);
    assay_summary_free(summary);
    return code;
}

int cli_print_summary_as(const assay_summary *summary,
                         const char *record_path, FILE *out,
                         assay_format format)
{
    assay_error err;
    assay_status st = ASSAY_OK;
    if (out && format == ASSAY_FORMAT_TEXT && cli_wants_color(out))
        format = ASSAY_FORMAT_TEXT_COLOR;
    if (out)
        st = assay_summary_write(summary, format, out, &err);
    size_t groups = assay_summary_group_count(summary);
    if (out && st == ASSAY_OK && groups > 1 && groups <= CLI_MAX_MATRIX_GROUPS &&
        (format == ASSAY_FORMAT_TEXT || format == ASSAY_FORMAT_TEXT_COLOR))
        st = print_matrix(record_path, out, &err);
    int code = !assay_summary_completed(summary) ? EXIT_INCOMPLETE
               : assay_summary_passed(summary)    ? EXIT_GATES_HOLD
                                                  : EXIT_GATE_FAILED;
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return EXIT_INCOMPLETE;
    }
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_GATES_HOLD;
    }
    if (!strcmp(argv[1], "--version"))
        return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(argv[1], commands[i].name))
            continue;
        if (!commands[i].sends)
            return commands[i].fn(argc - 1, argv + 1);
        if (assay_global_init() != ASSAY_OK) {
            cli_error("cannot initialise the HTTP library");
            return EXIT_INCOMPLETE;
        }
        int code = commands[i].fn(argc - 1, argv + 1);
        assay_global_cleanup();
        return code;
    }
    cli_error("unknown command '%s' (try 'assay --help')", argv[1]);
    return EXIT_USAGE;
}
