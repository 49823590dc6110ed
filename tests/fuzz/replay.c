/*
 * replay.c - the main of a fuzz target built without libFuzzer: runs
 * LLVMFuzzerTestOneInput over saved inputs, so that every build (gcc, with
 * the sanitizers of the test build) replays the seed corpus and every
 * crash ever found. It does not mutate or search; that is libFuzzer's job.
 *
 *   replay [--prefix P] PATH...
 *
 * A PATH that is a folder runs each of its files (sorted, dot files left
 * out); with --prefix, only the files of the folders after it whose names
 * start with P (tests/fuzz/regressions holds every target's inputs, named
 * TARGET-what). A PATH that is a file runs that file. The empty input runs
 * first, as libFuzzer does. A crash is the sanitizer's report and a
 * failed test; the line naming each input before it runs says which. An
 * input that runs longer than REPLAY_TIMEOUT seconds is a hang and fails
 * too, as libFuzzer's -timeout would have it.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* No saved input is anywhere near this; a bigger file is a mistake. */
#define MAX_INPUT_BYTES ((size_t)16 << 20)
#define MAX_PATH_BYTES 4096
/* Seconds one input may take; the seeds take milliseconds. */
#define REPLAY_TIMEOUT 10
#define TEXT_OF(x) #x
#define TEXT(x) TEXT_OF(x)

static void on_alarm(int sig)
{
    static const char msg[] = "replay: the input above ran over "
                              TEXT(REPLAY_TIMEOUT) " s: a hang\n";
    (void)sig;
    /* Only async-signal-safe calls here. */
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0)
        _exit(2);
    _exit(1);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *data = malloc(MAX_INPUT_BYTES);
    if (!data) {
        fclose(f);
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    size_t size = fread(data, 1, MAX_INPUT_BYTES, f);
    int more = fgetc(f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed || more != EOF) {
        fprintf(stderr, "replay: %s: %s\n", path,
                failed ? "read error" : "larger than 16 MiB");
        free(data);
        return -1;
    }
    printf("replay: %s (%zu bytes)\n", path, size);
    fflush(stdout);
    alarm(REPLAY_TIMEOUT);
    LLVMFuzzerTestOneInput(data, size);
    alarm(0);
    free(data);
    return 0;
}

static int keep_entry(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Runs the files of `dir` whose names start with `prefix`; -1 on error. */
static long run_dir(const char *dir, const char *prefix)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, keep_entry, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    long ran = 0;
    for (int i = 0; i < n; i++) {
        char path[MAX_PATH_BYTES];
        const char *name = names[i]->d_name;
        bool wanted = !prefix || !strncmp(name, prefix, strlen(prefix));
        if (wanted && ran >= 0) {
            snprintf(path, sizeof path, "%s/%s", dir, name);
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                ran = run_file(path) == 0 ? ran + 1 : -1;
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    static const uint8_t empty[1];
    const char *prefix = NULL;
    long total = 0;
    signal(SIGALRM, on_alarm);
    LLVMFuzzerTestOneInput(empty, 0);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--prefix") && i + 1 < argc) {
            prefix = argv[++i];
            continue;
        }
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        long ran = S_ISDIR(st.st_mode) ? run_dir(argv[i], prefix)
                                       : (run_file(argv[i]) == 0 ? 1 : -1);
        if (ran < 0)
            return 1;
        total += ran;
    }
    printf("replay: %ld inputs, no crash\n", total);
    return 0;
}
