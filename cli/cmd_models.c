/*
 * cmd_models.c - `assay models SUITE [--target NAME]`: the models a
 * suite's target serves, as its /models endpoint lists them, one a line.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void models_usage(FILE *out)
{
    fprintf(out, "usage: assay models SUITE [--target NAME]\n\n"
                 "Lists the models the target's endpoint serves (the first "
                 "target by default),\nusing its base_url or OPENAI_BASE_URL "
                 "and its API key variable.\n\n"
                 "example:\n  assay models examples/quickstart.yaml\n");
}

static void print_model(const char *id, void *user_data)
{
    (void)user_data;
    printf("%s\n", id);
}

static long find_target(const assay_suite *suite, const char *name)
{
    for (size_t i = 0; i < assay_suite_target_count(suite); i++)
        if (!name || !strcmp(assay_suite_target_name(suite, i), name))
            return (long)i;
    return -1;
}

static int list_for(const assay_suite *suite, size_t target)
{
    const char *base = assay_suite_target_base_url(suite, target);
    if (!base)
        base = getenv("OPENAI_BASE_URL");
    if (!base || !*base)
        base = "https://api.openai.com/v1";
    const char *key = getenv(assay_suite_target_key_variable(suite, target));
    assay_error err;
    assay_status st = assay_list_models(base, key, 30000, print_model, NULL,
                                        &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return EXIT_INCOMPLETE;
    }
    return EXIT_GATES_HOLD;
}

int cmd_models(int argc, char **argv)
{
    const char *suite_path = NULL, *target = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            models_usage(stdout);
            return EXIT_GATES_HOLD;
        } else if (!strcmp(argv[i], "--target") && i + 1 < argc) {
            target = argv[++i];
        } else if (argv[i][0] != '-' && !suite_path) {
            suite_path = argv[i];
        } else {
            models_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!suite_path) {
        models_usage(stderr);
        return EXIT_USAGE;
    }
    assay_suite *suite;
    assay_error err;
    assay_status st = assay_suite_load_env(suite_path, cli_getenv, NULL,
                                           &suite, &err);
    if (st != ASSAY_OK) {
        cli_error("%s", err.message);
        return cli_exit_for_input(st);
    }
    cli_warn_insecure(suite);
    long index = find_target(suite, target);
    int code;
    if (index < 0) {
        cli_error("%s has no target named '%s'", suite_path, target);
        code = EXIT_USAGE;
    } else {
        code = list_for(suite, (size_t)index);
    }
    assay_suite_free(suite);
    return code;
}
