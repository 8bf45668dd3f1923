/* gateway.metrics (SPEC 5.4, 5.5 "Reads"): the seven MSG_STAT_RES
 * counters, as adminhttp gives them (common/cluster_stats.c, from one run
 * of lua/admin_stats.lua: counters and the brokers' registry, O(brokers)),
 * and "brokers_detail": each loop of a live brokerd process, from its beat. */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "cluster_stats.h"
#include "mesh.h"

/* Whether brokerd process proc is alive in the parsed stats (a process
 * is as alive as its stalest loop, common/cluster_stats.c). */
static int process_alive(const json_t *stats, const char *proc)
{
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(stats, "brokers"), i, row)
        if (strcmp(json_string_value(json_object_get(row, "id")), proc) == 0)
            return json_is_true(json_object_get(row, "alive"));
    return 0;
}

/* The loops of the live brokerd processes in the script's reply rep
 * (cluster_stats_parse checked its shape): "brokers" counts processes, so
 * a loop of a process that is dying does not show here either. */
static json_t *brokers_detail(const redisReply *rep, const json_t *stats)
{
    json_t *a = json_array();
    const redisReply *bs = rep->element[ST_BROKERS];
    for (size_t i = 0; i < bs->elements; i++) {
        const redisReply *b = bs->element[i];
        if (cluster_stats_int(b, BK_ALIVE) != 1 || !process_alive(stats, b->element[BK_PROC]->str))
            continue;
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "id", b->element[BK_ID]->str, "addr",
                         b->element[BK_ADDR]->str, "ws", b->element[BK_WS]->str, "connections",
                         (json_int_t)cluster_stats_int(b, BK_CONNS), "messages_in",
                         (json_int_t)cluster_stats_int(b, BK_IN), "messages_out",
                         (json_int_t)cluster_stats_int(b, BK_OUT)));
    }
    return a;
}

static void metrics_done(struct mesh_call *c, redisReply *r)
{
    json_t *s = cluster_stats_parse(r);
    json_t *totals = json_incref(json_object_get(s, "totals"));
    if (!totals) {
        json_decref(s);
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return;
    }
    json_object_set_new(totals, "brokers_detail", brokers_detail(r, s));
    json_decref(s);
    mesh_reply(c, totals);
}

void mesh_gateway_metrics(struct mesh_call *c)
{
    const char *keys[] = STATS_KEYS;
    if (mesh_redis(c, metrics_done, SCRIPT_STATS, STATS_NKEYS, STATS_NKEYS, keys, NULL) < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}
