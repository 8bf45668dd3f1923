/* The cluster's numbers from lua/admin_stats.lua's reply, as adminhttp
 * (/stats, /metrics, MSG_STAT_REQ) and brokerd (gateway.metrics) give
 * them (cluster_stats.h). */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster_stats.h"
#include "scripts.h"

long long cluster_stats_int(const redisReply *r, size_t i)
{
    const redisReply *e = r->element[i];
    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer;
    return e->type == REDIS_REPLY_STRING ? strtoll(e->str, NULL, 10) : 0;
}

static int stats_valid(const redisReply *rep)
{
    if (!script_ok(rep, ST_KEPT) || rep->element[ST_BROKERS]->type != REDIS_REPLY_ARRAY)
        return 0;
    const redisReply *bs = rep->element[ST_BROKERS];
    for (size_t i = 0; i < bs->elements; i++)
        if (bs->element[i]->type != REDIS_REPLY_ARRAY || bs->element[i]->elements != BK_LEN)
            return 0;
    return 1;
}

/* Adds event loop b's numbers to the row of its brokerd process (a
 * brokerd with --threads N has N loops, each a broker id in Redis). */
static void stats_add_loop(json_t *rows, const redisReply *b, long long now)
{
    const char *proc = b->element[BK_PROC]->str;
    long long hb = cluster_stats_int(b, BK_HB);
    json_t *row = json_object_get(rows, proc);
    if (!row) {
        row = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
                        "id", proc, "address", b->element[BK_ADDR]->str,
                        "connections", (json_int_t)0,
                        "uptime_seconds", (json_int_t)((now - cluster_stats_int(b, BK_STARTED)) / 1000),
                        "last_heartbeat_ms", (json_int_t)hb, "alive", 1,
                        "messages_in", (json_int_t)0, "messages_out", (json_int_t)0,
                        "messages_pending", (json_int_t)0, "loops", (json_int_t)0,
                        "ws_clients", (json_int_t)0, "ws_services", (json_int_t)0);
        json_object_set_new(rows, proc, row);
    }
    static const char *const sums[] = { "connections", "messages_in", "messages_out",
                                        "messages_pending", "loops", "ws_clients",
                                        "ws_services" };
    const long long add[] = { cluster_stats_int(b, BK_CONNS), cluster_stats_int(b, BK_IN), cluster_stats_int(b, BK_OUT),
                              cluster_stats_int(b, BK_PENDING), 1, cluster_stats_int(b, BK_WS_CLIENTS),
                              cluster_stats_int(b, BK_WS_SERVICES) };
    for (size_t k = 0; k < sizeof(add) / sizeof(add[0]); k++) {
        json_t *v = json_object_get(row, sums[k]);
        json_integer_set(v, json_integer_value(v) + add[k]);
    }
    /* The process is as alive as its stalest loop. */
    json_t *last = json_object_get(row, "last_heartbeat_ms");
    if (hb < json_integer_value(last))
        json_integer_set(last, hb);
    if (cluster_stats_int(b, BK_ALIVE) != 1)  /* the script judges liveness */
        json_object_set_new(row, "alive", json_false());
}

/* Builds {"time_ms", "brokers": [...], "totals": {...}}; NULL if malformed.
 * A broker row is one brokerd process. */
json_t *cluster_stats_parse(const redisReply *rep)
{
    if (!stats_valid(rep))
        return NULL;
    long long now = cluster_stats_int(rep, ST_NOW), conns = 0, pending = cluster_stats_int(rep, ST_KEPT);
    json_int_t alive = 0;
    const redisReply *bs = rep->element[ST_BROKERS];
    json_t *rows = json_object();
    for (size_t i = 0; i < bs->elements; i++)
        stats_add_loop(rows, bs->element[i], now);
    json_t *brokers = json_array();
    const char *key;
    json_t *row;
    json_object_foreach(rows, key, row) {
        if (json_is_true(json_object_get(row, "alive"))) {
            alive++;
            conns += json_integer_value(json_object_get(row, "connections"));
            pending += json_integer_value(json_object_get(row, "messages_pending"));
        }
        json_array_append(brokers, row);
    }
    json_decref(rows);
    json_t *totals = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                               "brokers", alive, "connections", (json_int_t)conns,
                               "devices", (json_int_t)cluster_stats_int(rep, ST_DEVICES),
                               "channels", (json_int_t)cluster_stats_int(rep, ST_CHANNELS),
                               "messages_in", (json_int_t)cluster_stats_int(rep, ST_IN),
                               "messages_out", (json_int_t)cluster_stats_int(rep, ST_OUT),
                               "messages_pending", (json_int_t)pending);
    return json_pack("{s:I, s:o, s:o}", "time_ms", (json_int_t)now, "brokers", brokers,
                     "totals", totals);
}

