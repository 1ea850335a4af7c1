/* The node strategy (HTrans, Banerjee et al. 2019): one binary classifier per category, trained top
 * down. Each classifier trains on all labelled documents (its category's are the positives) or only
 * on its parent's, split 85/15 into training and validation, stratified by its category. With
 * transfer, a child starts from its parent's trained network (the output layer fresh), the transferred
 * layers learning at their own rate; below the top level it may read its parent's embedding, frozen.
 * Every positive-class weight of the search list is tried and the network with the best validation
 * F1 is kept (ties: the smaller weight), with its weight.
 *
 * Classifiers of one level depend only on the level above, so a level's (classifier, weight) runs are
 * independent jobs, run concurrently, one thread each; every run is seeded by its category alone, so
 * the result does not depend on the thread count or the order the jobs finish in.
 *
 * That also makes training resumable (checkpoint.h): the checkpoint holds every classifier's best network
 * so far and, per classifier, the record of each finished (classifier, weight) run; a later call runs
 * only the runs missing. */
#include "train/node_internal.h"

#include "core/distributed.h"
#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "train/checkpoint.h"
#include "train/options.h"
#include "train/strategy.h"
#include "train/trainer.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// The classifier's documents (all, or those of category parent), split per class: a fraction of the
// positives and of the negatives, at least one of each side where there are two, goes to validation.
// False when a side of the split is empty.
static bool node_split_fill(node_split *s, const train_config *cfg, const model_part *part, const split *pool,
                            bool parent_only, uint32_t parent, size_t *pos, size_t *neg)
{
    const hftc_train_options *o = cfg->o;
    const dataset *ds = pool->ds;
    uint32_t label = part->nodes[0];
    size_t n_pos = 0, n_neg = 0;
    for (size_t i = 0; i < pool->n; i++) {
        size_t d = pool->idx[i];
        if (parent_only && !dataset_has_label(ds, d, parent))
            continue;
        if (dataset_has_label(ds, d, label))
            pos[n_pos++] = d;
        else
            neg[n_neg++] = d;
    }
    rng r;
    rng_seed(&r, o->seed, 0x5917000000ULL + label);
    rng_shuffle(&r, pos, n_pos);
    rng_shuffle(&r, neg, n_neg);
    size_t *sides[2] = {pos, neg}, counts[2] = {n_pos, n_neg};
    s->n_train = s->n_valid = 0;
    for (size_t side = 0; side < 2; side++) {
        size_t n = counts[side], v = (size_t)lround((double)n * (double)o->node_valid_fraction);
        if (n >= 2 && v == 0)
            v = 1;
        if (n >= 2 && v == n)
            v = n - 1;
        memcpy(s->valid_idx + s->n_valid, sides[side], v * sizeof *pos);
        memcpy(s->train_idx + s->n_train, sides[side] + v, (n - v) * sizeof *pos);
        s->n_valid += v;
        s->n_train += n - v;
        if (side == 0) {
            s->positives_valid = v;
            s->positives_train = n - v;
        }
    }
    return s->n_train > 0 && s->n_valid > 0;
}

// The classifier's split. With --node-docs parent, a parent with too few documents to train and
// validate on leaves its child the documents of the nearest ancestor that has enough (all documents
// above the top level): the same neighbourhood of the taxonomy, at the cost of that ancestor's
// documents rather than the whole corpus's.
static hftc_status node_split_make(node_split *s, const train_config *cfg, const hftc_model *m, const model_part *part,
                                   const split *pool)
{
    size_t *pos = mem_alloc(pool->n, sizeof *pos), *neg = mem_alloc(pool->n, sizeof *neg);
    s->train_idx = mem_alloc(pool->n, sizeof *s->train_idx);
    s->valid_idx = mem_alloc(pool->n, sizeof *s->valid_idx);
    if (!pos || !neg || !s->train_idx || !s->valid_idx) {
        free(pos), free(neg);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    s->docs_of = cfg->node_docs == NODE_DOCS_PARENT ? part->parent_part : MODEL_NO_PART;
    bool ok;
    for (;;) {
        bool local = s->docs_of != MODEL_NO_PART;
        ok = node_split_fill(s, cfg, part, pool, local, local ? m->parts[s->docs_of].nodes[0] : 0, pos, neg);
        if (ok || !local)
            break;
        size_t next = m->parts[s->docs_of].parent_part;
        log_info("%s: the %zu documents of %s are too few to train and validate on: it trains on %s%s", part->name,
                 s->n_train + s->n_valid, strmap_string(&m->tax.names, m->parts[s->docs_of].nodes[0]),
                 next == MODEL_NO_PART ? "all documents" : "those of ",
                 next == MODEL_NO_PART ? "" : strmap_string(&m->tax.names, m->parts[next].nodes[0]));
        s->docs_of = next;
    }
    free(pos), free(neg);
    if (!ok)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s: too few documents (%zu) to train and validate it",
                         part->name, s->n_train + s->n_valid);
    return HFTC_STATUS_OK;
}

