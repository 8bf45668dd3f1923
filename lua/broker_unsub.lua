-- brokerd: UNSUB (SPEC 2.2). Device d leaves channel c.
-- KEYS: as broker_sub.lua's (pg:ch:{c} and pg:ch:{c}:brokers untouched:
--       the broker leaves the channel's brokers when its last local
--       subscriber goes, brokerd/cmd_sub.c).
-- ARGV: as broker_sub.lua's (broker id and max subscriptions unused).
-- Returns {'ok'}.
redis.call('SREM', KEYS[1], ARGV[2])
if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then
  pg.count_sub(KEYS[7], KEYS[6], KEYS[8], ARGV[2], -1)
end
redis.call('HDEL', KEYS[3], ARGV[2])
return pg.reply('ok')
