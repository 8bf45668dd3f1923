"""Black-box fixtures for adminhttp (SPEC 4, adminhttp/API.md): an Admin
process wrapper, HTTP helpers for its JSON endpoints, and a test case that
starts Redis + routerd + 2 brokerd + adminhttp per class.

Builds on lib.harness and lib.cluster; standard library only.

Environment (as harness.py):
  PUSHGATE_BUILD     build directory; adminhttp is $PUSHGATE_BUILD/adminhttp/adminhttp
"""

import json
import time

from lib.cluster import ClusterTestCase, broker_addr, wait_until
from lib.harness import Daemon, HarnessError, request as _request, request_json

HTTP_TIMEOUT = 3.0

# The keys of MSG_STAT_RES's payload and of /stats' totals (SPEC 4).
STAT_KEYS = {"brokers", "connections", "devices", "channels",
             "messages_in", "messages_out", "messages_pending"}

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 413: "Payload Too Large",
           501: "Not Implemented", 503: "Service Unavailable"}


# ---------------------------------------------------------------- HTTP

def request(port, method, path, timeout=HTTP_TIMEOUT, **kw):
    """lib.harness.request (body=, token=, headers=, ...) with adminhttp's
    timeout: (status, headers, body bytes). token adds "Authorization:
    Bearer <token>"; a headers entry "Authorization" overrides it."""
    return _request(port, method, path, timeout=timeout, **kw)


def api(port, obj_or_bytes, token=None, headers=None, method="POST"):
    """POST /api: (HTTP status, reply JSON). A dict/list/str/number is sent
    as JSON; bytes are sent as they are."""
    if isinstance(obj_or_bytes, (bytes, bytearray)):
        body = bytes(obj_or_bytes)
    else:
        body = json.dumps(obj_or_bytes).encode()
    return request_json(port, method, "/api", body=body, token=token,
                        headers=dict({"Content-Type": "application/json"}, **(headers or {})),
                        timeout=HTTP_TIMEOUT)


def get(port, path, token=None, headers=None):
    """GET path: (HTTP status, reply JSON)."""
    return request_json(port, "GET", path, token=token, headers=headers, timeout=HTTP_TIMEOUT)


def post(port, path, token=None, headers=None, body=b""):
    """POST path (empty body by default): (HTTP status, reply JSON)."""
    return request_json(port, "POST", path, body=body, token=token, headers=headers,
                        timeout=HTTP_TIMEOUT)


def ok(msg_type, **extra):
    """The whole SPEC 4 success reply."""
    return dict({"code": 200, "status": "OK", "msg_type": msg_type}, **extra)


def err(code, msg_type):
    """The whole SPEC 4 failure reply."""
    return {"code": code, "status": REASONS[code], "msg_type": msg_type}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


# ---------------------------------------------------------------- adminhttp

class Admin(Daemon):
    """adminhttp; .http is (host, port), .port the port. The admin token (if
    any) is written to the log header as *** so that grepping the log for
    it tests the daemon alone."""

    name = "adminhttp"
    listen = {"http": "http"}

    def __init__(self, redis_port, *extra_args, token=None, label="adminhttp",
                 start_timeout=10.0, redis_host="127.0.0.1"):
        self.token = token
        args = ["--redis", "%s:%d" % (redis_host, redis_port),
                "--http-address", "127.0.0.1:0",
                "--log-level", "debug"] + list(extra_args)
        if token is not None:
            args += ["--admin-token", token]
        super().__init__(args, label, start_timeout,
                         hide=(token,) if token is not None else ())

    @property
    def port(self):
        return self.http[1]

    def wait_ready(self, timeout=5.0):
        """Waits until MSG_STAT_REQ is answered 200 (Redis link up)."""
        def stat_ok():
            st, _rep = api(self.port, {"msg_type": "MSG_STAT_REQ", "saddr": 1, "daddr": 1},
                           token=self.token)
            return st == 200
        return self._wait_ready(stat_ok, timeout)


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
    def start_daemons(cls):
        super().start_daemons()
        cls.admin = cls.own(Admin(cls.cluster.redis.port, *cls.admin_args,
                                  token=cls.admin_token, label=cls.class_label()))
        if not cls.admin.wait_ready():
            raise HarnessError("adminhttp never answered MSG_STAT_REQ with 200; log %s\n%s"
                               % (cls.admin.log_path, cls.admin.log_tail()))

    # -- requests with the class's token
    @property
    def port(self):
        return self.admin.port

    def _token(self, token):
        return self.admin_token if token == "default" else token

    def api(self, obj_or_bytes, token="default", **kw):
        return api(self.port, obj_or_bytes, token=self._token(token), **kw)

    def get(self, path, token="default", **kw):
        return get(self.port, path, token=self._token(token), **kw)

    def post(self, path, token="default", **kw):
        return post(self.port, path, token=self._token(token), **kw)

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

    def wait_stats(self, check, timeout=3.0):
        """Polls GET /stats until check(stats) is true; returns the last."""
        last = {}

        def go():
            last["s"] = self.stats()
            return check(last["s"])
        wait_until(go, timeout, interval=0.1)
        return last["s"]

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
