/* Finite-difference gradient checks (tests/gradcheck.h, as tests/test_gradcheck.c) for the bigru-att
 * layers and network: the bidirectional GRU (src/nn/gru.c), attention + max + mean pooling
 * (src/nn/attention.c) and the whole bigru-att network (src/model/encoder_bigru.c). Each has a
 * double-precision reference forward written here from the equations of the layer's header (the
 * embedding, dense layers, dropout and losses shared in gradcheck.h); central differences on that
 * reference, for every input and parameter coordinate, are compared with the float32 analytic backward:
 *   |a - n| / max(|a|, |n|, 1e-4 * scale) <= 1e-3,  scale = the largest |n| of the tensor.
 * A coordinate on a kink (a max-pooling tie, ReLU at 0) is detected by its one-sided differences
 * disagreeing and skipped; almost none may be. Layers are reduced to a scalar by L = sum(out * R).
 * Padding is checked both ways: positions past a document's length hold garbage that the reference
 * never reads, so any gradient leaking into them fails, and changing them must change nothing. */
#include "core/compute.h"
#include "gradcheck.h"
#include "grads.h"
#include "model/network.h"
#include "nn/attention.h"
#include "nn/gru.h"

/* ---- double references ---- */

// The 8 GRU tensors in the order of the names below; direction d at p[4 * d + k].
static const char *const gru_names[8] = {
    "gru.weight_ih_l0",         "gru.weight_hh_l0",         "gru.bias_ih_l0",         "gru.bias_hh_l0",
    "gru.weight_ih_l0_reverse", "gru.weight_hh_l0_reverse", "gru.bias_ih_l0_reverse", "gru.bias_hh_l0_reverse"};

static size_t gru_tensor_size(size_t k, size_t E, size_t H)
{
    const size_t sizes[4] = {3 * H * E, 3 * H * H, 3 * H, 3 * H};
    return sizes[k % 4];
}

// torch.nn.GRU(E, H, bidirectional=True, batch_first=True) on packed input: out (B, T, 2H), zero past
// each length; x rows past a length are never read.
static void ref_gru(double *out, const double *x, const size_t *lengths, double *const p[8], size_t B, size_t T,
                    size_t E, size_t H)
{
    double h[64], gi[192], gh[192];
    for (size_t i = 0; i < B * T * 2 * H; i++)
        out[i] = 0.0;
    for (size_t b = 0; b < B; b++)
        for (size_t d = 0; d < 2; d++) {
            const double *w_ih = p[4 * d], *w_hh = p[4 * d + 1], *b_ih = p[4 * d + 2], *b_hh = p[4 * d + 3];
            size_t L = lengths[b];
            for (size_t j = 0; j < H; j++)
                h[j] = 0.0;
            for (size_t step = 0; step < L; step++) {
                size_t t = d ? L - 1 - step : step;
                const double *xt = x + (b * T + t) * E;
                for (size_t g = 0; g < 3 * H; g++) {
                    gi[g] = b_ih[g] + dot(w_ih + g * E, xt, E);
                    gh[g] = b_hh[g] + dot(w_hh + g * H, h, H);
                }
                for (size_t j = 0; j < H; j++) {
                    double r = ref_sigmoid(gi[j] + gh[j]), z = ref_sigmoid(gi[H + j] + gh[H + j]);
                    double n = tanh(gi[2 * H + j] + r * gh[2 * H + j]);
                    h[j] = (1.0 - z) * n + z * h[j];
                    out[(b * T + t) * 2 * H + d * H + j] = h[j];
                }
            }
        }
}

