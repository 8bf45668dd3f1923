/* PUB (SPEC 2.2, 2.5): one script checks the target, stores the message
 * in its stream, notifies the brokers that deliver it, and remembers the
 * answer for retries. ACK 1 is sent only once Redis has it.
 *
 * A connection may have up to PUB_PIPELINE PUBs waiting for Redis at once
 * (conn_process holds back any other command until they are answered):
 * Redis answers in order, so the Acks go out in order, and a publisher
 * that does not wait for each Ack gets its messages announced in batches,
 * which the brokers then write to their devices in batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <hiredis/hiredis.h>

#include "broker.h"
#include "keys.h"
#include "scripts.h"
#include "xmalloc.h"

struct pub_req {
    struct conn *c;
    int64_t to;
    int64_t mid;
    int refuse;   /* answer ACK 0 whatever the reply (kept in order behind the others) */
    char *error;  /* or write this Error frame instead of an Ack */
    int fatal;    /* and then close */
};

static void pub_ack(struct conn *c, int ok, int64_t mid, int64_t to)
{
    struct evbuffer *out = conn_writer(c);
    if (out)
        frame_add_ack(out, ok, mid, to);
    if (ok)
        c->b->stats.messages_in++;
}

static void pub_done(void *arg, redisReply *r)
{
    struct pub_req *req = arg;
    struct conn *c = req->c;
    c->redis_refs--;
    c->pubs_in_flight--;
    struct evbuffer *out;
    if (req->error && (out = conn_writer(c)) != NULL) {
        frame_add_str(out, FRAME_ERROR, req->error);
        if (req->fatal)
            conn_finish(c);
        else if (c->state == CS_WAIT_REDIS)
            conn_resume(c);
    } else if (c->state == CS_LINE || c->state == CS_BODY || c->state == CS_WAIT_REDIS ||
               c->state == CS_FATAL_WAIT) {
        int ok = !req->refuse && script_ok(r, 1);
        if (!req->refuse && (!r || r->type == REDIS_REPLY_ERROR))
            log_warn("PUB from %lld failed in redis: %s", (long long)c->client_id,
                     r ? r->str : "no reply");
        pub_ack(c, ok, req->mid, req->to);
        if (c->state == CS_WAIT_REDIS)
            conn_resume(c);
    }
    free(req->error);
    free(req);
}

static struct pub_req *pub_req_new(struct conn *c, int64_t to, int64_t mid, int refuse)
{
    struct pub_req *req = xmalloc(sizeof(*req));
    req->c = c;
    req->to = to;
    req->mid = mid;
    req->refuse = refuse;
    req->error = NULL;
    req->fatal = 0;
    return req;
}

static void pub_sent(struct conn *c)
{
    c->redis_refs++;
    c->pubs_in_flight++;
}

int pub_defer_error(struct conn *c, const char *err, const char *reason, int fatal)
{
    if (c->pubs_in_flight == 0)
        return -1;
    struct pub_req *req = pub_req_new(c, 0, 0, 1);
    size_t n = strlen(err) + (reason ? strlen(reason) + 1 : 0) + 1;
    req->error = xmalloc(n);
    snprintf(req->error, n, reason ? "%s %s" : "%s", err, reason);
    req->fatal = fatal;
    /* A PING's reply comes after those of the PUBs sent before it. */
    if (rconn_cmd(&c->b->store.cmd, pub_done, req, 1, (const char *[]){ "PING" }, NULL) < 0) {
        free(req->error);
        free(req);
        return -1;
    }
    pub_sent(c);
    return 0;
}

void cmd_pub(struct conn *c, int64_t to, int64_t channel, int64_t mid, const char *body,
             size_t len)
{
    struct broker *b = c->b;
    if (len == 0) {
        /* Refused at once; behind earlier PUBs, the Ack waits its turn
         * (a PING's reply comes after theirs). */
        struct pub_req *req = pub_req_new(c, to, mid, 1);
        if (c->pubs_in_flight > 0 &&
            rconn_cmd(&b->store.cmd, pub_done, req, 1, (const char *[]){ "PING" }, NULL) == 0) {
            pub_sent(c);
            return;
        }
        free(req);
        pub_ack(c, 0, mid, to);
        return;
    }
    char dup[KEY_MAX], stream[KEY_MAX], target[KEY_MAX], brokers[KEY_MAX];
    char from_s[24], mid_s[24], to_s[24], ch_s[24], ttl_s[24], max_s[24];
    snprintf(dup, sizeof(dup), "pg:dup:%lld:%lld", (long long)c->client_id, (long long)mid);
    if (to) {
        snprintf(stream, sizeof(stream), "pg:dev:%lld:in", (long long)to);
        snprintf(target, sizeof(target), "pg:dev:%lld", (long long)to);
    } else {
        snprintf(stream, sizeof(stream), "pg:ch:%lld", (long long)channel);
        snprintf(target, sizeof(target), "pg:ch:%lld:subs", (long long)channel);
    }
    snprintf(from_s, sizeof(from_s), "%lld", (long long)c->client_id);
    snprintf(mid_s, sizeof(mid_s), "%lld", (long long)mid);
    snprintf(to_s, sizeof(to_s), "%lld", (long long)to);
    snprintf(ch_s, sizeof(ch_s), "%lld", (long long)channel);
    snprintf(ttl_s, sizeof(ttl_s), "%llu", (unsigned long long)b->conf.offline_ttl * 1000);
    snprintf(max_s, sizeof(max_s), "%llu", (unsigned long long)b->conf.offline_max);
    const char *argv[] = { dup, stream, target, key_ch_brokers(brokers, channel), KEY_KEPT,
                           KEY_STATS, from_s, mid_s, to_s, ch_s, body, ttl_s, max_s };
    size_t argvlen[13];
    for (int i = 0; i < 13; i++)
        argvlen[i] = argv[i] == body ? len : strlen(argv[i]);
    struct pub_req *req = pub_req_new(c, to, mid, 0);
    if (rconn_script(&b->store.cmd, SCRIPT_PUB, pub_done, req, 6, 13, argv, argvlen) < 0) {
        free(req);
        pub_ack(c, 0, mid, to);  /* Redis is away: refused, nothing stored */
        return;
    }
    pub_sent(c);
}
