/* safetensors files: an atomic writer (temporary file, fsync, rename) and a reader that validates
 * the whole layout before handing out tensors, so a damaged model file fails with a clear message
 * instead of feeding garbage to the network. Neither touches what is not a regular file: the writer
 * refuses to replace a FIFO or a device, the reader to wait on one. */
#define _POSIX_C_SOURCE 200809L

#include "model/safetensors.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/fault.h"

#include <dirent.h>
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
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c copies float32 data in host byte order, which must be little-endian"
#endif

/* A header larger than this is taken as a corrupt length field rather than a model. */
#define ST_MAX_HEADER ((size_t)100 * 1000 * 1000)
#define ST_METADATA_KEY "__metadata__"

/* A temporary file is named .<output's name>.hftc-tmp.XXXXXX beside its output: hidden, recognisably
 * hftc's, one output's apart from another's. The output's name is cut to ST_TEMP_NAME_MAX bytes in it,
 * so that the whole stays under NAME_MAX (255). */
#define ST_TEMP_MARK ".hftc-tmp."
#define ST_TEMP_RANDOM 6
#define ST_TEMP_NAME_MAX 200
/* A temporary file of the same output untouched this long was left by a writer that was killed (a live
 * one writes it as it goes and renames it seconds after its last write): the next write removes it. */
#define ST_TEMP_STALE_SECONDS (60 * 60)

/* The metadata entry of hftc's checksums: {"crc32": header CRC, "tensors": [each tensor's CRC, file order]}. */
#define ST_CHECKSUM_KEY "hftc_checksums"

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

/* Number of elements of a shape, false if its byte size does not fit size_t and a JSON integer. */
static bool shape_elements(const size_t *shape, size_t ndim, size_t *elements)
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

/* ---- checksums ---- */

static uint32_t crc_bytes(uint32_t crc, const void *data, size_t n)
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
static uint32_t header_crc(st_metadata *meta, size_t n_meta, const st_tensor *const *tensors, const size_t *begin,
                           size_t n_tensors, const uint32_t *tensor_crc)
{
    qsort(meta, n_meta, sizeof *meta, metadata_compare);
    uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
    for (size_t i = 0; i < n_meta; i++)
        if (strcmp(meta[i].key, ST_CHECKSUM_KEY) != 0) {
            crc = crc_bytes(crc, meta[i].key, strlen(meta[i].key) + 1);
            crc = crc_bytes(crc, meta[i].value, strlen(meta[i].value) + 1);
        }
    for (size_t i = 0; i < n_tensors; i++) {
        const st_tensor *t = tensors[i];
        char line[96];
        int used = snprintf(line, sizeof line, "%c%zu", t->dtype == ST_U32 ? 'U' : 'F', t->ndim);
        for (size_t d = 0; d < t->ndim; d++)
            used += snprintf(line + used, sizeof line - (size_t)used, ",%zu", t->shape[d]);
        snprintf(line + used, sizeof line - (size_t)used, "@%zu#%08x", begin[i], tensor_crc[i]);
        crc = crc_bytes(crc, t->name, strlen(t->name) + 1);
        crc = crc_bytes(crc, line, strlen(line) + 1);
    }
    return crc;
}

/* ---- writing ---- */

/* The header object: __metadata__ first (readers that stream the header see it early), then the
 * tensors with contiguous offsets in the given order. */
