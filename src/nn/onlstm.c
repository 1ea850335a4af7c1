/* Ordered-neurons LSTM: input projection by GEMM, the recurrence per batch-slice task.
 *
 * Scratch layout: xproj (B*T, G) holds W_ih x, the biases added in the time loop (reused as the gradient of the gate
 * pre-activations in the backward pass), gates (B, G) one step's pre-activations, then the master
 * gates' cumax, state (B, H) the cell state, master (B, 2H) the master gates spread over their units;
 * backward only: hprev (B*T, H) the state each step started from, dh and dc (B, H) the gradients
 * flowing back along the sequence, dmaster (B, 2H) per unit gradients of the master gates. Between the two parts,
 * packed: W_hh packed for the pass's steps (nn/recurrent.h).
 * The cache keeps, per position, the master gates' softmax (2K), o, c^, i, f, c and tanh(c) (6H). */
#include "nn/onlstm.h"

#include "core/compute.h"
#include "nn/activation.h"
#include "nn/recurrent.h"

#include <omp.h>
#include <string.h>

size_t onlstm_gates(size_t H, size_t chunk) { return 2 * (H / chunk) + 4 * H; }

bool onlstm_splits_steps(size_t H, size_t chunk) { return onlstm_gates(H, chunk) * H * sizeof(float) >= (1u << 20); }

size_t onlstm_scratch_size(size_t B, size_t T, size_t H, size_t chunk, bool training)
{
    size_t G = onlstm_gates(H, chunk), forward = B * T * G + B * G + B * H + B * 2 * H + recurrent_packed_floats(G, H);
    return training ? forward + B * T * H + 2 * B * H + B * 2 * H : forward;
}

static size_t cache_row(size_t H, size_t chunk) { return 2 * (H / chunk) + 6 * H; }

size_t onlstm_cache_size(size_t B, size_t T, size_t H, size_t chunk) { return B * T * cache_row(H, chunk); }

typedef struct {
    float *xproj, *gates, *state, *master, *packed, *hprev, *dh, *dc, *dmaster;
} onlstm_scratch;

static onlstm_scratch scratch_parts(float *scratch, size_t B, size_t T, size_t H, size_t chunk)
{
    size_t G = onlstm_gates(H, chunk);
    onlstm_scratch s;
    s.xproj = scratch;
    s.gates = s.xproj + B * T * G;
    s.state = s.gates + B * G;
    s.master = s.state + B * H;
    s.packed = s.master + B * 2 * H;
    s.hprev = s.packed + recurrent_packed_floats(G, H);
    s.dh = s.hprev + B * T * H;
    s.dc = s.dh + B * H;
    s.dmaster = s.dc + B * H;
    return s;
}

// In place: x (K) becomes softmax(x).
static void softmax_inplace(float *x, size_t K)
{
    float top = x[0], sum = 0.0f;
    for (size_t k = 1; k < K; k++)
        top = x[k] > top ? x[k] : top;
    for (size_t k = 0; k < K; k++)
        sum += x[k] = act_exp(x[k] - top);
    for (size_t k = 0; k < K; k++)
        x[k] /= sum;
}

// The master gates of one position from their softmax values, each chunk's value spread over its units
// (master: mi (H) then mf (H)): mf = cumsum(smf); mi = 1 - cumsum(smi), summed as the tail
// smi[k+1] + ... + smi[K-1], which is the same without the cancellation (the last chunk's mi is 0).
static void spread_master(float *master, const float *smi, const float *smf, size_t H, size_t chunk)
{
    float tail = 0.0f, head = 0.0f;
    for (size_t k = H / chunk; k-- > 0;) {
        for (size_t j = k * chunk; j < (k + 1) * chunk; j++)
            master[j] = tail;
        tail += smi[k];
    }
    for (size_t k = 0; k < H / chunk; k++) {
        head += smf[k];
        for (size_t j = k * chunk; j < (k + 1) * chunk; j++)
            master[H + j] = head;
    }
}

