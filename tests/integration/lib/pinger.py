"""Measures a device's H round trips, in a process of its own (a thread of
the test would wait for the GIL and add its own milliseconds).

    python3 pinger.py HOST PORT SECONDS INTERVAL_MS

Connects, sends the magic, prints "ready", then sends H and waits for the
Response every INTERVAL_MS for SECONDS; prints one JSON line:
{"n": round trips, "max_ms": ..., "p99_ms": ..., "median_ms": ...}."""

import json
import socket
import struct
import sys
import time


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def main():
    host, port, seconds, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
        float(sys.argv[4]) / 1000
    sock = socket.create_connection((host, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(b"  V1")
    print("ready", flush=True)
    rtts = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        sock.sendall(b"H\n")
        size, ftype = struct.unpack(">Ii", read_exact(sock, 8))
        data = read_exact(sock, size - 4)
        if (ftype, data) != (0, b"H"):
            raise AssertionError("want Response H, got %r %r" % (ftype, data))
        rtts.append((time.monotonic() - t0) * 1000)
        time.sleep(interval)
    rtts.sort()
    print(json.dumps({"n": len(rtts), "max_ms": round(rtts[-1], 3),
                      "p99_ms": round(rtts[int(len(rtts) * 0.99) - 1], 3),
                      "median_ms": round(rtts[len(rtts) // 2], 3)}), flush=True)


if __name__ == "__main__":
    main()
