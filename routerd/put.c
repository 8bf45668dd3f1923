/* POST /put (SPEC 3): a business push to a channel or one device. The reply
 * is sent once the message is in Redis (one script, one round trip). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "router.h"

#define TTL_DEFAULT 604800
#define TTL_MAX 2592000

struct put_args {
    int64_t channel, device;
    uint64_t type, ttl;
};

static void put_done(void *arg, redisReply *rep)
{
    struct router *r;
    struct evhttp_request *req = request_take(arg, &r);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
        rep->element[0]->type != REDIS_REPLY_STRING) {
        request_bad_reply(r, req, "put", rep);
        return;
    }
    const char *status = rep->element[0]->str;
    if (strcmp(status, "ok") == 0 && rep->elements == 2) {
        r->stats.puts++;
        json_int_t mid = strtoll(rep->element[1]->str, NULL, 10);
        reply_send(r, req, RC_OK, 1, json_pack("{s:I}", "message_id", mid));
    } else if (strcmp(status, "nosub") == 0) {
        reply_send(r, req, RC_NO_SUB, 1, NULL);
    } else {
        reply_send(r, req, RC_PARAM, 1, NULL);  /* unknown device_id */
    }
}

/* Checks the parameters in order; RC_OK or the code to answer. */
static enum router_code put_parse(struct evkeyvalq *kv, struct put_args *a)
{
    int rc;
    if (params_id(kv, "channel_id", &a->channel) < 0)
        return RC_CHANNEL_ID;
    a->type = 0;
    if (params_uint(kv, "device_type", 0, 6, &a->type) == -2)
        return RC_DEVICE_TYPE;
    a->device = 0;
    if (params_id(kv, "device_id", &a->device) == -2)
        return RC_PARAM;
    a->ttl = TTL_DEFAULT;
    rc = params_uint(kv, "ttl", 1, TTL_MAX, &a->ttl);
    if (rc == -2)
        return RC_PARAM;
    return RC_OK;
}

void put_handle(struct evhttp_request *req, void *arg)
{
    struct router *r = arg;
    struct evkeyvalq kv;
    struct put_args a;
    if (router_request_ok(r, req, 1) < 0)
        return;
    enum router_code code = params_read(req, 0, &kv) < 0 ? RC_PARAM : put_parse(&kv, &a);
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
    char ch_s[24], ty_s[4], dev_s[24], ttl_s[24], max_s[24];
    snprintf(ch_s, sizeof(ch_s), "%lld", (long long)a.channel);
    snprintf(ty_s, sizeof(ty_s), "%u", (unsigned)a.type);
    snprintf(dev_s, sizeof(dev_s), "%lld", (long long)a.device);
    snprintf(ttl_s, sizeof(ttl_s), "%llu", (unsigned long long)a.ttl * 1000);
    snprintf(max_s, sizeof(max_s), "%llu", (unsigned long long)r->conf.offline_max);
    const char *body = (const char *)evbuffer_pullup(in, (ssize_t)len);
    const char *argv[] = { ch_s, ty_s, dev_s, ttl_s, body, max_s };
    size_t argvlen[] = { strlen(ch_s), strlen(ty_s), strlen(dev_s), strlen(ttl_s), len,
                         strlen(max_s) };
    struct router_request *pr = request_new(r, req);
    if (rconn_script(&r->redis, RS_PUT, put_done, pr, 0, 6, argv, argvlen) < 0) {
        request_unsent(pr);
    }
}
