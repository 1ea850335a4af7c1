/* The bigru-att encoder (HTrans, Banerjee et al. 2019): a bidirectional GRU over the embedded words,
 * dropout on its outputs S, then [Att(S) | Maxpool(S) | Meanpool(S)] (6H features), where Att is the
 * word attention of Yang et al. 2016. Tensor names follow torch.nn.GRU ("gru.weight_ih_l0",
 * "gru.weight_hh_l0_reverse", ...), so weights can be exchanged with PyTorch. */
#include "model/network_internal.h"

#include "core/error.h"
#include "nn/attention.h"
#include "nn/dropout.h"
#include "nn/gru.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    tensor *w_ih[2], *w_hh[2], *b_ih[2], *b_hh[2]; /* forward, backward direction */
    tensor *att_w, *att_b, *att_context;
    size_t attention_dim;
    float *out;              /* (B, T, 2H) GRU outputs */
    float *states, *dstates; /* (B, T, 2H) after dropout (states = out in inference) */
    uint8_t *mask;           /* (B, T, 2H) dropout mask */
    size_t *valid;           /* (B) lengths * 2H */
    float *cache, *scratch;  /* gru_cache_size, gru_scratch_size */
    float *att_cache, *att_scratch;
    uint32_t *argmax;   /* (B, 2H) of the max pooling */
    const float *alpha; /* (B, alpha_T) attention weights of the last forward pass, inside att_cache */
    size_t alpha_T;
} bigru_state;

_Static_assert(sizeof(bigru_state) <= ENCODER_STATE_BYTES, "the network keeps the encoder state in its room");

static inline bigru_state *gru_of(const network *net) { return encoder_state(net, bigru_state); }

static hftc_status bigru_check(const network_config *c, size_t batch_capacity, size_t length_capacity)
{
    if (c->rnn_hidden == 0 || c->rnn_hidden > 65536 || c->attention_dim > 65536)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: GRU size %zu and attention size %zu out of range",
                         c->rnn_hidden, c->attention_dim);
    if (!(c->rnn_dropout >= 0.0f && c->rnn_dropout < 1.0f))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: dropout rates must be in [0, 1)");
    double H = (double)c->rnn_hidden, A = c->attention_dim ? (double)c->attention_dim : 2.0 * H;
    double positions = (double)batch_capacity * (double)length_capacity;
    if (positions * (16.0 * H + 14.0 * H + A + (double)c->embed_dim) > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x length %zu x GRU size %zu too large",
                         batch_capacity, length_capacity, c->rnn_hidden);
    double weights = 6.0 * H * ((double)c->embed_dim + H + 2.0) + A * (2.0 * H + 2.0) +
                     6.0 * H * (double)(c->hidden ? c->hidden : c->n_classes);
    if (weights > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: %.3g parameters, too many", weights);
    return HFTC_STATUS_OK;
}

static void bigru_setup(network *net)
{
    size_t H = net->cfg.rnn_hidden;
    net->min_len = 1;
    net->features = 6 * H;
    gru_of(net)->attention_dim = net->cfg.attention_dim ? net->cfg.attention_dim : 2 * H;
}

static void bigru_declare(network *net)
{
    size_t H = net->cfg.rnn_hidden, A = gru_of(net)->attention_dim;
    param_set *ps = &net->params;
    bigru_state *g = gru_of(net);
    recurrent_declare(net, "gru", g->w_ih, g->w_hh, g->b_ih, g->b_hh, 3 * H);
    gru_of(net)->att_w = params_declare(ps, "attention.weight", 2, (size_t[]){A, 2 * H});
    gru_of(net)->att_b = params_declare(ps, "attention.bias", 1, (size_t[]){A});
    gru_of(net)->att_context = params_declare(ps, "attention.context", 1, (size_t[]){A});
}

static void bigru_carve(network *net, arena *a, size_t B, size_t S, bool train)
{
    size_t H = net->cfg.rnn_hidden, A = gru_of(net)->attention_dim, n = train ? B * S * 2 * H : 0;
    bigru_state *g = gru_of(net);
    g->out = arena_floats(a, B * S * 2 * H);
    g->states = arena_floats(a, n);
    g->dstates = arena_floats(a, n);
    g->mask = arena_alloc(a, n, sizeof(uint8_t));
    g->valid = arena_alloc(a, B, sizeof(size_t));
    g->cache = arena_floats(a, train ? gru_cache_size(B, S, H) : 0);
    g->scratch = arena_floats(a, gru_scratch_size(B, S, H, train));
    g->att_cache = arena_floats(a, attention_cache_size(B, S, A));
    g->att_scratch = arena_floats(a, train ? attention_scratch_size(B, S, A) : 0);
    g->argmax = arena_alloc(a, B * 2 * H, sizeof(uint32_t));
}

static void bigru_init(network *net, rng *r)
{
    bigru_state *g = gru_of(net);
    recurrent_init(net, g->w_ih, g->w_hh, g->b_ih, g->b_hh, r);
    // nn.Linear(2H, A); the context vector like a weight row of fan-in A.
    float bound = 1.0f / sqrtf((float)(2 * net->cfg.rnn_hidden));
    init_uniform(g->att_w, r, bound);
    init_uniform(g->att_b, r, bound);
    init_uniform(g->att_context, r, 1.0f / sqrtf((float)g->attention_dim));
}

