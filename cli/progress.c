/*
 * progress.c - what `assay run` shows on stderr while it runs.
 *
 * On a terminal: one live status line (a bar, done/total, requests per
 * second, the time left, the pass rate so far, errors, retries, tokens and
 * cost), redrawn at most 4 times a second and cleared at the end, cut to
 * the terminal's width. Elsewhere (a CI log): a plain line every 5 seconds
 * or every 10% of the total, with no control character at all. With -v,
 * each failing or erroneous result is printed with its reasons as it comes
 * (the live line is cleared first and drawn again after). Nothing goes to
 * stdout: it belongs to the summary.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define LIVE_EVERY_S 0.25
#define PLAIN_EVERY_S 5.0
#define BAR_MIN 5
#define BAR_MAX 30
#define LINE_MAX_BYTES 512

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

void cli_progress_init(cli_progress *p, bool quiet, bool verbose)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(STDERR_FILENO) == 1;
    p->quiet = quiet;
    p->verbose = verbose && !quiet;
    p->width = p->tty ? terminal_width() : 0;
    p->started = now_seconds();
    p->last_draw = p->started;
    p->last_tenth = -1;
    p->bar_cells = -1;
}

/* ------------------------------------------------------------ numbers */

/* 999 -> "999", 1234 -> "1.2k", 51234 -> "51k", 3400000 -> "3.4M". */
static void short_count(long long n, char *out, size_t size)
{
    if (n < 1000)
        snprintf(out, size, "%lld", n);
    else if (n < 10000)
        snprintf(out, size, "%.1fk", (double)n / 1e3);
    else if (n < 1000000)
        snprintf(out, size, "%.0fk", (double)n / 1e3);
    else
        snprintf(out, size, "%.1fM", (double)n / 1e6);
}

