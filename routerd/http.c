/* routerd's two HTTP listeners: routes, /ping and /metrics on both. */
#include <stdio.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "httputil.h"
#include "router.h"

/* Room above max-msg-size so that a body a little too long gets our JSON
 * MsgTooLong; beyond it libevent answers 413 itself. */
#define BODY_SLACK (1024 * 1024)

static void http_metrics(struct evhttp_request *req, void *arg)
{
    struct router *r = arg;
    if (!http_require_get(req))
        return;
    unsigned long long reg = 0, puts = 0, errors = 0, unavailable = 0;
    for (int i = 0; i < r->proc->n; i++) {
        struct router *l = &r->proc->loops[i];
        reg += l->stats.registrations;
        puts += l->stats.puts;
        errors += l->stats.errors;
        unavailable += l->stats.unavailable;
    }
    /* Each loop has its own Redis connection: this one answered. */
    unsigned long long up = (unsigned long long)r->redis.ready;
    struct evbuffer *out = evbuffer_new();
    http_metric(out, "router_registrations_total", "counter", "Registrations answered OK.", reg);
    http_metric(out, "router_puts_total", "counter", "Pushes accepted (code 0).", puts);
    http_metric(out, "router_errors_total", "counter", "Requests answered with an error code.",
                errors);
    http_metric(out, "router_unavailable_total", "counter",
                "Requests answered 503 because Redis was unreachable.", unavailable);
    http_metric(out, "router_redis_up", "gauge",
                "1 when the Redis connection of the loop that answered is ready.", up);
    http_send_metrics(req, out);
    evbuffer_free(out);
}

static void http_not_found(struct evhttp_request *req, void *arg)
{
    struct router *r = arg;
    reply_send(r, req, RC_NOT_FOUND, 0, NULL);
}

/* Loop 0 binds addr (port 0: any) into bound; the others bind the port
 * loop 0 got, which first_bound holds. */
static struct http_server *router_listen(struct router *r, const char *what,
                                         const struct cfg_addr *addr, char *bound,
                                         const char *first_bound, const char *path,
                                         void (*handler)(struct evhttp_request *, void *))
{
    struct cfg_addr a = *addr;
    if (r->index > 0)
        a.port = net_bound_port(first_bound);
    struct http_server *s = http_server_new(r->base, what, &a,
                                            net_share_of(r->index, r->proc->n), &r->conf.http,
                                            r->proc->n, bound, CFG_HOST_MAX + 8);
    if (!s)
        return NULL;
    struct evhttp *http = s->http;
    evhttp_set_max_body_size(http, (ev_ssize_t)(r->conf.max_msg_size + BODY_SLACK));
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                         EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_cb(http, path, handler, r);
    evhttp_set_cb(http, "/ping", http_ping, r);
    evhttp_set_cb(http, "/metrics", http_metrics, r);
    evhttp_set_gencb(http, http_not_found, r);
    if (r->index == 0)
        log_info("listening %s %s", what, bound);
    return s;
}

int router_http_start(struct router *r)
{
    struct router *first = &r->proc->loops[0];
    r->reg_http = router_listen(r, "registration", &r->conf.registration_address, r->reg_bound,
                                first->reg_bound, "/registration", registration_handle);
    r->put_http = router_listen(r, "put", &r->conf.put_address, r->put_bound, first->put_bound,
                                "/put", put_handle);
    return r->reg_http && r->put_http ? 0 : -1;
}
