/* PUB (SPEC 2.2, 2.5): one script checks the target, stores the message
 * in its stream, notifies the brokers that deliver it, and remembers the
 * answer for retries. ACK 1 is sent only once Redis has it.
 *
 * A connection may have up to PUB_PIPELINE PUBs waiting for Redis at once
 * (tcp.c holds back any other command until they are answered):
 * Redis answers in order, so the Acks go out in order, and a publisher
 * that does not wait for each Ack gets its messages announced in batches,
 * which the brokers then write to their devices in batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <hiredis/hiredis.h>

#include "broker.h"
#include "deliver_first.h"
#include "keys.h"
#include "scripts.h"
#include "xmalloc.h"

struct pub_req {
    struct store_call call;      /* first: the reply gets the request */
    int64_t to;
    int64_t channel;
    int64_t mid;
    struct msg *fast;  /* already written to the device (pub_fast.c), or NULL */
    int handed;        /* or handed to this sibling loop to write (handoff.c); -1: not */
    int refuse;   /* answer ACK 0 whatever the reply (kept in order behind the others) */
    int error;    /* or write Error frame err instead of an Ack (and close if fatal) */
    enum proto_error err;
    const char *reason;
};

static void pub_ack(struct session *c, int ok, int64_t mid, int64_t to)
{
    if (c->ops->writable(c))
        c->ops->ack(c, ok, mid, to);
    if (ok) {
        c->b->stats.messages_in++;
        c->b->stats.pubs_in++;   /* pg:stats counts it at the next beat (store_beat) */
    }
}

static void pub_done(struct store_call *call, redisReply *r)
{
    struct pub_req *req = (struct pub_req *)call;
    struct session *c = call->c;
    c->pubs_in_flight--;
    int written = script_ok(r, 1) && r->element[1]->type == REDIS_REPLY_STRING;
    if (req->fast)  /* whatever became of the sender */
        pub_fast_done(c->b, req->fast, req->to, written ? r->element[1]->str : NULL,
                      written ? r->element[1]->len : 0);
    else if (req->handed >= 0 && !written)
        handoff_drop(c->b, req->handed, req->to, req->channel, c->client_id, req->mid);
    if (req->error && c->ops->writable(c)) {
        c->ops->error(c, req->err, req->reason);
        if (proto_errors[req->err].fatal)
            session_finish(c);
        else if (c->state == CS_WAIT_REDIS)
            session_resume(c);
    } else if (c->state != CS_CLOSING && c->state != CS_DEAD) {
        int ok = !req->refuse && script_ok(r, 1);
        if (!req->refuse && (!r || r->type == REDIS_REPLY_ERROR))
            log_warn("client %lld: publishing failed in redis: %s", (long long)c->client_id,
                     r ? r->str : "no reply");
        pub_ack(c, ok, req->mid, req->to);
        if (c->state == CS_WAIT_REDIS)
            session_resume(c);
    }
    free(req);
}

static struct pub_req *pub_req_new(int64_t to, int64_t mid, int refuse)
{
    struct pub_req *req = xmalloc(sizeof(*req));
    req->to = to;
    req->channel = 0;
    req->handed = -1;
    req->mid = mid;
    req->refuse = refuse;
    req->error = 0;
    req->fast = NULL;
    return req;
}

/* A PING's reply comes after those of the PUBs sent before it: req's
 * answer waits its turn behind theirs. */
static int pub_queue_behind(struct session *c, struct pub_req *req)
{
    if (store_call(&req->call, c, pub_done, STORE_CMD, 0, 1, (const char *[]){ "PING" }, NULL) < 0)
        return -1;
    c->pubs_in_flight++;
    return 0;
}

int pub_defer_error(struct session *c, enum proto_error err, const char *reason)
{
    if (c->pubs_in_flight == 0)
        return -1;
    struct pub_req *req = pub_req_new(0, 0, 1);
    req->error = 1;
    req->err = err;
    req->reason = reason;
    if (pub_queue_behind(c, req) < 0) {
        free(req);
        return -1;
    }
    return 0;
}

void cmd_pub(struct session *c, int64_t to, int64_t channel, int64_t mid, const char *body,
             size_t len)
{
    struct broker *b = c->b;
    if (len == 0 || !limits_message(c)) {  /* empty, or over messages_per_s (SPEC 5.4) */
        /* Refused at once; behind earlier PUBs, the Ack waits its turn. */
        struct pub_req *req = pub_req_new(to, mid, 1);
        if (c->pubs_in_flight > 0 && pub_queue_behind(c, req) == 0)
            return;
        free(req);
        pub_ack(c, 0, mid, to);
        return;
    }
    char dup[KEY_MAX], stream[KEY_MAX], target[KEY_MAX], brokers[KEY_MAX], dups[KEY_MAX];
    char from_s[ARG_INT_MAX], mid_s[ARG_INT_MAX], to_s[ARG_INT_MAX], ch_s[ARG_INT_MAX];
    char ttl_s[ARG_INT_MAX], max_s[ARG_INT_MAX], dmax_s[ARG_INT_MAX], now_s[ARG_INT_MAX];
    char bid_s[ARG_INT_MAX] = "", at_s[ARG_INT_MAX] = "";
    uint64_t at;
    int loop;
    /* Written to the device first when it is here, or handed to the sibling
     * loop that holds it (docs/DESIGN.md, "Deliver first"); the script is
     * then told which loop writes it and the ms it proposes, and that it
     * is no repeat ("Repeats": the fast path takes no repeat). */
    struct msg *fast = pub_fast_write(c, to, channel, mid, body, len, &at, &loop);
    if (loop >= 0) {
        arg_int(bid_s, b->proc->loops[loop].id);
        arg_int(at_s, (int64_t)at);
    }
    /* The stream the message goes to, and what must exist for it to be
     * routed: the device, or the channel's subscribers. */
    key_stream(stream, to, to ? 0 : channel);
    if (to)
        key_dev(target, to);
    else
        key_ch_subs(target, channel);
    const char *argv[] = { key_dupw(dup, c->client_id), stream, target,
                           key_ch_brokers(brokers, channel), KEY_KEPT, KEY_STATS,
                           key_dups(dups, c->client_id), arg_int(from_s, c->client_id), arg_int(mid_s, mid), arg_int(to_s, to),
                           arg_int(ch_s, channel), body,
                           arg_int(ttl_s, (int64_t)b->conf.offline_ttl * 1000),
                           arg_int(max_s, (int64_t)b->conf.offline_max),
                           arg_int(dmax_s, (int64_t)b->conf.max_dedup_per_sender),
                           arg_int(now_s, now_ms()) /* the script reads no clock */, bid_s,
                           at_s, loop >= 0 ? "1" : "0" };
    size_t argvlen[19];
    for (int i = 0; i < 19; i++)
        argvlen[i] = argv[i] == body ? len : strlen(argv[i]);
    struct pub_req *req = pub_req_new(to, mid, 0);
    req->fast = fast;
    req->channel = channel;
    req->handed = fast ? -1 : loop;
    if (store_call(&req->call, c, pub_done, SCRIPT_PUB | STORE_ACK, 7, 19, argv, argvlen) < 0) {
        free(req);
        if (fast)
            pub_fast_done(b, fast, to, NULL, 0);
        else if (loop >= 0)
            handoff_drop(b, loop, to, channel, c->client_id, mid);
        pub_ack(c, 0, mid, to);  /* Redis is away: refused, nothing stored */
        return;
    }
    c->pubs_in_flight++;
}
