"""SPEC 4: adminhttp's JSON MSG_* API against real Redis + routerd + two
brokerd + adminhttp. Every reply is compared whole.

A device's kept messages and an API client's mailbox are one store: RECV
of a device id reads what the device would get over TCP, FREE is its FIN.
"""

import json

from lib.admin import Admin, AdminTestCase, api, err, ok, request
from lib.cluster import ANDROID, IOS, wait_until
from lib.harness import FRAME_ACK, FRAME_RESPONSE, INT64_MAX, new_id, now_ms

SEND, RECV, FREE = "MSG_SEND_REQ", "MSG_RECV_REQ", "MSG_FREE_REQ"
HELO, STAT, GBYE, PUSH = "MSG_HELO_REQ", "MSG_STAT_REQ", "MSG_GBYE_REQ", "MSG_PUSH_REQ"

# request type -> (reply type, its id fields, its fields that take any value)
# SPEC 4: "daddr in HELO/RECV/FREE/STAT/GBYE is the broker id (any value is
# accepted)"; STAT's saddr names no one either, so it takes any value too.
TYPES = {
    SEND: ("MSG_SEND_ACK", ("saddr", "daddr", "id", "payload"), ()),
    RECV: ("MSG_RECV_ACK", ("saddr",), ("daddr",)),
    FREE: ("MSG_FREE_ACK", ("saddr", "id"), ("daddr",)),
    HELO: ("MSG_HELO_ACK", ("saddr",), ("daddr",)),
    STAT: ("MSG_STAT_RES", (), ("saddr", "daddr")),
    GBYE: ("MSG_GBYE_ACK", ("saddr",), ("daddr",)),
}

# values that are not an address / message id (a JSON integer > 0)
BAD_INTS = [("string", "1"), ("real", 1.5), ("real 1.0", 1.0), ("zero", 0),
            ("negative", -1), ("null", None), ("true", True), ("array", [1]),
            ("object", {"n": 1})]
BAD_PAYLOADS = [("number", 5), ("null", None), ("true", True), ("array", ["x"]),
                ("object", {"p": "x"})]


