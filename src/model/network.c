/* The network: embedding -> dropout -> encoder (encoder_cnn.c, encoder_bigru.c, encoder_onlstm.c,
 * encoder_ngram.c, encoder_bilstm.c) -> [fc1 -> ReLU or tanh] -> dropout -> [batch norm] -> out -> sigmoid/BCE or
 * softmax/CE. Parameters live in a param_set; every activation comes from one arena sized at creation, so a batch
 * allocates nothing. */
#include "model/network_internal.h"

#include "core/bounds.h"
#include "core/error.h"
#include "core/names.h"
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/dense.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The encoders, by encoder_kind: adding one is its own file (encoder_NAME.c, defining encoder_NAME_ops) and its
 * NAME at the end of this list. */
#define ENCODERS(X) X(cnn) X(bigru) X(onlstm) X(ngram) X(bilstm)

#define ENCODER_DECLARATION(name) extern const encoder_ops encoder_##name##_ops;
#define ENCODER_ENTRY(name) &encoder_##name##_ops,
ENCODERS(ENCODER_DECLARATION)
static const encoder_ops *const encoders[] = {ENCODERS(ENCODER_ENTRY)};

/* By kind. */
static const char *const head_names[] = {"sigmoid", "softmax"};
static const char *const activation_names[] = {"relu", "tanh"};
static const char *const rnn_pool_names[] = {"last", "max", "mean"};

NAMES_LOOKUP(head_kind, head)
NAMES_LOOKUP(activation_kind, activation)
NAMES_LOOKUP(rnn_pool_kind, rnn_pool)

static const encoder_ops *encoder_of(encoder_kind kind)
{
    return (size_t)kind < NAMES_COUNT(encoders) ? encoders[kind] : NULL;
}

bool encoder_parse(const char *name, encoder_kind *out)
{
    for (size_t i = 0; name && i < NAMES_COUNT(encoders); i++)
        if (!strcmp(encoders[i]->name, name)) {
            *out = (encoder_kind)i;
            return true;
        }
    return false;
}

const char *encoder_name(encoder_kind kind) { return encoder_of(kind) ? encoder_of(kind)->name : "unknown"; }

size_t encoder_names_list(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NAMES_COUNT(encoders) && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", encoders[i]->name);
    return used < size ? used : size - 1;
}

/* The network's own layers, beside its encoder's. */
static const char *const network_layers[] = {"embedding", "fc1", "bn", "out"};

int network_layer_index(const char *layer, size_t len)
{
    int index = 0;
    for (size_t i = 0; i < NAMES_COUNT(network_layers); i++, index++)
        if (len == strlen(network_layers[i]) && !strncmp(layer, network_layers[i], len))
            return index;
    for (size_t i = 0; i < NAMES_COUNT(encoders); i++)
        for (const char *const *l = encoders[i]->layers; l && *l; l++, index++)
            if (len == strlen(*l) && !strncmp(layer, *l, len))
                return index;
    return -1;
}

size_t encoder_layers_list(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NAMES_COUNT(network_layers) && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", network_layers[i]);
    for (size_t i = 0; i < NAMES_COUNT(encoders); i++)
        for (const char *const *l = encoders[i]->layers; l && *l && used < size; l++)
            used += (size_t)snprintf(buf + used, size - used, ", %s", *l);
    return used < size ? used : size - 1;
}

void encoder_config_to_json(const network_config *c, json_t *j)
{
    const encoder_ops *enc = encoder_of(c->encoder);
    if (enc && enc->config_to_json)
        enc->config_to_json(c, j);
}

const char *encoder_config_from_json(const json_t *j, network_config *c)
{
    const encoder_ops *enc = encoder_of(c->encoder);
    if (!enc)
        return "encoder";
    return enc->config_from_json ? enc->config_from_json(j, c) : NULL;
}

bool encoder_has_attention(const network_config *c)
{
    const encoder_ops *enc = encoder_of(c->encoder);
    return enc && enc->attention;
}

void recurrent_config_to_json(const network_config *c, json_t *j)
{
    json_object_set_new(j, "rnn_hidden", json_integer((json_int_t)c->rnn_hidden));
    json_object_set_new(j, "attention_dim", json_integer((json_int_t)c->attention_dim));
    json_object_set_new(j, "rnn_dropout", json_real(c->rnn_dropout));
}

