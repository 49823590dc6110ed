/*
 * answers.c - the scripted answer table (--answers, JSON Lines) and the
 * count of requests made for each prompt.
 *
 * What it does: loads and checks the table (unknown keys, bad values and
 * duplicate matches are errors that name the line), finds an answer by the
 * exact prompt text, and numbers the requests for each prompt so that an
 * answer can fail only its first N requests ("fail_times"). Prompts that
 * match no answer are counted too, in a hash map capped at MAX_COUNTED_PROMPTS.
 *
 * What it does not do: decide what a fault looks like on the wire
 * (faults.c) or build any reply.
 */
#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define MAX_COUNTED_PROMPTS 1000000u
#define PROMPT_BUCKETS 65536u
#define MAX_FAIL_TIMES 1000000000L
#define MAX_RETRY_AFTER_S 86400L

void report_line(const char *path, long line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%ld: ", path, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/*
 * [{name, arguments}] as OpenAI writes a message's tool_calls: ids, type
 * "function", and the arguments as a JSON text (an object in the answer
 * file is printed; a string is taken as it is, valid JSON or not).
 */
static char *scripted_tool_calls(const cJSON *calls)
{
    if (!cJSON_IsArray(calls) || !cJSON_GetArraySize(calls))
        return NULL;
    cJSON *out = cJSON_CreateArray();
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, calls) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "arguments");
        char id[32];
        snprintf(id, sizeof id, "call_%d", ++i);
        char *text = cJSON_IsString(args) ? strdup(args->valuestring)
                     : args               ? cJSON_PrintUnformatted(args)
                                          : strdup("{}");
        cJSON *call = cJSON_CreateObject(), *fn = cJSON_CreateObject();
        bool ok = out && text && call && fn && cJSON_IsString(name)
                  && cJSON_AddStringToObject(call, "id", id)
                  && cJSON_AddStringToObject(call, "type", "function")
                  && cJSON_AddStringToObject(fn, "name", name->valuestring)
                  && cJSON_AddStringToObject(fn, "arguments", text);
        free(text);
        if (!ok) {
            cJSON_Delete(call);
            cJSON_Delete(fn);
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddItemToObject(call, "function", fn);
        cJSON_AddItemToArray(out, call);
    }
    char *json = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return json;
}

static void answer_release(struct answer *a)
{
    free(a->match);
    free(a->tool_calls);
    free(a->reply);
    free(a->finish_reason);
    free(a->retry.date);
}

/* ------------------------------------------------------------ one line */

static bool json_integer_in(const cJSON *item, long min, long max, long *out)
{
    if (!cJSON_IsNumber(item))
        return false;
    double d = item->valuedouble;
    if (!(d >= (double)min && d <= (double)max) || d != (double)(long)d)
        return false;
    *out = (long)d;
    return true;
}

static const char *const answer_keys[] = {
    "match",      "contains",    "reply",          "status",        "finish_reason", "delay_ms",
    "tool_calls",
    "chunk_delay_ms", "fault",   "fail_times",     "retry_after",   "retry_after_ms",
};

static bool is_known_answer_key(const char *key)
{
    for (size_t i = 0; i < sizeof answer_keys / sizeof answer_keys[0]; i++)
        if (!strcmp(key, answer_keys[i]))
            return true;
    return false;
}

static bool check_keys(const cJSON *obj, const char *path, long line)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, obj) {
        if (!is_known_answer_key(item->string)) {
            report_line(path, line,
                        "unknown key '%s' (expected match, contains, reply, tool_calls, status, finish_reason, "
                        "delay_ms, chunk_delay_ms, fault, fail_times, retry_after, "
                        "retry_after_ms)",
                        item->string);
            return false;
        }
    }
    return true;
}

/* An integer key in min..max, or absent (leaving *out as it is). */
static bool optional_integer(const cJSON *obj, const char *key, long min, long max, long *out,
                             const char *path, long line)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item)
        return true;
    if (json_integer_in(item, min, max, out))
        return true;
    report_line(path, line, "'%s' must be an integer in %ld..%ld", key, min, max);
    return false;
}

/* A header value must be printable ASCII that fits in a reply header. */
static bool is_header_safe(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < 0x20 || s[n] > 0x7e)
            return false;
    return n > 0 && n < HEADER_VALUE_MAX;
}

