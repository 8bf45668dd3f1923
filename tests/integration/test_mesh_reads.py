"""SPEC 5.4, 5.5 "Reads": conn.count, topic.count, conn.list, topic.list
and conn.online on three brokers, from the kept indexes (pg:online,
pg:topics); paging returns every id present for the whole walk exactly
once, in order; bad input is 101 and a client gets 403."""

import json
import socket
import struct
import time

from lib.harness import new_id, request, wait_until
from lib.mesh import MeshServiceTestCase
from lib.ws import WsClient

MAGIC = b"  V1"


def connect_many(addrs, ids, batch=500):
    """TCP devices ids, identified round robin on addrs, quickly: each batch
    connects and sends its IDENTIFYs, then reads their replies. Returns the
    open sockets."""
    socks = []
    for k in range(0, len(ids), batch):
        part = []
        for n, cid in enumerate(ids[k:k + batch]):
            s = socket.create_connection(addrs[(k + n) % len(addrs)], timeout=10.0)
            body = json.dumps({"client_id": cid}).encode()
            s.sendall(MAGIC + b"IDENTIFY\n" + struct.pack(">I", len(body)) + body)
            part.append(s)
        for s in part:
            head = b""
            while len(head) < 10:
                chunk = s.recv(10 - len(head))
                assert chunk, "closed before IDENTIFY's reply"
                head += chunk
            assert head == struct.pack(">II", 6, 0) + b"OK", head
        socks += part
    return socks


