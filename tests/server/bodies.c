/*
 * bodies.c - the pieces every reply body is made of: OpenAI-style errors,
 * the completion envelope and usage, the reply's text split for a stream,
 * legacy logprobs, embedding vectors, and the word counts that stand in
 * for tokens. Also the reply's own helpers (reply_*).
 *
 * What it does not do: put a whole body together (chat.c, completions.c,
 * embeddings.c), decide which one a request gets (endpoints.c, faults.c)
 * or send anything. Tokens are whitespace-separated words; a word's
 * logprob and vector come from its SHA-256 (OpenSSL), so they are the same
 * on every run and every machine.
 */
#include "server.h"

#include <openssl/evp.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKENS_PER_MESSAGE 4
#define MAX_TOP_LOGPROBS 5
#define LOGPROB_SPAN 10.0 /* word logprobs fall in (-10, 0] */

/* ------------------------------------------------------------ replies */

char *print_and_delete(cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    return text;
}

/* {"error":{"code":N|"text","message":...,"type":...}}, the shape llama-server and OpenAI share. */
static char *error_body(unsigned status, const char *message, const char *type, const char *code)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *error = root ? cJSON_AddObjectToObject(root, "error") : NULL;
    bool ok = error
              && (code ? cJSON_AddStringToObject(error, "code", code) != NULL
                       : cJSON_AddNumberToObject(error, "code", status) != NULL)
              && cJSON_AddStringToObject(error, "message", message)
              && cJSON_AddStringToObject(error, "type", type);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return print_and_delete(root);
}

void reply_take_body(struct http_reply *out, unsigned status, char *json_text)
{
    free(out->body);
    out->status = json_text ? status : 0;
    out->body = json_text;
    out->body_len = json_text ? strlen(json_text) : 0;
}

void reply_set_error_code(struct http_reply *out, unsigned status, const char *message,
                          const char *type, const char *code)
{
    reply_take_body(out, status, error_body(status, message, type, code));
}

void reply_set_error(struct http_reply *out, unsigned status, const char *message,
                     const char *type)
{
    reply_set_error_code(out, status, message, type, NULL);
}

void reply_set_body(struct http_reply *out, unsigned status, const char *json_text)
{
    reply_take_body(out, status, strdup(json_text));
}

void reply_add_header(struct http_reply *out, const char *name, const char *fmt, ...)
{
    if (out->header_count == MAX_REPLY_HEADERS)
        return; /* the table holds every header the server ever sends at once */
    struct http_header *h = &out->headers[out->header_count++];
    h->name = name;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->value, sizeof h->value, fmt, ap);
    va_end(ap);
}

void reply_release(struct http_reply *out)
{
    free(out->body);
    sse_stream_free(out->stream);
    out->body = NULL;
    out->stream = NULL;
}

/* ------------------------------------------------------------ hashing */

static void sha256_of(const void *data, size_t len, unsigned char digest[32])
{
    unsigned int size = 32;
    if (!EVP_Digest(data, len, digest, &size, EVP_sha256(), NULL))
        memset(digest, 0, 32);
}

uint64_t hash64_of(const void *data, size_t len)
{
    unsigned char digest[32];
    sha256_of(data, len, digest);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | digest[i];
    return h;
}

/* ------------------------------------------------------------ request text */

size_t count_words(const char *s)
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

char *content_text(const cJSON *content)
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

const cJSON *last_user_message(const cJSON *messages)
{
    const cJSON *message, *last = NULL;
    cJSON_ArrayForEach(message, messages) {
        if (has_role(message, "user"))
            last = message;
    }
    return last;
}

size_t prompt_tokens(const cJSON *messages)
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

const char *request_model(const cJSON *request)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(request, "model");
    return cJSON_IsString(model) && model->valuestring[0] ? model->valuestring : MODEL_ID;
}

bool request_wants_usage(const cJSON *request)
{
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(request, "stream_options");
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(options, "include_usage"));
}

/* The next id, "chatcmpl-fake-N". */
static void next_completion_id(struct fake_server *srv, char *id, size_t size)
{
    snprintf(id, size, "chatcmpl-fake-%llu", atomic_fetch_add(&srv->completions, 1) + 1);
}

void completion_meta_init(struct completion_meta *m, struct fake_server *srv,
                          const cJSON *request, const char *object)
{
    next_completion_id(srv, m->id, sizeof m->id);
    m->created = (double)time(NULL);
    m->model = request_model(request);
    m->object = object;
}

