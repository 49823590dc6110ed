/*
 * fake_server.c - a scripted stand-in for an OpenAI-compatible endpoint.
 *
 * What it does: listens on 127.0.0.1 only and serves
 *   POST /v1/chat/completions  a reply looked up by the exact text of the
 *                              last user message in an answer table
 *                              (--answers, JSON Lines); anything not in the
 *                              table gets --default-reply;
 *   GET  /v1/models            a single model, "fake-model";
 *   GET  /health               {"status":"ok"}.
 * A completion can be delayed (--delay-ms, or "delay_ms" per answer), fail
 * with a scripted HTTP status ("status" per answer), or fail at random with
 * a seeded, reproducible probability (--fail-rate, --seed). Each completion
 * request can be logged with its Authorization header (--log), so that tests
 * can assert what the client sent.
 *
 * What it does not do: stream (a request with "stream": true gets 400), call
 * tools, check API keys, run a model or count real tokens (usage counts
 * whitespace-separated words, plus 4 per message), or listen on anything but
 * 127.0.0.1. Content given as an array of parts is matched as its "text"
 * parts concatenated with no separator.
 *
 * Once listening it prints "port N" on stdout. It runs until SIGTERM or
 * SIGINT, then stops the daemon (a reply still being delayed is dropped and
 * its connection closed), frees everything and exits 0. Usage errors
 * and bad answer files exit 2, anything else that stops it from starting
 * exits 1.
 */
#include <cjson/cJSON.h>
#include <microhttpd.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#if defined(__GNUC__)
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PRINTF_LIKE(fmt, args)
#endif

#define MAX_REQUEST_BODY ((size_t)16 << 20)
#define CONNECTION_LIMIT 1024u
#define LISTEN_BACKLOG 1024u
#define MAX_DELAY_MS 3600000L /* one hour */
#define DELAY_SLICE_MS 50L    /* how often a delayed reply checks for shutdown */
#define DEFAULT_REPLY "I don't know."
#define MODEL_ID "fake-model"
#define TOKENS_PER_MESSAGE 4

enum { EXIT_STARTUP = 1, EXIT_USAGE = 2 };

/* The only global: set by the signal handler, read by main and by delays. */
static volatile sig_atomic_t stop_requested;

/* ------------------------------------------------------------ options */

struct server_options {
    unsigned port;
    const char *answers_path;
    const char *log_path;
    const char *default_reply;
    long delay_ms;
    double fail_rate;
    uint64_t seed;
};

static void print_usage(FILE *to)
{
    fputs("usage: assay-fake-server [options]\n"
          "  --port N            listen on 127.0.0.1:N (default 0: a free port)\n"
          "  --answers FILE      answer table, JSON Lines:\n"
          "                      {\"match\": TEXT, \"reply\": TEXT, \"status\": N,\n"
          "                       \"finish_reason\": TEXT, \"delay_ms\": N}\n"
          "  --delay-ms N        wait N ms before answering each completion\n"
          "  --log FILE          append each completion request as a JSON line\n"
          "  --default-reply T   reply when nothing matches (default \"" DEFAULT_REPLY
          "\")\n"
          "  --fail-rate R       answer 500 to a fraction R (0..1) of completions\n"
          "  --seed S            seed for --fail-rate (default 1)\n"
          "  -h, --help          show this help\n"
          "Prints \"port N\" once listening; stops on SIGTERM or SIGINT.\n",
          to);
}

static bool parse_long(const char *text, long min, long max, long *out)
{
    if (!isdigit((unsigned char)text[0]))
        return false;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || value < min || value > max)
        return false;
    *out = value;
    return true;
}

static bool parse_seed(const char *text, uint64_t *out)
{
    if (!isdigit((unsigned char)text[0]))
        return false;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || *end)
        return false;
    *out = (uint64_t)value;
    return true;
}

