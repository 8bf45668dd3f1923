/* routerd's Lua scripts (one atomic round trip per request). Keys are in
 * docs/DESIGN.md. */
#include "lua_lib.h"
#include "router.h"

/* A broker is live while its heartbeat (Redis time) is at most 5 s old. */
#define LUA_LIVE_BROKER \
    "local function live(b) " \
    "  local v = redis.call('HMGET', 'pg:bk:' .. b, 'hb', 'addr', 'conns', 'assigned') " \
    "  if v[1] and now - tonumber(v[1]) <= 5000 then return v end " \
    "  return nil " \
    "end "

/* ARGV: serial_no, device_type, device_name ("" keeps the stored one),
 * name given ("1"/"0"). Returns {device_id, broker address or "", status}
 * with status "ok", "ios" (no broker) or "nobroker". The same serial and
 * type always get the same id; a device keeps its broker while it lives,
 * else gets the live address with the fewest devices (those its brokers
 * reported at their last heartbeat, plus those assigned to them since).
 * Loads add up per address: the loops of one brokerd (--threads) share
 * it, and the kernel, not routerd, picks the loop a device lands on. */
static const char register_lua[] =
    LUA_NOW_MS
    LUA_LIVE_BROKER
    "local skey = 'pg:serial:' .. ARGV[2] .. ':' .. ARGV[1] "
    "local id = redis.call('GET', skey) "
    "if not id then "
    "  id = tostring(redis.call('INCR', 'pg:next_device_id')) "
    "  redis.call('SET', skey, id) "
    "end "
    "local dev = 'pg:dev:' .. id "
    "redis.call('HSET', dev, 'known', '1', 'type', ARGV[2], 'serial', ARGV[1]) "
    "redis.call('SADD', 'pg:devices', id) "
    "if ARGV[4] == '1' then redis.call('HSET', dev, 'name', ARGV[3]) end "
    "if ARGV[2] == '4' then return {id, '', 'ios'} end "
    "local cur = redis.call('HGET', dev, 'assigned') "
    "if cur then "
    "  local v = live(cur) "
    "  if v then return {id, v[2], 'ok'} end "
    "end "
    "local loads, first, addr, load = {}, {} "
    "for _, b in ipairs(redis.call('SMEMBERS', 'pg:brokers')) do "
    "  local v = live(b) "
    "  if v then "
    "    loads[v[2]] = (loads[v[2]] or 0) + tonumber(v[3] or '0') + tonumber(v[4] or '0') "
    "    if not first[v[2]] or b < first[v[2]] then first[v[2]] = b end "
    "  elseif redis.call('EXISTS', 'pg:bk:' .. b) == 0 then "
    "    redis.call('SREM', 'pg:brokers', b) "
    "  end "
    "end "
    /* Ties go to the smaller address, so that the choice does not depend on
     * the order of a Lua table. */
    "for a, l in pairs(loads) do "
    "  if not addr or l < load or (l == load and a < addr) then addr, load = a, l end "
    "end "
    "if not addr then return {id, '', 'nobroker'} end "
    "local best = first[addr] "
    "redis.call('HSET', dev, 'assigned', best) "
    "redis.call('HINCRBY', 'pg:bk:' .. best, 'assigned', 1) "
    "return {id, addr, 'ok'}";

/* ARGV: channel_id, device_type filter ("0": all), device_id ("0": the
 * channel), ttl ms, body, max entries kept. Returns {"ok", message_id},
 * {"nosub"} or {"nodevice"}. A channel message is one stream entry and one
 * notice whatever the number of subscribers. */
static const char put_lua[] =
    LUA_ROUTE
    "local ch, ty, dev = ARGV[1], ARGV[2], ARGV[3] "
    "local stream, notify "
    "if dev ~= '0' then "
    "  local v = redis.call('HMGET', 'pg:dev:' .. dev, 'known', 'type', 'broker') "
    "  if not v[1] then return {'nodevice'} end "
    "  if ty ~= '0' and (v[2] or '0') ~= ty then return {'nosub'} end "
    "  stream = 'pg:dev:' .. dev .. ':in' "
    "  notify = pg_device_notify(v[3]) "
    "  pg_keep(dev, v[3]) "
    "else "
    "  local n "
    "  if ty == '0' then n = redis.call('SCARD', 'pg:ch:' .. ch .. ':subs') "
    "  else n = tonumber(redis.call('HGET', 'pg:ch:' .. ch .. ':subs:types', ty) or '0') end "
    "  if n <= 0 then return {'nosub'} end "
    "  stream = 'pg:ch:' .. ch "
    "  notify = pg_channel_notify(ch) "
    "end "
    "local mid = tostring(redis.call('INCR', 'pg:next_put_id')) "
    "pg_route(stream, notify, mid, '0', ch, tonumber(ARGV[4]), dev, ty, ARGV[5], ARGV[6]) "
    "return {'ok', mid}";

const char *const router_script_text[RS_COUNT] = {
    [RS_REGISTER] = register_lua,
    [RS_PUT] = put_lua,
};
