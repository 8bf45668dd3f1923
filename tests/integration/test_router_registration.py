"""SPEC 3 POST /registration against a real routerd + brokerd + Redis:
every reply code, idempotent ids, query vs form parameters, the token of
SPEC 2.7, broker liveness and load balancing.

Lead's decisions tested here (SPEC leaves them open):
  - serial_no that is empty, longer than 64 bytes or holds a byte outside
    printable ASCII (0x20..0x7e) is SerialNoErr (9), like a missing one;
  - a device_name that is not valid UTF-8 is ParamErr (1);
  - the token is lowercase hex HMAC-SHA256(key=secret, msg=str(device_id))
    and iOS devices get one too;
  - /put on the registration port and /registration on the put port are
    NotFound.
"""

import collections
import json
import time

from lib.cluster import (ANDROID, BROWSER, ClusterTestCase, DEVICE_TYPE_ERR,
                         INTERNAL_ERR, IOS, METHOD_ERR, NOT_FOUND, OK, OTHER, PARAM_ERR,
                         PC, SERIAL_NO_ERR, WINDOWS_PHONE, broker_addr, post, request,
                         token_for)
from lib.harness import (Client, FRAME_ERROR, FRAME_RESPONSE, INT64_MAX, fmt_frame,
                         new_id)


def serial():
    return "sn-%d" % new_id()


