/* The checksums of hftc's safetensors files (safetensors_internal.h), computed alike by the writer and the reader. */
#include "model/safetensors_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Number of elements of a shape, false if its byte size does not fit size_t and a JSON integer. */
bool st_shape_elements(const size_t *shape, size_t ndim, size_t *elements)
{
    size_t n = 1;
    bool empty = false;
    for (size_t i = 0; i < ndim; i++) {
        if (shape[i] > (size_t)LLONG_MAX)
            return false;
        empty |= shape[i] == 0;
    }
    if (empty) {
        *elements = 0;
        return true;
    }
    for (size_t i = 0; i < ndim; i++) {
        if (n > (size_t)LLONG_MAX / sizeof(float) / shape[i])
            return false;
        n *= shape[i];
    }
    *elements = n;
    return true;
}

uint32_t st_crc_bytes(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) { /* zlib takes unsigned int lengths */
        uInt chunk = n > (1u << 30) ? 1u << 30 : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk, n -= chunk;
    }
    return crc;
}

static int metadata_compare(const void *a, const void *b)
{
    return strcmp(((const st_metadata *)a)->key, ((const st_metadata *)b)->key);
}

/* The header's CRC-32 over what it says, independent of its JSON spelling: the metadata entries but the
 * checksums' own, by key, then each tensor in file order (name, dtype, shape, extent) with its data's CRC. A
 * changed word, shape or offset changes it. sorted: metadata sorted by key (may be reordered). */
uint32_t st_header_crc(st_metadata *meta, size_t n_meta, const st_tensor *const *tensors, const size_t *begin,
                       size_t n_tensors, const uint32_t *tensor_crc)
{
    qsort(meta, n_meta, sizeof *meta, metadata_compare);
    uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
    for (size_t i = 0; i < n_meta; i++)
        if (strcmp(meta[i].key, ST_CHECKSUM_KEY) != 0) {
            crc = st_crc_bytes(crc, meta[i].key, strlen(meta[i].key) + 1);
            crc = st_crc_bytes(crc, meta[i].value, strlen(meta[i].value) + 1);
        }
    for (size_t i = 0; i < n_tensors; i++) {
        const st_tensor *t = tensors[i];
        char line[96];
        int used = snprintf(line, sizeof line, "%c%zu", t->dtype == ST_U32 ? 'U' : 'F', t->ndim);
        for (size_t d = 0; d < t->ndim; d++)
            used += snprintf(line + used, sizeof line - (size_t)used, ",%zu", t->shape[d]);
        snprintf(line + used, sizeof line - (size_t)used, "@%zu#%08x", begin[i], tensor_crc[i]);
        crc = st_crc_bytes(crc, t->name, strlen(t->name) + 1);
        crc = st_crc_bytes(crc, line, strlen(line) + 1);
    }
    return crc;
}
