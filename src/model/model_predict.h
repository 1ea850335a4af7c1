/* Prediction with a model (model_predict.c): probabilities of a dataset's documents from all its parts,
 * the parent categories of the joint embedding, pruning, attention words, and raw texts as documents. */
#ifndef HFTC_MODEL_MODEL_PREDICT_H
#define HFTC_MODEL_MODEL_PREDICT_H

#include "data/dataset.h"
#include "hier/scoring.h"
#include "model/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the joint embedding takes a document's parent category from at inference: the category the
 * scoring's decisions choose at the level above (top-down: the greedy path's; argmax: that level's
 * best), or, with gold, the document's own label at that level (accuracy given the true parent). */
typedef struct {
    scoring_kind scoring;
    bool gold;
} parent_source;

/* Skipping classifiers whose decision is known (node models, BSF or MSF scoring): a category's
 * classifier runs only on the documents whose parent bound (scoring_parent_bound) reaches threshold,
 * the others get probability 0. The decisions at that threshold are those of running every classifier
 * (a probability may differ in its last bits, as between batch compositions); scores below it, and
 * so rankings past the decided labels, are not. */
typedef struct {
    scoring_kind scoring;
    float threshold;
    const float *thresholds; /* per node, replacing threshold; NULL: none */
} prune_rule;

/* Whether prune changes how m predicts: a node model, BSF or MSF, a threshold above 0. */
bool model_prunes(const hftc_model *m, const prune_rule *prune);

/* The documents of raw texts (no labels), tokenised and mapped as the model reads them (keep_unknown: as
 * dataset_options.keep_unknown). */
hftc_status model_texts_dataset(const hftc_model *m, const char *const *texts, size_t n, bool keep_unknown,
                                dataset *ds);

/* The words a bigru-att model attended to most: for each of n documents and each part, the n_words
 * positions with the most attention, best first, as positions in the document's tokens and attention
 * weights (n x n_parts x n_words each; UINT32_MAX and 0 past the document's length). */
typedef struct {
    size_t n_words;
    uint32_t *positions;
    float *weights;
} attention_words;

/* Probabilities (n x all labels) for documents idx[0..n) of ds (idx NULL: documents 0..n), every
 * part in batches of the model's capacity, each part's outputs placed at its labels. parents: as
 * above for a joint-embedding model (NULL: predicted by the model's scoring); ignored otherwise.
 * prune: NULL, or the rule above (ignored where model_prunes says no). explain: NULL, or (bigru-att
 * models, no pruning) filled with the words each part attended to most. */
hftc_status model_predict_dataset(hftc_model *m, const dataset *ds, const size_t *idx, size_t n,
                                  const parent_source *parents, const prune_rule *prune, float *probs,
                                  attention_words *explain);

#endif
