/* The ngram network against a PyTorch fastText-style model built to be identical (tests/ref/make_golden_ngram.py
 * writes golden/ngram.golden): torch.nn.EmbeddingBag(mode="mean") over each document's word ids and hashed bigram
 * rows of one table (hftc's embedding and ngram.buckets). The bigrams' buckets (the hash written again in Python),
 * probabilities, loss and every gradient for a sigmoid/BCE variant with a hidden layer and a softmax/CE variant
 * with an empty document, the same probabilities from an inference-only network, the buckets' touched rows, and
 * training: three network_train_batch + adam_step against
 * SparseAdam on the table and Adam on the head, and three sgd_steps against torch.optim.SGD on the summed loss. PyTorch
 * computed in float64 from float32 weights, so the differences are our float32 rounding. */
#include "golden.h"
#include "model/network.h"
#include "nn/adam.h"
#include "nn/bag.h"
#include "nn/sgd.h"
#include "test.h"

#define GOLDEN_PATH "golden/ngram.golden"

// Reads a variant's configuration (with the head in gc->cfg.head) and inputs; the bigrams' buckets must be the
// generator's.
static bool case_read(golden_case *gc, const golden *g, const char *prefix)
{
    const double *config = golden_get(g, prefix, "config", 7);
    if (!config)
        return false;
    gc->B = (size_t)config[5], gc->T = (size_t)config[6];
    gc->cfg = (network_config){.encoder = ENCODER_NGRAM,
                               .head = gc->cfg.head,
                               .vocab_size = (size_t)config[0],
                               .embed_dim = (size_t)config[1],
                               .buckets = (size_t)config[2],
                               .hidden = (size_t)config[3],
                               .n_classes = (size_t)config[4]};
    if (!golden_case_inputs(gc, g, prefix))
        return false;
    const golden_record *bigrams = golden_find(g, prefix, "bigram_ids");
    size_t n = 0;
    bool same = bigrams != NULL;
    for (size_t b = 0; same && b < gc->B; b++)
        for (size_t t = 0; same && t + 1 < gc->lengths[b]; t++, n++) {
            const uint32_t *tok = gc->tokens + b * gc->T;
            same = n < bigrams->count && bigrams->data[n] == bag_bigram_bucket(tok[t], tok[t + 1], gc->cfg.buckets);
        }
    CHECK_MSG(same && bigrams && n == bigrams->count, "%s: the bigrams' buckets differ from PyTorch's", prefix);
    return same && bigrams && n == bigrams->count;
}

// The buckets' touched rows after the training pass: the distinct buckets of the batch's bigrams, sorted; some
// bigrams share a bucket.
static void check_bucket_rows(network *net, const golden_case *gc, const golden *g, const char *prefix)
{
    (void)gc;
    tensor *buckets = params_find(network_params(net), "ngram.buckets");
    const golden_record *bigrams = golden_find(g, prefix, "bigram_ids");
    bool used[64] = {false}, listed = bigrams && buckets->shape[0] <= 64;
    size_t distinct = 0;
    for (size_t i = 0; listed && i < bigrams->count; i++) {
        distinct += !used[(size_t)bigrams->data[i]];
        used[(size_t)bigrams->data[i]] = true;
    }
    listed = listed && buckets->n_touched == distinct;
    for (size_t j = 0; listed && j < buckets->n_touched; j++)
        listed = used[buckets->touched_rows[j]] && (j == 0 || buckets->touched_rows[j] > buckets->touched_rows[j - 1]);
    CHECK_MSG(listed && distinct < bigrams->count, "%s: bucket rows: %zu listed, %zu expected (of %zu bigrams)", prefix,
              buckets->n_touched, distinct, bigrams ? bigrams->count : 0);
}

static const golden_variant ngram_variant = {.read = case_read, .more = check_bucket_rows};

static void test_sigmoid(void) { golden_check_variant(GOLDEN_PATH, "sigmoid.", HEAD_SIGMOID, &ngram_variant); }

static void test_softmax(void) { golden_check_variant(GOLDEN_PATH, "softmax.", HEAD_SOFTMAX, &ngram_variant); }

