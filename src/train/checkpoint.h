/* Training checkpoints (hftc_train_options.checkpoint_path): the model as far as it is trained, saved
 * atomically as a model file whose "checkpoint" metadata entry holds the strategy's record of the work
 * done (one entry per part, null where nothing is done yet), the training seconds so far and a
 * fingerprint of the data and options, and whose MODEL_CHECKPOINT_SUMMARY_KEY entry is the strategy's
 * summary of that record for hftc info: {"units": "classifier runs" (node) or "levels", "done", "total",
 * "in_progress": null or {"part", "epochs"}}, with the "seconds" this module adds (the model file passes it
 * through unread, so that only the strategy knows its record's layout). A later training with the same fingerprint
 * continues from it and ends with the model one uninterrupted training gives, since the strategies seed every part
 * (node: every classifier run) by itself: the node strategy resumes at (classifier, class weight) runs, the flat and
 * level strategies at epochs (the file then also holds the training state of the network in progress: its values, best
 * epoch's values and Adam moments, as "checkpoint." tensors). */
#ifndef HFTC_TRAIN_CHECKPOINT_H
#define HFTC_TRAIN_CHECKPOINT_H

#include "model/model_file.h"
#include "train/trainer.h"

typedef struct {
    const train_config *cfg;
    char fingerprint[17];
    double start;                   /* of this call */
    double seconds_before;          /* training seconds of the earlier calls */
    double last_save, save_seconds; /* when the file was last written, and how long that took */
} checkpoint;

/* Mixes the bytes of the file at path into h (what the training read from it, without parsing it again). */
hftc_status fingerprint_file(uint64_t *h, const char *path);
/* The FNV-1a hash of the file's bytes as 16 hex digits (a model's record of the files it learnt from). */
hftc_status file_fingerprint(const char *path, char out[17]);
/* A fingerprint of what a training reads, apart from its options: m's vocabulary, labels and parts, the
 * documents of the splits and the embedding table the first networks start from (V x E floats), or with
 * NULL the bytes of o's word-vector file (if any; read, not parsed). */
hftc_status training_fingerprint(const train_config *cfg, const hftc_model *m, const split *const *splits,
                                 size_t n_splits, const float *embedding, uint64_t *out);
/* Starts the clock; with o->checkpoint_path, fingerprints what the training depends on: o (not the thread
 * count, nor the paths of the files whose contents count) and training_fingerprint's. */
hftc_status checkpoint_init(checkpoint *c, const train_config *cfg, const hftc_model *m, const split *const *splits,
                            size_t n_splits, const float *embedding);
/* With a checkpoint file present: checks its fingerprint, copies every part's parameters into m and
 * returns its record of the parts in *parts (one entry per part, the caller's reference); otherwise
 * *parts = NULL. Errors name the file and say to remove it to start over. */
hftc_status checkpoint_resume(checkpoint *c, hftc_model *m, json_t **parts);
/* Under MPI, whether every rank read the checkpoint rank 0 read (parts: checkpoint_resume's record; NULL: none),
 * as data-parallel training needs: an error on every rank, naming the first that differs (collective). */
hftc_status checkpoint_same_on_every_rank(const checkpoint *c, const json_t *parts);
/* Writes m with the record of its parts (one entry per part), the strategy's summary of it (taken: the
 * caller's reference) and n_state training-state tensors (named MODEL_EXTRA_TENSOR_PREFIX "...") to the
 * checkpoint file. */
hftc_status checkpoint_save(checkpoint *c, const hftc_model *m, json_t *parts, json_t *summary, const st_tensor *state,
                            size_t n_state);
/* Copies the checkpoint file's training-state tensor name (bytes / 4 floats) into out; an error names the
 * file and says to remove it to start over. */
hftc_status checkpoint_read_state(const checkpoint *c, const char *name, void *out, size_t bytes);
/* Whether a periodic save is due: about once a minute, and at most a tenth of the time. */
bool checkpoint_due(const checkpoint *c);
/* Whether o->time_limit (if any) has passed in this call. */
bool checkpoint_time_up(const checkpoint *c);
/* Training seconds of this call and the earlier ones. */
double checkpoint_seconds(const checkpoint *c);
/* HFTC_STATUS_INCOMPLETE with the message that the time limit stopped the training after done of total
 * units (classifier runs, levels) and, if not NULL, the further progress in_progress ("level2 at epoch 3"). */
hftc_status checkpoint_incomplete(const checkpoint *c, size_t done, size_t total, const char *units,
                                  const char *in_progress);

#endif
