"""SIGTERM: brokerd exits 0 within 5 s, with clients connected."""

import struct
import time

from lib.harness import BrokerTestCase, new_id


class SignalTest(BrokerTestCase):

    def test_sigterm_idle(self):
        b = self.extra_broker()
        b.assert_clean_stop(5.0)

    def test_sigterm_with_one_identified_client(self):
        b = self.extra_broker()
        c = self.identified(broker=b)
        b.assert_clean_stop(5.0)
        c.read_frames_until_closed(2.0)

    def test_sigterm_with_two_idle_identified_clients(self):
        b = self.extra_broker()
        a = self.identified(broker=b)
        c = self.identified(broker=b)
        time.sleep(0.2)
        b.assert_clean_stop(5.0)
        a.read_frames_until_closed(2.0)
        c.read_frames_until_closed(2.0)

    def test_sigterm_with_clients(self):
        b = self.extra_broker()
        d = self.identified(broker=b)
        s = self.identified(broker=b)
        ch = new_id()
        self.sub(d, ch)
        mid = new_id()
        self.pub_ok(s, d.client_id, ch, mid, b"left pending")
        self.assert_message(d, mid, ch, s.client_id, b"left pending")
        raw = self.connect(b)                             # magic, no IDENTIFY
        half = self.identified(broker=b)                  # in the middle of a body
        half.send_raw(b"PUB 0 %d %d\n" % (ch, new_id()) + struct.pack(">I", 100) + b"abc")
        partial = self.connect(b, magic=False)            # half a magic
        partial.send_raw(b"  ")
        time.sleep(0.2)
        t0 = time.monotonic()
        b.assert_clean_stop(5.0)
        self.assertLess(time.monotonic() - t0, 5.0)
        for c in (d, s, raw, half, partial):
            c.read_frames_until_closed(2.0)

    def test_pending_message_survives_broker_stop(self):
        # a clean stop is not a loss: the un-FINed message comes back with
        # attempt >= 2 on the next broker
        b = self.extra_broker()
        cid = new_id()
        d = self.identified(cid, broker=b)
        s = self.identified(broker=b)
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"survive")
        ts = self.assert_message(d, mid, ch, s.client_id, b"survive")
        b.assert_clean_stop(5.0)
        d2 = self.connect()   # the class broker, same Redis
        self.assertEqual(d2.identify(cid), (0, b"OK"))
        m = self.expect_message(d2)
        self.assertEqual((m[0], m[1], m[2], m[3], m[5]), (mid, ch, s.client_id, ts, b"survive"))
        self.assertGreaterEqual(m[4], 2)
        self.fin(d2, mid)
