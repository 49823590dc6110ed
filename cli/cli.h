/*
 * cli.h - what the `assay` command's files share: the exit codes and the
 * subcommands. The CLI uses the public API only.
 */
#ifndef ASSAY_CLI_H
#define ASSAY_CLI_H

#include <assay.h>

/* The exit codes, documented in the README and in `assay --help`. */
enum {
    EXIT_GATES_HOLD = 0,   /* the run completed and every gate holds */
    EXIT_GATE_FAILED = 1,  /* the run completed and a gate failed */
    EXIT_USAGE = 2,        /* bad arguments, or a bad suite or dataset */
    EXIT_INCOMPLETE = 3    /* the run could not be completed */
};

typedef int (*cli_command_fn)(int argc, char **argv);

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_cache(int argc, char **argv);

/* Where `assay run` and `assay cache` keep the response cache by default. */
#define CLI_CACHE_DEFAULT_PATH ".assay/cache.db"

/* Prints "assay: message" on stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

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

#endif
