/* The ngram encoder's pieces against double-precision references and central differences (tests/gradcheck.h):
 * the bigram hash (pinned values: it decides which row a bigram reads, in model files too), the bag layer
 * (nn/bag.c: the mean of word rows and hashed bigram rows, its gradients to both and its row-sparse, sorted
 * touched-row list over batches and bucket counts that need 0 to 3 radix passes), and whole ngram networks
 * (embedding dropout, hidden layer or none, both heads, ids past the vocabulary). */
#include "gradcheck.h"
#include "grads.h"
#include "model/network.h"
#include "nn/bag.h"

/* ---- the hash ---- */

// splitmix64's first output from state 0 is its published test vector 0xe220a8397b1dcdaf; the others were
// computed by the same steps in Python (tests/ref/make_golden_ngram.py's bigram_bucket).
static void test_bigram_hash(void)
{
    CHECK(rng_hash_pair(0, 0) == 0xe220a8397b1dcdafULL);
    CHECK(rng_hash_pair(2, 5) == 0xc75dbbc736c00a84ULL && rng_hash_pair(5, 2) == 0x1a03a0b70f05e711ULL);
    CHECK(bag_bigram_bucket(2, 5, 1000000) == 191556 && bag_bigram_bucket(5, 2, 1000000) == 762705);
    CHECK(bag_bigram_bucket(1, 1, 13) == 5 && bag_bigram_bucket(37072, 4, 2000000) == 965123);
    CHECK(bag_bigram_bucket(4000000000u, 7, 100000000) == 38300333 && bag_bigram_bucket(9, 9, 1) == 0);
    uint32_t tokens[2 * 4] = {2, 5, 2, 7, 1, 1, 9, 9}, ids[2 * 4];
    size_t lengths[2] = {3, 1};
    memset(ids, 0xff, sizeof ids);
    bag_bigrams(ids, tokens, lengths, 2, 4, 1000000);
    CHECK(ids[0] == 191556 && ids[1] == 762705 && ids[2] == 0xffffffffu && ids[4] == 0xffffffffu);
}

/* ---- the bag layer ---- */

typedef struct {
    const uint32_t *ids;
    const size_t *lengths;
    double *words, *table, *out, *r;
    size_t B, T, E;
} bag_ctx;

static double bag_loss(const void *p)
{
    const bag_ctx *c = p;
    for (size_t b = 0; b < c->B; b++) {
        size_t L = c->lengths[b];
        for (size_t e = 0; e < c->E; e++) {
            double s = 0.0;
            for (size_t t = 0; t < L; t++)
                s += c->words[(b * c->T + t) * c->E + e];
            for (size_t t = 0; t + 1 < L; t++)
                s += c->table[c->ids[b * c->T + t] * c->E + e];
            c->out[b * c->E + e] = L ? s / (double)(2 * L - 1) : 0.0;
        }
    }
    return dot(c->out, c->r, c->B * c->E);
}

// The rows of table that bigrams of the batch use, in order, and their count.
static size_t bucket_rows(uint32_t *rows, const uint32_t *ids, const size_t *lengths, size_t B, size_t T,
                          size_t n_buckets)
{
    size_t n = 0;
    for (uint32_t v = 0; v < n_buckets; v++) {
        bool used = false;
        for (size_t b = 0; b < B && !used; b++)
            for (size_t t = 0; t + 1 < lengths[b] && !used; t++)
                used = ids[b * T + t] == v;
        if (used)
            rows[n++] = v;
    }
    return n;
}