// Attention + max + mean pooling over t < lengths[b]: out (B, 3D) packed; x rows past a length are never read.
static void ref_attention(double *out, const double *x, const size_t *lengths, const double *w, const double *bias,
                          const double *context, size_t B, size_t T, size_t D, size_t A)
{
    double score[64];
    for (size_t b = 0; b < B; b++) {
        size_t L = lengths[b];
        double *att = out + b * 3 * D, *mx = att + D, *mean = att + 2 * D, top = -INFINITY, sum = 0.0;
        for (size_t k = 0; k < 3 * D; k++)
            att[k] = 0.0;
        if (L == 0)
            continue;
        for (size_t t = 0; t < L; t++) {
            score[t] = 0.0;
            for (size_t a = 0; a < A; a++)
                score[t] += tanh(bias[a] + dot(w + a * D, x + (b * T + t) * D, D)) * context[a];
            top = fmax(top, score[t]);
        }
        for (size_t t = 0; t < L; t++)
            sum += exp(score[t] - top);
        for (size_t k = 0; k < D; k++) {
            mx[k] = -INFINITY;
            for (size_t t = 0; t < L; t++) {
                double s = x[(b * T + t) * D + k];
                att[k] += exp(score[t] - top) / sum * s;
                mx[k] = fmax(mx[k], s);
                mean[k] += s / (double)L;
            }
        }
    }
}

/* ---- bidirectional GRU ---- */

typedef struct {
    const size_t *lengths;
    double *x, *p[8], *out, *r;
    size_t B, T, E, H;
} gru_ctx;

static double gru_loss(const void *ctx)
{
    const gru_ctx *c = ctx;
    ref_gru(c->out, c->x, c->lengths, c->p, c->B, c->T, c->E, c->H);
    return dot(c->out, c->r, c->B * c->T * 2 * c->H);
}

enum { GRU_B = 4, GRU_T = 6, GRU_E = 4, GRU_H = 3 };

// One training forward and backward of the GRU at the current thread count, gradients from zero:
// out, dinp and the 8 gradients (g[k] of gru_tensor_size(k)).
static void gru_run(const compute_context *cc, float *out, float *dinp, float *const g[8], const float *x,
                    const size_t *lengths, const gru_weights w[2], const float *dout)
{
    size_t B = GRU_B, T = GRU_T, E = GRU_E, H = GRU_H;
    float *cache = malloc(gru_cache_size(B, T, H) * sizeof(float));
    float *scratch = malloc(gru_scratch_size(B, T, H, true) * sizeof(float));
    gru_forward(cc, out, cache, scratch, x, NULL, lengths, w, B, T, E, H);
    memset(dinp, 0, B * T * E * sizeof(float));
    for (size_t k = 0; k < 8; k++)
        memset(g[k], 0, gru_tensor_size(k, E, H) * sizeof(float));
    gru_grads grads[2] = {{g[0], g[1], g[2], g[3]}, {g[4], g[5], g[6], g[7]}};
    gru_backward(cc, dinp, grads, dout, out, cache, scratch, x, lengths, w, B, T, E, H);
    free(cache), free(scratch);
}

