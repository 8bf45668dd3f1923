/* Redis glue: two hiredis async connections on the broker's loop (commands
 * and pub/sub notices), reconnect with backoff, a watchdog for replies that
 * never come, and the resync that follows every reconnect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "broker.h"
#include "xmalloc.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define REPLY_TIMEOUT_MS 2000
#define CURSOR_FLUSH_MS 1000

struct store_req {
    store_cb *cb;
    void *arg;
};

static void store_connect(struct broker *b);

static void store_schedule_retry(struct broker *b)
{
    struct store *s = &b->store;
    if (b->shutting_down || evtimer_pending(s->retry_ev, NULL))
        return;
    struct timeval tv = { s->backoff_ms / 1000, (s->backoff_ms % 1000) * 1000 };
    evtimer_add(s->retry_ev, &tv);
    s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
}

static void store_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    store_connect(arg);
}

/* Any loss of either connection is an outage: drop both and start again,
 * so that the resync after it sees a clean state. */
static void store_lost(struct broker *b, const char *why)
{
    struct store *s = &b->store;
    if (s->cmd_ready || s->sub_ready)
        log_warn("redis connection lost: %s", why);
    s->cmd_ready = s->sub_ready = 0;
    s->scripts_loaded = 0;
    if (s->cmd) {
        redisAsyncContext *ac = s->cmd;
        s->cmd = NULL;
        redisAsyncFree(ac);
    }
    if (s->sub) {
        redisAsyncContext *ac = s->sub;
        s->sub = NULL;
        redisAsyncFree(ac);
    }
    s->in_flight = 0;
    store_schedule_retry(b);
}

static void store_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct broker *b = ac->data;
    struct store *s = &b->store;
    (void)status;
    /* hiredis frees ac after this returns. */
    if (ac == s->cmd)
        s->cmd = NULL;
    if (ac == s->sub)
        s->sub = NULL;
    store_lost(b, ac->errstr[0] ? ac->errstr : "disconnected");
}

static void store_on_connect(const redisAsyncContext *ac, int status)
{
    struct broker *b = ac->data;
    struct store *s = &b->store;
    if (status == REDIS_OK)
        return;
    if (ac == s->cmd)
        s->cmd = NULL;
    if (ac == s->sub)
        s->sub = NULL;
    log_debug("redis connect failed: %s", ac->errstr);
    store_lost(b, ac->errstr);
}

static void store_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct broker *b = ac->data;
    struct store_req *req = privdata;
    if (b->store.in_flight > 0)
        b->store.in_flight--;
    b->store.last_reply_ms = now_ms();
    if (req) {
        if (req->cb)
            req->cb(b, r, req->arg);
        free(req);
    }
}

int store_ready(const struct broker *b)
{
    return b->store.cmd_ready && b->store.sub_ready;
}

int store_cmd(struct broker *b, store_cb *cb, void *arg, int argc, const char **argv,
              const size_t *argvlen)
{
    struct store *s = &b->store;
    if (!s->cmd)
        return -1;
    struct store_req *req = NULL;
    if (cb) {
        req = xmalloc(sizeof(*req));
        req->cb = cb;
        req->arg = arg;
    }
    if (redisAsyncCommandArgv(s->cmd, store_reply, req, argc, argv, argvlen) != REDIS_OK) {
        free(req);
        return -1;
    }
    if (s->in_flight++ == 0)
        s->last_reply_ms = now_ms();
    return 0;
}

