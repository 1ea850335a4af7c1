/* Bidirectional LSTM: input projections by GEMM, the recurrence per (direction, batch slice) task.
 *
 * Scratch layout, per direction d: xproj[d] (B*T, 4H) holds W_ih x (b_ih is added in the time loop, so that a
 * word's projection is a row of the word cache; reused as the gradient of the gate pre-activations in the backward
 * pass, which is also the recurrent product's: no gate multiplies W_hh h alone, unlike the GRU's n), gates[d]
 * (B, 4H) one step's pre-activations, state[d] (B, H) the cell state; backward only: hprev[d] (B*T, H) the state
 * each step started from, dh[d] and dc[d] (B, H) the gradients flowing back along the sequence. Between the two
 * parts, packed[d]: W_hh packed for the pass's steps (nn/recurrent.h).
 * The cache keeps i, f, g, o, c and tanh(c) (6H) of every position. */
#include "nn/lstm.h"

#include "core/compute.h"
#include "nn/activation.h"
#include "nn/recurrent.h"

#include <string.h>

size_t lstm_scratch_size(size_t B, size_t T, size_t H, bool training)
{
    size_t forward = 2 * (B * T * 4 * H + B * 4 * H + B * H + recurrent_packed_floats(4 * H, H));
    return training ? forward + 2 * (B * T * H + 2 * B * H) : forward;
}

size_t lstm_cache_size(size_t B, size_t T, size_t H) { return 2 * B * T * 6 * H; }

typedef struct {
    float *xproj, *gates, *state, *packed, *hprev, *dh, *dc;
} lstm_scratch;

// The forward part of both directions first, so that inference needs only that.
static lstm_scratch scratch_direction(float *scratch, size_t d, size_t B, size_t T, size_t H)
{
    size_t BT = B * T, fwd = BT * 4 * H + B * 4 * H + B * H + recurrent_packed_floats(4 * H, H);
    size_t bwd = BT * H + 2 * B * H;
    lstm_scratch s;
    s.xproj = scratch + d * fwd;
    s.gates = s.xproj + BT * 4 * H;
    s.state = s.gates + B * 4 * H;
    s.packed = s.state + B * H;
    s.hprev = scratch + 2 * fwd + d * bwd;
    s.dh = s.hprev + BT * H;
    s.dc = s.dh + B * H;
    return s;
}

// One step of one document: g (4H) the recurrent product (without b_hh), turned into the pre-activations with the
// input projection x (without b_ih: bx) and bh; c the cell state (updated), h the new state; with a cache row, the
// gate values, c and tanh(c). Inlined twice (with and without a cache) so that each copy vectorises without
// conditionals.
static inline void lstm_cell(float *restrict h, float *restrict c, float *restrict cache, const float *restrict x,
                             const float *restrict g, const float *restrict bx, const float *restrict bh, size_t H)
{
#pragma omp simd
    for (size_t j = 0; j < H; j++) {
        // Summed as (x + b_ih) + (W_hh h + b_hh), as PyTorch's cell does.
        float i = act_sigmoid((x[j] + bx[j]) + (g[j] + bh[j]));
        float f = act_sigmoid((x[H + j] + bx[H + j]) + (g[H + j] + bh[H + j]));
        float gg = act_tanh((x[2 * H + j] + bx[2 * H + j]) + (g[2 * H + j] + bh[2 * H + j]));
        float o = act_sigmoid((x[3 * H + j] + bx[3 * H + j]) + (g[3 * H + j] + bh[3 * H + j]));
        float cn = f * c[j] + i * gg, tc = act_tanh(cn);
        c[j] = cn;
        h[j] = o * tc;
        if (cache) {
            cache[j] = i;
            cache[H + j] = f;
            cache[2 * H + j] = gg;
            cache[3 * H + j] = o;
            cache[4 * H + j] = cn;
            cache[5 * H + j] = tc;
        }
    }
}

// The recurrence of direction d over documents [b0, b1). The cell state starts at zero and stays so until a
// document's first step: the backward direction skips the padded positions it meets first.
static void forward_task(const compute_context *cc, float *out, float *cache, lstm_scratch s, const size_t *lengths,
                         const lstm_weights *w, const packed_matrix *w_hh_t, size_t d, size_t b0, size_t b1, size_t T,
                         size_t H)
{
    size_t H4 = 4 * H, maxL = recurrent_max_length(lengths, b0, b1), tprev;
    bool has_prev;
    recurrent_clear_padding(out, lengths, d, b0, b1, T, H);
    memset(s.state + b0 * H, 0, (b1 - b0) * H * sizeof(float));
    for (size_t step = 0; step < T; step++) {
        size_t t = recurrent_step(d, step, T, &tprev, &has_prev);
        if (t >= maxL)
            continue;
        // The state this step starts from: out at the previous position of the direction (zero past L).
        recurrent_product(cc, s.gates + b0 * H4, has_prev ? out + (b0 * T + tprev) * 2 * H + d * H : NULL, T * 2 * H,
                          w_hh_t, b1 - b0, H4);
        for (size_t b = b0; b < b1; b++) {
            if (t >= lengths[b])
                continue;
            size_t row = b * T + t;
            float *h = out + row * 2 * H + d * H, *c = s.state + b * H;
            const float *x = s.xproj + row * H4, *g = s.gates + b * H4;
            if (cache)
                lstm_cell(h, c, cache + row * 6 * H, x, g, w->b_ih, w->b_hh, H);
            else
                lstm_cell(h, c, NULL, x, g, w->b_ih, w->b_hh, H);
        }
    }
}

