#include "http_server.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "log.h"
#include "xmalloc.h"

/* One connection: evhttp reads and writes through a pass-through filter
 * bufferevent we make for it (evhttp_set_bevcb), because freeing that
 * filter is the one place libevent 2.1 tells us a server connection ended
 * (its free_context callback); the deadline timer hangs off it. */
struct http_conn {
    struct http_server *s;        /* NULL once the server is gone */
    struct bufferevent *bev;
    struct event *deadline_ev;
    struct event *flush_ev;
    struct http_conn *prev, *next;
};

static void conn_unlink(struct http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* free_context of the filter: the connection is over. */
static void conn_free(void *arg)
{
    struct http_conn *c = arg;
    struct http_server *s = c->s;
    if (s) {
        conn_unlink(c);
        event_free(c->deadline_ev);
        event_free(c->flush_ev);
        s->nconns--;
        if (s->nconns < s->max_conns)
            listener_full(&s->listener, 0);
    }
    free(c);
}

static void conn_arm(struct http_conn *c)
{
    evtimer_add(c->deadline_ev, &c->s->deadline);
}

/* A filter passes on what is written to it only while EV_WRITE is on, and
 * turning it on passes nothing (libevent 2.1): evhttp writes its reply
 * first and turns EV_WRITE on after, so the reply would wait for some
 * later event. This pass, run once evhttp is done, sends it. */
static void conn_on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)fd; (void)what;
    bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
}

/* A reply is being written: the request came in whole, and the next one
 * gets a full deadline from now. */
static void conn_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct http_conn *c = arg;
    (void)buf;
    if (!info->n_added)
        return;
    conn_arm(c);
    event_active(c->flush_ev, EV_TIMEOUT, 1);
}

static void conn_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    bufferevent_event_cb evcb = NULL;
    (void)fd; (void)what;
    bufferevent_getcb(c->bev, NULL, NULL, &evcb, NULL);
    if (!evcb)
        return;  /* evhttp has let go of it already; conn_free is coming */
    if (!(bufferevent_get_enabled(c->bev) & EV_READ)) {
        /* evhttp reads nothing while it handles a request or writes its
         * reply: the request is in. The reply re-arms; this is a spare. */
        conn_arm(c);
        return;
    }
    /* As a read timeout: evhttp closes without a reply, and frees the
     * connection (and c with it). */
    bufferevent_trigger_event(c->bev, BEV_EVENT_TIMEOUT | BEV_EVENT_READING, 0);
}

/* What the filter passes on goes to the kernel at once. evhttp shuts the
 * socket for writing as soon as the filter has passed on a reply that ends
 * the connection (Connection: close, HTTP/1.0), before the socket's own
 * write event would come; the replies are small, so one write takes them. */
static void sock_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct bufferevent *sock = arg;
    if (info->n_added)
        evbuffer_write(buf, bufferevent_getfd(sock));
}

/* evhttp_set_bevcb: called once per accepted connection, before evhttp
 * sets the fd. */
static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
    struct http_server *s = arg;
    struct bufferevent *sock = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!sock)
        return NULL;
    struct http_conn *c = xcalloc(1, sizeof(*c));
    c->deadline_ev = evtimer_new(base, conn_on_deadline, c);
    c->flush_ev = event_new(base, -1, 0, conn_on_flush, c);
    if (c->deadline_ev && c->flush_ev)
        c->bev = bufferevent_filter_new(sock, NULL, NULL, BEV_OPT_CLOSE_ON_FREE, conn_free, c);
    if (!c->bev) {
        if (c->deadline_ev)
            event_free(c->deadline_ev);
        if (c->flush_ev)
            event_free(c->flush_ev);
        free(c);
        bufferevent_free(sock);
        return NULL;  /* evhttp makes its own, unguarded: out of memory anyway */
    }
    c->s = s;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    evbuffer_add_cb(bufferevent_get_output(c->bev), conn_on_output, c);
    evbuffer_add_cb(bufferevent_get_output(sock), sock_on_output, sock);
    conn_arm(c);
    listener_accepted(&s->listener);
    if (++s->nconns >= s->max_conns)
        listener_full(&s->listener, 1);
    return c->bev;
}

struct http_server *http_server_new(struct event_base *base, const char *what,
                                    const struct cfg_addr *addr, enum net_share share,
                                    const struct http_limits *lim, int nshare, char *bound,
                                    size_t cap)
{
    evutil_socket_t fd = net_listen(addr, share, bound, cap);
    if (fd < 0)
        return NULL;
    struct http_server *s = xcalloc(1, sizeof(*s));
    char name[64];
    snprintf(name, sizeof(name), "%s %s", what, bound);
    s->base = base;
    s->deadline.tv_sec = (time_t)lim->request_timeout;
    s->max_conns = (unsigned)((lim->max_connections + (uint64_t)nshare - 1) / (uint64_t)nshare);
    if (listener_init(&s->listener, base, fd, name, NULL, NULL) < 0) {
        free(s);
        return NULL;
    }
    s->http = evhttp_new(base);
    if (!s->http || !evhttp_bind_listener(s->http, s->listener.lev)) {
        log_error("cannot serve HTTP on %s", bound);
        if (s->http)
            evhttp_free(s->http);
        listener_free(&s->listener, 1);
        free(s);
        return NULL;
    }
    evhttp_set_bevcb(s->http, conn_new, s);
    evhttp_set_max_headers_size(s->http, (ev_ssize_t)lim->max_header_size);
    /* Still useful past the deadline's reach: a reply the peer never reads. */
    evhttp_set_timeout(s->http, 30);
    listener_want(&s->listener, 1);
    return s;
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    /* The filters are freed later, when libevent finalizes them: from here
     * on they must not touch s. */
    for (struct http_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        event_free(c->deadline_ev);
        event_free(c->flush_ev);
        c->s = NULL;
    }
    listener_free(&s->listener, 0);
    evhttp_free(s->http);  /* frees the evconnlistener too */
    free(s);
}
