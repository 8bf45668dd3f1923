/* pending: un-FINed messages per session, FIN, the oldest per stream, and
 * redelivery in deadline order (brokerd/pending.c, compiled in). */
#include <criterion/criterion.h>

#include "brokerd_fake.h"

static struct broker b;

static void setup(void)
{
    fake_broker(&b);
}

static void teardown(void)
{
    fake_broker_free(&b);
}

TestSuite(pending, .init = setup, .fini = teardown);

/* The oldest un-FINed record of f's stream `stream`, as the cursors see it. */
static const struct pending *oldest(struct fake_conn *f, int64_t stream)
{
    const struct pending *o[4];
    pending_oldest_each(&f->s, o);
    const struct stream_state *s = session_stream(&f->s, stream);
    return s ? o[s - f->s.streams] : NULL;
}

Test(pending, add_counts_and_holds_a_reference)
{
    struct fake_conn *f = fake_conn_new(&b, 11);
    struct msg *m = fake_msg(101, 0, 1000, 1);
    pending_add(&f->s, m, 1, mono_ms());
    pending_add(&f->s, m, 1, mono_ms());
    cr_assert_eq(f->s.npending, 2);
    cr_assert_eq(b.npending, 2);
    cr_assert_eq(m->refs, 3);
    pending_clear(&f->s);
    cr_assert_eq(f->s.npending, 0);
    cr_assert_eq(b.npending, 0);
    cr_assert_eq(m->refs, 1);
    msg_unref(m);
    fake_conn_free(f);
}

Test(pending, fin_drops_the_first_with_that_id)
{
    struct fake_conn *f = fake_conn_new(&b, 11);
    struct msg *a = fake_msg(101, 0, 1000, 1), *c = fake_msg(102, 0, 1000, 2);
    struct msg *d = fake_msg(101, 0, 1000, 3);  /* same id from another sender */
    int64_t now = mono_ms();
    pending_add(&f->s, a, 1, now);
    pending_add(&f->s, c, 1, now);
    pending_add(&f->s, d, 1, now);
    cr_assert_eq(pending_fin(&f->s, 999), -1);
    cr_assert_eq(f->s.npending, 3);
    cr_assert_eq(f->s.cursors_dirty, 0);
    cr_assert_eq(pending_fin(&f->s, 101), 0);
    cr_assert_eq(f->s.npending, 2);
    cr_assert_eq(f->s.cursors_dirty, 1);
    cr_assert_eq(a->refs, 1);  /* the oldest of the two 101s went */
    cr_assert_eq(d->refs, 2);
    cr_assert_eq(oldest(f, 0)->msg, c);
    cr_assert_eq(pending_fin(&f->s, 101), 0);
    cr_assert_eq(pending_fin(&f->s, 101), -1);
    cr_assert_eq(pending_fin(&f->s, 102), 0);
    cr_assert_eq(f->s.npending, 0);
    cr_assert_null(oldest(f, 0));
    cr_assert_eq(fake_catch_ups, 0);
    msg_unref(a); msg_unref(c); msg_unref(d);
    fake_conn_free(f);
}

Test(pending, oldest_is_per_stream)
{
    struct fake_conn *f = fake_conn_new(&b, 11);
    f->s.streams[1].channel = 77;
    f->s.nstreams = 2;
    struct msg *in = fake_msg(1, 0, 50, 0), *ch1 = fake_msg(2, 77, 40, 0);
    struct msg *ch2 = fake_msg(3, 77, 45, 0);
    int64_t now = mono_ms();
    pending_add(&f->s, in, 1, now);
    pending_add(&f->s, ch1, 1, now);
    pending_add(&f->s, ch2, 1, now);
    cr_assert_eq(oldest(f, 0)->msg, in);
    cr_assert_eq(oldest(f, 77)->msg, ch1);
    cr_assert_null(oldest(f, 78));
    msg_unref(in); msg_unref(ch1); msg_unref(ch2);
    fake_conn_free(f);
}

/* A record written before Redis had it (fast, uncovered) is never a
 * cursor's start, even with the lower id: its proposed id may sort before
 * an entry whose notice has not come. */
Test(pending, oldest_passes_over_uncovered_records)
{
    struct fake_conn *f = fake_conn_new(&b, 11);
    struct msg *fast = fake_msg(1, 0, 30, 0), *in = fake_msg(2, 0, 50, 0);
    int64_t now = mono_ms();
    pending_add(&f->s, fast, 1, now)->fast = 1;
    cr_assert_null(oldest(f, 0));
    pending_add(&f->s, in, 1, now);
    cr_assert_eq(oldest(f, 0)->msg, in);
    msg_unref(fast); msg_unref(in);
    fake_conn_free(f);
}

/* Streams skipped for max-pending (SS_BEHIND) catch up once half the room
 * is back, not before. */
Test(pending, fin_restarts_a_stream_behind_at_half_room)
{
    b.conf.max_pending = 4;
    struct fake_conn *f = fake_conn_new(&b, 11);
    f->s.streams[0].flags = SS_BEHIND;
    f->s.behind = 1;  /* as deliver.c and catch_up.c set it with SS_BEHIND */
    struct msg *m[4];
    for (int i = 0; i < 4; i++) {
        m[i] = fake_msg(200 + i, 0, 10, (uint64_t)i);
        pending_add(&f->s, m[i], 1, mono_ms());
    }
    cr_assert_eq(pending_fin(&f->s, 200), 0);
    cr_assert_eq(fake_catch_ups, 0);  /* 3 pending: more than half of 4 */
    cr_assert_eq(pending_fin(&f->s, 201), 0);
    cr_assert_eq(fake_catch_ups, 1);  /* 2: half */
    for (int i = 0; i < 4; i++)
        msg_unref(m[i]);
    fake_conn_free(f);
}

