/* Finite-difference gradient checks for the test programs test_gradcheck*.c: central differences on a
 * double-precision reference loss, for every coordinate of an input or parameter, compared with the
 * float32 analytic gradient of the real implementation:
 *   |a - n| / max(|a|, |n|, 1e-4 * scale) <= GRAD_REL_TOL,  scale = the largest |n| of the tensor.
 * A coordinate sitting on a kink (ReLU at 0, a max-pooling tie) is detected by its one-sided
 * differences disagreeing, skipped and counted (coords_skipped; coords_checked the others);
 * gradcheck_report requires that almost none are skipped. Also the double references the layers
 * share (embedding, dense, dropout masks, the two losses) and small helpers. Header-only with static
 * inline functions, so a program that uses only some of them builds without warnings.
 * GRADCHECK_VERBOSE=1 in the environment prints the worst relative error of every check. */
#ifndef HFTC_TESTS_GRADCHECK_H
#define HFTC_TESTS_GRADCHECK_H

#include "core/rng.h"
#include "model/network.h"
#include "nn/dropout.h"
#include "test.h"

#include <stdbool.h>
#include <stdint.h>

#define GRAD_REL_TOL 1e-3
#define GRAD_STEP 1e-6

// A reference loss in double precision of the values ctx points to.
typedef double (*ref_loss)(const void *ctx);

// Coordinates compared by check_gradient, and those skipped at kinks.
static size_t coords_checked, coords_skipped;

static inline double max_abs(const double *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

// Central differences of f over every coordinate of x (n, perturbed in place and restored),
// compared with the float analytic gradient.
static inline void check_gradient(const char *name, double *x, size_t n, const float *analytic, ref_loss f,
                                  const void *ctx)
{
    double *num = malloc(n * sizeof *num), *jump = malloc(n * sizeof *jump);
    double f0 = f(ctx);
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], h = GRAD_STEP * (fabs(xi) > 1.0 ? fabs(xi) : 1.0);
        x[i] = xi + h;
        double fp = f(ctx);
        x[i] = xi - h;
        double fm = f(ctx);
        x[i] = xi;
        double fwd = (fp - f0) / h, bwd = (f0 - fm) / h;
        num[i] = (fp - fm) / (2.0 * h);
        jump[i] = fabs(fwd - bwd) - 1e-3 * fmax(fabs(fwd), fabs(bwd));
    }
    double scale = max_abs(num, n), worst = 0.0;
    size_t failed = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        if (jump[i] > 1e-5 * scale) {
            skipped++;
            continue;
        }
        double a = analytic[i], d = fabs(a - num[i]);
        double rel = d / fmax(fmax(fabs(a), fabs(num[i])), 1e-4 * scale);
        worst = rel > worst ? rel : worst;
        if (rel > GRAD_REL_TOL && failed++ < 5)
            fprintf(stderr, "  %s[%zu]: analytic %.9g, numeric %.9g (rel %.2g)\n", name, i, a, num[i], rel);
    }
    if (getenv("GRADCHECK_VERBOSE"))
        fprintf(stderr, "%s: worst rel %.3g, %zu skipped\n", name, worst, skipped);
    CHECK_MSG(failed == 0, "%s: %zu of %zu coordinates off (worst rel %.3g)", name, failed, n, worst);
    CHECK_MSG(scale > 0.0, "%s: the gradient is identically zero, nothing was checked", name);
    coords_checked += n - skipped;
    coords_skipped += skipped;
    free(num);
    free(jump);
}

// Float forward against the double reference: |a - r| <= tol * (|r| + scale).
static inline void check_forward(const char *name, const float *out, const double *ref, size_t n, double tol)
{
    double scale = max_abs(ref, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(out[i] - ref[i]) > tol * (fabs(ref[i]) + scale) && bad++ < 5)
            fprintf(stderr, "  %s[%zu]: %.9g, reference %.9g\n", name, i, out[i], ref[i]);
    CHECK_MSG(bad == 0, "%s: %zu of %zu outputs differ from the double reference", name, bad, n);
}

