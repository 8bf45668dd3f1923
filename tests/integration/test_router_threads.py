"""routerd --threads: several event loops on the same ports, each with its
own Redis connection. Every loop answers /put and /registration, message
ids stay unique and increasing, and /metrics (on whichever loop answers)
adds up the counters of all of them."""

import subprocess

from lib.cluster import ANDROID, ClusterTestCase, request
from lib.harness import daemon_path, new_id

LOOPS = 3
PUTS = 30   # each on a connection of its own: the kernel spreads them over the loops


class RouterThreads(ClusterTestCase):
    n_brokers = 1
    router_args = ("--threads", str(LOOPS))

    def metric(self, port, name):
        status, _headers, body = request(port, "GET", "/metrics")
        self.assertEqual(status, 200)
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
        self.fail("no %s in /metrics:\n%s" % (name, body.decode()))

    def test_every_request_answered_and_counted_once(self):
        ch = new_id()
        sub = self.connected(ANDROID, subs=[ch])
        before = self.metric(self.router.put_port, "pushgate_router_puts_total")
        mids = [self.put_ok(ch, b"p%d" % i) for i in range(PUTS)]
        self.assertEqual(mids, sorted(set(mids)), "message ids must increase: %r" % mids)
        self.assert_got(sub, [(m, ch, 0, b"p%d" % i) for i, m in enumerate(mids)])
        # Any loop may answer /metrics; each must report the sum of all.
        for port in (self.router.put_port, self.router.reg_port) * 3:
            self.assertEqual(self.metric(port, "pushgate_router_puts_total"), before + PUTS)

    def test_registration_on_every_loop(self):
        name = "pushgate_router_registrations_total"
        before = self.metric(self.router.reg_port, name)
        ids = set()
        for _ in range(PUTS // 3):
            d = self.device(device_type=ANDROID)
            d.register()
            ids.add(d.device_id)
        self.assertEqual(len(ids), PUTS // 3, "each new serial gets an id of its own")
        self.assertEqual(self.metric(self.router.reg_port, name), before + PUTS // 3)
        st, rep = self.cluster.put(new_id(), b"nobody")
        self.assertEqual((st, rep["code"]), (404, 9), rep)

    def test_a_second_process_cannot_take_the_ports(self):
        # The loops share their ports with SO_REUSEPORT, which would let
        # another routerd (or brokerd) of the same user bind them too and
        # silently take part of the connections: it must fail instead.
        for name, args in (
                ("routerd", ["--registration-address", "127.0.0.1:%d" % self.router.reg_port,
                             "--put-address", "127.0.0.1:0"]),
                ("routerd", ["--registration-address", "127.0.0.1:0",
                             "--put-address", "127.0.0.1:%d" % self.router.put_port]),
                ("brokerd", ["--tcp-address", "%s:%d" % self.cluster.brokers[0].tcp,
                             "--http-address", "127.0.0.1:0", "--threads", "2"])):
            with self.subTest(name=name, args=args):
                proc = subprocess.run([daemon_path(name), "--redis", "127.0.0.1:1"] + args,
                                      capture_output=True, timeout=10)
                self.assertEqual(proc.returncode, 1, proc.stderr.decode())
                self.assertIn(b"Address already in use", proc.stderr)
