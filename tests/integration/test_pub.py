"""SPEC 2.2 PUB, 2.3 Message frames, 2.5 de-duplication."""

import struct

from lib.harness import (BrokerTestCase, DEFAULT_MAX_MSG_SIZE, FRAME_ACK,
                         INT64_MAX, fmt_frame, new_id, now_ms)

BAD_IDS = ["-1", "01", "abc", str(2**63), "+5", "0x10", "1.0", "99999999999999999999", "-0"]


class PubDirectTest(BrokerTestCase):

    def test_direct_message_exact_fields(self):
        d = self.identified()
        s = self.identified()
        ch, mid = new_id(), new_id()
        before = now_ms()
        self.pub_ok(s, d.client_id, ch, mid, b"hello device")
        after = now_ms()
        mid_got, ch_got, frm, ts, attempt, body = self.expect_message(d)
        self.assertEqual(mid_got, mid)
        self.assertEqual(ch_got, ch)
        self.assertEqual(frm, s.client_id)
        self.assertEqual(attempt, 1)
        self.assertEqual(body, b"hello device")
        self.assertGreaterEqual(ts, before - 2000)
        self.assertLessEqual(ts, after + 2000)
        # the sender got only its Ack
        self.expect_no_frame(s, 0.3)

    def test_ack_text_is_exact(self):
        d = self.identified()
        s = self.identified()
        mid = new_id()
        s.send_with_body("PUB %d %d %d" % (d.client_id, new_id(), mid), b"x")
        self.assertEqual(s.read_frame(),
                         (FRAME_ACK, b"ACK 1 %d %d" % (mid, d.client_id)))

    def test_binary_body_is_exact(self):
        d = self.identified()
        s = self.identified()
        body = bytes(range(256)) + b"\n\r\n\x00PUB 1 2 3\n" + bytes(range(255, -1, -1))
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, body)
        self.assert_message(d, mid, ch, s.client_id, body)

    def test_int64_max_ids(self):
        d = self.identified(INT64_MAX)
        s = self.identified()
        self.pub_ok(s, INT64_MAX, INT64_MAX, INT64_MAX, b"max")
        self.assert_message(d, INT64_MAX, INT64_MAX, s.client_id, b"max", ts_near=now_ms())

    def test_send_to_self(self):
        c = self.identified()
        self.pub_self_ok(c, new_id(), new_id(), b"me")

    def test_max_size_body_default_limit(self):
        d = self.identified()
        s = self.identified()
        body = bytes([i % 251 for i in range(DEFAULT_MAX_MSG_SIZE)])
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, body)
        self.assert_message(d, mid, ch, s.client_id, body)

    def test_body_over_default_limit_is_fatal(self):
        d = self.identified()
        s = self.identified()
        s.send_with_body("PUB %d %d %d" % (d.client_id, new_id(), new_id()),
                         b"y" * (DEFAULT_MAX_MSG_SIZE + 1))
        self.expect_fatal(s, "E_BAD_MESSAGE")
        self.expect_no_frame(d, 0.3)

    def test_many_messages_in_a_pipeline(self):
        d = self.identified()
        s = self.identified()
        ch = new_id()
        mids = [new_id() for _ in range(100)]
        s.send_raw(b"".join(b"PUB %d %d %d\n" % (d.client_id, ch, m)
                            + struct.pack(">I", 4) + b"%04d" % i
                            for i, m in enumerate(mids)))
        for m in mids:
            self.expect_ack(s, True, m, d.client_id)
        got = {}
        for _ in mids:
            mid, ch_got, frm, _ts, att, body = self.expect_message(d)
            self.assertEqual((ch_got, frm, att), (ch, s.client_id, 1))
            got[mid] = body
        self.assertEqual(got, {m: b"%04d" % i for i, m in enumerate(mids)})


class PubAck0Test(BrokerTestCase):

    def test_empty_body(self):
        d = self.identified()
        s = self.identified()
        mid = new_id()
        s.send_with_body("PUB %d %d %d" % (d.client_id, new_id(), mid), b"")
        self.expect_ack(s, False, mid, d.client_id)
        self.expect_alive(s)
        self.expect_no_frame(d, 0.3)

    def test_empty_body_to_channel(self):
        ch = new_id()
        a = self.subscribed(ch)
        s = self.identified()
        mid = new_id()
        s.send_with_body("PUB 0 %d %d" % (ch, mid), b"")
        self.expect_ack(s, False, mid, 0)
        self.expect_no_frame(a, 0.3)

    def test_unknown_device(self):
        s = self.identified()
        for target in (new_id(), INT64_MAX - 7):
            with self.subTest(target=target):
                mid = new_id()
                s.send_with_body("PUB %d %d %d" % (target, new_id(), mid), b"x")
                self.expect_ack(s, False, mid, target)
        self.expect_alive(s)

    def test_channel_without_subscribers(self):
        s = self.identified()
        mid = new_id()
        s.send_with_body("PUB 0 %d %d" % (new_id(), mid), b"x")
        self.expect_ack(s, False, mid, 0)
        self.expect_alive(s)


