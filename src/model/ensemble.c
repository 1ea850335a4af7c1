/* Ensembles (ensemble.h): members that agree on the taxonomy and the tokeniser made into one model, their
 * probabilities combined by a weighted mean; the ensemble's entries in a model file each way; its
 * description. */
#include "model/ensemble.h"

#include "core/arena.h"
#include "core/bounds.h"
#include "core/error.h"
#include "model/model_file.h"
#include "model/model_predict.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ensemble {
    size_t n;
    hftc_model **members;
    char **names;
    float *weights;
    uint32_t **label_of; /* [k][label]: member k's id of the ensemble's label */
    uint32_t **word_of;  /* [k][word]: member k's id of the ensemble's word, VOCAB_UNK where it lacks it */
};

void ensemble_free(ensemble *e)
{
    if (!e)
        return;
    for (size_t k = 0; k < e->n; k++) {
        hftc_model_free(e->members[k]);
        free(e->names[k]), free(e->label_of[k]), free(e->word_of[k]);
    }
    free(e->members), free(e->names), free(e->weights), free(e->label_of), free(e->word_of);
    free(e);
}

size_t ensemble_size(const ensemble *e) { return e->n; }
hftc_model *ensemble_member(const ensemble *e, size_t k) { return e->members[k]; }
const char *ensemble_member_name(const ensemble *e, size_t k) { return e->names[k]; }
const float *ensemble_weights(const ensemble *e) { return e->weights; }

void ensemble_set_weights(ensemble *e, const float *weights) { memcpy(e->weights, weights, e->n * sizeof *weights); }

/* Whether node a of ta and node b of tb have the same parents, by name. */
static bool same_parents(const taxonomy *ta, uint32_t a, const taxonomy *tb, uint32_t b)
{
    size_t na = ta->parent_start[a + 1] - ta->parent_start[a], nb = tb->parent_start[b + 1] - tb->parent_start[b];
    for (size_t i = 0; na == nb && i < na; i++) {
        uint32_t p = ta->parents[ta->parent_start[a] + i];
        bool found = false;
        for (size_t j = 0; !found && j < nb; j++) {
            uint32_t q = tb->parents[tb->parent_start[b] + j];
            found = p == TAXONOMY_ROOT
                        ? q == TAXONOMY_ROOT
                        : q != TAXONOMY_ROOT && !strcmp(strmap_string(&ta->names, p), strmap_string(&tb->names, q));
        }
        if (!found)
            return false;
    }
    return na == nb;
}

/* Node c's parents as a message shows them: "A", "A, B" or the root. */
static void parents_text(const taxonomy *t, uint32_t c, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t j = t->parent_start[c]; j < t->parent_start[c + 1] && used < size; j++) {
        uint32_t p = t->parents[j];
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                         p == TAXONOMY_ROOT ? "the root" : strmap_string(&t->names, p));
        used += n > 0 ? (size_t)n : 0;
    }
}

/* Member k's taxonomy against the first member's: the same labels with the same parents, or an error
 * naming the first difference (in the first member's label order, then member k's). */
static hftc_status taxonomy_agrees(const ensemble *e, size_t k)
{
    const taxonomy *a = &e->members[0]->tax, *b = &e->members[k]->tax;
    for (uint32_t c = 0; c < a->n_nodes; c++) {
        const char *name = strmap_string(&a->names, c);
        size_t d = strmap_find(&b->names, name, strlen(name));
        if (d == STRMAP_NONE || d >= b->n_nodes)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "the members disagree on the taxonomy: label \"%s\" of member 1 (%s) is not in member "
                             "%zu (%s)",
                             name, e->names[0], k + 1, e->names[k]);
        if (!same_parents(a, c, b, (uint32_t)d)) {
            char pa[256], pb[256];
            parents_text(a, c, pa, sizeof pa);
            parents_text(b, (uint32_t)d, pb, sizeof pb);
            return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "the members disagree on the taxonomy: label \"%s\" is under %s in member 1 (%s), under "
                             "%s in member %zu (%s)",
                             name, pa, e->names[0], pb, k + 1, e->names[k]);
        }
    }
    for (uint32_t d = 0; d < b->n_nodes; d++) {
        const char *name = strmap_string(&b->names, d);
        if (strmap_find(&a->names, name, strlen(name)) == STRMAP_NONE)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "the members disagree on the taxonomy: label \"%s\" of member %zu (%s) is not in member "
                             "1 (%s)",
                             name, k + 1, e->names[k], e->names[0]);
    }
    return HFTC_STATUS_OK;
}

