-- brokerd: a device's connection ended. Saves its cursors and records a
-- clean disconnect unless another connection took over; what its inbox
-- holds unfinished is kept for it from now on (pg.kept_add).
-- KEYS: pg:dev:{d}, pg:dev:{d}:cur, pg:kept, pg:dev:{d}:in, pg:dev:{d}:freed,
--       pg:stats.
-- ARGV: connection token, device id, then cursor field/value pairs.
-- Returns {'ok'}.
if #ARGV > 2 then redis.call('HSET', KEYS[2], unpack(ARGV, 3)) end
if redis.call('HGET', KEYS[1], 'conn') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'broker', '', 'offline_at', pg.ms(pg.now_ms()))
  redis.call('SADD', KEYS[3], ARGV[2])
  pg.kept_add(KEYS[6], KEYS[1], pg.inbox_unfinished(KEYS[4], KEYS[2], KEYS[5]) - pg.kept_of(KEYS[1]))
end
return pg.reply('ok')
