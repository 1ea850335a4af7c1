/* Pooling of a recurrent encoder's states over a document's words (rnn_pool.h). */
#include "model/rnn_pool.h"

#include <string.h>

void rnn_pool_forward(float *features, uint32_t *argmax, const float *states, const size_t *lengths, rnn_pool_kind kind,
                      size_t B, size_t T, size_t D, size_t forward)
{
    for (size_t b = 0; b < B; b++) {
        float *f = features + b * D;
        const float *s = states + b * T * D;
        size_t L = lengths[b];
        memset(f, 0, D * sizeof(float));
        memset(argmax + b * D, 0, D * sizeof(uint32_t));
        if (L == 0)
            continue;
        switch (kind) {
        case RNN_POOL_LAST:
            memcpy(f, s + (L - 1) * D, forward * sizeof(float));
            memcpy(f + forward, s + forward, (D - forward) * sizeof(float));
            break;
        case RNN_POOL_MAX:
            memcpy(f, s, D * sizeof(float));
            for (size_t t = 1; t < L; t++)
                for (size_t j = 0; j < D; j++)
                    if (s[t * D + j] > f[j]) {
                        f[j] = s[t * D + j];
                        argmax[b * D + j] = (uint32_t)t;
                    }
            break;
        case RNN_POOL_MEAN:
            for (size_t t = 0; t < L; t++)
                for (size_t j = 0; j < D; j++)
                    f[j] += s[t * D + j];
            for (size_t j = 0; j < D; j++)
                f[j] /= (float)L;
            break;
        }
    }
}

void rnn_pool_backward(float *dstates, const float *dfeatures, const uint32_t *argmax, const size_t *lengths,
                       rnn_pool_kind kind, size_t B, size_t T, size_t D, size_t forward)
{
    memset(dstates, 0, B * T * D * sizeof(float));
    for (size_t b = 0; b < B; b++) {
        float *ds = dstates + b * T * D;
        const float *df = dfeatures + b * D;
        size_t L = lengths[b];
        if (L == 0)
            continue;
        switch (kind) {
        case RNN_POOL_LAST:
            memcpy(ds + (L - 1) * D, df, forward * sizeof(float));
            memcpy(ds + forward, df + forward, (D - forward) * sizeof(float));
            break;
        case RNN_POOL_MAX:
            for (size_t j = 0; j < D; j++)
                ds[argmax[b * D + j] * D + j] = df[j];
            break;
        case RNN_POOL_MEAN:
            for (size_t t = 0; t < L; t++)
                for (size_t j = 0; j < D; j++)
                    ds[t * D + j] = df[j] / (float)L;
            break;
        }
    }
}

void rnn_pool_to_json(const network_config *c, json_t *j)
{
    json_object_set_new(j, "rnn_pool", json_string(rnn_pool_name(c->rnn_pool)));
}

const char *rnn_pool_from_json(const json_t *j, network_config *c)
{
    const char *pool = "last";
    if (json_unpack((json_t *)j, "{s?s}", "rnn_pool", &pool) != 0 || !rnn_pool_parse(pool, &c->rnn_pool))
        return "rnn_pool";
    return NULL;
}
