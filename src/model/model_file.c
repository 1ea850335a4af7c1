/* The model file: hftc_model_save and hftc_model_load over the safetensors layout (model_file.h) and the
 * JSON of the metadata entries each way (hftc_model_describe: model_describe.c). */
#include "model/model_file.h"

#include "model/model_file_labels.h"
#include "model/model_file_linear.h"

#include "core/arena.h"
#include "core/bounds.h"
#include "core/compute.h"
#include "core/error.h"
#include "model/ensemble.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *model_config_json(const hftc_model *m)
{
    const network_config *c = &m->net_config;
    json_t *j = json_pack("{s:I, s:I, s:I, s:b, s:b, s:b, s:f, s:s, s:s}", "vocab_size", (json_int_t)c->vocab_size,
                          "classes", (json_int_t)c->n_classes, "max_len", (json_int_t)m->tokenizer.max_len, "lowercase",
                          m->tokenizer.lowercase, "split_punct", m->tokenizer.split_punct, "drop_punct",
                          m->tokenizer.drop_punct, "threshold", (double)m->threshold, "strategy",
                          strategy_name(m->strategy), "scoring", scoring_name(m->scoring));
    if (m->family == FAMILY_LINEAR) {
        linear_config_to_json(m, j);
        return j;
    }
    json_t *windows = json_array();
    for (size_t i = 0; i < c->n_windows; i++)
        json_array_append_new(windows, json_integer((json_int_t)c->windows[i]));
    json_object_update_new(
        j, json_pack("{s:s, s:s, s:I, s:o, s:I, s:I, s:I, s:f, s:f}", "encoder", encoder_name(c->encoder), "head",
                     head_name(c->head), "embed_dim", (json_int_t)c->embed_dim, "windows", windows, "filters",
                     (json_int_t)c->n_filters, "pool_chunks", (json_int_t)(c->pool_chunks > 1 ? c->pool_chunks : 1),
                     "hidden", (json_int_t)c->hidden, "embed_dropout", (double)c->embed_dropout, "hidden_dropout",
                     (double)c->hidden_dropout));
    if (c->conv_stride > 1) /* XML-CNN(2); files of other models stay as they were */
        json_object_set_new(j, "conv_stride", json_integer((json_int_t)c->conv_stride));
    encoder_config_to_json(c, j);
    if (m->joint_embedding)
        json_object_set_new(j, "joint_embedding", json_true());
    if (c->hidden_activation != ACTIVATION_RELU) /* absent: ReLU (files from before) */
        json_object_set_new(j, "hidden_activation", json_string(activation_name(c->hidden_activation)));
    if (c->hidden_batchnorm)
        json_object_set_new(j, "batchnorm", json_true());
    if (m->strategy == STRATEGY_NODE || (m->strategy == STRATEGY_PARENT && m->shared_embedding))
        json_object_set_new(j, "node_embedding", json_string(node_embedding_name(m->node_embedding)));
    return j;
}

static char *strings_to_json(const strmap *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < strmap_count(s); i++)
        json_array_append_new(a, json_string(strmap_string(s, i)));
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

/* The parents of every label, in label order; null stands for the root. */
static char *taxonomy_to_json(const taxonomy *t)
{
    json_t *all = json_array();
    for (size_t c = 0; c < t->n_nodes; c++) {
        json_t *parents = json_array();
        for (size_t j = t->parent_start[c]; j < t->parent_start[c + 1]; j++)
            json_array_append_new(parents, t->parents[j] == TAXONOMY_ROOT
                                               ? json_null()
                                               : json_string(strmap_string(&t->names, t->parents[j])));
        json_array_append_new(all, parents);
    }
    char *text = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    return text;
}

