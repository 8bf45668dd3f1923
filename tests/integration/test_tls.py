"""SPEC 2.8: TLS and deflate negotiated in IDENTIFY, with an independent
client (Python's ssl and zlib upgrading the same socket after the reply).
Certificates are made at run time by the openssl command."""

import json
import os
import ssl
import struct
import subprocess
import time
import zlib

from lib.harness import (BrokerTestCase, Client, FRAME_ACK, FRAME_ERROR, FRAME_MESSAGE,
                         FRAME_RESPONSE, new_id, rss_kib, sanitized)
from lib.layers import LayeredClient, class_cert, layered, make_cert, remove_cert


class LayersTestCase(BrokerTestCase):
    """A broker with a certificate made for this class."""

    tls_args = ()

    @classmethod
    def start_brokers(cls):
        cls.cert, cls.key = class_cert(cls)
        cls.broker = cls.start_class_broker("--tls-cert", cls.cert, "--tls-key", cls.key,
                                            *cls.tls_args)

    def layered(self, client_id=None, **kw):
        return layered(self, self.broker, client_id, **kw)

    def round_trip(self, c, body=b"round trip"):
        """H, then a PUB to itself acknowledged, delivered and FINed,
        through c's layers (the Message may come before the Ack: SPEC 2.5)."""
        self.expect_alive(c)
        mid = new_id()
        c.send_with_body("PUB %d 7 %d" % (c.client_id, mid), body)
        frames = sorted([c.read_frame(), c.read_frame()])
        self.assertEqual(frames[0][0], FRAME_MESSAGE)
        got_mid, ch, frm, _ts, attempt, got = Client.parse_message(frames[0][1])
        self.assertEqual((got_mid, ch, frm, attempt, got), (mid, 7, c.client_id, 1, body))
        self.assertEqual(frames[1], (FRAME_ACK, b"ACK 1 %d %d" % (mid, c.client_id)))
        self.fin(c, mid)

    def expect_dropped(self, c, timeout=5.0):
        """The broker closed c (whatever its layers make of the EOF)."""
        deadline = time.monotonic() + timeout
        try:
            while not c.eof and time.monotonic() < deadline:
                c._recv(deadline)
        except (ssl.SSLError, zlib.error, ConnectionError):
            return
        self.assertTrue(c.eof, "still open after %.1f s" % timeout)


