/* What hftc_extend's files share (extend.c: the orchestration; extend_level.c: the flat and level networks). */
#ifndef HFTC_TRAIN_EXTEND_H
#define HFTC_TRAIN_EXTEND_H

#include "train/trainer.h"

#include <jansson.h>

/* Trains the new outputs of m's flat or level networks on train (validated on valid, or a held-out fraction of
 * train without one): each part p whose old part old_part[p] (MODEL_NO_PART: a level the model lacked, trained
 * whole) lacks some of its labels starts from that part's weights, the labels below n_old (the model's) keeping
 * their rows; only the new rows train, or with tune_head the whole head (fully connected layers, batch norm,
 * output); every other weight stays as it was, bit for bit. Appends each trained part's record to parts. */
hftc_status extend_level_parts(const train_config *cfg, const hftc_model *old, hftc_model *m, const size_t *old_part,
                               size_t n_old, bool tune_head, dataset *train, dataset *valid, json_t *parts);

/* A history entry of the model's record: {"kind": kind, "at": the UTC time}. */
json_t *history_entry(const char *kind);
/* Appends entry (taking it) to record's "history" list. */
hftc_status history_append(json_t *record, json_t *entry);

#endif
