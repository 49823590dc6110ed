/*
 * dataset.c - cases, streamed one at a time.
 *
 * The sources: JSON Lines read in blocks and cut at line breaks, CSV fed
 * through csv.c (a header row names the fields), a JSON array (or an
 * object holding one array, as BIG-Bench files do) read through yaml.c so
 * that every element has a line, and a suite's inline `cases:`. Only the
 * JSON array is held whole; the files that stream hold the cases in flight
 * and nothing else.
 *
 * Each record becomes a case the same way, whatever its source:
 *  1. it must be valid UTF-8 and a mapping of fields;
 *  2. `map:` entries copy fields under the names the suite uses
 *     (`expected: answer`);
 *  3. an OpenAI-evals `ideal` becomes `expected` when there is none;
 *  4. the suite's few-shot examples are lent as `fewshot`;
 *  5. its own checks are compiled: a `checks:` list, or CSV `__expected`
 *     columns in promptfoo's assertion syntax;
 *  6. its id is its `id` field (a string or an integer) or else its line
 *     (inline cases: its position), and an explicit id seen before is an
 *     error.
 * A record that fails any step is a bad record: an error with the file and
 * line, or, when the caller skips bad records, a report and the next one.
 * Selection (filters, sample, limit) is select.c's, over this stream.
 *
 * Duplicate ids are found with idset.c's set of 128-bit digests, in
 * memory up to 65,536 explicit ids and on disk past that, so memory does
 * not grow with the dataset: ids that come from line numbers are unique by
 * construction and cost nothing.
 */
#include "internal.h"

#include "idset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A line or record longer than this is an error, not a reason to eat the
   memory. */
#define MAX_LINE_BYTES ((size_t)16 << 20)
#define READ_BLOCK ((size_t)256 << 10)

enum source_kind { SRC_JSONL, SRC_CSV, SRC_JSON, SRC_INLINE };

struct assay__dataset {
    const assay__dataset_spec *spec;
    assay__dataset_spec *own_spec; /* for the _jsonl and _inline shortcuts */
    const assay__select *sel;
    assay__select own_sel;
    assay__selector *selector;
    enum source_kind kind;
    const char *name; /* the file, for messages */

    /* JSON Lines */
    FILE *file;
    char *block;
    size_t block_len;
    size_t block_pos;
    bool file_eof;
    assay__buf line;
    long line_no;

    /* CSV */
    assay__csv *csv;
    char **header;
    size_t n_header;

    /* JSON arrays and inline cases */
    assay__doc *json_doc; /* owned, for a JSON file */
    const assay__doc *doc;
    const cJSON *next_item;
    long ordinal;

    assay__idset *ids; /* made at the first explicit id */
    long skipped;
    bool fatal; /* the file as a whole is unusable (a bad CSV header) */
};

/* ------------------------------------------------------------ cases */

assay__case *assay__case_ref(assay__case *c)
{
    c->refs++;
    return c;
}

void assay__case_unref(assay__case *c)
{
    if (!c || --c->refs > 0)
        return;
    for (size_t i = 0; i < c->n_checks; i++)
        assay__check_free(c->checks[i]);
    free(c->checks);
    assay__doc_free(c->doc);
    cJSON_Delete(c->vars);
    free(c->id);
    free(c);
}

void assay__dataset_spec_release(assay__dataset_spec *spec)
{
    for (size_t i = 0; i < spec->n_map; i++) {
        free(spec->map[i].name);
        free(spec->map[i].path);
    }
    free(spec->map);
    free(spec->path);
    memset(spec, 0, sizeof *spec);
}

static assay_status oom(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

/* ------------------------------------------------------------ utf-8 */

/* The offset of the first byte that is not well-formed UTF-8, or n. */
static size_t utf8_invalid_at(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            need = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
            hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 4;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing past U+10FFFF */
        } else
            return i;
        if (n - i < need || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k < need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += need;
    }
    return n;
}

/* ------------------------------------------------------------ checks */

/* promptfoo's assertion types, so that `__expected` reads as they do:
   text that does not start with one of these is an `equals` value. */
