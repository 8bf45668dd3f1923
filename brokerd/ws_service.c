/* Service connections (SPEC 5.1 "Service"): calls in, replies and
 * events out; never closed for silence, no conn.ready. The output's
 * progress is counted (added, written) so that the upstream queue knows
 * which of its frames the kernel took. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "ws.h"
#include "xmalloc.h"

void ws_service_hold(struct ws_service *s)
{
    s->refs++;
}

void ws_service_release(struct ws_service *s)
{
    if (--s->refs == 0 && s->dead)
        free(s);
}

void ws_service_call(struct ws_service *s, int delta)
{
    int was_full = s->calls >= WS_SERVICE_CALLS_MAX;
    s->calls = (uint32_t)((int)s->calls + delta);
    if (was_full && s->calls < WS_SERVICE_CALLS_MAX && !s->dead && s->io.bev)
        bufferevent_trigger(s->io.bev, EV_READ,  /* its input goes on */
                            BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

struct broker *ws_service_broker(const struct ws_service *s)
{
    return s->b;
}

void **ws_service_queue_slot(struct ws_service *s)
{
    return &s->queue;
}

static void svc_close(struct ws_service *s)
{
    if (s->dead)
        return;
    s->dead = 1;
    mesh_service_closed(s);
    LIST_REMOVE(s, link);
    s->b->ws->nservices--;
    if (s->io.bev)
        ws_sock_free(s->io.bev);
    s->io.bev = NULL;
    ws_io_free(&s->io);
    ws_service_release(s);  /* the connection's own hold */
}

uint64_t ws_service_text(struct ws_service *s, const char *text, size_t len)
{
    if (s->dead || !s->io.bev || s->io.close_sent)
        return 0;
    if (ws_service_queued(s) > s->b->conf.max_output_bytes) {
        /* A service that does not read its replies and events. */
        log_warn("service connection %p: over max-output-bytes of output waiting: closing",
                 (void *)s);
        svc_close(s);
        return 0;
    }
    ws_io_frame(s->b, &s->io, WSLAY_TEXT_FRAME, text, len);
    return s->added;
}

uint64_t ws_service_written(const struct ws_service *s)
{
    return s->written;
}

size_t ws_service_queued(const struct ws_service *s)
{
    return s->io.bev ? ws_sock_queued(s->io.bev) : 0;
}

/* ---- frames in ---- */

static void svc_error_event(struct ws_service *s, int code)
{
    size_t len;
    char *text = mesh_event_text("error", json_pack("{s:i}", "c", code), &len);
    if (text)
        ws_service_text(s, text, len);
    free(text);
}

static void svc_message(void *owner, int opcode, const uint8_t *data, size_t len)
{
    struct ws_service *s = owner;
    if (opcode == WSLAY_TEXT_FRAME && len == 4 && memcmp(data, "ping", 4) == 0) {
        ws_service_text(s, "pong", 4);
        return;
    }
    if (opcode != WSLAY_TEXT_FRAME ||
        mesh_call_text(s->b, NULL, s, (const char *)data, len) < 0)
        svc_error_event(s, MESH_E_PARAMS);
}

static void svc_heard(void *owner)
{
    (void)owner;
}

static int svc_may_read(void *owner)
{
    struct ws_service *s = owner;
    return s->calls < WS_SERVICE_CALLS_MAX &&
           ws_service_queued(s) <= SESSION_OUTPUT_PAUSE_BYTES;
}

/* Our close frame is queued: once the output is out, our FIN, then the
 * peer's close (or its EOF) ends it. */
static void svc_closed(void *owner)
{
    struct ws_service *s = owner;
    if (s->io.bev && ws_sock_queued(s->io.bev) == 0 && !s->lingering) {
        ws_sock_shut(s->io.bev);
        s->lingering = 1;
    }
}

static const struct ws_io_ops svc_io_ops = {
    .message = svc_message,
    .heard = svc_heard,
    .closed = svc_closed,
    .may_read = svc_may_read,
};

static void svc_on_read(struct bufferevent *bev, void *arg)
{
    struct ws_service *s = arg;
    if (s->io.close_sent) {
        session_drop_input(bev);
        return;
    }
    ws_service_hold(s);
    ws_io_read(s->b, &s->io, &svc_io_ops, s, mesh_max_envelope(s->b));
    if (!s->dead && !s->io.close_sent)
        ws_sock_refill(s->io.bev);
    ws_service_release(s);
}

static void svc_on_write(struct bufferevent *bev, void *arg)
{
    struct ws_service *s = arg;
    if (ws_sock_queued(bev) > 0)
        return;
    /* Under TLS the bytes taken are known only once all are out. */
    if (!ws_sock_clear(bev) && s->written < s->added) {
        s->written = s->added;
        mesh_service_wrote(s);
    }
    if (s->io.close_sent)
        svc_closed(s);
    else
        svc_on_read(bev, s);  /* input paused for the output goes on */
}

static void svc_on_event(struct bufferevent *bev, short what, void *arg)
{
    ws_sock_event(bev, what, "service connection", arg);
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        svc_close(arg);
}

/* Counts what the kernel took of the output (and what was queued); under
 * TLS what leaves the output goes to TLS, not yet to the kernel
 * (svc_on_write counts it). */
static void svc_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct ws_service *s = arg;
    (void)buf;
    s->added += info->n_added;
    if (info->n_deleted && (!s->io.bev || ws_sock_clear(s->io.bev))) {
        s->written += info->n_deleted;
        if (!s->dead)
            mesh_service_wrote(s);
    }
}

void ws_service_start(struct broker *b, struct bufferevent *bev, const char *key)
{
    struct ws_loop *w = b->ws;
    struct ws_service *s = xcalloc(1, sizeof(*s));
    s->b = b;
    s->refs = 1;  /* the connection's */
    ws_io_init(&s->io, bev);
    LIST_INSERT_HEAD(&w->services, s, link);
    w->nservices++;
    w->upgrades++;
    struct evbuffer *out = bufferevent_get_output(bev);
    evbuffer_add_cb(out, svc_on_output, s);
    ws_handshake_reply(out, key);
    bufferevent_setwatermark(bev, EV_READ, 0, mesh_max_envelope(b) + 64);
    bufferevent_setcb(bev, svc_on_read, svc_on_write, svc_on_event, s);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    log_debug("service connection %p", (void *)s);
    /* Frames that came with the upgrade request. */
    if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
        svc_on_read(bev, s);
}

void ws_service_stop_all(struct broker *b)
{
    struct ws_service *s;
    LIST_FOREACH(s, &b->ws->services, link) {
        ws_io_close(b, &s->io, WSLAY_CODE_GOING_AWAY, "broker stopping");
        svc_closed(s);
    }
}

void ws_service_free_all(struct broker *b)
{
    while (!LIST_EMPTY(&b->ws->services))
        svc_close(LIST_FIRST(&b->ws->services));
}
