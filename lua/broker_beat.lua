-- brokerd: the heartbeat, each second: the broker's registry entry, which
-- routerd assigns devices from. Its time is Redis's, so that routerd and
-- adminhttp judge liveness on the same clock; 'assigned' (devices routerd
-- sent here since) starts again from 0. It also reads the cluster-wide
-- limits (gateway.limit), so that every broker applies them within a
-- second even if it missed their notice.
-- KEYS: pg:bk:{b}, pg:brokers, pg:stats, pg:limits.
-- ARGV: broker id, PUBs accepted and Message frames written since the
--       last beat (pg:stats' messages_in, messages_out), then field/value
--       pairs.
-- Returns {'ok', accept_per_s, messages_per_s}, each '-' when pg:limits
-- does not set it.
redis.call('HSET', KEYS[1], 'hb', pg.ms(pg.now_ms()), 'assigned', '0', unpack(ARGV, 4))
if ARGV[2] ~= '0' then redis.call('HINCRBY', KEYS[3], 'messages_in', ARGV[2]) end
redis.call('HINCRBY', KEYS[3], 'messages_out', ARGV[3])
redis.call('PEXPIRE', KEYS[1], 60000)
redis.call('SADD', KEYS[2], ARGV[1])
local lim = redis.call('HMGET', KEYS[4], 'accept_per_s', 'messages_per_s')
return pg.reply('ok', lim[1] or '-', lim[2] or '-')
