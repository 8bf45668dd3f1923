/* Messages written to a connection and not FINed yet (SPEC 2.5), oldest
 * first. Every record has the same timeout, so a record is also appended
 * to one list per loop in deadline order: each tick redelivers from its
 * head and touches no connection that has nothing due. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"

static void pending_unlink(struct session *c, struct pending *p)
{
    TAILQ_REMOVE(&c->b->due, p, due);
    TAILQ_REMOVE(&c->pend, p, link);
}

static void pending_append(struct session *c, struct pending *p)
{
    TAILQ_INSERT_TAIL(&c->b->due, p, due);
    TAILQ_INSERT_TAIL(&c->pend, p, link);
}

void pending_pool_init(struct broker *b)
{
    slab_pool_init(&b->pending_pool, sizeof(struct pending));
}

/* At teardown, once every connection has dropped its records. */
void pending_pool_free(struct broker *b)
{
    slab_pool_destroy(&b->pending_pool);
}

struct pending *pending_add(struct session *c, struct msg *m, int64_t attempt, int64_t mono)
{
    /* A fan-out adds one record per subscriber and each FIN drops one: they
     * come from the loop's slabs, not from malloc (docs/PERFORMANCE.md). */
    struct pending *p = slab_alloc(&c->b->pending_pool);
    p->conn = c;
    p->msg = m;
    m->refs++;
    p->attempt = (int32_t)attempt;
    p->fast = p->finished = 0;
    p->deadline_ms = mono + (int64_t)c->b->conf.msg_timeout * 1000;
    pending_append(c, p);
    c->npending++;
    c->b->npending++;
    return p;
}

static void pending_drop(struct session *c, struct pending *p)
{
    pending_unlink(c, p);
    msg_unref(p->msg);
    if (p->finished)
        c->nfinished--;
    slab_free(&c->b->pending_pool, p);
    c->npending--;
    c->b->npending--;
}

int pending_fin(struct session *c, int64_t mid)
{
    struct pending *p = TAILQ_FIRST(&c->pend);
    while (p && (p->msg->meta.message_id != mid || p->finished || p->msg->dead))
        p = TAILQ_NEXT(p, link);
    if (!p)
        return -1;
    /* A fast record stays until its entry is covered (pub_fast.c), so that
     * no read of the inbox takes its entry for a new one meanwhile. */
    if (p->fast) {
        p->finished = 1;
        c->nfinished++;  /* its room is back: a read behind may cover it */
    } else {
        pending_drop(c, p);
    }
    c->cursors_dirty = 1;
    /* Streams skipped for max-pending catch up once half the room is back. */
    if (c->behind && session_unfinished(c) <= c->b->conf.max_pending / 2) {
        c->behind = 0;  /* a look over every stream, only when one may be behind */
        for (uint32_t i = 0; i < c->nstreams; i++)
            if ((c->streams[i].flags & (SS_BEHIND | SS_CATCHING_UP)) == SS_BEHIND)
                catch_up_stream(c, &c->streams[i]);
    }
    return 0;
}

void pending_redeliver(struct broker *b)
{
    int64_t now = mono_ms();
    /* Each record goes back to the tail with a later deadline, so the loop
     * ends however many there are. */
    struct pending *last = TAILQ_LAST(&b->due, pending_list), *p;
    while ((p = TAILQ_FIRST(&b->due)) != NULL && p->deadline_ms <= now) {
        struct session *c = p->conn;
        if (p->msg->dead) {  /* Redis never took it (pub_fast.c) */
            int end = p == last;
            pending_drop(c, p);
            if (end)
                break;
            continue;
        }
        pending_unlink(c, p);
        p->deadline_ms = now + (int64_t)b->conf.msg_timeout * 1000;
        pending_append(c, p);
        /* A closing connection gets no more messages; its records go with it.
         * One whose output is not being read gets nothing more queued: the
         * record waits for its next deadline, same attempt. */
        if (c->state == CS_CLOSING || c->state == CS_DEAD || p->finished) {
        } else if (c->ops->queued(c) > SESSION_OUTPUT_PAUSE_BYTES) {
            b->stats.redeliveries_deferred++;
        } else {
            p->attempt++;
            session_write_msg(c, p->msg, p->attempt);
            b->stats.redeliveries++;
        }
        if (p == last)
            break;
    }
}

struct pending *pending_fast_find(struct session *c, int64_t stream, int64_t from, int64_t mid,
                                  int *any)
{
    struct pending *p;
    *any = 0;
    TAILQ_FOREACH(p, &c->pend, link)
        if (p->fast && !p->msg->dead && p->msg->stream == stream) {
            *any = 1;
            if (p->msg->meta.from_client_id == from && p->msg->meta.message_id == mid)
                return p;
        }
    return NULL;
}

void pending_cover(struct session *c, struct pending *p)
{
    p->fast = 0;
    if (p->finished)
        pending_drop(c, p);
}

void pending_drop_msg(struct session *c, const struct msg *m)
{
    struct pending *p;
    TAILQ_FOREACH(p, &c->pend, link)
        if (p->msg == m) {
            pending_drop(c, p);
            return;
        }
}

struct eid pending_fast_sent(const struct session *c, const struct stream_state *s)
{
    /* An unconfirmed record's entry is P-<seq>: all of P counts as sent. */
    struct eid sent = s->sent;
    const struct pending *p;
    if (!(s->flags & SS_FAST))
        return sent;
    TAILQ_FOREACH(p, &c->pend, link)
        if (p->fast && !p->msg->dead && p->msg->stream == s->channel) {
            struct eid e = p->msg->eid;
            if (p->msg->unconfirmed)
                e.seq = UINT64_MAX;
            if (eid_cmp(e, sent) > 0)
                sent = e;
        }
    return sent;
}

void pending_clear(struct session *c)
{
    struct pending *p;
    while ((p = TAILQ_FIRST(&c->pend)) != NULL)
        pending_drop(c, p);
}

void pending_oldest_each(struct session *c, const struct pending **oldest)
{
    /* One walk over the records, whatever the number of streams: a walk
     * per stream cost streams x records on every cursor write. */
    const struct pending *p;
    memset(oldest, 0, c->nstreams * sizeof(*oldest));
    TAILQ_FOREACH(p, &c->pend, link) {
        if (p->fast)
            continue;  /* uncovered: see broker.h */
        struct stream_state *s = p->msg->dead ? NULL : session_stream(c, p->msg->stream);
        if (!s)
            continue;  /* its channel was left, or Redis never took it */
        const struct pending **best = &oldest[s - c->streams];
        if (!*best || eid_cmp(p->msg->eid, (*best)->msg->eid) < 0)
            *best = p;
    }
}
