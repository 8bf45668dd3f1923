/* Redis Sentinel for one event loop (sentinel.h). hiredis knows nothing of
 * Sentinel; this is the little a client needs: ask, and listen. */
#include "sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "clock.h"
#include "log.h"
#include "rconn.h"

#define TICK_MS 100
#define QUERY_TIMEOUT_MS 500   /* per sentinel */
#define QUERY_GAP_MS 250       /* between two rounds of questions */
#define ROUND_RETRY_MS 500     /* after no sentinel answered */
#define LINK_RETRY_MS 1000
/* A +try-failover with neither a switch nor an abort after it stops
 * fencing after this: the sentinel that said it may have died. */
#define FENCE_MAX_MS 10000

/* The events a daemon follows; the first one fences, the second moves,
 * the others lift the fence of the sentinel that says them. */
static const char *const link_channels[] = {
    "+try-failover", "+switch-master", "-failover-abort-not-elected",
    "-failover-abort-no-good-slave",
};
#define NCHANNELS (int)(sizeof(link_channels) / sizeof(link_channels[0]))

static int addr_eq(const struct cfg_addr *a, const struct cfg_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* A host and port as a sentinel says them (an IPv6 host bare) -> *a. */
static int addr_from(const char *host, const char *port, struct cfg_addr *a)
{
    char s[CFG_HOST_MAX + 16];
    snprintf(s, sizeof(s), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
    return cfg_parse_addr(s, a);
}

static void sentinel_notify(struct sentinel *sn)
{
    for (int i = 0; i < sn->nusers; i++)
        rconn_master_changed(sn->users[i]);
}

static void sentinel_set(struct sentinel *sn, const struct cfg_addr *a)
{
    if (sn->known && addr_eq(a, &sn->master))
        return;
    sn->master = *a;
    sn->known = 1;
    char s[CFG_HOST_MAX + 8];
    cfg_format_addr(a, s, sizeof(s));
    log_info("sentinels: master %s is %s", sn->conf->master, s);
    if (!sn->fenced)
        sentinel_notify(sn);
}

static void sentinel_refence(struct sentinel *sn)
{
    int fenced = 0;
    for (int i = 0; i < sn->conf->sentinels.n; i++)
        fenced |= sn->links[i].fenced_ms != 0;
    if (fenced == sn->fenced)
        return;
    sn->fenced = fenced;
    if (fenced)
        log_warn("sentinels: failover of %s started: acknowledging nothing until it ends",
                 sn->conf->master);
    else
        log_info("sentinels: failover of %s over", sn->conf->master);
    sentinel_notify(sn);
}

/* A connection to sentinel s on the loop, data its ac->data; NULL when
 * it cannot even start. */
static redisAsyncContext *sentinel_connect(struct event_base *base, const struct cfg_addr *s,
                                           void *data, redisConnectCallback *on_connect,
                                           redisDisconnectCallback *on_disconnect)
{
    redisAsyncContext *ac = redisAsyncConnect(s->host, s->port);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        return NULL;
    }
    ac->data = data;
    redisLibeventAttach(ac, base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

/* ---- asking: SENTINEL get-master-addr-by-name, one sentinel at a time ---- */

static void sentinel_ask(struct sentinel *sn);

static void sentinel_query_done(struct sentinel *sn, const struct cfg_addr *a)
{
    sn->query = NULL;
    if (!a) {
        sentinel_ask(sn);
        return;
    }
    sn->next = (sn->next + sn->tries - 1) % sn->conf->sentinels.n;
    sn->tries = 0;
    sentinel_set(sn, a);
}

static void sentinel_on_answer(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct sentinel *sn = privdata;
    redisReply *r = reply;
    if (sn->query != ac)
        return;
    struct cfg_addr a;
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
             && r->element[0]->type == REDIS_REPLY_STRING
             && r->element[1]->type == REDIS_REPLY_STRING;
    if (ok)
        ok = addr_from(r->element[0]->str, r->element[1]->str, &a) == 0;
    redisAsyncFree(ac);  /* deferred by hiredis until this callback returns */
    sentinel_query_done(sn, ok ? &a : NULL);
}

static void sentinel_on_query_connect(const redisAsyncContext *ac, int status)
{
    struct sentinel *sn = ac->data;
    if (status != REDIS_OK && sn->query == ac)
        sentinel_query_done(sn, NULL);  /* hiredis frees ac */
}

static void sentinel_on_query_disconnect(const redisAsyncContext *ac, int status)
{
    struct sentinel *sn = ac->data;
    (void)status;
    if (sn->query == ac)
        sentinel_query_done(sn, NULL);
}

/* Asks the next sentinel of this round; after the last, waits and starts
 * another round. */
static void sentinel_ask(struct sentinel *sn)
{
    const struct cfg_addr_list *l = &sn->conf->sentinels;
    while (sn->tries < l->n) {
        const struct cfg_addr *s = &l->a[(sn->next + sn->tries++) % l->n];
        redisAsyncContext *ac = sentinel_connect(sn->base, s, sn, sentinel_on_query_connect,
                                                 sentinel_on_query_disconnect);
        if (!ac)
            continue;
        const char *argv[] = { "SENTINEL", "get-master-addr-by-name", sn->conf->master };
        if (redisAsyncCommandArgv(ac, sentinel_on_answer, sn, 3, argv, NULL) != REDIS_OK) {
            redisAsyncFree(ac);
            continue;
        }
        sn->query = ac;
        sn->query_ms = mono_ms();
        return;
    }
    log_warn("sentinels: none of %d named the master %s; asking again", l->n, sn->conf->master);
    sn->tries = 0;
    sn->query_due_ms = mono_ms() + ROUND_RETRY_MS;
}

void sentinel_stale(struct sentinel *sn)
{
    if (sn->query || sn->query_due_ms || !sn->tick)
        return;
    int64_t now = mono_ms(), due = sn->last_query_ms + QUERY_GAP_MS;
    sn->query_due_ms = due > now ? due : now;
}

/* ---- listening: every sentinel's failover events ---- */

static int word_is(const char *s, int n, const char *want)
{
    /* The n-th (0-based) space-separated word of s equals want. */
    for (; n > 0 && s; n--)
        if ((s = strchr(s, ' ')))
            s++;
    size_t len = strlen(want);
    return s && strncmp(s, want, len) == 0 && (s[len] == ' ' || s[len] == '\0');
}

static void sentinel_on_switch(struct sentinel *sn, const char *data)
{
    /* "<name> <old ip> <old port> <new ip> <new port>" */
    char name[256], host[CFG_HOST_MAX], port[8];
    struct cfg_addr a;
    if (sscanf(data, "%255s %*s %*s %255s %7s", name, host, port) != 3
        || strcmp(name, sn->conf->master) != 0 || addr_from(host, port, &a) != 0)
        return;
    for (int i = 0; i < sn->conf->sentinels.n; i++)
        sn->links[i].fenced_ms = 0;
    sentinel_set(sn, &a);
    sentinel_refence(sn);
}

static void sentinel_on_event(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct sentinel_link *l = privdata;
    redisReply *r = reply;
    (void)ac;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message")
        || r->element[2]->type != REDIS_REPLY_STRING)
        return;
    const char *chan = r->element[1]->str, *data = r->element[2]->str;
    struct sentinel *sn = l->sn;
    log_debug("sentinel event %s %s", chan, data);
    if (strcmp(chan, "+switch-master") == 0) {
        sentinel_on_switch(sn, data);
        return;
    }
    /* "master <name> <ip> <port>" */
    if (!word_is(data, 0, "master") || !word_is(data, 1, sn->conf->master))
        return;
    l->fenced_ms = strcmp(chan, "+try-failover") == 0 ? mono_ms() : 0;
    sentinel_refence(sn);
    if (!l->fenced_ms)
        sentinel_stale(sn);  /* aborted: the master may still have moved */
}

static void sentinel_on_link_connect(const redisAsyncContext *ac, int status)
{
    struct sentinel_link *l = ac->data;
    if (status != REDIS_OK && l->ac == ac)
        l->ac = NULL;  /* hiredis frees it; the tick tries again */
}

static void sentinel_on_link_disconnect(const redisAsyncContext *ac, int status)
{
    struct sentinel_link *l = ac->data;
    (void)status;
    if (l->ac != ac)
        return;
    l->ac = NULL;
    l->fenced_ms = 0;
    sentinel_refence(l->sn);
}

static void sentinel_link_connect(struct sentinel_link *l, const struct cfg_addr *s)
{
    redisAsyncContext *ac = sentinel_connect(l->sn->base, s, l, sentinel_on_link_connect,
                                             sentinel_on_link_disconnect);
    if (!ac)
        return;
    const char *argv[1 + NCHANNELS] = { "SUBSCRIBE" };
    for (int i = 0; i < NCHANNELS; i++)
        argv[1 + i] = link_channels[i];
    if (redisAsyncCommandArgv(ac, sentinel_on_event, l, 1 + NCHANNELS, argv, NULL) != REDIS_OK) {
        redisAsyncFree(ac);
        return;
    }
    l->ac = ac;
}

/* ---- the loop's tick ---- */

static void sentinel_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct sentinel *sn = arg;
    int64_t now = mono_ms();
    (void)fd; (void)what;
    if (sn->query && now - sn->query_ms > QUERY_TIMEOUT_MS) {
        redisAsyncContext *ac = sn->query;
        sn->query = NULL;
        redisAsyncFree(ac);
        sentinel_ask(sn);
    }
    if (!sn->query && sn->query_due_ms && now >= sn->query_due_ms) {
        sn->query_due_ms = 0;
        sn->last_query_ms = now;
        sentinel_ask(sn);
    }
    int refence = 0;
    for (int i = 0; i < sn->conf->sentinels.n; i++) {
        struct sentinel_link *l = &sn->links[i];
        if (l->fenced_ms && now - l->fenced_ms > FENCE_MAX_MS) {
            log_warn("sentinels: a failover said started %d s ago has not ended",
                     FENCE_MAX_MS / 1000);
            l->fenced_ms = 0;
            refence = 1;
        }
    }
    if (refence) {
        sentinel_refence(sn);
        sentinel_stale(sn);
    }
    if (now - sn->last_link_ms >= LINK_RETRY_MS) {
        sn->last_link_ms = now;
        for (int i = 0; i < sn->conf->sentinels.n; i++)
            if (!sn->links[i].ac)
                sentinel_link_connect(&sn->links[i], &sn->conf->sentinels.a[i]);
    }
}

int sentinel_init(struct sentinel *sn, struct event_base *base, const struct cfg_redis_ha *conf)
{
    memset(sn, 0, sizeof(*sn));
    if (conf->sentinels.n == 0)
        return -1;
    sn->base = base;
    sn->conf = conf;
    for (int i = 0; i < conf->sentinels.n; i++)
        sn->links[i].sn = sn;
    return 0;
}

void sentinel_add(struct sentinel *sn, struct rconn *rc)
{
    if (sn->nusers < SENTINEL_USERS_MAX) {
        sn->users[sn->nusers++] = rc;
        rc->sentinel = sn;
    }
}

void sentinel_start(struct sentinel *sn)
{
    struct timeval tv = { 0, TICK_MS * 1000 };
    sn->tick = event_new(sn->base, -1, EV_PERSIST, sentinel_on_tick, sn);
    event_add(sn->tick, &tv);
    sn->last_query_ms = mono_ms();
    sentinel_ask(sn);
    sn->last_link_ms = mono_ms() - LINK_RETRY_MS;
}

void sentinel_stop(struct sentinel *sn)
{
    if (!sn->conf)
        return;
    if (sn->tick)
        event_free(sn->tick);
    sn->tick = NULL;
    sn->nusers = 0;
    if (sn->query) {
        redisAsyncContext *ac = sn->query;
        sn->query = NULL;
        redisAsyncFree(ac);
    }
    for (int i = 0; i < sn->conf->sentinels.n; i++) {
        redisAsyncContext *ac = sn->links[i].ac;
        sn->links[i].ac = NULL;
        if (ac)
            redisAsyncFree(ac);
    }
}

void sentinel_open(struct sentinel *sn, struct event_base *base, const struct cfg_redis_ha *conf,
                   struct rconn *rc1, struct rconn *rc2)
{
    if (sentinel_init(sn, base, conf) < 0)
        return;
    sentinel_add(sn, rc1);
    if (rc2)
        sentinel_add(sn, rc2);
    sentinel_start(sn);
}

int sentinel_master(const struct sentinel *sn, struct cfg_addr *out)
{
    if (!sn->known || sn->fenced)
        return 0;
    *out = sn->master;
    return 1;
}
