/* Finite-difference gradient checks of the convolution with masked max pooling (nn/conv1d.h), as test_gradcheck.c
 * checks the other layers (tests/gradcheck.h): windows of 1 to 5 words, pooling chunks, strides, padded and empty
 * documents; and the paths that must give the same bits however the work is split: documents a block at a time
 * forward, in groups for the weight gradient, a row at a time for the input gradient, on 1 to 3 threads. */
#include "core/packed_gemm.h"
#include "gradcheck.h"
#include "nn/conv1d.h"

typedef struct {
    const size_t *lengths;
    double *x, *w, *bias, *out, *r;
    size_t B, T, E, F, K, p, stride;
} conv_ctx;

static double conv_loss(const void *p)
{
    const conv_ctx *c = p;
    ref_conv(c->out, c->F * c->p, c->x, c->lengths, c->w, c->bias, c->B, c->T, c->E, c->F, c->K, c->p, c->stride);
    return dot(c->out, c->r, c->B * c->F * c->p);
}

static void check_conv(size_t K, size_t p, size_t stride, size_t E)
{
    enum { B = 4, T = 8, F = 5 };
    // Full, padded, shorter than most windows, and empty documents; rows past a length are zero as
    // the embedding leaves them.
    size_t lengths[B] = {8, 5, 2, 0};
    rng r;
    rng_seed(&r, 100 + K * 10 + p, 0);
    float *x = random_floats(&r, B * T * E, -1, 1), *w = random_floats(&r, F * K * E, -0.5f, 0.5f);
    float *bias = random_floats(&r, F, -0.5f, 0.5f), *R = random_floats(&r, B * F * p, -1, 1);
    for (size_t b = 0; b < B; b++)
        memset(x + (b * T + lengths[b]) * E, 0, (T - lengths[b]) * E * sizeof(float));
    // Output at a row stride wider than F*p, as inside a concatenation.
    size_t ld = F * p + 3;
    size_t n_products = conv1d_products_size(B, T, F, K);
    float *out = malloc(B * ld * sizeof *out), *products = calloc(n_products, sizeof(float));
    float *slices = malloc(conv1d_slices_size(E, F, K) * sizeof(float));
    uint32_t *argmax = malloc(B * ld * sizeof *argmax);
    conv1d_forward(test_compute, out, argmax, ld, products, true, slices, x, NULL, 0, lengths, w, bias, B, T, E, F, K,
                   p, stride);
    // Through OpenBLAS the products are left zero, and the next pass, which adds onto them, gives the same bits (the
    // packed kernel's path does not read them: the next pass gives the same bits all the same).
    size_t nonzero = 0;
    for (size_t i = 0; i < n_products; i++)
        nonzero += products[i] != 0.0f;
    CHECK(nonzero == 0 || packed_gemm_native());
    float *again = malloc(B * ld * sizeof *again);
    conv1d_forward(test_compute, again, argmax, ld, products, true, slices, x, NULL, 0, lengths, w, bias, B, T, E, F, K,
                   p, stride);
    for (size_t b = 0; b < B; b++)
        CHECK(memcmp(again + b * ld, out + b * ld, F * p * sizeof(float)) == 0);
    // Without kept_zero, whatever the products held (as in a shared arena) does not matter.
    for (size_t i = 0; i < n_products; i++)
        products[i] = NAN;
    conv1d_forward(test_compute, again, argmax, ld, products, false, slices, x, NULL, 0, lengths, w, bias, B, T, E, F,
                   K, p, stride);
    for (size_t b = 0; b < B; b++)
        CHECK(memcmp(again + b * ld, out + b * ld, F * p * sizeof(float)) == 0);
    free(again);
    double ref[B * F * 8];
    conv_ctx c = {lengths,
                  to_double(x, B * T * E),
                  to_double(w, F * K * E),
                  to_double(bias, F),
                  ref,
                  to_double(R, B * F * p),
                  B,
                  T,
                  E,
                  F,
                  K,
                  p,
                  stride};
    conv_loss(&c);
    float packed[B * F * 8], dout[B * F * 8 + 8 * 3];
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < F * p; i++) {
            packed[b * F * p + i] = out[b * ld + i];
            dout[b * ld + i] = R[b * F * p + i];
        }
    char name[64];
    snprintf(name, sizeof name, "conv K=%zu p=%zu stride %zu E=%zu", K, p, stride, E);
    check_forward(name, packed, ref, B * F * p, 1e-5);

    // Backward adds into non-zero buffers.
    float *dx = calloc(B * T * E, sizeof(float)), *dw = malloc(F * K * E * sizeof(float)), db[F];
    uint64_t *window_bits = malloc(conv1d_window_bits_size(B, T, F, p) * sizeof(uint64_t));
    for (size_t i = 0; i < F * K * E; i++)
        dw[i] = 1.0f;
    for (size_t f = 0; f < F; f++)
        db[f] = -2.0f;
    conv1d_backward(test_compute, dx, window_bits, dw, db, dout, argmax, ld, x, w, B, T, E, F, K, p);
    for (size_t i = 0; i < F * K * E; i++)
        dw[i] -= 1.0f;
    for (size_t f = 0; f < F; f++)
        db[f] += 2.0f;
    snprintf(name, sizeof name, "conv K=%zu p=%zu stride %zu E=%zu dx", K, p, stride, E);
    check_gradient(name, c.x, B * T * E, dx, conv_loss, &c);
    snprintf(name, sizeof name, "conv K=%zu p=%zu stride %zu E=%zu dw", K, p, stride, E);
    check_gradient(name, c.w, F * K * E, dw, conv_loss, &c);
    snprintf(name, sizeof name, "conv K=%zu p=%zu stride %zu E=%zu db", K, p, stride, E);
    check_gradient(name, c.bias, F, db, conv_loss, &c);
    // Windows start at multiples of the stride, never past the last full window (or 0 for a short document).
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < F * p; i++)
            CHECK(argmax[b * ld + i] <= (lengths[b] >= K ? lengths[b] - K : 0) && argmax[b * ld + i] % stride == 0);
    free(x), free(w), free(bias), free(R), free(out), free(products), free(slices), free(argmax), free(dx), free(dw);
    free(window_bits), free(c.x), free(c.w), free(c.bias), free(c.r);
}

