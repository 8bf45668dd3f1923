"""When rconn's watchdog drops a Redis connection that gave no reply in
time, the log says why: one warn line per reset."""

import time

from lib.cluster import Router, post
from lib.harness import RedisTestCase, new_id, wait_until

RESET = "reset: no reply in time"


class RconnReset(RedisTestCase):
    def test_one_line_per_reset(self):
        r = Router(self.redis.port, "--threads", "1", label=self.id())
        self.addCleanup(r.kill)
        r.wait_ready()
        self.assertNotIn(RESET, r.log_text())
        # Redis answers nobody for 2 s: the /put waits past routerd's 0.8 s.
        self.redis.cmd("CLIENT", "PAUSE", "2000")
        st, _rep = post(r.put_port, "/put", query={"channel_id": new_id()}, body=b"x",
                        timeout=5)
        self.assertEqual(st, 503)
        self.assertTrue(wait_until(lambda: RESET in r.log_text(), 3))
        time.sleep(2.5)  # the pause is over; routerd reconnects
        self.assertTrue(wait_until(lambda: post(r.put_port, "/put",
                                                query={"channel_id": new_id()},
                                                body=b"x")[0] != 503, 5))
        # Each reset is one line: the reconnect made during the pause may be
        # reset too, a watchdog period (>= 0.8 s) later, never twice at once.
        log = r.log_text().splitlines()
        lines = [l for l in log if "reset:" in l]
        self.assertTrue(1 <= len(lines) <= 3, lines)
        self.assertTrue(all(" WARN " in l and l.endswith(RESET) for l in lines), lines)
        self.assertEqual([l for l in log if "lost: no reply in time" in l], [])
        stamps = [time.mktime(time.strptime(l[:19], "%Y-%m-%dT%H:%M:%S")) + float(l[19:23])
                  for l in lines]
        for a, b in zip(stamps, stamps[1:]):
            self.assertGreater(b - a, 0.7, lines)
