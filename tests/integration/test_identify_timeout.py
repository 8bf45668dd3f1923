"""SPEC 2.2: a client that does not IDENTIFY within 10 s of connecting is
closed. All cases share one 10 s wait."""

import select
import time

from lib.harness import BrokerTestCase, FRAME_MESSAGE, new_id


class IdentifyTimeoutTest(BrokerTestCase):

    def test_unidentified_connections_are_closed_at_10s(self):
        t0 = time.monotonic()
        silent = self.connect(magic=False)          # not even the magic
        magic_only = self.connect()                 # magic, then nothing
        chatty = self.connect()                     # H every second, no IDENTIFY
        subber = self.connect()                     # commands that need identify
        late = self.connect()                       # identifies after 9 s
        ident = self.identified(heartbeat_interval=60)   # identified at once
        waiting = {"silent": silent, "magic_only": magic_only,
                   "chatty": chatty, "subber": subber}
        closed_at = {}
        late_done = False
        next_tick = t0 + 1.0
        while time.monotonic() - t0 < 13.0 and waiting:
            now = time.monotonic()
            if now >= next_tick:
                next_tick += 1.0
                for name, c in (("chatty", chatty), ("subber", subber)):
                    if name in waiting:
                        try:
                            if name == "chatty":
                                c.send_line("H")
                            else:
                                c.send_line("SUB %d" % new_id())
                        except OSError:
                            pass
                if not late_done and now - t0 >= 9.0:
                    late_done = True
                    late.send_with_body("IDENTIFY", b'{"client_id":%d}' % new_id())
            socks = {c.sock: name for name, c in waiting.items()}
            ready, _, _ = select.select(list(socks), [], [], 0.05)
            for s in ready:
                name = socks[s]
                c = waiting[name]
                try:
                    frames = c.read_frames_until_closed(0.01)
                except AssertionError:
                    continue    # frames but no EOF yet
                del waiting[name]
                closed_at[name] = time.monotonic() - t0
                self.assertFalse([f for f in frames if f[0] == FRAME_MESSAGE], frames)
        self.assertEqual(sorted(waiting), [], "still open after 13 s: %s" % sorted(waiting))
        for name, t in closed_at.items():
            self.assertGreaterEqual(t, 8.0, "%s closed after only %.2f s" % (name, t))
            self.assertLessEqual(t, 12.5, "%s closed after %.2f s" % (name, t))
        # the late and the early identified connections stay (checked after
        # every unidentified one has gone and past the 10 s mark)
        time.sleep(max(0.0, t0 + 11.0 - time.monotonic()))
        self.expect_ok(late)
        self.expect_alive(late)
        self.expect_alive(ident)