static bool parse_probability(const char *text, double *out)
{
    if (!isdigit((unsigned char)text[0]) && text[0] != '.')
        return false;
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || *end || !(value >= 0.0 && value <= 1.0))
        return false;
    *out = value;
    return true;
}

enum options_result { OPTIONS_RUN, OPTIONS_HELP, OPTIONS_BAD };

static const char *const option_names[] = {
    "--port", "--answers", "--delay-ms", "--log", "--default-reply", "--fail-rate", "--seed",
};

/* The option `arg` names (before any '='), or NULL if there is none such. */
static const char *known_option(const char *arg)
{
    size_t len = strcspn(arg, "=");
    for (size_t i = 0; i < sizeof option_names / sizeof option_names[0]; i++)
        if (strlen(option_names[i]) == len && !strncmp(arg, option_names[i], len))
            return option_names[i];
    return NULL;
}

static bool set_option(struct server_options *opt, const char *name, const char *value)
{
    long number;
    if (!strcmp(name, "--port")) {
        if (!parse_long(value, 0, 65535, &number))
            return false;
        opt->port = (unsigned)number;
    } else if (!strcmp(name, "--answers")) {
        opt->answers_path = value;
    } else if (!strcmp(name, "--delay-ms")) {
        return parse_long(value, 0, MAX_DELAY_MS, &opt->delay_ms);
    } else if (!strcmp(name, "--log")) {
        opt->log_path = value;
    } else if (!strcmp(name, "--default-reply")) {
        opt->default_reply = value;
    } else if (!strcmp(name, "--fail-rate")) {
        return parse_probability(value, &opt->fail_rate);
    } else if (!strcmp(name, "--seed")) {
        return parse_seed(value, &opt->seed);
    }
    return true;
}

/* Accepts "--name value" and "--name=value"; the last of a repeated option wins. */
static enum options_result parse_options(int argc, char **argv, struct server_options *opt)
{
    *opt = (struct server_options){
        .default_reply = DEFAULT_REPLY,
        .seed = 1,
    };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
            return OPTIONS_HELP;
        const char *name = known_option(arg);
        if (!name) {
            fprintf(stderr, "assay-fake-server: unknown option '%s'\n", arg);
            return OPTIONS_BAD;
        }
        const char *equals = strchr(arg, '=');
        const char *value = equals ? equals + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            fprintf(stderr, "assay-fake-server: %s needs a value\n", name);
            return OPTIONS_BAD;
        }
        if (!set_option(opt, name, value)) {
            fprintf(stderr, "assay-fake-server: bad value '%s' for %s\n", value, name);
            return OPTIONS_BAD;
        }
    }
    return OPTIONS_RUN;
}

/* ------------------------------------------------------------ answer table */

struct answer {
    char *match;
    char *reply;         /* NULL when status is not 200 and no reply was given */
    char *finish_reason;
    int status;          /* 200, or a scripted failure in 400..599 */
    long delay_ms;       /* -1: use the global delay */
    long line;
};

/* Sorted by `match` once loaded, so that a lookup is a binary search. */
struct answer_table {
    struct answer *items;
    size_t count;
    size_t cap;
};

static void answer_release(struct answer *a)
{
    free(a->match);
    free(a->reply);
    free(a->finish_reason);
}

static void answer_table_release(struct answer_table *t)
{
    for (size_t i = 0; i < t->count; i++)
        answer_release(&t->items[i]);
    free(t->items);
    *t = (struct answer_table){0};
}

