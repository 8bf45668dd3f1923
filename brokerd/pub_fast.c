/* Deliver first, acknowledge when durable (docs/DESIGN.md, "Deliver
 * first"): a PUB to a device of this loop is written to it in the pass
 * that read it, and one to a device of a sibling loop is handed to that
 * loop (handoff.c), which writes it the same way; the script's reply still
 * makes the Ack. This file decides when that may be done, writes it, and
 * follows the record until the inbox's position covers it (the F notice,
 * or a catch-up read). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker.h"
#include "deliver_first.h"
#include "xmalloc.h"

/* 32 buckets of 20 s: the last 620 s, more than pg.dup_over's window of
 * 600 s, with room for the clocks of Redis and this host. */
#define PUB_FAST_BUCKETS 32
#define PUB_FAST_BUCKET_MS (20 * 1000)

/* A PUB of the sender that took the script's path, whose notice may still
 * be on its way here: its target, and the order mark sent after it. */
struct pub_slow {
    int64_t to, channel;         /* a device, or (to 0) a channel */
    uint64_t mark;
};
/* Slow PUBs followed per sender (a burst while devices catch up after
 * their IDENTIFY made about 30 per sender at 14,000/s); past it, every
 * target waits (all_wait). It bounds the walk each PUB makes of them. */
#define PUB_SLOW_MAX 256

/* A sender of this loop whose PUBs may be written first. */
struct pub_sender {
    struct session *c;
    int64_t hw;                  /* the highest message id it PUBbed here */
    /* The order mark its last slow PUB waits for: a PUB handed to a sibling
     * loop waits for it there, whatever its target. */
    uint64_t mark_wait;
    /* Here, a PUB waits only for the slow ones that reach one of its
     * devices (docs/DESIGN.md, "Order per sender"): a wait for every
     * target made each PUB behind a slow one slow too, and so on for good
     * under a steady flow (PERFORMANCE 32). */
    struct pub_slow *slow;       /* NULL while there is none */
    uint32_t nslow, capslow;
    uint64_t all_wait;           /* the mark every target waits for (slow was full) */
    /* Its PUBs sent to Redis in the last PUB_FAST_BUCKETS buckets of
     * PUB_FAST_BUCKET_MS (the newest, bucket_at, partly): at least what
     * Redis counts against max-dedup-per-sender (pg.dup_over), whose window
     * began less than 600 s ago, wherever that window began. */
    uint32_t buckets[PUB_FAST_BUCKETS];
    int64_t bucket_at;           /* now_ms() / PUB_FAST_BUCKET_MS of the newest */
    uint64_t count;              /* their sum */
};

/* A PUB repeats one accepted within 10 minutes (SPEC 2.5); a second more
 * for the clocks of Redis and this host. */
#define PUB_FAST_QUIET_MS (601 * 1000)

void pub_fast_identified(struct session *c, int64_t since_ms, int clean)
{
    c->pub_fast = clean && (since_ms == 0 || since_ms + PUB_FAST_QUIET_MS <= now_ms());
}

static void pub_sender_free(struct pub_sender *ps)
{
    if (ps)
        free(ps->slow);
    free(ps);
}

void pub_fast_forget(struct session *c)
{
    struct pub_sender *ps = imap_get(&c->b->pub_senders, c->client_id);
    if (ps && ps->c == c) {
        imap_del(&c->b->pub_senders, c->client_id);
        pub_sender_free(ps);
    }
}

/* Counts a PUB of ps at now, after the buckets older than the window
 * are emptied (at most PUB_FAST_BUCKETS steps). */
static void pub_sender_count(struct pub_sender *ps, int64_t now)
{
    int64_t at = now / PUB_FAST_BUCKET_MS;
    if (at - ps->bucket_at >= PUB_FAST_BUCKETS) {
        memset(ps->buckets, 0, sizeof(ps->buckets));
        ps->count = 0;
        ps->bucket_at = at;
    }
    while (ps->bucket_at < at) {
        uint32_t *b = &ps->buckets[++ps->bucket_at % PUB_FAST_BUCKETS];
        ps->count -= *b;
        *b = 0;
    }
    ps->buckets[at % PUB_FAST_BUCKETS]++;
    ps->count++;
}

