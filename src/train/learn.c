/* hftc_learn: a trained model trained on from its weights on new documents, every strategy and family, with the
 * options of its training record (epochs and learning rate as given), optionally with a seeded sample of its own
 * training documents replayed against forgetting (the file its record names, refused if its bytes changed), and
 * after an extension when a taxonomy brings new labels. */
#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "train/checkpoint.h"
#include "train/lifecycle.h"
#include "train/options.h"
#include "train/strategy.h"
#include "train/thresholds.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void hftc_learn_options_init(hftc_learn_options *o)
{
    *o = (hftc_learn_options){.format = "auto", .taxonomy_format = "auto"};
}

/* A seeded sample of replay x the documents of the model's training file (its record's options.train), appended to
 * train; refused when the record has no fingerprint of the file or the file's bytes changed. */
static hftc_status replay_sample(const train_config *cfg, hftc_model *m, const json_t *record, float replay,
                                 dataset *train, json_t *entry)
{
    const char *path = json_string_value(json_object_get(json_object_get(record, "options"), "train"));
    const char *recorded = json_string_value(json_object_get(record, "train_fingerprint"));
    char now[17];
    if (!path || !recorded)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "--replay: the model's record has no fingerprint of its training data (trained from standard "
                         "input, or by an hftc before it kept one)");
    TRY(file_fingerprint(path, now));
    if (strcmp(now, recorded))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "--replay: %s changed since the model was trained on it (fingerprint %s, now %s): it is not "
                         "the model's training data any more",
                         path, recorded, now);
    dataset old = {0};
    hftc_status st = model_read_known_docs(cfg, m, path, "in the model", true, &old);
    size_t n = old.n_docs, k = (size_t)lround((double)replay * (double)n);
    size_t *order = st == HFTC_STATUS_OK ? mem_alloc(n ? n : 1, sizeof *order) : NULL;
    bool *keep = st == HFTC_STATUS_OK ? mem_calloc(n ? n : 1, sizeof *keep) : NULL;
    if (st == HFTC_STATUS_OK && (!order || !keep))
        st = HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK) {
        rng r;
        rng_seed(&r, cfg->o->seed, 0x7e91a7);
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        rng_shuffle(&r, order, n);
        for (size_t i = 0; i < k; i++)
            keep[order[i]] = true;
        dataset_keep(&old, keep);
        st = dataset_append(train, &old);
    }
    if (st == HFTC_STATUS_OK) {
        log_info("replay: %zu of the %zu documents of %s", k, n, path);
        json_object_set_new(entry, "replay",
                            json_pack("{s:f, s:I, s:s, s:s}", "fraction", (double)replay, "docs", (json_int_t)k, "path",
                                      path, "fingerprint", now));
    }
    free(order), free(keep);
    dataset_free(&old);
    return st;
}

// The thresholds tuned again on va as the training tuned them (the options say which).
static hftc_status retune_thresholds(const train_config *cfg, hftc_model *m, const split *va, json_t *entry)
{
    const hftc_train_options *o = cfg->o;
    if (!o->tune_threshold && !o->tune_label_thresholds)
        return HFTC_STATUS_OK;
    float *probs = NULL, *scores = NULL;
    gold_sets gold = {0};
    hftc_status st = valid_scores(m, va, &probs, &scores, &gold);
    if (st == HFTC_STATUS_OK && o->tune_threshold)
        st = tune_threshold(m, probs, scores, &gold, entry);
    if (st == HFTC_STATUS_OK && o->tune_label_thresholds)
        st = tune_label_thresholds(m, probs, scores, &gold, entry);
    free(probs), free(scores), free((void *)gold.start), free((void *)gold.labels);
    return st;
}

// Trains every part of m on from its weights; appends what was done to entry (and the node records to record).
static hftc_status learn_parts(const train_config *cfg, hftc_model *m, json_t *record, dataset *train, dataset *valid,
                               json_t *entry)
{
    hftc_status st = HFTC_STATUS_OK;
    if (m->strategy == STRATEGY_NODE && m->family == FAMILY_NEURAL) {
        json_t **kept = mem_calloc(m->n_parts ? m->n_parts : 1, sizeof *kept), *trained = json_object();
        if (!kept)
            st = HFTC_STATUS_OUT_OF_MEMORY;
        for (size_t p = 0; kept && p < m->n_parts; p++)
            kept[p] = node_record(record, strmap_string(&m->tax.names, m->parts[p].nodes[0]));
        if (st == HFTC_STATUS_OK)
            st = node_train_partial(cfg, m, kept, true, train, valid, trained);
        if (st == HFTC_STATUS_OK) {
            json_object_set(record, "nodes", json_object_get(trained, "nodes"));
            size_t left = 0; /* a classifier left as it was has kept[p] itself as its record */
            for (size_t p = 0; p < m->n_parts; p++)
                left += json_array_get(json_object_get(trained, "nodes"), p) == kept[p];
            json_object_set_new(entry, "classifiers_unchanged", json_integer((json_int_t)left));
        }
        for (size_t p = 0; kept && p < m->n_parts; p++)
            json_decref(kept[p]);
        free(kept);
        json_decref(trained);
        return st;
    }
    split tr = {0}, va = {0};
    st = levels_split(cfg, train, valid, &tr, &va);
    if (st == HFTC_STATUS_OK && m->family == FAMILY_LINEAR) {
        json_object_set_new(entry, "linear", json_string("liblinear from the model's weights (initial solution)"));
        st = linear_train_warm(cfg, m, &tr, &va, entry);
    } else if (st == HFTC_STATUS_OK) {
        json_t *parts = json_array();
        json_object_set_new(entry, "parts", parts);
        json_object_set_new(entry, "class_weights_from",
                            cfg->o->class_weights_from ? json_string(cfg->o->class_weights_from) : json_null());
        float *label_weights = NULL;
        st = recorded_label_weights(cfg, m, &label_weights);
        for (size_t p = 0; p < m->n_parts && st == HFTC_STATUS_OK; p++)
            st = level_part_train(cfg, m, p, label_weights, NULL, false, true, &tr, &va, parts);
        free(label_weights);
    }
    if (st == HFTC_STATUS_OK)
        st = retune_thresholds(cfg, m, &va, entry);
    free(tr.idx), free(va.idx);
    return st;
}

