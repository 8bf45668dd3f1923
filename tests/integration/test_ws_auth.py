"""SPEC 5.1, 5.5 "Connecting": with a secret every client needs its
client_id and token (HTTP 401 otherwise, anonymous ones too); the service
role needs --service-token, as a bearer header or ?service_token=, on the
upgrade and on /v1/...; the query is checked before the token."""

import json

from lib.cluster import token_for
from lib.harness import BrokerTestCase, new_id, request
from lib.ws import WsClient, upgrade_status

SECRET = "ws-secret-%d" % new_id()
SERVICE = "svc-token-%d" % new_id()


class WsAuthTest(BrokerTestCase):
    broker_args = ("--secret", SECRET, "--service-token", SERVICE)

    def status(self, query, headers=None):
        return upgrade_status(self.broker.ws, query, headers)

    def test_clients(self):
        cid = new_id()
        good = token_for(SECRET, cid)
        self.assertEqual(self.status({"client_id": cid, "token": good}), 101)
        self.assertEqual(self.status({"client_id": cid}), 401)
        self.assertEqual(self.status({"client_id": cid, "token": token_for(SECRET, cid + 1)}), 401)
        self.assertEqual(self.status({"client_id": cid, "token": good[:-1] + "x"}), 401)
        self.assertEqual(self.status(None), 401)                       # anonymous
        self.assertEqual(self.status({"token": good}), 401)
        self.assertEqual(self.status({"client_id": "0", "token": good}), 400)

    def test_the_client_gets_its_id(self):
        cid = new_id()
        c = WsClient(self.broker.ws, {"client_id": cid, "token": token_for(SECRET, cid)})
        self.addCleanup(c.close)
        self.assertEqual(c.client_id, str(cid))

    def test_services(self):
        self.assertEqual(self.status({"role": "service"}), 401)
        self.assertEqual(self.status({"role": "service", "service_token": "nope"}), 401)
        self.assertEqual(self.status({"role": "service"}, {"Authorization": "Bearer nope"}), 401)
        self.assertEqual(self.status({"role": "service", "service_token": SERVICE}), 101)
        self.assertEqual(self.status({"role": "service"},
                                     {"Authorization": "Bearer " + SERVICE}), 101)
        # a client's token is not a service's
        cid = new_id()
        self.assertEqual(self.status({"role": "service", "token": token_for(SECRET, cid)}), 401)
        # the query first: 400 whatever the token
        self.assertEqual(self.status({"role": "service", "client_id": cid,
                                      "service_token": SERVICE}), 400)
        self.assertEqual(self.status({"role": "service", "client_id": cid}), 400)

    def test_http_calls_need_the_service_token(self):
        port = self.broker.ws[1]
        body = json.dumps({"c": str(new_id()), "d": "x"}).encode()
        st, _h, data = request(port, "POST", "/v1/mesh/send", body=body)
        self.assertEqual((st, json.loads(data)),
                         (401, {"E": {"c": 403, "m": "not allowed for this role"}}))
        st, _h, data = request(port, "POST", "/v1/mesh/send", body=body, token="wrong")
        self.assertEqual(st, 401)
        for kw in ({"token": SERVICE}, {"query": {"service_token": SERVICE}}):
            st, _h, data = request(port, "POST", "/v1/mesh/send", body=body, **kw)
            self.assertEqual((st, json.loads(data)),
                             (200, {"E": {"c": 401, "m": "no such client"}}), kw)
        # 405 and 404 come before 401; 413 after it
        self.assertEqual(request(port, "GET", "/v1/mesh/send")[0], 405)
        self.assertEqual(request(port, "POST", "/v1/mesh/nope", body=b"{}")[0], 404)
        big = b"{" + b" " * (65536 * 4 // 3 + 65537) + b"}"
        self.assertEqual(request(port, "POST", "/v1/mesh/send", body=big)[0], 401)
        self.assertEqual(request(port, "POST", "/v1/mesh/send", body=big, token=SERVICE)[0], 413)
