/* Classifiers of the linear family that are one problem: the same documents with the same labels and the same
 * start. Deep taxonomies have many: a category with one child whose documents are all the child's, two categories
 * of the one training document each (amazon: 5,670 labels, 4,394 distinct problems). liblinear is deterministic,
 * so the twin's solution is the first one's, bit for bit: it is trained once and copied. */
#include "core/error.h"
#include "core/hash.h"
#include "train/linear_internal.h"

#include <stdlib.h>
#include <string.h>

/* A unit's problem: its documents (the positions in the training split of docs_label's documents; all of them
 * when docs_label is UINT32_MAX), the positives among them (positives[0 .. n_positives)) and what it starts from
 * at the first C (start: a unit, SIZE_MAX for zeros). */
typedef struct {
    size_t unit, level, start, n_positives;
    uint32_t docs_label;
    const size_t *positives;
    uint64_t fingerprint;
} problem_key;

typedef struct {
    size_t *start, *docs; /* per taxonomy node, the training positions of its documents, increasing */
} label_docs;

static hftc_status label_docs_make(const linear_context *ctx, label_docs *ld)
{
    const split *tr = ctx->tr;
    const dataset *ds = tr->ds;
    size_t N = ctx->m->tax.n_nodes, total = 0;
    ld->start = mem_calloc(N + 2, sizeof *ld->start);
    if (!ld->start)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < tr->n; i++)
        for (size_t k = ds->label_start[tr->idx[i]]; k < ds->label_start[tr->idx[i] + 1]; k++)
            if (ds->labels[k] < N)
                ld->start[ds->labels[k] + 2]++, total++;
    for (size_t c = 0; c < N; c++)
        ld->start[c + 2] += ld->start[c + 1];
    ld->docs = mem_alloc(total ? total : 1, sizeof *ld->docs);
    if (!ld->docs)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < tr->n; i++) /* start[c + 1] is the fill point of node c, then its end */
        for (size_t k = ds->label_start[tr->idx[i]]; k < ds->label_start[tr->idx[i] + 1]; k++)
            if (ds->labels[k] < N)
                ld->docs[ld->start[ds->labels[k] + 1]++] = i;
    return HFTC_STATUS_OK;
}

static size_t label_count(const label_docs *ld, uint32_t c) { return ld->start[c + 1] - ld->start[c]; }

static bool same_docs(const label_docs *ld, uint32_t a, uint32_t b)
{
    if (a == UINT32_MAX || b == UINT32_MAX)
        return a == b;
    return label_count(ld, a) == label_count(ld, b) &&
           !memcmp(ld->docs + ld->start[a], ld->docs + ld->start[b], label_count(ld, a) * sizeof *ld->docs);
}

static bool same_problem(const label_docs *ld, const problem_key *a, const problem_key *b)
{
    return a->fingerprint == b->fingerprint && a->level == b->level && a->start == b->start &&
           a->n_positives == b->n_positives && same_docs(ld, a->docs_label, b->docs_label) &&
           !memcmp(a->positives, b->positives, a->n_positives * sizeof *a->positives);
}

static size_t resolved(const linear_context *ctx, size_t u)
{
    return u == SIZE_MAX || ctx->units[u].twin == SIZE_MAX ? u : ctx->units[u].twin;
}

/* Unit u's key, its positives written at positives (room for its label's documents). */
static problem_key unit_key(const linear_context *ctx, const label_docs *ld, size_t u, size_t *positives)
{
    const unit *un = &ctx->units[u];
    uint32_t label = unit_label(ctx, u);
    problem_key k = {.unit = u,
                     .level = ctx->m->parts[un->part].level,
                     .start = resolved(ctx, un->parent_unit),
                     .docs_label = un->docs_of == SIZE_MAX ? UINT32_MAX : unit_label(ctx, un->docs_of),
                     .positives = positives};
    const size_t *own = ld->docs + ld->start[label], *own_end = ld->docs + ld->start[label + 1];
    if (k.docs_label == UINT32_MAX) {
        k.n_positives = (size_t)(own_end - own);
        memcpy(positives, own, k.n_positives * sizeof *positives);
    } else { /* the label's documents among docs_label's */
        const size_t *in = ld->docs + ld->start[k.docs_label], *in_end = ld->docs + ld->start[k.docs_label + 1];
        while (own < own_end && in < in_end)
            if (*own < *in)
                own++;
            else if (*in < *own)
                in++;
            else
                positives[k.n_positives++] = *own, own++, in++;
    }
    uint64_t h = fnv1a(FNV1A_START, &k.level, sizeof k.level);
    h = fnv1a(h, &k.start, sizeof k.start);
    if (k.docs_label != UINT32_MAX)
        h = fnv1a(h, ld->docs + ld->start[k.docs_label], label_count(ld, k.docs_label) * sizeof *ld->docs);
    k.fingerprint = fnv1a(h, positives, k.n_positives * sizeof *positives);
    return k;
}

