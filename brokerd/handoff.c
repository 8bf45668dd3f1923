/* Deliver first across the loops of one process (docs/DESIGN.md, "Deliver
 * first", "Handing over"): a PUB read on one loop for a device a sibling
 * loop holds goes to that loop in memory, through its inbox and a wake-up,
 * and is written there before Redis answers. The process keeps an index of
 * which loop holds each device and each channel's subscribers. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "deliver_first.h"
#include "xmalloc.h"

/* A held PUB whose F has not come in this long (its device moved, its
 * channel's broker set was behind) is dropped and its stream read. */
#define HANDOFF_HOLD_MS 2000

void handoff_dir_init(struct broker_proc *p)
{
    pthread_mutex_init(&p->dir.lock, NULL);
    imap_init(&p->dir.devices);
    imap_init(&p->dir.channels);
}

void handoff_dir_free(struct broker_proc *p)
{
    imap_free(&p->dir.devices);
    imap_free(&p->dir.channels);
    pthread_mutex_destroy(&p->dir.lock);
}

/* c is on its loop (here) or left it: the index follows. */
static void handoff_dev(struct session *c, int here)
{
    struct broker_proc *p = c->b->proc;
    void *loop = (void *)(intptr_t)(c->b->index + 1);
    if (p->n == 1)
        return;
    pthread_mutex_lock(&p->dir.lock);
    if (here)
        imap_put(&p->dir.devices, c->client_id, loop);
    else if (imap_get(&p->dir.devices, c->client_id) == loop)
        imap_del(&p->dir.devices, c->client_id);  /* not a newer connection's elsewhere */
    pthread_mutex_unlock(&p->dir.lock);
}

void handoff_dev_here(struct session *c)
{
    handoff_dev(c, 1);
}

void handoff_dev_gone(struct session *c)
{
    handoff_dev(c, 0);
}

static void handoff_chan_mask(struct broker *b, int64_t channel, int here)
{
    struct broker_proc *p = b->proc;
    if (p->n == 1 || channel <= 0)
        return;  /* a name's handle is its loop's own */
    uint64_t bit = UINT64_C(1) << b->index;
    pthread_mutex_lock(&p->dir.lock);
    uint64_t mask = (uint64_t)(uintptr_t)imap_get(&p->dir.channels, channel);
    mask = here ? mask | bit : mask & ~bit;
    if (mask)
        imap_put(&p->dir.channels, channel, (void *)(uintptr_t)mask);
    else
        imap_del(&p->dir.channels, channel);
    pthread_mutex_unlock(&p->dir.lock);
}

void handoff_chan_here(struct broker *b, int64_t channel)
{
    handoff_chan_mask(b, channel, 1);
}

void handoff_chan_gone(struct broker *b, int64_t channel)
{
    handoff_chan_mask(b, channel, 0);
}

int handoff_elsewhere(struct broker *b, int64_t channel)
{
    struct broker_proc *p = b->proc;
    if (p->n == 1 || channel <= 0)
        return 0;
    pthread_mutex_lock(&p->dir.lock);
    uint64_t mask = (uint64_t)(uintptr_t)imap_get(&p->dir.channels, channel);
    pthread_mutex_unlock(&p->dir.lock);
    return (mask & ~(UINT64_C(1) << b->index)) != 0;
}

int handoff_target(struct broker *b, int64_t to, int64_t channel)
{
    struct broker_proc *p = b->proc;
    if (p->n == 1 || (!to && channel <= 0))
        return -1;
    int loop = -1;
    pthread_mutex_lock(&p->dir.lock);
    if (to) {
        loop = (int)(intptr_t)imap_get(&p->dir.devices, to) - 1;
    } else {
        uint64_t mask = (uint64_t)(uintptr_t)imap_get(&p->dir.channels, channel);
        if (mask && (mask & (mask - 1)) == 0)  /* one loop alone */
            loop = __builtin_ctzll(mask);
    }
    pthread_mutex_unlock(&p->dir.lock);
    return loop == b->index ? -1 : loop;
}

/* ---- the inbox ---- */

static struct handoff_item *handoff_item_new(struct broker *b, enum handoff_kind kind, int64_t to,
                                             int64_t channel, int64_t from, int64_t mid,
                                             size_t len)
{
    struct handoff_item *it = xmalloc(sizeof(*it) + len);
    memset(it, 0, sizeof(*it));
    it->kind = (uint8_t)kind;
    it->src = (uint8_t)b->index;
    it->to = to;
    it->channel = channel;
    it->from = from;
    it->mid = mid;
    it->len = len;
    return it;
}

/* Pushed at once (an F that comes first finds it), the loop woken at the
 * end of this pass: one wake-up (a pipe write, and the read, on 2 system
 * calls) per pass and sibling, whatever the PUBs. */
