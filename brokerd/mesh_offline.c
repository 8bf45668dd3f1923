/* The mesh's writes on clients and channels (SPEC 5.4): conn.offline and
 * conn.offline_guests (lua/mesh_offline.lua: the D notice, on whatever
 * broker the client is), conn.info_delete (lua/mesh_info_delete.lua) and
 * topic.delete (lua/mesh_topic_delete.lua, in bounded steps). */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "mesh.h"
#include "mesh_chan.h"
#include "scripts.h"
#include "xmalloc.h"

/* Subscribers one topic.delete step takes out of a channel. */
#define TOPIC_DELETE_STEP "1000"

/* ---- conn.offline, conn.offline_guests ---- */

static void offline_done(struct mesh_call *c, redisReply *r)
{
    if (!script_ok(r, 1) || r->element[1]->type != REDIS_REPLY_INTEGER) {
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return;
    }
    mesh_reply(c, json_pack("{s:I}", "s", (json_int_t)r->element[1]->integer));
}

static void offline(struct mesh_call *c, int guests)
{
    int64_t *ids;
    size_t n;
    if (mesh_call_ids(c, &ids, &n) < 0)
        return;
    const char **argv = xcalloc(2 * n + 1, sizeof(*argv));
    char (*keys)[KEY_MAX] = xcalloc(n, sizeof(*keys));
    char (*args)[ARG_INT_MAX] = xcalloc(n, sizeof(*args));
    for (size_t i = 0; i < n; i++) {
        argv[i] = key_dev(keys[i], ids[i]);
        argv[n + 1 + i] = arg_int(args[i], ids[i]);
    }
    argv[n] = guests ? "1" : "0";
    if (mesh_redis(c, offline_done, SCRIPT_MESH_OFFLINE, (int)n, (int)(2 * n + 1), argv, NULL) < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
    free(argv);
    free(keys);
    free(args);
    free(ids);
}

void mesh_conn_offline(struct mesh_call *c) { offline(c, 0); }

void mesh_conn_offline_guests(struct mesh_call *c) { offline(c, 1); }

/* ---- conn.info_delete ---- */

static const struct mesh_status info_delete_status[] = {
    { "unknown", MESH_E_SEND, "no such client" },
    { NULL, 0, NULL },
};

static void info_delete_done(struct mesh_call *c, redisReply *r)
{
    mesh_reply_script(c, r, info_delete_status);
}

/* An optional bool parameter: 0 or 1 (def when missing), -1 when not a bool. */
static int param_bool(const json_t *p, const char *key, int def)
{
    const json_t *v = json_object_get(p, key);
    if (!v)
        return def;
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

void mesh_conn_info_delete(struct mesh_call *c)
{
    int64_t id;
    int context = param_bool(c->p, "context", 1), topics = param_bool(c->p, "topics", 0);
    if (mesh_param_id(c->p, "c", &id) < 0 || context < 0 || topics < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "c must be a client id, context and topics bools");
        return;
    }
    char key[3][KEY_MAX], did[ARG_INT_MAX];
    const char *argv[] = { key_dev(key[0], id), key_dev_subs(key[1], id), key_dev_cur(key[2], id),
                           KEY_CHANNELS, arg_int(did, id), context ? "1" : "0",
                           topics ? "1" : "0" };
    if (mesh_redis(c, info_delete_done, SCRIPT_MESH_INFO_DELETE, 4, 7, argv, NULL) < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}

/* ---- topic.delete ---- */

/* A topic.delete in progress: the channel being emptied, the total. */
struct topic_delete {
    struct mesh_chans ch;
    size_t at;
    json_int_t removed;
};

static void topic_delete_step(struct mesh_call *c);

static void topic_delete_done(struct mesh_call *c, redisReply *r)
{
    struct topic_delete *t = c->state;
    if (!script_ok(r, 2) || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_INTEGER) {
        free(t);
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return;
    }
    t->removed += r->element[1]->integer;
    if (r->element[2]->integer == 0)
        t->at++;
    topic_delete_step(c);
}

static void topic_delete_step(struct mesh_call *c)
{
    struct topic_delete *t = c->state;
    if (t->at == t->ch.n) {
        json_int_t removed = t->removed;
        free(t);
        mesh_reply(c, json_pack("{s:I}", "s", removed));
        return;
    }
    const char *name = t->ch.name[t->at];
    char key[2][KEY_MAX];
    const char *argv[] = { key_chn_subs(key[0], name), key_chn_subs_types(key[1], name),
                           KEY_CHANNELS, name, TOPIC_DELETE_STEP };
    if (mesh_redis(c, topic_delete_done, SCRIPT_MESH_TOPIC_DELETE, 3, 5, argv, NULL) < 0) {
        free(t);
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
    }
}

void mesh_topic_delete(struct mesh_call *c)
{
    struct topic_delete *t = xcalloc(1, sizeof(*t));
    if (mesh_chans_parse(json_object_get(c->p, "c"), 0, &t->ch) < 0) {
        free(t);
        mesh_reply_err(c, MESH_E_PARAMS, "c must be an array of 1..256 channel names");
        return;
    }
    c->state = t;
    topic_delete_step(c);
}
