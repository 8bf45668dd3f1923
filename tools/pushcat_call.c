/* pushcat call METHOD [JSON]: one mesh call as a service (SPEC 5), over
 * POST /v1/<method with . written as />, the body JSON (default {}).
 * Prints the reply envelope as one line of JSON on stdout. Exit 0 when
 * it carries a result, 3 when it carries an error (HTTP 401, 404, 405
 * and 413 bodies are envelopes too), 1 when no envelope came (connection
 * refused, timeout, a body that is not JSON), 2 for a usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "pushcat_mesh.h"

#define CALL_PATH_MAX 256

struct call {
    int exit_code;
    const char *method;
};

static void call_done(struct evhttp_request *req, void *arg)
{
    struct call *c = arg;
    json_t *env = NULL;
    if (req == NULL || evhttp_request_get_response_code(req) == 0) {
        fprintf(stderr, "pushcat call %s: no reply\n", c->method);
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    env = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL);
    if (!json_is_object(env) || !json_object_get(env, "E")) {
        fprintf(stderr, "pushcat call %s: HTTP %d without an envelope\n", c->method,
                evhttp_request_get_response_code(req));
    } else {
        char *text = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        fflush(stdout);
        free(text);
        c->exit_code = json_is_null(json_object_get(env, "E")) ? MESH_EXIT_OK : MESH_EXIT_ERROR;
    }
    json_decref(env);
}

/* "conn.count" -> "/v1/conn/count"; -1 when it does not fit. */
static int call_path(const char *method, char path[CALL_PATH_MAX])
{
    int n = snprintf(path, CALL_PATH_MAX, "/v1/%s", method);
    if (n < 0 || n >= CALL_PATH_MAX)
        return -1;
    for (char *p = path + 4; *p; p++)
        if (*p == '.')
            *p = '/';
    return 0;
}

int pushcat_call(struct mesh_opts *opts)
{
    struct mesh_opts o = *opts;
    char path[CALL_PATH_MAX];
    const char *body = o.noperands > 1 ? o.operands[1] : "{}";
    json_t *p = o.noperands >= 1 && o.noperands <= 2 ? json_loads(body, 0, NULL) : NULL;
    if (o.noperands < 1 || o.noperands > 2 || call_path(o.operands[0], path) < 0 ||
        !json_is_object(p)) {
        json_decref(p);
        return mesh_usage(&o, "call", "METHOD and at most one JSON object");
    }
    json_decref(p);
    struct call c = { MESH_EXIT_NO_REPLY, o.operands[0] };
    struct event_base *base = event_base_new();
    struct evhttp_connection *conn = base ? evhttp_connection_base_new(base, NULL, o.ws.host,
                                                                      o.ws.port) : NULL;
    struct evhttp_request *req = conn ? evhttp_request_new(call_done, &c) : NULL;
    if (req) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        char auth[512];
        evhttp_connection_set_timeout(conn, (int)o.timeout);
        evhttp_add_header(h, "Host", o.ws.host);
        evhttp_add_header(h, "Content-Type", "application/json");
        evhttp_add_header(h, "Connection", "close");
        if (o.service_token && *o.service_token) {
            snprintf(auth, sizeof(auth), "Bearer %s", o.service_token);
            evhttp_add_header(h, "Authorization", auth);
        }
        evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
        if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, path) == 0)
            event_base_dispatch(base);
        else
            fprintf(stderr, "pushcat call: the request could not be made\n");
    }
    if (conn)
        evhttp_connection_free(conn);
    if (base)
        event_base_free(base);
    mesh_opts_free(&o);
    return c.exit_code;
}
