"""Notices that come before the resync: brokerd's notice connection may be
subscribed again while its command connection is not ready yet (a Redis
restart, a failover). A message notice then must not move a stream's
position past entries written while no notice could arrive: the resync
reads every stream from the positions it holds, and a notice delivered
before it had made that read start past them (an acknowledged message
never delivered, seen under load in test_fault_sentinel)."""

import time

from lib.harness import FRAME_MESSAGE, BrokerTestCase, fmt_frame, new_id, now_ms, wait_until


class ResyncNoticesTest(BrokerTestCase):

    def entry(self, ch, mid, body):
        """A channel message as /put writes it (lua/router_put.lua): the
        stream entry; returns its M notice, not published."""
        exp = now_ms() + 60000
        eid = self.redis.cmd("XADD", "pg:ch:%d" % ch, "*", "m", str(mid), "f", "0",
                             "c", str(ch), "x", str(exp), "t", "0", "b", body)
        return b"M %s %d 0 %d %d 0 0\n%s" % (eid, mid, ch, exp, body)

    def test_notice_before_resync(self):
        ch = new_id()
        dev = self.subscribed(ch)
        sender = self.identified()
        mid = new_id()
        self.pub_delivered(sender, dev, 0, ch, mid, b"before")
        bid = int(self.redis.cmd("HGET", "pg:dev:%d" % dev.client_id, "broker"))  # its loop

        # The command connection cannot get ready (SCRIPT LOAD refused: it
        # is dropped and tried again with backoff, up to 2 s), while the
        # notice connection subscribes again within 100 ms each time.
        self.redis.cmd("ACL", "SETUSER", "default", "-script|load")
        self.addCleanup(self.redis.cmd, "ACL", "SETUSER", "default", "+@all")
        self.redis.cmd("CLIENT", "KILL", "TYPE", "normal")
        self.redis.cmd("CLIENT", "KILL", "TYPE", "pubsub")
        # Written while the broker heard no notice: the resync must read it.
        lost_mid, heard_mid = new_id(), new_id()
        self.entry(ch, lost_mid, b"unheard")
        # A later one whose notice the broker hears before its resync.
        notice = self.entry(ch, heard_mid, b"heard")
        self.assertTrue(wait_until(
            lambda: self.redis.cmd("PUBLISH", "pg:n:bk:%d" % bid, notice) >= 1, 5.0, 0.02),
            "the broker did not subscribe again")
        time.sleep(0.3)  # the broker reads the notice
        self.redis.cmd("ACL", "SETUSER", "default", "+@all")

        got = []
        deadline = time.monotonic() + 8.0
        while len(got) < 2 and time.monotonic() < deadline:
            frame = dev.poll_frame(0.5)
            if frame is None:
                continue
            self.assertEqual(frame[0], FRAME_MESSAGE, fmt_frame(frame))
            m = dev.parse_message(frame[1])
            got.append((m[0], m[5]))
            dev.send_line("FIN %d" % m[0])
        self.assertEqual(got, [(lost_mid, b"unheard"), (heard_mid, b"heard")])
