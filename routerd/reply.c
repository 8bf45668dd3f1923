/* Every routerd reply: {"code": <int>, "msg": "<text>", "data": ...}. */
#include <event2/http.h>
#include <jansson.h>

#include "httputil.h"
#include "router.h"

struct code_info {
    int code;
    const char *name;
    int status;
};

static const struct code_info codes[] = {
    { RC_NOT_FOUND, "NotFound", 404 },
    { RC_OK, "OK", 200 },
    { RC_PARAM, "ParamErr", 400 },
    { RC_INTERNAL, "InternalErr", 500 },
    { RC_METHOD, "MethodErr", 405 },
    { RC_MSG_EMPTY, "MsgEmpty", 400 },
    { RC_MSG_TOO_LONG, "MsgTooLong", 413 },
    { RC_MSG, "MsgErr", 400 },
    { RC_CHANNEL_ID, "ChannelIdErr", 400 },
    { RC_DEVICE_TYPE, "DeviceTypeErr", 400 },
};

static void reply_json(struct router *r, struct evhttp_request *req, int code, const char *name,
                       int status, json_t *data)
{
    http_send_json(req, status, json_pack("{s:i, s:s, s:o}", "code", code, "msg", name,
                                          "data", data ? data : json_null()));
    if (code != RC_OK)
        r->stats.errors++;
}

void reply_send(struct router *r, struct evhttp_request *req, enum router_code code, int is_put,
                json_t *data)
{
    if ((int)code == 9) {
        /* The seed gives code 9 two meanings, one per endpoint. */
        reply_json(r, req, 9, is_put ? "NoSubErr" : "SerialNoErr", is_put ? 404 : 400, data);
        return;
    }
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i].code == (int)code) {
            reply_json(r, req, code, codes[i].name, codes[i].status, data);
            return;
        }
    reply_json(r, req, RC_INTERNAL, "InternalErr", 500, data);
}

void reply_param_status(struct router *r, struct evhttp_request *req, int status)
{
    reply_json(r, req, RC_PARAM, "ParamErr", status, NULL);
}

void reply_unavailable(struct router *r, struct evhttp_request *req)
{
    r->stats.unavailable++;
    reply_json(r, req, RC_INTERNAL, "InternalErr", 503, NULL);
}