static void handoff_push(struct broker *b, int loop, struct handoff_item *it)
{
    struct handoff_inbox *in = &b->proc->loops[loop].inbox;
    pthread_mutex_lock(&in->lock);
    int was_empty = in->head == NULL;
    if (in->tail)
        in->tail->next = it;
    else
        in->head = it;
    in->tail = it;
    pthread_mutex_unlock(&in->lock);
    if (!was_empty)
        return;  /* the push that filled it wakes it */
    if (!b->wake_due)
        event_active(b->wake_ev, EV_TIMEOUT, 1);
    b->wake_due |= UINT64_C(1) << loop;
}

static void handoff_wake_due_cb(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd; (void)what;
    for (uint64_t due = b->wake_due; due; due &= due - 1)
        loop_wake(&b->proc->loops[__builtin_ctzll(due)].inbox.wake);
    b->wake_due = 0;
}

void handoff_write(struct broker *b, int loop, int64_t to, int64_t channel, int64_t from,
                   int64_t mid, uint64_t at, uint64_t mark_wait, const char *body, size_t len)
{
    struct handoff_item *it = handoff_item_new(b, HANDOFF_WRITE, to, channel, from, mid, len);
    it->at = at;
    it->mark_wait = mark_wait;
    memcpy(it->body, body, len);
    b->stats.messages_handed++;
    handoff_push(b, loop, it);
}

void handoff_drop(struct broker *b, int loop, int64_t to, int64_t channel, int64_t from,
                  int64_t mid)
{
    handoff_push(b, loop, handoff_item_new(b, HANDOFF_DROP, to, channel, from, mid, 0));
}

void handoff_ask_mark(struct broker *b, int loop)
{
    if (loop == b->index) {
        pub_fast_ask_mark(b);
        return;
    }
    struct handoff_inbox *in = &b->proc->loops[loop].inbox;
    if (!atomic_exchange(&in->want_mark, 1))
        loop_wake(&in->wake);
}

/* ---- held PUBs ---- */

static struct imap *held_index(struct handoff_held *h, int64_t to)
{
    return to ? &h->devices : &h->channels;
}

static void held_count_in(struct imap *m, int64_t key, int add)
{
    uintptr_t n = (uintptr_t)imap_get(m, key) + (uintptr_t)(add ? 1 : -1);
    if (n)
        imap_put(m, key, (void *)n);
    else
        imap_del(m, key);
}

/* Counted by target and by sender: a sender's later PUBs wait behind its
 * held one whatever their target (order per sender). */
static void held_count(struct handoff_held *h, const struct handoff_item *it, int add)
{
    held_count_in(held_index(h, it->to), it->to ? it->to : it->channel, add);
    held_count_in(&h->senders, it->from, add);
    h->n += add ? 1u : (uint32_t)-1;
}

int handoff_holding(const struct broker *b, int64_t to, int64_t stream)
{
    const struct handoff_held *h = &b->held;
    return h->n && imap_get(to ? &h->devices : &h->channels, to ? to : stream) != NULL;
}

static void held_add(struct broker *b, struct handoff_item *it)
{
    struct handoff_held *h = &b->held;
    it->next = NULL;
    it->held_ms = mono_ms();
    if (h->tail)
        h->tail->next = it;
    else
        h->head = it;
    h->tail = it;
    held_count(h, it, 1);
}

/* Takes the held item of (to, channel, from, mid) out, or NULL. */
static struct handoff_item *held_take(struct broker *b, int64_t to, int64_t channel, int64_t from,
                                      int64_t mid)
{
    struct handoff_held *h = &b->held;
    if (!handoff_holding(b, to, channel))
        return NULL;
    for (struct handoff_item **pp = &h->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
        struct handoff_item *it = *pp;
        if (it->to != to || it->channel != channel || it->from != from || it->mid != mid)
            continue;
        *pp = it->next;
        if (h->tail == it)
            h->tail = prev;
        held_count(h, it, 0);
        return it;
    }
    return NULL;
}

int handoff_release(struct broker *b, int64_t to, int64_t channel, struct eid eid, int64_t from,
                    int64_t mid)
{
    struct handoff_item *it = held_take(b, to, channel, from, mid);
    if (!it)
        return 0;
    /* What its M notice would have brought. */
    struct frame_msg_meta meta = { mid, channel, from, (int64_t)eid.ms, 1 };
    struct msg *m = msg_new(&meta, eid, (int64_t)it->at + (int64_t)b->conf.offline_ttl * 1000,
                            to ? 0 : channel, 0, NULL, it->body, it->len);
    free(it);
    if (to) {
        deliver_device(b, m, to);
        msg_unref(m);
    } else {
        deliver_channel(b, m);
    }
    return 1;
}

/* Its stream is read instead: the entry is there, or will be. */
static void held_expire(struct broker *b, struct handoff_item *it)
{
    struct session *one;
    uint32_t n;
    struct session **ds = pub_fast_reach(b, it->to, it->channel, &one, &n);
    for (uint32_t i = 0; i < n; i++) {
        struct session *d = ds[i];
        struct stream_state *s = d->state == CS_DEAD ? NULL : session_stream(d, it->to ? 0 : it->channel);
        if (!s)
            continue;
        if (s->flags & SS_CATCHING_UP)
            s->flags |= SS_MISSED;
        else
            catch_up_stream(d, s);
    }
}

