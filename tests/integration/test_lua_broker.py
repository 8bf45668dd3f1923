"""brokerd's Lua scripts (lua/broker_*.lua) run straight in a real Redis:
every branch and every reply. The layout is docs/DESIGN.md's key table."""

import time
import unittest

from lib.lua import LuaTestCase

D, B, OTHER = "41", "7", "9"      # a device, this broker, another broker
DEV, SUBS, CUR = "pg:dev:41", "pg:dev:41:subs", "pg:dev:41:cur"
IDENTIFY_KEYS = [DEV, SUBS, CUR, "pg:devices", "pg:stats", "pg:online", "pg:online:bk:7",
                 "pg:online:brokers"]


class IdentifyTest(LuaTestCase):
    def identify(self, token="7:1", gen=""):
        return self.run_script("broker_identify", IDENTIFY_KEYS, [B, token, D, gen, "", "", "127.0.0.1"])

    def test_the_generation_is_checked_when_given(self):
        self.assertEqual(self.identify(gen="0")[0], b"ok", "0 until revoked")
        self.r("HSET", DEV, "gen", "2")
        self.assertEqual(self.identify(gen="")[0], b"ok", "'': not checked")
        self.assertEqual(self.identify(gen="2")[0], b"ok")

    def test_another_generation_is_refused_and_writes_nothing(self):
        self.r("HSET", DEV, "known", "1", "broker", OTHER, "conn", "9:5", "gen", "1",
               "kept", "2")
        self.r("HSET", "pg:stats", "kept", "2")
        sub = self.subscribe("pg:n:bk:" + OTHER)
        before = (self.hash(DEV), self.hash("pg:stats"), sorted(self.r("KEYS", "*")))
        for gen in ("0", "2"):
            with self.subTest(gen=gen):
                self.assertEqual(self.identify(gen=gen), [b"revoked"])
                self.assertEqual((self.hash(DEV), self.hash("pg:stats"),
                                  sorted(self.r("KEYS", "*"))), before)
        self.r("PUBLISH", "pg:n:bk:" + OTHER, "end")
        self.assertEqual(sub.next(), b"end", "no one kicked")

    def test_an_unknown_device_past_generation_0_is_refused(self):
        self.assertEqual(self.identify(gen="1"), [b"revoked"])
        self.assertEqual(self.r("KEYS", "*"), [])

    def test_never_seen_is_clean_since_0(self):
        before = self.now_ms()
        self.assertEqual(self.identify(), [b"ok", b"0", b"1", [], [], b"0"])
        h = self.hash(DEV)
        self.assertEqual((h["known"], h["broker"], h["conn"]), ("1", B, "7:1"))
        self.assertGreaterEqual(int(h["online_at"]), before)
        self.assertEqual(self.members("pg:devices"), [D])

    def test_what_it_kept_leaves_the_kept_count(self):
        self.r("HSET", DEV, "kept", "3")
        self.r("HSET", "pg:stats", "kept", "7")
        self.identify()
        self.assertEqual((self.hash(DEV)["kept"], self.hash("pg:stats")), ("0", {"kept": "4"}))

    def test_clean_disconnect_is_clean_since_offline_at(self):
        self.r("HSET", DEV, "broker", "", "offline_at", "1234", "type", "3")
        self.assertEqual(self.identify(), [b"ok", b"1234", b"1", [], [], b"3"])

    def test_offline_at_without_broker_field_is_clean(self):
        self.r("HSET", DEV, "offline_at", "99")
        self.assertEqual(self.identify()[1:3], [b"99", b"1"])

    def test_dead_broker_with_registry_since_last_beat_plus_2s(self):
        hb = self.now_ms() - 30000
        self.r("HSET", DEV, "broker", OTHER, "conn", "9:5")
        self.r("HSET", "pg:bk:" + OTHER, "hb", str(hb))
        self.assertEqual(self.identify()[1:3], [str(hb + 2000).encode(), b"0"])

    def test_dead_broker_whose_beat_is_recent_since_now(self):
        self.r("HSET", DEV, "broker", OTHER, "conn", "9:5")
        self.r("HSET", "pg:bk:" + OTHER, "hb", str(self.now_ms() + 60000))
        before = self.now_ms()
        since = int(self.identify()[1])
        self.assertTrue(before <= since <= self.now_ms())

    def test_dead_broker_without_registry_since_58s_ago(self):
        self.r("HSET", DEV, "broker", OTHER, "conn", "9:5")
        before = self.now_ms()
        since = int(self.identify()[1])
        self.assertTrue(before - 58000 <= since <= self.now_ms() - 58000)

    def test_live_other_broker_is_kicked_and_not_clean(self):
        self.r("HSET", DEV, "broker", OTHER, "conn", "9:5")
        sub = self.subscribe("pg:n:bk:" + OTHER)
        before = self.now_ms()
        reply = self.identify()
        self.assertEqual(reply[2], b"0")
        self.assertGreaterEqual(int(reply[1]), before)
        self.assertEqual(sub.next(), b"K 41 9:5")

    def test_kick_without_conn_field(self):
        self.r("HSET", DEV, "broker", OTHER)
        sub = self.subscribe("pg:n:bk:" + OTHER)
        self.identify()
        self.assertEqual(sub.next(), b"K 41 ")

    def test_same_broker_again_is_not_clean_and_not_kicked(self):
        self.r("HSET", DEV, "broker", B, "conn", "7:1")
        sub = self.subscribe("pg:n:bk:" + B)   # would see a kick
        before = self.now_ms()
        reply = self.identify("7:2")
        self.assertEqual(reply[2], b"0")
        self.assertGreaterEqual(int(reply[1]), before)
        self.r("PUBLISH", "pg:n:bk:" + B, "marker")
        self.assertEqual(sub.next(), b"marker")

    def test_subscriptions_and_cursors_come_back_and_broker_joins(self):
        self.r("SADD", SUBS, "5", "6")
        self.r("HSET", CUR, "in", "(1-0 1-0", "5", "(2-0 3-0")
        reply = self.identify()
        self.assertEqual(sorted(reply[3]), [b"5", b"6"])
        self.assertEqual(dict(zip(reply[4][::2], reply[4][1::2])),
                         {b"in": b"(1-0 1-0", b"5": b"(2-0 3-0"})
        self.assertEqual(self.members("pg:ch:5:brokers"), [B])
        self.assertEqual(self.members("pg:ch:6:brokers"), [B])


