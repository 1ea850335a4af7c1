/* A linear model in the model file (model_file_linear.c): its entries of the configuration, and its
 * tensors: "features.bigrams" (U32, n_bigrams x 2) and "features.idf" (F32), then for each part, under the
 * part's prefix, "linear.row_start" and "linear.output" (U32), "linear.weight", "linear.bias" and
 * "linear.sigmoid" (F32): the classifier's by-feature layout (model/linear.h). */
#ifndef HFTC_MODEL_MODEL_FILE_LINEAR_H
#define HFTC_MODEL_MODEL_FILE_LINEAR_H

#include "model/model_file.h"

#include <jansson.h>

/* Adds the family and the feature options to a configuration object. */
void linear_config_to_json(const hftc_model *m, json_t *config);
/* The feature options of a linear model's configuration; an error names path. */
hftc_status linear_config_from_json(const char *path, const json_t *config, tfidf_options *features);
size_t linear_tensor_count(const hftc_model *m);
/* The model's tensors (linear_tensor_count of them) into tensors, named in names. */
void linear_tensors(const hftc_model *m, st_tensor *tensors, char (*names)[MODEL_TENSOR_NAME_MAX]);
/* Reads the features and every part's classifier (the parts built, m->features.opt set), checking each. */
hftc_status linear_load_tensors(hftc_model *m, const st_file *f, const char *path);

#endif
