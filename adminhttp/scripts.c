/* adminhttp's Lua scripts. A receiver's kept messages are what its device
 * would get over TCP: its inbox and its channels, read from its cursors
 * (docs/DESIGN.md); MSG_FREE_REQ moves the cursor as FIN would. */
#include "admin.h"
#include "lua_lib.h"

/* pg_idcmp(a, b): -1, 0, 1 for stream ids "ms-seq".
 * pg_unread(d, now, type, limit, fn): for each stream of receiver d, calls
 * fn(stream, id, fields) on its entries not yet finished, oldest first,
 * passing over expired ones, ones for another device type and ones freed
 * out of order; a true return moves on to the next stream. */
#define LUA_RECEIVER \
    "local function pg_idcmp(a, b) " \
    "  local am, as = string.match(a, '(%d+)-(%d+)') " \
    "  local bm, bs = string.match(b, '(%d+)-(%d+)') " \
    "  am, bm, as, bs = tonumber(am), tonumber(bm), tonumber(as), tonumber(bs) " \
    "  if am ~= bm then return am < bm and -1 or 1 end " \
    "  if as ~= bs then return as < bs and -1 or 1 end " \
    "  return 0 " \
    "end " \
    "local function pg_start(d, field) " \
    "  local cur = redis.call('HGET', 'pg:dev:' .. d .. ':cur', field) " \
    "  if not cur then if field == 'in' then return '-' end return nil end " \
    "  return string.match(cur, '^(%S+)') " \
    "end " \
    "local function pg_skip(f, now, ty) " \
    "  return tonumber(f.x or '0') <= now or (f.t and f.t ~= '0' and f.t ~= ty) " \
    "end " \
    "local function pg_fields(e) " \
    "  local f = {} for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end return f " \
    "end " \
    "local function pg_unread(d, now, ty, limit, fn) " \
    "  local freed = 'pg:dev:' .. d .. ':freed' " \
    "  local list = {{'in', 'pg:dev:' .. d .. ':in'}} " \
    "  for _, c in ipairs(redis.call('SMEMBERS', 'pg:dev:' .. d .. ':subs')) do " \
    "    list[#list + 1] = {c, 'pg:ch:' .. c} end " \
    "  for _, s in ipairs(list) do " \
    "    local start = pg_start(d, s[1]) " \
    "    if start then " \
    "      for _, e in ipairs(redis.call('XRANGE', s[2], start, '+', 'COUNT', limit)) do " \
    "        local f = pg_fields(e) " \
    "        if not pg_skip(f, now, ty) and " \
    "           redis.call('SISMEMBER', freed, s[2] .. ' ' .. e[1]) == 0 then " \
    "          if fn(s, e[1], f) then break end " \
    "        end " \
    "      end " \
    "    end " \
    "  end " \
    "end " \
    "local function pg_type(d) return redis.call('HGET', 'pg:dev:' .. d, 'type') or '0' end "

/* ARGV: saddr, daddr, id, payload, ttl ms, max kept. 1, or 0 when daddr is neither a known device nor an API client that said HELO.
 * A repeated (saddr, id) within 10 minutes is answered again, not sent. */
static const char send_lua[] =
    LUA_ROUTE
    "local dup = 'pg:dup:' .. ARGV[1] .. ':' .. ARGV[3] "
    "if redis.call('EXISTS', dup) == 1 then return 1 end "
    "local dev = 'pg:dev:' .. ARGV[2] "
    "local v = redis.call('HMGET', dev, 'known', 'broker') "
    "if not v[1] and redis.call('SISMEMBER', 'pg:api:clients', ARGV[2]) == 0 then "
    "  return 0 end "
    "pg_keep(ARGV[2], v[2]) "
    "local id = pg_route(dev .. ':in', pg_device_notify(v[2]), ARGV[3], ARGV[1], '0', "
    "  tonumber(ARGV[5]), ARGV[2], '0', ARGV[4], ARGV[6]) "
    "redis.call('SET', dup, id, 'EX', 600) "
    "return 1";

/* ARGV: receiver. {from, message id, body} of the oldest kept message, or nil. */
static const char recv_lua[] =
    LUA_NOW_MS
    LUA_RECEIVER
    "local best, bid "
    "pg_unread(ARGV[1], now, pg_type(ARGV[1]), 100, function(s, id, f) "
    "  if not bid or pg_idcmp(id, bid) < 0 then best, bid = f, id end "
    "  return true end) "
    "if not best then return nil end "
    "return {best.f, best.m, best.b}";

/* ARGV: receiver, message id. 1 if freed, 0 if it holds no such message.
 * The oldest match is freed; the cursor then moves past every freed (or
 * passed-over) entry at the head of that stream. */
static const char free_lua[] =
    LUA_NOW_MS
    LUA_RECEIVER
    "local d = ARGV[1] "
    "local ty = pg_type(d) "
    "local hs, hid "
    "pg_unread(d, now, ty, 1000, function(s, id, f) "
    "  if f.m ~= ARGV[2] then return false end "
    "  if not hid or pg_idcmp(id, hid) < 0 then hs, hid = s, id end "
    "  return true end) "
    "if not hid then return 0 end "
    "local freed = 'pg:dev:' .. d .. ':freed' "
    "redis.call('SADD', freed, hs[2] .. ' ' .. hid) "
    "local last "
    "for _, e in ipairs(redis.call('XRANGE', hs[2], pg_start(d, hs[1]), '+', 'COUNT', 1000)) do "
    "  if redis.call('SREM', freed, hs[2] .. ' ' .. e[1]) == 1 "
    "     or pg_skip(pg_fields(e), now, ty) then last = e[1] else break end "
    "end "
    "if last then "
    "  local curkey = 'pg:dev:' .. d .. ':cur' "
    "  local cur = redis.call('HGET', curkey, hs[1]) "
    "  local sent = cur and string.match(cur, ' (%S+)$') or last "
    "  if pg_idcmp(last, sent) > 0 then sent = last end "
    "  redis.call('HSET', curkey, hs[1], '(' .. last .. ' ' .. sent) "
    "end "
    "return 1";