static void test_bag(void)
{
    enum { B = 4, T = 6, E = 3, N = 5 };
    rng r;
    rng_seed(&r, 21, 0);
    // Lengths: full, padded, one word (no bigram), none; repeated bigrams; garbage past the lengths.
    uint32_t tokens[B * T] = {3, 8, 3, 8, 2, 6, 4, 4, 4, 77, 77, 77, 9, 5, 5, 5, 5, 5, 1, 2, 3, 4, 5, 6}, ids[B * T];
    size_t lengths[B] = {6, 3, 1, 0};
    bag_bigrams(ids, tokens, lengths, B, T, N);
    float *words = random_floats(&r, B * T * E, -1, 1), *table = random_floats(&r, N * E, -1, 1);
    float *R = random_floats(&r, B * E, -1, 1), out[B * E];
    fill_padding(words, lengths, &r, B, T, E);
    bag_forward(test_compute, out, words, ids, lengths, table, B, T, E);
    double ref[B * E];
    bag_ctx c = {ids, lengths, to_double(words, B * T * E), to_double(table, N * E), ref, to_double(R, B * E), B, T, E};
    bag_loss(&c);
    check_forward("bag", out, ref, B * E, 1e-6);
    CHECK(all_equal(out + 3 * E, E, 0.0f));

    // Backward adds: the words' gradient starts at 0.5, its padded rows keep it exactly; the table's is compact (row j
    // the gradient of row rows[j]), zero as the optimisers leave it, and its room past the touched rows stays zero.
    float dwords[B * T * E], dtable[N * E] = {0}, dense[N * E];
    uint32_t rows[N], expected[N], scratch[3 * B * T + 1 + N];
    CHECK(bag_scratch_size(B, T, N) <= sizeof scratch / sizeof *scratch);
    for (size_t i = 0; i < B * T * E; i++)
        dwords[i] = 0.5f;
    size_t n_rows = 0;
    bag_backward(test_compute, dwords, dtable, rows, &n_rows, scratch, R, ids, lengths, B, T, E, N);
    size_t n_expected = bucket_rows(expected, ids, lengths, B, T, N);
    CHECK(n_rows == n_expected && memcmp(rows, expected, n_rows * sizeof *rows) == 0);
    CHECK(padding_is(dwords, lengths, 0.5f, B, T, E));
    CHECK(all_equal(dtable + n_rows * E, (N - n_rows) * E, 0.0f));
    for (size_t i = 0; i < B * T * E; i++)
        dwords[i] -= 0.5f;
    grad_spread(dense, dtable, rows, n_rows, N, E);
    check_gradient("bag.dwords", c.words, B * T * E, dwords, bag_loss, &c);
    check_gradient("bag.dtable", c.table, N * E, dense, bag_loss, &c);

    // Without dwords the table's gradient is the same; a second batch merges its rows (the rows after a new one
    // move) and adds: every row's sum is the first batch's plus the second's, exactly.
    float dtable2[N * E] = {0}, dense2[N * E];
    uint32_t rows2[N] = {0};
    size_t n2 = 0;
    bag_backward(test_compute, NULL, dtable2, rows2, &n2, scratch, R, ids, lengths, B, T, E, N);
    double *plain = to_double(dtable, N * E);
    CHECK(n2 == n_rows);
    check_forward("bag.dtable without dwords", dtable2, plain, N * E, 1e-6);
    free(plain);
    uint32_t tokens2[T] = {6, 2, 0, 0, 0, 0}, ids2[T];
    size_t lengths2[1] = {2};
    bag_bigrams(ids2, tokens2, lengths2, 1, T, N);
    bag_backward(test_compute, NULL, dtable2, rows2, &n2, scratch, R, ids2, lengths2, 1, T, E, N);
    bool listed = false;
    for (size_t j = 0; j < n2; j++)
        listed = listed || rows2[j] == ids2[0];
    CHECK(listed && n2 >= n_rows && n2 <= n_rows + 1);
    for (size_t j = 1; j < n2; j++)
        CHECK(rows2[j] > rows2[j - 1]);
    grad_spread(dense2, dtable2, rows2, n2, N, E);
    bool added = true;
    for (size_t v = 0; v < N; v++)
        for (size_t e = 0; e < E; e++)
            added = added && dense2[v * E + e] == (v == ids2[0] ? dense[v * E + e] + R[e] / 3.0f : dense[v * E + e]);
    CHECK(added);
    free(words), free(table), free(R), free(c.words), free(c.table), free(c.r);
}

// Bucket counts of 1, 200, 300 and 70,000 (0 to 3 radix passes, the result in either array): the row list and
// the table's gradient match a serial sum in document order.
static void test_bag_radix(void)
{
    enum { B = 3, T = 40, E = 2 };
    static const size_t counts[] = {1, 200, 300, 70000};
    uint32_t tokens[B * T], ids[B * T];
    size_t lengths[B] = {40, 17, 33};
    rng r;
    rng_seed(&r, 5, 0);
    for (size_t i = 0; i < B * T; i++)
        tokens[i] = (uint32_t)rng_below(&r, 12); /* few distinct bigrams: many repeats */
    float dout[B * E];
    for (size_t i = 0; i < B * E; i++)
        dout[i] = rng_uniform(&r, -1, 1);
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        size_t N = counts[k];
        bag_bigrams(ids, tokens, lengths, B, T, N);
        size_t room = N < B * T ? N : B * T;
        float *dtable = calloc(room * E, sizeof *dtable), *serial = calloc(N * E, sizeof *serial);
        float *dense = malloc(N * E * sizeof *dense);
        uint32_t *rows = malloc(room * sizeof *rows), *scratch = malloc(bag_scratch_size(B, T, N) * sizeof *scratch);
        size_t n_rows = 0;
        bag_backward(test_compute, NULL, dtable, rows, &n_rows, scratch, dout, ids, lengths, B, T, E, N);
        grad_spread(dense, dtable, rows, n_rows, N, E);
        size_t distinct = 0;
        for (size_t b = 0; b < B; b++)
            for (size_t t = 0; t + 1 < lengths[b]; t++)
                for (size_t e = 0; e < E; e++) {
                    float *s = serial + (size_t)ids[b * T + t] * E + e;
                    distinct += e == 0 && *s == 0.0f;
                    *s += dout[b * E + e] / (float)(2 * lengths[b] - 1);
                }
        bool sorted = n_rows == distinct;
        for (size_t j = 0; sorted && j < n_rows; j++)
            sorted = serial[(size_t)rows[j] * E] != 0.0f && (j == 0 || rows[j] > rows[j - 1]);
        CHECK_MSG(sorted, "%zu buckets: %zu rows listed, %zu used", N, n_rows, distinct);
        CHECK_MSG(memcmp(dense, serial, N * E * sizeof *dense) == 0, "%zu buckets: the sums differ", N);
        free(dtable), free(serial), free(dense), free(rows), free(scratch);
    }
}

