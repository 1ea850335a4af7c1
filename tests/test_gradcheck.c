/* Finite-difference gradient checks (ggml style) for every layer, both losses and the whole network.
 * Each layer has a double-precision reference forward written here (or in gradcheck.h); central
 * differences on that reference, for every input and parameter coordinate, are compared with the
 * float32 analytic backward of the real implementation (tests/gradcheck.h):
 *   |a - n| / max(|a|, |n|, 1e-4 * scale) <= 1e-3,  scale = the largest |n| of the tensor.
 * A coordinate sitting on a kink (ReLU at 0, a max-pooling tie) is detected by its one-sided
 * differences disagreeing, skipped and counted; the test requires that almost none are skipped.
 * Layers are reduced to a scalar by L = sum(out * R) with a fixed random R; each float forward is
 * also compared with its double reference. The convolution's are in test_gradcheck_conv.c. */
#include "gradcheck.h"
#include "grads.h"
#include "model/network.h"
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/dense.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/loss.h"

/* ---- embedding ---- */

typedef struct {
    const uint32_t *tokens;
    const size_t *lengths;
    double *w, *out, *r;
    size_t B, T, E;
} emb_ctx;

static double emb_loss(const void *p)
{
    const emb_ctx *c = p;
    ref_embedding(c->out, c->tokens, c->lengths, c->w, c->B, c->T, c->E);
    return dot(c->out, c->r, c->B * c->T * c->E);
}

static void test_embedding(void)
{
    enum { B = 3, T = 5, E = 4, V = 9 };
    rng r;
    rng_seed(&r, 11, 0);
    // Token 0 inside a document, repeated tokens, and garbage ids past the lengths (never read).
    uint32_t tokens[B * T] = {3, 5, 3, 0, 8, 2, 7, 7, 4, 4, 5, 1, 6, 6, 6};
    size_t lengths[B] = {5, 3, 2};
    float *w = random_floats(&r, V * E, -1, 1), *R = random_floats(&r, B * T * E, -1, 1);
    float out[B * T * E], dw[V * E];
    embedding_forward(test_compute, out, tokens, lengths, w, B, T, E);
    double ref[B * T * E];
    emb_ctx c = {tokens, lengths, to_double(w, V * E), ref, to_double(R, B * T * E), B, T, E};
    emb_loss(&c);
    check_forward("embedding", out, ref, B * T * E, 0.0);

    // Into a compact gradient (row j the gradient of row rows[j]), zero as the optimisers leave it; the room past
    // the touched rows stays zero.
    uint32_t rows[V], scratch[(V + 1) + B * T + V];
    CHECK(embedding_scratch_size(B, T, V) <= sizeof scratch / sizeof *scratch);
    size_t n_rows = 0;
    memset(dw, 0, sizeof dw);
    embedding_backward(test_compute, dw, rows, &n_rows, scratch, R, tokens, lengths, B, T, E, V);
    uint32_t expected_rows[] = {1, 2, 3, 5, 7, 8};
    CHECK(n_rows == 6 && memcmp(rows, expected_rows, sizeof expected_rows) == 0);
    CHECK(all_equal(dw + n_rows * E, (V - n_rows) * E, 0.0f));
    float dense[V * E];
    grad_spread(dense, dw, rows, n_rows, V, E);
    // Row 0 appears at a valid position (t = 3 of document 0) but never receives a gradient, so the
    // numeric check covers rows 1..V-1.
    CHECK(all_equal(dense, E, 0.0f));
    check_gradient("embedding.dweight", c.w + E, (V - 1) * E, dense + E, emb_loss, &c);

    // A second batch merges its rows into the list (row 4 among them: the rows after it move) and adds into the
    // same gradient: every row's sum is the first batch's plus the second's, exactly.
    uint32_t tokens2[1 * T] = {4, 2, 0, 0, 0};
    size_t lengths2[1] = {2};
    embedding_backward(test_compute, dw, rows, &n_rows, scratch, R, tokens2, lengths2, 1, T, E, V);
    uint32_t merged_rows[] = {1, 2, 3, 4, 5, 7, 8};
    CHECK(n_rows == 7 && memcmp(rows, merged_rows, sizeof merged_rows) == 0);
    float dense2[V * E];
    grad_spread(dense2, dw, rows, n_rows, V, E);
    bool added = true;
    for (size_t v = 0; v < V; v++)
        for (size_t e = 0; e < E; e++) {
            float second = v == 4 ? R[0 * E + e] : v == 2 ? R[1 * E + e] : 0.0f;
            added = added && dense2[v * E + e] == dense[v * E + e] + second;
        }
    CHECK(added);
    free(w), free(R), free(c.w), free(c.r);
}

