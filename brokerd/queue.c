/* The services' side of the upstream queues (docs/DESIGN.md, "Upstream
 * queues"): a topic is popped only for local services with room (written
 * and not yet taken: at most QUEUE_WINDOW frames, and no new one past
 * QUEUE_WINDOW_BYTES of output), one pop script per topic at a time, when
 * a push woke this broker, a service came, or room freed while the list
 * may hold more: no polling. A frame is taken once its service's socket
 * took its last byte; then its seq is acknowledged (one script per pass).
 * What a service leaves untaken goes back to the head of its topic
 * (broker_qback). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "broker.h"
#include "mesh.h"
#include "scripts.h"
#include "xmalloc.h"

#define QUEUE_ACK_MAX 1000       /* seqs per ack script */

struct qpop_req {
    struct broker *b;
    struct qtopic *t;            /* held: t->popping */
};

/* A script with keys, then `pre` plain arguments, then seqs in decimal. */
static void queue_seq_script(struct broker *b, int script, const char **keys, int nkeys,
                             const char **pre, int npre, const uint64_t *seqs, size_t n)
{
    int argc = nkeys + npre + (int)n;
    const char **argv = xreallocarray(NULL, (size_t)argc, sizeof(*argv));
    char (*num)[ARG_INT_MAX] = xreallocarray(NULL, n ? n : 1, sizeof(*num));
    memcpy(argv, keys, (size_t)nkeys * sizeof(*argv));
    if (npre > 0)
        memcpy(argv + nkeys, pre, (size_t)npre * sizeof(*argv));
    for (size_t i = 0; i < n; i++)
        argv[nkeys + npre + (int)i] = arg_int(num[i], (int64_t)seqs[i]);
    if (rconn_script(&b->store.cmd, script, NULL, NULL, nkeys, argc, argv, NULL) < 0)
        log_warn("redis unavailable: %zu upstream frames in flight wait for the resync", n);
    free(argv);
    free(num);
}

/* Frames seqs (in pop order) go back to their topics; b leaves the topics
 * of `leave` (their :bk sets). */
static void queue_back(struct broker *b, const uint64_t *seqs, size_t n, struct qtopic **leave,
                       uint32_t nleave)
{
    if (n == 0 && nleave == 0)
        return;
    char qf[KEY_MAX], qfz[KEY_MAX], id[ARG_INT_MAX];
    char (*bk)[KEY_TOPIC_MAX] = xreallocarray(NULL, nleave + 1, sizeof(*bk));
    const char **keys = xreallocarray(NULL, nleave + 2, sizeof(*keys));
    keys[0] = key_qf(qf, b->id);
    keys[1] = key_qf_z(qfz, b->id);
    for (uint32_t i = 0; i < nleave; i++)
        keys[2 + i] = key_q_bk(bk[i], leave[i]->name);
    const char *pre[] = { arg_int(id, b->id) };
    queue_seq_script(b, SCRIPT_QBACK, keys, (int)nleave + 2, pre, 1, seqs, n);
    free(keys);
    free(bk);
}

/* Whether s takes another frame now. */
static int qsvc_open(const struct qsvc *s)
{
    return !s->closed && s->nfly < QUEUE_WINDOW &&
           ws_service_queued(s->conn) < QUEUE_WINDOW_BYTES;
}

/* The frames t's services would take, as far as t's average size tells. */
static uint32_t qtopic_room(const struct qtopic *t)
{
    uint32_t room = 0;
    for (uint32_t i = 0; i < t->nsvcs; i++) {
        const struct qsvc *s = t->svcs[i];
        if (!qsvc_open(s))
            continue;
        size_t left = QUEUE_WINDOW_BYTES - ws_service_queued(s->conn);
        size_t fit = 1 + left / (t->avg ? t->avg : 1);
        room += fit < QUEUE_WINDOW - s->nfly ? (uint32_t)fit : QUEUE_WINDOW - s->nfly;
    }
    return room;
}

