/* Redis glue: two connections on the broker's loop (commands, and the
 * broker's one pub/sub channel of notices). Losing either is an outage:
 * both are dropped and, once both are back, the resync restores presence,
 * channel membership and every stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "broker.h"
#include "deliver_first.h"
#include "keys.h"
#include "ws.h"

#define REPLY_TIMEOUT_MS 2000
#define BEAT_MS 1000
#define REAP_PER_BEAT "1000"     /* ids of dead brokers leaving pg:online per beat */

/* The presence index of brokers that died, and their devices' conn.close
 * (lua/broker_reap.lua); start: this loop's first Redis ready. */
static void store_reap(struct broker *b, int start)
{
    char id[ARG_INT_MAX], q[KEY_TOPIC_MAX], bk[KEY_TOPIC_MAX], ttl[ARG_INT_MAX], max[ARG_INT_MAX];
    const char *argv[] = { KEY_ONLINE, KEY_ONLINE_BROKERS, key_q(q, QUEUE_CONN_TOPIC),
                           key_q_bk(bk, QUEUE_CONN_TOPIC), KEY_KEPT, arg_int(id, b->id), REAP_PER_BEAT,
                           QUEUE_CONN_TOPIC, arg_int(ttl, (int64_t)b->conf.offline_ttl * 1000),
                           arg_int(max, (int64_t)b->conf.offline_max), "start" };
    int argc = (int)(sizeof(argv) / sizeof(argv[0])) - (start ? 0 : 1);
    rconn_script(&b->store.cmd, SCRIPT_REAP, NULL, NULL, 5, argc, argv, NULL);
}

static void store_call_reply(void *arg, redisReply *r)
{
    struct store_call *call = arg;
    session_release(call->c);
    call->done(call, r);
}

int store_send(struct broker *b, int script, rconn_reply_cb *cb, void *arg, int nkeys, int argc,
               const char **argv, const size_t *argvlen)
{
    struct rconn *rc = &b->store.cmd;
    return script == STORE_CMD ? rconn_cmd(rc, cb, arg, argc, argv, argvlen)
           : script & STORE_ACK
               ? rconn_script_durable(rc, script & ~STORE_ACK, cb, arg, nkeys, argc, argv, argvlen)
               : rconn_script(rc, script, cb, arg, nkeys, argc, argv, argvlen);
}

int store_call(struct store_call *call, struct session *c, store_done_cb *done, int script,
               int nkeys, int argc, const char **argv, const size_t *argvlen)
{
    call->c = c;
    call->done = done;
    int rv = store_send(c->b, script, store_call_reply, call, nkeys, argc, argv, argvlen);
    if (rv == 0)
        session_hold(c);
    return rv;
}

int store_ready(const struct broker *b)
{
    return b->store.cmd.ready && b->store.sub_ready;
}

/* After a (re)connect: our devices' presence and channels, and a catch-up
 * of every stream, since notices may have been lost meanwhile. */
