#include "rconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "clock.h"
#include "log.h"
#include "rconn_wait.h"
#include "sentinel.h"
#include "xmalloc.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

enum req_kind { REQ_PLAIN, REQ_DURABLE, REQ_WAIT };

struct rconn_req {
    struct rconn *rc;
    rconn_reply_cb *cb;
    void *arg;
    enum req_kind kind;
};

static int rconn_send(struct rconn *rc, enum req_kind kind, rconn_reply_cb *cb, void *arg,
                      int argc, const char **argv, const size_t *argvlen);

static void rconn_connect(struct rconn *rc);

static void rconn_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    rconn_connect(arg);
}

static void rconn_schedule_retry(struct rconn *rc)
{
    if (rc->stopped || evtimer_pending(rc->retry_ev, NULL))
        return;
    struct timeval tv = { rc->backoff_ms / 1000, (rc->backoff_ms % 1000) * 1000 };
    evtimer_add(rc->retry_ev, &tv);
    rc->backoff_ms = rc->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : rc->backoff_ms * 2;
}

/* Forgets the context (hiredis frees it), schedules the next try and tells
 * the owner: once per loss, and a failed retry is a loss too. */
static void rconn_lost(struct rconn *rc, const char *why)
{
    int was_ready = rc->ready;
    rc->ready = 0;
    rc->loaded = 0;
    rc->in_flight = 0;
    rc->waits_in_flight = 0;
    rc->unwaited = 0;
    rconn_release(rc, 0);
    if (was_ready)
        log_warn("redis %s:%u lost: %s", rc->addr.host, (unsigned)rc->addr.port, why);
    rconn_schedule_retry(rc);
    if (rc->sentinel && !rc->stopped)
        sentinel_stale(rc->sentinel);
    if (rc->on_lost)
        rc->on_lost(rc, rc->arg);
}

static void rconn_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rconn *rc = ac->data;
    (void)status;
    if (rc->ac != ac)
        return;  /* we dropped it ourselves */
    rc->ac = NULL;
    rconn_lost(rc, ac->errstr[0] ? ac->errstr : "disconnected");
}

static void rconn_on_connect(const redisAsyncContext *ac, int status)
{
    struct rconn *rc = ac->data;
    if (status == REDIS_OK || rc->ac != ac)
        return;
    rc->ac = NULL;  /* hiredis frees it after this callback */
    log_debug("redis connect failed: %s", ac->errstr);
    rconn_lost(rc, ac->errstr);
}

static void rconn_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct rconn_req *req = privdata;
    struct rconn *rc = req->rc;
    (void)ac;
    if (rc->in_flight > 0)
        rc->in_flight--;
    rc->last_reply_ms = mono_ms();
    if (req->kind == REQ_WAIT) {
        rc->waits_in_flight--;
        const redisReply *w = r;
        int n = w && w->type == REDIS_REPLY_INTEGER ? (int)w->integer : -1;
        if (n < (int)rc->min_replicas && rc->held)
            log_warn("redis %s:%u: %d of %llu replicas within %d ms: refused", rc->addr.host,
                     (unsigned)rc->addr.port, n, (unsigned long long)rc->min_replicas,
                     RCONN_WAIT_MS);
        rconn_release(rc, n >= (int)rc->min_replicas);
    } else if (r && (req->kind == REQ_DURABLE || rc->held)) {
        rconn_hold(rc, req->cb, req->arg, req->kind == REQ_DURABLE, r);
    } else {
        if (!r)
            rconn_release(rc, 0);  /* the connection is gone: what waited failed first */
        if (req->cb)
            req->cb(req->arg, r);
    }
    free(req);
}

static void rconn_became_ready(struct rconn *rc)
{
    if ((rc->sentinel && !rc->role_checked) || rc->loaded < rc->nscripts)
        return;
    rc->ready = 1;
    rc->backoff_ms = BACKOFF_MIN_MS;
    log_info("redis %s:%u ready", rc->addr.host, (unsigned)rc->addr.port);
    if (rc->on_ready)
        rc->on_ready(rc, rc->arg);
}

struct script_load {
    struct rconn *rc;
    int which;
};

static void rconn_on_script(void *arg, redisReply *r)
{
    struct script_load *sl = arg;
    struct rconn *rc = sl->rc;
    int which = sl->which;
    free(sl);
    if (!r || !rc->ac)
        return;  /* that connection is gone; the next one loads them again */
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        /* e.g. LOADING while Redis reads its data: try the whole connection
         * again later (rconn_reset schedules it with backoff). */
        log_warn("SCRIPT LOAD failed: %s", r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        if (rc->ac)
            rconn_reset(rc, "scripts not loaded");
        return;
    }
    memcpy(rc->sha[which], r->str, 41);
    rc->loaded++;
    rconn_became_ready(rc);
}

/* A sentinel's answer may be stale: only a master is used. */
static void rconn_on_role(void *arg, redisReply *r)
{
    struct rconn *rc = arg;
    if (!r || !rc->ac)
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1
        || r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "master")) {
        rconn_reset(rc, "not a master");
        return;
    }
    rc->role_checked = 1;
    rconn_became_ready(rc);
}

