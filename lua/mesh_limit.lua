-- gateway.limit (SPEC 5.4, 5.5 "Limits"): sets the cluster-wide limits
-- given, and tells every broker the limits Redis now holds (notice L),
-- so that each applies them at once; the heartbeat reads them as well.
-- KEYS: pg:limits, pg:brokers.
-- ARGV: accept_per_s, messages_per_s: each a decimal to set, or '' to
--       leave as it is (the broker checked them: 0..1000000).
-- Returns {'ok', accept_per_s, messages_per_s} as pg:limits holds them
-- after the update, each '-' when it does not set it (the caller's flag
-- is then in force).
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'accept_per_s', ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'messages_per_s', ARGV[2]) end
local lim = redis.call('HMGET', KEYS[1], 'accept_per_s', 'messages_per_s')
local a, m = lim[1] or '-', lim[2] or '-'
local notice = pg.notice_limits(a, m)
for _, b in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('PUBLISH', pg.key_notice(b), notice)
end
return pg.reply('ok', a, m)
