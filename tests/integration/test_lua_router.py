"""routerd's Lua scripts (lua/router_*.lua) run straight in a real Redis:
every branch and every reply."""

import time
import unittest

from lib.lua import LuaTestCase

SERIAL = "SN-1"


def reg_keys(ty="1", serial=SERIAL):
    return ["pg:serial:%s:%s" % (ty, serial), "pg:next_device_id", "pg:devices", "pg:brokers"]


class RegisterTest(LuaTestCase):
    def register(self, ty="1", name=None, serial=SERIAL, key=""):
        return self.run_script("router_register", reg_keys(ty, serial),
                               [serial, ty, name or "", "1" if name is not None else "0", key])

    def test_a_device_key_binds_and_is_then_required(self):
        self.broker("7", "h:1")
        self.r("SADD", "pg:brokers", "7")
        self.assertEqual(self.register(), [b"ok", b"1", b"h:1", b"0", b""])       # none bound yet
        self.assertEqual(self.register(key="k1"), [b"ok", b"1", b"h:1", b"0", b""])  # binds
        self.assertEqual(self.hash("pg:dev:1")["key"], "k1")
        before = self.hash("pg:dev:1")
        for key in ("", "k2"):
            with self.subTest(key=key):
                self.assertEqual(self.register(name="new", key=key), [b"badkey", b"1", b"", b"0"])
                self.assertEqual(self.hash("pg:dev:1"), before, "nothing changed")
        self.assertEqual(self.register(key="k1"), [b"ok", b"1", b"h:1", b"0", b""])
        self.assertEqual(self.register(ty="2", key=""), [b"ok", b"2", b"h:1", b"0", b""],
                         "another type is another device")

    def test_the_token_generation_is_the_devices(self):
        self.broker("7", "h:1")
        self.register()
        self.r("HSET", "pg:dev:1", "gen", "3")                # revoked three times
        self.assertEqual(self.register(), [b"ok", b"1", b"h:1", b"3", b""])
        self.r("HSET", "pg:dev:1", "key", "k1")
        self.assertEqual(self.register(key="k2"), [b"badkey", b"1", b"", b"0"],
                         "no generation without the key")
        self.assertEqual(self.register(key="k1"), [b"ok", b"1", b"h:1", b"3", b""])
        self.r("HSET", "pg:dev:2", "gen", "5")
        self.assertEqual(self.register("4", name="phone")[3], b"0", "a new device: 0")

    def broker(self, b, addr, conns=0, assigned=0, age_ms=0, listening=True, ws=None):
        self.r("HSET", "pg:bk:" + b, "hb", str(self.now_ms() - age_ms), "addr", addr,
               "conns", str(conns), "assigned", str(assigned))
        if ws is not None:
            self.r("HSET", "pg:bk:" + b, "ws", ws)
        self.r("SADD", "pg:brokers", b)
        if listening:
            self.subscribe("pg:n:bk:" + b)

    def test_the_chosen_brokers_websocket_address_comes_too(self):
        # SPEC 5.4: "ws" next to "broker", whichever way the broker is chosen.
        self.broker("5", "h:1", ws="h:9")
        self.broker("6", "h:2", conns=3, ws="")
        self.assertEqual(self.register(), [b"ok", b"1", b"h:1", b"0", b"h:9"])
        self.assertEqual(self.register(), [b"ok", b"1", b"h:1", b"0", b"h:9"])  # kept broker
        self.assertEqual(self.register(ty="2"), [b"ok", b"2", b"h:1", b"0", b"h:9"])
        self.assertEqual(self.register(ty="4"), [b"ios", b"3", b"", b"0"])

    def test_ios_gets_an_id_and_no_broker(self):
        self.assertEqual(self.register("4", name="phone"), [b"ios", b"1", b"", b"0"])
        self.assertEqual(self.r("GET", "pg:serial:4:SN-1"), b"1")
        self.assertEqual(self.hash("pg:dev:1"),
                         {"known": "1", "type": "4", "serial": SERIAL, "name": "phone"})
        self.assertEqual(self.members("pg:devices"), ["1"])

    def test_same_serial_same_id_and_name_kept_unless_given(self):
        self.register("4", name="a")
        self.assertEqual(self.register("4"), [b"ios", b"1", b"", b"0"])
        self.assertEqual(self.hash("pg:dev:1")["name"], "a")
        self.assertEqual(self.register("4", name="")[1], b"1")
        self.assertEqual(self.hash("pg:dev:1")["name"], "")
        self.assertEqual(self.register("3")[1], b"2")          # another type: another id

    def test_no_live_broker(self):
        self.broker("5", "h:1", age_ms=6000)
        self.assertEqual(self.register(), [b"nobroker", b"1", b"", b"0"])
        self.assertEqual(self.members("pg:brokers"), ["5"])    # its entry is still there

    def test_a_fresh_heartbeat_without_its_notice_subscriber_is_dead(self):
        self.broker("5", "h:1", listening=False)               # killed: no subscriber
        self.broker("6", "h:2", conns=9)
        self.assertEqual(self.register(), [b"ok", b"1", b"h:2", b"0", b""])
        self.r("HSET", "pg:dev:1", "assigned", "5")
        self.assertEqual(self.register(), [b"ok", b"1", b"h:2", b"0", b""])  # not kept either

    def test_a_broker_without_registry_entry_is_forgotten(self):
        self.r("SADD", "pg:brokers", "5")
        self.assertEqual(self.register(), [b"nobroker", b"1", b"", b"0"])
        self.assertEqual(self.members("pg:brokers"), [])

    def test_the_least_loaded_address_and_its_smallest_loop(self):
        self.broker("5", "h:1", conns=3)
        self.broker("6", "h:2", conns=1, assigned=1)
        self.broker("7", "h:2", conns=0)
        self.broker("8", "h:3", conns=4, age_ms=5001)           # dead, not counted
        self.assertEqual(self.register(), [b"ok", b"1", b"h:2", b"0", b""])
        self.assertEqual(self.hash("pg:dev:1")["assigned"], "6")
        self.assertEqual(self.hash("pg:bk:6")["assigned"], "2")

    def test_a_tie_goes_to_the_smaller_address(self):
        self.broker("5", "h:2", conns=1)
        self.broker("6", "h:1", conns=1)
        self.assertEqual(self.register()[2], b"h:1")

    def test_a_device_keeps_its_live_broker(self):
        self.broker("5", "h:1", conns=9)
        self.broker("6", "h:2")
        self.r("HSET", "pg:dev:1", "assigned", "5")
        self.r("SET", "pg:serial:1:SN-1", "1")
        self.assertEqual(self.register(), [b"ok", b"1", b"h:1", b"0", b""])
        self.assertEqual(self.hash("pg:bk:5")["assigned"], "0")  # not counted again

    def test_a_device_whose_broker_died_gets_another(self):
        self.broker("5", "h:1", age_ms=5001)
        self.broker("6", "h:2")
        self.r("HSET", "pg:dev:1", "assigned", "5")
        self.r("SET", "pg:serial:1:SN-1", "1")
        self.assertEqual(self.register(), [b"ok", b"1", b"h:2", b"0", b""])
        self.assertEqual(self.hash("pg:dev:1")["assigned"], "6")

    def test_missing_load_fields_count_0(self):
        self.r("HSET", "pg:bk:5", "hb", str(self.now_ms()), "addr", "h:1")
        self.r("SADD", "pg:brokers", "5")
        self.subscribe("pg:n:bk:5")
        self.assertEqual(self.register(), [b"ok", b"1", b"h:1", b"0", b""])


