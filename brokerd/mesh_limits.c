/* The mesh's side of the cluster-wide limits (SPEC 5.4, 5.5 "Limits"):
 * gateway.limit, the HTTP 429 of a WebSocket upgrade over accept_per_s,
 * and the 429 of a client's mesh.send/mesh.publish over messages_per_s.
 * The counting is limits.c's. */
#include <stdatomic.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "mesh.h"
#include "scripts.h"

int mesh_accept_allowed(struct broker *b)
{
    return limits_accept(&b->proc->limits);
}

int mesh_over_limit(struct mesh_call *c)
{
    if (!c->client || limits_message(c->client))
        return 0;
    mesh_reply_err(c, MESH_E_RATE, NULL);
    return 1;
}

/* A limit of p at key, as the script's argument: its decimal, or "" when
 * missing or not a JSON integer in 0..LIMITS_MAX (ignored, the seed). */
static const char *limit_param(const json_t *p, const char *key, char buf[ARG_INT_MAX])
{
    const json_t *v = json_object_get(p, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > LIMITS_MAX)
        return "";
    return arg_int(buf, (int64_t)json_integer_value(v));
}

static void limit_done(struct mesh_call *c, redisReply *r)
{
    const char *status = script_status(r);
    if (!status || strcmp(status, "ok") != 0 || r->elements != 3 ||
        r->element[1]->type != REDIS_REPLY_STRING || r->element[2]->type != REDIS_REPLY_STRING) {
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return;
    }
    struct limits *l = &c->b->proc->limits;
    limits_set(l, &c->b->conf, r->element[1]->str, r->element[1]->len, r->element[2]->str,
               r->element[2]->len);
    mesh_reply(c, json_pack("{s:I, s:I}", "accept_per_s", (json_int_t)atomic_load(&l->accept_per_s),
                            "messages_per_s", (json_int_t)atomic_load(&l->messages_per_s)));
}

void mesh_gateway_limit(struct mesh_call *c)
{
    char a[ARG_INT_MAX], m[ARG_INT_MAX];
    const char *argv[] = { KEY_LIMITS, KEY_BROKERS, limit_param(c->p, "accept_per_s", a),
                           limit_param(c->p, "messages_per_s", m) };
    if (mesh_redis(c, limit_done, SCRIPT_MESH_LIMIT, 2, 4, argv, NULL) < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}
