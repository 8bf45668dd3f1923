-- brokerd: topic.delete (SPEC 5.4), one bounded step: up to ARGV[2] of
-- channel c's subscribers leave it as UNSUB would have them (their sets,
-- cursors and counts, pg.count_sub), each connected one's broker told with
-- notice U. brokerd calls again while subscribers are left, so a channel
-- of a million subscribers is many short scripts, not one long one.
-- KEYS: pg:ch:{c}:subs, pg:ch:{c}:subs:types, pg:channels.
-- ARGV: channel c, subscribers per step.
-- Returns {'ok', how many left it now, how many are left}.
local c, n = ARGV[1], 0
local f = pg.chan_field(c)
for _, d in ipairs(redis.call('SPOP', KEYS[1], ARGV[2])) do
  local dev = pg.key_dev(d)
  redis.call('SREM', pg.key_dev_subs(d), c)
  redis.call('HDEL', pg.key_dev_cur(d), f)
  pg.count_sub(KEYS[2], dev, KEYS[3], c, -1)
  local bk = redis.call('HGET', dev, 'broker')
  if bk and bk ~= '' then redis.call('PUBLISH', pg.key_notice(bk), pg.notice_unsub(d, f)) end
  n = n + 1
end
return pg.reply('ok', n, redis.call('SCARD', KEYS[1]))
