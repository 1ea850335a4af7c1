/* The node strategy's results shared over the processes of an MPI job (node_share, node_internal.h). */
#include "train/node_internal.h"

#include "core/distributed.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

// Rank 0's state of parts [first, end) as bytes: a JSON object {"status", "error", "timed_out", "restored", "parts":
// [[best weight, best F1, runs], ...]}, its length first (8 bytes), then the values of the parts that have a
// best network. NULL if out of memory.
static unsigned char *node_share_encode(const node_context *ctx, size_t first, size_t end, size_t restored,
                                        size_t *bytes)
{
    json_t *parts = json_array();
    size_t values = 0;
    for (size_t p = first; p < end; p++) {
        json_array_append_new(parts,
                              json_pack("[I, f, O]", (json_int_t)ctx->best_weight[p], ctx->best_f1[p], ctx->runs[p]));
        if (ctx->best_weight[p] < ctx->cfg->o->n_class_weights)
            values += network_params(ctx->m->parts[p].net)->values.used;
    }
    json_t *state = json_pack("{s:i, s:s, s:b, s:I, s:o}", "status", (int)ctx->status, "error", ctx->error, "timed_out",
                              ctx->timed_out, "restored", (json_int_t)restored, "parts", parts);
    char *text = state ? json_dumps(state, JSON_COMPACT) : NULL;
    json_decref(state);
    uint64_t text_bytes = text ? strlen(text) : 0;
    unsigned char *out = text ? malloc(sizeof text_bytes + text_bytes + values) : NULL, *at = out;
    if (out) {
        memcpy(at, &text_bytes, sizeof text_bytes), at += sizeof text_bytes;
        memcpy(at, text, text_bytes), at += text_bytes;
        for (size_t p = first; p < end; p++)
            if (ctx->best_weight[p] < ctx->cfg->o->n_class_weights) {
                const arena *v = &network_params(ctx->m->parts[p].net)->values;
                memcpy(at, v->base, v->used), at += v->used;
            }
        *bytes = (size_t)(at - out);
    }
    free(text);
    return out;
}

// node_share_encode's bytes into ctx (on a rank other than 0).
static hftc_status node_share_decode(node_context *ctx, size_t first, size_t end, const unsigned char *in, size_t bytes,
                                     size_t *restored)
{
    uint64_t text_bytes = 0;
    if (bytes >= sizeof text_bytes)
        memcpy(&text_bytes, in, sizeof text_bytes);
    json_t *state = text_bytes && text_bytes <= bytes - sizeof text_bytes
                        ? json_loadb((const char *)in + sizeof text_bytes, text_bytes, 0, NULL)
                        : NULL;
    const json_t *parts = json_object_get(state, "parts");
    const unsigned char *at = state ? in + sizeof text_bytes + text_bytes : in, *stop = in + bytes;
    bool valid = json_array_size(parts) == end - first;
    for (size_t p = first; valid && p < end; p++) {
        json_int_t best;
        double best_f1;
        json_t *runs;
        valid = json_unpack(json_array_get(parts, p - first), "[IFo]", &best, &best_f1, &runs) == 0 && best >= 0;
        if (!valid)
            break;
        ctx->best_weight[p] = (size_t)best, ctx->best_f1[p] = best_f1;
        json_decref(ctx->runs[p]);
        ctx->runs[p] = json_incref(runs);
        if (ctx->best_weight[p] < ctx->cfg->o->n_class_weights) {
            const arena *v = &network_params(ctx->m->parts[p].net)->values;
            valid = (size_t)(stop - at) >= v->used;
            if (valid)
                memcpy(v->base, at, v->used), at += v->used;
        }
    }
    if (valid) {
        ctx->status = (hftc_status)json_integer_value(json_object_get(state, "status"));
        snprintf(ctx->error, sizeof ctx->error, "%s", json_string_value(json_object_get(state, "error")));
        ctx->timed_out = json_is_true(json_object_get(state, "timed_out"));
        if (restored)
            *restored = (size_t)json_integer_value(json_object_get(state, "restored"));
    }
    json_decref(state);
    return valid && at == stop ? HFTC_STATUS_OK
                               : error_set(HFTC_STATUS_OUT_OF_MEMORY, "rank %d: out of memory for rank 0's results",
                                           hftc_distributed_rank());
}

hftc_status node_share(node_context *ctx, size_t first, size_t end, size_t *restored)
{
    if (hftc_distributed_size() == 1)
        return HFTC_STATUS_OK;
    unsigned char *state = NULL;
    size_t bytes = 0;
    if (hftc_distributed_rank() == 0)
        state = node_share_encode(ctx, first, end, restored ? *restored : 0, &bytes);
    hftc_status st = dist_broadcast((void **)&state, &bytes); /* 0 bytes: rank 0 ran out of memory */
    if (st == HFTC_STATUS_OK && bytes == 0)
        st = error_set(HFTC_STATUS_OUT_OF_MEMORY, "rank 0: out of memory for the classifiers' results");
    if (st == HFTC_STATUS_OK && hftc_distributed_rank() != 0)
        st = node_share_decode(ctx, first, end, state, bytes, restored);
    free(state);
    return st;
}
