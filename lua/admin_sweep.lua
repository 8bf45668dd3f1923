-- adminhttp: each second, a bounded step through pg:kept (SSCAN) that keeps
-- the kept count honest when an inbox expires (offline-ttl after its last
-- write): a receiver whose inbox is gone keeps nothing; one that keeps
-- nothing, or is connected, leaves the set (pg.keep adds it again).
-- KEYS: pg:kept, pg:stats.
-- ARGV: SSCAN cursor ('0' starts a pass), receivers looked at per step.
-- Returns {'ok', next cursor ('0': the pass is over), kept count dropped}.
local r = redis.call('SSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local dropped = 0
for _, d in ipairs(r[2]) do
  local dev = pg.key_dev(d)
  local v = redis.call('HMGET', dev, 'kept', 'broker')
  local n = tonumber(v[1] or '0')
  if n ~= 0 and redis.call('EXISTS', pg.key_dev_in(d)) == 0 then
    pg.kept_add(KEYS[2], dev, -n)
    dropped, n = dropped + n, 0
  end
  if n == 0 or (v[2] and v[2] ~= '') then redis.call('SREM', KEYS[1], d) end
end
return pg.reply('ok', r[1], dropped)
