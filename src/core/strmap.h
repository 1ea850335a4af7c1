/* String -> dense id map (open addressing, FNV-1a) with its own string pool.
 * Ids are assigned 0, 1, 2, ... in insertion order. Strings may contain any bytes but NUL. */
#ifndef HFTC_CORE_STRMAP_H
#define HFTC_CORE_STRMAP_H

#include "hftc.h"

#include <stddef.h>

#define STRMAP_NONE ((size_t)-1)

typedef struct {
    char *pool; /* NUL-terminated strings back to back */
    size_t pool_used, pool_capacity;
    size_t *offsets; /* id -> offset in pool */
    size_t count, offsets_capacity;
    size_t *slots;  /* hash table of ids + 1 (0 = empty) */
    size_t n_slots; /* power of two */
} strmap;

void strmap_init(strmap *m);
void strmap_free(strmap *m);
/* Id of the len bytes at s, or STRMAP_NONE. */
size_t strmap_find(const strmap *m, const char *s, size_t len);
/* Id of s, inserting it if absent. */
hftc_status strmap_intern(strmap *m, const char *s, size_t len, size_t *id);
const char *strmap_string(const strmap *m, size_t id);
size_t strmap_count(const strmap *m);

#endif
