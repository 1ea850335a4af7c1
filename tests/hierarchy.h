/* The generated data of the per-category and per-level models' tests (test_node.c, test_linear.c and
 * test_auto.c through the library, mpi_node.c through mpirun): documents of the leaves of a three-level
 * taxonomy, each with its own words, and the comparison of two node models' classifiers. Header-only like
 * tmpfiles.h. */
#ifndef HFTC_TESTS_HIERARCHY_H
#define HFTC_TESTS_HIERARCHY_H

#include "hftc.h"
#include "model/model.h"
#include "tmpfiles.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char hierarchy_taxonomy[] = "Root\tsport\tscience\n"
                                         "sport\tfootball\ttennis\n"
                                         "science\tphysics\tbiology\n"
                                         "physics\tquantum\n";

/* A document of one leaf (with its ancestors): its own words, its parent's words, filler. */
static inline void hierarchy_write(const char *path, size_t n, uint64_t seed)
{
    static const char *const leaves[] = {"sport,football", "sport,tennis", "science,physics,quantum", "science,biology",
                                         "science,physics"};
    static const char *const words[][3] = {{"goal", "pitch", "striker"},
                                           {"racket", "serve", "wimbledon"},
                                           {"qubit", "entangled", "spin"},
                                           {"cell", "gene", "protein"},
                                           {"force", "mass", "energy"}};
    static const char *const filler[] = {"the", "a", "of", "today", "said", "new"};
    FILE *f = fopen(path, "w");
    uint64_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned kind = (unsigned)(x >> 33) % 5;
        fprintf(f, "%s\t", leaves[kind]);
        size_t len = 5 + (x >> 40) % 8;
        for (size_t t = 0; t < len; t++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned r = (unsigned)(x >> 33);
            const char *w = r % 2 ? words[kind][r / 2 % 3] : filler[r / 2 % 6];
            fprintf(f, "%s%s", t ? " " : "", w);
        }
        fputc('\n', f);
    }
    fclose(f);
}

/* The files of the tests on this data, in the tmpfiles directory (tmpfiles_init first): the taxonomy, the
 * training (300 documents), validation (60) and test (100) files, and where a model goes. */
typedef struct {
    const char *taxonomy, *train, *valid, *test, *model;
} hierarchy_files;

static inline hierarchy_files hierarchy_write_files(void)
{
    hierarchy_files f = {tmpfiles_write("taxonomy.tsv", hierarchy_taxonomy, strlen(hierarchy_taxonomy)),
                         tmpfiles_path("train.tsv"), tmpfiles_path("valid.tsv"), tmpfiles_path("test.tsv"),
                         tmpfiles_path("model.hftc")};
    hierarchy_write(f.train, 300, 1);
    hierarchy_write(f.valid, 60, 2);
    hierarchy_write(f.test, 100, 3);
    return f;
}

/* Small, quick options of preset over the given files: 8-dimensional embeddings, 6 recurrent units, 12 tokens,
 * batches of 16, 4 epochs at rate 0.01, seed 3, one thread. */
static inline void hierarchy_options(hftc_train_options *o, const char *preset, const char *train, const char *valid,
                                     const char *taxonomy_path)
{
    hftc_train_options_init(o, preset);
    o->train_path = train;
    o->valid_path = valid;
    o->taxonomy_path = taxonomy_path;
    o->dim = 8;
    o->rnn_hidden = 6;
    o->max_len = 12;
    o->batch = 16;
    o->epochs = 4;
    o->lr = 1e-2f;
    o->seed = 3;
    o->threads = 1;
}

// Whether linear classifiers a and b are the same, bit for bit.
static inline bool same_linear(const linear_classifier *a, const linear_classifier *b)
{
    if (!a || !b || a->n_features != b->n_features || a->n_outputs != b->n_outputs)
        return false;
    size_t nnz = a->row_start[a->n_features], J = a->n_outputs;
    return nnz == b->row_start[b->n_features] &&
           !memcmp(a->row_start, b->row_start, (a->n_features + 1) * sizeof *a->row_start) &&
           !memcmp(a->output, b->output, nnz * sizeof *a->output) &&
           !memcmp(a->weight, b->weight, nnz * sizeof *a->weight) && !memcmp(a->bias, b->bias, J * sizeof *a->bias) &&
           !memcmp(a->sigmoid, b->sigmoid, 2 * J * sizeof *a->sigmoid);
}

// Whether a and b have the same classifiers: every tensor bit for bit and the same class weights.
static inline bool same_classifiers(const hftc_model *a, const hftc_model *b)
{
    if (a->n_parts != b->n_parts || a->family != b->family || !a->shared_embedding != !b->shared_embedding)
        return false;
    if (a->shared_embedding && memcmp(a->shared_embedding, b->shared_embedding,
                                      a->net_config.vocab_size * a->net_config.embed_dim * sizeof *a->shared_embedding))
        return false;
    for (size_t p = 0; p < a->n_parts; p++) {
        if (a->family == FAMILY_LINEAR) {
            if (!same_linear(a->parts[p].linear, b->parts[p].linear))
                return false;
            continue;
        }
        const param_set *x = network_params(a->parts[p].net), *y = network_params(b->parts[p].net);
        if (x->values.used != y->values.used || memcmp(x->values.base, y->values.base, x->values.used) ||
            a->parts[p].class_weight != b->parts[p].class_weight)
            return false;
    }
    return true;
}

/* Whether the model files at paths a and b load and hold the same classifiers (same_classifiers). */
static inline bool same_model_files(const char *a, const char *b)
{
    hftc_model *x = NULL, *y = NULL;
    bool same =
        hftc_model_load(&x, a) == HFTC_STATUS_OK && hftc_model_load(&y, b) == HFTC_STATUS_OK && same_classifiers(x, y);
    hftc_model_free(x);
    hftc_model_free(y);
    return same;
}

#endif
