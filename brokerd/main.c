/* brokerd entry point: options, then one event loop per thread (--threads,
 * default one per core), all accepting on the same port (SO_REUSEPORT).
 * Each loop is a broker of its own in the registry and in Redis; the only
 * thing they share is the counters /stats adds up (struct broker_proc). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "broker.h"
#include "deliver_first.h"
#include "loops.h"
#include "tls.h"
#include "ws.h"
#include "xmalloc.h"

/* Loop i of a process is broker id + i * LOOP_ID_STEP: ids of different
 * processes (below LOOP_ID_STEP) never meet. */
#define LOOP_ID_STEP (1LL << 52)

/* Derives a positive id below LOOP_ID_STEP from the broadcast address
 * (FNV-1a). */
static int64_t broker_id_from(const char *addr)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = addr; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    h &= (uint64_t)LOOP_ID_STEP - 1;
    return h ? (int64_t)h : 1;
}

static struct event_base *loop_base(void *arg, int i)
{
    return ((struct broker_proc *)arg)->loops[i].base;
}

static void on_stop(void *arg)
{
    struct broker_proc *p = arg;
    loop_stop(&p->loops[0]);
    for (int i = 1; i < p->n; i++)
        loop_wake(&p->loops[i].wake);
}

/* Loop 0 bound the mesh port: the later loops join its port, and
 * /registration gives clients the broadcast address or the bound one. */
static void ws_setup_address(struct broker *b, const struct broker_conf *conf,
                             struct cfg_addr *ws, int ws_on)
{
    if (!ws_on)
        return;
    ws->port = net_bound_port(b->ws->bound);
    log_info("listening ws %s", b->ws->bound);
    snprintf(b->ws_broadcast, sizeof(b->ws_broadcast), "%s",
             conf->ws_broadcast_address && *conf->ws_broadcast_address
                 ? conf->ws_broadcast_address : b->ws->bound);
}

/* Sets up every loop; loop 0 binds first so that a port of 0 becomes one
 * real port the others share. */
static int proc_setup(struct broker_proc *p, struct broker_conf *conf)
{
    struct cfg_addr tcp = conf->tcp_address, ws = { { 0 }, 0 };
    int ws_on = conf->ws_address && *conf->ws_address;
    const char *why;
    if (ws_on && cfg_addr_parse(conf->ws_address, &ws, &why) < 0) {
        log_error("ws-address: %s", why);
        return -1;
    }
    for (int i = 0; i < p->n; i++) {
        struct broker *b = &p->loops[i];
        b->conf = *conf;
        b->proc = p;
        b->index = i;
        if (loop_setup(b, &tcp, ws_on ? &ws : NULL, net_share_of(i, p->n)) < 0)
            return -1;
        if (i == 0) {
            tcp.port = net_bound_port(b->tcp_bound);
            log_info("listening tcp %s", b->tcp_bound);
            ws_setup_address(b, conf, &ws, ws_on);
            if (conf->broadcast_address && *conf->broadcast_address)
                snprintf(b->broadcast, sizeof(b->broadcast), "%s", conf->broadcast_address);
            else
                snprintf(b->broadcast, sizeof(b->broadcast), "%s", b->tcp_bound);
        } else {
            memcpy(b->broadcast, p->loops[0].broadcast, sizeof(b->broadcast));
            memcpy(b->ws_broadcast, p->loops[0].ws_broadcast, sizeof(b->ws_broadcast));
        }
        int64_t id0 = conf->broker_id ? (int64_t)conf->broker_id : broker_id_from(b->broadcast);
        b->id = id0 + i * LOOP_ID_STEP;
    }
    char bound[CFG_HOST_MAX + 8];
    if (httpd_start(p, bound, sizeof(bound)) < 0)
        return -1;
    log_info("listening http %s", bound);
    if (!conf->secret || !*conf->secret)
        log_warn("no secret set: any client_id may IDENTIFY (see --secret)");
    if (ws_on && (!conf->service_token || !*conf->service_token))
        log_warn("no service token set: anyone may call the mesh API as a service "
                 "(see --service-token)");
    daemon_signals_start(&p->loops[0].signals, p->loops[0].base, on_stop, p);
    for (int i = 0; i < p->n; i++)
        loop_start(&p->loops[i]);
    return 0;
}

/* SPEC 2.8: TLS is offered with a certificate and its key, one context
 * for every loop. */
static int proc_tls(struct broker_proc *p, const struct broker_conf *conf)
{
    char err[512];
    int cert = conf->tls_cert != NULL, key = conf->tls_key != NULL;
    if (cert != key) {
        log_error("tls-cert and tls-key go together");
        return -1;
    }
    if (conf->tls_required && !cert) {
        log_error("tls-required needs tls-cert and tls-key");
        return -1;
    }
    if (conf->ws_tls && !cert) {
        log_error("ws-tls needs tls-cert and tls-key");
        return -1;
    }
    if (!cert)
        return 0;
    if (!(p->tls = tls_server_ctx(conf->tls_cert, conf->tls_key, err, sizeof(err)))) {
        log_error("%s", err);
        return -1;
    }
    log_info("TLS offered after IDENTIFY (%s)", conf->tls_cert);
    if (conf->ws_tls)
        log_info("the WebSocket/mesh port speaks TLS (wss://, https://)");
    return 0;
}

int main(int argc, char **argv)
{
    struct broker_conf conf;
    struct broker_proc p;
    memset(&conf, 0, sizeof(conf));
    memset(&p, 0, sizeof(p));
    int rc = daemon_configure(&broker_cfg_program, &conf, &conf.log_level, argc, argv);
    if (rc >= 0)
        return rc;
    if (proc_tls(&p, &conf) < 0) {
        cfg_free(&broker_cfg_program, &conf);
        return 1;
    }
    limits_init(&p.limits, &conf);
    p.n = loops_count(conf.threads);
    p.loops = xcalloc((size_t)p.n, sizeof(*p.loops));
    pthread_mutex_init(&p.lock, NULL);
    handoff_dir_init(&p);
    rc = 1;
    if (proc_setup(&p, &conf) == 0) {
        log_info("brokerd %s started, %d loop%s", PACKAGE_VERSION, p.n, p.n > 1 ? "s" : "");
        rc = loops_run(p.n, loop_base, on_stop, &p) == 0 ? 0 : 1;
        log_info("brokerd stopped");
    }
    http_server_free(p.http);
    for (int i = 0; i < p.n; i++)
        loop_teardown(&p.loops[i]);
    for (int i = 0; i < p.n; i++)
        handoff_free(&p.loops[i]);
    free(p.loops);
    pthread_mutex_destroy(&p.lock);
    handoff_dir_free(&p);
    SSL_CTX_free(p.tls);
    cfg_free(&broker_cfg_program, &conf);
    return rc;
}
