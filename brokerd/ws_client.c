/* The WebSocket transport (SPEC 5.1, 5.2): a client is a device session
 * whose bytes are WebSocket frames. It identifies as a TCP device does
 * (identify_start) before the 101 goes out, so that a refused token is an
 * HTTP 401; the 101 and conn.ready are IDENTIFY's "OK". Messages are
 * events, encoded once per message (ws_msg.c); errors that close are
 * close codes (4001 replaced, 4002 disconnected, 4000 silence). */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <hiredis/hiredis.h>

#include "ws.h"
#include "identify_body.h"
#include "xmalloc.h"

/* An idle client costs its session, this and its bufferevent: keep it
 * in glibc's 192-byte chunk (184 bytes plus the 8-byte header). */
_Static_assert(sizeof(struct ws_client) <= 184, "struct ws_client outgrew its malloc size class");

/* As tcp.c: frames from this size on are shared by reference. */
#define SHARE_MIN_BYTES 512

enum { WS_CLOSE_SILENCE = 4000, WS_CLOSE_REPLACED = 4001, WS_CLOSE_OFFLINE = 4002 };

static struct ws_client *wc(struct session *s)
{
    return (struct ws_client *)s;
}

static void client_process(struct ws_client *c);

/* ---- output ---- */

static int ws_writable(const struct session *s)
{
    const struct ws_client *c = (const struct ws_client *)s;
    return c->io.bev && !c->lingering && !c->io.close_sent;
}

static struct evbuffer *ws_out(struct ws_client *c)
{
    output_mark(&c->s);
    return bufferevent_get_output(c->io.bev);
}

static void ws_msg_ref_done(const void *data, size_t len, void *arg)
{
    (void)data; (void)len;
    msg_unref(arg);
}

static int ws_write_msg(struct session *s, struct msg *m, int64_t attempt)
{
    struct ws_client *c = wc(s);
    if (!ws_writable(s) || !c->upgraded)
        return -1;
    struct evbuffer *out = ws_out(c);
    if (ws_sock_queued(c->io.bev) > s->b->conf.max_output_bytes)
        return -1;  /* the flush closes it; the message stays pending */
    if (attempt == 1) {
        ws_msg_frame(s->b, m);
        if (m->ws1_len < SHARE_MIN_BYTES) {
            evbuffer_add(out, m->ws1, m->ws1_len);
        } else {
            m->refs++;
            evbuffer_add_reference(out, m->ws1, m->ws1_len, ws_msg_ref_done, m);
        }
        return 0;
    }
    size_t len;
    char *text = mesh_message_text(m, attempt, &len);
    if (text)
        ws_frame_encode(s->b, out, WSLAY_TEXT_FRAME, text, len);
    free(text);
    return 0;
}

void ws_client_text(struct session *s, const char *text, size_t len)
{
    struct ws_client *c = wc(s);
    if (s->state == CS_DEAD || !ws_writable(s) || !c->upgraded)
        return;
    ws_frame_encode(s->b, ws_out(c), WSLAY_TEXT_FRAME, text, len);
}

/* IDENTIFY said OK: the 101, then conn.ready. */
static void ws_upgraded(struct ws_client *c)
{
    struct broker *b = c->s.b;
    struct evbuffer *out = ws_out(c);
    ws_handshake_reply(out, c->key);
    free(c->key);
    c->key = NULL;
    c->upgraded = 1;
    b->ws->upgrades++;
    char id[ARG_INT_MAX];
    size_t len;
    char *text = mesh_event_text("conn.ready", json_pack("{s:s, s:I}", "c",
                                 arg_int(id, c->s.client_id), "n", (json_int_t)b->id), &len);
    if (text)
        ws_frame_encode(b, out, WSLAY_TEXT_FRAME, text, len);
    free(text);
}

static void ws_response(struct session *s, const char *text)
{
    (void)text;  /* "OK" of IDENTIFY is the only one a client gets */
    if (!wc(s)->upgraded)
        ws_upgraded(wc(s));
}

/* Before the upgrade an error is an HTTP reply, and the end. */
static void ws_refuse(struct ws_client *c, enum proto_error err)
{
    int status = err == ERR_UNAUTHORIZED ? 401 : err == ERR_IDENTIFY_FAILED ? 503 : 400;
    const char *text = status == 401 ? "missing or wrong token\n"
                       : status == 503 ? "storage unavailable, try again\n" : "refused\n";
    ws_http_write_reply(ws_out(c), status, "text/plain", text, strlen(text), 1);
    session_finish(&c->s);
}

