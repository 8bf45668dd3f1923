"""SIGTERM drains (man brokerd.8, SIGNALS): the broker stops accepting,
lets connected devices take what it already wrote to them, closes them
(a FIN, no unsolicited frame) and exits 0 within its drain time."""

import json
import signal
import socket
import time

from lib.harness import BrokerTestCase, Client, FRAME_MESSAGE, new_id, wait_until

DRAIN_S = 2.0          # brokerd's STOP_DRAIN_MS
TICK_S = 0.1           # brokerd's TICK_MS: exits are seen on a tick
BODY = 60000           # under the default max-msg-size (65536)
COUNT = 100            # 6 MB: far more than a small receive window holds


class DrainTest(BrokerTestCase):

    def messages_out(self, b):
        status, _, data = b.http_get("/stats")
        self.assertEqual(status, 200)
        return json.loads(data)["messages_out"]

    def wait_written(self, b, n):
        """Until the broker has written n Message frames (its /stats, which
        it publishes each tick), and exactly n."""
        wait_until(lambda: self.messages_out(b) >= n, 10.0)
        self.assertEqual(self.messages_out(b), n)

    def sigterm(self, b):
        b.proc.send_signal(signal.SIGTERM)
        return time.monotonic()

    def wait_exit(self, b, t0, within):
        """Asserts b exits 0 within `within` s of t0; returns when it did."""
        rc = b.proc.wait(max(0.1, t0 + within + 1.0 - time.monotonic()))
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, b.log_tail())
        self.assertLess(took, within, "exited %.2f s after SIGTERM" % took)
        return took

    def slow_reader(self, b):
        """A client with a tiny receive window: what the broker writes to it
        stays in the broker's output until it reads."""
        c = Client(b.tcp)
        c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.sock.settimeout(5.0)
        c.sock.connect(b.tcp)
        self._clients.append(c)
        c.send_magic()
        return c

    def test_queued_output_goes_out_whole(self):
        b = self.extra_broker()
        d = self.slow_reader(b)
        cid, ch = new_id(), new_id()
        self.assertEqual(d.identify(cid), (0, b"OK"))
        self.sub(d, ch)
        s = self.identified(broker=b)
        mids = [new_id() for _ in range(COUNT)]
        for i, mid in enumerate(mids):
            self.pub_ok(s, 0, ch, mid, bytes([65 + i % 26]) * BODY)
        s.close()
        self.wait_written(b, COUNT)
        t0 = self.sigterm(b)
        for i, mid in enumerate(mids):
            m = self.expect_message(d, timeout=DRAIN_S)
            self.assertEqual((m[0], m[1], m[2], m[4]), (mid, ch, s.client_id, 1))
            self.assertEqual(m[5], bytes([65 + i % 26]) * BODY)
        self.assertEqual(d.read_frames_until_closed(DRAIN_S), [])
        d.close()
        self.wait_exit(b, t0, DRAIN_S + 2 * TICK_S)

    def test_just_delivered_message_then_close(self):
        b = self.extra_broker()
        d = self.identified(broker=b)
        ch, mid = new_id(), new_id()
        self.sub(d, ch)
        s = self.identified(broker=b)
        self.pub_ok(s, 0, ch, mid, b"last words")
        self.wait_written(b, 1)
        t0 = self.sigterm(b)
        frames = d.read_frames_until_closed(DRAIN_S)
        self.assertEqual(len(frames), 1, frames)
        self.assertEqual(frames[0][0], FRAME_MESSAGE)
        m = Client.parse_message(frames[0][1])
        self.assertEqual((m[0], m[1], m[2], m[4], m[5]),
                         (mid, ch, s.client_id, 1, b"last words"))
        self.assertEqual(s.read_frames_until_closed(DRAIN_S), [])
        # Both devices closed their side: the broker need not wait the drain out.
        d.close()
        s.close()
        self.wait_exit(b, t0, DRAIN_S)

    def test_stops_accepting_and_exits_within_the_drain(self):
        b = self.extra_broker()
        d = self.identified(broker=b)      # never closes its side
        t0 = self.sigterm(b)
        self.assertEqual(d.read_frames_until_closed(1.0), [])
        time.sleep(0.3)    # every loop has closed its listener (d's may be first)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(b.tcp, timeout=1.0).close()
        took = self.wait_exit(b, t0, DRAIN_S + 3 * TICK_S + 0.5)
        # The broker waited for d to close until the drain was over.
        self.assertGreaterEqual(took, DRAIN_S - TICK_S)
