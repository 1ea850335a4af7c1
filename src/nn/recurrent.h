/* What the recurrent layers (gru.c, lstm.c, onlstm.c) share: how a batch is split among the threads, the
 * longest document of a slice, and the two products outside the time loop (the input projections, the
 * weight gradients). */
#ifndef HFTC_NN_RECURRENT_H
#define HFTC_NN_RECURRENT_H

#include "core/compute.h"
#include "core/packed_gemm.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

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

/* Task k of a bidirectional layer's 2 x slices tasks (the two directions of each batch slice): its direction (the
 * return value) and its documents [*b0, *b1). */
static inline size_t recurrent_task(size_t k, size_t slices, size_t B, size_t *b0, size_t *b1)
{
    *b0 = k / 2 * B / slices, *b1 = (k / 2 + 1) * B / slices;
    return k % 2;
}

/* The position of a bidirectional layer's step (d 0: t = step, 1: t = T-1-step); *tprev the position of the step
 * before it in the direction's order and *has_prev whether there is one. A document's states are zero past its
 * length, so the backward direction's first step (at L-1 < T-1) starts from zeros there. */
static inline size_t recurrent_step(size_t d, size_t step, size_t T, size_t *tprev, bool *has_prev)
{
    size_t t = d ? T - 1 - step : step;
    *has_prev = d ? t + 1 < T : t > 0;
    *tprev = d ? t + 1 : t - 1;
    return t;
}

/* Direction d's H columns of out (B, T, 2H) set to zero at the padded positions of documents [b0, b1). */
static inline void recurrent_clear_padding(float *out, const size_t *lengths, size_t d, size_t b0, size_t b1, size_t T,
                                           size_t H)
{
    for (size_t b = b0; b < b1; b++)
        for (size_t t = lengths[b]; t < T; t++)
            memset(out + (b * T + t) * 2 * H + d * H, 0, H * sizeof(float));
}

/* Floats of scratch for one W_hh (G, H) packed for a pass's steps (core/packed_gemm.h): the forward pass packs W_hh^T
 * (recurrent_pack_forward), the backward pass W_hh (recurrent_pack_backward) into the same place. Packed once a pass,
 * where OpenBLAS would pack it again at each of the T steps. */
static inline size_t recurrent_packed_floats(size_t G, size_t H)
{
    size_t forward = packed_matrix_floats(H, G), backward = packed_matrix_floats(G, H);
    return forward > backward ? forward : backward;
}

static inline packed_matrix recurrent_pack_forward(const compute_context *cc, float *storage, const float *w_hh,
                                                   size_t G, size_t H)
{
    return pack_matrix(cc, storage, w_hh, H, true, H, G);
}

static inline packed_matrix recurrent_pack_backward(const compute_context *cc, float *storage, const float *w_hh,
                                                    size_t G, size_t H)
{
    return pack_matrix(cc, storage, w_hh, H, false, G, H);
}

/* One step's recurrent products gates (rows, G) = hp (rows of H at stride ld) x W_hh^T (packed by
 * recurrent_pack_forward); zero without a previous state (hp NULL). */
static inline void recurrent_product(const compute_context *cc, float *gates, const float *hp, size_t ld,
                                     const packed_matrix *w_hh_t, size_t rows, size_t G)
{
    if (hp)
        gemm_packed(cc, rows, hp, ld, w_hh_t, 0.0f, gates, G);
    else
        memset(gates, 0, rows * G * sizeof(float));
}

/* One direction's input projections W_ih x (B*T, G) into xproj: one GEMM over every row, or with the word cache's
 * products (projected, not NULL) each valid row's G columns at offset copied (padded rows are never read). */
static inline void recurrent_project(const compute_context *cc, float *xproj, const float *inp,
                                     const float *const *projected, size_t offset, const size_t *lengths,
                                     const float *w_ih, size_t B, size_t T, size_t E, size_t G)
{
    if (!projected) {
        gemm(cc, false, true, B * T, G, E, 1.0f, inp, E, w_ih, E, 0.0f, xproj, G);
        return;
    }
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < lengths[b]; t++)
            memcpy(xproj + (b * T + t) * G, projected[b * T + t] + offset, G * sizeof(float));
}

/* One direction's weight gradients, added into those given (NULL: skipped), and the input's into dinp (NULL:
 * skipped): dgx (B*T, G) the gradients of the input projection and dgh of the recurrent product (the same buffer
 * where they are equal), hprev (B*T, H) the state each step started from, padded rows zero. */
static inline void recurrent_weight_grads(const compute_context *cc, float *dinp, float *dw_ih, float *dw_hh,
                                          float *db_ih, float *db_hh, const float *dgx, const float *dgh,
                                          const float *hprev, const float *inp, const float *w_ih, size_t BT, size_t E,
                                          size_t H, size_t G)
{
    if (dw_hh)
        gemm(cc, true, false, G, H, BT, 1.0f, dgh, G, hprev, H, 1.0f, dw_hh, H);
    if (db_hh)
        add_column_sums(db_hh, dgh, BT, G);
    if (dw_ih)
        gemm(cc, true, false, G, E, BT, 1.0f, dgx, G, inp, E, 1.0f, dw_ih, E);
    if (db_ih)
        add_column_sums(db_ih, dgx, BT, G);
    if (dinp)
        gemm(cc, false, false, BT, E, G, 1.0f, dgx, G, w_ih, E, 1.0f, dinp, E);
}

#endif
