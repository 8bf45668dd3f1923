-- brokerd: mesh.publish (SPEC 5.3, 5.5 "Sends"): one message per channel,
-- each one stream entry and one notice per broker whatever its subscriber
-- count (pg.route), with a message id from /put's counter; retry-safe as
-- mesh.send is (broker_send.lua: the same dedup keys).
-- KEYS: pg:mdup:{sender}:{mid}, pg:next_put_id, pg:stats, then for each
--       channel pg:ch:{c}, pg:ch:{c}:subs, pg:ch:{c}:brokers.
-- ARGV: from ('0': a service), '1' when a mid was given, ttl ms, max
--       entries kept per stream, body, then the channels (distinct names,
--       as many as the key groups).
-- Returns {'ok', s, f, n}: s the subscribers of the channels, summed (each
-- device subscribed, online or not: the entry is kept for it), f those it
-- could not be queued for, n the messages routed (channels with a
-- subscriber). A repeat of (sender, mid) within 10 minutes returns the
-- first answer's s and f, n 0, and sends nothing.
if ARGV[2] == '1' then
  local dup = pg.dup_get(KEYS[1])
  if dup then
    local s, f = string.match(dup, '^(%d+) (%d+)$')
    return pg.reply('ok', s or '0', f or '0', '0')
  end
end
local s, n, ttl = 0, 0, tonumber(ARGV[3])
for i = 6, #ARGV do
  local k = 4 + 3 * (i - 6)
  local subs = pg.publish(KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[2], KEYS[3], ARGV[1],
    ARGV[i], ARGV[5], ttl, ARGV[4])
  if subs > 0 then s, n = s + subs, n + 1 end
end
if ARGV[2] == '1' then pg.dup_put(KEYS[1], s .. ' 0') end
return pg.reply('ok', tostring(s), '0', tostring(n))