class TlsTest(LayersTestCase):
    tls_args = ("--max-deflate-level", "9", "--msg-timeout", "1")

    def granted(self, tls, deflate, level):
        return {"tls_v1": tls, "deflate": deflate, "deflate_level": level}

    def pick(self, g):
        return {k: g[k] for k in ("tls_v1", "deflate", "deflate_level")}

    def test_tls_only(self):
        c, g = self.layered(tls=True, cafile=self.cert)  # verified: 127.0.0.1 in the cert
        self.assertEqual(self.pick(g), self.granted(True, False, 0))
        self.assertEqual(c.sock.version() in ("TLSv1.2", "TLSv1.3"), True)
        self.round_trip(c, b"secret" * 10000)

    def test_deflate_levels_1_and_9(self):
        for level in (1, 9):
            c, g = self.layered(deflate=True, deflate_level=level)
            self.assertEqual(self.pick(g), self.granted(False, True, level))
            self.round_trip(c, b"compressible " * 4000)

    def test_tls_and_deflate(self):
        c, g = self.layered(tls=True, deflate=True)
        self.assertEqual(self.pick(g), self.granted(True, True, 6))
        self.round_trip(c, bytes(range(256)) * 200)

    def test_bytes_sent_before_the_reply_go_through_deflate(self):
        c = LayeredClient(self.broker.tcp).connect()
        self.addCleanup(c.close)
        c.send_magic()
        c.client_id = new_id()
        body = json.dumps({"client_id": c.client_id, "deflate": True}).encode()
        # IDENTIFY and, in the same write, H already compressed
        z = zlib.compressobj(6, zlib.DEFLATED, -15)
        h = z.compress(b"H\n") + z.flush(zlib.Z_SYNC_FLUSH)
        c.send_raw(b"IDENTIFY\n" + struct.pack(">I", len(body)) + body + h)
        ftype, data = c.read_frame()
        self.assertEqual(json.loads(data)["deflate"], True)
        c.upgrade(False, 6)
        c.zout = z
        self.expect_ok(c)
        self.expect_response(c, b"H")
        self.round_trip(c)

    def test_heartbeats_redelivery_and_replaced_over_tls_and_deflate(self):
        cid = new_id()
        c, _ = self.layered(cid, tls=True, deflate=True, heartbeat_interval=1)
        # heartbeats keep it open past 2 intervals
        for _ in range(5):
            time.sleep(0.5)
            self.expect_alive(c)
        # an un-FINed message comes again after msg-timeout (1 s), attempt 2
        mid = new_id()
        ts = self.pub_self_ok(c, 9, mid, b"again")
        self.assert_message(c, mid, 9, cid, b"again", attempt=2, timeout=4.0)
        # a newer connection replaces it: E_REPLACED inside the layers
        n, _ = self.layered(cid, tls=True, deflate=True)
        self.expect_fatal(c, "E_REPLACED")
        m = self.expect_message(n)
        self.assertEqual((m[0], m[3], m[5]), (mid, ts, b"again"))
        self.assertGreaterEqual(m[4], 2)
        self.fin(n, mid)

    def test_clear_client_after_tls_granted_is_closed_alone(self):
        other, _ = self.layered(tls=True, deflate=True)
        plain = self.identified()
        c = LayeredClient(self.broker.tcp).connect()
        self.addCleanup(c.close)
        c.send_magic()
        c.identify(new_id(), tls_v1=True)
        c.send_raw(b"H\nH\nH\nSUB 1\n")  # not a TLS record
        self.expect_dropped(c)
        self.round_trip(other)
        self.expect_alive(plain)

    def test_failed_handshake_is_closed_alone(self):
        other, _ = self.layered(tls=True)
        # a handshake record whose ClientHello does not parse
        c = LayeredClient(self.broker.tcp).connect()
        self.addCleanup(c.close)
        c.send_magic()
        c.identify(new_id(), tls_v1=True)
        c.send_raw(b"\x16\x03\x01\x00\x04\x01\x00\x00\x00")
        self.expect_dropped(c)
        # a client that does not trust the certificate gives up
        wrong_dir, wrong_cert, _ = make_cert("wrong")
        self.addCleanup(remove_cert, wrong_dir)
        d = LayeredClient(self.broker.tcp).connect()
        self.addCleanup(d.close)
        d.send_magic()
        with self.assertRaises(ssl.SSLCertVerificationError):
            d.identify_layers(new_id(), tls=True, cafile=wrong_cert)
        self.round_trip(other)

    def test_corrupt_deflate_stream_is_closed_alone(self):
        other, _ = self.layered(deflate=True)
        c, _ = self.layered(deflate=True)
        c.sock.sendall(b"\xff" * 64)  # a reserved block type: does not inflate
        self.expect_dropped(c)
        self.round_trip(other)

    def test_decompression_bomb_stays_bounded(self):
        """16 MB of empty lines in 16 KB of deflate: read a piece per loop
        pass, within the input bound; another device is answered meanwhile."""
        other, _ = self.layered(deflate=True)
        c, _ = self.layered(deflate=True)
        z = zlib.compressobj(9, zlib.DEFLATED, -15)
        bomb = z.compress(b"\n" * (16 << 20)) + z.compress(b"H\n") + z.flush(zlib.Z_SYNC_FLUSH)
        self.assertLess(len(bomb), 20000)
        pid = self.broker.proc.pid
        before = rss_kib(pid)
        c.sock.sendall(bomb)
        start = time.monotonic()
        worst, frame, deadline = 0.0, None, start + 60
        while frame is None and time.monotonic() < deadline:
            t0 = time.monotonic()
            self.expect_alive(other)
            worst = max(worst, time.monotonic() - t0)
            frame = c.poll_frame(0.05)
        self.assertEqual(frame, (FRAME_RESPONSE, b"H"))
        if not sanitized(self.broker.args[0]):
            self.assertLess(rss_kib(pid) - before, 8 * 1024)
        # read in one pass, the other device would wait for all of it
        total = time.monotonic() - start
        self.assertLess(worst, max(1.0, total / 3), "of %.1f s" % total)


