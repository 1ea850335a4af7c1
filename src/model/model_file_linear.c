/* A linear model's configuration entries and tensors in the model file (model_file_linear.h). */
#include "model/model_file_linear.h"

#include "core/arena.h"
#include "core/bounds.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINEAR_PART_TENSORS 5

void linear_config_to_json(const hftc_model *m, json_t *config)
{
    const tfidf_options *o = &m->features.opt;
    json_object_set_new(config, "family", json_string(model_family_name(m->family)));
    json_object_set_new(config, "ngrams", json_integer((json_int_t)o->max_ngram));
    json_object_set_new(config, "min_df", json_integer((json_int_t)o->min_df));
    json_object_set_new(config, "sublinear_tf", json_boolean(o->sublinear_tf));
}

hftc_status linear_config_from_json(const char *path, const json_t *config, tfidf_options *features)
{
    json_int_t ngrams, min_df;
    int sublinear;
    if (json_unpack((json_t *)config, "{s:I, s:I, s:b}", "ngrams", &ngrams, "min_df", &min_df, "sublinear_tf",
                    &sublinear) != 0 ||
        ngrams < 1 || ngrams > 2 || min_df < 1 || (uint64_t)min_df > SIZE_MAX)
        return error_set(HFTC_STATUS_MODEL,
                         "%s: metadata \"config\" of a linear model lacks \"ngrams\" (1 or 2), \"min_df\" (at least 1) "
                         "or \"sublinear_tf\"",
                         path);
    *features = (tfidf_options){(size_t)ngrams, (size_t)min_df, sublinear};
    return HFTC_STATUS_OK;
}

size_t linear_tensor_count(const hftc_model *m) { return 2 + LINEAR_PART_TENSORS * m->n_parts; }

void linear_tensors(const hftc_model *m, st_tensor *tensors, char (*names)[MODEL_TENSOR_NAME_MAX])
{
    const tfidf *f = &m->features;
    tensors[0] = (st_tensor){
        .name = "features.bigrams", .ndim = 2, .shape = {f->n_bigrams, 2}, .data = f->bigrams, .dtype = ST_U32};
    tensors[1] = (st_tensor){.name = "features.idf", .ndim = 1, .shape = {tfidf_n_features(f)}, .data = f->idf};
    size_t i = 2;
    for (size_t p = 0; p < m->n_parts; p++) {
        const model_part *part = &m->parts[p];
        const linear_classifier *lc = part->linear;
        size_t nnz = linear_nnz(lc);
        const struct {
            const char *name;
            size_t ndim, shape[2];
            const void *data;
            st_dtype dtype;
        } t[LINEAR_PART_TENSORS] = {{"linear.row_start", 1, {lc->n_features + 1}, lc->row_start, ST_U32},
                                    {"linear.output", 1, {nnz}, lc->output, ST_U32},
                                    {"linear.weight", 1, {nnz}, lc->weight, ST_F32},
                                    {"linear.bias", 1, {lc->n_outputs}, lc->bias, ST_F32},
                                    {"linear.sigmoid", 2, {lc->n_outputs, 2}, lc->sigmoid, ST_F32}};
        for (size_t k = 0; k < LINEAR_PART_TENSORS; k++, i++) {
            snprintf(names[i], sizeof names[i], "%s%s", part->prefix, t[k].name);
            tensors[i] = (st_tensor){.name = names[i],
                                     .ndim = t[k].ndim,
                                     .shape = {t[k].shape[0], t[k].shape[1]},
                                     .data = t[k].data,
                                     .dtype = t[k].dtype};
        }
    }
}

/* Tensor name of f, checked: its dtype, ndim dimensions, the second (ndim 2) cols, the first rows
 * (SIZE_MAX: any). */
