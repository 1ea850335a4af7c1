/* Bag of rows, fastText's input layer (Joulin et al. 2017, supervised with -wordNgrams 2): a document of L
 * words is the mean of n = 2L - 1 rows, its L word vectors and the L - 1 rows of a table of buckets its word
 * bigrams hash to, all averaged together as fastText averages a document's input rows (its words' and its
 * n-grams' alike). A document of no words is zero.
 *
 * The bucket table's backward pass is row-sparse and deterministic, as the embedding's: the bigram positions
 * are sorted by bucket (a stable radix sort: cost in the positions, not in the table's rows, which run to
 * millions), then each touched row sums its positions in order, one thread per row, into a compact gradient of
 * the touched rows alone (nn/params.h). Nothing is allocated. */
#ifndef HFTC_NN_BAG_H
#define HFTC_NN_BAG_H

#include "core/compute.h"

#include <stddef.h>
#include <stdint.h>

// The bucket of the bigram of token ids (a, b) in a table of n_buckets rows: rng_hash_pair(a, b) modulo
// n_buckets (splitmix64 of a * 2^32 + b, core/rng.h), the same on every platform.
uint32_t bag_bigram_bucket(uint32_t a, uint32_t b, size_t n_buckets);

// ids is (B,T), tokens is (B,T), lengths is (B): ids[b*T + t] = the bucket of (tokens[b*T + t], tokens[b*T + t + 1])
// for t + 1 < lengths[b]; nothing else is written.
void bag_bigrams(uint32_t *ids, const uint32_t *tokens, const size_t *lengths, size_t B, size_t T, size_t n_buckets);

// out is (B,E), words is (B,T,E), ids is (B,T) (from bag_bigrams), lengths is (B), table is (n_buckets,E).
// out[b] = (sum of words[b, t] for t < L + sum of table[ids[b*T + t]] for t + 1 < L) / (2L - 1), L = lengths[b];
// rows past L are never read.
void bag_forward(const compute_context *cc, float *out, const float *words, const uint32_t *ids, const size_t *lengths,
                 const float *table, size_t B, size_t T, size_t E);

// uint32 elements of scratch that bag_backward needs.
size_t bag_scratch_size(size_t B, size_t T, size_t n_buckets);

// dout is (B,E); dwords is (B,T,E) or NULL; dtable is NULL or a row-sparse gradient of the (n_buckets,E) table: its
// row j the gradient of row rows[j].
// Adds dout[b] / (2L - 1) into every word row t < L of dwords and into the table row's gradient of every bigram of
// document b (once per occurrence). rows/n_rows is the sorted, unique list of table rows holding gradient: on entry
// the rows touched since the gradient was last consumed, on return their union with this batch's (earlier rows'
// gradients moved to their new places), which dtable and rows must have room for (min(n_buckets, B x T) when the
// gradient was consumed).
void bag_backward(const compute_context *cc, float *dwords, float *dtable, uint32_t *rows, size_t *n_rows,
                  uint32_t *scratch, const float *dout, const uint32_t *ids, const size_t *lengths, size_t B, size_t T,
                  size_t E, size_t n_buckets);

#endif