class RegistrationCodes(ClusterTestCase):
    n_brokers = 2

    def reg(self, query=None, form=None, method="POST", path="/registration"):
        return self.cluster.registration(query=query, form=form, method=method, path=path)

    def reg_ok(self, sn, dtype, what="", **extra):
        q = {"serial_no": sn, "device_type": str(dtype)}
        q.update(extra)
        return self.assert_reply(self.reg(q), 200, OK, what or "register %r" % q)

    def live_addrs(self):
        return {broker_addr(b) for b in self.cluster.live_brokers()}

    def check_id(self, data):
        did = data.get("device_id")
        self.assertTrue(isinstance(did, int) and not isinstance(did, bool)
                        and 0 < did <= INT64_MAX, "device_id in %r" % (data,))
        return did

    # ---------------------------------------------------------------- OK
    def test_ok_gives_live_broker_and_id(self):
        data = self.reg_ok(serial(), ANDROID)
        self.assertEqual(set(data), {"broker", "ws", "device_id"},
                         "data keys without a secret: %r" % (data,))
        self.check_id(data)
        self.assertIn(data["broker"], self.live_addrs(),
                      "broker %r is not a live brokerd's address" % data["broker"])
        # SPEC 5.4: the WebSocket address of that same broker
        b = self.cluster.broker_for(data["broker"])
        self.assertEqual(data["ws"], "%s:%d" % b.ws)

    def test_every_non_ios_type_gets_a_broker(self):
        ids = set()
        for t in (BROWSER, PC, ANDROID, WINDOWS_PHONE, OTHER):
            data = self.reg_ok(serial(), t)
            self.assertEqual(set(data), {"broker", "ws", "device_id"}, "type %d: %r" % (t, data))
            self.assertIn(data["broker"], self.live_addrs(), "type %d" % t)
            ids.add(self.check_id(data))
        self.assertEqual(len(ids), 5, "distinct serials must get distinct ids: %r" % ids)

    def test_ios_gets_no_broker(self):
        data = self.reg_ok(serial(), IOS)
        self.assertEqual(set(data), {"device_id"}, "iOS data: %r" % (data,))
        self.check_id(data)

    def test_the_device_can_identify_on_its_broker(self):
        d = self.connected(ANDROID)   # asserts IDENTIFY -> Response OK
        self.assertIn(d.broker, self.live_addrs())

    # ---------------------------------------------------------------- ids
    def test_same_serial_and_type_same_id(self):
        sn = serial()
        first = self.check_id(self.reg_ok(sn, ANDROID))
        for i in range(3):
            self.assertEqual(self.check_id(self.reg_ok(sn, ANDROID, "again %d" % i)), first)
        # a (new) device_name does not make it another device
        self.assertEqual(self.check_id(self.reg_ok(sn, ANDROID, device_name="phone")), first)
        # same serial, other type: another device, itself stable
        other = self.check_id(self.reg_ok(sn, PC))
        self.assertNotEqual(other, first, "same serial with another type must be "
                                          "another device")
        self.assertEqual(self.check_id(self.reg_ok(sn, PC)), other)
        ios = self.check_id(self.reg_ok(sn, IOS))
        self.assertNotIn(ios, (first, other))
        self.assertEqual(self.check_id(self.reg_ok(sn, IOS)), ios)
        # another serial, same type: another device
        self.assertNotIn(self.check_id(self.reg_ok(serial(), ANDROID)), (first, other, ios))

    def test_serial_is_case_and_byte_exact(self):
        sn = "Ab-%d" % new_id()
        a = self.check_id(self.reg_ok(sn, ANDROID))
        b = self.check_id(self.reg_ok(sn.lower(), ANDROID))
        self.assertNotEqual(a, b, "serial_no %r and %r are different serials" % (sn, sn.lower()))

    def test_query_and_form_body_both_work(self):
        sn = serial()
        via_form = self.assert_reply(
            self.reg(form={"serial_no": sn, "device_type": "3", "device_name": "form dev"}),
            200, OK, "form body")
        self.assertIn(via_form.get("broker"), self.live_addrs())
        did = self.check_id(via_form)
        via_query = self.reg_ok(sn, ANDROID, "query string")
        self.assertEqual(self.check_id(via_query), did,
                         "the same serial+type must get the same id whether the "
                         "parameters came in the form body or the query string")
        # form body only, with a serial needing url-encoding
        sn2 = "a+b&c=d %d" % new_id()
        d1 = self.assert_reply(self.reg(form={"serial_no": sn2, "device_type": "2"}),
                               200, OK, "form with encoded serial")
        d2 = self.reg_ok(sn2, PC, "query with encoded serial")
        self.assertEqual(self.check_id(d1), self.check_id(d2))

    def test_form_body_with_other_content_type_is_not_parameters(self):
        # SPEC 3: the body counts only as application/x-www-form-urlencoded
        got = request(self.router.reg_port, "POST", "/registration",
                      body=b"serial_no=zz1&device_type=3",
                      headers={"Content-Type": "text/plain"})
        st, rep = got[0], json.loads(got[2])
        self.assert_reply((st, rep), 400, SERIAL_NO_ERR, "text/plain body")

    # ---------------------------------------------------------------- SerialNoErr
    def test_serial_no_err(self):
        cases = {
            "missing": {"device_type": "3"},
            "empty": {"serial_no": "", "device_type": "3"},
            "65 chars": {"serial_no": "s" * 65, "device_type": "3"},
            "tab": {"serial_no": "a\tb", "device_type": "3"},
            "DEL 0x7f": {"serial_no": "ab\x7f", "device_type": "3"},
            "control 0x01": {"serial_no": "\x01ab", "device_type": "3"},
            "newline": {"serial_no": "ab\n", "device_type": "3"},
            "non-ASCII": {"serial_no": "s\u00e9rie", "device_type": "3"},
        }
        for what, q in cases.items():
            with self.subTest(what):
                self.assert_reply(self.reg(q), 400, SERIAL_NO_ERR, "serial_no %s" % what)
                self.assert_reply(self.reg(form=q), 400, SERIAL_NO_ERR,
                                  "serial_no %s (form)" % what)

    def test_serial_no_bounds_ok(self):
        self.reg_ok("s", ANDROID, "1-char serial")
        self.reg_ok(("%d" % new_id()).ljust(64, "x"), ANDROID, "64-char serial")
        self.reg_ok("~!#$%^&*()_+{}|:<>?-=[];',./`" + str(new_id()), ANDROID,
                    "printable punctuation")

    # ---------------------------------------------------------------- DeviceTypeErr
    def test_device_type_err(self):
        bad = {"missing": None, "0": "0", "7": "7", "abc": "abc", "01": "01", "-1": "-1",
               "empty": "", "+3": "+3", " 3": " 3", "3.0": "3.0", "2^64+3": str(2**64 + 3),
               "0x3": "0x3"}
        for what, v in bad.items():
            q = {"serial_no": serial()}
            if v is not None:
                q["device_type"] = v
            with self.subTest(what):
                self.assert_reply(self.reg(q), 400, DEVICE_TYPE_ERR, "device_type %s" % what)

    # ---------------------------------------------------------------- device_name
    def test_device_name(self):
        for what, name in (("128 ASCII bytes", "n" * 128), ("64 x e-acute = 128 bytes",
                                                             "\u00e9" * 64),
                           ("empty", ""), ("spaces and emoji", "my \U0001F4F1 phone")):
            with self.subTest(what):
                self.reg_ok(serial(), ANDROID, "device_name %s" % what, device_name=name)
        for what, name in (("129 ASCII bytes", "n" * 129),
                           ("65 x e-acute = 130 bytes", "\u00e9" * 65),
                           ("129 bytes ending mid-character", "n" * 127 + "\u00e9")):
            with self.subTest(what):
                self.assert_reply(self.reg({"serial_no": serial(), "device_type": "3",
                                            "device_name": name}),
                                  400, PARAM_ERR, "device_name %s" % what)
        with self.subTest("invalid UTF-8 (lead's decision: ParamErr)"):
            self.assert_reply(self.reg("serial_no=%s&device_type=3&device_name=ab%%FF%%FEcd"
                                       % serial()), 400, PARAM_ERR, "device_name %FF%FE")

    # ---------------------------------------------------------------- method / path
    def test_method_err(self):
        q = {"serial_no": serial(), "device_type": "3"}
        for m in ("GET", "PUT", "DELETE"):
            with self.subTest(m):
                self.assert_reply(self.reg(q, method=m), 405, METHOD_ERR, "%s /registration" % m)

    def test_not_found(self):
        q = {"serial_no": serial(), "device_type": "3"}
        for port_name, path in (("registration", "/nope"), ("registration", "/"),
                                ("registration", "/registrations"),
                                ("registration", "/put"),
                                ("put", "/registration"), ("put", "/nope")):
            port = self.router.reg_port if port_name == "registration" else self.router.put_port
            with self.subTest(port=port_name, path=path):
                self.assert_reply(post(port, path, query=q), 404, NOT_FOUND,
                                  "POST %s on the %s port" % (path, port_name))

    def test_ping_and_metrics_on_both_ports(self):
        for port in (self.router.reg_port, self.router.put_port):
            st, _h, body = request(port, "GET", "/ping")
            self.assertEqual((st, body.strip()), (200, b"OK"), "GET /ping on %d" % port)
            st, _h, body = request(port, "GET", "/metrics")
            self.assertEqual(st, 200, "GET /metrics on %d" % port)
            names = [ln.split()[0].split("{")[0] for ln in body.decode().splitlines()
                     if ln.strip() and not ln.startswith("#")]
            self.assertTrue(names, "no metrics on %d: %r" % (port, body[:300]))
            bad = [n for n in names if not n.startswith("pushgate_")]
            self.assertEqual(bad, [], "metric names not starting with pushgate_")


