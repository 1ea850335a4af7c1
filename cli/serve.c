/* hftc serve: answers predictions over HTTP from one loaded model or several, each by its name (libmicrohttpd).
 *
 *   POST /models/{name}/predict  {"texts": ["...", ...]} or {"text": "..."}, optional "k", "threshold", "scoring",
 *                  "explain" (bigru-att models: the words each label's classifier attended to most)
 *                  -> {"predictions": [{"doc": 1, "labels": [...], "scores": [...]}, ...], "seconds": s}
 *                  (s: the prediction of the batch the request was part of)
 *   GET  /models   -> {"models": [{"name", "file", "labels", "description", "reloads"}, ...]}; GET /models/{name}: one
 *   POST /models/{name}/reload -> loads the model's file again (with --allow-reload; 403 without)
 *   GET  /health   -> {"status": "ok"}
 *   GET  /metrics  -> Prometheus counters: requests by status, documents, batches, predicting seconds, reloads,
 *                     connections closed at their deadline
 *   GET  /openapi.json -> the OpenAPI 3 document of these routes (serve_openapi.c, from the router's table)
 * With one model (--model PATH, its name "default", or --model NAME=PATH), also the routes from before several:
 *   POST /predict  as POST /models/{name}/predict
 *   GET  /info     -> the model's description (what hftc info --json prints)
 *
 * Errors are JSON too ({"error": "..."}): 400 for a request the model cannot answer as sent, 403, 404 (a path, or a
 * model's name, unknown), 405, 413 past --max-request-mb or --max-request-docs, 500 otherwise, 503 once the server is
 * stopping.
 *
 * Threads: libmicrohttpd's receives the requests and sends the answers; each model's batcher predicts for it
 * (serve_batcher.c); the main thread waits for signals, loads model files again (SIGHUP: every model; a reload
 * request: one) and closes the connections past their deadline (serve_deadlines.h). A prediction request is parsed
 * where it arrives, queued for its model, and its connection suspended until the batcher has its answer. Whenever a
 * batcher is free it takes every request queued for its model (in arrival order, those with the first one's
 * threshold, scoring and explain, up to --max-request-docs documents) and predicts them in one batch with --threads
 * threads: one request alone is answered at once, and requests arriving while a batch runs share the next one, so
 * many clients sending one document each are answered at the speed of batches. A model is its batcher's alone: a
 * reload loads the file again (a new model put in its place) and hands it over, swapped in between two batches; a
 * file that cannot be loaded leaves the model loaded before serving. SIGINT or SIGTERM stops the server once the
 * requests it received are answered (stop, below).
 *
 * Against clients that hold connections: at most --max-connections at once, --max-connections-per-ip from one
 * address, and --request-timeout seconds for a connection to send a whole request; waiting for a batcher does
 * not count. */
#include "args.h"
#include "commands.h"
#include "serve.h"

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

/* A request's body as it arrives. */
typedef struct {
    char *data;
    size_t len, cap;
    int too_large;
    int bad_length; /* Content-Length headers that disagree */
    double started;
    serve_job *job; /* its prediction or reload, once queued */
} request;

double serve_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

