/*
 * test_cache.c - the response cache: keys (a fixed SHA-256 vector computed
 * apart with Python's hashlib, repeats and URLs that must not collide,
 * credentials that must not count), round trips, read-only mode, files
 * that are not a cache, stats and clear, and two processes writing one
 * file at once.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------ helpers */

typedef struct scratch {
    char dir[256];
    char path[512]; /* dir/sub/cache.db: the folder does not exist yet */
} scratch;

static int setup_scratch(void **state)
{
    scratch *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    snprintf(s->dir, sizeof s->dir, "/tmp/assay-cache-test.XXXXXX");
    if (!mkdtemp(s->dir)) {
        free(s);
        return -1;
    }
    snprintf(s->path, sizeof s->path, "%s/sub/cache.db", s->dir);
    *state = s;
    return 0;
}

static void remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int teardown_scratch(void **state)
{
    scratch *s = *state;
    remove_tree(s->dir);
    free(s);
    return 0;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void key_of(const char *url, const char *body, int repeat,
                   unsigned char key[ASSAY__CACHE_KEY_SIZE])
{
    assert_int_equal(assay__cache_key(url, "/chat/completions", body,
                                      strlen(body), repeat, key),
                     ASSAY_OK);
}

static void put_text(assay__cache *c, const unsigned char *key,
                     const char *body, const char *url, const char *model)
{
    assay__cache_entry e = {.body = body,
                            .len = strlen(body),
                            .latency_ms = 10,
                            .ttft_ms = -1,
                            .base_url = url,
                            .model = model};
    assay_error err;
    assay_status st = assay__cache_put(c, key, &e, &err);
    if (st != ASSAY_OK)
        fail_msg("put: %s", err.message);
}

/* Gets `key` and checks that the stored body is `want` (NULL: a miss). */
static void expect_body(assay__cache *c, const unsigned char *key,
                        const char *want)
{
    assay__buf body;
    assay__buf_init(&body, 0);
    bool stream = true, found = true;
    double latency = 0, ttft = 0;
    assay_error err;
    assay_status st =
        assay__cache_get(c, key, &body, &stream, &latency, &ttft, &found, &err);
    if (st != ASSAY_OK)
        fail_msg("get: %s", err.message);
    if (want) {
        assert_true(found);
        assert_string_equal(body.data, want);
    } else {
        assert_false(found);
    }
    assay__buf_release(&body);
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = strlen(needle), matched = 0;
    int ch;
    bool found = false;
    while (!found && (ch = fgetc(f)) != EOF) {
        if ((char)ch == needle[matched])
            matched++;
        else
            matched = (char)ch == needle[0] ? 1 : 0;
        found = matched == n;
    }
    fclose(f);
    return found;
}

/* ------------------------------------------------------------ keys */

static void hex_key(const char *url, const char *endpoint, const char *body,
                    int repeat, char hex[2 * ASSAY__CACHE_KEY_SIZE + 1])
{
    unsigned char key[ASSAY__CACHE_KEY_SIZE];
    assert_int_equal(assay__cache_key(url, endpoint, body,
                                      body ? strlen(body) : 0, repeat, key),
                     ASSAY_OK);
    assay__cache_key_hex(key, hex);
}

/*
 * Vectors from docs/cache.md's encoding, computed with Python:
 *   f = lambda b: len(b).to_bytes(8, 'big') + b
 *   sha256(f(b"assay-cache-v1") + f(url) + f(endpoint) + f(body)
 *          + repeat.to_bytes(8, 'big', signed=True)).hexdigest()
 */
static void test_key_vectors(void **state)
{
    (void)state;
    char hex[2 * ASSAY__CACHE_KEY_SIZE + 1];
    hex_key("http://127.0.0.1:8080/v1", "/chat/completions",
            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
            "\"content\":\"hi\"}]}",
            2, hex);
    assert_string_equal(
        hex,
        "28564569e1f83d463d60824a2fa79401f3adb4d6ea5930559f1d000b776b45a2");
    hex_key(NULL, NULL, NULL, 0, hex);
    assert_string_equal(
        hex,
        "583889c94793e1bdd694dca3d1ce9d2d0b72f974f98c60ac1a35d243e2af2c5d");
    hex_key("https://api.example/v1", "/completions", "x", -1, hex);
    assert_string_equal(
        hex,
        "9f37f2e1e5c521ba03cce498715fad6c90bb82c72cda17a3d69c4d1aa5fd982e");
}

static void test_key_drops_credentials(void **state)
{
    (void)state;
    char plain[65], with_user[65], with_pass[65], other[65];
    hex_key("http://127.0.0.1:8080/v1", "/chat/completions", "b", 0, plain);
    hex_key("http://user@127.0.0.1:8080/v1", "/chat/completions", "b", 0,
            with_user);
    hex_key("http://user:s3cret@127.0.0.1:8080/v1", "/chat/completions", "b", 0,
            with_pass);
    hex_key("http://127.0.0.1:8081/v1", "/chat/completions", "b", 0, other);
    assert_string_equal(plain, with_user);
    assert_string_equal(plain, with_pass);
    assert_string_not_equal(plain, other);
    /* An @ after the host is part of the path, not credentials. */
    char at_path[65], at_path2[65];
    hex_key("http://h/v1/a@b", "/chat/completions", "b", 0, at_path);
    hex_key("http://h/v1/c@b", "/chat/completions", "b", 0, at_path2);
    assert_string_not_equal(at_path, at_path2);
}

static void test_key_fields_do_not_run_together(void **state)
{
    (void)state;
    char a[65], b[65], c[65], d[65], e[65];
    hex_key("http://h/v1", "/x", "body", 0, a);
    hex_key("http://h/v1/", "x", "body", 0, b); /* same bytes, other cut */
    hex_key("http://h/v1", "/xb", "ody", 0, c);
    hex_key("http://h/v1", "/x", "body", 1, d); /* another repeat */
    hex_key("http://h/v2", "/x", "body", 0, e); /* another base URL */
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_string_not_equal(a, e);
    char again[65];
    hex_key("http://h/v1", "/x", "body", 0, again);
    assert_string_equal(a, again);
}

/* ------------------------------------------------------------ round trips */

static void test_round_trip(void **state)
{
    scratch *s = *state;
    assay__cache *c;
    assay_error err;
    assert_int_equal(assay__cache_open(s->path, false, &c, &err), ASSAY_OK);
    assert_true(exists(s->path)); /* its folder was made too */
    assert_string_equal(assay__cache_path(c), s->path);

    unsigned char json_key[ASSAY__CACHE_KEY_SIZE], sse_key[32], nul_key[32];
    key_of("http://h/v1", "{\"a\":1}", 0, json_key);
    key_of("http://h/v1", "{\"a\":1,\"stream\":true}", 0, sse_key);
    key_of("http://h/v1", "{\"a\":2}", 0, nul_key);
    const char json[] = "{\"choices\":[{\"message\":{\"content\":\"Paris\"}}]}";
    const char sse[] = "data: {\"x\":1}\n\ndata: [DONE]\n\n";
    const char binary[] = {'a', '\0', 'b', '\n', (char)0xff};
    assay__cache_entry e1 = {json, strlen(json),  false, 123.5,
                             -1,   "http://h/v1", "gpt"};
    assay__cache_entry e2 = {sse,   strlen(sse),   true, 250,
                             12.25, "http://h/v1", "gpt"};
    assay__cache_entry e3 = {binary, sizeof binary, false, 1,
                             0.5,    "http://h/v1", NULL};
    assert_int_equal(assay__cache_put(c, json_key, &e1, &err), ASSAY_OK);
    assert_int_equal(assay__cache_put(c, sse_key, &e2, &err), ASSAY_OK);
    assert_int_equal(assay__cache_put(c, nul_key, &e3, &err), ASSAY_OK);
    expect_body(c, json_key, NULL); /* pending until the flush */
    assert_int_equal(assay__cache_flush(c, &err), ASSAY_OK);
    assay__cache_close(c);

    assert_int_equal(assay__cache_open(s->path, true, &c, &err), ASSAY_OK);
    assay__buf body;
    assay__buf_init(&body, 0);
    bool stream, found;
    double latency, ttft;
    assert_int_equal(assay__cache_get(c, json_key, &body, &stream, &latency,
                                      &ttft, &found, &err),
                     ASSAY_OK);
    assert_true(found);
    assert_string_equal(body.data, json);
    assert_false(stream);
    assert_true(latency == 123.5);
    assert_true(ttft < 0);
    assert_int_equal(assay__cache_get(c, sse_key, &body, &stream, &latency,
                                      &ttft, &found, &err),
                     ASSAY_OK);
    assert_true(found);
    assert_string_equal(body.data, sse);
    assert_true(stream);
    assert_true(latency == 250 && ttft == 12.25);
    assert_int_equal(assay__cache_get(c, nul_key, &body, &stream, &latency,
                                      &ttft, &found, &err),
                     ASSAY_OK);
    assert_true(found);
    assert_int_equal(body.len, sizeof binary);
    assert_memory_equal(body.data, binary, sizeof binary);

    /* A body larger than the caller's cap is refused, not truncated. */
    assay__buf small;
    assay__buf_init(&small, 8);
    assert_int_equal(assay__cache_get(c, json_key, &small, &stream, &latency,
                                      &ttft, &found, &err),
                     ASSAY_ERR_LIMIT);
    assert_false(found);
    assert_non_null(strstr(err.message, "cap"));
    assay__buf_release(&small);
    assay__buf_release(&body);
    assay__cache_close(c);
}

static void test_repeats_and_urls_do_not_collide(void **state)
{
    scratch *s = *state;
    assay__cache *c;
    assay_error err;
    assert_int_equal(assay__cache_open(s->path, false, &c, &err), ASSAY_OK);
    const char *urls[] = {"http://a/v1", "http://b/v1"};
    unsigned char key[ASSAY__CACHE_KEY_SIZE];
    char text[64];
    for (int u = 0; u < 2; u++)
        for (int r = 0; r < 5; r++) {
            key_of(urls[u], "{}", r, key);
            snprintf(text, sizeof text, "%s repeat %d", urls[u], r);
            put_text(c, key, text, urls[u], "m");
        }
    assert_int_equal(assay__cache_flush(c, &err), ASSAY_OK);
    for (int u = 0; u < 2; u++)
        for (int r = 0; r < 5; r++) {
            key_of(urls[u], "{}", r, key);
            snprintf(text, sizeof text, "%s repeat %d", urls[u], r);
            expect_body(c, key, text);
        }
    key_of("http://c/v1", "{}", 0, key);
    expect_body(c, key, NULL);
    assay__cache_close(c);
    long long entries, bytes;
    assert_int_equal(assay_cache_stats(s->path, &entries, &bytes, &err),
                     ASSAY_OK);
    assert_int_equal(entries, 10);
}

static void test_close_commits_and_put_replaces(void **state)
{
    scratch *s = *state;
    assay__cache *c;
    assay_error err;
    unsigned char key[ASSAY__CACHE_KEY_SIZE];
    key_of("http://h/v1", "{}", 0, key);
    assert_int_equal(assay__cache_open(s->path, false, &c, &err), ASSAY_OK);
    put_text(c, key, "old", "http://h/v1", "m");
    assay__cache_close(c); /* no flush: close writes what is pending */
    assert_int_equal(assay__cache_open(s->path, false, &c, &err), ASSAY_OK);
    expect_body(c, key, "old");
    put_text(c, key, "new", "http://h/v1", "m");
    assert_int_equal(assay__cache_flush(c, &err), ASSAY_OK);
    expect_body(c, key, "new");
    assay__cache_close(c);
    /* The WAL was folded into the file when the last connection closed. */
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    assert_false(exists(wal));
}

static void test_many_puts_flush_by_themselves(void **state)
{
    scratch *s = *state;
    assay__cache *c;
    assay_error err;
    assert_int_equal(assay__cache_open(s->path, false, &c, &err), ASSAY_OK);
    unsigned char key[ASSAY__CACHE_KEY_SIZE];
    for (int i = 0; i < 2500; i++) {
        key_of("http://h/v1", "{}", i, key);
        put_text(c, key, "answer", "http://h/v1", "m");
    }
    /* Past 1024 pending entries the first ones were written already. */
    key_of("http://h/v1", "{}", 0, key);
    expect_body(c, key, "answer");
    assay__cache_close(c);
    long long entries, bytes;
    assert_int_equal(assay_cache_stats(s->path, &entries, &bytes, &err),
                     ASSAY_OK);
    assert_int_equal(entries, 2500);
    assert_int_equal(bytes, 2500 * 6);
}

/* ------------------------------------------------------------ read-only */

static void test_read_only_refuses_puts(void **state)
{
    scratch *s = *state;
    assay__cache *c;
    assay_error err;
    assert_int_equal(assay__cache_open(s->path, false, &c, &err), ASSAY_OK);
    assay__cache_close(c);
    assert_int_equal(assay__cache_open(s->path, true, &c, &err), ASSAY_OK);
    unsigned char key[ASSAY__CACHE_KEY_SIZE];
    key_of("http://h/v1", "{}", 0, key);
    assay__cache_entry e = {"x", 1, false, 1, -1, "http://h/v1", "m"};
    assert_int_equal(assay__cache_put(c, key, &e, &err), ASSAY_ERR_STATE);
    assert_non_null(strstr(err.message, s->path));
    assert_non_null(strstr(err.message, "read-only"));
    assert_int_equal(assay__cache_flush(c, &err), ASSAY_OK);
    expect_body(c, key, NULL);
    assay__cache_close(c);
}

static void test_read_only_missing_file(void **state)
{
    scratch *s = *state;
    assay__cache *c = (assay__cache *)1;
    assay_error err;
    assert_int_equal(assay__cache_open(s->path, true, &c, &err), ASSAY_ERR_IO);
    assert_null(c);
    assert_non_null(strstr(err.message, s->path));
    assert_non_null(strstr(err.message, "no cache file"));
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub", s->dir);
    assert_false(exists(sub)); /* neither the file nor its folder */
    assert_int_equal(assay__cache_open("", false, &c, &err), ASSAY_ERR_INVALID);
}

/* ------------------------------------------------------------ bad files */

static void run_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_version_mismatch(void **state)
{
    scratch *s = *state;
    assay__cache *c;
    assay_error err;
    assert_int_equal(assay__cache_open(s->path, false, &c, &err), ASSAY_OK);
    assay__cache_close(c);
    run_sql(s->path,
            "UPDATE assay_meta SET value = '99' WHERE name = 'schema_version'");
    for (int ro = 0; ro < 2; ro++) {
        assert_int_equal(assay__cache_open(s->path, ro, &c, &err),
                         ASSAY_ERR_IO);
        assert_non_null(strstr(err.message, s->path));
        assert_non_null(strstr(err.message, "schema version 99"));
        assert_non_null(strstr(err.message, "version 1"));
    }
    long long entries, bytes;
    assert_int_equal(assay_cache_stats(s->path, &entries, &bytes, &err),
                     ASSAY_ERR_IO);
    assert_non_null(strstr(err.message, "schema version 99"));
}

static void test_not_a_cache(void **state)
{
    scratch *s = *state;
    char path[600];
    snprintf(path, sizeof path, "%s/text.db", s->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 100; i++)
        fputs("this is a text file, not a database\n", f);
    fclose(f);
    assay__cache *c;
    assay_error err;
    for (int ro = 0; ro < 2; ro++) {
        assert_int_equal(assay__cache_open(path, ro, &c, &err), ASSAY_ERR_IO);
        assert_non_null(strstr(err.message, path));
        assert_non_null(strstr(err.message, "not an SQLite database"));
    }
    assert_true(file_contains(path, "this is a text file")); /* untouched */

    /* Someone else's SQLite database is refused and left as it was. */
    snprintf(path, sizeof path, "%s/other.db", s->dir);
    run_sql(path, "CREATE TABLE notes (t TEXT)");
    assert_int_equal(assay__cache_open(path, false, &c, &err), ASSAY_ERR_IO);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "not an assay cache"));
    char wal[700];
    snprintf(wal, sizeof wal, "%s-wal", path);
    assert_false(exists(wal));

    /* A folder is not a cache file. */
    assert_int_equal(assay__cache_open(s->dir, true, &c, &err), ASSAY_ERR_IO);
    assert_non_null(strstr(err.message, "not a regular file"));
}

