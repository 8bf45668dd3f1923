"""adminhttp's Lua scripts (lua/admin_*.lua) run straight in a real
Redis: every branch and every reply."""

import unittest

from lib.lua import LuaTestCase

R = "50"     # a receiver (API client or device)


def receiver_keys(d=R):
    return ["pg:dev:%s" % d, "pg:dev:%s:in" % d, "pg:dev:%s:subs" % d, "pg:dev:%s:cur" % d,
            "pg:dev:%s:freed" % d]


class SendTest(LuaTestCase):
    KEYS = ["pg:dupw:60", "pg:dev:50", "pg:dev:50:in", "pg:api:clients", "pg:kept", "pg:stats"]

    def send(self, body="hi"):
        return self.run_script("admin_send", self.KEYS, ["60", R, "3", body, "60000", "10"])

    def test_to_an_unknown_receiver(self):
        self.assertEqual(self.send(), [b"unknown"])
        self.assertEqual(self.r("KEYS", "*"), [])

    def test_to_an_api_client_is_kept(self):
        self.r("SADD", "pg:api:clients", R)
        self.assertEqual(self.send(), [b"ok"])
        [(eid, f)] = self.entries("pg:dev:50:in")
        self.assertEqual({k: v for k, v in f.items() if k != "x"},
                         {"m": "3", "f": "60", "c": "0", "t": "0", "b": "hi"})
        self.assertEqual(self.members("pg:kept"), [R])
        self.assertEqual(self.dup_records("60"), {"3": eid})
        self.assertEqual(self.hash("pg:stats"), {"messages_in": "1", "kept": "1"})
        h = self.hash("pg:dev:50")
        self.assertEqual(self.r("PEXPIRETIME", "pg:dev:50:in"), int(h.pop("inx")),
                         "its inbox's expiry (pg.outlive_inbox)")
        self.assertEqual(h, {"kept": "1"})

    def test_a_repeat_is_answered_not_sent(self):
        self.r("SADD", "pg:api:clients", R)
        self.send()
        self.assertEqual(self.send("again"), [b"ok"])
        self.assertEqual(len(self.entries("pg:dev:50:in")), 1)

    def test_to_an_online_device_notifies_its_broker(self):
        self.r("HSET", "pg:dev:50", "known", "1", "broker", "9")
        sub = self.subscribe("pg:n:bk:9")
        self.assertEqual(self.send(), [b"ok"])
        [(eid, f)] = self.entries("pg:dev:50:in")
        self.assertEqual(sub.next(), ("M %s 3 60 0 %s 50 0\nhi" % (eid, f["x"])).encode())
        self.assertEqual(self.members("pg:kept"), [])


class ReceiverCase(LuaTestCase):
    def recv(self):
        return self.run_script("admin_recv", receiver_keys())

    def free(self, mid):
        return self.run_script("admin_free", receiver_keys() + ["pg:stats"], [mid])


class RecvTest(ReceiverCase):
    def test_nothing_kept(self):
        self.assertEqual(self.recv(), [b"empty"])

    def test_the_oldest_of_inbox_and_channels(self):
        self.add_entry("pg:dev:50:in", mid="2", eid="20-0", body="in")
        self.add_entry("pg:ch:5", mid="1", frm="8", eid="10-0", body="ch")
        self.r("SADD", "pg:dev:50:subs", "5", "6")      # 6: no cursor, not read
        self.add_entry("pg:ch:6", mid="0", eid="1-0")
        self.r("HSET", "pg:dev:50:cur", "5", "(0-0 0-0")
        self.assertEqual(self.recv(), [b"ok", b"8", b"1", b"ch"])

    def test_passes_over_expired_other_type_freed_and_read(self):
        self.r("HSET", "pg:dev:50", "type", "3")
        self.add_entry("pg:dev:50:in", mid="1", eid="1-0")                 # read
        self.add_entry("pg:dev:50:in", mid="2", eid="2-0", exp=1)          # expired
        self.add_entry("pg:dev:50:in", mid="3", eid="3-0", ty="2")         # other type
        self.add_entry("pg:dev:50:in", mid="4", eid="4-0")                 # freed
        self.add_entry("pg:dev:50:in", mid="5", eid="5-0", ty="3")
        self.r("HSET", "pg:dev:50:cur", "in", "(1-0 1-0")
        self.r("SADD", "pg:dev:50:freed", "pg:dev:50:in 4-0")
        self.assertEqual(self.recv(), [b"ok", b"7", b"5", b"b"])


