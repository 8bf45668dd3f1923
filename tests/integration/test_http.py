"""SPEC 3 "Health" (every HTTP listener) and brokerd's /stats."""

import json
import socket

from lib.harness import BrokerTestCase, HELP_RE, SAMPLE_RE, TYPE_RE


class HttpTest(BrokerTestCase):

    def test_ping(self):
        status, _headers, body = self.broker.http_get("/ping")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"OK")

    def test_metrics_is_prometheus_text(self):
        # some activity first so counters exist
        c = self.identified()
        self.sub(c, 4242)
        status, headers, body = self.broker.http_get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"),
                        headers.get("content-type"))
        text = body.decode("utf-8")
        self.assertTrue(text.endswith("\n"), "exposition must end with a newline")
        samples = []
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                m = HELP_RE.match(line) or TYPE_RE.match(line)
                if m:
                    self.assertTrue(m.group(1).startswith("pushgate_"), line)
                continue
            m = SAMPLE_RE.match(line)
            self.assertIsNotNone(m, "not a Prometheus sample line: %r" % line)
            self.assertTrue(m.group(1).startswith("pushgate_"), line)
            samples.append(m.group(1))
        self.assertTrue(samples, "no samples in /metrics")

    def test_metrics_types_declared_once(self):
        status, _h, body = self.broker.http_get("/metrics")
        self.assertEqual(status, 200)
        types = [l.split()[2] for l in body.decode().splitlines() if l.startswith("# TYPE ")]
        self.assertEqual(len(types), len(set(types)), "duplicate # TYPE lines")

    def test_stats_is_a_json_object(self):
        status, headers, body = self.broker.http_get("/stats")
        self.assertEqual(status, 200)
        self.assertIsInstance(json.loads(body), dict)
        self.assertIn("json", headers.get("content-type", ""))

    def test_unknown_path_is_404(self):
        status, _h, _b = self.broker.http_get("/no-such-path")
        self.assertEqual(status, 404)

    def test_ping_many_times(self):
        for _ in range(50):
            status, _h, body = self.broker.http_get("/ping")
            self.assertEqual((status, body), (200, b"OK"))

    def test_a_reply_that_ends_the_connection_arrives_whole(self):
        """HTTP/1.0, and HTTP/1.1 with Connection: close: the server closes
        after its reply, which must reach the client first (every HTTP port
        shares this code: common/http_server.c)."""
        host, port = self.broker.http
        for what, head in [("HTTP/1.0", b"GET /ping HTTP/1.0\r\n\r\n"),
                           ("Connection: close",
                            b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")]:
            for _ in range(20):
                with socket.create_connection((host, port), timeout=5) as s:
                    s.sendall(head)
                    got = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                self.assertTrue(got.startswith(b"HTTP/1.") and b" 200 " in got.split(b"\r\n")[0],
                                "%s: %r" % (what, got))
                self.assertTrue(got.endswith(b"\r\n\r\nOK"), "%s: %r" % (what, got))
