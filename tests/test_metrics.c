/* Tests for src/hier/metrics.c: hand-computed cases, edge cases, invalid input, and a random
 * problem checked against scikit-learn (fixtures from tests/ref/make_metrics_fixture.py). */
#include "hier/metrics.h"

#include "test.h"

#include <math.h>
#include <stdint.h>

#define NO METRICS_NO_LABEL

/* 3 documents, labels 0..3; label 3 is predicted but never gold.
 *   doc 0: gold {0,1}  pred {0,3}  ranked 0 3 1 2
 *   doc 1: gold {1}    pred {1}    ranked 1 0 2
 *   doc 2: gold {2}    pred {}     ranked 3 0 1 2 */
static const size_t hand_gold_start[] = {0, 2, 3, 4};
static const uint32_t hand_gold[] = {0, 1, 1, 2};
static const size_t hand_pred_start[] = {0, 2, 3, 3};
static const uint32_t hand_pred[] = {0, 3, 1};
static const uint32_t hand_ranked[] = {0, 3, 1, 2, NO, 1, 0, 2, NO, NO, 3, 0, 1, 2, NO};

static metrics_input hand_input(void)
{
    return (metrics_input){.n_docs = 3,
                           .n_labels = 4,
                           .gold_start = hand_gold_start,
                           .gold = hand_gold,
                           .pred_start = hand_pred_start,
                           .pred = hand_pred,
                           .ranked = hand_ranked};
}

static void test_hand_computed(void)
{
    metrics m;
    metrics_input in = hand_input();
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_OK);
    CHECK(m.docs == 3);
    /* Per label (tp, fp, fn): 0 (1,0,0) F1 1; 1 (1,0,1) F1 2/3; 2 (0,0,1) F1 0; 3 (0,1,0), not in gold. */
    CHECK(m.labels == 3);
    /* Micro: TP 2, FP 1, FN 2: P = 2/3, R = 2/4, F1 = 4 / (4 + 1 + 2) = 4/7. */
    CHECK_NEAR(m.micro_precision, 2.0 / 3.0, 1e-12);
    CHECK_NEAR(m.micro_recall, 0.5, 1e-12);
    CHECK_NEAR(m.micro_f1, 4.0 / 7.0, 1e-12);
    /* Macro over labels 0,1,2: (1 + 2/3 + 0) / 3 = 5/9. Weighted by support 1, 2, 1: (1 + 4/3 + 0) / 4 = 7/12. */
    CHECK_NEAR(m.macro_f1, 5.0 / 9.0, 1e-12);
    CHECK_NEAR(m.weighted_f1, 7.0 / 12.0, 1e-12);
    /* Only doc 1 matches exactly. */
    CHECK_NEAR(m.exact_match, 1.0 / 3.0, 1e-12);
    /* P@1: 1, 1, 0 -> 2/3.  P@3: 2/3, 1/3, 0 -> 1/3.  P@5: 2/5, 1/5, 1/5 -> 4/15 (denominator 5 even
     * though doc 1 ranks only 3 labels). P@2: 1/2, 1/2, 0 -> 1/3. */
    CHECK_NEAR(m.precision_at[1], 2.0 / 3.0, 1e-12);
    CHECK_NEAR(m.precision_at[2], 1.0 / 3.0, 1e-12);
    CHECK_NEAR(m.precision_at[3], 1.0 / 3.0, 1e-12);
    CHECK_NEAR(m.precision_at[5], 4.0 / 15.0, 1e-12);
    /* nDCG@1: 1, 1, 0 -> 2/3.
     * nDCG@3: doc 0 DCG = 1/log2(2) + 1/log2(4) = 1.5, IDCG = 1 + 1/log2(3); doc 1 = 1; doc 2 = 0.
     * nDCG@5: doc 0 as @3; doc 1 = 1; doc 2 has its label at rank 4: 1/log2(5). */
    double doc0 = 1.5 / (1.0 + 1.0 / log2(3.0));
    CHECK_NEAR(m.ndcg_at[1], 2.0 / 3.0, 1e-12);
    CHECK_NEAR(m.ndcg_at[3], (doc0 + 1.0) / 3.0, 1e-12);
    CHECK_NEAR(m.ndcg_at[5], (doc0 + 1.0 + 1.0 / log2(5.0)) / 3.0, 1e-12);

    size_t tp[4], fp[4], fn[4];
    CHECK_STATUS(metrics_per_label(&in, tp, fp, fn), HFTC_STATUS_OK);
    CHECK(tp[0] == 1 && fp[0] == 0 && fn[0] == 0);
    CHECK(tp[1] == 1 && fp[1] == 0 && fn[1] == 1);
    CHECK(tp[2] == 0 && fp[2] == 0 && fn[2] == 1);
    CHECK(tp[3] == 0 && fp[3] == 1 && fn[3] == 0);
}