static hftc_status header_build(json_t *root, const char *path, const st_tensor *tensors, size_t n_tensors,
                                const st_metadata *metadata, size_t n_metadata)
{
    if (n_metadata) {
        json_t *meta = json_object();
        if (!meta || json_object_set_new(root, ST_METADATA_KEY, meta))
            return error_set(HFTC_STATUS_OUT_OF_MEMORY, "cannot write %s: out of memory", path);
        for (size_t i = 0; i < n_metadata; i++) {
            const char *key = metadata[i].key, *value = metadata[i].value;
            if (!key || !value)
                return error_set(HFTC_STATUS_INVALID_ARGUMENT, "cannot write %s: metadata entry %zu is NULL", path, i);
            if (json_object_get(meta, key))
                return error_set(HFTC_STATUS_INVALID_ARGUMENT, "cannot write %s: metadata key '%s' repeated", path,
                                 key);
            json_t *s = json_string(value);
            if (!s || json_object_set_new(meta, key, s))
                return error_set(HFTC_STATUS_INVALID_ARGUMENT, "cannot write %s: metadata '%s' is not valid UTF-8",
                                 path, key);
        }
    }
    size_t offset = 0;
    for (size_t i = 0; i < n_tensors; i++) {
        const st_tensor *t = &tensors[i];
        size_t elements;
        if (!t->name)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "cannot write %s: tensor %zu has no name", path, i);
        if (strcmp(t->name, ST_METADATA_KEY) == 0 || json_object_get(root, t->name))
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "cannot write %s: tensor name '%s' repeated or reserved",
                             path, t->name);
        if (t->ndim > SAFETENSORS_MAX_DIMS || !shape_elements(t->shape, t->ndim, &elements) ||
            elements > ((size_t)LLONG_MAX - offset) / sizeof(float))
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "cannot write %s: tensor '%s' has a bad shape", path,
                             t->name);
        if (elements && !t->data)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "cannot write %s: tensor '%s' has no data", path, t->name);
        json_t *shape = json_array();
        bool built = shape != NULL;
        for (size_t d = 0; built && d < t->ndim; d++)
            built = json_array_append_new(shape, json_integer((json_int_t)t->shape[d])) == 0;
        size_t end = offset + elements * sizeof(float);
        // json_pack takes over shape ("o"), also when it fails.
        json_t *entry = built ? json_pack("{s:s, s:o, s:[I,I]}", "dtype", t->dtype == ST_U32 ? "U32" : "F32", "shape",
                                          shape, "data_offsets", (json_int_t)offset, (json_int_t)end)
                              : NULL;
        if (!built)
            json_decref(shape);
        if (!entry)
            return error_set(HFTC_STATUS_OUT_OF_MEMORY, "cannot write %s: out of memory", path);
        if (json_object_set_new(root, t->name, entry))
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "cannot write %s: tensor name '%s' is not valid UTF-8", path,
                             t->name);
        offset = end;
    }
    return HFTC_STATUS_OK;
}

/* Writes length, header padded with spaces to 8-byte data alignment, and data; false on an error
 * (errno set). */
static bool file_put(FILE *fp, const char *json, const st_tensor *tensors, size_t n_tensors)
{
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    unsigned char prefix[8];
    for (size_t i = 0; i < 8; i++)
        prefix[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    static const char spaces[8] = "        ";
    if (fault_write() || fwrite(prefix, 1, 8, fp) != 8 || fault_write() || fwrite(json, 1, len, fp) != len ||
        fwrite(spaces, 1, padded - len, fp) != padded - len)
        return false;
    for (size_t i = 0; i < n_tensors; i++) {
        size_t elements;
        shape_elements(tensors[i].shape, tensors[i].ndim, &elements);
        if (elements && (fault_write() || fwrite(tensors[i].data, sizeof(float), elements, fp) != elements))
            return false;
    }
    return !fault_write() && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
}

/* What a file that is not a regular one is, for messages. */
static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a file";
}

hftc_status safetensors_check_output(const char *path)
{
    struct stat sb;
    if (!*path)
        return error_set(HFTC_STATUS_IO, "cannot write a file of no name");
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? HFTC_STATUS_OK
                               : error_set(HFTC_STATUS_IO, "cannot write %s: %s", path, strerror(errno));
    if (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode))
        return HFTC_STATUS_OK;
    return error_set(HFTC_STATUS_IO, "cannot write %s: it exists and is not a regular file (%s)", path,
                     file_kind(sb.st_mode));
}

/* The place of the name in path (after its last slash) and the length of the prefix every temporary file
 * of path has: <directory>/.<name>.hftc-tmp. */
