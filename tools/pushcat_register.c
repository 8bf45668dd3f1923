#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "pushcat_register.h"
#include "xmalloc.h"

struct register_req {
    struct evhttp_connection *conn;
    register_cb cb;
    void *arg;
};

/* The reply's JSON -> reg. Returns NULL, or what is wrong (in buf). */
static const char *parse_reply(const char *body, size_t len, struct registration *reg,
                               char *buf, size_t cap)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *data = json_object_get(root, "data");
    json_t *id = json_object_get(data, "device_id");
    const char *broker = json_string_value(json_object_get(data, "broker"));
    const char *token = json_string_value(json_object_get(data, "token"));
    const char *why = NULL;

    if (root == NULL)
        why = "the reply is not JSON";
    else if (json_integer_value(json_object_get(root, "code")) != 0 || !json_is_integer(id))
        why = json_is_string(json_object_get(root, "msg")) ?
              json_string_value(json_object_get(root, "msg")) : "refused";
    else if (broker == NULL)
        why = "no broker for this device type";
    else if (cfg_parse_addr(broker, &reg->broker) != 0)
        why = "the broker's address does not parse";
    else if (token != NULL && strlen(token) >= sizeof(reg->token))
        why = "the token is too long";
    if (why == NULL) {
        reg->device_id = (int64_t)json_integer_value(id);
        snprintf(reg->token, sizeof(reg->token), "%s", token != NULL ? token : "");
    }
    if (why != NULL)
        snprintf(buf, cap, "%s", why);   /* it may live in root */
    json_decref(root);
    return why != NULL ? buf : NULL;
}

static void done_cb(struct evhttp_request *req, void *arg)
{
    struct register_req *r = arg;
    struct registration reg = { 0 };
    const char *why = "no reply";
    char msg[64], buf[96];

    if (req != NULL && evhttp_request_get_response_code(req) != 0) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);

        why = parse_reply((const char *)evbuffer_pullup(in, -1), evbuffer_get_length(in), &reg,
                          msg, sizeof(msg));
        if (why != NULL && evhttp_request_get_response_code(req) != 200) {
            snprintf(buf, sizeof(buf), "HTTP %d %s", evhttp_request_get_response_code(req), why);
            why = buf;
        }
    }
    r->cb(why == NULL ? 0 : -1, why == NULL ? &reg : NULL, why, r->arg);
    free(r);   /* the connection frees itself once this returns */
}

int register_start(struct event_base *base, const struct cfg_addr *router,
                   const char *serial, uint64_t device_type, register_cb cb, void *arg)
{
    struct register_req *r = xcalloc(1, sizeof(*r));
    struct evhttp_request *req;
    char *enc = evhttp_encode_uri(serial);
    char path[512];

    r->cb = cb;
    r->arg = arg;
    r->conn = evhttp_connection_base_new(base, NULL, router->host, router->port);
    req = r->conn != NULL ? evhttp_request_new(done_cb, r) : NULL;
    if (req == NULL || enc == NULL) {
        if (r->conn != NULL)
            evhttp_connection_free(r->conn);
        free(enc);
        free(r);
        return -1;
    }
    evhttp_connection_set_timeout(r->conn, REGISTER_TIMEOUT_SEC);
    snprintf(path, sizeof(path), "/registration?serial_no=%s&device_type=%" PRIu64,
             enc, device_type);
    free(enc);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", router->host);
    /* One request per connection: routerd closes it after the reply, and
     * free_on_completion below frees it then, not when pushcat exits. */
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    if (evhttp_make_request(r->conn, req, EVHTTP_REQ_POST, path) != 0) {
        evhttp_connection_free(r->conn);   /* req is already freed */
        free(r);
        return -1;
    }
    evhttp_connection_free_on_completion(r->conn);
    return 0;
}