/* ARGV: saddr. */
static const char helo_lua[] =
    "redis.call('SADD', 'pg:api:clients', ARGV[1]) return 1";

/* ARGV: saddr. Forgets the API client and drops what is kept for it. */
static const char gbye_lua[] =
    "redis.call('SREM', 'pg:api:clients', ARGV[1]) "
    "redis.call('DEL', 'pg:dev:' .. ARGV[1] .. ':in', 'pg:dev:' .. ARGV[1] .. ':freed') "
    "redis.call('HDEL', 'pg:dev:' .. ARGV[1] .. ':cur', 'in') "
    "return 1";

/* {now, brokers, devices, channels, messages_in, messages_out, kept}; each
 * broker (event loop) {id, addr, conns, started, hb, in, out, pending,
 * process}. kept: messages kept for receivers that are offline (API
 * clients, and devices in pg:kept, which is pruned here). */
static const char stats_lua[] =
    LUA_NOW_MS
    LUA_RECEIVER
    "local bs = {} "
    "for _, b in ipairs(redis.call('SMEMBERS', 'pg:brokers')) do "
    "  local v = redis.call('HMGET', 'pg:bk:' .. b, 'addr', 'conns', 'started', 'hb', "
    "    'messages_in', 'messages_out', 'messages_pending', 'proc') "
    "  if v[1] then bs[#bs + 1] = {b, v[1], v[2] or '0', v[3] or '0', v[4] or '0', "
    "    v[5] or '0', v[6] or '0', v[7] or '0', v[8] or b} end "
    "end "
    "local st = redis.call('HMGET', 'pg:stats', 'messages_in', 'messages_out') "
    "local kept = 0 "
    "local function count(d) "
    "  local n = 0 "
    "  pg_unread(d, now, pg_type(d), 10000, function() n = n + 1 return false end) "
    "  return n "
    "end "
    "for _, c in ipairs(redis.call('SMEMBERS', 'pg:api:clients')) do kept = kept + count(c) end "
    "for _, d in ipairs(redis.call('SMEMBERS', 'pg:kept')) do "
    "  local bk = redis.call('HGET', 'pg:dev:' .. d, 'broker') "
    "  local n = 0 "
    "  if (not bk or bk == '') and redis.call('SISMEMBER', 'pg:api:clients', d) == 0 then "
    "    n = count(d) end "
    "  if n == 0 then redis.call('SREM', 'pg:kept', d) end "
    "  kept = kept + n "
    "end "
    "return {now, bs, redis.call('SCARD', 'pg:devices'), redis.call('ZCARD', 'pg:channels'), "
    "  st[1] or '0', st[2] or '0', kept}";

/* ARGV: device id, or "" with serial_no and device_type. nil if unknown;
 * else {id, type, serial, name, broker id, broker addr, online, subs, pending}. */
static const char device_lua[] =
    LUA_NOW_MS
    LUA_RECEIVER
    "local id = ARGV[1] "
    "if id == '' then "
    "  id = redis.call('GET', 'pg:serial:' .. ARGV[3] .. ':' .. ARGV[2]) "
    "  if not id then return nil end "
    "end "
    "local v = redis.call('HMGET', 'pg:dev:' .. id, 'known', 'type', 'serial', 'name', 'broker') "
    "if not v[1] and redis.call('SISMEMBER', 'pg:api:clients', id) == 0 then return nil end "
    "local bk, addr, online = v[5] or '', '', '0' "
    "if bk ~= '' then "
    "  local b = redis.call('HMGET', 'pg:bk:' .. bk, 'addr', 'hb', 'proc') "
    "  if b[1] and now - tonumber(b[2]) <= 5000 then addr, online = b[1], '1' end "
    /* name the brokerd process, as /stats does, not its event loop */
    "  bk = b[3] or bk "
    "end "
    "local n = 0 "
    "pg_unread(id, now, v[2] or '0', 10000, function() n = n + 1 return false end) "
    "return {id, v[2] or '0', v[3] or '', v[4] or '', bk, addr, online, "
    "  redis.call('SMEMBERS', 'pg:dev:' .. id .. ':subs'), n}";

/* ARGV: device id. The number of brokers told to close it (0: not online). */
static const char disconnect_lua[] =
    "local bk = redis.call('HGET', 'pg:dev:' .. ARGV[1], 'broker') "
    "if not bk or bk == '' then return 0 end "
    "return redis.call('PUBLISH', 'pg:n:bk:' .. bk, 'D ' .. ARGV[1])";

const char *const admin_script_text[AS_COUNT] = {
    [AS_SEND] = send_lua,
    [AS_RECV] = recv_lua,
    [AS_FREE] = free_lua,
    [AS_HELO] = helo_lua,
    [AS_GBYE] = gbye_lua,
    [AS_STATS] = stats_lua,
    [AS_DEVICE] = device_lua,
    [AS_DISCONNECT] = disconnect_lua,
};