/* Rebuilds the taxonomy: the labels become nodes in their stored order, then the stored edges. */
static hftc_status taxonomy_from_json(taxonomy *t, const char *path, const json_t *labels, const char *text)
{
    json_error_t err;
    json_t *all = text ? json_loads(text, 0, &err) : NULL;
    hftc_status st =
        json_is_array(all) && json_array_size(all) == json_array_size(labels)
            ? HFTC_STATUS_OK
            : error_set(HFTC_STATUS_MODEL, "%s: metadata \"taxonomy\" missing or not one list per label", path);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < json_array_size(labels); i++) {
        const char *s = json_string_value(json_array_get(labels, i));
        size_t id;
        st = strmap_intern(&t->names, s, strlen(s), &id);
        if (st == HFTC_STATUS_OK && id != i)
            st = error_set(HFTC_STATUS_MODEL, "%s: label \"%s\" listed twice", path, s);
    }
    if (st == HFTC_STATUS_OK)
        taxonomy_adopt_names(t);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < json_array_size(all); i++) {
        const json_t *parents = json_array_get(all, i), *p;
        const char *child = strmap_string(&t->names, i);
        size_t j;
        if (!json_is_array(parents) || json_array_size(parents) == 0)
            st = error_set(HFTC_STATUS_MODEL, "%s: label \"%s\" has no parent list", path, child);
        json_array_foreach(parents, j, p)
        {
            const char *parent = json_string_value(p);
            if (st == HFTC_STATUS_OK && !json_is_null(p) &&
                (!parent || strmap_find(&t->names, parent, strlen(parent)) == STRMAP_NONE))
                st = error_set(HFTC_STATUS_MODEL, "%s: label \"%s\" has an unknown parent", path, child);
            if (st == HFTC_STATUS_OK)
                st = taxonomy_add_edge(t, parent, child);
        }
    }
    if (st == HFTC_STATUS_OK)
        st = taxonomy_finalize(t);
    if (st != HFTC_STATUS_OK && st != HFTC_STATUS_MODEL)
        st = error_wrap(HFTC_STATUS_MODEL, "%s: metadata \"taxonomy\"", path);
    json_decref(all);
    return st;
}

#define SHARED_EMBEDDING_NAME "embedding.weight"

/* The model's own metadata entries: ten always, "label_words", "label_thresholds" and "branches" when it has
 * them. */
#define MODEL_METADATA_MAX 13

static size_t model_tensor_count(const hftc_model *m)
{
    if (m->family == FAMILY_LINEAR)
        return linear_tensor_count(m);
    size_t n = m->shared_embedding ? 1 : 0;
    for (size_t p = 0; p < m->n_parts; p++)
        n += network_params(m->parts[p].net)->n_tensors;
    return n;
}