static void test_gru(void)
{
    enum { B = GRU_B, T = GRU_T, E = GRU_E, H = GRU_H, N = B * T * 2 * H };
    // Padded, full, empty and one-word documents; the full one not first, so that slices of the batch
    // differ in their longest document.
    size_t lengths[B] = {4, 6, 0, 1};
    rng r;
    rng_seed(&r, 21, 0);
    float *x = random_floats(&r, B * T * E, -1, 1), *R = random_floats(&r, N, -1, 1), *p[8];
    fill_padding(x, lengths, &r, B, T, E);
    gru_ctx c = {
        .lengths = lengths, .x = to_double(x, B * T * E), .r = to_double(R, N), .B = B, .T = T, .E = E, .H = H};
    for (size_t k = 0; k < 8; k++) {
        p[k] = random_floats(&r, gru_tensor_size(k, E, H), -0.8f, 0.8f);
        c.p[k] = to_double(p[k], gru_tensor_size(k, E, H));
    }
    gru_weights w[2] = {{p[0], p[1], p[2], p[3]}, {p[4], p[5], p[6], p[7]}};
    double ref[N];
    c.out = ref;
    gru_loss(&c);

    // Inference forward (no cache, the smaller scratch) and training forward agree; zeros past lengths.
    float out[N], out_train[N];
    float *cache = malloc(gru_cache_size(B, T, H) * sizeof(float));
    float *scratch_inf = malloc(gru_scratch_size(B, T, H, false) * sizeof(float));
    float *scratch = malloc(gru_scratch_size(B, T, H, true) * sizeof(float));
    gru_forward(test_compute, out, NULL, scratch_inf, x, NULL, lengths, w, B, T, E, H);
    check_forward("gru forward", out, ref, N, 1e-5);
    CHECK(padding_is(out, lengths, 0.0f, B, T, 2 * H));
    gru_forward(test_compute, out_train, cache, scratch, x, NULL, lengths, w, B, T, E, H);
    CHECK(memcmp(out, out_train, sizeof out) == 0);

    // Backward adds: every gradient starts at 0.5; padded input rows must keep it exactly.
    float dinp[B * T * E], *g[8];
    for (size_t i = 0; i < B * T * E; i++)
        dinp[i] = 0.5f;
    for (size_t k = 0; k < 8; k++) {
        g[k] = malloc(gru_tensor_size(k, E, H) * sizeof(float));
        for (size_t i = 0; i < gru_tensor_size(k, E, H); i++)
            g[k][i] = 0.5f;
    }
    gru_grads grads[2] = {{g[0], g[1], g[2], g[3]}, {g[4], g[5], g[6], g[7]}};
    gru_backward(test_compute, dinp, grads, R, out_train, cache, scratch, x, lengths, w, B, T, E, H);
    CHECK(padding_is(dinp, lengths, 0.5f, B, T, E));
    for (size_t i = 0; i < B * T * E; i++)
        dinp[i] -= 0.5f;
    for (size_t k = 0; k < 8; k++)
        for (size_t i = 0; i < gru_tensor_size(k, E, H); i++)
            g[k][i] -= 0.5f;
    check_gradient("gru.dinp", c.x, B * T * E, dinp, gru_loss, &c);
    for (size_t k = 0; k < 8; k++)
        check_gradient(gru_names[k], c.p[k], gru_tensor_size(k, E, H), g[k], gru_loss, &c);

    // Gradients given as NULL are skipped without changing dinp; dinp may be NULL too.
    float dinp_only[B * T * E], dinp_ref[B * T * E], out1[N], *g1[8];
    for (size_t k = 0; k < 8; k++)
        g1[k] = malloc(gru_tensor_size(k, E, H) * sizeof(float));
    gru_run(test_compute, out1, dinp_ref, g1, x, lengths, w, R);
    gru_grads none[2] = {{NULL, NULL, NULL, NULL}, {NULL, NULL, NULL, NULL}};
    memset(dinp_only, 0, sizeof dinp_only);
    gru_forward(test_compute, out_train, cache, scratch, x, NULL, lengths, w, B, T, E, H);
    gru_backward(test_compute, dinp_only, none, R, out_train, cache, scratch, x, lengths, w, B, T, E, H);
    CHECK(memcmp(dinp_only, dinp_ref, sizeof dinp_ref) == 0);
    float *only_whh = calloc(gru_tensor_size(1, E, H), sizeof(float));
    gru_grads one[2] = {{NULL, only_whh, NULL, NULL}, {NULL, NULL, NULL, NULL}};
    gru_backward(test_compute, NULL, one, R, out_train, cache, scratch, x, lengths, w, B, T, E, H);
    CHECK(memcmp(only_whh, g1[1], gru_tensor_size(1, E, H) * sizeof(float)) == 0);

    // Other padding garbage changes nothing.
    float x2[B * T * E], out2[N], dinp2[B * T * E], *g2[8];
    memcpy(x2, x, sizeof x2);
    fill_padding(x2, lengths, &r, B, T, E);
    for (size_t k = 0; k < 8; k++)
        g2[k] = malloc(gru_tensor_size(k, E, H) * sizeof(float));
    gru_run(test_compute, out2, dinp2, g2, x2, lengths, w, R);
    bool same = memcmp(out2, out1, sizeof out1) == 0 && memcmp(dinp2, dinp_ref, sizeof dinp2) == 0;
    for (size_t k = 0; k < 8; k++)
        same = same && memcmp(g2[k], g1[k], gru_tensor_size(k, E, H) * sizeof(float)) == 0;
    CHECK_MSG(same, "gru: changing padded input rows changed a result");

    // Thread counts 1, 2 (one batch slice per direction), 4 and 6 (2 and 3 slices): the same results as
    // the serial run. They are bitwise equal with OpenBLAS here; 1e-6 leaves room for a BLAS whose
    // kernels round differently for the fewer rows of each slice's recurrent GEMM.
    const int counts[4] = {1, 2, 4, 6};
    float out_t[4][N], dinp_t[4][B * T * E];
    float *g_t[4][8];
    for (size_t i = 0; i < 4; i++) {
        for (size_t k = 0; k < 8; k++)
            g_t[i][k] = malloc(gru_tensor_size(k, E, H) * sizeof(float));
        gru_run(&(compute_context){counts[i]}, out_t[i], dinp_t[i], g_t[i], x, lengths, w, R);
    }
    for (size_t i = 1; i < 4; i++) {
        double worst = 0.0;
        for (size_t j = 0; j < N; j++)
            worst = fmax(worst, fabs(out_t[i][j] - out_t[0][j]));
        for (size_t j = 0; j < B * T * E; j++)
            worst = fmax(worst, fabs(dinp_t[i][j] - dinp_t[0][j]));
        for (size_t k = 0; k < 8; k++)
            for (size_t j = 0; j < gru_tensor_size(k, E, H); j++)
                worst = fmax(worst, fabs(g_t[i][k][j] - g_t[0][k][j]));
        if (getenv("GRADCHECK_VERBOSE"))
            fprintf(stderr, "gru with %d threads: largest difference from 1 thread %.3g\n", counts[i], worst);
        CHECK_MSG(worst <= 1e-6, "gru with %d threads: differs from 1 thread by %.3g", counts[i], worst);
        for (size_t k = 0; k < 8; k++)
            free(g_t[i][k]);
    }
    for (size_t k = 0; k < 8; k++)
        free(g_t[0][k]), free(g[k]), free(g1[k]), free(g2[k]), free(p[k]), free(c.p[k]);
    free(only_whh), free(cache), free(scratch), free(scratch_inf), free(x), free(R), free(c.x), free(c.r);
}

