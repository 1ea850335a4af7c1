/* The CNN network: embedding -> dropout -> per window conv1d + max pool over p chunks -> concat ->
 * ReLU -> [fc1 -> ReLU] -> dropout -> out -> sigmoid/BCE or softmax/CE. With p = 1 this is Kim's CNN;
 * with p > 1 and fc1 as the bottleneck layer it is XML-CNN (Liu et al. 2017), whose dynamic max
 * pooling keeps p maxima per feature map, one per chunk of the document. Parameters live in a
 * param_set; every activation comes from one arena sized at creation, so a batch allocates nothing.
 *
 * ReLU is applied after pooling, on (B, n_windows*F*p), instead of on every (B, T, F) convolution
 * output: ReLU is monotone, so relu(max_t x_t) = max_t relu(x_t) over any set of positions, a chunk as
 * well as the whole document, with the same gradient (the winning window gets dout when its value is
 * positive, nothing otherwise), at a fraction of the cost. */
#include "model/network.h"

#include "core/error.h"
#include "nn/activation.h"
#include "nn/conv1d.h"
#include "nn/dense.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct network {
    network_config cfg;
    size_t max_batch, max_len;
    size_t max_window; /* documents are laid out with at least this many rows so every window fits */
    size_t chunks;     /* p, at least 1 */
    size_t features;   /* pooled features: n_windows * F * p */
    network_mode mode; /* training: gradients, moments and backward buffers exist */
    param_set params;
    tensor *embedding, *conv_w[NETWORK_MAX_WINDOWS], *conv_b[NETWORK_MAX_WINDOWS];
    tensor *fc1_w, *fc1_b, *out_w, *out_b;

    arena acts;
    uint32_t *tokens;                /* (B, T') with T' = max(T, max_window); ids checked against V */
    size_t *lengths;                 /* (B) clamped to T */
    size_t *emb_valid;               /* (B) lengths * E: the elements of each document the dropout draws */
    float *emb, *demb;               /* (B, T', E) */
    uint8_t *emb_mask;               /* (B, T', E) */
    float *conv_scratch;             /* conv1d_scratch_size of the largest window */
    float *pooled, *dpooled;         /* (B, features) */
    uint32_t *argmax;                /* (B, features) */
    float *hidden, *dhidden;         /* (B, H) */
    uint8_t *head_mask;              /* (B, max(H, features)): dropout on the input of the output layer */
    float *logits, *probs, *dlogits; /* (B, C) */
    uint32_t *emb_scratch;           /* embedding_scratch_size */
};

// Runs twice: on the unsized arena to count bytes, then on the allocated one to hand out pointers.
// Buffers only the backward pass or dropout use are carved in training mode only (NULL otherwise).
static void network_carve(network *net)
{
    const network_config *c = &net->cfg;
    size_t B = net->max_batch, S = net->max_len > net->max_window ? net->max_len : net->max_window;
    size_t E = c->embed_dim, D = net->features, H = c->hidden, C = c->n_classes;
    arena *a = &net->acts;
    size_t conv_scratch = 0;
    for (size_t w = 0; w < c->n_windows; w++) {
        size_t n = conv1d_scratch_size(B, S, E, c->n_filters, c->windows[w]);
        conv_scratch = n > conv_scratch ? n : conv_scratch;
    }
    size_t train = net->mode == NETWORK_TRAINING; /* multiplies the sizes of training-only buffers */
    net->tokens = arena_alloc(a, B * S, sizeof(uint32_t));
    net->lengths = arena_alloc(a, B, sizeof(size_t));
    net->emb_valid = arena_alloc(a, B, sizeof(size_t));
    net->emb = arena_floats(a, B * S * E);
    net->demb = arena_floats(a, train * B * S * E);
    net->emb_mask = arena_alloc(a, train * B * S * E, sizeof(uint8_t));
    net->conv_scratch = arena_floats(a, conv_scratch);
    net->pooled = arena_floats(a, B * D);
    net->dpooled = arena_floats(a, train * B * D);
    net->argmax = arena_alloc(a, B * D, sizeof(uint32_t));
    net->hidden = arena_floats(a, B * H);
    net->dhidden = arena_floats(a, train * B * H);
    net->head_mask = arena_alloc(a, train * B * (H > D ? H : D), sizeof(uint8_t));
    net->logits = arena_floats(a, B * C);
    net->probs = arena_floats(a, B * C);
    net->dlogits = arena_floats(a, train * B * C);
    net->emb_scratch = arena_alloc(a, train * embedding_scratch_size(B, S, c->vocab_size), sizeof(uint32_t));
}

