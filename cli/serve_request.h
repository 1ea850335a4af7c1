/* What a request to hftc serve asks for, read from its method, path and body alone (no connection, no server):
 * serve.c answers with it, serve_openapi.c describes the same routes, and fuzz/fuzz_serve.c feeds it whatever
 * bytes a client could send. */
#ifndef HFTC_CLI_SERVE_REQUEST_H
#define HFTC_CLI_SERVE_REQUEST_H

#include "hftc.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    SERVE_PREDICT,
    SERVE_HEALTH,
    SERVE_INFO,
    SERVE_METRICS,
    SERVE_MODELS,
    SERVE_MODEL,
    SERVE_MODEL_PREDICT,
    SERVE_MODEL_RELOAD,
    SERVE_OPENAPI
} serve_path;

enum { SERVE_ROUTE_REPLIES = 7 };

/* One reply a route may give: its status, the name of its schema in the OpenAPI document's components and a
 * line that says when. */
typedef struct {
    unsigned status;
    const char *schema;
    const char *when;
} serve_reply_spec;

/* A route: the router matches requests against it and serve_openapi.c describes it, so neither can list a route
 * the other lacks. A pattern's "{name}" is one path segment, a model's name. */
typedef struct {
    serve_path path;
    const char *method; /* "GET" (HEAD too) or "POST" */
    const char *pattern;
    bool one_model;             /* served only when the server holds one model (the routes from before several) */
    const char *summary;        /* the OpenAPI operation's */
    const char *request_schema; /* the body's, NULL for none */
    serve_reply_spec replies[SERVE_ROUTE_REPLIES]; /* until a status 0 */
} serve_route_spec;

extern const serve_route_spec serve_routes[];
extern const size_t serve_n_routes;

/* Why a request is refused: its HTTP status, its message and, for 405, the methods of the Allow header. */
typedef struct {
    unsigned status;
    const char *allow;
    char message[300];
} serve_refusal;

/* What a request asks for: its route and, where its pattern has one, the model's name (name_len bytes of the url,
 * not NUL-terminated). */
typedef struct {
    serve_path path;
    const char *name;
    size_t name_len;
} serve_target;

/* The route that method and url ask for on a server of one model or (several) more; false, with *no set (404,
 * 405), when there is none. */
bool serve_route(const char *method, const char *url, bool several, serve_target *t, serve_refusal *no);

/* A prediction request (POST /predict, POST /models/{name}/predict). */
typedef struct {
    json_t *body; /* the parsed body: it owns the texts */
    const char **texts;
    size_t n, k;
    hftc_input_options in;
} serve_prediction;

/* Parses a prediction request's body (len bytes, not NUL-terminated) into p, whose k and in hold the server's
 * defaults beforehand (the body's "k", "threshold", "explain" and "scoring" override them); false, with *no set
 * (400, 413 past max_docs documents, 500 out of memory) and p freed, when it is refused. */
bool serve_parse_prediction(const char *data, size_t len, size_t max_docs, serve_prediction *p, serve_refusal *no);
void serve_prediction_free(serve_prediction *p);

#endif
