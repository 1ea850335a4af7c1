/* Decisions (decisions.c): the rule that turns a model's scores into decisions, the decided label sets
 * of documents (best first) with their rankings, and the metrics of decisions against gold sets. */
#ifndef HFTC_HIER_DECISIONS_H
#define HFTC_HIER_DECISIONS_H

#include "hier/metrics.h"
#include "hier/scoring.h"

/* How documents are decided: the scoring (scoring_apply's scores, scoring_select's decisions) and the
 * threshold, or per-label thresholds replacing it (scorings that use a threshold only). */
typedef struct {
    scoring_kind scoring;
    float threshold;
    const float *thresholds; /* per node, replacing threshold; NULL: none */
} decision_rule;

/* The threshold node c is decided at under rule. */
static inline float decision_rule_threshold(const decision_rule *rule, uint32_t c)
{
    return rule->thresholds ? rule->thresholds[c] : rule->threshold;
}

/* Document i's selected labels (probability >= threshold, best first) go to
 * pred[pred_start[i] .. pred_start[i+1]); its k best labels to ranked[i*k ..] (padded with
 * METRICS_NO_LABEL when C < k). pred_start (n + 1) and pred (n * C at most) are allocated here. */
hftc_status decisions_build(const float *probs, size_t n, size_t C, float threshold, size_t k, size_t **pred_start,
                            uint32_t **pred, uint32_t *ranked);

/* The same with the selected labels given by keep (n * C) instead of a threshold. */
hftc_status decisions_from_mask(const float *probs, const bool *keep, size_t n, size_t C, size_t k, size_t **pred_start,
                                uint32_t **pred, uint32_t *ranked);

/* Gold label sets (CSR over n documents, ids below n_labels) to score decisions against. */
typedef struct {
    size_t n, n_labels;
    const size_t *start;
    const uint32_t *labels;
} gold_sets;

/* The metrics of scores (gold->n x C) thresholded at threshold, each output on its own. */
hftc_status decisions_metrics_at(const float *scores, size_t C, const gold_sets *gold, float threshold, metrics *mt);
/* The metrics of rule's decisions (scoring_select) from probs and scores (gold->n x t->n_nodes each, the
 * probabilities and scoring_apply's scores under rule->scoring). */
hftc_status decisions_metrics(const decision_rule *rule, const taxonomy *t, const float *probs, const float *scores,
                              const gold_sets *gold, metrics *mt);

#endif
