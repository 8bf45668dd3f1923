-- brokerd: a device's connection ended. Saves its cursors and records a
-- clean disconnect unless another connection took over; what its inbox
-- holds unfinished is kept for it from now on (pg.kept_add).
-- Its context goes with the connection; an anonymous client's state
-- (identify's anon) expires offline-ttl from now.
-- A message FINed before an F notice covered it (brokerd wrote it before
-- Redis had it: docs/DESIGN.md, "Deliver first") is named by its stream,
-- its sender's dedup prefix and its message id, whose dedup record is its
-- entry id once its PUB ran (pg.dupw_get): a cursor with nothing
-- unfinished moves past such entries at its head (pg.cursor_past), so
-- they are not sent again.
-- KEYS: pg:dev:{d}, pg:dev:{d}:cur, pg:kept, pg:dev:{d}:in, pg:dev:{d}:freed,
--       pg:stats, pg:dev:{d}:subs, pg:online (the presence index: the
--       device leaves it, and its broker's set); then, for each such
--       message, its stream and pg:dupw:{its sender}.
-- ARGV: connection token, device id, offline-ttl ms, then cursor
--       field/value pairs, then the cursor field and the message id of
--       each such message.
-- Returns {'ok'}.
local nfin = (#KEYS - 8) / 2
local last = #ARGV - 2 * nfin
local cur, at, fin = {}, {}, {}
for i = 4, last, 2 do
  cur[#cur + 1] = ARGV[i]
  cur[#cur + 1] = ARGV[i + 1]
  at[ARGV[i]] = #cur
end
local now = nfin > 0 and pg.now_ms()
for j = 1, nfin do
  local f = ARGV[last + 2 * j - 1]
  local id = at[f] and pg.dupw_get(KEYS[8 + 2 * j], ARGV[last + 2 * j], now)
  if id then
    fin[f] = fin[f] or {stream = KEYS[7 + 2 * j], ids = {}, n = 0}
    fin[f].ids[id] = true
    fin[f].n = fin[f].n + 1
  end
end
for f, m in pairs(fin) do cur[at[f]] = pg.cursor_past(m.stream, cur[at[f]], m.ids, m.n) end
if #cur > 0 then redis.call('HSET', KEYS[2], unpack(cur)) end
local v = redis.call('HMGET', KEYS[1], 'conn', 'broker')
if v[1] == ARGV[1] then
  redis.call('ZREM', KEYS[8], pg.online_member(ARGV[2]))
  if v[2] and v[2] ~= '' then redis.call('SREM', pg.key_online_bk(v[2]), ARGV[2]) end
  redis.call('HSET', KEYS[1], 'broker', '', 'offline_at', pg.ms(pg.now_ms()))
  redis.call('HDEL', KEYS[1], 'ctx')
  if redis.call('HGET', KEYS[1], 'anon') then
    for _, k in ipairs({KEYS[1], KEYS[2], KEYS[7]}) do redis.call('PEXPIRE', k, ARGV[3]) end
  end
  redis.call('SADD', KEYS[3], ARGV[2])
  pg.kept_add(KEYS[6], KEYS[1], pg.inbox_unfinished(KEYS[4], KEYS[2], KEYS[5]) - pg.kept_of(KEYS[1]))
end
return pg.reply('ok')
