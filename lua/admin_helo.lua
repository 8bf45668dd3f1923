-- adminhttp: MSG_HELO_REQ (SPEC 4). The API client may now be sent to.
-- KEYS: pg:api:clients.
-- ARGV: saddr.
-- Returns {'ok'}.
redis.call('SADD', KEYS[1], ARGV[1])
return pg.reply('ok')