static void test_label_mask(void)
{
    /* Mask {0,2,3} drops label 1:
     *   doc 0: gold {0}  pred {0,3}  ranked 0 3 2
     *   doc 1: gold {}   pred {}     ranked 0 2
     *   doc 2: gold {2}  pred {}     ranked 3 0 2 */
    static const bool mask[] = {true, false, true, true};
    metrics_input in = hand_input();
    in.label_mask = mask;
    metrics m;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_OK);
    /* Label 0 (1,0,0) F1 1; label 2 (0,0,1) F1 0; label 3 (0,1,0). Micro 2 / (2 + 1 + 1) = 1/2;
     * macro (1 + 0) / 2; exact: doc 1 (both empty). */
    CHECK(m.labels == 2);
    CHECK_NEAR(m.micro_f1, 0.5, 1e-12);
    CHECK_NEAR(m.macro_f1, 0.5, 1e-12);
    CHECK_NEAR(m.weighted_f1, 0.5, 1e-12); /* supports 1 and 1 */
    CHECK_NEAR(m.exact_match, 1.0 / 3.0, 1e-12);
    /* P@1: 1, 0, 0 -> 1/3.  P@3: 1/3, 0, 1/3 -> 2/9.  P@5: 1/5, 0, 1/5 -> 2/15.
     * nDCG@1: 1, 0, 0 -> 1/3.  nDCG@3 = nDCG@5: 1, 0 (empty gold), 1/log2(4) -> 1/2. */
    CHECK_NEAR(m.precision_at[1], 1.0 / 3.0, 1e-12);
    CHECK_NEAR(m.precision_at[3], 2.0 / 9.0, 1e-12);
    CHECK_NEAR(m.precision_at[5], 2.0 / 15.0, 1e-12);
    CHECK_NEAR(m.ndcg_at[1], 1.0 / 3.0, 1e-12);
    CHECK_NEAR(m.ndcg_at[3], 0.5, 1e-12);
    CHECK_NEAR(m.ndcg_at[5], 0.5, 1e-12);

    size_t tp[4], fp[4], fn[4];
    CHECK_STATUS(metrics_per_label(&in, tp, fp, fn), HFTC_STATUS_OK);
    CHECK(tp[1] == 0 && fp[1] == 0 && fn[1] == 0);
    CHECK(tp[0] == 1 && fp[3] == 1 && fn[2] == 1);
}

static void test_empty_predictions(void)
{
    /* Gold as in the hand case, nothing predicted: TP 0, FN 4; exact 0; no ranking. */
    static const size_t pred_start[] = {0, 0, 0, 0};
    metrics_input in = hand_input();
    in.pred_start = pred_start;
    in.pred = NULL;
    in.ranked = NULL;
    metrics m;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_OK);
    CHECK(m.labels == 3);
    CHECK(m.micro_precision == 0.0 && m.micro_recall == 0.0 && m.micro_f1 == 0.0);
    CHECK(m.macro_f1 == 0.0 && m.weighted_f1 == 0.0);
    CHECK(m.exact_match == 0.0);
    CHECK(m.precision_at[1] == 0.0 && m.ndcg_at[5] == 0.0);
}

