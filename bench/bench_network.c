/* Micro-benchmark of a network on random data at full length, timed as bench/torch_cnn.py and
 * bench/torch_gru.py time PyTorch: one warm-up step, then --iters steps of network_train_batch +
 * adam_step, then --infer-iters (default --iters) calls of network_predict on new random documents,
 * then 50 batch-1 calls.
 * Inference runs as a loaded model runs it (an inference network with the word cache, nn/word_cache.h):
 * infer_docs_per_s starts from an empty cache and pays for each new word's rows as it comes (cold),
 * infer_warm_docs_per_s runs the same batches again, infer_plain_docs_per_s is without the cache (the
 * GEMM path; the GFLOP/s figures are of that path); latency_ms with the cache (warm), latency_plain_ms
 * without. Prints one JSON object; bench/run runs it beside the PyTorch reference. Not a test: run on
 * an idle machine.
 *
 * --encoder cnn (default): the Kim CNN at the HFT-CNN paper's sizes (XML-CNN with --pool-chunks and
 *   --hidden 512). Reports the GFLOP/s of the forward convolution (the dominant cost at 256 words), of a
 *   training step's GEMM work (the convolution's forward product and the dense layers' forward and two backward
 *   products: at 13 words the dense layers are a third of it), and the machine's GEMM rate on the
 *   convolution's largest product, so the fraction of peak is visible; and the time of the step's GEMMs alone at their
 *   shapes (step_gemm_ms beside step_ms): the step's ceiling, and what everything else in it costs.
 * --encoder bigru-att: HTrans's binary classifier (E=100, BiGRU 96 per direction, attention 192,
 *   dropout .4 on the GRU outputs, [attention | max | mean] -> output, 1 class, batch 128, T=100).
 *   Reports the GFLOP/s of the GEMM work: input projection 2*T*E*3H*2 directions, recurrence
 *   2*T*H*3H*2, attention 2*T*2H*A per document, times 3 for a training step; and the machine's GEMM
 *   rate on the input projection's product (B*T, 3H, E) and on one recurrent step's (B, 3H, H).
 * --encoder onlstm: HFT-ONLSTM's level classifier (E=300, ON-LSTM 500 with chunk 10, the last state,
 *   dropout .25 on the embedding and the state, MLP: fc1 500 tanh, dropout .5, batch norm, softmax over
 *   10 classes, batch 64, T=100). Reports the GFLOP/s of the GEMM work: input projection 2*T*E*G and
 *   recurrence 2*T*H*G per document (G = 2H/chunk + 4H), times 3 for a training step. */
#include "core/compute.h"
#include "core/rng.h"
#include "hftc.h"
#include "model/network.h"
#include "nn/adam.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX(a, b) ((a) > (b) ? (a) : (b))

static const char *arg_str(int argc, char **argv, const char *name, const char *fallback)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return fallback;
}

static size_t arg_size(int argc, char **argv, const char *name, size_t fallback)
{
    const char *s = arg_str(argc, argv, name, NULL);
    return s ? (size_t)strtoull(s, NULL, 10) : fallback;
}

static float arg_float(int argc, char **argv, const char *name, float fallback)
{
    const char *s = arg_str(argc, argv, name, NULL);
    return s ? strtof(s, NULL) : fallback;
}

// GFLOP/s of the product (M, N, K) through hftc's gemm wrapper: the best of reps runs of calls
// products each, after one untimed run.
static double gemm_rate(const compute_context *cc, size_t M, size_t N, size_t K, int reps, int calls)
{
    float *ga = calloc(M * K, sizeof(float)), *gb = calloc(N * K, sizeof(float)), *gc = malloc(M * N * sizeof(float));
    double best = 1e30;
    for (int rep = 0; ga && gb && gc && rep < reps; rep++) {
        double t0 = omp_get_wtime();
        for (int c = 0; c < calls; c++)
            gemm(cc, false, true, M, N, K, 1.0f, ga, K, gb, K, 0.0f, gc, N);
        double s = omp_get_wtime() - t0;
        best = rep > 0 && s < best ? s : best;
    }
    free(ga), free(gb), free(gc);
    return 2.0 * (double)M * (double)N * (double)K * (double)calls / best / 1e9;
}

