/* Decisions: scores decided into label sets, best first, and rankings (the k best of each document);
 * and their metrics against gold sets, under one threshold or a decision rule. */
#include "hier/decisions.h"

#include "core/arena.h"
#include "core/error.h"

#include <stdlib.h>

/* Keeps the k best (probability, id) of a row by insertion into a small sorted list; ties go to
 * the lower id so rankings are deterministic. */
static size_t top_k(const float *p, size_t C, size_t k, uint32_t *out)
{
    size_t n = 0;
    for (size_t c = 0; c < C; c++) {
        if (n == k && !(p[c] > p[out[k - 1]]))
            continue;
        size_t pos = n < k ? n++ : k - 1;
        while (pos > 0 && p[c] > p[out[pos - 1]]) {
            out[pos] = out[pos - 1];
            pos--;
        }
        out[pos] = (uint32_t)c;
    }
    return n;
}

typedef struct {
    float score;
    uint32_t id;
} scored_label;

static int scored_label_compare(const void *a, const void *b)
{
    const scored_label *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Orders ids best first (ties by id); tmp holds at least m entries. */
static void sort_by_score(uint32_t *ids, size_t m, const float *scores, scored_label *tmp)
{
    if (m < 2)
        return;
    for (size_t i = 0; i < m; i++)
        tmp[i] = (scored_label){scores[ids[i]], ids[i]};
    qsort(tmp, m, sizeof *tmp, scored_label_compare);
    for (size_t i = 0; i < m; i++)
        ids[i] = tmp[i].id;
}

hftc_status decisions_build(const float *probs, size_t n, size_t C, float threshold, size_t k, size_t **pred_start,
                            uint32_t **pred, uint32_t *ranked)
{
    bool *keep = mem_alloc(n * C > 0 ? n * C : 1, sizeof *keep);
    if (!keep)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < n * C; i++)
        keep[i] = probs[i] >= threshold;
    hftc_status st = decisions_from_mask(probs, keep, n, C, k, pred_start, pred, ranked);
    free(keep);
    return st;
}

hftc_status decisions_from_mask(const float *probs, const bool *keep, size_t n, size_t C, size_t k, size_t **pred_start,
                                uint32_t **pred, uint32_t *ranked)
{
    size_t *start = mem_alloc(n + 1, sizeof *start);
    if (!start)
        return HFTC_STATUS_OUT_OF_MEMORY;
    start[0] = 0;
    size_t widest = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = 0;
        for (size_t c = 0; c < C; c++)
            m += keep[i * C + c];
        start[i + 1] = start[i] + m;
        widest = m > widest ? m : widest;
    }
    uint32_t *ids = mem_alloc(start[n], sizeof *ids);
    scored_label *tmp = mem_alloc(widest, sizeof *tmp); /* sort scratch, shared by every document */
    if (!ids || !tmp) {
        free(start), free(ids), free(tmp);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * C;
        uint32_t *sel = ids + start[i];
        size_t m = 0;
        for (size_t c = 0; c < C; c++)
            if (keep[i * C + c])
                sel[m++] = (uint32_t)c;
        sort_by_score(sel, m, p, tmp);
        if (ranked) {
            size_t got = top_k(p, C, k, ranked + i * k);
            for (size_t j = got; j < k; j++)
                ranked[i * k + j] = METRICS_NO_LABEL;
        }
    }
    free(tmp);
    *pred_start = start;
    *pred = ids;
    return HFTC_STATUS_OK;
}

/* The metrics of the decisions pred (CSR over gold's documents) against gold; frees the decisions. */
static hftc_status score_decisions(const gold_sets *gold, size_t *pred_start, uint32_t *pred, metrics *mt)
{
    metrics_input mi = {.n_docs = gold->n,
                        .n_labels = gold->n_labels,
                        .gold_start = gold->start,
                        .gold = gold->labels,
                        .pred_start = pred_start,
                        .pred = pred};
    hftc_status st = metrics_compute(mt, &mi);
    free(pred_start), free(pred);
    return st;
}

hftc_status decisions_metrics_at(const float *scores, size_t C, const gold_sets *gold, float threshold, metrics *mt)
{
    size_t *pred_start;
    uint32_t *pred;
    TRY(decisions_build(scores, gold->n, C, threshold, 0, &pred_start, &pred, NULL));
    return score_decisions(gold, pred_start, pred, mt);
}

hftc_status decisions_metrics(const decision_rule *rule, const taxonomy *t, const float *probs, const float *scores,
                              const gold_sets *gold, metrics *mt)
{
    size_t C = t->n_nodes, *pred_start;
    uint32_t *pred;
    bool *keep = mem_alloc(gold->n * C + 1, sizeof *keep);
    if (!keep)
        return HFTC_STATUS_OUT_OF_MEMORY;
    scoring_select(rule->scoring, t, probs, scores, rule->threshold, rule->thresholds, keep, gold->n);
    hftc_status st = decisions_from_mask(scores, keep, gold->n, C, 0, &pred_start, &pred, NULL);
    free(keep);
    return st == HFTC_STATUS_OK ? score_decisions(gold, pred_start, pred, mt) : st;
}