/* Three training steps against PyTorch, by Adam (opt "adam": SparseAdam on the table, lr[0], Adam on the head,
 * lr[1]) or by SGD on the summed loss (opt "sgd", lr[0] for all): the losses to 1e-5, the parameters to 1e-4 of
 * the largest change the optimiser makes in three steps (Adam: 3 lr, since its normalisation amplifies the float32
 * rounding of tiny gradients, 2e-6 seen; SGD: the tensor's largest change in PyTorch). Values PyTorch leaves
 * unmoved (rows no document used, the embedding's <pad> among them; dead ReLU units) have not moved at all. */
static void check_training(const char *opt_name)
{
    golden g;
    CHECK(golden_load(&g, GOLDEN_PATH));
    bool adam_steps = !strcmp(opt_name, "adam");
    golden_case gc = {.cfg = {.head = HEAD_SIGMOID}};
    char key[96];
    snprintf(key, sizeof key, "%s.lr", opt_name);
    const double *lr = golden_get(&g, "sigmoid.", key, adam_steps ? 2 : 1);
    snprintf(key, sizeof key, "%s.loss", opt_name);
    const double *losses = golden_get(&g, "sigmoid.", key, 3);
    network *net =
        lr && losses && case_read(&gc, &g, "sigmoid.") ? golden_network(&gc, &g, "sigmoid.", NETWORK_TRAINING) : NULL;
    if (!net) {
        CHECK_MSG(false, "%s: could not load the golden data", opt_name);
        golden_free(&g);
        return;
    }
    param_set *ps = network_params(net);
    adam opt;
    adam_init(&opt, (float)lr[0]);
    opt.n_groups = 2;
    opt.groups[1] = (param_group){.lr = adam_steps ? (float)lr[1] : (float)lr[0], .frozen = false};
    float *initial[PARAMS_MAX_TENSORS] = {NULL};
    for (size_t i = 0; i < ps->n_tensors; i++) {
        tensor *t = &ps->tensors[i];
        t->group = strncmp(t->name, "fc1.", 4) == 0 || strncmp(t->name, "out.", 4) == 0;
        initial[i] = malloc(t->size * sizeof(float));
        memcpy(initial[i], t->value, t->size * sizeof(float));
    }
    golden_train_steps(net, adam_steps ? &opt : NULL, (float)lr[0], &gc, losses, 3);
    for (size_t i = 0; i < ps->n_tensors; i++) {
        tensor *t = &ps->tensors[i];
        snprintf(key, sizeof key, "%s.%s", opt_name, t->name);
        const double *ref = golden_get(&g, "sigmoid.", key, t->size);
        double reach = 3.0 * opt.groups[t->group].lr, worst = 0.0;
        for (size_t j = 0; ref && !adam_steps && j < t->size; j++)
            reach = j == 0 || fabs(ref[j] - initial[i][j]) > reach ? fabs(ref[j] - initial[i][j]) : reach;
        reach = reach > 1e-12 ? reach : 1e-12;
        size_t still = 0, unmoved = 0;
        for (size_t j = 0; ref && j < t->size; j++) {
            double err = fabs((double)t->value[j] - ref[j]) / reach;
            worst = err > worst ? err : worst;
            unmoved += ref[j] == (double)initial[i][j];
            still += ref[j] == (double)initial[i][j] && t->value[j] == initial[i][j];
        }
        if (getenv("GOLDEN_VERBOSE"))
            fprintf(stderr, "%s training %s: worst %.3g of the step size, %zu unmoved\n", opt_name, t->name, worst,
                    unmoved);
        CHECK_MSG(worst <= 1e-4, "%s training: %s differs from PyTorch by %.3g of the step size", opt_name, t->name,
                  worst);
        CHECK_MSG(still == unmoved, "%s training: %s: %zu of PyTorch's %zu unmoved values moved", opt_name, t->name,
                  unmoved - still, unmoved);
        free(initial[i]);
    }
    network_free(net);
    golden_free(&g);
}

static void test_adam_training(void) { check_training("adam"); }

static void test_sgd_training(void) { check_training("sgd"); }

int main(void)
{
    RUN_TEST(test_sigmoid);
    RUN_TEST(test_softmax);
    RUN_TEST(test_adam_training);
    RUN_TEST(test_sgd_training);
    TEST_MAIN_END();
}
