/* The mesh's reads of who is connected and which channels have
 * subscribers (SPEC 5.4, 5.5 "Reads"): conn.count, topic.count,
 * conn.list, topic.list, conn.online. Each is one Redis command on the
 * kept indexes (docs/DESIGN.md, "Presence and topic indexes"): a count is
 * a ZCARD, a page a ZRANGE BYLEX of at most count + 1 members, whatever
 * the size of the cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "chan.h"
#include "mesh.h"
#include "numparse.h"
#include "xmalloc.h"

#define PAGE_DEFAULT 1000
#define PAGE_MAX 10000

/* ---- counts ---- */

static void count_done(struct mesh_call *c, redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return;
    }
    mesh_reply(c, json_pack("{s:I}", "n", (json_int_t)r->integer));
}

static void count_of(struct mesh_call *c, const char *key)
{
    const char *argv[] = { "ZCARD", key };
    if (mesh_redis(c, count_done, STORE_CMD, 0, 2, argv, NULL) < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}

void mesh_conn_count(struct mesh_call *c) { count_of(c, KEY_ONLINE); }

void mesh_topic_count(struct mesh_call *c) { count_of(c, KEY_TOPICS); }

/* ---- pages ---- */

/* count (1..PAGE_MAX, default PAGE_DEFAULT) and cursor (a string,
 * default "0") of a page; 0, or -1 once c is answered with 101. */
static int page_params(struct mesh_call *c, json_int_t *count, const char **cursor, size_t *len)
{
    const json_t *n = json_object_get(c->p, "count"), *cur = json_object_get(c->p, "cursor");
    *count = PAGE_DEFAULT;
    *cursor = "0";
    *len = 1;
    if (n && (!json_is_integer(n) || json_integer_value(n) < 1 ||
              json_integer_value(n) > PAGE_MAX)) {
        mesh_reply_err(c, MESH_E_PARAMS, "count must be an integer in 1..10000");
        return -1;
    }
    if (cur && !json_is_string(cur)) {
        mesh_reply_err(c, MESH_E_PARAMS, "cursor must be a string");
        return -1;
    }
    if (n)
        *count = json_integer_value(n);
    if (cur) {
        *cursor = json_string_value(cur);
        *len = json_string_length(cur);
    }
    return 0;
}

/* Reads a page of key from start (a ZRANGE BYLEX bound), count + 1 members
 * (the one past the page says there is more). */
static void page_read(struct mesh_call *c, mesh_redis_cb *done, const char *key,
                      const char *start, json_int_t count)
{
    char limit[ARG_INT_MAX];
    const char *argv[] = { "ZRANGE", key, start, "+", "BYLEX", "LIMIT", "0",
                           arg_int(limit, (int64_t)count + 1) };
    if (mesh_redis(c, done, STORE_CMD, 0, 8, argv, NULL) < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}

/* How many members of page r to give (*count: the call's page size), or
 * -1 once c is answered (r is no page). */
static long page_size(struct mesh_call *c, const redisReply *r, json_int_t *count)
{
    const json_t *n = json_object_get(c->p, "count");
    *count = n ? json_integer_value(n) : PAGE_DEFAULT;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            r = NULL;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return -1;
    }
    return (long)(r->elements > (size_t)*count ? (size_t)*count : r->elements);
}

/* A page of conn.list (conn: ids, its cursor the last id given) or
 * topic.list (names, its cursor "~" and the last name: a name may be
 * "0", so it is never the cursor itself); "0" when there is no more. */
static void list_reply(struct mesh_call *c, redisReply *r, int conn)
{
    json_int_t count;
    long n = page_size(c, r, &count);
    if (n < 0)
        return;
    json_t *items = json_array();
    char id[ARG_INT_MAX], last[1 + CHAN_NAME_MAX + 1] = "0";
    size_t len = 1;
    for (long i = 0; i < n; i++) {
        const redisReply *e = r->element[i];
        if (conn) {
            int64_t v = arg_online_id(e->str, e->len);
            json_array_append_new(items, json_string(arg_int(id, v > 0 ? v : 0)));
            len = (size_t)snprintf(last, sizeof(last), "%s", id);
        } else {
            json_array_append_new(items, json_stringn(e->str, e->len));
            len = 1 + (e->len < CHAN_NAME_MAX ? e->len : CHAN_NAME_MAX);
            last[0] = '~';
            memcpy(last + 1, e->str, len - 1);
        }
    }
    int more = r->elements > (size_t)count && n > 0;
    mesh_reply(c, json_pack("{s:o, s:s%}", "c", items, "cursor", more ? last : "0",
                            more ? len : (size_t)1));
}

static void conn_list_done(struct mesh_call *c, redisReply *r) { list_reply(c, r, 1); }

static void topic_list_done(struct mesh_call *c, redisReply *r) { list_reply(c, r, 0); }

void mesh_conn_list(struct mesh_call *c)
{
    json_int_t count;
    const char *cursor;
    size_t len;
    int64_t after = 0;
    if (page_params(c, &count, &cursor, &len) < 0)
        return;
    if (!(len == 1 && cursor[0] == '0') && parse_id(cursor, len, &after) < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "cursor must be \"0\" or a cursor given");
        return;
    }
    char start[ARG_INT_MAX + 1] = "-";
    if (after > 0) {
        start[0] = '(';
        arg_online(start + 1, after);
    }
    page_read(c, conn_list_done, KEY_ONLINE, start, count);
}