static void gru_weights_of(const bigru_state *g, gru_weights w[2])
{
    for (size_t d = 0; d < 2; d++)
        w[d] = (gru_weights){g->w_ih[d]->value, g->w_hh[d]->value, g->b_ih[d]->value, g->b_hh[d]->value};
}

static void bigru_forward(network *net, const compute_context *cc, size_t B, size_t T, bool train, uint64_t seed)
{
    const network_config *c = &net->cfg;
    bigru_state *g = gru_of(net);
    size_t H = c->rnn_hidden, D2 = 2 * H;
    gru_weights w[2];
    gru_weights_of(g, w);
    gru_forward(cc, g->out, train ? g->cache : NULL, g->scratch, net->input, net->projected, net->lengths, w, B, T,
                c->embed_dim, H);
    const float *states = g->out;
    if (train) {
        for (size_t b = 0; b < B; b++)
            g->valid[b] = net->lengths[b] * D2;
        if (c->rnn_dropout > 0.0f)
            dropout_forward(cc, g->states, g->mask, g->out, g->valid, B, T * D2, c->rnn_dropout,
                            dropout_layer_seed(seed, 2));
        else
            memcpy(g->states, g->out, B * T * D2 * sizeof(float));
        states = g->states;
    }
    attention_forward(cc, net->features_out, net->features, g->argmax, g->att_cache, states, net->lengths,
                      g->att_w->value, g->att_b->value, g->att_context->value, B, T, D2, g->attention_dim);
    g->alpha = g->att_cache + B * T * g->attention_dim, g->alpha_T = T; /* attention.c: u, then a */
}

// Both directions' input projections side by side: [forward W_ih | backward W_ih] (6H, E), as
// gru_forward reads a projected row (it adds b_ih in its time loop).
static size_t bigru_word_projection(const network *net, float *proj)
{
    const bigru_state *g = gru_of(net);
    size_t E = net->cfg.embed_dim, H3 = 3 * net->cfg.rnn_hidden;
    for (size_t d = 0; d < 2 && proj; d++)
        memcpy(proj + d * H3 * E, g->w_ih[d]->value, H3 * E * sizeof(float));
    return 2 * H3;
}

static bool bigru_trains(const network *net, const bool *frozen)
{
    const bigru_state *g = gru_of(net);
    bool any =
        tensor_trains(g->att_w, frozen) || tensor_trains(g->att_b, frozen) || tensor_trains(g->att_context, frozen);
    for (size_t d = 0; d < 2; d++)
        any = any || tensor_trains(g->w_ih[d], frozen) || tensor_trains(g->w_hh[d], frozen) ||
              tensor_trains(g->b_ih[d], frozen) || tensor_trains(g->b_hh[d], frozen);
    return any;
}

static void bigru_backward(network *net, const compute_context *cc, size_t B, size_t T, const bool *frozen,
                           bool emb_trains)
{
    const network_config *c = &net->cfg;
    bigru_state *g = gru_of(net);
    size_t H = c->rnn_hidden, D2 = 2 * H;
    memset(g->dstates, 0, B * T * D2 * sizeof(float));
    attention_backward(cc, g->dstates, grad_if_trains(g->att_w, frozen), grad_if_trains(g->att_b, frozen),
                       grad_if_trains(g->att_context, frozen), net->dfeatures, net->features, g->argmax, g->att_cache,
                       g->att_scratch, g->states, net->lengths, g->att_w->value, g->att_context->value, B, T, D2,
                       g->attention_dim);
    bool gru_trains = false;
    gru_grads grads[2];
    for (size_t d = 0; d < 2; d++) {
        grads[d] = (gru_grads){grad_if_trains(g->w_ih[d], frozen), grad_if_trains(g->w_hh[d], frozen),
                               grad_if_trains(g->b_ih[d], frozen), grad_if_trains(g->b_hh[d], frozen)};
        gru_trains = gru_trains || grads[d].w_ih || grads[d].w_hh || grads[d].b_ih || grads[d].b_hh;
    }
    if (!gru_trains && !emb_trains)
        return;
    if (c->rnn_dropout > 0.0f)
        dropout_backward(cc, g->dstates, g->dstates, g->mask, g->valid, B, T * D2, c->rnn_dropout);
    if (emb_trains)
        memset(net->demb, 0, B * T * c->embed_dim * sizeof(float));
    gru_weights w[2];
    gru_weights_of(g, w);
    gru_backward(cc, emb_trains ? net->demb : NULL, grads, g->dstates, g->out, g->cache, g->scratch, net->emb,
                 net->lengths, w, B, T, c->embed_dim, H);
}

static const float *bigru_attention(const network *net, size_t *T)
{
    *T = gru_of(net)->alpha_T;
    return gru_of(net)->alpha;
}

static const char *const bigru_layers[] = {"gru", "attention", NULL};

const encoder_ops encoder_bigru_ops = {.name = "bigru-att",
                                       .layers = bigru_layers,
                                       .config_to_json = recurrent_config_to_json,
                                       .config_from_json = recurrent_config_from_json,
                                       .attention = bigru_attention,
                                       .check = bigru_check,
                                       .setup = bigru_setup,
                                       .declare = bigru_declare,
                                       .carve = bigru_carve,
                                       .init = bigru_init,
                                       .forward = bigru_forward,
                                       .word_projection = bigru_word_projection,
                                       .trains = bigru_trains,
                                       .backward = bigru_backward};