class PubChannelTest(BrokerTestCase):

    def test_channel_reaches_every_subscriber_including_sender(self):
        ch = new_id()
        subs = [self.subscribed(ch) for _ in range(3)]
        s = self.subscribed(ch)
        other = self.subscribed(new_id())   # subscribed elsewhere: nothing
        mid = new_id()
        before = now_ms()
        s.send_with_body("PUB 0 %d %d" % (ch, mid), b"to all")
        frames = [s.read_frame(), s.read_frame()]
        self.assertIn((FRAME_ACK, b"ACK 1 %d 0" % mid), frames, [fmt_frame(f) for f in frames])
        own = [f for f in frames if f[0] == 2]
        self.assertEqual(len(own), 1, frames)
        self.assertEqual(s.parse_message(own[0][1])[:3], (mid, ch, s.client_id))
        for c in subs:
            self.assert_message(c, mid, ch, s.client_id, b"to all", ts_near=before)
        self.expect_no_frame(other, 0.5)
        for c in subs:
            self.expect_no_frame(c, 0.0)

    def test_sender_not_subscribed_gets_only_ack(self):
        ch = new_id()
        a = self.subscribed(ch)
        s = self.identified()
        mid = new_id()
        self.pub_ok(s, 0, ch, mid, b"x")
        self.assert_message(a, mid, ch, s.client_id, b"x")
        self.expect_no_frame(s, 0.5)

    def test_direct_send_tagged_with_channel_ignores_subscriptions(self):
        # client_id > 0: only that device, whether or not it is subscribed.
        ch = new_id()
        a = self.subscribed(ch)
        d = self.identified()
        s = self.identified()
        mid = new_id()
        self.pub_ok(s, d.client_id, ch, mid, b"only d")
        self.assert_message(d, mid, ch, s.client_id, b"only d")
        self.expect_no_frame(a, 0.5)

    def test_mixed_messages_arrive_in_the_order_they_were_published(self):
        # Channel messages read from Redis together are written as a batch;
        # a direct message among them must still come after the earlier
        # ones and before the later ones.
        ch1, ch2 = new_id(), new_id()
        d = self.subscribed(ch1)
        self.sub(d, ch2)
        e = self.subscribed(ch1)
        s = self.identified()
        sent = []   # (message_id, channel_id, to d only)
        for i in range(90):
            sent.append((new_id(), ch1 if i % 3 != 1 else ch2, i % 3 == 2))
        s.send_raw(b"".join(b"PUB %d %d %d\n" % (d.client_id if direct else 0, ch, mid)
                            + struct.pack(">I", 3) + b"%03d" % i
                            for i, (mid, ch, direct) in enumerate(sent)))
        for mid, _ch, direct in sent:
            self.expect_ack(s, True, mid, d.client_id if direct else 0)
        got_d = [self.expect_message(d)[:2] for _ in sent]
        self.assertEqual(got_d, [(mid, ch) for mid, ch, _ in sent])
        want_e = [(mid, ch) for mid, ch, direct in sent if ch == ch1 and not direct]
        got_e = [self.expect_message(e)[:2] for _ in want_e]
        self.assertEqual(got_e, want_e)
        self.expect_no_frame(e, 0.3)


