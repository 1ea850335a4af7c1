/* Threshold searches on validation scores: the best threshold of an epoch (the trainer's early stopping
 * with --tune-threshold), and the model's threshold and per-label thresholds once it is trained. */
#include "train/thresholds.h"

#include "core/error.h"
#include "core/log.h"
#include "eval/evaluate.h"
#include "hier/scoring.h"
#include "model/model_predict.h"

#include <math.h>
#include <stdlib.h>

/* The metrics of the decisions pred (CSR over gold's documents) against gold; frees the decisions. */
static hftc_status score_decisions(const gold_sets *gold, size_t *pred_start, uint32_t *pred, metrics *mt)
{
    metrics_input mi = {.n_docs = gold->n,
                        .n_labels = gold->n_labels,
                        .gold_start = gold->start,
                        .gold = gold->labels,
                        .pred_start = pred_start,
                        .pred = pred};
    hftc_status st = metrics_compute(mt, &mi);
    free(pred_start), free(pred);
    return st;
}

/* The metrics of scores (gold->n x C) thresholded at threshold. */
hftc_status metrics_at(const float *scores, size_t C, const gold_sets *gold, float threshold, metrics *mt)
{
    size_t *pred_start;
    uint32_t *pred;
    TRY(decisions_build(scores, gold->n, C, threshold, 0, &pred_start, &pred, NULL));
    return score_decisions(gold, pred_start, pred, mt);
}

/* Micro-F1 of scores (gold->n x C) thresholded at threshold. */
static hftc_status micro_f1_at(const float *scores, size_t C, const gold_sets *gold, float threshold, double *micro_f1)
{
    metrics mt;
    TRY(metrics_at(scores, C, gold, threshold, &mt));
    *micro_f1 = mt.micro_f1;
    return HFTC_STATUS_OK;
}

#define THRESHOLD_STEPS 19 /* the thresholds tried: 0.05, 0.10, ..., 0.95 */

/* The threshold step with the best micro-F1 (ties: the one closest to 0.5). */
hftc_status best_threshold(const float *scores, size_t C, const gold_sets *gold, float *threshold, double *micro_f1)
{
    *threshold = 0.5f;
    *micro_f1 = -1.0;
    for (int step = 1; step <= THRESHOLD_STEPS; step++) {
        float candidate = 0.05f * (float)step;
        double f1;
        TRY(micro_f1_at(scores, C, gold, candidate, &f1));
        if (f1 > *micro_f1 + 1e-12 || (f1 > *micro_f1 - 1e-12 && fabsf(candidate - 0.5f) < fabsf(*threshold - 0.5f))) {
            *micro_f1 = f1;
            *threshold = candidate;
        }
    }
    return HFTC_STATUS_OK;
}

/* The validation split's scores under the model's scoring (va->n x C, caller frees) and gold label sets. */
hftc_status valid_scores(hftc_model *m, const split *va, float **scores, gold_sets *gold)
{
    size_t C = m->net_config.n_classes, n_gold = 0;
    *scores = mem_alloc(va->n * C, sizeof **scores);
    size_t *gold_start = mem_alloc(va->n + 1, sizeof *gold_start);
    uint32_t *gold_labels = mem_alloc(va->ds->label_start[va->ds->n_docs] + 1, sizeof *gold_labels);
    *gold = (gold_sets){va->n, strmap_count(&m->tax.names), gold_start, gold_labels};
    hftc_status st = *scores && gold_start && gold_labels ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK)
        st = model_predict_dataset(m, va->ds, va->idx, va->n, NULL, NULL, *scores, NULL);
    if (st == HFTC_STATUS_OK) {
        scoring_apply(&m->compute, m->scoring, &m->tax, *scores, *scores, va->n);
        gold_start[0] = 0;
        for (size_t i = 0; i < va->n; i++) {
            for (size_t j = va->ds->label_start[va->idx[i]]; j < va->ds->label_start[va->idx[i] + 1]; j++)
                gold_labels[n_gold++] = va->ds->labels[j];
            gold_start[i + 1] = n_gold;
        }
    }
    return st;
}

/* The threshold in 0.05 steps with the best validation micro-F1 of the whole model's decisions (all
 * parts, the model's scoring, every label); ties go to the one closest to 0.5. */
