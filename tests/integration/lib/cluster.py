"""Black-box fixtures for routerd together with brokerd: a Router process
wrapper, an HTTP helper for routerd's JSON API (SPEC 3), a Cluster of one
Redis + one routerd + N brokerd, and a Device that registers, connects to
the broker it was given and collects its Message frames.

Builds on lib.harness (RedisServer, Broker, Client); standard library only.

Environment (as harness.py):
  PUSHGATE_BUILD     build directory; routerd is $PUSHGATE_BUILD/routerd/routerd
"""

import collections
import hashlib
import hmac
import json
import queue
import socket
import threading
import time

from lib.harness import (Broker, Client, Closed, Daemon, DaemonTestCase, FRAME_ERROR,
                         FRAME_MESSAGE, FRAME_RESPONSE, FrameTimeout, RedisServer, fmt_frame,
                         new_id, request as _request, request_json, split_hostport,
                         wait_until)

HTTP_TIMEOUT = 2.0

# SPEC 3 reply codes
NOT_FOUND = -1
OK = 0
PARAM_ERR = 1
INTERNAL_ERR = 2
METHOD_ERR = 3
MSG_EMPTY = 4
MSG_TOO_LONG = 5
MSG_ERR = 6
CHANNEL_ID_ERR = 7
DEVICE_TYPE_ERR = 8
SERIAL_NO_ERR = 9   # /registration
NO_SUB_ERR = 9      # /put

# SPEC 3 device types
BROWSER, PC, ANDROID, IOS, WINDOWS_PHONE, OTHER = 1, 2, 3, 4, 5, 6


