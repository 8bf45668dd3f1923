-- adminhttp: the dashboard's disconnect (POST /device/disconnect); the
-- device's broker closes it with E_DISCONNECTED.
-- KEYS: pg:dev:{d}.
-- ARGV: device id.
-- Returns {'ok', brokers told}, or {'offline'}.
local bk = redis.call('HGET', KEYS[1], 'broker')
if not bk or bk == '' then return pg.reply('offline') end
return pg.reply('ok', pg.drop(bk, ARGV[1]))
