/* The network's contract beyond its numbers (test_gradcheck and test_golden_cnn check those):
 * configuration and batch validation, determinism for a seed and across thread counts, padding and
 * batch-mate invariance, frozen groups, gradient accumulation, compact row-sparse gradients, initialisation,
 * and the parameter set and Adam bookkeeping (groups, frozen groups, lazy rows). */
#include "core/rng.h"
#include "grads.h"
#include "hftc.h"
#include "model/network.h"
#include "nn/adam.h"
#include "nn/sgd.h"
#include "test.h"

#include <stdint.h>

static network_config small_config(void)
{
    return (network_config){.encoder = ENCODER_CNN,
                            .head = HEAD_SIGMOID,
                            .vocab_size = 300,
                            .embed_dim = 48,
                            .n_windows = 3,
                            .windows = {2, 3, 4},
                            .n_filters = 24,
                            .hidden = 40,
                            .n_classes = 7,
                            .embed_dropout = 0.25f,
                            .hidden_dropout = 0.5f};
}

typedef struct {
    size_t B, T;
    uint32_t *tokens;
    size_t *lengths;
    float *targets, *probs;
} batch;

// Random documents of varied lengths (one empty, one of a single word), padded with 0.
static batch batch_make(uint64_t seed, size_t B, size_t T, const network_config *cfg)
{
    batch bt = {B,
                T,
                calloc(B * T, sizeof(uint32_t)),
                malloc(B * sizeof(size_t)),
                malloc(B * cfg->n_classes * sizeof(float)),
                malloc(B * cfg->n_classes * sizeof(float))};
    rng r;
    rng_seed(&r, seed, 0);
    for (size_t b = 0; b < B; b++) {
        bt.lengths[b] = b == 0 ? T : b == 1 ? 0 : b == 2 ? 1 : 1 + rng_below(&r, T);
        for (size_t t = 0; t < bt.lengths[b]; t++)
            bt.tokens[b * T + t] = 1 + (uint32_t)rng_below(&r, cfg->vocab_size - 1);
        for (size_t c = 0; c < cfg->n_classes; c++)
            bt.targets[b * cfg->n_classes + c] = rng_float(&r) < 0.3f ? 1.0f : 0.0f;
    }
    return bt;
}

static void batch_free(batch *bt) { free(bt->tokens), free(bt->lengths), free(bt->targets), free(bt->probs); }

static network *network_make(const network_config *cfg, size_t max_batch, size_t max_len)
{
    network *net = NULL;
    CHECK_STATUS(network_create(&net, cfg, max_batch, max_len, NETWORK_TRAINING), HFTC_STATUS_OK);
    if (net) {
        rng r;
        rng_seed(&r, 42, 0);
        network_init(net, &r);
    }
    return net;
}

// All gradients of the network, whole (grads.h), concatenated.
static float *grads_copy(network *net)
{
    param_set *ps = network_params(net);
    float *g = malloc(ps->total * sizeof(float));
    for (size_t i = 0, off = 0; i < ps->n_tensors; off += ps->tensors[i++].size) {
        float *whole = grad_dense(&ps->tensors[i]);
        memcpy(g + off, whole, ps->tensors[i].size * sizeof(float));
        free(whole);
    }
    return g;
}

