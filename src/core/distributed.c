/* Training across processes: see distributed.h. Everything between #ifdef HFTC_MPI and its #endif is the
 * MPI transport; the rest is what one process does alone, with or without it.
 *
 * The work queue's protocol: a thread of rank r > 0 sends rank 0 a request (the job it finished, if any,
 * and its result's size; then the result in chunks) and waits for its answer, the next job or none. Its
 * rank's threads send their requests one at a time (MPI_THREAD_SERIALIZED), each waiting for its answer
 * before the next thread sends. Rank 0's serving thread collects the result, takes the next job and answers;
 * a rank whose threads all got "none" says it is done, and the serving thread stops once every rank has. */
#include "core/distributed.h"

#include "core/error.h"
#include "core/log.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int world_rank, world_size = 1;
static uint64_t traffic; /* bytes handed to the data-parallel collectives */

void dist_share(size_t total, size_t *first, size_t *n)
{
    size_t ranks = (size_t)world_size, rank = (size_t)world_rank, each = total / ranks, more = total % ranks;
    *first = rank * each + (rank < more ? rank : more);
    *n = each + (rank < more);
}

uint64_t dist_traffic(void) { return traffic; }

// dist_gather with one process: a copy of its own bytes.
static hftc_status gather_alone(const void *mine, size_t bytes, void **all, size_t *counts)
{
    counts[0] = bytes;
    *all = NULL;
    if (bytes == 0)
        return HFTC_STATUS_OK;
    if (!(*all = malloc(bytes)))
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory gathering %zu bytes", bytes);
    memcpy(*all, mine, bytes);
    return HFTC_STATUS_OK;
}

// The shared-memory part: a thread of rank 0 takes jobs from the queue and collects their results itself.
static void work_local(const dist_queue *q)
{
    for (;;) {
        size_t job, bytes = 0;
        bool more;
#pragma omp critical(hftc_dist_queue)
        more = q->next(q->user, &job);
        if (!more)
            return;
        void *result = q->run(q->user, job, &bytes);
#pragma omp critical(hftc_dist_queue)
        q->collect(q->user, job, 0, result, bytes);
        free(result);
    }
}

#ifdef HFTC_MPI
#include <mpi.h>
#include <sched.h>
#include <time.h>

enum { TAG_REQUEST = 1, TAG_CHUNK, TAG_ANSWER, TAG_DONE };
#define CHUNK_BYTES ((size_t)1 << 30) /* MPI counts are ints */
#define NO_JOB UINT64_MAX

static bool joined;

// About a millisecond: a run lasts seconds, so a job handed out a millisecond late costs nothing.
static void poll_pause(void)
{
    struct timespec t = {0, 1000000};
    nanosleep(&t, NULL);
}

