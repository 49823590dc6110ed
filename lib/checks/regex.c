/*
 * checks/regex.c - the `regex` check family, and the PCRE2 matcher it
 * shares with `icontains`.
 *
 * Patterns are PCRE2 with UTF and UCP always on (\w, \d and \b know
 * Unicode), plus the flags `i`, `m`, `s` and `x` from the long form. An
 * output that is not valid UTF-8 is searched anyway: invalid bytes simply
 * match nothing (PCRE2_MATCH_INVALID_UTF). A constant pattern is compiled
 * when the suite loads, so a bad one is an error with its place in the
 * file; a templated one is compiled per distinct rendering and kept in a
 * small cache. Every match runs under match, depth and heap limits, so a
 * pattern that backtracks catastrophically fails the check with
 * ASSAY_ERR_LIMIT instead of hanging the run.
 *
 * Patterns are JIT-compiled where PCRE2 can (the interpreter runs them
 * otherwise, and when a match outgrows the JIT's stack, so the depth and
 * heap limits still apply there). The match data, with its backtracking
 * frames, is kept by the matcher between matches instead of being made
 * and freed for each.
 *
 * Template variables are inserted into the pattern as they are, not
 * escaped: a value that must match literally belongs in \Q...\E.
 */
#include "checks/checks.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MATCH_LIMIT 1000000  /* backtracking steps per match */
#define DEPTH_LIMIT 100000   /* nested backtracking points */
#define HEAP_LIMIT_KIB 65536 /* 64 MiB of backtracking frames */
#define CACHE_SLOTS 16       /* distinct rendered patterns kept */

typedef struct cache_entry {
    char *pattern;
    size_t len;
    pcre2_code *code;
} cache_entry;

struct assay__matcher {
    uint32_t options;
    pcre2_match_context *mctx; /* read-only once made: shared by threads */
    pcre2_code *fixed;         /* the constant pattern, or NULL */
    /* Templated patterns, most recently used first. The lock covers the
     * cache and each match made with an entry, so none is freed in use.
     * It also covers `spare`: match data left by the last match, taken by
     * the next (a match on another thread meanwhile makes its own). */
    pthread_mutex_t lock;
    cache_entry cache[CACHE_SLOTS];
    size_t n_cached;
    pcre2_match_data *spare;
};

static assay_status compile_error(assay_error *err, int code, size_t offset)
{
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
        snprintf((char *)msg, sizeof msg, "error %d", code);
    return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0, "%s at offset %zu",
                        (const char *)msg, offset);
}

static assay_status compile(const assay__matcher *m, const char *pattern,
                            size_t len, pcre2_code **out, assay_error *err)
{
    int code;
    PCRE2_SIZE offset;
    *out = pcre2_compile((PCRE2_SPTR)pattern, len, m->options, &code, &offset,
                         NULL);
    if (*out) {
        /* Without JIT support (or memory for it) the interpreter runs it. */
        (void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
        return ASSAY_OK;
    }
    if (code == PCRE2_ERROR_HEAP_FAILED)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory compiling a regex");
    return compile_error(err, code, offset);
}

assay_status assay__matcher_new(uint32_t options, const char *constant,
                                size_t constant_len, assay__matcher **out,
                                assay_error *err)
{
    *out = NULL;
    assay__matcher *m = calloc(1, sizeof *m);
    if (!m)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    m->options = options | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "cannot create a lock");
    }
    m->mctx = pcre2_match_context_create(NULL);
    if (!m->mctx) {
        assay__matcher_free(m);
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    pcre2_set_match_limit(m->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(m->mctx, DEPTH_LIMIT);
    pcre2_set_heap_limit(m->mctx, HEAP_LIMIT_KIB);
    if (constant) {
        assay_status st = compile(m, constant, constant_len, &m->fixed, err);
        if (st != ASSAY_OK) {
            assay__matcher_free(m);
            return st;
        }
    }
    *out = m;
    return ASSAY_OK;
}

void assay__matcher_free(assay__matcher *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_cached; i++) {
        free(m->cache[i].pattern);
        pcre2_code_free(m->cache[i].code);
    }
    pcre2_code_free(m->fixed);
    pcre2_match_data_free(m->spare);
    pcre2_match_context_free(m->mctx);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* The cached code of `pattern`, compiled and cached on a miss. Locked. */
static assay_status cached(assay__matcher *m, const char *pattern, size_t len,
                           pcre2_code **out, assay_error *err)
{
    size_t i;
    for (i = 0; i < m->n_cached; i++)
        if (m->cache[i].len == len &&
            !memcmp(m->cache[i].pattern, pattern, len))
            break;
    cache_entry hit;
    if (i < m->n_cached) {
        hit = m->cache[i];
    } else {
        hit.pattern = malloc(len + 1);
        if (!hit.pattern)
            return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                                "out of memory");
        memcpy(hit.pattern, pattern, len);
        hit.pattern[len] = '\0';
        hit.len = len;
        assay_status st = compile(m, pattern, len, &hit.code, err);
        if (st != ASSAY_OK) {
            free(hit.pattern);
            return st;
        }
        if (m->n_cached == CACHE_SLOTS) { /* evict the least recently used */
            cache_entry *last = &m->cache[CACHE_SLOTS - 1];
            free(last->pattern);
            pcre2_code_free(last->code);
            i = CACHE_SLOTS - 1;
        } else {
            i = m->n_cached++;
        }
    }
    memmove(&m->cache[1], &m->cache[0], i * sizeof m->cache[0]);
    m->cache[0] = hit;
    *out = hit.code;
    return ASSAY_OK;
}