hftc_status model_entries(const hftc_model *m, const st_metadata *extra_meta, size_t n_extra_meta,
                          const st_tensor *extra, size_t n_extra, model_entries_fn fn, void *user)
{
    size_t n_tensors = model_tensor_count(m), i = 0;
    st_tensor *tensors = mem_alloc(n_tensors + n_extra, sizeof *tensors);
    char(*names)[MODEL_TENSOR_NAME_MAX] = mem_alloc(n_tensors, sizeof *names);
    st_metadata *meta = mem_alloc(MODEL_METADATA_MAX + n_extra_meta, sizeof *meta);
    if (!tensors || !names || !meta) {
        free(tensors), free(names), free(meta);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    if (m->shared_embedding) {
        tensors[i++] = (st_tensor){.name = SHARED_EMBEDDING_NAME,
                                   .ndim = 2,
                                   .shape = {m->net_config.vocab_size, m->net_config.embed_dim},
                                   .data = m->shared_embedding};
    }
    if (m->family == FAMILY_LINEAR)
        linear_tensors(m, tensors, names);
    for (size_t p = 0; m->family == FAMILY_NEURAL && p < m->n_parts; p++) {
        const param_set *ps = network_params(m->parts[p].net);
        for (size_t k = 0; k < ps->n_tensors; k++, i++) {
            const tensor *t = &ps->tensors[k];
            snprintf(names[i], sizeof names[i], "%s%s", m->parts[p].prefix, t->name);
            tensors[i] = (st_tensor){.name = names[i], .ndim = t->ndim, .data = t->value};
            memcpy(tensors[i].shape, t->shape, sizeof t->shape);
        }
    }
    if (n_extra)
        memcpy(tensors + n_tensors, extra, n_extra * sizeof *extra);
    json_t *config = model_config_json(m);
    char *config_text = json_dumps(config, JSON_COMPACT | JSON_REAL_PRECISION(9)); /* floats round-trip */
    json_decref(config);
    char *vocab_text = strings_to_json(&m->vocab.words);
    char *labels_text = strings_to_json(&m->tax.names);
    char *taxonomy_text = taxonomy_to_json(&m->tax);
    char *outputs_text = outputs_to_json(m);
    char *weights_text = class_weights_to_json(m);
    char *thresholds_text = label_thresholds_to_json(m);
    char *branches_text = branches_to_json(m);
    char *label_words_text = NULL; /* the joint embedding's words of each label */
    if (m->joint_embedding) {
        json_t *texts = json_array();
        for (size_t l = 0; l < m->label_words.n_labels; l++)
            json_array_append_new(texts, json_string(m->label_words.text[l]));
        label_words_text = json_dumps(texts, JSON_COMPACT);
        json_decref(texts);
    }
    char version[16];
    snprintf(version, sizeof version, "%d", MODEL_FORMAT_VERSION);
    const st_metadata always[] = {
        {"format", MODEL_FORMAT_NAME}, {"format_version", version},
        {"preset", m->preset},         {"config", config_text},
        {"labels", labels_text},       {"taxonomy", taxonomy_text},
        {"vocab", vocab_text},         {"training", m->training_json ? m->training_json : "{}"},
        {"outputs", outputs_text},     {"class_weights", weights_text},
    };
    size_t n_meta = 0;
    for (; n_meta < sizeof always / sizeof *always; n_meta++)
        meta[n_meta] = always[n_meta];
    if (m->joint_embedding)
        meta[n_meta++] = (st_metadata){"label_words", label_words_text};
    if (thresholds_text)
        meta[n_meta++] = (st_metadata){"label_thresholds", thresholds_text};
    if (branches_text)
        meta[n_meta++] = (st_metadata){"branches", branches_text};
    for (size_t k = 0; k < n_extra_meta; k++)
        meta[n_meta++] = extra_meta[k];
    hftc_status st = (config_text && vocab_text && labels_text && taxonomy_text && outputs_text && weights_text &&
                      (label_words_text || !m->joint_embedding) && (thresholds_text || !m->label_thresholds))
                         ? fn(user, tensors, n_tensors + n_extra, meta, n_meta)
                         : error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory encoding the model metadata");
    free(config_text), free(vocab_text), free(labels_text), free(taxonomy_text), free(outputs_text), free(weights_text),
        free(label_words_text), free(thresholds_text), free(branches_text), free(tensors), free(names), free(meta);
    return st;
}

static hftc_status write_entries(void *path, const st_tensor *tensors, size_t n_tensors, const st_metadata *meta,
                                 size_t n_meta)
{
    return safetensors_write(path, tensors, n_tensors, meta, n_meta);
}

hftc_status model_save_with(const hftc_model *m, const char *path, const st_metadata *extra_meta, size_t n_extra_meta,
                            const st_tensor *extra, size_t n_extra)
{
    return model_entries(m, extra_meta, n_extra_meta, extra, n_extra, write_entries, (void *)path);
}

/* st, its message naming the model file where it does not yet (an allocation that failed deep inside). */
static hftc_status naming_file(hftc_status st, const char *what, const char *path)
{
    if (st != HFTC_STATUS_OK && !strstr(hftc_last_error(), path))
        error_wrap(st, "%s%s", what, path);
    return st;
}

hftc_status hftc_model_save(const hftc_model *m, const char *path)
{
    hftc_status st = m->ensemble ? ensemble_save(m, path) : model_save_with(m, path, NULL, 0, NULL, 0);
    return naming_file(st, "cannot write ", path);
}

hftc_status model_read_metadata(const char *path, const char *key, char **value)
{
    st_file *f;
    TRY(safetensors_open(&f, path));
    const char *text = safetensors_metadata(f, key);
    *value = text ? mem_strdup(text) : NULL;
    safetensors_close(f);
    if (!text)
        return error_set(HFTC_STATUS_MODEL, "%s: no metadata \"%s\"", path, key);
    return *value ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
}

/* Parses a JSON array of strings from metadata key into a NULL-free vector. */
static hftc_status metadata_strings(const st_file *f, const char *path, const char *key, json_t **out)
{
    const char *text = safetensors_metadata(f, key);
    json_error_t err;
    json_t *a = text ? json_loads(text, 0, &err) : NULL;
    if (!json_is_array(a)) {
        json_decref(a);
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"%s\" missing or not a list", path, key);
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!json_is_string(v))
    {
        json_decref(a);
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"%s\" item %zu is not a string", path, key, i);
    }
    *out = a;
    return HFTC_STATUS_OK;
}