CH = "5"


def put_keys(dev="0", ch=CH):
    if dev != "0":
        stream, target = "pg:dev:%s:in" % dev, "pg:dev:%s" % dev
    else:
        stream, target = "pg:ch:%s" % ch, "pg:ch:%s:subs" % ch
    return [stream, target, "pg:ch:%s:subs:types" % ch, "pg:ch:%s:brokers" % ch,
            "pg:next_put_id", "pg:kept", "pg:stats"]


class FloorTest(LuaTestCase):
    """After a change of master the counters move to Redis's clock in
    microseconds, never back; ids past 1e14 stay exact decimal."""

    def floor(self):
        return self.run_script("router_floor", ["pg:next_put_id", "pg:next_device_id"], [])

    def test_counters_move_forward_never_back(self):
        self.r("SET", "pg:next_put_id", "41")
        before_us = self.now_ms() * 1000
        rep = self.floor()
        after_us = (self.now_ms() + 1) * 1000
        self.assertEqual(rep[0], b"ok")
        put = int(rep[1])
        self.assertTrue(before_us <= put <= after_us, (before_us, put, after_us))
        self.assertEqual(rep[1], self.r("GET", "pg:next_put_id"))
        dev = int(self.r("GET", "pg:next_device_id"))
        self.assertTrue(before_us <= dev <= after_us)
        ahead = str(10 ** 17)
        self.r("SET", "pg:next_put_id", ahead)
        self.assertEqual(self.floor()[1], ahead.encode(), "a counter past the clock stays")

    def test_ids_after_it_are_exact(self):
        self.r("SET", "pg:next_put_id", "1796197181069092")
        self.r("SADD", "pg:ch:%s:subs" % CH, "7")
        self.assertEqual(PutTest.put(self), [b"ok", b"1796197181069093"])
        self.r("SET", "pg:next_device_id", "1796197181069092")
        self.assertEqual(self.run_script("router_register", reg_keys("4"), [SERIAL, "4", "", "0", ""]),
                         [b"ios", b"1796197181069093", b"", b"0"])


