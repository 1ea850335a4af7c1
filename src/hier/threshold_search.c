/* Threshold searches on validation scores: one threshold for every output (the trainer's epochs with
 * --tune-threshold, the model's threshold) and one per label, parents first (--tune-label-thresholds). */
#include "hier/threshold_search.h"

#include "core/arena.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>

#define THRESHOLD_STEPS 19 /* the thresholds tried: 0.05, 0.10, ..., 0.95 */

hftc_status threshold_search_best(const float *scores, size_t C, const gold_sets *gold, bool weighted, float *threshold,
                                  double *best)
{
    *threshold = 0.5f;
    *best = -1.0;
    for (int step = 1; step <= THRESHOLD_STEPS; step++) {
        float candidate = 0.05f * (float)step;
        metrics mt;
        TRY(decisions_metrics_at(scores, C, gold, candidate, &mt));
        double f1 = weighted ? mt.weighted_f1 : mt.micro_f1;
        if (f1 > *best + 1e-12 || (f1 > *best - 1e-12 && fabsf(candidate - 0.5f) < fabsf(*threshold - 0.5f))) {
            *best = f1;
            *threshold = candidate;
        }
    }
    return HFTC_STATUS_OK;
}

// The threshold (step 0: base; then 0.05 steps) with the best F1 of node c's decisions over n documents
// (a document decides c only where eligible); ties go to the one closest to base.
static float best_label_threshold(const float *scores, const bool *is_gold, const bool *eligible, size_t n, size_t C,
                                  uint32_t c, float base)
{
    float best = base;
    double best_f1 = -1.0;
    for (int step = 0; step <= THRESHOLD_STEPS; step++) {
        float candidate = step ? 0.05f * (float)step : base;
        size_t tp = 0, fp = 0, fn = 0;
        for (size_t i = 0; i < n; i++) {
            bool predicted = eligible[i] && scores[i * C + c] >= candidate, truth = is_gold[i * C + c];
            tp += predicted && truth, fp += predicted && !truth, fn += !predicted && truth;
        }
        double f1 = tp ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 0.0;
        if (f1 > best_f1 + 1e-12 || (f1 > best_f1 - 1e-12 && fabsf(candidate - base) < fabsf(best - base))) {
            best_f1 = f1;
            best = candidate;
        }
    }
    return best;
}

hftc_status threshold_search_labels(scoring_kind scoring, const taxonomy *t, const float *probs, const float *scores,
                                    const gold_sets *gold, float base, float *thresholds)
{
    size_t C = t->n_nodes, n = gold->n;
    const float *values = scoring_decided(scoring, probs, scores);
    bool bounded = scoring_bounded_by_parent(scoring);
    bool *is_gold = mem_calloc(n * C + 1, sizeof *is_gold), *keep = mem_calloc(n * C + 1, sizeof *keep);
    bool *eligible = mem_alloc(n + 1, sizeof *eligible);
    if (!is_gold || !keep || !eligible) {
        free(is_gold), free(keep), free(eligible);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = gold->start[i]; j < gold->start[i + 1]; j++)
            if (gold->labels[j] < C)
                is_gold[i * C + gold->labels[j]] = true;
    for (size_t o = 0; o < C; o++) {
        uint32_t c = t->order[o];
        for (size_t i = 0; i < n; i++)
            eligible[i] = !bounded || scoring_parent_kept(t, keep + i * C, c);
        thresholds[c] = best_label_threshold(values, is_gold, eligible, n, C, c, base);
        for (size_t i = 0; i < n; i++)
            keep[i * C + c] = eligible[i] && values[i * C + c] >= thresholds[c];
    }
    free(is_gold), free(keep), free(eligible);
    return HFTC_STATUS_OK;
}
