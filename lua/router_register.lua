-- routerd: /registration. The same serial and type always get the same
-- device id; a device keeps its broker while it lives, else gets the live
-- address with the fewest devices (those its brokers reported at their
-- last heartbeat, plus those assigned to them since). Loads add up per
-- address: the loops of one brokerd (--threads) share it, and the kernel,
-- not routerd, picks the loop a device lands on.
-- KEYS: pg:serial:{type}:{serial}, pg:next_device_id, pg:devices, pg:brokers.
-- ARGV: serial_no, device_type, device_name, name given ('1'/'0': keep
--       the stored one), the SHA-256 (hex) of the device_key given, or ''.
-- A live broker also still listens on its notice channel (a killed one is
-- out at once).
-- Returns {status, device id, broker address or '', token generation,
-- the broker's WebSocket address or '' (SPEC 5.4: none for iOS)}:
-- status 'ok', 'ios' (an iOS device: no broker), 'nobroker' (no live
-- broker) or 'badkey' (the device bound a device_key, and this is not it:
-- nothing changed). The generation is the device's field gen (0 until
-- admin_revoke.lua), the one its token must be of.
-- The first registration that gives a device_key binds it (field 'key').
local now = pg.now_ms()
local function live(b)
  local v = redis.call('HMGET', pg.key_bk(b), 'hb', 'addr', 'conns', 'assigned', 'ws')
  if pg.live(v[1], now) and pg.listening(b) then return v end
  return nil
end
local id = redis.call('GET', KEYS[1])
local gen = '0'
if id then
  local v = redis.call('HMGET', pg.key_dev(id), 'key', 'gen')
  if v[1] and v[1] ~= ARGV[5] then return pg.reply('badkey', id, '', gen) end
  gen = v[2] or '0'
else
  id = pg.ms(redis.call('INCR', KEYS[2]))  -- %d: past 1e14 once raised (router_floor)
  redis.call('SET', KEYS[1], id)
end
local dev = pg.key_dev(id)
redis.call('HSET', dev, 'known', '1', 'type', ARGV[2], 'serial', ARGV[1])
if ARGV[5] ~= '' then redis.call('HSET', dev, 'key', ARGV[5]) end
redis.call('SADD', KEYS[3], id)
if ARGV[4] == '1' then redis.call('HSET', dev, 'name', ARGV[3]) end
if ARGV[2] == '4' then return pg.reply('ios', id, '', gen) end
local cur = redis.call('HGET', dev, 'assigned')
if cur then
  local v = live(cur)
  if v then return pg.reply('ok', id, v[2], gen, v[5] or '') end
end
local loads, first, ws, addr, load = {}, {}, {}
for _, b in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local v = live(b)
  if v then
    loads[v[2]] = (loads[v[2]] or 0) + tonumber(v[3] or '0') + tonumber(v[4] or '0')
    if not first[v[2]] or b < first[v[2]] then first[v[2]], ws[v[2]] = b, v[5] or '' end
  elseif redis.call('EXISTS', pg.key_bk(b)) == 0 then
    redis.call('SREM', KEYS[4], b)
  end
end
-- Ties go to the smaller address, so that the choice does not depend on
-- the order of a Lua table.
for a, l in pairs(loads) do
  if not addr or l < load or (l == load and a < addr) then addr, load = a, l end
end
if not addr then return pg.reply('nobroker', id, '', gen) end
local best = first[addr]
redis.call('HSET', dev, 'assigned', best)
redis.call('HINCRBY', pg.key_bk(best), 'assigned', 1)
return pg.reply('ok', id, addr, gen, ws[addr])
