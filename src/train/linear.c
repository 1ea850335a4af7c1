/* The linear family's training: each output of each part (one per label of a flat or level part, the one
 * of a node part) is a binary L2-regularised classifier over the TF-IDF features, trained by liblinear
 * (Fan et al. 2008; its primal trust-region Newton solvers: logistic regression or the L2-loss SVM,
 * scikit-learn's LogisticRegression(solver="liblinear") and LinearSVC optimise the same objectives, with a
 * bias feature of value 1). The parts keep the strategies' layout and hierarchy: a node classifier trains on
 * its parent's documents with --node-docs parent, a parent part's classifiers (one-vs-rest among a node's
 * children) on their node's always, and with --transfer finetune a label's classifier below the top starts from
 * its parent's (liblinear's initial solution). The objectives are convex, so transfer
 * speeds the solver up but leaves the optimum where it is (within the tolerance).
 *
 * Every C of --linear-c trains the whole model (each classifier starting from its solution at the C
 * before); the C whose model has the best validation micro-F1 at its best threshold is kept. SVM outputs
 * are turned into probabilities by a sigmoid fitted on the validation decision values (Platt 1999, with
 * Lin, Lin and Weng's 2007 Newton method). Classifiers of one taxonomy level train side by side, one
 * thread each; each depends on its own documents and start only, so the model does not depend on the
 * thread count. */
#include "core/arena.h"
#include "core/clock.h"
#include "core/compute.h"
#include "core/error.h"
#include "core/log.h"
#include "hier/threshold_search.h"
#include "train/linear_internal.h"
#include "train/strategy.h"
#include "train/thresholds.h"

#include <linear.h> /* liblinear */
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void liblinear_silent(const char *text) { (void)text; }

/* liblinear's rows of the training documents: 1-based feature indices, then the bias feature, then -1. */
static hftc_status make_problem_rows(linear_context *ctx, const sparse_rows *rows)
{
    size_t n = rows->n_rows, total = rows->start[n] + 2 * n;
    ctx->nodes = mem_alloc(total ? total : 1, sizeof *ctx->nodes);
    ctx->x = mem_alloc(n ? n : 1, sizeof *ctx->x);
    if (!ctx->nodes || !ctx->x)
        return HFTC_STATUS_OUT_OF_MEMORY;
    struct feature_node *at = ctx->nodes;
    for (size_t i = 0; i < n; i++) {
        ctx->x[i] = at;
        for (size_t k = rows->start[i]; k < rows->start[i + 1]; k++)
            *at++ = (struct feature_node){(int)rows->index[k] + 1, rows->value[k]};
        *at++ = (struct feature_node){(int)ctx->n_features + 1, 1.0};
        *at++ = (struct feature_node){-1, 0.0};
    }
    bool *seen = mem_calloc(ctx->n_features + 1, sizeof *seen);
    if (!seen)
        return HFTC_STATUS_OUT_OF_MEMORY;
    size_t n_seen = 0;
    for (size_t k = 0; k < rows->start[n]; k++)
        n_seen += !seen[rows->index[k]], seen[rows->index[k]] = true;
    ctx->every_feature_seen = n_seen == ctx->n_features;
    free(seen);
    return HFTC_STATUS_OK;
}

/* The model's binary classifiers, parents' before children's, with what each starts from and trains on. */
static hftc_status make_units(linear_context *ctx)
{
    hftc_model *m = ctx->m;
    size_t n = 0, N = m->tax.n_nodes;
    for (size_t p = 0; p < m->n_parts; p++)
        n += m->parts[p].n_outputs;
    ctx->units = mem_alloc(n ? n : 1, sizeof *ctx->units);
    ctx->w = mem_calloc(n ? n : 1, sizeof *ctx->w);
    size_t *unit_of = mem_alloc(N ? N : 1, sizeof *unit_of);
    if (!ctx->units || !ctx->w || !unit_of) {
        free(unit_of);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t c = 0; c < N; c++)
        unit_of[c] = SIZE_MAX;
    bool transfer = ctx->cfg->transfer == TRANSFER_FINETUNE;
    /* node --node-docs parent and parent (HDLTex): a classifier trains on its parent's documents */
    bool parent_docs =
        (ctx->cfg->node_docs == NODE_DOCS_PARENT && m->strategy == STRATEGY_NODE) || m->strategy == STRATEGY_PARENT;
    for (size_t p = 0; p < m->n_parts; p++) {
        const model_part *part = &m->parts[p];
        for (size_t j = 0; j < part->n_outputs; j++, ctx->n_units++) {
            uint32_t label = part->nodes[j];
            uint32_t parent = m->tax.parents[m->tax.parent_start[label]];
            /* a parent's unit in this part is not trained yet when this one starts */
            size_t parent_unit = parent == TAXONOMY_ROOT ? SIZE_MAX : unit_of[parent];
            if (parent_unit != SIZE_MAX && ctx->units[parent_unit].part == p)
                parent_unit = SIZE_MAX;
            ctx->units[ctx->n_units] =
                (unit){p, j, transfer ? parent_unit : SIZE_MAX, parent_docs ? parent_unit : SIZE_MAX, SIZE_MAX};
            unit_of[label] = ctx->n_units;
        }
    }
    free(unit_of);
    return HFTC_STATUS_OK;
}

