/* The dashboard's lookups and actions: a device, the busiest channels,
 * disconnecting a device (its broker closes it with E_DISCONNECTED), and
 * revoking its tokens (the same, and its old tokens are refused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>

#include "admin.h"
#include "httputil.h"
#include "keys.h"
#include "numparse.h"
#include "scripts.h"
#include "xmalloc.h"

typedef void web_done_fn(struct evhttp_request *req, struct redisReply *rep);

struct web_call {
    struct evhttp_request *req;
    web_done_fn *done;
};

static void web_on_reply(void *arg, redisReply *rep)
{
    struct web_call *call = arg;
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        if (rep)
            log_error("admin script: %s", rep->str);
        reply_error(call->req, 503, "redis unavailable");
    } else {
        call->done(call->req, rep);
    }
    free(call);
}

/* Runs a script (which >= 0) with nkeys keys, or a command (which < 0),
 * for a web request. */
static void web_run(struct admin *a, struct evhttp_request *req, int which, web_done_fn *done,
                    int nkeys, int argc, const char **argv)
{
    struct web_call *call = xmalloc(sizeof(*call));
    call->req = req;
    call->done = done;
    int rc = which >= 0
                 ? rconn_script(&a->redis, which, web_on_reply, call, nkeys, argc, argv, NULL)
                 : rconn_cmd(&a->redis, web_on_reply, call, argc, argv, NULL);
    if (rc < 0) {
        free(call);
        reply_error(req, 503, "redis unavailable");
    }
}

/* The query string's parameters; 0, or -1 after a 400. */
static int web_query(struct evhttp_request *req, struct evkeyvalq *kv)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    kv->tqh_first = NULL;
    kv->tqh_last = &kv->tqh_first;
    if (q && evhttp_parse_query_str(q, kv) != 0) {
        evhttp_clear_headers(kv);
        reply_error(req, 400, "malformed query string");
        return -1;
    }
    return 0;
}

static int web_method(struct admin *a, struct evhttp_request *req, enum evhttp_cmd_type want)
{
    if (evhttp_request_get_command(req) != want) {
        reply_error(req, 405, "method not allowed");
        return 0;
    }
    return auth_ok(a, req);
}

static const char *str_at(const redisReply *r, size_t i)
{
    return r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
}

static json_t *str_or_null(const char *s)
{
    return *s ? json_string(s) : json_null();
}

/* DEVICE reply: {"ok", id, type, serial, name, broker id, broker addr,
 * online, subs, pending, context}, or {"unknown"}. */
enum { DV_ID = 1, DV_TYPE, DV_SERIAL, DV_NAME, DV_BROKER, DV_ADDR, DV_ONLINE, DV_SUBS, DV_PENDING,
       DV_CTX };

/* The connection's context (SPEC 5.3: a JSON object while it is
 * connected); {} when it has none. */
static json_t *device_ctx(const redisReply *rep)
{
    const redisReply *c = rep->element[DV_CTX];
    json_t *o = c->type == REDIS_REPLY_STRING ? json_loadb(c->str, c->len, 0, NULL) : NULL;
    if (json_is_object(o))
        return o;
    json_decref(o);
    return json_object();
}