/* ---- attention + max + mean pooling ---- */

typedef struct {
    const size_t *lengths;
    double *x, *w, *bias, *context, *out, *r;
    size_t B, T, D, A;
} att_ctx;

static double att_loss(const void *ctx)
{
    const att_ctx *c = ctx;
    ref_attention(c->out, c->x, c->lengths, c->w, c->bias, c->context, c->B, c->T, c->D, c->A);
    return dot(c->out, c->r, c->B * 3 * c->D);
}

enum { ATT_B = 4, ATT_T = 6, ATT_D = 4, ATT_A = 5, ATT_LD = 3 * ATT_D + 2 };

// Forward and backward at row stride ATT_LD, gradients from zero.
static void att_run(float *out, uint32_t *argmax, float *dinp, float *dw, float *db, float *dc, const float *x,
                    const size_t *lengths, const float *w, const float *bias, const float *context, const float *dout)
{
    size_t B = ATT_B, T = ATT_T, D = ATT_D, A = ATT_A;
    float *cache = malloc(attention_cache_size(B, T, A) * sizeof(float));
    float *scratch = malloc(attention_scratch_size(B, T, A) * sizeof(float));
    attention_forward(test_compute, out, ATT_LD, argmax, cache, x, lengths, w, bias, context, B, T, D, A);
    memset(dinp, 0, B * T * D * sizeof(float));
    memset(dw, 0, A * D * sizeof(float));
    memset(db, 0, A * sizeof(float));
    memset(dc, 0, A * sizeof(float));
    attention_backward(test_compute, dinp, dw, db, dc, dout, ATT_LD, argmax, cache, scratch, x, lengths, w, context, B,
                       T, D, A);
    free(cache), free(scratch);
}

