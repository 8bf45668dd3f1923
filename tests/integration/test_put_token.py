"""routerd --put-token T (SPEC 3, /put): /put needs "Authorization: Bearer
T", else ParamErr with HTTP 401 and nothing is stored; the token is
compared in constant time (common/bearer.c). A /put port off loopback
without a token is warned about at start."""

from lib.cluster import ClusterTestCase, Router, post
from lib.harness import RedisTestCase, new_id, wait_until

TOKEN = "put-T0ken-8xQ"
UNAUTHORIZED = (401, {"code": 1, "msg": "ParamErr", "data": None})


class PutToken(ClusterTestCase):
    n_brokers = 1
    router_args = ("--put-token", TOKEN)

    def put(self, headers, ch):
        return post(self.router.put_port, "/put", query={"channel_id": ch}, body=b"hi",
                    headers=headers)

    def test_without_the_token_401(self):
        dev = self.connected(subs=[ch := new_id()])
        for what, h in [("none", {}), ("wrong", {"Authorization": "Bearer nope"}),
                        ("no Bearer", {"Authorization": TOKEN}),
                        ("prefix", {"Authorization": "Bearer " + TOKEN[:-1]}),
                        ("longer", {"Authorization": "Bearer " + TOKEN + "x"})]:
            with self.subTest(auth=what):
                self.assertEqual(self.put(h, ch), UNAUTHORIZED)
        self.assert_got(dev, [], quiet=0.5)

    def test_with_the_token_delivered(self):
        dev = self.connected(subs=[ch := new_id()])
        st, rep = self.put({"Authorization": "Bearer " + TOKEN}, ch)
        self.assertEqual((st, rep["code"]), (200, 0), rep)
        self.assertEqual(len(dev.wait_messages(1)), 1)

    def test_registration_needs_no_token(self):
        st, _rep = self.cluster.registration(form={"serial_no": "sn-%d" % new_id(),
                                                   "device_type": 3})
        self.assertEqual(st, 200)

    def test_token_not_logged(self):
        self.assertNotIn(TOKEN, self.router.log_text())


class PutTokenWarning(RedisTestCase):
    def router(self, *args):
        r = Router(self.redis.port, "--threads", "1", *args, label=self.id())
        self.addCleanup(r.kill)
        r.wait_ready()
        # the warnings come before "started", which comes after the ports
        self.assertTrue(wait_until(lambda: " started, " in r.log_text(), 5.0), r.log_text())
        return r

    def test_public_put_without_token_warns(self):
        r = self.router("--put-address", "0.0.0.0:0")
        self.assertIn("no put token set", r.log_text())

    def test_loopback_or_token_no_warning(self):
        for args in [(), ("--put-address", "0.0.0.0:0", "--put-token", TOKEN)]:
            with self.subTest(args=args):
                self.assertNotIn("no put token set", self.router(*args).log_text())
