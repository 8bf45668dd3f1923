/* fanout: N receivers on one channel, --publishers connections publish
 * --messages of --size bytes to it (--rate 0: as fast as the broker takes
 * them). Deliveries per second run from the first publish to the last
 * delivery; deliveries per broker CPU-second use the broker's CPU time
 * from GO to the last delivery. */
#include "pushbench.h"

static uint64_t fanout_fanout(uint64_t receivers)
{
    return receivers;
}

static const char *fanout_check(const struct pb_opts *o)
{
    if (o->conns == 0 || o->messages == 0 || o->publishers == 0)
        return "fanout needs --conns, --messages and --publishers of at least 1";
    return NULL;
}

static void fanout_report(const struct pb_run *r)
{
    const struct pb_stats *rs = &r->recv;
    double span = rs->recv_last_ns > r->pub.send_first_ns
                      ? (double)(rs->recv_last_ns - r->pub.send_first_ns) / 1e9 : 0;

    report_setup(r);
    report_published(r);
    report_figure("deliveries", (double)rs->received);
    report_figure("delivery_span_s", span);
    report_figure("deliveries_per_s", span > 0 ? (double)rs->received / span : 0);
    report_cpu(r, (double)rs->received);
    report_latency("latency", &rs->latency);
    report_losses(r);
}

const struct pb_workload pb_wl_fanout = {
    "fanout", 1, PUB_DEVICE, fanout_fanout, fanout_check, fanout_report,
};
