/* mesh.broadcast (SPEC 5.4, 5.5 "Sends"): one message to every client
 * connected anywhere in the mesh (TCP and WebSocket, not services),
 * counted exactly without a walk in Redis. One script
 * (lua/mesh_broadcast.lua) takes a message id and publishes the notice B
 * on every broker's notice channel; PUBLISH's answers say how many brokers
 * heard it. Each writes the message to its own clients (bcast_receive:
 * the frame encoded once for all of them, pending and redelivered while
 * the connection lives, never stored) and tells the calling broker its
 * count with the notice C (lua/broker_bcount.lua). The caller sums the
 * counts; a broker that has not answered within BCAST_WAIT_MS is left out
 * (logged), so the answer is then the sum of those that did. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "broker.h"
#include "mesh.h"
#include "numparse.h"
#include "scripts.h"
#include "xmalloc.h"

#define BCAST_WAIT_MS 1000

/* A broadcast of this loop waiting for the brokers' counts. */
struct bcast_wait {
    struct bcast_wait *next;
    struct broker *b;
    struct mesh_call *call;
    struct event *timer;         /* BCAST_WAIT_MS after the script answered */
    uint64_t seq;
    int64_t brokers;             /* brokers that heard it; -1 until the script answers */
    int64_t answered;
    int64_t sent;                /* connections written to, summed */
};

static void bcast_unlink(struct bcast_wait *w)
{
    struct bcast_wait **pp = &w->b->bcasts;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (*pp)
        *pp = w->next;
    if (w->timer)
        event_free(w->timer);
    free(w);
}

/* Answers with the sum so far and forgets w. */
static void bcast_answer(struct bcast_wait *w)
{
    struct mesh_call *c = w->call;
    json_int_t sent = w->sent;
    if (w->answered < w->brokers)
        log_warn("broadcast %llu: %lld of %lld brokers answered within %d ms",
                 (unsigned long long)w->seq, (long long)w->answered, (long long)w->brokers,
                 BCAST_WAIT_MS);
    bcast_unlink(w);
    mesh_reply(c, json_pack("{s:I}", "s", sent));
}

static void bcast_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    bcast_answer(arg);
}

static struct bcast_wait *bcast_of_call(struct broker *b, const struct mesh_call *c)
{
    struct bcast_wait *w = b->bcasts;
    while (w && w->call != c)
        w = w->next;
    return w;
}

static void bcast_sent(struct mesh_call *c, redisReply *r)
{
    struct bcast_wait *w = bcast_of_call(c->b, c);
    if (!w)
        return;  /* never: a call leaves the list only once answered, after this */
    if (!script_ok(r, 2) || r->element[2]->type != REDIS_REPLY_STRING) {
        bcast_unlink(w);
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return;
    }
    c->b->stats.messages_in++;
    w->brokers = strtoll(r->element[2]->str, NULL, 10);
    if (w->answered >= w->brokers) {
        bcast_answer(w);
        return;
    }
    struct timeval tv = { BCAST_WAIT_MS / 1000, (BCAST_WAIT_MS % 1000) * 1000 };
    w->timer = evtimer_new(c->b->base, bcast_timeout, w);
    if (!w->timer || evtimer_add(w->timer, &tv) < 0)
        bcast_answer(w);
}

void mesh_broadcast(struct mesh_call *c)
{
    struct broker *b = c->b;
    char *data;
    size_t len;
    if (mesh_param_data(c->p, b->conf.max_msg_size, &data, &len) < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "d must be 1..max-msg-size bytes of data");
        return;
    }
    /* Seqs of a restarted broker of the same id do not meet old ones. */
    if (b->bcast_seq == 0)
        b->bcast_seq = (uint64_t)now_ms() * 1000;
    struct bcast_wait *w = xcalloc(1, sizeof(*w));
    w->b = b;
    w->call = c;
    w->seq = ++b->bcast_seq;
    w->brokers = -1;
    w->next = b->bcasts;
    b->bcasts = w;
    char bid[ARG_INT_MAX], seq[ARG_INT_MAX];
    const char *argv[] = { KEY_NEXT_PUT_ID, KEY_BROKERS, KEY_STATS, arg_int(bid, b->id),
                           arg_int(seq, (int64_t)w->seq), data };
    size_t lens[6];
    for (int k = 0; k < 6; k++)
        lens[k] = k == 5 ? len : strlen(argv[k]);
    int rv = mesh_redis(c, bcast_sent, SCRIPT_MESH_BROADCAST, 3, 6, argv, lens);
    free(data);
    if (rv < 0) {
        bcast_unlink(w);
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
    }
}

/* Writes m to every client of this loop that takes it now; how many. */
static int64_t bcast_write(struct broker *b, struct msg *m)
{
    int64_t n = 0, mono = mono_ms();
    for (size_t i = 0; i < b->clients.cap; i++) {
        struct session *s = b->clients.slots[i].val;
        if (!b->clients.slots[i].key || (s->state != CS_OPEN && s->state != CS_WAIT_REDIS) ||
            session_unfinished(s) >= b->conf.max_pending || s->ops->write_msg(s, m, 1) < 0)
            continue;
        b->stats.messages_out++;
        pending_add(s, m, 1, mono);
        n++;
    }
    return n;
}

void bcast_receive(struct broker *b, const char *data, size_t len)
{
    /* "B <mid> <ms> <reply broker> <seq>\n<body>" */
    const char *nl = memchr(data, '\n', len), *w[4], *p = data + 2;
    size_t wl[4];
    int64_t v[4];
    for (int i = 0; i < 4; i++) {
        const char *end = i == 3 ? nl : (nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL);
        if (!end || parse_id(p, (size_t)(end - p), &v[i]) < 0) {
            log_warn("malformed broadcast notice dropped");
            return;
        }
        w[i] = p;
        wl[i] = (size_t)(end - p);
        p = end + 1;
    }
    struct frame_msg_meta meta = { v[0], 0, 0, v[1], 1 };
    struct eid eid = { (uint64_t)v[1], 0 };
    struct msg *m = msg_new(&meta, eid, 0, MSG_STREAM_NONE, 0, NULL, nl + 1,
                            len - (size_t)(nl + 1 - data));
    int64_t n = bcast_write(b, m);
    msg_unref(m);
    char key[KEY_MAX], seq[ARG_INT_MAX], cnt[ARG_INT_MAX];
    memcpy(seq, w[3], wl[3]);
    seq[wl[3]] = '\0';
    const char *argv[] = { key_notice(key, v[2]), seq, arg_int(cnt, n) };
    if (store_send(b, SCRIPT_BCOUNT, NULL, NULL, 1, 3, argv, NULL) < 0)
        log_warn("broadcast of broker %lld: its count could not be sent", (long long)v[2]);
}

void bcast_count(struct broker *b, const char *data, size_t len)
{
    /* "C <seq> <count>" */
    const char *sp = memchr(data + 2, ' ', len - 2);
    int64_t seq, n;
    if (!sp || parse_id(data + 2, (size_t)(sp - data - 2), &seq) < 0 ||
        parse_id_or_zero(sp + 1, len - (size_t)(sp + 1 - data), &n) < 0)
        return;
    struct bcast_wait *w = b->bcasts;
    while (w && w->seq != (uint64_t)seq)
        w = w->next;
    if (!w)
        return;  /* answered already (late), or not ours */
    w->answered++;
    w->sent += n;
    if (w->brokers >= 0 && w->answered >= w->brokers)
        bcast_answer(w);
}

void bcast_free(struct broker *b)
{
    while (b->bcasts)
        bcast_answer(b->bcasts);
}
