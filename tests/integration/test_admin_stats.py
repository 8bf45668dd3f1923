"""adminhttp's other endpoints (adminhttp/API.md): GET /stats, GET
/api/channels, GET /api/device, POST /api/device/disconnect, /metrics,
/ping, the dashboard page, and a clean SIGTERM."""

import re
import urllib.parse

from lib.admin import STAT_KEYS, Admin, AdminTestCase, is_int, request
from lib.cluster import ANDROID, IOS, PC, post as router_post, wait_until
from lib.harness import (FRAME_ERROR, FRAME_RESPONSE, HELP_RE, SAMPLE_RE, TYPE_RE,
                         Client, fmt_frame, new_id, now_ms)

# One row per brokerd process; "loops" is its number of event loops
# (--threads), each of which registers in Redis as a broker id of its own.
BROKER_KEYS = {"id", "address", "connections", "uptime_seconds", "last_heartbeat_ms",
               "alive", "messages_in", "messages_out", "messages_pending", "loops",
               "ws_clients", "ws_services"}


def by_addr(stats):
    """/stats' broker rows by address."""
    return {b["address"]: b for b in stats["brokers"]}


class Stats(AdminTestCase):

    @classmethod
    def setUpClass(cls):
        cls.t_start_ms = now_ms()
        super().setUpClass()

    # -- helpers
    def device_reply(self, d, online, subs, pending=0, broker_id=None, ctx=None):
        return {"device_id": d.device_id, "serial_no": d.serial,
                "device_type": d.device_type, "device_name": d.name,
                "online": online, "broker": d.broker if online else None,
                "broker_id": broker_id if online else None,
                "subscriptions": sorted(subs), "pending": pending, "ctx": ctx or {}}

    def lookup(self, query):
        st, rep = self.get("/api/device?" + (query if isinstance(query, str)
                                             else urllib.parse.urlencode(query)))
        if st == 200 and isinstance(rep.get("subscriptions"), list):
            # ids (numbers) first, then names (strings)
            rep["subscriptions"] = sorted(rep["subscriptions"],
                                          key=lambda v: (isinstance(v, str), v))
        return st, rep

    # -- /stats
    def test_stats_structure(self):
        s = self.wait_stats(lambda s: len(s.get("history", [])) >= 2)
        t = now_ms()
        self.assertEqual(set(s), {"time_ms", "brokers", "totals", "rates", "history"}, s)
        self.assertTrue(is_int(s["time_ms"]) and abs(s["time_ms"] - t) < 2000,
                        "time_ms %r, now %d" % (s["time_ms"], t))
        self.assertIsInstance(s["brokers"], list)
        self.assertEqual(sorted(b.get("address") for b in s["brokers"]),
                         self.all_broker_addrs(), s["brokers"])
        ids = set()
        for b in s["brokers"]:
            with self.subTest(broker=b["address"]):
                self.assertEqual(set(b), BROKER_KEYS, b)
                self.assertIsInstance(b["id"], str, b)
                self.assertTrue(re.fullmatch(r"-?[0-9]+", b["id"]), b)
                ids.add(b["id"])
                self.assertIs(b["alive"], True, b)
                self.assertEqual(b["loops"], 1, "brokerd runs with --threads 1: %r" % (b,))
                for k in BROKER_KEYS - {"id", "address", "alive"}:
                    self.assertTrue(is_int(b[k]) and b[k] >= 0, "%s = %r" % (k, b[k]))
                self.assertTrue(0 <= s["time_ms"] - b["last_heartbeat_ms"] <= 2000,
                                "last_heartbeat_ms %d, time_ms %d"
                                % (b["last_heartbeat_ms"], s["time_ms"]))
                self.assertLessEqual(b["uptime_seconds"],
                                     (s["time_ms"] - self.t_start_ms) // 1000 + 1, b)
        self.assertEqual(len(ids), 2, "broker ids %r" % ids)
        self.assertEqual(set(s["totals"]), STAT_KEYS, s["totals"])
        for k, v in s["totals"].items():
            self.assertTrue(is_int(v) and v >= 0, "totals %s = %r" % (k, v))
        self.assertEqual(s["totals"]["brokers"], 2)
        self.assertEqual(set(s["rates"]), {"messages_in_per_second", "messages_out_per_second"})
        for k, v in s["rates"].items():
            self.assertTrue(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0,
                            "rates %s = %r" % (k, v))
        h = s["history"]
        self.assertIsInstance(h, list)
        self.assertTrue(2 <= len(h) <= 300, "history of %d samples" % len(h))
        for i, e in enumerate(h):
            self.assertEqual(set(e), {"t", "in", "out"}, e)
            self.assertTrue(is_int(e["t"]), e)
            for k in ("in", "out"):
                self.assertTrue(isinstance(e[k], (int, float)) and e[k] >= 0, e)
            if i:
                dt = e["t"] - h[i - 1]["t"]
                self.assertTrue(500 <= dt <= 2500, "samples %r and %r are not about a "
                                "second apart" % (h[i - 1], e))
        self.assertLessEqual(h[-1]["t"], s["time_ms"])

    def test_stats_totals_match_msg_stat(self):
        # at a quiet moment both read the same numbers
        q = self.quiet_stat()
        self.assertEqual(self.stats()["totals"], q)

    def test_connections_per_broker(self):
        self.wait_stats(lambda s: s["totals"]["connections"] == 0)
        devs = self.cluster.spread_devices(3)
        want = {a: 0 for a in self.all_broker_addrs()}
        for d in devs:
            want[d.broker] += 1

        def check(s):
            got = {a: b["connections"] for a, b in by_addr(s).items()}
            return got == want and s["totals"]["connections"] == len(devs)
        s = self.wait_stats(check)
        self.assertEqual(({a: b["connections"] for a, b in by_addr(s).items()},
                          s["totals"]["connections"]), (want, len(devs)),
                         "connections per broker, total")
        devs[0].close()
        want[devs[0].broker] -= 1
        s = self.wait_stats(check)
        self.assertEqual({a: b["connections"] for a, b in by_addr(s).items()}, want)
        self.cluster.close_devices()
        s = self.wait_stats(lambda s: s["totals"]["connections"] == 0)
        self.assertEqual(s["totals"]["connections"], 0)

    def test_devices_and_channels_totals(self):
        s0 = self.quiet_stat()
        ch = new_id()
        d1 = self.connected(ANDROID, subs=[ch])
        self.connected(ANDROID, subs=[ch])
        s = self.stats()["totals"]
        self.assertEqual((s["devices"], s["channels"]), (s0["devices"] + 2, s0["channels"] + 1))
        d1.unsub(ch)
        s = self.stats()["totals"]
        self.assertEqual(s["channels"], s0["channels"] + 1, "one subscriber left")
        self.cluster.devices[1].unsub(ch)
        s = self.stats()["totals"]
        self.assertEqual(s["channels"], s0["channels"], "no subscriber left")

    def test_broker_message_counters(self):
        devs = self.cluster.spread_devices(2)
        src = devs[0]
        dst = next(d for d in devs if d.broker != src.broker)
        s0 = by_addr(self.quiet_and_stats())
        pmid = new_id()
        self.assertEqual(src.pub(dst.device_id, 9, pmid, b"across")[1],
                         ("ACK 1 %d %d" % (pmid, dst.device_id)).encode())
        self.assert_got(dst, [(pmid, 9, src.device_id, b"across")], quiet=0)

        def counters(s):
            return {a: (b["messages_in"] - s0[a]["messages_in"],
                        b["messages_out"] - s0[a]["messages_out"])
                    for a, b in by_addr(s).items()}
        want = {src.broker: (1, 0), dst.broker: (0, 1)}
        s = self.wait_stats(lambda s: counters(s) == want)
        self.assertEqual(counters(s), want, "(messages_in, messages_out) growth per broker")

    def quiet_and_stats(self):
        self.quiet_stat()
        return self.stats()

    def test_history_and_rates_count_messages(self):
        ch = new_id()
        self.connected(ANDROID, subs=[ch])
        s = self.wait_stats(lambda s: len(s["history"]) >= 2)
        self.quiet_stat()
        t_mark = self.stats()["history"][-1]["t"]
        n = 10
        for i in range(n):
            self.put_ok(ch, b"rate %d" % i)

        def counted(s):
            h = s["history"]
            return sum(e["in"] * (e["t"] - p["t"]) / 1000.0
                       for p, e in zip(h, h[1:]) if p["t"] >= t_mark)
        s = self.wait_stats(lambda s: abs(counted(s) - n) < 0.01, timeout=4.0)
        self.assertAlmostEqual(counted(s), n, delta=0.01,
                               msg="history 'in' rates x seconds since the mark: %r"
                               % (s["history"][-6:],))
        self.assertEqual(s["rates"]["messages_in_per_second"], s["history"][-1]["in"])
        self.assertEqual(s["rates"]["messages_out_per_second"], s["history"][-1]["out"])

    # -- /api/device
    def test_device_lookup_online_then_offline(self):
        # a serial and a name that need URL encoding
        d = self.device("sn %d/&=?+%%" % new_id(), device_type=ANDROID, name="Küche ✓")
        c1, c2 = new_id(), new_id()
        d.connect(subs=[c2, c1])
        bid = self.broker_ids()[d.broker]
        want = self.device_reply(d, True, [c1, c2], broker_id=bid)
        self.assertEqual(self.lookup({"id": d.device_id}), (200, want))
        self.assertEqual(self.lookup({"serial_no": d.serial, "device_type": ANDROID}),
                         (200, want))
        self.assertIn(d.broker, self.all_broker_addrs())
        d.close()
        off = self.device_reply(d, False, [c1, c2])
        got = wait_until(lambda: self.lookup({"id": d.device_id}) == (200, off), 2.0)
        self.assertTrue(got, "after disconnecting: %r" % (self.lookup({"id": d.device_id}),))
        self.assertEqual(self.lookup({"serial_no": d.serial, "device_type": ANDROID}),
                         (200, off))

    def test_device_lookup_names_channels_that_are_not_ids(self):
        d = self.device(device_type=PC)
        d.register()
        c = new_id()
        d.connect(subs=[c])
        d.close()
        # a name a service subscribed it to (conn.call subscribe), as Redis holds it
        self.cluster.redis.cmd("SADD", "pg:dev:%d:subs" % d.device_id, "news", "007")
        self.assertEqual(self.lookup({"id": d.device_id})[1]["subscriptions"], [c, "007", "news"])

    def test_device_lookup_shows_the_connections_context(self):
        d = self.device(device_type=PC)
        d.register()
        d.connect(subs=[])
        # what conn.call set_context wrote (SPEC 5.3), as Redis holds it
        key = "pg:dev:%d" % d.device_id
        self.cluster.redis.cmd("HSET", key, "ctx", '{"user":"ann","n":2}')
        self.assertEqual(self.lookup({"id": d.device_id})[1]["ctx"], {"user": "ann", "n": 2})
        self.cluster.redis.cmd("HSET", key, "ctx", "not json")
        self.assertEqual(self.lookup({"id": d.device_id})[1]["ctx"], {})
        d.close()

    def test_device_lookup_registered_only_and_pending(self):
        d = self.device(device_type=PC)        # no name
        d.register()
        self.assertEqual(self.lookup({"id": d.device_id}), (200, self.device_reply(d, False, [])))
        a = new_id()
        for _ in range(2):
            self.send(a, d.device_id, new_id(), "kept")
        self.assertEqual(self.lookup({"id": d.device_id}),
                         (200, self.device_reply(d, False, [], pending=2)))
        ios = self.device(device_type=IOS)
        ios.register()
        self.put_ok(5, b"for ios", device_id=ios.device_id)
        self.assertEqual(self.lookup({"id": ios.device_id}),
                         (200, self.device_reply(ios, False, [], pending=1)))

    def test_device_lookup_not_found(self):
        d = self.device(device_type=ANDROID)
        d.register()
        for q in ({"id": new_id() + 10**12}, {"id": 2**63 - 1},
                  {"serial_no": "no-such-serial-%d" % new_id(), "device_type": ANDROID},
                  {"serial_no": d.serial, "device_type": PC}):   # same serial, other type
            with self.subTest(query=q):
                self.assertEqual(self.lookup(q), (404, {"error": "not found"}))

    def test_device_lookup_bad_query(self):
        for q in ("", "id=abc", "id=0", "id=-1", "id=01", "id=", "id=%d" % 2**63,
                  "id=1.5", "serial_no=x", "device_type=3", "serial_no=x&device_type=0",
                  "serial_no=x&device_type=7", "serial_no=x&device_type=abc",
                  "serial_no=x&device_type="):
            with self.subTest(query=q):
                st, rep = self.lookup(q)
                self.assertEqual(st, 400, "?%s: %r" % (q, rep))
                self.assertEqual(set(rep), {"error"}, rep)
                self.assertTrue(isinstance(rep["error"], str) and rep["error"], rep)

    # -- /api/device/disconnect
    def test_disconnect(self):
        serial = "sn-%d" % new_id()
        st, rep = router_post(self.router.reg_port, "/registration",
                              query={"serial_no": serial, "device_type": str(ANDROID)})
        self.assertEqual((st, rep["code"]), (200, 0), rep)
        dev_id, addr = rep["data"]["device_id"], rep["data"]["broker"]
        host, _, port = addr.rpartition(":")
        c = Client((host, int(port))).connect()
        try:
            c.send_magic()
            self.assertEqual(c.identify(dev_id), (FRAME_RESPONSE, b"OK"))
            self.assertEqual(self.post("/api/device/disconnect?id=%d" % dev_id),
                             (200, {"disconnected": True}))
            frames = c.read_frames_until_closed(5.0)
            self.assertEqual(len(frames), 1, "frames before EOF: %r" % (frames,))
            ftype, data = frames[0]
            self.assertTrue(ftype == FRAME_ERROR and (data == b"E_DISCONNECTED"
                                                      or data.startswith(b"E_DISCONNECTED ")),
                            "want Error E_DISCONNECTED, got %s" % fmt_frame(frames[0]))
        finally:
            c.close()
        got = wait_until(lambda: self.lookup({"id": dev_id})[1].get("online") is False, 2.0)
        self.assertTrue(got, "still online: %r" % (self.lookup({"id": dev_id}),))
        self.assertEqual(self.post("/api/device/disconnect?id=%d" % dev_id),
                         (404, {"error": "not online"}))
        # not banned: it may come back
        c2 = Client((host, int(port))).connect()
        try:
            c2.send_magic()
            self.assertEqual(c2.identify(dev_id), (FRAME_RESPONSE, b"OK"))
        finally:
            c2.close()

    def test_disconnect_not_online(self):
        d = self.device(device_type=ANDROID)
        d.register()                              # known, never connected
        for dev_id in (d.device_id, new_id() + 10**12):
            with self.subTest(device=dev_id):
                self.assertEqual(self.post("/api/device/disconnect?id=%d" % dev_id),
                                 (404, {"error": "not online"}))

    def test_disconnect_bad_query(self):
        for q in ("", "?id=abc", "?id=0", "?id=-3", "?id=01", "?id=", "?id=%d" % 2**63,
                  "?serial_no=x"):
            with self.subTest(query=q):
                st, rep = self.post("/api/device/disconnect" + q)
                self.assertEqual(st, 400, "%s: %r" % (q, rep))
                self.assertEqual(set(rep), {"error"}, rep)

    def test_disconnect_leaves_others(self):
        a = self.connected(ANDROID)
        b = self.connected(ANDROID)
        self.assertEqual(self.post("/api/device/disconnect?id=%d" % a.device_id),
                         (200, {"disconnected": True}))
        self.assertTrue(a.wait_eof(5.0), "device a not disconnected")
        b.send_line("H")
        self.assertEqual(b.next_ctrl(), (FRAME_RESPONSE, b"H"))
        self.assertTrue(b.connected.is_set())

    # -- plain endpoints
    def test_metrics(self):
        self.connected(ANDROID)
        text = {}

        def has_brokers():
            st, headers, body = request(self.port, "GET", "/metrics")
            text.update(st=st, headers=headers, body=body.decode("utf-8"))
            return st == 200 and "\npushgate_cluster_brokers 2\n" in "\n" + text["body"]
        self.assertTrue(wait_until(has_brokers, 3.0),
                        "no 'pushgate_cluster_brokers 2' in /metrics: %r" % text.get("body"))
        self.assertTrue(text["headers"].get("content-type", "").startswith("text/plain"),
                        text["headers"])
        body = text["body"]
        self.assertTrue(body.endswith("\n"))
        samples = []
        for line in body.splitlines():
            if line.startswith("#"):
                m = HELP_RE.match(line) or TYPE_RE.match(line)
                self.assertTrue(m and m.group(1).startswith("pushgate_"), line)
                continue
            m = SAMPLE_RE.match(line)
            self.assertIsNotNone(m, "not a Prometheus sample line: %r" % line)
            self.assertTrue(m.group(1).startswith("pushgate_"), line)
            samples.append(m.group(1))
        self.assertTrue(samples)
        self.assertEqual(len(samples), len(set(samples)), "a metric appears twice")
        self.assertTrue(wait_until(lambda: "\npushgate_cluster_connections 1\n" in
                                   "\n" + request(self.port, "GET", "/metrics")[2].decode(),
                                   3.0), "pushgate_cluster_connections is not 1")

    def test_ping(self):
        for _ in range(20):
            st, _h, body = request(self.port, "GET", "/ping")
            self.assertEqual((st, body), (200, b"OK"))

    def test_dashboard_page(self):
        st, headers, body = request(self.port, "GET", "/")
        self.assertEqual(st, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/html"), headers)
        html = body.decode("utf-8")
        self.assertIn("<html", html.lower())
        ext = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//[^"'\s>]*""", html, re.I)
        self.assertEqual(ext, [], "the dashboard fetches from elsewhere")

    def test_unknown_path(self):
        for path in ("/nope", "/api/nope", "/stats/x"):
            with self.subTest(path=path):
                st, _h, body = request(self.port, "GET", path)
                self.assertEqual(st, 404, "%s: %r" % (path, body[:200]))

    def test_sigterm_exits_0(self):
        extra = Admin(self.cluster.redis.port, label="%s.sigterm" % type(self).__name__)
        self.assertTrue(extra.wait_ready(), extra.log_tail())
        took = extra.stop(5.0)        # asserts exit 0 within 5 s
        self.assertLess(took, 5.0)


class Channels(AdminTestCase):
    """GET /api/channels on a fresh Redis: busiest first."""

    def test_channels(self):
        self.assertEqual(self.get("/api/channels"), (200, {"channels": []}))
        sevens = [self.connected(ANDROID, subs=[7]) for _ in range(3)]
        eight = self.connected(ANDROID, subs=[8])
        want = [{"channel": "7", "channel_id": 7, "subscribers": 3}, {"channel": "8", "channel_id": 8, "subscribers": 1}]
        self.assertEqual(self.get("/api/channels"), (200, {"channels": want}))
        self.assertEqual(self.get("/api/channels?limit=1"), (200, {"channels": want[:1]}))
        self.assertEqual(self.get("/api/channels?limit=100"), (200, {"channels": want}))
        # SUB twice counts once; subscriptions outlive the connection
        sevens[0].sub(7)
        sevens[1].close()
        self.assertEqual(self.get("/api/channels"), (200, {"channels": want}))
        # UNSUB drops the count; a channel with none left is gone
        sevens[0].unsub(7)
        self.assertEqual(self.get("/api/channels"),
                         (200, {"channels": [{"channel": "7", "channel_id": 7, "subscribers": 2},
                                             {"channel": "8", "channel_id": 8, "subscribers": 1}]}))
        eight.unsub(8)
        sevens[2].unsub(7)
        self.assertEqual(self.get("/api/channels"),
                         (200, {"channels": [{"channel": "7", "channel_id": 7, "subscribers": 1}]}))
        # 8 becomes the busiest
        more = [self.connected(ANDROID, subs=[8]) for _ in range(2)]
        self.assertEqual(self.get("/api/channels"),
                         (200, {"channels": [{"channel": "8", "channel_id": 8, "subscribers": 2},
                                             {"channel": "7", "channel_id": 7, "subscribers": 1}]}))
        self.assertTrue(more)

    def test_channels_limit(self):
        for q in ("0", "101", "abc", "-1", "", "1.5", "01"):
            with self.subTest(limit=q):
                st, rep = self.get("/api/channels?limit=" + q)
                self.assertEqual(st, 400, "limit=%s: %r" % (q, rep))
                self.assertEqual(set(rep), {"error"}, rep)


class MultiLoop(AdminTestCase):
    """brokerd --threads 2: two event loops on the process's one TCP port,
    each a broker id in Redis; /stats shows one row per process with
    "loops": 2 and the loops' numbers added up."""

    broker_args = ("--threads", "2")

    def test_one_row_per_process(self):
        s = self.wait_stats(lambda s: len(s["brokers"]) == 2
                            and all(b["loops"] == 2 for b in s["brokers"]))
        self.assertEqual(sorted(b["address"] for b in s["brokers"]), self.all_broker_addrs(),
                         s["brokers"])
        for b in s["brokers"]:
            self.assertEqual(set(b), BROKER_KEYS, b)
            self.assertEqual((b["loops"], b["alive"]), (2, True), b)
        self.assertEqual(len({b["id"] for b in s["brokers"]}), 2, s["brokers"])
        self.assertEqual(s["totals"]["brokers"], 2)
        self.assertEqual(self.stat()["brokers"], 2)

    def test_websocket_clients_and_services_per_broker(self):
        from lib.ws import WsClient
        b1, b2 = self.cluster.brokers[:2]
        conns = [WsClient(b1.ws), WsClient(b1.ws), WsClient(b1.ws, {"role": "service"}, ready=False),
                 WsClient(b2.ws), WsClient(b2.ws, {"role": "service"}, ready=False),
                 WsClient(b2.ws, {"role": "service"}, ready=False)]
        try:
            want = {"%s:%d" % b1.tcp: (2, 1), "%s:%d" % b2.tcp: (1, 2)}

            def per_addr(s):
                return {a: (b["ws_clients"], b["ws_services"]) for a, b in by_addr(s).items()}
            s = self.wait_stats(lambda s: per_addr(s) == want)
            self.assertEqual(per_addr(s), want)
        finally:
            for c in conns:
                c.close()
        s = self.wait_stats(lambda s: all(b["ws_clients"] + b["ws_services"] == 0
                                          for b in s["brokers"]))
        self.assertEqual({b["ws_clients"] for b in s["brokers"]}, {0})

    def test_connections_add_up(self):
        devs = self.cluster.spread_devices(6, min_per_broker=2)
        want = {a: 0 for a in self.all_broker_addrs()}
        for d in devs:
            want[d.broker] += 1

        def per_addr(s):
            return {a: b["connections"] for a, b in by_addr(s).items()}
        s = self.wait_stats(lambda s: per_addr(s) == want
                            and s["totals"]["connections"] == len(devs))
        self.assertEqual((per_addr(s), s["totals"]["connections"]), (want, len(devs)),
                         "connections per process (its loops added up), total")
        self.wait_stat({"connections": len(devs), "brokers": 2})
        self.cluster.close_devices()
        self.wait_stat({"connections": 0})

    def test_device_broker_id_is_its_process_row(self):
        # /api/device's broker_id names the same broker as a /stats row,
        # whichever loop holds the connection
        devs = self.cluster.spread_devices(6, min_per_broker=2)
        ids = {a: b["id"] for a, b in by_addr(self.stats()).items()}
        got, want = {}, {}
        for d in devs:
            st, rep = self.get("/api/device?id=%d" % d.device_id)
            self.assertEqual((st, rep["online"], rep["broker"]), (200, True, d.broker), rep)
            got[d.device_id] = rep["broker_id"]
            want[d.device_id] = ids[d.broker]
        self.assertEqual(got, want, "broker_id of each device vs the /stats row ids %r" % ids)

    def test_messages_and_disconnect_on_every_loop(self):
        ch = new_id()
        devs = self.cluster.spread_devices(6, subs=[ch], min_per_broker=2)
        before = self.quiet_stat()
        pmid = self.put_ok(ch, b"to every loop")
        a = new_id()
        smids = {}
        for d in devs:     # (sender, id) must be new for each: a repeat is not sent
            smids[d.device_id] = new_id()
            self.send(a, d.device_id, smids[d.device_id], "direct")
        for d in devs:
            self.assert_got(d, [(pmid, ch, 0, b"to every loop"),
                                (smids[d.device_id], 0, a, b"direct")], quiet=0)
        self.wait_stat({"messages_in": before["messages_in"] + 1 + len(devs),
                        "messages_out": before["messages_out"] + 2 * len(devs)}, settle=1.2)
        for d in devs:
            with self.subTest(device=d.device_id):
                self.assertEqual(self.post("/api/device/disconnect?id=%d" % d.device_id),
                                 (200, {"disconnected": True}))
                self.assertTrue(d.wait_eof(5.0), "device %d not disconnected" % d.device_id)
        self.wait_stat({"connections": 0})


class AnonymousClients(AdminTestCase):
    """An anonymous WebSocket client is a device while its state lives
    (offline-ttl after it leaves, here 1 s); then adminhttp's sweep takes
    it out of pg:devices, and the devices total goes back."""
    broker_args = ("--threads", "1", "--offline-ttl", "1")

    def test_an_anonymous_client_leaves_the_devices_total_after_offline_ttl(self):
        from lib.ws import WsClient
        redis = self.cluster.redis

        def no_anonymous_left():  # the readiness probes may have been anonymous
            return all(redis.cmd("EXISTS", b"pg:dev:" + d) and
                       not redis.cmd("HGET", b"pg:dev:" + d, "anon")
                       for d in redis.cmd("SMEMBERS", "pg:devices"))
        self.assertTrue(wait_until(no_anonymous_left, 10.0))
        before = redis.cmd("SCARD", "pg:devices")
        self.wait_stats(lambda s: s["totals"]["devices"] == before)
        c = WsClient(self.cluster.brokers[0].ws)
        cid = c.client_id
        self.assertEqual(redis.cmd("SISMEMBER", "pg:devices", cid), 1)
        self.assertEqual(self.wait_stats(lambda s: s["totals"]["devices"] == before + 1)
                         ["totals"]["devices"], before + 1)
        c.close()
        self.assertTrue(wait_until(lambda: redis.cmd("EXISTS", "pg:dev:" + cid) == 0, 10.0),
                        "its state expires offline-ttl after it left")
        self.assertTrue(wait_until(lambda: redis.cmd("SISMEMBER", "pg:devices", cid) == 0, 10.0),
                        "the sweep (each second) takes it out")
        self.assertEqual(self.wait_stats(lambda s: s["totals"]["devices"] == before)
                         ["totals"]["devices"], before)
