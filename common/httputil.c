#include "httputil.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>


void http_send(struct evhttp_request *req, int status, const char *type, const char *body,
               size_t len)
{
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add(out, body, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_send_reply(req, status, NULL, out);  /* the standard reason phrase */
    evbuffer_free(out);
}

void http_send_json(struct evhttp_request *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    http_send(req, status, "application/json", text, strlen(text));
    free(text);
}

int http_require_get(struct evhttp_request *req)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET)
        return 1;
    http_send(req, 405, "text/plain", "method not allowed\n", 19);
    return 0;
}

void http_ping(struct evhttp_request *req, void *arg)
{
    (void)arg;
    if (http_require_get(req))
        http_send(req, 200, "text/plain", "OK", 2);
}

void http_metric(struct evbuffer *out, const char *name, const char *type, const char *help,
                 unsigned long long value)
{
    evbuffer_add_printf(out, "# HELP pushgate_%s %s\n# TYPE pushgate_%s %s\npushgate_%s %llu\n",
                        name, help, name, type, name, value);
}

void http_send_metrics(struct evhttp_request *req, struct evbuffer *out)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", out);
}
