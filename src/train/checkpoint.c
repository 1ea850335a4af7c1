/* Training checkpoints: see checkpoint.h. */
#include "train/checkpoint.h"

#include "core/arena.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "model/safetensors.h"
#include "train/data_parallel.h"
#include "train/options.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECKPOINT_SECONDS 60.0
#define CHECKPOINT_RECORD_KEY "checkpoint" /* the metadata entry of the record */

static uint64_t fingerprint_dataset(uint64_t h, const split *s)
{
    const dataset *ds = s->ds;
    h = fnv1a(h, &s->n, sizeof s->n);
    h = fnv1a(h, s->idx, s->n * sizeof *s->idx);
    h = fnv1a(h, ds->token_start, (ds->n_docs + 1) * sizeof *ds->token_start);
    h = fnv1a(h, ds->tokens, ds->token_start[ds->n_docs] * sizeof *ds->tokens);
    h = fnv1a(h, ds->label_start, (ds->n_docs + 1) * sizeof *ds->label_start);
    return fnv1a(h, ds->labels, ds->label_start[ds->n_docs] * sizeof *ds->labels);
}

hftc_status fingerprint_file(uint64_t *h, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(HFTC_STATUS_IO, "cannot open %s: %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = mem_alloc(CHUNK, 1);
    size_t got;
    while (buf && (got = fread(buf, 1, CHUNK, f)) > 0)
        *h = fnv1a(*h, buf, got);
    hftc_status st = !buf        ? HFTC_STATUS_OUT_OF_MEMORY
                     : ferror(f) ? error_set(HFTC_STATUS_IO, "%s: read error: %s", path, strerror(errno))
                                 : HFTC_STATUS_OK;
    free(buf);
    fclose(f);
    return st;
}

hftc_status file_fingerprint(const char *path, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    TRY(fingerprint_file(&h, path));
    snprintf(out, 17, "%016" PRIx64, h);
    return HFTC_STATUS_OK;
}

hftc_status training_fingerprint(const train_config *cfg, const hftc_model *m, const split *const *splits,
                                 size_t n_splits, const float *embedding, uint64_t *out)
{
    const hftc_train_options *o = cfg->o;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < vocab_size(&m->vocab); i++) {
        const char *word = vocab_word(&m->vocab, (uint32_t)i);
        h = fnv1a(h, word, strlen(word) + 1);
    }
    for (size_t i = 0; i < m->tax.n_nodes; i++) {
        const char *label = strmap_string(&m->tax.names, i);
        h = fnv1a(h, label, strlen(label) + 1);
    }
    for (size_t p = 0; p < m->n_parts; p++) {
        uint64_t part[3] = {m->parts[p].nodes[0], m->parts[p].n_outputs, m->parts[p].parent_part};
        h = fnv1a(h, part, sizeof part);
    }
    for (size_t i = 0; i < n_splits; i++)
        h = fingerprint_dataset(h, splits[i]);
    if (embedding)
        h = fnv1a(h, embedding, vocab_size(&m->vocab) * m->net_config.embed_dim * sizeof *embedding);
    else if (o->embeddings_path)
        TRY(fingerprint_file(&h, o->embeddings_path));
    *out = h;
    return HFTC_STATUS_OK;
}

hftc_status checkpoint_init(checkpoint *c, const train_config *cfg, const hftc_model *m, const split *const *splits,
                            size_t n_splits, const float *embedding)
{
    const hftc_train_options *o = cfg->o;
    *c = (checkpoint){.cfg = cfg, .start = now_seconds()};
    c->last_save = c->start;
    if (!o->checkpoint_path)
        return HFTC_STATUS_OK;
    json_t *options = train_options_json(o);
    train_options_drop(options, OPTION_INCIDENTAL);
    char *text = json_dumps(options, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(options);
    if (!text)
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory fingerprinting the options");
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, text, strlen(text) + 1), data;
    free(text);
    TRY(training_fingerprint(cfg, m, splits, n_splits, embedding, &data));
    h = fnv1a(h, &data, sizeof data);
    snprintf(c->fingerprint, sizeof c->fingerprint, "%016" PRIx64, h);
    return HFTC_STATUS_OK;
}

