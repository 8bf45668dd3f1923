-- brokerd: the heartbeat, each second: the broker's registry entry, which
-- routerd assigns devices from. Its time is Redis's, so that routerd and
-- adminhttp judge liveness on the same clock; 'assigned' (devices routerd
-- sent here since) starts again from 0.
-- KEYS: pg:bk:{b}, pg:brokers, pg:stats.
-- ARGV: broker id, Message frames written since the last beat, then
--       field/value pairs.
-- Returns {'ok'}.
redis.call('HSET', KEYS[1], 'hb', pg.ms(pg.now_ms()), 'assigned', '0', unpack(ARGV, 3))
redis.call('HINCRBY', KEYS[3], 'messages_out', ARGV[2])
redis.call('PEXPIRE', KEYS[1], 60000)
redis.call('SADD', KEYS[2], ARGV[1])
return pg.reply('ok')
