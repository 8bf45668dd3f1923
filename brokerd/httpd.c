/* brokerd's HTTP port: GET /ping, /stats (JSON) and /metrics (Prometheus),
 * over every loop of the process. It runs on loop 0. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "broker.h"
#include "httputil.h"
#include "ws.h"

static void snapshot_fill(const struct broker *b, struct broker_snapshot *s)
{
    s->nconns = b->nconns;
    s->nidentified = b->nidentified;
    s->channels = b->channels.count;
    s->npending = b->npending;
    s->stats = b->stats;
    s->ws_clients = b->ws ? b->ws->nclients : 0;
    s->ws_services = b->ws ? b->ws->nservices : 0;
    s->ws_upgrades = b->ws ? b->ws->upgrades : 0;
    s->mesh_calls = b->ws ? b->ws->calls : 0;
}

void broker_publish_snapshot(struct broker *b)
{
    pthread_mutex_lock(&b->proc->lock);
    snapshot_fill(b, &b->snap);
    pthread_mutex_unlock(&b->proc->lock);
}

/* The sum over loops: the live numbers of self (we run on it), the
 * others' last snapshots (at most a tick old). */
static void proc_totals(struct broker_proc *p, const struct broker *self,
                        struct broker_snapshot *t)
{
    snapshot_fill(self, t);
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->n; i++) {
        if (&p->loops[i] == self)
            continue;
        const struct broker_snapshot *s = &p->loops[i].snap;
        t->ws_clients += s->ws_clients;
        t->ws_services += s->ws_services;
        t->ws_upgrades += s->ws_upgrades;
        t->mesh_calls += s->mesh_calls;
        t->nconns += s->nconns;
        t->nidentified += s->nidentified;
        t->channels += s->channels;
        t->npending += s->npending;
        t->stats.connections_total += s->stats.connections_total;
        t->stats.messages_in += s->stats.messages_in;
        t->stats.messages_out += s->stats.messages_out;
        t->stats.messages_fast += s->stats.messages_fast;
        t->stats.messages_handed += s->stats.messages_handed;
        t->stats.redeliveries += s->stats.redeliveries;
        t->stats.redeliveries_deferred += s->stats.redeliveries_deferred;
        t->stats.output_overflows += s->stats.output_overflows;
        t->stats.fins += s->stats.fins;
        t->stats.protocol_errors += s->stats.protocol_errors;
    }
    pthread_mutex_unlock(&p->lock);
}

static int proc_redis_up(const struct broker_proc *p)
{
    return store_ready(&p->loops[0]);
}

static void http_stats(struct evhttp_request *req, void *arg)
{
    struct broker_proc *p = arg;
    struct broker *b0 = &p->loops[0];
    struct broker_snapshot t;
    if (!http_require_get(req))
        return;
    proc_totals(p, &p->loops[0], &t);
    json_t *ids = json_array();
    for (int i = 0; i < p->n; i++)
        json_array_append_new(ids, json_integer(p->loops[i].id));
    json_t *o = json_pack("{s:I, s:o, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
                          "broker_id", (json_int_t)b0->id,
                          "broker_ids", ids,
                          "threads", p->n,
                          "broadcast_address", b0->broadcast,
                          "uptime_seconds", (json_int_t)((now_ms() - b0->started_ms) / 1000),
                          "connections", (json_int_t)t.nconns,
                          "identified", (json_int_t)t.nidentified,
                          "channels", (json_int_t)t.channels,
                          "messages_in", (json_int_t)t.stats.messages_in,
                          "messages_out", (json_int_t)t.stats.messages_out,
                          "messages_pending", (json_int_t)t.npending,
                          "redeliveries", (json_int_t)t.stats.redeliveries,
                          "fins", (json_int_t)t.stats.fins,
                          "redis_connected", proc_redis_up(p));
    http_send_json(req, 200, o);
}

void broker_metrics(struct broker *b, struct evbuffer *out)
{
    struct broker_proc *p = b->proc;
    struct broker_snapshot t;
    proc_totals(p, b, &t);
    http_metric(out, "broker_connections", "gauge", "Open device connections.", t.nconns);
    http_metric(out, "broker_identified_connections", "gauge", "Identified device connections.",
                t.nidentified);
    http_metric(out, "broker_channels", "gauge", "Channels with local subscribers.",
                t.channels);
    http_metric(out, "broker_connections_total", "counter", "Connections accepted.",
                t.stats.connections_total);
    http_metric(out, "broker_messages_in_total", "counter", "PUBs answered ACK 1.",
                t.stats.messages_in);
    http_metric(out, "broker_messages_out_total", "counter",
                "Message frames written, redeliveries included.", t.stats.messages_out);
    http_metric(out, "broker_messages_fast_total", "counter",
                "PUBs written to their device before Redis confirmed them.",
                t.stats.messages_fast);
    http_metric(out, "broker_messages_handed_total", "counter",
                "PUBs handed to the sibling loop that holds their device, to write first.",
                t.stats.messages_handed);
    http_metric(out, "broker_redeliveries_total", "counter",
                "Messages sent again after msg-timeout.", t.stats.redeliveries);
    http_metric(out, "broker_redeliveries_deferred_total", "counter",
                "Redeliveries put off: the client's output was not being read.",
                t.stats.redeliveries_deferred);
    http_metric(out, "broker_output_overflow_closes_total", "counter",
                "Clients closed with more than max-output-bytes of output waiting.",
                t.stats.output_overflows);
    http_metric(out, "broker_fins_total", "counter", "Messages finished by devices.",
                t.stats.fins);
    http_metric(out, "broker_messages_pending", "gauge", "Messages written and not finished.",
                t.npending);
    http_metric(out, "broker_protocol_errors_total", "counter", "Error frames sent.",
                t.stats.protocol_errors);
    http_metric(out, "broker_redis_up", "gauge", "1 when Redis is connected and ready.",
                (unsigned long long)proc_redis_up(p));
    http_metric(out, "broker_threads", "gauge", "Event loops.", (unsigned long long)p->n);
    http_metric(out, "broker_ws_clients", "gauge", "WebSocket client connections.",
                t.ws_clients);
    http_metric(out, "broker_ws_services", "gauge", "Mesh service connections.",
                t.ws_services);
    http_metric(out, "broker_ws_upgrades_total", "counter", "WebSocket upgrades accepted.",
                t.ws_upgrades);
    http_metric(out, "broker_mesh_calls_total", "counter", "Mesh API calls received.",
                t.mesh_calls);
}

static void http_metrics(struct evhttp_request *req, void *arg)
{
    struct broker_proc *p = arg;
    if (!http_require_get(req))
        return;
    struct evbuffer *out = evbuffer_new();
    broker_metrics(&p->loops[0], out);
    http_send_metrics(req, out);
    evbuffer_free(out);
}

static void http_not_found(struct evhttp_request *req, void *arg)
{
    (void)arg;
    http_send(req, 404, "text/plain", "not found\n", 10);
}

int httpd_start(struct broker_proc *p, char *bound, size_t cap)
{
    struct broker *b0 = &p->loops[0];
    p->http = http_server_new(b0->base, "http", &b0->conf.http_address, NET_ALONE,
                              &b0->conf.http, 1, bound, cap);
    if (!p->http)
        return -1;
    struct evhttp *h = p->http->http;
    evhttp_set_max_body_size(h, 4096);
    evhttp_set_cb(h, "/ping", http_ping, p);
    evhttp_set_cb(h, "/stats", http_stats, p);
    evhttp_set_cb(h, "/metrics", http_metrics, p);
    evhttp_set_gencb(h, http_not_found, p);
    return 0;
}
