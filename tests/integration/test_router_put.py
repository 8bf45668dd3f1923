"""SPEC 3 POST /put against a real routerd + brokerd + Redis: every reply
code, then delivery end to end (fan-out over brokers, the device_type
filter, device_id sends, offline delivery, ttl), and device PUB across
brokers (SPEC 2.2/2.5).

A refused /put must not deliver anything ("nothing is half-written"):
the code tests keep a subscriber on the channel and check it got nothing.
"""

import time

from lib.cluster import (ANDROID, BROWSER, CHANNEL_ID_ERR, ClusterTestCase,
                         DEVICE_TYPE_ERR, IOS, METHOD_ERR, MSG_EMPTY, MSG_TOO_LONG, NO_SUB_ERR,
                         OK, PARAM_ERR, PC)
from lib.harness import FRAME_ACK, INT64_MAX, fmt_frame, new_id, now_ms


class PutCodes(ClusterTestCase):
    n_brokers = 2

    def setUp(self):
        super().setUp()
        self.ch = new_id()
        self.sub = self.connected(ANDROID, subs=[self.ch])

    def put(self, body=b"x", method="POST", **params):
        return self.cluster.put(params.pop("channel_id", self.ch), body, method=method,
                                **params)

    def test_ok_and_ids_increase(self):
        mids = []
        for i in range(5):
            data = self.assert_reply(self.put(b"m%d" % i), 200, OK, "put %d" % i)
            self.assertEqual(set(data), {"message_id"}, "data %r" % (data,))
            mids.append(data["message_id"])
        self.assertTrue(all(isinstance(m, int) and 0 < m <= INT64_MAX for m in mids), mids)
        self.assertEqual(mids, sorted(set(mids)), "message ids must increase: %r" % mids)
        self.assert_got(self.sub, [(m, self.ch, 0, b"m%d" % i) for i, m in enumerate(mids)])

    def test_channel_id_err(self):
        bad = {"missing": None, "0": "0", "abc": "abc", "01": "01", "-5": "-5",
               "2^63": str(2**63), "2^64+1": str(2**64 + 1), "empty": "", "+5": "+5",
               "1e3": "1e3", " 5": " 5", "0x10": "0x10"}
        for what, v in bad.items():
            q = {} if v is None else {"channel_id": v}
            with self.subTest(what):
                self.assert_reply(self.cluster.put_raw(q), 400, CHANNEL_ID_ERR,
                                  "channel_id %s" % what)
        # the largest id is valid (nobody subscribed to it)
        self.assert_reply(self.cluster.put(INT64_MAX, b"x"), 404, NO_SUB_ERR,
                          "channel_id 2^63-1")
        self.assert_nothing(self.sub)

    def test_device_type_err(self):
        for v in ("7", "abc", "01", "-1", "", "+3", "3.0", str(2**64 + 3)):
            with self.subTest(device_type=v):
                self.assert_reply(self.put(device_type=v), 400, DEVICE_TYPE_ERR,
                                  "device_type %r" % v)
        self.assert_nothing(self.sub)

    def test_device_id_param_err(self):
        for what, v in (("0", "0"), ("abc", "abc"), ("-1", "-1"), ("01", "01"),
                        ("empty", ""), ("2^63", str(2**63)),
                        ("unknown id", str(new_id() + 10**12)), ("2^63-1 unknown", str(INT64_MAX))):
            with self.subTest(device_id=what):
                self.assert_reply(self.put(device_id=v), 400, PARAM_ERR, "device_id %s" % what)
        self.assert_nothing(self.sub)

    def test_ttl_param_err(self):
        for v in ("0", "2592001", "", "abc", "01", "-1", "1.5", str(2**64)):
            with self.subTest(ttl=v):
                self.assert_reply(self.put(ttl=v), 400, PARAM_ERR, "ttl %r" % v)
        self.assert_nothing(self.sub)
        want = []
        for v in ("1", "2592000", "604800"):
            with self.subTest(ttl=v):
                body = b"ttl " + v.encode()
                want.append((self.put_ok(self.ch, body, ttl=v), self.ch, 0, body))
        self.assert_got(self.sub, want)

    def test_msg_empty(self):
        self.assert_reply(self.put(b""), 400, MSG_EMPTY, "empty body")
        d = self.connected(PC)
        self.assert_reply(self.put(b"", device_id=d.device_id), 400, MSG_EMPTY,
                          "empty body, direct")
        self.assert_nothing(self.sub, 0.5)
        self.assert_nothing(d, 0.5)

    def test_msg_too_long_default_limit(self):
        self.assert_reply(self.put(b"L" * 65537), 413, MSG_TOO_LONG, "65537 bytes")
        self.assert_nothing(self.sub, 0.5)
        body = bytes(range(256)) * 256  # 65536 bytes, every byte value
        mid = self.put_ok(self.ch, body)
        self.assert_got(self.sub, [(mid, self.ch, 0, body)])

    def test_no_sub(self):
        self.assert_reply(self.put(channel_id=new_id()), 404, NO_SUB_ERR,
                          "channel nobody subscribed to")
        # filter with no matching subscriber (the subscriber is Android)
        for t in ("1", "2", "4", "5", "6"):
            with self.subTest(device_type=t):
                self.assert_reply(self.put(device_type=t), 404, NO_SUB_ERR,
                                  "device_type %s, only an Android subscriber" % t)
        # device_id of another type than the filter
        self.assert_reply(self.put(device_id=self.sub.device_id, device_type="2"), 404,
                          NO_SUB_ERR, "Android device_id with filter PC")
        ios = self.device(device_type=IOS)
        ios.register()
        self.assert_reply(self.put(device_id=ios.device_id, device_type="3"), 404,
                          NO_SUB_ERR, "iOS device_id with filter Android")
        self.assert_nothing(self.sub)
        # a channel whose only subscriber left
        ch2 = new_id()
        d = self.connected(PC, subs=[ch2])
        d.unsub(ch2)
        self.assert_reply(self.put(channel_id=ch2), 404, NO_SUB_ERR, "after UNSUB")

    def test_method_err(self):
        for m in ("GET", "PUT", "DELETE"):
            with self.subTest(m):
                self.assert_reply(self.put(method=m), 405, METHOD_ERR, "%s /put" % m)
        self.assert_nothing(self.sub)