/* ---- the whole network ---- */

typedef struct {
    const network_config *cfg;
    const uint32_t *tokens; /* the ids the network reads */
    const size_t *lengths;
    const uint8_t *emb_mask;
    size_t B, T;
    double *emb, *buckets;
    ref_head head;
} net_ctx;

static double net_loss(const void *p)
{
    const net_ctx *c = p;
    size_t B = c->B, T = c->T, E = c->cfg->embed_dim;
    double *x = malloc(B * T * E * sizeof *x), *features = malloc(B * E * sizeof *features);
    ref_embedding(x, c->tokens, c->lengths, c->emb, B, T, E);
    ref_dropout(x, c->emb_mask, B * T * E, c->cfg->embed_dropout);
    for (size_t b = 0; b < B; b++) {
        size_t L = c->lengths[b];
        for (size_t e = 0; e < E; e++) {
            double s = 0.0;
            for (size_t t = 0; t < L; t++)
                s += x[(b * T + t) * E + e];
            for (size_t t = 0; t + 1 < L; t++) {
                uint32_t row = bag_bigram_bucket(c->tokens[b * T + t], c->tokens[b * T + t + 1], c->cfg->buckets);
                s += c->buckets[row * E + e];
            }
            features[b * E + e] = s / (double)(2 * L - 1);
        }
    }
    double loss = ref_network_head(c->cfg, &c->head, features, B, E);
    free(x), free(features);
    return loss;
}

