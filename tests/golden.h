/* Golden files written by the PyTorch scripts in tests/ref/ (format HFTCGLD1, described in
 * golden_file.py): loading, looking up records by name, and comparing our float32 results with
 * PyTorch's float64 ones; and for a network variant of a golden file: reading its inputs, loading its
 * weights by name, and checking the probabilities, loss and gradients of a network against PyTorch's.
 * Header-only with static inline functions, for the golden tests (test_golden_*.c). */
#ifndef HFTC_TESTS_GOLDEN_H
#define HFTC_TESTS_GOLDEN_H

#include "grads.h"
#include "model/network.h"
#include "nn/adam.h"
#include "nn/sgd.h"
#include "test.h"

#include <stdbool.h>
#include <stdint.h>

#define GOLDEN_MAX_RECORDS 256
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

// Format: see tests/ref/golden_file.py (HFTCGLD1). Returns false (with a message) on any inconsistency.
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

// The record prefix + name, or NULL.
static inline const golden_record *golden_find(const golden *g, const char *prefix, const char *name)
{
    char full[128];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->records[i].name, full) == 0)
            return &g->records[i];
    return NULL;
}

// The record prefix + name with count values, or NULL (and a failed check).
static inline const double *golden_get(const golden *g, const char *prefix, const char *name, size_t count)
{
    const golden_record *r = golden_find(g, prefix, name);
    CHECK_MSG(r, "%s%s missing from the golden file", prefix, name);
    if (!r)
        return NULL;
    CHECK_MSG(r->count == count, "%s: %zu values, expected %zu", r->name, r->count, count);
    return r->count == count ? r->data : NULL;
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

/* ---- network variants: records <prefix>config, tokens, lengths, targets, pos_weight, the weights by
 * tensor name, probs, loss and grad.<tensor name> ---- */

#define GOLDEN_MAX_DOCS 8    /* documents B and classes C of a variant */
#define GOLDEN_MAX_TOKENS 64 /* B * T */

// A variant's network and inputs.
typedef struct {
    network_config cfg;
    size_t B, T;
    uint32_t tokens[GOLDEN_MAX_TOKENS];
    size_t lengths[GOLDEN_MAX_DOCS];
    float targets[GOLDEN_MAX_TOKENS], pos_weight[GOLDEN_MAX_DOCS];
} golden_case;

// Reads tokens, lengths, targets and pos_weight of a variant whose gc->B, gc->T and gc->cfg.n_classes
// are set; false if they do not fit or a record is missing (reported by golden_get).
static inline bool golden_case_inputs(golden_case *gc, const golden *g, const char *prefix)
{
    size_t B = gc->B, T = gc->T, C = gc->cfg.n_classes;
    if (B * T > GOLDEN_MAX_TOKENS || B > GOLDEN_MAX_DOCS || C > GOLDEN_MAX_DOCS)
        return false;
    const double *tokens = golden_get(g, prefix, "tokens", B * T);
    const double *lengths = golden_get(g, prefix, "lengths", B);
    const double *targets = golden_get(g, prefix, "targets", B * C);
    const double *pos_weight = golden_get(g, prefix, "pos_weight", C);
    if (!tokens || !lengths || !targets || !pos_weight)
        return false;
    for (size_t i = 0; i < B * T; i++)
        gc->tokens[i] = (uint32_t)tokens[i];
    for (size_t b = 0; b < B; b++)
        gc->lengths[b] = (size_t)lengths[b];
    for (size_t i = 0; i < B * C; i++)
        gc->targets[i] = (float)targets[i];
    for (size_t c = 0; c < C; c++)
        gc->pos_weight[c] = (float)pos_weight[c];
    return true;
}

// A network of the variant in the given mode with the golden weights, loaded by tensor name (every
// tensor must have its record, with the same count); NULL (and a failed check) if it cannot be made.
static inline network *golden_network(const golden_case *gc, const golden *g, const char *prefix, network_mode mode)
{
    network *net = NULL;
    CHECK_STATUS(network_create(&net, &gc->cfg, gc->B, gc->T, mode), HFTC_STATUS_OK);
    if (!net)
        return NULL;
    param_set *ps = network_params(net);
    for (size_t i = 0; i < ps->n_tensors; i++) {
        tensor *t = &ps->tensors[i];
        const double *v = golden_get(g, prefix, t->name, t->size);
        if (!v) {
            network_free(net);
            return NULL;
        }
        for (size_t j = 0; j < t->size; j++)
            t->value[j] = (float)v[j];
    }
    return net;
}

/* A training network of the variant against PyTorch: probabilities and loss of network_predict, loss
 * and every gradient (to grad_tol(tensor name), as check_close_tol; NULL: GOLDEN_TOL) of network_train_batch, and the
 * embedding's
 * touched rows, which must be the distinct non-pad ids at valid positions, sorted. If inference is not
 * NULL, that network (of the same weights) must give the same probabilities and loss. The training
 * loss is the record "train_loss" where there is one (batch norm: training and inference differ),
 * else "loss"; buffers (running statistics) have no gradient record. */
static inline void golden_check_network(network *net, network *inference, const golden_case *gc, const golden *g,
                                        const char *prefix, double (*grad_tol)(const char *name))
{
    size_t B = gc->B, C = gc->cfg.n_classes;
    char what[128];
    float probs[GOLDEN_MAX_TOKENS];
    const float *pw = gc->cfg.head == HEAD_SIGMOID ? gc->pos_weight : NULL;
    const double *torch_probs = golden_get(g, prefix, "probs", B * C), *torch_loss = golden_get(g, prefix, "loss", 1);
    float loss = network_predict(net, test_compute, gc->tokens, gc->lengths, B, gc->T, gc->targets, pw, probs);
    snprintf(what, sizeof what, "%sprobs", prefix);
    check_close(what, probs, torch_probs, B * C);
    snprintf(what, sizeof what, "%sloss (predict)", prefix);
    check_close(what, &loss, torch_loss, 1);

    param_set *ps = network_params(net);
    params_zero_grad(ps);
    loss = network_train_batch(net, test_compute, gc->tokens, gc->lengths, B, gc->T, gc->targets, pw, NULL, 1);
    snprintf(what, sizeof what, "%sloss (train)", prefix);
    const golden_record *train_loss = golden_find(g, prefix, "train_loss");
    check_close(what, &loss, train_loss ? train_loss->data : torch_loss, 1);
    for (size_t i = 0; i < ps->n_tensors; i++) {
        tensor *t = &ps->tensors[i];
        if (t->buffer)
            continue;
        char name[96];
        snprintf(name, sizeof name, "grad.%s", t->name);
        snprintf(what, sizeof what, "%s%s", prefix, name);
        float *grad = grad_dense(t);
        check_close_tol(what, grad, golden_get(g, prefix, name, t->size), t->size,
                        grad_tol ? grad_tol(t->name) : GOLDEN_TOL);
        free(grad);
    }

    tensor *emb = params_find(ps, "embedding.weight");
    bool seen[256] = {false};
    size_t expected = 0;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < gc->lengths[b]; t++) {
            uint32_t id = gc->tokens[b * gc->T + t];
            expected += id != 0 && !seen[id];
            seen[id] = true;
        }
    bool listed = emb->n_touched == expected;
    for (size_t j = 0; listed && j < emb->n_touched; j++)
        listed = seen[emb->touched_rows[j]] && emb->touched_rows[j] != 0 &&
                 (j == 0 || emb->touched_rows[j] > emb->touched_rows[j - 1]);
    CHECK_MSG(listed, "%s: touched rows: %zu listed, %zu expected", prefix, emb->n_touched, expected);

    if (inference) {
        loss = network_predict(inference, test_compute, gc->tokens, gc->lengths, B, gc->T, gc->targets, pw, probs);
        snprintf(what, sizeof what, "%sprobs (inference network)", prefix);
        check_close(what, probs, torch_probs, B * C);
        snprintf(what, sizeof what, "%sloss (inference network)", prefix);
        check_close(what, &loss, torch_loss, 1);
    }
}

