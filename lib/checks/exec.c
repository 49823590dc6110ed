/*
 * checks/exec.c - `exec`: a program of the user's judges the answer.
 *
 *   allow_exec: true                  # exec checks are off without it
 *   checks:
 *     - type: exec
 *       value: [python3, tests/check_answer.py, "{{id}}"]
 *       timeout_ms: 5000
 *
 * The value is an argv list (each element a template; no shell is ever
 * involved). The answer goes to the program's standard input. When the
 * program prints a JSON object {"pass", "score", "reason"} on standard
 * output, that is the verdict; otherwise exit status 0 passes and any
 * other fails, with what the program printed as the reason. A program that
 * runs past its timeout is killed and the check fails with an error.
 *
 * The program runs while the run waits for it, so it should be quick; it is
 * meant for unit tests of generated code (HumanEval-style) and for checks a
 * team already has as scripts.
 */
#include "checks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 64
#define MAX_CAPTURE ((size_t)1 << 20)

extern char **environ;

typedef struct exec_state {
    assay__template *argv[MAX_ARGS];
    size_t argc;
    long timeout_ms;
} exec_state;

static void exec_free(void *state)
{
    exec_state *x = state;
    if (!x)
        return;
    for (size_t i = 0; i < x->argc; i++)
        assay__template_free(x->argv[i]);
    free(x);
}