static int by_fingerprint(const void *a, const void *b)
{
    const problem_key *x = a, *y = b;
    if (x->fingerprint != y->fingerprint)
        return x->fingerprint < y->fingerprint ? -1 : 1;
    return x->unit < y->unit ? -1 : x->unit > y->unit; /* the earlier unit first */
}

hftc_status linear_find_twins(linear_context *ctx, size_t *n_twins)
{
    *n_twins = 0;
    label_docs ld = {0};
    problem_key *keys = mem_alloc(ctx->n_units ? ctx->n_units : 1, sizeof *keys);
    size_t *positives = NULL, room = 0;
    hftc_status st = keys ? label_docs_make(ctx, &ld) : HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t u = 0; st == HFTC_STATUS_OK && u < ctx->n_units; u++) {
        room += label_count(&ld, unit_label(ctx, u));
    }
    if (st == HFTC_STATUS_OK && !(positives = mem_alloc(room ? room : 1, sizeof *positives)))
        st = HFTC_STATUS_OUT_OF_MEMORY;
    // Level by level, so that a child's start names its parent's twin, which has the same weights.
    size_t n_levels = 0;
    for (size_t u = 0; u < ctx->n_units; u++) {
        size_t level = ctx->m->parts[ctx->units[u].part].level;
        n_levels = level + 1 > n_levels ? level + 1 : n_levels;
    }
    for (size_t level = 0; st == HFTC_STATUS_OK && level < n_levels; level++) {
        size_t n = 0, at = 0;
        for (size_t u = 0; u < ctx->n_units; u++) {
            if (ctx->m->parts[ctx->units[u].part].level != level)
                continue;
            keys[n] = unit_key(ctx, &ld, u, positives + at);
            at += keys[n++].n_positives;
        }
        qsort(keys, n, sizeof *keys, by_fingerprint);
        for (size_t first = 0, i = 1; i <= n; i++) {
            if (i < n && keys[i].fingerprint == keys[first].fingerprint)
                continue;
            for (size_t a = first + 1; a < i; a++) /* a's twin: the first earlier unit of its problem */
                for (size_t b = first; b < a; b++)
                    if (ctx->units[keys[b].unit].twin == SIZE_MAX && same_problem(&ld, &keys[b], &keys[a])) {
                        ctx->units[keys[a].unit].twin = keys[b].unit;
                        ++*n_twins;
                        break;
                    }
            first = i;
        }
    }
    free(keys), free(positives), free(ld.start), free(ld.docs);
    return st;
}

hftc_status linear_copy_twins(linear_context *ctx, size_t level)
{
    for (size_t u = 0; u < ctx->n_units; u++) {
        size_t twin = ctx->units[u].twin;
        if (twin == SIZE_MAX || ctx->m->parts[ctx->units[u].part].level != level)
            continue;
        const unit_weights *from = &ctx->w[twin];
        unit_weights *w = &ctx->w[u];
        unit_weights_free(w);
        w->index = mem_alloc(from->nnz ? from->nnz : 1, sizeof *w->index);
        w->value = mem_alloc(from->nnz ? from->nnz : 1, sizeof *w->value);
        if (!w->index || !w->value)
            return HFTC_STATUS_OUT_OF_MEMORY;
        if (from->nnz) {
            memcpy(w->index, from->index, from->nnz * sizeof *w->index);
            memcpy(w->value, from->value, from->nnz * sizeof *w->value);
        }
        w->nnz = from->nnz, w->bias = from->bias, w->trained = from->trained;
    }
    return HFTC_STATUS_OK;
}
