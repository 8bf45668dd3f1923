/* POST /api (SPEC 4): parse, check, dispatch through one table. Every
 * malformed request gets its 4xx with the reply type and changes nothing. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "admin.h"
#include "httputil.h"
#include "xmalloc.h"

/* What runs each request type once its fields are checked; NULL for
 * MSG_SEND_REQ (it takes the payload) and for those refused before. */
static void (*const api_run[API_COUNT])(struct api_req *r) = {
    [API_RECV] = api_recv, [API_FREE] = api_free, [API_HELO] = api_helo,
    [API_STAT] = api_stat, [API_GBYE] = api_gbye,
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

void api_reply(struct admin *a, struct evhttp_request *req, int status,
               const struct api_reply_type *reply_type, json_t *extra)
{
    json_t *o = json_pack("{s:i, s:s, s:o}", "code", status, "status", status_text(status),
                          "msg_type", api_reply_type_json(reply_type));
    if (extra)
        json_object_update(o, extra);
    json_decref(extra);
    if (status != 200)
        a->api_errors++;
    http_send_json(req, status, o);
}

static void api_dispatch(struct admin *a, struct evhttp_request *req, const struct api_parsed *p)
{
    if (p->status != 200) {
        api_reply(a, req, p->status, &p->reply, NULL);
        return;
    }
    struct api_req *r = xcalloc(1, sizeof(*r));
    r->a = a;
    r->req = req;
    r->reply_type = p->reply;
    r->saddr = p->saddr;
    r->daddr = p->daddr;
    r->id = p->id;
    if (api_run[p->type])
        api_run[p->type](r);
    else
        api_send(r, p->payload, p->payload_len);
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
    struct api_parsed p;
    api_parse(text, len, a->conf.max_msg_size, &p);
    api_dispatch(a, req, &p);
    json_decref(p.doc);
}
