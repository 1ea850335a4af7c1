/* The metrics of decision sets (docs/ARCHITECTURE.md, "The command-line contract") over label-id sets: what evaluation
 * reports and the threshold searches maximise. micro-F1: over all (document, label) pairs; macro-F1: mean of per-label
 * F1 over the labels that occur in the gold set (of the labels selected by label_mask); weighted F1: their mean
 * weighted by each label's support (gold documents; scikit-learn's average="weighted"); exact match: predicted set
 * equals gold set; P@k = |top-k ∩ gold| / k; nDCG@k = DCG@k / IDCG@k with binary relevance and log2(rank + 1) discount,
 * IDCG over min(k, |gold|) hits; averages over documents. */
#ifndef HFTC_HIER_METRICS_H
#define HFTC_HIER_METRICS_H

#include "hftc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_K 5
#define METRICS_NO_LABEL UINT32_MAX

typedef struct {
    size_t docs;
    size_t labels; /* labels occurring in the gold set (macro-F1 denominator) */
    double micro_precision, micro_recall, micro_f1;
    size_t micro_tp, micro_fp, micro_fn; /* the (document, label) counts of the micro figures */
    double macro_f1;
    double weighted_f1;
    double exact_match;
    double precision_at[METRICS_MAX_K + 1]; /* index k = 1..5 */
    double ndcg_at[METRICS_MAX_K + 1];
} metrics;

typedef struct {
    size_t n_docs, n_labels;  /* label ids are < n_labels */
    const size_t *gold_start; /* CSR: n_docs + 1 */
    const uint32_t *gold;
    const size_t *pred_start; /* CSR: the predicted set of each document */
    const uint32_t *pred;
    const uint32_t *ranked; /* n_docs x METRICS_MAX_K best labels, best first, padded with
                             * METRICS_NO_LABEL; NULL = no ranking metrics */
    const bool *label_mask; /* n_labels or NULL: only these labels count anywhere (per-level
                             * metrics); ranked lists are then filtered to them */
} metrics_input;

hftc_status metrics_compute(metrics *out, const metrics_input *in);

/* F1 of true-positive, false-positive and false-negative counts, as metrics_compute gives it (0 when all
 * are 0). */
double metrics_f1(size_t tp, size_t fp, size_t fn);

/* Per-label counts for reports (precision/recall/F1 per label); arrays of n_labels. */
hftc_status metrics_per_label(const metrics_input *in, size_t *true_pos, size_t *false_pos, size_t *false_neg);

#endif
