/* Writing at the end of the loop pass. A transport that adds frames to a
 * session's output marks the session (output_mark), which puts it on the
 * loop's flush list; once the pass's other callbacks are done, each
 * session on the list is flushed through its transport (for TCP, one
 * writev per connection: tcp.c says why). */
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>

#include "broker.h"
#include "xmalloc.h"

void output_mark(struct session *s)
{
    struct broker *b = s->b;
    if (s->in_flush)
        return;
    if (b->nflush == b->capflush) {
        b->capflush = b->capflush ? 2 * b->capflush : 64;
        b->flush = xreallocarray(b->flush, b->capflush, sizeof(*b->flush));
    }
    b->flush[b->nflush++] = s;
    s->in_flush = 1;
    if (b->nflush == 1)
        event_active(b->flush_ev, EV_TIMEOUT, 1);
}

static void output_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd; (void)what;
    /* A flush may write again, and queue the session anew. */
    while (b->nflush > 0) {
        struct session *s = b->flush[--b->nflush];
        s->in_flush = 0;
        if (s->state != CS_DEAD)
            s->ops->flush(s);
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

size_t output_write_bev(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    /* A bufferevent keeps the front of its output frozen so that only it
     * drains it; this is the write it would have made, done earlier. An
     * error (a reset peer) is left for the bufferevent to find. */
    evbuffer_unfreeze(out, 1);
    /* One writev takes at most 128 chains (each large frame is a chain). */
    while (evbuffer_get_length(out) > 0 && evbuffer_write(out, bufferevent_getfd(bev)) > 0)
        ;
    evbuffer_freeze(out, 1);
    size_t left = evbuffer_get_length(out);
    if (left == 0)
        event_del(&bev->ev_write);
    return left;
}

int output_flush_session(struct session *s, struct bufferevent *bev)
{
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        return 1;
    size_t left = output_write_bev(bev);
    if (left > s->b->conf.max_output_bytes) {
        /* A client that does not read: what it had not FINed stays in
         * Redis (its cursors start at its oldest pending entry). */
        log_warn("client %lld: %zu bytes of output waiting, over max-output-bytes: closing",
                 (long long)s->client_id, left);
        s->b->stats.output_overflows++;
        session_close(s);
        return -1;
    }
    return left == 0 ? 0 : 1;
}
