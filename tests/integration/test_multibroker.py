"""SPEC 0 / 2.2 / 2.5: several brokerd processes share one Redis."""

from lib.harness import BrokerTestCase, FRAME_RESPONSE, new_id


class TwoBrokers(BrokerTestCase):
    ids = (None, None)

    @classmethod
    def start_brokers(cls):
        a, b = cls.ids
        cls.broker = cls.start_class_broker(*(("--broker-id", a) if a else ()), suffix=".b1")
        cls.broker2 = cls.start_class_broker(*(("--broker-id", b) if b else ()), suffix=".b2")

    def direct_message_across_brokers(self):
        """A message from a client on broker to one on broker2; returns
        (receiver, message id)."""
        d = self.identified(broker=self.broker2)
        s = self.identified(broker=self.broker)
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, b"across")
        self.assert_message(d, mid, ch, s.client_id, b"across")
        return d, mid

    def channel_message_reaches_both_brokers(self, sender_broker, body):
        ch = new_id()
        a = self.subscribed(ch, broker=self.broker)
        b = self.subscribed(ch, broker=self.broker2)
        s = self.identified(broker=sender_broker)
        mid = new_id()
        self.pub_ok(s, 0, ch, mid, body)
        self.assert_message(a, mid, ch, s.client_id, body)
        self.assert_message(b, mid, ch, s.client_id, body)


class MultiBrokerTest(TwoBrokers):
    ids = (11, 12)

    def test_direct_message_across_brokers(self):
        d, mid = self.direct_message_across_brokers()
        self.fin(d, mid)

    def test_channel_message_reaches_both_brokers(self):
        self.channel_message_reaches_both_brokers(self.broker2, b"everywhere")

    def test_replaced_across_brokers(self):
        cid = new_id()
        old = self.identified(cid, broker=self.broker)
        new = self.connect(self.broker2)
        self.assertEqual(new.identify(cid), (FRAME_RESPONSE, b"OK"))
        self.expect_fatal(old, "E_REPLACED")
        s = self.identified(broker=self.broker)
        ch, mid = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"to the new one")
        self.assert_message(new, mid, ch, s.client_id, b"to the new one")

    def test_device_moves_broker_keeps_subscriptions_and_messages(self):
        cid, ch = new_id(), new_id()
        c = self.subscribed(ch, cid, broker=self.broker)
        c.send_line("CLS")
        self.expect_response(c, b"CLOSE_WAIT")
        c.expect_closed()
        s = self.identified(broker=self.broker)
        m1, m2 = new_id(), new_id()
        self.pub_ok(s, 0, ch, m1, b"missed on channel")
        self.pub_ok(s, cid, ch, m2, b"missed direct")
        d = self.identified(cid, broker=self.broker2)
        got = {}
        for _ in range(2):
            mid, ch_got, frm, _ts, attempt, body = self.expect_message(d)
            self.assertEqual((ch_got, frm, attempt), (ch, s.client_id, 1),
                             "message %d %r (channel, from, attempt)" % (mid, body))
            got[mid] = body
        self.assertEqual(got, {m1: b"missed on channel", m2: b"missed direct"})
        m3 = new_id()
        self.pub_ok(s, 0, ch, m3, b"live")
        self.assert_message(d, m3, ch, s.client_id, b"live")

    def test_known_on_one_broker_is_known_on_the_other(self):
        cid = new_id()
        c = self.identified(cid, broker=self.broker)
        c.close()
        s = self.identified(broker=self.broker2)
        mid = new_id()
        self.pub_ok(s, cid, new_id(), mid, b"stored")

    def test_dedup_across_brokers(self):
        sid = new_id()
        d = self.identified(broker=self.broker)
        s1 = self.identified(sid, broker=self.broker)
        ch, mid = new_id(), new_id()
        self.pub_ok(s1, d.client_id, ch, mid, b"once")
        self.assert_message(d, mid, ch, sid, b"once")
        s2 = self.identified(sid, broker=self.broker2)
        self.expect_fatal(s1, "E_REPLACED")
        self.pub_ok(s2, d.client_id, ch, mid, b"once")
        self.expect_no_frame(d, 1.0)


class MultiBrokerDefaultIdTest(TwoBrokers):
    """No --broker-id: ids derived from the (bound) addresses must differ."""

    def test_direct_message_across_brokers(self):
        self.direct_message_across_brokers()

    def test_channel_message_reaches_both_brokers(self):
        self.channel_message_reaches_both_brokers(self.broker, b"both")
