/* The bufferevent of a mesh connection (SPEC 5): the socket's own, or
 * with --ws-tls TLS over it (common/layers.c, as the device port after
 * IDENTIFY). TLS starts at accept: the handshake comes before any HTTP
 * byte. The HTTP reader, clients and services write to and read from
 * the top; what is still below it, and the socket itself, are found here
 * and nowhere else. */
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "ws.h"
#include "layers.h"

static int sock_layered(struct bufferevent *bev)
{
    return bufferevent_get_underlying(bev) != NULL;
}

/* The socket's output went out by its own write event: the top's write
 * callback, which saw the output still below it, runs again (in a pass
 * of its own: this is called inside the write). */
static void sock_drained(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    if (info->n_deleted && evbuffer_get_length(buf) == 0)
        bufferevent_trigger(arg, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

struct bufferevent *ws_sock_new(struct broker *b, int fd, size_t read_max)
{
    struct bufferevent *sock = bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!sock) {
        evutil_closesocket(fd);
        return NULL;
    }
    net_nodelay(fd);
    if (!b->conf.ws_tls) {
        bufferevent_setwatermark(sock, EV_READ, 0, read_max);
        return sock;
    }
    struct bufferevent *top = layers_stack(sock, b->proc->tls, NULL, 0, read_max, 0);
    if (!top)
        return NULL;  /* the socket went with it */
    bufferevent_setwatermark(top, EV_READ, 0, read_max);
    /* Draining the top's input lets TLS read on at once, inside the reader
     * that drains it: deferred, that read comes in a pass of its own. */
    evbuffer_defer_callbacks(bufferevent_get_input(top), b->base);
    evbuffer_add_cb(bufferevent_get_output(sock), sock_drained, top);
    return top;
}

size_t ws_sock_queued(struct bufferevent *bev)
{
    return layers_queued(bev);
}

int ws_sock_flush(struct session *s, struct bufferevent *bev)
{
    /* Under TLS, a flushed session's frames are held between flushes and
     * make one record a pass (layers_push), as the device port's. */
    if (sock_layered(bev))
        layers_push(bev);
    int r = output_flush_session(s, layers_bottom(bev));
    /* r < 0: s closed, bev freed */
    return r == 0 && sock_layered(bev) && layers_queued(bev) > 0 ? 1 : r;
}

void ws_sock_shut(struct bufferevent *bev)
{
    struct bufferevent *sock = layers_bottom(bev);
    if (sock != bev) {
        /* TLS's close_notify first, so that the peer sees an end and not a
         * cut; it goes out now, our FIN after it (else the socket's write
         * event sends it, and the peer's close ends the connection). */
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        if (ssl && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) && SSL_shutdown(ssl) < 0)
            ERR_clear_error();
        if (output_write_bev(sock) > 0)
            return;
    }
    shutdown(bufferevent_getfd(sock), SHUT_WR);
}

void ws_sock_refill(struct bufferevent *bev)
{
    if (bev && sock_layered(bev))
        layers_refill(bev);
}

void ws_sock_event(struct bufferevent *bev, short what, const char *who, const void *id)
{
    char why[160];
    if (sock_layered(bev) && (what & BEV_EVENT_ERROR))
        log_debug("%s %p: %s", who, id, tls_error(bev, why, sizeof(why)));
}

int ws_sock_clear(struct bufferevent *bev)
{
    return !sock_layered(bev);
}

void ws_sock_free(struct bufferevent *bev)
{
    if (sock_layered(bev))
        evbuffer_remove_cb(bufferevent_get_output(layers_bottom(bev)), sock_drained, bev);
    /* Safe inside the bufferevent's own callbacks: libevent defers. With
     * TLS, the layer frees the socket's bufferevent under it. */
    bufferevent_free(bev);
}
