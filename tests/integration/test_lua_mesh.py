"""The mesh API's Lua (lua/broker_send.lua, lua/broker_context.lua) and
what broker_identify/broker_gone do for it (contexts, anonymous clients),
run straight in a real Redis."""

import json

from lib.lua import LuaTestCase

D, B = "41", "7"
DEV, SUBS, CUR, IN = "pg:dev:41", "pg:dev:41:subs", "pg:dev:41:cur", "pg:dev:41:in"
SEND_KEYS = ["pg:mdup:s:5", IN, DEV, "pg:next_put_id", "pg:kept", "pg:stats"]
GONE_KEYS = [DEV, CUR, "pg:kept", IN, "pg:dev:41:freed", "pg:stats", SUBS, "pg:online"]
IDENTIFY_KEYS = [DEV, SUBS, CUR, "pg:devices", "pg:stats", "pg:online", "pg:online:bk:7",
                 "pg:online:brokers"]


class SendTest(LuaTestCase):
    def send(self, body="hi", mid=True, keys=SEND_KEYS, frm="0"):
        return self.run_script("broker_send", keys,
                               [frm, D, body, "60000", "100", "1" if mid else "0"])

    def test_unknown_device(self):
        self.assertEqual(self.send(), [b"nodevice"])
        self.assertEqual(self.r("EXISTS", IN, "pg:next_put_id", "pg:mdup:s:5"), 0)

    def test_an_offline_device_keeps_it_with_a_put_id(self):
        self.r("HSET", DEV, "known", "1")
        self.r("SET", "pg:next_put_id", "99")
        self.assertEqual(self.send(body="hello"), [b"ok", b"100"])
        entries = self.r("XRANGE", IN, "-", "+")
        self.assertEqual(len(entries), 1)
        f = dict(zip(entries[0][1][::2], entries[0][1][1::2]))
        self.assertEqual((f[b"m"], f[b"f"], f[b"c"], f[b"b"]), (b"100", b"0", b"0", b"hello"))
        self.assertEqual(self.hash(DEV)["kept"], "1")
        self.assertEqual(self.hash("pg:stats")["messages_in"], "1")

    def test_a_repeated_mid_answers_as_the_first_and_sends_nothing(self):
        self.r("HSET", DEV, "known", "1")
        self.assertEqual(self.send(), [b"ok", b"1"])
        self.assertEqual(self.send(body="again"), [b"ok", b"1"])
        self.assertEqual(self.r("XLEN", IN), 1)
        self.assertGreater(self.r("TTL", "pg:mdup:s:5"), 590)
        # without a mid every call is a message of its own
        self.assertEqual(self.send(mid=False), [b"ok", b"2"])
        self.assertEqual(self.send(mid=False), [b"ok", b"3"])
        self.assertEqual(self.r("XLEN", IN), 3)

    def test_a_connected_device_is_told_through_its_broker(self):
        self.r("HSET", DEV, "known", "1", "broker", B)
        sub = self.subscribe("pg:n:bk:" + B)
        self.assertEqual(self.send(frm="12", mid=False), [b"ok", b"1"])
        self.assertRegex(sub.next(), rb"^M \d+-\d+ 1 12 0 \d+ 41 0\nhi$")
        self.assertNotIn("kept", self.hash(DEV))