static void store_resync(struct broker *b)
{
    char bid[ARG_INT_MAX];
    arg_int(bid, b->id);
    log_info("redis ready: resyncing %u connections, %zu channels", b->nidentified,
             b->channels.count);
    rconn_cmd(&b->store.cmd, NULL, NULL, 3, (const char *[]){ "SADD", KEY_ONLINE_BROKERS, bid },
              NULL);
    if (!b->store.ever_ready) {
        /* No IDENTIFY of ours yet: what pg:online:bk:{b} holds is an
         * earlier process's with our id, set aside and reaped. */
        b->store.ever_ready = 1;
        store_reap(b, 1);
    }
    for (size_t i = 0; i < b->channels.cap; i++) {
        if (!b->channels.slots[i].key)
            continue;
        char key[KEY_MAX], id[ARG_INT_MAX];
        key_chn_brokers(key, channel_name(b, b->channels.slots[i].key, id));
        rconn_cmd(&b->store.cmd, NULL, NULL, 3, (const char *[]){ "SADD", key, bid }, NULL);
    }
    for (struct session *c = b->conns; c; c = c->next) {
        if (c->client_id == 0 || c->state == CS_DEAD)
            continue;
        char key[KEY_MAX], token[SESSION_TOKEN_MAX];
        key_dev(key, c->client_id);
        session_token(c, token);
        const char *argv[] = { "HSET", key, "known", "1", "broker", bid, "conn", token };
        rconn_cmd(&b->store.cmd, NULL, NULL, 8, argv, NULL);
        char member[ARG_INT_MAX], did[ARG_INT_MAX];
        rconn_cmd(&b->store.cmd, NULL, NULL, 4,
                  (const char *[]){ "ZADD", KEY_ONLINE, "0", arg_online(member, c->client_id) },
                  NULL);
        rconn_cmd(&b->store.cmd, NULL, NULL, 3,
                  (const char *[]){ "SADD", key_online_bk(key, b->id), arg_int(did, c->client_id) },
                  NULL);
        c->cursors_dirty = 1;
        for (uint32_t k = 0; k < c->nstreams; k++) {
            c->streams[k].flags &= ~(uint32_t)(SS_CATCHING_UP | SS_MISSED);
            catch_up_stream(c, &c->streams[k]);
        }
    }
    queue_resync(b);
}

static void store_beat(struct broker *b);

static void store_maybe_resync(struct broker *b)
{
    if (store_ready(b) && !b->store.resynced) {
        b->store.resynced = 1;
        store_resync(b);
        /* The marks sent before were lost with the connection: one now,
         * so that no sender waits for them until its next slow PUB. */
        pub_fast_ask_mark(b);
        /* Announced before any device identifies here (the same
         * connection, in order): mesh.broadcast reaches the brokers of
         * pg:brokers, and a device of this loop must not be missed. */
        store_beat(b);
        b->last_beat_ms = mono_ms();
        loop_redis_ready(b);
    }
}

static void store_on_lost(struct rconn *rc, void *arg)
{
    struct broker *b = arg;
    struct store *s = &b->store;
    s->sub_ready = 0;
    s->resynced = 0;
    rconn_reset(rc == &s->cmd ? &s->sub : &s->cmd, "the other redis connection was lost");
}

static void store_on_cmd_ready(struct rconn *rc, void *arg)
{
    (void)rc;
    store_maybe_resync(arg);
}

static void store_on_notice(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct broker *b = privdata;
    redisReply *r = reply;
    (void)ac;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return;
    const redisReply *kind = r->element[0], *chan = r->element[1], *data = r->element[2];
    if (kind->type != REDIS_REPLY_STRING || chan->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(kind->str, "message") == 0 && data->type == REDIS_REPLY_STRING) {
        notice_receive(b, data->str, data->len);
        return;
    }
    if (strcmp(kind->str, "subscribe") == 0) {
        b->store.sub_ready = 1;  /* our one channel, pg:n:bk:<id> */
        store_maybe_resync(b);
    }
}

static void store_on_sub_ready(struct rconn *rc, void *arg)
{
    struct broker *b = arg;
    char name[KEY_MAX];
    (void)rc;
    rconn_subscribe(&b->store.sub, key_notice(name, b->id), store_on_notice, b);
}

void store_init(struct broker *b)
{
    struct store *s = &b->store;
    rconn_init(&s->cmd, b->base, &b->conf.redis, store_script_text, SCRIPT_COUNT,
               REPLY_TIMEOUT_MS, store_on_cmd_ready, store_on_lost, b);
    rconn_init(&s->sub, b->base, &b->conf.redis, NULL, 0, REPLY_TIMEOUT_MS,
               store_on_sub_ready, store_on_lost, b);
    s->cmd.min_replicas = b->conf.redis_ha.min_replicas;
    sentinel_open(&s->sentinel, b->base, &b->conf.redis_ha, &s->cmd, &s->sub);
    rconn_start(&s->cmd);
    rconn_start(&s->sub);
}

void store_shutdown(struct broker *b)
{
    rconn_stop(&b->store.sub);
    rconn_stop(&b->store.cmd);
    sentinel_stop(&b->store.sentinel);
}

