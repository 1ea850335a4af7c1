/* Tuning the thresholds a trained model stores (thresholds.c), by the searches of hier/threshold_search.h
 * on the validation split. */
#ifndef HFTC_TRAIN_THRESHOLDS_H
#define HFTC_TRAIN_THRESHOLDS_H

#include "hier/decisions.h"
#include "model/model.h"
#include "train/trainer.h"

#include <jansson.h>

/* The validation split's probabilities and scores under the model's scoring (va->n x C each, caller frees)
 * and gold label sets (the caller frees start and labels). */
hftc_status valid_scores(hftc_model *m, const split *va, float **probs, float **scores, gold_sets *gold);
/* The threshold in 0.05 steps with the best validation micro-F1 of the whole model's decisions into m. */
hftc_status tune_threshold(hftc_model *m, const float *probs, const float *scores, const gold_sets *gold,
                           json_t *record);
/* One threshold per label into m, parents first. */
hftc_status tune_label_thresholds(hftc_model *m, const float *probs, const float *scores, const gold_sets *gold,
                                  json_t *record);

/* With single-path training data (taxonomy_single_path): the leaf decision's validation micro-F1 beside the
 * model's rule as tuned (its scoring, threshold, per-label thresholds); the better becomes the model's
 * scoring (ties: the model's). */
hftc_status tune_scoring(hftc_model *m, const split *va, json_t *record);

#endif