/* ---- dropout ---- */

typedef struct {
    const uint8_t *mask;
    const size_t *n_valid;
    double *x, *r, scale;
    size_t B, N;
} drop_ctx;

static double drop_loss(const void *p)
{
    const drop_ctx *c = p;
    double s = 0.0;
    for (size_t b = 0; b < c->B; b++)
        for (size_t i = 0; i < c->n_valid[b]; i++)
            s += c->mask[b * c->N + i] ? c->x[b * c->N + i] * c->scale * c->r[b * c->N + i] : 0.0;
    return s;
}

static void test_dropout(void)
{
    enum { B = 3, N = 40 };
    const float p = 0.4f;
    rng r;
    rng_seed(&r, 12, 0);
    float *x = random_floats(&r, B * N, -1, 1), *R = random_floats(&r, B * N, -1, 1);
    size_t n_valid[B] = {40, 25, 0};
    float out[B * N], dx[B * N];
    uint8_t mask[B * N];
    dropout_forward(test_compute, out, mask, x, n_valid, B, N, p, 99);
    drop_ctx c = {mask, n_valid, to_double(x, B * N), to_double(R, B * N), 1.0 / (1.0 - p), B, N};
    double ref[B * N];
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < N; i++)
            ref[b * N + i] = i < n_valid[b] && mask[b * N + i] ? c.x[b * N + i] * c.scale : 0.0;
    check_forward("dropout", out, ref, B * N, 1e-6);
    dropout_backward(test_compute, dx, R, mask, n_valid, B, N, p);
    check_gradient("dropout.dx", c.x, B * N, dx, drop_loss, &c);

    // Masks come from per-document streams: the same whatever follows the document (N, n_valid)
    // or which other documents share the batch; different documents get different masks.
    uint8_t mask_long[2 * 100];
    float ones[2 * 100], out_long[2 * 100];
    for (size_t i = 0; i < 2 * 100; i++)
        ones[i] = 1.0f;
    dropout_forward(test_compute, out_long, mask_long, ones, NULL, 2, 100, p, 99);
    CHECK(memcmp(mask_long, mask, 40) == 0);
    CHECK(memcmp(mask_long + 100, mask + N, 25) == 0);
    CHECK(memcmp(mask_long, mask_long + 100, 40) != 0);
    // In-place run gives the same, and the keep rate is 1 - p.
    float inplace[B * N];
    memcpy(inplace, x, sizeof inplace);
    dropout_forward(test_compute, inplace, mask, inplace, n_valid, B, N, p, 99);
    CHECK(memcmp(inplace, out, sizeof out) == 0);
    size_t big = 200000, kept = 0;
    float *ones_big = malloc(big * sizeof(float));
    uint8_t *mask_big = malloc(big);
    for (size_t i = 0; i < big; i++)
        ones_big[i] = 1.0f;
    dropout_forward(test_compute, ones_big, mask_big, ones_big, NULL, 4, big / 4, p, 5);
    bool scaled = true;
    for (size_t i = 0; i < big; i++) {
        kept += mask_big[i];
        scaled = scaled && ones_big[i] == (mask_big[i] ? 1.0f / (1.0f - p) : 0.0f);
    }
    CHECK(scaled);
    CHECK_NEAR((double)kept / (double)big, 1.0 - p, 0.005);
    // Zero past n_valid in both directions.
    CHECK(out[2 * N + 5] == 0.0f && dx[1 * N + 30] == 0.0f);
    free(ones_big), free(mask_big);
    free(x), free(R), free(c.x), free(c.r);
}

/* ---- relu and dense ---- */

