/* Arena and growable-array helpers. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "core/arena.h"

#include "core/error.h"
#include "core/fault.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

hftc_status arena_init(arena *a, size_t size)
{
    *a = (arena){.size = (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN};
    if (a->size && fault_allocation()) {
        a->size = 0;
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory allocating %zu bytes", size);
    }
    if (a->size >= ARENA_MAP_BYTES) {
        void *p = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        a->mapped = p != MAP_FAILED;
        a->base = a->mapped ? p : NULL; /* zeroed, page-aligned */
        // Huge pages where the system hands them out on request (Debian's transparent_hugepage=madvise):
        // fresh pages for every run's arenas then cost one fault per 2 MiB, not 512. Advice only.
        if (a->mapped)
            madvise(a->base, a->size, MADV_HUGEPAGE);
    }
    if (a->size && !a->base && (a->base = aligned_alloc(ARENA_ALIGN, a->size)))
        memset(a->base, 0, a->size);
    if (a->size && !a->base) {
        a->size = 0;
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory allocating %zu bytes", size);
    }
    return HFTC_STATUS_OK;
}

void arena_free(arena *a)
{
    if (a->mapped)
        munmap(a->base, a->size);
    else
        free(a->base);
    *a = (arena){0};
}

void *arena_alloc(arena *a, size_t n, size_t elem)
{
    if (elem && n > SIZE_MAX / elem - ARENA_ALIGN) {
        fprintf(stderr, "hftc: arena request overflows\n");
        abort();
    }
    size_t bytes = (n * elem + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    size_t offset = a->used;
    a->used += bytes;
    if (!a->base)
        return NULL;
    if (a->used > a->size) {
        fprintf(stderr, "hftc: arena overflow (%zu > %zu bytes): a size plan is wrong\n", a->used, a->size);
        abort();
    }
    return a->base + offset;
}

float *arena_floats(arena *a, size_t n) { return arena_alloc(a, n, sizeof(float)); }

hftc_status mem_reserve(void **ptr, size_t *capacity, size_t needed, size_t elem)
{
    if (needed <= *capacity)
        return HFTC_STATUS_OK;
    size_t cap = *capacity ? *capacity : 16;
    while (cap < needed)
        cap = cap > SIZE_MAX / 2 ? needed : cap * 2;
    if (cap > SIZE_MAX / elem)
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "array of %zu elements too large", cap);
    void *p = fault_allocation() ? NULL : realloc(*ptr, cap * elem);
    if (!p)
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory growing an array to %zu bytes", cap * elem);
    *ptr = p;
    *capacity = cap;
    return HFTC_STATUS_OK;
}

void *mem_alloc(size_t n, size_t elem)
{
    void *p = (elem && n > SIZE_MAX / elem) || fault_allocation() ? NULL : malloc(n * elem > 0 ? n * elem : 1);
    if (!p)
        error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory allocating %zu x %zu bytes", n, elem);
    return p;
}

void *mem_calloc(size_t n, size_t elem)
{
    void *p = fault_allocation() ? NULL : calloc(n ? n : 1, elem ? elem : 1);
    if (!p)
        error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory allocating %zu x %zu bytes", n, elem);
    return p;
}

char *mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = mem_alloc(n, 1);
    if (p)
        memcpy(p, s, n);
    return p;
}
