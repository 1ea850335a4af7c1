/* The onlstm encoder (HFT-ONLSTM, Gao et al.): an ordered-neurons LSTM over the embedded words
 * (src/nn/onlstm.c), its state at each document's last word (or the maximum or mean over its words, per
 * unit: rnn_pool.c), dropout on that. Tensor names follow the reference code's cell (ih, hh linear layers):
 * "onlstm.ih.weight" (G, E), "onlstm.ih.bias", "onlstm.hh.weight" (G, H), "onlstm.hh.bias". */
#include "model/network_internal.h"

#include "core/error.h"
#include "model/rnn_pool.h"
#include "nn/dropout.h"
#include "nn/onlstm.h"

#include <math.h>
#include <string.h>

typedef struct {
    tensor *w_ih, *w_hh, *b_ih, *b_hh;
    float *out;             /* (B, T, H) states */
    float *dout;            /* (B, T, H) their gradient */
    float *cache, *scratch; /* onlstm_cache_size, onlstm_scratch_size */
    uint32_t *argmax;       /* (B, H): the position of each maximum (RNN_POOL_MAX) */
    uint8_t *mask;          /* (B, H) dropout mask */
} onlstm_state;

_Static_assert(sizeof(onlstm_state) <= ENCODER_STATE_BYTES, "the network keeps the encoder state in its room");

static inline onlstm_state *onlstm_of(const network *net) { return encoder_state(net, onlstm_state); }

static size_t chunk_of(const network_config *c) { return c->onlstm_chunk > 1 ? c->onlstm_chunk : 1; }

static hftc_status onlstm_check(const network_config *c, size_t batch_capacity, size_t length_capacity)
{
    size_t H = c->rnn_hidden, chunk = chunk_of(c);
    if (H == 0 || H > 65536 || H % chunk)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "network: ON-LSTM size %zu out of range or not a multiple of the chunk size %zu", H, chunk);
    if (!(c->rnn_dropout >= 0.0f && c->rnn_dropout < 1.0f))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: dropout rates must be in [0, 1)");
    if ((size_t)c->rnn_pool > RNN_POOL_MEAN)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: unknown ON-LSTM pooling %d", (int)c->rnn_pool);
    double G = (double)onlstm_gates(H, chunk), positions = (double)batch_capacity * (double)length_capacity;
    if (positions * (2.0 * G + 10.0 * (double)H + (double)c->embed_dim) > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x length %zu x ON-LSTM size %zu too large",
                         batch_capacity, length_capacity, H);
    double weights = G * ((double)c->embed_dim + (double)H + 2.0) + (double)H * (double)(c->hidden ? c->hidden : 1);
    if (weights > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: %.3g parameters, too many", weights);
    return HFTC_STATUS_OK;
}

static void onlstm_setup(network *net)
{
    net->min_len = 1;
    net->features = net->cfg.rnn_hidden;
}

static void onlstm_declare(network *net)
{
    const network_config *c = &net->cfg;
    size_t E = c->embed_dim, H = c->rnn_hidden, G = onlstm_gates(H, chunk_of(c));
    param_set *ps = &net->params;
    onlstm_state *s = onlstm_of(net);
    s->w_ih = params_declare(ps, "onlstm.ih.weight", 2, (size_t[]){G, E});
    s->b_ih = params_declare(ps, "onlstm.ih.bias", 1, (size_t[]){G});
    s->w_hh = params_declare(ps, "onlstm.hh.weight", 2, (size_t[]){G, H});
    s->b_hh = params_declare(ps, "onlstm.hh.bias", 1, (size_t[]){G});
}

static void onlstm_carve(network *net, arena *a, size_t B, size_t S, bool train)
{
    size_t H = net->cfg.rnn_hidden, chunk = chunk_of(&net->cfg);
    onlstm_state *s = onlstm_of(net);
    s->out = arena_floats(a, B * S * H);
    s->dout = arena_floats(a, train ? B * S * H : 0);
    s->cache = arena_floats(a, train ? onlstm_cache_size(B, S, H, chunk) : 0);
    s->scratch = arena_floats(a, onlstm_scratch_size(B, S, H, chunk, train));
    s->argmax = arena_alloc(a, B * H, sizeof(uint32_t));
    s->mask = arena_alloc(a, train ? B * H : 0, sizeof(uint8_t));
}

static void onlstm_init(network *net, rng *r)
{
    // nn.Linear(E, G) and nn.Linear(H, G): weights and biases uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    onlstm_state *s = onlstm_of(net);
    float bound_ih = 1.0f / sqrtf((float)net->cfg.embed_dim), bound_hh = 1.0f / sqrtf((float)net->cfg.rnn_hidden);
    init_uniform(s->w_ih, r, bound_ih);
    init_uniform(s->b_ih, r, bound_ih);
    init_uniform(s->w_hh, r, bound_hh);
    init_uniform(s->b_hh, r, bound_hh);
}

