/* Finite-difference gradient checks (tests/gradcheck.h) for the ordered-neurons LSTM
 * (src/nn/onlstm.c), with chunk 1 (one master gate per unit: the paper's equations) and chunk 2, over
 * several timesteps, and for the whole onlstm network (src/model/encoder_onlstm.c): last state, max or mean
 * pooling, the paper's MLP head (fc1 -> tanh -> dropout -> batch norm -> out) with softmax
 * cross-entropy, dropout masks reproduced in the reference. The double-precision reference is written here from
 * equations (1)-(11) of the HFT-ONLSTM paper with the reference code's gate layout; the loss is L = sum(out * R).
 * Padding is checked both ways: rows past a document's length hold garbage the reference never reads, so a gradient
 * leaking into them fails, and changing them must change nothing. Results do not depend on the thread count (slices of
 * the batch). */
#include "core/compute.h"
#include "gradcheck.h"
#include "grads.h"
#include "model/network.h"
#include "nn/onlstm.h"

enum { B = 4, T = 6, E = 3, H = 4, MAX_G = 2 * H + 4 * H };

typedef struct {
    const size_t *lengths;
    double *x, *p[4], *out, *r;
    size_t chunk;
} onlstm_ctx;

static size_t tensor_size(size_t k, size_t chunk)
{
    size_t G = onlstm_gates(H, chunk);
    const size_t sizes[4] = {G * E, G * H, G, G};
    return sizes[k];
}

static const char *const names[4] = {"onlstm.ih.weight", "onlstm.hh.weight", "onlstm.ih.bias", "onlstm.hh.bias"};

// cumax over K values: cumsum(softmax(x)).
static void ref_cumax(double *out, const double *x, size_t K)
{
    double top = x[0], sum = 0.0, run = 0.0;
    for (size_t k = 1; k < K; k++)
        top = fmax(top, x[k]);
    for (size_t k = 0; k < K; k++)
        sum += exp(x[k] - top);
    for (size_t k = 0; k < K; k++)
        out[k] = run += exp(x[k] - top) / sum;
}

// out (B, T, H): h_t for t < lengths[b], zero after; x rows past a length are never read.
static void ref_onlstm(double *out, const double *x, const size_t *lengths, double *const p[4], size_t chunk)
{
    size_t K = H / chunk, G = onlstm_gates(H, chunk);
    const double *w_ih = p[0], *w_hh = p[1], *b_ih = p[2], *b_hh = p[3];
    for (size_t i = 0; i < B * T * H; i++)
        out[i] = 0.0;
    for (size_t b = 0; b < B; b++) {
        double h[H] = {0}, c[H] = {0}, g[MAX_G], mi[H], mf[H];
        for (size_t t = 0; t < lengths[b]; t++) {
            for (size_t k = 0; k < G; k++)
                g[k] = b_ih[k] + dot(w_ih + k * E, x + (b * T + t) * E, E) + b_hh[k] + dot(w_hh + k * H, h, H);
            ref_cumax(mi, g, K);
            ref_cumax(mf, g + K, K);
            for (size_t j = 0; j < H; j++) {
                const double *a = g + 2 * K;
                double o = ref_sigmoid(a[j]), ch = tanh(a[H + j]), in = ref_sigmoid(a[2 * H + j]);
                double f = ref_sigmoid(a[3 * H + j]), mij = 1.0 - mi[j / chunk], mfj = mf[j / chunk];
                double F = mfj * (f * mij + 1.0 - mij);  /* (7), (8) */
                double I = mij * (in * mfj + 1.0 - mfj); /* (9) */
                c[j] = F * c[j] + I * ch;                /* (10) */
                h[j] = o * tanh(c[j]);                   /* (11) */
                out[(b * T + t) * H + j] = h[j];
            }
        }
    }
}

static double onlstm_loss(const void *ctx)
{
    const onlstm_ctx *c = ctx;
    ref_onlstm(c->out, c->x, c->lengths, c->p, c->chunk);
    return dot(c->out, c->r, B * T * H);
}