def token_for(secret, device_id):
    """SPEC 2.7 token as the lead defined it: lowercase hex of
    HMAC-SHA256(key=secret, message=the device id in decimal)."""
    return hmac.new(secret.encode(), str(device_id).encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- HTTP

def request(port, method, path, timeout=HTTP_TIMEOUT, **kw):
    """lib.harness.request (query=, form=, body=, headers=, ...) with
    routerd's timeout: (status, headers, body bytes)."""
    return _request(port, method, path, timeout=timeout, **kw)


def post(port, path, query=None, body=None, form=None, method="POST",
         timeout=HTTP_TIMEOUT, **kw):
    """(HTTP status, reply JSON). Raises AssertionError if the reply is not
    JSON."""
    return request_json(port, method, path, query=query, body=body, form=form,
                        timeout=timeout, **kw)


# ---------------------------------------------------------------- routerd

class Router(Daemon):
    """routerd. .reg and .put are (host, port); .reg_port / .put_port the
    ports."""

    name = "routerd"
    listen = {"reg": "registration", "put": "put"}

    def __init__(self, redis_port, *extra_args, label="routerd", start_timeout=10.0,
                 redis_host="127.0.0.1"):
        super().__init__(["--redis", "%s:%d" % (redis_host, redis_port),
                          "--registration-address", "127.0.0.1:0",
                          "--put-address", "127.0.0.1:0",
                          "--log-level", "debug"] + list(extra_args),
                         label, start_timeout)

    @property
    def reg_port(self):
        return self.reg[1]

    @property
    def put_port(self):
        return self.put[1]

    def wait_ready(self, timeout=5.0):
        """Waits until /put answers something other than 503 (Redis link up).
        A /put to a channel nobody subscribed to has no effect whatever it
        answers (NoSubErr once Redis is reachable)."""
        def not_503():
            status, _ = post(self.put_port, "/put", query={"channel_id": new_id()},
                             body=b"probe")
            return status != 503
        return self._wait_ready(not_503, timeout)


def broker_addr(broker):
    """The 'host:port' routerd hands out for a brokerd started without
    --broadcast-address: its bound TCP address."""
    return "%s:%d" % broker.tcp


# ---------------------------------------------------------------- Device

Msg = collections.namedtuple("Msg", "mid ch frm ts attempt body conn t")


class Device:
    """A device as a real client would behave: /registration, connect to the
    broker it was given, IDENTIFY (with the token if any), SUB. A reader
    thread collects Message frames (FINing each) into .messages; every other
    frame goes to a queue that the foreground reads (IDENTIFY/SUB/PUB
    replies). With auto_reconnect, a lost connection makes the device
    register again and reconnect to whatever broker it is given (no SUB:
    subscriptions belong to the device, SPEC 2.5)."""

    def __init__(self, cluster, serial=None, device_type=ANDROID, name=None,
                 auto_reconnect=False, fin=True, label=None):
        self.cluster = cluster
        self.serial = serial or "sn-%d" % new_id()
        self.device_type = device_type
        self.name = name
        self.auto_reconnect = auto_reconnect
        self.fin = fin
        self.label = label or self.serial
        self.device_id = None
        self.broker = None        # "host:port" from the last registration
        self.token = None
        self.client = None
        self.messages = []
        self.cond = threading.Condition()
        self.ctrl = queue.Queue()
        self.events = []          # (monotonic time, text): connects, EOFs, errors
        self.fin_failed = []
        self.errors = []          # unexpected things seen by the reader thread
        self.conn_no = 0
        self._send_lock = threading.Lock()
        self._closing = False
        self._thread = None
        self.connected = threading.Event()

    # -- registration
    def register(self, check=True, **extra):
        """POST /registration; on code 0 keeps device_id/broker/token.
        Returns (status, reply)."""
        q = {"serial_no": self.serial, "device_type": str(self.device_type)}
        if self.name is not None:
            q["device_name"] = self.name
        q.update(extra)
        status, rep = post(self.cluster.router.reg_port, "/registration", query=q)
        if check and (status, rep.get("code")) != (200, OK):
            raise AssertionError("registration of %s (type %d): HTTP %d %r"
                                 % (self.serial, self.device_type, status, rep))
        if rep.get("code") == OK and isinstance(rep.get("data"), dict):
            d = rep["data"]
            self.device_id = d.get("device_id")
            self.broker = d.get("broker")
            self.token = d.get("token")
        return status, rep

    # -- connection
    def _open(self, addr):
        host, port = split_hostport(addr)
        c = Client((host, port), timeout=2.0)
        c.connect()
        c.send_magic()
        return c

    def _identify_body(self, token):
        body = {"client_id": self.device_id}
        if token is not None:
            body["token"] = token
        return json.dumps(body).encode()

    def send_line(self, line):
        with self._send_lock:
            self.client.send_line(line)

    def send_with_body(self, line, body):
        with self._send_lock:
            self.client.send_with_body(line, body)

    def connect(self, subs=(), token="registered", addr=None, expect_ok=True):
        """Connects to addr (default the registered broker), IDENTIFYs and
        SUBs. token: "registered" sends the token from /registration when
        there was one; None sends none; a string sends that. Returns the
        IDENTIFY reply frame."""
        if self.device_id is None:
            self.register()
        addr = addr or self.broker
        if addr is None:
            raise AssertionError("device %s has no broker to connect to" % self.serial)
        if token == "registered":
            token = self.token
        self.close()
        self._closing = False
        self.ctrl = queue.Queue()
        self.client = self._open(addr)
        self.conn_no += 1
        self.connected_to = addr
        self.events.append((time.monotonic(), "connect %s" % addr))
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="device-%s" % self.label)
        self._thread.start()
        self.send_with_body("IDENTIFY", self._identify_body(token))
        frame = self.next_ctrl(5.0)
        if expect_ok:
            if frame != (FRAME_RESPONSE, b"OK"):
                raise AssertionError("IDENTIFY of device %s (%s) on %s: got %s"
                                     % (self.device_id, self.serial, addr, fmt_frame(frame)))
            self.connected.set()
            for ch in subs:
                self.sub(ch)
        return frame

    def next_ctrl(self, timeout=5.0):
        """The next non-Message frame (E_FIN_FAILED is set aside)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FrameTimeout("device %s: no reply frame within %.1f s"
                                   % (self.device_id, timeout))
            try:
                frame = self.ctrl.get(timeout=remaining)
            except queue.Empty:
                continue
            if frame is None:
                raise Closed("device %s: connection closed while a reply was expected"
                             % self.device_id)
            return frame

    def sub(self, ch):
        self._command_ok("SUB %d" % ch)

    def unsub(self, ch):
        self._command_ok("UNSUB %d" % ch)

    def _command_ok(self, line):
        """Sends line; the reply must be Response OK."""
        self.send_line(line)
        frame = self.next_ctrl()
        if frame != (FRAME_RESPONSE, b"OK"):
            raise AssertionError("%s of device %s: got %s" % (line, self.device_id,
                                                              fmt_frame(frame)))

    def pub(self, client_id, ch, mid, body):
        """PUB; returns the reply frame (an Ack, normally)."""
        self.send_with_body("PUB %d %d %d" % (client_id, ch, mid), body)
        return self.next_ctrl()

    def cls(self):
        """CLS: Response CLOSE_WAIT, then the broker closes; waits for EOF."""
        self._closing = True  # no auto-reconnect on this EOF
        self.send_line("CLS")
        frame = self.next_ctrl()
        if frame != (FRAME_RESPONSE, b"CLOSE_WAIT"):
            raise AssertionError("CLS of device %s: got %s" % (self.device_id, fmt_frame(frame)))
        if self._thread is not None:
            self._thread.join(5.0)
            if self._thread.is_alive():
                raise AssertionError("device %s: no EOF within 5 s of CLOSE_WAIT"
                                     % self.device_id)
        self.close()

    def wait_eof(self, timeout=5.0):
        """True once the reader thread saw the connection end (no reconnect)."""
        t = self._thread
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    def close(self):
        """Closes the connection (a plain FIN from our side) and stops the
        reader thread."""
        self._closing = True
        c = self.client
        if c is not None and c.sock is not None:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)
        if c is not None:
            c.close()
        self.client = None
        self._thread = None
        self.connected.clear()

    # -- reader thread
    def _handle(self, frame):
        if frame[0] == FRAME_MESSAGE:
            mid, ch, frm, ts, attempt, body = Client.parse_message(frame[1])
            with self.cond:
                self.messages.append(Msg(mid, ch, frm, ts, attempt, body, self.conn_no,
                                         time.monotonic()))
                self.cond.notify_all()
            if self.fin:
                try:
                    self.send_line("FIN %d" % mid)
                except OSError:
                    pass
            return None
        if frame[0] == FRAME_ERROR and frame[1].startswith(b"E_FIN_FAILED"):
            self.fin_failed.append(frame[1])
            return None
        return frame

    def _read_loop(self, client):
        """Reads until EOF; returns when the connection is gone."""
        while True:
            try:
                frame = client.read_frame(0.2)
            except FrameTimeout:
                if self._closing:
                    return
                continue
            except Closed:
                return
            except OSError:
                return
            other = self._handle(frame)
            if other is not None:
                self.ctrl.put(other)

    def _run(self):
        client = self.client
        try:
            while True:
                self._read_loop(client)
                self.events.append((time.monotonic(), "eof"))
                self.connected.clear()
                self.ctrl.put(None)
                if self._closing or not self.auto_reconnect:
                    return
                client.close()
                client = self._reconnect()
                if client is None:
                    return
        except Exception as e:  # report, do not die silently
            self.errors.append("reader thread: %r" % (e,))
            self.ctrl.put(None)

    def _reconnect(self, deadline_s=30.0):
        """Register again and connect to the broker given; retried until it
        works or the device is closed. Runs in the reader thread."""
        deadline = time.monotonic() + deadline_s
        while not self._closing and time.monotonic() < deadline:
            try:
                status, rep = self.register(check=False)
                if status != 200 or rep.get("code") != OK:
                    self.events.append((time.monotonic(), "register: %d %r" % (status, rep)))
                    time.sleep(0.2)
                    continue
                client = self._open(self.broker)
            except (OSError, AssertionError) as e:
                self.events.append((time.monotonic(), "reconnect to %s: %r" % (self.broker, e)))
                time.sleep(0.2)
                continue
            self.conn_no += 1
            self.client = client
            self.connected_to = self.broker
            self.events.append((time.monotonic(), "connect %s" % self.broker))
            try:
                self.send_with_body("IDENTIFY", self._identify_body(self.token))
                while True:
                    frame = client.read_frame(5.0)
                    other = self._handle(frame)
                    if other is not None:
                        break
            except (OSError, AssertionError) as e:
                self.events.append((time.monotonic(), "identify on %s: %r" % (self.broker, e)))
                client.close()
                time.sleep(0.2)
                continue
            if other != (FRAME_RESPONSE, b"OK"):
                self.errors.append("re-IDENTIFY on %s: %s" % (self.broker, fmt_frame(other)))
                client.close()
                time.sleep(0.2)
                continue
            self.connected.set()
            return client
        if not self._closing:
            self.errors.append("could not reconnect within %.0f s: %r"
                               % (deadline_s, self.events[-5:]))
        return None

    # -- what arrived
    def received(self):
        with self.cond:
            return list(self.messages)

    def wait_messages(self, n, timeout=5.0):
        """Waits until at least n Message frames arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(remaining)
            return list(self.messages)

    def wait_mids(self, mids, timeout=5.0):
        """Waits until every message id in mids arrived; returns the missing."""
        mids = set(mids)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                missing = mids - {m.mid for m in self.messages}
                remaining = deadline - time.monotonic()
                if not missing or remaining <= 0:
                    return missing
                self.cond.wait(remaining)

    def take(self):
        """The messages so far, clearing the list."""
        with self.cond:
            got, self.messages = self.messages, []
            return got


