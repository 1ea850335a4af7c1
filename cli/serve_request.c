/* Reading hftc serve's requests (serve_request.h): the route of a method and path, and a prediction request's
 * body. Nothing here answers or queues: what a request asks is decided before the server does anything. */
#include "serve_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool refuse(serve_refusal *no, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool refuse(serve_refusal *no, unsigned status, const char *fmt, ...)
{
    no->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(no->message, sizeof no->message, fmt, ap);
    va_end(ap);
    return false;
}

bool serve_route(const char *method, const char *url, serve_path *path, serve_refusal *no)
{
    *no = (serve_refusal){0};
    if (!strcmp(url, "/predict"))
        *path = SERVE_PREDICT;
    else if (!strcmp(url, "/health"))
        *path = SERVE_HEALTH;
    else if (!strcmp(url, "/info"))
        *path = SERVE_INFO;
    else if (!strcmp(url, "/metrics"))
        *path = SERVE_METRICS;
    else
        return refuse(no, 404, "no such path: POST /predict, GET /health, GET /info, GET /metrics");
    if (*path == SERVE_PREDICT && strcmp(method, "POST")) {
        no->allow = "POST";
        return refuse(no, 405, "use POST");
    }
    if (*path != SERVE_PREDICT && strcmp(method, "GET") && strcmp(method, "HEAD")) {
        no->allow = "GET, HEAD";
        return refuse(no, 405, "use GET");
    }
    return true;
}

/* Reads the optional fields that override the server's defaults; NULL, or why the request is bad. */
static const char *request_options(const json_t *j, hftc_input_options *in, size_t *k)
{
    const json_t *v;
    if ((v = json_object_get(j, "k"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return "\"k\" must be a whole number >= 0";
        *k = (size_t)json_integer_value(v);
    }
    if ((v = json_object_get(j, "threshold"))) {
        if (!json_is_number(v) || json_number_value(v) < 0.0 || json_number_value(v) > 1.0)
            return "\"threshold\" must be a number in [0, 1]";
        in->threshold = (float)json_number_value(v);
    }
    if ((v = json_object_get(j, "explain"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100)
            return "\"explain\" must be a whole number from 0 to 100";
        in->explain = (size_t)json_integer_value(v);
    }
    if ((v = json_object_get(j, "scoring"))) {
        if (!json_is_string(v))
            return "\"scoring\" must be a string";
        in->scoring = json_string_value(v);
    }
    return NULL;
}

bool serve_parse_prediction(const char *data, size_t len, size_t max_docs, serve_prediction *p, serve_refusal *no)
{
    *no = (serve_refusal){0};
    p->texts = NULL;
    json_error_t err;
    p->body = json_loadb(len ? data : "", len, 0, &err);
    if (!p->body)
        return refuse(no, 400, "the body is not JSON: %s (line %d, column %d)", err.text, err.line, err.column);
    const json_t *texts = json_object_get(p->body, "texts"), *text = json_object_get(p->body, "text");
    const char *bad = !json_is_object(p->body)            ? "the body must be a JSON object"
                      : (texts != NULL) == (text != NULL) ? "give \"texts\" (a list of strings) or \"text\" (a string)"
                      : texts && !json_is_array(texts)    ? "\"texts\" must be a list of strings"
                      : text && !json_is_string(text)     ? "\"text\" must be a string"
                                                          : NULL;
    p->n = texts ? json_array_size(texts) : 1;
    if (!bad && p->n > max_docs) {
        serve_prediction_free(p);
        return refuse(no, 413, "the request has more documents than --max-request-docs");
    }
    if (!bad && !(p->texts = malloc((p->n ? p->n : 1) * sizeof *p->texts))) {
        serve_prediction_free(p);
        return refuse(no, 500, "out of memory");
    }
    for (size_t i = 0; !bad && i < p->n; i++) {
        const json_t *t = texts ? json_array_get(texts, i) : text;
        p->texts[i] = json_string_value(t);
        if (!p->texts[i] || strlen(p->texts[i]) != json_string_length(t))
            bad = "every text must be a string without NUL characters";
    }
    if (!bad)
        bad = request_options(p->body, &p->in, &p->k);
    if (bad) {
        serve_prediction_free(p);
        return refuse(no, 400, "%s", bad);
    }
    return true;
}

void serve_prediction_free(serve_prediction *p)
{
    json_decref(p->body);
    free(p->texts);
    p->body = NULL, p->texts = NULL;
}
