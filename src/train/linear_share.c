/* The linear family's classifiers spread over the processes of an MPI job (linear_wave_spread, linear_internal.h). A
 * unit's result travels as its index, its non-zero count, its bias, then its feature indices and weights. */
#include "core/compute.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/log.h"
#include "model/model.h"
#include "train/linear_internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    linear_context *ctx;
    size_t level, next_unit;
    double C;
    unit_scratch *scratch; /* per thread of the queue (its OpenMP number), allocated at its first job */
    size_t n_scratch;
} wave;

static size_t encoded_bytes(const unit_weights *w)
{
    return 2 * sizeof(uint64_t) + sizeof(float) + w->nnz * (sizeof *w->index + sizeof *w->value);
}

static unsigned char *encode_unit(unsigned char *at, size_t u, const unit_weights *w)
{
    uint64_t head[2] = {u, w->nnz};
    memcpy(at, head, sizeof head), at += sizeof head;
    memcpy(at, &w->bias, sizeof w->bias), at += sizeof w->bias;
    memcpy(at, w->index, w->nnz * sizeof *w->index), at += w->nnz * sizeof *w->index;
    memcpy(at, w->value, w->nnz * sizeof *w->value), at += w->nnz * sizeof *w->value;
    return at;
}

// A unit's weights from at (stop: the end of the bytes) into ctx->w; the next unit's bytes, or NULL when they are
// malformed or out of memory.
static const unsigned char *decode_unit(linear_context *ctx, const unsigned char *at, const unsigned char *stop)
{
    uint64_t head[2];
    if ((size_t)(stop - at) < sizeof head + sizeof(float))
        return NULL;
    memcpy(head, at, sizeof head), at += sizeof head;
    size_t u = (size_t)head[0], nnz = (size_t)head[1];
    if (u >= ctx->n_units || nnz > ctx->n_features ||
        (size_t)(stop - at) < sizeof(float) + nnz * (sizeof(uint32_t) + sizeof(float)))
        return NULL;
    unit_weights *w = &ctx->w[u];
    unit_weights_free(w);
    memcpy(&w->bias, at, sizeof w->bias), at += sizeof w->bias;
    w->index = mem_alloc(nnz ? nnz : 1, sizeof *w->index);
    w->value = mem_alloc(nnz ? nnz : 1, sizeof *w->value);
    if (!w->index || !w->value)
        return NULL;
    memcpy(w->index, at, nnz * sizeof *w->index), at += nnz * sizeof *w->index;
    memcpy(w->value, at, nnz * sizeof *w->value), at += nnz * sizeof *w->value;
    w->nnz = nnz, w->trained = true;
    return at;
}

static bool wave_next(void *user, size_t *job)
{
    wave *wv = user;
    linear_context *ctx = wv->ctx;
    while (wv->next_unit < ctx->n_units && !unit_in_wave(ctx, wv->next_unit, wv->level))
        wv->next_unit++;
    if (wv->next_unit >= ctx->n_units || ctx->status != HFTC_STATUS_OK)
        return false;
    *job = wv->next_unit++;
    return true;
}

// Trains unit job from what it starts from (which this wave does not change) into bytes; NULL on an error.
static void *wave_run(void *user, size_t job, size_t *bytes)
{
    wave *wv = user;
    compute_blas_serial(); /* liblinear's vector products: one thread, the same sums whatever the count */
    size_t k = (size_t)omp_get_thread_num();
    unit_scratch *sc = k < wv->n_scratch ? &wv->scratch[k] : NULL;
    unit_weights out = {0};
    hftc_status st = !sc ? HFTC_STATUS_OUT_OF_MEMORY : sc->docs ? HFTC_STATUS_OK : unit_scratch_init(wv->ctx, sc);
    if (st == HFTC_STATUS_OK)
        st = train_unit(wv->ctx, job, wv->C, unit_from(wv->ctx, job), sc, &out);
    unsigned char *result = st == HFTC_STATUS_OK ? malloc(encoded_bytes(&out)) : NULL;
    if (result)
        *bytes = (size_t)(encode_unit(result, job, &out) - result);
    unit_weights_free(&out);
    return result;
}

static void wave_collect(void *user, size_t job, int rank, const void *result, size_t bytes)
{
    wave *wv = user;
    (void)job, (void)rank;
    const unsigned char *at = result;
    if (wv->ctx->status == HFTC_STATUS_OK && (!at || decode_unit(wv->ctx, at, at + bytes) != at + bytes))
        wv->ctx->status = error_set(HFTC_STATUS_OUT_OF_MEMORY, "linear: a classifier's result was lost (out of "
                                                               "memory)");
}

// Rank 0's status and the level's units as bytes (*bytes of them): the status (4 bytes), then each unit's. Out of
// memory: the status alone, in fallback.
static unsigned char *encode_level(const wave *wv, size_t *bytes, unsigned char *fallback)
{
    linear_context *ctx = wv->ctx;
    size_t total = sizeof(int32_t);
    for (size_t u = 0; ctx->status == HFTC_STATUS_OK && u < ctx->n_units; u++)
        if (unit_in_wave(ctx, u, wv->level))
            total += encoded_bytes(&ctx->w[u]);
    unsigned char *out = malloc(total), *at = out;
    if (!out)
        ctx->status = HFTC_STATUS_OUT_OF_MEMORY, out = at = fallback, total = sizeof(int32_t);
    int32_t status = (int32_t)ctx->status;
    memcpy(at, &status, sizeof status), at += sizeof status;
    for (size_t u = 0; total > sizeof status && u < ctx->n_units; u++)
        if (unit_in_wave(ctx, u, wv->level))
            at = encode_unit(at, u, &ctx->w[u]);
    *bytes = total;
    return out;
}

void linear_wave_spread(linear_context *ctx, size_t level, double C)
{
    size_t slots = (size_t)ctx->cfg->compute.threads + 1; /* rank 0's serving thread too */
    wave wv = {ctx, level, 0, C, mem_calloc(slots, sizeof(unit_scratch)), slots};
    if (!wv.scratch)
        wv.n_scratch = 0; /* every job fails: its result lost, said by wave_collect */
    dist_queue q = {&wv, wave_next, wave_run, wave_collect};
    dist_queue_run(&q, ctx->cfg->compute.threads);
    for (size_t k = 0; k < wv.n_scratch; k++)
        unit_scratch_free(&wv.scratch[k]);
    free(wv.scratch);
    unsigned char fallback[sizeof(int32_t)];
    size_t bytes = 0;
    void *data = hftc_distributed_rank() == 0 ? encode_level(&wv, &bytes, fallback) : NULL;
    void *sent = data;
    hftc_status st = dist_broadcast(&data, &bytes);
    if (hftc_distributed_rank() != 0) {
        const unsigned char *at = data, *stop = at ? at + bytes : NULL;
        int32_t status = HFTC_STATUS_OUT_OF_MEMORY;
        if (st == HFTC_STATUS_OK && at && bytes >= sizeof status)
            memcpy(&status, at, sizeof status), at += sizeof status;
        ctx->status = st != HFTC_STATUS_OK ? st : (hftc_status)status;
        while (ctx->status == HFTC_STATUS_OK && at && at < stop)
            if (!(at = decode_unit(ctx, at, stop)))
                ctx->status = error_set(HFTC_STATUS_OUT_OF_MEMORY, "linear: rank 0's classifiers were lost (out of "
                                                                   "memory)");
        free(data);
    } else if (sent != fallback) {
        free(sent);
    }
}
