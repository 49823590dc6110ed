/*
 * idset.c - a dataset's explicit case ids, checked for duplicates as they
 * are read, in bounded memory.
 *
 * Each id is kept as a 128-bit digest (SipHash-2-4 with its 128-bit
 * output, a fixed key): two different ids share one with a chance of
 * about n^2 / 2^129, nil at any dataset size, and making two that do
 * would take some 2^64 tries, so a duplicate is found exactly. SipHash
 * costs a few hundred instructions an id where OpenSSL's SHA-256 costs
 * thousands. The digests live in two tiers:
 *  - memory: an open-addressed table of up to `memory_ids` digests (65,536
 *    by default; 2 MiB of slots at half load);
 *  - disk: one run of digests in sorted order in an unlinked temporary
 *    file, with the first digest of every 4 KiB block kept in memory
 *    (1/16 byte per id).
 * A new id is looked up in the table and, through the block index, in
 * one block read from the run: one pread, served by the page cache. When
 * the table is full its digests are sorted and merged with the run into
 * a second file, which becomes the run. Memory stays near 2 MiB however
 * many ids come (the block index adds 64 KiB a million); the merges
 * rewrite the run, which costs sequential I/O of 16 bytes per id on disk
 * for every table that fills (at a million ids, about 250 MB of page-cache
 * copies in all, a fraction of a second). Datasets of up to `memory_ids`
 * explicit ids never touch the disk.
 */
#include "idset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIGEST_BYTES 16
#define BLOCK_IDS 256 /* digests per block of the run: 4 KiB */
#define BLOCK_BYTES (BLOCK_IDS * DIGEST_BYTES)
#define MERGE_IDS 4096 /* digests per buffer while merging */

typedef struct run_file {
    FILE *file;      /* NULL until the first merge */
    size_t count;    /* digests in the run */
    unsigned char *fences; /* first digest of each block */
    size_t n_fences;
} run_file;

struct assay__idset {
    unsigned char *slots; /* cap * DIGEST_BYTES; all zero means empty */
    size_t cap;           /* a power of two */
    size_t n;             /* digests in the table */
    size_t max_in_memory;
    run_file run;
    FILE *spare; /* the file the next merge writes */
};

assay__idset *assay__idset_new(size_t memory_ids)
{
    assay__idset *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->max_in_memory = memory_ids ? memory_ids : ASSAY__IDSET_MEMORY_IDS;
    return s;
}

void assay__idset_free(assay__idset *s)
{
    if (!s)
        return;
    free(s->slots);
    free(s->run.fences);
    if (s->run.file)
        fclose(s->run.file);
    if (s->spare)
        fclose(s->spare);
    free(s);
}

size_t assay__idset_count(const assay__idset *s)
{
    return s->n + s->run.count;
}

size_t assay__idset_on_disk(const assay__idset *s)
{
    return s->run.count;
}

static assay_status io_error(assay_error *err, const char *what)
{
    return assay__error(err, ASSAY_ERR_IO, NULL, 0, 0,
                        "cannot %s the temporary file of the dataset's ids: "
                        "%s",
                        what, strerror(errno));
}

/* ------------------------------------------------------------ digests */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                              \
    do {                                                                      \
        v0 += v1;                                                             \
        v1 = ROTL(v1, 13);                                                    \
        v1 ^= v0;                                                             \
        v0 = ROTL(v0, 32);                                                    \
        v2 += v3;                                                             \
        v3 = ROTL(v3, 16);                                                    \
        v3 ^= v2;                                                             \
        v0 += v3;                                                             \
        v3 = ROTL(v3, 21);                                                    \
        v3 ^= v0;                                                             \
        v2 += v1;                                                             \
        v1 = ROTL(v1, 17);                                                    \
        v1 ^= v2;                                                             \
        v2 = ROTL(v2, 32);                                                    \
    } while (0)

