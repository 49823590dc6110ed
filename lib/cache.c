/*
 * cache.c - the response cache: one SQLite file of complete, successful
 * responses, keyed by the SHA-256 of what was sent (the target's base URL,
 * the endpoint, the request body) and the repeat index.
 *
 * It stores the response body exactly as received (JSON, or the raw SSE
 * bytes of a stream), the latency and time to first token measured when it
 * was fetched, the time it was stored, and the base URL (without
 * credentials) and model for `assay cache stats`. Never a request header,
 * so never an API key.
 *
 * Several processes may share one file: it is in WAL mode, every
 * connection waits for a busy lock instead of failing at once, and writes
 * are held in memory until a flush, which writes them all in one short
 * transaction, so a writer holds the lock for milliseconds, never while a
 * request is on the wire.
 *
 * It does not decide what may be cached (the run stores only complete,
 * successful responses), does not mark results as cached, and does no
 * network I/O. The key encoding and the schema are documented in
 * docs/cache.md; changing either changes CACHE_SCHEMA_VERSION.
 */
#include "internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CACHE_SCHEMA_VERSION 1
#define CACHE_STRINGIFY_(x) #x
#define CACHE_STRINGIFY(x) CACHE_STRINGIFY_(x)
/* The domain tag that opens every hashed key (docs/cache.md). */
#define CACHE_KEY_TAG "assay-cache-v1"
/* How long a connection waits for another process's lock before failing:
   long enough for a busy CI machine, short enough to end a stuck run. */
#define CACHE_BUSY_TIMEOUT_MS 30000
/* Held writes are flushed by themselves past either bound, so memory does
   not grow with a run whose caller flushes rarely. */
#define CACHE_PENDING_MAX_ENTRIES 1024
#define CACHE_PENDING_MAX_BYTES ((size_t)32 << 20)

/* A write held until the next flush; `data` holds the body, then the base
   URL and the model as C strings, in one allocation. */
typedef struct pending_entry {
    unsigned char key[ASSAY__CACHE_KEY_SIZE];
    char *data;
    size_t len;
    const char *base_url;
    const char *model;
    bool stream;
    double latency_ms;
    double ttft_ms;
} pending_entry;

struct assay__cache {
    sqlite3 *db;
    char *path;
    bool read_only;
    sqlite3_stmt *get;
    sqlite3_stmt *put;
    sqlite3_stmt *begin;
    sqlite3_stmt *commit;
    pending_entry *pending;
    size_t n_pending;
    size_t cap_pending;
    size_t pending_bytes;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS assay_meta ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS responses ("
    " key BLOB PRIMARY KEY NOT NULL,"
    " body BLOB NOT NULL,"
    " stream INTEGER NOT NULL,"
    " latency_ms REAL NOT NULL,"
    " ttft_ms REAL,"
    " stored_at INTEGER NOT NULL,"
    " base_url TEXT NOT NULL,"
    " model TEXT NOT NULL);"
    "INSERT OR IGNORE INTO assay_meta (name, value)"
    " VALUES ('schema_version', '" CACHE_STRINGIFY(CACHE_SCHEMA_VERSION) "');";

/* ------------------------------------------------------------ errors */

static assay_status cache_oom(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

/*
 * Turns SQLite's last error on `db` into a message that names the file and
 * says what to do; `doing` says what was being attempted.
 */
static assay_status db_error(sqlite3 *db, const char *path, const char *doing,
                             assay_error *err)
{
    int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_NOMEM;
    const char *why = db ? sqlite3_errmsg(db) : "out of memory";
    switch (code) {
    case SQLITE_NOMEM:
        return cache_oom(err);
    case SQLITE_NOTADB:
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "not an SQLite database, so not an assay cache "
                            "(%s); move it away or choose another cache file",
                            why);
    case SQLITE_CORRUPT:
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "the cache file is corrupt (%s); move it away or "
                            "choose another cache file",
                            why);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "the cache stayed locked by another process for "
                            "%d s while %s",
                            CACHE_BUSY_TIMEOUT_MS / 1000, doing);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "%s failed: %s (are the file and its folder "
                            "writable?)",
                            doing, why);
    default:
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "cache error while %s: %s", doing, why);
    }
}

