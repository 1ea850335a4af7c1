/* FNV-1a, 64 bits: fingerprints of bytes (checkpoints, the ranks' agreement in data-parallel training). */
#ifndef HFTC_CORE_HASH_H
#define HFTC_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_START 0xcbf29ce484222325ULL

/* h (FNV1A_START to begin) continued over data[0 .. n). */
static inline uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

#endif
