/* Flat and level models trained data-parallel across the processes of an MPI job ($MPIEXEC --oversubscribe -np N
 * $HFTC_BIN train, on generated data): under mpirun -np 1 the model of a plain process, bit for bit; at -np 2 test
 * metrics within 0.01 of -np 1's (the tensors differ by the float summation order alone: the largest difference is
 * printed), the same model on every run, also when a training stopped at its time limit again and again continues
 * from rank 0's checkpoint; rank 0 alone logs, with the bytes a step sends. Linear models (flat, level, node)
 * spread their classifiers over the processes instead: the same model as one process, bit for bit.
 * Four networks: a flat CNN, a level CNN fine-tuned level by level, fastText's ngram (SGD, a row-sparse bucket table
 * beside the embedding) and a level ONLSTM with dropout everywhere and batch norm, whose last training batch of one
 * document leaves rank 1 an empty share (289 = 18 x 16 + 1).
 * Built and run only where hftc is built with MPI (tests/CMakeLists.txt). */
#include "hftc.h"
#include "command.h"
#include "hierarchy.h"
#include "test.h"
#include "tmpfiles.h"

#include <math.h>

typedef struct {
    const char *name, *options;
} network_kind;

static const network_kind kinds[] = {
    {"flat", "--preset flat-cnn --dim 8 --filters 4 --hidden 16 --lr 0.01"},
    {"level", "--preset hft-cnn --dim 8 --filters 4 --hidden 16 --lr 0.01"},
    {"flat-ngram", "--preset ngram --dim 8 --buckets 1000 --batch 8"},
    {"level-batchnorm", "--preset hft-onlstm --dim 8 --rnn-hidden 8 --onlstm-chunk 2 --hidden 8 --freeze-embeddings 0 "
                        "--lr 0.01"},
};
#define N_KINDS (sizeof kinds / sizeof *kinds)

static char data[1024]; /* the data and the options every training shares */

/* Trains kind k with processes ranks (0: without mpirun) into output, with extra options; returns the exit status,
 * the output in out. */
static int train_as(const network_kind *kind, size_t processes, const char *output, const char *extra, char *out,
                    size_t size)
{
    char cmd[4096], launcher[512] = "";
    if (processes)
        snprintf(launcher, sizeof launcher, "%s --oversubscribe -np %zu ", getenv("MPIEXEC"), processes);
    snprintf(cmd, sizeof cmd, "%s%s train %s %s --output %s %s 2>&1", launcher, getenv("HFTC_BIN"), data, kind->options,
             output, extra);
    return run_command(cmd, out, size);
}

static int train(size_t k, size_t processes, const char *output, const char *extra, char *out, size_t size)
{
    return train_as(&kinds[k], processes, output, extra, out, size);
}

static const char *model_path(size_t k, const char *run)
{
    char name[128];
    snprintf(name, sizeof name, "%s-%s.hftc", kinds[k].name, run);
    return tmpfiles_path(name);
}

static hftc_model *load(const char *path)
{
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_model_load(&m, path), HFTC_STATUS_OK);
    return m;
}

/* The largest difference between the two models' parameters (the same layout). */
static double largest_difference(const hftc_model *a, const hftc_model *b)
{
    double worst = 0.0;
    for (size_t p = 0; p < a->n_parts && p < b->n_parts; p++) {
        const param_set *x = network_params(a->parts[p].net), *y = network_params(b->parts[p].net);
        const float *u = (const float *)x->values.base, *v = (const float *)y->values.base;
        for (size_t i = 0; x->values.used == y->values.used && i < x->values.used / sizeof(float); i++)
            worst = fmax(worst, fabs((double)u[i] - (double)v[i]));
    }
    return worst;
}

static hftc_evaluation evaluate(hftc_model *m)
{
    hftc_input_options in = {.path = tmpfiles_path("test.tsv"), .format = "auto", .threshold = -1.0f};
    hftc_evaluation e = {0};
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    return e;
}

/* Each network: a plain process, mpirun -np 1 and -np 2 (twice); rank 0 alone logs, with the bytes per step. */
static void test_ranks(void)
{
    char out[16384];
    for (size_t k = 0; k < N_KINDS; k++) {
        const char *plain = model_path(k, "plain"), *one = model_path(k, "np1"), *two = model_path(k, "np2"),
                   *again = model_path(k, "np2-again");
        CHECK_MSG(train(k, 0, plain, "--quiet", out, sizeof out) == 0, "%s, one process: %s", kinds[k].name, out);
        CHECK_MSG(train(k, 1, one, "--quiet", out, sizeof out) == 0, "%s, -np 1: %s", kinds[k].name, out);
        CHECK_MSG(train(k, 2, again, "--quiet", out, sizeof out) == 0, "%s, -np 2: %s", kinds[k].name, out);
        CHECK_MSG(train(k, 2, two, "", out, sizeof out) == 0, "%s, -np 2: %s", kinds[k].name, out);
        const char *bytes = strstr(out, "MB a training step");
        CHECK_MSG(bytes && !strstr(out, "rank 1") && strstr(out, "across 2 ranks"), "%s, -np 2: %s", kinds[k].name,
                  out);
        hftc_model *a = load(plain), *b = load(one), *c = load(two), *d = load(again);
        if (!a || !b || !c || !d) {
            hftc_model_free(a), hftc_model_free(b), hftc_model_free(c), hftc_model_free(d);
            continue;
        }
        CHECK_MSG(same_classifiers(a, b), "%s: mpirun -np 1 trains another model than one process", kinds[k].name);
        CHECK_MSG(same_classifiers(c, d), "%s: two runs at -np 2 train different models", kinds[k].name);
        hftc_evaluation e1 = evaluate(b), e2 = evaluate(c);
        fprintf(stderr,
                "%s: -np 2 against -np 1: parameters differ by %.3g at most; test micro-F1 %.4f against %.4f, "
                "macro-F1 %.4f against %.4f\n",
                kinds[k].name, largest_difference(b, c), e2.micro_f1, e1.micro_f1, e2.macro_f1, e1.macro_f1);
        CHECK_MSG(fabs(e1.micro_f1 - e2.micro_f1) <= 0.01 && fabs(e1.macro_f1 - e2.macro_f1) <= 0.01,
                  "%s: -np 2 micro-F1 %.4f, macro-F1 %.4f; -np 1 %.4f, %.4f", kinds[k].name, e2.micro_f1, e2.macro_f1,
                  e1.micro_f1, e1.macro_f1);
        hftc_model_free(a), hftc_model_free(b), hftc_model_free(c), hftc_model_free(d);
    }
}

