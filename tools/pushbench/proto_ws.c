/* pushgate's WebSocket clients (SPEC 5.1, 5.2): the upgrade to
 * GET /ws/v1?client_id=N, ready at conn.ready; each message event is
 * finished with msg.fin, as a real client must. Client frames are masked
 * (RFC 6455 5.3; a fixed key is enough for a load generator). A client
 * cannot subscribe itself (a service does, conn.call subscribe): a
 * receiver is ready once connected, whatever its channel. Publishing is
 * not a client's part here. */
#include <stdio.h>
#include <string.h>

#include "pushbench.h"

#define WS_KEY "cHVzaGJlbmNoLWtleS0wMQ=="  /* base64 of 16 bytes */
#define WS_HEAD_MAX 4096
#define WS_FRAME_MAX (16u << 20)

enum { WS_UPGRADING = 2, WS_AWAIT_READY = 1 };  /* c->awaiting */

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
