/* An evhttp port with limits, the one way every daemon serves HTTP:
 * - the request line and the header block are each at most
 *   max_header_size bytes (libevent answers 413 past it and closes);
 * - a client has request_timeout seconds to send a whole request (head
 *   and body), counted from the connection's start or from its last
 *   reply, however slowly the bytes trickle in (evhttp's own timeout
 *   restarts on every read); an idle keep-alive connection is closed then
 *   too;
 * - at most max_connections at once: past it accepting pauses (new
 *   connections wait in the kernel's backlog) until one closes;
 * - accept() errors pause accepting with backoff (listener.h). */
#ifndef PG_HTTP_SERVER_H
#define PG_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "listener.h"
#include "net.h"

struct evhttp;
struct http_conn;

struct http_limits {
    uint64_t max_connections;
    uint64_t max_header_size;
    uint64_t request_timeout;     /* seconds */
};

/* The option rows for a conf_type with a struct http_limits named field. */
#define HTTP_LIMIT_OPTS(conf_type, field) \
    CFG_OPT(conf_type, "max-http-connections", CFG_UINT, field.max_connections, "1024", 1, \
            1000000, "open connections per HTTP port; past it, accepting waits"), \
    CFG_OPT(conf_type, "max-http-header-size", CFG_UINT, field.max_header_size, "8192", 256, \
            1048576, "longest HTTP request line, and header block, in bytes"), \
    CFG_OPT(conf_type, "http-request-timeout", CFG_UINT, field.request_timeout, "10", 1, 3600, \
            "seconds a client has to send a whole HTTP request")

struct http_server {
    struct evhttp *http;          /* routes: evhttp_set_cb on it */
    struct event_base *base;
    struct listener listener;
    struct timeval deadline;
    unsigned nconns, max_conns;
    struct http_conn *conns;      /* the open ones */
};

/* An evhttp on base accepting on addr (net_listen, shared as `share` says;
 * the bound address goes to bound), with lim; with several event loops on
 * one port each takes 1/nshare of the connections allowed (rounded up).
 * `what` names the port in the log. NULL on failure (logged). */
struct http_server *http_server_new(struct event_base *base, const char *what,
                                    const struct cfg_addr *addr, enum net_share share,
                                    const struct http_limits *lim, int nshare, char *bound,
                                    size_t cap);
/* Closes the port and every connection on it. NULL is fine. */
void http_server_free(struct http_server *s);

#endif
