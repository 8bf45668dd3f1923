-- adminhttp: MSG_GBYE_REQ (SPEC 4). Forgets the API client and drops what
-- is kept for it.
-- KEYS: pg:api:clients, pg:dev:{saddr}:in, pg:dev:{saddr}:freed,
--       pg:dev:{saddr}:cur.
-- ARGV: saddr.
-- Returns {'ok'}.
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HDEL', KEYS[4], 'in')
return pg.reply('ok')
