/* The bilstm encoder: a bidirectional LSTM over the embedded words (src/nn/lstm.c), its states pooled over each
 * document's words (rnn_pool.c: both directions' final states, or the maximum or mean per unit), dropout on that:
 * the BiLSTM/Maxpool and BiLSTM/Meanpool baselines of the HFT-ONLSTM paper (Conneau et al. 2017's encoders).
 * Features: 2H, the forward direction's then the backward one's. Tensor names follow torch.nn.LSTM
 * ("lstm.weight_ih_l0", "lstm.weight_hh_l0_reverse", ...), so weights can be exchanged with PyTorch. */
#include "model/network_internal.h"

#include "core/error.h"
#include "model/rnn_pool.h"
#include "nn/dropout.h"
#include "nn/lstm.h"

#include <string.h>

typedef struct {
    tensor *w_ih[2], *w_hh[2], *b_ih[2], *b_hh[2]; /* forward, backward direction */
    float *out;                                    /* (B, T, 2H) states */
    float *dout;                                   /* (B, T, 2H) their gradient */
    float *cache, *scratch;                        /* lstm_cache_size, lstm_scratch_size */
    uint32_t *argmax;                              /* (B, 2H): the position of each maximum (RNN_POOL_MAX) */
    uint8_t *mask;                                 /* (B, 2H) dropout mask */
} bilstm_state;

_Static_assert(sizeof(bilstm_state) <= ENCODER_STATE_BYTES, "the network keeps the encoder state in its room");

static inline bilstm_state *bilstm_of(const network *net) { return encoder_state(net, bilstm_state); }

