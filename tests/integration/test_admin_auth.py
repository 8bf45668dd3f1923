"""adminhttp with --admin-token (SPEC 4, adminhttp/API.md): /api, /stats,
/api/device, /api/channels and /api/device/disconnect need
"Authorization: Bearer <token>"; without it they answer 401 and change
nothing: /api in SPEC 4's failure shape {"code":401,"status":"Unauthorized",
"msg_type":null}, the others {"error":"unauthorized"}. /, /ping and /metrics
are open. The token never shows in the log."""

import time

from lib.admin import AdminTestCase, err, request
from lib.cluster import ANDROID
from lib.harness import FRAME_RESPONSE, new_id

TOKEN = "Adm1n-Tok3n-zQx7Yw"

UNAUTHORIZED = (401, {"code": 401, "status": "Unauthorized", "msg_type": None})
API_401 = b'{"code":401,"status":"Unauthorized","msg_type":null}'
OTHER_401 = b'{"error":"unauthorized"}'

# (what, Authorization header or None for no header)
BAD_AUTH = [
    ("no header", None),
    ("wrong token", "Bearer not-the-token"),
    ("token in the wrong case", "Bearer " + TOKEN.swapcase()),
    ("token upper case", "Bearer " + TOKEN.upper()),
    ("token without Bearer", TOKEN),
    ("Bearer alone", "Bearer"),
    ("Bearer and a space", "Bearer "),
    ("prefix of the token", "Bearer " + TOKEN[:-1]),
    ("token plus a character", "Bearer " + TOKEN + "x"),
    ("Basic scheme", "Basic " + TOKEN),
    ("empty header", ""),
]