static void test_create_invalid(void)
{
    network_config good = small_config();
    struct {
        const char *what;
        network_config cfg;
        size_t max_batch, max_len;
    } cases[20];
    size_t n = 0;
#define BAD(w, field, value, mb, ml)                                                                                   \
    do {                                                                                                               \
        cases[n].what = w;                                                                                             \
        cases[n].cfg = good;                                                                                           \
        cases[n].cfg.field = value;                                                                                    \
        cases[n].max_batch = mb;                                                                                       \
        cases[n++].max_len = ml;                                                                                       \
    } while (0)
    BAD("vocabulary of one", vocab_size, 1, 4, 10);
    BAD("no embedding", embed_dim, 0, 4, 10);
    BAD("no filters", n_filters, 0, 4, 10);
    BAD("no classes", n_classes, 0, 4, 10);
    BAD("no windows", n_windows, 0, 4, 10);
    BAD("too many windows", n_windows, NETWORK_MAX_WINDOWS + 1, 4, 10);
    BAD("window 0", windows[1], 0, 4, 10);
    BAD("window twice", windows[2], 2, 4, 10);
    BAD("dropout 1", embed_dropout, 1.0f, 4, 10);
    BAD("negative dropout", hidden_dropout, -0.1f, 4, 10);
    BAD("NaN dropout", hidden_dropout, NAN, 4, 10);
    BAD("unknown encoder", encoder, (encoder_kind)7, 4, 10);
    BAD("unknown head", head, (head_kind)9, 4, 10);
    BAD("batch 0", hidden, 40, 0, 10);
    BAD("length 0", hidden, 40, 4, 0);
    BAD("huge batch", hidden, 40, (size_t)1 << 40, 1000);
    BAD("huge vocabulary", vocab_size, (size_t)4000000000u, 4, 10);
#undef BAD
    for (size_t i = 0; i < n; i++) {
        network *net = NULL;
        hftc_status st = network_create(&net, &cases[i].cfg, cases[i].max_batch, cases[i].max_len, NETWORK_TRAINING);
        CHECK_MSG(st == HFTC_STATUS_INVALID_ARGUMENT && net == NULL && hftc_last_error()[0] != '\0', "%s: status %d",
                  cases[i].what, (int)st);
        if (st == HFTC_STATUS_OK)
            network_free(net);
    }
    network_free(NULL);
}

static void test_batch_bounds(void)
{
    network_config cfg = small_config();
    network *net = network_make(&cfg, 4, 3); // max_len below the largest window (4)
    batch bt = batch_make(1, 5, 4, &cfg);
    CHECK(isnan(network_train_batch(net, test_compute, bt.tokens, bt.lengths, 5, 4, bt.targets, NULL, NULL, 0)));
    CHECK(strstr(hftc_last_error(), "batch") != NULL);
    CHECK(isnan(network_predict(net, test_compute, bt.tokens, bt.lengths, 0, 4, NULL, NULL, bt.probs)));
    CHECK(isnan(network_predict(net, test_compute, bt.tokens, bt.lengths, 4, 5, NULL, NULL, bt.probs)));
    // T may reach the largest window even past max_len, for callers that pad to one full window.
    CHECK(isfinite(network_train_batch(net, test_compute, bt.tokens, bt.lengths, 4, 4, bt.targets, NULL, NULL, 0)));
    CHECK(network_predict(net, test_compute, bt.tokens, bt.lengths, 4, 4, NULL, NULL, bt.probs) == 0.0f);
    for (size_t i = 0; i < 4 * cfg.n_classes; i++)
        CHECK(bt.probs[i] > 0.0f && bt.probs[i] < 1.0f);
    batch_free(&bt);
    network_free(net);
}

static void test_init(void)
{
    network_config cfg = small_config();
    network *a = network_make(&cfg, 2, 8), *b = network_make(&cfg, 2, 8);
    param_set *pa = network_params(a), *pb = network_params(b);
    CHECK(pa->n_tensors == 11);
    for (size_t i = 0; i < pa->n_tensors; i++)
        CHECK(memcmp(pa->tensors[i].value, pb->tensors[i].value, pa->tensors[i].size * sizeof(float)) == 0);
    tensor *emb = params_find(pa, "embedding.weight"), *conv3 = params_find(pa, "conv.3.weight");
    CHECK(emb && emb->row_sparse && emb->shape[0] == 300 && emb->shape[1] == 48);
    CHECK(conv3 && conv3->shape[0] == 24 && conv3->shape[1] == 3 * 48 && !conv3->row_sparse);
    CHECK(params_find(pa, "fc1.weight")->shape[1] == 72 && params_find(pa, "out.weight")->shape[1] == 40);
    bool row0 = true, range = true, conv_range = true;
    for (size_t e = 0; e < 48; e++)
        row0 = row0 && emb->value[e] == 0.0f;
    for (size_t i = 48; i < emb->size; i++)
        range = range && fabsf(emb->value[i]) <= 0.25f;
    float bound = 1.0f / sqrtf(3.0f * 48.0f), largest = 0.0f;
    for (size_t i = 0; i < conv3->size; i++) {
        conv_range = conv_range && fabsf(conv3->value[i]) <= bound;
        largest = fabsf(conv3->value[i]) > largest ? fabsf(conv3->value[i]) : largest;
    }
    CHECK(row0 && range && conv_range);
    CHECK(largest > 0.9f * bound); // uniform over the whole range, not a narrower one
    CHECK(network_get_config(a)->n_filters == 24);
    network_free(a), network_free(b);
}

