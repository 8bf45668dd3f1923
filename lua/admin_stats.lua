-- adminhttp: the cluster's numbers (GET /stats, /metrics, MSG_STAT_REQ).
-- kept: messages kept for receivers that are offline (API clients, and
-- devices in pg:kept, which is pruned here).
-- KEYS: pg:brokers, pg:stats, pg:api:clients, pg:kept, pg:devices,
--       pg:channels.
-- ARGV: none.
-- Returns {'ok', now, brokers, devices, channels, messages_in,
-- messages_out, kept}; each broker (event loop) {id, addr, conns, started,
-- hb, in, out, pending, process, alive ('1'/'0')}.
local now = pg.now_ms()
local bs = {}
for _, b in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('HMGET', pg.key_bk(b), 'addr', 'conns', 'started', 'hb',
    'messages_in', 'messages_out', 'messages_pending', 'proc')
  if v[1] then
    bs[#bs + 1] = {b, v[1], v[2] or '0', v[3] or '0', v[4] or '0', v[5] or '0', v[6] or '0',
      v[7] or '0', v[8] or b, pg.live(v[4] or '0', now) and '1' or '0'}
  end
end
local st = redis.call('HMGET', KEYS[2], 'messages_in', 'messages_out')
local function count(d)
  local k = pg.receiver(d)
  return pg.unread_count(k, now, pg.type_of(k))
end
local kept = 0
for _, c in ipairs(redis.call('SMEMBERS', KEYS[3])) do kept = kept + count(c) end
for _, d in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local bk = redis.call('HGET', pg.key_dev(d), 'broker')
  local n = 0
  if (not bk or bk == '') and redis.call('SISMEMBER', KEYS[3], d) == 0 then n = count(d) end
  if n == 0 then redis.call('SREM', KEYS[4], d) end
  kept = kept + n
end
return pg.reply('ok', now, bs, redis.call('SCARD', KEYS[5]), redis.call('ZCARD', KEYS[6]),
  st[1] or '0', st[2] or '0', kept)
