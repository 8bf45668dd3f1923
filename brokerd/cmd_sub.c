/* SUB and UNSUB (SPEC 2.2): subscriptions belong to the device and live in
 * Redis; the broker keeps an index channel -> local connections for
 * fan-out, and one pub/sub subscription per channel it has listeners for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "xmalloc.h"

struct stream_state *conn_stream(struct conn *c, int64_t channel)
{
    for (uint32_t i = 0; i < c->nstreams; i++)
        if (c->streams[i].channel == channel)
            return &c->streams[i];
    return NULL;
}

struct stream_state *conn_add_stream(struct conn *c, int64_t channel)
{
    if (c->nstreams == c->capstreams) {
        c->capstreams = c->capstreams ? c->capstreams * 2 : 2;
        c->streams = xreallocarray(c->streams, c->capstreams, sizeof(*c->streams));
    }
    struct stream_state *s = &c->streams[c->nstreams++];
    memset(s, 0, sizeof(*s));
    s->channel = channel;
    return s;
}

/* Removes stream s from c, keeping the channel index's positions right. */
static void conn_del_stream(struct conn *c, struct stream_state *s)
{
    struct stream_state *last = &c->streams[c->nstreams - 1];
    if (s != last)
        *s = *last;
    c->nstreams--;
}

static void channel_subscribe(struct broker *b, int64_t id)
{
    char name[KEY_MAX];
    snprintf(name, sizeof(name), "pg:n:ch:%lld", (long long)id);
    store_subscribe(b, name);
}

void channel_join(struct broker *b, struct conn *c, struct stream_state *s)
{
    struct channel *ch = imap_get(&b->channels, s->channel);
    if (!ch) {
        ch = xcalloc(1, sizeof(*ch));
        ch->id = s->channel;
        ch->state = CH_SUBSCRIBING;
        imap_put(&b->channels, ch->id, ch);
        channel_subscribe(b, ch->id);
    }
    if (ch->n == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 4;
        ch->conns = xreallocarray(ch->conns, ch->cap, sizeof(*ch->conns));
    }
    s->chan_pos = ch->n;
    ch->conns[ch->n++] = c;
    if (ch->state == CH_SUBSCRIBED)
        deliver_catch_up(c, s);
    else
        s->flags |= SS_WAIT_SUB;
}

/* The channel struct and its pub/sub subscription stay when the last local
 * subscriber leaves: hiredis 0.14 loses the callback of a SUBSCRIBE sent
 * while an UNSUBSCRIBE of the same channel is in flight. */
void channel_leave(struct broker *b, struct conn *c, struct stream_state *s)
{
    struct channel *ch = imap_get(&b->channels, s->channel);
    if (!ch || s->chan_pos >= ch->n || ch->conns[s->chan_pos] != c)
        return;
    struct conn *moved = ch->conns[--ch->n];
    ch->conns[s->chan_pos] = moved;
    if (moved != c) {
        struct stream_state *ms = conn_stream(moved, s->channel);
        if (ms)
            ms->chan_pos = s->chan_pos;
    }
}

size_t broker_active_channels(const struct broker *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->channels.cap; i++)
        if (b->channels.slots[i].key && ((struct channel *)b->channels.slots[i].val)->n > 0)
            n++;
    return n;
}

void channel_confirmed(struct broker *b, int64_t id)
{
    struct channel *ch = imap_get(&b->channels, id);
    if (!ch)
        return;
    ch->state = CH_SUBSCRIBED;
    for (uint32_t i = 0; i < ch->n; i++) {
        struct stream_state *s = conn_stream(ch->conns[i], id);
        if (s && (s->flags & SS_WAIT_SUB))
            deliver_catch_up(ch->conns[i], s);
    }
}

/* ---- the commands ---- */

struct sub_req {
    struct conn *c;
    int64_t channel;
    int sub;  /* 1 SUB, 0 UNSUB */
};

static void sub_done(void *arg, redisReply *r)
{
    struct sub_req *req = arg;
    struct conn *c = req->c;
    struct broker *b = c->b;
    int64_t channel = req->channel;
    int sub = req->sub;
    free(req);
    c->redis_refs--;
    if (c->state != CS_WAIT_REDIS || !c->registered)
        return;
    if (!r || r->type == REDIS_REPLY_ERROR || (sub && r->type != REDIS_REPLY_STRING)) {
        conn_error(c, sub ? "E_SUB_FAILED" : "E_UNSUB_FAILED", "storage unavailable, try again");
        conn_resume(c);
        return;
    }
    struct stream_state *s = conn_stream(c, channel);
    if (sub && !s) {
        s = conn_add_stream(c, channel);
        cursor_parse(r->str, r->len, &s->sent, &s->fresh_after);
        channel_join(b, c, s);
    } else if (!sub && s) {
        channel_leave(b, c, s);
        conn_del_stream(c, s);
    }
    conn_response(c, "OK");
    conn_resume(c);
}

static void sub_send(struct conn *c, int64_t channel, int sub)
{
    struct broker *b = c->b;
    char key[4][KEY_MAX], dev[24], ch[24];
    snprintf(key[0], KEY_MAX, "pg:dev:%lld:subs", (long long)c->client_id);
    snprintf(key[1], KEY_MAX, "pg:ch:%lld:subs", (long long)channel);
    snprintf(key[2], KEY_MAX, "pg:dev:%lld:cur", (long long)c->client_id);
    snprintf(key[3], KEY_MAX, "pg:ch:%lld", (long long)channel);
    snprintf(dev, sizeof(dev), "%lld", (long long)c->client_id);
    snprintf(ch, sizeof(ch), "%lld", (long long)channel);
    int nkeys = sub ? 4 : 3;
    const char *argv[] = { key[0], key[1], key[2], key[3], dev, ch };
    const char **args = argv;
    if (!sub) {
        argv[3] = dev;
        argv[4] = ch;
    }
    struct sub_req *req = xmalloc(sizeof(*req));
    req->c = c;
    req->channel = channel;
    req->sub = sub;
    if (rconn_script(&b->store.cmd, sub ? SCRIPT_SUB : SCRIPT_UNSUB, sub_done, req, nkeys, nkeys + 2,
                     args, NULL) < 0) {
        free(req);
        conn_error(c, sub ? "E_SUB_FAILED" : "E_UNSUB_FAILED", "storage unavailable, try again");
        return;
    }
    c->redis_refs++;
    c->state = CS_WAIT_REDIS;
}

void cmd_sub(struct conn *c, int64_t channel)
{
    if (conn_stream(c, channel)) {
        conn_response(c, "OK");  /* already subscribed: idempotent */
        return;
    }
    sub_send(c, channel, 1);
}

void cmd_unsub(struct conn *c, int64_t channel)
{
    sub_send(c, channel, 0);
}
