/* Small pieces every daemon's evhttp server shares (http_server.h binds
 * the port): plain and JSON replies, /ping, and Prometheus metric lines. */
#ifndef PG_HTTPUTIL_H
#define PG_HTTPUTIL_H
#include <stddef.h>

struct evhttp_request;
struct evbuffer;
struct json_t;

/* Sends status with a Content-Type and the given bytes. */
void http_send(struct evhttp_request *req, int status, const char *type, const char *body,
               size_t len);
/* Sends status with body as compact JSON (application/json). Steals body. */
void http_send_json(struct evhttp_request *req, int status, struct json_t *body);
/* GET /ping -> "OK" (the handler for evhttp_set_cb). */
void http_ping(struct evhttp_request *req, void *arg);
/* 1 if the request is a GET; else replies 405 text and returns 0. */
int http_require_get(struct evhttp_request *req);
/* Appends "# HELP/# TYPE/value" for pushgate_<name>. type: counter or gauge. */
void http_metric(struct evbuffer *out, const char *name, const char *type, const char *help,
                 unsigned long long value);
/* Sends out as a Prometheus text reply. */
void http_send_metrics(struct evhttp_request *req, struct evbuffer *out);

#endif
