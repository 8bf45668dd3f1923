/* The parent process: forks the workers, walks them through the phases and
 * adds up what they measured. It opens no connection itself.
 *   SETUP   workers connect; each says CTL_READY when all its connections
 *           are set up (or failed)
 *   SETTLE  idle only: wait --settle-ms, then sample memory
 *   RUN     CTL_GO to all; the publisher sends, receivers report progress;
 *           done when the deliveries expected from the accepted messages
 *           are in, or nothing moved for --timeout seconds
 *   COLLECT CTL_STOP to all; each answers with its struct pb_stats
 * /proc is sampled before the workers start, at GO and at the end. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "pushbench.h"
#include "xmalloc.h"

#define COORD_TICK_US 10000
#define COLLECT_NS 10000000000LL   /* workers have 10 s to send results */

enum phase { PH_SETUP, PH_SETTLE, PH_RUN, PH_COLLECT };

struct coord;

/* A worker as the parent sees it. */
struct cw {
    struct coord *co;
    pid_t pid;
    int to, from;                /* the parent's ends of the two pipes */
    int publisher;
    struct event *ev;
    struct evbuffer *in;
    int ready, result, eof;
    uint64_t ready_n, failed_n, progress;
    struct pb_stats st;
};

struct coord {
    struct pb_config cfg;        /* o.workers: receiver workers started */
    struct event_base *base;
    struct cw *w;
    int nw;
    enum phase phase;
    struct event *timer;
    int64_t deadline_ns, last_change_ns;
    uint64_t last_total;
    int pub_done, error;
    struct pb_run run;
};

void stats_merge(struct pb_stats *dst, const struct pb_stats *src)
{
    dst->conns_ready += src->conns_ready;
    dst->conns_failed += src->conns_failed;
    dst->conns_lost += src->conns_lost;
    dst->sent += src->sent;
    dst->accepted += src->accepted;
    dst->refused += src->refused;
    dst->received += src->received;
    dst->bad_payloads += src->bad_payloads;
    dst->errors += src->errors;
#define FIRST(f) if (src->f != 0 && (dst->f == 0 || src->f < dst->f)) dst->f = src->f
#define LAST(f) if (src->f > dst->f) dst->f = src->f
    FIRST(setup_first_ns);
    LAST(setup_last_ns);
    FIRST(send_first_ns);
    LAST(send_last_ns);
    LAST(ack_last_ns);
    FIRST(recv_first_ns);
    LAST(recv_last_ns);
#undef FIRST
#undef LAST
    hist_merge(&dst->latency, &src->latency);
    hist_merge(&dst->request, &src->request);
}

static void sample(struct coord *co, struct pb_sample *s)
{
    const struct pb_opts *o = &co->cfg.o;
    uint64_t v;

    memset(s, 0, sizeof(*s));
    s->t_ns = pb_now_ns();
    if (o->broker_pid != 0) {
        proc_cpu_ns((pid_t)o->broker_pid, &s->broker_cpu_ns);
        proc_rss_bytes((pid_t)o->broker_pid, &s->broker_rss);
    }
    if (o->aux_pid != 0) {
        proc_cpu_ns((pid_t)o->aux_pid, &s->aux_cpu_ns);
        proc_rss_bytes((pid_t)o->aux_pid, &s->aux_rss);
    }
    for (int i = 0; i < co->nw; i++)
        if (!co->w[i].eof && proc_cpu_ns(co->w[i].pid, &v) == 0)
            s->bench_cpu_ns += v;
    proc_tcp_mem_bytes(&s->tcp_mem);
}

static uint64_t receivers_ready(const struct coord *co)
{
    uint64_t n = 0;

    for (int i = 0; i < co->nw; i++)
        if (!co->w[i].publisher)
            n += co->w[i].ready_n;
    return n;
}

static void send_all(struct coord *co, enum pb_ctl_type type)
{
    for (int i = 0; i < co->nw; i++)
        if (!co->w[i].eof && ctl_send(co->w[i].to, type, 0, 0, NULL, 0) != 0)
            co->w[i].eof = 1;
}

static void stop_all(struct coord *co)
{
    if (co->phase == PH_COLLECT)
        return;
    if (co->run.end.t_ns == 0)
        sample(co, &co->run.end);
    co->phase = PH_COLLECT;
    co->deadline_ns = pb_now_ns() + COLLECT_NS;
    send_all(co, CTL_STOP);
}

