"""SPEC 2.2 FIN (errors and the silent success) with the default msg_timeout."""

from lib.harness import BrokerTestCase, new_id


class FinTest(BrokerTestCase):

    def deliver(self, d, s=None, body=b"m"):
        s = s or self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, body)
        self.assert_message(d, mid, ch, s.client_id, body)
        return mid

    def test_fin_answers_nothing(self):
        d = self.identified()
        mid = self.deliver(d)
        d.send_line("FIN %d" % mid)
        # The next frame must be the H's answer, nothing for the FIN.
        self.expect_alive(d)

    def test_fin_twice(self):
        d = self.identified()
        mid = self.deliver(d)
        self.fin(d, mid)
        self.expect_refused(d, "FIN %d" % mid, "E_FIN_FAILED")

    def test_fin_unknown_id(self):
        d = self.identified()
        self.expect_refused(d, "FIN %d" % new_id(), "E_FIN_FAILED")

    def test_fin_of_another_devices_message(self):
        d1 = self.identified()
        d2 = self.identified()
        mid = self.deliver(d1)
        self.expect_refused(d2, "FIN %d" % mid, "E_FIN_FAILED")
        self.fin(d1, mid)

    def test_fin_channel_message(self):
        ch = new_id()
        a = self.subscribed(ch)
        b = self.subscribed(ch)
        s = self.identified()
        mid = new_id()
        self.pub_ok(s, 0, ch, mid, b"c")
        self.assert_message(a, mid, ch, s.client_id, b"c")
        self.assert_message(b, mid, ch, s.client_id, b"c")
        # each subscriber finishes its own copy
        self.fin(a, mid)
        self.fin(b, mid)
        a.send_line("FIN %d" % mid)
        self.expect_error(a, "E_FIN_FAILED")

    def test_fin_before_identify(self):
        c = self.connect()
        self.expect_refused(c, "FIN %d" % new_id(), "E_INVALID_CLIENT")

    def test_fin_malformed(self):
        d = self.identified()
        for arg in ("0", "-1", "01", "abc", str(2**63), "+1", "1.0"):
            with self.subTest(message_id=arg):
                self.expect_refused(d, "FIN %s" % arg, "E_INVALID")

    def test_fin_wrong_word_count(self):
        d = self.identified()
        mid = self.deliver(d)
        for line in ("FIN", "FIN %d %d" % (mid, mid), "FIN  %d" % mid):
            with self.subTest(line=line):
                self.expect_refused(d, line, "E_INVALID")
        # the message is still pending: a proper FIN works
        self.fin(d, mid)

    def test_fin_crlf(self):
        d = self.identified()
        mid = self.deliver(d)
        d.send_line("FIN %d" % mid, eol=b"\r\n")
        self.expect_alive(d)
        d.send_line("FIN %d" % mid)
        self.expect_error(d, "E_FIN_FAILED")

    def test_fins_in_one_packet(self):
        # A burst of FINs in one write, a bad one in the middle: each plain
        # FIN finishes its message, the bad ones get their errors in line
        # order, and the ones after them still count.
        d = self.identified()
        s = self.identified()
        mids = [self.deliver(d, s, b"m%d" % i) for i in range(5)]
        unknown = new_id()
        d.send_raw(b"FIN %d\nFIN %d\nFIN %d\nFIN 01\nFIN %d\r\nFIN %d\nFIN %d\n"
                   % (mids[0], mids[1], unknown, mids[2], mids[3], mids[4]))
        self.expect_error(d, "E_FIN_FAILED")
        self.expect_error(d, "E_INVALID")
        self.expect_alive(d)
        for m in mids:
            with self.subTest(message_id=m):
                self.expect_refused(d, "FIN %d" % m, "E_FIN_FAILED")
