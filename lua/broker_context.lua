-- brokerd: conn.call set_context / set_context_value (SPEC 5.3): the
-- context of a connected device, a JSON object of at most max bytes kept
-- with its presence (field ctx of pg:dev:{d}, cleared when it leaves), so
-- that any broker sets it.
-- KEYS: pg:dev:{d}.
-- ARGV: 'set' and the object's JSON, or 'value', a key and a value's
--       JSON; max bytes.
-- Returns {'ok'}, {'offline'} (not connected: no broker, or its broker
-- died, kill -9, and no longer listens) or {'toobig'}.
local v = redis.call('HMGET', KEYS[1], 'broker', 'ctx')
if not v[1] or v[1] == '' or not pg.listening(v[1]) then return pg.reply('offline') end
local ctx
if ARGV[1] == 'set' then
  ctx = ARGV[2]
else
  local o = {}
  if v[2] and v[2] ~= '' then o = cjson.decode(v[2]) end
  o[ARGV[2]] = cjson.decode(ARGV[3])
  if next(o) == nil then ctx = '{}' else ctx = cjson.encode(o) end
end
if #ctx > tonumber(ARGV[#ARGV]) then return pg.reply('toobig') end
redis.call('HSET', KEYS[1], 'ctx', ctx)
return pg.reply('ok')