/* "retry_after": seconds, "+N" (an HTTP date N seconds ahead) or an HTTP date. */
static bool parse_retry_after(const cJSON *obj, struct retry_hint *hint, const char *path,
                              long line)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "retry_after");
    if (!item)
        return true;
    if (cJSON_IsNumber(item)) {
        if (json_integer_in(item, 0, MAX_RETRY_AFTER_S, &hint->seconds))
            return true;
    } else if (cJSON_IsString(item) && item->valuestring[0] == '+') {
        char *end;
        errno = 0;
        long ahead = strtol(item->valuestring + 1, &end, 10);
        if (isdigit((unsigned char)item->valuestring[1]) && !*end && !errno && ahead >= 0
            && ahead <= MAX_RETRY_AFTER_S) {
            hint->date_in_s = ahead;
            return true;
        }
    } else if (cJSON_IsString(item) && is_header_safe(item->valuestring)) {
        hint->date = strdup(item->valuestring);
        if (hint->date)
            return true;
        report_line(path, line, "out of memory");
        return false;
    }
    report_line(path, line,
                "'retry_after' must be seconds (0..%ld), \"+SECONDS\" or an HTTP date",
                MAX_RETRY_AFTER_S);
    return false;
}

static bool parse_fault(const cJSON *obj, struct answer *out, const char *path, long line)
{
    const cJSON *fault = cJSON_GetObjectItemCaseSensitive(obj, "fault");
    if (!fault)
        return true;
    out->fault = cJSON_IsString(fault) ? fault_mode_find(fault->valuestring) : NULL;
    if (!out->fault) {
        fprintf(stderr, "%s:%ld: 'fault' must be one of: ", path, line);
        fault_mode_list(stderr, ", ");
        fputc('\n', stderr);
        return false;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, "status")) {
        report_line(path, line, "give 'fault' or 'status', not both");
        return false;
    }
    return true;
}

static bool parse_status(const cJSON *obj, struct answer *out, const char *path, long line)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
    long number;
    if (!status)
        return true;
    if (!json_integer_in(status, 200, 599, &number) || (number != 200 && number < 400)) {
        report_line(path, line, "'status' must be 200 or an integer in 400..599");
        return false;
    }
    out->status = (int)number;
    return true;
}

/* The keys that decide when and how an answer fails. */
static bool parse_failure(const cJSON *obj, struct answer *out, const char *path, long line)
{
    if (!parse_status(obj, out, path, line) || !parse_fault(obj, out, path, line))
        return false;
    if (!optional_integer(obj, "fail_times", 0, MAX_FAIL_TIMES, &out->fail_times, path, line))
        return false;
    bool fails = out->fault || out->status != 200;
    if (out->fail_times >= 0 && !fails) {
        report_line(path, line, "'fail_times' needs 'fault' or a failing 'status'");
        return false;
    }
    return parse_retry_after(obj, &out->retry, path, line)
           && optional_integer(obj, "retry_after_ms", 0, MAX_DELAY_MS, &out->retry.ms, path,
                               line);
}

