/* Node models trained across the processes of an MPI job ($MPIEXEC --oversubscribe -np 2 $HFTC_BIN train, on
 * generated data): the same classifiers, bit for bit, as one process on as many threads in all; a rank killed
 * ends the job with its rank named; a training stopped (time limit, killed rank) continues from rank 0's
 * checkpoint under one process or two and ends with that model too; the training record counts the
 * processes. (Flat and level models: mpi_level.c.)
 * Built and run only where hftc is built with MPI (tests/CMakeLists.txt). */
#include "hftc.h"
#include "command.h"
#include "hierarchy.h"
#include "test.h"
#include "tmpfiles.h"

#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char common[2048];     /* the training's data and options, all but the threads and the output */
static const char *one_model; /* the training's model in one process of two threads */
#define N_RUNS 14             /* 7 classifiers x 2 class weights */

/* Trains with processes ranks (0: without mpirun) of threads threads each into output, with extra options;
 * returns the exit status, the output in out. */
static int train(size_t processes, int threads, const char *output, const char *extra, char *out, size_t size)
{
    char cmd[4096], launcher[512] = "";
    if (processes)
        snprintf(launcher, sizeof launcher, "%s --oversubscribe -np %zu ", getenv("MPIEXEC"), processes);
    snprintf(cmd, sizeof cmd, "%s%s train %s --threads %d --output %s %s 2>&1", launcher, getenv("HFTC_BIN"), common,
             threads, output, extra);
    return run_command(cmd, out, size);
}

static hftc_model *load(const char *path)
{
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_model_load(&m, path), HFTC_STATUS_OK);
    return m;
}

static json_int_t processes_recorded(const hftc_model *m)
{
    json_t *record = json_loads(m->training_json, 0, NULL);
    json_int_t n = json_integer_value(json_object_get(record, "processes"));
    json_decref(record);
    return n;
}

/* The pid of the rank rank of the job whose command line names this program's directory (ranks of other
 * jobs may run beside it), or 0 if there is none (yet). */
static pid_t rank_pid(int rank)
{
    char want[64], path[64], buf[8192];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    DIR *proc = opendir("/proc");
    pid_t found = 0;
    for (struct dirent *e; proc && !found && (e = readdir(proc));) {
        pid_t pid = (pid_t)atoi(e->d_name);
        bool ours = false, ranked = false;
        for (int file = 0; pid > 0 && file < 2; file++) { /* cmdline and environ: strings ending in '\0' */
            snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file ? "environ" : "cmdline");
            FILE *f = fopen(path, "rb");
            size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
            if (f)
                fclose(f);
            buf[n] = '\0';
            for (size_t at = 0; at < n; at += strlen(buf + at) + 1) {
                ours = ours || (!file && strstr(buf + at, tmpfiles_dir()));
                ranked = ranked || (file && !strcmp(buf + at, want));
            }
        }
        found = ours && ranked ? pid : 0;
    }
    if (proc)
        closedir(proc);
    return found;
}

