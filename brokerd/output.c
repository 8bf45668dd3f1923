/* Writing to device connections. Frames are added to a connection's
 * output through conn_writer(), which also puts the connection on the
 * loop's flush list; once the loop pass's other callbacks are done, the
 * list is written out with one writev per connection.
 *
 * Why not leave it to the bufferevent: it writes only when epoll says the
 * socket is writable, so every write cost an epoll_ctl to watch for
 * EPOLLOUT, a pass through epoll_wait, and another epoll_ctl to stop
 * watching (docs/PERFORMANCE.md). Written here, the watch is added and
 * taken back within the same pass, which libevent's changelist turns into
 * no system call at all. When the socket does not take everything, the
 * bufferevent's own write event, still in place, writes the rest. */
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h>

#include "broker.h"
#include "xmalloc.h"

struct evbuffer *conn_writer(struct conn *c)
{
    struct broker *b = c->b;
    /* After shutdown(SHUT_WR) a write would fail and reset the connection. */
    if (!c->bev || c->state == CS_LINGER)
        return NULL;
    if (!c->in_flush) {
        if (b->nflush == b->capflush) {
            b->capflush = b->capflush ? 2 * b->capflush : 64;
            b->flush = xreallocarray(b->flush, b->capflush, sizeof(*b->flush));
        }
        b->flush[b->nflush++] = c;
        c->in_flush = 1;
        if (b->nflush == 1)
            event_active(b->flush_ev, EV_TIMEOUT, 1);
    }
    return bufferevent_get_output(c->bev);
}

static void conn_flush(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) == 0)
        return;
    /* A bufferevent keeps the front of its output frozen so that only it
     * drains it; this is the write it would have made, done earlier. An
     * error (a reset peer) is left for the bufferevent to find. */
    evbuffer_unfreeze(out, 1);
    /* One writev takes at most 128 chains (each large frame is a chain). */
    while (evbuffer_get_length(out) > 0 && evbuffer_write(out, bufferevent_getfd(c->bev)) > 0)
        ;
    evbuffer_freeze(out, 1);
    if (evbuffer_get_length(out) > 0)
        return;
    /* All out: take back the write watch asked for in this pass. The
     * drained output then gets what the bufferevent's write callback
     * would have done. */
    event_del(&c->bev->ev_write);
    conn_drained(c);
}

static void output_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd; (void)what;
    /* conn_drained may write again, and queue the connection anew. */
    while (b->nflush > 0) {
        struct conn *c = b->flush[--b->nflush];
        c->in_flush = 0;
        if (c->state != CS_DEAD && c->bev)
            conn_flush(c);
    }
}

int output_init(struct broker *b)
{
    b->flush_ev = event_new(b->base, -1, 0, output_flush_cb, b);
    return b->flush_ev ? 0 : -1;
}

void output_free(struct broker *b)
{
    while (b->nflush > 0)
        b->flush[--b->nflush]->in_flush = 0;
    free(b->flush);
    b->flush = NULL;
    b->capflush = 0;
    if (b->flush_ev)
        event_free(b->flush_ev);
    b->flush_ev = NULL;
}
