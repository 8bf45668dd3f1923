"""Runs pushgate's Lua scripts (lua/*.lua) straight against a real
redis-server, as the daemons load them: lua/embed.sh puts each script
together, and SCRIPT LOAD + EVALSHA run it. No daemon is involved.

    class T(LuaTestCase):
        def test_x(self):
            self.assertEqual(self.run_script("broker_beat", [keys], [args]), [b"ok"])

Each test starts from an empty Redis (FLUSHALL)."""

import socket
import subprocess
import os
import unittest

from .harness import RedisServer, _resp_encode, _RespReader, redis_server_path

# tests/integration/lib -> the source tree
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
LUA_DIR = os.path.join(SRC, "lua")


def script_names():
    """Every script of lua/ (lib.lua is not one)."""
    return sorted(f[:-4] for f in os.listdir(LUA_DIR)
                  if f.endswith(".lua") and f != "lib.lua")


def script_text(name):
    """The text Redis runs for script `name`, from the one generator."""
    return subprocess.run(["sh", os.path.join(LUA_DIR, "embed.sh"), "lua", LUA_DIR, name],
                          check=True, stdout=subprocess.PIPE).stdout


def script_lines(name):
    with open(os.path.join(LUA_DIR, name + ".lua"), encoding="utf-8") as f:
        return f.read().split("\n")


class RedisError(Exception):
    """A Redis error reply (its text in str())."""


class QuickRedis(RedisServer):
    """A private redis-server without persistence (these tests only need
    it alive), and one connection kept open to it."""

    def _spawn(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [redis_server_path(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir, "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)


    def connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5.0)
        self.reader = _RespReader(self.sock)

    def call(self, *args):
        """One command on the kept connection; a Redis error raises RedisError."""
        self.sock.sendall(_resp_encode(list(args)))
        try:
            return self.reader.read()
        except RuntimeError as e:
            if str(e).startswith("redis error: "):
                raise RedisError(str(e)[len("redis error: "):]) from None
            raise

    def close(self):
        if getattr(self, "sock", None):
            self.sock.close()
        super().close()


class Subscriber:
    """A pub/sub connection: the notices published on a channel."""

    def __init__(self, port, channel):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2.0)
        self.reader = _RespReader(self.sock)
        self.sock.sendall(_resp_encode(["SUBSCRIBE", channel]))
        self.reader.read()  # the subscribe confirmation

    def next(self):
        """The next message's payload (bytes)."""
        kind, _chan, data = self.reader.read()
        assert kind == b"message", kind
        return data

    def close(self):
        self.sock.close()


class LuaTestCase(unittest.TestCase):
    """One Redis per test class; the scripts are loaded once."""

    @classmethod
    def setUpClass(cls):
        cls.redis = QuickRedis(label=cls.__name__)
        cls.redis.connect()
        cls.sha = {n: cls.redis.call("SCRIPT", "LOAD", script_text(n)).decode()
                   for n in script_names()}

    @classmethod
    def tearDownClass(cls):
        cls.redis.close()

    def setUp(self):
        self.r("FLUSHALL")
        self.subs = []

    def tearDown(self):
        for s in self.subs:
            s.close()

    def r(self, *args):
        return self.redis.call(*args)

    def run_script(self, name, keys=(), args=()):
        """EVALSHA of script `name`; checks the one reply shape (an array
        whose first element is a status string)."""
        reply = self.r("EVALSHA", self.sha[name], len(keys), *keys, *args)
        self.assertIsInstance(reply, list, "%s replied %r" % (name, reply))
        self.assertRegex(reply[0], rb"^[a-z]+$", "%s's status" % name)
        return reply

    def now_ms(self):
        sec, usec = self.r("TIME")
        return int(sec) * 1000 + int(usec) // 1000

    def subscribe(self, channel):
        s = Subscriber(self.redis.port, channel)
        self.subs.append(s)
        return s

    def hash(self, key):
        """HGETALL as a dict of str."""
        flat = self.r("HGETALL", key)
        return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}

    def members(self, key):
        return sorted(m.decode() for m in self.r("SMEMBERS", key))

    DUPW_MS = 300000   # lua/lib.lua's pg.DUPW_MS: a dedup window

    def dup_window_key(self, frm, now=None):
        """The hash of sender frm's dedup window holding time now (Redis's
        clock unless given)."""
        return "pg:dupw:%s:%d" % (frm, (now if now is not None else self.now_ms()) // self.DUPW_MS)

    def dup_records(self, frm):
        """Every dedup record of sender frm: {message id: answer}, whatever
        its window."""
        out = {}
        for k in self.r("KEYS", "pg:dupw:%s:*" % frm):
            out.update(self.hash(k.decode()))
        return out

    def entries(self, stream):
        """XRANGE as [(id, {field: value})] of str."""
        out = []
        for eid, flat in self.r("XRANGE", stream, "-", "+"):
            out.append((eid.decode(), {flat[i].decode(): flat[i + 1].decode()
                                       for i in range(0, len(flat), 2)}))
        return out

    def add_entry(self, stream, mid="1", frm="7", ch="0", exp=None, ty="0", body="b",
                  eid="*"):
        """An entry as pg.route writes it; expires in an hour unless exp."""
        if exp is None:
            exp = self.now_ms() + 3600000
        return self.r("XADD", stream, eid, "m", mid, "f", frm, "c", ch, "x", str(exp),
                      "t", ty, "b", body).decode()