def pushcat(broker, *args, **kw):
    """pushcat on broker's TCP port, as a process."""
    return subprocess.Popen([os.path.join(os.environ["PUSHGATE_BUILD"], "tools", "pushcat"),
                             "--broker", "%s:%d" % broker.tcp, "--no-reconnect"] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


class PushcatTlsTest(LayersTestCase):
    tls_args = ("--max-deflate-level", "9")

    def test_pushcat_receives_and_publishes_over_tls_and_deflate(self):
        cid = new_id()
        rx = pushcat(self.broker, "--client-id", str(cid), "--count", "1",
                     "--tls", "--ca", self.cert, "--deflate", "--level", "9")
        self.addCleanup(rx.kill)
        time.sleep(0.3)  # a message sent before it identifies waits for it anyway
        tx = pushcat(self.broker, "--client-id", str(new_id()), "--tls", "--insecure",
                     "--pub", "--to", str(cid), "--channel", "5", "over tls")
        out, err = tx.communicate(timeout=10)
        self.assertEqual((tx.returncode, out.split()[:2]), (0, [b"ACK", b"1"]), err)
        out, err = rx.communicate(timeout=10)
        self.assertEqual(rx.returncode, 0, err)
        _mid, ch, _frm, attempt, body = out.decode().rstrip("\n").split(" ", 4)
        self.assertEqual((ch, attempt, body), ("5", "1", "over tls"))

    def test_pushcat_refuses_an_untrusted_certificate(self):
        wrong_dir, wrong_cert, _ = make_cert("wrong")
        self.addCleanup(remove_cert, wrong_dir)
        p = pushcat(self.broker, "--client-id", str(new_id()), "--tls", "--ca", wrong_cert)
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"certificate verify failed", err)


class NoCertTest(BrokerTestCase):
    """No certificate: tls_v1 is refused and the session goes on in clear;
    deflate capped at the default --max-deflate-level 6."""

    def test_tls_asked_of_a_broker_without_certificate(self):
        c = self.connect()
        ftype, data = c.identify(new_id(), tls_v1=True)
        g = json.loads(data)
        self.assertEqual((ftype, g["tls_v1"], g["deflate"], g["deflate_level"]),
                         (FRAME_RESPONSE, False, False, 0))
        self.expect_alive(c)  # in clear, no OK in between

    def test_deflate_level_capped(self):
        c, g = layered(self, self.broker, deflate=True, deflate_level=9)
        self.assertEqual((g["tls_v1"], g["deflate"], g["deflate_level"]), (False, True, 6))
        self.expect_alive(c)

    def test_pushcat_tls_needs_a_broker_that_offers_it(self):
        p = pushcat(self.broker, "--client-id", str(new_id()), "--tls", "--insecure")
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"pushcat: the broker does not offer TLS", err)

    def test_bad_fields(self):
        for fields, why in (({"tls_v1": 1}, b"tls_v1 must be a boolean"),
                            ({"deflate": "yes"}, b"deflate must be a boolean"),
                            ({"deflate_level": 0}, b"deflate_level must be an integer from 1 to 9"),
                            ({"deflate_level": 10}, b"deflate_level must be an integer from 1 to 9")):
            c = self.connect()
            self.assertEqual(c.identify(new_id(), **fields), (FRAME_ERROR, b"E_BAD_BODY " + why))
            c.expect_closed()


class TlsRequiredTest(LayersTestCase):
    tls_args = ("--tls-required", "yes", "--deflate", "no")

    def test_clear_identify_refused(self):
        c = self.connect()
        self.assertEqual(c.identify(new_id(), deflate=True), (FRAME_ERROR, b"E_BAD_BODY tls required"))
        c.expect_closed()

    def test_tls_accepted_and_deflate_not_granted(self):
        c, g = self.layered(tls=True, deflate=True)
        self.assertEqual((g["tls_v1"], g["deflate"], g["deflate_level"]), (True, False, 0))
        self.round_trip(c)
