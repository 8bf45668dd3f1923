/* brokerd's HTTP port: GET /ping, /stats (JSON) and /metrics (Prometheus). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "broker.h"
#include "net.h"

static void http_reply(struct evhttp_request *req, int code, const char *type,
                       struct evbuffer *body)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", body);
}

static int http_get_only(struct evhttp_request *req)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET)
        return 1;
    struct evbuffer *out = evbuffer_new();
    evbuffer_add_printf(out, "method not allowed\n");
    http_reply(req, 405, "text/plain", out);
    evbuffer_free(out);
    return 0;
}

static void http_ping(struct evhttp_request *req, void *arg)
{
    (void)arg;
    if (!http_get_only(req))
        return;
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, "OK", 2);
    http_reply(req, 200, "text/plain", out);
    evbuffer_free(out);
}

static void http_stats(struct evhttp_request *req, void *arg)
{
    struct broker *b = arg;
    if (!http_get_only(req))
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
    struct evbuffer *out = evbuffer_new();
    evbuffer_add_printf(out, "%s\n", text);
    http_reply(req, 200, "application/json", out);
    evbuffer_free(out);
    free(text);
    json_decref(o);
}

static void metric(struct evbuffer *out, const char *name, const char *type, const char *help,
                   unsigned long long value)
{
    evbuffer_add_printf(out, "# HELP pushgate_%s %s\n# TYPE pushgate_%s %s\npushgate_%s %llu\n",
                        name, help, name, type, name, value);
}

static void http_metrics(struct evhttp_request *req, void *arg)
{
    struct broker *b = arg;
    if (!http_get_only(req))
        return;
    struct evbuffer *out = evbuffer_new();
    metric(out, "broker_connections", "gauge", "Open device connections.", b->nconns);
    metric(out, "broker_identified_connections", "gauge", "Identified device connections.",
           b->nidentified);
    metric(out, "broker_channels", "gauge", "Channels with local subscribers.",
           b->channels.count);
    metric(out, "broker_connections_total", "counter", "Connections accepted.",
           b->stats.connections_total);
    metric(out, "broker_messages_in_total", "counter", "PUBs answered ACK 1.",
           b->stats.messages_in);
    metric(out, "broker_messages_out_total", "counter",
           "Message frames written, redeliveries included.", b->stats.messages_out);
    metric(out, "broker_redeliveries_total", "counter", "Messages sent again after msg-timeout.",
           b->stats.redeliveries);
    metric(out, "broker_fins_total", "counter", "Messages finished by devices.", b->stats.fins);
    metric(out, "broker_messages_pending", "gauge", "Messages written and not finished.",
           b->npending);
    metric(out, "broker_protocol_errors_total", "counter", "Error frames sent.",
           b->stats.protocol_errors);
    metric(out, "broker_redis_up", "gauge", "1 when Redis is connected and ready.",
           (unsigned long long)store_ready(b));
    http_reply(req, 200, "text/plain; version=0.0.4", out);
    evbuffer_free(out);
}

static void http_not_found(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evbuffer *out = evbuffer_new();
    evbuffer_add_printf(out, "not found\n");
    http_reply(req, 404, "text/plain", out);
    evbuffer_free(out);
}

int httpd_start(struct broker *b, char *bound, size_t cap)
{
    evutil_socket_t fd = net_listen(&b->conf.http_address, bound, cap);
    if (fd < 0)
        return -1;
    b->http = evhttp_new(b->base);
    if (!b->http || !evhttp_accept_socket_with_handle(b->http, fd)) {
        evutil_closesocket(fd);
        return -1;
    }
    evhttp_set_timeout(b->http, 10);
    evhttp_set_max_body_size(b->http, 4096);
    evhttp_set_cb(b->http, "/ping", http_ping, b);
    evhttp_set_cb(b->http, "/stats", http_stats, b);
    evhttp_set_cb(b->http, "/metrics", http_metrics, b);
    evhttp_set_gencb(b->http, http_not_found, b);
    return 0;
}
