-- brokerd: mesh.multicast and mesh.send_bulk (SPEC 5.4, 5.5 "Sends"): one
-- message per device, each sent as mesh.send sends one (pg.send): an id
-- from /put's counter, routed to the device's broker, kept while it is
-- away. The caller bounds the devices (MESH_ITEMS_MAX) and drops repeats.
-- KEYS: pg:next_put_id, pg:stats, pg:kept, then for each device
--       pg:dev:{d}, pg:dev:{d}:in.
-- ARGV: from ('0': a service), ttl ms, max entries kept, the body every
--       device gets ('': each has its own), then for each device its id,
--       followed by its own body when ARGV[4] is ''.
-- Returns {'ok', s, f}: s the messages sent (to a connected device or
-- kept), f the ids that are not known (nothing sent to them).
local shared = ARGV[4] ~= ''
local step = shared and 1 or 2
local s, f, ttl, k = 0, 0, tonumber(ARGV[2]), 4
for i = 5, #ARGV, step do
  local body = shared and ARGV[4] or ARGV[i + 1]
  if pg.send(KEYS[k], KEYS[k + 1], KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[i], body, ttl,
      ARGV[3]) then
    s = s + 1
  else
    f = f + 1
  end
  k = k + 2
end
return pg.reply('ok', tostring(s), tostring(f))
