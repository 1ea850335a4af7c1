/* A minimal test harness: CHECK records a failure and goes on; TEST_MAIN prints
 * "N passed, N failed" and exits non-zero if anything failed. */
#ifndef HFTC_TEST_H
#define HFTC_TEST_H

#include "hftc.h"

#include "core/compute.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_checks_passed, test_checks_failed;

/* The threads of the layers and networks a test runs itself: the count ctest gives (OMP_NUM_THREADS=2). */
static const compute_context *const test_compute = &(const compute_context){2};

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

/* Predicts texts with m into before (n x C), saves m to path, loads it back and checks that it predicts the same
 * (test_check_loaded_predictions). Returns the loaded model for more checks (NULL if it did not load); the caller
 * frees it. */
static inline hftc_model *test_save_and_reload(hftc_model *m, const char *path, const char *const *texts, size_t n,
                                               size_t C, float *before, const char *label)
{
    CHECK_STATUS(hftc_predict_texts(m, texts, n, before), HFTC_STATUS_OK);
    CHECK_STATUS(hftc_model_save(m, path), HFTC_STATUS_OK);
    hftc_model *loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, path), HFTC_STATUS_OK);
    if (loaded)
        test_check_loaded_predictions(loaded, texts, n, C, before, label);
    return loaded;
}

/* The epochs m's training ran, over all its parts (0 if its record says nothing), the number of parts and
 * how many came from a checkpoint. */
static inline size_t test_epochs_run(const hftc_model *m, size_t *n_parts, size_t *from_checkpoint)
{
    char *text = hftc_model_describe(m);
    json_t *d = text ? json_loads(text, 0, NULL) : NULL, *training = json_object_get(d, "training");
    json_t *parts = json_object_get(training, "parts");
    size_t n = 0;
    for (size_t p = 0; p < json_array_size(parts); p++)
        n += (size_t)json_integer_value(json_object_get(json_array_get(parts, p), "epochs_run"));
    *n_parts = json_array_size(parts);
    *from_checkpoint = (size_t)json_integer_value(json_object_get(training, "levels_from_checkpoint"));
    json_decref(d);
    free(text);
    return n;
}

/* Trains o (a flat or level model; m: its uninterrupted training) again with a checkpoint at path and a
 * time limit that stops it after every epoch, call after call, to the end: it stops once per epoch but
 * the last, each checkpoint loads as a model, and it ends with m's model, the texts' predictions bit for
 * bit. Removes the checkpoint. */
static inline void test_check_checkpoint(const hftc_train_options *options, hftc_model *m, const char *path,
                                         const char *const *texts, size_t n, const char *label)
{
    hftc_train_options o = *options;
    o.checkpoint_path = path;
    o.time_limit = 1e-6f;
    remove(path);
    hftc_model *resumed = NULL;
    hftc_status st;
    size_t stops = 0, C = hftc_model_num_labels(m), parts, from_checkpoint;
    size_t epochs = test_epochs_run(m, &parts, &from_checkpoint);
    while ((st = hftc_train(&o, &resumed)) == HFTC_STATUS_INCOMPLETE && stops < 100) {
        stops++;
        CHECK_MSG(strstr(hftc_last_error(), "time limit") && strstr(hftc_last_error(), path), "%s: %s", label,
                  hftc_last_error());
        hftc_model *ck = NULL;
        CHECK_STATUS(hftc_model_load(&ck, path), HFTC_STATUS_OK);
        /* its description says how far the training got: levels done, or the level in training's epochs */
        char *text = ck ? hftc_model_describe(ck) : NULL;
        json_t *d = text ? json_loads(text, 0, NULL) : NULL, *summary = json_object_get(d, "checkpoint");
        json_t *partial = json_object_get(summary, "in_progress");
        const char *units = json_string_value(json_object_get(summary, "units"));
        CHECK_MSG(units && !strcmp(units, "levels") &&
                      (size_t)json_integer_value(json_object_get(summary, "total")) == parts &&
                      (json_is_null(partial) || json_integer_value(json_object_get(partial, "epochs")) >= 1),
                  "%s: checkpoint summary %s", label, text ? text : "(none)");
        json_decref(d);
        free(text);
        hftc_model_free(ck);
    }
    CHECK_STATUS(st, HFTC_STATUS_OK);
    CHECK_MSG(stops + 1 == epochs && epochs > 1, "%s: %zu stops for %zu epochs", label, stops, epochs);
    float *a = malloc(n * C * sizeof *a), *b = malloc(n * C * sizeof *b);
    if (resumed && a && b) {
        CHECK_STATUS(hftc_predict_texts(m, texts, n, a), HFTC_STATUS_OK);
        CHECK_STATUS(hftc_predict_texts(resumed, texts, n, b), HFTC_STATUS_OK);
        CHECK_MSG(!memcmp(a, b, n * C * sizeof *a) && hftc_model_threshold(resumed) == hftc_model_threshold(m),
                  "%s: the training continued from its checkpoint differs (max difference %.3g)", label,
                  test_max_diff(a, b, n * C));
        size_t resumed_parts;
        CHECK(test_epochs_run(resumed, &resumed_parts, &from_checkpoint) == epochs && resumed_parts == parts);
        CHECK_MSG(from_checkpoint + 1 == parts, "%s: %zu of %zu levels from the checkpoint", label, from_checkpoint,
                  parts);
    }
    free(a), free(b);
    hftc_model_free(resumed);
    remove(path);
}

#endif
