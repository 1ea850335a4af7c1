/* Generated data of a three-level taxonomy for the tests of the per-category and per-level models
 * (test_node.c, test_linear.c): every document one path from the top (its deepest label with its
 * ancestors), with its deepest label's words and filler. Header-only like topics.h. */
#ifndef HFTC_LEAVES_H
#define HFTC_LEAVES_H

#include <stdint.h>
#include <stdio.h>

static const char leaves_taxonomy[] = "Root\tsport\tscience\n"
                                      "sport\tfootball\ttennis\n"
                                      "science\tphysics\tbiology\n"
                                      "physics\tquantum\n";

/* A document of one leaf (with its ancestors): its own words, its parent's words, filler. */
static inline void leaves_write(const char *path, size_t n, uint64_t seed)
{
    static const char *const leaves[] = {"sport,football", "sport,tennis", "science,physics,quantum", "science,biology",
                                         "science,physics"};
    static const char *const words[][3] = {{"goal", "pitch", "striker"},
                                           {"racket", "serve", "wimbledon"},
                                           {"qubit", "entangled", "spin"},
                                           {"cell", "gene", "protein"},
                                           {"force", "mass", "energy"}};
    static const char *const filler[] = {"the", "a", "of", "today", "said", "new"};
    FILE *f = fopen(path, "w");
    uint64_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned kind = (unsigned)(x >> 33) % 5;
        fprintf(f, "%s\t", leaves[kind]);
        size_t len = 5 + (x >> 40) % 8;
        for (size_t t = 0; t < len; t++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned r = (unsigned)(x >> 33);
            const char *w = r % 2 ? words[kind][r / 2 % 3] : filler[r / 2 % 6];
            fprintf(f, "%s%s", t ? " " : "", w);
        }
        fputc('\n', f);
    }
    fclose(f);
}

#endif
