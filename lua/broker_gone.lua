-- brokerd: a device's connection ended. Saves its cursors and records a
-- clean disconnect unless another connection took over.
-- KEYS: pg:dev:{d}, pg:dev:{d}:cur, pg:kept.
-- ARGV: connection token, device id, then cursor field/value pairs.
-- Returns {'ok'}.
if #ARGV > 2 then redis.call('HSET', KEYS[2], unpack(ARGV, 3)) end
if redis.call('HGET', KEYS[1], 'conn') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'broker', '', 'offline_at', pg.ms(pg.now_ms()))
  redis.call('SADD', KEYS[3], ARGV[2])
end
return pg.reply('ok')