// Same seed and thread count: bit-identical; other seed: other dropout; 1, 3 or 4 threads instead of 2:
// the same loss, gradients and predictions up to float rounding. Every per-document loop owns its outputs
// (the recurrent encoders split the batch into slices by thread count), so a race would show as large
// differences; rounding differences come from OpenBLAS, which splits a product among its threads by
// thread count: a long inner dimension in pieces (the recurrent layers' input-weight gradients, (3H, E)
// summed over B*T rows), and rows at other places in its kernels' tiles, which its AVX2 kernels round
// differently (OPENBLAS_CORETYPE=Haswell; with this machine's AVX-512 kernels the CNN's gradients and all
// predictions come out bit-identical).
static void check_determinism(const network_config *cfg, const char *label)
{
    enum { B = 24, T = 50, RUNS = 6 };
    network *net = network_make(cfg, B, T);
    param_set *ps = network_params(net);
    batch bt = batch_make(2, B, T, cfg);
    float losses[RUNS];
    float *grads[RUNS];
    uint64_t seeds[RUNS] = {9, 9, 10, 9, 9, 9};
    int threads[RUNS] = {2, 2, 2, 1, 3, 4};
    for (size_t run = 0; run < RUNS; run++) {
        params_zero_grad(ps);
        losses[run] = network_train_batch(net, &(compute_context){threads[run]}, bt.tokens, bt.lengths, B, T,
                                          bt.targets, NULL, NULL, seeds[run]);
        grads[run] = grads_copy(net);
    }
    CHECK(losses[0] == losses[1]);
    CHECK(memcmp(grads[0], grads[1], ps->total * sizeof(float)) == 0);
    CHECK(losses[2] != losses[0]);
    CHECK(test_max_diff(grads[0], grads[2], ps->total) > 1e-4);
    double largest = 0.0;
    for (size_t i = 0; i < ps->total; i++)
        largest = fabs(grads[0][i]) > largest ? fabs(grads[0][i]) : largest;
    for (size_t run = 3; run < RUNS; run++) {
        CHECK_MSG(fabs(losses[run] - losses[0]) <= 1e-6 * fabs(losses[0]), "%s, %d threads: loss %.9g, not %.9g", label,
                  threads[run], losses[run], losses[0]);
        double d = test_max_diff(grads[run], grads[0], ps->total);
        CHECK_MSG(d <= 1e-5 * largest, "%s, %d vs 2 threads: gradients differ by %.3g (largest %.3g)", label,
                  threads[run], d, largest);
    }
    // Inference, of a batch and of one document (matrix-vector products), at any count.
    float *probs = malloc(RUNS * B * cfg->n_classes * sizeof(float));
    for (size_t run = 3; run < RUNS; run++) {
        float *p = probs + run * B * cfg->n_classes;
        const compute_context *cc = &(compute_context){threads[run]};
        network_predict(net, cc, bt.tokens, bt.lengths, B, T, NULL, NULL, p);
        network_predict(net, cc, bt.tokens, bt.lengths, 1, T, NULL, NULL, p); /* document 0 alone */
        network_predict(net, test_compute, bt.tokens, bt.lengths, B, T, NULL, NULL, probs);
        network_predict(net, test_compute, bt.tokens, bt.lengths, 1, T, NULL, NULL, probs);
        double d = test_max_diff(p, probs, B * cfg->n_classes);
        CHECK_MSG(d <= 1e-6, "%s, %d threads: predictions differ by %.3g", label, threads[run], d);
    }
    free(probs);
    for (size_t run = 0; run < RUNS; run++)
        free(grads[run]);
    batch_free(&bt);
    network_free(net);
}

static void test_determinism(void)
{
    network_config cnn = small_config();
    check_determinism(&cnn, "cnn");
    network_config gru = cnn;
    gru.encoder = ENCODER_BIGRU_ATT;
    gru.rnn_hidden = 10;
    gru.rnn_dropout = 0.4f;
    check_determinism(&gru, "bigru-att");
    network_config onlstm = cnn;
    onlstm.encoder = ENCODER_ONLSTM;
    onlstm.rnn_hidden = 12;
    onlstm.onlstm_chunk = 3;
    onlstm.rnn_dropout = 0.25f;
    onlstm.hidden_activation = ACTIVATION_TANH;
    onlstm.hidden_batchnorm = true;
    check_determinism(&onlstm, "onlstm");
}

