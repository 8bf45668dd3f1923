"""The mesh API's channel scripts (lua/mesh_publish.lua,
lua/mesh_subscribe.lua, lua/mesh_unsubscribe.lua) straight in a real Redis:
channel names (docs/DESIGN.md, "Channel names"), counts, retries, the
notices a connected device's broker gets."""

import unittest

from lib.lua import LuaTestCase

D, BK = "41", "7"
DEV, SUBS, CUR = "pg:dev:41", "pg:dev:41:subs", "pg:dev:41:cur"


def sub_keys(ch, d=D):
    """broker_sub.lua's eight keys, for device d and channel ch."""
    dev = "pg:dev:" + d
    return [dev + ":subs", "pg:ch:%s:subs" % ch, dev + ":cur", "pg:ch:" + ch,
            "pg:ch:%s:brokers" % ch, dev, "pg:ch:%s:subs:types" % ch, "pg:channels"]


class SubscribeTest(LuaTestCase):
    def mesh_sub(self, chans, max_subs="1000", d=D):
        keys = [k for c in chans for k in sub_keys(c, d)]
        return self.run_script("mesh_subscribe", keys, [d, max_subs] + chans)

    def mesh_unsub(self, chans, d=D):
        keys = [k for c in chans for k in sub_keys(c, d)]
        return self.run_script("mesh_unsubscribe", keys, [d] + chans)

    def test_a_device_never_known_is_refused_and_nothing_written(self):
        self.assertEqual(self.mesh_sub(["news"]), [b"unknown"])
        self.assertEqual(self.mesh_unsub(["news"]), [b"unknown"])
        self.assertEqual(self.r("KEYS", "*"), [])

    def test_an_offline_device_gets_names_and_ids_as_sub_does(self):
        self.r("HSET", DEV, "known", "1", "broker", "", "type", "3")
        self.add_entry("pg:ch:news", eid="5-1")
        self.assertEqual(self.mesh_sub(["news", "7", "007", "in"]), [b"ok"])
        self.assertEqual(self.members(SUBS), ["007", "7", "in", "news"])
        self.assertEqual(self.members("pg:ch:news:subs"), [D])
        self.assertEqual(self.members("pg:ch:7:subs"), [D])
        self.assertEqual(self.hash("pg:ch:news:subs:types"), {"3": "1"})
        self.assertEqual(self.r("ZSCORE", "pg:channels", "007"), b"1")
        # Fields: an id as it is, other names with '~' (not the inbox's "in").
        self.assertEqual(self.hash(CUR), {"~news": "(5-1 5-1", "7": "(0-0 0-0",
                                          "~007": "(0-0 0-0", "~in": "(0-0 0-0"})
        self.assertEqual(self.members("pg:ch:news:brokers"), [], "no broker holds it")

    def test_a_connected_device_s_broker_is_added_and_told(self):
        self.r("HSET", DEV, "known", "1", "broker", BK)
        n = self.subscribe("pg:n:bk:" + BK)
        self.assertEqual(self.mesh_sub(["news", "7"]), [b"ok"])
        self.assertEqual(n.next(), b"S 41 ~news (0-0 0-0")
        self.assertEqual(n.next(), b"S 41 7 (0-0 0-0")
        self.assertEqual(self.members("pg:ch:news:brokers"), [BK])
        self.assertEqual(self.mesh_unsub(["news"]), [b"ok"])
        self.assertEqual(n.next(), b"U 41 ~news")
        self.assertEqual(self.members(SUBS), ["7"])
        self.assertEqual(self.hash(CUR), {"7": "(0-0 0-0"})
        self.assertEqual(self.members("pg:ch:news:subs"), [])
        self.assertIsNone(self.r("ZSCORE", "pg:channels", "news"))

    def test_a_name_never_spells_another_channel_s_key(self):
        self.r("HSET", DEV, "known", "1")
        keys = sub_keys("a%3Asubs") + sub_keys("a") + sub_keys("100%25")
        got = self.run_script("mesh_subscribe", keys, [D, "1000", "a:subs", "a", "100%"])
        self.assertEqual(got, [b"ok"])
        self.assertEqual(self.members("pg:ch:a:subs"), [D], "a set: channel a's subscribers")
        self.assertEqual(self.members("pg:ch:a%3Asubs:subs"), [D])
        self.assertEqual(self.members("pg:ch:100%25:subs"), [D])
        self.assertEqual(self.members(SUBS), ["100%", "a", "a:subs"])
        # identify reads them back by name, and builds the escaped keys itself
        self.r("HSET", DEV, "broker", "", "offline_at", "1")
        keys = [DEV, SUBS, CUR, "pg:devices", "pg:stats", "pg:online", "pg:online:bk:7",
                "pg:online:brokers"]
        got = self.run_script("broker_identify", keys, [BK, "7:1", D, "", "", "", "127.0.0.1"])
        self.assertEqual(sorted(got[3]), [b"100%", b"a", b"a:subs"])
        for k in ("pg:ch:a%3Asubs:brokers", "pg:ch:a:brokers", "pg:ch:100%25:brokers"):
            self.assertEqual(self.members(k), [BK], k)

    def test_past_max_subs_nothing_is_done(self):
        self.r("HSET", DEV, "known", "1")
        self.assertEqual(self.mesh_sub(["a", "b"], max_subs="2"), [b"ok"])
        self.assertEqual(self.mesh_sub(["a", "c"], max_subs="2"), [b"toomany"])
        self.assertEqual(self.members(SUBS), ["a", "b"])
        self.assertEqual(self.members("pg:ch:c:subs"), [])
        self.assertEqual(self.mesh_sub(["b", "a"], max_subs="2"), [b"ok"], "held already")

    def test_sub_s_cursor_of_a_name_is_the_one_mesh_subscribe_wrote(self):
        self.r("HSET", DEV, "known", "1")
        self.mesh_sub(["news"])
        self.r("HSET", CUR, "~news", "(9-0 9-1")
        got = self.run_script("broker_sub", sub_keys("news"), [D, "news", BK, "1000"])
        self.assertEqual(got, [b"ok", b"(9-0 9-1"])


