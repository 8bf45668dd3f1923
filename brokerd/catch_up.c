/* Catch-up reads: a stream's entries past what its session was sent,
 * read with XRANGE in batches and written in order (docs/DESIGN.md).
 *
 * A stream to read is queued; each loop pass sends at most
 * CATCH_UP_PER_PASS reads, and no more than CATCH_UP_IN_FLIGHT wait for
 * Redis at a time. A device with thousands of subscriptions (or a resync
 * of every connection) is so caught up over many passes, and its replies
 * come back a few dozen at a time: writing all of them in one pass held
 * the loop, and every other device's H, for seconds. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "broker.h"
#include "deliver_first.h"
#include "xmalloc.h"

#define CATCH_UP_BATCH 200      /* entries per XRANGE */
#define CATCH_UP_PER_PASS 32     /* reads sent per loop pass */
#define CATCH_UP_IN_FLIGHT 64    /* reads waiting for Redis */

struct catch_up {
    struct store_call call;      /* first: the reply gets the request */
    int64_t channel;
};

static const redisReply *entry_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1];
    return NULL;
}

static int64_t entry_int(const redisReply *fields, const char *name)
{
    const redisReply *v = entry_field(fields, name);
    return v && v->type == REDIS_REPLY_STRING ? strtoll(v->str, NULL, 10) : 0;
}

/* Sends one XRANGE entry; returns 0, or -1 when c has no room left. */
static int catch_up_entry(struct session *c, struct stream_state *s, const redisReply *e,
                          int64_t now, int64_t mono)
{
    struct eid eid;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        eid_parse(e->element[0]->str, e->element[0]->len, &eid) < 0)
        return 0;
    if (eid_cmp(eid, s->sent) <= 0)
        return 0;
    const redisReply *f = e->element[1];
    if (f->type == REDIS_REPLY_ARRAY &&
        pub_fast_seen(c, s, eid, entry_int(f, "f"), entry_int(f, "m")))
        return 0;  /* written before Redis had it */
    const redisReply *body = f->type == REDIS_REPLY_ARRAY ? entry_field(f, "b") : NULL;
    int64_t expire = body ? entry_int(f, "x") : 0;
    int64_t type = body ? entry_int(f, "t") : 0;
    if (!body || body->type != REDIS_REPLY_STRING || (expire && expire <= now) ||
        (type && type != c->device_type)) {
        s->sent = eid;
        return 0;
    }
    if (session_unfinished(c) >= c->b->conf.max_pending) {
        s->flags |= SS_BEHIND;
        c->behind = 1;
        return -1;
    }
    struct frame_msg_meta meta;
    meta.message_id = entry_int(f, "m");
    meta.from_client_id = entry_int(f, "f");
    meta.channel_id = entry_int(f, "c");
    meta.timestamp_ms = (int64_t)eid.ms;
    meta.attempt = 1;
    struct msg *m = msg_new(&meta, eid, expire, s->channel, (int)type,
                            s->channel < 0 ? channel_name(c->b, s->channel, NULL) : NULL,
                            body->str, body->len);
    int64_t attempt = eid_cmp(eid, s->fresh_after) > 0 ? 1 : 2;
    s->sent = eid;
    session_write_msg(c, m, attempt);
    pending_add(c, m, attempt, mono);
    msg_unref(m);
    return 0;
}

static void catch_up_schedule(struct broker *b)
{
    static const struct timeval now = { 0, 0 };
    /* A timer, not event_active: a timer runs after the next poll, so the
     * sockets ready meanwhile are served between two passes. */
    if (b->catch_up.n > 0 && !evtimer_pending(b->catch_up.ev, NULL))
        evtimer_add(b->catch_up.ev, &now);
}

static void catch_up_reply(struct store_call *call, redisReply *r)
{
    struct catch_up *cu = (struct catch_up *)call;
    struct session *c = call->c;
    int64_t channel = cu->channel;
    free(cu);
    c->b->catch_up.in_flight--;
    catch_up_schedule(c->b);
    struct stream_state *s = c->state == CS_DEAD ? NULL : session_stream(c, channel);
    if (!s)
        return;
    if (!(s->flags & SS_QUEUED))  /* else a read queued since still is to come */
        s->flags &= ~(uint32_t)SS_CATCHING_UP;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;  /* Redis went away: the resync reads again */
    int64_t now = now_ms(), mono = mono_ms();
    for (size_t i = 0; i < r->elements; i++)
        if (catch_up_entry(c, s, r->element[i], now, mono) < 0)
            return;
    if (r->elements == CATCH_UP_BATCH || (s->flags & SS_MISSED))
        catch_up_stream(c, s);
}