/* Match data for one match: the spare one, or a new one. Only the whole
   match's offsets are read, so one pair of them is enough. `locked` says
   the caller holds the lock already. */
static pcre2_match_data *take_match_data(assay__matcher *m, bool locked)
{
    if (!locked)
        pthread_mutex_lock(&m->lock);
    pcre2_match_data *md = m->spare;
    m->spare = NULL;
    if (!locked)
        pthread_mutex_unlock(&m->lock);
    return md ? md : pcre2_match_data_create(1, NULL);
}

/* Kept for the next match unless it hit a limit: its backtracking
   frames may then have grown to the heap limit, not worth holding. */
static void give_back_match_data(assay__matcher *m, pcre2_match_data *md,
                                 int rc, bool locked)
{
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        pcre2_match_data_free(md);
        return;
    }
    if (!locked)
        pthread_mutex_lock(&m->lock);
    if (!m->spare) {
        m->spare = md;
        md = NULL;
    }
    if (!locked)
        pthread_mutex_unlock(&m->lock);
    pcre2_match_data_free(md);
}

static assay_status match(assay__matcher *m, const pcre2_code *code,
                          bool locked, const char *subject, size_t len,
                          bool *matched, size_t *start, size_t *end,
                          assay_error *err)
{
    pcre2_match_data *md = take_match_data(m, locked);
    if (!md)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    PCRE2_SPTR text = (PCRE2_SPTR)(subject ? subject : "");
    int rc = pcre2_match(code, text, len, 0, 0, md, m->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter, its limits */
        rc = pcre2_match(code, text, len, 0, PCRE2_NO_JIT, md, m->mctx);
    assay_status st = ASSAY_OK;
    if (rc >= 0) {
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        *matched = true;
        *start = ov[0];
        /* \K in a lookahead can put the start after the end */
        *end = ov[1] < ov[0] ? ov[0] : ov[1];
    } else if (rc == PCRE2_ERROR_NOMATCH) {
        *matched = false;
    } else if (rc == PCRE2_ERROR_MATCHLIMIT) {
        st = assay__error(err, ASSAY_ERR_LIMIT, NULL, 0, 0,
                          "matching gave up after %d backtracking steps "
                          "(the pattern backtracks too much on this output)",
                          MATCH_LIMIT);
    } else if (rc == PCRE2_ERROR_DEPTHLIMIT) {
        st = assay__error(err, ASSAY_ERR_LIMIT, NULL, 0, 0,
                          "matching gave up at a backtracking depth of %d",
                          DEPTH_LIMIT);
    } else if (rc == PCRE2_ERROR_HEAPLIMIT) {
        st = assay__error(err, ASSAY_ERR_LIMIT, NULL, 0, 0,
                          "matching gave up at its memory limit of %d KiB",
                          HEAP_LIMIT_KIB);
    } else if (rc == PCRE2_ERROR_NOMEMORY) {
        st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    } else {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", rc);
        st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                          "matching failed: %s", (const char *)msg);
    }
    give_back_match_data(m, md, rc, locked);
    return st;
}