class ContextTest(LuaTestCase):
    def ctx(self, *args, max_bytes="4096"):
        return self.run_script("broker_context", [DEV], list(args) + [max_bytes])

    def test_only_a_connected_device_has_one(self):
        self.assertEqual(self.ctx("set", "{}"), [b"offline"])
        self.r("HSET", DEV, "known", "1", "broker", "")
        self.assertEqual(self.ctx("value", "k", "1"), [b"offline"])
        self.assertNotIn("ctx", self.hash(DEV))

    def test_a_dead_brokers_device_is_not_connected(self):
        self.r("HSET", DEV, "broker", B)             # its broker holds no notice channel
        self.assertEqual(self.ctx("set", "{}"), [b"offline"])

    def test_set_and_set_value(self):
        self.subscribe("pg:n:bk:" + B)
        self.r("HSET", DEV, "broker", B)
        self.assertEqual(self.ctx("value", "a", json.dumps({"x": [1, 2]})), [b"ok"])
        self.assertEqual(json.loads(self.hash(DEV)["ctx"]), {"a": {"x": [1, 2]}})
        self.assertEqual(self.ctx("value", "b", "\"s\""), [b"ok"])
        self.assertEqual(json.loads(self.hash(DEV)["ctx"]), {"a": {"x": [1, 2]}, "b": "s"})
        self.assertEqual(self.ctx("set", "{\"z\":1}"), [b"ok"])
        self.assertEqual(json.loads(self.hash(DEV)["ctx"]), {"z": 1})

    def test_over_the_limit_changes_nothing(self):
        self.subscribe("pg:n:bk:" + B)
        self.r("HSET", DEV, "broker", B, "ctx", "{\"z\":1}")
        self.assertEqual(self.ctx("value", "k", json.dumps("x" * 30), max_bytes="32"),
                         [b"toobig"])
        self.assertEqual(self.hash(DEV)["ctx"], "{\"z\":1}")


class LifeTest(LuaTestCase):
    def identify(self, anon=""):
        return self.run_script("broker_identify", IDENTIFY_KEYS, [B, "7:1", D, "", anon, "", "127.0.0.1"])

    def gone(self):
        return self.run_script("broker_gone", GONE_KEYS, ["7:1", D, "60000", "in", "(1-0 1-0"])

    def test_the_context_lives_as_long_as_the_connection(self):
        self.r("HSET", DEV, "ctx", "{\"old\":1}")
        self.assertEqual(self.identify()[0], b"ok")
        self.assertNotIn("ctx", self.hash(DEV))
        self.r("HSET", DEV, "ctx", "{\"a\":1}")
        self.assertEqual(self.gone(), [b"ok"])
        self.assertNotIn("ctx", self.hash(DEV))

    def test_an_anonymous_clients_state_expires_after_it_leaves(self):
        self.r("SADD", SUBS, "5")
        self.assertEqual(self.identify(anon="1")[0], b"ok")
        self.assertEqual(self.r("TTL", DEV), -1)
        self.assertEqual(self.gone(), [b"ok"])
        for k in (DEV, CUR, SUBS):
            self.assertTrue(55 <= self.r("TTL", k) <= 60, k)
        # it comes back with its id: kept again while connected
        self.assertEqual(self.identify()[0], b"ok")
        for k in (DEV, CUR, SUBS):
            self.assertEqual(self.r("TTL", k), -1, k)

    def test_a_registered_device_never_expires(self):
        self.assertEqual(self.identify()[0], b"ok")
        self.assertEqual(self.gone(), [b"ok"])
        self.assertEqual(self.r("TTL", DEV), -1)
        self.assertEqual(self.r("TTL", CUR), -1)


class LimitTest(LuaTestCase):
    """lua/mesh_limit.lua (gateway.limit)."""
    KEYS = ["pg:limits", "pg:brokers"]

    def test_sets_what_is_given_and_tells_every_broker(self):
        self.r("SADD", "pg:brokers", "7", "9")
        n7, n9 = self.subscribe("pg:n:bk:7"), self.subscribe("pg:n:bk:9")
        self.assertEqual(self.run_script("mesh_limit", self.KEYS, ["", ""]), [b"ok", b"-", b"-"])
        self.assertEqual(self.r("EXISTS", "pg:limits"), 0, "nothing given: nothing set")
        self.assertEqual(self.run_script("mesh_limit", self.KEYS, ["", "30"]),
                         [b"ok", b"-", b"30"])
        self.assertEqual(self.run_script("mesh_limit", self.KEYS, ["0", ""]), [b"ok", b"0", b"30"])
        self.assertEqual(self.hash("pg:limits"), {"accept_per_s": "0", "messages_per_s": "30"})
        for n in (n7, n9):
            self.assertEqual([n.next() for _ in range(3)], [b"L - -", b"L - 30", b"L 0 30"])