const char *recurrent_config_from_json(const json_t *j, network_config *c)
{
    json_int_t hidden = 0, attention_dim = -1;
    double dropout = -1.0;
    json_unpack((json_t *)j, "{s?I, s?I, s?F}", "rnn_hidden", &hidden, "attention_dim", &attention_dim, "rnn_dropout",
                &dropout);
    if (hidden < 1 || hidden > BOUNDS_MAX_RNN)
        return "rnn_hidden";
    if (attention_dim < 0 || attention_dim > BOUNDS_MAX_RNN)
        return "attention_dim";
    if (!bounds_dropout_ok(dropout))
        return "rnn_dropout";
    c->rnn_hidden = (size_t)hidden, c->attention_dim = (size_t)attention_dim, c->rnn_dropout = (float)dropout;
    return NULL;
}

void recurrent_declare(network *net, const char *prefix, tensor *w_ih[2], tensor *w_hh[2], tensor *b_ih[2],
                       tensor *b_hh[2], size_t G)
{
    size_t E = net->cfg.embed_dim, H = net->cfg.rnn_hidden;
    char name[TENSOR_NAME_MAX];
    for (size_t d = 0; d < 2; d++) {
        const char *suffix = d ? "_reverse" : "";
        snprintf(name, sizeof name, "%s.weight_ih_l0%s", prefix, suffix);
        w_ih[d] = params_declare(&net->params, name, 2, (size_t[]){G, E});
        snprintf(name, sizeof name, "%s.weight_hh_l0%s", prefix, suffix);
        w_hh[d] = params_declare(&net->params, name, 2, (size_t[]){G, H});
        snprintf(name, sizeof name, "%s.bias_ih_l0%s", prefix, suffix);
        b_ih[d] = params_declare(&net->params, name, 1, (size_t[]){G});
        snprintf(name, sizeof name, "%s.bias_hh_l0%s", prefix, suffix);
        b_hh[d] = params_declare(&net->params, name, 1, (size_t[]){G});
    }
}

void recurrent_init(const network *net, tensor *const w_ih[2], tensor *const w_hh[2], tensor *const b_ih[2],
                    tensor *const b_hh[2], rng *r)
{
    float bound = 1.0f / sqrtf((float)net->cfg.rnn_hidden);
    for (size_t d = 0; d < 2; d++) {
        init_uniform(w_ih[d], r, bound);
        init_uniform(w_hh[d], r, bound);
        init_uniform(b_ih[d], r, bound);
        init_uniform(b_hh[d], r, bound);
    }
}

// Runs twice: on the unsized arena to count bytes, then on the allocated one to hand out pointers.
// Buffers only the backward pass or dropout use are carved in training mode only (NULL otherwise).
static void network_carve(network *net, arena *a)
{
    const network_config *c = &net->cfg;
    size_t B = net->batch_capacity, S = network_max_len(net);
    size_t E = c->embed_dim, D = net->features, H = c->hidden, C = c->n_classes;
    bool training = net->mode == NETWORK_TRAINING;
    size_t train = training; /* multiplies the sizes of training-only buffers */
    net->tokens = arena_alloc(a, B * S, sizeof(uint32_t));
    net->lengths = arena_alloc(a, B, sizeof(size_t));
    net->emb_valid = arena_alloc(a, B, sizeof(size_t));
    net->emb = arena_floats(a, B * S * E);
    net->demb = arena_floats(a, train * B * S * E);
    net->emb_mask = arena_alloc(a, train * B * S * E, sizeof(uint8_t));
    net->enc->carve(net, a, B, S, training);
    net->features_out = arena_floats(a, B * D);
    net->dfeatures = arena_floats(a, train * B * D);
    net->hidden = arena_floats(a, B * H);
    net->dhidden = arena_floats(a, train * B * H);
    net->hidden_drop = arena_floats(a, (c->hidden_dropout > 0.0f) * train * B * H); /* only with dropout */
    size_t bn = c->hidden_batchnorm;
    net->normed = arena_floats(a, bn * B * H);
    net->bn_xhat = arena_floats(a, bn * train * B * H);
    net->bn_inv_std = arena_floats(a, bn * train * H);
    net->bn_sums = arena_alloc(a, bn * train * 2 * H, sizeof(double));
    net->head_mask = arena_alloc(a, train * B * (H > D ? H : D), sizeof(uint8_t));
    net->logits = arena_floats(a, B * C);
    net->probs = arena_floats(a, B * C);
    net->dlogits = arena_floats(a, train * B * C);
    net->emb_scratch = arena_alloc(a, train * embedding_scratch_size(B, S, c->vocab_size), sizeof(uint32_t));
}