typedef struct {
    double *x, *w, *bias, *out, *r;
    size_t B, I, O;
} dense_ctx;

static double relu_loss(const void *p)
{
    const dense_ctx *c = p;
    memcpy(c->out, c->x, c->I * sizeof(double));
    ref_relu(c->out, c->I);
    return dot(c->out, c->r, c->I);
}

static void test_relu(void)
{
    enum { N = 50 };
    rng r;
    rng_seed(&r, 13, 0);
    float *x = random_floats(&r, N, -1, 1), *R = random_floats(&r, N, -1, 1), out[N], dx[N];
    x[7] = 0.0f; // on the kink: must be detected and skipped, not failed
    relu_forward(test_compute, out, x, N);
    double ref[N];
    dense_ctx c = {.x = to_double(x, N), .out = ref, .r = to_double(R, N), .I = N};
    relu_loss(&c);
    check_forward("relu", out, ref, N, 0.0);
    relu_backward(test_compute, dx, R, out, N);
    size_t skipped_before = coords_skipped;
    check_gradient("relu.dx", c.x, N, dx, relu_loss, &c);
    CHECK(coords_skipped == skipped_before + 1);
    // In place, as the network runs it.
    relu_forward(test_compute, x, x, N);
    CHECK(memcmp(x, out, sizeof out) == 0);
    free(x), free(R), free(c.x), free(c.r);
}

static double dense_loss(const void *p)
{
    const dense_ctx *c = p;
    ref_dense(c->out, c->x, c->w, c->bias, c->B, c->I, c->O);
    return dot(c->out, c->r, c->B * c->O);
}

static void test_dense(void)
{
    enum { B = 3, I = 7, O = 5 };
    rng r;
    rng_seed(&r, 14, 0);
    float *x = random_floats(&r, B * I, -1, 1), *w = random_floats(&r, O * I, -1, 1);
    float *bias = random_floats(&r, O, -1, 1), *R = random_floats(&r, B * O, -1, 1), out[B * O];
    dense_forward(test_compute, out, x, w, bias, B, I, O);
    double ref[B * O];
    dense_ctx c = {to_double(x, B * I), to_double(w, O * I), to_double(bias, O), ref, to_double(R, B * O), B, I, O};
    dense_loss(&c);
    check_forward("dense", out, ref, B * O, 1e-6);
    float dx[B * I], dw[O * I], db[O];
    for (size_t i = 0; i < B * I; i++)
        dx[i] = 3.0f;
    memset(dw, 0, sizeof dw);
    memset(db, 0, sizeof db);
    dense_backward(test_compute, dx, dw, db, R, x, w, B, I, O);
    for (size_t i = 0; i < B * I; i++)
        dx[i] -= 3.0f;
    check_gradient("dense.dx", c.x, B * I, dx, dense_loss, &c);
    check_gradient("dense.dw", c.w, O * I, dw, dense_loss, &c);
    check_gradient("dense.db", c.bias, O, db, dense_loss, &c);
    free(x), free(w), free(bias), free(R), free(c.x), free(c.w), free(c.bias), free(c.r);
}

/* ---- batch normalisation ---- */

typedef struct {
    double *x, *gamma, *beta, *out, *r;
    size_t B, N;
} bn_ctx;

// torch.nn.BatchNorm1d in training mode: batch mean and biased variance.
static double bn_loss(const void *p)
{
    const bn_ctx *c = p;
    for (size_t j = 0; j < c->N; j++) {
        double mean = 0.0, var = 0.0;
        for (size_t b = 0; b < c->B; b++)
            mean += c->x[b * c->N + j] / (double)c->B;
        for (size_t b = 0; b < c->B; b++)
            var += (c->x[b * c->N + j] - mean) * (c->x[b * c->N + j] - mean) / (double)c->B;
        for (size_t b = 0; b < c->B; b++)
            c->out[b * c->N + j] = c->gamma[j] * (c->x[b * c->N + j] - mean) / sqrt(var + 1e-5) + c->beta[j];
    }
    return dot(c->out, c->r, c->B * c->N);
}

