/* Hierarchical scoring (HFT-CNN paper, section 2.2): per-node probabilities -> per-node scores that are
 * sorted for rankings (P@k, nDCG@k) and, but for msf, thresholded for label sets:
 *   independent  score(c) = p(c)
 *   bsf          score(c) = min(p(c), score(parent))   Boolean scoring: thresholding keeps c only
 *                                                      if c and all its ancestors pass
 *   msf          score(c) = p(c) * score(parent)       multiplicative: the paper's "MSF does not have such a
 *                                                      constraint": every c whose own p(c) passes the
 *                                                      threshold is kept, whatever its ancestors, and the
 *                                                      kept ones are ranked by the product of the
 *                                                      probabilities on their path
 *   product      score(c) = p(c) * score(parent)       the same scores, thresholded: c is kept only if
 *                                                      that product passes, so with its ancestors (hftc's
 *                                                      msf before model format 2)
 * Top-level nodes use p(c) alone. In a DAG, score(parent) is the best over c's parents (c is kept if
 * one path to it is kept; its score is that of its best path).
 * For single-label (softmax) levels, whose decisions are one category per level, not thresholds:
 *   top-down     score(c) = p(c) / sum of p over c's siblings * score(parent): the probability of the
 *                path under the level softmaxes restricted to the children of the parent; decisions:
 *                the greedy path, at each level the best child of the category chosen above
 *   argmax       score(c) = p(c); decisions: the best category of each level on its own (the
 *                HFT-ONLSTM paper's unrestricted mode; the path may be inconsistent)
 * For single-path data (each document one path from the root to a leaf), with any head:
 *   leaf         score(leaf) = p(leaf), score(c) = the best score of the leaves below c; decisions: the
 *                best-scoring leaf and its ancestors, one path whatever the threshold (a one-of-the-leaves
 *                choice, which beats independent thresholds on such data)
 * Everything that depends on the kind is here (scoring.c): a new scoring is a value of scoring_kind, its
 * name, its answers to the predicates below, its scores and its decisions. Decision rules, decision sets
 * and threshold searches (decisions.h, threshold_search.h) ask these functions and compare no kinds. */
#ifndef HFTC_HIER_SCORING_H
#define HFTC_HIER_SCORING_H

#include "core/compute.h"
#include "data/taxonomy.h"

typedef enum {
    SCORING_INDEPENDENT,
    SCORING_BSF,
    SCORING_MSF,
    SCORING_PRODUCT,
    SCORING_TOP_DOWN,
    SCORING_ARGMAX,
    SCORING_LEAF,
    SCORING_LEAF_PRODUCT /* the leaf of the best path product: for classifiers each conditional on its parent */
} scoring_kind;

bool scoring_parse(const char *name, scoring_kind *out);
const char *scoring_name(scoring_kind kind);
/* The scorings' names, comma-separated, into buf (for messages); returns the length written. */
size_t scoring_names_list(char *buf, size_t size);

/* Whether decisions are bounded by the parent (bsf, product: a thresholded score is at most the parent's):
 * with one threshold a node is kept only with a kept parent, and per-label thresholds must add that
 * condition. Not msf: its decisions read a node's own probability, whatever its parent's. */
bool scoring_bounded_by_parent(scoring_kind kind);
/* Whether decisions threshold values (independent, bsf, msf, product), rather than choose one category per
 * level or one path (top-down, argmax, leaf: neither a threshold nor per-label thresholds play a part). */
bool scoring_uses_threshold(scoring_kind kind);
/* The values kind's decisions compare with the threshold, from the probabilities and scoring_apply's scores
 * of the same documents: msf's are the probabilities (its scores only rank), every other kind's the scores. */
const float *scoring_decided(scoring_kind kind, const float *probs, const float *scores);

/* probs and scores are (n_docs, t->n_nodes); they may be the same array. */
void scoring_apply(const compute_context *cc, scoring_kind kind, const taxonomy *t, const float *probs, float *scores,
                   size_t n_docs);

/* BSF, MSF and product: the best score among c's parents in scores (one document's row, c's parents scored
 * already), 1 for a node under the root. c's score is min(p(c), bound) or p(c) x bound, at most the
 * bound: under bsf and product a node whose bound is below the threshold is not kept, nor is anything
 * below it. */
float scoring_parent_bound(const taxonomy *t, const float *scores, uint32_t c);
/* c's BSF, MSF or product score from its probability and its parent bound. */
static inline float scoring_bounded(scoring_kind kind, float p, float bound)
{
    return kind == SCORING_BSF ? (p < bound ? p : bound) : p * bound;
}

/* Whether one of c's parents is kept in keep (one document's decisions; the root always is). */
bool scoring_parent_kept(const taxonomy *t, const bool *keep, uint32_t c);
/* keep (n_docs, t->n_nodes): the decisions from the probabilities and scoring_apply's scores (n_docs,
 * t->n_nodes each; one array for both where the scores are the probabilities): the value scoring_decided
 * reads >= threshold, or for top-down and argmax one category per level and for leaf one path, as above (a
 * node scoring 0 is never chosen).
 * thresholds: NULL, or one per node replacing threshold (top-down and argmax use neither); then bsf and
 * product keep a node only with a kept parent, as one threshold does by itself (a score is at most its
 * parent's). */
void scoring_select(scoring_kind kind, const taxonomy *t, const float *probs, const float *scores, float threshold,
                    const float *thresholds, bool *keep, size_t n_docs);

/* The category of the given level that kind's decisions choose under parent (TAXONOMY_ROOT: the top
 * level): argmax: the level's best, whatever the parent; any other kind: the parent's best child by
 * probability. TAXONOMY_ROOT: none has a probability above 0. */
uint32_t scoring_child_choice(scoring_kind kind, const taxonomy *t, const float *probs, uint32_t parent, size_t level);
/* The category of the given level that kind's decisions choose for one document, from its probabilities
 * (only the levels above and at level are read): argmax: that level's best; any other kind: the greedy
 * top-down path's (the best child, by probability, of the category chosen above). TAXONOMY_ROOT: none
 * (the path ends above level, or no category there has a probability above 0). */
uint32_t scoring_choice(scoring_kind kind, const taxonomy *t, const float *probs, size_t level);

#endif