cJSON *completion_envelope(const struct completion_meta *m, cJSON **choices)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root && cJSON_AddStringToObject(root, "id", m->id)
              && cJSON_AddStringToObject(root, "object", m->object)
              && cJSON_AddNumberToObject(root, "created", m->created)
              && cJSON_AddStringToObject(root, "model", m->model)
              && cJSON_AddStringToObject(root, "system_fingerprint", "fake-server")
              && (*choices = cJSON_AddArrayToObject(root, "choices"));
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

bool add_usage(cJSON *obj, size_t prompt, size_t completion)
{
    cJSON *usage = cJSON_AddObjectToObject(obj, "usage");
    return usage && cJSON_AddNumberToObject(usage, "prompt_tokens", (double)prompt)
           && cJSON_AddNumberToObject(usage, "completion_tokens", (double)completion)
           && cJSON_AddNumberToObject(usage, "total_tokens", (double)(prompt + completion));
}

/* ------------------------------------------------------------ splitting */

/* From the end of a word (or the start of the text), the end of the next one. */
static size_t next_word_end(const char *text, size_t len, size_t at)
{
    while (at < len && isspace((unsigned char)text[at]))
        at++;
    while (at < len && !isspace((unsigned char)text[at]))
        at++;
    return at;
}

size_t split_for_stream(const char *text, long max_pieces, struct text_piece **out)
{
    size_t len = strlen(text);
    size_t words = count_words(text);
    size_t pieces = words ? words : (len ? 1 : 0); /* whitespace only: one piece keeps it */
    if (max_pieces > 0 && pieces > (size_t)max_pieces)
        pieces = (size_t)max_pieces;
    *out = pieces ? calloc(pieces, sizeof **out) : NULL;
    if (!*out)
        return 0;
    size_t cursor = 0, start = 0, word = 0; /* cursor: the end of the last word counted */
    for (size_t i = 0; i < pieces; i++) {
        /* Piece i ends after word (i+1)*words/pieces: as even as it gets. */
        size_t end_word = (i + 1) * words / pieces;
        for (; word < end_word; word++)
            cursor = next_word_end(text, len, cursor);
        size_t end = i + 1 == pieces ? len : cursor;
        (*out)[i] = (struct text_piece){text + start, end - start};
        start = end;
    }
    return pieces;
}

/* ------------------------------------------------------------ logprobs */

/* The logprob of one word: -10 * (its SHA-256's first 8 bytes >> 11) / 2^53, in (-10, 0]. */
static double word_logprob(const char *word, size_t len)
{
    uint64_t h = hash64_of(word, len);
    return -(double)(h >> 11) * 0x1.0p-53 * LOGPROB_SPAN;
}

/* The token's word: the token without its surrounding whitespace. */
static void token_word(const struct text_piece *t, const char **word, size_t *len)
{
    const char *s = t->text, *e = t->text + t->len;
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    *word = s;
    *len = (size_t)(e - s);
}

static cJSON *top_logprobs_of(const char *token, double logprob, long top_n)
{
    cJSON *top = cJSON_CreateObject();
    if (!top)
        return NULL;
    if (top_n >= 1 && !cJSON_AddNumberToObject(top, token, logprob)) {
        cJSON_Delete(top);
        return NULL;
    }
    for (long i = 1; i < top_n; i++) {
        char alt[32];
        snprintf(alt, sizeof alt, "<alt%ld>", i);
        if (!cJSON_AddNumberToObject(top, alt, logprob - (double)i)) {
            cJSON_Delete(top);
            return NULL;
        }
    }
    return top;
}

