/* IDENTIFY's body (SPEC 2.2): a JSON object, each field checked. */
#include <jansson.h>

#include "identify_body.h"

#define HEARTBEAT_DEFAULT 300
#define HEARTBEAT_MAX 3600
#define DEFLATE_LEVEL_DEFAULT 6

/* An optional boolean field: 0 (absent or false), 1 (true), -1 (not a boolean). */
static int identify_flag(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    if (v && !json_is_boolean(v))
        return -1;
    return v && json_is_true(v);
}

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
    if ((req->feature_negotiation = identify_flag(o, "feature_negotiation")) < 0) {
        *why = "feature_negotiation must be a boolean";
        return -1;
    }
    if ((req->tls = identify_flag(o, "tls_v1")) < 0) {
        *why = "tls_v1 must be a boolean";
        return -1;
    }
    if ((req->deflate = identify_flag(o, "deflate")) < 0) {
        *why = "deflate must be a boolean";
        return -1;
    }
    req->deflate_level = DEFLATE_LEVEL_DEFAULT;
    v = json_object_get(o, "deflate_level");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 9) {
            *why = "deflate_level must be an integer from 1 to 9";
            return -1;
        }
        req->deflate_level = (int)json_integer_value(v);
    }
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