static const char *const promptfoo_types[] = {
    "equals", "contains", "icontains", "contains-all", "contains-any",
    "icontains-all", "icontains-any", "starts-with", "ends-with", "regex",
    "is-json", "contains-json", "is-xml", "contains-xml", "is-sql",
    "contains-sql", "similar", "llm-rubric", "model-graded-closedqa",
    "factuality", "answer-relevance", "context-recall", "context-relevance",
    "context-faithfulness", "levenshtein", "rouge-n", "bleu", "gleu",
    "meteor", "cost", "latency", "perplexity", "perplexity-score",
    "is-valid-openai-tools-call", "is-valid-openai-function-call",
    "finish-reason", "classifier", "moderation", "webhook", "g-eval",
    "javascript", "python", "word-count", NULL,
};

static bool is_promptfoo_type(const char *s, size_t n)
{
    for (const char *const *t = promptfoo_types; *t; t++)
        if (strlen(*t) == n && !strncmp(*t, s, n))
            return true;
    return false;
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/*
 * One `__expected` cell as a check spec, the way promptfoo reads it:
 * `fn:`/`javascript:`/`eval:`, `grade:`/`llm-rubric:` and `python:`
 * prefixes; else `[not-]type[(threshold)][:value]` for a known type (the
 * value trimmed); else the whole text as an `equals` value.
 */
cJSON *assay__dataset_assertion_spec(const char *text)
{
    static const struct {
        const char *prefix;
        const char *type;
    } prefixes[] = {
        {"fn:", "javascript"},    {"javascript:", "javascript"},
        {"eval:", "javascript"},  {"grade:", "llm-rubric"},
        {"llm-rubric:", "llm-rubric"}, {"python:", "python"},
    };
    cJSON *spec = cJSON_CreateObject();
    if (!spec)
        return NULL;
    const char *type = "equals", *value = text;
    char typed[80];
    double threshold = -1;
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (starts_with(text, prefixes[i].prefix)) {
            type = prefixes[i].type;
            value = text + strlen(prefixes[i].prefix);
            break;
        }
    if (value == text) {
        bool negate = starts_with(text, "not-");
        const char *t = text + (negate ? 4 : 0);
        size_t n = strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789-");
        const char *rest = t + n;
        if (*rest == '(') {
            char *end;
            threshold = strtod(rest + 1, &end);
            rest = *end == ')' ? end + 1 : t; /* t: not this form */
        }
        if (n > 0 && n + 5 < sizeof typed && is_promptfoo_type(t, n) &&
            (*rest == ':' || *rest == '\0')) {
            snprintf(typed, sizeof typed, "%s%.*s", negate ? "not-" : "",
                     (int)n, t);
            type = typed;
            value = *rest == ':' ? rest + 1 : NULL;
        } else {
            threshold = -1;
        }
    }
    if (!cJSON_AddStringToObject(spec, "type", type))
        goto fail;
    if (value) {
        size_t a = strspn(value, " \t"), z = strlen(value);
        while (z > a && (value[z - 1] == ' ' || value[z - 1] == '\t'))
            z--;
        char *copy = strndup(value + a, z - a);
        cJSON *v = copy ? cJSON_AddStringToObject(spec, "value", copy) : NULL;
        free(copy);
        if (!v)
            goto fail;
    }
    if (threshold >= 0 && !cJSON_AddNumberToObject(spec, "threshold",
                                                   threshold))
        goto fail;
    return spec;
fail:
    cJSON_Delete(spec);
    return NULL;
}

/*
 * Rewrites a check's compile error, which points into the small document
 * the checks were parsed from, so that it names the dataset's file, the
 * record's line and the field.
 */
static assay_status at_record(assay_error *err, assay_status st,
                              const char *file, long line, const char *field)
{
    if (!err)
        return st;
    const char *what = err->message;
    if (err->file[0]) {
        /* Drop "file:line:col: ". */
        size_t skip = strlen(err->file);
        if (!strncmp(what, err->file, skip)) {
            what += skip;
            for (int colons = 0; colons < 2 && *what == ':'; colons++) {
                what++;
                what += strspn(what, "0123456789");
            }
            what += strspn(what, ": ");
        }
    }
    char why[sizeof err->message];
    snprintf(why, sizeof why, "%s", what);
    return assay__error(err, st, file, (int)line, 0, "%s: %s", field, why);
}

/* Compiles every element of the array `list` in `doc` into c->checks. */
static assay_status compile_checks(const assay__doc *doc, const cJSON *list,
                                   assay__case *c, assay_error *err)
{
    size_t n = (size_t)cJSON_GetArraySize(list);
    if (n == 0)
        return ASSAY_OK;
    c->checks = calloc(n, sizeof *c->checks);
    if (!c->checks)
        return oom(err);
    const cJSON *node;
    cJSON_ArrayForEach(node, list)
    {
        assay_status st = assay__check_compile(doc, node,
                                               &c->checks[c->n_checks], err);
        if (st != ASSAY_OK)
            return st;
        c->n_checks++;
    }
    return ASSAY_OK;
}

/*
 * Checks written as JSON in a record: printed and parsed into a document
 * of their own, which the case keeps, so that check.c sees what it sees in
 * a suite.
 */
static assay_status compile_json_checks(const assay__dataset *d,
                                        const cJSON *list, long line,
                                        const char *field, assay__case *c,
                                        assay_error *err)
{
    char *text = cJSON_PrintUnformatted(list);
    if (!text)
        return oom(err);
    assay_status st = assay__doc_parse(d->name, text, strlen(text), &c->doc,
                                       err);
    cJSON_free(text);
    if (st == ASSAY_OK)
        st = compile_checks(c->doc, assay__doc_root(c->doc), c, err);
    return st == ASSAY_OK || st == ASSAY_ERR_NOMEM
               ? st
               : at_record(err, st, d->name, line, field);
}

/* ------------------------------------------------------------ making cases */

const cJSON *assay__json_at_path(const cJSON *v, const char *path)
{
    char seg[256];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        path += n + (path[n] == '.');
        if (cJSON_IsObject(v))
            v = cJSON_GetObjectItemCaseSensitive(v, seg);
        else if (cJSON_IsArray(v) && n > 0 && n < 10 &&
                 strspn(seg, "0123456789") == n)
            v = cJSON_GetArrayItem(v, (int)strtol(seg, NULL, 10));
        else
            return NULL;
    }
    return v;
}

