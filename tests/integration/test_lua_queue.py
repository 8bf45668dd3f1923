"""The upstream queue's scripts (lua/broker_q*.lua) in a real Redis:
push, pop, ack, hand-back and reclaim (docs/DESIGN.md, "Upstream queues")."""

import unittest

from lib.lua import LuaTestCase

B, OTHER, T = "7", "9", "chat"
Q, QBK = "pg:q:chat", "pg:q:chat:bk"
QF, QFZ, QFN = "pg:qf:7", "pg:qf:7:z", "pg:qf:7:n"
POP_KEYS = [Q, QBK, QF, QFZ, QFN, "pg:qf:brokers"]


class QueueCase(LuaTestCase):
    def push(self, *envs, ttl=60000, cap=100, topic=T):
        return self.run_script("broker_qpush", ["pg:q:" + topic, "pg:q:%s:bk" % topic],
                               [topic, str(ttl), str(cap), *envs])

    def pop(self, count=10, join="0", b=B, topic=T):
        return self.run_script("broker_qpop",
                               ["pg:q:" + topic, "pg:q:%s:bk" % topic, "pg:qf:" + b,
                                "pg:qf:%s:z" % b, "pg:qf:%s:n" % b, "pg:qf:brokers"],
                               [b, topic, str(count), join])

    def listed(self, key=Q):
        return [e.split(b" ", 1)[1] for e in self.r("LRANGE", key, 0, -1)]

    def in_flight(self, b=B):
        return {k: v for k, v in self.hash("pg:qf:" + b).items()}


class PushTest(QueueCase):
    def test_frames_are_kept_in_order_with_their_expiry(self):
        before = self.now_ms()
        self.assertEqual(self.push("a", "b"), [b"ok", 2])
        self.assertEqual(self.push("c"), [b"ok", 3])
        self.assertEqual(self.listed(), [b"a", b"b", b"c"])
        exp = int(self.r("LINDEX", Q, 0).split(b" ")[0])
        self.assertTrue(before + 60000 <= exp <= self.now_ms() + 60000)
        self.assertTrue(59000 <= self.r("PTTL", Q) <= 60000)

    def test_the_cap_drops_the_oldest(self):
        self.push("1", "2", "3", cap=4)
        self.assertEqual(self.push("4", "5", "6", cap=4), [b"ok", 4])
        self.assertEqual(self.listed(), [b"3", b"4", b"5", b"6"])

    def test_the_popping_brokers_are_woken_once_per_push(self):
        self.r("SADD", QBK, B, OTHER)
        subs = [self.subscribe("pg:n:bk:" + B), self.subscribe("pg:n:bk:" + OTHER)]
        self.push("a", "b")
        for s in subs:
            self.assertEqual(s.next(), b"Q chat")
        self.r("PUBLISH", "pg:n:bk:" + B, "end")
        self.assertEqual(subs[0].next(), b"end", "one wake-up for two frames")

    def test_nobody_popping_wakes_nobody(self):
        s = self.subscribe("pg:n:bk:" + B)
        self.push("a")
        self.r("PUBLISH", "pg:n:bk:" + B, "end")
        self.assertEqual(s.next(), b"end")


class PopTest(QueueCase):
    def test_pops_in_order_into_flight(self):
        self.push("a", "b", "c")
        self.assertEqual(self.pop(2), [b"ok", 1, 1, b"a", b"b"])
        self.assertEqual(self.pop(2), [b"ok", 0, 3, b"c"])
        h = self.in_flight()
        self.assertEqual(sorted(h), ["1", "2", "3"])
        self.assertEqual([h[k].split(" ", 2)[::2] for k in ("1", "2", "3")],
                         [["chat", "a"], ["chat", "b"], ["chat", "c"]])
        self.assertEqual(self.r("ZRANGE", QFZ, 0, -1), [b"1", b"2", b"3"])
        self.assertEqual(self.r("GET", QFN), b"3")
        self.assertEqual(self.members("pg:qf:brokers"), [B])
        self.assertEqual(self.r("EXISTS", Q), 0)

    def test_empty_pops_nothing_and_join_joins(self):
        self.assertEqual(self.pop(5, join="1"), [b"ok", 0, 0])
        self.assertEqual(self.members(QBK), [B])
        self.assertEqual(self.in_flight(), {})
        self.assertEqual(self.members("pg:qf:brokers"), [])

    def test_expired_frames_are_passed_over(self):
        self.r("RPUSH", Q, "1 old", "%d new" % (self.now_ms() + 60000), "2 older")
        self.assertEqual(self.pop(2), [b"ok", 1, 1, b"new"])
        self.assertEqual(self.pop(2), [b"ok", 0, 0])

    def test_an_envelope_keeps_its_spaces(self):
        self.push('{"e": "queue.pop"}')
        self.assertEqual(self.pop()[3], b'{"e": "queue.pop"}')


