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

/* Joining and leaving the job, the rank and the process count: hftc_distributed_* in hftc.h. */

/* Rank 0's *bytes bytes at *data to every rank (collective): on the others *data is allocated here (the
 * caller frees it) and *bytes set. Nothing with one process. */
hftc_status dist_broadcast(void **data, size_t *bytes);

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
