/* Thresholding, ranking, and evaluation of a model on a labelled file. */
#include "eval/evaluate.h"

#include "core/arena.h"
#include "core/error.h"
#include "hier/scoring.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

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
    size_t *start = mem_alloc(n + 1, sizeof *start);
    if (!start)
        return HFTC_STATUS_OUT_OF_MEMORY;
    start[0] = 0;
    size_t widest = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = 0;
        for (size_t c = 0; c < C; c++)
            m += probs[i * C + c] >= threshold;
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
            if (p[c] >= threshold)
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

/* Reads the input with labels interned into label_map, predicts every document and turns the
 * probabilities into scores with the requested scoring function. */
static hftc_status score_input(hftc_model *m, const hftc_input_options *in, bool labelled, strmap *label_map,
                               dataset *ds, float **scores)
{
    dataset_options opt = {
        .tokenizer = m->tokenizer, .labels_required = labelled, .skip_bad_lines = in->skip_bad_lines};
    scoring_kind kind = m->scoring;
    if (!data_format_parse(in->format ? in->format : "auto", &opt.format) ||
        (labelled && opt.format == DATA_FORMAT_TEXT))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown or unlabelled data format \"%s\"", in->format);
    if (in->scoring && !scoring_parse(in->scoring, &kind))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown scoring \"%s\" (independent, bsf, msf)", in->scoring);
    TRY(dataset_read(ds, in->path, &opt, &m->vocab, false, label_map));
    size_t C = m->net_config.n_classes;
    *scores = mem_alloc(ds->n_docs * C, sizeof **scores);
    if (!*scores)
        return HFTC_STATUS_OUT_OF_MEMORY;
    TRY(model_predict_dataset(m, ds, NULL, ds->n_docs, *scores));
    scoring_apply(kind, &m->tax, *scores, *scores, ds->n_docs);
    return HFTC_STATUS_OK;
}

static void copy_metrics(hftc_level_metrics *out, const metrics *mt)
{
    *out = (hftc_level_metrics){
        .labels = mt->labels, .micro_f1 = mt->micro_f1, .macro_f1 = mt->macro_f1, .accuracy = mt->exact_match};
}

hftc_status hftc_evaluate(hftc_model *m, const hftc_input_options *in, hftc_evaluation *out)
{
    /* Labels the model does not know get ids past its outputs: never predicted, always missed. The
     * known ones are completed with their ancestors, as the training data was. */
    dataset ds = {0};
    float *scores = NULL;
    size_t *pred_start = NULL, C = m->net_config.n_classes;
    uint32_t *pred = NULL, *ranked = NULL;
    bool *mask = NULL;
    double t0 = now_seconds();
    hftc_status st = score_input(m, in, true, &m->tax.names, &ds, &scores);
    double seconds = now_seconds() - t0;
    size_t n_labels = strmap_count(&m->tax.names);
    if (st == HFTC_STATUS_OK)
        st = taxonomy_complete_dataset(&m->tax, &ds, in->path, TAXONOMY_UNKNOWN_KEEP, NULL);
    if (st == HFTC_STATUS_OK) {
        ranked = mem_alloc(ds.n_docs * METRICS_MAX_K, sizeof *ranked);
        mask = mem_calloc(n_labels, sizeof *mask);
        st = ranked && mask ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    }
    float threshold = in->threshold >= 0.0f ? in->threshold : m->threshold;
    if (st == HFTC_STATUS_OK)
        st = decisions_build(scores, ds.n_docs, C, threshold, METRICS_MAX_K, &pred_start, &pred, ranked);
    metrics_input mi = {.n_docs = ds.n_docs,
                        .n_labels = n_labels,
                        .gold_start = ds.label_start,
                        .gold = ds.labels,
                        .pred_start = pred_start,
                        .pred = pred,
                        .ranked = ranked};
    metrics mt;
    if (st == HFTC_STATUS_OK)
        st = metrics_compute(&mt, &mi);
    if (st == HFTC_STATUS_OK) {
        *out = (hftc_evaluation){.docs = mt.docs,
                                 .labels = mt.labels,
                                 .unknown_labels = n_labels - C,
                                 .micro_precision = mt.micro_precision,
                                 .micro_recall = mt.micro_recall,
                                 .micro_f1 = mt.micro_f1,
                                 .macro_f1 = mt.macro_f1,
                                 .exact_match = mt.exact_match,
                                 .seconds = seconds,
                                 .docs_per_second = seconds > 0 ? (double)mt.docs / seconds : 0};
        for (size_t k = 1; k <= METRICS_MAX_K; k++) {
            out->precision_at[k] = mt.precision_at[k];
            out->ndcg_at[k] = mt.ndcg_at[k];
        }
    }
    /* Per level: only that level's labels count (accuracy: the level's label set is exactly right). */
    mi.label_mask = mask;
    mi.ranked = NULL;
    for (size_t level = 1; st == HFTC_STATUS_OK && level <= m->tax.depth && level <= HFTC_MAX_LEVELS; level++) {
        for (size_t c = 0; c < C; c++)
            mask[c] = m->tax.level[c] == level;
        st = metrics_compute(&mt, &mi);
        copy_metrics(&out->level[level - 1], &mt);
        out->n_levels = level;
    }
    free(scores), free(ranked), free(pred_start), free(pred), free(mask);
    dataset_free(&ds);
    hftc_status forget = taxonomy_forget_pending(&m->tax);
    return st == HFTC_STATUS_OK ? forget : st;
}

hftc_status hftc_predict_file(hftc_model *m, const hftc_input_options *in, size_t k, hftc_prediction_fn fn, void *user)
{
    size_t C = m->net_config.n_classes;
    if (k > C)
        k = C;
    strmap labels; /* labels in the input are read and ignored */
    strmap_init(&labels);
    dataset ds = {0};
    float *scores = NULL;
    size_t *pred_start = NULL, *selected = NULL, *ranked_ids = NULL;
    uint32_t *pred = NULL, *ranked = NULL;
    hftc_status st = score_input(m, in, false, &labels, &ds, &scores);
    if (st == HFTC_STATUS_OK) {
        ranked = mem_alloc(ds.n_docs * (k ? k : 1), sizeof *ranked);
        selected = mem_alloc(C, sizeof *selected);
        ranked_ids = mem_alloc(k ? k : 1, sizeof *ranked_ids);
        st = ranked && selected && ranked_ids ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    }
    float threshold = in->threshold >= 0.0f ? in->threshold : m->threshold;
    if (st == HFTC_STATUS_OK)
        st = decisions_build(scores, ds.n_docs, C, threshold, k, &pred_start, &pred, k ? ranked : NULL);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < ds.n_docs; i++) {
        hftc_prediction p = {.index = i, .probs = scores + i * C, .selected = selected, .ranked = ranked_ids};
        for (size_t j = pred_start[i]; j < pred_start[i + 1]; j++)
            selected[p.n_selected++] = pred[j];
        for (size_t j = 0; j < k && ranked[i * k + j] != METRICS_NO_LABEL; j++)
            ranked_ids[p.n_ranked++] = ranked[i * k + j];
        st = fn(&p, user);
    }
    free(scores), free(ranked), free(pred_start), free(pred), free(selected), free(ranked_ids);
    dataset_free(&ds);
    strmap_free(&labels);
    return st;
}
