/* The generated data of the end-to-end tests (test_model.c through the library, test_cli.c through the hftc
 * command): two topics whose words decide the labels, in three files of the tmpfiles directory. Header-only
 * like tmpfiles.h; topics_write_splits needs tmpfiles_init first. */
#ifndef HFTC_TOPICS_H
#define HFTC_TOPICS_H

#include "tmpfiles.h"

#include <stdint.h>
#include <stdio.h>

// The three files, set by topics_write_splits.
static const char *path_train, *path_valid, *path_test;

/* Topic words decide the labels: "sport" documents use sport words, "science" ones science words,
 * some use both (multi-label); filler words are noise. */
static inline void topics_write(const char *path, size_t n, uint64_t seed)
{
    static const char *const sport[] = {"match", "goal", "team", "score", "coach", "league"};
    static const char *const science[] = {"atom", "cell", "theory", "energy", "lab", "gene"};
    static const char *const filler[] = {"the", "a", "of", "today", "said", "new", "big", "and"};
    FILE *f = fopen(path, "w");
    uint64_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned kind = (unsigned)(x >> 33) % 3; /* 0 sport, 1 science, 2 both */
        fprintf(f, "%s\t", kind == 0 ? "sport" : kind == 1 ? "science" : "sport,science");
        size_t len = 6 + (x >> 40) % 10;
        for (size_t t = 0; t < len; t++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned r = (unsigned)(x >> 33);
            const char *w = filler[r % 8];
            if (r % 3 == 0)
                w = (kind == 1 || (kind == 2 && r % 2)) ? science[r / 3 % 6] : sport[r / 3 % 6];
            fprintf(f, "%s%s", t ? " " : "", w);
        }
        fputc('\n', f);
    }
    fclose(f);
}

/* The training (600 documents), validation (100) and test (150) files, each from its own seed. */
static inline void topics_write_splits(void)
{
    path_train = tmpfiles_path("train.tsv");
    path_valid = tmpfiles_path("valid.tsv");
    path_test = tmpfiles_path("test.tsv");
    topics_write(path_train, 600, 1);
    topics_write(path_valid, 100, 2);
    topics_write(path_test, 150, 3);
}

#endif