static void test_batchnorm(void)
{
    enum { B = 5, N = 4 };
    rng r;
    rng_seed(&r, 15, 0);
    float *x = random_floats(&r, B * N, -2, 2), *gamma = random_floats(&r, N, 0.5f, 1.5f);
    float *beta = random_floats(&r, N, -1, 1), *R = random_floats(&r, B * N, -1, 1);
    float out[B * N], xhat[B * N], inv_std[N], rmean[N], rvar[N];
    double sums[2 * N];
    for (size_t j = 0; j < N; j++)
        rmean[j] = 0.0f, rvar[j] = 1.0f;
    batchnorm_forward_train(test_compute, out, xhat, inv_std, rmean, rvar, x, gamma, beta, B, N, sums);
    double ref[B * N];
    bn_ctx c = {to_double(x, B * N), to_double(gamma, N), to_double(beta, N), ref, to_double(R, B * N), B, N};
    bn_loss(&c);
    check_forward("batchnorm", out, ref, B * N, 1e-5);
    // Running statistics: momentum 0.1 from (0, 1), the unbiased variance.
    bool stats_ok = true;
    for (size_t j = 0; j < N; j++) {
        double mean = 0.0, var = 0.0;
        for (size_t b = 0; b < B; b++)
            mean += c.x[b * N + j] / B;
        for (size_t b = 0; b < B; b++)
            var += (c.x[b * N + j] - mean) * (c.x[b * N + j] - mean) / (B - 1);
        stats_ok = stats_ok && fabs(rmean[j] - 0.1 * mean) < 1e-6 && fabs(rvar[j] - (0.9 + 0.1 * var)) < 1e-6;
    }
    CHECK(stats_ok);
    // Inference uses them: the same formula with the running statistics.
    float infer[B * N];
    batchnorm_forward_infer(infer, x, gamma, beta, rmean, rvar, B, N);
    double worst = 0.0;
    for (size_t i = 0; i < B * N; i++)
        worst = fmax(worst,
                     fabs(infer[i] - (gamma[i % N] * (x[i] - rmean[i % N]) / sqrt(rvar[i % N] + 1e-5) + beta[i % N])));
    CHECK_MSG(worst < 1e-5, "batchnorm inference off by %g", worst);
    float dx[B * N], dgamma[N] = {0}, dbeta[N] = {0};
    batchnorm_backward(test_compute, dx, dgamma, dbeta, R, xhat, inv_std, gamma, B, N, sums);
    check_gradient("batchnorm.dx", c.x, B * N, dx, bn_loss, &c);
    check_gradient("batchnorm.dgamma", c.gamma, N, dgamma, bn_loss, &c);
    check_gradient("batchnorm.dbeta", c.beta, N, dbeta, bn_loss, &c);
    // A batch of one: beta out, running statistics unchanged, no gradient to x.
    float one[N], one_xhat[N], one_is[N], m1[N], v1[N], d1[N];
    memcpy(m1, rmean, sizeof m1), memcpy(v1, rvar, sizeof v1);
    batchnorm_forward_train(test_compute, one, one_xhat, one_is, m1, v1, x, gamma, beta, 1, N, sums);
    batchnorm_backward(test_compute, d1, NULL, NULL, R, one_xhat, one_is, gamma, 1, N, sums);
    CHECK(memcmp(one, beta, sizeof one) == 0 && memcmp(m1, rmean, sizeof m1) == 0 && all_equal(d1, N, 0.0f));
    free(x), free(gamma), free(beta), free(R), free(c.x), free(c.gamma), free(c.beta), free(c.r);
}

/* ---- losses ---- */

typedef struct {
    double *x;
    const float *y, *pos_weight;
    size_t B, C;
} loss_ctx;

static double bce_loss(const void *p)
{
    const loss_ctx *c = p;
    return ref_bce(NULL, c->x, c->y, c->pos_weight, c->B, c->C);
}

static double softmax_loss(const void *p)
{
    const loss_ctx *c = p;
    return ref_softmax_ce(NULL, c->x, c->y, c->B, c->C);
}

