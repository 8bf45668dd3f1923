"""At the fd limit (EMFILE) accepting pauses with backoff (common/
listener.c) instead of spinning: a flood of connections past the limit
leaves the daemon serving its existing clients, using little CPU, and
logging about it at most once a second."""

import os
import resource
import socket
import time

from lib.cluster import Router
from lib.harness import (FRAME_RESPONSE, Broker, Client, RedisTestCase,
                         new_id, request, wait_until)

FD_LIMIT = 64
FLOOD = 300


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Emfile(RedisTestCase):
    def limit_fds(self, d):
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))

    def flood(self, port):
        socks = []
        for _ in range(FLOOD):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            socks.append(s)
        self.addCleanup(lambda: [s.close() for s in socks])
        return socks

    def measure(self, d, port):
        """Floods port; returns (CPU cores used over 2 s, accept log lines,
        seconds the flood lasted)."""
        socks = self.flood(port)
        self.assertTrue(wait_until(lambda: "accept failed" in d.log_text(), 5),
                        "the flood never reached the fd limit")
        t0, c0 = time.monotonic(), cpu_seconds(d.pid)
        time.sleep(2.0)
        cores = (cpu_seconds(d.pid) - c0) / (time.monotonic() - t0)
        lines = [l for l in d.log_text().splitlines() if "accept failed" in l]
        print("%s: %d fds open, CPU %.3f cores during the flood, %d accept lines in the log"
              % (d.name, open_fds(d.pid), cores, len(lines)))
        self.assertLess(cores, 0.3)
        for s in socks:
            s.close()
        return cores, lines

    def test_routerd(self):
        r = Router(self.redis.port, "--threads", "1", label=self.class_label() + ".router")
        self.addCleanup(r.kill)
        r.wait_ready()
        self.limit_fds(r)
        t0 = time.monotonic()
        _cores, lines = self.measure(r, r.put_port)
        # One line a second at most, and the first: the flood lasted ~3 s.
        self.assertLessEqual(len(lines), int(time.monotonic() - t0) + 2)
        self.assertTrue(wait_until(lambda: request(r.put_port, "GET", "/ping", timeout=2)[::2]
                                   == (200, b"OK"), 15))

    def test_brokerd(self):
        b = Broker(self.redis.port, "--threads", "1", label=self.class_label() + ".broker")
        self.addCleanup(b.kill)
        b.wait_ready()
        dev = Client(b.tcp).connect()
        self.addCleanup(dev.close)
        dev.send_magic()
        self.assertEqual(dev.identify(new_id()), (FRAME_RESPONSE, b"OK"))
        self.limit_fds(b)
        t0 = time.monotonic()
        socks = self.flood(b.tcp[1])
        self.assertTrue(wait_until(lambda: "accept failed" in b.log_text(), 5))
        c0, tc = cpu_seconds(b.pid), time.monotonic()
        worst = 0.0
        while time.monotonic() - tc < 2.0:
            h0 = time.perf_counter()
            dev.send_line(b"H")
            self.assertEqual(dev.read_frame(timeout=5), (FRAME_RESPONSE, b"H"))
            worst = max(worst, time.perf_counter() - h0)
            time.sleep(0.05)
        cores = (cpu_seconds(b.pid) - c0) / (time.monotonic() - tc)
        lines = [l for l in b.log_text().splitlines() if "accept failed" in l]
        print("brokerd: CPU %.3f cores during the flood, H worst %.1f ms, %d accept lines"
              % (cores, worst * 1000, len(lines)))
        self.assertLess(cores, 0.3)
        self.assertLess(worst, 1.0)
        self.assertLessEqual(len(lines), int(time.monotonic() - t0) + 2)
        for s in socks:
            s.close()

        def new_device_ok():
            with Client(b.tcp, timeout=2.0).connect() as c:
                c.send_magic()
                return c.identify(new_id(), timeout=2.0) == (FRAME_RESPONSE, b"OK")
        # The flood's accepted connections go at the IDENTIFY timeout (10 s).
        self.assertTrue(wait_until(new_device_ok, 20))
