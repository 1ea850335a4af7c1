/* safetensors files, the reader (the writer: safetensors_write.c): it validates
 * the whole layout before handing out tensors, so a damaged model file fails with a clear message
 * instead of feeding garbage to the network. Neither touches what is not a regular file: the writer
 * refuses to replace a FIFO or a device, the reader to wait on one. */
#define _POSIX_C_SOURCE 200809L

#include "model/safetensors_internal.h"

#include "core/arena.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct st_file {
    bool checksummed;   /* the header matched its checksum; each tensor is checked as it is read */
    uint32_t *crc;      /* (n_tensors) with checksummed: each tensor's CRC-32, by file order */
    json_t *header;     /* owns every name, key and value string handed out */
    json_t *meta;       /* the __metadata__ object or NULL */
    st_tensor *tensors; /* file order */
    size_t n_tensors;
    const st_tensor **by_name; /* for safetensors_find */
    st_metadata *metadata;
    size_t n_metadata;
    FILE *fp;         /* open until safetensors_close: tensors are read on demand */
    bool borrowed_fp; /* a view's: its file's, which closes it */
    off_t data_start; /* the data section's offset in the file */
    char *path;       /* for error messages */
};

typedef struct {
    size_t begin, end, order;
    st_tensor tensor;
} st_entry;

static int entry_compare(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int name_compare(const void *a, const void *b)
{
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

static hftc_status corrupt(const char *path)
{
    return error_set(HFTC_STATUS_MODEL, "%s: truncated or not a safetensors file", path);
}

/* A non-negative JSON integer, as a size_t. */
static bool json_size(const json_t *v, size_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (size_t)json_integer_value(v);
    return true;
}

static hftc_status entry_parse(st_entry *e, const char *path, const char *name, const json_t *v)
{
    e->tensor.name = name;
    if (!json_is_object(v))
        return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s' is not a JSON object", path, name);
    const json_t *dtype = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape");
    const json_t *offsets = json_object_get(v, "data_offsets");
    if (!json_is_string(dtype) || !json_is_array(shape) || !json_is_array(offsets))
        return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s' needs a dtype string, a shape and data_offsets", path,
                         name);
    if (strcmp(json_string_value(dtype), "F32") != 0 && strcmp(json_string_value(dtype), "U32") != 0)
        return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s' has dtype %s; hftc reads only F32 and U32", path, name,
                         json_string_value(dtype));
    e->tensor.dtype = strcmp(json_string_value(dtype), "U32") == 0 ? ST_U32 : ST_F32;
    size_t ndim = json_array_size(shape);
    if (ndim > SAFETENSORS_MAX_DIMS)
        return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s' has %zu dimensions; at most %d are supported", path, name,
                         ndim, SAFETENSORS_MAX_DIMS);
    e->tensor.ndim = ndim;
    for (size_t d = 0; d < ndim; d++)
        if (!json_size(json_array_get(shape, d), &e->tensor.shape[d]))
            return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s' has a shape that is not a list of sizes", path, name);
    if (json_array_size(offsets) != 2 || !json_size(json_array_get(offsets, 0), &e->begin) ||
        !json_size(json_array_get(offsets, 1), &e->end) || e->end < e->begin)
        return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s' has bad data_offsets", path, name);
    size_t elements;
    if (!st_shape_elements(e->tensor.shape, ndim, &elements) || elements * sizeof(float) != e->end - e->begin)
        return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s': its shape does not match its %zu data bytes", path, name,
                         e->end - e->begin);
    return HFTC_STATUS_OK;
}

static hftc_status metadata_parse(st_file *f, const char *path, json_t *meta)
{
    if (!json_is_object(meta))
        return error_set(HFTC_STATUS_MODEL, "%s: %s is not a JSON object", path, ST_METADATA_KEY);
    f->metadata = mem_calloc(json_object_size(meta), sizeof *f->metadata);
    if (!f->metadata)
        return HFTC_STATUS_OUT_OF_MEMORY;
    const char *key;
    json_t *value;
    json_object_foreach(meta, key, value)
    {
        if (!json_is_string(value))
            return error_set(HFTC_STATUS_MODEL, "%s: %s value of '%s' is not a string", path, ST_METADATA_KEY, key);
        if (strcmp(key, ST_CHECKSUM_KEY) != 0) /* the format's own entry, not the caller's metadata */
            f->metadata[f->n_metadata++] = (st_metadata){key, json_string_value(value)};
    }
    f->meta = meta;
    return HFTC_STATUS_OK;
}

