"""Deliver first, acknowledge when durable (docs/DESIGN.md, "Deliver
first"; SPEC 2.5's last paragraph): a PUB to a device of the same event
loop is written to it before Redis answers, and every rule of SPEC 2.5
still holds: once per message (the notice does not write it again),
order per sender across the fast path, catch-up and redelivery, nothing
lost when the device moves, and a write that fails answers ACK 0 and
drops the device's copy."""

import threading
import time

from lib.harness import (FRAME_ACK, FRAME_ERROR, FRAME_MESSAGE, FRAME_RESPONSE, BrokerTestCase, Client,
                         metric, new_id, wait_until)


CH = 7  # a unicast PUB names a channel too: the frames' channel_id


def pub_many(c, to, mids, body=b"m"):
    """Pipelines a PUB of each mid to `to`; returns the Acks' ok flags by mid."""
    for mid in mids:
        c.send_with_body("PUB %d %d %d" % (to, CH, mid), body)
    acks = {}
    while len(acks) < len(mids):
        ftype, data = c.read_frame(10)
        if ftype == FRAME_ACK:
            word = data.split()
            acks[int(word[2])] = word[1] == b"1"
    return acks


class FastHelpers:
    """For a BrokerTestCase whose brokerd has one loop."""

    def fast(self):
        return metric(self.broker, "broker_messages_fast_total")

    def wait_fast(self, want):
        self.assertEqual(wait_until(lambda: self.fast() == want, 5), True,
                         "fast writes: %d, want %d" % (self.fast(), want))

    def handed(self):
        return metric(self.broker, "broker_messages_handed_total")

    def wait_handed(self, want):
        self.assertEqual(wait_until(lambda: self.handed() == want, 5), True,
                         "handed over: %d, want %d" % (self.handed(), want))

    def loop_of(self, client_id):
        """The broker id of the event loop that holds the device."""
        return self.redis.cmd("HGET", "pg:dev:%d" % client_id, "broker")

    def identified_beside(self, other, client_id=None):
        """A device identified on another event loop than device `other`'s
        (SO_REUSEPORT picks the loop: try again)."""
        for _ in range(40):
            c = self.reconnect(client_id or new_id())
            if self.loop_of(c.client_id) != self.loop_of(other.client_id):
                return c
            self.go_offline(c)
        self.fail("every connection landed on one loop")

    def reconnect(self, client_id):
        c = self.connect()
        self.assertEqual(c.identify(client_id), (FRAME_RESPONSE, b"OK"))
        return c

    def fin_and_leave(self, s, cid, rounds=25):
        """Each round: a PUB from s to device cid, ACK 1, its Message, then
        FIN and CLS at once (its F notice may not be in yet: the gone
        script finds its entry by its dedup key), and a new connection of
        cid: the message never comes again."""
        d = self.reconnect(cid)
        for _ in range(rounds):
            mid = new_id()
            self.pub_ok(s, cid, CH, mid, b"once")
            self.assert_message(d, mid, CH, s.client_id, b"once")
            d.send_line("FIN %d" % mid)
            d.send_line("CLS")
            self.expect_response(d, b"CLOSE_WAIT")
            d.expect_closed()
            time.sleep(0.2)   # the broker records the disconnect
            d = self.reconnect(cid)
            time.sleep(0.1)   # its inbox read back: the next PUB is written first
        self.expect_no_frame(d, 1.0)

    def fill(self, e):
        """Two PUBs to e that it never FINs: with --max-pending 2 it has
        no room left."""
        t = self.identified()
        for mid in (new_id(), new_id()):
            self.pub_ok(t, e.client_id, CH, mid, b"full")
            self.assert_message(e, mid, CH, t.client_id, b"full")

    def pub_two(self, s, *pubs):
        """PUBs of s, each (to, channel, mid, body), in one write (read in
        one pass: no order mark is back between them); each ACK 1."""
        s.send_raw(b"".join(b"PUB %d %d %d\n" % (to, ch, mid) + s.body_bytes(body)
                            for to, ch, mid, body in pubs))
        for to, _, mid, _ in pubs:
            self.expect_ack(s, True, mid, to)

    def channel_then_inbox(self, s, d, e):
        """d and e subscribe to a new channel, e without room (--max-pending
        2); s PUBs to the channel, then to d's inbox, in one write: d gets
        them in that order and FINs them. Returns the fast counter read
        before the two PUBs."""
        ch = new_id()
        self.sub(d, ch)
        self.sub(e, ch)
        self.written_first(s, d)
        self.fill(e)
        fast = self.fast()
        one, two = new_id(), new_id()
        self.pub_two(s, (0, ch, one, b"one"), (d.client_id, CH, two, b"two"))
        self.assert_message(d, one, ch, s.client_id, b"one")
        self.assert_message(d, two, CH, s.client_id, b"two")
        self.fin(d, one)
        self.fin(d, two)
        return fast

    def written_first(self, s, d, ch=None):
        """PUBs from s to d (or to channel ch, d subscribed), one at a time,
        until one is written first (the inbox's read after IDENTIFY is over,
        the sender's order mark back); returns the mids sent, all read and
        FINed."""
        mids = []
        before = self.fast()
        for _ in range(100):
            mids.append(new_id())
            self.pub_delivered(s, d, 0 if ch else d.client_id, ch or CH, mids[-1], b"warm")
            if wait_until(lambda: self.fast() > before, 0.3):
                return mids
        self.fail("no PUB was written first")


    def check_channel_once(self, s, ch, subscribers):
        """30 PUBs of s to channel ch: each subscriber gets each once."""
        mids = [new_id() for _ in range(30)]
        for mid in mids:
            s.send_with_body("PUB 0 %d %d" % (ch, mid), b"c")
        for mid in mids:
            self.expect_ack(s, True, mid, 0)
        for c in subscribers:
            for mid in mids:
                self.assert_message(c, mid, ch, s.client_id, b"c")
            for mid in mids:
                c.send_line("FIN %d" % mid)
            self.expect_alive(c)
            self.expect_no_frame(c, 1.5)

    def check_once(self, s, d, fast):
        """50 PUBs of s to d, all written first (the fast counter was fast):
        each delivered once, in order, with the entry id's ms for its
        timestamp."""
        mids = [new_id() for _ in range(50)]
        self.assertEqual(pub_many(s, d.client_id, mids), {m: True for m in mids})
        stamps = [self.assert_message(d, mid, CH, s.client_id, b"m") for mid in mids]
        for mid in mids:
            d.send_line("FIN %d" % mid)
        self.expect_alive(d)
        self.expect_no_frame(d, 1.5)  # no notice wrote one again, no redelivery
        self.wait_fast(fast + 50)
        entries = self.redis.cmd("XRANGE", "pg:dev:%d:in" % d.client_id, "-", "+")[-50:]
        self.assertEqual([int(e[1][1]) for e in entries], mids)
        # the frame's timestamp_ms is the entry id's ms, as on redelivery
        self.assertEqual([int(e[0].split(b"-")[0]) for e in entries], stamps)

    def check_order(self, k, did, reconnect, sender=None):
        """Device did offline: PUBs of k kept for it, then live ones of
        sender(d) (else k) while they are read back after reconnect(did),
        then more once its inbox is quiet: each first delivered once, with
        attempt 1, in the order each sender sent, though some are written
        first, some read back and the unFINed sent again after
        msg-timeout."""
        kept = [new_id() for _ in range(20)]
        self.assertEqual(pub_many(k, did, kept), {m: True for m in kept})
        d = reconnect(did)
        s = sender(d) if sender else k
        # while the kept ones are read back, then written first once the
        # inbox is quiet; unFINed, they come again after msg-timeout (1 s)
        live = [new_id() for _ in range(300)]
        sender = threading.Thread(target=pub_many, args=(s, d.client_id, live))
        sender.start()
        first, ones = [], {}
        deadline = time.monotonic() + 30
        while len(first) < len(kept) + len(live) and time.monotonic() < deadline:
            mid, _ch, _frm, _ts, attempt, _body = self.expect_message(d, 10)
            if mid not in ones:
                first.append(mid)
            ones[mid] = ones.get(mid, 0) + (attempt == 1)
        sender.join(30)
        for mid in kept + live:
            d.send_line("FIN %d" % mid)
        self.expect_alive(d)
        warm = self.written_first(s, d)
        more = [new_id() for _ in range(300)]
        sender = threading.Thread(target=pub_many, args=(s, d.client_id, more))
        sender.start()
        while len(first) < len(kept) + len(live) + len(more) and time.monotonic() < deadline:
            mid, _ch, _frm, _ts, attempt, _body = self.expect_message(d, 10)
            if mid not in ones:
                first.append(mid)
            ones[mid] = ones.get(mid, 0) + (attempt == 1)
        sender.join(30)
        self.assertEqual([m for m in first if m in kept], kept, "in the order sent")
        self.assertEqual([m for m in first if m not in kept], live + more, "in the order sent")
        if s is k:
            self.assertEqual(first, kept + live + more, "first deliveries in the order sent")
        self.assertEqual({m for m, n in ones.items() if n != 1}, set(),
                         "each message exactly once with attempt 1")
        self.assertTrue(warm)
        for mid in more:
            d.send_line("FIN %d" % mid)
        self.expect_alive(d)


