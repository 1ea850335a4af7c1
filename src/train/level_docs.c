/* Which documents a flat, level or parent network sees: a per-document test of its labels against the part's
 * level, node and outputs, in the split's order. */
#include "train/level_docs.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/rng.h"

#include <stdlib.h>
#include <string.h>

/* Whether document d has a label at level or level - 1 (the authors' "layer in hie_info or layer-1 in
 * hie_info": labels are completed with their ancestors, so this is a document reaching level - 1). */
static bool reaches(const taxonomy *t, const dataset *ds, size_t d, size_t level)
{
    for (size_t j = ds->label_start[d]; j < ds->label_start[d + 1]; j++) {
        uint32_t l = ds->labels[j];
        if (l < t->n_nodes && (t->level[l] == level || t->level[l] + 1 == level))
            return true;
    }
    return false;
}

/* Whether document d has one label among the part's outputs (mine); two are an error naming the document and
 * them (what: the split's name). */
static hftc_status one_label_among(const taxonomy *t, const model_part *part, const dataset *ds, size_t d,
                                   const bool *mine, const char *what, bool *one)
{
    size_t n_labels = strmap_count(&t->names), count = 0, first = 0;
    for (size_t j = ds->label_start[d]; j < ds->label_start[d + 1]; j++) {
        if (ds->labels[j] >= n_labels || !mine[ds->labels[j]])
            continue;
        if (count++ > 0)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "%s document %zu has two labels in %s (%s, %s): the softmax head needs one label per "
                             "document (per level); use --head sigmoid for multi-label data",
                             what, d + 1, part->name, strmap_string(&t->names, ds->labels[first]),
                             strmap_string(&t->names, ds->labels[j]));
        first = j;
    }
    *one = count == 1;
    return HFTC_STATUS_OK;
}

/* By label id (room for every label of t's map): whether it is one of the part's outputs; NULL if out of memory. */
static bool *outputs_mask(const taxonomy *t, const model_part *part)
{
    bool *mine = mem_calloc(strmap_count(&t->names) + 1, sizeof *mine);
    for (size_t j = 0; mine && j < part->n_outputs; j++)
        mine[part->nodes[j]] = true;
    return mine;
}

hftc_status level_docs_split(level_docs_kind kind, bool single_label, const taxonomy *t, const model_part *part,
                             const split *in, const char *what, split *out)
{
    bool *mine = single_label ? outputs_mask(t, part) : NULL;
    *out = (split){in->ds, mem_alloc(in->n ? in->n : 1, sizeof *out->idx), 0, NULL};
    if (!out->idx || (single_label && !mine)) {
        free(mine), free(out->idx);
        out->idx = NULL;
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    bool by_reach = kind == LEVEL_DOCS_REACH && part->level > 0;
    uint32_t node = part->of_node ? model_part_node(t, part) : TAXONOMY_ROOT; /* the top level's: every document */
    hftc_status st = HFTC_STATUS_OK;
    for (size_t i = 0; i < in->n && st == HFTC_STATUS_OK; i++) {
        size_t d = in->idx[i];
        bool keep = (!by_reach || reaches(t, in->ds, d, part->level)) &&
                    (node == TAXONOMY_ROOT || dataset_has_label(in->ds, d, node));
        bool one = true;
        if (single_label) /* one label at the level (among the node's children): it reaches the level (the node) */
            st = one_label_among(t, part, in->ds, d, mine, what, &one);
        keep = keep && one;
        if (keep && st == HFTC_STATUS_OK)
            out->idx[out->n++] = d;
    }
    free(mine);
    if (st != HFTC_STATUS_OK) {
        free(out->idx);
        out->idx = NULL;
    }
    return st;
}

/* Whether document d has a label among the part's outputs (mine, by label id). */
static bool has_output_label(const taxonomy *t, const dataset *ds, size_t d, const bool *mine)
{
    size_t n_labels = strmap_count(&t->names);
    for (size_t j = ds->label_start[d]; j < ds->label_start[d + 1]; j++)
        if (ds->labels[j] < n_labels && mine[ds->labels[j]])
            return true;
    return false;
}

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

hftc_status level_docs_hold_out(const taxonomy *t, const model_part *part, float fraction, uint64_t seed, split *tr,
                                split *va, size_t *held)
{
    *held = 0;
    bool *mine = outputs_mask(t, part);
    size_t *sides = mem_alloc(tr->n ? tr->n : 1, sizeof *sides), *moved = mem_alloc(tr->n ? tr->n : 1, sizeof *moved);
    if (!mine || !sides || !moved) {
        free(mine), free(sides), free(moved);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    bool positive = false;
    for (size_t i = 0; i < va->n && !positive; i++)
        positive = has_output_label(t, va->ds, va->idx[i], mine);
    size_t n_pos = 0, n_neg = 0; /* the positives from the front of sides, the others from its back */
    for (size_t i = 0; !positive && i < tr->n; i++) {
        if (has_output_label(t, tr->ds, tr->idx[i], mine))
            sides[n_pos++] = tr->idx[i];
        else
            sides[tr->n - 1 - n_neg++] = tr->idx[i];
    }
    if (!positive && n_pos >= 2) {
        rng r;
        rng_seed(&r, seed, 0x401d0000ULL + part->level);
        rng_shuffle(&r, sides, n_pos);
        rng_shuffle(&r, sides + n_pos, n_neg);
        size_t v_pos = (size_t)((double)n_pos * (double)fraction), v_neg = (size_t)((double)n_neg * (double)fraction);
        v_pos = v_pos < 1 ? 1 : v_pos >= n_pos ? n_pos - 1 : v_pos;
        memcpy(moved, sides, v_pos * sizeof *moved);
        memcpy(moved + v_pos, sides + n_pos, v_neg * sizeof *moved);
        size_t n_moved = v_pos + v_neg;
        qsort(moved, n_moved, sizeof *moved, compare_size);
        size_t kept = 0; /* tr loses the moved documents, its order otherwise kept */
        for (size_t i = 0; i < tr->n; i++)
            if (!bsearch(&tr->idx[i], moved, n_moved, sizeof *moved, compare_size))
                tr->idx[kept++] = tr->idx[i];
        tr->n = kept;
        free(va->idx);
        *va = (split){tr->ds, moved, n_moved, NULL};
        moved = NULL;
        *held = n_moved;
    }
    free(mine), free(sides), free(moved);
    return HFTC_STATUS_OK;
}
