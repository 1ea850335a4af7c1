/* Finite-difference gradient checks (tests/gradcheck.h) for the bidirectional LSTM (src/nn/lstm.c) and the whole
 * bilstm network (src/model/encoder_bilstm.c) with each pooling (rnn_pool.c: final states, max, mean), the MLP head
 * (fc1 -> tanh -> dropout -> batch norm -> out) with softmax cross-entropy or a sigmoid head, dropout masks
 * reproduced in the reference. The double-precision reference is written here from the equations of nn/lstm.h
 * (torch.nn.LSTM's); the layer's loss is L = sum(out * R). Padding is checked both ways: rows past a document's
 * length hold garbage the reference never reads, so a gradient leaking into them fails, and changing them must
 * change nothing. Results do not depend on the thread count (directions and slices of the batch). */
#include "core/compute.h"
#include "gradcheck.h"
#include "grads.h"
#include "model/network.h"
#include "nn/lstm.h"

enum { B = 4, T = 6, E = 3, H = 3, N = B * T * 2 * H };

// The 8 LSTM tensors; direction d at p[4 * d + k].
static const char *const names[8] = {
    "lstm.weight_ih_l0",         "lstm.weight_hh_l0",         "lstm.bias_ih_l0",         "lstm.bias_hh_l0",
    "lstm.weight_ih_l0_reverse", "lstm.weight_hh_l0_reverse", "lstm.bias_ih_l0_reverse", "lstm.bias_hh_l0_reverse"};

static size_t tensor_size(size_t k)
{
    const size_t sizes[4] = {4 * H * E, 4 * H * H, 4 * H, 4 * H};
    return sizes[k % 4];
}

// torch.nn.LSTM(E, H, bidirectional=True, batch_first=True) on packed input: out (B, T, 2H), zero past each length;
// x rows past a length are never read.
static void ref_lstm(double *out, const double *x, const size_t *lengths, double *const p[8])
{
    for (size_t i = 0; i < N; i++)
        out[i] = 0.0;
    for (size_t b = 0; b < B; b++)
        for (size_t d = 0; d < 2; d++) {
            const double *w_ih = p[4 * d], *w_hh = p[4 * d + 1], *b_ih = p[4 * d + 2], *b_hh = p[4 * d + 3];
            double h[H] = {0}, c[H] = {0}, a[4 * H];
            for (size_t step = 0; step < lengths[b]; step++) {
                size_t t = d ? lengths[b] - 1 - step : step;
                for (size_t k = 0; k < 4 * H; k++)
                    a[k] = b_ih[k] + dot(w_ih + k * E, x + (b * T + t) * E, E) + b_hh[k] + dot(w_hh + k * H, h, H);
                for (size_t j = 0; j < H; j++) {
                    double i = ref_sigmoid(a[j]), f = ref_sigmoid(a[H + j]), g = tanh(a[2 * H + j]);
                    double o = ref_sigmoid(a[3 * H + j]);
                    c[j] = f * c[j] + i * g;
                    h[j] = o * tanh(c[j]);
                    out[(b * T + t) * 2 * H + d * H + j] = h[j];
                }
            }
        }
}

typedef struct {
    const size_t *lengths;
    double *x, *p[8], *out, *r;
} lstm_ctx;

static double lstm_loss(const void *ctx)
{
    const lstm_ctx *c = ctx;
    ref_lstm(c->out, c->x, c->lengths, c->p);
    return dot(c->out, c->r, N);
}

// One training forward and backward at cc's thread count, gradients from zero.
static void lstm_run(const compute_context *cc, float *out, float *dinp, float *const g[8], const float *x,
                     const size_t *lengths, const lstm_weights w[2], const float *dout)
{
    float *cache = malloc(lstm_cache_size(B, T, H) * sizeof(float));
    float *scratch = malloc(lstm_scratch_size(B, T, H, true) * sizeof(float));
    lstm_forward(cc, out, cache, scratch, x, NULL, lengths, w, B, T, E, H);
    memset(dinp, 0, B * T * E * sizeof(float));
    for (size_t k = 0; k < 8; k++)
        memset(g[k], 0, tensor_size(k) * sizeof(float));
    lstm_grads grads[2] = {{g[0], g[1], g[2], g[3]}, {g[4], g[5], g[6], g[7]}};
    lstm_backward(cc, dinp, grads, dout, out, cache, scratch, x, lengths, w, B, T, E, H);
    free(cache), free(scratch);
}

