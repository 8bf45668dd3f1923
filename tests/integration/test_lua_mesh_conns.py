"""The scripts of the mesh's reads and writes on clients and channels
(lua/mesh_info.lua, mesh_members.lua, mesh_offline.lua,
mesh_info_delete.lua, mesh_topic_delete.lua) straight in a real Redis:
every branch and every reply."""

from lib.lua import LuaTestCase

B, DEAD = "7", "9"


class InfoTest(LuaTestCase):
    def test_online_offline_dead_and_unknown(self):
        self.subscribe("pg:n:bk:" + B)
        self.r("HSET", "pg:dev:1", "broker", B, "ctx", '{"u":1}')
        self.r("SADD", "pg:dev:1:subs", "b", "a")
        self.r("HSET", "pg:dev:2", "broker", "", "known", "1")
        self.r("SADD", "pg:dev:2:subs", "k")
        self.r("HSET", "pg:dev:3", "broker", DEAD, "ctx", "{}")
        keys = ["pg:dev:1", "pg:dev:1:subs", "pg:dev:2", "pg:dev:2:subs", "pg:dev:3",
                "pg:dev:3:subs", "pg:dev:4", "pg:dev:4:subs"]
        got = self.run_script("mesh_info", keys)
        self.assertEqual(got[0], b"ok")
        rows = [(r[0], r[1], sorted(r[2])) for r in got[1]]
        self.assertEqual(rows, [(B.encode(), b'{"u":1}', [b"a", b"b"]), (b"", b"", [b"k"]),
                                (b"", b"", []), (b"", b"", [])])


class MembersTest(LuaTestCase):
    def test_members_bounded_and_counts(self):
        self.r("SADD", "pg:ch:a:subs", *[str(i) for i in range(1, 11)])
        self.r("SADD", "pg:ch:b:subs", "5")
        keys = ["pg:ch:a:subs", "pg:ch:b:subs", "pg:ch:none:subs"]
        got = self.run_script("mesh_members", keys, ["4"])
        self.assertEqual(got[0], b"ok")
        self.assertEqual(len(got[1][0]), 4)
        self.assertLessEqual(set(got[1][0]), {str(i).encode() for i in range(1, 11)})
        self.assertEqual(len(set(got[1][0])), 4)
        self.assertEqual(got[1][1:], [[b"5"], []])
        self.assertEqual(self.run_script("mesh_members", keys, ["count"]), [b"ok", [10, 1, 0]])


class OfflineTest(LuaTestCase):
    def setUp(self):
        super().setUp()
        self.n = self.subscribe("pg:n:bk:" + B)
        self.r("HSET", "pg:dev:1", "broker", B)                    # guest
        self.r("HSET", "pg:dev:2", "broker", B, "ctx", '{"u":1}')  # member
        self.r("HSET", "pg:dev:3", "broker", B, "ctx", "{}")       # guest again
        self.r("HSET", "pg:dev:4", "broker", "")                   # offline
        self.r("HSET", "pg:dev:5", "broker", DEAD)                 # its broker died

    def run_offline(self, guests):
        ids = ["1", "2", "3", "4", "5", "6"]
        return self.run_script("mesh_offline", ["pg:dev:" + d for d in ids], [guests] + ids)

    def test_all(self):
        self.assertEqual(self.run_offline("0"), [b"ok", 3])
        self.assertEqual([self.n.next() for _ in range(3)], [b"D 1", b"D 2", b"D 3"])

    def test_guests(self):
        self.assertEqual(self.run_offline("1"), [b"ok", 2])
        self.assertEqual([self.n.next() for _ in range(2)], [b"D 1", b"D 3"])


class InfoDeleteTest(LuaTestCase):
    KEYS = ["pg:dev:1", "pg:dev:1:subs", "pg:dev:1:cur", "pg:channels"]

    def setUp(self):
        super().setUp()
        self.n = self.subscribe("pg:n:bk:" + B)
        self.r("HSET", "pg:dev:1", "known", "1", "broker", B, "ctx", '{"u":1}', "type", "2")
        for c in ("a:b", "7"):
            self.r("SADD", "pg:dev:1:subs", c)
            self.r("SADD", "pg:ch:%s:subs" % c.replace(":", "%3A"), "1", "2")
            self.r("ZADD", "pg:channels", "2", c)
            self.r("ZADD", "pg:topics", "0", c)
            self.r("HSET", "pg:dev:1:cur", "7" if c == "7" else "~" + c, "(1-0 1-0")

    def test_context_only(self):
        self.assertEqual(self.run_script("mesh_info_delete", self.KEYS, ["1", "1", "0"]), [b"ok"])
        self.assertNotIn("ctx", self.hash("pg:dev:1"))
        self.assertEqual(self.members("pg:dev:1:subs"), ["7", "a:b"])

    def test_topics_only(self):
        self.assertEqual(self.run_script("mesh_info_delete", self.KEYS, ["1", "0", "1"]), [b"ok"])
        self.assertEqual(self.hash("pg:dev:1")["ctx"], '{"u":1}')
        self.assertEqual(self.members("pg:dev:1:subs"), [])
        self.assertEqual(self.members("pg:ch:a%3Ab:subs"), ["2"])
        self.assertEqual(self.hash("pg:dev:1:cur"), {})
        self.assertEqual(self.r("ZSCORE", "pg:channels", "7"), b"1")
        self.assertEqual(sorted([self.n.next(), self.n.next()]), [b"U 1 7", b"U 1 ~a:b"])

    def test_unknown(self):
        self.assertEqual(self.run_script("mesh_info_delete", ["pg:dev:5", "pg:dev:5:subs",
                                                              "pg:dev:5:cur", "pg:channels"],
                                         ["5", "1", "1"]), [b"unknown"])
        self.assertEqual(self.r("EXISTS", "pg:dev:5"), 0)


class TopicDeleteTest(LuaTestCase):
    KEYS = ["pg:ch:c:subs", "pg:ch:c:subs:types", "pg:channels"]

    def test_in_steps(self):
        n = self.subscribe("pg:n:bk:" + B)
        for d in ("1", "2", "3"):
            self.r("SADD", "pg:dev:%s:subs" % d, "c", "other")
            self.r("HSET", "pg:dev:%s:cur" % d, "~c", "(1-0 1-0")
            self.r("SADD", "pg:ch:c:subs", d)
        self.r("HSET", "pg:dev:2", "broker", B)
        self.r("ZADD", "pg:channels", "3", "c")
        self.r("ZADD", "pg:topics", "0", "c")
        self.r("HSET", "pg:ch:c:subs:types", "0", "3")
        first = self.run_script("mesh_topic_delete", self.KEYS, ["c", "2"])
        self.assertEqual(first, [b"ok", 2, 1])
        self.assertEqual(self.r("ZSCORE", "pg:channels", "c"), b"1")
        self.assertEqual(self.run_script("mesh_topic_delete", self.KEYS, ["c", "2"]), [b"ok", 1, 0])
        self.assertEqual(self.run_script("mesh_topic_delete", self.KEYS, ["c", "2"]), [b"ok", 0, 0])
        for d in ("1", "2", "3"):
            self.assertEqual(self.members("pg:dev:%s:subs" % d), ["other"])
            self.assertEqual(self.hash("pg:dev:%s:cur" % d), {})
        self.assertIsNone(self.r("ZSCORE", "pg:channels", "c"))
        self.assertIsNone(self.r("ZSCORE", "pg:topics", "c"))
        self.assertEqual(self.hash("pg:ch:c:subs:types"), {"0": "0"})
        self.assertEqual(n.next(), b"U 2 ~c")