void unit_weights_free(unit_weights *w)
{
    free(w->index), free(w->value);
    *w = (unit_weights){0};
}

/* The solver's start from weights from, on the features of the l documents only: elsewhere the
 * loss does not depend on a weight, so the optimum is 0 there, and a start of 0 keeps it exactly 0 (a
 * child's classifier stays as sparse as its documents, whatever its parent's). */
static const double *unit_start(const linear_context *ctx, const unit_weights *from, size_t l, unit_scratch *sc)
{
    size_t F = ctx->n_features;
    memset(sc->start, 0, (F + 1) * sizeof *sc->start);
    if (l == ctx->tr->n && ctx->every_feature_seen) { /* nothing to leave out */
        for (size_t k = 0; k < from->nnz; k++)
            sc->start[from->index[k]] = from->value[k];
        sc->start[F] = from->bias;
        return sc->start;
    }
    for (size_t i = 0; i < l; i++)
        for (const struct feature_node *x = sc->docs[i]; x->index > 0 && (size_t)x->index <= F; x++)
            sc->present[x->index - 1] = true;
    for (size_t k = 0; k < from->nnz; k++)
        if (sc->present[from->index[k]])
            sc->start[from->index[k]] = from->value[k];
    for (size_t i = 0; i < l; i++)
        for (const struct feature_node *x = sc->docs[i]; x->index > 0 && (size_t)x->index <= F; x++)
            sc->present[x->index - 1] = false;
    sc->start[F] = from->bias;
    return sc->start;
}

/* A classifier trained from nothing starts at the optimum of its bias alone, every other weight 0: for a label of a
 * few positives among thousands of documents that is most of the way (amazon at C 1: 52.6 s of CPU from zeros, 23.2
 * s from here). The objective is convex, so the optimum is the one a start at zeros reaches, to the tolerance, which
 * liblinear measures against the gradient at zeros whatever the start. P and N: the positives' weight and the
 * negatives' count; the bias feature is 1 and regularised like any weight. */
static const double *bias_only_start(const linear_context *ctx, double C, double P, double N, unit_scratch *sc)
{
    double b = 0.0;
    if (ctx->cfg->linear_svm) { /* min b^2/2 + C (P (1-b)^2 + N (1+b)^2): the minimum lies in (-1, 1) */
        b = 2.0 * C * (P - N) / (1.0 + 2.0 * C * (P + N));
    } else { /* min b^2/2 + C (P log(1 + e^-b) + N log(1 + e^b)), by Newton's method (convex, one variable) */
        for (int iter = 0; iter < 100; iter++) {
            double p = 1.0 / (1.0 + exp(-b)), g = b - C * P * (1.0 - p) + C * N * p,
                   h = 1.0 + C * (P + N) * p * (1.0 - p);
            b -= g / h;
            if (fabs(g) <= 1e-12 * (1.0 + C * (P + N)))
                break;
        }
    }
    memset(sc->start, 0, (ctx->n_features + 1) * sizeof *sc->start);
    sc->start[ctx->n_features] = b;
    return sc->start;
}

