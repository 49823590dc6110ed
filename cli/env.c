/*
 * env.c - `assay run` options from ASSAY_* environment variables, for CI
 * settings and containers where the command line is fixed
 * (ASSAY_SHARD=$JOB_COMPLETION_INDEX/8, ASSAY_CONCURRENCY=32).
 *
 * Precedence: the command line, then the environment, then the suite
 * file, then the defaults. A variable is read with the same rules and
 * messages as its option, plus the variable's name. Flags take 1, true or
 * yes to turn on (0, false, no or empty leave them off). Only the CLI
 * reads the environment; the library never does.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *variable;
    const char *option; /* its long name */
} variables[] = {
    {"ASSAY_CONCURRENCY", "concurrency"},
    {"ASSAY_TIMEOUT", "timeout"},
    {"ASSAY_MAX_ATTEMPTS", "max-attempts"},
    {"ASSAY_DEADLINE", "deadline"},
    {"ASSAY_MAX_RESPONSE_MB", "max-response-mb"},
    {"ASSAY_MAX_COST", "max-cost"},
    {"ASSAY_OUTPUT", "output"},
    {"ASSAY_CACHE", "cache"},
    {"ASSAY_CACHE_MODE", "cache-mode"},
    {"ASSAY_BASELINE", "baseline"},
    {"ASSAY_TARGET", "target"},
    {"ASSAY_PROMPT", "prompt"},
    {"ASSAY_REPEAT", "repeat"},
    {"ASSAY_SHARD", "shard"},
    {"ASSAY_LIMIT", "limit"},
    {"ASSAY_SAMPLE", "sample"},
    {"ASSAY_SEED", "seed"},
    {"ASSAY_QUIET", "quiet"},
    {"ASSAY_VERBOSE", "verbose"},
    {"ASSAY_JSON", "json"},
};

static const struct option *find_option(const struct option *longopts,
                                        const char *name)
{
    for (const struct option *o = longopts; o->name; o++)
        if (!strcmp(o->name, name))
            return o;
    return NULL;
}

/* A flag's value: 1 on, 0 off, -1 not a flag value. */
static int flag_value(const char *v)
{
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
        return 1;
    if (!*v || !strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
        return 0;
    return -1;
}

int cli_env_options(const struct option *longopts, const bool given[256],
                    cli_option_fn apply, void *options)
{
    for (size_t i = 0; i < sizeof variables / sizeof *variables; i++) {
        const char *value = getenv(variables[i].variable);
        const struct option *o = find_option(longopts, variables[i].option);
        if (!value || !o || o->flag || o->val < 0 || o->val > 255 ||
            given[o->val])
            continue;
        if (o->has_arg == no_argument) {
            int on = flag_value(value);
            if (on < 0) {
                cli_error("%s takes 1, true or yes (or 0, false, no), not "
                          "'%s'",
                          variables[i].variable, value);
                return EXIT_USAGE;
            }
            if (on && apply(o->val, NULL, options) != 0)
                return EXIT_USAGE;
            continue;
        }
        int code = apply(o->val, value, options);
        if (code != 0) {
            cli_error("(that value came from the environment variable %s)",
                      variables[i].variable);
            return code;
        }
    }
    return 0;
}

void cli_env_help(FILE *out)
{
    fputs("environment (the command line wins over these, and these over "
          "the suite):\n",
          out);
    for (size_t i = 0; i < sizeof variables / sizeof *variables; i++)
        fprintf(out, "  %-22s --%s\n", variables[i].variable,
                variables[i].option);
}