/* The output so far of the command run_killing_rank1 runs, in out. */
static void read_log(const char *log, char *out, size_t size)
{
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(out, 1, size - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
}

/* Starts cmd, kills rank 1 of its job with SIGKILL once the output says ready, and waits for the job to end (at
 * most 120 s: a hang otherwise); returns its exit status, -1 for a hang, its output in out. */
static int run_killing_rank1(const char *cmd, const char *ready, char *out, size_t size)
{
    const char *log = tmpfiles_path("killed.log");
    pid_t job = fork();
    if (job == 0) {
        setpgid(0, 0);
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    bool killed = false, ended = false;
    for (int tick = 0; job > 0 && tick < 12000 && !ended; tick++) { /* ticks of 10 ms */
        if (!killed)
            read_log(log, out, size);
        pid_t victim = killed || !strstr(out, ready) ? 0 : rank_pid(1);
        if (victim)
            killed = kill(victim, SIGKILL) == 0;
        ended = waitpid(job, &status, WNOHANG) == job;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    if (job > 0 && !ended) {
        kill(-job, SIGKILL);
        waitpid(job, &status, 0);
    }
    read_log(log, out, size);
    CHECK_MSG(killed, "rank 1 was not found to kill");
    return ended && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Two processes of one thread train the model of one process of two threads; the record counts the
 * processes; rank 0 alone logs, and says how the runs were spread: each once, over the two. */
static void test_same_model(void)
{
    char out[8192];
    CHECK_MSG(train(0, 2, one_model, "--quiet", out, sizeof out) == 0, "one process: %s", out);
    const char *two = tmpfiles_path("two.hftc");
    CHECK_MSG(train(2, 1, two, "", out, sizeof out) == 0, "two processes: %s", out);
    const char *line = strstr(out, "classifier runs trained by each of the 2 processes: ");
    unsigned long by0 = 0, by1 = 0;
    CHECK_MSG(line && sscanf(strchr(line, ':') + 1, "%lu, %lu", &by0, &by1) == 2 && by0 + by1 == N_RUNS,
              "two processes: %s", out);
    const char *read = strstr(out, "300 documents");
    CHECK_MSG(read && !strstr(read + 1, "300 documents") && !strstr(out, "rank 1"), "two processes: %s", out);
    hftc_model *a = load(one_model), *b = load(two);
    if (a && b) {
        CHECK_MSG(same_classifiers(a, b), "2 processes x 1 thread train another model than 1 process x 2 threads");
        CHECK(processes_recorded(a) == 1 && processes_recorded(b) == 2);
    }
    hftc_model_free(a);
    hftc_model_free(b);
}

/* A training stopped at its time limit again and again, under two processes or one in turn: exit status 3 at
 * each stop (every rank stops), each call continuing from rank 0's checkpoint to the uninterrupted model. */
static void test_checkpoint(void)
{
    char out[8192], extra[1024];
    const char *checkpoint = tmpfiles_path("ck.hftc"), *resumed = tmpfiles_path("resumed.hftc");
    snprintf(extra, sizeof extra, "--checkpoint %s --time-limit 0.000001", checkpoint);
    int status;
    size_t stops = 0;
    while ((status = train(stops % 3 == 2 ? 0 : 2, stops % 3 == 2 ? 2 : 1, resumed, extra, out, sizeof out)) == 3 &&
           stops < 40) {
        CHECK_MSG(strstr(out, "time limit") && strstr(out, "ck.hftc"), "stop %zu: %s", stops, out);
        CHECK_MSG(!stops == !strstr(out, "continuing from the checkpoint"), "stop %zu: %s", stops, out);
        stops++;
    }
    CHECK_MSG(status == 0 && stops >= 3, "status %d after %zu stops: %s", status, stops, out);
    CHECK_MSG(status != 0 || same_model_files(one_model, resumed),
              "the training continued from its checkpoint differs");
    CHECK(access(checkpoint, F_OK) != 0); /* rank 0 removed it */
}

/* A rank killed with SIGKILL mid-training ends the job with an error naming it, not a hang, and the same
 * command then continues from rank 0's checkpoint. On 3,000 documents and 20 epochs, so that the training
 * lasts seconds; the kill comes once rank 0 says it continues from the checkpoint, after the job's start (a
 * process killed while Open MPI 4.1 starts the job can leave its launcher waiting). */
static void test_killed_rank(void)
{
    char out[8192], cmd[4096];
    const char *big = tmpfiles_path("big.tsv"), *model = tmpfiles_path("killed.hftc");
    hierarchy_write(big, 3000, 5);
    snprintf(common, sizeof common,
             "--preset htrans --train %s --valid %s --taxonomy %s --dim 8 --rnn-hidden 6 --max-len 12 --batch 16 "
             "--epochs 20 --seed 3 --class-weights 1,3 --checkpoint %s",
             big, tmpfiles_path("valid.tsv"), tmpfiles_path("taxonomy.tsv"), tmpfiles_path("killed.ckpt"));
    CHECK_MSG(train(2, 1, model, "--time-limit 0.000001", out, sizeof out) == 3, "first stop: %s", out);
    snprintf(cmd, sizeof cmd, "exec %s --oversubscribe -np 2 %s train %s --threads 1 --output %s", getenv("MPIEXEC"),
             getenv("HFTC_BIN"), common, model);
    int status = run_killing_rank1(cmd, "continuing from the checkpoint", out, sizeof out);
    CHECK_MSG(status > 0 && strstr(out, "rank 1"), "status %d, killed: %s", status, out);
    CHECK(access(tmpfiles_path("killed.ckpt"), F_OK) == 0 && access(model, F_OK) != 0);
    CHECK_MSG(train(2, 1, model, "--time-limit 0.000001", out, sizeof out) == 3 &&
                  strstr(out, "continuing from the checkpoint"),
              "after the kill: %s", out);
}

int main(void)
{
    if (!getenv("MPIEXEC") || !getenv("HFTC_BIN")) {
        fprintf(stderr, "mpi_node: run by ctest, which sets MPIEXEC and HFTC_BIN\n");
        return 1;
    }
    tmpfiles_init("mpi-node");
    const char *tax = tmpfiles_write("taxonomy.tsv", hierarchy_taxonomy, strlen(hierarchy_taxonomy));
    hierarchy_write(tmpfiles_path("train.tsv"), 300, 1);
    hierarchy_write(tmpfiles_path("valid.tsv"), 60, 2);
    snprintf(common, sizeof common,
             "--preset htrans --train %s --valid %s --taxonomy %s --dim 8 --rnn-hidden 6 --max-len 12 --batch 16 "
             "--epochs 3 --seed 3 --class-weights 1,3",
             tmpfiles_path("train.tsv"), tmpfiles_path("valid.tsv"), tax);
    one_model = tmpfiles_path("one.hftc");
    RUN_TEST(test_same_model);
    RUN_TEST(test_checkpoint);
    RUN_TEST(test_killed_rank);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