/* Trains net the given steps on the variant's batch (network_train_batch, then adam_step with opt, or with opt NULL
 * sgd_step at rate sgd_lr on the loss summed as the trainer sums it for SGD), each step's loss against PyTorch's,
 * losses[step], as check_close. */
static inline void golden_train_steps(network *net, adam *opt, float sgd_lr, const golden_case *gc,
                                      const double *losses, size_t steps)
{
    for (size_t step = 0; step < steps; step++) {
        float loss = network_train_batch(net, test_compute, gc->tokens, gc->lengths, gc->B, gc->T, gc->targets,
                                         gc->pos_weight, NULL, 0);
        char what[64];
        snprintf(what, sizeof what, "loss at step %zu", step + 1);
        check_close(what, &loss, losses + step, 1);
        if (opt) {
            adam_step(opt, test_compute, network_params(net));
        } else {
            param_group rate = {.lr = sgd_lr};
            double sum = sgd_sum_scale(gc->B, gc->cfg.n_classes, gc->cfg.head == HEAD_SIGMOID);
            sgd_step(&rate, 1, test_compute, network_params(net), (float)sum);
        }
    }
}

/* How a golden test reads its variants: read sets gc's configuration (the head is given in gc->cfg.head) and inputs
 * (false: it reported why); load makes a network of the golden weights in a mode (NULL: golden_network); grad_tol
 * bounds each gradient (NULL: GOLDEN_TOL); more, where not NULL, checks the trained network further. */
