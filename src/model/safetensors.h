/* The safetensors file layout (https://huggingface.co/docs/safetensors): 8-byte little-endian
 * header length N, N bytes of JSON header {"name": {"dtype": "F32", "shape": [...],
 * "data_offsets": [begin, end]}, ..., "__metadata__": {string: string}}, then raw little-endian
 * data. hftc writes F32 tensors and U32 ones (a linear model's indices), both 4 bytes an element, and the
 * metadata entry "hftc_checksums": the CRC-32 of each tensor's data and of the header's content (metadata,
 * names, shapes, offsets), checked when the file is read; files without it (written before) load unchecked. Writing
 * goes to a new temporary file in the same directory, flushed and renamed over the target, so a crash never leaves a
 * half-written model. Reading validates everything: header length within the file, JSON, dtypes, shapes x 4 bytes =
 * extent, offsets in bounds, non-overlapping and covering the data exactly. Opening reads the header only;
 * safetensors_read copies one tensor's data from the file into the caller's memory, so that loading a model needs its
 * size in memory once. */
#ifndef HFTC_MODEL_SAFETENSORS_H
#define HFTC_MODEL_SAFETENSORS_H

#include "hftc.h"

#include <stdbool.h>
#include <stddef.h>

#define SAFETENSORS_MAX_DIMS 4

typedef enum { ST_F32, ST_U32 } st_dtype; /* both 4 bytes an element */

typedef struct st_tensor {
    const char *name;
    size_t ndim;
    size_t shape[SAFETENSORS_MAX_DIMS];
    const void *data; /* writing: the values; read from a file: NULL (safetensors_read) */
    st_dtype dtype;   /* F32 unless set */
    size_t offset;    /* read from a file: where its bytes start in the data section */
} st_tensor;

typedef struct {
    const char *key;
    const char *value;
} st_metadata;

/* Writes a new file at path (never through a temporary name that exists: a link planted there is not
 * followed) and renames it over path. path may be a symbolic link: the link is replaced, never followed.
 * Removes the temporary files of path an hour old (writers killed before their rename). */
hftc_status safetensors_write(const char *path, const st_tensor *tensors, size_t n_tensors, const st_metadata *metadata,
                              size_t n_metadata);
/* An error (IO, naming path) if path is empty or exists as anything but a regular file or a symbolic link: a
 * directory, a FIFO, a device, a socket, which a rename would replace by a model file. */
hftc_status safetensors_check_output(const char *path);

typedef struct st_file st_file;

hftc_status safetensors_open(st_file **out, const char *path);
/* The tensors and metadata entries of f whose names begin with prefix, under their names without it: a
 * view that reads f's file (f stays open while it is used; closing the view leaves f open), checksummed as
 * f is (its tensors checked as they are read). A model file holding other models' entries under prefixes
 * (an ensemble) reads each through its view. */
hftc_status safetensors_view(const st_file *f, const char *prefix, st_file **out);
void safetensors_close(st_file *f);
size_t safetensors_count(const st_file *f);
/* The i-th tensor in file order (name, shape, data aligned for float access). */
const st_tensor *safetensors_tensor(const st_file *f, size_t i);
/* NULL if absent. */
const st_tensor *safetensors_find(const st_file *f, const char *name);
/* Copies tensor t of f (its shape's element count of 4-byte values) into out; an error names the file if it
 * can no longer be read as it was opened, if the data does not match its checksum, or if an F32 value is not
 * finite (NaN, infinite: a model with one predicts nonsense). */
hftc_status safetensors_read(const st_file *f, const st_tensor *t, void *out);
/* Whether the file has hftc's checksums (files written before them have none), its header matching them. */
bool safetensors_checksummed(const st_file *f);
/* NULL if absent. */
const char *safetensors_metadata(const st_file *f, const char *key);
size_t safetensors_metadata_count(const st_file *f);
const st_metadata *safetensors_metadata_at(const st_file *f, size_t i);

#endif
