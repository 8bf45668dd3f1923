/* IDENTIFY's body (SPEC 2.2): a JSON object, each field checked. */
#include <jansson.h>

#include "identify_body.h"

#define HEARTBEAT_DEFAULT 300
#define HEARTBEAT_MAX 3600

static int identify_parse(json_t *o, struct identify_req *req, const char **why)
{
    json_t *v;
    if (!json_is_object(o)) {
        *why = "body must be a JSON object";
        return -1;
    }
    v = json_object_get(o, "client_id");
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        *why = "client_id must be a positive int64";
        return -1;
    }
    req->client_id = (int64_t)json_integer_value(v);
    req->heartbeat = HEARTBEAT_DEFAULT;
    v = json_object_get(o, "heartbeat_interval");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > HEARTBEAT_MAX) {
            *why = "heartbeat_interval must be an integer from 1 to 3600";
            return -1;
        }
        req->heartbeat = (int64_t)json_integer_value(v);
    }
    v = json_object_get(o, "token");
    if (v && !json_is_string(v)) {
        *why = "token must be a string";
        return -1;
    }
    req->token = v ? json_string_value(v) : NULL;
    v = json_object_get(o, "feature_negotiation");
    if (v && !json_is_boolean(v)) {
        *why = "feature_negotiation must be a boolean";
        return -1;
    }
    req->feature_negotiation = v && json_is_true(v);
    return 0;
}

json_t *identify_body_parse(const char *body, size_t len, struct identify_req *req,
                            const char **why)
{
    json_t *o = json_loadb(body, len, 0, NULL);
    *why = "body is not valid JSON";
    if (o && identify_parse(o, req, why) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