static void test_attention(void)
{
    enum { B = ATT_B, T = ATT_T, D = ATT_D, A = ATT_A, LD = ATT_LD };
    size_t lengths[B] = {6, 3, 1, 0};
    rng r;
    rng_seed(&r, 22, 0);
    float *x = random_floats(&r, B * T * D, -1, 1), *w = random_floats(&r, A * D, -1, 1);
    float *bias = random_floats(&r, A, -0.5f, 0.5f), *context = random_floats(&r, A, -2, 2);
    float *R = random_floats(&r, B * 3 * D, -1, 1);
    fill_padding(x, lengths, &r, B, T, D);
    // A tie for the maximum of feature 2 of document 0 (positions 1 and 4): the earliest wins, and both
    // coordinates are kinks the check must skip.
    x[(0 * T + 1) * D + 2] = x[(0 * T + 4) * D + 2] = 1.5f;
    att_ctx c = {lengths,
                 to_double(x, B * T * D),
                 to_double(w, A * D),
                 to_double(bias, A),
                 to_double(context, A),
                 NULL,
                 to_double(R, B * 3 * D),
                 B,
                 T,
                 D,
                 A};
    double ref[B * 3 * D];
    c.out = ref;
    att_loss(&c);

    float out[B * LD], dout[B * LD], packed[B * 3 * D];
    uint32_t argmax[B * D];
    float *cache = malloc(attention_cache_size(B, T, A) * sizeof(float));
    float *scratch = malloc(attention_scratch_size(B, T, A) * sizeof(float));
    for (size_t i = 0; i < B * LD; i++)
        out[i] = dout[i] = 7.0f; // the columns past 3D belong to someone else
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < 3 * D; i++)
            dout[b * LD + i] = R[b * 3 * D + i];
    attention_forward(test_compute, out, LD, argmax, cache, x, lengths, w, bias, context, B, T, D, A);
    bool others_kept = true;
    for (size_t b = 0; b < B; b++) {
        memcpy(packed + b * 3 * D, out + b * LD, 3 * D * sizeof(float));
        others_kept = others_kept && out[b * LD + 3 * D] == 7.0f && out[b * LD + 3 * D + 1] == 7.0f;
    }
    CHECK(others_kept);
    check_forward("attention forward", packed, ref, B * 3 * D, 1e-5);
    CHECK(argmax[0 * D + 2] == 1);
    for (size_t b = 0; b < B; b++)
        for (size_t k = 0; k < D; k++)
            CHECK(argmax[b * D + k] < (lengths[b] ? lengths[b] : 1));

    // Backward adds; padded input rows keep their starting value exactly.
    float dinp[B * T * D], dw[A * D], db[A], dc[A];
    for (size_t i = 0; i < B * T * D; i++)
        dinp[i] = 0.5f;
    for (size_t i = 0; i < A * D; i++)
        dw[i] = -1.0f;
    for (size_t i = 0; i < A; i++)
        db[i] = 2.0f, dc[i] = 3.0f;
    attention_backward(test_compute, dinp, dw, db, dc, dout, LD, argmax, cache, scratch, x, lengths, w, context, B, T,
                       D, A);
    CHECK(padding_is(dinp, lengths, 0.5f, B, T, D));
    for (size_t i = 0; i < B * T * D; i++)
        dinp[i] -= 0.5f;
    for (size_t i = 0; i < A * D; i++)
        dw[i] += 1.0f;
    for (size_t i = 0; i < A; i++)
        db[i] -= 2.0f, dc[i] -= 3.0f;
    size_t skipped_before = coords_skipped;
    check_gradient("attention.dinp", c.x, B * T * D, dinp, att_loss, &c);
    CHECK_MSG(coords_skipped == skipped_before + 2, "attention.dinp: %zu skipped, the 2 tied coordinates expected",
              coords_skipped - skipped_before);
    check_gradient("attention.weight", c.w, A * D, dw, att_loss, &c);
    check_gradient("attention.bias", c.bias, A, db, att_loss, &c);
    check_gradient("attention.context", c.context, A, dc, att_loss, &c);
    // The empty document: zero output.
    bool empty_zero = true;
    for (size_t i = 0; i < 3 * D; i++)
        empty_zero = empty_zero && out[3 * LD + i] == 0.0f;
    CHECK(empty_zero);

    // Other padding garbage changes nothing, forward or backward; gradients given as NULL are skipped.
    float out1[B * LD], dinp1[B * T * D], dw1[A * D], db1[A], dc1[A];
    float out2[B * LD], dinp2[B * T * D], dw2[A * D], db2[A], dc2[A], x2[B * T * D];
    uint32_t argmax1[B * D], argmax2[B * D];
    att_run(out1, argmax1, dinp1, dw1, db1, dc1, x, lengths, w, bias, context, dout);
    memcpy(x2, x, sizeof x2);
    fill_padding(x2, lengths, &r, B, T, D);
    att_run(out2, argmax2, dinp2, dw2, db2, dc2, x2, lengths, w, bias, context, dout);
    bool same = true;
    for (size_t b = 0; b < B; b++)
        same = same && memcmp(out1 + b * LD, out2 + b * LD, 3 * D * sizeof(float)) == 0;
    same = same && memcmp(argmax1, argmax2, sizeof argmax1) == 0 && memcmp(dinp1, dinp2, sizeof dinp1) == 0 &&
           memcmp(dw1, dw2, sizeof dw1) == 0 && memcmp(db1, db2, sizeof db1) == 0 && memcmp(dc1, dc2, sizeof dc1) == 0;
    CHECK_MSG(same, "attention: changing padded input rows changed a result");
    memset(dinp2, 0, sizeof dinp2);
    attention_forward(test_compute, out2, LD, argmax2, cache, x, lengths, w, bias, context, B, T, D, A);
    attention_backward(test_compute, dinp2, NULL, NULL, NULL, dout, LD, argmax2, cache, scratch, x, lengths, w, context,
                       B, T, D, A);
    CHECK(memcmp(dinp1, dinp2, sizeof dinp1) == 0);

    free(cache), free(scratch), free(x), free(w), free(bias), free(context), free(R);
    free(c.x), free(c.w), free(c.bias), free(c.context), free(c.r);
}

