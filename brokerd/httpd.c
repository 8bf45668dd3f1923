/* brokerd's HTTP port: GET /ping, /stats (JSON) and /metrics (Prometheus). */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "broker.h"
#include "httputil.h"

static void http_stats(struct evhttp_request *req, void *arg)
{
    struct broker *b = arg;
    if (!http_require_get(req))
        return;
    json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
                          "broker_id", (json_int_t)b->id,
                          "broadcast_address", b->broadcast,
                          "uptime_seconds", (json_int_t)((now_ms() - b->started_ms) / 1000),
                          "connections", (json_int_t)b->nconns,
                          "identified", (json_int_t)b->nidentified,
                          "channels", (json_int_t)b->channels.count,
                          "messages_in", (json_int_t)b->stats.messages_in,
                          "messages_out", (json_int_t)b->stats.messages_out,
                          "messages_pending", (json_int_t)b->npending,
                          "redeliveries", (json_int_t)b->stats.redeliveries,
                          "fins", (json_int_t)b->stats.fins,
                          "redis_connected", store_ready(b));
    char *text = json_dumps(o, JSON_COMPACT);
    http_send(req, 200, "application/json", text, strlen(text));
    free(text);
    json_decref(o);
}

static void http_metrics(struct evhttp_request *req, void *arg)
{
    struct broker *b = arg;
    if (!http_require_get(req))
        return;
    struct evbuffer *out = evbuffer_new();
    http_metric(out, "broker_connections", "gauge", "Open device connections.", b->nconns);
    http_metric(out, "broker_identified_connections", "gauge", "Identified device connections.",
                b->nidentified);
    http_metric(out, "broker_channels", "gauge", "Channels with local subscribers.",
                b->channels.count);
    http_metric(out, "broker_connections_total", "counter", "Connections accepted.",
                b->stats.connections_total);
    http_metric(out, "broker_messages_in_total", "counter", "PUBs answered ACK 1.",
                b->stats.messages_in);
    http_metric(out, "broker_messages_out_total", "counter",
                "Message frames written, redeliveries included.", b->stats.messages_out);
    http_metric(out, "broker_redeliveries_total", "counter",
                "Messages sent again after msg-timeout.", b->stats.redeliveries);
    http_metric(out, "broker_fins_total", "counter", "Messages finished by devices.",
                b->stats.fins);
    http_metric(out, "broker_messages_pending", "gauge", "Messages written and not finished.",
                b->npending);
    http_metric(out, "broker_protocol_errors_total", "counter", "Error frames sent.",
                b->stats.protocol_errors);
    http_metric(out, "broker_redis_up", "gauge", "1 when Redis is connected and ready.",
                (unsigned long long)store_ready(b));
    http_send_metrics(req, out);
    evbuffer_free(out);
}

static void http_not_found(struct evhttp_request *req, void *arg)
{
    (void)arg;
    http_send(req, 404, "text/plain", "not found\n", 10);
}

int httpd_start(struct broker *b, char *bound, size_t cap)
{
    b->http = http_listen(b->base, &b->conf.http_address, bound, cap);
    if (!b->http)
        return -1;
    evhttp_set_max_body_size(b->http, 4096);
    evhttp_set_cb(b->http, "/ping", http_ping, b);
    evhttp_set_cb(b->http, "/stats", http_stats, b);
    evhttp_set_cb(b->http, "/metrics", http_metrics, b);
    evhttp_set_gencb(b->http, http_not_found, b);
    return 0;
}
