/* The word cache (nn/word_cache.h): its rows are the projections it stands for, it computes each word
 * once, and a network reading it predicts what it predicts without it, for every encoder, on batches
 * with empty and one-word documents, documents shorter than a window and ids past the vocabulary;
 * it follows the parameters through mode changes and keeps to its size limit. */
#include "core/rng.h"
#include "hftc.h"
#include "model/network.h"
#include "nn/adam.h"
#include "nn/word_cache.h"
#include "test.h"

#include <stdint.h>

static void test_rows(void)
{
    enum { V = 7, E = 3, N = 4, B = 3, T = 5 };
    float emb[V * E], proj[N * E];
    for (size_t i = 0; i < V * E; i++)
        emb[i] = (float)(i % 5) - 1.5f;
    for (size_t i = 0; i < N * E; i++)
        proj[i] = 0.25f * (float)i - 1.0f;
    word_cache *c = NULL;
    CHECK_STATUS(word_cache_create(&c, emb, V, E, proj, N, B * T), HFTC_STATUS_OK);
    if (!c)
        return;
    uint32_t tokens[B * T] = {3, 5, 3, 0, 6, /**/ 5, 2, 9, 9, 9, /**/ 1, 1, 1, 1, 1};
    size_t lengths[B] = {5, 2, 0}; /* what lies past a length (9, 1) is never read */
    const float *const *rows = word_cache_rows(c, test_compute, tokens, lengths, B, T);
    CHECK(word_cache_filled(c) == 5); /* 3, 5, 0, 6, 2 */
    bool exact = true;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++)
            for (size_t n = 0; n < N; n++) {
                float want = 0.0f;
                if (t < lengths[b]) {
                    double sum = 0.0;
                    for (size_t e = 0; e < E; e++)
                        sum += (double)emb[tokens[b * T + t] * E + e] * proj[n * E + e];
                    want = (float)sum;
                }
                exact &= fabsf(rows[b * T + t][n] - want) <= 1e-6f;
            }
    CHECK(exact);
    CHECK(rows[0] == rows[2]); /* one row per word */
    lengths[2] = 5;
    word_cache_rows(c, test_compute, tokens, lengths, B, T);
    CHECK(word_cache_filled(c) == 6); /* only word 1 was new */
    CHECK(word_cache_table_bytes(V, N) == V * N * sizeof(float));
    word_cache_free(c);
}

typedef struct {
    size_t B, T;
    uint32_t *tokens;
    size_t *lengths;
} batch;

// Documents of every awkward kind: empty, one word, shorter than the widest window, full length,
// ids past the vocabulary (read as <unk>), <pad> inside the text.
static batch batch_make(uint64_t seed, size_t B, size_t T, size_t V)
{
    batch bt = {B, T, calloc(B * T, sizeof(uint32_t)), malloc(B * sizeof(size_t))};
    rng r;
    rng_seed(&r, seed, 0);
    for (size_t b = 0; b < B; b++) {
        bt.lengths[b] = b == 0 ? T : b == 1 ? 0 : b == 2 ? 1 : b == 3 ? 3 : 1 + rng_below(&r, T);
        for (size_t t = 0; t < bt.lengths[b]; t++)
            bt.tokens[b * T + t] = (uint32_t)rng_below(&r, V + 3);
    }
    return bt;
}

// Two batches' probabilities (2 x B x C).
static void predict_two(network *net, const batch *x, const batch *y, size_t C, float *probs)
{
    CHECK(isfinite(network_predict(net, test_compute, x->tokens, x->lengths, x->B, x->T, NULL, NULL, probs)));
    CHECK(
        isfinite(network_predict(net, test_compute, y->tokens, y->lengths, y->B, y->T, NULL, NULL, probs + x->B * C)));
}

