-- adminhttp: revoke a device's tokens (POST /api/device/revoke). Its
-- generation goes up, so every token handed out so far is refused
-- (broker_identify.lua) and /registration hands the next generation's;
-- its broker closes its connection with E_DISCONNECTED.
-- KEYS: pg:dev:{d}.
-- ARGV: device id.
-- Returns {'ok', new generation, brokers told (0: it was offline)}, or
-- {'unknown'} (not a known device: nothing changed).
local v = redis.call('HMGET', KEYS[1], 'known', 'broker')
if not v[1] then return pg.reply('unknown') end
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
return pg.reply('ok', gen, pg.drop(v[2], ARGV[1]))