# ---------------------------------------------------------------- Cluster

class Cluster:
    """One Redis, one routerd and n brokerd, all sharing the Redis."""

    def __init__(self, n_brokers=2, secret=None, router_args=(), broker_args=(),
                 label="cluster"):
        self.label = label
        self.secret = secret
        self.broker_args = tuple(broker_args)
        self.redis = RedisServer(label=label)
        self.router = None
        self.brokers = []
        self.devices = []
        self.dead = set()      # brokers the test killed on purpose
        try:
            extra = tuple(router_args) + (("--secret", secret) if secret else ())
            self.router = Router(self.redis.port, *extra, label=label + ".router")
            for _ in range(n_brokers):
                self.add_broker(wait=False)
            for b in self.brokers:
                b.wait_ready()
            self.wait_registered()
            self.router.wait_ready()
        except BaseException:
            self.kill_all()
            raise

    def add_broker(self, *args, wait=True):
        extra = self.broker_args + tuple(args) + (("--secret", self.secret)
                                                  if self.secret else ())
        b = Broker(self.redis.port, *extra,
                   label="%s.b%d" % (self.label, len(self.brokers) + 1))
        self.brokers.append(b)
        if wait:
            b.wait_ready()
            self.wait_registered([b])
        return b

    def daemons(self):
        """routerd and every brokerd not killed on purpose: these must be
        running (and exit 0 on SIGTERM)."""
        return ([self.router] if self.router is not None else []) + [
            b for b in self.brokers if b not in self.dead]

    def live_brokers(self):
        return [b for b in self.brokers if b.alive()]

    def wait_registered(self, brokers=None, timeout=3.0):
        """Readiness probe only: waits until the brokers' addresses show in
        the broker registry (brokerd writes it every second). It reads Redis
        keys (pg:brokers, pg:bk:<id>) that are internal; if they change, this
        just waits the timeout and the tests show what is wrong."""
        want = {broker_addr(b) for b in (brokers or self.brokers) if b.alive()}

        def seen():
            try:
                got = set()
                for bid in self.redis.cmd("SMEMBERS", "pg:brokers") or []:
                    a = self.redis.cmd("HGET", b"pg:bk:" + bid, "addr")
                    if a:
                        got.add(a.decode())
                return want <= got
            except (OSError, RuntimeError, ConnectionError):
                return False
        return wait_until(seen, timeout)

    def broker_for(self, addr):
        for b in self.brokers:
            if broker_addr(b) == addr:
                return b
        return None

    # -- HTTP
    def registration(self, query=None, form=None, method="POST", path="/registration",
                     body=None, **kw):
        return post(self.router.reg_port, path, query=query, form=form, method=method,
                    body=body, **kw)

    def put(self, channel_id, body, method="POST", path="/put", **params):
        q = {"channel_id": str(channel_id)}
        for k, v in params.items():
            if v is not None:
                q[k] = str(v)
        return post(self.router.put_port, path, query=q, body=body, method=method)

    def put_raw(self, query, body=b"x", method="POST", path="/put"):
        return post(self.router.put_port, path, query=query, body=body, method=method)

    # -- devices
    def device(self, serial=None, device_type=ANDROID, **kw):
        d = Device(self, serial, device_type, **kw)
        self.devices.append(d)
        return d

    def connected(self, device_type=ANDROID, subs=(), **kw):
        d = self.device(device_type=device_type, **kw)
        d.register()
        d.connect(subs=subs)
        return d

    def spread_devices(self, n, device_type=ANDROID, subs=(), min_per_broker=1,
                       max_tries=None, **kw):
        """n connected devices; registers more (and drops the extras' ids)
        until every live broker holds at least min_per_broker of them."""
        live = {broker_addr(b) for b in self.live_brokers()}
        devs = []
        tries = 0
        max_tries = max_tries or n * 4
        while tries < max_tries:
            tries += 1
            d = self.connected(device_type=device_type, subs=subs, **kw)
            devs.append(d)
            counts = collections.Counter(x.broker for x in devs)
            if len(devs) >= n and all(counts[a] >= min_per_broker for a in live):
                break
        counts = collections.Counter(x.broker for x in devs)
        if not all(counts[a] >= min_per_broker for a in live):
            raise AssertionError("after %d registrations the devices are on %r; live brokers %r"
                                 % (len(devs), dict(counts), sorted(live)))
        return devs

    def close_devices(self):
        for d in self.devices:
            d.close()
        self.devices = []

    # -- shutdown
    def kill_all(self):
        for d in self.devices:
            try:
                d.close()
            except Exception:
                pass
        for b in self.brokers:
            b.kill()
        if self.router is not None:
            self.router.kill()
        self.redis.close()

    def close(self):
        """Clean stop: routerd and every brokerd not killed on purpose must
        exit 0 on SIGTERM."""
        errors = []
        self.close_devices()
        try:
            for d in self.daemons():
                try:
                    d.stop()
                except AssertionError as e:
                    errors.append(str(e))
        finally:
            self.kill_all()
        if errors:
            raise AssertionError("\n".join(errors))


