/* Request deadlines for hftc serve (serve_deadlines.h). Every deadline is now + the same seconds, so appending keeps
 * the list in deadline order and a reaping round looks at the expired connections and one more. A connection is
 * closed by shutting down its socket: libmicrohttpd, which has no call to close a connection from another thread,
 * sees the end of the stream and closes it itself. The socket stays this connection's until the CLOSED notification,
 * which takes the lock first, so the reaper never shuts down a socket number that was reused. */
#include "serve_deadlines.h"

#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

struct serve_client {
    serve_client *prev, *next;
    int fd;
    bool listed; /* receiving a request: in the list */
    double deadline;
};

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void unlink_client(serve_deadlines *d, serve_client *c)
{
    if (!c->listed)
        return;
    *(c->prev ? &c->prev->next : &d->first) = c->next;
    *(c->next ? &c->next->prev : &d->last) = c->prev;
    c->prev = c->next = NULL;
    c->listed = false;
}

static void append_client(serve_deadlines *d, serve_client *c)
{
    unlink_client(d, c);
    c->deadline = now_seconds() + d->seconds;
    c->prev = d->last;
    *(d->last ? &d->last->next : &d->first) = c;
    d->last = c;
    c->listed = true;
}

void serve_deadlines_init(serve_deadlines *d, double seconds)
{
    *d = (serve_deadlines){.seconds = seconds};
    pthread_mutex_init(&d->lock, NULL);
}

void serve_deadlines_destroy(serve_deadlines *d) { pthread_mutex_destroy(&d->lock); }

void serve_deadlines_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                            enum MHD_ConnectionNotificationCode code)
{
    serve_deadlines *d = cls;
    serve_client *client = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        client = info ? calloc(1, sizeof *client) : NULL; /* none: only libmicrohttpd's inactivity timeout */
        if (client) {
            client->fd = info->connect_fd;
            pthread_mutex_lock(&d->lock);
            append_client(d, client);
            pthread_mutex_unlock(&d->lock);
        }
        *socket_context = client;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && client) {
        pthread_mutex_lock(&d->lock);
        unlink_client(d, client);
        pthread_mutex_unlock(&d->lock);
        free(client);
        *socket_context = NULL;
    }
}

/* Gives the connection a fresh deadline (running) or none. */
static void set_deadline(serve_deadlines *d, struct MHD_Connection *c, bool running)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    serve_client *client = info ? info->socket_context : NULL;
    if (client) {
        pthread_mutex_lock(&d->lock);
        if (running)
            append_client(d, client);
        else
            unlink_client(d, client);
        pthread_mutex_unlock(&d->lock);
    }
}

void serve_deadlines_received(serve_deadlines *d, struct MHD_Connection *c) { set_deadline(d, c, false); }

void serve_deadlines_restart(serve_deadlines *d, struct MHD_Connection *c) { set_deadline(d, c, true); }

size_t serve_deadlines_reap(serve_deadlines *d)
{
    size_t reaped = 0;
    double now = now_seconds();
    pthread_mutex_lock(&d->lock);
    while (d->first && d->first->deadline <= now) {
        serve_client *client = d->first;
        shutdown(client->fd, SHUT_RDWR);
        unlink_client(d, client);
        reaped++;
    }
    pthread_mutex_unlock(&d->lock);
    return reaped;
}
