/*
 * keymap.c - the two compact indexes that per-case statistics need: an
 * intern table that turns strings (case ids, cluster keys) into small dense
 * numbers, and a slot map from a key of three such numbers (for example
 * group, case and repeat) to a slot in the caller's own array.
 *
 * Both are open-addressed tables kept at most half full. Strings are stored
 * once each, in one capped arena; a slot-map entry is 16 bytes. Neither
 * knows what the numbers mean: summary.c and compare.c decide. Strings are
 * hashed with OpenSSL's SHA-256 (its first 8 bytes), so collisions need not
 * be thought about beyond the full comparison done on every probe.
 */
#include "internal.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX
#define INITIAL_SLOTS 64u
#define MAX_ENTRIES ((uint32_t)1 << 30)

/* ------------------------------------------------------------ intern */

struct assay__intern {
    assay__buf arena;  /* the strings, each NUL terminated */
    uint32_t *offsets; /* id -> offset in the arena */
    uint64_t *hashes;  /* id -> hash, so growing never rehashes a string */
    uint32_t count;
    uint32_t id_cap; /* room in offsets and hashes */
    uint32_t *table; /* id per slot, EMPTY when free */
    uint32_t slots;  /* a power of two */
};

static uint64_t string_hash(const char *s, size_t len)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, len, digest);
    uint64_t h;
    memcpy(&h, digest, sizeof h);
    return h;
}

assay__intern *assay__intern_new(size_t max_bytes)
{
    assay__intern *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    assay__buf_init(&t->arena, max_bytes);
    t->slots = INITIAL_SLOTS;
    t->table = malloc(t->slots * sizeof *t->table);
    if (!t->table) {
        assay__intern_free(t);
        return NULL;
    }
    memset(t->table, 0xff, t->slots * sizeof *t->table);
    return t;
}

void assay__intern_free(assay__intern *t)
{
    if (!t)
        return;
    assay__buf_release(&t->arena);
    free(t->offsets);
    free(t->hashes);
    free(t->table);
    free(t);
}

static uint32_t probe(const assay__intern *t, const char *s, size_t len,
                      uint64_t h)
{
    uint32_t mask = t->slots - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        uint32_t id = t->table[i];
        if (id == EMPTY)
            return i;
        const char *have = t->arena.data + t->offsets[id];
        if (t->hashes[id] == h && !strncmp(have, s, len) && !have[len])
            return i;
    }
}

static assay_status grow_table(assay__intern *t)
{
    uint32_t slots = t->slots * 2;
    uint32_t *table = malloc(slots * sizeof *table);
    if (!table)
        return ASSAY_ERR_NOMEM;
    memset(table, 0xff, slots * sizeof *table);
    for (uint32_t id = 0; id < t->count; id++) {
        uint32_t i = (uint32_t)t->hashes[id] & (slots - 1);
        while (table[i] != EMPTY)
            i = (i + 1) & (slots - 1);
        table[i] = id;
    }
    free(t->table);
    t->table = table;
    t->slots = slots;
    return ASSAY_OK;
}

static assay_status grow_ids(assay__intern *t)
{
    uint32_t cap = t->id_cap ? t->id_cap * 2 : 32;
    uint32_t *offsets = realloc(t->offsets, cap * sizeof *offsets);
    if (!offsets)
        return ASSAY_ERR_NOMEM;
    t->offsets = offsets;
    uint64_t *hashes = realloc(t->hashes, cap * sizeof *hashes);
    if (!hashes)
        return ASSAY_ERR_NOMEM;
    t->hashes = hashes;
    t->id_cap = cap;
    return ASSAY_OK;
}

assay_status assay__intern_id(assay__intern *t, const char *s, uint32_t *id)
{
    size_t len = strlen(s);
    uint64_t h = string_hash(s, len);
    uint32_t slot = probe(t, s, len, h);
    if (t->table[slot] != EMPTY) {
        *id = t->table[slot];
        return ASSAY_OK;
    }
    if (t->count >= MAX_ENTRIES || t->arena.len > UINT32_MAX - len - 1)
        return ASSAY_ERR_LIMIT;
    if ((t->count + 1) * 2 > t->slots) {
        assay_status st = grow_table(t);
        if (st != ASSAY_OK)
            return st;
        slot = probe(t, s, len, h);
    }
    if (t->count == t->id_cap) {
        assay_status st = grow_ids(t);
        if (st != ASSAY_OK)
            return st;
    }
    uint32_t offset = (uint32_t)t->arena.len;
    assay_status st = assay__buf_append(&t->arena, s, len + 1);
    if (st != ASSAY_OK)
        return st;
    t->offsets[t->count] = offset;
    t->hashes[t->count] = h;
    t->table[slot] = t->count;
    *id = t->count++;
    return ASSAY_OK;
}

