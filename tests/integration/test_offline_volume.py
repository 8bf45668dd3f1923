"""SPEC 2.5: by default at least 10,000 messages per device and 10,000 per
channel are kept for an offline device: "a device that is away for a minute
of heavy traffic loses nothing"."""

import struct
import threading
import time

from lib.harness import BrokerTestCase, FRAME_ACK, FRAME_MESSAGE, new_id

N = 10_000


class OfflineVolumeTest(BrokerTestCase):

    def pub_many(self, s, target, ch, n):
        """Pipelines n PUBs; returns {message_id: body}. All must be ACK 1."""
        mids = [new_id() for _ in range(n)]
        bodies = {m: b"v%d" % i for i, m in enumerate(mids)}
        data = b"".join(b"PUB %d %d %d\n" % (target, ch, m) + struct.pack(">I", len(bodies[m]))
                        + bodies[m] for m in mids)
        t = threading.Thread(target=s.send_raw, args=(data,), daemon=True)
        t.start()
        for m in mids:
            f = s.read_frame(30)
            self.assertEqual(f, (FRAME_ACK, b"ACK 1 %d %d" % (m, target)))
        t.join(10)
        return bodies

    def receive_all(self, d, expected, ch, sender, timeout=60):
        """Reads Message frames, FINs each, until every expected id came."""
        got = {}
        deadline = time.monotonic() + timeout
        while len(got) < len(expected):
            self.assertLess(time.monotonic(), deadline,
                            "only %d of %d messages after %d s" % (len(got), len(expected), timeout))
            f = d.read_frame(max(1.0, deadline - time.monotonic()))
            self.assertEqual(f[0], FRAME_MESSAGE, f)
            mid, ch_got, frm, _ts, attempt, body = d.parse_message(f[1])
            self.assertEqual((ch_got, frm), (ch, sender))
            self.assertIn(mid, expected)
            if mid not in got:
                self.assertEqual(attempt, 1)
                got[mid] = body
            d.send_raw(b"FIN %d\n" % mid)
        self.assertEqual(got, expected)
        self.expect_alive(d, timeout=10)

    def test_10000_direct_messages_while_offline(self):
        cid = new_id()
        self.go_offline(self.identified(cid))
        s = self.identified()
        ch = new_id()
        bodies = self.pub_many(s, cid, ch, N)
        d = self.connect()
        self.assertEqual(d.identify(cid), (0, b"OK"))
        self.receive_all(d, bodies, ch, s.client_id)

    def test_10000_channel_messages_while_offline(self):
        ch = new_id()
        cid = new_id()
        self.go_offline(self.subscribed(ch, cid))
        s = self.identified()
        bodies = self.pub_many(s, 0, ch, N)
        d = self.connect()
        self.assertEqual(d.identify(cid), (0, b"OK"))
        self.receive_all(d, bodies, ch, s.client_id)


class MaxPendingTest(BrokerTestCase):
    """--max-pending holds messages back; it never loses them."""
    broker_args = ("--max-pending", "5")

    def test_nothing_lost_behind_max_pending(self):
        d = self.identified()
        s = self.identified()
        ch = new_id()
        mids = [new_id() for _ in range(30)]
        for i, m in enumerate(mids):
            self.pub_ok(s, d.client_id, ch, m, b"p%d" % i)
        got = {}
        deadline = time.monotonic() + 20
        while len(got) < len(mids) and time.monotonic() < deadline:
            f = d.read_frame(10)
            self.assertEqual(f[0], FRAME_MESSAGE, f)
            mid, ch_got, frm, _ts, _att, body = d.parse_message(f[1])
            self.assertEqual((ch_got, frm), (ch, s.client_id))
            got[mid] = body
            d.send_raw(b"FIN %d\n" % mid)
        self.assertEqual(got, {m: b"p%d" % i for i, m in enumerate(mids)})
        self.expect_alive(d)
