"""The Lua of issue 13's sends (lua/mesh_send_many.lua,
lua/mesh_publish_bulk.lua, lua/mesh_broadcast.lua, lua/broker_bcount.lua),
run straight in a real Redis."""

from lib.lua import LuaTestCase

HEAD = ["pg:next_put_id", "pg:stats", "pg:kept"]


def dev_keys(*ds):
    return [k for d in ds for k in ("pg:dev:%s" % d, "pg:dev:%s:in" % d)]


def ch_keys(*cs):
    return [k for c in cs for k in ("pg:ch:%s" % c, "pg:ch:%s:subs" % c, "pg:ch:%s:brokers" % c)]


class SendManyTest(LuaTestCase):
    def many(self, ds, args):
        return self.run_script("mesh_send_many", HEAD + dev_keys(*ds), ["0", "60000", "100"] + args)

    def test_shared_body_counts_unknown_in_f_and_keeps_for_offline(self):
        self.r("HSET", "pg:dev:1", "known", "1")
        self.r("HSET", "pg:dev:2", "known", "1", "broker", "7")
        sub = self.subscribe("pg:n:bk:7")
        self.assertEqual(self.many(["1", "2", "3"], ["hey", "1", "2", "3"]), [b"ok", b"2", b"1"])
        self.assertEqual(self.r("XLEN", "pg:dev:1:in"), 1)
        self.assertEqual(self.hash("pg:dev:1")["kept"], "1", "offline: kept and counted")
        self.assertRegex(sub.next(), rb"^M \d+-\d+ 2 0 0 \d+ 2 0\nhey$")
        self.assertEqual(self.r("EXISTS", "pg:dev:3:in"), 0)
        self.assertEqual(self.r("GET", "pg:next_put_id"), b"2", "ids only for sent messages")
        self.assertEqual(self.hash("pg:stats")["messages_in"], "2")

    def test_a_body_per_device(self):
        self.r("HSET", "pg:dev:1", "known", "1")
        self.assertEqual(self.many(["1", "1", "9"], ["", "1", "a", "1", "b", "9", "c"]),
                         [b"ok", b"2", b"1"])
        bodies = [dict(zip(e[1][::2], e[1][1::2]))[b"b"] for e in self.r("XRANGE", "pg:dev:1:in", "-", "+")]
        self.assertEqual(bodies, [b"a", b"b"])


class PublishBulkTest(LuaTestCase):
    def test_totals_over_items_and_channels(self):
        self.r("SADD", "pg:ch:a:subs", "1", "2")
        self.r("SADD", "pg:ch:b:subs", "1")
        self.r("SADD", "pg:ch:a:brokers", "7")
        sub = self.subscribe("pg:n:bk:7")
        r = self.run_script("mesh_publish_bulk", ["pg:next_put_id", "pg:stats"] + ch_keys("a", "a", "b", "c"),
                            ["0", "60000", "100", "x", "1", "a", "y", "3", "a", "b", "c"])
        self.assertEqual(r, [b"ok", b"5", b"0", b"3"], "a:2 + a:2 + b:1, c has none")
        self.assertEqual(self.r("XLEN", "pg:ch:a"), 2)
        self.assertEqual(self.r("XLEN", "pg:ch:b"), 1)
        self.assertEqual(self.r("EXISTS", "pg:ch:c"), 0)
        self.assertRegex(sub.next(), rb"^M \d+-\d+ 1 0 ~a \d+ 0 0\nx$")
        self.assertRegex(sub.next(), rb"^M \d+-\d+ 2 0 ~a \d+ 0 0\ny$")


class BroadcastTest(LuaTestCase):
    def test_every_listening_broker_hears_it_and_the_count_says_so(self):
        self.r("SADD", "pg:brokers", "7", "8", "9")    # 9 is gone: no one listens
        s7, s8 = self.subscribe("pg:n:bk:7"), self.subscribe("pg:n:bk:8")
        self.r("SET", "pg:next_put_id", "41")
        r = self.run_script("mesh_broadcast", ["pg:next_put_id", "pg:brokers", "pg:stats"],
                            ["8", "123", "all\nof you"])
        self.assertEqual(r, [b"ok", b"42", b"2"])
        for s in (s7, s8):
            self.assertRegex(s.next(), rb"^B 42 \d{13} 8 123\nall\nof you$")
        self.assertEqual(self.hash("pg:stats")["messages_in"], "1")
        self.assertEqual(self.r("KEYS", "pg:dev:*"), [], "nothing stored")

    def test_a_count_goes_to_the_asking_broker(self):
        s8 = self.subscribe("pg:n:bk:8")
        self.assertEqual(self.run_script("broker_bcount", ["pg:n:bk:8"], ["123", "5"]), [b"ok", 1])
        self.assertEqual(s8.next(), b"C 123 5")