/* Parses and checks the header; fills f's tensors (names, shapes, sorted by offset, data not yet
 * attached) and metadata; entries[i].begin are the data offsets. */
static hftc_status header_parse(st_file *f, const char *path, const char *text, size_t len, size_t data_size,
                                st_entry **entries_out)
{
    json_error_t jerr;
    f->header = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!f->header)
        return error_set(HFTC_STATUS_MODEL, "%s: header is not valid JSON: %s", path, jerr.text);
    if (!json_is_object(f->header))
        return error_set(HFTC_STATUS_MODEL, "%s: header is not a JSON object", path);

    st_entry *entries = mem_calloc(json_object_size(f->header), sizeof *entries);
    if (!entries)
        return HFTC_STATUS_OUT_OF_MEMORY;
    *entries_out = entries;
    const char *key;
    json_t *value;
    json_object_foreach(f->header, key, value)
    {
        if (strcmp(key, ST_METADATA_KEY) == 0) {
            TRY(metadata_parse(f, path, value));
            continue;
        }
        st_entry *e = &entries[f->n_tensors];
        e->order = f->n_tensors++;
        TRY(entry_parse(e, path, key, value));
    }

    qsort(entries, f->n_tensors, sizeof *entries, entry_compare);
    size_t expected = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        if (entries[i].begin < expected)
            return error_set(HFTC_STATUS_MODEL, "%s: tensors '%s' and '%s' overlap", path, entries[i - 1].tensor.name,
                             entries[i].tensor.name);
        if (entries[i].begin > expected)
            return error_set(HFTC_STATUS_MODEL, "%s: %zu unused data bytes before tensor '%s'", path,
                             entries[i].begin - expected, entries[i].tensor.name);
        expected = entries[i].end;
    }
    if (expected > data_size)
        return error_set(HFTC_STATUS_MODEL, "%s: truncated: the tensors need %zu data bytes, the file has %zu", path,
                         expected, data_size);
    if (expected < data_size)
        return error_set(HFTC_STATUS_MODEL, "%s: %zu trailing bytes after the tensor data", path, data_size - expected);
    return HFTC_STATUS_OK;
}

static hftc_status checksums_verify(st_file *f, const char *path, const st_entry *entries);

/* Whether a checksum differs from the one recorded. The fuzz build (HFTC_FUZZ) computes both but lets the file
 * through, or nearly every mutation of a model file would stop here and the parser behind would go unfuzzed. */
static bool crc_differs(uint32_t computed, uint32_t recorded)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)computed, (void)recorded;
    return false;
#else
    return computed != recorded;
#endif
}

static hftc_status file_read(st_file *f, FILE *fp, const char *path, size_t size)
{
    unsigned char prefix[8];
    if (size < 8 || fread(prefix, 1, 8, fp) != 8)
        return corrupt(path);
    uint64_t header_len = 0;
    for (size_t i = 0; i < 8; i++)
        header_len |= (uint64_t)prefix[i] << (8 * i);
    if (header_len > ST_MAX_HEADER || header_len > size - 8)
        return corrupt(path);

    size_t len = (size_t)header_len, data_size = size - 8 - len;
    char *text = mem_alloc(len, 1);
    if (!text)
        return HFTC_STATUS_OUT_OF_MEMORY;
    st_entry *entries = NULL;
    hftc_status status =
        fread(text, 1, len, fp) == len ? header_parse(f, path, text, len, data_size, &entries) : corrupt(path);
    free(text);
    if (status == HFTC_STATUS_OK) {
        f->tensors = mem_calloc(f->n_tensors, sizeof *f->tensors);
        f->by_name = mem_calloc(f->n_tensors, sizeof *f->by_name);
        if (!f->tensors || !f->by_name)
            status = HFTC_STATUS_OUT_OF_MEMORY;
    }
    if (status == HFTC_STATUS_OK) {
        f->data_start = (off_t)(8 + len);
        for (size_t i = 0; i < f->n_tensors; i++) {
            f->tensors[i] = entries[i].tensor;
            f->tensors[i].offset = entries[i].begin;
            f->by_name[i] = &f->tensors[i];
        }
        qsort(f->by_name, f->n_tensors, sizeof *f->by_name, name_compare);
    }
    if (status == HFTC_STATUS_OK)
        status = checksums_verify(f, path, entries);
    free(entries);
    return status;
}

