"""Redis goes away (SIGTERM) for ~3 s during a /put stream and comes back on
the same port with its data (AOF, appendfsync always).

SPEC 3: while Redis is unreachable /put answers InternalErr with HTTP 503
and nothing is half-written; no /put may hang (each must answer within
1 s). Once Redis is back, /put works again, and every message that got
code 0 (before, during or after the outage) reaches every device it was
meant for within ~10 s (SPEC 2.5); a repeated copy only with attempt > 1.
routerd and both brokerd keep running as the same processes.
"""

import collections
import time

from lib.cluster import ClusterTestCase, Ledger
from lib.harness import new_id

N_DEVICES = 6
RATE = 20.0          # puts per second
BEFORE = 1.0         # seconds of puts before the outage
OUTAGE = 3.0
AFTER_MIN = 3.0      # seconds of puts after Redis is back
AFTER_MAX = 8.0      # ... extended until AFTER_OK puts succeeded
AFTER_OK = 10
MAX_PUT_SECONDS = 1.0
DELIVERY_WAIT = 10.0


class RedisDownDuringPuts(ClusterTestCase):
    n_brokers = 2

    def test_redis_outage(self):
        c = self.cluster
        ch = new_id()
        devs = c.spread_devices(N_DEVICES, subs=[ch], auto_reconnect=True)
        pids = [c.router.proc.pid] + [b.proc.pid for b in c.brokers]
        ledger = Ledger()
        rows = []       # (phase, i, http status or None, code, seconds, error text)
        seq = [0]

        def one_put(phase):
            i = seq[0]
            seq[0] += 1
            body = b"%s %d" % (phase.encode(), i)
            if i % 3 == 0:
                target = devs[(i // 3) % len(devs)]
                params, targets = {"device_id": target.device_id}, [target.device_id]
            else:
                params, targets = {}, [d.device_id for d in devs]
            t = time.monotonic()
            try:
                st, rep = c.put(ch, body, **params)
            except OSError as e:
                rows.append((phase, i, None, None, time.monotonic() - t, repr(e)))
                return None
            took = time.monotonic() - t
            code = rep.get("code")
            rows.append((phase, i, st, code, took, "" if (st, code) in ((200, 0), (503, 2))
                         else repr(rep)))
            if st == 200 and code == 0 and isinstance(rep.get("data"), dict):
                ledger.add(rep["data"]["message_id"], targets, ch, body)
                return True
            return False

        def stream(phase, seconds, until=None, max_seconds=None):
            t0 = time.monotonic()
            k = 0
            while True:
                now = time.monotonic()
                if now - t0 >= seconds and (until is None or until() or
                                            now - t0 >= max_seconds):
                    return
                delay = t0 + k / RATE - now
                if delay > 0:
                    time.sleep(delay)
                one_put(phase)
                k += 1

        stream("before", BEFORE)
        c.redis.stop()                       # SIGTERM, waits for the exit
        down_at = time.monotonic()
        try:
            stream("during", OUTAGE)
        finally:
            c.redis.start()                  # same port, same data
        up_at = time.monotonic()
        self.assertGreater(up_at - down_at, OUTAGE - 0.1)

        def ok_after():
            return sum(1 for r in rows if r[0] == "after" and r[2] == 200) >= AFTER_OK
        stream("after", AFTER_MIN, ok_after, AFTER_MAX)
        stream_end = time.monotonic()

        missing = ledger.wait_complete(devs, DELIVERY_WAIT)
        problems, stats = ledger.verify(devs)

        by_phase = collections.defaultdict(collections.Counter)
        for phase, _i, st, code, _took, _err in rows:
            by_phase[phase]["%s/%s" % (st, code)] += 1
        slow = [(p, i, st, round(took, 3)) for p, i, st, _code, took, _e in rows
                if took > MAX_PUT_SECONDS]
        odd = [(p, i, st, code, err) for p, i, st, code, _t, err in rows if err]
        after = [r for r in rows if r[0] == "after"]
        first_ok = next((r for r in after if r[2] == 200), None)
        recovered_in = None
        if first_ok is not None:
            # time from Redis up to the first 200: index in the after phase / rate
            recovered_in = after.index(first_ok) / RATE
        summary = ("replies by phase %r; slowest %.3f s; first 200 about %s s after Redis "
                   "was back; delivery checked %.1f s after the stream; %r; "
                   "device connections %r"
                   % ({k: dict(v) for k, v in by_phase.items()},
                      max(r[4] for r in rows), recovered_in, time.monotonic() - stream_end,
                      stats, [d.conn_no for d in devs]))

        print("\n  " + summary, flush=True)
        self.assertEqual(odd, [], "every /put must answer 200/0 or 503/2: " + summary)
        self.assertEqual(slow, [], "no /put may take over %.1f s: %s" % (MAX_PUT_SECONDS,
                                                                         summary))
        self.assertEqual(set(by_phase["before"]), {"200/0"}, summary)
        self.assertEqual(set(by_phase["during"]), {"503/2"},
                         "while Redis is down routerd cannot store a message: " + summary)
        self.assertTrue(ok_after(), "fewer than %d puts got 200 within %.0f s after Redis "
                        "came back: %s" % (AFTER_OK, AFTER_MAX, summary))
        self.assertEqual(after[-1][2], 200, "the last put after the outage failed: " + summary)
        self.assertFalse(problems, summary + "\n" + "\n".join(problems[:20]))
        self.assertFalse(missing)
        self.assertTrue(c.router.alive(), "routerd died")
        for b in c.brokers:
            self.assertTrue(b.alive(), "brokerd %s died; log %s" % (b.label, b.log_path))
        self.assertEqual([c.router.proc.pid] + [b.proc.pid for b in c.brokers], pids)