// One step of one document: g (G) the gate pre-activations, master the spread master gates, c the cell
// state (updated), h the new state; with a cache row, the gate values, c and tanh(c).
static inline void onlstm_cell(float *restrict h, float *restrict c, float *restrict cache, const float *restrict g,
                               const float *restrict master, size_t H)
{
#pragma omp simd
    for (size_t j = 0; j < H; j++) {
        float o = act_sigmoid(g[j]), ch = act_tanh(g[H + j]), i = act_sigmoid(g[2 * H + j]);
        float f = act_sigmoid(g[3 * H + j]), mi = master[j], mf = master[H + j], w = mf * mi;
        float cn = (f * w + mf - w) * c[j] + (i * w + mi - w) * ch, tc = act_tanh(cn);
        c[j] = cn;
        h[j] = o * tc;
        if (cache) {
            cache[j] = o;
            cache[H + j] = ch;
            cache[2 * H + j] = i;
            cache[3 * H + j] = f;
            cache[4 * H + j] = cn;
            cache[5 * H + j] = tc;
        }
    }
}

// g (the recurrent product) += x (the input product) + b_ih + b_hh: the pre-activations, summed as
// (x + b_ih) + b_hh as PyTorch's layers do.
static inline void add_gate_inputs(float *restrict g, const float *restrict x, const float *restrict b_ih,
                                   const float *restrict b_hh, size_t G)
{
#pragma omp simd
    for (size_t k = 0; k < G; k++)
        g[k] += (x[k] + b_ih[k]) + b_hh[k];
}

// Step t's cell updates of documents [b0, b1), their recurrent products in s.gates.
static void step_cells(float *out, float *cache, onlstm_scratch s, const size_t *lengths, const onlstm_weights *w,
                       size_t b0, size_t b1, size_t t, size_t T, size_t H, size_t chunk)
{
    size_t K = H / chunk, G = onlstm_gates(H, chunk), C = cache_row(H, chunk);
    for (size_t b = b0; b < b1; b++) {
        if (t >= lengths[b])
            continue;
        float *g = s.gates + b * G, *master = s.master + b * 2 * H;
        add_gate_inputs(g, s.xproj + (b * T + t) * G, w->b_ih, w->b_hh, G);
        softmax_inplace(g, K);
        softmax_inplace(g + K, K);
        float *row = cache ? cache + (b * T + t) * C : NULL;
        if (row)
            memcpy(row, g, 2 * K * sizeof(float));
        spread_master(master, g, g + K, H, chunk);
        float *h = out + (b * T + t) * H, *c = s.state + b * H;
        if (row)
            onlstm_cell(h, c, row + 2 * K, g + 2 * K, master, H);
        else
            onlstm_cell(h, c, NULL, g + 2 * K, master, H);
    }
}

// Step t's recurrent products of documents [b0, b1), gate columns [g0, g1) of G, on cc's threads.
static void step_products(const compute_context *cc, float *out, onlstm_scratch s, const onlstm_weights *w, size_t b0,
                          size_t b1, size_t g0, size_t g1, size_t t, size_t T, size_t H, size_t G)
{
    if (t > 0)
        gemm(cc, false, true, b1 - b0, g1 - g0, H, 1.0f, out + (b0 * T + t - 1) * H, T * H, w->w_hh + g0 * H, H, 0.0f,
             s.gates + b0 * G + g0, G);
    else
        for (size_t b = b0; b < b1; b++)
            memset(s.gates + b * G + g0, 0, (g1 - g0) * sizeof(float));
}

static void clear_state(float *out, onlstm_scratch s, const size_t *lengths, size_t b0, size_t b1, size_t T, size_t H)
{
    for (size_t b = b0; b < b1; b++)
        for (size_t t = lengths[b]; t < T; t++)
            memset(out + (b * T + t) * H, 0, H * sizeof(float));
    memset(s.state + b0 * H, 0, (b1 - b0) * H * sizeof(float));
}