class ClusterTestCase(DaemonTestCase):
    """One Cluster per test class. Subclasses may set n_brokers, secret,
    router_args and broker_args."""

    n_brokers = 2
    secret = None
    router_args = ()
    broker_args = ()

    @classmethod
    def start_daemons(cls):
        c = cls.cluster = Cluster(cls.n_brokers, secret=cls.secret,
                                  router_args=cls.router_args, broker_args=cls.broker_args,
                                  label=cls.class_label())
        cls.own(c, stop=c.close, kill=c.kill_all)
        cls.router = c.router

    def daemons(self):
        return self.cluster.daemons() + super().daemons()

    def tearDown(self):
        self.cluster.close_devices()
        super().tearDown()

    # -- reply checks
    def assert_reply(self, got, status, code, what=""):
        """got = (HTTP status, reply); checks status, code and the reply's
        shape {"code": int, "msg": str, "data": object or null}. Returns data."""
        st, rep = got
        self.assertIsInstance(rep, dict, "%s: reply is not a JSON object: %r" % (what, rep))
        self.assertEqual((st, rep.get("code")), (status, code),
                         "%s: want HTTP %d code %d, got HTTP %d %r"
                         % (what, status, code, st, rep))
        self.assertEqual(set(rep), {"code", "msg", "data"},
                         "%s: reply keys %r" % (what, rep))
        self.assertIsInstance(rep["code"], int)
        self.assertIsInstance(rep["msg"], str, "%s: msg %r" % (what, rep))
        self.assertTrue(rep["data"] is None or isinstance(rep["data"], dict),
                        "%s: data %r" % (what, rep))
        return rep["data"]

    def device(self, *a, **kw):
        return self.cluster.device(*a, **kw)

    def connected(self, *a, **kw):
        return self.cluster.connected(*a, **kw)

    def put_ok(self, channel_id, body, **params):
        data = self.assert_reply(self.cluster.put(channel_id, body, **params), 200, OK,
                                 "/put channel_id=%s %r" % (channel_id, params))
        self.assertIsInstance(data, dict)
        mid = data.get("message_id")
        self.assertTrue(isinstance(mid, int) and not isinstance(mid, bool) and mid > 0,
                        "/put data %r: message_id must be a positive int" % (data,))
        return mid

    def assert_got(self, dev, want, timeout=5.0, quiet=1.0):
        """dev receives exactly the messages want = [(mid, ch, frm, body)],
        in any order, each once with attempt 1, and nothing else within
        `quiet` seconds after them. Consumes what it checked."""
        missing = dev.wait_mids([w[0] for w in want], timeout)
        if quiet:
            time.sleep(quiet)
        got = dev.take()
        rows = sorted((m.mid, m.ch, m.frm, m.attempt, m.body) for m in got)
        exp = sorted((mid, ch, frm, 1, body) for mid, ch, frm, body in want)
        self.assertEqual(rows, exp, "device %s (type %d on %s): messages "
                         "(mid, channel, from, attempt, body); missing ids %r"
                         % (dev.device_id, dev.device_type, dev.broker, sorted(missing)))
        return got

    def assert_nothing(self, dev, seconds=1.0):
        time.sleep(seconds)
        got = dev.take()
        self.assertEqual(got, [], "device %s got unexpected messages" % dev.device_id)