static void test_empty_gold(void)
{
    /* No gold anywhere; doc 0 predicts label 1. Micro F1 0 (0 / (0 + 1 + 0)); no label in gold so
     * macro 0; exact: docs 1 and 2 (both empty); P@k and nDCG@k are 0 for empty gold. */
    static const size_t gold_start[] = {0, 0, 0, 0};
    static const size_t pred_start[] = {0, 1, 1, 1};
    static const uint32_t pred[] = {1};
    static const uint32_t ranked[] = {1, 0, NO, NO, NO, 0, NO, NO, NO, NO, NO, NO, NO, NO, NO};
    metrics_input in = {
        .n_docs = 3, .n_labels = 2, .gold_start = gold_start, .pred_start = pred_start, .pred = pred, .ranked = ranked};
    metrics m;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_OK);
    CHECK(m.docs == 3 && m.labels == 0);
    CHECK(m.micro_f1 == 0.0 && m.macro_f1 == 0.0 && m.weighted_f1 == 0.0);
    CHECK_NEAR(m.exact_match, 2.0 / 3.0, 1e-12);
    for (size_t k = 1; k <= METRICS_MAX_K; k++)
        CHECK(m.precision_at[k] == 0.0 && m.ndcg_at[k] == 0.0);
}

static void test_all_correct(void)
{
    /* Two docs, predictions equal gold (listed in another order, with a repeated id that must count
     * once), ranking puts the gold labels first.
     *   doc 0: gold {2,0}  pred {0,2,2}  ranked 2 0 1
     *   doc 1: gold {1}    pred {1}      ranked 1 2 0
     * P@1 1; P@2: 1, 1/2 -> 3/4; P@3: 2/3, 1/3 -> 1/2; P@5: 2/5, 1/5 -> 3/10; nDCG 1 everywhere. */
    static const size_t gold_start[] = {0, 2, 3};
    static const uint32_t gold[] = {2, 0, 1};
    static const size_t pred_start[] = {0, 3, 4};
    static const uint32_t pred[] = {0, 2, 2, 1};
    static const uint32_t ranked[] = {2, 0, 1, NO, NO, 1, 2, 0, NO, NO};
    metrics_input in = {.n_docs = 2,
                        .n_labels = 3,
                        .gold_start = gold_start,
                        .gold = gold,
                        .pred_start = pred_start,
                        .pred = pred,
                        .ranked = ranked};
    metrics m;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_OK);
    CHECK(m.labels == 3);
    CHECK_NEAR(m.micro_precision, 1.0, 1e-12);
    CHECK_NEAR(m.micro_f1, 1.0, 1e-12);
    CHECK_NEAR(m.macro_f1, 1.0, 1e-12);
    CHECK_NEAR(m.exact_match, 1.0, 1e-12);
    CHECK_NEAR(m.precision_at[1], 1.0, 1e-12);
    CHECK_NEAR(m.precision_at[2], 0.75, 1e-12);
    CHECK_NEAR(m.precision_at[3], 0.5, 1e-12);
    CHECK_NEAR(m.precision_at[5], 0.3, 1e-12);
    for (size_t k = 1; k <= METRICS_MAX_K; k++)
        CHECK_NEAR(m.ndcg_at[k], 1.0, 1e-12);
}

static void test_repeated_gold(void)
{
    /* Gold {1,1} is the set {1}: pred {1} is an exact match with TP 1, FN 0. */
    static const size_t gold_start[] = {0, 2};
    static const uint32_t gold[] = {1, 1};
    static const size_t pred_start[] = {0, 1};
    static const uint32_t pred[] = {1};
    metrics_input in = {
        .n_docs = 1, .n_labels = 2, .gold_start = gold_start, .gold = gold, .pred_start = pred_start, .pred = pred};
    metrics m;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_OK);
    CHECK_NEAR(m.micro_f1, 1.0, 1e-12);
    CHECK_NEAR(m.exact_match, 1.0, 1e-12);
    size_t tp[2], fp[2], fn[2];
    CHECK_STATUS(metrics_per_label(&in, tp, fp, fn), HFTC_STATUS_OK);
    CHECK(tp[1] == 1 && fn[1] == 0 && fp[1] == 0);
}