/* Sets member `name` of `obj` to a copy of `value`, replacing one there. */
static bool set_copy(cJSON *obj, const char *name, const cJSON *value)
{
    cJSON *copy = cJSON_Duplicate(value, true);
    if (!copy)
        return false;
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, name, copy);
    if (!cJSON_AddItemToObject(obj, name, copy)) {
        cJSON_Delete(copy);
        return false;
    }
    return true;
}

/* A bad record: "file:line: what" (or at a node of the suite). */
typedef struct record_ctx {
    const assay__dataset *d;
    long line;
    const cJSON *node; /* inline cases: the case in the suite */
} record_ctx;

static assay_status bad(const record_ctx *r, assay_error *err,
                        const cJSON *at, const char *fmt, ...)
    ASSAY__PRINTF(4, 5);
static assay_status bad(const record_ctx *r, assay_error *err,
                        const cJSON *at, const char *fmt, ...)
{
    char what[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (r->node)
        return assay__doc_error(r->d->doc, at ? at : r->node, false, err,
                                ASSAY_ERR_SUITE, "%s", what);
    return assay__error(err, ASSAY_ERR_DATASET, r->d->name, (int)r->line, 0,
                        "%s", what);
}

static assay_status apply_map(const record_ctx *r, cJSON *vars,
                              assay_error *err)
{
    const assay__dataset_spec *spec = r->d->spec;
    for (size_t i = 0; i < spec->n_map; i++) {
        const assay__field_map *m = &spec->map[i];
        const cJSON *v = assay__json_at_path(vars, m->path);
        if (!v)
            return bad(r, err, NULL,
                       "missing field '%s' (the suite maps it to '%s')",
                       m->path, m->name);
        if (!strcmp(m->name, m->path))
            continue;
        if (!set_copy(vars, m->name, v))
            return oom(err);
    }
    return ASSAY_OK;
}

/* The case's id: its `id` field when it has one, else `fallback`. */
static assay_status take_id(const record_ctx *r, assay__case *c,
                            long fallback, assay_error *err)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(c->vars, "id");
    char text[64];
    if (!id) {
        snprintf(text, sizeof text, "%ld", fallback);
        c->id = strdup(text);
        return c->id ? ASSAY_OK : oom(err);
    }
    if (cJSON_IsString(id) && id->valuestring[0])
        c->id = strdup(id->valuestring);
    else if (cJSON_IsNumber(id) && id->valuedouble > -1e15 &&
             id->valuedouble < 1e15 &&
             id->valuedouble == (double)(long long)id->valuedouble) {
        snprintf(text, sizeof text, "%lld", (long long)id->valuedouble);
        c->id = strdup(text);
    } else {
        return bad(r, err, cJSON_GetObjectItemCaseSensitive(
                               r->node, "id"),
                   "'id' must be a non-empty string or an integer");
    }
    if (!c->id)
        return oom(err);
    assay__dataset *d = (assay__dataset *)r->d;
    if (!d->ids && !(d->ids = assay__idset_new(0)))
        return oom(err);
    assay_status st = assay__idset_add(d->ids, c->id, err);
    if (st == ASSAY_ERR_DATASET)
        return bad(r, err, cJSON_GetObjectItemCaseSensitive(r->node, "id"),
                   "duplicate id '%s' (ids must be unique in a dataset)",
                   c->id);
    return st;
}

