/* Hierarchical scoring (HFT-CNN paper, section 2.2): per-node probabilities -> per-node scores that
 * are thresholded for label sets and sorted for rankings (P@k, nDCG@k), so both come from one rule:
 *   independent  score(c) = p(c)
 *   bsf          score(c) = min(p(c), score(parent))   Boolean scoring: thresholding keeps c only
 *                                                      if c and all its ancestors pass
 *   msf          score(c) = p(c) * score(parent)       multiplicative: p(c) x its ancestors' p
 * Top-level nodes use p(c) alone. In a DAG, score(parent) is the best over c's parents (c is kept if
 * one path to it is kept; its score is that of its best path). */
#ifndef HFTC_HIER_SCORING_H
#define HFTC_HIER_SCORING_H

#include "data/taxonomy.h"

typedef enum { SCORING_INDEPENDENT, SCORING_BSF, SCORING_MSF } scoring_kind;

bool scoring_parse(const char *name, scoring_kind *out);
const char *scoring_name(scoring_kind kind);

/* probs and scores are (n_docs, t->n_nodes); they may be the same array. */
void scoring_apply(scoring_kind kind, const taxonomy *t, const float *probs, float *scores, size_t n_docs);

#endif
