/* The mesh's reads of one client or one channel at a time (SPEC 5.4,
 * 5.5 "Reads"): conn.info (lua/mesh_info.lua), topic.members and
 * topic.member_count (lua/mesh_members.lua), each one script for the
 * whole array asked. */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "mesh.h"
#include "mesh_chan.h"
#include "scripts.h"
#include "xmalloc.h"

/* ---- conn.info ---- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A device's entry from its row {broker, ctx, {channels}}; NULL if the
 * row is malformed. */
static json_t *info_entry(const redisReply *row)
{
    if (row->type != REDIS_REPLY_ARRAY || row->elements != 3 ||
        row->element[0]->type != REDIS_REPLY_STRING || row->element[1]->type != REDIS_REPLY_STRING ||
        row->element[2]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const redisReply *bk = row->element[0], *ctx = row->element[1], *subs = row->element[2];
    json_t *o = ctx->len ? json_loadb(ctx->str, ctx->len, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    const char **names = xcalloc(subs->elements ? subs->elements : 1, sizeof(*names));
    size_t n = 0;
    for (size_t i = 0; i < subs->elements; i++)
        if (subs->element[i]->type == REDIS_REPLY_STRING)
            names[n++] = subs->element[i]->str;
    qsort(names, n, sizeof(*names), name_cmp);  /* names are printable: no NUL inside */
    json_t *topics = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(topics, json_string(names[i]));
    free(names);
    return json_pack("{s:b, s:o, s:o, s:o}", "online", bk->len > 0, "n",
                     bk->len ? json_integer(strtoll(bk->str, NULL, 10)) : json_null(), "ctx", o,
                     "topics", topics);
}

static void info_done(struct mesh_call *c, redisReply *r)
{
    int64_t *ids;
    size_t n;
    if (!script_ok(r, 1) || r->element[1]->type != REDIS_REPLY_ARRAY ||
        mesh_param_ids(c->p, "c", &ids, &n) < 0) {
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return;
    }
    const redisReply *rows = r->element[1];
    json_t *m = json_object();
    char id[ARG_INT_MAX];
    for (size_t i = 0; i < n && i < rows->elements; i++) {
        json_t *e = info_entry(rows->element[i]);
        if (e)
            json_object_set_new(m, arg_int(id, ids[i]), e);
    }
    free(ids);
    mesh_reply(c, json_pack("{s:o}", "m", m));
}

void mesh_conn_info(struct mesh_call *c)
{
    int64_t *ids;
    size_t n;
    if (mesh_call_ids(c, &ids, &n) < 0)
        return;
    const char **argv = xcalloc(2 * n, sizeof(*argv));
    char (*keys)[KEY_MAX] = xcalloc(2 * n, sizeof(*keys));
    for (size_t i = 0; i < n; i++) {
        argv[2 * i] = key_dev(keys[2 * i], ids[i]);
        argv[2 * i + 1] = key_dev_subs(keys[2 * i + 1], ids[i]);
    }
    if (mesh_redis(c, info_done, SCRIPT_MESH_INFO, (int)(2 * n), (int)(2 * n), argv, NULL) < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
    free(argv);
    free(keys);
    free(ids);
}

/* ---- topic.members, topic.member_count ---- */

static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Channel i's members (ascending) or count from its reply e. */
static json_t *members_of(const redisReply *e, int count)
{
    if (count)
        return e->type == REDIS_REPLY_INTEGER ? json_integer(e->integer) : json_integer(0);
    json_t *a = json_array();
    if (e->type != REDIS_REPLY_ARRAY)
        return a;
    int64_t *ids = xcalloc(e->elements ? e->elements : 1, sizeof(*ids));
    size_t n = 0;
    for (size_t i = 0; i < e->elements; i++)
        if (e->element[i]->type == REDIS_REPLY_STRING)
            ids[n++] = strtoll(e->element[i]->str, NULL, 10);
    qsort(ids, n, sizeof(*ids), id_cmp);
    char id[ARG_INT_MAX];
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(arg_int(id, ids[i])));
    free(ids);
    return a;
}

static void members_reply(struct mesh_call *c, redisReply *r, int count)
{
    struct mesh_chans ch;
    if (!script_ok(r, 1) || r->element[1]->type != REDIS_REPLY_ARRAY ||
        mesh_chans_parse(json_object_get(c->p, "c"), 0, &ch) < 0 ||
        r->element[1]->elements != ch.n) {
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return;
    }
    json_t *m = json_object();
    for (size_t i = 0; i < ch.n; i++)
        json_object_set_new(m, ch.name[i], members_of(r->element[1]->element[i], count));
    mesh_reply(c, json_pack("{s:o}", "m", m));
}

static void members_done(struct mesh_call *c, redisReply *r) { members_reply(c, r, 0); }

static void member_count_done(struct mesh_call *c, redisReply *r) { members_reply(c, r, 1); }

static void members(struct mesh_call *c, int count)
{
    struct mesh_chans ch;
    if (mesh_chans_parse(json_object_get(c->p, "c"), 0, &ch) < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "c must be an array of 1..256 channel names");
        return;
    }
    const char *argv[MESH_CHANNELS_MAX + 1];
    char (*keys)[KEY_MAX] = xcalloc(ch.n, sizeof(*keys)), cap[ARG_INT_MAX];
    for (size_t i = 0; i < ch.n; i++)
        argv[i] = key_chn_subs(keys[i], ch.name[i]);
    argv[ch.n] = count ? "count" : arg_int(cap, MESH_ITEMS_MAX);
    if (mesh_redis(c, count ? member_count_done : members_done, SCRIPT_MESH_MEMBERS, (int)ch.n,
                   (int)ch.n + 1, argv, NULL) < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
    free(keys);
}

void mesh_topic_members(struct mesh_call *c) { members(c, 0); }

void mesh_topic_member_count(struct mesh_call *c) { members(c, 1); }
