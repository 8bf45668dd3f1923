"""SPEC 2.1: the 4-byte magic "  V1"."""

import time

from lib.harness import BrokerTestCase, new_id


class MagicTest(BrokerTestCase):

    def test_good_magic_then_heartbeat(self):
        c = self.connect()
        self.expect_alive(c)

    def test_magic_and_command_in_one_write(self):
        c = self.connect(magic=False)
        c.send_raw(b"  V1H\n")
        self.expect_response(c, b"H")

    def test_magic_split_across_writes(self):
        c = self.connect(magic=False)
        for b in b"  V1":
            c.send_raw(bytes([b]))
            time.sleep(0.05)
        self.expect_alive(c)

    def test_magic_then_identify(self):
        c = self.connect()
        self.assertEqual(c.identify(new_id()), (0, b"OK"))

    def test_bad_magic_is_fatal(self):
        for bad in (b"XXXX", b"  V2", b"  v1", b" V1 ", b"V1  ", b"\x00\x00\x00\x00"):
            with self.subTest(magic=bad):
                c = self.connect(magic=False)
                c.send_raw(bad)
                self.expect_fatal(c, "E_BAD_PROTOCOL")

    def test_command_without_magic_is_fatal(self):
        c = self.connect(magic=False)
        c.send_raw(b"H\nH\nH\n")
        self.expect_fatal(c, "E_BAD_PROTOCOL")

    def test_identify_without_magic_is_fatal(self):
        c = self.connect(magic=False)
        c.send_with_body("IDENTIFY", b'{"client_id":%d}' % new_id())
        self.expect_fatal(c, "E_BAD_PROTOCOL")

    def test_bad_first_byte_decides_without_waiting(self):
        # SPEC 2.1 "Anything else": one wrong byte is already not the magic;
        # the broker may answer at once or after 4 bytes. Send 4 bytes so
        # both designs must answer.
        c = self.connect(magic=False)
        c.send_raw(b"G")
        time.sleep(0.1)
        c.send_raw(b"ET ")
        self.expect_fatal(c, "E_BAD_PROTOCOL")

    def test_magic_twice_is_not_a_command(self):
        # After the magic everything is commands: a second "  V1" line is a
        # line with a leading space -> E_INVALID, not fatal.
        c = self.connect()
        c.send_raw(b"  V1\n")
        self.expect_error(c, "E_INVALID")
        self.expect_alive(c)
