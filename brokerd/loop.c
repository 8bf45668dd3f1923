/* One event loop's life: its listener (SO_REUSEPORT when the process runs
 * several), its Redis connections, its tick, and a clean stop. Everything
 * it touches hangs off its own struct broker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "broker.h"
#include "deliver_first.h"
#include "net.h"
#include "ws.h"
#include "xmalloc.h"

#define TICK_MS 100
#define LOOP_PRIORITIES 3
/* After SIGTERM, devices get this long to take what was written to them and
 * close; then the rest is closed and the loop exits (Redis permitting:
 * its last writes, the devices' cursors, are waited for as long). */
#define STOP_DRAIN_MS 2000

/* Device connections of the whole process: each loop's count is atomic,
 * so any loop may add them up. */
static uint64_t proc_conns(const struct broker_proc *p)
{
    uint64_t n = 0;
    for (int i = 0; i < p->n; i++)
        n += p->loops[i].nconns;
    return n;
}

int loop_full(const struct broker *b)
{
    return proc_conns(b->proc) >= b->conf.max_connections;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct broker *b = arg;
    (void)l; (void)sa; (void)salen;
    listener_accepted(&b->listener);
    /* Past --max-connections a device is closed at once, not left waiting
     * in the backlog: it learns now that this broker is full, and its
     * reconnect backoff spaces out its next try. */
    if (loop_full(b)) {
        unsigned quiet;
        if (ratelog_due(&b->listener.log, &quiet))
            log_warn("%s: %llu connections, the most allowed (--max-connections): closing new "
                     "ones (%u more not logged)", b->listener.name,
                     (unsigned long long)b->conf.max_connections, quiet);
        evutil_closesocket(fd);
        return;
    }
    if (!limits_accept(&b->proc->limits)) {  /* SPEC 5.4: over accept_per_s */
        unsigned quiet;
        if (ratelog_due(&b->listener.log, &quiet))
            log_warn("%s: over accept_per_s: closing new connections (%u more not logged)",
                     b->listener.name, quiet);
        evutil_closesocket(fd);
        return;
    }
    tcp_accept(b, fd);
}

static void loop_tick(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd; (void)what;
    int64_t mono = mono_ms();
    int drained = b->stopping && mono >= b->stop_deadline_ms;
    if (drained)
        while (b->conns)
            session_close(b->conns);  /* unlinks it */
    session_tick(b, mono);
    store_tick(b, mono);
    handoff_tick(b, mono);
    pub_barrier_tick(b, mono);
    session_free_dead(b);
    broker_publish_snapshot(b);
    if (b->stopping && b->nconns == 0 &&
        (b->store.cmd.in_flight == 0 || drained || !b->store.cmd.ac))
        event_base_loopbreak(b->base);
}

void loop_stop(struct broker *b)
{
    if (b->stopping)
        return;
    log_info("loop %d shutting down: draining %u connections", b->index, b->nconns);
    b->stopping = 1;
    b->stop_deadline_ms = mono_ms() + STOP_DRAIN_MS;
    store_leave(b);  /* first, so that routerd sends no more devices here */
    listener_free(&b->listener, 1);
    ws_loop_stop(b);
    /* Each connection flushes what it was sent, then closes (session_finish):
     * a frame already written is not cut off. */
    for (struct session *c = b->conns, *next; c; c = next) {
        next = c->next;
        session_finish(c);
    }
}

/* Another thread asks this loop to stop (loop_wake). */
static void loop_stop_cb(void *arg)
{
    loop_stop(arg);
}

void loop_redis_ready(struct broker *b)
{
    if (b->listener.lev && !b->stopping)
        listener_want(&b->listener, 1);
    if (!b->stopping)
        ws_loop_want(b, 1);
}

int loop_listen(struct broker *b, struct listener *l, const struct cfg_addr *addr,
                enum net_share share, const char *what, char *bound, size_t cap,
                evconnlistener_cb cb)
{
    evutil_socket_t fd = net_listen(addr, share, bound, cap);
    if (fd < 0)
        return -1;
    /* Accepting starts once Redis is first ready (loop_redis_ready): until
     * then connections wait in the kernel's backlog. */
    char name[CFG_HOST_MAX + 16];
    snprintf(name, sizeof(name), "%s %s", what, bound);
    return listener_init(l, b->base, fd, name, cb, b);
}

int loop_setup(struct broker *b, const struct cfg_addr *tcp, const struct cfg_addr *ws,
               enum net_share share)
{
    b->base = daemon_event_base();
    /* Three queues: everything runs at the middle one (libevent's default),
     * but the tick at the last. After a pass that took long, the input that
     * came meanwhile is read before the tick judges heartbeats: an H sitting
     * unread in a socket must not count as silence. */
    if (!b->base || event_base_priority_init(b->base, LOOP_PRIORITIES) < 0 ||
        loop_wake_init(&b->wake, b->base, loop_stop_cb, b) < 0)
        return -1;
    b->started_ms = now_ms();
    /* Seeded by the clock: a broker restarted with the same id never reuses a
     * token its last run left in Redis. */
    b->next_nonce = (uint64_t)b->started_ms << 10;
    TAILQ_INIT(&b->due);
    pending_pool_init(b);
    imap_init(&b->clients);
    imap_init(&b->identifying);
    imap_init(&b->channels);
    imap_init(&b->names);
    if (loop_listen(b, &b->listener, tcp, share, "tcp", b->tcp_bound, sizeof(b->tcp_bound),
                    on_accept) < 0 ||
        ws_loop_setup(b, ws, share) < 0)
        return -1;
    struct timeval tv = { 0, TICK_MS * 1000 };
    b->tick_ev = event_new(b->base, -1, EV_PERSIST, loop_tick, b);
    event_priority_set(b->tick_ev, LOOP_PRIORITIES - 1);
    event_add(b->tick_ev, &tv);
    return deliver_batch_init(b) < 0 || output_init(b) < 0 || catch_up_init(b) < 0 ||
                   queue_init(b) < 0 || pub_fast_init(b) < 0 || handoff_init(b) < 0 ? -1 : 0;
}

void loop_start(struct broker *b)
{
    log_info("loop %d: broker id %lld, broadcast address %s", b->index, (long long)b->id,
             b->broadcast);
    store_init(b);
}

void loop_teardown(struct broker *b)
{
    store_shutdown(b);  /* runs the callbacks still holding connections */
    bcast_free(b);
    output_free(b);
    catch_up_free(b);
    session_free_dead(b);
    ws_loop_free(b);
    queue_free(b);               /* after the services that pop */
    listener_free(&b->listener, 1);
    deliver_batch_free(b);
    if (b->tick_ev)
        event_free(b->tick_ev);
    loop_wake_free(&b->wake);
    daemon_signals_free(&b->signals);
    channel_index_free(b);
    pub_fast_free(b);
    pub_barrier_free(b);
    handoff_stop(b);
    imap_free(&b->clients);
    imap_free(&b->identifying);
    pending_pool_free(b);
    if (b->base)
        event_base_free(b->base);
}
