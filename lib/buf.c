/*
 * buf.c - the growable byte buffer every stage writes into.
 *
 * A buffer always holds a NUL-terminated string (an empty one points at a
 * static byte until the first append), grows geometrically, and refuses to
 * grow past its cap, so that hostile input cannot make it eat the machine.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char empty_string[1];

void assay__buf_init(assay__buf *b, size_t max)
{
    b->data = empty_string;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : ASSAY__BUF_DEFAULT_MAX;
}

void assay__buf_release(assay__buf *b)
{
    if (b->cap)
        free(b->data);
    assay__buf_init(b, b->max);
}

void assay__buf_reset(assay__buf *b)
{
    b->len = 0;
    if (b->cap)
        b->data[0] = '\0';
}

/* Makes room for `extra` more bytes plus the terminator. */
static assay_status buf_reserve(assay__buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return ASSAY_ERR_LIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return ASSAY_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *data = realloc(b->cap ? b->data : NULL, cap);
    if (!data)
        return ASSAY_ERR_NOMEM;
    if (!b->cap)
        data[0] = '\0';
    b->data = data;
    b->cap = cap;
    return ASSAY_OK;
}

assay_status assay__buf_append_grow(assay__buf *b, const void *data, size_t n)
{
    assay_status st = buf_reserve(b, n);
    if (st != ASSAY_OK)
        return st;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return ASSAY_OK;
}

assay_status assay__buf_printf(assay__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ASSAY_ERR_INVALID;
    if ((size_t)n < sizeof small)
        return assay__buf_append(b, small, (size_t)n);

    assay_status st = buf_reserve(b, (size_t)n);
    if (st != ASSAY_OK)
        return st;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ASSAY_OK;
}

char *assay__buf_detach(assay__buf *b, size_t *len)
{
    char *data = b->cap ? b->data : calloc(1, 1);
    if (len)
        *len = data ? b->len : 0;
    assay__buf_init(b, b->max);
    return data;
}
