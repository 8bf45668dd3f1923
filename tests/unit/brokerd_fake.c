/* brokerd_fake.h; and the functions of brokerd that the modules under test
 * call but that are not under test (stubs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd_fake.h"
#include "xmalloc.h"

int fake_catch_ups;

static int fake_write_msg(struct session *s, struct msg *m, int64_t attempt)
{
    struct fake_conn *f = (struct fake_conn *)s;
    if (f->nwrites < FAKE_WRITES_MAX) {
        f->written_mid[f->nwrites] = m->meta.message_id;
        f->written_attempt[f->nwrites] = attempt;
    }
    f->nwrites++;
    return 0;
}

static size_t fake_queued(const struct session *s)
{
    return ((const struct fake_conn *)s)->queued;
}

static const struct transport_ops fake_ops = { .write_msg = fake_write_msg,
                                               .queued = fake_queued };

void fake_broker(struct broker *b)
{
    memset(b, 0, sizeof(*b));
    b->id = 7;
    b->conf.msg_timeout = 60;
    b->conf.max_pending = 1000;
    TAILQ_INIT(&b->due);
    pending_pool_init(b);
    fake_catch_ups = 0;
}

void fake_broker_free(struct broker *b)
{
    pending_pool_free(b);
}

struct fake_conn *fake_conn_new(struct broker *b, int64_t client_id)
{
    struct fake_conn *f = xcalloc(1, sizeof(*f));
    TAILQ_INIT(&f->s.pend);
    f->s.b = b;
    f->s.ops = &fake_ops;
    f->s.client_id = client_id;
    f->s.capstreams = 4;
    f->s.streams = xcalloc(4, sizeof(*f->s.streams));
    f->s.nstreams = 1;   /* the inbox */
    return f;
}

void fake_conn_free(struct fake_conn *f)
{
    pending_clear(&f->s);
    free(f->s.streams);
    free(f);
}

struct msg *fake_msg(int64_t mid, int64_t stream, uint64_t ms, uint64_t seq)
{
    struct frame_msg_meta meta = { mid, stream, 5, (int64_t)ms, 1 };
    struct eid eid = { ms, seq };
    return msg_new(&meta, eid, 0, stream, 0, NULL, "body", 4);
}

/* ---- stubs ---- */

void catch_up_stream(struct session *c, struct stream_state *s)
{
    (void)c; (void)s;
    fake_catch_ups++;
}

void session_token(const struct session *c, char buf[SESSION_TOKEN_MAX])
{
    snprintf(buf, SESSION_TOKEN_MAX, "%lld:%llu", (long long)c->b->id,
             (unsigned long long)c->nonce);
}

char *channel_field(struct broker *b, int64_t handle, char buf[CHAN_FIELD_MAX])
{
    (void)b;
    snprintf(buf, CHAN_FIELD_MAX, "%lld", (long long)handle);
    return buf;
}
