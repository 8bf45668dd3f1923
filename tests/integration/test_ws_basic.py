"""SPEC 5, 5.1-5.3: the mesh port's first steps. A client connects (an
anonymous one gets a fresh id), gets conn.ready, ping/pong; a service's
mesh.send reaches it as a message event it finishes with msg.fin; the same
call over HTTP; /ping and /metrics on the port."""

import json

from lib.harness import BrokerTestCase, request
from lib.ws import WsClient


class WsBasicTest(BrokerTestCase):

    def client(self, **query):
        c = WsClient(self.broker.ws, query or None)
        self.addCleanup(c.close)
        return c

    def service(self):
        s = WsClient(self.broker.ws, {"role": "service"}, ready=False)
        self.addCleanup(s.close)
        return s

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