/* Checks the header against hftc's checksums entry when it has one (files written before it have none: they
 * load unchecked) and keeps the tensors' CRCs for safetensors_read. entries: by file order. */
static hftc_status checksums_verify(st_file *f, const char *path, const st_entry *entries)
{
    const char *text = safetensors_metadata(f, ST_CHECKSUM_KEY);
    if (!text)
        return HFTC_STATUS_OK;
    json_t *j = json_loads(text, 0, NULL), *list = json_object_get(j, "tensors");
    json_int_t header = json_integer_value(json_object_get(j, "crc32"));
    f->crc = mem_alloc(f->n_tensors + 1, sizeof *f->crc);
    size_t *begin = mem_alloc(f->n_tensors + 1, sizeof *begin);
    const st_tensor **order = mem_alloc(f->n_tensors + 1, sizeof *order);
    st_metadata *meta = mem_alloc(f->n_metadata + 1, sizeof *meta);
    hftc_status st = f->crc && begin && order && meta ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK && (!json_is_integer(json_object_get(j, "crc32")) || !json_is_array(list) ||
                                 json_array_size(list) != f->n_tensors))
        st = error_set(HFTC_STATUS_MODEL, "%s: its checksums entry is damaged", path);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < f->n_tensors; i++) {
        json_int_t crc = json_integer_value(json_array_get(list, i));
        f->crc[i] = (uint32_t)crc;
        begin[i] = entries[i].begin, order[i] = &f->tensors[i];
        if (crc < 0 || crc > UINT32_MAX)
            st = error_set(HFTC_STATUS_MODEL, "%s: its checksums entry is damaged", path);
    }
    if (st == HFTC_STATUS_OK) {
        memcpy(meta, f->metadata, f->n_metadata * sizeof *meta);
        if (crc_differs(st_header_crc(meta, f->n_metadata, order, begin, f->n_tensors, f->crc), (uint32_t)header))
            st = error_set(HFTC_STATUS_MODEL, "%s: its header does not match its checksum: the file is damaged", path);
    }
    f->checksummed = st == HFTC_STATUS_OK;
    json_decref(j);
    free(begin), free(order), free(meta);
    return st;
}

bool safetensors_checksummed(const st_file *f) { return f->checksummed; }

/* Opens path for reading if it is a regular file. O_NONBLOCK: opening a FIFO would otherwise wait for a
 * writer, forever, before the check could refuse it; cleared after, as it means nothing for a file. */
