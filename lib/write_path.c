/*
 * write_path.c - summaries and reports written to a file by its path,
 * atomically: into a temporary file beside the target (same folder, so the
 * rename stays within one file system), flushed to disk, then renamed over
 * the target. A reader sees the old file or the new one, never half of
 * one, and a failure leaves the old file as it was.
 *
 * What it does not do: format anything (report.c and report/ do).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef assay_status (*write_fn)(const void *what, assay_format format,
                                 FILE *out, assay_error *err);

static assay_status io_error(assay_error *err, const char *path,
                             const char *doing, int errnum)
{
    return assay__error(err, ASSAY_ERR_IO, path, 0, 0, "cannot %s: %s", doing,
                        strerror(errnum));
}

static assay_status write_atomically(const char *path, const void *what,
                                     assay_format format, write_fn write,
                                     assay_error *err)
{
    if (!path || !*path)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "no path to write the report to");
    size_t n = strlen(path) + 64;
    char *tmp = malloc(n);
    if (!tmp)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    /* Not mkstemp: its file is private (0600), and changing the umask to
       fix that would touch the whole process. O_EXCL with a name no other
       writer uses does the same, with the usual permissions. */
    static atomic_uint counter;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        snprintf(tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(),
                 atomic_fetch_add(&counter, 1));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        assay_status st = io_error(err, path, "create a file beside it",
                                   errno);
        free(tmp);
        return st;
    }
    FILE *out = fdopen(fd, "w");
    assay_status st = out ? ASSAY_OK : io_error(err, path, "write", errno);
    if (!out)
        close(fd);
    if (st == ASSAY_OK)
        st = write(what, format, out, err);
    if (st == ASSAY_OK && (fflush(out) != 0 || fsync(fileno(out)) != 0))
        st = io_error(err, path, "write", errno);
    if (out && fclose(out) != 0 && st == ASSAY_OK)
        st = io_error(err, path, "write", errno);
    if (st == ASSAY_OK && rename(tmp, path) != 0)
        st = io_error(err, path, "replace", errno);
    if (st != ASSAY_OK)
        unlink(tmp);
    free(tmp);
    return st;
}

static assay_status write_summary(const void *what, assay_format format,
                                  FILE *out, assay_error *err)
{
    return assay_summary_write(what, format, out, err);
}

static assay_status write_report(const void *what, assay_format format,
                                 FILE *out, assay_error *err)
{
    return assay_report_write(what, format, out, err);
}

assay_status assay_summary_write_path(const assay_summary *summary,
                                      assay_format format, const char *path,
                                      assay_error *err)
{
    if (!summary)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "no summary to write");
    return write_atomically(path, summary, format, write_summary, err);
}

assay_status assay_report_write_path(const assay_report *report,
                                     assay_format format, const char *path,
                                     assay_error *err)
{
    if (!report)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "no report to write");
    return write_atomically(path, report, format, write_report, err);
}