class RegistrationSecret(ClusterTestCase):
    n_brokers = 1
    secret = "t0p-secret-%d" % new_id()

    def test_token_is_hmac_of_id(self):
        for t in (ANDROID, PC, IOS):
            d = self.device(device_type=t)
            _st, rep = d.register()
            data = rep["data"]
            want_keys = {"device_id", "token"} | ({"broker", "ws"} if t != IOS else set())
            self.assertEqual(set(data), want_keys, "type %d with a secret: %r" % (t, data))
            self.assertEqual(data["token"], token_for(self.secret, data["device_id"]),
                             "token of device %d (type %d)" % (data["device_id"], t))

    def test_broker_accepts_the_token(self):
        d = self.device()
        d.register()
        frame = d.connect(subs=[new_id()])
        self.assertEqual(frame, (FRAME_RESPONSE, b"OK"))

    def check_refused(self, d, token):
        frame = d.connect(token=token, expect_ok=False)
        self.assertTrue(frame[0] == FRAME_ERROR and (frame[1] == b"E_UNAUTHORIZED"
                                                     or frame[1].startswith(b"E_UNAUTHORIZED ")),
                        "IDENTIFY with token %r: want E_UNAUTHORIZED, got %s"
                        % (token, fmt_frame(frame)))
        self.assertTrue(d.wait_eof(5.0), "E_UNAUTHORIZED is fatal: connection must close")

    def test_broker_refuses_wrong_or_missing_token(self):
        d = self.device()
        d.register()
        other = self.device()
        other.register()
        for what, tok in (("wrong", "0" * 64), ("missing", None),
                          ("another device's", other.token),
                          ("other secret", token_for(self.secret + "x", d.device_id)),
                          ("truncated", d.token[:-1]), ("empty", "")):
            with self.subTest(what):
                self.check_refused(d, tok)
        # and the right one still works afterwards
        self.assertEqual(d.connect(), (FRAME_RESPONSE, b"OK"))


