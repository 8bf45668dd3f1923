/* routerd's Lua scripts (lua/router_*.lua), one atomic round trip per
 * request. */
#include "router.h"
#include "scripts.h"

const char *const router_script_text[RS_COUNT] = {
    [RS_REGISTER] = lua_router_register,
    [RS_PUT] = lua_router_put,
    [RS_FLOOR] = lua_router_floor,
};
