/* A device's life cycle on this broker, whatever carries its bytes: state,
 * errors (and whether they close), finishing and closing, timeouts, and
 * freeing at a safe point. The transport is reached through s->ops. */
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "broker.h"

#define IDENTIFY_TIMEOUT_MS 10000
#define CLOSING_GRACE_MS 2000

static const char *const session_state_names[] = {
    [CS_OPEN] = "open", [CS_WAIT_REDIS] = "wait_redis", [CS_FATAL_WAIT] = "fatal_wait",
    [CS_CLOSING] = "closing", [CS_DEAD] = "dead",
};

void session_init(struct session *s, struct broker *b, const struct transport_ops *ops)
{
    TAILQ_INIT(&s->pend);
    s->b = b;
    s->ops = ops;
    s->state = CS_OPEN;
    s->timer_ms = mono_ms();
    s->next = b->conns;
    if (b->conns)
        b->conns->prev = s;
    b->conns = s;
    b->nconns++;
    b->stats.connections_total++;
}

void session_set_state(struct session *s, enum session_state st)
{
    log_debug("session %p client %lld: %s -> %s", (void *)s, (long long)s->client_id,
              session_state_names[s->state], session_state_names[st]);
    s->state = (uint8_t)st;
}

void session_heard(struct session *s)
{
    /* Before IDENTIFY and while closing the timer counts from elsewhere. */
    if (s->client_id != 0 && s->state != CS_CLOSING)
        s->timer_ms = mono_ms();
}

void session_response(struct session *s, const char *text)
{
    if (s->ops->writable(s))
        s->ops->response(s, text);
}

void session_finish(struct session *s)
{
    if (s->state == CS_CLOSING || s->state == CS_DEAD)
        return;
    identify_forget(s);  /* no more deliveries; cursors written now */
    session_set_state(s, CS_CLOSING);
    s->timer_ms = mono_ms();
    s->ops->finish(s);
}

void session_fail(struct session *s, enum proto_error err, const char *reason)
{
    int fatal = proto_errors[err].fatal;
    if (fatal && (s->state == CS_CLOSING || s->state == CS_DEAD || s->state == CS_FATAL_WAIT))
        return;
    if (!reason)
        reason = proto_errors[err].reason;
    s->b->stats.protocol_errors++;
    log_debug("client %lld: %s %s", (long long)s->client_id, proto_errors[err].name,
              reason ? reason : "");
    if (pub_defer_error(s, err, reason) == 0) {
        /* Behind the Acks of the PUBs before it; a fatal one reads nothing
         * more and closes after them. */
        if (fatal)
            session_set_state(s, CS_FATAL_WAIT);
        return;
    }
    if (s->ops->writable(s))
        s->ops->error(s, err, reason);
    if (fatal)
        session_finish(s);
}

void session_resume(struct session *s)
{
    if (s->state == CS_WAIT_REDIS)
        session_set_state(s, CS_OPEN);
    s->ops->resume(s);
}

static void session_unlink(struct session *s)
{
    struct broker *b = s->b;
    if (b->tick_next == s)
        b->tick_next = s->next;
    if (s->prev)
        s->prev->next = s->next;
    else
        b->conns = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    b->nconns--;
}

void session_close(struct session *s)
{
    if (s->state == CS_DEAD)
        return;
    struct broker *b = s->b;
    session_set_state(s, CS_DEAD);
    identify_forget(s);
    pending_clear(s);
    s->ops->close(s);
    session_unlink(s);
    s->next = b->dead;
    b->dead = s;
}

void session_free_dead(struct broker *b)
{
    struct session **pp = &b->dead;
    while (*pp) {
        struct session *s = *pp;
        if (s->redis_refs > 0 || s->in_flush) {
            pp = &s->next;  /* a Redis reply, or this pass's flush, will still name it */
            continue;
        }
        *pp = s->next;
        free(s->streams);
        free(s);  /* the transport's struct, which begins with s */
    }
}

/* Each tick looks at a fifth of the sessions, from where the last one
 * stopped: every session is seen every half second, and no tick walks
 * them all (with 10,000 connections that walk stalled the loop for over a
 * millisecond). Timeouts are thus up to half a second late. */
#define TICK_SLICES 5
/* Read positions are written by the first pass that begins about a second
 * after the last one that did (900 ms, so that tick jitter does not skip
 * to the pass after): with devices that each get a message a second or
 * two, writing them on every pass would send Redis one HSET per message. */
#define CURSOR_EVERY_MS 900

static void session_check(struct broker *b, struct session *s, int64_t mono)
{
    if (s->state == CS_CLOSING) {
        if (mono - s->timer_ms > CLOSING_GRACE_MS)
            session_close(s);
        return;
    }
    if (s->client_id == 0) {
        if (mono - s->timer_ms > IDENTIFY_TIMEOUT_MS) {
            log_debug("session %p: no IDENTIFY within 10 s, closing", (void *)s);
            session_close(s);
        }
        return;
    }
    if (mono - s->timer_ms > 2 * (int64_t)s->heartbeat_ms) {
        log_debug("client %lld: heartbeat timeout, closing", (long long)s->client_id);
        s->ops->silent(s);
        return;
    }
    if (b->cursor_pass)
        store_flush_cursors(b, s);
}

void session_tick(struct broker *b, int64_t mono)
{
    pending_redeliver(b);
    if (!b->tick_next) {  /* a pass over the list begins */
        b->cursor_pass = mono - b->cursor_pass_ms >= CURSOR_EVERY_MS;
        if (b->cursor_pass)
            b->cursor_pass_ms = mono;
    }
    uint32_t n = (b->nconns + TICK_SLICES - 1) / TICK_SLICES;
    struct session *s = b->tick_next ? b->tick_next : b->conns;
    while (s && n-- > 0) {
        struct session *next = s->next;  /* session_check may unlink s */
        session_check(b, s, mono);
        s = next;
    }
    b->tick_next = s;
}

void session_bev_event(struct bufferevent *bev, short what, void *arg)
{
    struct session *s = arg;
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        log_debug("session %p client %lld: %s", (void *)s, (long long)s->client_id,
                  (what & BEV_EVENT_EOF) ? "closed by peer" : "socket error");
        session_close(s);
    }
}

void session_drop_input(struct bufferevent *bev)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}
