/* The model file (model_file.c): a safetensors file of the parts' tensors whose metadata holds the
 * format and version, configuration, vocabulary, labels, taxonomy, outputs, class weights, per-label
 * thresholds and training record (hftc_model_save, hftc_model_load, hftc_model_describe); and the
 * tensors and metadata entries a training checkpoint adds to it. */
#ifndef HFTC_MODEL_MODEL_FILE_H
#define HFTC_MODEL_MODEL_FILE_H

#include "model/model.h"
#include "model/safetensors.h"

#include <jansson.h>
#include <stddef.h>

/* "level3.conv.2.weight": a part's tensor under its name in the file. */
#define MODEL_TENSOR_NAME_MAX (TENSOR_NAME_MAX + 40)

/* Tensors a model file may hold besides the model's, which loading skips: a training checkpoint's state
 * ("checkpoint.best_values", ...). */
#define MODEL_EXTRA_TENSOR_PREFIX "checkpoint."
/* The metadata entry of a training checkpoint's summary of its progress (a JSON object, its training's to
 * define), which loading keeps and hftc_model_describe shows, unread, as "checkpoint". */
#define MODEL_CHECKPOINT_SUMMARY_KEY "checkpoint_summary"

#define MODEL_FORMAT_NAME "hftc"
/* Version 2 files carry checksums (safetensors.h) and must, and their "msf" is the HFT-CNN paper's MSF (each
 * label's own probability thresholded). Version 1 files, written before, load unchecked, their "msf" (the
 * product thresholded) read as "product". An older hftc refuses version 2 rather than misread it. */
#define MODEL_FORMAT_VERSION 2
#define MODEL_FORMAT_OLDEST 1

/* Receives a model's tensors and metadata entries (valid during the call only). */
typedef hftc_status (*model_entries_fn)(void *user, const st_tensor *tensors, size_t n_tensors, const st_metadata *meta,
                                        size_t n_meta);
/* Hands fn m's tensors and metadata entries as its model file holds them, with n_extra_meta more metadata
 * entries and n_extra more tensors: what model_save_with writes, and what an ensemble's file holds of each
 * member under a prefix. */
hftc_status model_entries(const hftc_model *m, const st_metadata *extra_meta, size_t n_extra_meta,
                          const st_tensor *extra, size_t n_extra, model_entries_fn fn, void *user);
/* The model of the entries of f: a model file, or a view of one (an ensemble's member); path names it in
 * messages. */
hftc_status model_load_entries(const st_file *f, const char *path, hftc_model **out);

/* hftc_model_save with n_extra_meta more metadata entries, such as a training checkpoint's record and summary,
 * and n_extra more tensors (named with MODEL_EXTRA_TENSOR_PREFIX). */
hftc_status model_save_with(const hftc_model *m, const char *path, const st_metadata *extra_meta, size_t n_extra_meta,
                            const st_tensor *extra, size_t n_extra);
/* The model's metadata entry "config" as JSON (new reference): the network's, the tokeniser's and the decisions'
 * settings (hftc_model_describe shows it). */
json_t *model_config_json(const hftc_model *m);
/* A copy (caller frees) of metadata entry key of the model file at path; missing: HFTC_STATUS_MODEL. */
hftc_status model_read_metadata(const char *path, const char *key, char **value);

#endif
