"""pushcat survives its broker (SPEC 2.4, 2.5): kill -9 under a running
`pushcat --sub`, messages published while it is away; it comes back (to
the restarted broker, or through /registration to another one), prints
every message exactly once, says each state change on stderr, and exits 0
on SIGTERM."""

import os
import re
import signal
import subprocess
import threading
import time

from lib.cluster import ANDROID, ClusterTestCase, broker_addr, wait_until
from lib.harness import new_id

RETRY_MAX = 5.0 * 1.2      # the backoff cap with its jitter (tools/pushcat_retry.h)
MARGIN = 2.0               # the broker's start and a slow machine
N_AWAY = 6                 # messages published while pushcat has no broker
STATE_LINE = re.compile(r"pushcat: (connecting to \S+|identified as \d+ on \S+|"
                        r"(re-)?registered: device \d+, broker \S+|lost \S+: .+|"
                        r"retrying in \d+ ms|registration at \S+ failed: .+)$")


def pushcat_path():
    return os.path.join(os.environ["PUSHGATE_BUILD"], "tools", "pushcat")


class Pushcat:
    """pushcat as a process; stdout and stderr lines collected as they come."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([pushcat_path(), "--heartbeat", "1"] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out, self.err = [], []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._read, args=(f, lines), daemon=True)
                        for f, lines in ((self.proc.stdout, self.out),
                                         (self.proc.stderr, self.err))]
        for t in self.threads:
            t.start()

    def _read(self, f, lines):
        for raw in f:
            with self.lock:
                lines.append((time.monotonic(), raw.decode().rstrip("\n")))

    def lines(self, which):
        with self.lock:
            return [text for _, text in which]

    def when(self, pattern, after=0.0):
        """The time of the first stderr line matching pattern after `after`."""
        with self.lock:
            return next((t for t, text in self.err if t > after and re.search(pattern, text)),
                        None)

    def stop(self):
        """SIGTERM; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        finally:
            for t in self.threads:
                t.join(5)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class PushcatCase(ClusterTestCase):
    def start_pushcat(self, *args):
        p = Pushcat(*args)
        self.addCleanup(p.kill)
        self.assertTrue(wait_until(lambda: p.when("identified as"), 5.0),
                        "pushcat did not identify: %r" % p.lines(p.err))
        return p

    def first_message(self, p, ch):
        """One message printed live (attempt 1); its pattern, in a list."""
        mid = self.subscribed_put(ch, b"before")
        want = ["%d %d 0 1 before" % (mid, ch)]   # its redelivery is not printed
        self.assertTrue(self.printed(p, want), p.lines(p.out))
        return want

    def subscribed_put(self, ch, body):
        """A /put once pushcat's SUB went through; its message id."""
        rep = wait_until(lambda: (lambda r: r if r[1].get("code") == 0 else None)(
            self.cluster.put(ch, body)), 5.0)
        self.assertTrue(rep, "pushcat's SUB %s never took effect" % ch)
        return rep[1]["data"]["message_id"]

    def printed(self, p, want):
        return wait_until(lambda: len(self.matched(p.lines(p.out), want)) == len(want), 15.0)

    @staticmethod
    def matched(lines, want):
        """The lines that match a pattern of want, each pattern at most once."""
        left, got = list(want), []
        for line in lines:
            m = next((w for w in left if re.fullmatch(w, line)), None)
            if m is not None:
                left.remove(m)
                got.append(line)
        return got

    def check_end(self, p, want):
        code = p.stop()
        out, err = p.lines(p.out), p.lines(p.err)
        self.assertEqual(code, 0, "exit code at SIGTERM; stderr %r" % err)
        self.assertEqual(len(out), len(want), "each message printed once: %r" % out)
        self.assertEqual(self.matched(out, want), out, "stdout %r, want %r" % (out, want))
        self.assertEqual([line for line in err if not STATE_LINE.match(line)], [],
                         "stderr holds only state changes")

    def publish_away(self, ch, device_id):
        """N_AWAY messages for the offline device, channel and direct mixed;
        patterns of the lines pushcat must print for them. The attempt may
        be 2: the broker that died may have sent what was published within
        a beat of its last heartbeat (SPEC 2.5), so the next one says so."""
        want = []
        for i in range(N_AWAY):
            body = b"away %d" % i
            direct = {"device_id": device_id} if i % 2 else {}
            mid = self.put_ok(ch, body, **direct)
            want.append("%d %d 0 [12] %s" % (mid, ch, body.decode()))
        return want


class PushcatBrokerRestart(PushcatCase):
    n_brokers = 1

    def test_back_on_the_restarted_broker(self):
        c = self.cluster
        ch = new_id()
        victim = c.brokers[0]
        d = c.device(device_type=ANDROID)
        d.register()
        p = self.start_pushcat("--broker", d.broker, "--client-id", str(d.device_id),
                               "--sub", str(ch))
        want = self.first_message(p, ch)

        victim.kill()
        c.dead.add(victim)
        killed = time.monotonic()
        self.assertTrue(wait_until(lambda: p.when("lost ", killed), 5.0))
        want += self.publish_away(ch, d.device_id)
        time.sleep(1.0)    # a few retries meet a closed port
        c.add_broker("--tcp-address", d.broker)
        up = time.monotonic()
        back = wait_until(lambda: p.when("identified as %d on %s" % (d.device_id, d.broker),
                                         killed), RETRY_MAX + MARGIN)
        self.assertTrue(back, "pushcat not back %.1f s after the broker restarted: %r"
                        % (RETRY_MAX + MARGIN, p.lines(p.err)))
        self.assertTrue(self.printed(p, want), p.lines(p.out))
        print("\n  pushcat back %.2f s after the broker restarted (%.2f s after the kill)"
              % (back - up, back - killed), flush=True)
        self.check_end(p, want)


class PushcatBrokerGone(PushcatCase):
    n_brokers = 2

    def test_re_registers_on_the_other_broker(self):
        c = self.cluster
        ch = new_id()
        serial = "sn-%d" % new_id()
        p = self.start_pushcat("--router", "127.0.0.1:%d" % c.router.reg_port,
                               "--serial-no", serial, "--device-type", str(ANDROID),
                               "--sub", str(ch))
        m = re.search(r"registered: device (\d+), broker (\S+)", "\n".join(p.lines(p.err)))
        self.assertTrue(m, p.lines(p.err))
        device_id, addr = int(m.group(1)), m.group(2)
        victim = c.broker_for(addr)
        survivor = next(b for b in c.brokers if b is not victim)
        want = self.first_message(p, ch)

        victim.kill()
        c.dead.add(victim)
        killed = time.monotonic()
        want += self.publish_away(ch, device_id)
        again = "re-registered: device %d, broker %s" % (device_id, broker_addr(survivor))
        back = wait_until(lambda: p.when("identified as %d on %s"
                                         % (device_id, broker_addr(survivor)), killed),
                          RETRY_MAX + MARGIN)
        self.assertTrue(back, "pushcat not on the other broker: %r" % p.lines(p.err))
        self.assertIn("pushcat: " + again, p.lines(p.err))
        self.assertTrue(self.printed(p, want), p.lines(p.out))
        print("\n  pushcat on the other broker %.2f s after the kill" % (back - killed),
              flush=True)
        self.check_end(p, want)