class GoneTest(LuaTestCase):
    KEYS = [DEV, CUR, "pg:kept", "pg:dev:41:in", "pg:dev:41:freed", "pg:stats", "pg:dev:41:subs",
            "pg:online"]

    def test_its_unfinished_inbox_is_kept_from_now_on(self):
        self.r("HSET", DEV, "broker", B, "conn", "7:1")
        for i in range(1, 1205):              # more than one read of 1000
            self.add_entry("pg:dev:41:in", eid="%d-0" % i)
        self.r("SADD", "pg:dev:41:freed", "pg:dev:41:in 3-0", "pg:dev:41:in 1-0")
        self.r("HSET", "pg:stats", "kept", "5")
        self.assertEqual(self.run_script("broker_gone", self.KEYS, ["7:1", D, "0", "in", "(1-0 2-0"]),
                         [b"ok"])
        # 2-0 .. 1204-0 less 3-0 (freed out of order)
        self.assertEqual(self.hash(DEV)["kept"], "1202")
        self.assertEqual(self.hash("pg:stats"), {"kept": str(5 + 1202)})

    def test_own_connection_goes_offline_with_cursors_saved(self):
        self.r("HSET", DEV, "broker", B, "conn", "7:1")
        before = self.now_ms()
        self.assertEqual(self.run_script("broker_gone", self.KEYS,
                                         ["7:1", D, "0", "in", "(1-0 2-0", "5", "(3-0 3-0"]),
                         [b"ok"])
        h = self.hash(DEV)
        self.assertEqual(h["broker"], "")
        self.assertGreaterEqual(int(h["offline_at"]), before)
        self.assertEqual(self.hash(CUR), {"in": "(1-0 2-0", "5": "(3-0 3-0"})
        self.assertEqual(self.members("pg:kept"), [D])

    def test_replaced_connection_only_saves_cursors(self):
        self.r("HSET", DEV, "broker", OTHER, "conn", "9:5")
        self.assertEqual(self.run_script("broker_gone", self.KEYS, ["7:1", D, "0", "in", "(1-0 1-0"]),
                         [b"ok"])
        self.assertEqual(self.hash(DEV), {"broker": OTHER, "conn": "9:5"})
        self.assertEqual(self.hash(CUR), {"in": "(1-0 1-0"})
        self.assertEqual(self.members("pg:kept"), [])

    def test_without_cursors(self):
        self.r("HSET", DEV, "broker", B, "conn", "7:1")
        self.assertEqual(self.run_script("broker_gone", self.KEYS, ["7:1", D, "0"]), [b"ok"])
        self.assertEqual(self.r("EXISTS", CUR), 0)

    def test_finished_fast_messages_at_a_cursors_head_are_passed(self):
        """Messages FINed before an F notice covered them, named by stream,
        sender and message id: a cursor with nothing unfinished moves past those
        at its head, up to the first entry that is not one of them."""
        self.r("HSET", DEV, "broker", B, "conn", "7:1")
        for i in range(1, 7):
            self.add_entry("pg:dev:41:in", eid="%d-0" % i)
            self.add_entry("pg:ch:5", eid="%d-0" % i)
        # inbox: 2-0, 3-0 FINed (dedup records say so), 4-0 not, 5-0 FINed;
        # channel 5: 4-0 FINed, but its cursor has 3-0 unfinished. The
        # records lie in the window before now's and in now's.
        now = self.now_ms()
        for mid, eid, at in (("11", "2-0", now - self.DUPW_MS), ("12", "3-0", now),
                             ("13", "5-0", now), ("14", "4-0", now)):
            self.r("HSET", self.dup_window_key("9", at), mid, eid)
        extra = ["pg:dev:41:in", "pg:dupw:9", "pg:dev:41:in", "pg:dupw:9",
                 "pg:dev:41:in", "pg:dupw:9", "pg:dev:41:in", "pg:dupw:9",
                 "pg:ch:5", "pg:dupw:9"]
        self.assertEqual(self.run_script("broker_gone", self.KEYS + extra,
                                         ["7:1", D, "0", "in", "(1-0 1-0", "5", "3-0 4-0",
                                          "in", "12", "in", "11", "in", "13", "in", "99",
                                          "5", "14"]),
                         [b"ok"])
        self.assertEqual(self.hash(CUR), {"in": "(3-0 3-0", "5": "3-0 4-0"})
        # message 99 (its PUB not run yet) and 4-0 stop nothing more: 4-0..6-0 are kept
        self.assertEqual(self.hash(DEV)["kept"], "3")

    def test_a_fast_message_of_a_stream_without_a_cursor_changes_nothing(self):
        self.r("HSET", DEV, "broker", B, "conn", "7:1")
        self.add_entry("pg:ch:6", eid="1-0")
        self.r("HSET", self.dup_window_key("9"), "11", "1-0")
        self.assertEqual(self.run_script("broker_gone", self.KEYS + ["pg:ch:6", "pg:dupw:9"],
                                         ["7:1", D, "0", "in", "(0-0 0-0", "6", "11"]), [b"ok"])
        self.assertEqual(self.hash(CUR), {"in": "(0-0 0-0"})


