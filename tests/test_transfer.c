/* Transfer between level networks: at initialisation, the transferred tensors equal the source's
 * trained values and the fresh ones do not; the layer list is parsed exactly. */
#include "core/rng.h"
#include "model/transfer.h"
#include "nn/adam.h"

#include "test.h"

/* The layer set of a list that must parse. */
static uint64_t layers_of(const char *list)
{
    uint64_t layers = 0;
    CHECK(transfer_layers_parse(list, &layers));
    return layers;
}

static network *make(size_t classes, uint64_t seed)
{
    network_config cfg = {.encoder = ENCODER_CNN,
                          .head = HEAD_SIGMOID,
                          .vocab_size = 40,
                          .embed_dim = 8,
                          .n_windows = 2,
                          .windows = {2, 3},
                          .n_filters = 4,
                          .hidden = 16,
                          .n_classes = classes};
    network *net = NULL;
    CHECK_STATUS(network_create(&net, &cfg, 4, 10, NETWORK_TRAINING), HFTC_STATUS_OK);
    rng r;
    rng_seed(&r, seed, 0);
    if (net)
        network_init(net, &r);
    return net;
}

static bool same_values(network *a, network *b, const char *name)
{
    const tensor *x = params_find(network_params(a), name), *y = params_find(network_params(b), name);
    return x && y && x->size == y->size && !memcmp(x->value, y->value, x->size * sizeof(float));
}

/* Level 1 (3 outputs) is trained a few steps; level 2 (5 outputs) starts from it. */
static void test_finetune_initialisation(void)
{
    network *level1 = make(3, 1), *level2 = make(5, 2);
    if (!level1 || !level2)
        return;
    uint32_t tokens[4 * 10];
    size_t lengths[4] = {10, 7, 3, 1};
    float targets[4 * 3];
    rng r;
    rng_seed(&r, 3, 0);
    for (size_t i = 0; i < 40; i++)
        tokens[i] = 2 + (uint32_t)rng_below(&r, 38);
    for (size_t i = 0; i < 12; i++)
        targets[i] = (float)(i % 2);
    adam opt;
    adam_init(&opt, 1e-2f);
    for (int step = 0; step < 3; step++) {
        network_train_batch(level1, test_compute, tokens, lengths, 4, 10, targets, NULL, NULL, (uint64_t)step);
        adam_step(&opt, test_compute, network_params(level1));
    }
    CHECK(transfer_layers(level2, level1, layers_of("embedding,conv")) == 5); /* embedding, 2 x (conv weight, bias) */
    static const char *const moved[] = {"embedding.weight", "conv.2.weight", "conv.2.bias", "conv.3.weight",
                                        "conv.3.bias"};
    static const char *const fresh[] = {"fc1.weight", "fc1.bias", "out.weight", "out.bias"};
    for (size_t i = 0; i < 5; i++)
        CHECK_MSG(same_values(level1, level2, moved[i]), "%s not transferred", moved[i]);
    for (size_t i = 0; i < 4; i++)
        CHECK_MSG(!same_values(level1, level2, fresh[i]), "%s should start fresh", fresh[i]);
    /* fc1 has the same shape in both: it moves when listed; out differs in shape and never does */
    CHECK(transfer_layers(level2, level1, layers_of("fc1,out")) == 2);
    CHECK(same_values(level1, level2, "fc1.weight") && !same_values(level1, level2, "out.weight"));
    network_free(level1);
    network_free(level2);
}

static void test_layer_list(void)
{
    CHECK(transfer_layer_listed("conv.2.weight", layers_of("embedding,conv")));
    CHECK(transfer_layer_listed("embedding.weight", layers_of("embedding,conv")));
    CHECK(!transfer_layer_listed("fc1.weight", layers_of("embedding,conv")));
    uint64_t unused;
    CHECK(!transfer_layers_parse("con,embedding", &unused)); /* "con" is no layer, not a prefix of "conv" */
    CHECK(!transfer_layers_parse("convx", &unused));
    CHECK(transfer_layer_listed("out.bias", layers_of("out")));
    CHECK(!transfer_layer_listed("out.bias", layers_of("")));
    CHECK(transfer_layer_listed("out.bias", layers_of("fc1,,out")));
}

int main(void)
{
    RUN_TEST(test_finetune_initialisation);
    RUN_TEST(test_layer_list);
    TEST_MAIN_END();
}
