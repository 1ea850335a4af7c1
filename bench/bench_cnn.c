/* Micro-benchmark of the Kim CNN (HFT-CNN paper sizes by default; XML-CNN with --pool-chunks and
 * --hidden 512) on random data, timed as bench/torch_cnn.py times PyTorch: one warm-up step, then
 * --iters steps of network_train_batch + adam_step, then --iters calls of network_predict. Prints
 * docs/s for training and inference, the GFLOP/s of the forward convolution (the dominant cost) in
 * each, and the machine's GEMM rate on the convolution's largest product, so the fraction of peak is
 * visible. Prints one JSON object; bench/run-cnn runs it beside the PyTorch reference. Not a test:
 * run on an idle machine. */
#include "core/compute.h"
#include "core/rng.h"
#include "hftc.h"
#include "model/network.h"
#include "nn/adam.h"

#include <omp.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t arg_size(int argc, char **argv, const char *name, size_t fallback)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return (size_t)strtoull(argv[i + 1], NULL, 10);
    return fallback;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: bench_cnn [--threads 2] [--batch 100] [--len 256] [--classes 20] [--iters 10]\n"
                   "                 [--vocab 50000] [--dim 300] [--filters 128] [--hidden 1024] [--pool-chunks 1]\n"
                   "                 [--seed 1]\n");
            return 0;
        }
    size_t threads = arg_size(argc, argv, "--threads", 2), B = arg_size(argc, argv, "--batch", 100);
    size_t T = arg_size(argc, argv, "--len", 256), C = arg_size(argc, argv, "--classes", 20);
    size_t iters = arg_size(argc, argv, "--iters", 10), V = arg_size(argc, argv, "--vocab", 50000);
    size_t seed = arg_size(argc, argv, "--seed", 1);
    network_config cfg = {.encoder = ENCODER_CNN,
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
        fprintf(stderr, "bench_cnn: sizes must be positive (vocab >= 3)\n");
        return 1;
    }
    hftc_set_threads((int)threads);
    network *net;
    if (network_create(&net, &cfg, B, T, NETWORK_TRAINING) != HFTC_STATUS_OK) {
        fprintf(stderr, "bench_cnn: %s\n", hftc_last_error());
        return 1;
    }
    rng r;
    rng_seed(&r, seed, 0);
    network_init(net, &r);
    uint32_t *tokens = malloc(B * T * sizeof *tokens);
    size_t *lengths = malloc(B * sizeof *lengths);
    float *targets = malloc(B * C * sizeof *targets), *probs = malloc(B * C * sizeof *probs);
    if (!tokens || !lengths || !targets || !probs) {
        fprintf(stderr, "bench_cnn: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < B * T; i++)
        tokens[i] = 2 + (uint32_t)rng_below(&r, V - 2);
    for (size_t b = 0; b < B; b++)
        lengths[b] = T;
    for (size_t i = 0; i < B * C; i++)
        targets[i] = rng_float(&r) < 0.1f ? 1.0f : 0.0f;

    adam opt;
    adam_init(&opt, 1e-3f);
    param_set *ps = network_params(net);
    float loss = 0.0f;
    double t0 = 0.0;
    for (size_t it = 0; it <= iters; it++) {
        if (it == 1)
            t0 = omp_get_wtime();
        loss = network_train_batch(net, tokens, lengths, B, T, targets, NULL, NULL, it);
        adam_step(&opt, ps);
    }
    double train_s = omp_get_wtime() - t0;
    for (size_t it = 0; it <= iters; it++) {
        if (it == 1)
            t0 = omp_get_wtime();
        network_predict(net, tokens, lengths, B, T, NULL, NULL, probs);
    }
    double infer_s = omp_get_wtime() - t0;
    // Batch-1 latency: one document at a time, as a server would see it.
    const size_t n_single = 50;
    network_predict(net, tokens, lengths, 1, T, NULL, NULL, probs);
    t0 = omp_get_wtime();
    for (size_t it = 0; it < n_single; it++)
        network_predict(net, tokens + (it % B) * T, lengths, 1, T, NULL, NULL, probs);
    double latency_s = (omp_get_wtime() - t0) / (double)n_single;

    // The GEMM peak: the convolution's largest product (B*T, 4F, E) through the same wrapper.
    size_t M = B * T, N = 4 * cfg.n_filters, K = cfg.embed_dim;
    float *ga = calloc(M * K, sizeof(float)), *gb = calloc(N * K, sizeof(float)), *gc = malloc(M * N * sizeof(float));
    double gemm_s = 1e30;
    for (int rep = 0; ga && gb && gc && rep < 4; rep++) {
        t0 = omp_get_wtime();
        gemm(false, true, M, N, K, 1.0f, ga, K, gb, K, 0.0f, gc, N);
        double s = omp_get_wtime() - t0;
        gemm_s = rep > 0 && s < gemm_s ? s : gemm_s;
    }
    free(ga), free(gb), free(gc);

    double conv_flops = 0.0;
    for (size_t w = 0; w < cfg.n_windows; w++)
        conv_flops += 2.0 * (double)(B * T) * (double)(cfg.windows[w] * cfg.embed_dim) * (double)cfg.n_filters;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("{\"system\": \"hftc\", \"threads\": %zu, \"batch\": %zu, \"len\": %zu, \"classes\": %zu, "
           "\"vocab\": %zu, \"last_loss\": %.4f, \"train_docs_per_s\": %.1f, \"infer_docs_per_s\": %.1f, "
           "\"latency_ms\": %.3f, \"train_conv_gflops\": %.1f, \"infer_conv_gflops\": %.1f, "
           "\"gemm_peak_gflops\": %.1f, \"peak_rss_mb\": %.1f, \"pool_chunks\": %zu}\n",
           threads, B, T, C, V, (double)loss, (double)(B * iters) / train_s, (double)(B * iters) / infer_s,
           latency_s * 1e3, conv_flops * (double)iters / train_s / 1e9, conv_flops * (double)iters / infer_s / 1e9,
           2.0 * (double)M * (double)N * (double)K / gemm_s / 1e9, (double)usage.ru_maxrss / 1024.0, cfg.pool_chunks);
    free(tokens), free(lengths), free(targets), free(probs);
    network_free(net);
    return 0;
}
