/* Request deadlines for hftc serve: a connection must deliver a whole request (headers and body) within its deadline,
 * counted from its opening or from the end of its previous answer, or it is closed. libmicrohttpd's own timeout is
 * one of inactivity, which a client sending a byte now and then (slowloris) never reaches; the server's main thread
 * calls serve_deadlines_reap every fraction of a second. */
#ifndef HFTC_CLI_SERVE_DEADLINES_H
#define HFTC_CLI_SERVE_DEADLINES_H

#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>

typedef struct serve_client serve_client;

typedef struct {
    double seconds;             /* the time a request has to arrive */
    pthread_mutex_t lock;       /* the list */
    serve_client *first, *last; /* connections receiving a request, earliest deadline first */
} serve_deadlines;

void serve_deadlines_init(serve_deadlines *d, double seconds);
void serve_deadlines_destroy(serve_deadlines *d);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls: the serve_deadlines): a connection opened gets its
 * deadline, a closed one is forgotten. */
void serve_deadlines_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                            enum MHD_ConnectionNotificationCode code);

/* The connection's request has arrived whole: no deadline until its answer is sent. */
void serve_deadlines_received(serve_deadlines *d, struct MHD_Connection *c);

/* The connection's answer is sent (or its request failed): the next request's deadline starts. */
void serve_deadlines_restart(serve_deadlines *d, struct MHD_Connection *c);

/* Shuts down the connections whose deadline has passed (libmicrohttpd then closes them); returns how many. */
size_t serve_deadlines_reap(serve_deadlines *d);

#endif
