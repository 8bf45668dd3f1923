"""SPEC 5, 5.1-5.3: the mesh port's first steps. A client connects (an
anonymous one gets a fresh id), gets conn.ready, ping/pong; a service's
mesh.send reaches it as a message event it finishes with msg.fin; the same
call over HTTP; /ping and /metrics on the port."""

import json

from lib.harness import BrokerTestCase, request
from lib.ws import WsClient, WsServiceMixin


class WsBasicTest(WsServiceMixin, BrokerTestCase):

    def client(self, **query):
        c = WsClient(self.broker.ws, query or None)
        self.addCleanup(c.close)
        return c

    def broker_id(self):
        _st, _h, body = self.broker.http_get("/stats")
        return json.loads(body)["broker_ids"]

    def test_anonymous_clients_get_fresh_ids_and_conn_ready(self):
        a, b = self.client(), self.client()
        for c in (a, b):
            self.assertEqual(set(c.ready), {"e", "p", "id"})
            self.assertIsNone(c.ready["id"])
            self.assertRegex(c.client_id, r"^[1-9][0-9]*$")
            self.assertIn(c.ready["p"]["n"], self.broker_id())
        self.assertNotEqual(a.client_id, b.client_id)

    def test_text_ping_gets_pong(self):
        c = self.client()
        c.send("ping")
        self.assertEqual(c.recv(), "pong")
        c.send(b"ping")  # a binary frame is upstream data, not the ping rule
        c.send("ping ")
        self.assertIsNone(c.quiet(0.3))

    def test_service_send_fin(self):
        c = self.client()
        s = self.service()
        self.assertEqual(s.call("mesh.send", {"c": c.client_id, "d": "hello"}, i=7),
                         {"E": None, "r": {"s": True}, "i": 7})
        m = c.event("message")
        p = m["p"]
        self.assertEqual(set(p), {"i", "c", "f", "ts", "a", "t", "d"})
        self.assertEqual((p["c"], p["f"], p["a"], p["t"], p["d"]), ("", "0", 1, "text", "hello"))
        self.assertRegex(p["i"], r"^[1-9][0-9]*$")
        self.assertEqual(c.call("msg.fin", {"i": p["i"]}, i="x"),
                         {"E": None, "r": {"s": True}, "i": "x"})
        self.assertEqual(c.call("msg.fin", {"i": p["i"]}, i="y"),
                         {"E": {"c": 301, "m": "no such unfinished message"}, "i": "y"})
        c.send_json({"m": "msg.fin", "p": {"i": p["i"]}})   # no i: no reply
        self.assertIsNone(c.quiet(0.3))

    def test_client_to_client_and_retry_safety(self):
        a, b = self.client(), self.client()
        ok = {"E": None, "r": {"s": True}, "i": 1}
        self.assertEqual(a.call("mesh.send", {"c": b.client_id, "d": "hi", "mid": "5"}), ok)
        p = b.event("message")["p"]
        self.assertEqual((p["f"], p["d"]), (a.client_id, "hi"))
        self.assertNotEqual(p["i"], "5")            # mid never becomes the delivered id
        # the same (sender, mid) again: answered as the first, not sent again
        self.assertEqual(a.call("mesh.send", {"c": b.client_id, "d": "hi", "mid": 5}), ok)
        self.assertIsNone(b.quiet(0.5))
        # another sender's mid 5 is another message; services are one sender
        s1, s2 = self.service(), self.service()
        self.assertEqual(s1.call("mesh.send", {"c": b.client_id, "d": "s", "mid": "5"}), ok)
        self.assertEqual(b.event("message")["p"]["f"], "0")
        self.assertEqual(s2.call("mesh.send", {"c": b.client_id, "d": "s", "mid": "5"}), ok)
        self.assertIsNone(b.quiet(0.5))

    def test_bad_params_are_101(self):
        c, s = self.client(), self.service()
        for p in ({"d": "x"}, {"c": "0", "d": "x"}, {"c": c.client_id},
                  {"c": c.client_id, "d": ""}, {"c": c.client_id, "d": 5},
                  {"c": c.client_id, "d": "x", "t": "hex"},
                  {"c": c.client_id, "d": "!!!!", "t": "binary"},
                  {"c": c.client_id, "d": "", "t": "binary"},
                  {"c": c.client_id, "d": "x", "mid": "0"}):
            with self.subTest(p=p):
                self.assertEqual(s.call("mesh.send", p, i="b")["E"]["c"], 101)
        for env, code in (({"m": 5, "p": {}, "i": 1}, 101), ({"m": "mesh.send", "i": 1}, 101),
                          ({"m": "mesh.send", "p": [], "i": 1}, 101),
                          ({"m": "no.such", "p": {}, "i": 1}, 102),
                          ({"m": "conn.call", "p": {}, "i": 1}, 403)):
            with self.subTest(env=env):
                c.send_json(env)
                self.assertEqual(c.reply(1)["E"]["c"], code)
        # ids as JSON integers are exact up to 2^63-1; past it, still a call: 101
        c.send('{"m":"msg.fin","p":{"i":9223372036854775807},"i":2}')
        self.assertEqual(c.reply(2)["E"]["c"], 301)
        c.send('{"m":"msg.fin","p":{"i":9223372036854775808},"i":3}')
        self.assertEqual(c.reply(3)["E"]["c"], 101)
        c.send_json({"m": "no.such", "p": {}})          # no i: "i":null
        self.assertEqual(c.reply(None)["E"]["c"], 102)
        c.send_json({"m": "no.such", "p": {}, "id": 9})  # "id" is taken too
        self.assertEqual(c.reply(9)["E"]["c"], 102)
        c.send_json({"m": "no.such", "p": {}, "id": 9, "i": "w"})   # i wins
        self.assertEqual(c.reply("w")["E"]["c"], 102)

    def test_a_burst_of_calls_is_answered_whole(self):
        a, b = self.client(), self.client()
        n = 400                                      # over the calls a client may have waiting
        for k in range(n):
            a.send_json({"m": "mesh.send", "p": {"c": b.client_id, "d": "m%d" % k}, "i": k})
        got = {a.reply(k, timeout=10)["i"] for k in range(n)}
        self.assertEqual(got, set(range(n)))
        seen = {b.event("message", timeout=10)["p"]["d"] for _ in range(n)}
        self.assertEqual(len(seen), n)

    def test_a_service_frame_that_is_not_a_call(self):
        s = self.service()
        for frame in ("garbage", b"\x00\x01", "[1]", '{"p":{}}', "5"):
            with self.subTest(frame=frame):
                s.send(frame)
                self.assertEqual(json.loads(s.recv()), {"e": "error", "p": {"c": 101}, "id": None})
        s.send("ping")
        self.assertEqual(s.recv(), "pong")
        self.assertIsNone(s.quiet(0.3))             # no conn.ready, nothing else

    def test_a_burst_of_service_calls_is_answered_whole(self):
        s = self.service()
        n = 1500                                     # over the calls a service may have waiting
        for k in range(n):
            s.send_json({"m": "mesh.send", "p": {"c": "1" + "0" * 17, "d": "x"}, "i": k})
        for k in range(n):
            self.assertEqual(s.reply(k, timeout=10)["E"]["c"], 401)

    def test_binary_data_comes_as_base64(self):
        c = self.client()
        s = self.service()
        self.assertEqual(s.call("mesh.send", {"c": c.client_id, "d": "/wA=", "t": "binary"}),
                         {"E": None, "r": {"s": True}, "i": 1})
        p = c.event("message")["p"]
        self.assertEqual((p["t"], p["d"]), ("binary", "/wA="))

    def test_http_send(self):
        c = self.client()
        port = self.broker.ws[1]
        body = json.dumps({"c": c.client_id, "d": "over http"}).encode()
        st, h, data = request(port, "POST", "/v1/mesh/send", body=body)
        self.assertEqual((st, json.loads(data)), (200, {"E": None, "r": {"s": True}}))
        self.assertEqual(c.event("message")["p"]["d"], "over http")

    def test_http_expect_100_continue(self):
        import socket
        c = self.client()
        body = json.dumps({"c": c.client_id, "d": "y" * 2000}).encode()
        with socket.create_connection(self.broker.ws, timeout=5) as sock:
            sock.sendall(b"POST /v1/mesh/send HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                         b"Expect: 100-continue\r\n\r\n" % len(body))
            self.assertEqual(sock.recv(25), b"HTTP/1.1 100 Continue\r\n\r\n")
            sock.sendall(body)
            reply = b""
            while not reply.endswith(b"}"):
                reply += sock.recv(4096)
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 OK\r\n"), reply)
        self.assertTrue(reply.endswith(b'\r\n\r\n{"E":null,"r":{"s":true}}'), reply)
        self.assertEqual(len(c.event("message")["p"]["d"]), 2000)

    def test_http_keep_alive(self):
        import http.client
        c = self.client()
        conn = http.client.HTTPConnection(*self.broker.ws, timeout=5)
        self.addCleanup(conn.close)
        for k in range(3):
            conn.request("POST", "/v1/mesh/send", body=json.dumps({"c": c.client_id, "d": str(k)}))
            r = conn.getresponse()
            self.assertEqual((r.status, json.loads(r.read())), (200, {"E": None, "r": {"s": True}}))
            self.assertEqual(r.getheader("Connection"), "keep-alive")
        self.assertEqual([c.event("message")["p"]["d"] for _ in range(3)], ["0", "1", "2"])

    def test_http_errors(self):
        port = self.broker.ws[1]
        cases = [("GET", "/v1/mesh/send", b"", 405, 101),
                 ("POST", "/v1/no/such", b"{}", 404, 102),
                 ("POST", "/v1/msg/fin", b"{}", 404, 102),     # WS only
                 ("POST", "/v1/mesh.send", b"{}", 404, 102),
                 ("POST", "/v1/mesh/send", b"[1]", 200, 101),
                 ("POST", "/v1/mesh/send", b"{\"c\":\"1\"}", 200, 101)]
        for method, path, body, status, code in cases:
            with self.subTest(method=method, path=path, body=body):
                st, _h, data = request(port, method, path, body=body)
                rep = json.loads(data)
                self.assertEqual((st, rep["E"]["c"]), (status, code), rep)
                self.assertNotIn("i", rep)

    def test_ping_and_metrics_on_the_port(self):
        port = self.broker.ws[1]
        self.assertEqual(request(port, "GET", "/ping")[::2], (200, b"OK"))
        self.client()
        st, _h, data = request(port, "GET", "/metrics")
        self.assertEqual(st, 200)
        lines = [l for l in data.decode().splitlines() if l and not l.startswith("#")]
        self.assertTrue(all(l.startswith("pushgate_") for l in lines), lines)
        self.assertIn("pushgate_broker_ws_clients", data.decode())
        self.assertEqual(request(port, "GET", "/nope")[0], 404)