class PutMaxMsgSize(ClusterTestCase):
    n_brokers = 1
    router_args = ("--max-msg-size", "100")

    def test_limit_100(self):
        ch = new_id()
        d = self.connected(ANDROID, subs=[ch])
        self.assert_reply(self.cluster.put(ch, b"a" * 101), 413, MSG_TOO_LONG, "101 bytes")
        self.assert_reply(self.cluster.put(ch, b"a" * 101, device_id=d.device_id), 413,
                          MSG_TOO_LONG, "101 bytes, direct")
        self.assert_nothing(d, 0.5)
        body = b"b" * 100
        mid = self.put_ok(ch, body)
        self.assert_got(d, [(mid, ch, 0, body)])


class PutDelivery(ClusterTestCase):
    n_brokers = 2

    def test_fanout_across_brokers(self):
        ch = new_id()
        devs = self.cluster.spread_devices(4, subs=[ch])
        body = b"fan\x00out \xff\n%d" % new_id()
        t0 = now_ms()
        mid = self.put_ok(ch, body)
        for d in devs:
            got = self.assert_got(d, [(mid, ch, 0, body)], quiet=0)
            self.assertLess(abs(got[0].ts - t0), 5000, "timestamp_ms %d vs %d" % (got[0].ts, t0))
        time.sleep(0.5)
        for d in devs:
            self.assertEqual(d.take(), [], "device %d got more" % d.device_id)

    def test_device_type_filter(self):
        ch = new_id()
        a = self.connected(ANDROID, subs=[ch])
        p = self.connected(PC, subs=[ch])
        w = self.connected(BROWSER, subs=[ch])
        m1 = self.put_ok(ch, b"android only", device_type=3)
        self.assert_got(a, [(m1, ch, 0, b"android only")])
        self.assert_nothing(p, 0)
        self.assert_nothing(w, 0)
        m2 = self.put_ok(ch, b"pc only", device_type=2)
        self.assert_got(p, [(m2, ch, 0, b"pc only")])
        self.assert_nothing(a, 0)
        self.assert_nothing(w, 0)
        m3 = self.put_ok(ch, b"everyone", device_type=0)
        m4 = self.put_ok(ch, b"everyone too")  # default filter 0
        for d in (a, p, w):
            self.assert_got(d, [(m3, ch, 0, b"everyone"), (m4, ch, 0, b"everyone too")],
                            quiet=0.3)
        self.assert_reply(self.cluster.put(ch, b"x", device_type=6), 404, NO_SUB_ERR,
                          "filter Other, no such subscriber")

    def test_device_id_direct(self):
        ch = new_id()
        devs = self.cluster.spread_devices(2, subs=[ch])
        x, y = devs[0], devs[1]
        z = self.connected(ANDROID)   # not subscribed to anything
        mid = self.put_ok(ch, b"to z", device_id=z.device_id)
        self.assert_got(z, [(mid, ch, 0, b"to z")])
        for d in devs:
            self.assert_nothing(d, 0)
        mid = self.put_ok(ch, b"to x", device_id=x.device_id)
        self.assert_got(x, [(mid, ch, 0, b"to x")])
        self.assert_nothing(y, 0)
        self.assert_nothing(z, 0)
        # the filter applies: matching type is fine
        mid = self.put_ok(ch, b"to z typed", device_id=z.device_id, device_type=3)
        self.assert_got(z, [(mid, ch, 0, b"to z typed")])
        # a channel nobody subscribed to: a direct send still goes
        ch2 = new_id()
        mid = self.put_ok(ch2, b"lonely channel", device_id=y.device_id)
        self.assert_got(y, [(mid, ch2, 0, b"lonely channel")])
        self.assert_nothing(x, 0)

    def test_direct_to_ios_is_kept(self):
        ios = self.device(device_type=IOS)
        ios.register()
        self.put_ok(new_id(), b"for the admin API", device_id=ios.device_id)

    def test_offline_delivery(self):
        ch = new_id()
        d = self.connected(ANDROID, subs=[ch])
        d.cls()
        m1 = self.put_ok(ch, b"missed on channel")
        m2 = self.put_ok(ch, b"missed direct", device_id=d.device_id)
        d.register()
        d.connect()            # no SUB: subscriptions belong to the device
        self.assert_got(d, [(m1, ch, 0, b"missed on channel"), (m2, ch, 0, b"missed direct")])
        m3 = self.put_ok(ch, b"live again")
        self.assert_got(d, [(m3, ch, 0, b"live again")])

    def test_offline_delivery_after_plain_close(self):
        ch = new_id()
        d = self.connected(ANDROID, subs=[ch])
        d.close()              # no CLS, just a TCP close
        time.sleep(0.3)
        m1 = self.put_ok(ch, b"while away")
        d.register()
        d.connect()
        self.assert_got(d, [(m1, ch, 0, b"while away")])

    def test_ttl_expires_while_offline(self):
        ch = new_id()
        d = self.connected(ANDROID, subs=[ch])
        d.cls()
        self.put_ok(ch, b"ttl 1 channel", ttl=1)
        self.put_ok(ch, b"ttl 1 direct", ttl=1, device_id=d.device_id)
        keep_c = self.put_ok(ch, b"ttl 60 channel", ttl=60)
        keep_d = self.put_ok(ch, b"ttl 60 direct", ttl=60, device_id=d.device_id)
        time.sleep(3.0)
        d.register()
        d.connect()
        self.assert_got(d, [(keep_c, ch, 0, b"ttl 60 channel"),
                            (keep_d, ch, 0, b"ttl 60 direct")])

    def test_pub_across_brokers(self):
        ch = new_id()
        devs = self.cluster.spread_devices(3, subs=[ch])
        a = devs[0]
        b = next(d for d in devs if d.broker != a.broker)
        self.assertNotEqual(a.broker, b.broker)
        # direct, a -> b on the other broker
        m1 = new_id()
        frame = a.pub(b.device_id, ch, m1, b"a to b")
        self.assertEqual(frame, (FRAME_ACK, b"ACK 1 %d %d" % (m1, b.device_id)),
                         "PUB to a device on the other broker: %s" % fmt_frame(frame))
        self.assert_got(b, [(m1, ch, a.device_id, b"a to b")])
        for d in devs:
            if d is not b:
                self.assert_nothing(d, 0)
        # and back
        m2 = new_id()
        frame = b.pub(a.device_id, ch, m2, b"b to a")
        self.assertEqual(frame, (FRAME_ACK, b"ACK 1 %d %d" % (m2, a.device_id)),
                         fmt_frame(frame))
        self.assert_got(a, [(m2, ch, b.device_id, b"b to a")])
        # channel: every subscriber on both brokers, the sender included, once
        m3 = new_id()
        frame = a.pub(0, ch, m3, b"a to all")
        self.assertEqual(frame, (FRAME_ACK, b"ACK 1 %d 0" % m3), fmt_frame(frame))
        for d in devs:
            self.assert_got(d, [(m3, ch, a.device_id, b"a to all")], quiet=0)
        time.sleep(1.0)
        for d in devs:
            self.assertEqual(d.take(), [], "device %d got a second copy" % d.device_id)
        # a /put message id and a device's message id do not collide: from differs
        m4 = self.put_ok(ch, b"from the router")
        for d in devs:
            self.assert_got(d, [(m4, ch, 0, b"from the router")], quiet=0)

    def test_registered_device_is_known_to_pub(self):
        # SPEC 1: a device is known once /registration gave its id out
        ch = new_id()
        s = self.connected(ANDROID)
        t = self.device(device_type=PC)
        t.register()               # never connected
        mid = new_id()
        frame = s.pub(t.device_id, ch, mid, b"for later")
        self.assertEqual(frame, (FRAME_ACK, b"ACK 1 %d %d" % (mid, t.device_id)),
                         fmt_frame(frame))
        t.connect()
        self.assert_got(t, [(mid, ch, s.device_id, b"for later")])