/* Steps 2 to 6 of the file's comment, for a record already a mapping. */
static assay_status make_case(const record_ctx *r, cJSON *vars,
                              long fallback_id, assay__case **out,
                              assay_error *err)
{
    *out = NULL;
    assay__case *c = calloc(1, sizeof *c);
    if (!c) {
        cJSON_Delete(vars);
        return oom(err);
    }
    c->vars = vars;
    c->refs = 1;
    c->line = r->line;
    const assay__dataset_spec *spec = r->d->spec;
    assay_status st = apply_map(r, vars, err);
    const cJSON *ideal = cJSON_GetObjectItemCaseSensitive(vars, "ideal");
    if (st == ASSAY_OK && ideal &&
        !cJSON_GetObjectItemCaseSensitive(vars, "expected") &&
        !set_copy(vars, "expected", ideal))
        st = oom(err);
    if (st == ASSAY_OK && spec->shots &&
        !cJSON_GetObjectItemCaseSensitive(vars, "fewshot") &&
        !cJSON_AddItemReferenceToObject(vars, "fewshot",
                                        (cJSON *)spec->shots))
        st = oom(err);
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(vars, "checks");
    if (st == ASSAY_OK && checks) {
        if (!cJSON_IsArray(checks))
            st = bad(r, err, cJSON_GetObjectItemCaseSensitive(r->node,
                                                              "checks"),
                     "'checks' must be a list of checks");
        else if (r->node)
            st = compile_checks(r->d->doc,
                                cJSON_GetObjectItemCaseSensitive(r->node,
                                                                 "checks"),
                                c, err);
        else
            st = compile_json_checks(r->d, checks, r->line, "field 'checks'",
                                     c, err);
    }
    if (st == ASSAY_OK)
        st = take_id(r, c, fallback_id, err);
    if (st != ASSAY_OK) {
        assay__case_unref(c);
        return st;
    }
    *out = c;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ JSON Lines */

/* The next line (without its break) in d->line; false at the end. */
static assay_status read_line(assay__dataset *d, bool *got, assay_error *err)
{
    assay__buf_reset(&d->line);
    bool too_long = false;
    *got = false;
    for (;;) {
        if (d->block_pos == d->block_len) {
            if (d->file_eof)
                break;
            d->block_len = fread(d->block, 1, READ_BLOCK, d->file);
            d->block_pos = 0;
            if (d->block_len < READ_BLOCK) {
                if (ferror(d->file))
                    return assay__error(err, ASSAY_ERR_IO, d->name, 0, 0,
                                        "read error: %s", strerror(errno));
                d->file_eof = true;
            }
            if (d->block_len == 0)
                break;
        }
        const char *start = d->block + d->block_pos;
        size_t avail = d->block_len - d->block_pos;
        const char *nl = memchr(start, '\n', avail);
        size_t n = nl ? (size_t)(nl - start) : avail;
        *got = true;
        if (!too_long && d->line.len + n > MAX_LINE_BYTES)
            too_long = true;
        if (!too_long && assay__buf_append(&d->line, start, n) != ASSAY_OK)
            return oom(err);
        d->block_pos += n + (nl != NULL);
        if (nl)
            break;
    }
    if (*got)
        d->line_no++;
    if (too_long)
        return assay__error(err, ASSAY_ERR_DATASET, d->name, (int)d->line_no,
                            0, "the line is longer than %zu MiB",
                            MAX_LINE_BYTES >> 20);
    return ASSAY_OK;
}

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static assay_status next_jsonl(assay__dataset *d, assay__case **out,
                               assay_error *err)
{
    for (;;) {
        bool got;
        assay_status st = read_line(d, &got, err);
        if (st != ASSAY_OK || !got)
            return st;
        const char *text = d->line.data;
        size_t n = d->line.len;
        if (d->line_no == 1 && n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
            text += 3;
            n -= 3;
        }
        if (is_blank(text, n))
            continue;
        size_t bad_at = utf8_invalid_at(text, n);
        if (bad_at < n)
            return assay__error(err, ASSAY_ERR_DATASET, d->name,
                                (int)d->line_no, (int)bad_at + 1,
                                "not valid UTF-8 (byte 0x%02X)",
                                (unsigned char)text[bad_at]);
        const char *stop = NULL;
        cJSON *vars = cJSON_ParseWithLengthOpts(text, n, &stop, 0);
        int col = stop && stop >= text ? (int)(stop - text) + 1 : 0;
        if (!vars)
            return assay__error(err, ASSAY_ERR_DATASET, d->name,
                                (int)d->line_no, col, "not valid JSON");
        if (!cJSON_IsObject(vars)) {
            cJSON_Delete(vars);
            return assay__error(err, ASSAY_ERR_DATASET, d->name,
                                (int)d->line_no, 1,
                                "a case must be a JSON object");
        }
        if (stop && !is_blank(stop, (size_t)(text + n - stop))) {
            stop += strspn(stop, " \t");
            cJSON_Delete(vars);
            return assay__error(err, ASSAY_ERR_DATASET, d->name,
                                (int)d->line_no, (int)(stop - text) + 1,
                                "unexpected text after the case's JSON "
                                "object");
        }
        record_ctx r = {d, d->line_no, NULL};
        return make_case(&r, vars, d->line_no, out, err);
    }
}

/* ------------------------------------------------------------ CSV */

/* The next record of the CSV reader, feeding it as it asks. */
static assay_status csv_record(assay__dataset *d, bool *got, assay_error *err)
{
    *got = false;
    for (;;) {
        assay__csv_result res;
        assay_status st = assay__csv_next(d->csv, &res, err);
        if (st != ASSAY_OK || res == ASSAY__CSV_END)
            return st;
        if (res == ASSAY__CSV_RECORD) {
            *got = true;
            return ASSAY_OK;
        }
        size_t n = fread(d->block, 1, READ_BLOCK, d->file);
        if (n < READ_BLOCK && ferror(d->file))
            return assay__error(err, ASSAY_ERR_IO, d->name, 0, 0,
                                "read error: %s", strerror(errno));
        if (n == 0)
            assay__csv_finish(d->csv);
        else if ((st = assay__csv_feed(d->csv, d->block, n, err)) != ASSAY_OK)
            return st;
    }
}

/* Checks the UTF-8 of every field of the current record. */
static assay_status csv_utf8(const assay__dataset *d, assay_error *err)
{
    for (size_t i = 0; i < assay__csv_field_count(d->csv); i++) {
        size_t len;
        const char *f = assay__csv_field(d->csv, i, &len);
        size_t at = utf8_invalid_at(f, len);
        if (at < len)
            return assay__error(err, ASSAY_ERR_DATASET, d->name,
                                (int)assay__csv_line(d->csv), 0,
                                "column '%s' is not valid UTF-8 (byte 0x%02X "
                                "at byte %zu of the field)",
                                i < d->n_header ? d->header[i] : "?",
                                (unsigned char)f[at], at + 1);
        if (memchr(f, '\0', len))
            return assay__error(err, ASSAY_ERR_DATASET, d->name,
                                (int)assay__csv_line(d->csv), 0,
                                "column '%s' holds a NUL byte",
                                i < d->n_header ? d->header[i] : "?");
    }
    return ASSAY_OK;
}

static assay_status read_header(assay__dataset *d, assay_error *err)
{
    bool got;
    assay_status st = csv_record(d, &got, err);
    if (st == ASSAY_OK && got)
        st = csv_utf8(d, err);
    if (st != ASSAY_OK)
        return st;
    if (!got)
        return assay__error(err, ASSAY_ERR_DATASET, d->name, 1, 0,
                            "the file is empty: a CSV dataset starts with a "
                            "header row naming its columns");
    d->n_header = assay__csv_field_count(d->csv);
    d->header = calloc(d->n_header, sizeof *d->header);
    if (!d->header)
        return oom(err);
    for (size_t i = 0; i < d->n_header; i++) {
        const char *name = assay__csv_field(d->csv, i, NULL);
        if (!*name)
            return assay__error(err, ASSAY_ERR_DATASET, d->name, 1, 0,
                                "column %zu of the header has no name", i + 1);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(d->header[k], name))
                return assay__error(err, ASSAY_ERR_DATASET, d->name, 1, 0,
                                    "two columns are named '%s'", name);
        if (!(d->header[i] = strdup(name)))
            return oom(err);
    }
    return ASSAY_OK;
}

