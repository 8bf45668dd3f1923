/* One client connection, whatever its protocol: connect, hand the input to
 * the adapter as one flat block, and turn what the adapter found (ready,
 * a message, an answer) into the worker's counts and latencies.
 * Life: PC_IDLE -> PC_CONNECTING -> PC_OPENING (handshake, subscription)
 * -> PC_READY -> PC_DEAD. */
#include <errno.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "layers.h"
#include "pushbench.h"

void pb_conn_close(struct pb_conn *c)
{
    if (c->read_ev != NULL) {
        event_free(c->read_ev);
        c->read_ev = NULL;
    }
    if (c->top != NULL || c->bev != NULL) {
        bufferevent_free(c->top ? c->top : c->bev);   /* closes the socket */
        c->bev = c->top = NULL;
    }
    c->state = PC_DEAD;
}

/* Closes c and tells the worker (failed during set-up, or lost). */
static void conn_gone(struct pb_conn *c, const char *why)
{
    int was_ready = c->state == PC_READY;

    if (c->state == PC_DEAD)
        return;
    log_debug("client %lld: %s", (long long)c->client_id, why);
    pb_conn_close(c);
    worker_conn_gone(c->w, was_ready);
}

/* Moves what was gathered for c into its output buffer (with layers,
 * the top's: TLS makes one record of each add). */
static void gather_to_output(struct pb_conn *c)
{
    struct pb_worker *w = c->w;

    if (w->gather_len > 0 && c->bev != NULL)
        evbuffer_add(bufferevent_get_output(c->top ? c->top : c->bev), w->gather, w->gather_len);
    w->gather_len = 0;
}

/* Sends what was gathered while c's input was parsed with one send();
 * what the socket does not take goes to the output buffer, which the
 * bufferevent writes when the socket is writable again. With layers, it
 * goes through them in one piece: the replies to one read make one TLS
 * record, as they make one send in clear. */
static void gather_flush(struct pb_conn *c)
{
    struct pb_worker *w = c->w;
    ssize_t n = 0;

    w->gather_conn = NULL;
    if (w->gather_len == 0 || c->bev == NULL) {
        w->gather_len = 0;
        return;
    }
    if (c->top != NULL) {
        gather_to_output(c);
        return;
    }
    n = send(bufferevent_getfd(c->bev), w->gather, w->gather_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0)
        n = 0;   /* EAGAIN, or an error the read side reports */
    if ((size_t)n < w->gather_len)
        evbuffer_add(bufferevent_get_output(c->bev), w->gather + n, w->gather_len - (size_t)n);
    w->gather_len = 0;
}

/* Hands data (len bytes, what c's input holds) to the adapter; returns the
 * bytes used, or -1 when c is gone. */
static ssize_t conn_input(struct pb_conn *c, const char *data, size_t len)
{
    ssize_t used;

    /* Gather replies only while nothing older waits in the output; with
     * layers, always (what is older already went into them). */
    if (c->top != NULL || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        c->w->gather_conn = c;
    c->w->read_ns = pb_now_ns();
    used = c->proto->input(c, data, len);
    if (c->w->gather_conn == c)
        gather_flush(c);
    if (used < 0)
        conn_gone(c, "protocol error");
    return used;
}

/* Reads with recv() instead of the bufferevent: libevent 2.1 reads at most
 * 4 KiB per wake-up, so a fan-out's burst took several wake-ups and as
 * many sends of FINs, each waking the broker too. A read lands in the
 * worker's buffer, behind what the last read left of a partial frame, and
 * is parsed from there. A partial frame is kept in the bufferevent's
 * input; one too large for the buffer grows there, read after read. */
static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pb_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t kept = evbuffer_get_length(in), room = PB_READ_MAX - kept;
    char *buf = c->w->rbuf, *dst = buf + kept;
    struct evbuffer_iovec v;
    ssize_t n, used;

    (void)what;
    if (kept > PB_READ_MAX / 2) {
        if (evbuffer_reserve_space(in, PB_READ_MAX, &v, 1) != 1) {
            conn_gone(c, "out of memory");
            return;
        }
        dst = v.iov_base;
        room = PB_READ_MAX;
    }
    n = recv(fd, dst, room, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_gone(c, n == 0 ? "closed by the peer" : strerror(errno));
        return;
    }
    if (n < 0)
        return;
    if (dst != buf + kept) {   /* a large frame, growing in the input */
        v.iov_len = (size_t)n;
        if (evbuffer_commit_space(in, &v, 1) != 0) {
            conn_gone(c, "out of memory");
            return;
        }
        used = conn_input(c, (const char *)evbuffer_pullup(in, -1), kept + (size_t)n);
        if (used > 0)
            evbuffer_drain(in, (size_t)used);
        return;
    }
    if (kept > 0)
        evbuffer_remove(in, buf, kept);
    used = conn_input(c, buf, kept + (size_t)n);
    if (used >= 0 && (size_t)used < kept + (size_t)n &&
        evbuffer_add(in, buf + used, kept + (size_t)n - (size_t)used) != 0)
        conn_gone(c, "out of memory");
}

