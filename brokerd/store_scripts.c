/* The Lua scripts brokerd runs in Redis (lua/broker_*.lua, lua/mesh_*.lua), each one
 * atomic round trip. */
#include "broker.h"
#include "scripts.h"

const char *const store_script_text[SCRIPT_COUNT] = {
    [SCRIPT_BEAT] = lua_broker_beat,
    [SCRIPT_IDENTIFY] = lua_broker_identify,
    [SCRIPT_GONE] = lua_broker_gone,
    [SCRIPT_SUB] = lua_broker_sub,
    [SCRIPT_UNSUB] = lua_broker_unsub,
    [SCRIPT_PUB] = lua_broker_pub,
    [SCRIPT_SEND] = lua_broker_send,
    [SCRIPT_CONTEXT] = lua_broker_context,
    [SCRIPT_QPUSH] = lua_broker_qpush,
    [SCRIPT_QPOP] = lua_broker_qpop,
    [SCRIPT_QACK] = lua_broker_qack,
    [SCRIPT_QBACK] = lua_broker_qback,
    [SCRIPT_QRECLAIM] = lua_broker_qreclaim,
    [SCRIPT_MESH_PUBLISH] = lua_mesh_publish,
    [SCRIPT_MESH_SUBSCRIBE] = lua_mesh_subscribe,
    [SCRIPT_MESH_UNSUBSCRIBE] = lua_mesh_unsubscribe,
    [SCRIPT_MESH_SEND_MANY] = lua_mesh_send_many,
    [SCRIPT_MESH_PUBLISH_BULK] = lua_mesh_publish_bulk,
    [SCRIPT_MESH_BROADCAST] = lua_mesh_broadcast,
    [SCRIPT_BCOUNT] = lua_broker_bcount,
    [SCRIPT_REAP] = lua_broker_reap,
    [SCRIPT_MESH_INFO] = lua_mesh_info,
    [SCRIPT_MESH_MEMBERS] = lua_mesh_members,
    [SCRIPT_MESH_OFFLINE] = lua_mesh_offline,
    [SCRIPT_MESH_INFO_DELETE] = lua_mesh_info_delete,
    [SCRIPT_MESH_TOPIC_DELETE] = lua_mesh_topic_delete,
    [SCRIPT_STATS] = lua_admin_stats,
    [SCRIPT_MESH_LIMIT] = lua_mesh_limit,
};
