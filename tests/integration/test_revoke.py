"""Revoking a device's tokens (POST /api/device/revoke, SPEC 2.7): its
generation goes up, its connection is closed with E_DISCONNECTED, every
token handed out before is refused with E_UNAUTHORIZED (fatal) and leaves
no presence, /registration hands the next generation's token, and a
refused IDENTIFY kicks no connected device of that id (on its broker or
another)."""

import hashlib
import hmac

from lib.admin import AdminTestCase
from lib.cluster import broker_addr, token_for
from lib.harness import FRAME_ERROR, FRAME_RESPONSE, new_id

SECRET = "revoke-s3cret"
REVOKED = (FRAME_ERROR, b"E_UNAUTHORIZED token revoked")


def token_gen(device_id, gen, secret=SECRET):
    """A generation's token past 0: "<gen>." and the HMAC of "<id>.<gen>"."""
    msg = ("%d.%d" % (device_id, gen)).encode()
    return "%d.%s" % (gen, hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest())


class RevokeTest(AdminTestCase):
    secret = SECRET

    def revoke(self, device_id):
        return self.post("/api/device/revoke?id=%d" % device_id)

    def assert_alive(self, d):
        d.send_line("H")
        self.assertEqual(d.next_ctrl(), (FRAME_RESPONSE, b"H"))

    def online(self, d):
        st, rep = self.get("/api/device?id=%d" % d.device_id)
        self.assertEqual(st, 200, rep)
        return rep["online"], rep["broker"]

    def other_broker(self, d):
        return next(broker_addr(b) for b in self.cluster.brokers if broker_addr(b) != d.broker)

    def test_revoke_disconnects_and_the_old_token_is_refused(self):
        d = self.device()
        d.connect()
        old = d.token
        self.assertEqual(old, token_for(SECRET, d.device_id), "generation 0: today's token")
        self.assertEqual(self.revoke(d.device_id),
                         (200, {"revoked": True, "generation": 1, "disconnected": True}))
        self.assertEqual(d.next_ctrl()[:2], (FRAME_ERROR, b"E_DISCONNECTED disconnected by an "
                                                          b"administrator"))
        self.assertTrue(d.wait_eof(5.0), "revoked device still connected")
        for addr in (d.broker, self.other_broker(d)):
            with self.subTest(broker=addr):
                self.assertEqual(d.connect(token=old, addr=addr, expect_ok=False), REVOKED)
                self.assertTrue(d.wait_eof(5.0), "E_UNAUTHORIZED must close")
                self.assertEqual(self.online(d), (False, None), "no presence")
        d.register()
        self.assertEqual(d.token, token_gen(d.device_id, 1))
        d.connect()
        self.assertEqual(self.online(d), (True, d.broker))
        self.assert_alive(d)

    def test_a_refused_identify_kicks_no_one(self):
        d = self.device()
        d.register()
        old = d.token
        self.assertEqual(self.revoke(d.device_id),
                         (200, {"revoked": True, "generation": 1, "disconnected": False}))
        d.register()
        d.connect()
        for addr in (d.broker, self.other_broker(d)):
            with self.subTest(broker=addr):
                intruder = self.cluster.device(serial=d.serial)
                intruder.device_id = d.device_id
                self.assertEqual(intruder.connect(token=old, addr=addr, expect_ok=False),
                                 REVOKED)
                self.assertTrue(intruder.wait_eof(5.0))
                self.assert_alive(d)
                self.assertEqual(self.online(d), (True, d.broker))
        # a PUB to it still reaches it
        s = self.device()
        s.connect()
        mid = new_id()
        self.assertEqual(s.pub(d.device_id, 5, mid, b"still here")[1],
                         b"ACK 1 %d %d" % (mid, d.device_id))
        self.assertEqual([m.body for m in d.wait_messages(1)], [b"still here"])

    def test_each_revoke_is_a_generation(self):
        d = self.device()
        d.register()
        for gen in (1, 2, 3):
            self.assertEqual(self.revoke(d.device_id),
                             (200, {"revoked": True, "generation": gen, "disconnected": False}))
        d.register()
        self.assertEqual(d.token, token_gen(d.device_id, 3))
        self.assertEqual(d.connect(token=token_gen(d.device_id, 2), expect_ok=False), REVOKED)
        d.connect()
        self.assert_alive(d)

    def test_bad_requests(self):
        self.assertEqual(self.revoke(new_id()), (404, {"error": "not found"}))
        for q in ("", "?id=0", "?id=x", "?id=-1"):
            with self.subTest(query=q):
                self.assertEqual(self.post("/api/device/revoke" + q),
                                 (400, {"error": "id must be a device id"}))
        st, _rep = self.get("/api/device/revoke?id=1")
        self.assertEqual(st, 405)