long assay__intern_find(const assay__intern *t, const char *s)
{
    size_t len = strlen(s);
    uint32_t id = t->table[probe(t, s, len, string_hash(s, len))];
    return id == EMPTY ? -1 : (long)id;
}

const char *assay__intern_str(const assay__intern *t, uint32_t id)
{
    return id < t->count ? t->arena.data + t->offsets[id] : NULL;
}

size_t assay__intern_count(const assay__intern *t)
{
    return t->count;
}

/* ------------------------------------------------------------ slot map */

typedef struct slot_entry {
    uint32_t a, b, c;
    uint32_t value; /* EMPTY when the slot is free */
} slot_entry;

struct assay__slotmap {
    slot_entry *table;
    uint32_t slots; /* a power of two */
    uint32_t count;
};

/* splitmix64's finaliser: every key bit reaches every hash bit. */
static uint32_t key_hash(uint32_t a, uint32_t b, uint32_t c)
{
    uint64_t z = ((uint64_t)a << 32 | b) ^ ((uint64_t)c * 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (uint32_t)(z ^ (z >> 31));
}

static slot_entry *new_slots(uint32_t slots)
{
    slot_entry *table = malloc(slots * sizeof *table);
    if (table)
        for (uint32_t i = 0; i < slots; i++)
            table[i].value = EMPTY;
    return table;
}

assay__slotmap *assay__slotmap_new(void)
{
    assay__slotmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->slots = INITIAL_SLOTS;
    m->table = new_slots(m->slots);
    if (!m->table) {
        free(m);
        return NULL;
    }
    return m;
}

void assay__slotmap_free(assay__slotmap *m)
{
    if (!m)
        return;
    free(m->table);
    free(m);
}

static slot_entry *find_slot(slot_entry *table, uint32_t slots, uint32_t a,
                             uint32_t b, uint32_t c)
{
    uint32_t mask = slots - 1;
    for (uint32_t i = key_hash(a, b, c) & mask;; i = (i + 1) & mask) {
        slot_entry *e = &table[i];
        if (e->value == EMPTY || (e->a == a && e->b == b && e->c == c))
            return e;
    }
}

static assay_status grow_slots(assay__slotmap *m)
{
    uint32_t slots = m->slots * 2;
    slot_entry *table = new_slots(slots);
    if (!table)
        return ASSAY_ERR_NOMEM;
    for (uint32_t i = 0; i < m->slots; i++) {
        const slot_entry *e = &m->table[i];
        if (e->value != EMPTY)
            *find_slot(table, slots, e->a, e->b, e->c) = *e;
    }
    free(m->table);
    m->table = table;
    m->slots = slots;
    return ASSAY_OK;
}

assay_status assay__slotmap_put(assay__slotmap *m, uint32_t a, uint32_t b,
                                uint32_t c, uint32_t *value, bool *inserted)
{
    slot_entry *e = find_slot(m->table, m->slots, a, b, c);
    *inserted = e->value == EMPTY;
    if (!*inserted) {
        *value = e->value;
        return ASSAY_OK;
    }
    if (m->count >= MAX_ENTRIES || *value == EMPTY)
        return ASSAY_ERR_LIMIT;
    if ((m->count + 1) * 2 > m->slots) {
        assay_status st = grow_slots(m);
        if (st != ASSAY_OK)
            return st;
        e = find_slot(m->table, m->slots, a, b, c);
    }
    *e = (slot_entry){a, b, c, *value};
    m->count++;
    return ASSAY_OK;
}

long assay__slotmap_get(const assay__slotmap *m, uint32_t a, uint32_t b,
                        uint32_t c)
{
    const slot_entry *e = find_slot(m->table, m->slots, a, b, c);
    return e->value == EMPTY ? -1 : (long)e->value;
}
