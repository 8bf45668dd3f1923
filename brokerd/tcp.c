/* The TCP transport: SPEC 2's text protocol on a bufferevent. It accepts,
 * reads the magic, lines and bodies (handing commands to cmd.c), and
 * writes frames; what a device is lives in its session (session.c). */
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h>

#include "broker.h"
#include "proto.h"
#include "layers.h"
#include "xmalloc.h"

/* An idle device costs about 1.5 KB of which its tcp_conn is a tenth: keep
 * it within glibc's 160-byte chunk (152 bytes plus the 8-byte header). */
_Static_assert(sizeof(struct tcp_conn) <= 152, "struct tcp_conn outgrew its malloc size class");

/* Frames from this size on are shared by reference; smaller ones are
 * copied. A reference costs libevent a chain allocation and a free per
 * connection, more than copying a small frame into the chain that is
 * already there (callgrind: docs/PERFORMANCE.md). */
#define SHARE_MIN_BYTES 512

static struct tcp_conn *tcp_of(struct session *s)
{
    return (struct tcp_conn *)s;
}

static void tcp_process(struct tcp_conn *t);
static size_t tcp_queued(const struct session *s);

/* Runs the commands read; with layers, what they still hold below is read
 * in the next loop pass, a bounded piece at a time (layers_refill). */
static void tcp_input(struct tcp_conn *t)
{
    tcp_process(t);
    if (t->bev && t->layered && t->s.state == CS_OPEN) {
        layers_trim(t->bev);
        layers_refill(t->bev);
    }
}

/* The socket's bufferevent: bev itself, or the bottom of its layers. */
static struct bufferevent *tcp_sock(const struct tcp_conn *t)
{
    return t->layered ? layers_bottom(t->bev) : t->bev;
}

/* ---- output ---- */

static int tcp_writable(const struct session *s)
{
    const struct tcp_conn *t = (const struct tcp_conn *)s;
    /* After shutdown(SHUT_WR) a write would fail and reset the connection. */
    return t->bev && !t->lingering;
}

/* t's output, to add frames to; they go out at the end of the loop pass.
 * Only while tcp_writable. */
static struct evbuffer *tcp_out(struct tcp_conn *t)
{
    output_mark(&t->s);
    return bufferevent_get_output(t->bev);
}

static void tcp_msg_ref_done(const void *data, size_t len, void *arg)
{
    (void)data; (void)len;
    msg_unref(arg);
}

/* Whether t's output is over the cap. With layers, what waits below the
 * top is counted at the pass's first frame only (the top holds the pass's
 * frames, and is empty before the first): walking the layers for every
 * frame of a fan-out took 7% of brokerd's CPU. A pass may then queue up
 * to the cap over what waited below, which was itself at most the cap. */
static int tcp_over_cap(struct tcp_conn *t, struct evbuffer *out)
{
    size_t top = evbuffer_get_length(out), cap = t->s.b->conf.max_output_bytes;
    return t->layered && top > 0 ? top > cap : tcp_queued(&t->s) > cap;
}

/* Attempt 1 writes the pre-encoded frame (shared by reference when large);
 * a redelivery gets its own header line and still shares a large body. */
static int tcp_write_msg(struct session *s, struct msg *m, int64_t attempt)
{
    if (!tcp_writable(s))
        return -1;
    struct evbuffer *out = tcp_out(tcp_of(s));
    /* Over the cap nothing more is queued: the flush at the end of this
     * pass closes the client (tcp_flush). The message stays pending, so its
     * entry stays in the device's cursor, for its next connection. */
    if (tcp_over_cap(tcp_of(s), out))
        return -1;
    if (attempt == 1 && m->frame1_len < SHARE_MIN_BYTES) {
        evbuffer_add(out, m->frame1, m->frame1_len);
    } else if (attempt == 1) {
        m->refs++;
        evbuffer_add_reference(out, m->frame1, m->frame1_len, tcp_msg_ref_done, m);
    } else {
        char line[FRAME_MSG_LINE_MAX];
        unsigned char hdr[FRAME_HEADER_LEN];
        struct frame_msg_meta meta = m->meta;
        size_t body_len = m->frame1_len - m->body_off;
        meta.attempt = attempt;
        size_t ll = frame_msg_line(line, &meta);
        frame_header(hdr, FRAME_MESSAGE, ll + body_len);
        evbuffer_add(out, hdr, sizeof(hdr));
        evbuffer_add(out, line, ll);
        if (body_len && m->frame1_len < SHARE_MIN_BYTES) {
            evbuffer_add(out, m->frame1 + m->body_off, body_len);
        } else if (body_len) {
            m->refs++;
            evbuffer_add_reference(out, m->frame1 + m->body_off, body_len, tcp_msg_ref_done, m);
        }
    }
    return 0;
}

static size_t tcp_queued(const struct session *s)
{
    const struct tcp_conn *t = (const struct tcp_conn *)s;
    if (!t->bev)
        return 0;
    return t->layered ? layers_queued(t->bev) : evbuffer_get_length(bufferevent_get_output(t->bev));
}

