/* --admin-token: "Authorization: Bearer <token>" (bearer.c), and the
 * same-origin rule for writes (SPEC 4). */
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "admin.h"
#include "bearer.h"

int auth_check(struct admin *a, struct evhttp_request *req)
{
    return bearer_ok(req, a->conf.admin_token);
}

/* The length of host:port without a port the scheme implies (a browser
 * leaves it out of Origin; a client may still write it in Host). */
static size_t host_len(const char *h, size_t n, const char *implied)
{
    size_t k = strlen(implied);
    return n > k && strncmp(h + n - k, implied, k) == 0 ? n - k : n;
}

int auth_same_origin(struct evhttp_request *req)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST)
        return 1;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *origin = evhttp_find_header(in, "Origin");
    if (!origin)
        return 1;  /* not from a browser page (curl, scripts) */
    const char *host = evhttp_find_header(in, "Host");
    /* "scheme://host[:port]"; anything else ("null" too) is foreign. */
    const char *sep = strstr(origin, "://");
    if (!host || !sep)
        return 0;
    const char *o = sep + 3;
    const char *implied = strncmp(origin, "https://", 8) == 0 ? ":443" : ":80";
    size_t on = host_len(o, strlen(o), implied), hn = host_len(host, strlen(host), implied);
    return on == hn && strncasecmp(o, host, on) == 0;
}

int auth_ok(struct admin *a, struct evhttp_request *req)
{
    if (!auth_same_origin(req)) {
        reply_error(req, 403, "cross-origin request");
        return 0;
    }
    if (auth_check(a, req))
        return 1;
    reply_error(req, 401, "unauthorized");
    return 0;
}
