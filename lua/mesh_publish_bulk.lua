-- brokerd: mesh.publish_bulk (SPEC 5.4, 5.5 "Sends"): items of their own
-- body each, every item one message per channel as mesh.publish sends it
-- (pg.publish: one stream entry and one notice per broker whatever the
-- subscriber count). The caller bounds the channels in all (MESH_ITEMS_MAX).
-- KEYS: pg:next_put_id, pg:stats, then for each item's each channel
--       pg:ch:{c}, pg:ch:{c}:subs, pg:ch:{c}:brokers.
-- ARGV: from ('0': a service), ttl ms, max entries kept per stream, then
--       for each item its body, its number of channels n and its n
--       channels (distinct names).
-- Returns {'ok', s, f, n}: s the subscribers summed over every message,
-- f those it could not be queued for (0: a stream entry is kept for all of
-- them), n the messages routed (channels with a subscriber).
local s, n, ttl, k, i = 0, 0, tonumber(ARGV[2]), 3, 4
while i <= #ARGV do
  local body, nc = ARGV[i], tonumber(ARGV[i + 1])
  for j = 1, nc do
    local subs = pg.publish(KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[1], KEYS[2], ARGV[1],
      ARGV[i + 1 + j], body, ttl, ARGV[3])
    if subs > 0 then s, n = s + subs, n + 1 end
    k = k + 3
  end
  i = i + 2 + nc
end
return pg.reply('ok', tostring(s), '0', tostring(n))