static bool is_expected_column(const char *name)
{
    if (strncmp(name, "__expected", 10))
        return false;
    return strspn(name + 10, "0123456789") == strlen(name + 10);
}

/* The record's `__expected` cells as a list of check specs. */
static assay_status csv_checks(const assay__dataset *d, cJSON **out,
                               assay_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < d->n_header; i++) {
        const char *cell = assay__csv_field(d->csv, i, NULL);
        if (!is_expected_column(d->header[i]) || !*cell)
            continue;
        if (!*out && !(*out = cJSON_CreateArray()))
            return oom(err);
        cJSON *spec = assay__dataset_assertion_spec(cell);
        if (!spec || !cJSON_AddItemToArray(*out, spec)) {
            cJSON_Delete(spec);
            return oom(err);
        }
    }
    return ASSAY_OK;
}

static assay_status next_csv(assay__dataset *d, assay__case **out,
                             assay_error *err)
{
    if (d->fatal)
        return assay__error(err, ASSAY_ERR_DATASET, d->name, 1, 0,
                            "the header row is unusable (see the first "
                            "error)");
    if (!d->header) {
        assay_status st = read_header(d, err);
        if (st != ASSAY_OK) {
            d->fatal = true;
            return st;
        }
    }
    bool got;
    assay_status st = csv_record(d, &got, err);
    if (st != ASSAY_OK || !got)
        return st;
    long line = assay__csv_line(d->csv);
    d->line_no = line;
    size_t n = assay__csv_field_count(d->csv);
    if (n != d->n_header)
        return assay__error(err, ASSAY_ERR_DATASET, d->name, (int)line, 0,
                            "the record has %zu field%s, the header %zu", n,
                            n == 1 ? "" : "s", d->n_header);
    if ((st = csv_utf8(d, err)) != ASSAY_OK)
        return st;
    cJSON *vars = cJSON_CreateObject();
    if (!vars)
        return oom(err);
    for (size_t i = 0; i < n; i++) {
        if (is_expected_column(d->header[i]))
            continue;
        if (!cJSON_AddStringToObject(vars, d->header[i],
                                     assay__csv_field(d->csv, i, NULL))) {
            cJSON_Delete(vars);
            return oom(err);
        }
    }
    cJSON *checks = NULL;
    st = csv_checks(d, &checks, err);
    record_ctx r = {d, line, NULL};
    assay__case *c = NULL;
    if (st == ASSAY_OK)
        st = make_case(&r, vars, line, &c, err);
    else
        cJSON_Delete(vars);
    if (st == ASSAY_OK && checks) {
        st = compile_json_checks(d, checks, line, "column '__expected'", c,
                                 err);
        if (st != ASSAY_OK) {
            assay__case_unref(c);
            c = NULL;
        }
    }
    cJSON_Delete(checks);
    *out = c;
    return st;
}