hftc_status tune_threshold(hftc_model *m, const float *scores, const gold_sets *gold, json_t *record)
{
    float threshold = m->threshold;
    double best_f1 = 0.0;
    TRY(best_threshold(scores, m->net_config.n_classes, gold, &threshold, &best_f1));
    m->threshold = threshold;
    log_info("threshold %.2f maximises validation micro-F1 (%.4f, %s scoring)", (double)threshold, best_f1,
             scoring_name(m->scoring));
    json_object_set_new(record, "tuned_threshold", json_real(threshold));
    json_object_set_new(record, "tuned_valid_micro_f1", json_real(best_f1));
    return HFTC_STATUS_OK;
}

/* The validation metrics of the decisions keep (gold->n x C, over scores). */
static hftc_status metrics_of_mask(const float *scores, const bool *keep, size_t C, const gold_sets *gold, metrics *mt)
{
    size_t *pred_start;
    uint32_t *pred;
    TRY(decisions_from_mask(scores, keep, gold->n, C, 0, &pred_start, &pred, NULL));
    return score_decisions(gold, pred_start, pred, mt);
}

/* One threshold per label (0.05 steps) from the validation scores, parents first: each label's gives the
 * best F1 of its validation decisions, given its parents' (bsf, msf: a label is kept only with a kept
 * parent); ties, and labels no threshold gives an F1 above 0, keep the model's threshold. */
hftc_status tune_label_thresholds(hftc_model *m, const float *scores, const gold_sets *gold, json_t *record)
{
    const taxonomy *t = &m->tax;
    size_t C = m->net_config.n_classes, n = gold->n;
    bool bounded = m->scoring == SCORING_BSF || m->scoring == SCORING_MSF;
    bool *is_gold = mem_calloc(n * C + 1, sizeof *is_gold), *keep = mem_calloc(n * C + 1, sizeof *keep);
    bool *eligible = mem_alloc(n + 1, sizeof *eligible);
    float *thresholds = mem_alloc(C + 1, sizeof *thresholds);
    if (!is_gold || !keep || !eligible || !thresholds) {
        free(is_gold), free(keep), free(eligible), free(thresholds);
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
        float best = m->threshold;
        double best_f1 = -1.0;
        for (int step = 0; step <= THRESHOLD_STEPS; step++) { /* step 0: the model's threshold */
            float candidate = step ? 0.05f * (float)step : m->threshold;
            size_t tp = 0, fp = 0, fn = 0;
            for (size_t i = 0; i < n; i++) {
                bool predicted = eligible[i] && scores[i * C + c] >= candidate, truth = is_gold[i * C + c];
                tp += predicted && truth, fp += predicted && !truth, fn += !predicted && truth;
            }
            double f1 = tp ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 0.0;
            if (f1 > best_f1 + 1e-12 ||
                (f1 > best_f1 - 1e-12 && fabsf(candidate - m->threshold) < fabsf(best - m->threshold))) {
                best_f1 = f1;
                best = candidate;
            }
        }
        thresholds[c] = best;
        for (size_t i = 0; i < n; i++)
            keep[i * C + c] = eligible[i] && scores[i * C + c] >= best;
    }
    metrics per_label, one;
    hftc_status st = metrics_of_mask(scores, keep, C, gold, &per_label);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < n * C; i++)
        keep[i] = false;
    if (st == HFTC_STATUS_OK) {
        scoring_select(m->scoring, t, scores, m->threshold, NULL, keep, n);
        st = metrics_of_mask(scores, keep, C, gold, &one);
    }
    if (st == HFTC_STATUS_OK) {
        free(m->label_thresholds);
        m->label_thresholds = thresholds, thresholds = NULL;
        log_info("per-label thresholds: validation micro-F1 %.4f, macro-F1 %.4f (one threshold, %.2f: %.4f, %.4f)",
                 per_label.micro_f1, per_label.macro_f1, (double)m->threshold, one.micro_f1, one.macro_f1);
        json_object_set_new(record, "label_thresholds_valid_micro_f1", json_real(per_label.micro_f1));
        json_object_set_new(record, "label_thresholds_valid_macro_f1", json_real(per_label.macro_f1));
    }
    free(is_gold), free(keep), free(eligible), free(thresholds);
    return st;
}
