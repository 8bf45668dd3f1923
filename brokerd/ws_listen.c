/* The mesh port of a loop (SPEC 5): its listener (SO_REUSEPORT with the
 * process's other loops, as the TCP port), accepting once Redis is ready,
 * and its connections' teardown. A connection's bufferevent (TLS over
 * the socket with --ws-tls) is made in ws_sock.c. */
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ws.h"
#include "xmalloc.h"

static void ws_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                         int salen, void *arg)
{
    struct broker *b = arg;
    struct ws_loop *w = b->ws;
    (void)l; (void)sa; (void)salen;
    listener_accepted(&w->listener);
    uint64_t max_http = (b->conf.http.max_connections + (uint64_t)b->proc->n - 1) /
                        (uint64_t)b->proc->n;
    if (b->stopping || w->nhttp >= max_http) {
        unsigned quiet;
        if (!b->stopping && ratelog_due(&w->listener.log, &quiet))
            log_warn("%s: %u HTTP connections waiting, the most allowed: closing new ones "
                     "(%u more not logged)", w->listener.name, w->nhttp, quiet);
        evutil_closesocket(fd);
        return;
    }
    ws_http_accept(b, fd);
}

int ws_loop_setup(struct broker *b, const struct cfg_addr *addr, enum net_share share)
{
    struct ws_loop *w = xcalloc(1, sizeof(*w));
    b->ws = w;
    LIST_INIT(&w->https);
    LIST_INIT(&w->services);
    if (!addr)
        return 0;  /* no mesh port */
    return loop_listen(b, &w->listener, addr, share, "ws", w->bound, sizeof(w->bound),
                       ws_on_accept);
}

void ws_loop_want(struct broker *b, int on)
{
    if (b->ws && b->ws->listener.lev)
        listener_want(&b->ws->listener, on);
}

/* Stops accepting and ends the HTTP connections; services are asked to
 * close (closing: once they did) or closed now. */
static void ws_loop_end(struct broker *b, int now)
{
    struct ws_loop *w = b->ws;
    listener_free(&w->listener, 1);
    while (!LIST_EMPTY(&w->https))
        ws_http_close(LIST_FIRST(&w->https));
    if (now)
        ws_service_free_all(b);
    else
        ws_service_stop_all(b);
}

void ws_loop_stop(struct broker *b)
{
    if (b->ws)
        ws_loop_end(b, 0);
}

void ws_loop_free(struct broker *b)
{
    struct ws_loop *w = b->ws;
    if (!w)
        return;
    ws_loop_end(b, 1);
    if (w->enc)
        wslay_frame_context_free(w->enc);
    if (w->dec)
        wslay_frame_context_free(w->dec);
    free(w);
    b->ws = NULL;
}
