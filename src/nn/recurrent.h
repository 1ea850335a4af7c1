/* What the recurrent layers (gru.c, onlstm.c) share: how a batch is split among the threads, and the
 * longest document of a slice. */
#ifndef HFTC_NN_RECURRENT_H
#define HFTC_NN_RECURRENT_H

#include "core/compute.h"

#include <stddef.h>

/* The number of batch slices for cc when each slice occupies threads_per_slice threads (a BiGRU slice runs
 * its two directions as two tasks): at least one, and each slice at least two documents when B >= 2.
 * A one-row product takes gemm's matrix-vector path, which sums in another order, so only a batch of
 * one may take it: with this, results are bit-identical at any thread count where the GEMM kernels
 * round a row alike wherever it falls in a product (OpenBLAS's AVX-512 kernels mostly do). */
static inline size_t recurrent_slices(const compute_context *cc, size_t B, size_t threads_per_slice)
{
    size_t slices = (size_t)(cc->slicing ? cc->slicing : cc->threads) / threads_per_slice, most = B >= 2 ? B / 2 : 1;
    slices = slices ? slices : 1;
    return slices < most ? slices : most;
}

/* The longest of lengths[b0 .. b1). */
static inline size_t recurrent_max_length(const size_t *lengths, size_t b0, size_t b1)
{
    size_t m = 0;
    for (size_t b = b0; b < b1; b++)
        m = lengths[b] > m ? lengths[b] : m;
    return m;
}

#endif