static void check_setup(struct coord *co)
{
    int64_t now = pb_now_ns();

    for (int i = 0; i < co->nw; i++)
        if (!co->w[i].ready)
            return;
    sample(co, &co->run.ready);
    co->last_change_ns = now;
    if (co->cfg.wl->pub == PUB_NONE) {
        co->phase = PH_SETTLE;
        co->deadline_ns = now + (int64_t)co->cfg.o.settle_ms * 1000000;
        return;
    }
    co->phase = PH_RUN;
    send_all(co, CTL_GO);
}

static void check_run(struct coord *co)
{
    uint64_t total = 0;
    int64_t now = pb_now_ns();

    for (int i = 0; i < co->nw; i++)
        total += co->w[i].progress;
    if (total != co->last_total) {
        co->last_total = total;
        co->last_change_ns = now;
    }
    if (co->pub_done) {
        uint64_t received = 0;
        for (int i = 0; i < co->nw; i++)
            if (!co->w[i].publisher)
                received += co->w[i].progress;
        if (received >= co->run.expected) {
            stop_all(co);
            return;
        }
    }
    if (now - co->last_change_ns > (int64_t)co->cfg.o.timeout * 1000000000) {
        log_warn("nothing moved for %llu s: giving up",
                 (unsigned long long)co->cfg.o.timeout);
        co->run.timed_out = 1;
        stop_all(co);
    }
}

static void check_collect(struct coord *co)
{
    for (int i = 0; i < co->nw; i++)
        if (!co->w[i].result && !co->w[i].eof)
            return;
    event_base_loopbreak(co->base);
}

static void on_ctl(struct coord *co, struct cw *w, const struct pb_ctl *m, const void *payload)
{
    switch (m->type) {
    case CTL_READY:
        w->ready = 1;
        w->ready_n = m->a;
        w->failed_n = m->b;
        if (co->phase == PH_SETUP)
            check_setup(co);
        break;
    case CTL_PROGRESS:
        w->progress = m->a;
        break;
    case CTL_SENT:
        w->progress = m->a;
        co->pub_done = 1;
        co->run.expected = co->cfg.wl->fanout(receivers_ready(co)) * m->b;
        break;
    case CTL_RESULT:
        if (m->len == sizeof(w->st)) {
            memcpy(&w->st, payload, sizeof(w->st));
            w->result = 1;
        }
        break;
    default:
        break;
    }
    if (co->phase == PH_RUN)
        check_run(co);
    else if (co->phase == PH_COLLECT)
        check_collect(co);
}

/* Hands the complete messages of every worker to on_ctl. */
static void drain_msgs(struct coord *co)
{
    for (int i = 0; i < co->nw; i++) {
        struct cw *w = &co->w[i];
        struct pb_ctl m;

        while (evbuffer_get_length(w->in) >= sizeof(m)) {
            evbuffer_copyout(w->in, &m, sizeof(m));
            if (evbuffer_get_length(w->in) < sizeof(m) + m.len)
                break;
            evbuffer_drain(w->in, sizeof(m));
            on_ctl(co, w, &m, evbuffer_pullup(w->in, m.len));
            evbuffer_drain(w->in, m.len);
        }
    }
}

static void handle_eof(struct coord *co)
{
    for (int i = 0; i < co->nw; i++) {
        struct cw *w = &co->w[i];
        if (w->eof && !w->result && co->phase != PH_COLLECT) {
            log_error("worker %d (pid %d) ended early", i, (int)w->pid);
            co->error = 1;
            stop_all(co);
        }
    }
    if (co->phase == PH_COLLECT)
        check_collect(co);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cw *w = arg;
    int n;

    (void)what;
    n = evbuffer_read(w->in, fd, 65536);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        w->eof = 1;
        event_del(w->ev);
    }
    drain_msgs(w->co);
    handle_eof(w->co);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct coord *co = arg;
    int64_t now = pb_now_ns();

    (void)fd;
    (void)what;
    drain_msgs(co);
    handle_eof(co);
    switch (co->phase) {
    case PH_SETUP:
        if (now > co->deadline_ns) {
            log_error("set-up not done within %llu s", (unsigned long long)co->cfg.o.timeout);
            co->run.timed_out = 1;
            stop_all(co);
        }
        break;
    case PH_SETTLE:
        if (now >= co->deadline_ns)
            stop_all(co);
        break;
    case PH_RUN:
        check_run(co);
        break;
    case PH_COLLECT:
        if (now > co->deadline_ns) {
            log_error("workers did not send their results in time");
            co->error = 1;
            event_base_loopbreak(co->base);
        }
        break;
    }
}