static assay_status exec_compile(const assay__check_spec *spec, void **state,
                                 assay_error *err)
{
    const cJSON *list = spec->value;
    int n = cJSON_GetArraySize(list);
    if (!cJSON_IsArray(list) || n < 1 || n > MAX_ARGS)
        return assay__doc_error(spec->doc, list, false, err, ASSAY_ERR_CHECK,
                                "'exec' takes the program and its arguments "
                                "as a list of texts (no shell), e.g. "
                                "[python3, check.py]");
    exec_state *x = calloc(1, sizeof *x);
    if (!x)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    x->timeout_ms = 10000;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(spec->options,
                                                      "timeout_ms");
    if (t && (!cJSON_IsNumber(t) || t->valuedouble < 1 ||
              t->valuedouble > 600000)) {
        exec_free(x);
        return assay__doc_error(spec->doc, t, false, err, ASSAY_ERR_CHECK,
                                "'timeout_ms' is a number from 1 to 600000");
    }
    if (t)
        x->timeout_ms = (long)t->valuedouble;
    const cJSON *arg;
    cJSON_ArrayForEach(arg, list)
    {
        assay_status st =
            cJSON_IsString(arg)
                ? assay__template_compile(arg->valuestring, "an exec argument",
                                          &x->argv[x->argc], err)
                : assay__doc_error(spec->doc, arg, false, err,
                                   ASSAY_ERR_CHECK,
                                   "each argument of 'exec' is a text");
        if (st != ASSAY_OK) {
            exec_free(x);
            return st;
        }
        x->argc++;
    }
    *state = x;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ running */

typedef struct child {
    pid_t pid;
    int in, out, err; /* our ends of its pipes */
} child;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static int spawn(char **argv, child *c)
{
    int in[2], out[2], errp[2];
    if (pipe(in) || pipe(out) || pipe(errp))
        return errno;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
    int fds[] = {in[0], in[1], out[0], out[1], errp[0], errp[1]};
    for (size_t i = 0; i < 6; i++)
        posix_spawn_file_actions_addclose(&fa, fds[i]);
    int rc = posix_spawnp(&c->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    c->in = in[1];
    c->out = out[0];
    c->err = errp[0];
    fcntl(c->in, F_SETFL, O_NONBLOCK);
    if (rc) {
        close(c->in);
        close(c->out);
        close(c->err);
    }
    return rc;
}

/* Feeds stdin and reads stdout and stderr until both close or time runs
   out; false on a timeout. */
static bool pump(child *c, const char *input, size_t len, assay__buf *out,
                 assay__buf *errs, long timeout_ms)
{
    double deadline = now_ms() + (double)timeout_ms;
    size_t sent = 0;
    if (len == 0) {
        close(c->in);
        c->in = -1;
    }
    while (c->out >= 0 || c->err >= 0) {
        struct pollfd p[3] = {{c->out, POLLIN, 0},
                              {c->err, POLLIN, 0},
                              {c->in, POLLOUT, 0}};
        double left = deadline - now_ms();
        if (left <= 0 || poll(p, 3, (int)left + 1) < 0)
            return false;
        if (c->in >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(c->in, input + sent, len - sent);
            if (n > 0)
                sent += (size_t)n;
            if (n < 0 || sent == len) {
                close(c->in);
                c->in = -1;
            }
        }
        int *fds[] = {&c->out, &c->err};
        assay__buf *bufs[] = {out, errs};
        for (int i = 0; i < 2; i++) {
            if (*fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t n = read(*fds[i], chunk, sizeof chunk);
            if (n > 0)
                assay__buf_append(bufs[i], chunk, (size_t)n); /* capped */
            else {
                close(*fds[i]);
                *fds[i] = -1;
            }
        }
    }
    return true;
}

static void reap(child *c, bool kill_it, int *status)
{
    if (c->in >= 0)
        close(c->in);
    if (c->out >= 0)
        close(c->out);
    if (c->err >= 0)
        close(c->err);
    if (kill_it)
        kill(c->pid, SIGKILL);
    while (waitpid(c->pid, status, 0) < 0 && errno == EINTR)
        ;
}

/* {"pass", "score", "reason"} printed by the program, if it did. */
static bool read_verdict(const assay__buf *out, assay__check_finding *f)
{
    const char *brace = memchr(out->data, '{', out->len);
    cJSON *v = brace ? cJSON_ParseWithLength(
                           brace, out->len - (size_t)(brace - out->data))
                     : NULL;
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(v, "pass");
    const cJSON *score = cJSON_GetObjectItemCaseSensitive(v, "score");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(v, "reason");
    bool ok = cJSON_IsBool(pass) || cJSON_IsNumber(score);
    if (ok) {
        f->pass = cJSON_IsBool(pass) ? cJSON_IsTrue(pass)
                                     : score->valuedouble >= 0.5;
        f->score = cJSON_IsNumber(score) ? score->valuedouble
                                         : (f->pass ? 1 : 0);
        if (cJSON_IsString(reason))
            assay__text_excerpt(f->found, reason->valuestring,
                                strlen(reason->valuestring), 200);
        else
            assay__buf_puts(f->found, f->pass ? "a pass" : "a fail");
    }
    cJSON_Delete(v);
    return ok;
}

static assay_status render_argv(const exec_state *x,
                                const assay__check_input *in,
                                assay__buf *args, char **argv,
                                assay_error *err)
{
    for (size_t i = 0; i < x->argc; i++) {
        assay__buf_init(&args[i], 0);
        assay_status st = assay__template_render(x->argv[i], in->vars,
                                                 in->case_id, &args[i], err);
        if (st != ASSAY_OK)
            return st;
        argv[i] = args[i].data;
    }
    argv[x->argc] = NULL;
    return ASSAY_OK;
}

static assay_status exec_run(void *state, const assay__check_input *in,
                             assay__check_finding *out, assay_error *err)
{
    const exec_state *x = state;
    assay__buf args[MAX_ARGS], stdout_buf, stderr_buf;
    char *argv[MAX_ARGS + 1];
    assay__buf_init(&stdout_buf, MAX_CAPTURE);
    assay__buf_init(&stderr_buf, MAX_CAPTURE);
    memset(args, 0, sizeof args);
    assay_status st = render_argv(x, in, args, argv, err);
    child c = {0};
    int rc = st == ASSAY_OK ? spawn(argv, &c) : 0;
    if (st == ASSAY_OK && rc)
        st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                          "cannot run '%s': %s", argv[0], strerror(rc));
    if (st == ASSAY_OK) {
        /* A program that closes its input early must not kill us with
           SIGPIPE; the library sets no handler, so block it here and
           swallow one raised while blocked. */
        sigset_t pipe_only, before;
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
        bool done = pump(&c, in->output, in->output_len, &stdout_buf,
                         &stderr_buf, x->timeout_ms);
        sigset_t pending;
        struct timespec zero = {0, 0};
        if (!sigismember(&before, SIGPIPE) && !sigpending(&pending) &&
            sigismember(&pending, SIGPIPE))
            sigtimedwait(&pipe_only, NULL, &zero);
        pthread_sigmask(SIG_SETMASK, &before, NULL);
        int status = 0;
        reap(&c, !done, &status);
        if (!done)
            st = assay__error(err, ASSAY_ERR_TIMEOUT, NULL, 0, 0,
                              "'%s' ran past %ld ms and was stopped",
                              argv[0], x->timeout_ms);
        else {
            st = assay__buf_printf(out->want, "pass the program '%s'",
                                   argv[0]);
            if (st == ASSAY_OK && !read_verdict(&stdout_buf, out)) {
                bool exited = WIFEXITED(status);
                out->pass = exited && WEXITSTATUS(status) == 0;
                out->score = out->pass ? 1 : 0;
                const assay__buf *said = stderr_buf.len ? &stderr_buf
                                                        : &stdout_buf;
                st = exited ? assay__buf_printf(out->found, "exit status %d",
                                                WEXITSTATUS(status))
                            : assay__buf_printf(out->found, "signal %d",
                                                WTERMSIG(status));
                if (st == ASSAY_OK && said->len) {
                    assay__buf_puts(out->found, ", saying ");
                    assay__text_excerpt(out->found, said->data, said->len,
                                        200);
                }
            }
        }
    }
    for (size_t i = 0; i < x->argc; i++)
        assay__buf_release(&args[i]);
    assay__buf_release(&stdout_buf);
    assay__buf_release(&stderr_buf);
    return st;
}

static const char *const exec_options[] = {"timeout_ms", NULL};

const assay__check_family assay__checks_exec = {
    .name = "exec",
    .value_is_template = false,
    .options = exec_options,
    .compile = exec_compile,
    .run = exec_run,
    .free = exec_free,
};
