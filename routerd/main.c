/* routerd entry point: options, then one event loop per thread (--threads,
 * default one per core), each with its own listeners on the shared ports
 * (SO_REUSEPORT) and its own Redis connection, so that requests in flight
 * are spread over the loops instead of moving through one in lockstep. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "keys.h"
#include "router.h"
#include "xmalloc.h"

#define TICK_MS 100
/* A request never waits longer than this for Redis (SPEC 3: 503 at once). */
#define REDIS_REPLY_TIMEOUT_MS 800

static void router_tick(evutil_socket_t fd, short what, void *arg)
{
    struct router *r = arg;
    (void)fd; (void)what;
    rconn_tick(&r->redis);
    put_count(r);
}

/* Stops this loop (on its own thread). */
static void router_stop(void *arg)
{
    struct router *r = arg;
    if (!r->shutting_down) {
        r->shutting_down = 1;
        put_count(r);
        if (r->index == 0)
            log_info("shutting down");
    }
    event_base_loopexit(r->base, NULL);
}

/* SIGTERM/SIGINT, on loop 0: stop it and wake the others to stop. */
static void proc_stop(void *arg)
{
    struct router_proc *p = arg;
    router_stop(&p->loops[0]);
    for (int i = 1; i < p->n; i++)
        loop_wake(&p->loops[i].wake);
}

/* Through sentinels, the master may be new: its id counters go forward
 * first (lua/router_floor.lua), before any request on this connection. */
static void router_redis_ready(struct rconn *rc, void *arg)
{
    (void)arg;
    if (rc->sentinel)
        rconn_script(rc, RS_FLOOR, NULL, NULL, 2, 2,
                     (const char *[]){ KEY_NEXT_PUT_ID, KEY_NEXT_DEVICE_ID }, NULL);
}

static int router_setup(struct router *r)
{
    r->base = daemon_event_base();
    if (!r->base || loop_wake_init(&r->wake, r->base, router_stop, r) < 0 ||
        router_http_start(r) < 0)
        return -1;
    rconn_init(&r->redis, r->base, &r->conf.redis, router_script_text, RS_COUNT,
               REDIS_REPLY_TIMEOUT_MS, router_redis_ready, NULL, r);
    r->redis.min_replicas = r->conf.redis_ha.min_replicas;
    sentinel_open(&r->sentinel, r->base, &r->conf.redis_ha, &r->redis, NULL);
    rconn_start(&r->redis);
    struct timeval tv = { 0, TICK_MS * 1000 };
    r->tick_ev = event_new(r->base, -1, EV_PERSIST, router_tick, r);
    event_add(r->tick_ev, &tv);
    return 0;
}

static void router_teardown(struct router *r)
{
    /* Requests still waiting for Redis get their 503 from rconn_stop. */
    if (r->base) {
        rconn_stop(&r->redis);
        sentinel_stop(&r->sentinel);
    }
    http_server_free(r->reg_http);
    http_server_free(r->put_http);
    if (r->tick_ev)
        event_free(r->tick_ev);
    loop_wake_free(&r->wake);
    daemon_signals_free(&r->signals);
    if (r->base)
        event_base_free(r->base);
}

static struct event_base *loop_base(void *arg, int i)
{
    return ((struct router_proc *)arg)->loops[i].base;
}

/* Loop 0 first, so that a port of 0 becomes one real port the others share. */
static int proc_setup(struct router_proc *p, const struct router_conf *conf)
{
    for (int i = 0; i < p->n; i++) {
        struct router *r = &p->loops[i];
        r->conf = *conf;
        r->proc = p;
        r->index = i;
        if (router_setup(r) < 0)
            return -1;
    }
    if (!conf->secret || !*conf->secret)
        log_warn("no secret set: registration hands out no device tokens (see --secret)");
    if ((!conf->put_token || !*conf->put_token) && !cfg_addr_is_loopback(&conf->put_address))
        log_warn("no put token set: anyone who reaches %s may push (see --put-token)",
                 p->loops[0].put_bound);
    daemon_signals_start(&p->loops[0].signals, p->loops[0].base, proc_stop, p);
    return 0;
}

int main(int argc, char **argv)
{
    struct router_conf conf;
    struct router_proc p;
    memset(&conf, 0, sizeof(conf));
    memset(&p, 0, sizeof(p));
    int rc = daemon_configure(&router_cfg_program, &conf, &conf.log_level, argc, argv);
    if (rc >= 0)
        return rc;
    p.n = loops_count(conf.threads);
    p.loops = xcalloc((size_t)p.n, sizeof(*p.loops));
    rc = 1;
    if (proc_setup(&p, &conf) == 0) {
        log_info("routerd %s started, %d loop%s", PACKAGE_VERSION, p.n, p.n > 1 ? "s" : "");
        rc = loops_run(p.n, loop_base, proc_stop, &p) == 0 ? 0 : 1;
        log_info("routerd stopped");
    }
    for (int i = 0; i < p.n; i++)
        router_teardown(&p.loops[i]);
    free(p.loops);
    cfg_free(&router_cfg_program, &conf);
    return rc;
}
