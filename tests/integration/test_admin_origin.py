"""adminhttp refuses cross-origin writes (SPEC 4, last paragraph): a POST
whose Origin names another host:port than its Host gets 403 and changes
nothing (/api in its failure shape {"code":403,"status":"Forbidden",
"msg_type":null}, the others {"error":"cross-origin request"}). The same
origin, or no Origin (curl), passes; GETs are not writes."""

from lib.admin import AdminTestCase, request

API_403 = b'{"code":403,"status":"Forbidden","msg_type":null}'
OTHER_403 = b'{"error":"cross-origin request"}'
HELO = b'{"msg_type":"MSG_HELO_REQ","saddr":%d,"daddr":1}'


class AdminOrigin(AdminTestCase):
    def host(self):
        return "127.0.0.1:%d" % self.port

    def post(self, path, body, origin, host=None):
        headers = {"Host": host or self.host(), "Content-Type": "text/plain"}
        if origin is not None:
            headers["Origin"] = origin
        st, _h, data = request(self.port, "POST", path, body=body, headers=headers)
        return st, data

    def test_cross_origin_api_post_403(self):
        for origin in ["http://evil.example", "http://127.0.0.1:%d" % (self.port + 1),
                       "https://evil.example:%d" % self.port, "null", "evil"]:
            with self.subTest(origin=origin):
                self.assertEqual(self.post("/api", HELO % 41, origin), (403, API_403))

    def test_cross_origin_disconnect_403(self):
        st, data = self.post("/api/device/disconnect?id=5", b"", "http://evil.example")
        self.assertEqual((st, data), (403, OTHER_403))

    def test_same_origin_and_no_origin_pass(self):
        for origin in ["http://" + self.host(), "http://" + self.host().upper(), None]:
            with self.subTest(origin=origin):
                st, data = self.post("/api", HELO % 42, origin)
                self.assertEqual(st, 200, data)
        st, data = self.post("/api", HELO % 43, "http://localhost", host="localhost:80")
        self.assertEqual(st, 200, data)

    def test_get_with_foreign_origin_is_not_a_write(self):
        st, _h, body = request(self.port, "GET", "/ping", headers={"Origin": "http://evil"})
        self.assertEqual((st, body), (200, b"OK"))
