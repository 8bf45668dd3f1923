-- adminhttp: each second, a bounded step through pg:kept (SSCAN) that keeps
-- the kept count honest when an inbox expires (offline-ttl after its last
-- write): a receiver whose inbox is gone keeps nothing; one that keeps
-- nothing, or is connected, leaves the set (pg.keep adds it again). An
-- anonymous client that left (broker_gone adds every leaving device) stays
-- until its hash expires (offline-ttl after it left): then it is known no
-- more and leaves pg:devices too.
-- KEYS: pg:kept, pg:stats, pg:devices.
-- ARGV: SSCAN cursor ('0' starts a pass), receivers looked at per step.
-- Returns {'ok', next cursor ('0': the pass is over), kept count dropped}.
local r = redis.call('SSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local dropped = 0
for _, d in ipairs(r[2]) do
  local dev = pg.key_dev(d)
  local v = redis.call('HMGET', dev, 'kept', 'broker', 'anon', 'known')
  local n, online = tonumber(v[1] or '0'), v[2] and v[2] ~= ''
  if not (v[1] or v[2] or v[3] or v[4]) and redis.call('EXISTS', dev) == 0 then
    redis.call('SREM', KEYS[3], d)
    redis.call('SREM', KEYS[1], d)
  else
    if n ~= 0 and redis.call('EXISTS', pg.key_dev_in(d)) == 0 then
      pg.kept_add(KEYS[2], dev, -n)
      dropped, n = dropped + n, 0
    end
    if (n == 0 or online) and not (v[3] and not online) then redis.call('SREM', KEYS[1], d) end
  end
end
return pg.reply('ok', r[1], dropped)
