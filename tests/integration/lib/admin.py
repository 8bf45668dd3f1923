"""Black-box fixtures for adminhttp (SPEC 4, adminhttp/API.md): an Admin
process wrapper, HTTP helpers for its JSON endpoints, and a test case that
starts Redis + routerd + 2 brokerd + adminhttp per class.

Builds on lib.harness and lib.cluster; standard library only.

Environment (as harness.py):
  PUSHGATE_BUILD     build directory; adminhttp is $PUSHGATE_BUILD/adminhttp/adminhttp
"""

import http.client
import itertools
import json
import os
import re
import signal
import subprocess
import threading
import time

from lib.cluster import ClusterTestCase, broker_addr, wait_until
from lib.harness import HarnessError, out_path

HTTP_TIMEOUT = 3.0

# The keys of MSG_STAT_RES's payload and of /stats' totals (SPEC 4).
STAT_KEYS = {"brokers", "connections", "devices", "channels",
             "messages_in", "messages_out", "messages_pending"}

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 413: "Payload Too Large",
           501: "Not Implemented", 503: "Service Unavailable"}


def adminhttp_path():
    build = os.environ.get("PUSHGATE_BUILD")
    if not build:
        raise HarnessError("PUSHGATE_BUILD is not set (it must name the build "
                           "directory that holds adminhttp/adminhttp)")
    path = os.path.join(build, "adminhttp", "adminhttp")
    if not os.access(path, os.X_OK):
        raise HarnessError("no executable adminhttp at %s (PUSHGATE_BUILD=%s)"
                           % (path, build))
    return path


_log_seq = itertools.count(1)


def _log_name(label):
    return out_path("%s.%d.a%d.adminhttp.log" % (label, os.getpid(), next(_log_seq)))


def _split_hostport(s):
    s = s.rstrip(",;)")
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


_LISTEN_RE = re.compile(r"listening http (\S+)")


# ---------------------------------------------------------------- HTTP

def request(port, method, path, body=None, token=None, headers=None,
            host="127.0.0.1", timeout=HTTP_TIMEOUT):
    """One request on a fresh connection: (status, headers with lower-case
    names, body bytes). token adds "Authorization: Bearer <token>"; a
    headers entry "Authorization" overrides it."""
    hdrs = {}
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def _json(method, path, status, data):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise AssertionError("%s %s: HTTP %d with a body that is not JSON: %r"
                             % (method, path, status, data[:300])) from None


def api(port, obj_or_bytes, token=None, headers=None, method="POST"):
    """POST /api: (HTTP status, reply JSON). A dict/list/str/number is sent
    as JSON; bytes are sent as they are."""
    if isinstance(obj_or_bytes, (bytes, bytearray)):
        body = bytes(obj_or_bytes)
    else:
        body = json.dumps(obj_or_bytes).encode()
    status, _h, data = request(port, method, "/api", body=body, token=token,
                               headers=dict({"Content-Type": "application/json"},
                                            **(headers or {})))
    return status, _json(method, "/api", status, data)


def get(port, path, token=None, headers=None):
    """GET path: (HTTP status, reply JSON)."""
    status, _h, data = request(port, "GET", path, token=token, headers=headers)
    return status, _json("GET", path, status, data)


def post(port, path, token=None, headers=None, body=b""):
    """POST path (empty body by default): (HTTP status, reply JSON)."""
    status, _h, data = request(port, "POST", path, body=body, token=token, headers=headers)
    return status, _json("POST", path, status, data)


def ok(msg_type, **extra):
    """The whole SPEC 4 success reply."""
    return dict({"code": 200, "status": "OK", "msg_type": msg_type}, **extra)


def err(code, msg_type):
    """The whole SPEC 4 failure reply."""
    return {"code": code, "status": REASONS[code], "msg_type": msg_type}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


# ---------------------------------------------------------------- adminhttp

