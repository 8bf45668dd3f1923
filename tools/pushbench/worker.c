/* A worker process: its own event loop and its share of the connections.
 * It sets them up at a bounded rate (a burst would overflow accept queues),
 * says CTL_READY, reports progress every PROGRESS_NS while running, keeps
 * the connections alive, and on CTL_STOP sends its struct pb_stats and
 * exits. The publisher worker also paces the publishes (publisher.c). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "pushbench.h"
#include "tls.h"
#include "xmalloc.h"

#define PROGRESS_NS 50000000     /* 50 ms */
#define TICK_RECV_US 5000        /* receivers: set-up pacing, progress */
/* The publisher paces every 1 ms: at 20,000/s, 20 messages leave per
 * tick. A 100 us tick (timerfd) was tried: it doubled pushbench's CPU on
 * two cores and slowed the brokers it shares them with. */
#define TICK_PUB_US 1000

/* One process cannot open more than RLIMIT_NOFILE: take the hard limit. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_warn("cannot raise the open files limit");
    }
}

static void check_ready(struct pb_worker *w)
{
    if (w->ready_sent || w->ready + w->failed < w->nconns)
        return;
    w->ready_sent = 1;
    if (ctl_send(w->ctl_out, CTL_READY, w->ready, w->failed, NULL, 0) != 0)
        _exit(1);
}

void worker_conn_ready(struct pb_worker *w)
{
    w->ready++;
    w->st.conns_ready++;
    w->st.setup_last_ns = pb_now_ns();
    check_ready(w);
}

void worker_conn_gone(struct pb_worker *w, int was_ready)
{
    if (was_ready) {
        w->st.conns_lost++;
        return;
    }
    w->failed++;
    w->st.conns_failed++;
    check_ready(w);
}

/* Starts as many connects as the rate and the window allow. Receiver
 * workers share --connect-rate and --connect-window evenly. */
static void connect_some(struct pb_worker *w, int64_t now)
{
    const struct pb_config *cfg = w->cfg;
    uint64_t share = w->publisher ? 1 : cfg->o.workers;
    uint64_t window = cfg->o.connect_window / share;
    uint64_t by_rate = w->nconns;
    const struct sockaddr *sa = (const struct sockaddr *)&cfg->target_sa;
    socklen_t salen = cfg->target_len;

    if (cfg->o.connect_rate > 0 && !w->publisher)
        by_rate = (uint64_t)((double)(now - w->start_ns) / 1e9 *
                             ((double)cfg->o.connect_rate / (double)share)) + 1;
    if (window == 0)
        window = 1;
    if (w->publisher && cfg->wl->pub == PUB_HTTP) {
        sa = (const struct sockaddr *)&cfg->put_sa;
        salen = cfg->put_len;
    } else if (w->publisher && cfg->pub_proto != cfg->proto) {
        sa = (const struct sockaddr *)&cfg->pub_sa;   /* ws fanout: a TCP device */
        salen = cfg->pub_len;
    }
    while (w->started < w->nconns && w->started < by_rate &&
           w->started - w->ready - w->failed < window) {
        struct pb_conn *c = &w->conns[w->started++];

        if (w->st.setup_first_ns == 0)
            w->st.setup_first_ns = now;
        if (pb_conn_start(c, sa, salen) != 0)
            worker_conn_gone(w, 0);
    }
}

static void send_progress(struct pb_worker *w, int64_t now)
{
    uint64_t v = w->publisher ? w->st.sent : w->st.received;

    if (now - w->last_progress_ns < PROGRESS_NS || v == w->last_progress)
        return;
    w->last_progress_ns = now;
    w->last_progress = v;
    if (ctl_send(w->ctl_out, CTL_PROGRESS, v, 0, NULL, 0) != 0)
        _exit(1);
}

