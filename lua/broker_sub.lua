-- brokerd: SUB (SPEC 2.2). Device d subscribes to channel c.
-- KEYS: pg:dev:{d}:subs, pg:ch:{c}:subs, pg:dev:{d}:cur, pg:ch:{c},
--       pg:ch:{c}:brokers, pg:dev:{d}, pg:ch:{c}:subs:types, pg:channels.
-- ARGV: device id, channel id, broker id, max subscriptions per device.
-- Returns {'ok', the device's cursor in the channel}: a new subscriber
-- starts after the newest entry; {'toomany'} (nothing done) when the
-- device already has the max of subscriptions and this is not one. The broker hears of the channel's
-- messages from now on. Subscriber counts are kept per device type (for
-- /put's device_type filter) and per channel (pg:channels, the dashboard's
-- busiest channels).
if redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 0 and
   redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return pg.reply('toomany')
end
redis.call('SADD', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[3])
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  pg.count_sub(KEYS[7], KEYS[6], KEYS[8], ARGV[2], 1)
end
local cur = redis.call('HGET', KEYS[3], ARGV[2])
if not cur then
  local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
  local at = #last > 0 and last[1][1] or '0-0'
  cur = pg.cursor(at, at)
  redis.call('HSET', KEYS[3], ARGV[2], cur)
end
return pg.reply('ok', cur)