static void check_encoder(const char *name, const network_config *cfg)
{
    enum { MB = 9, ML = 12 };
    size_t C = cfg->n_classes;
    network *net = NULL;
    CHECK_STATUS(network_create(&net, cfg, MB, ML, NETWORK_TRAINING), HFTC_STATUS_OK);
    if (!net)
        return;
    rng r;
    rng_seed(&r, 3, 0);
    network_init(net, &r);
    batch x = batch_make(11, MB, ML, cfg->vocab_size), y = batch_make(12, 5, 7, cfg->vocab_size);
    size_t n = (x.B + y.B) * C; /* what predict_two writes */
    float *plain = malloc(n * sizeof(float)), *cached = malloc(n * sizeof(float)), *again = malloc(n * sizeof(float));

    // A training network has no cache.
    CHECK_STATUS(network_set_word_cache(net, SIZE_MAX), HFTC_STATUS_OK);
    CHECK(!network_has_word_cache(net) && network_word_cache_bytes(net) == 0);

    CHECK_STATUS(network_set_mode(net, NETWORK_INFERENCE), HFTC_STATUS_OK);
    predict_two(net, &x, &y, C, plain);
    size_t bytes = network_word_cache_bytes(net);
    CHECK(bytes > 0 && bytes % (cfg->vocab_size * sizeof(float)) == 0);
    CHECK_STATUS(network_set_word_cache(net, bytes - 1), HFTC_STATUS_OK);
    CHECK(!network_has_word_cache(net));
    CHECK_STATUS(network_set_word_cache(net, bytes), HFTC_STATUS_OK);
    CHECK(network_has_word_cache(net));
    predict_two(net, &x, &y, C, cached);
    double d = test_max_diff(plain, cached, n);
    CHECK_MSG(d <= 1e-6, "%s: cached predictions differ from the plain ones by %g", name, d);
    predict_two(net, &x, &y, C, again); /* every word now read from the table */
    CHECK_MSG(test_max_diff(cached, again, n) == 0.0, "%s: a warm cache changed a prediction", name);

    // Training changes the values: the cache goes with the mode, and a new one reads the new values.
    CHECK_STATUS(network_set_mode(net, NETWORK_TRAINING), HFTC_STATUS_OK);
    CHECK(!network_has_word_cache(net));
    float *targets = calloc(MB * C, sizeof(float));
    for (size_t b = 0; b < MB; b++)
        targets[b * C + b % C] = 1.0f;
    CHECK(isfinite(network_train_batch(net, test_compute, x.tokens, x.lengths, MB, ML, targets, NULL, NULL, 5)));
    adam opt;
    adam_init(&opt, 0.05f);
    adam_step(&opt, test_compute, network_params(net));
    CHECK_STATUS(network_set_mode(net, NETWORK_INFERENCE), HFTC_STATUS_OK);
    CHECK(!network_has_word_cache(net));
    predict_two(net, &x, &y, C, plain);
    CHECK_MSG(test_max_diff(plain, cached, n) > 1e-4, "%s: the training step changed nothing", name);
    CHECK_STATUS(network_set_word_cache(net, SIZE_MAX), HFTC_STATUS_OK);
    predict_two(net, &x, &y, C, cached);
    d = test_max_diff(plain, cached, n);
    CHECK_MSG(d <= 1e-6, "%s: after training, cached predictions differ by %g", name, d);
    CHECK_STATUS(network_set_word_cache(net, 0), HFTC_STATUS_OK);
    CHECK(!network_has_word_cache(net));

    free(targets), free(plain), free(cached), free(again);
    free(x.tokens), free(x.lengths), free(y.tokens), free(y.lengths);
    network_free(net);
}

