/* The figures, one "figure NAME VALUE" line each on stdout, so that
 * scripts/bench can collect them; what the numbers mean is in the names
 * (_per_s, _ms, _bytes, _s). */
#include <stdio.h>

#include "pushbench.h"

void report_figure(const char *name, double value)
{
    printf("figure %-34s %.3f\n", name, value);
}

static double seconds(int64_t from_ns, int64_t to_ns)
{
    return to_ns > from_ns ? (double)(to_ns - from_ns) / 1e9 : 0;
}

void report_setup(const struct pb_run *r)
{
    const struct pb_stats *s = &r->recv;
    double t = seconds(s->setup_first_ns, s->setup_last_ns);

    report_figure("conns_ready", (double)s->conns_ready);
    report_figure("conns_failed", (double)r->total.conns_failed);
    report_figure("setup_s", t);
    report_figure("connect_per_s", t > 0 ? (double)s->conns_ready / t : 0);
}

void report_published(const struct pb_run *r)
{
    const struct pb_stats *ps = &r->pub;

    report_figure("messages_sent", (double)ps->sent);
    /* Without answers (MQTT QoS 0, Redis) every message sent counts. */
    report_figure("messages_accepted",
                  (double)(r->cfg->pub_proto->has_ack ? ps->accepted : ps->sent));
    report_figure("messages_refused", (double)ps->refused);
}

void report_cpu(const struct pb_run *r, double deliveries)
{
    double wall = seconds(r->ready.t_ns, r->end.t_ns);
    double broker = (double)(r->end.broker_cpu_ns - r->ready.broker_cpu_ns) / 1e9;
    double aux = (double)(r->end.aux_cpu_ns - r->ready.aux_cpu_ns) / 1e9;
    double bench = (double)(r->end.bench_cpu_ns - r->ready.bench_cpu_ns) / 1e9;

    report_figure("run_wall_s", wall);
    if (r->cfg->o.broker_pid != 0) {
        report_figure("broker_cpu_s", broker);
        report_figure("broker_cores", wall > 0 ? broker / wall : 0);
        if (deliveries > 0)
            report_figure("deliveries_per_broker_cpu_s", broker > 0 ? deliveries / broker : 0);
    }
    if (r->cfg->o.aux_pid != 0) {
        report_figure("aux_cpu_s", aux);
        report_figure("aux_cores", wall > 0 ? aux / wall : 0);
    }
    report_figure("bench_cpu_s", bench);
    report_figure("bench_cores", wall > 0 ? bench / wall : 0);
}

void report_latency(const char *prefix, const struct hist *h)
{
    char name[64];

    snprintf(name, sizeof(name), "%s_p50_ms", prefix);
    report_figure(name, hist_quantile_us(h, 0.50) / 1000);
    snprintf(name, sizeof(name), "%s_p99_ms", prefix);
    report_figure(name, hist_quantile_us(h, 0.99) / 1000);
    snprintf(name, sizeof(name), "%s_max_ms", prefix);
    report_figure(name, (double)h->max_us / 1000);
}

void report_losses(const struct pb_run *r)
{
    uint64_t got = r->recv.received;

    report_figure("expected", (double)r->expected);
    report_figure("missing", got < r->expected ? (double)(r->expected - got) : 0);
    report_figure("conns_lost", (double)r->total.conns_lost);
    report_figure("errors", (double)r->total.errors);
    report_figure("bad_payloads", (double)r->total.bad_payloads);
    report_figure("timed_out", r->timed_out);
}