// (Re)allocates the activation arena for the current mode.
static hftc_status network_allocate_activations(network *net)
{
    arena_free(&net->acts);
    network_carve(net);
    TRY(arena_init(&net->acts, net->acts.used));
    network_carve(net);
    return HFTC_STATUS_OK;
}

static hftc_status network_check_config(const network_config *c, size_t max_batch, size_t max_len)
{
    if (c->encoder != ENCODER_CNN)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: unknown encoder %d", (int)c->encoder);
    if (c->head != HEAD_SIGMOID && c->head != HEAD_SOFTMAX)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: unknown head %d", (int)c->head);
    if (c->vocab_size < 2 || c->vocab_size > UINT32_MAX)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: vocabulary size %zu out of range", c->vocab_size);
    if (c->embed_dim == 0 || c->n_filters == 0 || c->n_classes == 0)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: embedding size, filters and classes must be > 0");
    if (c->pool_chunks > NETWORK_MAX_CHUNKS)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: %zu pooling chunks (at most %d)", c->pool_chunks,
                         NETWORK_MAX_CHUNKS);
    if (c->n_windows == 0 || c->n_windows > NETWORK_MAX_WINDOWS)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: %zu windows (1 to %d allowed)", c->n_windows,
                         NETWORK_MAX_WINDOWS);
    for (size_t w = 0; w < c->n_windows; w++) {
        if (c->windows[w] == 0 || c->windows[w] > 64)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: window size %zu out of range (1 to 64)",
                             c->windows[w]);
        for (size_t v = 0; v < w; v++)
            if (c->windows[v] == c->windows[w])
                return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: window size %zu given twice", c->windows[w]);
    }
    if (!(c->embed_dropout >= 0.0f && c->embed_dropout < 1.0f) ||
        !(c->hidden_dropout >= 0.0f && c->hidden_dropout < 1.0f))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: dropout rates must be in [0, 1)");
    if (max_batch == 0 || max_len == 0)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch size and maximum length must be > 0");
    // Positions are stored as 32-bit indices, and no size computation may overflow: sizes far beyond any
    // machine's memory are refused here rather than failing in arithmetic later.
    double positions = (double)max_batch * (double)(max_len + 64), E = (double)c->embed_dim;
    if (positions > (double)UINT32_MAX || positions * (E + 64.0 * (double)c->n_filters) > 1e12)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x length %zu x dimension %zu too large",
                         max_batch, max_len, c->embed_dim);
    double chunks = c->pool_chunks > 1 ? (double)c->pool_chunks : 1.0;
    double features = (double)c->n_windows * (double)c->n_filters * chunks, widest = 64.0 * (double)c->n_filters * E;
    if ((double)max_batch * features > 1e10)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x %.3g pooled features too large", max_batch,
                         features);
    double weights = (double)c->vocab_size * E + widest * (double)c->n_windows +
                     (features + (double)c->n_classes) * (double)(c->hidden + 1) + features * (double)c->n_classes;
    if (weights > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: %.3g parameters, too many", weights);
    return HFTC_STATUS_OK;
}

