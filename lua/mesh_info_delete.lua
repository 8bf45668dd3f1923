-- brokerd: conn.info_delete (SPEC 5.4): device d's connection context
-- (context '1'), and its subscriptions (topics '1': each as UNSUB does,
-- pg.unsub, its broker told with notice U when it is connected). Bounded
-- by max-subs.
-- KEYS: pg:dev:{d}, pg:dev:{d}:subs, pg:dev:{d}:cur, pg:channels.
-- ARGV: device id, context ('0'/'1'), topics ('0'/'1').
-- Returns {'ok'}, or {'unknown'} (d was never known: nothing done).
local v = redis.call('HMGET', KEYS[1], 'known', 'broker')
if not v[1] then return pg.reply('unknown') end
if ARGV[2] == '1' then redis.call('HDEL', KEYS[1], 'ctx') end
if ARGV[3] == '1' then
  local bk = v[2] ~= '' and v[2] or nil
  for _, c in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    pg.unsub({dsubs = KEYS[2], csubs = pg.key_ch_subs(c), cur = KEYS[3], dev = KEYS[1],
      types = pg.key_ch_subs_types(c), channels = KEYS[4]}, ARGV[1], c)
    if bk then redis.call('PUBLISH', pg.key_notice(bk), pg.notice_unsub(ARGV[1], pg.chan_field(c))) end
  end
end
return pg.reply('ok')
