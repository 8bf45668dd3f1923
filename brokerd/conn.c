/* A device connection's life cycle: accept, read and frame the input,
 * write frames, time out, close, and free at a safe point. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "broker.h"
#include "net.h"
#include "numparse.h"
#include "proto.h"
#include "xmalloc.h"

/* An idle device costs about 1.5 KB of which struct conn is a tenth: keep
 * it within glibc's 160-byte chunk (152 bytes plus the 8-byte header). */
_Static_assert(sizeof(struct conn) <= 152, "struct conn outgrew its malloc size class");

#define IDENTIFY_TIMEOUT_MS 10000
#define CLOSING_GRACE_MS 2000
/* Input stops being processed while this much output waits for the peer. */
#define OUTPUT_PAUSE_BYTES (256 * 1024)

static void conn_process(struct conn *c);

static const char *const conn_state_names[] = {
    [CS_MAGIC] = "magic", [CS_LINE] = "line", [CS_BODY] = "body",
    [CS_WAIT_REDIS] = "wait_redis", [CS_FATAL_WAIT] = "fatal_wait",
    [CS_CLOSING] = "closing", [CS_LINGER] = "linger", [CS_DEAD] = "dead",
};

void conn_set_state(struct conn *c, enum conn_state st)
{
    log_debug("conn %p client %lld: %s -> %s", (void *)c, (long long)c->client_id,
              conn_state_names[c->state], conn_state_names[st]);
    c->state = (uint8_t)st;
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    c->last_recv_ms = mono_ms();
    if (c->state == CS_CLOSING || c->state == CS_LINGER) {
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    conn_process(c);
}

void conn_drained(struct conn *c)
{
    if (c->state != CS_CLOSING) {
        conn_process(c);
        return;
    }
    /* Closing a socket with unread input makes the kernel send a reset,
     * which can destroy the last frames in flight. Send our FIN instead
     * and drop what still comes until the peer closes (or the grace ends). */
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    conn_set_state(c, CS_LINGER);
}

static void conn_on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_drained(arg);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        log_debug("conn %p client %lld: %s", (void *)c, (long long)c->client_id,
                  (what & BEV_EVENT_EOF) ? "closed by peer" : "socket error");
        conn_close(c);
    }
}

void conn_accept(struct broker *b, int fd)
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
    struct conn *c = xcalloc(1, sizeof(*c));  /* state 0: CS_MAGIC */
    TAILQ_INIT(&c->pend);
    c->b = b;
    c->bev = bev;
    c->since_ms = c->last_recv_ms = mono_ms();
    c->next = b->conns;
    if (b->conns)
        b->conns->prev = c;
    b->conns = c;
    b->nconns++;
    b->stats.connections_total++;
    /* Bound the input: a line, a body size and the largest body. */
    size_t body_max = b->conf.max_msg_size > 4096 ? b->conf.max_msg_size : 4096;
    bufferevent_setwatermark(bev, EV_READ, 0, body_max + 4 + PROTO_MAX_LINE + 64);
    bufferevent_setcb(bev, conn_on_read, conn_on_write, conn_on_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static struct evbuffer *conn_out(struct conn *c)
{
    return c->bev ? bufferevent_get_output(c->bev) : NULL;
}

void conn_write_error(struct conn *c, enum proto_error err, const char *reason)
{
    struct evbuffer *out = conn_writer(c);
    if (out)
        frame_add_error(out, proto_errors[err].name, reason);
}

void conn_finish(struct conn *c)
{
    if (c->state == CS_CLOSING || c->state == CS_LINGER || c->state == CS_DEAD)
        return;
    identify_forget(c);  /* no more deliveries; cursors written now */
    conn_set_state(c, CS_CLOSING);
    c->since_ms = mono_ms();
    /* The write callback goes on once the output is out. */
    if (evbuffer_get_length(conn_out(c)) == 0)
        conn_drained(c);
}

void conn_fail(struct conn *c, enum proto_error err, const char *reason)
{
    int fatal = proto_errors[err].fatal;
    if (fatal && (c->state == CS_CLOSING || c->state == CS_LINGER || c->state == CS_DEAD ||
                  c->state == CS_FATAL_WAIT))
        return;
    if (!reason)
        reason = proto_errors[err].reason;
    c->b->stats.protocol_errors++;
    log_debug("client %lld: %s %s", (long long)c->client_id, proto_errors[err].name,
              reason ? reason : "");
    if (pub_defer_error(c, err, reason) == 0) {
        /* Behind the Acks of the PUBs before it; a fatal one reads nothing
         * more and closes after them. */
        if (fatal)
            conn_set_state(c, CS_FATAL_WAIT);
        return;
    }
    conn_write_error(c, err, reason);
    if (fatal)
        conn_finish(c);
}

void conn_response(struct conn *c, const char *text)
{
    struct evbuffer *out = conn_writer(c);
    if (out)
        frame_add_str(out, FRAME_RESPONSE, text);
}

/* With PUBs waiting for Redis, only a command the table lets through may
 * go ahead (its reply then follows theirs); anything else waits, so
 * replies stay in order. */
static int conn_may_pipeline(struct conn *c, struct evbuffer *in)
{
    if (c->pubs_in_flight < PUB_PIPELINE && cmd_may_pipeline(in))
        return 1;
    if (evbuffer_get_length(in) > 0 || c->pubs_in_flight >= PUB_PIPELINE)
        conn_set_state(c, CS_WAIT_REDIS);
    return 0;
}

/* Runs the input state machine over everything buffered. */
static void conn_process(struct conn *c)
{
    char line[PROTO_MAX_LINE + 2];
    size_t len;
    uint32_t size;
    while (c->bev) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        if (evbuffer_get_length(conn_out(c)) > OUTPUT_PAUSE_BYTES)
            return;  /* resumed by the write callback */
        switch (c->state) {
        case CS_MAGIC:
            switch (proto_take_magic(in)) {
            case PROTO_NEED_MORE:
                return;
            case PROTO_OK:
                conn_set_state(c, CS_LINE);
                break;
            default:
                conn_fail(c, ERR_BAD_PROTOCOL, "expected the magic \"  V1\"");
                return;
            }
            break;
        case CS_LINE:
            if (c->pubs_in_flight > 0 && !conn_may_pipeline(c, in))
                return;  /* resumed by the last PUB's reply */
            cmd_take_fins(c, in);
            switch (proto_take_line(in, line, sizeof(line), &len)) {
            case PROTO_NEED_MORE:
                return;
            case PROTO_OK:
                if (len > 0)
                    cmd_line(c, line, len);
                break;
            default:
                conn_fail(c, ERR_LINE_TOO_LONG, NULL);
                return;
            }
            break;
        case CS_BODY: {
            if (proto_peek_size(in, &size) != PROTO_OK)
                return;
            if (cmd_body_too_big(c, size))
                return;
            if (evbuffer_get_length(in) < 4 + (size_t)size)
                return;
            evbuffer_drain(in, 4);
            const char *body = size ? (const char *)evbuffer_pullup(in, size) : "";
            conn_set_state(c, CS_LINE);
            cmd_body(c, body, size);
            if (c->bev)
                evbuffer_drain(bufferevent_get_input(c->bev), size);
            break;
        }
        default:
            return;  /* waiting for Redis, closing or closed */
        }
    }
}

