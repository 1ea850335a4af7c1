/* Threshold searches on validation scores (thresholds.c). */
#ifndef HFTC_TRAIN_THRESHOLDS_H
#define HFTC_TRAIN_THRESHOLDS_H

#include "eval/metrics.h"
#include "model/model.h"
#include "train/trainer.h"

#include <jansson.h>

/* Validation gold label sets (CSR over n documents, ids below n_labels) to score decisions against. */
typedef struct {
    size_t n, n_labels;
    const size_t *start;
    const uint32_t *labels;
} gold_sets;

/* The metrics of scores (gold->n x C) thresholded at threshold. */
hftc_status metrics_at(const float *scores, size_t C, const gold_sets *gold, float threshold, metrics *mt);
/* The threshold step (0.05, 0.10, ..., 0.95) with the best micro-F1 (ties: the one closest to 0.5). */
hftc_status best_threshold(const float *scores, size_t C, const gold_sets *gold, float *threshold, double *micro_f1);
/* The validation split's scores under the model's scoring (va->n x C, caller frees) and gold label sets (the
 * caller frees start and labels). */
hftc_status valid_scores(hftc_model *m, const split *va, float **scores, gold_sets *gold);
/* The threshold in 0.05 steps with the best validation micro-F1 of the whole model's decisions into m. */
hftc_status tune_threshold(hftc_model *m, const float *scores, const gold_sets *gold, json_t *record);
/* One threshold per label into m, parents first. */
hftc_status tune_label_thresholds(hftc_model *m, const float *scores, const gold_sets *gold, json_t *record);

#endif