// (Re)allocates the network's own activation arena for the current mode.
static hftc_status network_allocate_activations(network *net)
{
    arena_free(&net->own_acts);
    net->acts = &net->own_acts;
    network_carve(net, &net->own_acts);
    TRY(arena_init(&net->own_acts, net->own_acts.used));
    network_carve(net, &net->own_acts);
    return HFTC_STATUS_OK;
}

size_t network_activation_bytes(const network *net)
{
    arena plan = {0};
    network copy = *net; /* planning hands out NULL pointers: carve a copy */
    network_carve(&copy, &plan);
    return plan.used;
}

hftc_status network_share_activations(network *net, arena *shared)
{
    if (net->mode != NETWORK_INFERENCE || !shared->base || shared->size < network_activation_bytes(net))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: cannot share an activation arena of %zu bytes",
                         shared->size);
    arena_free(&net->own_acts);
    net->acts = shared;
    arena view = *shared;
    view.used = 0;
    network_carve(net, &view);
    return HFTC_STATUS_OK;
}

static hftc_status network_check_config(const network_config *c, size_t batch_capacity, size_t length_capacity)
{
    const encoder_ops *enc = encoder_of(c->encoder);
    if (!enc)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: unknown encoder %d", (int)c->encoder);
    if (c->head != HEAD_SIGMOID && c->head != HEAD_SOFTMAX)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: unknown head %d", (int)c->head);
    if (c->vocab_size < 2 || c->vocab_size > UINT32_MAX)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: vocabulary size %zu out of range", c->vocab_size);
    if (c->embed_dim == 0 || c->n_classes == 0)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: embedding size and classes must be > 0");
    if (!(c->embed_dropout >= 0.0f && c->embed_dropout < 1.0f) ||
        !(c->hidden_dropout >= 0.0f && c->hidden_dropout < 1.0f))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: dropout rates must be in [0, 1)");
    if (c->hidden_activation != ACTIVATION_RELU && c->hidden_activation != ACTIVATION_TANH)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: unknown hidden activation %d",
                         (int)c->hidden_activation);
    if (c->hidden_batchnorm && !c->hidden)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch normalisation needs a hidden layer");
    if (batch_capacity == 0 || length_capacity == 0)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch size and maximum length must be > 0");
    // Positions are stored as 32-bit indices, and no size computation may overflow: sizes far beyond any
    // machine's memory are refused here rather than failing in arithmetic later.
    double positions = (double)batch_capacity * (double)(length_capacity + 64), E = (double)c->embed_dim;
    if (positions > (double)UINT32_MAX || positions * E > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x length %zu x dimension %zu too large",
                         batch_capacity, length_capacity, c->embed_dim);
    if ((double)c->vocab_size * E > 1e11 || (double)c->hidden * (double)c->n_classes > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: too many parameters");
    return enc->check(c, batch_capacity, length_capacity);
}

static hftc_status network_declare(network *net)
{
    const network_config *c = &net->cfg;
    param_set *ps = &net->params;
    size_t D = net->features, H = c->hidden;
    if (c->borrowed_embedding) {
        net->borrowed = (tensor){.name = "embedding.weight", .ndim = 2, .shape = {c->vocab_size, c->embed_dim}};
        net->borrowed.size = c->vocab_size * c->embed_dim;
        net->embedding = &net->borrowed;
    } else {
        net->embedding = params_declare(ps, "embedding.weight", 2, (size_t[]){c->vocab_size, c->embed_dim});
        tensor_set_row_sparse(net->embedding, net->batch_capacity * network_max_len(net));
    }
    net->enc->declare(net);
    if (H) {
        net->fc1_w = params_declare(ps, "fc1.weight", 2, (size_t[]){H, D});
        net->fc1_b = params_declare(ps, "fc1.bias", 1, (size_t[]){H});
    }
    if (c->hidden_batchnorm) { /* torch.nn.BatchNorm1d's names */
        net->bn_w = params_declare(ps, "bn.weight", 1, (size_t[]){H});
        net->bn_b = params_declare(ps, "bn.bias", 1, (size_t[]){H});
        net->bn_mean = params_declare(ps, "bn.running_mean", 1, (size_t[]){H});
        net->bn_var = params_declare(ps, "bn.running_var", 1, (size_t[]){H});
        net->bn_mean->buffer = net->bn_var->buffer = true;
    }
    net->out_w = params_declare(ps, "out.weight", 2, (size_t[]){c->n_classes, H ? H : D});
    net->out_b = params_declare(ps, "out.bias", 1, (size_t[]){c->n_classes});
    return params_allocate(ps);
}

