/* Fuzzing the data reader (src/data/dataset.c) in every format, and the completion of the labels it reads
 * with their ancestors (src/data/taxonomy.c). Input: two bytes of options, then the data file.
 *   byte 0: bits 0-2 the format (auto, tsv, fasttext, jsonl, text; more: auto), 3 labels required,
 *           4 --skip-bad-lines, 5 keep the text of unknown words, 6 lowercase and split punctuation,
 *           7 read as a stream in batches of 3 documents (hftc predict) instead of at once (train, test);
 *   byte 1: bits 0-1 max_len (all, 1, 5, 50 tokens), 2 drop punctuation, 3 words looked up in a fixed
 *           vocabulary instead of added, 4-5 what a label the taxonomy lacks does (error, add, keep; 3: no
 *           taxonomy), 6-7 the longest line (64, 512, 4096 bytes, 64 MiB) so that long lines are cut. */
#include "fuzz.h"

#include "data/dataset.h"
#include "data/taxonomy.h"

static const char *taxonomy_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    static const char tree[] = "Root\tA\tB\nA\tA1\tA2\nB\tB1\nA1\tx\n";
    taxonomy_path = fuzz_file("taxonomy", tree, sizeof tree - 1);
    return 0;
}

/* Every document's labels completed (or refused) as train, test and predict do. */
static void complete(taxonomy *t, dataset *ds, const char *path, unsigned mode)
{
    size_t added = 0;
    if (mode < 3 && taxonomy_complete_dataset(t, ds, path, (taxonomy_unknown)mode, &added) == HFTC_STATUS_OK)
        for (size_t d = 0; d < ds->n_docs; d++)
            for (size_t i = ds->label_start[d]; i < ds->label_start[d + 1]; i++)
                if (mode != TAXONOMY_UNKNOWN_KEEP && ds->labels[i] >= t->n_nodes)
                    abort(); /* a label without a node after its completion */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned a = data[0], b = data[1];
    static const size_t max_lens[] = {0, 1, 5, 50}, max_lines[] = {64, 512, 4096, 0};
    dataset_options opt = {
        .format = (a & 7) <= DATA_FORMAT_TEXT ? (data_format)(a & 7) : DATA_FORMAT_AUTO,
        .labels_required = a & 8,
        .skip_bad_lines = a & 16,
        .keep_unknown = a & 32,
        .tokenizer = {.lowercase = a & 64, .split_punct = a & 64, .drop_punct = b & 4, .max_len = max_lens[b & 3]},
        .max_line_bytes = max_lines[b >> 6]};
    bool grow = !(b & 8);
    unsigned mode = (b >> 4) & 3;
    const char *path = fuzz_file("data", data + 2, size - 2);

    taxonomy t;
    vocab v;
    if (taxonomy_load(&t, taxonomy_path, TAXONOMY_FORMAT_AUTO) != HFTC_STATUS_OK || vocab_init(&v) != HFTC_STATUS_OK)
        abort();
    static const char *const words[] = {"the", "a", "of", "news", "é"};
    for (size_t i = 0; !grow && i < sizeof words / sizeof *words; i++)
        vocab_add(&v, words[i], strlen(words[i]), &(uint32_t){0});
    if (a & 128) {
        dataset_stream *s;
        if (dataset_stream_open(&s, path, &opt, &v, grow, &t.names) == HFTC_STATUS_OK) {
            bool end = false;
            const dataset *batch;
            while (!end && dataset_stream_next(s, 3, &batch, &end) == HFTC_STATUS_OK)
                if (batch->n_docs > 3)
                    abort();
            dataset_stream_close(s);
        }
    } else {
        dataset ds;
        if (dataset_read(&ds, path, &opt, &v, grow, &t.names) == HFTC_STATUS_OK) {
            for (size_t d = 0; d < ds.n_docs; d++)
                for (size_t i = ds.token_start[d]; i < ds.token_start[d + 1]; i++)
                    if (ds.tokens[i] >= vocab_size(&v))
                        abort(); /* a token id outside the vocabulary */
            complete(&t, &ds, path, mode);
            dataset_free(&ds);
        }
    }
    vocab_free(&v);
    taxonomy_free(&t);
    return 0;
}
