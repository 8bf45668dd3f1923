"""SPEC 5.4, 5.5: conn.info, conn.info_delete, topic.members,
topic.member_count, topic.delete, conn.offline, conn.offline_guests and
conn.token on three brokers, with exact replies; bad input is 101 and
changes nothing; a client gets 403."""

from lib.cluster import Router, post
from lib.harness import BrokerTestCase, new_id, wait_until
from lib.mesh import MeshServiceTestCase
from lib.ws import WsClient


class MeshConnsTest(MeshServiceTestCase):

    def sub(self, s, cid, names, f="subscribe"):
        self.assertEqual(self.r(s, "conn.call", {"c": str(cid), "f": f, "a": names}), {"s": True})

    def tcp_broker(self, t):
        """The broker id (an event loop's) a TCP device is connected to."""
        return int(self.redis.cmd("HGET", "pg:dev:%d" % t.client_id, "broker"))

    def snapshot(self, ids, chans):
        """What a bad call must not change."""
        r = self.redis
        return ([r.cmd("HGETALL", "pg:dev:%s" % d) for d in ids],
                [sorted(r.cmd("SMEMBERS", "pg:dev:%s:subs" % d)) for d in ids],
                [sorted(r.cmd("SMEMBERS", "pg:ch:%s:subs" % c)) for c in chans])

    def test_conn_info_of_online_offline_and_unknown(self):
        s = self.service(self.b3)
        w = self.ws(self.b2)
        t = self.identified(broker=self.broker)
        off = self.identified(broker=self.b2)
        self.sub(s, w.client_id, ["zeta", "7", "Alpha"])
        self.sub(s, off.client_id, ["k"])
        self.r(s, "conn.call", {"c": w.client_id, "f": "set_context", "a": [{"u": 1}]})
        off.close()
        unknown = str(new_id())
        self.assertTrue(wait_until(
            lambda: self.r(s, "conn.online", {"c": [str(off.client_id)]})["c"] == [], 3.0))
        got = self.r(s, "conn.info", {"c": [w.client_id, t.client_id, str(off.client_id),
                                            unknown, w.client_id]})
        self.assertEqual(got, {"m": {
            w.client_id: {"online": True, "n": w.ready["p"]["n"], "ctx": {"u": 1},
                          "topics": ["7", "Alpha", "zeta"]},
            str(t.client_id): {"online": True, "n": self.tcp_broker(t), "ctx": {},
                               "topics": []},
            str(off.client_id): {"online": False, "n": None, "ctx": {}, "topics": ["k"]},
            unknown: {"online": False, "n": None, "ctx": {}, "topics": []}}})
        self.assertEqual(self.redis.cmd("EXISTS", "pg:dev:" + unknown), 0)

    def test_info_delete(self):
        s = self.service()
        w = self.ws(self.b3)
        cid = w.client_id
        chans = ["del%d" % new_id(), "del%d" % new_id()]
        self.sub(s, cid, chans)
        self.r(s, "conn.call", {"c": cid, "f": "set_context", "a": [{"u": 1}]})

        def info():
            return self.r(s, "conn.info", {"c": [cid]})["m"][cid]
        # defaults: the context goes, the topics stay
        self.assertEqual(self.r(s, "conn.info_delete", {"c": cid}), {"s": True})
        self.assertEqual(info()["ctx"], {})
        self.assertEqual(info()["topics"], sorted(chans))
        self.r(s, "conn.call", {"c": cid, "f": "set_context", "a": [{"u": 2}]})
        self.assertEqual(self.r(s, "conn.info_delete", {"c": cid, "context": False,
                                                       "topics": True}), {"s": True})
        self.assertEqual(info()["ctx"], {"u": 2})
        self.assertEqual(info()["topics"], [])
        self.assertEqual(self.r(s, "topic.member_count", {"c": chans}),
                         {"m": {chans[0]: 0, chans[1]: 0}})
        # the client's broker dropped the channels: a publish reaches nobody
        self.assertEqual(self.r(s, "mesh.publish", {"c": chans[0], "d": "x"}), {"s": 0, "f": 0})
        self.assertIsNone(w.quiet(0.3))
        # an id never known: 401, nothing written
        unknown = str(new_id())
        self.assertEqual(s.call("conn.info_delete", {"c": unknown})["E"]["c"], 401)
        self.assertEqual(self.redis.cmd("EXISTS", "pg:dev:" + unknown), 0)

    def test_topic_members_and_counts(self):
        s = self.service(self.b2)
        devs = [self.identified(broker=b) for b in (self.broker, self.b2, self.b3)]
        a, b, none = "mem%d" % new_id(), "007", "nobody%d" % new_id()
        for d in devs:
            self.sub(s, d.client_id, [a])
        self.sub(s, devs[0].client_id, [b])
        devs[1].close()  # offline devices are members too
        ids = sorted(d.client_id for d in devs)
        got = self.r(s, "topic.members", {"c": [none, a, b, a]})
        self.assertEqual(got, {"m": {none: [], a: [str(i) for i in ids],
                                     b: [str(devs[0].client_id)]}})
        self.assertEqual(self.r(s, "topic.member_count", {"c": [a, none, b]}),
                         {"m": {a: 3, none: 0, b: 1}})

    def test_topic_delete(self):
        s = self.service(self.b3)
        w = self.ws(self.broker)
        t = self.identified(broker=self.b2)
        off = self.identified(broker=self.b3)
        x, y = "tdel%d" % new_id(), str(new_id())
        for d in (w.client_id, t.client_id, off.client_id):
            self.sub(s, d, [x])
        self.sub(s, t.client_id, [y])
        off.close()
        base = self.r(s, "topic.count", {})["n"]
        self.assertEqual(self.r(s, "topic.delete", {"c": [x, y, "never%d" % new_id()]}), {"s": 4})
        self.assertEqual(self.r(s, "topic.count", {})["n"], base - 2)
        self.assertEqual(self.r(s, "topic.member_count", {"c": [x, y]}), {"m": {x: 0, y: 0}})
        for d in (w.client_id, t.client_id, off.client_id):
            self.assertEqual(self.r(s, "conn.info", {"c": [str(d)]})["m"][str(d)]["topics"], [])
        # their brokers heard: nothing is delivered
        self.assertEqual(self.r(s, "mesh.publish", {"c": x, "d": "x"}), {"s": 0, "f": 0})
        self.assertIsNone(w.quiet(0.3))
        self.assertEqual(self.r(s, "topic.delete", {"c": [x]}), {"s": 0})

    def test_topic_delete_in_steps(self):
        s = self.service()
        ch = "big%d" % new_id()
        ids = [str(new_id()) for _ in range(2500)]
        for d in ids:  # known devices, offline, subscribed as SUB would
            self.redis.cmd("HSET", "pg:dev:" + d, "known", "1")
        for k in range(0, 2500, 250):
            self.sub(s, ids[k], [ch])
        for k, d in enumerate(ids):
            if k % 250:
                self.redis.cmd("SADD", "pg:ch:%s:subs" % ch, d)
                self.redis.cmd("SADD", "pg:dev:%s:subs" % d, ch)
                self.redis.cmd("ZINCRBY", "pg:channels", "1", ch)
        self.assertEqual(self.r(s, "topic.member_count", {"c": [ch]}), {"m": {ch: 2500}})
        self.assertEqual(len(self.r(s, "topic.members", {"c": [ch]})["m"][ch]), 1000, "capped")
        self.assertEqual(self.r(s, "topic.delete", {"c": [ch]}), {"s": 2500})
        self.assertEqual(self.redis.cmd("EXISTS", "pg:ch:%s:subs" % ch), 0)
        self.assertIsNone(self.redis.cmd("ZSCORE", "pg:topics", ch))
        self.assertIsNone(self.redis.cmd("ZSCORE", "pg:channels", ch))

    def test_offline_on_any_broker(self):
        s = self.service(self.b3)
        w = self.ws(self.b2)
        t = self.identified(broker=self.broker)
        unknown = str(new_id())
        got = self.r(s, "conn.offline", {"c": [w.client_id, str(t.client_id), unknown,
                                               w.client_id]})
        self.assertEqual(got, {"s": 2})
        self.assertEqual(w.wait_closed(), 4002)
        self.expect_fatal(t, "E_DISCONNECTED")
        self.assertTrue(wait_until(lambda: self.r(s, "conn.online", {
            "c": [w.client_id, str(t.client_id)]})["c"] == [], 3.0))
        self.assertEqual(self.r(s, "conn.offline", {"c": [w.client_id]}), {"s": 0})

    def test_offline_guests_closes_only_empty_contexts(self):
        s = self.service()
        guest_ws, member_ws = self.ws(self.b2), self.ws(self.b3)
        guest_tcp, member_tcp = (self.identified(broker=self.b3),
                                 self.identified(broker=self.broker))
        emptied = self.ws(self.broker)
        self.r(s, "conn.call", {"c": member_ws.client_id, "f": "set_context", "a": [{"u": 1}]})
        self.r(s, "conn.call", {"c": str(member_tcp.client_id), "f": "set_context_value",
                                "a": ["u", 2]})
        self.r(s, "conn.call", {"c": emptied.client_id, "f": "set_context", "a": [{}]})
        ids = [guest_ws.client_id, member_ws.client_id, str(guest_tcp.client_id),
               str(member_tcp.client_id), emptied.client_id]
        self.assertEqual(self.r(s, "conn.offline_guests", {"c": ids}), {"s": 3})
        self.assertEqual(guest_ws.wait_closed(), 4002)
        self.assertEqual(emptied.wait_closed(), 4002)
        self.expect_fatal(guest_tcp, "E_DISCONNECTED")
        self.expect_alive(member_tcp)
        self.assertEqual(member_ws.call("ping-not-a-call", {})["E"]["c"], 102)
        self.assertTrue(wait_until(lambda: self.r(s, "conn.online", {"c": ids})["c"] ==
                                   [member_ws.client_id, str(member_tcp.client_id)], 3.0))

    def test_token_without_a_secret_is_empty(self):
        s = self.service()
        self.assertEqual(self.r(s, "conn.token", {"c": str(new_id())}), {"token": ""})

    def test_bad_input_is_101_and_changes_nothing(self):
        s = self.service()
        w = self.ws(self.b2)
        cid = w.client_id
        ch = "bad%d" % new_id()
        self.sub(s, cid, [ch])
        self.r(s, "conn.call", {"c": cid, "f": "set_context", "a": [{"u": 1}]})
        before = self.snapshot([cid], [ch])
        many = [str(i + 1) for i in range(10000)]
        chans = ["c%d" % i for i in range(10000)]
        cases = []
        for m in ("conn.info", "conn.offline", "conn.offline_guests"):
            cases += [(m, {}), (m, {"c": cid}), (m, {"c": []}), (m, {"c": ["x", cid]}),
                      (m, {"c": [cid, 0]}), (m, {"c": many}), (m, {"c": [cid, None]})]
        for m in ("topic.members", "topic.member_count", "topic.delete"):
            cases += [(m, {}), (m, {"c": ch}), (m, {"c": []}), (m, {"c": [ch, "a b"]}),
                      (m, {"c": [ch, "$r"]}), (m, {"c": chans}), (m, {"c": [ch, 1.5]})]
        cases += [("conn.info_delete", {}), ("conn.info_delete", {"c": [cid]}),
                  ("conn.info_delete", {"c": "x"}),
                  ("conn.info_delete", {"c": cid, "context": 1}),
                  ("conn.info_delete", {"c": cid, "topics": "true", "context": True}),
                  ("conn.token", {}), ("conn.token", {"c": "0"}), ("conn.token", {"c": [cid]})]
        for k, (m, p) in enumerate(cases):
            with self.subTest(m=m, p=str(p)[:60]):
                self.assertEqual(s.call(m, p, i=k)["E"]["c"], 101)
        self.assertEqual(self.snapshot([cid], [ch]), before)
        self.assertIsNone(w.quiet(0.2), "still connected, nothing sent")

    def test_a_client_gets_403(self):
        c = self.ws(self.broker)
        for k, m in enumerate(["conn.info", "conn.info_delete", "topic.members",
                               "topic.member_count", "topic.delete", "conn.offline",
                               "conn.offline_guests", "conn.token"]):
            with self.subTest(m=m):
                self.assertEqual(c.call(m, {"c": [c.client_id]}, i=k)["E"]["c"], 403)
        self.assertIsNone(c.quiet(0.2))