hftc_status checkpoint_save(checkpoint *c, const hftc_model *m, json_t *parts, json_t *summary, const st_tensor *state,
                            size_t n_state)
{
    double t0 = now_seconds(), seconds = checkpoint_seconds(c);
    json_t *record = json_pack("{s:s, s:f, s:O}", "fingerprint", c->fingerprint, "seconds", seconds, "parts", parts);
    if (summary)
        json_object_set_new(summary, "seconds", json_real(seconds));
    char *text = record ? json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    char *summary_text = summary ? json_dumps(summary, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(record);
    json_decref(summary);
    const st_metadata meta[] = {{CHECKPOINT_RECORD_KEY, text}, {MODEL_CHECKPOINT_SUMMARY_KEY, summary_text}};
    hftc_status st =
        text && summary_text
            ? model_save_with(m, c->cfg->o->checkpoint_path, meta, sizeof meta / sizeof *meta, state, n_state)
            : error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory encoding the checkpoint");
    free(text);
    free(summary_text);
    c->last_save = now_seconds();
    c->save_seconds = c->last_save - t0;
    return st;
}

// Checks the checkpoint's record j and model ck against the training and copies ck's parameters into m.
static hftc_status checkpoint_restore(checkpoint *c, hftc_model *m, const hftc_model *ck, const json_t *j)
{
    const char *fingerprint = json_string_value(json_object_get(j, "fingerprint"));
    if (!fingerprint || strcmp(fingerprint, c->fingerprint))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "it comes from a training with other data or options");
    const json_t *parts = json_object_get(j, "parts");
    if (!json_is_array(parts) || json_array_size(parts) != m->n_parts || ck->n_parts != m->n_parts ||
        !json_is_number(json_object_get(j, "seconds")))
        return error_set(HFTC_STATUS_MODEL, "its record does not match its networks");
    for (size_t p = 0; p < m->n_parts; p++) {
        param_set *dst = network_params(m->parts[p].net);
        const param_set *src = network_params(ck->parts[p].net);
        if (src->values.used != dst->values.used)
            return error_set(HFTC_STATUS_MODEL, "its network %s does not match", m->parts[p].name);
        memcpy(dst->values.base, src->values.base, src->values.used);
    }
    c->seconds_before = json_number_value(json_object_get(j, "seconds"));
    return HFTC_STATUS_OK;
}

hftc_status checkpoint_resume(checkpoint *c, hftc_model *m, json_t **parts)
{
    const char *path = c->cfg->o->checkpoint_path;
    *parts = NULL;
    if (!path || access(path, F_OK) != 0)
        return HFTC_STATUS_OK;
    hftc_model *ck = NULL;
    char *text = NULL;
    json_t *j = NULL;
    hftc_status st = hftc_model_load(&ck, path);
    if (st == HFTC_STATUS_OK)
        st = model_read_metadata(path, CHECKPOINT_RECORD_KEY, &text);
    if (st == HFTC_STATUS_OK)
        j = json_loads(text, 0, NULL); /* not inside json_is_object(), a macro that reads its argument twice */
    if (st == HFTC_STATUS_OK && !json_is_object(j))
        st = error_set(HFTC_STATUS_MODEL, "its record is not a JSON object");
    if (st == HFTC_STATUS_OK)
        st = checkpoint_restore(c, m, ck, j);
    if (st == HFTC_STATUS_OK)
        *parts = json_incref(json_object_get(j, "parts"));
    json_decref(j);
    free(text);
    hftc_model_free(ck);
    if (st != HFTC_STATUS_OK)
        return error_wrap(st, "checkpoint %s cannot be continued (remove it to start over)", path);
    return HFTC_STATUS_OK;
}

hftc_status checkpoint_read_state(const checkpoint *c, const char *name, void *out, size_t bytes)
{
    const char *path = c->cfg->o->checkpoint_path;
    st_file *f;
    TRY(safetensors_open(&f, path));
    const st_tensor *t = safetensors_find(f, name);
    size_t n = t ? 1 : 0;
    for (size_t d = 0; t && d < t->ndim; d++)
        n *= t->shape[d];
    hftc_status st = t && t->ndim == 1 && n * sizeof(float) == bytes
                         ? safetensors_read(f, t, out)
                         : error_set(HFTC_STATUS_MODEL,
                                     "checkpoint %s cannot be continued (remove it to start over): its \"%s\" does "
                                     "not match the network in training",
                                     path, name);
    safetensors_close(f);
    return st;
}

bool checkpoint_due(const checkpoint *c)
{
    return c->cfg->o->checkpoint_path &&
           now_seconds() - c->last_save >= fmax(CHECKPOINT_SECONDS, 10.0 * c->save_seconds);
}

bool checkpoint_time_up(const checkpoint *c)
{
    return c->cfg->o->time_limit > 0.0f && now_seconds() - c->start >= (double)c->cfg->o->time_limit;
}

double checkpoint_seconds(const checkpoint *c) { return c->seconds_before + (now_seconds() - c->start); }

hftc_status checkpoint_incomplete(const checkpoint *c, size_t done, size_t total, const char *units,
                                  const char *in_progress)
{
    return error_set(HFTC_STATUS_INCOMPLETE,
                     "stopped at the time limit (%g s) with %zu of %zu %s done%s%s, saved in %s: the same command "
                     "continues",
                     (double)c->cfg->o->time_limit, done, total, units, in_progress ? " and " : "",
                     in_progress ? in_progress : "", c->cfg->o->checkpoint_path);
}

hftc_status checkpoint_same_on_every_rank(const checkpoint *c, const json_t *parts)
{
    if (hftc_distributed_size() == 1)
        return HFTC_STATUS_OK;
    char *text = parts ? json_dumps(parts, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    uint64_t mine = text ? fnv1a(FNV1A_START, text, strlen(text)) : 0;
    free(text);
    int other;
    TRY(dp_first_differing_rank(mine, &other));
    return other ? error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "rank %d reads another checkpoint %s than rank 0 (or none): put it on a file system every "
                             "rank reads",
                             other, c->cfg->o->checkpoint_path)
                 : HFTC_STATUS_OK;
}