class PubErrorsTest(BrokerTestCase):

    def test_before_identify_body_is_dropped(self):
        d = self.identified()
        c = self.connect()
        # If the body were parsed as commands, "XX" would answer E_INVALID
        # and "CLS" would close the connection.
        self.expect_refused(c, "PUB %d %d %d" % (d.client_id, new_id(), new_id()),
                            "E_INVALID_CLIENT", body=b"XX\nCLS\n")
        self.expect_no_frame(d, 0.3)

    def test_before_identify_then_identify_works(self):
        c = self.connect()
        c.send_with_body("PUB 0 %d %d" % (new_id(), new_id()), b"x")
        self.expect_error(c, "E_INVALID_CLIENT")
        self.assertEqual(c.identify(new_id()), (0, b"OK"))

    def test_bad_channel(self):
        d = self.identified()
        s = self.identified()
        for target in (d.client_id, 0):
            for ch in ["0"] + BAD_IDS:
                with self.subTest(client_id=target, channel=ch):
                    self.expect_refused(s, "PUB %d %s %d" % (target, ch, new_id()),
                                        "E_BAD_CHANNEL", body=b"H\n")
        self.expect_no_frame(d, 0.3)

    def test_malformed_client_id(self):
        s = self.identified()
        for cid in BAD_IDS:
            with self.subTest(client_id=cid):
                self.expect_refused(s, "PUB %s %d %d" % (cid, new_id(), new_id()), "E_INVALID",
                                    body=b"H\n")

    def test_malformed_message_id(self):
        d = self.identified()
        s = self.identified()
        for mid in ["0"] + BAD_IDS:
            with self.subTest(message_id=mid):
                self.expect_refused(s, "PUB %d %d %s" % (d.client_id, new_id(), mid),
                                    "E_INVALID", body=b"H\n")
        self.expect_no_frame(d, 0.3)

    def test_wrong_word_count_body_still_read(self):
        s = self.identified()
        for line in ("PUB", "PUB 1", "PUB 1 2", "PUB 1 2 3 4", "PUB  1 2 3", "PUB 1 2 3 "):
            with self.subTest(line=line):
                self.expect_refused(s, line, "E_INVALID", body=b"H\nCLS\n")

    def test_wrong_word_count_before_identify_body_still_read(self):
        c = self.connect()
        self.expect_refused(c, "PUB 1 2", "E_INVALID", body=b"CLS\n")

    def test_body_split_from_line(self):
        # the line, then the size, then the body in separate writes
        import time
        d = self.identified()
        s = self.identified()
        ch, mid = new_id(), new_id()
        s.send_line("PUB %d %d %d" % (d.client_id, ch, mid))
        time.sleep(0.1)
        s.send_raw(b"\x00\x00")
        time.sleep(0.1)
        s.send_raw(b"\x00\x05ab")
        time.sleep(0.1)
        s.send_raw(b"cde")
        self.expect_ack(s, True, mid, d.client_id)
        self.assert_message(d, mid, ch, s.client_id, b"abcde")


class PubMaxSizeTest(BrokerTestCase):
    broker_args = ("--max-msg-size", "1000")

    def test_limit_reported_by_feature_negotiation(self):
        import json
        c = self.connect()
        ftype, data = c.identify(new_id(), feature_negotiation=True)
        self.assertEqual(ftype, 0, data)
        self.assertEqual(json.loads(data)["max_msg_size"], 1000)

    def test_body_at_limit_is_accepted(self):
        d = self.identified()
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, b"z" * 1000)
        self.assert_message(d, mid, ch, s.client_id, b"z" * 1000)

    def test_body_over_limit_is_fatal(self):
        d = self.identified()
        s = self.identified()
        s.send_with_body("PUB %d %d %d" % (d.client_id, new_id(), new_id()), b"z" * 1001)
        self.expect_fatal(s, "E_BAD_MESSAGE")
        self.expect_no_frame(d, 0.3)

    def test_size_alone_decides(self):
        # The broker must not wait for the body before refusing its size.
        s = self.identified()
        s.send_raw(b"PUB %d %d %d\n" % (new_id(), new_id(), new_id())
                   + struct.pack(">I", 1001))
        self.expect_fatal(s, "E_BAD_MESSAGE")

    def test_over_limit_is_fatal_whatever_else_is_wrong(self):
        cases = {
            "not identified": (False, b"PUB 0 %d %d" % (new_id(), new_id())),
            "wrong word count": (True, b"PUB 1 2"),
            "bad channel": (True, b"PUB 0 abc 1"),
            "bad client id": (True, b"PUB x 1 1"),
        }
        for what, (ident, line) in cases.items():
            with self.subTest(case=what):
                c = self.identified() if ident else self.connect()
                c.send_raw(line + b"\n" + struct.pack(">I", 1001) + b"q" * 1001)
                frames = c.read_frames_until_closed()
                self.assertTrue(frames, "closed without an Error frame")
                self.assertTrue(all(f[0] == 1 for f in frames), frames)
                last = frames[-1][1]
                self.assertTrue(last == b"E_BAD_MESSAGE" or last.startswith(b"E_BAD_MESSAGE "),
                                "last frame %s" % fmt_frame(frames[-1]))