/* ------------------------------------------------------------ key */

static void put_u64_be(unsigned char out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

/*
 * Splits `url` around its user:password@ part: the URL without it is
 * url[0, *head) followed by *tail. Written here rather than through
 * libcurl's URL parser because that one also normalises the rest of the
 * URL, which would make keys depend on the libcurl version.
 */
static void split_userinfo(const char *url, size_t *head, const char **tail)
{
    size_t len = strlen(url);
    *head = len;
    *tail = url + len;
    const char *scheme_end = strstr(url, "://");
    size_t start = 0;
    if (scheme_end && (size_t)(scheme_end - url) <= strcspn(url, "/?#"))
        start = (size_t)(scheme_end - url) + 3;
    size_t end = start + strcspn(url + start, "/?#");
    for (size_t i = end; i > start; i--) {
        if (url[i - 1] == '@') {
            *head = start;
            *tail = url + i;
            return;
        }
    }
}

/* The URL without credentials, as a new string. */
static char *url_without_userinfo(const char *url)
{
    size_t head;
    const char *tail;
    split_userinfo(url, &head, &tail);
    size_t tail_len = strlen(tail);
    char *out = malloc(head + tail_len + 1);
    if (!out)
        return NULL;
    memcpy(out, url, head);
    memcpy(out + head, tail, tail_len + 1);
    return out;
}

static bool digest_field(EVP_MD_CTX *ctx, const void *a, size_t a_len,
                         const void *b, size_t b_len)
{
    unsigned char prefix[8];
    put_u64_be(prefix, (uint64_t)a_len + (uint64_t)b_len);
    return EVP_DigestUpdate(ctx, prefix, sizeof prefix) &&
           (!a_len || EVP_DigestUpdate(ctx, a, a_len)) &&
           (!b_len || EVP_DigestUpdate(ctx, b, b_len));
}

assay_status assay__cache_key(const char *base_url, const char *endpoint,
                              const char *body, size_t body_len, int repeat,
                              unsigned char key[ASSAY__CACHE_KEY_SIZE])
{
    memset(key, 0, ASSAY__CACHE_KEY_SIZE);
    base_url = base_url ? base_url : "";
    endpoint = endpoint ? endpoint : "";
    size_t head;
    const char *tail;
    split_userinfo(base_url, &head, &tail);
    unsigned char repeat_be[8];
    put_u64_be(repeat_be, (uint64_t)(int64_t)repeat);

    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return ASSAY_ERR_NOMEM;
    unsigned int n = 0;
    bool ok =
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
        digest_field(ctx, CACHE_KEY_TAG, strlen(CACHE_KEY_TAG), NULL, 0) &&
        digest_field(ctx, base_url, head, tail, strlen(tail)) &&
        digest_field(ctx, endpoint, strlen(endpoint), NULL, 0) &&
        digest_field(ctx, body, body_len, NULL, 0) &&
        EVP_DigestUpdate(ctx, repeat_be, sizeof repeat_be) &&
        EVP_DigestFinal_ex(ctx, key, &n) && n == ASSAY__CACHE_KEY_SIZE;
    EVP_MD_CTX_free(ctx);
    return ok ? ASSAY_OK : ASSAY_ERR_NOMEM;
}

void assay__cache_key_hex(const unsigned char key[ASSAY__CACHE_KEY_SIZE],
                          char hex[2 * ASSAY__CACHE_KEY_SIZE + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < ASSAY__CACHE_KEY_SIZE; i++) {
        hex[2 * i] = digits[key[i] >> 4];
        hex[2 * i + 1] = digits[key[i] & 0xf];
    }
    hex[2 * ASSAY__CACHE_KEY_SIZE] = '\0';
}

/* ------------------------------------------------------------ opening */

/* Creates the folders above `path` (like mkdir -p on its dirname). */
static assay_status make_parent_dirs(const char *path, assay_error *err)
{
    char *dir = strdup(path);
    if (!dir)
        return cache_oom(err);
    assay_status st = ASSAY_OK;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            st = assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                              "cannot create the cache's folder '%s': %s", dir,
                              strerror(errno));
            break;
        }
        *p = '/';
    }
    free(dir);
    return st;
}

