"""SPEC 5.3 conn.call set_context / set_context_value on a client of
another broker (the context lives with the presence in Redis, as long as
the connection), on a TCP device, and its errors (301, 101)."""

import json
import time

from lib.harness import BrokerTestCase, new_id
from lib.ws import WsClient, WsServiceMixin


class MeshConnTest(WsServiceMixin, BrokerTestCase):

    @classmethod
    def start_brokers(cls):
        cls.broker = cls.start_class_broker()
        cls.other = cls.start_class_broker(suffix=".other")

    def ctx_of(self, cid):
        v = self.redis.cmd("HGET", "pg:dev:%s" % cid, "ctx")
        return None if v is None else json.loads(v)

    def call(self, s, cid, f, a, i=1):
        return s.call("conn.call", {"c": str(cid), "f": f, "a": a}, i=i)

    def test_context_of_a_client_on_another_broker(self):
        c = WsClient(self.other.ws)
        self.addCleanup(c.close)
        s = self.service()
        ok = {"E": None, "r": {"s": True}, "i": 1}
        self.assertEqual(self.call(s, c.client_id, "set_context_value", ["user", {"n": 7}]), ok)
        self.assertEqual(self.call(s, c.client_id, "set_context_value", ["room", "a"]), ok)
        self.assertEqual(self.ctx_of(c.client_id), {"user": {"n": 7}, "room": "a"})
        self.assertEqual(self.call(s, c.client_id, "set_context", [{"only": True}]), ok)
        self.assertEqual(self.ctx_of(c.client_id), {"only": True})
        c.close()
        self.assertTrue(wait_for(lambda: self.ctx_of(c.client_id) is None))
        self.assertEqual(self.call(s, c.client_id, "set_context", [{}], i=2),
                         {"E": {"c": 301, "m": "client not connected"}, "i": 2})

    def test_replaced_across_brokers_and_transports(self):
        c = WsClient(self.broker.ws)
        self.addCleanup(c.close)
        d = self.connect(self.other)
        self.assertEqual(d.identify(int(c.client_id))[0], 0)
        self.assertEqual(c.wait_closed(), 4001)
        c2 = WsClient(self.broker.ws, {"client_id": c.client_id})
        self.addCleanup(c2.close)
        self.expect_fatal(d, "E_REPLACED")

    def test_a_client_of_a_killed_broker_is_not_connected(self):
        b = self.extra_broker()
        c = WsClient(b.ws)
        s = self.service()
        self.assertEqual(self.call(s, c.client_id, "set_context", [{}])["r"], {"s": True})
        b.kill()
        self.assertEqual(self.call(s, c.client_id, "set_context", [{}], i=2)["E"]["c"], 301)

    def test_a_tcp_device_has_a_context_too(self):
        d = self.identified(broker=self.other)
        s = self.service()
        self.assertEqual(self.call(s, d.client_id, "set_context", [{"k": 1}])["r"], {"s": True})
        self.assertEqual(self.ctx_of(d.client_id), {"k": 1})

    def test_errors(self):
        c = WsClient(self.broker.ws)
        self.addCleanup(c.close)
        s = self.service()
        cid = c.client_id
        cases = [({"c": cid, "f": "nope", "a": []}, 301),
                 ({"c": str(new_id()), "f": "set_context", "a": [{}]}, 301),
                 ({"c": cid, "f": "set_context", "a": ["x"]}, 101),
                 ({"c": cid, "f": "set_context", "a": [{}, {}]}, 101),
                 ({"c": cid, "f": "set_context_value", "a": [1, 2]}, 101),
                 ({"c": cid, "f": "set_context_value", "a": ["k", "x" * 4100]}, 101),
                 ({"c": "x", "f": "set_context", "a": [{}]}, 101),
                 ({"c": cid, "f": 5, "a": [{}]}, 101)]
        for k, (p, code) in enumerate(cases):
            with self.subTest(p=p):
                self.assertEqual(s.call("conn.call", p, i=k)["E"]["c"], code)
        # a 4 KiB context passes, one byte more does not
        val = "x" * (4096 - len('{"k":""}'))
        self.assertEqual(self.call(s, cid, "set_context", [{"k": val}])["r"], {"s": True})
        self.assertEqual(self.call(s, cid, "set_context", [{"k": val + "x"}])["E"]["c"], 101)
        self.assertEqual(self.call(s, cid, "set_context_value", ["j", 1])["E"]["c"], 101)
        # a client may not call it
        self.assertEqual(c.call("conn.call", {"c": cid, "f": "set_context", "a": [{}]})["E"]["c"],
                         403)


def wait_for(fn, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.05)
    return False
