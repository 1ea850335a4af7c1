/* Which documents a flat or level network sees: a per-document test of its labels against the part's level
 * and outputs, in the split's order. */
#include "train/level_docs.h"

#include "core/arena.h"
#include "core/error.h"

#include <stdlib.h>

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

hftc_status level_docs_split(level_docs_kind kind, bool single_label, const taxonomy *t, const model_part *part,
                             const split *in, const char *what, split *out)
{
    size_t n_labels = strmap_count(&t->names);
    bool *mine = single_label ? mem_calloc(n_labels + 1, sizeof *mine) : NULL;
    *out = (split){in->ds, mem_alloc(in->n ? in->n : 1, sizeof *out->idx), 0, NULL};
    if (!out->idx || (single_label && !mine)) {
        free(mine), free(out->idx);
        out->idx = NULL;
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t j = 0; single_label && j < part->n_outputs; j++)
        mine[part->nodes[j]] = true;
    bool by_reach = kind == LEVEL_DOCS_REACH && part->level > 0;
    hftc_status st = HFTC_STATUS_OK;
    for (size_t i = 0; i < in->n && st == HFTC_STATUS_OK; i++) {
        size_t d = in->idx[i];
        bool keep = !by_reach || reaches(t, in->ds, d, part->level);
        if (single_label) /* one label at the level: the document reaches it */
            st = one_label_among(t, part, in->ds, d, mine, what, &keep);
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
