/* Golden files written by the PyTorch scripts in tests/ref/ (format HFTCGLD1, described in
 * make_golden_cnn.py): loading, looking up records by name, and comparing our float32 results with
 * PyTorch's float64 ones. Header-only, for the golden tests (test_golden_*.c). */
#ifndef HFTC_TESTS_GOLDEN_H
#define HFTC_TESTS_GOLDEN_H

#include "test.h"

#include <stdbool.h>
#include <stdint.h>

#define GOLDEN_MAX_RECORDS 160
/* check_close: |ours - torch| <= GOLDEN_TOL * max(|torch|, 1e-2 * largest |torch| of the tensor) */
#define GOLDEN_TOL 1e-5

typedef struct {
    char name[64];
    size_t count;
    double *data;
} golden_record;

typedef struct {
    golden_record records[GOLDEN_MAX_RECORDS];
    size_t n;
} golden;

static inline uint32_t read_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// Format: see tests/ref/make_golden_cnn.py (HFTCGLD1). Returns false (with a message) on any inconsistency.
static inline bool golden_load(golden *g, const char *path)
{
    g->n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (run from tests/)\n", path);
        return false;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size);
    bool ok = buf && fread(buf, 1, (size_t)size, f) == (size_t)size && size >= 12 && memcmp(buf, "HFTCGLD1", 8) == 0;
    fclose(f);
    size_t pos = 12, end = (size_t)size;
    uint32_t count = ok ? read_u32(buf + 8) : 0;
    for (uint32_t r = 0; ok && r < count; r++) {
        ok = r < GOLDEN_MAX_RECORDS && pos + 4 <= end;
        size_t len = ok ? read_u32(buf + pos) : 0;
        ok = ok && len < sizeof g->records[0].name && pos + 4 + len + 4 <= end;
        if (!ok)
            break;
        golden_record *rec = &g->records[g->n++];
        memcpy(rec->name, buf + pos + 4, len);
        rec->name[len] = '\0';
        pos += 4 + len;
        size_t ndim = read_u32(buf + pos);
        pos += 4;
        ok = ndim <= 4 && pos + 4 * ndim <= end;
        rec->count = 1;
        for (size_t d = 0; ok && d < ndim; d++)
            rec->count *= read_u32(buf + pos + 4 * d);
        pos += 4 * ndim;
        ok = ok && pos + 8 * rec->count <= end;
        rec->data = ok ? malloc(rec->count * sizeof(double)) : NULL;
        if (rec->data)
            memcpy(rec->data, buf + pos, rec->count * sizeof(double)); // little-endian host assumed
        pos += 8 * rec->count;
    }
    ok = ok && pos == end;
    free(buf);
    if (!ok)
        fprintf(stderr, "%s: malformed golden file\n", path);
    return ok;
}

static inline void golden_free(golden *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->records[i].data);
    g->n = 0;
}

// The record prefix + name with count values, or NULL (and a failed check).
static inline const double *golden_get(const golden *g, const char *prefix, const char *name, size_t count)
{
    char full[128];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->records[i].name, full) == 0) {
            CHECK_MSG(g->records[i].count == count, "%s: %zu values, expected %zu", full, g->records[i].count, count);
            return g->records[i].count == count ? g->records[i].data : NULL;
        }
    CHECK_MSG(false, "%s missing from the golden file", full);
    return NULL;
}

// ours against the torch values ref (NULL: already reported by golden_get), with tolerance tol as
// GOLDEN_TOL describes; GOLDEN_VERBOSE=1 in the environment prints the worst error of each.
static inline void check_close_tol(const char *what, const float *ours, const double *ref, size_t n, double tol)
{
    if (!ref)
        return;
    double scale = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs(ours[i] - ref[i]) / fmax(fabs(ref[i]), 1e-2 * scale);
        worst = err > worst ? err : worst;
        if (!(err <= tol) && bad++ < 5)
            fprintf(stderr, "  %s[%zu]: %.9g, torch %.9g\n", what, i, ours[i], ref[i]);
    }
    if (getenv("GOLDEN_VERBOSE"))
        fprintf(stderr, "%s: worst %.3g\n", what, worst);
    CHECK_MSG(bad == 0 && scale > 0.0, "%s: %zu of %zu values differ (worst %.3g relative)", what, bad, n, worst);
}

static inline void check_close(const char *what, const float *ours, const double *ref, size_t n)
{
    check_close_tol(what, ours, ref, n, GOLDEN_TOL);
}

#endif
