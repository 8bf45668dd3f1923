#!/usr/bin/env python3
"""wsfanout: the fan-out workload of scripts/bench over WebSocket (SPEC 5).

N WebSocket clients (anonymous, spread over --procs processes) are
subscribed to one channel by a service (conn.call subscribe); the service
then sends M messages with mesh.publish, --window calls in flight, and
every client finishes each message it gets with msg.fin. Printed as
pushbench prints its figures ("figure NAME VALUE"), among them
deliveries_per_broker_cpu_s: the deliveries over the CPU time brokerd
(--broker-pid) used from the first publish to the last delivery, read
from /proc, so that the generator's own speed does not count.

    wsfanout.py --target 127.0.0.1:6789 --conns 1000 --messages 200 --broker-pid PID
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time

import websockets
from websockets.frames import OP_TEXT, Frame

CHANNEL = "bench"
# A message event begins so (brokerd/ws_msg.c); read without a JSON parse,
# which would cost this generator more than the broker spends on it.
MESSAGE = '{"e":"message","p":{"i":"'
FIN = b'{"m":"msg.fin","p":{"i":"%s"}}'


def cpu_s(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def client_group(url, n, expect, ready_q, go_ev, done_q, timeout):
    """n clients: report their ids, then count messages until each has expect."""
    conns = []
    for _ in range(n):
        ws = await websockets.connect(url, max_size=None, ping_interval=None)
        ev = json.loads(await ws.recv())
        assert ev.get("e") == "conn.ready", ev
        conns.append((ws, ev["p"]["c"]))
    ready_q.put([c for _, c in conns])
    got = [0] * n
    loop = asyncio.get_running_loop()

    def flush(ws, fins):
        # The FINs of what one read brought go out in one write, as
        # pushbench gathers its FINs: not one segment per message.
        ws.transport.write(b"".join(fins))
        fins.clear()

    async def reader(k, ws):
        fins = []
        while got[k] < expect:
            ev = await ws.recv()
            if not ev.startswith(MESSAGE):
                continue
            got[k] += 1
            if not fins:
                loop.call_soon(flush, ws, fins)
            i = ev[len(MESSAGE):ev.index('"', len(MESSAGE))]
            fins.append(Frame(OP_TEXT, FIN % i.encode()).serialize(mask=True))

    try:
        await asyncio.wait_for(asyncio.gather(*(reader(k, ws) for k, (ws, _) in enumerate(conns))),
                               timeout)
    except asyncio.TimeoutError:
        pass
    done_q.put((sum(got), time.time()))
    for ws, _ in conns:
        await ws.close()


def client_proc(url, n, expect, ready_q, go_ev, done_q, timeout):
    asyncio.run(client_group(url, n, expect, ready_q, go_ev, done_q, timeout))


async def service(args, ids):
    url = "ws://%s/ws/v1?role=service" % args.target
    if args.service_token:
        url += "&service_token=" + args.service_token
    ws = await websockets.connect(url, max_size=None, ping_interval=None)
    n = 0

    async def calls(make, count):
        """count calls, args.window in flight; the replies, in order."""
        nonlocal n
        out, sent = [], 0
        while len(out) < count:
            while sent < count and sent - len(out) < args.window:
                n += 1
                await ws.send(json.dumps({"m": make[0], "p": make[1](sent), "i": n}))
                sent += 1
            rep = json.loads(await ws.recv())
            if "i" in rep and rep.get("e") is None:
                out.append(rep)
        return out

    subs = await calls(("conn.call", lambda k: {"c": ids[k], "f": "subscribe", "a": [CHANNEL]}),
                       len(ids))
    assert all(r["E"] is None for r in subs), [r for r in subs if r["E"]][:1]
    # Each subscription starts with a catch-up read of the channel, a few
    # dozen per loop pass; messages that meet one in flight are read from
    # Redis for that client alone. As pushbench's receivers subscribe during
    # its set-up, the measure starts once those reads are done.
    await asyncio.sleep(args.settle)
    body = "x" * args.size
    t0, c0 = time.time(), cpu_s(args.broker_pid)
    pubs = await calls(("mesh.publish", lambda k: {"c": CHANNEL, "d": body}), args.messages)
    await ws.close()
    return t0, c0, pubs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", required=True, help="brokerd's --ws-address")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--procs", type=int, default=4, help="client processes")
    ap.add_argument("--window", type=int, default=16, help="publishes in flight")
    ap.add_argument("--broker-pid", type=int, required=True)
    ap.add_argument("--service-token", default="")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds between the last subscription and the first publish")
    args = ap.parse_args()

    ctx = multiprocessing.get_context("fork")
    ready_q, done_q, go_ev = ctx.Queue(), ctx.Queue(), ctx.Event()
    url = "ws://%s/ws/v1" % args.target
    per = [args.conns // args.procs + (k < args.conns % args.procs) for k in range(args.procs)]
    procs = [ctx.Process(target=client_proc,
                         args=(url, n, args.messages, ready_q, go_ev, done_q, args.timeout))
             for n in per if n > 0]
    for p in procs:
        p.start()
    ids = []
    for _ in procs:
        ids += ready_q.get(timeout=args.timeout)
    t0, c0, pubs = asyncio.run(service(args, ids))
    got, t_end = 0, t0
    for _ in procs:
        g, t = done_q.get(timeout=args.timeout + 10)
        got, t_end = got + g, max(t_end, t)
    c1 = cpu_s(args.broker_pid)
    for p in procs:
        p.join()
    refused = sum(1 for r in pubs if r["E"] is not None)
    routed = sum(int(r["r"]["s"]) for r in pubs if r["E"] is None)
    wall, cpu = t_end - t0, c1 - c0
    for name, v in (("conns_ready", len(ids)), ("messages_sent", len(pubs)),
                    ("messages_refused", refused), ("routed", routed),
                    ("deliveries", got), ("expected", args.conns * args.messages),
                    ("missing", args.conns * args.messages - got), ("run_wall_s", wall),
                    ("deliveries_per_s", got / wall if wall > 0 else 0),
                    ("broker_cpu_s", cpu), ("broker_cores", cpu / wall if wall > 0 else 0),
                    ("deliveries_per_broker_cpu_s", got / cpu if cpu > 0 else 0)):
        print("figure %-34s %.3f" % (name, v))
    return 0 if got == args.conns * args.messages else 1


if __name__ == "__main__":
    sys.exit(main())