/* ------------------------------------------------------------ JSON, inline */

static assay_status next_item(assay__dataset *d, assay__case **out,
                              assay_error *err)
{
    const cJSON *node = d->next_item;
    if (!node)
        return ASSAY_OK;
    d->next_item = node->next;
    d->ordinal++;
    int line = 0, col = 0;
    assay__doc_where(d->doc, node, &line, &col);
    d->line_no = line;
    bool is_inline = d->kind == SRC_INLINE;
    record_ctx r = {d, line, is_inline ? node : NULL};
    if (!cJSON_IsObject(node)) {
        if (is_inline)
            return assay__doc_error(d->doc, node, false, err, ASSAY_ERR_SUITE,
                                    "a case must be a mapping of fields");
        return assay__error(err, ASSAY_ERR_DATASET, d->name, line, col,
                            "a case must be a JSON object");
    }
    cJSON *vars = cJSON_Duplicate(node, true);
    if (!vars)
        return oom(err);
    /* Inline cases are named by position, file elements by line. */
    return make_case(&r, vars, is_inline ? d->ordinal : line, out, err);
}

/* ------------------------------------------------------------ opening */

static assay__data_format format_of(const assay__dataset_spec *spec)
{
    if (spec->format != ASSAY__DATA_AUTO)
        return spec->format;
    const char *dot = strrchr(spec->path, '.');
    const char *slash = strrchr(spec->path, '/');
    if (!dot || (slash && dot < slash))
        return ASSAY__DATA_JSONL;
    if (!strcmp(dot, ".csv") || !strcmp(dot, ".CSV"))
        return ASSAY__DATA_CSV;
    if (!strcmp(dot, ".json") || !strcmp(dot, ".JSON"))
        return ASSAY__DATA_JSON;
    return ASSAY__DATA_JSONL;
}