// The last check of a program: prints the counts, requires more than min_checked coordinates
// checked and at most 1 in 200 skipped.
static inline void gradcheck_report(const char *program, size_t min_checked)
{
    printf("%s: %zu coordinates checked, %zu skipped at kinks\n", program, coords_checked, coords_skipped);
    CHECK(coords_checked > min_checked);
    CHECK(coords_skipped * 200 <= coords_checked);
}

static inline float *random_floats(rng *r, size_t n, float lo, float hi)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = rng_uniform(r, lo, hi);
    return x;
}

static inline double *to_double(const float *x, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

static inline double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

// Whether all n values of x are v.
static inline double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

// Fills the rows t >= lengths[b] of x (B, T, N) with values from [-3, 3]: padding a layer must not read.
static inline void fill_padding(float *x, const size_t *lengths, rng *r, size_t B, size_t T, size_t N)
{
    for (size_t b = 0; b < B; b++)
        for (size_t i = lengths[b] * N; i < T * N; i++)
            x[b * T * N + i] = rng_uniform(r, -3.0f, 3.0f);
}

// Whether the padded rows of x (B, T, N) all equal v.
static inline bool padding_is(const float *x, const size_t *lengths, float v, size_t B, size_t T, size_t N)
{
    bool same = true;
    for (size_t b = 0; b < B; b++)
        for (size_t i = lengths[b] * N; i < T * N; i++)
            same = same && x[b * T * N + i] == v;
    return same;
}

static inline bool all_equal(const float *x, size_t n, float v)
{
    bool same = true;
    for (size_t i = 0; i < n; i++)
        same = same && x[i] == v;
    return same;
}

/* ---- double references ---- */

static inline void ref_embedding(double *out, const uint32_t *tokens, const size_t *lengths, const double *w, size_t B,
                                 size_t T, size_t E)
{
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++)
            for (size_t e = 0; e < E; e++)
                out[(b * T + t) * E + e] = t < lengths[b] ? w[tokens[b * T + t] * E + e] : 0.0;
}

// out (B, F*p) at stride ld, as conv1d_forward with windows starting every stride words.
static inline void ref_conv(double *out, size_t ld, const double *x, const size_t *lengths, const double *w,
                            const double *bias, size_t B, size_t T, size_t E, size_t F, size_t K, size_t p,
                            size_t stride)
{
    for (size_t b = 0; b < B; b++) {
        size_t L = lengths[b] < T ? lengths[b] : T, n = L >= K ? (L - K) / stride + 1 : 1;
        for (size_t f = 0; f < F; f++)
            for (size_t c = 0; c < p; c++) {
                double best = -INFINITY;
                for (size_t j = c * n / p; j < ((c + 1) * n + p - 1) / p; j++) {
                    size_t t = j * stride;
                    double s = bias[f];
                    for (size_t i = 0; i < K * E; i++)
                        s += x[(b * T + t) * E + i] * w[f * K * E + i];
                    best = s > best ? s : best;
                }
                out[b * ld + f * p + c] = best;
            }
    }
}

static inline void ref_relu(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0 ? x[i] : 0.0;
}

static inline void ref_dense(double *out, const double *x, const double *w, const double *bias, size_t B, size_t I,
                             size_t O)
{
    for (size_t b = 0; b < B; b++)
        for (size_t o = 0; o < O; o++)
            out[b * O + o] = bias[o] + dot(x + b * I, w + o * I, I);
}

// Inverted dropout of rate p with a given mask, in place; a NULL mask is no dropout.
static inline void ref_dropout(double *x, const uint8_t *mask, size_t n, float p)
{
    if (mask)
        for (size_t i = 0; i < n; i++)
            x[i] *= mask[i] ? 1.0 / (1.0 - p) : 0.0;
}

static inline double ref_bce(double *probs, const double *x, const float *y, const float *pos_weight, size_t B,
                             size_t C)
{
    double total = 0.0;
    for (size_t i = 0; i < B * C; i++) {
        double w = pos_weight ? pos_weight[i % C] : 1.0;
        double log_s = -log1p(exp(-x[i])), log_1ms = -log1p(exp(x[i]));
        if (x[i] < -30.0)
            log_s = x[i] - log1p(exp(x[i]));
        if (x[i] > 30.0)
            log_1ms = -x[i] - log1p(exp(-x[i]));
        if (probs)
            probs[i] = 1.0 / (1.0 + exp(-x[i]));
        total -= w * y[i] * log_s + (1.0 - y[i]) * log_1ms;
    }
    return total / (double)(B * C);
}