// A document's probabilities do not depend on its padding, on garbage past its length, or on the
// other documents of the batch.
static void test_padding_invariance(void)
{
    network_config cfg = small_config();
    size_t C = cfg.n_classes;
    network *net = network_make(&cfg, 6, 30);
    batch small = batch_make(3, 6, 12, &cfg), wide = batch_make(3, 6, 30, &cfg);
    for (size_t b = 0; b < 6; b++) {
        wide.lengths[b] = small.lengths[b];
        for (size_t t = 0; t < 30; t++)
            wide.tokens[b * 30 + t] = t < small.lengths[b] ? small.tokens[b * 12 + t] : 7 + (uint32_t)t;
    }
    network_predict(net, test_compute, small.tokens, small.lengths, 6, 12, NULL, NULL, small.probs);
    network_predict(net, test_compute, wide.tokens, wide.lengths, 6, 30, NULL, NULL, wide.probs);
    CHECK_MSG(test_max_diff(small.probs, wide.probs, 6 * C) <= 1e-6, "padding changed probabilities by %.3g",
              test_max_diff(small.probs, wide.probs, 6 * C));
    float alone[16];
    for (size_t b = 0; b < 6; b++) {
        network_predict(net, test_compute, small.tokens + b * 12, small.lengths + b, 1, 12, NULL, NULL, alone);
        CHECK_MSG(test_max_diff(alone, small.probs + b * C, C) <= 1e-6, "document %zu alone differs by %.3g", b,
                  test_max_diff(alone, small.probs + b * C, C));
    }
    // Lengths beyond T are read as T.
    size_t long_lengths[6];
    for (size_t b = 0; b < 6; b++)
        long_lengths[b] = small.lengths[b] == 12 ? 1000 : small.lengths[b];
    network_predict(net, test_compute, small.tokens, long_lengths, 6, 12, NULL, NULL, wide.probs);
    CHECK(memcmp(wide.probs, small.probs, 6 * C * sizeof(float)) == 0);
    // Ids outside the vocabulary read as <unk> (1).
    small.tokens[3] = 1;
    network_predict(net, test_compute, small.tokens, small.lengths, 6, 12, NULL, NULL, wide.probs);
    small.tokens[3] = 123456;
    network_predict(net, test_compute, small.tokens, small.lengths, 6, 12, NULL, NULL, small.probs);
    CHECK(memcmp(wide.probs, small.probs, 6 * C * sizeof(float)) == 0);
    batch_free(&small), batch_free(&wide);
    network_free(net);
}

// Modes: an inference network has no gradients or moments and refuses to train; switching modes keeps the
// values, so predictions are bit-identical in either mode, and training after a switch works as usual.
static void test_modes(void)
{
    network_config cfg = small_config();
    size_t C = cfg.n_classes;
    enum { B = 5, T = 9 };
    network *net = network_make(&cfg, B, T);
    batch bt = batch_make(5, B, T, &cfg);
    float *before = malloc(B * C * sizeof(float));
    network_predict(net, test_compute, bt.tokens, bt.lengths, B, T, NULL, NULL, before);
    CHECK_STATUS(network_set_mode(net, NETWORK_INFERENCE), HFTC_STATUS_OK);
    param_set *ps = network_params(net);
    CHECK(ps->grads.base == NULL && ps->moments.base == NULL && ps->tensors[0].grad == NULL);
    network_predict(net, test_compute, bt.tokens, bt.lengths, B, T, NULL, NULL, bt.probs);
    CHECK(memcmp(before, bt.probs, B * C * sizeof(float)) == 0);
    CHECK(isnan(network_train_batch(net, test_compute, bt.tokens, bt.lengths, B, T, bt.targets, NULL, NULL, 0)));
    CHECK(strstr(hftc_last_error(), "inference") != NULL);
    CHECK_STATUS(network_set_mode(net, NETWORK_TRAINING), HFTC_STATUS_OK);
    CHECK(ps->tensors[0].grad != NULL && ps->tensors[0].adam_v[0] == 0.0f);
    CHECK(isfinite(network_train_batch(net, test_compute, bt.tokens, bt.lengths, B, T, bt.targets, NULL, NULL, 0)));
    network_predict(net, test_compute, bt.tokens, bt.lengths, B, T, NULL, NULL, bt.probs);
    CHECK(memcmp(before, bt.probs, B * C * sizeof(float)) == 0); // gradients computed, no step taken

    network *fresh = NULL; // created for inference directly
    CHECK_STATUS(network_create(&fresh, &cfg, B, T, NETWORK_INFERENCE), HFTC_STATUS_OK);
    CHECK(fresh && network_params(fresh)->grads.base == NULL);
    params_copy_matching(network_params(fresh), ps, NULL);
    network_predict(fresh, test_compute, bt.tokens, bt.lengths, B, T, NULL, NULL, bt.probs);
    CHECK(memcmp(before, bt.probs, B * C * sizeof(float)) == 0);
    network_free(fresh);
    free(before);
    batch_free(&bt);
    network_free(net);
}

