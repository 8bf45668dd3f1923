/* The replies rconn holds back until a WAIT answers (rconn.h). */
#ifndef PG_RCONN_WAIT_H
#define PG_RCONN_WAIT_H

#include "rconn.h"

/* Keeps a copy of r for cb, in reply order. */
void rconn_hold(struct rconn *rc, rconn_reply_cb *cb, void *arg, int durable,
                const struct redisReply *r);
/* Hands every held reply over in order: ok (the WAIT was satisfied), or
 * NULL to the durable ones and their own reply to the others. */
void rconn_release(struct rconn *rc, int ok);

#endif
