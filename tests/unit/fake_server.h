/*
 * fake_server.h - starts the fake OpenAI server (tests/server) for a unit
 * test and stops it at the end. Header-only: the tests that need it are
 * few and each is one program.
 */
#ifndef ASSAY_TEST_FAKE_SERVER_H
#define ASSAY_TEST_FAKE_SERVER_H

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FAKE_SERVER
#define FAKE_SERVER "assay-fake-server"
#endif

typedef struct fake_server {
    pid_t pid;
    int port;
    char base_url[64];
} fake_server;

extern char **environ;

/* Starts the server with extra arguments (NULL-terminated); 0 on success. */
static int fake_server_start(fake_server *fs, const char *const *args)
{
    int out[2];
    if (pipe(out) != 0)
        return -1;
    const char *argv[32] = {FAKE_SERVER, "--port", "0"};
    size_t n = 3;
    for (; args && *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    int rc = posix_spawn(&fs->pid, FAKE_SERVER, &fa, NULL,
                         (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (rc != 0) {
        close(out[0]);
        return -1;
    }
    FILE *f = fdopen(out[0], "r");
    fs->port = 0;
    if (!f || fscanf(f, "port %d", &fs->port) != 1) {
        if (f)
            fclose(f);
        kill(fs->pid, SIGTERM);
        waitpid(fs->pid, NULL, 0);
        return -1;
    }
    fclose(f);
    snprintf(fs->base_url, sizeof fs->base_url, "http://127.0.0.1:%d/v1",
             fs->port);
    return 0;
}

static void fake_server_stop(fake_server *fs)
{
    if (fs->pid > 0) {
        kill(fs->pid, SIGTERM);
        waitpid(fs->pid, NULL, 0);
        fs->pid = 0;
    }
}

#endif
