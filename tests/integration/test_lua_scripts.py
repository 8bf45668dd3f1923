"""The convention every Lua script follows (docs/DESIGN.md, "Lua scripts"),
and how a Redis error's "@user_script:N" maps back to a file line."""

import os
import re
import unittest

from lib.lua import LuaTestCase, RedisError, script_lines, script_names

HERE = os.path.dirname(os.path.abspath(__file__))
BEAT_KEYS = ["pg:bk:7", "pg:brokers", "pg:stats", "pg:limits"]


class ConventionTest(unittest.TestCase):
    def test_every_script_says_keys_argv_and_returns(self):
        for name in script_names():
            head = "\n".join(script_lines(name)[:20])
            for word in ("-- KEYS:", "-- ARGV:", "-- Returns"):
                self.assertIn(word, head, name)

    def test_only_lib_spells_pg_in_code(self):
        for name in script_names():
            code = [l for l in script_lines(name) if not l.lstrip().startswith("--")]
            self.assertNotIn("pg:", "\n".join(code), name)

    def test_every_script_has_tests(self):
        text = ""
        for f in os.listdir(HERE):
            if f.startswith("test_lua_") and f.endswith(".py"):
                with open(os.path.join(HERE, f), encoding="utf-8") as fh:
                    text += fh.read()
        for name in script_names():
            self.assertIn('"%s"' % name, text, "no test runs %s" % name)


class LineNumberTest(LuaTestCase):
    def error_line(self, name, keys, args):
        with self.assertRaises(RedisError) as e:
            self.run_script(name, keys, args)
        return int(re.search(r"user_script:(\d+)", str(e.exception)).group(1))

    def test_a_script_line_is_its_file_line(self):
        self.r("SET", "pg:bk:7", "not a hash")
        n = self.error_line("broker_beat", BEAT_KEYS, ["7", "0"])
        self.assertTrue(script_lines("broker_beat")[n - 1].startswith(
            "redis.call('HSET', KEYS[1], 'hb'"))

    def test_past_the_script_it_is_lib_line_n_minus_its_line_count(self):
        self.r("SET", "pg:bk:7", "a string")
        self.r("SADD", "pg:brokers", "7")
        n = self.error_line("admin_stats", ["pg:brokers", "pg:stats", "pg:devices",
                                            "pg:channels"], [])
        self.assertIn("redis.call('HMGET', pg.key_bk(b)", script_lines("admin_stats")[n - 1])
        self.r("SET", "pg:ch:5", "not a stream")
        self.r("SADD", "pg:ch:5:subs", "42")
        n = self.error_line("broker_pub", ["pg:dupw:1", "pg:ch:5", "pg:ch:5:subs",
                                           "pg:ch:5:brokers", "pg:kept", "pg:stats",
                                           "pg:dups:1"],
                            ["1", "1", "0", "5", "b", "60000", "10", "0", "1700000000000",
                             "", "", "0"])
        s = len(script_lines("broker_pub")) - 1       # the file ends with a newline
        self.assertGreater(n, s)
        self.assertIn("redis.call('XADD', stream", script_lines("lib")[n - s - 1])


if __name__ == "__main__":
    unittest.main()
