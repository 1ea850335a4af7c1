/* --preset auto: the strong, cheap models practitioners reach for first and the HFT-CNN recipe, trained on the
 * user's data, ensembled, and the best on validation kept, so that hftc's answer on a dataset is at least as
 * good as the best of them. Members, cheapest first: linear (logistic regression), linear with the SVM loss,
 * ngram (fastText's model) and hft-cnn (with the word vectors given, if any; the first L words of each
 * document, L the 90th percentile of the training documents' lengths within [13, 256]: the paper's 13 for
 * short texts, the 256 the project's long-text runs use). Each member chooses its own threshold and, on
 * single-path data, its decision rule on the validation file; the ensemble (train/combine.c) then chooses
 * the members' weights and its threshold under each candidate scoring (independent; bsf below a taxonomy of
 * more than one level; leaf and leaf-product on single-path data); the ensemble, or a member alone where one is better
 * on validation, is the model. --time-limit bounds the whole: a neural member gets what is left, and one that does not
 * finish in it is left out. Nothing is chosen on test data. The training record's "auto" entry says what was tried and
 * chosen, with every validation figure. */
#include "core/arena.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "data/dataset.h"
#include "model/model.h"
#include "train/auto.h"
#include "train/options.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AUTO_MAX_MEMBERS 4

typedef struct {
    const char *name;
    const char *preset;
    const char *settings; /* over the preset */
    bool neural;
} member_spec;

static const member_spec members[AUTO_MAX_MEMBERS] = {
    {"linear", "linear", "", false},
    {"linear-svm", "linear", "linear-loss=svm", false},
    {"ngram", "ngram", "tune-threshold=1 tune-scoring=1", true},
    {"hft-cnn", "hft-cnn", "tune-threshold=1", true},
};

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The CNN's words per document: the 90th percentile of the training documents' lengths within [13, 256]. */
static hftc_status cnn_length(const hftc_train_options *o, const hftc_train_options *cnn, size_t *out)
{
    dataset ds = {0};
    vocab v;
    strmap labels;
    TRY(vocab_init(&v));
    strmap_init(&labels);
    data_format format = DATA_FORMAT_AUTO;
    data_format_parse(o->format, &format);
    dataset_options opt = {.format = format,
                           .tokenizer = {.lowercase = cnn->lowercase,
                                         .split_punct = cnn->split_punct,
                                         .drop_punct = cnn->drop_punct,
                                         .max_len = 100000},
                           .labels_required = true,
                           .skip_bad_lines = o->skip_bad_lines};
    hftc_status st = dataset_read(&ds, o->train_path, &opt, &v, true, &labels);
    size_t *lengths = st == HFTC_STATUS_OK ? mem_alloc(ds.n_docs + 1, sizeof *lengths) : NULL;
    if (st == HFTC_STATUS_OK && !lengths)
        st = HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK) {
        size_t n = ds.n_docs;
        for (size_t d = 0; d < n; d++)
            lengths[d] = ds.token_start[d + 1] - ds.token_start[d];
        qsort(lengths, n, sizeof *lengths, compare_size);
        size_t p90 = n ? lengths[(n - 1) * 9 / 10] : 13;
        *out = p90 < 13 ? 13 : p90 > 256 ? 256 : p90;
    }
    free(lengths);
    dataset_free(&ds);
    vocab_free(&v);
    strmap_free(&labels);
    return st;
}

/* The settings of --auto-settings for member name ("member:settings;member:settings") over mo. */
static hftc_status apply_user_settings(const char *all, const char *name, hftc_train_options *mo)
{
    size_t n = strlen(name);
    for (const char *at = all; at && *at;) {
        const char *end = strchr(at, ';');
        size_t len = end ? (size_t)(end - at) : strlen(at);
        const char *colon = memchr(at, ':', len);
        if (!colon)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "--auto-settings: \"%.*s\" names no member (member:settings)", (int)len, at);
        bool known = false;
        for (size_t k = 0; k < AUTO_MAX_MEMBERS; k++)
            known |= (size_t)(colon - at) == strlen(members[k].name) && !strncmp(at, members[k].name, colon - at);
        if (!known)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "--auto-settings: unknown member \"%.*s\" (linear, linear-svm, ngram, hft-cnn)",
                             (int)(colon - at), at);
        if ((size_t)(colon - at) == n && !strncmp(at, name, n)) {
            char settings[256];
            snprintf(settings, sizeof settings, "%.*s", (int)(len - (size_t)(colon + 1 - at)), colon + 1);
            hftc_status st = train_options_apply(mo, settings);
            if (st != HFTC_STATUS_OK)
                return error_wrap(st, "--auto-settings for %s", name);
        }
        at = end ? end + 1 : NULL;
    }
    return HFTC_STATUS_OK;
}

/* Member k's options: its preset and settings, and of the user's options the data, taxonomy, formats, vectors
 * (neural members), threads, seed and progress. */
