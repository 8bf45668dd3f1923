"""Start-up: once brokerd logs "listening tcp", a device can connect and
IDENTIFY at once (Redis is up the whole time). A device that a router sent
here must not get an error the SPEC does not name."""

from lib.harness import BrokerTestCase, FRAME_RESPONSE, fmt_frame, new_id


class StartupTest(BrokerTestCase):

    def fresh_broker(self):
        """Not waited for: these tests race brokerd's start on purpose."""
        return self.extra_broker(name="fresh", wait=False)

    def test_identify_right_after_listening(self):
        for i in range(5):
            with self.subTest(round=i):
                b = self.fresh_broker()
                c = self.connect(b)
                frame = c.identify(new_id())
                self.assertEqual(frame, (FRAME_RESPONSE, b"OK"),
                                 "first IDENTIFY after start: %s" % fmt_frame(frame))
                c.close()   # SIGTERM with clients is test_signal's business
                b.assert_clean_stop()

    def test_heartbeat_right_after_listening(self):
        b = self.fresh_broker()
        c = self.connect(b)
        self.expect_alive(c)
        c.close()
        b.assert_clean_stop()

    def test_http_right_after_listening(self):
        b = self.fresh_broker()
        status, _h, body = b.http_get("/ping")
        self.assertEqual((status, body), (200, b"OK"))
        b.assert_clean_stop()

    def test_version_and_help_exit_0(self):
        import subprocess
        from lib.harness import brokerd_path
        for flag in ("--version", "--help"):
            with self.subTest(flag=flag):
                p = subprocess.run([brokerd_path(), flag], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=5)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertTrue(p.stdout.strip() or p.stderr.strip())

    def test_bad_flag_fails(self):
        import subprocess
        from lib.harness import brokerd_path
        p = subprocess.run([brokerd_path(), "--no-such-flag"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=5)
        self.assertNotEqual(p.returncode, 0)
