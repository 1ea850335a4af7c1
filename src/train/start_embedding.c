/* The embedding table classifiers start from, or read frozen when the parts share one. */
#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "text/wordvec.h"
#include "train/strategy.h"

#include <string.h>

hftc_status embedding_start_table(const train_config *cfg, const hftc_model *m, float *table)
{
    const hftc_train_options *o = cfg->o;
    size_t V = vocab_size(&m->vocab), E = m->net_config.embed_dim;
    rng r;
    rng_seed(&r, o->seed, 0xe3bed);
    for (size_t i = 0; i < V * E; i++)
        table[i] = rng_uniform(&r, -0.25f, 0.25f);
    memset(table, 0, E * sizeof *table);
    if (!o->embeddings_path)
        return HFTC_STATUS_OK;
    size_t found;
    TRY(wordvec_load(o->embeddings_path, cfg->vectors_format, &m->vocab, E, table, &r, &found));
    log_info("%s: vectors for %zu of %zu vocabulary words (%.1f%%)", o->embeddings_path, found, V,
             100.0 * (double)found / (double)V);
    return HFTC_STATUS_OK;
}