static void test_no_documents(void)
{
    static const size_t start[] = {0};
    metrics_input in = {.n_docs = 0, .n_labels = 5, .gold_start = start, .pred_start = start};
    metrics m;
    m.micro_f1 = 7.0;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_OK);
    CHECK(m.docs == 0 && m.labels == 0 && m.micro_f1 == 0.0 && m.exact_match == 0.0 && m.precision_at[1] == 0.0);
}

static void test_invalid(void)
{
    metrics m;
    metrics_input in = hand_input();

    static const uint32_t gold_bad[] = {0, 1, 1, 4}; /* 4 is not below 4 labels */
    in.gold = gold_bad;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "gold label 4 of document 2") != NULL);
    in = hand_input();

    static const uint32_t pred_bad[] = {0, 3, 99};
    in.pred = pred_bad;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "predicted label 99") != NULL);
    size_t tp[4], fp[4], fn[4];
    CHECK_STATUS(metrics_per_label(&in, tp, fp, fn), HFTC_STATUS_INVALID_ARGUMENT);
    in = hand_input();

    /* A masked-out label is still range-checked. */
    static const bool mask[] = {true, true, true, true};
    static const uint32_t pred_big[] = {0, 3, UINT32_MAX - 1};
    in.pred = pred_big;
    in.label_mask = mask;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_INVALID_ARGUMENT);
    in = hand_input();

    uint32_t ranked[15];
    memcpy(ranked, hand_ranked, sizeof ranked);
    ranked[6] = 4;
    in.ranked = ranked;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "ranked label 4") != NULL);
    ranked[6] = 1; /* doc 1 ranks 1 1 2 */
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "repeats label 1") != NULL);
    ranked[6] = 0;
    ranked[9] = 3; /* doc 1 ranks 1 0 2 - 3: a label after padding */
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_INVALID_ARGUMENT);
    ranked[9] = NO;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_OK);
    in = hand_input();

    static const size_t decreasing[] = {0, 2, 1, 4};
    in.gold_start = decreasing;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_INVALID_ARGUMENT);
    in = hand_input();
    in.pred_start = NULL;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_INVALID_ARGUMENT);
    in = hand_input();
    in.gold = NULL;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_INVALID_ARGUMENT);
}

/* The random problem of tests/ref/make_metrics_fixture.py. */
typedef struct {
    size_t n_docs, n_labels;
    bool mask[64];
    size_t *gold_start, *pred_start;
    uint32_t *gold, *pred, *ranked;
} fixture;

/* Parses up to max ids from s (ending at '|' or end of line) into ids; returns the count or
 * (size_t)-1 on a malformed id. */
static size_t parse_ids(char **s, uint32_t *ids, size_t max)
{
    size_t n = 0;
    char *p = *s;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '|' || *p == '\n' || *p == '\0')
            break;
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || n == max)
            return (size_t)-1;
        ids[n++] = (uint32_t)v;
        p = end;
    }
    if (*p == '|')
        p++;
    *s = p;
    return n;
}