static void rconn_connect(struct rconn *rc)
{
    if (rc->ac || rc->stopped)
        return;
    if (rc->sentinel && !sentinel_master(rc->sentinel, &rc->addr)) {
        sentinel_stale(rc->sentinel);  /* it calls rconn_master_changed */
        return;
    }
    redisAsyncContext *ac = redisAsyncConnect(rc->addr.host, rc->addr.port);
    if (!ac || ac->err) {
        log_debug("redis connect failed: %s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        rconn_lost(rc, "cannot connect");
        return;
    }
    ac->data = rc;
    redisLibeventAttach(ac, rc->base);
    redisAsyncSetConnectCallback(ac, rconn_on_connect);
    redisAsyncSetDisconnectCallback(ac, rconn_on_disconnect);
    rc->ac = ac;
    rc->loaded = 0;
    rc->role_checked = 0;
    rc->in_flight = 0;
    if (rc->sentinel)
        rconn_cmd(rc, rconn_on_role, rc, 1, (const char *[]){ "ROLE" }, NULL);
    else if (rc->nscripts == 0) {
        /* Commands queue until the connect completes; a PING proves it. */
        rconn_cmd(rc, NULL, NULL, 1, (const char *[]){ "PING" }, NULL);
        rc->ready = 1;
        rc->backoff_ms = BACKOFF_MIN_MS;
        if (rc->on_ready)
            rc->on_ready(rc, rc->arg);
        return;
    }
    for (int i = 0; i < rc->nscripts; i++) {
        struct script_load *sl = xmalloc(sizeof(*sl));
        sl->rc = rc;
        sl->which = i;
        const char *argv[] = { "SCRIPT", "LOAD", rc->scripts[i] };
        rconn_cmd(rc, rconn_on_script, sl, 3, argv, NULL);
    }
}

/* hiredis's libevent adapter writes a command only once epoll reports the
 * socket writable: an epoll_ctl to watch it, a pass through epoll_wait,
 * another epoll_ctl to stop. Commands queued in a loop pass are written
 * at its end instead; the watch, added and taken back in the same pass,
 * then costs no system call (docs/PERFORMANCE.md). A write the socket
 * does not take whole is finished by the adapter as before. */
static void rconn_on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct rconn *rc = arg;
    (void)fd; (void)what;
    rc->flush_pending = 0;
    if (rc->unwaited && rc->ac) {
        /* One WAIT covers every write this connection sent before it. */
        char n[24], ms[24];
        snprintf(n, sizeof(n), "%llu", (unsigned long long)rc->min_replicas);
        snprintf(ms, sizeof(ms), "%d", RCONN_WAIT_MS);
        if (rconn_send(rc, REQ_WAIT, NULL, NULL, 3, (const char *[]){ "WAIT", n, ms }, NULL) == 0)
            rc->waits_in_flight++;
        rc->unwaited = 0;
    }
    /* Not before the connect completes: hiredis would take a connect in
     * progress for a finished one. */
    if (rc->ac && (rc->ac->c.flags & REDIS_CONNECTED))
        redisAsyncHandleWrite(rc->ac);
}

void rconn_init(struct rconn *rc, struct event_base *base, const struct cfg_addr *addr,
                const char *const *scripts, int nscripts, int64_t reply_timeout_ms,
                rconn_event_cb *on_ready, rconn_event_cb *on_lost, void *arg)
{
    memset(rc, 0, sizeof(*rc));
    rc->base = base;
    rc->addr = *addr;
    rc->scripts = scripts;
    rc->nscripts = nscripts;
    rc->sha = nscripts ? xcalloc((size_t)nscripts, sizeof(*rc->sha)) : NULL;
    rc->reply_timeout_ms = reply_timeout_ms;
    rc->backoff_ms = BACKOFF_MIN_MS;
    rc->on_ready = on_ready;
    rc->on_lost = on_lost;
    rc->arg = arg;
    rc->retry_ev = evtimer_new(base, rconn_on_retry, rc);
    rc->flush_ev = event_new(base, -1, 0, rconn_on_flush, rc);
    rc->held_tail = &rc->held;
}

void rconn_start(struct rconn *rc)
{
    rconn_connect(rc);
}

void rconn_reset(struct rconn *rc, const char *why)
{
    redisAsyncContext *ac = rc->ac;
    if (!ac) {
        rconn_schedule_retry(rc);
        return;
    }
    rc->ac = NULL;
    /* Said here, once per reset, whatever state the connection was in;
     * rconn_lost then stays quiet (ready is 0). */
    if (!rc->stopped)
        log_warn("redis %s:%u reset: %s", rc->addr.host, (unsigned)rc->addr.port, why);
    rc->ready = 0;
    /* Runs every pending callback with a NULL reply; rc->ac is already
     * NULL, so none of them can queue more on the dying context. */
    redisAsyncFree(ac);
    rconn_lost(rc, why);
}

