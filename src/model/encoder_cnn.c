/* The CNN encoder: per window size conv1d + max pooling over p chunks -> concat -> ReLU. With p = 1
 * this is Kim's CNN; with p > 1 (and the head's fc1 as bottleneck) it is XML-CNN (Liu et al. 2017),
 * whose dynamic max pooling keeps p maxima per feature map, one per chunk of the document.
 *
 * ReLU is applied after pooling, on (B, n_windows*F*p), instead of on every (B, T, F) convolution
 * output: ReLU is monotone, so relu(max_t x_t) = max_t relu(x_t) over any set of positions, a chunk as
 * well as the whole document, with the same gradient (the winning window gets dout when its value is
 * positive, nothing otherwise), at a fraction of the cost. */
#include "model/network_internal.h"

#include "core/error.h"
#include "nn/activation.h"
#include "nn/conv1d.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    tensor *w[NETWORK_MAX_WINDOWS], *b[NETWORK_MAX_WINDOWS];
    size_t chunks;         /* p, at least 1 */
    float *products;       /* conv1d_products_size of the widest window; zero between a training network's passes */
    float *slices;         /* conv1d_slices_size of the widest window */
    uint32_t *argmax;      /* (B, D) */
    uint64_t *window_bits; /* conv1d_window_bits_size, a training network's */
} cnn_state;

_Static_assert(sizeof(cnn_state) <= ENCODER_STATE_BYTES, "the network keeps the encoder state in its room");

static inline cnn_state *cnn_of(const network *net) { return encoder_state(net, cnn_state); }

static hftc_status cnn_check(const network_config *c, size_t batch_capacity, size_t length_capacity)
{
    if (c->n_filters == 0)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: the CNN needs filters > 0");
    if (c->pool_chunks > NETWORK_MAX_CHUNKS)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: %zu pooling chunks (at most %d)", c->pool_chunks,
                         NETWORK_MAX_CHUNKS);
    if (c->conv_stride > NETWORK_MAX_STRIDE)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: convolution stride %zu (at most %d)", c->conv_stride,
                         NETWORK_MAX_STRIDE);
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
    double positions = (double)batch_capacity * (double)(length_capacity + 64), E = (double)c->embed_dim;
    if (positions * (E + 64.0 * (double)c->n_filters) > 1e12)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x length %zu x dimension %zu too large",
                         batch_capacity, length_capacity, c->embed_dim);
    double chunks = c->pool_chunks > 1 ? (double)c->pool_chunks : 1.0;
    double features = (double)c->n_windows * (double)c->n_filters * chunks, widest = 64.0 * (double)c->n_filters * E;
    if ((double)batch_capacity * features > 1e10)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x %.3g pooled features too large",
                         batch_capacity, features);
    double weights = widest * (double)c->n_windows + (features + (double)c->n_classes) * (double)(c->hidden + 1) +
                     features * (double)c->n_classes;
    if (weights > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: %.3g parameters, too many", weights);
    return HFTC_STATUS_OK;
}

static void cnn_setup(network *net)
{
    const network_config *c = &net->cfg;
    net->min_len = 1;
    for (size_t w = 0; w < c->n_windows; w++)
        net->min_len = c->windows[w] > net->min_len ? c->windows[w] : net->min_len;
    cnn_of(net)->chunks = c->pool_chunks > 1 ? c->pool_chunks : 1;
    net->features = c->n_windows * c->n_filters * cnn_of(net)->chunks;
}

static void cnn_declare(network *net)
{
    const network_config *c = &net->cfg;
    char name[TENSOR_NAME_MAX];
    for (size_t w = 0; w < c->n_windows; w++) {
        snprintf(name, sizeof name, "conv.%zu.weight", c->windows[w]);
        cnn_of(net)->w[w] =
            params_declare(&net->params, name, 2, (size_t[]){c->n_filters, c->windows[w] * c->embed_dim});
        snprintf(name, sizeof name, "conv.%zu.bias", c->windows[w]);
        cnn_of(net)->b[w] = params_declare(&net->params, name, 1, (size_t[]){c->n_filters});
    }
}

// A training network's products stay zero between passes (conv1d_forward's kept_zero); an inference network's
// activations may be shared with other networks (network_share_activations).
static bool products_kept_zero(const network *net) { return net->mode == NETWORK_TRAINING; }

