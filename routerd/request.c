/* What every /put and /registration request goes through: the entry check,
 * and the carrier that takes it through its script's Redis reply. */
#include <stdlib.h>

#include <event2/http.h>
#include <hiredis/hiredis.h>

#include "router.h"
#include "xmalloc.h"

int router_request_ok(struct router *r, struct evhttp_request *req, int is_put)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST)
        return 0;
    reply_send(r, req, RC_METHOD, is_put, NULL);
    return -1;
}

struct router_request *request_new(struct router *r, struct evhttp_request *req)
{
    struct router_request *rq = xmalloc(sizeof(*rq));
    rq->r = r;
    rq->req = req;
    return rq;
}

void request_unsent(struct router_request *rq)
{
    struct router *r;
    struct evhttp_request *req = request_take(rq, &r);
    reply_unavailable(r, req);
}

struct evhttp_request *request_take(void *arg, struct router **r)
{
    struct router_request *rq = arg;
    struct evhttp_request *req = rq->req;
    *r = rq->r;
    free(rq);
    return req;
}

void request_bad_reply(struct router *r, struct evhttp_request *req, const char *script,
                       const redisReply *rep)
{
    if (rep && rep->type == REDIS_REPLY_ERROR)
        log_error("%s script: %s", script, rep->str);
    reply_unavailable(r, req);
}