// MPI_Wait without its busy polling, which would take a core from the ranks still working: pause between tests.
static void wait_pausing(MPI_Request *r, void (*pause)(void))
{
    for (int done = 0;;) {
        MPI_Test(r, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        pause();
    }
}

static void wait_polled(MPI_Request *r) { wait_pausing(r, poll_pause); }

static void send_chunks(const unsigned char *data, size_t bytes, int to)
{
    for (size_t at = 0; at < bytes; at += CHUNK_BYTES) {
        size_t n = bytes - at < CHUNK_BYTES ? bytes - at : CHUNK_BYTES;
        MPI_Send(data + at, (int)n, MPI_BYTE, to, TAG_CHUNK, MPI_COMM_WORLD);
    }
}

static void receive_chunks(unsigned char *data, size_t bytes, int from)
{
    for (size_t at = 0; at < bytes; at += CHUNK_BYTES) {
        size_t n = bytes - at < CHUNK_BYTES ? bytes - at : CHUNK_BYTES;
        MPI_Recv(data + at, (int)n, MPI_BYTE, from, TAG_CHUNK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
}

// Whether an MPI launcher started this process (Open MPI's mpirun, a PMIx or PMI one such as srun): a
// process started otherwise trains alone without starting MPI at all.
static bool launched(void) { return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK"); }

hftc_status hftc_distributed_init(void)
{
    int initialized;
    MPI_Initialized(&initialized);
    if (initialized || !launched())
        return HFTC_STATUS_OK;
    int provided;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    joined = true;
    if (provided < MPI_THREAD_SERIALIZED)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "the MPI library does not let threads call it one at a time (MPI_THREAD_SERIALIZED)");
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    return HFTC_STATUS_OK;
}

void hftc_distributed_end(int failed, int exit_code)
{
    if (!joined)
        return;
    if (failed && world_size > 1)
        MPI_Abort(MPI_COMM_WORLD, exit_code);
    MPI_Finalize();
    joined = false;
    world_rank = 0, world_size = 1;
}

const char *hftc_mpi_library(void)
{
    static char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int n;
    MPI_Get_library_version(version, &n);
    version[strcspn(version, ",\n")] = '\0'; /* "Open MPI v4.1.4", without the package and build */
    return version;
}

hftc_status dist_broadcast(void **data, size_t *bytes)
{
    if (world_size == 1)
        return HFTC_STATUS_OK;
    uint64_t n = *bytes;
    MPI_Request r;
    MPI_Ibcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &r);
    wait_polled(&r); /* the others wait here, asleep, while rank 0 finishes its work */
    unsigned char *buf = *data;
    if (world_rank != 0) {
        buf = malloc(n ? n : 1);
        if (!buf)
            return error_set(HFTC_STATUS_OUT_OF_MEMORY, "rank %d: out of memory for %" PRIu64 " bytes from rank 0",
                             world_rank, n);
        *data = buf;
        *bytes = n;
    }
    for (size_t at = 0; at < n; at += CHUNK_BYTES) {
        size_t k = n - at < CHUNK_BYTES ? n - at : CHUNK_BYTES;
        MPI_Bcast(buf + at, (int)k, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
    if (world_rank == 0) /* what scaling costs, for the user and docs/SCALING.md */
        log_info("MPI: %.3f MB broadcast to %d ranks", (double)n / 1e6, world_size - 1);
    return HFTC_STATUS_OK;
}

static void yield_core(void) { sched_yield(); }

// A wait of data-parallel training: the ranks move in step, so it is short; the core is yielded between tests,
// to a process beside this one, instead of MPI's busy polling or a sleep (a millisecond a step would cost much).
static void wait_yielding(MPI_Request *r) { wait_pausing(r, yield_core); }

#define CHUNK_ELEMENTS ((size_t)1 << 28) /* MPI counts are ints */

static void sum_in_place(void *x, size_t n, size_t size, MPI_Datatype type)
{
    if (world_size == 1)
        return;
    traffic += n * size;
    for (size_t at = 0; at < n; at += CHUNK_ELEMENTS) {
        size_t k = n - at < CHUNK_ELEMENTS ? n - at : CHUNK_ELEMENTS;
        MPI_Request r;
        MPI_Iallreduce(MPI_IN_PLACE, (char *)x + at * size, (int)k, type, MPI_SUM, MPI_COMM_WORLD, &r);
        wait_yielding(&r);
    }
}

void dist_sum_floats(float *x, size_t n) { sum_in_place(x, n, sizeof *x, MPI_FLOAT); }

void dist_sum_doubles(double *x, size_t n) { sum_in_place(x, n, sizeof *x, MPI_DOUBLE); }

// A collective cannot fail on one rank alone, the others waiting for it: out of memory there ends the job.
static void *collective_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        log_error("rank %d: out of memory for %zu bytes in a collective step", world_rank, bytes);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return p;
}

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "counts are gathered as MPI_UINT64_T");

hftc_status dist_gather(const void *mine, size_t bytes, void **all, size_t *counts)
{
    if (world_size == 1)
        return gather_alone(mine, bytes, all, counts);
    uint64_t n = bytes;
    MPI_Request r;
    MPI_Iallgather(&n, 1, MPI_UINT64_T, counts, 1, MPI_UINT64_T, MPI_COMM_WORLD, &r);
    wait_yielding(&r);
    int *sizes = collective_alloc((size_t)world_size * sizeof *sizes),
        *at = collective_alloc((size_t)world_size * sizeof *at);
    size_t total = 0;
    for (int k = 0; k < world_size; k++) {
        sizes[k] = (int)counts[k], at[k] = (int)total;
        total += counts[k];
        if (total > INT32_MAX) { /* the same on every rank: all stop here */
            free(sizes), free(at);
            *all = NULL;
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "%zu bytes to gather across the ranks: more than MPI's 2 GB",
                             total);
        }
    }
    *all = total ? collective_alloc(total) : NULL;
    if (total) {
        traffic += bytes;
        MPI_Iallgatherv(mine, (int)bytes, MPI_BYTE, *all, sizes, at, MPI_BYTE, MPI_COMM_WORLD, &r);
        wait_yielding(&r);
    }
    free(sizes), free(at);
    return HFTC_STATUS_OK;
}

bool dist_rank0_decides(bool yes)
{
    if (world_size == 1)
        return yes;
    int v = yes;
    MPI_Request r;
    MPI_Ibcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD, &r);
    wait_yielding(&r);
    return v != 0;
}

