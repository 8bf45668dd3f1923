/* Cluster numbers from Redis: GET /stats, GET /metrics, MSG_STAT_REQ, and
 * a sample every second for the dashboard's chart. Brokers publish their
 * numbers in their registry entry each second (docs/DESIGN.md). */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <hiredis/hiredis.h>

#include "admin.h"
#include "cluster_stats.h"
#include "httputil.h"
#include "keys.h"
#include "scripts.h"
#include "xmalloc.h"

#define SAMPLE_MS 1000

json_t *stats_parse_totals(const redisReply *rep)
{
    json_t *s = cluster_stats_parse(rep);
    json_t *t = s ? json_incref(json_object_get(s, "totals")) : NULL;
    json_decref(s);
    return t;
}

/* ---- the per-second history ---- */

static const struct admin_sample *hist_at(const struct admin *a, size_t i)
{
    return &a->history[(a->hist_head + i) % HISTORY_LEN];
}

static void hist_add(struct admin *a, int64_t t, uint64_t in, uint64_t out)
{
    struct admin_sample *s;
    if (a->hist_len < HISTORY_LEN) {
        s = &a->history[(a->hist_head + a->hist_len++) % HISTORY_LEN];
    } else {
        s = &a->history[a->hist_head];
        a->hist_head = (a->hist_head + 1) % HISTORY_LEN;
    }
    s->t_ms = t;
    s->in = in;
    s->out = out;
}

/* Messages per second between samples i-1 and i. */
static double hist_rate(const struct admin *a, size_t i, int out)
{
    const struct admin_sample *p = hist_at(a, i - 1), *q = hist_at(a, i);
    uint64_t d1 = out ? p->out : p->in, d2 = out ? q->out : q->in;
    if (q->t_ms <= p->t_ms || d2 < d1)
        return 0.0;
    return (double)(d2 - d1) * 1000.0 / (double)(q->t_ms - p->t_ms);
}

static void stats_add_history(struct admin *a, json_t *o)
{
    json_t *hist = json_array();
    for (size_t i = 1; i < a->hist_len; i++)
        json_array_append_new(hist, json_pack("{s:I, s:f, s:f}",
                                              "t", (json_int_t)hist_at(a, i)->t_ms,
                                              "in", hist_rate(a, i, 0), "out", hist_rate(a, i, 1)));
    size_t n = a->hist_len;
    json_object_set_new(o, "rates", json_pack("{s:f, s:f}",
                        "messages_in_per_second", n > 1 ? hist_rate(a, n - 1, 0) : 0.0,
                        "messages_out_per_second", n > 1 ? hist_rate(a, n - 1, 1) : 0.0));
    json_object_set_new(o, "history", hist);
}

static void stats_on_sample(void *arg, redisReply *rep)
{
    struct admin *a = arg;
    a->sampling = 0;
    json_t *s = cluster_stats_parse(rep);
    if (!s)
        return;
    json_t *t = json_object_get(s, "totals");
    hist_add(a, json_integer_value(json_object_get(s, "time_ms")),
             (uint64_t)json_integer_value(json_object_get(t, "messages_in")),
             (uint64_t)json_integer_value(json_object_get(t, "messages_out")));
    json_decref(a->last_stats);
    a->last_stats = s;
}

/* ---- the kept count's sweep: a bounded step each sample ---- */

#define SWEEP_STEP "1000"   /* receivers of pg:kept looked at per step */

static void sweep_on_reply(void *arg, redisReply *rep)
{
    struct admin *a = arg;
    a->sweeping = 0;
    if (script_ok(rep, 2) && rep->element[1]->type == REDIS_REPLY_STRING &&
        rep->element[1]->len < sizeof(a->sweep_cursor))
        memcpy(a->sweep_cursor, rep->element[1]->str, rep->element[1]->len + 1);
}

static void sweep_step(struct admin *a)
{
    if (a->sweeping)
        return;
    if (!a->sweep_cursor[0])
        strcpy(a->sweep_cursor, "0");
    const char *argv[] = { KEY_KEPT, KEY_STATS, KEY_DEVICES, a->sweep_cursor, SWEEP_STEP };
    if (rconn_script(&a->redis, AS_SWEEP, sweep_on_reply, a, 3, 5, argv, NULL) == 0)
        a->sweeping = 1;
}

void stats_tick(struct admin *a, int64_t now)
{
    if (a->sampling || now - a->last_sample_ms < SAMPLE_MS)
        return;
    a->last_sample_ms = now;
    sweep_step(a);
    const char *keys[] = STATS_KEYS;
    if (rconn_script(&a->redis, AS_STATS, stats_on_sample, a, STATS_NKEYS, STATS_NKEYS, keys,
                     NULL) == 0)
        a->sampling = 1;
}

/* ---- GET /stats ---- */

struct stats_req {
    struct admin *a;
    struct evhttp_request *req;
};

static void stats_on_reply(void *arg, redisReply *rep)
{
    struct stats_req *sr = arg;
    json_t *o = cluster_stats_parse(rep);
    if (o) {
        stats_add_history(sr->a, o);
        http_send_json(sr->req, 200, o);
    } else {
        reply_error(sr->req, 503, "redis unavailable");
    }
    free(sr);
}

void stats_handle(struct evhttp_request *req, void *arg)
{
    struct admin *a = arg;
    if (!http_require_get(req) || !auth_ok(a, req))
        return;
    struct stats_req *sr = xmalloc(sizeof(*sr));
    sr->a = a;
    sr->req = req;
    const char *keys[] = STATS_KEYS;
    if (rconn_script(&a->redis, AS_STATS, stats_on_reply, sr, STATS_NKEYS, STATS_NKEYS, keys,
                     NULL) < 0) {
        free(sr);
        reply_error(req, 503, "redis unavailable");
    }
}

/* ---- GET /metrics: the last sample, Prometheus text ---- */

void metrics_handle(struct evhttp_request *req, void *arg)
{
    struct admin *a = arg;
    if (!http_require_get(req))
        return;
    struct evbuffer *out = evbuffer_new();
    json_t *t = a->last_stats ? json_object_get(a->last_stats, "totals") : NULL;
#define TOTAL(k) (unsigned long long)json_integer_value(json_object_get(t, k))
    http_metric(out, "cluster_brokers", "gauge", "Live brokers.", TOTAL("brokers"));
    http_metric(out, "cluster_connections", "gauge", "Identified device connections.",
                TOTAL("connections"));
    http_metric(out, "cluster_devices", "gauge", "Known devices (registered or identified).",
                TOTAL("devices"));
    http_metric(out, "cluster_channels", "gauge", "Channels with subscribers.",
                TOTAL("channels"));
    http_metric(out, "cluster_messages_in_total", "counter", "Messages accepted.",
                TOTAL("messages_in"));
    http_metric(out, "cluster_messages_out_total", "counter", "Message frames written.",
                TOTAL("messages_out"));
    http_metric(out, "cluster_messages_pending", "gauge",
                "Messages delivered and not finished, plus kept for API clients.",
                TOTAL("messages_pending"));
#undef TOTAL
    http_metric(out, "admin_api_requests_total", "counter", "POST /api requests.",
                a->api_requests);
    http_metric(out, "admin_api_errors_total", "counter", "POST /api requests answered 4xx/5xx.",
                a->api_errors);
    http_metric(out, "admin_redis_up", "gauge", "1 when Redis is connected and ready.",
                (unsigned long long)a->redis.ready);
    http_send_metrics(req, out);
    evbuffer_free(out);
}
