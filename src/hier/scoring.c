/* Scoring functions over a taxonomy: a pass in parents-before-children order per document. */
#include "hier/scoring.h"

#include "core/names.h"

#include <string.h>

static const char *const scoring_names[] = {"independent", "bsf", "msf"};

bool scoring_parse(const char *name, scoring_kind *out)
{
    size_t i;
    if (!names_find(scoring_names, NAMES_COUNT(scoring_names), name, &i))
        return false;
    *out = (scoring_kind)i;
    return true;
}

const char *scoring_name(scoring_kind kind) { return scoring_names[kind]; }

void scoring_apply(scoring_kind kind, const taxonomy *t, const float *probs, float *scores, size_t n_docs)
{
    size_t N = t->n_nodes;
    if (scores != probs)
        memcpy(scores, probs, n_docs * N * sizeof *scores);
    if (kind == SCORING_INDEPENDENT)
        return;
#pragma omp parallel for schedule(static)
    for (size_t d = 0; d < n_docs; d++) {
        float *s = scores + d * N;
        for (size_t i = 0; i < N; i++) {
            uint32_t c = t->order[i];
            /* The root is always kept and scores 1: a node under it (also in a DAG) keeps p(c). */
            float best_parent = 0.0f;
            bool under_root = false;
            for (size_t j = t->parent_start[c]; j < t->parent_start[c + 1]; j++) {
                uint32_t parent = t->parents[j];
                under_root = under_root || parent == TAXONOMY_ROOT;
                if (parent != TAXONOMY_ROOT && s[parent] > best_parent)
                    best_parent = s[parent];
            }
            if (under_root)
                continue;
            if (kind == SCORING_BSF)
                s[c] = s[c] < best_parent ? s[c] : best_parent;
            else
                s[c] *= best_parent;
        }
    }
}