// One training forward and backward at the current thread count, gradients from zero.
static void onlstm_run(const compute_context *cc, float *out, float *dinp, float *const g[4], const float *x,
                       const size_t *lengths, const onlstm_weights *w, const float *dout, size_t chunk)
{
    float *cache = malloc(onlstm_cache_size(B, T, H, chunk) * sizeof(float));
    float *scratch = malloc(onlstm_scratch_size(B, T, H, chunk, true) * sizeof(float));
    onlstm_forward(cc, out, cache, scratch, x, NULL, lengths, w, B, T, E, H, chunk);
    memset(dinp, 0, B * T * E * sizeof(float));
    for (size_t k = 0; k < 4; k++)
        memset(g[k], 0, tensor_size(k, chunk) * sizeof(float));
    onlstm_grads grads = {g[0], g[1], g[2], g[3]};
    onlstm_backward(cc, dinp, &grads, dout, out, cache, scratch, x, lengths, w, B, T, E, H, chunk);
    free(cache), free(scratch);
}

static void check_onlstm(size_t chunk)
{
    enum { N = B * T * H };
    // Padded, full, empty and one-word documents; the full one not first, so that slices of the batch
    // differ in their longest document.
    size_t lengths[B] = {4, 6, 0, 1};
    rng r;
    rng_seed(&r, 31 + chunk, 0);
    float *x = random_floats(&r, B * T * E, -1, 1), *R = random_floats(&r, N, -1, 1), *p[4];
    fill_padding(x, lengths, &r, B, T, E);
    onlstm_ctx c = {.lengths = lengths, .x = to_double(x, B * T * E), .r = to_double(R, N), .chunk = chunk};
    for (size_t k = 0; k < 4; k++) {
        p[k] = random_floats(&r, tensor_size(k, chunk), -0.9f, 0.9f);
        c.p[k] = to_double(p[k], tensor_size(k, chunk));
    }
    onlstm_weights w = {p[0], p[1], p[2], p[3]};
    double ref[N];
    c.out = ref;
    onlstm_loss(&c);

    // Inference forward (no cache, the smaller scratch) and training forward agree; zeros past lengths.
    float out[N], out_train[N];
    float *cache = malloc(onlstm_cache_size(B, T, H, chunk) * sizeof(float));
    float *scratch_inf = malloc(onlstm_scratch_size(B, T, H, chunk, false) * sizeof(float));
    float *scratch = malloc(onlstm_scratch_size(B, T, H, chunk, true) * sizeof(float));
    onlstm_forward(test_compute, out, NULL, scratch_inf, x, NULL, lengths, &w, B, T, E, H, chunk);
    check_forward("onlstm forward", out, ref, N, 1e-5);
    CHECK(padding_is(out, lengths, 0.0f, B, T, H));
    onlstm_forward(test_compute, out_train, cache, scratch, x, NULL, lengths, &w, B, T, E, H, chunk);
    CHECK(memcmp(out, out_train, sizeof out) == 0);

    // Backward adds: every gradient starts at 0.5; padded input rows must keep it exactly.
    float dinp[B * T * E], *g[4];
    for (size_t i = 0; i < B * T * E; i++)
        dinp[i] = 0.5f;
    for (size_t k = 0; k < 4; k++) {
        g[k] = malloc(tensor_size(k, chunk) * sizeof(float));
        for (size_t i = 0; i < tensor_size(k, chunk); i++)
            g[k][i] = 0.5f;
    }
    onlstm_grads grads = {g[0], g[1], g[2], g[3]};
    onlstm_backward(test_compute, dinp, &grads, R, out_train, cache, scratch, x, lengths, &w, B, T, E, H, chunk);
    CHECK(padding_is(dinp, lengths, 0.5f, B, T, E));
    for (size_t i = 0; i < B * T * E; i++)
        dinp[i] -= 0.5f;
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < tensor_size(k, chunk); i++)
            g[k][i] -= 0.5f;
    check_gradient("onlstm.dinp", c.x, B * T * E, dinp, onlstm_loss, &c);
    for (size_t k = 0; k < 4; k++)
        check_gradient(names[k], c.p[k], tensor_size(k, chunk), g[k], onlstm_loss, &c);

    // Other padding garbage changes nothing; the thread counts 1, 2 and 3 (batch slices) agree.
    float x2[B * T * E];
    memcpy(x2, x, sizeof x2);
    fill_padding(x2, lengths, &r, B, T, E);
    const int counts[3] = {1, 2, 3};
    float out_t[4][N], dinp_t[4][B * T * E], *g_t[4][4];
    for (size_t i = 0; i < 4; i++) {
        for (size_t k = 0; k < 4; k++)
            g_t[i][k] = malloc(tensor_size(k, chunk) * sizeof(float));
        onlstm_run(&(compute_context){counts[i < 3 ? i : 0]}, out_t[i], dinp_t[i], g_t[i], i < 3 ? x : x2, lengths, &w,
                   R, chunk);
    }
    for (size_t i = 1; i < 4; i++) {
        bool same = memcmp(out_t[i], out_t[0], sizeof out_t[0]) == 0;
        double worst = 0.0;
        for (size_t j = 0; j < B * T * E; j++)
            worst = fmax(worst, fabs(dinp_t[i][j] - dinp_t[0][j]));
        for (size_t k = 0; k < 4; k++)
            for (size_t j = 0; j < tensor_size(k, chunk); j++)
                worst = fmax(worst, fabs(g_t[i][k][j] - g_t[0][k][j]));
        CHECK_MSG(same && worst <= 1e-6, "chunk %zu, run %zu (%s): outputs %s, gradients differ by %g", chunk, i,
                  i < 3 ? "threads" : "other padding", same ? "equal" : "differ", worst);
        for (size_t k = 0; k < 4; k++)
            free(g_t[i][k]);
    }
    for (size_t k = 0; k < 4; k++)
        free(g_t[0][k]), free(g[k]), free(p[k]), free(c.p[k]);
    free(x), free(R), free(c.x), free(c.r), free(cache), free(scratch_inf), free(scratch);
}