void store_flush_cursors(struct broker *b, struct session *c)
{
    if (!c->cursors_dirty || !b->store.cmd.ready || c->client_id == 0)
        return;
    cursor_write(b, c, 0);
    c->cursors_dirty = 0;
}

/* The beat's reply: the limits Redis holds (gateway.limit). */
static void store_beat_done(void *arg, struct redisReply *r)
{
    struct broker *b = arg;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_STRING)
        limits_set(&b->proc->limits, &b->conf, r->element[1]->str, r->element[1]->len,
                   r->element[2]->str, r->element[2]->len);
}

/* What pg:stats has not counted yet of this loop's messages: the Message
 * frames written and the PUBs accepted since the last beat (the PUB script
 * counts none, to spare a call per message). */
static void beat_deltas(struct broker *b, char *in, char *out)
{
    arg_int(in, (int64_t)(b->stats.pubs_in - b->beat_pubs_in));
    b->beat_pubs_in = b->stats.pubs_in;
    arg_int(out, (int64_t)(b->stats.messages_out - b->beat_messages_out));
    b->beat_messages_out = b->stats.messages_out;
}

/* The registry entry routerd assigns devices from (docs/DESIGN.md), and
 * the limits in force. */
static void store_beat(struct broker *b)
{
    char key[KEY_MAX], id[ARG_INT_MAX], in[ARG_INT_MAX], out[ARG_INT_MAX], proc[ARG_INT_MAX];
    char vals[9][ARG_INT_MAX];
    key_bk(key, b->id);
    arg_int(id, b->id);
    beat_deltas(b, in, out);
    arg_int(proc, b->proc->loops[0].id);
    arg_int(vals[0], b->nidentified);
    arg_int(vals[1], b->started_ms);
    arg_int(vals[2], (int64_t)b->stats.messages_in);
    arg_int(vals[3], (int64_t)b->stats.messages_out);
    arg_int(vals[4], (int64_t)b->npending);
    arg_int(vals[5], (int64_t)b->channels.count);
    arg_int(vals[6], b->nconns);
    arg_int(vals[7], b->ws ? b->ws->nclients : 0);
    arg_int(vals[8], b->ws ? b->ws->nservices : 0);
    const char *argv[] = { key, KEY_BROKERS, KEY_STATS, KEY_LIMITS, id, in, out, "addr", b->broadcast, "conns", vals[0],
                           "started", vals[1], "messages_in", vals[2], "messages_out", vals[3],
                           "messages_pending", vals[4], "channels", vals[5],
                           "sockets", vals[6], "proc", proc, "ws", b->ws_broadcast,
                           "ws_clients", vals[7], "ws_services", vals[8] };
    rconn_script(&b->store.cmd, SCRIPT_BEAT, store_beat_done, b, 4, 31, argv, NULL);
    /* The presence index of brokers that died (lua/broker_reap.lua). */
    store_reap(b, 0);
}

void store_leave(struct broker *b)
{
    char key[KEY_MAX], id[ARG_INT_MAX], in[ARG_INT_MAX], out[ARG_INT_MAX];
    beat_deltas(b, in, out);   /* the last beat's counts, as the beat would */
    rconn_cmd(&b->store.cmd, NULL, NULL, 4,
              (const char *[]){ "HINCRBY", KEY_STATS, "messages_in", in }, NULL);
    rconn_cmd(&b->store.cmd, NULL, NULL, 4,
              (const char *[]){ "HINCRBY", KEY_STATS, "messages_out", out }, NULL);
    rconn_cmd(&b->store.cmd, NULL, NULL, 2, (const char *[]){ "DEL", key_bk(key, b->id) }, NULL);
    rconn_cmd(&b->store.cmd, NULL, NULL, 3,
              (const char *[]){ "SREM", KEY_BROKERS, arg_int(id, b->id) }, NULL);
}

void store_tick(struct broker *b, int64_t mono)
{
    rconn_tick(&b->store.cmd);
    if (!b->stopping && store_ready(b) && mono - b->last_beat_ms >= BEAT_MS) {
        b->last_beat_ms = mono;
        store_beat(b);
        queue_beat(b);
    }
}