class Admin:
    """An adminhttp process on an ephemeral port, stderr saved under
    tests/out/. The admin token (if any) is written to the log header as
    *** so that grepping the log for it tests the daemon alone."""

    def __init__(self, redis_port, *extra_args, token=None, label="adminhttp",
                 start_timeout=10.0, redis_host="127.0.0.1"):
        self.label = label
        self.token = token
        self.args = [adminhttp_path(),
                     "--redis", "%s:%d" % (redis_host, redis_port),
                     "--http-address", "127.0.0.1:0",
                     "--log-level", "debug"] + [str(a) for a in extra_args]
        if token is not None:
            self.args += ["--admin-token", token]
        self.log_path = _log_name(label)
        self.http = None    # (host, port)
        self._lines = []
        self._lines_lock = threading.Lock()
        self._ready = threading.Event()
        self._log = open(self.log_path, "wb")
        shown = ["***" if token is not None and a == token else a for a in self.args]
        self._log.write(("# %s\n" % " ".join(shown)).encode())
        self._log.flush()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self._ready.wait(0.05):
                break
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise HarnessError("adminhttp exited with %s before listening; see %s\n%s"
                                   % (self.proc.returncode, self.log_path, self.log_tail()))
        else:
            self.kill()
            raise HarnessError("adminhttp did not log 'listening http' within %.0f s; "
                               "see %s\n%s" % (start_timeout, self.log_path, self.log_tail()))

    @property
    def port(self):
        return self.http[1]

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            try:
                self._log.write(raw)
                self._log.flush()
            except ValueError:
                pass
            line = raw.decode("utf-8", "replace")
            with self._lines_lock:
                self._lines.append(line)
            m = _LISTEN_RE.search(line)
            if m and self.http is None:
                try:
                    self.http = _split_hostport(m.group(1))
                except ValueError:
                    pass
                else:
                    self._ready.set()
        self.proc.stderr.close()

    def wait_ready(self, timeout=5.0):
        """Waits until MSG_STAT_REQ is answered 200 (Redis link up)."""
        def ready():
            try:
                st, _rep = api(self.port, {"msg_type": "MSG_STAT_REQ", "saddr": 1,
                                           "daddr": 1}, token=self.token)
                return st == 200
            except (OSError, AssertionError):
                return False
        return wait_until(ready, timeout)

    def log_text(self):
        with self._lines_lock:
            return "".join(self._lines)

    def log_tail(self, n=30):
        with self._lines_lock:
            return "".join(self._lines[-n:])

    def log_file_bytes(self):
        with open(self.log_path, "rb") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def _finish(self):
        self._reader.join(5)
        try:
            self._log.close()
        except ValueError:
            pass

    def stop(self, timeout=5.0):
        """SIGTERM and wait; asserts it had been running and exits 0 within
        timeout. Returns the seconds it took."""
        was_alive = self.alive()
        t0 = time.monotonic()
        if was_alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._finish()
                raise AssertionError("adminhttp did not exit within %.0f s of SIGTERM; log %s"
                                     % (timeout, self.log_path))
        took = time.monotonic() - t0
        rc = self.proc.returncode
        self._finish()
        if not was_alive:
            raise AssertionError("adminhttp had already exited with %s before SIGTERM; "
                                 "log %s\n%s" % (rc, self.log_path, self.log_tail()))
        if rc != 0:
            raise AssertionError("adminhttp exited with %s after SIGTERM (want 0); log %s\n%s"
                                 % (rc, self.log_path, self.log_tail()))
        return took

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self._finish()


# ---------------------------------------------------------------- TestCase