json_t *serve_text_json(const char *text)
{
    json_t *j = json_string(text);
    char *ascii = j ? NULL : strdup(text);
    for (char *c = ascii; c && *c; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
    if (ascii)
        j = json_string(ascii);
    free(ascii);
    return j;
}

serve_reply serve_error(unsigned status, const char *message)
{
    return (serve_reply){status, json_pack("{s:o}", "error", serve_text_json(message))};
}

void serve_reply_free(serve_reply r)
{
    json_decref(r.body);
    free(r.text);
}

/* The Prometheus text exposition of the server's counters: the reloads summed over the models, the labels of each
 * (without a model label where there is one model, as before several). */
static serve_reply metrics(server *s)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return serve_error(500, "out of memory");
    pthread_mutex_lock(&s->lock);
    size_t loaded = 0, failed = 0;
    for (size_t i = 0; i < s->n_models; i++)
        loaded += s->models[i].reloads, failed += s->models[i].failed_reloads;
    fprintf(f, "# HELP hftc_requests_total HTTP requests answered, by status.\n# TYPE hftc_requests_total counter\n");
    for (size_t code = 0; code < sizeof s->answered / sizeof *s->answered; code++)
        if (s->answered[code])
            fprintf(f, "hftc_requests_total{status=\"%zu\"} %zu\n", code, s->answered[code]);
    fprintf(f,
            "# HELP hftc_documents_total Documents predicted.\n# TYPE hftc_documents_total counter\n"
            "hftc_documents_total %zu\n"
            "# HELP hftc_predict_batches_total Batches predicted (the prediction requests queued together).\n"
            "# TYPE hftc_predict_batches_total counter\nhftc_predict_batches_total %zu\n"
            "# HELP hftc_predict_seconds_total Seconds spent predicting.\n# TYPE hftc_predict_seconds_total counter\n"
            "hftc_predict_seconds_total %.6f\n"
            "# HELP hftc_model_reloads_total Reloads of the model files (SIGHUP, reload requests), by result.\n"
            "# TYPE hftc_model_reloads_total counter\n"
            "hftc_model_reloads_total{result=\"loaded\"} %zu\nhftc_model_reloads_total{result=\"failed\"} %zu\n"
            "# HELP hftc_model_labels Labels of the model served.\n# TYPE hftc_model_labels gauge\n",
            s->documents, s->batches, s->predict_seconds, loaded, failed);
    if (s->n_models == 1)
        fprintf(f, "hftc_model_labels %zu\n", s->models[0].n_labels);
    else
        for (size_t i = 0; i < s->n_models; i++)
            fprintf(f, "hftc_model_labels{model=\"%s\"} %zu\n", s->models[i].name, s->models[i].n_labels);
    fprintf(f,
            "# HELP hftc_connections_timed_out_total Connections closed for not sending a whole request within "
            "--request-timeout.\n# TYPE hftc_connections_timed_out_total counter\nhftc_connections_timed_out_total "
            "%zu\n# HELP hftc_uptime_seconds Seconds since the server started.\n# TYPE hftc_uptime_seconds gauge\n"
            "hftc_uptime_seconds %.3f\n",
            s->timed_out, serve_now() - s->started);
    pthread_mutex_unlock(&s->lock);
    if (fclose(f) != 0) {
        free(text);
        return serve_error(500, "out of memory");
    }
    return (serve_reply){200, NULL, text};
}

/* GET /models: every model's serve_model_json. */
static serve_reply list_models(server *s)
{
    json_t *models = json_array();
    for (size_t i = 0; models && i < s->n_models; i++)
        if (json_array_append_new(models, serve_model_json(s, &s->models[i])) != 0)
            json_decref(models), models = NULL;
    json_t *body = models ? json_pack("{s:o}", "models", models) : NULL;
    return body ? (serve_reply){200, body} : serve_error(500, "cannot describe the models");
}

/* The reply to a request whose body is in; status 0 when it waits for a batcher or a reload. */
static serve_reply route(server *s, struct MHD_Connection *c, const char *method, const char *url, request *r,
                         const char **allow)
{
    serve_target t;
    serve_refusal no;
    if (!serve_route(method, url, s->n_models > 1, &t, &no)) {
        *allow = no.allow;
        return serve_error(no.status, no.message);
    }
    serve_model *model = t.name ? serve_models_find(s, t.name, t.name_len) : &s->models[0];
    if (!model) { /* the name said back only if it is one: other bytes may not be UTF-8, which JSON cannot carry */
        char message[SERVE_NAME_MAX + 64] = "no model of that name (GET /models lists them)";
        if (serve_model_name_valid(t.name, t.name_len))
            snprintf(message, sizeof message, "no model named \"%.*s\" (GET /models lists them)", (int)t.name_len,
                     t.name);
        return serve_error(404, message);
    }
    json_t *body = NULL;
    switch (t.path) {
    case SERVE_PREDICT:
    case SERVE_MODEL_PREDICT:
        return r->too_large ? serve_error(413, "the request is larger than --max-request-mb")
                            : serve_queue_prediction(s, model, c, r->data, r->len, &r->job);
    case SERVE_MODEL_RELOAD:
        return s->allow_reload ? serve_queue_reload(s, model, c, &r->job)
                               : serve_error(403, "reloading by request is off: start the server with --allow-reload "
                                                  "(SIGHUP reloads every model)");
    case SERVE_HEALTH:
        return (serve_reply){200, json_pack("{s:s}", "status", "ok")};
    case SERVE_METRICS:
        return metrics(s);
    case SERVE_MODELS:
        return list_models(s);
    case SERVE_OPENAPI:
        body = serve_openapi(s->n_models > 1);
        return body ? (serve_reply){200, body} : serve_error(500, "cannot make the document");
    case SERVE_MODEL:
        body = serve_model_json(s, model);
        return body ? (serve_reply){200, body} : serve_error(500, "cannot describe the model");
    case SERVE_INFO:
        pthread_mutex_lock(&s->lock);
        body = json_incref(model->description);
        pthread_mutex_unlock(&s->lock);
        return body ? (serve_reply){200, body} : serve_error(500, "cannot describe the model");
    }
    return serve_error(500, "no such route");
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
    serve_reply out;
    if (r->job) { /* called again: the answer of a batcher or of the main thread, or a wait for it */
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
        r->job->out = (serve_reply){0};
    } else { /* the whole request */
        r->started = serve_now();
        serve_deadlines_received(&s->deadlines, c);
        pthread_mutex_lock(&s->lock);
        bool stopping = s->stopping;
        pthread_mutex_unlock(&s->lock);
        out = stopping        ? serve_error(503, "the server is stopping")
              : r->bad_length ? serve_error(400, "conflicting Content-Length headers")
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
                1e3 * (serve_now() - r->started));
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
            r->job->abandoned = true; /* still a batcher's or the main thread's */
        else
            serve_job_free(r->job);
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
 * neither sends nor takes its answer for that long is closed (a suspended one, waiting for a batcher or a reload, has
 * none). */
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
 * or one whose body was still arriving), every answer closes its connection, each batcher answers its queued
 * predictions and ends, and the reloads already requested are done. The server goes on receiving while a request
 * whose headers arrived is unanswered, at most --request-timeout seconds after the last batcher ended (a body that
 * never ends is closed at its deadline anyway). */
