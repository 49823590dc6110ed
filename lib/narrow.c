/*
 * narrow.c - running part of a suite: some of its targets, some of its
 * prompt variants, another number of repeats (`--target`, `--prompt`,
 * `--repeat`), decided after loading and before any run is created.
 *
 * The suite is changed in place, so everything downstream (the record's
 * header, the groups of the summary, the counts of a dry run) sees the
 * narrowed suite and needs no special case. Its config_hash is mixed with
 * what changed, so that a record of a narrowed suite is never resumed or
 * merged as if it were of the whole one.
 *
 * What it does not do: choose cases (select.c).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mixes the names kept, in the suite's order, so that the order they were
   given in does not matter. */
static assay_status
mix_kept(assay_suite *s, const char *what, size_t n,
         const char *(*name_of)(const assay_suite *, size_t), assay_error *err)
{
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!names)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < n; i++)
        names[i] = name_of(s, i);
    assay_status st = assay__suite_mix_hash(s, what, names, n, err);
    free(names);
    return st;
}

static bool named(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return true;
    return false;
}

/* "alpha, beta" for messages, cut to fit. */
static void list_names(char *out, size_t size, size_t n,
                       const char *(*name_of)(const assay_suite *, size_t),
                       const assay_suite *s)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        int w = snprintf(out + used, size - used, "%s%s", i ? ", " : "",
                         name_of(s, i));
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static const char *target_name(const assay_suite *s, size_t i)
{
    return s->targets[i].name;
}

static const char *prompt_name(const assay_suite *s, size_t i)
{
    return s->prompts[i].name;
}

/* Every name must be one of the suite's; the error lists them. */
static assay_status check_names(const assay_suite *s, const char *kind,
                                const char *const *names, size_t n, size_t have,
                                const char *(*name_of)(const assay_suite *,
                                                       size_t),
                                assay_error *err)
{
    if (n == 0)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "name at least one %s to keep", kind);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < have && !found; j++)
            found = !strcmp(names[i], name_of(s, j));
        if (found)
            continue;
        char known[512];
        list_names(known, sizeof known, have, name_of, s);
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "suite '%s' has no %s '%s' (it has: %s)", s->name,
                            kind, names[i], known);
    }
    return ASSAY_OK;
}

assay_status assay_suite_keep_targets(assay_suite *s, const char *const *names,
                                      size_t n, assay_error *err)
{
    assay_status st =
        check_names(s, "target", names, n, s->n_targets, target_name, err);
    if (st != ASSAY_OK)
        return st;
    size_t kept = 0;
    for (size_t i = 0; i < s->n_targets; i++) {
        if (named(s->targets[i].name, names, n))
            s->targets[kept++] = s->targets[i];
        else
            assay__target_release(&s->targets[i]);
    }
    s->n_targets = kept;
    return mix_kept(s, "targets", kept, target_name, err);
}

assay_status assay_suite_keep_prompts(assay_suite *s, const char *const *names,
                                      size_t n, assay_error *err)
{
    assay_status st =
        check_names(s, "prompt", names, n, s->n_prompts, prompt_name, err);
    if (st != ASSAY_OK)
        return st;
    size_t kept = 0;
    for (size_t i = 0; i < s->n_prompts; i++) {
        if (named(s->prompts[i].name, names, n))
            s->prompts[kept++] = s->prompts[i];
        else
            assay__prompt_release(&s->prompts[i]);
    }
    s->n_prompts = kept;
    return mix_kept(s, "prompts", kept, prompt_name, err);
}

assay_status assay_suite_set_repeat(assay_suite *s, int repeat,
                                    assay_error *err)
{
    if (repeat < 1 || repeat > 100000)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "repeat takes a number from 1 to 100000, not %d",
                            repeat);
    if (repeat == s->repeat)
        return ASSAY_OK;
    s->repeat = repeat;
    char text[16];
    snprintf(text, sizeof text, "%d", repeat);
    const char *names[] = {text};
    return assay__suite_mix_hash(s, "repeat", names, 1, err);
}
