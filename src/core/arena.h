/* Arenas: one aligned allocation, carved into pieces, freed at once.
 * Sizes are planned first (arena_plan on an arena with no memory), then the block is allocated.
 *
 * An arena of ARENA_MAP_BYTES or more gets pages of its own (mmap, huge pages advised; malloc's where
 * the system refuses a mapping), returned to the system when it is freed. From malloc, such blocks
 * come from glibc's heaps once its dynamic mmap threshold has risen (to the size of the first large
 * block freed, up to 32 MiB), where small allocations made meanwhile keep the space of freed ones
 * from being returned or reused whole: node training, which creates and frees networks of tens of
 * MiB per classifier run on two threads, held up to five times the memory it used (docs/RESULTS.md,
 * HTrans: cost). */
#ifndef HFTC_CORE_ARENA_H
#define HFTC_CORE_ARENA_H

#include "hftc.h"

#include <stdbool.h>
#include <stddef.h>

#define ARENA_ALIGN 64
#define ARENA_MAP_BYTES ((size_t)1 << 20)

typedef struct {
    char *base;  /* NULL while planning */
    size_t size; /* bytes allocated */
    size_t used; /* bytes handed out (or planned) */
    bool mapped; /* base is pages of its own (else from aligned_alloc) */
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
