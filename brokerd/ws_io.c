/* WebSocket frames of one connection, with wslay. Input: each frame is
 * looked at (its header only) until it is whole in the input buffer,
 * then wslay reads exactly it: wslay checks masking, UTF-8, control
 * frames and reassembles fragments, answers pings and closes; a frame
 * that would take a message over its limit is refused before it is
 * buffered (close 1009). Between frames, with no fragmented message
 * open, the wslay context is freed: idle connections do not carry its
 * 9 KB. Output: server frames are not masked, so a frame is the same
 * bytes for every connection; one wslay frame encoder per loop writes
 * them (ws_frame_encode), and a message's frame is encoded once. */
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "ws.h"

/* wslay's callbacks get the loop's struct ws_loop: the read in progress
 * is there (a context is only used inside ws_io_read). */
static ssize_t io_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *arg)
{
    struct ws_loop *w = arg;
    struct ws_io *io = w->cur;
    (void)flags;
    size_t n = len < w->feed ? len : w->feed;
    if (n == 0 || !io->bev) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    int got = evbuffer_remove(bufferevent_get_input(io->bev), buf, n);
    if (got <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    w->feed -= (uint32_t)got;
    return got;
}

static ssize_t io_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *arg)
{
    struct ws_io *io = ((struct ws_loop *)arg)->cur;
    (void)ctx; (void)flags;
    if (io->bev && !io->close_sent)
        evbuffer_add(bufferevent_get_output(io->bev), data, len);
    return (ssize_t)len;  /* taken whole: the output buffer is the queue */
}

static void io_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                      void *arg)
{
    struct ws_loop *w = arg;
    (void)ctx;
    if (a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME)
        w->cur_ops->message(w->cur_owner, a->opcode, a->msg, a->msg_length);
}

static const struct wslay_event_callbacks io_callbacks = {
    .recv_callback = io_recv,
    .send_callback = io_send,
    .on_msg_recv_callback = io_on_msg,
};

void ws_io_init(struct ws_io *io, struct bufferevent *bev)
{
    memset(io, 0, sizeof(*io));
    io->bev = bev;
}

/* The next frame's header: 0 and its sizes, or -1 if not all in yet. */
struct frame_head {
    int fin, opcode;
    size_t head;
    uint64_t payload;
};

static int io_peek(struct evbuffer *in, struct frame_head *f)
{
    uint8_t h[14];
    size_t avail = evbuffer_get_length(in);
    if (avail < 2)
        return -1;
    evbuffer_copyout(in, h, avail < sizeof(h) ? avail : sizeof(h));
    f->fin = h[0] >> 7;
    f->opcode = h[0] & 0x0f;
    unsigned l7 = h[1] & 0x7f;
    size_t ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
    f->head = 2 + ext + ((h[1] & 0x80) ? 4 : 0);
    if (avail < f->head)
        return -1;
    f->payload = l7;
    if (ext) {
        f->payload = 0;
        for (size_t i = 0; i < ext; i++)
            f->payload = (f->payload << 8) | h[2 + i];
    }
    return 0;
}

static int io_is_data(int opcode)
{
    return opcode == WSLAY_CONTINUATION_FRAME || opcode == WSLAY_TEXT_FRAME ||
           opcode == WSLAY_BINARY_FRAME;
}

/* Keeps count of the open fragmented message, as wslay will see it. */
static void io_track(struct ws_io *io, const struct frame_head *f)
{
    if (!io_is_data(f->opcode))
        return;
    if (f->opcode != WSLAY_CONTINUATION_FRAME)
        io->frag_len = 0;
    io->frag_len += (uint32_t)f->payload;
    io->frag_open = !f->fin;
    if (f->fin)
        io->frag_len = 0;
}

static int io_ctx(struct ws_loop *w, struct ws_io *io, uint64_t max_msg)
{
    if (io->ctx)
        return 0;
    if (wslay_event_context_server_init(&io->ctx, &io_callbacks, w) != 0)
        return -1;
    wslay_event_config_set_max_recv_msg_length(io->ctx, max_msg);
    return 0;
}

/* Ends the reading: close frame out (wslay's or ours). */
static void io_closed(struct ws_loop *w, struct ws_io *io)
{
    io->close_sent = 1;
    w->cur_ops->closed(w->cur_owner);
}

