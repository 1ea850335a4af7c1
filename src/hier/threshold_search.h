/* Threshold searches (threshold_search.c): the threshold, or the per-label thresholds, whose decisions on
 * validation scores score best against the validation gold sets. */
#ifndef HFTC_HIER_THRESHOLD_SEARCH_H
#define HFTC_HIER_THRESHOLD_SEARCH_H

#include "hier/decisions.h"

/* The threshold step (0.05, 0.10, ..., 0.95) with the best micro-F1 (weighted: the support-weighted F1) of
 * scores (gold->n x C) thresholded at it (decisions_metrics_at), that F1 into *f1; ties: the one closest to
 * 0.5. */
hftc_status threshold_search_best(const float *scores, size_t C, const gold_sets *gold, bool weighted, float *threshold,
                                  double *f1);

/* One threshold per node of t into thresholds (t->n_nodes) for a scoring that uses a threshold, from the
 * values its decisions compare (scoring_decided of probs and scores, gold->n x t->n_nodes each: the
 * probabilities and scoring_apply's scores), parents first: each node's (0.05 steps, or base) gives the
 * best F1 of its decisions, given its parents' (scoring_bounded_by_parent: a node is kept only with a kept
 * parent); ties, and nodes no threshold gives an F1 above 0, keep base. The decisions of the rule
 * {scoring, base, thresholds} are those the search made. */
hftc_status threshold_search_labels(scoring_kind scoring, const taxonomy *t, const float *probs, const float *scores,
                                    const gold_sets *gold, float base, float *thresholds);

#endif