// One run: part p's classifier with class weight index w, trained on a network of its own. On success
// *f1 is its validation F1 at the model's threshold and *out the trained network.
static hftc_status node_run(node_context *ctx, size_t p, size_t w, json_t *record, double *f1, network **out)
{
    const hftc_train_options *o = ctx->cfg->o;
    hftc_model *m = ctx->m;
    model_part *part = &m->parts[p];
    node_split *s = &ctx->splits[p];
    network_config cfg = *network_get_config(part->net);
    network *net;
    TRY(network_create(&net, &cfg, m->batch_capacity, m->tokenizer.max_len, NETWORK_TRAINING));
    if (cfg.borrowed_embedding)
        network_borrow_embedding(net, model_part_embedding(m, p));
    rng r;
    rng_seed(&r, o->seed, 0x40de000000ULL + part->nodes[0]); /* the same start for every weight */
    network_init(net, &r);
    tensor *emb = params_find(network_params(net), "embedding.weight");
    if (ctx->continued) /* from the classifier's own weights */
        memcpy(network_params(net)->values.base, network_params(part->net)->values.base,
               network_params(net)->values.used);
    else if (emb)
        memcpy(emb->value, ctx->initial_embedding, emb->size * sizeof(float));
    if (!ctx->continued && ctx->cfg->transfer == TRANSFER_FINETUNE && part->parent_part != MODEL_NO_PART)
        transfer_with_groups(ctx->cfg, net, m->parts[part->parent_part].net);
    // The trainer shuffles its training indices: each run has its own copy.
    split tr = {ctx->ds, mem_alloc(s->n_train, sizeof(size_t)), s->n_train};
    split va = {ctx->ds, s->valid_idx, s->n_valid};
    model_part run_part = *part;
    run_part.net = net;
    trainer t = {0};
    hftc_status st = tr.idx ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK) {
        memcpy(tr.idx, s->train_idx, s->n_train * sizeof *tr.idx);
        st = trainer_init(&t, ctx->cfg, m, &run_part, &va, false);
    }
    if (st == HFTC_STATUS_OK) {
        t.quiet = true;
        t.from_trained = ctx->continued;
        // The runs share the training's threads, one each, and slice as a training on all the job's threads
        // (every rank's): N ranks of T threads give the model one process of N x T threads gives.
        t.compute = (compute_context){.threads = 1, .slicing = ctx->cfg->compute.threads * hftc_distributed_size()};
        t.seed = o->seed * 0x2545f4914f6cdd1dULL + part->nodes[0] * 131ULL + w;
        st = trainer_set_pos_weight(&t, ctx->continued ? part->class_weight : o->class_weights[w]);
    }
    if (st == HFTC_STATUS_OK)
        st = run_training(&t, &tr, &va, record, NULL);
    metrics mt;
    if (st == HFTC_STATUS_OK) {
        valid_predict(&t, &va);
        st = valid_metrics(&t, &va, o->threshold, &mt);
    }
    if (st == HFTC_STATUS_OK) {
        *f1 = mt.micro_f1;
        // the exact F1 for a training that reuses this run (the model file keeps 7 digits of valid_f1)
        json_object_set_new(
            record, "valid_counts",
            json_pack("[I, I, I]", (json_int_t)mt.micro_tp, (json_int_t)mt.micro_fp, (json_int_t)mt.micro_fn));
    }
    trainer_free(&t);
    free(tr.idx);
    if (st != HFTC_STATUS_OK) {
        network_free(net);
        return st;
    }
    *out = net;
    return HFTC_STATUS_OK;
}