typedef struct {
    bool (*read)(golden_case *gc, const golden *g, const char *prefix);
    network *(*load)(const golden_case *gc, const golden *g, const char *prefix, network_mode mode);
    double (*grad_tol)(const char *name);
    void (*more)(network *net, const golden_case *gc, const golden *g, const char *prefix);
} golden_variant;

/* A golden_variant's grad_tol for the recurrent networks with the MLP head (test_golden_onlstm.c, test_golden_lstm.c):
 * back-propagation through time is worse conditioned than the CNN, so 1e-4; fc1.bias, whose terms batch norm makes
 * cancel in its sum over the batch to ~1e-3 of their size, 5e-3 (PyTorch's own float32 runs are off their float64
 * results by up to 2.8e-3 there in this measure). */
static inline double golden_recurrent_grad_tol(const char *name) { return strcmp(name, "fc1.bias") ? 1e-4 : 5e-3; }

/* A golden_variant's more for networks with batch norm: every torch parameter is an hftc tensor and the other way
 * round (the running statistics aside), and the running statistics after the training step are PyTorch's (a
 * network without batch norm has none to check). */
static inline void golden_check_statistics(network *net, const golden_case *gc, const golden *g, const char *prefix)
{
    (void)gc;
    param_set *ps = network_params(net);
    size_t grads = 0, params = 0, plen = strlen(prefix);
    for (size_t i = 0; i < g->n; i++)
        grads += !strncmp(g->records[i].name, prefix, plen) && !strncmp(g->records[i].name + plen, "grad.", 5);
    for (size_t i = 0; i < ps->n_tensors; i++)
        params += !ps->tensors[i].buffer;
    CHECK_MSG(grads == params, "%s: torch has %zu parameters, hftc %zu", prefix, grads, params);
    char what[96];
    const char *stats[2] = {"bn.running_mean", "bn.running_var"};
    for (size_t k = 0; k < 2; k++) {
        tensor *t = params_find(ps, stats[k]);
        char name[64];
        snprintf(name, sizeof name, "after.%s", stats[k]);
        snprintf(what, sizeof what, "%s%s", prefix, name);
        if (t)
            check_close(what, t->value, golden_get(g, prefix, name, t->size), t->size);
    }
}

/* Variant prefix of the golden file at path, with the given head, against PyTorch: golden_check_network on a training
 * network of its weights and an inference one, then v->more. */
static inline void golden_check_variant(const char *path, const char *prefix, head_kind head, const golden_variant *v)
{
    golden g;
    CHECK(golden_load(&g, path));
    golden_case gc = {.cfg = {.head = head}};
    network *(*load)(const golden_case *, const golden *, const char *, network_mode) =
        v->load ? v->load : golden_network;
    network *net = NULL, *inference = NULL;
    if (!v->read(&gc, &g, prefix) || !(net = load(&gc, &g, prefix, NETWORK_TRAINING)) ||
        !(inference = load(&gc, &g, prefix, NETWORK_INFERENCE))) {
        CHECK_MSG(false, "%s: could not load the variant", prefix);
    } else {
        golden_check_network(net, inference, &gc, &g, prefix, v->grad_tol);
        if (v->more)
            v->more(net, &gc, &g, prefix);
    }
    network_free(net);
    network_free(inference);
    golden_free(&g);
}

#endif
