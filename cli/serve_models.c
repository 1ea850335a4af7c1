/* The models hftc serve holds (serve.h): read from the --model values, found by name, described for GET /models,
 * and loaded again, all of them on SIGHUP or one on POST /models/{name}/reload (the main thread's work, both). */
#include "commands.h"
#include "serve.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The name of the model of a plain --model PATH. */
static const char default_name[] = "default";

bool serve_model_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > SERVE_NAME_MAX || !isalnum((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i] ? name[i] : '/'))
            return false;
    return true;
}

int serve_models_parse(server *s, const char *const *values, size_t n)
{
    if (n == 0) {
        fprintf(stderr, "hftc serve: --model is required\n");
        return 2;
    }
    s->models = calloc(n, sizeof *s->models);
    if (!s->models) {
        fprintf(stderr, "hftc serve: out of memory\n");
        return 1;
    }
    s->n_models = n;
    for (size_t i = 0; i < n; i++) {
        serve_model *model = &s->models[i];
        const char *v = values[i], *equals = strchr(v, '=');
        /* NAME=PATH where what comes before the first '=' is no path (./a=b.hftc is the file a=b.hftc) */
        size_t name_len = equals && !memchr(v, '/', (size_t)(equals - v)) ? (size_t)(equals - v) : 0;
        model->s = s;
        model->path = name_len || (equals == v) ? equals + 1 : v;
        if ((equals == v || name_len) && !serve_model_name_valid(v, name_len)) {
            fprintf(stderr,
                    "hftc serve: --model %s: a model's name is 1 to %d letters, digits, '.', '_' or '-', starting with "
                    "a letter or a digit (write ./%s for a file whose name has '=')\n",
                    v, SERVE_NAME_MAX, v);
            return 2;
        }
        if (!*model->path) {
            fprintf(stderr, "hftc serve: --model %s: no file after the name\n", v);
            return 2;
        }
        if (!name_len && n > 1) {
            fprintf(stderr, "hftc serve: --model %s: give each model a name when serving several (--model NAME=PATH)\n",
                    v);
            return 2;
        }
        snprintf(model->name, sizeof model->name, "%.*s", (int)(name_len ? name_len : strlen(default_name)),
                 name_len ? v : default_name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(s->models[j].name, model->name)) {
                fprintf(stderr, "hftc serve: --model %s: the name %s is given twice\n", v, model->name);
                return 2;
            }
    }
    return 0;
}

/* A model's description (GET /info, GET /models); NULL if it cannot be made. */
static json_t *describe(const hftc_model *m)
{
    char *text = hftc_model_describe(m);
    json_t *description = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return description;
}

int serve_models_load(server *s)
{
    for (size_t i = 0; i < s->n_models; i++) {
        serve_model *model = &s->models[i];
        int rc = cli_load_model("serve", model->path, s->threads, s->word_cache_mb, &model->m);
        if (rc)
            return rc;
        model->description = describe(model->m);
        model->n_labels = hftc_model_num_labels(model->m);
    }
    return 0;
}

void serve_models_free(server *s)
{
    for (size_t i = 0; i < s->n_models; i++) {
        hftc_model_free(s->models[i].m);
        hftc_model_free(s->models[i].next_model);
        json_decref(s->models[i].description);
    }
    free(s->models);
    s->models = NULL, s->n_models = 0;
}

serve_model *serve_models_find(server *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->n_models; i++)
        if (strlen(s->models[i].name) == len && !memcmp(s->models[i].name, name, len))
            return &s->models[i];
    return NULL;
}

serve_reply serve_reload(server *s, serve_model *model, const char *cause)
{
    char which[SERVE_NAME_MAX + 16] = ""; /* the model named in the log where there are several */
    if (s->n_models > 1)
        snprintf(which, sizeof which, "model %s: ", model->name);
    hftc_model *m = NULL;
    if (hftc_model_load(&m, model->path) != HFTC_STATUS_OK ||
        hftc_model_set_word_cache(m, s->word_cache_mb << 20) != HFTC_STATUS_OK) {
        char why[sizeof model->reload_error];
        snprintf(why, sizeof why, "%s", hftc_last_error());
        hftc_model_free(m);
        pthread_mutex_lock(&s->lock);
        model->failed_reloads++;
        memcpy(model->reload_error, why, sizeof why);
        pthread_mutex_unlock(&s->lock);
        /* after the count: a client that read this line finds it in /metrics and /models */
        fprintf(stderr, "hftc serve: %s: %s%s; the model loaded before goes on serving\n", cause, which, why);
        char message[sizeof why + 64];
        snprintf(message, sizeof message, "%s; the model loaded before goes on serving", why);
        return serve_error(500, message);
    }
    hftc_model_set_threads(m, s->threads);
    json_t *description = describe(m);
    size_t n_labels = hftc_model_num_labels(m);
    pthread_mutex_lock(&s->lock);
    hftc_model *not_taken = model->next_model; /* two reloads between two batches: the newer model */
    json_t *old_description = model->description;
    model->next_model = m, model->description = description, model->n_labels = n_labels;
    model->reloads++;
    model->reload_error[0] = '\0';
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    hftc_model_free(not_taken);
    json_decref(old_description);
    /* after the handover: a request sent once this line is read is answered by the new model */
    fprintf(stderr, "hftc serve: %s: %sreloaded %s (%zu labels)\n", cause, which, model->path, n_labels);
    serve_reply out = {
        200, json_pack("{s:s, s:s, s:I}", "name", model->name, "status", "reloaded", "labels", (json_int_t)n_labels)};
    return out.body ? out : serve_error(500, "out of memory");
}

void serve_reloads_run(server *s)
{
    pthread_mutex_lock(&s->lock);
    serve_job *list = s->reloads;
    s->reloads = NULL;
    pthread_mutex_unlock(&s->lock);
    if (!list)
        return;
    for (serve_job *j = list; j; j = j->next) {
        char cause[SERVE_NAME_MAX + 32];
        snprintf(cause, sizeof cause, "POST /models/%s/reload", j->model->name);
        j->out = serve_reload(s, j->model, cause);
    }
    pthread_mutex_lock(&s->lock);
    serve_jobs_answered(list);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

json_t *serve_model_json(server *s, serve_model *model)
{
    pthread_mutex_lock(&s->lock);
    json_t *description = json_incref(model->description);
    size_t n_labels = model->n_labels, loaded = model->reloads, failed = model->failed_reloads;
    char error[sizeof model->reload_error];
    memcpy(error, model->reload_error, sizeof error);
    pthread_mutex_unlock(&s->lock);
    if (!description)
        return NULL;
    return json_pack("{s:s, s:o, s:I, s:o, s:{s:I, s:I, s:o}}", "name", model->name, "file",
                     serve_text_json(model->path), "labels", (json_int_t)n_labels, "description", description,
                     "reloads", "loaded", (json_int_t)loaded, "failed", (json_int_t)failed, "last_error",
                     error[0] ? serve_text_json(error) : json_null());
}
