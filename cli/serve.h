/* hftc serve's state, shared by its parts: serve.c receives the requests and answers them over HTTP, serve_models.c
 * holds the models served (each with its own batching queue and batcher thread) and reloads them, serve_request.c
 * reads what a request asks, serve_openapi.c describes the routes, serve_deadlines.c closes slow connections.
 *
 * Ownership: a model's hftc_model is its batcher's alone once the batcher runs; everything marked "under lock" is
 * the server's lock's, which every thread takes (one lock: the threads hold it for moments only). */
#ifndef HFTC_CLI_SERVE_H
#define HFTC_CLI_SERVE_H

#include "serve_deadlines.h"
#include "serve_request.h"

#include "hftc.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    unsigned status; /* 0: none yet (the request waits for a batcher or a reload) */
    json_t *body;    /* the answer: JSON, or (NULL) the text below */
    char *text;
} serve_reply;

typedef struct serve_model serve_model;

/* A request that waits on another thread between its arrival and its answer: a prediction (for its model's batcher)
 * or a reload (for the main thread, as loading a file would stall every connection of libmicrohttpd's thread). */
typedef struct serve_job {
    struct serve_job *next;
    struct MHD_Connection *connection;
    serve_model *model;
    serve_prediction p;  /* a prediction's */
    json_t *predictions; /* the batcher's, as they come */
    serve_reply out;     /* set before answered */
    /* under lock */
    bool answered;  /* out is set */
    bool suspended; /* the connection waits to be resumed */
    bool abandoned; /* the connection ended first: whoever answers frees the job */
} serve_job;

enum { SERVE_NAME_MAX = 64 };

struct serve_model {
    struct server *s;
    char name[SERVE_NAME_MAX + 1];
    const char *path;
    hftc_model *m; /* its batcher's alone once the batcher runs */
    pthread_t batcher;
    bool batching; /* the batcher thread was started */
    /* under lock */
    serve_job *queue;
    hftc_model *next_model; /* a reload's, for the batcher to swap in between two batches */
    json_t *description;    /* the model's (GET /info, GET /models), made when it is loaded */
    size_t n_labels;
    bool batcher_done;
    size_t reloads, failed_reloads;
    char reload_error[512]; /* why the latest reload failed; "" if it did not */
};

typedef struct server {
    serve_model *models;
    size_t n_models;
    int threads;
    size_t word_cache_mb;
    hftc_input_options in; /* the defaults of threshold, scoring and prune */
    size_t k;
    size_t max_request_bytes, max_request_docs;
    float request_timeout; /* seconds */
    int quiet, allow_reload;
    atomic_bool listening; /* --quiet silences libmicrohttpd's messages from then on, not why it cannot start */
    serve_deadlines deadlines;
    pthread_mutex_t lock;   /* the fields below and those marked so */
    pthread_cond_t changed; /* a request queued or answered, a model handed over, stopping, a request done */
    serve_job *reloads;     /* POST /models/{name}/reload requests, for the main thread */
    size_t in_flight;       /* requests whose headers arrived and whose answer is not sent yet */
    bool stopping;
    /* for GET /metrics */
    size_t answered[600]; /* requests by HTTP status */
    size_t documents, batches, timed_out;
    double predict_seconds, started;
} server;

double serve_now(void);
/* text as a JSON string; where it is not UTF-8 (a file's name in another encoding), each byte past ASCII as '?'.
 * NULL out of memory. */
json_t *serve_text_json(const char *text);
/* {"error": message} with status. */
serve_reply serve_error(unsigned status, const char *message);
void serve_reply_free(serve_reply r);
void serve_job_free(serve_job *j);

/* Reads the --model values ("PATH", or "NAME=PATH"; a name is required when there are several) into s->models,
 * each name unique; returns 0, or 2 after saying what is wrong. */
int serve_models_parse(server *s, const char *const *values, size_t n);
/* Loads every model; 0, or the exit status after saying which failed. */
int serve_models_load(server *s);
void serve_models_free(server *s);
/* Whether name (len bytes) can be a model's: 1 to SERVE_NAME_MAX letters, digits, '.', '_' or '-', starting with a
 * letter or a digit (a URL path segment that needs no escaping). */
bool serve_model_name_valid(const char *name, size_t len);
/* The model of that name (len bytes), or NULL. */
serve_model *serve_models_find(server *s, const char *name, size_t len);

/* Starts every model's batcher; false (after saying so) if a thread cannot start. */
bool serve_batchers_start(server *s);
/* Waits for the batchers to end (once the server is stopping and their queues are empty). */
void serve_batchers_join(server *s);
/* Whether every batcher has ended (under lock). */
bool serve_batchers_done(const server *s);

/* Under lock: the jobs of list (linked by next) are answered; each one's connection is resumed if it was suspended
 * waiting, and its job freed if the connection ended first. */
void serve_jobs_answered(serve_job *list);

/* Parses a prediction request for model and queues it for its batcher (*queued: the job, and the reply's status
 * 0), or the reply that says why it cannot be answered. */
serve_reply serve_queue_prediction(server *s, serve_model *model, struct MHD_Connection *c, const char *data,
                                   size_t len, serve_job **queued);
/* Queues a reload of model for the main thread (serve_reloads_run), like serve_queue_prediction. */
serve_reply serve_queue_reload(server *s, serve_model *model, struct MHD_Connection *c, serve_job **queued);
/* The main thread: loads again the files of the queued reload requests and answers them. */
void serve_reloads_run(server *s);
/* Loads model's file again and hands it to its batcher; if it cannot be loaded, the model loaded before goes on
 * serving and the failure is counted, kept (GET /models) and logged. cause: "SIGHUP" or the request's. Returns
 * the reply for a request. */
serve_reply serve_reload(server *s, serve_model *model, const char *cause);

/* {"name", "description", "reloads": {"loaded", "failed", "last_error"}} of one model; NULL out of memory. */
json_t *serve_model_json(server *s, serve_model *model);

/* The OpenAPI 3 document of the routes a server of one model or (several) more serves; NULL out of memory. */
json_t *serve_openapi(bool several);

#endif
