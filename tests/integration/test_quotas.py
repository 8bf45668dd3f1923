"""Per-sender quotas: --max-dedup-per-sender bounds the dedup records
(pg:dupw:{from}:{window}, one per message, 10 minutes at least) one
sender's PUBs leave: past it in
a 10-minute window a PUB is refused with ACK 0, and nothing is stored."""

from lib.harness import BrokerTestCase, new_id


class DedupQuotaTest(BrokerTestCase):
    broker_args = ("--max-dedup-per-sender", "3")

    def test_past_the_quota_ack_0_and_nothing_delivered(self):
        s, d = self.identified(), self.identified()
        ch = new_id()
        mids = [new_id() for _ in range(4)]
        for mid in mids[:3]:
            self.pub_ok(s, d.client_id, ch, mid, b"in quota")
        s.send_with_body("PUB %d %d %d" % (d.client_id, ch, mids[3]), b"over")
        self.expect_ack(s, False, mids[3], d.client_id)
        # a repeat of an accepted one is still answered as the first time
        self.pub_ok(s, d.client_id, ch, mids[0], b"in quota")
        # another sender has a quota of its own
        o = self.identified()
        mid = new_id()
        self.pub_ok(o, d.client_id, ch, mid, b"other")
        got = [self.expect_message(d)[0] for _ in range(4)]
        self.assertEqual(got, mids[:3] + [mid])
        self.expect_alive(s)