// Saves the checkpoint: every part's best network so far, and per part its best weight, F1 and runs.
static hftc_status node_checkpoint_save(node_context *ctx)
{
    size_t n_weights = ctx->cfg->o->n_class_weights, done = 0;
    json_t *parts = json_array();
    for (size_t p = 0; p < ctx->m->n_parts; p++) {
        json_array_append_new(parts, json_pack("{s:I, s:f, s:O}", "best_weight",
                                               ctx->best_weight[p] < n_weights ? (json_int_t)ctx->best_weight[p] : -1,
                                               "best_f1", ctx->best_f1[p], "runs", ctx->runs[p]));
        for (size_t w = 0; w < n_weights; w++)
            done += !json_is_null(json_array_get(ctx->runs[p], w));
    }
    json_t *summary = json_pack("{s:s, s:I, s:I, s:n}", "units", "classifier runs", "done", (json_int_t)done, "total",
                                (json_int_t)(ctx->m->n_parts * n_weights), "in_progress");
    hftc_status st = checkpoint_save(&ctx->ck, ctx->m, parts, summary, NULL, 0);
    json_decref(parts);
    return st;
}

// Stops the level's remaining runs from starting; the first error (message) is kept.
static void node_halt(node_context *ctx, hftc_status st, const char *message)
{
    if (st != HFTC_STATUS_OK && ctx->status == HFTC_STATUS_OK) {
        ctx->status = st;
        snprintf(ctx->error, sizeof ctx->error, "%s", message);
    }
    ctx->halt = true;
}

/* A run's result as the work queue carries it to rank 0 (the same way within one process): this header,
 * then its text (the run's record as JSON, or the error's message), then the trained network's values. */
typedef struct {
    int64_t status;
    double f1;
    uint64_t text_bytes, value_bytes;
} run_result;

// The queue's next job: the level's next run, unless an error stopped the level or the time limit has passed
// once this call has finished a run (so that every call makes progress).
static bool node_next(void *user, size_t *job)
{
    node_context *ctx = user;
    if (!ctx->halt && ctx->runs_now > 0 && checkpoint_time_up(&ctx->ck)) {
        ctx->timed_out = true;
        node_halt(ctx, HFTC_STATUS_OK, NULL);
    }
    if (ctx->halt || ctx->next_job == ctx->n_jobs)
        return false;
    *job = ctx->jobs[ctx->next_job++];
    return true;
}

// Runs job (part * weights + weight index) on whichever rank the queue sent it to; its result as bytes.
static void *node_job(void *user, size_t job, size_t *bytes)
{
    node_context *ctx = user;
    size_t n_weights = ctx->cfg->o->n_class_weights;
    json_t *record = json_object();
    double f1 = 0.0;
    network *net = NULL;
    hftc_status st = node_run(ctx, job / n_weights, job % n_weights, record, &f1, &net);
    char *text = st == HFTC_STATUS_OK ? json_dumps(record, JSON_COMPACT) : strdup(hftc_last_error());
    const arena *values = net ? &network_params(net)->values : NULL;
    run_result head = {st, f1, text ? strlen(text) : 0, values ? values->used : 0};
    unsigned char *out = text ? malloc(sizeof head + head.text_bytes + head.value_bytes) : NULL;
    if (out) {
        memcpy(out, &head, sizeof head);
        memcpy(out + sizeof head, text, head.text_bytes);
        if (values)
            memcpy(out + sizeof head + head.text_bytes, values->base, head.value_bytes);
        *bytes = sizeof head + head.text_bytes + head.value_bytes;
    }
    free(text);
    json_decref(record);
    network_free(net);
    return out;
}

