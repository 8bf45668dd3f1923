/* brokerd entry point: configuration, listeners, signals, the loop. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "broker.h"
#include "daemon.h"
#include "net.h"
#include "xmalloc.h"

#define TICK_MS 100

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)l; (void)sa; (void)salen;
    conn_accept(arg, fd);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l; (void)arg;
    /* EMFILE and friends: log and go on; the listener stays enabled. */
    log_warn("accept failed: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void broker_tick(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd; (void)what;
    int64_t now = now_ms();
    conn_tick(b, now);
    store_tick(b, now);
    conn_free_dead(b);
    if (b->shutting_down && b->nconns == 0 &&
        (b->store.cmd.in_flight == 0 || now - b->shutting_down > 2000 || !b->store.cmd.ac))
        event_base_loopbreak(b->base);
}

static void broker_stop(struct broker *b)
{
    if (b->shutting_down)
        return;
    log_info("shutting down: closing %u connections", b->nconns);
    b->shutting_down = now_ms();
    store_leave(b);  /* first, so that routerd sends no more devices here */
    if (b->listener) {
        evconnlistener_free(b->listener);
        b->listener = NULL;
    }
    while (b->conns)
        conn_close(b->conns);  /* unlinks it */
}

void broker_redis_ready(struct broker *b)
{
    if (b->listener && !b->shutting_down)
        evconnlistener_enable(b->listener);
}

static void on_stop(void *arg)
{
    broker_stop(arg);
}

/* Derives a positive id from the broadcast address (FNV-1a, 62 bits). */
static int64_t broker_id_from(const char *addr)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = addr; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    h &= 0x3fffffffffffffffULL;
    return h ? (int64_t)h : 1;
}

static int broker_listen(struct broker *b)
{
    evutil_socket_t fd = net_listen(&b->conf.tcp_address, b->tcp_bound, sizeof(b->tcp_bound));
    if (fd < 0)
        return -1;
    /* Accepting starts once Redis is first ready (broker_redis_ready): until
     * then connections wait in the kernel's backlog. */
    b->listener = evconnlistener_new(b->base, on_accept, b,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
                                         LEV_OPT_DISABLED, -1, fd);
    if (!b->listener) {
        evutil_closesocket(fd);
        log_error("cannot listen on %s", b->tcp_bound);
        return -1;
    }
    evconnlistener_set_error_cb(b->listener, on_accept_error);
    log_info("listening tcp %s", b->tcp_bound);
    return 0;
}

static int broker_setup(struct broker *b)
{
    b->base = event_base_new();
    if (!b->base)
        return -1;
    b->started_ms = now_ms();
    b->next_nonce = ((uint64_t)b->started_ms << 16) ^ (uint64_t)getpid();
    imap_init(&b->clients);
    imap_init(&b->channels);
    if (broker_listen(b) < 0)
        return -1;
    if (b->conf.broadcast_address && *b->conf.broadcast_address)
        snprintf(b->broadcast, sizeof(b->broadcast), "%s", b->conf.broadcast_address);
    else
        snprintf(b->broadcast, sizeof(b->broadcast), "%s", b->tcp_bound);
    b->id = b->conf.broker_id ? (int64_t)b->conf.broker_id : broker_id_from(b->broadcast);
    char bound[CFG_HOST_MAX + 8];
    if (httpd_start(b, bound, sizeof(bound)) < 0)
        return -1;
    log_info("listening http %s", bound);
    log_info("broker id %lld, broadcast address %s", (long long)b->id, b->broadcast);
    if (!b->conf.secret || !*b->conf.secret)
        log_warn("no secret set: any client_id may IDENTIFY (see --secret)");

    struct timeval tv = { 0, TICK_MS * 1000 };
    b->tick_ev = event_new(b->base, -1, EV_PERSIST, broker_tick, b);
    event_add(b->tick_ev, &tv);
    daemon_signals_start(&b->signals, b->base, on_stop, b);
    store_init(b);
    return 0;
}

static void broker_teardown(struct broker *b)
{
    store_shutdown(b);  /* runs the callbacks still holding connections */
    conn_free_dead(b);
    if (b->listener)
        evconnlistener_free(b->listener);
    if (b->http)
        evhttp_free(b->http);
    if (b->tick_ev)
        event_free(b->tick_ev);
    daemon_signals_free(&b->signals);
    for (size_t i = 0; i < b->channels.cap; i++)
        if (b->channels.slots[i].key) {
            struct channel *ch = b->channels.slots[i].val;
            free(ch->conns);
            free(ch);
        }
    imap_free(&b->clients);
    imap_free(&b->channels);
    if (b->base)
        event_base_free(b->base);
    cfg_free(&broker_cfg_program, &b->conf);
}

int main(int argc, char **argv)
{
    struct broker b;
    memset(&b, 0, sizeof(b));
    int rc = daemon_configure(&broker_cfg_program, &b.conf, &b.conf.log_level, argc, argv);
    if (rc >= 0)
        return rc;
    rc = 1;
    if (broker_setup(&b) == 0) {
        log_info("brokerd %s started", PACKAGE_VERSION);
        event_base_dispatch(b.base);
        rc = 0;
        log_info("brokerd stopped");
    }
    broker_teardown(&b);
    return rc;
}
