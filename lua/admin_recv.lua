-- adminhttp: MSG_RECV_REQ (SPEC 4). The receiver's oldest kept message.
-- KEYS: pg:dev:{r}, pg:dev:{r}:in, pg:dev:{r}:subs, pg:dev:{r}:cur,
--       pg:dev:{r}:freed.
-- ARGV: none.
-- Returns {'ok', from, message id, body}, or {'empty'}.
local k = pg.receiver_keys(KEYS)
local best, bid
pg.unread(k, pg.now_ms(), pg.type_of(k), 100, function(s, id, f)
  if not bid or pg.idcmp(id, bid) < 0 then best, bid = f, id end
  return true
end)
if not best then return pg.reply('empty') end
return pg.reply('ok', best.f, best.m, best.b)
