"""SPEC 2.2 IDENTIFY: body fields, feature negotiation, E_BAD_BODY cases."""

import json

from lib.harness import (BrokerTestCase, FRAME_RESPONSE, INT64_MAX,
                         DEFAULT_HEARTBEAT, DEFAULT_MAX_MSG_SIZE,
                         MAX_IDENTIFY_BODY, fmt_frame, new_id)


class IdentifyTest(BrokerTestCase):

    def identify_raw(self, body):
        c = self.connect()
        if isinstance(body, str):
            body = body.encode()
        c.send_with_body("IDENTIFY", body)
        return c

    def assert_bad_body(self, body):
        c = self.identify_raw(body)
        self.expect_fatal(c, "E_BAD_BODY")

    # -- success
    def test_minimal_identify_is_ok(self):
        c = self.connect()
        self.assertEqual(c.identify(new_id()), (FRAME_RESPONSE, b"OK"))
        self.expect_alive(c)

    def test_identify_with_heartbeat_interval(self):
        for hb in (1, 30, 3600):
            with self.subTest(heartbeat_interval=hb):
                c = self.connect()
                self.assertEqual(c.identify(new_id(), heartbeat_interval=hb),
                                 (FRAME_RESPONSE, b"OK"))
                self.expect_alive(c)
                c.close()

    def test_feature_negotiation_false_is_ok(self):
        c = self.connect()
        self.assertEqual(c.identify(new_id(), feature_negotiation=False),
                         (FRAME_RESPONSE, b"OK"))

    def test_feature_negotiation_reply(self):
        cid = new_id()
        c = self.connect()
        ftype, data = c.identify(cid, feature_negotiation=True)
        self.assertEqual(ftype, FRAME_RESPONSE, fmt_frame((ftype, data)))
        reply = json.loads(data)
        self.assertIsInstance(reply, dict)
        for key in ("client_id", "heartbeat_interval", "max_msg_size", "broker"):
            self.assertIn(key, reply)
        self.assertEqual(reply["client_id"], cid)
        self.assertEqual(reply["heartbeat_interval"], DEFAULT_HEARTBEAT)
        self.assertEqual(reply["max_msg_size"], DEFAULT_MAX_MSG_SIZE)
        self.assertIsInstance(reply["broker"], str)
        self.assertTrue(reply["broker"])
        self.expect_alive(c)

    def test_feature_negotiation_reports_requested_heartbeat(self):
        c = self.connect()
        ftype, data = c.identify(new_id(), heartbeat_interval=42, feature_negotiation=True)
        self.assertEqual(ftype, FRAME_RESPONSE, fmt_frame((ftype, data)))
        self.assertEqual(json.loads(data)["heartbeat_interval"], 42)

    def test_feature_negotiation_int64_max_client_id(self):
        c = self.connect()
        ftype, data = c.identify(INT64_MAX, feature_negotiation=True)
        self.assertEqual(ftype, FRAME_RESPONSE, fmt_frame((ftype, data)))
        # The id must come back exactly, not through a double.
        self.assertIn(b"%d" % INT64_MAX, data)
        self.assertEqual(json.loads(data)["client_id"], INT64_MAX)

    def test_client_id_int64_max_is_valid(self):
        c = self.connect()
        self.assertEqual(c.identify(INT64_MAX - 1), (FRAME_RESPONSE, b"OK"))

    def test_body_of_exactly_4096_bytes_is_accepted(self):
        body = b'{"client_id":%d}' % new_id()
        body = body + b" " * (MAX_IDENTIFY_BODY - len(body))
        self.assertEqual(len(body), MAX_IDENTIFY_BODY)
        c = self.identify_raw(body)
        self.expect_ok(c)

    def test_crlf_identify_line(self):
        c = self.connect()
        c.send_with_body("IDENTIFY", b'{"client_id":%d}' % new_id(), eol=b"\r\n")
        self.expect_ok(c)

    def test_body_split_across_writes(self):
        import time
        c = self.connect()
        body = b'{"client_id":%d,"heartbeat_interval":60}' % new_id()
        raw = b"IDENTIFY\n" + len(body).to_bytes(4, "big") + body
        for i in range(0, len(raw), 3):
            c.send_raw(raw[i:i + 3])
            time.sleep(0.01)
        self.expect_ok(c)

    # -- E_BAD_BODY (fatal)
    def test_body_over_4096_bytes(self):
        body = b'{"client_id":%d}' % new_id()
        body = body + b" " * (MAX_IDENTIFY_BODY + 1 - len(body))
        self.assertEqual(len(body), MAX_IDENTIFY_BODY + 1)
        self.assert_bad_body(body)

    def test_huge_body_size_without_body(self):
        # The size alone decides; the broker must not wait for 1 MiB.
        c = self.connect()
        c.send_raw(b"IDENTIFY\n" + (1 << 20).to_bytes(4, "big"))
        self.expect_fatal(c, "E_BAD_BODY")

    def test_not_json(self):
        for body in (b"hello", b"{", b'{"client_id":1', b"", b"client_id=5",
                     b'{"client_id":5}garbage'):
            with self.subTest(body=body):
                self.assert_bad_body(body)

    def test_not_a_json_object(self):
        for body in (b"[1]", b'[{"client_id":5}]', b"5", b'"x"', b"null", b"true"):
            with self.subTest(body=body):
                self.assert_bad_body(body)

    def test_client_id_missing(self):
        self.assert_bad_body(b"{}")
        self.assert_bad_body(b'{"heartbeat_interval":30}')

    def test_client_id_invalid_values(self):
        for value in (b"0", b"-1", b"-9223372036854775808", b'"5"', b'"abc"',
                      b"1.5", b"null", b"true", b"[5]", b'{"id":5}',
                      b"9223372036854775808", b"18446744073709551616",
                      b"99999999999999999999999"):
            with self.subTest(client_id=value):
                self.assert_bad_body(b'{"client_id":' + value + b"}")

    def test_client_id_float_with_integral_value(self):
        # "in JSON, integers only" (2.6) and "never silently truncated" (1).
        for value in (b"5.0", b"1e3"):
            with self.subTest(client_id=value):
                self.assert_bad_body(b'{"client_id":' + value + b"}")

    def test_heartbeat_interval_invalid_values(self):
        cid = new_id()
        for value in (b"0", b"3601", b"-1", b'"30"', b"1.5", b"30.0", b"null",
                      b"true", b"99999999999999999999"):
            with self.subTest(heartbeat_interval=value):
                self.assert_bad_body(b'{"client_id":%d,"heartbeat_interval":%s}'
                                     % (cid, value))

    def test_token_wrong_type(self):
        self.assert_bad_body(b'{"client_id":%d,"token":123}' % new_id())

    def test_feature_negotiation_wrong_type(self):
        self.assert_bad_body(b'{"client_id":%d,"feature_negotiation":"yes"}' % new_id())
        self.assert_bad_body(b'{"client_id":%d,"feature_negotiation":1}' % new_id())

    def test_bad_body_leaves_client_unknown(self):
        # A refused IDENTIFY does not make the device known: PUB to it is ACK 0.
        cid = new_id()
        self.assert_bad_body(b'{"client_id":%d,"heartbeat_interval":0}' % cid)
        s = self.identified()
        mid = new_id()
        s.send_with_body("PUB %d %d %d" % (cid, new_id(), mid), b"x")
        self.expect_ack(s, False, mid, cid)

    # -- already identified (E_INVALID, not fatal)
    def test_identify_twice(self):
        cid = new_id()
        c = self.identified(cid)
        self.expect_refused(c, "IDENTIFY", "E_INVALID", body=b'{"client_id":%d}' % cid)

    def test_identify_twice_with_other_id_keeps_the_first(self):
        cid, other = new_id(), new_id()
        c = self.identified(cid)
        self.expect_refused(c, "IDENTIFY", "E_INVALID", body=b'{"client_id":%d}' % other)
        # Messages to the first id still arrive here.
        s = self.identified()
        mid, ch = new_id(), new_id()
        self.pub_ok(s, cid, ch, mid, b"still me")
        self.assert_message(c, mid, ch, s.client_id, b"still me")
        # The other id never identified: unknown.
        mid2 = new_id()
        s.send_with_body("PUB %d %d %d" % (other, ch, mid2), b"x")
        self.expect_ack(s, False, mid2, other)

    def test_identify_twice_with_bad_body_is_still_e_invalid(self):
        # The line is refused (already identified), so its body is read and
        # dropped unparsed (2.2): E_INVALID, not E_BAD_BODY, not fatal.
        c = self.identified()
        self.expect_refused(c, "IDENTIFY", "E_INVALID", body=b"not json")

    def test_identify_twice_with_oversized_body_is_fatal(self):
        # "a size over the limit is fatal whatever else was wrong"
        c = self.identified()
        c.send_raw(b"IDENTIFY\n" + (MAX_IDENTIFY_BODY + 1).to_bytes(4, "big")
                   + b" " * (MAX_IDENTIFY_BODY + 1))
        frames = c.read_frames_until_closed()
        self.assertTrue(frames and all(f[0] == 1 for f in frames), frames)
        last = frames[-1][1]
        self.assertTrue(last == b"E_BAD_BODY" or last.startswith(b"E_BAD_BODY "), frames)

    def test_identify_with_arguments_is_e_invalid_and_body_dropped(self):
        c = self.connect()
        self.expect_refused(c, "IDENTIFY %d" % new_id(), "E_INVALID", body=b"H\nH\n")
        # still not identified
        c.send_line("SUB %d" % new_id())
        self.expect_error(c, "E_INVALID_CLIENT")
        # and can identify now
        self.assertEqual(c.identify(new_id()), (FRAME_RESPONSE, b"OK"))
