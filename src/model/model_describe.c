/* hftc_model_describe: a model as JSON, for `hftc info` and the bindings: its configuration, tensors, parts,
 * labels, training record and what its file guarantees. */
#include "model/model_file.h"

#include "model/model_file_linear.h"

#include "core/arena.h"
#include "model/ensemble.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A linear model's tensors and parts into the lists hftc_model_describe makes; returns its parameters (every
 * weight, bias and sigmoid). */
static size_t describe_linear(const hftc_model *m, json_t *tensors, json_t *parts)
{
    size_t n = linear_tensor_count(m), total = 0;
    st_tensor *t = mem_alloc(n, sizeof *t);
    char(*names)[MODEL_TENSOR_NAME_MAX] = mem_alloc(n, sizeof *names);
    if (!t || !names) {
        free(t), free(names);
        return 0;
    }
    linear_tensors(m, t, names);
    for (size_t i = 0; i < n; i++) {
        json_t *shape = json_array();
        size_t count = 1;
        for (size_t d = 0; d < t[i].ndim; d++) {
            json_array_append_new(shape, json_integer((json_int_t)t[i].shape[d]));
            count *= t[i].shape[d];
        }
        json_array_append_new(
            tensors, json_pack("{s:s, s:o, s:I}", "name", t[i].name, "shape", shape, "parameters", (json_int_t)count));
    }
    for (size_t p = 0; p < m->n_parts; p++) {
        const linear_classifier *lc = m->parts[p].linear;
        size_t params = linear_nnz(lc) + 3 * lc->n_outputs;
        json_array_append_new(parts, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "name", m->parts[p].name, "outputs",
                                               (json_int_t)lc->n_outputs, "parameters", (json_int_t)params, "trainable",
                                               (json_int_t)params, "frozen", 0, "statistics", 0));
        total += params;
    }
    free(t), free(names);
    return total;
}

char *hftc_model_describe(const hftc_model *m)
{
    if (m->ensemble)
        return ensemble_describe(m);
    json_t *tensors = json_array(), *parts = json_array();
    json_error_t err;
    json_t *training = m->training_json ? json_loads(m->training_json, 0, &err) : NULL;
    // Parameters that trained and those kept fixed (static embeddings, the HTrans shared table);
    // batch norm's running statistics are counted apart: they are estimated, not trained.
    bool static_embedding = json_is_true(json_object_get(json_object_get(training, "options"), "freeze_embeddings"));
    size_t trainable = 0, frozen = m->shared_embedding ? m->net_config.vocab_size * m->net_config.embed_dim : 0;
    size_t statistics = 0;
    if (m->family == FAMILY_LINEAR)
        trainable = describe_linear(m, tensors, parts);
    for (size_t p = 0; m->family == FAMILY_NEURAL && p < m->n_parts; p++) {
        const param_set *ps = network_params(m->parts[p].net);
        size_t part_trainable = 0, part_frozen = 0, part_statistics = 0;
        for (size_t i = 0; i < ps->n_tensors; i++) {
            const tensor *t = &ps->tensors[i];
            if (t->buffer)
                part_statistics += t->size;
            else if (static_embedding && !strcmp(t->name, "embedding.weight"))
                part_frozen += t->size;
            else
                part_trainable += t->size;
            char name[MODEL_TENSOR_NAME_MAX];
            snprintf(name, sizeof name, "%s%s", m->parts[p].prefix, t->name);
            json_t *shape = json_array();
            for (size_t d = 0; d < t->ndim; d++)
                json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
            json_array_append_new(
                tensors, json_pack("{s:s, s:o, s:I}", "name", name, "shape", shape, "parameters", (json_int_t)t->size));
        }
        json_t *part = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "name", m->parts[p].name, "outputs",
                                 (json_int_t)m->parts[p].n_outputs, "parameters",
                                 (json_int_t)(part_trainable + part_frozen), "trainable", (json_int_t)part_trainable,
                                 "frozen", (json_int_t)part_frozen, "statistics", (json_int_t)part_statistics);
        if (m->strategy == STRATEGY_NODE)
            json_object_set_new(part, "class_weight", json_real(m->parts[p].class_weight));
        if (m->parts[p].branch)
            json_object_set_new(part, "branch", json_integer(m->parts[p].branch));
        json_array_append_new(parts, part);
        trainable += part_trainable, frozen += part_frozen, statistics += part_statistics;
    }
    json_t *labels = json_array(), *levels = json_array();
    for (size_t i = 0; i < m->tax.n_nodes; i++)
        json_array_append_new(labels, json_string(strmap_string(&m->tax.names, i)));
    for (size_t level = 1; level <= m->tax.depth; level++) {
        size_t n = 0;
        for (size_t i = 0; i < m->tax.n_nodes; i++)
            n += m->tax.level[i] == level;
        json_array_append_new(levels, json_integer((json_int_t)n));
    }
    json_t *j = json_pack("{s:s, s:i, s:s, s:o, s:I, s:I, s:I, s:o, s:o, s:o}", "format", MODEL_FORMAT_NAME,
                          "format_version", MODEL_FORMAT_VERSION, "preset", m->preset, "config", model_config_json(m),
                          "vocabulary", (json_int_t)vocab_size(&m->vocab), "labels_count", (json_int_t)m->tax.n_nodes,
                          "parameters", (json_int_t)(trainable + frozen), "tensors", tensors, "labels", labels,
                          "training", training ? training : json_object());
    json_object_set_new(j, "trainable", json_integer((json_int_t)trainable));
    json_object_set_new(j, "frozen", json_integer((json_int_t)frozen));
    json_object_set_new(j, "statistics", json_integer((json_int_t)statistics));
    json_object_set_new(j, "labels_per_level", levels);
    json_object_set_new(j, "parts", parts);
    json_object_set_new(j, "taxonomy_is_tree", json_boolean(m->tax.is_tree));
    json_object_set_new(j, "checksums",
                        json_string(m->unchecked_file ? "none: a file from before hftc kept checksums, damage to it "
                                                        "would go unnoticed (save it again to add them)"
                                                      : "crc32 of the header and of each tensor, checked on load"));
    json_t *checkpoint = m->checkpoint_summary ? json_loads(m->checkpoint_summary, 0, NULL) : NULL;
    if (checkpoint)
        json_object_set_new(j, "checkpoint", checkpoint);
    if (m->label_thresholds) {
        json_t *thresholds = json_object();
        for (size_t c = 0; c < m->net_config.n_classes; c++)
            json_object_set_new(thresholds, strmap_string(&m->tax.names, c), json_real(m->label_thresholds[c]));
        json_object_set_new(j, "label_thresholds", thresholds);
    }
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(7));
    json_decref(j);
    return text;
}