/* Fills `out` from one parsed line; on error reports it and leaves `out` empty. */
static bool answer_from_json(const cJSON *obj, const char *path, long line, struct answer *out)
{
    *out = (struct answer){
        .status = 200,
        .fail_times = -1,
        .delay_ms = -1,
        .chunk_delay_ms = -1,
        .retry = {.seconds = -1, .date_in_s = -1, .ms = -1},
        .line = line,
    };
    if (!cJSON_IsObject(obj)) {
        report_line(path, line, "expected a JSON object");
        return false;
    }
    if (!check_keys(obj, path, line))
        return false;
    const cJSON *match = cJSON_GetObjectItemCaseSensitive(obj, "match");
    const cJSON *contains = cJSON_GetObjectItemCaseSensitive(obj, "contains");
    const cJSON *reply = cJSON_GetObjectItemCaseSensitive(obj, "reply");
    if (match && contains) {
        report_line(path, line, "give 'match' or 'contains', not both");
        return false;
    }
    if (contains) {
        match = contains;
        out->contains = true;
    }
    const cJSON *finish = cJSON_GetObjectItemCaseSensitive(obj, "finish_reason");

    if (!cJSON_IsString(match)) {
        report_line(path, line,
                    match ? "'match' must be a string" : "missing 'match' (or 'contains')");
        return false;
    }
    bool ok = parse_failure(obj, out, path, line)
              && optional_integer(obj, "delay_ms", 0, MAX_DELAY_MS, &out->delay_ms, path, line)
              && optional_integer(obj, "chunk_delay_ms", 0, MAX_DELAY_MS, &out->chunk_delay_ms,
                                  path, line);
    if (ok && reply && !cJSON_IsString(reply)) {
        report_line(path, line, "'reply' must be a string");
        ok = false;
    }
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(obj, "tool_calls");
    if (ok && calls && !(out->tool_calls = scripted_tool_calls(calls))) {
        report_line(path, line,
                    "'tool_calls' must be a list of {name, arguments}");
        ok = false;
    }
    if (ok && !reply && !calls && out->status == 200 && !out->fault) {
        report_line(path, line, "missing 'reply'");
        ok = false;
    }
    if (ok && finish && (!cJSON_IsString(finish) || !finish->valuestring[0])) {
        report_line(path, line, "'finish_reason' must be a non-empty string");
        ok = false;
    }
    if (ok) {
        out->match = strdup(match->valuestring);
        out->reply = reply ? strdup(reply->valuestring) : NULL;
        out->finish_reason = strdup(finish ? finish->valuestring : "stop");
        if (!out->match || (reply && !out->reply) || !out->finish_reason) {
            report_line(path, line, "out of memory");
            ok = false;
        }
    }
    if (!ok) {
        answer_release(out);
        *out = (struct answer){0};
    }
    return ok;
}

/* ------------------------------------------------------------ the table */

static bool is_blank(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return !*s;
}

static bool answer_table_push(struct answer_table *t, const struct answer *a)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct answer *items = realloc(t->items, cap * sizeof *items);
        if (!items)
            return false;
        t->items = items;
        t->cap = cap;
    }
    t->items[t->count++] = *a;
    return true;
}

/* `text` is NUL-terminated and `len` long, without its line ending. */
static bool answer_table_add_line(struct answer_table *t, const char *path, long line,
                                  const char *text, size_t len)
{
    if (strlen(text) != len) {
        report_line(path, line, "line contains a NUL byte");
        return false;
    }
    if (is_blank(text))
        return true;
    const char *end = NULL;
    /* len + 1 takes in the terminator, which require_null_terminated looks for. */
    cJSON *json = cJSON_ParseWithLengthOpts(text, len + 1, &end, true);
    if (!json) {
        size_t column = end ? (size_t)(end - text) + 1 : 1;
        fprintf(stderr, "%s:%ld:%zu: invalid JSON\n", path, line, column);
        return false;
    }
    struct answer a;
    bool ok = answer_from_json(json, path, line, &a);
    cJSON_Delete(json);
    if (ok && !answer_table_push(t, &a)) {
        answer_release(&a);
        report_line(path, line, "out of memory");
        ok = false;
    }
    return ok;
}

static int compare_answers(const void *a, const void *b)
{
    return strcmp(((const struct answer *)a)->match, ((const struct answer *)b)->match);
}

static int compare_key_to_answer(const void *key, const void *item)
{
    return strcmp(key, ((const struct answer *)item)->match);
}

/* Sorts the table and rejects a match that appears twice, naming both lines. */
static bool answer_table_finish(struct answer_table *t, const char *path)
{
    if (t->count > 1)
        qsort(t->items, t->count, sizeof t->items[0], compare_answers);
    long first = 0, again = 0;
    for (size_t i = 1; i < t->count; i++) {
        const struct answer *a = &t->items[i - 1], *b = &t->items[i];
        if (strcmp(a->match, b->match) != 0)
            continue;
        long lo = a->line < b->line ? a->line : b->line;
        long hi = a->line < b->line ? b->line : a->line;
        if (!again || hi < again) {
            first = lo;
            again = hi;
        }
    }
    if (again) {
        report_line(path, again, "duplicate match (first on line %ld)", first);
        return false;
    }
    return true;
}