// Keeps job's result, whichever rank ran it, and its network in the part if it is the best so far: higher
// F1, or equal F1 and a smaller weight index (a fixed order, whatever order the runs finish in).
static void node_collect(void *user, size_t job, int rank, const void *result, size_t bytes)
{
    node_context *ctx = user;
    size_t n_weights = ctx->cfg->o->n_class_weights, p = job / n_weights, w = job % n_weights;
    run_result head = {0};
    if (result && bytes >= sizeof head)
        memcpy(&head, result, sizeof head);
    const char *text = result ? (const char *)result + sizeof head : "";
    if (head.status != HFTC_STATUS_OK) {
        char message[sizeof ctx->error];
        snprintf(message, sizeof message, "%.*s", (int)head.text_bytes, text);
        node_halt(ctx, (hftc_status)head.status, message);
        return;
    }
    param_set *dst = network_params(ctx->m->parts[p].net);
    json_t *record = result ? json_loadb(text, head.text_bytes, 0, NULL) : NULL;
    if (!record || head.value_bytes != dst->values.used) {
        json_decref(record);
        node_halt(ctx, HFTC_STATUS_OUT_OF_MEMORY, "out of memory for the result of a classifier run");
        return;
    }
    double f1 = head.f1;
    json_object_set_new(record, "class_weight", json_real(ctx->cfg->o->class_weights[w]));
    json_object_set_new(record, "valid_f1", json_real(f1));
    json_array_set_new(ctx->runs[p], w, record);
    bool better = f1 > ctx->best_f1[p] + 1e-12 || (fabs(f1 - ctx->best_f1[p]) <= 1e-12 && w < ctx->best_weight[p]);
    if (better) {
        ctx->best_f1[p] = f1;
        ctx->best_weight[p] = w;
        memcpy(dst->values.base, text + head.text_bytes, head.value_bytes);
    }
    ctx->runs_now++;
    ctx->runs_by_rank[rank]++;
    double now = now_seconds();
    if (++ctx->level_done < ctx->n_jobs && now - ctx->last_progress >= PROGRESS_SECONDS) {
        ctx->last_progress = now;
        log_info("level %zu: %zu of %zu classifier runs done in %.0f s", ctx->level, ctx->level_done, ctx->n_jobs,
                 now - ctx->level_start);
    }
    hftc_status saved = checkpoint_due(&ctx->ck) ? node_checkpoint_save(ctx) : HFTC_STATUS_OK;
    if (saved != HFTC_STATUS_OK)
        node_halt(ctx, saved, hftc_last_error());
}

// Continues from the checkpoint if there is one: its networks (checkpoint_resume) and per part the best
// weight, its F1 and the finished runs; *restored: how many runs.
static hftc_status node_resume(node_context *ctx, size_t *restored)
{
    hftc_model *m = ctx->m;
    size_t n_weights = ctx->cfg->o->n_class_weights;
    json_t *parts;
    *restored = 0;
    TRY(checkpoint_resume(&ctx->ck, m, &parts));
    hftc_status st = HFTC_STATUS_OK;
    for (size_t p = 0; parts && p < m->n_parts && st == HFTC_STATUS_OK; p++) {
        const json_t *part = json_array_get(parts, p), *runs = json_object_get(part, "runs");
        json_int_t best = json_integer_value(json_object_get(part, "best_weight"));
        bool valid = json_is_array(runs) && json_array_size(runs) == n_weights && best >= -1 &&
                     best < (json_int_t)n_weights && (best >= 0) == json_is_object(json_array_get(runs, (size_t)best));
        for (size_t w = 0; valid && w < n_weights; w++) {
            json_t *run = json_array_get(runs, w);
            valid = json_is_null(run) || json_is_number(json_object_get(run, "valid_f1"));
            if (valid && json_is_object(run))
                json_array_set(ctx->runs[p], w, run), ++*restored;
        }
        if (!valid)
            st = error_set(HFTC_STATUS_MODEL,
                           "checkpoint %s cannot be continued (remove it to start over): its record of %s does not "
                           "match",
                           ctx->cfg->o->checkpoint_path, m->parts[p].name);
        else if (best >= 0) {
            ctx->best_weight[p] = (size_t)best;
            ctx->best_f1[p] = json_number_value(json_object_get(part, "best_f1"));
        }
    }
    if (parts && st == HFTC_STATUS_OK)
        log_info("%s: continuing from the checkpoint's %zu finished classifier runs", ctx->cfg->o->checkpoint_path,
                 *restored);
    json_decref(parts);
    return st;
}

/* Where the training starts: rank 0 continues from the checkpoint and takes the runs --reuse-runs names, and
 * every rank gets what it restored (node_share). */