/* The joint embedding's label words (metadata "label_words"). */
static hftc_status label_words_from_json(hftc_model *m, const st_file *f, const char *path)
{
    json_t *texts;
    TRY(metadata_strings(f, path, "label_words", &texts));
    size_t n = json_array_size(texts), unknown = 0;
    const char **t = mem_alloc(n ? n : 1, sizeof *t);
    hftc_status st = t ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK && n != m->tax.n_nodes)
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"label_words\" is not one string per label", path);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < n; i++)
        t[i] = json_string_value(json_array_get(texts, i));
    if (st == HFTC_STATUS_OK)
        st = label_words_from_texts(&m->label_words, t, n);
    if (st == HFTC_STATUS_OK) /* words that fell out of the vocabulary read as <unk>, as they did in training */
        st = label_words_lookup(&m->label_words, &m->vocab, &unknown);
    if (st == HFTC_STATUS_OK)
        m->joint_embedding = true;
    free(t);
    json_decref(texts);
    return st;
}

static hftc_status config_from_json(const char *path, int version, const char *text, network_config *c,
                                    tokenizer_options *tok, float *threshold, strategy_kind *strategy,
                                    scoring_kind *scoring, node_embedding_kind *node_embedding, bool *joint_embedding,
                                    model_family *family, tfidf_options *features)
{
    json_error_t err;
    json_t *j = text ? json_loads(text, 0, &err) : NULL;
    if (text && !j) /* NaN, Infinity and numbers past a double's range are not JSON: refused here */
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" is not valid JSON: %s", path, err.text);
    /* A linear model has no network: its file lacks the network's entries, which stand at neutral values. */
    json_int_t V, E = 1, F = 1, H = 0, C, max_len, chunks = 1; /* files from before XML-CNN have no "pool_chunks" */
    double embed_dropout = 0.0, hidden_dropout = 0.0, thr;
    int lowercase, split_punct, drop_punct;
    const char *encoder = NULL, *head = NULL, *family_text = "neural";
    json_t *windows = NULL;
    if (!j ||
        json_unpack(j, "{s?s, s?s, s:I, s?I, s?o, s?I, s?I, s?I, s:I, s?F, s?F, s:I, s:b, s:b, s:b, s:F, s?s}",
                    "encoder", &encoder, "head", &head, "vocab_size", &V, "embed_dim", &E, "windows", &windows,
                    "filters", &F, "pool_chunks", &chunks, "hidden", &H, "classes", &C, "embed_dropout", &embed_dropout,
                    "hidden_dropout", &hidden_dropout, "max_len", &max_len, "lowercase", &lowercase, "split_punct",
                    &split_punct, "drop_punct", &drop_punct, "threshold", &thr, "family", &family_text) != 0 ||
        !model_family_parse(family_text, family) ||
        (*family == FAMILY_NEURAL && (!encoder || !head || !windows || !json_object_get(j, "embed_dim") ||
                                      !json_object_get(j, "filters") || !json_object_get(j, "hidden") ||
                                      !json_object_get(j, "embed_dropout") || !json_object_get(j, "hidden_dropout")))) {
        json_decref(j);
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" missing or incomplete", path);
    }
    hftc_status st = *family == FAMILY_LINEAR ? linear_config_from_json(path, j, features) : HFTC_STATUS_OK;
    if (*family == FAMILY_LINEAR)
        encoder = "cnn", head = "sigmoid";
    const char *strategy_text = json_string_value(json_object_get(j, "strategy"));
    if (!strategy_text || !strategy_parse(strategy_text, strategy))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has no known \"strategy\"", path);
    const char *scoring_text = json_string_value(json_object_get(j, "scoring")); /* absent in older files */
    *scoring = SCORING_INDEPENDENT;
    if (scoring_text && !scoring_parse(scoring_text, scoring))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has an unknown \"scoring\"", path);
    if (version == 1 && *scoring == SCORING_MSF) /* version 1's msf thresholded the product */
        *scoring = SCORING_PRODUCT;
    const char *node_text = json_string_value(json_object_get(j, "node_embedding"));
    *node_embedding = NODE_EMBEDDING_OWN;
    if (*strategy == STRATEGY_NODE && *family == FAMILY_NEURAL &&
        (!node_text || !node_embedding_parse(node_text, node_embedding)))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has no known \"node_embedding\"", path);
    /* parent parts: absent where each part has its own embedding (and in files from before the shared table) */
    if (*strategy == STRATEGY_PARENT && *family == FAMILY_NEURAL && node_text &&
        (!node_embedding_parse(node_text, node_embedding) || *node_embedding == NODE_EMBEDDING_INHERITED))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has an unknown \"node_embedding\" for parent parts",
                       path);
    encoder_kind kind;
    bool known = encoder_parse(encoder, &kind);
    *c = (network_config){.encoder = known ? kind : ENCODER_CNN};
    known = known && head_parse(head, &c->head);
    const char *bad = known && *family == FAMILY_NEURAL ? encoder_config_from_json(j, c) : NULL;
    if (bad)
        st = error_set(HFTC_STATUS_MODEL,
                       "%s: metadata \"config\" of the %s encoder lacks \"%s\" or has it out of range", path, encoder,
                       bad);
    const char *activation = "relu";
    int batchnorm = 0;
    if (json_unpack(j, "{s?s, s?b}", "hidden_activation", &activation, "batchnorm", &batchnorm) != 0 ||
        !activation_parse(activation, &c->hidden_activation))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has an unknown hidden activation", path);
    c->hidden_batchnorm = batchnorm;
    *joint_embedding = json_is_true(json_object_get(j, "joint_embedding"));
    if (*joint_embedding && (*strategy != STRATEGY_LEVEL || c->head != HEAD_SOFTMAX))
        st = error_set(HFTC_STATUS_MODEL, "%s: the joint embedding needs single-label levels", path);
    if (!known)
        st = error_set(HFTC_STATUS_MODEL, "%s: unsupported encoder \"%s\" or head \"%s\"", path, encoder, head);
    json_t *stride_value = json_object_get(j, "conv_stride"); /* XML-CNN(2) alone writes it */
    json_int_t stride = stride_value ? (json_is_integer(stride_value) ? json_integer_value(stride_value) : 0) : 1;
    /* the bounds train checks its options against (core/bounds.h) */
    const struct {
        const char *key;
        json_int_t value, min, max;
    } sizes[] = {{"vocab_size", V, 2, UINT32_MAX},
                 {"embed_dim", E, 1, BOUNDS_MAX_VECTOR_DIM},
                 {"filters", F, 1, BOUNDS_MAX_FILTERS},
                 {"pool_chunks", chunks, 1, NETWORK_MAX_CHUNKS},
                 {"conv_stride", stride, 1, NETWORK_MAX_STRIDE},
                 {"hidden", H, 0, BOUNDS_MAX_HIDDEN},
                 {"classes", C, 1, UINT32_MAX},
                 {"max_len", max_len, 1, BOUNDS_MAX_LEN},
                 {"windows", (json_int_t)json_array_size(windows), 0, NETWORK_MAX_WINDOWS}};
    for (size_t i = 0; st == HFTC_STATUS_OK && i < sizeof sizes / sizeof *sizes; i++)
        if (sizes[i].value < sizes[i].min || sizes[i].value > sizes[i].max)
            st = error_set(HFTC_STATUS_MODEL,
                           "%s: metadata \"config\" has an out-of-range \"%s\": %lld, not between %lld and %lld", path,
                           sizes[i].key, (long long)sizes[i].value, (long long)sizes[i].min, (long long)sizes[i].max);
    const struct {
        const char *key;
        double value;
        bool ok;
        const char *range;
    } rates[] = {{"threshold", thr, bounds_threshold_ok(thr), "[0, 1]"},
                 {"embed_dropout", embed_dropout, bounds_dropout_ok(embed_dropout), "[0, 1)"},
                 {"hidden_dropout", hidden_dropout, bounds_dropout_ok(hidden_dropout), "[0, 1)"}};
    for (size_t i = 0; st == HFTC_STATUS_OK && i < sizeof rates / sizeof *rates; i++)
        if (!rates[i].ok)
            st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has an out-of-range \"%s\": %g, not in %s", path,
                           rates[i].key, rates[i].value, rates[i].range);
    if (st == HFTC_STATUS_OK && !json_is_array(windows) && *family == FAMILY_NEURAL)
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has no list of \"windows\"", path);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < json_array_size(windows); i++) {
        json_int_t k = json_integer_value(json_array_get(windows, i));
        if (k < 1 || k > max_len)
            st = error_set(HFTC_STATUS_MODEL,
                           "%s: metadata \"config\" has an out-of-range \"windows\" size: %lld, not between 1 and "
                           "\"max_len\" %lld",
                           path, (long long)k, (long long)max_len);
        c->windows[c->n_windows++] = (size_t)k;
    }
    c->vocab_size = (size_t)V, c->embed_dim = (size_t)E, c->n_filters = (size_t)F, c->hidden = (size_t)H;
    c->pool_chunks = (size_t)chunks, c->conv_stride = (size_t)stride;
    c->n_classes = (size_t)C, c->embed_dropout = (float)embed_dropout, c->hidden_dropout = (float)hidden_dropout;
    *tok = (tokenizer_options){
        .lowercase = lowercase, .split_punct = split_punct, .drop_punct = drop_punct, .max_len = (size_t)max_len};
    *threshold = (float)thr;
    json_decref(j);
    return st;
}

