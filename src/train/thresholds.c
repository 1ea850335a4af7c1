/* Tuning the thresholds a trained model stores, once it is trained: the validation scores under its
 * scoring, then its threshold and per-label thresholds from the searches (hier/threshold_search.c). */
#include "train/thresholds.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/log.h"
#include "hier/threshold_search.h"
#include "model/model_predict.h"

#include <stdlib.h>

/* The validation split's probabilities and scores under the model's scoring (va->n x C each, caller frees)
 * and gold label sets. */
hftc_status valid_scores(hftc_model *m, const split *va, float **probs, float **scores, gold_sets *gold)
{
    size_t C = m->net_config.n_classes, n_gold = 0;
    *probs = mem_alloc(va->n * C, sizeof **probs);
    *scores = mem_alloc(va->n * C, sizeof **scores);
    size_t *gold_start = mem_alloc(va->n + 1, sizeof *gold_start);
    uint32_t *gold_labels = mem_alloc(va->ds->label_start[va->ds->n_docs] + 1, sizeof *gold_labels);
    *gold = (gold_sets){va->n, strmap_count(&m->tax.names), gold_start, gold_labels};
    hftc_status st = *probs && *scores && gold_start && gold_labels ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK)
        st = model_predict_dataset(m, va->ds, va->idx, va->n, NULL, NULL, *probs, NULL);
    if (st == HFTC_STATUS_OK) {
        scoring_apply(&m->compute, m->scoring, &m->tax, *probs, *scores, va->n);
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
hftc_status tune_threshold(hftc_model *m, const float *probs, const float *scores, const gold_sets *gold,
                           json_t *record)
{
    float threshold = m->threshold;
    double best_f1 = 0.0;
    TRY(threshold_search_best(scoring_decided(m->scoring, probs, scores), m->net_config.n_classes, gold, false,
                              &threshold, &best_f1));
    m->threshold = threshold;
    log_info("threshold %.2f maximises validation micro-F1 (%.4f, %s scoring)", (double)threshold, best_f1,
             scoring_name(m->scoring));
    json_object_set_new(record, "tuned_threshold", json_real(threshold));
    json_object_set_new(record, "tuned_valid_micro_f1", json_real(best_f1));
    return HFTC_STATUS_OK;
}

/* One threshold per label from the validation scores (threshold_search_labels); the validation metrics
 * of its decisions are logged beside those of the model's one threshold. */
hftc_status tune_label_thresholds(hftc_model *m, const float *probs, const float *scores, const gold_sets *gold,
                                  json_t *record)
{
    float *thresholds = mem_alloc(m->tax.n_nodes + 1, sizeof *thresholds);
    if (!thresholds)
        return HFTC_STATUS_OUT_OF_MEMORY;
    decision_rule per_label_rule = {m->scoring, m->threshold, thresholds}, one_rule = {m->scoring, m->threshold, NULL};
    metrics per_label, one;
    hftc_status st = threshold_search_labels(m->scoring, &m->tax, probs, scores, gold, m->threshold, thresholds);
    if (st == HFTC_STATUS_OK)
        st = decisions_metrics(&per_label_rule, &m->tax, probs, scores, gold, &per_label);
    if (st == HFTC_STATUS_OK)
        st = decisions_metrics(&one_rule, &m->tax, probs, scores, gold, &one);
    if (st == HFTC_STATUS_OK) {
        free(m->label_thresholds);
        m->label_thresholds = thresholds, thresholds = NULL;
        log_info("per-label thresholds: validation micro-F1 %.4f, macro-F1 %.4f (one threshold, %.2f: %.4f, %.4f)",
                 per_label.micro_f1, per_label.macro_f1, (double)m->threshold, one.micro_f1, one.macro_f1);
        json_object_set_new(record, "label_thresholds_valid_micro_f1", json_real(per_label.micro_f1));
        json_object_set_new(record, "label_thresholds_valid_macro_f1", json_real(per_label.macro_f1));
    }
    free(thresholds);
    return st;
}

hftc_status tune_scoring(hftc_model *m, const split *va, json_t *record)
{
    scoring_kind tuned = m->scoring;
    float *probs = NULL, *scores = NULL;
    gold_sets gold = {0};
    metrics mt[3];
    /* the validation probabilities once, then each rule's scores from them: the rule tuned so far, the best leaf,
     * and the leaf of the best path product (node classifiers trained on their parent's documents each give a
     * probability given the parent, whose product along a path is the path's) */
    hftc_status st = valid_scores(m, va, &probs, &scores, &gold);
    decision_rule rules[3] = {{tuned, m->threshold, m->label_thresholds},
                              {SCORING_LEAF, m->threshold, NULL},
                              {SCORING_LEAF_PRODUCT, m->threshold, NULL}};
    for (int r = 0; r < 3 && st == HFTC_STATUS_OK; r++) {
        if (r)
            scoring_apply(&m->compute, rules[r].scoring, &m->tax, probs, scores, va->n);
        st = decisions_metrics(&rules[r], &m->tax, probs, scores, &gold, &mt[r]);
    }
    free(probs), free(scores), free((void *)gold.start), free((void *)gold.labels);
    TRY(st);
    int kept = 0; /* ties keep the earlier rule */
    for (int r = 1; r < 3; r++)
        kept = mt[r].micro_f1 > mt[kept].micro_f1 ? r : kept;
    log_info("single-path data: leaf decisions give validation micro-F1 %.4f, leaf-product %.4f, %s %.4f: %s kept",
             mt[1].micro_f1, mt[2].micro_f1, scoring_name(tuned), mt[0].micro_f1, scoring_name(rules[kept].scoring));
    m->scoring = rules[kept].scoring;
    json_object_set_new(record, "tuned_scoring",
                        json_pack("{s:s, s:f, s:f, s:f}", "kept", scoring_name(m->scoring), "leaf_valid_micro_f1",
                                  mt[1].micro_f1, "leaf_product_valid_micro_f1", mt[2].micro_f1, "other_valid_micro_f1",
                                  mt[0].micro_f1));
    return HFTC_STATUS_OK;
}