static void PRINTF_LIKE(3, 4) report_line(const char *path, long line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%ld: ", path, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

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

static bool is_known_answer_key(const char *key)
{
    static const char *const keys[] = {"match", "reply", "status", "finish_reason", "delay_ms"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(key, keys[i]))
            return true;
    return false;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Fills `out` from one parsed line; on error reports it and leaves `out` empty. */
static bool answer_from_json(const cJSON *obj, const char *path, long line, struct answer *out)
{
    *out = (struct answer){.status = 200, .delay_ms = -1, .line = line};
    if (!cJSON_IsObject(obj)) {
        report_line(path, line, "expected a JSON object");
        return false;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, obj) {
        if (!is_known_answer_key(item->string)) {
            report_line(path, line,
                        "unknown key '%s' (expected match, reply, status, finish_reason, "
                        "delay_ms)",
                        item->string);
            return false;
        }
    }
    const cJSON *match = cJSON_GetObjectItemCaseSensitive(obj, "match");
    const cJSON *reply = cJSON_GetObjectItemCaseSensitive(obj, "reply");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
    const cJSON *finish = cJSON_GetObjectItemCaseSensitive(obj, "finish_reason");
    const cJSON *delay = cJSON_GetObjectItemCaseSensitive(obj, "delay_ms");
    long number;

    if (!cJSON_IsString(match)) {
        report_line(path, line, match ? "'match' must be a string" : "missing 'match'");
        return false;
    }
    if (status) {
        if (!json_integer_in(status, 200, 599, &number) || (number != 200 && number < 400)) {
            report_line(path, line, "'status' must be 200 or an integer in 400..599");
            return false;
        }
        out->status = (int)number;
    }
    if (reply && !cJSON_IsString(reply)) {
        report_line(path, line, "'reply' must be a string");
        return false;
    }
    if (!reply && out->status == 200) {
        report_line(path, line, "missing 'reply'");
        return false;
    }
    if (finish && (!cJSON_IsString(finish) || !finish->valuestring[0])) {
        report_line(path, line, "'finish_reason' must be a non-empty string");
        return false;
    }
    if (delay) {
        if (!json_integer_in(delay, 0, MAX_DELAY_MS, &number)) {
            report_line(path, line, "'delay_ms' must be an integer in 0..%ld", MAX_DELAY_MS);
            return false;
        }
        out->delay_ms = number;
    }
    out->match = strdup(match->valuestring);
    out->reply = dup_or_null(reply ? reply->valuestring : NULL);
    out->finish_reason = strdup(finish ? finish->valuestring : "stop");
    if (!out->match || (reply && !out->reply) || !out->finish_reason) {
        answer_release(out);
        report_line(path, line, "out of memory");
        return false;
    }
    return true;
}

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

static bool answer_table_load(struct answer_table *t, const char *path)
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

/* Borrowed; valid until the table is released. */
static const struct answer *answer_table_find(const struct answer_table *t, const char *match)
{
    if (!t->count)
        return NULL;
    return bsearch(match, t->items, t->count, sizeof t->items[0], compare_key_to_answer);
}

/* ------------------------------------------------------------ seeded PRNG */

/* xorshift64* behind a mutex: reproducible for a seed, safe across threads. */
struct fault_prng {
    pthread_mutex_t lock;
    uint64_t state;
};

static void fault_prng_init(struct fault_prng *p, uint64_t seed)
{
    /* A splitmix64 step spreads small seeds over all bits; xorshift must not start at 0. */
    uint64_t z = seed + 0x9E3779B97F4A7C15u;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    p->state = z ? z : 0x9E3779B97F4A7C15u;
    pthread_mutex_init(&p->lock, NULL);
}

static void fault_prng_release(struct fault_prng *p)
{
    pthread_mutex_destroy(&p->lock);
}

/* A uniform double in [0, 1). */
static double fault_prng_next(struct fault_prng *p)
{
    pthread_mutex_lock(&p->lock);
    uint64_t x = p->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->state = x;
    pthread_mutex_unlock(&p->lock);
    return (double)((x * 0x2545F4914F6CDD1Du) >> 11) * 0x1.0p-53;
}

/* ------------------------------------------------------------ server state */

struct fake_server {
    struct server_options options;
    struct answer_table answers;
    FILE *log;                 /* NULL without --log */
    pthread_mutex_t log_lock;
    struct fault_prng prng;
    atomic_ullong completions; /* numbers the chatcmpl-fake-N ids */
    struct MHD_Daemon *daemon;
};

/* What a handler decided to answer. `body` is malloc'd JSON owned here. */
struct http_reply {
    unsigned status;
    char *body;
    const char *allow; /* the Allow header of a 405, or NULL */
    long delay_ms;
};

/* The state of one HTTP request, kept across MHD's calls for it. */
struct request {
    const struct route *route; /* NULL: no such path */
    bool method_allowed;
    const char *authorization; /* borrowed from MHD, set before the handler runs */
    char *body;                /* NUL-terminated; only kept for routes that read it */
    size_t body_len;
    size_t body_cap;
    bool body_too_large;
    bool body_out_of_memory;
};

/* ------------------------------------------------------------ JSON bodies */

static char *print_and_delete(cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    return text;
}

static char *error_body(unsigned code, const char *message, const char *type)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *error = root ? cJSON_AddObjectToObject(root, "error") : NULL;
    bool ok = error && cJSON_AddNumberToObject(error, "code", code)
              && cJSON_AddStringToObject(error, "message", message)
              && cJSON_AddStringToObject(error, "type", type);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return print_and_delete(root);
}

/* Replaces whatever `out` held with an OpenAI-style error. */
static void set_error(struct http_reply *out, unsigned code, const char *message, const char *type)
{
    free(out->body);
    out->status = code;
    out->body = error_body(code, message, type);
}

static void set_body(struct http_reply *out, unsigned status, const char *json_text)
{
    free(out->body);
    out->status = status;
    out->body = strdup(json_text);
}

static size_t count_words(const char *s)
{
    size_t words = 0;
    bool in_word = false;
    for (; *s; s++) {
        bool space = isspace((unsigned char)*s);
        if (!space && !in_word)
            words++;
        in_word = !space;
    }
    return words;
}

/* Calls `visit` on each piece of text in a message's content: the string, or the "text" parts. */
static void for_each_content_text(const cJSON *content, void (*visit)(const char *, void *),
                                  void *ctx)
{
    if (cJSON_IsString(content)) {
        visit(content->valuestring, ctx);
        return;
    }
    const cJSON *part;
    if (cJSON_IsArray(content)) {
        cJSON_ArrayForEach(part, content) {
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(text))
                visit(text->valuestring, ctx);
        }
    }
}

