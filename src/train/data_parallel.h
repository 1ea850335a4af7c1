/* Data-parallel training of one network (the flat and level strategies under MPI): every process computes its share
 * of each batch (core/distributed.h's dist_share), then the shares' gradients are summed across the processes so
 * that each applies the same optimiser step to the same weights; validation is sharded the same way and its
 * probabilities gathered. With one process nothing is sent and nothing changes. */
#ifndef HFTC_TRAIN_DATA_PARALLEL_H
#define HFTC_TRAIN_DATA_PARALLEL_H

#include "nn/params.h"

/* The shares' gradients of ps summed on every process (collective): the dense tensors' in one sum over the start
 * of the gradient arena; each row-sparse tensor's (the embedding, ngram's buckets) as the union of the rows the
 * shares touched, every process's rows gathered and only those rows summed. rank_counts: room for every rank.
 * *loss: the share's loss, made the batch's (the shares' sum). */
hftc_status dp_sum_gradients(param_set *ps, size_t *rank_counts, float *loss);

/* Rows [first, first + n) of probs (rows of width floats), this process's share of the validation documents,
 * completed with the other processes' shares (collective): every process then holds every row. */
hftc_status dp_gather_rows(float *probs, size_t first, size_t n, size_t width, size_t *rank_counts);

/* The first rank whose value differs from rank 0's into *rank (0: none) (collective). */
hftc_status dp_first_differing_rank(uint64_t value, int *rank);

/* Whether every rank holds the weights rank 0 holds, as summing the same gradients on every rank gives them: an
 * error on every rank naming the first that differs (an MPI library whose sums differ by rank) (collective). */
hftc_status dp_check_same_weights(const param_set *ps, const char *name);

#endif
