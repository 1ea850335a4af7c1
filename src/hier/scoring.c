/* Scorings over a taxonomy, every kind-dependent answer in one place (the file a new scoring touches):
 * names, predicates, scores and decisions, each a pass in parents-before-children order per document. */
#include "hier/scoring.h"

#include "core/names.h"

#include <string.h>

#include <stdio.h>

static const char *const scoring_names[] = {"independent", "bsf",    "msf",  "product",
                                            "top-down",    "argmax", "leaf", "leaf-product"};

NAMES_LOOKUP(scoring_kind, scoring)

size_t scoring_names_list(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NAMES_COUNT(scoring_names) && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", scoring_names[i]);
    return used < size ? used : size - 1;
}

bool scoring_bounded_by_parent(scoring_kind kind) { return kind == SCORING_BSF || kind == SCORING_PRODUCT; }

bool scoring_uses_threshold(scoring_kind kind)
{
    return kind != SCORING_TOP_DOWN && kind != SCORING_ARGMAX && kind != SCORING_LEAF && kind != SCORING_LEAF_PRODUCT;
}

const float *scoring_decided(scoring_kind kind, const float *probs, const float *scores)
{
    return kind == SCORING_MSF ? probs : scores;
}

// The restricted path probabilities of one document (scores may be probs): parents first, each node's
// probability over the sum of its siblings' (the top level's over all top-level nodes), times its
// (first) parent's score.
static void top_down_scores(const taxonomy *t, const float *probs, float *scores)
{
    size_t N = t->n_nodes;
    double top = 0.0;
    for (size_t c = 0; c < N; c++)
        top += t->level[c] == 1 ? probs[c] : 0.0f;
    for (size_t i = 0; i < N; i++) {
        uint32_t c = t->order[i], parent = t->parents[t->parent_start[c]];
        double siblings = 0.0, above = 1.0;
        if (parent == TAXONOMY_ROOT) {
            siblings = top;
        } else {
            for (size_t j = t->child_start[parent]; j < t->child_start[parent + 1]; j++)
                siblings += probs[t->children[j]];
            above = scores[parent];
        }
        scores[c] = siblings > 0.0 ? (float)(probs[c] / siblings * above) : 0.0f;
    }
}

// c if it scores above 0 and above best (TAXONOMY_ROOT: none yet), else best.
static uint32_t better(uint32_t best, uint32_t c, const float *s)
{
    return s[c] > 0.0f && (best == TAXONOMY_ROOT || s[c] > s[best]) ? c : best;
}

// The child of parent (TAXONOMY_ROOT: the top level) with the best score above 0, or TAXONOMY_ROOT.
static uint32_t best_child(const taxonomy *t, uint32_t parent, const float *s)
{
    uint32_t best = TAXONOMY_ROOT;
    if (parent == TAXONOMY_ROOT) {
        for (uint32_t c = 0; c < (uint32_t)t->n_nodes; c++)
            best = t->level[c] == 1 ? better(best, c, s) : best;
        return best;
    }
    for (size_t j = t->child_start[parent]; j < t->child_start[parent + 1]; j++)
        best = better(best, t->children[j], s);
    return best;
}

// The best category of a level on its own, or TAXONOMY_ROOT.
static uint32_t level_best(const taxonomy *t, const float *s, size_t level)
{
    uint32_t best = TAXONOMY_ROOT;
    for (uint32_t c = 0; c < (uint32_t)t->n_nodes; c++)
        best = t->level[c] == level ? better(best, c, s) : best;
    return best;
}

// One document's leaf scores (scores may be probs): children before parents, a leaf its probability, any
// other node the best score of its children (so of the leaves below it).
static void leaf_scores(const taxonomy *t, const float *probs, float *scores)
{
    for (size_t i = t->n_nodes; i-- > 0;) {
        uint32_t c = t->order[i];
        float best = t->child_start[c] == t->child_start[c + 1] ? probs[c] : 0.0f;
        for (size_t j = t->child_start[c]; j < t->child_start[c + 1]; j++)
            best = scores[t->children[j]] > best ? scores[t->children[j]] : best;
        scores[c] = best;
    }
}

// One document's leaf decision into k (cleared): the best-scoring leaf above 0, then every ancestor of a
// kept node, children before parents.
static void leaf_select(const taxonomy *t, const float *s, bool *k)
{
    uint32_t best = TAXONOMY_ROOT;
    for (uint32_t c = 0; c < (uint32_t)t->n_nodes; c++)
        best = t->child_start[c] == t->child_start[c + 1] ? better(best, c, s) : best;
    if (best == TAXONOMY_ROOT)
        return;
    k[best] = true;
    for (size_t i = t->n_nodes; i-- > 0;) {
        uint32_t c = t->order[i];
        for (size_t j = t->parent_start[c]; k[c] && j < t->parent_start[c + 1]; j++)
            if (t->parents[j] != TAXONOMY_ROOT)
                k[t->parents[j]] = true;
    }
}