static hftc_status bilstm_check(const network_config *c, size_t batch_capacity, size_t length_capacity)
{
    double H = (double)c->rnn_hidden, positions = (double)batch_capacity * (double)length_capacity;
    if (c->rnn_hidden == 0 || c->rnn_hidden > 65536)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: LSTM size %zu out of range", c->rnn_hidden);
    if (!(c->rnn_dropout >= 0.0f && c->rnn_dropout < 1.0f))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: dropout rates must be in [0, 1)");
    if ((size_t)c->rnn_pool > RNN_POOL_MEAN)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: unknown BiLSTM pooling %d", (int)c->rnn_pool);
    // Per position: states and their gradient (4H), cache (12H), projections and their gradient (8H), hprev (2H).
    if (positions * (26.0 * H + (double)c->embed_dim) > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x length %zu x LSTM size %zu too large",
                         batch_capacity, length_capacity, c->rnn_hidden);
    double weights = 8.0 * H * ((double)c->embed_dim + H + 2.0) + 2.0 * H * (double)(c->hidden ? c->hidden : 1);
    if (weights > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: %.3g parameters, too many", weights);
    return HFTC_STATUS_OK;
}

static void bilstm_setup(network *net)
{
    net->min_len = 1;
    net->features = 2 * net->cfg.rnn_hidden;
}

static void bilstm_declare(network *net)
{
    bilstm_state *s = bilstm_of(net);
    recurrent_declare(net, "lstm", s->w_ih, s->w_hh, s->b_ih, s->b_hh, 4 * net->cfg.rnn_hidden);
}

static void bilstm_carve(network *net, arena *a, size_t B, size_t S, bool train)
{
    size_t H = net->cfg.rnn_hidden;
    bilstm_state *s = bilstm_of(net);
    s->out = arena_floats(a, B * S * 2 * H);
    s->dout = arena_floats(a, train ? B * S * 2 * H : 0);
    s->cache = arena_floats(a, train ? lstm_cache_size(B, S, H) : 0);
    s->scratch = arena_floats(a, lstm_scratch_size(B, S, H, train));
    s->argmax = arena_alloc(a, B * 2 * H, sizeof(uint32_t));
    s->mask = arena_alloc(a, train ? B * 2 * H : 0, sizeof(uint8_t));
}

static void bilstm_init(network *net, rng *r)
{
    bilstm_state *s = bilstm_of(net);
    recurrent_init(net, s->w_ih, s->w_hh, s->b_ih, s->b_hh, r);
}

static void weights_of(const bilstm_state *s, lstm_weights w[2])
{
    for (size_t d = 0; d < 2; d++)
        w[d] = (lstm_weights){s->w_ih[d]->value, s->w_hh[d]->value, s->b_ih[d]->value, s->b_hh[d]->value};
}

static void bilstm_forward(network *net, const compute_context *cc, size_t B, size_t T, bool train, uint64_t seed)
{
    const network_config *c = &net->cfg;
    bilstm_state *s = bilstm_of(net);
    size_t H = c->rnn_hidden;
    lstm_weights w[2];
    weights_of(s, w);
    lstm_forward(cc, s->out, train ? s->cache : NULL, s->scratch, net->input, net->projected, net->lengths, w, B, T,
                 c->embed_dim, H);
    rnn_pool_forward(net->features_out, s->argmax, s->out, net->lengths, c->rnn_pool, B, T, 2 * H, H);
    if (train && c->rnn_dropout > 0.0f)
        dropout_forward(cc, net->features_out, s->mask, net->features_out, NULL, B, 2 * H, c->rnn_dropout,
                        dropout_layer_seed(seed, 2));
}

// Both directions' input projections side by side: [forward W_ih | backward W_ih] (8H, E), as lstm_forward reads a
// projected row (it adds the biases in its time loop).
static size_t bilstm_word_projection(const network *net, float *proj)
{
    const bilstm_state *s = bilstm_of(net);
    size_t E = net->cfg.embed_dim, H4 = 4 * net->cfg.rnn_hidden;
    for (size_t d = 0; d < 2 && proj; d++)
        memcpy(proj + d * H4 * E, s->w_ih[d]->value, H4 * E * sizeof(float));
    return 2 * H4;
}

// Each direction's gradients, those of frozen tensors NULL; whether any is wanted.
static bool grads_of(bilstm_state *s, const bool *frozen, lstm_grads g[2])
{
    bool any = false;
    for (size_t d = 0; d < 2; d++) {
        g[d] = (lstm_grads){grad_if_trains(s->w_ih[d], frozen), grad_if_trains(s->w_hh[d], frozen),
                            grad_if_trains(s->b_ih[d], frozen), grad_if_trains(s->b_hh[d], frozen)};
        any = any || g[d].w_ih || g[d].w_hh || g[d].b_ih || g[d].b_hh;
    }
    return any;
}

static bool bilstm_trains(const network *net, const bool *frozen)
{
    lstm_grads g[2];
    return grads_of(bilstm_of(net), frozen, g);
}

static void bilstm_backward(network *net, const compute_context *cc, size_t B, size_t T, const bool *frozen,
                            bool emb_trains)
{
    const network_config *c = &net->cfg;
    bilstm_state *s = bilstm_of(net);
    size_t H = c->rnn_hidden;
    lstm_grads g[2];
    if (!grads_of(s, frozen, g) && !emb_trains)
        return;
    if (c->rnn_dropout > 0.0f)
        dropout_backward(cc, net->dfeatures, net->dfeatures, s->mask, NULL, B, 2 * H, c->rnn_dropout);
    rnn_pool_backward(s->dout, net->dfeatures, s->argmax, net->lengths, c->rnn_pool, B, T, 2 * H, H);
    if (emb_trains)
        memset(net->demb, 0, B * T * c->embed_dim * sizeof(float));
    lstm_weights w[2];
    weights_of(s, w);
    lstm_backward(cc, emb_trains ? net->demb : NULL, g, s->dout, s->out, s->cache, s->scratch, net->input, net->lengths,
                  w, B, T, c->embed_dim, H);
}

/* The recurrent fields and the pooling. */
static void bilstm_config_to_json(const network_config *c, json_t *j)
{
    recurrent_config_to_json(c, j);
    rnn_pool_to_json(c, j);
}

static const char *bilstm_config_from_json(const json_t *j, network_config *c)
{
    const char *bad = recurrent_config_from_json(j, c);
    return bad ? bad : rnn_pool_from_json(j, c);
}

static const char *const bilstm_layers[] = {"lstm", NULL};

const encoder_ops encoder_bilstm_ops = {.name = "bilstm",
                                        .layers = bilstm_layers,
                                        .config_to_json = bilstm_config_to_json,
                                        .config_from_json = bilstm_config_from_json,
                                        .check = bilstm_check,
                                        .setup = bilstm_setup,
                                        .declare = bilstm_declare,
                                        .carve = bilstm_carve,
                                        .init = bilstm_init,
                                        .forward = bilstm_forward,
                                        .word_projection = bilstm_word_projection,
                                        .trains = bilstm_trains,
                                        .backward = bilstm_backward};
