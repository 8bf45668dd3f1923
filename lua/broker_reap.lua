-- brokerd: each beat, the presence index of brokers that died. A broker
-- whose process no longer subscribes to its notice channel (killed; one
-- stopped with SIGTERM once its last connections are gone) leaves its
-- devices in pg:online: up to ARGV[2] of them per call leave it (SPOP of
-- its set pg:online:bk:{b}), those whose hash still names that broker
-- (one that connected elsewhere since is left alone). A broker with none
-- left leaves pg:online:brokers. Bounded: the brokers, plus ARGV[2] ids.
-- KEYS: pg:online, pg:online:brokers.
-- ARGV: broker id (the caller, passed over), ids per call.
-- Returns {'ok', how many left pg:online}.
local left, n = tonumber(ARGV[2]), 0
for _, b in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if b ~= ARGV[1] and not pg.listening(b) then
    local set = pg.key_online_bk(b)
    for _, d in ipairs(redis.call('SPOP', set, left)) do
      left = left - 1
      if redis.call('HGET', pg.key_dev(d), 'broker') == b then
        n = n + redis.call('ZREM', KEYS[1], pg.online_member(d))
      end
    end
    if redis.call('SCARD', set) == 0 then redis.call('SREM', KEYS[2], b) end
    if left <= 0 then break end
  end
end
return pg.reply('ok', n)