hftc_status train_unit(linear_context *ctx, size_t u, double C, const unit_weights *from, unit_scratch *sc,
                       unit_weights *out)
{
    struct feature_node **docs = sc->docs;
    double *y = sc->y;
    const split *tr = ctx->tr;
    const hftc_train_options *o = ctx->cfg->o;
    uint32_t label = unit_label(ctx, u);
    size_t docs_of = ctx->units[u].docs_of, l = 0, positives = 0;
    uint32_t parent_label = docs_of == SIZE_MAX ? 0 : unit_label(ctx, docs_of);
    for (size_t i = 0; i < tr->n; i++) {
        size_t d = tr->idx[i];
        if (docs_of != SIZE_MAX && !dataset_has_label(tr->ds, d, parent_label))
            continue;
        bool positive = dataset_has_label(tr->ds, d, label);
        docs[l] = ctx->x[i], y[l++] = positive ? 1.0 : -1.0;
        positives += positive;
    }
    const double *start = NULL; /* zeros */
    if (from)
        start = unit_start(ctx, from, l, sc);
    else if (!ctx->cfg->linear_zero_start)
        start = bias_only_start(ctx, C, (double)positives * o->pos_weight, (double)(l - positives), sc);
    unit_weights_free(out);
    out->trained = true;
    if (positives == 0 || positives == l) { /* one class: a constant, the documents' share of it */
        double share = ((double)positives + 0.5) / ((double)l + 1.0);
        out->bias = (float)log(share / (1.0 - share));
        return HFTC_STATUS_OK;
    }
    struct problem prob = {(int)l, (int)ctx->n_features + 1, y, docs, 1.0};
    int positive_label = 1;
    double positive_weight = o->pos_weight;
    struct parameter param = {.solver_type = ctx->cfg->linear_svm ? L2R_L2LOSS_SVC : L2R_LR,
                              .eps = o->linear_tolerance,
                              .C = C,
                              .nr_weight = o->pos_weight != 1.0f,
                              .weight_label = &positive_label,
                              .weight = &positive_weight,
                              .init_sol = (double *)start};
    const char *problem = check_parameter(&prob, &param);
    if (problem)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "liblinear: %s", problem);
    struct model *lm = train(&prob, &param);
    if (!lm)
        return HFTC_STATUS_OUT_OF_MEMORY;
    // The weights are those of lm->label[0]'s class (liblinear puts +1 first for -1/+1 labels).
    double sign = lm->label[0] == 1 ? 1.0 : -1.0;
    size_t F = ctx->n_features, nnz = 0;
    for (size_t f = 0; f < F; f++)
        nnz += (float)lm->w[f] != 0.0f;
    out->index = mem_alloc(nnz ? nnz : 1, sizeof *out->index);
    out->value = mem_alloc(nnz ? nnz : 1, sizeof *out->value);
    if (!out->index || !out->value) {
        free_and_destroy_model(&lm);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t f = 0; f < F; f++)
        if ((float)lm->w[f] != 0.0f) {
            out->index[out->nnz] = (uint32_t)f;
            out->value[out->nnz++] = (float)(sign * lm->w[f]);
        }
    out->bias = (float)(sign * lm->w[F]);
    free_and_destroy_model(&lm);
    return HFTC_STATUS_OK;
}

hftc_status unit_scratch_init(const linear_context *ctx, unit_scratch *sc)
{
    size_t F = ctx->n_features, n = ctx->tr->n;
    *sc = (unit_scratch){mem_alloc(n ? n : 1, sizeof *sc->docs), mem_alloc(n ? n : 1, sizeof *sc->y),
                         mem_alloc(F + 1, sizeof *sc->start), mem_calloc(F + 1, sizeof *sc->present)};
    if (sc->docs && sc->y && sc->start && sc->present)
        return HFTC_STATUS_OK;
    unit_scratch_free(sc); /* none of it, rather than part */
    return HFTC_STATUS_OUT_OF_MEMORY;
}

void unit_scratch_free(unit_scratch *sc)
{
    free(sc->docs), free(sc->y), free(sc->start), free(sc->present);
    *sc = (unit_scratch){0};
}

const unit_weights *unit_from(const linear_context *ctx, size_t u)
{
    return ctx->w[u].trained                       ? &ctx->w[u]
           : ctx->units[u].parent_unit != SIZE_MAX ? &ctx->w[ctx->units[u].parent_unit]
                                                   : NULL;
}