/* Member k reads a text into the same words as the first member (up to its max_len). */
static hftc_status tokenizer_agrees(const ensemble *e, size_t k)
{
    const tokenizer_options *a = &e->members[0]->tokenizer, *b = &e->members[k]->tokenizer;
    const char *option = a->lowercase != b->lowercase       ? "lowercase"
                         : a->split_punct != b->split_punct ? "split-punct"
                         : a->drop_punct != b->drop_punct   ? "drop-punct"
                                                            : NULL;
    if (option)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "member %zu (%s) was trained with another --%s than member 1 (%s): an ensemble reads each "
                         "document once, into the same words for every member",
                         k + 1, e->names[k], option, e->names[0]);
    return HFTC_STATUS_OK;
}

/* The first member's taxonomy into t (empty): its labels in their order, then its edges. */
static hftc_status taxonomy_copy(taxonomy *t, const taxonomy *from)
{
    for (size_t c = 0; c < from->n_nodes; c++) {
        const char *name = strmap_string(&from->names, c);
        size_t id;
        TRY(strmap_intern(&t->names, name, strlen(name), &id));
    }
    taxonomy_adopt_names(t);
    for (size_t c = 0; c < from->n_nodes; c++)
        for (size_t j = from->parent_start[c]; j < from->parent_start[c + 1]; j++) {
            uint32_t p = from->parents[j];
            TRY(taxonomy_add_edge(t, p == TAXONOMY_ROOT ? NULL : strmap_string(&from->names, p),
                                  strmap_string(&from->names, c)));
        }
    return taxonomy_finalize(t);
}

/* The union of the members' vocabularies into m (the first member's words first, in its order), and each
 * member's ids of its words. */
static hftc_status vocab_union(hftc_model *m, ensemble *e)
{
    strmap words;
    strmap_init(&words);
    hftc_status st = HFTC_STATUS_OK;
    for (size_t k = 0; k < e->n && st == HFTC_STATUS_OK; k++)
        for (size_t w = 0; w < vocab_size(&e->members[k]->vocab) && st == HFTC_STATUS_OK; w++) {
            const char *word = vocab_word(&e->members[k]->vocab, (uint32_t)w);
            size_t id;
            st = strmap_intern(&words, word, strlen(word), &id);
        }
    size_t V = strmap_count(&words);
    const char **list = st == HFTC_STATUS_OK ? mem_alloc(V, sizeof *list) : NULL;
    if (st == HFTC_STATUS_OK && !list)
        st = HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t w = 0; st == HFTC_STATUS_OK && w < V; w++)
        list[w] = strmap_string(&words, w);
    if (st == HFTC_STATUS_OK) {
        vocab_free(&m->vocab);
        st = vocab_from_words(&m->vocab, list, V);
    }
    for (size_t k = 0; k < e->n && st == HFTC_STATUS_OK; k++) {
        e->word_of[k] = mem_alloc(V, sizeof **e->word_of);
        if (!e->word_of[k]) {
            st = HFTC_STATUS_OUT_OF_MEMORY;
            break;
        }
        e->word_of[k][VOCAB_PAD] = VOCAB_PAD, e->word_of[k][VOCAB_UNK] = VOCAB_UNK;
        for (size_t w = 2; w < V; w++)
            e->word_of[k][w] = vocab_lookup(&e->members[k]->vocab, list[w], strlen(list[w]));
    }
    free(list);
    strmap_free(&words);
    m->net_config.vocab_size = vocab_size(&m->vocab);
    return st;
}

/* Each member's ids of the ensemble's labels (the taxonomies agree: every label is there). */
static hftc_status label_maps(const hftc_model *m, ensemble *e)
{
    size_t C = m->tax.n_nodes;
    for (size_t k = 0; k < e->n; k++) {
        e->label_of[k] = mem_alloc(C ? C : 1, sizeof **e->label_of);
        if (!e->label_of[k])
            return HFTC_STATUS_OUT_OF_MEMORY;
        for (size_t c = 0; c < C; c++) {
            const char *name = strmap_string(&m->tax.names, c);
            e->label_of[k][c] = (uint32_t)strmap_find(&e->members[k]->tax.names, name, strlen(name));
        }
    }
    return HFTC_STATUS_OK;
}