void conn_resume(struct conn *c)
{
    if (c->state == CS_WAIT_REDIS)
        conn_set_state(c, CS_LINE);
    conn_process(c);
}

static void conn_unlink(struct conn *c)
{
    struct broker *b = c->b;
    if (b->tick_next == c)
        b->tick_next = c->next;
    if (c->prev)
        c->prev->next = c->next;
    else
        b->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    b->nconns--;
}

void conn_close(struct conn *c)
{
    if (c->state == CS_DEAD)
        return;
    struct broker *b = c->b;
    conn_set_state(c, CS_DEAD);
    identify_forget(c);
    pending_clear(c);
    if (c->bev) {
        /* Safe inside the bufferevent's own callbacks: libevent defers. */
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    conn_unlink(c);
    c->next = b->dead;
    b->dead = c;
}

void conn_free_dead(struct broker *b)
{
    struct conn **pp = &b->dead;
    while (*pp) {
        struct conn *c = *pp;
        if (c->redis_refs > 0 || c->in_flush) {
            pp = &c->next;  /* a Redis reply, or this pass's flush, will still name it */
            continue;
        }
        *pp = c->next;
        free(c->streams);
        free(c);
    }
}

/* Each tick looks at a fifth of the connections, from where the last one
 * stopped: every connection is seen every half second, and no tick walks
 * them all (with 10,000 connections that walk stalled the loop for over a
 * millisecond). Timeouts are thus up to half a second late. */
#define TICK_SLICES 5
/* Read positions are written by the first pass that begins about a second
 * after the last one that did (900 ms, so that tick jitter does not skip
 * to the pass after): with devices that each get a message a second or
 * two, writing them on every pass would send Redis one HSET per message. */
#define CURSOR_EVERY_MS 900

static void conn_check(struct broker *b, struct conn *c, int64_t now)
{
    if (c->state == CS_CLOSING || c->state == CS_LINGER) {
        if (now - c->since_ms > CLOSING_GRACE_MS)
            conn_close(c);
        return;
    }
    if (c->client_id == 0) {
        if (now - c->since_ms > IDENTIFY_TIMEOUT_MS) {
            log_debug("conn %p: no IDENTIFY within 10 s, closing", (void *)c);
            conn_close(c);
        }
        return;
    }
    if (now - c->last_recv_ms > 2 * (int64_t)c->heartbeat_ms) {
        log_debug("client %lld: heartbeat timeout, closing", (long long)c->client_id);
        conn_close(c);
        return;
    }
    if (b->cursor_pass)
        store_flush_cursors(b, c);
}

void conn_tick(struct broker *b, int64_t now)
{
    pending_redeliver(b);
    if (!b->tick_next) {  /* a pass over the list begins */
        b->cursor_pass = now - b->cursor_pass_ms >= CURSOR_EVERY_MS;
        if (b->cursor_pass)
            b->cursor_pass_ms = now;
    }
    uint32_t n = (b->nconns + TICK_SLICES - 1) / TICK_SLICES;
    struct conn *c = b->tick_next ? b->tick_next : b->conns;
    while (c && n-- > 0) {
        struct conn *next = c->next;  /* conn_check may unlink c */
        conn_check(b, c, now);
        c = next;
    }
    b->tick_next = c;
}
