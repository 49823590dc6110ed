/*
 * cli.h - what the `assay` command's files share: the exit codes and the
 * subcommands. The CLI uses the public API only.
 */
#ifndef ASSAY_CLI_H
#define ASSAY_CLI_H

#include <assay.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* The exit codes, documented in the README and in `assay --help`. */
enum {
    EXIT_GATES_HOLD = 0,   /* the run completed and every gate holds */
    EXIT_GATE_FAILED = 1,  /* the run completed and a gate failed */
    EXIT_USAGE = 2,        /* bad arguments, or a bad suite or dataset */
    EXIT_INCOMPLETE = 3    /* the run could not be completed, or was
                              interrupted (it can be resumed) */
};

typedef int (*cli_command_fn)(int argc, char **argv);

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_rescore(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* Where `assay run` and `assay cache` keep the response cache by default. */
#define CLI_CACHE_DEFAULT_PATH ".assay/cache.db"

/* Prints "assay: message" on stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* A text summary of more groups (targets x prompts) than this shows no
   comparison matrix: the pairs would be too many to read. */
#define CLI_MAX_MATRIX_GROUPS 8

/* getenv() as an assay_env_fn: the CLI lends the library its environment. */
const char *cli_getenv(const char *name, void *user_data);

/* Warns on stderr about each target that does not verify TLS. */
void cli_warn_insecure(const assay_suite *suite);

/* The exit code for a status that stopped a command. */
int cli_exit_for(assay_status status);
/* The same for a file the user named (a suite, a record): one that cannot
   be read is bad input, not an incomplete run. */
int cli_exit_for_input(assay_status status);

/* Prints the summary table of a run record (unless `out` is NULL) and
   returns the exit code of its gates. */
int cli_print_record(const char *record_path, FILE *out);

/* True when text for `out` should be coloured: a terminal, and NO_COLOR
   unset or empty. */
bool cli_wants_color(FILE *out);
/* Splits a --report FORMAT:PATH (said on stderr when it is not one). */
bool cli_parse_report_spec(const char *spec, assay_format *format,
                           const char **path);
/*
 * Writes the report of a record in `format` to `path` (NULL or "-":
 * stdout), with the comparison against `baseline` when not NULL. Returns
 * EXIT_GATES_HOLD once written, else the exit code of the failure (said on
 * stderr); *verdict (may be NULL) gets the exit code of the gates and the
 * regression.
 */
int cli_write_report(const char *record_path, const char *baseline,
                     assay_format format, const char *path, int *verdict);

/* The same in a format (ASSAY_FORMAT_TEXT for the table). */
int cli_print_record_as(const char *record_path, FILE *out,
                        assay_format format);
/* The same for a summary at hand (the record is read again only for the
   matrix of a record with several groups). */
int cli_print_summary_as(const assay_summary *summary,
                         const char *record_path, FILE *out,
                         assay_format format);

/* ------------------------------------------------------------ progress.c */

/* What `assay run` shows on stderr while it runs. */
typedef struct cli_progress {
    bool tty;      /* a live line; else plain lines for logs */
    bool quiet;    /* -q: nothing */
    bool verbose;  /* -v: each failing result as it comes */
    int width;     /* of the terminal */
    int bar_cells; /* the bar's width, fixed at the first drawing */
    double started;
    double last_draw;
    long last_tenth; /* plain lines: the last 10% step reported */
    bool drawn;      /* the live line is on screen */
    bool seen;       /* `last` holds counts */
    assay_progress last;
} cli_progress;

void cli_progress_init(cli_progress *p, bool quiet, bool verbose);
/* An assay_progress_fn: redraws at most 4 times a second on a terminal,
   else a plain line every 5 seconds or 10%. */
void cli_progress_update(const assay_progress *progress, void *user_data);
/* An assay_result_fn for -v: prints a failing or erroneous result. */
void cli_progress_result(const assay_result *result, void *user_data);
/* Clears the live line (a log gets a last plain line). */
void cli_progress_end(cli_progress *p);

/* ------------------------------------------------------------ signals.c */

/* Ctrl-C (and SIGTERM) cancel `run`: the first stops sending, the second
   abandons the requests in flight, a third ends the process. */
void cli_signals_watch(assay_run *run, bool tty);
/* How many of those signals came since cli_signals_watch. */
int cli_signals_caught(void);
/* Back to the default handlers. */
void cli_signals_release(void);

/* ------------------------------------------------------------ env.c */

/* Applies one option: `code` as getopt_long returns it. 0 when taken,
   else an exit code (the message said). */
typedef int (*cli_option_fn)(int code, const char *arg, void *options);

/*
 * Options from ASSAY_* environment variables (the table is in env.c and
 * in `assay run --help`): each one set whose option the command line did
 * not give (`given[code]` false) goes through `apply`, so that the command
 * line wins. 0, or the exit code of the first bad value.
 */
int cli_env_options(const struct option *longopts, const bool given[256],
                    cli_option_fn apply, void *options);
/* The variables and their options, for --help. */
void cli_env_help(FILE *out);

#endif

