/* Live delivery: a message from a notice goes to the sessions that should
 * get it now, channel messages in batches (docs/PERFORMANCE.md). */
#include <stdlib.h>

#include <event2/event.h>

#include "broker.h"

/* Sends m on stream s of c if it is the next thing c should get. */
/* now: wall clock, for expiry; mono: mono_ms(), for the pending deadline.
 * Both are read once per notice, not per subscriber. */
static void deliver_live(struct session *c, struct stream_state *s, struct msg *m, int64_t now,
                         int64_t mono)
{
    if (c->state == CS_DEAD)
        return;
    if (s->flags & SS_CATCHING_UP) {
        s->flags |= SS_MISSED;
        return;
    }
    if ((s->flags & SS_BEHIND) || eid_cmp(m->eid, s->sent) <= 0)
        return;
    if ((m->expire_ms && m->expire_ms <= now) ||
        (m->type_filter && m->type_filter != c->device_type)) {
        s->sent = m->eid;  /* not for this device: passed over */
        return;
    }
    if (session_unfinished(c) >= c->b->conf.max_pending) {
        s->flags |= SS_BEHIND;
        c->behind = 1;
        return;
    }
    s->sent = m->eid;
    session_write_msg(c, m, 1);
    pending_add(c, m, 1, mono);
}

/* Channel messages read from Redis in one go are written connection by
 * connection instead of message by message: each subscriber's connection,
 * stream, output buffer and pending list are then touched once per batch,
 * not once per message, and a fan-out's time was mostly cache misses on
 * them (docs/PERFORMANCE.md). The batch goes out once the read is done
 * (batch_ev, in the same loop pass), before any other kind of notice, so
 * the order notices came in is kept, or when it is full. */
static void deliver_run(struct broker *b, struct msg *const *ms, unsigned n, int64_t now,
                        int64_t mono)
{
    int64_t channel = ms[0]->stream;
    struct channel *ch = imap_get(&b->channels, channel);
    for (uint32_t i = 0; ch && i < ch->n; i++) {
        struct session *c = ch->conns[i];
        struct stream_state *s = session_stream(c, channel);
        for (unsigned k = 0; s && k < n; k++)
            deliver_live(c, s, ms[k], now, mono);
    }
}

void deliver_flush(struct broker *b)
{
    unsigned n = b->nbatch, i, j;
    if (n == 0)
        return;
    int64_t now = now_ms(), mono = mono_ms();
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && b->batch[j]->stream == b->batch[i]->stream; j++)
            ;
        deliver_run(b, b->batch + i, j - i, now, mono);
    }
    for (i = 0; i < n; i++)
        msg_unref(b->batch[i]);
    b->nbatch = 0;
}

static void deliver_batch_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    deliver_flush(arg);
}

int deliver_batch_init(struct broker *b)
{
    b->batch_ev = event_new(b->base, -1, 0, deliver_batch_cb, b);
    return b->batch_ev ? 0 : -1;
}

void deliver_batch_free(struct broker *b)
{
    for (unsigned i = 0; i < b->nbatch; i++)
        msg_unref(b->batch[i]);
    b->nbatch = 0;
    if (b->batch_ev)
        event_free(b->batch_ev);
    b->batch_ev = NULL;
}

static void deliver_batch_add(struct broker *b, struct msg *m)
{
    if (b->nbatch == DELIVER_BATCH_MAX)
        deliver_flush(b);
    if (b->nbatch == 0)
        event_active(b->batch_ev, EV_TIMEOUT, 1);
    b->batch[b->nbatch++] = m;
}

void deliver_channel(struct broker *b, struct msg *m)
{
    deliver_batch_add(b, m);
}

void deliver_device(struct broker *b, struct msg *m, int64_t to)
{
    /* A device's own message goes out at once, after what came before it. */
    deliver_flush(b);
    struct session *c = imap_get(&b->clients, to);
    if (c && c->nstreams > 0)
        deliver_live(c, &c->streams[0], m, now_ms(), mono_ms());
}