/* ---- the whole bigru-att network ---- */

typedef struct {
    const network_config *cfg;
    const uint32_t *tokens;
    const size_t *lengths;
    const uint8_t *emb_mask, *rnn_mask; /* NULL: no dropout */
    size_t B, T;
    double *emb, *gru[8], *att_w, *att_b, *att_c;
    ref_head head;
} net_ctx;

static double net_loss(const void *ctx)
{
    const net_ctx *c = ctx;
    const network_config *cfg = c->cfg;
    size_t B = c->B, T = c->T, E = cfg->embed_dim, H = cfg->rnn_hidden;
    size_t A = cfg->attention_dim ? cfg->attention_dim : 2 * H, D = 6 * H;
    double *x = malloc(B * T * E * sizeof *x), *s = malloc(B * T * 2 * H * sizeof *s);
    double *features = malloc(B * D * sizeof *features);
    ref_embedding(x, c->tokens, c->lengths, c->emb, B, T, E);
    ref_dropout(x, c->emb_mask, B * T * E, cfg->embed_dropout);
    ref_gru(s, x, c->lengths, c->gru, B, T, E, H);
    ref_dropout(s, c->rnn_mask, B * T * 2 * H, cfg->rnn_dropout);
    ref_attention(features, s, c->lengths, c->att_w, c->att_b, c->att_c, B, T, 2 * H, A);
    double loss = ref_network_head(cfg, &c->head, features, B, D);
    free(x), free(s), free(features);
    return loss;
}

