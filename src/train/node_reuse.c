/* --reuse-runs: the runs of a node model trained on the same data and options, taken instead of repeated
 * (gru-att -> gru-att-cw -> htrans), after checks that they are what this training would run. */
#include "train/node_internal.h"

#include "core/error.h"
#include "core/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// The first option whose value differs between ours and theirs, but those that do not change a run of a
// classifier that starts from scratch (incidental and run-neutral ones), or NULL. An option their record
// lacks was not recorded by the hftc that trained it, and is not compared.
static const char *differing_option(json_t *ours, json_t *theirs)
{
    train_options_drop(ours, OPTION_INCIDENTAL | OPTION_RUN_NEUTRAL);
    train_options_drop(theirs, OPTION_INCIDENTAL | OPTION_RUN_NEUTRAL);
    const char *key;
    json_t *value;
    json_object_foreach(ours, key, value)
    {
        if (!json_object_get(theirs, key))
            continue;
        // compared as the model file writes them (floats to 7 digits)
        char *a = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(7));
        char *b = json_dumps(json_object_get(theirs, key), JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(7));
        bool same = a && b && !strcmp(a, b);
        free(a), free(b);
        if (!same)
            return key;
    }
    json_object_foreach(theirs, key, value)
    {
        if (!json_object_get(ours, key))
            return key;
    }
    return NULL;
}

// Checks that the node model from (its training record training) ran what this training would run
// for the classifiers that start from scratch: the same first class weights, options and data fingerprint.
// *n_weights: how many of ours it tried; *transferred: whether its children started from their parents.
static hftc_status reuse_check(node_context *ctx, const char *path, const hftc_model *from, const json_t *training,
                               size_t *n_weights, bool *transferred)
{
    const hftc_train_options *o = ctx->cfg->o;
    if (from->strategy != STRATEGY_NODE)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "%s: runs are reused from a node model (gru-att, gru-att-cw, htrans), not a %s one", path,
                         from->strategy == STRATEGY_FLAT ? "flat" : "level");
    json_t *theirs = json_deep_copy(json_object_get(training, "options")), *ours = train_options_json(o);
    const json_t *weights = json_object_get(theirs, "class_weights");
    transfer_kind transfer = TRANSFER_NONE;
    hftc_status st = HFTC_STATUS_OK;
    if (!json_is_object(theirs) || !json_is_array(weights) ||
        !transfer_parse(json_string_value(json_object_get(theirs, "transfer")), &transfer))
        st = error_set(HFTC_STATUS_MODEL, "%s: its record of the training options is incomplete", path);
    size_t k = json_array_size(weights);
    bool prefix = st == HFTC_STATUS_OK && k >= 1 && k <= o->n_class_weights;
    for (size_t w = 0; prefix && w < k; w++)
        prefix = (float)json_number_value(json_array_get(weights, w)) == o->class_weights[w];
    if (st == HFTC_STATUS_OK && !prefix)
        st = error_set(HFTC_STATUS_INVALID_ARGUMENT,
                       "%s tried %zu class weights that are not the first %zu of --class-weights: its runs cannot be "
                       "reused",
                       path, k, k);
    *transferred = transfer == TRANSFER_FINETUNE;
    const char *key = st == HFTC_STATUS_OK ? differing_option(ours, theirs) : NULL;
    if (key)
        st = error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s was trained with another %s option: its runs cannot be reused",
                       path, key);
    json_decref(theirs), json_decref(ours);
    *n_weights = k;
    // data_fingerprint and the runs' valid_counts: recorded since hftc could reuse runs
    const char *fingerprint = json_string_value(json_object_get(training, "data_fingerprint"));
    if (st == HFTC_STATUS_OK && (!fingerprint || strcmp(fingerprint, ctx->data_fingerprint)))
        st = error_set(HFTC_STATUS_INVALID_ARGUMENT,
                       "%s was trained on other data, vocabulary or word vectors%s: its runs cannot be reused", path,
                       fingerprint ? "" : " (or by an hftc that did not record them)");
    return st;
}

