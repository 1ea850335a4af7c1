/* hftc serve: answers predictions over HTTP from one loaded model (libmicrohttpd).
 *
 *   POST /predict  {"texts": ["...", ...]} or {"text": "..."}, optional "k", "threshold", "scoring",
 *                  "explain" (bigru-att models: the words each label's classifier attended to most)
 *                  -> {"predictions": [{"doc": 1, "labels": [...], "scores": [...]}, ...], "seconds": s}
 *                  (s: the prediction of the batch the request was part of)
 *   GET  /health   -> {"status": "ok"}
 *   GET  /info     -> the model's description (what hftc info --json prints)
 *   GET  /metrics  -> Prometheus counters: requests by status, documents, batches, predicting seconds, reloads,
 *                     connections closed at their deadline
 *
 * Errors are JSON too ({"error": "..."}): 400 for a request the model cannot answer as sent, 404, 405,
 * 413 past --max-request-mb or --max-request-docs, 500 otherwise, 503 once the server is stopping.
 *
 * Three threads: libmicrohttpd's receives the requests and sends the answers; the batcher predicts; the main
 * thread waits for signals and closes the connections past their deadline (serve_deadlines.h). A prediction
 * request is parsed where it arrives, queued, and its connection suspended until the batcher has its answer.
 * Whenever the batcher is free it takes every queued request (in arrival order, those with
 * the first one's threshold, scoring and explain, up to --max-request-docs documents) and predicts them in
 * one batch with --threads threads: one request alone is answered at once, and requests arriving
 * while a batch runs share the next one, so many clients sending one document each are answered at the
 * speed of batches. The model is the batcher's alone: SIGHUP loads the model file again (a new model put
 * in its place) and hands it over, swapped in between two batches; SIGINT or SIGTERM stops the server once
 * the requests it received are answered (stop, below).
 *
 * Against clients that hold connections: at most --max-connections at once, --max-connections-per-ip from one
 * address, and --request-timeout seconds for a connection to send a whole request; waiting for the batcher does
 * not count. */
#include "args.h"
#include "commands.h"
#include "serve_deadlines.h"
#include "serve_request.h"

#include "hftc.h"

#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

typedef struct {
    unsigned status; /* 0: none yet (the request waits for the batcher) */
    json_t *body;    /* the answer: JSON, or (NULL) the text below */
    char *text;
} reply;

/* A prediction request between its arrival and its answer. */
typedef struct job {
    struct job *next;
    struct MHD_Connection *connection;
    serve_prediction p;
    json_t *predictions; /* the batcher's, as they come */
    reply out;           /* set by the batcher before answered */
    /* under the server's lock */
    bool answered;  /* out is set */
    bool suspended; /* the connection waits for the batcher to resume it */
    bool abandoned; /* the connection ended first: the batcher frees the job */
} job;

typedef struct {
    hftc_model *m; /* the batcher thread's alone once it runs */
    int threads;
    hftc_input_options in; /* the defaults of threshold, scoring and prune */
    size_t k;
    size_t max_request_bytes, max_request_docs;
    float request_timeout; /* seconds */
    int quiet;
    atomic_bool listening; /* --quiet silences libmicrohttpd's messages from then on, not why it cannot start */
    serve_deadlines deadlines;
    pthread_mutex_t lock;   /* the fields below */
    pthread_cond_t changed; /* a request queued or answered, a model handed over, stopping, a request done */
    job *queue;
    size_t in_flight;       /* requests whose headers arrived and whose answer is not sent yet */
    hftc_model *next_model; /* SIGHUP's, for the batcher to swap in */
    json_t *description;    /* GET /info: the model's, made when it is loaded */
    size_t n_labels;
    bool stopping, batcher_done;
    /* for GET /metrics */
    size_t answered[600]; /* requests by HTTP status */
    size_t documents, batches, reloads, failed_reloads, timed_out;
    double predict_seconds, started;
} server;

