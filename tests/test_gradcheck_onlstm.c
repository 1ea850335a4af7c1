/* Finite-difference gradient checks (tests/gradcheck.h) for the ordered-neurons LSTM
 * (src/nn/onlstm.c), with chunk 1 (one master gate per unit: the paper's equations) and chunk 2, over
 * several timesteps. The double-precision reference is written here from equations (1)-(11) of the
 * HFT-ONLSTM paper with the reference code's gate layout; the loss is L = sum(out * R). Padding is
 * checked both ways: rows past a document's length hold garbage the reference never reads, so a
 * gradient leaking into them fails, and changing them must change nothing. Results do not depend on
 * the thread count (slices of the batch). */
#include "core/compute.h"
#include "gradcheck.h"
#include "nn/onlstm.h"

enum { B = 4, T = 6, E = 3, H = 4, MAX_G = 2 * H + 4 * H };

typedef struct {
    const size_t *lengths;
    double *x, *p[4], *out, *r;
    size_t chunk;
} onlstm_ctx;

static size_t tensor_size(size_t k, size_t chunk)
{
    size_t G = onlstm_gates(H, chunk);
    const size_t sizes[4] = {G * E, G * H, G, G};
    return sizes[k];
}

static const char *const names[4] = {"onlstm.ih.weight", "onlstm.hh.weight", "onlstm.ih.bias", "onlstm.hh.bias"};

// cumax over K values: cumsum(softmax(x)).
static void ref_cumax(double *out, const double *x, size_t K)
{
    double top = x[0], sum = 0.0, run = 0.0;
    for (size_t k = 1; k < K; k++)
        top = fmax(top, x[k]);
    for (size_t k = 0; k < K; k++)
        sum += exp(x[k] - top);
    for (size_t k = 0; k < K; k++)
        out[k] = run += exp(x[k] - top) / sum;
}

// out (B, T, H): h_t for t < lengths[b], zero after; x rows past a length are never read.
static void ref_onlstm(double *out, const double *x, const size_t *lengths, double *const p[4], size_t chunk)
{
    size_t K = H / chunk, G = onlstm_gates(H, chunk);
    const double *w_ih = p[0], *w_hh = p[1], *b_ih = p[2], *b_hh = p[3];
    for (size_t i = 0; i < B * T * H; i++)
        out[i] = 0.0;
    for (size_t b = 0; b < B; b++) {
        double h[H] = {0}, c[H] = {0}, g[MAX_G], mi[H], mf[H];
        for (size_t t = 0; t < lengths[b]; t++) {
            for (size_t k = 0; k < G; k++)
                g[k] = b_ih[k] + dot(w_ih + k * E, x + (b * T + t) * E, E) + b_hh[k] + dot(w_hh + k * H, h, H);
            ref_cumax(mi, g, K);
            ref_cumax(mf, g + K, K);
            for (size_t j = 0; j < H; j++) {
                const double *a = g + 2 * K;
                double o = ref_sigmoid(a[j]), ch = tanh(a[H + j]), in = ref_sigmoid(a[2 * H + j]);
                double f = ref_sigmoid(a[3 * H + j]), mij = 1.0 - mi[j / chunk], mfj = mf[j / chunk];
                double F = mfj * (f * mij + 1.0 - mij);  /* (7), (8) */
                double I = mij * (in * mfj + 1.0 - mfj); /* (9) */
                c[j] = F * c[j] + I * ch;                /* (10) */
                h[j] = o * tanh(c[j]);                   /* (11) */
                out[(b * T + t) * H + j] = h[j];
            }
        }
    }
}

static double onlstm_loss(const void *ctx)
{
    const onlstm_ctx *c = ctx;
    ref_onlstm(c->out, c->x, c->lengths, c->p, c->chunk);
    return dot(c->out, c->r, B * T * H);
}

// One training forward and backward at the current thread count, gradients from zero.
static void onlstm_run(float *out, float *dinp, float *const g[4], const float *x, const size_t *lengths,
                       const onlstm_weights *w, const float *dout, size_t chunk)
{
    float *cache = malloc(onlstm_cache_size(B, T, H, chunk) * sizeof(float));
    float *scratch = malloc(onlstm_scratch_size(B, T, H, chunk, true) * sizeof(float));
    onlstm_forward(out, cache, scratch, x, lengths, w, B, T, E, H, chunk);
    memset(dinp, 0, B * T * E * sizeof(float));
    for (size_t k = 0; k < 4; k++)
        memset(g[k], 0, tensor_size(k, chunk) * sizeof(float));
    onlstm_grads grads = {g[0], g[1], g[2], g[3]};
    onlstm_backward(dinp, &grads, dout, out, cache, scratch, x, lengths, w, B, T, E, H, chunk);
    free(cache), free(scratch);
}