// Seconds of the CNN training step's GEMMs alone, at their shapes and transposes, best of reps after one untimed pass:
// per window the convolution's forward product (B*(T-k+1), k*F, E: the rows a window reaches), then the dense layers'
// forward product and, in reverse, their weight and input gradients (the input gradient of the first dense layer too:
// it feeds the pooling's). What a step costs beyond this is everything else: the step's ceiling on the fraction of the
// GEMM peak.
static double cnn_step_gemm_seconds(const compute_context *cc, const network_config *cfg, size_t B, size_t T, int reps)
{
    size_t E = cfg->embed_dim, F = cfg->n_filters, D = cfg->n_windows * F * cfg->pool_chunks;
    size_t widths[3] = {D, cfg->hidden ? cfg->hidden : cfg->n_classes, cfg->n_classes}; /* the dense layers' */
    size_t n_dense = cfg->hidden ? 2 : 1, floats = 0;
    for (size_t w = 0; w < cfg->n_windows; w++) /* x (B*T, E), the slices (k*F, E), the products (B*T, k*F) */
        floats = MAX(floats, B * T * E + cfg->windows[w] * F * (E + B * T));
    for (size_t l = 0; l < n_dense; l++) /* x and dx (B, in), dy (B, out), W (out, in) */
        floats = MAX(floats, 2 * B * widths[l] + B * widths[l + 1] + widths[l] * widths[l + 1]);
    float *buf = calloc(floats, sizeof(float));
    double best = 1e30;
    for (int rep = 0; buf && rep <= reps; rep++) {
        double t0 = omp_get_wtime();
        for (size_t w = 0; w < cfg->n_windows; w++) {
            size_t kF = cfg->windows[w] * F;
            size_t rows = B * (T - cfg->windows[w] + 1); /* each slice's rows that a window reaches */
            gemm(cc, false, true, rows, kF, E, 1.0f, buf, E, buf + B * T * E, E, 0.0f, buf + B * T * E + kF * E, kF);
        }
        for (size_t l = 0; l < n_dense; l++) { /* forward: y (B, out) = x W^T */
            size_t in = widths[l], out = widths[l + 1];
            float *x = buf, *y = x + B * in, *W = y + B * out;
            gemm(cc, false, true, B, out, in, 1.0f, x, in, W, in, 0.0f, y, out);
        }
        for (size_t l = n_dense; l-- > 0;) { /* backward: dW (out, in) += dy^T x, dx (B, in) = dy W */
            size_t in = widths[l], out = widths[l + 1];
            float *x = buf, *dy = x + B * in, *W = dy + B * out, *dx = W + in * out;
            gemm(cc, true, false, out, in, B, 1.0f, dy, out, x, in, 1.0f, W, in);
            gemm(cc, false, false, B, in, out, 1.0f, dy, out, W, in, 0.0f, dx, in);
        }
        double s = omp_get_wtime() - t0;
        best = rep > 0 && s < best ? s : best;
    }
    free(buf);
    return best;
}