static hftc_status node_start(node_context *ctx, size_t *restored)
{
    if (hftc_distributed_rank() == 0) {
        hftc_status st = node_resume(ctx, restored);
        if (st == HFTC_STATUS_OK)
            st = node_reuse(ctx);
        if (st != HFTC_STATUS_OK)
            node_halt(ctx, st, hftc_last_error());
    }
    TRY(node_share(ctx, 0, ctx->m->n_parts, restored));
    return ctx->status == HFTC_STATUS_OK ? HFTC_STATUS_OK : error_set(ctx->status, "%s", ctx->error);
}

// How many runs each rank of the job trained in this call, for the user to see how the work was spread.
static void log_runs_by_rank(const size_t *runs_by_rank)
{
    char line[1024];
    size_t used = 0;
    for (int r = 0; r < hftc_distributed_size() && used < sizeof line; r++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%zu", r ? ", " : "", runs_by_rank[r]);
    log_info("classifier runs trained by each of the %d processes: %s", hftc_distributed_size(), line);
}

static void node_context_free(node_context *ctx, size_t n_parts)
{
    for (size_t p = 0; ctx->splits && p < n_parts; p++)
        free(ctx->splits[p].train_idx), free(ctx->splits[p].valid_idx);
    for (size_t p = 0; ctx->runs && p < n_parts; p++)
        json_decref(ctx->runs[p]);
    free(ctx->splits), free(ctx->best_f1), free(ctx->best_weight), free(ctx->runs), free(ctx->jobs);
    free(ctx->runs_by_rank), free(ctx->kept_now);
}

/* The node strategy's pool: every labelled document (the validation file's appended to the training
 * file's); each classifier takes its own stratified validation split from it. */
static hftc_status node_split_pool(const train_config *cfg, dataset *train, dataset *valid, split *pool, split *va)
{
    (void)cfg, (void)va;
    if (valid->n_docs) {
        TRY(dataset_append(train, valid));
        dataset_free(valid);
    }
    pool->ds = train;
    pool->n = train->n_docs;
    pool->idx = mem_alloc(pool->n, sizeof *pool->idx);
    if (!pool->idx)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < pool->n; i++)
        pool->idx[i] = i;
    return HFTC_STATUS_OK;
}

/* The embedding table node classifiers start from (embedding_start_table); a shared table is this one, frozen. */
static hftc_status initial_embedding_table(const train_config *cfg, hftc_model *m, float **out)
{
    size_t V = vocab_size(&m->vocab), E = m->net_config.embed_dim;
    float *table = mem_alloc(V * E, sizeof *table);
    if (!table)
        return HFTC_STATUS_OUT_OF_MEMORY;
    hftc_status st = embedding_start_table(cfg, m, table);
    if (st != HFTC_STATUS_OK) {
        free(table);
        return st;
    }
    if (m->shared_embedding)
        memcpy(m->shared_embedding, table, V * E * sizeof *table);
    *out = table;
    return HFTC_STATUS_OK;
}

/* Trains every node part of m (parents first, children concurrently), each classifier on its own stratified
 * split of pool, with the class-weight search; continues from the checkpoint when it exists and saves the
 * work done there. */