// Frozen groups: a frozen tensor gets no gradient, the others exactly what they get unfrozen.
static void test_frozen(void)
{
    network_config cfg = small_config();
    enum { B = 8, T = 20 };
    network *net = network_make(&cfg, B, T);
    param_set *ps = network_params(net);
    batch bt = batch_make(4, B, T, &cfg);
    params_zero_grad(ps);
    network_train_batch(net, test_compute, bt.tokens, bt.lengths, B, T, bt.targets, NULL, NULL, 3);
    float *full = grads_copy(net);
    size_t touched = params_find(ps, "embedding.weight")->n_touched;
    CHECK(touched > 0);

    // Group 1: the convolutions; group 2: the embedding; group 3: fc1.
    for (size_t i = 0; i < ps->n_tensors; i++) {
        const char *name = ps->tensors[i].name;
        ps->tensors[i].group = strncmp(name, "conv.", 5) == 0       ? 1
                               : strncmp(name, "embedding", 9) == 0 ? 2
                               : strncmp(name, "fc1.", 4) == 0      ? 3
                                                                    : 0;
    }
    const bool frozen_sets[3][4] = {
        {false, true, false, false}, {false, false, true, false}, {false, true, true, true}};
    for (size_t s = 0; s < 3; s++) {
        params_zero_grad(ps);
        network_train_batch(net, test_compute, bt.tokens, bt.lengths, B, T, bt.targets, NULL, frozen_sets[s], 3);
        float *g = grads_copy(net);
        bool ok = true;
        for (size_t i = 0, off = 0; i < ps->n_tensors; off += ps->tensors[i++].size) {
            const tensor *t = &ps->tensors[i];
            bool frozen = frozen_sets[s][t->group];
            for (size_t j = 0; j < t->size; j++)
                ok = ok && g[off + j] == (frozen ? 0.0f : full[off + j]);
            if (t->row_sparse)
                ok = ok && t->n_touched == (frozen ? 0 : touched);
        }
        CHECK_MSG(ok, "frozen set %zu: gradients differ", s);
        free(g);
    }
    free(full);
    batch_free(&bt);
    network_free(net);
}