// n word ids drawn by Zipf's law over ids 2 .. V-1 (id 2 the most frequent: frequency ~ 1 / rank), as
// words recur in text; cdf has room for V - 2 values.
static void zipf_words(uint32_t *words, size_t n, double *cdf, size_t V, rng *r)
{
    double sum = 0.0;
    for (size_t k = 0; k < V - 2; k++)
        cdf[k] = sum += 1.0 / (double)(k + 1);
    for (size_t i = 0; i < n; i++) {
        double u = (double)rng_float(r) * sum;
        size_t lo = 0, hi = V - 3;
        while (lo < hi) { /* the first rank whose cumulative weight exceeds u */
            size_t mid = (lo + hi) / 2;
            if (cdf[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        words[i] = 2 + (uint32_t)lo;
    }
}

// Seconds for batches first .. last of docs (each B x T), after an untimed call on batch 0 when first is 0.
static double predict_batches(network *net, const compute_context *cc, const uint32_t *docs, const size_t *lengths,
                              size_t B, size_t T, size_t first, size_t last, float *probs)
{
    double t0 = omp_get_wtime();
    for (size_t it = first; it <= last; it++) {
        if (it == 0 && first == 0) {
            network_predict(net, cc, docs, lengths, B, T, NULL, NULL, probs);
            t0 = omp_get_wtime();
            continue;
        }
        network_predict(net, cc, docs + it * B * T, lengths, B, T, NULL, NULL, probs);
    }
    return omp_get_wtime() - t0;
}

// Mean seconds of network_predict on one document, over 50 documents of docs after one untimed call.
static double batch1_latency(network *net, const compute_context *cc, const uint32_t *docs, const size_t *lengths,
                             size_t B, size_t T, float *probs)
{
    const size_t n_single = 50;
    network_predict(net, cc, docs, lengths, 1, T, NULL, NULL, probs);
    double t0 = omp_get_wtime();
    for (size_t it = 0; it < n_single; it++)
        network_predict(net, cc, docs + (it % B) * T, lengths, 1, T, NULL, NULL, probs);
    return (omp_get_wtime() - t0) / (double)n_single;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: bench_network [--encoder cnn|bigru-att|onlstm] [--threads 2] [--iters 10] [--seed 1]\n"
                   "                     [--infer-iters N (inference batches; default --iters)]\n"
                   "                     [--only train|infer|latency (profiling; no JSON)] [--word-cache on|off]\n"
                   "  cnn:       [--batch 100] [--len 256] [--classes 20] [--vocab 50000] [--dim 300]\n"
                   "             [--filters 128] [--hidden 1024] [--pool-chunks 1]\n"
                   "  bigru-att: [--batch 128] [--len 100] [--classes 1] [--vocab 50000] [--dim 100]\n"
                   "             [--rnn-hidden 96] [--attention 0 (= 2 x rnn-hidden)] [--hidden 0]\n"
                   "             [--rnn-dropout 0.4] [--embed-dropout 0] [--hidden-dropout 0]\n"
                   "  onlstm:    [--batch 64] [--len 100] [--classes 10] [--vocab 50000] [--dim 300]\n"
                   "             [--rnn-hidden 500] [--chunk 10] [--hidden 500]\n");
            return 0;
        }
    const char *encoder = arg_str(argc, argv, "--encoder", "cnn"), *only = arg_str(argc, argv, "--only", "");
    bool no_cache = strcmp(arg_str(argc, argv, "--word-cache", "on"), "off") == 0;
    bool latency_only = strcmp(only, "latency") == 0;
    bool train_phase = !*only || !strcmp(only, "train"), infer_phase = !*only || !strcmp(only, "infer");
    bool gru = strcmp(encoder, "bigru-att") == 0, onlstm = strcmp(encoder, "onlstm") == 0;
    if (!gru && !onlstm && strcmp(encoder, "cnn") != 0) {
        fprintf(stderr, "bench_network: unknown encoder '%s' (cnn, bigru-att or onlstm)\n", encoder);
        return 1;
    }
    size_t threads = arg_size(argc, argv, "--threads", 2);
    size_t B = arg_size(argc, argv, "--batch", gru ? 128 : onlstm ? 64 : 100);
    size_t T = arg_size(argc, argv, "--len", gru || onlstm ? 100 : 256);
    size_t C = arg_size(argc, argv, "--classes", gru ? 1 : onlstm ? 10 : 20);
    size_t iters = arg_size(argc, argv, "--iters", 10), V = arg_size(argc, argv, "--vocab", 50000);
    size_t infer_iters = arg_size(argc, argv, "--infer-iters", 0);
    infer_iters = infer_iters ? infer_iters : iters;
    size_t seed = arg_size(argc, argv, "--seed", 1);
    network_config cfg;
    if (gru)
        cfg = (network_config){.encoder = ENCODER_BIGRU_ATT,
                               .head = HEAD_SIGMOID,
                               .vocab_size = V,
                               .embed_dim = arg_size(argc, argv, "--dim", 100),
                               .rnn_hidden = arg_size(argc, argv, "--rnn-hidden", 96),
                               .attention_dim = arg_size(argc, argv, "--attention", 0),
                               .rnn_dropout = arg_float(argc, argv, "--rnn-dropout", 0.4f),
                               .hidden = arg_size(argc, argv, "--hidden", 0),
                               .n_classes = C,
                               .embed_dropout = arg_float(argc, argv, "--embed-dropout", 0.0f),
                               .hidden_dropout = arg_float(argc, argv, "--hidden-dropout", 0.0f)};
    else if (onlstm)
        cfg = (network_config){.encoder = ENCODER_ONLSTM,
                               .head = HEAD_SOFTMAX,
                               .vocab_size = V,
                               .embed_dim = arg_size(argc, argv, "--dim", 300),
                               .rnn_hidden = arg_size(argc, argv, "--rnn-hidden", 500),
                               .onlstm_chunk = arg_size(argc, argv, "--chunk", 10),
                               .rnn_pool = RNN_POOL_LAST,
                               .rnn_dropout = 0.25f,
                               .hidden = arg_size(argc, argv, "--hidden", 500),
                               .hidden_activation = ACTIVATION_TANH,
                               .hidden_batchnorm = true,
                               .n_classes = C,
                               .embed_dropout = 0.25f,
                               .hidden_dropout = 0.5f};
    else
        cfg = (network_config){.encoder = ENCODER_CNN,
                               .head = HEAD_SIGMOID,
                               .vocab_size = V,
                               .embed_dim = arg_size(argc, argv, "--dim", 300),
                               .n_windows = 3,
                               .windows = {2, 3, 4},
                               .n_filters = arg_size(argc, argv, "--filters", 128),
                               .pool_chunks = arg_size(argc, argv, "--pool-chunks", 1),
                               .hidden = arg_size(argc, argv, "--hidden", 1024),
                               .n_classes = C,
                               .embed_dropout = 0.25f,
                               .hidden_dropout = 0.5f};
    if (V < 3 || B == 0 || T == 0 || C == 0 || iters == 0) {
        fprintf(stderr, "bench_network: sizes must be positive (vocab >= 3)\n");
        return 1;
    }
    compute_context cc = compute_context_of((int)threads);
    network *net;
    if (network_create(&net, &cfg, B, T, NETWORK_TRAINING) != HFTC_STATUS_OK) {
        fprintf(stderr, "bench_network: %s\n", hftc_last_error());
        return 1;
    }
    rng r;
    rng_seed(&r, seed, 0);
    network_init(net, &r);
    uint32_t *tokens = malloc(B * T * sizeof *tokens);
    size_t *lengths = malloc(B * sizeof *lengths);
    float *targets = malloc(B * C * sizeof *targets), *probs = malloc(B * C * sizeof *probs);
    if (!tokens || !lengths || !targets || !probs) {
        fprintf(stderr, "bench_network: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < B * T; i++)
        tokens[i] = 2 + (uint32_t)rng_below(&r, V - 2);
    for (size_t b = 0; b < B; b++)
        lengths[b] = T; /* full-length documents: the same work as the PyTorch reference */
    // One positive in ten for the CNN's multi-label outputs; a balanced binary task for HTrans's.
    // HFT-ONLSTM's softmax: one class per document.
    float positive_rate = gru ? 0.5f : 0.1f;
    for (size_t i = 0; i < B * C; i++)
        targets[i] = !onlstm && rng_float(&r) < positive_rate ? 1.0f : 0.0f;
    for (size_t b = 0; onlstm && b < B; b++)
        targets[b * C + rng_below(&r, C)] = 1.0f;

    adam opt;
    adam_init(&opt, 1e-3f);
    param_set *ps = network_params(net);
    float loss = 0.0f;
    double t0 = 0.0;
    for (size_t it = 0; train_phase && it <= iters; it++) {
        if (it == 1)
            t0 = omp_get_wtime();
        loss = network_train_batch(net, &cc, tokens, lengths, B, T, targets, NULL, NULL, it);
        adam_step(&opt, &cc, ps);
    }
    double train_s = omp_get_wtime() - t0;
    if (!infer_phase && !latency_only) {
        printf("bench_network: %zu training steps, %.3f s\n", iters, train_s);
        return 0;
    }
    // Inference as a loaded model runs it: an inference network, new documents in every batch.
    // Without the word cache first (batch 0 untimed), then with it from empty over batches 1..iters
    // (the rows of each new word computed as it comes: "cold"), then the same batches again ("warm").
    // The cache's cost depends on how often words recur: its documents draw words as text does, by
    // Zipf's law (frequency ~ 1 / rank), and once more uniformly (each word as rare as any: the worst
    // case). Without the cache the cost does not depend on the words.
    if (network_set_mode(net, NETWORK_INFERENCE) != HFTC_STATUS_OK) {
        fprintf(stderr, "bench_network: %s\n", hftc_last_error());
        return 1;
    }
    size_t n_doc_words = (infer_iters + 1) * B * T;
    uint32_t *docs = malloc(n_doc_words * sizeof *docs), *uniform = malloc(n_doc_words * sizeof *uniform);
    double *cdf = malloc((V - 2) * sizeof *cdf);
    if (!docs || !uniform || !cdf) {
        fprintf(stderr, "bench_network: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n_doc_words; i++)
        uniform[i] = 2 + (uint32_t)rng_below(&r, V - 2);
    zipf_words(docs, n_doc_words, cdf, V, &r);
    if (latency_only) { /* batch-1 calls only, the words cached unless --word-cache off */
        if (!no_cache)
            network_set_word_cache(net, SIZE_MAX);
        double sum = 0.0;
        for (size_t it = 0; it < iters; it++)
            sum += batch1_latency(net, &cc, docs + B * T, lengths, B, T, probs);
        printf("bench_network: batch-1 latency %.3f ms (word cache %s)\n", sum / (double)iters * 1e3,
               network_has_word_cache(net) ? "on" : "off");
        return 0;
    }
    double infer_plain_s = predict_batches(net, &cc, uniform, lengths, B, T, 0, infer_iters, probs);
    bool cached = !no_cache && network_set_word_cache(net, SIZE_MAX) == HFTC_STATUS_OK && network_has_word_cache(net);
    double infer_s = cached ? predict_batches(net, &cc, docs, lengths, B, T, 1, infer_iters, probs) : infer_plain_s;
    double infer_warm_s =
        cached ? predict_batches(net, &cc, docs, lengths, B, T, 1, infer_iters, probs) : infer_plain_s;
    network_set_word_cache(net, cached ? SIZE_MAX : 0); /* empty again */
    double infer_uniform_s =
        cached ? predict_batches(net, &cc, uniform, lengths, B, T, 1, infer_iters, probs) : infer_plain_s;
    if (!train_phase) {
        printf("bench_network: %zu inference batches, %.3f s (word cache %s: %.3f s cold, %.3f s warm, %.3f s cold "
               "on uniform words)\n",
               infer_iters, infer_plain_s, cached ? "on" : "off", infer_s, infer_warm_s, infer_uniform_s);
        return 0;
    }
    bool finite = true;
    for (size_t i = 0; i < B * C; i++)
        finite = finite && probs[i] >= 0.0f && probs[i] <= 1.0f;
    // Batch-1 latency: one document at a time, as a server would see it, its words in the cache.
    network_set_word_cache(net, cached ? SIZE_MAX : 0);
    predict_batches(net, &cc, docs, lengths, B, T, 1, 1, probs);
    double latency_s = batch1_latency(net, &cc, docs + B * T, lengths, B, T, probs);
    network_set_word_cache(net, 0);
    double latency_plain_s = batch1_latency(net, &cc, docs + B * T, lengths, B, T, probs);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double train_docs = (double)(B * iters) / train_s, infer_docs = (double)(B * infer_iters) / infer_s;
    double infer_warm_docs = (double)(B * infer_iters) / infer_warm_s,
           infer_plain_docs = (double)(B * infer_iters) / infer_plain_s;
    double infer_uniform_docs = (double)(B * infer_iters) / infer_uniform_s;
    double peak_mb = (double)usage.ru_maxrss / 1024.0;

    if (onlstm) {
        double E = (double)cfg.embed_dim, H = (double)cfg.rnn_hidden, G = 2.0 * H / (double)cfg.onlstm_chunk + 4.0 * H;
        double fwd = 2.0 * (double)T * (E + H) * G; /* per document */
        size_t Gi = (size_t)G;
        double proj_peak = gemm_rate(&cc, B * T, Gi, cfg.embed_dim, 4, 1);
        double step_rate = gemm_rate(&cc, B, Gi, cfg.rnn_hidden, 4, 100);
        printf(
            "{\"system\": \"hftc\", \"encoder\": \"onlstm\", \"threads\": %zu, \"batch\": %zu, \"len\": %zu, "
            "\"classes\": %zu, \"vocab\": %zu, \"dim\": %zu, \"rnn_hidden\": %zu, \"chunk\": %zu, "
            "\"last_loss\": %.4f, \"probs_ok\": %s, \"train_docs_per_s\": %.1f, \"infer_docs_per_s\": %.1f, "
            "\"latency_ms\": %.3f, \"infer_warm_docs_per_s\": %.1f, \"infer_uniform_docs_per_s\": %.1f, "
            "\"infer_plain_docs_per_s\": %.1f, "
            "\"latency_plain_ms\": %.3f, \"fwd_mflop_per_doc\": %.2f, \"train_gflops\": %.1f, \"infer_gflops\": %.1f, "
            "\"gemm_peak_gflops\": %.1f, \"step_gemm_gflops\": %.1f, \"peak_rss_mb\": %.1f}\n",
            threads, B, T, C, V, cfg.embed_dim, cfg.rnn_hidden, cfg.onlstm_chunk, (double)loss,
            finite ? "true" : "false", train_docs, infer_docs, latency_s * 1e3, infer_warm_docs, infer_uniform_docs,
            infer_plain_docs, latency_plain_s * 1e3, fwd / 1e6, 3.0 * fwd * train_docs / 1e9,
            fwd * infer_plain_docs / 1e9, proj_peak, step_rate, peak_mb);
    } else if (gru) {
        double E = (double)cfg.embed_dim, H = (double)cfg.rnn_hidden;
        double A = cfg.attention_dim ? (double)cfg.attention_dim : 2.0 * H;
        double proj = 2.0 * (double)T * E * 3.0 * H * 2.0, rec = 2.0 * (double)T * H * 3.0 * H * 2.0;
        double att = 2.0 * (double)T * 2.0 * H * A, fwd = proj + rec + att; /* per document */
        double proj_peak = gemm_rate(&cc, B * T, 3 * cfg.rnn_hidden, cfg.embed_dim, 4, 1);
        double step_rate = gemm_rate(&cc, B, 3 * cfg.rnn_hidden, cfg.rnn_hidden, 4, 100);
        printf(
            "{\"system\": \"hftc\", \"encoder\": \"bigru-att\", \"threads\": %zu, \"batch\": %zu, \"len\": %zu, "
            "\"classes\": %zu, \"vocab\": %zu, \"dim\": %zu, \"rnn_hidden\": %zu, \"attention\": %.0f, "
            "\"last_loss\": %.4f, \"probs_ok\": %s, \"train_docs_per_s\": %.1f, \"infer_docs_per_s\": %.1f, "
            "\"latency_ms\": %.3f, \"infer_warm_docs_per_s\": %.1f, \"infer_uniform_docs_per_s\": %.1f, "
            "\"infer_plain_docs_per_s\": %.1f, "
            "\"latency_plain_ms\": %.3f, \"fwd_mflop_per_doc\": %.2f, \"train_gflops\": %.1f, \"infer_gflops\": %.1f, "
            "\"gemm_peak_gflops\": %.1f, \"step_gemm_gflops\": %.1f, \"peak_rss_mb\": %.1f}\n",
            threads, B, T, C, V, cfg.embed_dim, cfg.rnn_hidden, A, (double)loss, finite ? "true" : "false", train_docs,
            infer_docs, latency_s * 1e3, infer_warm_docs, infer_uniform_docs, infer_plain_docs, latency_plain_s * 1e3,
            fwd / 1e6, 3.0 * fwd * train_docs / 1e9, fwd * infer_plain_docs / 1e9, proj_peak, step_rate, peak_mb);
    } else {
        // The GEMM peak: the convolution's largest product (B*T, 4F, E) through the same wrapper.
        double gemm_peak = gemm_rate(&cc, B * T, 4 * cfg.n_filters, cfg.embed_dim, 4, 1);
        double conv_flops = 0.0;
        for (size_t w = 0; w < cfg.n_windows; w++)
            conv_flops += 2.0 * (double)(B * (T - cfg.windows[w] + 1)) * (double)(cfg.windows[w] * cfg.embed_dim) *
                          (double)cfg.n_filters;
        // A training step's GEMM work, counted as the recurrent rows count theirs: the convolution's forward product
        // over a window's T - k + 1 positions, as PyTorch computes it (counted over all T rows until 2026-12-08: at 13
        // words 21% more convolution work than there is; its backward is sparse: 1-max pooling passes gradient to one
        // window per filter and document) and the
        // dense layers' forward and two backward products. At 13 words the dense layers are a third of it.
        double D = (double)(cfg.n_windows * cfg.n_filters * cfg.pool_chunks), H = (double)cfg.hidden;
        double dense_flops = 2.0 * (double)B * (H > 0.0 ? D * H + H * (double)C : D * (double)C);
        double step_flops = conv_flops + 3.0 * dense_flops;
        double step_gemm_s = cnn_step_gemm_seconds(&cc, &cfg, B, T, 20);
        printf("{\"system\": \"hftc\", \"threads\": %zu, \"batch\": %zu, \"len\": %zu, \"classes\": %zu, "
               "\"vocab\": %zu, \"last_loss\": %.4f, \"train_docs_per_s\": %.1f, \"infer_docs_per_s\": %.1f, "
               "\"latency_ms\": %.3f, \"infer_warm_docs_per_s\": %.1f, \"infer_uniform_docs_per_s\": %.1f, "
               "\"infer_plain_docs_per_s\": %.1f, "
               "\"latency_plain_ms\": %.3f, \"train_conv_gflops\": %.1f, \"infer_conv_gflops\": %.1f, "
               "\"gemm_peak_gflops\": %.1f, \"peak_rss_mb\": %.1f, \"pool_chunks\": %zu, "
               "\"step_mflop_per_doc\": %.2f, \"train_gflops\": %.1f, \"step_ms\": %.3f, \"step_gemm_ms\": %.3f}\n",
               threads, B, T, C, V, (double)loss, train_docs, infer_docs, latency_s * 1e3, infer_warm_docs,
               infer_uniform_docs, infer_plain_docs, latency_plain_s * 1e3, conv_flops * (double)iters / train_s / 1e9,
               conv_flops * (double)infer_iters / infer_plain_s / 1e9, gemm_peak, peak_mb, cfg.pool_chunks,
               step_flops / (double)B / 1e6, step_flops * (double)iters / train_s / 1e9, train_s / (double)iters * 1e3,
               step_gemm_s * 1e3);
    }
    free(tokens), free(lengths), free(targets), free(probs), free(docs), free(uniform), free(cdf);
    network_free(net);
    return 0;
}
