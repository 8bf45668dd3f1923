"""SPEC 0, 5: brokerd's --ws-address: empty turns the mesh port off, a bad
one stops the start, and the file key works as the flag."""

import os
import tempfile

from lib.harness import Broker, BrokerTestCase, Daemon, HarnessError, request
from lib.ws import WsClient, upgrade_status


class BrokerWithoutWs(Daemon):
    name = "brokerd"
    listen = {"tcp": "tcp", "http": "http"}

    def __init__(self, redis_port, *extra, label):
        super().__init__(["--tcp-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0",
                          "--redis", "127.0.0.1:%d" % redis_port] + list(extra), label)


class WsPortTest(BrokerTestCase):

    def test_empty_turns_it_off(self):
        b = BrokerWithoutWs(self.redis.port, "--ws-address", "", label="%s.off" % self.id())
        self.addCleanup(b.kill)
        self.assertTrue(b._wait_ready(lambda: request(b.http[1], "GET", "/ping")[0] == 200, 3))
        self.assertNotIn("listening ws", b.log_text())
        self.assertNotIn("service token", b.log_text())  # its warning is the port's
        b.stop()

    def test_max_connections_counts_websocket_clients(self):
        b = self.extra_broker("--max-connections", "2", "--threads", "1")
        a = WsClient(b.ws)
        self.addCleanup(a.close)
        d = self.identified(broker=b)
        self.assertEqual(upgrade_status(b.ws), 503)
        d.close()
        self.assertTrue(b._wait_ready(lambda: upgrade_status(b.ws) == 101, 3))

    def test_a_bad_address_stops_the_start(self):
        for value in ("nohost", "127.0.0.1:99999"):
            with self.subTest(value=value):
                with self.assertRaises(HarnessError):
                    b = Broker(self.redis.port, "--ws-address", value,
                               label="%s.bad" % self.id(), start_timeout=5)
                    b.kill()

    def test_the_file_key(self):
        fd, path = tempfile.mkstemp(prefix="pushgate-brokerd-", suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write("ws-address 127.0.0.1:0\nservice-token from-the-file\n")
        self.addCleanup(os.unlink, path)
        b = BrokerWithoutWs(self.redis.port, "--config", path, label="%s.file" % self.id())
        self.addCleanup(b.kill)
        self.assertTrue(b._wait_ready(lambda: "listening ws" in b.log_text(), 3))
        port = int(b.log_text().split("listening ws ")[1].split()[0].rsplit(":", 1)[1])
        st, _h, _d = request(port, "POST", "/v1/mesh/send", body=b"{}")
        self.assertEqual(st, 401)
        st, _h, _d = request(port, "POST", "/v1/mesh/send", body=b"{}", token="from-the-file")
        self.assertEqual(st, 200)
        c = WsClient(("127.0.0.1", port), {"role": "service", "service_token": "from-the-file"},
                     ready=False)
        c.close()
        b.stop()
