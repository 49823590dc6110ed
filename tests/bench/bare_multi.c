/*
 * bare_multi.c - the yardstick for the engine: a bare libcurl multi loop
 * that POSTs one fixed chat request N times with C in flight and does
 * nothing with the replies. What assay adds on top (templates, parsing,
 * checks, the record) is measured against this.
 *
 * To be a fair yardstick it sends what the engine (lib/engine.c) sends,
 * with the same connection settings: the same headers (Content-Type, an
 * empty Expect, the Authorization of the benchmarks), no signals, the
 * same timeouts, Accept-Encoding, User-Agent and HTTP version, and easy
 * handles reused from one request to the next with only the request's own
 * options set again. It has no header callback and keeps no reply.
 *
 *   bare_multi URL N C     prints "N requests, C in flight: S s, R/s"
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The size of the body assay sends for the benchmarks' cases. */
static const char body[] =
    "{\"model\":\"bench\",\"messages\":[{\"role\":\"user\",\"content\":"
    "\"What is the capital of Country 1?\"}]}";

static size_t discard(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)user;
    return size * n;
}

/* What the engine sets once per handle. */
static CURL *new_handle(void)
{
    CURL *easy = curl_easy_init();
    if (!easy)
        return NULL;
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "assay/bench");
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    return easy;
}

/* What the engine sets at each request. */
static void add(CURLM *multi, CURL *easy, const char *url,
                struct curl_slist *headers)
{
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)(sizeof body - 1));
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT,
                     strncmp(url, "https:", 6) ? 0L : 1L);
    curl_multi_add_handle(multi, easy);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bare_multi URL N C\n");
        return 2;
    }
    const char *url = argv[1];
    long n = atol(argv[2]), c = atol(argv[3]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, c + 4);
    struct curl_slist *headers =
        curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    headers = curl_slist_append(headers, "Authorization: Bearer bench");
    double start = now();
    long sent = 0, done = 0;
    for (; sent < n && sent < c; sent++) {
        CURL *easy = new_handle();
        if (!easy) {
            fprintf(stderr, "bare_multi: out of memory\n");
            return 1;
        }
        add(multi, easy, url, headers);
    }
    while (done < n) {
        int running, left;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *easy = msg->easy_handle;
            curl_multi_remove_handle(multi, easy);
            done++;
            if (sent < n) {
                add(multi, easy, url, headers);
                sent++;
            } else {
                curl_easy_cleanup(easy);
            }
        }
        if (done < n)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    double wall = now() - start;
    printf("%ld requests, %ld in flight: %.3f s, %.0f/s\n", n, c, wall,
           (double)n / wall);
    curl_slist_free_all(headers);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return 0;
}