static void queue_pop_reply(void *arg, redisReply *r);

/* Pops for t's room, unless a pop is waiting already (its reply pops
 * again if t->more). */
static void queue_pop_send(struct broker *b, struct qtopic *t)
{
    uint32_t room = qtopic_room(t);
    if (t->popping || room == 0 || !store_ready(b))
        return;
    char q[KEY_TOPIC_MAX], bk[KEY_TOPIC_MAX], qf[KEY_MAX], qfz[KEY_MAX], qfn[KEY_MAX];
    char id[ARG_INT_MAX], count[ARG_INT_MAX];
    const char *argv[] = { key_q(q, t->name), key_q_bk(bk, t->name), key_qf(qf, b->id),
                           key_qf_z(qfz, b->id), key_qf_n(qfn, b->id), KEY_QF_BROKERS,
                           arg_int(id, b->id), t->name,
                           arg_int(count, room < QUEUE_POP_MAX ? room : QUEUE_POP_MAX),
                           t->joined ? "0" : "1" };
    struct qpop_req *req = xmalloc(sizeof(*req));
    req->b = b;
    req->t = t;
    if (rconn_script(&b->store.cmd, SCRIPT_QPOP, queue_pop_reply, req, 6, 10, argv, NULL) < 0) {
        free(req);
        return;
    }
    t->popping = 1;
    t->joined = 1;
    t->more = 0;
}

/* The next of t's services with room, round robin; NULL if none. */
static struct qsvc *qtopic_next(struct qtopic *t)
{
    for (uint32_t k = 0; k < t->nsvcs; k++) {
        struct qsvc *s = t->svcs[(t->rr + k) % t->nsvcs];
        if (qsvc_open(s)) {
            t->rr = (t->rr + k + 1) % t->nsvcs;
            return s;
        }
    }
    return NULL;
}

/* Writes frame `seq` to one of t's services: 0, or -1 when none takes it. */
static int queue_hand_out(struct qtopic *t, uint64_t seq, const redisReply *env)
{
    struct qsvc *s;
    while ((s = qtopic_next(t)) != NULL) {
        uint64_t end = ws_service_text(s->conn, env->str, env->len);
        if (end == 0) {
            /* Closing; or closed just now, and then gone from t (freed). */
            for (uint32_t k = 0; k < t->nsvcs; k++)
                if (t->svcs[k] == s)
                    s->closed = 1;
            continue;
        }
        t->avg = t->avg ? (uint32_t)((t->avg * 7ULL + env->len) / 8) : (uint32_t)env->len;
        struct qframe *f = &s->fly[(s->head + s->nfly++) % QUEUE_WINDOW];
        f->seq = seq;
        f->end = end;
        return 0;
    }
    return -1;
}

static void queue_pop_reply(void *arg, redisReply *r)
{
    struct qpop_req *req = arg;
    struct broker *b = req->b;
    struct qtopic *t = req->t;     /* still held (popping) while handing out */
    free(req);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[1]->type != REDIS_REPLY_INTEGER || r->element[2]->type != REDIS_REPLY_INTEGER ||
        !script_status(r) || strcmp(script_status(r), "ok") != 0) {
        if (r && r->type == REDIS_REPLY_ERROR)
            log_warn("queue pop %s: %s", t->name, r->str);
        t->popping = 0;
        qtopic_release(b, t);    /* Redis lost: the resync pops again */
        return;
    }
    uint64_t first = (uint64_t)r->element[2]->integer;
    size_t n = r->elements - 3, i = 0;
    for (; i < n; i++)
        if (r->element[3 + i]->type != REDIS_REPLY_STRING ||
            queue_hand_out(t, first + i, r->element[3 + i]) < 0)
            break;
    if (i < n) {                 /* the services left meanwhile */
        uint64_t *back = xreallocarray(NULL, n - i, sizeof(*back));
        for (size_t k = i; k < n; k++)
            back[k - i] = first + k;
        queue_back(b, back, n - i, NULL, 0);
        free(back);
    }
    t->popping = 0;
    if (r->element[1]->integer > 0)
        t->more = 1;
    if (t->more)
        queue_pop_send(b, t);
    qtopic_release(b, t);
}

