-- brokerd: a device's connection ended. Saves its cursors and records a
-- clean disconnect unless another connection took over; what its inbox
-- holds unfinished is kept for it from now on (pg.kept_add).
-- Its context goes with the connection; an anonymous client's state
-- (identify's anon) expires offline-ttl from now.
-- KEYS: pg:dev:{d}, pg:dev:{d}:cur, pg:kept, pg:dev:{d}:in, pg:dev:{d}:freed,
--       pg:stats, pg:dev:{d}:subs, pg:online (the presence index: the
--       device leaves it, and its broker's set).
-- ARGV: connection token, device id, offline-ttl ms, then cursor
--       field/value pairs.
-- Returns {'ok'}.
if #ARGV > 3 then redis.call('HSET', KEYS[2], unpack(ARGV, 4)) end
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