static void test_encoders(void)
{
    network_config cnn = {.encoder = ENCODER_CNN,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 50,
                          .embed_dim = 16,
                          .n_windows = 3,
                          .windows = {2, 3, 4},
                          .n_filters = 8,
                          .hidden = 12,
                          .n_classes = 5};
    check_encoder("kim-cnn", &cnn);
    network_config xml = cnn;
    xml.pool_chunks = 3;
    xml.head = HEAD_SOFTMAX;
    check_encoder("xml-cnn", &xml);
    network_config gru = {.encoder = ENCODER_BIGRU_ATT,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 40,
                          .embed_dim = 10,
                          .rnn_hidden = 6,
                          .attention_dim = 8,
                          .n_classes = 3};
    check_encoder("bigru-att", &gru);
    network_config onlstm = {.encoder = ENCODER_ONLSTM,
                             .head = HEAD_SOFTMAX,
                             .vocab_size = 40,
                             .embed_dim = 10,
                             .rnn_hidden = 8,
                             .onlstm_chunk = 2,
                             .hidden = 6,
                             .hidden_activation = ACTIVATION_TANH,
                             .hidden_batchnorm = true,
                             .n_classes = 4};
    check_encoder("onlstm", &onlstm);
    onlstm.rnn_pool = RNN_POOL_MAX;
    onlstm.onlstm_chunk = 1;
    check_encoder("onlstm-max", &onlstm);
    onlstm.rnn_pool = RNN_POOL_MEAN;
    check_encoder("onlstm-mean", &onlstm);
    // Both directions' projections side by side in a cached row (8H).
    network_config bilstm = onlstm;
    bilstm.encoder = ENCODER_BILSTM;
    bilstm.rnn_hidden = 5;
    check_encoder("bilstm-mean", &bilstm);
    bilstm.rnn_pool = RNN_POOL_LAST;
    bilstm.head = HEAD_SIGMOID;
    check_encoder("bilstm-last", &bilstm);
}

// A borrowed embedding (node and parent parts reading a shared table): no cache before it has its table, then one
// that reads it, with the plain path's predictions; borrowing another table drops the cache.
static void test_borrowed(void)
{
    network_config cfg = {.encoder = ENCODER_BIGRU_ATT,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 20,
                          .embed_dim = 4,
                          .rnn_hidden = 3,
                          .n_classes = 1,
                          .borrowed_embedding = true};
    network *net = NULL;
    CHECK_STATUS(network_create(&net, &cfg, 9, 12, NETWORK_INFERENCE), HFTC_STATUS_OK);
    if (!net)
        return;
    CHECK(network_word_cache_bytes(net) == 0);
    CHECK_STATUS(network_set_word_cache(net, SIZE_MAX), HFTC_STATUS_OK);
    CHECK(!network_has_word_cache(net));
    rng r;
    rng_seed(&r, 5, 0);
    network_init(net, &r);
    float table[20 * 4], other[20 * 4];
    for (size_t i = 0; i < 20 * 4; i++)
        table[i] = rng_uniform(&r, -0.5f, 0.5f), other[i] = rng_uniform(&r, -0.5f, 0.5f);
    network_borrow_embedding(net, table);
    batch x = batch_make(21, 9, 12, 20), y = batch_make(22, 5, 7, 20);
    float plain[14], cached[14];
    predict_two(net, &x, &y, 1, plain);
    CHECK(network_word_cache_bytes(net) > 0);
    CHECK_STATUS(network_set_word_cache(net, SIZE_MAX), HFTC_STATUS_OK);
    CHECK(network_has_word_cache(net));
    predict_two(net, &x, &y, 1, cached);
    CHECK_MSG(test_max_diff(plain, cached, 14) <= 1e-6, "borrowed: cached predictions differ by %g",
              test_max_diff(plain, cached, 14));
    network_borrow_embedding(net, other);
    CHECK(!network_has_word_cache(net));
    predict_two(net, &x, &y, 1, cached);
    CHECK(test_max_diff(plain, cached, 14) > 1e-6); /* the other table's words */
    free(x.tokens), free(x.lengths), free(y.tokens), free(y.lengths);
    network_free(net);
}

int main(void)
{
    test_rows();
    test_encoders();
    test_borrowed();
    TEST_MAIN_END();
}
