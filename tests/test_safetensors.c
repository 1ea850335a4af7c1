/* Tests for src/model/safetensors.c: round trips, the byte layout, every kind of corruption the
 * reader must reject (built by editing a valid file or writing headers by hand), the atomic
 * writer's behaviour on failure, and the files it refuses to replace, read or follow (FIFOs, devices,
 * links planted at its temporary file's name). */
#define _POSIX_C_SOURCE 200809L

#include "model/safetensors.h"

#include "test.h"
#include "tmpfiles.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

// Tensor t of f read into a new array (at least one float), or NULL after a failed check.
static float *read_tensor(const st_file *f, const st_tensor *t)
{
    size_t n = 1;
    for (size_t d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    float *v = malloc((n ? n : 1) * sizeof *v);
    CHECK_STATUS(v ? safetensors_read(f, t, v) : HFTC_STATUS_OUT_OF_MEMORY, HFTC_STATUS_OK);
    return v;
}

static unsigned char *read_bytes(const char *path, size_t *len) { return (unsigned char *)tmpfiles_read(path, len); }

/* Entries of the test directory other than . and .. */
static size_t dir_entries(void)
{
    DIR *d = opendir(tmpfiles_dir());
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Opens path expecting failure with status and a message containing text (if not NULL). */
static void expect_open_error(const char *path, hftc_status status, const char *text)
{
    st_file *f = (st_file *)&f; /* must be reset to NULL on failure */
    CHECK_STATUS(safetensors_open(&f, path), status);
    CHECK(f == NULL);
    if (text)
        CHECK_MSG(strstr(hftc_last_error(), text) != NULL, "message '%s' lacks '%s'", hftc_last_error(), text);
}

/* A file with the given header text (no padding) and data_len bytes of data. */
static void make_file(const char *path, const char *header, size_t data_len)
{
    size_t n = strlen(header);
    unsigned char *buf = calloc(8 + n + data_len + 1, 1);
    for (size_t i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, n);
    for (size_t i = 0; i < data_len; i++)
        buf[8 + n + i] = (unsigned char)(i * 7 + 1);
    CHECK(tmpfiles_write_path(path, buf, 8 + n + data_len));
    free(buf);
}

/* Tensors of 0 to 4 dimensions, one with no elements, and metadata with newlines, tabs, quotes,
 * backslashes, non-ASCII text and an empty value. */
static float data_a[3] = {1.0f, -2.5f, 3.25f};
static float data_b[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
static float data_c[6] = {-1e-30f, 1e30f, 0.0f, -0.0f, 7.0f, 8.0f};
static float data_d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static float data_e[1] = {42.0f};
static const st_tensor sample_tensors[] = {
    {"embedding.weight", 1, {3}, data_a},
    {"conv/2", 2, {2, 3}, data_b},
    {"z_last_but_stored_third", 3, {2, 1, 3}, data_c},
    {"empty", 2, {0, 5}, NULL},
    {"four.d", 4, {1, 2, 2, 2}, data_d},
    {"scalar", 0, {0}, data_e},
};
#define N_SAMPLE (sizeof sample_tensors / sizeof sample_tensors[0])
static const st_metadata sample_metadata[] = {
    {"format", "hftc 1"},
    {"vocab", "the\nof\tand\n\"quoted\" back\\slash\n"},
    {"labels", "Économie,日本語,✓"},
    {"ключ", ""},
};
#define N_SAMPLE_META (sizeof sample_metadata / sizeof sample_metadata[0])

static size_t elements(const st_tensor *t)
{
    size_t n = 1;
    for (size_t d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

static void write_sample(const char *path)
{
    CHECK_STATUS(safetensors_write(path, sample_tensors, N_SAMPLE, sample_metadata, N_SAMPLE_META), HFTC_STATUS_OK);
}

static void test_round_trip(void)
{
    const char *path = tmpfiles_path("model.st");
    write_sample(path);
    st_file *f = NULL;
    CHECK_STATUS(safetensors_open(&f, path), HFTC_STATUS_OK);
    if (!f)
        return;
    CHECK(safetensors_count(f) == N_SAMPLE);
    for (size_t i = 0; i < N_SAMPLE && i < safetensors_count(f); i++) {
        const st_tensor *want = &sample_tensors[i], *got = safetensors_tensor(f, i);
        CHECK_MSG(strcmp(got->name, want->name) == 0, "tensor %zu is %s, expected %s", i, got->name, want->name);
        CHECK(got->ndim == want->ndim);
        for (size_t d = 0; d < want->ndim; d++)
            CHECK(got->shape[d] == want->shape[d]);
        size_t n = elements(want);
        float *values = read_tensor(f, got);
        CHECK(got->data == NULL && values && (n == 0 || memcmp(values, want->data, n * sizeof(float)) == 0));
        free(values);
        CHECK(safetensors_find(f, want->name) == got);
    }
    CHECK(safetensors_tensor(f, N_SAMPLE) == NULL);
    CHECK(safetensors_find(f, "missing") == NULL);
    CHECK(safetensors_find(f, "") == NULL);

    CHECK(safetensors_metadata_count(f) == N_SAMPLE_META);
    for (size_t i = 0; i < N_SAMPLE_META && i < safetensors_metadata_count(f); i++) {
        const st_metadata *m = safetensors_metadata_at(f, i);
        CHECK(strcmp(m->key, sample_metadata[i].key) == 0);
        CHECK(strcmp(m->value, sample_metadata[i].value) == 0);
        CHECK(strcmp(safetensors_metadata(f, sample_metadata[i].key), sample_metadata[i].value) == 0);
    }
    CHECK(safetensors_metadata_at(f, N_SAMPLE_META) == NULL);
    CHECK(safetensors_metadata(f, "absent") == NULL);
    CHECK(safetensors_metadata(f, "embedding.weight") == NULL);
    safetensors_close(f);
}

/* A view of the entries under a prefix: their names without it, nothing else, data read from the file. */
static void test_view(void)
{
    static const float a[] = {1, 2, 3}, b[] = {4}, c[] = {5, 6};
    static const st_tensor tensors[] = {
        {"m0.conv.weight", 1, {3}, a}, {"m1.conv.weight", 1, {1}, b}, {"m1.fc.bias", 1, {2}, c}};
    static const st_metadata meta[] = {{"ensemble", "{}"}, {"m0.config", "zero"}, {"m1.config", "one"}};
    const char *path = tmpfiles_path("view.st");
    CHECK_STATUS(safetensors_write(path, tensors, 3, meta, 3), HFTC_STATUS_OK);
    st_file *f = NULL, *v = NULL;
    CHECK_STATUS(safetensors_open(&f, path), HFTC_STATUS_OK);
    CHECK_STATUS(f ? safetensors_view(f, "m1.", &v) : HFTC_STATUS_IO, HFTC_STATUS_OK);
    if (!v) {
        safetensors_close(f);
        return;
    }
    CHECK(safetensors_count(v) == 2 && safetensors_find(v, "conv.weight") && safetensors_find(v, "fc.bias"));
    CHECK(!safetensors_find(v, "m1.conv.weight") && !safetensors_find(v, "m0.conv.weight"));
    float *values = read_tensor(v, safetensors_find(v, "fc.bias"));
    CHECK(values && values[0] == 5 && values[1] == 6);
    free(values);
    CHECK(safetensors_metadata_count(v) == 1 && !strcmp(safetensors_metadata(v, "config"), "one"));
    CHECK(!safetensors_metadata(v, "ensemble") && !strcmp(safetensors_metadata_at(v, 0)->key, "config"));
    safetensors_close(v); /* the file stays open for the next view */
    CHECK_STATUS(safetensors_view(f, "m0.", &v), HFTC_STATUS_OK);
    values = v ? read_tensor(v, safetensors_find(v, "conv.weight")) : NULL;
    CHECK(values && values[2] == 3);
    free(values);
    safetensors_close(v);
    safetensors_close(f);
    /* checksummed as the file: a flipped byte of a tensor's data is caught when it is read through the view */
    size_t len = 0;
    unsigned char *bytes = read_bytes(path, &len);
    if (!bytes)
        return;
    bytes[len - 1] ^= 0x40; /* m1.fc.bias's last value, the last bytes of the file */
    const char *flipped = tmpfiles_write("view-flipped.st", bytes, len);
    free(bytes);
    CHECK_STATUS(safetensors_open(&f, flipped), HFTC_STATUS_OK);
    CHECK_STATUS(f ? safetensors_view(f, "m1.", &v) : HFTC_STATUS_IO, HFTC_STATUS_OK);
    if (v) {
        float out[2];
        CHECK(safetensors_checksummed(v));
        CHECK_STATUS(safetensors_read(v, safetensors_find(v, "fc.bias"), out), HFTC_STATUS_MODEL);
        CHECK_MSG(strstr(hftc_last_error(), "view-flipped.st, under \"m1.\": tensor 'fc.bias' does not match"), "%s",
                  hftc_last_error());
        CHECK_STATUS(safetensors_read(v, safetensors_find(v, "conv.weight"), out), HFTC_STATUS_OK);
    }
    safetensors_close(v);
    safetensors_close(f);
}

static void test_layout(void)
{
    const char *path = tmpfiles_path("layout.st");
    write_sample(path);
    size_t len = 0;
    unsigned char *buf = read_bytes(path, &len);
    CHECK(buf && len > 8);
    if (!buf || len <= 8)
        return;
    uint64_t n = 0;
    for (size_t i = 0; i < 8; i++)
        n |= (uint64_t)buf[i] << (8 * i);
    /* Data starts 8-byte aligned after a space-padded header and is exactly the tensors' floats. */
    size_t floats = 0;
    for (size_t i = 0; i < N_SAMPLE; i++)
        floats += elements(&sample_tensors[i]);
    CHECK((8 + n) % 8 == 0);
    CHECK(8 + n + floats * sizeof(float) == len);
    CHECK(buf[8] == '{');
    size_t end = 8 + (size_t)n;
    while (end > 8 && buf[end - 1] == ' ')
        end--;
    CHECK(buf[end - 1] == '}' && 8 + n - end < 8);
    /* Offsets follow the given order: the first tensor's bytes come first. */
    CHECK(memcmp(buf + 8 + n, data_a, sizeof data_a) == 0);
    CHECK(memcmp(buf + len - sizeof(float), data_e, sizeof(float)) == 0);
    /* The metadata string is JSON-escaped, not raw. */
    CHECK(memchr(buf + 8, '\n', (size_t)n) == NULL);
    free(buf);
}

static void test_empty_files(void)
{
    const char *path = tmpfiles_path("empty.st");
    st_file *f = NULL;
    CHECK_STATUS(safetensors_write(path, NULL, 0, NULL, 0), HFTC_STATUS_OK);
    CHECK_STATUS(safetensors_open(&f, path), HFTC_STATUS_OK);
    CHECK(f && safetensors_count(f) == 0 && safetensors_metadata_count(f) == 0);
    CHECK(f && safetensors_find(f, "x") == NULL && safetensors_metadata(f, "x") == NULL);
    safetensors_close(f);

    static const st_metadata meta[] = {{"only", "metadata"}};
    CHECK_STATUS(safetensors_write(path, NULL, 0, meta, 1), HFTC_STATUS_OK);
    CHECK_STATUS(safetensors_open(&f, path), HFTC_STATUS_OK);
    CHECK(f && safetensors_count(f) == 0 && strcmp(safetensors_metadata(f, "only"), "metadata") == 0);
    safetensors_close(f);

    static const st_tensor none[] = {{"nothing", 1, {0}, NULL}};
    CHECK_STATUS(safetensors_write(path, none, 1, NULL, 0), HFTC_STATUS_OK);
    CHECK_STATUS(safetensors_open(&f, path), HFTC_STATUS_OK);
    CHECK(f && safetensors_count(f) == 1 && safetensors_tensor(f, 0)->shape[0] == 0);
    safetensors_close(f);
}

static void test_truncated_everywhere(void)
{
    const char *full = tmpfiles_path("full.st");
    write_sample(full);
    size_t len = 0;
    unsigned char *buf = read_bytes(full, &len);
    CHECK(buf && len > 100);
    if (!buf)
        return;
    const char *cut = tmpfiles_path("model.st");
    size_t failures = 0;
    for (size_t n = 0; n < len; n++) {
        CHECK(tmpfiles_write_path(cut, buf, n));
        st_file *f = NULL;
        hftc_status status = safetensors_open(&f, cut);
        failures += status == HFTC_STATUS_MODEL && f == NULL;
        safetensors_close(f);
    }
    CHECK_MSG(failures == len, "%zu of %zu truncated files rejected", failures, len);
    expect_open_error(cut, HFTC_STATUS_MODEL, "truncated");
    CHECK(tmpfiles_write_path(cut, buf, 5));
    expect_open_error(cut, HFTC_STATUS_MODEL, "model.st: truncated or not a safetensors file");

    /* Trailing bytes: a whole extra float and a single byte. */
    unsigned char *longer = malloc(len + 4);
    memcpy(longer, buf, len);
    memset(longer + len, 0, 4);
    CHECK(tmpfiles_write_path(cut, longer, len + 4));
    expect_open_error(cut, HFTC_STATUS_MODEL, "4 trailing bytes");
    CHECK(tmpfiles_write_path(cut, longer, len + 1));
    expect_open_error(cut, HFTC_STATUS_MODEL, "trailing bytes");
    free(longer);

    /* Header length fields: larger than the file, absurd, zero. */
    unsigned char *edit = malloc(len);
    memcpy(edit, buf, len);
    edit[0] = (unsigned char)(len & 0xff);
    edit[1] = (unsigned char)(len >> 8);
    CHECK(tmpfiles_write_path(cut, edit, len));
    expect_open_error(cut, HFTC_STATUS_MODEL, "truncated or not a safetensors file");
    memcpy(edit, buf, len);
    edit[7] = 0x80;
    CHECK(tmpfiles_write_path(cut, edit, len));
    expect_open_error(cut, HFTC_STATUS_MODEL, "truncated or not a safetensors file");
    memset(edit, 0, 8);
    CHECK(tmpfiles_write_path(cut, edit, len));
    expect_open_error(cut, HFTC_STATUS_MODEL, "not valid JSON");
    free(edit);
    free(buf);
}

/* Every header byte replaced by several values: each file must be rejected or, when the edit
 * still makes sense (a changed name, a space turned into another space), read consistently. */
static void test_flipped_header_bytes(void)
{
    const char *full = tmpfiles_path("full.st");
    write_sample(full);
    size_t len = 0;
    unsigned char *buf = read_bytes(full, &len);
    if (!buf)
        return;
    size_t header = (size_t)buf[0] | (size_t)buf[1] << 8;
    static const unsigned char values[] = {0x00, '"', '}', ']', ',', '0', '9', '-', 'x', 0xff, 0xc3};
    const char *edited = tmpfiles_path("edited.st");
    size_t rejected = 0, accepted = 0;
    for (size_t pos = 8; pos < 8 + header; pos++) {
        for (size_t v = 0; v < sizeof values + 2; v++) {
            unsigned char old = buf[pos];
            buf[pos] = v < sizeof values ? values[v] : (unsigned char)(old ^ (v == sizeof values ? 0x01 : 0x20));
            if (buf[pos] == old)
                continue;
            CHECK(tmpfiles_write_path(edited, buf, len));
            buf[pos] = old;
            st_file *f = NULL;
            hftc_status status = safetensors_open(&f, edited);
            if (status != HFTC_STATUS_OK) {
                CHECK(status == HFTC_STATUS_MODEL && f == NULL);
                rejected++;
                continue;
            }
            accepted++;
            size_t floats = 0;
            for (size_t i = 0; i < safetensors_count(f); i++)
                floats += elements(safetensors_tensor(f, i));
            CHECK(8 + header + floats * sizeof(float) == len);
            /* the checksum lets through only flips that change nothing the file says (its JSON's spelling) */
            /* (a flip in the checksums' own key leaves a file that reads as unchecked, one entry more: hftc's model
             * files of version 2 must be checked, model_file.c) */
            CHECK(safetensors_checksummed(f) ? safetensors_metadata_count(f) == N_SAMPLE_META
                                             : safetensors_metadata_count(f) == N_SAMPLE_META + 1);
            for (size_t i = 0; i < N_SAMPLE_META; i++) {
                const char *value = safetensors_metadata(f, sample_metadata[i].key);
                CHECK_MSG(value && !strcmp(value, sample_metadata[i].value), "flip at %zu changed metadata %s", pos,
                          sample_metadata[i].key);
            }
            for (size_t i = 0; i < N_SAMPLE; i++) {
                const st_tensor *t = safetensors_find(f, sample_tensors[i].name);
                CHECK_MSG(t && t->ndim == sample_tensors[i].ndim && elements(t) == elements(&sample_tensors[i]),
                          "flip at %zu changed tensor %s", pos, sample_tensors[i].name);
            }
            safetensors_close(f);
        }
    }
    CHECK(rejected > 1000);
    CHECK(accepted > 0);
    free(buf);
}

/* Every single-byte flip in the tensor data is caught when that tensor is read (the header still opens);
 * a value that is not finite is refused by name; a file without checksums (written before them) opens
 * unchecked; and no caller may write the checksums' entry itself. */
static void test_checksums_and_finite_values(void)
{
    const char *full = tmpfiles_path("full.st"), *edited = tmpfiles_path("edited.st");
    write_sample(full);
    size_t len = 0;
    unsigned char *buf = read_bytes(full, &len);
    if (!buf)
        return;
    size_t header = (size_t)buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16, caught = 0;
    for (size_t pos = 8 + header; pos < len; pos++) {
        buf[pos] ^= 0x10;
        CHECK(tmpfiles_write_path(edited, buf, len));
        buf[pos] ^= 0x10;
        st_file *f = NULL;
        CHECK_STATUS(safetensors_open(&f, edited), HFTC_STATUS_OK);
        bool failed = false;
        for (size_t i = 0; f && i < safetensors_count(f); i++) {
            const st_tensor *t = safetensors_tensor(f, i);
            float v[8];
            if (safetensors_read(f, t, v) != HFTC_STATUS_OK) {
                failed = true;
                CHECK_MSG(strstr(hftc_last_error(), "does not match its checksum"), "%s", hftc_last_error());
            }
        }
        caught += failed;
        safetensors_close(f);
    }
    CHECK_MSG(caught == len - 8 - header, "%zu of %zu data bytes flipped were caught", caught, len - 8 - header);
    free(buf);

    const char *nan_path = tmpfiles_path("nan.st");
    static float bad[3] = {1.0f, 0.0f, 2.0f};
    bad[1] = NAN;
    const st_tensor with_nan[] = {{"w", 1, {3}, bad}};
    CHECK_STATUS(safetensors_write(nan_path, with_nan, 1, NULL, 0), HFTC_STATUS_OK);
    st_file *f = NULL;
    CHECK_STATUS(safetensors_open(&f, nan_path), HFTC_STATUS_OK);
    float out[3];
    CHECK_STATUS(f ? safetensors_read(f, safetensors_tensor(f, 0), out) : HFTC_STATUS_OK, HFTC_STATUS_MODEL);
    CHECK(strstr(hftc_last_error(), "'w' has a value that is not finite (element 1)") != NULL);
    safetensors_close(f);

    const char *old = tmpfiles_path("old.st");
    make_file(old, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    f = NULL;
    CHECK_STATUS(safetensors_open(&f, old), HFTC_STATUS_OK);
    CHECK(f && !safetensors_checksummed(f));
    safetensors_close(f);

    static const st_metadata own[] = {{"hftc_checksums", "{}"}};
    CHECK_STATUS(safetensors_write(edited, NULL, 0, own, 1), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "format's own") != NULL);
}

static void test_bad_headers(void)
{
    static const struct {
        const char *header;
        size_t data;
        const char *error;
    } cases[] = {
        {"", 0, "not valid JSON"},
        {"{", 0, "not valid JSON"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}} x", 4, "not valid JSON"},
        {"[]", 0, "not a JSON object"},
        {"{\"a\": 5}", 0, "tensor 'a' is not a JSON object"},
        {"{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "'a' needs a dtype"},
        {"{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, "'a' needs a dtype"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "'a' needs a dtype"},
        {"{\"a\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "'a' needs a dtype"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": 1, \"data_offsets\": [0, 4]}}", 4, "'a' needs a dtype"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": \"0-4\"}}", 4, "'a' needs a dtype"},
        {"{\"a\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4,
         "dtype F16; hftc reads only F32"},
        {"{\"a\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 8, "dtype F64"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1], \"data_offsets\": [0, 4]}}", 4, "5 dimensions"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4, "not a list of sizes"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1.0], \"data_offsets\": [0, 4]}}", 4, "not a list of sizes"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [\"1\"], \"data_offsets\": [0, 4]}}", 4, "not a list of sizes"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4, "bad data_offsets"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 4, "bad data_offsets"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", 4, "bad data_offsets"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", 4, "bad data_offsets"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4.0]}}", 4, "bad data_offsets"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}", 20, "does not match its 20"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 0]}}", 0,
         "does not match"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
         "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
         12, "tensors 'a' and 'b' overlap"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
         "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",
         8, "overlap"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
         "\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}",
         12, "4 unused data bytes before tensor 'b'"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "unused data bytes"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 12,
         "truncated: the tensors need 16"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 8, "4 trailing bytes"},
        {"{}", 4, "4 trailing bytes"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
         "\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
         8, "duplicate"},
        {"{\"__metadata__\": {\"k\": 1}}", 0, "value of 'k' is not a string"},
        {"{\"__metadata__\": {\"k\": \"v\", \"n\": null}}", 0, "value of 'n' is not a string"},
        {"{\"__metadata__\": [\"k\", \"v\"]}", 0, "__metadata__ is not a JSON object"},
        {"{\"__metadata__\": {\"k\": \"v\"}, \"__metadata__\": {}}", 0, "duplicate"},
        {"{\"a\\u0000b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "not valid JSON"},
        {"{\"\xff\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "not valid JSON"},
    };
    const char *path = tmpfiles_path("bad.st");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        make_file(path, cases[i].header, cases[i].data);
        st_file *f = (st_file *)&f;
        hftc_status status = safetensors_open(&f, path);
        CHECK_MSG(status == HFTC_STATUS_MODEL && f == NULL, "case %zu: status %d", i, (int)status);
        CHECK_MSG(strstr(hftc_last_error(), cases[i].error) != NULL, "case %zu: '%s' lacks '%s'", i, hftc_last_error(),
                  cases[i].error);
        CHECK_MSG(strstr(hftc_last_error(), "bad.st") != NULL, "case %zu: no path in '%s'", i, hftc_last_error());
    }
}

/* Files written by hand: an unpadded header (data at an odd offset), offsets listed out of order,
 * zero-size tensors sharing an offset, unknown keys in a tensor entry (ignored, like the reference
 * implementation). */
static void test_hand_written_files(void)
{
    const char *path = tmpfiles_path("hand.st");
    make_file(path,
              "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12],\"extra\":1},"
              "\"z1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
              "\"z0\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]}}",
              12);
    size_t len = 0;
    unsigned char *buf = read_bytes(path, &len);
    CHECK(buf && (len - 12) % 4 != 0);
    st_file *f = NULL;
    CHECK_STATUS(safetensors_open(&f, path), HFTC_STATUS_OK);
    if (f && buf) {
        CHECK(safetensors_count(f) == 4);
        static const char *const order[] = {"a", "z1", "z0", "b"};
        for (size_t i = 0; i < 4; i++)
            CHECK(strcmp(safetensors_tensor(f, i)->name, order[i]) == 0);
        const st_tensor *a = safetensors_find(f, "a"), *b = safetensors_find(f, "b");
        CHECK(a && a->ndim == 2 && a->shape[0] == 1 && a->shape[1] == 2);
        float *va = read_tensor(f, a), *vb = read_tensor(f, b);
        CHECK(va && memcmp(va, buf + len - 12, 8) == 0);
        CHECK(vb && memcmp(vb, buf + len - 4, 4) == 0);
        free(va), free(vb);
        CHECK(safetensors_metadata_count(f) == 0);
    }
    safetensors_close(f);
    free(buf);
}

// Tensors are read on demand: a file cut short after it was opened fails the read, naming the file
// and the tensor, instead of handing out garbage.
static void test_truncated_after_open(void)
{
    const char *path = tmpfiles_path("cut.st");
    static const float values[4] = {1, 2, 3, 4};
    static const st_tensor tensors[] = {{"w", 1, {4}, values, 0}};
    CHECK_STATUS(safetensors_write(path, tensors, 1, NULL, 0), HFTC_STATUS_OK);
    st_file *f = NULL;
    CHECK_STATUS(safetensors_open(&f, path), HFTC_STATUS_OK);
    const st_tensor *t = f ? safetensors_find(f, "w") : NULL;
    size_t len = 0;
    unsigned char *buf = read_bytes(path, &len);
    CHECK(t && buf && truncate(path, (off_t)(len - 8)) == 0);
    float out[4];
    CHECK_STATUS(t ? safetensors_read(f, t, out) : HFTC_STATUS_OK, HFTC_STATUS_MODEL);
    CHECK(strstr(hftc_last_error(), "cut.st") && strstr(hftc_last_error(), "'w'"));
    safetensors_close(f);
    free(buf);
}

static void test_overwrite_and_temporary(void)
{
    size_t before = dir_entries();
    const char *path = tmpfiles_path("over.st");
    static const float one[2] = {1, 2}, two[3] = {3, 4, 5};
    static const st_tensor first[] = {{"first", 1, {2}, one}};
    static const st_tensor second[] = {{"second", 1, {3}, two}};
    CHECK_STATUS(safetensors_write(path, first, 1, NULL, 0), HFTC_STATUS_OK);
    CHECK_STATUS(safetensors_write(path, second, 1, NULL, 0), HFTC_STATUS_OK);
    st_file *f = NULL;
    CHECK_STATUS(safetensors_open(&f, path), HFTC_STATUS_OK);
    CHECK(f && safetensors_count(f) == 1 && safetensors_find(f, "first") == NULL);
    const st_tensor *t = f ? safetensors_find(f, "second") : NULL;
    float *v = t ? read_tensor(f, t) : NULL;
    CHECK(t && t->shape[0] == 3 && v && v[2] == 5.0f);
    free(v);
    safetensors_close(f);

    /* no temporary file left: over.st is the one new entry */
    CHECK(dir_entries() == before + 1);
    CHECK(unlink(path) == 0);
}

/* The writer's output, if it is a FIFO, a device, a directory or a socket, stays as it was and the write
 * is refused, naming it: a rename over it would put a model file in its place (as root, /dev/full). */
static void test_refuses_special_outputs(void)
{
    static const float x[1] = {1};
    static const st_tensor one[] = {{"x", 1, {1}, x}};
    size_t before = dir_entries();
    const char *fifo = tmpfiles_path("fifo.st");
    CHECK(mkfifo(fifo, 0644) == 0);
    CHECK_STATUS(safetensors_write(fifo, one, 1, NULL, 0), HFTC_STATUS_IO);
    CHECK_MSG(strstr(hftc_last_error(), "fifo.st") && strstr(hftc_last_error(), "not a regular file"), "%s",
              hftc_last_error());
    struct stat sb;
    bool refused = lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode);
    CHECK_MSG(refused, "fifo.st is no longer a FIFO");
    CHECK(dir_entries() == before + 1); /* and no temporary file left */
    CHECK(unlink(fifo) == 0);
    /* /dev/null, refused before anything is written: tried only once a FIFO is refused, as a writer that
     * replaced it would replace /dev/null (the tests run as root) */
    if (refused) {
        CHECK_STATUS(safetensors_write("/dev/null", one, 1, NULL, 0), HFTC_STATUS_IO);
        CHECK_MSG(strstr(hftc_last_error(), "/dev/null") && strstr(hftc_last_error(), "not a regular file"), "%s",
                  hftc_last_error());
        CHECK(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode));
    }
    CHECK_STATUS(safetensors_write("", one, 1, NULL, 0), HFTC_STATUS_IO);
}