/* The ensemble of members (taken over) into m, an empty model. */
static hftc_status ensemble_fill(hftc_model *m, hftc_model **members, const char *const *names, size_t n)
{
    ensemble *e = mem_calloc(1, sizeof *e);
    if (!e) {
        for (size_t k = 0; k < n; k++)
            hftc_model_free(members[k]);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    m->ensemble = e;
    e->members = mem_calloc(n, sizeof *e->members);
    e->names = mem_calloc(n, sizeof *e->names);
    e->weights = mem_alloc(n, sizeof *e->weights);
    e->label_of = mem_calloc(n, sizeof *e->label_of);
    e->word_of = mem_calloc(n, sizeof *e->word_of);
    bool ok = e->members && e->names && e->weights && e->label_of && e->word_of;
    for (size_t k = 0; k < n; k++) {
        if (!ok) {
            hftc_model_free(members[k]);
            continue;
        }
        e->members[e->n++] = members[k];
        char fallback[32];
        snprintf(fallback, sizeof fallback, "member %zu", k + 1);
        e->names[k] = mem_strdup(names && names[k] ? names[k] : fallback);
        e->weights[k] = 1.0f / (float)n;
        ok = e->names[k] != NULL;
    }
    if (!ok)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t k = 0; k < n; k++)
        if (members[k]->ensemble)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "member %zu (%s) is an ensemble: give its members instead",
                             k + 1, e->names[k]);
    for (size_t k = 1; k < n; k++) {
        TRY(tokenizer_agrees(e, k));
        TRY(taxonomy_agrees(e, k));
    }
    const hftc_model *first = members[0];
    snprintf(m->preset, sizeof m->preset, "ensemble");
    m->tokenizer = first->tokenizer;
    for (size_t k = 1; k < n; k++)
        if (members[k]->tokenizer.max_len > m->tokenizer.max_len)
            m->tokenizer.max_len = members[k]->tokenizer.max_len;
    m->scoring = first->scoring;
    m->threshold = first->threshold;
    m->batch_capacity = first->batch_capacity;
    m->compute = first->compute;
    TRY(taxonomy_copy(&m->tax, &first->tax));
    m->net_config.n_classes = m->tax.n_nodes;
    TRY(vocab_union(m, e));
    return label_maps(m, e);
}

hftc_status ensemble_create(hftc_model **members, const char *const *names, size_t n, hftc_model **out)
{
    hftc_model *m = NULL;
    hftc_status st = n >= 1 && n <= ENSEMBLE_MAX_MEMBERS
                         ? model_create(&m)
                         : error_set(HFTC_STATUS_INVALID_ARGUMENT, "an ensemble has 1 to %d members, not %zu",
                                     ENSEMBLE_MAX_MEMBERS, n);
    if (st != HFTC_STATUS_OK) {
        for (size_t k = 0; k < n; k++)
            hftc_model_free(members[k]);
        return st;
    }
    st = ensemble_fill(m, members, names, n);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}

bool ensemble_member_label_thresholds(const hftc_model *m, size_t k, float *out)
{
    const ensemble *e = m->ensemble;
    const float *own = e->members[k]->label_thresholds;
    for (size_t c = 0; own && c < m->tax.n_nodes; c++)
        out[c] = own[e->label_of[k][c]];
    return own != NULL;
}

hftc_status ensemble_member_predict(hftc_model *m, size_t k, const dataset *ds, const size_t *idx, size_t n,
                                    float *probs)
{
    const ensemble *e = m->ensemble;
    hftc_model *member = e->members[k];
    size_t C = m->tax.n_nodes, max_len = member->tokenizer.max_len, total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = idx ? idx[i] : i, len = ds->token_start[d + 1] - ds->token_start[d];
        total += len < max_len ? len : max_len;
    }
    // The documents as the member reads them: its word ids, cut at its own max_len.
    dataset own = {.n_docs = n, .format = ds->format};
    own.token_start = mem_alloc(n + 1, sizeof *own.token_start);
    own.tokens = mem_alloc(total + 1, sizeof *own.tokens);
    own.label_start = mem_calloc(n + 1, sizeof *own.label_start);
    float *member_probs = mem_alloc(n * C + 1, sizeof *member_probs);
    hftc_status st =
        own.token_start && own.tokens && own.label_start && member_probs ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK) {
        own.token_start[0] = 0;
        for (size_t i = 0; i < n; i++) {
            size_t d = idx ? idx[i] : i, start = ds->token_start[d], len = ds->token_start[d + 1] - start;
            len = len < max_len ? len : max_len;
            for (size_t t = 0; t < len; t++)
                own.tokens[own.token_start[i] + t] = e->word_of[k][ds->tokens[start + t]];
            own.token_start[i + 1] = own.token_start[i] + len;
        }
        st = model_predict_dataset(member, &own, NULL, n, NULL, NULL, member_probs, NULL);
    }
    for (size_t i = 0; st == HFTC_STATUS_OK && i < n; i++)
        for (size_t c = 0; c < C; c++)
            probs[i * C + c] = member_probs[i * C + e->label_of[k][c]];
    dataset_free(&own);
    free(member_probs);
    return st;
}