static void queue_ack_flush(struct broker *b)
{
    char qf[KEY_MAX], qfz[KEY_MAX];
    const char *keys[] = { key_qf(qf, b->id), key_qf_z(qfz, b->id) };
    for (uint32_t i = 0; i < b->q.nacks; i += QUEUE_ACK_MAX) {
        uint32_t n = b->q.nacks - i < QUEUE_ACK_MAX ? b->q.nacks - i : QUEUE_ACK_MAX;
        queue_seq_script(b, SCRIPT_QACK, keys, 2, NULL, 0, b->q.acks + i, n);
    }
    b->q.nacks = 0;
}

static void queue_pass_end(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd; (void)what;
    queue_push_flush(b);
    queue_ack_flush(b);
}

void queue_svc_taken(struct broker *b, struct qsvc *q, uint64_t taken)
{
    uint32_t freed = 0;
    while (q->nfly > 0 && q->fly[q->head].end <= taken) {
        if (b->q.nacks == b->q.capacks) {
            b->q.capacks = b->q.capacks ? 2 * b->q.capacks : 256;
            b->q.acks = xreallocarray(b->q.acks, b->q.capacks, sizeof(*b->q.acks));
        }
        b->q.acks[b->q.nacks++] = q->fly[q->head].seq;
        q->head = (q->head + 1) % QUEUE_WINDOW;
        q->nfly--;
        freed++;
    }
    if (!freed)
        return;
    event_active(b->q.ev, EV_TIMEOUT, 1);
    for (uint32_t i = 0; i < q->ntopics; i++)
        if (q->topics[i]->more)
            queue_pop_send(b, q->topics[i]);
}

static int qsvc_pops(const struct qsvc *q, const struct qtopic *t)
{
    for (uint32_t i = 0; q && i < q->ntopics; i++)
        if (q->topics[i] == t)
            return 1;
    return 0;
}

int queue_pop(struct broker *b, struct ws_service *conn, struct qsvc **qp, const char *const *topics,
              size_t n)
{
    if (n == 0)
        return 101;
    for (size_t i = 0; i < n; i++)
        if (qsvc_pops(*qp, qtopic_get(b, topics[i], strlen(topics[i]))))
            return 202;
    if (!store_ready(b))
        return 201;
    struct qsvc *q = *qp;
    if (!q) {
        q = *qp = xcalloc(1, sizeof(*q));
        q->conn = conn;
    }
    for (size_t i = 0; i < n; i++) {
        struct qtopic *t = qtopic_add(b, topics[i], strlen(topics[i]));
        if (!t || qsvc_pops(q, t))
            continue;            /* named twice in this call */
        q->topics = xreallocarray(q->topics, q->ntopics + 1, sizeof(*q->topics));
        q->topics[q->ntopics++] = t;
        if (t->nsvcs == t->capsvcs) {
            t->capsvcs = t->capsvcs ? 2 * t->capsvcs : 4;
            t->svcs = xreallocarray(t->svcs, t->capsvcs, sizeof(*t->svcs));
        }
        t->svcs[t->nsvcs++] = q;
        t->more = 1;             /* frames may be kept for it */
        queue_pop_send(b, t);
    }
    return 0;
}