static void test_conv1d(void)
{
    const size_t windows[] = {1, 2, 3, 5};
    for (size_t i = 0; i < 4; i++) {
        check_conv(windows[i], 1, 1, 3);
        check_conv(windows[i], 3, 1, 3);
        check_conv(windows[i], 1, 2, 3); /* XML-CNN(2) */
        check_conv(windows[i], 3, 2, 3);
        check_conv(windows[i], 2, 3, 3);
        // Windows of at least 128 floats: conv1d_backward sums dweight's bands of 128 in registers, the rest as before.
        check_conv(windows[i], 1, 1, 50);
        check_conv(windows[i], 3, 2, 50);
    }
}

// conv1d_forward's packed path takes the documents a block at a time (about 240 rows, at least 8 documents) through one
// block's products: past several blocks (70 documents of 8 words: blocks of 30, 30 and 10) with documents of every
// length, padded ones among them, the pooled values within rounding of a double reference, and the same bits as the
// documents one at a time and on 1, 2 and 3 threads. (Through OpenBLAS the bits may change with the product's shape
// and threads, which pick its kernels and blocks; there every result is held to the reference.)
static void test_conv1d_blocks(void)
{
    enum { B = 70, T = 8, E = 20, F = 5, K = 3, p = 2 };
    rng r;
    rng_seed(&r, 31, 0);
    size_t lengths[B];
    float *x = random_floats(&r, B * T * E, -1, 1), *w = random_floats(&r, F * K * E, -0.5f, 0.5f);
    float *bias = random_floats(&r, F, -0.5f, 0.5f), *out = malloc(3 * B * F * p * sizeof(float));
    float *products = malloc(conv1d_products_size(B, T, F, K) * sizeof(float));
    float *slices = malloc(conv1d_slices_size(E, F, K) * sizeof(float)), one[F * p];
    uint32_t *argmax = malloc(B * F * p * sizeof(uint32_t)), arg_one[F * p];
    for (size_t b = 0; b < B; b++) {
        lengths[b] = b % (T + 1);
        memset(x + (b * T + lengths[b]) * E, 0, (T - lengths[b]) * E * sizeof(float));
    }
    for (int threads = 1; threads <= 3; threads++) {
        compute_context cc = {.threads = threads};
        float *o = out + (size_t)(threads - 1) * B * F * p;
        conv1d_forward(&cc, o, argmax, F * p, products, false, slices, x, NULL, 0, lengths, w, bias, B, T, E, F, K, p,
                       1);
        CHECK(memcmp(o, out, B * F * p * sizeof(float)) == 0 || !packed_gemm_native());
    }
    double *ref = malloc(B * F * p * sizeof(double)), *xd = to_double(x, B * T * E), *wd = to_double(w, F * K * E);
    double *bd = to_double(bias, F);
    ref_conv(ref, F * p, xd, lengths, wd, bd, B, T, E, F, K, p, 1);
    double worst = 0.0;
    for (size_t i = 0; i < 3 * B * F * p; i++)
        worst = fabs(out[i] - ref[i % (B * F * p)]) > worst ? fabs(out[i] - ref[i % (B * F * p)]) : worst;
    for (size_t b = 0; b < B; b++) {
        conv1d_forward(test_compute, one, arg_one, F * p, products, false, slices, x + b * T * E, NULL, 0, lengths + b,
                       w, bias, 1, T, E, F, K, p, 1);
        for (size_t i = 0; i < F * p; i++)
            worst = fabs(one[i] - ref[b * F * p + i]) > worst ? fabs(one[i] - ref[b * F * p + i]) : worst;
        CHECK((memcmp(one, out + b * F * p, sizeof one) == 0 &&
               memcmp(arg_one, argmax + b * F * p, sizeof arg_one) == 0) ||
              !packed_gemm_native());
    }
    CHECK_MSG(worst < 1e-5, "pooled values off by %g", worst);
    free(x), free(w), free(bias), free(out), free(products), free(slices), free(argmax), free(ref), free(xd), free(wd);
    free(bd);
}