/* train_wave's units on this process's threads. */
static void train_wave_here(linear_context *ctx, size_t level, double C)
{
#pragma omp parallel num_threads(ctx->cfg->compute.threads)
    {
        compute_blas_serial(); /* liblinear's vector products: one thread, the same sums whatever the count */
        unit_scratch sc;
        hftc_status st = unit_scratch_init(ctx, &sc);
#pragma omp for schedule(dynamic)
        for (size_t u = 0; u < ctx->n_units; u++) {
            if (st != HFTC_STATUS_OK || !unit_in_wave(ctx, u, level))
                continue;
            st = train_unit(ctx, u, C, unit_from(ctx, u), &sc, &ctx->w[u]);
        }
        if (st != HFTC_STATUS_OK) {
#pragma omp critical(hftc_linear_status)
            ctx->status = st;
        }
        unit_scratch_free(&sc);
    }
}

/* The units of parts at taxonomy level `level` (flat: 0) at C, side by side, each from its own solution at
 * the C before, else its parent's at this C (transfer), else zeros; in an MPI job spread over its processes. A
 * unit with a twin gets its twin's solution. */
static void train_wave(linear_context *ctx, size_t level, double C)
{
    if (hftc_distributed_size() > 1) {
        linear_wave_spread(ctx, level, C);
    } else {
        train_wave_here(ctx, level, C);
    }
    if (ctx->status == HFTC_STATUS_OK)
        ctx->status = linear_copy_twins(ctx, level);
}

/* Platt's sigmoid sigma(a f + c) of decision values f (n) with labels positive, by Newton's method with
 * backtracking on the regularised targets (Lin, Lin and Weng 2007, libsvm's sigmoid_train). */
static void fit_sigmoid(const float *f, const bool *positive, size_t n, size_t stride, float *a, float *c)
{
    double prior1 = 0, prior0 = 0;
    for (size_t i = 0; i < n; i++)
        positive[i] ? prior1++ : prior0++;
    double hi = (prior1 + 1.0) / (prior1 + 2.0), lo = 1.0 / (prior0 + 2.0);
    double A = 0.0, B = log((prior0 + 1.0) / (prior1 + 1.0)), sigma = 1e-12, fval = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = positive[i] ? hi : lo, fApB = f[i * stride] * A + B;
        fval += fApB >= 0 ? t * fApB + log1p(exp(-fApB)) : (t - 1) * fApB + log1p(exp(fApB));
    }
    for (int iter = 0; iter < 100; iter++) {
        double h11 = sigma, h22 = sigma, h21 = 0, g1 = 0, g2 = 0;
        for (size_t i = 0; i < n; i++) {
            double t = positive[i] ? hi : lo, fApB = f[i * stride] * A + B, p, q;
            if (fApB >= 0)
                p = exp(-fApB) / (1.0 + exp(-fApB)), q = 1.0 / (1.0 + exp(-fApB));
            else
                p = 1.0 / (1.0 + exp(fApB)), q = exp(fApB) / (1.0 + exp(fApB));
            double d2 = p * q, d1 = t - p, fi = f[i * stride];
            h11 += fi * fi * d2, h22 += d2, h21 += fi * d2, g1 += fi * d1, g2 += d1;
        }
        if (fabs(g1) < 1e-5 && fabs(g2) < 1e-5)
            break;
        double det = h11 * h22 - h21 * h21, dA = -(h22 * g1 - h21 * g2) / det, dB = -(-h21 * g1 + h11 * g2) / det;
        double gd = g1 * dA + g2 * dB, step = 1.0;
        while (step >= 1e-10) {
            double newA = A + step * dA, newB = B + step * dB, newf = 0.0;
            for (size_t i = 0; i < n; i++) {
                double t = positive[i] ? hi : lo, fApB = f[i * stride] * newA + newB;
                newf += fApB >= 0 ? t * fApB + log1p(exp(-fApB)) : (t - 1) * fApB + log1p(exp(fApB));
            }
            if (newf < fval + 0.0001 * step * gd) {
                A = newA, B = newB, fval = newf;
                break;
            }
            step /= 2.0;
        }
        if (step < 1e-10)
            break;
    }
    *a = (float)-A, *c = (float)-B; /* libsvm's p = 1 / (1 + exp(A f + B)) */
}

/* The SVM's sigmoids, fitted on the validation documents' decision values: one for every output of every
 * part (the default: two parameters, as a global threshold on the decision values), or one per output
 * (--linear-sigmoid label: two parameters per label, which a label with a handful of validation positives
 * fits to those documents, and the threshold tuned on the same documents then scores them too well:
 * amazon's validation micro-F1 0.450 against 0.358 on test). */