class FreeTest(ReceiverCase):
    def test_no_such_message(self):
        self.add_entry("pg:dev:50:in", mid="1")
        self.assertEqual(self.free("2"), [b"nomsg"])

    def test_the_head_moves_the_cursor(self):
        self.add_entry("pg:dev:50:in", mid="1", eid="1-0")
        self.add_entry("pg:dev:50:in", mid="2", eid="2-0")
        self.r("HSET", "pg:dev:50", "kept", "2")
        self.r("HSET", "pg:stats", "kept", "5")
        self.assertEqual(self.free("1"), [b"ok"])
        self.assertEqual(self.hash("pg:dev:50:cur"), {"in": "(1-0 1-0"})
        self.assertEqual(self.recv()[2], b"2")
        self.assertEqual((self.hash("pg:dev:50"), self.hash("pg:stats")),
                         ({"kept": "1"}, {"kept": "4"}), "one freed, not connected")

    def test_a_connected_receivers_free_counts_nothing(self):
        self.add_entry("pg:dev:50:in", mid="1", eid="1-0")
        self.r("HSET", "pg:dev:50", "broker", "7")
        self.assertEqual(self.free("1"), [b"ok"])
        self.assertEqual(self.hash("pg:stats"), {})

    def test_sent_is_kept_when_newer(self):
        self.add_entry("pg:ch:5", mid="1", eid="1-0")
        self.r("SADD", "pg:dev:50:subs", "5")
        self.r("HSET", "pg:dev:50:cur", "5", "(0-0 9-0")
        self.assertEqual(self.free("1"), [b"ok"])
        self.assertEqual(self.hash("pg:dev:50:cur"), {"5": "(1-0 9-0"})

    def test_out_of_order_then_the_head_moves_past_both(self):
        self.add_entry("pg:dev:50:in", mid="1", eid="1-0")
        self.add_entry("pg:dev:50:in", mid="2", eid="2-0")
        self.add_entry("pg:dev:50:in", mid="3", eid="3-0", exp=1)   # passed over
        self.add_entry("pg:dev:50:in", mid="4", eid="4-0")
        self.r("HSET", "pg:stats", "kept", "4")
        self.assertEqual(self.free("2"), [b"ok"])
        self.assertEqual(self.members("pg:dev:50:freed"), ["pg:dev:50:in 2-0"])
        self.assertEqual(self.hash("pg:dev:50:cur"), {})
        self.assertEqual(self.hash("pg:stats"), {"kept": "3"})
        self.assertEqual(self.free("1"), [b"ok"])
        self.assertEqual(self.hash("pg:dev:50:cur"), {"in": "(3-0 3-0"})
        self.assertEqual(self.members("pg:dev:50:freed"), [])
        self.assertEqual(self.hash("pg:stats"), {"kept": "1"}, "1 freed, 3 passed over")

    def test_the_oldest_of_two_with_one_id(self):
        self.add_entry("pg:ch:5", mid="1", eid="5-0")
        self.add_entry("pg:dev:50:in", mid="1", eid="7-0")
        self.r("SADD", "pg:dev:50:subs", "5")
        self.r("HSET", "pg:dev:50:cur", "5", "(0-0 0-0")
        self.assertEqual(self.free("1"), [b"ok"])
        self.assertEqual(self.hash("pg:dev:50:cur"), {"5": "(5-0 5-0"})

    def subscribed(self):
        self.r("SADD", "pg:dev:50:subs", "5")
        self.r("HSET", "pg:dev:50:cur", "5", "(0-0 0-0")

    def test_ids_compared_by_sequence(self):
        self.subscribed()
        self.add_entry("pg:dev:50:in", mid="1", eid="5-1")
        self.add_entry("pg:ch:5", mid="1", eid="5-0")
        self.assertEqual(self.free("1"), [b"ok"])                # 5-0 is older
        self.assertEqual(self.hash("pg:dev:50:cur")["5"], "(5-0 5-0")

    def test_the_same_id_in_two_streams_frees_the_inbox_one(self):
        self.subscribed()
        for stream in ("pg:dev:50:in", "pg:ch:5"):
            self.add_entry(stream, mid="9", eid="1-0")           # heads, kept
            self.add_entry(stream, mid="2", eid="6-0")
        self.assertEqual(self.free("2"), [b"ok"])
        self.assertEqual(self.members("pg:dev:50:freed"), ["pg:dev:50:in 6-0"])

