/* hftc: the command line, a thin layer over libhftc. */
#include "commands.h"

#include "hftc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// In an MPI job, what a process other than rank 0 prints starts with its rank.
static void print_rank(void)
{
    if (hftc_distributed_rank() > 0)
        fprintf(stderr, "rank %d: ", hftc_distributed_rank());
}

static void log_to_stderr(hftc_log_level level, const char *message, void *user)
{
    (void)user;
    static const char *const prefix[] = {"error: ", "warning: ", "", ""};
    print_rank();
    fprintf(stderr, "%s%s\n", prefix[level], message);
}

void cli_setup_log(int verbose) { hftc_set_log(log_to_stderr, verbose ? HFTC_LOG_INFO : HFTC_LOG_WARN, NULL); }

int cli_fail(const char *command)
{
    print_rank();
    fprintf(stderr, "hftc %s: %s\n", command, hftc_last_error());
    return 1;
}

int cli_check_output(const char *command, const char *train, const char *valid, const char *taxonomy,
                     const char *output)
{
    hftc_train_options inputs;
    hftc_train_options_init(&inputs, NULL);
    inputs.train_path = train, inputs.valid_path = valid, inputs.taxonomy_path = taxonomy;
    hftc_status st = hftc_train_outputs_check(&inputs, output);
    if (st == HFTC_STATUS_OK)
        return 0;
    fprintf(stderr, "hftc %s: %s\n", command, hftc_last_error());
    return st == HFTC_STATUS_INVALID_ARGUMENT ? 2 : 1;
}

int cli_save_model(const char *command, hftc_model *m, const char *output, int quiet)
{
    hftc_status st = hftc_model_save(m, output);
    if (st == HFTC_STATUS_OK && !quiet)
        fprintf(stderr, "saved %s (%zu labels)\n", output, hftc_model_num_labels(m));
    hftc_model_free(m);
    return st == HFTC_STATUS_OK ? 0 : cli_fail(command);
}

int cli_load_model(const char *command, const char *path, int threads, size_t word_cache_mb, hftc_model **m)
{
    if (!path) {
        fprintf(stderr, "hftc %s: --model is required\n", command);
        return 2;
    }
    cli_setup_log(0);
    if (hftc_model_load(m, path) != HFTC_STATUS_OK)
        return cli_fail(command);
    hftc_model_set_threads(*m, threads);
    if (hftc_model_set_word_cache(*m, word_cache_mb << 20) != HFTC_STATUS_OK) {
        hftc_model_free(*m);
        return cli_fail(command);
    }
    return 0;
}

int cli_check_threshold(const char *command, float threshold)
{
    if ((threshold >= 0.0f && threshold <= 1.0f) || threshold == -1.0f)
        return 0;
    fprintf(stderr, "hftc %s: --threshold must be in [0, 1], or -1 for the model's (%g given)\n", command,
            (double)threshold);
    return 2;
}

static int usage(FILE *out)
{
    fprintf(out, "usage: hftc <command> [options]\n\n"
                 "commands:\n"
                 "  train     train a classifier:    hftc train --train F [--valid F] --output MODEL [--preset NAME]\n"
                 "  test      evaluate a model:      hftc test --model MODEL --input F [--json]\n"
                 "  predict   label documents:       hftc predict --model MODEL [--input F | -] [--k K] [--probs]\n"
                 "  ensemble  combine models:        hftc ensemble --model A --model B --valid F --output MODEL\n"
                 "  extend    add categories:        hftc extend --model M --taxonomy NEW --train F --output MODEL\n"
                 "  learn     train on from weights: hftc learn --model M --train F [--replay 0.2] --output MODEL\n"
                 "  report    write an HTML report:  hftc report --model MODEL --input F [--output report.html]\n"
                 "  info      describe a model file: hftc info --model MODEL\n"
                 "  serve     answer over HTTP:      hftc serve --model MODEL [--host ADDR] [--port N]\n"
                 "  tokens    the words train reads: hftc tokens --input F [--preset NAME]\n\n"
                 "'hftc <command> --help' lists every option with its default.\n");
    return out == stdout ? 0 : 2;
}

/* What libgomp and OpenBLAS read from the environment once, when they are loaded, and hftc chooses unless the
 * user has: the better OpenBLAS kernels where Debian 12's falls back to generic ones on CPUs newer than itself
 * (hftc_blas_better_kernels), and how long an OpenMP thread waiting at a barrier spins before it sleeps. libgomp
 * spins 300,000 times by default (milliseconds): on a machine where another process holds a core, a thread
 * spins for the whole of its slice while the thread it waits for has no core, and a 2-thread training ran 4.7
 * times slower beside one single-threaded process (issue 25). HFTC_SPIN_COUNT spins, about a microsecond, then
 * sleep: beside one busy process, ngram training took 2.0-2.4x its idle time against 5.4x, flat-cnn 1.9-2.0x
 * against 2.2-2.3x (docs/PERFORMANCE.md, "A busy machine"). hftc starts itself again with what it set; a user's
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT is theirs. */
#define HFTC_SPIN_COUNT "1000"

static void choose_runtime_environment(char **argv)
{
    const char *better = hftc_blas_better_kernels();
    bool kernels = better && !getenv("OPENBLAS_CORETYPE");
    bool spin = !getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT");
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1); // this program's file, as valgrind reports it
    if (!(kernels || spin) || n <= 0 || (size_t)n >= sizeof self - 1)
        return;
    if ((kernels && setenv("OPENBLAS_CORETYPE", better, 1)) || (spin && setenv("GOMP_SPINCOUNT", HFTC_SPIN_COUNT, 1)))
        return;
    self[n] = '\0';
    execv(self, argv); // returns only if it failed: carry on as loaded
    if (kernels)
        unsetenv("OPENBLAS_CORETYPE");
    if (spin)
        unsetenv("GOMP_SPINCOUNT");
}

int main(int argc, char **argv)
{
    choose_runtime_environment(argv);
    if (argc < 2)
        return usage(stderr);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))
        return usage(stdout);
    if (!strcmp(cmd, "--version")) {
        const char *mpi = hftc_mpi_library();
        printf("hftc 0.1.0 (OpenBLAS %s kernels, %s%s)\n", hftc_blas_kernels(), mpi ? "MPI: " : "no MPI",
               mpi ? mpi : "");
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {{"train", cmd_train},   {"test", cmd_test},    {"predict", cmd_predict},   {"info", cmd_info},
                    {"tokens", cmd_tokens}, {"serve", cmd_serve},  {"ensemble", cmd_ensemble}, {"extend", cmd_extend},
                    {"learn", cmd_learn},   {"report", cmd_report}};
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "hftc: unknown command '%s'\n", cmd);
    return usage(stderr);
}