static hftc_status fit_sigmoids(linear_context *ctx, linear_classifier **parts)
{
    const split *va = ctx->va;
    size_t total = 0;
    for (size_t p = 0; p < ctx->m->n_parts; p++)
        total += parts[p]->n_outputs;
    sparse_rows rows;
    TRY(tfidf_transform(&ctx->m->features, va->ds, va->idx, va->n, &rows));
    float *values = mem_alloc(va->n * total + 1, sizeof *values),
          *pooled = mem_alloc(va->n * total + 1, sizeof *pooled);
    bool *positive = mem_alloc(va->n * total + 1, sizeof *positive);
    hftc_status st = values && pooled && positive ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    size_t at = 0; /* pooled (document, output) pairs so far */
    for (size_t p = 0; p < ctx->m->n_parts && st == HFTC_STATUS_OK; p++) {
        linear_classifier *lc = parts[p];
        size_t J = lc->n_outputs;
        linear_decisions(lc, &rows, values);
        for (size_t j = 0; j < J; j++) {
            for (size_t i = 0; i < va->n; i++) {
                pooled[at + i] = values[i * J + j];
                positive[at + i] = dataset_has_label(va->ds, va->idx[i], ctx->m->parts[p].nodes[j]);
            }
            if (ctx->cfg->linear_sigmoid_per_label)
                fit_sigmoid(pooled + at, positive + at, va->n, 1, &lc->sigmoid[2 * j], &lc->sigmoid[2 * j + 1]);
            else
                at += va->n;
        }
    }
    if (st == HFTC_STATUS_OK && !ctx->cfg->linear_sigmoid_per_label) {
        float a, c;
        fit_sigmoid(pooled, positive, at, 1, &a, &c);
        for (size_t p = 0; p < ctx->m->n_parts; p++)
            for (size_t j = 0; j < parts[p]->n_outputs; j++)
                parts[p]->sigmoid[2 * j] = a, parts[p]->sigmoid[2 * j + 1] = c;
    }
    free(values), free(pooled), free(positive);
    sparse_rows_free(&rows);
    return st;
}

/* Each part's classifier from the units' weights (parts: n_parts, filled). */
static hftc_status build_classifiers(linear_context *ctx, linear_classifier **parts)
{
    size_t u = 0;
    for (size_t p = 0; p < ctx->m->n_parts; p++) {
        size_t J = ctx->m->parts[p].n_outputs, nnz = 0;
        for (size_t j = 0; j < J; j++)
            nnz += ctx->w[u + j].nnz;
        sparse_rows w = {.n_rows = J,
                         .start = mem_alloc(J + 1, sizeof *w.start),
                         .index = mem_alloc(nnz ? nnz : 1, sizeof *w.index),
                         .value = mem_alloc(nnz ? nnz : 1, sizeof *w.value)};
        float *bias = mem_alloc(J, sizeof *bias);
        hftc_status st = w.start && w.index && w.value && bias ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
        if (st == HFTC_STATUS_OK) {
            w.start[0] = 0;
            for (size_t j = 0; j < J; j++, u++) {
                if (ctx->w[u].nnz) { /* a one-class unit has no weights at all (NULL), only its bias */
                    memcpy(w.index + w.start[j], ctx->w[u].index, ctx->w[u].nnz * sizeof *w.index);
                    memcpy(w.value + w.start[j], ctx->w[u].value, ctx->w[u].nnz * sizeof *w.value);
                }
                w.start[j + 1] = w.start[j] + ctx->w[u].nnz;
                bias[j] = ctx->w[u].bias;
            }
            st = linear_from_outputs(&parts[p], ctx->n_features, &w, bias, NULL, ctx->cfg->compute.threads);
        }
        sparse_rows_free(&w);
        free(bias);
        TRY(st);
    }
    return ctx->cfg->linear_svm ? fit_sigmoids(ctx, parts) : HFTC_STATUS_OK;
}

static void classifiers_free(linear_classifier **parts, size_t n)
{
    for (size_t p = 0; parts && p < n; p++)
        linear_free(parts[p]);
    free(parts);
}