/* Takes q out of its topics, hands back what it was not taken, frees it. */
static void queue_drop(struct broker *b, struct qsvc **qp)
{
    struct qsvc *q = *qp;
    if (!q)
        return;
    *qp = NULL;
    uint64_t seqs[QUEUE_WINDOW];
    for (uint32_t i = 0; i < q->nfly; i++)
        seqs[i] = q->fly[(q->head + i) % QUEUE_WINDOW].seq;
    struct qtopic **leave = xreallocarray(NULL, q->ntopics + 1, sizeof(*leave));
    uint32_t nleave = 0;
    for (uint32_t i = 0; i < q->ntopics; i++) {
        struct qtopic *t = q->topics[i];
        for (uint32_t k = 0; k < t->nsvcs; k++)
            if (t->svcs[k] == q) {
                t->svcs[k] = t->svcs[--t->nsvcs];
                break;
            }
        if (t->nsvcs == 0 && t->joined) {
            t->joined = 0;
            leave[nleave++] = t;
        }
    }
    queue_back(b, seqs, q->nfly, leave, nleave);
    for (uint32_t i = 0; i < q->ntopics; i++)
        qtopic_release(b, q->topics[i]);
    free(leave);
    free(q->topics);
    free(q);
}

int queue_unpop(struct broker *b, struct qsvc **qp)
{
    if (!store_ready(b))
        return 203;
    queue_drop(b, qp);
    return 0;
}

void queue_svc_gone(struct broker *b, struct qsvc **qp)
{
    queue_drop(b, qp);
}

void queue_wake(struct broker *b, const char *topic, size_t len)
{
    struct qtopic *t = qtopic_get(b, topic, len);
    if (!t || t->nsvcs == 0)
        return;
    t->more = 1;
    queue_pop_send(b, t);
}

void queue_resync(struct broker *b)
{
    uint64_t *keep = NULL;
    size_t nkeep = 0, cap = 0;
    const struct imap *m = &b->q.topics;
    for (size_t i = 0; i < m->cap; i++)
        for (struct qtopic *t = m->slots[i].key ? m->slots[i].val : NULL; t; t = t->next) {
            for (uint32_t k = 0; k < t->nsvcs; k++) {
                const struct qsvc *q = t->svcs[k];
                if (nkeep + q->nfly > cap) {
                    cap = 2 * (nkeep + q->nfly);
                    keep = xreallocarray(keep, cap, sizeof(*keep));
                }
                for (uint32_t f = 0; f < q->nfly; f++)
                    keep[nkeep++] = q->fly[(q->head + f) % QUEUE_WINDOW].seq;
            }
            t->joined = 0;       /* pop again, and join again */
            t->more = 1;
        }
    char id[ARG_INT_MAX];
    const char *keys[] = { KEY_QF_BROKERS }, *pre[] = { arg_int(id, b->id), "1" };
    queue_seq_script(b, SCRIPT_QRECLAIM, keys, 1, pre, 2, keep, nkeep);
    free(keep);
    for (size_t i = 0; i < m->cap; i++)
        for (struct qtopic *t = m->slots[i].key ? m->slots[i].val : NULL; t; t = t->next)
            queue_pop_send(b, t);
}

void queue_beat(struct broker *b)
{
    char id[ARG_INT_MAX];
    const char *argv[] = { KEY_QF_BROKERS, arg_int(id, b->id), "0" };
    rconn_script(&b->store.cmd, SCRIPT_QRECLAIM, NULL, NULL, 1, 3, argv, NULL);
}

int queue_init(struct broker *b)
{
    imap_init(&b->q.topics);
    b->q.ev = event_new(b->base, -1, 0, queue_pass_end, b);
    return b->q.ev ? 0 : -1;
}

void queue_free(struct broker *b)
{
    struct imap *m = &b->q.topics;
    for (size_t i = 0; i < m->cap; i++) {
        struct qtopic *t = m->slots[i].key ? m->slots[i].val : NULL;
        while (t) {
            struct qtopic *next = t->next;
            for (uint32_t k = 0; k < t->nenvs; k++)
                free(t->envs[k]);
            free(t->envs);
            free(t->lens);
            free(t->svcs);
            free(t);
            t = next;
        }
    }
    imap_free(m);
    free(b->q.push);
    free(b->q.acks);
    if (b->q.ev)
        event_free(b->q.ev);
    memset(&b->q, 0, sizeof(b->q));
}