/* A JSON file's cases: its root array, or the one array in its object. */
static assay_status open_json(assay__dataset *d, assay_error *err)
{
    assay_status st = assay__doc_load(d->spec->path, &d->json_doc, err);
    if (st != ASSAY_OK)
        return st == ASSAY_ERR_SYNTAX ? ASSAY_ERR_DATASET : st;
    d->doc = d->json_doc;
    const cJSON *root = assay__doc_root(d->json_doc);
    const cJSON *list = NULL;
    if (cJSON_IsArray(root)) {
        list = root;
    } else if (cJSON_IsObject(root)) {
        const cJSON *m;
        int arrays = 0;
        cJSON_ArrayForEach(m, root)
        {
            if (cJSON_IsArray(m)) {
                list = m;
                arrays++;
            }
        }
        if (arrays != 1)
            list = NULL;
    }
    if (!list)
        return assay__doc_error(d->json_doc, root, false, err,
                                ASSAY_ERR_DATASET,
                                "a JSON dataset is an array of cases, or an "
                                "object with exactly one array of cases");
    d->next_item = list->child;
    return ASSAY_OK;
}

static assay_status open_file(assay__dataset *d, assay_error *err)
{
    assay__data_format format = format_of(d->spec);
    if (format == ASSAY__DATA_JSON) {
        d->kind = SRC_JSON;
        return open_json(d, err);
    }
    d->kind = format == ASSAY__DATA_CSV ? SRC_CSV : SRC_JSONL;
    d->file = fopen(d->spec->path, "rb");
    if (!d->file) {
        int e = errno;
        return assay__error(err, ASSAY_ERR_IO, d->spec->path, 0, 0,
                            "cannot open the dataset: %s", strerror(e));
    }
    if (!(d->block = malloc(READ_BLOCK)))
        return oom(err);
    if (d->kind == SRC_CSV)
        return assay__csv_new(d->spec->path, &d->csv, err);
    return ASSAY_OK;
}

