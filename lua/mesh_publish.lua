-- brokerd: mesh.publish (SPEC 5.3, 5.5 "Sends"): one message per channel,
-- each one stream entry and one notice per broker whatever its subscriber
-- count (pg.route), with a message id from /put's counter.
-- KEYS: pg:dup:{sender}:{mid}, pg:dups:{sender}, pg:next_put_id, pg:stats,
--       then for each channel pg:ch:{c}, pg:ch:{c}:subs, pg:ch:{c}:brokers.
-- ARGV: from ('0': a service), mid ('': none, no retry safety), ttl ms,
--       max entries kept per stream, max dedup keys per sender ('0': no
--       bound), body, then the channels (distinct names, as many as the
--       key groups).
-- Returns {'ok', s, f}: s the subscribers of the channels, summed (each
-- device subscribed to the channel, online or not: the entry is kept for
-- it), f those it could not be queued for; {'toomany'} when the sender is
-- past its dedup keys (pg.dup_over). A repeat of (sender, mid) within 10
-- minutes returns the first answer and sends nothing.
if ARGV[2] ~= '' then
  local dup = pg.dup_get(KEYS[1])
  if dup then return pg.reply('ok', string.match(dup, '^(%d+) (%d+)$')) end
  if pg.dup_over(KEYS[2], ARGV[5]) then return pg.reply('toomany') end
end
local s, ttl = 0, tonumber(ARGV[3])
for i = 7, #ARGV do
  local k = 5 + 3 * (i - 7)
  local n = redis.call('SCARD', KEYS[k + 1])
  if n > 0 then
    local mid = tostring(redis.call('INCR', KEYS[3]))
    pg.route(KEYS[k], KEYS[4], pg.channel_notify(KEYS[k + 2]), mid, ARGV[1],
      pg.chan_field(ARGV[i]), ttl, '0', '0', ARGV[6], ARGV[4])
    s = s + n
  end
end
if ARGV[2] ~= '' then pg.dup_put(KEYS[1], s .. ' 0') end
return pg.reply('ok', tostring(s), '0')
