/* HTTP on the mesh port, read with libhttp-parser: one request at a time
 * per connection (the next is parsed once the last got its answer), the
 * head bounded by max-http-header-size, the body by the route's limit,
 * the whole request by http-request-timeout. GET /ws/v1 hands the
 * socket over to a WebSocket connection (ws_upgrade.c); POST /v1/...
 * runs a call (mesh_http.c); GET /ping and /metrics as on every port. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ws.h"
#include "xmalloc.h"

/* The body of a request that is not a call. */
#define PLAIN_BODY_MAX 4096
/* After the last reply, how long unread input is drained before closing. */
#define LINGER_S 2

static void http_process(struct ws_http *h);

static void http_free_request(struct ws_http *h)
{
    free(h->url);
    free(h->h_upgrade);
    free(h->h_connection);
    free(h->h_key);
    free(h->h_version);
    free(h->h_auth);
    free(h->h_expect);
    h->url = h->h_upgrade = h->h_connection = h->h_key = h->h_version = h->h_auth = NULL;
    h->h_expect = NULL;
    h->url_len = h->head_bytes = h->field_len = 0;
    h->h_cur = NULL;
    if (h->body)
        evbuffer_drain(h->body, evbuffer_get_length(h->body));
}

static void http_destroy(struct ws_http *h)
{
    http_free_request(h);
    if (h->body)
        evbuffer_free(h->body);
    free(h);
}

void ws_http_close(struct ws_http *h)
{
    if (h->dead)
        return;
    h->dead = 1;
    LIST_REMOVE(h, link);
    h->b->ws->nhttp--;
    if (h->deadline_ev)
        event_free(h->deadline_ev);
    h->deadline_ev = NULL;
    if (h->bev)
        ws_sock_free(h->bev);
    h->bev = NULL;
    if (h->refs == 0)
        http_destroy(h);
}

void ws_http_hold(struct ws_http *h)
{
    h->refs++;
}

void ws_http_release(struct ws_http *h)
{
    if (--h->refs == 0 && h->dead)
        http_destroy(h);
}

struct bufferevent *ws_http_take(struct ws_http *h)
{
    struct bufferevent *bev = h->bev;
    h->bev = NULL;
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    ws_http_close(h);
    return bev;
}

static void http_arm(struct ws_http *h, int seconds)
{
    struct timeval tv = { seconds, 0 };
    evtimer_add(h->deadline_ev, &tv);
}

/* ---- replies ---- */

static const char *http_reason(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

/* The last reply is out: our FIN goes, and what the peer still sends is
 * read and dropped until it closes (closing with unread input would
 * reset the connection, and the reply with it). */
static void http_on_write(struct bufferevent *bev, void *arg)
{
    struct ws_http *h = arg;
    if (!h->closing || h->busy || ws_sock_queued(bev) > 0)
        return;
    ws_sock_shut(bev);
    http_arm(h, LINGER_S);
}

void ws_http_write_reply(struct evbuffer *out, int status, const char *type, const char *body,
                         size_t len, int last)
{
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                        "Connection: %s\r\n\r\n",
                        status, http_reason(status), type, len, last ? "close" : "keep-alive");
    evbuffer_add(out, body, len);
}