/* A symbolic link at the output is replaced by the model file, never followed: what it points to (a file, a
 * FIFO, nothing) is untouched. */
static void test_link_output_replaced(void)
{
    static const float x[1] = {1};
    static const st_tensor one[] = {{"x", 1, {1}, x}};
    const char *target = tmpfiles_write_text("target.txt", "keep me");
    const char *fifo = tmpfiles_path("target.fifo");
    CHECK(mkfifo(fifo, 0644) == 0);
    const char *link = tmpfiles_path("link.st");
    const char *const targets[] = {target, fifo, tmpfiles_path("nothing-here")};
    for (size_t i = 0; i < 3; i++) {
        CHECK(symlink(targets[i], link) == 0);
        CHECK_STATUS(safetensors_write(link, one, 1, NULL, 0), HFTC_STATUS_OK);
        struct stat sb;
        CHECK_MSG(lstat(link, &sb) == 0 && S_ISREG(sb.st_mode), "link %zu: the output is not a regular file", i);
        CHECK(unlink(link) == 0);
    }
    size_t len = 0;
    unsigned char *kept = read_bytes(target, &len);
    CHECK(kept && len == 7 && !memcmp(kept, "keep me", 7));
    free(kept);
    struct stat sb;
    CHECK(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
    CHECK(!file_exists(targets[2]));
    CHECK(unlink(fifo) == 0 && unlink(target) == 0);
}

/* The temporary file is made anew, never opened through a name that exists: a link planted at the name the
 * writer once used (<output>.tmp.<pid>) does not redirect the model into the file it points to, nor make the
 * output a link. A new file's mode: 0666 less the umask. */
static void test_planted_temporary_link(void)
{
    static const float x[2] = {1, 2};
    static const st_tensor two[] = {{"x", 1, {2}, x}};
    size_t before = dir_entries();
    const char *victim = tmpfiles_write_text("victim.txt", "precious data");
    const char *path = tmpfiles_path("planted.st");
    char old_name[600];
    snprintf(old_name, sizeof old_name, "planted.st.tmp.%ld", (long)getpid());
    const char *planted = tmpfiles_path(old_name);
    CHECK(symlink(victim, planted) == 0);
    mode_t umask_before = umask(027);
    CHECK_STATUS(safetensors_write(path, two, 1, NULL, 0), HFTC_STATUS_OK);
    umask(umask_before);
    size_t len = 0;
    unsigned char *kept = read_bytes(victim, &len);
    CHECK_MSG(kept && len == 13 && !memcmp(kept, "precious data", 13), "the planted link was followed");
    free(kept);
    struct stat sb;
    CHECK_MSG(lstat(path, &sb) == 0 && S_ISREG(sb.st_mode), "the output is not a regular file");
    CHECK_MSG((sb.st_mode & 07777) == 0640, "mode %o under umask 027", (unsigned)(sb.st_mode & 07777));
    st_file *f = NULL;
    CHECK_STATUS(safetensors_open(&f, path), HFTC_STATUS_OK);
    safetensors_close(f);
    CHECK(lstat(planted, &sb) == 0 && S_ISLNK(sb.st_mode)); /* left alone */
    CHECK(dir_entries() == before + 3);                     /* victim, link, output: no temporary file left */
    CHECK(unlink(planted) == 0 && unlink(path) == 0 && unlink(victim) == 0);
}

/* Sets path's modification time seconds ago. */
static bool age_file(const char *path, long seconds)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    struct timeval times[2] = {{now.tv_sec - seconds, 0}, {now.tv_sec - seconds, 0}};
    return utimes(path, times) == 0;
}