class AckBackTest(QueueCase):
    def test_ack_drops_what_was_taken(self):
        self.push("a", "b", "c")
        self.pop(3)
        self.assertEqual(self.run_script("broker_qack", [QF, QFZ], ["1", "3"]), [b"ok"])
        self.assertEqual(sorted(self.in_flight()), ["2"])
        self.assertEqual(self.r("ZRANGE", QFZ, 0, -1), [b"2"])

    def test_back_puts_frames_at_the_head_in_order_and_wakes(self):
        self.push("a", "b", "c", "d")
        self.pop(3)
        self.r("SADD", QBK, B, OTHER)
        s = self.subscribe("pg:n:bk:" + OTHER)
        self.assertEqual(self.run_script("broker_qback", [QF, QFZ, QBK], [B, "2", "3", "9"]),
                         [b"ok", 2])
        self.assertEqual(self.listed(), [b"b", b"c", b"d"])
        self.assertEqual(sorted(self.in_flight()), ["1"])
        self.assertEqual(self.members(QBK), [OTHER], "b left the topic")
        self.assertEqual(s.next(), b"Q chat")

    def test_back_to_an_expired_list_gives_it_a_ttl(self):
        self.push("a")
        self.pop(1)
        self.assertEqual(self.r("EXISTS", Q), 0)
        self.run_script("broker_qback", [QF, QFZ], [B, "1"])
        self.assertEqual(self.listed(), [b"a"])
        self.assertTrue(58000 <= self.r("PTTL", Q) <= 60000)

    def test_back_of_nothing(self):
        self.assertEqual(self.run_script("broker_qback", [QF, QFZ, QBK], [B]), [b"ok", 0])


class ReclaimTest(QueueCase):
    def reclaim(self, b=B, self_="0", *keep):
        return self.run_script("broker_qreclaim", ["pg:qf:brokers"], [b, self_, *keep])

    def test_a_dead_brokers_frames_go_back_in_order(self):
        self.push("a", "b")
        self.push("x", topic="other")
        self.pop(2, b=OTHER)
        self.pop(1, b=OTHER, topic="other")
        self.push("c")
        self.r("SADD", QBK, B)
        s = self.subscribe("pg:n:bk:" + B)
        # OTHER has no process listening on its notice channel: dead.
        self.assertEqual(self.reclaim(), [b"ok", 3])
        self.assertEqual(self.listed(), [b"a", b"b", b"c"])
        self.assertEqual(self.listed("pg:q:other"), [b"x"])
        self.assertEqual(self.members("pg:qf:brokers"), [])
        self.assertEqual(self.r("EXISTS", "pg:qf:9", "pg:qf:9:z", "pg:qf:9:n"), 0)
        self.assertEqual(s.next(), b"Q chat")

    def test_a_live_broker_and_the_caller_keep_theirs(self):
        self.push("a", "b")
        self.pop(1, b=OTHER)
        self.pop(1, b=B)
        listening = self.subscribe("pg:n:bk:" + OTHER)
        self.r("HSET", "pg:bk:" + OTHER, "hb", str(self.now_ms()))
        self.assertEqual(self.reclaim(), [b"ok", 0])
        self.assertEqual(self.members("pg:qf:brokers"), [B, OTHER])
        self.r("HSET", "pg:bk:" + OTHER, "hb", str(self.now_ms() - 6000))
        self.assertEqual(self.reclaim(), [b"ok", 1], "a stale heartbeat is dead")
        self.assertEqual(self.listed(), [b"a"])
        listening.close()

    def test_at_most_1000_per_call(self):
        self.push(*[str(i) for i in range(1200)], cap=2000)
        self.pop(1000, b=OTHER)
        self.pop(200, b=OTHER)
        self.assertEqual(self.reclaim(), [b"ok", 1000])
        self.assertEqual(self.members("pg:qf:brokers"), [OTHER])
        self.assertEqual(self.reclaim(), [b"ok", 200])
        self.assertEqual(self.listed(), [str(i).encode() for i in range(1200)])
        self.assertEqual(self.members("pg:qf:brokers"), [])

    def test_self_gives_back_what_it_does_not_hold(self):
        self.push("a", "b", "c")
        self.pop(3)
        self.assertEqual(self.reclaim(B, "1", "2"), [b"ok", 2])
        self.assertEqual(self.listed(), [b"a", b"c"])
        self.assertEqual(sorted(self.in_flight()), ["2"])


if __name__ == "__main__":
    unittest.main()
