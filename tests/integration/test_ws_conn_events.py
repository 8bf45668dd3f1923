"""SPEC 5.4, 5.5 "Upstream and events": conn.open and conn.close for every
device connection, TCP and WebSocket, on every broker, through the
reserved topic $conn: exact events, kept while no worker pops, each to
one of the popping workers."""

import time

from lib.harness import BrokerTestCase, new_id
from lib.ws import WsClient


class ConnEventsTest(BrokerTestCase):

    @classmethod
    def start_brokers(cls):
        cls.brokers = [cls.start_class_broker(suffix=".%d" % k) for k in range(2)]
        cls.broker = cls.brokers[0]

    def ws(self, broker, **query):
        c = WsClient(broker.ws, query or None)
        self.addCleanup(c.close)
        return c

    def worker(self, broker):
        s = WsClient(broker.ws, {"role": "service"}, ready=False)
        self.addCleanup(s.close)
        self.assertEqual(s.call("queue.pop", {"t": ["$conn"]}, i="p"),
                         {"E": None, "r": {"s": True}, "i": "p"})
        return s

    def events_of(self, workers, ids, n, timeout=5.0):
        """The next n conn.* events about ids, from any of workers, with the
        worker that got each (events of other clients are passed over)."""
        got, deadline = [], time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            for k, w in enumerate(workers):
                try:
                    ev = w._take(lambda o: o.get("e") in ("conn.open", "conn.close"), 0.05)
                except Exception:  # nothing within the slice: the next worker
                    continue
                if ev["p"]["c"] in ids:
                    got.append((k, ev))
        self.assertEqual(len(got), n, got)
        return got

    def test_a_tcp_device_replaced_on_another_broker_while_no_worker_pops(self):
        b0, b1 = self.brokers
        d = new_id()
        nobody = self.connect(b0)              # never identifies: no event
        nobody.close()
        t = self.identified(d, broker=b0)
        w = self.ws(b1, client_id=str(d), topic="orders")
        n1 = w.ready["p"]["n"]
        self.expect_error(t, "E_REPLACED")
        t.expect_closed(allow_frames=True)
        worker = self.worker(b1)               # popped now: they were kept
        evs = [ev for _k, ev in self.events_of([worker], {str(d)}, 3)]
        for ev in evs:
            self.assertEqual(ev["id"], None)
            self.assertEqual(sorted(ev["p"]), ["c", "ip", "n", "t", "ts"])
            self.assertEqual(ev["p"]["ip"], "127.0.0.1")
            self.assertIsInstance(ev["p"]["ts"], int)
        # the TCP connection's loop is one of b0's (its id is not known here)
        by = {(ev["e"], ev["p"]["t"]): ev["p"] for ev in evs}
        self.assertEqual(sorted(by), [("conn.close", ""), ("conn.open", ""),
                                      ("conn.open", "orders")], "TCP: no topic")
        n0 = by[("conn.open", "")]["n"]
        self.assertNotEqual(n0, n1)
        self.assertEqual((by[("conn.close", "")]["n"], by[("conn.open", "orders")]["n"]), (n0, n1))
        first = by[("conn.open", "")]["ts"]
        self.assertLessEqual(first, by[("conn.open", "orders")]["ts"])
        self.assertLessEqual(first, by[("conn.close", "")]["ts"])
        self.assertLess(abs(by[("conn.close", "")]["ts"] - by[("conn.open", "orders")]["ts"]), 1000)
        # the WebSocket connection's close, live
        w.close()
        (_k, ev), = self.events_of([worker], {str(d)}, 1)
        self.assertEqual((ev["e"], ev["p"]["n"], ev["p"]["t"]), ("conn.close", n1, "orders"))
        self.assertGreaterEqual(ev["p"]["ts"], by[("conn.open", "orders")]["ts"])

    def test_each_event_goes_to_one_of_two_workers(self):
        b0, b1 = self.brokers
        workers = [self.worker(b0), self.worker(b1)]
        ids = [new_id() for _ in range(12)]
        for k, d in enumerate(ids):
            c = self.identified(d, broker=self.brokers[k % 2])
            c.close()
        got = self.events_of(workers, {str(d) for d in ids}, 24)
        seen = sorted((ev["p"]["c"], ev["e"]) for _k, ev in got)
        self.assertEqual(seen, sorted([(str(d), e) for d in ids
                                       for e in ("conn.close", "conn.open")]),
                         "each event once, to one worker")

    def test_a_stopping_broker_closes_its_connections_events_included(self):
        worker = self.worker(self.brokers[0])
        own = self.extra_broker()
        d, e = new_id(), new_id()
        self.identified(d, broker=own)
        w = self.ws(own, client_id=str(e))
        self.events_of([worker], {str(d), str(e)}, 2)          # the opens
        own.stop()
        got = self.events_of([worker], {str(d), str(e)}, 2)
        self.assertEqual(sorted((ev["e"], ev["p"]["c"], ev["p"]["t"]) for _k, ev in got),
                         sorted([("conn.close", str(d), ""),
                                 ("conn.close", str(e), "default")]))
        w.close()

    def test_a_killed_brokers_connections_close_from_another_brokers_beat(self):
        worker = self.worker(self.brokers[0])
        doomed = self.extra_broker("--threads", "1")
        d, e = new_id(), new_id()
        self.identified(d, broker=doomed)
        w = self.ws(doomed, client_id=str(e), topic="orders")
        n = w.ready["p"]["n"]
        self.events_of([worker], {str(d), str(e)}, 2)          # the opens
        doomed.kill()
        t0 = time.time() * 1000
        # the first beat (each second) of a broker that finds it dead
        got = self.events_of([worker], {str(d), str(e)}, 2, timeout=8.0)
        self.assertEqual(sorted((ev["e"], ev["p"]["n"], ev["p"]["c"], ev["p"]["t"], ev["p"]["ip"])
                                for _k, ev in got),
                         sorted([("conn.close", n, str(d), "", "127.0.0.1"),
                                 ("conn.close", n, str(e), "orders", "127.0.0.1")]))
        for _k, ev in got:
            self.assertGreaterEqual(ev["p"]["ts"], t0 - 1000)
        self.assertIsNone(self.event_or_none(worker, {str(d), str(e)}, 1.5), "each close once")

    def event_or_none(self, worker, ids, timeout):
        """The next conn.* event of worker about ids within timeout, or None."""
        try:
            return worker._take(lambda o: o.get("e") in ("conn.open", "conn.close")
                                and o["p"]["c"] in ids, timeout)
        except Exception:
            return None

