#!/usr/bin/env python3
"""wsupstream: the upstream workload over WebSocket (SPEC 5.3 "Upstream").

--services services pop one topic (spread over the --services-at
addresses, default the first --target), in a process of their own;
--clients anonymous clients of that topic (spread over the --target
addresses) each send --frames text frames of --size bytes, at --rate
frames per second each (0: as fast as the socket takes them). Each frame
carries its send time, so the pop latency (send to receipt by a service)
is measured for every frame. Prints pushbench-style figures ("figure NAME
VALUE") and fails (exit 1) when a frame is lost or comes twice (give the
brokers an --offline-max above what the services may fall behind).

    wsupstream.py --target 127.0.0.1:6789 --clients 10 --frames 2000 --services 2
"""

import argparse
import asyncio
import json
import multiprocessing
import sys
import time

import websockets


async def service(url, topic, got, state):
    async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
        await ws.send(json.dumps({"m": "queue.pop", "p": {"t": [topic]}, "i": 1}))
        reply = json.loads(await ws.recv())
        assert reply == {"E": None, "r": {"s": True}, "i": 1}, reply
        state["ready"] += 1
        while len(got) < state["want"] and time.monotonic() < state["deadline"]:
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.2)
            except asyncio.TimeoutError:
                continue
            now = time.monotonic_ns()
            data = json.loads(raw)["p"]["d"]["frame"]["data"]
            key, sent = data.split(" ", 2)[:2]
            got.append((key, now - int(sent)))


async def services(a, topic, ready_q):
    """The services of one process: (key, latency ns) of every frame popped."""
    at = (a.services_at or a.target.split(",")[0]).split(",")
    got = []
    state = {"ready": 0, "want": a.clients * a.frames, "deadline": time.monotonic() + a.timeout}
    tasks = [asyncio.create_task(service(
        "ws://%s/ws/v1?role=service&service_token=%s" % (at[i % len(at)], a.service_token),
        topic, got, state)) for i in range(a.services)]
    while state["ready"] < a.services:
        await asyncio.sleep(0.01)
    ready_q.put(time.monotonic())
    await asyncio.gather(*tasks)
    ready_q.put((time.monotonic(), got))


def services_process(a, topic, q):
    asyncio.run(services(a, topic, q))


async def client(url, k, frames, size, rate):
    async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
        ready = json.loads(await ws.recv())
        assert ready["e"] == "conn.ready", ready
        pad = "x" * size
        t0 = time.monotonic()
        for i in range(frames):
            if rate:
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            await ws.send("%d:%d %d %s" % (k, i, time.monotonic_ns(), pad))


async def clients(a, topic):
    targets = a.target.split(",")
    await asyncio.gather(*[client("ws://%s/ws/v1?topic=%s" % (targets[k % len(targets)], topic),
                                  k, a.frames, a.size, a.rate) for k in range(a.clients)])


def main(a):
    topic = "bench-%d" % time.monotonic_ns()
    q = multiprocessing.Queue()
    proc = multiprocessing.Process(target=services_process, args=(a, topic, q))
    proc.start()
    q.get(timeout=30)
    t0 = time.monotonic()
    asyncio.run(clients(a, topic))
    t1, got = q.get(timeout=a.timeout + 30)
    proc.join()
    total = a.clients * a.frames
    keys = [k for k, _ in got]
    lat = sorted(l for _, l in got)
    pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] / 1e6 if lat else float("nan")
    print("figure frames_sent %d" % total)
    print("figure frames_popped %d" % len(got))
    print("figure frames_repeated %d" % (len(keys) - len(set(keys))))
    print("figure frames_per_s %.0f" % (len(got) / (t1 - t0)))
    print("figure latency_ms_p50 %.2f" % pct(0.5))
    print("figure latency_ms_p99 %.2f" % pct(0.99))
    print("figure latency_ms_max %.2f" % pct(1.0))
    return 0 if len(set(keys)) == total and len(keys) == total else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", default="127.0.0.1:6789", help="client brokers, comma-separated")
    p.add_argument("--services-at", help="service brokers, comma-separated (default: the first target)")
    p.add_argument("--service-token", default="")
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--frames", type=int, default=1000, help="frames per client")
    p.add_argument("--size", type=int, default=100, help="padding bytes per frame")
    p.add_argument("--rate", type=float, default=0, help="frames per second per client (0: flat out)")
    p.add_argument("--services", type=int, default=1)
    p.add_argument("--timeout", type=float, default=60.0)
    sys.exit(main(p.parse_args()))