static void check_network(const network_config *cfg, const char *label)
{
    enum { B = 4, T = 7 };
    const uint64_t seed = 91;
    // Full, padded and one-word documents, repeated bigrams, ids outside the vocabulary (read as <unk>, and
    // hashed as it), garbage past the lengths.
    uint32_t tokens[B * T] = {2, 5, 7, 2, 5, 11, 4, 6, 1, 8, 99, 3, 99, 99, 10, 0, 0, 0, 0, 0, 0, 3, 3, 5, 3, 3, 5, 8};
    size_t lengths[B] = {7, 4, 1, 7};
    float targets[B * 3], pos_weight[3];
    network_check_targets(targets, pos_weight, cfg->head);
    network *net = network_check_create(cfg, B, T, 4);
    if (!net)
        return;
    param_set *ps = network_params(net);
    tensor *emb = params_find(ps, "embedding.weight"), *buckets = params_find(ps, "ngram.buckets");
    CHECK(buckets && buckets->row_sparse && buckets->shape[0] == cfg->buckets && buckets->shape[1] == cfg->embed_dim);

    net_ctx c = {
        .cfg = cfg, .lengths = lengths, .B = B, .T = T, .head = {.targets = targets, .pos_weight = pos_weight}};
    tensor *t_fc1_w, *t_fc1_b, *t_out_w, *t_out_b, *unused;
    c.emb = tensor_double(ps, "embedding.weight", &unused);
    c.buckets = tensor_double(ps, "ngram.buckets", &unused);
    c.head.fc1_w = tensor_double(ps, "fc1.weight", &t_fc1_w);
    c.head.fc1_b = tensor_double(ps, "fc1.bias", &t_fc1_b);
    c.head.out_w = tensor_double(ps, "out.weight", &t_out_w);
    c.head.out_b = tensor_double(ps, "out.bias", &t_out_b);
    uint32_t ref_tokens[B * T];
    ref_token_ids(ref_tokens, tokens, B * T, cfg->vocab_size);
    c.tokens = ref_tokens;

    check_network_predict(label, net, cfg, tokens, lengths, B, T, &c.head, net_loss, &c);
    // The encoder reads the token ids: it never runs from another network's embedded batch.
    float probs[B * 3];
    CHECK(network_reads_tokens(net));
    CHECK_STATUS(network_predict_embedded(net, test_compute, emb->value, lengths, B, T, probs),
                 HFTC_STATUS_INVALID_ARGUMENT);

    c.emb_mask = network_mask(0, seed, lengths, B, T * cfg->embed_dim, cfg->embed_dim, cfg->embed_dropout);
    c.head.mask = network_mask(1, seed, NULL, B, cfg->hidden ? cfg->hidden : cfg->embed_dim, 1, cfg->hidden_dropout);
    params_zero_grad(ps);
    float loss = network_train_batch(net, test_compute, tokens, lengths, B, T, targets, pos_weight, NULL, seed);
    CHECK_NEAR(loss, net_loss(&c), 1e-5);
    uint32_t ids[B * T], rows[64];
    bag_bigrams(ids, ref_tokens, lengths, B, T, cfg->buckets);
    size_t n_rows = bucket_rows(rows, ids, lengths, B, T, cfg->buckets);
    CHECK_MSG(buckets->n_touched == n_rows && !memcmp(buckets->touched_rows, rows, n_rows * sizeof *rows),
              "%s: %zu bucket rows touched, %zu used", label, buckets->n_touched, n_rows);
    float *emb_grad = grad_dense(emb), *buckets_grad = grad_dense(buckets);
    CHECK(all_equal(emb_grad, cfg->embed_dim, 0.0f));
    char name[96];
    snprintf(name, sizeof name, "%s embedding", label);
    check_gradient(name, c.emb + cfg->embed_dim, (cfg->vocab_size - 1) * cfg->embed_dim, emb_grad + cfg->embed_dim,
                   net_loss, &c);
    snprintf(name, sizeof name, "%s ngram.buckets", label);
    check_gradient(name, c.buckets, buckets->size, buckets_grad, net_loss, &c);
    free(emb_grad), free(buckets_grad);
    struct {
        tensor *t;
        double *v;
    } head[] = {{t_fc1_w, c.head.fc1_w}, {t_fc1_b, c.head.fc1_b}, {t_out_w, c.head.out_w}, {t_out_b, c.head.out_b}};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++) {
        if (!head[i].t)
            continue;
        snprintf(name, sizeof name, "%s %s", label, head[i].t->name);
        check_gradient(name, head[i].v, head[i].t->size, head[i].t->grad, net_loss, &c);
    }
    free(c.emb), free(c.buckets), free(c.head.fc1_w), free(c.head.fc1_b), free(c.head.out_w), free(c.head.out_b);
    free((void *)c.emb_mask), free((void *)c.head.mask);
    network_free(net);
}

static void test_network_sigmoid(void)
{
    network_config cfg = {.encoder = ENCODER_NGRAM,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 12,
                          .embed_dim = 4,
                          .buckets = 7,
                          .hidden = 5,
                          .n_classes = 3,
                          .embed_dropout = 0.3f,
                          .hidden_dropout = 0.4f};
    check_network(&cfg, "ngram(sigmoid, hidden)");
}

static void test_network_softmax(void)
{
    network_config cfg = {.encoder = ENCODER_NGRAM,
                          .head = HEAD_SOFTMAX,
                          .vocab_size = 12,
                          .embed_dim = 4,
                          .buckets = 5,
                          .n_classes = 3,
                          .embed_dropout = 0.25f,
                          .hidden_dropout = 0.5f};
    check_network(&cfg, "ngram(softmax)");
    // No word cache (no first-layer projection), and out-of-range bucket counts are refused.
    network *net = NULL;
    CHECK_STATUS(network_create(&net, &cfg, 2, 7, NETWORK_INFERENCE), HFTC_STATUS_OK);
    CHECK(net && network_word_cache_bytes(net) == 0);
    CHECK_STATUS(net ? network_set_word_cache(net, SIZE_MAX) : HFTC_STATUS_OK, HFTC_STATUS_OK);
    CHECK(net && !network_has_word_cache(net));
    network_free(net);
    cfg.buckets = 0;
    CHECK_STATUS(network_create(&net, &cfg, 2, 7, NETWORK_INFERENCE), HFTC_STATUS_INVALID_ARGUMENT);
    cfg.buckets = NETWORK_MAX_BUCKETS + 1;
    CHECK_STATUS(network_create(&net, &cfg, 2, 7, NETWORK_INFERENCE), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(net == NULL && strstr(hftc_last_error(), "buckets"));
}

static void test_few_skipped(void) { gradcheck_report("gradcheck_ngram", 250); }

int main(void)
{
    RUN_TEST(test_bigram_hash);
    RUN_TEST(test_bag);
    RUN_TEST(test_bag_radix);
    RUN_TEST(test_network_sigmoid);
    RUN_TEST(test_network_softmax);
    RUN_TEST(test_few_skipped);
    TEST_MAIN_END();
}
