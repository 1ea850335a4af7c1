/* A model file's metadata about its labels (model_file_labels.c), as model_entries writes them and
 * model_load_entries reads them back: "outputs", "class_weights", "label_thresholds" and "branches". The writers
 * return a JSON text the caller frees (NULL: out of memory, or for label_thresholds and branches none to write);
 * the readers name path in their errors. */
#ifndef HFTC_MODEL_MODEL_FILE_LABELS_H
#define HFTC_MODEL_MODEL_FILE_LABELS_H

#include "model/model.h"

#include <stdbool.h>

/* The ids of the labels with an output, ascending, as a JSON array. */
char *outputs_to_json(const hftc_model *m);
/* The labels with an output (*has_output, n_classes flags; NULL for files from before "outputs": all labels). */
hftc_status outputs_from_json(const char *path, const char *text, size_t n_classes, bool **has_output);
/* The positive-class weight each node classifier was trained with, by label name ({} for other strategies). */
char *class_weights_to_json(const hftc_model *m);
/* The node parts' class weights (the parts built); nothing for other strategies. */
hftc_status class_weights_from_json(hftc_model *m, const char *path, const char *text);
/* The per-label thresholds as {label: threshold}; NULL when the model has none. */
char *label_thresholds_to_json(const hftc_model *m);
/* m->label_thresholds from text (NULL: none). */
hftc_status label_thresholds_from_json(hftc_model *m, const char *path, const char *text);
/* {label: branch} of the labels in a branch hftc extend added; NULL for none. */
char *branches_to_json(const hftc_model *m);
/* m->label_branch from text (NULL: none), before the parts are built. */
hftc_status branches_from_json(hftc_model *m, const char *path, const char *text);

#endif