void ensemble_accumulate(float *out, const float *member, float weight, size_t count, bool first)
{
    if (first) {
        for (size_t i = 0; i < count; i++)
            out[i] = weight * member[i];
    } else {
        for (size_t i = 0; i < count; i++)
            out[i] += weight * member[i];
    }
}

hftc_status ensemble_predict_dataset(hftc_model *m, const dataset *ds, const size_t *idx, size_t n, float *probs)
{
    const ensemble *e = m->ensemble;
    size_t count = n * m->tax.n_nodes;
    float *member = mem_alloc(count + 1, sizeof *member);
    if (!member)
        return HFTC_STATUS_OUT_OF_MEMORY;
    hftc_status st = HFTC_STATUS_OK;
    bool first = true;
    for (size_t k = 0; k < e->n && st == HFTC_STATUS_OK; k++) {
        if (e->weights[k] == 0.0f) /* it adds 0 x p = +0 to every sum: the same bits without it */
            continue;
        st = ensemble_member_predict(m, k, ds, idx, n, member);
        if (st == HFTC_STATUS_OK)
            ensemble_accumulate(probs, member, e->weights[k], count, first);
        first = false;
    }
    free(member);
    return st;
}

/* ---- the model file ---- */

/* The entries of a file being put together: the members' under their prefixes, then the ensemble's. */
typedef struct {
    st_tensor *tensors;
    size_t n_tensors, tensors_cap;
    st_metadata *meta;
    size_t n_meta, meta_cap;
    char **owned; /* every name and value copied here */
    size_t n_owned, owned_cap;
    const char *prefix;
} file_entries;

/* prefix followed by s, kept until file_entries_free; NULL: out of memory. */
static const char *entries_string(file_entries *es, const char *prefix, const char *s)
{
    size_t size = strlen(prefix) + strlen(s) + 1;
    char *copy = mem_alloc(size, 1);
    if (!copy || mem_reserve((void **)&es->owned, &es->owned_cap, es->n_owned + 1, sizeof *es->owned)) {
        free(copy);
        return NULL;
    }
    snprintf(copy, size, "%s%s", prefix, s);
    es->owned[es->n_owned++] = copy;
    return copy;
}

static void file_entries_free(file_entries *es)
{
    for (size_t i = 0; i < es->n_owned; i++)
        free(es->owned[i]);
    free(es->owned), free(es->tensors), free(es->meta);
}

static hftc_status entries_add_meta(file_entries *es, const char *key, const char *value)
{
    TRY(mem_reserve((void **)&es->meta, &es->meta_cap, es->n_meta + 1, sizeof *es->meta));
    st_metadata *e = &es->meta[es->n_meta];
    e->key = entries_string(es, es->prefix, key);
    e->value = e->key ? entries_string(es, "", value) : NULL;
    if (!e->value)
        return HFTC_STATUS_OUT_OF_MEMORY;
    es->n_meta++;
    return HFTC_STATUS_OK;
}

/* A member's entries (model_entries_fn), under es->prefix: the tensors' values stay the member's. */
static hftc_status collect_member(void *user, const st_tensor *tensors, size_t n_tensors, const st_metadata *meta,
                                  size_t n_meta)
{
    file_entries *es = user;
    TRY(mem_reserve((void **)&es->tensors, &es->tensors_cap, es->n_tensors + n_tensors, sizeof *es->tensors));
    for (size_t i = 0; i < n_tensors; i++) {
        st_tensor *t = &es->tensors[es->n_tensors];
        *t = tensors[i];
        t->name = entries_string(es, es->prefix, tensors[i].name);
        if (!t->name)
            return HFTC_STATUS_OUT_OF_MEMORY;
        es->n_tensors++;
    }
    for (size_t i = 0; i < n_meta; i++)
        TRY(entries_add_meta(es, meta[i].key, meta[i].value));
    return HFTC_STATUS_OK;
}

