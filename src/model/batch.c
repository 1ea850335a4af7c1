/* Batching documents for the networks: the padded token rows of a batch (with the joint embedding's
 * label words before each text) and the 0/1 targets of a part's outputs. */
#include "model/batch.h"

#include <stdint.h>
#include <string.h>

size_t model_min_len(const network_config *cfg)
{
    size_t longest = 1;
    for (size_t i = 0; i < cfg->n_windows; i++)
        if (cfg->windows[i] > longest)
            longest = cfg->windows[i];
    return longest;
}

static size_t prefix_len(const batch_prefix *prefix, size_t b)
{
    return prefix && prefix->label[b] != UINT32_MAX ? label_words_n(prefix->words, prefix->label[b]) : 0;
}

size_t batch_fill(const dataset *ds, const size_t *idx, size_t B, size_t max_len, size_t min_len,
                  const batch_prefix *prefix, uint32_t *tokens, size_t *lengths)
{
    size_t T = min_len;
    for (size_t b = 0; b < B; b++) {
        size_t len = ds->token_start[idx[b] + 1] - ds->token_start[idx[b]];
        lengths[b] = prefix_len(prefix, b) + (len < max_len ? len : max_len);
        T = lengths[b] > T ? lengths[b] : T;
    }
    for (size_t b = 0; b < B; b++) {
        uint32_t *row = tokens + b * T;
        size_t words = prefix_len(prefix, b);
        if (words)
            memcpy(row, prefix->words->ids + prefix->words->start[prefix->label[b]], words * sizeof *row);
        if (lengths[b] > words) /* an empty document's tokens may be NULL: no memcpy from it */
            memcpy(row + words, ds->tokens + ds->token_start[idx[b]], (lengths[b] - words) * sizeof *row);
        memset(row + lengths[b], 0, (T - lengths[b]) * sizeof *row);
    }
    return T;
}

void batch_targets(const dataset *ds, const size_t *idx, size_t B, const uint32_t *output_of, size_t n_labels,
                   size_t n_outputs, float *targets)
{
    memset(targets, 0, B * n_outputs * sizeof *targets);
    for (size_t b = 0; b < B; b++)
        for (size_t j = ds->label_start[idx[b]]; j < ds->label_start[idx[b] + 1]; j++) {
            uint32_t label = ds->labels[j];
            if (label < n_labels && output_of[label] != UINT32_MAX)
                targets[b * n_outputs + output_of[label]] = 1.0f;
        }
}

uint32_t model_label_at_level(const hftc_model *m, const dataset *ds, size_t doc, size_t level)
{
    for (size_t j = ds->label_start[doc]; j < ds->label_start[doc + 1]; j++)
        if (ds->labels[j] < m->tax.n_nodes && m->tax.level[ds->labels[j]] == level)
            return ds->labels[j];
    return UINT32_MAX;
}
