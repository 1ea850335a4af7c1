/* hftc serve's batching (serve.h): each model's prediction requests queued as they arrive, and its batcher thread,
 * which predicts every queued request with the same options in one batch and swaps in the model a reload handed
 * over between two batches. */
#include "commands.h"
#include "serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void serve_job_free(serve_job *j)
{
    if (j) {
        serve_prediction_free(&j->p);
        json_decref(j->predictions);
        serve_reply_free(j->out);
        free(j);
    }
}

void serve_jobs_answered(serve_job *list)
{
    for (serve_job *j = list, *next; j; j = next) {
        next = j->next; /* j is the connection's once answered */
        j->answered = true;
        if (j->abandoned)
            serve_job_free(j);
        else if (j->suspended)
            MHD_resume_connection(j->connection);
    }
}

/* Appends j to *queue under the lock, unless the server is stopping; whether it did. */
static bool enqueue(server *s, serve_job **queue, serve_job *j)
{
    pthread_mutex_lock(&s->lock);
    bool stopping = s->stopping;
    if (!stopping) {
        serve_job **end = queue;
        while (*end)
            end = &(*end)->next;
        *end = j;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    return !stopping;
}

serve_reply serve_queue_prediction(server *s, serve_model *model, struct MHD_Connection *c, const char *data,
                                   size_t len, serve_job **queued)
{
    serve_prediction p = {.k = s->k, .in = s->in};
    serve_refusal no;
    if (!serve_parse_prediction(data, len, s->max_request_docs, &p, &no))
        return serve_error(no.status, no.message);
    serve_job *j = calloc(1, sizeof *j);
    json_t *predictions = json_array();
    if (!j || !predictions) {
        free(j), json_decref(predictions);
        serve_prediction_free(&p);
        return serve_error(500, "out of memory");
    }
    *j = (serve_job){.connection = c, .model = model, .p = p, .predictions = predictions};
    *queued = j; /* before it is queued: the batcher may answer it at once */
    if (!enqueue(s, &model->queue, j)) {
        *queued = NULL;
        serve_job_free(j);
        return serve_error(503, "the server is stopping");
    }
    return (serve_reply){0};
}

serve_reply serve_queue_reload(server *s, serve_model *model, struct MHD_Connection *c, serve_job **queued)
{
    serve_job *j = calloc(1, sizeof *j);
    if (!j)
        return serve_error(500, "out of memory");
    *j = (serve_job){.connection = c, .model = model};
    *queued = j;
    if (!enqueue(s, &s->reloads, j)) {
        *queued = NULL;
        serve_job_free(j);
        return serve_error(503, "the server is stopping");
    }
    return (serve_reply){0};
}

static bool same_options(const hftc_input_options *a, const hftc_input_options *b)
{
    return a->threshold == b->threshold && a->explain == b->explain && a->prune == b->prune &&
           (a->scoring == b->scoring || (a->scoring && b->scoring && !strcmp(a->scoring, b->scoring)));
}

/* Unlinks the next batch from the model's queue (under lock): the first request, and the later ones with its
 * options while the documents stay within --max-request-docs. */
static serve_job *take_batch(serve_model *model, size_t max_docs)
{
    serve_job *batch = model->queue, **tail = &batch->next;
    size_t docs = batch->p.n;
    model->queue = batch->next;
    batch->next = NULL;
    for (serve_job **at = &model->queue; *at;) {
        serve_job *j = *at;
        if (same_options(&j->p.in, &batch->p.in) && docs + j->p.n <= max_docs) {
            *at = j->next;
            j->next = NULL;
            *tail = j, tail = &j->next;
            docs += j->p.n;
        } else {
            at = &j->next;
        }
    }
    return batch;
}

/* Hands each prediction of a batch to its request, numbered within it. */
typedef struct {
    const hftc_model *m;
    serve_job *at; /* the request of the next prediction */
    size_t offset; /* its first document's index in the batch */
} batch_answers;

static hftc_status collect_prediction(const hftc_prediction *p, void *user)
{
    batch_answers *a = user;
    while (p->index >= a->offset + a->at->p.n)
        a->offset += a->at->p.n, a->at = a->at->next;
    hftc_prediction mine = *p;
    mine.index -= a->offset;
    return json_array_append_new(a->at->predictions, cli_prediction_json(a->m, &mine, a->at->p.k)) == 0
               ? HFTC_STATUS_OK
               : HFTC_STATUS_OUT_OF_MEMORY;
}

/* Predicts a batch's documents in one call and sets each request's reply. */
static void predict_batch(server *s, hftc_model *m, serve_job *batch)
{
    size_t n = 0;
    for (serve_job *j = batch; j; j = j->next)
        n += j->p.n;
    const char **texts = malloc((n ? n : 1) * sizeof *texts);
    hftc_status st = texts ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    size_t at = 0;
    for (serve_job *j = batch; texts && j; j = j->next)
        for (size_t i = 0; i < j->p.n; i++)
            texts[at++] = j->p.texts[i];
    double t0 = serve_now();
    batch_answers answers = {m, batch, 0};
    if (st == HFTC_STATUS_OK && n > 0)
        st = hftc_predict_documents(m, texts, n, &batch->p.in, 0, collect_prediction, &answers);
    double seconds = serve_now() - t0;
    free(texts);
    for (serve_job *j = batch; j; j = j->next) {
        if (st == HFTC_STATUS_OK) {
            j->out = (serve_reply){200, json_pack("{s:o, s:f}", "predictions", j->predictions, "seconds", seconds)};
            j->predictions = NULL; /* the reply's now */
            if (!j->out.body)
                j->out = serve_error(500, "out of memory");
        } else {
            j->out = serve_error(st == HFTC_STATUS_INVALID_ARGUMENT ? 400 : 500, hftc_last_error());
        }
    }
    pthread_mutex_lock(&s->lock);
    s->batches++;
    if (st == HFTC_STATUS_OK)
        s->documents += n, s->predict_seconds += seconds;
    pthread_mutex_unlock(&s->lock);
}

/* A model's batcher thread: predicts its queued requests batch by batch, swaps in the model a reload handed over
 * between two batches, and ends once the server is stopping and the queue is empty. */
static void *batcher(void *arg)
{
    serve_model *model = arg;
    server *s = model->s;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!model->queue && !model->next_model && !s->stopping)
            pthread_cond_wait(&s->changed, &s->lock);
        if (model->next_model) {
            hftc_model *old = model->m;
            model->m = model->next_model, model->next_model = NULL;
            pthread_mutex_unlock(&s->lock);
            hftc_model_free(old);
        } else if (model->queue) {
            serve_job *batch = take_batch(model, s->max_request_docs);
            pthread_mutex_unlock(&s->lock);
            predict_batch(s, model->m, batch);
            pthread_mutex_lock(&s->lock);
            serve_jobs_answered(batch);
            pthread_cond_broadcast(&s->changed);
            pthread_mutex_unlock(&s->lock);
        } else {
            break;
        }
        pthread_mutex_lock(&s->lock);
    }
    model->batcher_done = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

bool serve_batchers_start(server *s)
{
    for (size_t i = 0; i < s->n_models; i++) {
        serve_model *model = &s->models[i];
        model->batching = pthread_create(&model->batcher, NULL, batcher, model) == 0;
        if (!model->batching) {
            fprintf(stderr, "hftc serve: cannot start a thread\n");
            return false;
        }
    }
    return true;
}

bool serve_batchers_done(const server *s)
{
    for (size_t i = 0; i < s->n_models; i++)
        if (s->models[i].batching && !s->models[i].batcher_done)
            return false;
    return true;
}

void serve_batchers_join(server *s)
{
    for (size_t i = 0; i < s->n_models; i++)
        if (s->models[i].batching)
            pthread_join(s->models[i].batcher, NULL);
}
