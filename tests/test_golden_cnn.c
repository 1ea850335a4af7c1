/* The network against a PyTorch Kim CNN / XML-CNN built to be identical (tests/ref/make_golden_cnn.py
 * writes golden/cnn.golden): forward output, loss and every parameter gradient for a sigmoid/BCE variant
 * (windows 2,3,4, hidden layer, pos_weight), a softmax/CE variant (windows 1,3, no hidden layer) and an
 * XML-CNN variant (4 chunks per feature map against nn.AdaptiveMaxPool1d, bottleneck layer), the same
 * probabilities from an inference-only network, and the parameters after three Adam steps (SparseAdam for the
 * embedding). PyTorch computed in float64 from float32 weights, so the differences are our float32 rounding; any real
 * discrepancy fails the test. */
#include "golden.h"
#include "model/network.h"
#include "nn/adam.h"
#include "test.h"

#include <stdint.h>

#define GOLDEN_PATH "golden/cnn.golden"

// Reads a variant's configuration (with the head in gc->cfg.head) and inputs.
static bool case_read(golden_case *gc, const golden *g, const char *prefix)
{
    const double *config = golden_get(g, prefix, "config", 9);
    if (!config)
        return false;
    size_t n_windows = 0;
    for (size_t i = 0; i < g->n; i++)
        if (strncmp(g->records[i].name, prefix, strlen(prefix)) == 0 &&
            strcmp(g->records[i].name + strlen(prefix), "windows") == 0)
            n_windows = g->records[i].count;
    const double *windows = golden_get(g, prefix, "windows", n_windows);
    if (!windows || n_windows > NETWORK_MAX_WINDOWS)
        return false;
    gc->B = (size_t)config[5], gc->T = (size_t)config[6];
    gc->cfg = (network_config){.encoder = ENCODER_CNN,
                               .head = gc->cfg.head,
                               .vocab_size = (size_t)config[0],
                               .embed_dim = (size_t)config[1],
                               .n_windows = n_windows,
                               .n_filters = (size_t)config[2],
                               .pool_chunks = (size_t)config[7],
                               .conv_stride = (size_t)config[8],
                               .hidden = (size_t)config[3],
                               .n_classes = (size_t)config[4]};
    for (size_t w = 0; w < n_windows; w++)
        gc->cfg.windows[w] = (size_t)windows[w];
    return golden_case_inputs(gc, g, prefix);
}

static const golden_variant cnn_variant = {.read = case_read};

static void test_sigmoid(void) { golden_check_variant(GOLDEN_PATH, "sigmoid.", HEAD_SIGMOID, &cnn_variant); }

static void test_softmax(void) { golden_check_variant(GOLDEN_PATH, "softmax.", HEAD_SOFTMAX, &cnn_variant); }

static void test_xml_cnn(void) { golden_check_variant(GOLDEN_PATH, "xml.", HEAD_SIGMOID, &cnn_variant); }

// XML-CNN(2): the convolution at stride 2 against torch.nn.Conv1d(stride=2).
static void test_xml_cnn2(void) { golden_check_variant(GOLDEN_PATH, "xml2.", HEAD_SIGMOID, &cnn_variant); }

// Loads the sigmoid variant for the optimiser tests: groups as in the generator (conv and embedding
// in group 0, fc1 and out in group 1), the learning rates, and a copy of the initial values.
static network *adam_load(golden *g, golden_case *gc, adam *opt, float **initial)
{
    const double *lr = golden_get(g, "sigmoid.", "adam.lr", 2);
    gc->cfg.head = HEAD_SIGMOID;
    network *net = lr && case_read(gc, g, "sigmoid.") ? golden_network(gc, g, "sigmoid.", NETWORK_TRAINING) : NULL;
    if (!net)
        return NULL;
    param_set *ps = network_params(net);
    adam_init(opt, (float)lr[0]);
    opt->n_groups = 2;
    opt->groups[1] = (param_group){.lr = (float)lr[1], .frozen = false};
    *initial = malloc(ps->total * sizeof(float));
    for (size_t i = 0, off = 0; i < ps->n_tensors; off += ps->tensors[i++].size) {
        memcpy(*initial + off, ps->tensors[i].value, ps->tensors[i].size * sizeof(float));
        if (strncmp(ps->tensors[i].name, "fc1.", 4) == 0 || strncmp(ps->tensors[i].name, "out.", 4) == 0)
            ps->tensors[i].group = 1;
    }
    return net;
}

