/* Bidirectional GRU: input projections by GEMM, the recurrence per (direction, batch slice) task.
 *
 * Scratch layout, per direction d: xproj[d] (B*T, 3H) holds W_ih x (b_ih is added in the time loop, so
 * that a word's projection is a row of the word cache; xproj is reused as the gradient of
 * the input projection in the backward pass), gh[d] (B, 3H) the recurrent product of one step;
 * backward only: dgh[d] (B*T, 3H) the gradients of the recurrent products, hprev[d] (B*T, H) the
 * state each step started from, dh[d] (B, H) the gradient flowing back along the sequence. Between the two parts,
 * packed[d]: W_hh packed for the pass's steps (nn/recurrent.h).
 * The cache keeps r, z, n and W_hn h + b_hn (4H) of every position. */
#include "nn/gru.h"

#include "core/compute.h"
#include "nn/activation.h"
#include "nn/recurrent.h"

#include <math.h>
#include <string.h>

size_t gru_scratch_size(size_t B, size_t T, size_t H, bool training)
{
    size_t forward = 2 * (B * T * 3 * H + B * 3 * H + recurrent_packed_floats(3 * H, H));
    return training ? forward + 2 * (B * T * 4 * H + B * H) : forward;
}

size_t gru_cache_size(size_t B, size_t T, size_t H) { return 2 * B * T * 4 * H; }

typedef struct {
    float *xproj, *gh, *packed, *dgh, *hprev, *dh;
} gru_scratch;

// The forward part (xproj, gh of both directions) first, so that inference needs only that.
static gru_scratch scratch_direction(float *scratch, size_t d, size_t B, size_t T, size_t H)
{
    size_t BT = B * T, packed = recurrent_packed_floats(3 * H, H), forward = 2 * (BT * 3 * H + B * 3 * H + packed);
    gru_scratch s;
    s.xproj = scratch + d * BT * 3 * H;
    s.gh = scratch + 2 * BT * 3 * H + d * B * 3 * H;
    s.packed = scratch + 2 * (BT * 3 * H + B * 3 * H) + d * packed;
    s.dgh = scratch + forward + d * BT * 3 * H;
    s.hprev = scratch + forward + 2 * BT * 3 * H + d * BT * H;
    s.dh = scratch + forward + 2 * BT * 4 * H + d * B * H;
    return s;
}

// One step of one document: the state h from the input projection x (without b_ih: bx), the recurrent
// product g (without b_hh: bh) and the previous state hp; with a cache, r, z, n and W_hn h + b_hn kept for backward.
// Inlined twice (with and without a cache) so that each copy vectorises without conditionals.
static inline void gru_cell(float *restrict h, float *restrict cache, const float *restrict x, const float *restrict g,
                            const float *restrict bx, const float *restrict bh, const float *restrict hp, size_t H)
{
#pragma omp simd
    for (size_t j = 0; j < H; j++) {
        float ghn = g[2 * H + j] + bh[2 * H + j];
        float r = act_sigmoid(x[j] + bx[j] + g[j] + bh[j]);
        float z = act_sigmoid(x[H + j] + bx[H + j] + g[H + j] + bh[H + j]);
        float n = act_tanh(x[2 * H + j] + bx[2 * H + j] + r * ghn);
        h[j] = (1.0f - z) * n + z * hp[j];
        if (cache) {
            cache[j] = r;
            cache[H + j] = z;
            cache[2 * H + j] = n;
            cache[3 * H + j] = ghn;
        }
    }
}

// The recurrence of direction d over documents [b0, b1).
static void forward_task(const compute_context *cc, float *out, float *cache, gru_scratch s, const size_t *lengths,
                         const gru_weights *w, const packed_matrix *w_hh_t, size_t d, size_t b0, size_t b1, size_t T,
                         size_t H)
{
    size_t H3 = 3 * H, maxL = recurrent_max_length(lengths, b0, b1), tprev;
    bool has_prev;
    recurrent_clear_padding(out, lengths, d, b0, b1, T, H);
    for (size_t step = 0; step < T; step++) {
        size_t t = recurrent_step(d, step, T, &tprev, &has_prev);
        if (t >= maxL)
            continue;
        // The state this step starts from: out at the previous position of the direction (zero past L). Without
        // one, a zero recurrent product, and that zero row serves as the state.
        recurrent_product(cc, s.gh + b0 * H3, has_prev ? out + (b0 * T + tprev) * 2 * H + d * H : NULL, T * 2 * H,
                          w_hh_t, b1 - b0, H3);
        for (size_t b = b0; b < b1; b++) {
            if (t >= lengths[b])
                continue;
            const float *g = s.gh + b * H3;
            const float *hp = has_prev ? out + (b * T + tprev) * 2 * H + d * H : g;
            float *h = out + (b * T + t) * 2 * H + d * H;
            if (cache)
                gru_cell(h, cache + (b * T + t) * 4 * H, s.xproj + (b * T + t) * H3, g, w->b_ih, w->b_hh, hp, H);
            else
                gru_cell(h, NULL, s.xproj + (b * T + t) * H3, g, w->b_ih, w->b_hh, hp, H);
        }
    }
}