/* The temporary files a killed writer left (.<name>.hftc-tmp.XXXXXX beside the output) are removed by the
 * next write of the same output once an hour old; a recent one (perhaps another writer's, running), another
 * output's, and other names are kept. */
static void test_stale_temporaries(void)
{
    static const float x[1] = {1};
    static const st_tensor one[] = {{"x", 1, {1}, x}};
    size_t before = dir_entries();
    const char *path = tmpfiles_path("stale.st");
    const char *old = tmpfiles_write_text(".stale.st.hftc-tmp.Ab3xYz", "left by a kill");
    const char *recent = tmpfiles_write_text(".stale.st.hftc-tmp.Cd4wVu", "being written");
    const char *other = tmpfiles_write_text(".other.st.hftc-tmp.Ef5tSr", "another output's");
    const char *longer = tmpfiles_write_text(".stale.st.hftc-tmp.Gh6qPoX", "not the pattern");
    CHECK(age_file(old, 2 * 3600) && age_file(recent, 60) && age_file(other, 2 * 3600) && age_file(longer, 2 * 3600));
    CHECK_STATUS(safetensors_write(path, one, 1, NULL, 0), HFTC_STATUS_OK);
    CHECK_MSG(!file_exists(old), "a stale temporary file was kept");
    CHECK(file_exists(recent) && file_exists(other) && file_exists(longer) && file_exists(path));
    CHECK(dir_entries() == before + 4);
    CHECK(unlink(recent) == 0 && unlink(other) == 0 && unlink(longer) == 0 && unlink(path) == 0);
}

