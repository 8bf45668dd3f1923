"""SPEC 2.2 CLS."""

from lib.harness import BrokerTestCase, new_id


class ClsTest(BrokerTestCase):

    def test_cls_identified(self):
        c = self.identified()
        c.send_line("CLS")
        self.expect_response(c, b"CLOSE_WAIT")
        c.expect_closed()

    def test_cls_before_identify(self):
        c = self.connect()
        c.send_line("CLS")
        self.expect_response(c, b"CLOSE_WAIT")
        c.expect_closed()

    def test_cls_crlf(self):
        c = self.identified()
        c.send_line("CLS", eol=b"\r\n")
        self.expect_response(c, b"CLOSE_WAIT")
        c.expect_closed()

    def test_cls_flushes_earlier_replies(self):
        c = self.identified()
        ch = new_id()
        c.send_raw(b"H\nSUB %d\nH\nCLS\n" % ch)
        self.expect_response(c, b"H")
        self.expect_ok(c)
        self.expect_response(c, b"H")
        self.expect_response(c, b"CLOSE_WAIT")
        c.expect_closed()

    def test_cls_with_arguments_is_not_fatal(self):
        c = self.identified()
        for line in ("CLS x", "CLS 1", "CLS 1 2"):
            with self.subTest(line=line):
                self.expect_refused(c, line, "E_INVALID")
        c.send_line("CLS")
        self.expect_response(c, b"CLOSE_WAIT")
        c.expect_closed()