static hftc_status train_node_parts(const train_config *cfg, hftc_model *m, const float *initial_embedding, split *pool,
                                    json_t *const *kept, bool continued, json_t *record)
{
    const hftc_train_options *o = cfg->o;
    size_t n_parts = m->n_parts, n_weights = o->n_class_weights;
    node_context ctx = {.cfg = cfg,
                        .m = m,
                        .initial_embedding = initial_embedding,
                        .ds = pool->ds,
                        .kept = kept,
                        .continued = continued};
    ctx.splits = mem_calloc(n_parts, sizeof *ctx.splits);
    ctx.kept_now = mem_calloc(n_parts, sizeof *ctx.kept_now);
    ctx.best_f1 = mem_alloc(n_parts, sizeof *ctx.best_f1);
    ctx.best_weight = mem_alloc(n_parts, sizeof *ctx.best_weight);
    ctx.runs = mem_calloc(n_parts, sizeof *ctx.runs);
    ctx.jobs = mem_alloc(n_parts * n_weights, sizeof *ctx.jobs);
    ctx.runs_by_rank = mem_calloc((size_t)hftc_distributed_size(), sizeof *ctx.runs_by_rank);
    hftc_status st =
        ctx.splits && ctx.kept_now && ctx.best_f1 && ctx.best_weight && ctx.runs && ctx.jobs && ctx.runs_by_rank
            ? HFTC_STATUS_OK
            : HFTC_STATUS_OUT_OF_MEMORY;
    json_t *nodes = json_array();
    json_object_set_new(record, "nodes", nodes);
    for (size_t p = 0; p < n_parts && st == HFTC_STATUS_OK; p++) {
        ctx.best_f1[p] = -1.0;
        ctx.best_weight[p] = n_weights;
        ctx.runs[p] = json_array();
        for (size_t w = 0; w < n_weights; w++)
            json_array_append_new(ctx.runs[p], json_null());
        // A classifier with a record stays as it is, unless continued and its documents are enough to train and
        // validate on.
        bool recorded = kept && kept[p], keep = recorded && !continued;
        if (!keep) {
            hftc_status made = node_split_make(&ctx.splits[p], cfg, m, &m->parts[p], pool);
            keep = recorded && made != HFTC_STATUS_OK;
            st = keep ? HFTC_STATUS_OK : made;
        }
        for (size_t w = 0; keep && w < n_weights; w++) /* no runs: its network is the model's */
            json_array_set_new(ctx.runs[p], w, json_pack("{s:b}", "kept", 1));
        if (keep)
            ctx.best_f1[p] = json_number_value(json_object_get(kept[p], "valid_f1")), ctx.best_weight[p] = 0;
        ctx.kept_now[p] = keep;
    }
    size_t restored = 0;
    const split *splits[] = {pool};
    uint64_t data_fingerprint = 0;
    if (st == HFTC_STATUS_OK)
        st = training_fingerprint(cfg, m, splits, 1, initial_embedding, &data_fingerprint);
    snprintf(ctx.data_fingerprint, sizeof ctx.data_fingerprint, "%016" PRIx64, data_fingerprint);
    json_object_set_new(record, "data_fingerprint", json_string(ctx.data_fingerprint));
    if (st == HFTC_STATUS_OK)
        st = checkpoint_init(&ctx.ck, cfg, m, splits, 1, initial_embedding);
    if (st == HFTC_STATUS_OK)
        st = node_start(&ctx, &restored);
    // Level by level: a level's jobs read only the levels above, which are final.
    for (size_t first = 0; first < n_parts && st == HFTC_STATUS_OK;) {
        size_t level = m->parts[first].level, end = first, n_jobs = 0;
        while (end < n_parts && m->parts[end].level == level)
            end++;
        for (size_t p = first; p < end; p++)
            for (size_t w = 0; w < n_weights; w++)
                if (json_is_null(json_array_get(ctx.runs[p], w))) /* not in the checkpoint */
                    ctx.jobs[n_jobs++] = p * n_weights + w;
        double level_start = now_seconds();
        ctx.level = level, ctx.n_jobs = n_jobs, ctx.next_job = 0, ctx.level_done = 0;
        ctx.level_start = ctx.last_progress = level_start;
        // The runs, over this process's threads and those of the other ranks; each rank has the results after.
        dist_queue queue = {.user = &ctx, .next = node_next, .run = node_job, .collect = node_collect};
        dist_queue_run(&queue, cfg->compute.threads);
        st = node_share(&ctx, first, end, NULL);
        if (st == HFTC_STATUS_OK && ctx.status != HFTC_STATUS_OK)
            st = error_set(ctx.status, "%s", ctx.error);
        if (st != HFTC_STATUS_OK)
            break;
        if (ctx.timed_out) {
            size_t done = 0;
            for (size_t p = 0; p < n_parts; p++)
                for (size_t w = 0; w < n_weights; w++)
                    done += !json_is_null(json_array_get(ctx.runs[p], w));
            st = hftc_distributed_rank() == 0 ? node_checkpoint_save(&ctx) : HFTC_STATUS_OK;
            if (st == HFTC_STATUS_OK)
                st = checkpoint_incomplete(&ctx.ck, done, n_parts * n_weights, "classifier runs", NULL);
            break;
        }
        for (size_t p = first; p < end; p++) {
            model_part *part = &m->parts[p];
            node_split *s = &ctx.splits[p];
            if (ctx.kept_now[p]) {
                json_array_append(nodes, kept[p]);
                continue;
            }
            if (!continued)
                part->class_weight = o->class_weights[ctx.best_weight[p]];
            log_debug("%s: weight %g, validation F1 %.4f (%zu + %zu documents, %zu + %zu positive)", part->name,
                      (double)part->class_weight, ctx.best_f1[p], s->n_train, s->n_valid, s->positives_train,
                      s->positives_valid);
            // "docs": "all", "parent", or the ancestor whose documents it trained on.
            const char *docs = s->docs_of == MODEL_NO_PART ? "all"
                               : s->docs_of == part->parent_part
                                   ? "parent"
                                   : strmap_string(&m->tax.names, m->parts[s->docs_of].nodes[0]);
            json_array_append_new(
                nodes,
                json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:O}", "label",
                          strmap_string(&m->tax.names, part->nodes[0]), "level", (json_int_t)level, "docs", docs,
                          "train_docs", (json_int_t)s->n_train, "valid_docs", (json_int_t)s->n_valid, "train_positives",
                          (json_int_t)s->positives_train, "valid_positives", (json_int_t)s->positives_valid,
                          "class_weight", (double)part->class_weight, "valid_f1", ctx.best_f1[p], "runs", ctx.runs[p]));
        }
        size_t level_runs = (end - first) * n_weights;
        if (n_jobs < level_runs)
            log_info("level %zu: %zu classifiers x %zu class weights: %zu runs trained in %.1f s, %zu from the "
                     "checkpoint, reused or kept as they were",
                     level, end - first, n_weights, n_jobs, now_seconds() - level_start, level_runs - n_jobs);
        else
            log_info("level %zu: %zu classifiers x %zu class weights trained in %.1f s", level, end - first, n_weights,
                     now_seconds() - level_start);
        first = end;
    }
    double seconds = checkpoint_seconds(&ctx.ck);
    json_object_set_new(record, "train_seconds", json_real(seconds));
    json_object_set_new(record, "runs_from_checkpoint", json_integer((json_int_t)restored));
    json_object_set_new(record, "runs_reused", json_integer((json_int_t)runs_reused(&ctx, n_parts)));
    if (st == HFTC_STATUS_OK)
        log_info("%zu node classifiers trained in %.1f s in all", n_parts, seconds);
    if (hftc_distributed_size() > 1 && hftc_distributed_rank() == 0)
        log_runs_by_rank(ctx.runs_by_rank);
    node_context_free(&ctx, n_parts);
    return st;
}

