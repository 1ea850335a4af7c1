/* Batching documents for the networks (batch.c): padded token rows, optionally after the joint
 * embedding's label words, and 0/1 targets of a part's outputs. */
#ifndef HFTC_MODEL_BATCH_H
#define HFTC_MODEL_BATCH_H

#include "data/dataset.h"
#include "model/model.h"
#include "text/label_words.h"

#include <stddef.h>
#include <stdint.h>

/* The words put before the documents of a batch: label[b] (UINT32_MAX: none) for document b. */
typedef struct {
    const label_words *words;
    const uint32_t *label;
} batch_prefix;

/* Padded batch of documents idx[0..B) of ds: tokens (B, T), each row the prefix's words (prefix NULL:
 * none) then the document's first max_len tokens, T the longest row but at least min_len; returns T. */
size_t batch_fill(const dataset *ds, const size_t *idx, size_t B, size_t max_len, size_t min_len,
                  const batch_prefix *prefix, uint32_t *tokens, size_t *lengths);
/* Targets (B, n_outputs) 0/1 for documents idx: label l sets output output_of[l] unless that is
 * UINT32_MAX or l >= n_labels (labels outside this part). */
void batch_targets(const dataset *ds, const size_t *idx, size_t B, const uint32_t *output_of, size_t n_labels,
                   size_t n_outputs, float *targets);

/* The window size below which documents are padded. */
size_t model_min_len(const network_config *cfg);
/* Document doc's (first) label at the taxonomy level, or UINT32_MAX. */
uint32_t model_label_at_level(const hftc_model *m, const dataset *ds, size_t doc, size_t level);

#endif