void rconn_stop(struct rconn *rc)
{
    rc->stopped = 1;
    rc->on_lost = NULL;
    if (rc->ac)
        rconn_reset(rc, "stopped");
    if (rc->retry_ev) {
        event_free(rc->retry_ev);
        rc->retry_ev = NULL;
    }
    if (rc->flush_ev) {
        event_free(rc->flush_ev);
        rc->flush_ev = NULL;
    }
    free(rc->sha);
    rc->sha = NULL;
}

void rconn_tick(struct rconn *rc)
{
    /* A WAIT may take RCONN_WAIT_MS, and what follows it waits behind it. */
    int64_t limit = rc->reply_timeout_ms + (rc->waits_in_flight ? RCONN_WAIT_MS : 0);
    if (rc->ac && rc->in_flight > 0 && mono_ms() - rc->last_reply_ms > limit)
        rconn_reset(rc, "no reply in time");
}

void rconn_master_changed(struct rconn *rc)
{
    struct cfg_addr a;
    int have = sentinel_master(rc->sentinel, &a);
    int same = have && a.port == rc->addr.port && strcmp(a.host, rc->addr.host) == 0;
    if (rc->ac && same)
        return;
    if (rc->ac)
        rconn_reset(rc, have ? "the master moved" : "a failover started");
    if (!have || rc->stopped)
        return;
    evtimer_del(rc->retry_ev);
    rc->backoff_ms = BACKOFF_MIN_MS;
    rconn_connect(rc);
}

static int rconn_send(struct rconn *rc, enum req_kind kind, rconn_reply_cb *cb, void *arg,
                      int argc, const char **argv, const size_t *argvlen)
{
    if (!rc->ac)
        return -1;
    struct rconn_req *req = xmalloc(sizeof(*req));
    req->rc = rc;
    req->cb = cb;
    req->arg = arg;
    req->kind = kind;
    if (redisAsyncCommandArgv(rc->ac, rconn_reply, req, argc, argv, argvlen) != REDIS_OK) {
        free(req);
        return -1;
    }
    if (rc->in_flight++ == 0)
        rc->last_reply_ms = mono_ms();
    if (!rc->flush_pending && rc->flush_ev) {
        rc->flush_pending = 1;
        event_active(rc->flush_ev, EV_TIMEOUT, 1);
    }
    if (kind == REQ_DURABLE)
        rc->unwaited++;
    return 0;
}

int rconn_cmd(struct rconn *rc, rconn_reply_cb *cb, void *arg, int argc, const char **argv,
              const size_t *argvlen)
{
    return rconn_send(rc, REQ_PLAIN, cb, arg, argc, argv, argvlen);
}

static int rconn_eval(struct rconn *rc, int which, enum req_kind kind, rconn_reply_cb *cb,
                      void *arg, int nkeys, int argc, const char **argv, const size_t *argvlen)
{
    if (!rc->ready || which < 0 || which >= rc->nscripts)
        return -1;
    /* EVALSHA sha nkeys, then the caller's keys and arguments. */
    const char *small_av[16];
    size_t small_al[16];
    const char **av = small_av;
    size_t *al = small_al;
    if (argc + 3 > 16) {
        av = xcalloc((size_t)argc + 3, sizeof(*av));
        al = xcalloc((size_t)argc + 3, sizeof(*al));
    }
    char nk[12];
    av[0] = "EVALSHA";
    al[0] = 7;
    av[1] = rc->sha[which];
    al[1] = 40;
    al[2] = (size_t)snprintf(nk, sizeof(nk), "%d", nkeys);
    av[2] = nk;
    for (int i = 0; i < argc; i++) {
        av[3 + i] = argv[i];
        al[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    int rc_ = rconn_send(rc, kind, cb, arg, argc + 3, av, al);
    if (av != small_av) {
        free(av);
        free(al);
    }
    return rc_;
}

int rconn_script(struct rconn *rc, int which, rconn_reply_cb *cb, void *arg, int nkeys,
                 int argc, const char **argv, const size_t *argvlen)
{
    return rconn_eval(rc, which, REQ_PLAIN, cb, arg, nkeys, argc, argv, argvlen);
}

int rconn_script_durable(struct rconn *rc, int which, rconn_reply_cb *cb, void *arg, int nkeys,
                         int argc, const char **argv, const size_t *argvlen)
{
    enum req_kind kind = rc->min_replicas ? REQ_DURABLE : REQ_PLAIN;
    return rconn_eval(rc, which, kind, cb, arg, nkeys, argc, argv, argvlen);
}

int rconn_subscribe(struct rconn *rc, const char *chan, rconn_raw_cb *cb, void *privdata)
{
    if (!rc->ac)
        return -1;
    const char *argv[] = { "SUBSCRIBE", chan };
    return redisAsyncCommandArgv(rc->ac, cb, privdata, 2, argv, NULL) == REDIS_OK ? 0 : -1;
}
