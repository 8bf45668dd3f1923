-- brokerd: conn.call subscribe (SPEC 5.3), from any broker: device d
-- subscribes to channels c1..cn as SUB does (pg.sub), connected or not;
-- when it is connected its broker is added to each channel's brokers and
-- told (notice S, with the cursor) so that it reads the channel.
-- KEYS: for each channel, broker_sub.lua's eight keys (pg:dev:{d}:subs,
--       pg:ch:{c}:subs, pg:dev:{d}:cur, pg:ch:{c}, pg:ch:{c}:brokers,
--       pg:dev:{d}, pg:ch:{c}:subs:types, pg:channels).
-- ARGV: device id, max subscriptions per device, then the channels
--       (distinct names, as many as the key groups).
-- Returns {'ok'}, {'unknown'} (d was never known) or {'toomany'} (past the
-- max: nothing done).
local d = ARGV[1]
local v = redis.call('HMGET', KEYS[6], 'known', 'broker')
if not v[1] then return pg.reply('unknown') end
local cs = {unpack(ARGV, 3)}
if not pg.sub_room(KEYS[1], cs, ARGV[2]) then return pg.reply('toomany') end
local bk = v[2] and v[2] ~= '' and v[2] or nil
for i, c in ipairs(cs) do
  local cur = pg.sub(pg.sub_keys(KEYS, 8 * i - 7), d, c, bk)
  if bk then redis.call('PUBLISH', pg.key_notice(bk), pg.notice_sub(d, pg.chan_field(c), cur)) end
end
return pg.reply('ok')