/* "0:42", "12:03", "1:02:03"; "?" when unknown. */
static void duration(double seconds, char *out, size_t size)
{
    if (!(seconds >= 0) || seconds > 360000) {
        snprintf(out, size, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

/* What the line says, worked out once for both forms. */
typedef struct figures {
    double rate;     /* requests per second in this run */
    double eta;      /* seconds; NaN when unknown */
    double pass;     /* percent of the results judged */
    double fraction; /* done / total; NaN when the total is unknown */
} figures;

static figures figure(const assay_progress *p, double elapsed)
{
    figures f;
    long sent = p->done - p->resumed;
    f.rate = elapsed > 0 ? (double)sent / elapsed : 0;
    f.fraction = p->total > 0 ? (double)p->done / (double)p->total : NAN;
    f.eta = p->total >= 0 && f.rate > 0 ? (double)(p->total - p->done) / f.rate
                                        : NAN;
    long judged = p->passed + p->failed + p->errors;
    f.pass = judged ? 100.0 * (double)p->passed / (double)judged : 0;
    return f;
}

/* ------------------------------------------------------------ lines */

/* "[#####.....] " of `cells` cells. */
static void bar(double fraction, int cells, char *out, size_t size)
{
    int full = (int)(fraction * cells + 0.5);
    if (full > cells)
        full = cells;
    size_t n = 0;
    out[n++] = '[';
    for (int i = 0; i < cells && n + 3 < size; i++)
        out[n++] = i < full ? '#' : '.';
    out[n++] = ']';
    out[n++] = ' ';
    out[n] = '\0';
}

/*
 * The live line, "[######..] 412/1000 38/s ETA 0:15 pass 91.3% 2 err
 * 5 retry 51k/3.1k tok $0.0123". The bar takes the room the rest leaves
 * in the terminal, with some kept for the numbers to grow, decided at the
 * first drawing so that it does not jump (none below BAR_MIN cells: the
 * percentage is said instead).
 */
static void live_line(cli_progress *ps, const figures *f, char *out,
                      size_t size)
{
    const assay_progress *p = &ps->last;
    char done[48], eta[32], in[16], outk[16], cost[24] = "";
    duration(f->eta, eta, sizeof eta);
    short_count(p->prompt_tokens, in, sizeof in);
    short_count(p->completion_tokens, outk, sizeof outk);
    if (p->cost > 0)
        snprintf(cost, sizeof cost, " $%.4f", p->cost);
    if (p->total >= 0)
        snprintf(done, sizeof done, "%ld/%ld", p->done, p->total);
    else
        snprintf(done, sizeof done, "%ld done", p->done);
    char rest[LINE_MAX_BYTES];
    int n = snprintf(rest, sizeof rest,
                     "%s %.*f/s ETA %s pass %.1f%% %ld err %ld retry "
                     "%s/%s tok%s",
                     done, f->rate >= 10 ? 0 : 1, f->rate, eta, f->pass,
                     p->errors, p->retries, in, outk, cost);
    if (ps->bar_cells < 0) {
        int room = ps->width - 1 - n - 3 - 8;
        ps->bar_cells = room < BAR_MIN ? 0 : room > BAR_MAX ? BAR_MAX : room;
    }
    char b[BAR_MAX + 4] = "";
    if (p->total > 0 && ps->bar_cells > 0)
        bar(f->fraction, ps->bar_cells, b, sizeof b);
    else if (p->total > 0)
        snprintf(b, sizeof b, "%.0f%% ", 100 * f->fraction);
    snprintf(out, size, "%s%s", b, rest);
}

/* The log line: plain words, no control characters. */
static void plain_line(const assay_progress *p, const figures *f, char *out,
                       size_t size)
{
    char total[48] = "", eta[48] = "";
    if (p->total >= 0) {
        snprintf(total, sizeof total, " of %ld (%.0f%%)", p->total,
                 100 * (isnan(f->fraction) ? 0 : f->fraction));
        char left[32];
        duration(f->eta, left, sizeof left);
        snprintf(eta, sizeof eta, ", %s left", left);
    }
    int n = snprintf(out, size,
                     "progress: %ld%s done, %.1f requests/s%s, %.1f%% "
                     "passed, %ld errors, %ld retries, %lld+%lld tokens",
                     p->done, total, f->rate, eta, f->pass, p->errors,
                     p->retries, p->prompt_tokens, p->completion_tokens);
    if (n > 0 && (size_t)n < size && p->cost > 0)
        snprintf(out + n, size - (size_t)n, ", $%.4f", p->cost);
}

static void draw(cli_progress *ps, double t)
{
    const assay_progress *p = &ps->last;
    figures f = figure(p, t - ps->started);
    char line[LINE_MAX_BYTES];
    if (ps->tty) {
        live_line(ps, &f, line, sizeof line);
        int width = ps->width - 1; /* the last column would wrap */
        fprintf(stderr, "\r\033[K%.*s", width, line);
        ps->drawn = true;
    } else {
        plain_line(p, &f, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
    ps->last_draw = t;
}

/* ------------------------------------------------------------ callbacks */

void cli_progress_update(const assay_progress *progress, void *user_data)
{
    cli_progress *ps = user_data;
    ps->last = *progress;
    ps->seen = true;
    if (ps->quiet)
        return;
    double t = now_seconds();
    if (ps->tty) {
        if (t - ps->last_draw >= LIVE_EVERY_S || !ps->drawn)
            draw(ps, t);
        return;
    }
    long tenth =
        progress->total > 0 ? progress->done * 10 / progress->total : -1;
    bool step = tenth > ps->last_tenth && ps->last_tenth >= 0;
    if (ps->last_tenth < 0)
        ps->last_tenth = tenth;
    if (step || t - ps->last_draw >= PLAIN_EVERY_S) {
        ps->last_tenth = tenth;
        draw(ps, t);
    }
}

static void clear_line(cli_progress *ps)
{
    if (ps->tty && ps->drawn) {
        fputs("\r\033[K", stderr);
        ps->drawn = false;
    }
}

void cli_progress_result(const assay_result *r, void *user_data)
{
    cli_progress *ps = user_data;
    assay_outcome outcome = assay_result_outcome(r);
    if (!ps->verbose || outcome == ASSAY_OUTCOME_PASS)
        return;
    clear_line(ps);
    fprintf(stderr, "%s case '%s', target '%s'",
            outcome == ASSAY_OUTCOME_ERROR ? "ERROR" : "FAIL",
            assay_result_case(r), assay_result_target(r));
    if (strcmp(assay_result_prompt(r), "default"))
        fprintf(stderr, ", prompt '%s'", assay_result_prompt(r));
    if (assay_result_repeat(r) > 0)
        fprintf(stderr, ", repeat %d", assay_result_repeat(r));
    if (outcome == ASSAY_OUTCOME_ERROR) {
        fprintf(stderr, ": %s\n", assay_result_error(r));
        return;
    }
    fputs(":\n", stderr);
    for (size_t i = 0; i < assay_result_check_count(r); i++)
        if (!assay_result_check_passed(r, i))
            fprintf(stderr, "  %s: %s\n", assay_result_check_type(r, i),
                    assay_result_check_reason(r, i));
}

void cli_progress_end(cli_progress *ps)
{
    if (ps->quiet)
        return;
    if (ps->tty) {
        clear_line(ps);
        fflush(stderr);
        return;
    }
    /* A log shows where the run ended, unless the last line just did. */
    if (ps->seen && now_seconds() - ps->last_draw > 0.5)
        draw(ps, now_seconds());
}
