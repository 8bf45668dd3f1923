-- brokerd: conn.call unsubscribe (SPEC 5.3), from any broker: device d
-- leaves channels c1..cn as UNSUB does (pg.unsub), connected or not; its
-- broker, when it is connected, is told (notice U).
-- KEYS: as mesh_subscribe.lua's.
-- ARGV: device id, then the channels (as many as the key groups).
-- Returns {'ok'} or {'unknown'} (d was never known).
local d = ARGV[1]
local v = redis.call('HMGET', KEYS[6], 'known', 'broker')
if not v[1] then return pg.reply('unknown') end
local bk = v[2] and v[2] ~= '' and v[2] or nil
for i = 2, #ARGV do
  pg.unsub(pg.sub_keys(KEYS, 8 * i - 15), d, ARGV[i])
  if bk then redis.call('PUBLISH', pg.key_notice(bk), pg.notice_unsub(d, pg.chan_field(ARGV[i]))) end
end
return pg.reply('ok')