static hftc_status member_options(const hftc_train_options *o, size_t k, hftc_train_options *mo)
{
    const member_spec *s = &members[k];
    TRY(hftc_train_options_init(mo, s->preset));
    TRY(train_options_apply(mo, s->settings));
    if (!strcmp(s->preset, "hft-cnn"))
        TRY(cnn_length(o, mo, &mo->max_len));
    TRY(apply_user_settings(o->auto_settings, s->name, mo));
    mo->train_path = o->train_path, mo->valid_path = o->valid_path, mo->taxonomy_path = o->taxonomy_path;
    mo->format = o->format, mo->taxonomy_format = o->taxonomy_format;
    mo->add_unknown_labels = o->add_unknown_labels, mo->skip_bad_lines = o->skip_bad_lines;
    mo->seed = o->seed, mo->threads = o->threads;
    mo->progress = o->progress, mo->progress_user = o->progress_user;
    if (s->neural && o->embeddings_path) {
        mo->embeddings_path = o->embeddings_path;
        mo->embeddings_format = o->embeddings_format;
    }
    return HFTC_STATUS_OK;
}

/* The model's training record as JSON (an empty object when it has none). */
static json_t *training_record(const hftc_model *m)
{
    json_t *j = m->training_json ? json_loads(m->training_json, 0, NULL) : NULL;
    return j ? j : json_object();
}

typedef struct {
    char dir[64];
    char paths[AUTO_MAX_MEMBERS][96];
    char checkpoint[96];
    size_t n;
} member_files;

static void member_files_remove(member_files *f)
{
    for (size_t k = 0; k < f->n; k++)
        unlink(f->paths[k]);
    unlink(f->checkpoint);
    rmdir(f->dir);
}

/* Trains the members into files; *record: one entry each. */
static hftc_status train_members(const hftc_train_options *o, member_files *files, size_t *trained_k, json_t *record)
{
    double started = now_seconds();
    for (size_t k = 0; k < AUTO_MAX_MEMBERS; k++) {
        hftc_train_options mo;
        TRY(member_options(o, k, &mo));
        double left = o->time_limit > 0.0f ? o->time_limit - (now_seconds() - started) : 0.0;
        json_t *entry = json_pack("{s:s, s:s}", "member", members[k].name, "preset", members[k].preset);
        json_array_append_new(record, entry);
        if (o->time_limit > 0.0f && left <= 1.0) {
            json_object_set_new(entry, "left_out", json_string("no time left"));
            log_warn("auto: %s left out: the time limit is spent", members[k].name);
            continue;
        }
        if (o->time_limit > 0.0f && members[k].neural) /* a neural member that cannot finish is left out */
            mo.time_limit = (float)left, mo.checkpoint_path = files->checkpoint;
        log_info("auto: training %s (preset %s)", members[k].name, members[k].preset);
        double t0 = now_seconds();
        hftc_model *m = NULL;
        hftc_status st = hftc_train(&mo, &m);
        unlink(files->checkpoint);
        if (st == HFTC_STATUS_INCOMPLETE) {
            json_object_set_new(entry, "left_out", json_string("stopped at the time limit"));
            log_warn("auto: %s left out: it did not finish within the time limit", members[k].name);
            continue;
        }
        if (st != HFTC_STATUS_OK)
            return error_wrap(st, "auto: member %s", members[k].name);
        char path[sizeof files->paths[0]];
        snprintf(path, sizeof path, "%s/%s.hftc", files->dir, members[k].name);
        memcpy(files->paths[files->n], path, sizeof path);
        st = hftc_model_save(m, files->paths[files->n]);
        json_t *training = training_record(m);
        json_object_set_new(entry, "seconds", json_real(now_seconds() - t0));
        json_object_set(entry, "tuned_scoring", json_object_get(training, "tuned_scoring"));
        if (!json_object_get(entry, "tuned_scoring"))
            json_object_del(entry, "tuned_scoring");
        json_decref(training);
        hftc_model_free(m);
        TRY(st);
        trained_k[files->n++] = k;
    }
    return files->n ? HFTC_STATUS_OK
                    : error_set(HFTC_STATUS_INCOMPLETE, "auto: no member finished within --time-limit %g s",
                                (double)o->time_limit);
}

/* The validation micro-F1 of an ensemble (its record's) and of its best member alone (*member: its index). */
static void ensemble_figures(const hftc_model *e, double *ensemble_f1, double *member_f1, size_t *member)
{
    json_t *record = training_record(e), *choice = json_object_get(record, "ensemble");
    *ensemble_f1 = json_number_value(json_object_get(choice, "valid_micro_f1"));
    *member_f1 = -1.0, *member = 0;
    json_t *list = json_object_get(choice, "members"), *it;
    size_t i;
    json_array_foreach(list, i, it)
    {
        double f1 = json_number_value(json_object_get(it, "valid_micro_f1"));
        if (f1 > *member_f1)
            *member_f1 = f1, *member = i;
    }
    json_decref(record);
}

