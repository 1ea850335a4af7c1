/* A model's life after its training: what hftc_extend (extend.c, extend_level.c: the flat and level networks) and
 * hftc_learn (learn.c) share (lifecycle.c). */
#ifndef HFTC_TRAIN_LIFECYCLE_H
#define HFTC_TRAIN_LIFECYCLE_H

#include "train/trainer.h"

#include <jansson.h>

/* Trains the new outputs of m's flat or level networks on train (validated on valid, or a held-out fraction of
 * train without one): each part p whose old part old_part[p] (MODEL_NO_PART: a level the model lacked, trained
 * whole) lacks some of its labels starts from that part's weights, the labels below n_old (the model's) keeping
 * their rows; only the new rows train, or with tune_head the whole head (fully connected layers, batch norm,
 * output); every other weight stays as it was, bit for bit. Appends each trained part's record to parts. */
hftc_status extend_level_parts(const train_config *cfg, const hftc_model *old, hftc_model *m, const size_t *old_part,
                               size_t n_old, bool tune_head, dataset *train, dataset *valid, json_t *parts);

/* Trains part p of m from its weights on its documents of tr, validated on its documents of va (level_docs.h), with
 * each label's BCE positive weight label_weights (NULL: the options');
 * is_new: NULL, every weight trains; else the rows of the outputs j with is_new[j] alone, or with tune_head the
 * whole head, every other value kept bit for bit. from_trained: the part's weights were trained (trainer.from_trained).
 * Appends the part's record to parts. */
hftc_status level_part_train(const train_config *cfg, hftc_model *m, size_t p, const float *label_weights,
                             const bool *is_new, bool tune_head, bool from_trained, split *tr, split *va,
                             json_t *parts);
/* The labels' BCE positive weights of the model's recorded --class-weights-from (*out; NULL without one). */
hftc_status recorded_label_weights(const train_config *cfg, const hftc_model *m, float **out);

/* The options of old's training record (*record: the whole record, the caller frees it; string options point into it)
 * for o's files and threads: no checkpoint, no runs reused, no time limit; recorded word vectors that cannot be read
 * are left out, with a warning. */
hftc_status recorded_options(const hftc_extend_options *o, const hftc_model *old, json_t **record,
                             hftc_train_options *to);
/* Reads path's documents with m's vocabulary, their labels completed from m's taxonomy; a label outside it is an error
 * ("file:line: label \"X\" is not " hint). */
hftc_status model_read_docs(const train_config *cfg, hftc_model *m, const char *path, const char *hint, dataset *ds);
/* model_read_docs, or with drop_unknown the labels outside m's taxonomy left out (a replay of the training data of a
 * model an extension removed categories from), and the documents left without a label. */
hftc_status model_read_known_docs(const train_config *cfg, hftc_model *m, const char *path, const char *hint,
                                  bool drop_unknown, dataset *ds);
/* The record's entry of label's node classifier (a copy), or {"label": label}. */
json_t *node_record(const json_t *record, const char *label);
/* {"path", "fingerprint"} of an input file (fingerprint null if it cannot be read); null for no path. */
json_t *file_entry(const char *path);
/* hftc_extend, where with need_additions a taxonomy that adds no category is refused. */
hftc_status extend_model(const hftc_extend_options *o, bool need_additions, hftc_model **out);

/* A history entry of the model's record: {"kind": kind, "at": the UTC time}. */
json_t *history_entry(const char *kind);
/* Appends entry (taking it) to record's "history" list. */
hftc_status history_append(json_t *record, json_t *entry);

#endif
