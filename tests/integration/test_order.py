"""SPEC 2.2 "When several things are wrong": unknown command, then word
count, then not identified, then the fields from left to right; a PUB or
IDENTIFY line always has its body read; an oversized body is fatal whatever
else was wrong."""

import struct

from lib.harness import BrokerTestCase, new_id


class OrderChecks:
    """For a test case whose new_client() gives a fresh connection."""

    def check(self, line, error, body=None):
        """line (and body, if any) on a new connection: Error `error`, not
        fatal."""
        self.expect_refused(self.new_client(), line, error, body)

    def check_oversized_fatal(self, line):
        """line with a 2 GiB body size on a new connection: Error frames
        only, the last E_BAD_MESSAGE, then EOF."""
        c = self.new_client()
        c.send_raw(line + struct.pack(">I", 2**31))
        frames = c.read_frames_until_closed()
        self.assertTrue(frames, "closed without an Error frame")
        self.assertTrue(all(f[0] == 1 for f in frames), frames)
        self.assertTrue(frames[-1][1] == b"E_BAD_MESSAGE"
                        or frames[-1][1].startswith(b"E_BAD_MESSAGE "), frames)


class OrderBeforeIdentifyTest(OrderChecks, BrokerTestCase):

    def new_client(self):
        return self.connect()

    def test_unknown_command_first(self):
        self.check("FOO 1 2 3", "E_INVALID")
        self.check("SUBX abc", "E_INVALID")

    def test_word_count_before_identified(self):
        self.check("SUB", "E_INVALID")
        self.check("SUB 1 2", "E_INVALID")
        self.check("UNSUB", "E_INVALID")
        self.check("FIN", "E_INVALID")
        self.check("FIN 1 2", "E_INVALID")
        self.check("PUB 1 2", "E_INVALID", body=b"x")
        self.check("PUB 1 2 3 4", "E_INVALID", body=b"x")

    def test_identified_before_fields(self):
        self.check("SUB abc", "E_INVALID_CLIENT")
        self.check("SUB 0", "E_INVALID_CLIENT")
        self.check("UNSUB -1", "E_INVALID_CLIENT")
        self.check("FIN abc", "E_INVALID_CLIENT")
        self.check("FIN 0", "E_INVALID_CLIENT")
        self.check("PUB x y z", "E_INVALID_CLIENT", body=b"x")
        self.check("PUB 1 0 1", "E_INVALID_CLIENT", body=b"x")

    def test_empty_body_before_identify(self):
        self.check("PUB 1 2 3", "E_INVALID_CLIENT", body=b"")

    def test_heartbeat_and_cls_need_no_identify(self):
        c = self.connect()
        self.expect_alive(c)
        self.expect_refused(c, "CLS x", "E_INVALID")

    def test_oversized_body_before_identify_is_fatal(self):
        self.check_oversized_fatal(b"PUB x y z\n")


class OrderIdentifiedTest(OrderChecks, BrokerTestCase):

    def new_client(self):
        return self.identified()

    def test_pub_fields_left_to_right(self):
        self.check("PUB x abc y", "E_INVALID", body=b"x")        # client_id first
        self.check("PUB -1 0 0", "E_INVALID", body=b"x")
        self.check("PUB 5 abc y", "E_BAD_CHANNEL", body=b"x")    # then channel_id
        self.check("PUB 0 0 0", "E_BAD_CHANNEL", body=b"x")
        self.check("PUB 5 7 y", "E_INVALID", body=b"x")          # then message_id

    def test_field_errors_before_empty_body(self):
        # the empty body is an ACK 0 only for an otherwise valid PUB
        self.check("PUB 5 abc 1", "E_BAD_CHANNEL", body=b"")
        self.check("PUB x 5 1", "E_INVALID", body=b"")

    def test_word_count_before_fields(self):
        self.check("PUB x y", "E_INVALID", body=b"x")
        self.check("SUB abc def", "E_INVALID")

    def test_refused_pub_does_not_route(self):
        d = self.identified()
        self.check("PUB %d 0 %d" % (d.client_id, new_id()), "E_BAD_CHANNEL", body=b"x")
        self.check("PUB %d %d 0" % (d.client_id, new_id()), "E_INVALID", body=b"x")
        self.expect_no_frame(d, 0.5)

    def test_oversized_body_on_refused_line_is_fatal(self):
        self.check_oversized_fatal(b"PUB 5 abc y\n")