static inline double ref_softmax_ce(double *probs, const double *x, const float *y, size_t B, size_t C)
{
    double total = 0.0;
    for (size_t b = 0; b < B; b++) {
        double m = x[b * C], s = 0.0;
        for (size_t c = 1; c < C; c++)
            m = fmax(m, x[b * C + c]);
        for (size_t c = 0; c < C; c++)
            s += exp(x[b * C + c] - m);
        for (size_t c = 0; c < C; c++) {
            if (probs)
                probs[b * C + c] = exp(x[b * C + c] - m) / s;
            total -= y[b * C + c] * (x[b * C + c] - m - log(s));
        }
    }
    return total / (double)B;
}

// The recurrent encoders' pooling (model/rnn_pool.h) of the states s (B, T, D) into features (B, D): the final state
// (columns j < forward at L-1, the others at 0), or the maximum or mean over t < L; zero for an empty document.
static inline void ref_rnn_pool(double *features, const double *s, const size_t *lengths, rnn_pool_kind pool, size_t B,
                                size_t T, size_t D, size_t forward)
{
    for (size_t b = 0; b < B; b++)
        for (size_t j = 0; j < D; j++) {
            size_t L = lengths[b];
            double v = 0.0;
            if (L && pool == RNN_POOL_LAST)
                v = s[(b * T + (j < forward ? L - 1 : 0)) * D + j];
            for (size_t t = 0; pool == RNN_POOL_MAX && t < L; t++)
                v = t ? fmax(v, s[(b * T + t) * D + j]) : s[(b * T + t) * D + j];
            for (size_t t = 0; pool == RNN_POOL_MEAN && t < L; t++)
                v += s[(b * T + t) * D + j] / (double)L;
            features[b * D + j] = v;
        }
}

/* ---- the whole network ---- */

// In place on x (B, N): torch.nn.BatchNorm1d with the batch's statistics (training) or the given
// running ones.
static inline void ref_batchnorm(double *x, const double *gamma, const double *beta, const float *running_mean,
                                 const float *running_var, bool batch_stats, size_t B, size_t N)
{
    for (size_t j = 0; j < N; j++) {
        double mean = running_mean[j], var = running_var[j];
        if (batch_stats) {
            mean = var = 0.0;
            for (size_t b = 0; b < B; b++)
                mean += x[b * N + j] / (double)B;
            for (size_t b = 0; b < B; b++)
                var += (x[b * N + j] - mean) * (x[b * N + j] - mean) / (double)B;
        }
        for (size_t b = 0; b < B; b++)
            x[b * N + j] = gamma[j] * (x[b * N + j] - mean) / sqrt(var + 1e-5) + beta[j];
    }
}

// The head of a network's double reference, after its encoder:
// [fc1 -> ReLU or tanh] -> dropout -> [batch norm] -> out -> loss.
typedef struct {
    const float *targets, *pos_weight;
    const uint8_t *mask; /* the dropout mask of the head's input (hidden layer or features); NULL: none */
    double *fc1_w, *fc1_b, *out_w, *out_b;
    double *bn_w, *bn_b;           /* batch norm's gamma and beta */
    const float *bn_mean, *bn_var; /* its running statistics */
    bool bn_batch_stats;           /* training: the batch's statistics instead */
    double *probs;                 /* where the probabilities go; NULL: nowhere */
} ref_head;