// conv1d_backward's dweight takes the documents in groups (CONV1D_GROUP entries): past several groups, with zero
// gradients among them and a row past a band of 128 floats, dweight and dbias are the sums of every term (against a
// double reference) and the same bits on 1, 2 and 3 threads.
static void test_conv1d_groups(void)
{
    enum { B = 45, T = 6, E = 150, F = 5, K = 2, p = 2 };
    rng r;
    rng_seed(&r, 23, 0);
    float *x = random_floats(&r, B * T * E, -1, 1), *w = random_floats(&r, F * K * E, -0.5f, 0.5f);
    float *dout = random_floats(&r, B * F * p, -1, 1), *dw = malloc(3 * F * K * E * sizeof(float)), db[3][F];
    uint32_t argmax[B * F * p];
    for (size_t i = 0; i < B * F * p; i++) {
        argmax[i] = (uint32_t)rng_below(&r, T - K + 1);
        dout[i] = i % 7 == 0 ? 0.0f : dout[i];
    }
    for (int threads = 1; threads <= 3; threads++) {
        compute_context cc = {.threads = threads};
        float *d = dw + (threads - 1) * F * K * E;
        for (size_t i = 0; i < F * K * E; i++)
            d[i] = 0.5f;
        for (size_t f = 0; f < F; f++)
            db[threads - 1][f] = 0.25f;
        conv1d_backward(&cc, NULL, NULL, d, db[threads - 1], dout, argmax, F * p, x, w, B, T, E, F, K, p);
        CHECK(memcmp(d, dw, F * K * E * sizeof(float)) == 0);
        CHECK(memcmp(db[threads - 1], db[0], sizeof db[0]) == 0);
    }
    for (size_t f = 0; f < F; f++) {
        double bias = 0.25;
        for (size_t i = 0; i < K * E; i++) {
            double sum = 0.5;
            for (size_t b = 0; b < B; b++)
                for (size_t c = 0; c < p; c++)
                    sum += (double)dout[(b * F + f) * p + c] * x[(b * T + argmax[(b * F + f) * p + c]) * E + i];
            CHECK_NEAR(dw[f * K * E + i], sum, 1e-4);
        }
        for (size_t i = 0; i < B; i++)
            for (size_t c = 0; c < p; c++)
                bias += dout[(i * F + f) * p + c];
        CHECK_NEAR(db[0][f], bias, 1e-4);
    }
    free(x), free(w), free(dout), free(dw);
}

