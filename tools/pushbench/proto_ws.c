/* pushgate's WebSocket clients (SPEC 5.1, 5.2): the upgrade to
 * GET /ws/v1?client_id=N, ready at conn.ready; each message event is
 * finished with msg.fin, as a real client must. Client frames are masked
 * (RFC 6455 5.3; a fixed key is enough for a load generator). A client
 * cannot subscribe itself: for a workload that publishes (fanout), a
 * service does, with POST /v1/conn/call subscribe (SPEC 5.3) once the
 * client is known (at conn.ready), and the receiver is ready when that
 * call succeeded. The calls of a worker go over one keep-alive HTTP
 * connection of its own, pipelined, answered in order. For idle, no
 * subscription: ready at conn.ready. Publishing is not a client's part
 * here (a TCP device publishes, main.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "pushbench.h"
#include "xmalloc.h"

#define WS_KEY "cHVzaGJlbmNoLWtleS0wMQ=="  /* base64 of 16 bytes */
#define WS_HEAD_MAX 4096
#define WS_FRAME_MAX (16u << 20)

enum { WS_UPGRADING = 3, WS_AWAIT_READY = 2, WS_AWAIT_SUB = 1 };  /* c->awaiting */

/* The worker's service connection for the subscriptions (one per worker
 * process): the receivers whose call is in flight, in order. */
static struct {
    struct bufferevent *bev;
    struct pb_conn **fifo;
    size_t head, tail, cap;
} subs;

static void sub_fail(struct pb_conn *c, const char *what, size_t len)
{
    pb_conn_error(c, what, len);
    if (c->state == PC_OPENING) {
        pb_conn_close(c);
        worker_conn_gone(c->w, 0);
    }
}

static void sub_fail_all(const char *why)
{
    while (subs.head < subs.tail)
        sub_fail(subs.fifo[subs.head++ % subs.cap], why, strlen(why));
    if (subs.bev != NULL)
        bufferevent_free(subs.bev);
    subs.bev = NULL;
    subs.head = subs.tail = 0;
}

/* Replies, in order: 200 with "E":null makes its receiver ready. */
static void sub_read_cb(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);

    (void)arg;
    for (;;) {
        size_t len = evbuffer_get_length(in), body;
        const char *data = (const char *)evbuffer_pullup(in, -1), *end, *cl;
        struct pb_conn *c;

        if (len == 0 || (end = memmem(data, len, "\r\n\r\n", 4)) == NULL)
            return;
        cl = memmem(data, (size_t)(end - data), "\r\nContent-Length:", 17);
        if (cl == NULL || subs.head == subs.tail) {
            sub_fail_all("subscription: unexpected reply");
            return;
        }
        body = strtoul(cl + 17, NULL, 10);
        if ((size_t)(end + 4 - data) + body > len)
            return;
        c = subs.fifo[subs.head++ % subs.cap];
        if (len >= 12 && memcmp(data, "HTTP/1.1 200", 12) == 0 &&
            memmem(end + 4, body, "\"E\":null", 8) != NULL) {
            c->awaiting = 0;
            pb_conn_ready(c);
        } else {
            sub_fail(c, end + 4, body);
        }
        evbuffer_drain(in, (size_t)(end + 4 - data) + body);
    }
}

static void sub_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    sub_fail_all("subscription connection lost");
}

