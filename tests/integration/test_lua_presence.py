"""The presence and topic indexes (docs/DESIGN.md, "Presence and topic
indexes") as the scripts keep them, straight in a real Redis:
broker_identify / broker_gone keep pg:online and the brokers' sets,
broker_reap takes a dead broker's devices out in bounded steps, and
pg.count_sub keeps pg:topics."""

import json

from lib.lua import LuaTestCase

B, OTHER = "7", "9"
BIG = "9223372036854775807"


def ident_keys(d, b=B):
    return ["pg:dev:" + d, "pg:dev:%s:subs" % d, "pg:dev:%s:cur" % d, "pg:devices", "pg:stats",
            "pg:online", "pg:online:bk:" + b, "pg:online:brokers"]


def gone_keys(d):
    return ["pg:dev:" + d, "pg:dev:%s:cur" % d, "pg:kept", "pg:dev:%s:in" % d,
            "pg:dev:%s:freed" % d, "pg:stats", "pg:dev:%s:subs" % d, "pg:online"]


def member(d):
    return d.rjust(19, "0")


class PresenceTest(LuaTestCase):
    def identify(self, d, b=B, token=None):
        return self.run_script("broker_identify", ident_keys(d, b),
                               [b, token or "%s:1" % b, d, "", "", "", "127.0.0.1"])

    def gone(self, d, token):
        return self.run_script("broker_gone", gone_keys(d), [token, d, "0"])

    def online(self):
        return [m.decode() for m in self.r("ZRANGE", "pg:online", "-", "+", "BYLEX")]

    def test_identify_and_gone(self):
        for d in ("41", BIG, "5"):
            self.assertEqual(self.identify(d)[0], b"ok")
        self.assertEqual(self.online(), [member("5"), member("41"), BIG])
        self.assertEqual(self.r("ZSCORE", "pg:online", member("41")), b"0")
        self.assertEqual(self.members("pg:online:bk:" + B), sorted(["41", BIG, "5"]))
        self.assertEqual(self.members("pg:online:brokers"), [B])
        self.assertEqual(self.gone("41", "7:1"), [b"ok"])
        self.assertEqual(self.online(), [member("5"), BIG])
        self.assertEqual(self.members("pg:online:bk:" + B), sorted([BIG, "5"]))
        self.assertEqual(self.r("ZCARD", "pg:online"), 2)

    def test_an_old_connection_gone_leaves_the_new_one(self):
        self.identify("41", token="7:1")
        self.identify("41", token="7:2")            # replaced on the same broker
        self.assertEqual(self.gone("41", "7:1"), [b"ok"])
        self.assertEqual(self.online(), [member("41")])
        self.assertEqual(self.members("pg:online:bk:" + B), ["41"])
        self.assertEqual(self.gone("41", "7:2"), [b"ok"])
        self.assertEqual(self.online(), [])

    def test_moving_to_another_broker(self):
        self.identify("41")
        self.identify("41", b=OTHER)
        self.assertEqual(self.online(), [member("41")])
        self.assertEqual(self.members("pg:online:bk:" + B), [])
        self.assertEqual(self.members("pg:online:bk:" + OTHER), ["41"])
        self.assertEqual(self.gone("41", "7:1"), [b"ok"], "the old one's gone: nothing")
        self.assertEqual(self.online(), [member("41")])


