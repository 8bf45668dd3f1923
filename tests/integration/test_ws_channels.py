"""SPEC 5.2, 5.3, 5.5: channels named by any name, mesh.publish and
conn.call subscribe/unsubscribe, on three brokers sharing one Redis, with
WebSocket clients and TCP devices side by side."""

import json

from lib.harness import BrokerTestCase, new_id, request
from lib.ws import WsClient, WsServiceMixin


def ok(r):
    return {"E": None, "r": r, "i": 1}


def err(code):
    return lambda rep: rep["E"] is not None and rep["E"]["c"] == code


class WsChannelsTest(WsServiceMixin, BrokerTestCase):

    @classmethod
    def start_brokers(cls):
        cls.brokers = [cls.start_class_broker(suffix=".%d" % k) for k in range(3)]
        cls.broker = cls.brokers[0]

    # -- helpers
    def ws(self, broker=None, **query):
        c = WsClient((broker or self.broker).ws, query or None)
        self.addCleanup(c.close)
        return c

    def chan(self, prefix="ch"):
        """A channel name of this test alone."""
        return "%s-%d" % (prefix, new_id())

    def subscribe(self, s, client, names, f="subscribe"):
        rep = s.call("conn.call", {"c": str(client), "f": f, "a": names})
        self.assertEqual(rep, ok({"s": True}))

    def publish(self, s, p, i=1):
        return s.call("mesh.publish", p, i=i)

    def message(self, c):
        p = c.event("message")["p"]
        return (p["c"], p["f"], p["d"]), p

    def tcp_message(self, c):
        mid, ch, frm, _ts, att, body = self.expect_message(c)
        self.assertEqual(att, 1)
        return mid, ch, frm, body

    # -- mesh.publish
    def test_publish_counts_per_channel_and_reaches_ws_and_tcp(self):
        name, num = self.chan("news"), str(new_id())
        a, b = self.ws(), self.ws()
        d = self.subscribed(int(num))                     # TCP: SUB <id>
        s = self.service()
        self.subscribe(s, a.client_id, [name, num])
        self.subscribe(s, b.client_id, [name])
        rep = self.publish(s, {"c": [name, num], "d": "hello"})
        self.assertEqual(rep, ok({"s": 4, "f": 0}), "news: a, b; the id: a, d")
        got_a = dict(self.message(a) for _ in range(2))
        self.assertEqual(sorted(got_a), sorted([(name, "0", "hello"), (num, "0", "hello")]))
        got_b, pb = self.message(b)
        self.assertEqual(got_b, (name, "0", "hello"))
        mid, ch, frm, body = self.tcp_message(d)
        self.assertEqual((ch, frm, body), (int(num), 0, b"hello"))
        news_id = int(got_a[(name, "0", "hello")]["i"])
        self.assertEqual((int(pb["i"]), mid), (news_id, news_id + 1),
                         "one message per channel, ids from the counter in the order given")
        # a single name; no subscriber: 0/0
        self.assertEqual(self.publish(s, {"c": name, "d": "x"}), ok({"s": 2, "f": 0}))
        self.assertEqual(self.publish(s, {"c": self.chan(), "d": "x"}), ok({"s": 0, "f": 0}))

    def test_names_compare_as_bytes_and_a_tcp_device_gets_channel_id_0(self):
        num = new_id()
        d7 = self.subscribed(num)
        dn = self.identified()
        s = self.service()
        zero = "00" + str(num)
        self.subscribe(s, self.client_id_of(dn), [zero])
        self.assertEqual(self.publish(s, {"c": zero, "d": "zero"}), ok({"s": 1, "f": 0}))
        _mid, ch, frm, body = self.tcp_message(dn)
        self.assertEqual((ch, frm, body), (0, 0, b"zero"), "not an id: channel_id 0")
        self.expect_no_frame(d7, 0.2)
        self.assertEqual(self.publish(s, {"c": str(num), "d": "id"}), ok({"s": 1, "f": 0}))
        self.assertEqual(self.tcp_message(d7)[1:], (num, 0, b"id"))
        # an id may come as a JSON integer: the same channel (once)
        self.assertEqual(self.publish(s, {"c": [num, str(num)], "d": "int"}), ok({"s": 1, "f": 0}))
        self.assertEqual(self.tcp_message(d7)[1:], (num, 0, b"int"))
        self.expect_no_frame(dn, 0.2)

    def test_names_with_colons_and_percents_are_channels_of_their_own(self):
        name = self.chan()
        a = self.ws()
        s = self.service()
        names = [name, name + ":subs", name + ":brokers", name + "%3Asubs"]
        self.subscribe(s, a.client_id, names)
        self.assertEqual(self.publish(s, {"c": names, "d": "k"}), ok({"s": 4, "f": 0}))
        got = sorted(self.message(a)[0][0] for _ in names)
        self.assertEqual(got, sorted(names))
        self.subscribe(s, a.client_id, names[1:], f="unsubscribe")
        self.assertEqual(self.publish(s, {"c": names, "d": "k"}), ok({"s": 1, "f": 0}))
        self.assertEqual(self.message(a)[0], (name, "0", "k"))

    def client_id_of(self, c):
        return c.client_id

    def identified(self, client_id=None, broker=None, **fields):
        client_id = client_id or new_id()
        c = super().identified(client_id, broker, **fields)
        c.client_id = client_id
        return c

    def test_a_subscribed_client_gets_its_own_message_and_from_is_its_id(self):
        name = self.chan()
        a = self.ws()
        self.subscribe(self.service(), a.client_id, [name, "x" + name])
        rep = a.call("mesh.publish", {"c": [name, "x" + name, name], "d": "me"})
        self.assertEqual(rep, ok({"s": 2, "f": 0}), "a repeated name counts once")
        got = sorted([self.message(a)[0], self.message(a)[0]])
        self.assertEqual(got, [(name, a.client_id, "me"), ("x" + name, a.client_id, "me")])
        self.assertIsNone(a.quiet(0.2))

    def test_mid_makes_a_retry_safe_over_a_new_connection_and_http(self):
        name = self.chan()
        a = self.ws()
        s = self.service()
        self.subscribe(s, a.client_id, [name])
        p = {"c": name, "d": "once", "mid": "77"}
        self.assertEqual(self.publish(s, p), ok({"s": 1, "f": 0}))
        self.assertEqual(self.message(a)[0], (name, "0", "once"))
        self.subscribe(s, self.ws().client_id, [name])   # a second subscriber
        s2 = self.service(self.brokers[1])
        self.assertEqual(self.publish(s2, p), ok({"s": 1, "f": 0}), "the first answer")
        st, _h, body = request(self.brokers[2].ws[1], "POST", "/v1/mesh/publish",
                               body=json.dumps(p).encode())
        self.assertEqual((st, json.loads(body)), (200, {"E": None, "r": {"s": 1, "f": 0}}))
        self.assertIsNone(a.quiet(0.3), "sent once")
        # a client is a sender of its own: the same mid is another message
        self.assertEqual(a.call("mesh.publish", p), ok({"s": 2, "f": 0}))

    def test_bad_input_is_101_and_sends_nothing(self):
        name = self.chan()
        a = self.ws()
        s = self.service()
        self.subscribe(s, a.client_id, [name])
        bad = [{"c": [], "d": "x"}, {"c": "$sys", "d": "x"}, {"c": [name, "$x"], "d": "x"},
               {"c": "a b", "d": "x"}, {"c": "é", "d": "x"}, {"c": "", "d": "x"},
               {"c": "c" * 129, "d": "x"}, {"c": 0, "d": "x"}, {"c": [-7], "d": "x"},
               {"c": 7.0, "d": "x"}, {"c": [name, None], "d": "x"},
               {"d": "x"}, {"c": name}, {"c": name, "d": ""}, {"c": name, "d": 5},
               {"c": name, "d": "***", "t": "binary"}, {"c": name, "d": "", "t": "binary"},
               {"c": name, "d": "x", "t": "jpeg"}, {"c": name, "d": "x", "mid": "007"},
               {"c": name, "d": "x" * 65537}, {"c": [name] * 257, "d": "x"}]
        for k, p in enumerate(bad):
            with self.subTest(p=str(p)[:80]):
                rep = self.publish(s, p, i=k)
                self.assertEqual(rep["E"] and rep["E"]["c"], 101, rep)
        self.assertEqual(self.publish(s, {"c": "c" * 128, "d": "x" * 65536}),
                         ok({"s": 0, "f": 0}), "the limits themselves are fine")
        self.assertIsNone(a.quiet(0.3))

    # -- conn.call subscribe / unsubscribe
    def test_conn_call_errors(self):
        s = self.service()
        a = self.ws()
        never = str(new_id())
        cases = [({"c": never, "f": "subscribe", "a": ["n"]}, 401),
                 ({"c": never, "f": "unsubscribe", "a": ["n"]}, 401),
                 ({"c": a.client_id, "f": "subscribe", "a": []}, 101),
                 ({"c": a.client_id, "f": "subscribe", "a": ["$conn"]}, 101),
                 ({"c": a.client_id, "f": "subscribe", "a": "n"}, 101),
                 ({"c": a.client_id, "f": "subscribe"}, 101),
                 ({"c": a.client_id, "f": "subscribe", "a": ["ok", 0]}, 101),
                 ({"c": a.client_id, "f": "subscribe", "a": ["ok", "a b"]}, 101),
                 ({"c": a.client_id, "f": "subscribe_all", "a": ["n"]}, 301)]
        for k, (p, code) in enumerate(cases):
            with self.subTest(p=p):
                rep = s.call("conn.call", p, i=k)
                self.assertEqual(rep["E"] and rep["E"]["c"], code, rep)
        rep = a.call("conn.call", {"c": a.client_id, "f": "subscribe", "a": ["n"]})
        self.assertEqual(rep["E"]["c"], 403, "a client may not")

    def test_an_offline_device_is_subscribed_and_gets_it_on_its_return(self):
        name = self.chan()
        d = self.identified()
        did = d.client_id
        self.go_offline(d)
        s = self.service(self.brokers[1])
        self.subscribe(s, did, [name])
        self.assertEqual(self.publish(s, {"c": name, "d": "kept"}), ok({"s": 1, "f": 0}))
        back = self.identified(did, self.brokers[2])
        mid, ch, frm, body = self.tcp_message(back)
        self.assertEqual((ch, frm, body), (0, 0, b"kept"))
        self.fin(back, mid)
        self.go_offline(back)
        self.subscribe(s, did, [name], f="unsubscribe")
        self.assertEqual(self.publish(s, {"c": name, "d": "gone"}), ok({"s": 0, "f": 0}))
        again = self.identified(did)
        self.expect_no_frame(again, 0.3)

    def test_a_ws_client_catches_up_a_named_channel_by_name(self):
        name, did = self.chan(), str(new_id())
        a = self.ws(client_id=did)
        s = self.service()
        self.subscribe(s, did, [name])
        a.close()
        self.assertEqual(self.publish(s, {"c": name, "d": "while away"}), ok({"s": 1, "f": 0}))
        back = self.ws(self.brokers[2], client_id=did)
        got, p = self.message(back)
        self.assertEqual((got, p["a"]), ((name, "0", "while away"), 1))

    def test_msg_fin_without_an_id_finishes_quietly(self):
        name = self.chan()
        a = self.ws()
        s = self.service()
        self.subscribe(s, a.client_id, [name])
        self.publish(s, {"c": name, "d": "one"})
        self.publish(s, {"c": name, "d": "two"}, i=2)
        one, two = self.message(a)[1]["i"], self.message(a)[1]["i"]
        a.send('{"m":"msg.fin","p":{"i":"%s"}}' % one)          # the usual form
        a.send('{"m":"msg.fin","p":{"i":"0%s"}}' % two)         # malformed: nothing
        a.send('{"m":"msg.fin","p":{"i":"%s"}}' % (int(two) + 1000))   # unknown: nothing
        self.assertIsNone(a.quiet(0.3))
        self.assertEqual(a.call("msg.fin", {"i": one}, i=3)["E"]["c"], 301, "finished")
        self.assertEqual(a.call("msg.fin", {"i": two}, i=4), {"E": None, "r": {"s": True}, "i": 4})

    def test_a_client_that_leaves_while_its_channels_are_read_is_dropped_cleanly(self):
        # 256 names: their catch-up reads take several loop passes, and the
        # client's leaving frees the names' channels before the last ones
        s = self.service()
        for _ in range(3):
            a = self.ws()
            names = ["%s-%d" % (self.chan(), n) for n in range(256)]
            self.subscribe(s, a.client_id, names)
            a.send_json({"m": "msg.fin", "p": {"i": "1"}})   # any frame, then the close
            a.close()
        self.assertEqual(self.publish(s, {"c": names[:1], "d": "x"}), ok({"s": 1, "f": 0}))
        self.check_daemons("after the clients left")

    def test_a_client_on_another_broker_is_subscribed_and_unsubscribed(self):
        name = self.chan()
        a = self.ws(self.brokers[1])
        d = self.identified(broker=self.brokers[2])
        s = self.service(self.brokers[0])
        self.subscribe(s, a.client_id, [name])
        self.subscribe(s, d.client_id, [name])
        self.assertEqual(self.publish(s, {"c": name, "d": "live"}), ok({"s": 2, "f": 0}))
        self.assertEqual(self.message(a)[0], (name, "0", "live"))
        self.assertEqual(self.tcp_message(d)[1:], (0, 0, b"live"))
        self.subscribe(s, a.client_id, [name], f="unsubscribe")
        self.subscribe(s, d.client_id, [name], f="unsubscribe")
        self.assertEqual(self.publish(s, {"c": name, "d": "after"}), ok({"s": 0, "f": 0}))
        self.assertIsNone(a.quiet(0.3))
        self.expect_no_frame(d, 0.1)

    def test_one_publish_reaches_tcp_and_ws_subscribers_on_every_broker(self):
        name, num = self.chan(), new_id()
        s = self.service(self.brokers[1])
        wss, tcps = [], []
        for b in self.brokers:
            w = self.ws(b)
            t = self.subscribed(num, broker=b)
            self.subscribe(s, w.client_id, [str(num)])
            named = self.identified(broker=b)
            self.subscribe(s, named.client_id, [name])
            wss.append(w)
            tcps.append((t, named))
        rep = self.publish(s, {"c": [str(num), name], "d": "all"})
        self.assertEqual(rep, ok({"s": 9, "f": 0}))
        for w in wss:
            self.assertEqual(self.message(w)[0], (str(num), "0", "all"))
        for t, named in tcps:
            self.assertEqual(self.tcp_message(t)[1:], (num, 0, b"all"))
            self.assertEqual(self.tcp_message(named)[1:], (0, 0, b"all"))
