/* The inline activations against double precision: act_exp's and act_sigmoid's relative error in ulp
 * over their whole useful range (every 97th float, all exponents), act_tanh's absolute error; the
 * limits (underflow to 0, saturation to 0/1/±1) and finite results for huge inputs. */
#include "nn/activation.h"
#include "test.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

static float from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

// |approx - exact| in units of the float spacing at exact.
static double ulps(float approx, double exact)
{
    double spacing = exact == 0.0 ? FLT_MIN : fabs(nextafterf((float)exact, INFINITY) - (float)exact);
    return fabs((double)approx - exact) / spacing;
}

// Every 97th float of either sign, from 2^-30 in magnitude to lim.
#define FOR_FLOATS(x, lim)                                                                                             \
    for (uint32_t bits_ = 0x30800000u; from_bits(bits_) <= (lim); bits_ += 97)                                         \
        for (int sign_ = 0; sign_ < 2; sign_++)                                                                        \
            for (float x = sign_ ? -from_bits(bits_) : from_bits(bits_); x == x; x = NAN)

static void test_exp(void)
{
    double worst = 0.0;
    FOR_FLOATS(x, 87.0f)
    {
        double u = ulps(act_exp(x), exp((double)x));
        worst = u > worst ? u : worst;
    }
    CHECK_MSG(worst <= 2.0, "act_exp: %.2f ulp", worst);
    printf("act_exp: %.2f ulp\n", worst);
    CHECK(act_exp(0.0f) == 1.0f);
    /* a NaN (from weights that overflow in a layer: fuzz/corpus/model/model-nan-into-act-exp) gives NaN, as expf
     * does, without converting it to an int on the way (undefined: UBSan's float-cast-overflow) */
    CHECK(isnan(act_exp(NAN)) && isnan(act_sigmoid(NAN)));
    CHECK(act_exp(-200.0f) >= 0.0f && act_exp(-200.0f) < 1e-37f);
    CHECK(isfinite(act_exp(1000.0f)) && act_exp(1000.0f) > 1e38f);
}

static void test_sigmoid(void)
{
    double worst = 0.0;
    FOR_FLOATS(x, 80.0f)
    {
        double u = ulps(act_sigmoid(x), 1.0 / (1.0 + exp(-(double)x)));
        worst = u > worst ? u : worst;
    }
    CHECK_MSG(worst <= 3.0, "act_sigmoid: %.2f ulp", worst);
    printf("act_sigmoid: %.2f ulp\n", worst);
    CHECK(act_sigmoid(0.0f) == 0.5f);
    CHECK(act_sigmoid(1e4f) == 1.0f && act_sigmoid(-1e4f) >= 0.0f && act_sigmoid(-1e4f) < 1e-37f);
}

static void test_tanh(void)
{
    double worst = 0.0, worst_small = 0.0;
    FOR_FLOATS(x, 30.0f)
    {
        double exact = tanh((double)x), err = fabs((double)act_tanh(x) - exact);
        worst = err > worst ? err : worst;
        if (fabs(x) < 0.625f) /* the polynomial: relative accuracy near 0 too */
            worst_small = fmax(worst_small, ulps(act_tanh(x), exact));
    }
    CHECK_MSG(worst <= 3e-7, "act_tanh: %.3g absolute", worst);
    CHECK_MSG(worst_small <= 3.0, "act_tanh below 0.625: %.2f ulp", worst_small);
    CHECK(act_tanh(1e4f) == 1.0f && act_tanh(-1e4f) == -1.0f);
    CHECK(act_tanh(0.0f) == 0.0f && act_tanh(-0.0f) == 0.0f);
    printf("act_tanh: %.3g absolute, %.2f ulp below 0.625\n", worst, worst_small);
}

// Vectorised the way the GRU uses it (omp simd) and called one at a time: the same values.
static void test_simd_matches_scalar(void)
{
    enum { N = 1000 };
    float x[N], v[N];
    for (int i = 0; i < N; i++)
        x[i] = (float)(i - N / 2) * 0.037f;
#pragma omp simd
    for (int i = 0; i < N; i++)
        v[i] = act_tanh(x[i]) + act_sigmoid(x[i]);
    int same = 0;
    for (int i = 0; i < N; i++) {
        volatile float xi = x[i];
        same += fabsf(v[i] - (act_tanh(xi) + act_sigmoid(xi))) <= 1e-7f;
    }
    CHECK_MSG(same == N, "%d of %d equal", same, N);
}

int main(void)
{
    RUN_TEST(test_exp);
    RUN_TEST(test_sigmoid);
    RUN_TEST(test_tanh);
    RUN_TEST(test_simd_matches_scalar);
    TEST_MAIN_END();
}
