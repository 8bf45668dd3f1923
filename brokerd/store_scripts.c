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
    [SCRIPT_MESH_LIMIT] = lua_mesh_limit,
};