static void add_words(const char *text, void *total)
{
    *(size_t *)total += count_words(text);
}

static void add_length(const char *text, void *total)
{
    *(size_t *)total += strlen(text);
}

static void append_text(const char *text, void *cursor)
{
    char **at = cursor;
    size_t n = strlen(text);
    memcpy(*at, text, n);
    *at += n;
}

/* The content's text as one malloc'd string ("" when there is none), or NULL if out of memory. */
static char *content_text(const cJSON *content)
{
    size_t len = 0;
    for_each_content_text(content, add_length, &len);
    char *text = malloc(len + 1);
    if (!text)
        return NULL;
    char *cursor = text;
    for_each_content_text(content, append_text, &cursor);
    *cursor = '\0';
    return text;
}

static bool has_role(const cJSON *message, const char *role)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(message, "role");
    return cJSON_IsString(r) && !strcmp(r->valuestring, role);
}

static const cJSON *last_user_message(const cJSON *messages)
{
    const cJSON *message, *last = NULL;
    cJSON_ArrayForEach(message, messages) {
        if (has_role(message, "user"))
            last = message;
    }
    return last;
}

static size_t prompt_tokens(const cJSON *messages)
{
    size_t tokens = 0;
    const cJSON *message;
    cJSON_ArrayForEach(message, messages) {
        tokens += TOKENS_PER_MESSAGE;
        for_each_content_text(cJSON_GetObjectItemCaseSensitive(message, "content"), add_words,
                              &tokens);
    }
    return tokens;
}

