"""A synchronous WebSocket client for the tests (SPEC 5), on
python3-websockets (asyncio) run in one background event loop thread.

    c = WsClient(broker.ws, query={"client_id": 7})
    c.ready            # the conn.ready event
    c.call("mesh.send", {"c": "8", "d": "hi"})   # the reply envelope
    c.event("message") # the next event of that name (others are kept)
"""

import asyncio
import json
import threading
import urllib.parse

import websockets

TIMEOUT = 5.0

_loop = None
_loop_lock = threading.Lock()


def _run(coro, timeout=TIMEOUT):
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, daemon=True).start()
    return asyncio.run_coroutine_threadsafe(coro, _loop).result(timeout)


def ws_url(addr, query=None, path="/ws/v1", scheme="ws"):
    host, port = addr
    q = ""
    if query is not None:
        q = "?" + (query if isinstance(query, str) else urllib.parse.urlencode(query))
    return "%s://%s:%d%s%s" % (scheme, host, port, path, q)


def upgrade_status(addr, query=None, headers=None):
    """The HTTP status of an upgrade attempt: 101 when it succeeded."""
    try:
        c = WsClient(addr, query, headers=headers, ready=False)
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code
    c.close()
    return 101


class WsClient:
    """One WebSocket connection. ready=True (a client) waits for and keeps
    conn.ready; frames that are not the awaited one are kept in order. With
    tls (an ssl.SSLContext), wss://."""

    def __init__(self, addr, query=None, headers=None, ready=True, max_size=None, tls=None):
        self.addr = addr
        url = ws_url(addr, query, scheme="wss" if tls else "ws")
        async def connect():
            return await websockets.connect(url, extra_headers=headers, ssl=tls,
                                            max_size=max_size, ping_interval=None,
                                            compression=None, open_timeout=TIMEOUT)
        self.ws = _run(connect())
        self.kept = []
        self.ready = self.event("conn.ready") if ready else None

    @property
    def client_id(self):
        return self.ready["p"]["c"]

    def send(self, data):
        _run(self.ws.send(data))

    def send_json(self, obj):
        self.send(json.dumps(obj))

    def recv(self, timeout=TIMEOUT):
        """The next frame (str or bytes); raises TimeoutError."""
        if self.kept:
            return self.kept.pop(0)
        return _run(_recv(self.ws, timeout), timeout + 1)

    def _take(self, match, timeout):
        for k, f in enumerate(self.kept):
            obj = _as_json(f)
            if obj is not None and match(obj):
                del self.kept[k]
                return obj
        while True:
            f = _run(_recv(self.ws, timeout), timeout + 1)
            obj = _as_json(f)
            if obj is not None and match(obj):
                return obj
            self.kept.append(f)

    def event(self, name, timeout=TIMEOUT):
        """The next event called name."""
        return self._take(lambda o: o.get("e") == name, timeout)

    def reply(self, i, timeout=TIMEOUT):
        """The next reply envelope with request id i."""
        return self._take(lambda o: "E" in o and o.get("i") == i, timeout)

    def call(self, m, p, i=1, timeout=TIMEOUT):
        """Sends a call and returns its reply envelope."""
        self.send_json({"m": m, "p": p, "i": i})
        return self.reply(i, timeout)

    def quiet(self, seconds):
        """Asserts nothing comes for seconds (returns what came, or None)."""
        try:
            return self.recv(seconds)
        except (asyncio.TimeoutError, TimeoutError):
            return None

    def wait_closed(self, timeout=TIMEOUT):
        """The close code once the broker closed the connection."""
        async def drain():
            try:
                while True:
                    self.kept.append(await self.ws.recv())
            except websockets.exceptions.ConnectionClosed:
                pass
            return self.ws.close_code
        return _run(asyncio.wait_for(drain(), timeout), timeout + 1)

    def close(self):
        try:
            _run(self.ws.close(), 3.0)
        except Exception:
            pass

    def abort(self):
        """Closes the socket without a close handshake."""
        self.ws.transport.abort()


async def _recv(ws, timeout):
    return await asyncio.wait_for(ws.recv(), timeout)


def _as_json(f):
    if not isinstance(f, str):
        return None
    try:
        obj = json.loads(f)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


# ---------------------------------------------------------------- raw frames

def raw_connect(addr, query=None, timeout=TIMEOUT):
    """A socket past a successful upgrade (conn.ready left unread), for
    frames the library will not send (unmasked, bad UTF-8, ...)."""
    import base64
    import os
    import socket
    s = socket.create_connection(addr, timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    path = ws_url(addr, query).split(":%d" % addr[1], 1)[1]
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (path, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        got = s.recv(1)
        if not got:
            raise AssertionError("closed during the upgrade: %r" % head)
        head += got
    if not head.startswith(b"HTTP/1.1 101"):
        raise AssertionError("upgrade refused: %r" % head)
    return s


def raw_frame(opcode, payload, mask=True, fin=True):
    import os
    import struct
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def raw_read_frame(s):
    """(opcode, payload) of the next frame from the broker."""
    import struct

    def exact(n):
        out = b""
        while len(out) < n:
            got = s.recv(n - len(out))
            if not got:
                raise EOFError("closed")
            out += got
        return out
    b0, b1 = exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", exact(8))[0]
    return b0 & 0x0F, exact(n)


def raw_close_code(s):
    """Reads frames until the close frame: its code."""
    import struct
    while True:
        op, payload = raw_read_frame(s)
        if op == 8:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


class WsServiceMixin:
    """For a BrokerTestCase: service() opens a service connection (SPEC
    5.1) to a broker (self.broker by default), closed at the test's end."""

    def service(self, broker=None, **kw):
        s = WsClient((broker or self.broker).ws, {"role": "service"}, ready=False, **kw)
        self.addCleanup(s.close)
        return s
