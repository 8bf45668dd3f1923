/* adminhttp's Lua scripts (lua/admin_*.lua). */
#include "admin.h"
#include "scripts.h"

const char *const admin_script_text[AS_COUNT] = {
    [AS_SEND] = lua_admin_send,
    [AS_RECV] = lua_admin_recv,
    [AS_FREE] = lua_admin_free,
    [AS_HELO] = lua_admin_helo,
    [AS_GBYE] = lua_admin_gbye,
    [AS_STATS] = lua_admin_stats,
    [AS_DEVICE] = lua_admin_device,
    [AS_DISCONNECT] = lua_admin_disconnect,
    [AS_SWEEP] = lua_admin_sweep,
    [AS_REVOKE] = lua_admin_revoke,
};