/* Why a parsed request cannot be answered, or NULL if it can. */
static const char *request_problem(const cJSON *request)
{
    if (!cJSON_IsObject(request))
        return "request body must be a JSON object";
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages");
    if (!messages)
        return "'messages' is required";
    if (!cJSON_IsArray(messages))
        return "'messages' must be an array";
    const cJSON *message;
    cJSON_ArrayForEach(message, messages) {
        if (!cJSON_IsObject(message))
            return "each entry of 'messages' must be an object";
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(request, "stream")))
        return "the fake server does not stream; send \"stream\": false";
    return NULL;
}

static char *completion_body(struct fake_server *srv, const cJSON *request, const char *reply,
                             const char *finish_reason)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(request, "model");
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages");
    size_t prompt = prompt_tokens(messages);
    size_t completion = count_words(reply);
    if (completion < 1)
        completion = 1;
    char id[48];
    snprintf(id, sizeof id, "chatcmpl-fake-%llu", atomic_fetch_add(&srv->completions, 1) + 1);

    cJSON *root = cJSON_CreateObject();
    cJSON *choices, *choice, *message, *usage;
    bool ok = root && cJSON_AddStringToObject(root, "id", id)
              && cJSON_AddStringToObject(root, "object", "chat.completion")
              && cJSON_AddNumberToObject(root, "created", (double)time(NULL))
              && cJSON_AddStringToObject(root, "model",
                                         cJSON_IsString(model) && model->valuestring[0]
                                             ? model->valuestring
                                             : MODEL_ID)
              && cJSON_AddStringToObject(root, "system_fingerprint", "fake-server")
              && (choices = cJSON_AddArrayToObject(root, "choices"))
              && (choice = cJSON_CreateObject()) && cJSON_AddItemToArray(choices, choice)
              && cJSON_AddNumberToObject(choice, "index", 0)
              && (message = cJSON_AddObjectToObject(choice, "message"))
              && cJSON_AddStringToObject(message, "role", "assistant")
              && cJSON_AddStringToObject(message, "content", reply)
              && cJSON_AddStringToObject(choice, "finish_reason", finish_reason)
              && (usage = cJSON_AddObjectToObject(root, "usage"))
              && cJSON_AddNumberToObject(usage, "prompt_tokens", (double)prompt)
              && cJSON_AddNumberToObject(usage, "completion_tokens", (double)completion)
              && cJSON_AddNumberToObject(usage, "total_tokens", (double)(prompt + completion));
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return print_and_delete(root);
}

/* ------------------------------------------------------------ request log */

static void log_write_line(struct fake_server *srv, cJSON *line)
{
    char *text = print_and_delete(line);
    if (!text) {
        fputs("assay-fake-server: could not log a request: out of memory\n", stderr);
        return;
    }
    pthread_mutex_lock(&srv->log_lock);
    fputs(text, srv->log);
    fputc('\n', srv->log);
    fflush(srv->log);
    pthread_mutex_unlock(&srv->log_lock);
    free(text);
}

/*
 * One line per completion request: {"authorization": ..., "body": ...}, with
 * "authorization" only when the header was sent. A body that is not JSON is
 * logged as the string "body_raw"; one over the cap as "body_too_large": true.
 */
static void log_request(struct fake_server *srv, const struct request *req, cJSON *parsed)
{
    if (!srv->log)
        return;
    cJSON *line = cJSON_CreateObject();
    bool ok = line != NULL;
    if (ok && req->authorization)
        ok = cJSON_AddStringToObject(line, "authorization", req->authorization) != NULL;
    if (ok && parsed)
        ok = cJSON_AddItemReferenceToObject(line, "body", parsed);
    else if (ok && req->body_too_large)
        ok = cJSON_AddTrueToObject(line, "body_too_large") != NULL;
    else if (ok)
        ok = cJSON_AddStringToObject(line, "body_raw", req->body ? req->body : "") != NULL;
    if (!ok) {
        cJSON_Delete(line);
        line = NULL;
    }
    log_write_line(srv, line);
}

