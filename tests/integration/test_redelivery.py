"""SPEC 2.5: pending messages are sent again after msg_timeout (here 1 s)."""

import time

from lib.harness import FRAME_RESPONSE, BrokerTestCase, new_id, now_ms


class RedeliveryTest(BrokerTestCase):
    broker_args = ("--msg-timeout", "1")

    def test_unfinished_message_comes_again(self):
        d = self.identified()
        s = self.identified()
        ch, mid = new_id(), new_id()
        before = now_ms()
        self.pub_ok(s, d.client_id, ch, mid, b"again")
        t0 = time.monotonic()
        ts1 = self.assert_message(d, mid, ch, s.client_id, b"again", attempt=1, ts_near=before)
        ts2 = self.assert_message(d, mid, ch, s.client_id, b"again", attempt=2, timeout=4)
        t2 = time.monotonic()
        ts3 = self.assert_message(d, mid, ch, s.client_id, b"again", attempt=3, timeout=4)
        t3 = time.monotonic()
        self.assertEqual(ts1, ts2, "timestamp_ms changed on redelivery")
        self.assertEqual(ts1, ts3, "timestamp_ms changed on redelivery")
        self.assertGreaterEqual(t2 - t0, 0.7, "redelivered before msg_timeout")
        self.assertGreaterEqual(t3 - t2, 0.7, "redelivered again before msg_timeout")
        self.fin(d, mid)

    def test_fin_stops_redelivery(self):
        d = self.identified()
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, b"fin me")
        self.assert_message(d, mid, ch, s.client_id, b"fin me")
        self.fin(d, mid)
        self.expect_no_frame(d, 2.5)

    def test_fin_after_a_redelivery_stops_it(self):
        d = self.identified()
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, b"late fin")
        self.assert_message(d, mid, ch, s.client_id, b"late fin", attempt=1)
        self.assert_message(d, mid, ch, s.client_id, b"late fin", attempt=2, timeout=4)
        self.fin(d, mid)
        self.expect_no_frame(d, 2.5)
        d.send_line("FIN %d" % mid)
        self.expect_error(d, "E_FIN_FAILED")

    def test_only_unfinished_ones_come_again(self):
        d = self.identified()
        s = self.identified()
        ch = new_id()
        keep, done = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, keep, b"keep")
        self.pub_ok(s, d.client_id, ch, done, b"done")
        got = {}
        for _ in range(2):
            mid, *_rest, attempt, body = self.expect_message(d)
            got[mid] = (attempt, body)
        self.assertEqual(got, {keep: (1, b"keep"), done: (1, b"done")})
        self.fin(d, done)
        self.assert_message(d, keep, ch, s.client_id, b"keep", attempt=2, timeout=4)
        self.fin(d, keep)
        self.expect_no_frame(d, 2.0)

    def test_channel_message_redelivered_per_subscriber(self):
        ch = new_id()
        a = self.subscribed(ch)
        b = self.subscribed(ch)
        s = self.identified()
        mid = new_id()
        self.pub_ok(s, 0, ch, mid, b"chan")
        self.assert_message(a, mid, ch, s.client_id, b"chan", attempt=1)
        self.assert_message(b, mid, ch, s.client_id, b"chan", attempt=1)
        self.fin(a, mid)
        self.assert_message(b, mid, ch, s.client_id, b"chan", attempt=2, timeout=4)
        self.fin(b, mid)
        self.expect_no_frame(a, 0.5)

    def test_fin_takes_the_oldest_of_equal_ids(self):
        # 2.5: several pending messages from different senders sharing an id:
        # FIN finishes the oldest.
        d = self.identified()
        s1 = self.identified()
        s2 = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s1, d.client_id, ch, mid, b"older")
        self.assert_message(d, mid, ch, s1.client_id, b"older")
        time.sleep(0.05)
        self.pub_ok(s2, d.client_id, ch, mid, b"newer")
        self.assert_message(d, mid, ch, s2.client_id, b"newer")
        self.fin(d, mid)
        # only the newer one is still pending
        self.assert_message(d, mid, ch, s2.client_id, b"newer", attempt=2, timeout=4)
        self.fin(d, mid)
        self.expect_no_frame(d, 2.0)
        d.send_line("FIN %d" % mid)
        self.expect_error(d, "E_FIN_FAILED")

    def test_closed_connection_leaves_the_others_redelivered(self):
        # The loop keeps one list of pending messages in deadline order: a
        # connection that goes away takes its entries with it, and the
        # others' still come again, in their order.
        ch = new_id()
        gone = self.subscribed(ch)
        stays = self.subscribed(ch)
        s = self.identified()
        first, second = new_id(), new_id()
        self.pub_ok(s, 0, ch, first, b"one")
        self.pub_ok(s, 0, ch, second, b"two")
        for d in (gone, stays):
            self.assert_message(d, first, ch, s.client_id, b"one", attempt=1)
            self.assert_message(d, second, ch, s.client_id, b"two", attempt=1)
        gone.close()
        self.assert_message(stays, first, ch, s.client_id, b"one", attempt=2, timeout=4)
        self.assert_message(stays, second, ch, s.client_id, b"two", attempt=2, timeout=4)
        self.fin(stays, first)
        self.fin(stays, second)
        self.expect_no_frame(stays, 2.0)

    def test_redelivered_message_survives_a_reconnect(self):
        # A redelivery moves the older message behind the newer one in the
        # broker's list of pending messages; the read position written at
        # the disconnect must still start at the older one.
        ch = new_id()
        d = self.subscribed(ch)
        s = self.identified()
        older, newer = new_id(), new_id()
        self.pub_ok(s, 0, ch, older, b"older")
        self.assert_message(d, older, ch, s.client_id, b"older", attempt=1)
        time.sleep(0.5)
        self.pub_ok(s, 0, ch, newer, b"newer")
        self.assert_message(d, newer, ch, s.client_id, b"newer", attempt=1)
        self.assert_message(d, older, ch, s.client_id, b"older", attempt=2, timeout=4)
        self.go_offline(d)
        back = self.connect()
        self.assertEqual(back.identify(d.client_id), (FRAME_RESPONSE, b"OK"))
        got = {}
        for _ in range(2):
            mid, ch_got, _frm, _ts, attempt, body = self.expect_message(back)
            self.assertEqual(ch_got, ch)
            self.assertGreaterEqual(attempt, 2, "message %d came before: attempt > 1" % mid)
            got[mid] = body
        self.assertEqual(got, {older: b"older", newer: b"newer"})
        self.fin(back, older)
        self.fin(back, newer)
