/* The cluster's numbers (SPEC 4's MSG_STAT_RES, adminhttp's /stats,
 * brokerd's gateway.metrics) from one run of lua/admin_stats.lua: counters
 * and the brokers' registry entries, O(brokers) (docs/DESIGN.md,
 * "Counters"). */
#ifndef PG_CLUSTER_STATS_H
#define PG_CLUSTER_STATS_H
#include <stddef.h>

#include <jansson.h>

#include "keys.h"

struct redisReply;

/* The script's keys; it takes no arguments. */
#define STATS_NKEYS 4
#define STATS_KEYS { KEY_BROKERS, KEY_STATS, KEY_DEVICES, KEY_CHANNELS }

/* Its reply: {"ok", now, {{id, addr, conns, started, hb, in, out, pending,
 * process, alive, ws clients, services, ws address}...}, devices, channels,
 * messages_in, messages_out, kept}. */
enum { ST_NOW = 1, ST_BROKERS, ST_DEVICES, ST_CHANNELS, ST_IN, ST_OUT, ST_KEPT };
enum { BK_ID, BK_ADDR, BK_CONNS, BK_STARTED, BK_HB, BK_IN, BK_OUT, BK_PENDING, BK_PROC, BK_ALIVE,
       BK_WS_CLIENTS, BK_WS_SERVICES, BK_WS, BK_LEN };

/* Element i of r as a number (an integer or a decimal string; else 0). */
long long cluster_stats_int(const struct redisReply *r, size_t i);
/* {"time_ms", "brokers": [a row per brokerd process], "totals": {the seven
 * MSG_STAT_RES counters}} (new reference); NULL if rep is malformed. */
json_t *cluster_stats_parse(const struct redisReply *rep);

#endif