assay_status assay__dataset_open(const assay__dataset_spec *spec,
                                 const assay__select *sel,
                                 assay__dataset **out, assay_error *err)
{
    *out = NULL;
    assay__dataset *d = calloc(1, sizeof *d);
    if (!d)
        return oom(err);
    assay__buf_init(&d->line, 0);
    assay__select_init(&d->own_sel);
    d->spec = spec;
    d->sel = sel ? sel : &d->own_sel;
    d->name = spec->path ? spec->path : assay__doc_name(spec->doc);
    assay_status st = assay__selector_new(d->sel, &d->selector, err);
    if (st == ASSAY_OK && spec->path) {
        st = open_file(d, err);
    } else if (st == ASSAY_OK) {
        d->kind = SRC_INLINE;
        d->doc = spec->doc;
        d->next_item = spec->inline_cases ? spec->inline_cases->child : NULL;
    }
    if (st != ASSAY_OK) {
        assay__dataset_free(d);
        return st;
    }
    *out = d;
    return ASSAY_OK;
}

/* Opens a dataset over a spec of its own, freed with it. */
static assay_status open_owned(assay__dataset_spec *spec, assay__dataset **out,
                               assay_error *err)
{
    assay_status st = assay__dataset_open(spec, NULL, out, err);
    if (st != ASSAY_OK) {
        assay__dataset_spec_release(spec);
        free(spec);
        return st;
    }
    (*out)->own_spec = spec;
    return ASSAY_OK;
}

assay_status assay__dataset_open_jsonl(const char *path, assay__dataset **out,
                                       assay_error *err)
{
    *out = NULL;
    assay__dataset_spec *spec = calloc(1, sizeof *spec);
    if (spec && !(spec->path = strdup(path))) {
        free(spec);
        spec = NULL;
    }
    if (!spec)
        return oom(err);
    spec->format = ASSAY__DATA_JSONL;
    return open_owned(spec, out, err);
}

assay_status assay__dataset_open_inline(const assay__doc *doc,
                                        const cJSON *cases,
                                        assay__dataset **out,
                                        assay_error *err)
{
    *out = NULL;
    assay__dataset_spec *spec = calloc(1, sizeof *spec);
    if (!spec)
        return oom(err);
    spec->doc = doc;
    spec->inline_cases = cases;
    return open_owned(spec, out, err);
}

void assay__dataset_free(assay__dataset *d)
{
    if (!d)
        return;
    assay__selector_free(d->selector);
    if (d->file)
        fclose(d->file);
    free(d->block);
    assay__buf_release(&d->line);
    assay__csv_free(d->csv);
    for (size_t i = 0; i < d->n_header; i++)
        free(d->header[i]);
    free(d->header);
    assay__doc_free(d->json_doc);
    assay__idset_free(d->ids);
    if (d->own_spec) {
        assay__dataset_spec_release(d->own_spec);
        free(d->own_spec);
    }
    assay__select_release(&d->own_sel);
    free(d);
}

/* ------------------------------------------------------------ reading */

static assay_status next_record(assay__dataset *d, assay__case **out,
                                assay_error *err)
{
    switch (d->kind) {
    case SRC_JSONL:
        return next_jsonl(d, out, err);
    case SRC_CSV:
        return next_csv(d, out, err);
    case SRC_JSON:
    case SRC_INLINE:
        break;
    }
    return next_item(d, out, err);
}

/* A record's own mistake, which skipping may pass over. */
static bool is_bad_record(assay_status st)
{
    return st == ASSAY_ERR_DATASET || st == ASSAY_ERR_CHECK ||
           st == ASSAY_ERR_TEMPLATE || st == ASSAY_ERR_SUITE;
}

/* The selector's source: the next case, skipping bad records if asked. */
static assay_status pull(void *source, assay__case **out, assay_error *err)
{
    assay__dataset *d = source;
    assay_error local;
    if (!err)
        err = &local;
    for (;;) {
        *out = NULL;
        assay_status st = next_record(d, out, err);
        if (st == ASSAY_OK || !d->sel->skip || !is_bad_record(st) ||
            d->kind == SRC_INLINE || d->fatal)
            return st;
        d->skipped++;
        d->sel->skip(err, d->sel->skip_data);
    }
}

assay_status assay__dataset_next(assay__dataset *d, assay__case **out,
                                 assay_error *err)
{
    *out = NULL;
    return assay__selector_next(d->selector, pull, d, out, err);
}

long assay__dataset_skipped(const assay__dataset *d)
{
    return d->skipped;
}