class PublishTest(LuaTestCase):
    def publish(self, chans, body="hi", frm="0", mid="", sender="s"):
        keys = ["pg:mdup:%s:%s" % (sender, mid or "0"), "pg:next_put_id", "pg:stats"]
        for c in chans:
            keys += ["pg:ch:" + c, "pg:ch:%s:subs" % c, "pg:ch:%s:brokers" % c]
        return self.run_script("mesh_publish", keys,
                               [frm, "1" if mid else "0", "60000", "100", body] + chans)

    def test_counts_every_subscriber_per_channel_and_routes_once(self):
        self.r("SADD", "pg:ch:news:subs", "1", "2", "3")
        self.r("SADD", "pg:ch:news:brokers", "7", "8")
        self.r("SADD", "pg:ch:7:subs", "1")
        self.r("SET", "pg:next_put_id", "100")
        n7, n8 = self.subscribe("pg:n:bk:7"), self.subscribe("pg:n:bk:8")
        self.assertEqual(self.publish(["news", "empty", "7"], frm="5"),
                         [b"ok", b"4", b"0", b"2"])
        (eid, f), = self.entries("pg:ch:news")
        self.assertEqual((f["m"], f["f"], f["c"], f["t"], f["b"]), ("101", "5", "~news", "0", "hi"))
        (eid7, f7), = self.entries("pg:ch:7")
        self.assertEqual((f7["m"], f7["c"]), ("102", "7"), "ids in the order given out")
        self.assertEqual(self.r("EXISTS", "pg:ch:empty"), 0, "no subscriber: nothing kept")
        for n in (n7, n8):
            self.assertEqual(n.next(), ("M %s 101 5 ~news %s 0 0\nhi" % (eid, f["x"])).encode())
        self.assertEqual(self.hash("pg:stats"), {"messages_in": "2"})

    def test_a_retry_with_mid_gets_the_first_answer_and_sends_nothing(self):
        self.r("SADD", "pg:ch:news:subs", "1", "2")
        self.assertEqual(self.publish(["news"], mid="9"), [b"ok", b"2", b"0", b"1"])
        self.r("SADD", "pg:ch:news:subs", "3")
        self.assertEqual(self.publish(["news"], mid="9"), [b"ok", b"2", b"0", b"0"])
        self.assertEqual(len(self.entries("pg:ch:news")), 1)
        self.assertEqual(self.publish(["news"], mid="9", sender="41"), [b"ok", b"3", b"0", b"1"],
                         "another sender")
        self.assertEqual(self.publish(["news"]), [b"ok", b"3", b"0", b"1"], "no mid: no dedup")
        self.assertEqual(len(self.entries("pg:ch:news")), 3)

    def test_a_mid_that_a_mesh_send_took_answers_0(self):
        self.r("SET", "pg:mdup:s:9", "77")
        self.r("SADD", "pg:ch:news:subs", "1")
        self.assertEqual(self.publish(["news"], mid="9"), [b"ok", b"0", b"0", b"0"])
        self.assertEqual(self.entries("pg:ch:news"), [])


if __name__ == "__main__":
    unittest.main()