void gru_forward(const compute_context *cc, float *out, float *cache, float *scratch, const float *inp,
                 const float *const *projected, const size_t *lengths, const gru_weights w[2], size_t B, size_t T,
                 size_t E, size_t H)
{
    size_t H3 = 3 * H, BT = B * T;
    for (size_t d = 0; d < 2; d++)
        recurrent_project(cc, scratch_direction(scratch, d, B, T, H).xproj, inp, projected, d * H3, lengths, w[d].w_ih,
                          B, T, E, H3);
    packed_matrix w_hh_t[2];
    for (size_t d = 0; d < 2; d++)
        w_hh_t[d] = recurrent_pack_forward(cc, scratch_direction(scratch, d, B, T, H).packed, w[d].w_hh, H3, H);
    size_t slices = recurrent_slices(cc, B, 2), tasks = 2 * slices;
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t k = 0; k < tasks; k++) {
        size_t b0, b1, d = recurrent_task(k, slices, B, &b0, &b1);
        forward_task(cc, out, cache ? cache + d * BT * 4 * H : NULL, scratch_direction(scratch, d, B, T, H), lengths,
                     &w[d], &w_hh_t[d], d, b0, b1, T, H);
    }
}

// One step of one document backward: from the gradient reaching its state (dh + dy) and the cached gates
// c, the gradients of the input projection dgx and of the recurrent product dgh, the state hprev it started
// from (hp, or zeros without one: hp NULL) and the gradient reaching that state directly (dh, overwritten;
// what flows through W_hh is added by the caller). Inlined twice (with and without hp) so that each copy
// vectorises without conditionals.
static inline void gru_cell_backward(float *restrict dgx, float *restrict dgh, float *restrict hprev,
                                     float *restrict dh, const float *restrict c, const float *restrict dy,
                                     const float *restrict hp, size_t H)
{
#pragma omp simd
    for (size_t j = 0; j < H; j++) {
        float r = c[j], z = c[H + j], n = c[2 * H + j], ghn = c[3 * H + j], h0 = hp ? hp[j] : 0.0f;
        float g = dh[j] + dy[j];
        float dn = g * (1.0f - z) * (1.0f - n * n);
        float dz = g * (h0 - n) * z * (1.0f - z);
        float dr = dn * ghn * r * (1.0f - r);
        dgx[j] = dr;
        dgx[H + j] = dz;
        dgx[2 * H + j] = dn;
        dgh[j] = dr;
        dgh[H + j] = dz;
        dgh[2 * H + j] = dn * r;
        dh[j] = g * z;
        hprev[j] = h0;
    }
}

// Back-propagation through time of direction d over documents [b0, b1): fills xproj (now the
// gradient of the input projection), dgh and hprev, row by row; padded rows are zero.
static void backward_task(const compute_context *cc, gru_scratch s, const float *dout, const float *out,
                          const float *cache, const size_t *lengths, const packed_matrix *w_hh, size_t d, size_t b0,
                          size_t b1, size_t T, size_t H)
{
    size_t H3 = 3 * H, tprev;
    bool has_prev;
    memset(s.dh + b0 * H, 0, (b1 - b0) * H * sizeof(float));
    for (size_t step = T; step-- > 0;) {
        size_t t = recurrent_step(d, step, T, &tprev, &has_prev);
        for (size_t b = b0; b < b1; b++) {
            size_t row = b * T + t;
            float *dgx = s.xproj + row * H3, *dgh = s.dgh + row * H3, *hprev = s.hprev + row * H;
            if (t >= lengths[b]) {
                memset(dgx, 0, H3 * sizeof(float));
                memset(dgh, 0, H3 * sizeof(float));
                memset(hprev, 0, H * sizeof(float));
                continue;
            }
            const float *c = cache + row * 4 * H, *dy = dout + row * 2 * H + d * H;
            const float *hp = has_prev ? out + (b * T + tprev) * 2 * H + d * H : NULL;
            if (hp)
                gru_cell_backward(dgx, dgh, hprev, s.dh + b * H, c, dy, hp, H);
            else
                gru_cell_backward(dgx, dgh, hprev, s.dh + b * H, c, dy, NULL, H);
        }
        // The gradient reaching the previous state through W_hh (rows of finished documents are zero).
        if (has_prev)
            gemm_packed(cc, b1 - b0, s.dgh + (b0 * T + t) * H3, T * H3, w_hh, 1.0f, s.dh + b0 * H, H);
    }
}

void gru_backward(const compute_context *cc, float *dinp, const gru_grads g[2], const float *dout, const float *out,
                  const float *cache, float *scratch, const float *inp, const size_t *lengths, const gru_weights w[2],
                  size_t B, size_t T, size_t E, size_t H)
{
    size_t H3 = 3 * H, BT = B * T, slices = recurrent_slices(cc, B, 2), tasks = 2 * slices;
    packed_matrix w_hh[2];
    for (size_t d = 0; d < 2; d++)
        w_hh[d] = recurrent_pack_backward(cc, scratch_direction(scratch, d, B, T, H).packed, w[d].w_hh, H3, H);
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t k = 0; k < tasks; k++) {
        size_t b0, b1, d = recurrent_task(k, slices, B, &b0, &b1);
        backward_task(cc, scratch_direction(scratch, d, B, T, H), dout, out, cache + d * BT * 4 * H, lengths, &w_hh[d],
                      d, b0, b1, T, H);
    }
    for (size_t d = 0; d < 2; d++) {
        gru_scratch s = scratch_direction(scratch, d, B, T, H);
        recurrent_weight_grads(cc, dinp, g[d].w_ih, g[d].w_hh, g[d].b_ih, g[d].b_hh, s.xproj, s.dgh, s.hprev, inp,
                               w[d].w_ih, BT, E, H, H3);
    }
}
