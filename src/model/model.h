/* The classifier a user trains, saves and loads: vocabulary, label set, text options and the
 * network, plus the record of how it was trained. Behind the public hftc_model handle. */
#ifndef HFTC_MODEL_MODEL_H
#define HFTC_MODEL_MODEL_H

#include "data/dataset.h"
#include "data/taxonomy.h"
#include "model/network.h"
#include "text/vocab.h"

#define MODEL_FORMAT_NAME "hftc"
#define MODEL_FORMAT_VERSION 1

struct hftc_model {
    char preset[32];
    vocab vocab;
    taxonomy tax; /* the labels are its nodes; without a taxonomy file all are top level */
    tokenizer_options tokenizer;
    network_config net_config;
    float threshold;
    network *net; /* sized for batch_capacity x tokenizer.max_len */
    size_t batch_capacity;
    char *training_json; /* the options and the training record, as JSON; may be NULL */
};

/* Takes ownership of nothing: copies cfg; vocab and labels are moved in by the caller afterwards. */
hftc_status model_create(hftc_model **out, const network_config *cfg, size_t batch_capacity, size_t max_len);

/* Padded batch of documents idx[0..B) of ds: tokens (B, T) with T = min(max_len, longest) but at least
 * min_len; returns T. */
size_t batch_fill(const dataset *ds, const size_t *idx, size_t B, size_t max_len, size_t min_len, uint32_t *tokens,
                  size_t *lengths);
/* Targets (B, C) 0/1 for documents idx; labels with id >= C are ignored. */
void batch_targets(const dataset *ds, const size_t *idx, size_t B, size_t C, float *targets);

/* The window size below which documents are padded. */
size_t model_min_len(const network_config *cfg);

/* Probabilities (ds->n_docs x C) for all documents, in batches of the model's capacity; if
 * loss is not NULL, also the mean validation loss over batches (labels >= C ignored). */
hftc_status model_predict_dataset(hftc_model *m, const dataset *ds, float *probs, float *loss);

#endif