static uint64_t load_le64(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void store_le64(unsigned char *p, uint64_t v)
{
    for (size_t i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* SipHash-2-4 with 128-bit output (the reference algorithm). */
static void siphash128(const unsigned char *in, size_t len,
                       unsigned char out[16])
{
    const uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1 ^ 0xee;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(in + i, 8);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = ((uint64_t)len << 56) | load_le64(in + whole, len % 8);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xee;
    for (int i = 0; i < 4; i++)
        SIPROUND;
    store_le64(out, v0 ^ v1 ^ v2 ^ v3);
    v1 ^= 0xdd;
    for (int i = 0; i < 4; i++)
        SIPROUND;
    store_le64(out + 8, v0 ^ v1 ^ v2 ^ v3);
}

static void digest_of(const char *id, unsigned char *out)
{
    siphash128((const unsigned char *)id, strlen(id), out);
    out[0] |= 1; /* never all zero, which marks an empty slot */
}

static int digest_cmp(const void *a, const void *b)
{
    return memcmp(a, b, DIGEST_BYTES);
}

/* ------------------------------------------------------------ memory */

/* Where `digest` is in the table, or the empty slot where it would go. */
static unsigned char *slot_for(const assay__idset *s,
                               const unsigned char *digest)
{
    uint64_t h;
    memcpy(&h, digest + 8, sizeof h);
    size_t i = (size_t)(h & (s->cap - 1));
    for (;;) {
        unsigned char *slot = s->slots + i * DIGEST_BYTES;
        if (slot[0] == 0 || !memcmp(slot, digest, DIGEST_BYTES))
            return slot;
        i = (i + 1) & (s->cap - 1);
    }
}

/* Room for one more digest, the table at most half full. */
static bool table_room(assay__idset *s)
{
    if ((s->n + 1) * 2 <= s->cap)
        return true;
    size_t cap = s->cap ? s->cap * 2 : 1024;
    unsigned char *old = s->slots;
    size_t old_cap = s->cap;
    s->slots = calloc(cap, DIGEST_BYTES);
    if (!s->slots) {
        s->slots = old;
        return false;
    }
    s->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        const unsigned char *d = old + i * DIGEST_BYTES;
        if (d[0])
            memcpy(slot_for(s, d), d, DIGEST_BYTES);
    }
    free(old);
    return true;
}

/* ------------------------------------------------------------ disk */

static bool read_at(FILE *f, void *buf, size_t len, size_t at)
{
    size_t done = 0;
    while (done < len) {
        ssize_t got = pread(fileno(f), (char *)buf + done, len - done,
                            (off_t)(at + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = EIO; /* the run is shorter than it should be */
            return false;
        }
        done += (size_t)got;
    }
    return true;
}

static bool write_at(FILE *f, const void *buf, size_t len, size_t at)
{
    size_t done = 0;
    while (done < len) {
        ssize_t put = pwrite(fileno(f), (const char *)buf + done, len - done,
                             (off_t)(at + done));
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return false;
        done += (size_t)put;
    }
    return true;
}

/* Whether the run holds `digest`: the one block it could be in, read. */
static assay_status run_has(const assay__idset *s, const unsigned char *digest,
                            bool *found, assay_error *err)
{
    const run_file *r = &s->run;
    *found = false;
    if (!r->count || memcmp(digest, r->fences, DIGEST_BYTES) < 0)
        return ASSAY_OK;
    size_t lo = 0, hi = r->n_fences; /* the last fence <= digest */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(r->fences + mid * DIGEST_BYTES, digest, DIGEST_BYTES) <= 0)
            lo = mid;
        else
            hi = mid;
    }
    unsigned char block[BLOCK_BYTES];
    size_t first = lo * BLOCK_IDS;
    size_t n = r->count - first < BLOCK_IDS ? r->count - first : BLOCK_IDS;
    if (!read_at(r->file, block, n * DIGEST_BYTES, first * DIGEST_BYTES))
        return io_error(err, "read");
    *found = bsearch(digest, block, n, DIGEST_BYTES, digest_cmp) != NULL;
    return ASSAY_OK;
}

/* Buffered output of the merge, with the block index of what it writes. */
typedef struct merge_out {
    FILE *file;
    unsigned char *buf;
    size_t n_buf;
    size_t count;
    unsigned char *fences;
} merge_out;

static bool merge_put(merge_out *o, const unsigned char *digest)
{
    if (o->count % BLOCK_IDS == 0)
        memcpy(o->fences + (o->count / BLOCK_IDS) * DIGEST_BYTES, digest,
               DIGEST_BYTES);
    memcpy(o->buf + o->n_buf * DIGEST_BYTES, digest, DIGEST_BYTES);
    o->count++;
    if (++o->n_buf < MERGE_IDS)
        return true;
    size_t at = (o->count - o->n_buf) * DIGEST_BYTES;
    bool ok = write_at(o->file, o->buf, o->n_buf * DIGEST_BYTES, at);
    o->n_buf = 0;
    return ok;
}

static bool merge_flush(merge_out *o)
{
    size_t at = (o->count - o->n_buf) * DIGEST_BYTES;
    bool ok = write_at(o->file, o->buf, o->n_buf * DIGEST_BYTES, at);
    o->n_buf = 0;
    return ok;
}

/* The table's digests, packed to its front and sorted. */
static void table_sorted(assay__idset *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->cap; i++) {
        unsigned char *d = s->slots + i * DIGEST_BYTES;
        if (!d[0])
            continue;
        if (k != i)
            memcpy(s->slots + k * DIGEST_BYTES, d, DIGEST_BYTES);
        k++;
    }
    qsort(s->slots, k, DIGEST_BYTES, digest_cmp);
}