static hftc_status find_tensor(const st_file *f, const char *path, const char *name, st_dtype dtype, size_t ndim,
                               size_t cols, size_t rows, const st_tensor **out)
{
    const st_tensor *t = safetensors_find(f, name);
    if (!t)
        return error_set(HFTC_STATUS_MODEL, "%s: tensor \"%s\" missing", path, name);
    if (t->dtype != dtype || t->ndim != ndim || (ndim == 2 && t->shape[1] != cols) ||
        (rows != SIZE_MAX && t->shape[0] != rows))
        return error_set(HFTC_STATUS_MODEL, "%s: tensor \"%s\" has the wrong type or shape", path, name);
    *out = t;
    return HFTC_STATUS_OK;
}

static hftc_status load_features(hftc_model *m, const st_file *f, const char *path)
{
    const st_tensor *tb, *ti;
    size_t V = m->net_config.vocab_size;
    TRY(find_tensor(f, path, "features.bigrams", ST_U32, 2, 2, SIZE_MAX, &tb));
    TRY(find_tensor(f, path, "features.idf", ST_F32, 1, 1, V + tb->shape[0], &ti));
    uint32_t *bigrams = mem_alloc(tb->shape[0] ? 2 * tb->shape[0] : 1, sizeof *bigrams);
    float *idf = mem_alloc(ti->shape[0] ? ti->shape[0] : 1, sizeof *idf);
    hftc_status st = bigrams && idf ? safetensors_read(f, tb, bigrams) : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK)
        st = safetensors_read(f, ti, idf);
    if (st != HFTC_STATUS_OK) {
        free(bigrams), free(idf);
        return st;
    }
    tfidf_options opt = m->features.opt;
    st = tfidf_from_arrays(&m->features, &opt, V, bigrams, tb->shape[0], idf);
    return st == HFTC_STATUS_OK ? st : error_wrap(st, "%s", path);
}

static hftc_status load_part(hftc_model *m, size_t p, const st_file *f, const char *path)
{
    model_part *part = &m->parts[p];
    size_t F = tfidf_n_features(&m->features), J = part->n_outputs;
    char name[MODEL_TENSOR_NAME_MAX];
    snprintf(name, sizeof name, "%slinear.weight", part->prefix);
    const st_tensor *w = safetensors_find(f, name);
    if (!w || w->ndim != 1)
        return error_set(HFTC_STATUS_MODEL, "%s: tensor \"%s\" missing or not a vector", path, name);
    linear_classifier *lc;
    TRY(linear_create(&lc, F, J, w->shape[0]));
    part->linear = lc;
    struct {
        const char *name;
        st_dtype dtype;
        size_t ndim, cols, rows;
        void *into;
    } t[LINEAR_PART_TENSORS] = {{"linear.row_start", ST_U32, 1, 1, F + 1, lc->row_start},
                                {"linear.output", ST_U32, 1, 1, w->shape[0], lc->output},
                                {"linear.weight", ST_F32, 1, 1, w->shape[0], lc->weight},
                                {"linear.bias", ST_F32, 1, 1, J, lc->bias},
                                {"linear.sigmoid", ST_F32, 2, 2, J, lc->sigmoid}};
    for (size_t k = 0; k < LINEAR_PART_TENSORS; k++) {
        const st_tensor *found;
        snprintf(name, sizeof name, "%s%s", part->prefix, t[k].name);
        TRY(find_tensor(f, path, name, t[k].dtype, t[k].ndim, t[k].cols, t[k].rows, &found));
        TRY(safetensors_read(f, found, t[k].into));
    }
    if (lc->row_start[F] != w->shape[0])
        return error_set(HFTC_STATUS_MODEL, "%s: %s's feature offsets do not end at its %zu weights", path, part->name,
                         (size_t)w->shape[0]);
    const char *bad = linear_check(lc);
    return bad ? error_set(HFTC_STATUS_MODEL, "%s: %s: %s", path, part->name, bad) : HFTC_STATUS_OK;
}

hftc_status linear_load_tensors(hftc_model *m, const st_file *f, const char *path)
{
    TRY(load_features(m, f, path));
    for (size_t p = 0; p < m->n_parts; p++)
        TRY(load_part(m, p, f, path));
    return HFTC_STATUS_OK;
}
