/* Notices: what Redis pub/sub tells this broker (lua/ writes them, see
 * docs/DESIGN.md). A message notice becomes a struct msg for delivery;
 * the others act on one session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "deliver_first.h"
#include "chan.h"
#include "numparse.h"

/* The notice formats (M, K, D, Q, S, U, B, C, L, F, Z) are in docs/DESIGN.md (the table of notices); lua/lib.lua
 * writes them and this file is the one that reads them. Splits n
 * space-separated fields, the last ending at '\n'; the header's length. */
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

static void notice_kick(struct broker *b, const char *data, size_t len)
{
    int64_t id = strtoll(data + 2, NULL, 10);
    const char *sp = memchr(data + 2, ' ', len - 2);
    if (!sp)
        return;
    struct session *c = imap_get(&b->clients, id);
    char token[SESSION_TOKEN_MAX];
    size_t nl = len - (size_t)(sp + 1 - data);
    if (c && nl != 0) {
        session_token(c, token);
        if (nl != strlen(token) || memcmp(sp + 1, token, nl) != 0)
            c = NULL;
    }
    /* The kicked connection may still be identifying (its script ran, its
     * answer is not in yet). */
    if (!c && nl != 0)
        c = identify_waiting(b, sp + 1, nl);
    if (c)
        session_replaced(c);
}

/* "L <accept_per_s> <messages_per_s>": gateway.limit changed the limits
 * Redis holds ("-": not set there, the flag's is in force). */
static void notice_limits(struct broker *b, const char *data, size_t len)
{
    const char *sp = memchr(data + 2, ' ', len - 2);
    if (sp)
        limits_set(&b->proc->limits, &b->conf, data + 2, (size_t)(sp - data - 2), sp + 1,
                   len - (size_t)(sp + 1 - data));
}

/* "D <client_id>": an administrator disconnects the device. */
static void notice_disconnect(struct broker *b, const char *data, size_t len)
{
    int64_t id;
    struct session *c;
    if (parse_id(data + 2, len - 2, &id) == 0 && (c = imap_get(&b->clients, id)) != NULL) {
        log_info("client %lld disconnected by an administrator", (long long)id);
        session_fail(c, ERR_DISCONNECTED, NULL);
    }
}

/* "S <client_id> <channel field> <cursor>" and "U <client_id> <channel
 * field>": the device was subscribed to the channel, or left it, by a
 * script run elsewhere (conn.call); Redis holds that already, this loop's
 * index follows (docs/DESIGN.md, "Channel names"). */
static void notice_subscription(struct broker *b, const char *data, size_t len, int sub)
{
    const char *w[3], *name;
    size_t wl[3], nl;
    int64_t id, h;
    struct session *c;
    struct stream_state *s;
    char line[CHAN_FIELD_MAX + 2 * ARG_INT_MAX + 120];
    if (len - 2 >= sizeof(line))
        return;
    memcpy(line, data + 2, len - 2);
    line[len - 2] = '\n';  /* the last field ends at a newline */
    if (notice_fields(line, line + len - 1, w, wl, sub ? 3 : 2) < 0 ||
        parse_id(w[0], wl[0], &id) < 0 || chan_field_name(w[1], wl[1], &name, &nl) < 0 ||
        (c = imap_get(&b->clients, id)) == NULL || c->state == CS_DEAD)
        return;
    if (!sub) {
        h = channel_handle(b, name, nl, 0);
        if (h && (s = session_stream(c, h)) != NULL) {
            channel_leave(b, c, s);
            session_del_stream(c, s);
            /* A cursor write of c sent before this may have put the
             * channel's cursor back after the script dropped it. */
            char key[KEY_MAX];
            ((char *)w[1])[wl[1]] = '\0';
            rconn_cmd(&b->store.cmd, NULL, NULL, 3,
                      (const char *[]){ "HDEL", key_dev_cur(key, id), w[1] }, NULL);
        }
        return;
    }
    ((char *)name)[nl] = '\0';
    h = channel_handle(b, name, nl, 1);
    if (session_stream(c, h))
        return;
    s = session_add_stream(c, h);
    if (cursor_parse(w[2], wl[2], &s->sent, &s->fresh_after) < 0)
        s->sent = s->fresh_after = (struct eid){ 0, 0 };
    /* In Redis's order with this loop's SREM when its last subscriber
     * left (channel.c), before the catch-up read. */
    char key[KEY_MAX], bid[ARG_INT_MAX];
    rconn_cmd(&b->store.cmd, NULL, NULL, 3,
              (const char *[]){ "SADD", key_chn_brokers(key, name), arg_int(bid, b->id) },
              NULL);
    channel_join(b, c, s);
    c->cursors_dirty = 1;
}

/* "F <to> <channel> <entry id> <from> <mid>": a message this loop wrote
 * before Redis had it is in the device's inbox, or the channel's stream
 * (to 0; a PUB's channel is an id, its own handle) (pub_fast.c). */
static void notice_fast(struct broker *b, const char *data, size_t len)
{
    const char *w[5];
    size_t wl[5];
    char line[5 * 48];
    int64_t to, ch, from, mid;
    struct eid eid;
    if (len - 2 >= sizeof(line))
        return;
    memcpy(line, data + 2, len - 2);
    line[len - 2] = '\n';  /* the last field ends at a newline */
    if (notice_fields(line, line + len - 1, w, wl, 5) < 0 ||
        parse_id_or_zero(w[0], wl[0], &to) < 0 || parse_id(w[1], wl[1], &ch) < 0 ||
        eid_parse(w[2], wl[2], &eid) < 0 || parse_id(w[3], wl[3], &from) < 0 ||
        parse_id(w[4], wl[4], &mid) < 0) {
        log_warn("malformed notice dropped");
        return;
    }
    handoff_drain(b, to, ch, from, mid);
    pub_fast_notice(b, to, ch, eid, from, mid);
}