static void tcp_response(struct session *s, const char *text)
{
    frame_add_str(tcp_out(tcp_of(s)), FRAME_RESPONSE, text);
}

static void tcp_error(struct session *s, enum proto_error err, const char *reason)
{
    frame_add_error(tcp_out(tcp_of(s)), proto_errors[err].name, reason);
}

static void tcp_ack(struct session *s, int ok, int64_t message_id, int64_t client_id)
{
    frame_add_ack(tcp_out(tcp_of(s)), ok, message_id, client_id);
}

/* The output went out: finish a close, or go on with paused input. */
static void tcp_drained(struct tcp_conn *t)
{
    if (t->s.state != CS_CLOSING) {
        tcp_input(t);
        return;
    }
    if (t->lingering || tcp_queued(&t->s) > 0)
        return;  /* layers: the socket's output draining marks t again */
    /* Closing a socket with unread input makes the kernel send a reset,
     * which can destroy the last frames in flight. Send our FIN instead
     * and drop what still comes until the peer closes (or the grace ends). */
    shutdown(bufferevent_getfd(tcp_sock(t)), SHUT_WR);
    t->lingering = 1;
    log_debug("session %p: write side shut, lingering", (void *)t);
}

/* Why not leave writing to the bufferevent: it writes only when epoll says
 * the socket is writable, so every write cost an epoll_ctl to watch for
 * EPOLLOUT, a pass through epoll_wait, and another epoll_ctl to stop
 * watching (docs/PERFORMANCE.md). Written here, at the end of the pass
 * (output.c), the watch is added and taken back within the same pass,
 * which libevent's changelist turns into no system call at all. When the
 * socket does not take everything, the bufferevent's own write event,
 * still in place, writes the rest. */
static void tcp_flush(struct session *s)
{
    struct tcp_conn *t = tcp_of(s);
    if (!t->bev)
        return;
    if (!t->layered) {
        /* All out: the drained output gets what the bufferevent's write
         * callback would have done. */
        if (output_flush_session(s, t->bev) == 0)
            tcp_drained(t);
        return;
    }
    /* With layers, the frames of this pass go through them in one go, and
     * what they make of them is written from the socket's output. */
    layers_push(t->bev);
    t->flushing = 1;
    int r = output_flush_session(s, tcp_sock(t));
    t->flushing = 0;
    if (r >= 0 && t->bev && tcp_queued(s) == 0)
        tcp_drained(t);  /* else a TLS handshake holds some: the layers go on */
}

static void tcp_finish(struct session *s)
{
    struct tcp_conn *t = tcp_of(s);
    /* The write callback goes on once the output is out. */
    if (tcp_queued(s) == 0)
        tcp_drained(t);
}

/* With layers: the socket's output went out by its own write event. The
 * flush at the end of the pass finishes a close, or resumes input. */
static void tcp_sock_drained(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                             void *arg)
{
    struct tcp_conn *t = arg;
    if (info->n_deleted && !t->flushing && evbuffer_get_length(buf) == 0)
        output_mark(&t->s);
}

static void tcp_close(struct session *s)
{
    struct tcp_conn *t = tcp_of(s);
    if (!t->bev)
        return;
    if (t->layered)
        evbuffer_remove_cb(bufferevent_get_output(tcp_sock(t)), tcp_sock_drained, t);
    /* Safe inside the bufferevent's own callbacks: libevent defers. With
     * layers, each frees the one below. */
    bufferevent_free(t->bev);
    t->bev = NULL;
}

static void tcp_resume(struct session *s)
{
    tcp_input(tcp_of(s));
}

static void tcp_on_read(struct bufferevent *bev, void *arg);
static void tcp_on_event(struct bufferevent *bev, short what, void *arg);

/* The largest input worth buffering: a line, a body size and the largest body. */
static size_t tcp_read_max(const struct broker *b)
{
    size_t body_max = b->conf.max_msg_size > 4096 ? b->conf.max_msg_size : 4096;
    return body_max + 4 + PROTO_MAX_LINE + 64;
}