hftc_status network_create(network **out, const network_config *cfg, size_t batch_capacity, size_t length_capacity,
                           network_mode mode)
{
    *out = NULL;
    TRY(network_check_config(cfg, batch_capacity, length_capacity));
    network *net = mem_calloc(1, sizeof *net);
    if (!net)
        return HFTC_STATUS_OUT_OF_MEMORY;
    net->cfg = *cfg;
    net->batch_capacity = batch_capacity;
    net->length_capacity = length_capacity;
    net->enc = encoder_of(cfg->encoder);
    net->enc->setup(net);
    net->mode = NETWORK_INFERENCE;
    hftc_status st = network_declare(net);
    if (st == HFTC_STATUS_OK && mode != NETWORK_INFERENCE_SHARED)
        st = network_set_mode(net, mode); /* no activations yet: allocates even for inference */
    if (st != HFTC_STATUS_OK) {
        network_free(net);
        return st;
    }
    *out = net;
    return HFTC_STATUS_OK;
}

hftc_status network_set_mode(network *net, network_mode mode)
{
    if (mode == NETWORK_INFERENCE_SHARED)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: NETWORK_INFERENCE_SHARED is a creation mode");
    if (mode == net->mode && net->acts && net->acts->base)
        return HFTC_STATUS_OK;
    network_drop_inference_caches(net); /* the values may change from here on */
    if (mode == NETWORK_TRAINING) {
        TRY(params_allocate_training(&net->params));
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
    arena_free(&net->own_acts);
    network_drop_inference_caches(net);
    free(net);
}

const network_config *network_get_config(const network *net) { return &net->cfg; }

param_set *network_params(network *net) { return &net->params; }

const float *network_embedding(const network *net) { return net->embedding->value; }

void init_uniform(tensor *t, rng *r, float bound)
{
    for (size_t i = 0; i < t->size; i++)
        t->value[i] = rng_uniform(r, -bound, bound);
}

void network_borrow_embedding(network *net, const float *table)
{
    net->borrowed.value = (float *)table; /* never written: a borrowed embedding does not train */
    network_drop_inference_caches(net);   /* the word cache's rows were another table's */
}

void network_init(network *net, rng *r)
{
    const network_config *c = &net->cfg;
    if (!c->borrowed_embedding) {
        init_uniform(net->embedding, r, 0.25f);
        memset(net->embedding->value, 0, c->embed_dim * sizeof(float));
    }
    net->enc->init(net, r);
    // PyTorch's nn.Linear: weights (kaiming_uniform, a = sqrt(5)) and biases uniform(-1/sqrt(fan_in), ..).
    if (c->hidden) {
        float bound = 1.0f / sqrtf((float)net->features);
        init_uniform(net->fc1_w, r, bound);
        init_uniform(net->fc1_b, r, bound);
    }
    if (c->hidden_batchnorm)
        for (size_t j = 0; j < c->hidden; j++) {
            net->bn_w->value[j] = net->bn_var->value[j] = 1.0f;
            net->bn_b->value[j] = net->bn_mean->value[j] = 0.0f;
        }
    float bound = 1.0f / sqrtf((float)(c->hidden ? c->hidden : net->features));
    init_uniform(net->out_w, r, bound);
    init_uniform(net->out_b, r, bound);
}

// T may exceed length_capacity up to the largest window: callers that pad short batches to one full window
// need that much, and the arena has the room.
static bool network_check_batch(const network *net, size_t B, size_t T)
{
    size_t max_T = network_max_len(net);
    if (!net->acts || !net->acts->base) {
        error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: no activations (a shared arena was never given)");
        return false;
    }
    if (B == 0 || B > net->batch_capacity || T == 0 || T > max_T) {
        error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x %zu outside 1..%zu x 1..%zu", B, T,
                  net->batch_capacity, max_T);
        return false;
    }
    return true;
}

