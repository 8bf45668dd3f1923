/* Replies held until a WAIT answers (rconn.h). hiredis frees a reply when
 * its callback returns, so a held one is a copy; only durable commands, and
 * what comes after them before their WAIT, are copied. */
#include "rconn_wait.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "xmalloc.h"

struct rconn_held {
    struct rconn_held *next;
    rconn_reply_cb *cb;
    void *arg;
    int durable;
    redisReply *r;
};

/* A deep copy that freeReplyObject frees (hiredis allocates with malloc). */
static redisReply *reply_dup(const redisReply *r)
{
    redisReply *c = xcalloc(1, sizeof(*c));
    c->type = r->type;
    c->integer = r->integer;
    if (r->str) {
        c->len = r->len;
        c->str = xmalloc(r->len + 1);
        memcpy(c->str, r->str, r->len + 1);
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements) {
        c->elements = r->elements;
        c->element = xcalloc(r->elements, sizeof(*c->element));
        for (size_t i = 0; i < r->elements; i++)
            c->element[i] = reply_dup(r->element[i]);
    }
    return c;
}

void rconn_hold(struct rconn *rc, rconn_reply_cb *cb, void *arg, int durable,
                const struct redisReply *r)
{
    struct rconn_held *h = xmalloc(sizeof(*h));
    h->next = NULL;
    h->cb = cb;
    h->arg = arg;
    h->durable = durable;
    h->r = reply_dup(r);
    if (!rc->held)
        rc->held_tail = &rc->held;
    *rc->held_tail = h;
    rc->held_tail = &h->next;
}

void rconn_release(struct rconn *rc, int ok)
{
    struct rconn_held *h = rc->held;
    rc->held = NULL;
    rc->held_tail = &rc->held;
    while (h) {
        struct rconn_held *next = h->next;
        if (h->cb)
            h->cb(h->arg, ok || !h->durable ? h->r : NULL);
        freeReplyObject(h->r);
        free(h);
        h = next;
    }
}
