/* The Lua scripts brokerd runs in Redis. Each is one atomic round trip;
 * keys and fields are described in docs/DESIGN.md. */
#include "broker.h"
#include "lua_lib.h"

/* KEYS: dev hash, dev subs, dev cursors. ARGV: broker id, conn token, device id.
 * Returns {clean_since_ms, clean, subs, cursors, device type ("0": none)}.
 * clean is "1" when the device was never seen or its last connection ended
 * cleanly (its cursors' SENT marks are exact); otherwise its broker died and
 * clean_since is when it last could have sent anything (now, while that
 * broker still holds its Redis connection). An older connection on another
 * broker is kicked. */
static const char identify_lua[] =
    LUA_NOW_MS
    "local old = redis.call('HMGET', KEYS[1], 'broker', 'conn', 'offline_at', 'type') "
    "local clean, since = '0', now "
    "if not old[1] and not old[3] then clean, since = '1', 0 "
    "elseif (not old[1] or old[1] == '') and old[3] then clean, since = '1', tonumber(old[3]) "
    "elseif old[1] ~= ARGV[1] and "
    "       redis.call('PUBSUB', 'NUMSUB', 'pg:n:bk:' .. old[1])[2] == 0 then "
    /* Its broker is gone (kill -9 closes its Redis connections at once). It
     * learnt nothing after its last heartbeat plus a beat; a registry entry
     * that expired means that beat is over a minute old. */
    "  local hb = redis.call('HGET', 'pg:bk:' .. old[1], 'hb') "
    "  if hb then since = math.min(now, tonumber(hb) + 2000) else since = now - 58000 end "
    "end "
    "if old[1] and old[1] ~= '' and old[1] ~= ARGV[1] then "
    "  redis.call('PUBLISH', 'pg:n:bk:' .. old[1], 'K ' .. ARGV[3] .. ' ' .. (old[2] or '')) "
    "end "
    "redis.call('HSET', KEYS[1], 'known', '1', 'broker', ARGV[1], 'conn', ARGV[2], "
    "           'online_at', string.format('%d', now)) "
    "redis.call('SADD', 'pg:devices', ARGV[3]) "
    "local subs = redis.call('SMEMBERS', KEYS[2]) "
    /* From now on this broker hears of its channels' messages. */
    "for _, c in ipairs(subs) do redis.call('SADD', 'pg:ch:' .. c .. ':brokers', ARGV[1]) end "
    "return {string.format('%d', since), clean, subs, redis.call('HGETALL', KEYS[3]), "
    "        old[4] or '0'}";

/* KEYS: dev hash, dev cursors. ARGV: conn token, then cursor field/value pairs.
 * Records a clean disconnect unless another connection took over. */
static const char gone_lua[] =
    "if #ARGV > 1 then redis.call('HSET', KEYS[2], unpack(ARGV, 2)) end "
    "if redis.call('HGET', KEYS[1], 'conn') == ARGV[1] then "
    LUA_NOW_MS
    "  redis.call('HSET', KEYS[1], 'broker', '', 'offline_at', string.format('%d', now)) "
    "  redis.call('SADD', 'pg:kept', string.sub(KEYS[1], 8)) "
    "end "
    "return 1";

/* Subscriber counts per device type (for /put's device_type filter) and
 * per channel (pg:channels, for the dashboard's busiest channels). */
#define TYPE_COUNT(delta) \
    "local ty = redis.call('HGET', 'pg:dev:' .. ARGV[1], 'type') or '0' " \
    "redis.call('HINCRBY', KEYS[2] .. ':types', ty, " delta ") " \
    "if redis.call('ZINCRBY', 'pg:channels', " delta ", ARGV[2]) + 0 <= 0 then " \
    "  redis.call('ZREM', 'pg:channels', ARGV[2]) end "

/* KEYS: dev subs, channel subs, dev cursors, channel stream. ARGV: device,
 * channel, broker id. Returns the device's cursor in the channel (new
 * subscribers start after the newest entry); the broker hears of the
 * channel's messages from now on. */
static const char sub_lua[] =
    "redis.call('SADD', KEYS[1], ARGV[2]) "
    "redis.call('SADD', 'pg:ch:' .. ARGV[2] .. ':brokers', ARGV[3]) "
    "if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then " TYPE_COUNT("1") "end "
    "local cur = redis.call('HGET', KEYS[3], ARGV[2]) "
    "if not cur then "
    "  local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1) "
    "  local at = #last > 0 and last[1][1] or '0-0' "
    "  cur = '(' .. at .. ' ' .. at "
    "  redis.call('HSET', KEYS[3], ARGV[2], cur) "
    "end "
    "return cur";

/* KEYS: dev subs, channel subs, dev cursors. ARGV: device, channel. */
static const char unsub_lua[] =
    "redis.call('SREM', KEYS[1], ARGV[2]) "
    "if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then " TYPE_COUNT("-1") "end "
    "redis.call('HDEL', KEYS[3], ARGV[2]) "
    "return 1";

/* KEYS: dup key, target stream, target (device hash, or channel subs set).
 * ARGV: from, message id, to (0: the channel), channel, body, ttl ms, max len.
 * Returns {"1", entry id} when routed, {"0", ""} when refused; a repeat of
 * an accepted (from, message id) returns the first answer. */
static const char pub_lua[] =
    LUA_ROUTE
    "local dup = redis.call('GET', KEYS[1]) "
    "if dup then return {'1', dup} end "
    "local direct = ARGV[3] ~= '0' "
    "local ok, notify "
    "if direct then "
    "  ok = redis.call('HGET', KEYS[3], 'known') "
    "  local bk = redis.call('HGET', KEYS[3], 'broker') "
    "  notify = pg_device_notify(bk) "
    "  if ok then pg_keep(ARGV[3], bk) end "
    "else "
    "  ok = redis.call('SCARD', KEYS[3]) > 0 "
    "  notify = pg_channel_notify(ARGV[4]) "
    "end "
    "if not ok then return {'0', ''} end "
    "local id = pg_route(KEYS[2], notify, ARGV[2], ARGV[1], ARGV[4], tonumber(ARGV[6]), "
    "  ARGV[3], '0', ARGV[5], ARGV[7]) "
    "redis.call('SET', KEYS[1], id, 'EX', 600) "
    "return {'1', id}";

/* KEYS: broker hash, broker set. ARGV: id, Message frames written since the
 * last beat, then field/value pairs. The heartbeat time is Redis's, so
 * routerd judges liveness on the same clock; "assigned" (devices routerd
 * sent here since) starts again from 0. */
static const char beat_lua[] =
    LUA_NOW_MS
    "redis.call('HSET', KEYS[1], 'hb', string.format('%d', now), 'assigned', '0', "
    "           unpack(ARGV, 3)) "
    "redis.call('HINCRBY', 'pg:stats', 'messages_out', ARGV[2]) "
    "redis.call('PEXPIRE', KEYS[1], 60000) "
    "redis.call('SADD', KEYS[2], ARGV[1]) "
    "return 1";

const char *const store_script_text[SCRIPT_COUNT] = {
    [SCRIPT_BEAT] = beat_lua,
    [SCRIPT_IDENTIFY] = identify_lua,
    [SCRIPT_GONE] = gone_lua,
    [SCRIPT_SUB] = sub_lua,
    [SCRIPT_UNSUB] = unsub_lua,
    [SCRIPT_PUB] = pub_lua,
};