class ClientTest(LuaTestCase):
    def test_helo_and_gbye(self):
        self.assertEqual(self.run_script("admin_helo", ["pg:api:clients"], [R]), [b"ok"])
        self.assertEqual(self.members("pg:api:clients"), [R])
        self.add_entry("pg:dev:50:in")
        self.r("SADD", "pg:dev:50:freed", "x")
        self.r("HSET", "pg:dev:50:cur", "in", "(1-0 1-0", "5", "(2-0 2-0")
        self.r("HSET", "pg:dev:50", "kept", "1", "inx", "1")
        self.r("HSET", "pg:stats", "kept", "3")
        self.assertEqual(self.run_script("admin_gbye", ["pg:api:clients", "pg:dev:50:in",
                                                        "pg:dev:50:freed", "pg:dev:50:cur",
                                                        "pg:dev:50", "pg:stats"],
                                         [R]), [b"ok"])
        self.assertEqual((self.hash("pg:dev:50"), self.hash("pg:stats")),
                         ({"kept": "0"}, {"kept": "2"}), "inx went with the inbox")
        self.assertEqual(self.members("pg:api:clients"), [])
        self.assertEqual(self.r("EXISTS", "pg:dev:50:in", "pg:dev:50:freed"), 0)
        self.assertEqual(self.hash("pg:dev:50:cur"), {"5": "(2-0 2-0"})


STATS_KEYS = ["pg:brokers", "pg:stats", "pg:devices", "pg:channels"]


class StatsTest(LuaTestCase):
    def stats(self):
        return self.run_script("admin_stats", STATS_KEYS)

    def test_empty(self):
        reply = self.stats()
        self.assertEqual(reply[0], b"ok")
        self.assertLessEqual(abs(reply[1] - self.now_ms()), 1000)
        self.assertEqual(reply[2:], [[], 0, 0, b"0", b"0", 0])

    def test_brokers_with_liveness_judged_here(self):
        now = self.now_ms()
        self.r("HSET", "pg:bk:5", "addr", "h:1", "conns", "2", "started", "100",
               "hb", str(now), "messages_in", "3", "messages_out", "4",
               "messages_pending", "1", "proc", "4", "ws_clients", "5", "ws_services", "1",
               "ws", "h:9")
        self.r("HSET", "pg:bk:6", "addr", "h:2", "hb", str(now - 6000))
        self.r("SADD", "pg:brokers", "5", "6", "7")        # 7: no registry entry
        rows = sorted(self.stats()[2])
        self.assertEqual(rows, [
            [b"5", b"h:1", b"2", b"100", str(now).encode(), b"3", b"4", b"1", b"4", b"1", b"5",
             b"1", b"h:9"],
            [b"6", b"h:2", b"0", b"0", str(now - 6000).encode(), b"0", b"0", b"0", b"6",
             b"0", b"0", b"0", b""]])

    def test_totals_and_kept_are_counters(self):
        self.r("HSET", "pg:stats", "messages_in", "9", "messages_out", "8", "kept", "3")
        self.r("SADD", "pg:devices", "1", "2")
        self.r("ZADD", "pg:channels", "1", "5")
        self.add_entry("pg:dev:61:in")                     # not walked
        self.r("SADD", "pg:kept", "61")
        self.assertEqual(self.stats()[3:], [2, 1, b"9", b"8", 3])
        self.r("HSET", "pg:stats", "kept", "-1")           # never below 0
        self.assertEqual(self.stats()[7], 0)