static struct pub_sender *pub_sender(struct session *c)
{
    if (!c->pub_fast)
        return NULL;
    struct pub_sender *ps = imap_get(&c->b->pub_senders, c->client_id);
    if (!ps || ps->c != c) {
        pub_sender_free(ps);
        ps = xmalloc(sizeof(*ps));
        memset(ps, 0, sizeof(*ps));
        ps->c = c;
        imap_put(&c->b->pub_senders, c->client_id, ps);
    }
    return ps;
}

/* The slow PUBs whose mark is back are done with (their marks grow in
 * the array's order). */
static void pub_slow_prune(struct pub_sender *ps, uint64_t seen)
{
    uint32_t k = 0;
    while (k < ps->nslow && ps->slow[k].mark <= seen)
        k++;
    if (k == 0)
        return;
    ps->nslow -= k;
    memmove(ps->slow, ps->slow + k, ps->nslow * sizeof(*ps->slow));
    if (ps->nslow == 0) {
        free(ps->slow);
        ps->slow = NULL;
        ps->capslow = 0;
    }
}

static void pub_slow_add(struct pub_sender *ps, int64_t to, int64_t channel, uint64_t mark)
{
    if (ps->nslow == PUB_SLOW_MAX) {
        ps->all_wait = mark;
        return;
    }
    if (ps->nslow == ps->capslow) {
        ps->capslow = ps->capslow ? 2 * ps->capslow : 8;
        ps->slow = xreallocarray(ps->slow, ps->capslow, sizeof(*ps->slow));
    }
    ps->slow[ps->nslow++] = (struct pub_slow){ to, to ? 0 : channel, mark };
}

/* Whether a slow PUB of ps may still reach device d: to d, or to a channel
 * d subscribes to. */
static int pub_slow_reaches(const struct pub_sender *ps, struct session *d)
{
    for (uint32_t i = 0; i < ps->nslow; i++) {
        const struct pub_slow *e = &ps->slow[i];
        if (e->to ? e->to == d->client_id : session_stream(d, e->channel) != NULL)
            return 1;
    }
    return 0;
}

/* Whether a PUB of ps to `to` (or channel) must wait for a mark here. */
static int pub_slow_waits(struct broker *b, struct pub_sender *ps, int64_t to, int64_t channel)
{
    uint64_t seen = b->marks_seen[b->index];
    pub_slow_prune(ps, seen);
    if (ps->all_wait > seen)
        return 1;
    if (ps->nslow == 0)
        return 0;
    struct session *one, **d;
    uint32_t n;
    d = pub_fast_reach(b, to, channel, &one, &n);
    for (uint32_t i = 0; i < n; i++)
        if (pub_slow_reaches(ps, d[i]))
            return 1;
    return 0;
}

/* A channel PUB is written first only to a few subscribers here (the
 * unicast of a device on its own channel); a fan-out keeps the batches of
 * deliver.c. */
#define PUB_FAST_SUBS_MAX 16

/* Whether d may be written to now on stream: the stream is quiet (no read
 * of it queued, in flight or owed) and d has room. */
static int pub_fast_ready(struct broker *b, struct session *d, int64_t stream)
{
    const struct stream_state *s = session_stream(d, stream);
    return s && !d->replacing && !d->fresh && (d->state == CS_OPEN || d->state == CS_WAIT_REDIS) &&
           !handoff_holding(b, stream ? 0 : d->client_id, stream) &&
           !(s->flags & (SS_CATCHING_UP | SS_MISSED | SS_BEHIND | SS_QUEUED | SS_FRESH)) &&
           session_unfinished(d) < b->conf.max_pending && d->ops->writable(d) &&
           d->ops->queued(d) <= SESSION_OUTPUT_PAUSE_BYTES;
}

/* The sessions here that get a PUB to device `to`, or to channel: into
 * out; their number, 0 when one of them may not be written to now. */
static uint32_t pub_fast_targets(struct broker *b, int64_t to, int64_t channel,
                                 struct session *out[PUB_FAST_SUBS_MAX])
{
    if (to) {
        out[0] = imap_get(&b->clients, to);
        return out[0] && pub_fast_ready(b, out[0], 0) ? 1 : 0;
    }
    struct channel *ch = imap_get(&b->channels, channel);
    if (!ch || ch->n > PUB_FAST_SUBS_MAX)
        return 0;
    for (uint32_t i = 0; i < ch->n; i++)
        if (!pub_fast_ready(b, out[i] = ch->conns[i], channel))
            return 0;
    return ch->n;
}

static void pub_fast_mark_cb(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd; (void)what;
    notice_mark_send(b, atomic_fetch_add(&b->mark_next, 1));
}