# ---------------------------------------------------------------- ledger

class Ledger:
    """What was put (code 0) and for whom, checked against what devices got.
    Devices are matched by device_id, so a device that reconnected (even to
    another broker) is still the same device."""

    def __init__(self):
        self.expected = {}      # message_id -> (frozenset of device ids, channel, body)
        self.lock = threading.Lock()

    def add(self, mid, device_ids, ch, body):
        with self.lock:
            if mid in self.expected:
                raise AssertionError("routerd gave message_id %d twice" % mid)
            self.expected[mid] = (frozenset(device_ids), ch, body)

    def pairs(self):
        return {(d, mid) for mid, (ds, _c, _b) in self.expected.items() for d in ds}

    def missing(self, devs):
        got = {(d.device_id, m.mid) for d in devs for m in d.received()}
        return self.pairs() - got

    def wait_complete(self, devs, timeout):
        deadline = time.monotonic() + timeout
        while True:
            miss = self.missing(devs)
            if not miss or time.monotonic() >= deadline:
                return miss
            time.sleep(0.1)

    def verify(self, devs, from_id=0):
        """(problems, stats): problems is a list of strings (empty when all
        is well), stats a dict of counts for the failure message."""
        problems = []
        stats = collections.Counter()
        stats["puts"] = len(self.expected)
        stats["expected deliveries"] = len(self.pairs())
        for d in devs:
            seen = {}
            for m in d.received():
                stats["frames"] += 1
                exp = self.expected.get(m.mid)
                if exp is None:
                    stats["unknown message_id"] += 1
                    problems.append("device %d got message_id %d that no /put with code 0 "
                                    "returned: %r" % (d.device_id, m.mid, m[:5]))
                    continue
                targets, ch, body = exp
                if d.device_id not in targets:
                    stats["wrong device"] += 1
                    problems.append("device %d got message %d meant for %s"
                                    % (d.device_id, m.mid, sorted(targets)[:5]))
                    continue
                if (m.ch, m.frm, m.body) != (ch, from_id, body):
                    stats["bad header/body"] += 1
                    problems.append("device %d message %d: (channel, from, body) %r, want %r"
                                    % (d.device_id, m.mid, (m.ch, m.frm, m.body[:40]),
                                       (ch, from_id, body[:40])))
                if m.mid in seen:
                    stats["repeats"] += 1
                    if m.attempt <= 1:
                        stats["repeats with attempt 1"] += 1
                        problems.append("device %d got message %d again with attempt %d "
                                        "(first copy attempt %d)"
                                        % (d.device_id, m.mid, m.attempt, seen[m.mid]))
                else:
                    seen[m.mid] = m.attempt
                    stats["delivered"] += 1
                    if m.attempt > 1:
                        stats["first copy with attempt > 1"] += 1
            for e in d.errors:
                problems.append("device %d: %s" % (d.device_id, e))
        miss = self.missing(devs)
        stats["missing"] = len(miss)
        if miss:
            by_dev = collections.defaultdict(list)
            for dev_id, mid in miss:
                by_dev[dev_id].append(mid)
            problems.append("%d deliveries missing: %s" % (
                len(miss), "; ".join("device %d: %d missing, e.g. %s"
                                     % (k, len(v), sorted(v)[:5])
                                     for k, v in sorted(by_dev.items()))))
        return problems, dict(stats)
