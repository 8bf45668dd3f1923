/* unicast: N devices, each on its own channel; --messages go to random
 * devices at --rate per second over --publishers connections. Reports the
 * rate achieved (deliveries over the time from the first publish to the
 * last delivery) and the delivery latency. */
#include "pushbench.h"

static uint64_t unicast_fanout(uint64_t receivers)
{
    (void)receivers;
    return 1;
}

static const char *unicast_check(const struct pb_opts *o)
{
    if (o->conns == 0 || o->messages == 0 || o->publishers == 0)
        return "unicast needs --conns, --messages and --publishers of at least 1";
    return NULL;
}

static void unicast_report(const struct pb_run *r)
{
    const struct pb_stats *rs = &r->recv, *ps = &r->pub;
    double send = ps->send_last_ns > ps->send_first_ns
                      ? (double)(ps->send_last_ns - ps->send_first_ns) / 1e9 : 0;
    double span = rs->recv_last_ns > ps->send_first_ns
                      ? (double)(rs->recv_last_ns - ps->send_first_ns) / 1e9 : 0;

    report_setup(r);
    report_published(r);
    report_figure("send_rate_per_s", send > 0 ? (double)(ps->sent - 1) / send : 0);
    report_figure("deliveries", (double)rs->received);
    report_figure("achieved_rate_per_s", span > 0 ? (double)rs->received / span : 0);
    report_cpu(r, (double)rs->received);
    report_latency("latency", &rs->latency);
    report_losses(r);
}

const struct pb_workload pb_wl_unicast = {
    "unicast", 0, PUB_DEVICE, unicast_fanout, unicast_check, unicast_report,
};