static void stop(server *s)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->changed);
    double until = 0;
    while (!serve_batchers_done(s) || s->in_flight) {
        if (serve_batchers_done(s) && until == 0)
            until = serve_now() + s->request_timeout;
        if (until && serve_now() >= until)
            break;
        struct timespec tick;
        clock_gettime(CLOCK_REALTIME, &tick);
        tick.tv_nsec += TICK_NS;
        tick.tv_sec += tick.tv_nsec / 1000000000L, tick.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->changed, &s->lock, &tick);
        pthread_mutex_unlock(&s->lock);
        serve_reloads_run(s); /* those queued before the signal */
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
    const char *host = "127.0.0.1";
    arg_list models = {0};
    server s = {.in = {.threshold = -1.0f, .prune = 1},
                .max_request_docs = 10000,
                .request_timeout = 10.0f,
                .word_cache_mb = HFTC_WORD_CACHE_DEFAULT_BYTES >> 20,
                .started = serve_now()};
    size_t port = 8080, max_request_mb = 16;
    size_t max_connections = 4096, max_per_address = 64;
    unsigned long long seed = 1;
    const arg_spec specs[] = {
        {"--model", ARG_LIST, &models,
         "model file, or NAME=PATH; again for each of several models (up to 32), each with its name (POST "
         "/models/NAME/predict)"},
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
        {"--allow-reload", ARG_FLAG, &s.allow_reload,
         "POST /models/NAME/reload loads the model's file again (without it: 403; SIGHUP reloads every model)"},
        CLI_MODEL_LOAD_SPECS(s.threads, s.word_cache_mb, seed),
    };
    int rc = args_parse(
        "serve", "--model [NAME=]MODEL [--model NAME=MODEL ...] [--host ADDR] [--port N] [--k K] [--threshold T]",
        specs, sizeof specs / sizeof *specs, argc, argv);
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
    if ((rc = serve_models_parse(&s, models.items, models.n)) || (rc = serve_models_load(&s))) {
        serve_models_free(&s);
        return rc;
    }
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
    bool batching = serve_batchers_start(&s);
    struct MHD_Daemon *d = batching ? start(&s, host, (unsigned)port, max_connections, max_per_address) : NULL;
    /* between signals, every tick: the reload requests, then the deadlines */
    for (int got = 0; d && got != SIGINT && got != SIGTERM;) {
        got = sigtimedwait(&wanted, NULL, &(struct timespec){0, TICK_NS});
        if (got == SIGHUP)
            for (size_t i = 0; i < s.n_models; i++)
                serve_reply_free(serve_reload(&s, &s.models[i], "SIGHUP"));
        else if (got == SIGINT || got == SIGTERM)
            fprintf(stderr, "hftc serve: %s: stopping\n", got == SIGINT ? "SIGINT" : "SIGTERM");
        serve_reloads_run(&s);
        reap(&s);
    }
    stop(&s);
    serve_batchers_join(&s);
    if (d)
        MHD_stop_daemon(d);
    serve_deadlines_destroy(&s.deadlines);
    serve_models_free(&s);
    pthread_cond_destroy(&s.changed);
    pthread_mutex_destroy(&s.lock);
    return d ? 0 : 1;
}