CH = "5"
SUB_KEYS = [SUBS, "pg:ch:5:subs", CUR, "pg:ch:5", "pg:ch:5:brokers", DEV,
            "pg:ch:5:subs:types", "pg:channels"]


class SubTest(LuaTestCase):
    def sub(self, name="broker_sub", ch=CH, max_subs="1000"):
        keys = [k.replace(":5", ":" + ch) for k in SUB_KEYS]
        return self.run_script(name, keys, [D, ch, B, max_subs])

    def test_new_subscriber_of_an_empty_channel(self):
        self.r("HSET", DEV, "type", "3")
        self.assertEqual(self.sub(), [b"ok", b"(0-0 0-0"])
        self.assertEqual(self.members(SUBS), [CH])
        self.assertEqual(self.members("pg:ch:5:subs"), [D])
        self.assertEqual(self.members("pg:ch:5:brokers"), [B])
        self.assertEqual(self.hash("pg:ch:5:subs:types"), {"3": "1"})
        self.assertEqual(self.r("ZSCORE", "pg:channels", CH), b"1")
        self.assertEqual(self.hash(CUR), {CH: "(0-0 0-0"})

    def test_new_subscriber_starts_after_the_newest_entry(self):
        self.add_entry("pg:ch:5", eid="5-1")
        self.add_entry("pg:ch:5", eid="6-2")
        self.assertEqual(self.sub(), [b"ok", b"(6-2 6-2"])
        self.assertEqual(self.hash("pg:ch:5:subs:types"), {"0": "1"})  # no type: 0

    def test_again_keeps_counts_and_cursor(self):
        self.sub()
        self.r("HSET", CUR, CH, "(9-0 9-1")
        self.assertEqual(self.sub(), [b"ok", b"(9-0 9-1"])
        self.assertEqual(self.hash("pg:ch:5:subs:types"), {"0": "1"})
        self.assertEqual(self.r("ZSCORE", "pg:channels", CH), b"1")

    def test_a_count_not_above_0_leaves_the_busiest_channels(self):
        self.r("ZADD", "pg:channels", "-3", CH)
        self.sub()
        self.assertIsNone(self.r("ZSCORE", "pg:channels", CH))

    def test_past_max_subs_is_refused_and_changes_nothing(self):
        self.assertEqual(self.sub(ch="6", max_subs="2")[0], b"ok")
        self.assertEqual(self.sub(ch="7", max_subs="2")[0], b"ok")
        self.assertEqual(self.sub(max_subs="2"), [b"toomany"])
        self.assertEqual(self.members(SUBS), ["6", "7"])
        self.assertEqual(self.members("pg:ch:5:subs"), [])
        self.assertEqual(self.members("pg:ch:5:brokers"), [])
        self.assertEqual(self.hash("pg:ch:5:subs:types"), {})
        self.assertIsNone(self.r("ZSCORE", "pg:channels", CH))
        self.assertEqual(self.hash(CUR), {"6": "(0-0 0-0", "7": "(0-0 0-0"})

    def test_at_max_subs_an_existing_subscription_is_ok(self):
        self.sub(max_subs="1")
        self.assertEqual(self.sub(max_subs="1"), [b"ok", b"(0-0 0-0"])
        self.assertEqual(self.sub(ch="6", max_subs="1"), [b"toomany"])

    def test_unsub(self):
        self.r("HSET", DEV, "type", "2")
        self.sub()
        self.r("SADD", "pg:ch:5:subs", "42")
        self.r("ZINCRBY", "pg:channels", "1", CH)
        self.assertEqual(self.sub("broker_unsub"), [b"ok"])
        self.assertEqual(self.members(SUBS), [])
        self.assertEqual(self.members("pg:ch:5:subs"), ["42"])
        self.assertEqual(self.hash("pg:ch:5:subs:types"), {"2": "0"})
        self.assertEqual(self.r("ZSCORE", "pg:channels", CH), b"1")
        self.assertEqual(self.hash(CUR), {})
        self.assertEqual(self.members("pg:ch:5:brokers"), [B])  # brokerd's to remove

    def test_unsub_of_the_last_subscriber_leaves_the_busiest_channels(self):
        self.sub()
        self.sub("broker_unsub")
        self.assertIsNone(self.r("ZSCORE", "pg:channels", CH))

    def test_unsub_when_not_subscribed_counts_nothing(self):
        self.r("HSET", "pg:ch:5:subs:types", "0", "4")
        self.r("HSET", CUR, CH, "(1-0 1-0")
        self.assertEqual(self.sub("broker_unsub"), [b"ok"])
        self.assertEqual(self.hash("pg:ch:5:subs:types"), {"0": "4"})
        self.assertEqual(self.hash(CUR), {})


