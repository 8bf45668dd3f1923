-- brokerd: frames in flight that a service's socket took: done with.
-- KEYS: pg:qf:{b}, pg:qf:{b}:z.
-- ARGV: seqs (at least one).
-- Returns {'ok'}.
redis.call('HDEL', KEYS[1], unpack(ARGV))
redis.call('ZREM', KEYS[2], unpack(ARGV))
return pg.reply('ok')