// The recurrence over documents [b0, b1), w_hh_t W_hh^T packed.
static void forward_task(const compute_context *cc, float *out, float *cache, onlstm_scratch s, const size_t *lengths,
                         const onlstm_weights *w, const packed_matrix *w_hh_t, size_t b0, size_t b1, size_t T, size_t H,
                         size_t chunk)
{
    size_t G = onlstm_gates(H, chunk), maxL = recurrent_max_length(lengths, b0, b1);
    clear_state(out, s, lengths, b0, b1, T, H);
    for (size_t t = 0; t < maxL; t++) {
        if (t > 0)
            gemm_packed(cc, b1 - b0, out + (b0 * T + t - 1) * H, T * H, w_hh_t, 0.0f, s.gates + b0 * G, G);
        else
            memset(s.gates + b0 * G, 0, (b1 - b0) * G * sizeof(float));
        step_cells(out, cache, s, lengths, w, b0, b1, t, T, H, chunk);
    }
}

// The recurrence of all B documents in one slice with each step's recurrent product split by gate columns over cc's
// threads (a batch too small to slice: one document, as a server predicts it). Each thread reads its share of w_hh
// once a step, where one thread would read all of it: the product is bound by the weights' traffic from the L3 cache
// (4.2 MB at H = 500). One thread updates the cells between the products.
static void forward_columns(const compute_context *cc, float *out, float *cache, onlstm_scratch s,
                            const size_t *lengths, const onlstm_weights *w, size_t B, size_t T, size_t H, size_t chunk)
{
    size_t G = onlstm_gates(H, chunk), maxL = recurrent_max_length(lengths, 0, B);
    compute_context one = compute_context_of(1);
    clear_state(out, s, lengths, 0, B, T, H);
#pragma omp parallel num_threads(cc->threads)
    {
        size_t n = (size_t)omp_get_num_threads(), k = (size_t)omp_get_thread_num();
        for (size_t t = 0; t < maxL; t++) {
            step_products(&one, out, s, w, 0, B, G * k / n, G * (k + 1) / n, t, T, H, G);
#pragma omp barrier
#pragma omp single
            step_cells(out, cache, s, lengths, w, 0, B, t, T, H, chunk);
        }
    }
}

void onlstm_forward(const compute_context *cc, float *out, float *cache, float *scratch, const float *inp,
                    const float *const *projected, const size_t *lengths, const onlstm_weights *w, size_t B, size_t T,
                    size_t E, size_t H, size_t chunk)
{
    size_t G = onlstm_gates(H, chunk);
    onlstm_scratch s = scratch_parts(scratch, B, T, H, chunk);
    recurrent_project(cc, s.xproj, inp, projected, 0, lengths, w->w_ih, B, T, E, G);
    size_t slices = recurrent_slices(cc, B, 1);
    if (slices == 1 && cc->threads > 1 && !omp_in_parallel() && onlstm_splits_steps(H, chunk)) {
        forward_columns(cc, out, cache, s, lengths, w, B, T, H, chunk);
        return;
    }
    packed_matrix w_hh_t = recurrent_pack_forward(cc, s.packed, w->w_hh, G, H);
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t k = 0; k < slices; k++)
        forward_task(cc, out, cache, s, lengths, w, &w_hh_t, k * B / slices, (k + 1) * B / slices, T, H, chunk);
}

// The master gates' gradient: dspread (H, per unit) summed per chunk into D (K), then back through the
// sums into d softmax: sum of D[k] over the chunks k >= m that include softmax m (mf, a cumsum) or over
// k < m (mi, the tail sums), then through the softmax sm (K) into dpre (K).
static void master_backward(float *dpre, const float *dspread, const float *sm, bool tail, size_t H, size_t chunk)
{
    size_t K = H / chunk;
    for (size_t k = 0; k < K; k++) {
        dpre[k] = 0.0f;
        for (size_t j = k * chunk; j < (k + 1) * chunk; j++)
            dpre[k] += dspread[j];
    }
    float run = 0.0f, dot = 0.0f;
    if (tail)
        for (size_t k = 0; k < K; k++) {
            float d = dpre[k];
            dpre[k] = run;
            run += d;
        }
    else
        for (size_t k = K; k-- > 0;)
            dpre[k] = run += dpre[k];
    for (size_t k = 0; k < K; k++)
        dot += sm[k] * dpre[k];
    for (size_t k = 0; k < K; k++)
        dpre[k] = sm[k] * (dpre[k] - dot);
}