/* ------------------------------------------------------------ fault modes */

/*
 * A fault mode may replace the answer to a completion request with a failure.
 * Each mode is one function and one row in fault_modes[]; the first that
 * fires wins. A mode that was not enabled on the command line returns false.
 */
typedef bool (*fault_fn)(struct fake_server *srv, struct http_reply *out);

/* --fail-rate: a 500 with probability R, drawn from the seeded PRNG. */
static bool fault_random_500(struct fake_server *srv, struct http_reply *out)
{
    if (srv->options.fail_rate <= 0.0)
        return false;
    if (fault_prng_next(&srv->prng) >= srv->options.fail_rate)
        return false;
    set_error(out, 500, "scripted failure", "server_error");
    return true;
}

static const fault_fn fault_modes[] = {
    fault_random_500,
};

static bool inject_fault(struct fake_server *srv, struct http_reply *out)
{
    for (size_t i = 0; i < sizeof fault_modes / sizeof fault_modes[0]; i++)
        if (fault_modes[i](srv, out))
            return true;
    return false;
}

/* ------------------------------------------------------------ handlers */

static void answer_completion(struct fake_server *srv, cJSON *request, struct http_reply *out)
{
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages");
    const cJSON *user = last_user_message(messages);
    char *prompt = content_text(user ? cJSON_GetObjectItemCaseSensitive(user, "content") : NULL);
    if (!prompt) {
        set_error(out, 500, "out of memory", "server_error");
        return;
    }
    const struct answer *answer = answer_table_find(&srv->answers, prompt);
    free(prompt);
    if (answer && answer->delay_ms >= 0)
        out->delay_ms = answer->delay_ms;
    if (inject_fault(srv, out))
        return;
    if (answer && answer->status != 200) {
        set_error(out, (unsigned)answer->status, "scripted failure",
                  answer->status >= 500 ? "server_error" : "invalid_request_error");
        return;
    }
    out->status = 200;
    out->body = completion_body(srv, request, answer ? answer->reply : srv->options.default_reply,
                                answer ? answer->finish_reason : "stop");
}

static void handle_chat_completion(struct fake_server *srv, struct request *req,
                                   struct http_reply *out)
{
    out->delay_ms = srv->options.delay_ms;
    if (req->body_too_large) {
        log_request(srv, req, NULL);
        set_error(out, MHD_HTTP_CONTENT_TOO_LARGE, "request body is larger than 16 MiB",
                  "invalid_request_error");
        return;
    }
    if (req->body_out_of_memory) {
        set_error(out, 500, "out of memory", "server_error");
        return;
    }
    const char *body = req->body ? req->body : "";
    const char *end = NULL;
    cJSON *request = NULL;
    /* A NUL inside the body would end the parse early and hide what follows. */
    if (strlen(body) == req->body_len)
        request = cJSON_ParseWithLengthOpts(body, req->body_len + 1, &end, true);
    log_request(srv, req, request);
    if (!request) {
        char message[96];
        snprintf(message, sizeof message, "request body is not valid JSON (at byte %zu)",
                 end ? (size_t)(end - body) : req->body_len);
        set_error(out, 400, message, "invalid_request_error");
        return;
    }
    const char *problem = request_problem(request);
    if (problem)
        set_error(out, 400, problem, "invalid_request_error");
    else
        answer_completion(srv, request, out);
    cJSON_Delete(request);
}

static void handle_models(struct fake_server *srv, struct request *req, struct http_reply *out)
{
    (void)srv;
    (void)req;
    set_body(out, 200,
             "{\"object\":\"list\",\"data\":[{\"id\":\"" MODEL_ID "\",\"object\":\"model\","
             "\"created\":0,\"owned_by\":\"assay\"}]}");
}

