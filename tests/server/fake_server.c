/*
 * fake_server.c - a scripted stand-in for an OpenAI-compatible endpoint:
 * the HTTP side (libmicrohttpd), the routes, and the server's lifecycle.
 *
 * What it does: listens on 127.0.0.1 only and serves
 *   POST /v1/chat/completions  a reply looked up by the exact text of the
 *                              last user message in an answer table
 *                              (--answers, JSON Lines); anything not in the
 *                              table gets --default-reply; whole or streamed
 *                              ("stream": true);
 *   POST /v1/completions       the same, by prompt text, for legacy text
 *                              completions, with echo and logprobs;
 *   POST /v1/embeddings        deterministic unit vectors hashed from words;
 *   GET  /v1/models            a single model, "fake-model";
 *   GET  /health               {"status":"ok"}.
 * An API request can be delayed (--delay-ms, "delay_ms"), fail on purpose
 * (a fault mode per answer, for its first N attempts or always, or drawn at
 * a seeded rate with --faults), be rate limited (--ratelimit-rpm, -tpm) and
 * be logged with when it came and which attempt it was (--log).
 * tests/server/README.md lists every option, answer key and fault mode.
 *
 * What it does not do: call tools, check API keys, run a model or count
 * real tokens (usage counts whitespace-separated words), or listen on
 * anything but 127.0.0.1.
 *
 * Once listening it prints "port N" on stdout. It runs until SIGTERM or
 * SIGINT, then stops the daemon (a reply still being delayed or streamed
 * is dropped and its connection closed), frees everything and exits 0.
 * Usage errors and bad answer files exit 2, anything else that stops it
 * from starting exits 1.
 */
#include "server.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_REQUEST_BODY ((size_t)16 << 20)
#define CONNECTION_LIMIT 1024u
#define LISTEN_BACKLOG 1024u
#define DELAY_SLICE_MS 50L /* how often a delay checks for shutdown */

/*
 * The only global: set by the signal handler, read by main and by the
 * connection threads' delays. A lock-free atomic, because sig_atomic_t
 * is only safe between a handler and the thread it interrupts.
 */
static atomic_bool stop_requested;

double monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

bool sleep_unless_stopping(long ms)
{
    double deadline = monotonic_ms() + (double)ms;
    while (!atomic_load(&stop_requested)) {
        double left = deadline - monotonic_ms();
        if (left <= 0)
            return true;
        if (left > (double)DELAY_SLICE_MS)
            left = (double)DELAY_SLICE_MS;
        struct timespec slice = {0, (long)(left * 1e6)};
        nanosleep(&slice, NULL);
    }
    return false;
}

/* ------------------------------------------------------------ routes */

static void handle_chat(struct fake_server *srv, const struct request_info *req,
                        struct http_reply *out)
{
    handle_json_post(srv, req, endpoint_chat, out);
}

static void handle_completions(struct fake_server *srv, const struct request_info *req,
                               struct http_reply *out)
{
    handle_json_post(srv, req, endpoint_completions, out);
}

static void handle_embeddings(struct fake_server *srv, const struct request_info *req,
                              struct http_reply *out)
{
    handle_json_post(srv, req, endpoint_embeddings, out);
}

static void handle_models(struct fake_server *srv, const struct request_info *req,
                          struct http_reply *out)
{
    (void)srv;
    (void)req;
    reply_set_body(out, 200,
                   "{\"object\":\"list\",\"data\":[{\"id\":\"" MODEL_ID "\",\"object\":\"model\","
                   "\"created\":0,\"owned_by\":\"assay\"}]}");
}

static void handle_health(struct fake_server *srv, const struct request_info *req,
                          struct http_reply *out)
{
    (void)srv;
    (void)req;
    reply_set_body(out, 200, "{\"status\":\"ok\"}");
}

typedef void (*route_fn)(struct fake_server *srv, const struct request_info *req,
                         struct http_reply *out);

struct route {
    const char *path;
    const char *method;
    bool is_api; /* reads a body, and counts for --concurrency-report */
    route_fn handle;
};