class ApiMessages(AdminTestCase):
    """HELO, SEND, RECV, FREE, GBYE, PUSH between API clients and devices."""

    def test_helo(self):
        self.assert_api({"msg_type": HELO, "saddr": new_id(), "daddr": 1}, 200,
                        ok("MSG_HELO_ACK"))
        # daddr is the broker id: any value is accepted, HELO twice is fine
        a = new_id()
        self.helo(a, daddr=INT64_MAX)
        self.helo(a, daddr=7)

    def test_send_recv_free_recv(self):
        a, b = new_id(), new_id()
        self.helo(b)
        mid = new_id()
        self.send(a, b, mid, "hello api client")
        self.assert_recv(b, a, mid, "hello api client")
        # RECV does not take the message away
        self.assert_recv(b, a, mid, "hello api client", "second RECV")
        self.free(b, mid)
        self.assert_recv_none(b, "RECV after FREE")
        self.free(b, mid, status=404)

    def test_free_unknown_id(self):
        a, b = new_id(), new_id()
        self.helo(b)
        self.free(b, new_id(), status=404)
        mid = new_id()
        self.send(a, b, mid, "kept")
        self.free(b, new_id(), status=404)
        self.assert_recv(b, a, mid, "kept", "a 404 FREE frees nothing")
        # a receiver that never said HELO holds nothing
        self.free(new_id(), mid, status=404)
        self.assert_recv_none(new_id())

    def test_order_oldest_first_and_free_out_of_order(self):
        a, b = new_id(), new_id()
        self.helo(b)
        m1, m2, m3 = new_id(), new_id(), new_id()
        self.send(a, b, m1, "first")
        self.send(a, b, m2, "second")
        self.send(a, b, m3, "third")
        self.assert_recv(b, a, m1, "first")
        self.free(b, m2)
        self.assert_recv(b, a, m1, "first", "FREE of the second keeps the first")
        self.free(b, m1)
        self.assert_recv(b, a, m3, "third", "the freed second is skipped")
        self.free(b, m2, status=404)
        self.free(b, m3)
        self.assert_recv_none(b)

    def test_same_id_from_two_senders(self):
        # FREE names only the id: the oldest message with it goes (SPEC 2.5)
        a1, a2, b = new_id(), new_id(), new_id()
        self.helo(b)
        mid = new_id()
        self.send(a1, b, mid, "from a1")
        self.send(a2, b, mid, "from a2")
        self.assert_recv(b, a1, mid, "from a1")
        self.free(b, mid)
        self.assert_recv(b, a2, mid, "from a2")
        self.free(b, mid)
        self.assert_recv_none(b)

    def test_send_unknown_daddr(self):
        before = self.quiet_stat()["messages_in"]  # counts of earlier tests come in at beats
        a, nobody = new_id(), new_id()
        self.send(a, nobody, new_id(), "to nobody", status=404)
        self.assertEqual(self.stat()["messages_in"], before, "a 404 SEND is not counted")
        # nothing was kept for it: once it says HELO, its mailbox is empty
        self.helo(nobody)
        self.assert_recv_none(nobody)

    def test_send_repeated_id_to_api_client(self):
        a, b = new_id(), new_id()
        self.helo(b)
        before = self.quiet_stat()["messages_in"]  # counts of earlier tests come in at beats
        mid = new_id()
        self.send(a, b, mid, "once")
        self.send(a, b, mid, "once")
        self.send(a, b, mid, "once")
        self.assertEqual(self.stat()["messages_in"], before + 1, "a repeated SEND is not counted")
        self.assert_recv(b, a, mid, "once")
        self.free(b, mid)
        self.assert_recv_none(b, "the repeats were not kept")

    def test_send_to_connected_device(self):
        d = self.connected(ANDROID, fin=False)
        a, mid = new_id(), new_id()
        t0 = now_ms()
        self.send(a, d.device_id, mid, "over tcp é")
        got = d.wait_messages(1)
        self.assertEqual(len(got), 1, "no Message frame within 5 s")
        m = got[0]
        self.assertEqual((m.mid, m.ch, m.frm, m.attempt, m.body),
                         (mid, 0, a, 1, "over tcp é".encode()),
                         "Message (message_id, channel_id, from, attempt, body)")
        self.assertLess(abs(m.ts - t0), 5000, "timestamp_ms %d is not near %d" % (m.ts, t0))
        # FIN finishes it: no E_FIN_FAILED, and a second FIN fails
        d.send_line("FIN %d" % mid)
        d.send_line("H")
        self.assertEqual(d.next_ctrl(), (FRAME_RESPONSE, b"H"))
        self.assertEqual(d.fin_failed, [])
        d.send_line("FIN %d" % mid)
        d.send_line("H")
        self.assertEqual(d.next_ctrl(), (FRAME_RESPONSE, b"H"))
        self.assertEqual(len(d.fin_failed), 1, "second FIN: %r" % d.fin_failed)
        self.assertTrue(d.fin_failed[0] == b"E_FIN_FAILED"
                        or d.fin_failed[0].startswith(b"E_FIN_FAILED "), d.fin_failed)
        # once finished, RECV of the device reads nothing (cursors are
        # written back within a second)
        got = wait_until(lambda: self.recv(d.device_id)[0] == 404, 2.5)
        self.assertTrue(got, "RECV of the device after FIN: %r" % (self.recv(d.device_id),))
        self.assertEqual(len(d.wait_messages(2, 1.0)), 1,
                         "one Message frame only: %r" % (d.received(),))

    def test_send_repeated_id_to_device_delivered_once(self):
        d = self.connected(ANDROID)
        a, mid = new_id(), new_id()
        for _ in range(3):
            self.send(a, d.device_id, mid, "just once")
        self.assert_got(d, [(mid, 0, a, b"just once")])

    def test_send_to_offline_device_is_kept(self):
        d = self.device(device_type=ANDROID)
        d.register()                   # known, never connected
        a, m1, m2 = new_id(), new_id(), new_id()
        self.send(a, d.device_id, m1, "kept one")
        self.send(a, d.device_id, m2, "kept two")
        # what RECV reads for a device is what it would get over TCP
        self.assert_recv(d.device_id, a, m1, "kept one")
        self.free(d.device_id, m1)     # FREE is its FIN
        self.assert_recv(d.device_id, a, m2, "kept two")
        d.connect()
        self.assert_got(d, [(m2, 0, a, b"kept two")])

    def test_recv_kept_ios_message_base64(self):
        ios = self.device(device_type=IOS)
        ios.register()
        self.assertIsNone(ios.broker, "iOS devices get no broker")
        mid = self.put_ok(3, b"\xff\x00ab", device_id=ios.device_id)
        self.assertEqual(self.recv(ios.device_id),
                         (200, ok("MSG_RECV_ACK", saddr=0, daddr=ios.device_id, id=mid,
                                  payload_base64="/wBhYg==")))
        self.free(ios.device_id, mid)
        self.assert_recv_none(ios.device_id)

    def test_recv_kept_ios_message_utf8(self):
        ios = self.device(device_type=IOS)
        ios.register()
        mid = self.put_ok(3, "ünïcödé ✓".encode(), device_id=ios.device_id)
        self.assert_recv(ios.device_id, 0, mid, "ünïcödé ✓")
        a, mid2 = new_id(), new_id()
        self.send(a, ios.device_id, mid2, "from an api client")
        self.free(ios.device_id, mid)
        self.assert_recv(ios.device_id, a, mid2, "from an api client")

    def test_gbye(self):
        a, b = new_id(), new_id()
        self.helo(b)
        base = self.quiet_stat()["messages_pending"]
        m1 = new_id()
        self.send(a, b, m1, "dropped on GBYE")
        self.assertEqual(self.stat()["messages_pending"], base + 1)
        self.gbye(b)
        self.assertEqual(self.stat()["messages_pending"], base, "GBYE drops what was kept")
        self.send(a, b, new_id(), "after GBYE", status=404)
        self.helo(b)
        self.assert_recv_none(b, "kept messages are gone after GBYE")
        # and it works again after the new HELO
        m2 = new_id()
        self.send(a, b, m2, "welcome back")
        self.assert_recv(b, a, m2, "welcome back")

    def test_replies_are_json(self):
        for body, status in ((b'{"msg_type":"MSG_HELO_REQ","saddr":5,"daddr":1}', 200),
                             (b'{"msg_type":"MSG_HELO_REQ"}', 400), (b"nope", 400),
                             (b'{"msg_type":"MSG_PUSH_REQ"}', 501)):
            with self.subTest(body=body):
                st, headers, data = request(self.port, "POST", "/api", body=body)
                self.assertEqual(st, status, data)
                self.assertTrue(headers.get("content-type", "").startswith("application/json"),
                                headers)
                self.assertEqual(json.loads(data)["code"], status, data)

    def test_push_not_implemented(self):
        for req in ({"msg_type": PUSH},
                    {"msg_type": PUSH, "saddr": 1, "daddr": 2, "id": 3, "payload": "x"}):
            with self.subTest(req=req):
                self.assert_api(req, 501, err(501, "MSG_PUSH_ACK"))