/* The "ensemble" entry of m's file (ensemble.h); NULL: out of memory. */
static char *ensemble_to_json(const hftc_model *m)
{
    const ensemble *e = m->ensemble;
    json_t *members = json_array();
    for (size_t k = 0; k < e->n; k++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "member%zu.", k);
        json_array_append_new(members, json_pack("{s:s, s:s, s:f}", "prefix", prefix, "name", e->names[k], "weight",
                                                 (double)e->weights[k]));
    }
    json_t *j = json_pack("{s:o, s:s, s:f}", "members", members, "scoring", scoring_name(m->scoring), "threshold",
                          (double)m->threshold);
    if (j && m->label_thresholds) {
        json_t *thresholds = json_array();
        for (size_t c = 0; c < m->tax.n_nodes; c++)
            json_array_append_new(thresholds, json_real(m->label_thresholds[c]));
        json_object_set_new(j, "label_thresholds", thresholds);
    }
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL; /* floats round-trip */
    json_decref(j);
    return text;
}

hftc_status ensemble_save(const hftc_model *m, const char *path)
{
    const ensemble *e = m->ensemble;
    file_entries es = {0};
    hftc_status st = HFTC_STATUS_OK;
    for (size_t k = 0; k < e->n && st == HFTC_STATUS_OK; k++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "member%zu.", k);
        es.prefix = prefix;
        st = model_entries(e->members[k], NULL, 0, NULL, 0, collect_member, &es);
    }
    es.prefix = "";
    char version[16], *text = ensemble_to_json(m);
    snprintf(version, sizeof version, "%d", MODEL_FORMAT_VERSION);
    const st_metadata own[] = {{"format", MODEL_FORMAT_NAME},
                               {"format_version", version},
                               {"preset", m->preset},
                               {ENSEMBLE_METADATA_KEY, text ? text : ""},
                               {"training", m->training_json ? m->training_json : "{}"}};
    if (st == HFTC_STATUS_OK && !text)
        st = HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; st == HFTC_STATUS_OK && i < sizeof own / sizeof *own; i++)
        st = entries_add_meta(&es, own[i].key, own[i].value);
    if (st == HFTC_STATUS_OK)
        st = safetensors_write(path, es.tensors, es.n_tensors, es.meta, es.n_meta);
    else if (st == HFTC_STATUS_OUT_OF_MEMORY)
        st = error_set(st, "out of memory writing %s", path);
    free(text);
    file_entries_free(&es);
    return st;
}

/* The decision rule of the "ensemble" entry j into m. */
static hftc_status rule_from_json(hftc_model *m, const char *path, const json_t *j)
{
    const char *scoring = json_string_value(json_object_get(j, "scoring"));
    const json_t *threshold = json_object_get(j, "threshold"), *thresholds = json_object_get(j, "label_thresholds");
    if (!scoring || !scoring_parse(scoring, &m->scoring))
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"ensemble\" has no known \"scoring\"", path);
    if (!json_is_number(threshold) || !bounds_threshold_ok(json_number_value(threshold)))
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"ensemble\" has no \"threshold\" in [0, 1]", path);
    m->threshold = (float)json_number_value(threshold);
    if (!thresholds)
        return HFTC_STATUS_OK;
    size_t C = m->tax.n_nodes;
    if (!json_is_array(thresholds) || json_array_size(thresholds) != C)
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"ensemble\" has \"label_thresholds\" not one per label",
                         path);
    m->label_thresholds = mem_alloc(C ? C : 1, sizeof *m->label_thresholds);
    if (!m->label_thresholds)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t c = 0; c < C; c++) {
        const json_t *v = json_array_get(thresholds, c);
        if (!json_is_number(v) || !bounds_threshold_ok(json_number_value(v)))
            return error_set(HFTC_STATUS_MODEL, "%s: metadata \"ensemble\" has no threshold in [0, 1] for \"%s\"", path,
                             strmap_string(&m->tax.names, c));
        m->label_thresholds[c] = (float)json_number_value(v);
    }
    return HFTC_STATUS_OK;
}

