/* Fuzzing the taxonomy reader (src/data/taxonomy_file.c) in both formats and the graph it builds
 * (src/data/taxonomy.c). Input: one byte of options (bits 0-1: auto, parent-children, .tree; more: auto),
 * then the taxonomy file. A loaded taxonomy's ancestors are checked against its levels. */
#include "fuzz.h"

#include "data/taxonomy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    taxonomy_format fmt = (data[0] & 3) <= TAXONOMY_FORMAT_TREE ? (taxonomy_format)(data[0] & 3) : TAXONOMY_FORMAT_AUTO;
    taxonomy t;
    if (taxonomy_load(&t, fuzz_file("taxonomy", data + 1, size - 1), fmt) != HFTC_STATUS_OK)
        return 0;
    uint32_t *out = malloc((t.n_nodes ? t.n_nodes : 1) * sizeof *out);
    bool *mark = calloc(t.n_nodes ? t.n_nodes : 1, sizeof *mark);
    if (!out || !mark)
        abort();
    for (uint32_t node = 0; node < t.n_nodes; node++) {
        size_t n = taxonomy_ancestors(&t, node, out, mark);
        /* a node at level L has at least L - 1 ancestors, sorted, unique, none of them itself */
        if (t.level[node] < 1 || n + 1 < t.level[node] || n >= t.n_nodes)
            abort();
        for (size_t i = 0; i < n; i++)
            if (out[i] == node || out[i] >= t.n_nodes || (i && out[i] <= out[i - 1]) || mark[out[i]])
                abort();
    }
    free(out), free(mark);
    taxonomy_free(&t);
    return 0;
}
