/* What the safetensors files share (safetensors.c: the reader; safetensors_write.c: the writer;
 * safetensors_crc.c: the checksums both compute). */
#ifndef HFTC_MODEL_SAFETENSORS_INTERNAL_H
#define HFTC_MODEL_SAFETENSORS_INTERNAL_H

#include "model/safetensors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c copies float32 data in host byte order, which must be little-endian"
#endif

/* A header larger than this is taken as a corrupt length field rather than a model. */
#define ST_MAX_HEADER ((size_t)100 * 1000 * 1000)
#define ST_METADATA_KEY "__metadata__"

/* The metadata entry of hftc's checksums: {"crc32": header CRC, "tensors": [each tensor's CRC, file order]}. */
#define ST_CHECKSUM_KEY "hftc_checksums"

/* Number of elements of a shape, false if its byte size does not fit size_t and a JSON integer. */
bool st_shape_elements(const size_t *shape, size_t ndim, size_t *elements);
/* crc extended by n bytes at data (zlib's CRC-32, any n). */
uint32_t st_crc_bytes(uint32_t crc, const void *data, size_t n);
/* The header's CRC-32 over what it says, independent of its JSON spelling: the metadata entries but the
 * checksums' own, by key, then each tensor in file order (name, dtype, shape, extent) with its data's CRC. A
 * changed word, shape or offset changes it. meta is sorted by key here (reordered). */
uint32_t st_header_crc(st_metadata *meta, size_t n_meta, const st_tensor *const *tensors, const size_t *begin,
                       size_t n_tensors, const uint32_t *tensor_crc);

/* What a file that is not a regular one is, for messages. */
static inline const char *st_file_kind(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a file";
}

#endif