// The options of the continued training: the record's, with o's epochs and rate; a node classifier keeps its class
// weight (one run each), a linear model its C.
static hftc_status learn_options(const hftc_learn_options *o, const hftc_model *m, json_t **record,
                                 hftc_train_options *to)
{
    hftc_extend_options files;
    hftc_extend_options_init(&files);
    files.model_path = o->model_path, files.train_path = o->train_path, files.valid_path = o->valid_path;
    files.format = o->format, files.threads = o->threads, files.skip_bad_lines = o->skip_bad_lines;
    TRY(recorded_options(&files, m, record, to));
    to->epochs = o->epochs ? o->epochs : to->epochs;
    to->lr = o->lr > 0.0f ? o->lr : to->lr;
    if (m->strategy == STRATEGY_NODE)
        to->n_class_weights = 1, to->class_weights[0] = 1.0f; /* each classifier's own, not searched */
    const json_t *c = json_object_get(json_object_get(*record, "linear"), "C");
    if (m->family == FAMILY_LINEAR && json_is_number(c))
        to->n_linear_c = 1, to->linear_c[0] = (float)json_number_value(c);
    if (m->family == FAMILY_NEURAL && to->batch > m->batch_capacity) {
        log_warn("%s: batches of %zu documents, the most its networks hold (its training's: %zu)", o->model_path,
                 m->batch_capacity, to->batch);
        to->batch = m->batch_capacity;
    }
    return HFTC_STATUS_OK;
}

hftc_status hftc_learn(const hftc_learn_options *o, hftc_model **out)
{
    if (!o->model_path || !o->train_path)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "learn needs a model and training documents");
    if (!(o->replay >= 0.0f && o->replay <= 1.0f) || !(o->lr >= 0.0f && isfinite(o->lr)))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "--replay is a fraction in [0, 1] and --lr a rate >= 0");
    hftc_model *m = NULL;
    if (o->taxonomy_path) { /* the new labels first, as hftc extend adds them */
        hftc_extend_options e;
        hftc_extend_options_init(&e);
        e.model_path = o->model_path, e.taxonomy_path = o->taxonomy_path, e.taxonomy_format = o->taxonomy_format;
        e.train_path = o->train_path, e.valid_path = o->valid_path, e.format = o->format, e.threads = o->threads;
        e.skip_bad_lines = o->skip_bad_lines;
        TRY(extend_model(&e, false, &m));
    } else {
        TRY(hftc_model_load(&m, o->model_path));
    }
    json_t *record = NULL, *entry = history_entry("learn");
    hftc_train_options to;
    train_config cfg;
    dataset train = {0}, valid = {0};
    hftc_status st = HFTC_STATUS_OK;
    if (m->ensemble || m->joint_embedding || (m->strategy == STRATEGY_PARENT && m->family == FAMILY_NEURAL))
        st = error_set(HFTC_STATUS_INVALID_ARGUMENT,
                       "%s: an ensemble, a joint-embedding model (HFT-ONLSTM's) or a neural parent model (HDLTex's) "
                       "does not learn on: train its members or a new model",
                       o->model_path);
    if (st == HFTC_STATUS_OK)
        st = learn_options(o, m, &record, &to);
    if (st == HFTC_STATUS_OK)
        st = train_config_resolve(&to, &cfg);
    if (st == HFTC_STATUS_OK)
        m->compute = cfg.compute;
    const char *hint = o->taxonomy_path ? "in the taxonomy" : "in the model (--taxonomy brings new labels)";
    if (st == HFTC_STATUS_OK)
        st = model_read_docs(&cfg, m, o->train_path, hint, &train);
    if (st == HFTC_STATUS_OK && o->valid_path)
        st = model_read_docs(&cfg, m, o->valid_path, hint, &valid);
    size_t new_docs = train.n_docs;
    if (st == HFTC_STATUS_OK && o->replay > 0.0f)
        st = replay_sample(&cfg, m, record, o->replay, &train, entry);
    double started = now_seconds();
    if (st == HFTC_STATUS_OK)
        st = learn_parts(&cfg, m, record, &train, &valid, entry);
    if (st == HFTC_STATUS_OK) {
        json_object_set_new(entry, "train_seconds", json_real(now_seconds() - started));
        json_object_set_new(entry, "model", file_entry(o->model_path));
        json_object_set_new(entry, "train", file_entry(o->train_path));
        json_object_set_new(entry, "valid", file_entry(o->valid_path));
        json_object_set_new(entry, "taxonomy", file_entry(o->taxonomy_path));
        json_object_set_new(entry, "train_docs", json_integer((json_int_t)new_docs));
        json_object_set_new(entry, "epochs", json_integer((json_int_t)to.epochs));
        json_object_set_new(entry, "lr", json_real(to.lr));
        st = history_append(record, json_incref(entry));
    }
    if (st == HFTC_STATUS_OK) {
        free(m->training_json);
        m->training_json = json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(7));
        st = m->training_json ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    }
    json_decref(record), json_decref(entry);
    dataset_free(&train), dataset_free(&valid);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}
