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
local mid = pg.send(KEYS[3], KEYS[2], KEYS[4], KEYS[6], KEYS[5], ARGV[1], ARGV[2], ARGV[3],
  tonumber(ARGV[4]), ARGV[5])
if not mid then return pg.reply('nodevice') end
if ARGV[6] == '1' then pg.dup_put(KEYS[1], mid) end
return pg.reply('ok', mid)
