"""SPEC 2.4: a connection with nothing received for 2 x heartbeat_interval
is closed; any bytes count as liveness."""

import time

from lib.harness import BrokerTestCase, FRAME_MESSAGE, new_id


class HeartbeatTest(BrokerTestCase):

    def assert_closed_soon(self, c, t0, low=1.5, high=4.0):
        """Open until t0+low, closed by t0+high (no Message frames meanwhile)."""
        self.assertTrue(c.is_open_for(max(0.0, t0 + low - time.monotonic())),
                        "closed after %.2f s, before %.1f s" % (time.monotonic() - t0, low))
        frames = c.read_frames_until_closed(max(0.1, t0 + high - time.monotonic()))
        self.assertFalse([f for f in frames if f[0] == FRAME_MESSAGE], frames)
        return time.monotonic() - t0

    def test_silent_client_is_closed_after_two_intervals(self):
        c = self.connect()
        t0 = time.monotonic()
        self.assertEqual(c.identify(new_id(), heartbeat_interval=1), (0, b"OK"))
        elapsed = self.assert_closed_soon(c, t0)
        self.assertGreaterEqual(elapsed, 1.5)

    def test_heartbeats_keep_it_open(self):
        c = self.connect()
        self.assertEqual(c.identify(new_id(), heartbeat_interval=1), (0, b"OK"))
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            self.expect_alive(c)
            time.sleep(0.5)
        self.expect_alive(c)
        # and then silence closes it
        t0 = time.monotonic()
        self.assert_closed_soon(c, t0)

    def test_any_bytes_count_as_liveness(self):
        c = self.connect()
        self.assertEqual(c.identify(new_id(), heartbeat_interval=1), (0, b"OK"))
        # empty lines
        for _ in range(6):
            time.sleep(0.5)
            c.send_raw(b"\n")
        # a command line trickling in byte by byte over 3 s
        line = b"SUB %d\n" % new_id()
        delay = 3.0 / len(line)
        for i in range(len(line)):
            time.sleep(delay)
            c.send_raw(line[i:i + 1])
        self.expect_ok(c)
        self.expect_alive(c)

    def test_other_commands_keep_it_open(self):
        c = self.connect()
        self.assertEqual(c.identify(new_id(), heartbeat_interval=1), (0, b"OK"))
        for _ in range(8):
            time.sleep(0.5)
            c.send_line("SUB %d" % new_id())
            self.expect_ok(c)