/* ------------------------------------------------------------ stats, clear */

typedef struct groups {
    int n;
    char text[4][128];
} groups;

static void collect_group(const char *base_url, const char *model,
                          long long entries, long long bytes, void *user)
{
    groups *g = user;
    if (g->n < 4)
        snprintf(g->text[g->n], sizeof g->text[0], "%s %s %lld %lld", base_url,
                 model, entries, bytes);
    g->n++;
}

static void test_stats_and_clear(void **state)
{
    scratch *s = *state;
    assay_error err;
    long long entries = -1, bytes = -1, removed = -1;
    /* A missing cache is empty, and asking does not create it. */
    assert_int_equal(assay_cache_stats(s->path, &entries, &bytes, &err),
                     ASSAY_OK);
    assert_int_equal(entries, 0);
    assert_int_equal(bytes, 0);
    assert_int_equal(assay_cache_clear(s->path, &removed, &err), ASSAY_OK);
    assert_int_equal(removed, 0);
    assert_false(exists(s->path));

    assay__cache *c;
    assert_int_equal(assay__cache_open(s->path, false, &c, &err), ASSAY_OK);
    unsigned char key[ASSAY__CACHE_KEY_SIZE];
    key_of("http://a/v1", "1", 0, key);
    put_text(c, key, "12345", "http://a/v1", "small");
    key_of("http://a/v1", "2", 0, key);
    put_text(c, key, "123", "http://a/v1", "small");
    key_of("http://b/v1", "3", 0, key);
    put_text(c, key, "1234567", "http://user:hunter2@b/v1", "large");
    assay__cache_close(c);

    assert_int_equal(assay_cache_stats(s->path, &entries, &bytes, &err),
                     ASSAY_OK);
    assert_int_equal(entries, 3);
    assert_int_equal(bytes, 15);
    groups g = {0};
    assert_int_equal(
        assay_cache_stats_by_target(s->path, collect_group, &g, &err),
        ASSAY_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[0], "http://a/v1 small 2 8");
    assert_string_equal(g.text[1], "http://b/v1 large 1 7");
    /* The credentials of a base URL are not in the file. */
    assert_false(file_contains(s->path, "hunter2"));
    assert_true(file_contains(s->path, "http://b/v1"));

    assert_int_equal(assay_cache_clear(s->path, &removed, &err), ASSAY_OK);
    assert_int_equal(removed, 3);
    assert_int_equal(assay_cache_stats(s->path, &entries, &bytes, &err),
                     ASSAY_OK);
    assert_int_equal(entries, 0);
    assert_int_equal(bytes, 0);
    assert_true(exists(s->path)); /* cleared, not removed */
    assert_int_equal(assay_cache_clear(s->path, NULL, &err), ASSAY_OK);
}