static int tcp_upgrade(struct session *s, int tls, int level)
{
    struct tcp_conn *t = tcp_of(s);
    struct bufferevent *sock = t->bev;
    struct bufferevent *top = layers_stack(sock, tls ? s->b->proc->tls : NULL, NULL, level,
                                           tcp_read_max(s->b), 1);
    if (!top) {
        t->bev = NULL;  /* freed with the layers made */
        return -1;
    }
    t->bev = top;
    t->layered = 1;
    /* No write callback: the top's output drains only in tcp_flush, and
     * the socket's draining is tcp_sock_drained's. */
    bufferevent_setcb(top, tcp_on_read, NULL, tcp_on_event, t);
    /* Draining the top's input lets TLS read on and call tcp_on_read at
     * once, inside tcp_process: commands would run out of order. Deferred,
     * that read comes in a pass of its own (and deflate's: tcp_input). */
    evbuffer_defer_callbacks(bufferevent_get_input(top), s->b->base);
    bufferevent_enable(top, EV_READ | EV_WRITE);
    evbuffer_add_cb(bufferevent_get_output(sock), tcp_sock_drained, t);
    /* What the client sent after IDENTIFY was read in clear and waits in
     * the socket's input: it goes through the layers (a client that goes
     * on in clear fails the TLS handshake), once this pass is done. */
    if (evbuffer_get_length(bufferevent_get_input(sock)) > 0)
        bufferevent_trigger(sock, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    return 0;
}

static int tcp_fd(const struct session *s)
{
    const struct tcp_conn *t = (const struct tcp_conn *)s;
    return t->bev ? (int)bufferevent_getfd(tcp_sock(t)) : -1;
}

static const struct transport_ops tcp_ops = {
    .write_msg = tcp_write_msg,
    .response = tcp_response,
    .error = tcp_error,
    .ack = tcp_ack,
    .writable = tcp_writable,
    .queued = tcp_queued,
    .flush = tcp_flush,
    .finish = tcp_finish,
    .close = tcp_close,
    .resume = tcp_resume,
    .upgrade = tcp_upgrade,
    .silent = session_close,
    .fd = tcp_fd,
};

/* ---- input ---- */

/* With PUBs waiting for Redis, only a command the table lets through may
 * go ahead (its reply then follows theirs); anything else waits, so
 * replies stay in order. */
static int tcp_may_pipeline(struct session *s, struct evbuffer *in)
{
    if (s->pubs_in_flight < PUB_PIPELINE && cmd_may_pipeline(in))
        return 1;
    if (evbuffer_get_length(in) > 0 || s->pubs_in_flight >= PUB_PIPELINE)
        session_set_state(s, CS_WAIT_REDIS);
    return 0;
}

/* Runs the input state machine over everything buffered. */
static void tcp_process(struct tcp_conn *t)
{
    struct session *s = &t->s;
    char line[PROTO_MAX_LINE + 2];
    size_t len;
    uint32_t size;
    while (t->bev && s->state == CS_OPEN) {
        struct evbuffer *in = bufferevent_get_input(t->bev);
        if (tcp_queued(s) > SESSION_OUTPUT_PAUSE_BYTES)
            return;  /* resumed by the write callback */
        switch (t->input) {
        case TCP_MAGIC:
            switch (proto_take_magic(in)) {
            case PROTO_NEED_MORE:
                return;
            case PROTO_OK:
                t->input = TCP_LINE;
                break;
            default:
                session_fail(s, ERR_BAD_PROTOCOL, "expected the magic \"  V1\"");
                return;
            }
            break;
        case TCP_LINE:
            if (s->pubs_in_flight > 0 && !tcp_may_pipeline(s, in))
                return;  /* resumed by the last PUB's reply */
            cmd_take_fins(s, in);
            switch (proto_take_line(in, line, sizeof(line), &len)) {
            case PROTO_NEED_MORE:
                return;
            case PROTO_OK:
                if (len > 0)
                    cmd_line(t, line, len);
                break;
            default:
                session_fail(s, ERR_LINE_TOO_LONG, NULL);
                return;
            }
            break;
        case TCP_BODY: {
            if (proto_peek_size(in, &size) != PROTO_OK)
                return;
            if (cmd_body_too_big(t, size))
                return;
            if (evbuffer_get_length(in) < 4 + (size_t)size)
                return;
            evbuffer_drain(in, 4);
            const char *body = size ? (const char *)evbuffer_pullup(in, size) : "";
            t->input = TCP_LINE;
            cmd_body(t, body, size);
            if (t->bev)
                evbuffer_drain(bufferevent_get_input(t->bev), size);
            break;
        }
        default:
            return;
        }
    }
}

static void tcp_on_read(struct bufferevent *bev, void *arg)
{
    struct tcp_conn *t = arg;
    session_heard(&t->s);
    if (t->s.state == CS_CLOSING) {
        session_drop_input(bev);
        return;
    }
    tcp_input(t);
}

static void tcp_on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    tcp_drained(arg);
}

/* With TLS, an error is the handshake's or a record's; deflate's is a
 * stream that does not inflate. */
static void tcp_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct tcp_conn *t = arg;
    char why[160];
    if (t->layered && (what & BEV_EVENT_ERROR))
        log_debug("session %p client %lld: %s", (void *)t, (long long)t->s.client_id,
                  tls_error(bev, why, sizeof(why)));
    session_bev_event(bev, what, &t->s);
}

void tcp_accept(struct broker *b, int fd)
{
    if (b->stopping) {
        evutil_closesocket(fd);
        return;
    }
    net_nodelay(fd);
    struct bufferevent *bev = bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    struct tcp_conn *t = xcalloc(1, sizeof(*t));  /* input 0: TCP_MAGIC */
    t->bev = bev;
    session_init(&t->s, b, &tcp_ops);
    bufferevent_setwatermark(bev, EV_READ, 0, tcp_read_max(b));
    bufferevent_setcb(bev, tcp_on_read, tcp_on_write, session_bev_event, t);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}
