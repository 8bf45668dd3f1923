"""Redis goes away for ~2 s and comes back on the same port: brokerd keeps
running, keeps answering H, and PUB/SUB work again end to end."""

import time

from lib.harness import (BrokerTestCase, Closed, FRAME_ACK, FRAME_ERROR,
                         FRAME_RESPONSE, FrameTimeout, fmt_frame, new_id)


class RedisRestartTest(BrokerTestCase):

    def pub_until_ack1(self, s, target, ch, deadline_s=10.0):
        """PUB fresh ids until one gets ACK 1; returns that message id."""
        deadline = time.monotonic() + deadline_s
        seen = []
        while time.monotonic() < deadline:
            mid = new_id()
            s.send_with_body("PUB %d %d %d" % (target, ch, mid), b"after %d" % mid)
            frame = s.read_frame(5.0)
            if frame == (FRAME_ACK, b"ACK 1 %d %d" % (mid, target)):
                return mid
            seen.append(fmt_frame(frame))
            self.assertIn(frame[0], (FRAME_ACK, FRAME_ERROR), fmt_frame(frame))
            time.sleep(0.3)
        self.fail("no ACK 1 within %.0f s after Redis came back: %s" % (deadline_s, seen[-5:]))

    def test_redis_restart(self):
        ch = new_id()
        sub = self.subscribed(ch)
        direct = self.identified()
        watcher = self.identified()
        sender = self.identified()
        mid = new_id()
        self.pub_ok(sender, 0, ch, mid, b"before")
        self.assert_message(sub, mid, ch, sender.client_id, b"before")
        self.fin(sub, mid)

        probe = None
        self.redis.stop()
        outage_start = time.monotonic()
        try:
            time.sleep(0.3)
            self.assertTrue(self.broker.alive(), "brokerd died when Redis went away")
            # H is answered during the outage
            self.expect_alive(watcher)
            # a PUB during the outage: ACK 0 or an error, never a crash
            probe = self.identified_or_none_during_outage()
            mid_out = new_id()
            sender.send_with_body("PUB %d %d %d" % (direct.client_id, ch, mid_out), b"outage")
            frame = sender.read_frame(5.0)
            self.assertTrue(frame == (FRAME_ACK, b"ACK 0 %d %d" % (mid_out, direct.client_id))
                            or frame[0] == FRAME_ERROR,
                            "PUB during the outage: %s" % fmt_frame(frame))
            self.assertTrue(self.broker.alive(), "brokerd died on a PUB during the outage")
            time.sleep(max(0.0, outage_start + 2.0 - time.monotonic()))
            self.expect_alive(watcher)
        finally:
            self.redis.start()
        self.assertTrue(self.broker.alive(), "brokerd died during the outage")
        if probe is not None:
            probe.close()

        # The sender may have been closed after an error; use a fresh one if so.
        try:
            self.expect_alive(sender)
        except (Closed, FrameTimeout):
            sender = self.retry_identify()
        # direct PUB works again end to end
        mid = self.pub_until_ack1(sender, direct.client_id, ch)
        m = self.expect_message(direct, 5.0)
        self.assertEqual((m[0], m[2], m[5]), (mid, sender.client_id, b"after %d" % mid))
        self.fin(direct, mid)
        # the subscription made before the outage still works
        mid = self.pub_until_ack1(sender, 0, ch)
        m = self.expect_message(sub, 5.0)
        self.assertEqual((m[0], m[1], m[2]), (mid, ch, sender.client_id))
        # new devices can identify and subscribe
        ch2 = new_id()
        fresh = self.retry_identify()
        self.sub(fresh, ch2)
        mid = self.pub_until_ack1(sender, 0, ch2)
        m = self.expect_message(fresh, 5.0)
        self.assertEqual((m[0], m[1]), (mid, ch2))
        self.expect_alive(watcher)

    def identified_or_none_during_outage(self):
        """An IDENTIFY during the outage may fail, but must not crash brokerd."""
        c = self.connect()
        c.send_with_body("IDENTIFY", b'{"client_id":%d}' % new_id())
        try:
            frame = c.read_frame(5.0)
            self.assertIn(frame[0], (FRAME_RESPONSE, FRAME_ERROR), fmt_frame(frame))
        except (Closed, FrameTimeout):
            pass
        self.assertTrue(self.broker.alive(), "brokerd died on IDENTIFY during the outage")
        return c

    def retry_identify(self, deadline_s=10.0):
        deadline = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < deadline:
            c = self.connect()
            try:
                last = c.identify(new_id(), timeout=5.0)
                if last == (FRAME_RESPONSE, b"OK"):
                    return c
            except (Closed, FrameTimeout) as e:
                last = e
            c.close()
            time.sleep(0.3)
        self.fail("IDENTIFY did not succeed within %.0f s after Redis came back: %r"
                  % (deadline_s, last))


class RedisKillTest(BrokerTestCase):
    """Same, with SIGKILL and a longer gap; every connected client stays."""

    def test_redis_killed(self):
        ch = new_id()
        subs = [self.subscribed(ch) for _ in range(3)]
        sender = self.identified()
        self.redis.kill()
        try:
            for _ in range(3):
                time.sleep(1.0)
                self.assertTrue(self.broker.alive(), "brokerd died while Redis was down")
                for c in subs + [sender]:
                    self.expect_alive(c)
        finally:
            self.redis.start()
        deadline = time.monotonic() + 10.0
        while True:
            mid = new_id()
            sender.send_with_body("PUB 0 %d %d" % (ch, mid), b"back")
            frame = sender.read_frame(5.0)
            if frame == (FRAME_ACK, b"ACK 1 %d 0" % mid):
                break
            self.assertIn(frame[0], (FRAME_ACK, FRAME_ERROR), fmt_frame(frame))
            self.assertLess(time.monotonic(), deadline,
                            "no ACK 1 within 10 s after Redis came back: %s" % fmt_frame(frame))
            time.sleep(0.3)
        for c in subs:
            m = self.expect_message(c, 5.0)
            self.assertEqual((m[0], m[1], m[5]), (mid, ch, b"back"))
