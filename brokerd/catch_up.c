/* Catch-up reads: a stream's entries past what its session was sent,
 * read with XRANGE in batches and written in order (docs/DESIGN.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "xmalloc.h"

#define CATCH_UP_BATCH 200

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
static int catch_up_entry(struct session *c, struct stream_state *s, const redisReply *e,
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
    session_write_msg(c, m, attempt);
    pending_add(c, m, attempt, mono);
    msg_unref(m);
    return 0;
}

static void catch_up_reply(struct store_call *call, redisReply *r)
{
    struct catch_up *cu = (struct catch_up *)call;
    struct session *c = call->c;
    int64_t channel = cu->channel;
    free(cu);
    struct stream_state *s = c->state == CS_DEAD ? NULL : session_stream(c, channel);
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
        catch_up_stream(c, s);
}

void catch_up_stream(struct session *c, struct stream_state *s)
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