void handoff_tick(struct broker *b, int64_t mono)
{
    struct handoff_held *h = &b->held;
    while (h->head && mono - h->head->held_ms >= HANDOFF_HOLD_MS) {
        struct handoff_item *it = h->head;
        h->head = it->next;
        if (!h->head)
            h->tail = NULL;
        held_count(h, it, 0);
        log_debug("client %lld: PUB %lld of %lld held %d ms without its F notice: reading",
                  (long long)it->to, (long long)it->mid, (long long)it->from, HANDOFF_HOLD_MS);
        held_expire(b, it);
        free(it);
    }
}

/* ---- the target loop takes its inbox ---- */

static int handoff_same(const struct handoff_item *a, const struct handoff_item *b)
{
    return a->to == b->to && a->channel == b->channel && a->from == b->from && a->mid == b->mid;
}

static void handoff_take(struct broker *b, struct handoff_item *it, const struct handoff_item *f)
{
    if (it->kind == HANDOFF_DROP && f && handoff_same(it, f)) {
        free(it);  /* its F is being read: Redis has the entry, the records stay */
        return;
    }
    if (it->kind == HANDOFF_DROP) {
        log_debug("client %lld: PUB %lld of %lld failed in redis", (long long)it->to,
                  (long long)it->mid, (long long)it->from);
        struct handoff_item *held = held_take(b, it->to, it->channel, it->from, it->mid);
        if (held)
            free(held);
        else
            pub_fast_failed(b, it->to, it->channel, it->from, it->mid);
        free(it);
        return;
    }
    if (!pub_fast_here(b, it->to, it->channel)) {
        log_debug("client %lld: PUB %lld of %lld handed over, not here", (long long)it->to,
                  (long long)it->mid, (long long)it->from);
        free(it);  /* its F, if it comes, finds nothing to cover */
        return;
    }
    /* Behind the sender's earlier PUBs that took the script's path (the
     * mark), behind what is held of the sender's, and behind what is held
     * for the target (checked with the target's readiness); this loop's
     * notices must be coming (its Redis ready). */
    struct msg *m = b->marks_seen[it->src] >= it->mark_wait && !b->stopping && store_ready(b) &&
                            !(b->held.n && imap_get(&b->held.senders, it->from))
                        ? pub_fast_deliver(b, it->to, it->channel, it->from, it->mid, it->at,
                                           it->body, it->len)
                        : NULL;
    if (m) {
        msg_unref(m);
        free(it);
    } else {
        log_debug("client %lld: PUB %lld of %lld handed over, held", (long long)it->to,
                  (long long)it->mid, (long long)it->from);
        held_add(b, it);
    }
}

void handoff_drain(struct broker *b, int64_t to, int64_t channel, int64_t from, int64_t mid)
{
    const struct handoff_item f = { .to = to, .channel = channel, .from = from, .mid = mid };
    struct handoff_inbox *in = &b->inbox;
    if (atomic_exchange(&in->want_mark, 0))
        pub_fast_ask_mark(b);
    pthread_mutex_lock(&in->lock);
    struct handoff_item *it = in->head;
    in->head = in->tail = NULL;
    pthread_mutex_unlock(&in->lock);
    while (it) {
        struct handoff_item *next = it->next;
        handoff_take(b, it, mid ? &f : NULL);
        it = next;
    }
}

static void handoff_wake_cb(void *arg)
{
    handoff_drain(arg, 0, 0, 0, 0);
}

int handoff_init(struct broker *b)
{
    pthread_mutex_init(&b->inbox.lock, NULL);
    imap_init(&b->held.devices);
    imap_init(&b->held.channels);
    imap_init(&b->held.senders);
    b->wake_ev = event_new(b->base, -1, 0, handoff_wake_due_cb, b);
    return b->wake_ev ? loop_wake_init(&b->inbox.wake, b->base, handoff_wake_cb, b) : -1;
}

static void handoff_list_free(struct handoff_item *it)
{
    while (it) {
        struct handoff_item *next = it->next;
        free(it);
        it = next;
    }
}

void handoff_stop(struct broker *b)
{
    if (b->wake_ev)
        event_free(b->wake_ev);
    b->wake_ev = NULL;
    loop_wake_free(&b->inbox.wake);
}

void handoff_free(struct broker *b)
{
    handoff_list_free(b->inbox.head);
    handoff_list_free(b->held.head);
    b->inbox.head = b->inbox.tail = b->held.head = b->held.tail = NULL;
    imap_free(&b->held.devices);
    imap_free(&b->held.channels);
    imap_free(&b->held.senders);
    pthread_mutex_destroy(&b->inbox.lock);
}