/* A level training at -np 2 stopped at its time limit after every epoch: exit status 3 at each stop (every rank
 * stops), each call continuing from rank 0's checkpoint, to the uninterrupted -np 2 model. */
static void test_checkpoint(void)
{
    char out[16384], extra[1024];
    const char *checkpoint = tmpfiles_path("ck.hftc"), *resumed = model_path(1, "resumed");
    snprintf(extra, sizeof extra, "--checkpoint %s --time-limit 0.000001", checkpoint);
    int status;
    size_t stops = 0;
    while ((status = train(1, 2, resumed, extra, out, sizeof out)) == 3 && stops < 40) {
        CHECK_MSG(strstr(out, "time limit") && strstr(out, "ck.hftc") && !strstr(out, "rank 1"), "stop %zu: %s", stops,
                  out);
        stops++;
    }
    CHECK_MSG(status == 0 && stops >= 3, "status %d after %zu stops: %s", status, stops, out);
    CHECK_MSG(status != 0 || same_model_files(model_path(1, "np2"), resumed),
              "the -np 2 training continued from its checkpoint differs");
    CHECK(access(checkpoint, F_OK) != 0); /* rank 0 removed it */
}

/* The linear family's classifiers, each level's spread over the processes (every strategy): the model of a plain
 * process, bit for bit, at -np 2 and -np 3 (a rank with fewer classifiers than threads). In the training file physics
 * always comes with quantum: the flat model's two classifiers are one problem, trained once and copied on every
 * rank (linear_twins.c). */
static void test_linear_spread(void)
{
    static const char *const strategies[] = {"flat", "level", "node"};
    char out[16384], options[512];
    const char *twins = tmpfiles_path("twins-train.tsv");
    FILE *in = fopen(tmpfiles_path("train.tsv"), "r"), *copy = fopen(twins, "w");
    char line[4096];
    while (in && copy && fgets(line, sizeof line, in)) {
        bool physics = !strncmp(line, "science,physics\t", 16);
        fprintf(copy, "%s%s", physics ? "science,physics,quantum\t" : line, physics ? line + 16 : "");
    }
    fclose(in), fclose(copy);
    for (size_t s = 0; s < sizeof strategies / sizeof *strategies; s++) {
        snprintf(options, sizeof options, "--preset linear --strategy %s --linear-c 1,10 --train %s", strategies[s],
                 twins);
        network_kind linear = {strategies[s], options};
        char name[64];
        snprintf(name, sizeof name, "linear-%s-plain.hftc", strategies[s]);
        const char *plain = tmpfiles_path(name);
        CHECK_MSG(train_as(&linear, 0, plain, "", out, sizeof out) == 0, "%s", out);
        for (size_t np = 2; np <= 3; np++) {
            snprintf(name, sizeof name, "linear-%s-np%zu.hftc", strategies[s], np);
            const char *spread = tmpfiles_path(name);
            CHECK_MSG(train_as(&linear, np, spread, "", out, sizeof out) == 0, "%s", out);
            CHECK_MSG(strstr(out, "MPI: "), "%s", out);
            CHECK_MSG(strcmp(strategies[s], "flat") || strstr(out, "1 of 7 classifiers have the documents"), "%s", out);
            CHECK_MSG(same_model_files(plain, spread), "linear %s at -np %zu differs from one process", strategies[s],
                      np);
        }
    }
}

int main(void)
{
    if (!getenv("MPIEXEC") || !getenv("HFTC_BIN")) {
        fprintf(stderr, "mpi_level: run by ctest, which sets MPIEXEC and HFTC_BIN\n");
        return 1;
    }
    tmpfiles_init("mpi-level");
    const char *tax = tmpfiles_write("taxonomy.tsv", hierarchy_taxonomy, strlen(hierarchy_taxonomy));
    hierarchy_write(tmpfiles_path("train.tsv"), 289, 1);
    hierarchy_write(tmpfiles_path("valid.tsv"), 60, 2);
    hierarchy_write(tmpfiles_path("test.tsv"), 100, 5);
    snprintf(data, sizeof data,
             "--train %s --valid %s --taxonomy %s --max-len 12 --batch 16 --epochs 3 --seed 3 --threads 1",
             tmpfiles_path("train.tsv"), tmpfiles_path("valid.tsv"), tax);
    RUN_TEST(test_ranks);
    RUN_TEST(test_checkpoint);
    RUN_TEST(test_linear_spread);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
