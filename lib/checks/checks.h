/*
 * checks.h - the interface between check.c and the check families in
 * lib/checks/. Private to those files.
 *
 * A family is a const table of function pointers. check.c does everything
 * the families share: it reads the suite's spec (short and long form), finds
 * the family by name, handles the `not-` prefix, compiles and renders the
 * value template, and writes the reason. A family only compiles its own
 * state and judges one output. To add a family, write its table in a file
 * here, declare it below and list it in check.c's registry.
 */
#ifndef ASSAY_CHECKS_H
#define ASSAY_CHECKS_H

#include "internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Bytes of the output or of a value quoted in a reason. */
#define ASSAY__CHECK_EXCERPT 80

/* What a family's compile() gets: the spec as written in the suite. */
typedef struct assay__check_spec {
    const assay__doc *doc; /* for errors at a node (assay__doc_error) */
    const char *type;      /* the family's name, without `not-` */
    const cJSON *value;    /* the value node */
    /*
     * The long form's object, to read the family's extra keys (`flags`);
     * NULL for the short form. Keys not listed in the family's `options`
     * have already been refused.
     */
    const cJSON *options;
    /*
     * For a family whose value is a template: its text when the template has
     * no variable (then run() always gets this same value), else NULL.
     */
    const char *constant;
    size_t constant_len;
} assay__check_spec;

/* What a family's run() judges. A struct, so that it can grow. */
typedef struct assay__check_input {
    const char *output; /* the answer, never NULL; maybe not NUL-terminated */
    size_t output_len;
    const char *value; /* the rendered value, NUL-terminated */
    size_t value_len;
} assay__check_input;

/*
 * What run() fills in. check.c turns it into the reason
 * "expected [not ]to <want>; found <found>", so both are phrases:
 * want "contain 'Paris'", found "'The capital is Lyon.'".
 */
typedef struct assay__check_finding {
    bool pass;
    double score; /* in [0, 1]; 1 or 0 for the families so far */
    assay__buf *want;
    assay__buf *found;
} assay__check_finding;

typedef struct assay__check_family {
    const char *name;
    /* True: the value is a string compiled as a template and rendered per
     * case. False: compile() gets the value node to read as it likes. */
    bool value_is_template;
    /* Long-form keys besides `type` and `value`; NULL-terminated or NULL. */
    const char *const *options;
    /*
     * Builds the family's state (*state may stay NULL). Errors point at a
     * node of the spec. Called once, when the suite is loaded. NULL for a
     * family that keeps no state; `free` may then be NULL too.
     */
    assay_status (*compile)(const assay__check_spec *spec, void **state,
                            assay_error *err);
    /*
     * Judges one output. An error means the check could not run (a regex
     * too costly for its limits); a wrong answer is a finding with pass
     * false. Messages need no position: check.c adds the check's place and
     * the case. May run on one state from several threads at once.
     */
    assay_status (*run)(void *state, const assay__check_input *in,
                        assay__check_finding *out, assay_error *err);
    void (*free)(void *state); /* accepts NULL */
} assay__check_family;

/* checks/text.c */
extern const assay__check_family assay__checks_equals;
extern const assay__check_family assay__checks_contains;
extern const assay__check_family assay__checks_icontains;
extern const assay__check_family assay__checks_starts_with;
extern const assay__check_family assay__checks_ends_with;

/*
 * The length of the well-formed UTF-8 character at `s` (`n` bytes
 * available), or 0 when the bytes there are not one.
 */
size_t assay__checks_utf8_char(const char *s, size_t n);

/* checks/regex.c */
extern const assay__check_family assay__checks_regex;

/*
 * checks/regex.c also holds the PCRE2 matcher the families share: a
 * pattern compiled once when it is constant, else compiled per distinct
 * rendered pattern and kept in a small cache. Patterns and subjects are
 * UTF-8; invalid UTF-8 in a subject cannot match but is no error. Matching
 * runs under match, depth and heap limits, and hitting one is
 * ASSAY_ERR_LIMIT, so that a hostile pattern or output cannot hang a run.
 */
typedef struct assay__matcher assay__matcher;

/*
 * `options` are pcre2_compile options; PCRE2_UTF and
 * PCRE2_MATCH_INVALID_UTF are always added. With a `constant` pattern, it
 * is compiled now and a compile error is ASSAY_ERR_CHECK with PCRE2's
 * message and the offset ("missing closing parenthesis at offset 3").
 */
assay_status assay__matcher_new(uint32_t options, const char *constant,
                                size_t constant_len, assay__matcher **out,
                                assay_error *err);
void assay__matcher_free(assay__matcher *m);
/*
 * Searches `subject` for `pattern` (ignored when the matcher was given a
 * constant). On a match *matched is true and [*start, *end) is the match.
 */
assay_status assay__matcher_find(assay__matcher *m, const char *pattern,
                                 size_t pattern_len, const char *subject,
                                 size_t subject_len, bool *matched,
                                 size_t *start, size_t *end, assay_error *err);

#endif /* ASSAY_CHECKS_H */