// Two batches without an optimiser step add up, and the touched rows are their union (the embedding's 300 rows fit
// in the room of one batch's 6 x 50 positions: test_compact_gradient refuses a second batch that might not).
static void test_accumulation(void)
{
    network_config cfg = small_config();
    cfg.embed_dropout = cfg.hidden_dropout = 0.0f;
    enum { B = 6, T = 50 };
    network *net = network_make(&cfg, B, T);
    param_set *ps = network_params(net);
    tensor *emb = params_find(ps, "embedding.weight");
    batch x = batch_make(5, B, T, &cfg), y = batch_make(6, B, T, &cfg);
    params_zero_grad(ps);
    network_train_batch(net, test_compute, x.tokens, x.lengths, B, T, x.targets, NULL, NULL, 0);
    float *gx = grads_copy(net);
    uint32_t rows[300];
    size_t n_rows = emb->n_touched;
    memcpy(rows, emb->touched_rows, n_rows * sizeof(uint32_t));
    params_zero_grad(ps);
    network_train_batch(net, test_compute, y.tokens, y.lengths, B, T, y.targets, NULL, NULL, 0);
    float *gy = grads_copy(net);
    bool in_y[300] = {false};
    for (size_t j = 0; j < emb->n_touched; j++)
        in_y[emb->touched_rows[j]] = true;
    for (size_t j = 0; j < n_rows; j++)
        in_y[rows[j]] = true;
    size_t n_union = 0;
    for (size_t v = 0; v < 300; v++)
        n_union += in_y[v];

    params_zero_grad(ps);
    network_train_batch(net, test_compute, x.tokens, x.lengths, B, T, x.targets, NULL, NULL, 0);
    network_train_batch(net, test_compute, y.tokens, y.lengths, B, T, y.targets, NULL, NULL, 0);
    float *both = grads_copy(net);
    for (size_t i = 0; i < ps->total; i++)
        gx[i] += gy[i];
    CHECK(test_max_diff(both, gx, ps->total) <= 1e-6);
    bool sorted = emb->n_touched == n_union;
    for (size_t j = 0; sorted && j < emb->n_touched; j++)
        sorted = in_y[emb->touched_rows[j]] && (j == 0 || emb->touched_rows[j] > emb->touched_rows[j - 1]);
    CHECK(sorted);
    // params_zero_grad clears the row-sparse gradient through its touched rows.
    params_zero_grad(ps);
    float *zero = grads_copy(net);
    CHECK(emb->n_touched == 0);
    bool all_zero = true;
    for (size_t i = 0; i < ps->total; i++)
        all_zero = all_zero && zero[i] == 0.0f;
    CHECK(all_zero);
    free(gx), free(gy), free(both), free(zero);
    batch_free(&x), batch_free(&y);
    network_free(net);
}

// A row-sparse tensor's gradient has room for the rows one batch can touch (B x S positions), not for the whole
// table: fastText's 1M x 100 buckets would cost 400 MB of gradient, first touched in the first epoch. A second
// batch whose rows might not fit beside the unconsumed ones is refused before anything changes.
static void test_compact_gradient(void)
{
    network_config cfg = {.encoder = ENCODER_NGRAM,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 300,
                          .embed_dim = 8,
                          .buckets = 1000000,
                          .n_classes = 3};
    enum { B = 4, T = 10 };
    network *net = network_make(&cfg, B, T);
    param_set *ps = network_params(net);
    tensor *buckets = params_find(ps, "ngram.buckets"), *emb = params_find(ps, "embedding.weight");
    // The gradients' arena: the buckets' changed marks (a byte a row, nn/params.h) and little besides.
    CHECK(ps->grads.used < 2 * buckets->shape[0] && buckets->grad_rows == B * T && emb->grad_rows == B * T);
    batch x = batch_make(7, B, T, &cfg), y = batch_make(8, B, T, &cfg);
    params_zero_grad(ps);
    CHECK(isfinite(network_train_batch(net, test_compute, x.tokens, x.lengths, B, T, x.targets, NULL, NULL, 0)));
    size_t n_buckets = buckets->n_touched, n_emb = emb->n_touched;
    CHECK(n_buckets > 0 && n_emb > 0);
    float *before = grads_copy(net);
    CHECK(isnan(network_train_batch(net, test_compute, y.tokens, y.lengths, B, T, y.targets, NULL, NULL, 0)));
    CHECK(strstr(hftc_last_error(), "embedding.weight") != NULL);
    float *after = grads_copy(net);
    CHECK(buckets->n_touched == n_buckets && emb->n_touched == n_emb && memcmp(before, after, ps->total * 4) == 0);
    params_zero_grad(ps);
    CHECK(isfinite(network_train_batch(net, test_compute, y.tokens, y.lengths, B, T, y.targets, NULL, NULL, 0)));
    free(before), free(after);
    batch_free(&x), batch_free(&y);
    network_free(net);
}

static bool select_conv(const char *name) { return strncmp(name, "conv.", 5) == 0; }

