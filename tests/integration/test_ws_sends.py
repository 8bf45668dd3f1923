"""SPEC 5.4, 5.5 "Sends": mesh.broadcast on three brokers (exact counts,
TCP and WebSocket devices, never kept), mesh.multicast, mesh.send_bulk and
mesh.publish_bulk (counts of unknown, offline and repeated ids), and bad
input on each of them, which gets 101 and changes nothing."""

import json
import signal
import time

from lib.harness import BrokerTestCase, new_id, request
from lib.ws import WsClient

ITEMS_MAX = 1000   # MESH_ITEMS_MAX (brokerd/mesh.h)


def ok(r, i=1):
    return {"E": None, "r": r, "i": i}


class SendsBase(BrokerTestCase):

    def ws(self, broker=None, role=None):
        """A client (or, with role "service", a service) of broker."""
        c = WsClient((broker or self.broker).ws, {"role": role} if role else None,
                     ready=role is None)
        self.addCleanup(c.close)
        return c

    def service(self, broker=None):
        return self.ws(broker, "service")

    def closed_cleanly(self, c):
        """Closes TCP device c with CLS and waits until its broker let it go."""
        c.send_line("CLS")
        self.expect_response(c, b"CLOSE_WAIT")
        c.expect_closed()

    def ws_msg(self, c):
        p = c.event("message")["p"]
        return p["i"], p["c"], p["f"], p["a"], p["t"], p["d"]

    def code(self, rep):
        self.assertIsNotNone(rep["E"], rep)
        return rep["E"]["c"]


class BroadcastTest(SendsBase):
    broker_args = ("--msg-timeout", "2")

    @classmethod
    def start_brokers(cls):
        cls.brokers = [cls.start_class_broker(*cls.broker_args, suffix=".%d" % k)
                       for k in range(3)]
        cls.broker = cls.brokers[0]

    def test_broadcast_reaches_every_connected_client_once_and_is_never_kept(self):
        b0, b1, b2 = self.brokers
        gone_id = new_id()
        self.closed_cleanly(self.identified(gone_id, broker=b1))   # known, offline
        t0 = self.identified(broker=b0)
        t1_id = new_id()
        t1 = self.identified(t1_id, broker=b1)
        w1, w2 = self.ws(b1), self.ws(b2)
        s = self.service(b2)
        t_start = int(time.time() * 1000)
        self.assertEqual(s.call("mesh.broadcast", {"d": "hello all"}), ok({"s": 4}),
                         "two TCP devices and two WebSocket clients on three brokers")
        mid, ch, frm, ts, att, body = self.expect_message(t0)
        self.assertEqual((ch, frm, att, body), (0, 0, 1, b"hello all"))
        self.assertLessEqual(abs(ts - t_start), 2000)
        m1 = self.expect_message(t1)
        t1.send_line("FIN %d" % mid)
        self.assertEqual((m1[0], m1[1], m1[2], m1[4], m1[5]), (mid, 0, 0, 1, b"hello all"))
        for w in (w1, w2):
            self.assertEqual(self.ws_msg(w), (str(mid), "", "0", 1, "text", "hello all"))
            w.send_json({"m": "msg.fin", "p": {"i": str(mid)}})
        # pending while the connection lives: redelivered (msg-timeout 2 s) until FIN
        again = self.expect_message(t0, timeout=5)
        self.assertEqual((again[0], again[4], again[5]), (mid, 2, b"hello all"))
        t0.send_line("FIN %d" % mid)
        self.assertIsNone(w1.quiet(2.5), "FINed: not sent again")
        # never kept: neither the offline device nor a connection that replaces t1 gets it
        back = self.identified(gone_id, broker=b2)
        t1b = self.identified(t1_id, broker=b2)
        self.expect_error(t1, "E_REPLACED")
        t1.expect_closed(allow_frames=True)
        self.expect_no_frame(back, 0.3)
        self.expect_no_frame(t1b, 0.3)
        # binary, to the five connected now (t0, w1, w2, back, t1b); ids from the counter
        rep = s.call("mesh.broadcast", {"d": "AP8=", "t": "binary"}, i=2)
        self.assertEqual(rep, ok({"s": 5}, 2))
        for c in (back, t1b):
            m = self.expect_message(c)
            self.assertEqual((m[1], m[2], m[4], m[5]), (0, 0, 1, b"\x00\xff"))
            self.assertGreater(m[0], mid)
        self.assertEqual(self.ws_msg(w2)[3:], (1, "binary", "AP8="))

    def test_a_broker_that_does_not_answer_within_a_second_is_left_out(self):
        hung = self.extra_broker("--msg-timeout", "2", name="hung")
        t = self.identified(broker=self.brokers[1])
        h = self.identified(broker=hung)
        s = self.service()
        hung.proc.send_signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            self.assertEqual(s.call("mesh.broadcast", {"d": "hi"}), ok({"s": 1}))
            took = time.monotonic() - t0
        finally:
            hung.proc.send_signal(signal.SIGCONT)
        self.assertGreaterEqual(took, 0.9, "it waited for the hung broker")
        self.assertLess(took, 3.0, "then answered with the counts that came")
        self.assertEqual(self.expect_message(t)[5], b"hi")
        t.send_line("FIN %d" % self.expect_message(h)[0])  # the hung one wrote it once awake
        # over HTTP, once every broker answers again: both
        st, _h, data = request(self.broker.ws[1], "POST", "/v1/mesh/broadcast",
                               body=b'{"d":"again"}')
        self.assertEqual((st, json.loads(data)), (200, {"E": None, "r": {"s": 2}}))
        self.assertEqual(self.expect_message(t)[5], b"again")
        self.closed_cleanly(t)            # the other tests count the class's clients

    def test_bad_broadcasts_get_101_and_send_nothing(self):
        w = self.ws()
        s = self.service()
        for p in ({}, {"d": ""}, {"d": 5}, {"d": "x", "t": "json"}, {"d": "%%", "t": "binary"}):
            self.assertEqual(self.code(s.call("mesh.broadcast", p)), 101, p)
        self.assertEqual(self.code(w.call("mesh.broadcast", {"d": "x"})), 403)
        self.assertIsNone(w.quiet(0.3))