// conv1d_backward's dinp sums each row in registers over the windows that cover it, the terms in the order of filter
// and chunk: with rows covered by more windows than a group holds (CONV1D_GROUP), entries in two words of window_bits,
// rows of 2 vectors and 8 floats, zero gradients among the rest and dinp not zero on entry, dinp is the same bits as
// adding each window's weights into its rows one window at a time in that order, on 1, 2 and 3 threads.
static void test_conv1d_input_rows(void)
{
    enum { B = 9, T = 13, E = 40, F = 40, K = 4, p = 2 };
    rng r;
    rng_seed(&r, 37, 0);
    float *w = random_floats(&r, F * K * E, -0.5f, 0.5f), *dout = random_floats(&r, B * F * p, -1, 1);
    float *start = random_floats(&r, B * T * E, -1, 1), *expected = malloc(B * T * E * sizeof(float));
    float *dx = malloc(B * T * E * sizeof(float));
    uint64_t *window_bits = malloc(conv1d_window_bits_size(B, T, F, p) * sizeof(uint64_t));
    uint32_t argmax[B * F * p];
    for (size_t i = 0; i < B * F * p; i++) {
        size_t c = i % p, n = T - K + 1; /* chunk c's window starts, as AdaptiveMaxPool1d splits them */
        size_t lo = c * n / p, hi = ((c + 1) * n + p - 1) / p;
        argmax[i] = (uint32_t)(i < F * p ? lo : lo + rng_below(&r, hi - lo)); /* document 0: windows crowded */
        dout[i] = i % 11 == 0 ? 0.0f : dout[i];
    }
    memcpy(expected, start, B * T * E * sizeof(float));
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < F * p; i++)
            for (size_t e = 0; dout[b * F * p + i] != 0.0f && e < K * E; e++)
                expected[(b * T + argmax[b * F * p + i]) * E + e] += dout[b * F * p + i] * w[i / p * K * E + e];
    for (int threads = 1; threads <= 3; threads++) {
        compute_context cc = {.threads = threads};
        memcpy(dx, start, B * T * E * sizeof(float));
        conv1d_backward(&cc, dx, window_bits, NULL, NULL, dout, argmax, F * p, NULL, w, B, T, E, F, K, p);
        CHECK(memcmp(dx, expected, B * T * E * sizeof(float)) == 0);
    }
    free(w), free(dout), free(start), free(expected), free(dx), free(window_bits);
}

static void test_few_skipped(void) { gradcheck_report("gradcheck_conv", 1000); }

int main(void)
{
    RUN_TEST(test_conv1d);
    RUN_TEST(test_conv1d_blocks);
    RUN_TEST(test_conv1d_groups);
    RUN_TEST(test_conv1d_input_rows);
    RUN_TEST(test_few_skipped);
    TEST_MAIN_END();
}
