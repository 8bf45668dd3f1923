/* POST /api (SPEC 4): parse, check, dispatch through one table. Every
 * malformed request gets its 4xx with the reply type and changes nothing. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "admin.h"
#include "httputil.h"
#include "xmalloc.h"

/* F_SADDR, F_DADDR, F_ID: a positive integer; F_ANY_*: present, any value
 * (SPEC 4: daddr is the broker id there, "any value is accepted"). */
enum { F_SADDR = 1, F_DADDR = 2, F_ID = 4, F_PAYLOAD = 8, F_ANY_SADDR = 16, F_ANY_DADDR = 32 };

struct api_type {
    const char *request, *reply;
    int fields;
    void (*run)(struct api_req *r);   /* NULL: MSG_SEND_REQ (payload) or unsupported */
};

static const struct api_type api_types[] = {
    { "MSG_SEND_REQ", "MSG_SEND_ACK", F_SADDR | F_DADDR | F_ID | F_PAYLOAD, NULL },
    { "MSG_RECV_REQ", "MSG_RECV_ACK", F_SADDR | F_ANY_DADDR, api_recv },
    { "MSG_FREE_REQ", "MSG_FREE_ACK", F_SADDR | F_ANY_DADDR | F_ID, api_free },
    { "MSG_HELO_REQ", "MSG_HELO_ACK", F_SADDR | F_ANY_DADDR, api_helo },
    { "MSG_STAT_REQ", "MSG_STAT_RES", F_ANY_SADDR | F_ANY_DADDR, api_stat },
    { "MSG_GBYE_REQ", "MSG_GBYE_ACK", F_SADDR | F_ANY_DADDR, api_gbye },
    { "MSG_PUSH_REQ", "MSG_PUSH_ACK", 0, NULL },
};

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

void api_reply(struct admin *a, struct evhttp_request *req, int status, const char *reply_type,
               json_t *extra)
{
    json_t *o = json_pack("{s:i, s:s, s:o}", "code", status, "status", status_text(status),
                          "msg_type", reply_type ? json_string(reply_type) : json_null());
    if (extra)
        json_object_update(o, extra);
    json_decref(extra);
    if (status != 200)
        a->api_errors++;
    http_send_json(req, status, o);
}

/* An address or message id: a JSON integer > 0. A body with a number
 * beyond int64 is read again with every integer as a real (reals_ok): then
 * only integral values below 2^53 (exact in a double) pass. */
static int api_int(json_t *o, const char *name, int reals_ok, json_int_t *out)
{
    json_t *v = json_object_get(o, name);
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = json_integer_value(v);
        return 0;
    }
    double d = json_real_value(v);
    if (reals_ok && json_is_real(v) && d >= 1 && d < 9007199254740992.0 && d == (json_int_t)d) {
        *out = (json_int_t)d;
        return 0;
    }
    return -1;
}

static int api_fields(json_t *o, int fields, int reals_ok, struct api_req *r)
{
    if ((fields & F_SADDR) && api_int(o, "saddr", reals_ok, &r->saddr) < 0)
        return -1;
    if ((fields & F_DADDR) && api_int(o, "daddr", reals_ok, &r->daddr) < 0)
        return -1;
    if ((fields & F_ID) && api_int(o, "id", reals_ok, &r->id) < 0)
        return -1;
    if ((fields & F_PAYLOAD) && !json_is_string(json_object_get(o, "payload")))
        return -1;
    if ((fields & F_ANY_SADDR) && !json_object_get(o, "saddr"))
        return -1;
    if ((fields & F_ANY_DADDR) && !json_object_get(o, "daddr"))
        return -1;
    return 0;
}

static void api_dispatch(struct admin *a, struct evhttp_request *req, json_t *o, int reals_ok)
{
    const char *type = json_string_value(json_object_get(o, "msg_type"));
    const struct api_type *t = NULL;
    for (size_t i = 0; type && i < sizeof(api_types) / sizeof(api_types[0]); i++)
        if (strcmp(api_types[i].request, type) == 0)
            t = &api_types[i];
    if (!t) {
        api_reply(a, req, 400, NULL, NULL);
        return;
    }
    if (!t->fields) {
        api_reply(a, req, 501, t->reply, NULL);
        return;
    }
    struct api_req *r = xcalloc(1, sizeof(*r));
    r->a = a;
    r->req = req;
    r->reply_type = t->reply;
    if (api_fields(o, t->fields, reals_ok, r) < 0) {
        free(r);
        api_reply(a, req, 400, t->reply, NULL);
        return;
    }
    if (t->run) {
        t->run(r);
        return;
    }
    json_t *p = json_object_get(o, "payload");
    size_t len = json_string_length(p);
    if (len == 0 || len > a->conf.max_msg_size) {
        api_reply(a, req, len ? 413 : 400, t->reply, NULL);
        free(r);
        return;
    }
    api_send(r, json_string_value(p), len);
}

void api_handle(struct evhttp_request *req, void *arg)
{
    struct admin *a = arg;
    a->api_requests++;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        api_reply(a, req, 405, NULL, NULL);
        return;
    }
    if (!auth_same_origin(req)) {
        api_reply(a, req, 403, NULL, NULL);
        return;
    }
    if (!auth_check(a, req)) {
        /* Before any parsing: the reply type is not known yet. */
        api_reply(a, req, 401, NULL, NULL);
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *text = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    json_error_t err;
    int reals = 0;
    json_t *o = json_loadb(text, len, 0, &err);
    if (!o && json_error_code(&err) == json_error_numeric_overflow) {
        /* Still a request of a known type, with a number out of range. */
        o = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, NULL);
        reals = 1;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        api_reply(a, req, 400, NULL, NULL);
        return;
    }
    api_dispatch(a, req, o, reals);
    json_decref(o);
}