// Back-propagation through time over documents [b0, b1): fills xproj (now the gradient of the gate
// pre-activations) and hprev, row by row; padded rows are zero.
static void backward_task(const compute_context *cc, onlstm_scratch s, const float *dout, const float *out,
                          const float *cache, const size_t *lengths, const packed_matrix *w_hh, size_t b0, size_t b1,
                          size_t T, size_t H, size_t chunk)
{
    size_t K = H / chunk, G = onlstm_gates(H, chunk), C = cache_row(H, chunk);
    memset(s.dh + b0 * H, 0, (b1 - b0) * H * sizeof(float));
    memset(s.dc + b0 * H, 0, (b1 - b0) * H * sizeof(float));
    for (size_t t = T; t-- > 0;) {
        for (size_t b = b0; b < b1; b++) {
            size_t row = b * T + t;
            float *dg = s.xproj + row * G, *hprev = s.hprev + row * H;
            if (t >= lengths[b]) {
                memset(dg, 0, G * sizeof(float));
                memset(hprev, 0, H * sizeof(float));
                continue;
            }
            const float *cr = cache + row * C, *gate = cr + 2 * K, *dy = dout + row * H;
            const float *cprev = t > 0 ? cache + (row - 1) * C + 2 * K + 4 * H : NULL;
            float *dh = s.dh + b * H, *dc = s.dc + b * H, *master = s.master + b * 2 * H;
            float *dmi = s.dmaster + b * 2 * H, *dmf = dmi + H;
            spread_master(master, cr, cr + K, H, chunk);
            for (size_t j = 0; j < H; j++) {
                float o = gate[j], ch = gate[H + j], i = gate[2 * H + j], f = gate[3 * H + j], tc = gate[5 * H + j];
                float mi = master[j], mf = master[H + j], om = mf * mi, cp = cprev ? cprev[j] : 0.0f;
                float F = f * om + mf - om, I = i * om + mi - om;
                float dhj = dh[j] + dy[j], dct = dc[j] + dhj * o * (1.0f - tc * tc);
                float dF = dct * cp, dI = dct * ch, dom = dF * (f - 1.0f) + dI * (i - 1.0f);
                dg[2 * K + j] = dhj * tc * o * (1.0f - o);
                dg[2 * K + H + j] = dct * I * (1.0f - ch * ch);
                dg[2 * K + 2 * H + j] = dI * om * i * (1.0f - i);
                dg[2 * K + 3 * H + j] = dF * om * f * (1.0f - f);
                dmi[j] = dI + dom * mf;
                dmf[j] = dF + dom * mi;
                dc[j] = dct * F;
                hprev[j] = t > 0 ? out[(row - 1) * H + j] : 0.0f;
            }
            master_backward(dg, dmi, cr, true, H, chunk);
            master_backward(dg + K, dmf, cr + K, false, H, chunk);
        }
        // The gradient reaching the previous state through W_hh (rows of finished documents are zero).
        if (t > 0)
            gemm_packed(cc, b1 - b0, s.xproj + (b0 * T + t) * G, T * G, w_hh, 0.0f, s.dh + b0 * H, H);
    }
}

void onlstm_backward(const compute_context *cc, float *dinp, const onlstm_grads *g, const float *dout, const float *out,
                     const float *cache, float *scratch, const float *inp, const size_t *lengths,
                     const onlstm_weights *w, size_t B, size_t T, size_t E, size_t H, size_t chunk)
{
    size_t G = onlstm_gates(H, chunk), BT = B * T, slices = recurrent_slices(cc, B, 1);
    onlstm_scratch s = scratch_parts(scratch, B, T, H, chunk);
    packed_matrix w_hh = recurrent_pack_backward(cc, s.packed, w->w_hh, G, H);
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t k = 0; k < slices; k++)
        backward_task(cc, s, dout, out, cache, lengths, &w_hh, k * B / slices, (k + 1) * B / slices, T, H, chunk);
    recurrent_weight_grads(cc, dinp, g->w_ih, g->w_hh, g->b_ih, g->b_hh, s.xproj, s.xproj, s.hprev, inp, w->w_ih, BT, E,
                           H, G);
}