static int subs_cmp(const void *a, const void *b)
{
    const redisReply *x = *(redisReply *const *)a, *y = *(redisReply *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void device_done(struct evhttp_request *req, redisReply *rep)
{
    if (!script_ok(rep, DV_CTX) || rep->element[DV_SUBS]->type != REDIS_REPLY_ARRAY) {
        reply_error(req, 404, "not found");
        return;
    }
    int online = strcmp(str_at(rep, DV_ONLINE), "1") == 0;
    redisReply *sr = rep->element[DV_SUBS];
    if (sr->elements > 1)  /* in byte order, as conn.info's topics */
        qsort(sr->element, sr->elements, sizeof(*sr->element), subs_cmp);
    json_t *subs = json_array();
    for (size_t i = 0; i < sr->elements; i++) {
        /* A channel id as a number, as always; another name as a string. */
        int64_t id;
        const redisReply *e = sr->element[i];
        json_array_append_new(subs, parse_id(e->str, e->len, &id) == 0
                                        ? json_integer(id) : json_stringn(e->str, e->len));
    }
    json_t *o = json_pack("{s:I, s:o, s:I, s:o, s:b, s:o, s:o, s:o, s:I, s:o}",
                          "device_id", (json_int_t)strtoll(str_at(rep, DV_ID), NULL, 10),
                          "serial_no", str_or_null(str_at(rep, DV_SERIAL)),
                          "device_type", (json_int_t)atoi(str_at(rep, DV_TYPE)),
                          "device_name", str_or_null(str_at(rep, DV_NAME)),
                          "online", online,
                          "broker", online ? str_or_null(str_at(rep, DV_ADDR)) : json_null(),
                          "broker_id", online ? str_or_null(str_at(rep, DV_BROKER)) : json_null(),
                          "subscriptions", subs,
                          "pending", (json_int_t)rep->element[DV_PENDING]->integer,
                          "ctx", device_ctx(rep));
    http_send_json(req, 200, o);
}

void device_handle(struct evhttp_request *req, void *arg)
{
    struct admin *a = arg;
    struct evkeyvalq kv;
    if (!web_method(a, req, EVHTTP_REQ_GET) || web_query(req, &kv) < 0)
        return;
    const char *id = evhttp_find_header(&kv, "id");
    const char *serial = evhttp_find_header(&kv, "serial_no");
    const char *type = evhttp_find_header(&kv, "device_type");
    int64_t n;
    uint64_t t;
    if (id ? parse_id(id, strlen(id), &n) < 0
           : !serial || !type || parse_uint_range(type, strlen(type), 1, 6, &t) < 0) {
        evhttp_clear_headers(&kv);
        reply_error(req, 400, "give id, or serial_no and device_type");
        return;
    }
    /* KEYS: pg:api:clients, and the serial's key when looked up by serial
     * (none for a serial too long to have been registered). */
    char skey[KEY_SERIAL_MAX];
    const char *argv[3] = { KEY_API_CLIENTS };
    int nkeys = 1;
    if (!id && !(argv[nkeys++] = key_serial(skey, (int64_t)t, serial))) {
        evhttp_clear_headers(&kv);
        reply_error(req, 404, "not found");
        return;
    }
    argv[nkeys] = id ? id : "";
    web_run(a, req, AS_DEVICE, device_done, nkeys, nkeys + 1, argv);
    evhttp_clear_headers(&kv);
}

/* DISCONNECT reply: {"ok", brokers told}, or {"offline"}. */
static void disconnect_done(struct evhttp_request *req, redisReply *rep)
{
    if (script_ok(rep, 1) && rep->element[1]->type == REDIS_REPLY_INTEGER &&
        rep->element[1]->integer > 0)
        http_send_json(req, 200, json_pack("{s:b}", "disconnected", 1));
    else
        reply_error(req, 404, "not online");
}

/* A POST naming one device (?id=N) runs script which with KEYS pg:dev:{N}
 * and ARGV N; what (for the log) is done to it. */
static void device_action(struct evhttp_request *req, void *arg, int which,
                          web_done_fn *done, const char *what)
{
    struct admin *a = arg;
    struct evkeyvalq kv;
    if (!web_method(a, req, EVHTTP_REQ_POST) || web_query(req, &kv) < 0)
        return;
    const char *id = evhttp_find_header(&kv, "id");
    int64_t n;
    if (!id || parse_id(id, strlen(id), &n) < 0) {
        evhttp_clear_headers(&kv);
        reply_error(req, 400, "id must be a device id");
        return;
    }
    log_info("%s device %lld on request", what, (long long)n);
    char key[KEY_MAX];
    const char *argv[] = { key_dev(key, n), id };
    web_run(a, req, which, done, 1, 2, argv);
    evhttp_clear_headers(&kv);
}

void disconnect_handle(struct evhttp_request *req, void *arg)
{
    device_action(req, arg, AS_DISCONNECT, disconnect_done, "disconnecting");
}

/* REVOKE reply: {"ok", new generation, brokers told}, or {"unknown"}. */
static void revoke_done(struct evhttp_request *req, redisReply *rep)
{
    if (!script_ok(rep, 2) || rep->element[1]->type != REDIS_REPLY_INTEGER ||
        rep->element[2]->type != REDIS_REPLY_INTEGER) {
        reply_error(req, 404, "not found");
        return;
    }
    http_send_json(req, 200, json_pack("{s:b, s:I, s:b}", "revoked", 1, "generation",
                                       (json_int_t)rep->element[1]->integer, "disconnected",
                                       rep->element[2]->integer > 0));
}

void revoke_handle(struct evhttp_request *req, void *arg)
{
    device_action(req, arg, AS_REVOKE, revoke_done, "revoking the tokens of");
}

static void channels_done(struct evhttp_request *req, redisReply *rep)
{
    json_t *list = json_array();
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        /* A channel is a name; channel_id is 0 for one that is no id. */
        const redisReply *name = rep->element[i];
        int64_t id = 0;
        if (parse_id(name->str, name->len, &id) < 0)
            id = 0;
        json_array_append_new(list, json_pack(
            "{s:s%, s:I, s:I}", "channel", name->str, name->len, "channel_id", (json_int_t)id,
            "subscribers", (json_int_t)strtoll(rep->element[i + 1]->str, NULL, 10)));
    }
    http_send_json(req, 200, json_pack("{s:o}", "channels", list));
}

void channels_handle(struct evhttp_request *req, void *arg)
{
    struct admin *a = arg;
    struct evkeyvalq kv;
    if (!web_method(a, req, EVHTTP_REQ_GET) || web_query(req, &kv) < 0)
        return;
    const char *limit = evhttp_find_header(&kv, "limit");
    uint64_t n = 10;
    if (limit && parse_uint_range(limit, strlen(limit), 1, 100, &n) < 0) {
        evhttp_clear_headers(&kv);
        reply_error(req, 400, "limit must be 1..100");
        return;
    }
    char stop[8];
    snprintf(stop, sizeof(stop), "%u", (unsigned)n - 1);
    const char *argv[] = { "ZREVRANGE", KEY_CHANNELS, "0", stop, "WITHSCORES" };
    web_run(a, req, -1, channels_done, 0, 5, argv);
    evhttp_clear_headers(&kv);
}
