"""brokerd's --offline-max and --offline-ttl (SPEC 2.5: "kept in Redis for
ttl ... The count kept is bounded and configurable")."""

import time

from lib.harness import BrokerTestCase, FRAME_MESSAGE, new_id


class OfflineBase(BrokerTestCase):

    def drain(self, c, quiet=1.0):
        msgs = []
        while True:
            f = c.poll_frame(quiet)
            if f is None:
                return msgs
            self.assertEqual(f[0], FRAME_MESSAGE, f)
            msgs.append(c.parse_message(f[1]))


class OfflineMaxTest(OfflineBase):
    broker_args = ("--offline-max", "5")

    def test_count_kept_is_bounded(self):
        cid = new_id()
        self.go_offline(self.identified(cid))
        s = self.identified()
        ch = new_id()
        sent = {}
        for i in range(300):
            mid = new_id()
            s.send_with_body("PUB %d %d %d" % (cid, ch, mid), b"b%d" % i)
            f = s.read_frame()
            self.assertEqual(f[0], 3, f)
            sent[mid] = b"b%d" % i
        d = self.connect()
        self.assertEqual(d.identify(cid), (0, b"OK"))
        msgs = self.drain(d)
        self.assertTrue(1 <= len(msgs) <= 5, "kept %d of 300 messages with --offline-max 5"
                        % len(msgs))
        for mid, ch_got, frm, _ts, attempt, body in msgs:
            self.assertEqual((ch_got, frm, attempt, body), (ch, s.client_id, 1, sent[mid]))


class OfflineTtlTest(OfflineBase):
    broker_args = ("--offline-ttl", "1")

    def test_message_within_ttl_is_delivered(self):
        cid = new_id()
        self.go_offline(self.identified(cid))
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"quick")
        d = self.connect()
        self.assertEqual(d.identify(cid), (0, b"OK"))
        self.assert_message(d, mid, ch, s.client_id, b"quick")

    def test_message_older_than_ttl_is_dropped(self):
        cid = new_id()
        self.go_offline(self.identified(cid))
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"too late")
        time.sleep(2.5)
        d = self.connect()
        self.assertEqual(d.identify(cid), (0, b"OK"))
        self.expect_no_frame(d, 1.0)