/* Member k of the "ensemble" entry: its name, weight and model (read through a view of its prefix). */
static hftc_status member_from_json(const st_file *f, const char *path, const json_t *item, size_t k, const char **name,
                                    float *weight, hftc_model **member)
{
    const char *prefix = json_string_value(json_object_get(item, "prefix"));
    const json_t *w = json_object_get(item, "weight");
    *name = json_string_value(json_object_get(item, "name"));
    if (!prefix || !*prefix || !json_is_number(w) || !(json_number_value(w) >= 0.0 && json_number_value(w) <= 1.0))
        return error_set(HFTC_STATUS_MODEL,
                         "%s: metadata \"ensemble\": member %zu lacks a \"prefix\" or a \"weight\" "
                         "in [0, 1]",
                         path, k + 1);
    *weight = (float)json_number_value(w);
    st_file *view;
    TRY(safetensors_view(f, prefix, &view));
    char where[1024];
    snprintf(where, sizeof where, "%s, member %zu", path, k + 1);
    hftc_status st = model_load_entries(view, where, member);
    safetensors_close(view);
    return st;
}

hftc_status ensemble_load(const st_file *f, const char *path, hftc_model **out)
{
    const char *format = safetensors_metadata(f, "format"), *version = safetensors_metadata(f, "format_version");
    if (!format || strcmp(format, MODEL_FORMAT_NAME) || !version || atoi(version) != MODEL_FORMAT_VERSION)
        return error_set(HFTC_STATUS_MODEL, "%s: an ensemble of format %s version %s, this hftc reads %s version %d",
                         path, format ? format : "(none)", version ? version : "(none)", MODEL_FORMAT_NAME,
                         MODEL_FORMAT_VERSION);
    if (!safetensors_checksummed(f)) /* ensembles came after the checksums: every one has them */
        return error_set(HFTC_STATUS_MODEL, "%s: its checksums are missing or damaged: the file is damaged", path);
    json_error_t err;
    json_t *j = json_loads(safetensors_metadata(f, ENSEMBLE_METADATA_KEY), 0, &err);
    const json_t *items = json_object_get(j, "members");
    size_t n = json_array_size(items);
    if (!json_is_array(items) || n < 1 || n > ENSEMBLE_MAX_MEMBERS) {
        json_decref(j);
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"ensemble\" has no list of 1 to %d \"members\"", path,
                         ENSEMBLE_MAX_MEMBERS);
    }
    hftc_model *members[ENSEMBLE_MAX_MEMBERS] = {0}, *m = NULL;
    const char *names[ENSEMBLE_MAX_MEMBERS];
    float weights[ENSEMBLE_MAX_MEMBERS], sum = 0.0f;
    hftc_status st = HFTC_STATUS_OK;
    size_t loaded = 0;
    for (; loaded < n && st == HFTC_STATUS_OK; loaded++) {
        st = member_from_json(f, path, json_array_get(items, loaded), loaded, &names[loaded], &weights[loaded],
                              &members[loaded]);
        sum += st == HFTC_STATUS_OK ? weights[loaded] : 0.0f;
    }
    if (st != HFTC_STATUS_OK)
        for (size_t k = 0; k < loaded; k++)
            hftc_model_free(members[k]);
    if (st == HFTC_STATUS_OK && (sum < 0.999f || sum > 1.001f)) {
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"ensemble\" has weights summing to %g, not 1", path,
                       (double)sum);
        for (size_t k = 0; k < n; k++)
            hftc_model_free(members[k]);
    }
    if (st == HFTC_STATUS_OK)
        st = ensemble_create(members, names, n, &m); /* takes the members over */
    if (st == HFTC_STATUS_OK) {
        ensemble_set_weights(m->ensemble, weights);
        st = rule_from_json(m, path, j);
    }
    const char *training = safetensors_metadata(f, "training"), *preset = safetensors_metadata(f, "preset");
    if (st == HFTC_STATUS_OK && preset) /* "ensemble", or what made it ("auto") */
        snprintf(m->preset, sizeof m->preset, "%s", preset);
    if (st == HFTC_STATUS_OK && training && !(m->training_json = mem_strdup(training)))
        st = HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK) /* as a model loads: on when the members' caches together fit the default */
        st = hftc_model_set_word_cache(m, HFTC_WORD_CACHE_DEFAULT_BYTES);
    json_decref(j);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}

