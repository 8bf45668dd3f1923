-- adminhttp: MSG_FREE_REQ (SPEC 4), which moves the cursor as FIN would.
-- The oldest kept message with that id is freed; the cursor then moves
-- past every freed (or passed-over) entry at the head of that stream.
-- KEYS: pg:dev:{r}, pg:dev:{r}:in, pg:dev:{r}:subs, pg:dev:{r}:cur,
--       pg:dev:{r}:freed, pg:stats.
-- An inbox message freed, or passed over (expired) by the cursor, leaves
-- the receiver's kept count while it is not connected.
-- ARGV: message id.
-- Returns {'ok'}, or {'nomsg'} when the receiver keeps no such message.
local k = pg.receiver_keys(KEYS)
local now, ty = pg.now_ms(), pg.type_of(k)
local hs, hid
pg.unread(k, now, ty, 1000, function(s, id, f)
  if f.m ~= ARGV[1] then return false end
  if not hid or pg.idcmp(id, hid) < 0 then hs, hid = s, id end
  return true
end)
if not hid then return pg.reply('nomsg') end
redis.call('SADD', k.freed, hs[2] .. ' ' .. hid)
local last, gone = nil, 1
for _, e in ipairs(redis.call('XRANGE', hs[2], pg.start(k, hs[1]), '+', 'COUNT', 1000)) do
  if redis.call('SREM', k.freed, hs[2] .. ' ' .. e[1]) == 1 then last = e[1]
  elseif pg.skip(pg.fields(e), now, ty) then last, gone = e[1], gone + 1
  else break end
end
local bk = redis.call('HGET', k.dev, 'broker')
if hs[1] == 'in' and (not bk or bk == '') then pg.kept_add(KEYS[6], k.dev, -gone) end
if last then
  local cur = redis.call('HGET', k.cur, hs[1])
  local sent = cur and pg.cursor_sent(cur) or last
  if pg.idcmp(last, sent) > 0 then sent = last end
  redis.call('HSET', k.cur, hs[1], pg.cursor(last, sent))
end
return pg.reply('ok')