class PubDedupTest(BrokerTestCase):

    def test_repeat_same_ack_not_delivered_twice(self):
        d = self.identified()
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, b"once")
        self.assert_message(d, mid, ch, s.client_id, b"once")
        self.pub_ok(s, d.client_id, ch, mid, b"once")
        self.pub_ok(s, d.client_id, ch, mid, b"once")
        self.expect_no_frame(d, 1.0)

    def test_repeat_after_fin_not_delivered(self):
        d = self.identified()
        s = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, b"once")
        self.assert_message(d, mid, ch, s.client_id, b"once")
        self.fin(d, mid)
        self.pub_ok(s, d.client_id, ch, mid, b"once")
        self.expect_no_frame(d, 1.0)

    def test_repeat_from_another_connection_of_the_same_sender(self):
        d = self.identified()
        sid = new_id()
        s1 = self.identified(sid)
        ch, mid = new_id(), new_id()
        self.pub_ok(s1, d.client_id, ch, mid, b"once")
        self.assert_message(d, mid, ch, sid, b"once")
        s1.send_line("CLS")
        self.expect_response(s1, b"CLOSE_WAIT")
        s2 = self.identified(sid)
        self.pub_ok(s2, d.client_id, ch, mid, b"once")
        self.expect_no_frame(d, 1.0)

    def test_channel_repeat_not_delivered_twice(self):
        ch = new_id()
        a = self.subscribed(ch)
        s = self.identified()
        mid = new_id()
        self.pub_ok(s, 0, ch, mid, b"c")
        self.assert_message(a, mid, ch, s.client_id, b"c")
        self.pub_ok(s, 0, ch, mid, b"c")
        self.expect_no_frame(a, 1.0)

    def test_same_message_id_from_other_sender_is_another_message(self):
        d = self.identified()
        s1 = self.identified()
        s2 = self.identified()
        ch, mid = new_id(), new_id()
        self.pub_ok(s1, d.client_id, ch, mid, b"from 1")
        self.assert_message(d, mid, ch, s1.client_id, b"from 1")
        self.pub_ok(s2, d.client_id, ch, mid, b"from 2")
        self.assert_message(d, mid, ch, s2.client_id, b"from 2")


class PubPipelineTest(BrokerTestCase):
    """PUBs sent without waiting for their Acks (brokerd keeps several in
    flight): every reply still comes back in the order of the commands."""

    def test_replies_keep_their_order(self):
        d = self.identified()
        s = self.identified()
        ch, m1, m2, m3 = new_id(), new_id(), new_id(), new_id()
        frame = lambda line, body: line.encode() + b"\n" + struct.pack(">I", len(body)) + body
        s.send_raw(frame("PUB %d %d %d" % (d.client_id, ch, m1), b"one")
                   + frame("PUB x %d %d" % (ch, m2), b"refused line")
                   + frame("PUB %d %d %d" % (d.client_id, ch, m2), b"")
                   + frame("PUB %d %d %d" % (d.client_id, ch, m3), b"three")
                   + b"H\n")
        self.assertEqual(s.read_frame(), (FRAME_ACK, b"ACK 1 %d %d" % (m1, d.client_id)))
        ftype, data = s.read_frame()
        self.assertEqual((ftype, data.split(b" ")[0]), (1, b"E_INVALID"), fmt_frame((ftype, data)))
        self.assertEqual(s.read_frame(), (FRAME_ACK, b"ACK 0 %d %d" % (m2, d.client_id)))
        self.assertEqual(s.read_frame(), (FRAME_ACK, b"ACK 1 %d %d" % (m3, d.client_id)))
        self.assertEqual(s.read_frame(), (0, b"H"))
        got = [self.expect_message(d)[0] for _ in range(2)]
        self.assertEqual(got, [m1, m3])

    def test_fatal_error_comes_after_earlier_acks(self):
        d = self.identified()
        s = self.identified()
        ch, m1 = new_id(), new_id()
        s.send_raw(b"PUB %d %d %d\n" % (d.client_id, ch, m1) + struct.pack(">I", 3) + b"one"
                   + b"PUB %d %d %d\n" % (d.client_id, ch, new_id())
                   + struct.pack(">I", DEFAULT_MAX_MSG_SIZE + 1))
        self.assertEqual(s.read_frame(), (FRAME_ACK, b"ACK 1 %d %d" % (m1, d.client_id)))
        self.expect_fatal(s, "E_BAD_MESSAGE")
