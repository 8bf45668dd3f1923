"""SPEC 2.7: IDENTIFY tokens when brokerd runs with --secret."""

import hashlib
import hmac

from lib.harness import BrokerTestCase, FRAME_RESPONSE, INT64_MAX, new_id

SECRET = "s3cret-for-tests"


def token(client_id, secret=SECRET):
    """Lowercase hex HMAC-SHA256(key=secret, msg=decimal client id)."""
    return hmac.new(secret.encode(), str(client_id).encode(), hashlib.sha256).hexdigest()


class SecretTest(BrokerTestCase):
    broker_args = ("--secret", SECRET)

    def test_right_token_is_accepted(self):
        cid = new_id()
        c = self.connect()
        self.assertEqual(c.identify(cid, token=token(cid)), (FRAME_RESPONSE, b"OK"))
        self.expect_alive(c)
        self.sub(c, new_id())

    def test_right_token_for_int64_max(self):
        c = self.connect()
        self.assertEqual(c.identify(INT64_MAX, token=token(INT64_MAX)),
                         (FRAME_RESPONSE, b"OK"))

    def test_missing_token_is_fatal(self):
        c = self.connect()
        c.send_with_body("IDENTIFY", b'{"client_id":%d}' % new_id())
        self.expect_fatal(c, "E_UNAUTHORIZED")

    def test_wrong_token_is_fatal(self):
        cid = new_id()
        wrong = {
            "garbage": "nope",
            "empty": "",
            "other id": token(cid + 1),
            "other secret": token(cid, SECRET + "x"),
            "truncated": token(cid)[:-1],
            "extended": token(cid) + "0",
        }
        for what, tok in wrong.items():
            with self.subTest(token=what):
                c = self.connect()
                c.send_with_body("IDENTIFY", ('{"client_id":%d,"token":"%s"}'
                                              % (cid, tok)).encode())
                self.expect_fatal(c, "E_UNAUTHORIZED")

    def test_refused_device_is_not_known(self):
        cid = new_id()
        c = self.connect()
        c.send_with_body("IDENTIFY", ('{"client_id":%d,"token":"bad"}' % cid).encode())
        self.expect_fatal(c, "E_UNAUTHORIZED")
        s = self.connect()
        sid = new_id()
        self.assertEqual(s.identify(sid, token=token(sid)), (FRAME_RESPONSE, b"OK"))
        mid = new_id()
        s.send_with_body("PUB %d %d %d" % (cid, new_id(), mid), b"x")
        self.expect_ack(s, False, mid, cid)

    def test_token_with_feature_negotiation(self):
        import json
        cid = new_id()
        c = self.connect()
        ftype, data = c.identify(cid, token=token(cid), feature_negotiation=True)
        self.assertEqual(ftype, FRAME_RESPONSE, data)
        self.assertEqual(json.loads(data)["client_id"], cid)


class NoSecretTest(BrokerTestCase):

    def test_any_token_is_ignored_without_secret(self):
        c = self.connect()
        self.assertEqual(c.identify(new_id(), token="whatever"), (FRAME_RESPONSE, b"OK"))

    def test_warning_logged_without_secret(self):
        # 2.7: "With no secret configured the check is off and the broker
        # logs a warning at start."
        lines = [l for l in self.broker.log_text().lower().splitlines()
                 if "secret" in l and "warn" in l]
        self.assertTrue(lines, "no warning line mentioning the secret in the log")
