/* TF-IDF features (tfidf.h): fitting the bigram table and idf to training documents, and documents to
 * L2-normalised sparse rows. */
#include "model/tfidf.h"

#include "core/arena.h"
#include "core/error.h"
#include "text/vocab.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t bigram_key(uint32_t first, uint32_t second) { return (uint64_t)first << 32 | second; }

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool is_word(uint32_t id, size_t n_words) { return id != VOCAB_PAD && id != VOCAB_UNK && id < n_words; }

size_t tfidf_n_features(const tfidf *f) { return f->n_words + f->n_bigrams; }

/* The feature id of bigram (a, b), or UINT32_MAX when it is not a feature. */
static uint32_t bigram_feature(const tfidf *f, uint32_t a, uint32_t b)
{
    size_t lo = 0, hi = f->n_bigrams;
    uint64_t key = bigram_key(a, b);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t k = bigram_key(f->bigrams[2 * mid], f->bigrams[2 * mid + 1]);
        if (k == key)
            return (uint32_t)(f->n_words + mid);
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return UINT32_MAX;
}

/* Document d's bigram keys, sorted and unique, appended at keys[*n] (room for its length). */
static void doc_bigram_keys(const dataset *ds, size_t d, size_t n_words, uint64_t *keys, size_t *n)
{
    size_t begin = *n;
    for (size_t t = ds->token_start[d]; t + 1 < ds->token_start[d + 1]; t++)
        if (is_word(ds->tokens[t], n_words) && is_word(ds->tokens[t + 1], n_words))
            keys[(*n)++] = bigram_key(ds->tokens[t], ds->tokens[t + 1]);
    qsort(keys + begin, *n - begin, sizeof *keys, compare_u64);
    size_t out = begin;
    for (size_t i = begin; i < *n; i++)
        if (out == begin || keys[i] != keys[out - 1])
            keys[out++] = keys[i];
    *n = out;
}

static float smooth_idf(size_t n_docs, size_t df)
{
    return (float)(log((1.0 + (double)n_docs) / (1.0 + (double)df)) + 1.0);
}

/* The bigrams of at least min_df documents into f->bigrams, their document counts into *df_out. */
static hftc_status fit_bigrams(tfidf *f, const dataset *ds, const size_t *idx, size_t n, size_t **df_out)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ds->token_start[idx[i] + 1] - ds->token_start[idx[i]];
    uint64_t *keys = mem_alloc(total ? total : 1, sizeof *keys);
    if (!keys)
        return HFTC_STATUS_OUT_OF_MEMORY;
    size_t n_keys = 0;
    for (size_t i = 0; i < n; i++) /* each document's distinct bigrams once: counting them counts documents */
        doc_bigram_keys(ds, idx[i], f->n_words, keys, &n_keys);
    qsort(keys, n_keys, sizeof *keys, compare_u64);
    size_t kept = 0;
    for (size_t i = 0; i < n_keys;) {
        size_t j = i;
        while (j < n_keys && keys[j] == keys[i])
            j++;
        kept += j - i >= f->opt.min_df;
        i = j;
    }
    f->bigrams = mem_alloc(kept ? 2 * kept : 1, sizeof *f->bigrams);
    size_t *df = mem_alloc(kept ? kept : 1, sizeof *df);
    if (!f->bigrams || !df) {
        free(keys), free(df);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < n_keys;) {
        size_t j = i;
        while (j < n_keys && keys[j] == keys[i])
            j++;
        if (j - i >= f->opt.min_df) {
            f->bigrams[2 * f->n_bigrams] = (uint32_t)(keys[i] >> 32);
            f->bigrams[2 * f->n_bigrams + 1] = (uint32_t)keys[i];
            df[f->n_bigrams++] = j - i;
        }
        i = j;
    }
    free(keys);
    *df_out = df;
    return HFTC_STATUS_OK;
}

hftc_status tfidf_fit(tfidf *f, const tfidf_options *opt, const dataset *ds, const size_t *idx, size_t n,
                      size_t n_words)
{
    *f = (tfidf){.opt = *opt, .n_words = n_words};
    if (opt->min_df < 1)
        f->opt.min_df = 1;
    size_t *bigram_df = NULL;
    if (opt->max_ngram >= 2)
        TRY(fit_bigrams(f, ds, idx, n, &bigram_df));
    size_t *word_df = mem_calloc(n_words ? n_words : 1, sizeof *word_df);
    size_t *last_doc = mem_alloc(n_words ? n_words : 1, sizeof *last_doc);
    f->idf = mem_alloc(tfidf_n_features(f) ? tfidf_n_features(f) : 1, sizeof *f->idf);
    if (!word_df || !last_doc || !f->idf) {
        free(word_df), free(last_doc), free(bigram_df);
        tfidf_free(f);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t w = 0; w < n_words; w++)
        last_doc[w] = SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        for (size_t t = ds->token_start[idx[i]]; t < ds->token_start[idx[i] + 1]; t++) {
            uint32_t w = ds->tokens[t];
            if (is_word(w, n_words) && last_doc[w] != i) {
                last_doc[w] = i;
                word_df[w]++;
            }
        }
    for (size_t w = 0; w < n_words; w++)
        f->idf[w] = is_word((uint32_t)w, n_words) && word_df[w] >= f->opt.min_df ? smooth_idf(n, word_df[w]) : 0.0f;
    for (size_t b = 0; b < f->n_bigrams; b++)
        f->idf[n_words + b] = smooth_idf(n, bigram_df[b]);
    free(word_df), free(last_doc), free(bigram_df);
    return HFTC_STATUS_OK;
}