/* Validation micro-F1 of the model with classifiers parts, at its best threshold. */
static hftc_status validate(linear_context *ctx, linear_classifier **parts, double *micro_f1, float *threshold)
{
    hftc_model *m = ctx->m;
    for (size_t p = 0; p < m->n_parts; p++)
        m->parts[p].linear = parts[p];
    float *probs = NULL, *scores = NULL;
    gold_sets gold = {0};
    hftc_status st = valid_scores(m, ctx->va, &probs, &scores, &gold);
    if (st == HFTC_STATUS_OK)
        st = threshold_search_best(scoring_decided(m->scoring, probs, scores), m->tax.n_nodes, &gold, false, threshold,
                                   micro_f1);
    free(probs), free(scores), free((void *)gold.start), free((void *)gold.labels);
    for (size_t p = 0; p < m->n_parts; p++)
        m->parts[p].linear = NULL;
    return st;
}

/* Trains the model's classifiers at every C, keeping the best on validation, into m's parts. */
static hftc_status train_c_grid(linear_context *ctx, json_t *record)
{
    hftc_model *m = ctx->m;
    const hftc_train_options *o = ctx->cfg->o;
    size_t deepest = 0;
    for (size_t p = 0; p < m->n_parts; p++)
        deepest = m->parts[p].level > deepest ? m->parts[p].level : deepest;
    json_t *runs = json_array();
    json_object_set_new(record, "runs", runs);
    linear_classifier **best = NULL;
    double best_f1 = -1.0, best_c = 0.0;
    hftc_status st = HFTC_STATUS_OK;
    for (size_t k = 0; k < o->n_linear_c && st == HFTC_STATUS_OK; k++) {
        double C = o->linear_c[k], started = now_seconds();
        for (size_t level = 0; level <= deepest && ctx->status == HFTC_STATUS_OK; level++)
            train_wave(ctx, level, C);
        st = ctx->status;
        linear_classifier **parts = mem_calloc(m->n_parts ? m->n_parts : 1, sizeof *parts);
        if (st == HFTC_STATUS_OK && !parts)
            st = HFTC_STATUS_OUT_OF_MEMORY;
        if (st == HFTC_STATUS_OK)
            st = build_classifiers(ctx, parts);
        double f1 = 0.0;
        float threshold = 0.5f;
        if (st == HFTC_STATUS_OK)
            st = validate(ctx, parts, &f1, &threshold);
        size_t nnz = 0;
        for (size_t p = 0; st == HFTC_STATUS_OK && p < m->n_parts; p++)
            nnz += linear_nnz(parts[p]);
        if (st == HFTC_STATUS_OK) {
            double seconds = now_seconds() - started;
            log_info("C %g: validation micro-F1 %.4f at threshold %.2f, %zu weights, %.1f s", C, f1, (double)threshold,
                     nnz, seconds);
            json_array_append_new(runs,
                                  json_pack("{s:f, s:f, s:f, s:I, s:f}", "C", C, "valid_micro_f1", f1, "threshold",
                                            (double)threshold, "weights", (json_int_t)nnz, "seconds", seconds));
        }
        if (st == HFTC_STATUS_OK && f1 > best_f1) { /* ties: the first C listed */
            classifiers_free(best, m->n_parts);
            best = parts, best_f1 = f1, best_c = C;
        } else {
            classifiers_free(parts, m->n_parts);
        }
    }
    if (st != HFTC_STATUS_OK) {
        classifiers_free(best, m->n_parts);
        return st;
    }
    for (size_t p = 0; p < m->n_parts; p++)
        m->parts[p].linear = best[p];
    free(best);
    log_info("C %g kept (validation micro-F1 %.4f)", best_c, best_f1);
    json_object_set_new(record, "C", json_real(best_c));
    return HFTC_STATUS_OK;
}

// Each unit's start from m's classifiers (a continued training's), each part's weights by output read once.
static hftc_status warm_starts(linear_context *ctx)
{
    sparse_rows rows = {0};
    size_t rows_of = SIZE_MAX;
    hftc_status st = HFTC_STATUS_OK;
    for (size_t u = 0; u < ctx->n_units && st == HFTC_STATUS_OK; u++) {
        const model_part *part = &ctx->m->parts[ctx->units[u].part];
        if (!part->linear)
            continue;
        if (rows_of != ctx->units[u].part) {
            sparse_rows_free(&rows);
            rows_of = ctx->units[u].part;
            TRY(linear_to_outputs(part->linear, &rows));
        }
        size_t j = ctx->units[u].output, first = rows.start[j], n = rows.start[j + 1] - first;
        unit_weights *w = &ctx->w[u];
        w->index = mem_alloc(n ? n : 1, sizeof *w->index);
        w->value = mem_alloc(n ? n : 1, sizeof *w->value);
        if (w->index && w->value) {
            memcpy(w->index, rows.index + first, n * sizeof *w->index);
            memcpy(w->value, rows.value + first, n * sizeof *w->value);
            w->nnz = n, w->bias = part->linear->bias[j], w->trained = true;
        } else {
            st = HFTC_STATUS_OUT_OF_MEMORY;
        }
    }
    sparse_rows_free(&rows);
    return st;
}