static void test_sigmoid_bce(void)
{
    enum { B = 4, C = 5 };
    rng r;
    rng_seed(&r, 15, 0);
    float *x = random_floats(&r, B * C, -4, 4), y[B * C], pw[C] = {1.0f, 2.0f, 0.5f, 10.0f, 3.0f};
    // Saturated logits on both sides, with both targets: must stay finite and exact.
    x[0] = 40.0f, x[1] = -40.0f, x[2] = 90.0f, x[3] = -90.0f;
    for (size_t i = 0; i < B * C; i++)
        y[i] = rng_float(&r) < 0.4f ? 1.0f : 0.0f;
    y[0] = 0.0f, y[1] = 1.0f, y[2] = 1.0f, y[3] = 0.0f;
    y[7] = 0.3f; // soft targets are allowed by the formula
    for (int weighted = 0; weighted < 2; weighted++) {
        const float *w = weighted ? pw : NULL;
        float probs[B * C], dx[B * C];
        float loss = loss_sigmoid_bce(test_compute, probs, dx, x, y, w, B, C, B);
        loss_ctx c = {to_double(x, B * C), y, w, B, C};
        double ref_probs[B * C], ref = ref_bce(ref_probs, c.x, y, w, B, C);
        CHECK(isfinite(loss));
        CHECK_NEAR(loss, ref, 1e-6);
        check_forward("sigmoid", probs, ref_probs, B * C, 1e-6);
        check_gradient(weighted ? "bce(pos_weight).dlogits" : "bce.dlogits", c.x, B * C, dx, bce_loss, &c);
        // Probabilities alone when there are no targets.
        float probs_only[B * C];
        CHECK(loss_sigmoid_bce(test_compute, probs_only, NULL, x, NULL, w, B, C, B) == 0.0f);
        CHECK(memcmp(probs_only, probs, sizeof probs) == 0);
        free(c.x);
    }
    // A hand-computed value: x = 0, y = 1, pos_weight 3 -> 3 log 2; x = 0, y = 0 -> log 2.
    float z[2] = {0.0f, 0.0f}, t[2] = {1.0f, 0.0f}, w3[2] = {3.0f, 3.0f}, pr[2], d[2];
    CHECK_NEAR(loss_sigmoid_bce(test_compute, pr, d, z, t, w3, 1, 2, 1), (3.0 * log(2.0) + log(2.0)) / 2.0, 1e-6);
    CHECK_NEAR(d[0], -1.5 / 2.0, 1e-7);
    CHECK_NEAR(d[1], 0.5 / 2.0, 1e-7);
    free(x);
}

// The losses run rows on the threads: past one chunk of rows (LOSS_ROWS) and with enough terms to fork, the loss,
// probabilities and gradient are the same bits on 1, 2 and 3 threads.
static void test_loss_threads(void)
{
    enum { B = 300, C = 37 };
    rng r;
    rng_seed(&r, 19, 0);
    float *x = random_floats(&r, B * C, -6, 6), *y = random_floats(&r, B * C, 0, 1), *pw = random_floats(&r, C, 1, 4);
    float *probs = malloc(3 * B * C * sizeof(float)), *dx = malloc(3 * B * C * sizeof(float)), loss[2][3];
    for (size_t i = 0; i < B * C; i++)
        y[i] = y[i] < 0.3f ? 1.0f : 0.0f;
    for (int softmax = 0; softmax < 2; softmax++)
        for (int threads = 1; threads <= 3; threads++) {
            compute_context cc = {.threads = threads};
            float *p = probs + (threads - 1) * B * C, *d = dx + (threads - 1) * B * C;
            loss[softmax][threads - 1] =
                softmax ? loss_softmax_ce(&cc, p, d, x, y, B, C, B) : loss_sigmoid_bce(&cc, p, d, x, y, pw, B, C, B);
            CHECK(loss[softmax][threads - 1] == loss[softmax][0]);
            CHECK(memcmp(p, probs, B * C * sizeof(float)) == 0);
            CHECK(memcmp(d, dx, B * C * sizeof(float)) == 0);
        }
    double *xd = to_double(x, B * C), *refp = malloc(B * C * sizeof(double));
    CHECK_NEAR(loss[0][0], ref_bce(refp, xd, y, pw, B, C), 1e-6);
    CHECK_NEAR(loss[1][0], ref_softmax_ce(refp, xd, y, B, C), 1e-5);
    free(x), free(y), free(pw), free(probs), free(dx), free(xd), free(refp);
}