/* Document d's features with their idf above 0, sorted (repeats kept: a repeat is a count), into ids;
 * returns how many. */
static size_t doc_features(const tfidf *f, const dataset *ds, size_t d, uint32_t *ids)
{
    size_t n = 0;
    for (size_t t = ds->token_start[d]; t < ds->token_start[d + 1]; t++) {
        uint32_t w = ds->tokens[t];
        if (is_word(w, f->n_words) && f->idf[w] > 0.0f)
            ids[n++] = w;
        if (f->opt.max_ngram >= 2 && t + 1 < ds->token_start[d + 1] && is_word(w, f->n_words) &&
            is_word(ds->tokens[t + 1], f->n_words)) {
            uint32_t b = bigram_feature(f, w, ds->tokens[t + 1]);
            if (b != UINT32_MAX)
                ids[n++] = b;
        }
    }
    qsort(ids, n, sizeof *ids, compare_u32);
    return n;
}

hftc_status tfidf_transform(const tfidf *f, const dataset *ds, const size_t *idx, size_t n, sparse_rows *rows)
{
    *rows = (sparse_rows){.n_rows = n, .start = mem_alloc(n + 1, sizeof *rows->start)};
    size_t longest = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = idx ? idx[i] : i, len = ds->token_start[d + 1] - ds->token_start[d];
        longest = len > longest ? len : longest;
        cap += 2 * len;
    }
    uint32_t *ids = mem_alloc(2 * longest + 1, sizeof *ids);
    rows->index = mem_alloc(cap ? cap : 1, sizeof *rows->index);
    rows->value = mem_alloc(cap ? cap : 1, sizeof *rows->value);
    if (!rows->start || !ids || !rows->index || !rows->value) {
        free(ids);
        sparse_rows_free(rows);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    size_t used = 0;
    rows->start[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = doc_features(f, ds, idx ? idx[i] : i, ids), begin = used;
        double norm = 0.0;
        for (size_t j = 0; j < k;) {
            size_t e = j;
            while (e < k && ids[e] == ids[j])
                e++;
            double tf = (double)(e - j), v = (f->opt.sublinear_tf ? 1.0 + log(tf) : tf) * f->idf[ids[j]];
            rows->index[used] = ids[j];
            rows->value[used++] = (float)v;
            norm += v * v;
            j = e;
        }
        float scale = norm > 0.0 ? (float)(1.0 / sqrt(norm)) : 0.0f;
        for (size_t j = begin; j < used; j++)
            rows->value[j] *= scale;
        rows->start[i + 1] = used;
    }
    free(ids);
    return HFTC_STATUS_OK;
}

hftc_status tfidf_from_arrays(tfidf *f, const tfidf_options *opt, size_t n_words, uint32_t *bigrams, size_t n_bigrams,
                              float *idf)
{
    *f = (tfidf){.opt = *opt, .n_words = n_words, .bigrams = bigrams, .n_bigrams = n_bigrams, .idf = idf};
    const char *bad = NULL;
    if (opt->max_ngram < 1 || opt->max_ngram > 2)
        bad = "its largest n-gram is not 1 or 2";
    for (size_t b = 0; !bad && b < n_bigrams; b++)
        if (!is_word(bigrams[2 * b], n_words) || !is_word(bigrams[2 * b + 1], n_words) ||
            (b > 0 &&
             bigram_key(bigrams[2 * b - 2], bigrams[2 * b - 1]) >= bigram_key(bigrams[2 * b], bigrams[2 * b + 1])))
            bad = "its bigrams are not distinct vocabulary words in increasing order";
    for (size_t i = 0; !bad && i < tfidf_n_features(f); i++)
        if (!(idf[i] >= 0.0f) || !isfinite(idf[i]))
            bad = "an idf is negative or not finite";
    if (bad) {
        tfidf_free(f);
        return error_set(HFTC_STATUS_MODEL, "TF-IDF features: %s", bad);
    }
    return HFTC_STATUS_OK;
}

void tfidf_free(tfidf *f)
{
    free(f->bigrams), free(f->idf);
    f->bigrams = NULL, f->idf = NULL;
    f->n_bigrams = 0;
}

void sparse_rows_free(sparse_rows *r)
{
    free(r->start), free(r->index), free(r->value);
    *r = (sparse_rows){0};
}
