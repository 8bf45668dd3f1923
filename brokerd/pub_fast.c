/* Deliver first, acknowledge when durable (docs/DESIGN.md, "Deliver
 * first"): a PUB to a device of this loop is written to it in the pass
 * that read it; the script's reply still makes the Ack. This file decides
 * when that may be done, writes it, and follows the record until the
 * inbox's position covers it (the F notice, or a catch-up read). */
#include <stdlib.h>

#include <event2/event.h>

#include "broker.h"
#include "xmalloc.h"

/* A sender of this loop whose PUBs may be written first. */
struct pub_sender {
    struct session *c;
    int64_t hw;                  /* the highest message id it PUBbed here */
    uint64_t mark_wait;          /* the order mark its last slow PUB waits for */
};

/* A PUB repeats one accepted within 10 minutes (SPEC 2.5); a second more
 * for the clocks of Redis and this host. */
#define PUB_FAST_QUIET_MS (601 * 1000)

void pub_fast_identified(struct session *c, int64_t since_ms, int clean)
{
    c->pub_fast = clean && (since_ms == 0 || since_ms + PUB_FAST_QUIET_MS <= now_ms());
}

void pub_fast_forget(struct session *c)
{
    struct pub_sender *ps = imap_get(&c->b->pub_senders, c->client_id);
    if (ps && ps->c == c) {
        imap_del(&c->b->pub_senders, c->client_id);
        free(ps);
    }
}

static struct pub_sender *pub_sender(struct session *c)
{
    if (!c->pub_fast)
        return NULL;
    struct pub_sender *ps = imap_get(&c->b->pub_senders, c->client_id);
    if (!ps || ps->c != c) {
        free(ps);
        ps = xmalloc(sizeof(*ps));
        *ps = (struct pub_sender){ c, 0, 0 };
        imap_put(&c->b->pub_senders, c->client_id, ps);
    }
    return ps;
}

/* Device `to`'s session here, if a message may be written to it now: its
 * inbox is quiet (no read of it queued, in flight or owed) and it has
 * room. */
static struct session *pub_fast_target(struct broker *b, int64_t to)
{
    struct session *d = imap_get(&b->clients, to);
    if (!d || d->replacing || (d->state != CS_OPEN && d->state != CS_WAIT_REDIS) ||
        d->nstreams == 0 || d->streams[0].channel != 0 ||
        (d->streams[0].flags & (SS_CATCHING_UP | SS_MISSED | SS_BEHIND | SS_QUEUED)) ||
        d->npending >= b->conf.max_pending || !d->ops->writable(d) ||
        d->ops->queued(d) > SESSION_OUTPUT_PAUSE_BYTES)
        return NULL;
    return d;
}

static void pub_fast_mark_cb(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd; (void)what;
    notice_mark_send(b, b->mark_next++);
}

struct msg *pub_fast_write(struct session *c, int64_t to, int64_t channel, int64_t mid,
                           const char *body, size_t len, uint64_t *at)
{
    struct broker *b = c->b;
    struct pub_sender *ps = pub_sender(c);
    if (!ps || !store_ready(b))
        return NULL;  /* without Redis the PUB is refused at once: not written */
    struct session *d = to && mid > ps->hw && ps->mark_wait <= b->mark_seen
                            ? pub_fast_target(b, to) : NULL;
    if (mid > ps->hw)
        ps->hw = mid;
    if (!d) {
        /* Its notice may come after a later fast message: that one waits
         * for the mark sent after this pass's scripts. */
        ps->mark_wait = b->mark_next;
        if (!event_pending(b->mark_ev, EV_TIMEOUT, NULL))
            event_active(b->mark_ev, EV_TIMEOUT, 1);
        return NULL;
    }
    uint64_t ms = (uint64_t)now_ms();
    b->fast_ms = *at = ms > b->fast_ms ? ms : b->fast_ms;
    struct frame_msg_meta meta = { mid, channel, c->client_id, (int64_t)*at, 1 };
    struct msg *m = msg_new(&meta, (struct eid){ *at, 0 },
                            (int64_t)*at + (int64_t)b->conf.offline_ttl * 1000, 0, 0, NULL,
                            body, len);
    m->fast = m->unconfirmed = 1;
    session_write_msg(d, m, 1);
    pending_add(d, m, 1, mono_ms());
    b->stats.messages_fast++;
    /* Its entry id is not known yet: pending_oldest compares them all. */
    d->pend_unordered = 1;
    d->streams[0].flags |= SS_FAST;
    return m;
}

/* m's entry id is eid (Redis's reply, or its F notice, or a read). */
static void pub_fast_confirm(struct msg *m, struct eid eid)
{
    if (!m->unconfirmed)
        return;
    m->eid = eid;
    m->meta.timestamp_ms = (int64_t)eid.ms;  /* P, unless Redis refused it */
    m->unconfirmed = 0;
}

void pub_fast_done(struct broker *b, struct msg *m, int64_t to, const char *id, size_t len)
{
    struct eid eid;
    if (id && eid_parse(id, len, &eid) == 0) {
        pub_fast_confirm(m, eid);
    } else {
        /* Not written: no redelivery (SPEC 2.5, a retry may bring it again). */
        struct session *d = imap_get(&b->clients, to);
        if (d)
            pending_drop_msg(d, m);
    }
    msg_unref(m);
}

void pub_fast_notice(struct broker *b, int64_t to, struct eid eid, int64_t from, int64_t mid)
{
    struct session *d = imap_get(&b->clients, to);
    struct stream_state *s = d && d->state != CS_DEAD ? session_stream(d, 0) : NULL;
    int any;
    struct pending *p = s ? pending_fast_find(d, from, mid, &any) : NULL;
    if (!p)
        return;  /* an earlier connection's; or its write failed */
    pub_fast_confirm(p->msg, eid);
    if (s->flags & SS_CATCHING_UP) {
        s->flags |= SS_MISSED;  /* the read covers it */
        return;
    }
    if (s->flags & SS_BEHIND)
        return;  /* so will the read that catches up */
    pending_cover(d, p);
    if (eid_cmp(eid, s->sent) > 0)
        s->sent = eid;
    d->cursors_dirty = 1;
}

int pub_fast_seen(struct session *c, struct stream_state *s, struct eid eid, int64_t from,
                  int64_t mid)
{
    if (s->channel != 0 || !(s->flags & SS_FAST))
        return 0;
    int any;
    struct pending *p = pending_fast_find(c, from, mid, &any);
    if (!any)
        s->flags &= ~(uint32_t)SS_FAST;
    if (!p)
        return 0;
    pub_fast_confirm(p->msg, eid);
    pending_cover(c, p);
    s->sent = eid;
    return 1;
}

void pub_fast_mark(struct broker *b, uint64_t seq)
{
    if (seq > b->mark_seen)
        b->mark_seen = seq;
}

int pub_fast_init(struct broker *b)
{
    imap_init(&b->pub_senders);
    b->mark_next = 1;
    b->mark_ev = event_new(b->base, -1, 0, pub_fast_mark_cb, b);
    return b->mark_ev ? 0 : -1;
}

void pub_fast_free(struct broker *b)
{
    for (size_t i = 0; i < b->pub_senders.cap; i++)
        if (b->pub_senders.slots[i].key)
            free(b->pub_senders.slots[i].val);
    imap_free(&b->pub_senders);
    if (b->mark_ev)
        event_free(b->mark_ev);
    b->mark_ev = NULL;
}
