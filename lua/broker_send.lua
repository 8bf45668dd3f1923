-- brokerd: mesh.send (SPEC 5.3): a message to one device, delivered as
-- /put's are (an id from /put's counter, kept while the device is away);
-- with the sender's mid, a repeat of (sender, mid) in the last 10 minutes
-- answers as the first did and sends nothing.
-- KEYS: pg:mdup:{sender}:{mid}; pg:dev:{to}:in; pg:dev:{to};
--       pg:next_put_id; pg:kept; pg:stats.
-- ARGV: from ('0': a service), to, body, ttl ms, max entries kept,
--       '1' when a mid was given.
-- Returns {'ok', message id} or {'nodevice'}.
if ARGV[6] == '1' then
  local dup = pg.dup_get(KEYS[1])
  if dup then return pg.reply('ok', dup) end
end
local v = redis.call('HMGET', KEYS[3], 'known', 'broker')
if not v[1] then return pg.reply('nodevice') end
local mid = tostring(redis.call('INCR', KEYS[4]))
pg.route(KEYS[2], KEYS[6], pg.device_notify(v[2]), mid, ARGV[1], '0', tonumber(ARGV[4]),
  ARGV[2], '0', ARGV[3], ARGV[5])
pg.keep(KEYS[6], KEYS[5], KEYS[3], ARGV[2], v[2], KEYS[2])
if ARGV[6] == '1' then pg.dup_put(KEYS[1], mid) end
return pg.reply('ok', mid)