SECRET = "s13b-%d" % new_id()


class MeshTokenTest(BrokerTestCase):
    broker_args = ("--secret", SECRET)

    @classmethod
    def start_brokers(cls):
        super().start_brokers()
        cls.router = cls.own(Router(cls.redis.port, "--secret", SECRET,
                                    label=cls.class_label() + ".router"))
        cls.router.wait_ready()

    def test_the_token_routerd_gives(self):
        s = WsClient(self.broker.ws, {"role": "service"}, ready=False)
        self.addCleanup(s.close)
        st, rep = post(self.router.reg_port, "/registration",
                       query={"serial_no": "t13b-%d" % new_id(), "device_type": "2"})
        self.assertEqual(st, 200, rep)
        d = rep["data"]
        self.assertEqual(s.call("conn.token", {"c": str(d["device_id"])})["r"],
                         {"token": d["token"]})
        # any id, without making it known; the token lets it connect
        cid = str(new_id())
        tok = s.call("conn.token", {"c": int(cid)}, i=2)["r"]["token"]
        self.assertEqual(self.redis.cmd("EXISTS", "pg:dev:" + cid), 0)
        c = WsClient(self.broker.ws, {"client_id": cid, "token": tok})
        self.addCleanup(c.close)
        self.assertEqual(c.client_id, cid)