static void check_network(const network_config *cfg, const char *label)
{
    enum { B = 5, T = 7 };
    const uint64_t seed = 91;
    // Lengths: full, padded, one word, empty, padded; garbage past the lengths, an id outside the
    // vocabulary and a <pad> id (0) inside document 4.
    uint32_t tokens[B * T] = {2, 5, 7, 3, 9, 11, 4, 6, 1, 8, 2, 3, 99, 99, 10, 7, 7, 7,
                              7, 7, 7, 5, 5, 5,  5, 5, 5, 5, 3, 0, 99, 8,  2,  1, 4};
    size_t lengths[B] = {7, 4, 1, 0, 6};
    float targets[B * 3] = {1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1}, pos_weight[3] = {2.0f, 0.5f, 4.0f};
    if (cfg->head == HEAD_SOFTMAX) {
        float one_hot[B * 3] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0};
        memcpy(targets, one_hot, sizeof one_hot);
    }
    network *net;
    CHECK_STATUS(network_create(&net, cfg, B, T, NETWORK_TRAINING), HFTC_STATUS_OK);
    if (!net)
        return;
    rng r;
    rng_seed(&r, 5, 0);
    network_init(net, &r);
    param_set *ps = network_params(net);
    // Larger weights than the default so that every layer carries a visible gradient and the
    // attention is far from uniform.
    for (size_t i = 0; i < ps->n_tensors; i++)
        for (size_t j = 0; j < ps->tensors[i].size; j++)
            ps->tensors[i].value[j] *= strcmp(ps->tensors[i].name, "embedding.weight") == 0 ? 4.0f : 2.0f;

    net_ctx c = {
        .cfg = cfg, .lengths = lengths, .B = B, .T = T, .head = {.targets = targets, .pos_weight = pos_weight}};
    uint32_t ref_tokens[B * T];
    ref_token_ids(ref_tokens, tokens, B * T, cfg->vocab_size);
    c.tokens = ref_tokens;
    tensor *t_emb, *t_gru[8], *t_att_w, *t_att_b, *t_att_c, *t_fc1_w = NULL, *t_fc1_b = NULL, *t_out_w, *t_out_b;
    c.emb = tensor_double(ps, "embedding.weight", &t_emb);
    for (size_t k = 0; k < 8; k++)
        c.gru[k] = tensor_double(ps, gru_names[k], &t_gru[k]);
    c.att_w = tensor_double(ps, "attention.weight", &t_att_w);
    c.att_b = tensor_double(ps, "attention.bias", &t_att_b);
    c.att_c = tensor_double(ps, "attention.context", &t_att_c);
    if (cfg->hidden) {
        c.head.fc1_w = tensor_double(ps, "fc1.weight", &t_fc1_w);
        c.head.fc1_b = tensor_double(ps, "fc1.bias", &t_fc1_b);
    }
    c.head.out_w = tensor_double(ps, "out.weight", &t_out_w);
    c.head.out_b = tensor_double(ps, "out.bias", &t_out_b);
    bool found = t_emb && t_att_w && t_att_b && t_att_c && t_out_w && t_out_b && (!cfg->hidden || (t_fc1_w && t_fc1_b));
    for (size_t k = 0; k < 8; k++)
        found = found && t_gru[k];
    CHECK_MSG(found, "%s: a tensor is missing", label);
    size_t H = cfg->rnn_hidden, A = cfg->attention_dim ? cfg->attention_dim : 2 * H;
    CHECK(!found || (t_att_w->shape[0] == A && t_att_w->shape[1] == 2 * H && t_gru[0]->shape[0] == 3 * H &&
                     t_gru[0]->shape[1] == cfg->embed_dim && t_gru[5]->shape[1] == H));
    if (!found) {
        network_free(net);
        return;
    }

    // Inference: no dropout.
    check_network_predict(label, net, cfg, tokens, lengths, B, T, &c.head, net_loss, &c);

    // Training pass with dropout drawn from seed; the reference uses the same masks.
    size_t head_dim = cfg->hidden ? cfg->hidden : 6 * H;
    c.emb_mask = network_mask(0, seed, lengths, B, T * cfg->embed_dim, cfg->embed_dim, cfg->embed_dropout);
    c.head.mask = network_mask(1, seed, NULL, B, head_dim, 1, cfg->hidden_dropout);
    c.rnn_mask = network_mask(2, seed, lengths, B, T * 2 * H, 2 * H, cfg->rnn_dropout);
    params_zero_grad(ps);
    float loss = network_train_batch(net, test_compute, tokens, lengths, B, T, targets, pos_weight, NULL, seed);
    CHECK_NEAR(loss, net_loss(&c), 1e-5);
    // Row 0 (<pad>, here also at a valid position of document 4) never learns: its gradient stays zero
    // while the reference's is not, so the numeric check covers rows 1..V-1.
    float *emb_grad = grad_dense(t_emb);
    CHECK(all_equal(emb_grad, cfg->embed_dim, 0.0f));
    size_t E = cfg->embed_dim;
    char name[96];
    snprintf(name, sizeof name, "%s embedding.weight", label);
    check_gradient(name, c.emb + E, (cfg->vocab_size - 1) * E, emb_grad + E, net_loss, &c);
    free(emb_grad);
    for (size_t k = 0; k < 8; k++) {
        snprintf(name, sizeof name, "%s %s", label, gru_names[k]);
        check_gradient(name, c.gru[k], t_gru[k]->size, t_gru[k]->grad, net_loss, &c);
    }
    struct {
        tensor *t;
        double *v;
    } rest[] = {{t_att_w, c.att_w},      {t_att_b, c.att_b},      {t_att_c, c.att_c},     {t_fc1_w, c.head.fc1_w},
                {t_fc1_b, c.head.fc1_b}, {t_out_w, c.head.out_w}, {t_out_b, c.head.out_b}};
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++) {
        if (!rest[i].t)
            continue;
        snprintf(name, sizeof name, "%s %s", label, rest[i].t->name);
        check_gradient(name, rest[i].v, rest[i].t->size, rest[i].t->grad, net_loss, &c);
    }

    // A second training pass with the same seed accumulates exactly the same gradient again.
    float *first = malloc(t_gru[1]->size * sizeof *first);
    memcpy(first, t_gru[1]->grad, t_gru[1]->size * sizeof *first);
    network_train_batch(net, test_compute, tokens, lengths, B, T, targets, pos_weight, NULL, seed);
    bool doubled = true;
    for (size_t j = 0; j < t_gru[1]->size; j++)
        doubled = doubled && t_gru[1]->grad[j] == 2.0f * first[j];
    CHECK(doubled);

    free(first), free(c.emb), free(c.att_w), free(c.att_b), free(c.att_c), free(c.head.fc1_w), free(c.head.fc1_b);
    free(c.head.out_w), free(c.head.out_b), free((void *)c.emb_mask), free((void *)c.rnn_mask),
        free((void *)c.head.mask);
    for (size_t k = 0; k < 8; k++)
        free(c.gru[k]);
    network_free(net);
}