static void test_lstm(void)
{
    // Padded, full, empty and one-word documents; the full one not first, so that slices of the batch differ in
    // their longest document, and the backward direction of the padded ones starts inside the batch's T.
    size_t lengths[B] = {4, 6, 0, 1};
    rng r;
    rng_seed(&r, 41, 0);
    float *x = random_floats(&r, B * T * E, -1, 1), *R = random_floats(&r, N, -1, 1), *p[8];
    fill_padding(x, lengths, &r, B, T, E);
    lstm_ctx c = {.lengths = lengths, .x = to_double(x, B * T * E), .r = to_double(R, N)};
    for (size_t k = 0; k < 8; k++) {
        p[k] = random_floats(&r, tensor_size(k), -0.9f, 0.9f);
        c.p[k] = to_double(p[k], tensor_size(k));
    }
    lstm_weights w[2] = {{p[0], p[1], p[2], p[3]}, {p[4], p[5], p[6], p[7]}};
    double ref[N];
    c.out = ref;
    lstm_loss(&c);

    // Inference forward (no cache, the smaller scratch) and training forward agree; zeros past lengths.
    float out[N], out_train[N];
    float *cache = malloc(lstm_cache_size(B, T, H) * sizeof(float));
    float *scratch_inf = malloc(lstm_scratch_size(B, T, H, false) * sizeof(float));
    float *scratch = malloc(lstm_scratch_size(B, T, H, true) * sizeof(float));
    lstm_forward(test_compute, out, NULL, scratch_inf, x, NULL, lengths, w, B, T, E, H);
    check_forward("lstm forward", out, ref, N, 1e-5);
    CHECK(padding_is(out, lengths, 0.0f, B, T, 2 * H));
    lstm_forward(test_compute, out_train, cache, scratch, x, NULL, lengths, w, B, T, E, H);
    CHECK(memcmp(out, out_train, sizeof out) == 0);

    // Backward adds: every gradient starts at 0.5; padded input rows must keep it exactly.
    float dinp[B * T * E], *g[8];
    for (size_t i = 0; i < B * T * E; i++)
        dinp[i] = 0.5f;
    for (size_t k = 0; k < 8; k++) {
        g[k] = malloc(tensor_size(k) * sizeof(float));
        for (size_t i = 0; i < tensor_size(k); i++)
            g[k][i] = 0.5f;
    }
    lstm_grads grads[2] = {{g[0], g[1], g[2], g[3]}, {g[4], g[5], g[6], g[7]}};
    lstm_backward(test_compute, dinp, grads, R, out_train, cache, scratch, x, lengths, w, B, T, E, H);
    CHECK(padding_is(dinp, lengths, 0.5f, B, T, E));
    for (size_t i = 0; i < B * T * E; i++)
        dinp[i] -= 0.5f;
    for (size_t k = 0; k < 8; k++)
        for (size_t i = 0; i < tensor_size(k); i++)
            g[k][i] -= 0.5f;
    check_gradient("lstm.dinp", c.x, B * T * E, dinp, lstm_loss, &c);
    for (size_t k = 0; k < 8; k++)
        check_gradient(names[k], c.p[k], tensor_size(k), g[k], lstm_loss, &c);

    // Gradients given as NULL are skipped without changing the others; dinp may be NULL too.
    float out1[N], dinp1[B * T * E], dinp_only[B * T * E], *g1[8];
    for (size_t k = 0; k < 8; k++)
        g1[k] = malloc(tensor_size(k) * sizeof(float));
    lstm_run(test_compute, out1, dinp1, g1, x, lengths, w, R);
    lstm_grads none[2] = {{NULL, NULL, NULL, NULL}, {NULL, NULL, NULL, NULL}};
    memset(dinp_only, 0, sizeof dinp_only);
    lstm_backward(test_compute, dinp_only, none, R, out_train, cache, scratch, x, lengths, w, B, T, E, H);
    CHECK(memcmp(dinp_only, dinp1, sizeof dinp1) == 0);
    float *only_whh = calloc(tensor_size(5), sizeof(float));
    lstm_grads one[2] = {{NULL, NULL, NULL, NULL}, {NULL, only_whh, NULL, NULL}};
    lstm_backward(test_compute, NULL, one, R, out_train, cache, scratch, x, lengths, w, B, T, E, H);
    CHECK(memcmp(only_whh, g1[5], tensor_size(5) * sizeof(float)) == 0);

    // Other padding garbage changes nothing; the thread counts 1, 2 (a slice per direction), 4 and 6 (2 and 3
    // slices) agree with the serial run.
    float x2[B * T * E];
    memcpy(x2, x, sizeof x2);
    fill_padding(x2, lengths, &r, B, T, E);
    const int counts[5] = {1, 2, 4, 6, 1};
    float out_t[5][N], dinp_t[5][B * T * E], *g_t[5][8];
    for (size_t i = 0; i < 5; i++) {
        for (size_t k = 0; k < 8; k++)
            g_t[i][k] = malloc(tensor_size(k) * sizeof(float));
        lstm_run(&(compute_context){counts[i]}, out_t[i], dinp_t[i], g_t[i], i < 4 ? x : x2, lengths, w, R);
    }
    for (size_t i = 1; i < 5; i++) {
        bool same = memcmp(out_t[i], out_t[0], sizeof out_t[0]) == 0;
        double worst = 0.0;
        for (size_t j = 0; j < B * T * E; j++)
            worst = fmax(worst, fabs(dinp_t[i][j] - dinp_t[0][j]));
        for (size_t k = 0; k < 8; k++)
            for (size_t j = 0; j < tensor_size(k); j++)
                worst = fmax(worst, fabs(g_t[i][k][j] - g_t[0][k][j]));
        CHECK_MSG(same && worst <= 1e-6, "lstm run %zu (%s): outputs %s, gradients differ by %g", i,
                  i < 4 ? "threads" : "other padding", same ? "equal" : "differ", worst);
        for (size_t k = 0; k < 8; k++)
            free(g_t[i][k]);
    }
    for (size_t k = 0; k < 8; k++)
        free(g_t[0][k]), free(g[k]), free(g1[k]), free(p[k]), free(c.p[k]);
    free(only_whh), free(x), free(R), free(c.x), free(c.r), free(cache), free(scratch_inf), free(scratch);
}

