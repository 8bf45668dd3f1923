"""Issue 11, attack 3: the dashboard's numbers cost Redis the same however
much the outside stores. 50,000 registered devices, offline, each holding
one message: adminhttp answers /stats (every 100 ms) and MSG_STAT_REQ
while a client sends 200 /puts, every one answered with code 0, and
messages_pending counts exactly what is kept."""

import socket
import threading
import time

from lib.admin import AdminTestCase
from lib.cluster import ANDROID
from lib.harness import _RespReader, _resp_encode, new_id, wait_until
from lib.lua import script_text

DEVICES = 50_000
PUTS = 200
BATCH = 2000


class Redis:
    """A pipelining connection to the cluster's Redis."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60.0)
        self.reader = _RespReader(self.sock)

    def pipe(self, cmds):
        self.sock.sendall(b"".join(_resp_encode(c) for c in cmds))
        return [self.reader.read() for _ in cmds]

    def call(self, *args):
        return self.pipe([list(args)])[0]

    def close(self):
        self.sock.close()


class StatsUnderLoad(AdminTestCase):

    def fill(self, r):
        """The real scripts, as routerd runs them: DEVICES registrations,
        then one /put to each device. Returns the device ids."""
        reg = r.call("SCRIPT", "LOAD", script_text("router_register")).decode()
        put = r.call("SCRIPT", "LOAD", script_text("router_put")).decode()
        run = new_id()
        ids = []
        for s in range(0, DEVICES, BATCH):
            cmds = []
            for i in range(s, min(DEVICES, s + BATCH)):
                serial = "load-%d-%d" % (run, i)
                cmds.append(["EVALSHA", reg, "4", "pg:serial:%d:%s" % (ANDROID, serial),
                             "pg:next_device_id", "pg:devices", "pg:brokers", serial,
                             str(ANDROID), "", "0", ""])
            for rep in r.pipe(cmds):
                self.assertEqual(rep[0], b"ok", rep)
                ids.append(rep[1].decode())
        for s in range(0, DEVICES, BATCH):
            cmds = [["EVALSHA", put, "7", "pg:dev:%s:in" % d, "pg:dev:%s" % d,
                     "pg:ch:5:subs:types", "pg:ch:5:brokers", "pg:next_put_id", "pg:kept",
                     "pg:stats", "5", "0", d, "604800000", "kept", "10000",
                     str(int(time.time() * 1000))]
                    for d in ids[s:s + BATCH]]
            for rep in r.pipe(cmds):
                self.assertEqual(rep[0], b"ok", rep)
        return ids

    def poll(self, stop, answers):
        while not stop.is_set():
            st, _rep = self.get("/stats")
            answers.append(("stats", st))
            st, rep = self.api({"msg_type": "MSG_STAT_REQ", "saddr": 1, "daddr": 1})
            answers.append(("stat", st))
            time.sleep(0.02)   # five times the dashboard's pace

    def test_put_while_the_dashboard_polls_50000_offline_devices(self):
        base = self.quiet_stat()["messages_pending"]
        r = Redis(self.cluster.redis.port)
        try:
            t0 = time.monotonic()
            ids = self.fill(r)
            print("\n  %d devices registered and given a message in %.1f s"
                  % (DEVICES, time.monotonic() - t0))
            self.assertEqual(self.stat()["messages_pending"], base + DEVICES)
            r.call("CONFIG", "RESETSTAT")
            stop, answers = threading.Event(), []
            poller = threading.Thread(target=self.poll, args=(stop, answers), daemon=True)
            poller.start()
            # The puts begin once the polling has (they take well under a second).
            wait_until(lambda: len(answers) >= 2, 10)
            codes = []
            for i in range(PUTS):
                st, rep = self.cluster.put(5, b"load %d" % i, device_id=ids[i])
                codes.append((st, rep.get("code") if isinstance(rep, dict) else rep))
            stop.set()
            poller.join(10)
            stats = [l for l in r.call("INFO", "commandstats").decode().splitlines()
                     if l.startswith("cmdstat_evalsha")]
            print("  during the puts: %s" % stats)
        finally:
            r.close()
        self.assertEqual(codes, [(200, 0)] * PUTS)
        self.assertGreaterEqual(len(answers), 2)
        self.assertEqual([a for a in answers if a[1] != 200], [])
        self.assertEqual(self.stat()["messages_pending"], base + DEVICES + PUTS)
