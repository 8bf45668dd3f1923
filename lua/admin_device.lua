-- adminhttp: the dashboard's device lookup (GET /device), by id or by
-- serial and type.
-- KEYS: pg:api:clients, and pg:serial:{type}:{serial} when looked up by
--       serial (the device's own keys are built from the id found).
-- ARGV: device id, or '' to look it up by serial.
-- Returns {'ok', id, type, serial, name, broker process, broker addr,
-- online ('1'/'0'), subs, pending, context (its JSON text, '' for none)}, or
-- {'unknown'}.
local id = ARGV[1]
if id == '' then
  id = redis.call('GET', KEYS[2])
  if not id then return pg.reply('unknown') end
end
local v = redis.call('HMGET', pg.key_dev(id), 'known', 'type', 'serial', 'name', 'broker', 'ctx')
if not v[1] and redis.call('SISMEMBER', KEYS[1], id) == 0 then return pg.reply('unknown') end
local now = pg.now_ms()
local bk, addr, online = v[5] or '', '', '0'
if bk ~= '' then
  local b = redis.call('HMGET', pg.key_bk(bk), 'addr', 'hb', 'proc')
  if b[1] and pg.live(b[2], now) then addr, online = b[1], '1' end
  -- name the brokerd process, as /stats does, not its event loop
  bk = b[3] or bk
end
return pg.reply('ok', id, v[2] or '0', v[3] or '', v[4] or '', bk, addr, online,
  redis.call('SMEMBERS', pg.key_dev_subs(id)), pg.unread_count(pg.receiver(id), now, v[2] or '0'),
  v[6] or '')