/* ---- the whole bilstm network ---- */

typedef struct {
    const network_config *cfg;
    const uint32_t *tokens;
    const size_t *lengths;
    const uint8_t *emb_mask, *rnn_mask; /* NULL: no dropout */
    double *emb, *p[8];
    ref_head head;
} net_ctx;

static double net_loss(const void *ctx)
{
    const net_ctx *c = ctx;
    const network_config *cfg = c->cfg;
    double x[B * T * E], s[N], features[B * 2 * H];
    ref_embedding(x, c->tokens, c->lengths, c->emb, B, T, E);
    ref_dropout(x, c->emb_mask, B * T * E, cfg->embed_dropout);
    ref_lstm(s, x, c->lengths, c->p);
    ref_rnn_pool(features, s, c->lengths, cfg->rnn_pool, B, T, 2 * H, H);
    ref_dropout(features, c->rnn_mask, B * 2 * H, cfg->rnn_dropout);
    return ref_network_head(cfg, &c->head, features, B, 2 * H);
}

static void check_network(const network_config *cfg, const char *label)
{
    const uint64_t seed = 95;
    // Padded, full, empty and one-word documents; garbage past the lengths, an id outside the vocabulary.
    uint32_t tokens[B * T] = {2, 5, 7, 3, 99, 99, 4, 6, 1, 8, 2, 30, 5, 5, 5, 5, 5, 5, 9, 7, 7, 7, 7, 7};
    size_t lengths[B] = {4, 6, 0, 1};
    float targets[B * 3], pos_weight[3];
    network_check_targets(targets, pos_weight, cfg->head);
    const float *pw = cfg->head == HEAD_SIGMOID ? pos_weight : NULL;
    network *net = network_check_create(cfg, B, T, 9);
    if (!net)
        return;
    param_set *ps = network_params(net);
    // The LSTM's weights back to twice their initialisation: three times saturates its gates, and batch norm's
    // cancelling sums over the batch then leave some gradients at float32's rounding.
    for (size_t i = 0; i < ps->n_tensors; i++)
        for (size_t j = 0; j < ps->tensors[i].size && strncmp(ps->tensors[i].name, "lstm.", 5) == 0; j++)
            ps->tensors[i].value[j] *= 2.0f / 3.0f;
    tensor *bn_mean = params_find(ps, "bn.running_mean"), *bn_var = params_find(ps, "bn.running_var");
    rng r;
    rng_seed(&r, 10, 0);
    // Running statistics away from (0, 1) so that inference shows using them.
    for (size_t j = 0; bn_mean && bn_var && j < cfg->hidden; j++)
        bn_mean->value[j] = rng_uniform(&r, -0.5f, 0.5f), bn_var->value[j] = rng_uniform(&r, 0.2f, 2.0f);
    net_ctx c = {.cfg = cfg, .lengths = lengths, .head = {.targets = targets, .pos_weight = pw}};
    uint32_t ref_tokens[B * T];
    ref_token_ids(ref_tokens, tokens, B * T, cfg->vocab_size);
    c.tokens = ref_tokens;
    tensor *t_emb, *t_p[8], *t_head[6];
    c.emb = tensor_double(ps, "embedding.weight", &t_emb);
    bool found = ref_head_load(&c.head, t_head, ps, cfg) && t_emb && (!cfg->hidden_batchnorm || (bn_mean && bn_var));
    for (size_t k = 0; k < 8; k++) {
        c.p[k] = tensor_double(ps, names[k], &t_p[k]);
        found = found && t_p[k];
    }
    CHECK_MSG(found, "%s: a tensor is missing", label);
    CHECK(!found || (t_p[0]->shape[0] == 4 * H && t_p[0]->shape[1] == E && t_p[5]->shape[1] == H));
    if (!found) {
        network_free(net);
        return;
    }
    // Inference: no dropout, the running statistics (copied: training changes them).
    float mean0[8] = {0}, var0[8] = {0};
    if (cfg->hidden_batchnorm) {
        memcpy(mean0, bn_mean->value, cfg->hidden * sizeof(float));
        memcpy(var0, bn_var->value, cfg->hidden * sizeof(float));
    }
    c.head.bn_mean = mean0, c.head.bn_var = var0;
    check_network_predict(label, net, cfg, tokens, lengths, B, T, &c.head, net_loss, &c);

    // Training pass with dropout drawn from seed (the reference uses the same masks), batch statistics.
    size_t head_dim = cfg->hidden ? cfg->hidden : 2 * H;
    c.emb_mask = network_mask(0, seed, lengths, B, T * E, E, cfg->embed_dropout);
    c.head.mask = network_mask(1, seed, NULL, B, head_dim, 1, cfg->hidden_dropout);
    c.rnn_mask = network_mask(2, seed, NULL, B, 2 * H, 1, cfg->rnn_dropout);
    c.head.bn_batch_stats = true;
    params_zero_grad(ps);
    float loss = network_train_batch(net, test_compute, tokens, lengths, B, T, targets, pw, NULL, seed);
    CHECK_NEAR(loss, net_loss(&c), 1e-5);
    char name[96];
    snprintf(name, sizeof name, "%s embedding.weight", label);
    float *emb_grad = grad_dense(t_emb);
    check_gradient(name, c.emb + E, (cfg->vocab_size - 1) * E, emb_grad + E, net_loss, &c);
    free(emb_grad);
    for (size_t k = 0; k < 8; k++) {
        snprintf(name, sizeof name, "%s %s", label, names[k]);
        check_gradient(name, c.p[k], t_p[k]->size, t_p[k]->grad, net_loss, &c);
    }
    check_head_gradients(label, t_head, &c.head, net_loss, &c);
    ref_head_free(&c.head);
    free(c.emb), free((void *)c.emb_mask), free((void *)c.rnn_mask);
    for (size_t k = 0; k < 8; k++)
        free(c.p[k]);
    network_free(net);
}

