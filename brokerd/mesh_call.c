/* A mesh call's life: the envelope parsed and checked (SPEC 5.2, 5.5
 * "Envelopes"), the method run, the one answer written back the way the
 * call came (client, service, HTTP), then the call freed. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <hiredis/hiredis.h>

#include "ws.h"
#include "scripts.h"
#include "xmalloc.h"

static struct mesh_call *call_new(struct broker *b, enum mesh_role role, struct session *client,
                                  struct ws_service *svc, struct ws_http *http)
{
    struct mesh_call *c = xcalloc(1, sizeof(*c));
    c->b = b;
    c->role = role;
    c->client = client;
    c->svc = svc;
    c->http = http;
    if (client) {
        session_hold(client);
        ws_client_call(client, 1);
    }
    if (svc) {
        ws_service_hold(svc);
        ws_service_call(svc, 1);
    }
    if (http)
        ws_http_hold(http);
    b->ws->calls++;
    return c;
}

static void call_free(struct mesh_call *c)
{
    if (c->client) {
        session_release(c->client);
        ws_client_call(c->client, -1);
    }
    if (c->svc) {
        ws_service_call(c->svc, -1);
        ws_service_release(c->svc);
    }
    if (c->http)
        ws_http_release(c->http);
    json_decref(c->p);
    json_decref(c->i);
    free(c);
}

/* Writes the envelope the way the call came; steals env. */
static void call_answer(struct mesh_call *c, json_t *env)
{
    if (c->http) {
        json_object_del(env, "i");
        ws_http_reply_json(c->http, 200, env);
    } else if (!c->quiet) {
        size_t len;
        char *text = json_dumps(env, JSON_COMPACT);
        len = text ? strlen(text) : 0;
        if (text && c->client)
            ws_client_text(c->client, text, len);
        else if (text && c->svc)
            ws_service_text(c->svc, text, len);
        free(text);
        json_decref(env);
    } else {
        json_decref(env);
    }
    call_free(c);
}

void mesh_reply(struct mesh_call *c, json_t *r)
{
    call_answer(c, json_pack("{s:n, s:o, s:O}", "E", "r", r, "i", c->i ? c->i : json_null()));
}

void mesh_reply_err(struct mesh_call *c, int code, const char *msg)
{
    json_t *e = json_pack("{s:i, s:s}", "c", code, "m", msg ? msg : mesh_code_text(code));
    call_answer(c, json_pack("{s:o, s:O}", "E", e, "i", c->i ? c->i : json_null()));
}

void mesh_reply_ok(struct mesh_call *c)
{
    mesh_reply(c, json_pack("{s:b}", "s", 1));
}

/* ---- Redis ---- */

static void call_redis_reply(void *arg, redisReply *r)
{
    struct mesh_call *c = arg;
    c->redis_done(c, r);
}

int mesh_redis(struct mesh_call *c, mesh_redis_cb *done, int script, int nkeys, int argc,
               const char **argv, const size_t *argvlen)
{
    if (!store_ready(c->b))
        return -1;
    c->redis_done = done;
    return store_send(c->b, script, call_redis_reply, c, nkeys, argc, argv, argvlen);
}

/* ---- shared by the calls that send ---- */

int mesh_param_send(struct mesh_call *c, int64_t *mid, int *has_mid, char **data, size_t *len)
{
    *mid = 0;
    *has_mid = json_object_get(c->p, "mid") != NULL;
    if (*has_mid && mesh_param_id(c->p, "mid", mid) < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "mid must be a message id");
        return -1;
    }
    if (mesh_param_data(c->p, c->b->conf.max_msg_size, data, len) < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "d must be 1..max-msg-size bytes of data");
        return -1;
    }
    return 0;
}

int mesh_call_ids(struct mesh_call *c, int64_t **ids, size_t *n)
{
    if (mesh_param_ids(c->p, "c", ids, n) == 0)
        return 0;
    mesh_reply_err(c, MESH_E_PARAMS, "c must be an array of 1..1000 client ids");
    return -1;
}

void mesh_reply_script(struct mesh_call *c, const struct redisReply *r,
                       const struct mesh_status *table)
{
    const char *status = script_status(r);
    if (status && strcmp(status, "ok") == 0) {
        mesh_reply_ok(c);
        return;
    }
    for (; status && table && table->status; table++)
        if (strcmp(status, table->status) == 0) {
            mesh_reply_err(c, table->code, table->msg);
            return;
        }
    mesh_reply_err(c, MESH_E_STORAGE, NULL);
}

