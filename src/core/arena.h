/* Arenas: one aligned allocation, carved into pieces, freed at once.
 * Sizes are planned first (arena_plan on an arena with no memory), then the block is allocated. */
#ifndef HFTC_CORE_ARENA_H
#define HFTC_CORE_ARENA_H

#include "hftc.h"

#include <stddef.h>

#define ARENA_ALIGN 64

typedef struct {
    char *base;  /* NULL while planning */
    size_t size; /* bytes allocated */
    size_t used; /* bytes handed out (or planned) */
} arena;

/* Allocates a zeroed block of size bytes. */
hftc_status arena_init(arena *a, size_t size);
void arena_free(arena *a);
/* Hands out n elements of elem bytes, 64-byte aligned. While planning (base == NULL) it only
 * counts and returns NULL. Running out of a sized arena is a programming error (abort). */
void *arena_alloc(arena *a, size_t n, size_t elem);
/* Shorthand for float arrays. */
float *arena_floats(arena *a, size_t n);

/* Growable arrays for data whose size is not known in advance (readers, vocabularies). */
hftc_status mem_reserve(void **ptr, size_t *capacity, size_t needed, size_t elem);
/* malloc/calloc that record an out-of-memory error. */
void *mem_alloc(size_t n, size_t elem);
void *mem_calloc(size_t n, size_t elem);
char *mem_strdup(const char *s);

#endif
