/*
 * fuzz_input.c - the helpers of fuzz.h: copies, splits and in-memory files
 * made from the fuzzer's bytes, scoring with checks (where no program may
 * ever start), and the walk over a dataset's cases. The entry points are
 * the targets' own files.
 */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Renderings of a grader's question are capped like a prompt. */
#define OUTPUT_MAX ((size_t)1 << 20)

static void host_failure(const char *what)
{
    /* Not the library's fault: say so, so a crash report is not misread. */
    perror(what);
    abort();
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        host_failure("fuzz: malloc");
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

void fuzz_split(const uint8_t *data, size_t size, const uint8_t **head,
                size_t *head_len, const uint8_t **tail, size_t *tail_len)
{
    const uint8_t *nul = size ? memchr(data, '\0', size) : NULL;
    *head = data;
    if (!nul) {
        *head_len = size;
        *tail = NULL;
        *tail_len = 0;
        return;
    }
    *head_len = (size_t)(nul - data);
    *tail = nul + 1;
    *tail_len = size - *head_len - 1;
}

int fuzz_file_open(const uint8_t *data, size_t size, char path[FUZZ_PATH_MAX])
{
    int fd = memfd_create("assay-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        host_failure("fuzz: memfd_create");
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            host_failure("fuzz: write to memfd");
        done += (size_t)n;
    }
    /* Opening this path opens the memory file anew, at offset 0. */
    snprintf(path, FUZZ_PATH_MAX, "/proc/self/fd/%d", fd);
    return fd;
}

void fuzz_file_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

/*
 * Nothing the fuzzer writes may start a program: `exec` checks are not
 * allowed here (fuzz_check_allowed), so a program start means that a check
 * got past that guard. These definitions take the place of the C
 * library's in the whole program, and abort with the program's name.
 */
static void refuse_spawn(const char *file)
{
    fprintf(stderr, "fuzz: a check tried to run '%s' although no exec check "
            "is allowed\n", file ? file : "(null)");
    abort();
}

int posix_spawn(pid_t *pid, const char *path,
                const posix_spawn_file_actions_t *actions,
                const posix_spawnattr_t *attr, char *const argv[],
                char *const envp[])
{
    (void)pid, (void)actions, (void)attr, (void)argv, (void)envp;
    refuse_spawn(path);
    return ENOSYS;
}

int posix_spawnp(pid_t *pid, const char *file,
                 const posix_spawn_file_actions_t *actions,
                 const posix_spawnattr_t *attr, char *const argv[],
                 char *const envp[])
{
    (void)pid, (void)actions, (void)attr, (void)argv, (void)envp;
    refuse_spawn(file);
    return ENOSYS;
}

bool fuzz_check_allowed(const assay__check *c)
{
    const char *type = assay__check_type(c);
    return strcmp(type, "exec") && strcmp(type, "not-exec");
}

void fuzz_score(const assay__check *c, const char *output, size_t len,
                const cJSON *vars, const char *case_id,
                const assay__response *response)
{
    if (!fuzz_check_allowed(c))
        return;
    assay__check_context ctx = {.response = response, .latency_ms = 120.0,
                                .ttft_ms = -1.0};
    assay_error err;
    if (assay__check_needs_grader(c)) {
        assay__buf system, user;
        assay__buf_init(&system, OUTPUT_MAX);
        assay__buf_init(&user, OUTPUT_MAX);
        assay__check_ask(c, output, len, vars, case_id, &ctx, &system, &user,
                         &err);
        assay__buf_release(&system);
        assay__buf_release(&user);
        ctx.grader_reply = output;
        ctx.grader_reply_len = len;
    }
    assay__verdict v;
    assay__verdict_init(&v);
    assay__check_run(c, output, len, vars, case_id, &ctx, &v, &err);
    assay__verdict_release(&v);
}

void fuzz_run_case_checks(const assay__case *c, const char *output,
                          size_t len)
{
    for (size_t i = 0; i < c->n_checks; i++)
        fuzz_score(c->checks[i], output, len, c->vars, c->id, NULL);
}

static void skip_record(const assay_error *why, void *user_data)
{
    long *skipped = user_data;
    (*skipped)++;
    (void)why;
}

/* The options of the selection, from the input's size. */
static void choose_selection(assay__select *sel, size_t size, long *skipped)
{
    assay__select_init(sel);
    if (size % 2) {
        sel->skip = skip_record;
        sel->skip_data = skipped;
    }
    if (size % 3 == 1 &&
        assay__select_add_filter(sel, "kind", "a") != ASSAY_OK)
        host_failure("fuzz: add a filter");
    if (size % 5 == 1) {
        sel->sample = 3;
        sel->seed = size;
    }
    if (size % 7 == 1)
        sel->limit = 2;
}

static void walk_cases(assay__dataset *d)
{
    assay__case *c = NULL;
    assay_error err;
    while (assay__dataset_next(d, &c, &err) == ASSAY_OK && c) {
        char *printed = cJSON_PrintUnformatted(c->vars);
        const char *output = printed ? printed : c->id;
        fuzz_run_case_checks(c, output, strlen(output));
        cJSON_free(printed);
        assay__case_unref(c);
    }
}

void fuzz_read_dataset(const uint8_t *data, size_t size,
                       assay__data_format format)
{
    static char expected[] = "expected", answer[] = "answer";
    static char first[] = "first", choice0[] = "choices.0";
    assay__field_map map[] = {{expected, answer}, {first, choice0}};
    char path[FUZZ_PATH_MAX];
    int fd = fuzz_file_open(data, size, path);
    /* A record that lacks a mapped field is bad, so map only sometimes. */
    assay__dataset_spec spec = {.path = path, .format = format, .map = map,
                                .n_map = size % 4 == 3 ? 2 : 0};
    assay__select sel;
    long skipped = 0;
    choose_selection(&sel, size, &skipped);
    assay__dataset *d = NULL;
    assay_error err;
    if (assay__dataset_open(&spec, &sel, &d, &err) == ASSAY_OK) {
        walk_cases(d);
        assay__dataset_free(d);
    }
    assay__select_release(&sel);
    fuzz_file_close(fd);
}