/* ---- the whole onlstm network ---- */

typedef struct {
    const network_config *cfg;
    const uint32_t *tokens;
    const size_t *lengths;
    const uint8_t *emb_mask, *rnn_mask; /* NULL: no dropout */
    double *emb, *p[4];
    ref_head head;
} net_ctx;

static double net_loss(const void *ctx)
{
    const net_ctx *c = ctx;
    const network_config *cfg = c->cfg;
    double x[B * T * E], s[B * T * H], features[B * H];
    ref_embedding(x, c->tokens, c->lengths, c->emb, B, T, E);
    ref_dropout(x, c->emb_mask, B * T * E, cfg->embed_dropout);
    ref_onlstm(s, x, c->lengths, c->p, cfg->onlstm_chunk ? cfg->onlstm_chunk : 1);
    ref_rnn_pool(features, s, c->lengths, cfg->rnn_pool, B, T, H, H);
    ref_dropout(features, c->rnn_mask, B * H, cfg->rnn_dropout);
    return ref_network_head(cfg, &c->head, features, B, H);
}

static void check_network(const network_config *cfg, const char *label)
{
    const uint64_t seed = 93;
    // Padded, full, empty and one-word documents; garbage past the lengths, an id outside the vocabulary.
    uint32_t tokens[B * T] = {2, 5, 7, 3, 99, 99, 4, 6, 1, 8, 2, 30, 5, 5, 5, 5, 5, 5, 9, 7, 7, 7, 7, 7};
    size_t lengths[B] = {4, 6, 0, 1};
    float targets[B * 3] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    network *net;
    CHECK_STATUS(network_create(&net, cfg, B, T, NETWORK_TRAINING), HFTC_STATUS_OK);
    if (!net)
        return;
    rng r;
    rng_seed(&r, 7, 0);
    network_init(net, &r);
    param_set *ps = network_params(net);
    // Larger weights than the default so that every layer carries a visible gradient; running
    // statistics away from (0, 1) so that inference shows using them.
    for (size_t i = 0; i < ps->n_tensors; i++)
        for (size_t j = 0; j < ps->tensors[i].size; j++) {
            tensor *t = &ps->tensors[i];
            if (!strcmp(t->name, "bn.running_mean"))
                t->value[j] = rng_uniform(&r, -0.5f, 0.5f);
            else if (!strcmp(t->name, "bn.running_var"))
                t->value[j] = rng_uniform(&r, 0.2f, 2.0f);
            else
                t->value[j] *= !strcmp(t->name, "embedding.weight") ? 4.0f : 2.0f;
        }
    net_ctx c = {.cfg = cfg, .lengths = lengths, .head = {.targets = targets}};
    uint32_t ref_tokens[B * T];
    ref_token_ids(ref_tokens, tokens, B * T, cfg->vocab_size);
    c.tokens = ref_tokens;
    tensor *t_emb, *t_p[4], *t_head[6];
    c.emb = tensor_double(ps, "embedding.weight", &t_emb);
    for (size_t k = 0; k < 4; k++)
        c.p[k] = tensor_double(ps, names[k], &t_p[k]);
    tensor *t_bn_mean = params_find(ps, "bn.running_mean"), *t_bn_var = params_find(ps, "bn.running_var");
    bool found = ref_head_load(&c.head, t_head, ps, cfg) && t_emb && t_bn_mean && t_bn_var;
    for (size_t k = 0; k < 4; k++)
        found = found && t_p[k];
    CHECK_MSG(found, "%s: a tensor is missing", label);
    if (!found) {
        network_free(net);
        return;
    }
    CHECK(t_bn_mean->buffer && t_bn_var->buffer && !t_head[2]->buffer);
    // Inference: no dropout, the running statistics (copied: training changes them).
    float mean0[8], var0[8];
    memcpy(mean0, t_bn_mean->value, cfg->hidden * sizeof(float));
    memcpy(var0, t_bn_var->value, cfg->hidden * sizeof(float));
    c.head.bn_mean = mean0, c.head.bn_var = var0;
    check_network_predict(label, net, cfg, tokens, lengths, B, T, &c.head, net_loss, &c);

    // Training pass with dropout drawn from seed (the reference uses the same masks), batch statistics.
    c.emb_mask = network_mask(0, seed, lengths, B, T * E, E, cfg->embed_dropout);
    c.head.mask = network_mask(1, seed, NULL, B, cfg->hidden, 1, cfg->hidden_dropout);
    c.rnn_mask = network_mask(2, seed, NULL, B, H, 1, cfg->rnn_dropout);
    c.head.bn_batch_stats = true;
    params_zero_grad(ps);
    float loss = network_train_batch(net, test_compute, tokens, lengths, B, T, targets, NULL, NULL, seed);
    CHECK_NEAR(loss, net_loss(&c), 1e-5);
    // The running statistics moved towards the batch's (momentum 0.1) and have no gradient.
    CHECK(memcmp(mean0, t_bn_mean->value, cfg->hidden * sizeof(float)) != 0);
    char name[96];
    snprintf(name, sizeof name, "%s embedding.weight", label);
    float *emb_grad = grad_dense(t_emb);
    check_gradient(name, c.emb + E, (cfg->vocab_size - 1) * E, emb_grad + E, net_loss, &c);
    free(emb_grad);
    for (size_t k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "%s %s", label, names[k]);
        check_gradient(name, c.p[k], t_p[k]->size, t_p[k]->grad, net_loss, &c);
    }
    check_head_gradients(label, t_head, &c.head, net_loss, &c);
    ref_head_free(&c.head);
    free(c.emb), free((void *)c.emb_mask), free((void *)c.rnn_mask);
    for (size_t k = 0; k < 4; k++)
        free(c.p[k]);
    network_free(net);
}