class MultiSendTest(SendsBase):

    @classmethod
    def start_brokers(cls):
        cls.brokers = [cls.start_class_broker(suffix=".%d" % k) for k in range(2)]
        cls.broker = cls.brokers[0]

    def offline_known(self):
        """A device that identified once and left: known, not connected."""
        d = new_id()
        self.closed_cleanly(self.identified(d, broker=self.brokers[1]))
        return d

    def inbox_len(self, d):
        return self.redis.cmd("XLEN", "pg:dev:%d:in" % d)

    def test_multicast_counts_unknown_offline_and_repeats(self):
        a = self.ws(self.brokers[1])
        tid = new_id()
        t = self.identified(tid)
        off = self.offline_known()
        unknown = new_id()
        s = self.service()
        tid = str(tid)
        rep = s.call("mesh.multicast", {"c": [a.client_id, tid, str(off), str(unknown),
                                              a.client_id, int(a.client_id)], "d": "mc"})
        self.assertEqual(rep, ok({"s": 3, "f": 1}), "a once, t, the offline one; unknown in f")
        self.assertEqual(self.ws_msg(a)[1:], ("", "0", 1, "text", "mc"))
        self.assertIsNone(a.quiet(0.3), "a repeated id gets one message")
        self.assertEqual(self.expect_message(t)[5], b"mc")
        self.assertEqual(self.inbox_len(off), 1, "kept for the offline device")
        self.assertEqual(self.inbox_len(unknown), 0)
        back = self.identified(off)
        self.assertEqual(self.expect_message(back)[5], b"mc")

    def test_send_bulk_counts_each_item(self):
        a = self.ws()
        off = self.offline_known()
        unknown = new_id()
        s = self.service(self.brokers[1])
        items = [{"c": a.client_id, "d": "one"}, {"c": int(a.client_id), "d": "AP8=", "t": "binary"},
                 {"c": str(off), "d": "kept"}, {"c": str(unknown), "d": "lost"}]
        self.assertEqual(s.call("mesh.send_bulk", {"m": items}), ok({"s": 3, "f": 1}))
        got = sorted(self.ws_msg(a)[4:] for _ in range(2))
        self.assertEqual(got, [("binary", "AP8="), ("text", "one")])
        self.assertEqual(self.inbox_len(off), 1)
        self.assertEqual(self.redis.cmd("EXISTS", "pg:dev:%d" % unknown), 0)

    def test_publish_bulk_totals(self):
        a, b = self.ws(), self.ws(self.brokers[1])
        s = self.service()
        n1, n2, empty = ("pb-%d" % new_id() for _ in range(3))
        for c, names in ((a, [n1, n2]), (b, [n1])):
            self.assertEqual(s.call("conn.call", {"c": c.client_id, "f": "subscribe", "a": names}),
                             ok({"s": True}))
        items = [{"c": n1, "d": "x"}, {"c": [n1, n2, empty], "d": "y"}]
        self.assertEqual(s.call("mesh.publish_bulk", {"m": items}), ok({"s": 5, "f": 0}))
        got_a = sorted((m[1], m[5]) for m in (self.ws_msg(a) for _ in range(3)))
        self.assertEqual(got_a, [(n1, "x"), (n1, "y"), (n2, "y")])
        got_b = sorted((m[1], m[5]) for m in (self.ws_msg(b) for _ in range(2)))
        self.assertEqual(got_b, [(n1, "x"), (n1, "y")])

    def test_bad_input_gets_101_and_changes_nothing(self):
        a = self.ws()
        s = self.service()
        cid = a.client_id
        before = self.redis.cmd("GET", "pg:next_put_id")
        many = [str(k + 1) for k in range(10000)]         # within a frame's size
        bad = [
            ("mesh.multicast", {"d": "x"}),
            ("mesh.multicast", {"c": [], "d": "x"}),
            ("mesh.multicast", {"c": cid, "d": "x"}),
            ("mesh.multicast", {"c": [cid, "0"], "d": "x"}),
            ("mesh.multicast", {"c": [cid, "x1"], "d": "x"}),
            ("mesh.multicast", {"c": [cid, None], "d": "x"}),
            ("mesh.multicast", {"c": [cid]}),
            ("mesh.multicast", {"c": [cid], "d": ""}),
            ("mesh.multicast", {"c": many, "d": "x"}),
            ("mesh.multicast", {"c": [cid] * (ITEMS_MAX + 1), "d": "x"}),
            ("mesh.send_bulk", {}),
            ("mesh.send_bulk", {"m": []}),
            ("mesh.send_bulk", {"m": {"c": cid, "d": "x"}}),
            ("mesh.send_bulk", {"m": [{"c": cid, "d": "x"}, {"c": cid}]}),
            ("mesh.send_bulk", {"m": [{"c": cid, "d": "x"}, {"d": "x"}]}),
            ("mesh.send_bulk", {"m": [{"c": cid, "d": "x"}, {"c": cid, "d": 1}]}),
            ("mesh.send_bulk", {"m": [{"c": cid, "d": "x"}, "x"]}),
            ("mesh.send_bulk", {"m": [{"c": c, "d": "x"} for c in many[:ITEMS_MAX + 1]]}),
            ("mesh.publish_bulk", {"m": []}),
            ("mesh.publish_bulk", {"m": [{"c": "n", "d": "x"}, {"c": [], "d": "x"}]}),
            ("mesh.publish_bulk", {"m": [{"c": "n", "d": "x"}, {"c": "$r", "d": "x"}]}),
            ("mesh.publish_bulk", {"m": [{"c": "n", "d": "x"}, {"c": "n"}]}),
            ("mesh.publish_bulk", {"m": [{"c": ["a%d" % k for k in range(200)], "d": "x"}
                                        for _ in range(6)]}),
        ]
        for k, (m, p) in enumerate(bad):
            self.assertEqual(self.code(s.call(m, p, i=k)), 101, (m, str(p)[:80]))
        self.assertEqual(self.code(a.call("mesh.multicast", {"c": [cid], "d": "x"})), 403)
        self.assertEqual(self.redis.cmd("GET", "pg:next_put_id"), before, "no id given out")
        self.assertIsNone(a.quiet(0.3), "nothing sent")
