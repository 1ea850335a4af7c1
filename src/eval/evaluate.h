/* From probabilities to decisions (thresholded sets and rankings), and hftc_evaluate. */
#ifndef HFTC_EVAL_EVALUATE_H
#define HFTC_EVAL_EVALUATE_H

#include "eval/metrics.h"

/* Document i's selected labels (probability >= threshold, best first) go to
 * pred[pred_start[i] .. pred_start[i+1]); its k best labels to ranked[i*k ..] (padded with
 * METRICS_NO_LABEL when C < k). pred_start (n + 1) and pred (n * C at most) are allocated here. */
hftc_status decisions_build(const float *probs, size_t n, size_t C, float threshold, size_t k, size_t **pred_start,
                            uint32_t **pred, uint32_t *ranked);

/* The same with the selected labels given by keep (n * C) instead of a threshold. */
hftc_status decisions_from_mask(const float *probs, const bool *keep, size_t n, size_t C, size_t k, size_t **pred_start,
                                uint32_t **pred, uint32_t *ranked);

#endif