hftc_status node_reuse(node_context *ctx)
{
    const hftc_train_options *o = ctx->cfg->o;
    const char *path = o->reuse_runs_from;
    hftc_model *m = ctx->m, *from = NULL;
    size_t reused = 0;
    if (!path)
        return HFTC_STATUS_OK;
    TRY(hftc_model_load(&from, path));
    json_t *training = json_loads(from->training_json ? from->training_json : "{}", 0, NULL);
    const json_t *nodes = json_object_get(training, "nodes");
    size_t k = 0, classifiers = 0;
    bool transferred = false;
    hftc_status st = reuse_check(ctx, path, from, training, &k, &transferred);
    if (st == HFTC_STATUS_OK &&
        (!json_is_array(nodes) || json_array_size(nodes) != m->n_parts || from->n_parts != m->n_parts))
        st = error_set(HFTC_STATUS_MODEL, "%s: its record of the classifiers does not match its networks", path);
    bool ours_transfer = ctx->cfg->transfer == TRANSFER_FINETUNE;
    for (size_t p = 0; st == HFTC_STATUS_OK && p < m->n_parts; p++) {
        bool scratch = m->parts[p].parent_part == MODEL_NO_PART || (!ours_transfer && !transferred);
        bool untouched = true;
        for (size_t w = 0; w < o->n_class_weights; w++)
            untouched = untouched && json_is_null(json_array_get(ctx->runs[p], w));
        if (!scratch || !untouched)
            continue;
        const json_t *node = json_array_get(nodes, p), *runs = json_object_get(node, "runs");
        const char *label = json_string_value(json_object_get(node, "label"));
        param_set *dst = network_params(m->parts[p].net);
        const param_set *src = network_params(from->parts[p].net);
        bool valid = label && !strcmp(label, strmap_string(&m->tax.names, m->parts[p].nodes[0])) &&
                     json_is_array(runs) && json_array_size(runs) == k && src->values.used == dst->values.used;
        size_t best = k;
        double best_f1 = -1.0;
        for (size_t w = 0; valid && w < k; w++) {
            json_t *run = json_array_get(runs, w), *counts = json_object_get(run, "valid_counts");
            json_int_t c[3];
            valid = json_unpack(counts, "[III]", &c[0], &c[1], &c[2]) == 0 && c[0] >= 0 && c[1] >= 0 && c[2] >= 0;
            // the F1 node_run computed, exactly; the record's 7 digits agree with it
            double f1 = valid ? metrics_f1((size_t)c[0], (size_t)c[1], (size_t)c[2]) : 0.0;
            valid = valid && fabs(f1 - json_number_value(json_object_get(run, "valid_f1"))) <= 1e-6;
            // the rule of node_job: higher F1, the smaller weight at a tie
            if (valid && f1 > best_f1 + 1e-12)
                best_f1 = f1, best = w;
        }
        if (!valid) {
            st = error_set(HFTC_STATUS_MODEL, "%s: its record of %s does not match", path, m->parts[p].name);
            break;
        }
        for (size_t w = 0; w < k; w++) {
            json_t *run = json_array_get(runs, w);
            json_object_set_new(run, "reused", json_true()); /* kept through checkpoints: see runs_reused */
            json_array_set(ctx->runs[p], w, run);
        }
        ctx->best_weight[p] = best;
        ctx->best_f1[p] = best_f1;
        memcpy(dst->values.base, src->values.base, src->values.used);
        reused += k;
        classifiers++;
    }
    if (st == HFTC_STATUS_OK)
        log_info("%s: %zu classifier runs reused (%zu classifiers x %zu class weights)", path, reused, classifiers, k);
    json_decref(training);
    hftc_model_free(from);
    return st;
}

size_t runs_reused(const node_context *ctx, size_t n_parts)
{
    size_t n = 0;
    for (size_t p = 0; p < n_parts; p++)
        for (size_t w = 0; w < ctx->cfg->o->n_class_weights; w++)
            n += json_is_true(json_object_get(json_array_get(ctx->runs[p], w), "reused"));
    return n;
}
