/* Prediction with a model (model_predict.c): probabilities of a dataset's documents from all its parts,
 * the parent categories of the joint embedding, pruning, attention words, and raw texts as documents. */
#ifndef HFTC_MODEL_MODEL_PREDICT_H
#define HFTC_MODEL_MODEL_PREDICT_H

#include "data/dataset.h"
#include "hier/decisions.h"
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

/* Pruning by a decision rule skips classifiers whose decision is known (node models, a scoring bounded
 * by the parent): a category's classifier runs only on the documents whose parent bound
 * (scoring_parent_bound) reaches its threshold, the others get probability 0. The rule's decisions are
 * those of running every classifier (a probability may differ in its last bits, as between batch
 * compositions); scores below the threshold, and so rankings past the decided labels, are not.
 * Whether pruning by prune changes how m predicts: a node model, a scoring bounded by the parent, a
 * threshold above 0. */
bool model_prunes(const hftc_model *m, const decision_rule *prune);

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
 * part in batches of the model's capacity, each part's outputs placed at its labels (an ensemble: its
 * members', combined; parents, prune and explain do not apply). parents: as
 * above for a joint-embedding model (NULL: predicted by the model's scoring); ignored otherwise.
 * prune: NULL, or the decision rule to prune by, as above (ignored where model_prunes says no).
 * explain: NULL, or (bigru-att models, no pruning) filled with the words each part attended to most. */
hftc_status model_predict_dataset(hftc_model *m, const dataset *ds, const size_t *idx, size_t n,
                                  const parent_source *parents, const decision_rule *prune, float *probs,
                                  attention_words *explain);

#endif