static void catch_up_send(struct session *c, struct stream_state *s)
{
    char key[KEY_MAX], start[48], count[ARG_INT_MAX], id[ARG_INT_MAX];
    const char *name = s->channel ? channel_name(c->b, s->channel, id) : NULL;
    if (s->channel && !name) {
        /* A name's channel left with the session's last subscriber here
         * (the session is closing): nothing to read for it. */
        s->flags &= ~(uint32_t)(SS_MISSED | SS_QUEUED | SS_CATCHING_UP);
        return;
    }
    snprintf(start, sizeof(start), "(%" PRIu64 "-%" PRIu64, s->sent.ms, s->sent.seq);
    const char *argv[] = { "XRANGE", name ? key_chn(key, name) : key_dev_in(key, c->client_id),
                           start, "+", "COUNT", arg_int(count, CATCH_UP_BATCH) };
    struct catch_up *cu = xmalloc(sizeof(*cu));
    cu->channel = s->channel;
    s->flags &= ~(uint32_t)(SS_MISSED | SS_QUEUED);
    if (store_call(&cu->call, c, catch_up_reply, STORE_CMD, 0, 6, argv, NULL) < 0) {
        free(cu);
        s->flags &= ~(uint32_t)SS_CATCHING_UP;
        return;  /* the resync after reconnecting reads again */
    }
    c->b->catch_up.in_flight++;
}

static void catch_up_pass(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    struct catch_up_queue *q = &b->catch_up;
    (void)fd; (void)what;
    for (int sent = 0; q->n > 0 && sent < CATCH_UP_PER_PASS &&
                       q->in_flight < CATCH_UP_IN_FLIGHT; ) {
        struct catch_up_item it = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->n--;
        session_release(it.c);  /* the queue's hold (catch_up_stream) */
        struct stream_state *s = it.c->state == CS_DEAD || it.c->client_id == 0
                                     ? NULL : session_stream(it.c, it.channel);
        /* Without SS_QUEUED the stream was dropped, or started over and
         * queued anew (then this item is stale). */
        if (!s || !(s->flags & SS_QUEUED))
            continue;
        catch_up_send(it.c, s);
        sent++;
    }
    catch_up_schedule(b);
}

static void catch_up_push(struct catch_up_queue *q, struct session *c, int64_t channel)
{
    if (q->n == q->cap) {  /* grow, unwrapping the ring */
        uint32_t cap = q->cap ? 2 * q->cap : 64;
        struct catch_up_item *items = xreallocarray(NULL, cap, sizeof(*items));
        for (uint32_t i = 0; i < q->n; i++)
            items[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        q->items = items;
        q->cap = cap;
        q->head = 0;
    }
    q->items[(q->head + q->n) % q->cap] = (struct catch_up_item){ c, channel };
    q->n++;
}

void catch_up_stream(struct session *c, struct stream_state *s)
{
    /* From now on a notice of this stream only marks it (SS_MISSED). */
    s->flags &= ~(uint32_t)(SS_MISSED | SS_BEHIND);
    s->flags |= SS_CATCHING_UP;
    if (s->flags & SS_QUEUED)
        return;
    s->flags |= SS_QUEUED;
    /* Held like a Redis reply would hold it: the queue names c. */
    session_hold(c);
    catch_up_push(&c->b->catch_up, c, s->channel);
    catch_up_schedule(c->b);
}

int catch_up_init(struct broker *b)
{
    b->catch_up.ev = evtimer_new(b->base, catch_up_pass, b);
    return b->catch_up.ev ? 0 : -1;
}

void catch_up_free(struct broker *b)
{
    struct catch_up_queue *q = &b->catch_up;
    for (; q->n > 0; q->n--, q->head = (q->head + 1) % q->cap)
        session_release(q->items[q->head].c);
    free(q->items);
    q->items = NULL;
    if (q->ev)
        event_free(q->ev);
    q->ev = NULL;
}