// The batch's ids into net->tokens at the row stride T' it returns (at least the network's minimum
// length), lengths clamped to T into net->lengths.
static size_t network_take_tokens(network *net, const uint32_t *tokens, const size_t *lengths, size_t B, size_t T)
{
    const network_config *c = &net->cfg;
    size_t E = c->embed_dim, Tp = T > net->min_len ? T : net->min_len;
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
    return Tp;
}

// The embedding lookup into net->emb (with dropout when training); returns the row stride T' used for
// the documents, at least the network's minimum length.
static size_t network_embed(network *net, const compute_context *cc, const uint32_t *tokens, const size_t *lengths,
                            size_t B, size_t T, bool train, uint64_t seed)
{
    const network_config *c = &net->cfg;
    size_t E = c->embed_dim, Tp = network_take_tokens(net, tokens, lengths, B, T);
    embedding_forward(cc, net->emb, net->tokens, net->lengths, net->embedding->value, B, Tp, E);
    if (train && c->embed_dropout > 0.0f)
        dropout_forward(cc, net->emb, net->emb_mask, net->emb, net->emb_valid, B, Tp * E, c->embed_dropout,
                        dropout_layer_seed(seed, 0));
    return Tp;
}

// Encoder and head from the embedded batch input (B, T, E) to net->logits; lengths in net->lengths.
static void network_encode(network *net, const compute_context *cc, const float *input, size_t B, size_t T, bool train,
                           uint64_t seed)
{
    const network_config *c = &net->cfg;
    size_t D = net->features, H = c->hidden;
    net->input = input;
    net->enc->forward(net, cc, B, T, train, seed);
    float *head_in = net->features_out;
    size_t head_dim = D;
    if (H) {
        network_head_dense(cc, net, net->hidden, net->features_out, &net->fc1_t, net->fc1_w, net->fc1_b, B, D, H);
        if (c->hidden_activation == ACTIVATION_TANH)
            tanh_forward(cc, net->hidden, net->hidden, B * H);
        else
            relu_forward(cc, net->hidden, net->hidden, B * H);
        head_in = net->hidden;
        head_dim = H;
    }
    // In place on the pooled features; after a hidden layer into a buffer of its own, since tanh's
    // backward reads its output.
    if (train && c->hidden_dropout > 0.0f) {
        float *dropped = H ? net->hidden_drop : head_in;
        dropout_forward(cc, dropped, net->head_mask, head_in, NULL, B, head_dim, c->hidden_dropout,
                        dropout_layer_seed(seed, 1));
        head_in = dropped;
    }
    if (c->hidden_batchnorm) {
        if (train)
            batchnorm_forward_train(cc, net->normed, net->bn_xhat, net->bn_inv_std, net->bn_mean->value,
                                    net->bn_var->value, head_in, net->bn_w->value, net->bn_b->value, B, H,
                                    net->bn_sums);
        else
            batchnorm_forward_infer(net->normed, head_in, net->bn_w->value, net->bn_b->value, net->bn_mean->value,
                                    net->bn_var->value, B, H);
        head_in = net->normed;
    }
    net->head_in = head_in;
    network_head_dense(cc, net, net->logits, head_in, &net->out_t, net->out_w, net->out_b, B, head_dim, c->n_classes);
}

// The loss, a mean over the batch: a data-parallel share's over the whole batch's documents.
static float network_loss(network *net, const compute_context *cc, size_t B, const float *targets,
                          const float *pos_weight, float *dlogits)
{
    const network_config *c = &net->cfg;
    size_t B_mean = cc->share ? cc->share->total : B;
    if (c->head == HEAD_SOFTMAX)
        return loss_softmax_ce(cc, net->probs, dlogits, net->logits, targets, B, c->n_classes, B_mean);
    return loss_sigmoid_bce(cc, net->probs, dlogits, net->logits, targets, pos_weight, B, c->n_classes, B_mean);
}