static void handle_health(struct fake_server *srv, struct request *req, struct http_reply *out)
{
    (void)srv;
    (void)req;
    set_body(out, 200, "{\"status\":\"ok\"}");
}

typedef void (*route_fn)(struct fake_server *srv, struct request *req, struct http_reply *out);

struct route {
    const char *path;
    const char *method;
    bool reads_body;
    route_fn handle;
};

static const struct route routes[] = {
    {"/v1/chat/completions", "POST", true, handle_chat_completion},
    {"/v1/models", "GET", false, handle_models},
    {"/health", "GET", false, handle_health},
};

static const struct route *find_route(const char *path)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(routes[i].path, path))
            return &routes[i];
    return NULL;
}

static void dispatch(struct fake_server *srv, struct request *req, struct http_reply *out)
{
    if (!req->route) {
        set_error(out, 404, "File Not Found", "not_found_error");
    } else if (!req->method_allowed) {
        set_error(out, 405, "Method Not Allowed", "invalid_request_error");
        out->allow = req->route->method;
    } else {
        req->route->handle(srv, req, out);
    }
}

/* ------------------------------------------------------------ MHD glue */

static struct request *request_new(const char *url, const char *method)
{
    struct request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->route = find_route(url);
    if (req->route) {
        /* MHD leaves the body out of a HEAD reply by itself. */
        bool is_get = !strcmp(req->route->method, "GET");
        req->method_allowed = !strcmp(method, req->route->method)
                              || (is_get && !strcmp(method, "HEAD"));
    }
    return req;
}

static void request_free(struct request *req)
{
    if (!req)
        return;
    free(req->body);
    free(req);
}

static void request_take_upload(struct request *req, const char *data, size_t size)
{
    if (!req->route || !req->method_allowed || !req->route->reads_body || req->body_too_large
        || req->body_out_of_memory)
        return; /* read and dropped */
    if (size > MAX_REQUEST_BODY - req->body_len) {
        req->body_too_large = true;
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return;
    }
    size_t need = req->body_len + size + 1;
    if (need > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *body = realloc(req->body, cap);
        if (!body) {
            req->body_out_of_memory = true;
            return;
        }
        req->body = body;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, size);
    req->body_len += size;
    req->body[req->body_len] = '\0';
}

/* Sleeps up to `ms`, waking every DELAY_SLICE_MS to give up early on shutdown. */
static void delay_unless_stopping(long ms)
{
    struct timespec now, deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (!stop_requested) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left_ns = (long long)(deadline.tv_sec - now.tv_sec) * 1000000000LL
                            + (deadline.tv_nsec - now.tv_nsec);
        if (left_ns <= 0)
            return;
        if (left_ns > DELAY_SLICE_MS * 1000000LL)
            left_ns = DELAY_SLICE_MS * 1000000LL;
        struct timespec slice = {0, (long)left_ns};
        nanosleep(&slice, NULL);
    }
}

static enum MHD_Result send_reply(struct MHD_Connection *connection, struct http_reply *reply)
{
    if (!reply->body)
        return MHD_NO; /* out of memory: MHD closes the connection */
    struct MHD_Response *response = MHD_create_response_from_buffer(
        strlen(reply->body), reply->body, MHD_RESPMEM_MUST_COPY);
    free(reply->body);
    reply->body = NULL;
    if (!response)
        return MHD_NO;
    enum MHD_Result ok = MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                 "application/json");
    if (ok == MHD_YES && reply->allow)
        ok = MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, reply->allow);
    if (ok == MHD_YES)
        ok = MHD_queue_response(connection, reply->status, response);
    MHD_destroy_response(response);
    return ok;
}