// Sigmoid head with pos_weight, attention size other than 2H, no hidden layer, no dropout.
static void test_network_sigmoid(void)
{
    network_config cfg = {.encoder = ENCODER_BIGRU_ATT,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 12,
                          .embed_dim = 4,
                          .rnn_hidden = 3,
                          .attention_dim = 5,
                          .n_classes = 3};
    check_network(&cfg, "bigru(sigmoid)");
}

// Softmax head, attention size 2H, hidden layer, no dropout.
static void test_network_softmax(void)
{
    network_config cfg = {.encoder = ENCODER_BIGRU_ATT,
                          .head = HEAD_SOFTMAX,
                          .vocab_size = 12,
                          .embed_dim = 4,
                          .rnn_hidden = 3,
                          .hidden = 5,
                          .n_classes = 3};
    check_network(&cfg, "bigru(softmax)");
}

// Dropout on the embedding, the GRU outputs and the hidden layer, masks reproduced in the reference.
static void test_network_dropout(void)
{
    network_config cfg = {.encoder = ENCODER_BIGRU_ATT,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 12,
                          .embed_dim = 4,
                          .rnn_hidden = 3,
                          .attention_dim = 4,
                          .rnn_dropout = 0.25f,
                          .hidden = 4,
                          .n_classes = 3,
                          .embed_dropout = 0.3f,
                          .hidden_dropout = 0.4f};
    check_network(&cfg, "bigru(dropout)");
}

static void test_few_skipped(void) { gradcheck_report("gradcheck_gru", 1000); }

int main(void)
{
    RUN_TEST(test_gru);
    RUN_TEST(test_attention);
    RUN_TEST(test_network_sigmoid);
    RUN_TEST(test_network_softmax);
    RUN_TEST(test_network_dropout);
    RUN_TEST(test_few_skipped);
    TEST_MAIN_END();
}