static void cnn_carve(network *net, arena *a, size_t B, size_t S, bool train)
{
    const network_config *c = &net->cfg;
    size_t widest = 0;
    for (size_t w = 0; w < c->n_windows; w++)
        widest = c->windows[w] > widest ? c->windows[w] : widest;
    size_t products = conv1d_products_size(B, S, c->n_filters, widest);
    cnn_of(net)->products = arena_floats(a, products);
    if (products_kept_zero(net) && cnn_of(net)->products)
        memset(cnn_of(net)->products, 0, products * sizeof(float));
    cnn_of(net)->slices = arena_floats(a, conv1d_slices_size(c->embed_dim, c->n_filters, widest));
    cnn_of(net)->argmax = arena_alloc(a, B * net->features, sizeof(uint32_t));
    if (train)
        cnn_of(net)->window_bits =
            arena_alloc(a, conv1d_window_bits_size(B, S, c->n_filters, cnn_of(net)->chunks), sizeof(uint64_t));
}

static void cnn_init(network *net, rng *r)
{
    const network_config *c = &net->cfg;
    for (size_t w = 0; w < c->n_windows; w++) {
        // PyTorch's kaiming_uniform(a = sqrt(5)) and bias rule both come to 1 / sqrt(fan_in).
        float bound = 1.0f / sqrtf((float)(c->windows[w] * c->embed_dim));
        init_uniform(cnn_of(net)->w[w], r, bound);
        init_uniform(cnn_of(net)->b[w], r, bound);
    }
}

static void cnn_forward(network *net, const compute_context *cc, size_t B, size_t T, bool train, uint64_t seed)
{
    (void)train;
    (void)seed;
    const network_config *c = &net->cfg;
    size_t F = c->n_filters, p = cnn_of(net)->chunks, D = net->features;
    size_t column = 0; /* of window w's products in a projected row */
    for (size_t w = 0; w < c->n_windows; w++) {
        conv1d_forward(cc, net->features_out + w * F * p, cnn_of(net)->argmax + w * F * p, D, cnn_of(net)->products,
                       products_kept_zero(net), cnn_of(net)->slices, net->input, net->projected, column, net->lengths,
                       cnn_of(net)->w[w]->value, cnn_of(net)->b[w]->value, B, T, c->embed_dim, F, c->windows[w], p,
                       c->conv_stride > 1 ? c->conv_stride : 1);
        column += c->windows[w] * F;
    }
    relu_forward(cc, net->features_out, net->features_out, B * D);
}

// The windows' slices side by side: window w's (K*F, E) block (conv1d_slices) after those of the windows
// before it. The convolution's bias is added after pooling, not to the products.
static size_t cnn_word_projection(const network *net, float *proj)
{
    const network_config *c = &net->cfg;
    size_t E = c->embed_dim, F = c->n_filters, N = 0;
    for (size_t w = 0; w < c->n_windows; w++) {
        if (proj)
            conv1d_slices(proj + N * E, cnn_of(net)->w[w]->value, E, F, c->windows[w]);
        N += c->windows[w] * F;
    }
    return N;
}

static bool cnn_trains(const network *net, const bool *frozen)
{
    for (size_t w = 0; w < net->cfg.n_windows; w++)
        if (tensor_trains(cnn_of(net)->w[w], frozen) || tensor_trains(cnn_of(net)->b[w], frozen))
            return true;
    return false;
}

static void cnn_backward(network *net, const compute_context *cc, size_t B, size_t T, const bool *frozen,
                         bool emb_trains)
{
    const network_config *c = &net->cfg;
    size_t E = c->embed_dim, F = c->n_filters, p = cnn_of(net)->chunks, D = net->features;
    relu_backward(cc, net->dfeatures, net->dfeatures, net->features_out, B * D);
    if (emb_trains)
        memset(net->demb, 0, B * T * E * sizeof(float));
    for (size_t w = 0; w < c->n_windows; w++)
        conv1d_backward(cc, emb_trains ? net->demb : NULL, cnn_of(net)->window_bits,
                        grad_if_trains(cnn_of(net)->w[w], frozen), grad_if_trains(cnn_of(net)->b[w], frozen),
                        net->dfeatures + w * F * p, cnn_of(net)->argmax + w * F * p, D, net->emb,
                        cnn_of(net)->w[w]->value, B, T, E, F, c->windows[w], p);
}

static const char *const cnn_layers[] = {"conv", NULL};

/* Windows, filters and pooling chunks are among the fields every model file's config has (read before this);
 * a CNN needs a window. */
static const char *cnn_config_from_json(const json_t *j, network_config *c)
{
    (void)c;
    return json_array_size(json_object_get(j, "windows")) >= 1 ? NULL : "windows";
}

const encoder_ops encoder_cnn_ops = {.name = "cnn",
                                     .layers = cnn_layers,
                                     .config_from_json = cnn_config_from_json,
                                     .check = cnn_check,
                                     .setup = cnn_setup,
                                     .declare = cnn_declare,
                                     .carve = cnn_carve,
                                     .init = cnn_init,
                                     .forward = cnn_forward,
                                     .word_projection = cnn_word_projection,
                                     .trains = cnn_trains,
                                     .backward = cnn_backward};
