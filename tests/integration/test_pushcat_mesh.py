"""pushcat's mesh commands (SPEC 5): `pushcat call METHOD [JSON]` over
POST /v1/<method>, its output and exit codes, and `pushcat pop TOPIC...`
as a WebSocket service printing each event as a line, coming back after
its broker restarts on the same port."""

import json
import os
import subprocess
import threading
import time

from lib.harness import BrokerTestCase, Broker, new_id
from lib.ws import WsClient

TOKEN = "svc-token-13"


def pushcat():
    return os.path.join(os.environ["PUSHGATE_BUILD"], "tools", "pushcat")


class PushcatMeshTest(BrokerTestCase):
    broker_args = ("--service-token", TOKEN)

    def ws_addr(self, broker=None):
        host, port = (broker or self.broker).ws
        return "%s:%d" % (host, port)

    def call(self, *args, token=TOKEN):
        cmd = [pushcat(), "call", "--ws", self.ws_addr()]
        if token is not None:
            cmd += ["--service-token", token]
        p = subprocess.run(cmd + list(args), capture_output=True, timeout=20)
        return p.returncode, p.stdout.decode()

    def client(self, **query):
        c = WsClient(self.broker.ws, query or None)
        self.addCleanup(c.close)
        return c

    # -- call
    def test_call_prints_the_envelope_and_exits_0(self):
        c = self.client()
        rc, out = self.call("mesh.send", json.dumps({"c": c.client_id, "d": "from a shell"}))
        self.assertEqual((rc, out), (0, '{"E":null,"r":{"s":true}}\n'))
        self.assertEqual(c.event("message")["p"]["d"], "from a shell")
        self.assertEqual(self.call("gateway.limit"),
                         (0, '{"E":null,"r":{"accept_per_s":0,"messages_per_s":0}}\n'),
                         "JSON defaults to {}")

    def test_call_errors_exit_3_with_the_envelope(self):
        self.assertEqual(self.call("mesh.send", '{"c":"x","d":"y"}'),
                         (3, '{"E":{"c":101,"m":"c must be a client id"}}\n'))
        self.assertEqual(self.call("no.such", "{}"),
                         (3, '{"E":{"c":102,"m":"unknown method"}}\n'))
        rc, out = self.call("gateway.limit", "{}", token="wrong")
        self.assertEqual((rc, json.loads(out)["E"]["c"]), (3, 403))

    def test_call_usage_and_no_broker(self):
        self.assertEqual(self.call(), (2, ""))
        self.assertEqual(self.call("conn.count", "[1]"), (2, ""), "the JSON must be an object")
        self.assertEqual(self.call("conn.count", "{", ), (2, ""))
        p = subprocess.run([pushcat(), "call", "--ws", "127.0.0.1:1", "--timeout", "2",
                            "gateway.limit"], capture_output=True, timeout=20)
        self.assertEqual((p.returncode, p.stdout), (1, b""))

    # -- pop
    def start_pop(self, *args):
        p = subprocess.Popen([pushcat(), "pop", "--ws", self.ws_addr(), "--service-token", TOKEN]
                             + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(p.wait, 10)
        self.addCleanup(p.kill)
        lines = []

        def read():
            for line in p.stdout:
                lines.append(line.decode())
        threading.Thread(target=read, daemon=True).start()
        return p, lines

    def wait_lines(self, lines, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while len(lines) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return lines[:n]

    def test_pop_prints_a_clients_frames_as_json_lines(self):
        t = "pc-%d" % new_id()
        c = self.client(topic=t)
        n = c.ready["p"]["n"]
        c.send("kept before pushcat")
        _p, lines = self.start_pop("other-" + t, t)
        c.send("live")
        got = [json.loads(s) for s in self.wait_lines(lines, 2)]
        want = [{"e": "queue.pop", "p": {"n": n, "c": c.client_id, "t": t,
                                         "d": {"frame": {"type": "text", "data": d,
                                                         "finish": True}}}, "id": None}
                for d in ("kept before pushcat", "live")]
        self.assertEqual(got, want)

    def test_pop_refused_exits_3_and_usage_exits_2(self):
        p = subprocess.run([pushcat(), "pop", "--ws", self.ws_addr(), "--service-token", "no",
                            "t"], capture_output=True, timeout=20)
        self.assertEqual((p.returncode, p.stdout), (3, b""))
        p = subprocess.run([pushcat(), "pop", "--ws", self.ws_addr(), "--service-token", TOKEN,
                            "$reserved"], capture_output=True, timeout=20)
        self.assertEqual((p.returncode, p.stdout), (3, b""))
        p = subprocess.run([pushcat(), "pop"], capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 2)

    def test_pop_comes_back_after_its_broker_restarts(self):
        b = self.extra_broker("--service-token", TOKEN)
        t = "pc-%d" % new_id()
        p = subprocess.Popen([pushcat(), "pop", "--ws", self.ws_addr(b), "--service-token",
                              TOKEN, t], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(p.wait, 10)
        self.addCleanup(p.kill)
        lines = []
        threading.Thread(target=lambda: [lines.append(s.decode()) for s in p.stdout],
                         daemon=True).start()
        c = WsClient(b.ws, {"topic": t})
        c.send("one")
        self.assertEqual(len(self.wait_lines(lines, 1)), 1)
        c.abort()
        host, port = b.ws
        b.stop()
        b2 = Broker(self.redis.port, "--service-token", TOKEN, "--ws-address",
                    "%s:%d" % (host, port), label=self.id() + ".again")
        self.addCleanup(b2.kill)
        b2.wait_ready()
        c2 = WsClient(b2.ws, {"topic": t})
        self.addCleanup(c2.close)
        c2.send("two")
        got = [json.loads(s)["p"]["d"]["frame"]["data"] for s in self.wait_lines(lines, 2, 15)]
        self.assertEqual(got, ["one", "two"])