class FastTest(FastHelpers, BrokerTestCase):
    broker_args = ("--threads", "1", "--msg-timeout", "1")

    def test_a_script_error_acks_0_and_drops_the_copy(self):
        d, s = self.identified(), self.identified()
        self.written_first(s, d)
        self.redis.cmd("SET", "pg:dev:%d:in" % d.client_id, "not a stream")
        mid = new_id()
        s.send_with_body("PUB %d %d %d" % (d.client_id, CH, mid), b"x")
        self.expect_ack(s, False, mid, d.client_id)
        self.assert_message(d, mid, CH, s.client_id, b"x")
        d.send_line("FIN %d" % mid)
        self.expect_error(d, "E_FIN_FAILED")
        self.expect_no_frame(d, 2.5)

    def test_a_pub_to_itself_comes_before_its_ack(self):
        # Right after IDENTIFY its inbox is read back: until that is over,
        # a PUB takes the notice path (Ack and Message in either order).
        c = self.identified()
        for _ in range(100):
            mid = new_id()
            c.send_with_body("PUB %d %d %d" % (c.client_id, CH, mid), b"self")
            frames = [c.read_frame(), c.read_frame()]
            self.assertEqual(sorted(f[0] for f in frames), [FRAME_MESSAGE, FRAME_ACK])
            self.fin(c, mid)
            if frames[0][0] == FRAME_MESSAGE:
                break
        self.assertEqual(frames[1], (FRAME_ACK, b"ACK 1 %d %d" % (mid, c.client_id)))
        self.assertEqual(Client.parse_message(frames[0][1]), (mid, CH, c.client_id,
                         Client.parse_message(frames[0][1])[3], 1, b"self"))

    def test_written_first_and_not_again_by_its_notice(self):
        d, s = self.identified(), self.identified()
        self.written_first(s, d)
        self.check_once(s, d, self.fast())

    def test_fined_then_gone_before_its_notice_is_not_sent_again(self):
        d, s = self.identified(), self.identified()
        self.written_first(s, d)
        self.go_offline(d)
        fast = self.fast()
        self.fin_and_leave(s, d.client_id)
        time.sleep(0.3)   # the counters are the loop's at its last tick
        self.assertGreater(self.fast(), fast + 5, "most were written first")

    def test_a_channel_with_few_subscribers_here_is_written_first_once(self):
        ch = new_id()
        d, s = self.subscribed(ch), self.identified()
        far = self.subscribed(ch, broker=self.extra_broker("--threads", "1", name="far"))
        warm = self.written_first(s, d, ch)
        for mid in warm:  # the other broker's subscriber got them by notice
            self.assert_message(far, mid, ch, s.client_id, b"warm")
            self.fin(far, mid)
        before = self.fast()
        self.check_channel_once(s, ch, (d, far))
        self.wait_fast(before + 30)

    def test_a_redelivery_keeps_the_timestamp(self):
        d, s = self.identified(), self.identified()
        mid = new_id()
        self.pub_ok(s, d.client_id, CH, mid, b"again")
        ts1 = self.assert_message(d, mid, CH, s.client_id, b"again")
        ts2 = self.assert_message(d, mid, CH, s.client_id, b"again", attempt=2, timeout=5)
        self.assertEqual(ts1, ts2)
        self.fin(d, mid)
        self.expect_no_frame(d, 1.5)

    def test_a_failed_identify_of_its_id_leaves_it_written_first(self):
        # While a second connection's IDENTIFY of d's id is in flight, d
        # takes nothing written first; once that IDENTIFY failed in Redis
        # (d's hash made a string a moment), d does again.
        d, s = self.identified(), self.identified()
        self.written_first(s, d)
        key = "pg:dev:%d" % d.client_id
        saved = self.redis.cmd("DUMP", key)
        self.redis.cmd("DEL", key)
        self.redis.cmd("SET", key, "not a hash")
        other = self.connect()
        ftype, data = other.identify(d.client_id)
        self.assertEqual((ftype, data.split()[0]), (FRAME_ERROR, b"E_IDENTIFY_FAILED"))
        self.redis.cmd("DEL", key)
        self.redis.cmd("RESTORE", key, "0", saved)
        before = self.fast()
        mid = new_id()
        self.pub_delivered(s, d, d.client_id, CH, mid, b"again")
        self.wait_fast(before + 1)

    def test_a_repeat_is_not_written_again(self):
        d, s = self.identified(), self.identified()
        self.written_first(s, d)
        before = self.fast()
        mid = new_id()
        self.pub_delivered(s, d, d.client_id, CH, mid, b"one")
        self.pub_ok(s, d.client_id, CH, mid, b"one")        # same connection
        self.go_offline(s)
        s = self.reconnect(s.client_id)
        self.pub_ok(s, d.client_id, CH, mid, b"one")        # after a reconnect
        self.expect_no_frame(d, 1.0)
        self.wait_fast(before + 1)
        # reconnected within 10 minutes: its next message takes the notice
        mid2 = new_id()
        self.pub_delivered(s, d, d.client_id, CH, mid2, b"two")
        self.wait_fast(before + 1)

    def test_order_across_catch_up_fast_path_and_redelivery(self):
        d = self.identified()
        self.go_offline(d)
        self.check_order(self.identified(), d.client_id, self.reconnect)

    def test_a_slow_pub_holds_back_only_the_devices_it_reaches(self):
        # Its PUB to a device of another broker takes the notice path; the
        # sender's next PUB, read in the same pass (its order mark cannot be
        # back), goes to another device: written first all the same.
        d, s = self.identified(), self.identified()
        far = self.identified(broker=self.extra_broker("--threads", "1", name="far"))
        self.written_first(s, d)
        fast = self.fast()
        away, near = new_id(), new_id()
        self.pub_two(s, (far.client_id, CH, away, b"away"), (d.client_id, CH, near, b"near"))
        self.assert_message(far, away, CH, s.client_id, b"away")
        self.assert_message(d, near, CH, s.client_id, b"near")
        self.fin(far, away)
        self.fin(d, near)
        self.expect_no_frame(d, 1.5)
        self.wait_fast(fast + 1)


