/* POST /put (SPEC 3): a business push to a channel or one device. The reply
 * is sent once the message is in Redis (one script, one round trip). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "bearer.h"
#include "clock.h"
#include "keys.h"
#include "router.h"
#include "scripts.h"

static void put_done(void *arg, redisReply *rep)
{
    struct router *r;
    struct evhttp_request *req = request_take(arg, &r);
    const char *status = script_status(rep);
    if (!status) {
        request_bad_reply(r, req, "put", rep);
        return;
    }
    if (script_ok(rep, 1)) {
        r->stats.puts++;
        json_int_t mid = strtoll(rep->element[1]->str, NULL, 10);
        reply_send(r, req, RC_OK, 1, json_pack("{s:I}", "message_id", mid));
    } else if (strcmp(status, "nosub") == 0) {
        reply_send(r, req, RC_NO_SUB, 1, NULL);
    } else {
        reply_send(r, req, RC_PARAM, 1, NULL);  /* unknown device_id */
    }
}

/* The /put script counts nothing in messages_in, to spare Redis a call per
 * request: each tick (100 ms) adds the loop's accepted puts at once, and the
 * loop's stop its last ones (docs/DESIGN.md, "Counters"). Redis away: they
 * wait for the next tick that reaches it. */
void put_count(struct router *r)
{
    uint64_t n = atomic_load(&r->stats.puts) - r->puts_counted;
    char s[ARG_INT_MAX];
    if (n > 0 && rconn_cmd(&r->redis, NULL, NULL, 4,
                           (const char *[]){ "HINCRBY", KEY_STATS, "messages_in",
                                             arg_int(s, (int64_t)n) }, NULL) == 0)
        r->puts_counted += n;
}

void put_handle(struct evhttp_request *req, void *arg)
{
    struct router *r = arg;
    struct evkeyvalq kv;
    struct put_args a;
    if (router_request_ok(r, req, 1) < 0)
        return;
    if (!bearer_ok(req, r->conf.put_token)) {
        reply_param_status(r, req, 401);
        return;
    }
    enum router_code code = params_read(req, 0, &kv) < 0 ? RC_PARAM : put_check(&kv, &a);
    params_free(&kv);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (code == RC_OK && len == 0)
        code = RC_MSG_EMPTY;
    if (code == RC_OK && len > r->conf.max_msg_size)
        code = RC_MSG_TOO_LONG;
    if (code != RC_OK) {
        reply_send(r, req, code, 1, NULL);
        return;
    }
    char ch_s[ARG_INT_MAX], ty_s[ARG_INT_MAX], dev_s[ARG_INT_MAX], ttl_s[ARG_INT_MAX];
    char max_s[ARG_INT_MAX], now_s[ARG_INT_MAX];
    const char *body = (const char *)evbuffer_pullup(in, (ssize_t)len);
    char stream[KEY_MAX], target[KEY_MAX], types[KEY_MAX], brokers[KEY_MAX];
    /* The stream the message goes to, and what must exist for it to be
     * routed: the device, or the channel's subscribers. */
    key_stream(stream, a.device, a.device ? 0 : a.channel);
    if (a.device)
        key_dev(target, a.device);
    else
        key_ch_subs(target, a.channel);
    const char *argv[] = { stream, target, key_ch_subs_types(types, a.channel),
                           key_ch_brokers(brokers, a.channel), KEY_NEXT_PUT_ID, KEY_KEPT,
                           KEY_STATS, arg_int(ch_s, a.channel), arg_int(ty_s, (int64_t)a.type),
                           arg_int(dev_s, a.device), arg_int(ttl_s, (int64_t)a.ttl * 1000), body,
                           arg_int(max_s, (int64_t)r->conf.offline_max),
                           arg_int(now_s, now_ms()) /* the script reads no clock */ };
    size_t argvlen[14];
    for (int i = 0; i < 14; i++)
        argvlen[i] = argv[i] == body ? len : strlen(argv[i]);
    struct router_request *pr = request_new(r, req);
    if (rconn_script_durable(&r->redis, RS_PUT, put_done, pr, 7, 14, argv, argvlen) < 0)
        request_unsent(pr);
}
