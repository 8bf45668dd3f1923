"""Resources per device on brokerd (issue 11): a cap on the output waiting
for a client that does not read, redelivery that queues nothing more onto
it, --max-subs, and IDENTIFY/catch-up of many subscriptions without holding
the event loop. Figures measured go to stderr."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

from lib.harness import (metric, rss_kib, sanitized, FRAME_ACK, FRAME_ERROR, FRAME_MESSAGE, FRAME_RESPONSE,
                         BrokerTestCase, Client, new_id, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))


def send_in_background(c, data):
    """sendall in a thread, so that replies can be read meanwhile."""
    t = threading.Thread(target=c.sock.sendall, args=(data,), daemon=True)
    t.start()
    return t


class MaxSubsTest(BrokerTestCase):
    broker_args = ("--threads", "1", "--max-subs", "1000")

    def test_30000_subs_past_the_limit_are_refused(self):
        d = self.identified()
        first = new_id()
        lines = b"".join(b"SUB %d\n" % (first + i) for i in range(30000))
        sender = send_in_background(d, lines)
        oks, refused, other = 0, 0, []
        for i in range(30000):
            frame = d.read_frame(timeout=60)
            if frame == (FRAME_RESPONSE, b"OK"):
                oks += 1
            elif frame == (FRAME_ERROR, b"E_SUB_FAILED too many subscriptions"):
                refused += 1
            else:
                other.append(frame)
        sender.join(10)
        self.assertEqual((oks, refused, other[:3]), (1000, 29000, []))
        self.expect_alive(d)
        subs = self.redis.cmd("SCARD", "pg:dev:%d:subs" % d.client_id)
        self.assertEqual(subs, 1000)
        # The first 1000 were taken, in order; one of them again is still OK.
        self.assertEqual(self.redis.cmd("SISMEMBER", "pg:dev:%d:subs" % d.client_id,
                                        str(first + 999)), 1)
        self.sub(d, first)
        d.send_line("SUB %d" % (first + 1000))
        self.expect_error(d, "E_SUB_FAILED")
        self.expect_alive(d)


class IdentifyManySubsTest(BrokerTestCase):
    NSUBS, PER_CHANNEL = 1000, 3
    broker_args = ("--threads", "1")   # the pinger shares the device's loop

    def test_identify_with_1000_subs_does_not_hold_other_devices(self):
        d = self.identified()
        first = new_id()
        channels = [first + i for i in range(self.NSUBS)]
        send_in_background(d, b"".join(b"SUB %d\n" % ch for ch in channels)).join(10)
        for _ in channels:
            self.expect_ok(d, timeout=30)
        self.go_offline(d)
        # A few messages on every channel, for the catch-up to write.
        s = self.identified()
        mids, data = [], []
        for ch in channels:
            for _ in range(self.PER_CHANNEL):
                mid = new_id()
                mids.append(mid)
                data.append(b"PUB 0 %d %d\n" % (ch, mid) + Client.body_bytes(b"x" * 40))
        send_in_background(s, b"".join(data))
        for _ in mids:
            self.assertEqual(s.read_frame(timeout=30)[0], FRAME_ACK)

        host, port = self.broker.tcp
        pinger = subprocess.Popen([sys.executable, os.path.join(HERE, "lib", "pinger.py"),
                                   host, str(port), "4", "3"],
                                  stdout=subprocess.PIPE, text=True)
        self.addCleanup(pinger.kill)
        self.assertEqual(pinger.stdout.readline().strip(), "ready")
        time.sleep(0.5)
        t0 = time.monotonic()
        d2 = self.identified(d.client_id)
        got = set()
        while len(got) < len(mids):
            mid, *_rest = self.expect_message(d2, timeout=10)
            got.add(mid)
            d2.send_line("FIN %d" % mid)  # max-pending (1000) holds the rest back
        caught_up = time.monotonic() - t0
        out, _ = pinger.communicate(timeout=30)
        figures = json.loads(out)
        sys.stderr.write("\nIDENTIFY + catch-up of %d streams, %d messages: %.0f ms; "
                         "another device's H: %s\n" % (self.NSUBS, len(mids),
                                                       caught_up * 1000, figures))
        self.assertEqual(got, set(mids))
        self.assertLess(caught_up, 3.0, "the catch-up ended after the pinger stopped")
        self.assertGreater(figures["n"], 100)
        # The loop is never held: 99% of the other device's round trips stay
        # under 20 ms. The single worst one is printed, not asserted: on a
        # 2-core machine running the suite's other modules it also measures
        # the scheduler (56 ms seen under load, 8 ms on a quiet machine).
        # ASan's build runs several times slower (p99 23 ms seen under load):
        # 100 ms there still tells a held loop (12 s before this issue).
        binary = os.path.join(os.environ["PUSHGATE_BUILD"], "brokerd", "brokerd")
        self.assertLess(figures["p99_ms"], 100.0 if sanitized(binary) else 20.0)


class OutputBoundTest(BrokerTestCase):
    """20 devices that never read, a channel with a steady stream."""
    CAP = 1 << 20
    NDEV, BODY = 20, b"b" * 400      # a frame under 512 bytes: copied per device
    broker_args = ("--threads", "1", "--msg-timeout", "1", "--max-output-bytes", str(CAP),
                   "--max-pending", "30000")

    def non_reader(self, client_id, channel):
        c = Client(self.broker.tcp)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(5)
        sock.connect(tuple(self.broker.tcp))
        c.sock = sock
        self._clients.append(c)
        c.send_magic()
        self.assertEqual(c.identify(client_id), (FRAME_RESPONSE, b"OK"))
        self.sub(c, channel)
        return c

    def publish(self, s, channel, n):
        mids = [new_id() for _ in range(n)]
        send_in_background(s, b"".join(b"PUB 0 %d %d\n" % (channel, mid)
                                       + Client.body_bytes(self.BODY) for mid in mids))
        for mid in mids:
            self.assertEqual(s.read_frame(timeout=30), (FRAME_ACK, b"ACK 1 %d %d" % (mid, 0)))
        return mids

    def test_rss_bounded_through_redelivery_and_nothing_lost(self):
        ch = new_id()
        devices = [self.non_reader(new_id(), ch) for _ in range(self.NDEV)]
        pid = self.broker.proc.pid
        time.sleep(0.3)
        base = rss_kib(pid)
        peak = [base]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kib(pid))
                time.sleep(0.05)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        self.addCleanup(stop.set)
        s = self.identified()
        # Over the pause mark, under the cap: redelivery must not add to it.
        mids = self.publish(s, ch, 1100)
        time.sleep(3.6)  # three rounds of msg-timeout 1
        deferred = metric(self.broker, "broker_redeliveries_deferred_total")
        self.assertEqual(metric(self.broker, "broker_output_overflow_closes_total"), 0)
        redelivered = metric(self.broker, "broker_redeliveries_total")
        # How much each socket's kernel buffer takes first is the kernel's
        # choice (send buffers autotune up to MiBs), so how many redeliveries
        # were put off varies (pending.c's unit test checks the deferral
        # exactly); none of the devices reached the cap.
        # On until each is past the cap (after what its socket's kernel buffer
        # took, up to tcp_wmem's 4 MiB): each is closed.
        for _ in range(20):
            mids += self.publish(s, ch, 1000)
            if metric(self.broker, "broker_output_overflow_closes_total") == self.NDEV:
                break
        time.sleep(0.3)
        stop.set()
        sampler.join(2)
        self.assertEqual(metric(self.broker, "broker_output_overflow_closes_total"), self.NDEV)
        self.assertEqual(self.broker.log_text().count("over max-output-bytes: closing"),
                         self.NDEV)
        grew = peak[0] - base
        sys.stderr.write("\n%d messages; RSS of brokerd: %d KiB before, peak %d KiB (+%d KiB) with %d "
                         "non-reading devices, cap %d KiB; in 3 rounds %d redeliveries written, %d "
                         "deferred\n" % (len(mids), base, peak[0], grew, self.NDEV, self.CAP >> 10,
                                          redelivered, deferred))
        if not sanitized(self.broker.path if hasattr(self.broker, "path") else
                         os.path.join(os.environ["PUSHGATE_BUILD"], "brokerd", "brokerd")):
            # The cap per device, its pending records (56 bytes each), the
            # messages themselves (~0.5 KiB each, pinned once whatever the
            # number of devices) and a fixed allowance for the allocator.
            bound = (self.NDEV * (self.CAP >> 10) + self.NDEV * len(mids) * 56 // 1024
                     + len(mids) + 8 * 1024)
            self.assertLess(grew, bound)
        # A device back (one that reads) gets every message, in order.
        d = self.identified(devices[0].client_id)
        got = []
        while len(set(got)) < len(mids):
            mid, *_rest = self.expect_message(d, timeout=10)
            if mid not in got:
                got.append(mid)
            d.send_line("FIN %d" % mid)
        self.assertEqual(got, mids)
        # Alive; a redelivery of a message FIN-ed late (msg-timeout is 1 s)
        # may still come before the answer: only repeats of those.
        d.send_line("H")
        while True:
            ftype, data = d.read_frame(timeout=10)
            if ftype != FRAME_MESSAGE:
                break
            self.assertIn(int(data.split(b" ", 1)[0]), mids)
        self.assertEqual((ftype, data), (FRAME_RESPONSE, b"H"))
