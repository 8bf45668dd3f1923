-- brokerd: conn.offline and conn.offline_guests (SPEC 5.4): each device
-- connected (its hash names a broker whose process listens) is closed by
-- that broker (notice D: TCP E_DISCONNECTED, WebSocket close 4002); with
-- guests '1' only those whose connection has no context (none set, or
-- the empty object).
-- KEYS: for each device, pg:dev:{d}.
-- ARGV: guests ('0' or '1'), then the device ids (one per key).
-- Returns {'ok', how many connections were told to close}.
local n = 0
for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 'broker', 'ctx')
  local guest = not v[2] or v[2] == '' or v[2] == '{}'
  if v[1] and v[1] ~= '' and (ARGV[1] == '0' or guest) and pg.listening(v[1]) then
    n = n + math.min(1, pg.drop(v[1], ARGV[i + 1]))
  end
end
return pg.reply('ok', n)
