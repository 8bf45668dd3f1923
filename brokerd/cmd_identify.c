/* IDENTIFY (SPEC 2.2, 2.7): validate the body, check the token's HMAC,
 * then one script checks its generation (a revoked token is refused before
 * anything is written), loads the subscriptions and read positions; only
 * then is an older connection of the same device on this loop replaced, so
 * that a refused IDENTIFY kicks no one. Then catch up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "broker.h"
#include "deliver_first.h"
#include "chan.h"
#include "identify_body.h"
#include "proto.h"
#include "keys.h"
#include "numparse.h"
#include "scripts.h"
#include "token.h"
#include "xmalloc.h"

/* While Redis answers, IDENTIFY's args: [0] the client id, [1] "tls_v1"
 * asked, [2] the deflate level asked (0: not asked). */
enum { ARG_ID, ARG_TLS, ARG_DEFLATE };

/* What SPEC 2.8 grants of what c asked: TLS with a certificate, deflate
 * unless --deflate no, at most --max-deflate-level; nothing where the
 * transport has no layers. */
static void identify_granted(const struct session *c, int *tls, int *level)
{
    const struct broker *b = c->b;
    int layers = c->ops->upgrade != NULL;
    *tls = layers && c->args[ARG_TLS] && b->proc->tls;
    *level = layers && c->args[ARG_DEFLATE] && b->conf.deflate ? (int)c->args[ARG_DEFLATE] : 0;
    if (*level > (int)b->conf.max_deflate_level)
        *level = (int)b->conf.max_deflate_level;
}

static void identify_reply_ok(struct session *c)
{
    if (!c->feature_negotiation) {
        session_response(c, PROTO_RESPONSE_OK);
        return;
    }
    struct broker *b = c->b;
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:s, s:I}",
                          "client_id", (json_int_t)c->client_id,
                          "heartbeat_interval", (json_int_t)(c->heartbeat_ms / 1000),
                          "max_msg_size", (json_int_t)b->conf.max_msg_size,
                          "msg_timeout", (json_int_t)b->conf.msg_timeout,
                          "broker", b->broadcast,
                          "broker_id", (json_int_t)b->id);
    if (c->args[ARG_TLS] || c->args[ARG_DEFLATE]) {
        int tls, level;
        identify_granted(c, &tls, &level);
        json_object_set_new(o, "tls_v1", json_boolean(tls));
        json_object_set_new(o, "deflate", json_boolean(level > 0));
        json_object_set_new(o, "deflate_level", json_integer(level));
    }
    char *text = json_dumps(o, JSON_COMPACT);
    session_response(c, text);
    free(text);
    json_decref(o);
}

static void identify_unregister(struct session *c)
{
    struct broker *b = c->b;
    if (!c->registered)
        return;
    c->registered = 0;
    if (c->client_id == 0) {
        if (imap_get(&b->identifying, (int64_t)c->nonce) == c)
            imap_del(&b->identifying, (int64_t)c->nonce);
        /* Its IDENTIFY failed or it closed first: the older connection of
         * the id stays, and may be written to first again, unless another
         * IDENTIFY of the id is in flight here (a rare walk: a failure). */
        struct session *old = imap_get(&b->clients, c->args[ARG_ID]);
        for (size_t i = 0; old && i < b->identifying.cap; i++) {
            const struct session *o = b->identifying.slots[i].val;
            if (b->identifying.slots[i].key && o->args[ARG_ID] == c->args[ARG_ID])
                old = NULL;
        }
        if (old)
            old->replacing = 0;
    } else if (imap_get(&b->clients, c->client_id) == c) {
        imap_del(&b->clients, c->client_id);
        handoff_dev_gone(c);
    }
}

struct session *identify_waiting(struct broker *b, const char *tok, size_t len)
{
    const char *colon = memchr(tok, ':', len);
    int64_t bid, nonce;
    if (!colon || parse_id(tok, (size_t)(colon - tok), &bid) < 0 || bid != b->id ||
        parse_id(colon + 1, len - (size_t)(colon + 1 - tok), &nonce) < 0)
        return NULL;
    return imap_get(&b->identifying, nonce);
}

/* The script said ok: c takes its id over on this loop. Returns the older
 * connection of the id here (or NULL), to be replaced once c has joined
 * its channels: had it left them first, the last local subscriber's
 * leaving would take this broker out of a channel's brokers in Redis after
 * the script put it in. */
static struct session *identify_take_over(struct session *c)
{
    struct broker *b = c->b;
    int64_t id = c->args[ARG_ID];
    imap_del(&b->identifying, (int64_t)c->nonce);
    struct session *old = imap_get(&b->clients, id);
    c->client_id = id;
    imap_put(&b->clients, id, c);
    handoff_dev_here(c);
    pub_barrier_register(c);
    return old;
}

/* What IDENTIFY's script said of the device's last connection. */
struct identify_past {
    int64_t since_ms;            /* the last clean disconnect, or when its broker died */
    int clean;                   /* it ended cleanly: its SENT marks are exact */
};

