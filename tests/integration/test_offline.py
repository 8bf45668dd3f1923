"""SPEC 2.5: messages for offline devices, subscriptions that outlive the
connection, redelivery on reconnect."""

import time

from lib.harness import BrokerTestCase, FRAME_RESPONSE, new_id, now_ms


class OfflineTest(BrokerTestCase):

    def reconnect(self, client_id):
        c = self.connect()
        self.assertEqual(c.identify(client_id), (FRAME_RESPONSE, b"OK"))
        return c

    def test_direct_message_to_offline_device(self):
        cid = new_id()
        self.go_offline(self.identified(cid))
        s = self.identified()
        ch, mid = new_id(), new_id()
        before = now_ms()
        self.pub_ok(s, cid, ch, mid, b"while away")
        time.sleep(0.3)
        d = self.reconnect(cid)
        ts = self.assert_message(d, mid, ch, s.client_id, b"while away", attempt=1)
        self.assertLess(abs(ts - before), 3000, "timestamp_ms is not when it was accepted")
        self.fin(d, mid)
        self.expect_no_frame(d, 0.5)

    def test_offline_after_plain_disconnect(self):
        # no CLS: the TCP connection just goes away
        cid = new_id()
        c = self.identified(cid)
        c.close()
        time.sleep(0.3)
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"after close")
        d = self.reconnect(cid)
        self.assert_message(d, mid, ch, s.client_id, b"after close", attempt=1)
        self.fin(d, mid)

    def test_several_offline_messages(self):
        cid = new_id()
        self.go_offline(self.identified(cid))
        s = self.identified()
        ch = new_id()
        mids = [new_id() for _ in range(20)]
        for i, m in enumerate(mids):
            self.pub_ok(s, cid, ch, m, b"n%d" % i)
        d = self.reconnect(cid)
        got = {}
        for _ in mids:
            mid, ch_got, frm, _ts, attempt, body = self.expect_message(d)
            self.assertEqual((ch_got, frm, attempt), (ch, s.client_id, 1),
                             "message %d %r (channel, from, attempt)" % (mid, body))
            got[mid] = body
        self.assertEqual(got, {m: b"n%d" % i for i, m in enumerate(mids)})
        for m in mids:
            self.fin(d, m)
        self.expect_no_frame(d, 0.5)

    def test_channel_message_missed_while_offline(self):
        ch = new_id()
        cid = new_id()
        self.go_offline(self.subscribed(ch, cid))
        s = self.identified()
        mid = new_id()
        # the offline subscriber counts: ACK 1
        self.pub_ok(s, 0, ch, mid, b"missed")
        d = self.reconnect(cid)     # no SUB again
        self.assert_message(d, mid, ch, s.client_id, b"missed", attempt=1)
        self.fin(d, mid)
        # the subscription survived: live channel messages arrive too
        mid2 = new_id()
        self.pub_ok(s, 0, ch, mid2, b"live")
        self.assert_message(d, mid2, ch, s.client_id, b"live", attempt=1)

    def test_subscription_survives_reconnect(self):
        ch = new_id()
        cid = new_id()
        self.go_offline(self.subscribed(ch, cid))
        d = self.reconnect(cid)
        s = self.identified()
        mid = new_id()
        self.pub_ok(s, 0, ch, mid, b"still subscribed")
        self.assert_message(d, mid, ch, s.client_id, b"still subscribed")

    def test_no_channel_messages_after_unsub(self):
        ch = new_id()
        keep = self.subscribed(ch)
        cid = new_id()
        gone = self.subscribed(ch, cid)
        self.unsub(gone, ch)
        self.go_offline(gone)
        s = self.identified()
        mid = new_id()
        self.pub_ok(s, 0, ch, mid, b"not for gone")
        self.assert_message(keep, mid, ch, s.client_id, b"not for gone")
        d = self.reconnect(cid)
        self.expect_no_frame(d, 1.0)

    def test_unfinished_message_redelivered_on_reconnect(self):
        cid = new_id()
        d1 = self.identified(cid)
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"no fin")
        ts1 = self.assert_message(d1, mid, ch, s.client_id, b"no fin", attempt=1)
        d1.close()
        time.sleep(0.3)
        d2 = self.reconnect(cid)
        m = self.expect_message(d2)
        self.assertEqual((m[0], m[1], m[2], m[5]), (mid, ch, s.client_id, b"no fin"))
        self.assertGreaterEqual(m[4], 2, "a message that was sent before must come with attempt >= 2")
        self.assertEqual(m[3], ts1, "timestamp_ms changed on redelivery")
        self.fin(d2, mid)
        self.expect_no_frame(d2, 0.5)

    def test_finished_message_not_redelivered_on_reconnect(self):
        cid = new_id()
        d1 = self.identified(cid)
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"fin")
        self.assert_message(d1, mid, ch, s.client_id, b"fin")
        self.fin(d1, mid)
        self.go_offline(d1)
        d2 = self.reconnect(cid)
        self.expect_no_frame(d2, 1.0)

    def test_offline_message_delivered_once(self):
        # delivered on reconnect and FINed: a second reconnect gets nothing
        cid = new_id()
        self.go_offline(self.identified(cid))
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"once")
        d = self.reconnect(cid)
        self.assert_message(d, mid, ch, s.client_id, b"once")
        self.fin(d, mid)
        self.go_offline(d)
        d = self.reconnect(cid)
        self.expect_no_frame(d, 1.0)
