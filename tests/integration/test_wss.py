"""SPEC 5 with --ws-tls: the mesh port speaks TLS from the first byte,
wss:// and https://, with independent clients (python3-websockets and
http.client over Python's ssl). Certificates are made at run time by the
openssl command."""

import asyncio
import http.client
import json
import socket
import ssl

from lib.harness import Broker, BrokerTestCase, HarnessError
from lib.layers import class_cert, make_cert, remove_cert
from lib.ws import WsClient, WsServiceMixin, _run


def tls_context(cafile):
    """A client context trusting cafile alone (the name is checked)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cafile)
    return ctx


class WssTest(WsServiceMixin, BrokerTestCase):

    @classmethod
    def start_brokers(cls):
        cls.cert, cls.key = class_cert(cls)
        cls.broker = cls.start_class_broker("--tls-cert", cls.cert, "--tls-key", cls.key,
                                            "--ws-tls", "yes")

    def client(self, **query):
        c = WsClient(self.broker.ws, query or None, tls=tls_context(self.cert))
        self.addCleanup(c.close)
        return c

    def service(self):
        return super().service(tls=tls_context(self.cert))

    def https(self, method, path, body=None):
        """(status, body) of one request over https://."""
        conn = http.client.HTTPSConnection(*self.broker.ws, context=tls_context(self.cert),
                                           timeout=5)
        try:
            conn.request(method, path, body=body)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def expect_closed_raw(self, data, timeout=5.0):
        """data sent on a fresh socket: the broker closes it without a
        byte of HTTP (b"" or a reset)."""
        got = b""
        with socket.create_connection(self.broker.ws, timeout=timeout) as sock:
            sock.sendall(data)
            try:
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except ConnectionResetError:
                pass
        self.assertFalse(got.startswith(b"HTTP/"), got[:200])

    def test_client_and_service_over_wss_and_https(self):
        c = self.client()
        self.assertEqual(set(c.ready), {"e", "p", "id"})
        self.assertEqual(c.ready["e"], "conn.ready")
        self.assertRegex(c.client_id, r"^[1-9][0-9]*$")
        self.assertEqual(c.ws.transport.get_extra_info("ssl_object").version() in
                         ("TLSv1.2", "TLSv1.3"), True)
        s = self.service()
        self.assertEqual(s.call("mesh.send", {"c": c.client_id, "d": "over wss"}, i=3),
                         {"E": None, "r": {"s": True}, "i": 3})
        self.assertEqual(c.event("message")["p"]["d"], "over wss")
        body = json.dumps({"c": c.client_id, "d": "over https"}).encode()
        st, data = self.https("POST", "/v1/mesh/send", body)
        self.assertEqual((st, json.loads(data)), (200, {"E": None, "r": {"s": True}}))
        p = c.event("message")["p"]
        self.assertEqual((p["f"], p["a"], p["d"]), ("0", 1, "over https"))
        self.assertEqual(c.call("msg.fin", {"i": p["i"]}, i="f"),
                         {"E": None, "r": {"s": True}, "i": "f"})
        self.assertEqual(c.call("msg.fin", {"i": p["i"]}, i="g"),
                         {"E": {"c": 301, "m": "no such unfinished message"}, "i": "g"})

    def test_large_messages_and_many_frames(self):
        """Frames over many TLS records, and more frames at once than one
        read takes: all answered, in order."""
        c, s = self.client(), self.service()
        big = "x" * 60000
        self.assertEqual(s.call("mesh.send", {"c": c.client_id, "d": big})["E"], None)
        self.assertEqual(c.event("message")["p"]["d"], big)

        async def burst():
            for _ in range(300):
                await c.ws.send("ping")
        _run(burst())
        self.assertEqual([c.recv() for _ in range(300)], ["pong"] * 300)

    def test_websocket_ping_answered_over_wss(self):
        """A ping control frame gets its pong (wslay's answer goes out with
        the pass's flush, as the frames a client is sent)."""
        c = self.client()

        async def ping():
            waiter = await c.ws.ping(b"abc")
            await asyncio.wait_for(waiter, 5)
            return True
        self.assertTrue(_run(ping()))
        c.send("ping")
        self.assertEqual(c.recv(), "pong")

    def test_ping_and_metrics_over_https(self):
        self.assertEqual(self.https("GET", "/ping"), (200, b"OK"))
        st, data = self.https("GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertIn(b"pushgate_broker_", data)
        self.assertEqual(self.https("GET", "/nowhere"), (404, b"not found\n"))

    def test_clear_text_request_fails_alone(self):
        c = self.client()
        self.expect_closed_raw(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        conn = http.client.HTTPConnection(*self.broker.ws, timeout=5)
        self.addCleanup(conn.close)
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            conn.request("GET", "/ping")
            conn.getresponse()
        c.send("ping")
        self.assertEqual(c.recv(), "pong")
        self.assertEqual(self.https("GET", "/ping"), (200, b"OK"))

    def test_failed_handshake_is_closed_alone(self):
        c = self.client()
        # a handshake record whose ClientHello does not parse
        self.expect_closed_raw(b"\x16\x03\x01\x00\x04\x01\x00\x00\x00")
        # a client that does not trust the certificate gives up
        wrong_dir, wrong_cert, _ = make_cert("wrong")
        self.addCleanup(remove_cert, wrong_dir)
        with socket.create_connection(self.broker.ws, timeout=5) as sock:
            with self.assertRaises(ssl.SSLCertVerificationError):
                tls_context(wrong_cert).wrap_socket(sock, server_hostname="127.0.0.1")
        # TLS 1.1 is refused
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        try:
            old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
        except ValueError:
            old = None
        if old is not None:
            with socket.create_connection(self.broker.ws, timeout=5) as sock:
                with self.assertRaises((ssl.SSLError, ConnectionError)):
                    old.wrap_socket(sock, server_hostname="127.0.0.1")
        c.send("ping")
        self.assertEqual(c.recv(), "pong")
        s = self.service()
        self.assertEqual(s.call("mesh.send", {"c": c.client_id, "d": "still"})["E"], None)
        self.assertEqual(c.event("message")["p"]["d"], "still")

    def test_upstream_frames_reach_a_service_over_wss(self):
        """queue.pop over TLS: every frame once, in order, the window
        moving on (what the kernel took is counted once TLS is out)."""
        c = self.client(topic="wss-up-%d" % id(self))
        s = self.service()
        t = c_topic = "wss-up-%d" % id(self)
        self.assertEqual(s.call("queue.pop", {"t": [t]}, i="p"),
                         {"E": None, "r": {"s": True}, "i": "p"})
        n = 300
        for k in range(n):
            c.send("up %d" % k)
        got = [s.event("queue.pop")["p"] for _ in range(n)]
        self.assertEqual([g["d"]["frame"]["data"] for g in got], ["up %d" % k for k in range(n)])
        self.assertEqual({(g["c"], g["t"]) for g in got}, {(c.client_id, c_topic)})
        self.assertIsNone(s.quiet(0.3))

    def test_close_codes_over_wss(self):
        """A replaced client gets its close frame (4001) through TLS."""
        a = self.client()
        b = self.client(client_id=a.client_id)
        self.assertEqual(a.wait_closed(), 4001)
        b.send("ping")
        self.assertEqual(b.recv(), "pong")


class WssConfigTest(BrokerTestCase):

    def test_ws_tls_needs_a_certificate(self):
        with self.assertRaises(HarnessError) as e:
            b = Broker(self.redis.port, "--ws-tls", "yes", label="%s.own" % self.id(),
                       start_timeout=5)
            b.kill()
        self.assertIn("ws-tls needs tls-cert and tls-key", str(e.exception))

    def test_no_ws_tls_is_clear(self):
        """Without --ws-tls the port stays clear, the certificate is the
        device port's."""
        d, cert, key = make_cert("clear")
        self.addCleanup(remove_cert, d)
        b = self.extra_broker("--tls-cert", cert, "--tls-key", key)
        conn = http.client.HTTPConnection(*b.ws, timeout=5)
        self.addCleanup(conn.close)
        conn.request("GET", "/ping")
        r = conn.getresponse()
        self.assertEqual((r.status, r.read()), (200, b"OK"))