// A thread of rank r > 0: asks rank 0 for jobs, handing in each one's result with the next request.
static void work_remote(const dist_queue *q)
{
    uint64_t request[3] = {NO_JOB, 0, 0}; /* the job finished, whether its result follows, its size */
    void *result = NULL;
    for (;;) {
        uint64_t job;
#pragma omp critical(hftc_dist_mpi)
        {
            MPI_Send(request, 3, MPI_UINT64_T, 0, TAG_REQUEST, MPI_COMM_WORLD);
            send_chunks(result, request[2], 0);
            MPI_Request r;
            MPI_Irecv(&job, 1, MPI_UINT64_T, 0, TAG_ANSWER, MPI_COMM_WORLD, &r);
            wait_polled(&r);
        }
        free(result);
        if (job == NO_JOB)
            return;
        size_t bytes = 0;
        result = q->run(q->user, (size_t)job, &bytes);
        request[0] = job, request[1] = result != NULL, request[2] = result ? bytes : 0;
    }
}

// Rank 0's serving thread: answers the other ranks' requests until each has said it is done; counts the results
// and their bytes.
static void serve(const dist_queue *q, size_t *results, uint64_t *bytes)
{
    for (int working = world_size - 1; working > 0;) {
        int any;
        MPI_Status s;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &any, &s);
        if (!any) {
            poll_pause();
            continue;
        }
        if (s.MPI_TAG == TAG_DONE) {
            MPI_Recv(NULL, 0, MPI_BYTE, s.MPI_SOURCE, TAG_DONE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            working--;
            continue;
        }
        uint64_t request[3];
        MPI_Recv(request, 3, MPI_UINT64_T, s.MPI_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        unsigned char *result = NULL;
        if (request[1]) {
            result = malloc(request[2] ? request[2] : 1);
            if (!result) { /* the job cannot go on without it, nor the sender be told */
                log_error("rank 0: out of memory for a result of %" PRIu64 " bytes from rank %d", request[2],
                          s.MPI_SOURCE);
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            receive_chunks(result, request[2], s.MPI_SOURCE);
            ++*results, *bytes += request[2];
        }
        uint64_t answer = NO_JOB;
#pragma omp critical(hftc_dist_queue)
        {
            if (request[0] != NO_JOB)
                q->collect(q->user, (size_t)request[0], s.MPI_SOURCE, result, request[2]);
            size_t job;
            if (q->next(q->user, &job))
                answer = job;
        }
        free(result);
        MPI_Send(&answer, 1, MPI_UINT64_T, s.MPI_SOURCE, TAG_ANSWER, MPI_COMM_WORLD);
    }
}

void dist_queue_run(const dist_queue *q, int threads)
{
    bool serving = world_rank == 0 && world_size > 1;
    size_t results = 0;
    uint64_t bytes = 0;
    // Rank 0 has one thread more, the serving one, asleep but for the moments it answers.
#pragma omp parallel num_threads(threads + serving)
    {
        bool server = false;
        if (serving) {
#pragma omp single nowait
            server = true;
        }
        if (server)
            serve(q, &results, &bytes);
        else if (world_rank == 0)
            work_local(q);
        else
            work_remote(q);
    }
    if (world_rank != 0)
        MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_DONE, MPI_COMM_WORLD);
    if (serving)
        log_info("MPI: %zu results from the other ranks, %.3f MB", results, (double)bytes / 1e6);
}

#else

hftc_status hftc_distributed_init(void) { return HFTC_STATUS_OK; }

void hftc_distributed_end(int failed, int exit_code) { (void)failed, (void)exit_code; }

const char *hftc_mpi_library(void) { return NULL; }

hftc_status dist_broadcast(void **data, size_t *bytes)
{
    (void)data, (void)bytes;
    return HFTC_STATUS_OK;
}

void dist_queue_run(const dist_queue *q, int threads)
{
#pragma omp parallel num_threads(threads)
    work_local(q);
}

void dist_sum_floats(float *x, size_t n) { (void)x, (void)n; }

void dist_sum_doubles(double *x, size_t n) { (void)x, (void)n; }

hftc_status dist_gather(const void *mine, size_t bytes, void **all, size_t *counts)
{
    return gather_alone(mine, bytes, all, counts);
}

bool dist_rank0_decides(bool yes) { return yes; }

#endif

int hftc_distributed_rank(void) { return world_rank; }

int hftc_distributed_size(void) { return world_size; }
