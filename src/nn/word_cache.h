/* Per-word input projections for inference.
 *
 * The first layer of every encoder is linear in each word's vector: the CNN's window products
 * (x . W[f, k] for every filter f and window offset k), the GRU's and the ON-LSTM's input-to-hidden
 * products (W_ih x; each layer adds its biases later). At inference the parameters are fixed, so a word's projection is
 * the same row wherever it occurs: the cache computes the row of a word when a batch first uses it (one GEMM over the
 * batch's new words) and afterwards reads it back instead of multiplying again. A document of T words then costs T row
 * reads for this layer instead of T products with an (N, E) matrix; over a test set the products are paid once per
 * distinct word instead of once per position.
 *
 * The rows are the same sums as the GEMM over the embedded batch computes (the products over E), so predictions match
 * the uncached path to the last bits or within a float rounding of it. The table (V, N) is reserved whole but the
 * operating system commits its pages only as rows are written; rows are laid out in the order words are first met, so
 * the memory used is the rows of the distinct words seen, and a batch's new rows are one GEMM's output in place. */
#ifndef HFTC_NN_WORD_CACHE_H
#define HFTC_NN_WORD_CACHE_H

#include "hftc.h"

#include "core/compute.h"

#include <stddef.h>
#include <stdint.h>

typedef struct word_cache word_cache;

/* A cache for a vocabulary of V words of E dimensions read from embedding (V, E), projected by
 * proj (N, E) (row n gives column n of a word's row); proj is copied, embedding is not (it must stay unchanged while
 * the cache lives). Batches of up to max_positions positions (B * T). */
hftc_status word_cache_create(word_cache **out, const float *embedding, size_t V, size_t E, const float *proj, size_t N,
                              size_t max_positions);
void word_cache_free(word_cache *c);

/* Bytes the full table would take (what a limit on the cache is compared with). */
size_t word_cache_table_bytes(size_t V, size_t N);

/* Computes the rows of the words of tokens (B, T) (ids < V; row b has lengths[b] <= T words) that
 * are not in the table yet, and returns the row of every position: rows[b * T + t] (N floats) for
 * t < lengths[b], a row of zeros past it (the projection of a zero-padded position). */
const float *const *word_cache_rows(word_cache *c, const compute_context *cc, const uint32_t *tokens,
                                    const size_t *lengths, size_t B, size_t T);

/* Words whose rows have been computed. */
size_t word_cache_filled(const word_cache *c);

#endif