class SweepTest(LuaTestCase):
    def sweep(self, cursor="0", count="100"):
        return self.run_script("admin_sweep", ["pg:kept", "pg:stats", "pg:devices"],
                               [cursor, count])

    def test_an_anonymous_client_leaves_the_devices_once_its_hash_expired(self):
        self.r("SADD", "pg:devices", "70", "71", "72", "73")
        self.r("HSET", "pg:dev:70", "known", "1", "anon", "1", "broker", "")  # away, not expired
        self.r("HSET", "pg:dev:71", "known", "1", "anon", "1", "broker", "9")  # connected
        self.r("HSET", "pg:dev:73", "known", "1", "broker", "")  # registered, keeps nothing
        self.r("SADD", "pg:kept", "70", "71", "72", "73")  # 72: its hash expired
        self.assertEqual(self.sweep(), [b"ok", b"0", 0])
        self.assertEqual(self.members("pg:kept"), ["70"], "70 waits for its hash to expire")
        self.assertEqual(self.members("pg:devices"), ["70", "71", "73"])
        self.r("DEL", "pg:dev:70")                         # now it did
        self.assertEqual(self.sweep(), [b"ok", b"0", 0])
        self.assertEqual((self.members("pg:kept"), self.members("pg:devices")), ([], ["71", "73"]))

    def test_an_expired_inbox_leaves_the_count(self):
        self.r("HSET", "pg:stats", "kept", "10")
        self.r("HSET", "pg:dev:60", "kept", "4")           # its inbox expired
        self.r("HSET", "pg:dev:61", "kept", "2")           # still keeps two
        self.add_entry("pg:dev:61:in")
        self.r("HSET", "pg:dev:62", "kept", "0")           # keeps nothing
        self.r("HSET", "pg:dev:63", "broker", "9")         # connected
        self.r("SADD", "pg:kept", "60", "61", "62", "63")
        self.assertEqual(self.sweep(), [b"ok", b"0", 4])
        self.assertEqual(self.hash("pg:stats"), {"kept": "6"})
        self.assertEqual(self.hash("pg:dev:60"), {"kept": "0"})
        self.assertEqual(self.members("pg:kept"), ["61"])

    def test_a_pass_in_steps(self):
        for d in range(100, 700):        # past intset: SSCAN goes in steps
            self.r("HSET", "pg:dev:%d" % d, "kept", "1")
            self.r("SADD", "pg:kept", str(d))
        self.r("HSET", "pg:stats", "kept", "600")
        cursor, steps, dropped = b"0", 0, 0
        while True:
            r = self.sweep(cursor.decode(), "10")
            cursor, steps, dropped = r[1], steps + 1, dropped + r[2]
            if cursor == b"0":
                break
        self.assertGreater(steps, 5)
        self.assertEqual((dropped, self.hash("pg:stats")), (600, {"kept": "0"}))
        self.assertEqual(self.members("pg:kept"), [])


