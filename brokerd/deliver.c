/* Getting messages to devices: shared encoded messages, live notices from
 * Redis pub/sub, and catch-up reads of the streams (docs/DESIGN.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <hiredis/hiredis.h>

#include "broker.h"
#include "numparse.h"
#include "xmalloc.h"

#define CATCH_UP_BATCH 200
/* Frames from this size on are shared by reference; smaller ones are
 * copied. A reference costs libevent a chain allocation and a free per
 * connection, more than copying a small frame into the chain that is
 * already there (callgrind: docs/PERFORMANCE.md). */
#define SHARE_MIN_BYTES 512

struct msg *msg_new(const struct frame_msg_meta *meta, struct eid eid, int64_t expire_ms,
                    int64_t stream, int type_filter, const char *body, size_t len)
{
    char line[FRAME_MSG_LINE_MAX];
    size_t ll = frame_msg_line(line, meta);
    size_t flen = FRAME_HEADER_LEN + ll + len;
    struct msg *m = xmalloc(sizeof(*m) + flen);
    m->refs = 1;
    m->meta = *meta;
    m->meta.attempt = 1;
    m->eid = eid;
    m->expire_ms = expire_ms;
    m->stream = stream;
    m->type_filter = type_filter;
    m->frame1_len = flen;
    m->body_off = FRAME_HEADER_LEN + ll;
    frame_header((unsigned char *)m->frame1, FRAME_MESSAGE, ll + len);
    memcpy(m->frame1 + FRAME_HEADER_LEN, line, ll);
    if (len)
        memcpy(m->frame1 + m->body_off, body, len);
    return m;
}

void msg_unref(struct msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

static void msg_ref_done(const void *data, size_t len, void *arg)
{
    (void)data; (void)len;
    msg_unref(arg);
}

/* Writes m to c. Attempt 1 writes the pre-encoded frame (shared by
 * reference when large); a redelivery gets its own header line and still
 * shares a large body. */
void msg_write(struct conn *c, struct msg *m, int64_t attempt)
{
    struct evbuffer *out = conn_writer(c);
    if (!out)
        return;
    if (attempt == 1 && m->frame1_len < SHARE_MIN_BYTES) {
        evbuffer_add(out, m->frame1, m->frame1_len);
    } else if (attempt == 1) {
        m->refs++;
        evbuffer_add_reference(out, m->frame1, m->frame1_len, msg_ref_done, m);
    } else {
        char line[FRAME_MSG_LINE_MAX];
        unsigned char hdr[FRAME_HEADER_LEN];
        struct frame_msg_meta meta = m->meta;
        size_t body_len = m->frame1_len - m->body_off;
        meta.attempt = attempt;
        size_t ll = frame_msg_line(line, &meta);
        frame_header(hdr, FRAME_MESSAGE, ll + body_len);
        evbuffer_add(out, hdr, sizeof(hdr));
        evbuffer_add(out, line, ll);
        if (body_len && m->frame1_len < SHARE_MIN_BYTES) {
            evbuffer_add(out, m->frame1 + m->body_off, body_len);
        } else if (body_len) {
            m->refs++;
            evbuffer_add_reference(out, m->frame1 + m->body_off, body_len, msg_ref_done, m);
        }
    }
    c->b->stats.messages_out++;
}

/* Sends m on stream s of c if it is the next thing c should get. */
/* now: wall clock, for expiry; mono: mono_ms(), for the pending deadline.
 * Both are read once per notice, not per subscriber. */
static void deliver_live(struct conn *c, struct stream_state *s, struct msg *m, int64_t now,
                         int64_t mono)
{
    if (c->state == CS_DEAD || !c->bev)
        return;
    if (s->flags & SS_CATCHING_UP) {
        s->flags |= SS_MISSED;
        return;
    }
    if ((s->flags & SS_BEHIND) || eid_cmp(m->eid, s->sent) <= 0)
        return;
    if ((m->expire_ms && m->expire_ms <= now) ||
        (m->type_filter && m->type_filter != c->device_type)) {
        s->sent = m->eid;  /* not for this device: passed over */
        return;
    }
    if (c->npending >= c->b->conf.max_pending) {
        s->flags |= SS_BEHIND;
        return;
    }
    s->sent = m->eid;
    msg_write(c, m, 1);
    pending_add(c, m, 1, mono);
}

/* A notice: "M <eid> <mid> <from> <channel> <expire_ms> <to> <type>\n<body>"
 * (type: the device_type filter, 0 for all), or
 * "K <client_id> <conn token>" (the device identified on another broker),
 * or "D <client_id>" (disconnected by an administrator). */
static int notice_fields(const char *p, const char *end, const char **w, size_t *wl, int n)
{
    for (int i = 0; i < n; i++) {
        const char *sp = memchr(p, i == n - 1 ? '\n' : ' ', (size_t)(end - p));
        if (!sp)
            return -1;
        w[i] = p;
        wl[i] = (size_t)(sp - p);
        p = sp + 1;
    }
    return (int)(p - w[0]);
}

static void deliver_kick(struct broker *b, const char *data, size_t len)
{
    int64_t id = strtoll(data + 2, NULL, 10);
    const char *sp = memchr(data + 2, ' ', len - 2);
    struct conn *c = imap_get(&b->clients, id);
    if (!c || !sp)
        return;
    char token[CONN_TOKEN_MAX];
    conn_token(c, token);
    size_t nl = len - (size_t)(sp + 1 - data);
    if (nl == 0 || (nl == strlen(token) && memcmp(sp + 1, token, nl) == 0))
        conn_replaced(c);
}

/* "D <client_id>": an administrator disconnects the device. */
static void deliver_disconnect(struct broker *b, const char *data, size_t len)
{
    int64_t id;
    struct conn *c;
    if (parse_id(data + 2, len - 2, &id) == 0 && (c = imap_get(&b->clients, id)) != NULL) {
        log_info("client %lld disconnected by an administrator", (long long)id);
        conn_fail(c, ERR_DISCONNECTED, NULL);
    }
}

/* Channel messages read from Redis in one go are written connection by
 * connection instead of message by message: each subscriber's connection,
 * stream, output buffer and pending list are then touched once per batch,
 * not once per message, and a fan-out's time was mostly cache misses on
 * them (docs/PERFORMANCE.md). The batch goes out once the read is done
 * (batch_ev, in the same loop pass), before any other kind of notice, so
 * the order notices came in is kept, or when it is full. */
static void deliver_run(struct broker *b, struct msg *const *ms, unsigned n, int64_t now,
                        int64_t mono)
{
    int64_t channel = ms[0]->stream;
    struct channel *ch = imap_get(&b->channels, channel);
    for (uint32_t i = 0; ch && i < ch->n; i++) {
        struct conn *c = ch->conns[i];
        struct stream_state *s = conn_stream(c, channel);
        for (unsigned k = 0; s && k < n; k++)
            deliver_live(c, s, ms[k], now, mono);
    }
}

static void deliver_flush(struct broker *b)
{
    unsigned n = b->nbatch, i, j;
    if (n == 0)
        return;
    int64_t now = now_ms(), mono = mono_ms();
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && b->batch[j]->stream == b->batch[i]->stream; j++)
            ;
        deliver_run(b, b->batch + i, j - i, now, mono);
    }
    for (i = 0; i < n; i++)
        msg_unref(b->batch[i]);
    b->nbatch = 0;
}