static hftc_status network_declare(network *net)
{
    const network_config *c = &net->cfg;
    param_set *ps = &net->params;
    size_t E = c->embed_dim, F = c->n_filters, D = net->features, H = c->hidden;
    size_t head_in = H ? H : D;
    char name[TENSOR_NAME_MAX];
    net->embedding = params_declare(ps, "embedding.weight", 2, (size_t[]){c->vocab_size, E});
    net->embedding->row_sparse = true;
    for (size_t w = 0; w < c->n_windows; w++) {
        snprintf(name, sizeof name, "conv.%zu.weight", c->windows[w]);
        net->conv_w[w] = params_declare(ps, name, 2, (size_t[]){F, c->windows[w] * E});
        snprintf(name, sizeof name, "conv.%zu.bias", c->windows[w]);
        net->conv_b[w] = params_declare(ps, name, 1, (size_t[]){F});
    }
    if (H) {
        net->fc1_w = params_declare(ps, "fc1.weight", 2, (size_t[]){H, D});
        net->fc1_b = params_declare(ps, "fc1.bias", 1, (size_t[]){H});
    }
    net->out_w = params_declare(ps, "out.weight", 2, (size_t[]){c->n_classes, head_in});
    net->out_b = params_declare(ps, "out.bias", 1, (size_t[]){c->n_classes});
    return params_allocate(ps);
}

hftc_status network_create(network **out, const network_config *cfg, size_t max_batch, size_t max_len,
                           network_mode mode)
{
    *out = NULL;
    TRY(network_check_config(cfg, max_batch, max_len));
    network *net = mem_calloc(1, sizeof *net);
    if (!net)
        return HFTC_STATUS_OUT_OF_MEMORY;
    net->cfg = *cfg;
    net->max_batch = max_batch;
    net->max_len = max_len;
    for (size_t w = 0; w < cfg->n_windows; w++)
        net->max_window = cfg->windows[w] > net->max_window ? cfg->windows[w] : net->max_window;
    net->chunks = cfg->pool_chunks > 1 ? cfg->pool_chunks : 1;
    net->features = cfg->n_windows * cfg->n_filters * net->chunks;
    net->mode = NETWORK_INFERENCE;
    hftc_status st = network_declare(net);
    if (st == HFTC_STATUS_OK)
        st = network_set_mode(net, mode); /* acts.base is NULL: allocates even for inference */
    if (st != HFTC_STATUS_OK) {
        network_free(net);
        return st;
    }
    *out = net;
    return HFTC_STATUS_OK;
}

hftc_status network_set_mode(network *net, network_mode mode)
{
    if (mode == net->mode && net->acts.base)
        return HFTC_STATUS_OK;
    if (mode == NETWORK_TRAINING) {
        TRY(params_allocate_training(&net->params, net->cfg.vocab_size));
    } else {
        params_free_training(&net->params);
    }
    net->mode = mode;
    hftc_status st = network_allocate_activations(net);
    if (st != HFTC_STATUS_OK && mode == NETWORK_TRAINING) {
        params_free_training(&net->params);
        net->mode = NETWORK_INFERENCE;
        network_allocate_activations(net); /* smaller than what was just freed */
    }
    return st;
}

void network_free(network *net)
{
    if (!net)
        return;
    params_free(&net->params);
    arena_free(&net->acts);
    free(net);
}

const network_config *network_get_config(const network *net) { return &net->cfg; }

param_set *network_params(network *net) { return &net->params; }

static void init_uniform(tensor *t, rng *r, float bound)
{
    for (size_t i = 0; i < t->size; i++)
        t->value[i] = rng_uniform(r, -bound, bound);
}

void network_init(network *net, rng *r)
{
    const network_config *c = &net->cfg;
    init_uniform(net->embedding, r, 0.25f);
    memset(net->embedding->value, 0, c->embed_dim * sizeof(float));
    for (size_t w = 0; w < c->n_windows; w++) {
        // PyTorch's kaiming_uniform(a = sqrt(5)) and bias rule both come to 1 / sqrt(fan_in).
        float bound = 1.0f / sqrtf((float)(c->windows[w] * c->embed_dim));
        init_uniform(net->conv_w[w], r, bound);
        init_uniform(net->conv_b[w], r, bound);
    }
    if (c->hidden) {
        float bound = 1.0f / sqrtf((float)net->features);
        init_uniform(net->fc1_w, r, bound);
        init_uniform(net->fc1_b, r, bound);
    }
    float bound = 1.0f / sqrtf((float)(c->hidden ? c->hidden : net->features));
    init_uniform(net->out_w, r, bound);
    init_uniform(net->out_b, r, bound);
}