/* Frames a client sends most (msg.fin, one per delivery): whole, masked,
 * text or binary, small, with no fragmented message open. They need no
 * event context (set up and freed per read, with its checks of a stream
 * of frames): the loop's frame decoder (wslay's frame API) reads them
 * one at a time, as whole frames, from a copy of the input. */
#define IO_QUICK_MAX 1024

static int io_quick(const struct ws_io *io, const struct frame_head *f, uint8_t b0, uint8_t b1)
{
    return !io->ctx && !io->frag_open && (b0 == (0x80 | WSLAY_TEXT_FRAME) ||
                                          b0 == (0x80 | WSLAY_BINARY_FRAME)) &&
           (b1 & 0x80) && f->payload <= IO_QUICK_MAX;
}

static ssize_t dec_recv(uint8_t *buf, size_t len, int flags, void *arg)
{
    struct ws_loop *w = arg;
    (void)flags;
    size_t n = len < w->dec_left ? len : w->dec_left;
    if (n == 0)
        return -1;
    ev_ssize_t got = evbuffer_copyout_from(bufferevent_get_input(w->cur->bev), &w->dec_at, buf, n);
    if (got <= 0 || evbuffer_ptr_set(bufferevent_get_input(w->cur->bev), &w->dec_at, (size_t)got,
                                     EVBUFFER_PTR_ADD) < 0)
        return -1;
    w->dec_left -= (size_t)got;
    return got;
}

static const struct wslay_frame_callbacks dec_callbacks = { .recv_callback = dec_recv };

/* The payload of the whole frame at the head of the input (n bytes, f its
 * header) from the loop's decoder, unmasked, nothing drained; NULL if it
 * could not be read whole (the decoder is then made afresh: it holds no
 * half frame). */
static const uint8_t *io_decode(struct ws_loop *w, struct evbuffer *in, size_t n,
                                const struct frame_head *f)
{
    if (!w->dec && wslay_frame_context_init(&w->dec, &dec_callbacks, w) != 0)
        return NULL;
    struct wslay_frame_iocb iocb;
    evbuffer_ptr_set(in, &w->dec_at, 0, EVBUFFER_PTR_SET);
    w->dec_left = n;
    ssize_t got = wslay_frame_recv(w->dec, &iocb);
    if (got < 0 || (uint64_t)got != f->payload || w->dec_left != 0) {
        wslay_frame_context_free(w->dec);
        w->dec = NULL;
        return NULL;
    }
    return got ? iocb.data : (const uint8_t *)"";
}

static int io_ascii(const uint8_t *p, size_t n)
{
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= p[i];
    return !(any & 0x80);
}

/* The frame f, whole in the input, if it is a quick one: 1 when it was
 * handled, 0 when wslay's event context must read it (nothing was taken).
 * Liveness is noted once per read pass (*heard), as TCP does per read. */
static int io_feed_quick(struct ws_loop *w, struct ws_io *io, const struct frame_head *f,
                         int *heard)
{
    struct evbuffer *in = bufferevent_get_input(io->bev);
    uint8_t buf[2];
    size_t n = f->head + f->payload;
    if (evbuffer_copyout(in, buf, 2) != 2 || !io_quick(io, f, buf[0], buf[1]))
        return 0;
    const uint8_t *p = io_decode(w, in, n, f);
    /* A text frame must be UTF-8; ASCII is, anything else goes to the
     * event context, which checks it (and closes 1007). */
    if (!p || ((buf[0] & 0x0f) == WSLAY_TEXT_FRAME && !io_ascii(p, (size_t)f->payload)))
        return 0;
    evbuffer_drain(in, n);
    if (!*heard) {
        *heard = 1;
        w->cur_ops->heard(w->cur_owner);
    }
    w->cur_ops->message(w->cur_owner, buf[0] & 0x0f, p, (size_t)f->payload);
    return 1;
}