/* Forks worker i; receivers get [first, first + n). 0, or -1. */
static int spawn(struct coord *co, int i, int publisher, uint64_t first, uint64_t n)
{
    int down[2], up[2];
    struct cw *w = &co->w[i];
    pid_t pid;

    if (pipe(down) != 0 || pipe(up) != 0) {
        log_error("pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) < 0) {
        log_error("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        for (int k = 0; k < i; k++) {   /* the other workers' pipes are not ours */
            close(co->w[k].to);
            close(co->w[k].from);
        }
        close(down[1]);
        close(up[0]);
        worker_main(&co->cfg, i, publisher, first, n, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    w->co = co;
    w->pid = pid;
    w->to = down[1];
    w->from = up[0];
    w->publisher = publisher;
    fcntl(w->from, F_SETFL, fcntl(w->from, F_GETFL) | O_NONBLOCK);
    return 0;
}

static int spawn_all(struct coord *co)
{
    const struct pb_opts *o = &co->cfg.o;
    uint64_t nrecv = co->cfg.o.workers, first = 0;
    int has_pub = co->cfg.wl->pub != PUB_NONE;

    co->nw = (int)nrecv + has_pub;
    co->w = xcalloc((size_t)co->nw, sizeof(*co->w));
    for (int i = 0; i < co->nw; i++)
        co->w[i].to = co->w[i].from = -1;
    for (uint64_t i = 0; i < nrecv; i++) {
        uint64_t n = o->conns / nrecv + (i < o->conns % nrecv ? 1 : 0);
        if (spawn(co, (int)i, 0, first, n) != 0)
            return -1;
        first += n;
    }
    if (has_pub) {
        uint64_t n = co->cfg.wl->pub == PUB_HTTP ? o->concurrency : o->publishers;
        if (spawn(co, (int)nrecv, 1, 0, n) != 0)
            return -1;
    }
    return 0;
}

static void reap(struct coord *co)
{
    for (int i = 0; i < co->nw; i++) {
        struct cw *w = &co->w[i];
        if (w->pid <= 0)
            continue;
        if (!w->result)
            kill(w->pid, SIGTERM);
        waitpid(w->pid, NULL, 0);
        if (w->to >= 0)
            close(w->to);
        if (w->from >= 0)
            close(w->from);
        if (w->ev != NULL)
            event_free(w->ev);
        if (w->in != NULL)
            evbuffer_free(w->in);
    }
}

static int coord_loop(struct coord *co)
{
    struct timeval tick = { 0, COORD_TICK_US };

    if ((co->base = event_base_new()) == NULL)
        return -1;
    for (int i = 0; i < co->nw; i++) {
        struct cw *w = &co->w[i];
        w->in = evbuffer_new();
        w->ev = event_new(co->base, w->from, EV_READ | EV_PERSIST, read_cb, w);
        if (w->in == NULL || w->ev == NULL)
            return -1;
        event_add(w->ev, NULL);
    }
    co->timer = event_new(co->base, -1, EV_PERSIST, tick_cb, co);
    if (co->timer == NULL)
        return -1;
    event_add(co->timer, &tick);
    co->phase = PH_SETUP;
    co->deadline_ns = pb_now_ns() + (int64_t)co->cfg.o.timeout * 1000000000;
    event_base_dispatch(co->base);
    event_free(co->timer);
    return 0;
}

int coord_run(const struct pb_config *cfg)
{
    struct coord *co = xcalloc(1, sizeof(*co));
    int rc = 1;

    co->cfg = *cfg;
    if (co->cfg.o.workers > co->cfg.o.conns)
        co->cfg.o.workers = co->cfg.o.conns;
    co->run.cfg = &co->cfg;
    signal(SIGPIPE, SIG_IGN);
    sample(co, &co->run.before);
    if (spawn_all(co) == 0 && coord_loop(co) == 0) {
        for (int i = 0; i < co->nw; i++) {
            stats_merge(&co->run.total, &co->w[i].st);
            stats_merge(co->w[i].publisher ? &co->run.pub : &co->run.recv, &co->w[i].st);
        }
        co->cfg.wl->report(&co->run);
        rc = co->error || co->run.timed_out || co->run.total.conns_failed > 0 ||
             co->run.total.conns_lost > 0 || co->run.recv.received < co->run.expected;
    }
    reap(co);
    if (co->base != NULL)
        event_base_free(co->base);
    free(co->w);
    free(co);
    return rc;
}