/* Sends the call subscribing c's id to its channel, as a service. */
static void ws_subscribe(struct pb_conn *c)
{
    const struct pb_config *cfg = c->w->cfg;
    const char *token = cfg->o.service_token;
    char body[128], req[512];
    int bl, n;

    if (subs.bev == NULL) {
        subs.bev = bufferevent_socket_new(c->w->base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (subs.bev == NULL ||
            bufferevent_socket_connect(subs.bev, (struct sockaddr *)&cfg->target_sa,
                                       (int)cfg->target_len) != 0) {
            if (subs.bev != NULL)
                bufferevent_free(subs.bev);
            subs.bev = NULL;
            sub_fail(c, "subscription connect failed", 27);
            return;
        }
        bufferevent_setcb(subs.bev, sub_read_cb, NULL, sub_event_cb, NULL);
        bufferevent_enable(subs.bev, EV_READ | EV_WRITE);
    }
    if (subs.tail - subs.head == subs.cap) {   /* grow the ring, in order */
        size_t cap = subs.cap ? subs.cap * 2 : 256;
        struct pb_conn **f = xcalloc(cap, sizeof(*f));
        for (size_t i = subs.head; i < subs.tail; i++)
            f[i - subs.head] = subs.fifo[i % subs.cap];
        free(subs.fifo);
        subs.fifo = f;
        subs.tail -= subs.head;
        subs.head = 0;
        subs.cap = cap;
    }
    subs.fifo[subs.tail++ % subs.cap] = c;
    bl = snprintf(body, sizeof(body), "{\"c\":\"%lld\",\"f\":\"subscribe\",\"a\":[\"%lld\"]}",
                  (long long)c->client_id, (long long)c->channel);
    n = snprintf(req, sizeof(req),
                 "POST /v1/conn/call%s%s HTTP/1.1\r\nHost: pushbench\r\n"
                 "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                 token && *token ? "?service_token=" : "", token ? token : "", bl, body);
    c->awaiting = WS_AWAIT_SUB;
    evbuffer_add(bufferevent_get_output(subs.bev), req, (size_t)n);
}

static const unsigned char ws_mask[4] = { 0x5a, 0x17, 0xc3, 0x88 };

static void ws_frame_out(struct pb_conn *c, int opcode, const char *data, size_t len)
{
    unsigned char head[14], chunk[512];
    size_t hl = 2;
    head[0] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        head[1] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        head[1] = 0x80 | 126;
        head[2] = (unsigned char)(len >> 8);
        head[3] = (unsigned char)len;
        hl = 4;
    } else {
        head[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            head[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    memcpy(head + hl, ws_mask, 4);
    pb_conn_write(c, head, hl + 4);
    for (size_t off = 0; off < len; off += sizeof(chunk)) {
        size_t n = len - off < sizeof(chunk) ? len - off : sizeof(chunk);
        for (size_t i = 0; i < n; i++)
            chunk[i] = (unsigned char)data[off + i] ^ ws_mask[(off + i) % 4];
        pb_conn_write(c, chunk, n);
    }
}

static void ws_open(struct pb_conn *c)
{
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /ws/v1?client_id=%lld&heartbeat=%llu HTTP/1.1\r\nHost: pushbench\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " WS_KEY
                     "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     (long long)c->client_id, (unsigned long long)c->w->cfg->o.heartbeat);
    c->awaiting = WS_UPGRADING;
    pb_conn_write(c, req, (size_t)n);
}

static void ws_publish(struct pb_conn *c, int64_t channel, uint64_t seq, const char *body,
                       size_t len)
{
    (void)channel; (void)seq; (void)body; (void)len;
    pb_conn_error(c, "ws: clients do not publish here", 31);
}

/* The string value after key (e.g. "\"i\":\"") in a compact event, or NULL. */
static const char *ws_field(const char *d, size_t dl, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    const char *k = memmem(d, dl, key, kl);
    if (!k)
        return NULL;
    const char *v = k + kl, *end = memchr(v, '"', dl - (size_t)(v - d));
    if (!end)
        return NULL;
    *len = (size_t)(end - v);
    return v;
}

static void ws_message(struct pb_conn *c, const char *d, size_t dl)
{
    size_t il, bl;
    const char *id = ws_field(d, dl, "\"i\":\"", &il);
    const char *body = ws_field(d, dl, "\"d\":\"", &bl);
    char fin[96];
    if (!id || il == 0 || il > 20 || !body) {
        pb_conn_error(c, "malformed message event", 23);
        return;
    }
    int n = snprintf(fin, sizeof(fin), "{\"m\":\"msg.fin\",\"p\":{\"i\":\"%.*s\"}}", (int)il, id);
    ws_frame_out(c, 1, fin, (size_t)n);
    pb_conn_message(c, body, bl);
}

static void ws_text(struct pb_conn *c, const char *d, size_t dl)
{
    static const char ready[] = "{\"e\":\"conn.ready\"", message[] = "{\"e\":\"message\"";
    if (dl >= sizeof(message) - 1 && memcmp(d, message, sizeof(message) - 1) == 0) {
        ws_message(c, d, dl);
    } else if (c->awaiting == WS_AWAIT_READY && dl >= sizeof(ready) - 1 &&
               memcmp(d, ready, sizeof(ready) - 1) == 0) {
        if (c->w->cfg->wl->pub != PUB_NONE && c->channel != 0) {
            ws_subscribe(c);
            return;
        }
        c->awaiting = 0;
        pb_conn_ready(c);
    }
}

/* The 101's head: the bytes it takes, 0 while incomplete, -1 if refused. */
static ssize_t ws_upgraded(struct pb_conn *c, const char *data, size_t len)
{
    const char *end = memmem(data, len, "\r\n\r\n", 4);
    if (!end)
        return len > WS_HEAD_MAX ? -1 : 0;
    if (len < 12 || memcmp(data, "HTTP/1.1 101", 12) != 0) {
        pb_conn_error(c, data, (size_t)(end - data));
        return -1;
    }
    c->awaiting = WS_AWAIT_READY;
    return end + 4 - data;
}

static ssize_t ws_input(struct pb_conn *c, const char *data, size_t len)
{
    size_t off = 0;
    if (c->awaiting == WS_UPGRADING) {
        ssize_t head = ws_upgraded(c, data, len);
        if (head <= 0)
            return head;
        off = (size_t)head;
    }
    while (len - off >= 2) {
        const unsigned char *h = (const unsigned char *)data + off;
        size_t hl = 2;
        uint64_t plen = h[1] & 0x7f;
        if (h[1] & 0x80)
            return -1;  /* server frames are never masked */
        if (plen >= 126) {
            size_t ext = plen == 126 ? 2 : 8;
            if (len - off < 2 + ext)
                break;
            plen = 0;
            for (size_t i = 0; i < ext; i++)
                plen = (plen << 8) | h[2 + i];
            hl += ext;
        }
        if (plen > WS_FRAME_MAX)
            return -1;
        if (len - off < hl + plen)
            break;
        const char *d = data + off + hl;
        switch (h[0] & 0x0f) {
        case 1:
            ws_text(c, d, (size_t)plen);
            break;
        case 8:
            pb_conn_error(c, "close frame", 11);
            return -1;
        case 9:
            ws_frame_out(c, 10, d, (size_t)plen);
            break;
        default:
            break;
        }
        off += hl + (size_t)plen;
    }
    return (ssize_t)off;
}

static void ws_ping(struct pb_conn *c)
{
    ws_frame_out(c, 1, "ping", 4);
}

const struct pb_proto pb_proto_ws = {
    "ws", 0, ws_open, ws_publish, ws_input, ws_ping,
};