/* The node strategy's training: its classifiers start from the initial embedding table. */
static hftc_status node_train(const train_config *cfg, hftc_model *m, const float *label_weights, split *tr, split *va,
                              json_t *record)
{
    (void)label_weights, (void)va; /* the options' check refuses class weights from a model for node models */
    float *initial_embedding = NULL;
    hftc_status st = initial_embedding_table(cfg, m, &initial_embedding);
    if (st == HFTC_STATUS_OK)
        st = train_node_parts(cfg, m, initial_embedding, tr, NULL, false, record);
    free(initial_embedding);
    return st;
}

hftc_status node_train_partial(const train_config *cfg, hftc_model *m, json_t *const *kept, bool continued,
                               dataset *train, dataset *valid, json_t *record)
{
    split pool = {0};
    float *initial_embedding = NULL, *shared = NULL;
    size_t table = m->shared_embedding ? vocab_size(&m->vocab) * m->net_config.embed_dim : 0;
    if (table && !(shared = mem_alloc(table, sizeof *shared)))
        return HFTC_STATUS_OUT_OF_MEMORY;
    if (table) /* the classifiers kept read the model's table: it stays as it is */
        memcpy(shared, m->shared_embedding, table * sizeof *shared);
    hftc_status st = node_split_pool(cfg, train, valid, &pool, NULL);
    if (st == HFTC_STATUS_OK)
        st = initial_embedding_table(cfg, m, &initial_embedding);
    if (st == HFTC_STATUS_OK && table)
        memcpy(m->shared_embedding, shared, table * sizeof *shared);
    if (st == HFTC_STATUS_OK)
        st = train_node_parts(cfg, m, initial_embedding, &pool, kept, continued, record);
    free(initial_embedding), free(shared), free(pool.idx);
    return st;
}

const strategy_ops strategy_node_ops = {.split = node_split_pool, .train = node_train};