// T may exceed max_len up to the largest window: callers that pad short batches to one full window
// need that much, and the arena has the room.
static bool network_check_batch(const network *net, size_t B, size_t T)
{
    size_t max_T = net->max_len > net->max_window ? net->max_len : net->max_window;
    if (B == 0 || B > net->max_batch || T == 0 || T > max_T) {
        error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x %zu outside 1..%zu x 1..%zu", B, T,
                  net->max_batch, max_T);
        return false;
    }
    return true;
}

// The forward pass up to the logits; returns the row stride T' used for the documents.
// train: draw dropout masks from seed. Leaves net->logits filled.
static size_t network_forward(network *net, const uint32_t *tokens, const size_t *lengths, size_t B, size_t T,
                              bool train, uint64_t seed)
{
    const network_config *c = &net->cfg;
    size_t E = c->embed_dim, F = c->n_filters, p = net->chunks, D = net->features, H = c->hidden;
    size_t Tp = T > net->max_window ? T : net->max_window;
    // Ids outside the vocabulary would index past the table: they are read as <unk> (id 1).
    for (size_t b = 0; b < B; b++) {
        size_t L = lengths[b] < T ? lengths[b] : T;
        net->lengths[b] = L;
        net->emb_valid[b] = L * E;
        for (size_t t = 0; t < L; t++) {
            uint32_t id = tokens[b * T + t];
            net->tokens[b * Tp + t] = id < c->vocab_size ? id : 1;
        }
    }
    embedding_forward(net->emb, net->tokens, net->lengths, net->embedding->value, B, Tp, E);
    if (train && c->embed_dropout > 0.0f)
        dropout_forward(net->emb, net->emb_mask, net->emb, net->emb_valid, B, Tp * E, c->embed_dropout,
                        dropout_layer_seed(seed, 0));
    for (size_t w = 0; w < c->n_windows; w++)
        conv1d_forward(net->pooled + w * F * p, net->argmax + w * F * p, D, net->conv_scratch, net->emb, net->lengths,
                       net->conv_w[w]->value, net->conv_b[w]->value, B, Tp, E, F, c->windows[w], p);
    relu_forward(net->pooled, net->pooled, B * D);
    float *head_in = net->pooled;
    size_t head_dim = D;
    if (H) {
        dense_forward(net->hidden, net->pooled, net->fc1_w->value, net->fc1_b->value, B, D, H);
        relu_forward(net->hidden, net->hidden, B * H);
        head_in = net->hidden;
        head_dim = H;
    }
    if (train && c->hidden_dropout > 0.0f)
        dropout_forward(head_in, net->head_mask, head_in, NULL, B, head_dim, c->hidden_dropout,
                        dropout_layer_seed(seed, 1));
    dense_forward(net->logits, head_in, net->out_w->value, net->out_b->value, B, head_dim, c->n_classes);
    return Tp;
}

static float network_loss(network *net, size_t B, const float *targets, const float *pos_weight, float *dlogits)
{
    const network_config *c = &net->cfg;
    if (c->head == HEAD_SOFTMAX)
        return loss_softmax_ce(net->probs, dlogits, net->logits, targets, B, c->n_classes);
    return loss_sigmoid_bce(net->probs, dlogits, net->logits, targets, pos_weight, B, c->n_classes);
}

// Whether t's gradient is wanted: its group is not frozen.
static bool trains(const tensor *t, const bool *frozen) { return !frozen || !frozen[t->group]; }