/* ------------------------------------------------------------ concurrency */

#define WRITES_PER_PROCESS 600
#define WRITES_PER_BATCH 20

/* Opens the cache (both processes race to create it) and writes its own
   entries in small batches, reading each batch back. */
static bool write_entries(const char *path, int who, char *why, size_t size)
{
    assay__cache *c;
    assay_error err;
    if (assay__cache_open(path, false, &c, &err) != ASSAY_OK) {
        snprintf(why, size, "open: %s", err.message);
        return false;
    }
    bool ok = true;
    unsigned char key[ASSAY__CACHE_KEY_SIZE];
    for (int i = 0; ok && i < WRITES_PER_PROCESS; i++) {
        key_of("http://h/v1", "{}", who * 100000 + i, key);
        assay__cache_entry e = {
            "answer", 6, false, i, -1, "http://h/v1", who ? "child" : "parent"};
        ok = assay__cache_put(c, key, &e, &err) == ASSAY_OK;
        if (ok && (i + 1) % WRITES_PER_BATCH == 0)
            ok = assay__cache_flush(c, &err) == ASSAY_OK;
    }
    if (!ok)
        snprintf(why, size, "write: %s", err.message);
    assay__cache_close(c);
    return ok;
}

static void test_two_processes_write_at_once(void **state)
{
    scratch *s = *state;
    int go[2];
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char why[1100] = "";
        char byte;
        close(go[1]);
        bool started = read(go[0], &byte, 1) == 1;
        bool ok = started && write_entries(s->path, 1, why, sizeof why);
        if (!ok)
            fprintf(stderr, "child: %s\n", why);
        _exit(ok ? 0 : 1);
    }
    close(go[0]);
    assert_int_equal(write(go[1], "g", 1), 1);
    close(go[1]);
    char why[1100] = "";
    bool ok = write_entries(s->path, 0, why, sizeof why);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!ok)
        fail_msg("parent: %s", why);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    long long entries, bytes;
    assay_error err;
    assert_int_equal(assay_cache_stats(s->path, &entries, &bytes, &err),
                     ASSAY_OK);
    assert_int_equal(entries, 2 * WRITES_PER_PROCESS);
    groups g = {0};
    assert_int_equal(
        assay_cache_stats_by_target(s->path, collect_group, &g, &err),
        ASSAY_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[0], "http://h/v1 child 600 3600");
    assert_string_equal(g.text[1], "http://h/v1 parent 600 3600");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_vectors),
        cmocka_unit_test(test_key_drops_credentials),
        cmocka_unit_test(test_key_fields_do_not_run_together),
#define SCRATCH_TEST(fn)                                                       \
    cmocka_unit_test_setup_teardown(fn, setup_scratch, teardown_scratch)
        SCRATCH_TEST(test_round_trip),
        SCRATCH_TEST(test_repeats_and_urls_do_not_collide),
        SCRATCH_TEST(test_close_commits_and_put_replaces),
        SCRATCH_TEST(test_many_puts_flush_by_themselves),
        SCRATCH_TEST(test_read_only_refuses_puts),
        SCRATCH_TEST(test_read_only_missing_file),
        SCRATCH_TEST(test_version_mismatch),
        SCRATCH_TEST(test_not_a_cache),
        SCRATCH_TEST(test_stats_and_clear),
        SCRATCH_TEST(test_two_processes_write_at_once),
#undef SCRATCH_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