static assay_status exec_sql(assay__cache *c, const char *sql,
                             const char *doing, assay_error *err)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(c->db, c->path, doing, err);
    return ASSAY_OK;
}

/* Runs a one-row query and hands back its first column as an integer. */
static assay_status query_int(assay__cache *c, const char *sql, long long *out,
                              const char *doing, assay_error *err)
{
    sqlite3_stmt *stmt = NULL;
    *out = 0;
    if (sqlite3_prepare_v2(c->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return db_error(c->db, c->path, doing, err);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(c->db, c->path, doing, err);
    return ASSAY_OK;
}

/* Reads the schema version; -1 when the file has none. */
static assay_status read_version(assay__cache *c, long *version,
                                 assay_error *err)
{
    sqlite3_stmt *stmt = NULL;
    *version = -1;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT value FROM assay_meta"
                           " WHERE name = 'schema_version'",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(c->db, c->path, "reading the schema version", err);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(stmt, 0);
        char *end = NULL;
        long v = text ? strtol(text, &end, 10) : -1;
        *version = text && end != text && !*end && v >= 0 ? v : -2;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(c->db, c->path, "reading the schema version", err);
    return ASSAY_OK;
}

static assay_status create_schema(assay__cache *c, assay_error *err)
{
    /* IMMEDIATE takes the write lock first, so two processes creating the
       same new file one after the other both succeed. */
    assay_status st = exec_sql(c, "BEGIN IMMEDIATE", "creating the cache", err);
    if (st != ASSAY_OK)
        return st;
    st = exec_sql(c, schema_sql, "creating the cache", err);
    if (st == ASSAY_OK)
        st = exec_sql(c, "COMMIT", "creating the cache", err);
    if (st != ASSAY_OK)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/*
 * Refuses a file that is not an assay cache before anything is written to
 * it (someone else's database is never touched); *has_meta is false for a
 * new, empty file, which gets the tables when writable.
 */
static assay_status inspect(assay__cache *c, bool *has_meta, assay_error *err)
{
    long long tables, meta;
    /* The first read of the file: a file that is not SQLite fails here. */
    assay_status st = query_int(c, "SELECT count(*) FROM sqlite_master",
                                &tables, "reading the cache", err);
    if (st == ASSAY_OK)
        st = query_int(c,
                       "SELECT count(*) FROM sqlite_master"
                       " WHERE type = 'table' AND name = 'assay_meta'",
                       &meta, "reading the cache", err);
    if (st != ASSAY_OK)
        return st;
    *has_meta = meta > 0;
    if (!meta && tables > 0)
        return assay__error(err, ASSAY_ERR_IO, c->path, 0, 0,
                            "an SQLite database, but not an assay cache (it "
                            "has no assay_meta table); choose another cache "
                            "file");
    if (!meta && c->read_only)
        return assay__error(err, ASSAY_ERR_IO, c->path, 0, 0,
                            "an empty SQLite database, not an assay cache");
    return ASSAY_OK;
}

static assay_status check_version(assay__cache *c, assay_error *err)
{
    long version;
    assay_status st = read_version(c, &version, err);
    if (st != ASSAY_OK || version == CACHE_SCHEMA_VERSION)
        return st;
    if (version < 0)
        return assay__error(err, ASSAY_ERR_IO, c->path, 0, 0,
                            "not an assay cache: it has no valid schema "
                            "version");
    return assay__error(err, ASSAY_ERR_IO, c->path, 0, 0,
                        "cache schema version %ld, but this assay reads "
                        "version %d; move the file away or choose another "
                        "cache file",
                        version, CACHE_SCHEMA_VERSION);
}

/* Steps `PRAGMA journal_mode=WAL` once and returns SQLite's code; *wal
   tells whether the mode is now WAL. */
static int step_wal(sqlite3_stmt *stmt, bool *wal)
{
    int rc = sqlite3_step(stmt);
    const unsigned char *mode =
        rc == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : NULL;
    *wal = mode && !strcmp((const char *)mode, "wal");
    sqlite3_reset(stmt);
    return rc;
}

/*
 * WAL lets readers go on while one process writes; NORMAL syncs at
 * checkpoints only, which in WAL mode can lose the last commits on a power
 * cut but never corrupts the file - acceptable for a cache.
 *
 * Turning a new file to WAL needs it to itself, and SQLite reports a
 * conflict there at once instead of calling the busy handler, so two
 * processes creating one cache together retry here for as long as the
 * busy timeout. A file already in WAL never waits.
 */
static assay_status set_journal(assay__cache *c, assay_error *err)
{
    enum { RETRY_MS = 10 };
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL) !=
        SQLITE_OK)
        return db_error(c->db, c->path, "opening the cache", err);
    bool wal = false;
    int rc = step_wal(stmt, &wal);
    for (int waited = 0;
         (rc & 0xff) == SQLITE_BUSY && waited < CACHE_BUSY_TIMEOUT_MS;
         waited += RETRY_MS) {
        sqlite3_sleep(RETRY_MS);
        rc = step_wal(stmt, &wal);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
        return db_error(c->db, c->path, "opening the cache", err);
    if (!wal)
        return assay__error(err, ASSAY_ERR_IO, c->path, 0, 0,
                            "cannot put the cache in WAL mode, which several "
                            "processes need to share it");
    return exec_sql(c, "PRAGMA synchronous=NORMAL", "opening the cache", err);
}

static assay_status prepare(assay__cache *c, const char *sql,
                            sqlite3_stmt **out, assay_error *err)
{
    /* PERSISTENT: these live as long as the cache, for every request. */
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out,
                           NULL) != SQLITE_OK)
        return db_error(c->db, c->path, "preparing the cache", err);
    return ASSAY_OK;
}

