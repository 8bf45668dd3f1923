-- brokerd: each beat, the presence index of brokers that died. A broker
-- whose process no longer subscribes to its notice channel (killed; one
-- stopped with SIGTERM once its last connections are gone) leaves its
-- devices in pg:online: up to ARGV[2] of them per call leave it (SPOP of
-- its set pg:online:bk:{b}), those whose hash still names that broker
-- (one that connected elsewhere since is left alone), and each one's
-- conn.close goes to the reserved topic $conn, as its broker would have
-- pushed it (SPEC 5.5 "Upstream and events"); an anonymous client's state
-- expires offline-ttl from now, as broker_gone makes it when it leaves,
-- and it joins pg:kept, where adminhttp's sweep finds it once expired. A broker with none left
-- leaves pg:online:brokers. Bounded: the brokers, plus ARGV[2] ids.
-- With ARGV[6] 'start' (the loop's first Redis ready, before any IDENTIFY
-- of it), the set an earlier process of the same broker id left is set
-- aside first, as broker '<b>@<Redis ms>', and reaped as a dead broker's
-- but for the devices that connected since (online_at).
-- KEYS: pg:online, pg:online:brokers, pg:q:$conn, pg:q:$conn:bk, pg:kept.
-- ARGV: broker id (the caller, passed over), ids per call, the topic
--       $conn, offline-ttl ms (its list's ttl too), its offline-max,
--       optionally 'start'.
-- Returns {'ok', how many left pg:online}.
local now = pg.now_ms()
local left, n, closes = tonumber(ARGV[2]), 0, {}
local own = pg.key_online_bk(ARGV[1])
if ARGV[6] == 'start' and redis.call('EXISTS', own) == 1 then
  local aside = ARGV[1] .. '@' .. pg.ms(now)
  redis.call('RENAME', own, pg.key_online_bk(aside))
  redis.call('SADD', KEYS[2], aside)
end
for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local b, t = string.match(m, '^([^@]*)@?(%d*)$')
  if m ~= ARGV[1] and (t ~= '' or not pg.listening(b)) then
    local set = pg.key_online_bk(m)
    for _, d in ipairs(redis.call('SPOP', set, left)) do
      left = left - 1
      local v = redis.call('HMGET', pg.key_dev(d), 'broker', 'online_at', 'topic', 'ip', 'anon')
      if v[1] == b and (t == '' or tonumber(v[2] or '0') < tonumber(t))
          and redis.call('ZREM', KEYS[1], pg.online_member(d)) == 1 then
        n = n + 1
        closes[#closes + 1] = pg.conn_close_event(b, d, v[3] or '', v[4] or '', now)
        if v[5] then
          for _, k in ipairs({pg.key_dev(d), pg.key_dev_cur(d), pg.key_dev_subs(d)}) do
            redis.call('PEXPIRE', k, ARGV[4])
          end
          redis.call('SADD', KEYS[5], d)
        end
      end
    end
    if redis.call('SCARD', set) == 0 then redis.call('SREM', KEYS[2], m) end
    if left <= 0 then break end
  end
end
if #closes > 0 then
  pg.q_push(KEYS[3], KEYS[4], ARGV[3], closes, tonumber(ARGV[4]), tonumber(ARGV[5]), now)
end
return pg.reply('ok', n)