/*
 * MHD calls this once with no data (we set up the request), then once per
 * chunk of the body, then once more with *upload_size == 0 (we answer).
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size,
                                  void **request_state)
{
    struct fake_server *srv = cls;
    struct request *req = *request_state;
    (void)version;
    if (!req) {
        req = request_new(url, method);
        *request_state = req;
        return req ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        request_take_upload(req, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    req->authorization = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_AUTHORIZATION);
    struct http_reply reply = {0};
    dispatch(srv, req, &reply);
    if (reply.delay_ms > 0)
        delay_unless_stopping(reply.delay_ms);
    return send_reply(connection, &reply);
}

static void on_request_completed(void *cls, struct MHD_Connection *connection,
                                 void **request_state, enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)connection;
    (void)why;
    request_free(*request_state);
    *request_state = NULL;
}

/* ------------------------------------------------------------ lifecycle */

static int fake_server_init(struct fake_server *srv, const struct server_options *options)
{
    *srv = (struct fake_server){.options = *options};
    atomic_init(&srv->completions, 0);
    pthread_mutex_init(&srv->log_lock, NULL);
    fault_prng_init(&srv->prng, options->seed);
    if (options->answers_path && !answer_table_load(&srv->answers, options->answers_path))
        return EXIT_USAGE;
    if (options->log_path) {
        srv->log = fopen(options->log_path, "a");
        if (!srv->log) {
            fprintf(stderr, "%s: cannot open: %s\n", options->log_path, strerror(errno));
            return EXIT_STARTUP;
        }
    }
    return 0;
}

static void fake_server_release(struct fake_server *srv)
{
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon); /* joins every connection thread */
    srv->daemon = NULL;
    if (srv->log)
        fclose(srv->log);
    srv->log = NULL;
    answer_table_release(&srv->answers);
    fault_prng_release(&srv->prng);
    pthread_mutex_destroy(&srv->log_lock);
}

static bool fake_server_start(struct fake_server *srv)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)srv->options.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /*
     * poll, not select, so that descriptors above FD_SETSIZE still work. No
     * idle timeout: MHD would count a long --delay-ms as idleness and drop
     * the reply, and the server only lives as long as a test.
     */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD
                     | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)srv->options.port, NULL, NULL, on_request, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, LISTEN_BACKLOG,
        MHD_OPTION_NOTIFY_COMPLETED, on_request_completed, srv,
        MHD_OPTION_END);
    if (!srv->daemon) {
        fprintf(stderr, "assay-fake-server: cannot listen on 127.0.0.1:%u\n", srv->options.port);
        return false;
    }
    return true;
}

static void on_stop_signal(int signo)
{
    (void)signo;
    stop_requested = 1;
}

/*
 * SIGINT and SIGTERM stay blocked everywhere but in sigsuspend, so MHD's
 * threads (which inherit the mask) never take them, and a signal that comes
 * before the wait is not lost.
 */
static void block_stop_signals(sigset_t *wait_mask)
{
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, wait_mask);
    sigdelset(wait_mask, SIGINT);
    sigdelset(wait_mask, SIGTERM);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    action.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &action, NULL);
}

int main(int argc, char **argv)
{
    struct server_options options;
    switch (parse_options(argc, argv, &options)) {
    case OPTIONS_HELP:
        print_usage(stdout);
        return 0;
    case OPTIONS_BAD:
        fputs("Try 'assay-fake-server --help'.\n", stderr);
        return EXIT_USAGE;
    case OPTIONS_RUN:
        break;
    }

    sigset_t wait_mask;
    block_stop_signals(&wait_mask);

    struct fake_server srv;
    int status = fake_server_init(&srv, &options);
    if (!status && !fake_server_start(&srv))
        status = EXIT_STARTUP;
    if (!status) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
        if (!info || !info->port) {
            fputs("assay-fake-server: cannot tell which port was bound\n", stderr);
            status = EXIT_STARTUP;
        } else {
            printf("port %u\n", (unsigned)info->port);
            fflush(stdout);
        }
    }
    while (!status && !stop_requested)
        sigsuspend(&wait_mask);
    fake_server_release(&srv);
    return status;
}