static void test_params(void)
{
    param_set ps = {0};
    CHECK(params_declare(&ps, "a", 2, (size_t[]){3, 4}) != NULL);
    CHECK(params_declare(&ps, "conv.b", 1, (size_t[]){5}) != NULL);
    CHECK(params_declare(&ps, "bad", 0, NULL) == NULL);
    CHECK(params_declare(&ps, "bad", TENSOR_MAX_DIMS + 1, (size_t[]){1, 1, 1, 1, 1}) == NULL);
    char long_name[TENSOR_NAME_MAX + 1];
    memset(long_name, 'x', TENSOR_NAME_MAX);
    long_name[TENSOR_NAME_MAX] = '\0';
    CHECK(params_declare(&ps, long_name, 1, (size_t[]){1}) == NULL);
    tensor *sparse = params_declare(&ps, "rows", 2, (size_t[]){6, 2});
    tensor_set_row_sparse(sparse, 3); /* a gradient of three rows' room */
    CHECK(ps.n_tensors == 3);
    CHECK_STATUS(params_allocate(&ps), HFTC_STATUS_OK);
    CHECK(ps.total == 12 + 5 + 12);
    tensor *a = params_find(&ps, "a");
    CHECK(a && a->value && !a->grad && !a->adam_m && !sparse->touched_rows); // values only until training
    CHECK_STATUS(params_allocate_training(&ps), HFTC_STATUS_OK);
    CHECK(a && a->size == 12 && a->value && a->grad && a->adam_m && a->adam_v && !a->touched_rows);
    CHECK(sparse->touched_rows != NULL && sparse->grad_rows == 3 && params_find(&ps, "nope") == NULL);
    CHECK(((uintptr_t)a->value & 63) == 0 && ((uintptr_t)params_find(&ps, "conv.b")->value & 63) == 0);
    for (size_t i = 0; i < 12; i++)
        a->value[i] = (float)i;

    param_set other = {0};
    params_declare(&other, "a", 2, (size_t[]){3, 4});
    params_declare(&other, "conv.b", 1, (size_t[]){5});
    params_declare(&other, "rows", 2, (size_t[]){6, 3}); // other shape: not copied
    CHECK_STATUS(params_allocate(&other), HFTC_STATUS_OK);
    for (size_t i = 0; i < 5; i++)
        params_find(&other, "conv.b")->value[i] = 7.0f;
    CHECK(params_copy_matching(&other, &ps, NULL) == 2);
    CHECK(params_find(&other, "a")->value[11] == 11.0f && params_find(&other, "conv.b")->value[0] == 0.0f);
    for (size_t i = 0; i < 5; i++)
        params_find(&ps, "conv.b")->value[i] = 3.0f;
    params_find(&other, "a")->value[0] = -1.0f;
    CHECK(params_copy_matching(&other, &ps, select_conv) == 1);
    CHECK(params_find(&other, "conv.b")->value[4] == 3.0f && params_find(&other, "a")->value[0] == -1.0f);
    params_free(&other);

    // Adam: group 1 frozen, lazy rows, gradients consumed.
    adam opt;
    adam_init(&opt, 0.1f);
    CHECK(opt.beta1 == 0.9f && opt.beta2 == 0.999f && opt.eps == 1e-8f && opt.n_groups == 1 && opt.step == 0);
    opt.n_groups = 2;
    opt.groups[1] = (param_group){.lr = 0.1f, .frozen = true};
    params_find(&ps, "conv.b")->group = 1;
    for (size_t i = 0; i < 12; i++) {
        a->grad[i] = 1.0f;
        sparse->value[i] = 1.0f;
    }
    for (size_t i = 0; i < 5; i++)
        params_find(&ps, "conv.b")->grad[i] = 1.0f;
    sparse->grad[0] = 2.0f, sparse->grad[1] = -2.0f; // row 2
    sparse->grad[2 + 1] = 0.5f;                      // row 5
    sparse->touched_rows[0] = 2, sparse->touched_rows[1] = 5;
    sparse->n_touched = 2;
    CHECK(tensor_grad_row(sparse, 5) == sparse->grad + 2 && tensor_grad_row(sparse, 2) == sparse->grad);
    CHECK(tensor_grad_row(sparse, 3) == NULL && tensor_grad_row(sparse, 0) == NULL);
    CHECK(tensor_grad_row(a, 2) == a->grad + 8);
    adam_step(&opt, test_compute, &ps);
    CHECK(opt.step == 1);
    // First step: m_hat / sqrt(v_hat) = sign(g), so every value moves by lr against its gradient.
    CHECK_NEAR(a->value[3], 3.0f - 0.1f, 1e-6);
    CHECK(params_find(&ps, "conv.b")->value[0] == 3.0f && params_find(&ps, "conv.b")->grad[0] == 0.0f);
    CHECK_NEAR(sparse->value[2 * 2], 0.9, 1e-6);
    CHECK_NEAR(sparse->value[2 * 2 + 1], 1.1, 1e-6);
    CHECK(sparse->value[5 * 2] == 1.0f); // zero gradient in a touched row: no move on the first step
    CHECK_NEAR(sparse->value[5 * 2 + 1], 0.9, 1e-6);
    CHECK(sparse->value[0] == 1.0f && sparse->value[3 * 2] == 1.0f && sparse->adam_m[0] == 0.0f);
    CHECK(sparse->n_touched == 0 && sparse->grad[0] == 0.0f && sparse->grad[3] == 0.0f && a->grad[0] == 0.0f);
    CHECK(tensor_grad_row(sparse, 2) == NULL);
    params_free(&ps);
}