/* A connection whose output is over the pause mark gets nothing more: its
 * due record waits for its next deadline with the same attempt, and goes
 * out once the output drained. */
Test(pending, redeliver_defers_while_output_is_not_read)
{
    struct fake_conn *f = fake_conn_new(&b, 11);
    struct msg *m = fake_msg(401, 0, 100, 0);
    int64_t timeout = (int64_t)b.conf.msg_timeout * 1000;
    pending_add(&f->s, m, 1, mono_ms() - timeout - 10);
    f->queued = SESSION_OUTPUT_PAUSE_BYTES + 1;
    pending_redeliver(&b);
    cr_assert_eq(f->nwrites, 0);
    cr_assert_eq(b.stats.redeliveries, 0);
    cr_assert_eq(b.stats.redeliveries_deferred, 1);
    const struct pending *p = TAILQ_FIRST(&b.due);
    cr_assert_eq(p->attempt, 1);
    cr_assert_geq(p->deadline_ms, mono_ms() + timeout - 1000);
    /* Drained, and due again: written, attempt 2. */
    f->queued = SESSION_OUTPUT_PAUSE_BYTES;
    ((struct pending *)p)->deadline_ms = mono_ms() - 1;
    pending_redeliver(&b);
    cr_assert_eq(f->nwrites, 1);
    cr_assert_eq(f->written_attempt[0], 2);
    cr_assert_eq(f->s.npending, 1);
    msg_unref(m);
    fake_conn_free(f);
}

/* Those past their deadline go out again, in deadline order, attempt + 1,
 * each to the tail with a new deadline; the others wait. */
Test(pending, redeliver_in_deadline_order)
{
    struct fake_conn *f = fake_conn_new(&b, 11), *g = fake_conn_new(&b, 12);
    struct msg *m1 = fake_msg(301, 0, 100, 0), *m2 = fake_msg(302, 0, 200, 0);
    struct msg *m3 = fake_msg(303, 0, 300, 0), *m4 = fake_msg(304, 0, 400, 0);
    int64_t now = mono_ms(), timeout = (int64_t)b.conf.msg_timeout * 1000;
    pending_add(&f->s, m1, 1, now - timeout - 30);  /* due 30 ms ago */
    pending_add(&g->s, m2, 3, now - timeout - 20);
    pending_add(&f->s, m3, 1, now - timeout - 10);
    pending_add(&f->s, m4, 1, now + 5000);           /* not yet */
    pending_redeliver(&b);
    cr_assert_eq(b.stats.redeliveries, 3);
    cr_assert_eq(f->nwrites, 2);
    cr_assert_eq(f->written_mid[0], 301);
    cr_assert_eq(f->written_attempt[0], 2);
    cr_assert_eq(f->written_mid[1], 303);
    cr_assert_eq(f->written_attempt[1], 2);
    cr_assert_eq(g->nwrites, 1);
    cr_assert_eq(g->written_mid[0], 302);
    cr_assert_eq(g->written_attempt[0], 4);
    cr_assert_eq(b.stats.messages_out, 3);
    /* The loop's list: m4 (not due), then m1, m2, m3 with new deadlines. */
    const struct pending *p = TAILQ_FIRST(&b.due);
    cr_assert_eq(p->msg, m4);
    p = TAILQ_NEXT(p, due);
    cr_assert_eq(p->msg, m1);
    cr_assert_geq(p->deadline_ms, now + timeout);
    cr_assert_eq(TAILQ_NEXT(p, due)->msg, m2);
    cr_assert_eq(TAILQ_NEXT(TAILQ_NEXT(p, due), due)->msg, m3);
    /* f's own list is out of entry order now: the oldest is still m1. */
    cr_assert_eq(TAILQ_FIRST(&f->s.pend)->msg, m4);
    cr_assert_eq(oldest(f, 0)->msg, m1);
    /* Nothing more is due. */
    pending_redeliver(&b);
    cr_assert_eq(b.stats.redeliveries, 3);
    msg_unref(m1); msg_unref(m2); msg_unref(m3); msg_unref(m4);
    fake_conn_free(f);
    fake_conn_free(g);
}

/* A closing session gets nothing more; its records still move on. */
Test(pending, redeliver_skips_a_closing_session)
{
    struct fake_conn *f = fake_conn_new(&b, 11);
    struct msg *m = fake_msg(401, 0, 100, 0);
    pending_add(&f->s, m, 1, mono_ms() - (int64_t)b.conf.msg_timeout * 1000 - 1);
    f->s.state = CS_CLOSING;
    pending_redeliver(&b);
    cr_assert_eq(f->nwrites, 0);
    cr_assert_eq(b.stats.redeliveries, 0);
    cr_assert_eq(TAILQ_FIRST(&f->s.pend)->attempt, 1);
    cr_assert_gt(TAILQ_FIRST(&f->s.pend)->deadline_ms, mono_ms());
    msg_unref(m);
    fake_conn_free(f);
}
