"""Black-box harness for pushgate's integration tests.

Starts a real redis-server and the real daemons (Daemon: Broker here,
Router in lib.cluster, Admin in lib.admin), talks to them over TCP and HTTP
only, and stops them by pid. Standard library only.

Environment:
  PUSHGATE_BUILD     build directory; brokerd is $PUSHGATE_BUILD/brokerd/brokerd
  PUSHGATE_TEST_OUT  where logs go (default: tests/out/ of this source tree)
  REDIS_SERVER       redis-server binary (default: redis-server on PATH)
"""

import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
# tests/integration/lib -> tests/
TESTS_DIR = os.path.dirname(os.path.dirname(HERE))
OUT_DIR = os.environ.get("PUSHGATE_TEST_OUT") or os.path.join(TESTS_DIR, "out")

MAGIC = b"  V1"

FRAME_RESPONSE = 0
FRAME_ERROR = 1
FRAME_MESSAGE = 2
FRAME_ACK = 3
FRAME_NAMES = {0: "Response", 1: "Error", 2: "Message", 3: "Ack"}

INT64_MAX = 2**63 - 1

IDENTIFY_TIMEOUT = 10.0      # SPEC 2.2
DEFAULT_HEARTBEAT = 300      # SPEC 2.2
DEFAULT_MAX_MSG_SIZE = 65536  # SPEC 0 / 2.2
MAX_LINE = 1024              # SPEC 2.2
MAX_IDENTIFY_BODY = 4096     # SPEC 2.2

_ID_RE = re.compile(rb"^(0|[1-9][0-9]*)$")


class HarnessError(Exception):
    """The harness could not set something up (not a test verdict)."""


class Closed(AssertionError):
    """The peer closed the connection while a frame was expected."""


class FrameTimeout(AssertionError):
    """No (complete) frame arrived in time."""


# ---------------------------------------------------------------- helpers

def daemon_path(name):
    """$PUSHGATE_BUILD/<name>/<name>, checked to be executable."""
    build = os.environ.get("PUSHGATE_BUILD")
    if not build:
        raise HarnessError("PUSHGATE_BUILD is not set (it must name the build "
                           "directory that holds %s/%s)" % (name, name))
    path = os.path.join(build, name, name)
    if not os.access(path, os.X_OK):
        raise HarnessError("no executable %s at %s (PUSHGATE_BUILD=%s)"
                           % (name, path, build))
    return path


def brokerd_path():
    return daemon_path("brokerd")