/* A request's body as it arrives. */
typedef struct {
    char *data;
    size_t len, cap;
    int too_large;
    int bad_length; /* Content-Length headers that disagree */
    double started;
    job *job; /* its prediction, once queued */
} request;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static reply error_reply(unsigned status, const char *message)
{
    return (reply){status, json_pack("{s:s}", "error", message)};
}

static void job_free(job *j)
{
    if (j) {
        serve_prediction_free(&j->p);
        json_decref(j->predictions), json_decref(j->out.body);
        free(j->out.text);
        free(j);
    }
}

/* Parses a prediction request and queues it for the batcher (the status of the reply: 0), or the reply
 * that says why it cannot be answered. */
static reply queue_prediction(server *s, struct MHD_Connection *c, request *r)
{
    serve_prediction p = {.k = s->k, .in = s->in};
    serve_refusal no;
    if (!serve_parse_prediction(r->data, r->len, s->max_request_docs, &p, &no))
        return error_reply(no.status, no.message);
    job *j = calloc(1, sizeof *j);
    json_t *predictions = json_array();
    if (!j || !predictions) {
        free(j), json_decref(predictions);
        serve_prediction_free(&p);
        return error_reply(500, "out of memory");
    }
    *j = (job){.connection = c, .p = p, .predictions = predictions};
    pthread_mutex_lock(&s->lock);
    bool stopping = s->stopping;
    if (!stopping) {
        job **end = &s->queue;
        while (*end)
            end = &(*end)->next;
        *end = r->job = j;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    if (stopping) {
        job_free(j);
        return error_reply(503, "the server is stopping");
    }
    return (reply){0};
}

static bool same_options(const hftc_input_options *a, const hftc_input_options *b)
{
    return a->threshold == b->threshold && a->explain == b->explain && a->prune == b->prune &&
           (a->scoring == b->scoring || (a->scoring && b->scoring && !strcmp(a->scoring, b->scoring)));
}

/* Unlinks the next batch from the queue (under s->lock): the first request, and the later ones with its
 * options while the documents stay within --max-request-docs. */
static job *take_batch(server *s)
{
    job *batch = s->queue, **tail = &batch->next;
    size_t docs = batch->p.n;
    s->queue = batch->next;
    batch->next = NULL;
    for (job **at = &s->queue; *at;) {
        job *j = *at;
        if (same_options(&j->p.in, &batch->p.in) && docs + j->p.n <= s->max_request_docs) {
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
    job *at;       /* the request of the next prediction */
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
static void predict_batch(server *s, job *batch)
{
    size_t n = 0;
    for (job *j = batch; j; j = j->next)
        n += j->p.n;
    const char **texts = malloc((n ? n : 1) * sizeof *texts);
    hftc_status st = texts ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    size_t at = 0;
    for (job *j = batch; texts && j; j = j->next)
        for (size_t i = 0; i < j->p.n; i++)
            texts[at++] = j->p.texts[i];
    double t0 = now_seconds();
    batch_answers answers = {s->m, batch, 0};
    if (st == HFTC_STATUS_OK && n > 0)
        st = hftc_predict_documents(s->m, texts, n, &batch->p.in, 0, collect_prediction, &answers);
    double seconds = now_seconds() - t0;
    free(texts);
    for (job *j = batch; j; j = j->next) {
        if (st == HFTC_STATUS_OK) {
            j->out = (reply){200, json_pack("{s:o, s:f}", "predictions", j->predictions, "seconds", seconds)};
            j->predictions = NULL; /* the reply's now */
            if (!j->out.body)
                j->out = error_reply(500, "out of memory");
        } else {
            j->out = error_reply(st == HFTC_STATUS_INVALID_ARGUMENT ? 400 : 500, hftc_last_error());
        }
    }
    pthread_mutex_lock(&s->lock);
    s->batches++;
    if (st == HFTC_STATUS_OK)
        s->documents += n, s->predict_seconds += seconds;
    pthread_mutex_unlock(&s->lock);
}

/* The batcher thread: predicts the queued requests batch by batch, swaps in the model SIGHUP loaded
 * between two batches, and ends once the server is stopping and the queue is empty. A request's connection is
 * resumed if it was suspended waiting; its job is freed here if the connection ended first. */
static void *batcher(void *arg)
{
    server *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->queue && !s->next_model && !s->stopping)
            pthread_cond_wait(&s->changed, &s->lock);
        if (s->next_model) {
            hftc_model *old = s->m;
            s->m = s->next_model, s->next_model = NULL;
            pthread_mutex_unlock(&s->lock);
            hftc_model_free(old);
        } else if (s->queue) {
            job *batch = take_batch(s);
            pthread_mutex_unlock(&s->lock);
            predict_batch(s, batch);
            pthread_mutex_lock(&s->lock);
            for (job *j = batch, *next; j; j = next) {
                next = j->next; /* j is the connection's once answered */
                j->answered = true;
                if (j->abandoned)
                    job_free(j);
                else if (j->suspended)
                    MHD_resume_connection(j->connection);
            }
            pthread_cond_broadcast(&s->changed);
            pthread_mutex_unlock(&s->lock);
        } else {
            break;
        }
        pthread_mutex_lock(&s->lock);
    }
    s->batcher_done = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* The Prometheus text exposition of the server's counters. */
static reply metrics(server *s)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return error_reply(500, "out of memory");
    pthread_mutex_lock(&s->lock);
    fprintf(f, "# HELP hftc_requests_total HTTP requests answered, by status.\n# TYPE hftc_requests_total counter\n");
    for (size_t code = 0; code < sizeof s->answered / sizeof *s->answered; code++)
        if (s->answered[code])
            fprintf(f, "hftc_requests_total{status=\"%zu\"} %zu\n", code, s->answered[code]);
    fprintf(
        f,
        "# HELP hftc_documents_total Documents predicted.\n# TYPE hftc_documents_total counter\n"
        "hftc_documents_total %zu\n"
        "# HELP hftc_predict_batches_total Batches predicted (the prediction requests queued together).\n"
        "# TYPE hftc_predict_batches_total counter\nhftc_predict_batches_total %zu\n"
        "# HELP hftc_predict_seconds_total Seconds spent predicting.\n# TYPE hftc_predict_seconds_total counter\n"
        "hftc_predict_seconds_total %.6f\n"
        "# HELP hftc_model_reloads_total SIGHUP reloads of the model file, by result.\n"
        "# TYPE hftc_model_reloads_total counter\n"
        "hftc_model_reloads_total{result=\"loaded\"} %zu\nhftc_model_reloads_total{result=\"failed\"} %zu\n"
        "# HELP hftc_model_labels Labels of the model served.\n# TYPE hftc_model_labels gauge\n"
        "hftc_model_labels %zu\n"
        "# HELP hftc_connections_timed_out_total Connections closed for not sending a whole request within "
        "--request-timeout.\n# TYPE hftc_connections_timed_out_total counter\nhftc_connections_timed_out_total %zu\n"
        "# HELP hftc_uptime_seconds Seconds since the server started.\n# TYPE hftc_uptime_seconds gauge\n"
        "hftc_uptime_seconds %.3f\n",
        s->documents, s->batches, s->predict_seconds, s->reloads, s->failed_reloads, s->n_labels, s->timed_out,
        now_seconds() - s->started);
    pthread_mutex_unlock(&s->lock);
    if (fclose(f) != 0) {
        free(text);
        return error_reply(500, "out of memory");
    }
    return (reply){200, NULL, text};
}

/* The reply to a request whose body is in; status 0 when it waits for the batcher. */
static reply route(server *s, struct MHD_Connection *c, const char *method, const char *url, request *r,
                   const char **allow)
{
    serve_path path;
    serve_refusal no;
    if (!serve_route(method, url, &path, &no)) {
        *allow = no.allow;
        return error_reply(no.status, no.message);
    }
    if (path == SERVE_PREDICT)
        return r->too_large ? error_reply(413, "the request is larger than --max-request-mb")
                            : queue_prediction(s, c, r);
    if (path == SERVE_HEALTH)
        return (reply){200, json_pack("{s:s}", "status", "ok")};
    if (path == SERVE_METRICS)
        return metrics(s);
    pthread_mutex_lock(&s->lock);
    json_t *description = json_incref(s->description);
    pthread_mutex_unlock(&s->lock);
    return description ? (reply){200, description} : error_reply(500, "cannot describe the model");
}

typedef struct {
    const char *first; /* the first Content-Length value */
    bool disagree;
} length_check;

static enum MHD_Result check_length(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    length_check *l = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
        return MHD_YES;
    if (!l->first)
        l->first = value;
    l->disagree = strcmp(l->first, value) != 0;
    return l->disagree ? MHD_NO : MHD_YES;
}

/* Whether the request has Content-Length headers with different values (RFC 9112, 6.3: an error). A proxy
 * that reads another one than libmicrohttpd (which takes one silently) sees another request: smuggling. */
static bool lengths_disagree(struct MHD_Connection *c)
{
    length_check l = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, check_length, &l);
    return l.disagree;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)version;
    server *s = cls;
    request *r = *state;
    if (!r) { /* the headers: the body, if any, comes in the next calls */
        *state = r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        pthread_mutex_lock(&s->lock);
        s->in_flight++;
        pthread_mutex_unlock(&s->lock);
        r->bad_length = lengths_disagree(c);
        if (!r->bad_length)
            return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large || r->len + n > s->max_request_bytes) {
            r->too_large = 1;
            return MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t cap = 2 * (r->len + n);
            char *data = realloc(r->data, cap);
            if (!data)
                return MHD_NO;
            r->data = data, r->cap = cap;
        }
        memcpy(r->data + r->len, upload, n);
        r->len += n;
        return MHD_YES;
    }
    const char *allow = NULL;
    reply out;
    if (r->job) { /* called again: the batcher's answer, or a wait for it */
        pthread_mutex_lock(&s->lock);
        bool answered = r->job->answered;
        if (!answered) {
            r->job->suspended = true;
            MHD_suspend_connection(c);
        }
        pthread_mutex_unlock(&s->lock);
        if (!answered)
            return MHD_YES;
        out = r->job->out;
        r->job->out = (reply){0};
    } else { /* the whole request */
        r->started = now_seconds();
        serve_deadlines_received(&s->deadlines, c);
        pthread_mutex_lock(&s->lock);
        bool stopping = s->stopping;
        pthread_mutex_unlock(&s->lock);
        out = stopping        ? error_reply(503, "the server is stopping")
              : r->bad_length ? error_reply(400, "conflicting Content-Length headers")
                              : route(s, c, method, url, r, &allow);
        /* Queued: returning without an answer puts the connection in libmicrohttpd's "request received" state, which
         * reads nothing, and it calls again at once: that call suspends the connection. Suspended now, it would keep
         * the state it had while receiving (a suspended connection's is not updated), and once resumed it would read
         * before answering: a client that has shut its sending side (legal in HTTP/1.1) would read as gone and lose
         * its answer. */
        if (out.status == 0)
            return MHD_YES;
    }
    pthread_mutex_lock(&s->lock);
    s->answered[out.status < 600 ? out.status : 0]++;
    bool closing = s->stopping;
    pthread_mutex_unlock(&s->lock);
    bool json = out.body != NULL;
    char *text = json ? json_dumps(out.body, JSON_COMPACT | JSON_REAL_PRECISION(6)) : out.text;
    json_decref(out.body);
    if (!text)
        return MHD_NO;
    size_t len = strlen(text);
    if (json)
        text[len++] = '\n'; /* the NUL json_dumps wrote: the body ends with a newline */
    struct MHD_Response *response = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            json ? "application/json" : "text/plain; version=0.0.4");
    if (allow)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
    if (closing) /* no further request on this connection: the server is about to close it */
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result queued = MHD_queue_response(c, out.status, response);
    MHD_destroy_response(response);
    if (!s->quiet)
        fprintf(stderr, "%s %s %u (%zu bytes, %.1f ms)\n", method, url, out.status, r->len,
                1e3 * (now_seconds() - r->started));
    return queued;
}