class AdminAuth(AdminTestCase):
    admin_token = TOKEN

    def bad(self, method, path, body=b""):
        """Each bad Authorization: exactly 401, in /api's shape or the others'."""
        want = API_401 if path == "/api" else OTHER_401
        for what, header in BAD_AUTH:
            headers = {} if header is None else {"Authorization": header}
            with self.subTest(path=path, auth=what):
                st, _h, data = request(self.port, method, path, body=body or None,
                                       headers=headers)
                self.assertEqual((st, data), (401, want),
                                 "%s %s with %s" % (method, path, what))

    def test_api_needs_the_token(self):
        req = b'{"msg_type":"MSG_STAT_REQ","saddr":1,"daddr":1}'
        self.bad("POST", "/api", req)
        st, rep = self.api({"msg_type": "MSG_STAT_REQ", "saddr": 1, "daddr": 1})
        self.assertEqual((st, rep["msg_type"]), (200, "MSG_STAT_RES"), rep)

    def test_api_without_token_changes_nothing(self):
        a, b = new_id(), new_id()
        before = self.quiet_stat()["messages_in"]  # counts of earlier tests come in at beats
        # HELO without auth: b stays unknown
        self.assertEqual(self.api({"msg_type": "MSG_HELO_REQ", "saddr": b, "daddr": 1},
                                  token=None), UNAUTHORIZED)
        self.send(a, b, new_id(), "b is not an API client", status=404)
        self.helo(b)
        # SEND without auth (and with a wrong one) is not kept
        for tok in (None, "wrong", TOKEN.lower()):
            self.assertEqual(self.api({"msg_type": "MSG_SEND_REQ", "saddr": a, "daddr": b,
                                       "id": new_id(), "payload": "sneaky"}, token=tok),
                             UNAUTHORIZED, "SEND with token %r" % (tok,))
        self.assert_recv_none(b, "a SEND without auth was kept")
        self.assertEqual(self.stat()["messages_in"], before)
        # FREE and GBYE without auth leave the message and the client
        mid = new_id()
        self.send(a, b, mid, "kept")
        self.assertEqual(self.api({"msg_type": "MSG_FREE_REQ", "saddr": b, "daddr": 1,
                                   "id": mid}, token=None), UNAUTHORIZED)
        self.assertEqual(self.api({"msg_type": "MSG_GBYE_REQ", "saddr": b, "daddr": 1},
                                  token=None), UNAUTHORIZED)
        self.assert_recv(b, a, mid, "kept", "after FREE/GBYE without auth")
        # RECV without auth reveals nothing
        self.assertEqual(self.api({"msg_type": "MSG_RECV_REQ", "saddr": b, "daddr": 1},
                                  token=None), UNAUTHORIZED)
        # 401 comes before any parsing: bad JSON and unknown types too
        for body in (b"not json", b'{"msg_type":"MSG_NOPE_REQ"}',
                     b'{"msg_type":"MSG_PUSH_REQ"}'):
            st, _h, data = request(self.port, "POST", "/api", body=body)
            self.assertEqual((st, data), (401, API_401), body)
        self.free(b, mid)
        self.assert_recv_none(b)

    def test_stats_needs_the_token(self):
        self.bad("GET", "/stats")
        st, rep = self.get("/stats")
        self.assertEqual(st, 200, rep)
        self.assertEqual(len(rep["brokers"]), 2, rep)

    def test_device_needs_the_token(self):
        d = self.connected(ANDROID)
        self.bad("GET", "/api/device?id=%d" % d.device_id)
        self.bad("GET", "/api/device?serial_no=%s&device_type=%d" % (d.serial, ANDROID))
        self.bad("GET", "/api/device?id=%d" % new_id())   # unknown: still 401, not 404
        self.bad("GET", "/api/device?id=abc")             # malformed: still 401, not 400
        st, rep = self.get("/api/device?id=%d" % d.device_id)
        self.assertEqual((st, rep.get("device_id"), rep.get("online")),
                         (200, d.device_id, True), rep)

    def test_channels_needs_the_token(self):
        ch = new_id()
        self.connected(ANDROID, subs=[ch])
        self.bad("GET", "/api/channels")
        self.bad("GET", "/api/channels?limit=5")
        st, rep = self.get("/api/channels")
        self.assertEqual(st, 200, rep)
        self.assertIn({"channel": str(ch), "channel_id": ch, "subscribers": 1}, rep["channels"])

    def test_disconnect_needs_the_token(self):
        d = self.connected(ANDROID)
        self.bad("POST", "/api/device/disconnect?id=%d" % d.device_id)
        # the device is still connected and answers
        time.sleep(0.5)
        self.assertTrue(d.connected.is_set(), "device %d lost its connection: %r"
                        % (d.device_id, d.events))
        d.send_line("H")
        self.assertEqual(d.next_ctrl(), (FRAME_RESPONSE, b"H"))
        # with the token it works
        self.assertEqual(self.post("/api/device/disconnect?id=%d" % d.device_id),
                         (200, {"disconnected": True}))
        self.assertTrue(d.wait_eof(5.0), "device not disconnected with the token")

    def test_open_endpoints(self):
        for path in ("/ping", "/metrics", "/"):
            with self.subTest(path=path):
                st, headers, body = request(self.port, "GET", path)
                self.assertEqual(st, 200, "%s without a token: %r" % (path, body[:200]))
                if path == "/ping":
                    self.assertEqual(body, b"OK")
                elif path == "/metrics":
                    self.assertIn(b"pushgate_", body)
                else:
                    self.assertTrue(headers.get("content-type", "").startswith("text/html"),
                                    headers)
                # a wrong token does not hurt either
                st2, _h, body2 = request(self.port, "GET", path,
                                         headers={"Authorization": "Bearer nope"})
                self.assertEqual(st2, 200, path)

    def test_right_token_works(self):
        b = new_id()
        self.helo(b)
        mid = new_id()
        self.send(new_id(), b, mid, "with auth")
        st, rep = self.recv(b)
        self.assertEqual((st, rep["payload"]), (200, "with auth"), rep)
        self.assertEqual(self.api({"msg_type": "MSG_PUSH_REQ"}),
                         (501, err(501, "MSG_PUSH_ACK")))
        self.gbye(b)

    def test_zz_token_never_logged(self):
        # runs last in this class (alphabetical): every request above is in
        # the log by now; make a few more, with the right and wrong tokens
        self.helo(new_id())
        for what, header in BAD_AUTH:
            request(self.port, "GET", "/stats",
                    headers={} if header is None else {"Authorization": header})
        self.assertEqual(self.get("/stats")[0], 200)
        time.sleep(0.3)
        log = self.admin.log_file_bytes()
        self.assertTrue(log, "empty log %s" % self.admin.log_path)
        for secret in (TOKEN, TOKEN.swapcase(), TOKEN.upper(), TOKEN[:-1]):
            self.assertNotIn(secret.encode(), log,
                             "a token shows in the log %s" % self.admin.log_path)
