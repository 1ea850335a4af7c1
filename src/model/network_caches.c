/* A network's inference caches, made from its parameter values while they stay fixed: the word cache (each word's
 * projection by the encoder's first layer, nn/word_cache.h) and, with it, the head's dense weights packed once
 * (core/packed_gemm.h). */
#include "model/network_internal.h"

#include "core/arena.h" /* mem_alloc */
#include "nn/dense.h"

#include <stdlib.h>

// The word cache and the head's packed weights, made from the values as they were (network_set_word_cache).
void network_drop_inference_caches(network *net)
{
    word_cache_free(net->word_cache);
    net->word_cache = NULL;
    free(net->head_packing);
    net->head_packing = NULL;
}

// The head's weights packed once for the word cache's lifetime (the values fixed meanwhile); as they are if the CPU
// has no packed kernel.
static hftc_status pack_head(network *net)
{
    const network_config *c = &net->cfg;
    size_t D = net->features, H = c->hidden, head_dim = H ? H : D, C = c->n_classes;
    size_t fc1 = H ? packed_matrix_floats(D, H) : 0, out = packed_matrix_floats(head_dim, C);
    if (!out)
        return HFTC_STATUS_OK;
    net->head_packing = mem_alloc(fc1 + out, sizeof(float));
    if (!net->head_packing)
        return HFTC_STATUS_OUT_OF_MEMORY;
    compute_context one = compute_context_of(1);
    if (H)
        net->fc1_t = pack_matrix(&one, net->head_packing, net->fc1_w->value, D, true, D, H);
    net->out_t = pack_matrix(&one, net->head_packing + fc1, net->out_w->value, head_dim, true, head_dim, C);
    return HFTC_STATUS_OK;
}

// The dense layer w, b of the head: with the weights packed (pack_head) where they are.
void network_head_dense(const compute_context *cc, const network *net, float *out, const float *inp,
                        const packed_matrix *packed, const tensor *w, const tensor *b, size_t B, size_t I, size_t O)
{
    if (net->head_packing)
        dense_forward_packed(cc, out, inp, packed, b->value, B);
    else
        dense_forward(cc, out, inp, w->value, b->value, B, I, O);
}

hftc_status network_set_word_cache(network *net, size_t max_bytes)
{
    network_drop_inference_caches(net);
    size_t bytes = network_word_cache_bytes(net);
    if (bytes == 0 || bytes > max_bytes)
        return HFTC_STATUS_OK;
    const network_config *c = &net->cfg;
    size_t E = c->embed_dim, N = net->enc->word_projection(net, NULL);
    float *proj = mem_alloc(N * E, sizeof(float));
    hftc_status st = proj ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK) {
        net->enc->word_projection(net, proj);
        st = word_cache_create(&net->word_cache, net->embedding->value, c->vocab_size, E, proj, N,
                               net->batch_capacity * network_max_len(net));
    }
    free(proj);
    if (st == HFTC_STATUS_OK)
        st = pack_head(net);
    if (st != HFTC_STATUS_OK)
        network_drop_inference_caches(net);
    return st;
}

size_t network_word_cache_bytes(const network *net)
{
    if (net->mode == NETWORK_TRAINING || !net->embedding->value) /* a borrowed embedding not given its table yet */
        return 0;
    return word_cache_table_bytes(net->cfg.vocab_size, net->enc->word_projection(net, NULL));
}

bool network_has_word_cache(const network *net) { return net->word_cache != NULL; }