static bool fixture_load(fixture *f, const char *path)
{
    *f = (fixture){0};
    FILE *fp = fopen(path, "r");
    if (!fp)
        return false;
    char line[4096];
    bool ok = true;
    size_t doc = 0, n_gold = 0, n_pred = 0, cap = 0;
    while (ok && fgets(line, sizeof line, fp)) {
        if (line[0] == '#')
            continue;
        if (!f->n_docs) {
            ok = sscanf(line, "%zu %zu", &f->n_docs, &f->n_labels) == 2 && f->n_labels <= 64;
            cap = f->n_docs * f->n_labels;
            f->gold_start = calloc(f->n_docs + 1, sizeof(size_t));
            f->pred_start = calloc(f->n_docs + 1, sizeof(size_t));
            f->gold = calloc(cap, sizeof(uint32_t));
            f->pred = calloc(cap, sizeof(uint32_t));
            f->ranked = calloc(f->n_docs * METRICS_MAX_K, sizeof(uint32_t));
        } else if (strncmp(line, "mask ", 5) == 0) {
            char *p = line + 5;
            for (size_t l = 0; l < f->n_labels; l++)
                f->mask[l] = strtoul(p, &p, 10) != 0;
        } else if (doc < f->n_docs) {
            char *p = line;
            size_t g = parse_ids(&p, f->gold + n_gold, cap - n_gold);
            size_t q = g == (size_t)-1 ? g : parse_ids(&p, f->pred + n_pred, cap - n_pred);
            size_t r = q == (size_t)-1 ? q : parse_ids(&p, f->ranked + doc * METRICS_MAX_K, METRICS_MAX_K);
            ok = r == METRICS_MAX_K;
            n_gold += g;
            n_pred += q;
            doc++;
            f->gold_start[doc] = n_gold;
            f->pred_start[doc] = n_pred;
        }
    }
    fclose(fp);
    return ok && doc == f->n_docs && doc > 0;
}

static void fixture_free(fixture *f)
{
    free(f->gold_start);
    free(f->pred_start);
    free(f->gold);
    free(f->pred);
    free(f->ranked);
}

/* Value of "key value" in the expected file, NAN if absent. */
static double expected_value(const char *path, const char *key)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NAN;
    char line[256], name[64];
    double v, found = NAN;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "%63s %lf", name, &v) == 2 && strcmp(name, key) == 0)
            found = v;
    fclose(fp);
    return found;
}

static void check_against(const metrics *m, const char *prefix)
{
    static const char *const path = "fixtures/metrics_expected.txt";
    char key[64];
    snprintf(key, sizeof key, "%slabels", prefix);
    CHECK((double)m->labels == expected_value(path, key));
    snprintf(key, sizeof key, "%smicro_f1", prefix);
    CHECK_NEAR(m->micro_f1, expected_value(path, key), 1e-9);
    snprintf(key, sizeof key, "%smacro_f1", prefix);
    CHECK_NEAR(m->macro_f1, expected_value(path, key), 1e-9);
    snprintf(key, sizeof key, "%sexact_match", prefix);
    CHECK_NEAR(m->exact_match, expected_value(path, key), 1e-9);
    for (size_t k = 1; k <= METRICS_MAX_K; k += 2) {
        snprintf(key, sizeof key, "%sp@%zu", prefix, k);
        CHECK_NEAR(m->precision_at[k], expected_value(path, key), 1e-9);
        snprintf(key, sizeof key, "%sndcg@%zu", prefix, k);
        CHECK_NEAR(m->ndcg_at[k], expected_value(path, key), 1e-9);
    }
}

static void test_sklearn_fixture(void)
{
    fixture f;
    bool loaded = fixture_load(&f, "fixtures/metrics_case.txt");
    CHECK_MSG(loaded, "cannot read fixtures/metrics_case.txt");
    if (!loaded) {
        fixture_free(&f);
        return;
    }
    metrics_input in = {.n_docs = f.n_docs,
                        .n_labels = f.n_labels,
                        .gold_start = f.gold_start,
                        .gold = f.gold,
                        .pred_start = f.pred_start,
                        .pred = f.pred,
                        .ranked = f.ranked};
    metrics m;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_OK);
    CHECK(m.docs == 200);
    check_against(&m, "");
    in.label_mask = f.mask;
    CHECK_STATUS(metrics_compute(&m, &in), HFTC_STATUS_OK);
    check_against(&m, "masked_");
    fixture_free(&f);
}

int main(void)
{
    RUN_TEST(test_hand_computed);
    RUN_TEST(test_label_mask);
    RUN_TEST(test_empty_predictions);
    RUN_TEST(test_empty_gold);
    RUN_TEST(test_all_correct);
    RUN_TEST(test_repeated_gold);
    RUN_TEST(test_no_documents);
    RUN_TEST(test_invalid);
    RUN_TEST(test_sklearn_fixture);
    TEST_MAIN_END();
}