/* Sets s's read position and where its never-sent entries begin: from
 * its stored cursor (text, NULL if none) or, without one, the inbox from
 * its start and a channel from the last clean disconnect (SUB always
 * stores one). */
static void identify_cursor(const struct identify_past *past, struct stream_state *s,
                            const redisReply *cur)
{
    struct eid sent = { 0, 0 };
    if (s->channel) {
        sent.ms = (uint64_t)past->since_ms;
        sent.seq = UINT64_MAX;
    }
    s->sent = sent;
    if (cur)
        cursor_parse(cur->str, cur->len, &s->sent, &sent);
    s->fresh_after = sent;
    /* After a crash the SENT marks are stale: anything up to now may have
     * reached the device. */
    struct eid crash = { (uint64_t)past->since_ms, UINT64_MAX };
    if (!past->clean && eid_cmp(crash, sent) > 0)
        s->fresh_after = crash;
}

/* Fills c's streams from the script's subscriptions and cursors (field,
 * value pairs): sorted once, then each cursor found by binary search, so
 * that thousands of subscriptions cost O(n log n), not O(n^2). */
static void identify_load_streams(struct session *c, const struct identify_past *past,
                                  const redisReply *subs, const redisReply *cur)
{
    int64_t *channels = xcalloc(subs->elements + 1, sizeof(*channels));
    uint32_t n = 0;
    channels[n++] = 0;  /* the inbox */
    for (size_t k = 0; k < subs->elements; k++) {
        const redisReply *e = subs->element[k];
        /* A name's handle is made here, its channel joined below. */
        if (e->type == REDIS_REPLY_STRING && chan_name_valid(e->str, e->len))
            channels[n++] = channel_handle(c->b, e->str, e->len, 1);
    }
    session_set_streams(c, channels, n);
    free(channels);
    /* A cursor of a channel the device no longer subscribes to is ignored. */
    const redisReply **found = xcalloc(c->nstreams, sizeof(*found));
    for (size_t i = 0; i + 1 < cur->elements; i += 2) {
        const redisReply *f = cur->element[i], *v = cur->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        int inbox = strcmp(f->str, "in") == 0;
        const char *name;
        size_t nl;
        int64_t ch = inbox || chan_field_name(f->str, f->len, &name, &nl) < 0
                         ? 0 : channel_handle(c->b, name, nl, 0);
        struct stream_state *s = inbox || ch != 0 ? session_stream(c, ch) : NULL;
        if (s)
            found[s - c->streams] = v;
    }
    for (uint32_t i = 0; i < c->nstreams; i++)
        identify_cursor(past, &c->streams[i], found[i]);
    free(found);
}

/* The script's values: clean_since, clean, subs, cursors, device type. */
enum { ID_SINCE = 1, ID_CLEAN, ID_SUBS, ID_CUR, ID_TYPE };

static int identify_reply_valid(const redisReply *r)
{
    return script_ok(r, 5) &&
           r->element[ID_SINCE]->type == REDIS_REPLY_STRING &&
           r->element[ID_CLEAN]->type == REDIS_REPLY_STRING &&
           r->element[ID_SUBS]->type == REDIS_REPLY_ARRAY &&
           r->element[ID_CUR]->type == REDIS_REPLY_ARRAY &&
           r->element[ID_TYPE]->type == REDIS_REPLY_STRING;
}

static void identify_done(struct store_call *call, redisReply *r)
{
    struct session *c = call->c;
    struct broker *b = c->b;
    free(call);
    if (c->state != CS_WAIT_REDIS || !c->registered)
        return;  /* closed or replaced meanwhile */
    const char *status = script_status(r);
    if (status && strcmp(status, "revoked") == 0) {
        log_info("client %lld: token of a revoked generation", (long long)c->args[0]);
        identify_unregister(c);
        session_fail(c, ERR_UNAUTHORIZED, "token revoked");
        return;
    }
    if (!identify_reply_valid(r)) {
        log_warn("client %lld: identifying failed in redis: %s", (long long)c->args[0],
                 r && r->type == REDIS_REPLY_ERROR ? r->str : "no reply");
        identify_unregister(c);
        session_fail(c, ERR_IDENTIFY_FAILED, NULL);
        session_resume(c);
        return;
    }
    struct session *old = identify_take_over(c);
    c->timer_ms = mono_ms();  /* the heartbeat timeout counts from here */
    struct identify_past past = { strtoll(r->element[ID_SINCE]->str, NULL, 10),
                                  r->element[ID_CLEAN]->str[0] == '1' };
    c->device_type = atoi(r->element[ID_TYPE]->str);
    pub_fast_identified(c, past.since_ms, past.clean);
    b->nidentified++;
    identify_load_streams(c, &past, r->element[ID_SUBS], r->element[ID_CUR]);
    identify_reply_ok(c);
    conn_event(c, 1);  /* before the older connection's close, when it is here */
    log_debug("client %lld identified (heartbeat %llds, %u streams)", (long long)c->client_id,
              (long long)(c->heartbeat_ms / 1000), c->nstreams);
    for (uint32_t i = 0; i < c->nstreams; i++) {
        struct stream_state *s = &c->streams[i];
        if (s->channel)
            channel_join(b, c, s);
        else
            catch_up_stream(c, s);
    }
    if (old)
        session_replaced(old);
    /* SPEC 2.8: the reply went in clear; the layers follow, and their
     * first frame is OK. */
    int tls, level;
    identify_granted(c, &tls, &level);
    if (tls || level) {
        if (c->ops->upgrade(c, tls, level) < 0) {
            log_warn("client %lld: cannot set up TLS or deflate", (long long)c->client_id);
            session_close(c);
            return;
        }
        session_response(c, PROTO_RESPONSE_OK);
    }
    session_resume(c);
}

