"""Abuse: garbage, absurd sizes, huge lines, connection storms. Afterwards
a normal client is served and brokerd is still running."""

import random
import socket
import struct
import threading
import time

from lib.harness import BrokerTestCase, Closed, FrameTimeout, MAGIC, new_id


class AbuseTest(BrokerTestCase):

    def assert_still_serving(self):
        self.assertTrue(self.broker.alive(), "brokerd is not running")
        d = self.identified()
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, b"still fine")
        self.assert_message(d, mid, ch, s.client_id, b"still fine")
        self.fin(d, mid)

    def send_in_background(self, c, data):
        """sendall in a thread; the broker may close mid-way (EPIPE/RST)."""
        def run():
            try:
                c.sock.sendall(data)
            except OSError:
                pass
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def test_huge_body_size_on_pub(self):
        for size in (2**31, 2**32 - 1, 2**31 - 1):
            with self.subTest(size=size):
                c = self.identified()
                c.send_raw(b"PUB %d %d %d\n" % (new_id(), new_id(), new_id())
                           + struct.pack(">I", size))
                self.expect_fatal(c, "E_BAD_MESSAGE")
        self.assert_still_serving()

    def test_huge_body_size_on_channel_pub_before_identify(self):
        c = self.connect()
        c.send_raw(b"PUB 0 1 1\n" + struct.pack(">I", 2**31) + b"x" * 100)
        frames = c.read_frames_until_closed()
        self.assertTrue(frames and all(f[0] == 1 for f in frames), frames)
        self.assertTrue(frames[-1][1].split(b" ")[0] == b"E_BAD_MESSAGE", frames)
        self.assert_still_serving()

    def test_huge_identify_body_size(self):
        c = self.connect()
        c.send_raw(b"IDENTIFY\n" + struct.pack(">I", 2**32 - 1))
        self.expect_fatal(c, "E_BAD_BODY")
        self.assert_still_serving()

    def test_one_mebibyte_line(self):
        c = self.connect()
        t = self.send_in_background(c, b"A" * (1 << 20))
        self.expect_fatal(c, "E_INVALID")
        t.join(5)
        self.assert_still_serving()

    def test_one_mebibyte_line_after_identify(self):
        c = self.identified()
        t = self.send_in_background(c, b"SUB " + b"9" * (1 << 20) + b"\n")
        self.expect_fatal(c, "E_INVALID")
        t.join(5)
        self.assert_still_serving()

    def test_garbage_bytes(self):
        rng = random.Random(1234)
        for i in range(20):
            c = self.connect(magic=(i % 2 == 0))
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4000)))
            t = self.send_in_background(c, data)
            try:
                # whatever it answers, it must be well-formed frames then EOF
                # or a still-usable connection; we only read what comes.
                while c.poll_frame(0.2) is not None:
                    pass
            except Closed:
                pass
            t.join(5)
            c.abort()
        self.assert_still_serving()

    def test_garbage_with_newlines_keeps_the_connection_in_step(self):
        # lines of random printable junk (no PUB/IDENTIFY first word): every
        # line gets exactly one E_* error, nothing fatal
        rng = random.Random(99)
        c = self.identified()
        n = 200
        lines = []
        for _ in range(n):
            word = "".join(rng.choice("abcdefgXYZ019!?") for _ in range(rng.randint(1, 30)))
            lines.append(("Z" + word).encode())
        c.send_raw(b"\n".join(lines) + b"\n")
        for i in range(n):
            self.expect_error(c, "E_INVALID")
        self.expect_alive(c)

    def test_connection_storm(self):
        addr = self.broker.tcp
        for i in range(1000):
            s = socket.create_connection(addr, timeout=5)
            kind = i % 5
            try:
                if kind == 1:
                    s.sendall(MAGIC)
                elif kind == 2:
                    s.sendall(MAGIC + b"H\n")
                elif kind == 3:
                    s.sendall(MAGIC + b"IDENTIFY\n\x00\x00")
                elif kind == 4:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    body = b'{"client_id":%d}' % new_id()
                    s.sendall(MAGIC + b"IDENTIFY\n" + struct.pack(">I", len(body)) + body)
            except OSError:
                pass
            s.close()
        self.assert_still_serving()

    def test_many_concurrent_connections(self):
        socks = []
        try:
            for i in range(300):
                c = self.connect()
                socks.append(c)
            for c in socks[::10]:
                self.expect_alive(c)
        finally:
            for c in socks:
                c.abort()
        time.sleep(0.3)
        self.assert_still_serving()

    def test_disconnect_mid_body(self):
        for cut in (1, 3, 10):
            c = self.identified()
            c.send_raw(b"PUB %d %d %d\n" % (new_id(), new_id(), new_id())
                       + struct.pack(">I", 100) + b"x" * cut)
            c.abort()
            c2 = self.connect()
            c2.send_raw(b"IDENTIFY\n" + struct.pack(">I", 100) + b"{" * cut)
            c2.close()
        time.sleep(0.3)
        self.assert_still_serving()

    def test_many_heartbeats_pipelined(self):
        c = self.connect()
        n = 20000
        t = self.send_in_background(c, b"H\n" * n)
        for _ in range(n):
            f = c.read_frame(10)
            self.assertEqual(f, (0, b"H"))
        t.join(5)

    def test_client_that_never_reads(self):
        # a device that stops reading while messages pile up must not hurt
        # brokerd or other clients
        d = self.identified()
        d.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s = self.identified()
        ch = new_id()
        body = b"p" * 60000
        for _ in range(100):
            mid = new_id()
            s.send_with_body("PUB %d %d %d" % (d.client_id, ch, mid), body)
            f = s.read_frame(10)
            self.assertEqual(f[0], 3, f)
        d.abort()
        self.assert_still_serving()

    def test_nul_and_high_bytes_in_lines(self):
        c = self.identified()
        for line in (b"SUB 5\x00", b"SUB \x005", b"FIN 7\x00", b"SUB 5\xff"):
            with self.subTest(line=line):
                c.send_line(line)
                f = c.read_frame()
                self.assertEqual(f[0], 1, f)
                self.assertTrue(f[1].split(b" ")[0] in (b"E_BAD_CHANNEL", b"E_INVALID"), f)
                self.expect_alive(c)