static const struct route routes[] = {
    {"/v1/chat/completions", "POST", true, handle_chat},
    {"/v1/completions", "POST", true, handle_completions},
    {"/v1/embeddings", "POST", true, handle_embeddings},
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

/* ------------------------------------------------------------ one request */

/* The state of one HTTP request, kept across MHD's calls for it. */
struct request {
    const struct route *route; /* NULL: no such path */
    bool method_allowed;
    bool in_flight; /* counted in fake_server.in_flight */
    char *body;     /* NUL-terminated; only kept for routes that read it */
    size_t body_len;
    size_t body_cap;
    bool body_too_large;
    bool body_out_of_memory;
    double arrived_ms;
};

static void count_in_flight(struct fake_server *srv)
{
    long now = atomic_fetch_add(&srv->in_flight, 1) + 1;
    long max = atomic_load(&srv->max_in_flight);
    while (now > max && !atomic_compare_exchange_weak(&srv->max_in_flight, &max, now))
        ;
}

static struct request *request_new(struct fake_server *srv, const char *url, const char *method)
{
    struct request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->arrived_ms = monotonic_ms();
    req->route = find_route(url);
    if (req->route) {
        /* MHD leaves the body out of a HEAD reply by itself. */
        bool is_get = !strcmp(req->route->method, "GET");
        req->method_allowed = !strcmp(method, req->route->method)
                              || (is_get && !strcmp(method, "HEAD"));
    }
    if (req->route && req->method_allowed && req->route->is_api) {
        req->in_flight = true;
        count_in_flight(srv);
    }
    return req;
}

static void request_free(struct fake_server *srv, struct request *req)
{
    if (!req)
        return;
    if (req->in_flight)
        atomic_fetch_sub(&srv->in_flight, 1);
    free(req->body);
    free(req);
}

static void request_take_upload(struct request *req, const char *data, size_t size)
{
    if (!req->route || !req->method_allowed || !req->route->is_api || req->body_too_large
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

static void dispatch(struct fake_server *srv, struct request *req, const char *url,
                     const char *authorization, struct http_reply *out)
{
    if (!req->route) {
        reply_set_error(out, 404, "File Not Found", "not_found_error");
    } else if (!req->method_allowed) {
        reply_set_error(out, 405, "Method Not Allowed", "invalid_request_error");
        out->allow = req->route->method;
    } else {
        struct request_info info = {
            .path = url,
            .authorization = authorization,
            .body = req->body,
            .body_len = req->body_len,
            .body_too_large = req->body_too_large,
            .body_out_of_memory = req->body_out_of_memory,
            .arrived_ms = req->arrived_ms,
        };
        req->route->handle(srv, &info, out);
    }
}

/* ------------------------------------------------------------ sending */

/* The response for `reply`, which hands over its body or stream; NULL if out of memory. */
static struct MHD_Response *response_of(struct http_reply *reply)
{
    if (reply->stream) {
        struct sse_stream *s = reply->stream;
        reply->stream = NULL;
        return sse_stream_response(s);
    }
    if (!reply->body)
        return NULL;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(reply->body_len, reply->body, MHD_RESPMEM_MUST_FREE);
    if (r)
        reply->body = NULL;
    return r;
}

static enum MHD_Result add_headers(struct MHD_Response *response, const struct http_reply *reply)
{
    const char *type = reply->content_type ? reply->content_type : "application/json";
    enum MHD_Result ok = MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (ok == MHD_YES && !strcmp(type, "text/event-stream"))
        ok = MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    if (ok == MHD_YES && reply->allow)
        ok = MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, reply->allow);
    for (size_t i = 0; ok == MHD_YES && i < reply->header_count; i++)
        ok = MHD_add_response_header(response, reply->headers[i].name, reply->headers[i].value);
    return ok;
}

/* MHD_NO closes the connection unanswered: out of memory, or the 'reset' and 'stall' faults. */
static enum MHD_Result send_reply(struct MHD_Connection *connection, struct http_reply *reply)
{
    if (reply->delay_ms > 0 && !sleep_unless_stopping(reply->delay_ms))
        reply->reset = true;
    struct MHD_Response *response = reply->reset ? NULL : response_of(reply);
    reply_release(reply);
    if (!response)
        return MHD_NO;
    enum MHD_Result ok = add_headers(response, reply);
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
        req = request_new(srv, url, method);
        *request_state = req;
        return req ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        request_take_upload(req, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    const char *authorization = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_AUTHORIZATION);
    struct http_reply reply = {0};
    dispatch(srv, req, url, authorization, &reply);
    return send_reply(connection, &reply);
}

static void on_request_completed(void *cls, struct MHD_Connection *connection,
                                 void **request_state, enum MHD_RequestTerminationCode why)
{
    (void)connection;
    (void)why;
    request_free(cls, *request_state);
    *request_state = NULL;
}

/* ------------------------------------------------------------ lifecycle */

static int fake_server_init(struct fake_server *srv, const struct server_options *options)
{
    *srv = (struct fake_server){.options = *options, .started_ms = monotonic_ms()};
    atomic_init(&srv->completions, 0);
    atomic_init(&srv->in_flight, 0);
    atomic_init(&srv->max_in_flight, 0);
    pthread_mutex_init(&srv->log_lock, NULL);
    fault_prng_init(&srv->prng, options->seed);
    if (!rate_limiter_init(&srv->limiter, options->ratelimit_rpm, options->ratelimit_tpm)) {
        fputs("assay-fake-server: out of memory for the rate limiter\n", stderr);
        return EXIT_STARTUP;
    }
    if (options->answers_path && !answer_table_load(&srv->answers, options->answers_path))
        return EXIT_USAGE;
    if (!answer_table_init_counts(&srv->answers)) {
        fputs("assay-fake-server: out of memory\n", stderr);
        return EXIT_STARTUP;
    }
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
    if (srv->options.concurrency_report)
        fprintf(stderr, "max concurrent requests: %ld\n", atomic_load(&srv->max_in_flight));
    if (srv->log)
        fclose(srv->log);
    srv->log = NULL;
    answer_table_release(&srv->answers);
    rate_limiter_release(&srv->limiter);
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
     * the reply, and the server only lives as long as a test. A thread per
     * connection lets a delay or a paced stream block only its own client.
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
    atomic_store(&stop_requested, true);
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
    switch (options_parse(argc, argv, &options)) {
    case OPTIONS_HELP:
        options_print_usage(stdout);
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
    while (!status && !atomic_load(&stop_requested))
        sigsuspend(&wait_mask);
    fake_server_release(&srv);
    return status;
}
