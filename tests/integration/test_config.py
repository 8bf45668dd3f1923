"""SPEC 0: every flag is also a config-file key (--config FILE), flags
win over the file."""

import json
import os
import tempfile

from lib.harness import (Broker, BrokerTestCase, HarnessError, new_id, out_path)


class ConfigTest(BrokerTestCase):

    def config_file(self, text):
        fd, path = tempfile.mkstemp(prefix="pushgate-brokerd-", suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def negotiated(self, b):
        c = self.connect(b)
        ftype, data = c.identify(new_id(), feature_negotiation=True)
        self.assertEqual(ftype, 0, data)
        c.close()
        return json.loads(data)

    def test_file_sets_values(self):
        path = self.config_file("# test config\n\nmax-msg-size 777\nmsg-timeout 1\n")
        b = self.extra_broker("--config", path)
        self.assertEqual(self.negotiated(b)["max_msg_size"], 777)
        # msg-timeout 1 from the file: redelivery within ~1 s
        d = self.identified(broker=b)
        s = self.identified(broker=b)
        ch, mid = new_id(), new_id()
        self.pub_ok(s, d.client_id, ch, mid, b"cfg")
        self.assert_message(d, mid, ch, s.client_id, b"cfg", attempt=1)
        self.assert_message(d, mid, ch, s.client_id, b"cfg", attempt=2, timeout=4)
        self.fin(d, mid)

    def test_flags_win_over_the_file(self):
        path = self.config_file("max-msg-size 100\n")
        b = self.extra_broker("--config", path, "--max-msg-size", "200")
        self.assertEqual(self.negotiated(b)["max_msg_size"], 200)

    def test_unknown_key_is_an_error(self):
        path = self.config_file("no-such-key 5\n")
        with self.assertRaises(HarnessError):
            b = Broker(self.redis.port, "--config", path, label="%s.own" % self.id(),
                       start_timeout=5)
            b.kill()

    def test_bad_values_are_errors(self):
        for flag, value in (("--max-msg-size", "-1"), ("--max-msg-size", "abc"),
                            ("--msg-timeout", "01"), ("--tcp-address", "nohost"),
                            ("--log-level", "loud")):
            with self.subTest(flag=flag, value=value):
                with self.assertRaises(HarnessError):
                    b = Broker(self.redis.port, flag, value, label="%s.own" % self.id(),
                               start_timeout=5)
                    b.kill()