assay_status assay__matcher_find(assay__matcher *m, const char *pattern,
                                 size_t pattern_len, const char *subject,
                                 size_t subject_len, bool *matched,
                                 size_t *start, size_t *end, assay_error *err)
{
    *matched = false;
    *start = *end = 0;
    if (m->fixed)
        return match(m, m->fixed, false, subject, subject_len, matched, start,
                     end, err);
    pthread_mutex_lock(&m->lock);
    pcre2_code *code = NULL;
    assay_status st = cached(m, pattern, pattern_len, &code, err);
    if (st == ASSAY_OK)
        st = match(m, code, true, subject, subject_len, matched, start, end,
                   err);
    pthread_mutex_unlock(&m->lock);
    return st;
}

/* ------------------------------------------------------------ the family */

typedef struct regex_state {
    assay__matcher *matcher;
    char flags[8]; /* as written, each flag once, in the order "imsx" */
    /* A constant pattern, and how reasons show it: written once, not at
       every case. NULL for a templated pattern. */
    char *constant;
    size_t constant_len;
    assay__buf shown;
} regex_state;

/*
 * Writes /pattern/flags as the user wrote it (a reason quoting '\\d+' would
 * mislead), escaping only line breaks, control bytes and bytes that are not
 * UTF-8, and cutting a long pattern at a character boundary.
 */
static assay_status put_pattern(assay__buf *out, const char *p, size_t len,
                                const char *flags)
{
    assay_status st = assay__buf_putc(out, '/');
    size_t i = 0;
    while (i < len && st == ASSAY_OK) {
        size_t n = assay__checks_utf8_char(p + i, len - i);
        if (i + (n ? n : 1) > ASSAY__CHECK_EXCERPT)
            break;
        unsigned char c = (unsigned char)p[i];
        if (c == '\n')
            st = assay__buf_puts(out, "\\n");
        else if (c == '\t')
            st = assay__buf_puts(out, "\\t");
        else if (n == 0 || c < 0x20 || c == 0x7F)
            st = assay__buf_printf(out, "\\x%02X", (unsigned)c);
        else
            st = assay__buf_append(out, p + i, n);
        i += n ? n : 1;
    }
    if (st == ASSAY_OK && i < len)
        st = assay__buf_puts(out, "...");
    if (st == ASSAY_OK)
        st = assay__buf_putc(out, '/');
    if (st == ASSAY_OK)
        st = assay__buf_puts(out, flags);
    return st;
}

/* /pattern/flags of this case's pattern. */
static assay_status put_case_pattern(assay__buf *out, const regex_state *s,
                                     const char *p, size_t len)
{
    if (s->constant && len == s->constant_len &&
        !memcmp(p, s->constant, len))
        return assay__buf_append(out, s->shown.data, s->shown.len);
    return put_pattern(out, p, len, s->flags);
}

static void regex_free(void *state)
{
    regex_state *s = state;
    if (!s)
        return;
    assay__matcher_free(s->matcher);
    free(s->constant);
    assay__buf_release(&s->shown);
    free(s);
}

