"""SPEC 2.2: lines, words, H, empty lines, unknown commands, line length."""

import time

from lib.harness import BrokerTestCase, MAX_LINE, new_id


class LinesTest(BrokerTestCase):

    def test_heartbeat_before_and_after_identify(self):
        c = self.connect()
        self.expect_alive(c)
        self.assertEqual(c.identify(new_id()), (0, b"OK"))
        self.expect_alive(c)

    def test_heartbeat_with_argument_is_e_invalid(self):
        c = self.connect()
        self.expect_refused(c, "H x", "E_INVALID")

    def test_empty_lines_are_ignored(self):
        c = self.connect()
        c.send_raw(b"\n\n\r\n\nH\n")
        self.expect_response(c, b"H")
        self.expect_no_frame(c, 0.3)

    def test_empty_lines_after_identify(self):
        c = self.identified()
        c.send_raw(b"\n\r\n")
        c.send_line("SUB %d" % new_id())
        self.expect_ok(c)
        self.expect_no_frame(c, 0.3)

    def test_crlf_line_endings(self):
        c = self.connect()
        c.send_raw(b"H\r\nH\r\n")
        self.expect_response(c, b"H")
        self.expect_response(c, b"H")
        c.send_with_body("IDENTIFY", b'{"client_id":%d}' % new_id(), eol=b"\r\n")
        self.expect_ok(c)
        c.send_line("SUB %d" % new_id(), eol=b"\r\n")
        self.expect_ok(c)

    def test_unknown_command_not_fatal(self):
        c = self.connect()
        for line in (b"FOO", b"FOO 1 2", b"HH", b"PUBLISH 1 2 3", b"SUBSCRIBE 5",
                     b"NOP", b"\x00", b"\xff\xfe", b"H\x00"):
            with self.subTest(line=line):
                self.expect_refused(c, line, "E_INVALID")

    def test_unknown_command_after_identify(self):
        c = self.identified()
        self.expect_refused(c, "GET /", "E_INVALID")

    def test_double_space_is_e_invalid(self):
        c = self.identified()
        for line in ("SUB  5", "FIN  5", "CLS ", " H", "H "):
            with self.subTest(line=line):
                self.expect_refused(c, line, "E_INVALID")

    def test_line_of_1024_bytes_is_not_fatal(self):
        c = self.connect()
        self.expect_refused(c, b"X" * MAX_LINE, "E_INVALID")

    def test_line_of_1024_bytes_with_crlf_is_not_fatal(self):
        c = self.connect()
        self.expect_refused(c, b"X" * MAX_LINE, "E_INVALID", eol=b"\r\n")

    def test_long_valid_command_line(self):
        # a SUB line padded to exactly 1024 bytes is still just parsed
        c = self.identified()
        line = b"SUB " + b"1" * (MAX_LINE - 4)
        self.assertEqual(len(line), MAX_LINE)
        self.expect_refused(c, line, "E_BAD_CHANNEL")

    def test_1025_bytes_without_newline_is_fatal(self):
        c = self.connect()
        c.send_raw(b"X" * (MAX_LINE + 1))
        # no newline is ever sent
        self.expect_fatal(c, "E_INVALID")

    def test_1025_bytes_without_newline_after_identify(self):
        c = self.identified()
        c.send_raw(b"Y" * 600)
        time.sleep(0.1)
        c.send_raw(b"Y" * (MAX_LINE + 1 - 600))
        self.expect_fatal(c, "E_INVALID")

    def test_1025_bytes_with_newline_is_fatal(self):
        c = self.connect()
        c.send_raw(b"X" * (MAX_LINE + 1) + b"\n")
        self.expect_fatal(c, "E_INVALID")

    def test_1024_bytes_without_newline_waits(self):
        c = self.connect()
        c.send_raw(b"X" * MAX_LINE)
        self.expect_no_frame(c, 0.5)
        c.send_raw(b"\n")
        self.expect_error(c, "E_INVALID")
        self.expect_alive(c)

    def test_1024_bytes_then_cr_waits_for_the_newline(self):
        # 1024 bytes and a "\r" may still be a 1024-byte line ending in \r\n
        c = self.connect()
        c.send_raw(b"X" * MAX_LINE + b"\r")
        self.expect_no_frame(c, 0.5)
        c.send_raw(b"\n")
        self.expect_error(c, "E_INVALID")
        self.expect_alive(c)

    def test_only_one_cr_is_stripped(self):
        c = self.connect()
        c.send_raw(b"H\r\r\n")
        self.expect_error(c, "E_INVALID")
        self.expect_alive(c)

    def test_pipelined_commands_answer_in_order(self):
        c = self.identified()
        chans = [new_id() for _ in range(20)]
        c.send_raw(b"".join(b"SUB %d\nH\n" % ch for ch in chans) + b"FOO\nUNSUB 0\nH\n")
        for _ in chans:
            self.expect_ok(c)
            self.expect_response(c, b"H")
        self.expect_error(c, "E_INVALID")
        self.expect_error(c, "E_BAD_CHANNEL")
        self.expect_response(c, b"H")

    def test_byte_by_byte(self):
        c = self.connect()
        body = b'{"client_id":%d}' % new_id()
        data = b"IDENTIFY\n" + len(body).to_bytes(4, "big") + body + b"SUB %d\r\nH\n" % new_id()
        for i in range(len(data)):
            c.send_raw(data[i:i + 1])
        self.expect_ok(c)
        self.expect_ok(c)
        self.expect_response(c, b"H")
