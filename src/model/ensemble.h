/* Ensembles (ensemble.c): trained models over the same taxonomy, their labels aligned by name, whose
 * probabilities are combined by a weighted mean, behind the hftc_model handle like any model (hftc_ensemble
 * in train/combine.c chooses the weights and the decision rule on validation data).
 *
 * The ensemble's hftc_model has no parts: it holds the first member's taxonomy (its labels in its order),
 * the union of the members' vocabularies (a document is read once; each member gets its own word ids, a
 * word it lacks as <unk>, as when it reads the text alone), the tokeniser options they all share (the
 * longest max_len: each member cuts a document at its own), the decision rule of the combination (scoring,
 * threshold, per-label thresholds) and the training record of the choice. A member predicts as it does
 * alone, through its own prediction path (model_predict_dataset), whatever its strategy or family.
 *
 * The file: each member's tensors and metadata entries (a whole model file's) under the prefix "member<k>."
 * (k from 0), and the entry "ensemble": {"members": [{"prefix", "name", "weight"}], "scoring", "threshold",
 * "label_thresholds": [one per label, in the labels' order] (absent: none)}; "training" holds the record. */
#ifndef HFTC_MODEL_ENSEMBLE_H
#define HFTC_MODEL_ENSEMBLE_H

#include "data/dataset.h"
#include "model/model.h"
#include "model/safetensors.h"

#include <stdbool.h>
#include <stddef.h>

/* The metadata entry that makes a model file an ensemble's. */
#define ENSEMBLE_METADATA_KEY "ensemble"
#define ENSEMBLE_MAX_MEMBERS HFTC_MAX_ENSEMBLE

typedef struct ensemble ensemble;

/* An ensemble model of members[0..n) (taken over: freed with it, or here on failure), with equal weights
 * and the first member's decision rule; names[k] (copied; NULL: "member k+1") names member k in messages
 * and descriptions. Members that disagree on the taxonomy are refused (INVALID_ARGUMENT, the first
 * difference named), and so are members that tokenise differently or are ensembles themselves. */
hftc_status ensemble_create(hftc_model **members, const char *const *names, size_t n, hftc_model **out);
void ensemble_free(ensemble *e);

size_t ensemble_size(const ensemble *e);
hftc_model *ensemble_member(const ensemble *e, size_t k);
const char *ensemble_member_name(const ensemble *e, size_t k);
const float *ensemble_weights(const ensemble *e);
/* weights: n, each at least 0, summing to 1. */
void ensemble_set_weights(ensemble *e, const float *weights);

/* Member k's probabilities (n x m's labels) of documents idx[0..n) of ds (idx NULL: 0..n), a dataset read
 * with m's vocabulary. */
hftc_status ensemble_member_predict(hftc_model *m, size_t k, const dataset *ds, const size_t *idx, size_t n,
                                    float *probs);
/* Member k's per-label thresholds at m's labels into out (m's label count); false: it has none. */
bool ensemble_member_label_thresholds(const hftc_model *m, size_t k, float *out);
/* The weighted mean's step for one member over count probabilities: out = weight x member for the first,
 * out += weight x member after. Prediction and the choice of weights both sum so, member by member in
 * order (prediction skips members of weight 0, which add +0): the validation figures are those the saved
 * ensemble gives. */
void ensemble_accumulate(float *out, const float *member, float weight, size_t count, bool first);
/* model_predict_dataset for an ensemble model: its members' probabilities, combined. */
hftc_status ensemble_predict_dataset(hftc_model *m, const dataset *ds, const size_t *idx, size_t n, float *probs);

hftc_status ensemble_save(const hftc_model *m, const char *path);
/* The ensemble of the model file f (its ENSEMBLE_METADATA_KEY entry present); path names it in messages. */
hftc_status ensemble_load(const st_file *f, const char *path, hftc_model **out);
/* hftc_model_describe for an ensemble model. */
char *ensemble_describe(const hftc_model *m);

#endif