int store_script(struct broker *b, enum store_script which, store_cb *cb, void *arg,
                 int nkeys, int argc, const char **argv, const size_t *argvlen)
{
    if (!b->store.cmd_ready)
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
    av[1] = b->store.sha[which];
    al[1] = 40;
    al[2] = (size_t)snprintf(nk, sizeof(nk), "%d", nkeys);
    av[2] = nk;
    for (int i = 0; i < argc; i++) {
        av[3 + i] = argv[i];
        al[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    int rc = store_cmd(b, cb, arg, argc + 3, av, al);
    if (av != small_av) {
        free(av);
        free(al);
    }
    return rc;
}

/* ---- readiness and resync ---- */

/* After a (re)connect: our devices' presence, our notice channels, and a
 * catch-up of every stream, since notices may have been lost meanwhile. */
static void store_resync(struct broker *b)
{
    log_info("redis ready: resyncing %u connections, %zu channels", b->nidentified,
             b->channels.count);
    for (size_t i = 0; i < b->channels.cap; i++) {
        struct channel *ch = b->channels.slots[i].val;
        if (!b->channels.slots[i].key)
            continue;
        ch->state = CH_SUBSCRIBING;
        char name[KEY_MAX];
        snprintf(name, sizeof(name), "pg:n:ch:%lld", (long long)ch->id);
        store_subscribe(b, name);
    }
    for (struct conn *c = b->conns; c; c = c->next) {
        if (c->client_id == 0 || c->state == CS_DEAD)
            continue;
        char key[KEY_MAX], bid[24], nonce[24];
        snprintf(key, sizeof(key), "pg:dev:%lld", (long long)c->client_id);
        snprintf(bid, sizeof(bid), "%lld", (long long)b->id);
        snprintf(nonce, sizeof(nonce), "%llu", (unsigned long long)c->nonce);
        const char *argv[] = { "HSET", key, "known", "1", "broker", bid, "conn", nonce };
        store_cmd(b, NULL, NULL, 8, argv, NULL);
        c->cursors_dirty = 1;
        for (uint32_t k = 0; k < c->nstreams; k++) {
            struct stream_state *st = &c->streams[k];
            st->flags &= ~(uint32_t)(SS_CATCHING_UP | SS_MISSED);
            if (st->channel)
                st->flags |= SS_WAIT_SUB;
            else
                deliver_catch_up(c, st);
        }
    }
}

static void store_check_ready(struct broker *b, int was_ready)
{
    if (!was_ready && store_ready(b)) {
        b->store.backoff_ms = BACKOFF_MIN_MS;
        store_resync(b);
    }
}

static void store_on_script_loaded(struct broker *b, redisReply *r, void *arg)
{
    enum store_script which = (enum store_script)(intptr_t)arg;
    if (!r || r->type != REDIS_REPLY_STRING || r->len != 40) {
        log_error("SCRIPT LOAD failed: %s", r && r->str ? r->str : "no reply");
        return;
    }
    memcpy(b->store.sha[which], r->str, 40);
    b->store.sha[which][40] = '\0';
    if (++b->store.scripts_loaded == SCRIPT_COUNT) {
        int was = store_ready(b);
        b->store.cmd_ready = 1;
        store_check_ready(b, was);
    }
}

static void store_on_notice(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct broker *b = ac->data;
    redisReply *r = reply;
    (void)privdata;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return;
    const redisReply *kind = r->element[0], *chan = r->element[1], *data = r->element[2];
    if (kind->type != REDIS_REPLY_STRING || chan->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(kind->str, "message") == 0 && data->type == REDIS_REPLY_STRING) {
        deliver_notice(b, data->str, data->len);
        return;
    }
    if (strcmp(kind->str, "subscribe") != 0)
        return;
    if (strncmp(chan->str, "pg:n:bk:", 8) == 0) {
        int was = store_ready(b);
        b->store.sub_ready = 1;
        store_check_ready(b, was);
    } else if (strncmp(chan->str, "pg:n:ch:", 8) == 0) {
        channel_confirmed(b, strtoll(chan->str + 8, NULL, 10));
    }
}

void store_subscribe(struct broker *b, const char *chan)
{
    if (!b->store.sub)
        return;  /* the resync after reconnecting subscribes */
    const char *argv[] = { "SUBSCRIBE", chan };
    redisAsyncCommandArgv(b->store.sub, store_on_notice, NULL, 2, argv, NULL);
}

static redisAsyncContext *store_open(struct broker *b)
{
    redisAsyncContext *ac = redisAsyncConnect(b->conf.redis.host, b->conf.redis.port);
    if (!ac)
        return NULL;
    if (ac->err) {
        log_debug("redis connect failed: %s", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = b;
    redisLibeventAttach(ac, b->base);
    redisAsyncSetConnectCallback(ac, store_on_connect);
    redisAsyncSetDisconnectCallback(ac, store_on_disconnect);
    return ac;
}

static void store_connect(struct broker *b)
{
    struct store *s = &b->store;
    if (s->cmd || s->sub || b->shutting_down)
        return;
    s->cmd = store_open(b);
    s->sub = s->cmd ? store_open(b) : NULL;
    if (!s->cmd || !s->sub) {
        store_lost(b, "cannot connect");
        return;
    }
    s->scripts_loaded = 0;
    s->in_flight = 0;
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        const char *argv[] = { "SCRIPT", "LOAD", store_script_text[i] };
        store_cmd(b, store_on_script_loaded, (void *)(intptr_t)i, 3, argv, NULL);
    }
    char name[KEY_MAX];
    snprintf(name, sizeof(name), "pg:n:bk:%lld", (long long)b->id);
    store_subscribe(b, name);
    log_debug("connecting to redis %s:%u", b->conf.redis.host, (unsigned)b->conf.redis.port);
}

void store_init(struct broker *b)
{
    struct store *s = &b->store;
    s->b = b;
    s->backoff_ms = BACKOFF_MIN_MS;
    s->retry_ev = evtimer_new(b->base, store_on_retry, b);
    store_connect(b);
}

void store_shutdown(struct broker *b)
{
    struct store *s = &b->store;
    b->shutting_down = b->shutting_down ? b->shutting_down : 1;
    if (s->cmd || s->sub)
        store_lost(b, "shutting down");
    if (s->retry_ev) {
        event_free(s->retry_ev);
        s->retry_ev = NULL;
    }
}

/* ---- cursors ---- */

/* Writes c's read positions (HSET on the cursor hash), pipelined. */
void store_flush_cursors(struct broker *b, struct conn *c)
{
    if (!c->cursors_dirty || !b->store.cmd_ready || c->client_id == 0)
        return;
    cursor_write(b, c, 0);
    c->cursors_dirty = 0;
}

void store_tick(struct broker *b, int64_t now)
{
    struct store *s = &b->store;
    if (s->cmd && s->in_flight > 0 && now - s->last_reply_ms > REPLY_TIMEOUT_MS) {
        store_lost(b, "no reply within 2 s");
        return;
    }
    if (now - b->last_flush_ms < CURSOR_FLUSH_MS)
        return;
    b->last_flush_ms = now;
    for (struct conn *c = b->conns; c; c = c->next)
        store_flush_cursors(b, c);
}