class AdminTestCase(ClusterTestCase):
    """Redis + routerd + 2 brokerd (lib.cluster) + adminhttp, per class.
    Subclasses may set admin_args and admin_token (and ClusterTestCase's
    knobs; broker_args defaults to one event loop per brokerd). self.api()
    and friends send the class's token."""

    n_brokers = 2
    # One event loop per brokerd: each loop registers as a broker of its
    # own, so with --threads 1 "2 brokerd" is exactly "2 brokers" whatever
    # the number of cores (test_admin_stats.MultiLoop covers more loops).
    broker_args = ("--threads", "1")
    admin_args = ()
    admin_token = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.admin = Admin(cls.cluster.redis.port, *cls.admin_args, token=cls.admin_token,
                              label="%s.%s" % (cls.__module__, cls.__name__))
            if not cls.admin.wait_ready():
                raise HarnessError("adminhttp never answered MSG_STAT_REQ with 200; log %s\n%s"
                                   % (cls.admin.log_path, cls.admin.log_tail()))
        except BaseException:
            if getattr(cls, "admin", None) is not None:
                cls.admin.kill()
            cls.cluster.kill_all()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.admin.stop()
        finally:
            cls.admin.kill()
            super().tearDownClass()

    def check_daemons(self, when):
        super().check_daemons(when)
        if not self.admin.alive():
            self.fail("adminhttp is not running %s (exit %s); log %s\n%s"
                      % (when, self.admin.proc.returncode, self.admin.log_path,
                         self.admin.log_tail()))

    # -- requests with the class's token
    @property
    def port(self):
        return self.admin.port

    def api(self, obj_or_bytes, token="default", **kw):
        return api(self.port, obj_or_bytes,
                   token=self.admin_token if token == "default" else token, **kw)

    def get(self, path, token="default", **kw):
        return get(self.port, path, token=self.admin_token if token == "default" else token,
                   **kw)

    def post(self, path, token="default", **kw):
        return post(self.port, path, token=self.admin_token if token == "default" else token,
                    **kw)

    def assert_api(self, obj, status, want, what=None):
        """POST /api obj; the whole reply must equal want with HTTP status."""
        got = self.api(obj)
        self.assertEqual(got, (status, want), what or "request %r" % (obj,))
        return got[1]

    # -- MSG_* shortcuts (each asserts its exact reply)
    def helo(self, saddr, daddr=1):
        self.assert_api({"msg_type": "MSG_HELO_REQ", "saddr": saddr, "daddr": daddr},
                        200, ok("MSG_HELO_ACK"))

    def gbye(self, saddr, daddr=1):
        self.assert_api({"msg_type": "MSG_GBYE_REQ", "saddr": saddr, "daddr": daddr},
                        200, ok("MSG_GBYE_ACK"))

    def send(self, saddr, daddr, mid, payload, status=200):
        req = {"msg_type": "MSG_SEND_REQ", "saddr": saddr, "daddr": daddr, "id": mid,
               "payload": payload}
        self.assert_api(req, status, ok("MSG_SEND_ACK") if status == 200
                        else err(status, "MSG_SEND_ACK"))

    def recv(self, saddr, daddr=1):
        """(status, reply) of MSG_RECV_REQ."""
        return self.api({"msg_type": "MSG_RECV_REQ", "saddr": saddr, "daddr": daddr})

    def assert_recv(self, receiver, sender, mid, payload, what=None):
        self.assertEqual(self.recv(receiver),
                         (200, ok("MSG_RECV_ACK", saddr=sender, daddr=receiver, id=mid,
                                  payload=payload)), what)

    def assert_recv_none(self, receiver, what=None):
        self.assertEqual(self.recv(receiver), (404, err(404, "MSG_RECV_ACK")), what)

    def free(self, saddr, mid, status=200, daddr=1):
        req = {"msg_type": "MSG_FREE_REQ", "saddr": saddr, "daddr": daddr, "id": mid}
        self.assert_api(req, status, ok("MSG_FREE_ACK") if status == 200
                        else err(status, "MSG_FREE_ACK"))

    def stat(self):
        """MSG_STAT_RES's payload, after checking the reply's shape."""
        st, rep = self.api({"msg_type": "MSG_STAT_REQ", "saddr": 1, "daddr": 1})
        self.assertEqual(st, 200, "MSG_STAT_REQ: %r" % (rep,))
        self.assertEqual(set(rep), {"code", "status", "msg_type", "payload"}, rep)
        self.assertEqual((rep["code"], rep["status"], rep["msg_type"]),
                         (200, "OK", "MSG_STAT_RES"), rep)
        p = rep["payload"]
        self.assertIsInstance(p, dict, rep)
        self.assertEqual(set(p), STAT_KEYS, "STAT payload keys: %r" % (p,))
        for k, v in p.items():
            self.assertTrue(is_int(v) and v >= 0, "STAT payload %s = %r is not an int >= 0"
                            % (k, v))
        return p

    def wait_stat(self, want, timeout=3.0, settle=0.0):
        """Polls STAT until every key of want has that value (brokers report
        once a second); then, with settle > 0, checks it stays so for that
        long. Returns the last payload; asserts on mismatch."""
        last = {}

        def match():
            last.clear()
            last.update(self.stat())
            return all(last[k] == v for k, v in want.items())
        wait_until(match, timeout, interval=0.1)
        self.assertEqual({k: last[k] for k in want}, want,
                         "STAT payload after %.1f s: %r" % (timeout, last))
        if settle:
            time.sleep(settle)
            p = self.stat()
            self.assertEqual({k: p[k] for k in want}, want,
                             "STAT payload %.1f s later: %r" % (settle, p))
            return p
        return dict(last)

    def quiet_stat(self, timeout=4.0):
        """A STAT payload once the brokers' numbers stopped moving: two reads
        more than a heartbeat (1 s) apart that agree."""
        deadline = time.monotonic() + timeout
        prev = self.stat()
        while True:
            time.sleep(1.1)
            cur = self.stat()
            if cur == prev or time.monotonic() >= deadline:
                self.assertEqual(cur, prev, "STAT kept moving for %.1f s" % timeout)
                return cur
            prev = cur

    def stats(self):
        st, rep = self.get("/stats")
        self.assertEqual(st, 200, "GET /stats: %r" % (rep,))
        return rep

    def broker_ids(self):
        """{"host:port": broker id string} from GET /stats."""
        return {b["address"]: b["id"] for b in self.stats()["brokers"]}

    def all_broker_addrs(self):
        return sorted(broker_addr(b) for b in self.cluster.brokers)
