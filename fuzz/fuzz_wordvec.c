/* Fuzzing the word-vector reader (src/text/wordvec.c): fastText/word2vec text, GloVe text and word2vec
 * binary, plain or gzip-compressed. Input: one byte of options (bits 0-1: auto, text, glove, binary; bit 2:
 * the rest gzip-compressed by this target first, so that the fuzzer's mutations of plain files also go
 * through the gzip reader), then the file. Vectors wider than 1,024 are probed but not loaded, to keep each
 * run short. */
#include "fuzz.h"

#include "text/vocab.h"
#include "text/wordvec.h"

#include <math.h>
#include <zlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

/* data[0, size) as one gzip member; NULL if zlib fails. */
static unsigned char *gzip(const uint8_t *data, size_t size, size_t *out_size)
{
    z_stream z = {0};
    if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)size);
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)data, z.avail_in = (uInt)size;
    z.next_out = out, z.avail_out = (uInt)cap;
    int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
    *out_size = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    wordvec_format fmt = (wordvec_format)(data[0] & 3);
    const char *path;
    if (data[0] & 4) {
        size_t n;
        unsigned char *z = gzip(data + 1, size - 1, &n);
        if (!z)
            return 0;
        path = fuzz_file("vectors", z, n);
        free(z);
    } else {
        path = fuzz_file("vectors", data + 1, size - 1);
    }
    wordvec_format detected;
    size_t dim;
    if (wordvec_probe(path, fmt, &detected, &dim) != HFTC_STATUS_OK || dim > 1024)
        return 0;
    vocab v;
    if (vocab_init(&v) != HFTC_STATUS_OK)
        abort();
    static const char *const words[] = {"the", "a", "of", "news", "é", "new york"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        vocab_add(&v, words[i], strlen(words[i]), &(uint32_t){0});
    size_t n_rows = vocab_size(&v), found;
    float *embedding = malloc(n_rows * dim * sizeof *embedding);
    rng r;
    rng_seed(&r, 1, 0);
    if (!embedding)
        abort();
    if (wordvec_load(path, fmt, &v, dim, embedding, &r, &found) == HFTC_STATUS_OK) {
        if (found > n_rows)
            abort();
        for (size_t i = 0; i < n_rows * dim; i++)
            if (!isfinite(embedding[i]))
                abort(); /* a value the reader should have refused */
    }
    free(embedding);
    vocab_free(&v);
    return 0;
}