static void test_softmax_ce(void)
{
    enum { B = 4, C = 5 };
    rng r;
    rng_seed(&r, 16, 0);
    float *x = random_floats(&r, B * C, -3, 3), y[B * C] = {0};
    x[0] = 80.0f, x[1] = -80.0f; // large logits must not overflow
    y[0 * C + 1] = 1.0f;         // one-hot rows
    y[1 * C + 3] = 1.0f;
    y[2 * C + 0] = 0.25f, y[2 * C + 2] = 0.75f; // a distribution
    y[3 * C + 4] = 0.5f, y[3 * C + 1] = 0.2f;   // a row not summing to 1: the general gradient
    float probs[B * C], dx[B * C];
    float loss = loss_softmax_ce(test_compute, probs, dx, x, y, B, C, B);
    loss_ctx c = {to_double(x, B * C), y, NULL, B, C};
    double ref_probs[B * C], ref = ref_softmax_ce(ref_probs, c.x, y, B, C);
    CHECK(isfinite(loss));
    CHECK_NEAR(loss, ref, 1e-6);
    check_forward("softmax", probs, ref_probs, B * C, 1e-6);
    check_gradient("softmax_ce.dlogits", c.x, B * C, dx, softmax_loss, &c);
    for (size_t b = 0; b < B; b++) {
        double s = 0.0;
        for (size_t k = 0; k < C; k++)
            s += probs[b * C + k];
        CHECK_NEAR(s, 1.0, 1e-6);
    }
    // Uniform logits, one-hot target: log C.
    float z[3] = {0}, t[3] = {0, 0, 1}, pr[3];
    CHECK_NEAR(loss_softmax_ce(test_compute, pr, NULL, z, t, 1, 3, 1), log(3.0), 1e-6);
    free(x), free(c.x);
}

/* ---- the whole network ---- */

typedef struct {
    const network_config *cfg;
    const uint32_t *tokens;
    const size_t *lengths;
    const uint8_t *emb_mask; /* NULL: no dropout */
    size_t B, T;
    double *emb, *conv_w[NETWORK_MAX_WINDOWS], *conv_b[NETWORK_MAX_WINDOWS];
    ref_head head;
} net_ctx;

static double net_loss(const void *p)
{
    const net_ctx *c = p;
    const network_config *cfg = c->cfg;
    size_t B = c->B, T = c->T, E = cfg->embed_dim, F = cfg->n_filters;
    size_t P = cfg->pool_chunks > 1 ? cfg->pool_chunks : 1, D = cfg->n_windows * F * P;
    double *x = malloc(B * T * E * sizeof *x), *pooled = malloc(B * D * sizeof *pooled);
    ref_embedding(x, c->tokens, c->lengths, c->emb, B, T, E);
    ref_dropout(x, c->emb_mask, B * T * E, cfg->embed_dropout);
    for (size_t w = 0; w < cfg->n_windows; w++)
        ref_conv(pooled + w * F * P, D, x, c->lengths, c->conv_w[w], c->conv_b[w], B, T, E, F, cfg->windows[w], P,
                 cfg->conv_stride > 1 ? cfg->conv_stride : 1);
    ref_relu(pooled, B * D);
    double loss = ref_network_head(cfg, &c->head, pooled, B, D);
    free(x), free(pooled);
    return loss;
}