static void ping_all(struct pb_worker *w, int64_t now)
{
    if (now - w->last_ping_ns < (int64_t)w->cfg->o.heartbeat * 1000000000)
        return;
    w->last_ping_ns = now;
    for (uint64_t i = 0; i < w->nconns; i++) {
        struct pb_conn *c = &w->conns[i];
        if (c->state == PC_READY && c->proto->ping != NULL)
            c->proto->ping(c);
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pb_worker *w = arg;
    int64_t now = pb_now_ns();

    (void)fd;
    (void)what;
    if (w->started < w->nconns)
        connect_some(w, now);
    if (w->going) {
        if (w->publisher)
            publisher_tick(w, now);
        send_progress(w, now);
    }
    ping_all(w, now);
}

static void ctl_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pb_worker *w = arg;
    struct pb_ctl m;

    (void)what;
    if (ctl_recv(fd, &m) != 0)
        _exit(1);   /* the parent is gone */
    switch (m.type) {
    case CTL_GO:
        w->going = 1;
        w->go_ns = pb_now_ns();
        if (w->publisher)
            publisher_tick(w, w->go_ns);
        break;
    case CTL_STOP:
        if (ctl_send(w->ctl_out, CTL_RESULT, 0, 0, &w->st, (uint32_t)sizeof(w->st)) != 0)
            _exit(1);
        event_base_loopbreak(w->base);
        break;
    default:
        log_warn("worker %d: unknown control message %u", w->index, m.type);
        break;
    }
}

/* Ids and channels: receiver i is client id-base + i on channel
 * channel-base (shared) or channel-base + i; publisher j is client
 * id-base + conns + j. */
static void worker_init_conns(struct pb_worker *w, uint64_t first)
{
    const struct pb_opts *o = &w->cfg->o;

    w->conns = xcalloc(w->nconns, sizeof(*w->conns));
    for (uint64_t i = 0; i < w->nconns; i++) {
        struct pb_conn *c = &w->conns[i];
        c->w = w;
        if (w->publisher) {
            c->proto = w->cfg->pub_proto;
            c->client_id = (int64_t)(o->id_base + o->conns + i);
        } else {
            c->proto = w->cfg->proto;
            c->client_id = (int64_t)(o->id_base + first + i);
            c->channel = (int64_t)(o->channel_base + (w->cfg->wl->shared_channel ? 0 : first + i));
        }
    }
}

void worker_main(const struct pb_config *cfg, int index, int publisher, uint64_t first,
                 uint64_t n, int ctl_in, int ctl_out)
{
    struct pb_worker *w = xcalloc(1, sizeof(*w));
    struct timeval tick = { 0, publisher ? TICK_PUB_US : TICK_RECV_US };

    prctl(PR_SET_PDEATHSIG, SIGTERM);   /* never outlive the parent */
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    w->cfg = cfg;
    w->index = index;
    w->publisher = publisher;
    w->ctl_in = ctl_in;
    w->ctl_out = ctl_out;
    w->nconns = n;
    w->rng = (cfg->mid_base ^ ((uint64_t)index << 32)) | 1;
    if (publisher) {
        w->body = xmalloc(cfg->o.size);
        payload_fill(w->body, cfg->o.size, 0);
    }
    w->gather = xmalloc(PB_GATHER_MAX);
    w->rbuf = xmalloc(PB_READ_MAX);
    if (cfg->o.tls && (w->tls_ctx = tls_client_ctx(NULL, 1, NULL, 0)) == NULL)
        _exit(1);
    worker_init_conns(w, first);
    if ((w->base = event_base_new()) == NULL)
        _exit(1);
    w->ctl_ev = event_new(w->base, ctl_in, EV_READ | EV_PERSIST, ctl_cb, w);
    w->tick_ev = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
    if (w->ctl_ev == NULL || w->tick_ev == NULL)
        _exit(1);
    event_add(w->ctl_ev, NULL);
    event_add(w->tick_ev, &tick);
    w->start_ns = w->last_ping_ns = pb_now_ns();
    connect_some(w, w->start_ns);
    check_ready(w);   /* no connections at all */
    event_base_dispatch(w->base);
    /* The sockets close with the process; the brokers see the EOFs. */
    _exit(0);
}