/* Merges the sorted table (s->n digests at s->slots) with the run into
   `o`; neither holds a digest of the other. */
static bool merge_into(assay__idset *s, merge_out *o, unsigned char *in)
{
    const run_file *r = &s->run;
    size_t ti = 0, ri = 0, in_n = 0, in_at = 0;
    while (ti < s->n || ri < r->count) {
        if (in_at == in_n && ri < r->count) {
            in_n = r->count - ri < MERGE_IDS ? r->count - ri : MERGE_IDS;
            if (!read_at(r->file, in, in_n * DIGEST_BYTES, ri * DIGEST_BYTES))
                return false;
            in_at = 0;
        }
        const unsigned char *t = ti < s->n ? s->slots + ti * DIGEST_BYTES
                                           : NULL;
        const unsigned char *d = ri < r->count ? in + in_at * DIGEST_BYTES
                                               : NULL;
        bool from_table = t && (!d || memcmp(t, d, DIGEST_BYTES) < 0);
        if (!merge_put(o, from_table ? t : d))
            return false;
        if (from_table) {
            ti++;
        } else {
            ri++;
            in_at++;
        }
    }
    return merge_flush(o);
}

/* The full table goes to disk, merged into the run; the table empties. */
static assay_status spill(assay__idset *s, assay_error *err)
{
    if (!s->spare && !(s->spare = tmpfile()))
        return io_error(err, "create");
    size_t total = s->run.count + s->n;
    size_t n_fences = (total + BLOCK_IDS - 1) / BLOCK_IDS;
    merge_out o = {.file = s->spare};
    o.buf = malloc(MERGE_IDS * DIGEST_BYTES);
    o.fences = malloc(n_fences * DIGEST_BYTES);
    unsigned char *in = malloc(MERGE_IDS * DIGEST_BYTES);
    assay_status st = ASSAY_OK;
    if (!o.buf || !o.fences || !in) {
        st = assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    } else {
        table_sorted(s);
        if (!merge_into(s, &o, in))
            st = io_error(err, "write");
    }
    free(o.buf);
    free(in);
    if (st != ASSAY_OK) {
        free(o.fences);
        return st;
    }
    /* The new run replaces the old, whose file the next merge reuses. */
    FILE *old = s->run.file;
    free(s->run.fences);
    s->run = (run_file){.file = s->spare, .count = total, .fences = o.fences,
                        .n_fences = n_fences};
    s->spare = old;
    memset(s->slots, 0, s->cap * DIGEST_BYTES);
    s->n = 0;
    return ASSAY_OK;
}

/* ------------------------------------------------------------ adding */

assay_status assay__idset_add(assay__idset *s, const char *id,
                              assay_error *err)
{
    unsigned char digest[DIGEST_BYTES];
    digest_of(id, digest);
    if (!table_room(s))
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0,
                            "out of memory");
    unsigned char *slot = slot_for(s, digest);
    if (slot[0])
        return ASSAY_ERR_DATASET;
    bool on_disk;
    assay_status st = run_has(s, digest, &on_disk, err);
    if (st != ASSAY_OK)
        return st;
    if (on_disk)
        return ASSAY_ERR_DATASET;
    memcpy(slot, digest, DIGEST_BYTES);
    s->n++;
    return s->n >= s->max_in_memory ? spill(s, err) : ASSAY_OK;
}