// Copies tensor name of the file into values (the shape given), or fails naming it.
static hftc_status load_tensor(const st_file *f, const char *path, const char *name, size_t ndim, const size_t *shape,
                               float *values)
{
    const st_tensor *s = safetensors_find(f, name);
    if (!s)
        return error_set(HFTC_STATUS_MODEL, "%s: tensor \"%s\" missing", path, name);
    bool same = s->ndim == ndim;
    for (size_t d = 0; same && d < ndim; d++)
        same = s->shape[d] == shape[d];
    if (!same || s->dtype != ST_F32)
        return error_set(HFTC_STATUS_MODEL, "%s: tensor \"%s\" has the wrong shape or type", path, name);
    return safetensors_read(f, s, values);
}

static hftc_status model_load_tensors(hftc_model *m, const st_file *f, const char *path)
{
    size_t n_model = 0;
    for (size_t i = 0; i < safetensors_count(f); i++)
        n_model += strncmp(safetensors_tensor(f, i)->name, MODEL_EXTRA_TENSOR_PREFIX,
                           sizeof MODEL_EXTRA_TENSOR_PREFIX - 1) != 0;
    if (n_model != model_tensor_count(m))
        return error_set(HFTC_STATUS_MODEL, "%s: %zu tensors, the configuration needs %zu", path, n_model,
                         model_tensor_count(m));
    if (m->family == FAMILY_LINEAR)
        return linear_load_tensors(m, f, path);
    if (m->shared_embedding)
        TRY(load_tensor(f, path, SHARED_EMBEDDING_NAME, 2,
                        (size_t[]){m->net_config.vocab_size, m->net_config.embed_dim}, m->shared_embedding));
    for (size_t p = 0; p < m->n_parts; p++) {
        param_set *ps = network_params(m->parts[p].net);
        for (size_t i = 0; i < ps->n_tensors; i++) {
            tensor *t = &ps->tensors[i];
            char name[MODEL_TENSOR_NAME_MAX];
            snprintf(name, sizeof name, "%s%s", m->parts[p].prefix, t->name);
            TRY(load_tensor(f, path, name, t->ndim, t->shape, t->value));
        }
    }
    return HFTC_STATUS_OK;
}

