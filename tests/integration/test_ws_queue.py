"""SPEC 5.3 "Upstream", queue.pop / queue.unpop, 5.5 "Upstream and events":
a client's upstream frames reach exactly one service popping its topic, on
any broker of the mesh, with exact envelopes and in order; frames are kept
while nobody pops (offline-max), and what a leaving service's socket had
not taken goes to another one."""

import asyncio
import json
import socket
import struct
import time
import base64
import os

from lib.harness import BrokerTestCase, request, wait_until
from lib.ws import WsClient


def pop_event(n, c, t, data, kind="text"):
    return {"e": "queue.pop",
            "p": {"n": n, "c": c, "t": t,
                  "d": {"frame": {"type": kind, "data": data, "finish": True}}},
            "id": None}


def data_of(ev):
    return ev["p"]["d"]["frame"]["data"]


class RawService:
    """A service connection on a bare socket with a small receive buffer,
    read only when asked: what it does not read stays in the kernel, so
    the broker's window of frames written and not taken fills up."""

    def __init__(self, addr, rcvbuf=4096):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect(addr)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /ws/v1?role=service HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Key: %s\r\n\r\n" % key).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def call(self, m, p, i):
        """Sends a call (a masked text frame); the reply is not read."""
        data = json.dumps({"m": m, "p": p, "i": i}).encode()
        mask = os.urandom(4)
        head = struct.pack("!BB", 0x81, 0x80 | 126) + struct.pack("!H", len(data)) \
            if len(data) >= 126 else struct.pack("!BB", 0x81, 0x80 | len(data))
        self.sock.sendall(head + mask + bytes(b ^ mask[k % 4] for k, b in enumerate(data)))

    def kill(self):
        """Closes with a reset, as a killed process's socket does."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


class QueueTest(BrokerTestCase):
    broker_args = ("--offline-max", "2000")

    @classmethod
    def start_brokers(cls):
        super().start_brokers()
        cls.broker2 = cls.start_class_broker(*cls.broker_args, suffix=".2")

    def client(self, topic, broker=None):
        c = WsClient((broker or self.broker).ws, {"topic": topic})
        self.addCleanup(c.close)
        return c

    def service(self, topics=None, broker=None):
        s = WsClient((broker or self.broker).ws, {"role": "service"}, ready=False)
        self.addCleanup(s.close)
        if topics is not None:
            self.assertEqual(s.call("queue.pop", {"t": topics}, i="p"),
                             {"E": None, "r": {"s": True}, "i": "p"})
        return s

    def topic(self):
        return "t-%s-%d" % (self._testMethodName[5:30], time.monotonic_ns() % 10**9)

    def collect(self, svc, n, timeout=10.0):
        """The data of the next n queue.pop events of svc."""
        return [data_of(svc.event("queue.pop", timeout)) for _ in range(n)]

    def test_frames_reach_a_service_on_another_broker_with_exact_envelopes(self):
        t = self.topic()
        s = self.service([t], broker=self.broker2)
        c = self.client(t)
        n = c.ready["p"]["n"]
        t0 = time.monotonic()
        c.send("héllo {\"x\"}")
        first = s.event("queue.pop")
        took = time.monotonic() - t0
        c.send(b"\x00\xff\x10")
        self.assertEqual(first, pop_event(n, c.client_id, t, "héllo {\"x\"}"))
        self.assertEqual(s.event("queue.pop"), pop_event(n, c.client_id, t, "AP8Q", "binary"))
        self.assertLess(took, 1.0, "a frame reaches its service in milliseconds")

    def test_one_clients_frames_keep_their_order(self):
        t = self.topic()
        s = self.service([t])
        c = self.client(t)
        for k in range(300):
            c.send("m%d" % k)
        self.assertEqual(self.collect(s, 300), ["m%d" % k for k in range(300)])

    def test_frames_are_kept_until_a_service_pops(self):
        t = self.topic()
        c = self.client(t, broker=self.broker2)
        for k in range(5):
            c.send("kept %d" % k)
        s = self.service()
        self.assertIsNone(s.quiet(0.3))
        self.assertEqual(s.call("queue.pop", {"t": ["other-" + t, t]}),
                         {"E": None, "r": {"s": True}, "i": 1})
        self.assertEqual(self.collect(s, 5), ["kept %d" % k for k in range(5)])
        c.send("live")
        self.assertEqual(self.collect(s, 1), ["live"])
        self.assertIsNone(s.quiet(0.2))

    def test_offline_max_keeps_the_newest(self):
        b = self.extra_broker("--offline-max", "3")
        t = self.topic()
        c = self.client(t, broker=b)
        for k in range(7):
            c.send("k%d" % k)
        wait_until(lambda: self.redis.cmd("LLEN", "pg:q:" + t) == 3
                   and self.redis.cmd("LINDEX", "pg:q:" + t, -1).endswith(b'"k6","finish":true}}},"id":null}'), 5)
        s = self.service([t])
        self.assertEqual(self.collect(s, 3), ["k4", "k5", "k6"])
        self.assertIsNone(s.quiet(0.3))

    def test_two_services_on_two_brokers_get_each_frame_once(self):
        t = self.topic()
        a = self.service([t])
        b = self.service([t], broker=self.broker2)
        clients = [self.client(t), self.client(t, broker=self.broker2)]
        want = []
        for k in range(200):
            for i, c in enumerate(clients):
                c.send("%d:%d" % (i, k))
                want.append("%d:%d" % (i, k))
        got = {"a": [], "b": []}
        deadline = time.monotonic() + 15
        while len(got["a"]) + len(got["b"]) < len(want) and time.monotonic() < deadline:
            for name, svc in (("a", a), ("b", b)):
                while True:
                    f = svc.quiet(0.05)
                    if f is None:
                        break
                    got[name].append(data_of(json.loads(f)))
        both = got["a"] + got["b"]
        self.assertEqual(sorted(both), sorted(want), "each frame exactly once")
        for name in ("a", "b"):
            for i in range(2):
                mine = [int(x.split(":")[1]) for x in got[name] if x.startswith("%d:" % i)]
                self.assertEqual(mine, sorted(mine), "a client's frames in order at %s" % name)
        self.assertIsNone(a.quiet(0.2))
        self.assertIsNone(b.quiet(0.1))

    def hand_over(self, leave, broker=None, ordered=True):
        """A service that reads nothing pops a burst: its socket takes the
        first M frames, the next few (its window) are written and not
        taken, the rest wait in Redis. It leaves (leave(raw)); a service on the
        other broker then gets exactly frames M.., in order (ordered: a
        dead broker's are reclaimed a beat later, after the rest)."""
        t, n = self.topic(), 200     # 12 MB: more than its socket takes (4 MB at most)
        raw = RawService((broker or self.broker).ws)
        raw.call("queue.pop", {"t": [t]}, 1)
        wait_until(lambda: self.redis.cmd("SMEMBERS", "pg:q:%s:bk" % t), 5)
        c = self.client(t)
        for k in range(n):
            c.send("%04d %s" % (k, "x" * 60000))
        seen = []

        def settled():    # for 1.5 s: with 8 test modules on 2 cores a broker may stall 0.3 s
            seen.append((self.in_flight(), self.redis.cmd("LLEN", "pg:q:" + t)))
            return len(seen) > 15 and seen[-1][0] > 0 and len(set(seen[-16:])) == 1
        self.assertTrue(wait_until(settled, 20, interval=0.1), seen[-5:])
        taken = n - sum(seen[-1])
        leave(raw)
        if ordered:      # the broker hands them back once it has read the leaving
            self.assertTrue(wait_until(lambda: self.in_flight() == 0, 5))
        s = self.service([t], broker=self.broker2)
        got = [int(x[:4]) for x in self.collect(s, n - taken)]
        self.assertEqual(got if ordered else sorted(got), list(range(taken, n)),
                         "its socket took %d" % taken)
        self.assertIsNone(s.quiet(0.3))
        self.assertEqual(self.in_flight(), 0)

    def in_flight(self):
        """Frames in flight on every broker (a process runs a broker per loop)."""
        return sum(self.redis.cmd("HLEN", "pg:qf:" + b.decode())
                   for b in self.redis.cmd("SMEMBERS", "pg:qf:brokers"))

    def test_a_killed_service_loses_only_what_its_socket_took(self):
        self.hand_over(lambda raw: raw.kill())

    def test_a_killed_brokers_frames_in_flight_go_to_another(self):
        doomed = self.extra_broker("--threads", "1")
        self.hand_over(lambda raw: doomed.kill(), broker=doomed, ordered=False)

    def test_unpop_hands_over(self):
        self.hand_over(lambda raw: raw.call("queue.unpop", {}, 2))

    def test_codes(self):
        s = self.service()
        for p in ({"t": []}, {"t": "a"}, {"t": ["$x"]}, {"t": ["a b"]}, {"t": [1]}, {},
                  {"t": ["x" * 129]}):
            with self.subTest(p=p):
                self.assertEqual(s.call("queue.pop", p)["E"]["c"], 101)
        self.assertEqual(s.call("queue.unpop", {}), {"E": None, "r": {"s": True}, "i": 1})
        t = self.topic()
        self.assertEqual(s.call("queue.pop", {"t": [t, "$conn", t]}),
                         {"E": None, "r": {"s": True}, "i": 1})
        self.assertEqual(s.call("queue.pop", {"t": ["b-" + t, t]}, i=2),
                         {"E": {"c": 202, "m": "already consuming"}, "i": 2})
        c = self.client("b-" + t)
        c.send("not popped")
        # a call that got 202 pops nothing ($conn's conn.* events do come)
        with self.assertRaises((TimeoutError, asyncio.TimeoutError)):
            s.event("queue.pop", 0.3)
        self.assertEqual(s.call("queue.unpop", {}, i=3), {"E": None, "r": {"s": True}, "i": 3})
        self.assertEqual(s.call("queue.pop", {"t": ["b-" + t]}, i=4)["E"], None)
        self.assertEqual(self.collect(s, 1), ["not popped"])

    def test_clients_and_http_may_not_pop(self):
        c = self.client("default")
        self.assertEqual(c.call("queue.pop", {"t": ["x"]})["E"]["c"], 403)
        for path in ("/v1/queue/pop", "/v1/queue/unpop"):
            st, _h, data = request(self.broker.ws[1], "POST", path, body=b'{"t":["x"]}')
            self.assertEqual((st, json.loads(data)["E"]["c"]), (404, 102), path)


class QueueRedisDownTest(BrokerTestCase):
    broker_args = ("--threads", "1")

    def test_codes_while_redis_is_away_then_popping_again(self):
        s = WsClient(self.broker.ws, {"role": "service"}, ready=False)
        self.addCleanup(s.close)
        self.assertEqual(s.call("queue.pop", {"t": ["up"]})["E"], None)
        c = WsClient(self.broker.ws, {"topic": "up"})
        self.addCleanup(c.close)
        c.send("before")
        self.assertEqual(data_of(s.event("queue.pop")), "before")
        self.redis.stop()
        try:
            codes = []
            wait_until(lambda: codes.append(s.call("queue.pop", {"t": ["x%d" % len(codes)]},
                                                   i=len(codes))["E"]) or codes[-1], 5)
            self.assertEqual(codes[-1], {"c": 201, "m": "consume failed"})
            self.assertEqual(s.call("queue.unpop", {}, i="u")["E"],
                             {"c": 203, "m": "unpop failed"})
        finally:
            self.redis.start()
        # Back: the broker joins its topics again and pops what comes.
        got = []

        def popped():
            c.send("after %d" % len(got))
            got.append(s.quiet(0.2))
            return got[-1] is not None and data_of(json.loads(got[-1])).startswith("after")
        self.assertTrue(wait_until(popped, 10), got[-3:])
        self.assertEqual(s.call("queue.pop", {"t": ["up"]}, i="again")["E"]["c"], 202,
                         "203 left it popping")