static void deliver_batch_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    deliver_flush(arg);
}

int deliver_batch_init(struct broker *b)
{
    b->batch_ev = event_new(b->base, -1, 0, deliver_batch_cb, b);
    return b->batch_ev ? 0 : -1;
}

void deliver_batch_free(struct broker *b)
{
    for (unsigned i = 0; i < b->nbatch; i++)
        msg_unref(b->batch[i]);
    b->nbatch = 0;
    if (b->batch_ev)
        event_free(b->batch_ev);
    b->batch_ev = NULL;
}

static void deliver_batch_add(struct broker *b, struct msg *m)
{
    if (b->nbatch == DELIVER_BATCH_MAX)
        deliver_flush(b);
    if (b->nbatch == 0)
        event_active(b->batch_ev, EV_TIMEOUT, 1);
    b->batch[b->nbatch++] = m;
}

void deliver_notice(struct broker *b, const char *data, size_t len)
{
    if (len < 2 || data[0] != 'M' || data[1] != ' ') {
        deliver_flush(b);
        if (len > 2 && data[0] == 'K' && data[1] == ' ')
            deliver_kick(b, data, len);
        else if (len > 2 && data[0] == 'D' && data[1] == ' ')
            deliver_disconnect(b, data, len);
        return;
    }
    const char *w[7];
    size_t wl[7];
    int hl = notice_fields(data + 2, data + len, w, wl, 7);
    struct frame_msg_meta meta = { 0, 0, 0, 0, 1 };
    struct eid eid;
    int64_t expire = 0, to = 0, type = 0;
    if (hl < 0 || eid_parse(w[0], wl[0], &eid) < 0 ||
        parse_id(w[1], wl[1], &meta.message_id) < 0 ||
        parse_id_or_zero(w[2], wl[2], &meta.from_client_id) < 0 ||
        parse_id_or_zero(w[3], wl[3], &meta.channel_id) < 0 ||
        parse_id_or_zero(w[4], wl[4], &expire) < 0 ||
        parse_id_or_zero(w[5], wl[5], &to) < 0 ||
        parse_id_or_zero(w[6], wl[6], &type) < 0) {
        log_warn("malformed notice dropped");
        return;
    }
    meta.timestamp_ms = (int64_t)eid.ms;
    const char *body = data + 2 + hl;
    size_t body_len = len - 2 - (size_t)hl;
    struct msg *m = msg_new(&meta, eid, expire, to ? 0 : meta.channel_id, (int)type, body,
                            body_len);
    if (!to) {
        deliver_batch_add(b, m);
        return;
    }
    /* A device's own message goes out at once, after what came before it. */
    deliver_flush(b);
    struct conn *c = imap_get(&b->clients, to);
    if (c && c->nstreams > 0)
        deliver_live(c, &c->streams[0], m, now_ms(), mono_ms());
    msg_unref(m);
}