static void test_write_failures(void)
{
    size_t before = dir_entries();
    static const float x[1] = {1};
    static const st_tensor one[] = {{"x", 1, {1}, x}};

    /* Into a directory that does not exist. */
    const char *missing = tmpfiles_path("no/such/model.st");
    CHECK_STATUS(safetensors_write(missing, one, 1, NULL, 0), HFTC_STATUS_IO);
    CHECK(strstr(hftc_last_error(), "cannot write ") && strstr(hftc_last_error(), "/no/such/model.st: No such file"));
    CHECK(dir_entries() == before);

    /* Over a directory: the rename fails, the temporary file is removed, the directory stays. */
    const char *dir = tmpfiles_path("a_directory.st");
    CHECK(mkdir(dir, 0755) == 0);
    CHECK_STATUS(safetensors_write(dir, one, 1, NULL, 0), HFTC_STATUS_IO);
    CHECK(strstr(hftc_last_error(), "a_directory.st: ") != NULL);
    struct stat sb;
    CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK(dir_entries() == before + 1);
    CHECK(rmdir(dir) == 0);

    /* A write that runs out of room (a file size limit stands in for a full disk): the old file is
     * untouched and no temporary file is left. */
    const char *path = tmpfiles_path("keep.st");
    CHECK_STATUS(safetensors_write(path, one, 1, NULL, 0), HFTC_STATUS_OK);
    size_t old_len = 0;
    unsigned char *old = read_bytes(path, &old_len);
    static float big[4096];
    static const st_tensor large[] = {{"big", 1, {4096}, big}};
    struct rlimit saved, small;
    CHECK(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    small = saved;
    small.rlim_cur = 1024;
    void (*handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    hftc_status status = safetensors_write(path, large, 1, NULL, 0);
    CHECK(setrlimit(RLIMIT_FSIZE, &saved) == 0);
    signal(SIGXFSZ, handler);
    CHECK_STATUS(status, HFTC_STATUS_IO);
    CHECK_MSG(strstr(hftc_last_error(), "keep.st: File too large") != NULL, "%s", hftc_last_error());
    size_t now_len = 0;
    unsigned char *now = read_bytes(path, &now_len);
    CHECK(old && now && now_len == old_len && memcmp(old, now, old_len) == 0);
    CHECK(dir_entries() == before + 1);
    free(old);
    free(now);
    CHECK(unlink(path) == 0);
}

static void test_invalid_writes(void)
{
    static const float x[2] = {1, 2};
    const char *path = tmpfiles_path("invalid.st");
    static const st_tensor five_dims[] = {{"t", 5, {1, 1, 1, 1}, x}};
    static const st_tensor dup[] = {{"t", 1, {1}, x}, {"t", 1, {1}, x}};
    static const st_tensor reserved[] = {{"__metadata__", 1, {1}, x}};
    static const st_tensor no_data[] = {{"t", 1, {2}, NULL}};
    static const st_tensor no_name[] = {{NULL, 1, {2}, x}};
    static const st_tensor bad_utf8[] = {{"t\xc3", 1, {2}, x}};
    static const st_tensor huge[] = {{"t", 2, {SIZE_MAX / 2, 4}, x}};
    static const st_metadata dup_meta[] = {{"k", "a"}, {"k", "b"}};
    static const st_metadata bad_meta[] = {{"k", "\xff"}};
    static const st_metadata null_meta[] = {{"k", NULL}};
    CHECK_STATUS(safetensors_write(path, five_dims, 1, NULL, 0), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(safetensors_write(path, dup, 2, NULL, 0), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "invalid.st") != NULL);
    CHECK_STATUS(safetensors_write(path, reserved, 1, NULL, 0), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(safetensors_write(path, no_data, 1, NULL, 0), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(safetensors_write(path, no_name, 1, NULL, 0), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(safetensors_write(path, bad_utf8, 1, NULL, 0), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(safetensors_write(path, huge, 1, NULL, 0), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(safetensors_write(path, NULL, 0, dup_meta, 2), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(safetensors_write(path, NULL, 0, bad_meta, 1), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(safetensors_write(path, NULL, 0, null_meta, 1), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(!file_exists(path));
}

static void test_open_failures(void)
{
    expect_open_error(tmpfiles_path("does_not_exist.st"), HFTC_STATUS_IO, "does_not_exist.st: No such file");
    expect_open_error(tmpfiles_dir(), HFTC_STATUS_IO, "not a regular file");
}

/* A FIFO is refused at once, not waited on for a writer: in a child process with 10 s to answer, so that a
 * reader that blocks fails the test instead of hanging it. */
static void test_open_fifo(void)
{
    const char *fifo = tmpfiles_path("model.fifo");
    CHECK(mkfifo(fifo, 0644) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        st_file *f = (st_file *)&f;
        hftc_status st = safetensors_open(&f, fifo);
        bool ok = st == HFTC_STATUS_IO && f == NULL && strstr(hftc_last_error(), "model.fifo") &&
                  strstr(hftc_last_error(), "not a regular file");
        if (!ok)
            fprintf(stderr, "status %d: %s\n", (int)st, hftc_last_error());
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s",
              WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "opening a FIFO hung for 10 s"
                                                                 : "opening a FIFO did not fail as expected");
    CHECK(unlink(fifo) == 0);
}

int main(void)
{
    tmpfiles_init("safetensors");
    RUN_TEST(test_round_trip);
    RUN_TEST(test_view);
    RUN_TEST(test_layout);
    RUN_TEST(test_empty_files);
    RUN_TEST(test_truncated_everywhere);
    RUN_TEST(test_flipped_header_bytes);
    RUN_TEST(test_bad_headers);
    RUN_TEST(test_hand_written_files);
    RUN_TEST(test_truncated_after_open);
    RUN_TEST(test_overwrite_and_temporary);
    RUN_TEST(test_write_failures);
    RUN_TEST(test_checksums_and_finite_values);
    RUN_TEST(test_invalid_writes);
    RUN_TEST(test_open_failures);
    RUN_TEST(test_open_fifo);
    RUN_TEST(test_refuses_special_outputs);
    RUN_TEST(test_link_output_replaced);
    RUN_TEST(test_planted_temporary_link);
    RUN_TEST(test_stale_temporaries);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
