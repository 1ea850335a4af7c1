/* A minimal test harness: CHECK records a failure and goes on; TEST_MAIN prints
 * "N passed, N failed" and exits non-zero if anything failed. */
#ifndef HFTC_TEST_H
#define HFTC_TEST_H

#include "hftc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_checks_passed, test_checks_failed;

/* A log callback that keeps the last warning (for tests of warning texts) and counts warnings:
 *   test_warnings = 0; hftc_set_log(test_capture_warnings, HFTC_LOG_WARN, NULL); */
static char test_warning[1024];
static int test_warnings;

static inline void test_capture_warnings(hftc_log_level level, const char *message, void *user)
{
    (void)user;
    if (level == HFTC_LOG_WARN) {
        snprintf(test_warning, sizeof test_warning, "%s", message);
        test_warnings++;
    }
}

/* The largest absolute difference between a and b (n floats). */
static inline double test_max_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fabs((double)a[i] - b[i]) > m ? fabs((double)a[i] - b[i]) : m;
    return m;
}

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            test_checks_passed++;                                                                                      \
        } else {                                                                                                       \
            test_checks_failed++;                                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                   \
        }                                                                                                              \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                                           \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            test_checks_passed++;                                                                                      \
        } else {                                                                                                       \
            test_checks_failed++;                                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                                   \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
    } while (0)

/* |a - b| <= tol * max(1, |b|) */
#define CHECK_NEAR(a, b, tol)                                                                                          \
    do {                                                                                                               \
        double check_a_ = (a), check_b_ = (b);                                                                         \
        double check_scale_ = fabs(check_b_) > 1.0 ? fabs(check_b_) : 1.0;                                             \
        CHECK_MSG(fabs(check_a_ - check_b_) <= (tol)*check_scale_, "%s = %.9g, expected %.9g", #a, check_a_,           \
                  check_b_);                                                                                           \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                                                   \
    do {                                                                                                               \
        int check_status_ = (int)(expr);                                                                               \
        CHECK_MSG(check_status_ == (int)(expected), "status %d, expected %d (%s)", check_status_, (int)(expected),     \
                  hftc_last_error());                                                                                  \
    } while (0)

#define RUN_TEST(fn)                                                                                                   \
    do {                                                                                                               \
        int failed_before_ = test_checks_failed;                                                                       \
        fn();                                                                                                          \
        fprintf(stderr, "%s %s\n", test_checks_failed == failed_before_ ? "ok  " : "FAIL", #fn);                       \
    } while (0)

#define TEST_MAIN_END()                                                                                                \
    do {                                                                                                               \
        printf("%d passed, %d failed\n", test_checks_passed, test_checks_failed);                                      \
        return test_checks_failed ? 1 : 0;                                                                             \
    } while (0)

/* The predictions of a model loaded from a file (texts, n x C) against before, those of the model that
 * was saved (a trained model: no word cache). With the cache off they are the same products, so
 * identical: the file loses nothing. With the cache a loaded model turns on they agree within float
 * rounding: a cached word's products come from a GEMM of another shape, and BLAS kernels may round a
 * row differently with its place in a product (OpenBLAS's AVX2 kernels do; the AVX-512 ones mostly
 * not). Leaves the loaded model's cache on. */
static inline void test_check_loaded_predictions(hftc_model *loaded, const char *const *texts, size_t n, size_t C,
                                                 const float *before, const char *label)
{
    float *after = malloc(n * C * sizeof(float));
    if (!after) {
        CHECK_MSG(0, "%s: out of memory", label);
        return;
    }
    CHECK_STATUS(hftc_model_set_word_cache(loaded, 0), HFTC_STATUS_OK);
    CHECK_STATUS(hftc_predict_texts(loaded, texts, n, after), HFTC_STATUS_OK);
    CHECK_MSG(memcmp(before, after, n * C * sizeof(float)) == 0,
              "%s: predictions differ after save + load (max difference %.3g)", label,
              test_max_diff(before, after, n * C));
    CHECK_STATUS(hftc_model_set_word_cache(loaded, HFTC_WORD_CACHE_DEFAULT_BYTES), HFTC_STATUS_OK);
    CHECK_STATUS(hftc_predict_texts(loaded, texts, n, after), HFTC_STATUS_OK);
    double cached = test_max_diff(before, after, n * C);
    CHECK_MSG(cached <= 1e-6, "%s: the word cache changes predictions by %.3g", label, cached);
    free(after);
}

#endif