void session_token(const struct session *c, char buf[SESSION_TOKEN_MAX])
{
    snprintf(buf, SESSION_TOKEN_MAX, "%lld:%llu", (long long)c->b->id,
             (unsigned long long)c->nonce);
}

void session_replaced(struct session *c)
{
    log_info("client %lld replaced by a newer connection", (long long)c->client_id);
    session_fail(c, ERR_REPLACED, NULL);
}

void cmd_identify(struct session *c, const char *body, size_t len)
{
    struct identify_req req;
    const char *why;
    json_t *o = identify_body_parse(body, len, &req, &why);
    if (!o) {
        session_fail(c, ERR_BAD_BODY, why);
        return;
    }
    if (c->b->conf.tls_required && !req.tls) {
        json_decref(o);
        session_fail(c, ERR_BAD_BODY, "tls required");
        return;
    }
    identify_start(c, &req);
    json_decref(o);
}

void identify_start(struct session *c, const struct identify_req *r)
{
    struct broker *b = c->b;
    struct identify_req req = *r;
    /* With a secret, the HMAC is checked here and the script compares the
     * token's generation with the device's; without one, nothing is. */
    int secret = b->conf.secret && *b->conf.secret;
    int64_t gen = secret ? token_check(b->conf.secret, req.client_id, req.token) : 0;
    if (gen < 0) {
        session_fail(c, ERR_UNAUTHORIZED, "missing or wrong token");
        return;
    }
    if (!store_ready(b)) {
        session_fail(c, ERR_IDENTIFY_FAILED, NULL);
        return;
    }
    /* An older connection here keeps the id until the script answers; its
     * read positions go first (pipelined), so that the script reads them as
     * they are now. */
    struct session *old = imap_get(&b->clients, req.client_id);
    if (old) {
        store_flush_cursors(b, old);
        old->replacing = 1;  /* nothing more is written to it first (pub_fast.c) */
    }
    char key[4][KEY_MAX], bid[ARG_INT_MAX], token[SESSION_TOKEN_MAX], did[ARG_INT_MAX],
        gen_s[ARG_INT_MAX] = "", ip[CONN_IP_MAX];
    c->nonce = ++b->next_nonce;
    session_token(c, token);
    const char *argv[] = { key_dev(key[0], req.client_id), key_dev_subs(key[1], req.client_id),
                           key_dev_cur(key[2], req.client_id), KEY_DEVICES, KEY_STATS,
                           KEY_ONLINE, key_online_bk(key[3], b->id), KEY_ONLINE_BROKERS,
                           arg_int(bid, b->id), token, arg_int(did, req.client_id),
                           secret ? arg_int(gen_s, gen) : gen_s, req.anonymous ? "1" : "",
                           conn_topic(c), conn_ip(c, ip) };
    struct store_call *call = xmalloc(sizeof(*call));
    if (store_call(call, c, identify_done, SCRIPT_IDENTIFY, 8, 15, argv, NULL) < 0) {
        free(call);
        session_fail(c, ERR_IDENTIFY_FAILED, NULL);
        return;
    }
    c->args[ARG_ID] = req.client_id;
    c->args[ARG_TLS] = req.tls;
    c->args[ARG_DEFLATE] = req.deflate ? req.deflate_level : 0;
    c->heartbeat_ms = (int32_t)(req.heartbeat * 1000);
    /* Asking for TLS or deflate makes the reply the settings' JSON. */
    c->feature_negotiation = req.feature_negotiation || req.tls || req.deflate;
    c->registered = 1;
    imap_put(&b->identifying, (int64_t)c->nonce, c);
    session_set_state(c, CS_WAIT_REDIS);
}

void identify_forget(struct session *c)
{
    struct broker *b = c->b;
    if (!c->registered)
        return;
    identify_unregister(c);
    if (c->client_id == 0)
        return;  /* still identifying: nothing loaded yet */
    pub_fast_forget(c);
    conn_event(c, 0);
    if (b->store.cmd.ready)
        cursor_write(b, c, 1);
    for (uint32_t i = 0; i < c->nstreams; i++)
        if (c->streams[i].channel)
            channel_leave(b, c, &c->streams[i]);
    b->nidentified--;
}
