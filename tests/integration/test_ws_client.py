"""SPEC 5.1, 5.2, 5.5: a WebSocket client is a device. The upgrade's 400s,
replacement across transports (4001 / E_REPLACED), the silence timeout
(4000), close codes 1002/1007/1009, fragmented frames, WebSocket pings,
redelivery and the offline store."""

import asyncio
import json
import struct
import time

from lib.harness import BrokerTestCase, FRAME_RESPONSE, new_id, request
from lib.ws import (WsClient, raw_close_code, raw_connect, raw_frame, raw_read_frame,
                    upgrade_status, _run)

MAX = 1000


class WsClientTest(BrokerTestCase):
    broker_args = ("--max-msg-size", str(MAX), "--msg-timeout", "1")

    def ws(self, **query):
        c = WsClient(self.broker.ws, query or None)
        self.addCleanup(c.close)
        return c

    def service_send(self, cid, d="m", **p):
        s = WsClient(self.broker.ws, {"role": "service"}, ready=False)
        self.addCleanup(s.close)
        rep = s.call("mesh.send", dict(p, c=str(cid), d=d))
        self.assertEqual(rep, {"E": None, "r": {"s": True}, "i": 1})

    def test_bad_queries_are_400(self):
        for q in ("client_id=0", "client_id=01", "client_id=x", "client_id=",
                  "client_id=9223372036854775808", "heartbeat=0", "heartbeat=3601",
                  "heartbeat=01", "role=admin", "role=service&client_id=5",
                  "client_id=5&client_id=5", "topic=%24x", "topic=a%20b", "topic=",
                  "topic=" + "t" * 129):
            with self.subTest(q=q):
                self.assertEqual(upgrade_status(self.broker.ws, q), 400)
        # unknown parameters are ignored
        self.assertEqual(upgrade_status(self.broker.ws, "color=blue&topic=" + "t" * 128), 101)

    def test_not_an_upgrade_is_400(self):
        port = self.broker.ws[1]
        base = {"Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
        for drop, bad in (("Upgrade", None), ("Sec-WebSocket-Key", None),
                          (None, ("Sec-WebSocket-Version", "8")),
                          (None, ("Sec-WebSocket-Key", "short"))):
            h = dict(base)
            if drop:
                del h[drop]
            if bad:
                h[bad[0]] = bad[1]
            with self.subTest(drop=drop, bad=bad):
                self.assertEqual(request(port, "GET", "/ws/v1", headers=h)[0], 400)

    def test_handshake_accept_is_rfc6455s(self):
        # RFC 6455 1.3's example key and answer
        import socket
        s = socket.create_connection(self.broker.ws, timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /ws/v1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: "
                  b"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        self.assertIn(b"HTTP/1.1 101 ", head)
        self.assertIn(b"\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", head)
        op, payload = raw_read_frame(s)
        self.assertEqual(op, 1)
        self.assertEqual(json.loads(payload)["e"], "conn.ready")

    def test_tcp_replaced_by_websocket_and_back(self):
        cid = new_id()
        tcp = self.identified(cid)
        ws = self.ws(client_id=cid)
        self.assertEqual(ws.client_id, str(cid))
        self.expect_fatal(tcp, "E_REPLACED")
        tcp2 = self.connect()
        self.assertEqual(tcp2.identify(cid), (FRAME_RESPONSE, b"OK"))
        self.assertEqual(ws.wait_closed(), 4001)
        # and WebSocket by WebSocket
        ws2 = self.ws(client_id=cid)
        self.expect_fatal(tcp2, "E_REPLACED")
        ws3 = self.ws(client_id=cid)
        self.assertEqual(ws2.wait_closed(), 4001)
        self.service_send(cid, "to the newest")
        self.assertEqual(ws3.event("message")["p"]["d"], "to the newest")

    def test_silence_closes_with_4000(self):
        c = self.ws(heartbeat=1)
        t0 = time.monotonic()
        self.assertEqual(c.wait_closed(timeout=6), 4000)
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)

    def test_any_frame_is_liveness(self):
        c = self.ws(heartbeat=1)
        for _ in range(6):                 # 3 s, over twice the interval
            time.sleep(0.5)
            _run(c.ws.ping())              # a WebSocket ping, answered with a pong
        c.send("ping")
        self.assertEqual(c.recv(), "pong")

    def test_websocket_ping_gets_pong(self):
        c = self.ws()
        waiter = _run(c.ws.ping(b"abc"))
        _run(asyncio.wait_for(waiter, 5))

    def test_unmasked_frame_is_1002(self):
        s = raw_connect(self.broker.ws)
        self.addCleanup(s.close)
        s.sendall(raw_frame(1, b"ping", mask=False))
        self.assertEqual(raw_close_code(s), 1002)

    def test_bad_utf8_text_is_1007(self):
        s = raw_connect(self.broker.ws)
        self.addCleanup(s.close)
        s.sendall(raw_frame(1, b"ab\xff"))
        self.assertEqual(raw_close_code(s), 1007)

    def test_over_max_msg_size_is_1009(self):
        c = self.ws()
        c.send("x" * (MAX + 1))
        self.assertEqual(c.wait_closed(), 1009)
        # fragments count together
        s = raw_connect(self.broker.ws)
        self.addCleanup(s.close)
        s.sendall(raw_frame(1, b"x" * 600, fin=False))
        s.sendall(raw_frame(0, b"x" * 401, fin=True))
        self.assertEqual(raw_close_code(s), 1009)
        # the frame's header is enough: its bytes need not come
        s = raw_connect(self.broker.ws)
        self.addCleanup(s.close)
        s.sendall(struct.pack("!BBQ", 0x82, 0x80 | 127, 1 << 40) + b"mask")
        self.assertEqual(raw_close_code(s), 1009)

    def test_exactly_max_msg_size_passes(self):
        c = self.ws()
        c.send("x" * MAX)
        c.send("ping")
        self.assertEqual(c.recv(), "pong")

    def test_fragmented_call(self):
        c = self.ws()
        text = json.dumps({"m": "msg.fin", "p": {"i": "123"}, "i": "frag"})
        _run(c.ws.send([text[:5], text[5:20], text[20:]]))
        self.assertEqual(c.reply("frag")["E"]["c"], 301)
        # with a ping between the fragments
        s = raw_connect(self.broker.ws)
        self.addCleanup(s.close)
        raw_read_frame(s)                  # conn.ready
        s.sendall(raw_frame(1, b"pi", fin=False) + raw_frame(9, b"x") + raw_frame(0, b"ng"))
        self.assertEqual(raw_read_frame(s), (10, b"x"))
        self.assertEqual(raw_read_frame(s), (1, b"pong"))

    def test_redelivery_and_fin(self):
        c = self.ws()
        self.service_send(c.client_id, "again")
        first = c.event("message")["p"]
        self.assertEqual(first["a"], 1)
        second = c.event("message", timeout=4)["p"]
        self.assertEqual((second["i"], second["a"], second["ts"], second["d"]),
                         (first["i"], 2, first["ts"], "again"))
        self.assertEqual(c.call("msg.fin", {"i": int(first["i"])})["r"], {"s": True})
        self.assertIsNone(c.quiet(2.0))

    def test_offline_messages_wait_for_the_client(self):
        c = self.ws()
        cid = c.client_id
        c.close()
        self.service_send(cid, "while away")
        time.sleep(0.2)
        back = self.ws(client_id=cid)
        p = back.event("message")["p"]
        self.assertEqual((p["d"], p["a"]), ("while away", 1))

    def test_a_stopping_broker_says_1001(self):
        b = self.extra_broker()
        c = WsClient(b.ws)
        self.addCleanup(c.close)
        b.stop()
        self.assertEqual(c.wait_closed(), 1001)

    def test_unknown_client_is_401(self):
        s = WsClient(self.broker.ws, {"role": "service"}, ready=False)
        self.addCleanup(s.close)
        self.assertEqual(s.call("mesh.send", {"c": str(new_id()), "d": "x"}, i="u"),
                         {"E": {"c": 401, "m": "no such client"}, "i": "u"})

    def test_a_tcp_device_gets_a_mesh_send(self):
        d = self.identified()
        self.service_send(d.client_id, "to tcp")
        typ, data = d.read_frame()
        self.assertEqual(typ, 2)
        head, body = data.split(b"\n", 1)
        mid, ch, frm, _ts, attempt = head.split(b" ")
        self.assertEqual((ch, frm, attempt, body), (b"0", b"0", b"1", b"to tcp"))