/* A request answered, or its connection ended first: the next request's deadline starts. */
static void request_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
    (void)why;
    server *s = cls;
    request *r = *state;
    if (r) {
        pthread_mutex_lock(&s->lock);
        if (r->job && !r->job->answered)
            r->job->abandoned = true; /* still the batcher's */
        else
            job_free(r->job);
        s->in_flight--;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
        free(r->data);
        free(r);
    }
    *state = NULL;
    serve_deadlines_restart(&s->deadlines, c);
}

/* libmicrohttpd's messages (a client gone mid-request, a connection refused at a limit): on stderr with the
 * command's name, none with --quiet once listening, as a hostile client can cause one per connection. (Not under
 * the server's lock: libmicrohttpd may write one from a call made under it.) */
static void log_daemon(void *cls, const char *format, va_list ap)
{
    server *s = cls;
    if (s->quiet && atomic_load(&s->listening))
        return;
    char message[512];
    vsnprintf(message, sizeof message, format, ap);
    size_t len = strlen(message);
    fprintf(stderr, "hftc serve: %s%s", message, len && message[len - 1] == '\n' ? "" : "\n");
}

/* Starts the daemon on host:port (port 0: one the system chooses); prints the address it listens on. poll, as
 * select stops at FD_SETSIZE (1,024) connections, and libmicrohttpd 0.9's epoll, edge-triggered, loses the end of a
 * stream that arrives with the last bytes of a request (the connection stayed in CLOSE-WAIT until the timeout, and a
 * client that had shut its side waited as long for the end of its answer). Connections past the limits are closed
 * once accepted, so the others are served. The inactivity timeout is the request deadline: a connection that
 * neither sends nor takes its answer for that long is closed (a suspended one, waiting for the batcher, has none). */