class DeviceTest(LuaTestCase):
    def device(self, id_="", serial_key=None):
        keys = ["pg:api:clients"] + ([serial_key] if serial_key else [])
        return self.run_script("admin_device", keys, [id_])

    def test_unknown_by_id_and_by_serial(self):
        self.assertEqual(self.device("42"), [b"unknown"])
        self.assertEqual(self.device(serial_key="pg:serial:1:X"), [b"unknown"])
        self.r("SET", "pg:serial:1:X", "42")
        self.assertEqual(self.device(serial_key="pg:serial:1:X"), [b"unknown"])

    def test_offline_device_by_serial(self):
        self.r("SET", "pg:serial:1:X", "42")
        self.r("HSET", "pg:dev:42", "known", "1", "type", "1", "serial", "X", "name", "n",
               "ctx", '{"k":"v"}')
        self.r("SADD", "pg:dev:42:subs", "5")
        self.add_entry("pg:dev:42:in")
        self.assertEqual(self.device(serial_key="pg:serial:1:X"),
                         [b"ok", b"42", b"1", b"X", b"n", b"", b"", b"0", [b"5"], 1, b'{"k":"v"}'])

    def test_an_api_client(self):
        self.r("SADD", "pg:api:clients", "60")
        self.assertEqual(self.device("60"), [b"ok", b"60", b"0", b"", b"", b"", b"", b"0", [], 0, b""])

    def test_online_on_a_live_broker_names_its_process(self):
        self.r("HSET", "pg:dev:42", "known", "1", "broker", "7")
        self.r("HSET", "pg:bk:7", "addr", "h:1", "hb", str(self.now_ms()), "proc", "6")
        self.assertEqual(self.device("42")[5:8], [b"6", b"h:1", b"1"])

    def test_on_a_dead_broker_is_offline(self):
        self.r("HSET", "pg:dev:42", "known", "1", "broker", "7")
        self.r("HSET", "pg:bk:7", "addr", "h:1", "hb", str(self.now_ms() - 5001))
        self.assertEqual(self.device("42")[5:8], [b"7", b"", b"0"])

    def test_on_a_broker_without_registry_is_offline(self):
        self.r("HSET", "pg:dev:42", "known", "1", "broker", "7")
        self.assertEqual(self.device("42")[5:8], [b"7", b"", b"0"])


class DisconnectTest(LuaTestCase):
    def disconnect(self):
        return self.run_script("admin_disconnect", ["pg:dev:42"], ["42"])

    def test_offline(self):
        self.assertEqual(self.disconnect(), [b"offline"])
        self.r("HSET", "pg:dev:42", "broker", "")
        self.assertEqual(self.disconnect(), [b"offline"])

    def test_online_tells_its_broker(self):
        self.r("HSET", "pg:dev:42", "broker", "9")
        self.assertEqual(self.disconnect(), [b"ok", 0])       # nobody listening
        sub = self.subscribe("pg:n:bk:9")
        self.assertEqual(self.disconnect(), [b"ok", 1])
        self.assertEqual(sub.next(), b"D 42")


class RevokeTest(LuaTestCase):
    def revoke(self):
        return self.run_script("admin_revoke", ["pg:dev:42"], ["42"])

    def test_unknown_device_changes_nothing(self):
        self.assertEqual(self.revoke(), [b"unknown"])
        self.assertEqual(self.r("KEYS", "*"), [])

    def test_offline_device_gets_the_next_generation(self):
        self.r("HSET", "pg:dev:42", "known", "1")
        self.assertEqual(self.revoke(), [b"ok", 1, 0])
        self.r("HSET", "pg:dev:42", "broker", "")
        self.assertEqual(self.revoke(), [b"ok", 2, 0])
        self.assertEqual(self.hash("pg:dev:42"), {"known": "1", "broker": "", "gen": "2"})

    def test_online_device_is_disconnected_too(self):
        self.r("HSET", "pg:dev:42", "known", "1", "broker", "9", "gen", "4")
        sub = self.subscribe("pg:n:bk:9")
        self.assertEqual(self.revoke(), [b"ok", 5, 1])
        self.assertEqual(sub.next(), b"D 42")


if __name__ == "__main__":
    unittest.main()
