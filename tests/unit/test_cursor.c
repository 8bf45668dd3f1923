/* cursor: stream entry ids and the stored read positions "START SENT"
 * (brokerd/cursor.c, compiled in). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "brokerd_fake.h"

static int parse(const char *s, struct eid *e)
{
    return eid_parse(s, strlen(s), e);
}

Test(cursor, eid_parse_good)
{
    struct eid e;
    cr_assert_eq(parse("1526919030474-55", &e), 0);
    cr_assert_eq(e.ms, 1526919030474ULL);
    cr_assert_eq(e.seq, 55);
    cr_assert_eq(parse("0-0", &e), 0);
    cr_assert_eq(e.ms, 0);
    cr_assert_eq(e.seq, 0);
    cr_assert_eq(parse("18446744073709551615-18446744073709551615", &e), 0);
    cr_assert_eq(e.ms, UINT64_MAX);
    cr_assert_eq(e.seq, UINT64_MAX);
}

Test(cursor, eid_parse_bad)
{
    static const char *const bad[] = {
        "", "-", "1", "1-", "-1", "a-1", "1-b", "1-2-3", " 1-2", "1-2 ", "+1-2",
        "18446744073709551616-0", "0-18446744073709551616", "123456789012345678901-0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct eid e;
        cr_assert_eq(parse(bad[i], &e), -1, "%s", bad[i]);
    }
}

Test(cursor, eid_cmp_orders_by_ms_then_seq)
{
    struct eid a = { 5, 9 }, b = { 6, 0 }, c = { 6, 1 }, d = { 6, 1 };
    cr_assert_eq(eid_cmp(a, b), -1);
    cr_assert_eq(eid_cmp(b, a), 1);
    cr_assert_eq(eid_cmp(b, c), -1);
    cr_assert_eq(eid_cmp(c, b), 1);
    cr_assert_eq(eid_cmp(c, d), 0);
    struct eid max = { UINT64_MAX, UINT64_MAX }, zero = { 0, 0 };
    cr_assert_eq(eid_cmp(zero, max), -1);
}

static void cparse(const char *s, int rv, uint64_t rms, uint64_t rseq, uint64_t sms,
                   uint64_t sseq)
{
    struct eid read = { 99, 99 }, sent = { 99, 99 };
    cr_assert_eq(cursor_parse(s, strlen(s), &read, &sent), rv, "%s", s);
    if (rv < 0)
        return;
    cr_assert_eq(read.ms, rms, "%s", s);
    cr_assert_eq(read.seq, rseq, "%s", s);
    cr_assert_eq(sent.ms, sms, "%s", s);
    cr_assert_eq(sent.seq, sseq, "%s", s);
}

Test(cursor, cursor_parse_exclusive_start)
{
    cparse("(5-3 7-1", 0, 5, 3, 7, 1);
    cparse("(5-3", 0, 5, 3, 5, 3);   /* no SENT: START's entry */
}

Test(cursor, cursor_parse_inclusive_start_reads_from_the_entry_before)
{
    cparse("5-3 7-1", 0, 5, 2, 7, 1);
    cparse("5-0 7-1", 0, 4, UINT64_MAX, 7, 1);
    cparse("0-0", 0, 0, 0, 0, 0);
    cparse("-", 0, 0, 0, 0, 0);
    cparse("- 9-9", 0, 0, 0, 9, 9);
}

Test(cursor, cursor_parse_malformed)
{
    cparse("", -1, 0, 0, 0, 0);
    cparse("(", -1, 0, 0, 0, 0);
    cparse("(x-1 2-2", -1, 0, 0, 0, 0);
    cparse("5-3 bad", -1, 0, 0, 0, 0);
    cparse("5-3 ", -1, 0, 0, 0, 0);
}

Test(cursor, cursor_of_without_and_with_pending)
{
    struct broker b;
    fake_broker(&b);
    struct fake_conn *f = fake_conn_new(&b, 11);
    struct stream_state *in = &f->s.streams[0];
    char buf[96];
    in->sent = (struct eid){ 10, 2 };
    cursor_of(&f->s, in, buf, sizeof(buf));
    cr_assert_str_eq(buf, "(10-2 10-2");
    struct msg *m = fake_msg(1, 0, 8, 1);
    pending_add(&f->s, m, 1, mono_ms());
    cursor_of(&f->s, in, buf, sizeof(buf));
    cr_assert_str_eq(buf, "8-1 10-2");
    /* Another stream's pending message does not hold this one back. */
    struct stream_state *ch = &f->s.streams[f->s.nstreams++];
    memset(ch, 0, sizeof(*ch));
    ch->channel = 77;
    ch->sent = (struct eid){ 20, 0 };
    cursor_of(&f->s, ch, buf, sizeof(buf));
    cr_assert_str_eq(buf, "(20-0 20-0");
    /* And the text parses back: START is the oldest un-FINed, SENT the last sent. */
    struct eid read, sent;
    cursor_of(&f->s, in, buf, sizeof(buf));
    cr_assert_eq(cursor_parse(buf, strlen(buf), &read, &sent), 0);
    cr_assert_eq(read.ms, 8);
    cr_assert_eq(read.seq, 0);
    cr_assert_eq(sent.ms, 10);
    cr_assert_eq(sent.seq, 2);
    /* A record written before Redis had it (proposed id 5-0, unconfirmed)
     * is not START, though its id is lower; SENT covers all of ms 5 and
     * more: past 8-1 and 10-2, it stays 10-2. Alone, START is past SENT's
     * position and SENT all of its ms. */
    struct msg *fast = fake_msg(2, 0, 5, 0);
    fast->unconfirmed = 1;
    in->flags |= SS_FAST;
    pending_add(&f->s, fast, 1, mono_ms())->fast = 1;
    cursor_of(&f->s, in, buf, sizeof(buf));
    cr_assert_str_eq(buf, "8-1 10-2");
    pending_fin(&f->s, 1);
    cursor_of(&f->s, in, buf, sizeof(buf));
    cr_assert_str_eq(buf, "(10-2 10-2");
    fast->eid.ms = 12;
    cursor_of(&f->s, in, buf, sizeof(buf));
    cr_assert_str_eq(buf, "(10-2 12-18446744073709551615");
    msg_unref(fast);
    msg_unref(m);
    fake_conn_free(f);
    fake_broker_free(&b);
}
