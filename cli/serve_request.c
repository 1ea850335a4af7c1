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

/* Every route, in the order the OpenAPI document and the 404 message list them. Every route may also answer 503
 * while the server is stopping (serve_openapi.c adds it). */
const serve_route_spec serve_routes[] = {
    {SERVE_PREDICT,
     "POST",
     "/predict",
     true,
     "Predict with the model (served when the server holds one model)",
     "PredictRequest",
     {{200, "Predictions", "the predictions, in the order of the texts"},
      {400, "Error", "the body is not a prediction request the model can answer"},
      {413, "Error", "the body is larger than --max-request-mb or has more texts than --max-request-docs"},
      {500, "Error", "the prediction failed"}}},
    {SERVE_HEALTH, "GET", "/health", false, "Whether the server answers", NULL, {{200, "Health", "it does"}}},
    {SERVE_INFO,
     "GET",
     "/info",
     true,
     "The model's description, as hftc info --json prints it (served when the server holds one model)",
     NULL,
     {{200, "Description", "the description"}, {500, "Error", "the model cannot be described"}}},
    {SERVE_METRICS,
     "GET",
     "/metrics",
     false,
     "Prometheus counters",
     NULL,
     {{200, "Metrics", "the counters in Prometheus' text format"}}},
    {SERVE_MODELS,
     "GET",
     "/models",
     false,
     "Every model served, by name, with its description and reloads",
     NULL,
     {{200, "ModelList", "the models"}, {500, "Error", "the models cannot be described"}}},
    {SERVE_MODEL,
     "GET",
     "/models/{name}",
     false,
     "One model: its description and reloads",
     NULL,
     {{200, "Model", "the model"},
      {404, "Error", "no model of that name is served"},
      {500, "Error", "the model cannot be described"}}},
    {SERVE_MODEL_PREDICT,
     "POST",
     "/models/{name}/predict",
     false,
     "Predict with the model of that name",
     "PredictRequest",
     {{200, "Predictions", "the predictions, in the order of the texts"},
      {400, "Error", "the body is not a prediction request the model can answer"},
      {404, "Error", "no model of that name is served"},
      {413, "Error", "the body is larger than --max-request-mb or has more texts than --max-request-docs"},
      {500, "Error", "the prediction failed"}}},
    {SERVE_MODEL_RELOAD,
     "POST",
     "/models/{name}/reload",
     false,
     "Load the model's file again and serve it from the next batch on (what SIGHUP does for every model)",
     NULL,
     {{200, "Reloaded", "the model file is loaded and handed over"},
      {403, "Error", "the server was started without --allow-reload"},
      {404, "Error", "no model of that name is served"},
      {500, "Error", "the file cannot be loaded: the model loaded before goes on serving"}}},
    {SERVE_OPENAPI,
     "GET",
     "/openapi.json",
     false,
     "This document: the routes of this server, their requests and replies",
     NULL,
     {{200, "OpenAPI", "the OpenAPI 3 document"}, {500, "Error", "the document cannot be made"}}},
};
const size_t serve_n_routes = sizeof serve_routes / sizeof *serve_routes;

/* Whether url matches pattern segment by segment, "{name}" any one non-empty segment (whose place and length go to
 * *t). */
static bool matches(const char *pattern, const char *url, serve_target *t)
{
    while (*pattern && *url) {
        if (!strncmp(pattern, "{name}", 6)) {
            size_t len = strcspn(url, "/");
            if (len == 0)
                return false;
            t->name = url, t->name_len = len;
            pattern += 6, url += len;
        } else if (*pattern++ != *url++) {
            return false;
        }
    }
    return !*pattern && !*url;
}

bool serve_route(const char *method, const char *url, bool several, serve_target *t, serve_refusal *no)
{
    *no = (serve_refusal){0};
    *t = (serve_target){0};
    const serve_route_spec *found = NULL;
    for (size_t i = 0; !found && i < serve_n_routes; i++)
        if (!(several && serve_routes[i].one_model) && matches(serve_routes[i].pattern, url, t))
            found = &serve_routes[i];
    if (!found) {
        *t = (serve_target){0};
        size_t at = (size_t)snprintf(no->message, sizeof no->message, "no such path:");
        const char *separator = " ";
        for (size_t i = 0; i < serve_n_routes && at < sizeof no->message; i++)
            if (!(several && serve_routes[i].one_model)) {
                at += (size_t)snprintf(no->message + at, sizeof no->message - at, "%s%s %s", separator,
                                       serve_routes[i].method, serve_routes[i].pattern);
                separator = ", ";
            }
        no->status = 404;
        return false;
    }
    t->path = found->path;
    bool get = !strcmp(found->method, "GET");
    if (strcmp(method, found->method) && !(get && !strcmp(method, "HEAD"))) {
        no->allow = get ? "GET, HEAD" : found->method;
        return refuse(no, 405, "use %s", found->method);
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