// The loss of the head h of a network of cfg on the features (B, D), which it may overwrite.
static inline double ref_network_head(const network_config *cfg, const ref_head *h, double *features, size_t B,
                                      size_t D)
{
    size_t H = cfg->hidden, C = cfg->n_classes, head_dim = H ? H : D;
    double *hidden = malloc(B * (H + 1) * sizeof *hidden), *logits = malloc(B * C * sizeof *logits);
    double *head_in = features;
    if (H) {
        ref_dense(hidden, features, h->fc1_w, h->fc1_b, B, D, H);
        if (cfg->hidden_activation == ACTIVATION_TANH)
            for (size_t i = 0; i < B * H; i++)
                hidden[i] = tanh(hidden[i]);
        else
            ref_relu(hidden, B * H);
        head_in = hidden;
    }
    ref_dropout(head_in, h->mask, B * head_dim, cfg->hidden_dropout);
    if (cfg->hidden_batchnorm)
        ref_batchnorm(head_in, h->bn_w, h->bn_b, h->bn_mean, h->bn_var, h->bn_batch_stats, B, H);
    ref_dense(logits, head_in, h->out_w, h->out_b, B, head_dim, C);
    double loss = cfg->head == HEAD_SOFTMAX ? ref_softmax_ce(h->probs, logits, h->targets, B, C)
                                            : ref_bce(h->probs, logits, h->targets, h->pos_weight, B, C);
    free(hidden), free(logits);
    return loss;
}

// network_predict of a network of cfg (no dropout) against its double reference f, whose head is h: the
// loss and the probabilities (B, C), both to 1e-5.
static inline void check_network_predict(const char *label, network *net, const network_config *cfg,
                                         const uint32_t *tokens, const size_t *lengths, size_t B, size_t T, ref_head *h,
                                         ref_loss f, const void *ctx)
{
    size_t C = cfg->n_classes;
    float *probs = malloc(B * C * sizeof *probs);
    double *ref_probs = malloc(B * C * sizeof *ref_probs);
    h->probs = ref_probs;
    float loss = network_predict(net, test_compute, tokens, lengths, B, T, h->targets, h->pos_weight, probs);
    double ref = f(ctx);
    h->probs = NULL;
    char name[128];
    snprintf(name, sizeof name, "%s predict", label);
    CHECK_NEAR(loss, ref, 1e-5);
    check_forward(name, probs, ref_probs, B * C, 1e-5);
    free(probs), free(ref_probs);
}

// The masks the network draws for seed: dropout_forward on ones with the network's layer seeds and
// extents (per document the first lengths[b] * per_position elements; all N without lengths). NULL
// for p = 0: no dropout.
static inline uint8_t *network_mask(size_t layer, uint64_t seed, const size_t *lengths, size_t B, size_t N,
                                    size_t per_position, float p)
{
    if (!(p > 0.0f))
        return NULL;
    float *ones = malloc(B * N * sizeof *ones);
    uint8_t *mask = malloc(B * N);
    size_t valid[8];
    for (size_t b = 0; b < B; b++)
        valid[b] = lengths ? lengths[b] * per_position : N;
    for (size_t i = 0; i < B * N; i++)
        ones[i] = 1.0f;
    dropout_forward(test_compute, ones, mask, ones, valid, B, N, p, dropout_layer_seed(seed, layer));
    for (size_t b = 0; b < B; b++)
        memset(mask + b * N + valid[b], 0, N - valid[b]);
    free(ones);
    return mask;
}

// The targets (4 documents, 3 classes) and positive weights of the network checks of test_gradcheck.c and
// test_gradcheck_ngram.c: multi-hot rows for the sigmoid head, one-hot for softmax.
static inline void network_check_targets(float *targets, float *pos_weight, head_kind head)
{
    static const float multi_hot[12] = {1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0},
                       one_hot[12] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(targets, head == HEAD_SOFTMAX ? one_hot : multi_hot, sizeof one_hot);
    pos_weight[0] = 2.0f, pos_weight[1] = 0.5f, pos_weight[2] = 4.0f;
}

// A training network of cfg for batches of B x T, initialised from init_seed, then every weight 3 times larger than
// the initialisation (so that every layer carries a visible gradient) and the embedding's <pad> row zero; NULL (and
// a failed check) if it cannot be made.
static inline network *network_check_create(const network_config *cfg, size_t B, size_t T, uint64_t init_seed)
{
    network *net = NULL;
    CHECK_STATUS(network_create(&net, cfg, B, T, NETWORK_TRAINING), HFTC_STATUS_OK);
    if (!net)
        return NULL;
    rng r;
    rng_seed(&r, init_seed, 0);
    network_init(net, &r);
    param_set *ps = network_params(net);
    for (size_t i = 0; i < ps->n_tensors; i++)
        for (size_t j = 0; j < ps->tensors[i].size; j++)
            ps->tensors[i].value[j] *= 3.0f;
    memset(params_find(ps, "embedding.weight")->value, 0, cfg->embed_dim * sizeof(float));
    return net;
}

