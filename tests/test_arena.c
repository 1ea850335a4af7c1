/* Tests for arenas: a planned size is what the pieces take, pieces are aligned, zeroed and apart, for
 * small arenas (malloc) and large ones (pages of their own); freeing a large arena gives its memory back
 * to the system at once. */
#include "core/arena.h"

#include "test.h"

#include <stdint.h>

// Plans three pieces on a, then sizes it and hands them out again: the same plan both times.
static void carve(arena *a, float **x, uint32_t **y, char **z, size_t n)
{
    *x = arena_floats(a, n);
    *y = arena_alloc(a, n / 2 + 1, sizeof(uint32_t));
    *z = arena_alloc(a, 3, 1);
}

static void check_arena(size_t n)
{
    arena a = {0};
    float *x;
    uint32_t *y;
    char *z;
    carve(&a, &x, &y, &z, n);
    CHECK(x == NULL && y == NULL && z == NULL); /* planning hands out nothing */
    size_t planned = a.used;
    CHECK_STATUS(arena_init(&a, planned), HFTC_STATUS_OK);
    CHECK(a.size >= planned && a.used == 0 && a.base);
    CHECK(a.mapped == (a.size >= ARENA_MAP_BYTES));
    carve(&a, &x, &y, &z, n);
    CHECK(a.used == planned);
    CHECK((uintptr_t)x % ARENA_ALIGN == 0 && (uintptr_t)y % ARENA_ALIGN == 0 && (uintptr_t)z % ARENA_ALIGN == 0);
    CHECK((char *)x + n * sizeof *x <= (char *)y && (char *)y + (n / 2 + 1) * sizeof *y <= z);
    size_t nonzero = 0;
    for (size_t i = 0; i < a.size; i++)
        nonzero += a.base[i] != 0;
    CHECK_MSG(nonzero == 0, "%zu of %zu bytes not zeroed", nonzero, a.size);
    memset(a.base, 0x5a, a.size); /* every byte of the size is writable */
    arena_free(&a);
    CHECK(a.base == NULL && a.size == 0 && a.used == 0);
    arena_free(&a); /* harmless on a freed arena */
}

static void test_small_and_large(void)
{
    check_arena(10);
    check_arena(ARENA_MAP_BYTES / sizeof(float) / 2); /* just under the size that gets its own pages */
    check_arena(3 * ARENA_MAP_BYTES / sizeof(float)); /* its own pages */
    arena empty = {0};
    CHECK_STATUS(arena_init(&empty, 0), HFTC_STATUS_OK);
    CHECK(empty.base == NULL);
    arena_free(&empty);
}

// The process's resident memory in KiB (/proc/self/status), or -1 where there is none.
static long resident_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

/* Freeing a large arena returns its pages, also when small allocations made while it lived are kept:
 * from malloc's heap they could keep it (node training held several times the memory it used). */
static void test_large_freed_to_system(void)
{
    if (resident_kib() < 0) {
        printf("SKIP test_large_freed_to_system: no /proc/self/status\n");
        return;
    }
    enum { ROUNDS = 8, KEPT = 64 };
    size_t bytes = 16 * ARENA_MAP_BYTES; /* under glibc's largest mmap threshold (32 MiB) */
    void *kept[ROUNDS * KEPT];
    for (int r = 0; r < ROUNDS; r++) {
        arena a = {0};
        CHECK_STATUS(arena_init(&a, bytes), HFTC_STATUS_OK);
        if (!a.base)
            return;
        memset(a.base, 1, a.size);
        for (int i = 0; i < KEPT; i++) /* small records that outlive the arena */
            kept[r * KEPT + i] = malloc(48 + (size_t)i * 8);
        long with = resident_kib();
        arena_free(&a);
        long after = resident_kib();
        CHECK_MSG(with - after >= (long)(bytes / 1024) * 9 / 10, "round %d: %ld KiB resident with the arena, %ld after",
                  r, with, after);
    }
    for (int i = 0; i < ROUNDS * KEPT; i++)
        free(kept[i]);
}

int main(void)
{
    RUN_TEST(test_small_and_large);
    RUN_TEST(test_large_freed_to_system);
    TEST_MAIN_END();
}
