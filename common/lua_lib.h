/* Lua shared by the scripts of brokerd and routerd, pasted in front of a
 * script's text. Key layout: docs/DESIGN.md. */
#ifndef PG_LUA_LIB_H
#define PG_LUA_LIB_H

/* `now`: Redis's clock in ms, so that every daemon judges time alike. */
#define LUA_NOW_MS \
    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "

/* pg_route(stream, notify, mid, from, ch, ttl_ms, to, type, body, maxlen):
 * appends a message to a stream (capped exactly at maxlen, expiring) and, when notify names a
 * pub/sub channel, announces the whole entry there. Returns the entry id,
 * whose ms part is the message's timestamp. Counts the message in
 * pg:stats messages_in (every accepted message passes here). */
#define LUA_ROUTE \
    "local function pg_route(stream, notify, mid, from, ch, ttl, to, ty, body, maxlen) " \
    LUA_NOW_MS \
    "  local exp = string.format('%d', now + ttl) " \
    "  local id = redis.call('XADD', stream, 'MAXLEN', maxlen, '*', 'm', mid, " \
    "    'f', from, 'c', ch, 'x', exp, 't', ty, 'b', body) " \
    "  if redis.call('PTTL', stream) < ttl then redis.call('PEXPIRE', stream, ttl) end " \
    "  redis.call('HINCRBY', 'pg:stats', 'messages_in', 1) " \
    "  if notify then redis.call('PUBLISH', notify, 'M ' .. id .. ' ' .. mid .. ' ' .. " \
    "    from .. ' ' .. ch .. ' ' .. exp .. ' ' .. to .. ' ' .. ty .. '\\n' .. body) end " \
    "  return id " \
    "end "

#endif