// The best-epoch backup: a full sync copies everything; later ones copy dense tensors whole and, of a row-sparse
// one, only the rows an optimiser step marked changed (a restore brings back exactly those), then clear the marks.
static void test_sync_backup(void)
{
    param_set ps = {0};
    tensor *dense = params_declare(&ps, "dense", 1, (size_t[]){3});
    tensor *table = params_declare(&ps, "table", 2, (size_t[]){5, 2});
    tensor_set_row_sparse(table, 5);
    CHECK(dense && table);
    CHECK_STATUS(params_allocate(&ps), HFTC_STATUS_OK);
    CHECK_STATUS(params_allocate_training(&ps), HFTC_STATUS_OK);
    float *backup = calloc(ps.values.used / sizeof(float), sizeof(float)); /* the tensors' room, aligned */
    CHECK(backup != NULL);
    if (!backup)
        return;
    for (size_t i = 0; i < 3; i++)
        dense->value[i] = (float)i;
    for (size_t i = 0; i < 10; i++)
        table->value[i] = 10.0f + (float)i;
    params_sync_backup(&ps, backup, false, true);
    CHECK(backup[dense->value - (float *)ps.values.base + 2] == 2.0f);
    CHECK(backup[table->value - (float *)ps.values.base + 9] == 19.0f);

    // an SGD step on row 3 marks it; a value written behind the optimiser's back (row 1) is not copied
    table->grad[0] = 1.0f, table->grad[1] = -1.0f;
    table->touched_rows[0] = 3, table->n_touched = 1;
    param_group rate = {.lr = 0.5f};
    compute_context cc = {.threads = 1};
    sgd_step(&rate, 1, &cc, &ps, 1.0f);
    CHECK(table->changed[3] == 1 && table->changed[1] == 0 && table->value[6] == 15.5f && table->value[7] == 17.5f);
    table->value[2] = -1.0f;
    dense->value[0] = 7.0f;
    float *copy = backup + (table->value - (float *)ps.values.base);
    params_sync_backup(&ps, backup, false, false);
    CHECK(copy[6] == 15.5f && copy[7] == 17.5f && copy[2] == 12.0f && table->changed[3] == 0);
    CHECK(backup[dense->value - (float *)ps.values.base] == 7.0f);

    // restore: the rows moved since the copy come back, the marks are cleared
    table->grad[0] = 2.0f, table->touched_rows[0] = 4, table->n_touched = 1;
    sgd_step(&rate, 1, &cc, &ps, 1.0f);
    CHECK(table->value[8] == 17.0f && table->changed[4] == 1);
    params_sync_backup(&ps, backup, true, false);
    CHECK(table->value[8] == 18.0f && table->changed[4] == 0 && table->value[6] == 15.5f);
    free(backup);
    params_free(&ps);
}

int main(void)
{
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    RUN_TEST(test_create_invalid);
    RUN_TEST(test_batch_bounds);
    RUN_TEST(test_init);
    RUN_TEST(test_determinism);
    RUN_TEST(test_padding_invariance);
    RUN_TEST(test_modes);
    RUN_TEST(test_frozen);
    RUN_TEST(test_accumulation);
    RUN_TEST(test_compact_gradient);
    RUN_TEST(test_params);
    RUN_TEST(test_sync_backup);
    TEST_MAIN_END();
}
