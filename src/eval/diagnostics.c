/* The evaluation's figures for a report: which siblings a model predicts in place of a document's label (the
 * errors a hierarchy makes most), and micro precision and recall as the threshold moves. */
#include "eval/diagnostics.h"

#include "core/arena.h"

#include <stdlib.h>
#include <string.h>

void curve_tally_add(curve_tally *tally, scoring_kind kind, const taxonomy *t, const float *probs, const float *scores,
                     bool *keep, const dataset *ds, size_t first, size_t n)
{
    size_t C = t->n_nodes;
    for (size_t p = 0; p < HFTC_CURVE_POINTS; p++) {
        float threshold = (float)p / (float)(HFTC_CURVE_POINTS - 1);
        scoring_select(kind, t, probs, scores, threshold, NULL, keep, n);
        for (size_t i = 0; i < n; i++) {
            const bool *row = keep + i * C;
            size_t predicted = 0, gold = 0, right = 0;
            for (size_t c = 0; c < C; c++)
                predicted += row[c];
            for (size_t j = ds->label_start[first + i]; j < ds->label_start[first + i + 1]; j++) {
                uint32_t g = ds->labels[j];
                gold++;
                right += g < C && row[g];
            }
            tally->tp[p] += right, tally->fp[p] += predicted - right, tally->fn[p] += gold - right;
        }
    }
}

void curve_tally_finish(const curve_tally *tally, hftc_evaluation *out)
{
    for (size_t p = 0; p < HFTC_CURVE_POINTS; p++) {
        size_t tp = tally->tp[p], fp = tally->fp[p], fn = tally->fn[p];
        out->curve[p] = (hftc_curve_point){.threshold = (double)p / (double)(HFTC_CURVE_POINTS - 1),
                                           .precision = tp + fp ? (double)tp / (double)(tp + fp) : 0.0,
                                           .recall = tp + fn ? (double)tp / (double)(tp + fn) : 0.0,
                                           .f1 = metrics_f1(tp, fp, fn)};
    }
    out->n_curve = HFTC_CURVE_POINTS;
}

/* Whether a and b (known labels) share a parent, the root included. */
static bool siblings(const taxonomy *t, uint32_t a, uint32_t b)
{
    for (size_t i = t->parent_start[a]; i < t->parent_start[a + 1]; i++)
        for (size_t j = t->parent_start[b]; j < t->parent_start[b + 1]; j++)
            if (t->parents[i] == t->parents[j])
                return true;
    return false;
}

static bool in_set(const uint32_t *ids, size_t start, size_t end, uint32_t id)
{
    for (size_t k = start; k < end; k++)
        if (ids[k] == id)
            return true;
    return false;
}

/* Pairs (gold, predicted) ordered by id, so that equal pairs are adjacent. */
static int pair_by_ids(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

static int confusion_order(const void *a, const void *b)
{
    const hftc_confusion *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    int by_gold = strcmp(x->gold, y->gold);
    return by_gold ? by_gold : strcmp(x->predicted, y->predicted);
}

hftc_status sibling_confusions(const taxonomy *t, const metrics_input *mi, hftc_evaluation *out)
{
    uint32_t *pairs = NULL; /* 2 per confusion seen in a document */
    size_t n = 0, capacity = 0;
    hftc_status st = HFTC_STATUS_OK;
    for (size_t d = 0; st == HFTC_STATUS_OK && d < mi->n_docs; d++) {
        size_t g0 = mi->gold_start[d], g1 = mi->gold_start[d + 1], p0 = mi->pred_start[d], p1 = mi->pred_start[d + 1];
        for (size_t i = g0; st == HFTC_STATUS_OK && i < g1; i++) {
            uint32_t gold = mi->gold[i];
            if (gold >= t->n_nodes || in_set(mi->pred, p0, p1, gold))
                continue;
            for (size_t j = p0; st == HFTC_STATUS_OK && j < p1; j++) {
                uint32_t wrong = mi->pred[j];
                if (wrong == gold || in_set(mi->gold, g0, g1, wrong) || !siblings(t, gold, wrong))
                    continue;
                st = mem_reserve((void **)&pairs, &capacity, 2 * (n + 1), sizeof *pairs);
                if (st == HFTC_STATUS_OK)
                    pairs[2 * n] = gold, pairs[2 * n + 1] = wrong, n++;
            }
        }
    }
    if (n)
        qsort(pairs, n, 2 * sizeof *pairs, pair_by_ids);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || pair_by_ids(pairs + 2 * i, pairs + 2 * (i - 1)) != 0;
    out->confusions = st == HFTC_STATUS_OK ? mem_calloc(distinct ? distinct : 1, sizeof *out->confusions) : NULL;
    if (st == HFTC_STATUS_OK && !out->confusions)
        st = HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; st == HFTC_STATUS_OK && i < n; i++) {
        if (i > 0 && pair_by_ids(pairs + 2 * i, pairs + 2 * (i - 1)) == 0) {
            out->confusions[out->n_confusions - 1].count++;
            continue;
        }
        hftc_confusion *c = &out->confusions[out->n_confusions++];
        c->gold = strdup(strmap_string(&t->names, pairs[2 * i]));
        c->predicted = strdup(strmap_string(&t->names, pairs[2 * i + 1]));
        c->count = 1;
        if (!c->gold || !c->predicted)
            st = HFTC_STATUS_OUT_OF_MEMORY;
    }
    if (st == HFTC_STATUS_OK && out->n_confusions)
        qsort(out->confusions, out->n_confusions, sizeof *out->confusions, confusion_order);
    free(pairs);
    return st;
}