float network_train_batch(network *net, const uint32_t *tokens, const size_t *lengths, size_t B, size_t T,
                          const float *targets, const float *pos_weight, const bool *frozen, uint64_t dropout_seed)
{
    if (!network_check_batch(net, B, T))
        return NAN;
    if (net->mode != NETWORK_TRAINING) {
        error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: training an inference-only network");
        return NAN;
    }
    const network_config *c = &net->cfg;
    size_t E = c->embed_dim, F = c->n_filters, p = net->chunks, D = net->features, H = c->hidden, C = c->n_classes;
    size_t Tp = network_forward(net, tokens, lengths, B, T, true, dropout_seed);
    float loss = network_loss(net, B, targets, pos_weight, net->dlogits);

    // Gradients flow down only as far as some tensor below still trains.
    bool emb_trains = trains(net->embedding, frozen), conv_trains = false;
    for (size_t w = 0; w < c->n_windows; w++)
        conv_trains = conv_trains || trains(net->conv_w[w], frozen) || trains(net->conv_b[w], frozen);
    bool fc1_trains = H && (trains(net->fc1_w, frozen) || trains(net->fc1_b, frozen));
    bool need_dpooled = emb_trains || conv_trains, need_dhead = need_dpooled || fc1_trains;

    float *head_in = H ? net->hidden : net->pooled, *dhead = H ? net->dhidden : net->dpooled;
    size_t head_dim = H ? H : D;
    if (need_dhead)
        memset(dhead, 0, B * head_dim * sizeof(float));
    dense_backward(need_dhead ? dhead : NULL, trains(net->out_w, frozen) ? net->out_w->grad : NULL,
                   trains(net->out_b, frozen) ? net->out_b->grad : NULL, net->dlogits, head_in, net->out_w->value, B,
                   head_dim, C);
    if (!need_dhead)
        return loss;
    if (c->hidden_dropout > 0.0f)
        dropout_backward(dhead, dhead, net->head_mask, NULL, B, head_dim, c->hidden_dropout);
    if (H) {
        relu_backward(net->dhidden, net->dhidden, net->hidden, B * H);
        if (need_dpooled)
            memset(net->dpooled, 0, B * D * sizeof(float));
        dense_backward(need_dpooled ? net->dpooled : NULL, trains(net->fc1_w, frozen) ? net->fc1_w->grad : NULL,
                       trains(net->fc1_b, frozen) ? net->fc1_b->grad : NULL, net->dhidden, net->pooled,
                       net->fc1_w->value, B, D, H);
    }
    if (!need_dpooled)
        return loss;
    relu_backward(net->dpooled, net->dpooled, net->pooled, B * D);

    if (emb_trains)
        memset(net->demb, 0, B * Tp * E * sizeof(float));
    for (size_t w = 0; w < c->n_windows; w++)
        conv1d_backward(emb_trains ? net->demb : NULL, trains(net->conv_w[w], frozen) ? net->conv_w[w]->grad : NULL,
                        trains(net->conv_b[w], frozen) ? net->conv_b[w]->grad : NULL, net->dpooled + w * F * p,
                        net->argmax + w * F * p, D, net->emb, net->conv_w[w]->value, B, Tp, E, F, c->windows[w], p);
    if (!emb_trains)
        return loss;
    if (c->embed_dropout > 0.0f)
        dropout_backward(net->demb, net->demb, net->emb_mask, net->emb_valid, B, Tp * E, c->embed_dropout);
    embedding_backward(net->embedding->grad, net->embedding->touched_rows, &net->embedding->n_touched, net->emb_scratch,
                       net->demb, net->tokens, net->lengths, B, Tp, E, c->vocab_size);
    return loss;
}

float network_predict(network *net, const uint32_t *tokens, const size_t *lengths, size_t B, size_t T,
                      const float *targets, const float *pos_weight, float *probs)
{
    if (!network_check_batch(net, B, T))
        return NAN;
    network_forward(net, tokens, lengths, B, T, false, 0);
    float loss = network_loss(net, B, targets, pos_weight, NULL);
    memcpy(probs, net->probs, B * net->cfg.n_classes * sizeof(float));
    return loss;
}