TO = "42"


def pub_keys(to=None, ch=CH, frm="41", mid="3"):
    if to:
        stream, target = "pg:dev:%s:in" % to, "pg:dev:%s" % to
    else:
        stream, target = "pg:ch:%s" % ch, "pg:ch:%s:subs" % ch
    return ["pg:dupw:%s" % frm, stream, target, "pg:ch:%s:brokers" % ch, "pg:kept",
            "pg:stats", "pg:dups:%s" % frm]


def pub_args(to="0", ch=CH, body="hello", ttl="60000", maxlen="100", frm="41", mid="3",
             dups="1000", now=None, wrote="", at="", new="0"):
    """now: brokerd's clock (Unix ms), this machine's unless given; new:
    '1' when brokerd vouches the message is no repeat."""
    return [frm, mid, to, ch, body, ttl, maxlen, dups, str(now or int(time.time() * 1000)),
            wrote, at, new]


class PubTest(LuaTestCase):
    def pub(self, to=None, mid="3", **kw):
        return self.run_script("broker_pub", pub_keys(to, mid=mid),
                               pub_args(to or "0", mid=mid, **kw))

    def test_to_an_unknown_device_is_refused(self):
        self.assertEqual(self.pub(TO), [b"nodevice"])
        self.assertEqual(self.r("KEYS", "*"), [])

    def test_to_a_channel_without_subscribers_is_refused(self):
        self.assertEqual(self.pub(), [b"nosub"])
        self.assertEqual(self.r("KEYS", "*"), [])

    def test_to_an_offline_device_is_stored_kept_and_remembered(self):
        self.r("HSET", "pg:dev:42", "known", "1")
        now = self.now_ms() + 5000           # brokerd's clock, wherever it is
        reply = self.pub(TO, now=now)
        self.assertEqual(reply[0], b"ok")
        [(eid, f)] = self.entries("pg:dev:42:in")
        self.assertEqual(reply[1].decode(), eid)
        self.assertEqual(f, {"m": "3", "f": "41", "c": CH, "x": str(now + 60000), "t": "0",
                             "b": "hello"})
        self.assertEqual(self.members("pg:kept"), [TO])
        # the dedup record, in the window of brokerd's clock: kept 11
        # minutes past the window's end
        w = self.dup_window_key("41", now)
        self.assertEqual(self.hash(w), {"3": eid})
        self.assertEqual(self.r("PEXPIRETIME", w),
                         (now // self.DUPW_MS + 1) * self.DUPW_MS + 660000)
        self.assertEqual(self.hash("pg:stats"), {"kept": "1"}, "messages_in: at the beat")
        self.assertEqual(self.hash("pg:dev:42"), {"known": "1", "kept": "1",
                                                  "inx": str(now + 60000)})
        self.assertEqual(self.r("PEXPIRETIME", "pg:dev:42:in"), now + 60000)

    def test_kept_counts_what_the_cap_leaves(self):
        self.r("HSET", "pg:dev:42", "known", "1")
        for mid in range(1, 5):
            self.pub(TO, mid=str(mid), maxlen="3")
        self.assertEqual(len(self.entries("pg:dev:42:in")), 3)
        self.assertEqual(self.hash("pg:stats"), {"kept": "3"})
        self.assertEqual(self.hash("pg:dev:42")["kept"], "3")

    def test_to_an_online_device_notifies_its_broker(self):
        self.r("HSET", "pg:dev:42", "known", "1", "broker", OTHER)
        sub = self.subscribe("pg:n:bk:" + OTHER)
        reply = self.pub(TO, body="two\nlines")
        [(eid, f)] = self.entries("pg:dev:42:in")
        self.assertEqual(sub.next(), ("M %s 3 41 %s %s 42 0\ntwo\nlines"
                                      % (eid, CH, f["x"])).encode())
        self.assertEqual(reply, [b"ok", eid.encode()])
        self.assertEqual(self.members("pg:kept"), [])

    def test_written_by_the_devices_broker_it_gets_F_not_the_message(self):
        self.r("HSET", "pg:dev:42", "known", "1", "broker", B)
        sub = self.subscribe("pg:n:bk:" + B)
        at = self.now_ms() + 5000                 # the broker's proposal is taken
        reply = self.pub(TO, wrote=B, at=str(at))
        [(eid, f)] = self.entries("pg:dev:42:in")
        self.assertEqual(eid, "%d-0" % at)
        self.assertEqual(reply, [b"ok", eid.encode()])
        self.assertEqual(sub.next(), ("F 42 %s %s 41 3" % (CH, eid)).encode())
        self.assertEqual(self.members("pg:kept"), [])

    def test_written_before_the_device_moved_its_new_broker_gets_the_message(self):
        self.r("HSET", "pg:dev:42", "known", "1", "broker", OTHER)
        subs = [self.subscribe("pg:n:bk:" + b) for b in (OTHER, B)]
        at = self.now_ms()
        reply = self.pub(TO, wrote=B, at=str(at))
        [(eid, f)] = self.entries("pg:dev:42:in")
        self.assertEqual(reply, [b"ok", eid.encode()])
        self.assertEqual(subs[0].next(), ("M %s 3 41 %s %s 42 0\nhello"
                                          % (eid, CH, f["x"])).encode())
        self.r("PUBLISH", "pg:n:bk:" + B, "end")
        self.assertEqual(subs[1].next(), b"end", "nothing for the broker that wrote it")

    def test_a_channel_written_by_one_of_its_brokers(self):
        self.r("SADD", "pg:ch:5:subs", "42", "43")
        self.r("SADD", "pg:ch:5:brokers", B, OTHER)
        subs = [self.subscribe("pg:n:bk:" + b) for b in (B, OTHER)]
        reply = self.pub(wrote=B, at=str(self.now_ms()))
        [(eid, f)] = self.entries("pg:ch:5")
        self.assertEqual(reply, [b"ok", eid.encode()])
        self.assertEqual(subs[0].next(), ("F 0 5 %s 41 3" % eid).encode())
        self.assertEqual(subs[1].next(), ("M %s 3 41 5 %s 0 0\nhello" % (eid, f["x"])).encode())

    def test_a_proposal_below_the_streams_last_entry_takes_redis_clock(self):
        self.r("HSET", "pg:dev:42", "known", "1")
        self.r("XADD", "pg:dev:42:in", "%d-0" % (self.now_ms() + 60000), "m", "1")
        reply = self.pub(TO, at=str(self.now_ms()))
        last = self.entries("pg:dev:42:in")[-1][0]
        self.assertEqual(reply, [b"ok", last.encode()])
        self.assertEqual(last.split("-")[1], "1", "after the later entry")

    def test_a_repeat_gets_the_first_answer_and_stores_nothing(self):
        self.r("HSET", "pg:dev:42", "known", "1", "broker", OTHER)
        sub = self.subscribe("pg:n:bk:" + OTHER)
        first = self.pub(TO)
        self.assertEqual(sub.next()[:2], b"M ")
        for what in ("the same", "past its quota", "the device gone"):
            with self.subTest(what):
                dups = "1" if what == "past its quota" else "1000"
                if what == "the device gone":
                    self.r("DEL", "pg:dev:42")
                self.assertEqual(self.pub(TO, body="other", dups=dups), first)
        self.assertEqual(len(self.entries("pg:dev:42:in")), 1)
        self.assertEqual(self.r("GET", "pg:dups:41"), b"1", "a repeat is not counted")
        self.r("PUBLISH", "pg:n:bk:" + OTHER, "end")
        self.assertEqual(sub.next(), b"end", "a repeat is not delivered again")

    def test_a_repeat_is_found_ten_minutes_later_and_from_a_clock_behind(self):
        """The windows looked at: now's, the two before, the one after."""
        self.r("HSET", "pg:dev:42", "known", "1")
        w0 = (self.now_ms() // self.DUPW_MS) * self.DUPW_MS     # a window's start
        first = self.pub(TO, now=w0, ttl="3600000")
        for what, at in (("10 minutes later", w0 + 600000 + self.DUPW_MS - 1),
                         ("a broker 5 minutes behind", w0 - self.DUPW_MS)):
            with self.subTest(what):
                self.assertEqual(self.pub(TO, body="again", now=at, ttl="3600000"), first)
        self.assertEqual(len(self.entries("pg:dev:42:in")), 1)
        self.assertEqual(self.r("KEYS", "pg:dupw:*"), [self.dup_window_key("41", w0).encode()])
        # 15 minutes after the window's start, it is no longer looked at
        self.assertNotEqual(self.pub(TO, body="new", now=w0 + 3 * self.DUPW_MS, ttl="3600000"),
                            first)
        self.assertEqual(len(self.entries("pg:dev:42:in")), 2)

    def test_a_message_vouched_new_is_not_looked_up(self):
        """brokerd vouches only for ids it knows are no repeat (DESIGN,
        "Repeats"); the record is written all the same."""
        self.r("HSET", "pg:dev:42", "known", "1")
        now = self.now_ms()
        self.r("HSET", self.dup_window_key("41", now), "3", "1-0")
        reply = self.pub(TO, now=now, new="1")
        [(eid, _)] = self.entries("pg:dev:42:in")
        self.assertEqual(reply, [b"ok", eid.encode()])
        self.assertEqual(self.dup_records("41"), {"3": eid})

    def test_the_inbox_expiry_is_kept_in_the_device_hash(self):
        self.r("HSET", "pg:dev:42", "known", "1", "broker", OTHER)
        now = self.now_ms()
        self.pub(TO, mid="1", now=now)
        self.assertEqual(self.r("PEXPIRETIME", "pg:dev:42:in"), now + 60000)
        self.assertEqual(self.hash("pg:dev:42")["inx"], str(now + 60000))
        self.pub(TO, mid="2", now=now + 5000)         # within a tenth: no call
        self.r("PEXPIREAT", "pg:dev:42:in", now + 30000)   # (not read: inx is)
        self.pub(TO, mid="3", now=now + 6000)
        self.assertEqual(self.r("PEXPIRETIME", "pg:dev:42:in"), now + 30000)
        self.pub(TO, mid="4", now=now + 7000)          # over a tenth early: pushed
        self.assertEqual(self.r("PEXPIRETIME", "pg:dev:42:in"), now + 67000)
        self.assertEqual(self.hash("pg:dev:42")["inx"], str(now + 67000))

    def test_an_inbox_that_went_gets_an_expiry_again(self):
        self.r("HSET", "pg:dev:42", "known", "1", "inx", str(self.now_ms() - 1))
        now = self.now_ms()
        self.pub(TO, now=now)                          # expired: inx is past
        self.assertEqual(self.r("PEXPIRETIME", "pg:dev:42:in"), now + 60000)
        self.assertEqual(self.hash("pg:dev:42")["inx"], str(now + 60000))

    def test_to_a_channel_notifies_each_of_its_brokers_once(self):
        self.r("SADD", "pg:ch:5:subs", "42", "43")
        self.r("SADD", "pg:ch:5:brokers", B, OTHER)
        subs = [self.subscribe("pg:n:bk:" + b) for b in (B, OTHER)]
        reply = self.pub()
        [(eid, f)] = self.entries("pg:ch:5")
        self.assertEqual(reply, [b"ok", eid.encode()])
        want = ("M %s 3 41 5 %s 0 0\nhello" % (eid, f["x"])).encode()
        self.assertEqual([s.next() for s in subs], [want, want])
        self.assertEqual(self.members("pg:kept"), [])

    def test_a_sender_past_its_dedup_keys_is_refused(self):
        self.r("HSET", "pg:dev:42", "known", "1")
        for mid in ("1", "2"):
            self.assertEqual(self.pub(TO, mid=mid, dups="2")[0], b"ok")
        self.assertTrue(599 <= self.r("TTL", "pg:dups:41") <= 600, "the window: 10 minutes")
        self.r("EXPIRE", "pg:dups:41", "300")              # set at the window's first only
        self.assertEqual(self.pub(TO, mid="3", dups="2"), [b"toomany"])
        self.assertEqual(self.r("TTL", "pg:dups:41"), 300)
        self.assertEqual(sorted(self.dup_records("41")), ["1", "2"], "no dedup record for 3")
        self.assertEqual(len(self.entries("pg:dev:42:in")), 2, "nothing stored")
        self.assertEqual(self.hash("pg:stats"), {"kept": "2"})
        self.assertEqual(self.pub(TO, mid="2", dups="2")[0], b"ok", "a repeat is answered")
        self.r("DEL", "pg:dups:41")                        # the window ended
        self.assertEqual(self.pub(TO, mid="3", dups="2")[0], b"ok")
        self.assertEqual(self.r("GET", "pg:dups:41"), b"1")

    def test_other_senders_and_no_bound(self):
        self.r("SADD", "pg:ch:5:subs", "42")
        self.r("SET", "pg:dups:41", "5")
        self.assertEqual(self.pub(mid="7", dups="5"), [b"toomany"])
        self.assertEqual(self.pub(mid="7", dups="0")[0], b"ok", "0: no bound")
        self.assertEqual(self.r("GET", "pg:dups:41"), b"6", "0: not counted")
        self.assertEqual(self.run_script("broker_pub", pub_keys(frm="43", mid="7"),
                                         pub_args(frm="43", mid="7", dups="5"))[0], b"ok")
        self.assertEqual(self.r("GET", "pg:dups:43"), b"1")

    def test_refused_targets_are_not_counted(self):
        self.assertEqual(self.pub(TO), [b"nodevice"])
        self.assertEqual(self.pub(), [b"nosub"])
        self.assertEqual(self.r("EXISTS", "pg:dups:41"), 0)

    def test_the_stream_is_capped_and_expires(self):
        self.r("SADD", "pg:ch:5:subs", "42")
        for mid in range(1, 5):
            self.run_script("broker_pub", pub_keys(mid=mid), pub_args(mid=mid, maxlen="3"))
        self.assertEqual([f["m"] for _, f in self.entries("pg:ch:5")], ["2", "3", "4"])
        self.assertTrue(59000 <= self.r("PTTL", "pg:ch:5") <= 60000)

    def test_the_expiry_is_pushed_only_when_it_would_end_early(self):
        self.r("SADD", "pg:ch:5:subs", "42")
        self.add_entry("pg:ch:5")
        self.r("PEXPIRE", "pg:ch:5", "58000")        # within a tenth: kept
        self.pub(mid="4")
        self.assertLessEqual(self.r("PTTL", "pg:ch:5"), 58000)
        self.r("PEXPIRE", "pg:ch:5", "50000")        # over a tenth early: pushed
        self.pub(mid="5")
        self.assertGreater(self.r("PTTL", "pg:ch:5"), 59000)


class BeatTest(LuaTestCase):
    def test_beat(self):
        self.r("HSET", "pg:bk:7", "assigned", "5")
        self.r("HSET", "pg:stats", "messages_out", "10")
        before = self.now_ms()
        keys = ["pg:bk:7", "pg:brokers", "pg:stats", "pg:limits"]
        self.assertEqual(self.run_script("broker_beat", keys,
                                         [B, "3", "4", "addr", "h:1", "conns", "2"]),
                         [b"ok", b"-", b"-"])
        h = self.hash("pg:bk:7")
        self.assertGreaterEqual(int(h.pop("hb")), before)
        self.assertEqual(h, {"assigned": "0", "addr": "h:1", "conns": "2"})
        self.assertEqual(self.hash("pg:stats"), {"messages_in": "3", "messages_out": "14"},
                         "the PUBs accepted since the last beat are counted here")
        self.run_script("broker_beat", keys, [B, "2", "0"])
        self.assertEqual(self.hash("pg:stats"), {"messages_in": "5", "messages_out": "14"})
        self.assertTrue(59000 <= self.r("PTTL", "pg:bk:7") <= 60000)

    def test_beat_reads_the_limits(self):
        keys = ["pg:bk:7", "pg:brokers", "pg:stats", "pg:limits"]
        self.r("HSET", "pg:limits", "messages_per_s", "12")
        self.assertEqual(self.run_script("broker_beat", keys, [B, "0", "0"]), [b"ok", b"-", b"12"])
        self.r("HSET", "pg:limits", "accept_per_s", "0")
        self.assertEqual(self.run_script("broker_beat", keys, [B, "0", "0"]), [b"ok", b"0", b"12"])
        self.assertEqual(self.members("pg:brokers"), [B])


if __name__ == "__main__":
    unittest.main()
