/*
 * signals.c - Ctrl-C during `assay run`.
 *
 * The first SIGINT (or SIGTERM, which a CI runner or Kubernetes sends
 * before it kills) asks the run to stop sending: the requests in flight
 * finish and are recorded, the summary is written and the run says how to
 * go on. The second abandons the requests in flight. After that the
 * default action is back, so a third ends the process at once.
 *
 * The handler only calls assay_run_cancel (which bumps a counter) and
 * write(2), both safe in a signal handler.
 */
#include "cli.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static assay_run *watched;
static volatile sig_atomic_t presses;
static bool on_tty;

static void say(const char *text)
{
    /* Nothing to do if stderr is gone: the run stops all the same. */
    ssize_t n = write(STDERR_FILENO, text, strlen(text));
    (void)n;
}

static void on_signal(int sig)
{
    presses = presses + 1;
    if (watched)
        assay_run_cancel(watched);
    if (on_tty)
        say("\r\033[K");
    if (presses == 1) {
        say("assay: stopping: the requests in flight finish and are "
            "recorded (Ctrl-C again abandons them)\n");
    } else {
        say("assay: abandoning the requests in flight\n");
        signal(sig, SIG_DFL);
    }
}

void cli_signals_watch(assay_run *run, bool tty)
{
    watched = run;
    presses = 0;
    on_tty = tty;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the loop's wait wakes up at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_signals_caught(void)
{
    return presses;
}

void cli_signals_release(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    watched = NULL;
}