/* "Z <loop> <seq>": order mark seq of loop index `loop` of this process
 * is back (pub_fast.c). It is the one notice written here and not by
 * lua/lib.lua: only the loops of one process send it, each to all. */
void notice_mark_send(struct broker *b, uint64_t seq)
{
    char key[KEY_MAX], text[2 * ARG_INT_MAX + 4];
    snprintf(text, sizeof(text), "Z %d %llu", b->index, (unsigned long long)seq);
    for (int i = 0; i < b->proc->n; i++)
        rconn_cmd(&b->store.cmd, NULL, NULL, 3,
                  (const char *[]){ "PUBLISH", key_notice(key, b->proc->loops[i].id), text },
                  NULL);
}

static void notice_mark(struct broker *b, const char *data, size_t len)
{
    const char *sp = memchr(data + 2, ' ', len - 2);
    int64_t loop, seq;
    if (sp && parse_id_or_zero(data + 2, (size_t)(sp - data - 2), &loop) == 0 &&
        parse_id(sp + 1, len - (size_t)(sp + 1 - data), &seq) == 0)
        pub_fast_mark(b, loop < LOOPS_MAX ? (int)loop : -1, (uint64_t)seq);
}

/* A message notice's channel field w that is not an id: the name in buf
 * (NUL-terminated); *handle its handle here for a channel message (0: no
 * one here subscribes to it). -1 if w is no channel field. */
static int notice_named(struct broker *b, const char *w, size_t wl, int64_t to,
                        int64_t *handle, char buf[CHAN_NAME_MAX + 1])
{
    const char *name;
    size_t nl;
    if (chan_field_name(w, wl, &name, &nl) < 0)
        return -1;
    memcpy(buf, name, nl);
    buf[nl] = '\0';
    *handle = to ? 0 : channel_handle(b, name, nl, 0);
    return 0;
}

void notice_receive(struct broker *b, const char *data, size_t len)
{
    /* Until the resync after a (re)connect, a message's notice (M, or F
     * for one written first) moves no stream: the notice connection may
     * be subscribed again before the command connection is ready, and
     * entries written while no notice could arrive (the other daemons may
     * reach a new master first) lie between a stream's SENT and this
     * entry. Delivered now, it would move SENT past them and the resync's
     * read, which starts at SENT, would skip them; that read brings this
     * entry too. */
    if (!b->store.resynced && len >= 2 && (data[0] == 'M' || data[0] == 'F') &&
        data[1] == ' ')
        return;
    if (len < 2 || data[0] != 'M' || data[1] != ' ') {
        deliver_flush(b);
        if (len > 2 && data[0] == 'K' && data[1] == ' ')
            notice_kick(b, data, len);
        else if (len > 2 && data[0] == 'D' && data[1] == ' ')
            notice_disconnect(b, data, len);
        else if (len > 2 && data[0] == 'Q' && data[1] == ' ')
            queue_wake(b, data + 2, len - 2);
        else if (len > 2 && (data[0] == 'S' || data[0] == 'U') && data[1] == ' ')
            notice_subscription(b, data, len, data[0] == 'S');
        else if (len > 2 && data[0] == 'B' && data[1] == ' ')
            bcast_receive(b, data, len);
        else if (len > 2 && data[0] == 'C' && data[1] == ' ')
            bcast_count(b, data, len);
        else if (len > 2 && data[0] == 'L' && data[1] == ' ')
            notice_limits(b, data, len);
        else if (len > 2 && data[0] == 'F' && data[1] == ' ')
            notice_fast(b, data, len);
        else if (len > 2 && data[0] == 'Z' && data[1] == ' ')
            notice_mark(b, data, len);
        return;
    }
    const char *w[7];
    size_t wl[7];
    int hl = notice_fields(data + 2, data + len, w, wl, 7);
    struct frame_msg_meta meta = { 0, 0, 0, 0, 1 };
    struct eid eid;
    int64_t expire = 0, to = 0, type = 0, stream = 0;
    char namebuf[CHAN_NAME_MAX + 1];
    const char *chname = NULL;
    if (hl < 0 || eid_parse(w[0], wl[0], &eid) < 0 ||
        parse_id(w[1], wl[1], &meta.message_id) < 0 ||
        parse_id_or_zero(w[2], wl[2], &meta.from_client_id) < 0 ||
        parse_id_or_zero(w[4], wl[4], &expire) < 0 ||
        parse_id_or_zero(w[5], wl[5], &to) < 0 ||
        parse_id_or_zero(w[6], wl[6], &type) < 0) {
        log_warn("malformed notice dropped");
        return;
    }
    /* An id is its own handle; another name is channel_id 0 in a TCP frame. */
    if (parse_id_or_zero(w[3], wl[3], &meta.channel_id) == 0) {
        stream = meta.channel_id;
    } else if (notice_named(b, w[3], wl[3], to, &stream, namebuf) == 0) {
        chname = namebuf;
        if (!to && !stream)
            return;  /* no one here subscribes to it */
    } else {
        log_warn("malformed notice dropped");
        return;
    }
    meta.timestamp_ms = (int64_t)eid.ms;
    const char *body = data + 2 + hl;
    size_t body_len = len - 2 - (size_t)hl;
    struct msg *m = msg_new(&meta, eid, expire, to ? 0 : stream, (int)type, chname, body,
                            body_len);
    if (!to) {
        deliver_channel(b, m);
        return;
    }
    deliver_device(b, m, to);
    msg_unref(m);
}
