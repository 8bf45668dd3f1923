/* idle: N connections, each identified and subscribed to its own channel,
 * then nothing. Reports how fast they were set up and what they cost: the
 * broker's VmRSS growth per connection (before any connection, and
 * --settle-ms after the last one was ready), the same for --aux-pid (the
 * Redis behind pushgate), and the kernel's TCP buffer memory. */
#include "pushbench.h"

static uint64_t idle_fanout(uint64_t receivers)
{
    (void)receivers;
    return 0;
}

static const char *idle_check(const struct pb_opts *o)
{
    return o->conns == 0 ? "idle needs --conns of at least 1" : NULL;
}

static double per_conn(uint64_t before, uint64_t after, uint64_t n)
{
    return n > 0 ? ((double)after - (double)before) / (double)n : 0;
}

static void idle_report(const struct pb_run *r)
{
    uint64_t n = r->recv.conns_ready;

    report_setup(r);
    if (r->cfg->o.broker_pid != 0) {
        report_figure("broker_rss_before_bytes", (double)r->before.broker_rss);
        report_figure("broker_rss_after_bytes", (double)r->end.broker_rss);
        report_figure("broker_bytes_per_conn", per_conn(r->before.broker_rss, r->end.broker_rss, n));
    }
    if (r->cfg->o.aux_pid != 0)
        report_figure("aux_bytes_per_conn", per_conn(r->before.aux_rss, r->end.aux_rss, n));
    report_figure("tcp_mem_bytes_per_conn", per_conn(r->before.tcp_mem, r->end.tcp_mem, n));
    report_figure("conns_lost", (double)r->total.conns_lost);
    report_figure("errors", (double)r->total.errors);
    report_figure("timed_out", r->timed_out);
}

const struct pb_workload pb_wl_idle = {
    "idle", 0, PUB_NONE, idle_fanout, idle_check, idle_report,
};
