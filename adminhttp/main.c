/* adminhttp entry point: options, the HTTP routes, Redis, signals, loop. */
#include "config.h"

#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "admin.h"
#include "httputil.h"

#define TICK_MS 200
#define REDIS_REPLY_TIMEOUT_MS 1000
#define MAX_BODY (1024 * 1024)

static void admin_tick(evutil_socket_t fd, short what, void *arg)
{
    struct admin *a = arg;
    (void)fd; (void)what;
    rconn_tick(&a->redis);
    stats_tick(a, now_ms());
}

static void admin_stop(void *arg)
{
    struct admin *a = arg;
    log_info("shutting down");
    event_base_loopexit(a->base, NULL);
}

static void page_handle(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path || strcmp(path, "/") != 0) {
        reply_error(req, 404, "not found");
        return;
    }
    if (http_require_get(req))
        http_send(req, 200, "text/html; charset=utf-8", dashboard_html, dashboard_html_len);
}

static int admin_setup(struct admin *a)
{
    char bound[CFG_HOST_MAX + 8];
    a->base = daemon_event_base();
    if (!a->base)
        return -1;
    a->http = http_server_new(a->base, "http", &a->conf.http_address, NET_ALONE, &a->conf.http, 1,
                              bound, sizeof(bound));
    if (!a->http)
        return -1;
    struct evhttp *h = a->http->http;
    log_info("listening http %s", bound);
    if (!a->conf.admin_token || !*a->conf.admin_token)
        log_warn("no admin token set: anyone who reaches this port may use the API");
    evhttp_set_max_body_size(h, MAX_BODY);
    evhttp_set_cb(h, "/ping", http_ping, a);
    evhttp_set_cb(h, "/metrics", metrics_handle, a);
    evhttp_set_cb(h, "/api", api_handle, a);
    evhttp_set_cb(h, "/stats", stats_handle, a);
    evhttp_set_cb(h, "/api/device", device_handle, a);
    evhttp_set_cb(h, "/api/device/disconnect", disconnect_handle, a);
    evhttp_set_cb(h, "/api/device/revoke", revoke_handle, a);
    evhttp_set_cb(h, "/api/channels", channels_handle, a);
    evhttp_set_gencb(h, page_handle, a);
    rconn_init(&a->redis, a->base, &a->conf.redis, admin_script_text, AS_COUNT,
               REDIS_REPLY_TIMEOUT_MS, NULL, NULL, a);
    a->redis.min_replicas = a->conf.redis_ha.min_replicas;
    sentinel_open(&a->sentinel, a->base, &a->conf.redis_ha, &a->redis, NULL);
    rconn_start(&a->redis);
    struct timeval tv = { 0, TICK_MS * 1000 };
    a->tick_ev = event_new(a->base, -1, EV_PERSIST, admin_tick, a);
    event_add(a->tick_ev, &tv);
    daemon_signals_start(&a->signals, a->base, admin_stop, a);
    return 0;
}

static void admin_teardown(struct admin *a)
{
    if (a->base) {
        rconn_stop(&a->redis);
        sentinel_stop(&a->sentinel);
    }
    http_server_free(a->http);
    if (a->tick_ev)
        event_free(a->tick_ev);
    daemon_signals_free(&a->signals);
    json_decref(a->last_stats);
    if (a->base)
        event_base_free(a->base);
    cfg_free(&admin_cfg_program, &a->conf);
}

int main(int argc, char **argv)
{
    struct admin a;
    memset(&a, 0, sizeof(a));
    int rc = daemon_configure(&admin_cfg_program, &a.conf, &a.conf.log_level, argc, argv);
    if (rc >= 0)
        return rc;
    rc = 1;
    if (admin_setup(&a) == 0) {
        log_info("adminhttp %s started", PACKAGE_VERSION);
        event_base_dispatch(a.base);
        rc = 0;
        log_info("adminhttp stopped");
    }
    admin_teardown(&a);
    return rc;
}