static void ws_error(struct session *s, enum proto_error err, const char *reason)
{
    struct ws_client *c = wc(s);
    if (!c->upgraded) {
        ws_refuse(c, err);
        return;
    }
    uint16_t code = err == ERR_REPLACED ? WS_CLOSE_REPLACED
                    : err == ERR_DISCONNECTED ? WS_CLOSE_OFFLINE : WSLAY_CODE_INTERNAL_SERVER_ERROR;
    ws_out(c);
    ws_io_close(s->b, &c->io, code, reason ? reason : proto_errors[err].name);
    if (!proto_errors[err].fatal)
        session_finish(s);
}

static void ws_ack(struct session *s, int ok, int64_t message_id, int64_t client_id)
{
    (void)s; (void)ok; (void)message_id; (void)client_id;  /* no PUB over WebSocket */
}

static size_t ws_queued(const struct session *s)
{
    const struct ws_client *c = (const struct ws_client *)s;
    return c->io.bev ? ws_sock_queued(c->io.bev) : 0;
}

/* The output went out: finish a close, or go on with paused input. */
static void ws_drained(struct ws_client *c)
{
    if (c->s.state != CS_CLOSING) {
        client_process(c);
        return;
    }
    if (c->lingering || !c->io.bev)
        return;
    ws_sock_shut(c->io.bev);
    c->lingering = 1;
}

static void ws_flush(struct session *s)
{
    struct ws_client *c = wc(s);
    if (c->io.bev && ws_sock_flush(s, c->io.bev) == 0)
        ws_drained(c);
}

static void ws_finish(struct session *s)
{
    struct ws_client *c = wc(s);
    /* A close without a code of its own (the broker stops): 1001. */
    if (c->upgraded && ws_writable(s)) {
        ws_out(c);
        ws_io_close(s->b, &c->io, WSLAY_CODE_GOING_AWAY, "broker stopping");
    }
    if (c->io.bev && ws_sock_queued(c->io.bev) == 0)
        ws_drained(c);
}

static void ws_close(struct session *s)
{
    struct ws_client *c = wc(s);
    if (c->io.bev)
        ws_sock_free(c->io.bev);
    c->io.bev = NULL;
    ws_io_free(&c->io);
    free(c->key);
    c->key = NULL;
    free(c->topic);
    c->topic = NULL;
    s->b->ws->nclients--;
}

static void ws_resume(struct session *s)
{
    client_process(wc(s));
}

static void ws_silent(struct session *s)
{
    struct ws_client *c = wc(s);
    if (ws_writable(s) && c->upgraded) {
        ws_out(c);
        ws_io_close(s->b, &c->io, WS_CLOSE_SILENCE, "silence timeout");
    }
    session_finish(s);
}

static int ws_fd(const struct session *s)
{
    const struct ws_client *c = (const struct ws_client *)s;
    return c->io.bev ? (int)bufferevent_getfd(c->io.bev) : -1;
}

static const struct transport_ops ws_ops = {
    .write_msg = ws_write_msg,
    .response = ws_response,
    .error = ws_error,
    .ack = ws_ack,
    .writable = ws_writable,
    .queued = ws_queued,
    .flush = ws_flush,
    .finish = ws_finish,
    .close = ws_close,
    .resume = ws_resume,
    .silent = ws_silent,
    .fd = ws_fd,
};

int ws_is_client(const struct session *s)
{
    return s->ops == &ws_ops;
}

const char *ws_client_topic(const struct session *s)
{
    const struct ws_client *c = (const struct ws_client *)s;
    return c->topic ? c->topic : "default";
}

/* ---- input ---- */

static void client_message(void *owner, int opcode, const uint8_t *data, size_t len)
{
    struct ws_client *c = owner;
    struct session *s = &c->s;
    if (s->state == CS_CLOSING || s->state == CS_DEAD)
        return;
    int text = opcode == WSLAY_TEXT_FRAME;
    if (text && len == 4 && memcmp(data, "ping", 4) == 0) {
        ws_client_text(s, "pong", 4);
        return;
    }
    if (text && (mesh_fin_quick(s, (const char *)data, len) == 0 ||
                 mesh_call_text(s->b, s, NULL, (const char *)data, len) == 0))
        return;
    if (!limits_message(s)) {  /* SPEC 5.4: over messages_per_s, the frame is dropped */
        size_t n;
        char *ev = mesh_event_text("error", json_pack("{s:i}", "c", MESH_E_RATE), &n);
        ws_client_text(s, ev, n);
        free(ev);
        return;
    }
    mesh_upstream(s, ws_client_topic(s), !text, (const char *)data, len);
}

