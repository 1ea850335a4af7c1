/* What hftc_extend and hftc_learn share (lifecycle.h): the model's options as its training record holds them, its
 * documents read against its vocabulary and labels, and the record's history of what the model learnt from. */
#include "core/error.h"
#include "core/log.h"
#include "train/checkpoint.h"
#include "train/lifecycle.h"
#include "train/strategy.h"

#include <jansson.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// Drops ds's labels past the taxonomy's nodes, and the documents left without a label; their counts into *labels and
// *docs. The names of the labels dropped are forgotten.
static hftc_status drop_unknown_labels(hftc_model *m, dataset *ds, size_t *labels, size_t *docs)
{
    bool *keep = mem_alloc(ds->n_docs ? ds->n_docs : 1, sizeof *keep);
    if (!keep)
        return HFTC_STATUS_OUT_OF_MEMORY;
    size_t at = 0, start = 0;
    *labels = *docs = 0;
    for (size_t d = 0; d < ds->n_docs; d++) {
        for (size_t j = start; j < ds->label_start[d + 1]; j++)
            if (ds->labels[j] < m->tax.n_nodes)
                ds->labels[at++] = ds->labels[j];
            else
                ++*labels;
        start = ds->label_start[d + 1];
        ds->label_start[d + 1] = at;
        keep[d] = at > ds->label_start[d];
        *docs += !keep[d];
    }
    dataset_keep(ds, keep);
    free(keep);
    return taxonomy_forget_pending(&m->tax);
}

hftc_status model_read_docs(const train_config *cfg, hftc_model *m, const char *path, const char *hint, dataset *ds)
{
    return model_read_known_docs(cfg, m, path, hint, false, ds);
}

hftc_status model_read_known_docs(const train_config *cfg, hftc_model *m, const char *path, const char *hint,
                                  bool drop_unknown, dataset *ds)
{
    dataset_options opt = {.tokenizer = m->tokenizer,
                           .format = cfg->data_format,
                           .labels_required = true,
                           .skip_bad_lines = cfg->o->skip_bad_lines};
    TRY(dataset_read(ds, path, &opt, &m->vocab, false, &m->tax.names));
    size_t doc, dropped_labels = 0, dropped_docs = 0;
    if (drop_unknown)
        TRY(drop_unknown_labels(m, ds, &dropped_labels, &dropped_docs));
    if (dropped_labels)
        log_info("%s: %zu labels the model lacks (removed from it) left out, and %zu documents left without a label",
                 path, dropped_labels, dropped_docs);
    if (ds->n_docs == 0)
        return error_set(HFTC_STATUS_FORMAT, "%s: no documents", path);
    uint32_t label;
    if (taxonomy_unknown_labels(&m->tax, ds, &doc, &label))
        return error_set(HFTC_STATUS_FORMAT, "%s:%zu: label \"%s\" is not %s", path, ds->line[doc],
                         strmap_string(&m->tax.names, label), hint);
    return taxonomy_complete_dataset(&m->tax, ds, path, TAXONOMY_UNKNOWN_ERROR, NULL);
}

hftc_status recorded_options(const hftc_extend_options *o, const hftc_model *old, json_t **record,
                             hftc_train_options *to)
{
    json_error_t err;
    *record = json_loads(old->training_json ? old->training_json : "null", JSON_DECODE_ANY, &err);
    TRY(train_options_from_json(to, json_object_get(*record, "options")));
    to->train_path = o->train_path;
    to->valid_path = o->valid_path;
    to->format = o->format ? o->format : "auto";
    to->taxonomy_path = o->taxonomy_path;
    to->taxonomy_format = o->taxonomy_format ? o->taxonomy_format : "auto";
    to->checkpoint_path = to->reuse_runs_from = NULL;
    to->time_limit = 0.0f;
    to->threads = o->threads;
    to->skip_bad_lines = o->skip_bad_lines;
    to->auto_choice = 0;
    to->progress = NULL;
    if (to->embeddings_path && access(to->embeddings_path, R_OK)) {
        log_warn("%s: the word vectors it was trained with (%s) cannot be read: new top-level classifiers start "
                 "from random embeddings",
                 o->model_path, to->embeddings_path);
        to->embeddings_path = NULL;
    }
    if (to->class_weights_from && access(to->class_weights_from, R_OK)) {
        log_warn("%s: the model its class weights came from (%s) cannot be read: every label's weight is 1",
                 o->model_path, to->class_weights_from);
        to->class_weights_from = NULL;
    }
    return HFTC_STATUS_OK;
}

hftc_status recorded_label_weights(const train_config *cfg, const hftc_model *m, float **out)
{
    *out = NULL;
    return cfg->o->class_weights_from ? class_weights_read(cfg->o->class_weights_from, &m->tax, out) : HFTC_STATUS_OK;
}

json_t *node_record(const json_t *record, const char *label)
{
    const json_t *nodes = json_object_get(record, "nodes"), *node;
    size_t i;
    json_array_foreach(nodes, i, node)
    {
        const char *l = json_string_value(json_object_get(node, "label"));
        if (l && !strcmp(l, label))
            return json_deep_copy(node);
    }
    return json_pack("{s:s}", "label", label);
}

json_t *file_entry(const char *path)
{
    char fp[17] = "";
    if (!path)
        return json_null();
    if (file_fingerprint(path, fp) != HFTC_STATUS_OK)
        return json_pack("{s:s, s:n}", "path", path, "fingerprint");
    return json_pack("{s:s, s:s}", "path", path, "fingerprint", fp);
}

json_t *history_entry(const char *kind)
{
    char at[32];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return json_pack("{s:s, s:s}", "kind", kind, "at", at);
}

hftc_status history_append(json_t *record, json_t *entry)
{
    json_t *history = json_object_get(record, "history");
    if (!json_is_array(history)) {
        history = json_array();
        json_object_set_new(record, "history", history);
    }
    return json_array_append_new(history, entry) ? error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory")
                                                 : HFTC_STATUS_OK;
}