static assay_status prepare_statements(assay__cache *c, assay_error *err)
{
    assay_status st = prepare(c,
                              "SELECT body, stream, latency_ms, ttft_ms"
                              " FROM responses WHERE key = ?1",
                              &c->get, err);
    if (st != ASSAY_OK || c->read_only)
        return st;
    st = prepare(c,
                 "INSERT OR REPLACE INTO responses (key, body, stream,"
                 " latency_ms, ttft_ms, stored_at, base_url, model)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                 &c->put, err);
    if (st == ASSAY_OK)
        st = prepare(c, "BEGIN IMMEDIATE", &c->begin, err);
    if (st == ASSAY_OK)
        st = prepare(c, "COMMIT", &c->commit, err);
    return st;
}

static assay_status check_file(const char *path, assay_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "no cache file here (%s); a read-only cache is "
                            "never created",
                            strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return assay__error(err, ASSAY_ERR_IO, path, 0, 0,
                            "not a regular file, so not a cache file");
    return ASSAY_OK;
}

static assay_status open_db(assay__cache *c, assay_error *err)
{
    int flags = SQLITE_OPEN_NOMUTEX |
                (c->read_only ? SQLITE_OPEN_READONLY
                              : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(c->path, &c->db, flags, NULL) != SQLITE_OK)
        return db_error(c->db, c->path, "opening the cache", err);
    sqlite3_busy_timeout(c->db, CACHE_BUSY_TIMEOUT_MS);
    bool has_meta = false;
    assay_status st = inspect(c, &has_meta, err);
    if (st == ASSAY_OK && !c->read_only)
        st = set_journal(c, err);
    if (st == ASSAY_OK && !has_meta)
        st = create_schema(c, err);
    if (st == ASSAY_OK)
        st = check_version(c, err);
    if (st == ASSAY_OK)
        st = prepare_statements(c, err);
    return st;
}

assay_status assay__cache_open(const char *path, bool read_only,
                               assay__cache **out, assay_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "the cache path is empty");
    assay_status st =
        read_only ? check_file(path, err) : make_parent_dirs(path, err);
    if (st != ASSAY_OK)
        return st;
    assay__cache *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return cache_oom(err);
    }
    c->read_only = read_only;
    st = open_db(c, err);
    if (st != ASSAY_OK) {
        assay__cache_close(c);
        return st;
    }
    *out = c;
    return ASSAY_OK;
}