class RegistrationDeviceKey(ClusterTestCase):
    """SPEC 3: the first registration with a device_key binds it; from then
    on only that key gets the reply and the token (else ParamErr, HTTP 403)."""
    n_brokers = 1
    secret = "k3y-secret-%d" % new_id()
    KEY = "correct horse battery staple!"

    def reg(self, sn, key=None):
        q = {"serial_no": sn, "device_type": str(ANDROID)}
        if key is not None:
            q["device_key"] = key
        return self.cluster.registration(query=q)

    def test_bind_then_only_the_key_gets_the_token(self):
        sn = serial()
        st, first = self.reg(sn, self.KEY)
        self.assertEqual((st, first["code"]), (200, 0), first)
        dev = first["data"]["device_id"]
        self.assertEqual(first["data"]["token"], token_for(self.secret, dev))
        self.assertEqual(self.reg(sn, self.KEY), (200, first), "the same id and token again")
        refused = {"code": 1, "msg": "ParamErr", "data": None}
        for key in (None, self.KEY + "x", self.KEY.upper()):
            with self.subTest(key=key):
                self.assertEqual(self.reg(sn, key), (403, refused))
        self.assertEqual(self.reg(sn, self.KEY), (200, first))

    def test_without_a_bound_key_as_before(self):
        sn = serial()
        st, first = self.reg(sn)
        self.assertEqual((st, first["code"]), (200, 0), first)
        self.assertEqual(self.reg(sn), (200, first))
        self.assertEqual(self.reg(sn, self.KEY), (200, first), "binds it")
        self.assertEqual(self.reg(sn)[0], 403)

    def test_a_bad_key_is_param_err(self):
        sn = serial()
        bad = {"code": 1, "msg": "ParamErr", "data": None}
        for key in ("", "x" * 15, "y" * 129, "sixteen chars ok\x01", "ключ-ключ-ключ-ключ"):
            with self.subTest(key=key):
                self.assertEqual(self.reg(sn, key), (400, bad))
        self.assertEqual(self.reg(sn, "z" * 128)[0], 200, "128 bytes are allowed")
        self.assertEqual(self.reg(serial(), "~" * 16)[0], 200, "and 16")