class ReapTest(LuaTestCase):
    def reap(self, me=B, n="1000", *start):
        return self.run_script("broker_reap", ["pg:online", "pg:online:brokers", "pg:q:$conn",
                                               "pg:q:$conn:bk", "pg:kept"],
                               [me, n, "$conn", "60000", "3"] + list(start))

    def closes(self):
        """The conn.close envelopes pushed to $conn, with their expiry's
        distance from now."""
        now = self.now_ms()
        out = []
        for item in self.r("LRANGE", "pg:q:$conn", 0, -1):
            exp, env = item.decode().split(" ", 1)
            out.append((int(exp) - now, json.loads(env)))
        return out

    def put(self, b, ids):
        for d in ids:
            self.r("HSET", "pg:dev:" + d, "broker", b)
            self.r("ZADD", "pg:online", "0", member(d))
            self.r("SADD", "pg:online:bk:" + b, d)
        self.r("SADD", "pg:online:brokers", b)

    def test_a_dead_brokers_devices_leave_in_bounded_steps(self):
        self.subscribe("pg:n:bk:" + B)
        self.put(B, ["1", "2"])
        self.put(OTHER, [str(d) for d in range(10, 15)])
        self.r("HSET", "pg:dev:12", "broker", B)    # 12 connected to B since
        self.r("ZADD", "pg:online", "0", member("12"))
        left = []
        total = 0
        for _ in range(2):
            reply = self.reap(n="3")
            self.assertEqual(reply[0], b"ok")
            total += reply[1]
            left.append(self.r("SCARD", "pg:online:bk:" + OTHER))
        self.assertEqual(left, [2, 0], "3 per call")
        self.assertEqual(total, 4, "12 is B's now")
        self.assertEqual(sorted(m.decode() for m in self.r("ZRANGE", "pg:online", 0, -1)),
                         [member("1"), member("2"), member("12")])
        self.assertEqual(self.members("pg:online:brokers"), [B])
        self.assertEqual(self.reap(), [b"ok", 0])

    def test_an_earlier_process_with_the_same_id_is_reaped_at_start(self):
        self.subscribe("pg:n:bk:" + B)              # B's new process listens
        self.put(B, ["1", "2", "3"])
        for d in ("1", "2"):
            self.r("HSET", "pg:dev:" + d, "online_at", "100")
        self.r("HSET", "pg:dev:3", "online_at", str(self.now_ms() + 60000))  # since
        self.assertEqual(self.reap(me=B), [b"ok", 0], "a live broker's own: left")
        self.assertEqual(self.reap(B, "1000", "start"), [b"ok", 2])
        self.assertEqual([m.decode() for m in self.r("ZRANGE", "pg:online", 0, -1)],
                         [member("3")])
        self.assertEqual(self.members("pg:online:brokers"), [B])
        self.assertEqual(self.r("EXISTS", "pg:online:bk:" + B), 0)
        self.assertEqual(self.reap(B, "1000", "start"), [b"ok", 0], "nothing aside")

    def test_each_device_reaped_gets_its_conn_close(self):
        woken = self.subscribe("pg:n:bk:" + B)      # B pops $conn: woken
        self.r("SADD", "pg:q:$conn:bk", B)
        self.put(OTHER, ["1", "2", "3", "4"])
        self.r("HSET", "pg:dev:1", "topic", "orders", "ip", "::1")
        self.r("HSET", "pg:dev:2", "topic", "", "ip", "127.0.0.1")
        self.r("HSET", "pg:dev:4", "broker", B)     # connected to B since: no close
        t0 = self.now_ms()
        self.assertEqual(self.reap(), [b"ok", 3])
        got = self.closes()
        self.assertEqual(len(got), 3, "capped at 3 (offline-max), all of them fit")
        for left, env in got:
            self.assertTrue(59000 <= left <= 60000, left)
            self.assertTrue(t0 <= env["p"].pop("ts") <= self.now_ms())
        self.assertEqual(sorted((env for _left, env in got), key=lambda e: e["p"]["c"]), [
            {"e": "conn.close", "p": {"n": int(OTHER), "c": "1", "t": "orders", "ip": "::1"},
             "id": None},
            {"e": "conn.close", "p": {"n": int(OTHER), "c": "2", "t": "", "ip": "127.0.0.1"},
             "id": None},
            {"e": "conn.close", "p": {"n": int(OTHER), "c": "3", "t": "", "ip": ""}, "id": None}])
        self.assertEqual(woken.next(), b"Q $conn")
        self.assertEqual(self.reap(), [b"ok", 0])
        self.assertEqual(len(self.closes()), 3, "each once")

    def test_a_reaped_anonymous_clients_state_expires(self):
        self.put(OTHER, ["5", "6"])
        self.r("HSET", "pg:dev:5", "anon", "1")
        self.r("SADD", "pg:dev:5:subs", "c")
        self.r("HSET", "pg:dev:5:cur", "in", "- -")
        self.assertEqual(self.reap(), [b"ok", 2])
        for k in ("pg:dev:5", "pg:dev:5:subs", "pg:dev:5:cur"):
            self.assertTrue(0 < self.r("PTTL", k) <= 60000, k)
        self.assertEqual(self.r("PTTL", "pg:dev:6"), -1, "a registered device keeps its state")
        self.assertEqual(self.members("pg:kept"), ["5"])

    def test_the_caller_and_live_brokers_are_left_alone(self):
        self.subscribe("pg:n:bk:" + OTHER)
        self.put(B, ["1"])                          # B is the caller (not listening here)
        self.put(OTHER, ["2"])
        self.assertEqual(self.reap(me=B), [b"ok", 0])
        self.assertEqual(self.r("ZCARD", "pg:online"), 2)


class TopicsTest(LuaTestCase):
    def sub(self, d, c, script="broker_sub"):
        keys = ["pg:dev:%s:subs" % d, "pg:ch:%s:subs" % c, "pg:dev:%s:cur" % d, "pg:ch:" + c,
                "pg:ch:%s:brokers" % c, "pg:dev:" + d, "pg:ch:%s:subs:types" % c, "pg:channels"]
        return self.run_script(script, keys, [d, c, B, "100"])

    def test_channels_with_subscribers_in_byte_order(self):
        for d, c in (("1", "b"), ("2", "b"), ("1", "A"), ("1", "007")):
            self.assertEqual(self.sub(d, c)[0], b"ok")
        self.assertEqual(self.r("ZRANGE", "pg:topics", "-", "+", "BYLEX"), [b"007", b"A", b"b"])
        self.assertEqual(self.r("ZSCORE", "pg:topics", "b"), b"0")
        self.sub("1", "b", "broker_unsub")
        self.assertEqual(self.r("ZCARD", "pg:topics"), 3, "b has a subscriber left")
        self.sub("2", "b", "broker_unsub")
        self.sub("2", "b", "broker_unsub")            # idempotent
        self.assertEqual(self.r("ZRANGE", "pg:topics", "-", "+", "BYLEX"), [b"007", b"A"])