/* ---- dispatch ---- */

/* Checks and runs a parsed call (o: the envelope, borrowed). */
static void call_run(struct mesh_call *c, json_t *o)
{
    json_t *i = json_object_get(o, "i");
    if (!i)
        i = json_object_get(o, "id");
    c->i = json_incref(i);
    json_t *m = json_object_get(o, "m"), *p = json_object_get(o, "p");
    if (!json_is_string(m)) {
        mesh_reply_err(c, MESH_E_PARAMS, "m must be a string");
        return;
    }
    const struct mesh_method *method = mesh_method_find(json_string_value(m));
    if (!method) {
        mesh_reply_err(c, MESH_E_METHOD, NULL);
        return;
    }
    if (!(method->roles & c->role)) {
        mesh_reply_err(c, MESH_E_ROLE, NULL);
        return;
    }
    c->method = method;
    c->quiet = method->quiet_without_id && !i;
    if (!json_is_object(p)) {
        mesh_reply_err(c, MESH_E_PARAMS, "p must be an object");
        return;
    }
    c->p = json_incref(p);
    method->run(c);
}

int mesh_call_text(struct broker *b, struct session *client, struct ws_service *svc,
                   const char *text, size_t len)
{
    json_error_t err;
    json_t *o = json_loadb(text, len, 0, &err);
    /* An integer past int64 is still JSON: read as a real, it is no id,
     * so the call gets its 101 rather than pass for upstream data. */
    if (!o && json_error_code(&err) == json_error_numeric_overflow)
        o = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, NULL);
    if (!json_is_object(o) || !json_object_get(o, "m")) {
        json_decref(o);
        return -1;
    }
    call_run(call_new(b, client ? MESH_CLIENT : MESH_SERVICE, client, svc, NULL), o);
    json_decref(o);
    return 0;
}

/* ---- HTTP: POST /v1/<method with . written as /> ---- */

/* The method a path names ("mesh/send" -> mesh.send), or NULL. */
static const struct mesh_method *http_method(const char *path, size_t len)
{
    char name[64];
    if (len == 0 || len >= sizeof(name))
        return NULL;
    for (size_t k = 0; k < len; k++)
        name[k] = path[k] == '/' ? '.' : path[k] == '.' ? '/' : path[k];
    name[len] = 0;
    const struct mesh_method *m = mesh_method_find(name);
    return m && !m->ws_only ? m : NULL;
}

uint64_t mesh_max_envelope(const struct broker *b)
{
    return b->conf.max_msg_size * 4 / 3 + 65536;
}

/* A refusal of the head: an envelope with code and HTTP status. */
static void http_refuse(struct ws_http *h, int status, int code)
{
    ws_http_reply_json(h, status, json_pack("{s:{s:i, s:s}}", "E", "c", code, "m",
                                            mesh_code_text(code)));
}

int mesh_http_head(struct ws_http *h, const char *path, size_t len)
{
    if (h->parser.method != HTTP_POST)
        http_refuse(h, 405, MESH_E_PARAMS);
    else if (!http_method(path, len))
        http_refuse(h, 404, MESH_E_METHOD);
    else if (!ws_service_token_ok(h))
        http_refuse(h, 401, MESH_E_ROLE);
    else if (h->parser.content_length != ULLONG_MAX &&
             h->parser.content_length > mesh_max_envelope(h->b))
        http_refuse(h, 413, MESH_E_PARAMS);
    else
        return 0;
    return -1;
}

void mesh_http(struct ws_http *h, const char *path, size_t len)
{
    struct mesh_call *c = call_new(h->b, MESH_SERVICE, NULL, NULL, h);
    const struct mesh_method *method = http_method(path, len);
    size_t n = h->body ? evbuffer_get_length(h->body) : 0;
    json_t *p = n ? json_loadb((const char *)evbuffer_pullup(h->body, -1), n, 0, NULL) : NULL;
    if (!method) {  /* mesh_http_head refused it already */
        json_decref(p);
        call_free(c);
        return;
    }
    c->method = method;
    if (!json_is_object(p)) {
        json_decref(p);
        mesh_reply_err(c, MESH_E_PARAMS, "the body must be a JSON object");
        return;
    }
    c->p = p;
    method->run(c);
}

char *mesh_event_text(const char *name, json_t *p, size_t *len)
{
    json_t *o = json_pack("{s:s, s:o, s:n}", "e", name, "p", p, "id");
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    *len = text ? strlen(text) : 0;
    return text;
}
