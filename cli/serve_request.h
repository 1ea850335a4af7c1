/* What a request to hftc serve asks for, read from its method, path and body alone (no connection, no server):
 * serve.c answers with it, and fuzz/fuzz_serve.c feeds it whatever bytes a client could send. */
#ifndef HFTC_CLI_SERVE_REQUEST_H
#define HFTC_CLI_SERVE_REQUEST_H

#include "hftc.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { SERVE_PREDICT, SERVE_HEALTH, SERVE_INFO, SERVE_METRICS } serve_path;

/* Why a request is refused: its HTTP status, its message and, for 405, the methods of the Allow header. */
typedef struct {
    unsigned status;
    const char *allow;
    char message[300];
} serve_refusal;

/* The path that method and url ask for; false, with *no set (404, 405), when there is none. */
bool serve_route(const char *method, const char *url, serve_path *path, serve_refusal *no);

/* A prediction request (POST /predict). */
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
