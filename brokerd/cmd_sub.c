/* SUB and UNSUB (SPEC 2.2): subscriptions belong to the device and live in
 * Redis; the broker keeps an index channel -> local connections for
 * fan-out (channel.c), and is listed in pg:ch:{c}:brokers while it has a
 * subscriber of c, so that a message to c is announced to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "proto.h"
#include "keys.h"
#include "scripts.h"
#include "xmalloc.h"

/* ---- the commands ---- */

struct sub_req {
    struct store_call call;      /* first: the reply gets the request */
    int64_t channel;
    int sub;  /* 1 SUB, 0 UNSUB */
};

static void sub_done(struct store_call *call, redisReply *r)
{
    struct sub_req *req = (struct sub_req *)call;
    struct session *c = call->c;
    struct broker *b = c->b;
    int64_t channel = req->channel;
    int sub = req->sub;
    free(req);
    if (c->state != CS_WAIT_REDIS || !c->registered)
        return;
    const char *status = script_status(r);
    if (sub && status && strcmp(status, "toomany") == 0) {
        session_fail(c, ERR_SUB_FAILED, "too many subscriptions");  /* not fatal */
        session_resume(c);
        return;
    }
    if (!script_ok(r, sub) || (sub && r->element[1]->type != REDIS_REPLY_STRING)) {
        session_fail(c, sub ? ERR_SUB_FAILED : ERR_UNSUB_FAILED, NULL);
        session_resume(c);
        return;
    }
    struct stream_state *s = session_stream(c, channel);
    if (sub && !s) {
        s = session_add_stream(c, channel);
        cursor_parse(r->element[1]->str, r->element[1]->len, &s->sent, &s->fresh_after);
        channel_join(b, c, s);
    } else if (!sub && s) {
        channel_leave(b, c, s);
        session_del_stream(c, s);
    }
    session_response(c, PROTO_RESPONSE_OK);
    session_resume(c);
}

void sub_keys(const char *argv[SUB_NKEYS], char key[SUB_NKEYS - 1][KEY_MAX], int64_t device,
              const char *channel)
{
    argv[0] = key_dev_subs(key[0], device);
    argv[1] = key_chn_subs(key[1], channel);
    argv[2] = key_dev_cur(key[2], device);
    argv[3] = key_chn(key[3], channel);
    argv[4] = key_chn_brokers(key[4], channel);
    argv[5] = key_dev(key[5], device);
    argv[6] = key_chn_subs_types(key[6], channel);
    argv[7] = KEY_CHANNELS;
}

static void sub_send(struct session *c, int64_t channel, int sub)
{
    struct broker *b = c->b;
    char key[SUB_NKEYS - 1][KEY_MAX], dev[ARG_INT_MAX], ch[ARG_INT_MAX], bid[ARG_INT_MAX],
        max[ARG_INT_MAX];
    /* SUB and UNSUB take the same keys and arguments. */
    const char *argv[SUB_NKEYS + 4];
    sub_keys(argv, key, c->client_id, arg_int(ch, channel));
    argv[SUB_NKEYS] = arg_int(dev, c->client_id);
    argv[SUB_NKEYS + 1] = ch;
    argv[SUB_NKEYS + 2] = arg_int(bid, b->id);
    argv[SUB_NKEYS + 3] = arg_int(max, (int64_t)b->conf.max_subs);
    struct sub_req *req = xmalloc(sizeof(*req));
    req->channel = channel;
    req->sub = sub;
    if (store_call(&req->call, c, sub_done, sub ? SCRIPT_SUB : SCRIPT_UNSUB, SUB_NKEYS,
                   SUB_NKEYS + 4, argv, NULL) < 0) {
        free(req);
        session_fail(c, sub ? ERR_SUB_FAILED : ERR_UNSUB_FAILED, NULL);
        return;
    }
    session_set_state(c, CS_WAIT_REDIS);
}

void cmd_sub(struct session *c, int64_t channel)
{
    if (session_stream(c, channel)) {
        session_response(c, PROTO_RESPONSE_OK);  /* already subscribed: idempotent */
        return;
    }
    sub_send(c, channel, 1);
}

void cmd_unsub(struct session *c, int64_t channel)
{
    sub_send(c, channel, 0);
}