static FILE *open_regular(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        error_set(HFTC_STATUS_IO, "cannot open %s: %s", path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        error_set(HFTC_STATUS_IO, "cannot read %s: not a regular file (%s)", path, st_file_kind(sb.st_mode));
    } else {
        FILE *fp = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0 ? fdopen(fd, "rb") : NULL;
        if (fp) {
            *size = (size_t)sb.st_size;
            return fp;
        }
        error_set(HFTC_STATUS_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

hftc_status safetensors_open(st_file **out, const char *path)
{
    *out = NULL;
    size_t size;
    FILE *fp = open_regular(path, &size);
    if (!fp)
        return HFTC_STATUS_IO;
    st_file *f = mem_calloc(1, sizeof *f);
    if (!f)
        fclose(fp);
    hftc_status status = f ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (f) {
        f->fp = fp;
        f->path = strdup(path);
        status = f->path ? file_read(f, fp, path, size) : HFTC_STATUS_OUT_OF_MEMORY;
    }
    if (status != HFTC_STATUS_OK) {
        safetensors_close(f);
        return status;
    }
    *out = f;
    return HFTC_STATUS_OK;
}

void safetensors_close(st_file *f)
{
    if (!f)
        return;
    json_decref(f->header);
    free(f->crc);
    free(f->tensors);
    free(f->by_name);
    free(f->metadata);
    if (f->fp && !f->borrowed_fp)
        fclose(f->fp);
    free(f->path);
    free(f);
}

/* The view's names point past the prefix into f's, which f's header owns; its metadata object holds the
 * entries again under the shorter keys (safetensors_metadata looks them up there); it keeps its tensors'
 * checksums, so that reading one through it checks it as reading it from f does. */
hftc_status safetensors_view(const st_file *f, const char *prefix, st_file **out)
{
    *out = NULL;
    size_t n = strlen(prefix);
    st_file *v = mem_calloc(1, sizeof *v);
    if (!v)
        return HFTC_STATUS_OUT_OF_MEMORY;
    *v = (st_file){.fp = f->fp,
                   .borrowed_fp = true,
                   .checksummed = f->checksummed, /* its tensors are checked against the file's checksums */
                   .data_start = f->data_start};
    size_t size = strlen(f->path) + n + 16; /* messages name the file and the prefix: "m.hftc, under \"member1.\"" */
    if ((v->path = mem_alloc(size, 1)))
        snprintf(v->path, size, "%s, under \"%s\"", f->path, prefix);
    v->meta = v->header = json_object();
    v->tensors = mem_alloc(f->n_tensors + 1, sizeof *v->tensors);
    v->by_name = mem_alloc(f->n_tensors + 1, sizeof *v->by_name);
    v->metadata = mem_alloc(f->n_metadata + 1, sizeof *v->metadata);
    v->crc = f->checksummed ? mem_alloc(f->n_tensors + 1, sizeof *v->crc) : NULL;
    bool ok = v->path && v->header && v->tensors && v->by_name && v->metadata && (v->crc || !f->checksummed);
    for (size_t i = 0; ok && i < f->n_tensors; i++)
        if (!strncmp(f->tensors[i].name, prefix, n)) {
            if (v->crc)
                v->crc[v->n_tensors] = f->crc[i];
            v->tensors[v->n_tensors] = f->tensors[i];
            v->tensors[v->n_tensors++].name += n;
        }
    for (size_t i = 0; ok && i < v->n_tensors; i++)
        v->by_name[i] = &v->tensors[i];
    if (ok)
        qsort(v->by_name, v->n_tensors, sizeof *v->by_name, name_compare);
    for (size_t i = 0; ok && i < f->n_metadata; i++)
        if (!strncmp(f->metadata[i].key, prefix, n)) {
            v->metadata[v->n_metadata++] = (st_metadata){f->metadata[i].key + n, f->metadata[i].value};
            ok = json_object_set_new(v->meta, f->metadata[i].key + n, json_string(f->metadata[i].value)) == 0;
        }
    if (!ok) {
        safetensors_close(v);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    *out = v;
    return HFTC_STATUS_OK;
}

size_t safetensors_count(const st_file *f) { return f->n_tensors; }

const st_tensor *safetensors_tensor(const st_file *f, size_t i) { return i < f->n_tensors ? &f->tensors[i] : NULL; }

const st_tensor *safetensors_find(const st_file *f, const char *name)
{
    st_tensor key = {.name = name};
    const st_tensor *key_ptr = &key;
    const st_tensor *const *hit = bsearch(&key_ptr, f->by_name, f->n_tensors, sizeof *f->by_name, name_compare);
    return hit ? *hit : NULL;
}

const char *safetensors_metadata(const st_file *f, const char *key)
{
    return f->meta ? json_string_value(json_object_get(f->meta, key)) : NULL;
}

size_t safetensors_metadata_count(const st_file *f) { return f->n_metadata; }

const st_metadata *safetensors_metadata_at(const st_file *f, size_t i)
{
    return i < f->n_metadata ? &f->metadata[i] : NULL;
}

hftc_status safetensors_read(const st_file *f, const st_tensor *t, void *out)
{
    size_t n = 1;
    for (size_t d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    if (n &&
        (fseeko(f->fp, f->data_start + (off_t)t->offset, SEEK_SET) != 0 || fread(out, sizeof(float), n, f->fp) != n))
        return error_set(HFTC_STATUS_MODEL, "%s: cannot read tensor '%s' (the file changed or was truncated)", f->path,
                         t->name);
    if (f->checksummed &&
        crc_differs(st_crc_bytes((uint32_t)crc32(0, Z_NULL, 0), out, n * sizeof(float)), f->crc[t - f->tensors]))
        return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s' does not match its checksum: the file is damaged", f->path,
                         t->name);
    const float *values = out;
    for (size_t i = 0; t->dtype == ST_F32 && i < n; i++)
        if (!isfinite(values[i]))
            return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s' has a value that is not finite (element %zu)", f->path,
                             t->name, i);
    return HFTC_STATUS_OK;
}