hftc_status model_load_entries(const st_file *f, const char *path, hftc_model **out)
{
    hftc_status st = HFTC_STATUS_OK;
    const char *format = safetensors_metadata(f, "format");
    const char *version = safetensors_metadata(f, "format_version");
    hftc_model *m = NULL;
    json_t *words = NULL, *labels = NULL;
    network_config cfg = {0};
    tokenizer_options tok = {0};
    float threshold = 0.5f;
    strategy_kind strategy = STRATEGY_FLAT;
    scoring_kind scoring = SCORING_INDEPENDENT;
    node_embedding_kind node_embedding = NODE_EMBEDDING_OWN;
    bool joint_embedding = false;
    model_family family = FAMILY_NEURAL;
    tfidf_options features = {0};
    if (!format || strcmp(format, MODEL_FORMAT_NAME))
        st = error_set(HFTC_STATUS_MODEL, "%s: not an hftc model (no \"format\": \"hftc\" in its metadata)", path);
    else if (!version || atoi(version) < MODEL_FORMAT_OLDEST || atoi(version) > MODEL_FORMAT_VERSION)
        st = error_set(HFTC_STATUS_MODEL, "%s: model format version %s, this hftc reads versions %d to %d", path,
                       version ? version : "(none)", MODEL_FORMAT_OLDEST, MODEL_FORMAT_VERSION);
    else if (atoi(version) >= 2 && !safetensors_checksummed(f))
        st = error_set(HFTC_STATUS_MODEL, "%s: its checksums are missing or damaged: the file is damaged", path);
    if (st == HFTC_STATUS_OK)
        st = config_from_json(path, atoi(version), safetensors_metadata(f, "config"), &cfg, &tok, &threshold, &strategy,
                              &scoring, &node_embedding, &joint_embedding, &family, &features);
    if (st == HFTC_STATUS_OK)
        st = metadata_strings(f, path, "vocab", &words);
    if (st == HFTC_STATUS_OK)
        st = metadata_strings(f, path, "labels", &labels);
    if (st == HFTC_STATUS_OK && (json_array_size(words) != cfg.vocab_size || json_array_size(labels) != cfg.n_classes))
        st = error_set(HFTC_STATUS_MODEL, "%s: vocabulary or label count disagrees with the configuration", path);
    if (st == HFTC_STATUS_OK)
        st = model_create(&m);
    if (st == HFTC_STATUS_OK) {
        m->net_config = cfg;
        m->strategy = strategy;
        m->family = family;
        m->features.opt = features;
        m->node_embedding = node_embedding;
        m->scoring = scoring;
        m->batch_capacity = 256;
        m->tokenizer = tok;
        m->threshold = threshold;
        const char *preset = safetensors_metadata(f, "preset");
        snprintf(m->preset, sizeof m->preset, "%s", preset ? preset : "");
        const char *training = safetensors_metadata(f, "training");
        m->training_json = training ? mem_strdup(training) : NULL;
        const char *summary = safetensors_metadata(f, MODEL_CHECKPOINT_SUMMARY_KEY);
        m->checkpoint_summary = summary ? mem_strdup(summary) : NULL;
        if ((training && !m->training_json) || (summary && !m->checkpoint_summary)) /* not lost quietly */
            st = HFTC_STATUS_OUT_OF_MEMORY;
        m->unchecked_file = !safetensors_checksummed(f);
        const char **w = mem_alloc(cfg.vocab_size, sizeof *w);
        if (!w)
            st = HFTC_STATUS_OUT_OF_MEMORY;
        for (size_t i = 0; w && i < cfg.vocab_size; i++)
            w[i] = json_string_value(json_array_get(words, i));
        vocab_free(&m->vocab);
        if (st == HFTC_STATUS_OK)
            st = vocab_from_words(&m->vocab, w, cfg.vocab_size);
        free(w);
    }
    if (st == HFTC_STATUS_OK)
        st = taxonomy_from_json(&m->tax, path, labels, safetensors_metadata(f, "taxonomy"));
    if (st == HFTC_STATUS_OK && joint_embedding)
        st = label_words_from_json(m, f, path);
    bool *has_output = NULL;
    if (st == HFTC_STATUS_OK)
        st = outputs_from_json(path, safetensors_metadata(f, "outputs"), cfg.n_classes, &has_output);
    if (st == HFTC_STATUS_OK)
        st = branches_from_json(m, path, safetensors_metadata(f, "branches"));
    if (st == HFTC_STATUS_OK)
        st = model_build_parts(m, has_output);
    free(has_output);
    if (st == HFTC_STATUS_OK)
        st = class_weights_from_json(m, path, safetensors_metadata(f, "class_weights"));
    if (st == HFTC_STATUS_OK)
        st = label_thresholds_from_json(m, path, safetensors_metadata(f, "label_thresholds"));
    if (st == HFTC_STATUS_OK)
        st = model_load_tensors(m, f, path);
    if (st == HFTC_STATUS_OK)
        st = hftc_model_set_word_cache(m, HFTC_WORD_CACHE_DEFAULT_BYTES);
    json_decref(words);
    json_decref(labels);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}

hftc_status hftc_model_load(hftc_model **out, const char *path)
{
    compute_check_blas();
    st_file *f;
    hftc_status st = safetensors_open(&f, path);
    if (st != HFTC_STATUS_OK)
        return naming_file(st, "", path);
    st =
        safetensors_metadata(f, ENSEMBLE_METADATA_KEY) ? ensemble_load(f, path, out) : model_load_entries(f, path, out);
    safetensors_close(f);
    return naming_file(st, "", path);
}