static network_config mlp_config(size_t chunk, rnn_pool_kind pool, float dropout)
{
    network_config cfg = recurrent_mlp_config(ENCODER_ONLSTM, E, H, pool, dropout);
    cfg.onlstm_chunk = chunk;
    return cfg;
}

static void test_network_last(void)
{
    network_config cfg = mlp_config(1, RNN_POOL_LAST, 0.0f);
    check_network(&cfg, "onlstm(last)");
}

static void test_network_max_chunked(void)
{
    network_config cfg = mlp_config(2, RNN_POOL_MAX, 0.0f);
    check_network(&cfg, "onlstm(max, chunk 2)");
}

// The mean over the words (rnn_pool.c, shared with the bilstm encoder).
static void test_network_mean(void)
{
    network_config cfg = mlp_config(2, RNN_POOL_MEAN, 0.0f);
    check_network(&cfg, "onlstm(mean, chunk 2)");
}

static void test_network_dropout(void)
{
    network_config cfg = mlp_config(2, RNN_POOL_LAST, 0.25f);
    check_network(&cfg, "onlstm(dropout)");
}

static void test_chunk1(void) { check_onlstm(1); }

static void test_chunk2(void) { check_onlstm(2); }

static void test_few_skipped(void) { gradcheck_report("gradcheck_onlstm", 1000); }

int main(void)
{
    RUN_TEST(test_chunk1);
    RUN_TEST(test_chunk2);
    RUN_TEST(test_network_last);
    RUN_TEST(test_network_max_chunked);
    RUN_TEST(test_network_mean);
    RUN_TEST(test_network_dropout);
    RUN_TEST(test_few_skipped);
    TEST_MAIN_END();
}