// Compares the change of every value after 3 steps with PyTorch's, relative to the largest change
// Adam can make in 3 steps (3 lr); also checks that the gradients were consumed.
static void adam_compare(const golden *g, const golden_case *gc, network *net, const adam *opt, const float *initial,
                         double tol, const char *label)
{
    param_set *ps = network_params(net);
    for (size_t i = 0, off = 0; i < ps->n_tensors; off += ps->tensors[i++].size) {
        tensor *t = &ps->tensors[i];
        char name[96];
        snprintf(name, sizeof name, "adam.%s", t->name);
        const double *ref = golden_get(g, "sigmoid.", name, t->size);
        if (!ref)
            continue;
        double reach = 3.0 * opt->groups[t->group].lr, worst = 0.0;
        size_t bad = 0;
        for (size_t j = 0; j < t->size; j++) {
            double err = fabs((double)t->value[j] - ref[j]) / reach;
            worst = err > worst ? err : worst;
            if (err > tol && bad++ < 5)
                fprintf(stderr, "  %s[%zu]: %.9g, torch %.9g (from %.9g)\n", t->name, j, t->value[j], ref[j],
                        initial[off + j]);
        }
        if (getenv("GOLDEN_VERBOSE"))
            fprintf(stderr, "%s %s: worst %.3g of the step size\n", label, t->name, worst);
        CHECK_MSG(bad == 0, "%s: %s: %zu values differ (worst %.3g of the step size)", label, t->name, bad, worst);
        bool zero = true;
        for (size_t j = 0; j < grad_floats(t); j++)
            zero = zero && t->grad[j] == 0.0f;
        CHECK_MSG(zero && t->n_touched == 0, "%s: gradient not consumed by adam_step", t->name);
    }
    // Lazy rows: an embedding row no document used, and row 0, have not moved at all.
    tensor *emb = params_find(ps, "embedding.weight");
    bool used[256] = {false}, still = true;
    for (size_t b = 0; b < gc->B; b++)
        for (size_t t = 0; t < gc->lengths[b]; t++)
            used[gc->tokens[b * gc->T + t]] = true;
    used[0] = false;
    for (size_t v = 0; v < gc->cfg.vocab_size && v < 256; v++)
        for (size_t e = 0; !used[v] && e < gc->cfg.embed_dim; e++)
            still = still && emb->value[v * gc->cfg.embed_dim + e] == initial[v * gc->cfg.embed_dim + e];
    CHECK(still);
}

// The optimiser alone: three adam_step calls fed PyTorch's own gradients (rounded to float32) against
// three steps of torch.optim.Adam (two groups) + torch.optim.SparseAdam (the embedding).
static void test_adam_steps(void)
{
    golden g;
    CHECK(golden_load(&g, GOLDEN_PATH));
    golden_case gc;
    adam opt;
    float *initial = NULL;
    network *net = adam_load(&g, &gc, &opt, &initial);
    if (!net) {
        CHECK_MSG(false, "adam: could not load the golden data");
    } else {
        param_set *ps = network_params(net);
        tensor *emb = params_find(ps, "embedding.weight");
        for (size_t step = 1; step <= 3; step++) {
            // The rows SparseAdam sees: every non-pad id at a valid position.
            emb->n_touched = 0;
            for (uint32_t v = 1; v < gc.cfg.vocab_size; v++)
                for (size_t b = 0, found = 0; b < gc.B && !found; b++)
                    for (size_t t = 0; t < gc.lengths[b] && !found; t++)
                        if (gc.tokens[b * gc.T + t] == v) {
                            emb->touched_rows[emb->n_touched++] = v;
                            found = 1;
                        }
            // PyTorch's gradients, the embedding's in its compact rows (row j: touched_rows[j]).
            for (size_t i = 0; i < ps->n_tensors; i++) {
                tensor *t = &ps->tensors[i];
                char name[96];
                snprintf(name, sizeof name, "adam.grad%zu.%s", step, t->name);
                const double *grad = golden_get(&g, "sigmoid.", name, t->size);
                size_t width = t->size / t->shape[0], rows = t->row_sparse ? t->n_touched : t->shape[0];
                for (size_t j = 0; grad && j < rows; j++) {
                    size_t r = t->row_sparse ? t->touched_rows[j] : j;
                    for (size_t e = 0; e < width; e++)
                        t->grad[j * width + e] = (float)grad[r * width + e];
                }
            }
            adam_step(&opt, test_compute, ps);
        }
        CHECK(opt.step == 3);
        adam_compare(&g, &gc, net, &opt, initial, 1e-5, "adam steps");
    }
    free(initial);
    network_free(net);
    golden_free(&g);
}

// Training end to end: three network_train_batch + adam_step against PyTorch. The losses agree to
// 1e-5; the parameters more loosely (1e-3 of the step size), because Adam divides each gradient by
// its own magnitude: an element whose gradient is ~1e-4 of its tensor's largest carries ~1e-3 relative
// float32 rounding into its update, and the moved value feeds the next step's gradients.
static void test_adam_training(void)
{
    golden g;
    CHECK(golden_load(&g, GOLDEN_PATH));
    golden_case gc;
    adam opt;
    float *initial = NULL;
    const double *losses = golden_get(&g, "sigmoid.", "adam.loss", 3);
    network *net = losses ? adam_load(&g, &gc, &opt, &initial) : NULL;
    if (!net) {
        CHECK_MSG(false, "adam: could not load the golden data");
    } else {
        golden_train_steps(net, &opt, 0.0f, &gc, losses, 3);
        adam_compare(&g, &gc, net, &opt, initial, 1e-3, "training");
    }
    free(initial);
    network_free(net);
    golden_free(&g);
}

int main(void)
{
    RUN_TEST(test_sigmoid);
    RUN_TEST(test_softmax);
    RUN_TEST(test_xml_cnn);
    RUN_TEST(test_xml_cnn2);
    RUN_TEST(test_adam_steps);
    RUN_TEST(test_adam_training);
    TEST_MAIN_END();
}
