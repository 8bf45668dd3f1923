-- brokerd: PUB (SPEC 2.2, 2.5), on every message: keep the calls few.
-- KEYS: pg:dupw:{from} (pg.dupw_get); the target's stream (pg:dev:{to}:in, or
--       pg:ch:{c}); the target (pg:dev:{to}, or pg:ch:{c}:subs);
--       pg:ch:{c}:brokers (read for a channel message); pg:kept; pg:stats;
--       pg:dups:{from}.
-- ARGV: from, message id, to ('0': the channel), channel, body, ttl ms,
--       max entries kept, max dedup keys per sender ('0': no bound), the
--       broker's clock (Unix ms: the message expires ttl after it), the
--       broker that already wrote it to the device ('': none), the ms it
--       proposes for the entry id ('': Redis's clock), '1' when that
--       broker vouches it is no repeat (docs/DESIGN.md, "Repeats": no
--       lookup) or '0'.
-- Returns {'ok', entry id} when routed, {'nodevice'} (unknown device),
-- {'nosub'} (no subscriber) or {'toomany'} (the sender is past its dedup
-- keys, pg.dup_over) when refused; a repeat of an accepted
-- (from, message id) returns the first answer. Not counted here: brokerd
-- adds its PUBs to pg:stats' messages_in at each heartbeat (broker_beat).
-- When a broker that delivers it is the one that wrote it (docs/DESIGN.md,
-- "Deliver first"), that broker gets F instead of the message's notice.
local now, ttl = tonumber(ARGV[9]), tonumber(ARGV[6])
local dup = ARGV[12] ~= '1' and pg.dupw_get(KEYS[1], ARGV[2], now)
if dup then return pg.reply('ok', dup) end
local notify, v
if ARGV[3] ~= '0' then
  v = redis.call('HMGET', KEYS[3], 'known', 'broker', 'inx')
  if not v[1] then return pg.reply('nodevice') end
  notify = pg.device_notify(v[2])
else
  if redis.call('SCARD', KEYS[3]) == 0 then return pg.reply('nosub') end
  notify = pg.channel_notify(KEYS[4])
end
if pg.dup_over(KEYS[7], ARGV[8]) then return pg.reply('toomany') end
-- The broker that wrote it gets F, not the message, if it still delivers it.
local wrote
if ARGV[10] ~= '' then
  local k = pg.key_notice(ARGV[10])
  for i, n in ipairs(notify) do
    if n == k then wrote = table.remove(notify, i) break end
  end
end
local id = pg.route(KEYS[2], notify, ARGV[2], ARGV[1], ARGV[4], pg.ms(now + ttl), ARGV[3], '0',
  ARGV[5], ARGV[7], ARGV[11])
if wrote then redis.call('PUBLISH', wrote, pg.notice_fast(ARGV[3], ARGV[4], id, ARGV[1], ARGV[2])) end
if v then
  pg.outlive_inbox(KEYS[2], KEYS[3], v[3], now, ttl)
  pg.keep(KEYS[6], KEYS[5], KEYS[3], ARGV[3], v[2], KEYS[2])
else
  pg.outlive(KEYS[2], ttl)
end
pg.dupw_put(KEYS[1], ARGV[2], id, now)
return pg.reply('ok', id)