class PutTest(LuaTestCase):
    def put(self, dev="0", ty="0", body="hi", now=None):
        """now: routerd's clock (Unix ms), this machine's unless given."""
        return self.run_script("router_put", put_keys(dev), [CH, ty, dev, "60000", body, "10",
                                                             str(now or int(time.time() * 1000))])

    def test_to_an_unknown_device(self):
        self.assertEqual(self.put("42"), [b"nodevice"])

    def test_to_a_device_of_another_type(self):
        self.r("HSET", "pg:dev:42", "known", "1", "type", "3")
        self.assertEqual(self.put("42", ty="2"), [b"nosub"])

    def test_to_a_device_without_type_filtered(self):
        self.r("HSET", "pg:dev:42", "known", "1")
        self.assertEqual(self.put("42", ty="2"), [b"nosub"])

    def test_to_an_offline_device(self):
        self.r("HSET", "pg:dev:42", "known", "1", "type", "3")
        now = self.now_ms() - 3000               # routerd's clock, wherever it is
        self.assertEqual(self.put("42", ty="3", now=now), [b"ok", b"1"])
        [(_eid, f)] = self.entries("pg:dev:42:in")
        self.assertEqual(f, {"m": "1", "f": "0", "c": CH, "x": str(now + 60000), "t": "3",
                             "b": "hi"})
        self.assertEqual(self.members("pg:kept"), ["42"])
        self.assertEqual(self.hash("pg:stats"), {"kept": "1"}, "messages_in: routerd's tick")
        self.assertEqual(self.hash("pg:dev:42")["inx"], str(now + 60000))
        self.assertEqual(self.r("PEXPIRETIME", "pg:dev:42:in"), now + 60000)

    def test_to_an_online_device_notifies_its_broker(self):
        self.r("HSET", "pg:dev:42", "known", "1", "broker", "9")
        sub = self.subscribe("pg:n:bk:9")
        self.assertEqual(self.put("42"), [b"ok", b"1"])
        [(eid, f)] = self.entries("pg:dev:42:in")
        self.assertEqual(sub.next(), ("M %s 1 0 5 %s 42 0\nhi" % (eid, f["x"])).encode())
        self.assertEqual(self.members("pg:kept"), [])

    def test_to_a_channel_without_subscribers(self):
        self.assertEqual(self.put(), [b"nosub"])
        self.assertEqual(self.r("KEYS", "*"), [])

    def test_to_a_channel_notifies_its_brokers(self):
        self.r("SADD", "pg:ch:5:subs", "42")
        self.r("SADD", "pg:ch:5:brokers", "9")
        sub = self.subscribe("pg:n:bk:9")
        self.assertEqual(self.put(), [b"ok", b"1"])
        self.assertEqual(self.put(), [b"ok", b"2"])
        ids = [eid for eid, _ in self.entries("pg:ch:5")]
        self.assertEqual(len(ids), 2)
        self.assertTrue(sub.next().startswith(("M %s 1 0 5 " % ids[0]).encode()))

    def test_to_a_channel_filtered_by_type(self):
        self.r("SADD", "pg:ch:5:subs", "42")
        self.assertEqual(self.put(ty="2"), [b"nosub"])          # no count for type 2
        self.r("HSET", "pg:ch:5:subs:types", "2", "0", "3", "1")
        self.assertEqual(self.put(ty="2"), [b"nosub"])
        self.assertEqual(self.put(ty="3"), [b"ok", b"1"])
        self.assertEqual(self.entries("pg:ch:5")[0][1]["t"], "3")


if __name__ == "__main__":
    unittest.main()