class ApiStat(AdminTestCase):
    """MSG_STAT_REQ's counters against what the tests did."""

    def test_stat_reply(self):
        st, rep = self.api({"msg_type": STAT, "saddr": new_id(), "daddr": 1})
        self.assertEqual(st, 200)
        self.assertEqual(set(rep), {"code", "status", "msg_type", "payload"}, rep)
        self.assertEqual({k: rep[k] for k in ("code", "status", "msg_type")},
                         {"code": 200, "status": "OK", "msg_type": "MSG_STAT_RES"})
        self.stat()   # payload keys and types

    def test_brokers_and_connections(self):
        self.wait_stat({"brokers": 2, "connections": 0})
        devs = self.cluster.spread_devices(3)
        self.wait_stat({"brokers": 2, "connections": len(devs)}, settle=1.2)
        devs[0].close()
        self.wait_stat({"connections": len(devs) - 1})
        self.cluster.close_devices()
        self.wait_stat({"connections": 0})

    def test_devices_counts_identified(self):
        before = self.stat()["devices"]
        d1 = self.connected(ANDROID)
        self.connected(ANDROID)
        self.wait_stat({"devices": before + 2})
        d1.close()
        d1.connect()                    # the same device again
        self.wait_stat({"devices": before + 2}, settle=0.5)

    def test_messages_in(self):
        ch = new_id()
        sub = self.connected(ANDROID, subs=[ch])
        other = self.connected(ANDROID)
        b = new_id()
        self.helo(b)
        before = self.quiet_stat()["messages_in"]  # counts of earlier tests come in at beats
        accepted = 0
        a, mid = new_id(), new_id()
        self.send(a, b, mid, "api")                            # accepted
        accepted += 1
        self.send(a, b, mid, "api")                            # repeat: not counted
        self.send(a, new_id(), new_id(), "nobody", status=404)  # refused
        put_mid = self.put_ok(ch, b"put")                      # accepted
        accepted += 1
        st, rep = self.cluster.put(new_id(), b"no subscribers")
        self.assertEqual(st, 404, rep)                         # refused
        pmid = new_id()
        self.assertEqual(other.pub(sub.device_id, ch, pmid, b"pub"),
                         (FRAME_ACK, ("ACK 1 %d %d" % (pmid, sub.device_id)).encode()))
        accepted += 1
        nmid = new_id()
        self.assertEqual(other.pub(0, new_id(), nmid, b"nobody there"),
                         (FRAME_ACK, ("ACK 0 %d 0" % nmid).encode()))     # refused
        # 3 accepted (SEND, /put, PUB), 4 refused or repeated; the PUB is
        # counted at its broker's next heartbeat, and nothing more after it
        self.wait_stat({"messages_in": before + accepted}, timeout=10.0, settle=1.5)
        self.assert_got(sub, [(put_mid, ch, 0, b"put"), (pmid, ch, other.device_id, b"pub")],
                        quiet=0)

    def test_messages_out(self):
        ch = new_id()
        d1 = self.connected(ANDROID, subs=[ch])
        d2 = self.connected(ANDROID, subs=[ch])
        before = self.quiet_stat()["messages_out"]
        a, mid = new_id(), new_id()
        self.send(a, d1.device_id, mid, "direct")          # 1 frame
        pmid = self.put_ok(ch, b"to both")                  # 2 frames
        self.assert_got(d1, [(mid, 0, a, b"direct"), (pmid, ch, 0, b"to both")], quiet=0)
        self.assert_got(d2, [(pmid, ch, 0, b"to both")], quiet=0)
        self.wait_stat({"messages_out": before + 3}, timeout=3.0, settle=1.2)

    def test_messages_pending_api_client(self):
        b, a = new_id(), new_id()
        self.helo(b)
        base = self.quiet_stat()["messages_pending"]
        m1, m2 = new_id(), new_id()
        self.send(a, b, m1, "one")
        self.send(a, b, m2, "two")
        self.assertEqual(self.stat()["messages_pending"], base + 2)
        self.free(b, m1)
        self.assertEqual(self.stat()["messages_pending"], base + 1)
        self.free(b, m2)
        self.assertEqual(self.stat()["messages_pending"], base)

    def test_messages_pending_unfinished_delivery(self):
        d = self.connected(ANDROID, fin=False)
        base = self.quiet_stat()["messages_pending"]
        a, mid = new_id(), new_id()
        self.send(a, d.device_id, mid, "not finished yet")
        self.assertEqual(len(d.wait_messages(1)), 1)
        self.wait_stat({"messages_pending": base + 1}, settle=1.2)
        d.send_line("FIN %d" % mid)
        self.wait_stat({"messages_pending": base}, settle=1.2)

    def test_messages_pending_offline_device(self):
        # SPEC 4: messages_pending counts "messages kept for offline
        # receivers" too, not only API clients' mailboxes
        d = self.device(device_type=ANDROID)
        d.register()
        base = self.quiet_stat()["messages_pending"]
        a, mid = new_id(), new_id()
        self.send(a, d.device_id, mid, "kept for an offline device")
        self.assertEqual(self.stat()["messages_pending"], base + 1,
                         "a message kept for an offline device")
        self.free(d.device_id, mid)
        self.assertEqual(self.stat()["messages_pending"], base)