/* Appends the tokens of `text` (at `offset` in the answer) to the four arrays. */
static bool add_logprob_tokens(cJSON *lp, const char *text, size_t offset, bool first_is_null,
                               long top_n)
{
    cJSON *tokens = cJSON_GetObjectItemCaseSensitive(lp, "tokens");
    cJSON *logprobs = cJSON_GetObjectItemCaseSensitive(lp, "token_logprobs");
    cJSON *tops = cJSON_GetObjectItemCaseSensitive(lp, "top_logprobs");
    cJSON *offsets = cJSON_GetObjectItemCaseSensitive(lp, "text_offset");
    struct text_piece *pieces = NULL;
    size_t count = split_for_stream(text, 0, &pieces);
    bool ok = count || !text[0];
    for (size_t i = 0; ok && i < count; i++) {
        char *token = strndup(pieces[i].text, pieces[i].len);
        const char *word;
        size_t word_len;
        token_word(&pieces[i], &word, &word_len);
        double logprob = word_logprob(word, word_len);
        /* As OpenAI does, the first echoed token has no logprob: nothing came before it. */
        bool is_null = first_is_null && i == 0;
        cJSON *tok = token ? cJSON_CreateString(token) : NULL;
        cJSON *value = is_null ? cJSON_CreateNull() : cJSON_CreateNumber(logprob);
        cJSON *top = is_null ? cJSON_CreateNull()
                             : (token ? top_logprobs_of(token, logprob, top_n) : NULL);
        cJSON *at = cJSON_CreateNumber((double)(offset + (size_t)(pieces[i].text - text)));
        ok = tok && value && top && at;
        if (ok) {
            cJSON_AddItemToArray(tokens, tok);
            cJSON_AddItemToArray(logprobs, value);
            cJSON_AddItemToArray(tops, top);
            cJSON_AddItemToArray(offsets, at);
        } else {
            cJSON_Delete(tok);
            cJSON_Delete(value);
            cJSON_Delete(top);
            cJSON_Delete(at);
        }
        free(token);
    }
    free(pieces);
    return ok;
}

cJSON *legacy_logprobs(const char *text, size_t echoed_len, long top_n)
{
    if (top_n > MAX_TOP_LOGPROBS)
        top_n = MAX_TOP_LOGPROBS;
    cJSON *lp = cJSON_CreateObject();
    bool ok = lp && cJSON_AddArrayToObject(lp, "tokens")
              && cJSON_AddArrayToObject(lp, "token_logprobs")
              && cJSON_AddArrayToObject(lp, "top_logprobs")
              && cJSON_AddArrayToObject(lp, "text_offset");
    /* The echoed prompt and the completion are tokenized apart, so no token spans both. */
    char *prompt = ok ? strndup(text, echoed_len) : NULL;
    ok = ok && prompt && add_logprob_tokens(lp, prompt, 0, echoed_len > 0, top_n)
         && add_logprob_tokens(lp, text + echoed_len, echoed_len, false, top_n);
    free(prompt);
    if (!ok) {
        cJSON_Delete(lp);
        return NULL;
    }
    return lp;
}

/* ------------------------------------------------------------ embeddings */

/* Lower-cased ASCII, without punctuation at either end: "Paris." and "paris" are one word. */
static size_t normalise_word(const char *word, size_t len, char *out, size_t cap)
{
    while (len && ispunct((unsigned char)*word)) {
        word++;
        len--;
    }
    while (len && ispunct((unsigned char)word[len - 1]))
        len--;
    if (len > cap)
        len = cap;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)word[i]);
    return len;
}

/* Adds the word's vector: 2 bytes of SHA-256(word "#" block) per component, in [-1, 1). */
static void add_word_vector(const char *word, size_t len, long dim, double *sum)
{
    char key[256 + 24];
    len = normalise_word(word, len, key, 256);
    if (!len)
        return;
    for (long block = 0; block * 16 < dim; block++) {
        int n = snprintf(key + len, 24, "#%ld", block);
        unsigned char digest[32];
        sha256_of(key, len + (size_t)n, digest);
        for (long j = 0; j < 16 && block * 16 + j < dim; j++) {
            unsigned v = (unsigned)digest[2 * j] << 8 | digest[2 * j + 1];
            sum[block * 16 + j] += (double)v / 32768.0 - 1.0;
        }
    }
}

void embed_text(const char *text, long dim, double *out)
{
    for (long i = 0; i < dim; i++)
        out[i] = 0.0;
    size_t len = strlen(text), at = 0;
    while (at < len) {
        while (at < len && isspace((unsigned char)text[at]))
            at++;
        size_t start = at;
        while (at < len && !isspace((unsigned char)text[at]))
            at++;
        if (at > start)
            add_word_vector(text + start, at - start, dim, out);
    }
    double norm = 0.0;
    for (long i = 0; i < dim; i++)
        norm += out[i] * out[i];
    norm = sqrt(norm);
    if (norm == 0.0) {
        out[0] = 1.0; /* no words: a fixed unit vector */
        return;
    }
    for (long i = 0; i < dim; i++)
        out[i] /= norm;
}