static onlstm_weights weights_of(const onlstm_state *s)
{
    return (onlstm_weights){s->w_ih->value, s->w_hh->value, s->b_ih->value, s->b_hh->value};
}

static void onlstm_forward_pass(network *net, const compute_context *cc, size_t B, size_t T, bool train, uint64_t seed)
{
    const network_config *c = &net->cfg;
    onlstm_state *s = onlstm_of(net);
    size_t H = c->rnn_hidden;
    onlstm_weights w = weights_of(s);
    onlstm_forward(cc, s->out, train ? s->cache : NULL, s->scratch, net->input, net->projected, net->lengths, &w, B, T,
                   c->embed_dim, H, chunk_of(c));
    rnn_pool_forward(net->features_out, s->argmax, s->out, net->lengths, c->rnn_pool, B, T, H, H);
    if (train && c->rnn_dropout > 0.0f)
        dropout_forward(cc, net->features_out, s->mask, net->features_out, NULL, B, H, c->rnn_dropout,
                        dropout_layer_seed(seed, 2));
}

// W_ih alone: onlstm_forward adds the biases in its time loop.
static size_t onlstm_word_projection(const network *net, float *proj)
{
    const onlstm_state *s = onlstm_of(net);
    if (proj)
        memcpy(proj, s->w_ih->value, s->w_ih->size * sizeof(float));
    return s->b_ih->size;
}

static bool onlstm_trains(const network *net, const bool *frozen)
{
    const onlstm_state *s = onlstm_of(net);
    return tensor_trains(s->w_ih, frozen) || tensor_trains(s->w_hh, frozen) || tensor_trains(s->b_ih, frozen) ||
           tensor_trains(s->b_hh, frozen);
}

static void onlstm_backward_pass(network *net, const compute_context *cc, size_t B, size_t T, const bool *frozen,
                                 bool emb_trains)
{
    const network_config *c = &net->cfg;
    onlstm_state *s = onlstm_of(net);
    size_t H = c->rnn_hidden;
    onlstm_grads g = {grad_if_trains(s->w_ih, frozen), grad_if_trains(s->w_hh, frozen), grad_if_trains(s->b_ih, frozen),
                      grad_if_trains(s->b_hh, frozen)};
    if (!g.w_ih && !g.w_hh && !g.b_ih && !g.b_hh && !emb_trains)
        return;
    if (c->rnn_dropout > 0.0f)
        dropout_backward(cc, net->dfeatures, net->dfeatures, s->mask, NULL, B, H, c->rnn_dropout);
    rnn_pool_backward(s->dout, net->dfeatures, s->argmax, net->lengths, c->rnn_pool, B, T, H, H);
    if (emb_trains)
        memset(net->demb, 0, B * T * c->embed_dim * sizeof(float));
    onlstm_weights w = weights_of(s);
    onlstm_backward(cc, emb_trains ? net->demb : NULL, &g, s->dout, s->out, s->cache, s->scratch, net->input,
                    net->lengths, &w, B, T, c->embed_dim, H, chunk_of(c));
}

/* The recurrent fields and the chunk and pooling of the ON-LSTM. */
static void onlstm_config_to_json(const network_config *c, json_t *j)
{
    recurrent_config_to_json(c, j);
    json_object_set_new(j, "onlstm_chunk", json_integer((json_int_t)chunk_of(c)));
    rnn_pool_to_json(c, j);
}

static const char *onlstm_config_from_json(const json_t *j, network_config *c)
{
    json_int_t chunk = 1;
    const char *bad = recurrent_config_from_json(j, c);
    if (bad)
        return bad;
    if (json_unpack((json_t *)j, "{s?I}", "onlstm_chunk", &chunk) != 0 || chunk < 1 ||
        (json_int_t)c->rnn_hidden % chunk)
        return "onlstm_chunk";
    c->onlstm_chunk = (size_t)chunk;
    return rnn_pool_from_json(j, c);
}

static const char *const onlstm_layers[] = {"onlstm", NULL};

static bool onlstm_threads_pay_alone(const network *net)
{
    return onlstm_splits_steps(net->cfg.rnn_hidden, net->cfg.onlstm_chunk);
}

const encoder_ops encoder_onlstm_ops = {.name = "onlstm",
                                        .layers = onlstm_layers,
                                        .config_to_json = onlstm_config_to_json,
                                        .config_from_json = onlstm_config_from_json,
                                        .check = onlstm_check,
                                        .setup = onlstm_setup,
                                        .declare = onlstm_declare,
                                        .carve = onlstm_carve,
                                        .init = onlstm_init,
                                        .forward = onlstm_forward_pass,
                                        .word_projection = onlstm_word_projection,
                                        .threads_pay_alone = onlstm_threads_pay_alone,
                                        .trains = onlstm_trains,
                                        .backward = onlstm_backward_pass};