/* ---- description ---- */

/* Member k's description, its tensors and parts renamed under its prefix into tensors and parts, its
 * sizes added to sums (parameters, trainable, frozen, statistics); NULL: out of memory. */
static json_t *member_description(const ensemble *e, size_t k, json_t *tensors, json_t *parts, json_int_t *sums)
{
    static const char *const counted[] = {"parameters", "trainable", "frozen", "statistics"};
    char *text = hftc_model_describe(e->members[k]);
    json_t *d = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!d)
        return NULL;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "member%zu.", k);
    for (size_t i = 0; i < sizeof counted / sizeof *counted; i++)
        sums[i] += json_integer_value(json_object_get(d, counted[i]));
    json_t *lists[] = {json_object_get(d, "tensors"), json_object_get(d, "parts")}, *into[] = {tensors, parts};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *item;
        json_array_foreach(lists[l], i, item)
        {
            char name[512];
            snprintf(name, sizeof name, "%s%s", prefix, json_string_value(json_object_get(item, "name")));
            json_t *copy = json_copy(item);
            json_object_set_new(copy, "name", json_string(name));
            json_array_append_new(into[l], copy);
        }
    }
    json_t *member =
        json_pack("{s:s, s:f, s:s, s:O, s:O, s:O, s:I}", "name", e->names[k], "weight", (double)e->weights[k], "prefix",
                  prefix, "preset", json_object_get(d, "preset"), "config", json_object_get(d, "config"), "vocabulary",
                  json_object_get(d, "vocabulary"), "parts", (json_int_t)json_array_size(json_object_get(d, "parts")));
    json_t *options = json_object_get(json_object_get(d, "training"), "options");
    if (member && options)
        json_object_set(member, "options", options);
    json_decref(d);
    return member;
}

/* The first member's description (its labels and taxonomy are the ensemble's), with what is the ensemble's:
 * its configuration (the members', the decision rule), vocabulary, sizes, tensors, members and record. */
char *ensemble_describe(const hftc_model *m)
{
    const ensemble *e = m->ensemble;
    char *first = hftc_model_describe(e->members[0]);
    json_t *d = first ? json_loads(first, 0, NULL) : NULL;
    free(first);
    if (!d)
        return NULL;
    json_t *tensors = json_array(), *parts = json_array(), *members = json_array();
    json_int_t sums[4] = {0};
    bool ok = true;
    for (size_t k = 0; k < e->n && ok; k++) {
        json_t *member = member_description(e, k, tensors, parts, sums);
        ok = member && json_array_append_new(members, member) == 0;
    }
    json_t *config = json_pack("{s:s, s:I, s:s, s:f, s:I, s:b, s:b, s:b}", "strategy", "ensemble", "members",
                               (json_int_t)e->n, "scoring", scoring_name(m->scoring), "threshold", (double)m->threshold,
                               "max_len", (json_int_t)m->tokenizer.max_len, "lowercase", m->tokenizer.lowercase,
                               "split_punct", m->tokenizer.split_punct, "drop_punct", m->tokenizer.drop_punct);
    json_t *training = m->training_json ? json_loads(m->training_json, 0, NULL) : NULL;
    json_object_set_new(d, "preset", json_string(m->preset));
    json_object_set_new(d, "config", config);
    json_object_set_new(d, "vocabulary", json_integer((json_int_t)vocab_size(&m->vocab)));
    static const char *const counted[] = {"parameters", "trainable", "frozen", "statistics"};
    for (size_t i = 0; i < 4; i++)
        json_object_set_new(d, counted[i], json_integer(sums[i]));
    json_object_set_new(d, "tensors", tensors);
    json_object_set_new(d, "parts", parts);
    json_object_set_new(d, "members", members);
    json_object_set_new(d, "training", training ? training : json_object());
    json_object_del(d, "checkpoint");
    json_object_del(d, "label_thresholds");
    if (m->label_thresholds) {
        json_t *thresholds = json_object();
        for (size_t c = 0; c < m->tax.n_nodes; c++)
            json_object_set_new(thresholds, strmap_string(&m->tax.names, c), json_real(m->label_thresholds[c]));
        json_object_set_new(d, "label_thresholds", thresholds);
    }
    char *text = ok && config ? json_dumps(d, JSON_INDENT(2) | JSON_REAL_PRECISION(7)) : NULL;
    json_decref(d);
    return text;
}