void ws_http_reply(struct ws_http *h, int status, const char *type, const char *body,
                   size_t len)
{
    if (h->dead || !h->busy)
        return;
    if (!http_should_keep_alive(&h->parser) || h->refused || status >= 400)
        h->closing = 1;
    ws_http_write_reply(bufferevent_get_output(h->bev), status, type, body, len, h->closing);
    h->busy = 0;
    http_free_request(h);
    http_arm(h, (int)h->b->conf.http.request_timeout);
    if (h->closing)
        return;  /* the write callback shuts it once the reply is out */
    /* The next request may be in the input already. */
    bufferevent_trigger(h->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void ws_http_reply_json(struct ws_http *h, int status, json_t *env)
{
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    ws_http_reply(h, status, "application/json", text ? text : "{}", text ? strlen(text) : 2);
    free(text);
}

static void http_plain(struct ws_http *h, int status, const char *text)
{
    ws_http_reply(h, status, "text/plain", text, strlen(text));
}

/* ---- the query ---- */

int ws_http_param(struct ws_http *h, const char *name, char **val)
{
    struct http_parser_url u;
    *val = NULL;
    http_parser_url_init(&u);
    if (http_parser_parse_url(h->url, h->url_len, 0, &u) != 0)
        return -1;
    if (!(u.field_set & (1 << UF_QUERY)))
        return 1;
    char *q = xstrndup(h->url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    int rv = evhttp_parse_query_str(q, &kv) == 0 ? 1 : -1;
    struct evkeyval *e;
    TAILQ_FOREACH(e, &kv, next) {
        if (rv < 0 || strcmp(e->key, name) != 0)
            continue;
        if (*val) {
            rv = -1;  /* repeated */
            break;
        }
        *val = xstrdup(e->value);
        rv = 0;
    }
    if (rv < 0) {
        free(*val);
        *val = NULL;
    }
    evhttp_clear_headers(&kv);
    free(q);
    return rv;
}

/* ---- parsing ---- */

static int http_head_add(struct ws_http *h, size_t len)
{
    h->head_bytes += len;
    return h->head_bytes > h->b->conf.http.max_header_size ? -1 : 0;
}

static void str_append(char **s, size_t *slen, const char *at, size_t len)
{
    size_t n = slen ? *slen : (*s ? strlen(*s) : 0);
    *s = xreallocarray(*s, n + len + 1, 1);
    memcpy(*s + n, at, len);
    (*s)[n + len] = 0;
    if (slen)
        *slen = n + len;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct ws_http *h = p->data;
    if (http_head_add(h, len) < 0)
        return -1;
    str_append(&h->url, &h->url_len, at, len);
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    struct ws_http *h = p->data;
    if (http_head_add(h, len) < 0)
        return -1;
    if (h->h_cur || !h->h_new_field) {  /* a new field begins */
        h->field_len = 0;
        h->h_cur = NULL;
        h->h_new_field = 1;
    }
    size_t room = sizeof(h->field) - 1 - (h->field_len < sizeof(h->field) ? h->field_len : 0);
    size_t n = len < room ? len : room;
    if (h->field_len < sizeof(h->field))
        memcpy(h->field + h->field_len, at, n);
    h->field_len += len;
    return 0;
}

static char **http_header_slot(struct ws_http *h)
{
    static const struct { const char *name; size_t off; } slots[] = {
        { "upgrade", offsetof(struct ws_http, h_upgrade) },
        { "connection", offsetof(struct ws_http, h_connection) },
        { "sec-websocket-key", offsetof(struct ws_http, h_key) },
        { "sec-websocket-version", offsetof(struct ws_http, h_version) },
        { "authorization", offsetof(struct ws_http, h_auth) },
        { "expect", offsetof(struct ws_http, h_expect) },
    };
    if (h->field_len >= sizeof(h->field))
        return NULL;
    h->field[h->field_len] = 0;
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
        if (strcasecmp(h->field, slots[i].name) == 0)
            return (char **)((char *)h + slots[i].off);
    return NULL;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    struct ws_http *h = p->data;
    if (http_head_add(h, len) < 0)
        return -1;
    if (h->h_new_field) {
        h->h_new_field = 0;
        h->h_cur = http_header_slot(h);
        if (h->h_cur && *h->h_cur)  /* repeated: one list, as RFC 7230 says */
            str_append(h->h_cur, NULL, ",", 1);
    }
    if (h->h_cur)
        str_append(h->h_cur, NULL, at, len);
    return 0;
}

/* The path of the request target (before '?'), and its length. */
static const char *http_path(const struct ws_http *h, size_t *len)
{
    const char *q = h->url ? memchr(h->url, '?', h->url_len) : NULL;
    *len = h->url ? (size_t)((q ? q : h->url + h->url_len) - h->url) : 0;
    return h->url ? h->url : "";
}

static int path_is(const char *path, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(path, want, len) == 0;
}

static uint64_t http_body_max(struct ws_http *h)
{
    size_t len;
    const char *path = http_path(h, &len);
    return len > 4 && memcmp(path, "/v1/", 4) == 0 ? mesh_max_envelope(h->b) : PLAIN_BODY_MAX;
}

static int on_headers_complete(http_parser *p)
{
    struct ws_http *h = p->data;
    h->h_new_field = 0;
    h->busy = 1;  /* as if answering, for the refusals; set back below */
    size_t len;
    const char *path = http_path(h, &len);
    /* A call's refusals that the head decides answer before the body. */
    if (len > 4 && memcmp(path, "/v1/", 4) == 0 && mesh_http_head(h, path + 4, len - 4) < 0) {
        h->refused = 1;
        http_parser_pause(p, 1);
        return 0;
    }
    if (p->content_length != ULLONG_MAX && p->content_length > http_body_max(h)) {
        h->refused = 1;
        http_plain(h, 413, "request body too large\n");
        http_parser_pause(p, 1);
    } else if (h->h_expect && strcasecmp(h->h_expect, "100-continue") == 0) {
        /* curl waits a second for this before sending a larger body */
        evbuffer_add_printf(bufferevent_get_output(h->bev), "HTTP/1.1 100 Continue\r\n\r\n");
    }
    h->busy = 0;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct ws_http *h = p->data;
    if (!h->body)
        h->body = evbuffer_new();
    if (evbuffer_get_length(h->body) + len > http_body_max(h)) {
        h->refused = 1;
        h->busy = 1;
        http_plain(h, 413, "request body too large\n");
        http_parser_pause(p, 1);
        return 0;
    }
    evbuffer_add(h->body, at, len);
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct ws_http *h = p->data;
    h->refused = 0;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings http_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- routes ---- */

static void http_metrics(struct ws_http *h)
{
    struct evbuffer *out = evbuffer_new();
    broker_metrics(h->b, out);
    size_t len = evbuffer_get_length(out);
    ws_http_reply(h, 200, "text/plain; version=0.0.4", (const char *)evbuffer_pullup(out, -1),
                  len);
    evbuffer_free(out);
}

static void http_route(struct ws_http *h)
{
    size_t len;
    const char *path = http_path(h, &len);
    int get = h->parser.method == HTTP_GET;
    if (path_is(path, len, "/ws/v1") && get)
        ws_upgrade(h);
    else if (len > 4 && memcmp(path, "/v1/", 4) == 0)
        mesh_http(h, path + 4, len - 4);
    else if (!path_is(path, len, "/ws/v1") && !path_is(path, len, "/ping") &&
             !path_is(path, len, "/metrics"))
        http_plain(h, 404, "not found\n");
    else if (!get)
        http_plain(h, 405, "method not allowed\n");
    else if (path_is(path, len, "/ping"))
        http_plain(h, 200, "OK");
    else
        http_metrics(h);
}

static void http_bad(struct ws_http *h, int status, const char *text)
{
    h->busy = 1;
    h->refused = 1;
    http_plain(h, status, text);
}

/* Parses what is buffered, one request at a time. h is held: a route
 * may close it (an upgrade takes its socket). */
static void http_process(struct ws_http *h)
{
    ws_http_hold(h);
    while (!h->dead && h->bev && !h->busy && !h->closing) {
        struct evbuffer *in = bufferevent_get_input(h->bev);
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            break;
        const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)avail);
        size_t n = http_parser_execute(&h->parser, &http_settings, data, avail);
        enum http_errno err = HTTP_PARSER_ERRNO(&h->parser);
        evbuffer_drain(in, n);
        if (err == HPE_PAUSED) {
            http_parser_pause(&h->parser, 0);
            if (!h->refused) {
                h->busy = 1;
                http_route(h);
            }
            continue;
        }
        if (err != HPE_OK) {
            int too_big = h->head_bytes > h->b->conf.http.max_header_size;
            http_bad(h, too_big ? 413 : 400, too_big ? "request head too large\n"
                                                     : "malformed request\n");
            break;
        }
    }
    if (!h->dead && !h->closing)
        ws_sock_refill(h->bev);
    ws_http_release(h);
}

static void http_on_read(struct bufferevent *bev, void *arg)
{
    struct ws_http *h = arg;
    if (h->closing && !h->busy) {  /* lingering: dropped */
        session_drop_input(bev);
        return;
    }
    http_process(h);
}

static void http_on_event(struct bufferevent *bev, short what, void *arg)
{
    ws_sock_event(bev, what, "http connection", arg);  /* a failed TLS handshake */
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        ws_http_close(arg);
}

static void http_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct ws_http *h = arg;
    (void)fd; (void)what;
    if (h->busy) {  /* a call is being answered: its reply re-arms */
        http_arm(h, (int)h->b->conf.http.request_timeout);
        return;
    }
    ws_http_close(h);
}

void ws_http_accept(struct broker *b, int fd)
{
    struct ws_loop *w = b->ws;
    /* The input holds at most a head and the largest body. */
    struct bufferevent *bev =
        ws_sock_new(b, fd, mesh_max_envelope(b) + b->conf.http.max_header_size + 4096);
    if (!bev)
        return;
    struct ws_http *h = xcalloc(1, sizeof(*h));
    h->b = b;
    h->bev = bev;
    h->deadline_ev = evtimer_new(b->base, http_on_deadline, h);
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = h;
    LIST_INSERT_HEAD(&w->https, h, link);
    w->nhttp++;
    http_arm(h, (int)b->conf.http.request_timeout);
    bufferevent_setcb(bev, http_on_read, http_on_write, http_on_event, h);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}
