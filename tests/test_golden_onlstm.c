/* The onlstm network with the HFT-ONLSTM paper's MLP head against a PyTorch model whose ON-LSTM is
 * written from the paper's equations with the reference code's gate layout
 * (tests/ref/make_golden_onlstm.py writes golden/onlstm.golden): eval-mode probabilities and loss
 * (batch norm's running statistics), the training-mode loss and every parameter gradient (batch
 * statistics), and the running statistics that training step leaves; chunk 1 with the last state,
 * chunk 2 with max pooling, documents of different lengths down to 1. Weights are loaded by tensor
 * name (element counts checked), so a gate layout differing from the reference code's would fail
 * here. PyTorch computed in float64 from float32 weights, so the differences are our float32 rounding;
 * gradients are held to 1e-4 (golden_recurrent_grad_tol) as the GRU's are (back-propagation through time), except
 * fc1.bias: batch norm makes the terms of its sum over the batch cancel to ~1e-3 of their size, and
 * PyTorch's own float32 run is off its float64 result by 2.7e-3 there in this measure (ours: 1.7e-3);
 * held to 5e-3. A wrong formula is off by 1e-2 or more. */
#include "golden.h"
#include "model/network.h"
#include "test.h"

#define GOLDEN_PATH "golden/onlstm.golden"

static bool case_read(golden_case *gc, const golden *g, const char *prefix)
{
    const double *config = golden_get(g, prefix, "config", 9);
    if (!config)
        return false;
    gc->B = (size_t)config[7], gc->T = (size_t)config[8];
    gc->cfg = (network_config){.encoder = ENCODER_ONLSTM,
                               .head = HEAD_SOFTMAX,
                               .vocab_size = (size_t)config[0],
                               .embed_dim = (size_t)config[1],
                               .rnn_hidden = (size_t)config[2],
                               .onlstm_chunk = (size_t)config[3],
                               .rnn_pool = config[4] ? RNN_POOL_MAX : RNN_POOL_LAST,
                               .hidden = (size_t)config[5],
                               .hidden_activation = ACTIVATION_TANH,
                               .hidden_batchnorm = true,
                               .n_classes = (size_t)config[6]};
    return golden_case_inputs(gc, g, prefix);
}

static const golden_variant onlstm_variant = {
    .read = case_read, .grad_tol = golden_recurrent_grad_tol, .more = golden_check_statistics};

static void test_last(void) { golden_check_variant(GOLDEN_PATH, "last.", HEAD_SOFTMAX, &onlstm_variant); }

static void test_max_chunked(void) { golden_check_variant(GOLDEN_PATH, "max.", HEAD_SOFTMAX, &onlstm_variant); }

int main(void)
{
    RUN_TEST(test_last);
    RUN_TEST(test_max_chunked);
    TEST_MAIN_END();
}
