"""A brokerd holding WebSocket clients dies (SIGKILL) in the middle of a
mesh.send stream (SPEC 5, 2.5): nothing a client had not finished is lost.

Eight WebSocket clients with registered ids, half on each of two brokers,
finish (msg.fin) every message they get; a service sends to them over
HTTP on the surviving broker at about 100/s, and the other broker is
killed after 60 sends. Its clients see the connection drop, connect again
to the survivor with the same id and get what they had not finished (a
repeat only with attempt > 1), and what was sent while they were away.
"""

import asyncio
import json
import threading
import time

import websockets

from lib.cluster import ClusterTestCase, broker_addr
from lib.harness import request
from lib.ws import _run, ws_url

N_CLIENTS = 8
N_SENDS = 160
KILL_AT = 60
RATE = 100.0
DELIVERY_WAIT = 15.0


class Client:
    """A browser-like client: connects, finishes each message, and on a
    dropped connection connects again to where `addr()` says."""

    def __init__(self, cid, addr):
        self.cid = cid
        self.addr = addr
        self.got = []              # (message id, attempt, data)
        self.conns = 0
        self.closes = []
        self.lock = threading.Lock()
        self.stop = False

    async def run(self):
        while not self.stop:
            try:
                async with websockets.connect(ws_url(self.addr(), {"client_id": self.cid}),
                                              ping_interval=None, open_timeout=3) as ws:
                    self.conns += 1
                    async for frame in ws:
                        ev = json.loads(frame)
                        if ev.get("e") != "message":
                            continue
                        p = ev["p"]
                        with self.lock:
                            self.got.append((p["i"], p["a"], p["d"]))
                        await ws.send(json.dumps({"m": "msg.fin", "p": {"i": p["i"]}}))
            except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as e:
                self.closes.append(repr(e)[:80])
            await asyncio.sleep(0.1)

    def ids(self):
        with self.lock:
            return {i for i, _a, _d in self.got}


class WsBrokerKill(ClusterTestCase):
    n_brokers = 2

    def test_kill_a_broker_holding_websocket_clients(self):
        c = self.cluster
        victim, survivor = c.brokers
        where = {"to": victim}
        clients = []
        for k in range(N_CLIENTS):
            d = c.device()
            d.register()
            home = victim if k % 2 == 0 else survivor
            clients.append((Client(d.device_id, lambda h=home: (
                h if h is survivor or where["to"] is victim else survivor).ws), home))
        tasks = [asyncio.run_coroutine_threadsafe(cl.run(), _loop()) for cl, _h in clients]
        try:
            self.assertTrue(wait(lambda: all(cl.conns == 1 for cl, _h in clients), 5.0),
                            [cl.conns for cl, _h in clients])
            sent = {}          # client id -> {message data}
            failures = []
            t0 = time.monotonic()
            for i in range(N_SENDS):
                if i == KILL_AT:
                    victim.kill()
                    c.dead.add(victim)
                    where["to"] = survivor
                delay = t0 + i / RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                cl, _home = clients[i % N_CLIENTS]
                body = json.dumps({"c": str(cl.cid), "d": "msg %d" % i}).encode()
                st, _h, data = request(survivor.ws[1], "POST", "/v1/mesh/send", body=body)
                if (st, json.loads(data)) == (200, {"E": None, "r": {"s": True}}):
                    sent.setdefault(cl.cid, set()).add("msg %d" % i)
                else:
                    failures.append((i, st, data[:100]))

            def complete():
                return all({d for _i, _a, d in cl.got} >= sent.get(cl.cid, set())
                           for cl, _h in clients)
            done = wait(complete, DELIVERY_WAIT)
            problems = []
            for cl, home in clients:
                want = sent.get(cl.cid, set())
                with cl.lock:
                    got = list(cl.got)
                missing = want - {d for _i, _a, d in got}
                if missing:
                    problems.append("client %d (%s): %d missing, e.g. %s" % (
                        cl.cid, "victim" if home is victim else "survivor", len(missing),
                        sorted(missing)[:3]))
                seen = set()
                for i, a, d in got:
                    if i in seen and a < 2:
                        problems.append("client %d: %s repeated with attempt %d" % (cl.cid, d, a))
                    seen.add(i)
                if home is victim and cl.conns < 2:
                    problems.append("client %d never came back: %r" % (cl.cid, cl.closes))
                if home is survivor and cl.conns != 1:
                    problems.append("client %d of the survivor was disconnected: %r"
                                    % (cl.cid, cl.closes))
            summary = "%d sends, %d failed, %d messages received" % (
                N_SENDS, len(failures), sum(len(cl.got) for cl, _h in clients))
            print("\n  " + summary, flush=True)
            self.assertEqual(failures, [], summary)
            self.assertEqual(problems, [], summary)
            self.assertTrue(done)
            self.assertTrue(survivor.alive())
        finally:
            for cl, _h in clients:
                cl.stop = True
            for t in tasks:
                t.cancel()


def _loop():
    from lib import ws
    _run(asyncio.sleep(0))     # starts the shared loop
    return ws._loop


def wait(fn, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.05)
    return fn()