static void check_network(const network_config *cfg, const char *label)
{
    enum { B = 4, T = 7 };
    const uint64_t seed = 77;
    // Lengths: full, padded, one word (shorter than every window >= 2); garbage past the lengths and an
    // id outside the vocabulary.
    uint32_t tokens[B * T] = {2, 5, 7, 3, 9, 11, 4, 6, 1, 8, 2, 3, 99, 99, 10, 0, 0, 0, 0, 0, 0, 3, 3, 5, 3, 0, 99, 8};
    size_t lengths[B] = {7, 4, 1, 7};
    float targets[B * 3], pos_weight[3];
    network_check_targets(targets, pos_weight, cfg->head);
    network *net = network_check_create(cfg, B, T, 3);
    if (!net)
        return;
    param_set *ps = network_params(net);

    net_ctx c = {
        .cfg = cfg, .lengths = lengths, .B = B, .T = T, .head = {.targets = targets, .pos_weight = pos_weight}};
    c.emb = to_double(params_find(ps, "embedding.weight")->value, cfg->vocab_size * cfg->embed_dim);
    uint32_t ref_tokens[B * T];
    ref_token_ids(ref_tokens, tokens, B * T, cfg->vocab_size);
    c.tokens = ref_tokens;
    char name[64];
    for (size_t w = 0; w < cfg->n_windows; w++) {
        snprintf(name, sizeof name, "conv.%zu.weight", cfg->windows[w]);
        tensor *t = params_find(ps, name);
        c.conv_w[w] = to_double(t->value, t->size);
        snprintf(name, sizeof name, "conv.%zu.bias", cfg->windows[w]);
        t = params_find(ps, name);
        c.conv_b[w] = to_double(t->value, t->size);
    }
    if (cfg->hidden) {
        c.head.fc1_w = to_double(params_find(ps, "fc1.weight")->value, params_find(ps, "fc1.weight")->size);
        c.head.fc1_b = to_double(params_find(ps, "fc1.bias")->value, params_find(ps, "fc1.bias")->size);
    }
    c.head.out_w = to_double(params_find(ps, "out.weight")->value, params_find(ps, "out.weight")->size);
    c.head.out_b = to_double(params_find(ps, "out.bias")->value, params_find(ps, "out.bias")->size);

    // Inference: no dropout.
    check_network_predict(label, net, cfg, tokens, lengths, B, T, &c.head, net_loss, &c);

    // Training pass with dropout drawn from seed; the reference uses the same masks.
    size_t p = cfg->pool_chunks > 1 ? cfg->pool_chunks : 1, D = cfg->n_windows * cfg->n_filters * p;
    size_t head_dim = cfg->hidden ? cfg->hidden : D;
    c.emb_mask = network_mask(0, seed, lengths, B, T * cfg->embed_dim, cfg->embed_dim, cfg->embed_dropout);
    c.head.mask = network_mask(1, seed, NULL, B, head_dim, 1, cfg->hidden_dropout);
    params_zero_grad(ps);
    float loss = network_train_batch(net, test_compute, tokens, lengths, B, T, targets, pos_weight, NULL, seed);
    CHECK_NEAR(loss, net_loss(&c), 1e-5);
    // Row 0 (<pad>, here also at a valid position of document 3) never learns: its gradient stays zero
    // while the reference's is not, so the numeric check covers rows 1..V-1.
    float *emb_grad = grad_dense(params_find(ps, "embedding.weight"));
    CHECK(all_equal(emb_grad, cfg->embed_dim, 0.0f));
    snprintf(name, sizeof name, "%s embedding", label);
    check_gradient(name, c.emb + cfg->embed_dim, (cfg->vocab_size - 1) * cfg->embed_dim, emb_grad + cfg->embed_dim,
                   net_loss, &c);
    free(emb_grad);
    for (size_t w = 0; w < cfg->n_windows; w++) {
        snprintf(name, sizeof name, "conv.%zu.weight", cfg->windows[w]);
        tensor *t = params_find(ps, name);
        check_gradient(name, c.conv_w[w], t->size, t->grad, net_loss, &c);
        snprintf(name, sizeof name, "conv.%zu.bias", cfg->windows[w]);
        t = params_find(ps, name);
        check_gradient(name, c.conv_b[w], t->size, t->grad, net_loss, &c);
    }
    if (cfg->hidden) {
        check_gradient("fc1.weight", c.head.fc1_w, params_find(ps, "fc1.weight")->size,
                       params_find(ps, "fc1.weight")->grad, net_loss, &c);
        check_gradient("fc1.bias", c.head.fc1_b, params_find(ps, "fc1.bias")->size, params_find(ps, "fc1.bias")->grad,
                       net_loss, &c);
    }
    check_gradient("out.weight", c.head.out_w, params_find(ps, "out.weight")->size, params_find(ps, "out.weight")->grad,
                   net_loss, &c);
    check_gradient("out.bias", c.head.out_b, params_find(ps, "out.bias")->size, params_find(ps, "out.bias")->grad,
                   net_loss, &c);

    free(c.emb), free(c.head.fc1_w), free(c.head.fc1_b), free(c.head.out_w), free(c.head.out_b);
    free((void *)c.emb_mask), free((void *)c.head.mask);
    for (size_t w = 0; w < cfg->n_windows; w++)
        free(c.conv_w[w]), free(c.conv_b[w]);
    network_free(net);
}