class RegistrationNoBroker(ClusterTestCase):
    n_brokers = 0

    def test_no_live_broker(self):
        c = self.cluster
        for t in (ANDROID, PC, BROWSER):
            with self.subTest("no brokerd at all, type %d" % t):
                self.assert_reply(c.registration({"serial_no": serial(), "device_type": str(t)}),
                                  503, INTERNAL_ERR, "no broker, type %d" % t)
        ios = self.assert_reply(c.registration({"serial_no": serial(), "device_type": "4"}),
                                200, OK, "iOS with no broker")
        self.assertEqual(set(ios), {"device_id"})
        # parameter errors are still parameter errors
        self.assert_reply(c.registration({"device_type": "3"}), 400, SERIAL_NO_ERR,
                          "missing serial, no broker")

        # a broker comes: registration works
        b = c.add_broker()
        sn = serial()
        data = self.assert_reply(c.registration({"serial_no": sn, "device_type": "3"}),
                                 200, OK, "with one live broker")
        self.assertEqual(data["broker"], broker_addr(b))

        # it stops (SIGTERM): it deregistered on the way out, so at once no live broker
        b.assert_clean_stop()
        c.dead.add(b)
        self.assert_reply(c.registration({"serial_no": serial(), "device_type": "3"}),
                          503, INTERNAL_ERR, "right after the only brokerd stopped")
        # the known device too: its broker is gone
        self.assert_reply(c.registration({"serial_no": sn, "device_type": "3"}), 503,
                          INTERNAL_ERR, "known device, its broker stopped")
        data = self.assert_reply(c.registration({"serial_no": serial(), "device_type": "4"}),
                                 200, OK, "iOS, all brokers stopped")
        self.assertEqual(set(data), {"device_id"})


class RegistrationStickyBroker(ClusterTestCase):
    n_brokers = 2

    def test_device_keeps_its_broker_while_it_lives(self):
        c = self.cluster
        d = self.device()
        d.register()
        x = c.broker_for(d.broker)
        self.assertIsNotNone(x, "registered broker %r is none of ours" % d.broker)
        y = [b for b in c.brokers if b is not x][0]
        d.connect()
        # make x clearly the busier one: extra identified connections on it
        extra = []
        for _ in range(4):
            cl = Client(x.tcp).connect()
            cl.send_magic()
            self.assertEqual(cl.identify(new_id()), (FRAME_RESPONSE, b"OK"))
            extra.append(cl)
        try:
            time.sleep(1.5)  # a broker heartbeat reports the new load
            for i in range(3):
                _st, rep = d.register()
                self.assertEqual(rep["data"]["broker"], broker_addr(x),
                                 "re-registration %d moved the device off its live broker" % i)
            # a new device goes to the less loaded broker
            e = self.device()
            e.register()
            self.assertEqual(e.broker, broker_addr(y),
                             "new device with x holding 5 connections and y none")
        finally:
            for cl in extra:
                cl.close()

        # x stops: at once the device gets y
        x.assert_clean_stop()
        c.dead.add(x)
        d.register()
        self.assertEqual(d.broker, broker_addr(y), "right after its broker stopped")
        self.assertEqual(d.connect(), (FRAME_RESPONSE, b"OK"))


class RegistrationLoadBalance(ClusterTestCase):
    n_brokers = 2

    def test_twenty_devices_spread_over_both(self):
        devs = [self.connected(ANDROID) for _ in range(20)]
        counts = collections.Counter(d.broker for d in devs)
        live = {broker_addr(b) for b in self.cluster.brokers}
        self.assertEqual(set(counts) - live, set(), "brokers handed out: %r" % dict(counts))
        self.assertTrue(all(counts[a] >= 5 for a in live),
                        "20 devices over 2 brokers: %r (want at least 5 on each)"
                        % dict(counts))
        # and they really are connected where they were sent
        for d in devs:
            self.assertTrue(d.connected.is_set(), "device %d not connected" % d.device_id)


class RegistrationWsBroadcast(ClusterTestCase):
    """--ws-broadcast-address is what "ws" says (SPEC 5.4)."""
    n_brokers = 1
    broker_args = ("--ws-broadcast-address", "push.example.com:443")

    def test_the_broadcast_address_is_given(self):
        st, rep = self.cluster.registration(query={"serial_no": serial(), "device_type": "1"})
        self.assertEqual((st, rep["data"]["ws"]), (200, "push.example.com:443"))