void lstm_forward(const compute_context *cc, float *out, float *cache, float *scratch, const float *inp,
                  const float *const *projected, const size_t *lengths, const lstm_weights w[2], size_t B, size_t T,
                  size_t E, size_t H)
{
    size_t H4 = 4 * H, BT = B * T;
    for (size_t d = 0; d < 2; d++)
        recurrent_project(cc, scratch_direction(scratch, d, B, T, H).xproj, inp, projected, d * H4, lengths, w[d].w_ih,
                          B, T, E, H4);
    packed_matrix w_hh_t[2];
    for (size_t d = 0; d < 2; d++)
        w_hh_t[d] = recurrent_pack_forward(cc, scratch_direction(scratch, d, B, T, H).packed, w[d].w_hh, H4, H);
    size_t slices = recurrent_slices(cc, B, 2), tasks = 2 * slices;
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t k = 0; k < tasks; k++) {
        size_t b0, b1, d = recurrent_task(k, slices, B, &b0, &b1);
        forward_task(cc, out, cache ? cache + d * BT * 6 * H : NULL, scratch_direction(scratch, d, B, T, H), lengths,
                     &w[d], &w_hh_t[d], d, b0, b1, T, H);
    }
}

// One step of one document backward: from the gradient reaching its state (dh + dy), the cell state's (dc,
// overwritten with the gradient reaching the previous cell state), the cached gates cr and the previous cell state cp
// (NULL: zero), the gradients of the gate pre-activations dg (4H).
static inline void lstm_cell_backward(float *restrict dg, float *restrict dc, const float *restrict dh,
                                      const float *restrict dy, const float *restrict cr, const float *restrict cp,
                                      size_t H)
{
    for (size_t j = 0; j < H; j++) {
        float i = cr[j], f = cr[H + j], g = cr[2 * H + j], o = cr[3 * H + j], tc = cr[5 * H + j];
        float dhj = dh[j] + dy[j], dct = dc[j] + dhj * o * (1.0f - tc * tc), c0 = cp ? cp[j] : 0.0f;
        dg[j] = dct * g * i * (1.0f - i);
        dg[H + j] = dct * c0 * f * (1.0f - f);
        dg[2 * H + j] = dct * i * (1.0f - g * g);
        dg[3 * H + j] = dhj * tc * o * (1.0f - o);
        dc[j] = dct * f;
    }
}

// Back-propagation through time of direction d over documents [b0, b1): fills xproj (now the gradient of the gate
// pre-activations) and hprev, row by row; padded rows are zero.
static void backward_task(const compute_context *cc, lstm_scratch s, const float *dout, const float *out,
                          const float *cache, const size_t *lengths, const packed_matrix *w_hh, size_t d, size_t b0,
                          size_t b1, size_t T, size_t H)
{
    size_t H4 = 4 * H, tprev;
    bool has_prev;
    memset(s.dh + b0 * H, 0, (b1 - b0) * H * sizeof(float));
    memset(s.dc + b0 * H, 0, (b1 - b0) * H * sizeof(float));
    for (size_t step = T; step-- > 0;) {
        size_t t = recurrent_step(d, step, T, &tprev, &has_prev);
        for (size_t b = b0; b < b1; b++) {
            size_t row = b * T + t;
            float *dg = s.xproj + row * H4, *hprev = s.hprev + row * H;
            if (t >= lengths[b]) {
                memset(dg, 0, H4 * sizeof(float));
                memset(hprev, 0, H * sizeof(float));
                continue;
            }
            // The previous cell state is the cache's at tprev, unless that is padding (the backward direction's
            // first step) or there is none.
            bool prev_valid = has_prev && tprev < lengths[b];
            const float *cp = prev_valid ? cache + (b * T + tprev) * 6 * H + 4 * H : NULL;
            lstm_cell_backward(dg, s.dc + b * H, s.dh + b * H, dout + row * 2 * H + d * H, cache + row * 6 * H, cp, H);
            if (has_prev)
                memcpy(hprev, out + (b * T + tprev) * 2 * H + d * H, H * sizeof(float));
            else
                memset(hprev, 0, H * sizeof(float));
        }
        // The gradient reaching the previous state, through W_hh only (rows of finished documents are zero).
        if (has_prev)
            gemm_packed(cc, b1 - b0, s.xproj + (b0 * T + t) * H4, T * H4, w_hh, 0.0f, s.dh + b0 * H, H);
    }
}

void lstm_backward(const compute_context *cc, float *dinp, const lstm_grads g[2], const float *dout, const float *out,
                   const float *cache, float *scratch, const float *inp, const size_t *lengths, const lstm_weights w[2],
                   size_t B, size_t T, size_t E, size_t H)
{
    size_t H4 = 4 * H, BT = B * T, slices = recurrent_slices(cc, B, 2), tasks = 2 * slices;
    packed_matrix w_hh[2];
    for (size_t d = 0; d < 2; d++)
        w_hh[d] = recurrent_pack_backward(cc, scratch_direction(scratch, d, B, T, H).packed, w[d].w_hh, H4, H);
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t k = 0; k < tasks; k++) {
        size_t b0, b1, d = recurrent_task(k, slices, B, &b0, &b1);
        backward_task(cc, scratch_direction(scratch, d, B, T, H), dout, out, cache + d * BT * 6 * H, lengths, &w_hh[d],
                      d, b0, b1, T, H);
    }
    for (size_t d = 0; d < 2; d++) {
        lstm_scratch s = scratch_direction(scratch, d, B, T, H);
        recurrent_weight_grads(cc, dinp, g[d].w_ih, g[d].w_hh, g[d].b_ih, g[d].b_hh, s.xproj, s.xproj, s.hprev, inp,
                               w[d].w_ih, BT, E, H, H4);
    }
}