/* One whole frame through wslay; 0, or -1 if the connection is done. */
static int io_feed(struct ws_loop *w, struct ws_io *io, const struct frame_head *f,
                   uint64_t max_msg)
{
    if (io_ctx(w, io, max_msg) < 0)
        return -1;
    w->feed = (uint32_t)(f->head + f->payload);
    io_track(io, f);
    w->cur_ops->heard(w->cur_owner);
    int rv = wslay_event_recv(io->ctx);
    if (io->bev && io->ctx && wslay_event_want_write(io->ctx))
        wslay_event_send(io->ctx);
    if (rv != 0 || !io->bev) {
        if (io->bev && !io->close_sent)
            io_closed(w, io);
        return -1;
    }
    if (io->close_sent)
        return -1;
    if (wslay_event_get_close_sent(io->ctx)) {
        io_closed(w, io);
        return -1;
    }
    return 0;
}

void ws_io_read(struct broker *b, struct ws_io *io, const struct ws_io_ops *ops, void *owner,
                uint64_t max_msg)
{
    struct ws_loop *w = b->ws;
    struct frame_head f;
    if (io->reading)
        return;  /* not again from inside a message's handler */
    io->reading = 1;
    w->cur = io;
    w->cur_ops = ops;
    w->cur_owner = owner;
    int frames = 0, heard = 0;
    while (io->bev && !io->close_sent) {
        struct evbuffer *in = bufferevent_get_input(io->bev);
        if (io_peek(in, &f) < 0 || !ops->may_read(owner))
            break;
        if (++frames > WS_FRAMES_PER_READ) {  /* the rest in a later pass */
            bufferevent_trigger(io->bev, EV_READ,
                                BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
            break;
        }
        if (io_is_data(f.opcode) &&
            (f.opcode == WSLAY_CONTINUATION_FRAME ? io->frag_len : 0) + f.payload > max_msg) {
            ws_io_close(b, io, WSLAY_CODE_MESSAGE_TOO_BIG, "message too big");
            io_closed(w, io);
            break;
        }
        if (!io_is_data(f.opcode) && f.payload > 125) {
            ws_io_close(b, io, WSLAY_CODE_PROTOCOL_ERROR, "control frame too long");
            io_closed(w, io);
            break;
        }
        if (evbuffer_get_length(in) < f.head + f.payload)
            break;
        if (io_feed_quick(w, io, &f, &heard))
            continue;
        if (io_feed(w, io, &f, max_msg) < 0)
            break;
    }
    /* Idle: the context goes (a fragmented message keeps it). */
    if (io->ctx && (!io->bev || io->close_sent || !io->frag_open) &&
        !(io->bev && wslay_event_want_write(io->ctx))) {
        wslay_event_context_free(io->ctx);
        io->ctx = NULL;
    }
    io->reading = 0;
    w->cur = NULL;
}

void ws_io_frame(struct broker *b, struct ws_io *io, int opcode, const void *data, size_t len)
{
    if (!io->bev || io->close_sent)
        return;
    ws_frame_encode(b, bufferevent_get_output(io->bev), opcode, data, len);
}

void ws_io_close(struct broker *b, struct ws_io *io, uint16_t code, const char *reason)
{
    uint8_t payload[2 + 64];
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > 64)
        rl = 64;
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    memcpy(payload + 2, reason, rl);
    ws_io_frame(b, io, WSLAY_CONNECTION_CLOSE, payload, 2 + rl);
    io->close_sent = 1;
}

void ws_io_free(struct ws_io *io)
{
    if (io->ctx && !io->reading)
        wslay_event_context_free(io->ctx);
    io->ctx = NULL;
}

/* ---- the loop's encoder ---- */

static ssize_t enc_send(const uint8_t *data, size_t len, int flags, void *arg)
{
    struct ws_loop *w = arg;
    (void)flags;
    evbuffer_add(w->enc_out, data, len);
    return (ssize_t)len;
}

static const struct wslay_frame_callbacks enc_callbacks = { .send_callback = enc_send };

void ws_frame_encode(struct broker *b, struct evbuffer *out, int opcode, const void *data,
                     size_t len)
{
    struct ws_loop *w = b->ws;
    if (!w->enc && wslay_frame_context_init(&w->enc, &enc_callbacks, w) != 0)
        return;
    struct wslay_frame_iocb iocb = {
        .fin = 1, .opcode = (uint8_t)opcode, .payload_length = len,
        .data = data, .data_length = len,
    };
    w->enc_out = out;
    wslay_frame_send(w->enc, &iocb);
    w->enc_out = NULL;
}