void pub_fast_ask_mark(struct broker *b)
{
    if (!event_pending(b->mark_ev, EV_TIMEOUT, NULL))
        event_active(b->mark_ev, EV_TIMEOUT, 1);
}

struct session **pub_fast_reach(struct broker *b, int64_t to, int64_t channel,
                                struct session **one, uint32_t *n)
{
    if (to) {
        *one = imap_get(&b->clients, to);
        *n = *one != NULL;
        return one;
    }
    struct channel *ch = imap_get(&b->channels, channel);
    *n = ch ? ch->n : 0;
    return ch ? ch->conns : NULL;
}

int pub_fast_here(struct broker *b, int64_t to, int64_t channel)
{
    return to ? imap_get(&b->clients, to) != NULL : imap_get(&b->channels, channel) != NULL;
}

/* The ms proposed for the entry id of a PUB written first at now: never
 * below the last one this loop proposed. */
static uint64_t pub_fast_ms(struct broker *b, int64_t now)
{
    uint64_t ms = (uint64_t)now;
    return b->fast_ms = ms > b->fast_ms ? ms : b->fast_ms;
}

struct msg *pub_fast_write(struct session *c, int64_t to, int64_t channel, int64_t mid,
                           const char *body, size_t len, uint64_t *at, int *loop)
{
    struct broker *b = c->b;
    struct pub_sender *ps = pub_sender(c);
    *loop = -1;
    if (!ps || !store_ready(b))
        return NULL;  /* without Redis the PUB is refused at once: not written */
    /* A PUB Redis would refuse for the sender's quota is not written. */
    int64_t now = now_ms();
    pub_sender_count(ps, now);
    uint64_t quota = b->conf.max_dedup_per_sender;
    int may = mid > ps->hw && (!quota || ps->count <= quota);
    if (mid > ps->hw)
        ps->hw = mid;
    /* Held by a sibling loop: handed to it, with the mark its sender's
     * last PUB on the script's path asked for (it waits for it there). */
    int sibling = may && !pub_fast_here(b, to, channel) ? handoff_target(b, to, channel) : -1;
    if (sibling >= 0) {
        *at = pub_fast_ms(b, now);
        *loop = sibling;
        handoff_write(b, sibling, to, channel, c->client_id, mid, *at, ps->mark_wait, body, len);
        return NULL;
    }
    struct msg *m = may && !pub_slow_waits(b, ps, to, channel)
                        ? pub_fast_deliver(b, to, channel, c->client_id, mid,
                                           *at = pub_fast_ms(b, now), body, len)
                        : NULL;
    if (!m || (!to && handoff_elsewhere(b, channel))) {
        /* Its notice (here, or on a sibling loop for a channel that also
         * has subscribers there) may come after a later fast message:
         * that one waits for the mark sent after this pass's scripts. */
        ps->mark_wait = atomic_load(&b->mark_next);
        if (!m)
            pub_slow_add(ps, to, channel, ps->mark_wait);
        pub_fast_ask_mark(b);
        if (!m)
            return NULL;
    }
    *loop = b->index;
    return m;
}

struct msg *pub_fast_deliver(struct broker *b, int64_t to, int64_t channel, int64_t from,
                             int64_t mid, uint64_t at, const char *body, size_t len)
{
    struct session *d[PUB_FAST_SUBS_MAX];
    uint32_t n = pub_fast_targets(b, to, channel, d);
    if (n == 0)
        return NULL;
    struct frame_msg_meta meta = { mid, channel, from, (int64_t)at, 1 };
    struct msg *m = msg_new(&meta, (struct eid){ at, 0 },
                            (int64_t)at + (int64_t)b->conf.offline_ttl * 1000,
                            to ? 0 : channel, 0, NULL, body, len);
    m->unconfirmed = 1;
    int64_t mono = mono_ms();
    for (uint32_t i = 0; i < n; i++) {
        session_write_msg(d[i], m, 1);
        pending_add(d[i], m, 1, mono)->fast = 1;
        session_stream(d[i], m->stream)->flags |= SS_FAST;
    }
    b->stats.messages_fast++;
    return m;
}

/* Not written, as far as this loop knows: no redelivery (SPEC 2.5, a
 * retry may bring it again; an F that still comes finds no record and
 * reads the stream). The records of the sessions it was written to are
 * dropped; one that left the channel meanwhile drops its record at its
 * deadline. */