def redis_server_path():
    path = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if not path:
        raise HarnessError("redis-server not found on PATH (set REDIS_SERVER)")
    return path


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def out_path(name):
    os.makedirs(OUT_DIR, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    return os.path.join(OUT_DIR, safe)


_log_seq = itertools.count(1)


def _log_name(label, what):
    return out_path("%s.%d.%d.%s.log" % (label, os.getpid(), next(_log_seq), what))


_id_counter = itertools.count(1)
_id_lock = threading.Lock()
# Each test module gets its own Redis, but a process-dependent base keeps ids
# apart even if someone points two runs at one Redis; it also keeps the ids
# multi-digit and far from 1, so bugs that confuse ids with counts show up.
_ID_BASE = 10_000_000 + (os.getpid() % 50_000) * 100_000


def new_id():
    """A fresh positive int64 for a client, channel or message id."""
    with _id_lock:
        return _ID_BASE + next(_id_counter)


def is_id(b):
    return bool(_ID_RE.match(b))


def wait_until(fn, timeout, interval=0.05):
    """Calls fn until it returns something true or timeout passes; returns
    the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def split_hostport(s):
    """"host:port" (as logged or handed out, maybe "[v6]:port,") -> (host, port)."""
    s = s.rstrip(",;)")
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def _sigterm_and_wait(proc, timeout):
    """SIGTERM by pid and wait; SIGKILL if it is still running after
    timeout. Returns the exit code, or None if it had to be killed."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


# ---------------------------------------------------------------- HTTP

HTTP_TIMEOUT = 5.0


def request(port, method, path, query=None, body=None, form=None, token=None,
            headers=None, host="127.0.0.1", timeout=HTTP_TIMEOUT):
    """One HTTP request on a fresh connection: (status, headers dict with
    lower-case names, body bytes). query: dict (url-encoded) or a raw string
    put after '?'. form: dict (or str/bytes) sent as an
    application/x-www-form-urlencoded body. token adds "Authorization:
    Bearer <token>"; a headers entry "Authorization" overrides it."""
    hdrs = {}
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    path = _with_query(path, query)
    if form is not None:
        body = (form if isinstance(form, (str, bytes)) else urllib.parse.urlencode(form))
        if isinstance(body, str):
            body = body.encode()
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def request_json(port, method, path, **kw):
    """request(), then (HTTP status, reply JSON). Raises AssertionError if
    the reply is not JSON."""
    status, _headers, data = request(port, method, path, **kw)
    try:
        return status, json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise AssertionError("%s %s: HTTP %d with a body that is not JSON: %r"
                             % (method, _with_query(path, kw.get("query")), status,
                                data[:300])) from None


def _with_query(path, query):
    if query is None:
        return path
    return path + "?" + (query if isinstance(query, str) else urllib.parse.urlencode(query))


# ---------------------------------------------------------------- Redis

def _resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class _RespReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis error: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad RESP reply: %r" % line)


def redis_ping(port, timeout=0.5):
    """True if a Redis answers PING on 127.0.0.1:port (raw inline command)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            data = b""
            deadline = time.monotonic() + timeout
            while b"\r\n" not in data and time.monotonic() < deadline:
                chunk = s.recv(64)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A private redis-server with AOF on, so a restart keeps its data."""

    def __init__(self, tmpdir=None, label="redis"):
        self.label = label
        self._own_tmp = tmpdir is None
        self.dir = tmpdir or tempfile.mkdtemp(prefix="pushgate-redis-")
        self.port = None
        self.proc = None
        self.log_path = _log_name(label, "redis")
        self._log = None
        self.start()

    def _spawn(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [redis_server_path(),
             "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes", "--appendfsync", "always",
             "--dir", self.dir, "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)

    def start(self, timeout=10.0):
        """Starts Redis, on the same port as before if it ran already."""
        if self.proc is not None and self.proc.poll() is None:
            raise HarnessError("redis already running")
        first = self.port is None
        for _attempt in range(5 if first else 1):
            if first:
                self.port = free_port()
            self._spawn()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if redis_ping(self.port):
                    return self
                time.sleep(0.02)
            self._reap()
        raise HarnessError("redis-server did not answer PING on port %s; see %s"
                           % (self.port, self.log_path))

    def _reap(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM by pid and wait."""
        if self.running():
            _sigterm_and_wait(self.proc, timeout)
        self._reap()

    def kill(self):
        """SIGKILL by pid and wait."""
        if self.running():
            self.proc.kill()
        self._reap()

    def cmd(self, *args, timeout=5.0):
        """One command over a fresh connection, reply decoded from RESP."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(_resp_encode(args))
            return _RespReader(s).read()

    def close(self):
        self.stop()
        if self._own_tmp:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- daemons

class Daemon:
    """A pushgate daemon process on ephemeral ports, stderr saved to a log
    under tests/out/ (and kept in memory for log_text()/log_tail()).

    A subclass sets `name` (the binary, $PUSHGATE_BUILD/<name>/<name>) and
    `listen` ({attribute: word}): start-up waits until the daemon logged a
    "listening <word> <host:port>" line for every word, and each attribute
    holds that (host, port). Its __init__ builds the flags and calls
    Daemon.__init__; `hide` are argument values written as *** in the log
    header (secrets the tests grep the log for)."""

    name = None
    listen = {}

    def __init__(self, args, label, start_timeout=10.0, hide=()):
        self.label = label
        self.args = [daemon_path(self.name)] + [str(a) for a in args]
        self.log_path = _log_name(label, self.name)
        for attr in self.listen:
            setattr(self, attr, None)     # (host, port) once logged
        self._listen_re = {attr: re.compile(r"listening %s (\S+)" % word)
                           for attr, word in self.listen.items()}
        self._lines = []
        self._lines_lock = threading.Lock()
        self._ready = threading.Event()
        self._log = open(self.log_path, "wb")
        shown = ["***" if a in hide else a for a in self.args]
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
                raise HarnessError("%s exited with %s before listening; see %s\n%s"
                                   % (self.name, self.proc.returncode, self.log_path,
                                      self.log_tail()))
        else:
            self.kill()
            raise HarnessError("%s did not log 'listening %s' within %.0f s; see %s\n%s"
                               % (self.name, "/".join(self.listen.values()), start_timeout,
                                  self.log_path, self.log_tail()))

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
            for attr, rx in self._listen_re.items():
                m = rx.search(line)
                if m and getattr(self, attr) is None:
                    try:
                        setattr(self, attr, split_hostport(m.group(1)))
                    except ValueError:
                        pass
            if all(getattr(self, attr) is not None for attr in self.listen):
                self._ready.set()
        self.proc.stderr.close()

    def _wait_ready(self, probe, timeout):
        """Calls probe() until it returns true (then True), or the daemon
        exits or timeout passes (then False; the tests show what is wrong).
        OSError and AssertionError from probe() count as "not yet"."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if probe():
                    return True
            except (OSError, AssertionError):
                pass
            if not self.alive():
                return False
            time.sleep(0.05)
        return False

    # -- log
    def log_text(self):
        with self._lines_lock:
            return "".join(self._lines)

    def log_tail(self, n=30):
        with self._lines_lock:
            return "".join(self._lines[-n:])

    def log_file_bytes(self):
        with open(self.log_path, "rb") as f:
            return f.read()

    # -- process
    def alive(self):
        return self.proc.poll() is None

    def not_running(self, when):
        """The failure message for "this daemon should be running now"."""
        return ("%s %s is not running %s (exit %s); log %s\n%s"
                % (self.name, self.label, when, self.proc.returncode, self.log_path,
                   self.log_tail()))

    def _finish(self):
        self._reader.join(5)
        try:
            self._log.close()
        except ValueError:
            pass

    def stop(self, timeout=5.0):
        """SIGTERM and wait; asserts it had been running and exits 0 within
        timeout (killed if not). Returns the seconds it took."""
        was_alive = self.alive()
        t0 = time.monotonic()
        if was_alive and _sigterm_and_wait(self.proc, timeout) is None:
            self._finish()
            raise AssertionError("%s did not exit within %.0f s of SIGTERM; log %s"
                                 % (self.name, timeout, self.log_path))
        took = time.monotonic() - t0
        rc = self.proc.returncode
        self._finish()
        if not was_alive:
            raise AssertionError("%s had already exited with %s before SIGTERM; log %s\n%s"
                                 % (self.name, rc, self.log_path, self.log_tail()))
        if rc != 0:
            raise AssertionError("%s exited with %s after SIGTERM (want 0); log %s\n%s"
                                 % (self.name, rc, self.log_path, self.log_tail()))
        return took

    assert_clean_stop = stop

    def kill(self):
        """SIGKILL (if still running) and wait."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self._finish()


class Broker(Daemon):
    """brokerd; .tcp, .http and .ws (the mesh port) are (host, port)."""

    name = "brokerd"
    listen = {"tcp": "tcp", "http": "http", "ws": "ws"}

    def __init__(self, redis_port, *extra_args, label="brokerd",
                 start_timeout=10.0, redis_host="127.0.0.1"):
        self.redis_port = redis_port
        super().__init__(["--tcp-address", "127.0.0.1:0",
                          "--http-address", "127.0.0.1:0",
                          "--ws-address", "127.0.0.1:0",
                          "--redis", "%s:%d" % (redis_host, redis_port),
                          "--log-level", "debug"] + list(extra_args),
                         label, start_timeout)

    def wait_ready(self, timeout=3.0):
        """Waits until an IDENTIFY (of a throwaway id) is answered OK.

        brokerd may log "listening" before its Redis link is up; tests that
        are not about start-up should not race that (test_startup.py does, on
        purpose). Returns True if ready; False after timeout (the tests then
        show what is wrong)."""
        def identify_ok():
            with Client(self.tcp, timeout=1.0).connect() as c:
                c.send_magic()
                return c.identify(new_id(), timeout=1.0) == (FRAME_RESPONSE, b"OK")
        return self._wait_ready(identify_ok, timeout)

    def http_get(self, path, timeout=HTTP_TIMEOUT):
        """(status, headers dict with lower-case names, body bytes)."""
        return request(self.http[1], "GET", path, host=self.http[0], timeout=timeout)

    def client(self, **kw):
        return Client(self.tcp, **kw)


# ---------------------------------------------------------------- client

class Client:
    """A device-protocol client (SPEC 2). Frames are (type, data) tuples."""

    def __init__(self, addr, timeout=5.0):
        self.addr = tuple(addr)
        self.timeout = timeout
        self.sock = None
        self.buf = b""
        self.eof = False
        self.client_id = None

    # -- connection
    def connect(self):
        self.sock = socket.create_connection(self.addr, timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        return self

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def abort(self):
        """Close with RST (SO_LINGER 0)."""
        if self.sock is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sending
    def send_raw(self, data):
        self.sock.sendall(data)

    def send_magic(self):
        self.send_raw(MAGIC)

    def send_line(self, line, eol=b"\n"):
        if isinstance(line, str):
            line = line.encode()
        self.send_raw(line + eol)

    @staticmethod
    def body_bytes(body):
        if isinstance(body, str):
            body = body.encode()
        return struct.pack(">I", len(body)) + body

    def send_body(self, body):
        self.send_raw(self.body_bytes(body))

    def send_with_body(self, line, body, eol=b"\n"):
        """A command line and its body in one write."""
        if isinstance(line, str):
            line = line.encode()
        self.send_raw(line + eol + self.body_bytes(body))

    def identify(self, client_id, timeout=None, **fields):
        """Sends IDENTIFY with {"client_id": client_id, **fields}; returns the
        reply frame. client_id=None leaves the key out."""
        body = dict(fields)
        if client_id is not None:
            body = {"client_id": client_id, **fields}
        self.send_with_body("IDENTIFY", json.dumps(body).encode())
        self.client_id = client_id
        return self.read_frame(timeout)

    def pub(self, client_id, channel_id, message_id, body, timeout=None):
        self.send_with_body("PUB %s %s %s" % (client_id, channel_id, message_id), body)
        return self.read_frame(timeout)

    # -- receiving
    def _recv(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += self.decode_in(chunk)
        return chunk

    def decode_in(self, chunk):
        """What the bytes read mean (lib.layers inflates them)."""
        return chunk

    def _take_frame(self):
        if len(self.buf) < 8:
            return None
        size, ftype = struct.unpack(">II", self.buf[:8])
        if size < 4:
            raise AssertionError("bad frame size %d (< 4): %r" % (size, self.buf[:16]))
        if len(self.buf) < 4 + size:
            return None
        data = self.buf[8:4 + size]
        self.buf = self.buf[4 + size:]
        if ftype not in FRAME_NAMES:
            raise AssertionError("unknown frame type %d, data %r" % (ftype, data[:200]))
        return ftype, data

    def read_frame(self, timeout=None):
        """The next frame. Raises Closed on EOF, FrameTimeout on timeout."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            frame = self._take_frame()
            if frame is not None:
                return frame
            if self.eof:
                raise Closed("connection closed%s" % (
                    " mid-frame (%d stray bytes: %r)" % (len(self.buf), self.buf[:64])
                    if self.buf else ""))
            try:
                self._recv(deadline)
            except socket.timeout:
                raise FrameTimeout("no frame within %.1f s (%d partial bytes buffered)"
                                   % (timeout, len(self.buf))) from None

    def poll_frame(self, timeout):
        """The next frame, or None if none arrives within timeout (EOF raises)."""
        try:
            return self.read_frame(timeout)
        except FrameTimeout:
            return None

    def read_frames_until_closed(self, timeout=5.0):
        """Every frame up to EOF; raises FrameTimeout if EOF does not come."""
        deadline = time.monotonic() + timeout
        frames = []
        while True:
            frame = self._take_frame()
            if frame is not None:
                frames.append(frame)
                continue
            if self.eof:
                if self.buf:
                    raise AssertionError("EOF mid-frame after %r; stray bytes %r"
                                         % (frames, self.buf[:64]))
                return frames
            try:
                self._recv(deadline)
            except socket.timeout:
                raise FrameTimeout("connection still open after %.1f s; frames so far %r"
                                   % (timeout, frames)) from None

    def expect_closed(self, timeout=5.0, allow_frames=False):
        """Reads until EOF. Without allow_frames, any frame is a failure;
        returns the frames read."""
        frames = self.read_frames_until_closed(timeout)
        if frames and not allow_frames:
            raise AssertionError("expected EOF, got frames %r" % (frames,))
        return frames

    def is_open_for(self, seconds):
        """True if no EOF happened within `seconds` (frames are kept)."""
        deadline = time.monotonic() + seconds
        while not self.eof:
            try:
                self._recv(deadline)
            except socket.timeout:
                return True
        return False

    @staticmethod
    def parse_message(data):
        """(message_id, channel_id, from_client_id, timestamp_ms, attempt, body)."""
        if b"\n" not in data:
            raise AssertionError("Message frame without a header line: %r" % data[:200])
        header, body = data.split(b"\n", 1)
        words = header.split(b" ")
        if len(words) != 5 or not all(is_id(w) for w in words):
            raise AssertionError("malformed Message header line %r" % header)
        mid, ch, frm, ts, attempt = (int(w) for w in words)
        return mid, ch, frm, ts, attempt, body


def fmt_frame(frame):
    if frame is None:
        return "<none>"
    ftype, data = frame
    return "%s(%r)" % (FRAME_NAMES.get(ftype, ftype), data[:300])


# ---------------------------------------------------------------- TestCase

class DaemonTestCase(unittest.TestCase):
    """Per-class fixtures: a subclass starts them in start_daemons() and
    registers each with own(). tearDownClass stops them all (a daemon must
    exit 0 on SIGTERM), last started first; if start_daemons() fails, what
    was started is killed. Every daemon in daemons() (by default each owned
    Daemon) must be running before and after each test."""

    maxDiff = None

    @classmethod
    def class_label(cls):
        """The label for this class's daemons and their logs."""
        return "%s.%s" % (cls.__module__, cls.__name__)

    @classmethod
    def own(cls, thing, stop=None, kill=None):
        """Registers thing (stop/kill default to its methods) and returns it."""
        cls._owned.append((thing, stop or thing.stop, kill or thing.kill))
        return thing

    @classmethod
    def start_daemons(cls):
        pass

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._owned = []
        try:
            cls.start_daemons()
        except BaseException:
            cls._kill_owned()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            errors = []
            for _thing, stop, _kill in reversed(cls._owned):
                try:
                    stop()
                except AssertionError as e:
                    errors.append(str(e))
            if errors:
                raise AssertionError("\n".join(errors))
        finally:
            cls._kill_owned()
            super().tearDownClass()

    @classmethod
    def _kill_owned(cls):
        for _thing, _stop, kill in reversed(cls._owned):
            kill()

    def daemons(self):
        return [t for t, _s, _k in self._owned if isinstance(t, Daemon)]

    def check_daemons(self, when):
        for d in self.daemons():
            if not d.alive():
                self.fail(d.not_running(when))

    def setUp(self):
        super().setUp()
        self.check_daemons("before this test")

    def tearDown(self):
        self.check_daemons("during this test")
        super().tearDown()


class RedisTestCase(DaemonTestCase):
    """Only a Redis per class (cls.redis): each test starts the daemons it
    needs with its own flags."""

    @classmethod
    def start_daemons(cls):
        cls.redis = RedisServer(label=cls.class_label())
        cls.own(cls.redis, stop=cls.redis.close, kill=cls.redis.close)

    def daemons(self):
        return []


class BrokerTestCase(DaemonTestCase):
    """One Redis and one brokerd per test class. Subclasses may set
    broker_args (extra brokerd flags) or start other brokers in
    start_brokers()."""

    broker_args = ()

    @classmethod
    def start_daemons(cls):
        cls.redis = RedisServer(label=cls.class_label())
        cls.own(cls.redis, stop=cls.redis.close, kill=cls.redis.close)
        cls.start_brokers()

    @classmethod
    def start_brokers(cls):
        cls.broker = cls.start_class_broker(*cls.broker_args)

    @classmethod
    def start_class_broker(cls, *args, suffix=""):
        """A brokerd on the class's Redis, owned by the class, ready."""
        b = cls.own(Broker(cls.redis.port, *args, label=cls.class_label() + suffix))
        b.wait_ready()
        return b

    def extra_broker(self, *args, name="own", wait=True):
        """A brokerd of this test alone on the class's Redis, killed after
        the test (stopping it cleanly is the test's business)."""
        b = Broker(self.redis.port, *args, label="%s.%s" % (self.id(), name))
        self.addCleanup(b.kill)
        if wait:
            b.wait_ready()
        return b

    def setUp(self):
        self._clients = []
        super().setUp()

    def tearDown(self):
        for c in self._clients:
            c.close()
        super().tearDown()

    # -- clients
    def connect(self, broker=None, magic=True):
        c = Client((broker or self.broker).tcp).connect()
        self._clients.append(c)
        if magic:
            c.send_magic()
        return c

    def identified(self, client_id=None, broker=None, **fields):
        """A connected, identified client (asserts the Response OK)."""
        if client_id is None:
            client_id = new_id()
        c = self.connect(broker)
        frame = c.identify(client_id, **fields)
        self.assertEqual(frame, (FRAME_RESPONSE, b"OK"),
                         "IDENTIFY %d: got %s" % (client_id, fmt_frame(frame)))
        return c

    def subscribed(self, channel_id, client_id=None, broker=None):
        c = self.identified(client_id, broker)
        self.sub(c, channel_id)
        return c

    # -- assertions
    def expect_frame(self, c, ftype, data, timeout=None):
        frame = c.read_frame(timeout)
        self.assertEqual(frame, (ftype, data),
                         "want %s, got %s" % (fmt_frame((ftype, data)), fmt_frame(frame)))
        return frame

    def expect_response(self, c, data, timeout=None):
        return self.expect_frame(c, FRAME_RESPONSE, data, timeout)

    def expect_ok(self, c, timeout=None):
        return self.expect_response(c, b"OK", timeout)

    def expect_error(self, c, name, timeout=None):
        """The next frame is Error `name` or `name <reason>`."""
        if isinstance(name, str):
            name = name.encode()
        frame = c.read_frame(timeout)
        ok = (frame[0] == FRAME_ERROR
              and (frame[1] == name or frame[1].startswith(name + b" ")))
        self.assertTrue(ok, "want Error %s, got %s" % (name.decode(), fmt_frame(frame)))
        return frame

    def expect_ack(self, c, ok, message_id, client_id, timeout=None):
        data = ("ACK %d %d %d" % (1 if ok else 0, message_id, client_id)).encode()
        return self.expect_frame(c, FRAME_ACK, data, timeout)

    def expect_fatal(self, c, name, timeout=5.0):
        """Error `name`, then EOF with nothing after it."""
        self.expect_error(c, name, timeout)
        frames = c.read_frames_until_closed(timeout)
        self.assertEqual(frames, [], "frames after fatal %s: %r" % (name, frames))

    def expect_alive(self, c, timeout=None):
        """Not fatal: the connection still answers H with Response H."""
        c.send_line("H")
        return self.expect_response(c, b"H", timeout)

    def go_offline(self, c):
        """CLS, Response CLOSE_WAIT, EOF; then a moment for the broker to
        notice and record it."""
        c.send_line("CLS")
        self.expect_response(c, b"CLOSE_WAIT")
        c.expect_closed()
        time.sleep(0.2)

    def expect_refused(self, c, line, error, body=None, eol=b"\n"):
        """Sends line (with body, if given): Error `error` (see expect_error),
        not fatal (see expect_alive)."""
        if body is None:
            c.send_line(line, eol)
        else:
            c.send_with_body(line, body, eol)
        self.expect_error(c, error)
        self.expect_alive(c)

    def expect_no_frame(self, c, seconds):
        frame = c.poll_frame(seconds)
        self.assertIsNone(frame, "unexpected frame %s" % fmt_frame(frame))

    def expect_message(self, c, timeout=None):
        """The next frame is a Message; returns parse_message's tuple."""
        frame = c.read_frame(timeout)
        self.assertEqual(frame[0], FRAME_MESSAGE, "want a Message, got %s" % fmt_frame(frame))
        return Client.parse_message(frame[1])

    def assert_message(self, c, message_id, channel_id, from_id, body,
                       attempt=1, timeout=None, ts_near=None):
        """The next frame is that Message; returns its timestamp_ms."""
        mid, ch, frm, ts, att, got = self.expect_message(c, timeout)
        self.assertEqual((mid, ch, frm, att, got),
                         (message_id, channel_id, from_id, attempt, body),
                         "(message_id, channel_id, from, attempt, body)")
        if ts_near is not None:
            self.assertLess(abs(ts - ts_near), 5000,
                            "timestamp_ms %d is not within 5 s of %d" % (ts, ts_near))
        return ts

    def sub(self, c, channel_id):
        c.send_line("SUB %d" % channel_id)
        self.expect_ok(c)

    def unsub(self, c, channel_id):
        c.send_line("UNSUB %d" % channel_id)
        self.expect_ok(c)

    def fin(self, c, message_id):
        """FIN answers nothing on success: check with H right after."""
        c.send_line("FIN %d" % message_id)
        self.expect_alive(c)

    def pub_ok(self, c, client_id, channel_id, message_id, body):
        c.send_with_body("PUB %d %d %d" % (client_id, channel_id, message_id), body)
        return self.expect_ack(c, True, message_id, client_id)

    def pub_delivered(self, s, d, to, channel_id, message_id, body):
        """PUB from s to `to` (0: channel_id), ACK 1; d gets it (attempt 1)
        and FINs it. Returns the Message's timestamp_ms."""
        self.pub_ok(s, to, channel_id, message_id, body)
        ts = self.assert_message(d, message_id, channel_id, s.client_id, body)
        self.fin(d, message_id)
        return ts

    def pub_self_ok(self, c, channel_id, message_id, body):
        """PUB from c to itself: its ACK 1 and the Message (attempt 1), in
        either order (the Message may be written before Redis answers,
        SPEC 2.5); returns the Message's timestamp_ms."""
        c.send_with_body("PUB %d %d %d" % (c.client_id, channel_id, message_id), body)
        frames = [c.read_frame(), c.read_frame()]
        acks = [f for f in frames if f[0] == FRAME_ACK]
        msgs = [f for f in frames if f[0] == FRAME_MESSAGE]
        self.assertEqual(acks, [(FRAME_ACK, b"ACK 1 %d %d" % (message_id, c.client_id))], frames)
        self.assertEqual(len(msgs), 1, frames)
        m = c.parse_message(msgs[0][1])
        self.assertEqual((m[0], m[1], m[2], m[4], m[5]),
                         (message_id, channel_id, c.client_id, 1, body))
        return m[3]


def now_ms():
    return int(time.time() * 1000)


def metric(broker, name):
    """brokerd's /metrics sample pushgate_<name> (an integer)."""
    text = broker.http_get("/metrics")[2].decode()
    for line in text.splitlines():
        if line.startswith("pushgate_" + name + " "):
            return int(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def sanitized(binary):
    """ASan keeps freed memory in quarantine: RSS says nothing there."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


# ---------------------------------------------------------------- /metrics

# Prometheus text exposition format, 0.0.4: a sample line, # HELP, # TYPE
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABELS = r'(\{(\s*[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"\s*,?)*\s*\})?'
_VALUE = r"([-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)|[-+]?Inf|NaN)"
SAMPLE_RE = re.compile(r"^(" + _NAME + r")" + _LABELS + r" " + _VALUE + r"( -?\d+)?$")
HELP_RE = re.compile(r"^# HELP (" + _NAME + r") .*$")
TYPE_RE = re.compile(r"^# TYPE (" + _NAME + r") (counter|gauge|histogram|summary|untyped)$")