bool scoring_parent_kept(const taxonomy *t, const bool *k, uint32_t c)
{
    for (size_t j = t->parent_start[c]; j < t->parent_start[c + 1]; j++)
        if (t->parents[j] == TAXONOMY_ROOT || k[t->parents[j]])
            return true;
    return false;
}

void scoring_select(scoring_kind kind, const taxonomy *t, const float *probs, const float *scores, float threshold,
                    const float *thresholds, bool *keep, size_t n_docs)
{
    size_t N = t->n_nodes;
    bool bounded = scoring_bounded_by_parent(kind), thresholded = scoring_uses_threshold(kind);
    const float *values = scoring_decided(kind, probs, scores);
    for (size_t d = 0; d < n_docs; d++) {
        const float *s = values + d * N;
        bool *k = keep + d * N;
        if (thresholded && !thresholds) {
            for (size_t c = 0; c < N; c++)
                k[c] = s[c] >= threshold;
            continue;
        }
        if (thresholded) { /* parents first: a node sees theirs */
            for (size_t i = 0; i < N; i++) {
                uint32_t c = t->order[i];
                k[c] = s[c] >= thresholds[c] && (!bounded || scoring_parent_kept(t, k, c));
            }
            continue;
        }
        memset(k, 0, N * sizeof *k);
        if (kind == SCORING_LEAF || kind == SCORING_LEAF_PRODUCT) {
            leaf_select(t, s, k);
            continue;
        }
        if (kind == SCORING_TOP_DOWN) {
            for (uint32_t c = best_child(t, TAXONOMY_ROOT, s); c != TAXONOMY_ROOT; c = best_child(t, c, s))
                k[c] = true;
            continue;
        }
        for (size_t level = 1; level <= t->depth; level++) {
            uint32_t best = level_best(t, s, level);
            if (best != TAXONOMY_ROOT)
                k[best] = true;
        }
    }
}

uint32_t scoring_child_choice(scoring_kind kind, const taxonomy *t, const float *probs, uint32_t parent, size_t level)
{
    /* Among siblings the top-down path scores are ordered as the probabilities are. */
    return kind == SCORING_ARGMAX ? level_best(t, probs, level) : best_child(t, parent, probs);
}

uint32_t scoring_choice(scoring_kind kind, const taxonomy *t, const float *probs, size_t level)
{
    if (kind == SCORING_ARGMAX)
        return level_best(t, probs, level);
    uint32_t c = best_child(t, TAXONOMY_ROOT, probs);
    while (c != TAXONOMY_ROOT && t->level[c] < level)
        c = best_child(t, c, probs);
    return c != TAXONOMY_ROOT && t->level[c] == level ? c : TAXONOMY_ROOT;
}

float scoring_parent_bound(const taxonomy *t, const float *scores, uint32_t c)
{
    float best = 0.0f;
    for (size_t j = t->parent_start[c]; j < t->parent_start[c + 1]; j++) {
        uint32_t parent = t->parents[j];
        if (parent == TAXONOMY_ROOT) /* the root is always kept and scores 1 */
            return 1.0f;
        best = scores[parent] > best ? scores[parent] : best;
    }
    return best;
}

void scoring_apply(const compute_context *cc, scoring_kind kind, const taxonomy *t, const float *probs, float *scores,
                   size_t n_docs)
{
    size_t N = t->n_nodes;
    if (scores != probs)
        memcpy(scores, probs, n_docs * N * sizeof *scores);
    if (kind == SCORING_INDEPENDENT || kind == SCORING_ARGMAX)
        return;
    if (kind == SCORING_TOP_DOWN || kind == SCORING_LEAF) {
#pragma omp parallel for schedule(static) num_threads(cc->threads)
        for (size_t d = 0; d < n_docs; d++)
            (kind == SCORING_LEAF ? leaf_scores : top_down_scores)(t, probs + d * N, scores + d * N);
        return;
    }
    /* leaf-product: each node's path product (product's scores), then each node the best leaf product below it */
    scoring_kind bounding = kind == SCORING_LEAF_PRODUCT ? SCORING_PRODUCT : kind;
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t d = 0; d < n_docs; d++) {
        float *s = scores + d * N;
        for (size_t i = 0; i < N; i++) { /* a node under the root keeps p(c) (p <= 1) */
            uint32_t c = t->order[i];
            s[c] = scoring_bounded(bounding, s[c], scoring_parent_bound(t, s, c));
        }
        if (kind == SCORING_LEAF_PRODUCT)
            leaf_scores(t, s, s);
    }
}
