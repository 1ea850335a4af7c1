/* Pretrained word vectors: fastText/word2vec text (.vec, "count dim" header line), GloVe text
 * (no header) and word2vec binary. Truncated or inconsistent files are errors naming file and line
 * (or byte offset for binary). */
#ifndef HFTC_TEXT_WORDVEC_H
#define HFTC_TEXT_WORDVEC_H

#include "core/rng.h"
#include "text/vocab.h"

#include <stdbool.h>

typedef enum { WORDVEC_AUTO, WORDVEC_TEXT, WORDVEC_GLOVE, WORDVEC_BINARY } wordvec_format;

/* Auto-detection: a first line of two integers -> text (.vec) unless the line after the header holds
 * control characters, or is not valid UTF-8 and does not end in dim numbers -> binary; otherwise GloVe. */
hftc_status wordvec_probe(const char *path, wordvec_format fmt, wordvec_format *detected, size_t *dim);
/* Fills embedding (vocab_size(v) x dim, row-major; dim 0 = the file's, from wordvec_probe; a different
 * nonzero dim is HFTC_STATUS_INVALID_ARGUMENT): rows of words found in the file get their
 * vectors, every other row uniform(-0.25, 0.25) from r (as the HFT-CNN code), row <pad> zero.
 * *n_found receives the number of vocabulary words found. */
hftc_status wordvec_load(const char *path, wordvec_format fmt, const vocab *v, size_t dim, float *embedding, rng *r,
                         size_t *n_found);
/* "auto", "text" (or "vec"), "glove", "binary" (or "bin"); returns false on an unknown name. */
bool wordvec_format_parse(const char *name, wordvec_format *out);

#endif