static int client_may_read(void *owner)
{
    struct ws_client *c = owner;
    return c->calls < WS_CLIENT_CALLS_MAX && c->s.state == CS_OPEN &&
           ws_sock_queued(c->io.bev) <= SESSION_OUTPUT_PAUSE_BYTES;
}

void ws_client_call(struct session *s, int delta)
{
    struct ws_client *c = wc(s);
    int was_full = c->calls >= WS_CLIENT_CALLS_MAX;
    c->calls = (uint16_t)(c->calls + delta);
    if (was_full && c->calls < WS_CLIENT_CALLS_MAX && c->io.bev)  /* its input goes on */
        bufferevent_trigger(c->io.bev, EV_READ,
                            BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void client_heard(void *owner)
{
    session_heard(&((struct ws_client *)owner)->s);
}

static void client_closed(void *owner)
{
    struct ws_client *c = owner;
    ws_out(c);
    session_finish(&c->s);
}

static const struct ws_io_ops client_io_ops = {
    .message = client_message,
    .heard = client_heard,
    .closed = client_closed,
    .may_read = client_may_read,
};

static void client_process(struct ws_client *c)
{
    /* Output over the pause mark: resumed once it drains; calls over the
     * limit: once one is answered (ws_client_call). */
    if (!c->io.bev || !c->upgraded || !client_may_read(c))
        return;
    ws_io_read(c->s.b, &c->io, &client_io_ops, c, c->s.b->conf.max_msg_size);
    /* What wslay answered (a pong, a close) waits for the flush, as other
     * frames (under TLS, the output is held until then: ws_sock_flush). */
    if (c->io.bev && evbuffer_get_length(bufferevent_get_output(c->io.bev)) > 0)
        output_mark(&c->s);
    if (c->s.state == CS_OPEN)
        ws_sock_refill(c->io.bev);
}

static void client_on_read(struct bufferevent *bev, void *arg)
{
    struct ws_client *c = arg;
    if (c->s.state == CS_CLOSING || !c->upgraded) {
        session_drop_input(bev);
        return;
    }
    client_process(c);
}

static void client_on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    ws_drained(arg);
}

static void client_on_event(struct bufferevent *bev, short what, void *arg)
{
    ws_sock_event(bev, what, "websocket client", arg);
    session_bev_event(bev, what, arg);
}

/* ---- identifying ---- */

static void client_identify(struct ws_client *c, int64_t id, int64_t heartbeat, const char *token,
                            int anonymous)
{
    struct identify_req req = { .client_id = id, .heartbeat = heartbeat, .token = token,
                                .anonymous = anonymous };
    identify_start(&c->s, &req);
}

/* An anonymous client's id, from /registration's counter. */
struct anon_call {
    struct store_call call;
    int64_t heartbeat;
};

static void anon_done(struct store_call *call, redisReply *r)
{
    struct anon_call *a = (struct anon_call *)call;
    struct ws_client *c = (struct ws_client *)call->c;
    int64_t heartbeat = a->heartbeat;
    free(a);
    if (c->s.state != CS_WAIT_REDIS)
        return;
    session_set_state(&c->s, CS_OPEN);
    if (!r || r->type != REDIS_REPLY_INTEGER || r->integer <= 0) {
        ws_refuse(c, ERR_IDENTIFY_FAILED);
        return;
    }
    client_identify(c, (int64_t)r->integer, heartbeat, NULL, 1);
}

static void client_anonymous(struct ws_client *c, int64_t heartbeat)
{
    struct anon_call *a = xcalloc(1, sizeof(*a));
    a->heartbeat = heartbeat;
    const char *argv[] = { "INCR", KEY_NEXT_DEVICE_ID };
    if (!store_ready(c->s.b) ||
        store_call(&a->call, &c->s, anon_done, STORE_CMD, 0, 2, argv, NULL) < 0) {
        free(a);
        ws_refuse(c, ERR_IDENTIFY_FAILED);
        return;
    }
    session_set_state(&c->s, CS_WAIT_REDIS);
}

void ws_client_start(struct broker *b, struct bufferevent *bev, const char *key, int64_t id,
                     int64_t heartbeat, const char *token, char *topic)
{
    struct ws_client *c = xcalloc(1, sizeof(*c));
    session_init(&c->s, b, &ws_ops);
    ws_io_init(&c->io, bev);
    c->topic = topic;
    c->key = xstrdup(key);
    b->ws->nclients++;
    bufferevent_setwatermark(bev, EV_READ, 0, b->conf.max_msg_size + 64);
    bufferevent_setcb(bev, client_on_read, client_on_write, client_on_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (id)
        client_identify(c, id, heartbeat, token, 0);
    else
        client_anonymous(c, heartbeat);
}
