"""SPEC 2.2 SUB / UNSUB."""

from lib.harness import BrokerTestCase, INT64_MAX, new_id

BAD_CHANNELS = ["0", "-1", "01", "abc", str(2**63), "+5", "0x10", "1.0", "5a",
                "99999999999999999999", "-0", "١٢"]


class SubTest(BrokerTestCase):

    def test_sub_ok(self):
        c = self.identified()
        self.sub(c, new_id())
        self.expect_alive(c)

    def test_sub_is_idempotent(self):
        c = self.identified()
        ch = new_id()
        self.sub(c, ch)
        self.sub(c, ch)
        self.sub(c, ch)
        # and it is still one subscription: a channel message arrives once
        s = self.identified()
        mid = new_id()
        self.pub_ok(s, 0, ch, mid, b"once")
        self.assert_message(c, mid, ch, s.client_id, b"once")
        self.expect_no_frame(c, 0.5)

    def test_unsub_ok_and_idempotent(self):
        c = self.identified()
        ch = new_id()
        self.sub(c, ch)
        self.unsub(c, ch)
        self.unsub(c, ch)

    def test_unsub_never_subscribed_is_ok(self):
        c = self.identified()
        self.unsub(c, new_id())

    def test_sub_many_channels(self):
        c = self.identified()
        for _ in range(50):
            self.sub(c, new_id())

    def test_int64_max_channel(self):
        c = self.identified()
        self.sub(c, INT64_MAX)
        self.unsub(c, INT64_MAX)

    def test_before_identify(self):
        c = self.connect()
        for verb in ("SUB", "UNSUB"):
            with self.subTest(verb=verb):
                self.expect_refused(c, "%s %d" % (verb, new_id()), "E_INVALID_CLIENT")

    def test_bad_channel(self):
        c = self.identified()
        for verb in ("SUB", "UNSUB"):
            for ch in BAD_CHANNELS:
                with self.subTest(verb=verb, channel=ch):
                    self.expect_refused(c, "%s %s" % (verb, ch), "E_BAD_CHANNEL")

    def test_bad_channel_with_nul_byte(self):
        # No C-string truncation: "5\0" is not the channel 5.
        c = self.identified()
        self.expect_refused(c, b"SUB 5\x00", "E_BAD_CHANNEL")

    def test_wrong_word_count(self):
        c = self.identified()
        for line in ("SUB", "UNSUB", "SUB 1 2", "UNSUB 1 2", "SUB 1 2 3"):
            with self.subTest(line=line):
                self.expect_refused(c, line, "E_INVALID")

    def test_bad_spacing(self):
        c = self.identified()
        for line in ("SUB  5", "SUB 5 ", " SUB 5", "SUB\t5", "UNSUB  5"):
            with self.subTest(line=line):
                self.expect_refused(c, line, "E_INVALID")

    def test_crlf(self):
        c = self.identified()
        c.send_line("SUB %d" % new_id(), eol=b"\r\n")
        self.expect_ok(c)
        c.send_line("UNSUB %d" % new_id(), eol=b"\r\n")
        self.expect_ok(c)

    def test_unsub_stops_channel_messages(self):
        ch = new_id()
        a = self.subscribed(ch)
        b = self.subscribed(ch)
        s = self.identified()
        mid = new_id()
        self.pub_ok(s, 0, ch, mid, b"both")
        self.assert_message(a, mid, ch, s.client_id, b"both")
        self.assert_message(b, mid, ch, s.client_id, b"both")
        self.unsub(b, ch)
        mid2 = new_id()
        self.pub_ok(s, 0, ch, mid2, b"only a")
        self.assert_message(a, mid2, ch, s.client_id, b"only a")
        self.expect_no_frame(b, 1.0)

    def test_unsub_last_subscriber_leaves_no_subscribers(self):
        ch = new_id()
        a = self.subscribed(ch)
        self.unsub(a, ch)
        s = self.identified()
        mid = new_id()
        s.send_with_body("PUB 0 %d %d" % (ch, mid), b"nobody")
        self.expect_ack(s, False, mid, 0)
        self.expect_no_frame(a, 0.5)