static struct MHD_Daemon *start(server *s, const char *host, unsigned port, size_t max_connections,
                                size_t max_per_address)
{
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *addr;
    int rc = getaddrinfo(host, service, &hints, &addr);
    if (rc != 0) {
        fprintf(stderr, "hftc serve: --host %s: %s\n", host, gai_strerror(rc));
        return NULL;
    }
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (addr->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, log_daemon, s, /* first, for all */
        MHD_OPTION_SOCK_ADDR, addr->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, request_done, s, MHD_OPTION_NOTIFY_CONNECTION,
        serve_deadlines_notify, &s->deadlines, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ceilf(s->request_timeout),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)max_per_address, MHD_OPTION_END);
    freeaddrinfo(addr);
    if (!d) {
        fprintf(stderr, "hftc serve: cannot listen on %s port %u\n", host, port);
        return NULL;
    }
    atomic_store(&s->listening, true);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "hftc serve: listening on %s port %u\n", host, info ? (unsigned)info->port : port);
    return d;
}

/* The model's description for GET /info; NULL if it cannot be made. */
static json_t *describe(const hftc_model *m)
{
    char *text = hftc_model_describe(m);
    json_t *description = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return description;
}

/* SIGHUP: loads the model file again (a new model put in its place) and hands it to the batcher, which
 * swaps it in between two batches; if it cannot be loaded, the one loaded before goes on serving. */