/* Each trained member's validation figures alone (its own decision rule), from an ensemble's record, into its
 * entry of the auto record. */
static void record_member_figures(const hftc_model *e, const size_t *trained_k, json_t *entries)
{
    json_t *record = training_record(e), *list = json_object_get(json_object_get(record, "ensemble"), "members"), *it;
    size_t i;
    json_array_foreach(list, i, it)
    {
        json_t *entry = json_array_get(entries, trained_k[i]);
        json_object_set(entry, "valid_micro_f1", json_object_get(it, "valid_micro_f1"));
        json_object_set(entry, "valid_macro_f1", json_object_get(it, "valid_macro_f1"));
    }
    json_decref(record);
}

hftc_status train_auto(const hftc_train_options *o, hftc_model **out)
{
    if (!o->train_path || !o->valid_path)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "--preset auto chooses its members' weights and its decisions on a validation file: give "
                         "--train and --valid");
    member_files files = {0};
    const char *tmp = getenv("TMPDIR");
    snprintf(files.dir, sizeof files.dir, "%s/hftc-auto-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(files.dir))
        return error_set(HFTC_STATUS_IO, "auto: cannot make a directory for the members in %s",
                         tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    snprintf(files.checkpoint, sizeof files.checkpoint, "%s/checkpoint.hftc", files.dir);
    json_t *record = json_pack("{s:[], s:[]}", "members", "ensembles");
    size_t trained_k[AUTO_MAX_MEMBERS];
    double started = now_seconds();
    hftc_status st = train_members(o, &files, trained_k, json_object_get(record, "members"));
    hftc_model *best = NULL;
    double best_f1 = -1.0;
    const char *why = NULL;
    if (st == HFTC_STATUS_OK && files.n == 1) {
        st = hftc_model_load(&best, files.paths[0]);
        why = "the only member that finished";
    } else if (st == HFTC_STATUS_OK) {
        /* the candidate scorings: leaf and leaf-product only where a member found the data single-path */
        bool single_path = false, deep = false;
        json_t *entry;
        size_t i;
        json_array_foreach(json_object_get(record, "members"), i, entry) single_path |=
            json_object_get(entry, "tuned_scoring") != NULL;
        const char *paths[AUTO_MAX_MEMBERS];
        for (size_t k = 0; k < files.n; k++)
            paths[k] = files.paths[k];
        static const char *const scorings[] = {"independent", "bsf", "leaf", "leaf-product"};
        for (size_t s = 0; s < 4 && st == HFTC_STATUS_OK; s++) {
            if ((s == 1 && !deep) || (s >= 2 && !single_path))
                continue;
            hftc_ensemble_options eo;
            hftc_ensemble_options_init(&eo);
            eo.models = paths, eo.n_models = files.n, eo.valid_path = o->valid_path, eo.format = o->format;
            eo.skip_bad_lines = o->skip_bad_lines, eo.scoring = scorings[s], eo.threads = o->threads;
            hftc_model *e = NULL;
            st = hftc_ensemble(&eo, &e);
            if (st != HFTC_STATUS_OK)
                break;
            deep = deep || e->tax.depth > 1;
            double f1, member_f1;
            size_t member;
            ensemble_figures(e, &f1, &member_f1, &member);
            if (s == 0)
                record_member_figures(e, trained_k, json_object_get(record, "members"));
            json_array_append_new(json_object_get(record, "ensembles"),
                                  json_pack("{s:s, s:f}", "scoring", scorings[s], "valid_micro_f1", f1));
            if (s == 0 && member_f1 > f1) { /* a member alone: kept unless an ensemble below does better */
                hftc_model *alone = NULL;
                st = hftc_model_load(&alone, files.paths[member]);
                if (st == HFTC_STATUS_OK) {
                    hftc_model_free(best);
                    best = alone, best_f1 = member_f1;
                    why = members[trained_k[member]].name;
                }
            }
            if (f1 > best_f1) {
                hftc_model_free(best);
                best = e, best_f1 = f1, why = scorings[s];
            } else {
                hftc_model_free(e);
            }
        }
    }
    member_files_remove(&files);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(best);
        json_decref(record);
        return st;
    }
    bool ensemble = best->ensemble != NULL;
    json_object_set_new(record, "chosen", json_string(ensemble ? "ensemble" : "member"));
    json_object_set_new(record, "why", json_string(why));
    json_object_set_new(record, "valid_micro_f1", json_real(best_f1));
    json_object_set_new(record, "seconds", json_real(now_seconds() - started));
    log_info("auto: kept %s%s (validation micro-F1 %.4f)", ensemble ? "the ensemble under " : "", why, best_f1);
    json_t *training = training_record(best);
    json_object_set_new(training, "auto", record);
    free(best->training_json);
    best->training_json = json_dumps(training, JSON_COMPACT | JSON_REAL_PRECISION(7));
    json_decref(training);
    snprintf(best->preset, sizeof best->preset, "auto");
    *out = best;
    return HFTC_STATUS_OK;
}