bool answer_table_load(struct answer_table *t, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
        return false;
    }
    char *text = NULL;
    size_t text_cap = 0;
    long line = 0;
    bool ok = true;
    ssize_t n;
    while (ok && (n = getline(&text, &text_cap, f)) >= 0) {
        size_t len = (size_t)n;
        line++;
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
            text[--len] = '\0';
        ok = answer_table_add_line(t, path, line, text, len);
    }
    if (ok && ferror(f)) {
        fprintf(stderr, "%s: read error: %s\n", path, strerror(errno));
        ok = false;
    }
    free(text);
    fclose(f);
    return ok && answer_table_finish(t, path);
}

/*
 * The answer for exactly this prompt; else the earliest "contains" answer
 * whose text the prompt holds (a linear scan: such answers are few, and
 * meant for long prompts like a grader's).
 */
const struct answer *answer_table_find(const struct answer_table *t, const char *match)
{
    if (!t->count)
        return NULL;
    const struct answer *exact =
        bsearch(match, t->items, t->count, sizeof t->items[0], compare_key_to_answer);
    if (exact && !exact->contains)
        return exact;
    const struct answer *best = NULL;
    for (size_t i = 0; i < t->count; i++) {
        const struct answer *a = &t->items[i];
        if (a->contains && strstr(match, a->match) && (!best || a->line < best->line))
            best = a;
    }
    return best;
}

bool answer_fails_on(const struct answer *answer, unsigned long attempt)
{
    if (!answer || (!answer->fault && answer->status == 200))
        return false;
    return answer->fail_times < 0 || attempt <= (unsigned long)answer->fail_times;
}

/* ------------------------------------------------------------ attempt counts */

struct prompt_count {
    struct prompt_count *next;
    unsigned long requests;
    char text[]; /* NUL-terminated */
};

/* Chained buckets behind one lock: the server's request rate is a test's. */
struct prompt_counts {
    pthread_mutex_t lock;
    struct prompt_count *buckets[PROMPT_BUCKETS];
    size_t count;
};

bool answer_table_init_counts(struct answer_table *t)
{
    t->attempts = calloc(t->count ? t->count : 1, sizeof *t->attempts);
    t->others = calloc(1, sizeof *t->others);
    if (!t->attempts || !t->others)
        return false;
    for (size_t i = 0; i < t->count; i++)
        atomic_init(&t->attempts[i], 0);
    pthread_mutex_init(&t->others->lock, NULL);
    return true;
}

static void prompt_counts_free(struct prompt_counts *pc)
{
    if (!pc)
        return;
    for (size_t i = 0; i < PROMPT_BUCKETS; i++) {
        struct prompt_count *c = pc->buckets[i];
        while (c) {
            struct prompt_count *next = c->next;
            free(c);
            c = next;
        }
    }
    pthread_mutex_destroy(&pc->lock);
    free(pc);
}

static unsigned long prompt_counts_add(struct prompt_counts *pc, const char *prompt)
{
    size_t len = strlen(prompt);
    size_t bucket = (size_t)(hash64_of(prompt, len) % PROMPT_BUCKETS);
    unsigned long requests = 0;
    pthread_mutex_lock(&pc->lock);
    struct prompt_count *c = pc->buckets[bucket];
    while (c && strcmp(c->text, prompt) != 0)
        c = c->next;
    if (!c && pc->count < MAX_COUNTED_PROMPTS) {
        c = malloc(sizeof *c + len + 1);
        if (c) {
            memcpy(c->text, prompt, len + 1);
            c->requests = 0;
            c->next = pc->buckets[bucket];
            pc->buckets[bucket] = c;
            pc->count++;
        }
    }
    if (c)
        requests = ++c->requests;
    pthread_mutex_unlock(&pc->lock);
    return requests;
}

unsigned long answer_table_count_attempt(struct answer_table *t, const struct answer *answer,
                                         const char *prompt)
{
    if (answer)
        return atomic_fetch_add(&t->attempts[answer - t->items], 1) + 1;
    return prompt_counts_add(t->others, prompt);
}

void answer_table_release(struct answer_table *t)
{
    for (size_t i = 0; i < t->count; i++)
        answer_release(&t->items[i]);
    free(t->items);
    free(t->attempts);
    prompt_counts_free(t->others);
    *t = (struct answer_table){0};
}