static void reload(server *s, const char *path, size_t word_cache_mb)
{
    hftc_model *m = NULL;
    if (hftc_model_load(&m, path) != HFTC_STATUS_OK ||
        hftc_model_set_word_cache(m, word_cache_mb << 20) != HFTC_STATUS_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", hftc_last_error());
        hftc_model_free(m);
        pthread_mutex_lock(&s->lock);
        s->failed_reloads++;
        pthread_mutex_unlock(&s->lock);
        /* after the count: a client that read this line finds it in /metrics */
        fprintf(stderr, "hftc serve: SIGHUP: %s; the model loaded before goes on serving\n", why);
        return;
    }
    hftc_model_set_threads(m, s->threads);
    json_t *description = describe(m);
    size_t n_labels = hftc_model_num_labels(m);
    pthread_mutex_lock(&s->lock);
    hftc_model *not_taken = s->next_model; /* two SIGHUPs between two batches: the newer model */
    json_t *old_description = s->description;
    s->next_model = m, s->description = description, s->n_labels = n_labels;
    s->reloads++;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    hftc_model_free(not_taken);
    json_decref(old_description);
    /* after the handover: a request sent once this line is read is answered by the new model */
    fprintf(stderr, "hftc serve: SIGHUP: reloaded %s (%zu labels)\n", path, n_labels);
}

