-- brokerd: IDENTIFY (SPEC 2.2). A device connects to this broker.
-- KEYS: pg:dev:{d}, pg:dev:{d}:subs, pg:dev:{d}:cur, pg:devices, pg:stats,
--       pg:online, pg:online:bk:{b}, pg:online:brokers (the presence
--       index: the device is in pg:online, and in its broker's set).
-- ARGV: broker id, connection token, device id, the generation of its
--       token ('': not checked, the broker has no secret), '1' for an
--       anonymous WebSocket client (SPEC 5.1: its state expires
--       offline-ttl after it leaves, broker_gone.lua; while connected it
--       does not), the connection's topic ('' for TCP) and peer address,
--       kept for the conn.close broker_reap.lua makes if the broker dies.
-- Returns {'ok', clean_since_ms, clean, subs, cursors, device type ('0': none)},
-- or {'revoked'} when the token's generation is not the device's (field
-- gen, 0 until admin_revoke.lua): nothing written, no one kicked.
-- clean is '1' when the device was never seen or its last connection ended
-- cleanly (its cursors' SENT marks are exact); otherwise its broker died
-- and clean_since is when it last could have sent anything (now, while
-- that broker still holds its Redis connection). An older connection on
-- another broker is kicked. A connected device's messages are its broker's
-- pending ones, no longer kept (pg.kept_add).
local now = pg.now_ms()
local old = redis.call('HMGET', KEYS[1], 'broker', 'conn', 'offline_at', 'type', 'gen', 'anon')
if ARGV[4] ~= '' and ARGV[4] ~= (old[5] or '0') then return pg.reply('revoked') end
local clean, since = '0', now
if not old[1] and not old[3] then
  clean, since = '1', 0
elseif (not old[1] or old[1] == '') and old[3] then
  clean, since = '1', tonumber(old[3])
elseif old[1] ~= ARGV[1] and not pg.listening(old[1]) then
  -- Its broker is gone (kill -9 closes its Redis connections at once). It
  -- learnt nothing after its last heartbeat plus a beat; a registry entry
  -- that expired means that beat is over a minute old.
  local hb = redis.call('HGET', pg.key_bk(old[1]), 'hb')
  if hb then since = math.min(now, tonumber(hb) + 2000) else since = now - 58000 end
end
if old[1] and old[1] ~= '' and old[1] ~= ARGV[1] then
  redis.call('PUBLISH', pg.key_notice(old[1]), pg.notice_kick(ARGV[3], old[2] or ''))
  redis.call('SREM', pg.key_online_bk(old[1]), ARGV[3])
end
redis.call('ZADD', KEYS[6], 0, pg.online_member(ARGV[3]))
redis.call('SADD', KEYS[7], ARGV[3])
redis.call('SADD', KEYS[8], ARGV[1])
pg.kept_add(KEYS[5], KEYS[1], -pg.kept_of(KEYS[1]))
redis.call('HSET', KEYS[1], 'known', '1', 'broker', ARGV[1], 'conn', ARGV[2],
  'online_at', pg.ms(now), 'topic', ARGV[6], 'ip', ARGV[7])
-- A connection's context (conn.call set_context) is its own.
redis.call('HDEL', KEYS[1], 'ctx')
if ARGV[5] == '1' or old[6] then
  redis.call('HSET', KEYS[1], 'anon', '1')
  for k = 1, 3 do redis.call('PERSIST', KEYS[k]) end
end
redis.call('SADD', KEYS[4], ARGV[3])
local subs = redis.call('SMEMBERS', KEYS[2])
-- From now on this broker hears of its channels' messages.
for _, c in ipairs(subs) do redis.call('SADD', pg.key_ch_brokers(c), ARGV[1]) end
return pg.reply('ok', pg.ms(since), clean, subs, redis.call('HGETALL', KEYS[3]), old[4] or '0')
