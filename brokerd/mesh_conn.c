/* conn.call (SPEC 5.3): a service calls a function of a client's
 * connection, wherever it is connected. The context functions here work
 * on the presence in Redis (any broker's client); subscribe and
 * unsubscribe are mesh_conn_subs's. */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "mesh.h"
#include "scripts.h"

#define CONTEXT_MAX 4096

static void context_done(struct mesh_call *c, redisReply *r)
{
    const char *status = script_status(r);
    if (status && strcmp(status, "ok") == 0)
        mesh_reply_ok(c);
    else if (status && strcmp(status, "offline") == 0)
        mesh_reply_err(c, MESH_E_CALL, "client not connected");
    else if (status && strcmp(status, "toobig") == 0)
        mesh_reply_err(c, MESH_E_PARAMS, "context over 4 KiB");
    else
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}

/* set_context ([object]) or set_context_value ([key, value]). */
static void conn_context(struct mesh_call *c, int64_t id, const json_t *a, int whole)
{
    const json_t *v = json_array_get(a, whole ? 0 : 1);
    const json_t *k = json_array_get(a, 0);
    if (json_array_size(a) != (whole ? 1u : 2u) || (whole && !json_is_object(v)) ||
        (!whole && !json_is_string(k))) {
        mesh_reply_err(c, MESH_E_PARAMS, whole ? "a must be [object]" : "a must be [key, value]");
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text || strlen(text) > CONTEXT_MAX) {
        free(text);
        mesh_reply_err(c, MESH_E_PARAMS, "context over 4 KiB");
        return;
    }
    char key[KEY_MAX], max[ARG_INT_MAX];
    const char *argv[] = { key_dev(key, id), whole ? "set" : "value",
                           whole ? text : json_string_value(k), text, arg_int(max, CONTEXT_MAX) };
    const char **args = whole ? (const char *[]){ argv[0], argv[1], text, argv[4] } : argv;
    int rv = mesh_redis(c, context_done, SCRIPT_CONTEXT, 1, whole ? 4 : 5, args, NULL);
    free(text);
    if (rv < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}

void mesh_conn_call(struct mesh_call *c)
{
    int64_t id;
    const json_t *f = json_object_get(c->p, "f"), *a = json_object_get(c->p, "a");
    if (mesh_param_id(c->p, "c", &id) < 0 || !json_is_string(f)) {
        mesh_reply_err(c, MESH_E_PARAMS, "c must be a client id and f a function");
        return;
    }
    const char *fn = json_string_value(f);
    if (a && !json_is_array(a)) {
        mesh_reply_err(c, MESH_E_PARAMS, "a must be an array");
        return;
    }
    if (strcmp(fn, "set_context") == 0)
        conn_context(c, id, a, 1);
    else if (strcmp(fn, "set_context_value") == 0)
        conn_context(c, id, a, 0);
    else
        mesh_reply_err(c, MESH_E_CALL, "unknown function");
}