class FastOrderTest(FastHelpers, BrokerTestCase):
    """--max-pending 2: a channel PUB that one subscriber has no room for
    takes the notice path; the sender's next PUB, to another subscriber's
    inbox, waits for that notice: order per sender."""
    broker_args = ("--threads", "1", "--max-pending", "2")

    def test_a_pub_to_a_subscriber_of_a_slow_channel_pub_waits_for_it(self):
        s, d, e = self.identified(), self.identified(), self.identified()
        fast = self.channel_then_inbox(s, d, e)
        time.sleep(0.3)   # the counters are the loop's at its last tick
        self.assertEqual(self.fast(), fast, "two waited for one's notice")


class FastQuotaTest(BrokerTestCase):
    broker_args = ("--threads", "1", "--msg-timeout", "1", "--max-dedup-per-sender", "2")

    def test_a_pub_past_the_quota_is_not_written_first(self):
        # Redis would refuse it (toomany): the broker counts as Redis does.
        d, s = self.identified(), self.identified()
        mids = [new_id() for _ in range(3)]
        self.assertEqual(pub_many(s, d.client_id, mids),
                         {mids[0]: True, mids[1]: True, mids[2]: False})
        for mid in mids[:2]:
            self.assert_message(d, mid, CH, s.client_id, b"m")
        for mid in mids[:2]:
            d.send_line("FIN %d" % mid)
        self.expect_alive(d)
        self.expect_no_frame(d, 1.5)