static size_t temp_prefix_length(const char *path, size_t *name_at)
{
    const char *slash = strrchr(path, '/');
    *name_at = slash ? (size_t)(slash - path) + 1 : 0;
    size_t name = strlen(path + *name_at);
    return *name_at + 1 + (name < ST_TEMP_NAME_MAX ? name : ST_TEMP_NAME_MAX) + strlen(ST_TEMP_MARK);
}

/* Removes the temporary files of path that writers killed before their rename left (ST_TEMP_STALE_SECONDS):
 * regular files of this user named prefix (path's, without its directory) and ST_TEMP_RANDOM characters,
 * in directory dir. Best effort: what cannot be read or removed stays. */
static void temp_remove_stale(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t n = strlen(prefix);
    time_t now = time(NULL);
    for (struct dirent *e; (e = readdir(d));) {
        struct stat sb;
        if (!strncmp(e->d_name, prefix, n) && strlen(e->d_name) == n + ST_TEMP_RANDOM &&
            fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
            sb.st_uid == geteuid() && now - sb.st_mtime > ST_TEMP_STALE_SECONDS)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

/* Creates tmp, which holds path's temporary prefix and room for ST_TEMP_RANDOM characters, as a new file
 * under random names until one is free: O_EXCL makes a name that exists an error, a symbolic link included,
 * so nothing planted there is followed or reused. mkstemp's way, with the mode of any new file (0666 less
 * the umask, as the kernel applies it; mkstemp's 0600 could be widened only by reading the umask, which
 * sets it for every thread). Returns the descriptor, or -1 with errno set. */
static int temp_create(char *tmp, size_t prefix_length)
{
    static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 40);
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) < 0)
            r = 0; /* the clock's and the step's name alone: unguessable or not, never an existing file */
        x = (x ^ r) * 6364136223846793005ULL + 1442695040888963407ULL;
        for (size_t i = 0; i < ST_TEMP_RANDOM; i++)
            tmp[prefix_length + i] = letters[(x >> (33 + 5 * i)) % (sizeof letters - 1)];
        tmp[prefix_length + ST_TEMP_RANDOM] = '\0';
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* The checksums entry's value (caller frees) for tensors and metadata that header_build accepted; a caller's
 * entry of that key is refused. */
static hftc_status checksums_entry(const st_tensor *tensors, size_t n_tensors, const st_metadata *metadata,
                                   size_t n_metadata, char **text)
{
    for (size_t i = 0; i < n_metadata; i++)
        if (!strcmp(metadata[i].key, ST_CHECKSUM_KEY))
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "metadata key '%s' is the format's own", ST_CHECKSUM_KEY);
    uint32_t *crc = mem_alloc(n_tensors + 1, sizeof *crc);
    size_t *begin = mem_alloc(n_tensors + 1, sizeof *begin);
    const st_tensor **order = mem_alloc(n_tensors + 1, sizeof *order);
    st_metadata *sorted = mem_alloc(n_metadata + 1, sizeof *sorted);
    json_t *list = json_array();
    hftc_status st = crc && begin && order && sorted && list ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    size_t offset = 0;
    for (size_t i = 0; st == HFTC_STATUS_OK && i < n_tensors; i++) {
        size_t elements = 0;
        shape_elements(tensors[i].shape, tensors[i].ndim, &elements);
        crc[i] = crc_bytes((uint32_t)crc32(0, Z_NULL, 0), tensors[i].data, elements * 4);
        begin[i] = offset, order[i] = &tensors[i];
        offset += elements * 4;
        json_array_append_new(list, json_integer(crc[i]));
    }
    if (st == HFTC_STATUS_OK) {
        if (n_metadata) /* metadata may be NULL with none */
            memcpy(sorted, metadata, n_metadata * sizeof *metadata);
        uint32_t header = header_crc(sorted, n_metadata, order, begin, n_tensors, crc);
        json_t *entry = json_pack("{s:I, s:o}", "crc32", (json_int_t)header, "tensors", list);
        list = NULL; /* json_pack took it, also when it failed */
        *text = entry ? json_dumps(entry, JSON_COMPACT) : NULL;
        json_decref(entry);
        if (!*text)
            st = HFTC_STATUS_OUT_OF_MEMORY;
    }
    json_decref(list);
    free(crc), free(begin), free(order), free(sorted);
    return st == HFTC_STATUS_OUT_OF_MEMORY ? error_set(st, "out of memory computing checksums") : st;
}

