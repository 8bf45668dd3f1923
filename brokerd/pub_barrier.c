/* The barrier of a device that registers on a loop of a process with
 * several (docs/DESIGN.md, "Handing over"). A PUB for it read by any loop
 * before it registered here went by Redis: its notice, or its entry for
 * the IDENTIFY read, may still be on the way. So it takes no PUB written
 * first until every loop of the process has sent an order mark after the
 * registration (each loop's marks follow its scripts on its command
 * connection, and come on this loop's notice channel after their
 * notices) and this loop has them all back. The devices registered while
 * one barrier waits share the next one. A stream that joins a channel
 * later (SUB, an S notice) waits for a barrier of its own the same way. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "deliver_first.h"
#include "xmalloc.h"

/* Marks asked for and not back in this long (one was lost with a Redis
 * connection) are asked for again. */
#define PUB_BARRIER_ASK_MS 1000

/* The marks every loop sends next, from now: need[] of a new epoch. */
static void pub_barrier_read(const struct broker *b, uint64_t need[LOOPS_MAX])
{
    for (int i = 0; i < b->proc->n; i++)
        need[i] = atomic_load(&b->proc->loops[i].mark_next);
}

static void pub_barrier_ask(struct broker *b)
{
    b->barrier.asked_ms = mono_ms();
    for (int i = 0; i < b->proc->n; i++)
        handoff_ask_mark(b, i);
}

/* A new entry for c (channel 0: the session) in the epoch to wait for. */
static void pub_barrier_add(struct session *c, int64_t channel)
{
    struct broker *b = c->b;
    struct pub_barrier *w = &b->barrier;
    if (w->waiting == w->done) {
        w->waiting = w->next = w->done + 1;
        pub_barrier_read(b, w->wait_need);
    } else {
        w->next = w->waiting + 1;
        pub_barrier_read(b, w->next_need);  /* later than its earlier devices' */
    }
    if (w->n == w->cap) {
        uint32_t cap = w->cap ? w->cap * 2 : 16;
        struct pub_barrier_entry *ring = xreallocarray(NULL, cap, sizeof(*ring));
        for (uint32_t i = 0; i < w->n; i++)
            ring[i] = w->ring[(w->head + i) % w->cap];
        free(w->ring);
        w->ring = ring;
        w->head = 0;
        w->cap = cap;
    }
    w->ring[(w->head + w->n++) % w->cap] =
        (struct pub_barrier_entry){ c->client_id, c->nonce, channel, w->next };
    pub_barrier_ask(b);
}

void pub_barrier_register(struct session *c)
{
    if (c->b->proc->n == 1)
        return;  /* one loop: its sender's own mark orders it (pub_fast.c) */
    /* After handoff_dev_here: a sibling that reads the index from now on
     * hands this device's PUBs here. */
    pub_barrier_add(c, 0);
    c->fresh = 1;
}

/* A sibling may have handed a PUB of the channel elsewhere while this
 * loop's subscriber joined it in Redis (its notice is on the way): the
 * stream takes nothing written first until the marks are back. */
void pub_barrier_join(struct session *c, struct stream_state *s)
{
    if (c->b->proc->n == 1 || c->fresh || c->client_id == 0)
        return;  /* the session's own barrier covers an IDENTIFY's streams */
    pub_barrier_add(c, s->channel);
    s->flags |= SS_FRESH;
}

static int pub_barrier_met(const struct broker *b, const uint64_t need[LOOPS_MAX])
{
    for (int i = 0; i < b->proc->n; i++)
        if (b->marks_seen[i] < need[i])
            return 0;
    return 1;
}

void pub_barrier_passed(struct broker *b)
{
    struct pub_barrier *w = &b->barrier;
    while (w->waiting > w->done && pub_barrier_met(b, w->wait_need)) {
        w->done = w->waiting;
        if (w->next > w->waiting) {
            w->waiting = w->next;
            memcpy(w->wait_need, w->next_need, sizeof(w->wait_need));
        }
    }
    for (; w->n > 0 && w->ring[w->head].epoch <= w->done; w->n--, w->head = (w->head + 1) % w->cap) {
        const struct pub_barrier_entry *e = &w->ring[w->head];
        struct session *c = imap_get(&b->clients, e->client_id);
        struct stream_state *s;
        if (!c || c->nonce != e->nonce)
            continue;
        if (!e->channel)
            c->fresh = 0;
        else if ((s = session_stream(c, e->channel)) != NULL)
            s->flags &= ~(uint32_t)SS_FRESH;
    }
}

void pub_barrier_tick(struct broker *b, int64_t mono)
{
    struct pub_barrier *w = &b->barrier;
    if (w->waiting > w->done && mono - w->asked_ms >= PUB_BARRIER_ASK_MS)
        pub_barrier_ask(b);
}

void pub_barrier_free(struct broker *b)
{
    free(b->barrier.ring);
    memset(&b->barrier, 0, sizeof(b->barrier));
}
