/* String -> dense id map: open addressing with linear probing over FNV-1a hashes; the strings live
 * in one pool, so a map of a million words costs two allocations plus the table. Pointers returned by
 * strmap_string stay valid only until the next strmap_intern (the pool may move). */
#include "core/strmap.h"

#include "core/arena.h"
#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

// Length of string id without strlen: the next string starts right after its NUL.
static size_t string_length(const strmap *m, size_t id)
{
    size_t end = id + 1 < m->count ? m->offsets[id + 1] : m->pool_used;
    return end - m->offsets[id] - 1;
}

void strmap_init(strmap *m) { *m = (strmap){0}; }

void strmap_free(strmap *m)
{
    free(m->pool);
    free(m->offsets);
    free(m->slots);
    *m = (strmap){0};
}

// Slot holding the len bytes at s, or the empty slot where they would go.
static size_t find_slot(const strmap *m, const char *s, size_t len, uint64_t h)
{
    size_t mask = m->n_slots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        size_t entry = m->slots[i];
        if (entry == 0)
            return i;
        size_t id = entry - 1;
        if (string_length(m, id) == len && memcmp(m->pool + m->offsets[id], s, len) == 0)
            return i;
    }
}

size_t strmap_find(const strmap *m, const char *s, size_t len)
{
    if (m->n_slots == 0)
        return STRMAP_NONE;
    size_t entry = m->slots[find_slot(m, s, len, hash_bytes(s, len))];
    return entry ? entry - 1 : STRMAP_NONE;
}

// Doubles the table (load factor stays at most 1/2, so probes stay short).
static hftc_status grow_table(strmap *m)
{
    size_t n = m->n_slots ? m->n_slots * 2 : 64;
    size_t *slots = mem_calloc(n, sizeof *slots);
    if (!slots)
        return HFTC_STATUS_OUT_OF_MEMORY;
    size_t mask = n - 1;
    for (size_t id = 0; id < m->count; id++) {
        size_t i = (size_t)hash_bytes(m->pool + m->offsets[id], string_length(m, id)) & mask;
        while (slots[i])
            i = (i + 1) & mask;
        slots[i] = id + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->n_slots = n;
    return HFTC_STATUS_OK;
}

hftc_status strmap_intern(strmap *m, const char *s, size_t len, size_t *id)
{
    if (memchr(s, '\0', len))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "string map keys may not contain NUL bytes");
    uint64_t h = hash_bytes(s, len);
    if (m->n_slots) {
        size_t entry = m->slots[find_slot(m, s, len, h)];
        if (entry) {
            *id = entry - 1;
            return HFTC_STATUS_OK;
        }
    }
    if ((m->count + 1) * 2 > m->n_slots)
        TRY(grow_table(m));
    TRY(mem_reserve((void **)&m->offsets, &m->offsets_capacity, m->count + 1, sizeof *m->offsets));
    if (len >= SIZE_MAX - m->pool_used)
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "string pool too large");
    TRY(mem_reserve((void **)&m->pool, &m->pool_capacity, m->pool_used + len + 1, 1));
    size_t slot = find_slot(m, s, len, h);
    memcpy(m->pool + m->pool_used, s, len);
    m->pool[m->pool_used + len] = '\0';
    m->offsets[m->count] = m->pool_used;
    m->pool_used += len + 1;
    m->slots[slot] = m->count + 1;
    *id = m->count++;
    return HFTC_STATUS_OK;
}

const char *strmap_string(const strmap *m, size_t id) { return m->pool + m->offsets[id]; }

size_t strmap_count(const strmap *m) { return m->count; }
