/* safetensors files, the writer: atomic (a temporary file beside the output, fsync, rename), never replacing
 * what is not a regular file, with hftc's checksums in its metadata. */
#define _POSIX_C_SOURCE 200809L

#include "model/safetensors_internal.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
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

/* A temporary file is named .<output's name>.hftc-tmp.XXXXXX beside its output: hidden, recognisably
 * hftc's, one output's apart from another's. The output's name is cut to ST_TEMP_NAME_MAX bytes in it,
 * so that the whole stays under NAME_MAX (255). */
#define ST_TEMP_MARK ".hftc-tmp."
#define ST_TEMP_RANDOM 6
#define ST_TEMP_NAME_MAX 200
/* A temporary file of the same output untouched this long was left by a writer that was killed (a live
 * one writes it as it goes and renames it seconds after its last write): the next write removes it. */
#define ST_TEMP_STALE_SECONDS (60 * 60)

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
        if (t->ndim > SAFETENSORS_MAX_DIMS || !st_shape_elements(t->shape, t->ndim, &elements) ||
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
        st_shape_elements(tensors[i].shape, tensors[i].ndim, &elements);
        if (elements && (fault_write() || fwrite(tensors[i].data, sizeof(float), elements, fp) != elements))
            return false;
    }
    return !fault_write() && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
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
                     st_file_kind(sb.st_mode));
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
        st_shape_elements(tensors[i].shape, tensors[i].ndim, &elements);
        crc[i] = st_crc_bytes((uint32_t)crc32(0, Z_NULL, 0), tensors[i].data, elements * 4);
        begin[i] = offset, order[i] = &tensors[i];
        offset += elements * 4;
        json_array_append_new(list, json_integer(crc[i]));
    }
    if (st == HFTC_STATUS_OK) {
        if (n_metadata) /* metadata may be NULL with none */
            memcpy(sorted, metadata, n_metadata * sizeof *metadata);
        uint32_t header = st_header_crc(sorted, n_metadata, order, begin, n_tensors, crc);
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
