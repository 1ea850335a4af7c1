/* A model file's metadata about its labels (model_file_labels.h), each entry both ways: which labels have an
 * output, the node classifiers' class weights, the per-label thresholds and the branches hftc extend added. */
#include "model/model_file_labels.h"

#include "core/bounds.h"
#include "core/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The ids of the labels with an output, ascending, as a JSON array. */
char *outputs_to_json(const hftc_model *m)
{
    bool *has = mem_calloc(m->net_config.n_classes, sizeof *has);
    if (!has)
        return NULL;
    for (size_t p = 0; p < m->n_parts; p++)
        for (size_t j = 0; j < m->parts[p].n_outputs; j++)
            has[m->parts[p].nodes[j]] = true;
    json_t *a = json_array();
    for (size_t c = 0; c < m->net_config.n_classes; c++)
        if (has[c])
            json_array_append_new(a, json_integer((json_int_t)c));
    free(has);
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

/* The labels with an output from metadata "outputs" (files from before it existed: NULL, all labels). */
hftc_status outputs_from_json(const char *path, const char *text, size_t n_classes, bool **has_output)
{
    *has_output = NULL;
    if (!text)
        return HFTC_STATUS_OK;
    json_t *a = json_loads(text, 0, NULL);
    bool *has = mem_calloc(n_classes, sizeof *has);
    hftc_status st = has ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK && (!json_is_array(a) || json_array_size(a) == 0))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"outputs\" is not a list of label ids", path);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || (size_t)json_integer_value(v) >= n_classes)
            st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"outputs\" has an invalid label id", path);
        else
            has[json_integer_value(v)] = true;
    }
    json_decref(a);
    if (st != HFTC_STATUS_OK) {
        free(has);
        return st;
    }
    *has_output = has;
    return HFTC_STATUS_OK;
}

/* The positive-class weight each node classifier was trained with, by label name ({} for other
 * strategies): what gru-att-multi takes from an htrans model (--class-weights-from). */
char *class_weights_to_json(const hftc_model *m)
{
    json_t *o = json_object();
    for (size_t p = 0; m->strategy == STRATEGY_NODE && p < m->n_parts; p++)
        json_object_set_new(o, strmap_string(&m->tax.names, m->parts[p].nodes[0]), json_real(m->parts[p].class_weight));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(o);
    return text;
}

/* The per-label thresholds as {label: threshold}; NULL when the model has none. */
char *label_thresholds_to_json(const hftc_model *m)
{
    if (!m->label_thresholds)
        return NULL;
    json_t *o = json_object();
    for (size_t c = 0; c < m->net_config.n_classes; c++)
        json_object_set_new(o, strmap_string(&m->tax.names, c), json_real(m->label_thresholds[c]));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(o);
    return text;
}

/* text: label_thresholds_to_json's, or NULL (none). */
hftc_status label_thresholds_from_json(hftc_model *m, const char *path, const char *text)
{
    if (!text)
        return HFTC_STATUS_OK;
    size_t C = m->net_config.n_classes;
    json_t *o = json_loads(text, 0, NULL);
    m->label_thresholds = mem_alloc(C ? C : 1, sizeof *m->label_thresholds);
    hftc_status st = !m->label_thresholds ? HFTC_STATUS_OUT_OF_MEMORY
                     : json_is_object(o) && json_object_size(o) == C
                         ? HFTC_STATUS_OK
                         : error_set(HFTC_STATUS_MODEL, "%s: metadata \"label_thresholds\" is not one per label", path);
    for (size_t c = 0; st == HFTC_STATUS_OK && c < C; c++) {
        json_t *v = json_object_get(o, strmap_string(&m->tax.names, c));
        double t = json_number_value(v);
        if (!json_is_number(v) || !bounds_threshold_ok(t))
            st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"label_thresholds\" has no threshold in [0, 1] for \"%s\"",
                           path, strmap_string(&m->tax.names, c));
        else
            m->label_thresholds[c] = (float)t;
    }
    json_decref(o);
    return st;
}

hftc_status class_weights_from_json(hftc_model *m, const char *path, const char *text)
{
    if (m->strategy != STRATEGY_NODE)
        return HFTC_STATUS_OK;
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    hftc_status st = json_is_object(o) ? HFTC_STATUS_OK
                                       : error_set(HFTC_STATUS_MODEL, "%s: metadata \"class_weights\" missing", path);
    for (size_t p = 0; st == HFTC_STATUS_OK && p < m->n_parts; p++) {
        json_t *w = json_object_get(o, strmap_string(&m->tax.names, m->parts[p].nodes[0]));
        double v = json_number_value(w);
        if (!json_is_number(w) || !bounds_weight_ok(v))
            st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"class_weights\" has no weight in (0, 1e6] for \"%s\"",
                           path, strmap_string(&m->tax.names, m->parts[p].nodes[0]));
        else
            m->parts[p].class_weight = (float)v;
    }
    json_decref(o);
    return st;
}

/* {label: branch} of the labels whose output is in a branch hftc extend added (flat and level models); NULL for
 * none, the metadata then left out. */
char *branches_to_json(const hftc_model *m)
{
    json_t *o = json_object();
    for (size_t c = 0; m->label_branch && c < m->net_config.n_classes; c++)
        if (m->label_branch[c])
            json_object_set_new(o, strmap_string(&m->tax.names, c), json_integer(m->label_branch[c]));
    char *text = json_object_size(o) ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* m->label_branch from text, branches_to_json's (NULL: none). */
hftc_status branches_from_json(hftc_model *m, const char *path, const char *text)
{
    if (!text)
        return HFTC_STATUS_OK;
    json_t *o = json_loads(text, 0, NULL);
    m->label_branch = mem_calloc(m->net_config.n_classes + 1, sizeof *m->label_branch);
    hftc_status st = !m->label_branch ? HFTC_STATUS_OUT_OF_MEMORY
                     : json_is_object(o) && m->strategy != STRATEGY_NODE
                         ? HFTC_STATUS_OK
                         : error_set(HFTC_STATUS_MODEL,
                                     "%s: metadata \"branches\" is not {label: branch} of a flat "
                                     "or level model",
                                     path);
    const char *label;
    json_t *v;
    json_object_foreach(o, label, v)
    {
        size_t c = strmap_find(&m->tax.names, label, strlen(label));
        if (st != HFTC_STATUS_OK)
            break;
        if (c >= m->net_config.n_classes || !json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > MODEL_MAX_BRANCH)
            st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"branches\" has no label and branch in [1, %d] at \"%s\"",
                           path, MODEL_MAX_BRANCH, label);
        else
            m->label_branch[c] = (uint8_t)json_integer_value(v);
    }
    json_decref(o);
    return st;
}