class ApiErrors(AdminTestCase):
    """Every error of SPEC 4, and that none of them changes anything."""

    def setUp(self):
        super().setUp()
        self.rcv = new_id()      # an API client with an empty mailbox
        self.helo(self.rcv)

    def assert_unchanged(self, in_before, what):
        self.assertEqual(self.stat()["messages_in"], in_before, "%s: messages_in moved" % what)
        self.assert_recv_none(self.rcv, "%s: something was kept" % what)

    def test_not_a_json_object(self):
        before = self.quiet_stat()["messages_in"]  # counts of earlier tests come in at beats
        bodies = [("empty", b""), ("not json", b"not json"), ("array", b"[1,2]"),
                  ("array of a request",
                   b'[{"msg_type":"MSG_HELO_REQ","saddr":1,"daddr":1}]'),
                  ("string", b'"MSG_HELO_REQ"'), ("number", b"5"), ("null", b"null"),
                  ("true", b"true"),
                  ("truncated", b'{"msg_type":"MSG_SEND_REQ","saddr":1,"daddr":%d'
                   % self.rcv),
                  ("trailing garbage",
                   b'{"msg_type":"MSG_SEND_REQ","saddr":1,"daddr":%d,"id":%d,'
                   b'"payload":"x"} x' % (self.rcv, new_id())),
                  ("two objects",
                   b'{"msg_type":"MSG_SEND_REQ","saddr":1,"daddr":%d,"id":%d,'
                   b'"payload":"x"}{}' % (self.rcv, new_id())),
                  ("invalid utf-8",
                   b'{"msg_type":"MSG_SEND_REQ","saddr":1,"daddr":%d,"id":%d,'
                   b'"payload":"\xff"}' % (self.rcv, new_id()))]
        for what, body in bodies:
            with self.subTest(what):
                self.assertEqual(self.api(body), (400, err(400, None)), "body %r" % body)
        self.assert_unchanged(before, "bodies that are not a JSON object")

    def test_msg_type_missing_or_unknown(self):
        before = self.quiet_stat()["messages_in"]  # counts of earlier tests come in at beats
        base = {"saddr": 1, "daddr": self.rcv, "id": new_id(), "payload": "x"}
        for what, mt in [("unknown", "MSG_NOPE_REQ"), ("lower case", "msg_send_req"),
                         ("reply type", "MSG_SEND_ACK"), ("empty", ""),
                         ("with a space", "MSG_SEND_REQ "), ("reply number", 2),
                         ("number past the table", 15), ("zero", 0), ("negative", -1),
                         ("real", 1.0), ("numeric string", "1"), ("null", None),
                         ("array", ["MSG_SEND_REQ"]), ("STAT_ACK of the seed", "MSG_STAT_ACK")]:
            with self.subTest(what):
                self.assertEqual(self.api(dict(base, msg_type=mt)), (400, err(400, None)),
                                 "msg_type %r" % (mt,))
        with self.subTest("missing"):
            self.assertEqual(self.api(base), (400, err(400, None)))
        with self.subTest("empty object"):
            self.assertEqual(self.api({}), (400, err(400, None)))
        self.assert_unchanged(before, "unknown msg_type")

    def test_numeric_msg_type(self):
        """The seed's numbers for the types (MSG_SEND_REQ = 1 ... MSG_GBYE_ACK =
        14): the reply's msg_type is then the reply's number."""
        a = new_id()
        self.assertEqual(self.api({"msg_type": 9, "saddr": a, "daddr": 1}),
                         (200, ok(10)), "HELO as 9")
        mid = new_id()
        self.assertEqual(self.api({"msg_type": 1, "saddr": new_id(), "daddr": a, "id": mid,
                                   "payload": "numbered"}), (200, ok(2)), "SEND as 1")
        got = self.api({"msg_type": 3, "saddr": a, "daddr": 1})
        self.assertEqual((got[0], got[1]["msg_type"], got[1]["id"], got[1]["payload"]),
                         (200, 4, mid, "numbered"), "RECV as 3")
        self.assertEqual(self.api({"msg_type": 5, "saddr": a, "daddr": 1, "id": mid}),
                         (200, ok(6)), "FREE as 5")
        self.assertEqual(self.api({"msg_type": 3, "saddr": a, "daddr": 1}), (404, err(404, 4)),
                         "RECV as 3 after FREE")
        self.assertEqual(self.api({"msg_type": 7}), (501, err(501, 8)), "PUSH as 7")
        got = self.api({"msg_type": 11, "saddr": 0, "daddr": 0})
        self.assertEqual((got[0], got[1]["msg_type"]), (200, 12), "STAT as 11")
        self.assertEqual(self.api({"msg_type": 1, "daddr": a, "id": new_id(), "payload": "x"}),
                         (400, err(400, 2)), "SEND as 1 without saddr")
        self.assertEqual(self.api({"msg_type": 13, "saddr": a, "daddr": 1}), (200, ok(14)),
                         "GBYE as 13")

    def _good(self, mtype):
        return {"msg_type": mtype, "saddr": self.rcv if mtype != SEND else new_id(),
                "daddr": self.rcv if mtype == SEND else 1, "id": new_id(), "payload": "x"}

    def test_missing_or_mistyped_fields(self):
        before = self.quiet_stat()["messages_in"]  # counts of earlier tests come in at beats
        for mtype, (reply, fields, any_fields) in TYPES.items():
            for field in fields + any_fields:
                cases = [("missing", None)]
                if field not in any_fields:
                    cases += BAD_PAYLOADS if field == "payload" else BAD_INTS
                for what, value in cases:
                    req = self._good(mtype)
                    if what == "missing":
                        del req[field]
                    else:
                        req[field] = value
                    with self.subTest(mtype=mtype, field=field, value=what):
                        self.assertEqual(self.api(req), (400, err(400, reply)),
                                         "request %r" % (req,))
        self.assert_unchanged(before, "mistyped fields")

    def test_broker_id_fields_take_any_value(self):
        a, mid = new_id(), new_id()
        self.send(a, self.rcv, mid, "kept")
        for what, value in BAD_INTS + [("huge", 2**64), ("text", "broker-1")]:
            with self.subTest(daddr=what):
                self.assert_api({"msg_type": HELO, "saddr": self.rcv, "daddr": value},
                                200, ok("MSG_HELO_ACK"))
                self.assertEqual(
                    self.api({"msg_type": RECV, "saddr": self.rcv, "daddr": value}),
                    (200, ok("MSG_RECV_ACK", saddr=a, daddr=self.rcv, id=mid,
                             payload="kept")))
                st, rep = self.api({"msg_type": STAT, "saddr": value, "daddr": value})
                self.assertEqual((st, rep.get("msg_type")), (200, "MSG_STAT_RES"), rep)
        self.assert_api({"msg_type": FREE, "saddr": self.rcv, "daddr": "x", "id": mid},
                        200, ok("MSG_FREE_ACK"))
        self.assert_recv_none(self.rcv)
        other = new_id()
        self.helo(other)
        self.assert_api({"msg_type": GBYE, "saddr": other, "daddr": None},
                        200, ok("MSG_GBYE_ACK"))
        self.send(a, other, new_id(), "gone", status=404)

    def test_ids_beyond_int64(self):
        # valid JSON numbers, but not ids (SPEC 1: never silently truncated)
        before = self.quiet_stat()["messages_in"]  # counts of earlier tests come in at beats
        for field in ("saddr", "daddr", "id"):
            for value in (2**63, 2**64 + 1, -2**63 - 1):
                req = self._good(SEND)
                req[field] = value
                with self.subTest(field=field, value=value):
                    self.assertEqual(self.api(req), (400, err(400, "MSG_SEND_ACK")),
                                     "request %r" % (req,))
        self.assert_unchanged(before, "ids beyond int64")

    def test_largest_ids_are_valid(self):
        a = INT64_MAX
        self.send(a, self.rcv, INT64_MAX, "max ids")
        self.assert_recv(self.rcv, a, INT64_MAX, "max ids")
        self.free(self.rcv, INT64_MAX)
        self.assert_recv_none(self.rcv)

    def test_empty_payload(self):
        before = self.quiet_stat()["messages_in"]  # counts of earlier tests come in at beats
        self.send(new_id(), self.rcv, new_id(), "", status=400)
        self.assert_unchanged(before, "empty payload")

    def test_errors_change_nothing_for_free_gbye_helo(self):
        a, mid = new_id(), new_id()
        self.send(a, self.rcv, mid, "kept")
        # a FREE with a bad field frees nothing
        for req in ({"msg_type": FREE, "saddr": self.rcv, "daddr": 1, "id": str(mid)},
                    {"msg_type": FREE, "saddr": str(self.rcv), "daddr": 1, "id": mid},
                    {"msg_type": FREE, "saddr": self.rcv, "daddr": 1}):
            self.assertEqual(self.api(req), (400, err(400, "MSG_FREE_ACK")), req)
        self.assert_recv(self.rcv, a, mid, "kept", "after bad FREEs")
        # a bad GBYE drops nothing and forgets nobody
        for req in ({"msg_type": GBYE, "saddr": str(self.rcv), "daddr": 1},
                    {"msg_type": GBYE, "saddr": self.rcv}):
            self.assertEqual(self.api(req), (400, err(400, "MSG_GBYE_ACK")), req)
        self.assert_recv(self.rcv, a, mid, "kept", "after bad GBYEs")
        m2 = new_id()
        self.send(a, self.rcv, m2, "still known")
        # a bad HELO announces nobody
        c = new_id()
        for req in ({"msg_type": HELO, "saddr": str(c), "daddr": 1},
                    {"msg_type": HELO, "saddr": 0, "daddr": 1},
                    {"msg_type": HELO, "saddr": c}):
            self.assertEqual(self.api(req), (400, err(400, "MSG_HELO_ACK")), req)
        self.send(a, c, new_id(), "to nobody", status=404)

    def test_methods_other_than_post(self):
        for method in ("GET", "PUT", "DELETE"):
            with self.subTest(method=method):
                self.assertEqual(api(self.port, {"msg_type": HELO, "saddr": 1, "daddr": 1},
                                     method=method),
                                 (405, err(405, None)))

    def test_payload_over_max_msg_size(self):
        """A second adminhttp on the same Redis with --max-msg-size 16."""
        small = Admin(self.cluster.redis.port, "--max-msg-size", "16",
                      label="%s.max16" % type(self).__name__)
        try:
            self.assertTrue(small.wait_ready(), small.log_tail())
            before = self.quiet_stat()["messages_in"]  # counts of earlier tests come in at beats
            a = new_id()

            def send(mid, payload):
                return api(small.port, {"msg_type": SEND, "saddr": a, "daddr": self.rcv,
                                        "id": mid, "payload": payload})
            m16, m17 = new_id(), new_id()
            self.assertEqual(send(m17, "x" * 17), (413, err(413, "MSG_SEND_ACK")))
            # the limit is in bytes: 8 two-byte characters fit, 8 and a half do not
            self.assertEqual(send(new_id(), "é" * 8 + "x"), (413, err(413, "MSG_SEND_ACK")))
            self.assertEqual(self.stat()["messages_in"], before, "413 changes nothing")
            self.assert_recv_none(self.rcv, "413 keeps nothing")
            self.assertEqual(send(m16, "é" * 8), (200, ok("MSG_SEND_ACK")))
            self.assert_recv(self.rcv, a, m16, "é" * 8)
            self.free(self.rcv, m16)
            self.assertEqual(send(new_id(), "y" * 16), (200, ok("MSG_SEND_ACK")))
        finally:
            small.stop()
