/* put: business pushes through routerd's HTTP /put (keep-alive,
 * --concurrency requests in flight, the next sent as each answer comes) to
 * random ones of N subscribed devices. Reports accepted puts per second and
 * the request latency, and the delivery latency to the devices. Give
 * routerd as --broker-pid and its Redis as --aux-pid. */
#include "pushbench.h"

static uint64_t put_fanout(uint64_t receivers)
{
    (void)receivers;
    return 1;
}

static const char *put_check(const struct pb_opts *o)
{
    if (o->conns == 0 || o->messages == 0 || o->concurrency == 0)
        return "put needs --conns, --messages and --concurrency of at least 1";
    return NULL;
}

static void put_report(const struct pb_run *r)
{
    const struct pb_stats *ps = &r->pub;
    double span = ps->ack_last_ns > ps->send_first_ns
                      ? (double)(ps->ack_last_ns - ps->send_first_ns) / 1e9 : 0;

    report_setup(r);
    report_figure("puts_sent", (double)ps->sent);
    report_figure("puts_accepted", (double)ps->accepted);
    report_figure("puts_refused", (double)ps->refused);
    report_figure("puts_per_s", span > 0 ? (double)ps->accepted / span : 0);
    report_latency("request", &ps->request);
    report_figure("deliveries", (double)r->recv.received);
    report_latency("latency", &r->recv.latency);
    report_cpu(r, 0);
    report_losses(r);
}

const struct pb_workload pb_wl_put = {
    "put", 0, PUB_HTTP, put_fanout, put_check, put_report,
};