// A row-sparse gradient has room for the rows of one batch (nn/params.h): a batch of the given positions whose rows
// might not fit beside the rows of earlier batches not yet consumed is refused before anything changes.
static bool network_check_gradient_room(const network *net, size_t positions)
{
    for (size_t i = 0; i < net->params.n_tensors; i++) {
        const tensor *t = &net->params.tensors[i];
        if (t->row_sparse && t->grad_rows < t->shape[0] && t->n_touched + positions > t->grad_rows) {
            error_set(HFTC_STATUS_INVALID_ARGUMENT,
                      "network: %s: the gradient holds %zu rows of earlier batches, no room for %zu positions more "
                      "(an optimiser step or params_zero_grad consumes it)",
                      t->name, t->n_touched, positions);
            return false;
        }
    }
    return true;
}

// Whether the backward pass goes below the output layer: some tensor below it still trains.
static bool network_head_input_trains(const network *net, const bool *frozen)
{
    const network_config *c = &net->cfg;
    bool emb_trains = !c->borrowed_embedding && tensor_trains(net->embedding, frozen);
    bool fc1_trains = c->hidden && (tensor_trains(net->fc1_w, frozen) || tensor_trains(net->fc1_b, frozen));
    bool bn_trains = c->hidden_batchnorm && (tensor_trains(net->bn_w, frozen) || tensor_trains(net->bn_b, frozen));
    return emb_trains || net->enc->trains(net, frozen) || fc1_trains || bn_trains;
}

// An empty data-parallel share (a batch of fewer documents than processes) computes nothing, yet takes part in
// batch norm's sums over the shares, as the others' passes expect.
static float network_train_empty_share(network *net, const compute_context *cc, const bool *frozen)
{
    const network_config *c = &net->cfg;
    if (net->mode != NETWORK_TRAINING || !c->hidden_batchnorm)
        return 0.0f;
    batchnorm_forward_train(cc, net->normed, net->bn_xhat, net->bn_inv_std, net->bn_mean->value, net->bn_var->value,
                            net->hidden, net->bn_w->value, net->bn_b->value, 0, c->hidden, net->bn_sums);
    if (network_head_input_trains(net, frozen))
        batchnorm_backward(cc, net->dhidden, grad_if_trains(net->bn_w, frozen), grad_if_trains(net->bn_b, frozen),
                           net->dhidden, net->bn_xhat, net->bn_inv_std, net->bn_w->value, 0, c->hidden, net->bn_sums);
    return 0.0f;
}

float network_train_batch(network *net, const compute_context *cc, const uint32_t *tokens, const size_t *lengths,
                          size_t B, size_t T, const float *targets, const float *pos_weight, const bool *frozen,
                          uint64_t dropout_seed)
{
    if (B == 0 && cc->share)
        return network_train_empty_share(net, cc, frozen);
    if (!network_check_batch(net, B, T) || !network_check_gradient_room(net, B * (T > net->min_len ? T : net->min_len)))
        return NAN;
    if (net->mode != NETWORK_TRAINING) {
        error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: training an inference-only network");
        return NAN;
    }
    const network_config *c = &net->cfg;
    size_t E = c->embed_dim, D = net->features, H = c->hidden, C = c->n_classes;
    size_t Tp = network_embed(net, cc, tokens, lengths, B, T, true, dropout_seed);
    network_encode(net, cc, net->emb, B, Tp, true, dropout_seed);
    float loss = network_loss(net, cc, B, targets, pos_weight, net->dlogits);

    // Gradients flow down only as far as some tensor below still trains.
    bool emb_trains = !c->borrowed_embedding && tensor_trains(net->embedding, frozen);
    bool need_dfeatures = emb_trains || net->enc->trains(net, frozen);
    bool need_dhead = network_head_input_trains(net, frozen);

    float *dhead = H ? net->dhidden : net->dfeatures;
    size_t head_dim = H ? H : D;
    if (need_dhead)
        memset(dhead, 0, B * head_dim * sizeof(float));
    dense_backward(cc, need_dhead ? dhead : NULL, grad_if_trains(net->out_w, frozen),
                   grad_if_trains(net->out_b, frozen), net->dlogits, net->head_in, net->out_w->value, B, head_dim, C);
    if (!need_dhead)
        return loss;
    if (c->hidden_batchnorm)
        batchnorm_backward(cc, dhead, grad_if_trains(net->bn_w, frozen), grad_if_trains(net->bn_b, frozen), dhead,
                           net->bn_xhat, net->bn_inv_std, net->bn_w->value, B, H, net->bn_sums);
    if (c->hidden_dropout > 0.0f)
        dropout_backward(cc, dhead, dhead, net->head_mask, NULL, B, head_dim, c->hidden_dropout);
    if (H) {
        if (c->hidden_activation == ACTIVATION_TANH)
            tanh_backward(cc, net->dhidden, net->dhidden, net->hidden, B * H);
        else
            relu_backward(cc, net->dhidden, net->dhidden, net->hidden, B * H);
        if (need_dfeatures)
            memset(net->dfeatures, 0, B * D * sizeof(float));
        dense_backward(cc, need_dfeatures ? net->dfeatures : NULL, grad_if_trains(net->fc1_w, frozen),
                       grad_if_trains(net->fc1_b, frozen), net->dhidden, net->features_out, net->fc1_w->value, B, D, H);
    }
    if (!need_dfeatures)
        return loss;
    net->enc->backward(net, cc, B, Tp, frozen, emb_trains);
    if (!emb_trains)
        return loss;
    if (c->embed_dropout > 0.0f)
        dropout_backward(cc, net->demb, net->demb, net->emb_mask, net->emb_valid, B, Tp * E, c->embed_dropout);
    embedding_backward(cc, net->embedding->grad, net->embedding->touched_rows, &net->embedding->n_touched,
                       net->emb_scratch, net->demb, net->tokens, net->lengths, B, Tp, E, c->vocab_size);
    return loss;
}