// Trains m's linear classifiers on tr: from scratch (the features fitted to tr), or warm: from m's own classifiers
// over its features.
static hftc_status linear_run(const train_config *cfg, hftc_model *m, split *tr, split *va, json_t *record, bool warm)
{
    const hftc_train_options *o = cfg->o;
    double started = now_seconds();
    linear_context ctx = {.cfg = cfg, .m = m, .tr = tr, .va = va};
    tfidf_options features = {o->ngrams, o->min_df, o->sublinear_tf};
    if (!warm)
        TRY(tfidf_fit(&m->features, &features, tr->ds, tr->idx, tr->n, vocab_size(&m->vocab)));
    ctx.n_features = tfidf_n_features(&m->features);
    size_t used = 0;
    for (size_t f = 0; f < ctx.n_features; f++)
        used += m->features.idf[f] > 0.0f;
    log_info("linear: %zu features (%zu words, %zu bigrams) in at least %zu training documents", used,
             used - m->features.n_bigrams, m->features.n_bigrams, features.min_df);
    sparse_rows rows;
    TRY(tfidf_transform(&m->features, tr->ds, tr->idx, tr->n, &rows));
    set_print_string_function(liblinear_silent);
    hftc_status st = make_problem_rows(&ctx, &rows);
    sparse_rows_free(&rows);
    if (st == HFTC_STATUS_OK)
        st = make_units(&ctx);
    if (st == HFTC_STATUS_OK && warm)
        st = warm_starts(&ctx);
    size_t n_twins = 0;
    if (st == HFTC_STATUS_OK && !warm)
        st = linear_find_twins(&ctx, &n_twins);
    if (st == HFTC_STATUS_OK && n_twins)
        log_info("linear: %zu of %zu classifiers have the documents, labels and start of another (trained once)",
                 n_twins, ctx.n_units);
    // A continued training's classifiers leave the model while the new ones are tried on it (validate), and come
    // back if they fail.
    linear_classifier **before = warm ? mem_calloc(m->n_parts ? m->n_parts : 1, sizeof *before) : NULL;
    if (st == HFTC_STATUS_OK && warm && !before)
        st = HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t p = 0; before && p < m->n_parts; p++)
        before[p] = m->parts[p].linear, m->parts[p].linear = NULL;
    json_t *linear = json_pack("{s:s, s:I, s:I, s:I}", "loss", o->linear_loss, "features", (json_int_t)used, "bigrams",
                               (json_int_t)m->features.n_bigrams, "twins", (json_int_t)n_twins);
    json_object_set_new(record, "linear", linear);
    if (st == HFTC_STATUS_OK)
        st = train_c_grid(&ctx, linear);
    for (size_t p = 0; before && p < m->n_parts; p++) {
        if (st != HFTC_STATUS_OK)
            m->parts[p].linear = before[p];
        else
            linear_free(before[p]);
    }
    free(before);
    for (size_t u = 0; u < ctx.n_units; u++)
        unit_weights_free(&ctx.w[u]);
    free(ctx.w), free(ctx.units), free(ctx.nodes), free(ctx.x);
    TRY(st);
    double seconds = now_seconds() - started;
    json_object_set_new(record, "train_seconds", json_real(seconds));
    log_info("%zu linear classifiers trained in %.1f s in all", ctx.n_units, seconds);
    return HFTC_STATUS_OK;
}

static hftc_status train_linear(const train_config *cfg, hftc_model *m, const float *label_weights, split *tr,
                                split *va, json_t *record)
{
    (void)label_weights; /* refused for the linear family (options.c) */
    return linear_run(cfg, m, tr, va, record, false);
}

hftc_status linear_train_warm(const train_config *cfg, hftc_model *m, split *tr, split *va, json_t *record)
{
    return linear_run(cfg, m, tr, va, record, true);
}

const strategy_ops strategy_linear_ops = {.split = levels_split, .train = train_linear};