static assay_status regex_compile(const assay__check_spec *spec, void **state,
                                  assay_error *err)
{
    uint32_t options = PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C;
    bool seen[4] = {false, false, false, false};
    const cJSON *flags =
        spec->options ? cJSON_GetObjectItemCaseSensitive(spec->options, "flags")
                      : NULL;
    if (flags) {
        if (!cJSON_IsString(flags))
            return assay__doc_error(spec->doc, flags, false, err,
                                    ASSAY_ERR_CHECK,
                                    "'flags' must be a string of regex flags "
                                    "such as \"i\" or \"ms\"");
        static const char letters[] = "imsx";
        static const uint32_t bits[] = {PCRE2_CASELESS, PCRE2_MULTILINE,
                                        PCRE2_DOTALL, PCRE2_EXTENDED};
        for (const char *f = flags->valuestring; *f; f++) {
            const char *at = strchr(letters, *f);
            if (!at) {
                unsigned char c = (unsigned char)*f;
                char shown[8];
                snprintf(shown, sizeof shown,
                         c > 0x20 && c < 0x7F ? "%c" : "\\x%02X", (unsigned)c);
                return assay__doc_error(
                    spec->doc, flags, false, err, ASSAY_ERR_CHECK,
                    "unknown regex flag '%s' (the flags are i: ignore case, "
                    "m: ^ and $ match at lines, s: . matches newline, x: "
                    "extended syntax)",
                    shown);
            }
            seen[at - letters] = true;
            options |= bits[at - letters];
        }
    }

    regex_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    assay__buf_init(&s->shown, 0);
    size_t n = 0;
    for (size_t i = 0; i < 4; i++)
        if (seen[i])
            s->flags[n++] = "imsx"[i];

    assay_status st = assay__matcher_new(options, spec->constant,
                                         spec->constant_len, &s->matcher, err);
    if (st == ASSAY_ERR_CHECK && err) {
        /* a constant pattern that does not compile: say where it is */
        char why[sizeof err->message];
        memcpy(why, err->message, sizeof why);
        assay__buf shown;
        assay__buf_init(&shown, 0);
        put_pattern(&shown, spec->constant, spec->constant_len, s->flags);
        st = assay__doc_error(spec->doc, spec->value, false, err,
                              ASSAY_ERR_CHECK, "invalid regex %s: %s",
                              shown.data, why);
        assay__buf_release(&shown);
    }
    if (st == ASSAY_OK && spec->constant) {
        s->constant = malloc(spec->constant_len + 1);
        st = s->constant ? put_pattern(&s->shown, spec->constant,
                                       spec->constant_len, s->flags)
                         : ASSAY_ERR_NOMEM;
        if (st == ASSAY_OK) {
            memcpy(s->constant, spec->constant, spec->constant_len);
            s->constant[spec->constant_len] = '\0';
            s->constant_len = spec->constant_len;
        } else {
            st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                              "out of memory");
        }
    }
    if (st != ASSAY_OK) {
        regex_free(s);
        return st;
    }
    *state = s;
    return ASSAY_OK;
}

static assay_status regex_run(void *state, const assay__check_input *in,
                              assay__check_finding *out, assay_error *err)
{
    regex_state *s = state;
    assay_status st = assay__buf_puts(out->want, "match ");
    size_t shown = out->want->len; /* where "/pattern/flags" starts */
    if (st == ASSAY_OK)
        st = put_case_pattern(out->want, s, in->value, in->value_len);
    if (st != ASSAY_OK)
        return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));

    bool matched;
    size_t start, end;
    st = assay__matcher_find(s->matcher, in->value, in->value_len, in->output,
                             in->output_len, &matched, &start, &end, err);
    if (st == ASSAY_ERR_CHECK || st == ASSAY_ERR_LIMIT) {
        /* name the pattern: a templated one differs per case */
        assay__error_prefix(err, "regex %s", out->want->data + shown);
        return st;
    }
    if (st != ASSAY_OK)
        return st;

    out->pass = matched;
    out->score = matched ? 1.0 : 0.0;
    if (matched) {
        st = assay__text_excerpt(out->found, in->output + start, end - start,
                                 ASSAY__CHECK_EXCERPT);
        if (st == ASSAY_OK)
            st = assay__buf_puts(out->found, " at offset ");
        if (st == ASSAY_OK) /* a whole number: digits, without printf */
            st = assay__text_put_double(out->found, (double)start);
    } else {
        st = assay__text_excerpt(out->found, in->output, in->output_len,
                                 ASSAY__CHECK_EXCERPT);
    }
    if (st != ASSAY_OK)
        return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
    return ASSAY_OK;
}

static const char *const regex_options[] = {"flags", NULL};

const assay__check_family assay__checks_regex = {
    .name = "regex",
    .value_is_template = true,
    .options = regex_options,
    .compile = regex_compile,
    .run = regex_run,
    .free = regex_free,
};
