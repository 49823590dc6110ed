/*
 * error.c - status names and the filling of caller-provided assay_error.
 *
 * Messages about input start with "file:line:col: " so that editors and CI
 * log viewers can jump to the spot; the position is also kept in fields.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

const char *assay_status_name(assay_status status)
{
    switch (status) {
#define ASSAY__STATUS_NAME(name, value, text)                                  \
    case ASSAY_##name:                                                       \
        return "ASSAY_" #name;
        ASSAY_STATUS_TABLE(ASSAY__STATUS_NAME)
#undef ASSAY__STATUS_NAME
    }
    return "ASSAY_UNKNOWN";
}

const char *assay_strerror(assay_status status)
{
    switch (status) {
#define ASSAY__STATUS_TEXT(name, value, text)                                  \
    case ASSAY_##name:                                                       \
        return text;
        ASSAY_STATUS_TABLE(ASSAY__STATUS_TEXT)
#undef ASSAY__STATUS_TEXT
    }
    return "unknown status";
}

void assay_error_clear(assay_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

assay_status assay__error_v(assay_error *err, assay_status status,
                            const char *file, int line, int col,
                            const char *fmt, va_list ap)
{
    if (!err)
        return status;
    assay_error_clear(err);
    err->status = status;
    err->line = line;
    err->column = col;
    size_t used = 0;
    if (file && *file) {
        snprintf(err->file, sizeof err->file, "%s", file);
        int n;
        if (line > 0 && col > 0)
            n = snprintf(err->message, sizeof err->message, "%s:%d:%d: ",
                         file, line, col);
        else if (line > 0)
            n = snprintf(err->message, sizeof err->message, "%s:%d: ", file,
                         line);
        else
            n = snprintf(err->message, sizeof err->message, "%s: ", file);
        used = n > 0 ? (size_t)n : 0;
        if (used >= sizeof err->message)
            used = sizeof err->message - 1;
    }
    vsnprintf(err->message + used, sizeof err->message - used, fmt, ap);
    return status;
}

assay_status assay__error(assay_error *err, assay_status status,
                          const char *file, int line, int col,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    assay__error_v(err, status, file, line, col, fmt, ap);
    va_end(ap);
    return status;
}

void assay__error_prefix(assay_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char old[sizeof err->message];
    memcpy(old, err->message, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    size_t used = n < 0 ? 0 : (size_t)n;
    if (used + 3 >= sizeof err->message)
        return; /* the prefix alone fills the message */
    memcpy(err->message + used, ": ", 2);
    used += 2;
    size_t room = sizeof err->message - used - 1;
    size_t len = strnlen(old, room);
    memcpy(err->message + used, old, len);
    err->message[used + len] = '\0';
}