class FastMovesTest(BrokerTestCase):
    """--threads 2 and a second broker: the device moves between loops and
    brokers while a sender keeps publishing to it."""
    broker_args = ("--threads", "2", "--msg-timeout", "2")

    def test_a_device_that_moves_loses_nothing(self):
        other = self.extra_broker("--threads", "2", "--msg-timeout", "2")
        s = self.identified()
        did = new_id()
        mids = [new_id() for _ in range(600)]
        acks = {}

        def send():
            for i in range(0, len(mids), 20):
                acks.update(pub_many(s, did, mids[i:i + 20]))
                time.sleep(0.01)
        d = self.identified(did)
        sender = threading.Thread(target=send)
        sender.start()
        seen, ones = set(), {}

        def take(c, f, fin=True):
            if f is not None and f[0] == FRAME_MESSAGE:
                mid, _ch, _frm, _ts, attempt, _body = Client.parse_message(f[1])
                seen.add(mid)
                ones[mid] = ones.get(mid, 0) + (attempt == 1)
                if fin:
                    c.send_line("FIN %d" % mid)

        def read(c, seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                take(c, c.poll_frame(0.2))

        def leave(c):
            """CLS: what comes before its CLOSE_WAIT was delivered too."""
            c.send_line("CLS")
            while True:
                f = c.read_frame(10)
                if f == (FRAME_RESPONSE, b"CLOSE_WAIT"):
                    break
                take(c, f, fin=False)
            for f in c.expect_closed(allow_frames=True):
                take(c, f, fin=False)
        for step, broker in enumerate([other, self.broker, other, self.broker]):
            read(d, 0.5)
            if step % 2:
                d.abort()
            else:
                leave(d)
            d = self.connect(broker)
            self.assertEqual(d.identify(did), (FRAME_RESPONSE, b"OK"))
        sender.join(60)
        self.assertFalse(sender.is_alive())
        self.assertEqual(set(acks), set(mids))
        want = {m for m, ok in acks.items() if ok}
        wait_until(lambda: read(d, 0.5) or want <= seen, 30)
        self.assertEqual(want - seen, set(), "lost")
        self.assertEqual({m for m, n in ones.items() if n > 1}, set(),
                         "a message came twice with attempt 1")


class FastBehindTest(FastHelpers, BrokerTestCase):
    """max-pending 4: an inbox full of messages written first goes behind
    when another sender's message comes before their F notices; FINning
    them gives their room back, and the read that follows covers them and
    brings the other message (docs/DESIGN.md, "Deliver first", FIN)."""
    broker_args = ("--threads", "1", "--max-pending", "4")

    def test_fins_of_uncovered_messages_let_the_inbox_catch_up(self):
        d, s = self.identified(), self.identified()
        other = self.extra_broker("--threads", "1")
        t = self.identified(broker=other)
        self.written_first(s, d)
        # Redis holds every command a while: t's PUB gets there first, then
        # s's four, which brokerd writes to d at once (d's room: 4).
        self.redis.cmd("CLIENT", "PAUSE", "1500", "ALL")
        tmid, mids = new_id(), [new_id() for _ in range(4)]
        t.send_with_body("PUB %d %d %d" % (d.client_id, CH, tmid), b"from t")
        time.sleep(0.3)
        for mid in mids:
            s.send_with_body("PUB %d %d %d" % (d.client_id, CH, mid), b"first")
        for mid in mids:
            self.assert_message(d, mid, CH, s.client_id, b"first")
        for mid in mids:
            self.expect_ack(s, True, mid, d.client_id, timeout=10)
        self.expect_ack(t, True, tmid, d.client_id, timeout=10)
        # t's notice found d's room taken (behind); s's F notices then
        # covered nothing
        for mid in mids:      # FIN answers nothing; the read may start at the 2nd
            d.send_line("FIN %d" % mid)
        self.assert_message(d, tmid, CH, t.client_id, b"from t", timeout=5)
        self.fin(d, tmid)
        self.expect_no_frame(d, 1.0)


class FastUnreplicatedTest(FastHelpers, BrokerTestCase):
    """--redis-min-replicas 1 and no replica: every PUB runs its script,
    then WAIT falls short and the sender gets ACK 0. A message written
    first whose F notice came is in Redis: the device keeps it as an
    ordinary pending message (its FIN works), while the sender's retry is
    answered from pg:dup."""
    broker_args = ("--threads", "1", "--redis-min-replicas", "1")

    def test_a_reply_lost_after_the_f_notice_keeps_the_device_copy(self):
        d, s = self.identified(), self.identified()
        before = self.fast()
        for _ in range(10):  # until the inbox's read after IDENTIFY is over
            mid = new_id()
            s.send_with_body("PUB %d %d %d" % (d.client_id, CH, mid), b"warm")
            self.assert_message(d, mid, CH, s.client_id, b"warm")
            self.fin(d, mid)
            self.expect_ack(s, False, mid, d.client_id, timeout=5)
            if self.fast() > before:
                break
        self.assertGreater(self.fast(), before, "no PUB was written first")
        mid = new_id()
        s.send_with_body("PUB %d %d %d" % (d.client_id, CH, mid), b"kept")
        self.assert_message(d, mid, CH, s.client_id, b"kept")
        self.expect_ack(s, False, mid, d.client_id, timeout=5)   # WAIT fell short
        entries = self.redis.cmd("XRANGE", "pg:dev:%d:in" % d.client_id, "-", "+")
        self.assertIn(str(mid).encode(), [e[1][e[1].index(b"m") + 1] for e in entries])
        self.fin(d, mid)                  # not E_FIN_FAILED: the record is there
        self.expect_no_frame(d, 1.0)


class FastSiblingTest(FastHelpers, BrokerTestCase):
    """--threads 2: a PUB for a device of the other event loop is handed to
    that loop in memory and written there first (docs/DESIGN.md, "Handing
    over"), with every rule of the same-loop path."""
    broker_args = ("--threads", "2", "--msg-timeout", "1")

    def pair(self):
        s = self.identified()
        d = self.identified_beside(s)
        self.written_first(s, d)
        time.sleep(0.3)  # the counters are each loop's at its last tick
        return s, d

    def test_handed_over_written_first_and_not_again_by_its_notice(self):
        s, d = self.pair()
        handed = self.handed()
        self.check_once(s, d, self.fast())
        self.wait_handed(handed + 50)

    def test_fined_then_gone_before_its_notice_is_not_sent_again(self):
        s, d = self.pair()
        self.go_offline(d)
        self.fin_and_leave(s, d.client_id)

    def test_a_channel_on_the_other_loop_is_handed_over(self):
        ch = new_id()
        s = self.identified()
        d = self.identified_beside(s)
        self.sub(d, ch)
        self.written_first(s, d, ch)
        time.sleep(0.3)
        fast, handed = self.fast(), self.handed()
        self.check_channel_once(s, ch, (d,))
        self.wait_fast(fast + 30)
        self.wait_handed(handed + 30)

    def test_a_script_error_acks_0_and_drops_the_copy_on_the_other_loop(self):
        s, d = self.pair()
        self.redis.cmd("SET", "pg:dev:%d:in" % d.client_id, "not a stream")
        handed = self.handed()
        mid = new_id()
        s.send_with_body("PUB %d %d %d" % (d.client_id, CH, mid), b"x")
        self.expect_ack(s, False, mid, d.client_id)
        self.assert_message(d, mid, CH, s.client_id, b"x")
        self.wait_handed(handed + 1)
        d.send_line("FIN %d" % mid)
        self.expect_error(d, "E_FIN_FAILED")
        self.expect_no_frame(d, 2.5)

    def test_order_across_loops_catch_up_and_redelivery(self):
        # While its inbox is read back, PUBs handed over wait on the
        # device's loop and go out as their F notices come.
        d = self.identified()
        self.go_offline(d)
        time.sleep(0.3)  # the counters are each loop's at its last tick
        handed = self.handed()
        self.check_order(self.identified(), d.client_id, self.reconnect,
                         sender=self.identified_beside)
        self.assertTrue(wait_until(lambda: self.handed() > handed, 5), "none handed over")


class FastSiblingHeldTest(FastHelpers, BrokerTestCase):
    """--threads 2, --max-pending 2: a channel PUB handed over and held on
    the devices' loop (one subscriber has no room) holds back its sender's
    next PUB to another subscriber's inbox there: order per sender."""
    broker_args = ("--threads", "2", "--max-pending", "2")

    def test_a_held_pub_holds_its_senders_next_one(self):
        s = self.identified()
        d = self.identified_beside(s)
        e = self.identified_beside(s)
        self.channel_then_inbox(s, d, e)
        self.expect_no_frame(d, 1.0)
