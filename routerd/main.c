/* routerd entry point: options, listeners, Redis, signals, the loop. */
#include "config.h"

#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "router.h"

#define TICK_MS 100
/* A request never waits longer than this for Redis (SPEC 3: 503 at once). */
#define REDIS_REPLY_TIMEOUT_MS 800

static void router_tick(evutil_socket_t fd, short what, void *arg)
{
    struct router *r = arg;
    (void)fd; (void)what;
    rconn_tick(&r->redis, now_ms());
}

static void router_stop(void *arg)
{
    struct router *r = arg;
    if (!r->shutting_down) {
        r->shutting_down = 1;
        log_info("shutting down");
    }
    event_base_loopexit(r->base, NULL);
}

static int router_setup(struct router *r)
{
    r->base = daemon_event_base();
    if (!r->base || router_http_start(r) < 0)
        return -1;
    if (!r->conf.secret || !*r->conf.secret)
        log_warn("no secret set: registration hands out no device tokens (see --secret)");
    rconn_init(&r->redis, r->base, &r->conf.redis, router_script_text, RS_COUNT,
               REDIS_REPLY_TIMEOUT_MS, NULL, NULL, r);
    rconn_start(&r->redis);
    struct timeval tv = { 0, TICK_MS * 1000 };
    r->tick_ev = event_new(r->base, -1, EV_PERSIST, router_tick, r);
    event_add(r->tick_ev, &tv);
    daemon_signals_start(&r->signals, r->base, router_stop, r);
    return 0;
}

static void router_teardown(struct router *r)
{
    /* Requests still waiting for Redis get their 503 from rconn_stop. */
    if (r->base)
        rconn_stop(&r->redis);
    if (r->reg_http)
        evhttp_free(r->reg_http);
    if (r->put_http)
        evhttp_free(r->put_http);
    if (r->tick_ev)
        event_free(r->tick_ev);
    daemon_signals_free(&r->signals);
    if (r->base)
        event_base_free(r->base);
    cfg_free(&router_cfg_program, &r->conf);
}

int main(int argc, char **argv)
{
    struct router r;
    memset(&r, 0, sizeof(r));
    int rc = daemon_configure(&router_cfg_program, &r.conf, &r.conf.log_level, argc, argv);
    if (rc >= 0)
        return rc;
    rc = 1;
    if (router_setup(&r) == 0) {
        log_info("routerd %s started", PACKAGE_VERSION);
        event_base_dispatch(r.base);
        rc = 0;
        log_info("routerd stopped");
    }
    router_teardown(&r);
    return rc;
}