/* How often the main thread closes the connections past their deadline. */
#define TICK_NS 250000000L

static void reap(server *s)
{
    size_t reaped = serve_deadlines_reap(&s->deadlines);
    if (reaped) {
        pthread_mutex_lock(&s->lock);
        s->timed_out += reaped;
        pthread_mutex_unlock(&s->lock);
    }
}

/* SIGINT, SIGTERM: from now on every request that arrives whole is answered 503 with Connection: close (a new one,
 * or one whose body was still arriving), every answer closes its connection, and the batcher answers the queued
 * predictions and ends. The server goes on receiving while a request whose headers arrived is unanswered, at most
 * --request-timeout seconds after the batcher ended (a body that never ends is closed at its deadline anyway). */
static void stop(server *s)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->changed);
    double until = 0;
    while (!s->batcher_done || s->in_flight) {
        if (s->batcher_done && until == 0)
            until = now_seconds() + s->request_timeout;
        if (until && now_seconds() >= until)
            break;
        struct timespec tick;
        clock_gettime(CLOCK_REALTIME, &tick);
        tick.tv_nsec += TICK_NS;
        tick.tv_sec += tick.tv_nsec / 1000000000L, tick.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->changed, &s->lock, &tick);
        pthread_mutex_unlock(&s->lock);
        reap(s);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
}

/* Raises the soft limit on open files to what max_connections needs (a socket each: the usual soft limit of 1,024
 * would stop the accepting long before), up to the hard limit; lowers *max_connections to what the hard limit
 * allows, with a warning. */
static void fit_file_limit(size_t *max_connections)
{
    enum { SPARE = 64 }; /* the listening socket, libmicrohttpd's wake-up pipe, the model file, standard streams */
    struct rlimit files;
    rlim_t needed = (rlim_t)*max_connections + SPARE;
    if (getrlimit(RLIMIT_NOFILE, &files) != 0)
        return;
    if (files.rlim_cur < needed) {
        files.rlim_cur = files.rlim_max < needed ? files.rlim_max : needed;
        if (setrlimit(RLIMIT_NOFILE, &files) != 0 || getrlimit(RLIMIT_NOFILE, &files) != 0)
            return;
    }
    if (files.rlim_cur < needed) {
        size_t fit = files.rlim_cur > 2 * SPARE ? (size_t)files.rlim_cur - SPARE : (size_t)files.rlim_cur / 2;
        fprintf(stderr, "hftc serve: %zu open files at most (ulimit -n): --max-connections %zu lowered to %zu\n",
                (size_t)files.rlim_cur, *max_connections, fit);
        *max_connections = fit;
    }
}