void mesh_topic_list(struct mesh_call *c)
{
    json_int_t count;
    const char *cursor;
    size_t len;
    if (page_params(c, &count, &cursor, &len) < 0)
        return;
    int first = len == 1 && cursor[0] == '0';
    if (!first && (len < 2 || cursor[0] != '~' || !chan_name_valid(cursor + 1, len - 1))) {
        mesh_reply_err(c, MESH_E_PARAMS, "cursor must be \"0\" or a cursor given");
        return;
    }
    char start[1 + CHAN_NAME_MAX + 1] = "-";
    if (!first) {
        start[0] = '(';
        memcpy(start + 1, cursor + 1, len - 1);
        start[len] = 0;
    }
    page_read(c, topic_list_done, KEY_TOPICS, start, count);
}

/* ---- conn.online ---- */

/* The ids conn.online asked, in order without repeats, as ZMSCORE was
 * sent them. */
struct online_asked {
    int64_t *ids;
    size_t n;
};

static void online_done(struct mesh_call *c, redisReply *r)
{
    struct online_asked *a = c->state;
    json_t *on = json_array();
    char id[ARG_INT_MAX];
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == a->n;
    for (size_t i = 0; ok && i < a->n; i++)
        if (r->element[i]->type != REDIS_REPLY_NIL)
            json_array_append_new(on, json_string(arg_int(id, a->ids[i])));
    free(a->ids);
    free(a);
    if (ok)
        mesh_reply(c, json_pack("{s:o}", "c", on));
    else {
        json_decref(on);
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
    }
}

void mesh_conn_online(struct mesh_call *c)
{
    int64_t *ids;
    size_t n;
    if (mesh_call_ids(c, &ids, &n) < 0)
        return;
    const char **argv = xcalloc(n + 2, sizeof(*argv));
    char (*members)[ARG_INT_MAX] = xcalloc(n, sizeof(*members));
    argv[0] = "ZMSCORE";
    argv[1] = KEY_ONLINE;
    for (size_t i = 0; i < n; i++)
        argv[2 + i] = arg_online(members[i], ids[i]);
    struct online_asked *a = xmalloc(sizeof(*a));
    a->ids = ids;
    a->n = n;
    c->state = a;
    if (mesh_redis(c, online_done, STORE_CMD, 0, (int)n + 2, argv, NULL) < 0) {
        free(ids);
        free(a);
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
    }
    free(argv);
    free(members);
}