static void pub_fast_fail(struct broker *b, struct msg *m, int64_t to)
{
    struct session *one, **d;
    uint32_t n;
    m->dead = 1;
    d = pub_fast_reach(b, to, m->stream, &one, &n);
    for (uint32_t i = 0; i < n; i++)
        pending_drop_msg(d[i], m);
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
        msg_unref(m);
        return;
    }
    /* An F notice or a read already showed its entry in Redis (the reply
     * failed after the script ran: WAIT short of --redis-min-replicas, or
     * the connection lost): its records are ordinary ones now, redelivered
     * until FINed, as the sender's retry will be answered from pg:dup. */
    if (!m->unconfirmed) {
        msg_unref(m);
        return;
    }
    pub_fast_fail(b, m, to);
    msg_unref(m);
}

void pub_fast_failed(struct broker *b, int64_t to, int64_t channel, int64_t from, int64_t mid)
{
    struct session *one, **d;
    uint32_t n;
    d = pub_fast_reach(b, to, channel, &one, &n);
    for (uint32_t i = 0; i < n; i++) {
        int any;
        struct pending *p = pending_fast_find(d[i], to ? 0 : channel, from, mid, &any);
        if (p && p->msg->unconfirmed) {
            struct msg *m = p->msg;
            m->refs++;  /* while its records go */
            pub_fast_fail(b, m, to);
            msg_unref(m);
            return;
        }
    }
}

/* F for session d's stream: like the message's notice, without writing it
 * again where it was written. */
static void pub_fast_cover(struct session *d, int64_t stream, struct eid eid, int64_t from,
                           int64_t mid)
{
    struct stream_state *s = d->state == CS_DEAD ? NULL : session_stream(d, stream);
    int any;
    struct pending *p = s ? pending_fast_find(d, stream, from, mid, &any) : NULL;
    if (!s)
        return;
    if (p)
        pub_fast_confirm(p->msg, eid);
    if (s->flags & SS_CATCHING_UP) {
        s->flags |= SS_MISSED;  /* the read covers it, or brings it */
        return;
    }
    if (s->flags & SS_BEHIND)
        return;  /* so will the read that catches up */
    if (!p) {
        /* Not written here first (it joined, or identified, since): read. */
        if (eid_cmp(eid, s->sent) > 0)
            catch_up_stream(d, s);
        return;
    }
    pending_cover(d, p);
    if (eid_cmp(eid, s->sent) > 0)
        s->sent = eid;
    d->cursors_dirty = 1;
}

void pub_fast_notice(struct broker *b, int64_t to, int64_t channel, struct eid eid, int64_t from,
                     int64_t mid)
{
    struct session *one, **d;
    uint32_t n;
    if (handoff_release(b, to, channel, eid, from, mid))
        return;  /* handed over, held: delivered now as its notice */
    d = pub_fast_reach(b, to, channel, &one, &n);
    for (uint32_t i = 0; i < n; i++)
        pub_fast_cover(d[i], to ? 0 : channel, eid, from, mid);
}

int pub_fast_seen(struct session *c, struct stream_state *s, struct eid eid, int64_t from,
                  int64_t mid)
{
    if (!(s->flags & SS_FAST))
        return 0;
    int any;
    struct pending *p = pending_fast_find(c, s->channel, from, mid, &any);
    if (!any)
        s->flags &= ~(uint32_t)SS_FAST;
    if (!p)
        return 0;
    pub_fast_confirm(p->msg, eid);
    pending_cover(c, p);
    s->sent = eid;
    return 1;
}

void pub_fast_mark(struct broker *b, int loop, uint64_t seq)
{
    if (loop < 0 || loop >= b->proc->n || seq <= b->marks_seen[loop])
        return;
    b->marks_seen[loop] = seq;
    pub_barrier_passed(b);
}

int pub_fast_init(struct broker *b)
{
    imap_init(&b->pub_senders);
    atomic_store(&b->mark_next, 1);
    b->mark_ev = event_new(b->base, -1, 0, pub_fast_mark_cb, b);
    return b->mark_ev ? 0 : -1;
}

void pub_fast_free(struct broker *b)
{
    for (size_t i = 0; i < b->pub_senders.cap; i++)
        if (b->pub_senders.slots[i].key)
            pub_sender_free(b->pub_senders.slots[i].val);
    imap_free(&b->pub_senders);
    if (b->mark_ev)
        event_free(b->mark_ev);
    b->mark_ev = NULL;
}
