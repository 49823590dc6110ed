/*
 * text.c - the small text formatting the other stages share: quoted
 * excerpts of untrusted text for messages, doubles printed the same way in
 * every locale, and JSON string literals.
 *
 * Nothing here allocates beyond the output buffer, reads the locale's
 * settings or validates JSON; it only writes. Each function either appends
 * all of its output or, on failure (the buffer's cap), leaves the buffer as
 * it was.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Drops what a failed multi-part write appended after `mark`. */
static assay_status undo(assay__buf *out, size_t mark, assay_status st)
{
    if (st != ASSAY_OK && out->len > mark) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return st;
}

/*
 * The length of the well-formed UTF-8 sequence at `s` (at most `n` bytes
 * available), or 0 when the bytes there are not one: overlong forms,
 * surrogates and code points past U+10FFFF count as malformed.
 */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else
        return 0;
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return need;
}

/*
 * Excerpts escape what would break a one-line message or hide what the
 * bytes are: quotes and backslashes, control bytes and bytes that are not
 * UTF-8 (as \xNN). Well-formed UTF-8 is kept as it is, so that a person
 * reads the text they would see.
 */
assay_status assay__text_excerpt(assay__buf *out, const char *s, size_t len,
                                 size_t max)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t mark = out->len;
    assay_status st = assay__buf_putc(out, '\'');
    size_t i = 0;
    size_t run = 0; /* start of the pending run of bytes copied as they are */

    while (st == ASSAY_OK && i < len) {
        size_t n = utf8_sequence(p + i, len - i);
        size_t width = n ? n : 1;
        if (i + width > max)
            break;
        unsigned char c = p[i];
        const char *esc = NULL;
        char hex[5];
        if (n == 0 || c < 0x20 || c == 0x7F || c == '\\' || c == '\'') {
            switch (c) {
            case '\n':
                esc = "\\n";
                break;
            case '\t':
                esc = "\\t";
                break;
            case '\r':
                esc = "\\r";
                break;
            case '\\':
                esc = "\\\\";
                break;
            case '\'':
                esc = "\\'";
                break;
            default:
                snprintf(hex, sizeof hex, "\\x%02X", (unsigned)c);
                esc = hex;
            }
        }
        if (esc) {
            st = assay__buf_append(out, p + run, i - run);
            if (st == ASSAY_OK)
                st = assay__buf_puts(out, esc);
            run = i + width;
        }
        i += width;
    }
    if (st == ASSAY_OK)
        st = assay__buf_append(out, p + run, i - run);
    if (st == ASSAY_OK)
        st = assay__buf_putc(out, '\'');
    if (st == ASSAY_OK && i < len)
        st = assay__buf_puts(out, "...");
    return undo(out, mark, st);
}

/*
 * JSON has no NaN or infinity, and this function feeds JSON, so those print
 * as `null`: a reader sees "no value", which is what a NaN statistic means.
 *
 * The shortest of %.15g, %.16g and %.17g that reads back as the same double
 * is used (%.17g always does), so 0.1 prints as 0.1 and integral values print
 * without a decimal point. printf and strtod both follow the C locale's
 * LC_NUMERIC, which the library never sets but its caller may have; the
 * round trip is tested in that same locale, and whatever the locale put
 * where the decimal point goes (',' in de_DE, a multibyte mark in some) is
 * then replaced by '.'.
 */
assay_status assay__text_put_double(assay__buf *out, double v)
{
    if (isnan(v) || isinf(v))
        return assay__buf_puts(out, "null");
    /* Counts, repeats, attempts and the like are whole: the digits by
       hand, without snprintf and the strtod round trip. */
    if (fabs(v) < 9007199254740992.0 && v == (double)(long long)v &&
        !(v == 0 && signbit(v))) {
        char digits[24];
        size_t n = sizeof digits;
        long long k = (long long)v;
        unsigned long long u = k < 0 ? 0ULL - (unsigned long long)k
                                     : (unsigned long long)k;
        do {
            digits[--n] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (k < 0)
            digits[--n] = '-';
        return assay__buf_append(out, digits + n, sizeof digits - n);
    }

    char tmp[64];
    /* 15 significant digits always round-trip when fewer would, except
       for subnormal numbers, which carry fewer digits: search those from 1. */
    int first = v != 0 && fabs(v) < DBL_MIN ? 1 : 15;
    for (int prec = first; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }

    /* %g writes only a sign, digits, an exponent and the decimal point. */
    char clean[64];
    size_t n = 0;
    bool in_point = false;
    for (const char *c = tmp; *c; c++) {
        bool plain = (*c >= '0' && *c <= '9') || *c == '-' || *c == '+' ||
                     *c == 'e' || *c == 'E';
        if (plain) {
            clean[n++] = *c;
            in_point = false;
        } else if (!in_point) {
            clean[n++] = '.';
            in_point = true;
        }
    }
    return assay__buf_append(out, clean, n);
}

/* Whether any of the 8 bytes in `w` is below 0x20, '"' or '\\' (the
   classic tests for a zero byte, and for a byte below n, word-wide). */
static bool word_needs_json_escape(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
    uint64_t low = (w - ones * 0x20) & ~w;
    uint64_t zero = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash);
    return ((low | zero) & highs) != 0;
}

/*
 * The first byte at or after `from` that a JSON string must escape, or
 * `len`: bytes >= 0x80 are not among them (JSON text is taken as UTF-8).
 * Most text (prompts, ids, outputs) has none, so it is scanned a word at
 * a time and copied whole.
 */
static size_t next_json_escape(const unsigned char *p, size_t from,
                               size_t len)
{
    size_t i = from;
    uint64_t w;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, p + i, sizeof w);
        if (word_needs_json_escape(w))
            break;
    }
    if (i < len && i + 8 > len && len - from >= 8) {
        /* the tail: the last 8 bytes, the first of them checked already */
        memcpy(&w, p + len - 8, sizeof w);
        if (!word_needs_json_escape(w))
            return len;
    }
    for (; i < len; i++)
        if (p[i] < 0x20 || p[i] == '"' || p[i] == '\\')
            return i;
    return len;
}

assay_status assay__text_put_json_string(assay__buf *out, const char *s,
                                         size_t len)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t mark = out->len;
    assay_status st = assay__buf_putc(out, '"');
    size_t run = 0;

    for (size_t i = next_json_escape(p, 0, len); st == ASSAY_OK && i < len;
         i = next_json_escape(p, i + 1, len)) {
        unsigned char c = p[i];
        const char *esc;
        char hex[7];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            snprintf(hex, sizeof hex, "\\u%04x", (unsigned)c);
            esc = hex;
        }
        st = assay__buf_append(out, p + run, i - run);
        if (st == ASSAY_OK)
            st = assay__buf_puts(out, esc);
        run = i + 1;
    }
    if (st == ASSAY_OK)
        st = assay__buf_append(out, p + run, len - run);
    if (st == ASSAY_OK)
        st = assay__buf_putc(out, '"');
    return undo(out, mark, st);
}