// Copies tensor name of the network into a new double array (and returns the tensor in *t).
static inline double *tensor_double(param_set *ps, const char *name, tensor **t)
{
    *t = params_find(ps, name);
    return *t ? to_double((*t)->value, (*t)->size) : NULL;
}

// The head's tensors of a network of cfg into t, in the order fc1.weight, fc1.bias (with a hidden layer), bn.weight,
// bn.bias (with batch norm), out.weight, out.bias (NULL where the network has none), and their values into h as
// doubles; whether every tensor the configuration implies was found.
static inline bool ref_head_load(ref_head *h, tensor *t[6], param_set *ps, const network_config *cfg)
{
    double **v[6] = {&h->fc1_w, &h->fc1_b, &h->bn_w, &h->bn_b, &h->out_w, &h->out_b};
    const char *names[6] = {"fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "out.weight", "out.bias"};
    bool found = true;
    for (size_t k = 0; k < 6; k++) {
        bool wanted = k >= 4 || (k < 2 ? cfg->hidden > 0 : cfg->hidden_batchnorm);
        t[k] = NULL, *v[k] = wanted ? tensor_double(ps, names[k], &t[k]) : NULL;
        found = found && (!wanted || t[k]);
    }
    return found;
}

// Finite differences of the loss f over every value of the head's tensors (ref_head_load's t, h), against their
// gradients.
static inline void check_head_gradients(const char *label, tensor *const t[6], const ref_head *h, ref_loss f,
                                        const void *ctx)
{
    double *v[6] = {h->fc1_w, h->fc1_b, h->bn_w, h->bn_b, h->out_w, h->out_b};
    char name[96];
    for (size_t k = 0; k < 6; k++) {
        if (!t[k])
            continue;
        snprintf(name, sizeof name, "%s %s", label, t[k]->name);
        check_gradient(name, v[k], t[k]->size, t[k]->grad, f, ctx);
    }
}

// Frees the values ref_head_load gave h and its dropout mask.
static inline void ref_head_free(ref_head *h)
{
    free(h->fc1_w), free(h->fc1_b), free(h->bn_w), free(h->bn_b), free(h->out_w), free(h->out_b);
    free((void *)h->mask);
}

// The recurrent networks' checks' configuration (test_gradcheck_onlstm.c, test_gradcheck_lstm.c): the HFT-ONLSTM
// paper's MLP head (fc1 5 tanh, dropout, batch norm) with softmax over 3 classes, vocabulary 12, the given encoder,
// sizes, pooling and dropout (on the embedding and the pooled features; 0.5 on the hidden layer with any).
static inline network_config recurrent_mlp_config(encoder_kind encoder, size_t E, size_t H, rnn_pool_kind pool,
                                                  float dropout)
{
    return (network_config){.encoder = encoder,
                            .head = HEAD_SOFTMAX,
                            .vocab_size = 12,
                            .embed_dim = E,
                            .rnn_hidden = H,
                            .rnn_pool = pool,
                            .rnn_dropout = dropout,
                            .hidden = 5,
                            .hidden_activation = ACTIVATION_TANH,
                            .hidden_batchnorm = true,
                            .n_classes = 3,
                            .embed_dropout = dropout,
                            .hidden_dropout = dropout ? 0.5f : 0.0f};
}

// The ids the double reference reads for the network's tokens: ids < V as they are, larger ones as
// the network reads them, <unk> (1).
static inline void ref_token_ids(uint32_t *ref, const uint32_t *tokens, size_t n, size_t V)
{
    for (size_t i = 0; i < n; i++)
        ref[i] = tokens[i] < V ? tokens[i] : 1;
}

#endif
