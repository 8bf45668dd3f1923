"""SPEC 2.2: a second connection with the same client_id wins; the older
one gets Error E_REPLACED and is closed."""

import time

from lib.harness import BrokerTestCase, FRAME_RESPONSE, new_id


class ReplacedTest(BrokerTestCase):

    def test_older_connection_is_replaced(self):
        cid = new_id()
        old = self.identified(cid)
        new = self.connect()
        self.assertEqual(new.identify(cid), (FRAME_RESPONSE, b"OK"))
        self.expect_fatal(old, "E_REPLACED")
        self.expect_alive(new)

    def test_messages_go_to_the_newer_connection(self):
        cid = new_id()
        old = self.identified(cid)
        new = self.identified(cid)
        self.expect_fatal(old, "E_REPLACED")
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"to new")
        self.assert_message(new, mid, ch, s.client_id, b"to new")
        self.fin(new, mid)

    def test_replaced_three_times(self):
        cid = new_id()
        c1 = self.identified(cid)
        c2 = self.identified(cid)
        self.expect_fatal(c1, "E_REPLACED")
        c3 = self.identified(cid)
        self.expect_fatal(c2, "E_REPLACED")
        self.expect_alive(c3)

    def test_subscriptions_carry_over(self):
        cid, ch = new_id(), new_id()
        old = self.subscribed(ch, cid)
        new = self.identified(cid)
        self.expect_fatal(old, "E_REPLACED")
        s = self.identified()
        mid = new_id()
        self.pub_ok(s, 0, ch, mid, b"chan")
        self.assert_message(new, mid, ch, s.client_id, b"chan")

    def test_pending_message_redelivered_to_newer(self):
        cid = new_id()
        old = self.identified(cid)
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"pending")
        ts = self.assert_message(old, mid, ch, s.client_id, b"pending")
        new = self.identified(cid)
        self.expect_fatal(old, "E_REPLACED")
        m = self.expect_message(new)
        self.assertEqual((m[0], m[1], m[2], m[3], m[5]), (mid, ch, s.client_id, ts, b"pending"))
        self.assertGreaterEqual(m[4], 2)
        self.fin(new, mid)

    def test_closing_the_replaced_one_does_not_hurt_the_newer(self):
        cid = new_id()
        old = self.identified(cid)
        new = self.identified(cid)
        self.expect_fatal(old, "E_REPLACED")
        old.close()
        time.sleep(0.3)
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"still online")
        self.assert_message(new, mid, ch, s.client_id, b"still online")

    def test_different_ids_do_not_replace(self):
        a = self.identified()
        b = self.identified()
        self.expect_alive(a)
        self.expect_alive(b)
