-- adminhttp: MSG_SEND_REQ (SPEC 4). A repeated (saddr, id) within 10
-- minutes is answered again, not sent.
-- KEYS: pg:dupw:{saddr} (pg.dupw_get), pg:dev:{daddr}, pg:dev:{daddr}:in,
--       pg:api:clients, pg:kept, pg:stats.
-- ARGV: saddr, daddr, id, payload, ttl ms, max entries kept.
-- Returns {'ok'}, or {'unknown'} when daddr is neither a known device nor
-- an API client that said HELO.
local now, ttl = pg.now_ms(), tonumber(ARGV[5])
if pg.dupw_get(KEYS[1], ARGV[3], now) then return pg.reply('ok') end
local v = redis.call('HMGET', KEYS[2], 'known', 'broker', 'inx')
if not v[1] and redis.call('SISMEMBER', KEYS[4], ARGV[2]) == 0 then
  return pg.reply('unknown')
end
local id = pg.route(KEYS[3], pg.device_notify(v[2]), ARGV[3], ARGV[1], '0', pg.ms(now + ttl),
  ARGV[2], '0', ARGV[4], ARGV[6])
pg.outlive_inbox(KEYS[3], KEYS[2], v[3], now, ttl)
pg.count_in(KEYS[6])
pg.keep(KEYS[6], KEYS[5], KEYS[2], ARGV[2], v[2], KEYS[3])
pg.dupw_put(KEYS[1], ARGV[3], id, now)
return pg.reply('ok')
