/* GET /ws/v1 (SPEC 5.1, 5.5 "Connecting"): the query and the upgrade
 * headers are checked (400), then the role's token (401); a service is
 * upgraded at once, a client once its IDENTIFY (the same as TCP's) has
 * answered, so that a refused token is still an HTTP 401 (the 101 is
 * ws_handshake.c's). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "ws.h"
#include "bearer.h"
#include "numparse.h"

/* Whether list (a comma-separated header value) holds token. */
static int header_has(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p + strcspn(p, ",");
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - p) == n && strncasecmp(p, token, n) == 0)
            return 1;
        p = end;
    }
    return 0;
}

/* A Sec-WebSocket-Key: the base64 of 16 bytes. */
static int key_valid(const char *key)
{
    unsigned char raw[24];
    return key && strlen(key) == 24 && key[22] == '=' && key[23] == '=' &&
           EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

static int upgrade_headers_ok(const struct ws_http *h)
{
    return header_has(h->h_upgrade, "websocket") && header_has(h->h_connection, "upgrade") &&
           h->h_version && strcmp(h->h_version, "13") == 0 && key_valid(h->h_key);
}

int ws_topic_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '$')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return 0;
    return 1;
}

int ws_service_token_ok(struct ws_http *h)
{
    const char *want = h->b->conf.service_token;
    if (!want || !*want)
        return 1;
    char *q = NULL;
    int ok = bearer_header_ok(h->h_auth, want) ||
             (ws_http_param(h, "service_token", &q) == 0 && secret_equal(q, want));
    free(q);
    return ok;
}

/* The query of an upgrade. */
struct ws_query {
    char *role, *client_id, *token, *topic, *heartbeat;
    int64_t id;
    uint64_t hb;
};

static void query_free(struct ws_query *q)
{
    free(q->role);
    free(q->client_id);
    free(q->token);
    free(q->topic);
    free(q->heartbeat);
}

/* 0, or -1 if the query is malformed (400). */
static int query_read(struct ws_http *h, struct ws_query *q)
{
    memset(q, 0, sizeof(*q));
    q->hb = 300;
    if (ws_http_param(h, "role", &q->role) < 0 || ws_http_param(h, "client_id", &q->client_id) < 0 ||
        ws_http_param(h, "token", &q->token) < 0 || ws_http_param(h, "topic", &q->topic) < 0 ||
        ws_http_param(h, "heartbeat", &q->heartbeat) < 0)
        return -1;
    char *st = NULL;
    int st_rv = ws_http_param(h, "service_token", &st);
    free(st);
    if (st_rv < 0)
        return -1;
    if (q->role && strcmp(q->role, "service") != 0)
        return -1;
    if (q->role && q->client_id)
        return -1;
    if (q->client_id && parse_id(q->client_id, strlen(q->client_id), &q->id) < 0)
        return -1;
    if (q->heartbeat &&
        parse_uint_range(q->heartbeat, strlen(q->heartbeat), 1, 3600, &q->hb) < 0)
        return -1;
    if (q->topic && !ws_topic_valid(q->topic))
        return -1;
    return 0;
}

static void refuse(struct ws_http *h, int status, const char *text)
{
    ws_http_reply(h, status, "text/plain", text, strlen(text));
}

void ws_upgrade(struct ws_http *h)
{
    struct broker *b = h->b;
    struct ws_query q;
    if (query_read(h, &q) < 0) {
        refuse(h, 400, "malformed query\n");
    } else if (!upgrade_headers_ok(h)) {
        refuse(h, 400, "not a WebSocket upgrade (RFC 6455, version 13)\n");
    } else if (!mesh_accept_allowed(b)) {
        refuse(h, 429, "over the connections accepted per second\n");
    } else if (q.role) {
        if (!ws_service_token_ok(h)) {
            refuse(h, 401, "missing or wrong service token\n");
        } else {
            char key[25];
            memcpy(key, h->h_key, sizeof(key));
            ws_service_start(b, ws_http_take(h), key);
        }
    } else if (b->conf.secret && *b->conf.secret && (!q.client_id || !q.token)) {
        refuse(h, 401, "client_id and token required\n");
    } else if (loop_full(b)) {
        refuse(h, 503, "this broker holds --max-connections clients\n");
    } else {
        char key[25];
        memcpy(key, h->h_key, sizeof(key));
        struct bufferevent *bev = ws_http_take(h);
        ws_client_start(b, bev, key, q.id, (int64_t)q.hb, q.token, q.topic);
        q.topic = NULL;  /* taken */
    }
    query_free(&q);
}
