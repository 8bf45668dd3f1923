"""SPEC 5.4 "Limits are cluster-wide", 5.5 "Limits": gateway.limit and
brokerd's --accept-per-s / --messages-per-s, on three brokers sharing one
Redis. Windows are fixed wall-clock seconds: each counting test starts
its burst just after a second begins and checks it ended in that second
(else it runs the burst again in a fresh window)."""

import time

from lib.harness import (BrokerTestCase, Closed, FRAME_ACK, FRAME_RESPONSE, Client,
                         new_id, wait_until)
from lib.ws import WsClient, WsServiceMixin, upgrade_status


def ok(r, i=1):
    return {"E": None, "r": r, "i": i}


RATE = {"E": {"c": 429, "m": "over a rate limit"}, "i": 1}


def limits(a, m):
    return ok({"accept_per_s": a, "messages_per_s": m})


def in_window(burst, tries=4):
    """Runs burst() from just after the start of a second; its result
    once it ended within that same second."""
    for _ in range(tries):
        now = time.time()
        time.sleep(1.02 - (now - int(now)))
        start = int(time.time())
        out = burst()
        if int(time.time()) == start:
            return out
    raise AssertionError("no burst fitted in one second in %d tries" % tries)


class LimitsTest(WsServiceMixin, BrokerTestCase):

    @classmethod
    def start_brokers(cls):
        cls.brokers = [cls.start_class_broker(suffix=".%d" % k) for k in range(3)]
        cls.broker = cls.brokers[0]

    def setUp(self):
        super().setUp()
        self.addCleanup(self.reset_limits)

    def reset_limits(self):
        s = self.service()
        self.assertEqual(s.call("gateway.limit", {"accept_per_s": 0, "messages_per_s": 0}),
                         limits(0, 0))
        self.redis.cmd("DEL", "pg:limits")

    # -- helpers
    def ws(self, broker=None, **query):
        c = WsClient((broker or self.broker).ws, query or None)
        self.addCleanup(c.close)
        return c

    def limit(self, p, broker=None):
        return self.service(broker).call("gateway.limit", p)

    def tcp_accepted(self, broker):
        """Whether a new TCP connection to broker is kept (IDENTIFY OK) or
        closed at once."""
        c = Client(broker.tcp).connect()
        try:
            c.send_magic()
            return c.identify(new_id(), timeout=2.0) == (FRAME_RESPONSE, b"OK")
        except (Closed, OSError):
            return False
        finally:
            c.close()

    def pubs(self, c, n, to):
        """n PUBs to device `to`, each waiting for its Ack: the Acks' 1/0."""
        out = []
        for _ in range(n):
            f = c.pub(to, new_id(), new_id(), b"x")
            self.assertEqual(f[0], FRAME_ACK, f)
            out.append(int(f[1].split()[1]))
        return out

    # -- gateway.limit
    def test_gateway_limit_replies_the_limits_in_force_and_ignores_invalid_values(self):
        self.assertEqual(self.limit({}), limits(0, 0))
        self.assertEqual(self.limit({"messages_per_s": 5}), limits(0, 5))
        for bad in (-1, 1000001, "7", 2.5, True, None, [1], {"n": 1}):
            self.assertEqual(self.limit({"accept_per_s": bad, "messages_per_s": bad}),
                             limits(0, 5), "ignored: %r" % (bad,))
        self.assertEqual(self.limit({"accept_per_s": 1000000}), limits(1000000, 5))
        self.assertEqual(self.limit({"accept_per_s": 7, "messages_per_s": 9}), limits(7, 9))
        self.assertEqual(self.limit({}, broker=self.brokers[1]), limits(7, 9), "both, at once")
        self.assertEqual(self.limit({"accept_per_s": 1000000, "messages_per_s": 5}),
                         limits(1000000, 5))
        self.assertEqual(self.limit({"accept_per_s": 0}, broker=self.brokers[2]), limits(0, 5))
        self.assertEqual(self.redis.cmd("HGET", "pg:limits", "messages_per_s"), b"5")
        self.assertEqual(self.redis.cmd("HGET", "pg:limits", "accept_per_s"), b"0")
        c = self.ws()
        self.assertEqual(c.call("gateway.limit", {"messages_per_s": 1}),
                         {"E": {"c": 403, "m": "not allowed for this role"}, "i": 1})
        self.assertEqual(self.limit({}), limits(0, 5), "a client's call changed nothing")

    def test_a_limit_set_reaches_the_three_brokers_within_a_second(self):
        devices = [self.identified(broker=b) for b in self.brokers]
        to = self.identified().client_id
        time.sleep(1.1)  # every loop is in pg:brokers (from its first heartbeat on)
        self.assertEqual(self.limit({"messages_per_s": 1}, broker=self.brokers[1]), limits(0, 1))
        t0 = time.monotonic()
        seen = {}
        while len(seen) < 3 and time.monotonic() - t0 < 1.0:
            for k, d in enumerate(devices):
                if k not in seen and 0 in self.pubs(d, 2, to):   # [1, 1] until it is seen
                    seen[k] = time.monotonic() - t0
        self.assertEqual(sorted(seen), [0, 1, 2], "limits seen by brokers %r" % seen)

    def test_a_limit_written_in_redis_is_read_with_the_heartbeat(self):
        d = self.identified(broker=self.brokers[2])
        to = self.identified().client_id
        self.redis.cmd("HSET", "pg:limits", "messages_per_s", "2")
        # the next heartbeat (each second) reads it
        self.assertTrue(wait_until(lambda: in_window(lambda: self.pubs(d, 3, to)) == [1, 1, 0],
                                   3.5, 0))
        self.redis.cmd("DEL", "pg:limits")   # the flags again (0: unlimited)
        self.assertTrue(wait_until(lambda: in_window(lambda: self.pubs(d, 3, to)) == [1, 1, 1],
                                   3.5, 0))

    # -- accept_per_s
    def test_accept_per_s_changed_while_connections_arrive(self):
        b = self.brokers[1]
        self.assertEqual(self.limit({"accept_per_s": 5}), limits(5, 0))
        self.assertEqual(in_window(lambda: [self.tcp_accepted(b) for _ in range(8)]),
                         [True] * 5 + [False] * 3)
        self.assertEqual(self.limit({"accept_per_s": 2}, broker=self.brokers[2]), limits(2, 0))
        self.assertEqual(in_window(lambda: [self.tcp_accepted(b) for _ in range(4)]),
                         [True] * 2 + [False] * 2)
        # changed within a window: what that window accepted so far still counts
        def changing():
            out = [self.tcp_accepted(b) for _ in range(2)]
            out.append(self.limit({"accept_per_s": 3}))   # on brokers[0]: not b's count
            time.sleep(0.3)                               # its notice reaches b
            return out + [self.tcp_accepted(b) for _ in range(3)]
        self.assertEqual(self.limit({"accept_per_s": 5}), limits(5, 0))
        self.assertEqual(in_window(changing), [True, True, limits(3, 0), True, False, False])
        # TCP connections and WebSocket upgrades share the count; /v1 is not counted
        self.assertEqual(self.limit({"accept_per_s": 3}), limits(3, 0))

        def mixed():
            out = [self.tcp_accepted(b), upgrade_status(b.ws)]
            out.append(self.limit({}, broker=b))
            out += [upgrade_status(b.ws, {"role": "service"}), upgrade_status(b.ws),
                    self.tcp_accepted(b)]
            return out
        self.assertEqual(in_window(mixed), [True, 101, limits(3, 0), 429, 429, False],
                         "the service of limit() took the third")
        self.assertEqual(self.limit({"accept_per_s": 0}), limits(0, 0))
        self.assertEqual(in_window(lambda: [self.tcp_accepted(b) for _ in range(8)]), [True] * 8)

    # -- messages_per_s
    def test_pubs_over_messages_per_s_get_ack_0_and_are_not_delivered(self):
        self.assertEqual(self.limit({"messages_per_s": 3}), limits(0, 3))
        r = self.identified(broker=self.brokers[2])
        c = self.identified()
        self.assertEqual(in_window(lambda: self.pubs(c, 5, r.client_id)), [1, 1, 1, 0, 0])
        got = [self.expect_message(r)[5] for _ in range(3)]
        self.assertEqual(got, [b"x"] * 3)
        self.assertIsNone(r.poll_frame(0.3), "the refused PUBs were not stored")

    def test_upstream_over_messages_per_s_gets_the_429_event_and_is_dropped(self):
        self.assertEqual(self.limit({"messages_per_s": 2}), limits(0, 2))
        topic = "lim-%d" % new_id()
        s = self.service(self.brokers[1])
        self.assertEqual(s.call("queue.pop", {"t": [topic]}), ok({"s": True}))
        c = self.ws(topic=topic)

        def burst():
            for k in range(3):
                c.send("f%d" % k)
            return c.event("error")
        self.assertEqual(in_window(burst), {"e": "error", "p": {"c": 429}, "id": None})
        datas = [s.event("queue.pop")["p"]["d"]["frame"]["data"] for _ in range(2)]
        self.assertEqual(datas, ["f0", "f1"])
        self.assertIsNone(s.quiet(0.3), "the third frame was dropped")

    def test_mesh_send_and_publish_over_messages_per_s_get_429(self):
        self.assertEqual(self.limit({"messages_per_s": 3}), limits(0, 3))
        c = self.ws()
        me = c.client_id

        def burst():
            return [c.call("mesh.send", {"c": me, "d": "a"}),
                    c.call("mesh.publish", {"c": "lim-%d" % new_id(), "d": "b"}),
                    c.call("mesh.send", {"c": me, "d": "c"}),
                    c.call("mesh.send", {"c": me, "d": "d"}),
                    c.call("mesh.publish", {"c": "x", "d": "e"})]
        self.assertEqual(in_window(burst), [ok({"s": True}), ok({"s": 0, "f": 0}),
                                            ok({"s": True}), RATE, RATE])
        got = [c.event("message")["p"]["d"] for _ in range(2)]
        self.assertEqual(got, ["a", "c"])
        # services are not counted
        s = self.service()
        self.assertEqual([s.call("mesh.send", {"c": me, "d": "s"}) for _ in range(5)],
                         [ok({"s": True})] * 5)

    # -- the flags
    def test_the_flags_until_redis_sets_a_limit(self):
        b = self.extra_broker("--accept-per-s", "2", "--messages-per-s", "1")
        self.assertEqual(self.limit({}, broker=b), limits(2, 1), "nothing in Redis: the flags")
        self.assertEqual(in_window(lambda: [self.tcp_accepted(b) for _ in range(3)]),
                         [True, True, False])
        to = self.identified().client_id

        def pubs():
            d = self.identified(broker=b)
            return self.pubs(d, 2, to)
        self.assertEqual(in_window(pubs), [1, 0])
        # once Redis holds one, it wins over the flag; the other stays the flag's
        self.assertEqual(self.limit({"messages_per_s": 3}), limits(0, 3))
        self.assertEqual(self.limit({}, broker=b), limits(2, 3))