int cmd_serve(int argc, char **argv)
{
    const char *model_path = NULL, *host = "127.0.0.1";
    server s = {.in = {.threshold = -1.0f, .prune = 1},
                .max_request_docs = 10000,
                .request_timeout = 10.0f,
                .started = now_seconds()};
    size_t port = 8080, max_request_mb = 16, word_cache_mb = HFTC_WORD_CACHE_DEFAULT_BYTES >> 20;
    size_t max_connections = 4096, max_per_address = 64;
    unsigned long long seed = 1;
    const arg_spec specs[] = {
        {"--model", ARG_STRING, &model_path, "model file"},
        {"--host", ARG_STRING, &host, "address to listen on (0.0.0.0 or :: for every interface)"},
        {"--port", ARG_SIZE, &port, "TCP port (0 = one the system chooses; the address is printed)"},
        {"--k", ARG_SIZE, &s.k, "at most this many labels per document (0 = all above the threshold)"},
        {"--threshold", ARG_FLOAT, &s.in.threshold, CLI_THRESHOLD_HELP},
        {"--scoring", ARG_STRING, &s.in.scoring,
         "independent, bsf, msf, product, top-down, argmax, leaf, leaf-product; the model's by default"},
        {"--prune", ARG_BOOL, &s.in.prune, CLI_PRUNE_HELP},
        {"--max-request-mb", ARG_SIZE, &max_request_mb, "larger request bodies are refused (413)"},
        {"--max-request-docs", ARG_SIZE, &s.max_request_docs,
         "requests of more documents are refused (413), and a batch of queued requests holds at most this many"},
        {"--max-connections", ARG_SIZE, &max_connections,
         "connections open at once; more are closed once accepted (the open-file limit is raised to fit)"},
        {"--max-connections-per-ip", ARG_SIZE, &max_per_address,
         "connections open at once from one address (0 = no limit: behind a proxy, every client is the proxy)"},
        {"--request-timeout", ARG_FLOAT, &s.request_timeout,
         "seconds a connection has to send a whole request (from its opening or its previous answer), and the longest "
         "it may neither send nor take its answer; then it is closed"},
        {"--quiet", ARG_FLAG, &s.quiet, "no line per request, nor libmicrohttpd's messages once listening, on stderr"},
        CLI_MODEL_LOAD_SPECS(s.threads, word_cache_mb, seed),
    };
    int rc = args_parse("serve", "--model MODEL [--host ADDR] [--port N] [--k K] [--threshold T]", specs,
                        sizeof specs / sizeof *specs, argc, argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    const char *bad = port > 65535                                                ? "--port is at most 65535"
                      : max_request_mb == 0 || max_request_mb > ((size_t)1 << 20) ? "--max-request-mb: 1 .. 2^20"
                      : s.max_request_docs == 0                                   ? "--max-request-docs is at least 1"
                      : max_connections == 0 || max_connections > 1000000         ? "--max-connections: 1 .. 1000000"
                      : max_per_address > max_connections ? "--max-connections-per-ip is at most --max-connections"
                      : !(s.request_timeout >= 1.0f && s.request_timeout <= 3600.0f)
                          ? "--request-timeout: 1 .. 3600 seconds"
                          : NULL;
    if (bad) {
        fprintf(stderr, "hftc serve: %s\n", bad);
        return 2;
    }
    if ((rc = cli_check_threshold("serve", s.in.threshold)))
        return rc;
    s.max_request_bytes = max_request_mb << 20;
    if ((rc = cli_load_model("serve", model_path, s.threads, word_cache_mb, &s.m)))
        return rc;
    s.description = describe(s.m);
    s.n_labels = hftc_model_num_labels(s.m);
    fit_file_limit(&max_connections);
    serve_deadlines_init(&s.deadlines, s.request_timeout);
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.changed, NULL);
    /* The threads started here inherit the blocked signals: they reach sigtimedwait below, and nothing else. */
    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGTERM);
    sigaddset(&wanted, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &wanted, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_t batcher_thread;
    bool batching = pthread_create(&batcher_thread, NULL, batcher, &s) == 0;
    struct MHD_Daemon *d = batching ? start(&s, host, (unsigned)port, max_connections, max_per_address) : NULL;
    if (!batching)
        fprintf(stderr, "hftc serve: cannot start a thread\n");
    for (int got = 0; d && got != SIGINT && got != SIGTERM;) { /* between signals, deadlines every tick */
        got = sigtimedwait(&wanted, NULL, &(struct timespec){0, TICK_NS});
        if (got == SIGHUP)
            reload(&s, model_path, word_cache_mb);
        else if (got == SIGINT || got == SIGTERM)
            fprintf(stderr, "hftc serve: %s: stopping\n", got == SIGINT ? "SIGINT" : "SIGTERM");
        reap(&s);
    }
    if (batching) {
        stop(&s);
        pthread_join(batcher_thread, NULL);
    }
    if (d)
        MHD_stop_daemon(d);
    serve_deadlines_destroy(&s.deadlines);
    hftc_model_free(s.m);
    hftc_model_free(s.next_model);
    json_decref(s.description);
    pthread_cond_destroy(&s.changed);
    pthread_mutex_destroy(&s.lock);
    return d ? 0 : 1;
}