// The HFT-ONLSTM paper's MLP head (as the bilstm presets have it) with softmax, the pooling and dropout given.
static network_config mlp_config(rnn_pool_kind pool, float dropout)
{
    return recurrent_mlp_config(ENCODER_BILSTM, E, H, pool, dropout);
}

static void test_network_last(void)
{
    network_config cfg = mlp_config(RNN_POOL_LAST, 0.0f);
    check_network(&cfg, "bilstm(last)");
}

static void test_network_max(void)
{
    network_config cfg = mlp_config(RNN_POOL_MAX, 0.0f);
    check_network(&cfg, "bilstm(max)");
}

static void test_network_mean(void)
{
    network_config cfg = mlp_config(RNN_POOL_MEAN, 0.0f);
    check_network(&cfg, "bilstm(mean)");
}

// Dropout on the embedding, the pooled features and the hidden layer. Without batch norm: at these sizes its sums
// over a batch of 4 with dropped units leave fc1's gradient at float32's rounding (1.5e-3 relative); batch norm after
// dropout is the ON-LSTM's check (test_gradcheck_onlstm.c), the same head.
static void test_network_dropout(void)
{
    network_config cfg = mlp_config(RNN_POOL_MAX, 0.25f);
    cfg.hidden_batchnorm = false;
    check_network(&cfg, "bilstm(max, dropout)");
}

// The sigmoid head with positive weights straight on the mean-pooled features (no hidden layer), as a flat preset
// over ancestor-closed labels trains it.
static void test_network_sigmoid(void)
{
    network_config cfg = {.encoder = ENCODER_BILSTM,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 12,
                          .embed_dim = E,
                          .rnn_hidden = H,
                          .rnn_pool = RNN_POOL_MEAN,
                          .n_classes = 3};
    check_network(&cfg, "bilstm(mean, sigmoid)");
}

static void test_few_skipped(void) { gradcheck_report("gradcheck_lstm", 1000); }

int main(void)
{
    RUN_TEST(test_lstm);
    RUN_TEST(test_network_last);
    RUN_TEST(test_network_max);
    RUN_TEST(test_network_mean);
    RUN_TEST(test_network_dropout);
    RUN_TEST(test_network_sigmoid);
    RUN_TEST(test_few_skipped);
    TEST_MAIN_END();
}