// A borrowed embedding must have been given its table.
static bool network_check_embedding(const network *net)
{
    if (!net->embedding->value) {
        error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: borrowed embedding without a table");
        return false;
    }
    return true;
}

float network_predict(network *net, const compute_context *cc, const uint32_t *tokens, const size_t *lengths, size_t B,
                      size_t T, const float *targets, const float *pos_weight, float *probs)
{
    if (!network_check_batch(net, B, T) || !network_check_embedding(net))
        return NAN;
    if (net->word_cache) {
        size_t Tp = network_take_tokens(net, tokens, lengths, B, T);
        net->projected = word_cache_rows(net->word_cache, cc, net->tokens, net->lengths, B, Tp);
        network_encode(net, cc, NULL, B, Tp, false, 0);
        net->projected = NULL;
    } else {
        size_t Tp = network_embed(net, cc, tokens, lengths, B, T, false, 0);
        network_encode(net, cc, net->emb, B, Tp, false, 0);
    }
    float loss = network_loss(net, cc, B, targets, pos_weight, NULL);
    memcpy(probs, net->probs, B * net->cfg.n_classes * sizeof(float));
    return loss;
}

const float *network_attention(const network *net, size_t *T)
{
    return net->enc->attention ? net->enc->attention(net, T) : NULL;
}

size_t network_embed_batch(network *net, const compute_context *cc, const uint32_t *tokens, const size_t *lengths,
                           size_t B, size_t T, const float **embedded, const size_t **clamped)
{
    if (!network_check_batch(net, B, T) || !network_check_embedding(net))
        return 0;
    size_t Tp = network_embed(net, cc, tokens, lengths, B, T, false, 0);
    *embedded = net->emb;
    *clamped = net->lengths;
    return Tp;
}

bool network_reads_tokens(const network *net) { return net->enc->reads_tokens; }

bool network_threads_pay_alone(const network *net)
{
    return net->enc->threads_pay_alone && net->enc->threads_pay_alone(net);
}

hftc_status network_predict_embedded(network *net, const compute_context *cc, const float *embedded,
                                     const size_t *lengths, size_t B, size_t T, float *probs)
{
    if (net->enc->reads_tokens)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: the %s encoder reads the token ids, not an embedding",
                         net->enc->name);
    if (!network_check_batch(net, B, T) || T < net->min_len)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: batch %zu x %zu out of range", B, T);
    for (size_t b = 0; b < B; b++)
        net->lengths[b] = lengths[b] < T ? lengths[b] : T;
    network_encode(net, cc, embedded, B, T, false, 0);
    network_loss(net, cc, B, NULL, NULL, NULL);
    memcpy(probs, net->probs, B * net->cfg.n_classes * sizeof(float));
    return HFTC_STATUS_OK;
}
