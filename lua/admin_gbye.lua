-- adminhttp: MSG_GBYE_REQ (SPEC 4). Forgets the API client and drops what
-- is kept for it.
-- KEYS: pg:api:clients, pg:dev:{saddr}:in, pg:dev:{saddr}:freed,
--       pg:dev:{saddr}:cur, pg:dev:{saddr}, pg:stats.
-- ARGV: saddr.
-- Returns {'ok'}.
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HDEL', KEYS[5], 'inx')  -- the inbox's expiry (pg.outlive_inbox) went with it
redis.call('HDEL', KEYS[4], 'in')
pg.kept_add(KEYS[6], KEYS[5], -pg.kept_of(KEYS[5]))
return pg.reply('ok')
