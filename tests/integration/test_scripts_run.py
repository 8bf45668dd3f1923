"""scripts/run as a newcomer uses it: start it, paste every example it
prints, twice in a row (the second time must deliver too: ids come from
the clock), then Ctrl-C: it says "stopped" and exits 0.

scripts/run starts its own Redis and daemons; here those of the build
under test (PG_BUILD_DIR) on free ports (PG_PORT_BASE), with its data in a
temporary folder (PG_VAR).
"""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from lib.harness import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_block(n):
    """n consecutive ports that were free a moment ago, below the ephemeral
    range."""
    for base in range(21000, 31000, 10):
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free block of %d ports" % n)


def sh(cmd, timeout=20):
    """Runs a printed example as a user pastes it into bash."""
    return subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=timeout,
                          check=True).stdout


class ScriptsRun(unittest.TestCase):
    def setUp(self):
        self.var = tempfile.TemporaryDirectory(prefix="pg-run-")
        self.addCleanup(self.var.cleanup)
        env = dict(os.environ, PG_PORT_BASE=str(free_block(10)), PG_VAR=self.var.name,
                   PG_BUILD_DIR=os.path.abspath(os.environ["PUSHGATE_BUILD"]))
        self.run_proc = subprocess.Popen([os.path.join(ROOT, "scripts", "run")], env=env,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True, start_new_session=True)
        self.addCleanup(self._kill)
        lines = []
        for line in self.run_proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("  curl -s 127.0.0.1:") and "/metrics" in line and len(
                    [l for l in lines if "/metrics" in l]) == 2:
                break
        self.text = "\n".join(lines)

    def _kill(self):
        if self.run_proc.poll() is None:
            os.killpg(self.run_proc.pid, signal.SIGKILL)
            self.run_proc.wait()

    def example(self, pattern):
        """The one printed line matching pattern, as printed."""
        found = [l.strip() for l in self.text.splitlines() if re.search(pattern, l)]
        self.assertEqual(len(found), 1, "%r in:\n%s" % (pattern, self.text))
        return found[0]

    def round(self, n, pushcat_cmd):
        what = "round %d" % n
        cat = subprocess.Popen(["bash", "-c", pushcat_cmd + " --count 3 --log-level info"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Listening once pushcat's SUB is answered: a channel message
            # without a subscriber is refused (NoSubErr).
            put = self.example(r"^\s*curl -s -XPOST '127\.0\.0\.1:\d+/put\?channel_id=7'")
            self.assertTrue(wait_until(lambda: b'"code":0' in sh(put), 10), what)
            # The nc example as printed, but for its `| od -c`: the raw frames.
            nc = "\n".join(l for l in self.text.splitlines()
                           if l.startswith("  { printf") or l.startswith("    printf"))
            self.assertTrue(nc.endswith(" | od -c"), nc)
            self.assertIn(b"ACK 1 ", sh(nc[:-len(" | od -c")]), what)
            send = self.example(r'"msg_type":"MSG_SEND_REQ","saddr":900,"daddr":(?!901)\d+,')
            self.assertIn(b'"code":200', sh(send), what)
            out, err = cat.communicate(timeout=10)
        finally:
            if cat.poll() is None:
                cat.kill()
        # Each arrives once (their order depends on the paths they took).
        got = sorted(re.sub(r"^\d+ ", "<mid> ", l) for l in out.splitlines())
        self.assertEqual(got, ["<mid> 0 900 1 hi", "<mid> 7 0 1 hello from the backend",
                               "<mid> 7 43 1 hello"], "%s: stderr %r" % (what, err))
        self.assertEqual(cat.returncode, 0, what)
        # The read-back block as printed: HELO, SEND, RECV, FREE (curl prints
        # the replies one after the other, without newlines).
        block = "\n".join(l.strip() for l in self.text.splitlines()
                          if l.startswith("  mid=") or '"daddr":901' in l or '"saddr":901' in l)
        replies = json_seq(sh(block).decode())
        self.assertEqual([(r["code"], r["msg_type"]) for r in replies],
                         [(200, "MSG_HELO_ACK"), (200, "MSG_SEND_ACK"), (200, "MSG_RECV_ACK"),
                          (200, "MSG_FREE_ACK")], what)
        self.assertEqual((replies[2]["saddr"], replies[2]["daddr"], replies[2]["payload"]),
                         (900, 901, "for 901"), what)
        stat = self.example(r'"msg_type":"MSG_STAT_REQ"')
        self.assertIn(b'"code":200', sh(stat), what)

    def log_tails(self, n=15):
        """The last lines of each daemon's log, for a failure's message."""
        logs = os.path.join(self.var.name, "log")
        out = []
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            with open(os.path.join(logs, name), errors="replace") as f:
                out.append("--- %s\n%s" % (name, "".join(f.readlines()[-n:])))
        return "\n".join(out)

    def test_every_example_twice_then_ctrl_c(self):
        self.assertIn("pushgate is up", self.text)
        # The registration example answers what it printed.
        reg = self.example(r"^\s*curl -s -XPOST '127\.0\.0\.1:\d+/registration")
        printed = self.text.splitlines()[self.text.splitlines().index("  " + reg) + 1].strip()
        self.assertEqual(json.loads(sh(reg)), json.loads(printed))
        pushcat = self.example(r"/tools/pushcat --broker ")
        self.assertTrue(pushcat.startswith("/"), "an absolute path: %s" % pushcat)
        for n in (1, 2):
            self.round(n, pushcat)
        os.killpg(self.run_proc.pid, signal.SIGINT)
        _out, err = self.run_proc.communicate(timeout=20)
        self.assertEqual(self.run_proc.returncode, 0, err + self.log_tails())
        self.assertIn("==> stopped", err)
        self.assertNotIn("exited on its own", err)


def json_seq(text):
    """The JSON objects written one after the other in text."""
    dec, out, i = json.JSONDecoder(), [], 0
    while i < len(text):
        obj, i = dec.raw_decode(text, i)
        out.append(obj)
    return out


if __name__ == "__main__":
    unittest.main()
