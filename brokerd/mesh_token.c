/* conn.token (SPEC 5.4, 5.5 "Left over"): the token of SPEC 2.7 that
 * lets a client connect as an id, as routerd's /registration hands it
 * (common/token.c): for the device's current generation (field gen of
 * pg:dev:{d}, read, never written: the id does not become known). ""
 * when the broker has no secret. */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "mesh.h"
#include "token.h"

static void token_done(struct mesh_call *c, redisReply *r)
{
    int64_t id, gen = 0;
    char token[TOKEN_MAX + 1];
    if (!r || (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING) ||
        mesh_param_id(c->p, "c", &id) < 0) {
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return;
    }
    if (r->type == REDIS_REPLY_STRING)
        gen = strtoll(r->str, NULL, 10);
    token_make(c->b->conf.secret, id, gen > 0 ? gen : 0, token);
    mesh_reply(c, json_pack("{s:s}", "token", token));
}

void mesh_conn_token(struct mesh_call *c)
{
    int64_t id;
    if (mesh_param_id(c->p, "c", &id) < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "c must be a client id");
        return;
    }
    if (!c->b->conf.secret || !*c->b->conf.secret) {
        mesh_reply(c, json_pack("{s:s}", "token", ""));
        return;
    }
    char key[KEY_MAX];
    const char *argv[] = { "HGET", key_dev(key, id), "gen" };
    if (mesh_redis(c, token_done, STORE_CMD, 0, 3, argv, NULL) < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}
