-- routerd: /put. A channel message is one stream entry and one notice
-- whatever the number of subscribers.
-- KEYS: the target's stream (pg:dev:{d}:in, or pg:ch:{c}); the target
--       (pg:dev:{d}, or pg:ch:{c}:subs); pg:ch:{c}:subs:types and
--       pg:ch:{c}:brokers (read for a channel message); pg:next_put_id;
--       pg:kept; pg:stats.
-- ARGV: channel id, device_type filter ('0': all), device id ('0': the
--       channel), ttl ms, body, max entries kept, routerd's clock (Unix
--       ms: the message expires ttl after it).
-- Returns {'ok', message id}, {'nosub'} or {'nodevice'}. Not counted here:
-- routerd adds its accepted puts to pg:stats' messages_in every 100 ms.
local ch, ty, dev = ARGV[1], ARGV[2], ARGV[3]
local notify, v
if dev ~= '0' then
  v = redis.call('HMGET', KEYS[2], 'known', 'type', 'broker', 'inx')
  if not v[1] then return pg.reply('nodevice') end
  if ty ~= '0' and (v[2] or '0') ~= ty then return pg.reply('nosub') end
  notify = pg.device_notify(v[3])
else
  local n
  if ty == '0' then n = redis.call('SCARD', KEYS[2])
  else n = tonumber(redis.call('HGET', KEYS[3], ty) or '0') end
  if n <= 0 then return pg.reply('nosub') end
  notify = pg.channel_notify(KEYS[4])
end
local mid = pg.ms(redis.call('INCR', KEYS[5]))  -- %d: a raised counter (router_floor) is past 1e14
local now, ttl = tonumber(ARGV[7]), tonumber(ARGV[4])
pg.route(KEYS[1], notify, mid, '0', ch, pg.ms(now + ttl), dev, ty, ARGV[5], ARGV[6])
if v then
  pg.outlive_inbox(KEYS[1], KEYS[2], v[4], now, ttl)
  pg.keep(KEYS[7], KEYS[6], KEYS[2], dev, v[3], KEYS[1])
else
  pg.outlive(KEYS[1], ttl)
end
return pg.reply('ok', mid)
