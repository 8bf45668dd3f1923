/* routerd's two HTTP listeners: routes, /ping and /metrics on both. */
#include <stdio.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "httputil.h"
#include "router.h"

/* Room above max-msg-size so that a body a little too long gets our JSON
 * MsgTooLong; beyond it libevent answers 413 itself. */
#define BODY_SLACK (1024 * 1024)

int router_request_ok(struct router *r, struct evhttp_request *req, int is_put)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST)
        return 0;
    reply_send(r, req, RC_METHOD, is_put, NULL);
    return -1;
}

static void http_metrics(struct evhttp_request *req, void *arg)
{
    struct router *r = arg;
    if (!http_require_get(req))
        return;
    struct evbuffer *out = evbuffer_new();
    http_metric(out, "router_registrations_total", "counter", "Registrations answered OK.",
                r->stats.registrations);
    http_metric(out, "router_puts_total", "counter", "Pushes accepted (code 0).", r->stats.puts);
    http_metric(out, "router_errors_total", "counter", "Requests answered with an error code.",
                r->stats.errors);
    http_metric(out, "router_unavailable_total", "counter",
                "Requests answered 503 because Redis was unreachable.", r->stats.unavailable);
    http_metric(out, "router_redis_up", "gauge", "1 when Redis is connected and ready.",
                (unsigned long long)r->redis.ready);
    http_send_metrics(req, out);
    evbuffer_free(out);
}

static void http_not_found(struct evhttp_request *req, void *arg)
{
    struct router *r = arg;
    reply_send(r, req, RC_NOT_FOUND, 0, NULL);
}

static struct evhttp *router_listen(struct router *r, const char *what,
                                    const struct cfg_addr *addr, const char *path,
                                    void (*handler)(struct evhttp_request *, void *))
{
    char bound[CFG_HOST_MAX + 8];
    struct evhttp *http = http_listen(r->base, addr, bound, sizeof(bound));
    if (!http)
        return NULL;
    evhttp_set_max_body_size(http, (ev_ssize_t)(r->conf.max_msg_size + BODY_SLACK));
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                         EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_cb(http, path, handler, r);
    evhttp_set_cb(http, "/ping", http_ping, r);
    evhttp_set_cb(http, "/metrics", http_metrics, r);
    evhttp_set_gencb(http, http_not_found, r);
    log_info("listening %s %s", what, bound);
    return http;
}

int router_http_start(struct router *r)
{
    r->reg_http = router_listen(r, "registration", &r->conf.registration_address,
                                "/registration", registration_handle);
    r->put_http = router_listen(r, "put", &r->conf.put_address, "/put", put_handle);
    return r->reg_http && r->put_http ? 0 : -1;
}