/* ---- catch-up reads ---- */

struct catch_up {
    struct store_call call;      /* first: the reply gets the request */
    int64_t channel;
};

static const redisReply *entry_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1];
    return NULL;
}

static int64_t entry_int(const redisReply *fields, const char *name)
{
    const redisReply *v = entry_field(fields, name);
    return v && v->type == REDIS_REPLY_STRING ? strtoll(v->str, NULL, 10) : 0;
}

/* Sends one XRANGE entry; returns 0, or -1 when c has no room left. */
static int catch_up_entry(struct conn *c, struct stream_state *s, const redisReply *e,
                          int64_t now, int64_t mono)
{
    struct eid eid;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        eid_parse(e->element[0]->str, e->element[0]->len, &eid) < 0)
        return 0;
    if (eid_cmp(eid, s->sent) <= 0)
        return 0;
    const redisReply *f = e->element[1];
    const redisReply *body = f->type == REDIS_REPLY_ARRAY ? entry_field(f, "b") : NULL;
    int64_t expire = body ? entry_int(f, "x") : 0;
    int64_t type = body ? entry_int(f, "t") : 0;
    if (!body || body->type != REDIS_REPLY_STRING || (expire && expire <= now) ||
        (type && type != c->device_type)) {
        s->sent = eid;
        return 0;
    }
    if (c->npending >= c->b->conf.max_pending) {
        s->flags |= SS_BEHIND;
        return -1;
    }
    struct frame_msg_meta meta;
    meta.message_id = entry_int(f, "m");
    meta.from_client_id = entry_int(f, "f");
    meta.channel_id = entry_int(f, "c");
    meta.timestamp_ms = (int64_t)eid.ms;
    meta.attempt = 1;
    struct msg *m = msg_new(&meta, eid, expire, s->channel, (int)type, body->str, body->len);
    int64_t attempt = eid_cmp(eid, s->fresh_after) > 0 ? 1 : 2;
    s->sent = eid;
    msg_write(c, m, attempt);
    pending_add(c, m, attempt, mono);
    msg_unref(m);
    return 0;
}

static void catch_up_reply(struct store_call *call, redisReply *r)
{
    struct catch_up *cu = (struct catch_up *)call;
    struct conn *c = call->c;
    int64_t channel = cu->channel;
    free(cu);
    struct stream_state *s = c->state == CS_DEAD ? NULL : conn_stream(c, channel);
    if (!s)
        return;
    s->flags &= ~(uint32_t)SS_CATCHING_UP;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;  /* Redis went away: the resync reads again */
    int64_t now = now_ms(), mono = mono_ms();
    for (size_t i = 0; i < r->elements; i++)
        if (catch_up_entry(c, s, r->element[i], now, mono) < 0)
            return;
    if (r->elements == CATCH_UP_BATCH || (s->flags & SS_MISSED))
        deliver_catch_up(c, s);
}

void deliver_catch_up(struct conn *c, struct stream_state *s)
{
    char key[KEY_MAX], start[48], count[ARG_INT_MAX];
    snprintf(start, sizeof(start), "(%" PRIu64 "-%" PRIu64, s->sent.ms, s->sent.seq);
    const char *argv[] = { "XRANGE", key_stream(key, c->client_id, s->channel), start, "+",
                           "COUNT", arg_int(count, CATCH_UP_BATCH) };
    struct catch_up *cu = xmalloc(sizeof(*cu));
    cu->channel = s->channel;
    s->flags &= ~(uint32_t)(SS_MISSED | SS_BEHIND);
    if (store_call(&cu->call, c, catch_up_reply, STORE_CMD, 0, 6, argv, NULL) < 0) {
        free(cu);
        return;  /* the resync after reconnecting reads again */
    }
    s->flags |= SS_CATCHING_UP;
}
