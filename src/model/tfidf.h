/* TF-IDF features of documents for the linear models (tfidf.c), as scikit-learn's TfidfVectorizer makes
 * them: the vocabulary's words and, optionally, word bigrams kept when at least min_df training documents
 * have them; each document's term counts (1 + ln(tf) when sublinear), times the smoothed idf
 * ln((1 + n) / (1 + df)) + 1, the row L2-normalised. Words come as the vocabulary's ids (the dataset's
 * tokens); <pad>, <unk> and bigrams with either are never features. Feature ids: the word's id for a word,
 * vocabulary size + the bigram's rank in (first, second) order for a bigram. */
#ifndef HFTC_MODEL_TFIDF_H
#define HFTC_MODEL_TFIDF_H

#include "data/dataset.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t max_ngram;  /* 1: words; 2: words and word bigrams */
    size_t min_df;     /* a feature in fewer training documents is left out */
    bool sublinear_tf; /* 1 + ln(tf) instead of tf */
} tfidf_options;

typedef struct {
    tfidf_options opt;
    size_t n_words;    /* word features: the vocabulary's ids 0 .. n_words - 1 */
    uint32_t *bigrams; /* (n_bigrams, 2) the kept bigrams' word ids, in increasing (first, second) order */
    size_t n_bigrams;
    float *idf; /* (n_features) each feature's idf; 0: left out (too rare, <pad>, <unk>) */
} tfidf;

/* Rows of sparse vectors (CSR): row r's entries are [start[r], start[r + 1]), its indices increasing. */
typedef struct {
    size_t n_rows;
    size_t *start;
    uint32_t *index;
    float *value;
} sparse_rows;

size_t tfidf_n_features(const tfidf *f);
/* Fits the features to documents idx[0..n) of ds (vocabulary of n_words ids). */
hftc_status tfidf_fit(tfidf *f, const tfidf_options *opt, const dataset *ds, const size_t *idx, size_t n,
                      size_t n_words);
/* The features of documents idx[0..n) of ds (idx NULL: documents 0..n) into rows (sparse_rows_free). */
hftc_status tfidf_transform(const tfidf *f, const dataset *ds, const size_t *idx, size_t n, sparse_rows *rows);
/* Takes over bigrams and idf as read from a model file, after checking them; on an error frees them and
 * returns HFTC_STATUS_MODEL with a message naming what is wrong (the caller adds the file). */
hftc_status tfidf_from_arrays(tfidf *f, const tfidf_options *opt, size_t n_words, uint32_t *bigrams, size_t n_bigrams,
                              float *idf);
void tfidf_free(tfidf *f);
void sparse_rows_free(sparse_rows *r);

#endif
