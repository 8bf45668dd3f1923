/* Lua shared by the scripts of brokerd and routerd, pasted in front of a
 * script's text. Key layout: docs/DESIGN.md. */
#ifndef PG_LUA_LIB_H
#define PG_LUA_LIB_H

/* `now`: Redis's clock in ms, so that every daemon judges time alike. */
#define LUA_NOW_MS \
    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "

/* pg_route(stream, notify, mid, from, ch, ttl_ms, to, type, body, maxlen):
 * appends a message to a stream (capped exactly at maxlen, expiring) and
 * announces the whole entry on each pub/sub channel in the list notify (the
 * brokers that deliver it). Returns the entry id,
 * whose ms part is the message's timestamp. Counts the message in
 * pg:stats messages_in (every accepted message passes here). */
#define LUA_ROUTE \
    "local function pg_route(stream, notify, mid, from, ch, ttl, to, ty, body, maxlen) " \
    LUA_NOW_MS \
    "  local exp = string.format('%d', now + ttl) " \
    "  local id = redis.call('XADD', stream, 'MAXLEN', maxlen, '*', 'm', mid, " \
    "    'f', from, 'c', ch, 'x', exp, 't', ty, 'b', body) " \
    /* The stream outlives its newest entry; pushed forward only when it \
     * would end more than a tenth of the ttl early, not on every write. */ \
    "  local left = redis.call('PTTL', stream) " \
    "  if left < 0 or left < ttl - math.min(60000, ttl / 10) then " \
    "    redis.call('PEXPIRE', stream, ttl) end " \
    "  redis.call('HINCRBY', 'pg:stats', 'messages_in', 1) " \
    "  local notice = 'M ' .. id .. ' ' .. mid .. ' ' .. from .. ' ' .. ch .. ' ' .. exp .. " \
    "    ' ' .. to .. ' ' .. ty .. '\\n' .. body " \
    "  for _, n in ipairs(notify) do redis.call('PUBLISH', n, notice) end " \
    "  return id " \
    "end " \
    /* The brokers with local subscribers of channel ch (each adds itself in \
     * its SUB and IDENTIFY scripts), as a notify list. */ \
    "local function pg_channel_notify(ch) " \
    "  local l = {} " \
    "  for _, b in ipairs(redis.call('SMEMBERS', 'pg:ch:' .. ch .. ':brokers')) do " \
    "    l[#l + 1] = 'pg:n:bk:' .. b end " \
    "  return l " \
    "end " \
    /* The device's broker, if it is connected, as a notify list. */ \
    "local function pg_device_notify(broker) " \
    "  if broker and broker ~= '' then return {'pg:n:bk:' .. broker} end " \
    "  return {} " \
    "end " \
    /* Receivers that may keep messages while offline, for the pending \
     * count (adminhttp's STATS drops those that keep none). */ \
    "local function pg_keep(d, broker) " \
    "  if not broker or broker == '' then redis.call('SADD', 'pg:kept', d) end " \
    "end "

#endif