static void check_onlstm(size_t chunk)
{
    enum { N = B * T * H };
    // Padded, full, empty and one-word documents; the full one not first, so that slices of the batch
    // differ in their longest document.
    size_t lengths[B] = {4, 6, 0, 1};
    rng r;
    rng_seed(&r, 31 + chunk, 0);
    float *x = random_floats(&r, B * T * E, -1, 1), *R = random_floats(&r, N, -1, 1), *p[4];
    fill_padding(x, lengths, &r, B, T, E);
    onlstm_ctx c = {.lengths = lengths, .x = to_double(x, B * T * E), .r = to_double(R, N), .chunk = chunk};
    for (size_t k = 0; k < 4; k++) {
        p[k] = random_floats(&r, tensor_size(k, chunk), -0.9f, 0.9f);
        c.p[k] = to_double(p[k], tensor_size(k, chunk));
    }
    onlstm_weights w = {p[0], p[1], p[2], p[3]};
    double ref[N];
    c.out = ref;
    onlstm_loss(&c);

    // Inference forward (no cache, the smaller scratch) and training forward agree; zeros past lengths.
    float out[N], out_train[N];
    float *cache = malloc(onlstm_cache_size(B, T, H, chunk) * sizeof(float));
    float *scratch_inf = malloc(onlstm_scratch_size(B, T, H, chunk, false) * sizeof(float));
    float *scratch = malloc(onlstm_scratch_size(B, T, H, chunk, true) * sizeof(float));
    onlstm_forward(out, NULL, scratch_inf, x, lengths, &w, B, T, E, H, chunk);
    check_forward("onlstm forward", out, ref, N, 1e-5);
    CHECK(padding_is(out, lengths, 0.0f, B, T, H));
    onlstm_forward(out_train, cache, scratch, x, lengths, &w, B, T, E, H, chunk);
    CHECK(memcmp(out, out_train, sizeof out) == 0);

    // Backward adds: every gradient starts at 0.5; padded input rows must keep it exactly.
    float dinp[B * T * E], *g[4];
    for (size_t i = 0; i < B * T * E; i++)
        dinp[i] = 0.5f;
    for (size_t k = 0; k < 4; k++) {
        g[k] = malloc(tensor_size(k, chunk) * sizeof(float));
        for (size_t i = 0; i < tensor_size(k, chunk); i++)
            g[k][i] = 0.5f;
    }
    onlstm_grads grads = {g[0], g[1], g[2], g[3]};
    onlstm_backward(dinp, &grads, R, out_train, cache, scratch, x, lengths, &w, B, T, E, H, chunk);
    CHECK(padding_is(dinp, lengths, 0.5f, B, T, E));
    for (size_t i = 0; i < B * T * E; i++)
        dinp[i] -= 0.5f;
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < tensor_size(k, chunk); i++)
            g[k][i] -= 0.5f;
    check_gradient("onlstm.dinp", c.x, B * T * E, dinp, onlstm_loss, &c);
    for (size_t k = 0; k < 4; k++)
        check_gradient(names[k], c.p[k], tensor_size(k, chunk), g[k], onlstm_loss, &c);

    // Other padding garbage changes nothing; the thread counts 1, 2 and 3 (batch slices) agree.
    float x2[B * T * E];
    memcpy(x2, x, sizeof x2);
    fill_padding(x2, lengths, &r, B, T, E);
    int threads_before = compute_threads();
    const int counts[3] = {1, 2, 3};
    float out_t[4][N], dinp_t[4][B * T * E], *g_t[4][4];
    for (size_t i = 0; i < 4; i++) {
        hftc_set_threads(counts[i < 3 ? i : 0]);
        for (size_t k = 0; k < 4; k++)
            g_t[i][k] = malloc(tensor_size(k, chunk) * sizeof(float));
        onlstm_run(out_t[i], dinp_t[i], g_t[i], i < 3 ? x : x2, lengths, &w, R, chunk);
    }
    hftc_set_threads(threads_before);
    for (size_t i = 1; i < 4; i++) {
        bool same = memcmp(out_t[i], out_t[0], sizeof out_t[0]) == 0;
        double worst = 0.0;
        for (size_t j = 0; j < B * T * E; j++)
            worst = fmax(worst, fabs(dinp_t[i][j] - dinp_t[0][j]));
        for (size_t k = 0; k < 4; k++)
            for (size_t j = 0; j < tensor_size(k, chunk); j++)
                worst = fmax(worst, fabs(g_t[i][k][j] - g_t[0][k][j]));
        CHECK_MSG(same && worst <= 1e-6, "chunk %zu, run %zu (%s): outputs %s, gradients differ by %g", chunk, i,
                  i < 3 ? "threads" : "other padding", same ? "equal" : "differ", worst);
        for (size_t k = 0; k < 4; k++)
            free(g_t[i][k]);
    }
    for (size_t k = 0; k < 4; k++)
        free(g_t[0][k]), free(g[k]), free(p[k]), free(c.p[k]);
    free(x), free(R), free(c.x), free(c.r), free(cache), free(scratch_inf), free(scratch);
}

static void test_chunk1(void) { check_onlstm(1); }

static void test_chunk2(void) { check_onlstm(2); }

static void test_few_skipped(void) { gradcheck_report("gradcheck_onlstm", 300); }

int main(void)
{
    RUN_TEST(test_chunk1);
    RUN_TEST(test_chunk2);
    RUN_TEST(test_few_skipped);
    TEST_MAIN_END();
}
