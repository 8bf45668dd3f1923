/* The MSG_* requests (SPEC 4). Each is one script; the reply is sent once
 * Redis has answered, so an acknowledged send is durable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "admin.h"
#include "keys.h"
#include "scripts.h"
#include "xmalloc.h"

typedef void api_done_fn(struct api_req *r, struct redisReply *rep);

struct api_call {
    struct api_req *r;
    api_done_fn *done;
};

static void api_on_reply(void *arg, redisReply *rep)
{
    struct api_call *call = arg;
    struct api_req *r = call->r;
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        if (rep)
            log_error("%s script: %s", r->reply_type.name, rep->str);
        api_reply(r->a, r->req, 503, &r->reply_type, NULL);
    } else {
        call->done(r, rep);
    }
    free(call);
    free(r);
}

/* Runs script `which` with nkeys keys, then string arguments; done gets
 * the reply. */
static void api_run(struct api_req *r, enum admin_script which, api_done_fn *done, int nkeys,
                    int argc, const char **argv, const size_t *argvlen)
{
    struct api_call *call = xmalloc(sizeof(*call));
    call->r = r;
    call->done = done;
    /* MSG_SEND_ACK acknowledges: with --redis-min-replicas it waits for WAIT. */
    int rv = which == AS_SEND
                 ? rconn_script_durable(&r->a->redis, which, api_on_reply, call, nkeys, argc,
                                        argv, argvlen)
                 : rconn_script(&r->a->redis, which, api_on_reply, call, nkeys, argc, argv, argvlen);
    if (rv < 0) {
        api_reply(r->a, r->req, 503, &r->reply_type, NULL);
        free(call);
        free(r);
    }
}

static void api_ok_or_404(struct api_req *r, redisReply *rep)
{
    int ok = script_ok(rep, 0);
    api_reply(r->a, r->req, ok ? 200 : 404, &r->reply_type, NULL);
}

void api_send(struct api_req *r, const char *payload, size_t len)
{
    char s[ARG_INT_MAX], d[ARG_INT_MAX], id[ARG_INT_MAX], ttl[ARG_INT_MAX], max[ARG_INT_MAX];
    char k[3][KEY_MAX];
    const char *argv[] = { key_dupw(k[0], r->saddr), key_dev(k[1], r->daddr),
                           key_dev_in(k[2], r->daddr), KEY_API_CLIENTS, KEY_KEPT, KEY_STATS,
                           arg_int(s, r->saddr), arg_int(d, r->daddr), arg_int(id, r->id),
                           payload, arg_int(ttl, (int64_t)r->a->conf.offline_ttl * 1000),
                           arg_int(max, (int64_t)r->a->conf.offline_max) };
    size_t lens[12];
    for (int i = 0; i < 12; i++)
        lens[i] = argv[i] == payload ? len : strlen(argv[i]);
    api_run(r, AS_SEND, api_ok_or_404, 6, 12, argv, lens);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding; the caller frees. */
static char *base64(const unsigned char *p, size_t n)
{
    char *out = xmalloc(4 * ((n + 2) / 3) + 1), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *o++ = b64[(v >> 18) & 63];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* RECV reply: {"ok", from, message id, body}; {"empty"} when nothing is kept. */
static void api_recv_done(struct api_req *r, redisReply *rep)
{
    if (!script_ok(rep, 3)) {
        api_reply(r->a, r->req, 404, &r->reply_type, NULL);
        return;
    }
    const redisReply *body = rep->element[3];
    json_t *extra = json_pack("{s:I, s:I, s:I}",
                              "saddr", (json_int_t)strtoll(rep->element[1]->str, NULL, 10),
                              "daddr", r->saddr,
                              "id", (json_int_t)strtoll(rep->element[2]->str, NULL, 10));
    json_t *text = json_stringn(body->str, body->len);  /* NULL unless valid UTF-8 */
    if (text) {
        json_object_set_new(extra, "payload", text);
    } else {
        char *enc = base64((const unsigned char *)body->str, body->len);
        json_object_set_new(extra, "payload_base64", json_string(enc));
        free(enc);
    }
    api_reply(r->a, r->req, 200, &r->reply_type, extra);
}

/* The keys of receiver d's scripts (lua/admin_recv.lua, admin_free.lua):
 * its hash, inbox, subscriptions, cursors and freed set. */
#define RECEIVER_KEYS 5
static void receiver_keys(char k[RECEIVER_KEYS][KEY_MAX], const char *argv[], int64_t d)
{
    argv[0] = key_dev(k[0], d);
    argv[1] = key_dev_in(k[1], d);
    argv[2] = key_dev_subs(k[2], d);
    argv[3] = key_dev_cur(k[3], d);
    argv[4] = key_dev_freed(k[4], d);
}

void api_recv(struct api_req *r)
{
    char k[RECEIVER_KEYS][KEY_MAX];
    const char *argv[RECEIVER_KEYS];
    receiver_keys(k, argv, r->saddr);
    api_run(r, AS_RECV, api_recv_done, RECEIVER_KEYS, RECEIVER_KEYS, argv, NULL);
}

void api_free(struct api_req *r)
{
    char k[RECEIVER_KEYS][KEY_MAX], id[ARG_INT_MAX];
    const char *argv[RECEIVER_KEYS + 2];
    receiver_keys(k, argv, r->saddr);
    argv[RECEIVER_KEYS] = KEY_STATS;  /* the kept count */
    argv[RECEIVER_KEYS + 1] = arg_int(id, r->id);
    api_run(r, AS_FREE, api_ok_or_404, RECEIVER_KEYS + 1, RECEIVER_KEYS + 2, argv, NULL);
}

void api_helo(struct api_req *r)
{
    char s[ARG_INT_MAX];
    arg_int(s, r->saddr);
    const char *argv[] = { KEY_API_CLIENTS, s };
    api_run(r, AS_HELO, api_ok_or_404, 1, 2, argv, NULL);
}

void api_gbye(struct api_req *r)
{
    char s[ARG_INT_MAX], k[4][KEY_MAX];
    arg_int(s, r->saddr);
    const char *argv[] = { KEY_API_CLIENTS, key_dev_in(k[0], r->saddr),
                           key_dev_freed(k[1], r->saddr), key_dev_cur(k[2], r->saddr),
                           key_dev(k[3], r->saddr), KEY_STATS, s };
    api_run(r, AS_GBYE, api_ok_or_404, 6, 7, argv, NULL);
}

static void api_stat_done(struct api_req *r, redisReply *rep)
{
    json_t *totals = stats_parse_totals(rep);
    if (!totals) {
        api_reply(r->a, r->req, 503, &r->reply_type, NULL);
        return;
    }
    api_reply(r->a, r->req, 200, &r->reply_type, json_pack("{s:o}", "payload", totals));
}

void api_stat(struct api_req *r)
{
    const char *keys[] = STATS_KEYS;
    api_run(r, AS_STATS, api_stat_done, STATS_NKEYS, STATS_NKEYS, keys, NULL);
}
