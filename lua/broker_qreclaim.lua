-- brokerd: frames in flight whose broker will never write them go back to
-- their topics (pg.q_requeue), oldest first.
-- * self '0' (each beat): those of every broker of pg:qf:brokers other
--   than b that is dead: its process no longer subscribes to its notice
--   channel (killed), or its heartbeat is over 5 s old. At most 1000 per
--   call, the newest first: each goes in front of the last call's, so
--   the lists keep pop order. A broker with none left leaves the set.
-- * self '1' (b's Redis became ready): b's own, but for the seqs that
--   follow (written to a service, not yet acknowledged). A pop whose reply
--   was lost with the connection is here.
-- KEYS: pg:qf:brokers.
-- ARGV: broker id b, self, then the seqs to keep.
-- Returns {'ok', how many went back}.
local now, n = pg.now_ms(), 0
if ARGV[2] == '1' then
  local keep, seqs = {}, {}
  for i = 3, #ARGV do keep[ARGV[i]] = true end
  for _, s in ipairs(redis.call('ZRANGE', pg.key_qf_z(ARGV[1]), 0, -1)) do
    if not keep[s] then seqs[#seqs + 1] = s end
  end
  return pg.reply('ok', pg.q_requeue(ARGV[1], seqs, now))
end
for _, b in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local hb = redis.call('HGET', pg.key_bk(b), 'hb')
  if b ~= ARGV[1] and (not pg.listening(b) or (hb and not pg.live(hb, now))) then
    local z = pg.key_qf_z(b)
    n = n + pg.q_requeue(b, redis.call('ZRANGE', z, n - 1000, -1), now)
    if redis.call('ZCARD', z) == 0 then
      redis.call('SREM', KEYS[1], b)
      redis.call('DEL', pg.key_qf(b), pg.key_qf_n(b))
    end
    if n >= 1000 then break end
  end
end
return pg.reply('ok', n)
