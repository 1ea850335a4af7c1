/* Training across processes: the one place that talks to MPI (compiled in when CMake finds it, HFTC_MPI).
 * The processes (ranks) of an MPI job started by a launcher (mpirun, srun) each run the whole training on
 * the same data; the node strategy spreads its classifier runs over them through the work queue below, and
 * rank 0 keeps the results and writes the files. Without MPI, or in a process no launcher started, there
 * is one process, rank 0 of 1, and the queue runs on the process's threads alone.
 *
 * MPI's default error handler stays: a failed MPI call, or a rank that dies, ends the whole job (mpirun
 * names the rank) instead of leaving the others waiting. Waits poll with short sleeps instead of MPI's busy
 * polling, so that a rank waiting for the others leaves its cores to the ranks still working. */
#ifndef HFTC_CORE_DISTRIBUTED_H
#define HFTC_CORE_DISTRIBUTED_H

#include "hftc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Joining and leaving the job, the rank and the process count: hftc_distributed_* in hftc.h. */

/* Rank 0's *bytes bytes at *data to every rank (collective): on the others *data is allocated here (the
 * caller frees it) and *bytes set. Nothing with one process. */
hftc_status dist_broadcast(void **data, size_t *bytes);

/* Data-parallel training (flat and level models): the processes compute shares of each batch and combine them
 * with the collectives below, each called by every rank in the same order. With one process they change nothing.
 * Waits yield the core between tests: the ranks move in step, so a wait is short, and a rank waiting leaves the
 * core to a process beside it. */

/* Documents [*first, *first + *n) of a batch of total: this rank's contiguous share (the first ranks take one
 * more when total does not divide; a rank past total takes none). */
void dist_share(size_t total, size_t *first, size_t *n);
/* x[0 .. n) summed element-wise over the ranks, on every rank (collective). */
void dist_sum_floats(float *x, size_t n);
void dist_sum_doubles(double *x, size_t n);
/* Every rank's bytes bytes at mine, concatenated in rank order, into *all (allocated here, the caller frees;
 * NULL when there are none), with rank r's byte count in counts[r] (room for every rank) (collective). */
hftc_status dist_gather(const void *mine, size_t bytes, void **all, size_t *counts);
/* Rank 0's value of yes, on every rank (collective): decisions that depend on rank 0's clock (time limits). */
bool dist_rank0_decides(bool yes);
/* The bytes this process has handed to the collectives above (its share of the sums and gathers): what
 * data-parallel training sends. */
uint64_t dist_traffic(void);

/* A dynamic work queue: jobs handed out one at a time by rank 0 to whichever thread of whichever rank asks
 * first, each job's result (bytes) handed back to rank 0. Rank 0 serves the queue from a thread of its own
 * that sleeps between messages, while its other threads work: no rank is only a master. */
typedef struct {
    void *user;
    /* Rank 0, under the queue's lock: the next job into *job, or false when no job is to start. */
    bool (*next)(void *user, size_t *job);
    /* Any rank, on any of its threads, without the lock: runs job and returns its result (malloc'd bytes,
     * *bytes of them; NULL when it could not be allocated), which the queue frees. */
    void *(*run)(void *user, size_t job, size_t *bytes);
    /* Rank 0, under the queue's lock: the result of job (NULL: none could be allocated) from the rank that ran it. */
    void (*collect)(void *user, size_t job, int rank, const void *result, size_t bytes);
} dist_queue;

/* Runs q's jobs on threads threads of every rank until next has none left (collective); returns once every
 * job handed out is collected. */
void dist_queue_run(const dist_queue *q, int threads);

#endif