hftc_status safetensors_write(const char *path, const st_tensor *tensors, size_t n_tensors, const st_metadata *metadata,
                              size_t n_metadata)
{
    TRY(safetensors_check_output(path));
    json_t *root = json_object();
    if (!root)
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "cannot write %s: out of memory", path);
    hftc_status status = header_build(root, path, tensors, n_tensors, metadata, n_metadata);
    /* the checksums of what header_build checked: its own metadata entry, which no caller's may be */
    char *checksums = NULL;
    if (status == HFTC_STATUS_OK) {
        status = checksums_entry(tensors, n_tensors, metadata, n_metadata, &checksums);
        json_t *meta = json_object_get(root, ST_METADATA_KEY);
        if (status == HFTC_STATUS_OK && !meta && json_object_set_new(root, ST_METADATA_KEY, meta = json_object()))
            status = error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory");
        if (status == HFTC_STATUS_OK && json_object_set_new(meta, ST_CHECKSUM_KEY, json_string(checksums)))
            status = error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory");
        if (status != HFTC_STATUS_OK)
            error_wrap(status, "cannot write %s", path);
    }
    free(checksums);
    char *json = status == HFTC_STATUS_OK ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (status != HFTC_STATUS_OK)
        return status;
    if (!json)
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "cannot write %s: out of memory", path);
    size_t header_len = strlen(json);
    if (header_len > ST_MAX_HEADER - 8) {
        free(json);
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "cannot write %s: header of %zu bytes exceeds the %zu limit",
                         path, header_len, ST_MAX_HEADER);
    }

    size_t name_at, prefix_length = temp_prefix_length(path, &name_at);
    char *tmp = mem_alloc(prefix_length + ST_TEMP_RANDOM + 1, 1);
    char *dir = mem_alloc(name_at + 2, 1);
    if (!tmp || !dir) {
        free(tmp), free(dir), free(json);
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "cannot write %s: out of memory", path);
    }
    snprintf(tmp, prefix_length + 1, "%.*s.%.*s" ST_TEMP_MARK, (int)name_at, path, ST_TEMP_NAME_MAX, path + name_at);
    snprintf(dir, name_at + 2, "%.*s", name_at ? (int)name_at : 1, name_at ? path : ".");
    temp_remove_stale(dir, tmp + name_at);
    int fd = temp_create(tmp, prefix_length);
    FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    bool ok = fp && file_put(fp, json, tensors, n_tensors);
    int saved = ok ? 0 : errno;
    if (fp) {
        if (fclose(fp) != 0 && ok) {
            ok = false;
            saved = errno;
        }
    } else if (fd >= 0) {
        close(fd);
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        if (fd >= 0)
            unlink(tmp);
        status = error_set(HFTC_STATUS_IO, "cannot write %s: %s", path, strerror(saved ? saved : EIO));
    }
    free(tmp), free(dir), free(json);
    return status;
}

/* ---- reading ---- */

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
    if (!shape_elements(e->tensor.shape, ndim, &elements) || elements * sizeof(float) != e->end - e->begin)
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
        if (crc_differs(header_crc(meta, f->n_metadata, order, begin, f->n_tensors, f->crc), (uint32_t)header))
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
        error_set(HFTC_STATUS_IO, "cannot read %s: not a regular file (%s)", path, file_kind(sb.st_mode));
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
        crc_differs(crc_bytes((uint32_t)crc32(0, Z_NULL, 0), out, n * sizeof(float)), f->crc[t - f->tensors]))
        return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s' does not match its checksum: the file is damaged", f->path,
                         t->name);
    const float *values = out;
    for (size_t i = 0; t->dtype == ST_F32 && i < n; i++)
        if (!isfinite(values[i]))
            return error_set(HFTC_STATUS_MODEL, "%s: tensor '%s' has a value that is not finite (element %zu)", f->path,
                             t->name, i);
    return HFTC_STATUS_OK;
}