const char *assay__cache_path(const assay__cache *c)
{
    return c->path;
}

/* ------------------------------------------------------------ reading */

assay_status assay__cache_get(assay__cache *c,
                              const unsigned char key[ASSAY__CACHE_KEY_SIZE],
                              assay__buf *body, bool *stream,
                              double *latency_ms, double *ttft_ms, bool *found,
                              assay_error *err)
{
    *found = false;
    sqlite3_bind_blob(c->get, 1, key, ASSAY__CACHE_KEY_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step(c->get);
    assay_status st = ASSAY_OK;
    if (rc == SQLITE_ROW) {
        const void *data = sqlite3_column_blob(c->get, 0);
        size_t len = (size_t)sqlite3_column_bytes(c->get, 0);
        assay__buf_reset(body);
        st = len ? assay__buf_append(body, data, len) : ASSAY_OK;
        if (st == ASSAY_ERR_LIMIT)
            assay__error(err, st, c->path, 0, 0,
                         "a cached response of %zu bytes is over the "
                         "response size cap of %zu bytes",
                         len, body->max);
        else if (st != ASSAY_OK)
            cache_oom(err);
        *stream = sqlite3_column_int(c->get, 1) != 0;
        *latency_ms = sqlite3_column_double(c->get, 2);
        *ttft_ms = sqlite3_column_type(c->get, 3) == SQLITE_NULL
                       ? -1.0
                       : sqlite3_column_double(c->get, 3);
        *found = st == ASSAY_OK;
    } else if (rc != SQLITE_DONE) {
        st = db_error(c->db, c->path, "reading a cached response", err);
    }
    sqlite3_reset(c->get);
    sqlite3_clear_bindings(c->get);
    return st;
}

/* ------------------------------------------------------------ writing */

static void pending_clear(assay__cache *c)
{
    for (size_t i = 0; i < c->n_pending; i++)
        free(c->pending[i].data);
    c->n_pending = 0;
    c->pending_bytes = 0;
}

static bool bind_entry(sqlite3_stmt *stmt, const pending_entry *p,
                       long long now)
{
    /* A zero-length body is bound as an empty blob, never as NULL. */
    static const char empty[1];
    return sqlite3_bind_blob(stmt, 1, p->key, ASSAY__CACHE_KEY_SIZE,
                             SQLITE_STATIC) == SQLITE_OK &&
           sqlite3_bind_blob64(stmt, 2, p->len ? p->data : empty,
                               (sqlite3_uint64)p->len,
                               SQLITE_STATIC) == SQLITE_OK &&
           sqlite3_bind_int(stmt, 3, p->stream) == SQLITE_OK &&
           sqlite3_bind_double(stmt, 4, p->latency_ms) == SQLITE_OK &&
           (p->ttft_ms < 0
                ? sqlite3_bind_null(stmt, 5)
                : sqlite3_bind_double(stmt, 5, p->ttft_ms)) == SQLITE_OK &&
           sqlite3_bind_int64(stmt, 6, now) == SQLITE_OK &&
           sqlite3_bind_text(stmt, 7, p->base_url, -1, SQLITE_STATIC) ==
               SQLITE_OK &&
           sqlite3_bind_text(stmt, 8, p->model, -1, SQLITE_STATIC) == SQLITE_OK;
}

static assay_status write_pending(assay__cache *c, assay_error *err)
{
    long long now = (long long)time(NULL);
    for (size_t i = 0; i < c->n_pending; i++) {
        bool bound = bind_entry(c->put, &c->pending[i], now);
        int rc = bound ? sqlite3_step(c->put) : SQLITE_ERROR;
        sqlite3_reset(c->put);
        sqlite3_clear_bindings(c->put);
        if (!bound)
            return assay__error(err, ASSAY_ERR_IO, c->path, 0, 0,
                                "cannot store a response: %s",
                                sqlite3_errmsg(c->db));
        if (rc != SQLITE_DONE)
            return db_error(c->db, c->path, "storing responses", err);
    }
    return ASSAY_OK;
}

assay_status assay__cache_flush(assay__cache *c, assay_error *err)
{
    if (!c->n_pending)
        return ASSAY_OK;
    int rc = sqlite3_step(c->begin);
    sqlite3_reset(c->begin);
    assay_status st = rc == SQLITE_DONE
                          ? ASSAY_OK
                          : db_error(c->db, c->path, "storing responses", err);
    if (st == ASSAY_OK) {
        st = write_pending(c, err);
        if (st == ASSAY_OK) {
            rc = sqlite3_step(c->commit);
            sqlite3_reset(c->commit);
            if (rc != SQLITE_DONE)
                st = db_error(c->db, c->path, "storing responses", err);
        }
        if (st != ASSAY_OK && !sqlite3_get_autocommit(c->db))
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    /* Dropped on failure too: a cache that cannot be written must not
       make memory grow; the caller is told through the status. */
    pending_clear(c);
    return st;
}

static assay_status pending_reserve(assay__cache *c, assay_error *err)
{
    if (c->n_pending < c->cap_pending)
        return ASSAY_OK;
    size_t cap = c->cap_pending ? c->cap_pending * 2 : 64;
    pending_entry *p = realloc(c->pending, cap * sizeof *p);
    if (!p)
        return cache_oom(err);
    c->pending = p;
    c->cap_pending = cap;
    return ASSAY_OK;
}

assay_status assay__cache_put(assay__cache *c,
                              const unsigned char key[ASSAY__CACHE_KEY_SIZE],
                              const assay__cache_entry *e, assay_error *err)
{
    if (c->read_only)
        return assay__error(err, ASSAY_ERR_STATE, c->path, 0, 0,
                            "the cache is open read-only; nothing is stored");
    assay_status st = pending_reserve(c, err);
    if (st != ASSAY_OK)
        return st;
    char *base_url = url_without_userinfo(e->base_url ? e->base_url : "");
    if (!base_url)
        return cache_oom(err);
    const char *model = e->model ? e->model : "";
    size_t url_len = strlen(base_url), model_len = strlen(model);
    if (e->len > SIZE_MAX - url_len - model_len - 2) {
        free(base_url);
        return cache_oom(err);
    }
    pending_entry *p = &c->pending[c->n_pending];
    p->data = malloc(e->len + url_len + model_len + 2);
    if (!p->data) {
        free(base_url);
        return cache_oom(err);
    }
    if (e->len)
        memcpy(p->data, e->body, e->len);
    memcpy(p->data + e->len, base_url, url_len + 1);
    memcpy(p->data + e->len + url_len + 1, model, model_len + 1);
    free(base_url);
    memcpy(p->key, key, ASSAY__CACHE_KEY_SIZE);
    p->len = e->len;
    p->base_url = p->data + e->len;
    p->model = p->data + e->len + url_len + 1;
    p->stream = e->stream;
    p->latency_ms = e->latency_ms;
    p->ttft_ms = e->ttft_ms;
    c->n_pending++;
    c->pending_bytes += e->len;
    if (c->n_pending >= CACHE_PENDING_MAX_ENTRIES ||
        c->pending_bytes >= CACHE_PENDING_MAX_BYTES)
        return assay__cache_flush(c, err);
    return ASSAY_OK;
}

/* ------------------------------------------------------------ closing */

void assay__cache_close(assay__cache *c)
{
    if (!c)
        return;
    if (c->db && c->n_pending)
        assay__cache_flush(c, NULL);
    pending_clear(c);
    free(c->pending);
    sqlite3_finalize(c->get);
    sqlite3_finalize(c->put);
    sqlite3_finalize(c->begin);
    sqlite3_finalize(c->commit);
    /* The last connection to close checkpoints the WAL into the file and
       removes it, so a cache file left behind stands on its own. */
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

/* ------------------------------------------------------------ public */

/* True when nothing is at `path`: a missing cache is an empty one. */
static bool cache_missing(const char *path)
{
    struct stat sb;
    return stat(path, &sb) != 0 && errno == ENOENT;
}

assay_status assay_cache_stats(const char *path, long long *entries,
                               long long *bytes, assay_error *err)
{
    *entries = 0;
    *bytes = 0;
    if (path && *path && cache_missing(path))
        return ASSAY_OK;
    assay__cache *c;
    assay_status st = assay__cache_open(path, true, &c, err);
    if (st != ASSAY_OK)
        return st;
    st = query_int(c, "SELECT count(*) FROM responses", entries,
                   "counting entries", err);
    if (st == ASSAY_OK)
        st = query_int(c,
                       "SELECT coalesce(sum(length(body)), 0)"
                       " FROM responses",
                       bytes, "counting entries", err);
    assay__cache_close(c);
    if (st != ASSAY_OK)
        *entries = *bytes = 0;
    return st;
}

assay_status assay_cache_stats_by_target(const char *path,
                                         assay_cache_target_fn fn,
                                         void *user_data, assay_error *err)
{
    if (path && *path && cache_missing(path))
        return ASSAY_OK;
    assay__cache *c;
    assay_status st = assay__cache_open(path, true, &c, err);
    if (st != ASSAY_OK)
        return st;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT base_url, model, count(*),"
                           " sum(length(body)) FROM responses"
                           " GROUP BY base_url, model"
                           " ORDER BY base_url, model",
                           -1, &stmt, NULL) != SQLITE_OK) {
        st = db_error(c->db, c->path, "counting entries", err);
        assay__cache_close(c);
        return st;
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *url = (const char *)sqlite3_column_text(stmt, 0);
        const char *model = (const char *)sqlite3_column_text(stmt, 1);
        fn(url ? url : "", model ? model : "", sqlite3_column_int64(stmt, 2),
           sqlite3_column_int64(stmt, 3), user_data);
    }
    if (rc != SQLITE_DONE)
        st = db_error(c->db, c->path, "counting entries", err);
    sqlite3_finalize(stmt);
    assay__cache_close(c);
    return st;
}

assay_status assay_cache_clear(const char *path, long long *removed,
                               assay_error *err)
{
    long long count = 0;
    if (removed)
        *removed = 0;
    if (path && *path && cache_missing(path))
        return ASSAY_OK;
    assay__cache *c;
    assay_status st = assay__cache_open(path, false, &c, err);
    if (st != ASSAY_OK)
        return st;
    /* Rows are deleted rather than the file removed: another process may
       have the file open, and removing a WAL database under it would
       split it from its log. VACUUM then gives the space back. */
    st = exec_sql(c, "DELETE FROM responses", "clearing the cache", err);
    if (st == ASSAY_OK) {
        count = sqlite3_changes(c->db);
        st = exec_sql(c, "VACUUM", "compacting the cache", err);
    }
    if (st == ASSAY_OK)
        st = exec_sql(c, "PRAGMA wal_checkpoint(TRUNCATE)",
                      "compacting the cache", err);
    assay__cache_close(c);
    if (removed)
        *removed = count;
    return st;
}