static void test_network_sigmoid(void)
{
    network_config cfg = {.encoder = ENCODER_CNN,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 12,
                          .embed_dim = 4,
                          .n_windows = 2,
                          .windows = {2, 3},
                          .n_filters = 3,
                          .hidden = 5,
                          .n_classes = 3,
                          .embed_dropout = 0.3f,
                          .hidden_dropout = 0.4f};
    check_network(&cfg, "network(sigmoid)");
}

static void test_network_softmax(void)
{
    network_config cfg = {.encoder = ENCODER_CNN,
                          .head = HEAD_SOFTMAX,
                          .vocab_size = 12,
                          .embed_dim = 4,
                          .n_windows = 3,
                          .windows = {1, 2, 4},
                          .n_filters = 2,
                          .hidden = 0,
                          .n_classes = 3,
                          .embed_dropout = 0.25f,
                          .hidden_dropout = 0.5f};
    check_network(&cfg, "network(softmax)");
}

// XML-CNN: 3 chunks per feature map, so documents of 7, 4 and 1 words pool over more, as many and fewer
// window starts than chunks; the bottleneck is the hidden layer.
static void test_network_xml(void)
{
    network_config cfg = {.encoder = ENCODER_CNN,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 12,
                          .embed_dim = 4,
                          .n_windows = 2,
                          .windows = {2, 4},
                          .n_filters = 3,
                          .pool_chunks = 3,
                          .hidden = 5,
                          .n_classes = 3,
                          .embed_dropout = 0.3f,
                          .hidden_dropout = 0.4f};
    check_network(&cfg, "network(xml-cnn)");
    cfg.conv_stride = 2; /* XML-CNN(2): windows start at 0, 2, 4, ... */
    check_network(&cfg, "network(xml-cnn, stride 2)");
    cfg.conv_stride = 1;
    // The pooled features, and so fc1's inputs, grow by p; Kim's tensor names are kept.
    network *net = NULL;
    CHECK_STATUS(network_create(&net, &cfg, 2, 7, NETWORK_TRAINING), HFTC_STATUS_OK);
    tensor *fc1 = net ? params_find(network_params(net), "fc1.weight") : NULL;
    CHECK(fc1 && fc1->shape[0] == 5 && fc1->shape[1] == 2 * 3 * 3);
    network_free(net);
    cfg.conv_stride = NETWORK_MAX_STRIDE + 1;
    net = NULL;
    CHECK_STATUS(network_create(&net, &cfg, 2, 7, NETWORK_TRAINING), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(net == NULL && strstr(hftc_last_error(), "stride") != NULL);
    cfg.conv_stride = 1;
    cfg.pool_chunks = NETWORK_MAX_CHUNKS + 1;
    net = NULL;
    CHECK_STATUS(network_create(&net, &cfg, 2, 7, NETWORK_TRAINING), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(net == NULL && strstr(hftc_last_error(), "chunks") != NULL);
}

static void test_few_skipped(void) { gradcheck_report("gradcheck", 1000); }

int main(void)
{
    RUN_TEST(test_embedding);
    RUN_TEST(test_dropout);
    RUN_TEST(test_relu);
    RUN_TEST(test_dense);
    RUN_TEST(test_batchnorm);
    RUN_TEST(test_sigmoid_bce);
    RUN_TEST(test_softmax_ce);
    RUN_TEST(test_loss_threads);
    RUN_TEST(test_network_sigmoid);
    RUN_TEST(test_network_softmax);
    RUN_TEST(test_network_xml);
    RUN_TEST(test_few_skipped);
    TEST_MAIN_END();
}