/* With layers: their input, whole frames handed to the adapter. */
static void conn_layers_read_cb(struct bufferevent *bev, void *arg)
{
    struct pb_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    ssize_t used;

    used = conn_input(c, (const char *)evbuffer_pullup(in, -1), evbuffer_get_length(in));
    if (used > 0 && c->top != NULL)
        evbuffer_drain(in, (size_t)used);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct pb_conn *c = arg;
    int one = 1;

    if ((what & BEV_EVENT_CONNECTED) && c->top != NULL)
        return;   /* the TLS handshake, not the socket */
    if (what & BEV_EVENT_CONNECTED) {
        /* Small frames must leave at once, as the brokers' own clients do. */
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        /* Its input's end belongs to the bufferevent's reads, which are
         * not used: make sure it is not frozen (it is when the bufferevent
         * is made on an open socket). */
        evbuffer_unfreeze(bufferevent_get_input(bev), 0);
        c->read_ev = event_new(c->w->base, bufferevent_getfd(bev), EV_READ | EV_PERSIST,
                               conn_read_cb, c);
        if (c->read_ev == NULL || event_add(c->read_ev, NULL) != 0) {
            conn_gone(c, "cannot watch the socket");
            return;
        }
        c->state = PC_OPENING;
        c->proto->open(c);
        return;
    }
    conn_gone(c, (what & BEV_EVENT_EOF) ? "closed by the peer" :
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

int pb_conn_start(struct pb_conn *c, const struct sockaddr *sa, socklen_t len)
{
    c->bev = bufferevent_socket_new(c->w->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        c->state = PC_DEAD;
        return -1;
    }
    bufferevent_setcb(c->bev, NULL, NULL, conn_event_cb, c);
    bufferevent_enable(c->bev, EV_WRITE);
    c->state = PC_CONNECTING;
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)sa, (int)len) != 0) {
        log_debug("connect: %s", strerror(errno));
        pb_conn_close(c);
        return -1;
    }
    return 0;
}

int pb_conn_layers(struct pb_conn *c, int tls, int level)
{
    struct bufferevent *sock = c->bev;

    event_free(c->read_ev);   /* reads go through the layers from here on */
    c->read_ev = NULL;
    c->top = layers_stack(sock, tls ? c->w->tls_ctx : NULL, c->w->cfg->o.target.host, level, 0, 0);
    if (c->top == NULL) {
        c->bev = NULL;        /* freed with the layers made */
        return -1;
    }
    bufferevent_setcb(c->top, conn_layers_read_cb, NULL, conn_event_cb, c);
    bufferevent_enable(c->top, EV_READ | EV_WRITE);
    /* What the last read brought past the reply is put back in the
     * socket's input after this returns: read it through the layers. */
    bufferevent_trigger(sock, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    return 0;
}

void pb_conn_write(struct pb_conn *c, const void *data, size_t len)
{
    struct pb_worker *w = c->w;

    if (c->bev == NULL)
        return;
    if (w->gather_conn == c) {
        if (w->gather_len + len <= PB_GATHER_MAX) {
            memcpy(w->gather + w->gather_len, data, len);
            w->gather_len += len;
            return;
        }
        gather_to_output(c);   /* keep the order: gathered bytes first */
        w->gather_conn = NULL;
    }
    evbuffer_add(bufferevent_get_output(c->top ? c->top : c->bev), data, len);
}

size_t pb_conn_output_len(const struct pb_conn *c)
{
    if (c->top != NULL)
        return layers_queued(c->top);
    return c->bev != NULL ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

void pb_conn_ready(struct pb_conn *c)
{
    if (c->state != PC_OPENING)
        return;
    c->state = PC_READY;
    worker_conn_ready(c->w);
}

void pb_conn_message(struct pb_conn *c, const char *body, size_t len)
{
    struct pb_stats *st = &c->w->st;
    int64_t now = c->w->read_ns, sent;

    st->received++;
    if (st->recv_first_ns == 0)
        st->recv_first_ns = now;
    st->recv_last_ns = now;
    if (payload_stamp(body, len, &sent) != 0) {
        st->bad_payloads++;
        return;
    }
    hist_add(&st->latency, now > sent ? (uint64_t)(now - sent) / 1000 : 0);
}

void pb_conn_acked(struct pb_conn *c, int ok)
{
    struct pb_stats *st = &c->w->st;
    int64_t now = pb_now_ns();

    if (c->inflight > 0)
        c->inflight--;
    if (ok)
        st->accepted++;
    else
        st->refused++;
    st->ack_last_ns = now;
    if (c->req_ns != 0) {
        hist_add(&st->request, now > c->req_ns ? (uint64_t)(now - c->req_ns) / 1000 : 0);
        c->req_ns = 0;
    }
    publisher_acked(c->w, c);
}

void pb_conn_error(struct pb_conn *c, const char *what, size_t len)
{
    c->w->st.errors++;
    log_debug("client %lld: %.*s", (long long)c->client_id, (int)(len > 200 ? 200 : len), what);
}
