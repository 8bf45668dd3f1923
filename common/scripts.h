/* The Lua scripts of lua/, compiled in at build time (lua/embed.sh
 * writes them, with lua/lib.lua, into the generated lua/embedded.c), and
 * the one shape of their replies. The convention (KEYS, ARGV, replies) is
 * in lua/lib.lua and docs/DESIGN.md ("Lua scripts"). */
#ifndef PG_SCRIPTS_H
#define PG_SCRIPTS_H
#include <stddef.h>

/* brokerd */
extern const char lua_broker_beat[], lua_broker_gone[], lua_broker_identify[],
    lua_broker_pub[], lua_broker_sub[], lua_broker_unsub[], lua_broker_send[],
    lua_broker_context[], lua_broker_reap[], lua_mesh_publish[], lua_mesh_subscribe[], lua_mesh_unsubscribe[],
    lua_mesh_info[], lua_mesh_members[], lua_mesh_offline[], lua_mesh_info_delete[],
    lua_mesh_topic_delete[];
extern const char lua_mesh_limit[];
/* brokerd's upstream queues */
extern const char lua_broker_qack[], lua_broker_qback[], lua_broker_qpop[], lua_broker_qpush[],
    lua_broker_qreclaim[];
extern const char lua_mesh_send_many[], lua_mesh_publish_bulk[], lua_mesh_broadcast[],
    lua_broker_bcount[];
/* routerd */
extern const char lua_router_floor[], lua_router_put[], lua_router_register[];
/* adminhttp */
extern const char lua_admin_device[], lua_admin_disconnect[], lua_admin_free[],
    lua_admin_gbye[], lua_admin_helo[], lua_admin_recv[], lua_admin_revoke[], lua_admin_send[],
    lua_admin_stats[], lua_admin_sweep[];

struct redisReply;

/* A script's reply is {status, values...}. Its status ("ok", or why it did
 * nothing), or NULL when r is no script reply: none, a Redis error (the
 * caller logs r->str), another shape. */
const char *script_status(const struct redisReply *r);
/* 1 when r is {"ok"} followed by exactly n values; value i (from 0) is then
 * r->element[1 + i]. */
int script_ok(const struct redisReply *r, size_t n);

#endif