class MeshReadsTest(MeshServiceTestCase):

    def walk(self, s, m, count):
        """Every page of conn.list / topic.list; returns (items, pages)."""
        items, pages, cursor = [], 0, "0"
        while True:
            page = self.r(s, m, {"cursor": cursor, "count": count}, i=pages)
            self.assertLessEqual(len(page["c"]), count)
            items += page["c"]
            pages += 1
            cursor = page["cursor"]
            if cursor == "0":
                return items, pages

    def count(self, s, m="conn.count"):
        return self.r(s, m, {})["n"]

    def count_settled(self, s, tries=6):
        """Whether conn.count stayed the same over 1.2 s (a beat), within tries."""
        prev = self.count(s)
        for _ in range(tries):
            time.sleep(1.2)
            cur = self.count(s)
            if cur == prev:
                return True
            prev = cur
        return False

    def test_list_and_count_over_5000_devices(self):
        s = self.service(self.b2)
        base = self.count(s)
        ids = [new_id() for _ in range(5000)]
        socks = connect_many([b.tcp for b in (self.broker, self.b2, self.b3)], ids)
        try:
            self.assertEqual(self.count(s), base + 5000)
            got, pages = self.walk(s, "conn.list", 1000)
            self.assertEqual(len(got), len(set(got)), "each id once")
            self.assertEqual([int(x) for x in got], sorted(int(x) for x in got), "ascending")
            self.assertEqual(set(str(i) for i in ids) - set(got), set())
            self.assertEqual(len(got), base + 5000)
            self.assertEqual(pages, -(-(base + 5000) // 1000))
            # the default page is 1000
            self.assertEqual(len(self.r(s, "conn.list", {})["c"]), 1000)
        finally:
            for k in socks:
                k.close()
        self.assertTrue(wait_until(lambda: self.count(s) == base, 10.0), self.count(s))

    def test_an_id_present_for_the_whole_walk_is_listed_once(self):
        s = self.service()
        stay = [new_id() for _ in range(6)]
        socks = connect_many([self.broker.tcp, self.b3.tcp], stay)
        items, cursor, k, churn = [], "0", 0, []
        try:
            while True:
                page = self.r(s, "conn.list", {"cursor": cursor, "count": 2}, i=k)
                items += page["c"]
                cursor, k = page["cursor"], k + 1
                # devices come and go between pages
                churn += connect_many([self.b2.tcp], [new_id()])
                if len(churn) > 2:
                    churn.pop(0).close()
                if cursor == "0":
                    break
            self.assertEqual(len(items), len(set(items)))
            self.assertEqual([x for x in items if int(x) in stay], [str(x) for x in stay])
        finally:
            for x in socks + churn:
                x.close()

    def test_topic_list_and_count(self):
        s = self.service(self.b3)
        d = self.identified(broker=self.b2)
        names = ["zz%d" % new_id(), "0", "007", str(new_id()), "a:b%d" % new_id(),
                 "A%d" % new_id(), "~t%d" % new_id()]
        base = self.count(s, "topic.count")
        self.assertEqual(self.r(s, "conn.call", {"c": str(d.client_id), "f": "subscribe",
                                                 "a": names}), {"s": True})
        self.assertEqual(self.count(s, "topic.count"), base + len(names))
        got, pages = self.walk(s, "topic.list", 2)
        self.assertEqual(len(got), len(set(got)))
        self.assertEqual(got, sorted(got, key=lambda n: n.encode()), "byte order")
        self.assertEqual(set(names) - set(got), set())
        self.assertEqual(pages, -(-len(got) // 2))
        # a second subscriber does not count twice; the last one leaving does
        e = self.identified(broker=self.broker)
        self.r(s, "conn.call", {"c": str(e.client_id), "f": "subscribe", "a": names[:2]})
        self.assertEqual(self.count(s, "topic.count"), base + len(names))
        self.r(s, "conn.call", {"c": str(d.client_id), "f": "unsubscribe", "a": names})
        self.assertEqual(self.count(s, "topic.count"), base + 2)
        got, _ = self.walk(s, "topic.list", 1000)
        self.assertEqual([n for n in got if n in names], sorted(names[:2], key=str.encode))
        self.r(s, "conn.call", {"c": str(e.client_id), "f": "unsubscribe", "a": names[:2]})
        self.assertEqual(self.count(s, "topic.count"), base)

    def test_conn_online_in_request_order_without_repeats(self):
        s = self.service()
        w = WsClient(self.b2.ws)
        self.addCleanup(w.close)
        t = self.identified(broker=self.b3)
        off = self.identified(broker=self.broker)
        off.close()
        self.assertTrue(wait_until(
            lambda: self.r(s, "conn.online", {"c": [str(off.client_id)]})["c"] == [], 3.0))
        ask = [str(off.client_id), w.client_id, t.client_id, w.client_id, str(new_id()),
               int(w.client_id)]
        self.assertEqual(self.r(s, "conn.online", {"c": ask}),
                         {"c": [w.client_id, str(t.client_id)]})

    def test_a_killed_broker_leaves_the_index(self):
        s = self.service()
        b = self.extra_broker()
        # devices of earlier tests may still be leaving the index: start
        # from a count that held over a whole beat
        self.assertTrue(self.count_settled(s), "the count kept moving")
        base = self.count(s)
        ids = [new_id() for _ in range(3)]
        socks = connect_many([b.tcp], ids)
        self.assertEqual(self.count(s), base + 3)
        strs = [str(i) for i in ids]
        self.assertEqual(self.r(s, "conn.online", {"c": strs}), {"c": strs})
        b.kill()
        # the other brokers' beats take them out (each second)
        self.assertTrue(wait_until(
            lambda: self.r(s, "conn.online", {"c": strs})["c"] == [], 4.0))
        self.assertEqual(self.count(s), base)
        for k in socks:
            k.close()

    def test_gateway_metrics(self):
        s = self.service(self.b3)
        w = self.ws(self.broker)
        t = self.identified(broker=self.b2)
        def detail():
            return self.r(s, "gateway.metrics", {})
        # a killed broker of an earlier test counts until its beat is 5 s old
        self.assertTrue(wait_until(lambda: detail()["brokers"] == 3, 8.0), "from the beats")
        m = detail()
        self.assertEqual(set(m), {"brokers", "connections", "devices", "channels", "messages_in",
                                  "messages_out", "messages_pending", "brokers_detail"})
        for k, v in m.items():
            if k != "brokers_detail":
                self.assertIsInstance(v, int, k)
        rows = m["brokers_detail"]
        for row in rows:
            self.assertEqual(set(row), {"id", "addr", "ws", "connections", "messages_in",
                                        "messages_out"})
            self.assertIsInstance(row["id"], str)
        addrs = {"%s:%d" % b.tcp: "%s:%d" % b.ws for b in (self.broker, self.b2, self.b3)}
        self.assertEqual({r["addr"]: r["ws"] for r in rows}, addrs)
        self.assertIn(str(w.ready["p"]["n"]), [r["id"] for r in rows])
        # connections come from the beats (each second): both of ours show
        self.assertTrue(wait_until(lambda: detail()["connections"] >= 2, 3.0))
        m = detail()     # one reply: a beat may land between two
        self.assertEqual(sum(r["connections"] for r in m["brokers_detail"]), m["connections"])
        t.close()

    def test_a_broker_restarted_with_its_id_drops_what_it_held(self):
        s = self.service()
        bid = str(new_id() % (1 << 40))
        b = self.extra_broker("--broker-id", bid, "--threads", "1")
        ids = [new_id() for _ in range(3)]
        socks = connect_many([b.tcp], ids)
        strs = [str(i) for i in ids]
        self.assertEqual(self.r(s, "conn.online", {"c": strs}), {"c": strs})
        b.kill()
        b2 = self.extra_broker("--broker-id", bid, "--threads", "1", name="again")
        back = connect_many([b2.tcp], ids[:1])
        self.assertTrue(wait_until(
            lambda: self.r(s, "conn.online", {"c": strs})["c"] == strs[:1], 4.0))
        for k in socks + back:
            k.close()

    def test_bad_input_is_101(self):
        s = self.service()
        cases = [
            ("conn.list", {"cursor": "x"}), ("conn.list", {"cursor": "-1"}),
            ("conn.list", {"cursor": "01"}), ("conn.list", {"cursor": 5}),
            ("conn.list", {"cursor": ""}), ("conn.list", {"count": 0}),
            ("conn.list", {"count": 10001}), ("conn.list", {"count": "5"}),
            ("conn.list", {"count": 1.5}), ("conn.list", {"cursor": "9223372036854775808"}),
            ("topic.list", {"cursor": "x"}), ("topic.list", {"cursor": "~"}),
            ("topic.list", {"cursor": "~a b"}), ("topic.list", {"cursor": None}),
            ("topic.list", {"count": -1}),
            ("conn.online", {}), ("conn.online", {"c": "1"}), ("conn.online", {"c": []}),
            ("conn.online", {"c": ["x"]}), ("conn.online", {"c": [0]}),
            ("conn.online", {"c": ["1", "01"]}), ("conn.online", {"c": [{}]}),
            ("conn.online", {"c": [str(i + 1) for i in range(10000)]}),
            ("conn.online", {"c": [str(i + 1) for i in range(1001)]}),
        ]
        for k, (m, p) in enumerate(cases):
            with self.subTest(m=m, p=str(p)[:60]):
                self.assertEqual(s.call(m, p, i=k)["E"]["c"], 101)
        # 1000 distinct ids are fine
        self.assertEqual(self.r(s, "conn.online", {"c": [str(new_id()) for _ in range(1000)]}),
                         {"c": []})

    def test_over_http(self):
        t = self.identified(broker=self.b3)
        port = self.b2.ws[1]
        st, _h, body = request(port, "POST", "/v1/conn/online",
                               body=json.dumps({"c": [str(t.client_id), "1"]}).encode())
        self.assertEqual((st, json.loads(body)), (200, {"E": None,
                                                        "r": {"c": [str(t.client_id)]}}))
        st, _h, body = request(port, "POST", "/v1/conn/list", body=b'{"cursor":"x"}')
        self.assertEqual((st, json.loads(body)["E"]["c"]), (200, 101))
        def brokers():
            return json.loads(request(port, "POST", "/v1/gateway/metrics",
                                      body=b"{}")[2])["r"]["brokers"]
        self.assertTrue(wait_until(lambda: brokers() == 3, 8.0), "from the beats")

    def test_a_client_gets_403(self):
        c = WsClient(self.broker.ws)
        self.addCleanup(c.close)
        for k, m in enumerate(["conn.count", "topic.count", "conn.list", "topic.list",
                               "conn.online", "gateway.metrics"]):
            with self.subTest(m=m):
                self.assertEqual(c.call(m, {"c": [c.client_id]}, i=k)["E"]["c"], 403)
