/* The MSG_* requests (SPEC 4). Each is one script; the reply is sent once
 * Redis has answered, so an acknowledged send is durable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "admin.h"
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
            log_error("%s script: %s", r->reply_type, rep->str);
        api_reply(r->a, r->req, 503, r->reply_type, NULL);
    } else {
        call->done(r, rep);
    }
    free(call);
    free(r);
}

/* Runs script `which` with string arguments; done gets the reply. */
static void api_run(struct api_req *r, enum admin_script which, api_done_fn *done, int argc,
                    const char **argv, const size_t *argvlen)
{
    struct api_call *call = xmalloc(sizeof(*call));
    call->r = r;
    call->done = done;
    if (rconn_script(&r->a->redis, which, api_on_reply, call, 0, argc, argv, argvlen) < 0) {
        api_reply(r->a, r->req, 503, r->reply_type, NULL);
        free(call);
        free(r);
    }
}

static void api_ok_or_404(struct api_req *r, redisReply *rep)
{
    int ok = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    api_reply(r->a, r->req, ok ? 200 : 404, r->reply_type, NULL);
}

#define NUM(buf, v) snprintf(buf, sizeof(buf), "%lld", (long long)(v))

void api_send(struct api_req *r, const char *payload, size_t len)
{
    char s[24], d[24], id[24], ttl[24], max[24];
    NUM(s, r->saddr);
    NUM(d, r->daddr);
    NUM(id, r->id);
    NUM(ttl, r->a->conf.offline_ttl * 1000);
    NUM(max, r->a->conf.offline_max);
    const char *argv[] = { s, d, id, payload, ttl, max };
    size_t lens[] = { strlen(s), strlen(d), strlen(id), len, strlen(ttl), strlen(max) };
    api_run(r, AS_SEND, api_ok_or_404, 6, argv, lens);
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

/* RECV reply: {from, message id, body}; nil when nothing is kept. */
static void api_recv_done(struct api_req *r, redisReply *rep)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3) {
        api_reply(r->a, r->req, 404, r->reply_type, NULL);
        return;
    }
    const redisReply *body = rep->element[2];
    json_t *extra = json_pack("{s:I, s:I, s:I}",
                              "saddr", (json_int_t)strtoll(rep->element[0]->str, NULL, 10),
                              "daddr", r->saddr,
                              "id", (json_int_t)strtoll(rep->element[1]->str, NULL, 10));
    json_t *text = json_stringn(body->str, body->len);  /* NULL unless valid UTF-8 */
    if (text) {
        json_object_set_new(extra, "payload", text);
    } else {
        char *enc = base64((const unsigned char *)body->str, body->len);
        json_object_set_new(extra, "payload_base64", json_string(enc));
        free(enc);
    }
    api_reply(r->a, r->req, 200, r->reply_type, extra);
}

void api_recv(struct api_req *r)
{
    char s[24];
    NUM(s, r->saddr);
    const char *argv[] = { s };
    api_run(r, AS_RECV, api_recv_done, 1, argv, NULL);
}

void api_free(struct api_req *r)
{
    char s[24], id[24];
    NUM(s, r->saddr);
    NUM(id, r->id);
    const char *argv[] = { s, id };
    api_run(r, AS_FREE, api_ok_or_404, 2, argv, NULL);
}

void api_helo(struct api_req *r)
{
    char s[24];
    NUM(s, r->saddr);
    const char *argv[] = { s };
    api_run(r, AS_HELO, api_ok_or_404, 1, argv, NULL);
}

void api_gbye(struct api_req *r)
{
    char s[24];
    NUM(s, r->saddr);
    const char *argv[] = { s };
    api_run(r, AS_GBYE, api_ok_or_404, 1, argv, NULL);
}

static void api_stat_done(struct api_req *r, redisReply *rep)
{
    json_t *totals = stats_parse_totals(rep);
    if (!totals) {
        api_reply(r->a, r->req, 503, r->reply_type, NULL);
        return;
    }
    api_reply(r->a, r->req, 200, r->reply_type, json_pack("{s:o}", "payload", totals));
}

void api_stat(struct api_req *r)
{
    api_run(r, AS_STATS, api_stat_done, 0, NULL, NULL);
}
